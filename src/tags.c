/*
 * tags: fail2ban's run-time tag substitution (see tags.h). The static pass
 * resolves every property once per family and caches the result (as
 * fail2ban's substitution cache does); the dynamic pass is a single scan
 * of the command that never re-reads what it inserted, so ticket values
 * cannot smuggle tags or shell syntax into the script.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "beautify.h"
#include "filter.h"
#include "tags.h"
#include "xmalloc.h"

/* ---------------------------------------------------------------------
 * Small helpers.
 */

/*
 * fail2ban's TAG_CRE, <([^ <>]+)>: finds the next tag in s[from..n).
 * Returns 1 with the tag's bounds ([*ts, *te) the whole "<...>"), else 0.
 */
static int
next_tag(const char *s, size_t n, size_t from, size_t *ts, size_t *te)
{
	size_t i = from;

	while (i < n) {
		const char *lt = memchr(s + i, '<', n - i);
		size_t j;

		if (lt == NULL)
			return 0;
		i = (size_t)(lt - s);
		j = i + 1;
		while (j < n && s[j] != ' ' && s[j] != '<' && s[j] != '>')
			j++;
		if (j < n && s[j] == '>' && j > i + 1) {
			*ts = i;
			*te = j + 1;
			return 1;
		}
		/* No tag starts here; a '<' at j may start one. */
		i = (j < n && s[j] == '<') ? j : i + 1;
	}
	return 0;
}

/* The characters fail2ban's ESCAPE_CRE looks for. */
static bool
is_shell_special(unsigned char c)
{
	return c != '\0' && strchr("\\#&;`|*?~<>^()[]{}$'\"\n\r", c) != NULL;
}

static bool
needs_escape(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_shell_special((unsigned char)s[i]))
			return true;
	return false;
}

void
tags_escape_tag(const char *s, size_t n, struct sbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_shell_special(c)) {
			sbuf_addch(out, (char)c);
			continue;
		}
		sbuf_addch(out, '\\');
		sbuf_addch(out, c == '\n' ? 'n' : c == '\r' ? 'r' : (char)c);
	}
}

void
tags_pyfloat(double v, struct sbuf *out)
{
	beautify_repr_float(out, v);
}

void
tags_pyrepr(const char *s, size_t n, struct sbuf *out)
{
	beautify_repr_str(out, s, n);
}

void
tags_fval_str(const struct fval *v, struct sbuf *out)
{
	char buf[ADDR_STRLEN];

	switch (v->type) {
	case FVAL_NONE:
		sbuf_addstr(out, "None");
		return;
	case FVAL_STR:
		sbuf_addstr(out, v->u.s != NULL ? v->u.s : "");
		return;
	case FVAL_INT:
		sbuf_printf(out, "%ld", v->u.i);
		return;
	case FVAL_IP:
		if (v->u.ip.is_addr)
			sbuf_addstr(out, addr_format(&v->u.ip.addr, buf));
		else
			sbuf_addstr(out, v->u.ip.text ? v->u.ip.text : "");
		return;
	default:
		fval_repr(v, out); /* str() of a container is its repr() */
		return;
	}
}

bool
tags_mentions(const char *cmd, const char *tag)
{
	return cmd != NULL && strstr(cmd, tag) != NULL;
}

/* The host tags fail2ban adds as a fallback (ADD_REPL_TAGS). */
static const char *
add_repl(const char *tag, size_t n, const struct tags_host *host)
{
	if (n == 2 && memcmp(tag, "br", 2) == 0)
		return "\n";
	if (n == 2 && memcmp(tag, "sp", 2) == 0)
		return " ";
	if (n == 11 && memcmp(tag, "fq-hostname", 11) == 0)
		return host != NULL && host->fqdn != NULL ? host->fqdn : "";
	if (n == 11 && memcmp(tag, "sh-hostname", 11) == 0)
		return host != NULL && host->hostname != NULL ? host->hostname
		                                              : "";
	return NULL;
}

/* fail2ban's CommandAction._escapedTags. */
static bool
is_escaped_tag(const char *tag, size_t n)
{
	return (n == 7 && memcmp(tag, "matches", 7) == 0) ||
	    (n == 9 && memcmp(tag, "ipmatches", 9) == 0) ||
	    (n == 13 && memcmp(tag, "ipjailmatches", 13) == 0);
}

/* ---------------------------------------------------------------------
 * Tickets.
 */

/*
 * One block per copy (a flood copies every ticket for its action job):
 * the groups array, the matches array, then every string and the key
 * bytes. The block is found again from the first of groups, matches and
 * key bytes that the ticket has.
 */
