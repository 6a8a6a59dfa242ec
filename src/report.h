/*
 * The report socket: applications report failed (and successful) logins
 * to wardend directly, one Unix datagram per event ("fail imap 192.0.2.7
 * user=alice"), instead of writing a log line for a filter to find. This
 * module parses messages (pure, fuzzed), resolves the allowlist of
 * senders, and serves the socket in a libuv loop: it reads datagrams, asks
 * the kernel who sent each one, applies the allowlist, the size cap and
 * rate limits, and hands every valid report to one callback. It knows
 * nothing of jails: the daemon routes a report to the jails with
 * `backend = report` and a matching `service` (see "Daemon integration"
 * at the end).
 *
 * Sender identity: the socket has SO_PASSCRED set, so the kernel attaches
 * SCM_CREDENTIALS (pid, uid, gid) to every datagram. A sender cannot
 * forge them: it may only name its own pid and one of its own real,
 * effective or saved ids, unless it holds CAP_SYS_ADMIN / CAP_SETUID /
 * CAP_SETGID. (SO_PEERCRED, which the issue names, only describes the
 * peer of a connected socket; per-datagram credentials are its datagram
 * form.) The gid is the sender's primary (real) gid as the kernel passes
 * it; supplementary groups are not seen, which is why a group in the
 * allowlist also admits the users /etc/group lists as its members.
 *
 * Never trust the sender: a datagram longer than REPORT_MAX_MSG, a
 * malformed one, one from a sender not allowed, file descriptors passed
 * along (closed at once) and senders over their rate are dropped and
 * counted, with a rate-limited warning. State is bounded: no queue (each
 * report is handed over synchronously), a fixed table of per-sender rate
 * buckets (least recently seen evicted), a fixed receive batch. A read
 * budget per loop wake-up keeps a flood from starving the loop.
 *
 * Single-threaded, in the daemon's libuv loop. report_server_new() and
 * the allowlist functions block (socket setup, NSS lookups): call them at
 * start and reload, never per message.
 */
#ifndef WARDEN_REPORT_H
#define WARDEN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "addr.h"

#define REPORT_DEFAULT_SOCKET "/run/warden/report.sock"

/* Bytes per datagram (with the optional final "\n"); longer: oversized. */
#define REPORT_MAX_MSG 512
/* Bytes of a service name: [A-Za-z0-9._-], starting with a letter or a
 * digit. */
#define REPORT_MAX_SERVICE 64
/* Bytes of a login (after "user="); the key cap of fkey.h. */
#define REPORT_MAX_USER 256

/* Defaults of struct report_opts (messages per second, bucket sizes). */
#define REPORT_SENDER_RATE  2000
#define REPORT_SENDER_BURST 10000
#define REPORT_GLOBAL_RATE  20000
#define REPORT_GLOBAL_BURST 50000
#define REPORT_MAX_SENDERS  1024 /* per-uid rate buckets kept */
#define REPORT_BUDGET       256  /* datagrams read per loop wake-up */
#define REPORT_LOG_INTERVAL 60   /* seconds between warnings per reason */

/* The logger name of this module's records. */
#define REPORT_LOGGER "warden.report"

/* ---- messages -------------------------------------------------------- */

enum report_verb {
	REPORT_FAIL, /* "fail": a failed login or attempt */
	REPORT_OK,   /* "ok": a successful login */
};

/*
 * One parsed report. Strings are NUL-terminated copies (no NUL can occur
 * inside: the parser refuses control bytes).
 */
struct report_msg {
	enum report_verb verb;
	char service[REPORT_MAX_SERVICE + 1];
	struct addr addr; /* a single address; IPv4-mapped IPv6 is IPv4 */
	bool has_user;
	char user[REPORT_MAX_USER + 1]; /* "" unless has_user */
	size_t user_len;                /* bytes in user */
};

/* Why report_parse() refused a message. */
enum report_err {
	REPORT_OK_PARSED = 0,
	REPORT_ERR_EMPTY,   /* no bytes (or only "\n") */
	REPORT_ERR_TOOLONG, /* more than REPORT_MAX_MSG bytes */
	REPORT_ERR_CONTROL, /* a control byte (NUL, CR, TAB, a second LF) */
	REPORT_ERR_SPACING, /* empty field: two spaces, or one at an end */
	REPORT_ERR_FIELDS,  /* fewer than 3 or more than 4 fields */
	REPORT_ERR_VERB,    /* neither "fail" nor "ok" */
	REPORT_ERR_SERVICE, /* bad service name */
	REPORT_ERR_ADDRESS, /* not a single IPv4/IPv6 address */
	REPORT_ERR_FIELD,   /* 4th field is not user=... */
	REPORT_ERR_USER,    /* bad login (empty, too long, bad bytes) */
	REPORT_ERR_NOUSER,  /* "ok" without user= */
	REPORT_ERR_NERRS
};

