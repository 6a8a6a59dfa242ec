#!/usr/bin/env bash
# Benchmark: `warden regex` against `fail2ban-regex` on the same generated
# auth.log with fail2ban's own sshd filter. Not a timed test: it prints a
# table and fails only when a tool does not run or the two disagree on the
# "Lines:" counts. warden runs with its default two threads (a reader
# thread that splits lines, detects dates and shares the searches) and
# with --threads=1, alternately, --runs times each (default 5), half of
# the runs before fail2ban-regex and half after it; each row shows the
# median run's wall-clock and CPU (user + sys) seconds and the range of
# the wall times. fail2ban-regex runs once: its 30-odd seconds average
# out the short stalls of a shared VM that decide a 0.3 s run.
# Then, unless --no-filters, bench/filters.sh times every filter Warden
# ships against fail2ban's filter of the same service.
#
#   bench/regex.sh [--lines N] [--quick] [--filter SPEC] [--seed S]
#                  [--runs R] [--warden PATH] [--keep] [--no-filters]
#
#   --lines N      log size (default 1000000)
#   --quick        50000 lines, for a smoke run
#   --runs R       runs of each warden mode (default 5)
#   --filter SPEC  filter name with options (default sshd), e.g.
#                  'sshd[mode=aggressive]'
#   --warden PATH  warden binary (default $WARDEN, else $BUILD/warden,
#                  BUILD defaulting to build)
#   --extracted    use the extracted fail2ban package (tests/fetch-fail2ban)
#                  for fail2ban-regex and the config, even if one is installed
#   --keep         keep the generated log in bench/out/
#   --no-filters   skip the second part: bench/filters.sh, every filter
#                  Warden ships (etc/warden/filter.d) against fail2ban's
#                  filter of the same service, on its sample repeated and
#                  on a generated auth.log (--quick passes --quick to it)
#
# fail2ban-regex is the installed one when present, else the extracted
# package from tests/fetch-fail2ban run with /usr/bin/python3. The filter
# config is /etc/fail2ban when it has filter.d/sshd.conf, else the extracted
# etc/fail2ban; both tools read the same directory.
set -u
cd "$(dirname "$0")/.."

lines=1000000
seed=20051124
runs=5
spec=sshd
keep=0
extracted=0
filters=1
quick=0
warden=${WARDEN:-$PWD/${BUILD:-build}/warden}
while [ $# -gt 0 ]; do
	case $1 in
	--lines) lines=$2; shift 2 ;;
	--quick) lines=50000 quick=1; shift ;;
	--no-filters) filters=0; shift ;;
	--filter) spec=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--warden) warden=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--extracted) extracted=1; shift ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	*) echo "regex.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done
case $lines in
'' | *[!0-9]*) echo "regex.sh: --lines needs a number" >&2; exit 2 ;;
esac
case $runs in
'' | *[!0-9]* | 0) echo "regex.sh: --runs needs a number above 0" >&2; exit 2 ;;
esac

# Where fail2ban-regex and the filter config come from.
f2b_cmd=()
if [ $extracted -eq 0 ] && command -v fail2ban-regex >/dev/null 2>&1; then
	f2b_cmd=(fail2ban-regex)
	f2b_what="fail2ban-regex ($(command -v fail2ban-regex))"
