/*
 * failtab: fail2ban's FailManager counting (the spec's verified table,
 * rescaling, counters, maxmatches, observed re-adds, cleanup), the cap
 * with O(1) eviction, bounded per-entry data, links, the memo of a
 * login table (against a table without), and a measurement of 1M
 * distinct keys into a 100k-entry table.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "failtab.h"
#include "sbuf.h"
#include "tap.h"
#include "xmalloc.h"

static struct fkey
ip4(const char *s)
{
	struct addr a;

	if (addr_parse(s, strlen(s), &a) != 0)
		abort();
	return fkey_from_addr(&a);
}

/* Adds one log-line failure (count 1, attempt 0) with optional lines. */
static struct failtab_entry *
fail(struct failtab *ft, struct fkey k, double t, const char *line)
{
	struct failtab_failure f = {0};
	const char *lines[1] = {line};

	f.key = k;
	f.time = t;
	f.count = 1;
	f.matches = line ? lines : NULL;
	f.nmatches = line ? 1 : 0;
	return failtab_add(ft, &f, NULL);
}

static struct failtab *
table(double findtime, int maxmatches, size_t max)
{
	struct failtab_opts o = {0};

	o.findtime = findtime;
	o.maxmatches = maxmatches;
	o.max_entries = max;
	return failtab_new(&o);
}

static void
test_spec_table(void)
{
	/* spec 4.2, verified against fail2ban: findtime 600, maxretry 3 */
	static const struct {
		double t[3];
		int retry;
	} rows[] = {
	    {{0, 500, 1000}, 2},
	    {{0, 300, 700}, 3},
	};

	for (size_t r = 0; r < 2; r++) {
		struct failtab *ft = table(600, 3, 0);
		struct failtab_entry *e = NULL;
		struct fkey k = ip4("192.0.2.10");

		for (int i = 0; i < 3; i++)
			e = fail(ft, k, 1e9 + rows[r].t[i], NULL);
		is_dbl(e->retry, rows[r].retry,
		    "failures at %g,%g,%g: retry %d", rows[r].t[0],
		    rows[r].t[1], rows[r].t[2], rows[r].retry);
		ok((e->retry >= 3) == (rows[r].retry >= 3),
		    "banned with maxretry 3: %s",
		    rows[r].retry >= 3 ? "yes" : "no");
		is_int(e->failures, 3, "failures counts all three");
		is_dbl(e->first, 1e9 + (r == 0 ? 400 : 100),
		    "window start moved to t - findtime");
		failtab_free(ft);
	}
}

static void
test_counting(void)
{
	struct failtab *ft = table(600, 2, 0);
	struct fkey a = ip4("192.0.2.1"), b = ip4("2001:db8::1");
	struct failtab_entry *e;
	struct failtab_failure f = {0};
	bool created;
	const char *three[] = {"l1", "l2", "l3"};

	e = fail(ft, a, 1000, "a1");
	is_dbl(e->retry, 1, "a new key starts at retry 1");
	is_int(e->failures, 1, "and failures 1");
	fail(ft, b, 1001, NULL);
	is_int(failtab_size(ft), 2, "two keys");
	e = fail(ft, a, 1002, "a2");
	e = fail(ft, a, 1003, "a3");
	is_dbl(e->retry, 3, "third failure: retry 3");
	is_int(e->data.nmatches, 2, "matches truncated to maxmatches 2");
	is_str(e->data.matches[0], "a2", "oldest kept is a2");
	is_str(e->data.matches[1], "a3", "newest is a3");
	is_int(failtab_total(ft), 4, "total counts every failure");

	/* out of order: no rescale, time stays */
	e = fail(ft, a, 500, NULL);
	is_dbl(e->time, 1003, "an older failure does not move the time");
	is_dbl(e->retry, 4, "but counts");

	/* a new key whose failure has 3 lines keeps all 3 (fail2ban) */
	f.key = ip4("192.0.2.3");
	f.time = 1000;
	f.count = 1;
	f.matches = three;
	f.nmatches = 3;
	e = failtab_add(ft, &f, &created);
	ok(created, "created");
	is_int(e->data.nmatches, 3, "first failure keeps all its lines");
	e = fail(ft, f.key, 1001, "l4");
	is_int(e->data.nmatches, 2, "the next add truncates to maxmatches");

	/* `set jail attempt ip m1 m2 m3`: count 3 */
	f.key = ip4("192.0.2.4");
	f.count = 3;
	f.attempt = 0;
	e = failtab_add(ft, &f, NULL);
	is_dbl(e->retry, 3, "attempt with 3 messages: retry 3");
	is_int(e->failures, 1, "failures 1");
	e = failtab_add(ft, &f, NULL);
	is_dbl(e->retry, 6, "again: retry 6");
	is_int(e->failures, 2, "failures 2");

	/* a ticket with preset failures (count <= attempt): retry starts
	 * at the attempts */
	f.key = ip4("192.0.2.5");
	f.count = 1;
	f.attempt = 4;
	e = failtab_add(ft, &f, NULL);
	is_dbl(e->retry, 4, "preset attempts: retry 4");
	is_int(e->failures, 4, "failures 4");
	failtab_free(ft);
}

static void
test_observed(void)
{
	struct failtab *ft = table(600, 5, 0);
	struct fkey k = ip4("192.0.2.7");
	struct failtab_failure f = {0};
	const char *line[] = {"obs"};
	struct failtab_entry *e;

	f.key = k;
	f.time = 100;
	f.count = 2;
	f.observed = true;
	f.matches = line;
	f.nmatches = 1;
	ok(failtab_add(ft, &f, NULL) == NULL,
	    "observed failure of an absent (banned) key adds nothing");
	is_int(failtab_size(ft), 0, "table still empty");
	is_int(failtab_total(ft), 0, "and not counted");

	fail(ft, k, 100, "first");
	f.same_ticket = true;
	e = failtab_add(ft, &f, NULL);
	is_dbl(e->retry, 3, "observer raises retry by its count");
	is_int(e->failures, 2, "failures + 1");
	is_int(e->data.nmatches, 1, "same ticket: its line is not added again");
	f.same_ticket = false;
	e = failtab_add(ft, &f, NULL);
	is_int(e->data.nmatches, 2, "another ticket: its lines are added");
	is_int(failtab_total(ft), 3, "observed re-adds count in the total");

	/* fractional count (fail2ban's (1<<0)/2+1 - 1 = 0.5) */
	f.count = 0.5;
	e = failtab_add(ft, &f, NULL);
	is_dbl(e->retry, 5.5, "a fractional count is kept");
	/* the rescale rounds half to even, like Python's round() */
	e = fail(ft, k, 100 + 1200, NULL);
	is_dbl(e->retry, 4, "round(5.5/1200*600) = round(2.75) = 3, +1");
	failtab_free(ft);

	ft = table(600, 5, 0);
	fail(ft, k, 0, NULL);
	fail(ft, k, 0, NULL);
	fail(ft, k, 0, NULL);
	fail(ft, k, 0, NULL);
	fail(ft, k, 0, NULL);
	e = fail(ft, k, 1200, NULL);
	is_dbl(
	    e->retry, 3, "round(5/1200*600) = round(2.5) = 2 (half even), +1");
	failtab_free(ft);
}

