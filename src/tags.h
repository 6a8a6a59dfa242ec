/*
 * tags: fail2ban's run-time <tag> substitution for action commands and
 * ignorecommand (spec 5.2, 5.3; CommandAction.replaceTag and
 * replaceDynamicTags). Two passes:
 *
 *  1. static: the action's properties (its [Init] options, the commands
 *     themselves, name, actname, timeout ...) are resolved recursively,
 *     `tag?family=inet6` tried before `tag` for that family; <br>, <sp>,
 *     <fq-hostname>, <sh-hostname> are replaced; unknown tags stay as
 *     they are; a property referring to itself is an error.
 *  2. dynamic: the ticket's values (<ip>, <matches>, <F-USER> ...) are
 *     substituted once, never recursively. A value holding any shell
 *     special character is not pasted into the script: the tag becomes
 *     `$f2bV_<name>` and the value travels as an argument of `sh -c`, the
 *     script starting with a line `f2bV_a=$0 f2bV_b=$1 ` (fail2ban's
 *     buildShellCmd), so attacker text never reaches the shell parser.
 *
 * Pure string work: no I/O, no DNS (<ip-host> must be resolved by the
 * caller beforehand), no logging. Everything is bounded: substitution is
 * capped at TAGS_MAX_OUT bytes, recursion at fail2ban's 25 rounds.
 */
#ifndef WARDEN_TAGS_H
#define WARDEN_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "fkey.h"
#include "sbuf.h"
#include "strv.h"

struct fval;

#define TAGS_MAX_ROUNDS 25            /* fail2ban's MAX_TAG_REPLACE_COUNT */
#define TAGS_MAX_OUT    (1024 * 1024) /* bytes of one substituted command */

/*
 * One captured filter group as fail2ban's ticket data holds it: the
 * dictionary key (lower-case group name, "user", "fid", "fport", ...) and
 * Python's str() of the value (tags_fval_str() makes it from a filter
 * value). <F-USER> looks up "user", <F-ID> "fid", <F-PORT> "fport".
 */
struct action_group {
	const char *name;  /* borrowed */
	const char *value; /* borrowed */
};

/*
 * What an action (or ignorecommand) sees of a ban or failure. Everything
 * is borrowed for the duration of the call that receives it; modules that
 * keep a ticket (the action queue) copy it with tags_ticket_dup().
 */
struct action_ticket {
	struct fkey key;  /* the id (<fid>); RAW/USER bytes borrowed */
	bool has_addr;    /* addr is the address acted on (<ip>); false
	                     for a raw id: <ip> is then the id text and
	                     <family> is "None", as in fail2ban */
	struct addr addr; /* single address (prefix 32/128) */
	double time;      /* ticket time: last failure, epoch seconds */
	long bantime;     /* effective ban time, seconds; -1 permanent */
	bool own_bantime; /* the ticket carried its own bantime (else
	                     <raw-ticket> prints bantime=None) */
	long bancount;    /* bans of this key so far, this one included */
	long failures;    /* failures counted for this ticket */
	const char *const *matches; /* matched log lines, oldest first */
	size_t nmatches;
	const struct action_group *groups; /* captured groups, in order */
	size_t ngroups;
	bool restored;      /* restored from the database at start */
	bool restore_last;  /* the last of the bans restored at start: no
	                       more come (a backend waiting for them may
	                       reconcile now) */
	bool restore_more;  /* more restored bans come in later batches */
	unsigned ban_epoch; /* the jail's epoch when it was last (re)banned
	                       (see action.h, actq_reban) */
};

/*
 * Deep copy of src into dst (one allocation for all its strings and
 * arrays). Free with tags_ticket_free(), only a copy made here (or a
 * zeroed ticket: a no-op); its fields stay as copied.
 */
void tags_ticket_dup(
    struct action_ticket *dst, const struct action_ticket *src);
void tags_ticket_free(struct action_ticket *t);

/* The host's names for <fq-hostname> and <sh-hostname> (ignore_env). */
struct tags_host {
	const char *fqdn;     /* NULL = "" */
	const char *hostname; /* NULL = "" */
};

/*
 * The static properties of one action, in order (keys unique). Values of
 * `name?family=inet6` keys are conditional variants. Resolved forms are
 * cached per family and dropped when a property changes.
 */
