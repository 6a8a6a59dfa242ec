/*
 * The ban list (see banlist.h): a chained hash table on the key, a binary
 * min-heap on (end, insertion number), and a doubly linked list in
 * insertion order, all threaded through struct ban.
 */
#include "banlist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

struct banlist {
	size_t max;
	struct fkey_hashkey hk;
	struct ban **buckets;
	size_t nbuckets; /* power of two */
	size_t n;
	struct ban **heap; /* n entries */
	size_t heapcap;
	struct ban *head, *tail;
	uint64_t seq;
	uint64_t total;
	uint64_t refused;
};

/* ---- bans ---- */

struct ban *
ban_new(const struct fkey *key, double time, double bantime)
{
	struct ban *b = xcalloc(1, sizeof(*b));

	fkey_dup(&b->key, key);
	b->time = time;
	b->bantime = bantime;
	return b;
}

struct ban *
ban_from_ticket(struct fticket *t, double bantime)
{
	struct ban *b = xcalloc(1, sizeof(*b));

	b->key = t->key;
	b->time = t->time;
	b->bantime = bantime;
	b->failures = t->failures;
	b->data = t->data;
	memset(&t->key, 0, sizeof(t->key));
	memset(&t->data, 0, sizeof(t->data));
	return b;
}

void
ban_free(struct ban *b)
{
	if (!b)
		return;
	fkey_release(&b->key);
	fdata_cleanup(&b->data);
	free(b->mtext);
	free(b);
}

double
ban_end(const struct ban *b)
{
	if (b->bantime == -1)
		return BAN_MAX_TIME;
	return b->time + b->bantime;
}

int
ban_already_level(double new_time, double old_time)
{
	double d = new_time - old_time;

	if (d < 3)
		return WLOG_DEBUG;
	if (d < 60)
		return WLOG_NOTICE;
	return WLOG_WARNING;
}

/* ---- heap on (end, seq) ---- */

static bool
before(const struct ban *a, const struct ban *b)
{
	double ea = ban_end(a), eb = ban_end(b);

	if (ea != eb)
		return ea < eb;
	return a->seq < b->seq;
}

static void
heap_set(struct banlist *bl, size_t i, struct ban *b)
{
	bl->heap[i] = b;
	b->heap = i;
}

static void
sift_up(struct banlist *bl, size_t i)
{
	struct ban *b = bl->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(b, bl->heap[parent]))
			break;
		heap_set(bl, i, bl->heap[parent]);
		i = parent;
	}
	heap_set(bl, i, b);
}

static void
sift_down(struct banlist *bl, size_t i)
{
	struct ban *b = bl->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct ban *best = b;

		if (l < bl->n && before(bl->heap[l], best)) {
			m = l;
			best = bl->heap[l];
		}
		if (r < bl->n && before(bl->heap[r], best)) {
			m = r;
			best = bl->heap[r];
		}
		if (m == i)
			break;
		heap_set(bl, i, best);
		i = m;
	}
	heap_set(bl, i, b);
}

/* ---- list ---- */

struct banlist *
banlist_new(size_t max)
{
	struct banlist *bl = xcalloc(1, sizeof(*bl));

	bl->max = max ? max : BANLIST_DEFAULT_MAX;
	fkey_hashkey_random(&bl->hk);
	bl->nbuckets = 16;
	bl->buckets = xcalloc(bl->nbuckets, sizeof(*bl->buckets));
	return bl;
}

void
banlist_free(struct banlist *bl)
{
	struct ban *b, *nx;

	if (!bl)
		return;
	for (b = bl->head; b; b = nx) {
		nx = b->next;
		ban_free(b);
	}
	free(bl->buckets);
	free(bl->heap);
	free(bl);
}

void
banlist_set_max(struct banlist *bl, size_t max)
{
	bl->max = max ? max : BANLIST_DEFAULT_MAX;
}

static struct ban *
lookup(struct banlist *bl, const struct fkey *key, uint64_t h)
{
	struct ban *b = bl->buckets[h & (bl->nbuckets - 1)];

	for (; b; b = b->hnext)
		if (b->hash == h && fkey_equal(&b->key, key))
			return b;
	return NULL;
}

struct ban *
banlist_find(struct banlist *bl, const struct fkey *key)
{
	return lookup(bl, key, fkey_hash(key, &bl->hk));
}

static void
grow(struct banlist *bl)
{
	size_t nb = bl->nbuckets * 2;
	struct ban **nbk = xcalloc(nb, sizeof(*nbk));

	for (size_t i = 0; i < bl->nbuckets; i++) {
		struct ban *b = bl->buckets[i], *nx;

		for (; b; b = nx) {
			nx = b->hnext;
			b->hnext = nbk[b->hash & (nb - 1)];
			nbk[b->hash & (nb - 1)] = b;
		}
	}
	free(bl->buckets);
	bl->buckets = nbk;
	bl->nbuckets = nb;
}

