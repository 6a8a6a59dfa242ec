/*
 * Warden's configuration: reads an /etc/fail2ban (or /etc/warden) tree
 * unchanged and resolves it exactly as fail2ban 1.0.2's client does
 * (configparser dialect, .conf/.d/.local layering, [INCLUDES], %(x)s and
 * <tag> interpolation, jail.conf composition, filter and action files).
 * The result is an immutable struct conf: server options and every enabled
 * jail with its filter definition and actions, typed for the daemon.
 *
 * Nothing here prints or logs: every problem goes to a struct diags with
 * the file and line it comes from. A jail with an error is disabled and
 * named in conf->broken; the other jails still load. Reading touches only
 * the configuration files and expands logpath globs; it never runs
 * commands or resolves names.
 *
 * Owner: the conf module (src/conf*.c, src/ini.c, src/timeval.c).
 */
#ifndef WARDEN_CONF_H
#define WARDEN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "diag.h"
#include "filterdef.h"
#include "strv.h"

/* Caps on what a configuration may make us do (errors, never crashes). */
#define CONF_MAX_FILE_SIZE     (1024 * 1024) /* bytes per config file */
#define CONF_MAX_LINE_LEN      (64 * 1024)   /* bytes per config line */
#define CONF_MAX_VALUE_LEN     (1024 * 1024) /* bytes per interpolated value */
#define CONF_MAX_FILES         4096          /* config files per load */
#define CONF_MAX_INCLUDE_DEPTH 32            /* nested [INCLUDES] */

/* The database when the server file set does not name one: fail2ban's
 * for fail2ban.conf, Warden's for warden.conf. */
#define F2B_DEFAULT_DBFILE    "/var/lib/fail2ban/fail2ban.sqlite3"
#define WARDEN_DEFAULT_DBFILE "/var/lib/warden/warden.sqlite3"

/* One ordered key/value pair (action properties, backend parameters). */
struct conf_kv {
	char *key;   /* owned */
	char *value; /* owned */
};

struct conf_kvlist {
	struct conf_kv *v; /* in order; keys unique */
	size_t n;
	size_t cap;
};

/* Returns the value for key in l, or NULL. */
const char *conf_kv_get(const struct conf_kvlist *l, const char *key);

enum conf_ignore_kind {
	CONF_IGNORE_ADDR, /* addr: one address or a network */
	CONF_IGNORE_DNS,  /* text: a host name, resolved at check time */
	CONF_IGNORE_FILE, /* text: "file:/path" ([1.1] feature; path after
	                     the colon), a list of entries read at run time */
};

struct conf_ignore {
	enum conf_ignore_kind kind;
	struct addr addr; /* CONF_IGNORE_ADDR only */
	char *text;       /* owned; the entry as written */
};

struct conf_logpath {
	char *pattern;     /* owned; the path or glob as written */
	bool tail;         /* "tail": start at the end; default "head" */
	struct strv files; /* files the glob matched at load time, in
	                      fail2ban's order; may be empty */
};

/* Commands of an action file's [Definition], fail2ban's names. */
enum conf_action_cmd {
	CONF_ACT_START,   /* actionstart */
	CONF_ACT_STOP,    /* actionstop */
	CONF_ACT_FLUSH,   /* actionflush */
	CONF_ACT_RELOAD,  /* actionreload */
	CONF_ACT_CHECK,   /* actioncheck */
	CONF_ACT_REPAIR,  /* actionrepair */
	CONF_ACT_BAN,     /* actionban */
	CONF_ACT_PROLONG, /* actionprolong */
	CONF_ACT_REBAN,   /* actionreban */
	CONF_ACT_UNBAN,   /* actionunban */
	CONF_ACT_NCMDS
};

/* The fail2ban option name of a command ("actionban"). */
const char *conf_action_cmd_name(enum conf_action_cmd c);

struct conf_action {
	char *name;      /* owned; as named in the jail: "iptables-multiport",
	                    "smtp.py" */
	char *actname;   /* owned; unique within the jail ("iptables-tcp") */
	char *file;      /* owned; action.d/NAME.conf as read (the first file
	                    of its layering), or the .py path */
	int line;        /* line of the jail's action option (in jail_file) */
	char *jail_file; /* owned; file of the jail's action option */
	bool python;     /* a .py action: only name, actname, file and
	                    python_params are set */
	char *python_params; /* owned; JSON object of the parameters, as
	                        fail2ban sends it; NULL unless python */
	/*
	 * Commands, resolved client-side as fail2ban does (jail parameters,
	 * [Init], [Definition], DEFAULT; %(x)s and <tag>). Runtime tags
	 * (<ip>, <matches>, <F-USER> ...), tags with ?family= variants,
	 * <timeout> and <bantime> are left for execution. NULL when the
	 * action file does not define the command.
	 */
	char *cmd[CONF_ACT_NCMDS];
	int start_on_demand; /* actionstart_on_demand: -1 unset, 0, 1 */
	int repair_on_unban; /* actionrepair_on_unban: -1 unset, 0, 1 */
	int norestored;      /* norestored: -1 unset, 0, 1 */
	/*
	 * Properties in the order fail2ban sends them: the jail's
	 * parameters, name, actname, then every [Init] option (raw, tags
	 * unresolved) including "opt?family=inet6" variants; never known/x.
	 * These are the tags available when a command runs.
	 */
	struct conf_kvlist props;
	double timeout; /* seconds; the "timeout" property, default 60 */
	/*
	 * Warden's actionuserlock / actionuserunlock (login tracking,
	 * usermaxretry): resolved like the commands above (the <user> tag
	 * is left for execution, where it is shell-escaped); never in the
	 * fail2ban stream. NULL when the action file does not define them.
	 */
	char *userlock;
	char *userunlock;
};

