/*
 * ignore: fail2ban's ignore rules for a found failure or a restored ban
 * (spec 4.5; Filter.inIgnoreIPList), checked in fail2ban's order:
 * ignorecache, ignoreself (the host's own addresses), ignoreip (single
 * addresses in a hash set, networks in a list, DNS names, file: lists),
 * ignorecommand. Matches are logged as fail2ban does, INFO on
 * "fail2ban.filter": "[J] Ignore 192.0.2.1 by ignoreself rule" / "by ip" /
 * "by dns" / "by command".
 *
 * Also the process-wide host data the checks and the actions share
 * (struct ignore_env, fail2ban's DNSUtils): the host's own addresses
 * (getifaddrs, loopback, and what localhost, the host name and the FQDN
 * resolve to), the host names for <fq-hostname>/<sh-hostname>, and the
 * DNS caches (name -> addresses, address -> name: 1000 entries, 5 min,
 * as fail2ban).
 *
 * Nothing blocks the loop: names are resolved with uv_getaddrinfo /
 * uv_getnameinfo (libuv's thread pool), ignorecommand runs through spawn.
 * A check that needs either answers later through its callback; all other
 * checks answer at once. file: lists are local files read with a size cap
 * when their stat changes (looked at no more than once a second).
 */
#ifndef WARDEN_IGNORE_H
#define WARDEN_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "addr.h"
#include "conf.h"
#include "strv.h"
#include "tags.h"

struct ignore_env;
struct ignore;

#define IGNORE_DNS_CACHE_MAX  1000          /* entries per DNS cache */
#define IGNORE_DNS_CACHE_TTL  300.0         /* seconds */
#define IGNORE_DNS_MAX_ADDRS  64            /* addresses kept per name */
#define IGNORE_FILE_MAX_SIZE  (4096 * 1024) /* bytes of a file: list */
#define IGNORE_FILE_MAX_ITEMS 100000        /* entries of a file: list */
#define IGNORE_MAX_PENDING    1024          /* checks waiting per jail */
#define IGNORE_CMD_TIMEOUT    60.0          /* seconds, fail2ban's */

/* ---------------------------------------------------------------------
 * Host data (one per daemon).
 */

struct ignore_env_opts {
	double (*now)(void);  /* wall clock for cache ages; NULL = real */
	const char *hostname; /* NULL = gethostname() (tests) */
	bool no_ifaddrs;      /* tests: skip getifaddrs */
	const char *shell;    /* for ignorecommand; NULL = "/bin/sh" */
};

/*
 * A new host-data object. Own addresses start as the loopback addresses
 * and every interface address (getifaddrs); ignore_env_refresh() adds the
 * resolved names. opts may be NULL. Free with ignore_env_free() after
 * every struct ignore using it (pending lookups are abandoned; run the
 * loop afterwards so libuv can finish them).
 */
struct ignore_env *ignore_env_new(
    uv_loop_t *loop, const struct ignore_env_opts *opts);
void ignore_env_free(struct ignore_env *env);

/*
 * Resolves the host name, the FQDN (fail2ban's getfqdn: canonical names of
 * the host name, one starting with "name." preferred) and the addresses
 * of localhost, the host name and the FQDN, asynchronously; cb (may be
 * NULL) runs when done. Called at start; own addresses are refreshed the
 * same way when they are older than IGNORE_DNS_CACHE_TTL.
 */
void ignore_env_refresh(
    struct ignore_env *env, void (*cb)(void *arg), void *arg);

/* The names for <fq-hostname> and <sh-hostname> (borrowed; "" before the
 * first refresh completes unless known). */
const struct tags_host *ignore_env_host(const struct ignore_env *env);

/* True when a is one of the host's own addresses (ignoreself). */
bool ignore_env_is_self(const struct ignore_env *env, const struct addr *a);

/* fail2ban's IPv6IsAllowed() for allowipv6 = auto: an own address is
 * IPv6. */
bool ignore_env_has_ipv6(const struct ignore_env *env);

