/*
 * Unit tests of the filter engine: tag expansion and the Python re
 * translation, compile errors, failure-id resolution, alt/tuple groups,
 * multi-line buffering with <SKIPLINES>, the mlfid cache (nofail, pending,
 * gained), the date fallbacks, caps and the bounded catastrophic regex.
 * Expected values are fail2ban 1.0.2's behaviour (checked against
 * fail2ban-regex where noted).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "datedetect.h"
#include "filter.h"
#include "filter_int.h"
#include "sbuf.h"
#include "tap.h"
#include "xmalloc.h"

/* 2005-08-14 12:00:00 CEST, fail2ban's TEST_NOW */
#define NOW 1124013600.0

static char *
expand(const char *re, const char *usedns)
{
	struct sbuf b = SBUF_INIT;

	filter_expand_tags(re, usedns, &b);
	return sbuf_detach(&b);
}

static char *
translate(const char *py, char **err)
{
	struct sbuf b = SBUF_INIT;
	size_t off;

	*err = NULL;
	if (fre_translate(py, &b, NULL, err, &off) < 0) {
		sbuf_cleanup(&b);
		return NULL;
	}
	return sbuf_detach(&b);
}

static void
test_tags(void)
{
	char *s;

	s = expand("from <HOST> port", "yes");
	ok(strstr(s, "(?P<ip4>") && strstr(s, "(?P<ip6>") &&
	        strstr(s, "(?P<dns>"),
	    "<HOST> has ip4, ip6 and dns groups");
	free(s);
	s = expand("from <HOST> port", "no");
	ok(strstr(s, "(?P<ip4>") && !strstr(s, "(?P<dns>"),
	    "<HOST> with usedns=no matches addresses only");
	free(s);
	s = expand(
	    "<F-USER>\\S+</F-USER> <F-ID>x</F-ID> <F-PORT>1</F-PORT>", "warn");
	is_str(s, "(?P<user>\\S+) (?P<fid>x) (?P<fport>1)",
	    "<F-X>...</F-X> groups, ID and PORT mapped");
	free(s);
	s = expand("a</F-USER>b", "warn");
	is_str(s, "a</F-USER>b", "a closing tag without opening stays");
	free(s);
	s = expand("<F-ID/> <F-PORT/>", "warn");
	is_str(s, "(?P<fid>\\S+) (?P<fport>\\w+)", "self-closing F-ID, F-PORT");
	free(s);
	s = expand("<F-FOO/> <NOTATAG> <_x>", "warn");
	is_str(s, "<F-FOO/> <NOTATAG> <_x>", "unknown tags stay literal");
	free(s);
	s = expand("a<SKIPLINES>b<SKIPLINES>", "warn");
	is_str(s,
	    "a\\n(?P<skiplines0>(?:(?:.*\\n)*?))b\\n(?P<skiplines1>(?:(?:.*\\n)"
	    "*?))",
	    "<SKIPLINES> numbered");
	free(s);
	s = expand("<F-ALT_USER1>x</F-ALT_USER1>", "warn");
	is_str(s, "(?P<alt_user1>x)", "F-ALT_ names lower-cased");
	free(s);
}

static void
test_translate(void)
{
	struct sbuf b = SBUF_INIT;
	char *s, *err;

	fre_glob2loc("^SASL ((?i)LOGIN|PLAIN) x (?:(?i)y) \\((?i)z)", &b);
	is_str(sbuf_str(&b), "^SASL (?i:LOGIN|PLAIN) x (?i:y) \\((?i)z)",
	    "((?i)x) and (?:(?i)x) become (?i:x)");
	sbuf_cleanup(&b);
	s = translate("\\d{,3}x{2,}y{,}z{}", &err);
	is_str(s, "\\d{0,3}x{2,}y{0,}z\\{}", "{,n} and {,} repeats");
	free(s);
	s = translate("a\\Z", &err);
	is_str(s, "a\\z", "\\Z is end of subject");
	free(s);
	s = translate("[[:alpha:]]", &err);
	is_str(s, "[\\[:alpha:]]", "no POSIX classes in Python");
	free(s);
	s = translate("\\u00e9\\v", &err);
	is_str(s, "\\x{e9}\\x0b", "\\u and \\v escapes");
	free(s);
	s = translate("(?i)abc", &err);
	is_str(s, "(?i)abc", "global flag at the start");
	free(s);
	s = translate("a(?i)bc", &err);
	ok(s == NULL && err && strstr(err, "global flags"),
	    "global flag in the middle is an error (Python 3.11)");
	free(err);
	s = translate("\\e", &err);
	ok(s == NULL && err && strstr(err, "bad escape"), "bad escape");
	free(err);
	s = translate("(a", &err);
	ok(s == NULL && err && strstr(err, "missing )"), "unbalanced group");
	free(err);
}

static void
fd_init(struct filterdef *fd, const char *pref, const char *const *fail,
    const char *const *ign, int maxlines)
{
	filterdef_init(fd);
	if (pref)
		filterdef_re_set(&fd->prefregex, pref, "t.conf", 3);
	for (size_t i = 0; fail && fail[i]; i++)
		filterdef_re_add(
		    &fd->failregex, fail[i], "t.conf", 10 + (int)i);
	for (size_t i = 0; ign && ign[i]; i++)
		filterdef_re_add(
		    &fd->ignoreregex, ign[i], "t.conf", 20 + (int)i);
	fd->maxlines = maxlines;
}

static struct filter *
mk(const char *pref, const char *const *fail, const char *const *ign,
    int maxlines, unsigned flags, struct diags *d)
{
	struct filterdef fd;
	struct filter_config cfg = {.flags = flags};
	struct filter *f;

	fd_init(&fd, pref, fail, ign, maxlines);
	f = filter_new(&fd, &cfg, (time_t)NOW, d);
	filterdef_cleanup(&fd);
	return f;
}

static const char *
gstr(const struct failure *fl, const char *key)
{
	const struct fval *v = failure_get(fl, key);

	return v && v->type == FVAL_STR ? v->u.s : NULL;
}

static size_t
run(struct filter *f, const char *line, struct filter_result *res)
{
	return filter_process(f, line, strlen(line), NOW, res);
}

static void
test_errors(void)
{
	struct diags d = DIAGS_INIT;
	const char *nofid[] = {"^failed for \\S+$", NULL};
	const char *empty[] = {"  ", NULL};
	const char *bad[] = {"^x (<HOST>", NULL};
	struct filter *f;
	char *s;

	f = mk(NULL, nofid, NULL, 1, 0, &d);
	ok(f == NULL && d.nerrors == 1, "a failregex without id is refused");
	s = d.n ? diag_format(&d.v[0]) : xstrdup("");
	is_str(s, "t.conf:10: No failure-id group in '^failed for \\S+$'",
	    "the error names file, line and regex");
	free(s);
	diags_cleanup(&d);
	f = mk(NULL, empty, NULL, 1, 0, &d);
	ok(f == NULL && d.n == 1 && strstr(d.v[0].msg, "Cannot add empty"),
	    "an empty regex is refused");
	diags_cleanup(&d);
	f = mk(NULL, bad, NULL, 1, 0, &d);
	ok(f == NULL && d.n == 1 &&
	        strstr(d.v[0].msg, "Unable to compile regular expression") &&
	        strstr(d.v[0].msg, "position"),
	    "a bad regex is reported with its position");
	diags_cleanup(&d);
	f = mk("^<F-MLFID>\\S+</F-MLFID> ", nofid, NULL, 1, 0, &d);
	ok(f != NULL && d.nerrors == 0, "an id group in the prefregex counts");
	filter_free(f);
	diags_cleanup(&d);
}

