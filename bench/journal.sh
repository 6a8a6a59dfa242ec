#!/usr/bin/env bash
# Benchmark: the journal backend, Warden against fail2ban's systemd backend
# (fail2ban-server with python3-systemd from Debian), side by side.
#
#   throughput  N entries appended to a .journal file (systemd-journal-
#               remote fed through a FIFO) while the reader follows it
#               from the tail (backend = systemd[journalfiles=...], a
#               _SYSTEMD_UNIT journalmatch, every entry a failure from its
#               own address, no bans): wall time from the first append
#               until every entry was counted, the reader's CPU time, and
#               its peak RSS. Each reader runs alone with its own writer
#               (journal-remote writes ~25k entries/s here, which bounds
#               the wall time of a fast reader: see the CPU rows).
#   backlog     the same N entries already in a .journal file, read from
#               its start (Warden: journalstart=head; fail2ban: it starts
#               at now - findtime): wall time from the start of the
#               reader until all were counted, CPU, peak RSS.
#   latency     (root: journald by hand in unshare -m -p) entries sent
#               with sd_journal_send, maxretry 3: time from sending the
#               3rd entry until the ban action ran (the same shell
#               action on both sides, `echo "ban <ip>" >> FIFO`, stamped
#               on arrival); p50/p99/max. A second Warden row uses its
#               recording backend (the same line, no shell): the
#               daemon's own part of the latency.
#
#   bench/journal.sh [--quick] [--entries N] [--bans N] [--no-f2b]
#                    [--no-latency] [--driver] [--keep] [--perf]
#
#   --perf      attach `perf record --call-graph dwarf` (cpu-clock) to
#               both readers during the throughput run's appends and
#               print their self time by library (libsystemd's share on
#               each side) and top symbols; the data stays in
#               bench/out/journal-{warden,fail2ban}.perf
#
# After the backlog, tests/tools/journal_floor reads the backlog file with
# nothing but libsystemd calls: the floor under both readers' CPU.
#
# Warden side: wardend itself once jail.c runs backend = systemd through
# src_journal; until then tests/tools/journal_follow (src_journal + the
# filter engine + a per-address failure count, the module level of the
# daemon's path; --driver forces it), and the output says which.
# fail2ban runs at loglevel NOTICE (no "Found" line per failure: its
# fastest setting). Not a test: it fails only when a reader does not run
# or misses entries.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TOOLS=$PWD/$BUILD/tests/tools
WARDEND=${WARDEND:-$PWD/$BUILD/wardend}
WARDEN=${WARDEN:-$PWD/$BUILD/warden}
REMOTE=/lib/systemd/systemd-journal-remote
JOURNALD=/lib/systemd/systemd-journald
entries=100000
bans=200
f2b=1
latency=1
keep=0
driver=0
perf=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) entries=20000; bans=50; shift ;;
	--entries) entries=$2; shift 2 ;;
	--bans) bans=$2; shift 2 ;;
	--no-f2b) f2b=0; shift ;;
	--no-latency) latency=0; shift ;;
	--keep) keep=1; shift ;;
	--driver) driver=1; shift ;;
	--perf) perf=1; shift ;;
	--latency-inner) INNER=1; shift ;;
	*) echo "usage: $0 [--quick] [--entries N] [--bans N] [--no-f2b] [--no-latency] [--driver] [--keep]" >&2; exit 2 ;;
	esac
done
for p in "$TOOLS/journal_follow" "$TOOLS/journal_export" "$TOOLS/journal_send" "$TOOLS/journal_floor" "$TOOLS/fifo_stamp"; do
	[ -x "$p" ] || { echo "bench/journal.sh: $p not built (make BUILD=$BUILD check)" >&2; exit 1; }
done
[ -x "$REMOTE" ] || { echo "bench/journal.sh: $REMOTE missing (tools/install-deps)" >&2; exit 1; }
command -v fail2ban-server >/dev/null && /usr/bin/python3 -c 'import systemd.journal' 2>/dev/null || f2b=0
WIRED=0
if [ -x "$WARDEND" ] && [ -x "$WARDEN" ] &&
	! grep -aq "backend 'systemd' (the journal) is not supported" "$WARDEND" &&
	[ $driver = 0 ]; then
	WIRED=1
fi
if [ -f /etc/fail2ban/fail2ban.conf ]; then
	STOCK=/etc/fail2ban
else
	STOCK=$(tests/fetch-fail2ban)/etc/fail2ban
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-journal.XXXXXX") || exit 1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ $keep = 1 ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT

