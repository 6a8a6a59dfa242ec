/*
 * The conf module's building blocks: %(x)s interpolation (and its errors),
 * <tag> substitution, the name[k=v] parser and its exact fail2ban error
 * messages, the action list splitter, shlex, did-you-mean, and
 * conf_filter_load on a small tree of our own. Expected values were
 * checked against fail2ban 1.0.2's helpers and configparser.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "sbuf.h"
#include "tap.h"
#include "xmalloc.h"

static char tmpdir[] = "/tmp/warden-test-conf-XXXXXX";

static void
put(const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", tmpdir, rel);
	FILE *fp;
	char *slash = strrchr(p, '/');

	*slash = '\0';
	mkdir(p, 0755);
	*slash = '/';
	fp = fopen(p, "w");
	if (fp == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
	free(p);
}

/* ---- interpolation ---- */

static struct cctx ctx;
static struct diags diags;
static struct cp *cp;

static const char *
get(const char *sec, const char *opt, const struct omap *vars)
{
	static struct astr out;

	astr_cleanup(&out);
	if (cp_get(&ctx, cp, sec, opt, false, vars, &out, NULL) != CP_OK)
		return NULL;
	return astr_str(&out);
}

static int
last_line(void)
{
	return diags.n ? diags.v[diags.n - 1].line : -1;
}

static void
test_interpolation(void)
{
	struct omap vars = OMAP_INIT;
	size_t n0;

	put("t.conf",
	    "[DEFAULT]\n"
	    "d = dflt\n"
	    "who = %(__name__)s\n"
	    "[sec]\n"
	    "a = A\n"
	    "b = %(a)s-%(d)s\n"
	    "pct = 100%%\n"
	    "cross = %(other/x)s+%(default/d)s\n"
	    "kn = %(known/a)s\n"
	    "bad1 = %(nosuch)s\n"
	    "bad2 = 5%z\n"
	    "bad3 = %(open\n"
	    "loop = %(loop)s\n"
	    "l0 = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	    "l1 = %(l0)s%(l0)s%(l0)s%(l0)s%(l0)s%(l0)s%(l0)s%(l0)s\n"
	    "l2 = %(l1)s%(l1)s%(l1)s%(l1)s%(l1)s%(l1)s%(l1)s%(l1)s\n"
	    "l3 = %(l2)s%(l2)s%(l2)s%(l2)s%(l2)s%(l2)s%(l2)s%(l2)s\n"
	    "l4 = %(l3)s%(l3)s%(l3)s%(l3)s%(l3)s%(l3)s%(l3)s%(l3)s\n"
	    "l5 = %(l4)s%(l4)s%(l4)s%(l4)s%(l4)s%(l4)s%(l4)s%(l4)s\n"
	    "l6 = %(l5)s%(l5)s%(l5)s%(l5)s%(l5)s%(l5)s%(l5)s%(l5)s\n"
	    "l7 = %(l6)s%(l6)s%(l6)s%(l6)s%(l6)s%(l6)s%(l6)s%(l6)s\n"
	    "[other]\n"
	    "x = X\n");
	put("t.local", "[sec]\na = A2\n");
	diags_init(&diags);
	cctx_init(&ctx, tmpdir, &diags);
	is_int(cp_read_named(&ctx, "t", &cp), 1, "t.conf + t.local read");
	is_str(get("sec", "a", NULL), "A2", ".local overrides .conf");
	is_str(get("sec", "b", NULL), "A2-dflt", "section then DEFAULT");
	is_str(get("sec", "who", NULL), "sec", "__name__ is the section");
	is_str(get("sec", "pct", NULL), "100%",
	    "double percent is a percent sign");
	is_str(get("sec", "cross", NULL), "X+dflt", "sec/opt and default/opt");
	is_str(
	    get("sec", "kn", NULL), "A", "known/a is the value before .local");
	omap_set(&vars, "a", astr_new("V", 0), omap_astr_free);
	is_str(get("sec", "b", &vars), "V-dflt", "vars win over the section");
	omap_cleanup(&vars, omap_astr_free);
	ok(get("sec", "nosuch", NULL) == NULL, "missing option");

	n0 = diags.nerrors;
	ok(get("sec", "bad1", NULL) == NULL && diags.nerrors == n0 + 1 &&
	        strstr(diags.v[diags.n - 1].msg, "'%(nosuch)s' is not defined"),
	    "undefined reference is an error");
	is_int(last_line(), 10, "... at its line");
	ok(get("sec", "bad2", NULL) == NULL &&
	        strstr(diags.v[diags.n - 1].msg, "must be followed by"),
	    "stray percent is an error");
	ok(get("sec", "bad3", NULL) == NULL &&
	        strstr(diags.v[diags.n - 1].msg,
	            "bad interpolation variable reference"),
	    "unterminated reference is an error");
	ok(get("sec", "loop", NULL) == NULL &&
	        strstr(diags.v[diags.n - 1].msg, "recursion limit"),
	    "self reference hits the depth limit");
	ok(get("sec", "l7", NULL) == NULL &&
	        strstr(diags.v[diags.n - 1].msg, "too large"),
	    "billion laughs stops at the size cap");
	is_int(last_line(), 15, "... reported where the expansion happens");
	ok(ctx.fatal != NULL, "interpolation errors are fatal for fail2ban");
	cctx_cleanup(&ctx);
	diags_cleanup(&diags);
}

