/*
 * Unit tests of the jail (src/jail.c) with an injected wall clock and an
 * in-memory database: fail2ban's counting window, ban at maxretry,
 * manual bans of addresses and raw ids, prolongation, bantime.increment
 * and "known bad IPs fail faster" from the database's history, the
 * control-command results; and the built-in sshd filter of
 * src/default_conf.c against OpenSSH 9.x lines. Issue 7: the failure
 * table's links, login tracking (locks, successes) through a report
 * jail, and an aggregate jail fed by jail_feed().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "addr.h"
#include "conf.h"
#include "db.h"
#include "failtab.h"
#include "filter.h"
#include "jail.h"
#include "report.h"
#include "sbuf.h"
#include "log.h"
#include "tap.h"
#include "wardend.h"
#include "xmalloc.h"

static double fake_now = 1800000000.0;

static double
clock_fn(void)
{
	return fake_now;
}

static char tmpdir[256];

static void
write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	fp = fopen(path, "w");
	if (fp == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
}

/* A configuration with jail "t" and the given extra jail lines. */
static struct conf *
load(const char *extra)
{
	char jail[2048], sub[512];
	struct diags d = DIAGS_INIT;
	struct conf *c = NULL;

	snprintf(sub, sizeof(sub), "%s/filter.d", tmpdir);
	mkdir(sub, 0700);
	write_file("filter.d/t.conf",
	    "[Definition]\n"
	    "failregex = ^\\s*fail from <HOST>$\n");
	write_file("t.log", "");
	snprintf(jail, sizeof(jail),
	    "[DEFAULT]\nmaxretry = 3\nfindtime = 600\nbantime = 600\n"
	    "[t]\nenabled = true\nfilter = t\nlogpath = %s/t.log\n%s\n",
	    tmpdir, extra);
	write_file("jail.conf", jail);
	if (conf_load(tmpdir, &c, &d) != 0 || c->njails != 1) {
		diags_print(&d, stderr);
		fprintf(stderr, "cannot load the test configuration\n");
		exit(1);
	}
	diags_cleanup(&d);
	return c;
}

static struct jail *
make(struct jail_env *env, const char *extra)
{
	struct conf *c = load(extra);
	struct diags d = DIAGS_INIT;
	struct jail *j = jail_new(&c->jails[0], env, &d);

	if (j == NULL) {
		diags_print(&d, stderr);
		exit(1);
	}
	diags_cleanup(&d);
	conf_free(c);
	return j;
}

static bool
banned(struct jail *j, const char *id)
{
	return jail_is_banned(j, id);
}

static void
attempt(struct jail *j, const char *id, double t)
{
	fake_now = t;
	jail_attempt(j, id, NULL, 0);
}

/* The bantime of id as `get J banip --with-time` prints it, or -2. */
static long
bantime_of(struct jail *j, const char *id)
{
	json_t *l = jail_banlist(j, true, true);
	long bt = -2;

	for (size_t i = 0; i < json_array_size(l); i++) {
		const char *s = json_string_value(json_array_get(l, i));
		const char *plus = strstr(s, " + ");

		if (strncmp(s, id, strlen(id)) == 0 && s[strlen(id)] == ' ' &&
		    plus)
			bt = strtol(plus + 3, NULL, 10);
	}
	json_decref(l);
	return bt;
}

static void
test_window(struct jail_env *env)
{
	struct jail *j = make(env, "");
	double t0 = 1800000000.0;

	/* fail2ban's verified table: 0, 500, 1000 -> retry 2, no ban */
	attempt(j, "192.0.2.1", t0);
	attempt(j, "192.0.2.1", t0 + 500);
	attempt(j, "192.0.2.1", t0 + 1000);
	ok(!banned(j, "192.0.2.1"), "window: failures at 0/500/1000 s: no ban");
	/* 0, 300, 700 -> retry 3, banned */
	attempt(j, "192.0.2.2", t0);
	attempt(j, "192.0.2.2", t0 + 300);
	ok(!banned(j, "192.0.2.2"), "window: 2 failures are no ban");
	attempt(j, "192.0.2.2", t0 + 700);
	ok(banned(j, "192.0.2.2"), "window: failures at 0/300/700 s: banned");
	is_int(jail_banned_now(j), 1, "window: one ban");
	is_int(jail_commit(j), 1, "window: the ban is announced at commit");
	is_int(jail_commit(j), 0, "window: ... once");
	is_int(jail_failed_total(j), 6, "window: total failures counted");
	is_int(jail_failed_now(j), 1, "window: the banned key left the table");
	jail_free(j);
}

/* The last record logged (wlog_set_hook). */
static char logged[512];

static void
keep_log(void *ctx, int level, const char *logger, const char *msg)
{
	(void)ctx;
	snprintf(logged, sizeof(logged), "%s %s %s",
	    level == WLOG_NOTICE ? "NOTICE" : "other", logger, msg);
}

