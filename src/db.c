/*
 * wardend's SQLite persistence (see db.h): schema and migrations, opening
 * with corruption recovery, the write queue committed once per tick, the
 * reads the daemon needs (restore, increment history, <ipmatches>,
 * positions), purge, and the import of fail2ban's v4 database.
 *
 * Writes are executed as they are queued, inside a transaction opened by
 * the first write of a tick, so reads in the same tick see them; db_flush
 * commits. Every queued write is also kept in memory until that commit
 * succeeds: if a statement or the commit fails (disk full, I/O error, a
 * lock held too long by another process), the transaction is rolled back
 * and the next flush replays the whole queue in a new one.
 *
 * Lazy mode (the daemon's, db_set_lazy): writes only wait in the queue;
 * a read runs them first (in an open transaction, as above), else a
 * commit job (db_flush_begin) takes the whole queue to another thread,
 * which runs it and commits. While a job is out the connection is the
 * job's: every function that touches it first settles the job (waits for
 * it, or runs it here when no thread has started it yet).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "db.h"
#include "sbuf.h"
#include "xmalloc.h"

/* Key kinds as stored: fixed numbers, independent of enum fkey_kind. */
enum { DBK_ADDR = 1, DBK_RAW = 2, DBK_USER = 3 };

/*
 * Schema migrations: migrations[v] takes a database from user_version v to
 * v + 1, inside one transaction that also sets user_version. Never edit a
 * released entry; append one (and bump DB_SCHEMA_VERSION) instead.
 *
 * ban_history: every ban, for <ipmatches>/<ipfailures> (fail2ban's bans).
 * latest_ban: the latest ban of each (jail, key): restored at start, and
 *   the count bantime.increment looks up (fail2ban's bips). Its failures,
 *   matches and data are those of its history row `hist`, which purge
 *   keeps while it is referenced (fail2ban stores them twice).
 * Keys: kind (DBK_*) and key bytes (an address's canonical text, or the
 * raw id / user name bytes). Times are epoch seconds (REAL), bantime -1 is
 * permanent. matches is a JSON array of strings, data a JSON object.
 */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE jails("
    " name TEXT PRIMARY KEY NOT NULL,"
    " enabled INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE ban_history("
    " id INTEGER PRIMARY KEY,"
    " jail TEXT NOT NULL, kind INTEGER NOT NULL, key BLOB NOT NULL,"
    " time REAL NOT NULL, bantime REAL NOT NULL,"
    " bancount INTEGER NOT NULL, failures INTEGER NOT NULL,"
    " matches TEXT, data TEXT);"
    "CREATE INDEX ban_history_key ON ban_history(kind, key, jail, time);"
    "CREATE TABLE latest_ban("
    " jail TEXT NOT NULL, kind INTEGER NOT NULL, key BLOB NOT NULL,"
    " time REAL NOT NULL, bantime REAL NOT NULL,"
    " bancount INTEGER NOT NULL, hist INTEGER,"
    " PRIMARY KEY(jail, kind, key)) WITHOUT ROWID;"
    "CREATE INDEX latest_ban_key ON latest_ban(kind, key);"
    "CREATE TABLE log_pos("
    " jail TEXT NOT NULL, path TEXT NOT NULL, hash TEXT,"
    " pos INTEGER NOT NULL, PRIMARY KEY(jail, path));"
    "CREATE TABLE journal_pos("
    " jail TEXT PRIMARY KEY NOT NULL, cursor TEXT NOT NULL);",
    /* 1 -> 2: latest_ban_key served one read (a key's bans over all
     * jails, ST_HISTORY_ALL), which now walks the jails in the primary
     * key instead; it was one of the four b-trees every ban wrote, 20%
     * of a flood's commit instructions */
    "DROP INDEX latest_ban_key;",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DB_SCHEMA_VERSION,
    "one migration per schema version");

#define BAN_COLS                                                               \
	"jail, kind, key, time, bantime, bancount, failures, "                 \
	"matches, data"
#define LATEST_COLS "jail, kind, key, time, bantime, bancount, hist"
#define DEAD_JAILS                                                             \
	"SELECT name FROM jails WHERE enabled = 0"                             \
	" AND NOT EXISTS(SELECT 1 FROM ban_history WHERE jail = jails.name)"   \
	" AND NOT EXISTS(SELECT 1 FROM latest_ban WHERE jail = jails.name)"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_JAIL_ADD,
	ST_JAIL_DISABLE,
	ST_JAIL_DISABLE_ALL,
	ST_JAILS,
	ST_HIST_ADD,
	ST_LATEST_SET,
	ST_HIST_DEL_KEY,
	ST_LATEST_DEL_KEY,
	ST_HIST_DEL_JAIL,
	ST_LATEST_DEL_JAIL,
	ST_RESTORE,
	ST_RESTORE_KEYS,
	ST_HISTORY_JAIL,
	ST_HISTORY_ALL,
	ST_MATCHES_JAIL,
	ST_MATCHES_ALL,
	ST_COUNT_HIST,
	ST_COUNT_LATEST,
	ST_LOG_SET,
	ST_LOG_GET,
	ST_JOURNAL_SET,
	ST_JOURNAL_GET,
	ST_PURGE_LATEST,
	ST_PURGE_HIST,
	ST_PURGE_LOGS,
	ST_PURGE_JOURNAL,
	ST_PURGE_JAILS,
	ST_IMP_JAIL,
	ST_IMP_HIST,
	ST_IMP_FIND,
	ST_IMP_LATEST,
	ST_IMP_LOG,
	ST__N
};

static const char *const stmt_sql[ST__N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_JAIL_ADD] = "INSERT INTO jails(name, enabled) VALUES(?1, 1)"
                    " ON CONFLICT(name) DO UPDATE SET enabled = 1",
    [ST_JAIL_DISABLE] = "UPDATE jails SET enabled = 0 WHERE name = ?1",
    [ST_JAIL_DISABLE_ALL] = "UPDATE jails SET enabled = 0",
    [ST_JAILS] = "SELECT name FROM jails WHERE ?1 < 0 OR enabled = ?1"
                 " ORDER BY name",
    [ST_HIST_ADD] = "INSERT INTO ban_history(" BAN_COLS ")"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_LATEST_SET] = "INSERT OR REPLACE INTO latest_ban(" LATEST_COLS ")"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_HIST_DEL_KEY] = "DELETE FROM ban_history"
                        " WHERE kind = ?2 AND key = ?3 AND jail = ?1",
    [ST_LATEST_DEL_KEY] = "DELETE FROM latest_ban"
                          " WHERE jail = ?1 AND kind = ?2 AND key = ?3",
    [ST_HIST_DEL_JAIL] = "DELETE FROM ban_history WHERE jail = ?1",
    [ST_LATEST_DEL_JAIL] = "DELETE FROM latest_ban WHERE jail = ?1",
    [ST_RESTORE] = "SELECT l.kind, l.key, l.time, l.bantime, l.bancount,"
                   " h.failures, h.matches, h.data FROM latest_ban l"
                   " LEFT JOIN ban_history h ON h.id = l.hist"
                   " WHERE l.jail = ?1"
                   " AND (l.time + l.bantime > ?2 OR l.bantime <= -1)"
                   " AND (?3 IS NULL OR l.time > ?3)"
                   " ORDER BY l.time, l.kind, l.key",
    /* the same in the primary key's order: no sort */
    [ST_RESTORE_KEYS] = "SELECT l.kind, l.key, l.time, l.bantime, l.bancount,"
                        " h.failures, h.matches, h.data FROM latest_ban l"
                        " LEFT JOIN ban_history h ON h.id = l.hist"
                        " WHERE l.jail = ?1"
                        " AND (l.time + l.bantime > ?2 OR l.bantime <= -1)"
                        " AND (?3 IS NULL OR l.time > ?3)"
                        " ORDER BY l.jail, l.kind, l.key",
    [ST_HISTORY_JAIL] = "SELECT bancount, time, bantime FROM latest_ban"
                        " WHERE jail = ?1 AND kind = ?2 AND key = ?3",
    /* each jail that has a latest ban (the primary key skipped from one
     * jail to the next), then its row for the key: a few seeks a jail */
    [ST_HISTORY_ALL] = "WITH RECURSIVE j(name) AS ("
                       " SELECT min(jail) FROM latest_ban UNION ALL"
                       " SELECT (SELECT min(jail) FROM latest_ban"
                       " WHERE jail > j.name) FROM j WHERE j.name NOT NULL)"
                       " SELECT count(*), sum(l.bancount), max(l.time),"
                       " sum(l.bantime) FROM j CROSS JOIN latest_ban l"
                       " ON l.jail = j.name AND l.kind = ?2 AND l.key = ?3",
    [ST_MATCHES_JAIL] = "SELECT failures, matches FROM ban_history"
                        " WHERE kind = ?2 AND key = ?3 AND jail = ?1"
                        " ORDER BY time DESC",
    [ST_MATCHES_ALL] = "SELECT failures, matches FROM ban_history"
                       " WHERE kind = ?2 AND key = ?3 ORDER BY time DESC",
    [ST_COUNT_HIST] = "SELECT count(*) FROM ban_history",
    [ST_COUNT_LATEST] = "SELECT count(*) FROM latest_ban",
    [ST_LOG_SET] = "INSERT OR REPLACE INTO log_pos(jail, path, hash, pos)"
                   " VALUES(?1, ?2, ?3, ?4)",
    [ST_LOG_GET] = "SELECT hash, pos FROM log_pos"
                   " WHERE jail = ?1 AND path = ?2",
    [ST_JOURNAL_SET] = "INSERT OR REPLACE INTO journal_pos(jail, cursor)"
                       " VALUES(?1, ?2)",
    [ST_JOURNAL_GET] = "SELECT cursor FROM journal_pos WHERE jail = ?1",
    [ST_PURGE_HIST] = "DELETE FROM ban_history WHERE time < ?1 AND id NOT IN"
                      " (SELECT hist FROM latest_ban WHERE hist NOT NULL)",
    [ST_PURGE_LATEST] = "DELETE FROM latest_ban WHERE time < ?1"
                        " AND bantime != -1 AND time + bantime * 3 < ?1",
    [ST_PURGE_LOGS] = "DELETE FROM log_pos WHERE jail IN (" DEAD_JAILS ")",
    [ST_PURGE_JOURNAL] = "DELETE FROM journal_pos"
                         " WHERE jail IN (" DEAD_JAILS ")",
    [ST_PURGE_JAILS] = "DELETE FROM jails WHERE name IN (" DEAD_JAILS ")",
    [ST_IMP_JAIL] = "INSERT OR IGNORE INTO jails(name, enabled)"
                    " VALUES(?1, 0)",
    [ST_IMP_HIST] = "INSERT INTO ban_history(" BAN_COLS ")"
                    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9"
                    " WHERE NOT EXISTS(SELECT 1 FROM ban_history"
                    " WHERE kind = ?2 AND key = ?3 AND jail = ?1"
                    " AND time = ?4)",
    [ST_IMP_FIND] = "SELECT max(id) FROM ban_history"
                    " WHERE kind = ?2 AND key = ?3 AND jail = ?1"
                    " AND time = ?4",
    [ST_IMP_LATEST] = "INSERT INTO latest_ban(" LATEST_COLS ")"
                      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                      " ON CONFLICT(jail, kind, key) DO UPDATE SET"
                      " time = excluded.time, bantime = excluded.bantime,"
                      " bancount = excluded.bancount, hist = excluded.hist"
                      " WHERE excluded.time >= latest_ban.time",
    [ST_IMP_LOG] = "INSERT OR IGNORE INTO log_pos(jail, path, hash, pos)"
                   " VALUES(?1, ?2, ?3, ?4)",
};