static void
test_ids(void)
{
	struct diags d = DIAGS_INIT;
	const char *re[] = {"^ fail from <HOST>$", NULL};
	const char *fidre[] = {"^ user <F-ID>\\S+</F-ID> from <HOST>$", NULL};
	const char *subnet[] = {"^ net <SUBNET>$", NULL};
	struct filter_result res;
	struct filter *f;

	f = mk(NULL, re, NULL, 1, FILTER_CHECK_ALL, &d);
	ok(f != NULL, "simple filter compiles");
	is_int(run(f, "Aug 14 11:59:00 fail from 192.0.2.7", &res), 1,
	    "date cut out, failure found");
	ok(res.n == 1 && res.v[0].kind == FAILURE_ADDR &&
	        strcmp(res.v[0].id.text, "192.0.2.7") == 0,
	    "id is the address");
	ok(res.n == 1 && res.v[0].has_time && res.v[0].time == NOW - 60,
	    "time from the line (local time zone)");
	ok(res.n == 1 && res.v[0].nmatches == 1 &&
	        strcmp(res.v[0].matches[0],
	            "Aug 14 11:59:00 fail from "
	            "192.0.2.7") == 0,
	    "the matched line keeps its date");
	run(f, "Aug 14 11:59:00 fail from [2001:DB8::1]", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_ADDR &&
	        strcmp(res.v[0].id.text, "2001:db8::1") == 0,
	    "bracketed IPv6, canonical text");
	run(f, "Aug 14 11:59:00 fail from ::ffff:10.1.2.3", &res);
	ok(res.n == 1 && strcmp(res.v[0].id.text, "10.1.2.3") == 0 &&
	        res.v[0].id.addr.family == 2,
	    "IPv4-mapped is IPv4");
	run(f, "Aug 14 11:59:00 fail from 999.1.1.1", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_RAW &&
	        strcmp(res.v[0].id.text, "999.1.1.1") == 0,
	    "an invalid IP-shaped string stays a raw id");
	run(f, "Aug 14 11:59:00 fail from 010.1.1.1", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_RAW &&
	        strcmp(res.v[0].id.text, "010.1.1.1") == 0,
	    "a leading zero makes no address (inet_pton)");
	run(f, "Aug 14 11:59:00 fail from 0.0.0.0", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_ADDR &&
	        strcmp(res.v[0].id.text, "0.0.0.0") == 0,
	    "0.0.0.0 is an address");
	run(f, "Aug 14 11:59:00 fail from host.example.org", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_DNS &&
	        strcmp(res.v[0].id.text, "host.example.org") == 0,
	    "a host name is left to the caller to resolve (usedns warn)");
	filter_free(f);

	f = mk(NULL, re, NULL, 1, FILTER_CHECK_ALL | FILTER_RAW_HOSTS, &d);
	run(f, "Aug 14 11:59:00 fail from host.example.org", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_RAW,
	    "raw hosts: the name is the id");
	filter_free(f);

	f = mk(NULL, fidre, NULL, 1, FILTER_CHECK_ALL, &d);
	run(f, "Aug 14 11:59:00 user bob from 192.0.2.9", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_RAW &&
	        strcmp(res.v[0].id.text, "bob") == 0,
	    "a fid differing from the address is the id");
	ok(res.n == 1 && failure_get(&res.v[0], "ip") &&
	        failure_get(&res.v[0], "ip")->type == FVAL_IP &&
	        strcmp(failure_get(&res.v[0], "ip")->u.ip.text, "192.0.2.9") ==
	            0,
	    "... and the address goes to 'ip'");
	run(f, "Aug 14 11:59:00 user 192.0.2.9 from 192.0.2.9", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_ADDR &&
	        failure_get(&res.v[0], "ip") == NULL,
	    "a fid equal to the address: the address");
	filter_free(f);

	f = mk(NULL, subnet, NULL, 1, FILTER_CHECK_ALL, &d);
	run(f, "Aug 14 11:59:00 net 192.0.2.77/24", &res);
	ok(res.n == 1 && strcmp(res.v[0].id.text, "192.0.2.0/24") == 0 &&
	        res.v[0].id.addr.prefix == 24,
	    "<SUBNET> with cidr: the network");
	filter_free(f);

	{
		struct filterdef fd;

		fd_init(&fd, NULL, re, NULL, 1);
		free(fd.usedns);
		fd.usedns = xstrdup("no");
		f = filter_new(&fd, NULL, (time_t)NOW, &d);
		filterdef_cleanup(&fd);
		is_int(
		    run(f, "Aug 14 11:59:00 fail from host.example.org", &res),
		    0, "usedns=no: names do not match <HOST>");
		filter_free(f);
	}
	diags_cleanup(&d);
}

static void
test_alt_tuple(void)
{
	struct diags d = DIAGS_INIT;
	const char *re[] = {
	    "^ login (?:user=<F-USER>\\S*</F-USER>|alt=<F-ALT_USER>\\S+"
	    "</F-ALT_USER>) from <HOST>$",
	    "^ tuple <F-ID>\\S+</F-ID> port <F-TUPLE_ID>\\d+</F-TUPLE_ID>$",
	    NULL};
	struct filter_result res;
	struct filter *f = mk(NULL, re, NULL, 1, FILTER_CHECK_ALL, &d);

	run(f, "Aug 14 11:59:00 login alt=carol from 192.0.2.1", &res);
	is_str(res.n ? gstr(&res.v[0], "user") : NULL, "carol",
	    "F-ALT_USER fills an absent user");
	run(f, "Aug 14 11:59:00 login user=dave from 192.0.2.1", &res);
	is_str(res.n ? gstr(&res.v[0], "user") : NULL, "dave",
	    "user stays when present");
	run(f, "Aug 14 11:59:00 tuple 192.0.2.44 port 55", &res);
	is_str(res.n ? res.v[0].id.text : NULL, "('192.0.2.44', '55')",
	    "F-TUPLE_ID makes a tuple id (Python's str form)");
	filter_free(f);
	diags_cleanup(&d);
}

static void
test_multiline(void)
{
	struct diags d = DIAGS_INIT;
	const char *re[] = {
	    "conn (\\d+) from <HOST><SKIPLINES>.*conn \\1 auth failed", NULL};
	struct filter_result res;
	struct filter *f = mk(NULL, re, NULL, 3, FILTER_CHECK_ALL, &d);

	ok(f != NULL, "multi-line filter compiles");
	is_int(run(f, "Aug 14 11:59:00 conn 7 from 192.0.2.3", &res), 0,
	    "line 1: no failure yet");
	is_int(run(f, "Aug 14 11:59:01 conn 8 from 192.0.2.4", &res), 0,
	    "line 2: other connection");
	is_int(run(f, "Aug 14 11:59:02 conn 7 auth failed", &res), 1,
	    "line 3 completes connection 7");
	ok(res.n == 1 && res.v[0].nmatches == 2 &&
	        strstr(res.v[0].matches[0], "conn 7 from") &&
	        strstr(res.v[0].matches[1], "conn 7 auth"),
	    "lines 1 and 3 matched, the skipped line is not");
	is_int(filter_buffer_count(f), 1, "the skipped line stays buffered");
	filter_free(f);
	diags_cleanup(&d);
}

static void
test_mlfid(void)
{
	struct diags d = DIAGS_INIT;
	const char *pref = "^<F-MLFID>\\s*\\S+ sshd\\[\\d+\\]: </F-MLFID>"
	                   "<F-CONTENT>.+</F-CONTENT>$";
	const char *re[] = {
	    "^Failed password for <F-USER>\\S+</F-USER> from <HOST>",
	    "^<F-NOFAIL>Connection from</F-NOFAIL> <HOST>",
	    "^Failed none for <F-USER>\\S+</F-USER>$",
	    "^Disconnected from <HOST>$",
	    "^<F-MLFFORGET><F-MLFGAINED>Accepted \\w+</F-MLFGAINED>"
	    "</F-MLFFORGET> for <F-USER>\\S+</F-USER> from <HOST>",
	    NULL};
	struct filter_result res;
	struct filter *f = mk(pref, re, NULL, 1, FILTER_CHECK_ALL, &d);

	ok(f != NULL, "mlfid filter compiles");
	run(f, "Aug 14 11:59:00 h sshd[1]: Connection from 192.0.2.5", &res);
	ok(res.n == 1 && res.v[0].nofail, "Connection from: nofail only");
	run(f,
	    "Aug 14 11:59:01 h sshd[1]: Failed password for root from "
	    "192.0.2.5 port 22",
	    &res);
	ok(res.n == 1 && !res.v[0].nofail &&
	        strcmp(res.v[0].id.text, "192.0.2.5") == 0,
	    "the failure follows");
	is_int(res.n ? res.v[0].nmatches : 0, 2,
	    "nofail lines are prepended to the matches");
	is_str(res.n ? gstr(&res.v[0], "mlfid") : NULL,
	    " h sshd[1]: ", "mlfid from the prefregex");

	/* pending: a failure without address, then the address */
	run(f, "Aug 14 11:59:02 h sshd[2]: Failed none for eve", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_PENDING &&
	        res.v[0].id.text == NULL,
	    "a failure without id is pending");
	run(f, "Aug 14 11:59:03 h sshd[2]: Disconnected from 192.0.2.6", &res);
	ok(res.n == 1 && res.v[0].kind == FAILURE_ADDR &&
	        strcmp(res.v[0].id.text, "192.0.2.6") == 0 &&
	        strcmp(gstr(&res.v[0], "user"), "eve") == 0,
	    "the pending failure gets its address and user later");

	/* gained: Accepted resets */
	run(f, "Aug 14 11:59:04 h sshd[3]: Connection from 192.0.2.8", &res);
	run(f,
	    "Aug 14 11:59:05 h sshd[3]: Accepted password for bob from "
	    "192.0.2.8",
	    &res);
	ok(res.n == 1 && res.v[0].nofail, "Accepted: not a failure");
	filter_free(f);

	/* first match wins, server mode: nofail ends the line silently */
	f = mk(pref, re, NULL, 1, 0, &d);
	is_int(run(f, "Aug 14 11:59:00 h sshd[9]: Connection from 192.0.2.5",
	           &res),
	    0, "server mode: nofail emits nothing");
	is_int(run(f, "Aug 14 11:59:02 h sshd[10]: Failed none for eve", &res),
	    0, "server mode: pending emits nothing");
	filter_free(f);
	diags_cleanup(&d);
}