static void
test_manual(struct jail_env *env)
{
	struct jail *j = make(env, "");
	char *ids[] = {"192.0.2.9", "user-42", "2001:db8::1"};
	char *one[] = {"192.0.2.9"}, *net[] = {"2001:db8::/32"};
	char *absent[] = {"198.51.100.7"};
	char err[256];
	json_t *st;
	char *s;

	fake_now = 1800000000.0;
	is_int(jail_banip(j, ids, 3), 3, "banip: three new bans");
	is_int(jail_banip(j, one, 1), 0, "banip: an existing ban is not new");
	ok(banned(j, "user-42"), "banip: a raw id is banned as such");
	st = jail_banlist(j, false, false);
	s = json_dumps(st, JSON_COMPACT);
	is_str(s, "[\"192.0.2.9\",\"user-42\",\"2001:db8::1\"]",
	    "banned: ban order");
	free(s);
	json_decref(st);
	is_int(jail_unbanip(j, net, 1, false, err, sizeof(err)), 1,
	    "unbanip: a network unbans the addresses inside");
	is_int(jail_unbanip(j, absent, 1, true, err, sizeof(err)), -1,
	    "unbanip --report-absent: error");
	is_str(err, "not banned: ['198.51.100.7']",
	    "unbanip --report-absent: fail2ban's message");
	is_int(jail_unbanip(j, absent, 1, false, err, sizeof(err)), 0,
	    "unbanip: absent is 0 without --report-absent");
	is_int(jail_unbanip(j, NULL, 0, false, err, sizeof(err)), 2,
	    "unbanip all: the rest");
	is_int(jail_banned_total(j), 3, "total banned stays");
	ok(!jail_has_pending(j), "unbanned before their commit: none left");
	is_int(jail_commit(j), 0, "... and none announced");
	/* one dropped between two others before the commit: the others
	 * are announced in order, the dropped one never */
	{
		char *three[] = {"192.0.2.21", "192.0.2.22", "192.0.2.23"};
		char *mid[] = {"192.0.2.22"};

		is_int(jail_banip(j, three, 3), 3, "banip: three more");
		is_int(jail_unbanip(j, mid, 1, false, err, sizeof(err)), 1,
		    "unbanip: the middle one, still pending");
		ok(jail_has_pending(j), "two still pending");
		is_int(jail_commit(j), 2, "commit: the two others");
		ok(!jail_has_pending(j), "nothing pending after the commit");
		is_int(jail_unbanip(j, three, 1, false, err, sizeof(err)), 1,
		    "unbanip: a committed ban");
		is_int(jail_commit(j), 0, "no commit left");
		is_int(jail_unbanip(j, NULL, 0, false, err, sizeof(err)), 1,
		    "unbanip all: the last one");
	}
	is_int(jail_banned_total(j), 6, "total banned: six");
	st = jail_status(j, "short");
	s = json_dumps(st, JSON_COMPACT);
	is_str(s,
	    "[[\"Filter\",[[\"Currently failed\",0],[\"Total failed\",0],"
	    "[\"File list\",[]]]],[\"Actions\",[[\"Currently banned\",0],"
	    "[\"Total banned\",6]]]]",
	    "status short: fail2ban's shape");
	free(s);
	json_decref(st);
	/* commits in another thread: a job's end announces the bans sealed
	 * when it started, never one decided after (its write is not in) */
	{
		char *two[] = {"192.0.2.31", "192.0.2.32"};
		char *late[] = {"192.0.2.33"}, *first[] = {"192.0.2.31"};

		is_int(jail_banip(j, two, 2), 2, "seal: two bans");
		jail_seal(j);
		is_int(jail_banip(j, late, 1), 1, "seal: one after the seal");
		is_int(jail_commit_durable(j), 0,
		    "seal: none announced before the job has committed");
		is_int(jail_unbanip(j, first, 1, false, err, sizeof(err)), 1,
		    "seal: one of the two unbanned meanwhile");
		jail_sealed_durable(j);
		wlog_set_level(WLOG_NOTICE);
		wlog_set_hook(keep_log, NULL);
		is_int(jail_commit_durable(j), 1,
		    "seal: the job's other ban announced");
		wlog_set_hook(NULL, NULL);
		wlog_set_level(WLOG_CRITICAL);
		is_str(logged, "NOTICE fail2ban.actions [t] Ban 192.0.2.32",
		    "seal: its Ban line");
		is_int(jail_commit_durable(j), 0, "seal: the later one waits");
		ok(jail_has_pending(j), "seal: ... still pending");
		jail_seal(j);
		jail_sealed_durable(j);
		is_int(jail_commit_durable(j), 1, "seal: the next job's end");
		ok(!jail_has_pending(j), "seal: nothing pending");
		is_int(jail_commit(j), 0, "seal: nothing left to announce");
	}
	jail_free(j);
}

