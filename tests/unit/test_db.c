/*
 * Unit tests of the database module: every operation on :memory: and on
 * files, fail2ban's restore rules with an injected now, increment history,
 * <ipmatches> aggregation, purge keeping the file small, version refusal,
 * corrupt files, flush failure and retry, a fail2ban-shaped database
 * imported (the schema written here by hand; tests/integ/run-db imports
 * one written by fail2ban itself), the time to flush 10,000 bans, and the
 * WAL checkpoints: automatic, deferred to another thread (the daemon's
 * way), and the bound that holds when nobody runs them; lazy writes and
 * commit jobs run in a thread (order, reads meanwhile, failure, replay).
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "sbuf.h"
#include "tap.h"
#include "xmalloc.h"

static char tmpdir[256];

#if defined(__SANITIZE_ADDRESS__)
static const bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
static const bool sanitized = true;
#else
static const bool sanitized = false;
#endif
#else
static const bool sanitized = false;
#endif

static char *
tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static struct fkey
ip(const char *s)
{
	struct fkey k;

	memset(&k, 0, sizeof(k));
	k.kind = FKEY_ADDR;
	if (addr_parse_net(s, strlen(s), &k.addr) < 0)
		abort();
	return k;
}

static struct fkey
raw(const char *s)
{
	struct fkey k;

	memset(&k, 0, sizeof(k));
	k.kind = FKEY_RAW;
	k.s = s;
	k.len = strlen(s);
	return k;
}

static struct db *
mem(void)
{
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(":memory:", NULL, &d);

	if (!db || d.n)
		diags_print(&d, stdout);
	diags_cleanup(&d);
	return db;
}

static void
ban(struct db *db, const char *jail, struct fkey k, double time, double bantime,
    unsigned bancount)
{
	struct db_ban b = {0};

	b.key = k;
	b.time = time;
	b.bantime = bantime;
	b.bancount = bancount;
	b.failures = 3;
	db_ban_add(db, jail, &b);
}

/* Restored bans, collected as "key:time:bantime:count:nmatches". */
struct got {
	struct strv v;
};

static int
collect(void *arg, const struct db_ban *b)
{
	struct got *g = arg;
	char buf[ADDR_STRLEN];
	const char *k = buf;

	if (b->key.kind == FKEY_ADDR)
		addr_format(&b->key.addr, buf);
	else
		k = xstrndup(b->key.s, b->key.len);
	strv_take(&g->v,
	    xasprintf("%s:%.0f:%.0f:%u:%zu", k, b->time, b->bantime,
	        b->bancount, b->nmatches));
	if (k != buf)
		free((char *)k);
	return 0;
}

static char *
restore_str(struct db *db, const char *jail, struct db_restore *r)
{
	struct got g = {STRV_INIT};
	struct sbuf s = SBUF_INIT;
	long n = db_bans_restore(db, jail, r, collect, &g);

	if (n != (long)g.v.n)
		sbuf_printf(&s, "(n=%ld) ", n);
	for (size_t i = 0; i < g.v.n; i++)
		sbuf_printf(&s, "%s%s", i ? " " : "", g.v.v[i]);
	strv_cleanup(&g.v);
	return sbuf_detach(&s);
}

static void
test_null(void)
{
	struct db_history h;
	struct strv sv = STRV_INIT;
	unsigned long f = 7;
	char *hash;
	uint64_t pos;
	struct fkey k = ip("192.0.2.1");

	db_jail_add(NULL, "sshd");
	ban(NULL, "sshd", k, 1, 2, 1);
	db_ban_del(NULL, "sshd", &k);
	db_log_set(NULL, "sshd", "/x", "h", 3);
	is_int(db_flush(NULL), 0, "NULL db: flush succeeds");
	is_int(db_ban_history(NULL, "sshd", &k, &h), 0, "NULL db: no history");
	is_int(
	    db_ban_matches(NULL, NULL, &k, &sv, &f), 0, "NULL db: no matches");
	is_int(f, 0, "NULL db: failures zeroed");
	is_int(db_log_get(NULL, "sshd", "/x", &hash, &pos), 0,
	    "NULL db: no log position");
	is_int(db_purge(NULL, 1, 2), 0, "NULL db: purge is a no-op");
	is_int(db_pending(NULL), 0, "NULL db: nothing pending");
	db_close(NULL);
}

static void
test_jails(void)
{
	struct db *db = mem();
	struct strv sv = STRV_INIT;

	db_jail_add(db, "sshd");
	db_jail_add(db, "apache");
	db_jail_add(db, "sshd");
	is_int(db_flush(db), 0, "jails: flush");
	is_int(db_jails(db, 1, &sv), 2, "jails: two enabled");
	is_str(sv.n == 2 ? sv.v[0] : NULL, "apache", "jails: sorted");
	strv_cleanup(&sv);
	db_jail_disable(db, "apache");
	db_flush(db);
	is_int(db_jails(db, 0, &sv), 1, "jails: one disabled");
	is_str(sv.n ? sv.v[0] : NULL, "apache", "jails: apache disabled");
	strv_cleanup(&sv);
	db_jail_disable(db, NULL);
	db_jail_add(db, "sshd");
	db_flush(db);
	is_int(db_jails(db, 1, &sv), 1, "jails: disable all, re-add sshd");
	strv_cleanup(&sv);
	is_int(db_jails(db, -1, &sv), 2, "jails: all");
	strv_cleanup(&sv);
	db_close(db);
}

static void
test_restore_rules(void)
{
	struct db *db = mem();
	struct db_restore r = {0};
	char *s;
	double now = 100000;

	db_jail_add(db, "j");
	ban(db, "j", ip("10.0.0.1"), now - 100, 600, 1);    /* active */
	ban(db, "j", ip("10.0.0.2"), now - 700, 600, 1);    /* expired */
	ban(db, "j", ip("10.0.0.3"), now - 5000, -1, 2);    /* permanent */
	ban(db, "j", ip("10.0.0.4"), now - 5000, 86400, 3); /* long */
	ban(db, "j", ip("10.0.0.5"), now - 100, -2, 1);     /* old import */
	ban(db, "other", ip("10.0.0.6"), now - 10, 600, 1);
	ban(db, "j", raw("user@example"), now - 50, 600, 1);
	is_int(db_flush(db), 0, "restore: flush");

	r.now = now;
	r.bantime = 600;
	r.maxmatches = 5;
	s = restore_str(db, "j", &r);
	/* without increment: begun within the jail bantime, clamped to it;
	 * the permanent and the long one began too long ago */
	is_str(s,
	    "10.0.0.1:99900:600:1:0 10.0.0.5:99900:600:1:0 "
	    "user@example:99950:600:1:0",
	    "restore without increment: fail2ban's forbantime rule");
	free(s);

	r.bantime = 7200;
	s = restore_str(db, "j", &r);
	is_str(s,
	    "10.0.0.3:95000:7200:2:0 10.0.0.4:95000:7200:3:0 "
	    "10.0.0.1:99900:600:1:0 10.0.0.5:99900:7200:1:0 "
	    "user@example:99950:600:1:0",
	    "restore: permanent and longer bans clamped to the jail's 7200");
	free(s);

	r.bantime = -1;
	s = restore_str(db, "j", &r);
	is_str(s,
	    "10.0.0.3:95000:-1:2:0 10.0.0.4:95000:86400:3:0 "
	    "10.0.0.1:99900:600:1:0 10.0.0.5:99900:-1:1:0 "
	    "user@example:99950:600:1:0",
	    "restore: a permanent jail keeps everything not expired");
	free(s);

	r.bantime = 600;
	r.increment = true;
	s = restore_str(db, "j", &r);
	is_str(s,
	    "10.0.0.3:95000:-1:2:0 10.0.0.4:95000:86400:3:0 "
	    "10.0.0.1:99900:600:1:0 10.0.0.5:99900:600:1:0 "
	    "user@example:99950:600:1:0",
	    "restore with increment: stored bantimes kept");
	free(s);

	r.maxtime = 4000;
	s = restore_str(db, "j", &r);
	is_str(s,
	    "10.0.0.1:99900:600:1:0 10.0.0.5:99900:600:1:0 "
	    "user@example:99950:600:1:0",
	    "restore with increment: clamped to maxtime 4000, so the "
	    "permanent and long ones ended");
	free(s);

	r.now = now + 1000;
	r.maxtime = 0;
	r.increment = false;
	r.bantime = 600;
	s = restore_str(db, "j", &r);
	is_str(s, "", "restore later: everything expired");
	free(s);
	db_close(db);
}

/* Restored matches left as text, taken by the callback. */
struct raw_got {
	struct strv texts; /* "KEY=JSON" */
	int taken;
};

