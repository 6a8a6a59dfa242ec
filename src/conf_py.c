/*
 * Python values for the command stream and their repr(), so `warden dump`
 * prints byte for byte what fail2ban-client -d prints (str quoting and
 * escapes, True/False/None, nested lists), plus json.dumps for the
 * parameters of .py actions.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "sbuf.h"
#include "xmalloc.h"

static struct pyval *
py_new(enum py_type t)
{
	struct pyval *v = xcalloc(1, sizeof(*v));

	v->t = t;
	return v;
}

struct pyval *
py_none(void)
{
	return py_new(PY_NONE);
}

struct pyval *
py_bool(bool b)
{
	struct pyval *v = py_new(PY_BOOL);

	v->b = b;
	return v;
}

struct pyval *
py_int(long long i)
{
	struct pyval *v = py_new(PY_INT);

	v->i = i;
	return v;
}

struct pyval *
py_str(const char *s, uint32_t org)
{
	struct pyval *v = py_new(PY_STR);

	v->s = xstrdup(s);
	v->org = org;
	return v;
}

struct pyval *
py_astr(const struct astr *a)
{
	struct pyval *v = py_str(astr_str(a), astr_org_at(a, 0));

	v->a = astr_dup(a);
	return v;
}

struct pyval *
py_list(void)
{
	return py_new(PY_LIST);
}

struct pyval *
py_dict(void)
{
	return py_new(PY_DICT);
}

void
py_append(struct pyval *list, struct pyval *v)
{
	xgrow(&list->items, &list->cap, list->n + 1, sizeof(*list->items));
	list->items[list->n++] = v;
}

void
py_insert(struct pyval *list, size_t at, struct pyval *v)
{
	if (at > list->n)
		at = list->n;
	xgrow(&list->items, &list->cap, list->n + 1, sizeof(*list->items));
	memmove(list->items + at + 1, list->items + at,
	    (list->n - at) * sizeof(*list->items));
	list->items[at] = v;
	list->n++;
}

struct pyval *
py_cmd(const char *first, ...)
{
	struct pyval *l = py_list();
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		py_append(l, py_str(s, 0));
	va_end(ap);
	return l;
}

void
py_free(struct pyval *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++)
		py_free(v->items[i]);
	free(v->items);
	free(v->s);
	astr_free(v->a);
	free(v);
}

struct pyval *
py_dup(const struct pyval *v)
{
	struct pyval *c = py_new(v->t);

	c->b = v->b;
	c->i = v->i;
	c->s = v->s ? xstrdup(v->s) : NULL;
	c->org = v->org;
	c->a = v->a ? astr_dup(v->a) : NULL;
	for (size_t i = 0; i < v->n; i++)
		py_append(c, py_dup(v->items[i]));
	return c;
}

/* Decodes one UTF-8 character; a truncated or invalid sequence decodes
 * as its first byte alone (never reads past the terminating NUL). */