static void
test_cleanup_and_del(void)
{
	struct failtab *ft = table(600, 5, 0);
	struct fkey a = ip4("192.0.2.1"), b = ip4("192.0.2.2"),
	            c = ip4("192.0.2.3");
	struct failtab_entry *e;
	struct fticket t;

	fail(ft, a, 1000, NULL);
	fail(ft, b, 1400, NULL);
	fail(ft, c, 1401, "c1");
	fail(ft, a, 900, NULL); /* out of order: a's time stays 1000 */
	is_int(failtab_cleanup(ft, 1600), 1,
	    "cleanup at 1600 removes last <= 1000");
	ok(!failtab_find(ft, &a), "a is gone");
	is_int(failtab_cleanup(ft, 2000), 1, "at 2000: last == 1400 removed");
	ok(failtab_find(ft, &c) != NULL, "c (1401) stays");

	/* raw ids and user names are different keys from addresses */
	struct fkey r = fkey_from_str(FKEY_RAW, "192.0.2.3", 9);
	struct fkey u = fkey_from_str(FKEY_USER, "192.0.2.3", 9);
	fail(ft, r, 1500, NULL);
	fail(ft, u, 1500, NULL);
	is_int(failtab_size(ft), 3, "addr, raw and user keys are distinct");
	ok(failtab_del(ft, &r), "del raw key");
	ok(!failtab_del(ft, &r), "second del finds nothing");

	e = failtab_find(ft, &c);
	failtab_take(ft, e, &t);
	is_int(failtab_size(ft), 1, "take removes the entry");
	ok(fkey_equal(&t.key, &c), "ticket has the key");
	is_int(t.data.nmatches, 1, "and the lines");
	is_str(t.data.matches[0], "c1", "line c1");
	is_dbl(t.time, 1401, "and the time");
	fticket_cleanup(&t);
	failtab_free(ft);
}

static void
test_eviction(void)
{
	struct failtab *ft = table(600, 5, 3);
	struct fkey k[5] = {ip4("10.0.0.1"), ip4("10.0.0.2"), ip4("10.0.0.3"),
	    ip4("10.0.0.4"), ip4("10.0.0.5")};

	fail(ft, k[0], 1, NULL);
	fail(ft, k[1], 2, NULL);
	fail(ft, k[2], 3, NULL);
	fail(ft, k[0], 4, NULL); /* k0 is now the most recent */
	fail(ft, k[3], 5, NULL);
	is_int(failtab_size(ft), 3, "size stays at the cap");
	is_int(failtab_evictions(ft), 1, "one eviction");
	ok(!failtab_find(ft, &k[1]), "the least recently updated (k1) went");
	ok(failtab_find(ft, &k[0]) != NULL, "the refreshed k0 stayed");
	is_int(failtab_first(ft)->time, 3, "iteration starts at the stalest");
	failtab_set_max_entries(ft, 1);
	is_int(failtab_size(ft), 1, "lowering the cap evicts");
	is_int(failtab_evictions(ft), 3, "evictions counted");
	ok(failtab_find(ft, &k[3]) != NULL, "the newest remains");
	failtab_free(ft);
}

/* An address 10.x.y.z for n. */
static struct fkey
ipn(unsigned n)
{
	char b[32];

	snprintf(b, sizeof(b), "10.%u.%u.%u", (n >> 16) & 255, (n >> 8) & 255,
	    n & 255);
	return ip4(b);
}

/* The same as a pointer (valid until the next call). */
static const struct fkey *
ipp(unsigned n)
{
	static struct fkey k;

	k = ipn(n);
	return &k;
}

/* The pairs of e after `after`, as "addr:count@time ..." (oldest
 * first). */
static char *
pairs_text(struct failtab *ft, struct failtab_entry *e, double after)
{
	struct failtab_pair *v;
	size_t n = failtab_link_pairs(ft, e, after, &v);
	char *s = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char kb[FKEY_STRLEN], one[FKEY_STRLEN + 64], *x;

		snprintf(one, sizeof(one), "%s%s:%g@%g", i ? " " : "",
		    fkey_format(&v[i].key, kb), v[i].count, v[i].time);
		x = xmalloc(strlen(s) + strlen(one) + 1);
		memcpy(x, s, strlen(s));
		memcpy(x + strlen(s), one, strlen(one) + 1);
		free(s);
		s = x;
	}
	free(v);
	return s;
}

static void
is_pairs(struct failtab *ft, struct failtab_entry *e, double after,
    const char *want, const char *what)
{
	char *got = pairs_text(ft, e, after);

	is_str(got, want, "%s", what);
	free(got);
}

/*
 * Links (login tracking): every address that failed for a login inside
 * the window, each once with its failures and last time, oldest first;
 * a success takes one pair's failures out and leaves the rest; the
 * per-entry cap keeps the newest failures; the table's cap stops rings
 * growing, yet every entry keeps its newest FAILTAB_RING_MIN; cleanup
 * drops the failures out of the window and gives the memory back.
 */