/* ---- tags ---- */

static int
repl_cb(void *actx, const char *tag, struct astr **out)
{
	static struct astr fromcb;

	(void)actx;
	*out = NULL;
	if (strcmp(tag, "cb") == 0) {
		astr_cleanup(&fromcb);
		astr_addstr(&fromcb, "CB", 0);
		*out = &fromcb;
	}
	return 0;
}

static const char *
sub(const char *const *kv, const char *key, const char *ignore_one)
{
	static struct omap res;
	struct omap in = OMAP_INIT, ign = OMAP_INIT;
	const struct astr *v;

	omap_cleanup(&res, omap_astr_free);
	for (size_t i = 0; kv[i]; i += 2)
		omap_set(&in, kv[i], astr_new(kv[i + 1], 0), omap_astr_free);
	if (ignore_one)
		omap_set(&ign, ignore_one, NULL, NULL);
	if (conf_substitute_tags(&ctx, &in, &ign, repl_cb, NULL, &res) != 0) {
		omap_cleanup(&in, omap_astr_free);
		omap_cleanup(&ign, NULL);
		return NULL;
	}
	omap_cleanup(&in, omap_astr_free);
	omap_cleanup(&ign, NULL);
	v = omap_get(&res, key);
	return v ? astr_str(v) : NULL;
}

static void
test_tags(void)
{
	static const char *const t1[] = {"a", "3", "b", "<a>_3", NULL};
	static const char *const t2[] = {"mode", "normal", "mdre-normal",
	    "N<x>", "x", "X", "re", "<mdre-<mode>> <ip> <cb>", NULL};
	static const char *const t3[] = {"a", "<b>", "b", "<a>", NULL};
	static const char *const t4[] = {"a", "1<a>", NULL};
	static const char *const t5[] = {"a", "<ign>", "ign", "I", NULL};

	diags_init(&diags);
	cctx_init(&ctx, "/nonexistent", &diags);
	is_str(sub(t1, "b", NULL), "3_3", "<a> replaced");
	is_str(sub(t2, "re", NULL), "NX <ip> CB",
	    "nested <mdre-<mode>>, unknown <ip> kept, callback used");
	ok(sub(t3, "a", NULL) == NULL && diags.nerrors == 1,
	    "mutual reference is an error");
	ok(sub(t4, "a", NULL) == NULL && ctx.nerr == 2,
	    "self reference is an error");
	is_str(sub(t5, "a", "ign"), "<ign>", "ignored tags stay");
	cctx_cleanup(&ctx);
	diags_cleanup(&diags);
}

/* ---- name[k=v] ---- */

