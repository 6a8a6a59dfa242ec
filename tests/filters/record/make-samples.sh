#!/usr/bin/env bash
# Rebuilds the sample logs of tests/filters/ from fresh recordings.
#
#   tests/filters/record/make-samples.sh RECDIR
#
# RECDIR holds the output of the recorders (RECDIR/sshd from sshd.sh,
# RECDIR/mail from mail.sh, RECDIR/web from web.sh). For each filter the
# recorded lines (minus the recorders' own marker lines) and the hand-made
# lines of built/<filter>.txt are annotated by annotate.py with the current
# filters. Review the diff before committing: a changed verdict must be a
# deliberate one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
R=$(realpath "${1:?usage: make-samples.sh RECDIR}")
OUT=$(dirname "$here")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
noise='warden-rec|rsyslogd|useradd|userdel|chpasswd|groupadd'

# block NAME "HEADER" FILE [GREP-ARGS...]: a block file from recorded lines.
block() {
	local name=$1 header=$2 file=$3
	shift 3
	{
		printf '%s\n' "$header" | sed 's/^/# /'
		grep -Ev "$noise" "$file" | { if [ $# -gt 0 ]; then grep "$@"; else cat; fi; } || true
	} >"$T/$name"
}
built() { cp "$here/built/$1.txt" "$T/$2"; }
annotate() { "$here/annotate.py" "$OUT/$1" "$1" "$2" "${@:3}"; }

# ---- sshd
sed -n '/Server listening/,$p' "$R/sshd/trad.log" | awk '/Received signal 15/ { n++ } n == 0' >"$T/pam"
awk '/Received signal 15/ { n++ } n >= 1' "$R/sshd/trad.log" >"$T/nopam"
block s1 "Recorded: OpenSSH 9.2p1 (Debian 12) with UsePAM yes, logged through
rsyslog 8.2302 (Debian 12's RSYSLOG_TraditionalFileFormat), clients: ssh 9.2p1
with sshpass or askpass, nc; tests/filters/record/sshd.sh." "$T/pam"
block s2 "Recorded: the same sshd with UsePAM no." "$T/nopam"
block s3 "Recorded: the same sshd and clients, logged by rsyslog in RFC 3339
(RSYSLOG_FileFormat, the default of Debian 13)." "$R/sshd/iso.log" -E '127\.0\.1\.1[1256] |::1 '
built sshd s4
annotate sshd normal,aggressive,ddos,extra "$T"/s1 "$T"/s2 "$T"/s3 "$T"/s4
