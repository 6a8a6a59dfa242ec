/*
 * The blocking control-socket client (see ctl_client.h): a non-blocking
 * Unix socket driven with poll() against one monotonic deadline per call,
 * so a stuck daemon can never hang the CLI past its timeout. Also resolves
 * the default socket and pid file paths from the server's config files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_client.h"
#include "diag.h"
#include "ini.h"
#include "strv.h"
#include "xmalloc.h"

struct ctl_client {
	int fd;
};

static void set_err(struct ctl_client_error *e, enum ctl_client_status st,
    int errnum, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_err(struct ctl_client_error *e, enum ctl_client_status st, int errnum,
    const char *fmt, ...)
{
	va_list ap;

	e->status = st;
	e->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline from a timeout (< 0: none, returned as -1). */
static int64_t
deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timeout, -1
 * error (errno). */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int ms = -1, rc;

		if (deadline >= 0) {
			int64_t left = deadline - mono_ms();

			if (left <= 0)
				return 0;
			ms = left > 60000 ? 60000 : (int)left;
		}
		rc = poll(&p, 1, ms);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

int
ctl_client_connect(const char *path, int timeout_ms, struct ctl_client **out,
    struct ctl_client_error *e)
{
	struct sockaddr_un sa;
	int64_t deadline = deadline_of(timeout_ms);
	int fd, rc;

