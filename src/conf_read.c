/*
 * The readers: fail2ban's ConfigReader.getOptions, FilterReader,
 * ActionReader, JailReader, JailsReader and Fail2banReader, ported
 * function by function so that option order, defaults, conversions and
 * the quirks of 1.0.2 (the "opt in 'datepattern'" substring test, raw
 * [Init] values in the action properties, the getCombOption cache shared
 * by both passes) come out the same. They produce fail2ban's command
 * stream; conf_build.c turns each jail's stream into a typed struct
 * conf_jail. Errors fail2ban treats as fatal for the whole configuration
 * only disable the jail here (and are remembered for `warden dump`).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf_int.h"
#include "report.h"
#include "sbuf.h"
#include "timeval.h"
#include "xmalloc.h"

static const struct optdef filter_opts[] = {
    {"usedns", T_STR, NULL},
    {"prefregex", T_STR, NULL},
    {"ignoreregex", T_STR, NULL},
    {"failregex", T_STR, NULL},
    {"maxlines", T_INT, NULL},
    {"datepattern", T_STR, NULL},
    {"journalmatch", T_STR, NULL},
};

static const struct optdef action_opts[] = {
    {"actionstart", T_STR, NULL},
    {"actionstart_on_demand", T_BOOL, NULL},
    {"actionstop", T_STR, NULL},
    {"actionflush", T_STR, NULL},
    {"actionreload", T_STR, NULL},
    {"actioncheck", T_STR, NULL},
    {"actionrepair", T_STR, NULL},
    {"actionrepair_on_unban", T_BOOL, NULL},
    {"actionban", T_STR, NULL},
    {"actionprolong", T_STR, NULL},
    {"actionreban", T_STR, NULL},
    {"actionunban", T_STR, NULL},
    {"norestored", T_BOOL, NULL},
};

static const struct optdef jail_opts1[] = {
    {"enabled", T_BOOL, "False"},
    {"backend", T_STR, "auto"},
    {"filter", T_STR, ""},
    /* Warden's aggregate jails: known before the filter is read */
    {"jails", T_STR, NULL},
};

static const struct optdef jail_opts[] = {
    {"enabled", T_BOOL, "False"},
    {"backend", T_STR, "auto"},
    {"maxretry", T_INT, NULL},
    {"maxmatches", T_INT, NULL},
    {"findtime", T_STR, NULL},
    {"bantime", T_STR, NULL},
    {"bantime.increment", T_BOOL, NULL},
    {"bantime.factor", T_STR, NULL},
    {"bantime.formula", T_STR, NULL},
    {"bantime.multipliers", T_STR, NULL},
    {"bantime.maxtime", T_STR, NULL},
    {"bantime.rndtime", T_STR, NULL},
    {"bantime.overalljails", T_BOOL, NULL},
    {"ignorecommand", T_STR, NULL},
    {"ignoreself", T_BOOL, NULL},
    {"ignoreip", T_STR, NULL},
    {"ignorecache", T_STR, NULL},
    {"filter", T_STR, ""},
    {"logtimezone", T_STR, NULL},
    {"logencoding", T_STR, NULL},
    {"logpath", T_STR, NULL},
    {"action", T_STR, ""},
    {"usedns", T_STR, NULL},
    {"prefregex", T_STR, NULL},
    {"ignoreregex", T_STR, NULL},
    {"failregex", T_STR, NULL},
    {"maxlines", T_INT, NULL},
    {"datepattern", T_STR, NULL},
    {"journalmatch", T_STR, NULL},
    /* Warden's, for backend = report; never sent in the stream */
    {"service", T_STR, NULL},
    {"reportusers", T_STR, NULL},
    {"reportgroups", T_STR, NULL},
    /* Warden's: the failure table's cap; never sent in the stream */
    {"maxfailures", T_INT, NULL},
    /* Warden's login tracking and aggregate jails; never in the stream */
    {"usermaxretry", T_INT, NULL},
    {"userfindtime", T_STR, NULL},
    {"userbantime", T_STR, NULL},
    {"jails", T_STR, NULL},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Jail options of Warden's own that fail2ban's stream never carries. */
static bool
warden_jail_opt(const char *name)
{
	return strcmp(name, "service") == 0 ||
	    strcmp(name, "reportusers") == 0 ||
	    strcmp(name, "reportgroups") == 0 ||
	    strcmp(name, "maxfailures") == 0 ||
	    strcmp(name, "usermaxretry") == 0 ||
	    strcmp(name, "userfindtime") == 0 ||
	    strcmp(name, "userbantime") == 0 || strcmp(name, "jails") == 0;
}

/* Warden's commands of an action file's [Definition] (login tracking):
 * resolved like the others, never in the stream. */
static const char *const warden_action_cmds[] = {
    "actionuserlock", "actionuserunlock"};

/* backend = report: the jail reads no log and has no filter. */
static bool
report_backend(const char *be)
{
	return be != NULL && strncasecmp(be, "report", 6) == 0 &&
	    (be[6] == '\0' || be[6] == '[');
}

/* `jails = ...` (an aggregate jail): no filter, no log of its own. */
static bool
aggregate_jail(const struct omap *opts)
{
	const struct pyval *v = omap_get(opts, "jails");

	return v != NULL && v->t == PY_STR &&
	    v->s[strspn(v->s, " \t\r\n,")] != '\0';
}

static bool
in_defs(const struct optdef *defs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(defs[i].name, name) == 0)
			return true;
	return false;
}

