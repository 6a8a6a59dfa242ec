#!/usr/bin/env bash
# Benchmark: what login tracking (issue 7, jail option usermaxretry) costs
# wardend's line processing. The shipped configuration (etc/warden) with
# its sshd jail replays a generated auth.log of --lines lines (24% failed
# passwords from ~22 addresses per 1000 lines, logins u0..u96, the rest
# benign sshd lines) from the start, no action (--no-firewall), no
# database; the time until `warden status sshd short` counts every
# failure (polled every 20 ms: the short form, without the list of
# thousands of banned addresses, costs the daemon next to nothing), and
# the peak RSS, best of --runs runs each (wall time and, apart, the
# daemon's CPU time until then: its threads' run time from schedstat),
# in three set-ups:
#
#   off        usermaxretry = 0 (fail2ban's counting only)
#   tracking   usermaxretry = 1000000: every failure is also counted for
#              its login, with its address linked, but no login is locked
#              (the per-line cost of the feature)
#   locking    usermaxretry = 5: logins lock within seconds and every
#              later address of a locked login is banned at its first
#              failure (far more bans: the feature at work)
#
# The set-ups take turns within each run. Prints a table, the ratios
# tracking/off and locking/off of the best times (wall, CPU), and the
# CPU ratio tracking/off of each run with its median (the set-ups of one
# run saw the same machine).
#
#   bench/users.sh [--quick] [--lines N] [--runs N] [--keep]
#
# Not a test: it fails only when wardend does not run or loses failures.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WARDEND=${WARDEND:-$PWD/$BUILD/wardend}
WARDEN=${WARDEN:-$PWD/$BUILD/warden}
lines=1000000
runs=3
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) lines=200000; runs=2; shift ;;
	--lines) lines=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: $0 [--quick] [--lines N] [--runs N] [--keep]" >&2; exit 2 ;;
	esac