enum op_kind {
	OP_JAIL_ADD,
	OP_JAIL_DISABLE,
	OP_BAN_ADD,
	OP_BAN_DEL,
	OP_LOG_SET,
	OP_JOURNAL_SET,
};

/* One queued write; every pointer is owned by the op. */
struct op {
	enum op_kind kind;
	char *jail; /* NULL: every jail (OP_JAIL_DISABLE) / none */
	int kkind;  /* DBK_*, 0 when the op has no key (all keys) */
	char *key;  /* key bytes (kept NUL-terminated for convenience) */
	size_t keylen;
	double time, bantime; /* epoch s, s */
	unsigned bancount, failures;
	char *matches; /* JSON array text or NULL */
	char *data;    /* JSON object text or NULL */
	char *path;    /* OP_LOG_SET */
	char *text;    /* hash (OP_LOG_SET), cursor (OP_JOURNAL_SET) */
	uint64_t pos;
	/*
	 * OP_BAN_ADD: one block holding jail, key bytes, data and the
	 * matches kept (those pointers point into it), so a ban costs one
	 * allocation in the loop; an address key's text (addr_key) and the
	 * matches' JSON (into matches) are made where the op runs: a commit
	 * job's thread.
	 */
	char *blk;
	bool addr_key;
	struct addr addr;
	const char *const *rawm;
	size_t nrawm;
};

enum tx_state {
	TX_NONE,   /* no transaction open, queue empty (lazy: not run yet) */
	TX_OPEN,   /* the queued ops are executed in an open transaction */
	TX_BROKEN, /* a failure: the queue waits for a replay at flush */
};

struct db {
	sqlite3 *h;
	char *path;
	bool memory;
	unsigned maxmatches;
	sqlite3_stmt *st[ST__N];
	struct op *q; /* queued writes, oldest first */
	size_t nq, capq;
	size_t dropped; /* writes dropped at DB_QUEUE_MAX since last report */
	enum tx_state tx;
	int wal_frames;     /* frames in the WAL after the last commit */
	bool autockpt;      /* commits checkpoint at DB_CKPT_FRAMES */
	int last_rc;        /* result of the last write statement */
	size_t poisoned;    /* writes dropped as impossible since last report */
	bool lazy;          /* writes wait for a read or a flush */
	struct db_job *job; /* the commit job out, or NULL */
	struct sbuf err;
};

enum job_state {
	JOB_QUEUED,  /* waits for a thread */
	JOB_RUNNING, /* a thread runs it */
	JOB_TAKEN,   /* the db's thread ran it itself (settle) */
	JOB_DONE,
};

/* A commit job: the writes of db's queue, run and committed elsewhere. */
struct db_job {
	struct db *db;
	struct op *q; /* the writes, oldest first */
	size_t nq;    /* shrinks when an impossible write is dropped */
	size_t nq0;   /* at db_flush_begin (read by the db's thread) */
	size_t poisoned;
	char *why; /* the error that broke the previous attempt, or NULL */
	int rc;    /* 0 committed, -1 rolled back */
	bool reaped;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum job_state state;
};

/* ---- small helpers ----------------------------------------------------- */

static void
set_err(struct db *db, const char *what)
{
	sbuf_reset(&db->err);
	sbuf_printf(&db->err, "%s: %s", what,
	    db->h ? sqlite3_errmsg(db->h) : "no database");
}

static int
key_encode(
    const struct fkey *k, int *kind, char *buf, const char **p, size_t *n)
{
	switch (k->kind) {
	case FKEY_ADDR:
		*kind = DBK_ADDR;
		addr_format(&k->addr, buf);
		*p = buf;
		*n = strlen(buf);
		return 0;
	case FKEY_RAW:
	case FKEY_USER:
		*kind = k->kind == FKEY_RAW ? DBK_RAW : DBK_USER;
		*p = k->s ? k->s : "";
		*n = k->len > FKEY_MAX_LEN ? FKEY_MAX_LEN : k->len;
		return 0;
	}
	return -1;
}

/* Fills k from stored bytes (borrowed by k). Returns 0 or -1. */
static int
key_decode(int kind, const char *p, size_t n, struct fkey *k)
{
	memset(k, 0, sizeof(*k));
	switch (kind) {
	case DBK_ADDR:
		k->kind = FKEY_ADDR;
		return addr_parse_net(p, n, &k->addr);
	case DBK_RAW:
	case DBK_USER:
		if (n > FKEY_MAX_LEN)
			return -1;
		k->kind = kind == DBK_RAW ? FKEY_RAW : FKEY_USER;
		k->s = p;
		k->len = n;
		return 0;
	}
	return -1;
}

/*
 * Length of the valid UTF-8 sequence at u[0..n) (u[0] >= 0x80), or 0 when
 * it is not one (bad lead byte, truncated, overlong, surrogate, too big).
 */