static void
extract(const char *s, const char *want_name, const char *want_opts,
    const char *want_err)
{
	struct astr in = ASTR_INIT, name = ASTR_INIT;
	struct omap opts = OMAP_INIT;
	char *err = NULL;
	struct sbuf b = SBUF_INIT;
	int rc;

	astr_addstr(&in, s, 0);
	rc = conf_extract_options(&in, &name, &opts, &err);
	for (size_t i = 0; i < opts.n; i++)
		sbuf_printf(&b, "%s%s=%s", i ? "|" : "", opts.v[i].key,
		    astr_str(opts.v[i].val));
	if (want_err) {
		ok(rc == -1, "'%s' is an error", s);
		is_str(err, want_err, "... with fail2ban's message");
	} else {
		ok(rc == 0, "'%s' parses", s);
		is_str(astr_str(&name), want_name, "... name");
		is_str(sbuf_str(&b), want_opts, "... options");
	}
	free(err);
	sbuf_cleanup(&b);
	astr_cleanup(&in);
	astr_cleanup(&name);
	omap_cleanup(&opts, omap_astr_free);
}

static void
test_params(void)
{
	struct astr in = ASTR_INIT;
	struct astrv v = {NULL, 0, 0};
	struct strv sv = STRV_INIT;
	char *err = NULL;

	extract("name", "name", "", NULL);
	extract("name[a=1, b=\"x, y\", c='q']", "name", "a=1|b=x, y|c=q", NULL);
	extract("n[a=1][b=2]", "n", "a=1|b=2", NULL);
	extract("n[a=1] [b=\"]\"]", "n", "a=1|b=]", NULL);
	extract("n[ a=1 , b= 2 ]", "n", "a=1|b=2", NULL);
	extract("n[]", "n", "", NULL);
	extract("n[a=]", "n", "a=", NULL);
	extract("n[a=1,]", "n", "a=1", NULL);
	extract("n[a=\"unterminated]", "n", "a=\"unterminated", NULL);
	extract("n[a=1 x", NULL, NULL, "unexpected option syntax");
	extract("n[a=1]x", NULL, NULL, "unexpected option syntax");
	extract("[a=1]", NULL, NULL, "unexpected option syntax");
	extract("n[a=\"x\"y]", NULL, NULL,
	    "unexpected syntax at 5 after option 'a': y");
	extract("n[a=1,,b=2]", NULL, NULL,
	    "expected option, wrong syntax at 4: ,b=2");
	extract("n[a = 1]", NULL, NULL,
	    "expected option, wrong syntax at 0: a = 1");

	astr_addstr(
	    &in, "a[x=1]\n b[y=2, z=\"3 4\"] c\n  d[p=\"multi\nline\"]  e", 0);
	conf_split_with_options(&in, &v, &err);
	ok(v.n == 5 && strcmp(v.v[0].s, "a[x=1]\n") == 0 &&
	        strcmp(v.v[1].s, "b[y=2, z=\"3 4\"]") == 0 &&
	        strcmp(v.v[3].s, "d[p=\"multi\nline\"] ") == 0 &&
	        strcmp(v.v[4].s, "e") == 0,
	    "action list split as splitWithOptions");
	astrv_cleanup(&v);
	astr_cleanup(&in);

	ok(conf_shlex_split(
	       "a \"b c\" d\\ e 'f g' h\"i\"j \"k\\\"l\"", &sv, &err) == 0 &&
	        sv.n == 6 && strcmp(sv.v[1], "b c") == 0 &&
	        strcmp(sv.v[2], "d e") == 0 && strcmp(sv.v[4], "hij") == 0 &&
	        strcmp(sv.v[5], "k\"l") == 0,
	    "shlex.split");
	strv_cleanup(&sv);
	ok(conf_shlex_split("a \"b", &sv, &err) == -1 &&
	        strcmp(err, "No closing quotation") == 0,
	    "shlex: unbalanced quote");
	free(err);
	strv_cleanup(&sv);
}

static void
test_did_you_mean(void)
{
	static const char *const names[] = {"enabled", "maxretry", "bantime",
	    "findtime", "ignoreip", "action", NULL};

	is_str(conf_did_you_mean("maxretyr", names), "maxretry", "maxretyr");
	is_str(conf_did_you_mean("enable", names), "enabled", "enable");
	is_str(conf_did_you_mean("bantme", names), "bantime", "bantme");
	is_str(
	    conf_did_you_mean("maxretries", names), "maxretry", "maxretries");
	is_str(conf_did_you_mean("ignoreips", names), "ignoreip", "ignoreips");
	ok(conf_did_you_mean("port", names) == NULL, "port is no typo");
	ok(conf_did_you_mean("banaction", names) == NULL,
	    "banaction is no typo");
	ok(conf_did_you_mean("maxretry", names) == NULL, "exact is no typo");
}

