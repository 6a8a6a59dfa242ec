#!/usr/bin/env bash
# Benchmark: wardend against the installed fail2ban-server, side by side,
# each with a private copy of Debian's stock configuration (socket, pid
# file, database and log under a temp dir), the sshd jail on a generated
# log and only a trivial recording action (action.d/record.conf appends
# "ban IP" to a file; no firewall is touched). Prints a table:
#
#   start    exec to first answered ping (ms)
#   idle     RSS with 6 stock jails enabled on empty logs (KiB), and how
#            much of it is anonymous memory (heap, stacks: the daemon's
#            own) and file pages (program and library code, shared with
#            other processes); again with sshd on the systemd journal
#            (Debian 12 logs sshd there), which loads libsystemd
#   latency  3rd failing line appended -> recording action has run,
#            p50/p99 over N bans (maxretry 3)
#   replay   a pre-written log of --lines lines (~24% failures from
#            ~22k addresses, maxretry 5) read from the start: time until
#            every ban is decided (the server log's "Ban" lines) and until
#            the recording action, one shell per ban, has run for every
#            ban (its file); both polled from files, not through the
#            daemon (a `status` every 50 ms cost it ~12% of its replay
#            CPU); and peak RSS. wardend replays the same log again with
#            its in-process recording action (warden_backend = record:
#            the same lines, no shell), the daemon's own cost of a ban
#
#   bench/daemon.sh [--quick] [--bans N] [--lines N] [--no-f2b]
#                   [--f2b-replay] [--keep]
#
# fail2ban-server's replay of 1M lines takes minutes, so it runs only with
# --f2b-replay. Not a test: it fails only when a daemon does not run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WARDEND=${WARDEND:-$PWD/$BUILD/wardend}
WARDEN=${WARDEN:-$PWD/$BUILD/warden}
LAT=${LAT:-$PWD/$BUILD/tests/tools/daemon_latency}
bans=200
lines=1000000
f2b=1
f2b_replay=0
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) bans=50; lines=100000; shift ;;
	--bans) bans=$2; shift 2 ;;
	--lines) lines=$2; shift 2 ;;
	--no-f2b) f2b=0; shift ;;
	--f2b-replay) f2b_replay=1; shift ;;
	--keep) keep=1; shift ;;
	*) echo "usage: $0 [--quick] [--bans N] [--lines N] [--no-f2b] [--f2b-replay] [--keep]" >&2; exit 2 ;;
	esac
done
for p in "$WARDEND" "$WARDEN" "$LAT"; do
	[ -x "$p" ] || { echo "bench/daemon.sh: $p not built (make BUILD=$BUILD check)" >&2; exit 1; }
done
command -v fail2ban-server >/dev/null || f2b=0
if [ -f /etc/fail2ban/filter.d/sshd.conf ]; then
	STOCK=/etc/fail2ban
else
	STOCK=$(tests/fetch-fail2ban)/etc/fail2ban
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-daemon.XXXXXX") || exit 1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ $keep = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

ms() { date +%s%3N; }

# conf DIR MAXRETRY [JAILS...]: stock config copy with private paths; the
# jails named (default sshd) enabled on DIR/logs/NAME.log with the
# recording action; a name written journal:NAME reads the local journal
# (backend = systemd) instead.
conf() {
	local d=$1 mr=$2 j
	shift 2
	[ $# -eq 0 ] && set -- sshd
	rm -rf "$d"
	mkdir -p "$d/logs"
	cp -r "$STOCK" "$d/conf"
	rm -f "$d/conf/jail.d/"* "$d/conf/fail2ban.d/"* 2>/dev/null
	cat >"$d/conf/fail2ban.local" <<EOF
[Definition]
loglevel = INFO
logtarget = $d/server.log
socket = $d/s.sock
pidfile = $d/s.pid
dbfile = $d/db.sqlite3
EOF
	cat >"$d/conf/action.d/record.conf" <<EOF
[Definition]
actionban = echo "ban <ip>" >> $d/rec
actionunban = echo "unban <ip>" >> $d/rec
EOF
	# wardend's in-process recording action: the same lines, no shell
	cat >"$d/conf/action.d/record-native.conf" <<EOF
[Definition]
actionban =
actionunban =
[Init]
warden_backend = record
recordfile = $d/rec
EOF
	{
		echo "[DEFAULT]"
		echo "backend = auto"
		echo "action = ${ACTION:-record}"
		echo "maxretry = $mr"
		echo "findtime = 1d"
		echo "bantime = 1d"
		echo "ignoreself = false"
		for j in "$@"; do
			case $j in
			journal:*)
				printf '[%s]\nenabled = true\nbackend = systemd\n' \
					"${j#journal:}"
				continue
				;;
			esac
			: >"$d/logs/$j.log"
			printf '[%s]\nenabled = true\nlogpath = %s\n' \
				"$j" "$d/logs/$j.log"
		done
	} >"$d/conf/jail.local"
	: >"$d/rec"
}

