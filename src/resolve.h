/*
 * resolve: host name -> addresses for usedns = yes/warn (fail2ban's
 * DNSUtils.textToIp with its name cache), asynchronously through
 * uv_getaddrinfo so the loop never blocks. Answers are cached with a
 * bounded size and a TTL (fail2ban's 1000 entries, 5 minutes), failed
 * lookups too (as empty answers), so a flood of lines naming the same
 * host costs one lookup. Lookups under way for the same name share one
 * request; the number of names being looked up at once is capped.
 *
 * Single-threaded (the loop's thread); libuv's thread pool does the
 * blocking getaddrinfo.
 */
#ifndef WARDEN_RESOLVE_H
#define WARDEN_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "addr.h"

#define RESOLVE_CACHE_MAX 1000  /* names cached */
#define RESOLVE_TTL       300.0 /* seconds an answer is kept */
#define RESOLVE_MAX_ADDRS 32    /* addresses kept per name */
#define RESOLVE_INFLIGHT  64    /* names looked up at once */
#define RESOLVE_WAITERS   256   /* callers waiting on one name */

struct resolve;

/* Answer callback: addrs[0..n) (n may be 0: no address or an error; err
 * is then a libuv error text or NULL). Borrowed for the call. */
typedef void (*resolve_cb)(void *arg, const char *name,
    const struct addr *addrs, size_t n, const char *err);

/* A resolver on loop (borrowed); now: wall clock, NULL = real. */
struct resolve *resolve_new(uv_loop_t *loop, double (*now)(void));

/*
 * Frees the resolver: waiting callers are never called back; lookups
 * still running in the thread pool finish into nothing (run the loop
 * afterwards so libuv can release them). NULL is a no-op.
 */
void resolve_free(struct resolve *r);

/*
 * Looks name up. A cached answer returns 1 with *addrs and *n set (valid
 * until the next call into r) and cb is not called. Otherwise returns 0
 * and cb(arg, ...) runs later from the loop; or -1 when too many lookups
 * are under way (nothing will be called).
 */
int resolve_name(struct resolve *r, const char *name, const struct addr **addrs,
    size_t *n, resolve_cb cb, void *arg);

/* Forgets callbacks with this arg (their owner goes away). */
void resolve_cancel(struct resolve *r, void *arg);

/* Drops every cached answer (fail2ban clears its caches on reload). */
void resolve_clear(struct resolve *r);

#endif
