/*
 * wardend's runtime state: one struct warden holds the libuv loop, the
 * configuration in force, the jails, the database, the file sources and
 * the control socket. wardend.c builds it (options, configuration,
 * logging, daemonizing, signals), server.c answers the control socket's
 * commands on it, jail.c runs each jail. No globals except the logger's
 * settings: everything hangs off this struct.
 *
 * Ticks: every loop iteration ends in warden_commit() (a uv_check), which
 * commits the database writes queued during the iteration and only then
 * lets the jails log and act on the bans they decided, so that a ban that
 * was logged or reported survives kill -9. While the loop has more work at
 * once (a source reading a backlog: no wait for I/O follows), the ticks
 * of up to TICK_BATCH_MS share one commit. A commit does not fsync (WAL,
 * synchronous=NORMAL); the WAL checkpoint, which does, runs in libuv's
 * work queue on a second connection (db_ckpt_run), so no tick waits for
 * a disk flush.
 */
#ifndef WARDEN_WARDEND_H
#define WARDEN_WARDEND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

#include "diag.h"

struct conf;
struct ctl_reply;
struct ctl_server;
struct db;
struct db_ckpt;
struct jail;
struct report_server;
struct src_file_set;

/* Logger names, fail2ban's (its recidive filter matches them). */
#define WLOG_SERVER   "fail2ban.server"
#define WLOG_JAIL     "fail2ban.jail"
#define WLOG_FILTER   "fail2ban.filter"
#define WLOG_ACTIONS  "fail2ban.actions"
#define WLOG_OBSERVER "fail2ban.observer"
#define WLOG_DATABASE "fail2ban.database"
#define WLOG_TRANSM   "fail2ban.transmitter"

/* Default configuration directory of wardend. */
#define WARDEND_DEFAULT_CONFDIR "/etc/warden"

/* Options given on the command line (NULL/unset: from the config). */
struct warden_opts {
	const char *confdir; /* -c; NULL: WARDEND_DEFAULT_CONFDIR */
	bool confdir_given;  /* -c was given (a missing dir is an error) */
	const char *socket;  /* -s */
	const char *pidfile; /* -p */
	const char *logtarget;
	const char *loglevel;
	const char *syslogsocket;
	const char *dbfile; /* --dbfile PATH, ":memory:" or "None" */
	bool force;         /* -x: remove a stale socket */
	bool background;    /* -b */
	bool test;          /* -t */
	bool no_firewall;   /* --no-firewall: no action in any jail */
};

struct warden {
	uv_loop_t *loop;
	struct warden_opts opts;

	/* The configuration in force (owned) and where it came from. */
	struct conf *conf;
	char *confdir;     /* owned; the directory loaded, or NULL: built-in */
	bool builtin;      /* running the embedded default configuration */
	char *socket;      /* owned; socket path in use */
	char *pidfile;     /* owned */
	char *dbfile;      /* owned; NULL: no database */
	double dbpurgeage; /* seconds */
	char *sockgroup;   /* owned; read-only group name, or NULL */
	char *loglevel;    /* owned; as last set, upper case */

	struct db *db;              /* NULL: no database */
	struct src_file_set *files; /* every file jail's sources */
	struct ctl_server *ctl;
	struct report_server *report; /* NULL: no report jail */

	/* Jails in start order (fail2ban's order); owned. */
	struct jail **jails;
	size_t njails;

	/* WAL checkpoints off the loop (wardend.c, ckpt_maybe) */
	struct db_ckpt *ckpt; /* the second connection, or NULL */
	uv_work_t ckpt_work;  /* one db_ckpt_run in libuv's pool */
	bool ckpt_busy;       /* ckpt_work queued or running */
	int ckpt_rc;          /* its result (set in the pool) */
	uint64_t ckpt_ns;     /* its duration (set in the pool) */

	/* commits off the loop (wardend.c, commit_async) */
	struct db_job *dbjob; /* the commit job out, or NULL */
	uv_work_t dbwork;     /* its db_job_run in libuv's pool */

