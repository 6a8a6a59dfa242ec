/*
 * wardend's persistence: one SQLite file (or ":memory:") holding the jails,
 * the latest ban of every (jail, key) (restored at start, and the ban count
 * bantime.increment needs), the history of every ban (<ipmatches>,
 * <ipfailures>), log file positions and journal cursors. It is our own
 * schema, not fail2ban's; db_import_fail2ban() reads fail2ban's (v4).
 *
 * Writes are queued and go to disk in one transaction per loop tick, when
 * the daemon calls db_flush(): a ban is durable once db_flush() has
 * returned 0, and the daemon reports a ban ("Ban x" in the log, a reply to
 * a client) only after that. The file uses WAL with synchronous=NORMAL:
 * a committed transaction survives the death of the process (kill -9) at
 * any moment; after a power loss or OS crash the last transactions before
 * the crash may be rolled back (the file itself stays consistent).
 *
 * A NULL `struct db *` is "no database" (dbfile = None): every function
 * accepts it, writes do nothing, reads find nothing and return 0, flush and
 * purge succeed. So callers never test for NULL themselves.
 *
 * All times are wall-clock epoch seconds (double) passed in by the caller;
 * nothing here reads the clock except db_open() when opts->now is 0. No
 * function logs: errors go to `struct diags` (open, import) or
 * db_last_error() (everything else). Single-threaded, like the daemon,
 * except db_ckpt_run and db_job_run (see there).
 */
#ifndef WARDEN_DB_H
#define WARDEN_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "fkey.h"
#include "strv.h"

/* Version of our schema, kept in PRAGMA user_version. */
#define DB_SCHEMA_VERSION 2

/* fail2ban's defaults for dbmaxmatches and dbpurgeage (1 day). */
#define DB_DEFAULT_MAXMATCHES 10
#define DB_DEFAULT_PURGEAGE   86400.0

/* At most this many writes wait for a flush; more are dropped (counted). */
#define DB_QUEUE_MAX 1000000

struct db;

struct db_options {
	/* dbmaxmatches: matches kept per stored ban (0 keeps none). */
	unsigned maxmatches;
	/* Wall clock at open (names a corrupt file's copy); 0 = time(). */
	double now;
	/* Busy timeout in ms when another process holds the lock; 0 = 2000. */
	int busy_timeout_ms;
	/*
	 * When path holds a fail2ban database (the stock dbfile): false
	 * refuses it; true moves it to PATH.fail2ban-YYYYmmdd-HHMMSS, creates
	 * ours at path and imports the moved file (a DIAG_WARNING tells).
	 */
	bool migrate_fail2ban;
};

/*
 * Opens (creating if needed) the database at path, or an empty in-memory
 * one for ":memory:". opts may be NULL (defaults above).
 *
 * - A file that is not a database, is corrupt, or cannot be opened is
 *   renamed to PATH.corrupt-YYYYmmdd-HHMMSS (local time of opts->now, with
 *   its -wal file beside it), a new one is created, and a DIAG_WARNING says
 *   so (the daemon logs it).
 * - A schema newer than DB_SCHEMA_VERSION, or another program's database
 *   is refused: returns NULL with a DIAG_ERROR, the file untouched. So is
 *   a fail2ban database unless opts->migrate_fail2ban (see there).
 * - An older schema of ours is migrated in place, in one transaction.
 *
 * Returns a new handle (db_close frees it) or NULL with a DIAG_ERROR.
 */
struct db *db_open(
    const char *path, const struct db_options *opts, struct diags *d);

/*
 * Flushes pending writes (errors are lost: call db_flush first to see
 * them), closes and frees db. NULL is a no-op.
 */
void db_close(struct db *db);

/*
 * Commits every queued write in one transaction. Returns 0 when all of
 * them are on disk, -1 on failure (db_last_error says why); the writes then
 * stay queued and the next db_flush retries them. Blocks for the commit
 * (measured by test_db: 10,000 bans with 3 matches each cost ~65 ms of
 * CPU, queueing included, ~6 us a ban; a commit itself does not fsync,
 * the automatic checkpoint it may run does: see "checkpoints" below).
 */
