/*
 * The daemon log: fail2ban.log's exact text (checked against lines
 * fail2ban 1.0.2 wrote), fail2ban's recidive filter matching our "Ban"
 * line through the filter engine, levels, targets (file, reopen, SYSLOG
 * datagrams), escaping, the rate limiter and time2str.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "filter.h"
#include "log.h"
#include "sbuf.h"
#include "tap.h"
#include "xmalloc.h"

static double fake_now;

static double
fake_clock(void)
{
	return fake_now;
}

static char tmpdir[] = "/tmp/warden-test-log-XXXXXX";

/* Returns the whole file (new), or NULL. */
static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	struct sbuf b = SBUF_INIT;
	char buf[4096];
	size_t n;

	if (!fp)
		return NULL;
	for (;;) {
		n = fread(buf, 1, sizeof(buf), fp);
		if (n == 0)
			break;
		sbuf_add(&b, buf, n);
	}
	fclose(fp);
	if (!b.s)
		return xstrdup("");
	return sbuf_detach(&b);
}

struct capture {
	int n;
	int level;
	char logger[64];
	char msg[256];
};

static void
hook(void *ctx, int level, const char *logger, const char *msg)
{
	struct capture *c = ctx;

	c->n++;
	c->level = level;
	snprintf(c->logger, sizeof(c->logger), "%s", logger);
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

static void
test_exact_format(void)
{
	char *path = xasprintf("%s/fail2ban.log", tmpdir);
	char err[256] = "";
	char *text;

	/* 2026-11-21 05:24:25 UTC, as in the lines fail2ban wrote */
	fake_now = 1795238665.8825;
	ok(wlog_set_target(path, NULL, err, sizeof(err)) == 0,
	    "file target opens (%s)", err);
	is_str(wlog_get_target(), path, "get target is the path");
	wlog(WLOG_INFO, "fail2ban.filter", "[%s] Found %s - %s", "test",
	    "192.0.2.10", "2026-11-21 05:24:25");
	wlog(WLOG_NOTICE, "fail2ban.actions", "[%s] Ban %s", "test",
	    "192.0.2.10");
	wlog(WLOG_DEBUG, "fail2ban.actions", "not shown at INFO");
	/* the same record put together by the caller: no printf pass,
	 * only the n bytes given */
	wlog_str(WLOG_INFO, "fail2ban.filter",
	    "[test] Found 192.0.2.11 - 2026-11-21 05:24:25 and no more", 45);
	wlog_str(WLOG_DEBUG, "fail2ban.filter", "not shown either", 16);
	text = slurp(path);
	/* these two lines are byte for byte what fail2ban 1.0.2 wrote
	 * (spec section 9), except the milliseconds of the first */
	is_str(text,
	    "2026-11-21 05:24:25,882 fail2ban.filter         [25178]: INFO    "
	    "[test] Found 192.0.2.10 - 2026-11-21 05:24:25\n"
	    "2026-11-21 05:24:25,882 fail2ban.actions        [25178]: NOTICE  "
	    "[test] Ban 192.0.2.10\n"
	    "2026-11-21 05:24:25,882 fail2ban.filter         [25178]: INFO    "
	    "[test] Found 192.0.2.11 - 2026-11-21 05:24:25\n",
	    "file lines have fail2ban's exact format");
	free(text);
	free(path);
}

/* Runs fail2ban's own recidive filter (read from its config at test
 * time) over one line; returns the number of failures, -1 if the filter
 * could not be loaded. *ip gets the first failure's address text. */
static int
recidive(struct filter *f, const char *line, char *ip, size_t iplen)
{
	struct filter_result res;
	size_t n = filter_process(f, line, strlen(line), fake_now, &res);

	if (n > 0 && ip)
		snprintf(
		    ip, iplen, "%s", res.v[0].id.text ? res.v[0].id.text : "");
	return (int)n;
}

static void
test_recidive(void)
{
	const char *root = getenv("F2B_ROOT");
	char *confdir;
	struct filterdef fd;
	struct diags d = DIAGS_INIT;
	struct filter *f = NULL;
	struct sbuf line = SBUF_INIT;
	char ip[64] = "";
	struct stat st;

	if (!root)
		root = "/tmp/f2b/root";
	confdir = xasprintf("%s/etc/fail2ban", root);
	if (stat(confdir, &st) != 0 && getenv("BUILD")) {
		/* where tests/fetch-fail2ban puts it */
		free(confdir);
		confdir =
		    xasprintf("%s/fail2ban/root/etc/fail2ban", getenv("BUILD"));
	}
	if (stat(confdir, &st) != 0) {
		ok(1, "# SKIP fail2ban's config not found (set F2B_ROOT)");
		free(confdir);
		return;
	}
	filterdef_init(&fd);
	if (conf_filter_load(confdir, "recidive", NULL, &fd, &d) == 0)
		f = filter_new(&fd, NULL, (time_t)fake_now, &d);
	ok(f != NULL, "fail2ban's recidive filter loads");
	if (!f) {
		diags_print(&d, stdout);
		goto out;
	}

	/* our own NOTICE line, made by the logger */
	wlog_format(&line, fake_now, 25178, WLOG_NOTICE, "fail2ban.actions",
	    "[sshd] Ban 192.0.2.10", true, true);
	is_int(recidive(f, sbuf_str(&line), ip, sizeof(ip)), 1,
	    "recidive matches our Ban line: %s", sbuf_str(&line));
	is_str(ip, "192.0.2.10", "recidive finds the banned address");

	sbuf_reset(&line);
	wlog_format(&line, fake_now, 1, WLOG_NOTICE, "fail2ban.actions",
	    "[sshd] Ban 2001:db8::7", true, true);
	is_int(recidive(f, sbuf_str(&line), ip, sizeof(ip)), 1,
	    "recidive matches an IPv6 Ban line");
	is_str(ip, "2001:db8::7", "IPv6 address found");

	/* what recidive must not count */
	const char *nots[] = {"[recidive] Ban 192.0.2.10",
	    "[sshd] Restore Ban 192.0.2.10", "[sshd] Unban 192.0.2.10",
	    "[sshd] Increase Ban 192.0.2.10 (2 # 20m -> 2026-11-21 05:44:25)"};
	for (size_t i = 0; i < sizeof(nots) / sizeof(nots[0]); i++) {
		sbuf_reset(&line);
		wlog_format(&line, fake_now, 1, WLOG_NOTICE, "fail2ban.actions",
		    nots[i], true, true);
		is_int(recidive(f, sbuf_str(&line), NULL, 0), 0,
		    "recidive ignores '%s'", nots[i]);
	}
	/* an INFO line with "Ban" is not a ban */
	sbuf_reset(&line);
	wlog_format(&line, fake_now, 1, WLOG_INFO, "fail2ban.actions",
	    "[sshd] Ban 192.0.2.10", true, true);
	is_int(recidive(f, sbuf_str(&line), NULL, 0), 0,
	    "recidive ignores INFO lines");

	/* the SYSLOG text, as syslogd writes it into a file */
	sbuf_reset(&line);
	sbuf_addstr(&line, "Nov 21 05:24:25 host ");
	wlog_format(&line, fake_now, 25178, WLOG_NOTICE, "fail2ban.actions",
	    "[sshd] Ban 192.0.2.11", false, false);
	is_str(sbuf_str(&line),
	    "Nov 21 05:24:25 host fail2ban.actions[25178]: NOTICE [sshd] Ban "
	    "192.0.2.11",
	    "syslog text has no time and no padding");
	is_int(recidive(f, sbuf_str(&line), ip, sizeof(ip)), 1,
	    "recidive matches the syslog form");
out:
	filter_free(f);
	filterdef_cleanup(&fd);
	diags_cleanup(&d);
	sbuf_cleanup(&line);
	free(confdir);
}

static void
test_levels(void)
{
	static const struct {
		const char *s;
		int want; /* -1: invalid */
	} cases[] = {
	    {"info", 20},
	    {"INFO", 20},
	    {"notice", 25},
	    {"msg", 18},
	    {"traceDebug", 7},
	    {"heavydebug", 5},
	    {"warn", 30},
	    {"WARNING", 30},
	    {"fatal", 50},
	    {"critical", 50},
	    {"error", 40},
	    {"debug", 10},
	    {"notset", 0},
	    {"17", 17},
	    {"07", 7},
	    {"100", 100},
	    {"trace", -1},
	    {"heavy", -1},
	    {" 7", -1},
	    {"-1", -1},
	    {"WARNING ", -1},
	    {"", -1},
	    {"root", -1},
	};
	char buf[WLOG_LEVEL_NAMELEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int lv = -99;
		int rc = wlog_level_parse(cases[i].s, &lv);

		if (cases[i].want < 0)
			is_int(rc, -1, "level '%s' is invalid", cases[i].s);
		else
			is_int(rc == 0 ? lv : -2, cases[i].want,
			    "level '%s' parses as fail2ban's", cases[i].s);
	}
	is_str(wlog_level_name(5, buf), "HEAVY", "5 prints HEAVY");
	is_str(wlog_level_name(7, buf), "TRACE", "7 prints TRACE");
	is_str(wlog_level_name(18, buf), "MSG", "18 prints MSG");
	is_str(wlog_level_name(17, buf), "#17-Lev.", "17 prints #17-Lev.");
	is_str(wlog_level_name(3, buf), "#03-Lev.", "3 prints #03-Lev.");
	is_str(wlog_level_name(51, buf), "Level 51", "51 prints Level 51");

	struct sbuf l = SBUF_INIT;
	wlog_format(
	    &l, 1795238665.0, 7, 17, "fail2ban.server", "x", true, true);
	is_str(sbuf_str(&l),
	    "2026-11-21 05:24:25,000 fail2ban.server         [7]: #17-Lev. x",
	    "an unnamed level prints like fail2ban");
	sbuf_reset(&l);
	wlog_format(&l, 0.0, 7, WLOG_HEAVYDEBUG,
	    "fail2ban.a.very.long.logger.x", "y", false, true);
	is_str(sbuf_str(&l), "fail2ban.a.very.long.logger.x[7]: HEAVY   y",
	    "long logger names are not cut, levels padded to 7");
	{
		/* a name longer than the prefix's buffer takes */
		char lg[301], want[400];

		memset(lg, 'g', 300);
		lg[300] = '\0';
		sbuf_reset(&l);
		wlog_format(
		    &l, 1795238665.5, -12, WLOG_ERROR, lg, "z", true, true);
		snprintf(want, sizeof(want),
		    "2026-11-21 05:24:25,500 %s[-12]: ERROR   z", lg);
		is_str(sbuf_str(&l), want,
		    "a 300-byte logger name, a negative pid, time and "
		    "padding");
	}
	sbuf_cleanup(&l);

	/* filtering by level */
	struct capture c = {0};
	wlog_set_hook(hook, &c);
	wlog_set_level(WLOG_NOTICE);
	wlog(WLOG_INFO, "fail2ban.jail", "hidden");
	is_int(c.n, 0, "INFO is dropped at level NOTICE");
	wlog(WLOG_NOTICE, "fail2ban.jail", "shown");
	is_int(c.n, 1, "NOTICE passes at level NOTICE");
	ok(!wlog_enabled(WLOG_INFO) && wlog_enabled(WLOG_ERROR),
	    "wlog_enabled follows the level");
	wlog_set_level(WLOG_INFO);
	wlog_set_hook(NULL, NULL);
}

static void
test_escape(void)
{
	struct capture c = {0};
	struct sbuf b = SBUF_INIT;
	char *big;

	wlog_set_hook(hook, &c);
	wlog(WLOG_WARNING, "fail2ban.filter", "user %s end",
	    "ro\not\r\t\x1b[31m\x7f\xff\xc2\x9b caf\xc3\xa9 \xe2\x80\xae");
	is_str(c.msg,
	    "user ro\\not\\r\\t\\x1b[31m\\x7f\\xff\\u009b caf\xc3\xa9 "
	    "\\u202e end",
	    "control characters, C1, bidi and invalid bytes are escaped");
	is_str(c.logger, "fail2ban.filter", "the hook sees the logger");
	wlog_str(WLOG_WARNING, "fail2ban.actions", "a\x1b[0m\xff%s%d b", 12);
	is_str(c.msg, "a\\x1b[0m\\xff%s%d b",
	    "wlog_str escapes as wlog does, and '%%' is no format");
	is_str(c.logger, "fail2ban.actions", "wlog_str: the hook sees it");

	wlog_escape(&b, "a\\b\0c", 5);
	is_str(sbuf_str(&b), "a\\b\\x00c", "NUL escaped, backslash kept");
	sbuf_reset(&b);
	wlog_escape(&b, "\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80", 10);
	is_str(sbuf_str(&b),
	    "\\xe0\\x80\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80",
	    "overlong, surrogate and out-of-range sequences are escaped");
	sbuf_reset(&b);
	wlog_escape(&b, "\xf0\x9f\x98\x80 \xe2\x82", 7);
	is_str(sbuf_str(&b), "\xf0\x9f\x98\x80 \\xe2\\x82",
	    "4-byte UTF-8 kept, a cut sequence escaped");
	sbuf_cleanup(&b);

	big = xmalloc(100001);
	memset(big, 'A', 100000);
	big[100000] = '\0';
	big[50] = '\n';
	wlog(WLOG_ERROR, "fail2ban.filter", "%s", big);
	ok(strlen(c.msg) > 0, "huge message logged");
	free(big);

	/* the cap applies to what reaches the file */
	char *path = xasprintf("%s/big.log", tmpdir);
	char err[256];
	ok(wlog_set_target(path, NULL, err, sizeof(err)) == 0, "big.log opens");
	big = xmalloc(100001);
	memset(big, '\x01', 100000);
	big[100000] = '\0';
	wlog(WLOG_ERROR, "fail2ban.filter", "%s", big);
	free(big);
	char *text = slurp(path);
	size_t len = text ? strlen(text) : 0;
	ok(len > WLOG_MAX_MSG - 10 && len < WLOG_MAX_MSG + 100,
	    "a 100 kB message is cut to about WLOG_MAX_MSG (%zu bytes)", len);
	ok(text && strchr(text, '\n') == text + len - 1, "and stays one line");
	ok(text && len > 4 && !memcmp(text + len - 4, "...\n", 4),
	    "and ends with '...'");
	free(text);
	free(path);
	wlog_set_hook(NULL, NULL);
}

static void
test_targets(void)
{
	char *path = xasprintf("%s/t.log", tmpdir);
	char *rotated = xasprintf("%s/t.log.1", tmpdir);
	char err[256] = "";
	char *a, *b;

	ok(wlog_set_target(path, NULL, err, sizeof(err)) == 0, "t.log opens");
	wlog(WLOG_NOTICE, "fail2ban.actions", "before rotation");
	ok(rename(path, rotated) == 0, "logrotate renames the file");
	wlog(WLOG_NOTICE, "fail2ban.actions", "still old file");
	is_int(wlog_reopen(), 1, "reopen of a file target: rolled over");
	wlog(WLOG_NOTICE, "fail2ban.actions", "after rotation");
	a = slurp(rotated);
	b = slurp(path);
	ok(a && strstr(a, "before rotation") && strstr(a, "still old file") &&
	        !strstr(a, "after rotation"),
	    "old lines stay in the rotated file");
	ok(b && strstr(b, "after rotation") && !strstr(b, "before"),
	    "new lines go to the new file");
	free(a);
	free(b);

	/* a bad target keeps the previous one */
	is_int(
	    wlog_set_target("/nonexistent-dir/x.log", NULL, err, sizeof(err)),
	    -1, "unwritable file target refused");
	ok(strstr(err, "Unable to log to '/nonexistent-dir/x.log'") != NULL,
	    "with fail2ban's message: %s", err);
	is_str(wlog_get_target(), path, "previous target kept");
	wlog(WLOG_NOTICE, "fail2ban.actions", "after refusal");
	b = slurp(path);
	ok(b && strstr(b, "after refusal"), "and still written");
	free(b);

	is_int(wlog_set_target("x[padding=1", NULL, err, sizeof(err)), -1,
	    "unbalanced options refused");
	is_int(wlog_set_target(
	           "SYSLOG[format=%(message)s]", NULL, err, sizeof(err)),
	    -1, "format option refused");

	/* options on a file: no time, no padding */
	char *p2 = xasprintf("%s/np.log", tmpdir);
	char *t2 = xasprintf("%s[datetime=0, padding=\"0\"]", p2);
	fake_now = 1795238665.5;
	ok(wlog_set_target(t2, NULL, err, sizeof(err)) == 0,
	    "file with options opens (%s)", err);
	is_str(wlog_get_target(), p2, "target name without the options");
	wlog(WLOG_NOTICE, "fail2ban.actions", "[j] Ban 192.0.2.1");
	b = slurp(p2);
	is_str(b, "fail2ban.actions[25178]: NOTICE [j] Ban 192.0.2.1\n",
	    "datetime=0 padding=0 honoured");
	free(b);
	free(p2);
	free(t2);

	/* the journal: records go to journald or are counted as lost */
	unsigned long w0 = wlog_count_written(), d0 = wlog_count_dropped();
	is_int(wlog_set_target("SYSTEMD-JOURNAL", NULL, err, sizeof(err)), 0,
	    "SYSTEMD-JOURNAL target");
	wlog(WLOG_NOTICE, "fail2ban.actions", "[test] Ban 192.0.2.10");
	ok(wlog_count_written() + wlog_count_dropped() == w0 + d0 + 1,
	    "journal record sent or counted as lost");
	is_int(wlog_reopen(), 0, "reopen of the journal: flushed");

	is_int(wlog_set_target("stderr", NULL, err, sizeof(err)), 0,
	    "STDERR (any case)");
	is_int(wlog_reopen(), 0, "reopen of STDERR: flushed");
	free(path);
	free(rotated);
}

static void
test_syslog(void)
{
	char *sock = xasprintf("%s/log.sock", tmpdir);
	char *plain = xasprintf("%s/plain", tmpdir);
	struct sockaddr_un sun;
	char err[256] = "", buf[512];
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ssize_t n;
	FILE *fp;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	ok(fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "test syslog socket bound");

	is_int(wlog_set_target("SYSLOG", "/nonexistent/log", err, sizeof(err)),
	    -1, "missing syslog socket refused");
	is_str(err,
	    "Syslog socket file: /nonexistent/log does not exists or is not "
	    "a socket",
	    "with fail2ban's message");
	fp = fopen(plain, "w");
	if (fp)
		fclose(fp);
	is_int(wlog_set_target("SYSLOG", plain, err, sizeof(err)), -1,
	    "a regular file is not a syslog socket");
	is_int(
	    wlog_set_target("SYSLOG[facility=nosuch]", sock, err, sizeof(err)),
	    -1, "unknown facility refused");

	ok(wlog_set_target("SYSLOG", sock, err, sizeof(err)) == 0,
	    "SYSLOG target on our socket (%s)", err);
	is_str(wlog_get_target(), "SYSLOG", "target name SYSLOG");
	wlog(WLOG_NOTICE, "fail2ban.actions", "[test] Ban %s", "192.0.2.10");
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	ok(n ==
	            (ssize_t)sizeof(
	                "<29>fail2ban.actions[25178]: NOTICE [test] "
	                "Ban 192.0.2.10") &&
	        !memcmp(buf,
	            "<29>fail2ban.actions[25178]: NOTICE [test] Ban "
	            "192.0.2.10",
	            (size_t)n),
	    "datagram is Python's SysLogHandler text with its NUL (%zd)", n);
	wlog(WLOG_DEBUG, "fail2ban.actions", "hidden");
	wlog(WLOG_ERROR, "fail2ban.jail", "x");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "<27>fail2ban.jail[25178]: ERROR x", "ERROR is <27>");

	ok(wlog_set_target("syslog[facility=AUTH]", sock, err, sizeof(err)) ==
	        0,
	    "facility AUTH");
	wlog(WLOG_INFO, "fail2ban.server", "y");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "<38>fail2ban.server[25178]: INFO y", "AUTH.info is <38>");
	is_int(wlog_reopen(), 0, "reopen of SYSLOG: flushed");
	wlog(WLOG_WARNING, "fail2ban.server", "z");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "<36>fail2ban.server[25178]: WARNING z",
	    "still sends after reconnect");

	/* syslogd gone: records are dropped, never block */
	close(fd);
	unlink(sock);
	unsigned long d0 = wlog_count_dropped();
	wlog(WLOG_WARNING, "fail2ban.server", "lost");
	ok(wlog_count_dropped() == d0 + 1, "record lost while syslog is away");

	wlog_reset();
	free(sock);
	free(plain);
}