	uv_check_t tick;               /* warden_commit after every iteration */
	uv_prepare_t tick2;            /* and before it (timers, idle work) */
	uint64_t tick_commit;          /* uv_now() of the last tick's commit */
	uv_timer_t purge;              /* hourly db_purge */
	uv_timer_t possave;            /* lazy log position saving */
	uv_signal_t sig[5];            /* TERM INT HUP USR1 PIPE(ignored) */
	bool stopping;                 /* shutdown under way */
	bool starting;                 /* jails still being started */
	uv_idle_t starter;             /* starts one jail per loop turn */
	size_t start_next;             /* next jail of conf to start */
	struct ctl_reply **ready_wait; /* `server-status` waiting */
	size_t nready_wait;
	bool notify; /* NOTIFY_SOCKET set: sd_notify */
	int exit_code;
	double started; /* wall clock at start, epoch s */
};

/* Wall clock, epoch seconds (fractions); in jail.c. */
double warden_now(void);

/*
 * Commits queued database writes and then lets every jail announce and
 * act on the bans it decided (log "Ban", run actions). Called after each
 * loop iteration and by command handlers before they reply. Never fails:
 * a failed commit is logged and retried on the next tick (the bans then
 * wait).
 */
void warden_commit(struct warden *w);

/* Looks a running jail up by name; NULL if none. */
struct jail *warden_find_jail(struct warden *w, const char *name);

/*
 * Re-reads the configuration and applies it (SIGHUP, `reload`): jails
 * that survive keep counters and bans; removed jails stop; new ones
 * start. name is a jail or NULL for all; restart stops and starts the
 * affected jails (bans restored from the database); unban lifts their
 * bans first. A configuration that cannot be loaded (or does not have
 * the jail name) leaves everything as it was: returns -1 with the reason
 * in err (fail2ban's "Failed during configuration: <err>"). During
 * startup or shutdown: -2 with the reason in err.
 */
int warden_reload(struct warden *w, const char *name, bool restart, bool unban,
    bool if_exists, char *err, size_t errlen);

/*
 * `start JAIL` / `stop JAIL`: starts the configured jail name (-1 when it
 * is not configured or already runs), or stops a running one (removing
 * it until the next start or reload).
 */
int warden_start_jail(struct warden *w, const char *name);
void warden_stop_jail(struct warden *w, struct jail *j);

/* Log level as last set, upper case ("INFO"); borrowed. */
const char *warden_loglevel(const struct warden *w);
int warden_set_loglevel(struct warden *w, const char *level);

/*
 * `server-status`: replies "Server ready" to r once every jail has
 * started (now, or when the last one is up); r NULL: answers those
 * waiting.
 */
void warden_ready(struct warden *w, struct ctl_reply *r);

/* Starts shutdown: jails stop (actionflush/unban, actionstop), the loop
 * ends. Idempotent. */
void warden_shutdown(struct warden *w);

/* Control socket handler (server.c); arg is the struct warden. */
struct ctl_reply;
struct ctl_peer;
void server_handle(void *arg, struct ctl_reply *reply, int argc, char **argv,
    const struct ctl_peer *peer);

/*
 * The built-in default configuration (default_conf.c): written into a new
 * private temporary directory that conf_load() can read. journal: the
 * sshd jail reads the journal instead of DEFAULT_CONF_AUTHLOG; firewall:
 * it bans through DEFAULT_CONF_ACTION (the native nftables action), else
 * it has no action (bans are logged and recorded only: --no-firewall).
 * Returns the directory (new string; remove it with
 * default_conf_remove), or NULL with a message in err.
 */
#define DEFAULT_CONF_AUTHLOG "/var/log/auth.log"
#define DEFAULT_CONF_ACTION  "warden-nft"
char *default_conf_materialize(
    bool journal, bool firewall, char *err, size_t errlen);
void default_conf_remove(const char *dir);
/* The built-in jail.conf's text (new string). */
char *default_conf_jail_text(bool journal, bool firewall);

/* The shipped filter files (etc/warden/filter.d/sshd.conf and
 * common.conf), embedded at build time. */
extern const char default_conf_sshd_filter[];
extern const char default_conf_common_filter[];

/*
 * The default configuration directory and its socket and pid file, the
 * same for wardend and the warden client: confdir NULL means
 * WARDEND_DEFAULT_CONFDIR; the paths are ctl_paths_resolve()'s (the
 * directory's warden.* or fail2ban.* files, or the built-in
 * CTL_DEFAULT_* when it has none, e.g. because it does not exist).
 * Fills out (free with ctl_paths_cleanup) and returns the directory.
 */
struct ctl_paths;
const char *default_conf_paths(const char *confdir, struct ctl_paths *out);

#endif
