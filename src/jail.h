/*
 * A jail at run time: its filter, its log sources, its failure table, its
 * ban list with expiry timer, its ignore rules and its action queue, with
 * fail2ban's counting and banning semantics (spec 4.2-4.5, 4.8): "Found",
 * ban as soon as retry >= maxretry, "already banned" prolongation,
 * bantime.increment from the database's history, "known bad IPs fail
 * faster", restore at start, unban at expiry.
 *
 * The jail never logs "Ban" before its database write is committed: bans
 * decided while lines are read wait in a pending list; the daemon commits
 * the database once per loop tick and then calls jail_commit(), which logs
 * them and hands them to the actions as one batch per jail.
 *
 * Keys are struct fkey: an address, or a raw failure id. Nothing here
 * assumes an IP except the ignore rules and DNS, which only apply to
 * addresses.
 *
 * Issue 7: with usermaxretry a jail also counts failures per login (the
 * captured <F-USER>) over every address and locks a login that fails
 * too often: every address that failed for it within userfindtime is
 * banned, and so is each further one at its first failure until the lock
 * ends (userbantime). An aggregate jail (`jails = a, b`) has no source:
 * its failures are those its member jails counted, handed over
 * in-process through jail_env.failed and jail_feed(). A report jail
 * (`backend = report`) is fed by the report socket (jail_report()).
 *
 * Single-threaded, in the daemon's libuv loop. The wall clock comes from
 * env->now so that tests can drive it.
 */
#ifndef WARDEN_JAIL_H
#define WARDEN_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "conf.h"
#include "diag.h"
#include "fkey.h"
#include "strv.h"

struct db;
struct src_file_set;
struct ignore_env;
struct resolve;
struct jail;
struct report_msg;
struct report_peer;
struct jail_failure;

/* Failures kept per jail unless configured otherwise. */
#define JAIL_MAXFAILURES_DEFAULT 100000
/* Bans announced per tick and jail before the rest waits a tick. */
#define JAIL_BATCH_MAX 10000

/* What a jail borrows from the daemon (must outlive it). */
struct jail_env {
	uv_loop_t *loop;
	struct db *db;              /* NULL: no database */
	struct src_file_set *files; /* file sources */
	struct ignore_env *host;    /* host addresses, DNS caches */
	struct resolve *dns;        /* usedns lookups; NULL: none */
	double (*now)(void);        /* wall clock, epoch s */
	bool ipv6;                  /* allowipv6 */
	bool no_actions;            /* --no-firewall: build no action */
	/* A failure jail j counted (after its ignore rules), for the
	 * aggregate jails that list j; may be NULL. Called from inside
	 * the jail's processing: it must not free or stop j. */
	void (*failed)(void *arg, struct jail *j, const struct jail_failure *f);
	void *failed_arg;
};

/* A counted failure as an aggregate jail receives it (borrowed). */
struct jail_failure {
	struct fkey key;
	double time;  /* epoch s */
	double count; /* retry added (1 for a log line) */
	const char *const *matches;
	size_t nmatches;
	const char *user; /* the login (<F-USER>), or NULL */
	size_t user_len;
};

/*
 * Builds a jail from cj (borrowed for the call: the jail keeps its own
 * copies of what it needs, so the configuration may be freed after):
 * compiles the filter, prepares the tables, the ignore rules and the
 * actions. Does not read logs or run anything yet. Returns NULL with the
 * reason in d (bad regex, ...).
 */
struct jail *jail_new(
    const struct conf_jail *cj, const struct jail_env *env, struct diags *d);

/*
 * Starts the jail: "Jail 'J' started" after its sources are added (a
 * missing logpath is reported and watched for), its actions started and
 * its bans restored from the database ("Restore Ban" at the next
 * commit).
 */
void jail_start(struct jail *j);

/*
 * Applies a new configuration of the same jail (reload): filter, options,
 * ignore rules, log paths and actions change; the failure table, the ban
 * list and the counters stay. Returns 0, or -1 with the reason in d
 * (then nothing changed).
 */
int jail_reload(struct jail *j, const struct conf_jail *cj, struct diags *d);

/*
 * Stops the jail (fail2ban's jail stop): no more lines, flush or unban of
 * every current ban through the actions ("Unban x" lines), actionstop in
 * reverse order; the bans stay in the database. done(arg) runs once the
 * actions are finished (from the loop). Then free it with jail_free.
 */
void jail_stop(struct jail *j, void (*done)(void *arg), void *arg);

/* Frees a stopped (or never started) jail. NULL is a no-op. */
void jail_free(struct jail *j);

/*
 * After the daemon's database commit: logs the bans decided since the
 * last commit ("Ban x", "Restore Ban x", "Increase Ban ...") and starts
 * their actions (one batch). Returns how many bans were announced.
 */
size_t jail_commit(struct jail *j);

/* The same for the n oldest bans waiting (at most JAIL_BATCH_MAX). */
size_t jail_commit_n(struct jail *j, size_t n);

/*
 * With commits in another thread (db_flush_begin): jail_seal() when a
 * commit job takes the database's queue marks the bans decided so far as
 * that job's; jail_sealed_durable() once it has committed makes them
 * durable; jail_commit_durable() announces the durable bans still
 * waiting (at most JAIL_BATCH_MAX), never one decided after the seal.
 */
void jail_seal(struct jail *j);

