/*
 * Fuzz harness for the database's text handling: matched lines of any
 * bytes go in through db_ban_add and must come back from db_ban_matches
 * as valid UTF-8, unchanged when they were valid already; and a
 * fail2ban-shaped row with an arbitrary ip and data JSON (matches, the
 * [prefix, date, rest] quirk, `users` Python set reprs) is imported
 * without harm. Input: ip bytes, a NUL, then the data text; its lines
 * are also the matches.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
valid_utf8(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, len, cp, min;

		if (c < 0x80) {
			s++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			len = 2, cp = c & 0x1F, min = 0x80;
		else if ((c & 0xF0) == 0xE0)
			len = 3, cp = c & 0x0F, min = 0x800;
		else if ((c & 0xF8) == 0xF0)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		for (unsigned j = 1; j < len; j++) {
			if ((s[j] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		s += len;
	}
	return true;
}

static void
round_trip(struct db *db, const char *text)
{
	struct strv in = STRV_INIT, out = STRV_INIT;
	struct fkey k = fkey_from_str(FKEY_RAW, "fuzz", 4);
	struct db_ban b = {0};
	const char *p = text;
	unsigned long fails;

	while (in.n < 16) {
		const char *nl = strchr(p, '\n');

		strv_take(&in, nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p));
		if (!nl)
			break;
		p = nl + 1;
	}
	b.key = k;
	b.time = 1;
	b.bantime = 600;
	b.bancount = 1;
	b.failures = 1;
	b.matches = (const char *const *)in.v;
	b.nmatches = in.n;
	b.data = text;
	db_ban_add(db, "j", &b);
	if (db_flush(db) < 0)
		abort();
	db_ban_matches(db, "j", &k, &out, &fails);
	if (out.n != (in.n > 10 ? 10 : in.n))
		abort();
	for (size_t i = 0; i < out.n; i++) {
		const char *want = in.v[in.n - out.n + i];

		if (!valid_utf8((const unsigned char *)out.v[i]))
			abort();
		if (valid_utf8((const unsigned char *)want) &&
		    strcmp(want, out.v[i]) != 0)
			abort();
	}
	strv_cleanup(&in);
	strv_cleanup(&out);
}

static void
import_row(struct db *db, const char *ip, const char *text)
{
	static const char *uri = "file:fuzzf2b?mode=memory&cache=shared";
	struct db_import_stats st;
	struct diags d = DIAGS_INIT;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	if (sqlite3_open_v2(uri, &h,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
	        NULL) != SQLITE_OK)
		goto out;
	sqlite3_exec(h,
	    "CREATE TABLE IF NOT EXISTS fail2banDb(version INTEGER);"
	    "DELETE FROM fail2banDb; INSERT INTO fail2banDb VALUES(4);"
	    "CREATE TABLE IF NOT EXISTS jails(name TEXT, enabled INTEGER);"
	    "CREATE TABLE IF NOT EXISTS logs(jail TEXT, path TEXT,"
	    " firstlinemd5 TEXT, lastfilepos INTEGER);"
	    "CREATE TABLE IF NOT EXISTS bans(jail TEXT, ip TEXT, timeofban "
	    "INTEGER, bantime INTEGER, bancount INTEGER, data JSON);"
	    "CREATE TABLE IF NOT EXISTS bips(ip TEXT, jail TEXT, timeofban "
	    "INTEGER, bantime INTEGER, bancount INTEGER, data JSON);"
	    "DELETE FROM bans; DELETE FROM bips;",
	    NULL, NULL, NULL);
	for (int i = 0; i < 2; i++) {
		static const char *const sql[] = {
		    "INSERT INTO bips VALUES(?1, 'j', 100, 600, 2, ?2)",
		    "INSERT INTO bans VALUES('j', ?1, 100, 600, 2, ?2)",
		};

		if (sqlite3_prepare_v2(h, sql[i], -1, &s, NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_text(s, 1, ip, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
		sqlite3_step(s);
		sqlite3_finalize(s);
		s = NULL;
	}
	if (db_import_fail2ban(db, uri, 200, &st, &d) == 0) {
		struct strv out = STRV_INIT;
		unsigned long fails;
		struct fkey k;

		/* the bips row is imported or skipped (the bans row too) */
		if (st.current + st.expired > 1 ||
		    st.current + st.expired + st.skipped == 0)
			abort();
		k = fkey_parse(ip, strlen(ip));
		db_ban_matches(db, "j", &k, &out, &fails);
		for (size_t i = 0; i < out.n; i++)
			if (!valid_utf8((const unsigned char *)out.v[i]))
				abort();
		strv_cleanup(&out);
	}
out:
	sqlite3_finalize(s);
	sqlite3_close(h);
	diags_cleanup(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = DIAGS_INIT;
	struct db *db;
	char *buf, *text;
	size_t iplen;

	if (size > 65536)
		return 0;
	buf = xmemdup(data, size);
	iplen = strlen(buf);
	text = iplen < size ? buf + iplen + 1 : buf + iplen;
	db = db_open(":memory:", NULL, &d);
	if (!db)
		abort();
	round_trip(db, text);
	import_row(db, buf, text);
	db_close(db);
	diags_cleanup(&d);
	free(buf);
	return 0;
}
