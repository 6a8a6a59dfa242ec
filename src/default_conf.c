/*
 * wardend's built-in default configuration, used when no configuration
 * directory exists: one sshd jail on /var/log/auth.log with Warden's own
 * sshd filter (OpenSSH 9.x failures, written for Warden, not fail2ban's
 * text), bans logged without a firewall action until the nftables backend
 * exists, SQLite under /var/lib/warden/. Without /var/log/auth.log (a
 * system with journald only) the jail reads sshd's journal entries
 * instead. The files are written into a private temporary directory and
 * read by conf_load() like any other tree, so the built-in jail behaves
 * exactly as the same files on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wardend.h"
#include "xmalloc.h"

static const char warden_conf[] = "# wardend's built-in server options.\n"
                                  "[Definition]\n"
                                  "loglevel = INFO\n"
                                  "logtarget = /var/log/warden.log\n"
                                  "syslogsocket = auto\n"
                                  "socket = /run/warden/warden.sock\n"
                                  "pidfile = /run/warden/wardend.pid\n"
                                  "dbfile = /var/lib/warden/warden.sqlite3\n"
                                  "dbpurgeage = 1d\n"
                                  "dbmaxmatches = 10\n";

static const char jail_conf[] =
    "# wardend's built-in jail: sshd failures in the system log.\n"
    "[DEFAULT]\n"
    "bantime = 10m\n"
    "findtime = 10m\n"
    "maxretry = 5\n"
    "backend = auto\n"
    "usedns = warn\n"
    "ignoreself = true\n"
    "\n"
    "[sshd]\n"
    "enabled = true\n"
    "filter = sshd\n"
    "port = ssh\n"
    "logpath = /var/log/auth.log\n";

/* The same jail on the journal (no /var/log/auth.log). */
static const char jail_conf_journal[] =
    "# wardend's built-in jail: sshd failures in the journal.\n"
    "[DEFAULT]\n"
    "bantime = 10m\n"
    "findtime = 10m\n"
    "maxretry = 5\n"
    "usedns = warn\n"
    "ignoreself = true\n"
    "\n"
    "[sshd]\n"
    "enabled = true\n"
    "filter = sshd\n"
    "port = ssh\n"
    "backend = systemd\n";

/*
 * Warden's sshd filter. The prefix takes the syslog/journal tag
 * ("host sshd[123]: ", "sshd-session[9]: ") and an "error: " level; each
 * failregex is one OpenSSH 9.x message. <HOST> is the client address.
 */
const char default_conf_sshd_filter[] =
    "# Warden's own filter for OpenSSH 9.x authentication failures.\n"
    "[Definition]\n"
    "prefregex = ^\\s*(?:\\S+\\s+)?sshd(?:-session|-auth)?(?:\\[\\d+\\])?:"
    "\\s+(?:error:\\s+|fatal:\\s+)?<F-CONTENT>.+</F-CONTENT>$\n"
    "failregex = ^Failed (?:password|publickey|keyboard-interactive/pam|"
    "none) for (?:invalid user )?<F-USER>\\S*</F-USER> from <HOST> port "
    "\\d+\n"
    "            ^Invalid user <F-USER>\\S*</F-USER> from <HOST>"
    "(?: port \\d+)?\\s*$\n"
    "            ^pam_unix\\(sshd:auth\\): authentication failure;.*\\s"
    "rhost=<HOST>(?:\\s+user=<F-USER>\\S*</F-USER>)?\\s*$\n"
    "            ^maximum authentication attempts exceeded for "
    "(?:invalid user )?<F-USER>\\S*</F-USER> from <HOST> port \\d+\n"
    "            ^Connection closed by (?:authenticating|invalid) user "
    "<F-USER>\\S*</F-USER> <HOST> port \\d+ \\[preauth\\]\\s*$\n"
    "ignoreregex =\n"
    "maxlines = 1\n"
    "journalmatch = _SYSTEMD_UNIT=ssh.service + _SYSTEMD_UNIT=sshd.service "
    "+ _COMM=sshd + _COMM=sshd-session\n";

struct dfile {
	const char *path;
	const char *text;
};

static const struct dfile files[] = {
    {"warden.conf", warden_conf},
    {"jail.conf", jail_conf},
    {"filter.d/sshd.conf", default_conf_sshd_filter},
};

#define NFILES (sizeof(files) / sizeof(files[0]))

static int
write_file(const char *path, const char *text)
{
	size_t n = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	while (off < n) {
		ssize_t k = write(fd, text + off, n - off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)k;
	}
	return close(fd);
}

char *
default_conf_materialize(bool journal, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	char *dir, *sub = NULL;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	dir = xasprintf("%s/wardend-builtin.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		snprintf(
		    err, errlen, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	sub = xasprintf("%s/filter.d", dir);
	if (mkdir(sub, 0700) != 0)
		goto fail;
	for (size_t i = 0; i < NFILES; i++) {
		char *p = xasprintf("%s/%s", dir, files[i].path);
		const char *text = files[i].text;
		int rc;

		if (journal && text == jail_conf)
			text = jail_conf_journal;
		rc = write_file(p, text);

		free(p);
		if (rc != 0)
			goto fail;
	}
	free(sub);
	return dir;
fail:
	snprintf(err, errlen,
	    "cannot write the built-in configuration in %s: %s", dir,
	    strerror(errno));
	free(sub);
	default_conf_remove(dir);
	free(dir);
	return NULL;
}

void
default_conf_remove(const char *dir)
{
	if (dir == NULL)
		return;
	for (size_t i = 0; i < NFILES; i++) {
		char *p = xasprintf("%s/%s", dir, files[i].path);

		unlink(p);
		free(p);
	}
	{
		char *sub = xasprintf("%s/filter.d", dir);

		rmdir(sub);
		free(sub);
	}
	rmdir(dir);
}