ms() { date +%s%3N; }
cpu_ms() { # user+system CPU of a live process, ms
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"
}
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
PERF_DIR=$PWD/bench/out
PERFPID=
perf_start() { # PID NAME
	[ $perf = 1 ] || return 0
	mkdir -p "$PERF_DIR"
	local cg=(--call-graph dwarf,16384)
	[ "$2" = fail2ban ] && cg=() # Python: stacks say little; keep it small
	perf record -q "${cg[@]}" -e cpu-clock -F 2000 \
		-o "$PERF_DIR/journal-$2.perf" -p "$1" 2>/dev/null &
	PERFPID=$!
	sleep 0.3
}
perf_stop() {
	[ -n "$PERFPID" ] || return 0
	kill -INT "$PERFPID" 2>/dev/null
	wait "$PERFPID" 2>/dev/null
	PERFPID=
}
# perf_print NAME CPU_MS: self time by library (ms from the reader's CPU
# time), and the top symbols.
perf_print() {
	local f=$PERF_DIR/journal-$1.perf
	[ $perf = 1 ] && [ -s "$f" ] || return 0
	echo
	echo "perf, $1 (appends): self time by library, ms of its ${2}ms CPU"
	perf report -i "$f" --no-children --sort dso -g none 2>/dev/null |
		awk -v cpu="$2" '/^ +[0-9.]+%/ { p = $1; sub("%", "", p);
			if (p >= 0.5) printf "  %6.1f%% %6.0f ms  %s\n", p, p * cpu / 100, $2 }'
	echo "top symbols (self):"
	perf report -i "$f" --no-children --sort dso,sym -g none 2>/dev/null |
		awk '/^ +[0-9.]+%/' | head -15
}

RE='Failed password for invalid user \S+ from <HOST>'

# conf DIR KIND BACKEND MAXRETRY ACTIONLINE: a config dir for wardend or
# fail2ban with one jail "bench" on the journal.
conf() {
	local d=$1 kind=$2 backend=$3 mr=$4 act=$5
	mkdir -p "$d"
	cp -r "$STOCK" "$d/conf"
	rm -f "$d/conf/jail.d/"* "$d/conf/fail2ban.d/"* 2>/dev/null
	cat >"$d/conf/fail2ban.local" <<EOF
[Definition]
loglevel = NOTICE
logtarget = $d/server.log
socket = $d/s.sock
pidfile = $d/s.pid
dbfile = $d/db.sqlite3
EOF
	cat >"$d/conf/filter.d/bench.conf" <<EOF
[Definition]
failregex = $RE
journalmatch = _SYSTEMD_UNIT=ssh.service
EOF
	# the action writes a line to a FIFO; recorder() stamps it on arrival
	cat >"$d/conf/action.d/record.conf" <<EOF
[Definition]
actionban = echo "ban <ip>" >> $d/act.fifo
EOF
	cat >"$d/conf/jail.local" <<EOF
[DEFAULT]
ignoreself = false
findtime = 1d
bantime = 1d

[bench]
enabled = true
backend = $backend
filter = bench
maxretry = $mr
action = $act
EOF
	: >"$d/rec"
}

# recorder DIR: stamps each line the action writes to DIR/act.fifo with
# the wall clock as it arrives into DIR/rec (tests/tools/fifo_stamp: one
# read per wake-up; a bash `while read` loop, one system call per byte,
# added its own scheduling to the tail under load).
recorder() {
	mkfifo "$1/act.fifo"
	"$TOOLS/fifo_stamp" "$1/act.fifo" >>"$1/rec" &
	PIDS+=($!)
}

