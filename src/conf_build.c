/*
 * From fail2ban's command stream to Warden's typed configuration: each
 * jail's commands are applied the way the server applies them (set
 * replaces, add appends) and every value is checked the way the server
 * would convert it (times, integers, addresses, usedns, backend), with the
 * error at the file:line the value came from. Also the checks only
 * `warden check` does: unknown options with did-you-mean hints.
 */
#include <iconv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "report.h"
#include "sbuf.h"
#include "timeval.h"
#include "xmalloc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const cmd_names[CONF_ACT_NCMDS] = {
    "actionstart",
    "actionstop",
    "actionflush",
    "actionreload",
    "actioncheck",
    "actionrepair",
    "actionban",
    "actionprolong",
    "actionreban",
    "actionunban",
};

const char *
conf_action_cmd_name(enum conf_action_cmd c)
{
	return (unsigned)c < CONF_ACT_NCMDS ? cmd_names[c] : NULL;
}

const char *
conf_kv_get(const struct conf_kvlist *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	return NULL;
}

static void
kv_set(struct conf_kvlist *l, const char *key, const char *value)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0) {
			free(l->v[i].value);
			l->v[i].value = xstrdup(value);
			return;
		}
	xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n].key = xstrdup(key);
	l->v[l->n].value = xstrdup(value);
	l->n++;
}

static void
kv_cleanup(struct conf_kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- did you mean ---- */

/* Optimal string alignment distance (Damerau-Levenshtein). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	size_t *d, r;

	if (n > 64 || m > 64)
		return 99;
	d = xcalloc((n + 1) * (m + 1), sizeof(*d));
#define D(i, j) d[(i) * (m + 1) + (j)]
	for (size_t i = 0; i <= n; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= m; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = D(i - 1, j) + 1;

			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	r = D(n, m);
#undef D
	free(d);
	return r;
}

const char *
conf_did_you_mean(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t bestd = 99, wl = strlen(word);

	for (size_t i = 0; candidates[i]; i++) {
		size_t cl = strlen(candidates[i]);
		size_t d = edit_distance(word, candidates[i]);
		size_t limit = wl < 4 ? 1 : 2;

		if (wl >= 8 && cl >= 8)
			limit = 3;
		if (d > 0 && d <= limit && d < bestd) {
			best = candidates[i];
			bestd = d;
		}
	}
	return best;
}

static const char *const jail_names[] = {"enabled", "backend", "maxretry",
    "maxmatches", "findtime", "bantime", "bantime.increment", "bantime.factor",
    "bantime.formula", "bantime.multipliers", "bantime.maxtime",
    "bantime.rndtime", "bantime.overalljails", "ignorecommand", "ignoreself",
    "ignoreip", "ignorecache", "filter", "logtimezone", "logencoding",
    "logpath", "action", "usedns", "prefregex", "ignoreregex", "failregex",
    "maxlines", "datepattern", "journalmatch", "service", "reportusers",
    "reportgroups", "maxfailures", "usermaxretry", "userfindtime",
    "userbantime", "jails", NULL};

static bool
in_list(const char *const *l, const char *s)
{
	for (size_t i = 0; l[i]; i++)
		if (strcmp(l[i], s) == 0)
			return true;
	return false;
}

static void
check_keys(struct cctx *c, const struct omap *opts, const struct omap *refs)
{
	for (size_t i = 0; i < opts->n; i++) {
		const char *k = opts->v[i].key;
		const struct astr *v = opts->v[i].val;
		const char *hint;

		if (strncmp(k, "known/", 6) == 0 || in_list(jail_names, k) ||
		    omap_has(refs, k))
			continue;
		hint = conf_did_you_mean(k, jail_names);
		if (hint != NULL)
			cctx_error(c, v ? v->korg : 0, false,
			    "unknown option '%s', did you mean '%s'?", k, hint);
	}
}

void
conf_check_unknown(struct cctx *c, const struct cp *jcp)
{
	struct omap refs = OMAP_INIT;
	const char *saved = c->cur_jail;

	cp_collect_refs(jcp, &refs);
	c->cur_jail = NULL;
	check_keys(c, &jcp->defaults, &refs);
	for (size_t i = 0; i < jcp->sections.n; i++) {
		const char *name = jcp->sections.v[i].key;
		const struct cpsec *s = jcp->sections.v[i].val;

		if (strncmp(name, "KNOWN/", 6) == 0 ||
		    strcmp(name, "INCLUDES") == 0)
			continue;
		check_keys(c, &s->opts, &refs);
	}
	c->cur_jail = saved;
	omap_cleanup(&refs, NULL);
}

void
conf_check_definition(struct cctx *c, const struct cp *cp, bool action)
{
	static const char *const filter_names[] = {"failregex", "ignoreregex",
	    "prefregex", "maxlines", "datepattern", "journalmatch", "usedns",
	    NULL};
	static const char *const action_names[] = {"actionstart",
	    "actionstart_on_demand", "actionstop", "actionflush",
	    "actionreload", "actioncheck", "actionrepair",
	    "actionrepair_on_unban", "actionban", "actionprolong",
	    "actionreban", "actionunban", "norestored", "actionuserlock",
	    "actionuserunlock", NULL};
	const char *const *names = action ? action_names : filter_names;
	const struct cpsec *s = cp_section(cp, "Definition");
	struct omap refs = OMAP_INIT;
	const char *saved = c->cur_jail;

	if (s == NULL)
		return;
	cp_collect_refs(cp, &refs);
	c->cur_jail = NULL;
	for (size_t i = 0; i < s->opts.n; i++) {
		const char *k = s->opts.v[i].key;
		const struct astr *v = s->opts.v[i].val;
		const char *hint;

		if (in_list(names, k) || omap_has(&refs, k))
			continue;
		hint = conf_did_you_mean(k, names);
		if (hint)
			cctx_error(c, v ? v->korg : 0, false,
			    "unknown option '%s' in [Definition], did you "
			    "mean '%s'?",
			    k, hint);
	}
	c->cur_jail = saved;
	omap_cleanup(&refs, NULL);
}

void
conf_check_server(struct cctx *c, const struct cp *fcp, bool warden)
{
	/* socketgroup (wardend's read-only group for the control socket)
	 * is Warden's and read from warden.* only: it is the last name, so
	 * that fail2ban.* files end the list before it */
	static const char *const def_names[] = {"loglevel", "logtarget",
	    "syslogsocket", "socket", "pidfile", "allowipv6", "dbfile",
	    "dbpurgeage", "dbmaxmatches", "reportsocket", "reportsocketgroup",
	    "reportusers", "reportgroups", "reportrate", "reporttotalrate",
	    "socketgroup", NULL};
	const char *f2b_names[NELEM(def_names) - 1];
	static const char *const thread_names[] = {"stacksize", NULL};
	const struct {
		const char *sec;
		const char *const *names;
	} secs[] = {{"Definition", warden ? def_names : f2b_names},
	    {"Thread", thread_names}};

	memcpy(f2b_names, def_names, sizeof(f2b_names));
	f2b_names[NELEM(f2b_names) - 1] = NULL;

	for (size_t k = 0; k < NELEM(secs); k++) {
		const struct cpsec *s = cp_section(fcp, secs[k].sec);

		if (s == NULL)
			continue;
		for (size_t i = 0; i < s->opts.n; i++) {
			const char *key = s->opts.v[i].key;
			const struct astr *v = s->opts.v[i].val;
			const char *hint;

			if (in_list(secs[k].names, key))
				continue;
			hint = conf_did_you_mean(key, secs[k].names);
			if (hint)
				cctx_error(c, v ? v->korg : 0, false,
				    "unknown option '%s' in [%s], did you "
				    "mean '%s'?",
				    key, secs[k].sec, hint);
			else
				cctx_error(c, v ? v->korg : 0, false,
				    "unknown option '%s' in [%s]", key,
				    secs[k].sec);
		}
	}
}