static void
test_dates_and_ignore(void)
{
	struct diags d = DIAGS_INIT;
	const char *re[] = {"fail from <HOST>", NULL};
	const char *ign[] = {"from 192\\.0\\.2\\.99", NULL};
	struct filter_result res;
	struct filter *f = mk(NULL, re, ign, 1, FILTER_CHECK_ALL, &d);

	run(f, "Aug 14 11:59:30 fail from 192.0.2.1", &res);
	run(f, "fail from 192.0.2.2", &res);
	ok(res.n == 1 && res.v[0].has_time && res.v[0].time == NOW - 30,
	    "a line without date takes the last date (< 60 s old)");
	ok(res.n == 1 &&
	        strcmp(res.v[0].matches[0],
	            "Aug 14 11:59:30fail from 192.0.2.2") == 0,
	    "... and its text, as fail2ban joins it");
	run(f, "Aug 14 11:59:31 fail from 192.0.2.99", &res);
	ok(res.n == 0 && res.ignored, "ignoreregex drops the failure");
	is_int(filter_ignoreregex_hits(f, 0), 1, "ignoreregex hit counted");
	filter_free(f);

	f = mk(NULL, re, NULL, 1, FILTER_CHECK_ALL, &d);
	run(f, "Aug 14 10:00:00 fail from 192.0.2.1", &res);
	run(f, "fail from 192.0.2.2", &res);
	ok(res.n == 1 && !res.v[0].has_time,
	    "an old last date is not used: no time");
	is_int(filter_process_entry(f, "2005-08-14T10:00:00",
	           "fail from 192.0.2.3", 19, NOW, NOW, &res),
	    1, "journal entry with a known time");
	ok(res.n == 1 && res.v[0].time == NOW, "... has that time");
	filter_free(f);
	diags_cleanup(&d);
}

static void
test_findtime(void)
{
	struct diags d = DIAGS_INIT;
	const char *re[] = {"fail from <HOST>", NULL};
	struct filter_result res;
	struct filter *f = mk(NULL, re, NULL, 1, FILTER_CHECK_FINDTIME, &d);

	run(f, "Aug 14 10:00:00 fail from 192.0.2.1", &res);
	ok(res.n == 1 && res.v[0].time == NOW &&
	        (res.warn & FILTER_WARN_TIME_ADJUSTED),
	    "operation mode: a date 2 h old becomes now");
	run(f, "fail from 192.0.2.2", &res);
	ok(res.n == 1 && res.v[0].time == NOW,
	    "operation mode: a line without date is now");
	filter_set_in_operation(f, false);
	is_int(run(f, "Aug 14 11:40:00 fail from 192.0.2.3", &res), 0,
	    "catch-up: a line older than findtime is ignored");
	ok(res.warn & FILTER_WARN_TOO_OLD, "... and flagged");
	is_int(run(f, "Aug 14 11:55:00 fail from 192.0.2.4", &res), 1,
	    "catch-up: a recent line counts");
	filter_free(f);
	diags_cleanup(&d);
}

static void
test_caps(void)
{
	struct diags d = DIAGS_INIT;
	const char *re[] = {"^(a|aa)+$<F-ID>x</F-ID>", NULL};
	const char *re2[] = {"fail from <HOST>", NULL};
	struct filter_config cfg = {
	    .flags = FILTER_CHECK_ALL, .max_line_len = 2 * 1024 * 1024};
	struct filterdef fd;
	struct filter_result res;
	struct filter_stats st;
	struct filter *f;
	size_t n = 1024 * 1024;
	char *line = xmalloc(n + 1);
	clock_t t0;
	double secs;

	memset(line, 'a', n);
	line[n - 1] = 'b';
	line[n] = '\0';
	fd_init(&fd, NULL, re, NULL, 1);
	f = filter_new(&fd, &cfg, (time_t)NOW, &d);
	filterdef_cleanup(&fd);
	ok(f != NULL, "catastrophic regex compiles");
	t0 = clock();
	filter_process(f, line, n, NOW, &res);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	filter_get_stats(f, &st);
	ok(secs < 5.0,
	    "a 1 MiB line on a catastrophic regex is bounded "
	    "(%.2f s)",
	    secs);
	ok(res.n == 0 && (res.warn & FILTER_WARN_LIMIT) && st.limit_hits == 1,
	    "the limit is reported and counted");
	filter_free(f);

	fd_init(&fd, NULL, re2, NULL, 1);
	cfg.max_line_len = 100;
	f = filter_new(&fd, &cfg, (time_t)NOW, &d);
	filterdef_cleanup(&fd);
	memset(line, 'x', 200);
	memcpy(line + 150, "fail from 192.0.2.1", 19);
	filter_process(f, line, 200, NOW, &res);
	filter_get_stats(f, &st);
	ok(res.n == 0 && (res.warn & FILTER_WARN_TRUNCATED) &&
	        st.truncated == 1,
	    "a long line is truncated and counted");
	filter_process(f, "fail from 192.0.2.1\xff\xfe", 21, NOW, &res);
	ok(res.n == 1 &&
	        strcmp(res.v[0].matches[0],
	            "fail from 192.0.2.1\xef\xbf\xbd\xef\xbf\xbd") == 0,
	    "invalid UTF-8 passes, replaced as Python decodes it");
	filter_free(f);
	free(line);
	diags_cleanup(&d);
}

/* fre_match() with every variant agrees with the plain UTF pattern. */
/*
 * fre_match() (with the variant it picks) and the plain UTF pattern on
 * s[0, n), into a and b: the count of differences, 0 when the results
 * and every group are the same. *rb gets the plain pattern's result.
 */
static size_t
variant_diffs(const struct fre *re, const char *s, size_t n,
    pcre2_match_data *a, pcre2_match_data *b, int *rb)
{
	const PCRE2_SIZE *x = pcre2_get_ovector_pointer(a);
	const PCRE2_SIZE *y = pcre2_get_ovector_pointer(b);
	bool ascii = true;
	size_t diffs = 0;
	int ra;

	for (size_t j = 0; j < n; j++)
		ascii = ascii && (unsigned char)s[j] < 0x80;
	ra = fre_match(re, s, n, ascii ? FRE_SUBJ_ASCII : 0, a, NULL);
	*rb = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, b, NULL);
	if (ra != *rb)
		return 1;
	for (int g = 0; g < ra; g++)
		diffs += x[2 * g] != y[2 * g] || x[2 * g + 1] != y[2 * g + 1];
	return diffs;
}

static void
test_variants(void)
{
	static const struct {
		const char *py;
		bool tail;
		uint32_t grp;
	} pats[] = {
	    {"^(?P<mlfid>\\s*\\S+ \\w+\\[\\d+\\]: )(?P<content>.+)$", true, 2},
	    {"^(?P<mlfid>\\s*)(?P<content>.*)$", true, 2},
	    {"^\\s*(?:error: )?(?P<content>(?:[Ll]ogin|[Bb]ad).+)$", true, 1},
	    {"^\\w+ .+$", true, 0},
	    {"^(x)(?:y.*)$", true, 0},
	    {"(?i)^user (?P<user>\\w+)\\b.+$", true, 0},
	    {"^a|b.+$", false, 0},
	    {"^(?P<c>a|b.+)$", false, 0},
	    {"^(?=x.+)$", false, 0},
	    {"^x\\.+$", false, 0},
	    {"^x[.]+$", false, 0},
	    {"(?s)^x.+$", false, 0},
	    {"^(?:(?P<c>.+))$", false, 0},
	    {"^x.+?$", false, 0},
	    {"^caf\\u00e9 \\w+$", false, 0},
	};
	static const char *const subj[] = {"", "\n", "  \n", " h sshd[1]: x\n",
	    " h sshd[1]: \n", "login as root\n", "Bad thing\n",
	    "user bob rest\n", "USER Bob\n", "a\nb\n", "w a\nb\n",
	    "login a\nb\n", "x\ny\n", "xy\n", "xyz", "b\n", "x.\n", "x..\n",
	    "caf\xc3\xa9 ok\n", "w \xc3\xa9\n",
	    " h sshd[1]: \xc3\xa9\xc3\xa9\n",
	    "\xe2\x84\xaa"
	    "elvin\n"};
	struct intern keys = {NULL, 0, 0};
	pcre2_match_data *a = pcre2_match_data_create(16, NULL);
	pcre2_match_data *b = pcre2_match_data_create(16, NULL);
	size_t bad = 0, dot;
	bool plus;
	uint32_t grp;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		struct fre re;
		struct diags d = DIAGS_INIT;
		struct sbuf pc = SBUF_INIT;
		char *err = NULL;
		size_t off;
		bool t;

		if (fre_compile(&re, pats[i].py, NULL, 0, "no", false, FRE_PREF,
		        NULL, &keys, &d) < 0) {
			ok(0, "compiles: %s", pats[i].py);
			continue;
		}
		fre_translate(re.expanded, &pc, NULL, &err, &off);
		t = fre_tail(sbuf_str(&pc), &dot, &plus, &grp);
		ok(t == pats[i].tail && (!t || grp == pats[i].grp),
		    "tail of %s: %s, group %u", pats[i].py,
		    t ? "rewritten" : "kept", t ? grp : 0);
		ok((re.var[FRE_TAIL] != NULL) == pats[i].tail,
		    "the tail variant exists iff the tail is found");
		for (size_t k = 0; k < sizeof(subj) / sizeof(subj[0]); k++) {
			int rb;

			bad += variant_diffs(
			    &re, subj[k], strlen(subj[k]), a, b, &rb);
		}
		free(err);
		sbuf_cleanup(&pc);
		fre_cleanup(&re);
		diags_cleanup(&d);
	}
	is_int(bad, 0, "every variant matches like the UTF pattern");
	ok(fre_ascii_safe("^a\\x{41}\\\\x{e9}"), "ASCII escapes are safe");
	ok(!fre_ascii_safe("^\\x{e9}") && !fre_ascii_safe("caf\xc3\xa9") &&
	        !fre_ascii_safe("(?i)\\x{212a}"),
	    "non-ASCII text or escapes are not");
	pcre2_match_data_free(a);
	pcre2_match_data_free(b);
	intern_cleanup(&keys);
}