static size_t
utf8_seq(const unsigned char *u, size_t n)
{
	size_t len;
	unsigned cp, min;

	if ((u[0] & 0xE0) == 0xC0)
		len = 2, cp = u[0] & 0x1F, min = 0x80;
	else if ((u[0] & 0xF0) == 0xE0)
		len = 3, cp = u[0] & 0x0F, min = 0x800;
	else if ((u[0] & 0xF8) == 0xF0)
		len = 4, cp = u[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t j = 1; j < len; j++) {
		if ((u[j] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (u[j] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Whether the 8 bytes of w hold one that JSON escapes or that is not
 * ASCII (< 0x20, >= 0x80, '"', '\\'): whole words of a plain log line
 * are skipped at a time (byte by byte it was 8% of a commit job). */
static inline bool
word_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');

	return ((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
	            ((bs - ones) & ~bs)) &
	           high) != 0;
}

/*
 * Appends s (n bytes) as a JSON string literal, with invalid UTF-8
 * replaced by U+FFFD (log lines are not always UTF-8; JSON must be).
 */
static void
json_quote(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	sbuf_addch(b, '"');
	while (i < n) {
		size_t run = i;

		for (uint64_t w; run + 8 <= n; run += 8) {
			memcpy(&w, u + run, 8);
			if (word_special(w))
				break;
		}
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 &&
		    u[run] != '"' && u[run] != '\\')
			run++;
		if (run > i) {
			sbuf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		if (u[i] == '"' || u[i] == '\\') {
			sbuf_addch(b, '\\');
			sbuf_addch(b, (char)u[i++]);
		} else if (u[i] < 0x20) {
			sbuf_printf(b, "\\u%04x", u[i++]);
		} else {
			size_t len = utf8_seq(u + i, n - i);

			if (len) {
				sbuf_add(b, s + i, len);
				i += len;
			} else {
				sbuf_addstr(b, "\xEF\xBF\xBD");
				i++;
			}
		}
	}
	sbuf_addch(b, '"');
}

/* The JSON array text of the last max lines of v (NULL when none kept). */
static char *
matches_json(const char *const *v, size_t n, unsigned max)
{
	struct sbuf b = SBUF_INIT;

	size_t bytes = 3;

	if (max == 0 || n == 0)
		return NULL;
	for (size_t i = n > max ? n - max : 0; i < n; i++)
		bytes += (v[i] ? strlen(v[i]) : 0) + 3;
	xgrow(&b.s, &b.cap, bytes, 1); /* one allocation unless escapes */
	sbuf_addch(&b, '[');
	for (size_t i = n > max ? n - max : 0; i < n; i++) {
		const char *s = v[i] ? v[i] : "";

		if (b.len > 1)
			sbuf_addch(&b, ',');
		json_quote(&b, s, strlen(s));
	}
	sbuf_addch(&b, ']');
	return sbuf_detach(&b);
}

/* Joins a [prefix, date, rest] match (fail2ban's quirk) or copies a line. */
static void
match_text(json_t *m, struct strv *out)
{
	if (json_is_string(m)) {
		strv_take(
		    out, xmemdup(json_string_value(m), json_string_length(m)));
	} else if (json_is_array(m)) {
		struct sbuf b = SBUF_INIT;
		size_t i;
		json_t *e;

		json_array_foreach(m, i, e) if (json_is_string(e))
		    sbuf_add(&b, json_string_value(e), json_string_length(e));
		strv_take(out, b.s ? sbuf_detach(&b) : xstrdup(""));
	}
}

static void add_utf8(struct sbuf *b, unsigned long cp);

static int
hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], h;

		if (c >= '0' && c <= '9')
			h = c - '0';
		else if (c >= 'a' && c <= 'f')
			h = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			h = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * One JSON string for the fast parsers, *pp just after its opening
 * quote: no white space, escapes \" \\ \/ \b \f \n \r \t and \uXXXX
 * outside surrogates (not NUL), valid UTF-8. Sets *s and *n to its text:
 * inside the input when it has no escape, else in b (reset first). Moves
 * *pp past the closing quote. -1 when it is anything else.
 */
static int
fast_str(
    const char **pp, const char *e, struct sbuf *b, const char **s, size_t *n)
{
	const char *start = *pp, *p = *pp;
	bool copy = false;

	for (;;) {
		const char *q = p;
		int c;

		while (q < e && *q != '"' && *q != '\\' &&
		    (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x80)
			q++;
		if (copy)
			sbuf_add(b, p, (size_t)(q - p));
		p = q;
		if (p == e || (unsigned char)*p < 0x20)
			return -1;
		if ((unsigned char)*p >= 0x80) {
			size_t len =
			    utf8_seq((const unsigned char *)p, (size_t)(e - p));

			if (len == 0)
				return -1;
			if (copy)
				sbuf_add(b, p, len);
			p += len;
			continue;
		}
		if (*p == '"') {
			*pp = p + 1;
			if (copy) {
				*s = sbuf_str(b);
				*n = b->len;
			} else {
				*s = start;
				*n = (size_t)(p - start);
			}
			return 0;
		}
		/* a backslash: from here on the text is built in b */
		if (!copy) {
			sbuf_reset(b);
			sbuf_add(b, start, (size_t)(p - start));
			copy = true;
		}
		if (++p == e)
			return -1;
		switch (*p++) {
		case '"':
			sbuf_addch(b, '"');
			break;
		case '\\':
			sbuf_addch(b, '\\');
			break;
		case '/':
			sbuf_addch(b, '/');
			break;
		case 'b':
			sbuf_addch(b, '\b');
			break;
		case 'f':
			sbuf_addch(b, '\f');
			break;
		case 'n':
			sbuf_addch(b, '\n');
			break;
		case 'r':
			sbuf_addch(b, '\r');
			break;
		case 't':
			sbuf_addch(b, '\t');
			break;
		case 'u':
			c = e - p >= 4 ? hex4(p) : -1;
			if (c <= 0 || (c >= 0xD800 && c <= 0xDFFF))
				return -1; /* NUL, pairs: jansson's */
			add_utf8(b, (unsigned long)c);
			p += 4;
			break;
		default:
			return -1;
		}
	}
}

/*
 * The fast path of matches_parse (obj false: what matches_json writes, a
 * JSON array of fast_str strings) and of db_data_parse (obj true: what
 * fdata_json writes, an object of fast_str strings without white space or
 * a repeated name). A restart with 100k bans parses 300k matches:
 * jansson's tree of objects cost half of db_bans_restore. Anything else
 * returns -1 with out unchanged (jansson decides then).
 */
static int
json_parse_fast(const char *p, size_t n, bool obj, struct strv *out)
{
	const char *e = p + n;
	const char close = obj ? '}' : ']';
	size_t start = out->n;
	struct sbuf b = SBUF_INIT;

	if (n < 2 || *p++ != (obj ? '{' : '['))
		return -1;
	if (*p == close)
		return p + 1 == e ? 0 : -1;
	for (;;) {
		const char *t;
		size_t len;

		if (p == e || *p++ != '"' || fast_str(&p, e, &b, &t, &len) < 0)
			goto bad;
		for (size_t i = start; obj && i < out->n; i += 2)
			if (strlen(out->v[i]) == len &&
			    memcmp(out->v[i], t, len) == 0)
				goto bad; /* jansson: the last one counts */
		strv_take(out, xmemdup(t, len));
		if (obj &&
		    (p == e || *p++ != ':' || p == e || *p++ != '"' ||
		        fast_str(&p, e, &b, &t, &len) < 0))
			goto bad;
		if (obj)
			strv_take(out, xmemdup(t, len));
		if (p == e)
			goto bad;
		if (*p == close && p + 1 == e)
			break;
		if (*p++ != ',')
			goto bad;
	}
	sbuf_cleanup(&b);
	return 0;
bad:
	sbuf_cleanup(&b);
	while (out->n > start)
		free(out->v[--out->n]);
	if (out->n > 0 || out->v)
		out->v[out->n] = NULL;
	return -1;
}

int
db_data_parse(const char *json, struct strv *out)
{
	json_t *o;
	const char *k;
	json_t *v;

	if (json == NULL)
		return -1;
	if (json_parse_fast(json, strlen(json), true, out) == 0)
		return 0;
	o = json_loads(json, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	json_object_foreach(o, k, v)
	{
		if (json_is_string(v)) {
			strv_add(out, k);
			strv_add(out, json_string_value(v));
		}
	}
	json_decref(o);
	return 0;
}

/* Parses stored matches text into out (appends). Bad JSON adds nothing. */
static void
matches_parse(const char *text, int n, struct strv *out)
{
	json_t *a, *m;
	size_t i;

	if (!text || n <= 0 ||
	    json_parse_fast(text, (size_t)n, false, out) == 0)
		return;
	a = json_loadb(text, (size_t)n, JSON_DECODE_ANY, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		return;
	}
	json_array_foreach(a, i, m) match_text(m, out);
	json_decref(a);
}

void
db_matches_parse(const char *json, unsigned max, struct strv *out)
{
	struct strv all = STRV_INIT;
	size_t from;

	if (json == NULL)
		return;
	matches_parse(json, (int)strlen(json), &all);
	from = all.n > max ? all.n - max : 0;
	for (size_t i = from; i < all.n; i++) {
		strv_take(out, all.v[i]);
		all.v[i] = NULL;
	}
	strv_cleanup(&all);
}

static int
bind_str(sqlite3_stmt *s, int i, const char *p)
{
	if (!p)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, p, -1, SQLITE_STATIC);
}

static int
bind_key(sqlite3_stmt *s, const char *jail, int kind, const char *p, size_t n)
{
	bind_str(s, 1, jail);
	sqlite3_bind_int(s, 2, kind);
	return sqlite3_bind_blob64(s, 3, p, n, SQLITE_STATIC);
}

/* Binds a whole ban row (the BAN_COLS order). */
static void
bind_ban(sqlite3_stmt *s, const char *jail, int kind, const char *key,
    size_t keylen, double time, double bantime, unsigned bancount,
    unsigned failures, const char *matches, const char *data)
{
	bind_key(s, jail, kind, key, keylen);
	sqlite3_bind_double(s, 4, time);
	sqlite3_bind_double(s, 5, bantime);
	sqlite3_bind_int64(s, 6, bancount);
	sqlite3_bind_int64(s, 7, failures);
	bind_str(s, 8, matches);
	bind_str(s, 9, data);
}

/* Binds a latest_ban row (the LATEST_COLS order). */
static void
bind_latest(sqlite3_stmt *s, const char *jail, int kind, const char *key,
    size_t keylen, double time, double bantime, unsigned bancount,
    sqlite3_int64 hist)
{
	bind_key(s, jail, kind, key, keylen);
	sqlite3_bind_double(s, 4, time);
	sqlite3_bind_double(s, 5, bantime);
	sqlite3_bind_int64(s, 6, bancount);
	sqlite3_bind_int64(s, 7, hist);
}

/* Steps a write statement to completion and resets it. */
static int
run(struct db *db, enum stmt_id id)
{
	sqlite3_stmt *s = db->st[id];
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	db->last_rc = rc;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		set_err(db, stmt_sql[id]);
		return -1;
	}
	return 0;
}

static void
stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* ---- the write queue --------------------------------------------------- */

static void
op_free(struct op *op)
{
	free(op->matches);
	if (op->blk != NULL) {
		free(op->blk);
		return;
	}
	free(op->jail);
	free(op->key);
	free(op->data);
	free(op->path);
	free(op->text);
}

static int
op_exec(struct db *db, struct op *op)
{
	switch (op->kind) {
	case OP_JAIL_ADD:
		bind_str(db->st[ST_JAIL_ADD], 1, op->jail);
		return run(db, ST_JAIL_ADD);
	case OP_JAIL_DISABLE:
		if (!op->jail)
			return run(db, ST_JAIL_DISABLE_ALL);
		bind_str(db->st[ST_JAIL_DISABLE], 1, op->jail);
		return run(db, ST_JAIL_DISABLE);
	case OP_BAN_ADD: {
		char buf[ADDR_STRLEN];
		const char *key = op->key;
		size_t keylen = op->keylen;

		if (op->addr_key) {
			addr_format(&op->addr, buf);
			key = buf;
			keylen = strlen(buf);
		}
		if (op->matches == NULL && op->nrawm > 0)
			op->matches =
			    matches_json(op->rawm, op->nrawm, UINT_MAX);
		bind_ban(db->st[ST_HIST_ADD], op->jail, op->kkind, key, keylen,
		    op->time, op->bantime, op->bancount, op->failures,
		    op->matches, op->data);
		if (run(db, ST_HIST_ADD) < 0)
			return -1;
		bind_latest(db->st[ST_LATEST_SET], op->jail, op->kkind, key,
		    keylen, op->time, op->bantime, op->bancount,
		    sqlite3_last_insert_rowid(db->h));
		return run(db, ST_LATEST_SET);
	}
	case OP_BAN_DEL:
		if (op->kkind == 0) {
			bind_str(db->st[ST_LATEST_DEL_JAIL], 1, op->jail);
			bind_str(db->st[ST_HIST_DEL_JAIL], 1, op->jail);
			return run(db, ST_LATEST_DEL_JAIL) < 0 ||
			        run(db, ST_HIST_DEL_JAIL) < 0
			    ? -1
			    : 0;
		}
		bind_key(db->st[ST_LATEST_DEL_KEY], op->jail, op->kkind,
		    op->key, op->keylen);
		bind_key(db->st[ST_HIST_DEL_KEY], op->jail, op->kkind, op->key,
		    op->keylen);
		return run(db, ST_LATEST_DEL_KEY) < 0 ||
		        run(db, ST_HIST_DEL_KEY) < 0
		    ? -1
		    : 0;
	case OP_LOG_SET: {
		sqlite3_stmt *s = db->st[ST_LOG_SET];

		bind_str(s, 1, op->jail);
		bind_str(s, 2, op->path);
		bind_str(s, 3, op->text);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)op->pos);
		return run(db, ST_LOG_SET);
	}
	case OP_JOURNAL_SET:
		bind_str(db->st[ST_JOURNAL_SET], 1, op->jail);
		bind_str(db->st[ST_JOURNAL_SET], 2, op->text);
		return run(db, ST_JOURNAL_SET);
	}
	return -1;
}

/* Errors that a later retry may not meet again. */
static bool
is_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_INTERRUPT:
	case SQLITE_PROTOCOL:
		return true;
	}
	return false;
}

static void
rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h)) {
		sqlite3_step(db->st[ST_ROLLBACK]);
		sqlite3_reset(db->st[ST_ROLLBACK]);
	}
}