static uint32_t
decode(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint32_t c = p[0];
	size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80) {
			*pp += 1;
			return c;
		}
	if (n == 2)
		c = ((c & 0x1fu) << 6) | (p[1] & 0x3fu);
	else if (n == 3)
		c = ((c & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) |
		    (p[2] & 0x3fu);
	else if (n == 4)
		c = ((c & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) |
		    ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
	*pp += n;
	return c;
}

/*
 * Characters str.isprintable() rejects (Cc, Cf, Zs but space, Zl, Zp,
 * Co, Cs): the common ones. Unassigned code points (Cn) are not listed.
 */
static bool
printable(uint32_t c)
{
	static const uint32_t no[][2] = {
	    {0x80, 0xa0},
	    {0xad, 0xad},
	    {0x600, 0x605},
	    {0x61c, 0x61c},
	    {0x6dd, 0x6dd},
	    {0x70f, 0x70f},
	    {0x890, 0x891},
	    {0x8e2, 0x8e2},
	    {0x1680, 0x1680},
	    {0x180e, 0x180e},
	    {0x2000, 0x200f},
	    {0x2028, 0x202f},
	    {0x205f, 0x2064},
	    {0x2066, 0x206f},
	    {0x3000, 0x3000},
	    {0xd800, 0xf8ff},
	    {0xfeff, 0xfeff},
	    {0xfff9, 0xfffb},
	    {0xfffe, 0xffff},
	    {0x110bd, 0x110bd},
	    {0x110cd, 0x110cd},
	    {0x13430, 0x1343f},
	    {0x1bca0, 0x1bca3},
	    {0x1d173, 0x1d17a},
	    {0xe0001, 0xe0001},
	    {0xe0020, 0xe007f},
	    {0xf0000, 0x10ffff},
	};

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (c >= no[i][0] && c <= no[i][1])
			return false;
	return true;
}

void
py_repr_str(const char *s, struct sbuf *b)
{
	const unsigned char *p = (const unsigned char *)s;
	char q = '\'';

	if (strchr(s, '\'') && !strchr(s, '"'))
		q = '"';
	sbuf_addch(b, q);
	while (*p) {
		const unsigned char *start = p;
		uint32_t c = decode(&p);

		if (c == (uint32_t)q || c == '\\') {
			sbuf_addch(b, '\\');
			sbuf_addch(b, (char)c);
		} else if (c == '\t') {
			sbuf_addstr(b, "\\t");
		} else if (c == '\n') {
			sbuf_addstr(b, "\\n");
		} else if (c == '\r') {
			sbuf_addstr(b, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			sbuf_printf(b, "\\x%02x", c);
		} else if (c < 0x7f) {
			sbuf_addch(b, (char)c);
		} else if (!printable(c)) {
			if (c < 0x100)
				sbuf_printf(b, "\\x%02x", c);
			else if (c < 0x10000)
				sbuf_printf(b, "\\u%04x", c);
			else
				sbuf_printf(b, "\\U%08x", c);
		} else {
			sbuf_add(b, start, (size_t)(p - start));
		}
	}
	sbuf_addch(b, q);
}

void
py_repr(const struct pyval *v, struct sbuf *b)
{
	switch (v->t) {
	case PY_NONE:
		sbuf_addstr(b, "None");
		break;
	case PY_BOOL:
		sbuf_addstr(b, v->b ? "True" : "False");
		break;
	case PY_INT:
		sbuf_printf(b, "%lld", v->i);
		break;
	case PY_STR:
		py_repr_str(v->s, b);
		break;
	case PY_LIST:
		sbuf_addch(b, '[');
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				sbuf_addstr(b, ", ");
			py_repr(v->items[i], b);
		}
		sbuf_addch(b, ']');
		break;
	case PY_DICT:
		sbuf_addch(b, '{');
		for (size_t i = 0; i + 1 < v->n; i += 2) {
			if (i)
				sbuf_addstr(b, ", ");
			py_repr(v->items[i], b);
			sbuf_addstr(b, ": ");
			py_repr(v->items[i + 1], b);
		}
		sbuf_addch(b, '}');
		break;
	}
}

/* json.dumps(str) with ensure_ascii. */
static void
json_str(const char *s, struct sbuf *b)
{
	const unsigned char *p = (const unsigned char *)s;

	sbuf_addch(b, '"');
	while (*p) {
		uint32_t c = decode(&p);

		switch (c) {
		case '"':
			sbuf_addstr(b, "\\\"");
			break;
		case '\\':
			sbuf_addstr(b, "\\\\");
			break;
		case '\n':
			sbuf_addstr(b, "\\n");
			break;
		case '\r':
			sbuf_addstr(b, "\\r");
			break;
		case '\t':
			sbuf_addstr(b, "\\t");
			break;
		case '\b':
			sbuf_addstr(b, "\\b");
			break;
		case '\f':
			sbuf_addstr(b, "\\f");
			break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				sbuf_addch(b, (char)c);
			} else if (c < 0x10000) {
				sbuf_printf(b, "\\u%04x", c);
			} else {
				uint32_t v = c - 0x10000;

				sbuf_printf(b, "\\u%04x\\u%04x",
				    0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
			}
		}
	}
	sbuf_addch(b, '"');
}

void
py_json_dumps(const struct omap *m, struct sbuf *b)
{
	sbuf_addch(b, '{');
	for (size_t i = 0; i < m->n; i++) {
		const struct astr *v = m->v[i].val;

		if (i)
			sbuf_addstr(b, ", ");
		json_str(m->v[i].key, b);
		sbuf_addstr(b, ": ");
		if (v == NULL)
			sbuf_addstr(b, "null");
		else
			json_str(astr_str(v), b);
	}
	sbuf_addch(b, '}');
}