static int
take_raw(void *arg, const struct db_ban *b)
{
	struct raw_got *g = arg;
	char buf[ADDR_STRLEN];

	addr_format(&b->key.addr, buf);
	if (b->matches_raw == NULL)
		strv_take(
		    &g->texts, xasprintf("%s=(parsed %zu)", buf, b->nmatches));
	else if (b->nmatches != 0)
		strv_take(&g->texts, xasprintf("%s=(parsed too)", buf));
	else if (*b->matches_raw == NULL)
		strv_take(&g->texts, xasprintf("%s=(none)", buf));
	else {
		strv_take(&g->texts, xasprintf("%s=%s", buf, *b->matches_raw));
		/* taken: the database must not free it again */
		free(*b->matches_raw);
		*b->matches_raw = NULL;
		g->taken++;
	}
	return 0;
}

static char *
joined(const struct strv *sv)
{
	struct sbuf s = SBUF_INIT;

	for (size_t i = 0; i < sv->n; i++)
		sbuf_printf(&s, "%s%s", i ? "|" : "", sv->v[i]);
	return sbuf_detach(&s);
}

/* The restore's fast paths: key order, raw matches, the parsers. */
static void
test_restore_fast(void)
{
	struct db *db = mem();
	struct db_restore r = {0};
	const char *m[] = {"l1", "l\"2", "l3"};
	struct db_ban b = {0};
	struct raw_got g = {STRV_INIT, 0};
	struct strv sv = STRV_INIT;
	char *s;
	double now = 100000;

	/* oldest first by time; the table's order is by kind, then key */
	ban(db, "j", ip("10.0.0.9"), now - 300, 600, 1);
	ban(db, "j", raw("10-raw"), now - 200, 600, 1);
	ban(db, "j", ip("10.0.0.10"), now - 100, 600, 1);
	ban(db, "j", ip("192.0.2.1"), now - 400, 600, 1);
	is_int(db_flush(db), 0, "restore order: flush");
	r.now = now;
	r.bantime = 600;
	s = restore_str(db, "j", &r);
	is_str(s,
	    "192.0.2.1:99600:600:1:0 10.0.0.9:99700:600:1:0 "
	    "10-raw:99800:600:1:0 10.0.0.10:99900:600:1:0",
	    "restore order: oldest first by default");
	free(s);
	r.key_order = true;
	s = restore_str(db, "j", &r);
	is_str(s,
	    "10.0.0.10:99900:600:1:0 10.0.0.9:99700:600:1:0 "
	    "192.0.2.1:99600:600:1:0 10-raw:99800:600:1:0",
	    "restore order: key_order gives addresses by text, then raw ids");
	free(s);
	db_close(db);

	db = mem();
	b.key = ip("192.0.2.5");
	b.time = now - 10;
	b.bantime = 600;
	b.bancount = 1;
	b.failures = 3;
	b.matches = (const char *const *)m;
	b.nmatches = 3;
	db_ban_add(db, "j", &b);
	b.key = ip("192.0.2.6");
	b.nmatches = 0;
	b.matches = NULL;
	db_ban_add(db, "j", &b);
	db_flush(db);
	r.raw_matches = true;
	r.maxmatches = 1;
	is_int(db_bans_restore(db, "j", &r, take_raw, &g), 2,
	    "raw matches: both bans");
	s = joined(&g.texts);
	is_str(s, "192.0.2.5=[\"l1\",\"l\\\"2\",\"l3\"]|192.0.2.6=(none)",
	    "raw matches: the stored JSON as it is, maxmatches not applied");
	free(s);
	is_int(g.taken, 1, "raw matches: the callback may take the text");
	strv_cleanup(&g.texts);
	r.raw_matches = false;
	is_int(db_bans_restore(db, "j", &r, take_raw, &g), 2,
	    "parsed matches: both bans");
	s = joined(&g.texts);
	is_str(s, "192.0.2.5=(parsed 1)|192.0.2.6=(parsed 0)",
	    "parsed matches: no raw text offered, maxmatches applied");
	free(s);
	strv_cleanup(&g.texts);
	db_close(db);

	/* db_matches_parse: the last max lines */
	db_matches_parse("[\"a\",\"b\\\"q\\u00e9\",\"c\"]", 2, &sv);
	s = joined(&sv);
	is_str(s, "b\"q\xc3\xa9|c", "matches parse: last 2, escapes decoded");
	free(s);
	strv_cleanup(&sv);
	db_matches_parse("[\"a\",\"b\"]", 0, &sv);
	is_int(sv.n, 0, "matches parse: max 0 keeps none");
	db_matches_parse("[ \"a\" , \"b\" ]", 5, &sv);
	is_int(sv.n, 2, "matches parse: white space (jansson's path)");
	strv_cleanup(&sv);
	db_matches_parse("[\"a\",", 5, &sv);
	db_matches_parse(NULL, 5, &sv);
	is_int(sv.n, 0, "matches parse: broken JSON and NULL give none");

	/* db_data_parse: fdata_json's objects, and others through jansson */
	is_int(db_data_parse("{\"user\":\"bob\",\"ip4\":\"1.2.3.4\"}", &sv), 0,
	    "data parse: an object");
	s = joined(&sv);
	is_str(s, "user|bob|ip4|1.2.3.4", "data parse: pairs in order");
	free(s);
	strv_cleanup(&sv);
	db_data_parse("{\"a\":\"x\\\"y\\u00e9\\n\",\"e\":\"\"}", &sv);
	s = joined(&sv);
	is_str(s, "a|x\"y\xc3\xa9\n|e|", "data parse: escapes, empty value");
	free(s);
	strv_cleanup(&sv);
	db_data_parse("{ \"n\": 1, \"s\": \"v\", \"l\": [\"x\"] }", &sv);
	s = joined(&sv);
	is_str(s, "s|v", "data parse: only string members (jansson's path)");
	free(s);
	strv_cleanup(&sv);
	db_data_parse("{\"a\":\"1\",\"a\":\"2\"}", &sv);
	s = joined(&sv);
	is_str(s, "a|2", "data parse: a repeated name counts once, last value");
	free(s);
	strv_cleanup(&sv);
	is_int(db_data_parse("{}", &sv), 0, "data parse: empty object");
	is_int(sv.n, 0, "data parse: empty object gives nothing");
	is_int(
	    db_data_parse("[\"x\"]", &sv), -1, "data parse: an array is not");
	is_int(db_data_parse("{\"a\":\"b\"", &sv), -1,
	    "data parse: broken object");
	is_int(db_data_parse("{\"a\":\"\\u0000\"}", &sv), -1,
	    "data parse: NUL in a value refused (as jansson)");
	is_int(db_data_parse(NULL, &sv), -1, "data parse: NULL");
	is_int(sv.n, 0, "data parse: nothing added on failure");
	strv_cleanup(&sv);
}

static int
stop_after_one(void *arg, const struct db_ban *b)
{
	(void)b;
	(*(int *)arg)++;
	return 1;
}

static void
test_matches(void)
{
	struct db *db = mem();
	struct db_restore r = {0};
	const char *m1[] = {"a1", "a2", "a3"};
	const char *m2[] = {"b1", "b2", "b3", "b4"};
	const char *m3[] = {"c1\xff\xfe bad utf8"};
	struct db_ban b = {0};
	struct strv sv = STRV_INIT;
	unsigned long fails = 0;
	char *s;
	int calls = 0;

	db_set_maxmatches(db, 5);
	is_int(db_maxmatches(db), 5, "maxmatches set");
	b.key = ip("192.0.2.7");
	b.bantime = 600;
	b.bancount = 1;
	b.time = 1000;
	b.failures = 3;
	b.matches = m1;
	b.nmatches = 3;
	b.data = "{\"user\":\"bob\"}";
	db_ban_add(db, "sshd", &b);
	b.time = 2000;
	b.failures = 4;
	b.bancount = 2;
	b.matches = m2;
	b.nmatches = 4;
	b.data = "not json";
	db_ban_add(db, "sshd", &b);
	b.time = 1500;
	b.failures = 1;
	b.bancount = 1;
	b.matches = m3;
	b.nmatches = 1;
	b.data = NULL;
	db_ban_add(db, "apache", &b);

	/* reads see queued writes of the same tick */
	is_int(db_ban_matches(db, "sshd", &b.key, &sv, &fails), 2,
	    "ipjailmatches: two bans in sshd (before flush)");
	s = xasprintf("%s", sv.n ? sv.v[0] : "");
	for (size_t i = 1; i < sv.n; i++) {
		char *t = xasprintf("%s,%s", s, sv.v[i]);

		free(s);
		s = t;
	}
	is_str(s, "a3,b1,b2,b3,b4",
	    "ipjailmatches: newest bans first, capped at 5, in time order");
	free(s);
	is_int(fails, 7, "ipjailfailures: summed");
	strv_cleanup(&sv);
	is_int(db_flush(db), 0, "matches: flush");

	db_ban_matches(db, NULL, &b.key, &sv, &fails);
	is_int(sv.n, 5, "ipmatches: over all jails, capped");
	is_str(sv.n == 5 ? sv.v[1] : NULL, "b1",
	    "ipmatches: the sshd ban at 2000 is newest, its 4 lines last");
	ok(sv.n == 5 && strncmp(sv.v[0], "c1", 2) == 0,
	    "ipmatches: then the last line of the apache ban at 1500");
	is_str(sv.n == 5 ? sv.v[4] : NULL, "b4", "ipmatches: last line");
	is_int(fails, 8, "ipfailures: over all jails");
	strv_cleanup(&sv);

	db_set_maxmatches(db, 2);
	db_ban_matches(db, "apache", &b.key, &sv, &fails);
	is_str(sv.n ? sv.v[0] : NULL, "c1\xef\xbf\xbd\xef\xbf\xbd bad utf8",
	    "matches: invalid UTF-8 stored as U+FFFD");
	strv_cleanup(&sv);

	r.now = 2100;
	r.bantime = 600;
	r.maxmatches = 2;
	s = restore_str(db, "sshd", &r);
	is_str(s, "192.0.2.7:2000:600:2:2",
	    "restore: latest ban only, matches trimmed to the jail's 2");
	free(s);
	r.maxmatches = 0;
	s = restore_str(db, "sshd", &r);
	is_str(s, "192.0.2.7:2000:600:2:0", "restore: maxmatches 0 keeps none");
	free(s);
	is_int(db_bans_restore(db, "sshd", &r, stop_after_one, &calls), 1,
	    "restore: callback can stop");
	is_int(calls, 1, "restore: called once");

	/* dbmaxmatches 0 stores no matches at all */
	db_set_maxmatches(db, 0);
	b.time = 3000;
	b.key = ip("192.0.2.8");
	db_ban_add(db, "sshd", &b);
	db_set_maxmatches(db, 10);
	db_ban_matches(db, "sshd", &b.key, &sv, &fails);
	is_int(sv.n, 0, "dbmaxmatches 0: no matches stored");
	strv_cleanup(&sv);
	db_close(db);
}