/* Rolls back whatever is open; the queue is kept for a replay. */
static void
tx_abort(struct db *db)
{
	rollback(db);
	db->tx = TX_BROKEN;
}

/*
 * BEGIN, then the n writes of v in order, then (with commit) COMMIT. A
 * write that can never succeed (a constraint, a value too big) must not
 * hold every later one hostage: when the transaction survived it, it is
 * dropped (freed, v compacted, *n and *poisoned updated). Returns 0, or
 * -1 after a rollback (db->err says why). Touches only the connection,
 * db->err and db->last_rc: a commit job runs it in another thread.
 */
static int
batch_run(struct db *db, struct op *v, size_t *n, size_t *poisoned, bool commit)
{
	if (run(db, ST_BEGIN) < 0)
		return -1;
	for (size_t i = 0; i < *n;) {
		if (op_exec(db, &v[i]) == 0) {
			i++;
			continue;
		}
		if (is_transient(db->last_rc) || sqlite3_get_autocommit(db->h))
			goto fail;
		op_free(&v[i]);
		memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
		(*n)--;
		(*poisoned)++;
	}
	if (commit && run(db, ST_COMMIT) < 0)
		goto fail;
	return 0;
fail:
	rollback(db);
	return -1;
}

static void settle(struct db *db);

/*
 * Before a read: the job out settled, and in lazy mode the queued writes
 * run in an open transaction, so that the read sees them.
 */
static void
read_prepare(struct db *db)
{
	settle(db);
	if (db->tx != TX_NONE || db->nq == 0)
		return;
	if (batch_run(db, db->q, &db->nq, &db->poisoned, false) == 0)
		db->tx = TX_OPEN;
	else
		db->tx = TX_BROKEN;
}

/* Appends op (taking its contents) and executes it unless broken. */
static void
enqueue(struct db *db, struct op *op)
{
	struct op *q;

	if (db->nq + (db->job ? db->job->nq0 : 0) >= DB_QUEUE_MAX) {
		db->dropped++;
		op_free(op);
		return;
	}
	xgrow(&db->q, &db->capq, db->nq + 1, sizeof(*db->q));
	q = &db->q[db->nq++];
	*q = *op;
	/* a job out owns the connection, and is never out while a
	 * transaction is open here (read_prepare settles it first) */
	if (db->tx == TX_BROKEN || db->job != NULL)
		return;
	if (db->tx == TX_NONE) {
		if (db->lazy)
			return;
		if (run(db, ST_BEGIN) < 0) {
			tx_abort(db);
			return;
		}
		db->tx = TX_OPEN;
	}
	if (op_exec(db, q) < 0)
		tx_abort(db);
}

static void
queue_clear(struct db *db)
{
	for (size_t i = 0; i < db->nq; i++)
		op_free(&db->q[i]);
	db->nq = 0;
	if (db->capq > 4096) {
		free(db->q);
		db->q = NULL;
		db->capq = 0;
	}
}

/* Reports writes dropped since the last report: -1 (db->err says). */
static int
report_drops(struct db *db)
{
	if (db->poisoned) {
		sbuf_printf(&db->err, "; %zu writes dropped as impossible",
		    db->poisoned);
		db->poisoned = 0;
		return -1;
	}
	if (db->dropped) {
		sbuf_reset(&db->err);
		sbuf_printf(&db->err,
		    "write queue full: %zu writes dropped (max %d)",
		    db->dropped, DB_QUEUE_MAX);
		db->dropped = 0;
		return -1;
	}
	return 0;
}

int
db_flush(struct db *db)
{
	if (!db)
		return 0;
	settle(db);
	if (db->tx == TX_OPEN) {
		if (run(db, ST_COMMIT) == 0) {
			db->tx = TX_NONE;
			queue_clear(db);
			return report_drops(db);
		}
		tx_abort(db);
	}
	if (db->nq > 0) { /* a replay (TX_BROKEN), or lazy writes */
		char *why =
		    xstrdup(db->tx == TX_BROKEN ? sbuf_str(&db->err) : "");

		if (batch_run(db, db->q, &db->nq, &db->poisoned, true) < 0) {
			db->tx = TX_BROKEN;
			if (*why)
				sbuf_printf(&db->err, " (first: %s)", why);
			free(why);
			sbuf_printf(
			    &db->err, "; %zu writes kept for retry", db->nq);
			return -1;
		}
		free(why);
		queue_clear(db);
	}
	db->tx = TX_NONE;
	return report_drops(db);
}

/* ---- commit jobs (lazy mode) ------------------------------------------- */

void
db_set_lazy(struct db *db, bool on)
{
	if (!db || db->lazy == on)
		return;
	if (!on)
		db_flush(db); /* the queue runs at once again */
	db->lazy = on;
}

struct db_job *
db_flush_begin(struct db *db)
{
	struct db_job *job;

	if (!db || !db->lazy || db->job || db->nq == 0 || db->tx == TX_OPEN ||
	    !sqlite3_threadsafe())
		return NULL;
	job = xcalloc(1, sizeof(*job));
	job->db = db;
	job->q = db->q;
	job->nq = job->nq0 = db->nq;
	job->why = db->tx == TX_BROKEN && db->err.len > 0
	    ? xstrdup(sbuf_str(&db->err))
	    : NULL;
	pthread_mutex_init(&job->mu, NULL);
	pthread_cond_init(&job->cv, NULL);
	job->state = JOB_QUEUED;
	db->q = NULL;
	db->nq = db->capq = 0;
	db->job = job;
	return job;
}

static void
job_exec(struct db_job *job)
{
	job->rc = batch_run(job->db, job->q, &job->nq, &job->poisoned, true);
	if (job->rc != 0)
		return;
	/* committed: freed here, off the loop */
	for (size_t i = 0; i < job->nq; i++)
		op_free(&job->q[i]);
	job->nq = 0;
}

void
db_job_run(struct db_job *job)
{
	pthread_mutex_lock(&job->mu);
	if (job->state != JOB_QUEUED) { /* settled meanwhile */
		pthread_mutex_unlock(&job->mu);
		return;
	}
	job->state = JOB_RUNNING;
	pthread_mutex_unlock(&job->mu);
	job_exec(job);
	pthread_mutex_lock(&job->mu);
	job->state = JOB_DONE;
	pthread_cond_broadcast(&job->cv);
	pthread_mutex_unlock(&job->mu);
}

/* Back in the db's thread: the job's writes freed, or queued again in
 * front of the newer ones for a replay. */
static void
job_reap(struct db *db, struct db_job *job)
{
	db->job = NULL;
	job->reaped = true;
	db->poisoned += job->poisoned;
	if (job->rc == 0) {
		for (size_t i = 0; i < job->nq; i++)
			op_free(&job->q[i]);
		free(job->q);
		job->q = NULL;
		job->nq = 0;
		db->tx = TX_NONE;
		return;
	}
	if (job->why)
		sbuf_printf(&db->err, " (first: %s)", job->why);
	sbuf_printf(&db->err, "; %zu writes kept for retry", job->nq + db->nq);
	xgrow(&job->q, &job->nq0, job->nq + db->nq, sizeof(*job->q));
	if (db->nq > 0)
		memcpy(job->q + job->nq, db->q, db->nq * sizeof(*db->q));
	free(db->q);
	db->q = job->q;
	db->capq = job->nq0;
	db->nq += job->nq;
	job->q = NULL;
	job->nq = 0;
	db->tx = TX_BROKEN;
}

/* Waits for the job out (or runs it here if no thread has), reaps it. */
static void
settle(struct db *db)
{
	struct db_job *job = db->job;

	if (job == NULL)
		return;
	pthread_mutex_lock(&job->mu);
	if (job->state == JOB_QUEUED) {
		job->state = JOB_TAKEN;
		pthread_mutex_unlock(&job->mu);
		job_exec(job);
		pthread_mutex_lock(&job->mu);
		job->state = JOB_DONE;
	}
	while (job->state != JOB_DONE)
		pthread_cond_wait(&job->cv, &job->mu);
	pthread_mutex_unlock(&job->mu);
	job_reap(db, job);
}

int
db_job_end(struct db *db, struct db_job *job)
{
	int rc;

	if (job == NULL)
		return 0;
	if (!job->reaped && db != NULL && db->job == job)
		settle(db);
	rc = job->rc;
	if (rc == 0 && db != NULL && report_drops(db) < 0)
		rc = 1;
	pthread_mutex_destroy(&job->mu);
	pthread_cond_destroy(&job->cv);
	free(job->why);
	free(job->q);
	free(job);
	return rc;
}

size_t
db_pending(const struct db *db)
{
	return db ? db->nq + (db->job ? db->job->nq0 : 0) : 0;
}

const char *
db_last_error(const struct db *db)
{
	return db ? sbuf_str(&db->err) : "";
}

void
db_set_maxmatches(struct db *db, unsigned maxmatches)
{
	if (db)
		db->maxmatches = maxmatches;
}

unsigned
db_maxmatches(const struct db *db)
{
	return db ? db->maxmatches : 0;
}

/* ---- checkpoints ------------------------------------------------------- */

/*
 * Our replacement for SQLite's automatic checkpoint (which a wal hook
 * replaces): the same PASSIVE checkpoint at the same size while
 * autockpt is on; when it is off (the daemon checkpoints through
 * db_ckpt_run), only past DB_CKPT_HARD, then TRUNCATE (waits for a
 * background checkpoint under way), so the WAL stays bounded.
 */