static void
test_links(void)
{
	struct failtab_opts o = {0};
	struct failtab *ft;
	struct failtab_entry *u[3];
	struct fkey uk[3] = {fkey_from_str(FKEY_USER, "root", 4),
	    fkey_from_str(FKEY_USER, "admin", 5),
	    fkey_from_str(FKEY_USER, "oracle", 6)};
	double c = -1;

	o.findtime = 600;
	o.max_links = 1000;
	o.max_entry_links = 64;
	ft = failtab_new(&o);
	for (int i = 0; i < 3; i++)
		u[i] = fail(ft, uk[i], 1, NULL);
	/* root: 10.0.0.1 twice around 10.0.0.2, 10.0.0.3 long ago */
	failtab_link_add(ft, u[0], ipp(3), 2, 1);
	failtab_link_add(ft, u[0], ipp(1), 700, 1);
	failtab_link_add(ft, u[0], ipp(2), 705, 3);
	failtab_link_add(ft, u[0], ipp(1), 710, 2);
	failtab_link_add(ft, u[1], ipp(1), 720, 1);
	is_int(failtab_entry_links(u[0]), 4, "one slot per failure");
	is_int(failtab_link_count(ft), 5, "counted for the table");
	is_pairs(ft, u[0], 0, "10.0.0.3:1@2 10.0.0.2:3@705 10.0.0.1:3@710",
	    "each address once, its failures summed, its last time, "
	    "oldest first");
	is_pairs(ft, u[0], 710 - 600, "10.0.0.2:3@705 10.0.0.1:3@710",
	    "in the window: the address that failed long ago is left out");
	is_pairs(ft, u[0], 710, "", "nothing after the last failure");
	is_pairs(ft, u[1], 0, "10.0.0.1:1@720", "another login, its own pairs");
	/* a success of (root, 10.0.0.1) */
	ok(failtab_link_forget(ft, u[0], ipp(1), &c),
	    "forget: the pair had failures");
	is_dbl(c, 3, "forget: all of its failures (counts 1 and 2)");
	is_pairs(ft, u[0], 0, "10.0.0.3:1@2 10.0.0.2:3@705",
	    "forget: the other addresses stay, in order");
	is_pairs(ft, u[1], 0, "10.0.0.1:1@720",
	    "forget: the same address under another login stays");
	is_int(failtab_link_count(ft), 3, "forget: slots given back");
	c = -1;
	ok(!failtab_link_forget(ft, u[0], ipp(1), &c) && c == 0,
	    "forget again: nothing left");
	ok(!failtab_link_forget(ft, u[2], ipp(1), NULL),
	    "forget on a login without links");
	/* the per-entry cap: 64 slots, the newest kept */
	for (unsigned i = 0; i < 200; i++)
		failtab_link_add(ft, u[2], ipp(100 + i), 1000 + i, 1);
	is_int(failtab_entry_links(u[2]), 64, "per-entry cap: 64 slots");
	is_int(failtab_link_evictions(ft), 200 - 64,
	    "per-entry cap: the oldest dropped, counted");
	{
		struct failtab_pair *v;
		size_t n = failtab_link_pairs(ft, u[2], 0, &v);
		char kb[FKEY_STRLEN];

		is_int(n, 64, "per-entry cap: 64 addresses");
		is_str(fkey_format(&v[0].key, kb), "10.0.0.236",
		    "per-entry cap: the oldest kept is the 137th");
		is_str(fkey_format(&v[63].key, kb), "10.0.1.43",
		    "per-entry cap: the newest is the last");
		free(v);
	}
	/* cleanup at 1790 (window 600): oracle failed at 1199 */
	fail(ft, uk[2], 1199, NULL);
	failtab_cleanup(ft, 1790);
	ok(failtab_find(ft, &uk[0]) == NULL && failtab_find(ft, &uk[1]) == NULL,
	    "cleanup: logins whose last failure is old go, with their links");
	is_pairs(ft, u[2], 0,
	    "10.0.1.35:1@1191 10.0.1.36:1@1192 10.0.1.37:1@1193 "
	    "10.0.1.38:1@1194 10.0.1.39:1@1195 10.0.1.40:1@1196 "
	    "10.0.1.41:1@1197 10.0.1.42:1@1198 10.0.1.43:1@1199",
	    "cleanup: the failures at or before the cut dropped");
	is_int(failtab_link_count(ft), 9, "cleanup: the table's count follows");
	is_int(failtab_link_slots(ft), 32, "cleanup: the ring made smaller");
	ok(failtab_del(ft, &uk[2]) && failtab_link_count(ft) == 0 &&
	        failtab_link_slots(ft) == 0,
	    "an entry deleted with its links");
	failtab_free(ft);
}

/*
 * The table's cap: rings double while the table holds at most max_links
 * slots; past it, a full ring drops its oldest failure; a new entry still
 * gets FAILTAB_RING_MIN slots, so one busy login cannot push another's
 * newest failures out. Churn through the caps keeps every entry's newest
 * failures exact.
 */
static void
test_links_caps(void)
{
	struct failtab_opts o = {0};
	struct failtab *ft;
	struct failtab_entry *big, *small;
	enum { N = 20000, L = 7 };
	static unsigned who[N];
	struct failtab_entry *ue[L];
	size_t wrong = 0;

	o.findtime = 1e9;
	o.max_links = 64;
	o.max_entry_links = 4096;
	ft = failtab_new(&o);
	big = fail(ft, fkey_from_str(FKEY_USER, "big", 3), 1, NULL);
	for (unsigned i = 0; i < 1000; i++)
		failtab_link_add(ft, big, ipp(i), 10 + i, 1);
	is_int(failtab_entry_links(big), 64,
	    "global cap: the ring grew to the table's 64 slots only");
	small = fail(ft, fkey_from_str(FKEY_USER, "small", 5), 1, NULL);
	for (unsigned i = 0; i < 10; i++)
		failtab_link_add(ft, small, ipp(5000 + i), 2000 + i, 1);
	is_int(failtab_entry_links(small), FAILTAB_RING_MIN,
	    "global cap: a new login keeps its newest FAILTAB_RING_MIN");
	is_pairs(ft, small, 0,
	    "10.0.19.142:1@2006 10.0.19.143:1@2007 10.0.19.144:1@2008 "
	    "10.0.19.145:1@2009",
	    "global cap: those are its newest failures");
	ok(failtab_link_slots(ft) <= 64 + 2 * FAILTAB_RING_MIN,
	    "global cap: memory within max_links + RING_MIN per entry");
	failtab_free(ft);

	/* churn: L logins, random addresses, per-entry cap 32, table 128 */
	o.max_links = 128;
	o.max_entry_links = 32;
	ft = failtab_new(&o);
	for (unsigned i = 0; i < L; i++) {
		char n[8];

		snprintf(n, sizeof(n), "u%u", i);
		ue[i] =
		    fail(ft, fkey_from_str(FKEY_USER, n, strlen(n)), 1, NULL);
	}
	srand(11);
	for (unsigned i = 0; i < N; i++) {
		who[i] = (unsigned)rand() % L;
		failtab_link_add(ft, ue[who[i]], ipp(i), 10 + i, 1);
		if (failtab_link_slots(ft) > 128 + L * FAILTAB_RING_MIN)
			wrong++;
	}
	is_int(wrong, 0, "churn: memory never over the caps");
	/* each login holds exactly its newest failures */
	for (unsigned l = 0; l < L; l++) {
		struct failtab_pair *v;
		size_t n = failtab_link_pairs(ft, ue[l], 0, &v);
		size_t k = n;

		for (unsigned i = N; i-- > 0 && k > 0;) {
			struct fkey a;

			if (who[i] != l)
				continue;
			a = ipn(i);
			k--;
			if (!fkey_equal(&v[k].key, &a) || v[k].time != 10 + i)
				wrong++;
		}
		if (n < FAILTAB_RING_MIN || n > 32)
			wrong++;
		free(v);
	}
	is_int(wrong, 0, "churn: every login keeps its newest failures");
	is_int(failtab_link_count(ft) + failtab_link_evictions(ft), N,
	    "churn: every failure kept or counted as dropped");
	failtab_free(ft);
}

