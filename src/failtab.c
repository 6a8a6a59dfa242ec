/*
 * The capped failure table (see failtab.h): a chained hash table keyed by
 * fkey, plus a doubly linked list in update order that makes eviction of
 * the stalest entry O(1).
 */
#include "failtab.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "sbuf.h"
#include "xmalloc.h"

#define FDATA_VALUE_MAX 256 /* bytes per captured value */

struct failtab {
	struct failtab_opts o;
	struct fkey_hashkey hk;
	struct failtab_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t n;
	struct failtab_entry *head, *tail; /* update order */
	uint64_t total;
	uint64_t evictions;
	/* links (max_links > 0) */
	struct failtab_link **lbuckets;
	size_t nlbuckets; /* power of two */
	size_t nlinks;
	struct failtab_link *lhead, *ltail; /* update order */
	uint64_t link_evictions;
	struct lslab *lslabs; /* where links live */
	size_t lslab_used;    /* links handed out from lslabs (the newest) */
	struct failtab_link *lfree; /* deleted links (through hnext) */
};

/* Links come from slabs of LSLAB links, never more in all than max_links
 * (a deleted link is reused before a slab grows): no malloc/free per
 * link while they churn at the cap. */
#define LSLAB 256
struct lslab {
	struct lslab *next;
	size_t n;                /* links in l */
	struct failtab_link l[]; /* 64-byte aligned */
};

/* ---- fdata ---- */

/* n bytes of s cut to at most cap, not splitting a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t n, size_t cap)
{
	if (n <= cap)
		return n;
	n = cap;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void
fdata_cleanup(struct fdata *d)
{
	for (size_t i = 0; i < d->nmatches; i++)
		free(d->matches[i]);
	free(d->matches);
	for (size_t i = 0; !d->kv_block && i < d->nkv; i++)
		free(d->kv[i].name);
	free(d->kv);
	memset(d, 0, sizeof(*d));
}

/* One allocation for a pair (most values are a few bytes: two blocks
 * would double the allocator's overhead per pair). */
void
fdata_kv_set(
    struct fdata_kv *kv, const char *name, const char *value, size_t vl)
{
	size_t nl = strlen(name);
	char *b = xmalloc(nl + vl + 2);

	memcpy(b, name, nl);
	b[nl] = '\0';
	memcpy(b + nl + 1, value, vl);
	b[nl + 1 + vl] = '\0';
	kv->name = b;
	kv->value = b + nl + 1;
}

/*
 * Sets the captured groups of d (which has none) to those of kv that
 * fdata_add_kv() would take one by one, in one block: the array, then
 * every "name\0value\0" (a failure's five or so groups were ten
 * allocations).
 */
void
fdata_set_kv(struct fdata *d, const struct fdata_kv *kv, size_t n)
{
	size_t used = 0, take = 0, bytes = 0;
	size_t nl[FDATA_KV_MAX], vl[FDATA_KV_MAX], pick[FDATA_KV_MAX];
	char *p;

	for (size_t i = 0; i < n; i++) {
		size_t a = strlen(kv[i].name);
		size_t b =
		    utf8_cut(kv[i].value, strlen(kv[i].value), FDATA_VALUE_MAX);

		if (take >= FDATA_KV_MAX || used + a + b > FDATA_KV_BYTES)
			continue;
		used += a + b;
		nl[take] = a;
		vl[take] = b;
		pick[take++] = i;
		bytes += a + b + 2;
	}
	if (take == 0)
		return;
	d->kv = xmalloc(take * sizeof(*d->kv) + bytes);
	p = (char *)(d->kv + take);
	for (size_t k = 0; k < take; k++) {
		const struct fdata_kv *s = &kv[pick[k]];

		memcpy(p, s->name, nl[k]);
		p[nl[k]] = '\0';
		d->kv[k].name = p;
		p += nl[k] + 1;
		memcpy(p, s->value, vl[k]);
		p[vl[k]] = '\0';
		d->kv[k].value = p;
		p += vl[k] + 1;
	}
	d->nkv = take;
	d->kv_block = true;
}

void
fdata_copy(struct fdata *dst, const struct fdata *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->nmatches) {
		dst->matches =
		    xreallocarray(NULL, src->nmatches, sizeof(*dst->matches));
		for (size_t i = 0; i < src->nmatches; i++)
			dst->matches[i] = xstrdup(src->matches[i]);
		dst->nmatches = src->nmatches;
		dst->match_bytes = src->match_bytes;
	}
	if (src->nkv)
		fdata_set_kv(dst, src->kv, src->nkv);
}