static int
wal_hook(void *arg, sqlite3 *h, const char *name, int nframes)
{
	struct db *db = arg;

	db->wal_frames = nframes;
	if (db->autockpt && nframes >= DB_CKPT_FRAMES)
		sqlite3_wal_checkpoint_v2(
		    h, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	else if (!db->autockpt && nframes >= DB_CKPT_HARD &&
	    sqlite3_wal_checkpoint_v2(
	        h, name, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK)
		db->wal_frames = 0;
	return SQLITE_OK;
}

void
db_set_autocheckpoint(struct db *db, bool on)
{
	if (db)
		db->autockpt = on;
}

bool
db_ckpt_due(const struct db *db)
{
	return db && !db->memory && !db->autockpt &&
	    db->wal_frames >= DB_CKPT_FRAMES;
}

struct db_ckpt {
	sqlite3 *h;
	char *path;
	int wal_frames, done; /* of the last run */
	struct sbuf err;
};

struct db_ckpt *
db_ckpt_new(struct db *db)
{
	struct db_ckpt *c;
	sqlite3_stmt *s = NULL;
	bool wal = false;

	if (!db || db->memory || !sqlite3_threadsafe())
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(db->path);
	sbuf_init(&c->err);
	/* Used by one thread at a time (db_ckpt_run's caller). Reading the
	 * journal mode opens the WAL on this connection and tells it is
	 * one (a checkpoint of a rollback journal file does nothing). */
	if (sqlite3_open_v2(c->path, &c->h,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	        NULL) == SQLITE_OK &&
	    sqlite3_exec(c->h, "PRAGMA synchronous = NORMAL", NULL, NULL,
	        NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(c->h, "PRAGMA journal_mode", -1, &s, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(s, 0);

		wal = m && strcmp(m, "wal") == 0;
	}
	sqlite3_finalize(s);
	if (!wal) {
		db_ckpt_free(c);
		return NULL;
	}
	return c;
}

int
db_ckpt_run(struct db_ckpt *c)
{
	int rc;

	if (!c)
		return 0;
	c->wal_frames = c->done = 0;
	rc = sqlite3_wal_checkpoint_v2(
	    c->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &c->wal_frames, &c->done);
	/* BUSY: another checkpoint is under way (db_purge's) */
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		sbuf_reset(&c->err);
		sbuf_printf(&c->err, "checkpoint: %s", sqlite3_errmsg(c->h));
		return -1;
	}
	return 0;
}

void
db_ckpt_result(const struct db_ckpt *c, int *wal_frames, int *done)
{
	*wal_frames = c ? c->wal_frames : 0;
	*done = c ? c->done : 0;
}

const char *
db_ckpt_error(const struct db_ckpt *c)
{
	return c ? sbuf_str(&c->err) : "";
}

void
db_ckpt_free(struct db_ckpt *c)
{
	if (!c)
		return;
	sqlite3_close(c->h);
	free(c->path);
	sbuf_cleanup(&c->err);
	free(c);
}

/* ---- jails --------------------------------------------------------------
 */

void
db_jail_add(struct db *db, const char *jail)
{
	struct op op = {.kind = OP_JAIL_ADD};

	if (!db || !jail)
		return;
	op.jail = xstrdup(jail);
	enqueue(db, &op);
}

void
db_jail_disable(struct db *db, const char *jail)
{
	struct op op = {.kind = OP_JAIL_DISABLE};

	if (!db)
		return;
	op.jail = jail ? xstrdup(jail) : NULL;
	enqueue(db, &op);
}

long
db_jails(struct db *db, int enabled, struct strv *out)
{
	sqlite3_stmt *s;
	long n = 0;
	int rc;

	if (!db)
		return 0;
	read_prepare(db);
	s = db->st[ST_JAILS];
	sqlite3_bind_int(s, 1, enabled < 0 ? -1 : !!enabled);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		strv_add(out, (const char *)sqlite3_column_text(s, 0));
		n++;
	}
	if (rc != SQLITE_DONE) {
		set_err(db, "listing jails");
		n = -1;
	}
	stmt_done(s);
	return n;
}

/* ---- bans -------------------------------------------------------------- */

/* Copies key into op. Returns 0, -1 for a key of unknown kind. */
static int
op_set_key(struct op *op, const struct fkey *key)
{
	char buf[ADDR_STRLEN];
	const char *p;
	size_t n;

	if (key_encode(key, &op->kkind, buf, &p, &n) < 0)
		return -1;
	op->key = xmemdup(p, n);
	op->keylen = n;
	return 0;
}

/* Whether data is a JSON object. */
static bool
data_is_object(const char *data)
{
	json_t *o = json_loads(data, 0, NULL);
	bool ok = json_is_object(o);

	json_decref(o);
	return ok;
}

/* db_ban_add: the matches whose lengths are kept between its two
 * passes */
#define DB_BAN_LENS 16

void
db_ban_add(struct db *db, const char *jail, const struct db_ban *b)
{
	struct op op = {.kind = OP_BAN_ADD};
	size_t keep, first, jl, kl = 0, dl = 0, bytes, ml[DB_BAN_LENS];
	const char *data = b ? b->data : NULL;
	char *p;

	if (!db || !jail || !b)
		return;
	switch (b->key.kind) {
	case FKEY_ADDR:
		op.kkind = DBK_ADDR;
		op.addr_key = true;
		op.addr = b->key.addr;
		break;
	case FKEY_RAW:
	case FKEY_USER:
		op.kkind = b->key.kind == FKEY_RAW ? DBK_RAW : DBK_USER;
		kl = b->key.s == NULL           ? 0
		    : b->key.len > FKEY_MAX_LEN ? FKEY_MAX_LEN
		                                : b->key.len;
		break;
	default:
		return;
	}
	if (data && !b->data_object && !data_is_object(data))
		data = NULL;
	keep = b->nmatches < db->maxmatches ? b->nmatches : db->maxmatches;
	first = b->nmatches - keep;
	jl = strlen(jail);
	dl = data ? strlen(data) : 0;
	bytes = keep * sizeof(char *) + jl + 1 + kl + 1 + dl + 1;
	for (size_t i = first; i < b->nmatches; i++) {
		size_t n = b->matches[i] ? strlen(b->matches[i]) : 0;

		if (i - first < DB_BAN_LENS)
			ml[i - first] = n; /* not measured twice */
		bytes += n + 1;
	}
	op.blk = xmalloc(bytes);
	p = op.blk + keep * sizeof(char *);
	for (size_t i = first; i < b->nmatches; i++) {
		const char *m = b->matches[i] ? b->matches[i] : "";
		size_t n = i - first < DB_BAN_LENS ? ml[i - first] : strlen(m);

		memcpy(p, m, n + 1);
		((const char **)(void *)op.blk)[i - first] = p;
		p += n + 1;
	}
	op.rawm = (const char *const *)(void *)op.blk;
	op.nrawm = keep;
	op.jail = memcpy(p, jail, jl + 1);
	p += jl + 1;
	if (!op.addr_key) {
		if (kl > 0)
			memcpy(p, b->key.s, kl);
		p[kl] = '\0';
		op.key = p;
		op.keylen = kl;
		p += kl + 1;
	}
	if (data) {
		op.data = memcpy(p, data, dl + 1);
		p += dl + 1;
	}
	op.time = b->time;
	op.bantime = b->bantime;
	op.bancount = b->bancount;
	op.failures = b->failures;
	enqueue(db, &op);
}

void
db_ban_del(struct db *db, const char *jail, const struct fkey *key)
{
	struct op op = {.kind = OP_BAN_DEL};

	if (!db || !jail)
		return;
	if (key && op_set_key(&op, key) < 0)
		return;
	op.jail = xstrdup(jail);
	enqueue(db, &op);
}

/* A restored row, owned, while the statement is still being read. */
struct row {
	int kind;
	char *key;
	size_t keylen;
	double time, bantime;
	unsigned bancount, failures;
	struct strv matches;
	char *matches_raw; /* with raw_matches */
	char *data;
};

static unsigned
col_uint(sqlite3_stmt *s, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(s, i);

	return v < 0 ? 0 : v > 0x7fffffff ? 0x7fffffff : (unsigned)v;
}

long
db_bans_restore(struct db *db, const char *jail, const struct db_restore *r,
    db_ban_cb cb, void *arg)
{
	sqlite3_stmt *s;
	struct row *rows = NULL;
	size_t nrows = 0, cap = 0;
	double correct = -1;
	long n = 0;
	int rc;

	if (!db || !jail || !r)
		return 0;
	read_prepare(db);
	s = db->st[r->key_order ? ST_RESTORE_KEYS : ST_RESTORE];
	bind_str(s, 1, jail);
	sqlite3_bind_double(s, 2, r->now);
	/* Without increment a ban must also have begun within the jail's
	 * bantime (fail2ban's forbantime); permanent jails take them all. */
	if (!r->increment && r->bantime != -1)
		sqlite3_bind_double(s, 3, r->now - r->bantime);
	/* The bantime a restored ban may keep at most (getMaxBanTime). */
	if (r->increment)
		correct = r->maxtime > 0 ? r->maxtime : -1;
	else
		correct = r->bantime;
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		struct row w = {0};

		w.kind = sqlite3_column_int(s, 0);
		w.keylen = (size_t)sqlite3_column_bytes(s, 1);
		w.key = xmemdup(sqlite3_column_blob(s, 1), w.keylen);
		w.time = sqlite3_column_double(s, 2);
		w.bantime = sqlite3_column_double(s, 3);
		w.bancount = col_uint(s, 4);
		w.failures = col_uint(s, 5);
		strv_init(&w.matches);
		if (!r->raw_matches)
			matches_parse((const char *)sqlite3_column_text(s, 6),
			    sqlite3_column_bytes(s, 6), &w.matches);
		else if (sqlite3_column_type(s, 6) != SQLITE_NULL)
			w.matches_raw =
			    xstrdup((const char *)sqlite3_column_text(s, 6));
		if (sqlite3_column_type(s, 7) != SQLITE_NULL)
			w.data =
			    xstrdup((const char *)sqlite3_column_text(s, 7));
		if (w.bantime == -2)
			w.bantime = r->bantime;
		else if (correct >= 0 &&
		    (w.bantime == -1 || w.bantime > correct))
			w.bantime = correct;
		if (w.bantime != -1 && w.time + w.bantime <= r->now) {
			free(w.key);
			strv_cleanup(&w.matches);
			free(w.matches_raw);
			free(w.data);
			continue;
		}
		xgrow(&rows, &cap, nrows + 1, sizeof(*rows));
		rows[nrows++] = w;
	}
	if (rc != SQLITE_DONE) {
		set_err(db, "reading bans to restore");
		n = -1;
	}
	stmt_done(s);
	for (size_t i = 0; i < nrows; i++) {
		struct row *w = &rows[i];
		struct db_ban b = {0};
		size_t keep = w->matches.n;

		if (n < 0 || key_decode(w->kind, w->key, w->keylen, &b.key))
			continue;
		if (keep > r->maxmatches)
			keep = r->maxmatches;
		b.time = w->time;
		b.bantime = w->bantime;
		b.bancount = w->bancount;
		b.failures = w->failures;
		b.matches =
		    (const char *const *)w->matches.v + (w->matches.n - keep);
		b.nmatches = keep;
		if (r->raw_matches)
			b.matches_raw = &w->matches_raw;
		b.data = w->data;
		n++;
		if (cb && cb(arg, &b))
			break;
	}
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].key);
		strv_cleanup(&rows[i].matches);
		free(rows[i].matches_raw);
		free(rows[i].data);
	}
	free(rows);
	return n;
}

