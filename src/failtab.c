/*
 * The capped failure table (see failtab.h): a chained hash table keyed by
 * fkey, plus a doubly linked list in update order that makes eviction of
 * the stalest entry O(1).
 */
#include "failtab.h"

#include <endian.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <jansson.h>

#include "ctl.h"
#include "sbuf.h"
#include "xmalloc.h"

#define FDATA_VALUE_MAX 256 /* bytes per captured value */

/* A memo slot: an entry, and its key itself when it has at most 7
 * bytes (else 0; see memo_find()). */
struct memo {
	uint64_t tag;
	struct failtab_entry *e;
};

struct failtab {
	struct failtab_opts o;
	struct fkey_hashkey hk;
	struct failtab_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t n;
	struct failtab_entry *head, *tail; /* update order */
	uint64_t total;
	uint64_t evictions;
	/* links (max_links > 0): rings per entry */
	size_t nlinks;     /* slots in use */
	size_t lslots;     /* slots held by the rings */
	size_t lbytes;     /* their bytes */
	uint32_t ring_max; /* per-entry cap (a power of two) */
	uint64_t link_evictions;
	/* memo (memo_slots > 0): entries of RAW/USER keys */
	struct memo *memo;
	uint32_t memo_mask;
	uint64_t memo_seed;
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
 * replace); *len gets its length. */
static bool
json_plain(const char *s, size_t *len)
{
	const char *p = s;

	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')
			return false;
	}
	*len = (size_t)(p - s);
	return true;
}

/*
 * The common case (one ban per group set: per ban), written by hand:
 * every name and value plain, no name repeated. Into buf (cap bytes)
 * with its NUL; returns the length, or 0 when d is not plain or buf too
 * short.
 */
static size_t
json_plain_into(const struct fdata *d, char *buf, size_t cap)
{
	size_t n = 1; /* the '{' or ',' before the next pair */

	for (size_t i = 0; i < d->nkv; i++) {
		size_t nl, vl;

		if (!json_plain(d->kv[i].name, &nl) ||
		    !json_plain(d->kv[i].value, &vl))
			return 0;
		for (size_t k = 0; k < i; k++)
			if (strcmp(d->kv[k].name, d->kv[i].name) == 0)
				return 0;
		/* "name":"value", then room for the ',' or '}' and NUL */
		if (n + nl + vl + 6 + 1 > cap)
			return 0;
		buf[n - 1] = i == 0 ? '{' : ',';
		buf[n++] = '"';
		memcpy(buf + n, d->kv[i].name, nl);
		n += nl;
		memcpy(buf + n, "\":\"", 3);
		n += 3;
		memcpy(buf + n, d->kv[i].value, vl);
		n += vl;
		buf[n++] = '"';
		n++;
	}
	buf[n - 1] = '}';
	buf[n] = '\0';
	return n;
}