# dstart KIND DIR: wardend or fail2ban-server; sets SPID.
dstart() {
	local kind=$1 d=$2 i
	if [ "$kind" = wardend ]; then
		"$WARDEND" -f -x -c "$d/conf" </dev/null >/dev/null 2>>"$d/stderr" &
		SPID=$!
		for i in $(seq 500); do
			"$WARDEN" ping -s "$d/s.sock" --timeout 1 >/dev/null 2>&1 && break
			sleep 0.02
		done
	else
		fail2ban-client -c "$d/conf" -x start >/dev/null 2>>"$d/stderr" ||
			{ echo "fail2ban did not start" >&2; return 1; }
		SPID=$(cat "$d/s.pid")
	fi
	PIDS+=("$SPID")
}
dstop() {
	local kind=$1 d=$2
	if [ "$kind" = wardend ]; then
		"$WARDEN" stop -s "$d/s.sock" >/dev/null 2>&1
	else
		fail2ban-client -c "$d/conf" stop >/dev/null 2>&1
	fi
	for _ in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$SPID" 2>/dev/null
}
# A status poller for fail2ban: one python process (fail2ban-client would
# cost a python start per look), prints "Total failed" when it reaches
# the target, or gives up after TIMEOUT s.
f2b_wait_failed() { # DIR TARGET TIMEOUT_S
	/usr/bin/python3 - "$1/s.sock" "$2" "$3" <<'EOF'
import sys, time
from fail2ban.client.csocket import CSocket
sock, target, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + limit
got = -1
while time.time() < end:
    try:
        s = CSocket(sock)
        r = s.send(["status", "bench"])
        s.close()
        flt = dict(r[1])["Filter"] if isinstance(r, (list, tuple)) else None
        got = dict(flt)["Total failed"]
    except Exception:
        got = -1
    if got >= target:
        break
    time.sleep(0.1)
print(got)
EOF
}
warden_total_failed() {
	"$WARDEN" status -s "$1/s.sock" bench 2>/dev/null |
		awk -F'\t' '/Total failed/ {print $2}'
}

declare -A R

# ---- throughput ---------------------------------------------------------------
# writer DIR: journal-remote on a FIFO; 10 seed entries; fd 3 stays open.
writer_start() {
	local d=$1 i
	mkfifo "$d/fifo"
	"$REMOTE" --split-mode=none -o "$d/live.journal" "$d/fifo" 2>/dev/null &
	WPID=$!
	PIDS+=("$WPID")
	exec 3>"$d/fifo"
	"$TOOLS/journal_export" gen 10 -s 900000 -u ssh.service >&3
	for i in $(seq 250); do [ -s "$d/live.journal" ] && break; sleep 0.02; done
	sleep 0.3
}
writer_stop() {
	exec 3>&-
	wait "$WPID" 2>/dev/null
}

throughput_warden() {
	local d=$T/tp-warden t0 t1 pid c0 c1 got
	mkdir -p "$d"
	writer_start "$d"
	if [ $WIRED = 1 ]; then
		R[w,what]="wardend"
		conf "$d" wardend "systemd[journalfiles=$d/live.journal]" 100000000 ""
		dstart wardend "$d"
		pid=$SPID
		sleep 0.5
		perf_start "$pid" warden
		c0=$(cpu_ms "$pid")
		t0=$(ms)
		"$TOOLS/journal_export" gen "$entries" -u ssh.service >&3
		# until all are counted, or the count stood still for 10 s
		# (a lost entry would otherwise hold the bench for minutes)
		local last=-1 since=$(ms)
		for _ in $(seq 30000); do
			got=$(warden_total_failed "$d")
			[ "${got:-0}" -ge "$entries" ] && break
			if [ "${got:-0}" != "$last" ]; then
				last=${got:-0}
				since=$(ms)
			elif [ $(($(ms) - since)) -gt 10000 ]; then
				echo "bench/journal.sh: wardend stopped at $got of $entries entries (kept $d)" >&2
				keep=1
				break
			fi
			sleep 0.01
		done
		t1=$(ms)
		c1=$(cpu_ms "$pid")
		perf_stop
		R[w,peak]=$(hwm "$pid")
		dstop wardend "$d"
	else
		R[w,what]="src_journal+filter (journal_follow)"
		"$TOOLS/journal_follow" -P "systemd-journal[journalfiles=$d/live.journal]" \
			-m _SYSTEMD_UNIT=ssh.service -r "$RE" -n 100000000 -q -E \
			-N "$entries" -T 600000 >"$d/out" 2>"$d/err" &
		pid=$!
		PIDS+=("$pid")
		for _ in $(seq 500); do grep -q '^E caught-up' "$d/out" && break; sleep 0.02; done
		perf_start "$pid" warden
		c0=$(cpu_ms "$pid")
		t0=$(ms)
		"$TOOLS/journal_export" gen "$entries" -u ssh.service >&3
		# the driver exits after exactly $entries entries
		wait "$pid"
		t1=$(ms)
		perf_stop
		# its own getrusage at exit: whole-run CPU and peak RSS
		c1=$(sed -n 's/.* cpu_ms=\([0-9]*\).*/\1/p' "$d/err")
		R[w,peak]=$(sed -n 's/.* maxrss_kb=\([0-9]*\).*/\1/p' "$d/err")
		got=$(sed -n 's/.*failures=\([0-9]*\).*/\1/p' "$d/err")
	fi
	writer_stop
	R[w,wall]=$((t1 - t0))
	R[w,cpu]=$((c1 - c0))
	R[w,got]=$got
}