void
tags_ticket_dup(struct action_ticket *dst, const struct action_ticket *src)
{
	size_t bytes = 0, kl = 0;
	bool raw = src->key.kind != FKEY_ADDR;
	char *blk, *p;

	*dst = *src;
	dst->matches = NULL;
	dst->groups = NULL;
	if (raw)
		kl = src->key.s != NULL ? src->key.len : 0;
	bytes += src->ngroups * sizeof(*dst->groups);
	bytes += src->nmatches * sizeof(*dst->matches);
	for (size_t i = 0; i < src->nmatches; i++)
		bytes += (src->matches[i] ? strlen(src->matches[i]) : 0) + 1;
	for (size_t i = 0; i < src->ngroups; i++)
		bytes += strlen(src->groups[i].name) + 1 +
		    (src->groups[i].value ? strlen(src->groups[i].value) : 0) +
		    1;
	if (raw)
		bytes += kl + 1;
	if (bytes == 0)
		return;
	blk = xmalloc(bytes);
	p = blk + src->ngroups * sizeof(*dst->groups) +
	    src->nmatches * sizeof(*dst->matches);
	if (src->ngroups > 0) {
		struct action_group *g = (struct action_group *)(void *)blk;

		for (size_t i = 0; i < src->ngroups; i++) {
			const char *v = src->groups[i].value;
			size_t n = strlen(src->groups[i].name) + 1;

			g[i].name = memcpy(p, src->groups[i].name, n);
			p += n;
			n = (v ? strlen(v) : 0) + 1;
			g[i].value = memcpy(p, v ? v : "", n);
			p += n;
		}
		dst->groups = g;
	}
	if (src->nmatches > 0) {
		const char **m = (const char **)(void *)(blk +
		    src->ngroups * sizeof(*dst->groups));

		for (size_t i = 0; i < src->nmatches; i++) {
			const char *v = src->matches[i] ? src->matches[i] : "";
			size_t n = strlen(v) + 1;

			m[i] = memcpy(p, v, n);
			p += n;
		}
		dst->matches = (const char *const *)m;
	}
	if (raw) {
		if (kl > 0)
			memcpy(p, src->key.s, kl);
		p[kl] = '\0';
		dst->key.s = p;
		dst->key.len = kl;
	}
}

void
tags_ticket_free(struct action_ticket *t)
{
	void *blk = NULL;

	if (t == NULL)
		return;
	if (t->ngroups > 0)
		blk = (void *)t->groups;
	else if (t->nmatches > 0)
		blk = (void *)t->matches;
	else if (t->key.kind != FKEY_ADDR)
		blk = (void *)t->key.s;
	free(blk);
	memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------------
 * Static properties.
 */

enum { NCOND = 3 }; /* "", inet4, inet6 */

struct tags_props {
	char **keys;
	char **vals;
	size_t n, cap;
	/* Per conditional: every property resolved, or an error. */
	struct {
		bool valid;
		char **res;  /* n resolved values (NULL for ignored) */
		char *error; /* non-NULL: resolution failed */
	} cache[NCOND];
	int has_cond; /* -1 unknown */
};

static int
cond_index(const char *family)
{
	if (family == NULL || family[0] == '\0')
		return 0;
	if (strcmp(family, "inet4") == 0)
		return 1;
	if (strcmp(family, "inet6") == 0)
		return 2;
	return 0;
}

static const char *const cond_suffix[NCOND] = {
    "", "?family=inet4", "?family=inet6"};

static void
props_drop_cache(struct tags_props *p)
{
	for (int c = 0; c < NCOND; c++) {
		if (p->cache[c].res != NULL) {
			for (size_t i = 0; i < p->n; i++)
				free(p->cache[c].res[i]);
			free(p->cache[c].res);
		}
		free(p->cache[c].error);
		p->cache[c].res = NULL;
		p->cache[c].error = NULL;
		p->cache[c].valid = false;
	}
	p->has_cond = -1;
}

struct tags_props *
tags_props_new(void)
{
	struct tags_props *p = xcalloc(1, sizeof(*p));

	p->has_cond = -1;
	return p;
}

void
tags_props_free(struct tags_props *p)
{
	if (p == NULL)
		return;
	props_drop_cache(p);
	for (size_t i = 0; i < p->n; i++) {
		free(p->keys[i]);
		free(p->vals[i]);
	}
	free(p->keys);
	free(p->vals);
	free(p);
}

static long
props_find(const struct tags_props *p, const char *key, size_t klen)
{
	for (size_t i = 0; i < p->n; i++)
		if (strlen(p->keys[i]) == klen &&
		    memcmp(p->keys[i], key, klen) == 0)
			return (long)i;
	return -1;
}

void
tags_props_set(struct tags_props *p, const char *key, const char *value)
{
	long i = props_find(p, key, strlen(key));

	props_drop_cache(p);
	if (i >= 0) {
		free(p->vals[i]);
		p->vals[i] = xstrdup(value);
		return;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap;

		xgrow(&p->keys, &cap, p->n + 1, sizeof(*p->keys));
		xgrow(&p->vals, &p->cap, p->n + 1, sizeof(*p->vals));
	}
	p->keys[p->n] = xstrdup(key);
	p->vals[p->n] = xstrdup(value);
	p->n++;
}

int
tags_props_unset(struct tags_props *p, const char *key)
{
	long i = props_find(p, key, strlen(key));

	if (i < 0)
		return -1;
	props_drop_cache(p);
	free(p->keys[i]);
	free(p->vals[i]);
	memmove(&p->keys[i], &p->keys[i + 1],
	    (p->n - (size_t)i - 1) * sizeof(*p->keys));
	memmove(&p->vals[i], &p->vals[i + 1],
	    (p->n - (size_t)i - 1) * sizeof(*p->vals));
	p->n--;
	return 0;
}

const char *
tags_props_get(const struct tags_props *p, const char *key)
{
	long i = props_find(p, key, strlen(key));

	return i >= 0 ? p->vals[i] : NULL;
}

size_t
tags_props_count(const struct tags_props *p)
{
	return p->n;
}

void
tags_props_at(
    const struct tags_props *p, size_t i, const char **key, const char **value)
{
	*key = p->keys[i];
	*value = p->vals[i];
}

/* fail2ban's CONDITIONAL_FAM_RE: ^(\w+)\?(family)=(.*)$ */
static bool
is_cond_key(const char *k)
{
	const char *q = strchr(k, '?');

	if (q == NULL || q == k)
		return false;
	for (const char *s = k; s < q; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' ||
		        (unsigned char)*s >= 0x80))
			return false;
	return strncmp(q, "?family=", 8) == 0;
}

