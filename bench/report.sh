#!/usr/bin/env bash
# Benchmark: the report socket (issue 7), reports per second.
#
#   module      N reports into the report socket module alone
#               (tests/tools/report_sink: report.c's server with a
#               handler that only counts, no rate limits) from K sender
#               processes (tests/tools/report_flood), one datagram per
#               sendto(), and with sendmmsg() batches of 32. Reports/s
#               is measured by the sink from the first to the last report
#               it handed over; the sink's peak RSS is shown.
#   wardend     the same flood into wardend's report socket with a
#               backend = report jail (maxretry above N, no action,
#               reportrate/reporttotalrate unlimited, loglevel NOTICE: no
#               "Found" line per report), timed until `warden status`
#               counts N failures. Skipped, and said so, while wardend
#               does not serve the socket.
#   one-shot    a process per report, as a script does it: M runs of
#               `warden report ...` against the sink, and M runs of
#               fail2ban's nearest equivalent, `fail2ban-client set JAIL
#               attempt IP`, against fail2ban-server.
#   f2b-socket  fail2ban's fastest direct path for comparison: one
#               long-lived Python client (fail2ban's own CSocket) sending
#               `set JAIL attempt IP` N/10 times to fail2ban-server.
#
#   bench/report.sh [--quick] [--reports N] [--oneshot M] [--no-f2b]
#                   [--keep]
#
# Not a test: it fails only when a program does not run or reports go
# missing (the sink must count exactly N).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WARDEN=${WARDEN:-$PWD/$BUILD/warden}
WARDEND=${WARDEND:-$PWD/$BUILD/wardend}
SINK=$PWD/$BUILD/tests/tools/report_sink
FLOOD=$PWD/$BUILD/tests/tools/report_flood
reports=1000000
oneshot=1000
f2b=1
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) reports=100000; oneshot=200; shift ;;
	--reports) reports=$2; shift 2 ;;
	--oneshot) oneshot=$2; shift 2 ;;
	--no-f2b) f2b=0; shift ;;
	--keep) keep=1; shift ;;
	*) echo "usage: $0 [--quick] [--reports N] [--oneshot M] [--no-f2b] [--keep]" >&2; exit 2 ;;
	esac
done
for p in "$WARDEN" "$SINK" "$FLOOD"; do
	[ -x "$p" ] || { echo "bench/report.sh: $p not built (make BUILD=$BUILD check)" >&2; exit 1; }