throughput_f2b() {
	local d=$T/tp-f2b t0 t1 pid c0 c1 got
	mkdir -p "$d"
	writer_start "$d"
	conf "$d" fail2ban "systemd[journalfiles=$d/live.journal]" 100000000 ""
	dstart fail2ban "$d" || return 1
	pid=$SPID
	base=$(f2b_wait_failed "$d" 10 30)
	perf_start "$pid" fail2ban
	c0=$(cpu_ms "$pid")
	t0=$(ms)
	"$TOOLS/journal_export" gen "$entries" -u ssh.service >&3
	got=$(f2b_wait_failed "$d" $((base + entries)) 1800)
	t1=$(ms)
	c1=$(cpu_ms "$pid")
	perf_stop
	R[f,peak]=$(hwm "$pid")
	dstop fail2ban "$d"
	writer_stop
	R[f,wall]=$((t1 - t0))
	R[f,cpu]=$((c1 - c0))
	R[f,got]=$((got - base))
}

# ---- backlog: the same entries already in the file, read from the start ----
backlog_file() {
	mkdir -p "$T/bl"
	"$TOOLS/journal_export" gen "$entries" -u ssh.service |
		"$REMOTE" -o "$T/bl/backlog.journal" - 2>/dev/null
}

backlog_warden() {
	local d=$T/bl-warden t0 t1 got
	mkdir -p "$d"
	t0=$(ms)
	if [ $WIRED = 1 ]; then
		conf "$d" wardend "systemd[journalfiles=$T/bl/backlog.journal, journalstart=head]" 100000000 ""
		dstart wardend "$d"
		for _ in $(seq 60000); do
			got=$(warden_total_failed "$d")
			[ "${got:-0}" -ge "$entries" ] && break
			sleep 0.01
		done
		t1=$(ms)
		R[wb,cpu]=$(cpu_ms "$SPID")
		R[wb,peak]=$(hwm "$SPID")
		dstop wardend "$d"
	else
		"$TOOLS/journal_follow" -P "systemd-journal[journalfiles=$T/bl/backlog.journal]" \
			-m _SYSTEMD_UNIT=ssh.service -r "$RE" -n 100000000 -q -s head \
			-N "$entries" -T 600000 >"$d/out" 2>"$d/err"
		t1=$(ms)
		R[wb,cpu]=$(sed -n 's/.* cpu_ms=\([0-9]*\).*/\1/p' "$d/err")
		R[wb,peak]=$(sed -n 's/.* maxrss_kb=\([0-9]*\).*/\1/p' "$d/err")
		got=$(sed -n 's/.*failures=\([0-9]*\).*/\1/p' "$d/err")
	fi
	R[wb,wall]=$((t1 - t0))
	R[wb,got]=$got
}

backlog_f2b() {
	local d=$T/bl-f2b t0 t1 got
	mkdir -p "$d"
	conf "$d" fail2ban "systemd[journalfiles=$T/bl/backlog.journal]" 100000000 ""
	t0=$(ms)
	dstart fail2ban "$d" || return 1
	got=$(f2b_wait_failed "$d" "$entries" 1800)
	t1=$(ms)
	R[fb,cpu]=$(cpu_ms "$SPID")
	R[fb,peak]=$(hwm "$SPID")
	dstop fail2ban "$d"
	R[fb,wall]=$((t1 - t0))
	R[fb,got]=$got
}

