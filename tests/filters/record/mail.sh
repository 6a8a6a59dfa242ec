#!/usr/bin/env bash
# Records real Dovecot and Postfix log lines for tests/filters/{dovecot,
# postfix,postfix-sasl}.
#
#   tests/filters/record/mail.sh OUTDIR
#
# Runs as root. Starts a private rsyslogd (see lib.sh), a Dovecot with its
# own config (IMAP 2143, POP3 2110, submission 2587 on 127.0.0.1 and ::1;
# a passwd-file user plus PAM for system users) and a Postfix with its own
# config directory and queue under the temporary directory (smtpd on
# 2525, SASL through Dovecot's auth socket, not chrooted so it logs to our
# /dev/log). Then logs in with Python's imaplib/poplib/smtplib from a
# different 127.0.x.y per attempt (Dovecot delays repeated failures per
# source address). Writes OUTDIR/trad.log and OUTDIR/iso.log; creates the
# system user wdnmail and deletes it again; leaves no process behind.
# Needs: dovecot-imapd dovecot-pop3d dovecot-submissiond postfix rsyslog.
set -euo pipefail
[ "${WARDEN_REC_NS:-}" = 1 ] || exec env WARDEN_REC_NS=1 \
	unshare -m --propagation private "$0" "$@"
here=$(cd "$(dirname "$0")" && pwd)
REC_OUT=$(realpath -m "${1:?usage: mail.sh OUTDIR}")
. "$here/lib.sh"
rec_begin mail
chmod 0755 "$REC"
REC_STOP='postfix -c "$REC/postfix" stop >/dev/null 2>&1; doveadm -c "$REC/dovecot.conf" stop >/dev/null 2>&1; sleep 0.5; userdel -r wdnmail >/dev/null 2>&1'
useradd -m -s /usr/sbin/nologin wdnmail
echo 'wdnmail:Sys-pw-0k' | chpasswd

# ---- Dovecot
mkdir -p "$REC/dovecot-run" "$REC/mail"
chown dovecot:dovecot "$REC/mail"
# mailuser's password is "Mail-pw-0k".
echo "mailuser:{PLAIN}Mail-pw-0k::::::" >"$REC/passwd"
cat >"$REC/dovecot.conf" <<CF
protocols = imap pop3 submission
listen = 127.0.0.1, ::1
base_dir = $REC/dovecot-run
state_dir = $REC/dovecot-run/state
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$REC/mail/%u
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
submission_relay_host = 127.0.0.1
submission_relay_port = 2525
hostname = mx.test.invalid
passdb {
  driver = passwd-file
  args = $REC/passwd
}
passdb {
  driver = pam
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$REC/mail/%u
}
service imap-login {
  inet_listener imap {
    port = 2143
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 2110
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 2587
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
CF
dovecot -c "$REC/dovecot.conf"

# ---- Postfix
P=$REC/postfix
mkdir -p "$P" "$REC/pfq" "$REC/pfdata"
chown postfix:postfix "$REC/pfdata"
cat >"$P/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $REC/pfq
data_directory = $REC/pfdata
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.invalid
mydomain = test.invalid
myorigin = test.invalid
mydestination = test.invalid, localhost
mynetworks = 127.0.0.1/32
inet_interfaces = loopback-only
inet_protocols = all
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $REC/dovecot-run/auth-postfix
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject_unauth_destination
default_transport = discard
local_transport = discard
maillog_file =
CF
# master.cf: smtpd on port 2525, and no service chrooted (chroot column n),
# so every daemon reaches our /dev/log.
awk '/^[a-z0-9]/ && NF >= 8 { if ($1 == "smtp" && $2 == "inet") $1 = "2525"; $5 = "n" } { print }' \
	/etc/postfix/master.cf >"$P/master.cf"
postfix -c "$P" check >/dev/null 2>&1 || true
postfix -c "$P" start
sleep 1

PY=/usr/bin/python3
client() { # client SCRIPT-ARGS...
	$PY "$here/mailclient.py" "$@" || true
	sleep 0.5
}

rec_mark "dovecot"
client imap 127.0.3.11 mailuser wrong-pw
client imap 127.0.3.12 nosuchuser wrong-pw
client imap 127.0.3.13 mailuser Mail-pw-0k
client imap 127.0.3.14 wdnmail wrong-pw
client imapplain 127.0.3.15 'x rip=192.0.2.66' wrong-pw
client imap ::1 mailuser wrong-pw
client imap3 127.0.3.16 mailuser wrong-pw
client imapnone 127.0.3.17
client pop3 127.0.3.18 mailuser wrong-pw
client pop3 127.0.3.19 nosuchuser wrong-pw
client pop3 127.0.3.20 mailuser Mail-pw-0k
client submission 127.0.3.21 mailuser wrong-pw
client submission 127.0.3.22 nosuchuser wrong-pw
# The same failures with auth_verbose = yes (the auth process names the
# passdb and the reason).
echo "auth_verbose = yes" >>"$REC/dovecot.conf"
doveadm -c "$REC/dovecot.conf" reload
sleep 1
rec_mark "dovecot auth_verbose"
client imap 127.0.3.31 mailuser wrong-pw
client imap 127.0.3.32 nosuchuser wrong-pw
client imap 127.0.3.33 wdnmail wrong-pw
rec_mark "postfix"
client smtpauth 127.0.4.11 mailuser wrong-pw PLAIN
client smtpauth 127.0.4.12 nosuchuser wrong-pw LOGIN
client smtpauth 127.0.0.1 mailuser wrong-pw PLAIN
client smtpauth ::1 mailuser wrong-pw LOGIN
client smtpauth 127.0.4.13 mailuser Mail-pw-0k PLAIN
client rcpt 127.0.4.14 'nosuchuser@test.invalid' mx.example
client rcpt 127.0.4.15 'victim@example.com' mx.example
client rcpt 127.0.4.16 'victim@[192.0.2.66]' 'unknown[192.0.2.99]'
client rcpt 127.0.0.1 'wdnmail@test.invalid' localhost
client abort 127.0.4.17
rec_mark done