static void
test_prolong(struct jail_env *env)
{
	struct jail *j = make(env, "");
	char *ids[] = {"192.0.2.30"};

	fake_now = 1800000000.0;
	jail_banip(j, ids, 1);
	jail_commit(j);
	is_int(bantime_of(j, "192.0.2.30"), 600, "prolong: first bantime");
	attempt(j, "192.0.2.30", 1800000014.0);
	attempt(j, "192.0.2.30", 1800000014.0);
	attempt(j, "192.0.2.30", 1800000014.0);
	is_int(bantime_of(j, "192.0.2.30"), 614,
	    "prolong: a ban 14 s later adds 14 s (fail2ban's + 19 case)");
	is_int(jail_banned_total(j), 1, "prolong: not a new ban");
	jail_free(j);
}

static void
test_increment(struct jail_env *env)
{
	const char *inc = "bantime.increment = true\nmaxretry = 5";
	struct jail *j = make(env, inc);
	char *ids[] = {"192.0.2.40"};
	double t0 = 1800000000.0;

	fake_now = t0;
	jail_banip(j, ids, 1);
	jail_commit(j);
	db_flush(env->db);
	is_int(bantime_of(j, "192.0.2.40"), 600, "increment: first ban 600");
	jail_free(j);

	/* later, a new instance of the jail: the ban has expired */
	fake_now = t0 + 1000;
	j = make(env, inc);
	ok(!banned(j, "192.0.2.40"), "increment: the expired ban is not kept");
	attempt(j, "192.0.2.40", t0 + 1000);
	attempt(j, "192.0.2.40", t0 + 1001);
	ok(!banned(j, "192.0.2.40"),
	    "known bad: 2 failures (each counted twice) are no ban");
	attempt(j, "192.0.2.40", t0 + 1002);
	ok(banned(j, "192.0.2.40"),
	    "known bad: the 3rd failure bans with maxretry 5");
	is_int(bantime_of(j, "192.0.2.40"), 1200,
	    "increment: the second ban is ban.Time * 2**1");
	jail_commit(j);
	db_flush(env->db);
	jail_free(j);

	fake_now = t0 + 5000;
	j = make(env,
	    "bantime.increment = true\nmaxretry = 1\n"
	    "bantime.multipliers = 1 5 30\n");
	attempt(j, "192.0.2.40", t0 + 5000);
	is_int(bantime_of(j, "192.0.2.40"), 600 * 30,
	    "increment: multipliers[min(count, len-1)]");
	jail_commit(j);
	db_flush(env->db);
	jail_free(j);
}

static void
test_getset(struct jail_env *env)
{
	struct jail *j = make(env, "");
	const char *et;
	char err[256];
	char *a1[] = {"t", "maxretry", "7"};
	char *a2[] = {"t", "maxretry"};
	char *a3[] = {"t", "bantime", "1h"};
	char *a4[] = {"t", "datepattern"};
	char *a5[] = {"t", "addfailregex", "^x <HOST>$"};
	char *a6[] = {"t", "addfailregex", "^(unclosed"};
	char *a7[] = {"t", "nosuch"};
	json_t *r;
	char *s;

	r = jail_set(j, 3, a1, &et, err, sizeof(err));
	json_decref(r);
	r = jail_get(j, 2, a2, &et, err, sizeof(err));
	is_int(json_integer_value(r), 7, "set/get maxretry");
	json_decref(r);
	r = jail_set(j, 3, a3, &et, err, sizeof(err));
	is_int(json_integer_value(r), 3600, "set bantime 1h -> 3600");
	json_decref(r);
	r = jail_get(j, 2, a4, &et, err, sizeof(err));
	s = json_dumps(r, JSON_COMPACT);
	is_str(s, "[null,\"Default Detectors\"]", "get datepattern: default");
	free(s);
	json_decref(r);
	r = jail_set(j, 3, a5, &et, err, sizeof(err));
	is_int(json_array_size(r), 2, "addfailregex: two regexes");
	json_decref(r);
	r = jail_set(j, 3, a6, &et, err, sizeof(err));
	ok(r == NULL, "addfailregex: a bad regex is refused (%s)", err);
	r = jail_get(j, 2, a7, &et, err, sizeof(err));
	ok(r == NULL, "get of an unknown option fails");
	is_str(err, "Invalid command (no get action or not yet implemented)",
	    "... with fail2ban's message");
	jail_free(j);
}

