/*
 * Asynchronous name lookups with a bounded cache (see resolve.h). The
 * cache is a small array searched linearly: at most RESOLVE_CACHE_MAX
 * names, the oldest entry replaced when full; lookups happen at the rate
 * of log lines naming hosts, not per line, so a scan is cheap enough.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "resolve.h"
#include "xmalloc.h"

struct centry {
	char *name; /* owned; NULL: free slot */
	double at;  /* when answered, epoch s */
	struct addr a[RESOLVE_MAX_ADDRS];
	size_t n;
};

struct waiter {
	resolve_cb cb;
	void *arg; /* NULL once cancelled */
};

struct req {
	uv_getaddrinfo_t gai;
	struct resolve *r; /* NULL: the resolver is gone */
	char *name;
	struct waiter *w;
	size_t nw, capw;
	struct req *next;
};

struct resolve {
	uv_loop_t *loop;
	double (*now)(void);
	struct centry *cache; /* RESOLVE_CACHE_MAX slots */
	struct req *reqs;     /* under way */
	size_t nreqs;
};

static double
rnow(const struct resolve *r)
{
	struct timespec ts;

	if (r->now)
		return r->now();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct resolve *
resolve_new(uv_loop_t *loop, double (*now)(void))
{
	struct resolve *r = xcalloc(1, sizeof(*r));

	r->loop = loop;
	r->now = now;
	return r; /* the cache is allocated at the first answer */
}

void
resolve_clear(struct resolve *r)
{
	for (size_t i = 0; r->cache != NULL && i < RESOLVE_CACHE_MAX; i++) {
		free(r->cache[i].name);
		r->cache[i].name = NULL;
	}
}

void
resolve_free(struct resolve *r)
{
	if (r == NULL)
		return;
	for (struct req *q = r->reqs; q; q = q->next) {
		q->r = NULL;
		uv_cancel((uv_req_t *)&q->gai);
	}
	resolve_clear(r);
	free(r->cache);
	free(r);
}

void
resolve_cancel(struct resolve *r, void *arg)
{
	if (r == NULL)
		return;
	for (struct req *q = r->reqs; q; q = q->next)
		for (size_t i = 0; i < q->nw; i++)
			if (q->w[i].arg == arg)
				q->w[i].arg = NULL;
}

static struct centry *
cache_find(struct resolve *r, const char *name)
{
	double now = rnow(r);

	for (size_t i = 0; r->cache != NULL && i < RESOLVE_CACHE_MAX; i++) {
		struct centry *e = &r->cache[i];

		if (e->name == NULL || strcmp(e->name, name) != 0)
			continue;
		if (now - e->at > RESOLVE_TTL || now < e->at - RESOLVE_TTL) {
			free(e->name);
			e->name = NULL;
			return NULL;
		}
		return e;
	}
	return NULL;
}

static struct centry *
cache_slot(struct resolve *r)
{
	struct centry *old;

	if (r->cache == NULL)
		r->cache = xcalloc(RESOLVE_CACHE_MAX, sizeof(*r->cache));
	old = &r->cache[0];

	for (size_t i = 0; i < RESOLVE_CACHE_MAX; i++) {
		if (r->cache[i].name == NULL)
			return &r->cache[i];
		if (r->cache[i].at < old->at)
			old = &r->cache[i];
	}
	free(old->name);
	old->name = NULL;
	return old;
}

static void
req_unlink(struct resolve *r, struct req *q)
{
	struct req **pp = &r->reqs;

	while (*pp && *pp != q)
		pp = &(*pp)->next;
	if (*pp)
		*pp = q->next;
	r->nreqs--;
}

static void
gai_done(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
	struct req *q = g->data;
	struct resolve *r = q->r;
	struct addr a[RESOLVE_MAX_ADDRS];
	size_t n = 0;

	for (struct addrinfo *ai = res; status == 0 && ai; ai = ai->ai_next) {
		struct addr x;
		char txt[64];
		const void *p;
		bool dup = false;

		if (ai->ai_family == AF_INET)
			p = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			p = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (uv_inet_ntop(ai->ai_family, p, txt, sizeof(txt)) != 0 ||
		    addr_parse(txt, strlen(txt), &x) != 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (addr_equal(&a[i], &x))
				dup = true;
		if (!dup && n < RESOLVE_MAX_ADDRS)
			a[n++] = x;
	}
	if (res)
		uv_freeaddrinfo(res);
	if (r != NULL) {
		struct centry *e;

		req_unlink(r, q);
		if (status != UV_ECANCELED) {
			e = cache_slot(r);
			e->name = xstrdup(q->name);
			e->at = rnow(r);
			memcpy(e->a, a, n * sizeof(a[0]));
			e->n = n;
		}
		for (size_t i = 0; i < q->nw; i++)
			if (q->w[i].arg != NULL)
				q->w[i].cb(q->w[i].arg, q->name, a, n,
				    status ? uv_strerror(status) : NULL);
	}
	free(q->w);
	free(q->name);
	free(q);
}

int
resolve_name(struct resolve *r, const char *name, const struct addr **addrs,
    size_t *n, resolve_cb cb, void *arg)
{
	struct centry *e = cache_find(r, name);
	struct addrinfo hints = {0};
	struct req *q;

	if (e != NULL) {
		*addrs = e->a;
		*n = e->n;
		return 1;
	}
	for (q = r->reqs; q; q = q->next)
		if (strcmp(q->name, name) == 0)
			break;
	if (q == NULL) {
		if (r->nreqs >= RESOLVE_INFLIGHT)
			return -1;
		q = xcalloc(1, sizeof(*q));
		q->r = r;
		q->name = xstrdup(name);
		q->gai.data = q;
		hints.ai_socktype = SOCK_STREAM;
		if (uv_getaddrinfo(r->loop, &q->gai, gai_done, q->name, NULL,
		        &hints) != 0) {
			free(q->name);
			free(q);
			return -1;
		}
		q->next = r->reqs;
		r->reqs = q;
		r->nreqs++;
	}
	if (q->nw >= RESOLVE_WAITERS)
		return -1;
	xgrow(&q->w, &q->capw, q->nw + 1, sizeof(*q->w));
	q->w[q->nw].cb = cb;
	q->w[q->nw].arg = arg;
	q->nw++;
	return 0;
}