/*
 * The pruned variant (fre_prune()): which groups it finds, and that
 * fre_match() with it gives the plain pattern's groups on subjects with
 * and without the literal.
 */
static void
test_prune(void)
{
	static const struct {
		const char *py;
		const char *body, *lit; /* NULL: no pruned variant */
	} pats[] = {
	    /* the shape of a "Failed ..." rule: a name or, failing that,
	     * anything up to " via ", and "; " after the name only */
	    {"^Denied \\S+ to (?P<g>guest )?(?P<who>(?P<named>\\S+)|"
	     "(?(g)(?:(?! via ).)*?|[^;]+)) via (?P<host>[\\w.]*\\w)"
	     "(?: port \\d+)?(?(named); |(?:(?:(?! via ).)*)$)",
	        "\\S+", "; "},
	    {"^(?P<a>x+)y*(?(a)::*|z)", "x+", ":"},
	    {"^(?:(?P<a>x)|w)(?(a)-=|z)$", "x", "-="},
	    {"^(?P<a>x)(?(a):+|y)", NULL, NULL},       /* ':' quantified */
	    {"^(?P<a>x)(?(a)ab|y)", NULL, NULL},       /* letters: case */
	    {"^(?P<a>x)|(?(a): |y)", NULL, NULL},      /* top-level '|' */
	    {"^(?P<a>x)((?(a): |y))", NULL, NULL},     /* not at top level */
	    {"^(?=(?P<a>x))(?(a): |y)", NULL, NULL},   /* in a look-ahead */
	    {"^(?>(?P<a>x)|x)(?(a): |y)", NULL, NULL}, /* atomic group */
	    {"^(?P<a>x)y++(?(a): |y)", NULL, NULL},    /* possessive */
	    {"(?x)^(?P<a>x)(?(a): |y)", NULL, NULL},   /* blanks ignored */
	    {"^(?(a): |y)(?P<a>x)", NULL, NULL},       /* set after */
	    {"^(?P<a>x)(?(a): |y)?", NULL, NULL},      /* may be skipped */
	    {"^(?P<a>x)(?(a): |y){0,2}", NULL, NULL},
	};
	static const char *const subj[] = {"Denied pw to root via h.example\n",
	    "Denied pw to root via h.example port 7\n",
	    "Denied pw to root via h.example port 7; key\n",
	    "Denied pw to guest r o o t via 10.0.0.1 port 9\n",
	    "Denied pw to guest x via y via 10.0.0.1; z\n",
	    "Denied pw to a;b via h via i\n", "Denied pw to a via ; via b\n",
	    "xxy::\n", "xxyz", "xz", "x:", "x-=", "wz", "w-=", "x", "",
	    "Denied pw to \xc3\xa9t\xc3\xa9 via h\xc3\xa9; x\n"};
	struct intern keys = {NULL, 0, 0};
	pcre2_match_data *a = pcre2_match_data_create(16, NULL);
	pcre2_match_data *b = pcre2_match_data_create(16, NULL);
	size_t bad = 0, pruned = 0, lit_subj = 0;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		struct fre re;
		struct diags d = DIAGS_INIT;
		struct sbuf pc = SBUF_INIT;
		char *err = NULL, lit[16];
		size_t off, body, end;
		bool t;

		if (fre_compile(&re, pats[i].py, NULL, 0, "no", false, FRE_PREF,
		        NULL, &keys, &d) < 0) {
			ok(0, "compiles: %s", pats[i].py);
			continue;
		}
		fre_translate(re.expanded, &pc, NULL, &err, &off);
		t = fre_prune(sbuf_str(&pc), &body, &end, lit);
		if (pats[i].body)
			ok(t && end - body == strlen(pats[i].body) &&
			        memcmp(sbuf_str(&pc) + body, pats[i].body,
			            end - body) == 0 &&
			        strcmp(lit, pats[i].lit) == 0 &&
			        re.var[FRE_PRUNE] != NULL &&
			        re.nplit == strlen(pats[i].lit),
			    "%s: group body %s pruned without \"%s\"",
			    pats[i].py, pats[i].body, pats[i].lit);
		else
			ok(!t && re.var[FRE_PRUNE] == NULL,
			    "%s: no group pruned", pats[i].py);
		for (size_t k = 0; k < sizeof(subj) / sizeof(subj[0]); k++) {
			const char *s = subj[k];
			int rb;

			bad += variant_diffs(&re, s, strlen(s), a, b, &rb);
			if (re.nplit && strstr(s, re.plit) == NULL)
				pruned++;
			else if (re.nplit && rb > 0)
				lit_subj++;
		}
		free(err);
		sbuf_cleanup(&pc);
		fre_cleanup(&re);
		diags_cleanup(&d);
	}
	{
		size_t body, end;
		char lit[16];

		ok(!fre_prune(
		       "^(?P<a>x)[[:alpha:]|](?(a): |y)", &body, &end, lit),
		    "a PCRE2 class with a POSIX class in it is not read");
	}
	ok(pruned > 20 && lit_subj > 2,
	    "subjects with and without the literal (%zu, %zu)", pruned,
	    lit_subj);
	is_int(bad, 0, "the pruned variant matches like the UTF pattern");
	pcre2_match_data_free(a);
	pcre2_match_data_free(b);
	intern_cleanup(&keys);
}

/*
 * The lazy variant (fre_lazy()): which repeats it makes lazy, with which
 * literals, and that fre_match() gives the plain pattern's groups on
 * subjects holding a literal never, once and twice.
 */
