/*
 * dl_systemd, dl_nftnl: libsystemd and libnftnl are mapped only once
 * something needs them, a missing library is a clear error (the journal
 * source, the SYSTEMD-JOURNAL log target, the nftables action), and
 * sd_notify works without libsystemd.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "diag.h"
#include "dl_nftnl.h"
#include "dl_systemd.h"
#include "log.h"
#include "src_journal.h"
#include "tap.h"

/* True when /proc/self/maps names a file holding lib (e.g. "/libx.so"). */
static int
mapped(const char *lib)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, lib) != NULL)
			found = 1;
	fclose(f);
	return found;
}

static void
on_entry(void *arg, const struct src_journal_entry *e)
{
	(void)e;
	(void)arg;
}

static void
on_event(void *arg, const struct src_journal_event *ev)
{
	(void)ev;
	(void)arg;
}

/* src_journal_new() on the local journal; returns its first error text. */
static char *
journal_error(uv_loop_t *loop, struct src_journal **out)
{
	struct src_journal_params p;
	struct src_journal_opts o = {0};
	struct diags d = DIAGS_INIT;
	char *msg = NULL;

	src_journal_params_init(&p);
	o.params = &p;
	o.start = SRC_JOURNAL_START_TAIL;
	o.cb.entry = on_entry;
	o.cb.event = on_event;
	*out = src_journal_new(loop, &o, &d);
	if (d.n > 0)
		msg = strdup(d.v[0].msg);
	diags_cleanup(&d);
	src_journal_params_cleanup(&p);
	return msg;
}

/* Binds a datagram socket at sa (len bytes); returns the fd. */
static int
listen_dgram(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 2};

	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, len) != 0) {
		perror("bind");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
test_notify(void)
{
	char dir[] = "/tmp/test_dl_systemd.XXXXXX", path[128], buf[64];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ssize_t n;
	int fd;

	unsetenv("NOTIFY_SOCKET");
	is_int(dl_sd_notify("READY=1"), 0, "no NOTIFY_SOCKET: nothing sent");

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/notify", dir);
	memcpy(sa.sun_path, path, strlen(path) + 1); /* path: < 40 bytes */
	fd = listen_dgram(&sa, sizeof(sa));
	setenv("NOTIFY_SOCKET", path, 1);
	is_int(dl_sd_notify("READY=1"), 1, "path socket: sent");
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "READY=1", "path socket: systemd gets the state text");
	close(fd);
	unlink(path);
	is_int(dl_sd_notify("READY=1"), -ENOENT,
	    "path socket gone: the errno comes back");
	rmdir(dir);

	/* "@name": an abstract socket, as systemd --user may hand out */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
	    "warden-test-notify-%ld", (long)getpid());
	fd = listen_dgram(&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	        strlen(sa.sun_path + 1)));
	snprintf(path, sizeof(path), "@%s", sa.sun_path + 1);
	setenv("NOTIFY_SOCKET", path, 1);
	is_int(dl_sd_notify("STOPPING=1"), 1, "abstract socket: sent");
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "STOPPING=1", "abstract socket: the state text arrives");
	close(fd);

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	is_int(dl_sd_notify("READY=1"), -EINVAL,
	    "a NOTIFY_SOCKET neither absolute nor abstract is refused");
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	uv_loop_t loop;
	struct src_journal *sj;
	char err[600], *msg;

	uv_loop_init(&loop);
	is_int(
	    mapped("/libsystemd.so"), 0, "libsystemd is not mapped at start");

	test_notify();
	is_int(
	    mapped("/libsystemd.so"), 0, "sd_notify does not load libsystemd");

	/* a missing library: the journal source and the log target fail
	 * with the library's name and the package to install */
	dl_systemd_set_soname("libwarden-test-missing.so.0");
	msg = journal_error(&loop, &sj);
	ok(sj == NULL && msg != NULL &&
	        strstr(msg, "libwarden-test-missing.so.0") != NULL &&
	        strstr(msg, "libsystemd0") != NULL,
	    "journal source without the library: an error naming it (%s)",
	    msg ? msg : "none");
	free(msg);
	err[0] = '\0';
	is_int(wlog_set_target("SYSTEMD-JOURNAL", NULL, err, sizeof(err)), -1,
	    "SYSTEMD-JOURNAL target without the library is refused");
	ok(strstr(err, "libwarden-test-missing.so.0") != NULL,
	    "... with the library's name (%s)", err);
	ok(!dl_systemd_loaded(), "nothing counts as loaded");

	/* the real library: loaded on first use, then every call works */
	dl_systemd_set_soname(NULL);
	err[0] = '\0';
	is_int(
	    dl_systemd_load(err, sizeof(err)), 0, "libsystemd loads (%s)", err);
	is_int(mapped("/libsystemd.so"), 1, "... and is mapped only now");
	{
		sd_journal *j = NULL;

		is_int(dl_sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY), 0,
		    "sd_journal_open through the loaded pointer");
		ok(dl_sd_journal_get_fd(j) >= 0, "sd_journal_get_fd too");
		dl_sd_journal_close(j);
	}
	msg = journal_error(&loop, &sj);
	ok(sj != NULL && msg == NULL, "a journal source opens (%s)",
	    msg ? msg : "no error");
	free(msg);
	src_journal_free(sj);
	while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
	}
	uv_loop_close(&loop);
	is_int(wlog_set_target("SYSTEMD-JOURNAL", NULL, err, sizeof(err)), 0,
	    "the SYSTEMD-JOURNAL target works once loaded");
	wlog_set_target("STDERR", NULL, err, sizeof(err));

	/* libnftnl: nothing maps it before the nftables backend loads it */
	is_int(mapped("/libnftnl.so"), 0, "libnftnl is not mapped at start");
	dl_nftnl_set_soname("libwarden-test-missing-nftnl.so.11");
	is_int(dl_nftnl_load(err, sizeof(err)), -1,
	    "libnftnl missing: the load fails");
	ok(strstr(err, "libwarden-test-missing-nftnl.so.11") != NULL &&
	        strstr(err, "libnftnl11") != NULL,
	    "... with the library and the package to install (%s)", err);
	dl_nftnl_set_soname(NULL);
	err[0] = '\0';
	is_int(dl_nftnl_load(err, sizeof(err)), 0,
	    "a failed load is tried again: libnftnl loads (%s)", err);
	is_int(mapped("/libnftnl.so"), 1, "... and is mapped only now");
	{
		struct nftnl_chain *c = dl_nftnl_chain_alloc();

		ok(c != NULL, "nftnl_chain_alloc through the loaded pointer");
		dl_nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "input");
		is_str(dl_nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), "input",
		    "... and the object works");
		dl_nftnl_chain_free(c);
	}
	return done_testing();
}
