/*
 * Tests of the report socket (report.h): the message grammar (every
 * malformed shape, sizes, injection attempts), the allowlist, and a real
 * socket served by an in-process libuv loop: file permissions and kernel
 * credentials with senders running as other users (forked children,
 * setpriv and `warden report`), forged credentials, malformed, oversized
 * and descriptor-carrying datagrams, rate limits with an injected clock,
 * the bounded sender table, stale sockets, rate-limited warnings, and a
 * flood of 100,000 reports from four senders during which every datagram
 * is counted and a timer keeps firing. The parts that need root skip
 * without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "conf.h"
#include "log.h"
#include "report.h"
#include "tap.h"

static uv_loop_t *loop;
static char tmpdir[64];

/* ---- parser ----------------------------------------------------------- */

/* Parses a NUL-terminated message. */
static enum report_err
P(const char *s, struct report_msg *m)
{
	return report_parse(s, strlen(s), m);
}

static void
test_parse_valid(void)
{
	struct report_msg m;
	char buf[REPORT_MAX_MSG + 1], ab[ADDR_STRLEN];
	char user[REPORT_MAX_USER + 1];
	char svc[REPORT_MAX_SERVICE + 1];
	int n;

	is_int(P("fail imap 192.0.2.7 user=alice", &m), REPORT_OK_PARSED,
	    "fail with user");
	ok(m.verb == REPORT_FAIL && strcmp(m.service, "imap") == 0 &&
	        m.has_user && strcmp(m.user, "alice") == 0 && m.user_len == 5 &&
	        strcmp(addr_format(&m.addr, ab), "192.0.2.7") == 0,
	    "fields of 'fail imap 192.0.2.7 user=alice'");
	is_int(P("fail imap 192.0.2.7", &m), REPORT_OK_PARSED,
	    "fail without user");
	ok(!m.has_user && m.user[0] == '\0', "no user");
	is_int(P("ok smtp 2001:db8::7 user=bob\n", &m), REPORT_OK_PARSED,
	    "ok, IPv6, final LF");
	ok(m.verb == REPORT_OK &&
	        strcmp(addr_format(&m.addr, ab), "2001:db8::7") == 0,
	    "ok verb and IPv6 address");
	is_int(P("fail a [2001:db8::1] user=x", &m), REPORT_OK_PARSED,
	    "bracketed IPv6");
	is_int(P("fail a ::ffff:192.0.2.9", &m), REPORT_OK_PARSED,
	    "IPv4-mapped IPv6");
	is_str(addr_format(&m.addr, ab), "192.0.2.9",
	    "IPv4-mapped normalised to IPv4");
	is_int(P("fail web-1.x_y 192.0.2.7 user=j\xc3\xb6rg@ex.org", &m),
	    REPORT_OK_PARSED, "service charset, UTF-8 login with @");
	is_str(m.user, "j\xc3\xb6rg@ex.org", "login kept byte for byte");
	is_int(P("fail imap 192.0.2.7 user=a=b\"'`$(x)", &m), REPORT_OK_PARSED,
	    "shell-special bytes are a valid login");
	/* the longest fields */
	memset(svc, 's', REPORT_MAX_SERVICE);
	svc[REPORT_MAX_SERVICE] = '\0';
	memset(user, 'u', REPORT_MAX_USER);
	user[REPORT_MAX_USER] = '\0';
	n = snprintf(buf, sizeof(buf), "fail %s 192.0.2.7 user=%s", svc, user);
	is_int(report_parse(buf, (size_t)n, &m), REPORT_OK_PARSED,
	    "64-byte service and 256-byte login");
	is_int(m.user_len, REPORT_MAX_USER, "256-byte login kept");
	/* canonical text */
	P("fail a [2001:db8::1] user=x", &m);
	n = report_format(&m, buf, sizeof(buf));
	is_str(n > 0 ? buf : NULL, "fail a 2001:db8::1 user=x",
	    "report_format re-renders the address");
	ok(report_format(&m, buf, 10) == -1, "report_format: too small");
}

struct bad {
	const char *s;
	size_t n; /* 0: strlen */
	enum report_err want;
	const char *what;
};