static void
test_lazy(void)
{
	static const struct {
		const char *py;
		const char *lazy, *lit; /* NULL: no lazy variant */
	} pats[] = {
	    {"^Denied \\S+ to (?P<who>[^;]+) via (?P<host>\\S+)",
	        "^Denied \\S+ to (?P<who>[^;]+?) via (?P<host>\\S+)", " via "},
	    {"^(?P<a>.+) to (?P<b>.+)$", "^(?P<a>.+?) to (?P<b>.+)$", " to "},
	    {"^x(?:(?P<a>[\\w ]*)) y", "^x(?:(?P<a>[\\w ]*?)) y", " y"},
	    {"^x(?P<a>(?:z|[^ ]+))::(?P<b>\\d+)",
	        "^x(?P<a>(?:z|[^ ]+?))::(?P<b>\\d+)", "::"},
	    {"^x(?=[^;]+) via", NULL, NULL},    /* look-ahead ends */
	    {"^x(?>[^;]+) via", NULL, NULL},    /* atomic group ends */
	    {"^x(?:[^;]+)* via", NULL, NULL},   /* repeated group */
	    {"(?i)^x[^;]+ via", NULL, NULL},    /* caseless */
	    {"^x\\S+ via", NULL, NULL},         /* ' ' is no \S: possessive */
	    {"^x[^;]+? via", NULL, NULL},       /* lazy already */
	    {"^x[^;]+ v?ia", NULL, NULL},       /* a literal of one */
	    {"^x[^;]+|y via", NULL, NULL},      /* no literal follows */
	    {"^x[^;]+ via(*SKIP)", NULL, NULL}, /* a verb */
	    {"^x[[:alpha:] ]+ via", NULL, NULL},
	};
	static const char *const subj[] = {"Denied pw to root via h\n",
	    "Denied pw to root via h via i\n", "Denied pw to r via x; via h\n",
	    "Denied pw to r\n", "a to b\n", "a to b to c\n", "to to to\n",
	    " to \n", "xab y\n", "xab y y\n", "x y\n", "xz::1\n", "xzz::2::3\n",
	    "xa via\n", "xa via via\n", "x\n", "",
	    "Denied pw to \xc3\xa9t\xc3\xa9 via h\xc3\xa9 via x\n",
	    "a long subject to see the blocks of sixteen to go by, to end\n",
	    "a to b                                                to c\n"};
	struct intern keys = {NULL, 0, 0};
	pcre2_match_data *a = pcre2_match_data_create(16, NULL);
	pcre2_match_data *b = pcre2_match_data_create(16, NULL);
	size_t bad = 0, once = 0, twice = 0;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		struct fre re;
		struct diags d = DIAGS_INIT;
		struct sbuf pc = SBUF_INIT, out = SBUF_INIT;
		char *err = NULL, lits[FRE_LAZY_LITS][16];
		size_t off, n;

		if (fre_compile(&re, pats[i].py, NULL, 0, "no", false, FRE_PREF,
		        NULL, &keys, &d) < 0) {
			ok(0, "compiles: %s", pats[i].py);
			continue;
		}
		fre_translate(re.expanded, &pc, NULL, &err, &off);
		n = fre_lazy(sbuf_str(&pc),
		    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &out,
		    lits);
		if (pats[i].lazy)
			ok(n == 1 &&
			        strcmp(sbuf_str(&out), pats[i].lazy) == 0 &&
			        strcmp(lits[0], pats[i].lit) == 0 &&
			        re.var[FRE_LAZY] != NULL && re.nlazy == 1,
			    "%s: lazy as %s while \"%s\" is there once",
			    pats[i].py, pats[i].lazy, pats[i].lit);
		else
			ok(n == 0 && re.var[FRE_LAZY] == NULL && re.nlazy == 0,
			    "%s: no lazy variant", pats[i].py);
		for (size_t k = 0; k < sizeof(subj) / sizeof(subj[0]); k++) {
			const char *s = subj[k];
			int rb;

			bad += variant_diffs(&re, s, strlen(s), a, b, &rb);
			if (re.nlazy && rb > 0) {
				const char *at = strstr(s, re.lazy_lit[0]);

				if (at && strstr(at + 1, re.lazy_lit[0]))
					twice++;
				else if (at)
					once++;
			}
		}
		free(err);
		sbuf_cleanup(&pc);
		sbuf_cleanup(&out);
		fre_cleanup(&re);
		diags_cleanup(&d);
	}
	ok(once > 5 && twice > 5,
	    "matches with the literal once and twice (%zu, %zu)", once, twice);
	is_int(bad, 0, "the lazy variant matches like the plain pattern");
	pcre2_match_data_free(a);
	pcre2_match_data_free(b);
	intern_cleanup(&keys);
}

/* The next of a fixed sequence of pseudo-random numbers, below n. */
static size_t
lazy_rand(unsigned long *seed, size_t n)
{
	*seed = *seed * 6364136223846793005UL + 1442695040888963407UL;
	return (size_t)(*seed >> 33) % n;
}

/*
 * Random patterns shaped like fre_lazy()'s repeats (an item, a repeat,
 * ends of groups, a literal, more pattern) against random subjects made
 * of the literals' pieces: fre_match() must give the plain pattern's
 * result and groups every time, with and without the lazy variant.
 */
static void
test_lazy_random(void)
{
	static const char *const pre[] = {
	    "", "a", "x ", "(?:a|b)", "[ab]*", "(?P<p>a*)", "\\s*"};
	static const char *const item[] = {".", "[^:]", "[a-z ]", "\\S", "\\s",
	    "\\w", "[^x]", "[ -~]", "[^t]"};
	static const char *const lit[] = {
	    " x ", "ab", " to ", "::", "a b", "to"};
	static const char *const post[] = {"", "(?P<h>\\w+)", ".*",
	    "(?P<h>[^ ]+) y", "$", "\\s*$", "(?P<t>[^:]+) ab", "(?:to)?b",
	    "(?P<h>.+?)::"};
	static const char *const piece[] = {
	    "a", "b", " ", "x", ":", "to", " to ", "::", "ab", "\n", "y", "t"};
	struct intern keys = {NULL, 0, 0};
	pcre2_match_data *a = pcre2_match_data_create(16, NULL);
	pcre2_match_data *b = pcre2_match_data_create(16, NULL);
	unsigned long seed = 20261121;
	size_t bad = 0, lazy = 0, used = 0, matched = 0;

	for (int it = 0; it < 2000; it++) {
		struct sbuf py = SBUF_INIT;
		struct diags d = DIAGS_INIT;
		struct fre re;
		size_t wrap = lazy_rand(&seed, 3);

		sbuf_addch(&py, '^');
		sbuf_addstr(&py, pre[lazy_rand(&seed, 7)]);
		for (size_t w = 0; w < wrap; w++)
			sbuf_addstr(&py, w ? "(?:" : "(?P<g>");
		if (lazy_rand(&seed, 3) == 0)
			sbuf_addstr(&py, "b|");
		sbuf_addstr(&py, item[lazy_rand(&seed, 9)]);
		sbuf_addch(&py, lazy_rand(&seed, 2) ? '+' : '*');
		for (size_t w = 0; w < wrap; w++)
			sbuf_addch(&py, ')');
		sbuf_addstr(&py, lit[lazy_rand(&seed, 6)]);
		sbuf_addstr(&py, post[lazy_rand(&seed, 9)]);
		if (fre_compile(&re, sbuf_str(&py), NULL, 0, "no", false,
		        FRE_PREF, NULL, &keys, &d) < 0) {
			bad++;
			sbuf_cleanup(&py);
			diags_cleanup(&d);
			continue;
		}
		lazy += re.nlazy > 0;
		for (int k = 0; k < 40; k++) {
			char s[64];
			size_t n = 0, np = lazy_rand(&seed, 10);
			int rb;

			for (size_t j = 0; j < np; j++) {
				const char *q = piece[lazy_rand(&seed, 12)];

				memcpy(s + n, q, strlen(q));
				n += strlen(q);
			}
			bad += variant_diffs(&re, s, n, a, b, &rb);
			if (re.nlazy && rb > 0) {
				bool twice = false;

				for (size_t m = 0; m < re.nlazy; m++) {
					const char *l = re.lazy_lit[m];
					const char *at =
					    memmem(s, n, l, strlen(l));

					twice = twice ||
					    (at &&
					        memmem(at + 1,
					            n - (size_t)(at + 1 - s), l,
					            strlen(l)));
				}
				used += !twice;
			}
			matched += rb > 0;
		}
		fre_cleanup(&re);
		sbuf_cleanup(&py);
		diags_cleanup(&d);
	}
	ok(lazy > 500 && used > 2000 && matched > used,
	    "2000 random patterns, %zu with a lazy variant; %zu matches, "
	    "%zu of them where it applies",
	    lazy, matched, used);
	is_int(bad, 0, "every match as the plain pattern's");
	pcre2_match_data_free(a);
	pcre2_match_data_free(b);
	intern_cleanup(&keys);
}

/* The literal-prefix screen: what every match of a "^..." regex starts
 * with, and nothing where a match may start otherwise. */
static void
test_literal_prefix(void)
{
	static const struct {
		const char *py, *lit;
	} c[] = {
	    {"^Connection from (?P<x>\\S+)", "Connection from "},
	    {"^<F-NOFAIL>Received <F-MLFFORGET>disconnect</F-MLFFORGET>"
	     "</F-NOFAIL> from <HOST>",
	        "Received disconnect from "},
	    {"^a\\.b\\(c", "a.b(c"},
	    {"^ab?c", "a"},
	    {"^(?:a|b)c", ""},
	    {"^(?P<x>ab)+c", ""},
	    {"^(?:ab)?c", ""},
	    {"^x|y", ""},
	    {"(?i)^abc", ""},
	    {"^a(?i:b)c", ""},
	    {"^[ab]c", ""},
	    {"abc", ""},
	    {"^ab\\dc", "ab"},
	    {"^a{2}", ""},
	    {"^(?=ab)abc", ""},
	};
	struct intern keys = {NULL, 0, 0};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct fre re;
		struct diags d = DIAGS_INIT;

		if (!ok(fre_compile(&re, c[i].py, NULL, 0, "no", false,
		            FRE_PREF, NULL, &keys, &d) == 0,
		        "compiles: %s", c[i].py))
			continue;
		ok(re.nlit == strlen(c[i].lit) &&
		        memcmp(re.lit, c[i].lit, re.nlit) == 0,
		    "%s: prefix '%s' (got '%.*s')", c[i].py, c[i].lit,
		    (int)re.nlit, re.lit);
		fre_cleanup(&re);
		diags_cleanup(&d);
	}
	intern_cleanup(&keys);
}