/*
 * Reverse lookup for <ip-host> (cached as fail2ban's ipToName). cb gets
 * the name, or NULL when there is none. Answers from the cache at once:
 * then returns 1 with *name set (borrowed until the next call into env)
 * and cb is not called; else returns 0 and cb runs later (a lookup in
 * flight for the same address is shared). cb is never called after
 * ignore_env_free().
 */
int ignore_env_ptr(struct ignore_env *env, const struct addr *a,
    const char **name, void (*cb)(void *arg, const char *name), void *arg);

/* Test hooks: an own address, and a preset DNS answer (name -> addrs). */
void ignore_env_add_self(struct ignore_env *env, const struct addr *a);
void ignore_env_preset_dns(
    struct ignore_env *env, const char *name, const struct addr *a, size_t n);

/* ---------------------------------------------------------------------
 * One jail's rules.
 */

enum ignore_reason {
	IGNORE_NOT = 0, /* not ignored */
	IGNORE_SELF,    /* "ignoreself rule" */
	IGNORE_IP,      /* "ip" */
	IGNORE_DNS,     /* "dns" */
	IGNORE_COMMAND, /* "command" */
	IGNORE_CACHED,  /* answered by ignorecache (no log line) */
};

/* fail2ban's wording after "by " ("ignoreself rule", "ip", ...). */
const char *ignore_reason_name(enum ignore_reason r);

/*
 * The rules of jail j (name, ignoreself, ignoreip, ignorecommand,
 * ignorecache) using env (borrowed, must outlive it); j is copied.
 * Returns the new rules; free with ignore_free().
 */
struct ignore *ignore_new(struct ignore_env *env, const struct conf_jail *j);

/*
 * Frees the rules. Pending checks are abandoned: their callbacks are not
 * called; a running ignorecommand is killed. NULL is a no-op.
 */
void ignore_free(struct ignore *ig);

/*
 * Run-time changes (`set J addignoreip/delignoreip`, `get J ignoreip`).
 * ignore_add: an address, network, "[v6]", DNS name or "file:/path";
 * returns 1 added, 0 duplicate (logged at MSG as fail2ban: "  Ignore
 * duplicate ..."), -1 empty. ignore_del: removes the entry written the
 * same way; returns 0, or -1 if absent. ignore_list: appends the entries
 * as fail2ban lists them (networks and names in order, then single
 * addresses).
 */
int ignore_add(struct ignore *ig, const char *entry);
int ignore_del(struct ignore *ig, const char *entry);
void ignore_clear(struct ignore *ig);
void ignore_list(const struct ignore *ig, struct strv *out);

void ignore_set_self(struct ignore *ig, bool on);
bool ignore_get_self(const struct ignore *ig);
/* NULL or "" disables it. */
void ignore_set_command(struct ignore *ig, const char *cmd);
const char *ignore_get_command(const struct ignore *ig);
/* key NULL disables the cache; max_time in seconds. */
void ignore_set_cache(
    struct ignore *ig, const char *key, int max_count, double max_time);

/* Jail tags for ignorecommand (<jail.found> ...); may be NULL. */
void ignore_set_info(struct ignore *ig, tags_info_fn info, void *ctx);

enum ignore_flags {
	IGNORE_F_NOLOG = 1 << 0, /* don't log "Ignore x by ..." */
};

typedef void (*ignore_cb)(void *arg, enum ignore_reason r);

/*
 * Checks ticket t (its address; a raw id only matches ignorecommand and
 * the cache) at wall time now. Returns IGNORE_NOT or a reason when the
 * answer is known at once (cb is not called), or -1 when it is pending: cb
 * runs later from the loop with the answer (t was copied). Pending checks
 * are capped at IGNORE_MAX_PENDING per jail: beyond that the check
 * answers at once from what is known (a DNS name not in the cache and
 * ignorecommand are skipped) and the drop is counted (ignore_dropped()).
 * cb NULL asks for that synchronous answer deliberately (not counted):
 * never -1, but DNS names not cached and ignorecommand do not apply.
 */
int ignore_check(struct ignore *ig, const struct action_ticket *t, double now,
    unsigned flags, ignore_cb cb, void *arg);

/* Checks dropped because too many were pending. */
unsigned long ignore_dropped(const struct ignore *ig);

#endif
