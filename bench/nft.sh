#!/usr/bin/env bash
# Benchmark: the native nftables backend against fail2ban's
# nftables-allports action, side by side, each daemon with a private
# config, socket, database and log, inside a network namespace made here
# (the host's firewall is never touched; the namespace goes at exit).
#
#   flood    N distinct IPv4 addresses cross maxretry (3) at once: 3N
#            failure lines appended to the watched log in one write; the
#            time until all N are in the kernel set (polled with single
#            element lookups on the last address, then every element
#            counted with `nft list set`)
#   restart  wardend restarted with 100,000 active bans: time until the
#            kernel set is reconciled (sets kept: kill -9 then start;
#            sets emptied: `warden stop` flushes, then start), and
#            wardend's CPU time (user + sys) at that moment
#   latency  the 3rd failing line written -> the element is in the set,
#            p50/p99 over --lat addresses
#   backend  the backend alone (tests/tools/nft_drive): one batch of N
#            bans through the action queue into the kernel; 100,000
#            restored bans reconciled
#
#   bench/nft.sh [--sizes "2000 20000 100000"] [--f2b-sizes "2000 20000"]
#                [--f2b-timeout SECONDS] [--lat N] [--no-f2b] [--quick]
#                [--only "backend flood latency f2b"] [--nft-args ARGS]
#                [--lat-gap MS] [--keep]
#
# --only runs the named parts alone (restart goes with flood's 100,000);
# `--only latency --no-f2b` is the quick way to measure ban latency.
# --nft-args adds arguments to wardend's action, e.g. killconns=false
# (the default warden-nft-allports ends the banned addresses' connections
# after each ban: two conntrack table dumps that block the loop).
# --lat-gap is the pause before the 3rd line and after each ban (10 ms).
#
# fail2ban runs one `nft` process per ban (~100 bans/s here), so its
# 100,000 flood takes about 20 minutes: it runs only when named in
# --f2b-sizes; a size that hits --f2b-timeout (default 600 s) reports how
# far it got. Needs root. Not a test: it fails only when a daemon does
# not run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WARDEND=${WARDEND:-$PWD/$BUILD/wardend}
WARDEN=${WARDEN:-$PWD/$BUILD/warden}
DRIVE=${DRIVE:-$PWD/$BUILD/tests/tools/nft_drive}
PROBE=${PROBE:-$PWD/$BUILD/tests/tools/nft_probe}
sizes="2000 20000 100000"
f2b_sizes="2000 20000"
f2b_timeout=600
lat=200
latgap=10
f2b=1
keep=0
nftargs=
parts="backend flood latency f2b"
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2; shift 2 ;;
	--f2b-sizes) f2b_sizes=$2; shift 2 ;;
	--f2b-timeout) f2b_timeout=$2; shift 2 ;;
	--lat) lat=$2; shift 2 ;;
	--lat-gap) latgap=$2; shift 2 ;;
	--no-f2b) f2b=0; shift ;;
	--quick) sizes="2000 20000"; f2b_sizes=2000; lat=50; shift ;;
	--only) parts=$2; shift 2 ;;
	--nft-args) nftargs=,$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench/nft.sh: needs root (network namespaces)" >&2; exit 1; }
for p in "$WARDEND" "$WARDEN" "$DRIVE" "$PROBE"; do
	[ -x "$p" ] || { echo "bench/nft.sh: $p not built (make BUILD=$BUILD check)" >&2; exit 1; }
done
want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
want f2b || f2b=0
command -v fail2ban-client >/dev/null || f2b=0
if [ -f /etc/fail2ban/action.d/nftables-allports.conf ]; then
	STOCK=/etc/fail2ban
else
	STOCK=$(tests/fetch-fail2ban)/etc/fail2ban || f2b=0
fi

NS=warden-bench-$$
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-nft.XXXXXX") || exit 1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ $keep = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
inns() { ip netns exec "$NS" "$@"; }

ms() { date +%s%3N; }
# cpu_ms PID: the process's CPU time so far (user + sys, 10 ms ticks)
cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d", ($12 + $13) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1000 }'; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { d = (b - a) / 1000; if (d <= 0) d = 0.001; printf "%.0f", n / d }'; }