/* Warden's own sshd filter (default_conf.c) against OpenSSH 9.x lines. */
static void
test_builtin_sshd(void)
{
	static const struct {
		const char *line;
		const char *ip; /* NULL: not a failure */
	} cases[] = {
	    {"Nov 21 05:24:25 vm sshd[1234]: Failed password for root from "
	     "192.0.2.1 port 22 ssh2",
	        "192.0.2.1"},
	    {"Nov 21 05:24:25 vm sshd[1234]: Failed password for invalid user "
	     "admin from 192.0.2.2 port 41234 ssh2",
	        "192.0.2.2"},
	    {"Nov 21 05:24:25 vm sshd[1234]: Failed publickey for bob from "
	     "2001:db8::5 port 22 ssh2: RSA SHA256:abcdef",
	        "2001:db8::5"},
	    {"Nov 21 05:24:25 vm sshd[1234]: Invalid user oracle from "
	     "192.0.2.3 port 5555",
	        "192.0.2.3"},
	    {"2026-11-21T05:24:25.123456+00:00 vm sshd[1234]: "
	     "pam_unix(sshd:auth): authentication failure; logname= uid=0 "
	     "euid=0 tty=ssh ruser= rhost=192.0.2.4  user=root",
	        NULL}, /* counted once, by the "Failed password" line */
	    {"Nov 21 05:24:25 vm sshd[1234]: error: maximum authentication "
	     "attempts exceeded for root from 192.0.2.5 port 22 ssh2 "
	     "[preauth]",
	        "192.0.2.5"},
	    {"Nov 21 05:24:25 vm sshd-session[99]: error: maximum "
	     "authentication attempts exceeded for invalid user x from "
	     "192.0.2.6 port 22 ssh2 [preauth]",
	        "192.0.2.6"},
	    /* mode aggressive only */
	    {"Nov 21 05:24:25 vm sshd[1234]: Connection closed by "
	     "authenticating user root 192.0.2.7 port 22 [preauth]",
	        NULL},
	    {"Nov 21 05:24:25 vm sshd[1234]: Connection closed by invalid user "
	     "test 192.0.2.8 port 22 [preauth]",
	        NULL},
	    {"Nov 21 05:24:25 vm sshd[1234]: User root from 192.0.2.12 not "
	     "allowed because not listed in AllowUsers",
	        "192.0.2.12"},
	    {"Nov 21 05:24:25 vm sshd[1234]: Accepted password for root from "
	     "192.0.2.9 port 22 ssh2",
	        NULL},
	    {"Nov 21 05:24:25 vm sshd[1234]: Connection closed by 192.0.2.10 "
	     "port 22 [preauth]",
	        NULL},
	    {"Nov 21 05:24:25 vm sshd[1234]: Disconnected from user root "
	     "192.0.2.11 port 22",
	        NULL},
	};
	char err[256];
	char *dir = default_conf_materialize(false, true, err, sizeof(err));
	struct diags d = DIAGS_INIT;
	struct conf *c = NULL;
	struct filter *f;

	ok(dir != NULL, "builtin: configuration written (%s)", dir ? dir : err);
	if (dir == NULL)
		return;
	ok(conf_load(dir, &c, &d) == 0 && c->nbroken + c->njails == 1,
	    "builtin: loads with one jail");
	is_str(c->server.dbfile, "/var/lib/warden/warden.sqlite3",
	    "builtin: database under /var/lib/warden");
	if (c->njails == 1) {
		f = filter_new(&c->jails[0].filter, NULL, (time_t)fake_now, &d);
	} else {
		/* /var/log/auth.log may be missing here: load the filter
		 * file alone */
		struct filterdef fd;

		filterdef_init(&fd);
		conf_filter_load(dir, "sshd", NULL, &fd, &d);
		f = filter_new(&fd, NULL, (time_t)fake_now, &d);
		filterdef_cleanup(&fd);
	}
	ok(f != NULL, "builtin: the sshd filter compiles");
	for (size_t i = 0; f && i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct filter_result r;

		filter_process(
		    f, cases[i].line, strlen(cases[i].line), fake_now, &r);
		if (cases[i].ip == NULL)
			is_int(r.n, 0, "builtin sshd: no failure in '%.50s'",
			    cases[i].line + 31);
		else
			ok(r.n == 1 && strcmp(r.v[0].id.text, cases[i].ip) == 0,
			    "builtin sshd: %s found", cases[i].ip);
	}
	filter_free(f);
	conf_free(c);
	diags_cleanup(&d);
	default_conf_remove(dir);
	{
		struct stat st;

		ok(stat(dir, &st) != 0, "builtin: temporary files removed");
	}
	free(dir);
}

/* The whole file at path (new string), or NULL. */
static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* The built-in default is made of the shipped files and the native
 * nftables action (or none: --no-firewall). */