const char *
fdata_get(const struct fdata *d, const char *name)
{
	for (size_t i = 0; i < d->nkv; i++)
		if (!strcmp(d->kv[i].name, name))
			return d->kv[i].value;
	return NULL;
}

bool
fdata_add_kv(struct fdata *d, const char *name, const char *value)
{
	size_t used = 0, nl = strlen(name);
	size_t vl = utf8_cut(value, strlen(value), FDATA_VALUE_MAX);

	for (size_t i = 0; i < d->nkv; i++)
		used += strlen(d->kv[i].name) + strlen(d->kv[i].value);
	if (d->nkv >= FDATA_KV_MAX || used + nl + vl > FDATA_KV_BYTES)
		return false;
	if (d->kv_block) {
		/* one block per pair from now on */
		struct fdata_kv *v = xcalloc(d->nkv + 1, sizeof(*v));

		for (size_t i = 0; i < d->nkv; i++)
			fdata_kv_set(&v[i], d->kv[i].name, d->kv[i].value,
			    strlen(d->kv[i].value));
		free(d->kv);
		d->kv = v;
		d->kv_block = false;
	}
	d->kv = xreallocarray(d->kv, d->nkv + 1, sizeof(*d->kv));
	fdata_kv_set(&d->kv[d->nkv], name, value, vl);
	d->nkv++;
	return true;
}

/* True when jansson writes s between quotes as it is: printable ASCII
 * other than '"' and '\\' (no escape, nothing for ctl_json_string to
 * replace). */
static bool
json_plain(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')
			return false;
	}
	return true;
}