done
command -v fail2ban-server >/dev/null && [ -x /usr/bin/python3 ] || f2b=0
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-report.XXXXXX") || exit 1
chmod 755 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${F2BCONF:-}" ] && fail2ban-client -c "$F2BCONF" stop >/dev/null 2>&1
	[ $keep = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
status=0

kv() { # kv KEY LINE: the value of KEY=... in LINE
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
now() { date +%s.%N; }

# sink_run ARGS...: starts a sink on $T/s.sock expecting $COUNT reports
sink_start() {
	rm -f "$T/s.sock" "$T/sink.out"
	"$SINK" --quiet --unlimited --timeout 600 "$@" "$T/s.sock" \
		>"$T/sink.out" 2>"$T/sink.err" &
	SINKPID=$!
	PIDS+=("$SINKPID")
	for _ in $(seq 200); do [ -S "$T/s.sock" ] && return 0; sleep 0.02; done
	echo "bench/report.sh: the sink did not start: $(cat "$T/sink.err")" >&2
	exit 1
}
sink_wait() {
	wait "$SINKPID"
	SINKSTATS=$(grep '^stats ' "$T/sink.out")
}

echo "report socket, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo
printf '%-34s %12s %10s %12s\n' "module (report_sink)" "reports/s" "secs" "sink RSS"
for senders in 1 2 4; do
	for batch in 1 32; do
		sink_start --count "$reports"
		nice "$FLOOD" --senders "$senders" --batch "$batch" \
			"$T/s.sock" "$reports" >"$T/flood.out" ||
			{ echo "flood failed: $(cat "$T/flood.out")" >&2; status=1; }
		sink_wait
		got=$(kv delivered "$SINKSTATS")
		[ "$got" = "$reports" ] ||
			{ echo "sink counted $got of $reports" >&2; status=1; }
		printf '%-34s %12s %10s %9s KiB\n' \
			"$senders sender(s), batch $batch" \
			"$(kv per_s "$SINKSTATS")" "$(kv secs "$SINKSTATS")" \
			"$(kv maxrss_kib "$SINKSTATS")"
	done
done

# ---- wardend ----
echo
w_conf() {
	local d=$T/wd
	mkdir -p "$d/conf"
	cat >"$d/conf/warden.conf" <<EOF
[Definition]
loglevel = NOTICE
logtarget = $d/wardend.log
socket = $d/w.sock
pidfile = $d/w.pid
dbfile = None
reportsocket = $d/report.sock
reportrate = unlimited
reporttotalrate = unlimited
EOF
	cat >"$d/conf/jail.conf" <<EOF
[bench]
enabled = true
backend = report
service = bench
maxretry = $((reports + 1))
findtime = 1d
EOF
}
if [ -x "$WARDEND" ]; then
	w_conf
	"$WARDEND" -f -x -c "$T/wd/conf" >/dev/null 2>"$T/wd/stderr" &
	WPID=$!
	PIDS+=("$WPID")
	for _ in $(seq 100); do [ -S "$T/wd/report.sock" ] && break; sleep 0.05; done
fi
if [ -x "$WARDEND" ] && [ -S "$T/wd/report.sock" ]; then
	t0=$(now)
	nice "$FLOOD" --senders 2 "$T/wd/report.sock" "$reports" >"$T/flood.out"
	last=-1 still=0
	while :; do
		total=$("$WARDEN" status -s "$T/wd/w.sock" bench 2>/dev/null |
			awk -F'\t' '/Total failed/ {print $2}')
		[ "${total:-0}" -ge "$reports" ] && break
		# nothing more for 3 s: reports were lost
		if [ "${total:-0}" = "$last" ]; then
			still=$((still + 1))
			[ $still -ge 60 ] && break
		else
			still=0 last=${total:-0}
		fi
		sleep 0.05
	done
	t1=$(now)
	[ "${total:-0}" -ge "$reports" ] ||
		{ echo "wardend counted ${total:-0} of $reports" >&2; status=1; }
	printf '%-34s %12.0f %10.3f %9s KiB\n' "wardend, 2 senders, batch 1" \
		"$(echo "$reports / ($t1 - $t0)" | bc -l)" \
		"$(echo "$t1 - $t0" | bc -l)" \
		"$(awk '/^VmHWM/ {print $2}' "/proc/$WPID/status")"
else
	echo "wardend: skipped (wardend does not serve a report socket yet)"
fi
[ -n "${WPID:-}" ] && kill "$WPID" 2>/dev/null

# ---- one process per report ----
echo
printf '%-34s %12s %10s\n' "one-shot ($oneshot processes)" "reports/s" "secs"
sink_start --count "$oneshot"
t0=$(now)
for i in $(seq "$oneshot"); do
	"$WARDEN" report fail bench "10.9.$((i / 256)).$((i % 256))" \
		user=u$i -S "$T/s.sock" || status=1
done
t1=$(now)
sink_wait
[ "$(kv delivered "$SINKSTATS")" = "$oneshot" ] || status=1
printf '%-34s %12.0f %10.3f\n' "warden report" \
	"$(echo "$oneshot / ($t1 - $t0)" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"

if [ $f2b = 1 ]; then
	if [ -f /etc/fail2ban/filter.d/sshd.conf ]; then
		STOCK=/etc/fail2ban
	else
		STOCK=$(tests/fetch-fail2ban)/etc/fail2ban
	fi
	d=$T/f2b
	mkdir -p "$d"
	cp -r "$STOCK" "$d/conf"
	rm -f "$d/conf/jail.d/"* "$d/conf/fail2ban.d/"* 2>/dev/null
	: >"$d/empty.log"
	cat >"$d/conf/fail2ban.local" <<EOF
[Definition]
loglevel = NOTICE
logtarget = $d/server.log
socket = $d/s.sock
pidfile = $d/s.pid
dbfile = None
EOF
	cat >"$d/conf/jail.local" <<EOF
[bench]
enabled = true
filter = sshd
backend = polling
logpath = $d/empty.log
maxretry = 100000000
findtime = 1d
action =
EOF
	F2BCONF=$d/conf
	if fail2ban-client -c "$F2BCONF" -x start >/dev/null 2>"$d/stderr"; then
		m=$((oneshot / 20 > 10 ? oneshot / 20 : 10))
		t0=$(now)
		for i in $(seq "$m"); do
			fail2ban-client -c "$F2BCONF" set bench attempt \
				"10.9.$((i / 256)).$((i % 256))" >/dev/null || status=1
		done
		t1=$(now)
		printf '%-34s %12.1f %10.3f  (%d runs)\n' \
			"fail2ban-client set J attempt" \
			"$(echo "$m / ($t1 - $t0)" | bc -l)" \
			"$(echo "$t1 - $t0" | bc -l)" "$m"
		echo
		k=$((reports / 10))
		/usr/bin/python3 - "$d/s.sock" "$k" <<'PYEOF'
import sys, time
from fail2ban.client.csocket import CSocket
sock, n = sys.argv[1], int(sys.argv[2])
s = CSocket(sock)
t0 = time.monotonic()
for i in range(n):
    s.send(["set", "bench", "attempt", "10.8.%d.%d" % (i >> 8 & 255, i & 255)])
t = time.monotonic() - t0
s.close()
print("%-34s %12.0f %10.3f  (%d attempts)" % (
    "fail2ban CSocket set J attempt", n / t, t, n))
PYEOF
		[ $? = 0 ] || status=1
	else
		echo "fail2ban-server did not start: $(cat "$d/stderr")" >&2
		status=1
	fi
fi
exit $status