static void
test_builtin_files(void)
{
	char *sshd = slurp("etc/warden/filter.d/sshd.conf");
	char *common = slurp("etc/warden/filter.d/common.conf");
	char *fw = default_conf_jail_text(false, true);
	char *nofw = default_conf_jail_text(true, false);
	char err[256];
	char *dir;

	ok(sshd != NULL && strcmp(default_conf_sshd_filter, sshd) == 0,
	    "builtin: the sshd filter is etc/warden/filter.d/sshd.conf "
	    "(else rebuild default_conf.o)");
	ok(common != NULL && strcmp(default_conf_common_filter, common) == 0,
	    "builtin: common.conf is etc/warden/filter.d/common.conf");
	ok(strstr(fw, "\naction = warden-nft[") != NULL &&
	        strstr(fw, "logpath = /var/log/auth.log\n") != NULL,
	    "builtin: bans through warden-nft, reads auth.log");
	ok(strstr(nofw, "\naction =\n") != NULL &&
	        strstr(nofw, "backend = systemd\n") != NULL,
	    "builtin --no-firewall: no action; journal variant");
	dir = default_conf_materialize(true, true, err, sizeof(err));
	if (dir != NULL) {
		struct diags d = DIAGS_INIT;
		struct conf *c = NULL;

		ok(conf_load(dir, &c, &d) == 0 && c->njails == 1 &&
		        c->jails[0].nactions == 1 &&
		        strcmp(conf_kv_get(&c->jails[0].actions[0].props,
		                   "warden_backend"),
		            "nftables") == 0,
		    "builtin: the jail's one action is the nftables backend");
		ok(c != NULL && c->njails == 1 &&
		        c->jails[0].filter.failregex.n >= 5,
		    "builtin: the shipped filter's failregex lines");
		conf_free(c);
		diags_cleanup(&d);
		default_conf_remove(dir);
		free(dir);
	} else {
		ok(0, "builtin: written (%s)", err);
	}
	free(sshd);
	free(common);
	free(fw);
	free(nofw);
}

/* Configuration for the daemon: a jail whose log does not exist yet is
 * kept (CONF_LOAD_DAEMON), Warden's own options are known. */
static void
test_daemon_conf(void)
{
	char jail[1024];
	struct diags d = DIAGS_INIT;
	struct conf *c = NULL;
	bool flagged = false;

	write_file("filter.d/t.conf",
	    "[Definition]\nfailregex = ^\\s*fail from <HOST>$\n");
	snprintf(jail, sizeof(jail),
	    "[t]\nenabled = true\nfilter = t\nlogpath = %s/nosuch/t.log\n"
	    "maxfailures = 7\n",
	    tmpdir);
	write_file("jail.conf", jail);
	write_file("warden.conf", "[Definition]\nsocketgroup = adm\n");
	ok(conf_load(tmpdir, &c, &d) == 0 && c->njails == 0 && c->nbroken == 1,
	    "missing logpath: disabled for check/dump (fail2ban's way)");
	conf_free(c);
	c = NULL;
	diags_cleanup(&d);
	ok(conf_load_flags(tmpdir, CONF_LOAD_DAEMON, &c, &d) == 0 &&
	        c->njails == 1 && c->nbroken == 0 && d.nerrors == 0,
	    "missing logpath: the daemon keeps the jail");
	for (size_t i = 0; i < d.n; i++) {
		if (strstr(d.v[i].msg, "have not found any log file") &&
		    d.v[i].level == DIAG_WARNING)
			flagged = true;
		if (strstr(d.v[i].msg, "socketgroup") ||
		    strstr(d.v[i].msg, "maxfailures"))
			ok(0, "not flagged: %s", d.v[i].msg);
	}
	ok(flagged, "missing logpath: a warning says so");
	ok(c != NULL && c->njails == 1 && c->jails[0].maxfailures == 7 &&
	        c->jails[0].nlogpaths == 1,
	    "maxfailures read; the logpath pattern kept");
	is_str(c ? c->server.dbfile : NULL, WARDEN_DEFAULT_DBFILE,
	    "warden.conf without dbfile: Warden's database");
	conf_free(c);
	c = NULL;
	diags_cleanup(&d);
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/warden.conf", tmpdir);
		unlink(p);
	}
	write_file("fail2ban.conf", "[Definition]\nloglevel = INFO\n");
	ok(conf_load_flags(tmpdir, CONF_LOAD_DAEMON, &c, &d) == 0,
	    "fail2ban.conf loads");
	is_str(c ? c->server.dbfile : NULL, F2B_DEFAULT_DBFILE,
	    "fail2ban.conf without dbfile: fail2ban's database");
	conf_free(c);
	diags_cleanup(&d);
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/fail2ban.conf", tmpdir);
		unlink(p);
	}
}

/* ---- issue 7 ---- */

