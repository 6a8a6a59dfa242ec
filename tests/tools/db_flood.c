/*
 * Bench driver for the database's commit path (issue 4's flood):
 *
 *   db_flood DB N [TICK]
 *
 * opens DB (created) as wardend does (lazy mode, WAL checkpoints left to
 * the caller), adds N bans of distinct IPv4 addresses counted up from
 * 100.66.0.1 as nft.sh's flood makes them (3 matched lines, the captured
 * address as data), TICK (default 2000) to a commit job, each job run in
 * this thread, with a PASSIVE checkpoint whenever one is due; then prints
 * the CPU time of the jobs and of the checkpoints. Deterministic enough
 * for callgrind (--toggle-collect=db_job_run for the jobs alone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "xmalloc.h"

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	struct db_options o = {.maxmatches = 10, .now = 1700000000.0};
	struct diags d;
	struct db *db;
	unsigned long n, tick = 2000;
	double tjob = 0, tckpt = 0, t;
	struct db_ckpt *ck;

	if (argc < 3) {
		fprintf(stderr, "usage: db_flood DB N [TICK]\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		tick = strtoul(argv[3], NULL, 10);
	if (tick == 0)
		tick = 1;
	diags_init(&d);
	db = db_open(argv[1], &o, &d);
	if (!db) {
		diags_print(&d, stderr);
		return 1;
	}
	db_jail_add(db, "bench");
	db_flush(db);
	db_set_lazy(db, true);
	db_set_autocheckpoint(db, false);
	ck = db_ckpt_new(db);
	for (unsigned long i = 0; i < n;) {
		struct db_job *job;

		for (unsigned long k = 0; k < tick && i < n; k++, i++) {
			unsigned a = (100u << 24 | 66u << 16) + 1 + (unsigned)i;
			char ip[32], m[3][96], data[64];
			const char *mv[3] = {m[0], m[1], m[2]};
			struct db_ban b = {0};

			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24,
			    (a >> 16) & 255, (a >> 8) & 255, a & 255);
			for (int j = 0; j < 3; j++)
				snprintf(m[j], sizeof(m[j]),
				    "2026-11-21 15:53:10 fail from %s", ip);
			snprintf(data, sizeof(data), "{\"ip\":\"%s\"}", ip);
			b.key.kind = FKEY_ADDR;
			addr_parse(ip, strlen(ip), &b.key.addr);
			b.time = 1700000000.0 + (double)i / 1e5;
			b.bantime = 86400;
			b.bancount = 1;
			b.failures = 3;
			b.matches = mv;
			b.nmatches = 3;
			b.data = data;
			b.data_object = true;
			db_ban_add(db, "bench", &b);
		}
		job = db_flush_begin(db);
		t = cpu_ms();
		if (job) {
			db_job_run(job);
			if (db_job_end(db, job) != 0) {
				fprintf(
				    stderr, "commit: %s\n", db_last_error(db));
				return 1;
			}
		} else if (db_flush(db) != 0) {
			fprintf(stderr, "commit: %s\n", db_last_error(db));
			return 1;
		}
		tjob += cpu_ms() - t;
		if (ck && db_ckpt_due(db)) {
			t = cpu_ms();
			db_ckpt_run(ck);
			tckpt += cpu_ms() - t;
		}
	}
	printf("%lu bans: jobs %.1f ms CPU (%.0f/s), checkpoints %.1f ms\n", n,
	    tjob, tjob > 0 ? (double)n / tjob * 1e3 : 0.0, tckpt);
	db_ckpt_free(ck);
	db_close(db);
	diags_cleanup(&d);
	return 0;
}