/* filter_fmt_ip6() writes what glibc's inet_ntop writes. */
static void
test_fmt_ip6(void)
{
	static const char *const fixed[] = {"::", "::1", "::2",
	    "1::", "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:0:1.2.3.4",
	    "1:0:0:2::3", "1::2:0:0:3", "0:0:1::", "2001:db8::ff00:42:8329",
	    "1:2:3:4:5:6:7:8", "fe80::1:0:0:1", "::fffe:1.2.3.4", "::0.0.1.0"};
	unsigned long seed = 12345, bad = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		uint8_t b[16];
		char x[INET6_ADDRSTRLEN], y[INET6_ADDRSTRLEN];

		inet_pton(AF_INET6, fixed[i], b);
		inet_ntop(AF_INET6, b, x, sizeof(x));
		filter_fmt_ip6(b, y);
		is_str(y, x, "%s", fixed[i]);
	}
	for (int it = 0; it < 200000; it++) {
		uint8_t b[16];
		char x[INET6_ADDRSTRLEN], y[INET6_ADDRSTRLEN];

		for (int i = 0; i < 16; i++) {
			seed = seed * 6364136223846793005UL +
			    1442695040888963407UL;
			unsigned r = (unsigned)(seed >> 33);

			b[i] = r % 8 < 5 ? 0
			    : r % 8 == 5 ? 0xff
			                 : (uint8_t)(r >> 8);
		}
		inet_ntop(AF_INET6, b, x, sizeof(x));
		filter_fmt_ip6(b, y);
		bad += strcmp(x, y) != 0;
	}
	is_int(bad, 0, "200000 sparse addresses as inet_ntop writes them");
}

/* filter_parse_ip4() takes exactly what glibc's inet_pton takes. */
static void
test_parse_ip4(void)
{
	static const char alpha[] = "0123456789012345.....a ";
	unsigned long seed = 424242, bad = 0, valid = 0;

	for (int it = 0; it < 300000; it++) {
		char s[24];
		uint8_t x[4], y[4];
		int rx, ry;

		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		size_t n = (size_t)(seed >> 33) % 20;

		for (size_t i = 0; i < n; i++) {
			seed = seed * 6364136223846793005UL +
			    1442695040888963407UL;
			s[i] = alpha[(seed >> 33) % (sizeof(alpha) - 1)];
		}
		s[n] = '\0';
		if (it % 3 == 0) /* a dotted quad, often a valid one */
			snprintf(s, sizeof(s), "%lu.%lu.%lu.%lu%s",
			    (seed >> 13) % 300, (seed >> 22) % 260,
			    (seed >> 31) % 1100, (seed >> 40) % 256,
			    (seed >> 50) % 8 == 0 ? "0" : "");
		rx = inet_pton(AF_INET, s, x) == 1 ? 0 : -1;
		ry = filter_parse_ip4(s, y);
		valid += rx == 0;
		bad += rx != ry || (rx == 0 && memcmp(x, y, 4) != 0);
	}
	ok(bad == 0 && valid > 10000,
	    "300000 strings (%lu addresses) read as inet_pton reads them",
	    valid);
	for (size_t i = 0; i < 4; i++) {
		static const char *const fixed[] = {
		    "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3.256"};
		uint8_t x[4], y[4];

		ok((inet_pton(AF_INET, fixed[i], x) == 1 ? 0 : -1) ==
		        filter_parse_ip4(fixed[i], y),
		    "'%s'", fixed[i]);
	}
}

/* filter_parse_ip6() takes exactly what glibc's inet_pton takes. */
static void
test_parse_ip6(void)
{
	static const char *const fixed[] = {"", ":", "::", ":::", "::1",
	    "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
	    "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
	    "1:2:3:4:5:6:7:8::", "1::2::3",
	    "12345::", "fFfF::", "g::", "::ffff:1.2.3.4", "::1.2.3.4",
	    "1.2.3.4", "::1.2.3", "::1.2.3.4.5", "::01.2.3.4", "::256.2.3.4",
	    "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5",
	    "1:", ":1", "1::2:", "2001:db8::ff00:42:8329", " ::1", "::1 ",
	    "[::1]", "::1/64", "fe80::1%eth0", "0:0:0:0:0:0:0:0", "::0.0.0.0"};
	static const char alpha[] = "0123456789abcdefABCDEFg:::::....";
	unsigned long seed = 987654321, bad = 0, valid = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		uint8_t x[16], y[16];
		int rx = inet_pton(AF_INET6, fixed[i], x) == 1 ? 0 : -1;
		int ry = filter_parse_ip6(fixed[i], y);

		ok(rx == ry && (rx < 0 || memcmp(x, y, 16) == 0), "'%s': %s",
		    fixed[i], rx == 0 ? "an address" : "not one");
	}
	for (int it = 0; it < 300000; it++) {
		char s[48];
		uint8_t x[16], y[16];
		int rx, ry;

		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		size_t n = (size_t)(seed >> 33) % 40;

		for (size_t i = 0; i < n; i++) {
			seed = seed * 6364136223846793005UL +
			    1442695040888963407UL;
			/* mostly hex digits and colons, as addresses are */
			s[i] = alpha[(seed >> 33) % (sizeof(alpha) - 1)];
		}
		s[n] = '\0';
		rx = inet_pton(AF_INET6, s, x) == 1 ? 0 : -1;
		ry = filter_parse_ip6(s, y);
		valid += rx == 0;
		bad += rx != ry || (rx == 0 && memcmp(x, y, 16) != 0);
	}
	is_int(bad, 0,
	    "300000 random strings (%lu addresses) read as inet_pton "
	    "reads them",
	    valid);
	for (int it = 0; it < 200000; it++) {
		uint8_t b[16], x[16], y[16];
		char t[INET6_ADDRSTRLEN + 2];

		for (int i = 0; i < 16; i++) {
			seed = seed * 6364136223846793005UL +
			    1442695040888963407UL;
			unsigned r = (unsigned)(seed >> 33);

			b[i] = r % 8 < 5 ? 0
			    : r % 8 == 5 ? 0xff
			                 : (uint8_t)(r >> 8);
		}
		inet_ntop(AF_INET6, b, t, sizeof(t));
		bad += inet_pton(AF_INET6, t, x) != 1 ||
		    filter_parse_ip6(t, y) != 0 || memcmp(x, y, 16) != 0;
		/* and once more with one byte changed */
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		{
			size_t n = strlen(t),
			       at = (size_t)(seed >> 33) % (n + 1);
			int rx, ry;

			t[at] = alpha[(seed >> 20) % (sizeof(alpha) - 1)];
			if (at == n)
				t[at + 1] = '\0';
			rx = inet_pton(AF_INET6, t, x) == 1 ? 0 : -1;
			ry = filter_parse_ip6(t, y);
			bad += rx != ry || (rx == 0 && memcmp(x, y, 16) != 0);
		}
	}
	is_int(bad, 0,
	    "200000 written addresses read back, also with a byte changed");
}

