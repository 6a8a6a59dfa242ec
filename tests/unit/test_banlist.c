/*
 * banlist: add, lookup, expired-on-arrival, permanent bans, fail2ban's
 * prolongation rule ("+ 19" after a 5 s ban and a failure 14 s later),
 * expiry in end order, insertion order, the sorted view, the cap, and a
 * randomized check of the heap against a brute-force scan.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "banlist.h"
#include "log.h"
#include "tap.h"

static struct fkey
key(const char *s)
{
	return fkey_parse(s, strlen(s));
}

static void
test_basic(void)
{
	struct banlist *bl = banlist_new(0);
	struct fkey a = key("192.0.2.1"), b = key("192.0.2.2");
	struct ban *x, *ex;
	char buf[FKEY_STRLEN];

	x = ban_new(&a, 1000, 600);
	is_int(banlist_add(bl, x, 1001, NULL), BANLIST_ADDED, "new ban added");
	is_int(x->bancount, 1, "bancount incremented");
	ok(banlist_find(bl, &a) == x, "found by key");
	ok(banlist_find(bl, &b) == NULL, "other key not found");
	is_dbl(ban_end(x), 1600, "end = ticket time + bantime");
	is_int(banlist_size(bl), 1, "size 1");
	is_int(banlist_total(bl), 1, "total 1");

	/* a second ban ending earlier or at the same time: unchanged */
	x = ban_new(&a, 1000, 300);
	is_int(banlist_add(bl, x, 1001, &ex), BANLIST_BANNED,
	    "already banned, shorter: BANNED");
	ok(ex && ex->bantime == 600, "existing ban unchanged");
	ban_free(x);

	/* spec 4.3: bantime 5, a failure 14 s later -> bantime 5 + 14 */
	x = ban_new(&b, 2000, 5);
	banlist_add(bl, x, 2000, NULL);
	x = ban_new(&b, 2014, 5);
	is_int(banlist_add(bl, x, 2014, &ex), BANLIST_PROLONGED,
	    "later failure prolongs");
	is_dbl(ex->bantime, 19, "bantime = 5 + (2014 - 2000)");
	is_dbl(ex->time, 2000, "the ticket time stays");
	is_dbl(ban_end(ex), 2019, "end moved to 2019");
	ban_free(x);
	is_int(banlist_total(bl), 2, "prolongation is not a new ban");

	/* prolonged to permanent */
	x = ban_new(&b, 2015, -1);
	is_int(banlist_add(bl, x, 2015, &ex), BANLIST_PROLONGED,
	    "a permanent ban prolongs");
	is_dbl(ex->bantime, -1, "now permanent");
	is_dbl(ban_end(ex), BAN_MAX_TIME, "end is fail2ban's MAX_TIME");
	ban_free(x);

	/* expired on arrival */
	struct fkey c = key("192.0.2.3");
	static const double bad[] = {0, -2, -100, NAN};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = ban_new(&c, 3000, bad[i]);
		is_int(banlist_add(bl, x, 3000, NULL), BANLIST_EXPIRED,
		    "bantime %g: expired bantime", bad[i]);
		ban_free(x);
	}
	x = ban_new(&c, 3000, 60);
	is_int(banlist_add(bl, x, 3061, NULL), BANLIST_EXPIRED,
	    "an end already past (old log line): expired");
	ban_free(x);
	x = ban_new(&c, 3000, 60);
	is_int(banlist_add(bl, x, 3060, NULL), BANLIST_ADDED,
	    "an end exactly now is still added (fail2ban: eob < now)");
	ok(banlist_find(bl, &c) != NULL, "c is banned");

	/* raw ids */
	struct fkey r = fkey_from_str(FKEY_RAW, "user@example", 12);
	x = ban_new(&r, 3000, 60);
	is_int(banlist_add(bl, x, 3000, NULL), BANLIST_ADDED, "raw id banned");
	is_str(fkey_format(&banlist_find(bl, &r)->key, buf), "user@example",
	    "raw id kept");

	x = banlist_del(bl, &r);
	ok(x != NULL && banlist_find(bl, &r) == NULL, "del removes");
	ban_free(x);
	ok(banlist_del(bl, &r) == NULL, "del of absent key: NULL");
	banlist_free(bl);
}

static void
test_expiry_and_order(void)
{
	struct banlist *bl = banlist_new(0);
	const char *ips[] = {
	    "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"};
	/* insertion order 1..5, ends 1300, 1100, permanent, 1200, 1100 */
	double bt[] = {300, 100, -1, 200, 100};
	struct ban *b, **v;
	char buf[FKEY_STRLEN];
	size_t n;

	for (int i = 0; i < 5; i++) {
		struct fkey k = key(ips[i]);

		banlist_add(bl, ban_new(&k, 1000, bt[i]), 1000, NULL);
	}
	is_dbl(banlist_next_end(bl), 1100, "next end is the earliest");

	/* insertion order */
	n = 0;
	for (b = banlist_first(bl); b; b = banlist_next(b))
		is_str(fkey_format(&b->key, buf), ips[n++],
		    "insertion order %zu", n);

	/* sorted by end, ties in insertion order, permanent last */
	n = banlist_by_end(bl, &v);
	is_int(n, 5, "by_end returns all");
	const char *want[] = {
	    "10.0.0.2", "10.0.0.5", "10.0.0.4", "10.0.0.1", "10.0.0.3"};
	for (size_t i = 0; i < n; i++)
		is_str(fkey_format(&v[i]->key, buf), want[i], "by end %zu", i);
	free(v);

	ok(banlist_pop_expired(bl, 1100) == NULL,
	    "at the end itself nothing expires (now > end)");
	b = banlist_pop_expired(bl, 1100.5);
	is_str(b ? fkey_format(&b->key, buf) : "", "10.0.0.2",
	    "first expired: .2");
	ban_free(b);
	b = banlist_pop_expired(bl, 1100.5);
	is_str(b ? fkey_format(&b->key, buf) : "", "10.0.0.5",
	    "then .5 (same end, inserted later)");
	ban_free(b);
	ok(banlist_pop_expired(bl, 1100.5) == NULL, "then none");

	/* bantime increment changes the order */
	struct fkey k4 = key("10.0.0.4");
	banlist_set_bantime(bl, banlist_find(bl, &k4), 1000);
	is_dbl(banlist_next_end(bl), 1300, "after increasing .4, .1 is next");

	b = banlist_pop_expired(bl, 1e12);
	is_str(
	    b ? fkey_format(&b->key, buf) : "", "10.0.0.1", "far future: .1");
	ban_free(b);
	b = banlist_pop_expired(bl, 1e12);
	is_str(b ? fkey_format(&b->key, buf) : "", "10.0.0.4", "then .4");
	ban_free(b);
	ok(banlist_pop_expired(bl, 1e13) == NULL,
	    "permanent ban never expires");
	is_dbl(banlist_next_end(bl), BAN_MAX_TIME, "next end: MAX_TIME");
	b = banlist_pop_first(bl);
	ok(b != NULL && b->bantime == -1, "pop_first (flush) takes it");
	ban_free(b);
	is_dbl(banlist_next_end(bl), INFINITY, "empty: infinity");
	is_int(banlist_size(bl), 0, "empty");
	banlist_free(bl);
}