/* Raw ids (not addresses) linked to a login: owned copies, found by
 * their bytes, freed with their slot (ASan checks the frees). */
static void
test_links_raw(void)
{
	struct failtab_opts o = {0};
	struct failtab *ft;
	struct failtab_entry *e;
	char id[16];
	double c = 0;

	o.findtime = 600;
	o.max_links = 100;
	o.max_entry_links = 4;
	ft = failtab_new(&o);
	e = fail(ft, fkey_from_str(FKEY_USER, "bob", 3), 1, NULL);
	memcpy(id, "sess-1", 7);
	failtab_link_add(ft, e, &(struct fkey){FKEY_RAW, {0}, id, 6}, 5, 1);
	memcpy(id, "sess-2", 7); /* the caller's bytes change */
	failtab_link_add(ft, e, &(struct fkey){FKEY_RAW, {0}, id, 6}, 6, 1);
	failtab_link_add(ft, e, ipp(1), 7, 1);
	is_pairs(ft, e, 0, "sess-1:1@5 sess-2:1@6 10.0.0.1:1@7",
	    "raw ids: copies of the bytes, next to addresses");
	ok(failtab_link_forget(
	       ft, e, &(struct fkey){FKEY_RAW, {0}, "sess-1", 6}, &c) &&
	        c == 1,
	    "raw ids: a success finds one by its bytes");
	for (unsigned i = 0; i < 6; i++)
		failtab_link_add(ft, e,
		    &(struct fkey){FKEY_RAW, {0}, "sess-x", 6}, 10 + i, 1);
	is_pairs(ft, e, 0, "sess-x:4@15", "raw ids: dropped at the cap");
	failtab_free(ft);
}

/* A small deterministic generator for the memo's random walk. */
static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Login number i of the walk: lengths 0 to 40, many with the same
 * length and first and last 8 bytes (one memo slot, told apart only by
 * their middle), and short ones that differ in one byte. */
static struct fkey
walk_login(unsigned i, char *buf)
{
	size_t n;

	switch (i % 4) {
	case 0: /* 0-7 bytes */
		n = i / 4 % 8;
		memset(buf, 'a' + (int)(i / 32 % 3), n);
		if (n > 0)
			buf[n - 1] = (char)('0' + i % 10);
		break;
	case 1: /* 8-16 bytes: first and last 8 overlap */
		n = 8 + i / 4 % 9;
		memset(buf, 'x', n);
		buf[n / 2] = (char)('A' + i % 26);
		break;
	default: /* 17-40 bytes, the same ends */
		n = 17 + i / 4 % 24;
		memset(buf, 'm', n);
		memcpy(buf, "userpfx-", 8);
		memcpy(buf + n - 8, "-userend", 8);
		buf[8 + i % (n - 16)] = (char)('0' + i % 7);
		break;
	}
	return fkey_from_str(i % 11 == 0 ? FKEY_RAW : FKEY_USER, buf, n);
}

/* The same entry in both tables: counters, window, links. */
static bool
same_entry(struct failtab *ma, struct failtab_entry *a, struct failtab *mb,
    struct failtab_entry *b)
{
	char *pa, *pb;
	bool same;

	if (a == NULL || b == NULL)
		return a == b;
	pa = pairs_text(ma, a, 0);
	pb = pairs_text(mb, b, 0);
	same = fkey_equal(&a->key, &b->key) && a->retry == b->retry &&
	    a->failures == b->failures && a->time == b->time &&
	    a->first == b->first &&
	    failtab_entry_links(a) == failtab_entry_links(b) &&
	    strcmp(pa, pb) == 0;
	free(pa);
	free(pb);
	return same;
}

/*
 * The memo (a table keyed by logins) changes nothing but speed: a
 * random walk of failures, lookups, deletions, successes, takes,
 * cleanups and evictions on keys that share memo slots gives the same
 * entries, counters, links and update order as a table without memo,
 * and failtab_add_link() is failtab_add() then failtab_link_add().
 */