bool
tags_props_has_cond(const struct tags_props *p)
{
	struct tags_props *mp = (struct tags_props *)p;

	if (mp->has_cond < 0) {
		mp->has_cond = 0;
		for (size_t i = 0; i < p->n; i++)
			if (is_cond_key(p->keys[i]))
				mp->has_cond = 1;
	}
	return mp->has_cond == 1;
}

/* The property a tag refers to under conditional c, or -1. */
static long
props_lookup(const struct tags_props *p, int c, const char *tag, size_t n)
{
	if (c != 0) {
		size_t sl = strlen(cond_suffix[c]);
		char *k = xmalloc(n + sl + 1);
		long i;

		memcpy(k, tag, n);
		memcpy(k + n, cond_suffix[c], sl + 1);
		i = props_find(p, k, n + sl);
		free(k);
		if (i >= 0)
			return i;
	}
	return props_find(p, tag, n);
}

struct resolver {
	struct tags_props *p;
	int c;
	char *busy; /* per property: being resolved */
	char **res;
	struct sbuf *err;
};

/* Replaces every "<tag>" (the n bytes at tag, with brackets) in w. */
static void
replace_all(struct sbuf *w, const char *tag, size_t n, const char *repl)
{
	struct sbuf o = SBUF_INIT;
	size_t i = 0, rl = strlen(repl);

	sbuf_add(&o, "", 0);
	while (i < w->len) {
		const char *hit = NULL;

		if (w->len - i >= n)
			hit = memmem(w->s + i, w->len - i, tag, n);
		if (hit == NULL) {
			sbuf_add(&o, w->s + i, w->len - i);
			break;
		}
		sbuf_add(&o, w->s + i, (size_t)(hit - (w->s + i)));
		sbuf_add(&o, repl, rl);
		i = (size_t)(hit - w->s) + n;
	}
	sbuf_cleanup(w);
	*w = o;
}

static int resolve_one(struct resolver *r, size_t i);

/*
 * fail2ban's substituteRecursiveTags for one property: every known tag in
 * its value replaced by that property's resolved value, re-scanning from
 * the replacement (so pieces may combine into a new tag, as in fail2ban).
 */