char *
fdata_json(const struct fdata *d)
{
	struct sbuf b = SBUF_INIT;
	json_t *o;
	char *s;
	bool plain = true;

	if (d->nkv == 0)
		return NULL;
	/* the common case (one ban per group set: per ban) written here */
	for (size_t i = 0; i < d->nkv && plain; i++) {
		plain = json_plain(d->kv[i].name) && json_plain(d->kv[i].value);
		for (size_t k = 0; k < i && plain; k++)
			plain = strcmp(d->kv[k].name, d->kv[i].name) != 0;
	}
	if (plain) {
		sbuf_addch(&b, '{');
		for (size_t i = 0; i < d->nkv; i++) {
			if (i > 0)
				sbuf_addch(&b, ',');
			sbuf_addch(&b, '"');
			sbuf_addstr(&b, d->kv[i].name);
			sbuf_add(&b, "\":\"", 3);
			sbuf_addstr(&b, d->kv[i].value);
			sbuf_addch(&b, '"');
		}
		sbuf_addch(&b, '}');
		return sbuf_detach(&b);
	}
	o = json_object();
	for (size_t i = 0; i < d->nkv; i++)
		json_object_set_new(o, d->kv[i].name,
		    ctl_json_string(d->kv[i].value, strlen(d->kv[i].value)));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Drops the oldest lines so that at most keep remain. */
static void
matches_keep_last(struct fdata *d, size_t keep)
{
	size_t drop;

	if (d->nmatches <= keep)
		return;
	drop = d->nmatches - keep;
	for (size_t i = 0; i < drop; i++) {
		d->match_bytes -= strlen(d->matches[i]);
		free(d->matches[i]);
	}
	memmove(d->matches, d->matches + drop, keep * sizeof(*d->matches));
	d->nmatches = keep;
	if (keep == 0) {
		free(d->matches);
		d->matches = NULL;
	}
}

/* Appends lines (cut at line_max), then drops the oldest while the
 * entry's lines exceed budget (the newest line always stays). */
static void
matches_append(struct fdata *d, const char *const *lines, size_t n,
    size_t line_max, size_t budget)
{
	size_t first = 0, bytes = 0;

	if (n == 0)
		return;
	/* only the newest lines that can fit are worth copying */
	for (size_t i = n; i > 0; i--) {
		size_t l =
		    utf8_cut(lines[i - 1], strlen(lines[i - 1]), line_max);

		if (i < n && bytes + l > budget) {
			first = i;
			break;
		}
		bytes += l;
	}
	d->matches = xreallocarray(
	    d->matches, d->nmatches + (n - first), sizeof(*d->matches));
	for (size_t i = first; i < n; i++) {
		size_t l = utf8_cut(lines[i], strlen(lines[i]), line_max);

		d->matches[d->nmatches++] = xstrndup(lines[i], l);
		d->match_bytes += l;
	}
	while (d->nmatches > 1 && d->match_bytes > budget)
		matches_keep_last(d, d->nmatches - 1);
}

/* ---- table ---- */

static size_t
pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

struct failtab *
failtab_new(const struct failtab_opts *opts)
{
	struct failtab *ft = xcalloc(1, sizeof(*ft));

	ft->o = *opts;
	if (!ft->o.max_entries)
		ft->o.max_entries = FAILTAB_DEFAULT_MAX;
	if (!ft->o.match_max_len)
		ft->o.match_max_len = FAILTAB_DEFAULT_MATCH_LEN;
	if (!ft->o.entry_match_bytes)
		ft->o.entry_match_bytes = FAILTAB_DEFAULT_ENTRY;
	fkey_hashkey_random(&ft->hk);
	ft->nbuckets = 16;
	ft->buckets = xcalloc(ft->nbuckets, sizeof(*ft->buckets));
	return ft;
}

/* ---- links ---- */

/* A link's hash: its key's keyed hash kh with the owner's address mixed
 * in (its memory is ours, not chosen by anyone; kh is already keyed). */
static uint64_t
link_hash(const struct failtab_entry *e, uint64_t kh)
{
	uint64_t p = (uint64_t)(uintptr_t)e;

	p ^= p >> 33;
	p *= 0xff51afd7ed558ccdULL;
	p ^= p >> 33;
	return kh ^ p;
}

/* Hash chains are doubly linked (hpprev: the pointer to l) so that a
 * link leaves its chain in O(1), without walking it. */
static void
lchain_insert(struct failtab_link **b, struct failtab_link *l)
{
	l->hnext = *b;
	if (*b != NULL)
		(*b)->hpprev = &l->hnext;
	*b = l;
	l->hpprev = b;
}

static void
lchain_unlink(struct failtab_link *l)
{
	*l->hpprev = l->hnext;
	if (l->hnext != NULL)
		l->hnext->hpprev = l->hpprev;
	l->hnext = NULL;
	l->hpprev = NULL;
}

static void
llist_unlink(struct failtab *ft, struct failtab_link *l)
{
	if (l->lprev)
		l->lprev->lnext = l->lnext;
	else
		ft->lhead = l->lnext;
	if (l->lnext)
		l->lnext->lprev = l->lprev;
	else
		ft->ltail = l->lprev;
	l->lprev = l->lnext = NULL;
}

static void
llist_append(struct failtab *ft, struct failtab_link *l)
{
	l->lprev = ft->ltail;
	l->lnext = NULL;
	if (ft->ltail)
		ft->ltail->lnext = l;
	else
		ft->lhead = l;
	ft->ltail = l;
}

/* Takes l out of the table (chain, update order, owner) and releases its
 * key; the caller frees or reuses its memory. */
static void
link_unlink(struct failtab *ft, struct failtab_link *l)
{
	struct failtab_entry *e = l->owner;

	lchain_unlink(l);
	llist_unlink(ft, l);
	if (l->eprev)
		l->eprev->enext = l->enext;
	else
		e->links = l->enext;
	if (l->enext)
		l->enext->eprev = l->eprev;
	e->nlinks--;
	ft->nlinks--;
	fkey_release(&l->key);
}

/* A zeroed link from the free list or a slab. */
static struct failtab_link *
link_alloc(struct failtab *ft)
{
	struct failtab_link *l = ft->lfree;

	if (l != NULL) {
		ft->lfree = l->hnext;
	} else {
		if (ft->lslabs == NULL || ft->lslab_used == ft->lslabs->n) {
			size_t n =
			    ft->o.max_links < LSLAB ? ft->o.max_links : LSLAB;
			size_t sz = offsetof(struct lslab, l) + n * sizeof(*l);
			struct lslab *s;

			sz = (sz + 63) / 64 * 64;
			s = aligned_alloc(64, sz);
			if (s == NULL) {
				/* as xmalloc() does */
				fprintf(stderr,
				    "warden: out of memory allocating %zu "
				    "bytes\n",
				    sz);
				abort();
			}
			s->next = ft->lslabs;
			s->n = n;
			ft->lslabs = s;
			ft->lslab_used = 0;
		}
		l = &ft->lslabs->l[ft->lslab_used++];
	}
	memset(l, 0, sizeof(*l));
	return l;
}

void
failtab_link_del(struct failtab *ft, struct failtab_link *l)
{
	link_unlink(ft, l);
	l->hnext = ft->lfree;
	ft->lfree = l;
}

static void
links_drop(struct failtab *ft, struct failtab_entry *e)
{
	while (e->links != NULL)
		failtab_link_del(ft, e->links);
}

static void
lgrow(struct failtab *ft)
{
	size_t nb = ft->nlbuckets ? ft->nlbuckets * 2 : 16;
	struct failtab_link **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < ft->nlbuckets; i++) {
		struct failtab_link *l = ft->lbuckets[i], *nx;

		for (; l; l = nx) {
			nx = l->hnext;
			lchain_insert(&b[l->hash & (nb - 1)], l);
		}
	}
	free(ft->lbuckets);
	ft->lbuckets = b;
	ft->nlbuckets = nb;
}

