/*
 * fail2ban's helper functions for option values: extractOptions and
 * splitWithOptions (the "name[k=v, ...]" syntax, run with the very same
 * regexes under PCRE2 in Unicode mode, with Python's whitespace class),
 * substituteRecursiveTags (<tag> resolution, same iteration order, same
 * 25-substitution limit), splitwords, shlex.split, int() and _as_bool.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "ini.h"
#include "sbuf.h"
#include "xmalloc.h"

#define MAX_TAG_REPLACE 25                 /* MAX_TAG_REPLACE_COUNT */
#define MAX_TAG_OPS     100000             /* replacements per call (our cap) */
#define MAX_TAG_WORK    (64 * 1024 * 1024) /* bytes built per call */
#define MATCH_LIMIT     5000000

/* Python's \s and \S. */
#define WS                                                                     \
	"\\t-\\r\\x{1c}-\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"     \
	"\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
#define S  "[" WS "]"
#define NS "[^" WS "]"

static const char *const patterns[] = {
    /* OPTION_CRE */
    "^([^\\[]+)(?:\\[(.*)\\])?" S "*$",
    /* OPTION_EXTRACT_CRE */
    S "*([\\w\\-_\\.]+)=(?:\"([^\"]*)\"|'([^']*)'|([^,\\]]*))"
      "(?:,|\\]" S "*\\[|$|(?P<wrngA>.+))|,?" S "*$|(?P<wrngB>.+)",
    /* OPTION_SPLIT_CRE */
    "(?:[^\\[" WS "]+(?:" S "*\\[" S "*(?:[\\w\\-_\\.]+=(?:\"[^\"]*\"|"
    "'[^']*'|[^,\\]]*)" S "*(?:,|\\]" S "*\\[)?" S "*)*\\])?" S "*|" NS
    "+)(?=\\n" S "*|" S "+|$)",
};

enum { RE_OPTION, RE_EXTRACT, RE_SPLIT, NRE };

static pcre2_code *compiled[NRE];
static pcre2_match_context *mctx;

static pcre2_code *
get_re(int i)
{
	if (compiled[i] == NULL) {
		int ec;
		PCRE2_SIZE eo;

		compiled[i] = pcre2_compile((PCRE2_SPTR)patterns[i],
		    PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_DOTALL,
		    &ec, &eo, NULL);
		if (compiled[i] == NULL)
			abort(); /* our own pattern: a bug */
	}
	if (mctx == NULL) {
		mctx = pcre2_match_context_create(NULL);
		pcre2_set_match_limit(mctx, MATCH_LIMIT);
		pcre2_set_depth_limit(mctx, 100000);
	}
	return compiled[i];
}