static void
test_memo(void)
{
	static const size_t slots[] = {1, 16, 1024};

	for (size_t r = 0; r < sizeof(slots) / sizeof(slots[0]); r++) {
		struct failtab_opts o = {0};
		struct failtab *m, *p;
		uint64_t x = 0x9E3779B97F4A7C15ull + r;
		double t = 1000;
		unsigned bad = 0, step, hits = 0;
		struct failtab_entry *em, *ep;

		o.findtime = 300;
		o.max_entries = 60;
		o.max_links = 400;
		o.max_entry_links = 16;
		p = failtab_new(&o);
		o.memo_slots = slots[r];
		m = failtab_new(&o);
		for (step = 0; step < 40000 && bad == 0; step++) {
			char buf[64];
			unsigned op = (unsigned)(rnd(&x) % 100);
			struct fkey k =
			    walk_login((unsigned)(rnd(&x) % 240), buf);
			const struct fkey *a = ipp((unsigned)(rnd(&x) % 20));
			struct failtab_failure f = {0};
			struct fticket tm, tp;
			double c = (double)(1 + rnd(&x) % 2), cm, cp;

			t += (double)(rnd(&x) % 1000) / 100;
			if (op < 60) {
				em = failtab_add_link(m, &k, t, c, a);
				f.key = k;
				f.time = t;
				f.count = c;
				ep = failtab_add(p, &f, NULL);
				failtab_link_add(p, ep, a, t, c);
			} else if (op < 75) {
				em = failtab_find(m, &k);
				ep = failtab_find(p, &k);
				hits += em != NULL;
			} else if (op < 82) {
				if (failtab_del(m, &k) != failtab_del(p, &k))
					bad = 1;
				em = failtab_find(m, &k);
				ep = failtab_find(p, &k);
			} else if (op < 90) {
				em = failtab_find(m, &k);
				ep = failtab_find(p, &k);
				if (em != NULL && ep != NULL) {
					bool fm =
					    failtab_link_forget(m, em, a, &cm);
					bool fp =
					    failtab_link_forget(p, ep, a, &cp);

					if (fm != fp || cm != cp)
						bad = 2;
					if (failtab_forget(m, em, cm) !=
					    failtab_forget(p, ep, cp))
						bad = 3;
				}
				em = failtab_find(m, &k);
				ep = failtab_find(p, &k);
			} else if (op < 95) {
				em = failtab_find(m, &k);
				ep = failtab_find(p, &k);
				if (em != NULL && ep != NULL) {
					failtab_take(m, em, &tm);
					failtab_take(p, ep, &tp);
					if (!fkey_equal(&tm.key, &tp.key) ||
					    tm.retry != tp.retry)
						bad = 4;
					fticket_cleanup(&tm);
					fticket_cleanup(&tp);
				}
				em = failtab_find(m, &k);
				ep = failtab_find(p, &k);
			} else {
				if (failtab_cleanup(m, t) !=
				    failtab_cleanup(p, t))
					bad = 5;
				em = failtab_find(m, &k);
				ep = failtab_find(p, &k);
			}
			if (!bad && !same_entry(m, em, p, ep))
				bad = 6;
			if (!bad &&
			    (failtab_size(m) != failtab_size(p) ||
			        failtab_total(m) != failtab_total(p) ||
			        failtab_evictions(m) != failtab_evictions(p) ||
			        failtab_link_count(m) != failtab_link_count(p)))
				bad = 7;
		}
		/* the whole tables, in update order */
		em = failtab_first(m);
		ep = failtab_first(p);
		for (; bad == 0 && (em != NULL || ep != NULL);
		     em = failtab_next(em), ep = failtab_next(ep))
			if (!same_entry(m, em, p, ep))
				bad = 8;
		ok(bad == 0 && hits > 500 && failtab_evictions(m) > 100,
		    "memo of %zu slot(s): the same table as without, %u steps "
		    "(%u found, %llu evicted; failed check %u)",
		    slots[r], step, hits,
		    (unsigned long long)failtab_evictions(m), bad);
		failtab_free(m);
		failtab_free(p);
	}
}

/* The pairs of e after `after` as "addr:count@time ...", times and
 * counts exact (%.17g). */
static char *
pairs_exact(struct failtab *ft, struct failtab_entry *e, double after)
{
	struct failtab_pair *v;
	size_t n = failtab_link_pairs(ft, e, after, &v);
	struct sbuf b = SBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		char kb[FKEY_STRLEN];

		sbuf_printf(&b, "%s%s:%.17g@%.17g", i ? " " : "",
		    fkey_format(&v[i].key, kb), v[i].count, v[i].time);
	}
	free(v);
	return sbuf_detach(&b);
}

static void
is_exact(struct failtab *ft, struct failtab_entry *e, double after,
    const char *want, const char *what)
{
	char *got = pairs_exact(ft, e, after);

	is_str(got, want, "%s", what);
	free(got);
}

static struct fkey
ip6(const char *s)
{
	return ip4(s); /* addr_parse() takes both */
}

/*
 * Slot encodings: a ring of IPv4 addresses with whole-second times and
 * counts of 1 takes 8 bytes a slot; a fractional time or another count
 * makes it 16, an IPv6 address or a raw id 32, re-encoding the slots
 * already there (also when the ring has wrapped). Times come back
 * exactly, at the window's edges too, and the caps count slots, not
 * bytes.
 */