/* ---- applying a stream ---- */

static const char *
cmd_word(const struct pyval *cmd, size_t i)
{
	if (cmd->t != PY_LIST || i >= cmd->n || cmd->items[i]->t != PY_STR)
		return NULL;
	return cmd->items[i]->s;
}

static void
re_from(struct cctx *c, const struct pyval *v, const char **file, int *line)
{
	uint32_t org = v->a ? astr_org_at(v->a, 0) : v->org;

	*file = cctx_org_file(c, org);
	*line = cctx_org_line(c, org);
}

static void
add_re(struct cctx *c, struct filterdef_re_list *l, const struct pyval *v)
{
	const char *file;
	int line;

	if (v->t != PY_STR)
		return;
	re_from(c, v, &file, &line);
	filterdef_re_add(l, v->s, file, line);
}

static void
set_re(struct cctx *c, struct filterdef_re *r, const struct pyval *v)
{
	const char *file;
	int line;

	if (v->t != PY_STR)
		return;
	re_from(c, v, &file, &line);
	filterdef_re_set(r, v->s, file, line);
}

void
conf_apply_filter_cmds(struct cctx *c, const struct pyval *stream, size_t from,
    struct filterdef *fd)
{
	for (size_t i = from; i < stream->n; i++) {
		const struct pyval *cmd = stream->items[i];
		const char *verb = cmd_word(cmd, 0), *what = cmd_word(cmd, 2);
		const struct pyval *val;

		if (verb == NULL || what == NULL || cmd->n < 4)
			continue;
		val = cmd->items[3];
		if (strcmp(verb, "multi-set") == 0 && val->t == PY_LIST) {
			for (size_t k = 0; k < val->n; k++) {
				if (strcmp(what, "addfailregex") == 0)
					add_re(
					    c, &fd->failregex, val->items[k]);
				else if (strcmp(what, "addignoreregex") == 0)
					add_re(
					    c, &fd->ignoreregex, val->items[k]);
			}
			continue;
		}
		if (strcmp(verb, "set") != 0)
			continue;
		if (strcmp(what, "addfailregex") == 0) {
			add_re(c, &fd->failregex, val);
		} else if (strcmp(what, "addignoreregex") == 0) {
			add_re(c, &fd->ignoreregex, val);
		} else if (strcmp(what, "prefregex") == 0) {
			set_re(c, &fd->prefregex, val);
		} else if (strcmp(what, "datepattern") == 0) {
			set_re(c, &fd->datepattern, val);
		} else if (strcmp(what, "maxlines") == 0) {
			if (val->t == PY_INT && val->i > 0 && val->i < 100000) {
				fd->maxlines = (int)val->i;
				fd->maxlines_set = true;
			} else if (val->t == PY_INT) {
				cctx_error(c, 0, false,
				    "maxlines must be an integer greater than "
				    "zero (got %lld)",
				    val->i);
			}
		} else if (strcmp(what, "usedns") == 0 && val->t == PY_STR) {
			char *lo = conf_lower(val->s);

			if (strcmp(lo, "yes") && strcmp(lo, "warn") &&
			    strcmp(lo, "no") && strcmp(lo, "raw")) {
				cctx_error(c, val->org, false,
				    "usedns: '%s' is not one of yes, warn, no, "
				    "raw (fail2ban uses 'no')",
				    val->s);
				free(lo);
				lo = xstrdup("no");
			}
			free(fd->usedns);
			fd->usedns = lo;
		} else if (strcmp(what, "addjournalmatch") == 0 && cmd->s) {
			strv_add(&fd->journalmatch, cmd->s);
		} else if (strcmp(what, "addjournalmatch") == 0) {
			struct sbuf b = SBUF_INIT;

			for (size_t k = 3; k < cmd->n; k++) {
				if (k > 3)
					sbuf_addch(&b, ' ');
				if (cmd->items[k]->t == PY_STR)
					sbuf_addstr(&b, cmd->items[k]->s);
			}
			strv_take(&fd->journalmatch, sbuf_detach(&b));
		}
	}
}