	*out = NULL;
	memset(e, 0, sizeof(*e));
	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_err(e, CTL_CLIENT_ECONNECT, ENAMETOOLONG,
		    "socket path too long: %s", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		set_err(e, CTL_CLIENT_ECONNECT, errno, "socket: %s",
		    strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	/* A Unix socket whose backlog is full says EAGAIN: wait for room. */
	while (rc != 0 && (errno == EAGAIN || errno == EINTR)) {
		int w = wait_fd(fd, POLLOUT, deadline);

		if (w == 0) {
			close(fd);
			set_err(e, CTL_CLIENT_ETIMEOUT, 0, "timed out");
			return -1;
		}
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (rc != 0 && errno == EISCONN)
			rc = 0;
	}
	if (rc != 0) {
		int err = errno;

		close(fd);
		set_err(e, CTL_CLIENT_ECONNECT, err, "[Errno %d] %s", err,
		    strerror(err));
		return -1;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->fd = fd;
	return 0;
}

void
ctl_client_free(struct ctl_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

static int
send_all(int fd, const uint8_t *p, size_t n, int64_t deadline,
    struct ctl_client_error *e)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			int w = wait_fd(fd, POLLOUT, deadline);

			if (w > 0)
				continue;
			if (w == 0) {
				set_err(e, CTL_CLIENT_ETIMEOUT, 0, "timed out");
				return -1;
			}
		}
		set_err(e, CTL_CLIENT_EIO, errno, "[Errno %d] %s", errno,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads exactly n bytes. */
static int
recv_all(
    int fd, uint8_t *p, size_t n, int64_t deadline, struct ctl_client_error *e)
{
	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);

		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0) {
			set_err(e, CTL_CLIENT_EIO, 0,
			    "the server closed the connection");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			int w = wait_fd(fd, POLLIN, deadline);

			if (w > 0)
				continue;
			if (w == 0) {
				set_err(e, CTL_CLIENT_ETIMEOUT, 0, "timed out");
				return -1;
			}
		}
		set_err(e, CTL_CLIENT_EIO, errno, "[Errno %d] %s", errno,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
ctl_client_call(struct ctl_client *c, int argc, char *const *argv,
    int timeout_ms, struct ctl_response *resp, struct ctl_client_error *e)
{
	int64_t deadline = deadline_of(timeout_ms);
	uint8_t hdr[CTL_HDR_LEN], *frame, *payload = NULL;
	char err[256];
	size_t len, plen;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	memset(resp, 0, sizeof(*resp));
	frame = ctl_request_encode(
	    argc, argv, CTL_MAX_REQUEST, &len, err, sizeof(err));
	if (frame == NULL) {
		set_err(e, CTL_CLIENT_EPROTO, 0, "%s", err);
		return -1;
	}
	if (send_all(c->fd, frame, len, deadline, e) != 0 ||
	    recv_all(c->fd, hdr, sizeof(hdr), deadline, e) != 0)
		goto out;
	if (ctl_frame_parse(hdr, sizeof(hdr), CTL_MAX_RESPONSE, &plen) ==
	    CTL_FRAME_TOOBIG) {
		set_err(e, CTL_CLIENT_EPROTO, 0,
		    "reply too large (%zu bytes, max %u)", plen,
		    CTL_MAX_RESPONSE);
		goto out;
	}
	payload = xmalloc(plen + 1);
	if (recv_all(c->fd, payload, plen, deadline, e) != 0)
		goto out;
	if (ctl_response_decode(
	        (const char *)payload, plen, resp, err, sizeof(err)) != 0) {
		set_err(e, CTL_CLIENT_EPROTO, 0, "%s", err);
		goto out;
	}
	rc = 0;
out:
	free(frame);
	free(payload);
	return rc;
}

int
ctl_call(const char *path, int argc, char *const *argv, int timeout_ms,
    struct ctl_response *resp, struct ctl_client_error *e)
{
	struct ctl_client *c;
	int64_t deadline = deadline_of(timeout_ms);
	int rc, left;

	memset(resp, 0, sizeof(*resp));
	if (ctl_client_connect(path, timeout_ms, &c, e) != 0)
		return -1;
	left = deadline < 0 ? -1 : (int)(deadline - mono_ms());
	if (deadline >= 0 && left < 0)
		left = 0;
	rc = ctl_client_call(c, argc, argv, left, resp, e);
	ctl_client_free(c);
	return rc;
}

const char *
ctl_default_confdir(void)
{
	struct stat st;

	if (stat("/etc/warden", &st) == 0 && S_ISDIR(st.st_mode))
		return "/etc/warden";
	return "/etc/fail2ban";
}

static bool
path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends dir's entries ending in ext (not hidden), sorted, to files. */
static void
add_dir_files(struct strv *files, const char *dir, const char *ext)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct strv names = STRV_INIT;
	size_t el = strlen(ext);

	if (d == NULL)
		return;
	for (de = readdir(d); de != NULL; de = readdir(d)) {
		size_t nl = strlen(de->d_name);

		if (de->d_name[0] == '.' || nl <= el ||
		    strcmp(de->d_name + nl - el, ext) != 0)
			continue;
		strv_add(&names, de->d_name);
	}
	closedir(d);
	if (names.n > 0)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i < names.n; i++)
		strv_take(files, xasprintf("%s/%s", dir, names.v[i]));
	strv_cleanup(&names);
}

/* Last value of key in [Definition], else in [DEFAULT], over files. */
static void
lookup(struct ini_file **f, size_t n, const char *key, char **out)
{
	const char *def = NULL, *dflt = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct ini_section *s;
		const struct ini_opt *o;

		if (f[i] == NULL)
			continue;
		s = ini_find_section(f[i], "Definition");
		o = s ? ini_find_opt(s, key) : NULL;
		if (o != NULL)
			def = o->value;
		o = ini_find_opt(&f[i]->defaults, key);
		if (o != NULL)
			dflt = o->value;
	}
	if (def == NULL)
		def = dflt;
	if (def != NULL && def[0] != '\0') {
		free(*out);
		*out = xstrdup(def);
	}
}

void
ctl_paths_resolve(const char *confdir, struct ctl_paths *out)
{
	const char *name = "fail2ban";
	struct strv files = STRV_INIT;
	struct ini_file **parsed;
	struct diags d = DIAGS_INIT;
	size_t nparsed = 0;
	char *base;

	out->socket = NULL;
	out->pidfile = NULL;
	base = xasprintf("%s/warden", confdir);
	{
		char *a = xasprintf("%s.conf", base),
		     *b = xasprintf("%s.local", base),
		     *c = xasprintf("%s.d", base);

		if (path_exists(a) || path_exists(b) || path_exists(c))
			name = "warden";
		free(a);
		free(b);
		free(c);
	}
	free(base);
	base = xasprintf("%s/%s", confdir, name);
	{
		char *dd = xasprintf("%s.d", base);

		strv_take(&files, xasprintf("%s.conf", base));
		add_dir_files(&files, dd, ".conf");
		strv_take(&files, xasprintf("%s.local", base));
		add_dir_files(&files, dd, ".local");
		free(dd);
	}
	free(base);
	parsed = xcalloc(files.n + 1, sizeof(*parsed));
	for (size_t i = 0; i < files.n; i++) {
		struct ini_file *f = NULL;
		enum ini_status st =
		    ini_load(files.v[i], 1024 * 1024, 64 * 1024, &f, &d);

		if ((st == INI_OK || st == INI_SYNTAX) && f != NULL) {
			parsed[i] = f;
			nparsed++;
		} else {
			ini_free(f);
		}
	}
	if (nparsed == 0) {
		out->socket = xstrdup(CTL_DEFAULT_SOCKET);
		out->pidfile = xstrdup(CTL_DEFAULT_PIDFILE);
		out->source = xstrdup("builtin");
	} else {
		/* Whose file set was read decides the defaults: Warden's
		 * own paths for warden.conf, fail2ban's for fail2ban.conf. */
		bool w = strcmp(name, "warden") == 0;

		out->socket = xstrdup(w ? CTL_DEFAULT_SOCKET : CTL_F2B_SOCKET);
		out->pidfile =
		    xstrdup(w ? CTL_DEFAULT_PIDFILE : CTL_F2B_PIDFILE);
		out->source = xstrdup(name);
		lookup(parsed, files.n, "socket", &out->socket);
		lookup(parsed, files.n, "pidfile", &out->pidfile);
	}
	for (size_t i = 0; i < files.n; i++)
		ini_free(parsed[i]);
	free(parsed);
	strv_cleanup(&files);
	diags_cleanup(&d);
}

void
ctl_paths_cleanup(struct ctl_paths *p)
{
	free(p->socket);
	free(p->pidfile);
	free(p->source);
	p->socket = p->pidfile = p->source = NULL;
}
