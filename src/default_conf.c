/*
 * wardend's built-in default configuration, used when no configuration
 * directory exists: one sshd jail on /var/log/auth.log (or, on a system
 * with journald only, on sshd's journal entries) with the shipped filter
 * etc/warden/filter.d/sshd.conf and its common.conf, embedded at build
 * time, banning through the native nftables action warden-nft (built in,
 * nft_builtin.c), with SQLite under /var/lib/warden/. The files are
 * written into a private temporary directory and read by conf_load()
 * like any other tree, so the built-in jail behaves exactly as the same
 * files on disk.
 *
 * Also the one place that decides the default configuration directory
 * and the socket and pid file paths that go with it, for wardend and the
 * warden client alike (default_conf_paths).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_client.h"
#include "wardend.h"
#include "xmalloc.h"

/*
 * The shipped filter files, embedded by the assembler (.incbin) from the
 * source tree and NUL-terminated. The paths are relative to the top of
 * the tree, where make runs the compiler; the Makefile makes this object
 * depend on both files, and test_jail.c checks that the embedded text
 * is the files' text.
 */
__asm__(".pushsection .rodata\n"
        ".globl default_conf_sshd_filter\n"
        ".type default_conf_sshd_filter, @object\n"
        "default_conf_sshd_filter:\n"
        ".incbin \"etc/warden/filter.d/sshd.conf\"\n"
        ".byte 0\n"
        ".size default_conf_sshd_filter, . - default_conf_sshd_filter\n"
        ".globl default_conf_common_filter\n"
        ".type default_conf_common_filter, @object\n"
        "default_conf_common_filter:\n"
        ".incbin \"etc/warden/filter.d/common.conf\"\n"
        ".byte 0\n"
        ".size default_conf_common_filter, . - "
        "default_conf_common_filter\n"
        ".popsection\n");

static const char warden_conf[] = "# wardend's built-in server options.\n"
                                  "[Definition]\n"
                                  "loglevel = INFO\n"
                                  "logtarget = /var/log/warden.log\n"
                                  "syslogsocket = auto\n"
                                  "socket = " CTL_DEFAULT_SOCKET "\n"
                                  "pidfile = " CTL_DEFAULT_PIDFILE "\n"
                                  "dbfile = /var/lib/warden/warden.sqlite3\n"
                                  "dbpurgeage = 1d\n"
                                  "dbmaxmatches = 10\n";

static const char jail_defaults[] = "[DEFAULT]\n"
                                    "bantime = 10m\n"
                                    "findtime = 10m\n"
                                    "maxretry = 5\n"
                                    "usedns = warn\n"
                                    "ignoreself = true\n"
                                    "\n"
                                    "[sshd]\n"
                                    "enabled = true\n"
                                    "filter = sshd\n"
                                    "port = ssh\n";

/* The action line of the jail: the native nftables action, or none. */
static const char action_nft[] =
    "action = " DEFAULT_CONF_ACTION "[port=ssh, protocol=tcp]\n";
static const char action_none[] = "action =\n";

struct dfile {
	const char *path;
	const char *text; /* NULL: jail.conf, made per call */
};

static const struct dfile files[] = {
    {"warden.conf", warden_conf},
    {"jail.conf", NULL},
    {"filter.d/sshd.conf", default_conf_sshd_filter},
    {"filter.d/common.conf", default_conf_common_filter},
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
default_conf_jail_text(bool journal, bool firewall)
{
	return xasprintf("# wardend's built-in jail: sshd failures in %s.\n"
	                 "%s%s%s",
	    journal ? "the journal" : DEFAULT_CONF_AUTHLOG, jail_defaults,
	    journal ? "backend = systemd\n"
	            : "backend = auto\nlogpath = " DEFAULT_CONF_AUTHLOG "\n",
	    firewall ? action_nft : action_none);
}

char *
default_conf_materialize(bool journal, bool firewall, char *err, size_t errlen)
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
		char *jail = files[i].text == NULL
		    ? default_conf_jail_text(journal, firewall)
		    : NULL;
		int rc = write_file(p, jail ? jail : files[i].text);

		free(jail);
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

const char *
default_conf_paths(const char *confdir, struct ctl_paths *out)
{
	if (confdir == NULL)
		confdir = WARDEND_DEFAULT_CONFDIR;
	/* a missing directory has no file set: the built-in paths */
	ctl_paths_resolve(confdir, out);
	return confdir;
}