# gen FILE N BASE: 3 failure lines for each of N addresses counted up from
# BASE (three passes, so every ban comes in the last third); prints the
# first, middle and last address.
gen() {
	python3 - "$@" <<'EOF'
import ipaddress, sys, time
path, n, base = sys.argv[1], int(sys.argv[2]), ipaddress.ip_address(sys.argv[3])
ts = time.strftime("%Y-%m-%d %H:%M:%S")
ips = [str(base + i) for i in range(n)]
with open(path, "w") as f:
    for _ in range(3):
        f.writelines("%s fail from %s\n" % (ts, ip) for ip in ips)
print(ips[0], ips[n // 2], ips[-1])
EOF
}

filter() {
	mkdir -p "$1/filter.d"
	printf '[Definition]\nfailregex = ^\\s*fail from <HOST>$\n' >"$1/filter.d/bench.conf"
}

# wconf DIR: wardend's config; jail "bench" with warden-nft-allports
# (the built-in action: no action file is written).
wconf() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d/conf"
	filter "$d/conf"
	cat >"$d/conf/warden.conf" <<EOF
[Definition]
loglevel = NOTICE
EOF
	cat >"$d/conf/jail.conf" <<EOF
[DEFAULT]
maxretry = 3
findtime = 1d
bantime = 1d
ignoreself = false
[bench]
enabled = true
filter = bench
action = warden-nft-allports[checkinterval=0$nftargs]
logpath = $d/bench.log
EOF
	: >"$d/bench.log"
}

wstart() { # wstart DIR [DBFILE]: wardend in the namespace; prints ms until ping
	local d=$1 t0 i=0
	t0=$(ms)
	# not through inns: $! must be wardend itself, not a subshell
	ip netns exec "$NS" "$WARDEND" -f -x -c "$d/conf" -s "$d/s.sock" \
		-p "$d/pid" --dbfile "${2:-$d/db.sqlite}" \
		--logtarget "$d/wardend.log" 2>>"$d/stderr" &
	WPID=$!
	PIDS+=("$WPID")
	until "$WARDEN" ping -s "$d/s.sock" --timeout 1 >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 3000 ] && { echo "wardend did not start" >&2; return 1; }
	done
	echo $(($(ms) - t0))
}
wstop() {
	"$WARDEN" stop -s "$1/s.sock" >/dev/null 2>&1
	for _ in $(seq 1 600); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$WPID" 2>/dev/null
	wait "$WPID" 2>/dev/null
}

# fconf DIR: fail2ban's stock config copy, private paths, jail "bench"
# with nftables-allports.
fconf() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d"
	cp -r "$STOCK" "$d/conf"
	rm -f "$d/conf/jail.d/"* "$d/conf/fail2ban.d/"* 2>/dev/null
	filter "$d/conf"
	cat >"$d/conf/fail2ban.local" <<EOF
[Definition]
loglevel = NOTICE
logtarget = $d/server.log
socket = $d/s.sock
pidfile = $d/s.pid
dbfile = $d/db.sqlite3
EOF
	cat >"$d/conf/jail.local" <<EOF
[DEFAULT]
maxretry = 3
findtime = 1d
bantime = 1d
ignoreself = false
backend = auto
[bench]
enabled = true
filter = bench
action = nftables-allports[name=bench, protocol=tcp]
logpath = $d/bench.log
EOF
	: >"$d/bench.log"
}
fstart() {
	inns fail2ban-client -c "$1/conf" -x start >/dev/null 2>>"$1/stderr" ||
		{ echo "fail2ban did not start" >&2; return 1; }
	FPID=$(cat "$1/s.pid")
	PIDS+=("$FPID")
	# the action starts with the first ban: nothing to wait for here
}
fstop() {
	timeout 600 fail2ban-client -c "$1/conf" stop >/dev/null 2>&1
	for _ in $(seq 1 600); do kill -0 "$FPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$FPID" 2>/dev/null
}

# count TABLE SET: elements `nft list set` prints (one address each)
count() {
	inns nft list set inet "$1" "$2" 2>/dev/null |
		grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}' | wc -l
}

# flood KIND DIR N BASE LIMIT: appends the flood (nft_probe writes it in
# one write and polls the last, middle and first address from there);
# prints "ms count", count from `nft list set`
flood() {
	local kind=$1 d=$2 n=$3 base=$4 limit=$5 table set first mid last t0 w c
	if [ "$kind" = warden ]; then table=warden set=addr4-bench
	else table=f2b-table set=addr-set-bench; fi
	read -r first mid last < <(gen "$T/flood-$n.log" "$n" "$base")
	sync
	t0=$(ms)
	w=$(inns "$PROBE" -t "$table" "$set" append "$T/flood-$n.log" \
		"$d/bench.log" "$limit" "$last" "$mid" "$first" |
		sed -n 's/^present after \([0-9]*\).*/\1/p')
	c=$(count "$table" "$set")
	if [ -n "$w" ] && [ "$c" -ge "$n" ]; then
		echo "$w $c"
		return
	fi
	# not all there (a daemon banning out of order, or the limit hit)
	while [ "$c" -lt "$n" ] && [ $(($(ms) - t0)) -lt $((limit * 1000)) ]; do
		sleep 0.5
		c=$(count "$table" "$set")
	done
	echo "$(($(ms) - t0)) $c"
}