static void
test_cap(void)
{
	struct banlist *bl = banlist_new(2);
	struct fkey a = key("10.0.0.1"), b = key("10.0.0.2"),
	            c = key("10.0.0.3");
	struct ban *x;

	banlist_add(bl, ban_new(&a, 0, 100), 0, NULL);
	banlist_add(bl, ban_new(&b, 0, 100), 0, NULL);
	x = ban_new(&c, 0, 100);
	is_int(banlist_add(bl, x, 0, NULL), BANLIST_FULL, "full: refused");
	is_int(banlist_refused(bl), 1, "refusal counted");
	ok(banlist_find(bl, &a) && banlist_find(bl, &b), "existing bans kept");
	ban_free(x);
	x = ban_new(&a, 50, 100);
	is_int(banlist_add(bl, x, 0, NULL), BANLIST_PROLONGED,
	    "a banned key can still be prolonged when full");
	ban_free(x);
	banlist_set_max(bl, 3);
	x = ban_new(&c, 0, 100);
	is_int(banlist_add(bl, x, 0, NULL), BANLIST_ADDED, "room after raise");
	banlist_free(bl);

	/* the already-banned log level */
	is_int(ban_already_level(102.9, 100), WLOG_DEBUG, "< 3 s: DEBUG");
	is_int(ban_already_level(103, 100), WLOG_NOTICE, "3 s: NOTICE");
	is_int(ban_already_level(159.9, 100), WLOG_NOTICE, "< 60 s: NOTICE");
	is_int(ban_already_level(160, 100), WLOG_WARNING, "60 s: WARNING");
}

static void
test_ticket(void)
{
	struct failtab_opts o = {0};
	struct failtab *ft;
	struct failtab_failure f = {0};
	const char *lines[] = {"line one"};
	struct fticket t;
	struct ban *b;

	o.findtime = 600;
	o.maxmatches = 3;
	ft = failtab_new(&o);
	f.key = key("192.0.2.77");
	f.time = 5000;
	f.count = 1;
	f.matches = lines;
	f.nmatches = 1;
	failtab_take(ft, failtab_add(ft, &f, NULL), &t);
	b = ban_from_ticket(&t, 600);
	ok(fkey_equal(&b->key, &f.key), "ban from ticket: key");
	is_dbl(b->time, 5000, "time is the last failure");
	is_int(b->failures, 1, "failures");
	is_str(b->data.matches[0], "line one", "matches moved");
	ok(t.data.matches == NULL, "ticket emptied");
	fticket_cleanup(&t);
	ban_free(b);
	failtab_free(ft);
}

static void
test_random(void)
{
	struct banlist *bl = banlist_new(0);
	int bad = 0;
	unsigned seed = 12345;
	double now = 1000;

	for (int step = 0; step < 20000; step++) {
		char ip[32];
		struct fkey k;
		unsigned r;

		seed = seed * 1103515245 + 12345;
		r = (seed >> 8) % 1000;
		snprintf(ip, sizeof(ip), "10.1.%u.%u", r / 256, r % 256);
		k = key(ip);
		seed = seed * 1103515245 + 12345;
		switch ((seed >> 16) % 4) {
		case 0:
		case 1: {
			struct ban *b = ban_new(&k, now,
			    (seed >> 4) % 50 == 0 ? -1.0
			                          : 1.0 + (seed >> 8) % 500);

			if (banlist_add(bl, b, now, NULL) != BANLIST_ADDED)
				ban_free(b);
			break;
		}
		case 2:
			ban_free(banlist_del(bl, &k));
			break;
		case 3: {
			/* pop must return exactly the minimum end, if over */
			double min = INFINITY;
			struct ban *b;

			now += 7;
			for (b = banlist_first(bl); b; b = banlist_next(b))
				if (ban_end(b) < min)
					min = ban_end(b);
			b = banlist_pop_expired(bl, now);
			if (b ? ban_end(b) != min || !(now > min) : (min < now))
				bad++;
			ban_free(b);
			break;
		}
		}
	}
	is_int(bad, 0, "20000 random operations: heap agrees with a scan");
	banlist_free(bl);
}

int
main(void)
{
	test_basic();
	test_expiry_and_order();
	test_cap();
	test_ticket();
	test_random();
	return done_testing();
}