/* e's link for key, h its link_hash(). */
static struct failtab_link *
link_lookup(struct failtab *ft, const struct failtab_entry *e,
    const struct fkey *key, uint64_t h)
{
	struct failtab_link *l;

	if (ft->nlbuckets == 0)
		return NULL;
	for (l = ft->lbuckets[h & (ft->nlbuckets - 1)]; l; l = l->hnext)
		if (l->hash == h && l->owner == e && fkey_equal(&l->key, key))
			return l;
	return NULL;
}

struct failtab_link *
failtab_link_find(
    struct failtab *ft, struct failtab_entry *e, const struct fkey *key)
{
	if (ft->nlbuckets == 0)
		return NULL;
	return link_lookup(ft, e, key, link_hash(e, fkey_hash(key, &ft->hk)));
}

struct failtab_link *
failtab_link_add(struct failtab *ft, struct failtab_entry *e,
    const struct fkey *key, double time, double count)
{
	if (ft->o.max_links == 0)
		return NULL;
	return failtab_link_add_hashed(
	    ft, e, key, fkey_hash(key, &ft->hk), time, count);
}

struct failtab_link *
failtab_link_add_hashed(struct failtab *ft, struct failtab_entry *e,
    const struct fkey *key, uint64_t hash, double time, double count)
{
	uint64_t h = link_hash(e, hash);
	struct failtab_link *l;

	if (ft->o.max_links == 0)
		return NULL;
	l = link_lookup(ft, e, key, h);
	if (l != NULL) {
		l->count += count;
		if (time > l->time)
			l->time = time;
		llist_unlink(ft, l);
		llist_append(ft, l);
		/* newest first in the owner's list too */
		if (e->links != l) {
			l->eprev->enext = l->enext;
			if (l->enext)
				l->enext->eprev = l->eprev;
			l->eprev = NULL;
			l->enext = e->links;
			e->links->eprev = l;
			e->links = l;
		}
		return l;
	}
	if (ft->nlinks >= ft->o.max_links) {
		/* the stalest link goes; its memory serves the new one */
		l = ft->lhead;
		link_unlink(ft, l);
		memset(l, 0, sizeof(*l));
		ft->link_evictions++;
	} else {
		l = link_alloc(ft);
	}
	if (ft->nlinks + 1 > ft->nlbuckets &&
	    ft->nlbuckets < pow2_at_least(ft->o.max_links))
		lgrow(ft);
	fkey_dup(&l->key, key);
	l->time = time;
	l->count = count;
	l->owner = e;
	l->hash = h;
	lchain_insert(&ft->lbuckets[h & (ft->nlbuckets - 1)], l);
	llist_append(ft, l);
	l->enext = e->links;
	if (e->links)
		e->links->eprev = l;
	e->links = l;
	e->nlinks++;
	ft->nlinks++;
	return l;
}

struct failtab_link *
failtab_links(struct failtab_entry *e)
{
	return e->links;
}

struct failtab_link *
failtab_link_next(struct failtab_link *l)
{
	return l->enext;
}

size_t
failtab_link_count(const struct failtab *ft)
{
	return ft->nlinks;
}

uint64_t
failtab_link_evictions(const struct failtab *ft)
{
	return ft->link_evictions;
}

static void
entry_free(struct failtab_entry *e)
{
	fkey_release(&e->key);
	fdata_cleanup(&e->data);
	free(e);
}