static void
test_history(void)
{
	struct db *db = mem();
	struct db_history h;
	struct fkey k = ip("2001:db8::5"), k2 = ip("198.51.100.0/24");

	is_int(db_ban_history(db, "sshd", &k, &h), 0, "history: unknown key");
	is_int(db_ban_history(db, NULL, &k, &h), 0,
	    "history over jails: unknown key");
	ban(db, "sshd", k, 1000, 600, 1);
	ban(db, "sshd", k, 2000, 1200, 2);
	ban(db, "apache", k, 1500, 600, 3);
	ban(db, "sshd", k2, 1700, 600, 1);
	db_flush(db);
	is_int(db_ban_history(db, "sshd", &k, &h), 1, "history: found");
	is_int(h.bancount, 2, "history: latest count in sshd");
	is_dbl(h.time, 2000, "history: latest time in sshd");
	is_dbl(h.bantime, 1200, "history: its bantime");
	is_int(db_ban_history(db, NULL, &k, &h), 1, "history overall: found");
	is_int(h.bancount, 5, "history overall: counts summed (2 + 3)");
	is_dbl(h.time, 2000, "history overall: latest time");
	is_dbl(h.bantime, 1800, "history overall: bantimes summed");
	is_int(db_ban_history(db, "sshd", &k2, &h), 1,
	    "history: a network key round-trips");
	is_int(db_ban_history(db, "apache", &k2, &h), 0,
	    "history: per jail means per jail");
	is_int(db_count_history(db), 4, "history rows");
	is_int(db_count_latest(db), 3, "latest rows");

	db_ban_del(db, "sshd", &k);
	is_int(db_ban_history(db, "sshd", &k, &h), 0,
	    "unban: sshd's history of the key gone");
	is_int(db_ban_history(db, "apache", &k, &h), 1,
	    "unban: other jails keep theirs");
	is_int(db_count_history(db), 2, "unban: history rows deleted too");
	db_ban_del(db, "apache", NULL);
	db_flush(db);
	is_int(db_count_latest(db), 1, "unban all of a jail");
	db_close(db);
}

static void
test_positions(void)
{
	struct db *db = mem();
	char *hash, *cur;
	uint64_t pos;

	is_int(db_log_get(db, "sshd", "/var/log/auth.log", &hash, &pos), 0,
	    "log position: none yet");
	db_log_set(db, "sshd", "/var/log/auth.log",
	    "da39a3ee5e6b4b0d3255bfef95601890afd80709", 12345);
	db_log_set(db, "sshd", "/var/log/auth.log",
	    "da39a3ee5e6b4b0d3255bfef95601890afd80709", 99999999999ULL);
	db_log_set(db, "sshd", "/var/log/other", NULL, 7);
	db_flush(db);
	is_int(db_log_get(db, "sshd", "/var/log/auth.log", &hash, &pos), 1,
	    "log position: found");
	is_str(hash, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	    "log position: hash");
	is_int(pos, 99999999999LL, "log position: last write wins, 64-bit");
	free(hash);
	db_log_get(db, "sshd", "/var/log/other", &hash, &pos);
	ok(hash == NULL && pos == 7, "log position: NULL hash kept");
	is_int(db_log_get(db, "apache", "/var/log/other", &hash, &pos), 0,
	    "log position: per jail");
	is_int(db_journal_get(db, "sshd", &cur), 0, "journal: none yet");
	db_journal_set(db, "sshd", "s=abc;i=1");
	db_journal_set(db, "sshd", "s=abc;i=2");
	is_int(db_journal_get(db, "sshd", &cur), 1, "journal: found");
	is_str(cur, "s=abc;i=2", "journal: cursor");
	free(cur);
	db_close(db);
}