static void
test_parse_malformed(void)
{
	static const struct bad v[] = {
	    {"", 0, REPORT_ERR_EMPTY, "empty"},
	    {"\n", 0, REPORT_ERR_EMPTY, "only LF"},
	    {"fail", 0, REPORT_ERR_FIELDS, "one field"},
	    {"fail imap", 0, REPORT_ERR_FIELDS, "two fields"},
	    {"fail imap 192.0.2.7 user=a extra", 0, REPORT_ERR_FIELDS,
	        "five fields"},
	    {"fail imap 192.0.2.7 user=a from 1.2.3.4", 0, REPORT_ERR_FIELDS,
	        "injection: user 'a from 1.2.3.4'"},
	    {"fail imap 192.0.2.7 user=a user=b", 0, REPORT_ERR_FIELDS,
	        "user= twice"},
	    {"fail  imap 192.0.2.7", 0, REPORT_ERR_SPACING, "two spaces"},
	    {" fail imap 192.0.2.7", 0, REPORT_ERR_SPACING, "leading space"},
	    {"fail imap 192.0.2.7 ", 0, REPORT_ERR_SPACING, "trailing space"},
	    {"fail imap 192.0.2.7 \n", 0, REPORT_ERR_SPACING,
	        "trailing space before LF"},
	    {"fail\timap\t192.0.2.7", 0, REPORT_ERR_CONTROL, "tabs"},
	    {"fail imap 192.0.2.7\r\n", 0, REPORT_ERR_CONTROL, "CRLF"},
	    {"fail imap 192.0.2.7\n\n", 0, REPORT_ERR_CONTROL, "two LF"},
	    {"fail imap 192.0.2.7 user=a\nfail imap 1.2.3.4", 0,
	        REPORT_ERR_CONTROL, "injection: a second line"},
	    {"fail imap 192.0.2.7 user=a\0b", 28, REPORT_ERR_CONTROL,
	        "NUL inside"},
	    {"fail imap 192.0.2.7 user=a\x1b[2J", 0, REPORT_ERR_CONTROL,
	        "escape sequence"},
	    {"fail imap 192.0.2.7 user=a\x7f", 0, REPORT_ERR_CONTROL, "DEL"},
	    {"FAIL imap 192.0.2.7", 0, REPORT_ERR_VERB, "verb in capitals"},
	    {"failed imap 192.0.2.7", 0, REPORT_ERR_VERB, "unknown verb"},
	    {"fai imap 192.0.2.7", 0, REPORT_ERR_VERB, "short verb"},
	    {"fail -imap 192.0.2.7", 0, REPORT_ERR_SERVICE,
	        "service starts with -"},
	    {"fail .x 192.0.2.7", 0, REPORT_ERR_SERVICE,
	        "service starts with ."},
	    {"fail im/ap 192.0.2.7", 0, REPORT_ERR_SERVICE, "service with /"},
	    {"fail im\xc3\xa4p 192.0.2.7", 0, REPORT_ERR_SERVICE,
	        "service with UTF-8"},
	    {"fail imap 192.0.2.300", 0, REPORT_ERR_ADDRESS, "octet > 255"},
	    {"fail imap 010.0.2.1", 0, REPORT_ERR_ADDRESS, "leading zero"},
	    {"fail imap 192.0.2.0/24", 0, REPORT_ERR_ADDRESS, "a network"},
	    {"fail imap example.com", 0, REPORT_ERR_ADDRESS, "a host name"},
	    {"fail imap 2001:db8::1%eth0", 0, REPORT_ERR_ADDRESS, "zone id"},
	    {"fail imap 192.0.2.7:25", 0, REPORT_ERR_ADDRESS, "with a port"},
	    {"fail imap 192.0.2.7 login=a", 0, REPORT_ERR_FIELD,
	        "unknown field"},
	    {"fail imap 192.0.2.7 User=a", 0, REPORT_ERR_FIELD,
	        "User= in capitals"},
	    {"fail imap 192.0.2.7 user", 0, REPORT_ERR_FIELD, "user without ="},
	    {"fail imap 192.0.2.7 user=", 0, REPORT_ERR_USER, "empty login"},
	    {"fail imap 192.0.2.7 user=a\xc2\xa0"
	     "b",
	        0, REPORT_ERR_USER, "NBSP in login"},
	    {"fail imap 192.0.2.7 user=a\xe2\x80\xae"
	     "b",
	        0, REPORT_ERR_USER, "RLO (bidi override) in login"},
	    {"fail imap 192.0.2.7 user=a\xe2\x80\x8b"
	     "b",
	        0, REPORT_ERR_USER, "zero-width space in login"},
	    {"fail imap 192.0.2.7 user=a\xc2\x85"
	     "b",
	        0, REPORT_ERR_USER, "NEL (C1) in login"},
	    {"fail imap 192.0.2.7 user=a\xe2\x80\xa8"
	     "b",
	        0, REPORT_ERR_USER, "LINE SEPARATOR in login"},
	    {"fail imap 192.0.2.7 user=a\xe3\x80\x80"
	     "b",
	        0, REPORT_ERR_USER, "ideographic space in login"},
	    {"fail imap 192.0.2.7 user=a\xef\xbb\xbf", 0, REPORT_ERR_USER,
	        "BOM in login"},
	    {"fail imap 192.0.2.7 user=\xff", 0, REPORT_ERR_USER,
	        "invalid UTF-8 byte"},
	    {"fail imap 192.0.2.7 user=\xc3", 0, REPORT_ERR_USER,
	        "truncated UTF-8"},
	    {"fail imap 192.0.2.7 user=\xc0\xaf", 0, REPORT_ERR_USER,
	        "overlong UTF-8"},
	    {"fail imap 192.0.2.7 user=\xed\xa0\x80", 0, REPORT_ERR_USER,
	        "UTF-16 surrogate"},
	    {"fail imap 192.0.2.7 user=\xf4\x90\x80\x80", 0, REPORT_ERR_USER,
	        "above U+10FFFF"},
	    {"ok imap 192.0.2.7", 0, REPORT_ERR_NOUSER, "ok without user"},
	};
	struct report_msg m;
	char big[REPORT_MAX_MSG + 2];
	char user[300];
	int n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = v[i].n ? v[i].n : strlen(v[i].s);
		enum report_err e = report_parse(v[i].s, len, &m);

		is_int(e, v[i].want, "malformed: %s (%s)", v[i].what,
		    report_strerror(v[i].want));
	}
	memset(user, 's', sizeof(user));
	n = snprintf(big, sizeof(big), "fail %.*s 192.0.2.7",
	    REPORT_MAX_SERVICE + 1, user);
	is_int(report_parse(big, (size_t)n, &m), REPORT_ERR_SERVICE,
	    "65-byte service");
	memset(user, 'u', sizeof(user));
	n = snprintf(big, sizeof(big), "fail imap 192.0.2.7 user=%.*s",
	    REPORT_MAX_USER + 1, user);
	is_int(report_parse(big, (size_t)n, &m), REPORT_ERR_USER,
	    "257-byte login");
	memset(big, 'a', sizeof(big));
	is_int(report_parse(big, REPORT_MAX_MSG + 1, &m), REPORT_ERR_TOOLONG,
	    "513 bytes: too long");
	memcpy(big, "fail imap 192.0.2.7 user=", 25);
	is_int(report_parse(big, REPORT_MAX_MSG, &m), REPORT_ERR_USER,
	    "512 bytes: not too long, but the login is");
	ok(strcmp(report_strerror(REPORT_ERR_NERRS), "unknown error") == 0 &&
	        strcmp(report_strerror((enum report_err) - 1),
	            "unknown error") == 0,
	    "report_strerror out of range");
	ok(report_service_valid("a", 1) && !report_service_valid("", 0) &&
	        !report_service_valid("_a", 2),
	    "report_service_valid");
	ok(report_login_valid("x", 1) && !report_login_valid("a b", 3) &&
	        !report_login_valid("", 0),
	    "report_login_valid");
}

/* ---- allowlist -------------------------------------------------------- */

