/*
 * Building blocks of the conf module: annotated strings, ordered maps
 * with a hash index, and the load context (file:line origins, caches,
 * error reporting). See conf_int.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "ini.h"
#include "sbuf.h"
#include "xmalloc.h"

/* ---- astr ---- */

void
astr_cleanup(struct astr *a)
{
	free(a->s);
	free(a->o);
	memset(a, 0, sizeof(*a));
}

void
astr_reset(struct astr *a)
{
	a->len = 0;
	if (a->s)
		a->s[0] = '\0';
}

static void
astr_reserve(struct astr *a, size_t extra)
{
	size_t need = a->len + extra + 1;

	if (need <= a->cap)
		return;
	{
		size_t cap = a->cap;

		xgrow(&a->s, &cap, need, 1);
		a->o = xreallocarray(a->o, cap, sizeof(*a->o));
		a->cap = cap;
	}
}

void
astr_add(
    struct astr *a, const char *s, const uint32_t *o, size_t n, uint32_t org)
{
	astr_reserve(a, n);
	memcpy(a->s + a->len, s, n);
	if (o != NULL) {
		memcpy(a->o + a->len, o, n * sizeof(*o));
	} else {
		for (size_t i = 0; i < n; i++)
			a->o[a->len + i] = org;
	}
	a->len += n;
	a->s[a->len] = '\0';
}

void
astr_addstr(struct astr *a, const char *s, uint32_t org)
{
	astr_add(a, s, NULL, strlen(s), org);
}

void
astr_addastr(struct astr *a, const struct astr *src)
{
	astr_reserve(a, src->len);
	if (src->len)
		astr_add(a, src->s, src->o, src->len, 0);
	a->s[a->len] = '\0';
}

const char *
astr_str(const struct astr *a)
{
	return a->s ? a->s : "";
}

struct astr *
astr_dup(const struct astr *src)
{
	struct astr *a = xcalloc(1, sizeof(*a));

	astr_reserve(a, src->len);
	if (src->len)
		astr_add(a, src->s, src->o, src->len, 0);
	a->s[a->len] = '\0';
	a->korg = src->korg;
	return a;
}

struct astr *
astr_new(const char *s, uint32_t org)
{
	struct astr *a = xcalloc(1, sizeof(*a));

	astr_reserve(a, strlen(s));
	astr_addstr(a, s, org);
	return a;
}

void
astr_free(struct astr *a)
{
	if (a == NULL)
		return;
	astr_cleanup(a);
	free(a);
}

uint32_t
astr_org_at(const struct astr *a, size_t i)
{
	size_t j = i;

	if (a->len == 0)
		return 0;
	while (j < a->len &&
	    (a->s[j] == ' ' || a->s[j] == '\t' || a->s[j] == '\n'))
		j++;
	if (j >= a->len)
		j = i < a->len ? i : a->len - 1;
	return a->o[j];
}

/* ---- omap ---- */

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
omap_rehash(struct omap *m, size_t tabcap)
{
	free(m->tab);
	m->tab = xcalloc(tabcap, sizeof(*m->tab));
	m->tabcap = tabcap;
	for (size_t i = 0; i < m->n; i++) {
		size_t j = hash_str(m->v[i].key) & (tabcap - 1);

		while (m->tab[j] != 0)
			j = (j + 1) & (tabcap - 1);
		m->tab[j] = (uint32_t)(i + 1);
	}
}

long
omap_find(const struct omap *m, const char *key)
{
	size_t j;

	if (m->n == 0)
		return -1;
	if (m->tabcap == 0) {
		for (size_t i = 0; i < m->n; i++)
			if (strcmp(m->v[i].key, key) == 0)
				return (long)i;
		return -1;
	}
	j = hash_str(key) & (m->tabcap - 1);
	while (m->tab[j] != 0) {
		size_t i = m->tab[j] - 1;

		if (strcmp(m->v[i].key, key) == 0)
			return (long)i;
		j = (j + 1) & (m->tabcap - 1);
	}
	return -1;
}

void *
omap_get(const struct omap *m, const char *key)
{
	long i = omap_find(m, key);

	return i < 0 ? NULL : m->v[i].val;
}

bool
omap_has(const struct omap *m, const char *key)
{
	return omap_find(m, key) >= 0;
}

void
omap_set(struct omap *m, const char *key, void *val, omap_free_fn fn)
{
	long i = omap_find(m, key);

	if (i >= 0) {
		if (fn && m->v[i].val != val)
			fn(m->v[i].val);
		m->v[i].val = val;
		return;
	}
	xgrow(&m->v, &m->cap, m->n + 1, sizeof(*m->v));
	m->v[m->n].key = xstrdup(key);
	m->v[m->n].val = val;
	m->n++;
	/* Small maps search linearly; larger ones get a table kept at
	 * most half full. */
	if (m->n > 8 && m->n * 2 > m->tabcap) {
		omap_rehash(m, m->tabcap ? m->tabcap * 2 : 32);
	} else if (m->tabcap) {
		size_t j = hash_str(key) & (m->tabcap - 1);

		while (m->tab[j] != 0)
			j = (j + 1) & (m->tabcap - 1);
		m->tab[j] = (uint32_t)m->n;
	}
}

void
omap_cleanup(struct omap *m, omap_free_fn fn)
{
	for (size_t i = 0; i < m->n; i++) {
		if (fn)
			fn(m->v[i].val);
		free(m->v[i].key);
	}
	free(m->v);
	free(m->tab);
	memset(m, 0, sizeof(*m));
}