struct tags_props;

struct tags_props *tags_props_new(void);
void tags_props_free(struct tags_props *p);
/* Adds key (copied) with value (copied), or replaces its value. */
void tags_props_set(struct tags_props *p, const char *key, const char *value);
/* Removes key; returns 0, or -1 if it was not there. */
int tags_props_unset(struct tags_props *p, const char *key);
/* The raw value of key, or NULL. Borrowed from p until it changes. */
const char *tags_props_get(const struct tags_props *p, const char *key);
size_t tags_props_count(const struct tags_props *p);
/* The i-th key and raw value (i < count), in insertion order. */
void tags_props_at(
    const struct tags_props *p, size_t i, const char **key, const char **value);
/* True when some key has a `?family=` variant (a family-aware action). */
bool tags_props_has_cond(const struct tags_props *p);

/*
 * fail2ban's CommandAction.replaceTag(query, properties, conditional):
 * appends query with every property tag replaced (recursively resolved,
 * `tag?family=F` first when family is "inet4"/"inet6"; family NULL or ""
 * means no conditional), <br> <sp> <fq-hostname> <sh-hostname> replaced,
 * other tags kept. The tags matches/ipmatches/ipjailmatches, should a
 * property carry them, are backslash-escaped (tags_escape_tag). Returns 0,
 * or -1 with fail2ban's message in err ("properties contain self
 * referencing definitions and cannot be resolved, fail tag: ...",
 * "unexpected too long replacement interpolation, ...") or when the
 * result would exceed TAGS_MAX_OUT.
 */
int tags_replace_static(struct tags_props *p, const char *query,
    const char *family, const struct tags_host *host, struct sbuf *out,
    struct sbuf *err);

/* The dynamic (ticket) tags a substitution can use; see tags_dyn.used. */
enum tags_dyn_bit {
	TAGS_IP = 1u << 0,
	TAGS_FAMILY = 1u << 1,
	TAGS_IP_REV = 1u << 2,
	TAGS_IP_HOST = 1u << 3,
	TAGS_FID = 1u << 4,
	TAGS_FAILURES = 1u << 5,
	TAGS_TIME = 1u << 6,
	TAGS_BANTIME = 1u << 7,
	TAGS_BANCOUNT = 1u << 8,
	TAGS_MATCHES = 1u << 9,
	TAGS_RESTORED = 1u << 10,
	TAGS_FDATA = 1u << 11, /* F-* groups */
	TAGS_IPMATCHES = 1u << 12,
	TAGS_IPJAILMATCHES = 1u << 13,
	TAGS_IPFAILURES = 1u << 14,
	TAGS_IPJAILFAILURES = 1u << 15,
	TAGS_RAW_TICKET = 1u << 16,
	TAGS_JAIL_BANNED = 1u << 17,
	TAGS_JAIL_BANNED_TOTAL = 1u << 18,
	TAGS_JAIL_FOUND = 1u << 19,
	TAGS_JAIL_FOUND_TOTAL = 1u << 20,
	TAGS_USER = 1u << 21, /* <user>, with tags_dyn.user_tag only */
};

/*
 * Values only the jail knows (database aggregates, jail counters),
 * computed on demand. tag is one of "ipmatches", "ipjailmatches",
 * "ipfailures", "ipjailfailures", "jail.banned", "jail.banned_total",
 * "jail.found", "jail.found_total". Append the value's Python str() to
 * out and return 0, or return -1 (the tag then stays in the command as
 * written, as with no database in fail2ban the ticket's own values are
 * used: the module falls back to them for the ip* tags).
 */
typedef int (*tags_info_fn)(void *ctx, const struct action_ticket *t,
    const char *tag, struct sbuf *out);