static int
resolve_one(struct resolver *r, size_t i)
{
	struct tags_props *p = r->p;
	struct sbuf w = SBUF_INIT;
	size_t pos = 0, ts, te;
	const char *key = p->keys[i];

	if (r->res[i] != NULL)
		return 0;
	r->busy[i] = 1;
	sbuf_addstr(&w, p->vals[i]);
	while (next_tag(w.s, w.len, pos, &ts, &te)) {
		const char *tag = w.s + ts + 1;
		size_t tn = te - ts - 2;
		long j;
		char *whole;

		if (is_escaped_tag(tag, tn)) {
			pos = te;
			continue;
		}
		if (strlen(key) == tn && memcmp(key, tag, tn) == 0)
			goto selfref;
		j = props_lookup(p, r->c, tag, tn);
		if (j < 0) {
			pos = te;
			continue;
		}
		if (r->busy[j])
			goto selfref;
		if (resolve_one(r, (size_t)j) < 0)
			goto fail;
		whole = xmemdup(w.s + ts, te - ts);
		replace_all(&w, whole, te - ts, r->res[j]);
		free(whole);
		if (w.len > TAGS_MAX_OUT) {
			sbuf_printf(r->err,
			    "property '%s' is longer than %d bytes once "
			    "resolved",
			    key, TAGS_MAX_OUT);
			goto fail;
		}
		pos = ts;
	}
	r->busy[i] = 0;
	r->res[i] = sbuf_detach(&w);
	if (r->res[i] == NULL)
		r->res[i] = xstrdup("");
	return 0;
selfref:
	sbuf_printf(r->err,
	    "properties contain self referencing definitions and cannot be "
	    "resolved, fail tag: %s, found: %.*s, value: %s",
	    key, (int)(te - ts - 2), w.s + ts + 1, sbuf_str(&w));
fail:
	r->busy[i] = 0;
	sbuf_cleanup(&w);
	return -1;
}

static int
props_resolve(struct tags_props *p, int c)
{
	struct resolver r;
	struct sbuf err = SBUF_INIT;
	int rc = 0;

	if (p->cache[c].valid)
		return p->cache[c].error != NULL ? -1 : 0;
	r.p = p;
	r.c = c;
	r.busy = xcalloc(p->n + 1, 1);
	r.res = xcalloc(p->n + 1, sizeof(*r.res));
	r.err = &err;
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		if (is_escaped_tag(p->keys[i], strlen(p->keys[i]))) {
			r.res[i] = xstrdup(p->vals[i]);
			continue;
		}
		rc = resolve_one(&r, i);
	}
	free(r.busy);
	p->cache[c].valid = true;
	p->cache[c].res = r.res;
	if (rc < 0)
		p->cache[c].error = sbuf_detach(&err);
	sbuf_cleanup(&err);
	return rc;
}