static void
test_links_encoding(void)
{
	struct failtab_opts o = {0};
	struct failtab *ft;
	struct failtab_entry *e, *g;
	struct fkey v6 = ip6("2001:db8::7");
	double c = 0;

	o.findtime = 600;
	o.max_links = 1000;
	o.max_entry_links = 8;
	ft = failtab_new(&o);
	e = fail(ft, fkey_from_str(FKEY_USER, "root", 4), 1, NULL);
	for (unsigned i = 0; i < 4; i++)
		failtab_link_add(ft, e, ipp(i % 2), 1000 + i, 1);
	is_int(failtab_link_bytes(ft), 4 * 8,
	    "IPv4, whole seconds, count 1: 8 bytes a slot");
	failtab_link_add(ft, e, &v6, 1004, 1);
	is_int(failtab_link_slots(ft), 8, "the ring doubled");
	is_int(failtab_link_bytes(ft), 8 * 32,
	    "an IPv6 address: the ring in 32-byte slots");
	failtab_link_add(ft, e, ipp(0), 1005, 1);
	is_exact(ft, e, 0, "10.0.0.1:2@1003 2001:db8::7:1@1004 10.0.0.0:3@1005",
	    "IPv4 and IPv6 in one ring: each address with its failures");
	ok(failtab_link_forget(ft, e, ipp(0), &c) && c == 3,
	    "a success of an IPv4 address in a re-encoded ring");
	ok(failtab_link_forget(ft, e, &v6, &c) && c == 1,
	    "and of the IPv6 address");
	is_exact(ft, e, 0, "10.0.0.1:2@1003", "the rest stays");

	/* wrap-around: a full ring at its cap overwrites its oldest, then
	 * is re-encoded with its head inside */
	g = fail(ft, fkey_from_str(FKEY_USER, "admin", 5), 1, NULL);
	for (unsigned i = 0; i < 13; i++)
		failtab_link_add(ft, g, ipp(100 + i), 2000 + i, 1);
	is_int(failtab_entry_links(g), 8, "at the per-entry cap");
	is_int(failtab_link_evictions(ft), 5, "the oldest five dropped");
	failtab_link_add(ft, g, ipp(200), 2013.5, 1);
	failtab_link_add(ft, g, ipp(201), 2014, 2);
	is_exact(ft, g, 0,
	    "10.0.0.107:1@2007 10.0.0.108:1@2008 10.0.0.109:1@2009 "
	    "10.0.0.110:1@2010 10.0.0.111:1@2011 10.0.0.112:1@2012 "
	    "10.0.0.200:1@2013.5 10.0.0.201:2@2014",
	    "wrapped, then a fractional time and a count of 2: in order");
	is_int(failtab_link_bytes(ft), 8 * 32 + 8 * 16,
	    "IPv4 with a fractional time: 16-byte slots");
	failtab_link_add(ft, g, &v6, 2015, 1);
	is_exact(ft, g, 2010,
	    "10.0.0.111:1@2011 10.0.0.112:1@2012 10.0.0.200:1@2013.5 "
	    "10.0.0.201:2@2014 2001:db8::7:1@2015",
	    "re-encoded while wrapped: the newest eight, in order");
	failtab_free(ft);

	/* times at the edges: exact in every width */
	o.max_entry_links = 64;
	ft = failtab_new(&o);
	e = fail(ft, fkey_from_str(FKEY_USER, "a", 1), 1, NULL);
	failtab_link_add(ft, e, ipp(1), 0, 1);
	failtab_link_add(ft, e, ipp(2), 4294967295.0, 1);
	is_int(failtab_link_bytes(ft), 4 * 8, "0 and 2^32 - 1 s: 8 bytes");
	is_exact(ft, e, -1, "10.0.0.1:1@0 10.0.0.2:1@4294967295",
	    "whole seconds at both ends of 32 bits");
	is_exact(ft, e, 0, "10.0.0.2:1@4294967295",
	    "a failure at the window's start is out of it");
	failtab_link_add(ft, e, ipp(3), 4294967296.0, 1);
	failtab_link_add(ft, e, ipp(4), -1, 1);
	is_int(
	    failtab_link_bytes(ft), 4 * 16, "2^32 s or before 1970: 16 bytes");
	failtab_link_add(ft, e, ipp(5), 1763744400.000001, 1);
	failtab_link_add(ft, e, ipp(6), 1763744400.5, 0.25);
	is_exact(ft, e, 1763744400,
	    "10.0.0.5:1@1763744400.000001 10.0.0.6:0.25@1763744400.5 "
	    "10.0.0.2:1@4294967295 10.0.0.3:1@4294967296",
	    "a microsecond after the window's start is in it");
	is_exact(ft, e, 1763744400.000001,
	    "10.0.0.6:0.25@1763744400.5 10.0.0.2:1@4294967295 "
	    "10.0.0.3:1@4294967296",
	    "and out of a window starting then");
	e = fail(ft, fkey_from_str(FKEY_USER, "z", 1), 1, NULL);
	failtab_link_add(ft, e, ipp(7), -0.0, 1);
	failtab_link_add(ft, e, ipp(8), 0, 1);
	is_exact(ft, e, -1, "10.0.0.7:1@-0 10.0.0.8:1@0",
	    "-0 comes back as -0, 0 as 0");
	failtab_free(ft);

	/* cleanup at the edge: a slot at now - findtime goes, one a
	 * second later stays (8-byte slots) */
	ft = failtab_new(&o);
	e = fail(ft, fkey_from_str(FKEY_USER, "b", 1), 5000, NULL);
	failtab_link_add(ft, e, ipp(1), 4399, 1);
	failtab_link_add(ft, e, ipp(2), 4400, 1);
	failtab_link_add(ft, e, ipp(3), 4401, 1);
	failtab_link_add(ft, e, ipp(4), 4401.25, 1);
	failtab_cleanup(ft, 5000);
	is_exact(ft, e, 0, "10.0.0.3:1@4401 10.0.0.4:1@4401.25",
	    "cleanup: slots at or before now - findtime dropped");
	is_int(failtab_link_count(ft), 2, "cleanup: the count follows");
	is_int(failtab_link_bytes(ft), 4 * 16,
	    "cleanup keeps the width of a ring still in use");
	failtab_cleanup(ft, 5500);
	is_int(failtab_link_bytes(ft) + failtab_link_slots(ft), 0,
	    "an emptied ring gives its bytes back");
	failtab_link_add(ft, e, ipp(9), 5600, 1);
	is_int(failtab_link_bytes(ft), 4 * 8, "and starts narrow again");
	failtab_free(ft);
}

/* A random link key: mostly IPv4 from a few, some IPv6, some raw. */
static struct fkey
walk_link(uint64_t *x, char *buf)
{
	unsigned v = (unsigned)(rnd(x) % 100);

	if (v < 97)
		return ipn((unsigned)(rnd(x) % 24));
	if (v < 99) {
		snprintf(buf, 64, "2001:db8::%x", (unsigned)(rnd(x) % 6));
		return ip6(buf);
	}
	snprintf(buf, 64, "sess-%u", (unsigned)(rnd(x) % 4));
	return fkey_from_str(FKEY_RAW, buf, strlen(buf));
}

/*
 * Narrow slots change nothing but memory: a random walk of links (IPv4
 * mostly, with whole-second times and counts of 1 mostly, some IPv6 and
 * raw ids), successes, locks (pairs), deletions and cleanups on a table
 * against one with every slot 32 bytes gives the same pairs, counts,
 * slots and evictions at every step, with less memory.
 */