/* ---- typed jails ---- */

static void
action_cleanup(struct conf_action *a)
{
	free(a->name);
	free(a->actname);
	free(a->file);
	free(a->jail_file);
	free(a->python_params);
	for (int i = 0; i < CONF_ACT_NCMDS; i++)
		free(a->cmd[i]);
	free(a->userlock);
	free(a->userunlock);
	kv_cleanup(&a->props);
}

void
conf_jail_cleanup(struct conf_jail *j)
{
	free(j->name);
	free(j->file);
	free(j->backend);
	free(j->backend_name);
	kv_cleanup(&j->backend_params);
	free(j->service);
	free(j->reportusers);
	free(j->reportgroups);
	strv_cleanup(&j->members);
	free(j->filter_spec);
	filterdef_cleanup(&j->filter);
	free(j->bantime_ext.factor_expr);
	free(j->bantime_ext.formula);
	free(j->bantime_ext.multipliers);
	for (size_t i = 0; i < j->nignoreip; i++)
		free(j->ignoreip[i].text);
	free(j->ignoreip);
	free(j->ignorecommand);
	free(j->ignorecache.key);
	free(j->logencoding);
	free(j->logtimezone);
	for (size_t i = 0; i < j->nlogpaths; i++) {
		free(j->logpaths[i].pattern);
		strv_cleanup(&j->logpaths[i].files);
	}
	free(j->logpaths);
	for (size_t i = 0; i < j->nactions; i++)
		action_cleanup(&j->actions[i]);
	free(j->actions);
	memset(j, 0, sizeof(*j));
}

void
conf_server_cleanup(struct conf_server *s)
{
	free(s->source);
	free(s->loglevel);
	free(s->logtarget);
	free(s->syslogsocket);
	free(s->socket);
	free(s->pidfile);
	free(s->allowipv6);
	free(s->dbfile);
	free(s->reportsocket);
	free(s->reportsocketgroup);
	free(s->reportusers);
	free(s->reportgroups);
	memset(s, 0, sizeof(*s));
}

static int
parse_time(struct cctx *c, const struct pyval *v, const char *what, double *out)
{
	char err[300];

	if (v->t != PY_STR)
		return 0;
	if (timeval_parse(v->s, out, NULL, err, sizeof(err)) != 0) {
		cctx_error(c, v->org, false, "%s: %s", what, err);
		return -1;
	}
	return 0;
}