static void
test_filter_load(void)
{
	struct filterdef fd;
	struct diags d = DIAGS_INIT;
	const char *vars[] = {"backend", "systemd", NULL};

	put("filter.d/common.conf",
	    "[lt_file]\n_pre = (?:file: )?\n[lt_journal]\n_pre = (?:jrnl: )?\n"
	    "[Definition]\n");
	put("filter.d/demo.conf",
	    "[INCLUDES]\nbefore = common.conf\n"
	    "[DEFAULT]\n_pre = <lt_<logtype>/_pre>\n"
	    "[Definition]\n"
	    "failregex = ^%(_pre)sfail from <HOST>$\n"
	    "            ^<mdre-<mode>> <HOST>$\n"
	    "mdre-normal = norm\n"
	    "mdre-more = more\n"
	    "ignoreregex = ^ok\n"
	    "maxlines = 2\n"
	    "datepattern = ^%%Y\n"
	    "journalmatch = _COMM=demo\n"
	    "[Init]\nmode = normal\n");
	put("filter.d/demo.local", "[Init]\nmode = more\n");
	put("other/own.conf", "[Definition]\nfailregex = ^own <HOST>\n");

	filterdef_init(&fd);
	is_int(conf_filter_load(tmpdir, "demo", NULL, &fd, &d), 0,
	    "filter by name");
	ok(fd.failregex.n == 2 &&
	        strcmp(fd.failregex.v[0].re, "^(?:file: )?fail from <HOST>$") ==
	            0 &&
	        strcmp(fd.failregex.v[1].re, "^more <HOST>$") == 0,
	    "failregex resolved (.local [Init] wins, logtype file)");
	ok(fd.failregex.v[1].line == 7 &&
	        strstr(fd.failregex.v[1].file, "demo.conf"),
	    "second regex keeps its own line");
	is_int(fd.maxlines, 2, "maxlines");
	is_str(fd.datepattern.re, "^%Y", "datepattern with %% resolved");
	ok(fd.journalmatch.n == 1 &&
	        strcmp(fd.journalmatch.v[0], "_COMM=demo") == 0,
	    "journalmatch");
	is_int(fd.ignoreregex.n, 1, "ignoreregex");

	is_int(conf_filter_load(tmpdir, "demo[mode=normal]", vars, &fd, &d), 0,
	    "filter with params and a systemd backend");
	ok(fd.failregex.n == 2 &&
	        strcmp(fd.failregex.v[0].re, "^(?:jrnl: )?fail from <HOST>$") ==
	            0 &&
	        strcmp(fd.failregex.v[1].re, "^norm <HOST>$") == 0,
	    "params win over [Init]; logtype journal");

	{
		char *p = xasprintf("%s/other/own.conf", tmpdir);

		is_int(conf_filter_load(tmpdir, p, NULL, &fd, &d), 0,
		    "filter by path");
		ok(fd.failregex.n == 1 &&
		        strcmp(fd.failregex.v[0].re, "^own <HOST>") == 0,
		    "... its failregex");
		free(p);
	}
	is_int(conf_filter_load(tmpdir, "nosuch", NULL, &fd, &d), -1,
	    "unknown filter fails");
	is_int(conf_filter_load(tmpdir, "demo[a=1 x", NULL, &fd, &d), -1,
	    "bad params fail");
	ok(d.nerrors == 2, "with one error each");
	filterdef_cleanup(&fd);
	diags_cleanup(&d);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_interpolation();
	test_tags();
	test_params();
	test_did_you_mean();
	test_filter_load();
	{
		static const char *const files[] = {"t.conf", "t.local",
		    "filter.d/common.conf", "filter.d/demo.conf",
		    "filter.d/demo.local", "other/own.conf", "filter.d",
		    "other", NULL};

		for (size_t i = 0; files[i]; i++) {
			char *p = xasprintf("%s/%s", tmpdir, files[i]);

			remove(p);
			free(p);
		}
		rmdir(tmpdir);
	}
	return done_testing();
}
