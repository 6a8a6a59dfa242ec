#!/usr/bin/env bash
# Profiling helper for `warden regex` (not a benchmark against fail2ban; see
# regex.sh for that). Stable numbers on a shared, loaded machine:
#
#   bench/prof.sh [--lines N] [--runs R] [--callgrind] [--perf]
#                 [--warden PATH] [--filter SPEC] [-- EXTRA-ARGS...]
#
#   --lines N     lines of the generated auth.log (default 1000000; the log
#                 is cached in bench/out/ and reused)
#   --runs R      timed runs (default 5): prints the user CPU time of each
#                 and the best, which load on other cores barely moves
#   --callgrind   also run callgrind on the first 100000 lines and print
#                 the instructions per line and the top functions
#                 (inclusive and self); deterministic, so it compares
#                 variants of the code to well under 1%
#   --perf        also `perf record` one run (cpu-clock; the VM has no
#                 hardware counters) and print the top symbols
#   EXTRA-ARGS    passed to warden regex (e.g. -v, --json, -o row)
#
# Uses the same generator, seed and options as regex.sh.
set -u
cd "$(dirname "$0")/.."

lines=1000000
runs=5
cg=0
pf=0
spec=sshd
warden=${WARDEN:-$PWD/${BUILD:-build}/warden}
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--lines) lines=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--callgrind) cg=1; shift ;;
	--perf) pf=1; shift ;;
	--warden) warden=$2; shift 2 ;;
	--filter) spec=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	*) echo "prof.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done
config=/etc/fail2ban
[ -f $config/filter.d/sshd.conf ] || config=$(tests/fetch-fail2ban)/etc/fail2ban

out=bench/out
mkdir -p "$out"
log=$out/prof-$lines.log
if [ ! -s "$log" ]; then
	python3 bench/gen_authlog.py --lines "$lines" --seed 20051124 \
		--out "$log" || exit 1
fi
opts=(-c "$config" --print-no-missed --print-no-ignored)

echo "warden: $warden; $lines lines; load: $(cut -d' ' -f1-3 /proc/loadavg)"
best=
for ((i = 0; i < runs; i++)); do
	u=$( { /usr/bin/time -f '%U %e' "$warden" regex "${opts[@]}" \
		"${extra[@]}" "$log" "$spec" >"$out/prof-out.txt"; } 2>&1 | tail -1)
	set -- $u
	printf 'run %d: user %.2f s, wall %.2f s\n' $((i + 1)) "$1" "$2"
	if [ -z "$best" ] || awk "BEGIN { exit !($1 < $best) }"; then
		best=$1
	fi
done
grep '^Lines:' "$out/prof-out.txt"
[ -n "$best" ] && awk -v b="$best" -v n="$lines" \
	'BEGIN { printf "best user time %.2f s = %.0f ns/line\n", b, b * 1e9 / n }'

if [ $cg -eq 1 ]; then
	head -100000 "$log" >"$out/prof-100k.log"
	valgrind --tool=callgrind --callgrind-out-file="$out/prof.cg" \
		"$warden" regex "${opts[@]}" "${extra[@]}" "$out/prof-100k.log" \
		"$spec" >/dev/null 2>"$out/prof-cg.txt"
	ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/prof-cg.txt")
	echo "callgrind: $ir instructions for 100000 lines" \
		"($((ir / 100000)) per line, start-up included)"
	callgrind_annotate --inclusive=yes "$out/prof.cg" 2>/dev/null |
		sed -n '/file:function/,$p' | sed -n 2,40p
	echo "-- self --"
	callgrind_annotate "$out/prof.cg" 2>/dev/null |
		sed -n '/file:function/,$p' | sed -n 2,30p
fi
if [ $pf -eq 1 ]; then
	perf record -q -e cpu-clock -F 2000 -o "$out/prof.perf" \
		"$warden" regex "${opts[@]}" "${extra[@]}" "$log" "$spec" \
		>/dev/null 2>&1
	perf report -i "$out/prof.perf" --no-children --sort dso,sym 2>/dev/null |
		grep -v '^#' | grep '%' | head -40
fi