# start KIND DIR: starts wardend or fail2ban-server; sets SPID and STARTMS
# (the time from exec to the first answered ping, ms).
start() {
	local kind=$1 d=$2 t0 t1 i=0
	t0=$(ms)
	if [ "$kind" = wardend ]; then
		# exec, then a 1 ms loop of connect + ping frame until "pong"
		SPID=$(python3 - "$WARDEND" "$d" <<'PYEOF'
import json, os, socket, struct, subprocess, sys, time
wardend, d = sys.argv[1], sys.argv[2]
err = open(d + "/stderr", "a")
t0 = time.monotonic()
p = subprocess.Popen([wardend, "-f", "-x", "-c", d + "/conf"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=err, start_new_session=True)
req = json.dumps({"v": 1, "argv": ["ping"]}).encode()
while time.monotonic() - t0 < 10:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d + "/s.sock")
        s.sendall(struct.pack(">I", len(req)) + req)
        if b"pong" in s.recv(4096):
            break
    except OSError:
        pass
    finally:
        s.close()
    time.sleep(0.001)
ms = (time.monotonic() - t0) * 1000
open(d + "/start.ms", "w").write("%d\n" % ms)
print(p.pid)
PYEOF
)
		t1=$(ms)
		PIDS+=("$SPID")
		STARTMS=$(cat "$d/start.ms")
		return 0
	else
		fail2ban-client -c "$d/conf" -x start >/dev/null 2>>"$d/stderr" ||
			{ echo "fail2ban did not start" >&2; return 1; }
		SPID=$(cat "$d/s.pid")
	fi
	t1=$(ms)
	PIDS+=("$SPID")
	STARTMS=$((t1 - t0))
}

stopd() {
	local kind=$1 d=$2
	if [ "$kind" = wardend ]; then
		"$WARDEN" stop -s "$d/s.sock" >/dev/null 2>&1
	else
		fail2ban-client -c "$d/conf" stop >/dev/null 2>&1
	fi
	for _ in $(seq 1 300); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
}

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# "ANON / FILE": RssAnon (+ RssShmem) and RssFile in KiB
rss_split() {
	awk '/^RssAnon/ {a = $2} /^RssShmem/ {s = $2} /^RssFile/ {f = $2}
		END {print a + s " / " f}' "/proc/$1/status"
}
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

recorded() { grep -c '^ban ' "$1/rec" 2>/dev/null; } # recorded DIR
# logged_bans DIR: adds the "Ban" lines the server log got since the last
# call to $nb (reads only the new bytes: the log grows by the Found lines)
logged_bans() {
	local size
	size=$(stat -c %s "$1/server.log" 2>/dev/null) || return 0
	[ "$size" -gt "$nbo" ] || return 0
	nb=$((nb + $(tail -c +$((nbo + 1)) "$1/server.log" | head -c $((size - nbo)) |
		grep -c 'NOTICE  \[sshd\] Ban ')))
	nbo=$size
}

