/*
 * Fuzzes the filter engine. Input: log lines separated by '\n'. Every line
 * goes through a few representative filters compiled once: an mlfid filter
 * with a prefregex (nofail, pending, gained, forget, users), a multi-line
 * filter with <SKIPLINES> and an ignoreregex, and one with alt/tuple
 * groups, <SUBNET> and F-ID, in both first-match and check-all modes.
 * An input starting with "RE:" compiles its first line as a failregex
 * (translation and compile errors are fine) and runs the rest through it;
 * the regex's faster variants (ASCII, rewritten tail) must also match
 * every line exactly like its plain UTF-8 code. Each result is checked for
 * consistency (ids, counts, pointers), and the fixed filters run twice,
 * the second time in FILTER_LEAN mode, which must fail the same lines with
 * the same ids.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "filter_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1124013600.0

static const char *const mlf_fail[] = {
    "^Failed \\S+ for (?:invalid user )?<F-USER>\\S+</F-USER> from "
    "<HOST>(?: port \\d+)?",
    "^<F-NOFAIL>Connection from</F-NOFAIL> <HOST>",
    "^<F-NOFAIL>auth failure;</F-NOFAIL> ruser=<F-ALT_USER>\\S*"
    "</F-ALT_USER> rhost=<HOST>(?: user=<F-USER>\\S*</F-USER>)?",
    "^Invalid user <F-USER>.*?</F-USER>(?: from <HOST>)?$",
    "^<F-NOFAIL><F-MLFFORGET>Disconnected</F-MLFFORGET></F-NOFAIL> from "
    "<HOST>",
    "^<F-MLFFORGET><F-MLFGAINED>Accepted \\w+</F-MLFGAINED></F-MLFFORGET> "
    "for <F-USER>\\S+</F-USER> from <HOST>",
    NULL};
static const char *const ml_fail[] = {
    "conn (\\d+) from <HOST><SKIPLINES>.*conn \\1 (?:auth failed|bad)",
    "^\\s*user <F-ID>\\S+</F-ID> refused$", NULL};
static const char *const ml_ign[] = {"from 10\\.", NULL};
static const char *const misc_fail[] = {
    "login (?:user=<F-USER>\\S*</F-USER>|alt=<F-ALT_USER>\\S+"
    "</F-ALT_USER>) from <HOST>",
    "tuple <F-ID>\\S+</F-ID> port <F-TUPLE_ID>\\d+</F-TUPLE_ID>",
    "net <SUBNET> (?i:BLOCKED)", "fid=<F-ID/> ip=<ADDR>", "dns <DNS> refused",
    NULL};

struct spec {
	const char *pref;
	const char *const *fail;
	const char *const *ign;
	int maxlines;
	unsigned flags;
};

static const struct spec specs[] = {
    {"^<F-MLFID>\\s*\\S+ \\w+\\[\\d+\\]: </F-MLFID><F-CONTENT>.+"
     "</F-CONTENT>$",
        mlf_fail, NULL, 1, FILTER_CHECK_ALL | FILTER_RAW_HOSTS},
    {"^<F-MLFID>\\s*\\S+ \\w+\\[\\d+\\]: </F-MLFID><F-CONTENT>.+"
     "</F-CONTENT>$",
        mlf_fail, NULL, 1, FILTER_KEEP_PENDING},
    {NULL, ml_fail, ml_ign, 3, FILTER_CHECK_ALL},
    {NULL, ml_fail, ml_ign, 2, 0},
    {NULL, misc_fail, NULL, 1, FILTER_CHECK_ALL},
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static struct filter *
build(const struct spec *sp, const char *one, unsigned extra)
{
	struct filterdef fd;
	struct diags d = DIAGS_INIT;
	struct filter_config cfg = {
	    .flags = (sp ? sp->flags : FILTER_CHECK_ALL) | extra,
	    .max_line_len = 4096};
	struct filter *f;

	filterdef_init(&fd);
	if (sp) {
		if (sp->pref)
			filterdef_re_set(&fd.prefregex, sp->pref, NULL, 0);
		for (size_t i = 0; sp->fail[i]; i++)
			filterdef_re_add(&fd.failregex, sp->fail[i], NULL, 0);
		for (size_t i = 0; sp->ign && sp->ign[i]; i++)
			filterdef_re_add(&fd.ignoreregex, sp->ign[i], NULL, 0);
		fd.maxlines = sp->maxlines;
	} else {
		filterdef_re_add(&fd.failregex, one, NULL, 0);
		fd.maxlines = 2;
	}
	f = filter_new(&fd, &cfg, (time_t)NOW, &d);
	filterdef_cleanup(&fd);
	if (sp && f == NULL) {
		diags_print(&d, stderr);
		abort(); /* the fixed filters must compile */
	}
	diags_cleanup(&d);
	return f;
}