static void
test_links(void)
{
	struct failtab_opts o = {0};
	struct failtab *ft;
	struct failtab_failure f = {0};
	struct failtab_entry *e, *e2;
	struct addr a1, a2, a3;
	struct fkey k1, k2, k3;

	addr_parse("192.0.2.1", 9, &a1);
	addr_parse("192.0.2.2", 9, &a2);
	addr_parse("192.0.2.3", 9, &a3);
	k1 = fkey_from_addr(&a1);
	k2 = fkey_from_addr(&a2);
	k3 = fkey_from_addr(&a3);
	o.findtime = 600;
	o.max_links = 2;
	ft = failtab_new(&o);
	f.key = fkey_from_str(FKEY_USER, "alice", 5);
	f.time = 100;
	f.count = 1;
	e = failtab_add(ft, &f, NULL);
	failtab_link_add(ft, e, &k1, 100, 1);
	failtab_link_add(ft, e, &k1, 101, 1);
	{
		struct failtab_pair *v;
		size_t n = failtab_link_pairs(ft, e, 0, &v);

		ok(n == 1 && v[0].count == 2 && v[0].time == 101,
		    "links: a pair's two failures, one address");
		free(v);
	}
	f.key = fkey_from_str(FKEY_USER, "bob", 3);
	failtab_add(ft, &f, NULL);
	e2 = failtab_add(ft, &f, NULL); /* retry 2 */
	failtab_link_add(ft, e2, &k1, 102, 1);
	ok(failtab_entry_links(e2) == 1 && failtab_entry_links(e) == 2,
	    "links: the same address under two logins is two pairs");
	ok(!failtab_link_forget(ft, e2, &k2, NULL),
	    "links: no pair, nothing forgotten");
	failtab_link_add(ft, e2, &k3, 103, 1);
	ok(failtab_link_count(ft) == 4, "links: counted for the table");
	ok(!failtab_forget(ft, e2, 1) && e2->retry == 1,
	    "links: forget takes failures back");
	ok(failtab_forget(ft, e2, 5) &&
	        failtab_find(ft, &(struct fkey){FKEY_USER, {0}, "bob", 3}) ==
	            NULL &&
	        failtab_link_count(ft) == 2,
	    "links: an entry left without failures goes, with its links");
	failtab_free(ft);
}

/* A jail built from a whole jail.conf text (jail name). */
static struct jail *
make_text(struct jail_env *env, const char *text, const char *name)
{
	struct diags d = DIAGS_INIT;
	struct conf *c = NULL;
	const struct conf_jail *cj;
	struct jail *j;

	write_file("jail.conf", text);
	if (conf_load(tmpdir, &c, &d) != 0 ||
	    (cj = conf_find_jail(c, name)) == NULL) {
		diags_print(&d, stderr);
		fprintf(stderr, "cannot load jail %s\n", name);
		exit(1);
	}
	j = jail_new(cj, env, &d);
	if (j == NULL) {
		diags_print(&d, stderr);
		exit(1);
	}
	diags_cleanup(&d);
	conf_free(c);
	jail_start(j);
	return j;
}

static void
rep_msg(struct jail *j, const char *text, double t)
{
	struct report_msg m;
	struct report_peer p = {1, 0, 0};

	fake_now = t;
	if (report_parse(text, strlen(text), &m) != REPORT_OK_PARSED) {
		fprintf(stderr, "bad report in the test: %s\n", text);
		exit(1);
	}
	jail_report(j, &m, &p, t);
}

/* A stored ban of id (an address, else a raw id) in jail. */
static void
stored_ban(struct db *db, const char *jail, const char *id, double t)
{
	static const char *const m[] = {"line one", "line two"};
	struct db_ban b = {0};
	struct addr a;

	if (addr_parse(id, strlen(id), &a) == 0)
		b.key = fkey_from_addr(&a);
	else
		b.key =
		    (struct fkey){.kind = FKEY_RAW, .s = id, .len = strlen(id)};
	b.time = t;
	b.bantime = 600;
	b.bancount = 1;
	b.failures = 3;
	b.matches = m;
	b.nmatches = 2;
	b.data = "{\"user\":\"bob\"}";
	db_ban_add(db, jail, &b);
}

/* The jail's bans in ban order, joined by ','. */
static char *
ban_order(struct jail *j)
{
	json_t *l = jail_banlist(j, false, false);
	struct sbuf b = SBUF_INIT;

	for (size_t i = 0; i < json_array_size(l); i++)
		sbuf_printf(&b, "%s%s", i ? "," : "",
		    json_string_value(json_array_get(l, i)));
	json_decref(l);
	return sbuf_detach(&b);
}

/*
 * Bans restored at start: the ones not expired, in fail2ban's order
 * (ORDER BY ip: the keys' text, whatever their kind), all committed as
 * restored. The database hands them over by kind and key: addresses
 * alone are already in that order, a raw id among them is not.
 */