static char *
json_general(const struct fdata *d)
{
	json_t *o = json_object();
	char *s;

	for (size_t i = 0; i < d->nkv; i++)
		json_object_set_new(o, d->kv[i].name,
		    ctl_json_string(d->kv[i].value, strlen(d->kv[i].value)));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

char *
fdata_json(const struct fdata *d)
{
	size_t need = 2; /* '{' ... and the NUL ('}' is a pair's) */
	char *s;

	if (d->nkv == 0)
		return NULL;
	for (size_t i = 0; i < d->nkv; i++)
		need += strlen(d->kv[i].name) + strlen(d->kv[i].value) + 6;
	s = xmalloc(need);
	if (json_plain_into(d, s, need) > 0)
		return s;
	free(s);
	return json_general(d);
}

const char *
fdata_json_buf(const struct fdata *d, char *buf, size_t cap, char **own)
{
	*own = NULL;
	if (d->nkv == 0)
		return NULL;
	if (json_plain_into(d, buf, cap) > 0)
		return buf;
	*own = fdata_json(d);
	return *own;
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
	failtab_set_max_entry_links(ft, ft->o.max_entry_links);
	fkey_hashkey_random(&ft->hk);
	if (ft->o.memo_slots > 0) {
		uint32_t p = 1;

		while ((size_t)p * 2 <= ft->o.memo_slots && p < (1u << 20))
			p *= 2;
		ft->memo = xcalloc(p, sizeof(*ft->memo));
		ft->memo_mask = p - 1;
		ft->memo_seed = ft->hk.k0 ^ ft->hk.k1;
	}
	ft->nbuckets = 16;
	ft->buckets = xcalloc(ft->nbuckets, sizeof(*ft->buckets));
	return ft;
}

/* ---- links: a ring of (key, time, count) slots per entry ---- */

/*
 * Slot encodings. A ring holds slots of one width (r->w), the narrowest
 * its failures fit, and is re-encoded wider when one that does not fit
 * arrives (then stays so until it is emptied):
 *
 *   LW_8   an IPv4 address (AF_INET, /32), a time of whole seconds in
 *          [0, 2^32) and a count of 1: 8 bytes (log files' times);
 *   LW_16  an IPv4 address, any time (double) and count (float): 16;
 *   LW_32  any key: IPv6, networks, RAW/USER bytes (owned): 32.
 *
 * Each gives back exactly the time, count and key written (the count a
 * float as ever), so only memory depends on the width: the 100,000
 * slots of a table's cap take 0.8 MB instead of 3.2 when failures come
 * from IPv4 addresses with log files' times, and a ring grows by
 * copying a quarter as much.
 */
enum { LW_8, LW_16, LW_32 };

struct lslot8 {
	uint32_t a; /* the address's 4 bytes as they are */
	uint32_t t; /* epoch s */
};

struct lslot16 {
	double time;
	uint32_t a;
	float count;
};

/* Any key: 32 bytes, two per cache line. */
struct lslot {
	double time;    /* epoch s */
	float count;    /* integers stay exact up to 2^24 */
	uint8_t kind;   /* enum fkey_kind */
	uint8_t family; /* FKEY_ADDR: the struct addr's family and prefix */
	uint8_t prefix;
	uint8_t pad;
	union {
		uint8_t b[16]; /* FKEY_ADDR: the address */
		struct {
			char *s; /* RAW/USER: owned copy */
			size_t len;
		} str;
	} k;
};

_Static_assert(sizeof(struct lslot8) == 8 && sizeof(struct lslot16) == 16 &&
        sizeof(struct lslot) == 32,
    "slot widths are 8 << w bytes");

/* A slot as it was written. */
struct lval {
	struct fkey key; /* RAW/USER bytes borrowed from the ring */
	double time;
	double count;
};

/* The raw index (not from the oldest) of r's i-th slot from the
 * oldest. */
static inline uint32_t
ring_ix(const struct failtab_ring *r, uint32_t i)
{
	return (r->head + i) & (r->cap - 1);
}

static inline void *
slot_ptr(const struct failtab_ring *r, uint32_t ix)
{
	return (char *)r->s + ((size_t)ix << (3 + r->w));
}

/* One IPv4 address (its 4 bytes say it all). */
static inline bool
key_is_v4(const struct fkey *k)
{
	uint32_t m;
	uint64_t h;

	if (k->kind != FKEY_ADDR || k->addr.family != AF_INET ||
	    k->addr.prefix != 32)
		return false;
	memcpy(&m, k->addr.b + 4, 4);
	memcpy(&h, k->addr.b + 8, 8);
	return (m | h) == 0;
}

/* The narrowest width that holds the failure exactly. */
static inline unsigned
slot_need(const struct fkey *k, double t, double count)
{
	if (!key_is_v4(k))
		return LW_32;
	/* no sign bit (not even -0) and below 2^32 (not NaN): in range */
	if (count == 1 && !signbit(t) && t < 4294967296.0 &&
	    (double)(uint32_t)t == t)
		return LW_8;
	return LW_16;
}

/* Fills s, field by field: never read (a slot being reused is usually
 * not in the cache, and a store does not wait for its line), nor built
 * on the stack and copied (a 16-byte load of smaller stores that have
 * not reached the cache cannot be forwarded: it waits for every older
 * store, cold ones included). */
static __attribute__((noinline)) void
slot_set_str(struct lslot *s, const struct fkey *key)
{
	char *b = xmalloc(key->len + 1);

	if (key->len > 0)
		memcpy(b, key->s, key->len);
	b[key->len] = '\0';
	s->family = s->prefix = 0;
	s->k.str.s = b;
	s->k.str.len = key->len;
}

static inline void
slot_set(struct lslot *s, const struct fkey *key, double time, double count)
{
	s->time = time;
	s->count = (float)count;
	s->kind = (uint8_t)key->kind;
	s->pad = 0;
	if (key->kind == FKEY_ADDR) {
		s->family = key->addr.family;
		s->prefix = key->addr.prefix;
		memcpy(s->k.b, key->addr.b, 16);
	} else {
		slot_set_str(s, key);
	}
}

/* Writes the failure into r's slot ix (r->w at least its need). */
static inline void
slot_write(struct failtab_ring *r, uint32_t ix, const struct fkey *key,
    double time, double count)
{
	if (r->w == LW_8) {
		struct lslot8 *s = slot_ptr(r, ix);

		memcpy(&s->a, key->addr.b, 4);
		s->t = (uint32_t)time;
	} else if (r->w == LW_16) {
		struct lslot16 *s = slot_ptr(r, ix);

		s->time = time;
		memcpy(&s->a, key->addr.b, 4);
		s->count = (float)count;
	} else {
		slot_set(slot_ptr(r, ix), key, time, count);
	}
}

static void
v4_key(struct fkey *k, uint32_t a)
{
	memset(k, 0, sizeof(*k));
	k->kind = FKEY_ADDR;
	k->addr.family = AF_INET;
	k->addr.prefix = 32;
	memcpy(k->addr.b, &a, 4);
}

static void
slot_read(const struct failtab_ring *r, uint32_t ix, struct lval *v)
{
	if (r->w == LW_8) {
		const struct lslot8 *s = slot_ptr(r, ix);

		v4_key(&v->key, s->a);
		v->time = (double)s->t;
		v->count = 1;
	} else if (r->w == LW_16) {
		const struct lslot16 *s = slot_ptr(r, ix);

		v4_key(&v->key, s->a);
		v->time = s->time;
		v->count = s->count;
	} else {
		const struct lslot *s = slot_ptr(r, ix);

		memset(&v->key, 0, sizeof(v->key));
		v->key.kind = (enum fkey_kind)s->kind;
		if (v->key.kind == FKEY_ADDR) {
			v->key.addr.family = s->family;
			v->key.addr.prefix = s->prefix;
			memcpy(v->key.addr.b, s->k.b, 16);
		} else {
			v->key.s = s->k.str.s;
			v->key.len = s->k.str.len;
		}
		v->time = s->time;
		v->count = s->count;
	}
}

static inline double
slot_time(const struct failtab_ring *r, uint32_t ix)
{
	if (r->w == LW_8)
		return ((const struct lslot8 *)slot_ptr(r, ix))->t;
	if (r->w == LW_16)
		return ((const struct lslot16 *)slot_ptr(r, ix))->time;
	return ((const struct lslot *)slot_ptr(r, ix))->time;
}

/* Frees the bytes of r's slot ix if it holds any. */
static void
slot_release(struct failtab_ring *r, uint32_t ix)
{
	struct lslot *s;

	if (r->nstr == 0) /* only LW_32 rings hold bytes */
		return;
	s = slot_ptr(r, ix);
	if (s->kind != FKEY_ADDR) {
		free(s->k.str.s);
		r->nstr--;
	}
}

static void *
slots_alloc(uint32_t cap, unsigned w)
{
	return xmalloc_lines((size_t)cap << (3 + w));
}

/* r's slots moved into cap new ones of width w (cap >= its slots in
 * use, w >= r->w), the oldest first. */
static void
ring_recode(
    struct failtab *ft, struct failtab_ring *r, uint32_t cap, unsigned w)
{
	struct failtab_ring nr = *r;

	nr.s = slots_alloc(cap, w);
	nr.cap = cap;
	nr.head = 0;
	nr.w = w;
	if (w == r->w) {
		size_t sz = (size_t)8 << w;
		uint32_t first = r->cap - r->head; /* head to the end */

		/* at most two runs */
		if (first > r->n)
			first = r->n;
		memcpy(nr.s, slot_ptr(r, r->head), first * sz);
		memcpy(slot_ptr(&nr, first), r->s, (r->n - first) * sz);
	} else {
		/* wider: addresses only (bytes are in LW_32 rings only) */
		for (uint32_t i = 0; i < r->n; i++) {
			struct lval v;

			slot_read(r, ring_ix(r, i), &v);
			slot_write(&nr, i, &v.key, v.time, v.count);
		}
	}
	free(r->s);
	ft->lslots = ft->lslots - r->cap + cap;
	ft->lbytes = ft->lbytes - ((size_t)r->cap << (3 + r->w)) +
	    ((size_t)cap << (3 + w));
	*r = nr;
}

/* r re-encoded for a failure of width w: out of the failure's path
 * (once per ring at most twice). */
static __attribute__((noinline)) void
ring_widen(struct failtab *ft, struct failtab_ring *r, unsigned w)
{
	ring_recode(ft, r, r->cap, w);
}

/* Drops r's oldest slot. */
static void
ring_pop(struct failtab *ft, struct failtab_ring *r)
{
	slot_release(r, r->head);
	r->head = (r->head + 1) & (r->cap - 1);
	r->n--;
	ft->nlinks--;
}

static void
links_drop(struct failtab *ft, struct failtab_entry *e)
{
	struct failtab_ring *r = &e->ring;

	if (r->s == NULL)
		return;
	if (r->nstr == 0) {
		/* addresses only: nothing to free slot by slot */
		ft->nlinks -= r->n;
		r->n = 0;
	}
	while (r->n > 0)
		ring_pop(ft, r);
	ft->lslots -= r->cap;
	ft->lbytes -= (size_t)r->cap << (3 + r->w);
	free(r->s);
	memset(r, 0, sizeof(*r));
}

/* The smallest ring: min(FAILTAB_RING_MIN, the per-entry cap). */
static uint32_t
ring_min(const struct failtab *ft)
{
	return ft->ring_max < FAILTAB_RING_MIN ? ft->ring_max
	                                       : FAILTAB_RING_MIN;
}

/* r may double: within the per-entry cap and the table's. */
static inline bool
ring_can_grow(const struct failtab *ft, const struct failtab_ring *r)
{
	return r->cap * 2 <= ft->ring_max &&
	    ft->lslots + r->cap <= ft->o.max_links;
}

/* Room for one more slot in r (full, or without slots yet): its first
 * slots (of width w), twice as many, or its oldest dropped. Out of the
 * failure's path (once in many failures). */
static __attribute__((noinline)) void
ring_room(struct failtab *ft, struct failtab_ring *r, unsigned w)
{
	if (r->s == NULL) {
		r->cap = ring_min(ft);
		r->w = w;
		r->s = slots_alloc(r->cap, w);
		r->head = r->n = r->nstr = 0;
		ft->lslots += r->cap;
		ft->lbytes += (size_t)r->cap << (3 + w);
		return;
	}
	if (ring_can_grow(ft, r)) {
		ring_recode(ft, r, r->cap * 2, r->w);
	} else {
		ring_pop(ft, r);
		ft->link_evictions++;
	}
}

static inline void
link_push(struct failtab *ft, struct failtab_entry *e, const struct fkey *key,
    double time, double count)
{
	struct failtab_ring *r = &e->ring;
	unsigned w;

	if (ft->o.max_links == 0)
		return;
	w = ft->o.wide_links ? LW_32 : slot_need(key, time, count);
	if (r->s != NULL && w > r->w)
		ring_widen(ft, r, w);
	if (r->n == r->cap) { /* full, or no ring yet (both 0) */
		if (r->nstr == 0 && key->kind == FKEY_ADDR && r->cap > 0 &&
		    !ring_can_grow(ft, r)) {
			/* addresses only, at its cap: the newest takes the
			 * oldest's slot (ring_pop() and a push) */
			slot_write(r, r->head, key, time, count);
			r->head = (r->head + 1) & (r->cap - 1);
			ft->link_evictions++;
			return;
		}
		ring_room(ft, r, w);
	}
	slot_write(r, ring_ix(r, r->n), key, time, count);
	if (key->kind != FKEY_ADDR)
		r->nstr++;
	r->n++;
	ft->nlinks++;
}

void
failtab_link_add(struct failtab *ft, struct failtab_entry *e,
    const struct fkey *key, double time, double count)
{
	link_push(ft, e, key, time, count);
}

/* Whether r's slot ix holds key (v4: key_is_v4(key)). */
static inline bool
slot_is(
    const struct failtab_ring *r, uint32_t ix, const struct fkey *key, bool v4)
{
	const struct lslot *s;

	if (r->w < LW_32) {
		/* a and t/time come first in both narrow slots */
		uint32_t a;

		memcpy(&a, key->addr.b, 4);
		return v4 &&
		    (r->w == LW_8
		            ? ((const struct lslot8 *)slot_ptr(r, ix))->a
		            : ((const struct lslot16 *)slot_ptr(r, ix))->a) ==
		    a;
	}
	s = slot_ptr(r, ix);
	if (s->kind != (uint8_t)key->kind)
		return false;
	if (key->kind == FKEY_ADDR)
		return s->family == key->addr.family &&
		    s->prefix == key->addr.prefix &&
		    memcmp(s->k.b, key->addr.b, 16) == 0;
	return s->k.str.len == key->len &&
	    (key->len == 0 || memcmp(s->k.str.s, key->s, key->len) == 0);
}

bool
failtab_link_forget(struct failtab *ft, struct failtab_entry *e,
    const struct fkey *key, double *count)
{
	struct failtab_ring *r = &e->ring;
	double c = 0;
	uint32_t w = 0, n = r->n;
	size_t sz = (size_t)8 << r->w;
	bool v4 = key_is_v4(key);

	if (r->w < LW_32 && !v4)
		n = 0; /* IPv4 addresses only: none is key */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t ix = ring_ix(r, i);

		if (slot_is(r, ix, key, v4)) {
			if (r->w == LW_8)
				c += 1;
			else if (r->w == LW_16)
				c += ((const struct lslot16 *)slot_ptr(r, ix))
				         ->count;
			else
				c += ((const struct lslot *)slot_ptr(r, ix))
				         ->count;
			slot_release(r, ix);
			continue;
		}
		if (w != i)
			memcpy(slot_ptr(r, ring_ix(r, w)), slot_ptr(r, ix), sz);
		w++;
	}
	ft->nlinks -= n - w;
	r->n -= n - w;
	if (count != NULL)
		*count = c;
	return w < n;
}

