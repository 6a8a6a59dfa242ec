/*
 * ignore: fail2ban's ignore rules (see ignore.h). A check walks fail2ban's
 * order (cache, self, address set, the ordered list of networks, names
 * and file: lists, command) as a small resumable state machine: a DNS
 * name that is not cached, a reverse lookup for <ip-host>, or the
 * ignorecommand suspends it, and the answer arrives later through the
 * caller's callback. Everything else answers at once.
 *
 * The host data (struct ignore_env) holds the DNS caches; lookups in
 * flight are shared by every waiter and survive ignore_env_free() as
 * orphans that only free themselves.
 */
#include <assert.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ignore.h"
#include "log.h"
#include "sbuf.h"
#include "spawn.h"
#include "xmalloc.h"

/* ---------------------------------------------------------------------
 * Address sets (open addressing; entries come from configuration).
 */

struct addrset {
	struct addr *v; /* slots; family 0 = empty */
	size_t cap;     /* power of two or 0 */
	size_t n;
};

static bool
addrset_has(const struct addrset *s, const struct addr *a)
{
	size_t i;

	if (s->cap == 0)
		return false;
	i = (size_t)addr_hash(a) & (s->cap - 1);
	while (s->v[i].family != 0) {
		if (addr_equal(&s->v[i], a))
			return true;
		i = (i + 1) & (s->cap - 1);
	}
	return false;
}

static void
addrset_insert(struct addrset *s, const struct addr *a)
{
	size_t i;

	if (addrset_has(s, a))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		struct addrset t = {0};

		t.cap = s->cap ? s->cap * 2 : 16;
		t.v = xcalloc(t.cap, sizeof(*t.v));
		for (size_t k = 0; k < s->cap; k++)
			if (s->v[k].family != 0)
				addrset_insert(&t, &s->v[k]);
		free(s->v);
		*s = t;
	}
	i = (size_t)addr_hash(a) & (s->cap - 1);
	while (s->v[i].family != 0)
		i = (i + 1) & (s->cap - 1);
	s->v[i] = *a;
	s->n++;
}