static const struct optdef *
find_def(const struct optdef *defs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

static void
pyval_free_p(void *p)
{
	py_free(p);
}

static bool
starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The typed default of an option definition. */
static struct pyval *
def_value(const struct optdef *d)
{
	if (d->def == NULL)
		return py_none();
	if (d->type == T_BOOL)
		return py_bool(strcmp(d->def, "True") == 0);
	if (d->type == T_INT) {
		long long v = 0;

		conf_py_int(d->def, &v);
		return py_int(v);
	}
	return py_str(d->def, 0);
}

/* str(value) of a typed value as an annotated string (NULL for None). */
static struct astr *
py_to_astr(const struct pyval *v)
{
	char buf[32];

	switch (v->t) {
	case PY_NONE:
		return NULL;
	case PY_BOOL:
		return astr_new(v->b ? "True" : "False", 0);
	case PY_INT:
		snprintf(buf, sizeof(buf), "%lld", v->i);
		return astr_new(buf, 0);
	case PY_STR:
		return v->a ? astr_dup(v->a) : astr_new(v->s, v->org);
	default:
		return astr_new("", 0);
	}
}

/* The vars dict made of typed options (str() of each value). */
static void
vars_from_opts(const struct omap *opts, struct omap *vars)
{
	for (size_t i = 0; i < opts->n; i++)
		omap_set(vars, opts->v[i].key, py_to_astr(opts->v[i].val),
		    omap_astr_free);
}

/*
 * ConfigReader.getOptions(sec, defs, pOptions, shouldExist, convert):
 * values (typed pyvals) go to out. Returns 0, or -1 on a fatal error.
 */
static int
get_options(struct cctx *c, const struct cp *cp, const char *sec,
    const struct optdef *defs, size_t ndefs, const struct omap *popts,
    bool convert, struct omap *out)
{
	for (size_t i = 0; i < ndefs; i++) {
		const struct optdef *d = &defs[i];
		struct astr v = ASTR_INIT;
		bool none = false;
		enum cp_rc rc;

		if (popts && omap_has(popts, d->name))
			continue;
		rc = cp_get(c, cp, sec, d->name, false, popts, &v, &none);
		if (rc == CP_ERROR) {
			astr_cleanup(&v);
			return -1;
		}
		if (rc == CP_NOSECTION) {
			omap_set(out, d->name, def_value(d), pyval_free_p);
		} else if (rc == CP_NOOPTION) {
			if (d->def != NULL)
				omap_set(
				    out, d->name, def_value(d), pyval_free_p);
		} else if (none) {
			omap_set(out, d->name, py_none(), pyval_free_p);
		} else if (convert && d->type == T_BOOL) {
			omap_set(out, d->name,
			    py_bool(conf_py_bool(astr_str(&v))), pyval_free_p);
		} else if (convert && d->type == T_INT) {
			long long n;

			if (conf_py_int(astr_str(&v), &n) == 0) {
				omap_set(out, d->name, py_int(n), pyval_free_p);
			} else {
				cctx_error(c, astr_org_at(&v, 0), false,
				    "%s: '%s' is not an integer (fail2ban "
				    "ignores it)",
				    d->name, astr_str(&v));
				omap_set(
				    out, d->name, def_value(d), pyval_free_p);
			}
		} else {
			astr_add(&v, "", NULL, 0, 0);
			omap_set(out, d->name, py_astr(&v), pyval_free_p);
		}
		astr_cleanup(&v);
	}
	return 0;
}

static const char *
opt_str(const struct omap *opts, const char *key)
{
	const struct pyval *v = omap_get(opts, key);

	return v && v->t == PY_STR ? v->s : NULL;
}

static const struct astr *
opt_astr(const struct omap *opts, const char *key)
{
	const struct pyval *v = omap_get(opts, key);

	return v && v->t == PY_STR ? v->a : NULL;
}

/* ---- DefinitionInitConfigReader ---- */

static struct defreader *
defreader_new(struct cctx *c, bool is_action, const char *file,
    const char *jail, struct omap *initopts, uint32_t org)
{
	struct defreader *r = xcalloc(1, sizeof(*r));
	const char *dir = is_action ? "action.d" : "filter.d";

	r->c = c;
	r->is_action = is_action;
	r->file = xstrdup(file);
	r->cfgname =
	    file[0] == '/' ? xstrdup(file) : xasprintf("%s/%s", dir, file);
	r->jail = xstrdup(jail);
	r->org = org;
	if (initopts) {
		r->initopts = *initopts;
		memset(initopts, 0, sizeof(*initopts));
	}
	return r;
}

static void
defreader_free(struct defreader *r)
{
	if (r == NULL)
		return;
	free(r->file);
	free(r->cfgname);
	free(r->jail);
	free(r->actname);
	free(r->wcmd[0]);
	free(r->wcmd[1]);
	omap_cleanup(&r->initopts, omap_astr_free);
	omap_cleanup(&r->popts, omap_astr_free);
	omap_cleanup(&r->opts, omap_astr_free);
	omap_cleanup(&r->defcache, omap_astr_free);
	free(r);
}

static const struct optdef *
reader_defs(const struct defreader *r, size_t *n)
{
	if (r->is_action) {
		*n = NELEM(action_opts);
		return action_opts;
	}
	*n = NELEM(filter_opts);
	return filter_opts;
}

/* DefinitionInitConfigReader.getOptions(pOpts, all). */
static int
def_get_options(struct defreader *r, const struct omap *pvars, bool all)
{
	struct cctx *c = r->c;
	struct omap popts = OMAP_INIT;
	size_t ndefs;
	const struct optdef *defs = reader_defs(r, &ndefs);
	const struct cpsec *init, *def;

	if (pvars)
		omap_copy_astr(&popts, pvars);
	omap_copy_astr(&popts, &r->initopts);
	omap_cleanup(&r->opts, omap_astr_free);
	for (size_t i = 0; i < ndefs; i++) {
		struct astr v = ASTR_INIT;
		bool none = false;
		enum cp_rc rc;

		if (omap_has(&popts, defs[i].name))
			continue;
		rc = cp_get(c, r->cp, "Definition", defs[i].name, false, &popts,
		    &v, &none);
		if (rc == CP_ERROR) {
			astr_cleanup(&v);
			omap_cleanup(&popts, omap_astr_free);
			return -1;
		}
		if (rc == CP_NOSECTION || (rc == CP_OK && none))
			omap_set(&r->opts, defs[i].name, NULL, omap_astr_free);
		else if (rc == CP_OK)
			omap_set(&r->opts, defs[i].name, astr_dup(&v),
			    omap_astr_free);
		astr_cleanup(&v);
	}
	omap_cleanup(&r->popts, omap_astr_free);
	r->popts = popts;
	init = cp_section(r->cp, "Init");
	if (init != NULL) {
		/* Keys first: values may add to the section? They don't,
		 * but iterate over a snapshot as Python does. */
		struct strv keys = STRV_INIT;

		for (size_t i = 0; i < init->opts.n; i++)
			strv_add(&keys, init->opts.v[i].key);
		for (size_t i = 0; i < keys.n; i++) {
			const char *opt = keys.v[i];
			struct astr *v = NULL;

			if (strcmp(opt, "__name__") == 0)
				continue;
			if (!starts_with(opt, "known/")) {
				char *kn = xasprintf("known/%s", opt);

				v = xcalloc(1, sizeof(*v));
				if (cp_get(c, r->cp, "Init", opt, false, NULL,
				        v, NULL) != CP_OK) {
					astr_free(v);
					free(kn);
					strv_cleanup(&keys);
					return -1;
				}
				astr_add(v, "", NULL, 0, 0);
				omap_set(&r->initopts, kn, astr_dup(v),
				    omap_astr_free);
				free(kn);
			}
			if (!omap_has(&r->initopts, opt)) {
				if (v == NULL) {
					v = xcalloc(1, sizeof(*v));
					if (cp_get(c, r->cp, "Init", opt, false,
					        NULL, v, NULL) != CP_OK) {
						astr_free(v);
						strv_cleanup(&keys);
						return -1;
					}
					astr_add(v, "", NULL, 0, 0);
				}
				omap_set(&r->initopts, opt, v, omap_astr_free);
				v = NULL;
			}
			astr_free(v);
		}
		strv_cleanup(&keys);
	}
	def = cp_section(r->cp, "Definition");
	if (all && def != NULL) {
		struct strv keys = STRV_INIT;

		for (size_t i = 0; i < def->opts.n; i++)
			strv_add(&keys, def->opts.v[i].key);
		for (size_t i = 0; i < keys.n; i++) {
			struct astr *v;

			if (strcmp(keys.v[i], "__name__") == 0 ||
			    omap_has(&r->opts, keys.v[i]))
				continue;
			v = xcalloc(1, sizeof(*v));
			if (cp_get(c, r->cp, "Definition", keys.v[i], false,
			        NULL, v, NULL) != CP_OK) {
				astr_free(v);
				strv_cleanup(&keys);
				return -1;
			}
			astr_add(v, "", NULL, 0, 0);
			omap_set(&r->opts, keys.v[i], v, omap_astr_free);
		}
		strv_cleanup(&keys);
	}
	return 0;
}

/* getCombOption: a tag not among the options, looked up in
 * [Definition] (with sec/opt and known/opt names). */
static int
comb_option(void *ctx, const char *tag, struct astr **out)
{
	struct defreader *r = ctx;
	long i = omap_find(&r->defcache, tag);
	struct astr *v;
	bool none = false;
	enum cp_rc rc;

	if (i >= 0) {
		*out = r->defcache.v[i].val;
		return 0;
	}
	v = xcalloc(1, sizeof(*v));
	rc = cp_get_ex(r->c, r->cp, "Definition", tag, &r->popts, v, &none);
	if (rc == CP_ERROR) {
		astr_free(v);
		return -1;
	}
	if (rc != CP_OK || none) {
		astr_free(v);
		v = NULL;
	} else {
		astr_add(v, "", NULL, 0, 0);
	}
	omap_set(&r->defcache, tag, v, omap_astr_free);
	*out = v;
	return 0;
}

/* getCombined(ignore): substituted options (strings) into out. */
static int
def_get_combined(struct defreader *r, bool action_ignore, struct omap *out)
{
	struct omap comb = OMAP_INIT, ignore = OMAP_INIT;
	int rc;

	omap_copy_astr(&comb, &r->opts);
	omap_copy_astr(&comb, &r->initopts);
	if (comb.n == 0) {
		omap_cleanup(&comb, omap_astr_free);
		return 0;
	}
	if (action_ignore) {
		static const char *const ign[] = {"matches", "ipmatches",
		    "ipjailmatches", "timeout", "bantime"};

		for (size_t i = 0; i < NELEM(ign); i++)
			omap_set(&ignore, ign[i], NULL, NULL);
	}
	for (size_t i = 0; i < comb.n; i++) {
		size_t n = conf_conditional(comb.v[i].key);

		if (n > 0) {
			char *base = xmemdup(comb.v[i].key, n);

			omap_set(&ignore, base, NULL, NULL);
			free(base);
		}
	}
	rc = conf_substitute_tags(r->c, &comb, &ignore, comb_option, r, out);
	omap_cleanup(&comb, omap_astr_free);
	omap_cleanup(&ignore, NULL);
	return rc;
}

/* Typed value of a combined option (convertOptions). */
static struct pyval *
comb_value(struct cctx *c, const struct defreader *r, const char *key,
    const struct astr *v, bool report)
{
	size_t ndefs = 0;
	const struct optdef *defs = reader_defs(r, &ndefs);
	const struct optdef *d = find_def(defs, ndefs, key);

	if (v == NULL)
		return py_none();
	if (d && d->type == T_BOOL)
		return py_bool(conf_py_bool(astr_str(v)));
	if (d && d->type == T_INT) {
		long long n;

		if (conf_py_int(astr_str(v), &n) == 0)
			return py_int(n);
		if (report)
			cctx_error(c, astr_org_at(v, 0), false,
			    "%s: '%s' is not an integer (fail2ban ignores it)",
			    key, astr_str(v));
		return py_none();
	}
	return py_astr(v);
}

/* FilterReader._fillStream */
static int
fill_stream(struct cctx *c, struct pyval *stream, const struct omap *opts,
    const char *jail)
{
	size_t prio0 = 0;

	for (size_t i = 0; i < opts->n; i++) {
		const char *opt = opts->v[i].key;
		const struct pyval *val = opts->v[i].val;

		if (val == NULL || val->t == PY_NONE)
			continue;
		if (strcmp(opt, "failregex") == 0 ||
		    strcmp(opt, "ignoreregex") == 0) {
			struct pyval *multi = py_list();
			const struct astr *a = val->a;
			const char *s = val->s;
			char *cmd = xasprintf("add%s", opt);

			for (const char *p = s;;) {
				const char *nl = strchr(p, '\n');
				size_t n = nl ? (size_t)(nl - p) : strlen(p);

				if (n > 0) {
					struct astr line = ASTR_INIT;

					if (a)
						astr_add(&line, p,
						    a->o + (p - s), n, 0);
					else
						astr_add(&line, p, NULL, n,
						    val->org);
					py_append(multi, py_astr(&line));
					astr_cleanup(&line);
				}
				if (nl == NULL)
					break;
				p = nl + 1;
			}
			if (multi->n > 1) {
				struct pyval *l =
				    py_cmd("multi-set", jail, cmd, NULL);

				py_append(l, multi);
				py_append(stream, l);
			} else if (multi->n == 1) {
				struct pyval *l =
				    py_cmd("set", jail, cmd, NULL);

				py_append(l, py_dup(multi->items[0]));
				py_append(stream, l);
				py_free(multi);
			} else {
				py_free(multi);
			}
			free(cmd);
		} else if (strcmp(opt, "usedns") == 0 ||
		    strcmp(opt, "maxlines") == 0 ||
		    strcmp(opt, "prefregex") == 0) {
			struct pyval *l = py_cmd("set", jail, opt, NULL);

			py_append(l, py_dup(val));
			py_insert(
			    stream, strcmp(opt, "usedns") == 0 ? 0 : prio0, l);
			prio0++;
		} else if (strstr("datepattern", opt) != NULL) {
			/* fail2ban 1.0.2 tests `opt in ('datepattern')`, a
			 * substring test: "a", "date", "pattern" ... all
			 * match. */
			struct pyval *l = py_cmd("set", jail, opt, NULL);

			py_append(l, py_dup(val));
			py_append(stream, l);
		} else if (strcmp(opt, "journalmatch") == 0 &&
		    val->t == PY_STR) {
			const char *p = val->s;

			for (;;) {
				const char *nl = strchr(p, '\n');
				char *line = nl ? xmemdup(p, (size_t)(nl - p))
				                : xstrdup(p);

				if (line[0]) {
					struct strv toks = STRV_INIT;
					char *err = NULL;
					uint32_t org = val->a
					    ? astr_org_at(
					          val->a, (size_t)(p - val->s))
					    : val->org;

					if (conf_shlex_split(
					        line, &toks, &err) != 0) {
						cctx_error(c, org, true,
						    "journalmatch: %s in "
						    "'%s'",
						    err, line);
						free(err);
						free(line);
						strv_cleanup(&toks);
						return -1;
					}
					{
						struct pyval *l = py_cmd("set",
						    jail, "addjournalmatch",
						    NULL);

						/* The line as written, for
						 * the typed view. */
						l->s = xstrdup(line);

						for (size_t k = 0; k < toks.n;
						     k++)
							py_append(l,
							    py_str(toks.v[k],
							        org));
						py_append(stream, l);
					}
					strv_cleanup(&toks);
				}
				free(line);
				if (nl == NULL)
					break;
				p = nl + 1;
			}
		}
	}
	return 0;
}

/* FilterReader.convert() */
static int
filter_convert(struct defreader *r, struct pyval *stream, bool report)
{
	struct omap comb = OMAP_INIT, typed = OMAP_INIT;
	int rc;

	if (def_get_combined(r, false, &comb) != 0) {
		omap_cleanup(&comb, omap_astr_free);
		return -1;
	}
	for (size_t i = 0; i < comb.n; i++)
		omap_set(&typed, comb.v[i].key,
		    comb_value(r->c, r, comb.v[i].key, comb.v[i].val, report),
		    pyval_free_p);
	rc = fill_stream(r->c, stream, &typed, r->jail);
	omap_cleanup(&comb, omap_astr_free);
	omap_cleanup(&typed, pyval_free_p);
	return rc;
}

/* FilterReader.applyAutoOptions(backend) */
static void
filter_auto_options(struct defreader *r, const char *backend)
{
	const struct astr *lt = omap_get(&r->initopts, "logtype");

	if ((lt == NULL || lt->len == 0) &&
	    !cp_has_option(r->cp, "Definition", "logtype", false))
		omap_set(&r->initopts, "logtype",
		    astr_new(
		        starts_with(backend, "systemd") ? "journal" : "file",
		        0),
		    omap_astr_free);
}

/* ActionReader.convert() */
static int
action_convert(struct defreader *r, struct pyval *stream)
{
	struct omap comb = OMAP_INIT;
	struct pyval *multi = py_list();

	/* Warden's own commands join the substitution (never the stream:
	 * the loops below send fail2ban's options and [Init] only) */
	for (size_t i = 0; i < NELEM(warden_action_cmds); i++) {
		struct astr v = ASTR_INIT;
		bool none = false;
		enum cp_rc rc;

		if (omap_has(&r->opts, warden_action_cmds[i]))
			continue;
		rc = cp_get(r->c, r->cp, "Definition", warden_action_cmds[i],
		    false, &r->popts, &v, &none);
		if (rc == CP_ERROR) {
			astr_cleanup(&v);
			py_free(multi);
			return -1;
		}
		if (rc == CP_OK && !none)
			omap_set(&r->opts, warden_action_cmds[i], astr_dup(&v),
			    omap_astr_free);
		astr_cleanup(&v);
	}
	if (def_get_combined(r, true, &comb) != 0) {
		omap_cleanup(&comb, omap_astr_free);
		py_free(multi);
		return -1;
	}
	for (size_t i = 0; i < NELEM(warden_action_cmds); i++) {
		const struct astr *v = omap_get(&comb, warden_action_cmds[i]);

		free(r->wcmd[i]);
		r->wcmd[i] = v != NULL ? xstrdup(astr_str(v)) : NULL;
	}
	py_append(
	    stream, py_cmd("set", r->jail, "addaction", r->actname, NULL));
	for (size_t i = 0; i < comb.n; i++) {
		const char *k = comb.v[i].key;

		if (in_defs(action_opts, NELEM(action_opts), k) &&
		    !starts_with(k, "known/")) {
			struct pyval *p = py_list();

			py_append(p, py_str(k, 0));
			py_append(
			    p, comb_value(r->c, r, k, comb.v[i].val, false));
			py_append(multi, p);
		}
	}
	for (size_t i = 0; i < r->initopts.n; i++) {
		const char *k = r->initopts.v[i].key;
		const struct astr *v = r->initopts.v[i].val;

		if (!in_defs(action_opts, NELEM(action_opts), k) &&
		    !starts_with(k, "known/")) {
			struct pyval *p = py_list();

			py_append(p, py_str(k, 0));
			py_append(p, v ? py_astr(v) : py_none());
			py_append(multi, p);
		}
	}
	if (multi->n > 1) {
		struct pyval *l =
		    py_cmd("multi-set", r->jail, "action", r->actname, NULL);

		py_append(l, multi);
		py_append(stream, l);
	} else if (multi->n == 1) {
		struct pyval *l =
		    py_cmd("set", r->jail, "action", r->actname, NULL);

		py_append(l, py_dup(multi->items[0]->items[0]));
		py_append(l, py_dup(multi->items[0]->items[1]));
		py_append(stream, l);
		py_free(multi);
	} else {
		py_free(multi);
	}
	omap_cleanup(&comb, omap_astr_free);
	return 0;
}

/* ---- JailReader ---- */

void
jailr_free(struct jailr *j)
{
	if (j == NULL)
		return;
	free(j->name);
	omap_cleanup(&j->opts, pyval_free_p);
	defreader_free(j->filter);
	for (size_t i = 0; i < j->nacts; i++) {
		defreader_free(j->acts[i].r);
		py_free(j->acts[i].py);
		free(j->acts[i].name);
		free(j->acts[i].actname);
		free(j->acts[i].pyfile);
		free(j->acts[i].pyjson);
	}
	free(j->acts);
	free(j->config_error);
	free(j->error);
	py_free(j->stream);
	for (size_t i = 0; i < j->nlogpaths; i++) {
		free(j->logpaths[i].pattern);
		strv_cleanup(&j->logpaths[i].files);
	}
	free(j->logpaths);
	free(j);
}

/* A JailDefError: fail2ban skips the jail with this message. */
static int
jail_def_error(struct cctx *c, struct jailr *j, uint32_t org, char *msg)
{
	cctx_error(c, org, false, "%s", msg);
	j->config_error = msg;
	return 1;
}

/* Python's repr() of a str (new). */
static char *
repr_s(const char *s)
{
	struct sbuf b = SBUF_INIT;

	py_repr_str(s, &b);
	return sbuf_detach(&b);
}

/* os.path.splitext(name)[0] (new). */
static char *
strip_ext(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	const char *dot;

	while (*base == '.')
		base++;
	dot = strrchr(base, '.');
	return dot ? xmemdup(name, (size_t)(dot - name)) : xstrdup(name);
}

/*
 * Reads one action entry ("name[params]"). Returns 0, 1 for a JailDefError
 * (recorded), -1 for a fatal error.
 */
static int
jail_read_action(struct cctx *c, struct jailr *j, const struct astr *act,
    const struct omap *jvars)
{
	struct astr name = ASTR_INIT;
	struct omap aopts = OMAP_INIT;
	char *err = NULL, *nm;
	uint32_t org = astr_org_at(act, 0);
	struct jact *ja;
	int rc = 0;
	size_t nlen;

	if (conf_extract_options(act, &name, &aopts, &err) != 0) {
		char *r = repr_s(astr_str(act));

		rc = jail_def_error(c, j, org,
		    xasprintf("Invalid action definition %s: %s", r, err));
		free(r);
		free(err);
		goto out;
	}
	nm = xstrdup(astr_str(&name));
	nlen = strlen(nm);
	xgrow(&j->acts, &j->actcap, j->nacts + 1, sizeof(*j->acts));
	ja = &j->acts[j->nacts++];
	memset(ja, 0, sizeof(*ja));
	ja->name = nm;
	ja->org = org;
	if (nlen >= 3 && strcmp(nm + nlen - 3, ".py") == 0) {
		struct astr *an = NULL;
		long i = omap_find(&aopts, "actname");
		struct sbuf js = SBUF_INIT;
		char *dir = conf_py_join(c->basedir, "action.d");

		if (i >= 0) {
			/* actOpt.pop("actname") */
			struct omap rest = OMAP_INIT;

			an = aopts.v[i].val;
			aopts.v[i].val = NULL;
			for (size_t k = 0; k < aopts.n; k++) {
				if ((long)k == i)
					continue;
				omap_set(&rest, aopts.v[k].key, aopts.v[k].val,
				    NULL);
				aopts.v[k].val = NULL;
			}
			omap_cleanup(&aopts, omap_astr_free);
			aopts = rest;
		}
		ja->actname = an ? xstrdup(astr_str(an)) : strip_ext(nm);
		astr_free(an);
		ja->pyfile = conf_py_join(dir, nm);
		py_json_dumps(&aopts, &js);
		ja->pyjson = sbuf_detach(&js);
		ja->py = py_cmd("set", j->name, "addaction", ja->actname,
		    ja->pyfile, ja->pyjson, NULL);
		cctx_warn(c, org,
		    "[%s] action '%s' is a Python action: recorded, but Warden "
		    "cannot run it",
		    j->name, nm);
		free(dir);
	} else {
		struct defreader *r;
		const struct astr *n = omap_get(&aopts, "name");
		const struct astr *an = omap_get(&aopts, "actname");
		char *actname;
		int nrc;
		struct cp *acp;

		if (!omap_has(&aopts, "name") || n == NULL) {
			omap_set(&aopts, "name", astr_new(j->name, 0),
			    omap_astr_free);
			n = omap_get(&aopts, "name");
		}
		if (an == NULL) {
			const char *nv = astr_str(n);
			size_t jl = strlen(j->name);

			if (strcmp(nv, j->name) != 0)
				actname = strncmp(nv, j->name, jl) == 0
				    ? xasprintf("%s%s", nm, nv + jl)
				    : xasprintf("%s-%s", nm, nv);
			else
				actname = xstrdup(nm);
			omap_set(&aopts, "actname", astr_new(actname, org),
			    omap_astr_free);
		} else {
			actname = xstrdup(astr_str(an));
		}
		r = defreader_new(c, true, nm, j->name, &aopts, org);
		r->actname = actname;
		ja->actname = xstrdup(actname);
		ja->r = r;
		nrc = cp_read_named(c, r->cfgname, &acp);
		r->cp = acp;
		if (nrc < 0) {
			rc = -1;
			goto out;
		}
		if (nrc == 0) {
			char *rp = repr_s(nm);

			rc = jail_def_error(c, j, org,
			    xasprintf("Unable to read action %s", rp));
			free(rp);
			goto out;
		}
		if (cp_named_error(c, r->cfgname) != NULL)
			cctx_error(c, org, false, "action '%s' has errors: %s",
			    nm, cp_named_error(c, r->cfgname));
		if (cp_section(acp, "Definition") == NULL)
			cctx_error(c, org, false,
			    "action '%s' has no [Definition] section", nm);
		else if (cp_named_first_check(c, r->cfgname))
			conf_check_definition(c, acp, true);
		if (def_get_options(r, jvars, false) != 0) {
			rc = -1;
			goto out;
		}
	}
out:
	astr_cleanup(&name);
	omap_cleanup(&aopts, omap_astr_free);
	return rc;
}

/*
 * JailReader.getOptions(). Returns 0 (read, maybe disabled), 1 when the
 * jail has a definition error fail2ban reports as config-error, -1 on an
 * error fail2ban treats as fatal for everything.
 */
static int
jail_get_options(struct cctx *c, struct cp *jcp, struct jailr *j)
{
	struct omap vars = OMAP_INIT;
	const struct pyval *en;
	const char *flt;
	int rc = 0;

	omap_set(&jcp->defaults, "fail2ban_version", astr_new(F2B_VERSION, 0),
	    omap_astr_free);
	omap_set(&jcp->defaults, "fail2ban_confpath", astr_new(c->basedir, 0),
	    omap_astr_free);
	if (get_options(c, jcp, j->name, jail_opts1, NELEM(jail_opts1), NULL,
	        true, &j->opts) != 0)
		return -1;
	en = omap_get(&j->opts, "enabled");
	j->enabled = en && en->t == PY_BOOL && en->b;
	if (!j->enabled)
		return 0;
	flt = opt_str(&j->opts, "filter");
	if (report_backend(opt_str(&j->opts, "backend")) ||
	    aggregate_jail(&j->opts)) {
		/* reports and aggregate jails need no filter (jail.conf's
		 * DEFAULT names one) */
	} else if (flt && flt[0]) {
		struct astr fname = ASTR_INIT;
		struct omap fopts = OMAP_INIT;
		const struct astr *fa = opt_astr(&j->opts, "filter");
		uint32_t org = fa ? astr_org_at(fa, 0) : j->org;
		char *err = NULL;
		struct cp *fcp;
		int nrc;
		struct omap comb = OMAP_INIT;
		const char *backend = opt_str(&j->opts, "backend");

		if (conf_extract_options(fa, &fname, &fopts, &err) != 0) {
			char *r = repr_s(flt);

			rc = jail_def_error(c, j, org,
			    xasprintf(
			        "Invalid filter definition %s: %s", r, err));
			free(r);
			free(err);
			astr_cleanup(&fname);
			omap_cleanup(&fopts, omap_astr_free);
			goto out;
		}
		j->filter = defreader_new(
		    c, false, astr_str(&fname), j->name, &fopts, org);
		astr_cleanup(&fname);
		nrc = cp_read_named(c, j->filter->cfgname, &fcp);
		j->filter->cp = fcp;
		if (nrc < 0) {
			rc = -1;
			goto out;
		}
		if (nrc == 0) {
			char *r = repr_s(j->filter->file);

			rc = jail_def_error(c, j, org,
			    xasprintf("Unable to read the filter %s", r));
			free(r);
			goto out;
		}
		if (cp_named_error(c, j->filter->cfgname) != NULL)
			cctx_error(c, org, false, "filter '%s' has errors: %s",
			    j->filter->file,
			    cp_named_error(c, j->filter->cfgname));
		if (cp_section(fcp, "Definition") == NULL)
			cctx_error(c, org, false,
			    "filter '%s' has no [Definition] section",
			    j->filter->file);
		else if (cp_named_first_check(c, j->filter->cfgname))
			conf_check_definition(c, fcp, false);
		filter_auto_options(j->filter, backend ? backend : "");
		vars_from_opts(&j->opts, &vars);
		if (def_get_options(j->filter, &vars, true) != 0 ||
		    def_get_combined(j->filter, false, &comb) != 0) {
			omap_cleanup(&comb, omap_astr_free);
			rc = -1;
			goto out;
		}
		cp_merge_section(jcp, j->name, &comb, "known/");
		omap_cleanup(&comb, omap_astr_free);
	} else {
		cctx_warn(c, j->org, "[%s] no filter set for jail", j->name);
	}
	omap_cleanup(&j->opts, pyval_free_p);
	if (get_options(c, jcp, j->name, jail_opts, NELEM(jail_opts), NULL,
	        true, &j->opts) != 0) {
		rc = -1;
		goto out;
	}
	omap_cleanup(&vars, omap_astr_free);
	vars_from_opts(&j->opts, &vars);
	if (j->filter && def_get_options(j->filter, &vars, false) != 0) {
		rc = -1;
		goto out;
	}
	{
		const struct pyval *av = omap_get(&j->opts, "action");
		struct astrv acts = {NULL, 0, 0};
		char *err = NULL;

		if (av && av->t == PY_STR) {
			struct astr tmp = ASTR_INIT;

			if (av->a)
				astr_addastr(&tmp, av->a);
			else
				astr_addstr(&tmp, av->s, av->org);
			if (conf_split_with_options(&tmp, &acts, &err) != 0) {
				cctx_error(
				    c, astr_org_at(&tmp, 0), true, "%s", err);
				free(err);
				astr_cleanup(&tmp);
				astrv_cleanup(&acts);
				rc = -1;
				goto out;
			}
			astr_cleanup(&tmp);
		}
		for (size_t i = 0; i < acts.n && rc == 0; i++) {
			struct astr act = ASTR_INIT;

			conf_astr_strip(&acts.v[i], &act);
			astr_add(&act, "", NULL, 0, 0);
			if (act.len > 0)
				rc = jail_read_action(c, j, &act, &vars);
			astr_cleanup(&act);
		}
		astrv_cleanup(&acts);
	}
	if (rc == 0 && j->nacts == 0)
		cctx_warn(c, j->org, "[%s] no actions were defined", j->name);
out:
	omap_cleanup(&vars, omap_astr_free);
	return rc;
}

static void
add_logpath(struct jailr *j, const char *pattern, bool tail)
{
	struct conf_logpath *lp;

	xgrow(&j->logpaths, &j->lpcap, j->nlogpaths + 1, sizeof(*j->logpaths));
	lp = &j->logpaths[j->nlogpaths++];
	memset(lp, 0, sizeof(*lp));
	lp->pattern = xstrdup(pattern);
	lp->tail = tail;
}

/* JailReader.convert(). Returns 0 or -1 (fatal). */
static int
jail_convert(struct cctx *c, struct jailr *j)
{
	struct pyval *stream = py_list(), *stream2 = py_list();
	const char *backend = "auto";
	int rc = 0;

	if (j->config_error) {
		char *msg = xasprintf("Jail '%s' skipped, because of wrong "
		                      "configuration: %s",
		    j->name, j->config_error);
		struct pyval *l = py_cmd("config-error", msg, NULL);

		py_append(stream, l);
		free(msg);
		j->stream = stream;
		py_free(stream2);
		return 0;
	}
	if (j->filter && filter_convert(j->filter, stream, true) != 0) {
		rc = -1;
		goto out;
	}
	if (fill_stream(c, stream, &j->opts, j->name) != 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < j->opts.n; i++) {
		const char *opt = j->opts.v[i].key;
		const struct pyval *v = j->opts.v[i].val;

		if (strcmp(opt, "logpath") == 0) {
			const char *be = opt_str(&j->opts, "backend");
			const char *p;

			if ((be &&
			        (starts_with(be, "systemd") ||
			            report_backend(be))) ||
			    aggregate_jail(&j->opts) || v->t != PY_STR)
				continue;
			for (p = v->s;;) {
				const char *nl = strchr(p, '\n');
				char *line = nl ? xmemdup(p, (size_t)(nl - p))
				                : xstrdup(p);
				char *sp = strrchr(line, ' ');
				const char *tail = "head";
				struct strv files = STRV_INIT;
				uint32_t org = v->a
				    ? astr_org_at(v->a, (size_t)(p - v->s))
				    : v->org;

				if (sp != NULL) {
					*sp = '\0';
					tail = sp + 1;
				}
				if (strcmp(tail, "head") != 0 &&
				    strcmp(tail, "tail") != 0)
					cctx_error(c, org, false,
					    "logpath: '%s' must be 'head' or "
					    "'tail' (a path with a space?)",
					    tail);
				conf_glob(line, &files);
				if (files.n == 0 && line[0])
					cctx_warn(c, org,
					    "[%s] no file found for logpath "
					    "'%s'",
					    j->name, line);
				if (line[0])
					add_logpath(
					    j, line, strcmp(tail, "tail") == 0);
				for (size_t k = 0; k < files.n; k++) {
					struct pyval *l;

					if (!conf_path_exists(files.v[k])) {
						cctx_warn(c, org,
						    "[%s] %s is a dangling "
						    "link",
						    j->name, files.v[k]);
						continue;
					}
					strv_add(&j->logpaths[j->nlogpaths - 1]
					              .files,
					    files.v[k]);
					l = py_cmd("set", j->name, "addlogpath",
					    files.v[k], tail, NULL);
					py_append(stream2, l);
				}
				strv_cleanup(&files);
				free(line);
				if (nl == NULL)
					break;
				p = nl + 1;
			}
		} else if (strcmp(opt, "backend") == 0) {
			if (v->t == PY_STR)
				backend = v->s;
		} else if (strcmp(opt, "ignoreip") == 0) {
			struct pyval *l =
			    py_cmd("set", j->name, "addignoreip", NULL);
			struct strv w = STRV_INIT;

			if (v->t == PY_STR)
				conf_splitwords(v->s, &w);
			for (size_t k = 0; k < w.n; k++)
				py_append(l, py_str(w.v[k], v->org));
			strv_cleanup(&w);
			py_append(stream, l);
		} else if (strcmp(opt, "action") != 0 &&
		    strcmp(opt, "filter") != 0 && strcmp(opt, "enabled") != 0 &&
		    !warden_jail_opt(opt) &&
		    !in_defs(filter_opts, NELEM(filter_opts), opt)) {
			struct pyval *l = py_cmd("set", j->name, opt, NULL);

			py_append(l, py_dup(v));
			py_append(stream, l);
		}
	}
	for (size_t i = 0; i < stream2->n; i++) {
		py_append(stream, stream2->items[i]);
		stream2->items[i] = NULL;
	}
	for (size_t i = 0; i < j->nacts; i++) {
		if (j->acts[i].r) {
			if (action_convert(j->acts[i].r, stream) != 0) {
				rc = -1;
				goto out;
			}
		} else {
			py_append(stream, py_dup(j->acts[i].py));
		}
	}
	py_insert(stream, 0, py_cmd("add", j->name, backend, NULL));
out:
	py_free(stream2);
	if (rc == 0) {
		j->stream = stream;
	} else {
		py_free(stream);
	}
	return rc;
}

/* ---- Fail2banReader ---- */

static const struct optdef f2b_early[] = {
    {"socket", T_STR, "/var/run/fail2ban/fail2ban.sock"},
    {"pidfile", T_STR, "/var/run/fail2ban/fail2ban.pid"},
    {"loglevel", T_STR, "INFO"},
    {"logtarget", T_STR, "/var/log/fail2ban.log"},
    {"syslogsocket", T_STR, "auto"},
};

static const struct optdef f2b_opts[] = {
    {"loglevel", T_STR, "INFO"},
    {"logtarget", T_STR, "STDERR"},
    {"syslogsocket", T_STR, "auto"},
    {"allowipv6", T_STR, "auto"},
    {"dbfile", T_STR, F2B_DEFAULT_DBFILE},
    {"dbmaxmatches", T_INT, NULL},
    {"dbpurgeage", T_STR, "1d"},
    /* Warden's report socket (report.h); not in the stream */
    {"reportsocket", T_STR, NULL},
    {"reportsocketgroup", T_STR, NULL},
    {"reportusers", T_STR, NULL},
    {"reportgroups", T_STR, NULL},
    {"reportrate", T_STR, NULL},
    {"reporttotalrate", T_STR, NULL},
};

static const struct optdef f2b_thread[] = {
    {"stacksize", T_INT, NULL},
};

static bool
valid_loglevel(const char *s)
{
	static const char *const names[] = {"CRITICAL", "FATAL", "ERROR",
	    "WARN", "WARNING", "NOTICE", "INFO", "DEBUG", "TRACEDEBUG",
	    "HEAVYDEBUG", "MSG", "NOTSET"};
	char *up;
	bool ok = false;

	if (s[0] && strspn(s, "0123456789") == strlen(s))
		return true;
	up = xstrdup(s);
	for (char *p = up; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	for (size_t i = 0; i < NELEM(names); i++)
		if (strcmp(up, names[i]) == 0)
			ok = true;
	free(up);
	return ok;
}

/*
 * A report rate option: "RATE[/BURST]" (positive numbers, reports per
 * second and bucket size) or "unlimited" (rate -1). Unset: both 0.
 * Errors go to c with the option's place.
 */
static void
report_rate(struct cctx *c, const struct omap *opts, const char *key,
    double *rate, double *burst)
{
	const struct pyval *v = omap_get(opts, key);
	char *end = NULL;

	*rate = *burst = 0;
	if (v == NULL || v->t != PY_STR || v->s[0] == '\0')
		return;
	if (strcasecmp(v->s, "unlimited") == 0) {
		*rate = -1;
		return;
	}
	*rate = strtod(v->s, &end);
	if (end != v->s && *end == '/')
		*burst = strtod(end + 1, &end);
	if (end == v->s || *end != '\0' || !(*rate > 0) || *burst < 0 ||
	    *rate > 1e9 || *burst > 1e9) {
		cctx_error(c, v->org, false,
		    "%s: '%s' is not RATE[/BURST] (reports per second) or "
		    "unlimited",
		    key, v->s);
		*rate = *burst = 0;
	}
}

/* Dups the string value of opts[key] or def. */
static char *
dup_opt(const struct omap *opts, const char *key, const char *def)
{
	const char *v = opt_str(opts, key);

	return xstrdup(v ? v : def);
}

/*
 * Reads fail2ban.conf (or warden.conf) into server options and the
 * general stream. Returns 0, or -1 on a fatal error.
 */
static int
read_server(
    struct cctx *c, struct conf *conf, struct pyval *stream, bool *early)
{
	struct cp *fcp;
	struct omap early_opts = OMAP_INIT, opts = OMAP_INIT;
	const char *name = "fail2ban";
	static const struct {
		const char *key;
		int order;
	} order[] = {{"thread", 0}, {"syslogsocket", 11}, {"loglevel", 12},
	    {"logtarget", 13}, {"allowipv6", 14}, {"dbfile", 50},
	    {"dbmaxmatches", 51}, {"dbpurgeage", 51}};
	char *p;
	int rc = 0;

	p = xasprintf("%s/warden", c->basedir);
	{
		char *a = xasprintf("%s.conf", p),
		     *b = xasprintf("%s.local", p), *d = xasprintf("%s.d", p);

		if (conf_path_exists(a) || conf_path_exists(b) ||
		    conf_path_exists(d))
			name = "warden";
		free(a);
		free(b);
		free(d);
	}
	free(p);
	conf->server.source = xstrdup(name);
	*early = true;
	/* Syntax errors in these files are reported by fail2ban before
	 * anything else ("ERROR: <exception>"). */
	if (cp_read_named(c, name, &fcp) < 0 || c->fatal != NULL ||
	    get_options(c, fcp, "Definition", f2b_early, NELEM(f2b_early), NULL,
	        true, &early_opts) != 0) {
		rc = -1;
		goto out;
	}
	*early = false;
	{
		/* warden.conf without dbfile: Warden's database, never
		 * fail2ban's (that one is fail2ban.conf's default only) */
		struct optdef defs[NELEM(f2b_opts)];

		memcpy(defs, f2b_opts, sizeof(defs));
		for (size_t i = 0; i < NELEM(defs); i++)
			if (strcmp(name, "warden") == 0 &&
			    strcmp(defs[i].name, "dbfile") == 0)
				defs[i].def = WARDEN_DEFAULT_DBFILE;
		if (get_options(c, fcp, "Definition", defs, NELEM(defs), NULL,
		        true, &opts) != 0) {
			rc = -1;
			goto out;
		}
	}
	/* The command line's values (taken from the early read) win. */
	for (size_t i = 0; i < early_opts.n; i++)
		omap_set(&opts, early_opts.v[i].key,
		    py_dup(early_opts.v[i].val), pyval_free_p);
	{
		const char *ll = opt_str(&opts, "loglevel");

		if (ll && !valid_loglevel(ll)) {
			const struct pyval *v = omap_get(&opts, "loglevel");
			char *r = repr_s(ll);

			*early = true;
			cctx_error(c, v->org, true, "Invalid log level %s", r);
			free(r);
			rc = -1;
			goto out;
		}
	}
	if (cp_section(fcp, "Thread") != NULL) {
		struct omap th = OMAP_INIT;

		if (get_options(c, fcp, "Thread", f2b_thread, NELEM(f2b_thread),
		        NULL, true, &th) != 0) {
			omap_cleanup(&th, pyval_free_p);
			rc = -1;
			goto out;
		}
		if (th.n > 0) {
			struct pyval *d = py_dict();

			py_append(d, py_str("stacksize", 0));
			py_append(d, py_dup(th.v[0].val));
			omap_set(&opts, "thread", d, pyval_free_p);
			if (((struct pyval *)th.v[0].val)->t == PY_INT)
				conf->server.stacksize =
				    ((struct pyval *)th.v[0].val)->i;
		}
		omap_cleanup(&th, pyval_free_p);
	}
	/* sorted() by (order, command). */
	for (int o = 0; o <= 51; o++)
		for (size_t k = 0; k < NELEM(order); k++) {
			const struct pyval *v;
			struct pyval *l;

			if (order[k].order != o)
				continue;
			v = omap_get(&opts, order[k].key);
			if (v == NULL)
				continue;
			l = py_cmd("set", order[k].key, NULL);
			py_append(l, py_dup(v));
			py_append(stream, l);
		}
	conf->server.loglevel = dup_opt(&opts, "loglevel", "INFO");
	conf->server.logtarget =
	    dup_opt(&opts, "logtarget", "/var/log/fail2ban.log");
	conf->server.syslogsocket = dup_opt(&opts, "syslogsocket", "auto");
	conf->server.socket =
	    dup_opt(&opts, "socket", "/var/run/fail2ban/fail2ban.sock");
	conf->server.pidfile =
	    dup_opt(&opts, "pidfile", "/var/run/fail2ban/fail2ban.pid");
	conf->server.allowipv6 = dup_opt(&opts, "allowipv6", "auto");
	{
		const char *db = opt_str(&opts, "dbfile");
		char *lo = db ? conf_lower(db) : NULL;

		conf->server.dbfile = (lo == NULL || strcmp(lo, "none") != 0)
		    ? xstrdup(db ? db
		              : strcmp(name, "warden") == 0
		              ? WARDEN_DEFAULT_DBFILE
		              : F2B_DEFAULT_DBFILE)
		    : NULL;
		free(lo);
	}
	{
		const struct pyval *v = omap_get(&opts, "dbmaxmatches");

		conf->server.dbmaxmatches =
		    v && v->t == PY_INT ? (int)v->i : 10;
	}
	{
		const struct pyval *v = omap_get(&opts, "dbpurgeage");
		char err[256];
		double sec = 86400;

		if (v && v->t == PY_STR &&
		    timeval_parse(v->s, &sec, NULL, err, sizeof(err)) != 0) {
			cctx_error(c, v->org, false, "dbpurgeage: %s", err);
			sec = 86400;
		}
		conf->server.dbpurgeage = sec;
	}
	{
		const char *rs = opt_str(&opts, "reportsocket");
		const char *rg = opt_str(&opts, "reportsocketgroup");
		const char *ru = opt_str(&opts, "reportusers");
		const char *rgs = opt_str(&opts, "reportgroups");

		if (rs == NULL || rs[0] == '\0')
			rs = REPORT_DEFAULT_SOCKET;
		conf->server.reportsocket =
		    strcasecmp(rs, "none") == 0 ? NULL : xstrdup(rs);
		if (conf->server.reportsocket &&
		    conf->server.reportsocket[0] != '/') {
			const struct pyval *v = omap_get(&opts, "reportsocket");

			cctx_error(c, v ? v->org : 0, false,
			    "reportsocket: '%s' is not an absolute path", rs);
		}
		conf->server.reportsocketgroup =
		    rg && rg[0] ? xstrdup(rg) : NULL;
		conf->server.reportusers = ru && ru[0] ? xstrdup(ru) : NULL;
		conf->server.reportgroups = rgs && rgs[0] ? xstrdup(rgs) : NULL;
		report_rate(c, &opts, "reportrate", &conf->server.reportrate,
		    &conf->server.reportburst);
		report_rate(c, &opts, "reporttotalrate",
		    &conf->server.reporttotalrate,
		    &conf->server.reporttotalburst);
	}
	if (!c->quiet)
		conf_check_server(c, fcp, strcmp(name, "warden") == 0);
out:
	omap_cleanup(&early_opts, pyval_free_p);
	omap_cleanup(&opts, pyval_free_p);
	return rc;
}

/* ---- loading ---- */

static void
server_defaults(struct conf_server *s)
{
	if (s->source == NULL)
		s->source = xstrdup("fail2ban");
	if (s->loglevel == NULL)
		s->loglevel = xstrdup("INFO");
	if (s->logtarget == NULL)
		s->logtarget = xstrdup("/var/log/fail2ban.log");
	if (s->syslogsocket == NULL)
		s->syslogsocket = xstrdup("auto");
	if (s->socket == NULL)
		s->socket = xstrdup("/var/run/fail2ban/fail2ban.sock");
	if (s->pidfile == NULL)
		s->pidfile = xstrdup("/var/run/fail2ban/fail2ban.pid");
	if (s->allowipv6 == NULL)
		s->allowipv6 = xstrdup("auto");
	if (s->dbmaxmatches == 0)
		s->dbmaxmatches = 10;
	if (s->dbpurgeage == 0)
		s->dbpurgeage = 86400;
}

static void
add_broken(struct conf *conf, const char *name, const char *err)
{
	conf->broken = xreallocarray(
	    conf->broken, conf->nbroken + 1, sizeof(*conf->broken));
	conf->broken[conf->nbroken].name = xstrdup(name);
	conf->broken[conf->nbroken].error = xstrdup(err ? err : "error");
	conf->nbroken++;
}

/* Starts processing jail name: errors now belong to it. */
static void
jail_begin(struct cctx *c, const char *name)
{
	c->cur_jail = name;
	free(c->jail_err);
	c->jail_err = NULL;
}

static void
jail_end(struct cctx *c, struct jailr *j)
{
	if (c->jail_err && j != NULL && j->error == NULL)
		j->error = xstrdup(c->jail_err);
	c->cur_jail = NULL;
	free(c->jail_err);
	c->jail_err = NULL;
}

/* Drops conf->jails[i] into the broken list with err. */
static void
jail_to_broken(struct conf *conf, size_t i, const char *err)
{
	add_broken(conf, conf->jails[i].name, err);
	conf_jail_cleanup(&conf->jails[i]);
	memmove(&conf->jails[i], &conf->jails[i + 1],
	    (conf->njails - i - 1) * sizeof(*conf->jails));
	conf->njails--;
}

/*
 * Aggregate jails (`jails = a, b`): every member must be another enabled
 * jail that is not an aggregate itself. A member that is disabled or
 * broken is dropped with a warning (the aggregate counts the others); an
 * unknown name, the jail itself or an aggregate is an error, and so is
 * an aggregate left without members: the jail is then broken.
 */
static void
check_members(struct cctx *c, struct conf *conf, struct jailr **jails,
    size_t njails, const struct cp *jcp)
{
	for (size_t i = 0; i < conf->njails;) {
		struct conf_jail *cj = &conf->jails[i];
		const struct pyval *v = NULL;
		uint32_t org = 0;

		if (cj->members.n == 0) {
			i++;
			continue;
		}
		for (size_t k = 0; k < njails; k++)
			if (strcmp(jails[k]->name, cj->name) == 0) {
				v = omap_get(&jails[k]->opts, "jails");
				org = v != NULL ? v->org : jails[k]->org;
			}
		jail_begin(c, cj->name);
		for (size_t m = 0; m < cj->members.n;) {
			const char *mn = cj->members.v[m];
			const struct conf_jail *mj = conf_find_jail(conf, mn);
			bool broken = false, drop = false;

			for (size_t b = 0; b < conf->nbroken; b++)
				if (strcmp(conf->broken[b].name, mn) == 0)
					broken = true;
			if (strcmp(mn, cj->name) == 0) {
				cctx_error(c, org, false,
				    "jails: an aggregate jail cannot count "
				    "itself");
			} else if (mj != NULL && mj->members.n > 0) {
				cctx_error(c, org, false,
				    "jails: '%s' is an aggregate jail itself",
				    mn);
			} else if (mj != NULL) {
				m++;
				continue;
			} else if (broken) {
				cctx_warn(c, org,
				    "[%s] member jail '%s' has errors: its "
				    "failures are not counted",
				    cj->name, mn);
				drop = true;
			} else if (jcp != NULL && cp_section(jcp, mn) != NULL) {
				cctx_warn(c, org,
				    "[%s] member jail '%s' is not enabled: its "
				    "failures are not counted",
				    cj->name, mn);
				drop = true;
			} else {
				const char **names =
				    xcalloc(conf->njails + 1, sizeof(*names));
				const char *hint;

				for (size_t k = 0; k < conf->njails; k++)
					names[k] = conf->jails[k].name;
				hint = conf_did_you_mean(mn, names);
				if (hint != NULL)
					cctx_error(c, org, false,
					    "jails: no jail '%s', did you mean "
					    "'%s'?",
					    mn, hint);
				else
					cctx_error(c, org, false,
					    "jails: no jail '%s'", mn);
				free(names);
			}
			if (drop) {
				free(cj->members.v[m]);
				memmove(&cj->members.v[m],
				    &cj->members.v[m + 1],
				    (cj->members.n - m - 1) *
				        sizeof(*cj->members.v));
				cj->members.n--;
				continue;
			}
			m++;
		}
		if (cj->members.n == 0 && c->jail_err == NULL)
			cctx_error(c, org, false,
			    "jails: no enabled member jail left to count");
		if (c->jail_err != NULL) {
			char *err = xstrdup(c->jail_err);

			jail_end(c, NULL);
			jail_to_broken(conf, i, err);
			free(err);
			continue;
		}
		jail_end(c, NULL);
		i++;
	}
}

int
conf_load(const char *dir, struct conf **out, struct diags *d)
{
	return conf_load_flags(dir, 0, out, d);
}

int
conf_load_flags(
    const char *dir, unsigned flags, struct conf **out, struct diags *d)
{
	struct cctx c;
	struct conf *conf;
	struct cp *jcp = NULL;
	struct jailr **jails = NULL;
	size_t njails = 0;
	struct pyval *stream;
	struct stat st;
	bool early = false;

	*out = NULL;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		diag_add(d, DIAG_ERROR, dir, 0,
		    "configuration directory does not exist");
		return -1;
	}
	cctx_init(&c, dir, d);
	c.flags = flags;
	conf = xcalloc(1, sizeof(*conf));
	conf->dir = xstrdup(c.basedir);
	conf->priv = xcalloc(1, sizeof(*conf->priv));
	stream = py_list();
	if (read_server(&c, conf, stream, &early) != 0 && early) {
		conf->priv->early_error = true;
	}
	server_defaults(&conf->server);

	{
		int jrc = cp_read_named(&c, "jail", &jcp);

		if (jrc == 0)
			cctx_error_file(&c, c.basedir, false,
			    "no jail.conf, jail.d/ or jail.local: no jails");
	}
	if (cp_read_named(&c, "jail", &jcp) >= 0) {
		/* Sections of the jail files with syntax errors, known
		 * before any filter or action file is read. */
		struct omap bad = OMAP_INIT;

		for (size_t i = 0; i < jcp->sections.n; i++)
			if (cp_section_has_errors(&c, jcp->sections.v[i].key))
				omap_set(
				    &bad, jcp->sections.v[i].key, NULL, NULL);
		for (size_t i = 0; i < jcp->sections.n; i++) {
			const char *sec = jcp->sections.v[i].key;
			struct jailr *j;
			int rc;

			if (starts_with(sec, "KNOWN/") ||
			    strcmp(sec, "INCLUDES") == 0)
				continue;
			j = xcalloc(1, sizeof(*j));
			j->name = xstrdup(sec);
			j->org = ((struct cpsec *)jcp->sections.v[i].val)->org;
			jail_begin(&c, j->name);
			if (omap_has(&bad, sec))
				cctx_error(&c, j->org, false,
				    "section [%s] has syntax errors", sec);
			rc = jail_get_options(&c, jcp, j);
			if (rc < 0) {
				const struct pyval *en =
				    omap_get(&j->opts, "enabled");

				j->failed = true;
				/* An error before `enabled` was known still
				 * counts against the jail. */
				j->enabled =
				    !(en && en->t == PY_BOOL && !en->b);
				if (c.jail_err == NULL)
					c.jail_err = xstrdup("error");
			}
			jail_end(&c, j);
			if (!j->enabled) {
				jailr_free(j);
				continue;
			}
			jails =
			    xreallocarray(jails, njails + 1, sizeof(*jails));
			jails[njails++] = j;
		}
		omap_cleanup(&bad, NULL);
		if (!c.quiet)
			conf_check_unknown(&c, jcp);
	}
	/* Convert every jail, then "start" lines; build typed jails. */
	for (size_t i = 0; i < njails; i++) {
		struct jailr *j = jails[i];

		if (j->failed)
			continue;
		jail_begin(&c, j->name);
		if (jail_convert(&c, j) != 0) {
			j->failed = true;
			if (c.jail_err == NULL)
				c.jail_err = xstrdup("error");
		}
		jail_end(&c, j);
	}
	for (size_t i = 0; i < njails; i++)
		if (jails[i]->stream)
			for (size_t k = 0; k < jails[i]->stream->n; k++)
				py_append(
				    stream, py_dup(jails[i]->stream->items[k]));
	for (size_t i = 0; i < njails; i++)
		if (jails[i]->config_error == NULL && jails[i]->stream)
			py_append(
			    stream, py_cmd("start", jails[i]->name, NULL));
	for (size_t i = 0; i < njails; i++) {
		struct jailr *j = jails[i];
		struct conf_jail cj;

		if (!j->failed && j->config_error == NULL) {
			jail_begin(&c, j->name);
			memset(&cj, 0, sizeof(cj));
			if (conf_build_jail(&c, j, &cj) == 0 &&
			    c.jail_err == NULL && j->error == NULL) {
				conf->jails = xreallocarray(conf->jails,
				    conf->njails + 1, sizeof(*conf->jails));
				conf->jails[conf->njails++] = cj;
			} else {
				conf_jail_cleanup(&cj);
			}
			jail_end(&c, j);
		}
		if (j->error || j->config_error || j->failed)
			add_broken(conf, j->name,
			    j->config_error ? j->config_error : j->error);
	}
	check_members(&c, conf, jails, njails, jcp);
	conf->priv->stream = stream;
	if (c.fatal)
		conf->priv->fatal = xstrdup(
		    conf->priv->early_error && c.pyfatal ? c.pyfatal : c.fatal);
	for (size_t i = 0; i < njails; i++)
		jailr_free(jails[i]);
	free(jails);
	cctx_cleanup(&c);
	*out = conf;
	return 0;
}

/* ---- fail2ban-regex's filter loading ---- */

static bool
is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return xstrdup(s ? s + 1 : p);
}