/* A slot read back, and its position in the ring. */
struct slot_pos {
	struct lval v;
	uint32_t pos;
};

static int
key_cmp(const struct fkey *a, const struct fkey *b)
{
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->kind == FKEY_ADDR) {
		if (a->addr.family != b->addr.family)
			return a->addr.family < b->addr.family ? -1 : 1;
		if (a->addr.prefix != b->addr.prefix)
			return a->addr.prefix < b->addr.prefix ? -1 : 1;
		return memcmp(a->addr.b, b->addr.b, 16);
	} else {
		size_t l = a->len < b->len ? a->len : b->len;

		c = l > 0 ? memcmp(a->s, b->s, l) : 0;
		if (c == 0 && a->len != b->len)
			c = a->len < b->len ? -1 : 1;
	}
	return c;
}

/* Slots by key, then position. */
static int
cmp_by_key(const void *pa, const void *pb)
{
	const struct slot_pos *x = pa, *y = pb;
	int c = key_cmp(&x->v.key, &y->v.key);

	if (c != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Pairs by last failure, then by the position of that failure. */
struct pair_pos {
	struct failtab_pair p;
	uint32_t last; /* ring position of the key's newest slot */
};

static int
cmp_by_time(const void *pa, const void *pb)
{
	const struct pair_pos *a = pa, *b = pb;

	if (a->p.time != b->p.time)
		return a->p.time < b->p.time ? -1 : 1;
	return a->last < b->last ? -1 : a->last > b->last;
}

size_t
failtab_link_pairs(struct failtab *ft, struct failtab_entry *e, double after,
    struct failtab_pair **out)
{
	const struct failtab_ring *r = &e->ring;
	struct slot_pos *ix;
	struct pair_pos *pp;
	size_t np = 0;

	(void)ft;
	*out = NULL;
	if (r->n == 0)
		return 0;
	ix = xcalloc(r->n, sizeof(*ix));
	for (uint32_t i = 0; i < r->n; i++) {
		slot_read(r, ring_ix(r, i), &ix[i].v);
		ix[i].pos = i;
	}
	qsort(ix, r->n, sizeof(*ix), cmp_by_key);
	pp = xcalloc(r->n, sizeof(*pp));
	for (uint32_t i = 0; i < r->n;) {
		const struct fkey *k = &ix[i].v.key;
		double t = ix[i].v.time, c = 0;
		uint32_t last = ix[i].pos, j = i;

		for (; j < r->n && key_cmp(&ix[j].v.key, k) == 0; j++) {
			c += ix[j].v.count;
			if (ix[j].v.time >= t) {
				t = ix[j].v.time;
				last = ix[j].pos;
			}
		}
		if (t > after) {
			pp[np].p.key = *k;
			pp[np].p.time = t;
			pp[np].p.count = c;
			pp[np].last = last;
			np++;
		}
		i = j;
	}
	free(ix);
	if (np == 0) {
		free(pp);
		return 0;
	}
	qsort(pp, np, sizeof(*pp), cmp_by_time);
	*out = xcalloc(np, sizeof(**out));
	for (size_t i = 0; i < np; i++)
		(*out)[i] = pp[i].p;
	free(pp);
	return np;
}

size_t
failtab_entry_links(const struct failtab_entry *e)
{
	return e->ring.n;
}

size_t
failtab_link_count(const struct failtab *ft)
{
	return ft->nlinks;
}

size_t
failtab_link_slots(const struct failtab *ft)
{
	return ft->lslots;
}

size_t
failtab_link_bytes(const struct failtab *ft)
{
	return ft->lbytes;
}

uint64_t
failtab_link_evictions(const struct failtab *ft)
{
	return ft->link_evictions;
}

void
failtab_set_max_entry_links(struct failtab *ft, size_t n)
{
	uint32_t p = 1;

	if (n == 0)
		n = FAILTAB_DEFAULT_ENTRY_LINKS;
	while (p * 2 <= n && p < (1u << 29)) /* nstr has 30 bits */
		p *= 2;
	ft->ring_max = p;
}

/* Cleanup of e's ring: slots at or before cut go from the oldest on,
 * and a ring that holds a quarter of its slots or less, or more than
 * the per-entry cap, is made smaller. */
static void
ring_trim(struct failtab *ft, struct failtab_entry *e, double cut)
{
	struct failtab_ring *r = &e->ring;
	uint32_t cap;

	while (r->n > 0 && slot_time(r, r->head) <= cut)
		ring_pop(ft, r);
	while (r->n > ft->ring_max)
		ring_pop(ft, r);
	if (r->n == 0) {
		links_drop(ft, e);
		return;
	}
	cap = r->cap;
	while (cap > ring_min(ft) && (r->n <= cap / 4 || cap > ft->ring_max))
		cap /= 2;
	if (cap != r->cap)
		ring_recode(ft, r, cap, r->w);
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
	free(ft->memo);
	free(ft);
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

/* ---- memo ---- */

/* The first n (< 8) bytes of p as a little-endian word. */
static inline uint64_t
load_short(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		return (uint64_t)le32toh(a) |
		    (uint64_t)le32toh(b) << (8 * (n - 4));
	}
	if (n >= 2) {
		uint16_t a, b;

		memcpy(&a, p, 2);
		memcpy(&b, p + n - 2, 2);
		return (uint64_t)le16toh(a) |
		    (uint64_t)le16toh(b) << (8 * (n - 2));
	}
	if (n == 1)
		v = p[0];
	return v;
}

/* Where a RAW/USER key goes in the memo: its slot, picked by a mix of
 * its length and first and last 8 bytes, and its tag (the key itself
 * packed in a word when it has at most 7 bytes, else 0). */
struct memo_ref {
	uint32_t i;
	uint64_t tag;
};

static inline struct memo_ref
memo_ref(const struct failtab *ft, const struct fkey *k)
{
	const unsigned char *p = (const unsigned char *)k->s;
	struct memo_ref r;
	uint64_t a, b = 0;

	if (k->len >= 8) {
		memcpy(&a, p, 8);
		memcpy(&b, p + k->len - 8, 8);
		r.tag = 0;
	} else {
		a = load_short(p, k->len);
		/* bit 63, the kind and the length over the bytes */
		r.tag =
		    a | (uint64_t)(0x80 | (k->kind & 0xF) << 3 | k->len) << 56;
	}
	a = (a ^ ft->memo_seed) * 0x9E3779B97F4A7C15ull;
	a ^= (b + k->len + (uint64_t)k->kind) * 0xC2B2AE3D27D4EB4Full;
	r.i = (uint32_t)(a >> 40) & ft->memo_mask;
	return r;
}

/* n bytes at a and b are equal (short keys without a call). */
static inline bool
bytes_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y, u, v;

	if (n >= 8 && n <= 16) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&u, a + n - 8, 8);
		memcpy(&v, b + n - 8, 8);
		return ((x ^ y) | (u ^ v)) == 0;
	}
	if (n < 8)
		return load_short((const unsigned char *)a, n) ==
		    load_short((const unsigned char *)b, n);
	return memcmp(a, b, n) == 0;
}