static bool
hostname_like(const char *s)
{
	if (*s == '\0' || strlen(s) > 253)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		        *p == '_'))
			return false;
	/* All digits and dots, or with '/' or ':' would be a broken
	 * address, not a name. */
	return strspn(s, "0123456789.") != strlen(s);
}

static void
add_ignoreip(struct cctx *c, struct conf_jail *j, const struct pyval *v)
{
	struct conf_ignore e;
	char buf[ADDR_STRLEN];

	if (v->t != PY_STR || v->s[0] == '\0')
		return;
	memset(&e, 0, sizeof(e));
	if (addr_parse_net(v->s, strlen(v->s), &e.addr) == 0) {
		e.kind = CONF_IGNORE_ADDR;
		addr_format(&e.addr, buf);
		for (size_t i = 0; i < j->nignoreip; i++)
			if (j->ignoreip[i].kind == CONF_IGNORE_ADDR &&
			    addr_equal(&j->ignoreip[i].addr, &e.addr))
				return;
	} else if (strncmp(v->s, "file:", 5) == 0) {
		e.kind = CONF_IGNORE_FILE;
		cctx_warn(c, v->org,
		    "ignoreip: 'file:' lists need fail2ban 1.1; fail2ban "
		    "1.0.2 treats '%s' as a host name",
		    v->s);
	} else if (hostname_like(v->s)) {
		e.kind = CONF_IGNORE_DNS;
	} else {
		cctx_error(c, v->org, false,
		    "ignoreip: '%s' is not an address, network or host name",
		    v->s);
		return;
	}
	for (size_t i = 0; i < j->nignoreip; i++)
		if (j->ignoreip[i].kind == e.kind &&
		    strcmp(j->ignoreip[i].text, v->s) == 0)
			return;
	e.text = xstrdup(v->s);
	j->ignoreip =
	    xreallocarray(j->ignoreip, j->nignoreip + 1, sizeof(*j->ignoreip));
	j->ignoreip[j->nignoreip++] = e;
}

static bool
valid_encoding(const char *enc)
{
	iconv_t cd;
	char *lo = conf_lower(enc);
	bool ok;

	if (strcmp(lo, "auto") == 0 || strcmp(lo, "latin-1") == 0 ||
	    strcmp(lo, "utf8") == 0) {
		free(lo);
		return true;
	}
	free(lo);
	cd = iconv_open("UTF-8", enc);
	ok = cd != (iconv_t)-1;
	if (ok)
		iconv_close(cd);
	return ok;
}

static bool
valid_timezone(const char *tz)
{
	/* (TZA)?([+-][01]\d(:?\d{2})?)?$ with TZA = [A-Z]([A-Z]{2,4})? */
	const char *p = tz;
	size_t n = 0;

	while (p[n] >= 'A' && p[n] <= 'Z')
		n++;
	if (n != 0 && n != 1 && (n < 3 || n > 5))
		return false;
	p += n;
	if (*p == '\0')
		return true;
	if (*p != '+' && *p != '-')
		return false;
	p++;
	if (!(p[0] == '0' || p[0] == '1') || !(p[1] >= '0' && p[1] <= '9'))
		return false;
	p += 2;
	if (*p == '\0')
		return true;
	if (*p == ':')
		p++;
	return p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] == '\0';
}

static void
set_str(char **dst, const struct pyval *v)
{
	free(*dst);
	*dst = v->t == PY_STR ? xstrdup(v->s) : NULL;
}

static void
build_backend(struct cctx *c, struct conf_jail *j, const struct pyval *v)
{
	struct astr in = ASTR_INIT, name = ASTR_INIT;
	struct omap opts = OMAP_INIT;
	char *err = NULL;
	static const char *const known[] = {
	    "auto", "polling", "pyinotify", "gamin", "systemd", "report", NULL};

	free(j->backend);
	j->backend = xstrdup(v->s);
	if (v->a)
		astr_addastr(&in, v->a);
	else
		astr_addstr(&in, v->s, v->org);
	if (conf_extract_options(&in, &name, &opts, &err) != 0) {
		cctx_error(c, v->org, false, "backend '%s': %s", v->s, err);
		free(err);
		j->backend_name = xstrdup("auto");
	} else {
		j->backend_name = conf_lower(astr_str(&name));
		for (size_t i = 0; i < opts.n; i++)
			kv_set(&j->backend_params, opts.v[i].key,
			    opts.v[i].val ? astr_str(opts.v[i].val) : "");
		if (!in_list(known, j->backend_name))
			cctx_error(c, v->org, false,
			    "unknown backend '%s' (must be one of auto, "
			    "polling, pyinotify, gamin, systemd, report)",
			    j->backend_name);
	}
	astr_cleanup(&in);
	astr_cleanup(&name);
	omap_cleanup(&opts, omap_astr_free);
}