static void
check(const struct filter *f, const struct filter_result *res)
{
	size_t nfail = filter_failregex_count(f);

	for (size_t i = 0; i < res->n; i++) {
		const struct failure *fl = &res->v[i];

		if (fl->regex < 0 || (size_t)fl->regex >= nfail)
			abort();
		if ((fl->kind == FAILURE_PENDING) != (fl->id.text == NULL))
			abort();
		if (fl->kind == FAILURE_ADDR && !fl->id.is_addr)
			abort();
		for (size_t k = 0; k < fl->ngroups; k++)
			if (fl->groups[k].key == NULL ||
			    (fl->groups[k].val.type == FVAL_STR &&
			        fl->groups[k].val.u.s == NULL))
				abort();
		for (size_t k = 0; k < fl->nmatches; k++)
			if (strlen(fl->matches[k]) > 3 * 4096 + 64)
				abort();
	}
	if (filter_buffer_count(f) > (size_t)filter_maxlines(f))
		abort();
}

static const char *
id_text(const struct failure *fl)
{
	return fl->id.text ? fl->id.text : "";
}

/* The lean twin decided the line as the full filter did. */
static void
same(const struct filter_result *a, const struct filter_result *b)
{
	if (a->n != b->n || a->ignored != b->ignored)
		abort();
	for (size_t k = 0; k < a->n; k++) {
		const struct failure *x = &a->v[k], *y = &b->v[k];

		if (x->regex != y->regex || x->kind != y->kind ||
		    x->nofail != y->nofail || x->has_time != y->has_time ||
		    (x->has_time && x->time != y->time) ||
		    strcmp(id_text(x), id_text(y)) != 0 || y->ngroups ||
		    y->nmatches)
			abort();
	}
}

/*
 * feed(); lean's other twin pipe (also FILTER_LEAN, may be NULL) takes
 * the same lines through the two-stage pipeline, each followed by its
 * newline as warden regex hands them over, with its searches worked out
 * ahead on every other line, and must decide them as lean does.
 */
static void
feed(struct filter *f, struct filter *lean, struct filter *pipe,
    struct filter_prep *prep, const char *s, size_t n, double now)
{
	static struct filter_pre *pre;
	static char *buf;
	static size_t cap;
	size_t p = 0;
	int k = 0;

	if (pipe && pre == NULL)
		pre = filter_pre_new(pipe);

	while (p <= n) {
		const char *e = memchr(s + p, '\n', n - p);
		size_t l = e ? (size_t)(e - (s + p)) : n - p;
		struct filter_result res, lres;

		if (k++ % 5 == 4) {
			filter_process_entry(
			    f, "2005-08-14T10:00:00", s + p, l, now, now, &res);
			if (lean)
				filter_process_entry(lean,
				    "2005-08-14T10:00:00", s + p, l, now, now,
				    &lres);
			if (pipe) {
				struct filter_result pres;

				filter_process_entry(pipe,
				    "2005-08-14T10:00:00", s + p, l, now, now,
				    &pres);
				same(&lres, &pres);
			}
		} else {
			filter_process(f, s + p, l, now, &res);
			if (lean)
				filter_process(lean, s + p, l, now, &lres);
			if (pipe) {
				struct filter_result pres;

				if (l + 2 > cap) {
					cap = l + 2;
					buf = realloc(buf, cap);
					if (buf == NULL)
						abort();
				}
				memcpy(buf, s + p, l);
				buf[l] = '\n';
				buf[l + 1] = '\0';
				/* searches: none, at once, or afterwards
				 * (the pipeline's reader, later) */
				filter_prep_line(
				    prep, buf, l, now, k % 3 == 1, pre);
				if (k % 3 == 2)
					filter_prep_search(prep, pre, buf);
				filter_process_pre(pipe, pre, now, &pres);
				same(&lres, &pres);
			}
		}
		check(f, &res);
		if (lean)
			same(&res, &lres);
		p += l + 1;
		now += 7; /* lets cache entries and last dates age */
	}
}