static void
test_rate(void)
{
	struct wlog_rate r = WLOG_RATE_INIT(60);
	unsigned long s = 99;

	ok(wlog_rate_allow(&r, 1000, &s) && s == 0, "first allowed");
	ok(!wlog_rate_allow(&r, 1010, &s), "10 s later refused");
	ok(!wlog_rate_allow(&r, 1059, &s), "59 s later refused");
	ok(wlog_rate_allow(&r, 1060, &s), "60 s later allowed");
	is_int(s, 2, "reports 2 suppressed");
	ok(!wlog_rate_allow(&r, 1061, &s), "refused again");
	ok(wlog_rate_allow(&r, 900, &s), "clock went back: allowed");
	is_int(s, 1, "reports 1 suppressed");
}

static void
test_time2str(void)
{
	char buf[WLOG_TIMESTRLEN];

	is_str(wlog_time2str(0, buf), "1970-01-01 00:00:00", "epoch");
	is_str(wlog_time2str(1.9999999, buf), "1970-01-01 00:00:02",
	    "rounds to microseconds first, like datetime");
	is_str(wlog_time2str(1.9999994, buf), "1970-01-01 00:00:01",
	    "then drops them");
	is_str(
	    wlog_time2str(-0.5, buf), "1969-12-31 23:59:59", "negative times");
	is_str(wlog_time2str(1795238665.9, buf), "2026-11-21 05:24:25",
	    "a 2026 time");
	is_str(wlog_time2str(253402214399.9, buf), "9999-12-30 23:59:59",
	    "just before the cap");
	is_str(wlog_time2str((double)0x7FFFFFFFFFFF, buf),
	    "9999-12-31 23:59:59", "fail2ban's MAX_TIME prints as 9999");
}