static long
fsize(const char *p)
{
	struct stat sb;
	char *wal = xasprintf("%s-wal", p);
	long n = 0;

	if (stat(p, &sb) == 0)
		n += (long)sb.st_size;
	if (stat(wal, &sb) == 0)
		n += (long)sb.st_size;
	free(wal);
	return n;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time of this process: the wall clock on a shared machine lies. */
static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
add_many(struct db *db, const char *jail, unsigned from, unsigned n,
    double time, double bantime, size_t nmatches)
{
	static const char *m[] = {
	    "Jan  1 00:00:01 host sshd[1234]: Failed password for root from "
	    "10.1.2.3 port 22 ssh2",
	    "Jan  1 00:00:02 host sshd[1234]: Failed password for root from "
	    "10.1.2.3 port 22 ssh2",
	    "Jan  1 00:00:03 host sshd[1234]: Failed password for root from "
	    "10.1.2.3 port 22 ssh2",
	};
	struct db_ban b = {0};

	b.bantime = bantime;
	b.bancount = 1;
	b.failures = 3;
	b.matches = m;
	b.nmatches = nmatches;
	b.data = "{\"user\":\"root\"}";
	for (unsigned i = from; i < from + n; i++) {
		memset(&b.key, 0, sizeof(b.key));
		b.key.kind = FKEY_ADDR;
		b.key.addr.family = 2; /* AF_INET */
		b.key.addr.prefix = 32;
		b.key.addr.b[0] = 10;
		b.key.addr.b[1] = (uint8_t)(i >> 16);
		b.key.addr.b[2] = (uint8_t)(i >> 8);
		b.key.addr.b[3] = (uint8_t)i;
		b.time = time + i % 1000;
		db_ban_add(db, jail, &b);
	}
}

static void
test_flush_time(void)
{
	char *p = tpath("flush.db");
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(p, NULL, &d);
	double t0, t1, t2, c0, best = 1e9;

	ok(db != NULL, "flush timing: open file");
	db_jail_add(db, "sshd");
	db_flush(db);
	for (int round = 0; round < 3; round++) {
		t0 = now_ms();
		c0 = cpu_ms();
		add_many(
		    db, "sshd", (unsigned)round * 10000, 10000, 1e9, 600, 3);
		t1 = now_ms();
		is_int(db_flush(db), 0, "flush of 10000 bans (round %d)",
		    round + 1);
		t2 = now_ms();
		printf("# 10000 bans with 3 matches each: queue %.1f ms + "
		       "commit %.1f ms = %.1f ms (CPU %.1f ms)\n",
		    t1 - t0, t2 - t1, t2 - t0, cpu_ms() - c0);
		if (t2 - t0 < best)
			best = t2 - t0;
	}
	/* generous: a busy machine is slower, sanitizer builds much slower */
	ok(best < (sanitized ? 5000 : 1000),
	    "10000 bans queued and committed in %.1f ms", best);
	is_int(db_count_history(db), 30000, "flush timing: all rows there");
	t0 = now_ms();
	db_ban_add(db, "sshd",
	    &(struct db_ban){.key = ip("192.0.2.99"),
	        .time = 1e9,
	        .bantime = 600,
	        .bancount = 1});
	db_flush(db);
	printf("# one ban: %.3f ms\n", now_ms() - t0);
	db_close(db);
	diags_cleanup(&d);
	free(p);
}

static void exec_sql(const char *path, const char *sql);

/* Stored matches read back byte for byte, whoever wrote the JSON text. */
/*
 * Every byte the JSON writer treats apart, at every offset of a line
 * longer than three words (it skips plain 8-byte words at a time): the
 * line comes back as written (invalid UTF-8 as U+FFFD).
 */
static void
test_matches_offsets(void)
{
	static const char *const sp[][2] = {{"\"", "\""}, {"\\", "\\"},
	    {"\n", "\n"}, {"\x01", "\x01"}, {"\x1f", "\x1f"}, {"\x7f", "\x7f"},
	    {" ", " "}, {"\xc3\xa9", "\xc3\xa9"},
	    {"\xe2\x82\xac", "\xe2\x82\xac"}, {"\xff", "\xef\xbf\xbd"},
	    {"\xc3", "\xef\xbf\xbd"}};
	enum { NSP = sizeof(sp) / sizeof(sp[0]), LEN = 27 };
	struct db_options o = {.maxmatches = NSP * LEN};
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(":memory:", &o, &d);
	char *in[NSP * LEN], *want[NSP * LEN];
	struct db_ban b = {.key = ip("192.0.2.9"),
	    .time = 1000,
	    .bantime = 600,
	    .bancount = 1,
	    .failures = 4,
	    .matches = (const char *const *)in,
	    .nmatches = NSP * LEN};
	struct strv sv = STRV_INIT;
	unsigned long fails = 0;
	size_t bad = 0;

	for (size_t k = 0; k < NSP; k++)
		for (int at = 0; at < LEN; at++) {
			const char *pad = "abcdefghijklmnopqrstuvwxyz0";

			in[k * LEN + at] =
			    xasprintf("%.*s%s%s", at, pad, sp[k][0], pad + at);
			want[k * LEN + at] =
			    xasprintf("%.*s%s%s", at, pad, sp[k][1], pad + at);
		}
	db_ban_add(db, "sshd", &b);
	db_flush(db);
	db_ban_matches(db, "sshd", &b.key, &sv, &fails);
	is_int(sv.n, NSP * LEN, "matches at every offset: all lines back");
	for (size_t i = 0; i < sv.n && i < NSP * LEN; i++)
		if (strcmp(sv.v[i], want[i]) != 0) {
			if (bad++ == 0)
				printf("# line %zu: got '%s'\n", i, sv.v[i]);
		}
	bad += NSP * LEN - (sv.n < NSP * LEN ? sv.n : NSP * LEN);
	is_int((long)bad, 0, "matches at every offset: each as written");
	for (size_t i = 0; i < NSP * LEN; i++) {
		free(in[i]);
		free(want[i]);
	}
	strv_cleanup(&sv);
	db_close(db);
	diags_cleanup(&d);
}

static void
test_matches_text(void)
{
	char *p = tpath("mtext.db");
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(p, NULL, &d);
	const char *m[] = {"", "q\"uo\\te/ \t tab\nnl \x01 ctl \x7f",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ok", "[\"not\",\"an\"]"};
	struct db_ban b = {.key = ip("192.0.2.8"),
	    .time = 1000,
	    .bantime = 600,
	    .bancount = 1,
	    .failures = 4,
	    .matches = m,
	    .nmatches = 4};
	struct strv sv = STRV_INIT;
	unsigned long fails = 0;
	bool same = true;

	db_ban_add(db, "sshd", &b);
	db_flush(db);
	db_ban_matches(db, "sshd", &b.key, &sv, &fails);
	is_int(sv.n, 4, "matches text: all lines back");
	for (size_t i = 0; i < sv.n && i < 4; i++)
		if (strcmp(sv.v[i], m[i]) != 0)
			same = false;
	ok(same && sv.n == 4, "matches text: quotes, controls, UTF-8 intact");
	strv_cleanup(&sv);
	db_close(db);

	/* JSON as another writer may put it: spaces, escaped pairs */
	exec_sql(p,
	    "UPDATE ban_history SET matches ="
	    " '[ \"a\\u00e9\" , \"\\ud83d\\ude00\\/\" ]'");
	db = db_open(p, NULL, &d);
	db_ban_matches(db, "sshd", &b.key, &sv, &fails);
	ok(sv.n == 2 && strcmp(sv.v[0], "a\xc3\xa9") == 0 &&
	        strcmp(sv.v[1], "\xf0\x9f\x98\x80/") == 0,
	    "matches text: white space and surrogate pairs decoded");
	strv_cleanup(&sv);
	db_close(db);
	exec_sql(p, "UPDATE ban_history SET matches = '[\"a\",\"b\"'");
	db = db_open(p, NULL, &d);
	db_ban_matches(db, "sshd", &b.key, &sv, &fails);
	is_int(sv.n, 0, "matches text: a broken array gives none");
	strv_cleanup(&sv);
	db_close(db);
	is_int(d.n, 0, "matches text: no warning");
	diags_cleanup(&d);
	free(p);
	test_matches_offsets();
}

static long
wal_size(const char *p)
{
	struct stat sb;
	char *wal = xasprintf("%s-wal", p);
	long n = stat(wal, &sb) == 0 ? (long)sb.st_size : 0;

	free(wal);
	return n;
}

/* Checkpoints on a thread of their own, as the daemon's libuv pool. */
struct ckpt_runner {
	struct db_ckpt *c;
	bool concurrent; /* joined when the next one is due, else at once */
	pthread_t th;
	bool running;
	int runs;
};

static void *
ckpt_thread(void *arg)
{
	db_ckpt_run(arg);
	return NULL;
}

/*
 * One ban per commit, as a quiet daemon does; after each commit a
 * checkpoint when db_ckpt_due (one at a time, as the daemon does).
 * Returns the largest WAL size seen, -1 on failure.
 */
static long
commit_singles(struct db *db, const char *p, unsigned from, unsigned n,
    struct ckpt_runner *cr)
{
	long max = 0;

	for (unsigned i = from; i < from + n; i++) {
		add_many(db, "sshd", i, 1, 1e9, 600, 3);
		db_log_set(db, "sshd", "/var/log/auth.log", "abc", i);
		if (db_flush(db) != 0)
			return -1;
		if (wal_size(p) > max)
			max = wal_size(p);
		if (!cr || !db_ckpt_due(db))
			continue;
		if (cr->running) {
			pthread_join(cr->th, NULL);
			cr->running = false;
		}
		if (pthread_create(&cr->th, NULL, ckpt_thread, cr->c) != 0)
			return -1;
		cr->runs++;
		cr->running = true;
		if (!cr->concurrent) {
			pthread_join(cr->th, NULL);
			cr->running = false;
		}
	}
	if (cr && cr->running) {
		pthread_join(cr->th, NULL);
		cr->running = false;
	}
	return max;
}

static void
test_checkpoints(void)
{
	char *p = tpath("ckpt.db");
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(p, NULL, &d);
	struct ckpt_runner cr = {0};
	long page = 4096 + 24, max;
	int frames, done;

	ok(db_ckpt_new(NULL) == NULL, "ckpt: none for no database");
	{
		struct db *m = db_open(":memory:", NULL, &d);

		ok(db_ckpt_new(m) == NULL, "ckpt: none for :memory:");
		db_close(m);
	}
	db_jail_add(db, "sshd");
	db_flush(db);

	/* automatic (the default): the WAL stays near DB_CKPT_FRAMES */
	max = commit_singles(db, p, 0, 600, NULL);
	ok(!db_ckpt_due(db), "ckpt: never due while automatic");
	ok(max > 0 && max < (DB_CKPT_FRAMES + 50) * page,
	    "ckpt automatic: WAL at most %ld bytes", max);

	/* deferred, never run: the commit past DB_CKPT_HARD checkpoints */
	cr.c = db_ckpt_new(db);
	ok(cr.c != NULL, "ckpt: second connection");
	db_set_autocheckpoint(db, false);
	max = commit_singles(db, p, 1000, 3000, NULL);
	printf("# deferred, no checkpoint run: WAL up to %ld bytes\n", max);
	ok(max > (DB_CKPT_FRAMES + 50) * page,
	    "ckpt deferred: commits no longer checkpoint at %d pages",
	    DB_CKPT_FRAMES);
	ok(max < (DB_CKPT_HARD + 50) * page,
	    "ckpt deferred: WAL bounded by DB_CKPT_HARD (%ld bytes)", max);
	is_int(db_count_history(db), 3600, "ckpt deferred: every ban there");

	/* each due checkpoint run on another thread and waited for: the
	 * next commit starts the WAL over, as SQLite's own checkpoint does */
	if (wal_size(p) > 0) /* start from an emptied WAL */
		db_ckpt_run(cr.c);
	max = commit_singles(db, p, 5000, 1500, &cr);
	db_ckpt_result(cr.c, &frames, &done);
	printf("# %d checkpoint runs on a thread: WAL up to %ld bytes; "
	       "last run %d of %d pages\n",
	    cr.runs, max, done, frames);
	ok(cr.runs >= 2 && done == frames && db_ckpt_error(cr.c)[0] == '\0',
	    "ckpt thread: %d checkpoints ran, the last one whole", cr.runs);
	ok(max > 0 && max < (DB_CKPT_FRAMES + 50) * page,
	    "ckpt thread: WAL as small as with the automatic one (%ld bytes)",
	    max);

	/* the daemon's way: commits go on while the checkpoint runs */
	cr.concurrent = true;
	cr.runs = 0;
	max = commit_singles(db, p, 7000, 1500, &cr);
	printf("# %d checkpoints concurrent with the commits: WAL up to %ld "
	       "bytes\n",
	    cr.runs, max);
	ok(max > 0 && cr.runs >= 1 && db_ckpt_error(cr.c)[0] == '\0',
	    "ckpt concurrent: %d checkpoints ran, no error", cr.runs);
	is_int(db_count_history(db), 6600, "ckpt concurrent: every ban there");

	/* closed in either order, the last connection empties the WAL */
	db_close(db);
	db_ckpt_free(cr.c);
	is_int(wal_size(p), 0, "ckpt: WAL gone after both closed");
	db = db_open(p, NULL, &d);
	is_int(db_count_history(db), 6600, "ckpt: reopened, all there");
	is_int(d.n, 0, "ckpt: reopened without a warning");
	db_close(db);
	diags_cleanup(&d);
	free(p);
}

static void
test_purge(void)
{
	char *p = tpath("purge.db");
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(p, NULL, &d);
	struct strv sv = STRV_INIT;
	char *hash;
	uint64_t pos;
	long big, small, n, maxsize = 0;
	double t = 1e9, t0;

	db_jail_add(db, "sshd");
	db_jail_add(db, "old");
	db_log_set(db, "old", "/var/log/old", "abc", 10);
	db_journal_set(db, "old", "cursor");
	ban(db, "old", ip("192.0.2.1"), t - 3 * 86400, 600, 1);
	ban(db, "sshd", ip("192.0.2.2"), t - 3 * 86400, -1, 1);
	ban(db, "sshd", ip("192.0.2.3"), t - 2 * 86400, 86400, 1);
	ban(db, "sshd", ip("192.0.2.4"), t - 100, 600, 1);
	db_jail_disable(db, "old");
	db_flush(db);
	n = db_purge(db, t, 86400);
	/* latest: 192.0.2.1 (old jail) only: the permanent stays, .3 ended
	 * within 3 * bantime; history: the old row of .1, the others are
	 * still the latest bans of their keys; jail old + its log position
	 * + its cursor */
	is_int(n, 1 + 1 + 1 + 1 + 1, "purge: rows deleted");
	is_int(db_count_history(db), 3,
	    "purge: recent history and rows of kept latest bans stay");
	is_int(db_count_latest(db), 3, "purge: permanent and recent kept");
	is_int(db_jails(db, -1, &sv), 1, "purge: disabled empty jail gone");
	strv_cleanup(&sv);
	is_int(db_log_get(db, "old", "/var/log/old", &hash, &pos), 0,
	    "purge: its log position gone");
	n = db_purge(db, t + 4 * 86400, 86400);
	is_int(db_count_latest(db), 1, "purge later: only the permanent ban");

	/* 100k bans, then purge: the file shrinks */
	add_many(db, "sshd", 0, 100000, t, 600, 0);
	db_flush(db);
	big = fsize(p);
	t0 = now_ms();
	n = db_purge(db, t + 2 * 86400, 86400);
	printf("# purge of 100000 bans: %.1f ms\n", now_ms() - t0);
	is_int(n, 200000, "purge: 100k history + 100k latest rows");
	small = fsize(p);
	printf("# file size: %ld bytes with 100k bans, %ld after purge\n", big,
	    small);
	ok(big > 10 * 1000 * 1000 && small < 200 * 1000,
	    "purge: file shrinks from %ld to %ld bytes", big, small);

	/* many ban/expire cycles: the size is set by one day of bans */
	for (int day = 0; day < 20; day++) {
		double when = t + (4 + day) * 86400.0;

		add_many(db, "sshd", (unsigned)day * 5000, 5000, when, 600, 3);
		db_flush(db);
		db_purge(db, when + 3600, 86400);
		if (fsize(p) > maxsize)
			maxsize = fsize(p);
	}
	printf(
	    "# 20 days of 5000 bans each: largest file %ld bytes\n", maxsize);
	ok(maxsize < 12 * 1000 * 1000 && db_count_history(db) <= 10000,
	    "purge cycles: file stays bounded (max %ld bytes)", maxsize);
	db_close(db);
	diags_cleanup(&d);
	free(p);
}

static void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *h;

	if (sqlite3_open(path, &h) != SQLITE_OK ||
	    sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		printf("# sql failed: %s\n", sqlite3_errmsg(h));
		abort();
	}
	sqlite3_close(h);
}

static bool
has_diag(const struct diags *d, enum diag_level lv, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == lv && strstr(d->v[i].msg, needle))
			return true;
	printf("# no diag with '%s'; have:\n", needle);
	for (size_t i = 0; i < d->n; i++)
		printf("#   %s\n", d->v[i].msg);
	return false;
}

