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
noise='warden-rec: |rsyslogd|useradd|userdel|chpasswd|groupadd'

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

# ---- mail: dovecot, postfix, postfix-sasl
MAILHDR="Recorded: Dovecot 2.3.19.1 and Postfix 3.7.11 (Debian 12), Postfix with
Dovecot SASL, logged through rsyslog 8.2302 (RSYSLOG_TraditionalFileFormat);
clients: Python 3.11 imaplib/poplib/smtplib; tests/filters/record/mail.sh.
Dovecot's passdbs: passwd-file, then PAM; auth_verbose=yes from the
\"dovecot auth_verbose\" marker on."
block d1 "$MAILHDR" "$R/mail/trad.log" -E 'dovecot|auth:|auth-worker'
block d2 "Recorded: the same, logged in RFC 3339 (RSYSLOG_FileFormat)." \
	"$R/mail/iso.log" -E 'imap-login.*rip=127\.0\.3\.1[12],|Password mismatch'
built dovecot d3
annotate dovecot normal,aggressive "$T"/d1 "$T"/d2 "$T"/d3
block p1 "$MAILHDR" "$R/mail/trad.log" -E 'postfix/'
built postfix p2
annotate postfix normal,rbl,aggressive "$T"/p1 "$T"/p2
built postfix-sasl p3
annotate postfix-sasl normal,aggressive "$T"/p1 "$T"/p3

# ---- web
WEBHDR="Recorded: nginx 1.22.1 and Apache 2.4 (Debian 12), clients: curl;
tests/filters/record/web.sh."
block n1 "$WEBHDR
nginx error log." "$R/web/nginx-error.log"
block n2 "$WEBHDR
nginx access log (combined)." "$R/web/nginx-access.log"
block a1 "$WEBHDR
Apache error log." "$R/web/apache-error.log"
block a2 "$WEBHDR
Apache access log (combined)." "$R/web/apache-access.log"
built nginx-http-auth n3
annotate nginx-http-auth - "$T"/n1 "$T"/n3
built nginx-botsearch n4
annotate nginx-botsearch - "$T"/n2 "$T"/n1 "$T"/n4
built apache-auth a3
annotate apache-auth - "$T"/a1 "$T"/a3
built apache-botsearch a4
annotate apache-botsearch - "$T"/a2 "$T"/a1 "$T"/a4
built wordpress w1
annotate wordpress normal,aggressive "$T"/n2 "$T"/w1

# ---- formats not packaged by Debian: built lines only
built roundcube-auth r1
annotate roundcube-auth - "$T"/r1
built smartermail m1
annotate smartermail normal,web,aggressive "$T"/m1
built qmail-smtp q1
annotate qmail-smtp normal,aggressive "$T"/q1
built vpopmail v1
annotate vpopmail - "$T"/v1
built qmailadmin v2
annotate qmailadmin - "$T"/v2
built recidive x1
annotate recidive - "$T"/x1