int
tags_replace_static(struct tags_props *p, const char *query, const char *family,
    const struct tags_host *host, struct sbuf *out, struct sbuf *err)
{
	int c = cond_index(family);
	struct sbuf cur = SBUF_INIT, next = SBUF_INIT;
	int rc = 0;

	if (strchr(query, '<') == NULL) {
		sbuf_addstr(out, query);
		return 0;
	}
	if (props_resolve(p, c) < 0) {
		sbuf_addstr(err, p->cache[c].error);
		return -1;
	}
	sbuf_addstr(&cur, query);
	for (int round = 0;; round++) {
		size_t pos = 0, ts, te;

		sbuf_reset(&next);
		sbuf_add(&next, "", 0);
		while (next_tag(cur.s, cur.len, pos, &ts, &te)) {
			const char *tag = cur.s + ts + 1;
			size_t tn = te - ts - 2;
			long j = props_lookup(p, c, tag, tn);
			const char *v;

			sbuf_add(&next, cur.s + pos, ts - pos);
			pos = te;
			if (j >= 0) {
				v = p->cache[c].res[j];
				if (is_escaped_tag(tag, tn))
					tags_escape_tag(v, strlen(v), &next);
				else
					sbuf_addstr(&next, v);
			} else if ((v = add_repl(tag, tn, host)) != NULL) {
				sbuf_addstr(&next, v);
			} else {
				sbuf_add(&next, cur.s + ts, te - ts);
			}
			if (next.len > TAGS_MAX_OUT)
				break;
		}
		if (next.len > TAGS_MAX_OUT) {
			sbuf_printf(
			    err, "command longer than %d bytes", TAGS_MAX_OUT);
			rc = -1;
			break;
		}
		sbuf_add(&next, cur.s + pos, cur.len - pos);
		if ((next.len == cur.len &&
		        memcmp(next.s, cur.s, cur.len) == 0) ||
		    memchr(next.s, '<', next.len) == NULL) {
			struct sbuf t = cur;

			cur = next;
			next = t;
			break;
		}
		{
			struct sbuf t = cur;

			cur = next;
			next = t;
		}
		if (round + 1 > TAGS_MAX_ROUNDS) {
			sbuf_printf(err,
			    "unexpected too long replacement interpolation, "
			    "possible self referencing definitions in query: "
			    "%s",
			    sbuf_str(&next));
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		sbuf_add(out, cur.s, cur.len);
	sbuf_cleanup(&cur);
	sbuf_cleanup(&next);
	return rc;
}

void
tags_replace_ip(const char *cmd, const char *ip, const struct tags_host *host,
    struct sbuf *out)
{
	struct tags_props *p = tags_props_new();
	struct sbuf err = SBUF_INIT;

	tags_props_set(p, "ip", ip);
	if (tags_replace_static(p, cmd, NULL, host, out, &err) < 0)
		sbuf_addstr(out, cmd);
	sbuf_cleanup(&err);
	tags_props_free(p);
}

/* ---------------------------------------------------------------------
 * Dynamic (ticket) tags.
 */

void
tags_cmd_init(struct tags_cmd *c)
{
	sbuf_init(&c->script);
	strv_init(&c->args);
}

void
tags_cmd_cleanup(struct tags_cmd *c)
{
	sbuf_cleanup(&c->script);
	strv_cleanup(&c->args);
}

static const char *const dyn_names[] = {
    "ip",
    "family",
    "ip-rev",
    "ip-host",
    "fid",
    "failures",
    "time",
    "bantime",
    "bancount",
    "matches",
    "restored",
    "F-*",
    "ipmatches",
    "ipjailmatches",
    "ipfailures",
    "ipjailfailures",
    "raw-ticket",
    "jail.banned",
    "jail.banned_total",
    "jail.found",
    "jail.found_total",
    "user",
};
enum { NDYN = sizeof(dyn_names) / sizeof(dyn_names[0]) };

static int
dyn_index(const char *tag, size_t n)
{
	for (int i = 0; i < NDYN; i++)
		if (strlen(dyn_names[i]) == n &&
		    memcmp(dyn_names[i], tag, n) == 0)
			return i;
	return -1;
}

static void
key_text(const struct action_ticket *t, struct sbuf *out)
{
	char buf[FKEY_STRLEN];

	if (t == NULL)
		return;
	if (t->key.kind == FKEY_ADDR && t->key.addr.family == 0)
		return;
	sbuf_addstr(out, fkey_format(&t->key, buf));
}

static void
ip_text(const struct action_ticket *t, struct sbuf *out)
{
	char buf[ADDR_STRLEN];

	if (t == NULL)
		return;
	if (t->has_addr)
		sbuf_addstr(out, addr_format(&t->addr, buf));
	else
		key_text(t, out);
}

static void
time_text(const struct tags_dyn *d, struct sbuf *out)
{
	const struct action_ticket *t = d->t;

	if (t == NULL) {
		tags_pyfloat(d->now, out);
		return;
	}
	/* A restored ticket's time comes from fail2ban's INTEGER column. */
	if (t->restored && t->time == floor(t->time) && fabs(t->time) < 1e15)
		sbuf_printf(out, "%.0f", t->time);
	else
		tags_pyfloat(t->time, out);
}

static void
matches_text(const struct action_ticket *t, struct sbuf *out)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nmatches; i++) {
		if (i > 0)
			sbuf_addch(out, '\n');
		sbuf_addstr(out, t->matches[i]);
	}
}

static void
matches_repr(const struct action_ticket *t, struct sbuf *out)
{
	sbuf_addch(out, '[');
	for (size_t i = 0; t != NULL && i < t->nmatches; i++) {
		if (i > 0)
			sbuf_addstr(out, ", ");
		beautify_repr_str(out, t->matches[i], strlen(t->matches[i]));
	}
	sbuf_addch(out, ']');
}

void
tags_ticket_repr(
    const struct action_ticket *t, const char *cls, struct sbuf *out)
{
	sbuf_printf(out, "%s: ip=", cls != NULL ? cls : "BanTicket");
	key_text(t, out);
	sbuf_addstr(out, " time=");
	if (t->restored && t->time == floor(t->time) && fabs(t->time) < 1e15)
		sbuf_printf(out, "%.0f", t->time);
	else
		tags_pyfloat(t->time, out);
	if (t->own_bantime)
		sbuf_printf(out, " bantime=%ld", t->bantime);
	else
		sbuf_addstr(out, " bantime=None");
	sbuf_printf(out, " bancount=%ld #attempts=%ld matches=", t->bancount,
	    t->failures);
	matches_repr(t, out);
}