# ---- latency (inside the namespaces) --------------------------------------------
if [ -n "${INNER:-}" ]; then
	for dd in /run/systemd /run/log /var/log/journal; do
		mkdir -p "$dd"
		mount -t tmpfs tmpfs "$dd" || exit 1
	done
	"$JOURNALD" >/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.02; done
	pct() { # FILE(sorted us) -> "p50 p99 max" in ms
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "- - -"; exit }
			i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5)
			if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
			printf "%.2f %.2f %.2f\n", v[i50] / 1000, v[i99] / 1000, v[NR] / 1000 }' "$1"
	}
	# fail2ban first: it starts reading at now - findtime, and must not
	# meet the entries sent for Warden
	if [ $f2b = 1 ]; then
		d=$T/lat-f2b
		conf "$d" fail2ban systemd 3 record
		recorder "$d"
		sed -i 's/^journalmatch = .*/journalmatch = SYSLOG_IDENTIFIER=sshd/' \
			"$d/conf/filter.d/bench.conf"
		dstart fail2ban "$d"
		sleep 2
		"$TOOLS/journal_send" "$bans" -s 5000 -r 3 -w 7000 >"$d/sent"
		for _ in $(seq 1500); do [ "$(wc -l <"$d/rec")" -ge "$bans" ] && break; sleep 0.02; done
		awk 'NR == FNR { if ($1 == "S") s[$2] = $3; next }
		     $1 == "ban" && ($2 in s) { print $3 - s[$2] }' "$d/sent" "$d/rec" | sort -n >"$d/lat"
		dstop fail2ban "$d"
		echo "fail2ban-server (ban action ran) $(wc -l <"$d/lat") $(pct "$d/lat")"
	fi
	# Warden
	# lat_wardend DIR FIRST LABEL [record]: one wardend run, the shell
	# action as fail2ban's, or (record) Warden's recording backend
	# writing the same line to the FIFO without a shell
	lat_wardend() {
		local d=$1 first=$2 label=$3
		mkdir -p "$d"
		conf "$d" wardend systemd 3 record
		if [ "${4:-}" = record ]; then
			cat >"$d/conf/action.d/record.conf" <<EOF2
[Definition]
actionban =
actionunban =
[Init]
warden_backend = record
recordfile = $d/act.fifo
EOF2
		fi
		recorder "$d"
		# the default journal flags, as a stock jail has them
		sed -i 's/^_SYSTEMD_UNIT=.*//; s/^journalmatch = .*/journalmatch = SYSLOG_IDENTIFIER=sshd/' \
			"$d/conf/filter.d/bench.conf"
		dstart wardend "$d"
		sleep 0.5
		"$TOOLS/journal_send" "$bans" -s "$first" -r 3 -w 7000 >"$d/sent"
		for _ in $(seq 500); do [ "$(wc -l <"$d/rec")" -ge "$bans" ] && break; sleep 0.02; done
		awk 'NR == FNR { if ($1 == "S") s[$2] = $3; next }
		     $1 == "ban" && ($2 in s) { print $3 - s[$2] }' "$d/sent" "$d/rec" | sort -n >"$d/lat"
		dstop wardend "$d"
		echo "$label $(wc -l <"$d/lat") $(pct "$d/lat")"
	}
	if [ $WIRED = 1 ]; then
		lat_wardend "$T/lat-warden" 0 "wardend (ban action ran)"
		lat_wardend "$T/lat-warden-rec" 10000 "wardend, record backend (no shell)" record
	else
		"$TOOLS/journal_follow" -m SYSLOG_IDENTIFIER=sshd -r "$RE" -n 3 -E \
			-X "$bans" -T 120000 >"$d/out" 2>"$d/err" &
		pid=$!
		PIDS+=("$pid")
		for _ in $(seq 500); do grep -q '^E caught-up' "$d/out" && break; sleep 0.02; done
		"$TOOLS/journal_send" "$bans" -r 3 -w 7000 >"$d/sent"
		wait "$pid"
		awk 'NR == FNR { if ($1 == "S") s[$2] = $3; next }
		     $1 == "B" && ($2 in s) { print $4 - s[$2] }' "$d/sent" "$d/out" | sort -n >"$d/lat"
		echo "journal_follow (ban decided) $(wc -l <"$d/lat") $(pct "$d/lat")"
	fi
	exit 0
fi

echo "== throughput: $entries entries appended while following" >&2
throughput_warden
[ $f2b = 1 ] && throughput_f2b
echo "== backlog: $entries entries already in the journal, read from the start" >&2
backlog_file
backlog_warden
[ $f2b = 1 ] && backlog_f2b
FLOOR=$("$TOOLS/journal_floor" -m _SYSTEMD_UNIT=ssh.service "$T/bl/backlog.journal")

LAT_OUT=
if [ $latency = 1 ]; then
	if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && [ -x "$JOURNALD" ]; then
		echo "== latency: $bans bans through journald (unshare -m -p)" >&2
		args=(--bans "$bans" --latency-inner)
		[ $driver = 1 ] && args+=(--driver)
		[ $f2b = 0 ] && args+=(--no-f2b)
		[ $keep = 1 ] && args+=(--keep)
		LAT_OUT=$(unshare -m -p -f --mount-proc --propagation private \
			env BUILD="$BUILD" TMPDIR="$T" "$0" "${args[@]}")
	else
		LAT_OUT="(skipped: needs root, unshare and systemd-journald)"
	fi