static void
build_ignorecache(struct cctx *c, struct conf_jail *j, const struct pyval *v)
{
	struct astr in = ASTR_INIT, name = ASTR_INIT;
	struct omap opts = OMAP_INIT;
	char *err = NULL;

	if (v->t != PY_STR || v->s[0] == '\0')
		return;
	astr_addstr(&in, "cache[", v->org);
	astr_addstr(&in, v->s, v->org);
	astr_addstr(&in, "]", v->org);
	if (conf_extract_options(&in, &name, &opts, &err) != 0) {
		cctx_error(c, v->org, false, "ignorecache: %s", err);
		free(err);
		goto out;
	}
	{
		const struct astr *k = omap_get(&opts, "key");
		const struct astr *mc = omap_get(&opts, "max-count");
		const struct astr *mt = omap_get(&opts, "max-time");
		long long n;
		char terr[300];

		if (k == NULL) {
			cctx_error(c, v->org, false,
			    "ignorecache: no key=\"...\" given");
			goto out;
		}
		j->ignorecache.key = xstrdup(astr_str(k));
		if (mc && conf_py_int(astr_str(mc), &n) == 0)
			j->ignorecache.max_count = (int)n;
		else if (mc)
			cctx_error(c, v->org, false,
			    "ignorecache: max-count '%s' is not an integer",
			    astr_str(mc));
		if (mt &&
		    timeval_parse(astr_str(mt), &j->ignorecache.max_time, NULL,
		        terr, sizeof(terr)) != 0)
			cctx_error(c, v->org, false,
			    "ignorecache: max-time: %s", terr);
	}
out:
	astr_cleanup(&in);
	astr_cleanup(&name);
	omap_cleanup(&opts, omap_astr_free);
}

static void
build_bantime_ext(struct cctx *c, struct conf_jail *j, const char *what,
    const struct pyval *v)
{
	struct conf_bantime_ext *b = &j->bantime_ext;
	char err[300];

	if (strcmp(what, "bantime.increment") == 0) {
		b->increment = v->t == PY_BOOL && v->b;
	} else if (strcmp(what, "bantime.overalljails") == 0) {
		b->overalljails = v->t == PY_BOOL && v->b;
	} else if (v->t != PY_STR || v->s[0] == '\0') {
		return;
	} else if (strcmp(what, "bantime.factor") == 0) {
		free(b->factor_expr);
		b->factor_expr = xstrdup(v->s);
		if (timeval_eval(v->s, &b->factor, NULL, err, sizeof(err)) != 0)
			cctx_error(c, v->org, false,
			    "bantime.factor: '%s' is not a number (%s)", v->s,
			    err);
	} else if (strcmp(what, "bantime.formula") == 0) {
		free(b->formula);
		b->formula = xstrdup(v->s);
	} else if (strcmp(what, "bantime.multipliers") == 0) {
		const char *p = v->s;

		free(b->multipliers);
		b->multipliers = NULL;
		b->nmultipliers = 0;
		/* split(' '): every single space separates, so two spaces
		 * give an empty item, which int() rejects. */
		for (;;) {
			const char *sp = strchr(p, ' ');
			char *item =
			    sp ? xmemdup(p, (size_t)(sp - p)) : xstrdup(p);
			long long n;

			if (conf_py_int(item, &n) != 0) {
				cctx_error(c, v->org, false,
				    "bantime.multipliers: '%s' is not an "
				    "integer",
				    item);
				free(item);
				break;
			}
			b->multipliers = xreallocarray(b->multipliers,
			    b->nmultipliers + 1, sizeof(*b->multipliers));
			b->multipliers[b->nmultipliers++] = (long)n;
			free(item);
			if (sp == NULL)
				break;
			p = sp + 1;
		}
	} else if (strcmp(what, "bantime.maxtime") == 0) {
		parse_time(c, v, what, &b->maxtime);
	} else if (strcmp(what, "bantime.rndtime") == 0) {
		parse_time(c, v, what, &b->rndtime);
	}
}

/* One property of an action, as the server's "set ... action" sets it. */
static void
action_prop(struct cctx *c, struct conf_action *a, const struct pyval *key,
    const struct pyval *val)
{
	int ci = -1;

	if (key->t != PY_STR)
		return;
	for (int q = 0; q < CONF_ACT_NCMDS; q++)
		if (strcmp(key->s, cmd_names[q]) == 0)
			ci = q;
	if (ci >= 0) {
		free(a->cmd[ci]);
		a->cmd[ci] = val->t == PY_STR ? xstrdup(val->s) : NULL;
	} else if (strcmp(key->s, "actionstart_on_demand") == 0) {
		a->start_on_demand = val->t == PY_BOOL ? val->b : -1;
	} else if (strcmp(key->s, "actionrepair_on_unban") == 0) {
		a->repair_on_unban = val->t == PY_BOOL ? val->b : -1;
	} else if (strcmp(key->s, "norestored") == 0) {
		a->norestored = val->t == PY_BOOL ? val->b : -1;
	} else {
		kv_set(&a->props, key->s, val->t == PY_STR ? val->s : "");
		if (strcmp(key->s, "timeout") == 0 && val->t == PY_STR &&
		    strchr(val->s, '<') == NULL)
			parse_time(c, val, "action timeout", &a->timeout);
	}
}