/* Batches: lines wait for the outermost end (or 64 KiB), in order; the
 * time text of a second is computed once but follows the clock. */
static void
test_batch(void)
{
	char *path = xasprintf("%s/b.log", tmpdir);
	char err[256] = "";
	char *a;
	double saved = fake_now;
	unsigned long w0;

	ok(wlog_set_target(path, NULL, err, sizeof(err)) == 0, "b.log opens");
	fake_now = 1795238665.8825;
	w0 = wlog_count_written();
	wlog_batch_begin();
	wlog(WLOG_INFO, "fail2ban.filter", "[j] Found 192.0.2.1 - first");
	wlog_batch_begin();
	wlog(WLOG_INFO, "fail2ban.filter", "[j] Found 192.0.2.2 - second");
	wlog_batch_end();
	a = slurp(path);
	is_str(a, "", "inside a batch nothing is written yet");
	free(a);
	fake_now += 1.5;
	wlog(WLOG_NOTICE, "fail2ban.actions", "[j] Ban 192.0.2.1");
	wlog_batch_end();
	a = slurp(path);
	is_str(a,
	    "2026-11-21 05:24:25,882 fail2ban.filter         [25178]: INFO    "
	    "[j] Found 192.0.2.1 - first\n"
	    "2026-11-21 05:24:25,882 fail2ban.filter         [25178]: INFO    "
	    "[j] Found 192.0.2.2 - second\n"
	    "2026-11-21 05:24:27,382 fail2ban.actions        [25178]: NOTICE  "
	    "[j] Ban 192.0.2.1\n",
	    "the batch's end writes the lines in order, times as logged");
	free(a);
	is_int(wlog_count_written() - w0, 3, "batched records are counted");

	/* a big batch goes out in pieces; reopening writes the rest first */
	wlog_batch_begin();
	for (int i = 0; i < 2000; i++)
		wlog(WLOG_INFO, "fail2ban.filter", "[j] Found 198.51.100.%d",
		    i % 250);
	a = slurp(path);
	ok(strlen(a) >= WLOG_BATCH_BYTES,
	    "a batch past WLOG_BATCH_BYTES is written before its end");
	free(a);
	wlog(WLOG_INFO, "fail2ban.filter", "[j] the last one");
	wlog_reopen();
	a = slurp(path);
	ok(strstr(a, "the last one") != NULL, "reopen writes the batch first");
	free(a);
	wlog_batch_end();
	is_int(wlog_count_written() - w0, 3 + 2001, "every record written");
	fake_now = saved;
	wlog_reset();
	unlink(path);
	free(path);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	wlog_test_set_clock(fake_clock);
	wlog_test_set_pid(25178);
	fake_now = 1795238665.8825;

	test_exact_format();
	test_recidive();
	test_levels();
	test_escape();
	test_targets();
	test_syslog();
	test_rate();
	test_time2str();
	test_batch();

	wlog_reset();
	{
		/* clean the temp dir */
		const char *names[] = {"fail2ban.log", "big.log", "t.log",
		    "t.log.1", "np.log", "plain", "log.sock"};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char *p = xasprintf("%s/%s", tmpdir, names[i]);
			unlink(p);
			free(p);
		}
		rmdir(tmpdir);
	}
	return done_testing();
}