static void
test_acl(void)
{
	struct report_acl a = REPORT_ACL_INIT, b;
	char err[200] = "";
	struct group *gr;
	struct passwd *pw;

	ok(report_acl_empty(&a) && !report_acl_allows(&a, 0, 0),
	    "empty allowlist allows nobody (not even root)");
	is_int(report_acl_add_users(
	           &a, "root, 1001  nobody\t1001", err, sizeof(err)),
	    0, "users by name and number, commas and spaces");
	is_int(a.nuids, 3, "duplicates dropped");
	ok(report_acl_allows(&a, 0, 99999) && report_acl_allows(&a, 1001, 7) &&
	        report_acl_allows(&a, 65534, 7) &&
	        !report_acl_allows(&a, 1002, 7),
	    "uids allowed, others not");
	is_int(report_acl_add_users(&a, "nosuchuser-x 1003", err, sizeof(err)),
	    -1, "unknown user is an error");
	is_str(err, "unknown user 'nosuchuser-x'", "the error names it");
	ok(report_acl_allows(&a, 1003, 7), "the known entries are added");
	is_int(report_acl_add_groups(&a, "nogroup,4242", err, sizeof(err)), 0,
	    "groups by name and number");
	ok(report_acl_allows(&a, 5555, 65534) &&
	        report_acl_allows(&a, 5555, 4242) &&
	        !report_acl_allows(&a, 5555, 4243),
	    "gids allowed, others not");
	is_int(report_acl_add_groups(&a, "nosuchgroup-x", err, sizeof(err)), -1,
	    "unknown group is an error");
	is_str(err, "unknown group 'nosuchgroup-x'", "the error names it");
	report_acl_copy(&b, &a);
	ok(b.nuids == a.nuids && b.ngids == a.ngids &&
	        report_acl_allows(&b, 1001, 1),
	    "copy");
	report_acl_cleanup(&a);
	report_acl_cleanup(&b);
	ok(report_acl_empty(&a), "cleanup empties");
	/* members listed in /etc/group are allowed by uid */
	setgrent();
	while ((gr = getgrent()) != NULL)
		if (gr->gr_mem[0] != NULL && getpwnam(gr->gr_mem[0]) != NULL)
			break;
	if (gr == NULL) {
		endgrent();
		ok(1, "group members # skip no group with members here");
		return;
	}
	{
		char *name = strdup(gr->gr_name), *mem = strdup(gr->gr_mem[0]);

		endgrent();
		pw = getpwnam(mem);
		is_int(report_acl_add_groups(&a, name, err, sizeof(err)), 0,
		    "group %s", name);
		ok(pw && report_acl_allows(&a, pw->pw_uid, 4000000),
		    "member %s of group %s allowed by uid", mem, name);
		free(name);
		free(mem);
		report_acl_cleanup(&a);
	}
}

/* ---- the socket ------------------------------------------------------- */

#define MAXKEEP 64

/* What the handler saw. */
struct sink {
	uint64_t calls;
	uint64_t fails, oks;
	size_t nkept;
	char kept[MAXKEEP][REPORT_MAX_MSG + 1];
	struct report_peer peers[MAXKEEP];
	double times[MAXKEEP];
	unsigned spin_us;              /* busy time per report (flood) */
	struct report_server *free_me; /* freed from inside the handler */
};

static struct sink sink;

static void
spin(unsigned us)
{
	uint64_t end = uv_hrtime() + (uint64_t)us * 1000;

	while (uv_hrtime() < end) {
	}
}

static bool
handler(void *arg, const struct report_msg *m, const struct report_peer *p,
    double now)
{
	struct sink *k = arg;

	k->calls++;
	if (m->verb == REPORT_OK)
		k->oks++;
	else
		k->fails++;
	if (k->nkept < MAXKEEP) {
		report_format(m, k->kept[k->nkept], sizeof(k->kept[0]));
		k->peers[k->nkept] = *p;
		k->times[k->nkept] = now;
		k->nkept++;
	}
	if (k->spin_us)
		spin(k->spin_us);
	if (k->free_me) {
		report_server_free(k->free_me);
		k->free_me = NULL;
	}
	return strcmp(m->service, "nojail") != 0;
}

static double fake_wall = 1700000000.0;
static uint64_t fake_ms = 1000;

static double
test_now(void)
{
	return fake_wall;
}

static uint64_t
test_clock(void *arg)
{
	(void)arg;
	return fake_ms;
}

/* Warnings of this module seen through the log hook. */
static int nwarn;
static char lastwarn[512];

static void
log_hook(void *ctx, int level, const char *logger, const char *msg)
{
	(void)ctx;
	if (level >= WLOG_WARNING && strcmp(logger, REPORT_LOGGER) == 0) {
		nwarn++;
		snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
	}
}

static uint64_t
dropped(const struct report_stats *st)
{
	return st->dropped_denied + st->dropped_rate + st->dropped_oversized +
	    st->dropped_malformed + st->dropped_unrouted;
}

static bool
balanced(const struct report_stats *st)
{
	return st->received == st->delivered + dropped(st) &&
	    st->delivered == st->delivered_fail + st->delivered_ok;
}

static struct report_stats
stats(struct report_server *s)
{
	struct report_stats st;

	report_server_stats(s, &st);
	return st;
}

/* Runs the loop until s has read want datagrams (or 5 s pass). */
static void
pump(struct report_server *s, uint64_t want)
{
	uint64_t end = uv_hrtime() + 5000000000ull;

	for (;;) {
		uv_run(loop, UV_RUN_NOWAIT);
		if (stats(s).received >= want || uv_hrtime() > end)
			break;
		usleep(500);
	}
}

/* Lets the loop settle (nothing more expected). */
static void
settle(void)
{
	for (int i = 0; i < 20; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(500);
	}
}

static void
sun_of(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n >= sizeof(sa->sun_path))
		n = sizeof(sa->sun_path) - 1;
	memcpy(sa->sun_path, path, n);
}

/*
 * sendmsg() that never blocks the test: the receiver is this process's
 * own loop, so a full queue (net.unix.max_dgram_qlen is small) is
 * drained by running the loop, for at most 5 s. Returns 0 or errno.
 */