/* Fills an action from its entry and its stream commands. */
static void
build_action(struct cctx *c, const struct jact *ja, const struct pyval *stream,
    struct conf_action *a)
{
	a->name = xstrdup(ja->name);
	a->actname = xstrdup(ja->actname);
	a->line = cctx_org_line(c, ja->org);
	a->jail_file = cctx_org_file(c, ja->org)
	    ? xstrdup(cctx_org_file(c, ja->org))
	    : NULL;
	a->start_on_demand = a->repair_on_unban = a->norestored = -1;
	a->timeout = 60;
	if (ja->r == NULL) {
		a->python = true;
		a->file = xstrdup(ja->pyfile);
		a->python_params = xstrdup(ja->pyjson);
		return;
	}
	a->file = conf_py_join(c->basedir, ja->r->cfgname);
	{
		char *f = xasprintf("%s.conf", a->file);

		free(a->file);
		a->file = f;
	}
	if (ja->r->wcmd[0] != NULL)
		a->userlock = xstrdup(ja->r->wcmd[0]);
	if (ja->r->wcmd[1] != NULL)
		a->userunlock = xstrdup(ja->r->wcmd[1]);
	for (size_t i = 0; i < stream->n; i++) {
		const struct pyval *cmd = stream->items[i];
		const char *verb = cmd_word(cmd, 0), *what = cmd_word(cmd, 2);
		const char *name = cmd_word(cmd, 3);

		if (verb == NULL || what == NULL || name == NULL ||
		    strcmp(what, "action") != 0 ||
		    strcmp(name, a->actname) != 0)
			continue;
		if (strcmp(verb, "set") == 0 && cmd->n == 6) {
			action_prop(c, a, cmd->items[4], cmd->items[5]);
		} else if (strcmp(verb, "multi-set") == 0 && cmd->n == 5 &&
		    cmd->items[4]->t == PY_LIST) {
			const struct pyval *l = cmd->items[4];

			for (size_t k = 0; k < l->n; k++)
				if (l->items[k]->t == PY_LIST &&
				    l->items[k]->n == 2)
					action_prop(c, a, l->items[k]->items[0],
					    l->items[k]->items[1]);
		}
	}
}

/* backend = report: service (required, checked), reportusers/groups. */
static void
build_report(struct cctx *c, const struct jailr *jr, struct conf_jail *j)
{
	static const char *const keys[] = {"reportusers", "reportgroups"};
	char **dst[] = {&j->reportusers, &j->reportgroups};
	const struct pyval *v = omap_get(&jr->opts, "service");

	/* no filter (conf_read.c skipped jail.conf's DEFAULT one) */
	free(j->filter_spec);
	j->filter_spec = NULL;
	free(j->filter.name);
	j->filter.name = NULL;
	if (j->backend_params.n > 0)
		cctx_error(
		    c, jr->org, false, "backend 'report' takes no parameters");
	if (v == NULL || v->t != PY_STR || v->s[0] == '\0') {
		cctx_error(c, v && v->t == PY_STR ? v->org : jr->org, false,
		    "backend = report needs service = NAME (the service "
		    "named in the reports)");
	} else if (!report_service_valid(v->s, strlen(v->s))) {
		cctx_error(c, v->org, false,
		    "service '%s': use 1 to %d letters, digits, '.', '_' "
		    "or '-', starting with a letter or digit",
		    v->s, REPORT_MAX_SERVICE);
	} else {
		j->service = xstrdup(v->s);
	}
	for (size_t i = 0; i < NELEM(keys); i++) {
		v = omap_get(&jr->opts, keys[i]);
		if (v != NULL && v->t == PY_STR && v->s[0] != '\0')
			*dst[i] = xstrdup(v->s);
	}
}