/* fail2ban's ticket data dict: matches, failures, then the groups. */
static void
fdata_repr(const struct action_ticket *t, struct sbuf *out)
{
	sbuf_addstr(out, "{'matches': ");
	matches_repr(t, out);
	sbuf_printf(out, ", 'failures': %ld", t != NULL ? t->failures : 0L);
	for (size_t i = 0; t != NULL && i < t->ngroups; i++) {
		sbuf_addstr(out, ", ");
		beautify_repr_str(
		    out, t->groups[i].name, strlen(t->groups[i].name));
		sbuf_addstr(out, ": ");
		beautify_repr_str(
		    out, t->groups[i].value, strlen(t->groups[i].value));
	}
	sbuf_addch(out, '}');
}

static int fdata_value(
    const struct action_ticket *t, const char *key, struct sbuf *out);

/*
 * The value of dynamic tag k (dyn_names index) appended to out. Returns 0,
 * or -1 when the tag has no value here (it then stays as written).
 */
static int
dyn_value(struct tags_dyn *d, int k, struct sbuf *out)
{
	const struct action_ticket *t = d->t;
	char buf[128];
	int rc = 0;

	switch (k) {
	case 0: /* ip */
		ip_text(t, out);
		break;
	case 1: /* family */
		if (d->family != NULL) {
			sbuf_addstr(out, d->family);
			break;
		}
		if (t != NULL && t->has_addr)
			sbuf_addstr(out,
			    t->addr.family == AF_INET6 ? "inet6" : "inet4");
		else
			sbuf_addstr(out, "None");
		d->used |= TAGS_IP;
		break;
	case 2: /* ip-rev */
		if (t != NULL && t->has_addr)
			sbuf_addstr(out, addr_reverse(&t->addr, buf));
		d->used |= TAGS_IP;
		break;
	case 3: /* ip-host */
		sbuf_addstr(out, d->ip_host != NULL ? d->ip_host : "None");
		d->used |= TAGS_IP;
		break;
	case 4: /* fid */
		key_text(t, out);
		break;
	case 5: /* failures */
		sbuf_printf(out, "%ld", t != NULL ? t->failures : 0L);
		break;
	case 6: /* time */
		time_text(d, out);
		break;
	case 7: /* bantime */
		sbuf_printf(
		    out, "%ld", t != NULL ? t->bantime : d->jail_bantime);
		break;
	case 8: /* bancount */
		sbuf_printf(out, "%ld", t != NULL ? t->bancount : 0L);
		break;
	case 9: /* matches */
		matches_text(t, out);
		break;
	case 10: /* restored */
		sbuf_addstr(out, t != NULL && t->restored ? "1" : "0");
		break;
	case 11: /* F-* */
		fdata_repr(t, out);
		break;
	case 12: /* ipmatches */
	case 13: /* ipjailmatches */
	case 14: /* ipfailures */
	case 15: /* ipjailfailures */
		/* Without the jail's database fail2ban falls back to the
		 * ticket itself. */
		if (d->info == NULL || t == NULL ||
		    d->info(d->info_ctx, t, dyn_names[k], out) < 0) {
			if (k <= 13)
				matches_text(t, out);
			else
				sbuf_printf(
				    out, "%ld", t != NULL ? t->failures : 0L);
		}
		d->used |= TAGS_IP;
		break;
	case 16: /* raw-ticket */
		if (t != NULL) {
			tags_ticket_repr(t, d->ticket_class, out);
		} else {
			struct action_ticket empty;

			memset(&empty, 0, sizeof(empty));
			empty.time = d->now;
			tags_ticket_repr(&empty, d->ticket_class, out);
		}
		break;
	case 21: /* user (actionuserlock/unlock) */
		if (fdata_value(t, "user", out) < 0)
			rc = -1;
		break;
	default: /* jail.* */
		if (d->info == NULL ||
		    d->info(d->info_ctx, t, dyn_names[k], out) < 0)
			rc = -1;
		break;
	}
	if (rc == 0)
		d->used |= 1u << k;
	return rc;
}

/* fail2ban's mapTag2Opt: lower case; "id" -> "fid", "port" -> "fport". */
static void
map_tag(const char *tag, size_t n, struct sbuf *out)
{
	size_t start = out->len;

	for (size_t i = 0; i < n; i++)
		sbuf_addch(out, (char)tolower((unsigned char)tag[i]));
	if (out->len - start == 2 && memcmp(out->s + start, "id", 2) == 0) {
		sbuf_truncate(out, start);
		sbuf_addstr(out, "fid");
	} else if (out->len - start == 4 &&
	    memcmp(out->s + start, "port", 4) == 0) {
		sbuf_truncate(out, start);
		sbuf_addstr(out, "fport");
	}
}

