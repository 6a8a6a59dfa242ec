/*
 * Test driver for the database module (tests/integ/run-db).
 *
 *   db_stress run DB [SEED] [jobs]
 *                               add bans in random batches forever; after
 *                               each successful db_flush print "FLUSHED n"
 *                               (n bans durable so far); now and then a
 *                               purge of old rows of another jail. With
 *                               "jobs", as the daemon commits: lazy mode,
 *                               each batch committed by a job in a thread
 *                               while the next batch is queued, "FLUSHED"
 *                               once db_job_end has returned 0
 *   db_stress check DB N        after a kill -9: reopen, and check that the
 *                               bans 0..m-1 are there for some m >= N, each
 *                               exactly as written, nothing else, and the
 *                               log position written in the same batch is
 *                               m; prints "ok m" or "FAIL why"
 *   db_stress dump DB NOW [JAIL:PATH...]
 *                               every jail's restorable bans (increment
 *                               rules, bantime 600) with their history
 *                               matches, then the named log positions
 *
 * Ban i of the stress jail has a key, times, counts, matches and data that
 * are functions of i, so a check needs nothing but the database.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "sbuf.h"
#include "xmalloc.h"

#define T0   1700000000.0
#define JAIL "stress"

/* The key of ban i; s (for RAW) points into buf. */
static struct fkey
key_of(unsigned i, char *buf, size_t n)
{
	struct fkey k;

	memset(&k, 0, sizeof(k));
	switch (i % 3) {
	case 0:
		k.kind = FKEY_ADDR;
		snprintf(buf, n, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
		    i & 255);
		addr_parse(buf, strlen(buf), &k.addr);
		break;
	case 1:
		k.kind = FKEY_ADDR;
		snprintf(buf, n, "2001:db8::%x:%x", i >> 16, i & 0xffff);
		addr_parse(buf, strlen(buf), &k.addr);
		break;
	default:
		k.kind = FKEY_RAW;
		snprintf(buf, n, "id-%u", i);
		k.s = buf;
		k.len = strlen(buf);
	}
	return k;
}

/* Index of a stress key, or -1. */
static long
index_of(const struct fkey *k)
{
	char buf[FKEY_STRLEN];
	unsigned a, b, c;

	fkey_format(k, buf);
	if (k->kind == FKEY_RAW && sscanf(buf, "id-%u", &a) == 1)
		return a;
	if (k->kind == FKEY_ADDR && k->addr.family == 2 && buf[0] == '1' &&
	    sscanf(buf, "10.%u.%u.%u", &a, &b, &c) == 3)
		return (long)(a << 16 | b << 8 | c);
	if (k->kind == FKEY_ADDR && sscanf(buf, "2001:db8::%x:%x", &a, &b) == 2)
		return (long)(a << 16 | b);
	if (k->kind == FKEY_ADDR && sscanf(buf, "2001:db8::%x", &b) == 1)
		return (long)b;
	return -1;
}

static double
bantime_of(unsigned i)
{
	return i % 10 == 0 ? -1 : 1e6 + i;
}

static void *
job_thread(void *arg)
{
	db_job_run(arg);
	return NULL;
}

