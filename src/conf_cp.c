/*
 * fail2ban's configparser layer: SafeConfigParserWithIncludes and
 * ConfigReaderUnshared. Files are parsed once per load (ini.c) and cached;
 * [INCLUDES] lists are expanded and cached the way fail2ban does (keyed by
 * the file list, so include loops resolve identically); merged parsers are
 * shared by name ("filter.d/sshd"). Interpolation follows
 * BasicInterpolation._interpolate_some with fail2ban's additions
 * (%(__name__)s and %(sec/opt)s mapping at every level), with caps on
 * result size and work so hostile input fails cleanly.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_int.h"
#include "nft.h"
#include "sbuf.h"
#include "xmalloc.h"

#define MAX_INTERP_DEPTH 10     /* configparser's MAX_INTERPOLATION_DEPTH */
#define MAX_INTERP_OPS   200000 /* substitutions per value */

/* ---- parsers ---- */

static void
cpsec_free(void *p)
{
	struct cpsec *s = p;

	if (s == NULL)
		return;
	omap_cleanup(&s->opts, omap_astr_free);
	free(s);
}

struct cp *
cp_new(void)
{
	return xcalloc(1, sizeof(struct cp));
}

void
cp_free(struct cp *cp)
{
	if (cp == NULL)
		return;
	omap_cleanup(&cp->defaults, omap_astr_free);
	omap_cleanup(&cp->sections, cpsec_free);
	free(cp);
}

struct cpsec *
cp_section(const struct cp *cp, const char *name)
{
	return omap_get(&cp->sections, name);
}

struct cpsec *
cp_add_section(struct cp *cp, const char *name, uint32_t org)
{
	struct cpsec *s = cp_section(cp, name);

	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->org = org;
		omap_set(&cp->sections, name, s, cpsec_free);
	}
	return s;
}

/* ---- paths as Python's os.path ---- */