/* The ticket data value of key (F-* lookup); -1 when absent. */
static int
fdata_value(const struct action_ticket *t, const char *key, struct sbuf *out)
{
	if (strcmp(key, "matches") == 0) {
		matches_repr(t, out);
		return 0;
	}
	if (strcmp(key, "failures") == 0) {
		sbuf_printf(out, "%ld", t != NULL ? t->failures : 0L);
		return 0;
	}
	for (size_t i = 0; t != NULL && i < t->ngroups; i++)
		if (strcmp(t->groups[i].name, key) == 0) {
			sbuf_addstr(out, t->groups[i].value);
			return 0;
		}
	return -1;
}

struct dynvars {
	struct strv names; /* "f2bV_x", in first-use order */
	struct strv vals;
};

/* fail2ban's escapeVal: the value itself, or $f2bV_<tag> and a variable. */
static void
emit_value(struct dynvars *dv, const char *tag, size_t tn, const char *v,
    size_t vn, struct sbuf *out)
{
	struct sbuf name = SBUF_INIT;
	long idx;

	if (!needs_escape(v, vn)) {
		sbuf_add(out, v, vn);
		return;
	}
	sbuf_addstr(&name, "f2bV_");
	for (size_t i = 0; i < tn; i++) {
		unsigned char c = (unsigned char)tag[i];

		sbuf_addch(&name,
		    (isalnum(c) || c == '_' || c >= 0x80) ? (char)c : '_');
	}
	idx = strv_find(&dv->names, sbuf_str(&name));
	if (idx >= 0) {
		/* The same variable again: the last value wins, the
		 * position stays (a Python dict). */
		free(dv->vals.v[idx]);
		dv->vals.v[idx] = xmemdup(v, vn);
	} else {
		strv_add(&dv->names, sbuf_str(&name));
		strv_take(&dv->vals, xmemdup(v, vn));
	}
	sbuf_addch(out, '$');
	sbuf_add(out, name.s, name.len);
	sbuf_cleanup(&name);
}

/* <F-([A-Z0-9_\-]+)> at s[i..n): returns the end of the tag, or 0. */
static size_t
fcustag_at(const char *s, size_t n, size_t i)
{
	size_t j;

	if (n - i < 5 || memcmp(s + i, "<F-", 3) != 0)
		return 0;
	j = i + 3;
	while (j < n &&
	    (isupper((unsigned char)s[j]) || isdigit((unsigned char)s[j]) ||
	        s[j] == '_' || s[j] == '-'))
		j++;
	if (j == i + 3 || j >= n || s[j] != '>')
		return 0;
	return j + 1;
}