/* usermaxretry, userfindtime, userbantime (login tracking). */
static void
build_user(struct cctx *c, const struct jailr *jr, struct conf_jail *j)
{
	const struct pyval *v = omap_get(&jr->opts, "usermaxretry");

	if (v != NULL && v->t == PY_INT) {
		if (v->i < 0 || v->i > 1000000000)
			cctx_error(c, v->org, false,
			    "usermaxretry must be 0 (off) or a positive "
			    "integer");
		else
			j->usermaxretry = (int)v->i;
	}
	v = omap_get(&jr->opts, "userfindtime");
	if (v != NULL && v->t == PY_STR && v->s[0] != '\0')
		parse_time(c, v, "userfindtime", &j->userfindtime);
	v = omap_get(&jr->opts, "userbantime");
	if (v != NULL && v->t == PY_STR && v->s[0] != '\0')
		parse_time(c, v, "userbantime", &j->userbantime);
}

/* jails = a, b, c (an aggregate jail): the member names, checked
 * against the other jails by conf_check_members(). */
static void
build_members(struct cctx *c, const struct jailr *jr, struct conf_jail *j)
{
	const struct pyval *v = omap_get(&jr->opts, "jails");
	const char *p;

	if (v == NULL || v->t != PY_STR)
		return;
	for (p = v->s; *p;) {
		size_t n;

		p += strspn(p, " \t\r\n,");
		n = strcspn(p, " \t\r\n,");
		if (n == 0)
			break;
		{
			char *name = xmemdup(p, n);

			if (strv_find(&j->members, name) < 0)
				strv_take(&j->members, name);
			else
				free(name);
		}
		p += n;
	}
	if (j->members.n == 0)
		return;
	/* no filter, no log (conf_read.c skipped jail.conf's DEFAULT
	 * filter) */
	free(j->filter_spec);
	j->filter_spec = NULL;
	free(j->filter.name);
	j->filter.name = NULL;
	if (j->backend_name != NULL && strcmp(j->backend_name, "auto") != 0 &&
	    strcmp(j->backend_name, "polling") != 0 &&
	    strcmp(j->backend_name, "pyinotify") != 0 &&
	    strcmp(j->backend_name, "gamin") != 0)
		cctx_error(c, v->org, false,
		    "jails = ... makes an aggregate jail: it reads no log and "
		    "takes no backend '%s'",
		    j->backend_name);
	if (j->service != NULL)
		cctx_error(c, v->org, false,
		    "an aggregate jail (jails = ...) cannot be a report jail");
}

