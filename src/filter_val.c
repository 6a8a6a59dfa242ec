/*
 * The filter engine's value store: a bump arena for everything one line
 * produces (reset before the next line, so a steady stream of lines does
 * not allocate), and the ordered dict that models fail2ban's failure dict
 * (insertion order, Python truthiness). Dicts that outlive a line (the
 * mlfid cache) are packed into one heap block each.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "filter_int.h"
#include "xmalloc.h"

#define CHUNK_SIZE (64 * 1024)

void
arena_init(struct arena *a)
{
	arena_init_chunk(a, CHUNK_SIZE);
}

void
arena_init_chunk(struct arena *a, size_t chunk)
{
	memset(a, 0, sizeof(*a));
	a->chunk = chunk;
}

void
arena_cleanup(struct arena *a)
{
	struct arena_chunk *c = a->head, *next;
	size_t chunk = a->chunk;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	arena_init_chunk(a, chunk);
}

bool
arena_owns(const struct arena *a, const void *p)
{
	const unsigned char *u = p;

	for (const struct arena_chunk *c = a->head; c; c = c->next)
		if (u >= c->data && u < c->data + c->used)
			return true;
	return false;
}

void
arena_release(struct arena *a, void (*give)(void *ctx, void *chunk), void *ctx)
{
	struct arena_chunk *c = a->head, *next;
	size_t chunk = a->chunk;

	for (; c; c = next) {
		next = c->next;
		give(ctx, c);
	}
	arena_init_chunk(a, chunk);
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk **pc = &a->head;

	/* oversized chunks go back to the system so one huge line does not
	 * pin its memory for the filter's lifetime */
	while (*pc) {
		struct arena_chunk *c = *pc;

		if (c->size > a->chunk) {
			*pc = c->next;
			free(c);
			continue;
		}
		c->used = 0;
		pc = &c->next;
	}
	a->cur = a->head;
	a->used = 0;
}

void *
arena_alloc_slow(struct arena *a, size_t n)
{
	struct arena_chunk *c;
	size_t need =
	    (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);

	if (need == 0)
		need = alignof(max_align_t);
	for (c = a->cur; c; c = c->next) {
		if (c->size - c->used >= need)
			break;
	}
	if (c == NULL) {
		size_t size = need > a->chunk ? need : a->chunk;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = NULL;
		/* append at the end so reset reuses chunks in order */
		if (a->head == NULL) {
			a->head = c;
		} else {
			struct arena_chunk *t = a->cur ? a->cur : a->head;

			while (t->next)
				t = t->next;
			t->next = c;
		}
	}
	a->cur = c;
	c->used += need;
	a->used += need;
	return c->data + c->used - need;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *r = arena_alloc(a, n + 1);

	if (n)
		memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

struct fval *
fdict_get(const struct fdict *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].key == key)
			return &d->v[i].val;
	return NULL;
}

void
fdict_set(
    struct arena *a, struct fdict *d, const char *key, const struct fval *val)
{
	struct fval *cur = fdict_get(d, key);

	if (cur) {
		*cur = *val;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct fentry *v = arena_alloc(a, cap * sizeof(*v));

		if (d->n)
			memcpy(v, d->v, d->n * sizeof(*v));
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n].key = key;
	d->v[d->n].val = *val;
	d->n++;
}

bool
fdict_pop(struct fdict *d, const char *key, struct fval *out)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].key != key)
			continue;
		if (out)
			*out = d->v[i].val;
		memmove(
		    &d->v[i], &d->v[i + 1], (d->n - i - 1) * sizeof(d->v[0]));
		d->n--;
		return true;
	}
	return false;
}

void
fdict_copy(struct arena *a, struct fdict *dst, const struct fdict *src)
{
	dst->cap = src->n > 8 ? src->n * 2 : 16;
	dst->v = arena_alloc(a, dst->cap * sizeof(*dst->v));
	if (src->n)
		memcpy(dst->v, src->v, src->n * sizeof(*src->v));
	dst->n = src->n;
}

bool
fval_truthy(const struct fval *v)
{
	switch (v->type) {
	case FVAL_NONE:
		return false;
	case FVAL_STR:
		return v->u.s[0] != '\0';
	case FVAL_INT:
		return v->u.i != 0;
	case FVAL_IP:
		return true;
	case FVAL_SET:
	case FVAL_TUPLE:
	case FVAL_LIST:
		return v->u.v.n > 0;
	}
	return false;
}

void
fval_persist(struct arena *a, struct fval *v)
{
	switch (v->type) {
	case FVAL_STR:
		if (!arena_owns(a, v->u.s))
			v->u.s = arena_strndup(a, v->u.s, strlen(v->u.s));
		return;
	case FVAL_IP:
		if (v->u.ip.text && !arena_owns(a, v->u.ip.text))
			v->u.ip.text = arena_strndup(
			    a, v->u.ip.text, strlen(v->u.ip.text));
		return;
	case FVAL_SET:
	case FVAL_TUPLE:
	case FVAL_LIST: {
		struct fval *items;

		if (v->u.v.n == 0 || arena_owns(a, v->u.v.items))
			return; /* made here: its items are too */
		items = arena_alloc(a, v->u.v.n * sizeof(*items));
		memcpy(items, v->u.v.items, v->u.v.n * sizeof(*items));
		for (size_t i = 0; i < v->u.v.n; i++)
			fval_persist(a, &items[i]);
		v->u.v.items = items;
		return;
	}
	default:
		return;
	}
}