static void
test_restore(struct jail_env *env)
{
	static const char conf[] =
	    "[r]\nenabled = true\nbackend = report\nservice = imap\n"
	    "maxretry = 3\nfindtime = 600\nbantime = 600\n";
	struct jail_env e = *env;
	struct diags d = DIAGS_INIT;
	double t0 = 1800000000.0;
	struct jail *j;
	char *s;

	for (int mixed = 0; mixed < 2; mixed++) {
		e.db = db_open(":memory:", NULL, &d);
		fake_now = t0;
		stored_ban(e.db, "r", "10.0.0.9", t0 - 300);
		stored_ban(e.db, "r", "192.0.2.1", t0 - 100);
		stored_ban(e.db, "r", "10.0.0.10", t0 - 200);
		stored_ban(e.db, "r", "10.0.0.11", t0 - 700); /* expired */
		stored_ban(e.db, "other", "10.0.0.12", t0 - 10);
		if (mixed)
			stored_ban(e.db, "r", "10-raw", t0 - 50);
		db_flush(e.db);
		j = make_text(&e, conf, "r");
		s = ban_order(j);
		is_str(s,
		    mixed ? "10-raw,10.0.0.10,10.0.0.9,192.0.2.1"
		          : "10.0.0.10,10.0.0.9,192.0.2.1",
		    mixed ? "restore: an address and raw id mix sorted by text"
		          : "restore: addresses in fail2ban's order (by text)");
		free(s);
		is_int(jail_commit(j), mixed ? 4 : 3,
		    "restore: the restored bans are committed");
		is_int(jail_banned_total(j), mixed ? 4 : 3,
		    "restore: counted as bans");
		jail_stop(j, NULL, NULL);
		jail_free(j);
		db_close(e.db);
	}
	diags_cleanup(&d);
}

static void
test_users(struct jail_env *env)
{
	static const char conf[] =
	    "[r]\nenabled = true\nbackend = report\nservice = imap\n"
	    "maxretry = 10\nusermaxretry = 3\nuserbantime = 100\n";
	struct jail *j = make_text(env, conf, "r");
	double t0 = 1800001000.0;
	json_t *st;
	char *txt;
	size_t nl;

	rep_msg(j, "fail imap 192.0.2.1 user=alice", t0);
	rep_msg(j, "fail imap 192.0.2.2 user=alice", t0 + 1);
	ok(!banned(j, "192.0.2.1") && jail_locked_now(j) == 0,
	    "users: 2 failures of alice (usermaxretry 3): nothing yet");
	rep_msg(j, "fail imap 192.0.2.3 user=alice", t0 + 2);
	ok(jail_locked_now(j) == 1 && banned(j, "192.0.2.1") &&
	        banned(j, "192.0.2.2") && banned(j, "192.0.2.3"),
	    "users: the 3rd locks alice and bans every address");
	rep_msg(j, "fail imap 192.0.2.4 user=alice", t0 + 3);
	ok(banned(j, "192.0.2.4"),
	    "users: a further address is banned at its first failure");
	rep_msg(j, "fail imap 192.0.2.5 user=Alice", t0 + 4);
	ok(!banned(j, "192.0.2.5"), "users: logins compare exactly (Alice)");
	rep_msg(j, "ok imap 192.0.2.6 user=alice", t0 + 5);
	ok(jail_locked_now(j) == 1, "users: a success never unlocks");
	st = jail_status(j, NULL);
	txt = json_dumps(st, JSON_COMPACT);
	ok(strstr(txt, "[\"Currently locked users\",1]") != NULL &&
	        strstr(txt, "[\"Locked user list\",[\"alice\"]]") != NULL,
	    "users: status rows");
	free(txt);
	json_decref(st);
	rep_msg(j, "fail imap 192.0.2.7 user=alice", t0 + 200);
	ok(!banned(j, "192.0.2.7") && jail_locked_now(j) == 0,
	    "users: after userbantime the lock is over, counting restarts");
	/* success: the pair's failures go, the others stay */
	rep_msg(j, "fail imap 198.51.100.1 user=bob", t0 + 300);
	rep_msg(j, "fail imap 198.51.100.1 user=bob", t0 + 301);
	rep_msg(j, "ok imap 198.51.100.1 user=bob", t0 + 302);
	rep_msg(j, "fail imap 198.51.100.2 user=bob", t0 + 303);
	rep_msg(j, "fail imap 198.51.100.3 user=bob", t0 + 304);
	ok(jail_locked_now(j) == 0,
	    "users: a success forgets its pair's 2 failures (2 more: no lock)");
	rep_msg(j, "fail imap 198.51.100.4 user=bob", t0 + 305);
	ok(jail_locked_now(j) == 1 && !banned(j, "198.51.100.1") &&
	        banned(j, "198.51.100.4"),
	    "users: the 3rd counted failure locks bob, not the forgotten "
	    "address");
	/* the lock bans the addresses of the window (userfindtime =
	 * findtime = 600 here), all of them and only them */
	nl = jail_locked_now(j);
	rep_msg(j, "fail imap 203.0.113.1 user=carol", t0 + 1000);
	rep_msg(j, "fail imap 203.0.113.2 user=carol", t0 + 2300);
	rep_msg(j, "fail imap 203.0.113.2 user=carol", t0 + 2301);
	ok(jail_locked_now(j) == nl,
	    "users: carol's failure of 1300 s ago no longer counts: no lock");
	rep_msg(j, "fail imap 203.0.113.3 user=carol", t0 + 2302);
	ok(jail_locked_now(j) == nl + 1 && banned(j, "203.0.113.2") &&
	        banned(j, "203.0.113.3") && !banned(j, "203.0.113.1"),
	    "users: carol's lock bans the window's addresses, not the older "
	    "one");
	jail_stop(j, NULL, NULL);
	jail_free(j);
}