void
astrv_cleanup(struct astrv *v)
{
	for (size_t i = 0; i < v->n; i++)
		astr_cleanup(&v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

char *
conf_lower(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return r;
}

static bool
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

size_t
conf_conditional(const char *name)
{
	size_t n = 0;

	while (is_word((unsigned char)name[n]))
		n++;
	if (n == 0 || name[n] != '?' || name[n + 1] == '\0' ||
	    name[n + 1] == '\n')
		return 0;
	for (const char *p = name + n + 1; *p; p++)
		if (*p == '\n' && p[1] != '\0')
			return 0;
	return n;
}

bool
conf_py_bool(const char *s)
{
	char *l = conf_lower(s);
	bool r = strcmp(l, "1") == 0 || strcmp(l, "on") == 0 ||
	    strcmp(l, "true") == 0 || strcmp(l, "yes") == 0;

	free(l);
	return r;
}

int
conf_py_int(const char *s, long long *out)
{
	const char *b, *e;
	struct sbuf d = SBUF_INIT;
	bool neg = false;
	int rc = -1;

	ini_strip(s, strlen(s), &b, &e);
	if (b < e && (*b == '+' || *b == '-')) {
		neg = *b == '-';
		b++;
	}
	if (b == e || !(*b >= '0' && *b <= '9'))
		goto out;
	for (const char *p = b; p < e; p++) {
		if (*p >= '0' && *p <= '9') {
			sbuf_addch(&d, *p);
		} else if (*p == '_' && p + 1 < e && p[1] >= '0' &&
		    p[1] <= '9' && p[-1] != '_') {
			continue;
		} else {
			goto out;
		}
	}
	errno = 0;
	{
		char *end;
		long long v = strtoll(sbuf_str(&d), &end, 10);

		if (errno == ERANGE)
			goto out;
		*out = neg ? -v : v;
	}
	rc = 0;
out:
	sbuf_cleanup(&d);
	return rc;
}

void
conf_astr_strip(const struct astr *in, struct astr *out)
{
	const char *b, *e;

	ini_strip(astr_str(in), in->len, &b, &e);
	astr_add(
	    out, b, in->len ? in->o + (b - in->s) : NULL, (size_t)(e - b), 0);
}

/* Number of characters in the first n bytes of s. */
static size_t
nchars(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

/* At most max characters of s (new). */
static char *
prefix_chars(const char *s, size_t len, size_t max)
{
	size_t i = 0, k = 0;

	while (i < len && k < max) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		k++;
	}
	return xmemdup(s, i);
}

static bool
grp_set(const PCRE2_SIZE *ov, int g)
{
	return ov[2 * g] != PCRE2_UNSET;
}

static void
sub_astr(const struct astr *in, size_t base, size_t from, size_t to,
    struct astr *out)
{
	astr_add(out, in->s + base + from, in->o + base + from, to - from, 0);
}

int
conf_extract_options(
    const struct astr *in, struct astr *name, struct omap *opts, char **err)
{
	pcre2_code *re = get_re(RE_OPTION);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	const char *s = astr_str(in);
	PCRE2_SIZE *ov;
	size_t os, oe, pos = 0;
	bool must_advance = false;
	int rc, ret = -1;

	*err = NULL;
	rc = pcre2_match(re, (PCRE2_SPTR)s, in->len, 0, 0, md, mctx);
	if (rc < 0) {
		*err = xstrdup(rc == PCRE2_ERROR_NOMATCH
		        ? "unexpected option syntax"
		        : "option too complex to parse");
		goto out;
	}
	ov = pcre2_get_ovector_pointer(md);
	sub_astr(in, 0, ov[2], ov[3], name);
	astr_add(name, "", NULL, 0, 0);
	if (rc < 3 || !grp_set(ov, 2) || ov[4] == ov[5]) {
		ret = 0;
		goto out;
	}
	os = ov[4];
	oe = ov[5];
	pcre2_match_data_free(md);
	re = get_re(RE_EXTRACT);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	while (pos <= oe - os) {
		uint32_t wa, wb;
		struct astr val = ASTR_INIT, key = ASTR_INIT;

		rc = pcre2_match(re, (PCRE2_SPTR)(s + os), oe - os, pos,
		    must_advance ? PCRE2_NOTEMPTY_ATSTART : 0, md, mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			*err = xstrdup("option too complex to parse");
			goto out;
		}
		ov = pcre2_get_ovector_pointer(md);
		pcre2_substring_number_from_name(re, (PCRE2_SPTR) "wrngA");
		wa = (uint32_t)pcre2_substring_number_from_name(
		    re, (PCRE2_SPTR) "wrngA");
		wb = (uint32_t)pcre2_substring_number_from_name(
		    re, (PCRE2_SPTR) "wrngB");
		if ((int)wa < rc && grp_set(ov, (int)wa)) {
			struct sbuf b = SBUF_INIT;
			char *k = xmemdup(s + os + ov[2], ov[3] - ov[2]);
			char *w = prefix_chars(s + os + ov[2 * wa],
			    ov[2 * wa + 1] - ov[2 * wa], 25);

			py_repr_str(k, &b);
			*err =
			    xasprintf("unexpected syntax at %zu after option "
			              "%s: %s",
			        nchars(s + os, ov[2 * wa]), sbuf_str(&b), w);
			sbuf_cleanup(&b);
			free(k);
			free(w);
			goto out;
		}
		if ((int)wb < rc && grp_set(ov, (int)wb)) {
			char *w = prefix_chars(s + os + ov[2 * wb],
			    ov[2 * wb + 1] - ov[2 * wb], 25);

			*err =
			    xasprintf("expected option, wrong syntax at %zu: "
			              "%s",
			        nchars(s + os, ov[2 * wb]), w);
			free(w);
			goto out;
		}
		if (rc > 1 && grp_set(ov, 1) && ov[3] > ov[2]) {
			int g = 0;
			char *k;

			for (int j = 2; j <= 4 && j < rc; j++)
				if (grp_set(ov, j)) {
					g = j;
					break;
				}
			sub_astr(in, os, ov[2], ov[3], &key);
			if (g) {
				struct astr raw = ASTR_INIT;

				sub_astr(
				    in, os, ov[2 * g], ov[2 * g + 1], &raw);
				astr_add(&raw, "", NULL, 0, 0);
				conf_astr_strip(&raw, &val);
				astr_cleanup(&raw);
			}
			astr_add(&val, "", NULL, 0, 0);
			k = xstrdup(astr_str(&key));
			omap_set(opts, k, astr_dup(&val), omap_astr_free);
			free(k);
		}
		astr_cleanup(&val);
		astr_cleanup(&key);
		must_advance = ov[0] == ov[1];
		pos = ov[1];
	}
	ret = 0;
out:
	pcre2_match_data_free(md);
	return ret;
}

int
conf_split_with_options(const struct astr *in, struct astrv *out, char **err)
{
	pcre2_code *re = get_re(RE_SPLIT);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	const char *s = astr_str(in);
	size_t pos = 0;
	bool must_advance = false;
	int ret = 0;

	*err = NULL;
	while (pos <= in->len) {
		PCRE2_SIZE *ov;
		int rc = pcre2_match(re, (PCRE2_SPTR)s, in->len, pos,
		    must_advance ? PCRE2_NOTEMPTY_ATSTART : 0, md, mctx);

		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			*err = xstrdup("action list too complex to split");
			ret = -1;
			break;
		}
		ov = pcre2_get_ovector_pointer(md);
		xgrow(&out->v, &out->cap, out->n + 1, sizeof(*out->v));
		memset(&out->v[out->n], 0, sizeof(out->v[0]));
		sub_astr(in, 0, ov[0], ov[1], &out->v[out->n]);
		astr_add(&out->v[out->n], "", NULL, 0, 0);
		out->n++;
		must_advance = ov[0] == ov[1];
		pos = ov[1];
	}
	pcre2_match_data_free(md);
	return ret;
}

void
conf_splitwords(const char *s, struct strv *out)
{
	const char *p = s;

	while (*p) {
		size_t n = strcspn(p, " ,\n");
		const char *b, *e;

		ini_strip(p, n, &b, &e);
		if (e > b)
			strv_take(out, xmemdup(b, (size_t)(e - b)));
		p += n;
		p += strspn(p, " ,\n");
	}
}

int
conf_shlex_split(const char *s, struct strv *out, char **err)
{
	struct sbuf tok = SBUF_INIT;
	bool intok = false;
	const char *p = s;

	*err = NULL;
	while (*p) {
		char c = *p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (intok)
				strv_add(out, sbuf_str(&tok));
			sbuf_reset(&tok);
			intok = false;
			p++;
		} else if (c == '\\') {
			if (p[1] == '\0') {
				*err = xstrdup("No escaped character");
				goto fail;
			}
			sbuf_addch(&tok, p[1]);
			intok = true;
			p += 2;
		} else if (c == '\'') {
			const char *e = strchr(p + 1, '\'');

			if (e == NULL) {
				*err = xstrdup("No closing quotation");
				goto fail;
			}
			sbuf_add(&tok, p + 1, (size_t)(e - p - 1));
			intok = true;
			p = e + 1;
		} else if (c == '"') {
			p++;
			for (;;) {
				if (*p == '\0') {
					*err = xstrdup("No closing quotation");
					goto fail;
				}
				if (*p == '"')
					break;
				if (*p == '\\' && p[1] != '\0' &&
				    (p[1] == '"' || p[1] == '\\')) {
					sbuf_addch(&tok, p[1]);
					p += 2;
					continue;
				}
				sbuf_addch(&tok, *p++);
			}
			p++;
			intok = true;
		} else {
			sbuf_addch(&tok, c);
			intok = true;
			p++;
		}
	}
	if (intok)
		strv_add(out, sbuf_str(&tok));
	sbuf_cleanup(&tok);
	return 0;
fail:
	sbuf_cleanup(&tok);
	return -1;
}