int
conf_build_jail(struct cctx *c, const struct jailr *jr, struct conf_jail *j)
{
	const struct pyval *fs;
	size_t nerr0 = c->nerr;

	memset(j, 0, sizeof(*j));
	j->name = xstrdup(jr->name);
	j->file = cctx_org_file(c, jr->org) ? xstrdup(cctx_org_file(c, jr->org))
	                                    : NULL;
	j->line = cctx_org_line(c, jr->org);
	j->maxretry = 3;
	j->maxmatches = 5;
	j->findtime = 600;
	j->bantime = 600;
	j->ignoreself = true;
	j->bantime_ext.factor = 1;
	j->bantime_ext.maxtime = -1;
	j->bantime_ext.rndtime = -1;
	j->ignorecache.max_count = 100;
	j->ignorecache.max_time = 300;
	j->userfindtime = NAN;
	j->userbantime = NAN;
	j->logencoding = xstrdup("auto");
	filterdef_init(&j->filter);
	fs = omap_get(&jr->opts, "filter");
	if (fs && fs->t == PY_STR && fs->s[0]) {
		struct astr in = ASTR_INIT, name = ASTR_INIT;
		struct omap o = OMAP_INIT;
		char *err = NULL;

		j->filter_spec = xstrdup(fs->s);
		astr_addstr(&in, fs->s, fs->org);
		if (conf_extract_options(&in, &name, &o, &err) == 0)
			j->filter.name = xstrdup(astr_str(&name));
		free(err);
		astr_cleanup(&in);
		astr_cleanup(&name);
		omap_cleanup(&o, omap_astr_free);
	}
	conf_apply_filter_cmds(c, jr->stream, 0, &j->filter);
	for (size_t i = 0; i < jr->stream->n; i++) {
		const struct pyval *cmd = jr->stream->items[i];
		const char *verb = cmd_word(cmd, 0), *what = cmd_word(cmd, 2);
		const struct pyval *v;

		if (verb && strcmp(verb, "add") == 0 && cmd->n == 3 &&
		    cmd->items[2]->t == PY_STR) {
			build_backend(c, j, cmd->items[2]);
			continue;
		}
		if (verb == NULL || strcmp(verb, "set") != 0 || what == NULL ||
		    cmd->n < 4)
			continue;
		v = cmd->items[3];
		if (strcmp(what, "maxretry") == 0 && v->t == PY_INT) {
			j->maxretry = (int)v->i;
		} else if (strcmp(what, "maxmatches") == 0 && v->t == PY_INT) {
			j->maxmatches = (int)v->i;
		} else if (strcmp(what, "findtime") == 0) {
			parse_time(c, v, "findtime", &j->findtime);
		} else if (strcmp(what, "bantime") == 0) {
			parse_time(c, v, "bantime", &j->bantime);
		} else if (strncmp(what, "bantime.", 8) == 0) {
			build_bantime_ext(c, j, what, v);
		} else if (strcmp(what, "ignorecommand") == 0) {
			set_str(&j->ignorecommand, v);
			if (j->ignorecommand && j->ignorecommand[0] == '\0') {
				free(j->ignorecommand);
				j->ignorecommand = NULL;
			}
		} else if (strcmp(what, "ignoreself") == 0) {
			j->ignoreself = v->t == PY_BOOL ? v->b : true;
		} else if (strcmp(what, "addignoreip") == 0) {
			for (size_t k = 3; k < cmd->n; k++)
				add_ignoreip(c, j, cmd->items[k]);
		} else if (strcmp(what, "ignorecache") == 0) {
			build_ignorecache(c, j, v);
		} else if (strcmp(what, "logencoding") == 0 && v->t == PY_STR) {
			set_str(&j->logencoding, v);
			if (!valid_encoding(v->s))
				cctx_error(c, v->org, false,
				    "logencoding: unknown encoding '%s'", v->s);
		} else if (strcmp(what, "logtimezone") == 0 && v->t == PY_STR) {
			set_str(&j->logtimezone, v);
			free(j->filter.logtimezone);
			j->filter.logtimezone = xstrdup(v->s);
			if (!valid_timezone(v->s))
				cctx_error(c, v->org, false,
				    "logtimezone: unknown or unsupported time "
				    "zone '%s'",
				    v->s);
		}
	}
	for (size_t i = 0; i < jr->nlogpaths; i++) {
		struct conf_logpath *lp;

		j->logpaths = xreallocarray(
		    j->logpaths, j->nlogpaths + 1, sizeof(*j->logpaths));
		lp = &j->logpaths[j->nlogpaths++];
		memset(lp, 0, sizeof(*lp));
		lp->pattern = xstrdup(jr->logpaths[i].pattern);
		lp->tail = jr->logpaths[i].tail;
		strv_copy(&lp->files, &jr->logpaths[i].files);
	}
	if (j->backend_name && strcmp(j->backend_name, "report") == 0)
		build_report(c, jr, j);
	build_members(c, jr, j);
	build_user(c, jr, j);
	if (j->members.n > 0 ||
	    (j->backend_name && strcmp(j->backend_name, "report") == 0)) {
		/* no log files */
	} else if (j->backend_name &&
	    strncmp(j->backend_name, "systemd", 7) != 0) {
		size_t nfiles = 0;

		for (size_t i = 0; i < j->nlogpaths; i++)
			nfiles += j->logpaths[i].files.n;
		if (nfiles == 0) {
			const struct pyval *lp = omap_get(&jr->opts, "logpath");
			uint32_t org =
			    lp && lp->t == PY_STR ? lp->org : jr->org;

			/* the daemon watches for the files instead */
			if (c->flags & CONF_LOAD_DAEMON)
				cctx_warn(c, org,
				    "have not found any log file for %s jail: "
				    "it starts and reads its log once it "
				    "appears",
				    jr->name);
			else
				cctx_error(c, org, false,
				    "have not found any log file for %s jail",
				    jr->name);
		}
	}
	{
		const struct pyval *v = omap_get(&jr->opts, "maxfailures");

		if (v != NULL && v->t == PY_INT) {
			if (v->i < 1)
				cctx_error(c, v->org, false,
				    "maxfailures must be an integer greater "
				    "than zero");
			else
				j->maxfailures = (long)v->i;
		}
	}
	for (size_t i = 0; i < jr->nacts; i++) {
		j->actions = xreallocarray(
		    j->actions, j->nactions + 1, sizeof(*j->actions));
		memset(&j->actions[j->nactions], 0, sizeof(j->actions[0]));
		build_action(
		    c, &jr->acts[i], jr->stream, &j->actions[j->nactions]);
		j->nactions++;
	}
	return c->nerr == nerr0 ? 0 : -1;
}

/* ---- public helpers ---- */

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->dir);
	conf_server_cleanup(&c->server);
	for (size_t i = 0; i < c->njails; i++)
		conf_jail_cleanup(&c->jails[i]);
	free(c->jails);
	for (size_t i = 0; i < c->nbroken; i++) {
		free(c->broken[i].name);
		free(c->broken[i].error);
	}
	free(c->broken);
	if (c->priv) {
		py_free(c->priv->stream);
		free(c->priv->fatal);
		free(c->priv);
	}
	free(c);
}

const struct conf_jail *
conf_find_jail(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->njails; i++)
		if (strcmp(c->jails[i].name, name) == 0)
			return &c->jails[i];
	return NULL;
}