int db_flush(struct db *db);

/* Number of queued writes not yet committed (a commit job's included). */
size_t db_pending(const struct db *db);

/*
 * Commits in another thread (the daemon's lazy mode). With
 * db_set_lazy(db, true) a queued write no longer runs at once: it waits
 * for a read (which runs the queue first, in an open transaction, and so
 * still sees it) or a flush. db_flush_begin() then hands the whole queue
 * to a commit job and returns it, or NULL when there is nothing to hand
 * over, a job is already out, a read opened a transaction in this tick
 * (call db_flush then), or SQLite has no threads. db_job_run(job) runs
 * it in any one thread: BEGIN, the writes in order, COMMIT (blocking, as
 * db_flush). db_job_end(db, job), back in db's thread once db_job_run
 * has returned (or was never called: the job then runs there), frees the
 * job and returns 0 when its writes are committed (durable as after
 * db_flush), 1 when committed but some were dropped (db_last_error), -1
 * when it failed: the writes are queued again in front of the newer ones
 * and the next flush or job replays them.
 *
 * While a job is out, writes queue behind it; every other function waits
 * for the job first (or runs it in place when no thread has taken it
 * yet), so order and read-your-writes stay as without jobs, and
 * db_flush() still returns only once everything queued is committed.
 * db_close() waits for it too; db_job_end(NULL, job) then just frees it.
 * One job at a time.
 */
void db_set_lazy(struct db *db, bool on);
struct db_job;
struct db_job *db_flush_begin(struct db *db);
void db_job_run(struct db_job *job);
int db_job_end(struct db *db, struct db_job *job);

/* The last error as one line ("" if none); valid until the next call. */
const char *db_last_error(const struct db *db);

/* dbmaxmatches may change at runtime (fail2ban's set dbmaxmatches). */
void db_set_maxmatches(struct db *db, unsigned maxmatches);
unsigned db_maxmatches(const struct db *db);

/* --- jails (queued writes) ---------------------------------------------- */

/* Registers jail as enabled (a started jail). */
void db_jail_add(struct db *db, const char *jail);
/* Marks jail disabled (stopped); NULL marks every jail (daemon start). */
void db_jail_disable(struct db *db, const char *jail);
/*
 * Appends the jail names to out (sorted): enabled ones when enabled is 1,
 * disabled ones when 0, all when -1. Returns the count or -1.
 */
long db_jails(struct db *db, int enabled, struct strv *out);

/* --- bans --------------------------------------------------------------- */

/* One ban as stored. Pointers are borrowed (in) or valid until return. */
struct db_ban {
	struct fkey key;
	double time;       /* ticket time: the last failure, epoch s */
	double bantime;    /* s; -1 = permanent (-2: jail's, old imports) */
	unsigned bancount; /* this ban's count: 1 for a first ban */
	unsigned failures; /* failures that led to it */
	const char *const *matches; /* matched lines, oldest first */
	size_t nmatches;
	const char *data; /* JSON object of captured groups, or NULL */
	bool data_object; /* the caller made data a JSON object: not checked */
	/* db_bans_restore with raw_matches only (matches is then empty):
	 * the stored matches' JSON text or NULL, the callback's to take (it
	 * sets *matches_raw to NULL); NULL elsewhere. */
	char **matches_raw;
};

/*
 * Queues a new (not restored) ban of key in jail: one history row, and the
 * jail's latest ban of key replaced. Only the last dbmaxmatches matches are
 * kept. data, when given, must be a JSON object (else it is dropped; it is
 * parsed to check that unless data_object says so, as fdata_json's). Takes
 * copies; never fails (see DB_QUEUE_MAX).
 */
void db_ban_add(struct db *db, const char *jail, const struct db_ban *b);

/*
 * Queues a manual unban: deletes the latest ban and the history of key in
 * jail (key NULL: of every key in the jail), as fail2ban does. Expiry is
 * not an unban: expired bans stay until db_purge.
 */
void db_ban_del(struct db *db, const char *jail, const struct fkey *key);

