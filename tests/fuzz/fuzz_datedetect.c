/*
 * Fuzzes date detection: the input is a datepattern (up to the first NUL
 * byte; may be several lines), then log lines separated by '\n'. The
 * pattern is compiled (errors are fine), and every line is matched by it
 * and by the default templates and by {^LN-BEG}, with and without the
 * hand-written matchers (which must agree, and leave the same template
 * order, hits and weights), at two different "now"s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datedetect.h"
#include "diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Template order, hits and weights (hits, distance): what the next lines'
 * selection depends on. */
static void
same_state(const struct datedetect *a, const struct datedetect *b)
{
	size_t n = datedetect_count(a);

	if (n != datedetect_count(b))
		abort();
	for (size_t i = 0; i < n; i++)
		if (strcmp(datedetect_name(a, i), datedetect_name(b, i)) != 0 ||
		    datedetect_hits(a, i) != datedetect_hits(b, i) ||
		    datedetect_weight(a, i) != datedetect_weight(b, i))
			abort();
}

static void
run_lines(struct datedetect *a, struct datedetect *b, const char *s, size_t n,
    time_t now)
{
	size_t p = 0;

	while (p <= n) {
		const char *e = memchr(s + p, '\n', n - p);
		size_t l = e != NULL ? (size_t)(e - (s + p)) : n - p;
		struct date_match ma, mb;
		int ra = datedetect_match(a, s + p, l, now, &ma);

		if (ra && (ma.start > ma.end || ma.end > l))
			abort();
		if (b != NULL) {
			int rb = datedetect_match(b, s + p, l, now, &mb);

			/* both detectors saw the same lines: same state */
			if (ra != rb ||
			    (ra &&
			        (ma.start != mb.start || ma.end != mb.end ||
			            ma.has_time != mb.has_time ||
			            ma.err != mb.err || ma.tmpl != mb.tmpl ||
			            (ma.has_time && ma.time != mb.time) ||
			            (ma.has_time &&
			                ma.int_time != mb.int_time))))
				abort();
			same_state(a, b);
		}
		p += l + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nul = memchr(s, '\0', size);
	size_t plen = nul != NULL ? (size_t)(nul - s) : 0;
	const char *lines = nul != NULL ? nul + 1 : s;
	size_t nlines = nul != NULL ? size - plen - 1 : size;
	struct diags d = DIAGS_INIT;
	static struct datedetect *fast, *slow, *lbfast, *lbslow;
	static unsigned long lbruns;
	struct datedetect *dd = NULL;
	char *pattern;

	if (size > 8192)
		return 0;
	setenv("TZ", "CET-01CEST-02,M3.5.0,M10.5.0", 1);
	pattern = malloc(plen + 1);
	if (pattern == NULL)
		return 0;
	memcpy(pattern, s, plen);
	pattern[plen] = '\0';
	if (nul != NULL)
		dd = datedetect_new(pattern,
		    plen > 0 && pattern[0] == 'U' ? "UTC+0130" : NULL, 0,
		    1795262400, "fuzz", 1, &d);
	if (dd != NULL) {
		run_lines(dd, NULL, lines, nlines, 1124013600);
		for (size_t i = 0; i < datedetect_count(dd); i++)
			if (datedetect_name(dd, i) == NULL ||
			    datedetect_regex(dd, i) == NULL)
				abort();
		(void)datedetect_describe(dd);
		datedetect_free(dd);
	}
	diags_cleanup(&d);
	/* The default pair is built once (31 JIT compilations each); its
	   selection state carries over between inputs, which only widens
	   what is explored, and both members always see the same lines. */
	if (fast == NULL) {
		fast = datedetect_new(NULL, NULL, 0, 1795262400, NULL, 0, &d);
		slow = datedetect_new(NULL, NULL, DATEDETECT_NO_FASTPATH,
		    1795262400, NULL, 0, &d);
		if (fast == NULL || slow == NULL)
			abort();
	}
	run_lines(fast, slow, lines, nlines, 1795262400);
	run_lines(fast, slow, lines, nlines, 1124013600);
	/* The line-start copies alone, as most stock filters use them
	   (datepattern = {^LN-BEG}): the syslog template's shortcut when it
	   won the previous line. Rebuilt now and then: once another
	   template leads the order for good, the shortcut is never tried. */
	if (lbfast != NULL && ++lbruns % 64 == 0) {
		datedetect_free(lbfast);
		datedetect_free(lbslow);
		lbfast = lbslow = NULL;
	}
	if (lbfast == NULL) {
		lbfast = datedetect_new(
		    "{^LN-BEG}", NULL, 0, 1795262400, NULL, 0, &d);
		lbslow = datedetect_new("{^LN-BEG}", NULL,
		    DATEDETECT_NO_FASTPATH, 1795262400, NULL, 0, &d);
		if (lbfast == NULL || lbslow == NULL)
			abort();
	}
	run_lines(lbfast, lbslow, lines, nlines, 1795262400);
	run_lines(lbfast, lbslow, lines, nlines, 1124013600);
	/* That syslog template alone, fresh (cheap: one template), with a
	   logtimezone for odd sizes: its shortcut from the second line on. */
	{
		const char *sys = "{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\\.%f)?"
		                  "(?: %ExY)?";
		const char *tz = size % 2 ? "UTC+0130" : NULL;
		struct datedetect *sf =
		    datedetect_new(sys, tz, 0, 1795262400, NULL, 0, &d);
		struct datedetect *ss = datedetect_new(
		    sys, tz, DATEDETECT_NO_FASTPATH, 1795262400, NULL, 0, &d);

		if (sf == NULL || ss == NULL)
			abort();
		run_lines(sf, ss, lines, nlines, 1795262400);
		run_lines(sf, ss, lines, nlines, 1124013600);
		datedetect_free(sf);
		datedetect_free(ss);
	}
	diags_cleanup(&d);
	free(pattern);
	return 0;
}