/* ---- <tag> substitution ---- */

/* TAG_CRE search from pos: '<' [^ <>]+ '>'. */
static bool
tag_search(const struct astr *a, size_t pos, size_t *ms, size_t *me)
{
	const char *s = astr_str(a);

	for (size_t i = pos; i < a->len; i++) {
		size_t j;

		if (s[i] != '<')
			continue;
		j = i + 1;
		while (j < a->len && s[j] != ' ' && s[j] != '<' && s[j] != '>')
			j++;
		if (j > i + 1 && j < a->len && s[j] == '>') {
			*ms = i;
			*me = j + 1;
			return true;
		}
	}
	return false;
}

/* value.replace(needle, repl) into a new astr; -1 when too large. The
 * needle starts with '<', so one pass over the value finds every
 * occurrence. */
static int
replace_all(const struct astr *v, const char *needle, const struct astr *repl,
    struct astr *out)
{
	const char *s = astr_str(v);
	size_t nl = strlen(needle), i = 0, from = 0;

	while (i + nl <= v->len) {
		if (s[i] != needle[0] || memcmp(s + i, needle, nl) != 0) {
			i++;
			continue;
		}
		astr_add(out, s + from, v->o + from, i - from, 0);
		astr_addastr(out, repl);
		if (out->len > CONF_MAX_VALUE_LEN)
			return -1;
		i += nl;
		from = i;
	}
	astr_add(out, s + from, v->len ? v->o + from : NULL, v->len - from, 0);
	return out->len > CONF_MAX_VALUE_LEN ? -1 : 0;
}