/* Everything the dynamic pass reads (fail2ban's ActionInfo). */
struct tags_dyn {
	const struct action_ticket *t; /* NULL: fail2ban's "empty" ticket
	                                  used for start/stop/flush (ip "",
	                                  failures 0, no matches) */
	const char *family;  /* non-NULL: overrides <family> (start/stop) */
	double now;          /* <time> of the empty ticket, epoch seconds */
	long jail_bantime;   /* <bantime> of the empty ticket */
	const char *ip_host; /* <ip-host>: the resolved name, or NULL (the
	                        lookup failed or was not made: "None") */
	const struct tags_host *host; /* may be NULL */
	tags_info_fn info;            /* may be NULL */
	void *info_ctx;
	const char *ticket_class; /* <raw-ticket> class name; NULL =
	                             "BanTicket" */
	bool user_tag;            /* Warden's actionuserlock/unlock: <user>
	                             is the ticket's "user" group, escaped
	                             like every value (elsewhere <user>
	                             stays as written, as in fail2ban) */
	bool family_only;         /* fail2ban's replaceDynamicTags(cmd,
	                             {'family': f}) in _getOperation: only
	                             <family> and the host tags; every
	                             <F-NAME> becomes "" */
	unsigned used;            /* out: enum tags_dyn_bit of every value the
	                             substitution computed (tags_ainfo_repr) */
};

/*
 * A command ready for spawn_run(): the script (with the f2bV_ assignment
 * line first when some value had to travel as an argument) and those
 * argument values in order ($0, $1, ...).
 */
struct tags_cmd {
	struct sbuf script;
	struct strv args;
};

void tags_cmd_init(struct tags_cmd *c);
void tags_cmd_cleanup(struct tags_cmd *c);

/*
 * fail2ban's replaceDynamicTags(cmd, aInfo): fills out (which must be
 * initialised; it is reset first) from cmd with every ticket tag (<ip>,
 * <ip-rev>, <ip-host>, <family>, <fid>, <failures>, <time>, <bantime>,
 * <bancount>, <matches>, <restored>, <raw-ticket>, <ipmatches>,
 * <ipjailmatches>, <ipfailures>, <ipjailfailures>, <jail.*>) replaced
 * once, then <F-NAME> groups (absent -> ""), then <br> <sp>
 * <fq-hostname> <sh-hostname>. Values with a character of
 * \ # & ; ` | * ? ~ < > ^ ( ) [ ] { } $ ' " CR LF become $f2bV_<tag>
 * (non-word characters of the tag as "_": $f2bV_ip_rev, $f2bV_F_user).
 * Returns 0, or -1 when the script would exceed TAGS_MAX_OUT (out is
 * then empty).
 */
int tags_replace_dynamic(
    const char *cmd, struct tags_dyn *d, struct tags_cmd *out);

/*
 * Substitution without a ticket, fail2ban's replaceTag(cmd, {'ip': ip})
 * used by ignorecommand and ignorecache when only an address is known:
 * <ip> and the host tags replaced, nothing escaped. Appends to out.
 */
void tags_replace_ip(const char *cmd, const char *ip,
    const struct tags_host *host, struct sbuf *out);

/* True when cmd contains the literal tag text (e.g. "<ip-host>"). */
bool tags_mentions(const char *cmd, const char *tag);

/*
 * fail2ban's escapeTag: a backslash before each of \ # & ; ` | * ? ~ < >
 * ^ ( ) [ ] { } $ ' " and "\n" / "\r" as "\\n" / "\\r". Appends to out.
 */
void tags_escape_tag(const char *s, size_t n, struct sbuf *out);

/* Python's repr() of a float (1768046401.0, 0.1, 1e+16, inf). */
void tags_pyfloat(double v, struct sbuf *out);

/* Python's repr() of a str (quotes and escapes as Python 3 prints). */
void tags_pyrepr(const char *s, size_t n, struct sbuf *out);

/* Python's str() of a filter value (the string itself, a set/tuple/list in
 * repr form, an int in decimal); for building struct action_group. */
void tags_fval_str(const struct fval *v, struct sbuf *out);

/*
 * The ticket as fail2ban prints it ("BanTicket: ip=... time=...
 * bantime=... bancount=... #attempts=... matches=[...]"), <raw-ticket>.
 */
void tags_ticket_repr(
    const struct action_ticket *t, const char *cls, struct sbuf *out);

/*
 * The ActionInfo as fail2ban's error messages print it ("ActionInfo({'ip':
 * '192.0.2.1', 'family': 'inet4', 'fid': <function ...>, 'F-*': {...}})"):
 * the values d computed (d->used), in fail2ban's key order.
 */
void tags_ainfo_repr(const struct tags_dyn *d, struct sbuf *out);

#endif