static void
test_aggregate(struct jail_env *env)
{
	static const char conf[] =
	    "[DEFAULT]\nfilter = t\nlogpath = %s/t.log\n"
	    "[a]\nenabled = true\n[b]\nenabled = true\n"
	    "[all]\nenabled = true\njails = a, b\nmaxretry = 2\n";
	char text[1024];
	struct jail *j;
	struct jail_failure f = {0};
	struct addr a;

	snprintf(text, sizeof(text), conf, tmpdir);
	j = make_text(env, text, "all");
	ok(jail_has_member(j, "a") && jail_has_member(j, "b") &&
	        !jail_has_member(j, "all"),
	    "aggregate: its members");
	addr_parse("203.0.113.5", 11, &a);
	f.key = fkey_from_addr(&a);
	f.time = fake_now = 1800002000.0;
	f.count = 1;
	jail_feed(j, "a", &f);
	ok(!banned(j, "203.0.113.5") && jail_failed_now(j) == 1,
	    "aggregate: a member's failure is counted");
	jail_feed(j, "b", &f);
	ok(banned(j, "203.0.113.5"),
	    "aggregate: the failures of two members add up to maxretry");
	jail_stop(j, NULL, NULL);
	jail_free(j);
}

static int
keep_data(void *arg, const struct db_ban *b)
{
	char **out = arg;

	free(*out);
	*out = xstrdup(b->data != NULL ? b->data : "(null)");
	return 0;
}

/*
 * The captured groups' JSON stored with a ban (the database's `data`) is
 * fdata_json()'s text, whether the jail writes it itself (printable ASCII
 * without quotes or backslashes) or not.
 */
static void
test_data_json(struct jail_env *env)
{
	static const char conf[] =
	    "[r]\nenabled = true\nbackend = report\nservice = imap\n"
	    "maxretry = 1\nfindtime = 600\nbantime = 600\n";
	char longname[201];
	const char *users[] = {"alice", "a\"b\\c", "jos\xc3\xa9", longname};
	struct jail_env e = *env;
	struct diags d = DIAGS_INIT;

	memset(longname, 'x', 200);
	longname[200] = '\0';
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		struct db_restore r = {0};
		struct fdata fd = {0};
		char msg[300], *got = NULL, *want;
		struct jail *j;

		e.db = db_open(":memory:", NULL, &d);
		j = make_text(&e, conf, "r");
		snprintf(
		    msg, sizeof(msg), "fail imap 192.0.2.7 user=%s", users[i]);
		rep_msg(j, msg, 1800003000.0);
		jail_commit(j);
		db_flush(e.db);
		r.now = 1800003001.0;
		r.bantime = 600;
		db_bans_restore(e.db, "r", &r, keep_data, &got);
		fdata_add_kv(&fd, "user", users[i]);
		want = fdata_json(&fd);
		is_str(got, want, "data: the groups' JSON as fdata_json's");
		free(want);
		free(got);
		fdata_cleanup(&fd);
		jail_stop(j, NULL, NULL);
		jail_free(j);
		db_close(e.db);
	}
	diags_cleanup(&d);
}

int
main(void)
{
	struct jail_env env = {0};
	struct diags d = DIAGS_INIT;
	uv_loop_t loop;

	wlog_set_level(WLOG_CRITICAL);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_jail.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	uv_loop_init(&loop);
	env.loop = &loop;
	env.now = clock_fn;
	env.db = db_open(":memory:", NULL, &d);
	diags_cleanup(&d);

	test_window(&env);
	test_manual(&env);
	test_prolong(&env);
	test_increment(&env);
	test_getset(&env);
	test_builtin_sshd();
	test_builtin_files();
	test_daemon_conf();
	test_links();
	test_users(&env);
	test_restore(&env);
	test_aggregate(&env);
	test_data_json(&env);

	db_close(env.db);
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "%s/filter.d/t.conf", tmpdir);
		unlink(cmd);
		snprintf(cmd, sizeof(cmd), "%s/filter.d", tmpdir);
		rmdir(cmd);
		snprintf(cmd, sizeof(cmd), "%s/jail.conf", tmpdir);
		unlink(cmd);
		snprintf(cmd, sizeof(cmd), "%s/t.log", tmpdir);
		unlink(cmd);
		rmdir(tmpdir);
	}
	return done_testing();
}