static void
test_versions(void)
{
	char *p = tpath("ver.db"), *q = tpath("f2b.db"), *o = tpath("o.db");
	struct diags d = DIAGS_INIT;
	struct db *db;
	struct db_history h;
	struct stat sb;

	db = db_open(p, NULL, &d);
	ban(db, "sshd", ip("192.0.2.1"), 5, 600, 4);
	db_close(db);
	memset(&sb, 0, sizeof(sb));
	stat(p, &sb);
	ok((sb.st_mode & 0777) == 0600,
	    "a new database file is private (mode %o)",
	    (unsigned)(sb.st_mode & 0777));
	db = db_open(p, NULL, &d);
	ok(db && d.n == 0, "reopen: no diagnostics");
	is_int(db_ban_history(db, "sshd", &(struct fkey){0}, &h), 0,
	    "reopen: unknown key");
	is_int(
	    db_ban_history(db, "sshd",
	        &(struct fkey){.kind = FKEY_ADDR, .addr = ip("192.0.2.1").addr},
	        &h),
	    1, "reopen: data kept (close flushes)");
	is_int(h.bancount, 4, "reopen: bancount kept");
	db_close(db);

	exec_sql(p, "PRAGMA user_version = 99");
	db = db_open(p, NULL, &d);
	ok(db == NULL, "newer schema: refused");
	ok(has_diag(&d, DIAG_ERROR, "version 99 is newer"),
	    "newer schema: says so");
	ok(stat(p, &sb) == 0, "newer schema: file left in place");
	diags_cleanup(&d);

	exec_sql(q,
	    "CREATE TABLE fail2banDb(version INTEGER);"
	    "INSERT INTO fail2banDb VALUES(4)");
	db = db_open(q, NULL, &d);
	ok(db == NULL && has_diag(&d, DIAG_ERROR, "fail2ban database"),
	    "fail2ban database: refused with advice");
	ok(db_is_fail2ban(q) && !db_is_fail2ban(p), "db_is_fail2ban");
	diags_cleanup(&d);
	{
		struct db_options mo = {.maxmatches = 10,
		    .now = 1700000000,
		    .migrate_fail2ban = true};
		char stamp[32], *kept;
		time_t t = 1700000000;
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		kept = xasprintf("%s.fail2ban-%s", q, stamp);
		exec_sql(q,
		    "CREATE TABLE jails(name TEXT, enabled INTEGER);"
		    "CREATE TABLE logs(jail TEXT, path TEXT,"
		    " firstlinemd5 TEXT, lastfilepos INTEGER);"
		    "CREATE TABLE bans(jail TEXT, ip TEXT, timeofban "
		    "INTEGER, bantime INTEGER, bancount INTEGER, data "
		    "JSON);"
		    "CREATE TABLE bips(ip TEXT, jail TEXT, timeofban "
		    "INTEGER, bantime INTEGER, bancount INTEGER, data "
		    "JSON);"
		    "INSERT INTO bips VALUES('192.0.2.9', 'sshd', "
		    "1699999000, -1, 3, NULL)");
		db = db_open(q, &mo, &d);
		ok(db && has_diag(&d, DIAG_WARNING, "imported 1 current bans"),
		    "migrate_fail2ban: imported in place");
		ok(stat(kept, &sb) == 0 && db_is_fail2ban(kept) &&
		        !db_is_fail2ban(q),
		    "migrate_fail2ban: fail2ban's file kept as %s", kept);
		is_int(db_count_latest(db), 1, "migrate_fail2ban: the ban");
		db_close(db);
		diags_cleanup(&d);
		free(kept);
	}

	exec_sql(o, "CREATE TABLE t(x)");
	db = db_open(o, NULL, &d);
	ok(db == NULL && has_diag(&d, DIAG_ERROR, "not a wardend database"),
	    "another program's database: refused");
	diags_cleanup(&d);
	free(p);
	free(q);
	free(o);
}