/* FILTER_LEAN decides every line as the full mode does. */
static void
test_lean(void)
{
	struct diags d = DIAGS_INIT;
	const char *pref = "^<F-MLFID>\\s*\\S+ sshd\\[\\d+\\]: </F-MLFID>"
	                   "<F-CONTENT>.+</F-CONTENT>$";
	const char *re[] = {
	    "^Failed \\S+ for (?:invalid user )?<F-USER>\\S+</F-USER> from "
	    "<HOST>",
	    "^<F-NOFAIL>Connection from</F-NOFAIL> <HOST>",
	    "^Failed none for <F-USER>\\S+</F-USER>$",
	    "^<F-NOFAIL><F-MLFFORGET>Disconnected</F-MLFFORGET></F-NOFAIL> "
	    "from <HOST>$",
	    "^<F-MLFFORGET><F-MLFGAINED>Accepted \\w+</F-MLFGAINED>"
	    "</F-MLFFORGET> for <F-USER>\\S+</F-USER> from <HOST>",
	    "^auth ruser=<F-ALT_USER>\\S*</F-ALT_USER> rhost=<HOST>"
	    "(?: user=<F-USER>\\S*</F-USER>)?",
	    "^tuple <F-ID>\\S+</F-ID> <F-TUPLE_ID>\\d+</F-TUPLE_ID> port "
	    "<F-PORT>\\d+</F-PORT>",
	    NULL};
	static const char *const lines[] = {
	    "Aug 14 11:59:00 h sshd[1]: Connection from 192.0.2.5",
	    "Aug 14 11:59:01 h sshd[1]: Failed password for root from "
	    "192.0.2.5 port 22",
	    "Aug 14 11:59:01 h sshd[1]: Failed password for invalid user "
	    "bob from 192.0.2.5 port 22",
	    "Aug 14 11:59:02 h sshd[2]: Failed none for eve",
	    "Aug 14 11:59:03 h sshd[2]: auth ruser=eve rhost=2001:db8::1",
	    "Aug 14 11:59:03 h sshd[2]: Disconnected from 192.0.2.6",
	    "Aug 14 11:59:04 h sshd[3]: Connection from 192.0.2.8",
	    "Aug 14 11:59:05 h sshd[3]: Accepted password for bob from "
	    "192.0.2.8",
	    "Aug 14 11:59:06 h sshd[3]: Failed password for bob from "
	    "192.0.2.8 port 22",
	    "Aug 14 11:59:07 h sshd[4]: auth ruser= rhost=host.example "
	    "user=al",
	    "Aug 14 11:59:08 h sshd[4]: tuple abc 12 port 22",
	    "Aug 14 11:59:09 h sshd[4]: Disconnected from 192.0.2.9",
	    "Aug 14 11:59:10 h sshd[5]: Failed none for x",
	};
	unsigned modes[] = {FILTER_CHECK_ALL | FILTER_KEEP_PENDING,
	    FILTER_KEEP_PENDING, FILTER_CHECK_ALL | FILTER_RAW_HOSTS, 0};
	size_t bad = 0, total = 0;

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct filter *full = mk(pref, re, NULL, 1, modes[m], &d);
		struct filter *lean =
		    mk(pref, re, NULL, 1, modes[m] | FILTER_LEAN, &d);

		for (int rep = 0; rep < 2; rep++) {
			for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]);
			     i++) {
				struct filter_result a, b;

				run(full, lines[i], &a);
				run(lean, lines[i], &b);
				total += a.n;
				if (a.n != b.n || a.ignored != b.ignored ||
				    b.npref_groups != 0) {
					bad++;
					continue;
				}
				for (size_t k = 0; k < a.n; k++) {
					const struct failure *x = &a.v[k],
					                     *y = &b.v[k];

					if (x->regex != y->regex ||
					    x->kind != y->kind ||
					    x->nofail != y->nofail ||
					    x->has_time != y->has_time ||
					    x->time != y->time ||
					    (x->id.text == NULL) !=
					        (y->id.text == NULL) ||
					    (x->id.text &&
					        strcmp(
					            x->id.text, y->id.text)) ||
					    y->ngroups || y->nmatches)
						bad++;
				}
			}
		}
		filter_free(full);
		filter_free(lean);
	}
	ok(total > 20, "the lines fail %zu times", total);
	is_int(bad, 0, "lean mode: same failures, ids and nofail, no details");
	diags_cleanup(&d);
}

/* A date fail2ban throws on drops the line ("Failed to process line"). */
static void
test_date_error_drops(void)
{
	struct diags d = DIAGS_INIT;
	const char *re[] = {"warning: <HOST>", NULL};
	struct filterdef fd;
	struct filter_config cfg = {.flags = FILTER_CHECK_ALL};
	struct filter_result res;
	struct filter_stats st;
	struct filter *f = mk(NULL, re, NULL, 1, FILTER_CHECK_ALL, &d);

	is_int(run(f, "Jan 23 21:59:59 host warning: 192.0.2.1", &res), 1,
	    "a plain syslog line fails");
	/* "INFO" reads as an unknown zone abbreviation: KeyError */
	is_int(run(f, "INFO Jan 23 21:59:59 host warning: 192.0.2.1", &res), 0,
	    "a date with an unknown zone drops the line");
	ok(res.warn & FILTER_WARN_DATE_ERROR, "with the date error warning");
	filter_get_stats(f, &st);
	is_int(st.date_errors, 1, "counted");
	filter_free(f);
	/* a template matching empty at the line's end: IndexError */
	fd_init(&fd, NULL, re, NULL, 1);
	filterdef_re_set(&fd.datepattern, "{UNB}$", "t.conf", 5);
	f = filter_new(&fd, &cfg, (time_t)NOW, &d);
	filterdef_cleanup(&fd);
	if (ok(f != NULL, "datepattern {UNB}$ compiles")) {
		is_int(run(f, "Jan 23 21:59:59 host warning: 192.0.2.1", &res),
		    0, "an empty date at the end drops the line");
		ok(res.warn & FILTER_WARN_DATE_ERROR, "with the warning");
	}
	filter_free(f);
	diags_cleanup(&d);
}

/* A failure's time is an int where fail2ban's is (-o row prints it
 * without ".0"), also when a dateless line takes the last date. */
static void
test_int_time(void)
{
	struct diags d = DIAGS_INIT;
	const char *re[] = {"warning: <HOST>", NULL};
	struct filter_result res;
	struct filter *f = mk(NULL, re, NULL, 1, FILTER_CHECK_ALL, &d);
	double now = 1238075100.0;

	filter_process(
	    f, "2009-03-26 14:44:20 +0100 warning: 192.0.2.1", 44, now, &res);
	ok(res.n == 1 && res.v[0].int_time && res.v[0].time == 1238075060,
	    "a date with a zone: int");
	filter_process(f, "no date warning: 192.0.2.2", 26, now, &res);
	ok(res.n == 1 && res.v[0].int_time && res.v[0].time == 1238075060,
	    "a dateless line after it takes its int date");
	filter_process(
	    f, "2009-03-26 14:44:21 warning: 192.0.2.3", 38, now, &res);
	ok(res.n == 1 && !res.v[0].int_time, "a date without zone: float");
	filter_process(f, "no date warning: 192.0.2.4", 26, now, &res);
	ok(res.n == 1 && !res.v[0].int_time,
	    "a dateless line after that: float");
	filter_free(f);
	diags_cleanup(&d);
}

/* The filterdef says whether maxlines was set (fail2ban-regex prints
 * "Use maxlines" only then), also when it is set to 1. */
static void
test_maxlines_set(void)
{
	char dir[] = "/tmp/test_filter.XXXXXX";
	const char *vars[] = {"backend", "auto", NULL};
	static const struct {
		const char *name, *text;
		bool set;
		int maxlines;
	} c[] = {
	    {"one", "[Definition]\nfailregex = x <HOST>\nmaxlines = 1\n", true,
	        1},
	    {"none", "[Definition]\nfailregex = x <HOST>\n", false, 1},
	    {"three", "[Definition]\nfailregex = x <HOST>\nmaxlines = 3\n",
	        true, 3},
	};

	if (!ok(mkdtemp(dir) != NULL, "a scratch config directory"))
		return;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *sub = xasprintf("%s/filter.d", dir);
		char *path = xasprintf("%s/%s.conf", sub, c[i].name);
		struct filterdef fd;
		struct diags d = DIAGS_INIT;
		FILE *fp;

		mkdir(sub, 0700);
		fp = fopen(path, "w");
		if (fp) {
			fputs(c[i].text, fp);
			fclose(fp);
		}
		filterdef_init(&fd);
		if (conf_filter_load(dir, c[i].name, vars, &fd, &d) == 0) {
			is_int(fd.maxlines_set, c[i].set, "%s: maxlines_set",
			    c[i].name);
			is_int(fd.maxlines, c[i].maxlines, "%s: maxlines",
			    c[i].name);
		} else {
			diags_print(&d, stdout);
			ok(0, "%s loads", c[i].name);
		}
		filterdef_cleanup(&fd);
		diags_cleanup(&d);
		unlink(path);
		rmdir(sub);
		free(path);
		free(sub);
	}
	rmdir(dir);
}

/* One line's results as text, to compare two runs. */
static void
result_text(const struct filter_result *res, struct sbuf *out)
{
	sbuf_printf(out, "n=%zu ign=%d pref=%d warn=%u;", res->n, res->ignored,
	    res->pref_matched, res->warn);
	for (size_t i = 0; i < res->n; i++) {
		const struct failure *fl = &res->v[i];

		sbuf_printf(out, " [%d %d %s %d %.3f %d]", fl->regex, fl->kind,
		    fl->id.text ? fl->id.text : "-", fl->has_time, fl->time,
		    fl->nofail);
	}
	sbuf_addch(out, '\n');
}

/*
 * The two-stage pipeline (filter_prep_line + filter_process_pre) gives
 * filter_process()'s results line for line, with the searches worked out
 * ahead or not, in every mode warden regex uses.
 */
