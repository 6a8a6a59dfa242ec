# Shared helpers for the sample recorders in this directory (sourced, bash).
#
# rec_begin NAME: must run inside `unshare -m --propagation private` (each
# recorder re-executes itself that way). Makes a private /dev with its own
# /dev/log, so the rsyslogd started here never touches the host's syslog
# socket, and writes every message twice: in the Debian 12 default layout
# (RSYSLOG_TraditionalFileFormat: "Nov 21 07:12:12 host prog[pid]: msg") to
# $REC/trad.log and in RFC 3339 (RSYSLOG_FileFormat, the Debian 13 default)
# to $REC/iso.log. rec_end stops what rec_begin and the recorder started
# (pids listed in $REC/pids) and removes $REC.

set -euo pipefail

rec_begin() {
	REC=$(mktemp -d "/tmp/warden-rec-$1.XXXXXX")
	export REC
	: >"$REC/pids"
	trap rec_end EXIT
	# Private /dev: the host's device nodes bound in, our own /dev/log.
	mkdir "$REC/olddev"
	mount --rbind /dev "$REC/olddev"
	mount -t tmpfs -o mode=0755 tmpfs /dev
	for n in null zero full random urandom tty; do
		touch "/dev/$n"
		mount --bind "$REC/olddev/$n" "/dev/$n"
	done
	mkdir /dev/pts /dev/shm
	mount --bind "$REC/olddev/pts" /dev/pts
	mount --bind "$REC/olddev/shm" /dev/shm
	ln -s pts/ptmx /dev/ptmx
	ln -s /proc/self/fd /dev/fd
	mkdir "$REC/rsyslog"
	cat >"$REC/rsyslog.conf" <<RS
module(load="imuxsock" SysSock.Name="/dev/log")
global(workDirectory="$REC/rsyslog")
*.* action(type="omfile" file="$REC/trad.log" template="RSYSLOG_TraditionalFileFormat")
*.* action(type="omfile" file="$REC/iso.log" template="RSYSLOG_FileFormat")
RS
	rsyslogd -n -f "$REC/rsyslog.conf" -i "$REC/rsyslog.pid" &
	echo $! >>"$REC/pids"
	for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
}

# rec_mark TEXT: a marker line in both logs, so the recorder can tell
# which lines one client action produced.
rec_mark() {
	logger -t warden-rec -- "---- $*"
	sleep 0.3
}

rec_end() {
	set +e
	local p
	if [ -n "${REC_STOP:-}" ]; then eval "$REC_STOP"; fi
	if [ -f "$REC/pids" ]; then
		tac "$REC/pids" | while read -r p; do
			kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
		done
	fi
	if [ -n "${REC_OUT:-}" ]; then
		mkdir -p "$REC_OUT"
		cp "$REC/trad.log" "$REC_OUT/trad.log" 2>/dev/null
		cp "$REC/iso.log" "$REC_OUT/iso.log" 2>/dev/null
	fi
	# The host's /dev is bound under $REC/olddev: detach it first, and
	# never let rm cross a mount point.
	umount -R -l "$REC/olddev" 2>/dev/null
	if mountpoint -q "$REC/olddev"; then
		echo "rec_end: $REC/olddev still mounted, not removing $REC" >&2
		return
	fi
	rm -rf --one-file-system "$REC"
}