void jail_sealed_durable(struct jail *j);
size_t jail_commit_durable(struct jail *j);

/*
 * Hands the bans decided since the last call to the actions that put a
 * ban in place before its commit (actq_preban: the nftables backend), in
 * one batch. Once a loop turn (wardend's tick) and before a commit
 * announces bans.
 */
void jail_preban_flush(struct jail *j);

/* True when bans wait for jail_commit(). */
bool jail_has_pending(const struct jail *j);

const char *jail_name(const struct jail *j);
/* The backend as configured ("auto", "polling", ...). */
const char *jail_backend(const struct jail *j);

/* Saves the log positions of the jail's files and its journal cursor
 * (db_log_set, db_journal_set: queued for the next commit). Returns -1
 * when a file with lines has no first-line hash yet (its position could
 * not be saved), else 0. */
int jail_save_positions(struct jail *j);

/*
 * The same, only when lines were read since the last save: at once when
 * bans wait for the commit, else at most once a second. The daemon calls
 * it before every commit, so positions are committed in the same
 * transaction as the bans their lines made: after kill -9 no line that
 * made a ban is read twice, and at most a second of other lines is.
 */
void jail_save_dirty(struct jail *j);

/* --- control commands (fail2ban's transmitter, results as JSON) -------- */

/* `status J [flavor]`. New reference. */
json_t *jail_status(struct jail *j, const char *flavor);

/* Current bans as key strings, in ban order (or by end of ban when
 * by_end; with_time adds fail2ban's "\t... + N = ..." text). */
json_t *jail_banlist(struct jail *j, bool by_end, bool with_time);

/* True when the key written as text is banned. */
bool jail_is_banned(struct jail *j, const char *id);

/*
 * Manual ban of the ids (text: address or raw id) at now, bypassing the
 * ignore rules. Returns the number of new bans.
 */
long jail_banip(struct jail *j, char *const *ids, size_t n);

/*
 * Manual unban (ids NULL: every ban). The database rows go too. An id may
 * be a network, unbanning every address inside. Returns the count, or -1
 * with err "not banned: [...]" when report_absent and some were not.
 */
long jail_unbanip(struct jail *j, char *const *ids, size_t n,
    bool report_absent, char *err, size_t errlen);

/* `set J attempt ID [MSG...]`: returns 1. */
long jail_attempt(struct jail *j, const char *id, char *const *msgs, size_t n);

/*
 * `get J WHAT` / `set J WHAT VALUE...` for the options that are not the
 * above. Returns a new JSON value, or NULL with *errtype (CTL_ERR_*) and a
 * message in err.
 */
json_t *jail_get(struct jail *j, int argc, char **argv, const char **errtype,
    char *err, size_t errlen);
json_t *jail_set(struct jail *j, int argc, char **argv, const char **errtype,
    char *err, size_t errlen);

/*
 * `set J action A METHOD [KWARGS]` for the methods that run the action's
 * commands (start, stop, flush, consistencyCheck): queued after the
 * jail's waiting action jobs; cb(arg, result, errtype, message) runs
 * once from the loop (result True, or NULL with an error). Returns 0
 * when queued, 1 when argv is not such a call (use jail_set).
 */
typedef void (*jail_call_cb)(
    void *arg, json_t *result, const char *errtype, const char *message);
int jail_action_call(
    struct jail *j, int argc, char **argv, jail_call_cb cb, void *arg);

/* --- reports (backend = report, report.h) ----------------------------- */

/* The service a report jail receives ("imap"), or NULL. */
const char *jail_service(const struct jail *j);

/* True unless the jail has its own reportusers/reportgroups and p is in
 * neither. */
bool jail_report_allows(const struct jail *j, const struct report_peer *p);

/*
 * One report for this jail's service, read at now (wall clock). "fail"
 * counts exactly like a failure found in a log: ignore rules, "Found
 * ADDR", failure table, ban at maxretry, login tracking; the login is
 * the captured "user" group (<F-USER>) and the match line is the report
 * re-rendered with the sender ("fail imap 192.0.2.7 user=alice (uid 8
 * pid 1234)"). "ok" with a login is a successful login: it forgets that
 * (login, address) pair's failures when the jail tracks logins
 * (usermaxretry), and is only counted otherwise. Returns false when the
 * jail does not take reports now (not a report jail, not started,
 * stopping, idle).
 */
bool jail_report(struct jail *j, const struct report_msg *m,
    const struct report_peer *p, double now);

/* --- aggregate jails (jails = ...) -------------------------------------- */

/* True when j is an aggregate jail that counts member's failures. */
bool jail_has_member(const struct jail *j, const char *member);

/*
 * One failure counted by member jail `from` (its name, for the log),
 * counted again by the aggregate jail j: j's ignore rules, "Found",
 * maxretry, login tracking, ban, j's actions. Nothing when j is not
 * running.
 */
void jail_feed(struct jail *j, const char *from, const struct jail_failure *f);

/* --- login tracking (usermaxretry) -------------------------------------- */

/* Locked logins now. */
size_t jail_locked_now(const struct jail *j);

/* Counters, for tests and status. */
size_t jail_failed_now(const struct jail *j);
uint64_t jail_failed_total(const struct jail *j);
size_t jail_banned_now(const struct jail *j);
uint64_t jail_banned_total(const struct jail *j);

#endif