static void
test_pipeline(void)
{
	static const char *const fail[] = {
	    "^Failed \\S+ for (?:invalid user )?<F-USER>\\S+</F-USER> from "
	    "<HOST>( port \\d+)?$",
	    "^<F-NOFAIL>Connection from</F-NOFAIL> <HOST>",
	    "^<F-MLFFORGET>Disconnected</F-MLFFORGET> from <HOST>",
	    "^Invalid user <F-USER>.*?</F-USER> from <HOST>", NULL};
	static const char *const ign[] = {"from 10\\.9\\.", NULL};
	static const char *const lines[] = {
	    "Aug 14 11:58:59 srv sshd[1]: Failed password for root from "
	    "192.0.2.1 port 22",
	    "Aug 14 11:58:59 srv sshd[1]: Connection from 192.0.2.7",
	    "srv sshd[2]: Failed password for bob from 192.0.2.2",
	    "Aug 14 11:59:00 srv sshd[3]: Failed password for \xff\xfe from "
	    "192.0.2.3",
	    "Aug 14 11:59:01 srv cron[4]: Failed password for x from "
	    "192.0.2.4",
	    "Aug 14 11:59:02 srv sshd[5]: Invalid user a b from 10.9.1.1",
	    "Aug 14 11:59:03 srv sshd[5]: Disconnected from 192.0.2.8",
	    "[Aug 14 11:59:04] srv sshd[6]: Failed none for c from ::1",
	    "Aug 14 11:59:05 srv sshd[7]: Failed password for "
	    "dddddddddddddddddddddddddddddddddddddddddddddd from 192.0.2.9",
	    "Aug 14 11:59:06 srv sshd[8]: ",
	    "Aug 14 11:59:07 srv sshd[9]: Invalid user \xc3\xa9 from "
	    "2001:db8::1",
	};
	static const unsigned modes[] = {FILTER_CHECK_ALL | FILTER_LEAN |
	        FILTER_KEEP_PENDING | FILTER_WIDE_YEARS,
	    FILTER_CHECK_ALL | FILTER_KEEP_PENDING, FILTER_LEAN, 0};
	size_t nl = sizeof(lines) / sizeof(lines[0]);

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (int withign = 0; withign < 2; withign++) {
			struct filterdef fd;
			struct filter_config cfg = {
			    .flags = modes[m], .max_line_len = 90};
			struct diags d = DIAGS_INIT;
			struct filter *a, *b;
			struct filter_prep *prep;
			struct sbuf ta = SBUF_INIT, tb = SBUF_INIT;
			struct filter_pre *pre[16];
			char *copy[16];
			size_t pos[16];

			/* \s*: the blank the date leaves (without it only
			 * the date-less line would reach the failregexes) */
			fd_init(&fd,
			    "^\\s*\\S+ (?:sshd|cron)\\[\\d+\\]: "
			    "<F-CONTENT>.+</F-CONTENT>$",
			    fail, withign ? ign : NULL, 1);
			a = filter_new(&fd, &cfg, (time_t)NOW, &d);
			b = filter_new(&fd, &cfg, (time_t)NOW, &d);
			filterdef_cleanup(&fd);
			if (!ok(a && b, "pipeline filters compile")) {
				diags_print(&d, stdout);
				filter_free(a);
				filter_free(b);
				diags_cleanup(&d);
				continue;
			}
			prep = filter_prep_new(b);
			/* three passes, the second stage two lines behind,
			 * searches ahead on every other line, then on all */
			for (int pass = 0; pass < 3; pass++) {
				for (size_t i = 0; i < nl + 2; i++) {
					struct filter_result ra, rb;

					if (i < nl) {
						pre[i % 16] = filter_pre_new(b);
						pos[i % 16] = i;
						filter_process(a, lines[i],
						    strlen(lines[i]), NOW, &ra);
						result_text(&ra, &ta);
						/* passes 1 and 2: each line
						 * followed by its newline (a
						 * subject searched in place) */
						copy[i % 16] = xasprintf("%s%s",
						    lines[i], pass ? "\n" : "");
						filter_prep_line(prep,
						    copy[i % 16],
						    strlen(lines[i]), NOW,
						    pass == 2 || (i + pass) % 2,
						    pre[i % 16]);
						/* or the searches afterwards,
						 * as the pipeline's reader
						 * may do them */
						if (pass == 1 && i % 4 == 1)
							filter_prep_search(prep,
							    pre[i % 16],
							    copy[i % 16]);
					}
					if (i >= 2) {
						size_t k = (i - 2) % 16;

						(void)pos[k];
						filter_process_pre(
						    b, pre[k], NOW, &rb);
						result_text(&rb, &tb);
						filter_pre_free(pre[k]);
						free(copy[k]);
					}
				}
			}
			is_str(sbuf_str(&tb), sbuf_str(&ta),
			    "pipeline = filter_process (mode %zu, ign %d)", m,
			    withign);
			for (size_t t = 0;
			     t < datedetect_count(filter_datedetect(a)); t++)
				if (datedetect_hits(filter_datedetect(a), t) !=
				    datedetect_hits(filter_datedetect(b), t))
					ok(0, "date template %zu hits", t);
			filter_prep_free(prep);
			filter_free(a);
			filter_free(b);
			sbuf_cleanup(&ta);
			sbuf_cleanup(&tb);
			diags_cleanup(&d);
		}
	}
}

/*
 * The second stage starts the failregex loop where the searches worked
 * out ahead stop being known misses: past the ones a line keeps
 * (8), past an ovector that does not fit (a failregex with 70 groups),
 * past the first 64 failregexes. Every line finds the same failregex as
 * filter_process() does.
 */
static void
test_pipeline_skip(void)
{
	enum { NF = 70 };
	char *fail[NF + 1];
	static const char *const lines[] = {
	    "Aug 14 11:58:59 srv sshd[1]: Fail n3 from 192.0.2.3",
	    "Aug 14 11:58:59 srv sshd[1]: Fail n2 from 192.0.2.2",
	    "Aug 14 11:58:59 srv sshd[1]: Fail n9 from 192.0.2.9",
	    "Aug 14 11:58:59 srv sshd[1]: Fail n66 from 192.0.2.66",
	    "Aug 14 11:58:59 srv sshd[1]: Fail n69 from 192.0.2.69",
	    "Aug 14 11:58:59 srv sshd[1]: Fail zz from 192.0.2.1",
	    "Aug 14 11:58:59 srv sshd[1]: Gone n3 from 192.0.2.3",
	};
	size_t nl = sizeof(lines) / sizeof(lines[0]);
	struct sbuf ta = SBUF_INIT, tb = SBUF_INIT;
	struct filterdef fd;
	struct filter_config cfg = {.flags = FILTER_LEAN};
	struct diags d = DIAGS_INIT;
	struct filter *a, *b;
	struct filter_prep *prep;
	struct sbuf big = SBUF_INIT;

	sbuf_addstr(&big, "^F\\S* n2 from <HOST>$");
	for (int g = 0; g < 70; g++)
		sbuf_addstr(&big, "(x)?");
	for (int i = 0; i < NF; i++)
		fail[i] = i == 2 ? xstrdup(sbuf_str(&big))
		                 : xasprintf("^F\\S* n%d from <HOST>$", i);
	fail[NF] = NULL;
	fd_init(&fd, "^\\s*\\S+ sshd\\[\\d+\\]: <F-CONTENT>.+</F-CONTENT>$",
	    (const char *const *)fail, NULL, 1);
	a = filter_new(&fd, &cfg, (time_t)NOW, &d);
	b = filter_new(&fd, &cfg, (time_t)NOW, &d);
	filterdef_cleanup(&fd);
	if (ok(a && b, "skip filters compile")) {
		prep = filter_prep_new(b);
		for (size_t i = 0; i < nl; i++) {
			struct filter_result ra, rb;
			struct filter_pre *pre = filter_pre_new(b);
			char *copy = xasprintf("%s\n", lines[i]);

			filter_process(a, lines[i], strlen(lines[i]), NOW, &ra);
			result_text(&ra, &ta);
			filter_prep_line(
			    prep, copy, strlen(lines[i]), NOW, true, pre);
			filter_process_pre(b, pre, NOW, &rb);
			result_text(&rb, &tb);
			filter_pre_free(pre);
			free(copy);
		}
		is_str(sbuf_str(&tb), sbuf_str(&ta),
		    "pipeline past the kept searches = filter_process");
		ok(strstr(sbuf_str(&ta), "192.0.2.66") &&
		        strstr(sbuf_str(&ta), "192.0.2.2") &&
		        strstr(sbuf_str(&ta), "192.0.2.9"),
		    "failregexes 2, 9 and 66 match");
		filter_prep_free(prep);
	} else {
		diags_print(&d, stdout);
	}
	filter_free(a);
	filter_free(b);
	for (int i = 0; i < NF; i++)
		free(fail[i]);
	sbuf_cleanup(&big);
	sbuf_cleanup(&ta);
	sbuf_cleanup(&tb);
	diags_cleanup(&d);
}

int
main(void)
{
	setenv("TZ", "CET-01CEST-02,M3.5.0,M10.5.0", 1);
	tzset();
	test_tags();
	test_translate();
	test_errors();
	test_ids();
	test_alt_tuple();
	test_multiline();
	test_mlfid();
	test_dates_and_ignore();
	test_findtime();
	test_caps();
	test_variants();
	test_prune();
	test_lazy();
	test_lazy_random();
	test_literal_prefix();
	test_fmt_ip6();
	test_parse_ip4();
	test_parse_ip6();
	test_lean();
	test_date_error_drops();
	test_int_time();
	test_maxlines_set();
	test_pipeline();
	test_pipeline_skip();
	return done_testing();
}