/* What db_bans_restore needs to know of the jail (spec 4.8). */
struct db_restore {
	double now;          /* epoch s */
	double bantime;      /* the jail's bantime; -1 = permanent */
	bool increment;      /* bantime.increment */
	double maxtime;      /* bantime.maxtime; <= 0 = unset */
	unsigned maxmatches; /* the jail's maxmatches: matches kept (0: none) */
	bool key_order;      /* by (kind, key), the table's order: no sort */
	bool raw_matches;    /* matches left unparsed (db_ban.matches_raw),
	                        maxmatches not applied */
};

/* Called once per ban; return non-zero to stop. b is valid during the call. */
typedef int (*db_ban_cb)(void *arg, const struct db_ban *b);

/*
 * Calls cb for each ban of jail to restore at start, oldest first (by kind
 * and key with r->key_order), with
 * fail2ban's rules: permanent bans always; others only while time +
 * bantime > now; without increment also only when time > now - jail
 * bantime, and the stored bantime clamped to the jail's when that is not
 * permanent; with increment clamped to maxtime when set; bantime -2 means
 * the jail's. Matches trimmed to r->maxmatches. Rows that do not parse are
 * skipped. The callback may call any db function (rows are read first).
 * Returns the number of bans passed to cb, or -1 on a database error.
 */
long db_bans_restore(struct db *db, const char *jail,
    const struct db_restore *r, db_ban_cb cb, void *arg);

/*
 * Stored matches (db_ban.matches_raw) parsed: the last max lines appended
 * to out. Text that is not a JSON array of strings adds nothing.
 */
void db_matches_parse(const char *json, unsigned max, struct strv *out);

/*
 * The captured groups of a stored data object (db_ban.data) appended to
 * out as name, value, name, value, ...: its string members in order,
 * other members skipped. -1 (out unchanged) when json is not an object.
 */
int db_data_parse(const char *json, struct strv *out);

/* A key's previous bans, for bantime.increment (fail2ban's getBan). */
struct db_history {
	unsigned bancount; /* count of the latest ban (sum over jails) */
	double time;       /* time of the latest ban */
	double bantime;    /* its bantime (sum over jails) */
};

/*
 * Looks up key's latest ban in jail, or over all jails when jail is NULL
 * (bantime.overalljails: counts summed, latest time). Sees the writes
 * queued in this tick (reads run inside the open transaction), except
 * after a failed flush until its retry succeeds.
 * Returns 1 and fills out when found, 0 when not, -1 on error.
 */
int db_ban_history(struct db *db, const char *jail, const struct fkey *key,
    struct db_history *out);

/*
 * <ipjailmatches>/<ipjailfailures> (jail given) and <ipmatches>/
 * <ipfailures> (jail NULL): over key's ban history, newest ban first, the
 * matches of the newest bans up to dbmaxmatches appended to matches in
 * time order (oldest first), and the failures of every ban summed into
 * *failures. Returns the number of bans seen, or -1.
 */
long db_ban_matches(struct db *db, const char *jail, const struct fkey *key,
    struct strv *matches, unsigned long *failures);

/* Number of history rows and latest-ban rows (for tests and status). */
long db_count_history(struct db *db);
long db_count_latest(struct db *db);

/* --- positions ---------------------------------------------------------- */

/*
 * Saved position of a log file: *hash (new string, the SHA-1 hex of its
 * first line, may be NULL) and *pos (bytes). Returns 1, 0 if none, -1.
 */
int db_log_get(struct db *db, const char *jail, const char *path, char **hash,
    uint64_t *pos);
/* Queues the position of a log file (hash may be NULL). */
void db_log_set(struct db *db, const char *jail, const char *path,
    const char *hash, uint64_t pos);

/* Saved journal cursor of jail: *cursor new string. Returns 1, 0, -1. */
int db_journal_get(struct db *db, const char *jail, char **cursor);
/* Queues the journal cursor of jail. */
void db_journal_set(struct db *db, const char *jail, const char *cursor);

/* --- maintenance -------------------------------------------------------- */