static long
file_int(const char *path, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s = NULL;
	long v = -1;

	if (sqlite3_open(path, &h) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/*
 * A database written by a wardend of schema version 1 (the schema as it
 * was, written here by hand): opened, it is upgraded in place, its bans
 * and history stay readable, and the index version 2 dropped is gone.
 */
static void
test_migrate_v1(void)
{
	char *p = tpath("v1.db"), *n = tpath("new.db");
	struct diags d = DIAGS_INIT;
	struct db_restore r = {.now = 1500, .bantime = 600, .maxmatches = 10};
	struct db_history h;
	struct db *db;
	char *got;

	db = db_open(n, NULL, &d);
	ok(db && d.n == 0, "new file: no diagnostics (no upgrade note)");
	db_close(db);
	is_int(file_int(n, "PRAGMA user_version"), DB_SCHEMA_VERSION,
	    "new file: current schema version");
	diags_cleanup(&d);

	exec_sql(p,
	    "CREATE TABLE jails(name TEXT PRIMARY KEY NOT NULL,"
	    " enabled INTEGER NOT NULL DEFAULT 1);"
	    "CREATE TABLE ban_history(id INTEGER PRIMARY KEY,"
	    " jail TEXT NOT NULL, kind INTEGER NOT NULL, key BLOB NOT NULL,"
	    " time REAL NOT NULL, bantime REAL NOT NULL,"
	    " bancount INTEGER NOT NULL, failures INTEGER NOT NULL,"
	    " matches TEXT, data TEXT);"
	    "CREATE INDEX ban_history_key ON ban_history(kind, key, jail, "
	    "time);"
	    "CREATE TABLE latest_ban(jail TEXT NOT NULL,"
	    " kind INTEGER NOT NULL, key BLOB NOT NULL, time REAL NOT NULL,"
	    " bantime REAL NOT NULL, bancount INTEGER NOT NULL, hist INTEGER,"
	    " PRIMARY KEY(jail, kind, key)) WITHOUT ROWID;"
	    "CREATE INDEX latest_ban_key ON latest_ban(kind, key);"
	    "CREATE TABLE log_pos(jail TEXT NOT NULL, path TEXT NOT NULL,"
	    " hash TEXT, pos INTEGER NOT NULL, PRIMARY KEY(jail, path));"
	    "CREATE TABLE journal_pos(jail TEXT PRIMARY KEY NOT NULL,"
	    " cursor TEXT NOT NULL);"
	    "INSERT INTO jails VALUES('apache', 1), ('sshd', 1), ('zz', 0);"
	    "INSERT INTO ban_history VALUES"
	    " (1, 'sshd', 1, CAST('192.0.2.1' AS BLOB), 1000, 600, 1, 3,"
	    "  '[\"l1\",\"l2\"]', '{\"user\":\"bob\"}'),"
	    " (2, 'sshd', 1, CAST('192.0.2.1' AS BLOB), 1200, 1200, 2, 4, "
	    "'[\"l3\"]', NULL),"
	    " (3, 'apache', 1, CAST('192.0.2.1' AS BLOB), 1100, 600, 3, 5, "
	    "NULL, NULL),"
	    " (4, 'zz', 2, CAST('id-7' AS BLOB), 1300, 600, 1, 2, NULL, NULL),"
	    " (5, 'apache', 1, CAST('198.51.100.9' AS BLOB), 1400, 600, 1, 2, "
	    "NULL, NULL);"
	    "INSERT INTO latest_ban VALUES"
	    " ('sshd', 1, CAST('192.0.2.1' AS BLOB), 1200, 1200, 2, 2),"
	    " ('apache', 1, CAST('192.0.2.1' AS BLOB), 1100, 600, 3, 3),"
	    " ('zz', 2, CAST('id-7' AS BLOB), 1300, 600, 1, 4),"
	    " ('apache', 1, CAST('198.51.100.9' AS BLOB), 1400, 600, 1, 5);"
	    "INSERT INTO log_pos VALUES('sshd', '/var/log/auth.log', 'ab', 77);"
	    "PRAGMA user_version = 1;");

	db = db_open(p, NULL, &d);
	ok(db != NULL, "version 1: opened");
	ok(has_diag(&d, DIAG_NOTE, "upgraded from version 1 to 2"),
	    "version 1: the upgrade is noted");
	diags_cleanup(&d);
	got = restore_str(db, "sshd", &r);
	is_str(got, "192.0.2.1:1200:600:2:1", "version 1: sshd's ban restored");
	free(got);
	got = restore_str(db, "apache", &r);
	is_str(got, "192.0.2.1:1100:600:3:0 198.51.100.9:1400:600:1:0",
	    "version 1: apache's bans restored");
	free(got);
	is_int(
	    db_ban_history(db, NULL,
	        &(struct fkey){.kind = FKEY_ADDR, .addr = ip("192.0.2.1").addr},
	        &h),
	    1, "version 1: history over jails");
	is_int(h.bancount, 5, "version 1: counts of sshd and apache summed");
	is_dbl(h.time, 1200, "version 1: latest time over jails");
	is_dbl(h.bantime, 1800, "version 1: bantimes summed");
	is_int(db_ban_history(db, NULL,
	           &(struct fkey){.kind = FKEY_RAW, .s = "id-7", .len = 4}, &h),
	    1, "version 1: a key of the last jail only");
	is_int(h.bancount, 1, "version 1: its count alone");
	{
		struct strv m = STRV_INIT;
		unsigned long f = 0;

		is_int(db_ban_matches(db, "sshd",
		           &(struct fkey){
		               .kind = FKEY_ADDR, .addr = ip("192.0.2.1").addr},
		           &m, &f),
		    2, "version 1: ban history by key");
		is_int((long)f, 7, "version 1: failures of both bans");
		strv_cleanup(&m);
	}
	{
		char *hash = NULL;
		uint64_t pos = 0;

		is_int(db_log_get(db, "sshd", "/var/log/auth.log", &hash, &pos),
		    1, "version 1: log position kept");
		is_int((long)pos, 77, "version 1: its offset");
		free(hash);
	}
	ban(db, "sshd", ip("192.0.2.1"), 1450, 600, 3);
	is_int(db_flush(db), 0, "version 1: a new ban written");
	is_int(
	    db_ban_history(db, NULL,
	        &(struct fkey){.kind = FKEY_ADDR, .addr = ip("192.0.2.1").addr},
	        &h),
	    1, "version 1: history after the new ban");
	is_int(h.bancount, 6, "version 1: the new latest count summed (3 + 3)");
	db_close(db);
	is_int(
	    file_int(p, "PRAGMA user_version"), 2, "version 1: now version 2");
	is_int(file_int(p,
	           "SELECT count(*) FROM sqlite_master"
	           " WHERE name = 'latest_ban_key'"),
	    0, "version 1: latest_ban_key dropped");
	is_int(file_int(p,
	           "SELECT count(*) FROM sqlite_master"
	           " WHERE name = 'ban_history_key'"),
	    1, "version 1: ban_history_key kept");
	db = db_open(p, NULL, &d);
	ok(db && d.n == 0, "version 2 reopened: no upgrade again");
	db_close(db);
	diags_cleanup(&d);
	free(p);
	free(n);
}

static void
test_corrupt(void)
{
	char *p = tpath("bad.db"), *aside, stamp[32];
	struct diags d = DIAGS_INIT;
	struct db_options opts = {.maxmatches = 10, .now = 1700000000};
	struct db *db;
	struct stat sb;
	struct tm tm;
	time_t t = 1700000000;
	FILE *fp;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	aside = xasprintf("%s.corrupt-%s", p, stamp);

	fp = fopen(p, "w");
	fputs("this is not an SQLite database, but it is long enough to "
	      "have a header of one ..........................................",
	    fp);
	fclose(fp);
	db = db_open(p, &opts, &d);
	ok(db != NULL, "garbage file: a new database is opened");
	ok(has_diag(&d, DIAG_WARNING, "moved it to"),
	    "garbage file: reported as a warning");
	ok(stat(aside, &sb) == 0, "garbage file: moved to %s", aside);
	ban(db, "sshd", ip("192.0.2.1"), 5, 600, 1);
	is_int(db_flush(db), 0, "new database works");
	db_close(db);
	diags_cleanup(&d);
	unlink(aside);

	/* damage the b-tree pages of a real database */
	db = db_open(p, &opts, &d);
	add_many(db, "sshd", 0, 3000, 1e9, 600, 3);
	db_close(db);
	ok(d.n == 0, "a database with 3000 bans");
	fp = fopen(p, "r+");
	for (long off = 4096; off < 40 * 4096; off += 4096) {
		fseek(fp, off, SEEK_SET);
		fwrite("\x0d\xff\xff\xff\xff\xff\xff\xff", 1, 8, fp);
	}
	fclose(fp);
	db = db_open(p, &opts, &d);
	ok(db != NULL && has_diag(&d, DIAG_WARNING, "corrupt"),
	    "damaged pages: detected, a new database opened");
	is_int(db_count_history(db), 0, "damaged pages: the new one is empty");
	ok(stat(aside, &sb) == 0, "damaged pages: moved aside");
	db_close(db);
	diags_cleanup(&d);

	/* a second one the same second gets another name */
	fp = fopen(p, "w");
	fputs("garbage garbage garbage garbage garbage garbage garbage "
	      "garbage garbage garbage garbage garbage garbage garbage",
	    fp);
	fclose(fp);
	db = db_open(p, &opts, &d);
	free(aside);
	aside = xasprintf("%s.corrupt-%s.1", p, stamp);
	ok(db != NULL && stat(aside, &sb) == 0,
	    "second corrupt file: %s, the first kept", aside);
	db_close(db);
	diags_cleanup(&d);
	free(aside);
	free(p);
}

static void
test_retry(void)
{
	char *p = tpath("busy.db");
	struct diags d = DIAGS_INIT;
	struct db_options opts = {.maxmatches = 10, .busy_timeout_ms = 20};
	struct db *db = db_open(p, &opts, &d);
	struct db *other = db_open(p, &opts, &d);
	struct db_history h;
	sqlite3 *lock;
	struct fkey k = ip("192.0.2.50");

	ok(db && other, "retry: two handles");
	sqlite3_open(p, &lock);
	sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	ban(db, "sshd", k, 100, 600, 1);
	ban(db, "sshd", ip("192.0.2.51"), 100, 600, 1);
	is_int(db_flush(db), -1, "retry: flush fails while locked");
	ok(strstr(db_last_error(db), "locked") != NULL,
	    "retry: error says why (%s)", db_last_error(db));
	is_int(db_pending(db), 2, "retry: writes kept");
	ban(db, "sshd", ip("192.0.2.52"), 100, 600, 1);
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);
	is_int(db_flush(db), 0, "retry: next flush succeeds");
	is_int(db_pending(db), 0, "retry: queue empty");
	is_int(db_ban_history(other, "sshd", &k, &h), 1,
	    "retry: committed, seen by another connection");
	is_int(db_count_history(other), 3, "retry: each write once");
	/* uncommitted writes are not visible to others */
	ban(db, "sshd", ip("192.0.2.53"), 100, 600, 1);
	is_int(db_count_history(other), 3, "before flush: not durable yet");
	db_flush(db);
	is_int(db_count_history(other), 4, "after flush: visible");

	/* a write that can never succeed is dropped, the others kept */
	exec_sql(p,
	    "CREATE TRIGGER poison BEFORE INSERT ON log_pos"
	    " WHEN NEW.path = 'poison'"
	    " BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
	ban(db, "sshd", ip("192.0.2.60"), 100, 600, 1);
	db_log_set(db, "sshd", "poison", NULL, 1);
	ban(db, "sshd", ip("192.0.2.61"), 100, 600, 1);
	is_int(db_flush(db), -1, "poison: flush reports a problem");
	ok(strstr(db_last_error(db), "1 writes dropped as impossible") &&
	        strstr(db_last_error(db), "poisoned"),
	    "poison: says which (%s)", db_last_error(db));
	is_int(db_pending(db), 0, "poison: nothing left queued");
	is_int(db_count_history(other), 6, "poison: the two bans committed");
	is_int(db_flush(db), 0, "poison: next flush is clean");
	db_close(db);
	db_close(other);
	diags_cleanup(&d);
	free(p);
}

/* A commit job run in a thread of its own, as libuv's pool does. */
static void *
job_thread(void *arg)
{
	db_job_run(arg);
	return NULL;
}

static void
test_jobs(void)
{
	char *p = tpath("jobs.db");
	struct diags d = DIAGS_INIT;
	struct db_options opts = {.maxmatches = 10, .busy_timeout_ms = 20};
	struct db *db = db_open(p, &opts, &d);
	struct db *other = db_open(p, &opts, &d);
	struct fkey k1 = ip("192.0.2.1"), k2 = ip("192.0.2.2");
	struct db_history h;
	struct db_job *job;
	pthread_t th;
	sqlite3 *lock;

	ok(db && other, "jobs: two handles");
	ban(db, "sshd", k1, 100, 600, 1);
	is_int(db_flush_begin(db) == NULL, 1, "jobs: none without lazy mode");
	db_flush(db);
	db_set_lazy(db, true);
	is_int(db_flush_begin(db) == NULL, 1, "jobs: none with nothing queued");

	/* lazy: a queued write waits, a read runs it first */
	ban(db, "sshd", k2, 200, 600, 1);
	is_int(db_count_history(other), 1, "lazy: a queued write waits");
	is_int(db_ban_history(db, "sshd", &k2, &h), 1,
	    "lazy: a read of the same handle sees it");
	ok(db_flush_begin(db) == NULL,
	    "lazy: no job while the read's transaction is open");
	is_int(db_flush(db), 0, "lazy: flush commits");
	is_int(db_count_history(other), 2, "lazy: committed");

	/* a job in a thread; writes queued meanwhile wait behind it */
	for (int i = 0; i < 500; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.51.100.%d", i % 250);
		ban(db, i < 250 ? "sshd" : "web", ip(a), 300 + i, 600, 1);
	}
	job = db_flush_begin(db);
	ok(job != NULL, "job: takes the queue");
	is_int(db_pending(db), 500, "job: its writes count as pending");
	ok(db_flush_begin(db) == NULL, "job: one at a time");
	ok(pthread_create(&th, NULL, job_thread, job) == 0, "job: thread");
	ban(db, "sshd", ip("203.0.113.9"), 900, 600, 1);
	db_ban_del(db, "web", NULL);
	is_int(db_pending(db), 502, "job: newer writes queue behind it");
	pthread_join(th, NULL);
	is_int(db_count_history(other), 502, "job: committed in its thread");
	is_int(db_job_end(db, job), 0, "job: ends committed");
	is_int(db_pending(db), 2, "job: the newer writes still queued");
	is_int(db_count_history(other), 502, "job: the newer ones not run");
	is_int(db_flush(db), 0, "job: then a flush commits them");
	is_int(db_count_history(other), 253,
	    "job: in order (the web jail's 250 bans deleted after)");

	/* a job no thread has started: a flush runs it in place */
	ban(db, "sshd", ip("203.0.113.10"), 950, 600, 1);
	job = db_flush_begin(db);
	ban(db, "sshd", ip("203.0.113.11"), 960, 600, 1);
	is_int(
	    db_flush(db), 0, "settle: flush runs the job here, then the rest");
	is_int(db_count_history(other), 255, "settle: both committed");
	db_job_run(job); /* the pool's thread comes late: nothing to do */
	is_int(db_job_end(db, job), 0, "settle: the job ends committed");
	is_int(db_count_history(other), 255, "settle: each write once");

	/* a read while a job runs waits for it and sees every write */
	for (int i = 0; i < 2000; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.1.%d.%d", i / 250, i % 250);
		ban(db, "ssh2", ip(a), 1000 + i, 600, 1);
	}
	job = db_flush_begin(db);
	ok(pthread_create(&th, NULL, job_thread, job) == 0, "read: thread");
	ban(db, "ssh2", k1, 5000, 600, 7);
	is_int(db_ban_history(db, "ssh2", &k1, &h), 1,
	    "read: sees a write queued behind the job");
	is_int(h.bancount, 7, "read: that write's count");
	is_int(db_count_history(db), 2256, "read: and the job's");
	pthread_join(th, NULL);
	is_int(db_job_end(db, job), 0, "read: job ended committed");
	is_int(db_flush(db), 0, "read: flush commits the rest");
	is_int(db_count_history(other), 2256, "read: all committed");

	/* a job that fails: its writes queued again, in front */
	sqlite3_open(p, &lock);
	sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	ban(db, "fail", ip("192.0.2.70"), 100, 600, 1);
	ban(db, "fail", ip("192.0.2.71"), 100, 600, 1);
	job = db_flush_begin(db);
	ok(pthread_create(&th, NULL, job_thread, job) == 0, "fail: thread");
	pthread_join(th, NULL);
	db_ban_del(db, "fail", NULL);
	ban(db, "fail", ip("192.0.2.72"), 100, 600, 1);
	is_int(db_job_end(db, job), -1, "fail: job ends failed");
	ok(strstr(db_last_error(db), "locked") != NULL &&
	        strstr(db_last_error(db), "4 writes kept for retry") != NULL,
	    "fail: error says why (%s)", db_last_error(db));
	is_int(db_pending(db), 4, "fail: every write kept");
	job = db_flush_begin(db);
	ok(pthread_create(&th, NULL, job_thread, job) == 0, "fail: thread 2");
	pthread_join(th, NULL);
	is_int(db_job_end(db, job), -1, "fail: still locked");
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);
	job = db_flush_begin(db);
	ok(job != NULL, "fail: a replay job");
	ok(pthread_create(&th, NULL, job_thread, job) == 0, "fail: thread 3");
	pthread_join(th, NULL);
	is_int(db_job_end(db, job), 0, "fail: the replay commits");
	is_int(db_pending(db), 0, "fail: nothing left");
	is_int(db_count_history(other), 2257,
	    "fail: replayed in order (two bans, the delete, the third)");

	/* a write that can never succeed: dropped, the job says so */
	exec_sql(p,
	    "CREATE TRIGGER poison BEFORE INSERT ON log_pos"
	    " WHEN NEW.path = 'poison'"
	    " BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
	ban(db, "sshd", ip("192.0.2.80"), 100, 600, 1);
	db_log_set(db, "sshd", "poison", NULL, 1);
	ban(db, "sshd", ip("192.0.2.81"), 100, 600, 1);
	job = db_flush_begin(db);
	db_job_run(job);
	is_int(db_job_end(db, job), 1, "poison: committed, with a warning");
	ok(strstr(db_last_error(db), "1 writes dropped as impossible") != NULL,
	    "poison: says so (%s)", db_last_error(db));
	is_int(db_count_history(other), 2259, "poison: the two bans there");

	/* close waits for a job out; db_job_end(NULL) frees it */
	ban(db, "sshd", ip("192.0.2.90"), 100, 600, 1);
	job = db_flush_begin(db);
	ok(pthread_create(&th, NULL, job_thread, job) == 0, "close: thread");
	db_close(db);
	pthread_join(th, NULL);
	is_int(db_job_end(NULL, job), 0, "close: the job had committed");
	is_int(db_count_history(other), 2260, "close: its write is there");
	db_close(other);
	diags_cleanup(&d);
	free(p);
}

/* Keeps the data of the last ban that has some. */
static int
grab_data(void *arg, const struct db_ban *b)
{
	char **data = arg;

	if (b->data) {
		free(*data);
		*data = xstrdup(b->data);
	}
	return 0;
}

static void
test_import(void)
{
	char *f = tpath("import-f2b.sqlite3");
	struct diags d = DIAGS_INIT;
	struct db *db = mem();
	struct db_import_stats st;
	struct db_restore r = {0};
	struct db_history h;
	struct strv sv = STRV_INIT;
	unsigned long fails;
	char *s, *hash;
	uint64_t pos;
	double now = 1700000000;

	exec_sql(f,
	    "CREATE TABLE fail2banDb(version INTEGER);"
	    "INSERT INTO fail2banDb VALUES(4);"
	    "CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER "
	    "NOT NULL DEFAULT 1);"
	    "CREATE TABLE logs(jail TEXT NOT NULL, path TEXT, firstlinemd5 "
	    "TEXT, lastfilepos INTEGER DEFAULT 0);"
	    "CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban "
	    "INTEGER NOT NULL, bantime INTEGER NOT NULL, bancount INTEGER "
	    "NOT NULL DEFAULT 1, data JSON);"
	    "CREATE TABLE bips(ip TEXT NOT NULL, jail TEXT NOT NULL, "
	    "timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL, bancount "
	    "INTEGER NOT NULL DEFAULT 1, data JSON, PRIMARY KEY(ip, jail));"
	    "INSERT INTO jails VALUES('sshd', 1), ('gone', 0);"
	    "INSERT INTO logs VALUES('sshd', '/var/log/auth.log', "
	    "'0a4d55a8d778e5022fab701977c5d840bbc486d0', 4242),"
	    "('sshd', 'systemd-journal', '2023-11-14 22:13:20', 1700000000);"
	    /* current: an address, with a 3-item first match and users */
	    "INSERT INTO bips VALUES('192.0.2.1', 'sshd', 1699999900, 600, 2,"
	    " '{\"matches\": [[\"Nov 14 \", \"22:11:40\", \" host sshd: "
	    "fail\"], \"line 2\"], \"failures\": 5, \"users\": \"[''bob1'', "
	    "''al\\\\''x'']\", \"user\": \"bob1\"}');"
	    /* expired, a raw id */
	    "INSERT INTO bips VALUES('some-raw-id', 'sshd', 1699990000, 600, "
	    "1, '{\"failures\": 3}');"
	    /* permanent, IPv6 */
	    "INSERT INTO bips VALUES('2001:db8::1', 'sshd', 1600000000, -1, "
	    "1, NULL);"
	    /* bad id */
	    "INSERT INTO bips VALUES('', 'sshd', 1699999900, 600, 1, NULL);"
	    "INSERT INTO bans VALUES('sshd', '192.0.2.1', 1699990000, 600, "
	    "1, '{\"matches\": [\"old 1\"], \"failures\": 3}');"
	    "INSERT INTO bans SELECT jail, ip, timeofban, bantime, bancount, "
	    "data FROM bips WHERE ip = '192.0.2.1';"
	    "INSERT INTO bans VALUES('sshd', 'some-raw-id', 1699990000, 600, "
	    "1, X'7b226661696c75726573223a20337d');");
	is_int(db_import_fail2ban(db, f, now, &st, &d), 0, "import: succeeds");
	diags_print(&d, stdout);
	is_int(st.current, 2, "import: current bans");
	is_int(st.expired, 1, "import: expired ones counted");
	is_int(st.skipped, 1, "import: a row with an empty id skipped");
	is_int(st.history, 3, "import: history rows");
	is_int(st.logs, 1, "import: one log position (systemd row skipped)");
	is_int(st.jails, 2, "import: jails");

	r.now = now;
	r.bantime = 600;
	r.increment = true;
	r.maxmatches = 10;
	s = restore_str(db, "sshd", &r);
	is_str(s, "2001:db8::1:1600000000:-1:1:0 192.0.2.1:1699999900:600:2:2",
	    "import: restorable bans");
	free(s);
	is_int(
	    db_ban_history(db, "sshd",
	        &(struct fkey){.kind = FKEY_RAW, .s = "some-raw-id", .len = 11},
	        &h),
	    1, "import: expired ban kept for increment counts");
	is_int(
	    db_ban_matches(db, "sshd",
	        &(struct fkey){.kind = FKEY_ADDR, .addr = ip("192.0.2.1").addr},
	        &sv, &fails),
	    2, "import: history of 192.0.2.1");
	is_int(fails, 8, "import: failures from data");
	is_str(sv.n == 3 ? sv.v[1] : NULL, "Nov 14 22:11:40 host sshd: fail",
	    "import: [prefix, date, rest] match joined");
	strv_cleanup(&sv);
	is_int(db_log_get(db, "sshd", "/var/log/auth.log", &hash, &pos), 1,
	    "import: log position");
	is_str(hash, "0a4d55a8d778e5022fab701977c5d840bbc486d0",
	    "import: firstlinemd5 (SHA-1 hex) kept as our hash");
	is_int(pos, 4242, "import: position");
	free(hash);

	/* captured data: the users set repr became a JSON array */
	{
		char *data = NULL;

		r.maxmatches = 0;
		db_bans_restore(db, "sshd", &r, grab_data, &data);
		is_str(data,
		    "{\"users\":[\"bob1\",\"al'x\"],\"user\":\"bob1\"}",
		    "import: captured groups kept, users set as an array");
		free(data);
	}

	/* Python str repr escapes in a users set */
	{
		sqlite3 *sh;
		sqlite3_stmt *ins;
		char *data = NULL;

		sqlite3_open(f, &sh);
		sqlite3_prepare_v2(sh,
		    "INSERT INTO bips VALUES('192.0.2.77', 'uj', 1699999999, "
		    "600, 1, ?1)",
		    -1, &ins, NULL);
		sqlite3_bind_text(ins, 1,
		    "{\"users\": \"['a\\\\'b', \\\"c'd\\\", "
		    "'\\\\xe9\\\\u20ac\\\\U0001f600', 'x\\\\ty']\"}",
		    -1, SQLITE_STATIC);
		sqlite3_step(ins);
		sqlite3_finalize(ins);
		sqlite3_close(sh);
		db_import_fail2ban(db, f, now, &st, &d);
		db_bans_restore(db, "uj", &r, grab_data, &data);
		is_str(data,
		    "{\"users\":[\"a'b\",\"c'd\","
		    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
		    "\"x\\ty\"]}",
		    "import: Python repr escapes (\\' \\xe9 \\u20ac "
		    "\\U0001f600 "
		    "\\t, both quote styles) decoded");
		free(data);
		exec_sql(f, "DELETE FROM bips WHERE jail = 'uj'");
	}

	is_int(db_import_fail2ban(db, f, now, &st, &d), 0, "import again");
	is_int(st.history, 0, "import again: no duplicate history");
	/* 3 from bans, 2 made for bips rows fail2ban had purged from bans */
	is_int(db_count_history(db), 5, "import again: still 5 rows");

	exec_sql(f, "UPDATE fail2banDb SET version = 2");
	ok(db_import_fail2ban(db, f, now, &st, &d) == -1 &&
	        has_diag(&d, DIAG_ERROR, "version 2 is not supported"),
	    "import: other fail2ban versions refused");
	diags_cleanup(&d);
	ok(db_import_fail2ban(db, "/nonexistent/x.sqlite3", now, &st, &d) == -1,
	    "import: missing file is an error");
	diags_cleanup(&d);
	db_close(db);
	free(f);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

int
main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(
	    tmpdir, sizeof(tmpdir), "%s/test_db.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_null();
	test_jails();
	test_restore_rules();
	test_restore_fast();
	test_matches();
	test_history();
	test_positions();
	test_versions();
	test_migrate_v1();
	test_corrupt();
	test_retry();
	test_jobs();
	test_import();
	test_purge();
	test_flush_time();
	test_checkpoints();
	test_matches_text();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