static bool
has_magic(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* os.path.join(a, b) */
static char *
py_join(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (b[0] == '/' || n == 0)
		return xstrdup(b);
	if (a[n - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

/* os.path.split(p): head (new) and tail (points into p). */
static char *
py_split(const char *p, const char **tail)
{
	const char *slash = strrchr(p, '/');
	size_t i = slash ? (size_t)(slash - p) + 1 : 0;
	size_t h = i;

	*tail = p + i;
	/* Strip trailing slashes from head unless it is all slashes. */
	if (h > 0 && strspn(p, "/") < h)
		while (h > 0 && p[h - 1] == '/')
			h--;
	return xmemdup(p, h);
}

static char *
py_dirname(const char *p)
{
	const char *tail;

	return py_split(p, &tail);
}

static bool
path_lexists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static bool
path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static bool
path_isdir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool
path_isfile(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- fnmatch and glob as Python's ---- */

/* Decodes one UTF-8 code point at *p (advancing it). */
static uint32_t
next_cp(const char **p)
{
	const unsigned char *u = (const unsigned char *)*p;
	uint32_t c = u[0];
	size_t n = 1;

	if (c >= 0xf0 && u[1] && u[2] && u[3]) {
		c = ((c & 7u) << 18) | ((u[1] & 63u) << 12) |
		    ((u[2] & 63u) << 6) | (u[3] & 63u);
		n = 4;
	} else if (c >= 0xe0 && u[1] && u[2]) {
		c = ((c & 15u) << 12) | ((u[1] & 63u) << 6) | (u[2] & 63u);
		n = 3;
	} else if (c >= 0xc0 && u[1]) {
		c = ((c & 31u) << 6) | (u[1] & 63u);
		n = 2;
	}
	*p += n;
	return c;
}

/*
 * Matches a '[...]' class at *pp (pointing after '[') against c. Returns
 * 1/0 for a match, or -1 when there is no closing ']' (then '[' is a
 * literal). Advances *pp past the class.
 */
static int
match_class(const char **pp, uint32_t c)
{
	const char *p = *pp, *q = p;
	bool neg = false, hit = false;

	if (*q == '!')
		q++;
	if (*q == ']')
		q++;
	while (*q && *q != ']')
		q++;
	if (*q == '\0')
		return -1;
	if (*p == '!') {
		neg = true;
		p++;
	}
	/* Empty class "[]" cannot happen (']' right after '[' is taken as
	 * a member); "[!]" matches any character. */
	while (p < q) {
		uint32_t lo = next_cp(&p), hi = lo;

		if (*p == '-' && p + 1 < q) {
			p++;
			hi = next_cp(&p);
		}
		if (lo <= c && c <= hi)
			hit = true;
	}
	*pp = q + 1;
	return neg ? !hit : hit;
}

static bool
fnmatch_py(const char *pat, const char *s, int depth)
{
	if (depth > 64)
		return false;
	while (*pat) {
		if (*pat == '*') {
			while (*pat == '*')
				pat++;
			if (*pat == '\0')
				return true;
			for (const char *t = s;;) {
				if (fnmatch_py(pat, t, depth + 1))
					return true;
				if (*t == '\0')
					return false;
				next_cp(&t);
			}
		}
		if (*s == '\0')
			return false;
		if (*pat == '?') {
			pat++;
			next_cp(&s);
			continue;
		}
		if (*pat == '[') {
			const char *pp = pat + 1;
			const char *ss = s;
			uint32_t c = next_cp(&ss);
			int r = match_class(&pp, c);

			if (r == 0)
				return false;
			if (r == 1) {
				pat = pp;
				s = ss;
				continue;
			}
			/* No closing ']': a literal '['. */
		}
		{
			const char *pp = pat, *ss = s;

			if (next_cp(&pp) != next_cp(&ss))
				return false;
			pat = pp;
			s = ss;
		}
	}
	return *s == '\0';
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* os.scandir order, hidden names dropped unless the pattern is hidden. */
static void
glob1(const char *dir, const char *pattern, bool dironly, struct strv *out)
{
	DIR *dp = opendir(dir[0] ? dir : ".");
	struct dirent *de;

	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		const char *name = de->d_name;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (name[0] == '.' && pattern[0] != '.')
			continue;
		if (dironly) {
			char *full = py_join(dir, name);
			bool isdir = path_isdir(full);

			free(full);
			if (!isdir)
				continue;
		}
		if (fnmatch_py(pattern, name, 0))
			strv_add(out, name);
	}
	closedir(dp);
}

static void
iglob(const char *pathname, bool dironly, struct strv *out, int depth)
{
	const char *base;
	char *dir = py_split(pathname, &base);
	struct strv dirs = STRV_INIT;

	if (depth > 64)
		goto out;
	if (!has_magic(pathname)) {
		if (base[0] ? path_lexists(pathname) : path_isdir(dir))
			strv_add(out, pathname);
		goto out;
	}
	if (dir[0] == '\0') {
		glob1("", base, dironly, out);
		goto out;
	}
	if (strcmp(dir, pathname) != 0 && has_magic(dir))
		iglob(dir, true, &dirs, depth + 1);
	else
		strv_add(&dirs, dir);
	for (size_t i = 0; i < dirs.n; i++) {
		struct strv names = STRV_INIT;

		if (has_magic(base)) {
			glob1(dirs.v[i], base, dironly, &names);
		} else if (base[0]) {
			char *full = py_join(dirs.v[i], base);

			if (path_lexists(full))
				strv_add(&names, base);
			free(full);
		} else if (path_isdir(dirs.v[i])) {
			strv_add(&names, "");
		}
		for (size_t k = 0; k < names.n; k++)
			strv_take(out, py_join(dirs.v[i], names.v[k]));
		strv_cleanup(&names);
	}
out:
	strv_cleanup(&dirs);
	free(dir);
}

void
conf_glob(const char *pattern, struct strv *out)
{
	iglob(pattern, false, out, 0);
}

void
conf_glob_sorted(const char *pattern, struct strv *out)
{
	size_t from = out->n;

	conf_glob(pattern, out);
	if (out->n - from > 1)
		qsort(out->v + from, out->n - from, sizeof(char *), cmp_str);
}

bool
conf_path_exists(const char *p)
{
	return path_exists(p);
}

char *
conf_py_join(const char *a, const char *b)
{
	return py_join(a, b);
}

char *
conf_abspath(const char *p)
{
	char cwd[4096];
	char *full;
	struct strv parts = STRV_INIT;
	struct sbuf out = SBUF_INIT;
	const char *s;

	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		full = xstrdup(p);
	else
		full = py_join(cwd, p);
	/* os.path.normpath */
	for (s = full; *s;) {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* skip */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (parts.n > 0) {
				free(parts.v[--parts.n]);
				parts.v[parts.n] = NULL;
			}
		} else {
			strv_take(&parts, xmemdup(s, n));
		}
		s += n;
		while (*s == '/')
			s++;
	}
	for (size_t i = 0; i < parts.n; i++) {
		sbuf_addch(&out, '/');
		sbuf_addstr(&out, parts.v[i]);
	}
	if (out.len == 0)
		sbuf_addch(&out, '/');
	strv_cleanup(&parts);
	free(full);
	return sbuf_detach(&out);
}

/* ---- single files ---- */

/* Converts one ini option into an annotated string. */
static struct astr *
opt_to_astr(struct cctx *c, const char *file, const struct ini_opt *o)
{
	struct astr *a = xcalloc(1, sizeof(*a));
	const char *p = o->value;

	astr_add(a, "", NULL, 0, 0);
	a->korg = cctx_origin(c, file, o->line);
	for (size_t i = 0; i < o->nlines; i++) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		uint32_t org = cctx_origin(c, file, o->lines[i]);

		if (i > 0)
			astr_add(a, "\n", NULL, 1, org);
		astr_add(a, p, NULL, n, org);
		p += n;
		if (*p == '\n')
			p++;
	}
	return a;
}

static void
section_to_map(struct cctx *c, const char *file, const struct ini_section *s,
    struct omap *m)
{
	for (size_t i = 0; i < s->nopts; i++)
		omap_set(m, s->opts[i].key, opt_to_astr(c, file, &s->opts[i]),
		    omap_astr_free);
}

/*
 * Warden's built-in action files (nft_builtin.c): the text standing in
 * for path when path is BASEDIR/action.d/NAME.conf of one of them and no
 * such file exists; else NULL.
 */
static const char *
builtin_text(const struct cctx *c, const char *path)
{
	size_t n = strlen(c->basedir);
	const char *rel = path + n;

	if (n == 0 || strncmp(path, c->basedir, n) != 0)
		return NULL;
	if (*rel == '/')
		rel++;
	else if (c->basedir[n - 1] != '/')
		return NULL;
	if (nft_builtin_file(rel) == NULL || path_lexists(path))
		return NULL;
	return nft_builtin_file(rel);
}

/* Parses path once per load; returns the cache entry. */
static struct parsed *
shared_parse(struct cctx *c, const char *path)
{
	struct parsed *p = omap_get(&c->parsed, path);
	struct ini_file *f = NULL;
	struct diags tmp = DIAGS_INIT;
	const char *builtin = builtin_text(c, path);

	if (p != NULL)
		return p;
	p = xcalloc(1, sizeof(*p));
	omap_set(&c->parsed, path, p, NULL);
	if (++c->nfiles > CONF_MAX_FILES) {
		if (c->nfiles == CONF_MAX_FILES + 1)
			cctx_error_file(c, path, true,
			    "too many configuration files (limit %d)",
			    CONF_MAX_FILES);
		p->st = INI_BADFILE;
		return p;
	}
	if (builtin != NULL)
		p->st = ini_parse(path, builtin, strlen(builtin),
		    CONF_MAX_LINE_LEN, &f, &tmp);
	else
		p->st = ini_load(
		    path, CONF_MAX_FILE_SIZE, CONF_MAX_LINE_LEN, &f, &tmp);
	for (size_t i = 0; i < tmp.n; i++) {
		uint32_t org = cctx_origin(c, path, tmp.v[i].line);

		/* configparser raises on syntax errors (fatal for
		 * fail2ban); undecodable files are skipped with an error. */
		cctx_error(c, org, p->st == INI_SYNTAX, "%s", tmp.v[i].msg);
		if (i == 0 && f != NULL && f->pyerr != NULL)
			cctx_set_py(c, f->pyerr);
	}
	diags_cleanup(&tmp);
	if (f == NULL)
		return p;
	for (size_t i = 0; i < f->nbad; i++)
		strv_add(&p->bad, f->bad[i]);
	p->cp = cp_from_ini(c, f);
	ini_free(f);
	return p;
}

struct cp *
cp_from_ini(struct cctx *c, const struct ini_file *f)
{
	struct cp *cp = cp_new();

	section_to_map(c, f->path, &f->defaults, &cp->defaults);
	for (size_t i = 0; i < f->nsecs; i++) {
		struct cpsec *s = cp_add_section(cp, f->secs[i].name,
		    cctx_origin(c, f->path, f->secs[i].line));

		section_to_map(c, f->path, &f->secs[i], &s->opts);
	}
	return cp;
}

/* ---- [INCLUDES] ---- */

/* _expandConfFilesWithLocal */
static void
expand_local(const struct strv *in, struct strv *out)
{
	for (size_t i = 0; i < in->n; i++) {
		const char *f = in->v[i];
		const char *slash = strrchr(f, '/');
		const char *base = slash ? slash + 1 : f;
		const char *dot = NULL;
		char *local;

		strv_add(out, f);
		/* splitext: the last '.' of the base name, leading dots of
		 * the base name do not count. */
		for (const char *q = base; *q == '.'; q++)
			base = q + 1;
		dot = strrchr(base, '.');
		if (dot == NULL)
			local = xasprintf("%s.local", f);
		else
			local = xasprintf("%.*s.local", (int)(dot - f), f);
		if (strv_find(in, local) < 0 && path_isfile(local))
			strv_take(out, local);
		else
			free(local);
	}
}

static int get_includes(struct cctx *c, const struct strv *names,
    const struct strv *seen, struct strv *out, int depth);

static int
includes_uncached(struct cctx *c, const char *resource, const struct strv *seen,
    struct strv *out, int depth)
{
	struct parsed *p = shared_parse(c, resource);
	static const char *const which[2] = {"before", "after"};
	struct strv lists[2] = {STRV_INIT, STRV_INIT};
	char *dir;
	int rc = 0;

	if (p->cp == NULL)
		return 0;
	dir = py_dirname(resource);
	if (cp_section(p->cp, "INCLUDES") != NULL) {
		for (int w = 0; w < 2 && rc == 0; w++) {
			struct astr val = ASTR_INIT;
			const char *s, *nl;

			if (!cp_has_option(p->cp, "INCLUDES", which[w], true))
				continue;
			if (cp_get(c, p->cp, "INCLUDES", which[w], false, NULL,
			        &val, NULL) != CP_OK) {
				astr_cleanup(&val);
				rc = -1;
				break;
			}
			for (s = astr_str(&val);; s = nl + 1) {
				char *item, *r;
				struct strv one = STRV_INIT, s2 = STRV_INIT;

				nl = strchr(s, '\n');
				item = nl ? xmemdup(s, (size_t)(nl - s))
				          : xstrdup(s);
				r = item[0] == '/' ? xstrdup(item)
				                   : py_join(dir, item);
				if (strv_find(seen, r) < 0) {
					uint32_t org = val.len
					    ? astr_org_at(
					          &val, (size_t)(s - val.s))
					    : 0;

					/* A named include that does not
					 * exist is ignored by fail2ban;
					 * we flag it unless it is one of
					 * the optional .local files. */
					if (item[0] && !path_exists(r) &&
					    !(strlen(r) > 6 &&
					        strcmp(r + strlen(r) - 6,
					            ".local") == 0))
						cctx_error(c, org, false,
						    "missing include '%s' "
						    "(%s)",
						    item, r);
					strv_copy(&s2, seen);
					strv_add(&s2, resource);
					strv_add(&one, r);
					if (get_includes(c, &one, &s2,
					        &lists[w], depth + 1) != 0)
						rc = -1;
				}
				strv_cleanup(&one);
				strv_cleanup(&s2);
				free(item);
				free(r);
				if (nl == NULL || rc != 0)
					break;
			}
			astr_cleanup(&val);
		}
	}
	if (rc == 0) {
		strv_extend(out, &lists[0]);
		strv_add(out, resource);
		strv_extend(out, &lists[1]);
	}
	strv_cleanup(&lists[0]);
	strv_cleanup(&lists[1]);
	free(dir);
	return rc;
}

static int
get_includes(struct cctx *c, const struct strv *names, const struct strv *seen,
    struct strv *out, int depth)
{
	struct strv exp = STRV_INIT;
	struct sbuf key = SBUF_INIT;
	struct strv *cached, *full;
	int rc = 0;

	expand_local(names, &exp);
	sbuf_addstr(&key, "inc-path:");
	for (size_t i = 0; i < exp.n; i++) {
		if (i)
			sbuf_addch(&key, '\x01');
		sbuf_addstr(&key, exp.v[i]);
	}
	cached = omap_get(&c->incpath, sbuf_str(&key));
	if (cached != NULL) {
		strv_extend(out, cached);
		goto out;
	}
	if (depth > CONF_MAX_INCLUDE_DEPTH) {
		cctx_error_file(c, exp.n ? exp.v[0] : NULL, true,
		    "includes nested too deeply (limit %d)",
		    CONF_MAX_INCLUDE_DEPTH);
		rc = -1;
		goto out;
	}
	full = xcalloc(1, sizeof(*full));
	for (size_t i = 0; i < exp.n && rc == 0; i++)
		rc = includes_uncached(c, exp.v[i], seen, full, depth);
	strv_extend(out, full);
	omap_set(&c->incpath, sbuf_str(&key), full, NULL);
out:
	sbuf_cleanup(&key);
	strv_cleanup(&exp);
	return rc;
}

/* ---- merging ---- */

void
cp_merge_section(struct cp *cp, const char *section, const struct omap *opts,
    const char *pref)
{
	struct cpsec *s = cp_add_section(cp, section, 0);
	size_t np = pref ? strlen(pref) : 0;

	for (size_t i = 0; i < opts->n; i++) {
		const char *k = opts->v[i].key;
		const struct astr *v = opts->v[i].val;
		char *key;

		if (np &&
		    (strncmp(k, pref, np) == 0 || strcmp(k, "__name__") == 0))
			continue;
		key = np ? xasprintf("%s%s", pref, k) : xstrdup(k);
		omap_set(&s->opts, key, v ? astr_dup(v) : NULL, omap_astr_free);
		free(key);
	}
}

static void
merge_file(struct cp *cp, const struct cp *f)
{
	omap_copy_astr(&cp->defaults, &f->defaults);
	for (size_t i = 0; i < f->sections.n; i++) {
		const char *n = f->sections.v[i].key;
		const struct cpsec *fs = f->sections.v[i].val;
		size_t blen = conf_conditional(n);
		struct omap s = OMAP_INIT;
		char *name = blen ? xmemdup(n, blen) : xstrdup(n);
		struct cpsec *s2;

		if (blen) {
			/* [Init?family=inet6]: options renamed
			 * "opt?family=inet6", merged into [Init]. */
			for (size_t k = 0; k < fs->opts.n; k++) {
				char *key = xasprintf(
				    "%s%s", fs->opts.v[k].key, n + blen);
				const struct astr *v = fs->opts.v[k].val;

				omap_set(&s, key, v ? astr_dup(v) : NULL,
				    omap_astr_free);
				free(key);
			}
		} else {
			omap_copy_astr(&s, &fs->opts);
		}
		s2 = cp_section(cp, name);
		if (s2 != NULL) {
			struct omap known = OMAP_INIT;
			char *kn = xasprintf("KNOWN/%s", name);

			for (size_t k = 0; k < s2->opts.n; k++) {
				const struct astr *v = s2->opts.v[k].val;

				if (omap_has(&s, s2->opts.v[k].key))
					omap_set(&known, s2->opts.v[k].key,
					    v ? astr_dup(v) : NULL,
					    omap_astr_free);
			}
			cp_merge_section(cp, kn, &known, "");
			omap_cleanup(&known, omap_astr_free);
			free(kn);
			/* s2 may have moved: KNOWN/ was maybe added. */
			s2 = cp_section(cp, name);
			for (size_t k = 0; k < s.n; k++) {
				omap_set(&s2->opts, s.v[k].key, s.v[k].val,
				    omap_astr_free);
				s.v[k].val = NULL;
			}
		} else {
			s2 = cp_add_section(cp, name, fs->org);
			for (size_t k = 0; k < s.n; k++) {
				omap_set(&s2->opts, s.v[k].key, s.v[k].val,
				    omap_astr_free);
				s.v[k].val = NULL;
			}
		}
		omap_cleanup(&s, omap_astr_free);
		free(name);
	}
}

int
cp_read_files(struct cctx *c, struct cp *cp, const struct strv *names)
{
	struct strv full = STRV_INIT, seen = STRV_INIT;
	int n = 0;

	if (get_includes(c, names, &seen, &full, 0) != 0) {
		strv_cleanup(&full);
		return -1;
	}
	for (size_t i = 0; i < full.n; i++) {
		struct parsed *p = shared_parse(c, full.v[i]);

		if (p->cp == NULL)
			continue;
		merge_file(cp, p->cp);
		n++;
	}
	strv_cleanup(&full);
	return n;
}

int
cp_read_named(struct cctx *c, const char *name, struct cp **out)
{
	struct named *nm = omap_get(&c->named, name);
	struct strv cand = STRV_INIT, files = STRV_INIT;
	char *base, *pat;
	size_t before;
	int n;

	if (nm != NULL) {
		*out = nm->cp;
		return nm->rc;
	}
	nm = xcalloc(1, sizeof(*nm));
	nm->cp = cp_new();
	omap_set(&c->named, name, nm, NULL);
	*out = nm->cp;

	before = c->nerr;
	base = py_join(c->basedir, name);
	strv_take(&cand, xasprintf("%s.conf", base));
	pat = xasprintf("%s.d/*.conf", base);
	conf_glob_sorted(pat, &cand);
	free(pat);
	strv_take(&cand, xasprintf("%s.local", base));
	pat = xasprintf("%s.d/*.local", base);
	conf_glob_sorted(pat, &cand);
	free(pat);
	for (size_t i = 0; i < cand.n; i++)
		if (path_exists(cand.v[i]) || builtin_text(c, cand.v[i]))
			strv_add(&files, cand.v[i]);
	if (files.n == 0) {
		nm->rc = 0;
		goto out;
	}
	n = cp_read_files(c, nm->cp, &files);
	if (n < 0) {
		nm->rc = -1;
		goto out;
	}
	for (size_t i = 0; i < files.n; i++) {
		struct parsed *p = omap_get(&c->parsed, files.v[i]);

		if (p == NULL || p->st == INI_UNREADABLE)
			cctx_error_file(
			    c, files.v[i], false, "could not read config file");
	}
	nm->rc = n > 0 ? 1 : 0;
out:
	if (c->nerr != before && c->last_err)
		nm->err = xstrdup(c->last_err);
	free(base);
	strv_cleanup(&cand);
	strv_cleanup(&files);
	return nm->rc;
}

/* ---- interpolation ---- */

bool
cp_has_option(const struct cp *cp, const char *section, const char *option,
    bool with_default)
{
	const struct cpsec *s;
	char *lo;
	bool r;

	if (!with_default) {
		s = cp_section(cp, section);
		return s != NULL && omap_has(&s->opts, option);
	}
	lo = conf_lower(option);
	if (strcmp(section, "DEFAULT") == 0 || section[0] == '\0') {
		r = omap_has(&cp->defaults, lo);
	} else {
		s = cp_section(cp, section);
		r = s != NULL &&
		    (omap_has(&s->opts, lo) || omap_has(&cp->defaults, lo));
	}
	free(lo);
	return r;
}

/* One level of _interpolate_some: its additions to the lookup map. */
struct level {
	struct omap add; /* key -> const struct astr * (borrowed) */
	const struct level *up;
};

struct interp {
	struct cctx *c;
	const struct cp *cp;
	const char *section;
	const char *option;
	const struct omap *vars;
	const struct omap *sect; /* may be NULL (DEFAULT) */
	struct astr name;        /* __name__ */
	struct astr *accum;
	size_t ops;
	bool failed;
};

static bool
is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

/* Looks var up through the chain; *found tells presence (value may be
 * NULL for None). */
static const struct astr *
chain_get(const struct interp *in, const struct level *lv, const char *var,
    bool *found)
{
	long i;

	*found = true;
	if (strcmp(var, "__name__") == 0)
		return &in->name;
	if (in->vars && (i = omap_find(in->vars, var)) >= 0)
		return in->vars->v[i].val;
	for (; lv; lv = lv->up)
		if ((i = omap_find(&lv->add, var)) >= 0)
			return lv->add.v[i].val;
	if (in->sect && (i = omap_find(in->sect, var)) >= 0)
		return in->sect->v[i].val;
	if ((i = omap_find(&in->cp->defaults, var)) >= 0)
		return in->cp->defaults.v[i].val;
	*found = false;
	return NULL;
}

/* _map_section_options: adds %(sec/opt)s values found in rest. */
static void
map_section_options(
    struct interp *in, struct level *lv, const char *rest, size_t n)
{
	const char *p = rest, *end = rest + n;

	if (memchr(rest, '/', n) == NULL)
		return;
	while (p + 4 < end) {
		const char *s, *slash, *o, *close;
		char *sopt, *sec, *opt;
		const struct astr *v = NULL;
		bool found, usedef = false, have = false;

		if (!(p[0] == '%' && p[1] == '(')) {
			p++;
			continue;
		}
		s = p + 2;
		slash = s;
		while (slash < end &&
		    (is_word_byte((unsigned char)*slash) || *slash == '-'))
			slash++;
		if (slash == s || slash >= end || *slash != '/') {
			p++;
			continue;
		}
		o = slash + 1;
		close = o;
		while (close < end && *close != ')')
			close++;
		if (close == o || close + 1 >= end || close[1] != 's') {
			p++;
			continue;
		}
		sopt = xmemdup(s, (size_t)(close - s));
		sec = xmemdup(s, (size_t)(slash - s));
		opt = xmemdup(o, (size_t)(close - o));
		p = close + 2;
		chain_get(in, lv, sopt, &found);
		if (!found) {
			char *seclwr = conf_lower(sec);

			if (strcmp(seclwr, "default") == 0) {
				usedef = true;
			} else if (strcmp(seclwr, "known") == 0) {
				char *kn = xasprintf("KNOWN/%s", in->section);
				const struct cpsec *ks = cp_section(in->cp, kn);
				long i = ks ? omap_find(&ks->opts, opt) : -1;

				free(kn);
				if (i >= 0) {
					v = ks->opts.v[i].val;
					have = true;
				} else {
					usedef = true;
				}
			} else {
				const struct cpsec *ss =
				    cp_section(in->cp, sec);

				if (ss != NULL) {
					long i = omap_find(&ss->opts, opt);

					if (i >= 0) {
						v = ss->opts.v[i].val;
						have = true;
					} else {
						usedef = true;
					}
				}
			}
			if (usedef) {
				long i = omap_find(&in->cp->defaults, opt);

				if (i >= 0) {
					v = in->cp->defaults.v[i].val;
					have = true;
				}
			}
			free(seclwr);
			if (have)
				omap_set(&lv->add, sopt, (void *)v, NULL);
		}
		free(sopt);
		free(sec);
		free(opt);
	}
}

/* repr() of at most 60 bytes of s (whole characters), for messages. */
static char *
short_repr(const char *s, size_t n)
{
	struct sbuf b = SBUF_INIT;
	size_t k = n > 60 ? 60 : n;
	char *t;

	while (k < n && k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	t = xmemdup(s, k);
	py_repr_str(t, &b);
	if (k < n)
		sbuf_addstr(&b, "...");
	free(t);
	return sbuf_detach(&b);
}

/* The raw value Python names in its interpolation errors. */
static void
py_rawval(const struct interp *in, const char *rest, size_t n, struct sbuf *b)
{
	long i = -1;
	const struct astr *v = NULL;

	if (in->sect && (i = omap_find(in->sect, in->option)) >= 0)
		v = in->sect->v[i].val;
	else if ((i = omap_find(&in->cp->defaults, in->option)) >= 0)
		v = in->cp->defaults.v[i].val;
	if (i >= 0 && v != NULL) {
		py_repr_str(astr_str(v), b);
	} else {
		char *t = xmemdup(rest, n);

		py_repr_str(t, b);
		free(t);
	}
}

enum py_interp_err { PYE_MISSING, PYE_BADREF, PYE_PERCENT, PYE_DEPTH };

/* Records configparser's exception text for an interpolation error. */
static void
interp_py(struct interp *in, enum py_interp_err kind, const char *var,
    const char *rest, size_t n)
{
	struct sbuf b = SBUF_INIT;
	char *t;

	switch (kind) {
	case PYE_MISSING:
		sbuf_addstr(&b, "Bad value substitution: option ");
		py_repr_str(in->option, &b);
		sbuf_addstr(&b, " in section ");
		py_repr_str(in->section, &b);
		sbuf_addstr(&b, " contains an interpolation key ");
		py_repr_str(var, &b);
		sbuf_addstr(
		    &b, " which is not a valid option name. Raw value: ");
		py_rawval(in, rest, n, &b);
		break;
	case PYE_BADREF:
	case PYE_PERCENT:
		sbuf_addstr(&b,
		    kind == PYE_BADREF
		        ? "bad interpolation variable reference "
		        : "'%' must be followed by '%' or '(', found: ");
		t = xmemdup(rest, n);
		py_repr_str(t, &b);
		free(t);
		break;
	case PYE_DEPTH:
		sbuf_addstr(&b,
		    "Recursion limit exceeded in value "
		    "substitution: option ");
		py_repr_str(in->option, &b);
		sbuf_addstr(&b, " in section ");
		py_repr_str(in->section, &b);
		sbuf_printf(&b,
		    " contains an interpolation key which cannot "
		    "be substituted in %d steps. Raw value: ",
		    MAX_INTERP_DEPTH);
		py_rawval(in, rest, n, &b);
		break;
	}
	cctx_set_py(in->c, sbuf_str(&b));
	sbuf_cleanup(&b);
}

static void interp_fail(struct interp *in, uint32_t org, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
interp_fail(struct interp *in, uint32_t org, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (in->failed)
		return;
	in->failed = true;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	cctx_error(in->c, org, true, "%s (option '%s' in section '%s')", msg,
	    in->option, in->section);
	free(msg);
}

static void
interp_some(struct interp *in, const char *rest, const uint32_t *org, size_t n,
    const struct level *up, int depth)
{
	struct level lv = {OMAP_INIT, up};
	size_t i = 0;

	if (depth > MAX_INTERP_DEPTH) {
		interp_fail(in, n ? org[0] : 0,
		    "recursion limit exceeded in value substitution: "
		    "more than %d nested %%(name)s",
		    MAX_INTERP_DEPTH);
		interp_py(in, PYE_DEPTH, NULL, rest, n);
		return;
	}
	if (memchr(rest, '%', n) && memchr(rest, '(', n))
		map_section_options(in, &lv, rest, n);
	while (i < n && !in->failed) {
		const char *pct = memchr(rest + i, '%', n - i);
		size_t p;

		if (pct == NULL) {
			astr_add(in->accum, rest + i, org + i, n - i, 0);
			break;
		}
		p = (size_t)(pct - rest);
		if (p > i)
			astr_add(in->accum, rest + i, org + i, p - i, 0);
		i = p;
		if (in->accum->len > CONF_MAX_VALUE_LEN ||
		    ++in->ops > MAX_INTERP_OPS) {
			interp_fail(in, org[i],
			    "value too large after interpolation (limit %d "
			    "bytes, %d substitutions)",
			    CONF_MAX_VALUE_LEN, MAX_INTERP_OPS);
			break;
		}
		if (i + 1 < n && rest[i + 1] == '%') {
			astr_add(in->accum, "%", org + i, 1, 0);
			i += 2;
		} else if (i + 1 < n && rest[i + 1] == '(') {
			const char *close =
			    memchr(rest + i + 2, ')', n - i - 2);
			size_t ce;
			char *var, *raw;
			const struct astr *v;
			bool found;

			if (close == NULL || close == rest + i + 2 ||
			    (size_t)(close - rest) + 1 >= n ||
			    close[1] != 's') {
				char *r = short_repr(rest + i, n - i);

				interp_fail(in, org[i],
				    "bad interpolation variable reference %s",
				    r);
				interp_py(
				    in, PYE_BADREF, NULL, rest + i, n - i);
				free(r);
				break;
			}
			ce = (size_t)(close - rest);
			raw = xmemdup(rest + i + 2, ce - i - 2);
			var = conf_lower(raw);
			free(raw);
			v = chain_get(in, &lv, var, &found);
			if (!found || v == NULL) {
				interp_fail(in, org[i],
				    "bad value substitution: '%%(%s)s' is not "
				    "defined",
				    var);
				interp_py(in, PYE_MISSING, var, rest, n);
				free(var);
				break;
			}
			free(var);
			if (v->len && memchr(v->s, '%', v->len))
				interp_some(
				    in, v->s, v->o, v->len, &lv, depth + 1);
			else if (v->len)
				astr_add(in->accum, v->s, v->o, v->len, 0);
			i = ce + 2;
		} else {
			char *r = short_repr(rest + i, n - i);

			interp_fail(in, org[i],
			    "'%%' must be followed by '%%' or '(', found: %s",
			    r);
			interp_py(in, PYE_PERCENT, NULL, rest + i, n - i);
			free(r);
			break;
		}
	}
	omap_cleanup(&lv.add, NULL);
}

enum cp_rc
cp_get(struct cctx *c, const struct cp *cp, const char *section,
    const char *option, bool raw, const struct omap *vars, struct astr *out,
    bool *is_none)
{
	const struct cpsec *s = NULL;
	const struct astr *v = NULL;
	char *opt;
	long i;
	bool found = false;
	struct interp in;

	if (is_none)
		*is_none = false;
	if (strcmp(section, "DEFAULT") != 0) {
		s = cp_section(cp, section);
		if (s == NULL)
			return CP_NOSECTION;
	}
	opt = conf_lower(option);
	if (vars && (i = omap_find(vars, opt)) >= 0) {
		v = vars->v[i].val;
		found = true;
	} else if (s && (i = omap_find(&s->opts, opt)) >= 0) {
		v = s->opts.v[i].val;
		found = true;
	} else if ((i = omap_find(&cp->defaults, opt)) >= 0) {
		v = cp->defaults.v[i].val;
		found = true;
	}
	if (!found) {
		free(opt);
		return CP_NOOPTION;
	}
	if (v == NULL) {
		if (is_none)
			*is_none = true;
		free(opt);
		return CP_OK;
	}
	if (raw || v->len == 0 || memchr(v->s, '%', v->len) == NULL) {
		astr_addastr(out, v);
		free(opt);
		return CP_OK;
	}
	memset(&in, 0, sizeof(in));
	in.c = c;
	in.cp = cp;
	in.section = section;
	in.option = opt;
	in.vars = vars;
	in.sect = s ? &s->opts : NULL;
	astr_addstr(&in.name, section, s ? s->org : 0);
	in.accum = out;
	interp_some(&in, v->s, v->o, v->len, NULL, 1);
	astr_cleanup(&in.name);
	free(opt);
	if (in.failed)
		return CP_ERROR;
	/* Keep the string allocated even when empty. */
	astr_add(out, "", NULL, 0, 0);
	return CP_OK;
}

static bool
match_secopt(const char *option, char **sec, char **opt)
{
	const char *p = option, *slash;

	while (is_word_byte((unsigned char)*p) || *p == '-')
		p++;
	if (p == option || *p != '/')
		return false;
	slash = p;
	p++;
	if (*p == '\0')
		return false;
	for (const char *q = p; *q; q++) {
		size_t k = ini_space_len(q, q + strlen(q));

		if (*q == '>' || k > 0)
			return false;
	}
	*sec = xmemdup(option, (size_t)(slash - option));
	*opt = xstrdup(p);
	return true;
}

enum cp_rc
cp_get_ex(struct cctx *c, const struct cp *cp, const char *section,
    const char *option, const struct omap *vars, struct astr *out,
    bool *is_none)
{
	char *sec = NULL, *opt = NULL;

	if (strchr(option, '/') && match_secopt(option, &sec, &opt)) {
		char *lw = conf_lower(sec);
		char *try[2] = {NULL, NULL};
		enum cp_rc rc = CP_NOOPTION;

		if (strcmp(lw, "known") == 0) {
			try[0] = xasprintf("KNOWN/%s", section);
			try[1] = xstrdup(section);
		} else if (strcmp(lw, "default") == 0) {
			try[0] = xstrdup("DEFAULT");
		} else {
			try[0] = xstrdup(sec);
		}
		for (int k = 0; k < 2 && try[k]; k++) {
			rc = cp_get(
			    c, cp, try[k], opt, false, NULL, out, is_none);
			if (rc == CP_OK || rc == CP_ERROR)
				break;
		}
		free(try[0]);
		free(try[1]);
		free(lw);
		free(sec);
		free(opt);
		if (rc == CP_OK || rc == CP_ERROR)
			return rc;
	}
	return cp_get(c, cp, section, option, false, vars, out, is_none);
}

void
cp_collect_refs(const struct cp *cp, struct omap *refs)
{
	for (size_t si = 0; si <= cp->sections.n; si++) {
		const struct omap *m;

		if (si == cp->sections.n)
			m = &cp->defaults;
		else
			m = &((const struct cpsec *)cp->sections.v[si].val)
			         ->opts;
		for (size_t k = 0; k < m->n; k++) {
			const struct astr *v = m->v[k].val;
			const char *p;

			if (v == NULL || v->len == 0)
				continue;
			/* %(name)s, %(sec/name)s */
			for (p = v->s; (p = strstr(p, "%(")) != NULL;) {
				const char *e = strchr(p + 2, ')');
				const char *slash;
				char *name, *lo;

				if (e == NULL)
					break;
				name = xmemdup(p + 2, (size_t)(e - p - 2));
				lo = conf_lower(name);
				omap_set(refs, lo, NULL, NULL);
				slash = strchr(lo, '/');
				if (slash)
					omap_set(refs, slash + 1, NULL, NULL);
				free(lo);
				free(name);
				p = e;
			}
			/* <name>, <sec/name> (also inside <a-<b>>) */
			for (p = v->s; (p = strchr(p, '<')) != NULL; p++) {
				size_t n = strcspn(p + 1, " <>");
				char *name;
				const char *slash;

				if (n == 0 || p[1 + n] != '>')
					continue;
				name = xmemdup(p + 1, n);
				omap_set(refs, name, NULL, NULL);
				slash = strchr(name, '/');
				if (slash)
					omap_set(refs, slash + 1, NULL, NULL);
				free(name);
			}
		}
	}
}

const char *
cp_named_error(const struct cctx *c, const char *name)
{
	const struct named *nm = omap_get(&c->named, name);

	return nm ? nm->err : NULL;
}

bool
cp_section_has_errors(const struct cctx *c, const char *name)
{
	for (size_t i = 0; i < c->parsed.n; i++) {
		const struct parsed *p = c->parsed.v[i].val;

		if (p && strv_find(&p->bad, name) >= 0)
			return true;
	}
	return false;
}

bool
cp_named_first_check(struct cctx *c, const char *name)
{
	struct named *nm = omap_get(&c->named, name);

	if (nm == NULL || nm->checked)
		return false;
	nm->checked = true;
	return true;
}