int
db_ban_history(struct db *db, const char *jail, const struct fkey *key,
    struct db_history *out)
{
	char buf[ADDR_STRLEN];
	const char *p;
	size_t n;
	int kind, rc, found = 0;
	sqlite3_stmt *s;

	memset(out, 0, sizeof(*out));
	if (!db || !key || key_encode(key, &kind, buf, &p, &n) < 0)
		return 0;
	read_prepare(db);
	s = db->st[jail ? ST_HISTORY_JAIL : ST_HISTORY_ALL];
	bind_key(s, jail, kind, p, n);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && jail) {
		out->bancount = col_uint(s, 0);
		out->time = sqlite3_column_double(s, 1);
		out->bantime = sqlite3_column_double(s, 2);
		found = 1;
	} else if (rc == SQLITE_ROW && sqlite3_column_int64(s, 0) > 0) {
		out->bancount = col_uint(s, 1);
		out->time = sqlite3_column_double(s, 2);
		out->bantime = sqlite3_column_double(s, 3);
		found = 1;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		set_err(db, "reading ban history");
		found = -1;
	}
	stmt_done(s);
	return found;
}

long
db_ban_matches(struct db *db, const char *jail, const struct fkey *key,
    struct strv *matches, unsigned long *failures)
{
	char buf[ADDR_STRLEN];
	const char *p;
	size_t n, have = 0;
	int kind, rc;
	sqlite3_stmt *s;
	struct strv *chunks = NULL; /* newest ban first */
	size_t nchunks = 0, cap = 0;
	long bans = 0;

	if (failures)
		*failures = 0;
	if (!db || !key || key_encode(key, &kind, buf, &p, &n) < 0)
		return 0;
	read_prepare(db);
	s = db->st[jail ? ST_MATCHES_JAIL : ST_MATCHES_ALL];
	bind_key(s, jail, kind, p, n);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		bans++;
		if (failures)
			*failures += col_uint(s, 0);
		if (have >= db->maxmatches)
			continue;
		struct strv m = STRV_INIT, keep = STRV_INIT;
		size_t room = db->maxmatches - have;

		matches_parse((const char *)sqlite3_column_text(s, 1),
		    sqlite3_column_bytes(s, 1), &m);
		for (size_t i = m.n > room ? m.n - room : 0; i < m.n; i++)
			strv_add(&keep, m.v[i]);
		have += keep.n;
		strv_cleanup(&m);
		xgrow(&chunks, &cap, nchunks + 1, sizeof(*chunks));
		chunks[nchunks++] = keep;
	}
	if (rc != SQLITE_DONE) {
		set_err(db, "reading ban matches");
		bans = -1;
	}
	stmt_done(s);
	for (size_t i = nchunks; i-- > 0;) {
		if (bans >= 0 && matches)
			strv_extend(matches, &chunks[i]);
		strv_cleanup(&chunks[i]);
	}
	free(chunks);
	return bans;
}

static long
count(struct db *db, enum stmt_id id)
{
	sqlite3_stmt *s;
	long n = -1;

	if (!db)
		return 0;
	read_prepare(db);
	s = db->st[id];
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	else
		set_err(db, "counting");
	stmt_done(s);
	return n;
}

long
db_count_history(struct db *db)
{
	return count(db, ST_COUNT_HIST);
}

long
db_count_latest(struct db *db)
{
	return count(db, ST_COUNT_LATEST);
}

/* ---- positions ----------------------------------------------------------
 */

int
db_log_get(struct db *db, const char *jail, const char *path, char **hash,
    uint64_t *pos)
{
	sqlite3_stmt *s;
	int rc, found = 0;

	*hash = NULL;
	*pos = 0;
	if (!db || !jail || !path)
		return 0;
	read_prepare(db);
	s = db->st[ST_LOG_GET];
	bind_str(s, 1, jail);
	bind_str(s, 2, path);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(s, 1);

		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			*hash =
			    xstrdup((const char *)sqlite3_column_text(s, 0));
		*pos = v < 0 ? 0 : (uint64_t)v;
		found = 1;
	} else if (rc != SQLITE_DONE) {
		set_err(db, "reading a log position");
		found = -1;
	}
	stmt_done(s);
	return found;
}

void
db_log_set(struct db *db, const char *jail, const char *path, const char *hash,
    uint64_t pos)
{
	struct op op = {.kind = OP_LOG_SET};

	if (!db || !jail || !path)
		return;
	op.jail = xstrdup(jail);
	op.path = xstrdup(path);
	op.text = hash ? xstrdup(hash) : NULL;
	op.pos = pos > INT64_MAX ? INT64_MAX : pos;
	enqueue(db, &op);
}

int
db_journal_get(struct db *db, const char *jail, char **cursor)
{
	sqlite3_stmt *s;
	int rc, found = 0;

	*cursor = NULL;
	if (!db || !jail)
		return 0;
	read_prepare(db);
	s = db->st[ST_JOURNAL_GET];
	bind_str(s, 1, jail);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*cursor = xstrdup((const char *)sqlite3_column_text(s, 0));
		found = 1;
	} else if (rc != SQLITE_DONE) {
		set_err(db, "reading a journal cursor");
		found = -1;
	}
	stmt_done(s);
	return found;
}

void
db_journal_set(struct db *db, const char *jail, const char *cursor)
{
	struct op op = {.kind = OP_JOURNAL_SET};

	if (!db || !jail || !cursor)
		return;
	op.jail = xstrdup(jail);
	op.text = xstrdup(cursor);
	enqueue(db, &op);
}

/* ---- purge ------------------------------------------------------------- */

static int query_int(sqlite3 *h, const char *sql, sqlite3_int64 *v);

long
db_purge(struct db *db, double now, double purgeage)
{
	/* latest first: history rows it no longer references may go */
	static const enum stmt_id steps[] = {ST_PURGE_LATEST, ST_PURGE_HIST,
	    ST_PURGE_LOGS, ST_PURGE_JOURNAL, ST_PURGE_JAILS};
	long n = 0;

	if (!db)
		return 0;
	if (db_flush(db) < 0)
		return -1;
	if (run(db, ST_BEGIN) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i] == ST_PURGE_LATEST || steps[i] == ST_PURGE_HIST)
			sqlite3_bind_double(
			    db->st[steps[i]], 1, now - purgeage);
		if (run(db, steps[i]) < 0) {
			tx_abort(db);
			db->tx = TX_NONE; /* the queue was empty */
			return -1;
		}
		n += sqlite3_changes(db->h);
	}
	if (run(db, ST_COMMIT) < 0) {
		tx_abort(db);
		db->tx = TX_NONE;
		return -1;
	}
	/* Give the freed pages back to the file system: the file is sized by
	 * what is kept, not by the busiest day. Failures here cost space
	 * only. */
	if (n > 0 && !db->memory) {
		sqlite3_int64 nfree = 0, npages = 0;

		/* Only when a quarter of the file is free: moving pages
		 * costs, and SQLite reuses free pages anyway. */
		query_int(db->h, "PRAGMA freelist_count", &nfree);
		query_int(db->h, "PRAGMA page_count", &npages);
		if (nfree > 64 && nfree * 4 > npages)
			sqlite3_exec(db->h, "PRAGMA incremental_vacuum", NULL,
			    NULL, NULL);
		sqlite3_exec(
		    db->h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	}
	return n;
}

/* ---- open and close ---------------------------------------------------- */

static void
handle_free(struct db *db)
{
	for (int i = 0; i < ST__N; i++)
		sqlite3_finalize(db->st[i]);
	memset(db->st, 0, sizeof(db->st));
	sqlite3_close(db->h);
	db->h = NULL;
}

void
db_close(struct db *db)
{
	if (!db)
		return;
	db_flush(db);
	queue_clear(db);
	free(db->q);
	handle_free(db);
	free(db->path);
	sbuf_cleanup(&db->err);
	free(db);
}

/* Result of one attempt to open the file. */
enum open_res {
	OPEN_OK,
	OPEN_CORRUPT,  /* move it aside and try again */
	OPEN_REFUSE,   /* diag added; leave the file alone */
	OPEN_FAIL2BAN, /* fail2ban's database and opts->migrate_fail2ban */
};

static bool
is_corrupt_rc(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* Reads one integer from sql; returns the sqlite result code. */
static int
query_int(sqlite3 *h, const char *sql, sqlite3_int64 *v)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(h, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*v = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return rc;
}

/* PRAGMA quick_check: SQLITE_OK when "ok", else the code (or CORRUPT). */
static int
quick_check(sqlite3 *h, char **msg)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(h, "PRAGMA quick_check(1)", -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const char *r = (const char *)sqlite3_column_text(s, 0);

			if (r && strcmp(r, "ok") == 0) {
				rc = SQLITE_OK;
			} else {
				*msg = xstrdup(r ? r : "?");
				rc = SQLITE_CORRUPT;
			}
		}
	}
	if (rc != SQLITE_OK && !*msg)
		*msg = xstrdup(sqlite3_errmsg(h));
	sqlite3_finalize(s);
	return rc;
}