void
failtab_free(struct failtab *ft)
{
	struct failtab_entry *e, *nx;

	if (!ft)
		return;
	for (e = ft->head; e; e = nx) {
		nx = e->next;
		links_drop(ft, e);
		entry_free(e);
	}
	free(ft->buckets);
	free(ft->lbuckets);
	while (ft->lslabs != NULL) {
		struct lslab *s = ft->lslabs;

		ft->lslabs = s->next;
		free(s);
	}
	free(ft);
}

void
failtab_share_hashkey(struct failtab *ft, const struct failtab *from)
{
	ft->hk = from->hk;
	memset(ft->buckets, 0, ft->nbuckets * sizeof(*ft->buckets));
	for (struct failtab_entry *e = ft->head; e; e = e->next) {
		size_t i;

		e->hash = fkey_hash(&e->key, &ft->hk);
		i = e->hash & (ft->nbuckets - 1);
		e->hnext = ft->buckets[i];
		ft->buckets[i] = e;
	}
	if (ft->nlbuckets > 0)
		memset(ft->lbuckets, 0, ft->nlbuckets * sizeof(*ft->lbuckets));
	for (struct failtab_link *l = ft->lhead; l; l = l->lnext) {
		l->hash = link_hash(l->owner, fkey_hash(&l->key, &ft->hk));
		lchain_insert(&ft->lbuckets[l->hash & (ft->nlbuckets - 1)], l);
	}
}

uint64_t
failtab_hash(const struct failtab *ft, const struct fkey *key)
{
	return fkey_hash(key, &ft->hk);
}

void
failtab_set_findtime(struct failtab *ft, double findtime)
{
	ft->o.findtime = findtime;
}

void
failtab_set_maxmatches(struct failtab *ft, int maxmatches)
{
	ft->o.maxmatches = maxmatches;
}