/* bantime.* (spec 4.4); only meaningful with a database. */
struct conf_bantime_ext {
	bool increment;    /* bantime.increment */
	double factor;     /* bantime.factor evaluated; default 1 */
	char *factor_expr; /* owned; as written, or NULL */
	char *formula;     /* owned; bantime.formula as written (a Python
	                      expression), or NULL for the default */
	long *multipliers; /* owned; bantime.multipliers, or NULL */
	size_t nmultipliers;
	double maxtime;    /* seconds; < 0 when unset */
	double rndtime;    /* seconds; < 0 when unset */
	bool overalljails; /* bantime.overalljails */
};

struct conf_ignorecache {
	char *key;       /* owned; NULL when disabled */
	int max_count;   /* default 100 */
	double max_time; /* seconds; default 300 */
};

struct conf_jail {
	char *name; /* owned; the section name */
	char *file; /* owned; first file defining the section */
	int line;   /* its header line there */

	char *backend;      /* owned; verbatim "systemd[journalflags=1]" */
	char *backend_name; /* owned; lower-cased name part: "auto",
	                       "polling", "pyinotify", "systemd",
	                       "report" ... */
	struct conf_kvlist backend_params;
	/*
	 * backend = report (a Warden backend: reports from the report
	 * socket, report.h; no filter, no log files). service is required
	 * and valid (report_service_valid); reportusers/reportgroups, when
	 * set, narrow who may feed this jail (lists as written, resolved by
	 * the daemon). All NULL for other backends.
	 */
	char *service;      /* owned */
	char *reportusers;  /* owned; NULL when unset */
	char *reportgroups; /* owned; NULL when unset */

	char *filter_spec;       /* owned; "sshd[mode=aggressive]" or NULL
	                            when the jail has no filter */
	struct filterdef filter; /* the effective filter: the filter file's
	                            options, overridden by the jail's */

	int maxretry;    /* default 3 */
	int maxmatches;  /* default 5 (server) */
	double findtime; /* seconds; default 600 */
	double bantime;  /* seconds; -1 = permanent; default 600 */
	struct conf_bantime_ext bantime_ext;
	bool ignoreself;              /* default true */
	struct conf_ignore *ignoreip; /* in order, duplicates dropped */
	size_t nignoreip;
	char *ignorecommand; /* owned; NULL when unset or empty */
	struct conf_ignorecache ignorecache;
	char *logencoding;             /* owned; "auto" when unset */
	char *logtimezone;             /* owned; NULL when unset */
	struct conf_logpath *logpaths; /* empty for systemd backends */
	size_t nlogpaths;
	/* maxfailures (Warden's): the most keys whose failures the jail
	 * keeps (the stalest are dropped beyond); 0 when unset. */
	long maxfailures;
	/*
	 * Login tracking (Warden's; never in the stream): usermaxretry
	 * failures of one login (<F-USER>) within userfindtime, over every
	 * address, lock the login for userbantime. usermaxretry 0 = off
	 * (default); userfindtime/userbantime NAN when unset (the jail's
	 * findtime/bantime); userbantime -1 = permanent.
	 */
	int usermaxretry;
	double userfindtime;
	double userbantime;
	/*
	 * An aggregate jail (`jails = a, b, c`, Warden's; never in the
	 * stream): the member jails whose failures it counts, in the
	 * order written, every one an enabled jail of this configuration
	 * that is not an aggregate itself (members that are disabled or
	 * broken are dropped with a warning). Empty for other jails. An
	 * aggregate jail has no filter and no log files.
	 */
	struct strv members;
	struct conf_action *actions; /* in order */
	size_t nactions;
};