static int
send_pumped(int fd, const struct msghdr *mh)
{
	uint64_t end = uv_hrtime() + 5000000000ull;

	for (;;) {
		if (sendmsg(fd, mh, MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != EAGAIN || uv_hrtime() > end)
			return errno;
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(100);
	}
}

/* Sends n bytes as one datagram; returns 0 or errno. */
static int
send_raw(const char *path, const void *buf, size_t n)
{
	struct sockaddr_un sa;
	struct iovec iov = {(void *)buf, n};
	struct msghdr mh = {0};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	sun_of(&sa, path);
	mh.msg_name = &sa;
	mh.msg_namelen = sizeof(sa);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	rc = send_pumped(fd, &mh);
	close(fd);
	return rc;
}

static int
send_str(const char *path, const char *s)
{
	return send_raw(path, s, strlen(s));
}

/*
 * Sends s with explicit SCM_CREDENTIALS (pid, uid, gid) and, if fd >= 0,
 * that descriptor as SCM_RIGHTS. Returns 0 or errno.
 */
static int
send_cmsg(const char *path, const char *s, pid_t pid, uid_t uid, gid_t gid,
    int pass_fd)
{
	struct sockaddr_un sa;
	union {
		char b[CMSG_SPACE(sizeof(struct ucred)) +
		    CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {(void *)s, strlen(s)};
	struct msghdr mh = {0};
	struct cmsghdr *c;
	struct ucred uc = {pid, uid, gid};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	memset(&cm, 0, sizeof(cm));
	sun_of(&sa, path);
	mh.msg_name = &sa;
	mh.msg_namelen = sizeof(sa);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = CMSG_SPACE(sizeof(uc)) +
	    (pass_fd >= 0 ? CMSG_SPACE(sizeof(int)) : 0);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(uc));
	memcpy(CMSG_DATA(c), &uc, sizeof(uc));
	if (pass_fd >= 0) {
		c = CMSG_NXTHDR(&mh, c);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	rc = send_pumped(fd, &mh);
	close(fd);
	return rc;
}

static int
count_fds(void)
{
	int n = 0;
	uv_fs_t req;
	uv_dirent_t ent;

	if (uv_fs_scandir(NULL, &req, "/proc/self/fd", 0, NULL) < 0)
		return -1;
	while (uv_fs_scandir_next(&req, &ent) != UV_EOF)
		n++;
	uv_fs_req_cleanup(&req);
	return n;
}

static long
rss_kib(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (fp == NULL)
		return -1;
	if (fscanf(fp, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(fp);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static struct report_server *
start(const char *path, const struct report_opts *o0)
{
	struct report_opts o = {0};
	struct report_server *s = NULL;
	char err[256] = "";

	if (o0)
		o = *o0;
	o.path = path;
	if (o.now == NULL)
		o.now = test_now;
	if (report_server_new(loop, &o, handler, &sink, &s, err, sizeof(err)) !=
	    0)
		printf("# report_server_new: %s\n", err);
	return s;
}

static void
stop(struct report_server *s)
{
	report_server_free(s);
	settle();
}

static void
reset_sink(void)
{
	memset(&sink, 0, sizeof(sink));
}

/* Runs body(path) in a child with the ids given; returns its exit
 * status (0..255) or -1. The parent runs the loop meanwhile. */
static int
as_user(uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
    int (*body)(const char *), const char *path)
{
	pid_t pid = fork();
	uint64_t end = uv_hrtime() + 10000000000ull;

	if (pid == 0) {
		if (setgroups((size_t)ngroups, groups) != 0 ||
		    setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			_exit(99);
		_exit(body(path));
	}
	while (uv_hrtime() < end) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(500);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Child bodies: the errno of the send (0 = sent). */
static int
body_send(const char *path)
{
	return send_str(path, "fail imap 192.0.2.7 user=alice");
}

static int
body_forge_root(const char *path)
{
	return send_cmsg(path, "fail imap 192.0.2.8", getpid(), 0, 0, -1);
}

static int
body_forge_pid(const char *path)
{
	return send_cmsg(
	    path, "fail imap 192.0.2.8", 1, getuid(), getgid(), -1);
}

/* Runs argv (a program path first) and returns its exit status, or -1. */
static int
run_prog(char *const argv[])
{
	pid_t pid = fork();
	uint64_t end = uv_hrtime() + 10000000000ull;

	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);

		if (nul >= 0) {
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (uv_hrtime() < end) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(500);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

#define GROUP_SOCK  4242 /* the socket file's group */
#define GROUP_ALLOW 4243 /* in reportgroups */
#define USER_ALLOW  20001
#define NOBODY      65534

static void
test_permissions(void)
{
	char dir[128], path[160];
	struct report_acl acl = REPORT_ACL_INIT;
	struct report_opts o = {0};
	struct report_server *s;
	struct stat st;
	struct report_stats st0, st1;
	char err[128];
	const gid_t sockgrp[1] = {GROUP_SOCK};
	const char *warden = getenv("WARDEN");

	if (geteuid() != 0) {
		ok(1, "permissions # skip not root");
		return;
	}
	/* a directory others may traverse; the socket's own is created */
	snprintf(dir, sizeof(dir), "%s/perm", tmpdir);
	mkdir(dir, 0755);
	chmod(dir, 0755); /* the umask is wardend's 077 */
	snprintf(path, sizeof(path), "%s/run/report.sock", dir);
	report_acl_add_users(&acl, "20001", err, sizeof(err));
	report_acl_add_groups(&acl, "4243", err, sizeof(err));
	o.acl = &acl;
	o.has_group = true;
	o.group = GROUP_SOCK;
	reset_sink();
	s = start(path, &o);
	report_acl_cleanup(&acl); /* the server has its copy */
	ok(s != NULL, "server started in a missing directory");
	if (s == NULL)
		return;
	ok(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	        (st.st_mode & 07777) == 0660 && st.st_gid == GROUP_SOCK &&
	        st.st_uid == 0,
	    "socket is root:4242 0660");
	{
		char d2[160];

		snprintf(d2, sizeof(d2), "%s/run", dir);
		ok(stat(d2, &st) == 0 && (st.st_mode & 07777) == 0755,
		    "its directory was created 0755");
	}

	st0 = stats(s);
	is_int(as_user(NOBODY, NOBODY, NULL, 0, body_send, path), EACCES,
	    "nobody outside the socket's group cannot send (EACCES)");
	settle();
	st1 = stats(s);
	is_int(st1.received, st0.received, "... and nothing arrived");

	is_int(as_user(NOBODY, NOBODY, sockgrp, 1, body_send, path), 0,
	    "nobody in the socket's group can send");
	pump(s, st1.received + 1);
	st0 = stats(s);
	is_int(st0.dropped_denied, 1,
	    "... but is not in reportusers/reportgroups: dropped, counted");
	is_int(sink.calls, 0, "... and never reaches the handler");
	ok(strstr(lastwarn, "uid 65534 gid 65534") != NULL &&
	        strstr(lastwarn, "not in reportusers/reportgroups") != NULL,
	    "the warning names the sender: %s", lastwarn);

	is_int(as_user(USER_ALLOW, NOBODY, sockgrp, 1, body_send, path), 0,
	    "uid 20001 (in reportusers) sends");
	pump(s, st0.received + 1);
	ok(sink.calls == 1 && sink.peers[0].uid == USER_ALLOW &&
	        sink.peers[0].gid == NOBODY && sink.peers[0].pid > 0,
	    "... accepted, with its kernel credentials");
	is_str(sink.kept[0], "fail imap 192.0.2.7 user=alice",
	    "... the report as sent");
	is_dbl(sink.times[0], fake_wall, "... at the injected wall clock");

	is_int(as_user(NOBODY, NOBODY, sockgrp, 1, body_forge_root, path),
	    EPERM, "nobody cannot forge uid 0 in SCM_CREDENTIALS (EPERM)");
	is_int(as_user(NOBODY, NOBODY, sockgrp, 1, body_forge_pid, path), EPERM,
	    "nobody cannot forge another pid (EPERM)");

	/* end to end: setpriv + warden report, gid in reportgroups */
	if (warden == NULL || access(warden, X_OK) != 0 ||
	    access("/usr/bin/setpriv", X_OK) != 0) {
		ok(1, "warden report via setpriv # skip no $WARDEN/setpriv");
	} else {
		char *argv[] = {"/usr/bin/setpriv", "--reuid=65534",
		    "--regid=4243", "--groups=4242", "--", (char *)warden,
		    "report", "ok", "imap", "2001:db8::9", "user=bob", "-S",
		    path, NULL};
		char *argv2[] = {"/usr/bin/setpriv", "--reuid=65534",
		    "--regid=65534", "--clear-groups", "--", (char *)warden,
		    "report", "ok", "imap", "2001:db8::9", "user=bob", "-S",
		    path, NULL};
		uint64_t r0 = stats(s).received;

		is_int(run_prog(argv), 0,
		    "setpriv (uid 65534, gid 4243) warden report ok ...");
		pump(s, r0 + 1);
		ok(sink.calls == 2 && sink.peers[1].uid == NOBODY &&
		        sink.peers[1].gid == GROUP_ALLOW,
		    "... accepted: gid in reportgroups");
		is_str(sink.kept[1], "ok imap 2001:db8::9 user=bob",
		    "... the report warden sent");
		is_int(run_prog(argv2), 1,
		    "warden report as nobody outside the group: exit 1");
	}
	{
		struct report_stats fin = stats(s);

		ok(balanced(&fin), "received == delivered + dropped");
	}
	stop(s);
	ok(lstat(path, &st) != 0 && errno == ENOENT,
	    "the socket file is removed at free");
}

static void
test_bad_datagrams(void)
{
	char path[160], big[REPORT_MAX_MSG + 64];
	struct report_server *s;
	struct report_stats st;
	int fds0, rc, pipefd[2];

	snprintf(path, sizeof(path), "%s/bad.sock", tmpdir);
	reset_sink();
	nwarn = 0;
	s = start(path, NULL); /* root (the test) is always allowed */
	ok(s != NULL, "server for bad datagrams");
	if (s == NULL)
		return;
	if (geteuid() != 0) {
		/* the daemon's own uid is allowed too */
	}
	send_raw(path, "", 0);
	send_str(path, "fail");
	send_str(path, "fail imap 192.0.2.7 user=a from 1.2.3.4");
	send_str(path, "fail imap 192.0.2.7 user=a\nfail imap 1.2.3.4");
	send_raw(path, "fail imap 192.0.2.7 user=a\0b", 28);
	memset(big, 'a', sizeof(big));
	send_raw(path, big, REPORT_MAX_MSG + 1);  /* oversized */
	send_raw(path, big, sizeof(big));         /* oversized */
	send_raw(path, big, REPORT_MAX_MSG);      /* malformed, not oversized */
	send_str(path, "fail nojail 192.0.2.7");  /* unrouted */
	send_str(path, "fail imap 192.0.2.70\n"); /* valid */
	pump(s, 10);
	st = stats(s);
	is_int(st.received, 10, "10 datagrams read");
	is_int(st.dropped_malformed, 6,
	    "6 malformed (empty, fields, LF, NUL, "
	    "512 bytes of junk)");
	is_int(st.dropped_oversized, 2, "2 oversized (513 and 576 bytes)");
	is_int(st.dropped_unrouted, 1, "1 for a service no jail receives");
	is_int(st.delivered, 1, "1 delivered");
	is_str(sink.kept[1], "fail imap 192.0.2.70", "the valid one");
	ok(balanced(&st), "received == delivered + dropped");
	/* rate-limited warnings: one per kind per interval */
	is_int(nwarn, 3,
	    "3 warnings (malformed, oversized, unrouted), the rest "
	    "suppressed");
	fake_wall += REPORT_LOG_INTERVAL + 1;
	send_str(path, "bogus");
	pump(s, 11);
	is_int(nwarn, 4, "after the interval a new warning ...");
	ok(strstr(lastwarn, "(5 more suppressed)") != NULL &&
	        strstr(lastwarn, "'bogus'") != NULL,
	    "... says how many were suppressed: %s", lastwarn);

	/* a descriptor passed along never stays open in the daemon */
	fds0 = count_fds();
	if (pipe(pipefd) != 0)
		pipefd[0] = pipefd[1] = -1;
	rc = send_cmsg(path, "fail imap 192.0.2.71", getpid(), getuid(),
	    getgid(), pipefd[0]);
	close(pipefd[0]);
	close(pipefd[1]);
	if (rc == 0)
		pump(s, 12);
	else
		settle();
	st = stats(s);
	ok(rc == EPERM ||
	        (rc == 0 && st.dropped_malformed == 8 && st.fds_closed == 1),
	    "SCM_RIGHTS refused by the kernel (SO_PASSRIGHTS) or "
	    "received, closed and dropped (rc %d, closed %llu)",
	    rc, (unsigned long long)st.fds_closed);
	is_int(count_fds(), fds0, "no descriptor leaked");
	is_int(sink.calls, 2, "... and not delivered");

	/* freeing the server from inside the handler */
	sink.free_me = s;
	send_str(path, "fail imap 192.0.2.72");
	send_str(path, "fail imap 192.0.2.73");
	send_str(path, "fail imap 192.0.2.74");
	settle();
	is_int(sink.calls, 3, "handler freed the server: nothing read after");
	ok(access(path, F_OK) != 0, "... and its socket file is gone");
}

static void
test_rate_limits(void)
{
	char path[160];
	struct report_acl acl = REPORT_ACL_INIT;
	struct report_opts o = {0};
	struct report_server *s;
	struct report_stats st;
	char err[64];
	int sent = 0;

	if (geteuid() != 0) {
		ok(1, "rate limits # skip not root (forged credentials)");
		return;
	}
	snprintf(path, sizeof(path), "%s/rate.sock", tmpdir);
	report_acl_add_groups(&acl, "4243", err, sizeof(err));
	o.acl = &acl;
	o.clock_ms = test_clock;
	o.sender_rate = 2; /* per second */
	o.sender_burst = 5;
	o.global_rate = -1; /* unlimited */
	o.max_senders = 16;
	fake_ms = 1000;
	reset_sink();
	s = start(path, &o);
	ok(s != NULL, "server with a frozen rate clock");
	if (s == NULL)
		goto out;
	for (int i = 0; i < 8; i++)
		sent += send_cmsg(path, "fail imap 192.0.2.7", getpid(),
		            USER_ALLOW, GROUP_ALLOW, -1) == 0;
	pump(s, 8);
	st = stats(s);
	ok(sent == 8 && st.delivered == 5 && st.dropped_rate == 3,
	    "burst 5: 5 of 8 delivered, 3 dropped for rate (%llu/%llu)",
	    (unsigned long long)st.delivered,
	    (unsigned long long)st.dropped_rate);
	fake_ms += 1000; /* 2 tokens */
	for (int i = 0; i < 3; i++)
		send_cmsg(path, "fail imap 192.0.2.7", getpid(), USER_ALLOW,
		    GROUP_ALLOW, -1);
	pump(s, 11);
	st = stats(s);
	ok(st.delivered == 7 && st.dropped_rate == 4,
	    "1 s later at 2/s: 2 more delivered, 1 dropped");
	send_cmsg(path, "fail imap 192.0.2.7", getpid(), USER_ALLOW + 1,
	    GROUP_ALLOW, -1);
	pump(s, 12);
	is_int(stats(s).delivered, 8, "another uid has its own bucket");
	send_str(path, "fail imap 192.0.2.7");
	pump(s, 13);
	is_int(stats(s).delivered, 9, "root has its own bucket too");
	/* many uids: the table stays at max_senders */
	for (unsigned u = 0; u < 100; u++)
		send_cmsg(path, "fail imap 192.0.2.7", getpid(), 30000 + u,
		    GROUP_ALLOW, -1);
	pump(s, 113);
	st = stats(s);
	is_int(st.senders, 16, "sender table capped at max_senders");
	is_int(st.senders_evicted, 100 + 3 - 16,
	    "least recently seen senders evicted");
	is_int(st.delivered, 109, "each new uid starts with a full bucket");
	ok(balanced(&st), "received == delivered + dropped");
	/* global limit, reconfigured on the fly */
	o.sender_rate = -1;
	o.global_rate = 1;
	o.global_burst = 3;
	report_server_configure(s, &acl, &o);
	for (int i = 0; i < 5; i++)
		send_str(path, "fail imap 192.0.2.7");
	pump(s, 118);
	st = stats(s);
	is_int(st.delivered, 112, "global burst 3 after reconfigure");
	is_int(st.senders, 0, "reconfigure empties the sender table");
	/* an empty allowlist after reconfigure: only root/self */
	report_server_configure(s, NULL, NULL);
	send_cmsg(
	    path, "fail imap 192.0.2.7", getpid(), USER_ALLOW, GROUP_ALLOW, -1);
	send_str(path, "fail imap 192.0.2.7");
	pump(s, 120);
	st = stats(s);
	ok(st.delivered == 113 && st.dropped_denied == 1,
	    "allowlist replaced: uid 20001 refused, root accepted");
	stop(s);
out:
	report_acl_cleanup(&acl);
}

static void
test_stale(void)
{
	char path[160], err[256];
	struct report_opts o = {0};
	struct report_server *s = NULL;
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/stale.sock", tmpdir);
	sun_of(&sa, path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ok(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	    "a socket file bound by someone else");
	o.path = path;
	o.now = test_now;
	is_int(
	    report_server_new(loop, &o, handler, &sink, &s, err, sizeof(err)),
	    -1, "refused while that process reads it");
	ok(strstr(err, "another process receives reports there") != NULL,
	    "error: %s", err);
	close(fd); /* now stale */
	is_int(
	    report_server_new(loop, &o, handler, &sink, &s, err, sizeof(err)),
	    0, "a stale socket file is replaced");
	stop(s);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	o.force = true;
	is_int(
	    report_server_new(loop, &o, handler, &sink, &s, err, sizeof(err)),
	    0, "force replaces a live one");
	close(fd);
	/* a successor's socket is not unlinked by free */
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	stop(s);
	ok(lstat(path, &st) == 0, "free leaves a successor's socket alone");
	close(fd);
	unlink(path);
	o.force = false;
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	is_int(
	    report_server_new(loop, &o, handler, &sink, &s, err, sizeof(err)),
	    -1, "a regular file at the path is an error");
	ok(strstr(err, "is not a socket") != NULL && lstat(path, &st) == 0 &&
	        S_ISREG(st.st_mode),
	    "... and is left alone: %s", err);
	unlink(path);
	{
		char d2[160], p2[200];

		snprintf(d2, sizeof(d2), "%s/closed", tmpdir);
		mkdir(d2, 0700);
		snprintf(p2, sizeof(p2), "%s/r.sock", d2);
		nwarn = 0;
		o.path = p2;
		is_int(report_server_new(
		           loop, &o, handler, &sink, &s, err, sizeof(err)),
		    0, "a socket in an existing 0700 directory ...");
		ok(nwarn == 1 &&
		        strstr(lastwarn,
		            "(mode 0700) lets only its "
		            "owner through") != NULL,
		    "... is made, with a warning: %s", lastwarn);
		stop(s);
		rmdir(d2);
	}
	o.path = "relative.sock";
	is_int(
	    report_server_new(loop, &o, handler, &sink, &s, err, sizeof(err)),
	    -1, "a relative path is an error");
}

/* ---- configuration (conf_*.c) ----------------------------------------- */

static void
write_conf(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fp = fopen(path, "w");
	if (fp == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
}

static const char *
broken_error(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nbroken; i++)
		if (strcmp(c->broken[i].name, name) == 0)
			return c->broken[i].error;
	return NULL;
}

static void
test_conf(void)
{
	char dir[128], *dump = NULL;
	size_t dumplen = 0;
	struct diags d = DIAGS_INIT;
	struct conf *c = NULL;
	const struct conf_jail *j;
	const char *e;
	FILE *fp;
	size_t base;

	snprintf(dir, sizeof(dir), "%s/conf", tmpdir);
	mkdir(dir, 0700);
	write_conf(dir, "plain.log", "");
	write_conf(dir, "fail2ban.conf", "[Definition]\nloglevel = INFO\n");
	/* jail.conf's DEFAULT names a filter per jail, as fail2ban's does */
	{
		char jail[2048];

		snprintf(jail, sizeof(jail),
		    "[DEFAULT]\n"
		    "filter = %%(__name__)s\n"
		    "action =\n"
		    "[imap]\n"
		    "enabled = true\n"
		    "backend = report\n"
		    "service = imap\n"
		    "reportusers = dovecot, 1001\n"
		    "[imap-users]\n"
		    "enabled = true\n"
		    "backend = Report\n"
		    "service = imap\n"
		    "reportgroups = mail\n"
		    "logpath = /nonexistent/x.log\n"
		    "[nosvc]\n"
		    "enabled = true\n"
		    "backend = report\n"
		    "[badsvc]\n"
		    "enabled = true\n"
		    "backend = report\n"
		    "service = im/ap\n"
		    "[params]\n"
		    "enabled = true\n"
		    "backend = report[x=1]\n"
		    "service = imap\n"
		    "[plain]\n"
		    "enabled = true\n"
		    "filter =\n"
		    "failregex = ^fail <HOST>$\n"
		    "logpath = %s/plain.log\n"
		    "service = unrelated\n",
		    dir);
		write_conf(dir, "jail.conf", jail);
	}
	ok(conf_load(dir, &c, &d) == 0, "configuration with report jails");
	if (c == NULL)
		return;
	base = d.nerrors; /* the broken jails' */
	j = conf_find_jail(c, "imap");
	ok(j && strcmp(j->backend_name, "report") == 0 && j->service &&
	        strcmp(j->service, "imap") == 0 && j->reportusers &&
	        strcmp(j->reportusers, "dovecot, 1001") == 0 &&
	        j->reportgroups == NULL && j->nlogpaths == 0 &&
	        j->filter_spec == NULL,
	    "backend = report, service, reportusers; no filter, no log");
	j = conf_find_jail(c, "imap-users");
	ok(j && strcmp(j->backend_name, "report") == 0 && j->service &&
	        strcmp(j->service, "imap") == 0 && j->reportgroups &&
	        strcmp(j->reportgroups, "mail") == 0 && j->nlogpaths == 0,
	    "a second jail on the same service; logpath ignored");
	e = broken_error(c, "nosvc");
	ok(e && strstr(e, "backend = report needs service = NAME"),
	    "no service: jail disabled: %s", e ? e : "(loaded)");
	e = broken_error(c, "badsvc");
	ok(e && strstr(e, "service 'im/ap'"), "bad service name: %s",
	    e ? e : "(loaded)");
	e = broken_error(c, "params");
	ok(e && strstr(e, "takes no parameters"), "report[x=1]: %s",
	    e ? e : "(loaded)");
	j = conf_find_jail(c, "plain");
	ok(j && j->service == NULL && j->nlogpaths == 1,
	    "service in an ordinary jail is not kept");
	is_str(c->server.reportsocket, REPORT_DEFAULT_SOCKET,
	    "reportsocket defaults to " REPORT_DEFAULT_SOCKET);
	ok(c->server.reportsocketgroup == NULL &&
	        c->server.reportusers == NULL &&
	        c->server.reportgroups == NULL && c->server.reportrate == 0 &&
	        c->server.reporttotalrate == 0,
	    "server report options unset by default");
	/* fail2ban's stream never carries Warden's options */
	fp = open_memstream(&dump, &dumplen);
	conf_dump(c, fp);
	fclose(fp);
	ok(dump && strstr(dump, "'service'") == NULL &&
	        strstr(dump, "reportusers") == NULL &&
	        strstr(dump, "['add', 'imap', 'report']") != NULL,
	    "dump: ['add', 'imap', 'report'] and no Warden option");
	free(dump);
	conf_free(c);
	diags_cleanup(&d);

	write_conf(dir, "fail2ban.local",
	    "[Definition]\n"
	    "reportsocket = None\n"
	    "reportsocketgroup = mail\n"
	    "reportusers = dovecot\n"
	    "reportgroups = postfix, 4243\n");
	c = NULL;
	ok(conf_load(dir, &c, &d) == 0 && c->server.reportsocket == NULL &&
	        c->server.reportsocketgroup &&
	        strcmp(c->server.reportsocketgroup, "mail") == 0 &&
	        c->server.reportusers &&
	        strcmp(c->server.reportusers, "dovecot") == 0 &&
	        c->server.reportgroups &&
	        strcmp(c->server.reportgroups, "postfix, 4243") == 0,
	    "server options: reportsocket None, socket group, lists");
	conf_free(c);
	diags_cleanup(&d);
	write_conf(dir, "fail2ban.local",
	    "[Definition]\nreportrate = 500/2000\nreporttotalrate = "
	    "unlimited\n");
	c = NULL;
	ok(conf_load(dir, &c, &d) == 0 && d.nerrors == base &&
	        c->server.reportrate == 500 && c->server.reportburst == 2000 &&
	        c->server.reporttotalrate == -1,
	    "reportrate 500/2000, reporttotalrate unlimited");
	conf_free(c);
	diags_cleanup(&d);
	write_conf(dir, "fail2ban.local",
	    "[Definition]\nreportrate = fast\nreporttotalrate = 0\n");
	c = NULL;
	conf_load(dir, &c, &d);
	ok(d.nerrors == base + 2 && c && c->server.reportrate == 0,
	    "bad rates are errors (%zu) and fall back to the defaults",
	    d.nerrors - base);
	conf_free(c);
	diags_cleanup(&d);
	write_conf(dir, "fail2ban.local",
	    "[Definition]\nreportsocket = run/report.sock\n");
	c = NULL;
	conf_load(dir, &c, &d);
	ok(d.nerrors == base + 1, "a relative reportsocket is an error");
	conf_free(c);
	diags_cleanup(&d);
}

/* ---- flood ------------------------------------------------------------ */

#define FLOOD_SENDERS 4
#define FLOOD_EACH    25000

static uint64_t tick_last, tick_maxgap, tick_count;
static uint64_t tick_cpu_last, tick_cpu_maxgap;
static bool flood_on;

/* this thread's CPU time, ns: a gap in it between two ticks is time the
 * loop spent elsewhere, while a gap in wall time alone can be the
 * machine's load (720 ms seen at load 6) */
static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
on_tick(uv_timer_t *t)
{
	uint64_t now = uv_hrtime(), cpu = thread_cpu_ns();

	(void)t;
	if (flood_on && tick_last && now - tick_last > tick_maxgap)
		tick_maxgap = now - tick_last;
	if (flood_on && tick_cpu_last && cpu - tick_cpu_last > tick_cpu_maxgap)
		tick_cpu_maxgap = cpu - tick_cpu_last;
	tick_last = now;
	tick_cpu_last = cpu;
	tick_count++;
}

/* A flood sender: FLOOD_EACH reports, blocking sends; exit 0 if every
 * one was sent. */
static int
flood_child(const char *path, unsigned k)
{
	struct sockaddr_un sa;
	struct timeval tv = {20, 0};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char msg[128];
	int fails = 0;

	sun_of(&sa, path);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (unsigned i = 0; i < FLOOD_EACH; i++) {
		int n = snprintf(msg, sizeof(msg),
		    "fail flood 10.%u.%u.%u user=u%u", k, (i >> 8) & 255,
		    i & 255, i % 97);

		if (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&sa,
		        sizeof(sa)) != n)
			fails++;
	}
	close(fd);
	return fails == 0 ? 0 : 1;
}

static void
test_flood(void)
{
	char path[160], err[64];
	struct report_acl acl = REPORT_ACL_INIT;
	struct report_opts o = {0};
	struct report_server *s;
	struct report_stats st;
	uv_timer_t tick;
	pid_t pids[FLOOD_SENDERS];
	const gid_t sockgrp[1] = {GROUP_SOCK};
	long rss0, rss1;
	int fds0, okchildren = 0;
	uint64_t t0, end, total = (uint64_t)FLOOD_SENDERS * FLOOD_EACH;
	double secs;

	if (geteuid() != 0) {
		ok(1, "flood # skip not root");
		return;
	}
	snprintf(path, sizeof(path), "%s/perm/flood.sock", tmpdir);
	report_acl_add_users(&acl, "20001 20002 20003 20004", err, sizeof(err));
	o.acl = &acl;
	o.has_group = true;
	o.group = GROUP_SOCK;
	/* frozen rate clock: every bucket holds exactly its burst */
	o.clock_ms = test_clock;
	o.sender_rate = 1;
	o.sender_burst = 10000;
	o.global_rate = 1;
	o.global_burst = 35000;
	reset_sink();
	sink.spin_us = 20; /* a handler slower than the senders */
	s = start(path, &o);
	report_acl_cleanup(&acl);
	ok(s != NULL, "flood server");
	if (s == NULL)
		return;
	uv_timer_init(loop, &tick);
	uv_timer_start(&tick, on_tick, 5, 5);
	tick_last = tick_maxgap = tick_count = 0;
	tick_cpu_last = tick_cpu_maxgap = 0;
	fds0 = count_fds();
	rss0 = rss_kib();
	t0 = uv_hrtime();
	for (unsigned k = 0; k < FLOOD_SENDERS; k++) {
		pids[k] = fork();
		if (pids[k] == 0) {
			if (setgroups(1, sockgrp) != 0 ||
			    setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
			    setresuid(USER_ALLOW + k, USER_ALLOW + k,
			        USER_ALLOW + k) != 0)
				_exit(99);
			_exit(flood_child(path, k));
		}
	}
	flood_on = true;
	end = uv_hrtime() + 120000000000ull;
	while (stats(s).received < total && uv_hrtime() < end)
		uv_run(loop, UV_RUN_ONCE);
	flood_on = false;
	secs = (double)(uv_hrtime() - t0) / 1e9;
	for (unsigned k = 0; k < FLOOD_SENDERS; k++) {
		int status;

		if (waitpid(pids[k], &status, 0) == pids[k] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			okchildren++;
	}
	settle();
	rss1 = rss_kib();
	st = stats(s);
	is_int(okchildren, FLOOD_SENDERS, "every sender sent all its reports");
	is_int(st.received, total, "all 100000 datagrams read");
	is_int(st.delivered, 35000,
	    "delivered: the global burst (4 x 10000 allowed per sender)");
	is_int(st.dropped_rate, total - 35000, "the rest dropped for rate");
	is_int(sink.calls, st.delivered, "handler saw every delivered one");
	ok(balanced(&st), "received == delivered + dropped: none lost");
	ok(st.budget_hits > 0, "the read budget was reached (%llu times)",
	    (unsigned long long)st.budget_hits);
	ok(tick_cpu_maxgap < 100000000ull,
	    "a 5 ms timer kept firing: at most %.1f ms of the loop's CPU "
	    "between two ticks (longest wall gap %.1f ms, %llu ticks in "
	    "%.2f s)",
	    (double)tick_cpu_maxgap / 1e6, (double)tick_maxgap / 1e6,
	    (unsigned long long)tick_count, secs);
	ok(rss0 > 0 && rss1 - rss0 < 4096, "memory bounded: RSS %ld -> %ld KiB",
	    rss0, rss1);
	is_int(count_fds(), fds0, "no descriptor leaked");
	ok(st.senders <= 4, "4 sender buckets");
	printf("# flood: %.0f reports/s through the socket (handler spins "
	       "20 us on delivered ones)\n",
	    (double)total / secs);
	uv_timer_stop(&tick);
	uv_close((uv_handle_t *)&tick, NULL);
	stop(s);
}

int
main(void)
{
	/* a hang ends the test (tests/run counts it) instead of a run */
	alarm(300);
	umask(077); /* wardend's */
	loop = uv_default_loop();
	{
		char e[256];

		wlog_set_target("/dev/null", NULL, e, sizeof(e));
	}
	wlog_set_level(WLOG_WARNING);
	wlog_set_hook(log_hook, NULL);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_report.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	chmod(tmpdir, 0755);
	test_parse_valid();
	test_parse_malformed();
	test_acl();
	test_permissions();
	test_bad_datagrams();
	test_rate_limits();
	test_stale();
	test_conf();
	test_flood();
	{
		char cmd[128];

		static const char *const files[] = {"conf/plain.log",
		    "conf/fail2ban.conf", "conf/fail2ban.local",
		    "conf/jail.conf"};

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(cmd, sizeof(cmd), "%s/%s", tmpdir, files[i]);
			unlink(cmd);
		}
		snprintf(cmd, sizeof(cmd), "%s/conf", tmpdir);
		rmdir(cmd);
		snprintf(cmd, sizeof(cmd), "%s/perm/run", tmpdir);
		rmdir(cmd);
		snprintf(cmd, sizeof(cmd), "%s/perm", tmpdir);
		rmdir(cmd);
		rmdir(tmpdir);
	}
	wlog_set_hook(NULL, NULL);
	wlog_reset();
	uv_loop_close(loop);
	return done_testing();
}