static void
test_links_narrow_same(void)
{
	for (unsigned run = 0; run < 3; run++) {
		struct failtab_opts o = {0};
		struct failtab *n, *w;
		uint64_t x = 0xD1B54A32D192ED03ull + run;
		double t = 1000000;
		unsigned bad = 0, step, narrower = 0;

		o.findtime = run == 1 ? 1e6 : 300; /* 1: rings at their cap */
		o.max_entries = run == 1 ? 100 : 40;
		o.max_links = run == 0 ? 80 : 2000; /* table cap reached, or
		                                       per-entry caps */
		o.max_entry_links = run == 2 ? 4 : 64;
		o.memo_slots = 64;
		n = failtab_new(&o);
		o.wide_links = true;
		w = failtab_new(&o);
		for (step = 0; step < 30000 && bad == 0; step++) {
			char lb[64], kb[64];
			unsigned op = (unsigned)(rnd(&x) % 100);
			struct fkey u =
			    walk_login((unsigned)(rnd(&x) % 50), lb);
			struct fkey k = walk_link(&x, kb);
			struct failtab_entry *en, *ew;
			double c = 1, cn = -1, cw = -2, at;
			unsigned tv = (unsigned)(rnd(&x) % 100);

			/* whole seconds mostly, out of order at times */
			t += (double)(rnd(&x) % 3);
			at = t;
			if (tv < 3)
				c = 2;
			else if (tv < 6)
				at = t + 0.125;
			else if (tv == 99)
				at = t - 30;
			if (op < 70) {
				en = failtab_add_link(n, &u, at, c, &k);
				ew = failtab_add_link(w, &u, at, c, &k);
			} else if (op < 82) {
				en = failtab_find(n, &u);
				ew = failtab_find(w, &u);
				if ((en == NULL) != (ew == NULL))
					bad = 1;
				else if (en != NULL &&
				    (failtab_link_forget(n, en, &k, &cn) !=
				            failtab_link_forget(
				                w, ew, &k, &cw) ||
				        cn != cw))
					bad = 2;
			} else if (op < 92) {
				en = failtab_find(n, &u);
				ew = failtab_find(w, &u);
				if (en != NULL && ew != NULL) {
					char *a = pairs_exact(n, en, t - 100);
					char *b = pairs_exact(w, ew, t - 100);

					if (strcmp(a, b) != 0)
						bad = 3;
					free(a);
					free(b);
				}
			} else if (op < 96) {
				if (failtab_del(n, &u) != failtab_del(w, &u))
					bad = 4;
			} else {
				if (failtab_cleanup(n, t) !=
				    failtab_cleanup(w, t))
					bad = 5;
			}
			en = failtab_find(n, &u);
			ew = failtab_find(w, &u);
			if (!bad && !same_entry(n, en, w, ew))
				bad = 6;
			if (!bad &&
			    (failtab_link_count(n) != failtab_link_count(w) ||
			        failtab_link_slots(n) !=
			            failtab_link_slots(w) ||
			        failtab_link_evictions(n) !=
			            failtab_link_evictions(w) ||
			        failtab_size(n) != failtab_size(w)))
				bad = 7;
			if (!bad &&
			    failtab_link_bytes(w) != 32 * failtab_link_slots(w))
				bad = 8;
			narrower +=
			    failtab_link_bytes(n) < failtab_link_bytes(w);
		}
		ok(bad == 0 && narrower > step / 2 &&
		        failtab_link_evictions(n) > 100,
		    "narrow slots (table cap %zu, ring cap %zu): the same "
		    "links as 32-byte slots, %u steps, fewer bytes in %u "
		    "(%llu evicted; failed check %u)",
		    o.max_links, o.max_entry_links, step, narrower,
		    (unsigned long long)failtab_link_evictions(n), bad);
		failtab_free(n);
		failtab_free(w);
	}
}

/* Groups set at once (one block) are the ones added one by one would
 * be, and the data still takes groups one by one afterwards. */
static void
test_kv_block(void)
{
	struct fdata a = {0}, b = {0}, c;
	struct fdata_kv kv[4];
	char *big = xmalloc(FDATA_KV_BYTES);

	memset(big, 'y', FDATA_KV_BYTES - 1);
	big[FDATA_KV_BYTES - 1] = '\0';
	kv[0] = (struct fdata_kv){"user", "root"};
	kv[1] = (struct fdata_kv){"huge", big}; /* cut at 256: fits */
	kv[2] = (struct fdata_kv){"ip4", "192.0.2.1"};
	kv[3] = (struct fdata_kv){"port", "22"};
	fdata_set_kv(&a, kv, 4);
	for (int i = 0; i < 4; i++)
		fdata_add_kv(&b, kv[i].name, kv[i].value);
	is_int(a.nkv, b.nkv, "set at once: as many groups as one by one");
	for (size_t i = 0; i < a.nkv && i < b.nkv; i++) {
		is_str(a.kv[i].name, b.kv[i].name, "same name %zu", i);
		is_str(a.kv[i].value, b.kv[i].value, "same value %zu", i);
	}
	ok(fdata_add_kv(&a, "late", "x"), "a block takes one more group");
	is_str(fdata_get(&a, "late"), "x", "which reads back");
	is_str(fdata_get(&a, "user"), "root", "next to the earlier ones");
	fdata_copy(&c, &a);
	is_str(fdata_get(&c, "port"), "22", "a copy holds them too");
	fdata_cleanup(&a);
	fdata_cleanup(&b);
	fdata_cleanup(&c);
	free(big);
}