/* Server options (fail2ban.conf, or warden.conf when present). */
struct conf_server {
	char *source;       /* owned; "warden" or "fail2ban": whose file set
	                       was read */
	char *loglevel;     /* owned; default "INFO" */
	char *logtarget;    /* owned; default "/var/log/fail2ban.log" */
	char *syslogsocket; /* owned; default "auto" */
	char *socket;       /* owned; default /var/run/fail2ban/... */
	char *pidfile;      /* owned */
	char *allowipv6;    /* owned; "auto", "yes", "no" */
	char *dbfile;       /* owned; NULL when "None" (no database) */
	int dbmaxmatches;   /* default 10 */
	double dbpurgeage;  /* seconds; default 86400 */
	long stacksize;     /* [Thread] stacksize in KiB; 0 = default */
	/* The report socket (Warden options; report.h): path (default
	 * REPORT_DEFAULT_SOCKET, NULL for "None"), the socket file's group,
	 * and who may report (lists as written); NULL when unset. */
	char *reportsocket;
	char *reportsocketgroup;
	char *reportusers;
	char *reportgroups;
	/* reportrate (per sender uid) and reporttotalrate (all senders):
	 * "RATE[/BURST]" reports per second, or "unlimited" (-1); 0 when
	 * unset (report.h's defaults). */
	double reportrate, reportburst;
	double reporttotalrate, reporttotalburst;
};

struct conf_broken {
	char *name;  /* owned; jail name */
	char *error; /* owned; first error that disabled it */
};

struct conf_priv;

/* The whole configuration. Immutable once conf_load() returns it. */
struct conf {
	char *dir; /* owned; the base directory, as given (trailing '/'
	              stripped) */
	struct conf_server server;
	struct conf_jail *jails; /* enabled jails without errors, in
	                            fail2ban's order */
	size_t njails;
	struct conf_broken *broken; /* enabled jails disabled by errors */
	size_t nbroken;
	struct conf_priv *priv; /* the fail2ban command stream (for dump) */
};

/*
 * Loads the configuration under dir: fail2ban.conf (or warden.conf when
 * any warden.* file exists) and jail.conf with their layering, every
 * enabled jail's filter and actions. Problems go to d with file:line; a
 * jail with an error is listed in (*out)->broken instead of jails.
 * Returns 0 and a new conf in *out (free with conf_free) unless dir does
 * not exist or is not a directory: then -1, *out = NULL. Check
 * d->nerrors to know whether the configuration is clean. Blocks on file
 * I/O only.
 */
int conf_load(const char *dir, struct conf **out, struct diags *d);

/* Options of conf_load_flags(). */
enum conf_load_flag {
	/*
	 * The daemon's reading: a file jail whose logpath matches no file
	 * yet is kept in jails[] with a warning (wardend watches for the
	 * file and reads it once it appears) instead of being disabled as
	 * fail2ban does. `warden check` sets it (it checks what wardend
	 * would run); `warden dump` does not (its output is fail2ban's).
	 */
	CONF_LOAD_DAEMON = 1u << 0,
};

/* conf_load() with flags (enum conf_load_flag, ORed). */
int conf_load_flags(
    const char *dir, unsigned flags, struct conf **out, struct diags *d);
void conf_free(struct conf *c);

/* Returns the enabled jail called name, or NULL. Borrowed from c. */
const struct conf_jail *conf_find_jail(const struct conf *c, const char *name);

/*
 * Loads one filter the way fail2ban-regex does. spec is "NAME[k=v,...]"
 * (read as confdir/filter.d/NAME with .conf/.d/.local layering; a NAME
 * ending in .conf or .local is accepted too) or a path to a filter file
 * (read with its [INCLUDES] and its .local sibling). vars is NULL or a
 * NULL-terminated array of key, value pairs given to the filter as
 * configparser vars (jail options); a "backend" among them selects the
 * automatic logtype (journal for systemd*, else file). Fills out (which
 * must be initialised with filterdef_init, and is reset first) with the
 * resolved options, each with the file:line it came from. Returns 0, or
 * -1 with errors in d (unknown filter, syntax, interpolation).
 */
int conf_filter_load(const char *confdir, const char *spec,
    const char *const *vars, struct filterdef *out, struct diags *d);

/*
 * Writes the command stream exactly as `fail2ban-client -c DIR -d` prints
 * it (one Python-repr list per line). When fail2ban itself would refuse
 * the configuration as a whole, writes its one-line error instead and
 * returns -1; else returns 0.
 */
int conf_dump(const struct conf *c, FILE *fp);

/*
 * Writes a JSON document (stable key order) of the server options and
 * every enabled jail with its resolved filter and actions, and the
 * broken jails. Returns 0, or -1 on a write error.
 */
int conf_dump_json(const struct conf *c, FILE *fp);

/*
 * The closest name to word among candidates (NULL-terminated) by edit
 * distance, if close enough to be a likely typo; else NULL. Borrowed.
 */
const char *conf_did_you_mean(const char *word, const char *const *candidates);

#endif