static void
counts_free(void *p)
{
	if (p) {
		omap_cleanup(p, NULL);
		free(p);
	}
}

int
conf_substitute_tags(struct cctx *c, const struct omap *tags,
    const struct omap *ignore, addrepl_fn addrepl, void *actx, struct omap *out)
{
	struct omap done = OMAP_INIT, counts = OMAP_INIT;
	size_t ops = 0, work_bytes = 0;
	int ret = -1;

	omap_copy_astr(out, tags);
	for (;;) {
		bool repflag = false;

		for (size_t t = 0; t < out->n; t++) {
			const char *tag = out->v[t].key;
			const struct astr *cur = out->v[t].val;
			struct astr work = ASTR_INIT;
			struct omap *rplc;
			bool own_rplc = false;
			size_t ms, me;
			bool found;

			if (omap_has(ignore, tag) || omap_has(&done, tag))
				continue;
			if (cur)
				astr_addastr(&work, cur);
			else
				astr_addstr(&work, "None", 0);
			rplc = omap_get(&counts, tag);
			if (rplc == NULL) {
				rplc = xcalloc(1, sizeof(*rplc));
				own_rplc = true;
			}
			found = tag_search(&work, 0, &ms, &me);
			while (found) {
				char *rtag =
				    xmemdup(work.s + ms + 1, me - ms - 2);
				uintptr_t cnt = 1;
				long ci = omap_find(rplc, rtag);
				struct astr *repl = NULL;
				struct astr next = ASTR_INIT;
				char *needle;

				if (omap_has(ignore, rtag)) {
					free(rtag);
					found = tag_search(&work, me, &ms, &me);
					continue;
				}
				if (ci >= 0)
					cnt = (uintptr_t)rplc->v[ci].val;
				if (strcmp(rtag, tag) == 0 ||
				    cnt > MAX_TAG_REPLACE) {
					if (strcmp(rtag, tag) == 0)
						cctx_error(c, work.o[ms], true,
						    "self-referencing tag "
						    "definitions cannot be "
						    "resolved: <%s> refers to "
						    "itself",
						    tag);
					else
						cctx_error(c, work.o[ms], true,
						    "self-referencing tag "
						    "definitions cannot be "
						    "resolved: <%s> needs <%s> "
						    "more than %d times",
						    tag, rtag, MAX_TAG_REPLACE);
					free(rtag);
					astr_cleanup(&work);
					if (own_rplc)
						counts_free(rplc);
					goto out;
				}
				repl = omap_get(out, rtag);
				if (repl == NULL && addrepl != NULL) {
					if (addrepl(actx, rtag, &repl) != 0) {
						free(rtag);
						astr_cleanup(&work);
						if (own_rplc)
							counts_free(rplc);
						goto out;
					}
				}
				if (repl == NULL) {
					free(rtag);
					found = tag_search(&work, me, &ms, &me);
					continue;
				}
				needle = xasprintf("<%s>", rtag);
				if (replace_all(&work, needle, repl, &next) !=
				        0 ||
				    ++ops > MAX_TAG_OPS ||
				    (work_bytes += next.len) > MAX_TAG_WORK) {
					cctx_error(c, work.o[ms], true,
					    "value too large after <tag> "
					    "substitution (limit %d bytes)",
					    CONF_MAX_VALUE_LEN);
					astr_cleanup(&next);
					free(needle);
					free(rtag);
					astr_cleanup(&work);
					if (own_rplc)
						counts_free(rplc);
					goto out;
				}
				free(needle);
				astr_cleanup(&work);
				work = next;
				if (ci >= 0)
					rplc->v[ci].val =
					    (void *)((uintptr_t)rplc->v[ci]
					                 .val +
					        1);
				else
					omap_set(rplc, rtag, (void *)1, NULL);
				free(rtag);
				found = tag_search(&work, ms, &ms, &me);
			}
			if (cur == NULL
			        ? strcmp(astr_str(&work), "None") != 0
			        : strcmp(astr_str(&work), astr_str(cur)) != 0) {
				size_t a, b;

				if (tag_search(&work, 0, &a, &b)) {
					if (own_rplc) {
						omap_set(&counts, tag, rplc,
						    counts_free);
						own_rplc = false;
					}
					repflag = true;
				}
				out->v[t].val = astr_dup(&work);
				astr_free((struct astr *)cur);
				cur = out->v[t].val;
			}
			if (strchr(astr_str(&work), '<') == NULL)
				omap_set(&done, tag, NULL, NULL);
			astr_cleanup(&work);
			if (own_rplc)
				counts_free(rplc);
		}
		if (!repflag)
			break;
	}
	ret = 0;
out:
	omap_cleanup(&done, NULL);
	omap_cleanup(&counts, counts_free);
	return ret;
}