/* A short English reason ("bad service name"); never NULL. */
const char *report_strerror(enum report_err e);

/*
 * Parses one message of n bytes (not NUL-terminated):
 *
 *   message = verb SP service SP address [SP "user=" login] [LF]
 *   verb    = "fail" / "ok"          ("ok" requires user=)
 *   service = 1*64 of A-Z a-z 0-9 . _ -, first a letter or digit
 *   address = IPv4 or IPv6 as addr_parse() reads it ("192.0.2.7",
 *             "2001:db8::7", "[2001:db8::7]", "::ffff:192.0.2.7"); no
 *             prefix, no host name
 *   login   = 1*256 bytes of valid UTF-8 without controls (C0, DEL, C1),
 *             spaces (ASCII or Unicode), or invisible format characters
 *             (U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+FEFF)
 *
 * Fields are separated by exactly one space; one final LF is allowed;
 * nothing else. The login is kept byte for byte as given. Returns
 * REPORT_OK_PARSED and fills out, or the first problem found (out is then
 * unspecified).
 */
enum report_err report_parse(const char *buf, size_t n, struct report_msg *out);

/* The service name rules of the grammar, for configuration checks. */
bool report_service_valid(const char *s, size_t n);

/* The login rules of the grammar (n bytes of s). */
bool report_login_valid(const char *s, size_t n);

/*
 * Writes the canonical text of m ("fail imap 192.0.2.7 user=alice", the
 * address re-rendered, no final LF) into buf of size bytes. Returns the
 * length, or -1 if it does not fit (REPORT_MAX_MSG + 1 bytes always do).
 */
int report_format(const struct report_msg *m, char *buf, size_t size);

/* ---- who may report --------------------------------------------------- */

/*
 * An allowlist of sender ids. Root (uid 0) and the daemon's own uid are
 * always allowed by the server; they need not be listed.
 */
struct report_acl {
	uid_t *uids; /* owned; sorted, unique */
	size_t nuids;
	gid_t *gids; /* owned; sorted, unique */
	size_t ngids;
};

#define REPORT_ACL_INIT                                                        \
	{                                                                      \
		NULL, 0, NULL, 0                                               \
	}

/*
 * Adds users from list: names or numeric uids separated by spaces and/or
 * commas ("dovecot, postfix 1001"). Names are resolved through NSS now
 * (blocks). Every entry that resolves is added; returns 0, or -1 when
 * some did not, with the first such entry named in err.
 */
int report_acl_add_users(
    struct report_acl *acl, const char *list, char *err, size_t errlen);

/*
 * Adds groups from list (names or numeric gids, as above): a sender
 * whose gid is one of them is allowed, and so is every user /etc/group
 * (NSS) lists as a member of one of them at the time of this call.
 * Returns 0, or -1 with the first unknown group or member in err.
 */
int report_acl_add_groups(
    struct report_acl *acl, const char *list, char *err, size_t errlen);

/* True when uid or gid is in the list (root is not implied here). */
bool report_acl_allows(const struct report_acl *acl, uid_t uid, gid_t gid);

/* True when the list names nobody. */
bool report_acl_empty(const struct report_acl *acl);

/* Copies src into dst (dst initialised or cleaned up before). */
void report_acl_copy(struct report_acl *dst, const struct report_acl *src);

void report_acl_cleanup(struct report_acl *acl);

/* ---- the socket --------------------------------------------------------- */

/* Who sent a datagram, as the kernel tells (SCM_CREDENTIALS). */
struct report_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/*
 * The daemon's handler of one valid report from an allowed sender. m and
 * peer are borrowed for the call; now is the wall clock (epoch seconds,
 * from report_opts.now) at which the datagram was read: reports carry no
 * time of their own. Returns true when some jail took the report, false
 * when none receives this service (counted as dropped_unrouted and
 * warned about, rate-limited). The handler may call report_server_free()
 * on its server; nothing is read after that.
 */
typedef bool (*report_fn)(void *arg, const struct report_msg *m,
    const struct report_peer *peer, double now);

