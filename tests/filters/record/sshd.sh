#!/usr/bin/env bash
# Records real OpenSSH log lines for tests/filters/sshd.
#
#   tests/filters/record/sshd.sh OUTDIR
#
# Runs as root. Starts a private rsyslogd (see lib.sh) and sshd on
# 127.0.0.1/::1 port 2299, then makes failed and successful logins with the
# real ssh client (sshpass), once with UsePAM yes and once with UsePAM no,
# plus pre-auth probes (a disconnect at the password prompt, a garbage
# banner, a bare TCP close, an unsupported key exchange). Each client
# uses its own 127.0.0.x source address so the lines can be told apart.
# Writes OUTDIR/trad.log and OUTDIR/iso.log; creates the user wdnrec and
# deletes it again; leaves no process behind.
# Needs: openssh-server openssh-client sshpass rsyslog netcat-openbsd.
set -euo pipefail
[ "${WARDEN_REC_NS:-}" = 1 ] || exec env WARDEN_REC_NS=1 \
	unshare -m --propagation private "$0" "$@"
here=$(cd "$(dirname "$0")" && pwd)
REC_OUT=$(realpath -m "${1:?usage: sshd.sh OUTDIR}")
. "$here/lib.sh"
rec_begin sshd
PORT=2299
USER_OK=wdnrec
PASS_OK='Rec-0k-pw'
REC_STOP='userdel -r wdnrec >/dev/null 2>&1'
useradd -m -s /bin/sh "$USER_OK"
echo "$USER_OK:$PASS_OK" | chpasswd
mkdir -p /run/sshd

start_sshd() { # start_sshd yes|no
	cat >"$REC/sshd_config" <<CF
Port $PORT
ListenAddress 127.0.0.1
ListenAddress ::1
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_rsa_key
UsePAM $1
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
MaxAuthTries 3
PidFile $REC/sshd.pid
SyslogFacility AUTH
LogLevel INFO
CF
	/usr/sbin/sshd -D -f "$REC/sshd_config" &
	SSHD=$!
	echo $SSHD >>"$REC/pids"
	sleep 0.5
}
stop_sshd() { kill "$SSHD"; wait "$SSHD" 2>/dev/null || true; }

# try SRC USER PASSWORD [ssh options...]: one login attempt.
try() {
	local src=$1 user=$2 pw=$3
	shift 3
	rec_mark "$src $user $*"
	local dst=127.0.0.1
	case $src in *:*) dst=::1 ;; esac
	timeout 20 sshpass -p "$pw" ssh -p $PORT -b "$src" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PubkeyAuthentication=no -o PreferredAuthentications=password \
		-o NumberOfPasswordPrompts=1 -o LogLevel=ERROR "$@" \
		"$user@$dst" true </dev/null >/dev/null 2>&1 || true
	sleep 0.3
}

# many SRC USER: five password prompts in one connection, all wrong.
many() {
	rec_mark "$1 $2 many"
	printf '#!/bin/sh\necho wrong-pw\n' >"$REC/askpass"
	chmod +x "$REC/askpass"
	SSH_ASKPASS="$REC/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 40 setsid ssh -p $PORT -b "$1" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PubkeyAuthentication=no -o PreferredAuthentications=password \
		-o NumberOfPasswordPrompts=5 -o LogLevel=ERROR \
		"$2@127.0.0.1" true </dev/null >/dev/null 2>&1 || true
	sleep 0.3
}

for pam in yes no; do
	start_sshd $pam
	n=$([ $pam = yes ] && echo 1 || echo 5)
	try 127.0.$n.11 "$USER_OK" wrong-pw
	try 127.0.$n.12 nosuchuser wrong-pw
	try 127.0.$n.13 "$USER_OK" "$PASS_OK"
	try 127.0.$n.14 root wrong-pw
	try 127.0.$n.15 'evil from 192.0.2.66' wrong-pw
	try ::1 "$USER_OK" wrong-pw
	# More wrong passwords than MaxAuthTries in one connection (sshpass
	# answers one prompt only, so the client asks an askpass program).
	many 127.0.$n.16 "$USER_OK"
	many 127.0.$n.17 nosuchuser
	# The client gives up at the password prompt.
	try 127.0.$n.18 "$USER_OK" x -o BatchMode=yes
	try 127.0.$n.19 nosuchuser x -o BatchMode=yes
	# An unsupported key exchange.
	try 127.0.$n.20 "$USER_OK" x -o KexAlgorithms=diffie-hellman-group1-sha1
	# A garbage banner, then a bare connect-and-close.
	rec_mark "127.0.$n.21 garbage banner"
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 nc -s 127.0.$n.21 127.0.0.1 $PORT >/dev/null 2>&1 || true
	sleep 0.3
	rec_mark "127.0.$n.22 connect and close"
	timeout 5 nc -z -s 127.0.$n.22 127.0.0.1 $PORT || true
	sleep 0.3
	rec_mark "127.0.$n.23 banner then close"
	printf 'SSH-2.0-probe\r\n' | timeout 5 nc -q 1 -s 127.0.$n.23 127.0.0.1 $PORT >/dev/null 2>&1 || true
	sleep 0.5
	stop_sshd
done
rec_mark done