/* The entry of key (at r) in the memo, or NULL. */
static inline __attribute__((always_inline)) struct failtab_entry *
memo_get(const struct failtab *ft, struct memo_ref r, const struct fkey *key)
{
	const struct memo *m = &ft->memo[r.i];
	struct failtab_entry *e = m->e;

	if (r.tag != 0) /* a short key: its tag is the key */
		return e != NULL && m->tag == r.tag ? e : NULL;
	if (e != NULL && e->key.kind == key->kind && e->key.len == key->len &&
	    bytes_eq(e->key.s, key->s, key->len))
		return e;
	return NULL;
}

/* e (of the key at r) takes its memo slot. */
static inline void
memo_set(struct failtab *ft, struct memo_ref r, struct failtab_entry *e)
{
	struct memo *m = &ft->memo[r.i];

	if (m->e != NULL && m->e != e)
		m->e->memo_ix = 0;
	m->e = e;
	m->tag = r.tag;
	e->memo_ix = r.i + 1;
}

/* Unlinks e from its hash chain and the list, and frees it. */
static void
remove_entry(struct failtab *ft, struct failtab_entry *e, bool free_it)
{
	struct failtab_entry **pp = &ft->buckets[e->hash & (ft->nbuckets - 1)];

	if (e->memo_ix != 0) {
		ft->memo[e->memo_ix - 1].e = NULL;
		e->memo_ix = 0;
	}
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
	struct failtab_entry *e;
	struct memo_ref r;

	if (ft->memo == NULL || key->kind == FKEY_ADDR)
		return lookup(ft, key, fkey_hash(key, &ft->hk));
	r = memo_ref(ft, key);
	e = memo_get(ft, r, key);
	if (e == NULL) {
		e = lookup(ft, key, fkey_hash(key, &ft->hk));
		if (e != NULL)
			memo_set(ft, r, e);
	}
	return e;
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

static __attribute__((noinline)) void
rescale(struct failtab_entry *e, double t, double findtime)
{
	/* Python: int(round(retry / float(t - first) * maxTime)), round
	 * half to even */
	e->retry = nearbyint(e->retry / (t - e->first) * findtime);
	e->first = t - findtime;
}

/* FailTicket.adjustTime: rescale retry when the window has slid. */
static inline void
adjust_time(struct failtab_entry *e, double t, double findtime)
{
	if (t > e->time) {
		if (e->first < t - findtime)
			rescale(e, t, findtime);
		e->time = t;
	}
}

/* The rest of addFailure for an existing entry e (its lines added):
 * window, counters, lines kept, update order. */
static inline void
entry_update(struct failtab *ft, struct failtab_entry *e, double t,
    double count, long attempt)
{
	adjust_time(e, t, ft->o.findtime);
	e->retry += count;
	e->failures += attempt;
	if (e->data.nmatches > 0)
		matches_keep_last(&e->data,
		    ft->o.maxmatches > 0 ? (size_t)ft->o.maxmatches : 0);
	if (e != ft->tail) {
		list_unlink(ft, e);
		list_append(ft, e);
	}
	ft->total++;
}

struct failtab_entry *
failtab_add(struct failtab *ft, const struct failtab_failure *f, bool *created)
{
	struct failtab_entry *e = NULL;
	bool memo = ft->memo != NULL && f->key.kind != FKEY_ADDR;
	struct memo_ref mi = {0, 0};
	uint64_t h = 0;

	if (memo) {
		mi = memo_ref(ft, &f->key);
		e = memo_get(ft, mi, &f->key);
	}
	if (e == NULL) {
		h = f->hashed ? f->hash : fkey_hash(&f->key, &ft->hk);
		e = lookup(ft, &f->key, h);
		if (e != NULL && memo)
			memo_set(ft, mi, e);
	}
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
		if (lines && f->nmatches > 0)
			matches_append(&e->data, f->matches, f->nmatches,
			    ft->o.match_max_len, ft->o.entry_match_bytes);
		entry_update(ft, e, f->time, f->count, attempt);
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
	if (memo)
		memo_set(ft, mi, e);
	list_append(ft, e);
	ft->n++;
	ft->total++;
	if (created)
		*created = true;
	return e;
}

/* failtab_add_link() in full: any key, any state. */
static __attribute__((noinline)) struct failtab_entry *
add_link_slow(struct failtab *ft, const struct fkey *key, double time,
    double count, const struct fkey *link)
{
	struct failtab_entry *e = NULL;

	if (ft->memo != NULL && key->kind != FKEY_ADDR)
		e = memo_get(ft, memo_ref(ft, key), key);
	if (e == NULL) {
		struct failtab_failure f;

		memset(&f, 0, sizeof(f));
		f.key = *key;
		f.time = time;
		f.count = count;
		e = failtab_add(ft, &f, NULL);
	} else {
		entry_update(ft, e, time, count, 1);
	}
	link_push(ft, e, link, time, count);
	return e;
}

/*
 * The common case, with no call (so no registers to save): a short key
 * the memo knows, without lines, inside its window, failing from an
 * address, its ring with room or full at its cap (addresses only). The
 * checks come first; anything else is add_link_slow()'s.
 */
struct failtab_entry *
failtab_add_link(struct failtab *ft, const struct fkey *key, double time,
    double count, const struct fkey *link)
{
	struct failtab_entry *e;
	struct failtab_ring *r;
	struct memo_ref m;
	bool full;

	if (ft->memo == NULL || key->kind == FKEY_ADDR || key->len >= 8 ||
	    link->kind != FKEY_ADDR || ft->o.max_links == 0)
		return add_link_slow(ft, key, time, count, link);
	m = memo_ref(ft, key);
	e = ft->memo[m.i].e;
	if (e == NULL || ft->memo[m.i].tag != m.tag || e->data.nmatches > 0 ||
	    (time > e->time && e->first < time - ft->o.findtime))
		return add_link_slow(ft, key, time, count, link);
	r = &e->ring;
	full = r->n == r->cap;
	if ((full && (r->cap == 0 || r->nstr > 0 || ring_can_grow(ft, r))) ||
	    slot_need(link, time, count) > r->w)
		return add_link_slow(ft, key, time, count, link);
	/* entry_update() without rescale or lines */
	if (time > e->time)
		e->time = time;
	e->retry += count;
	e->failures++;
	if (e != ft->tail) {
		list_unlink(ft, e);
		list_append(ft, e);
	}
	ft->total++;
	/* link_push(): the newest in the next slot, or in the oldest's */
	if (full) {
		slot_write(r, r->head, link, time, count);
		r->head = (r->head + 1) & (r->cap - 1);
		ft->link_evictions++;
	} else {
		slot_write(r, ring_ix(r, r->n), link, time, count);
		r->n++;
		ft->nlinks++;
	}
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
		} else if (e->ring.s != NULL) {
			ring_trim(ft, e, cut);
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