struct report_opts {
	const char *path; /* borrowed; NULL: REPORT_DEFAULT_SOCKET */
	bool force;       /* replace a socket someone still reads */
	bool has_group;   /* group is set: the socket file's group */
	gid_t group;      /* else the daemon's gid; the mode is 0660 */
	const struct report_acl *acl; /* borrowed (copied); NULL: nobody
	                                 but root and the daemon's uid */
	/*
	 * Rate limits, token buckets (messages per second, bucket size):
	 * per sender uid and over all senders. 0: the REPORT_* default;
	 * a negative rate: no limit. A burst of 0 with a positive rate is
	 * the default burst.
	 */
	double sender_rate, sender_burst;
	double global_rate, global_burst;
	unsigned max_senders; /* rate buckets kept; 0: REPORT_MAX_SENDERS */
	unsigned budget;      /* datagrams per wake-up; 0: REPORT_BUDGET */
	int rcvbuf;           /* SO_RCVBUF bytes; 0: the system's */
	double (*now)(void);  /* wall clock, epoch s; NULL: the real one */
	/* Test hook: monotonic ms for the rate limits; NULL: uv_now(). */
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
};

/*
 * Counters since the start. Every datagram read is counted once in
 * received and exactly once in delivered or one dropped_* counter:
 * received == delivered + dropped_denied + dropped_rate +
 * dropped_oversized + dropped_malformed + dropped_unrouted.
 */
struct report_stats {
	uint64_t received;          /* datagrams read */
	uint64_t delivered;         /* taken by a jail (handler true) */
	uint64_t delivered_fail;    /* ... of which "fail" */
	uint64_t delivered_ok;      /* ... of which "ok" */
	uint64_t dropped_denied;    /* sender not allowed, no credentials */
	uint64_t dropped_rate;      /* over the sender's or global rate */
	uint64_t dropped_oversized; /* longer than REPORT_MAX_MSG */
	uint64_t dropped_malformed; /* refused by the parser, or carrying
	                               file descriptors */
	uint64_t dropped_unrouted;  /* valid, but no jail for the service */
	uint64_t fds_closed;        /* descriptors passed along and closed */
	uint64_t wakeups;           /* readable events handled */
	uint64_t budget_hits;       /* wake-ups that stopped at the budget */
	uint64_t recv_errors;       /* recvmmsg failures other than EAGAIN */
	size_t senders;             /* rate buckets in use now */
	uint64_t senders_evicted;   /* buckets reused for a new uid */
};

struct report_server;

/*
 * Creates the datagram socket at o->path and starts reading it in loop.
 * The socket's directory is created (last level, 0755) if missing. An
 * existing socket file nobody reads (stale) is replaced; one that some
 * process still reads is an error unless o->force; anything else at the
 * path (a file, a symlink) is an error and left alone. The socket is
 * bound under umask 077, then chowned to o->group (if set) and made
 * 0660, so it is never reachable by others in between. fn(arg, ...)
 * receives the reports. Returns 0 and the server in *out, or -1 with a
 * message in err.
 */
int report_server_new(uv_loop_t *loop, const struct report_opts *o,
    report_fn fn, void *arg, struct report_server **out, char *err,
    size_t errlen);

/*
 * Replaces the allowlist (copied; NULL: empty) and the rate limits
 * (o's rate fields, same meaning as above; the buckets restart full) of
 * a running server, for reload. The socket itself (path, group) stays:
 * a new path needs a new server.
 */
void report_server_configure(struct report_server *s,
    const struct report_acl *acl, const struct report_opts *o);

/*
 * Stops reading, unlinks the socket file (only if it is still the one
 * created here) and frees the server once libuv has closed its handle:
 * let the loop run afterwards. NULL is a no-op.
 */
void report_server_free(struct report_server *s);

void report_server_stats(
    const struct report_server *s, struct report_stats *st);

/* The socket path in use (borrowed from s). */
const char *report_server_path(const struct report_server *s);

/*
 * Daemon integration (done by the daemon, not here):
 *
 * - Configuration: a jail with `backend = report` and `service = NAME`
 *   (conf_jail.service; optional conf_jail.reportusers/reportgroups
 *   narrow who may feed that jail); the server options reportsocket,
 *   reportsocketgroup, reportusers, reportgroups, reportrate and
 *   reporttotalrate (conf_server.report*; the rates map to the rate
 *   fields of struct report_opts as they are).
 * - wardend creates one report_server after the control socket when at
 *   least one report jail runs (report_acl_add_users/_groups from the
 *   server options; socket group: reportsocketgroup, else the first of
 *   reportgroups), reconfigures it on reload, frees it at stop.
 * - The handler finds every running jail whose service equals
 *   m->service (several may share one), skips jails whose own allowlist
 *   refuses peer, and calls the jail's entry point, which counts a
 *   "fail" exactly like a log failure of m->addr at now (ignore rules,
 *   "Found", failure table, ban), with the login as the <F-USER> group.
 *   It returns true when at least one jail took the report.
 */

#endif