static int
cmd_run(const char *path, unsigned seed, bool jobs)
{
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(path, NULL, &d);
	unsigned n = 0, batches = 0, job_n = 0;
	struct db_job *job = NULL;
	pthread_t th;
	char buf[64], hash[64];
	struct strv lines = STRV_INIT;

	diags_print(&d, stderr);
	if (!db)
		return 1;
	srand(seed);
	db_jail_add(db, JAIL);
	db_jail_add(db, "junk");
	if (db_flush(db) < 0) {
		fprintf(stderr, "flush: %s\n", db_last_error(db));
		return 1;
	}
	/* resume where the last (killed) run stopped */
	{
		char *h = NULL;
		uint64_t pos = 0;

		db_log_get(db, JAIL, "/var/log/stress", &h, &pos);
		n = (unsigned)pos;
		free(h);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("START %u\n", n);
	db_set_lazy(db, jobs);
	for (;;) {
		unsigned batch = 1 + (unsigned)rand() % 400;

		for (unsigned i = n; i < n + batch; i++) {
			struct db_ban b = {0};

			strv_cleanup(&lines);
			for (unsigned j = 0; j < i % 4; j++)
				strv_take(&lines,
				    xasprintf("line %u.%u from %s", i, j,
				        i % 2 ? "caf\xc3\xa9" : "\"q\"\\"));
			b.key = key_of(i, buf, sizeof(buf));
			b.time = T0 + i;
			b.bantime = bantime_of(i);
			b.bancount = i % 7 + 1;
			b.failures = i % 5 + 1;
			b.matches = (const char *const *)lines.v;
			b.nmatches = lines.n;
			snprintf(hash, sizeof(hash), "{\"n\":%u}", i);
			b.data = hash;
			db_ban_add(db, JAIL, &b);
		}
		snprintf(hash, sizeof(hash), "%040u", n + batch);
		db_log_set(db, JAIL, "/var/log/stress", hash, n + batch);
		if (jobs) {
			/* the job out (the previous batch) ends, this batch's
			 * job starts: queued while the other one ran */
			if (job != NULL) {
				pthread_join(th, NULL);
				if (db_job_end(db, job) != 0) {
					fprintf(stderr, "job: %s\n",
					    db_last_error(db));
					return 1;
				}
				printf("FLUSHED %u\n", job_n);
			}
			job = db_flush_begin(db);
			if (job == NULL ||
			    pthread_create(&th, NULL, job_thread, job) != 0) {
				fprintf(stderr, "no job\n");
				return 1;
			}
			job_n = n + batch;
			n += batch;
			continue;
		}
		if (db_flush(db) < 0) {
			fprintf(stderr, "flush: %s\n", db_last_error(db));
			return 1;
		}
		n += batch;
		printf("FLUSHED %u\n", n);
		if (++batches % 10 == 0) {
			/* old rows of another jail, purged at once */
			for (unsigned i = 0; i < 50; i++) {
				struct db_ban b = {0};

				b.key = key_of(i + 1000000, buf, sizeof(buf));
				b.time = 1000 + i;
				b.bantime = 600;
				b.bancount = 1;
				db_ban_add(db, "junk", &b);
			}
			if (db_purge(db, T0, 86400) < 0) {
				fprintf(
				    stderr, "purge: %s\n", db_last_error(db));
				return 1;
			}
		}
	}
}

struct check {
	unsigned char *seen;
	size_t nseen;
	long max;
	long count;
	char why[1024];
};

static int
check_one(void *arg, const struct db_ban *b)
{
	struct check *c = arg;
	long i = index_of(&b->key);
	char kb[FKEY_STRLEN], want[64];

	fkey_format(&b->key, kb);
	if (i < 0 || (size_t)i >= c->nseen) {
		snprintf(c->why, sizeof(c->why), "unexpected key %s", kb);
		return 1;
	}
	if (c->seen[i]++) {
		snprintf(c->why, sizeof(c->why), "ban %ld twice", i);
		return 1;
	}
	snprintf(want, sizeof(want), "{\"n\":%ld}", i);
	if (b->time != T0 + (double)i ||
	    b->bantime != bantime_of((unsigned)i) ||
	    b->bancount != (unsigned)i % 7 + 1 ||
	    b->failures != (unsigned)i % 5 + 1 ||
	    b->nmatches != (size_t)i % 4 || !b->data ||
	    strcmp(b->data, want) != 0) {
		snprintf(c->why, sizeof(c->why),
		    "ban %ld (%s) differs: time %.0f bantime %.0f count %u "
		    "failures %u matches %zu data %s",
		    i, kb, b->time, b->bantime, b->bancount, b->failures,
		    b->nmatches, b->data ? b->data : "(null)");
		return 1;
	}
	for (size_t j = 0; j < b->nmatches; j++) {
		char *w = xasprintf("line %ld.%zu from %s", i, j,
		    i % 2 ? "caf\xc3\xa9" : "\"q\"\\");
		int bad = strcmp(w, b->matches[j]) != 0;

		free(w);
		if (bad) {
			snprintf(c->why, sizeof(c->why),
			    "ban %ld match %zu: %s", i, j, b->matches[j]);
			return 1;
		}
	}
	if (i > c->max)
		c->max = i;
	c->count++;
	return 0;
}

static int
cmd_check(const char *path, long want)
{
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(path, NULL, &d);
	struct db_restore r = {.now = T0, .bantime = -1, .maxmatches = 10};
	struct check c = {0};
	char *hash = NULL;
	uint64_t pos = 0;
	long n, hist;
	int ret = 1;

	if (!db || d.n) {
		printf("FAIL open: ");
		diags_print(&d, stdout);
		goto out;
	}
	c.nseen = 16u << 20;
	c.seen = xcalloc(c.nseen, 1);
	c.max = -1;
	n = db_bans_restore(db, JAIL, &r, check_one, &c);
	if (c.why[0]) {
		printf("FAIL %s\n", c.why);
		goto out;
	}
	if (n < 0 || n != c.count) {
		printf("FAIL restore returned %ld: %s\n", n, db_last_error(db));
		goto out;
	}
	if (c.count != c.max + 1) {
		printf("FAIL %ld bans but the highest is %ld: a gap\n", c.count,
		    c.max);
		goto out;
	}
	if (c.count < want) {
		printf("FAIL only %ld bans, %ld were reported flushed\n",
		    c.count, want);
		goto out;
	}
	/* no position at all only before the first batch */
	if (db_log_get(db, JAIL, "/var/log/stress", &hash, &pos) < 0 ||
	    (long)pos != c.count) {
		printf(
		    "FAIL log position %llu, bans %ld: not one transaction\n",
		    (unsigned long long)pos, c.count);
		goto out;
	}
	/* history: one row per stress ban, plus junk not yet purged (a kill
	 * between a flush and the purge after it leaves some) */
	hist = db_count_history(db);
	for (unsigned i = 0; i < 50; i++) {
		char buf[64];
		struct fkey k = key_of(i + 1000000, buf, sizeof(buf));

		hist -= db_ban_matches(db, "junk", &k, NULL, NULL);
	}
	if (hist != c.count) {
		printf("FAIL %ld history rows for %ld bans\n", hist, c.count);
		goto out;
	}
	printf("ok %ld\n", c.count);
	ret = 0;
out:
	free(hash);
	free(c.seen);
	db_close(db);
	diags_cleanup(&d);
	return ret;
}

struct dump {
	struct db *db;
	const char *jail;
};

static int
dump_one(void *arg, const struct db_ban *b)
{
	struct dump *du = arg;
	char kb[FKEY_STRLEN];
	struct strv m = STRV_INIT;
	unsigned long fails = 0;
	long nb;

	fkey_format(&b->key, kb);
	printf("ban %s %s %s time=%.0f bantime=%.0f bancount=%u failures=%u "
	       "data=%s\n",
	    du->jail, fkey_kind_name(b->key.kind), kb, b->time, b->bantime,
	    b->bancount, b->failures, b->data ? b->data : "-");
	for (size_t i = 0; i < b->nmatches; i++)
		printf("  match %s\n", b->matches[i]);
	nb = db_ban_matches(du->db, du->jail, &b->key, &m, &fails);
	printf("  history bans=%ld failures=%lu\n", nb, fails);
	for (size_t i = 0; i < m.n; i++)
		printf("  ipjailmatch %s\n", m.v[i]);
	strv_cleanup(&m);
	return 0;
}

static int
cmd_dump(const char *path, double now, int argc, char **argv)
{
	struct diags d = DIAGS_INIT;
	struct db *db = db_open(path, NULL, &d);
	struct strv jails = STRV_INIT;
	struct db_restore r = {
	    .now = now, .bantime = 600, .increment = true, .maxmatches = 10};

	diags_print(&d, stderr);
	if (!db)
		return 1;
	db_jails(db, -1, &jails);
	for (size_t i = 0; i < jails.n; i++) {
		struct dump du = {db, jails.v[i]};

		printf("jail %s\n", jails.v[i]);
		db_bans_restore(db, jails.v[i], &r, dump_one, &du);
	}
	for (int i = 0; i < argc; i++) {
		char *jail = xstrdup(argv[i]), *p = strchr(jail, ':');
		char *hash = NULL;
		uint64_t pos = 0;

		if (p) {
			*p++ = '\0';
			if (db_log_get(db, jail, p, &hash, &pos) == 1)
				printf("log %s %s %s %llu\n", jail, p,
				    hash ? hash : "-", (unsigned long long)pos);
			else
				printf("log %s %s none\n", jail, p);
		}
		free(hash);
		free(jail);
	}
	printf("history rows %ld, latest rows %ld\n", db_count_history(db),
	    db_count_latest(db));
	strv_cleanup(&jails);
	db_close(db);
	diags_cleanup(&d);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return cmd_run(argv[2],
		    argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1,
		    argc > 4 && strcmp(argv[4], "jobs") == 0);
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2], strtol(argv[3], NULL, 10));
	if (argc >= 4 && strcmp(argv[1], "dump") == 0)
		return cmd_dump(
		    argv[2], strtod(argv[3], NULL), argc - 4, argv + 4);
	fprintf(stderr,
	    "usage: db_stress run DB [SEED] [jobs] | check DB N | "
	    "dump DB NOW [JAIL:PATH...]\n");
	return 2;
}