static void
addrset_clear(struct addrset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Removes a by rebuilding (deletions are rare: `delignoreip`). */
static bool
addrset_remove(struct addrset *s, const struct addr *a)
{
	struct addrset t = {0};

	if (!addrset_has(s, a))
		return false;
	for (size_t k = 0; k < s->cap; k++)
		if (s->v[k].family != 0 && !addr_equal(&s->v[k], a))
			addrset_insert(&t, &s->v[k]);
	addrset_clear(s);
	*s = t;
	return true;
}

/* ---------------------------------------------------------------------
 * Host data and DNS caches.
 */

struct waiter {
	struct waiter *next;
	void (*cb)(void *arg);
	void *arg;
};

/* A name -> addresses entry, or a lookup in flight for it. */
struct dnsent {
	struct dnsent *next; /* FIFO order (oldest first) */
	char *name;
	struct addr *addrs;
	size_t n;
	double expires; /* wall clock */
	bool pending;
	struct waiter *waiters;
	uv_getaddrinfo_t req;
	struct ignore_env *env; /* NULL: orphaned by ignore_env_free */
	int purpose;            /* 0 plain, 1 self name, 2 fqdn */
	bool priv;              /* a refresh's own entry (env->priv list) */
};

/* An address -> name entry (<ip-host>). */
struct ptrent {
	struct ptrent *next;
	struct addr a;
	char *name; /* NULL: no name */
	double expires;
	bool pending;
	struct ptrwaiter {
		struct ptrwaiter *next;
		void (*cb)(void *arg, const char *name);
		void *arg;
	} * waiters;
	uv_getnameinfo_t req;
	struct ignore_env *env;
};

struct ignore_env {
	uv_loop_t *loop;
	struct ignore_env_opts opts;
	char *hostname;
	char *fqdn;
	struct tags_host host;
	struct addrset self;    /* current own addresses */
	struct addrset selfnew; /* being collected by a refresh */
	int refresh_pending;    /* lookups of the refresh in flight */
	double self_expires;
	struct waiter *refresh_waiters;
	struct dnsent *priv; /* refresh lookups in flight */
	struct dnsent *dns;  /* FIFO list */
	size_t ndns;
	struct ptrent *ptr;
	size_t nptr;
	bool has_v6;
};

static double
env_now(const struct ignore_env *env)
{
	struct timespec ts;

	if (env->opts.now != NULL)
		return env->opts.now();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
set_from_sockaddr(struct addr *out, const struct sockaddr *sa)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		out->family = AF_INET;
		out->prefix = 32;
		memcpy(out->b, &in->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		static const uint8_t mapped[12] = {
		    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(&in6->sin6_addr, mapped, 12) == 0) {
			out->family = AF_INET;
			out->prefix = 32;
			memcpy(
			    out->b, (const uint8_t *)&in6->sin6_addr + 12, 4);
		} else {
			out->family = AF_INET6;
			out->prefix = 128;
			memcpy(out->b, &in6->sin6_addr, 16);
		}
	}
}

static void
self_add(struct ignore_env *env, struct addrset *s, const struct addr *a)
{
	addrset_insert(s, a);
	if (a->family == AF_INET6)
		env->has_v6 = true;
}

static void
collect_ifaddrs(struct ignore_env *env, struct addrset *s)
{
	struct ifaddrs *ifa = NULL;
	struct addr lo;

	memset(&lo, 0, sizeof(lo));
	lo.family = AF_INET;
	lo.prefix = 32;
	lo.b[0] = 127;
	lo.b[3] = 1;
	addrset_insert(s, &lo);
	if (env->opts.no_ifaddrs || getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *p = ifa; p != NULL; p = p->ifa_next) {
		struct addr a;

		if (p->ifa_addr == NULL ||
		    (p->ifa_addr->sa_family != AF_INET &&
		        p->ifa_addr->sa_family != AF_INET6))
			continue;
		set_from_sockaddr(&a, p->ifa_addr);
		self_add(env, s, &a);
	}
	freeifaddrs(ifa);
}

struct ignore_env *
ignore_env_new(uv_loop_t *loop, const struct ignore_env_opts *opts)
{
	struct ignore_env *env = xcalloc(1, sizeof(*env));
	char hn[256];

	env->loop = loop;
	if (opts != NULL)
		env->opts = *opts;
	if (env->opts.hostname != NULL) {
		env->hostname = xstrdup(env->opts.hostname);
	} else if (gethostname(hn, sizeof(hn)) == 0) {
		hn[sizeof(hn) - 1] = '\0';
		env->hostname = xstrdup(hn);
	} else {
		env->hostname = xstrdup("");
	}
	env->fqdn = xstrdup(env->hostname);
	env->host.fqdn = env->fqdn;
	env->host.hostname = env->hostname;
	collect_ifaddrs(env, &env->self);
	return env;
}

void
ignore_env_free(struct ignore_env *env)
{
	if (env == NULL)
		return;
	while (env->dns != NULL) {
		struct dnsent *e = env->dns;

		env->dns = e->next;
		while (e->waiters != NULL) {
			struct waiter *w = e->waiters;

			e->waiters = w->next;
			free(w);
		}
		if (e->pending) {
			e->env = NULL; /* the resolver callback frees it */
			continue;
		}
		free(e->name);
		free(e->addrs);
		free(e);
	}
	while (env->priv != NULL) {
		struct dnsent *e = env->priv;

		env->priv = e->next;
		e->env = NULL; /* pending: the resolver callback frees it */
	}
	while (env->ptr != NULL) {
		struct ptrent *e = env->ptr;

		env->ptr = e->next;
		while (e->waiters != NULL) {
			struct ptrwaiter *w = e->waiters;

			e->waiters = w->next;
			free(w);
		}
		if (e->pending) {
			e->env = NULL;
			continue;
		}
		free(e->name);
		free(e);
	}
	while (env->refresh_waiters != NULL) {
		struct waiter *w = env->refresh_waiters;

		env->refresh_waiters = w->next;
		free(w);
	}
	addrset_clear(&env->self);
	addrset_clear(&env->selfnew);
	free(env->hostname);
	free(env->fqdn);
	free(env);
}

const struct tags_host *
ignore_env_host(const struct ignore_env *env)
{
	return &env->host;
}

bool
ignore_env_is_self(const struct ignore_env *env, const struct addr *a)
{
	return addrset_has(&env->self, a);
}

bool
ignore_env_has_ipv6(const struct ignore_env *env)
{
	return env->has_v6;
}

void
ignore_env_add_self(struct ignore_env *env, const struct addr *a)
{
	self_add(env, &env->self, a);
}

static struct dnsent *
dns_find(struct ignore_env *env, const char *name)
{
	for (struct dnsent *e = env->dns; e != NULL; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* Unlinks and frees the oldest settled entries above the cap. */
static void
dns_trim(struct ignore_env *env)
{
	struct dnsent **pp = &env->dns;

	while (env->ndns > IGNORE_DNS_CACHE_MAX && *pp != NULL) {
		struct dnsent *e = *pp;

		if (e->pending) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		free(e->name);
		free(e->addrs);
		free(e);
		env->ndns--;
	}
}

static struct dnsent *
dns_add(struct ignore_env *env, const char *name)
{
	struct dnsent *e = xcalloc(1, sizeof(*e)), **pp = &env->dns;

	e->name = xstrdup(name);
	e->env = env;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = e;
	env->ndns++;
	dns_trim(env);
	return e;
}

void
ignore_env_preset_dns(
    struct ignore_env *env, const char *name, const struct addr *a, size_t n)
{
	struct dnsent *e = dns_find(env, name);

	if (e == NULL)
		e = dns_add(env, name);
	free(e->addrs);
	e->addrs = n > 0 ? (struct addr *)xmemdup(a, n * sizeof(*a)) : NULL;
	e->n = n;
	e->expires = env_now(env) + 1e9;
}

static void refresh_step_done(struct ignore_env *env);

static void
gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dnsent *e = req->data;
	struct ignore_env *env = e->env;
	struct waiter *w;
	size_t n = 0;

	e->pending = false;
	if (env == NULL) {
		uv_freeaddrinfo(res);
		free(e->name);
		free(e->addrs);
		free(e);
		return;
	}
	for (struct addrinfo *p = res; p != NULL; p = p->ai_next)
		n++;
	free(e->addrs);
	e->addrs = n > 0 ? xcalloc(n, sizeof(*e->addrs)) : NULL;
	e->n = 0;
	for (struct addrinfo *p = res; p != NULL && e->n < IGNORE_DNS_MAX_ADDRS;
	     p = p->ai_next) {
		struct addr a;
		bool dup = false;

		if (p->ai_addr == NULL ||
		    (p->ai_family != AF_INET && p->ai_family != AF_INET6))
			continue;
		set_from_sockaddr(&a, p->ai_addr);
		for (size_t i = 0; i < e->n; i++)
			dup = dup || addr_equal(&e->addrs[i], &a);
		if (!dup)
			e->addrs[e->n++] = a;
	}
	if (e->purpose == 2 && status == 0 && res != NULL &&
	    res->ai_canonname != NULL && res->ai_canonname[0] != '\0') {
		free(env->fqdn);
		env->fqdn = xstrdup(res->ai_canonname);
		env->host.fqdn = env->fqdn;
	}
	uv_freeaddrinfo(res);
	if (e->n == 0 && status < 0)
		wlog(WLOG_WARNING, "fail2ban.ipdns",
		    "Unable to find a corresponding IP address for %s: %s",
		    e->name, uv_strerror(status));
	e->expires = env_now(env) + IGNORE_DNS_CACHE_TTL;
	if (e->priv) {
		struct dnsent **pp = &env->priv;

		for (size_t i = 0; i < e->n; i++)
			self_add(env, &env->selfnew, &e->addrs[i]);
		while (*pp != NULL && *pp != e)
			pp = &(*pp)->next;
		if (*pp == e)
			*pp = e->next;
		free(e->name);
		free(e->addrs);
		free(e);
		refresh_step_done(env);
		return;
	}
	w = e->waiters;
	e->waiters = NULL;
	while (w != NULL) {
		struct waiter *next = w->next;

		w->cb(w->arg);
		free(w);
		w = next;
	}
}

static void
dns_start(struct ignore_env *env, struct dnsent *e, int purpose)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = purpose == 2 ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_protocol = purpose == 2 ? 0 : IPPROTO_TCP;
	if (purpose == 2)
		hints.ai_flags = AI_CANONNAME;
	e->pending = true;
	e->purpose = purpose;
	e->req.data = e;
	rc = uv_getaddrinfo(env->loop, &e->req, gai_cb, e->name, NULL, &hints);
	if (rc < 0) {
		e->pending = false;
		e->n = 0;
		e->expires = env_now(env) + IGNORE_DNS_CACHE_TTL;
		if (e->priv) {
			struct dnsent **pp = &env->priv;

			while (*pp != NULL && *pp != e)
				pp = &(*pp)->next;
			if (*pp == e)
				*pp = e->next;
			free(e->name);
			free(e);
			refresh_step_done(env);
		}
	}
}

/*
 * Addresses of name: 1 with *out/n from the cache, or 0 with cb(arg) to
 * come once resolved (then ask again).
 */
static int
env_resolve(struct ignore_env *env, const char *name, const struct addr **out,
    size_t *n, void (*cb)(void *), void *arg)
{
	struct dnsent *e = dns_find(env, name);
	struct waiter *w;

	if (e != NULL && !e->pending && e->expires > env_now(env)) {
		*out = e->addrs;
		*n = e->n;
		return 1;
	}
	if (e == NULL)
		e = dns_add(env, name);
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	w->next = e->waiters;
	e->waiters = w;
	if (!e->pending)
		dns_start(env, e, 0);
	return 0;
}

/* Drops a waiter registered by env_resolve (its check went away). */
static void
env_resolve_forget(struct ignore_env *env, void *arg)
{
	for (struct dnsent *e = env->dns; e != NULL; e = e->next) {
		struct waiter **pp = &e->waiters;

		while (*pp != NULL) {
			if ((*pp)->arg == arg) {
				struct waiter *w = *pp;

				*pp = w->next;
				free(w);
				continue;
			}
			pp = &(*pp)->next;
		}
	}
}

static void
refresh_step_done(struct ignore_env *env)
{
	struct waiter *w;

	if (--env->refresh_pending > 0)
		return;
	addrset_clear(&env->self);
	env->self = env->selfnew;
	memset(&env->selfnew, 0, sizeof(env->selfnew));
	env->self_expires = env_now(env) + IGNORE_DNS_CACHE_TTL;
	w = env->refresh_waiters;
	env->refresh_waiters = NULL;
	while (w != NULL) {
		struct waiter *next = w->next;

		if (w->cb != NULL)
			w->cb(w->arg);
		free(w);
		w = next;
	}
}

void
ignore_env_refresh(struct ignore_env *env, void (*cb)(void *arg), void *arg)
{
	const char *names[2];
	int purposes[2];
	int n = 0;

	if (cb != NULL) {
		struct waiter *w = xcalloc(1, sizeof(*w));

		w->cb = cb;
		w->arg = arg;
		w->next = env->refresh_waiters;
		env->refresh_waiters = w;
	}
	if (env->refresh_pending > 0)
		return;
	addrset_clear(&env->selfnew);
	env->has_v6 = false;
	collect_ifaddrs(env, &env->selfnew);
	names[n] = "localhost";
	purposes[n++] = 1;
	if (env->hostname[0] != '\0') {
		names[n] = env->hostname;
		purposes[n++] = 2; /* also gives the FQDN */
	}
	env->refresh_pending = n + 1;
	for (int i = 0; i < n; i++) {
		/* Own entries, not shared with the name cache: they only
		 * feed the own-address set (and the FQDN). */
		struct dnsent *e = xcalloc(1, sizeof(*e));

		e->name = xstrdup(names[i]);
		e->env = env;
		e->priv = true;
		e->next = env->priv;
		env->priv = e;
		dns_start(env, e, purposes[i]);
	}
	refresh_step_done(env); /* the getifaddrs step */
}

static void
gni_cb(uv_getnameinfo_t *req, int status, const char *host, const char *service)
{
	struct ptrent *e = req->data;
	struct ignore_env *env = e->env;
	struct ptrwaiter *w;

	(void)service;
	e->pending = false;
	if (env == NULL) {
		free(e->name);
		free(e);
		return;
	}
	free(e->name);
	e->name = status == 0 && host != NULL ? xstrdup(host) : NULL;
	if (e->name == NULL)
		wlog(WLOG_DEBUG, "fail2ban.ipdns",
		    "Unable to find a name for the IP: %s",
		    uv_strerror(status));
	e->expires = env_now(env) + IGNORE_DNS_CACHE_TTL;
	w = e->waiters;
	e->waiters = NULL;
	while (w != NULL) {
		struct ptrwaiter *next = w->next;

		w->cb(w->arg, e->name);
		free(w);
		w = next;
	}
}

int
ignore_env_ptr(struct ignore_env *env, const struct addr *a, const char **name,
    void (*cb)(void *arg, const char *name), void *arg)
{
	struct ptrent *e = NULL, **pp;
	struct ptrwaiter *w;

	for (e = env->ptr; e != NULL; e = e->next)
		if (addr_equal(&e->a, a))
			break;
	if (e != NULL && !e->pending && e->expires > env_now(env)) {
		*name = e->name;
		return 1;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->a = *a;
		e->env = env;
		pp = &env->ptr;
		while (*pp != NULL)
			pp = &(*pp)->next;
		*pp = e;
		env->nptr++;
		/* cap: drop the oldest settled entries */
		pp = &env->ptr;
		while (env->nptr > IGNORE_DNS_CACHE_MAX && *pp != NULL) {
			struct ptrent *o = *pp;

			if (o->pending || o == e) {
				pp = &o->next;
				continue;
			}
			*pp = o->next;
			free(o->name);
			free(o);
			env->nptr--;
		}
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	w->next = e->waiters;
	e->waiters = w;
	if (!e->pending) {
		struct sockaddr_storage ss;
		int rc;

		memset(&ss, 0, sizeof(ss));
		if (a->family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			in->sin_family = AF_INET;
			memcpy(&in->sin_addr, a->b, 4);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			in6->sin6_family = AF_INET6;
			memcpy(&in6->sin6_addr, a->b, 16);
		}
		e->pending = true;
		e->req.data = e;
		rc = uv_getnameinfo(env->loop, &e->req, gni_cb,
		    (const struct sockaddr *)&ss, NI_NAMEREQD);
		if (rc < 0) {
			e->pending = false;
			e->expires = env_now(env) + IGNORE_DNS_CACHE_TTL;
			e->waiters = w->next;
			free(w);
			*name = NULL;
			return 1;
		}
	}
	return 0;
}

static void
env_ptr_forget(struct ignore_env *env, void *arg)
{
	for (struct ptrent *e = env->ptr; e != NULL; e = e->next) {
		struct ptrwaiter **pp = &e->waiters;

		while (*pp != NULL) {
			if ((*pp)->arg == arg) {
				struct ptrwaiter *w = *pp;

				*pp = w->next;
				free(w);
				continue;
			}
			pp = &(*pp)->next;
		}
	}
}

/* ---------------------------------------------------------------------
 * One jail's rules.
 */

enum item_kind { IT_NET, IT_DNS, IT_FILE };

struct flist {
	char *path;
	bool loaded;
	double checked; /* wall time of the last stat */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int last_errno; /* to log a read problem once */
	struct addrset singles;
	struct addr *nets;
	size_t nnets;
	char **names;
	size_t nnames;
};

struct item {
	enum item_kind kind;
	struct addr net; /* IT_NET */
	char *text;      /* as listed: "10.0.0.0/8", "host", "file:/p" */
	struct flist *file;
};

struct cache_ent {
	struct cache_ent *next;
	char *key;
	bool value;
	double expires;
};

struct icheck;

struct ignore {
	struct ignore_env *env;
	char *jail;
	bool self;
	struct addrset singles;
	struct strv single_text; /* insertion order, for listing */
	struct item *items;      /* nets, names and files in order */
	size_t nitems;
	size_t capitems;
	char *command;
	char *cache_key;
	int cache_max;
	double cache_time;
	struct cache_ent *cache; /* FIFO */
	size_t ncache;
	tags_info_fn info;
	void *info_ctx;
	struct icheck *pending; /* list */
	size_t npending;
	unsigned long dropped;
};

struct icheck {
	struct icheck *next;
	struct ignore *ig; /* NULL: abandoned (ignore_free) */
	struct action_ticket t;
	double now;
	unsigned flags;
	ignore_cb cb;
	void *arg;
	int stage;
	size_t li;    /* list item */
	size_t fi;    /* name index inside a file item */
	bool waiting; /* a lookup or the command is out */
	bool iphost_done;
	char *iphost;
	char *key; /* the cache key, once computed */
	struct spawn *sp;
	struct tags_cmd cmd;
	bool owned;     /* t is a copy (pending) */
	bool sync_only; /* too many pending: nothing asynchronous */
	bool dropped;   /* sync_only skipped something */
};

static void
item_cleanup(struct item *it)
{
	free(it->text);
	if (it->file != NULL) {
		struct flist *f = it->file;

		addrset_clear(&f->singles);
		free(f->nets);
		for (size_t i = 0; i < f->nnames; i++)
			free(f->names[i]);
		free(f->names);
		free(f->path);
		free(f);
	}
}

const char *
ignore_reason_name(enum ignore_reason r)
{
	switch (r) {
	case IGNORE_SELF:
		return "ignoreself rule";
	case IGNORE_IP:
		return "ip";
	case IGNORE_DNS:
		return "dns";
	case IGNORE_COMMAND:
		return "command";
	case IGNORE_CACHED:
		return "cache";
	default:
		return "none";
	}
}

/* Parses an entry: 0 single address, 1 network, 2 name, 3 file, -1 empty. */
static int
parse_entry(const char *s, struct addr *a)
{
	size_t n = strlen(s);

	if (n == 0)
		return -1;
	if (strncmp(s, "file:", 5) == 0)
		return 3;
	if (addr_parse_net(s, n, a) == 0) {
		bool single = a->prefix == (a->family == AF_INET ? 32 : 128);

		return single ? 0 : 1;
	}
	return 2;
}

static void
entry_repr(const char *text, struct sbuf *b)
{
	sbuf_addch(b, '\'');
	sbuf_addstr(b, text);
	sbuf_addch(b, '\'');
}

static long
item_find(const struct ignore *ig, const char *text)
{
	for (size_t i = 0; i < ig->nitems; i++)
		if (strcmp(ig->items[i].text, text) == 0)
			return (long)i;
	return -1;
}

int
ignore_add(struct ignore *ig, const char *entry)
{
	struct addr a;
	int k = parse_entry(entry, &a);
	char buf[ADDR_STRLEN];
	const char *canon = entry;
	struct item it;

	if (k < 0)
		return -1;
	if (k == 0 || k == 1)
		canon = addr_format(&a, buf);
	/* duplicates: the same address, network, name or file */
	if ((k == 0 && addrset_has(&ig->singles, &a)) ||
	    (k != 0 && item_find(ig, canon) >= 0)) {
		struct sbuf r = SBUF_INIT;

		entry_repr(canon, &r);
		sbuf_addstr(&r, " (");
		entry_repr(entry, &r);
		sbuf_addch(&r, ')');
		wlog(WLOG_MSG, "fail2ban.filter",
		    "  Ignore duplicate %s, already in ignore list",
		    sbuf_str(&r));
		sbuf_cleanup(&r);
		return 0;
	}
	wlog(WLOG_DEBUG, "fail2ban.filter", "  Add '%s' to ignore list ('%s')",
	    canon, entry);
	if (k == 0) {
		addrset_insert(&ig->singles, &a);
		strv_add(&ig->single_text, canon);
		return 1;
	}
	memset(&it, 0, sizeof(it));
	it.text = xstrdup(canon);
	if (k == 1) {
		it.kind = IT_NET;
		it.net = a;
	} else if (k == 2) {
		it.kind = IT_DNS;
	} else {
		it.kind = IT_FILE;
		it.file = xcalloc(1, sizeof(*it.file));
		it.file->path = xstrdup(entry + 5);
		it.file->checked = -1e18;
	}
	xgrow(&ig->items, &ig->capitems, ig->nitems + 1, sizeof(*ig->items));
	ig->items[ig->nitems++] = it;
	return 1;
}

int
ignore_del(struct ignore *ig, const char *entry)
{
	struct addr a;
	int k = parse_entry(entry, &a);
	char buf[ADDR_STRLEN];
	const char *canon = entry;

	if (k < 0)
		return -1;
	if (k == 0 || k == 1)
		canon = addr_format(&a, buf);
	wlog(WLOG_DEBUG, "fail2ban.filter", "  Remove '%s' from ignore list",
	    canon);
	if (k == 0) {
		long i = strv_find(&ig->single_text, canon);

		if (!addrset_remove(&ig->singles, &a))
			return -1;
		if (i >= 0) {
			free(ig->single_text.v[i]);
			memmove(&ig->single_text.v[i],
			    &ig->single_text.v[i + 1],
			    (ig->single_text.n - (size_t)i) *
			        sizeof(*ig->single_text.v));
			ig->single_text.n--;
		}
		return 0;
	}
	for (size_t i = 0; i < ig->nitems; i++)
		if (strcmp(ig->items[i].text, canon) == 0) {
			item_cleanup(&ig->items[i]);
			memmove(&ig->items[i], &ig->items[i + 1],
			    (ig->nitems - i - 1) * sizeof(*ig->items));
			ig->nitems--;
			/* pending checks re-walk from a valid index */
			for (struct icheck *c = ig->pending; c; c = c->next)
				if (c->li > i)
					c->li--;
			return 0;
		}
	return -1;
}

void
ignore_clear(struct ignore *ig)
{
	for (size_t i = 0; i < ig->nitems; i++)
		item_cleanup(&ig->items[i]);
	ig->nitems = 0;
	addrset_clear(&ig->singles);
	strv_cleanup(&ig->single_text);
	strv_init(&ig->single_text);
	for (struct icheck *c = ig->pending; c; c = c->next)
		c->li = 0;
}

void
ignore_list(const struct ignore *ig, struct strv *out)
{
	for (size_t i = 0; i < ig->nitems; i++)
		strv_add(out, ig->items[i].text);
	for (size_t i = 0; i < ig->single_text.n; i++)
		strv_add(out, ig->single_text.v[i]);
}

void
ignore_set_self(struct ignore *ig, bool on)
{
	ig->self = on;
}

bool
ignore_get_self(const struct ignore *ig)
{
	return ig->self;
}

void
ignore_set_command(struct ignore *ig, const char *cmd)
{
	free(ig->command);
	ig->command = cmd != NULL && cmd[0] != '\0' ? xstrdup(cmd) : NULL;
}

const char *
ignore_get_command(const struct ignore *ig)
{
	return ig->command;
}

static void
cache_clear(struct ignore *ig)
{
	while (ig->cache != NULL) {
		struct cache_ent *e = ig->cache;

		ig->cache = e->next;
		free(e->key);
		free(e);
	}
	ig->ncache = 0;
}

void
ignore_set_cache(
    struct ignore *ig, const char *key, int max_count, double max_time)
{
	cache_clear(ig);
	free(ig->cache_key);
	ig->cache_key = key != NULL && key[0] != '\0' ? xstrdup(key) : NULL;
	ig->cache_max = max_count > 0 ? max_count : 100;
	ig->cache_time = max_time;
}

void
ignore_set_info(struct ignore *ig, tags_info_fn info, void *ctx)
{
	ig->info = info;
	ig->info_ctx = ctx;
}

unsigned long
ignore_dropped(const struct ignore *ig)
{
	return ig->dropped;
}

struct ignore *
ignore_new(struct ignore_env *env, const struct conf_jail *j)
{
	struct ignore *ig = xcalloc(1, sizeof(*ig));

	ig->env = env;
	ig->jail = xstrdup(j->name);
	ig->self = j->ignoreself;
	strv_init(&ig->single_text);
	for (size_t i = 0; i < j->nignoreip; i++) {
		const struct conf_ignore *ci = &j->ignoreip[i];

		if (ci->kind == CONF_IGNORE_ADDR) {
			char buf[ADDR_STRLEN];

			ignore_add(ig, addr_format(&ci->addr, buf));
		} else {
			ignore_add(ig, ci->text);
		}
	}
	ignore_set_command(ig, j->ignorecommand);
	ignore_set_cache(ig, j->ignorecache.key, j->ignorecache.max_count,
	    j->ignorecache.max_time);
	return ig;
}

static void
check_free(struct icheck *c)
{
	if (c->owned)
		tags_ticket_free(&c->t);
	free(c->iphost);
	free(c->key);
	tags_cmd_cleanup(&c->cmd);
	free(c);
}

void
ignore_free(struct ignore *ig)
{
	struct icheck *c;

	if (ig == NULL)
		return;
	c = ig->pending;
	while (c != NULL) {
		struct icheck *next = c->next;

		env_resolve_forget(ig->env, c);
		env_ptr_forget(ig->env, c);
		c->ig = NULL;
		if (c->sp != NULL)
			spawn_kill(c->sp); /* its callback frees c */
		else
			check_free(c);
		c = next;
	}
	for (size_t i = 0; i < ig->nitems; i++)
		item_cleanup(&ig->items[i]);
	free(ig->items);
	addrset_clear(&ig->singles);
	strv_cleanup(&ig->single_text);
	free(ig->command);
	free(ig->cache_key);
	cache_clear(ig);
	free(ig->jail);
	free(ig);
}

/* ---------------------------------------------------------------------
 * file: lists.
 */

static void
flist_clear(struct flist *f)
{
	addrset_clear(&f->singles);
	free(f->nets);
	f->nets = NULL;
	f->nnets = 0;
	for (size_t i = 0; i < f->nnames; i++)
		free(f->names[i]);
	free(f->names);
	f->names = NULL;
	f->nnames = 0;
}

static void
flist_parse(struct flist *f, const char *s, size_t n)
{
	size_t i = 0, items = 0, capnets = 0, capnames = 0;

	while (i < n && items < IGNORE_FILE_MAX_ITEMS) {
		size_t j;
		struct addr a;
		char *tok;
		int k;

		/* separators, and comments starting a word */
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r' || s[i] == ',') {
			i++;
			continue;
		}
		if (s[i] == '#' || s[i] == ';') {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		j = i;
		while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' &&
		    s[j] != '\r' && s[j] != ',')
			j++;
		tok = xmemdup(s + i, j - i);
		i = j;
		items++;
		k = parse_entry(tok, &a);
		if (k == 0) {
			addrset_insert(&f->singles, &a);
		} else if (k == 1) {
			xgrow(
			    &f->nets, &capnets, f->nnets + 1, sizeof(*f->nets));
			f->nets[f->nnets++] = a;
		} else if (k == 2) {
			xgrow(&f->names, &capnames, f->nnames + 1,
			    sizeof(*f->names));
			f->names[f->nnames++] = tok;
			tok = NULL;
		}
		free(tok);
	}
}

/* Re-reads f when its stat changed (looked at once a second at most). */
static void
flist_refresh(struct ignore *ig, struct flist *f, double now)
{
	struct stat st;
	FILE *fp;
	char *buf;
	size_t got;

	if (f->loaded && now - f->checked < 1.0 && now >= f->checked)
		return;
	f->checked = now;
	if (stat(f->path, &st) < 0) {
		if (f->last_errno != errno)
			wlog(WLOG_WARNING, "fail2ban.filter",
			    "[%s] Ignore list file '%s' cannot be read: %s",
			    ig->jail, f->path, strerror(errno));
		f->last_errno = errno;
		flist_clear(f);
		f->loaded = true;
		f->size = -1;
		return;
	}
	if (f->loaded && f->last_errno == 0 && st.st_dev == f->dev &&
	    st.st_ino == f->ino && st.st_size == f->size &&
	    st.st_mtim.tv_sec == f->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == f->mtime.tv_nsec)
		return;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	flist_clear(f);
	f->loaded = true;
	fp = fopen(f->path, "r");
	if (fp == NULL) {
		if (f->last_errno != errno)
			wlog(WLOG_WARNING, "fail2ban.filter",
			    "[%s] Ignore list file '%s' cannot be read: %s",
			    ig->jail, f->path, strerror(errno));
		f->last_errno = errno;
		return;
	}
	f->last_errno = 0;
	buf = xmalloc(IGNORE_FILE_MAX_SIZE + 1);
	got = fread(buf, 1, IGNORE_FILE_MAX_SIZE, fp);
	if (got == IGNORE_FILE_MAX_SIZE && fgetc(fp) != EOF)
		wlog(WLOG_WARNING, "fail2ban.filter",
		    "[%s] Ignore list file '%s' is longer than %d bytes; the "
		    "rest is not read",
		    ig->jail, f->path, IGNORE_FILE_MAX_SIZE);
	fclose(fp);
	/* a cut entry at the end is dropped: cut at the last separator */
	if (got == IGNORE_FILE_MAX_SIZE)
		while (got > 0 && buf[got - 1] != '\n')
			got--;
	flist_parse(f, buf, got);
	free(buf);
	wlog(WLOG_DEBUG, "fail2ban.filter",
	    "[%s] Ignore list file '%s' loaded: %zu addresses, %zu networks, "
	    "%zu names",
	    ig->jail, f->path, f->singles.n, f->nnets, f->nnames);
}

/* ---------------------------------------------------------------------
 * Checks.
 */

enum { ST_KEY, ST_CACHE, ST_SELF, ST_SET, ST_LIST, ST_CMD, ST_CMDWAIT, ST_END };

enum { STEP_DONE, STEP_WAIT };

static void check_resume(struct icheck *c);

static bool
check_has_addr(const struct icheck *c)
{
	return c->t.key.kind == FKEY_ADDR && c->t.key.addr.family != 0;
}

static void
log_ignore(struct icheck *c, enum ignore_reason r)
{
	char buf[FKEY_STRLEN];

	if (c->flags & IGNORE_F_NOLOG)
		return;
	wlog(WLOG_INFO, "fail2ban.filter", "[%s] Ignore %s by %s", c->ig->jail,
	    fkey_format(&c->t.key, buf), ignore_reason_name(r));
}

static void
cache_set(struct icheck *c, bool v)
{
	struct ignore *ig = c->ig;
	struct cache_ent *e, **pp;
	double now = c->now;

	if (ig->cache_key == NULL || c->key == NULL)
		return;
	for (e = ig->cache; e != NULL; e = e->next)
		if (strcmp(e->key, c->key) == 0) {
			e->value = v;
			e->expires = now + ig->cache_time;
			return;
		}
	/* Utils.Cache: when full, drop from the front (FIFO) until an
	 * unexpired entry leaves room. */
	while (ig->ncache >= (size_t)ig->cache_max && ig->cache != NULL) {
		e = ig->cache;
		ig->cache = e->next;
		ig->ncache--;
		{
			bool live = e->expires > now;

			free(e->key);
			free(e);
			if (live && ig->ncache < (size_t)ig->cache_max)
				break;
		}
	}
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(c->key);
	e->value = v;
	e->expires = now + ig->cache_time;
	pp = &ig->cache;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = e;
	ig->ncache++;
}

static int
cache_get(struct icheck *c)
{
	struct ignore *ig = c->ig;
	struct cache_ent **pp = &ig->cache;

	while (*pp != NULL) {
		struct cache_ent *e = *pp;

		if (strcmp(e->key, c->key) == 0) {
			if (e->expires > c->now)
				return e->value ? 1 : 0;
			*pp = e->next;
			free(e->key);
			free(e);
			ig->ncache--;
			return -1;
		}
		pp = &e->next;
	}
	return -1;
}

static void
iphost_cb(void *arg, const char *name)
{
	struct icheck *c = arg;

	c->waiting = false;
	c->iphost_done = true;
	c->iphost = name != NULL ? xstrdup(name) : NULL;
	check_resume(c);
}

/*
 * Makes sure <ip-host> is known when text mentions it: returns true when
 * a lookup was started (wait for it).
 */
static bool
need_iphost(struct icheck *c, const char *text)
{
	const char *name = NULL;

	if (c->iphost_done || !tags_mentions(text, "<ip-host>") ||
	    !check_has_addr(c))
		return false;
	if (c->sync_only) {
		/* no lookup: as if it had no name */
		c->iphost_done = true;
		return false;
	}
	if (ignore_env_ptr(c->ig->env, &c->t.key.addr, &name, iphost_cb, c) ==
	    1) {
		c->iphost_done = true;
		c->iphost = name != NULL ? xstrdup(name) : NULL;
		return false;
	}
	c->waiting = true;
	return true;
}

static void
fill_dyn(struct icheck *c, struct tags_dyn *d)
{
	memset(d, 0, sizeof(*d));
	d->t = &c->t;
	d->now = c->now;
	d->ip_host = c->iphost;
	d->host = ignore_env_host(c->ig->env);
	d->info = c->ig->info;
	d->info_ctx = c->ig->info_ctx;
	d->ticket_class = "FailTicket";
}

static void
dns_ready(void *arg)
{
	struct icheck *c = arg;

	c->waiting = false;
	check_resume(c);
}

static void
cmd_done(void *arg, const struct spawn_result *r)
{
	struct icheck *c = arg;
	bool ok, ignore;

	c->sp = NULL;
	c->waiting = false;
	if (c->ig == NULL) {
		check_free(c);
		return;
	}
	ok = spawn_log(r, (unsigned long)(uintptr_t)c, sbuf_str(&c->cmd.script),
	    (const char *const *)c->cmd.args.v, c->cmd.args.n, "60",
	    (1u << 0) | (1u << 1));
	ignore = ok && r->exited && r->exit_status == 0;
	if (ignore)
		log_ignore(c, IGNORE_COMMAND);
	cache_set(c, ignore);
	c->stage = ignore ? ST_END + IGNORE_COMMAND : ST_END;
	check_resume(c);
}

/*
 * Advances c. Returns STEP_DONE with the answer in *r, or STEP_WAIT when
 * something asynchronous is out (c->waiting).
 */
static int
check_step(struct icheck *c, enum ignore_reason *r)
{
	struct ignore *ig = c->ig;
	bool has = check_has_addr(c);
	const struct addr *ip = &c->t.key.addr;

	for (;;) {
		if (c->stage >= ST_END) {
			*r = (enum ignore_reason)(c->stage - ST_END);
			return STEP_DONE;
		}
		switch (c->stage) {
		case ST_KEY:
			if (ig->cache_key == NULL) {
				c->stage = ST_SELF;
				break;
			}
			if (need_iphost(c, ig->cache_key))
				return STEP_WAIT;
			{
				struct tags_dyn d;
				struct tags_cmd k;

				/* the key is a lookup string, not a
				 * script: plain values */
				fill_dyn(c, &d);
				tags_cmd_init(&k);
				tags_replace_dynamic(ig->cache_key, &d, &k);
				{
					struct sbuf b = SBUF_INIT;

					sbuf_addstr(&b, sbuf_str(&k.script));
					for (size_t i = 0; i < k.args.n; i++) {
						sbuf_addch(&b, '\x1f');
						sbuf_addstr(&b, k.args.v[i]);
					}
					free(c->key);
					c->key = sbuf_detach(&b);
					if (c->key == NULL)
						c->key = xstrdup("");
				}
				tags_cmd_cleanup(&k);
			}
			c->stage = ST_CACHE;
			break;
		case ST_CACHE: {
			int v = cache_get(c);

			if (v >= 0) {
				*r = v ? IGNORE_CACHED : IGNORE_NOT;
				return STEP_DONE;
			}
			c->stage = ST_SELF;
			break;
		}
		case ST_SELF:
			if (ig->self && has) {
				if (c->now >= ig->env->self_expires &&
				    ig->env->refresh_pending == 0 &&
				    ig->env->self_expires > 0)
					ignore_env_refresh(ig->env, NULL, NULL);
				if (ignore_env_is_self(ig->env, ip)) {
					log_ignore(c, IGNORE_SELF);
					cache_set(c, true);
					c->stage = ST_END + IGNORE_SELF;
					break;
				}
			}
			c->stage = ST_SET;
			break;
		case ST_SET:
			if (has && addrset_has(&ig->singles, ip)) {
				/* fail2ban does not cache this answer */
				log_ignore(c, IGNORE_IP);
				c->stage = ST_END + IGNORE_IP;
				break;
			}
			c->stage = ST_LIST;
			c->li = 0;
			c->fi = 0;
			break;
		case ST_LIST: {
			struct item *it;
			const struct addr *addrs;
			size_t n;
			const char *name = NULL;
			enum ignore_reason hit = IGNORE_NOT;

			if (c->li >= ig->nitems || !has) {
				c->stage = ST_CMD;
				break;
			}
			it = &ig->items[c->li];
			if (it->kind == IT_NET) {
				if (addr_contains(&it->net, ip))
					hit = IGNORE_IP;
				else
					c->li++;
			} else if (it->kind == IT_DNS) {
				name = it->text;
			} else {
				struct flist *f = it->file;

				if (c->fi == 0) {
					flist_refresh(ig, f, c->now);
					if (addrset_has(&f->singles, ip))
						hit = IGNORE_IP;
					for (size_t k = 0;
					     hit == IGNORE_NOT && k < f->nnets;
					     k++)
						if (addr_contains(
						        &f->nets[k], ip))
							hit = IGNORE_IP;
				}
				if (hit == IGNORE_NOT) {
					if (c->fi < f->nnames) {
						name = f->names[c->fi];
					} else {
						c->li++;
						c->fi = 0;
					}
				}
			}
			if (name != NULL && c->sync_only) {
				/* too many pending: a name not cached is
				 * skipped (counted as a drop) */
				struct dnsent *e = dns_find(ig->env, name);

				addrs = NULL;
				n = 0;
				if (e != NULL && !e->pending &&
				    e->expires > c->now) {
					addrs = e->addrs;
					n = e->n;
				} else {
					c->dropped = true;
				}
			} else if (name != NULL) {
				if (env_resolve(ig->env, name, &addrs, &n,
				        dns_ready, c) == 0) {
					c->waiting = true;
					return STEP_WAIT;
				}
			}
			if (name != NULL) {
				for (size_t k = 0; k < n; k++)
					if (addr_equal(&addrs[k], ip))
						hit = IGNORE_DNS;
				if (hit == IGNORE_NOT) {
					if (it->kind == IT_DNS) {
						c->li++;
					} else {
						c->fi++;
					}
				}
			}
			if (hit != IGNORE_NOT) {
				log_ignore(c, hit);
				cache_set(c, true);
				c->stage = ST_END + hit;
			}
			break;
		}
		case ST_CMD: {
			struct tags_dyn d;
			struct spawn_opts o;

			if (ig->command == NULL) {
				cache_set(c, false);
				c->stage = ST_END + IGNORE_NOT;
				break;
			}
			if (c->sync_only) {
				c->dropped = true;
				c->stage = ST_END + IGNORE_NOT;
				break;
			}
			if (need_iphost(c, ig->command))
				return STEP_WAIT;
			fill_dyn(c, &d);
			if (tags_replace_dynamic(ig->command, &d, &c->cmd) <
			    0) {
				cache_set(c, false);
				c->stage = ST_END + IGNORE_NOT;
				break;
			}
			wlog(WLOG_DEBUG, "fail2ban.filter",
			    "ignore command: %s", sbuf_str(&c->cmd.script));
			memset(&o, 0, sizeof(o));
			o.timeout = IGNORE_CMD_TIMEOUT;
			o.shell = ig->env->opts.shell;
			c->stage = ST_CMDWAIT;
			c->waiting = true;
			c->sp =
			    spawn_run(ig->env->loop, sbuf_str(&c->cmd.script),
			        (const char *const *)c->cmd.args.v,
			        c->cmd.args.n, &o, cmd_done, c);
			return STEP_WAIT;
		}
		case ST_CMDWAIT:
			return STEP_WAIT;
		default:
			c->stage = ST_END;
			break;
		}
	}
}

static void
unlink_check(struct ignore *ig, struct icheck *c)
{
	struct icheck **pp = &ig->pending;

	while (*pp != NULL) {
		if (*pp == c) {
			*pp = c->next;
			ig->npending--;
			return;
		}
		pp = &(*pp)->next;
	}
}

static void
check_resume(struct icheck *c)
{
	enum ignore_reason r;

	if (c->ig == NULL) {
		if (c->sp == NULL)
			check_free(c);
		return;
	}
	if (check_step(c, &r) == STEP_WAIT)
		return;
	unlink_check(c->ig, c);
	c->cb(c->arg, r);
	check_free(c);
}

/*
 * True when a check against ig's rules can never wait (no cache key, no
 * command, no names, no files): then nothing takes c's address for a
 * callback and nothing of c's is allocated (the cache key, the
 * <ip-host> name and the command are the only allocations), so the
 * check can run in a struct on the caller's stack.
 */
static bool
rules_sync(const struct ignore *ig)
{
	if (ig->cache_key != NULL || ig->command != NULL)
		return false;
	for (size_t i = 0; i < ig->nitems; i++)
		if (ig->items[i].kind != IT_NET)
			return false;
	return true;
}

int
ignore_check(struct ignore *ig, const struct action_ticket *t, double now,
    unsigned flags, ignore_cb cb, void *arg)
{
	struct icheck *c;
	enum ignore_reason r;

	if (rules_sync(ig)) {
		/* a failure's common case: no allocation */
		struct icheck s;
		int step;

		memset(&s, 0, sizeof(s));
		s.ig = ig;
		s.t = *t;
		s.now = now;
		s.flags = flags;
		s.cb = cb;
		s.arg = arg;
		s.sync_only = cb == NULL || ig->npending >= IGNORE_MAX_PENDING;
		step = check_step(&s, &r);
		assert(step == STEP_DONE);
		(void)step;
		if (s.dropped && cb != NULL)
			ig->dropped++;
		return (int)r;
	}
	c = xcalloc(1, sizeof(*c));
	c->ig = ig;
	c->t = *t;
	c->now = now;
	c->flags = flags;
	c->cb = cb;
	c->arg = arg;
	/* cb NULL: the caller wants an answer now, from what is known */
	c->sync_only = cb == NULL || ig->npending >= IGNORE_MAX_PENDING;
	tags_cmd_init(&c->cmd);
	if (check_step(c, &r) == STEP_DONE) {
		if (c->dropped && cb != NULL)
			ig->dropped++;
		check_free(c);
		return (int)r;
	}
	/* Something is out: keep a copy of the ticket from now on. */
	tags_ticket_dup(&c->t, t);
	c->owned = true;
	c->next = ig->pending;
	ig->pending = c;
	ig->npending++;
	return -1;
}