static char *
dir_name(const char *p)
{
	const char *s = strrchr(p, '/');

	if (s == NULL)
		return xstrdup("");
	if (s == p)
		return xstrdup("/");
	return xmemdup(p, (size_t)(s - p));
}

static bool
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static bool
filterish(const char *v)
{
	/* (?ms)^/{0,3}[\w/_\-.]+(?:\[.*\])?$ */
	const char *p = v;
	int slashes = 0;

	while (*p == '/' && slashes < 3) {
		p++;
		slashes++;
	}
	if (!(is_word((unsigned char)*p) || *p == '/' || *p == '-' ||
	        *p == '.'))
		return false;
	while (
	    is_word((unsigned char)*p) || *p == '/' || *p == '-' || *p == '.')
		p++;
	if (*p == '\0')
		return true;
	if (*p != '[')
		return false;
	{
		size_t n = strlen(p);

		return p[n - 1] == ']' ||
		    (n >= 2 && p[n - 1] == '\n' && p[n - 2] == ']');
	}
}

int
conf_filter_load(const char *confdir, const char *spec, const char *const *vars,
    struct filterdef *out, struct diags *d)
{
	struct cctx c;
	struct astr in = ASTR_INIT, fname = ASTR_INIT;
	struct omap fopts = OMAP_INIT, pvars = OMAP_INIT;
	char *err = NULL, *flt_file = NULL, *basedir, *name = NULL;
	const char *backend = "auto";
	struct defreader *r = NULL;
	struct pyval *stream = NULL;
	int rc = -1;
	size_t nerr0 = d->nerrors;

