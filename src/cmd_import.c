/*
 * `warden import-fail2ban [--dbfile WARDEN_DB] FAIL2BAN_DB`: copies the
 * current bans, the ban history and the log positions of a fail2ban
 * database (schema v4) into wardend's, so an administrator who switches
 * keeps their bans. The work is db_import_fail2ban()'s; this file parses
 * the arguments and prints the summary. wardend restores imported bans
 * when it (re)starts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cmds.h"
#include "db.h"
#include "diag.h"
#include "xmalloc.h"

/* Where wardend keeps its database with an unchanged fail2ban.conf. */
#define DEFAULT_DBFILE "/var/lib/fail2ban/fail2ban.sqlite3"

static int
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: warden import-fail2ban [--dbfile WARDEN_DB] FAIL2BAN_DB\n"
	    "\n"
	    "Imports the current bans, ban history and log positions of a\n"
	    "fail2ban database (schema v4) into wardend's database\n"
	    "(default %s). When both are the same file,\n"
	    "fail2ban's is renamed FILE.fail2ban-YYYYmmdd-HHMMSS first and a\n"
	    "wardend database takes its place. Imported bans are restored\n"
	    "when wardend (re)starts.\n",
	    DEFAULT_DBFILE);
	return fp == stdout ? 0 : 2;
}

/* Same file (device and inode) or, when one is missing, the same name. */
static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return strcmp(a, b) == 0;
}

int
cmd_import(int argc, char **argv)
{
	const char *dbfile = DEFAULT_DBFILE, *f2b = NULL;
	struct diags d = DIAGS_INIT;
	struct db_options opts = {.maxmatches = DB_DEFAULT_MAXMATCHES};
	struct db_import_stats st = {0};
	struct db *db = NULL;
	char *aside = NULL;
	int ret = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return usage(stdout);
		if (strcmp(argv[i], "--dbfile") == 0 && i + 1 < argc) {
			dbfile = argv[++i];
		} else if (strncmp(argv[i], "--dbfile=", 9) == 0) {
			dbfile = argv[i] + 9;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr,
			    "warden import-fail2ban: unknown "
			    "option '%s'\n",
			    argv[i]);
			return usage(stderr);
		} else if (!f2b) {
			f2b = argv[i];
		} else {
			return usage(stderr);
		}
	}
	if (!f2b)
		return usage(stderr);
	if (strcmp(dbfile, ":memory:") == 0 ||
	    strcasecmp(dbfile, "none") == 0) {
		fprintf(stderr,
		    "warden import-fail2ban: --dbfile %s keeps "
		    "nothing; name a file\n",
		    dbfile);
		return 2;
	}
	opts.now = (double)time(NULL);
	if (same_file(dbfile, f2b)) {
		/* In place: keep fail2ban's file aside (as db_open's
		 * migrate_fail2ban does) and import it into a new one. */
		time_t t = (time_t)opts.now;
		struct tm tm;
		char stamp[32];

		if (!db_is_fail2ban(f2b)) {
			fprintf(stderr,
			    "warden import-fail2ban: %s: not a fail2ban "
			    "database\n",
			    f2b);
			return 1;
		}
		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		aside = xasprintf("%s.fail2ban-%s", f2b, stamp);
		if (rename(f2b, aside) < 0) {
			fprintf(stderr, "warden import-fail2ban: %s: %s\n",
			    aside, strerror(errno));
			goto out;
		}
		printf("Kept fail2ban's database as %s\n", aside);
		f2b = aside;
	}
	db = db_open(dbfile, &opts, &d);
	if (!db) {
		diags_print(&d, stderr);
		goto out;
	}
	diags_print(&d, stderr);
	diags_cleanup(&d);
	if (db_import_fail2ban(db, f2b, opts.now, &st, &d) < 0) {
		diags_print(&d, stderr);
		goto out;
	}
	diags_print(&d, stderr);
	printf("Imported %zu current bans (%zu skipped as expired), %zu "
	       "history rows, %zu log positions\n",
	    st.current, st.expired, st.history, st.logs);
	if (st.skipped)
		printf("Skipped %zu rows whose id or values did not parse\n",
		    st.skipped);
	if (st.expired)
		printf("Expired bans are kept as ban counts for "
		       "bantime.increment\n");
	ret = 0;
out:
	if (db && db_flush(db) < 0) {
		fprintf(stderr, "warden import-fail2ban: %s: %s\n", dbfile,
		    db_last_error(db));
		ret = 1;
	}
	db_close(db);
	diags_cleanup(&d);
	free(aside);
	return ret;
}