static void
grow(struct failtab *ft)
{
	size_t nb = ft->nbuckets * 2;
	struct failtab_entry **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < ft->nbuckets; i++) {
		struct failtab_entry *e = ft->buckets[i], *nx;

		for (; e; e = nx) {
			nx = e->hnext;
			e->hnext = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(ft->buckets);
	ft->buckets = b;
	ft->nbuckets = nb;
}

static void
list_unlink(struct failtab *ft, struct failtab_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		ft->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		ft->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
list_append(struct failtab *ft, struct failtab_entry *e)
{
	e->prev = ft->tail;
	e->next = NULL;
	if (ft->tail)
		ft->tail->next = e;
	else
		ft->head = e;
	ft->tail = e;
}

/* Unlinks e from its hash chain and the list, and frees it. */
static void
remove_entry(struct failtab *ft, struct failtab_entry *e, bool free_it)
{
	struct failtab_entry **pp = &ft->buckets[e->hash & (ft->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_unlink(ft, e);
	links_drop(ft, e);
	ft->n--;
	if (free_it)
		entry_free(e);
}

void
failtab_set_max_entries(struct failtab *ft, size_t max_entries)
{
	ft->o.max_entries = max_entries ? max_entries : FAILTAB_DEFAULT_MAX;
	while (ft->n > ft->o.max_entries) {
		remove_entry(ft, ft->head, true);
		ft->evictions++;
	}
}

static struct failtab_entry *
lookup(struct failtab *ft, const struct fkey *key, uint64_t h)
{
	struct failtab_entry *e = ft->buckets[h & (ft->nbuckets - 1)];

	for (; e; e = e->hnext)
		if (e->hash == h && fkey_equal(&e->key, key))
			return e;
	return NULL;
}

struct failtab_entry *
failtab_find(struct failtab *ft, const struct fkey *key)
{
	return lookup(ft, key, fkey_hash(key, &ft->hk));
}

bool
failtab_del(struct failtab *ft, const struct fkey *key)
{
	struct failtab_entry *e = failtab_find(ft, key);

	if (!e)
		return false;
	remove_entry(ft, e, true);
	return true;
}

/* FailTicket.adjustTime: rescale retry when the window has slid. */
static void
adjust_time(struct failtab_entry *e, double t, double findtime)
{
	if (t > e->time) {
		if (e->first < t - findtime) {
			/* Python: int(round(retry / float(t - first) *
			 * maxTime)), round half to even */
			e->retry =
			    nearbyint(e->retry / (t - e->first) * findtime);
			e->first = t - findtime;
		}
		e->time = t;
	}
}

struct failtab_entry *
failtab_add(struct failtab *ft, const struct failtab_failure *f, bool *created)
{
	uint64_t h = f->hashed ? f->hash : fkey_hash(&f->key, &ft->hk);
	struct failtab_entry *e = lookup(ft, &f->key, h);

	if (created)
		*created = false;
	if (e) {
		long attempt;
		bool lines;

		if (f->same_ticket) {
			lines = false;
			attempt = 1;
		} else {
			lines = ft->o.maxmatches > 0;
			attempt = f->attempt;
			if (attempt <= 0)
				attempt += 1;
		}
		adjust_time(e, f->time, ft->o.findtime);
		e->retry += f->count;
		e->failures += attempt;
		if (lines)
			matches_append(&e->data, f->matches, f->nmatches,
			    ft->o.match_max_len, ft->o.entry_match_bytes);
		if (ft->o.maxmatches > 0)
			matches_keep_last(&e->data, (size_t)ft->o.maxmatches);
		else
			matches_keep_last(&e->data, 0);
		list_unlink(ft, e);
		list_append(ft, e);
		ft->total++;
		return e;
	}
	if (f->observed)
		return NULL;

	if (ft->n >= ft->o.max_entries) {
		/* evict the stalest and reuse its memory */
		e = ft->head;
		remove_entry(ft, e, false);
		fkey_release(&e->key);
		fdata_cleanup(&e->data);
		memset(e, 0, sizeof(*e));
		ft->evictions++;
	} else {
		e = xcalloc(1, sizeof(*e));
	}
	fkey_dup(&e->key, &f->key);
	e->hash = h;
	e->time = e->first = f->time;
	/* FailTicket(): retry and failures start at the ticket's attempts;
	 * addFailure raises retry to count when count is larger */
	e->retry = (double)f->attempt;
	e->failures = f->attempt;
	if (f->count > (double)f->attempt) {
		e->retry = f->count;
		if (e->failures == 0)
			e->failures = 1;
	}
	/* a new entry keeps all of its first failure's lines */
	matches_append(&e->data, f->matches, f->nmatches, ft->o.match_max_len,
	    ft->o.entry_match_bytes);
	fdata_set_kv(&e->data, f->kv, f->nkv);

	if (ft->n + 1 > ft->nbuckets &&
	    ft->nbuckets < pow2_at_least(ft->o.max_entries))
		grow(ft);
	e->hnext = ft->buckets[h & (ft->nbuckets - 1)];
	ft->buckets[h & (ft->nbuckets - 1)] = e;
	list_append(ft, e);
	ft->n++;
	ft->total++;
	if (created)
		*created = true;
	return e;
}

bool
failtab_forget(struct failtab *ft, struct failtab_entry *e, double count)
{
	long c = (long)ceil(count);

	e->retry -= count;
	if (e->retry < 0)
		e->retry = 0;
	e->failures = e->failures > c ? e->failures - c : 0;
	if (e->retry > 0)
		return false;
	remove_entry(ft, e, true);
	return true;
}

void
failtab_take(struct failtab *ft, struct failtab_entry *e, struct fticket *t)
{
	remove_entry(ft, e, false);
	t->key = e->key;
	t->time = e->time;
	t->retry = e->retry;
	t->failures = e->failures;
	t->data = e->data;
	free(e);
}

void
fticket_cleanup(struct fticket *t)
{
	fkey_release(&t->key);
	fdata_cleanup(&t->data);
}

size_t
failtab_cleanup(struct failtab *ft, double now)
{
	double cut = now - ft->o.findtime;
	struct failtab_entry *e, *nx;
	size_t removed = 0;

	for (e = ft->head; e; e = nx) {
		nx = e->next;
		if (e->time <= cut) {
			remove_entry(ft, e, true);
			removed++;
		}
	}
	return removed;
}

size_t
failtab_size(const struct failtab *ft)
{
	return ft->n;
}

size_t
failtab_max_entries(const struct failtab *ft)
{
	return ft->o.max_entries;
}

uint64_t
failtab_total(const struct failtab *ft)
{
	return ft->total;
}

void
failtab_set_total(struct failtab *ft, uint64_t total)
{
	ft->total = total;
}

uint64_t
failtab_evictions(const struct failtab *ft)
{
	return ft->evictions;
}

struct failtab_entry *
failtab_first(struct failtab *ft)
{
	return ft->head;
}

struct failtab_entry *
failtab_next(struct failtab_entry *e)
{
	return e->next;
}