	cctx_init(&c, confdir, d);
	basedir = xstrdup(c.basedir);
	filterdef_cleanup(out);
	filterdef_init(out);
	astr_addstr(&in, spec, 0);
	if (vars)
		for (size_t i = 0; vars[i] && vars[i + 1]; i += 2) {
			char *k = conf_lower(vars[i]);

			omap_set(&pvars, k, astr_new(vars[i + 1], 0),
			    omap_astr_free);
			if (strcmp(k, "backend") == 0)
				backend = vars[i + 1];
			free(k);
		}
	if (!filterish(spec)) {
		diag_add(d, DIAG_ERROR, NULL, 0,
		    "'%s' is not a filter name or file", spec);
		goto out;
	}
	if (conf_extract_options(&in, &fname, &fopts, &err) != 0) {
		diag_add(d, DIAG_ERROR, NULL, 0,
		    "wrong filter name or options: %s (while parsing '%s')",
		    err, spec);
		goto out;
	}
	name = xstrdup(astr_str(&fname));
	{
		size_t n = strlen(name);
		const char *tail = n > 6 ? name + n - 6 : name;
		const char *tries[3];
		char *t1 = xasprintf("%s.conf", name);
		char *t2 = xasprintf("%s.local", name);
		size_t ntries = 0;

		tries[ntries++] = name;
		if (strchr(tail, '.') == NULL) {
			tries[ntries++] = t1;
			tries[ntries++] = t2;
		}
		for (size_t i = 0; i < ntries; i++) {
			char *f;

			if (strchr(tries[i], '/') == NULL) {
				char *bn = base_name(basedir);

				f = strcmp(bn, "filter.d") == 0
				    ? xasprintf("%s/%s", basedir, tries[i])
				    : xasprintf(
				          "%s/filter.d/%s", basedir, tries[i]);
				free(bn);
			} else {
				f = xstrdup(tries[i]);
				free(basedir);
				basedir = dir_name(f);
			}
			if (is_file(f)) {
				flt_file = f;
				break;
			}
			free(f);
		}
		free(t1);
		free(t2);
	}
	if (flt_file == NULL) {
		diag_add(d, DIAG_ERROR, NULL, 0,
		    "no filter file found for '%s'", name);
		goto out;
	}
	{
		char *bn = base_name(basedir);
		size_t n = strlen(name);
		const char *tail = n > 6 ? name + n - 6 : name;
		bool std = strcmp(basedir, c.basedir) == 0 ||
		    strcmp(bn, "filter.d") == 0 ||
		    (strchr(tail, '.') == NULL && strchr(name, '/') == NULL);
		struct cp *fcp;
		int nrc;

		if (std) {
			char *fb = base_name(name), *stem;

			if (strcmp(bn, "filter.d") == 0) {
				char *up = dir_name(basedir);

				free(basedir);
				basedir = up;
			}
			stem = strip_ext(fb);
			free(fb);
			free(c.basedir);
			c.basedir = xstrdup(basedir);
			r = defreader_new(
			    &c, false, stem, "fail2ban-regex-jail", &fopts, 0);
			free(stem);
			nrc = cp_read_named(&c, r->cfgname, &fcp);
		} else {
			struct strv one = STRV_INIT;

			char *abs = conf_abspath(name);

			r = defreader_new(
			    &c, false, abs, "fail2ban-regex-jail", &fopts, 0);
			fcp = cp_new();
			strv_add(&one, abs);
			nrc = cp_read_files(&c, fcp, &one);
			strv_cleanup(&one);
			/* Keep it owned by the context's cache. */
			{
				struct named *nm = xcalloc(1, sizeof(*nm));

				nm->cp = fcp;
				nm->rc = nrc;
				omap_set(&c.named, abs, nm, NULL);
			}
			free(abs);
		}
		free(bn);
		r->cp = fcp;
		if (nrc <= 0) {
			if (nrc == 0)
				diag_add(d, DIAG_ERROR, flt_file, 0,
				    "failed to load filter %s", spec);
			goto out;
		}
	}
	filter_auto_options(r, backend);
	stream = py_list();
	if (def_get_options(r, &pvars, false) != 0 ||
	    filter_convert(r, stream, true) != 0)
		goto out;
	free(out->name);
	out->name = xstrdup(name);
	conf_apply_filter_cmds(&c, stream, 0, out);
	if (d->nerrors == nerr0)
		rc = 0;
out:
	defreader_free(r);
	py_free(stream);
	astr_cleanup(&in);
	astr_cleanup(&fname);
	omap_cleanup(&fopts, omap_astr_free);
	omap_cleanup(&pvars, omap_astr_free);
	free(err);
	free(flt_file);
	free(basedir);
	free(name);
	cctx_cleanup(&c);
	return rc;
}