declare -A R
# cputicks PID [TID]: user+system CPU ticks of a process (or of one of
# its threads) so far
cputicks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1${2:+/task/$2}/stat"; }
# rqwait PID: ns the loop's thread has waited for a CPU (runnable, not
# running) so far (schedstat's second field)
rqwait() { awk '{ print $2 }' "/proc/$1/task/$1/schedstat" 2>/dev/null || echo 0; }
base_of() { # distinct /16 per size so runs never share addresses
	case $1 in
	2000) echo 100.64.0.1 ;; 20000) echo 100.65.0.1 ;;
	100000) echo 100.66.0.1 ;; *) echo 100.70.0.1 ;;
	esac
}

# --- the backend alone ------------------------------------------------------
want backend && {
echo "== backend alone (nft_drive)" >&2
for n in $sizes; do
	inns nft delete table inet warden 2>/dev/null
	R[drv,$n]=$(inns "$DRIVE" -n bench -p type=allports -p checkinterval=0 \
		start "flood:$n@86400@$(base_of "$n")" exit 2>/dev/null |
		sed -n 's/^flood [0-9]* in \([0-9.]*\) ms$/\1/p')
done
inns nft delete table inet warden 2>/dev/null
R[drv,restore]=$(inns "$DRIVE" -n bench -p type=allports -p checkinterval=0 \
	start restore:100000@86400@100.80.0.1 exit 2>/dev/null |
	sed -n 's/^restore [0-9]* in \([0-9.]*\) ms$/\1/p')
inns nft delete table inet warden 2>/dev/null
}

# --- wardend ------------------------------------------------------------------
echo "== wardend" >&2
want flood && for n in $sizes; do
	d=$T/w-$n
	wconf "$d"
	wstart "$d" >/dev/null || exit 1
	sleep 0.3
	c0=$(cputicks "$WPID") m0=$(cputicks "$WPID" "$WPID") q0=$(rqwait "$WPID")
	R[w,$n]=$(flood warden "$d" "$n" "$(base_of "$n")" 120)
	R[w,cpu,$n]=$(awk -v a="$c0" -v b="$(cputicks "$WPID")" \
		-v c="$m0" -v d="$(cputicks "$WPID" "$WPID")" -v hz="$(getconf CLK_TCK)" \
		-v e="$q0" -v f="$(rqwait "$WPID")" \
		'BEGIN { printf "%.2f s, the loop'"'"'s thread %.2f s (%.2f s waiting for a CPU)", (b - a) / hz, (d - c) / hz, (f - e) / 1e9 }')
	if [ "$n" = 100000 ]; then
		# restart, the sets kept (the daemon dies, the kernel keeps):
		# a stale element (not in the database) shows the reconcile
		kill -9 "$WPID"
		wait "$WPID" 2>/dev/null
		inns nft add element inet warden addr4-bench '{ 203.0.113.77 }'
		t0=$(ms)
		wstart "$d" >/dev/null || exit 1
		inns "$PROBE" addr4-bench gone 60 203.0.113.77 >/dev/null
		R[w,rkill]=$(($(ms) - t0))
		R[w,rkillcpu]=$(cpu_ms "$WPID")
		R[w,rkillc]=$(count warden addr4-bench)
		# restart after a stop (which flushes): all back in the set
		wstop "$d"
		R[w,stopc]=$(count warden addr4-bench 2>/dev/null)
		t0=$(ms)
		wstart "$d" >/dev/null || exit 1
		read -r first mid last < <(python3 -c "import ipaddress as i; b=i.ip_address('$(base_of 100000)'); print(b, b+50000, b+99999)")
		inns "$PROBE" addr4-bench wait 60 "$last" "$mid" "$first" >/dev/null
		R[w,rstop]=$(($(ms) - t0))
		R[w,rstopcpu]=$(cpu_ms "$WPID")
		R[w,rstopc]=$(count warden addr4-bench)
	fi
	wstop "$d"