void
omap_astr_free(void *p)
{
	astr_free(p);
}

void
omap_copy_astr(struct omap *dst, const struct omap *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct astr *v = src->v[i].val;

		omap_set(
		    dst, src->v[i].key, v ? astr_dup(v) : NULL, omap_astr_free);
	}
}

/* ---- context ---- */

void
cctx_init(struct cctx *c, const char *basedir, struct diags *d)
{
	size_t n = strlen(basedir);

	memset(c, 0, sizeof(*c));
	c->d = d;
	while (n > 0 && basedir[n - 1] == '/')
		n--;
	c->basedir = xmemdup(basedir, n);
	strv_init(&c->files);
	xgrow(&c->orgs, &c->orgcap, 1, sizeof(*c->orgs));
	c->orgs[0].file = 0;
	c->orgs[0].line = 0;
	c->norgs = 1;
}

static void
parsed_free(void *p)
{
	struct parsed *x = p;

	if (x) {
		cp_free(x->cp);
		strv_cleanup(&x->bad);
		free(x);
	}
}

static void
named_free(void *p)
{
	struct named *x = p;

	if (x) {
		cp_free(x->cp);
		free(x->err);
		free(x);
	}
}

static void
strv_free_p(void *p)
{
	if (p) {
		strv_cleanup(p);
		free(p);
	}
}

void
cctx_cleanup(struct cctx *c)
{
	omap_cleanup(&c->parsed, parsed_free);
	omap_cleanup(&c->incpath, strv_free_p);
	omap_cleanup(&c->named, named_free);
	omap_cleanup(&c->seen, NULL);
	strv_cleanup(&c->files);
	free(c->orgs);
	free(c->basedir);
	free(c->fatal);
	free(c->pyfatal);
	free(c->jail_err);
	free(c->last_err);
	memset(c, 0, sizeof(*c));
}

uint32_t
cctx_origin(struct cctx *c, const char *file, int line)
{
	long fi = strv_find(&c->files, file);

	if (fi < 0) {
		strv_add(&c->files, file);
		fi = (long)c->files.n - 1;
	}
	/* Consecutive lines of one file are requested in order: reuse the
	 * last entry when it matches. */
	if (c->norgs > 1 && c->orgs[c->norgs - 1].file == (uint32_t)fi &&
	    c->orgs[c->norgs - 1].line == line)
		return (uint32_t)(c->norgs - 1);
	xgrow(&c->orgs, &c->orgcap, c->norgs + 1, sizeof(*c->orgs));
	c->orgs[c->norgs].file = (uint32_t)fi;
	c->orgs[c->norgs].line = line;
	return (uint32_t)c->norgs++;
}

const char *
cctx_org_file(const struct cctx *c, uint32_t org)
{
	if (org == 0 || org >= c->norgs)
		return NULL;
	return c->files.v[c->orgs[org].file];
}

int
cctx_org_line(const struct cctx *c, uint32_t org)
{
	if (org == 0 || org >= c->norgs)
		return 0;
	return c->orgs[org].line;
}

static void
note_error(struct cctx *c, bool fatal, const char *msg)
{
	c->nerr++;
	free(c->last_err);
	c->last_err = xstrdup(msg);
	if (fatal && c->fatal == NULL) {
		c->fatal = xstrdup(msg);
		c->fatal_seq = c->nerr;
	}
	if (c->cur_jail != NULL && c->jail_err == NULL)
		c->jail_err = xstrdup(msg);
}

static void vreport(struct cctx *c, enum diag_level lvl, const char *file,
    int line, bool fatal, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

static void
vreport(struct cctx *c, enum diag_level lvl, const char *file, int line,
    bool fatal, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);

	if (lvl == DIAG_ERROR)
		note_error(c, fatal, msg);
	/* A value inherited by many jails is reported once. */
	{
		char *key =
		    xasprintf("%d:%s:%d:%s", lvl, file ? file : "", line, msg);
		bool dup = omap_has(&c->seen, key);

		if (!dup)
			omap_set(&c->seen, key, NULL, NULL);
		free(key);
		if (dup) {
			free(msg);
			return;
		}
	}
	if (!c->quiet) {
		if (c->cur_jail && lvl == DIAG_ERROR)
			diag_add(
			    c->d, lvl, file, line, "[%s] %s", c->cur_jail, msg);
		else
			diag_add(c->d, lvl, file, line, "%s", msg);
	}
	free(msg);
}

void
cctx_error(struct cctx *c, uint32_t org, bool fatal, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, DIAG_ERROR, cctx_org_file(c, org), cctx_org_line(c, org),
	    fatal, fmt, ap);
	va_end(ap);
}

void
cctx_set_py(struct cctx *c, const char *msg)
{
	if (c->fatal != NULL && c->pyfatal == NULL && c->fatal_seq == c->nerr)
		c->pyfatal = xstrdup(msg);
}

void
cctx_warn(struct cctx *c, uint32_t org, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, DIAG_WARNING, cctx_org_file(c, org), cctx_org_line(c, org),
	    false, fmt, ap);
	va_end(ap);
}

void
cctx_error_file(
    struct cctx *c, const char *file, bool fatal, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, DIAG_ERROR, file, 0, fatal, fmt, ap);
	va_end(ap);
}