/*
 * Flushes, then deletes in one transaction (fail2ban's purge): latest
 * bans not permanent whose time is older than now - purgeage and whose
 * time + 3 * bantime is too; history rows older than now - purgeage
 * (except the row a kept latest ban still points at: its matches); jails
 * disabled with no ban rows, with their log positions and cursors. When a
 * quarter of the file is then free, gives the pages back; truncates the
 * WAL. So the file is sized by active bans and recent history. Blocks:
 * fine hourly (fail2ban's rhythm); deleting 100k rows at once took ~1.5 s
 * on a loaded 2-core machine. Returns the number of rows deleted or -1.
 */
long db_purge(struct db *db, double now, double purgeage);

/* --- checkpoints ------------------------------------------------------- */

/*
 * A commit appends to the WAL without fsync; a checkpoint copies the WAL
 * back into the database file and fsyncs both (milliseconds, more on a
 * busy disk). By default the commit that takes the WAL past
 * DB_CKPT_FRAMES pages (SQLite's default, 4 MiB) checkpoints, inside
 * db_flush. The daemon takes that out of its loop instead:
 * db_set_autocheckpoint(db, false), then db_ckpt_run() on a second
 * connection in another thread (libuv's work queue) whenever db_ckpt_due()
 * says so after a commit. A commit that finds the WAL past DB_CKPT_HARD
 * (the background checkpoints fell behind) still checkpoints in place.
 * Checkpoints never change what a commit guarantees (see db_flush).
 */
#define DB_CKPT_FRAMES 1000
#define DB_CKPT_HARD   (8 * DB_CKPT_FRAMES)

/* Whether db's commits checkpoint at DB_CKPT_FRAMES (default: true). */
void db_set_autocheckpoint(struct db *db, bool on);

/*
 * True when the automatic checkpoint is off and the WAL had at least
 * DB_CKPT_FRAMES pages after the last commit (a file database only).
 */
bool db_ckpt_due(const struct db *db);

struct db_ckpt;

/*
 * A second connection on db's file, for db_ckpt_run. NULL for a NULL or
 * ":memory:" db, a file not in WAL mode, an SQLite without threads, or an
 * error (the caller keeps the automatic checkpoint then). Independent of
 * db afterwards: either may be freed first; the last one closed
 * checkpoints the whole WAL and removes it.
 */
struct db_ckpt *db_ckpt_new(struct db *db);

/*
 * One PASSIVE checkpoint: copies what is committed and no longer needed
 * by a reader, never waits for a lock, never touches db (whose commits go
 * on meanwhile). Any thread, one call at a time. Returns 0 (also when
 * another checkpoint was under way) or -1 (db_ckpt_error says why).
 */
int db_ckpt_run(struct db_ckpt *c);

/* The last run: frames in the WAL and frames checkpointed. */
void db_ckpt_result(const struct db_ckpt *c, int *wal_frames, int *done);

const char *db_ckpt_error(const struct db_ckpt *c);

/* Closes (NULL: no-op); not while db_ckpt_run runs. */
void db_ckpt_free(struct db_ckpt *c);

/* What db_import_fail2ban did. */
struct db_import_stats {
	size_t current; /* bips rows imported still banned at now */
	size_t expired; /* bips rows expired at now: kept as ban counts only */
	size_t history; /* bans rows imported (duplicates of earlier imports
	                   skipped) */
	size_t logs;    /* log file positions imported */
	size_t skipped; /* rows whose id or values did not parse */
	size_t jails;   /* jail names */
};

/*
 * Imports a fail2ban database (schema v4) at f2b_path, opened read-only:
 * jails (disabled until the daemon starts them), bips as latest bans,
 * bans as history (data JSON: failures, matches with a first match that
 * may be a [prefix, date, rest] list, captured groups; `users` set reprs
 * become JSON arrays), file positions (firstlinemd5 is SHA-1 hex, like
 * ours; systemd rows are skipped). Expired bips rows are not restorable
 * but kept so bantime.increment still knows the count. Commits in one
 * transaction; a second import of the same file adds nothing new.
 * Returns 0, or -1 with a DIAG_ERROR (nothing imported).
 */
int db_import_fail2ban(struct db *db, const char *f2b_path, double now,
    struct db_import_stats *st, struct diags *d);

/* True when the file at path is a fail2ban database (any version). */
bool db_is_fail2ban(const char *path);

#endif