done
want latency && {
d=$T/w-lat
wconf "$d"
wstart "$d" >/dev/null || exit 1
sleep 0.3
R[w,lat]=$(inns "$PROBE" addr4-bench latency "$d/bench.log" "$lat" 100.90.0.1 "$latgap" |
	sed -n 's/.*p50=\([0-9.]*\) p90=[0-9.]* p99=\([0-9.]*\) max=\([0-9.]*\).*/\1 \/ \2 (max \3)/p')
wstop "$d"
# the same without the database file (its commits write the WAL; its
# checkpoints fsync in libuv's pool): what the pipeline and the backend
# cost alone
wconf "$d"
wstart "$d" :memory: >/dev/null || exit 1
sleep 0.3
R[w,latm]=$(inns "$PROBE" addr4-bench latency "$d/bench.log" "$lat" 100.92.0.1 "$latgap" |
	sed -n 's/.*p50=\([0-9.]*\) p90=[0-9.]* p99=\([0-9.]*\) max=\([0-9.]*\).*/\1 \/ \2 (max \3)/p')
wstop "$d"
}

# --- fail2ban -----------------------------------------------------------------
if [ $f2b = 1 ]; then
	echo "== fail2ban ($(fail2ban-client --version 2>/dev/null | head -1))" >&2
	want flood && for n in $f2b_sizes; do
		d=$T/f-$n
		fconf "$d"
		fstart "$d" || break
		sleep 1
		R[f,$n]=$(flood f2b "$d" "$n" "$(base_of "$n")" "$f2b_timeout")
		fstop "$d"
		inns nft delete table inet f2b-table 2>/dev/null
	done
	d=$T/f-lat
	want latency && fconf "$d" && fstart "$d" && {
		sleep 1
		flat=$((lat < 20 ? lat : 20))
		R[f,lat]=$(inns "$PROBE" -t f2b-table addr-set-bench latency \
			"$d/bench.log" "$flat" 100.91.0.1 "$latgap" |
			sed -n 's/.*p50=\([0-9.]*\) p90=[0-9.]* p99=\([0-9.]*\) max=\([0-9.]*\).*/\1 \/ \2 (max \3)/p')
		fstop "$d"
	}
fi

# --- the table -------------------------------------------------------------------
cell() { # cell "ms count" N
	local v=$1 n=$2 t c
	[ -z "$v" ] && { echo "not run"; return; }
	read -r t c <<<"$v"
	if [ "$c" -lt "$n" ]; then
		echo "$c/$n after $(secs 0 "$t") s ($(rate "$c" 0 "$t")/s)"
	else
		echo "$(secs 0 "$t") s ($(rate "$n" 0 "$t")/s)"
	fi
}
printf '\n%-34s %-26s %s\n' "" "Warden (native)" "fail2ban (nftables-allports)"
want flood && for n in $sizes; do
	fr=${R[f,$n]:-}
	fc=$(cell "$fr" "$n")
	if [ -z "$fr" ] && [ -n "${R[f,2000]:-}" ]; then
		read -r t c <<<"${R[f,2000]}"
		fc="not run (~$(awk -v n="$n" -v c="$c" -v t="$t" 'BEGIN { printf "%.0f", n * t / 1000 / c }') s at its 2,000 rate)"
	fi
	printf '%-34s %-26s %s\n' "flood: $n bans into the set" "$(cell "${R[w,$n]:-}" "$n")" "$fc"
	[ -n "${R[w,cpu,$n]:-}" ] && printf '%-34s %-26s\n' "  ... wardend CPU (user+sys)" "${R[w,cpu,$n]}"
done
if [ -n "${R[w,rkill]:-}" ]; then
	printf '%-34s %-26s\n' "restart 100k, kill -9: reconciled" "$(secs 0 "${R[w,rkill]}") s (stale gone, ${R[w,rkillc]} in set; wardend CPU ${R[w,rkillcpu]:-?} ms)"
	printf '%-34s %-26s\n' "restart 100k after stop: all back" "$(secs 0 "${R[w,rstop]}") s (${R[w,stopc]:-0} -> ${R[w,rstopc]}; wardend CPU ${R[w,rstopcpu]:-?} ms)"
fi
want latency && {
printf '%-34s %-26s %s\n' "latency 3rd line -> set p50/p99 ms" "${R[w,lat]:-}" "${R[f,lat]:-not run}"
printf '%-34s %-26s\n' "  ... wardend with dbfile :memory:" "${R[w,latm]:-}"
}
printf '(load average during the run: %s)\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
want backend || exit 0
printf '\nbackend alone (one batch through the action queue into the kernel):\n'
for n in $sizes; do
	[ -n "${R[drv,$n]:-}" ] && printf '  %6d bans: %8s ms  (%s bans/s)\n' "$n" "${R[drv,$n]}" \
		"$(awk -v n="$n" -v m="${R[drv,$n]}" 'BEGIN { printf "%.0f", n / (m / 1000) }')"
done
printf '  100000 restored bans reconciled: %s ms (batches marked as the jail marks them: no restore wait)\n' "${R[drv,restore]:-?}"