/* Unlinks b from the hash chain, the order list and the heap. */
static void
unlink_ban(struct banlist *bl, struct ban *b)
{
	struct ban **pp = &bl->buckets[b->hash & (bl->nbuckets - 1)];
	size_t i = b->heap, last = bl->n - 1;

	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	b->hnext = NULL;
	if (b->prev)
		b->prev->next = b->next;
	else
		bl->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		bl->tail = b->prev;
	b->prev = b->next = NULL;

	bl->n--;
	if (i != last) {
		heap_set(bl, i, bl->heap[last]);
		sift_down(bl, i);
		sift_up(bl, i);
	}
}

enum banlist_result
banlist_add(
    struct banlist *bl, struct ban *b, double now, struct ban **existing)
{
	uint64_t h;
	struct ban *old;
	double end = ban_end(b);

	if (existing)
		*existing = NULL;
	/* bantime 0, below -1 or NaN, or an end already past */
	if (b->bantime != -1 && (!(b->bantime > 0) || end < now))
		return BANLIST_EXPIRED;
	h = fkey_hash(&b->key, &bl->hk);
	old = lookup(bl, &b->key, h);
	if (old) {
		if (existing)
			*existing = old;
		if (end > ban_end(old)) {
			double btm = b->bantime;

			if (btm != -1 && b->time - old->time > 0)
				btm += b->time - old->time;
			banlist_set_bantime(bl, old, btm);
			return BANLIST_PROLONGED;
		}
		return BANLIST_BANNED;
	}
	if (bl->n >= bl->max) {
		bl->refused++;
		return BANLIST_FULL;
	}
	if (bl->n + 1 > bl->nbuckets)
		grow(bl);
	b->hash = h;
	b->hnext = bl->buckets[h & (bl->nbuckets - 1)];
	bl->buckets[h & (bl->nbuckets - 1)] = b;
	b->prev = bl->tail;
	b->next = NULL;
	if (bl->tail)
		bl->tail->next = b;
	else
		bl->head = b;
	bl->tail = b;
	b->seq = bl->seq++;
	if (bl->n + 1 > bl->heapcap)
		xgrow(&bl->heap, &bl->heapcap, bl->n + 1, sizeof(*bl->heap));
	heap_set(bl, bl->n, b);
	bl->n++;
	sift_up(bl, bl->n - 1);
	bl->total++;
	b->bancount++;
	return BANLIST_ADDED;
}

struct ban *
banlist_del(struct banlist *bl, const struct fkey *key)
{
	struct ban *b = banlist_find(bl, key);

	if (b)
		unlink_ban(bl, b);
	return b;
}

void
banlist_set_bantime(struct banlist *bl, struct ban *b, double bantime)
{
	b->bantime = bantime;
	sift_down(bl, b->heap);
	sift_up(bl, b->heap);
}

struct ban *
banlist_pop_expired(struct banlist *bl, double now)
{
	struct ban *b;

	if (bl->n == 0)
		return NULL;
	b = bl->heap[0];
	if (!(now > ban_end(b)))
		return NULL;
	unlink_ban(bl, b);
	return b;
}

double
banlist_next_end(const struct banlist *bl)
{
	return bl->n ? ban_end(bl->heap[0]) : INFINITY;
}

struct ban *
banlist_pop_first(struct banlist *bl)
{
	struct ban *b = bl->head;

	if (b)
		unlink_ban(bl, b);
	return b;
}

struct ban *
banlist_first(struct banlist *bl)
{
	return bl->head;
}

struct ban *
banlist_next(struct ban *b)
{
	return b->next;
}

static int
cmp_end(const void *pa, const void *pb)
{
	const struct ban *a = *(struct ban *const *)pa;
	const struct ban *b = *(struct ban *const *)pb;

	return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

size_t
banlist_by_end(struct banlist *bl, struct ban ***out)
{
	struct ban **v = xreallocarray(NULL, bl->n ? bl->n : 1, sizeof(*v));
	size_t k = 0;

	for (struct ban *b = bl->head; b; b = b->next)
		v[k++] = b;
	qsort(v, k, sizeof(*v), cmp_end);
	*out = v;
	return k;
}

size_t
banlist_size(const struct banlist *bl)
{
	return bl->n;
}

uint64_t
banlist_total(const struct banlist *bl)
{
	return bl->total;
}

void
banlist_set_total(struct banlist *bl, uint64_t total)
{
	bl->total = total;
}

uint64_t
banlist_refused(const struct banlist *bl)
{
	return bl->refused;
}
