/*
 * memtrim: after code ran (PCRE2 compiling and matching, SQLite opening
 * and writing a database), dropping the code mappings lowers the
 * process's file-backed resident set, everything still runs with the same
 * results afterwards, and read-only data and writable globals keep their
 * contents.
 */
#include "memtrim.h"
#include "tap.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char table[] = "read-only data in a segment trimmed away";
static char written[32];
static const char *volatile table_p = table; /* not folded at compile time */

/* RssFile from /proc/self/status, KiB; -1 if unreadable */
static long
rss_file(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssFile: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Compiles (with JIT) and runs a regex; the start offset of the match of
 * the address or -1. */
static int
regex_work(void)
{
	static const char *subj =
	    "Failed password for root from 192.0.2.7 port 22 ssh2";
	int err, at = -1;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile(
	    (PCRE2_SPTR) "from (?P<ip>\\d+\\.\\d+\\.\\d+\\.\\d+) port \\d+",
	    PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	pcre2_match_data *md;

	if (re == NULL)
		return -1;
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	if (pcre2_match(re, (PCRE2_SPTR)subj, strlen(subj), 0, 0, md, NULL) > 1)
		at = (int)pcre2_get_ovector_pointer(md)[2];
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return at;
}

/* Creates, fills and sums a table in an in-memory database; -1 on error */
static long
sql_work(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long sum = -1;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		return -1;
	if (sqlite3_exec(db,
	        "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
	        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
	        "FROM c WHERE x < 1000) INSERT INTO t SELECT x, 'v' || x "
	        "FROM c;",
	        NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT sum(a) FROM t WHERE b LIKE 'v%'", -1,
	        &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			sum = (long)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return sum;
}

int
main(void)
{
	long before, after;
	size_t n;

	snprintf(written, sizeof(written), "written at run time");
	is_int(regex_work(), 30, "regex matches before the trim");
	is_int(sql_work(), 500500, "SQLite sums before the trim");
	before = rss_file();
	n = mem_trim_code();
	after = rss_file();
	ok(n > 0, "some code was unmapped (%zu KiB)", n >> 10);
	ok(before > 0 && after >= 0 && after < before,
	    "file-backed resident set went down (%ld -> %ld KiB)", before,
	    after);
	is_int(regex_work(), 30, "regex matches the same after the trim");
	is_int(sql_work(), 500500, "SQLite sums the same after the trim");
	is_str(table_p, "read-only data in a segment trimmed away",
	    "read-only data intact");
	is_str(written, "written at run time", "writable globals intact");
	n = mem_trim_code();
	ok(n > 0, "trimming twice is harmless");
	is_int(regex_work(), 30, "and code still runs");
	return done_testing();
}