static enum open_res
try_open(struct db *db, const struct db_options *o, struct diags *d, char **why)
{
	sqlite3_int64 version = 0, tables = 0, f2b = 0;
	int rc;

	rc = sqlite3_open_v2(db->path, &db->h,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		struct stat sb;

		*why = xstrdup(db->h ? sqlite3_errmsg(db->h) : "out of memory");
		if (!db->memory && stat(db->path, &sb) == 0 &&
		    !S_ISDIR(sb.st_mode))
			return OPEN_CORRUPT;
		diag_add(d, DIAG_ERROR, db->path, 0, "cannot open database: %s",
		    *why);
		return OPEN_REFUSE;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(
	    db->h, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : 2000);

	rc = query_int(db->h, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = query_int(db->h,
		    "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
		    &tables);
	if (rc == SQLITE_OK)
		rc = query_int(db->h,
		    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		    " AND name = 'fail2banDb'",
		    &f2b);
	if (rc == SQLITE_OK && !db->memory && tables > 0)
		rc = quick_check(db->h, why);
	if (is_corrupt_rc(rc)) {
		if (!*why)
			*why = xstrdup(sqlite3_errmsg(db->h));
		return OPEN_CORRUPT;
	}
	if (rc != SQLITE_OK) {
		diag_add(d, DIAG_ERROR, db->path, 0, "cannot read database: %s",
		    *why ? *why : sqlite3_errmsg(db->h));
		return OPEN_REFUSE;
	}
	if (version == 0 && f2b && o->migrate_fail2ban)
		return OPEN_FAIL2BAN;
	if (version == 0 && f2b) {
		diag_add(d, DIAG_ERROR, db->path, 0,
		    "this is a fail2ban database, not a wardend one: give "
		    "wardend its own dbfile and import this one with `warden "
		    "import-fail2ban %s`",
		    db->path);
		return OPEN_REFUSE;
	}
	if (version == 0 && tables > 0) {
		diag_add(d, DIAG_ERROR, db->path, 0,
		    "not a wardend database (it has tables but no wardend "
		    "schema version); refusing to change it");
		return OPEN_REFUSE;
	}
	if (version > DB_SCHEMA_VERSION) {
		diag_add(d, DIAG_ERROR, db->path, 0,
		    "database schema version %lld is newer than this "
		    "wardend supports (%d); refusing to open it (use the "
		    "newer wardend, or another dbfile)",
		    (long long)version, DB_SCHEMA_VERSION);
		return OPEN_REFUSE;
	}
	if (version < 0) {
		diag_add(d, DIAG_ERROR, db->path, 0, "bad schema version %lld",
		    (long long)version);
		return OPEN_REFUSE;
	}
	/* auto_vacuum only takes effect before the first table exists. A
	 * new file holds log lines and user names: owner only (its -wal
	 * and -shm files inherit the mode). */
	if (version == 0) {
		sqlite3_exec(db->h, "PRAGMA auto_vacuum = INCREMENTAL", NULL,
		    NULL, NULL);
		if (!db->memory)
			chmod(db->path, 0600);
	}
	if (!db->memory) {
		/* WAL + NORMAL: commits survive process death; a power loss
		 * may drop the last ones, never corrupt the file. */
		sqlite3_exec(
		    db->h, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		sqlite3_exec(db->h, "PRAGMA journal_size_limit = 4194304", NULL,
		    NULL, NULL);
		sqlite3_wal_hook(db->h, wal_hook, db);
	}
	/* 2 MiB of page cache: a larger tick spills dirty pages to the WAL
	 * mid-transaction (still one commit); 8 MiB cost 6 MiB of peak RSS
	 * in a 1M-line replay for no measurable speed (bench/daemon.sh). */
	sqlite3_exec(db->h,
	    "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;"
	    " PRAGMA cache_size = -2048",
	    NULL, NULL, NULL);

	for (sqlite3_int64 v = version; v < DB_SCHEMA_VERSION; v++) {
		char *sql = xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version "
		                      "= %lld; COMMIT",
		    migrations[v], (long long)v + 1);
		char *msg = NULL;

		rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
		free(sql);
		if (rc != SQLITE_OK) {
			diag_add(d, DIAG_ERROR, db->path, 0,
			    "cannot upgrade database schema from version %lld "
			    "to %lld: %s",
			    (long long)v, (long long)v + 1,
			    msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
			if (is_corrupt_rc(rc))
				return OPEN_CORRUPT;
			return OPEN_REFUSE;
		}
		if (version > 0) /* not for a new file */
			diag_add(d, DIAG_NOTE, db->path, 0,
			    "database schema upgraded from version %lld to "
			    "%lld",
			    (long long)v, (long long)v + 1);
	}
	for (int i = 0; i < ST__N; i++) {
		rc = sqlite3_prepare_v3(db->h, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->st[i], NULL);
		if (rc != SQLITE_OK) {
			if (is_corrupt_rc(rc))
				return OPEN_CORRUPT;
			diag_add(d, DIAG_ERROR, db->path, 0,
			    "cannot prepare statement: %s (%s)",
			    sqlite3_errmsg(db->h), stmt_sql[i]);
			return OPEN_REFUSE;
		}
	}
	return OPEN_OK;
}

/* Renames path (and its -wal) aside. Returns the new name or NULL. */
static char *
move_aside(const char *path, const char *tag, double now, struct diags *d)
{
	time_t t = (time_t)now;
	struct tm tm;
	char stamp[32];
	char *dst = NULL, *src2, *dst2;
	struct stat sb;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (int i = 0; i < 100; i++) {
		free(dst);
		dst = i == 0 ? xasprintf("%s.%s-%s", path, tag, stamp)
		             : xasprintf("%s.%s-%s.%d", path, tag, stamp, i);
		if (lstat(dst, &sb) < 0 && errno == ENOENT)
			break;
	}
	if (rename(path, dst) < 0) {
		diag_add(d, DIAG_ERROR, path, 0,
		    "cannot move the database aside to %s: %s", dst,
		    strerror(errno));
		free(dst);
		return NULL;
	}
	src2 = xasprintf("%s-wal", path);
	dst2 = xasprintf("%s-wal", dst);
	if (rename(src2, dst2) < 0 && errno != ENOENT)
		unlink(src2);
	free(src2);
	free(dst2);
	src2 = xasprintf("%s-shm", path);
	unlink(src2);
	free(src2);
	src2 = xasprintf("%s-journal", path);
	dst2 = xasprintf("%s-journal", dst);
	if (rename(src2, dst2) < 0 && errno != ENOENT)
		unlink(src2);
	free(src2);
	free(dst2);
	return dst;
}

/*
 * path holds fail2ban's database: keep it as PATH.fail2ban-STAMP, create
 * ours at path and import the copy (fail2ban also backs its file up before
 * an upgrade).
 */
static enum open_res
migrate_fail2ban(struct db *db, const struct db_options *o, struct diags *d)
{
	struct db_import_stats st;
	enum open_res res;
	char *aside, *why = NULL;

	handle_free(db);
	aside = move_aside(db->path, "fail2ban", o->now, d);
	if (!aside)
		return OPEN_REFUSE;
	res = try_open(db, o, d, &why);
	free(why);
	if (res != OPEN_OK) {
		/* put fail2ban's file back where the admin expects it */
		handle_free(db);
		if (rename(aside, db->path) < 0)
			diag_add(d, DIAG_ERROR, db->path, 0,
			    "cannot move %s back: %s", aside, strerror(errno));
		free(aside);
		return OPEN_REFUSE;
	}
	if (db_import_fail2ban(db, aside, o->now, &st, d) == 0)
		diag_add(d, DIAG_WARNING, db->path, 0,
		    "this was a fail2ban database: kept it as %s and imported "
		    "%zu current bans (%zu expired), %zu history rows, %zu log "
		    "positions into a new wardend database",
		    aside, st.current, st.expired, st.history, st.logs);
	else
		diag_add(d, DIAG_WARNING, db->path, 0,
		    "this was a fail2ban database: kept it as %s; importing "
		    "it failed, starting with an empty database",
		    aside);
	free(aside);
	return OPEN_OK;
}

struct db *
db_open(const char *path, const struct db_options *opts, struct diags *d)
{
	static bool configured;
	struct db_options o = {.maxmatches = DB_DEFAULT_MAXMATCHES};
	struct db *db;
	enum open_res res;
	char *why = NULL;

	if (opts)
		o = *opts;
	if (o.now == 0)
		o.now = (double)time(NULL);
	/* SQLite's memory statistics lock a global mutex around every
	 * malloc and free (5% of a commit job); nothing reads them. Only
	 * possible before SQLite initializes (the first open), and that is
	 * in the thread that opens the database, before any commit job. */
	if (!configured) {
		configured = true;
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	}
	db = xcalloc(1, sizeof(*db));
	db->path = xstrdup(path);
	db->memory = strcmp(path, ":memory:") == 0;
	db->maxmatches = o.maxmatches;
	db->autockpt = true;
	sbuf_init(&db->err);
	res = try_open(db, &o, d, &why);
	if (res == OPEN_CORRUPT) {
		char *aside;

		handle_free(db);
		aside = move_aside(path, "corrupt", o.now, d);
		if (!aside) {
			res = OPEN_REFUSE;
		} else {
			diag_add(d, DIAG_WARNING, path, 0,
			    "database is corrupt or unreadable (%s); moved it "
			    "to %s and created a new one",
			    why ? why : "?", aside);
			free(aside);
			free(why);
			why = NULL;
			res = try_open(db, &o, d, &why);
			if (res == OPEN_CORRUPT) {
				diag_add(d, DIAG_ERROR, path, 0,
				    "cannot create a new database: %s",
				    why ? why : "?");
				res = OPEN_REFUSE;
			}
		}
	}
	if (res == OPEN_FAIL2BAN)
		res = migrate_fail2ban(db, &o, d);
	free(why);
	if (res != OPEN_OK) {
		handle_free(db);
		free(db->path);
		sbuf_cleanup(&db->err);
		free(db);
		return NULL;
	}
	return db;
}

/* ---- fail2ban import --------------------------------------------------- */

bool
db_is_fail2ban(const char *path)
{
	sqlite3 *h = NULL;
	sqlite3_int64 n = 0;
	bool yes = false;

	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) ==
	        SQLITE_OK &&
	    query_int(h,
	        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	        " AND name = 'fail2banDb'",
	        &n) == SQLITE_OK)
		yes = n > 0;
	sqlite3_close(h);
	return yes;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
add_utf8(struct sbuf *b, unsigned long cp)
{
	char u[4];

	if (cp >= 0xD800 && cp <= 0xDFFF)
		cp = 0xFFFD;
	if (cp < 0x80) {
		sbuf_addch(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		sbuf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		sbuf_add(b, u, 3);
	} else if (cp <= 0x10FFFF) {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		sbuf_add(b, u, 4);
	} else {
		sbuf_addstr(b, "\xEF\xBF\xBD");
	}
}

/* Parses one Python str repr at *p ('..' or ".."); advances *p. */
static int
py_str(const char **p, struct sbuf *b)
{
	const char *s = *p;
	char q = *s++;

	if (q != '\'' && q != '"')
		return -1;
	while (*s && *s != q) {
		if (*s != '\\') {
			sbuf_addch(b, *s++);
			continue;
		}
		s++;
		int digits = 0;

		switch (*s) {
		case 'n':
			sbuf_addch(b, '\n');
			break;
		case 'r':
			sbuf_addch(b, '\r');
			break;
		case 't':
			sbuf_addch(b, '\t');
			break;
		case '\\':
		case '\'':
		case '"':
			sbuf_addch(b, *s);
			break;
		case 'x':
			digits = 2;
			break;
		case 'u':
			digits = 4;
			break;
		case 'U':
			digits = 8;
			break;
		default:
			return -1;
		}
		if (digits) {
			unsigned long cp = 0;

			for (int i = 1; i <= digits; i++) {
				int h = hexval((unsigned char)s[i]);

				if (h < 0)
					return -1;
				cp = cp * 16 + (unsigned long)h;
			}
			add_utf8(b, cp);
			s += digits;
		}
		s++;
	}
	if (*s != q)
		return -1;
	*p = s + 1;
	return 0;
}

/*
 * fail2ban stores a set of strings as the text of a Python list repr
 * ("['bob1', 'x']", "set()"): returns a JSON array, or NULL if it is not
 * one.
 */
static json_t *
py_strlist(const char *s)
{
	json_t *a = json_array();
	struct sbuf b = SBUF_INIT;
	char close;

	if (strcmp(s, "set()") == 0)
		return a;
	if (*s != '[' && *s != '{')
		goto bad;
	close = *s == '[' ? ']' : '}';
	s++;
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == close && s[1] == '\0')
			break;
		sbuf_reset(&b);
		if (py_str(&s, &b) < 0)
			goto bad;
		json_array_append_new(a, json_stringn(sbuf_str(&b), b.len));
		while (*s == ' ')
			s++;
		if (*s == ',')
			s++;
		else if (*s != close)
			goto bad;
	}
	sbuf_cleanup(&b);
	return a;
bad:
	sbuf_cleanup(&b);
	json_decref(a);
	return NULL;
}

/* A fail2ban ban row's data JSON, split the way we store it. */
struct f2b_data {
	unsigned failures;
	char *matches; /* JSON array of strings or NULL */
	char *data;    /* JSON object of the other fields or NULL */
};

static void
f2b_data_parse(
    const char *text, int n, unsigned maxmatches, struct f2b_data *out)
{
	json_t *o, *m, *f, *users;
	struct strv lines = STRV_INIT;

	memset(out, 0, sizeof(*out));
	out->failures = 1;
	if (!text || n <= 0)
		return;
	o = json_loadb(text, (size_t)n, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	f = json_object_get(o, "failures");
	if (json_is_integer(f) && json_integer_value(f) >= 0)
		out->failures = json_integer_value(f) > 0x7fffffff
		    ? 0x7fffffff
		    : (unsigned)json_integer_value(f);
	m = json_object_get(o, "matches");
	if (json_is_array(m)) {
		size_t i;
		json_t *e;

		json_array_foreach(m, i, e) match_text(e, &lines);
		out->matches = matches_json(
		    (const char *const *)lines.v, lines.n, maxmatches);
	}
	strv_cleanup(&lines);
	json_object_del(o, "failures");
	json_object_del(o, "matches");
	users = json_object_get(o, "users");
	if (json_is_string(users)) {
		json_t *a = py_strlist(json_string_value(users));

		if (a)
			json_object_set_new(o, "users", a);
	}
	if (json_object_size(o) > 0)
		out->data = json_dumps(o, JSON_COMPACT);
	json_decref(o);
}

/* fail2ban's ip column: an address, a network, or a raw id. */
static int
f2b_key(const char *s, size_t n, struct fkey *k)
{
	memset(k, 0, sizeof(*k));
	if (n == 0)
		return -1;
	if (addr_parse(s, n, &k->addr) == 0 ||
	    (memchr(s, '/', n) && addr_parse_net(s, n, &k->addr) == 0)) {
		k->kind = FKEY_ADDR;
		return 0;
	}
	if (n > FKEY_MAX_LEN)
		return -1;
	k->kind = FKEY_RAW;
	k->s = s;
	k->len = n;
	return 0;
}

/*
 * Imports one bans row (latest false) or bips row (latest true): 1 done,
 * 0 skipped, -1 on error. A bips row points at its history row, made from
 * its own data when fail2ban's bans no longer has it (purged).
 */
static int
import_ban(struct db *db, sqlite3_stmt *in, bool latest, double now,
    struct db_import_stats *st)
{
	const char *jail = (const char *)sqlite3_column_text(in, 0);
	const char *ip = (const char *)sqlite3_column_text(in, 1);
	size_t iplen = (size_t)sqlite3_column_bytes(in, 1);
	double time = sqlite3_column_double(in, 2);
	double bantime = sqlite3_column_double(in, 3);
	sqlite3_int64 bancount = sqlite3_column_int64(in, 4);
	struct f2b_data fd;
	struct fkey k;
	char buf[ADDR_STRLEN];
	const char *p;
	size_t n;
	int kind, rc;
	unsigned count = bancount < 0 ? 0
	    : bancount > 0x7fffffff   ? 0x7fffffff
	                              : (unsigned)bancount;
	sqlite3_stmt *find = db->st[ST_IMP_FIND];
	sqlite3_int64 hist;

	if (!jail || !ip || f2b_key(ip, iplen, &k) < 0 ||
	    key_encode(&k, &kind, buf, &p, &n) < 0) {
		st->skipped++;
		return 0;
	}
	f2b_data_parse((const char *)sqlite3_column_text(in, 5),
	    sqlite3_column_bytes(in, 5), db->maxmatches, &fd);
	bind_ban(db->st[ST_IMP_HIST], jail, kind, p, n, time, bantime, count,
	    fd.failures, fd.matches, fd.data);
	rc = run(db, ST_IMP_HIST);
	free(fd.matches);
	free(fd.data);
	if (rc < 0)
		return -1;
	if (!latest) {
		st->history += (size_t)sqlite3_changes(db->h);
		return 1;
	}
	bind_key(find, jail, kind, p, n);
	sqlite3_bind_double(find, 4, time);
	rc = sqlite3_step(find);
	hist = rc == SQLITE_ROW ? sqlite3_column_int64(find, 0) : 0;
	stmt_done(find);
	if (rc != SQLITE_ROW) {
		set_err(db, stmt_sql[ST_IMP_FIND]);
		return -1;
	}
	bind_latest(db->st[ST_IMP_LATEST], jail, kind, p, n, time, bantime,
	    count, hist);
	if (run(db, ST_IMP_LATEST) < 0)
		return -1;
	if (bantime != -1 && bantime != -2 && time + bantime <= now)
		st->expired++;
	else
		st->current++;
	return 1;
}

int
db_import_fail2ban(struct db *db, const char *f2b_path, double now,
    struct db_import_stats *st, struct diags *d)
{
	/* bans before bips: a bips row points at its bans row */
	static const char *const reads[] = {
	    "SELECT name FROM jails",
	    "SELECT jail, ip, timeofban, bantime, bancount, data FROM bans",
	    "SELECT jail, ip, timeofban, bantime, bancount, data FROM bips",
	    "SELECT jail, path, firstlinemd5, lastfilepos FROM logs",
	};
	sqlite3 *h = NULL;
	sqlite3_stmt *in = NULL;
	sqlite3_int64 version = -1;
	struct db_import_stats zero = {0};
	int rc, ret = -1;
	const char *what = NULL;

	*st = zero;
	if (!db) {
		diag_add(d, DIAG_ERROR, f2b_path, 0,
		    "no wardend database to import into");
		return -1;
	}
	rc = sqlite3_open_v2(f2b_path, &h, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(h, 5000);
		rc = query_int(
		    h, "SELECT version FROM fail2banDb LIMIT 1", &version);
	}
	if (rc != SQLITE_OK) {
		diag_add(d, DIAG_ERROR, f2b_path, 0,
		    "not a readable fail2ban database: %s",
		    h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		goto out;
	}
	if (version != 4) {
		diag_add(d, DIAG_ERROR, f2b_path, 0,
		    "fail2ban database schema version %lld is not supported "
		    "(need 4, fail2ban 0.11 or later; let fail2ban upgrade it "
		    "first)",
		    (long long)version);
		goto out;
	}
	if (db_flush(db) < 0 || run(db, ST_BEGIN) < 0) {
		diag_add(d, DIAG_ERROR, db->path, 0, "%s", db_last_error(db));
		goto out;
	}
	for (size_t r = 0; r < sizeof(reads) / sizeof(reads[0]); r++) {
		what = reads[r];
		rc = sqlite3_prepare_v2(h, reads[r], -1, &in, NULL);
		if (rc != SQLITE_OK)
			goto read_fail;
		for (;;) {
			rc = sqlite3_step(in);
			if (rc != SQLITE_ROW)
				break;
			int ok = 0;

			if (r == 0) {
				bind_str(db->st[ST_IMP_JAIL], 1,
				    (const char *)sqlite3_column_text(in, 0));
				ok = run(db, ST_IMP_JAIL);
				st->jails++;
			} else if (r == 1 || r == 2) {
				ok = import_ban(db, in, r == 2, now, st);
			} else {
				const char *path =
				    (const char *)sqlite3_column_text(in, 1);
				sqlite3_stmt *s = db->st[ST_IMP_LOG];

				if (!path ||
				    strcmp(path, "systemd-journal") == 0)
					continue;
				bind_str(s, 1,
				    (const char *)sqlite3_column_text(in, 0));
				bind_str(s, 2, path);
				bind_str(s, 3,
				    (const char *)sqlite3_column_text(in, 2));
				sqlite3_bind_int64(
				    s, 4, sqlite3_column_int64(in, 3));
				ok = run(db, ST_IMP_LOG);
				if (ok == 0)
					st->logs +=
					    (size_t)sqlite3_changes(db->h);
			}
			if (ok < 0) {
				diag_add(d, DIAG_ERROR, db->path, 0,
				    "import failed: %s", db_last_error(db));
				goto abort;
			}
		}
		if (rc != SQLITE_DONE)
			goto read_fail;
		sqlite3_finalize(in);
		in = NULL;
	}
	if (run(db, ST_COMMIT) < 0) {
		diag_add(d, DIAG_ERROR, db->path, 0, "import failed: %s",
		    db_last_error(db));
		goto abort;
	}
	ret = 0;
	goto out;
read_fail:
	diag_add(d, DIAG_ERROR, f2b_path, 0,
	    "reading the fail2ban database "
	    "failed: %s (%s)",
	    sqlite3_errmsg(h), what);
abort:
	tx_abort(db);
	db->tx = TX_NONE; /* the queue was flushed before */
	*st = zero;
out:
	sqlite3_finalize(in);
	sqlite3_close(h);
	return ret;
}