int
tags_replace_dynamic(const char *cmd, struct tags_dyn *d, struct tags_cmd *out)
{
	struct sbuf p1 = SBUF_INIT, val = SBUF_INIT, key = SBUF_INIT;
	struct dynvars dv = {STRV_INIT, STRV_INIT};
	size_t n = strlen(cmd), pos = 0, ts, te;
	int rc = 0;

	sbuf_reset(&out->script);
	strv_cleanup(&out->args);
	strv_init(&out->args);

	/* Pass 1: the ActionInfo keys, then fail2ban's fallback tags. */
	sbuf_add(&p1, "", 0);
	while (next_tag(cmd, n, pos, &ts, &te)) {
		const char *tag = cmd + ts + 1;
		size_t tn = te - ts - 2;
		int k = dyn_index(tag, tn);
		const char *v;

		if (d->family_only && k != 1)
			k = -1;
		if (k == 21 && !d->user_tag)
			k = -1;

		sbuf_add(&p1, cmd + pos, ts - pos);
		pos = te;
		sbuf_reset(&val);
		if (k >= 0 && dyn_value(d, k, &val) == 0) {
			emit_value(&dv, tag, tn, sbuf_str(&val), val.len, &p1);
		} else if ((v = add_repl(tag, tn, d->host)) != NULL) {
			sbuf_addstr(&p1, v);
		} else {
			sbuf_add(&p1, cmd + ts, te - ts);
		}
		if (p1.len > TAGS_MAX_OUT) {
			rc = -1;
			goto out;
		}
	}
	sbuf_add(&p1, cmd + pos, n - pos);

	/* Pass 2: <F-NAME> capture groups, over pass 1's result. */
	if (memchr(p1.s, '<', p1.len) != NULL) {
		struct sbuf p2 = SBUF_INIT;
		size_t i = 0, last = 0;

		sbuf_add(&p2, "", 0);
		d->used |= TAGS_FDATA;
		while (i < p1.len) {
			const char *lt = memchr(p1.s + i, '<', p1.len - i);
			size_t e;

			if (lt == NULL)
				break;
			i = (size_t)(lt - p1.s);
			e = fcustag_at(p1.s, p1.len, i);
			if (e == 0) {
				i++;
				continue;
			}
			sbuf_add(&p2, p1.s + last, i - last);
			sbuf_reset(&key);
			map_tag(p1.s + i + 3, e - i - 4, &key);
			sbuf_reset(&val);
			if (!d->family_only &&
			    fdata_value(d->t, sbuf_str(&key), &val) == 0) {
				struct sbuf vn = SBUF_INIT;

				sbuf_addstr(&vn, "F_");
				sbuf_add(&vn, key.s, key.len);
				emit_value(&dv, vn.s, vn.len, sbuf_str(&val),
				    val.len, &p2);
				sbuf_cleanup(&vn);
			}
			i = last = e;
			if (p2.len > TAGS_MAX_OUT) {
				sbuf_cleanup(&p2);
				rc = -1;
				goto out;
			}
		}
		sbuf_add(&p2, p1.s + last, p1.len - last);
		sbuf_cleanup(&p1);
		p1 = p2;
	}

	/* fail2ban's buildShellCmd: "a=$0 b=$1 \n" + the script. */
	if (dv.names.n > 0) {
		for (size_t i = 0; i < dv.names.n; i++)
			sbuf_printf(&out->script, "%s=$%zu ", dv.names.v[i], i);
		sbuf_addch(&out->script, '\n');
		for (size_t i = 0; i < dv.vals.n; i++)
			strv_add(&out->args, dv.vals.v[i]);
	}
	sbuf_add(&out->script, p1.s, p1.len);
	if (out->script.len > TAGS_MAX_OUT)
		rc = -1;
out:
	if (rc < 0) {
		sbuf_reset(&out->script);
		strv_cleanup(&out->args);
		strv_init(&out->args);
	}
	sbuf_add(&out->script, "", 0);
	sbuf_cleanup(&p1);
	sbuf_cleanup(&val);
	sbuf_cleanup(&key);
	strv_cleanup(&dv.names);
	strv_cleanup(&dv.vals);
	return rc;
}

/* ---------------------------------------------------------------------
 * ActionInfo repr for error messages.
 */

void
tags_ainfo_repr(const struct tags_dyn *d, struct sbuf *out)
{
	static const char fn[] =
	    "<function Actions.ActionInfo.<lambda> at 0x7f3a5c2d1e40>";
	const struct action_ticket *t = d->t;
	struct tags_dyn dd = *d;
	struct sbuf v = SBUF_INIT;
	bool first = true;

	dd.info = NULL; /* never re-query the jail for a log message */
	sbuf_addstr(out, "ActionInfo({");
	for (int k = 0; k < NDYN; k++) {
		bool used = (d->used & (1u << k)) != 0;
		bool always = k == 4 || k == 16; /* fid, raw-ticket */

		if (!used && !always)
			continue;
		if (!first)
			sbuf_addstr(out, ", ");
		first = false;
		sbuf_printf(out, "'%s': ", dyn_names[k]);
		if (!used) {
			sbuf_addstr(out, fn);
			continue;
		}
		sbuf_reset(&v);
		switch (k) {
		case 3: /* ip-host */
			if (d->ip_host == NULL) {
				sbuf_addstr(out, "None");
				continue;
			}
			sbuf_addstr(&v, d->ip_host);
			break;
		case 5:
		case 7:
		case 8:
		case 10:
		case 11:
		case 14:
		case 15:
		case 17:
		case 18:
		case 19:
		case 20:
			/* numbers and the data dict print as they are (the
			 * jail's counters are not asked again: None) */
			if (dyn_value(&dd, k, out) < 0)
				sbuf_addstr(out, "None");
			continue;
		case 6:
			if (t == NULL)
				tags_pyfloat(d->now, out);
			else
				time_text(d, out);
			continue;
		default:
			if (k == 12 || k == 13)
				matches_text(t, &v);
			else
				dyn_value(&dd, k, &v);
			break;
		}
		beautify_repr_str(out, v.s != NULL ? v.s : "", v.len);
	}
	sbuf_addstr(out, "})");
	sbuf_cleanup(&v);
}