fi
root=
if [ ${#f2b_cmd[@]} -eq 0 ] || [ $extracted -eq 1 ] ||
	[ ! -f /etc/fail2ban/filter.d/sshd.conf ]; then
	root=$(tests/fetch-fail2ban) || { echo "regex.sh: cannot fetch fail2ban" >&2; exit 1; }
fi
if [ ${#f2b_cmd[@]} -eq 0 ]; then
	f2b_cmd=(env "PYTHONPATH=$root/usr/lib/python3/dist-packages"
		/usr/bin/python3 "$root/usr/bin/fail2ban-regex")
	f2b_what="fail2ban-regex (extracted, $root)"
fi
if [ $extracted -eq 0 ] && [ -f /etc/fail2ban/filter.d/sshd.conf ]; then
	config=/etc/fail2ban
else
	config=$root/etc/fail2ban
fi

out=bench/out
mkdir -p "$out"
log=$out/authlog-$lines-$seed.log
cleanup() { [ $keep -eq 1 ] || rm -f "$log" "$out"/regex-*.txt "$out"/regex-*.cpu; }
trap cleanup EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

t0=$(now)
python3 bench/gen_authlog.py --lines "$lines" --seed "$seed" --out "$log" || exit 1
t1=$(now)
printf 'generated %s lines (%s bytes, seed %s) in %.1f s\n' "$lines" \
	"$(stat -c %s "$log")" "$seed" "$(calc "$t1 - $t0")"
echo "filter: $spec, config: $config"
echo "fail2ban: $f2b_what"
echo "warden:   $warden regex"

# run_tool NAME OUTFILE CMD...: runs one side; prints nothing, sets
# secs and counts ("tested ignored matched missed") or leaves counts empty.
run_tool() {
	local outf=$1
	shift
	local a b
	a=$(now)
	/usr/bin/time -f '%U %S' -o "$outf.cpu" "$@" >"$outf" 2>&1
	rc=$?
	b=$(now)
	secs=$(calc "$b - $a")
	cpu=$(awk 'END { printf "%.2f", $1 + $2 }' "$outf.cpu")
	counts=$(sed -n 's/^Lines: \([0-9]*\) lines, \([0-9]*\) ignored, \([0-9]*\) matched, \([0-9]*\) missed.*/\1 \2 \3 \4/p' "$outf" | head -1)
}

opts=(--print-no-missed --print-no-ignored)


# median_run FILE: of the "secs cpu" lines in FILE, the median by wall
# time (the lower middle one for an even count), then "min-max" walls.
median_run() {
	sort -n "$1" | awk '{ w[NR] = $1; c[NR] = $2 }
		END { m = int((NR + 1) / 2); printf "%s %s %.2f-%.2f\n", w[m], c[m], w[1], w[NR] }'
}

# warden_runs K: K more runs of each warden mode, alternately, into
# runs2.txt and runs1.txt; every run must give the counts of the first.
warden_runs() {
	for _ in $(seq "$1"); do
		run_tool "$out/regex-warden.txt" nice "$warden" regex -c "$config" "${opts[@]}" "$log" "$spec"
		[ $rc -ne 0 ] && w_rc=$rc
		[ -n "$w_counts" ] && [ "$counts" != "$w_counts" ] && w_rc=1
		w_counts=$counts
		echo "$secs $cpu" >>"$out/runs2.txt"
		run_tool "$out/regex-warden1.txt" nice "$warden" regex --threads=1 -c "$config" "${opts[@]}" "$log" "$spec"
		[ $rc -ne 0 ] && w1_rc=$rc
		[ -n "$w1_counts" ] && [ "$counts" != "$w1_counts" ] && w1_rc=1
		w1_counts=$counts
		echo "$secs $cpu" >>"$out/runs1.txt"
	done
}

# Half of warden's runs before fail2ban-regex, half after: the host's
# speed drifts over minutes, and fail2ban-regex's 30-odd seconds are
# then bracketed by warden's runs instead of followed by a few seconds
# of them.
w_rc=127 w_secs=0 w_counts= w1_rc=127 w1_counts= w_range= w1_range=
have_warden=0
if [ -x "$warden" ]; then
	have_warden=1
	: >"$out/runs2.txt"
	: >"$out/runs1.txt"
	w_rc=0 w1_rc=0
	warden_runs $(((runs + 1) / 2))
fi

run_tool "$out/regex-f2b.txt" nice "${f2b_cmd[@]}" -c "$config" "${opts[@]}" "$log" "$spec"
f2b_rc=$rc f2b_secs=$secs f2b_counts=$counts cpu_f2b=$cpu
if [ $f2b_rc -ne 0 ] || [ -z "$f2b_counts" ]; then
	echo "FAIL: fail2ban-regex did not run (status $f2b_rc):" >&2
	tail -5 "$out/regex-f2b.txt" >&2
	exit 1
fi

if [ $have_warden -eq 1 ]; then
	warden_runs $((runs / 2))
	read -r w_secs w_cpu w_range <<<"$(median_run "$out/runs2.txt")"
	read -r w1_secs w1_cpu w1_range <<<"$(median_run "$out/runs1.txt")"
else
	echo "warden binary not found or not executable: $warden" >"$out/regex-warden.txt"
fi

echo
printf '%-17s %9s %9s %9s %9s %9s %7s %11s  %s\n' tool lines ignored matched missed seconds cpu lines/s "runs (wall range)"
row() {
	local name=$1 c=$2 s=$3 u=$4 r=$5
	# shellcheck disable=SC2086
	set -- $c
	printf '%-17s %9s %9s %9s %9s %9.2f %7s %11.0f  %s\n' "$name" "$1" "$2" "$3" "$4" \
		"$s" "$u" "$(calc "$lines / $s")" "$r"
}
row fail2ban-regex "$f2b_counts" "$f2b_secs" "$cpu_f2b" "1"
status=0
if [ $w_rc -eq 0 ] && [ -n "$w_counts" ]; then
	row "warden regex" "$w_counts" "$w_secs" "$w_cpu" "$runs, median ($w_range s)"
	[ "$w1_rc" -eq 0 ] && row "warden 1 thread" "$w1_counts" "$w1_secs" "$w1_cpu" "$runs, median ($w1_range s)"
	printf 'speedup (fail2ban-regex time / warden median time): %.1fx wall (%s runs: %s), %.1fx cpu; 1 thread: %.1fx wall\n' \
		"$(calc "$f2b_secs / $w_secs")" "$runs" \
		"$(sort -n "$out/runs2.txt" | awk -v f="$f2b_secs" '{ printf "%s%.1fx", (NR > 1 ? " " : ""), f / $1 }')" \
		"$(calc "$cpu_f2b / $w_cpu")" "$(calc "$f2b_secs / $w1_secs")"
	if [ "$w_counts" = "$f2b_counts" ] && [ "$w1_counts" = "$f2b_counts" ] &&
		diff -q <(grep -v '^\[processed in' "$out/regex-warden.txt") \
			<(grep -v '^\[processed in' "$out/regex-warden1.txt") >/dev/null; then
		echo "counts: identical"
	else
		echo "counts: DIFFER (fail2ban: $f2b_counts; warden: $w_counts; 1 thread: $w1_counts; or the two warden reports differ)"
		status=1
	fi
else
	printf '%-15s %s\n' "warden regex" "did not run (status $w_rc)"
	echo "FAIL: warden regex did not produce a 'Lines:' summary:" >&2
	tail -5 "$out/regex-warden.txt" | sed 's/^/  /' >&2
	status=1
fi
if [ $filters -eq 1 ]; then
	echo
	echo "shipped filters (bench/filters.sh):"
	fargs=(--warden "$warden")
	[ $quick -eq 1 ] && fargs+=(--quick)
	[ $keep -eq 1 ] && fargs+=(--keep)
	bench/filters.sh "${fargs[@]}" || status=1
fi
exit $status