/* s[0, n) is valid UTF-8 (no overlong form, surrogate or code point
 * above U+10FFFF). */
static bool
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], k, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c < 0xc2 || c > 0xf4)
			return false;
		k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
		if (n - i <= k)
			return false;
		cp = c & (0x3fu >> k);
		for (unsigned j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/*
 * fre_match() (ASCII and tail variants) against the plain code, on
 * subjects as the filter hands them over: valid UTF-8 (utf8_repair()
 * makes every line so; the tail variant's look-ahead of one character
 * does not see an invalid sequence further on that ".+$" stops at).
 */
static void
variants(const char *py, const char *s, size_t n)
{
	static pcre2_match_data *a, *b;
	static pcre2_match_context *mc;
	struct intern keys = {NULL, 0, 0};
	struct diags d = DIAGS_INIT;
	struct fre re;
	size_t p = 0;

	if (a == NULL) {
		a = pcre2_match_data_create(256, NULL);
		b = pcre2_match_data_create(256, NULL);
		mc = pcre2_match_context_create(NULL);
		pcre2_set_match_limit(mc, 20000);
		pcre2_set_depth_limit(mc, 2000);
	}
	if (fre_compile(&re, py, NULL, 0, "warn", false, FRE_PREF, NULL, &keys,
	        &d) < 0) {
		diags_cleanup(&d);
		intern_cleanup(&keys);
		return;
	}
	while (p <= n) {
		const char *e = memchr(s + p, '\n', n - p);
		size_t l = e ? (size_t)(e - (s + p)) + 1 : n - p;
		bool ascii = true;
		int ra, rb;

		/* the line with its newline, and the rest of the input */
		for (int two = 0; two < 2; two++) {
			size_t len = two ? n - p : l;

			ascii = true;
			for (size_t i = 0; i < len; i++)
				ascii = ascii && (unsigned char)s[p + i] < 0x80;
			if (!ascii &&
			    !valid_utf8((const unsigned char *)s + p, len))
				continue;
			ra = fre_match(
			    &re, s + p, len, ascii ? FRE_SUBJ_ASCII : 0, a, mc);
			rb = pcre2_match(
			    re.code, (PCRE2_SPTR)(s + p), len, 0, 0, b, mc);
			if (rb > 0 && re.nlit &&
			    (len < re.nlit ||
			        memcmp(s + p, re.lit, re.nlit) != 0))
				abort(); /* the screen refused a match */
			if (ra < -1 || rb < -1)
				continue; /* a limit: only the count differs */
			if (ra != rb)
				abort();
			for (int g = 0; g < ra; g++) {
				PCRE2_SIZE *x = pcre2_get_ovector_pointer(a);
				PCRE2_SIZE *y = pcre2_get_ovector_pointer(b);

				if (x[2 * g] != y[2 * g] ||
				    x[2 * g + 1] != y[2 * g + 1])
					abort();
			}
		}
		p += l ? l : 1;
	}
	fre_cleanup(&re);
	diags_cleanup(&d);
	intern_cleanup(&keys);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct filter *fs[NSPECS], *lean[NSPECS], *pipe[NSPECS];
	static struct filter_prep *prep[NSPECS];
	const char *s = (const char *)data;

	if (fs[0] == NULL) {
		for (size_t i = 0; i < NSPECS; i++) {
			fs[i] = build(&specs[i], NULL, 0);
			lean[i] = build(&specs[i], NULL, FILTER_LEAN);
			pipe[i] = build(&specs[i], NULL, FILTER_LEAN);
			prep[i] = filter_prep_new(pipe[i]);
		}
	}
	if (size >= 3 && memcmp(s, "RE:", 3) == 0) {
		const char *e = memchr(s, '\n', size);
		size_t l = e ? (size_t)(e - s) : size;
		char *re = strndup(s + 3, l - 3);
		struct filter *f = re ? build(NULL, re, 0) : NULL;

		if (f && e)
			feed(f, NULL, NULL, NULL, e + 1, size - l - 1, NOW);
		if (re && e)
			variants(re, e + 1, size - l - 1);
		filter_free(f);
		free(re);
		return 0;
	}
	for (size_t i = 0; i < NSPECS; i++) {
		filter_reset(fs[i]);
		filter_reset(lean[i]);
		filter_reset(pipe[i]);
		feed(fs[i], lean[i], pipe[i], prep[i], s, size, NOW);
	}
	return 0;
}