static void
test_bounds(void)
{
	struct failtab_opts o = {0};
	struct failtab *ft;
	struct failtab_failure f = {0};
	struct failtab_entry *e;
	char *longline = xmalloc(5000);
	const char *lines[1];
	struct fdata_kv kv[20];
	char names[20][16];

	o.findtime = 600;
	o.maxmatches = 100;
	o.match_max_len = 10;
	o.entry_match_bytes = 35;
	ft = failtab_new(&o);
	memset(longline, 'x', 4999);
	longline[4999] = '\0';
	/* a UTF-8 "é" straddling the cut at 10 bytes */
	memcpy(longline + 9, "\xc3\xa9", 2);
	lines[0] = longline;
	f.key = ip4("192.0.2.9");
	f.time = 1;
	f.count = 1;
	f.matches = lines;
	f.nmatches = 1;
	for (int i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "g%d", i);
		kv[i].name = names[i];
		kv[i].value = i == 0 ? longline : "v";
	}
	f.kv = kv;
	f.nkv = 20;
	e = failtab_add(ft, &f, NULL);
	is_int(strlen(e->data.matches[0]), 9,
	    "a line is cut at match_max_len, not inside a UTF-8 character");
	ok(e->data.nkv <= FDATA_KV_MAX, "captured groups capped (%zu)",
	    e->data.nkv);
	is_int(strlen(fdata_get(&e->data, "g0")), 256,
	    "a captured value is cut at 256 bytes");
	for (int i = 0; i < 10; i++)
		e = failtab_add(ft, &f, NULL);
	ok(e->data.match_bytes <= 35, "lines of one entry within budget (%zu)",
	    e->data.match_bytes);
	is_int(e->data.nmatches, 3, "so 3 lines of 9 bytes remain");

	/* captured groups come from the first failure only */
	struct fdata_kv other = {"g1", "changed"};
	f.kv = &other;
	f.nkv = 1;
	e = failtab_add(ft, &f, NULL);
	is_str(fdata_get(&e->data, "g1"), "v", "later groups do not replace");
	{
		struct fdata copy;

		fdata_copy(&copy, &e->data);
		is_int(
		    copy.nmatches, e->data.nmatches, "fdata_copy copies lines");
		is_str(fdata_get(&copy, "g2"), "v", "and groups");
		fdata_cleanup(&copy);
	}
	free(longline);
	failtab_free(ft);

	/* maxmatches 0 keeps no lines after the first failure */
	ft = table(600, 0, 0);
	e = fail(ft, ip4("192.0.2.1"), 1, "one");
	is_int(e->data.nmatches, 1, "maxmatches 0: the first line is kept");
	e = fail(ft, ip4("192.0.2.1"), 2, "two");
	is_int(e->data.nmatches, 0, "then dropped, as fail2ban does");
	failtab_free(ft);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void
test_million(void)
{
	struct failtab *ft = table(600, 5, 100000);
	const char *lines[1] = {
	    "Nov 21 05:24:25 host sshd[123]: Failed password for root from "
	    "192.0.2.10 port 22 ssh2"};
	struct failtab_failure f = {0};
	long rss0 = rss_kib();
	double t0 = now_s(), t1, t2;
	size_t removed;

	f.count = 1;
	f.matches = lines;
	f.nmatches = 1;
	for (uint32_t i = 0; i < 1000000; i++) {
		struct addr a = {0};
		uint32_t v = htonl(0x0A000000u + i);

		a.family = AF_INET;
		a.prefix = 32;
		memcpy(a.b, &v, 4);
		f.key = fkey_from_addr(&a);
		f.time = 1e9 + i * 0.001;
		failtab_add(ft, &f, NULL);
	}
	t1 = now_s();
	is_int(failtab_size(ft), 100000, "1M distinct keys: size at the cap");
	is_int(failtab_evictions(ft), 900000, "900k evicted");
	is_int(failtab_total(ft), 1000000, "1M counted");
	printf("# 1M failures from distinct keys into a 100k table: %.3f s "
	       "(%.0f ns/add), peak RSS +%ld KiB\n",
	    t1 - t0, (t1 - t0) * 1e3, rss_kib() - rss0);
	removed = failtab_cleanup(ft, 1e9 + 949.9995 + 600);
	t2 = now_s();
	printf("# cleanup scan of 100k entries: %.3f ms, removed %zu\n",
	    (t2 - t1) * 1e3, removed);
	is_int(removed, 50000, "cleanup removed the older half");
	failtab_free(ft);
}

/* What the database got before fdata_json() wrote the plain case by
 * hand: jansson's compact dump of the groups. */
static char *
json_reference(const struct fdata *d)
{
	json_t *o = json_object();
	char *s;

	for (size_t i = 0; i < d->nkv; i++)
		json_object_set_new(o, d->kv[i].name,
		    ctl_json_string(d->kv[i].value, strlen(d->kv[i].value)));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void
test_fdata_json(void)
{
	static const char *const sets[][6] = {
	    {"ip4", "192.0.2.1", NULL},
	    {"ip4", "192.0.2.1", "user", "root", "f-port", "22"},
	    {"user", "", "x", " a b ~!{}[]:,/", NULL},
	    {"user", "say \"hi\"", NULL},
	    {"user", "back\\slash", "ip4", "192.0.2.9", NULL},
	    {"user", "tab\there", NULL},
	    {"user", "\x7f del", NULL},
	    {"user", "caf\xc3\xa9", NULL},
	    {"user", "bad \xff utf-8", NULL},
	    {"user", "a", "user", "b", NULL},
	    {"us\"er", "a", NULL},
	};
	struct fdata d = {0};

	ok(fdata_json(&d) == NULL, "json: no groups, no data");
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		char *got, *want;

		memset(&d, 0, sizeof(d));
		for (size_t k = 0; k < 6 && sets[i][k] != NULL; k += 2)
			fdata_add_kv(&d, sets[i][k], sets[i][k + 1]);
		got = fdata_json(&d);
		want = json_reference(&d);
		is_str(got, want, "json: set %zu as jansson writes it", i);
		/* into a buffer: roomy, exactly big enough, one byte short */
		for (size_t cap = 0; cap < 3; cap++) {
			char buf[256], *own;
			size_t sz =
			    cap == 0 ? sizeof(buf) : strlen(want) + 2 - cap;
			const char *b = fdata_json_buf(&d, buf, sz, &own);

			is_str(b, want, "json into %zu bytes: set %zu", sz, i);
			ok((b == buf) == (own == NULL),
			    "json into %zu bytes: set %zu in buf or owned", sz,
			    i);
			if (cap == 2)
				ok(own != NULL,
				    "json into %zu bytes: set %zu "
				    "does not fit: owned",
				    sz, i);
			free(own);
		}
		free(got);
		free(want);
		fdata_cleanup(&d);
	}
	memset(&d, 0, sizeof(d));
	fdata_add_kv(&d, "ip4", "192.0.2.1");
	fdata_add_kv(&d, "user", "root");
	{
		char *got = fdata_json(&d);

		is_str(got, "{\"ip4\":\"192.0.2.1\",\"user\":\"root\"}",
		    "json: capture order, compact");
		free(got);
	}
	fdata_cleanup(&d);
}

int
main(void)
{
	test_spec_table();
	test_counting();
	test_observed();
	test_cleanup_and_del();
	test_eviction();
	test_links();
	test_links_caps();
	test_links_raw();
	test_memo();
	test_links_encoding();
	test_links_narrow_same();
	test_bounds();
	test_kv_block();
	test_fdata_json();
	test_million();
	return done_testing();
}