# gen FILE LINES: ~24% failure lines from ~22k addresses, dated within the
# last hour; the rest sshd noise. Prints the number of addresses with >= 5
# failures (the bans to expect with maxretry 5).
gen() {
	python3 - "$1" "$2" <<'EOF'
import random, sys, time
path, n = sys.argv[1], int(sys.argv[2])
random.seed(20261121)
nips = 22000 if n >= 1000000 else max(100, 22 * n // 1000)
ips = ["%d.%d.%d.%d" % (random.randint(11, 220), random.randint(0, 255),
       random.randint(0, 255), random.randint(1, 254)) for _ in range(nips)]
now = time.time()
t0 = now - 3000
counts = {}
with open(path, "w") as f:
    for i in range(n):
        t = t0 + 2900.0 * i / n
        ts = time.strftime("%b %d %H:%M:%S", time.localtime(t))
        if random.random() < 0.24:
            ip = random.choice(ips)
            counts[ip] = counts.get(ip, 0) + 1
            f.write("%s bench sshd[%d]: Failed password for invalid user u%d from %s port %d ssh2\n"
                    % (ts, 1000 + i % 5000, i % 97, ip, 1024 + i % 60000))
        else:
            f.write("%s bench sshd[%d]: Connection closed by 192.0.2.%d port %d [preauth]\n"
                    % (ts, 1000 + i % 5000, i % 250 + 1, 1024 + i % 60000))
print(sum(1 for c in counts.values() if c >= 5))
EOF
}

declare -A R

run_kind() {
	local kind=$1 d t0 t1 want got pid
	echo "== $kind" >&2

	# start time and idle RSS with 6 stock jails
	d=$T/$kind-idle
	conf "$d" 3 sshd apache-auth nginx-http-auth postfix dovecot vsftpd
	start "$kind" "$d" || return 1
	R[$kind,start]=$STARTMS
	sleep 1
	R[$kind,idle]=$(rss "$SPID")
	R[$kind,idlesplit]=$(rss_split "$SPID")
	stopd "$kind" "$d"

	# the same with sshd on the journal
	d=$T/$kind-idlej
	conf "$d" 3 journal:sshd apache-auth nginx-http-auth postfix dovecot \
		vsftpd
	start "$kind" "$d" || return 1
	sleep 1
	R[$kind,idlej]=$(rss "$SPID")
	R[$kind,idlejsplit]=$(rss_split "$SPID")
	stopd "$kind" "$d"

	# ban latency
	d=$T/$kind-lat
	conf "$d" 3 sshd
	start "$kind" "$d" || return 1
	sleep 0.5
	R[$kind,lat]=$("$LAT" "$d/logs/sshd.log" "$d/rec" "$bans" 10000 |
		awk '{print $4 " / " $6}')
	stopd "$kind" "$d"

	# replay
	if [ "$kind" = fail2ban ] && [ $f2b_replay = 0 ]; then
		R[$kind,replay]="(not run: --f2b-replay)"
		R[$kind,replaypeak]="-"
		return 0
	fi
	replay "$kind" replay
	# wardend again with its in-process recording action on the same log
	if [ "$kind" = wardend ]; then
		ACTION=record-native replay "$kind" native \
			"$T/$kind-replay/logs/sshd.log" "$want"
	fi
}

# replay KIND KEY [LOG WANT]: one replay run on a new log (or a copy of
# LOG, which WANT bans); sets R[KIND,KEY], R[KIND,KEYrec], R[KIND,KEYpeak]
# and want
replay() {
	local kind=$1 key=$2 d t0 t1 got tb
	d=$T/$kind-$key
	conf "$d" 5 sshd
	if [ $# -ge 4 ]; then
		cp "$3" "$d/logs/sshd.log"
		want=$4
	else
		want=$(gen "$d/logs/sshd.log" "$lines")
	fi
	t0=$(ms)
	start "$kind" "$d" || return 1
	got=0
	tb=
	nb=0
	nbo=0
	while :; do
		if [ -z "$tb" ]; then
			logged_bans "$d"
			[ "$nb" -ge "$want" ] && tb=$(ms)
		fi
		got=$(recorded "$d")
		[ "${got:-0}" -ge "$want" ] && break
		[ $(($(ms) - t0)) -gt 1800000 ] && break
		sleep 0.05
	done
	t1=$(ms)
	if [ -z "$tb" ]; then
		logged_bans "$d"
		[ "$nb" -ge "$want" ] && tb=$t1
	fi
	if [ -n "$tb" ]; then
		R[$kind,$key]="$((tb - t0)) ms (all $want banned)"
	else
		R[$kind,$key]="$((t1 - t0)) ms (not all $want banned)"
	fi
	R[$kind,${key}rec]="$((t1 - t0)) ms ($got/$want recorded)"
	R[$kind,${key}peak]=$(hwm "$SPID")
	stopd "$kind" "$d"
}

run_kind wardend
[ $f2b = 1 ] && run_kind fail2ban

printf '\n%-28s %-26s %-26s\n' "" "wardend" "fail2ban-server"
row() {
	printf '%-28s %-26s %-26s\n' "$1" "${R[wardend,$2]:--}" "${R[fail2ban,$2]:--}"
}
row "start to first pong (ms)" start
row "idle RSS, 6 jails (KiB)" idle
row "  anon / file (KiB)" idlesplit
row "  sshd on the journal" idlej
row "  anon / file (KiB)" idlejsplit
row "ban latency p50/p99 (ms)" lat
row "replay $lines lines: bans" replay
row "  ... actions (a shell each)" replayrec
row "replay peak RSS (KiB)" replaypeak
row "replay, record backend: bans" native
row "  ... all recorded" nativerec
row "  peak RSS (KiB)" nativepeak