done
for p in "$WARDEND" "$WARDEN"; do
	[ -x "$p" ] || { echo "bench/users.sh: $p not built (make BUILD=$BUILD)" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-users.XXXXXX") || exit 1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ $keep = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
ms() { date +%s%3N; }

# the log: the failures it holds are printed
want=$(python3 - "$T/auth.log" "$lines" <<'EOF'
import random, sys, time
path, n = sys.argv[1], int(sys.argv[2])
random.seed(20261121)
nips = 22000 if n >= 1000000 else max(100, 22 * n // 1000)
# first octets 11..220 without 127 (loopback: the jail's ignoreip)
octets = [o for o in range(11, 221) if o != 127]
ips = ["%d.%d.%d.%d" % (random.choice(octets), random.randint(0, 255),
       random.randint(0, 255), random.randint(1, 254)) for _ in range(nips)]
t0 = time.time() - 3000
fails = 0
with open(path, "w") as f:
    for i in range(n):
        ts = time.strftime("%b %d %H:%M:%S", time.localtime(t0 + 2900.0 * i / n))
        if random.random() < 0.24:
            fails += 1
            f.write("%s bench sshd[%d]: Failed password for invalid user u%d from %s port %d ssh2\n"
                    % (ts, 1000 + i % 5000, i % 97, random.choice(ips), 1024 + i % 60000))
        else:
            f.write("%s bench sshd[%d]: Connection closed by 192.0.2.%d port %d [preauth]\n"
                    % (ts, 1000 + i % 5000, i % 250 + 1, 1024 + i % 60000))
print(fails)
EOF
)

# run NAME USERMAXRETRY: one replay; prints "MS CPU_MS RSS BANS GOT"
run() {
	local d=$T/$1 t0 t1 got pid cpu
	rm -rf "$d"
	mkdir -p "$d"
	cp -r etc/warden "$d/conf"
	cat >"$d/conf/jail.local" <<EOF
[DEFAULT]
findtime = 1d
bantime = 1d
maxretry = 5
ignoreself = false
[sshd]
enabled = true
backend = auto
logpath = $T/auth.log
usermaxretry = $2
EOF
	printf '[Definition]\nloglevel = NOTICE\n' >"$d/conf/warden.local"
	t0=$(ms)
	"$WARDEND" -f -x -c "$d/conf" -s "$d/s.sock" -p "$d/pid" \
		--dbfile None --logtarget "$d/wardend.log" --no-firewall \
		2>"$d/stderr" &
	pid=$!
	PIDS+=("$pid")
	got=0
	while :; do
		got=$("$WARDEN" status -s "$d/s.sock" sshd short 2>/dev/null |
			awk -F'\t' '/Total failed/ {print $2}')
		[ "${got:-0}" -ge "$want" ] && break
		[ $(($(ms) - t0)) -gt 600000 ] && break
		sleep 0.02
	done
	t1=$(ms)
	# CPU (the machine may be shared): the run time of its threads in
	# ns (schedstat), else utime + stime in clock ticks (10 ms steps)
	cpu=$(cat /proc/"$pid"/task/*/schedstat 2>/dev/null |
		awk '{ns += $1} END {if (NR) print int(ns / 1e6)}')
	[ -n "$cpu" ] ||
		cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$pid/stat")
	echo "$((t1 - t0)) $cpu $(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") $("$WARDEN" status -s "$d/s.sock" sshd short | awk -F'\t' '/Total banned/ {print $2}') ${got:-0}"
	"$WARDEN" stop -s "$d/s.sock" >/dev/null 2>&1
	wait "$pid" 2>/dev/null
}

declare -A best bcpu rss bans cpu
for r in $(seq 1 "$runs"); do
	for s in "off 0" "tracking 1000000" "locking 5"; do
		set -- $s
		read -r t c m b g < <(run "$1" "$2")
		if [ "${g:-0}" -lt "$want" ]; then
			echo "bench/users.sh: $1 counted $g of $want failures" >&2
			exit 1
		fi
		if [ -z "${best[$1]:-}" ] || [ "$t" -lt "${best[$1]}" ]; then
			best[$1]=$t
			rss[$1]=$m
			bans[$1]=$b
		fi
		if [ -z "${bcpu[$1]:-}" ] || [ "$c" -lt "${bcpu[$1]}" ]; then
			bcpu[$1]=$c
		fi
		cpu[$1]="${cpu[$1]:-} $c"
	done
done
printf '\nreplay of %d lines (%d failures), best of %d\n' "$lines" "$want" "$runs"
printf '%-10s %10s %10s %12s %10s %8s\n' setup "ms" "cpu ms" "lines/s" "peak KiB" bans
for s in off tracking locking; do
	printf '%-10s %10d %10d %12d %10d %8d\n' "$s" "${best[$s]}" "${bcpu[$s]}" \
		$((lines * 1000 / best[$s])) "${rss[$s]}" "${bans[$s]}"
done
python3 -c "print('ratio tracking/off: %.3f   locking/off: %.3f' % (${best[tracking]} / ${best[off]}, ${best[locking]} / ${best[off]}))"
python3 -c "print('cpu ratio tracking/off: %.3f   locking/off: %.3f' % (${bcpu[tracking]} / max(1, ${bcpu[off]}), ${bcpu[locking]} / max(1, ${bcpu[off]})))"
python3 - "${cpu[off]}" "${cpu[tracking]}" <<'EOF'
import math, statistics, sys
off, trk = ([int(x) for x in a.split()] for a in sys.argv[1:3])
r = [t / max(1, o) for o, t in zip(off, trk)]
print('cpu ratio tracking/off per run: %s   median %.3f'
      % (' '.join('%.3f' % x for x in r), statistics.median(r)))
# the geometric mean of the runs' ratios with a 95% interval (Student's t
# on the logs): whether this machine's noise resolves the difference
t95 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36,
       9: 2.31, 10: 2.26, 15: 2.14, 20: 2.09, 25: 2.06, 30: 2.05}
if len(r) >= 2:
    lg = [math.log(x) for x in r if x > 0]
    m, se = statistics.mean(lg), statistics.stdev(lg) / math.sqrt(len(lg))
    t = t95.get(len(lg)) or t95[max(k for k in t95 if k <= len(lg))]
    print('cpu ratio tracking/off, geometric mean of the runs: %.3f '
          '(95%% interval %.3f-%.3f)'
          % (math.exp(m), math.exp(m - t * se), math.exp(m + t * se)))
EOF