fi

rate() { # entries ms -> entries/s
	awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%d", n * 1000 / t; else print "-" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", b / a; else print "-" }'; }

echo
echo "Journal backend, $entries entries appended while following (journal-remote writer)"
echo "Warden reader: ${R[w,what]}"
printf '%-34s %-18s %-18s %s\n' "" "Warden" "fail2ban" "ratio"
printf '%-34s %-18s %-18s %s\n' "entries counted" "${R[w,got]:-?}" "${R[f,got]:--}" ""
printf '%-34s %-18s %-18s %s\n' "wall ms, first append -> all done" "${R[w,wall]:-?}" "${R[f,wall]:--}" \
	"$(ratio "${R[w,wall]:-0}" "${R[f,wall]:-0}")"
printf '%-34s %-18s %-18s %s\n' "entries/s (wall)" "$(rate "$entries" "${R[w,wall]:-0}")" \
	"$(rate "$entries" "${R[f,wall]:-0}")" ""
printf '%-34s %-18s %-18s %s\n' "reader CPU ms (user+sys)" "${R[w,cpu]:-?}" "${R[f,cpu]:--}" \
	"$(ratio "${R[w,cpu]:-0}" "${R[f,cpu]:-0}")"
printf '%-34s %-18s %-18s %s\n' "entries per CPU second" "$(rate "$entries" "${R[w,cpu]:-0}")" \
	"$(rate "$entries" "${R[f,cpu]:-0}")" ""
printf '%-34s %-18s %-18s %s\n' "peak RSS KiB" "${R[w,peak]:-?}" "${R[f,peak]:--}" ""
echo
echo "Backlog: the same $entries entries already in the journal, read from its start"
printf '%-34s %-18s %-18s %s\n' "" "Warden" "fail2ban" "ratio"
printf '%-34s %-18s %-18s %s\n' "entries counted" "${R[wb,got]:-?}" "${R[fb,got]:--}" ""
printf '%-34s %-18s %-18s %s\n' "wall ms, start -> all done" "${R[wb,wall]:-?}" "${R[fb,wall]:--}" \
	"$(ratio "${R[wb,wall]:-0}" "${R[fb,wall]:-0}")"
printf '%-34s %-18s %-18s %s\n' "entries/s (wall)" "$(rate "$entries" "${R[wb,wall]:-0}")" \
	"$(rate "$entries" "${R[fb,wall]:-0}")" ""
printf '%-34s %-18s %-18s %s\n' "CPU ms (whole run)" "${R[wb,cpu]:-?}" "${R[fb,cpu]:--}" \
	"$(ratio "${R[wb,cpu]:-0}" "${R[fb,cpu]:-0}")"
printf '%-34s %-18s %-18s %s\n' "peak RSS KiB" "${R[wb,peak]:-?}" "${R[fb,peak]:--}" ""
echo
echo "libsystemd alone on the backlog file (tests/tools/journal_floor, CPU):"
echo "$FLOOR" | awk '{ split($3, a, "="); split($4, b, "=");
	printf "  %-7s %5s ns/entry  %7s ms per %s entries\n", $1, a[2], b[2], substr($2, 9) }'
echo "  (warden: the calls src_journal makes per entry; python: python-systemd's"
echo "  get_next, which fail2ban calls per entry)"
if [ -n "$LAT_OUT" ]; then
	echo
	echo "Ban latency through journald, maxretry 3, 3rd entry sent -> ban (ms)"
	printf '%-34s %-8s %-8s %-8s %-8s\n' "" "bans" "p50" "p99" "max"
	echo "$LAT_OUT" | while read -r line; do
		case $line in
		\(*) echo "$line" ;;
		*)
			name=${line% * * * *}
			set -- ${line##"$name" }
			printf '%-34s %-8s %-8s %-8s %-8s\n' "$name" "$1" "$2" "$3" "$4"
			;;
		esac
	done
fi
perf_print warden "${R[w,cpu]:-0}"
[ $f2b = 1 ] && perf_print fail2ban "${R[f,cpu]:-0}"
[ "${R[w,got]:-0}" -ge "$entries" ] && [ "${R[wb,got]:-0}" -ge "$entries" ] || exit 1
[ $f2b = 0 ] || { [ "${R[f,got]:-0}" -ge "$entries" ] && [ "${R[fb,got]:-0}" -ge "$entries" ]; } || exit 1
exit 0