/* ---- packing: deep copies through a size pass and a copy pass ---- */

struct packer {
	unsigned char *base; /* NULL during the size pass */
	size_t off;
};

static void *
pk_alloc(struct packer *p, size_t n, size_t align)
{
	void *r;

	p->off = (p->off + align - 1) & ~(align - 1);
	r = p->base ? p->base + p->off : NULL;
	p->off += n;
	return r;
}

static const char *
pk_str(struct packer *p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *r = pk_alloc(p, n, 1);

	if (r)
		memcpy(r, s, n);
	return r;
}

static void
copy_val(struct packer *p, struct fval *dst, const struct fval *src)
{
	if (dst)
		*dst = *src;
	switch (src->type) {
	case FVAL_STR: {
		const char *s = pk_str(p, src->u.s);

		if (dst)
			dst->u.s = s;
		break;
	}
	case FVAL_IP: {
		const char *s =
		    src->u.ip.text ? pk_str(p, src->u.ip.text) : NULL;

		if (dst)
			dst->u.ip.text = s;
		break;
	}
	case FVAL_SET:
	case FVAL_TUPLE:
	case FVAL_LIST: {
		size_t n = src->u.v.n;
		struct fval *items =
		    pk_alloc(p, n * sizeof(*items), alignof(max_align_t));

		for (size_t i = 0; i < n; i++)
			copy_val(
			    p, items ? &items[i] : NULL, &src->u.v.items[i]);
		if (dst)
			dst->u.v.items = items;
		break;
	}
	default:
		break;
	}
}

static void
copy_entries(
    struct packer *p, struct fentry *dst, const struct fentry *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (dst)
			dst[i].key = src[i].key; /* interned */
		copy_val(p, dst ? &dst[i].val : NULL, &src[i].val);
	}
}

void *
fdict_pack(const struct fdict *d, const struct fentry **out, size_t *n)
{
	struct packer p = {NULL, 0};
	struct fentry *v;

	/* a size pass without memory, then the copy */
	v = pk_alloc(&p, d->n * sizeof(*v), alignof(max_align_t));
	copy_entries(&p, NULL, d->v, d->n);
	p.base = xmalloc(p.off ? p.off : 1);
	p.off = 0;
	v = pk_alloc(&p, d->n * sizeof(*v), alignof(max_align_t));
	copy_entries(&p, v, d->v, d->n);
	*out = v;
	*n = d->n;
	return p.base;
}

void
fdict_unpack(
    struct arena *a, struct fdict *dst, const struct fentry *v, size_t n)
{
	dst->cap = n > 8 ? n * 2 : 16;
	dst->v = arena_alloc(a, dst->cap * sizeof(*dst->v));
	if (n)
		memcpy(dst->v, v, n * sizeof(*v));
	dst->n = n;
}

const struct fval *
failure_get(const struct failure *fl, const char *key)
{
	for (size_t i = 0; i < fl->ngroups; i++)
		if (strcmp(fl->groups[i].key, key) == 0)
			return &fl->groups[i].val;
	return NULL;
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, or
 * 0 when it is not valid UTF-8. */
static size_t
utf8_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len;
	unsigned long c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static void
repr_str(const char *s, struct sbuf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	char q = '\'';

	if (memchr(s, '\'', n) && !memchr(s, '"', n))
		q = '"';
	sbuf_addch(out, q);
	for (size_t i = 0; i < n;) {
		unsigned long cp;
		size_t l = utf8_decode(p + i, n - i, &cp);

		if (l == 0) {
			/* Python would have decoded this with a replacement;
			 * show the byte */
			sbuf_printf(out, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if (cp == '\\' || cp == (unsigned char)q)
			sbuf_printf(out, "\\%c", (char)cp);
		else if (cp == '\n')
			sbuf_addstr(out, "\\n");
		else if (cp == '\r')
			sbuf_addstr(out, "\\r");
		else if (cp == '\t')
			sbuf_addstr(out, "\\t");
		else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa1) || cp == 0xad)
			sbuf_printf(out, "\\x%02lx", cp);
		else
			sbuf_add(out, p + i, l);
		i += l;
	}
	sbuf_addch(out, q);
}

void
fval_repr(const struct fval *v, struct sbuf *out)
{
	switch (v->type) {
	case FVAL_NONE:
		sbuf_addstr(out, "None");
		return;
	case FVAL_STR:
		repr_str(v->u.s, out);
		return;
	case FVAL_INT:
		sbuf_printf(out, "%ld", v->u.i);
		return;
	case FVAL_IP:
		repr_str(v->u.ip.text ? v->u.ip.text : "", out);
		return;
	case FVAL_SET:
		if (v->u.v.n == 0) {
			sbuf_addstr(out, "set()");
			return;
		}
		sbuf_addch(out, '{');
		break;
	case FVAL_TUPLE:
		sbuf_addch(out, '(');
		break;
	case FVAL_LIST:
		sbuf_addch(out, '[');
		break;
	}
	for (size_t i = 0; i < v->u.v.n; i++) {
		if (i)
			sbuf_addstr(out, ", ");
		fval_repr(&v->u.v.items[i], out);
	}
	if (v->type == FVAL_TUPLE && v->u.v.n == 1)
		sbuf_addch(out, ',');
	sbuf_addch(out,
	    v->type == FVAL_SET         ? '}'
	        : v->type == FVAL_TUPLE ? ')'
	                                : ']');
}
