#!/usr/bin/env bash
# Benchmark: Warden's shipped filters (etc/warden/filter.d) against
# fail2ban's equivalent filters, in `warden regex` and `fail2ban-regex`.
# Not a timed test: it prints a table and fails only when a tool does not
# run.
#
#   bench/filters.sh [--lines N] [--authlog N] [--quick] [--filter NAME...]
#                    [--warden PATH] [--keep]
#
#   --lines N      lines per filter log (default 200000): the lines of the
#                  filter's sample in tests/filters/ repeated to N lines
#   --authlog N    lines of the generated auth.log (bench/gen_authlog.py)
#                  for the sshd filters (default 500000; 0 skips it)
#   --quick        --lines 20000 --authlog 50000
#   --filter NAME  only these Warden filters
#   --warden PATH  warden binary (default $WARDEN, else $BUILD/warden)
#   --keep         keep the generated logs in bench/out/
#
# Each row: lines/s of Warden's filter in `warden regex` and of fail2ban's
# filter of the same service in fail2ban-regex on the same file, their
# ratio (Warden's lines/s divided by fail2ban's: above 1 means Warden is
# faster), and both tools' matched counts (they differ where the filters
# differ on purpose; see each filter's comments). Filters fail2ban does
# not have are timed alone ("-").
#
# fail2ban-regex and its filters are the installed ones when present, else
# the extracted package from tests/fetch-fail2ban (run with /usr/bin/python3).
set -u
cd "$(dirname "$0")/.."

lines=200000
authlines=500000
keep=0
only=()
warden=${WARDEN:-$PWD/${BUILD:-build}/warden}
while [ $# -gt 0 ]; do
	case $1 in
	--lines) lines=$2; shift 2 ;;
	--authlog) authlines=$2; shift 2 ;;
	--quick) lines=20000 authlines=50000; shift ;;
	--filter)
		shift
		while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do only+=("$1"); shift; done
		;;
	--warden) warden=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	*) echo "filters.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

# Warden filter -> fail2ban's filter for the same service ("" = none).
declare -A F2B=(
	[sshd]=sshd
	[dovecot]=dovecot
	[postfix]=postfix
	[postfix-sasl]='postfix[mode=auth]'
	[apache-auth]=apache-auth
	[apache-botsearch]=apache-botsearch
	[nginx-http-auth]=nginx-http-auth
	[nginx-botsearch]=nginx-botsearch
	[roundcube-auth]=roundcube-auth
	[recidive]=recidive
	[qmail-smtp]=qmail
	[wordpress]=
	[smartermail]=
	[vpopmail]=
	[qmailadmin]=
)

f2b_cmd=()
if command -v fail2ban-regex >/dev/null 2>&1 && [ -f /etc/fail2ban/filter.d/sshd.conf ]; then
	f2b_cmd=(fail2ban-regex)
	f2b_conf=/etc/fail2ban
else
	root=$(tests/fetch-fail2ban) || { echo "filters.sh: cannot fetch fail2ban" >&2; exit 1; }
	f2b_cmd=(env "PYTHONPATH=$root/usr/lib/python3/dist-packages"
		/usr/bin/python3 "$root/usr/bin/fail2ban-regex")
	f2b_conf=$root/etc/fail2ban
fi
if [ ! -x "$warden" ]; then
	echo "filters.sh: warden binary not found: $warden" >&2
	exit 1
fi

out=bench/out
mkdir -p "$out"
tmpfiles=()
cleanup() { [ $keep -eq 1 ] || rm -f "${tmpfiles[@]}" "$out"/filters-*.txt; }
trap cleanup EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# timed OUTFILE CMD...: sets secs and matched (empty when it failed).
timed() {
	local outf=$1 a b
	shift
	a=$(now)
	"$@" --print-no-missed --print-no-ignored >"$outf" 2>&1
	rc=$?
	b=$(now)
	secs=$(calc "$b - $a")
	matched=$(sed -n 's/^Lines: [0-9]* lines, [0-9]* ignored, \([0-9]*\) matched.*/\1/p' "$outf" | head -1)
	[ $rc -eq 0 ] || matched=
}

# repeat SAMPLE N OUT: the sample's log lines (annotations and comments
# dropped), repeated to N lines.
repeat() {
	awk -v n="$2" '!/^#/ && NF { l[c++] = $0 } END { if (!c) exit 1; for (i = 0; i < n; i++) print l[i % c] }' "$1" >"$3"
}

printf '%-18s %-22s %9s %12s %12s %7s %9s %9s\n' filter "fail2ban filter" lines \
	"warden l/s" "f2b l/s" ratio "w match" "f2b match"
status=0
bench_one() { # bench_one LABEL WARDEN-SPEC F2B-SPEC LOG N
	local label=$1 wspec=$2 fspec=$3 log=$4 n=$5 ws wm fs fm
	timed "$out/filters-w.txt" nice "$warden" regex -c etc/warden "$log" "$wspec"
	ws=$secs wm=$matched
	if [ -z "$wm" ]; then
		echo "FAIL: warden regex $wspec did not run:" >&2
		tail -3 "$out/filters-w.txt" >&2
		status=1
		return
	fi
	if [ -n "$fspec" ]; then
		timed "$out/filters-f.txt" nice "${f2b_cmd[@]}" -c "$f2b_conf" "$log" "$fspec"
		fs=$secs fm=$matched
		if [ -z "$fm" ]; then
			echo "FAIL: fail2ban-regex $fspec did not run:" >&2
			tail -3 "$out/filters-f.txt" >&2
			status=1
			return
		fi
		printf '%-18s %-22s %9d %12.0f %12.0f %6.1fx %9s %9s\n' "$label" "$fspec" "$n" \
			"$(calc "$n / $ws")" "$(calc "$n / $fs")" "$(calc "$fs / $ws")" "$wm" "$fm"
	else
		printf '%-18s %-22s %9d %12.0f %12s %7s %9s %9s\n' "$label" - "$n" \
			"$(calc "$n / $ws")" - - "$wm" -
	fi
}

for f in etc/warden/filter.d/*.conf; do
	name=$(basename "$f" .conf)
	case $name in common | *-common) continue ;; esac
	if [ ${#only[@]} -gt 0 ]; then
		case " ${only[*]} " in *" $name "*) ;; *) continue ;; esac
	fi
	sample=tests/filters/$name
	[ -f "$sample" ] || { echo "filters.sh: no sample for $name" >&2; status=1; continue; }
	log=$out/filters-$name-$lines.log
	tmpfiles+=("$log")
	repeat "$sample" "$lines" "$log" || { echo "filters.sh: empty sample $sample" >&2; status=1; continue; }
	bench_one "$name" "$name" "${F2B[$name]-}" "$log" "$lines"
done

if [ "$authlines" -gt 0 ] && { [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" sshd "* ]]; }; then
	log=$out/filters-authlog-$authlines.log
	tmpfiles+=("$log")
	python3 bench/gen_authlog.py --lines "$authlines" --out "$log" || exit 1
	for m in normal aggressive ddos; do
		bench_one "sshd/auth.log" "sshd[mode=$m]" "sshd[mode=$m]" "$log" "$authlines"
	done
fi
exit $status
