/*
 * Date detection: finds the timestamp in a log line and converts it to epoch
 * seconds, as fail2ban's DateDetector does. A detector holds an ordered list
 * of templates: fail2ban's default list, or the ones a `datepattern` names
 * (strptime-style %-directives, {^LN-BEG}, {UNB}, {NONE}, EPOCH, LEPOCH,
 * TAI64N, {DATE} ...). It does not decide what to do with lines that have no
 * date; that is the line pipeline's job (filter.c).
 *
 * Time zones: a zone in the line (%z/%Z) wins, then the detector's
 * logtimezone, then the process's local zone (TZ), as fail2ban does.
 */
#ifndef WARDEN_DATEDETECT_H
#define WARDEN_DATEDETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "diag.h"

struct datedetect;

enum datedetect_flags {
	/* fail2ban-regex mode. fail2ban-regex means %ExY to accept any year
	 * 1970..end of century, but in 1.0.2 its widening is a no-op (the
	 * alternate "now" of 0 is read as "unset"), so fail2ban-regex prints
	 * and matches the same 20[012]\d as the server; so do we. */
	DATEDETECT_WIDE_YEARS = 1 << 0,
	/* For tests: no shortcuts (hand-written matchers, their cache, the
	 * cheap pre-checks); every template runs its PCRE2 regex. */
	DATEDETECT_NO_FASTPATH = 1 << 1,
};

/*
 * Builds a detector. pattern is a datepattern value (one template per line,
 * may be NULL or "" or "{DEFAULT}" for fail2ban's default list);
 * logtimezone is NULL when unset (an empty string means UTC, as an empty
 * `logtimezone =` does in fail2ban). now is used for %ExY's year range
 * (fail2ban uses the real time at start-up). Problems
 * (unknown directive, bad regex, unknown time zone, duplicate template)
 * are appended to d with file/line (line + k for the k-th line of a
 * multi-line pattern), and NULL is returned. Regex errors fail2ban would
 * only hit at the first log line are reported here, at load time.
 * Returns a new detector; free with datedetect_free().
 */
struct datedetect *datedetect_new(const char *pattern, const char *logtimezone,
    unsigned flags, time_t now, const char *file, int line, struct diags *d);
void datedetect_free(struct datedetect *dd);

/* Why a matched, non-empty date text has no time (date_match.err). */
enum date_err {
	DATE_OK = 0,
	/* The text does not make a valid date (Feb 30, hour 24, zone
	   "+9999x" ...): fail2ban treats the line as having no date. */
	DATE_EVALUE = 1,
	/* fail2ban raises an exception here (unknown zone abbreviation such
	   as "INFO Jan 23 ...", a month without a day ...) and drops the
	   line ("Failed to process line"); fail2ban-regex aborts. Also
	   reported with start == end == len for a template that matched
	   empty at the very end of the line (IndexError in fail2ban). */
	DATE_EOTHER = 2,
};

struct date_match {
	size_t start;  /* byte offset of the date text in the line */
	size_t end;    /* byte offset just past it (== start when empty) */
	double time;   /* epoch seconds; fractions kept where fail2ban does */
	int tmpl;      /* index of the template that matched (in the order
	                  after this match; see datedetect_name()) */
	bool has_time; /* false when the template matched but carries no
	                  date (e.g. {NONE}, start == end): the caller picks
	                  the time; or when start < end and err says why the
	                  text could not be converted */
	enum date_err err; /* DATE_OK unless conversion failed */
	bool int_time;     /* has_time and fail2ban's date is an int: a time
	                      zone was applied (calendar.timegm) or TAI64N;
	                      else it is a float (time.mktime, an epoch):
	                      "1238075060" versus "1238075060.0" in
	                      fail2ban-regex's output */
};

/*
 * Searches line (len bytes, need not be NUL-terminated) for a date. now is
 * the current time used for year inference and rollover (a year-less date
 * more than a day in the future belongs to the previous year) and for
 * time-only dates. Returns 1 and fills *m when a template matched, 0 when
 * none did. Updates per-template hit counts; never blocks; the run time is
 * bounded by the PCRE2 match limits.
 */
int datedetect_match(struct datedetect *dd, const char *line, size_t len,
    time_t now, struct date_match *m);

/* Template inspection, for fail2ban-regex's report. */
size_t datedetect_count(const struct datedetect *dd);
/* fail2ban's display name, e.g. "{^LN-BEG}ExYear(?P<_sep>[-/.])Month..." */
const char *datedetect_name(const struct datedetect *dd, size_t i);
/* The compiled regular expression, for --verbose-date. */
const char *datedetect_regex(const struct datedetect *dd, size_t i);
unsigned long datedetect_hits(const struct datedetect *dd, size_t i);
/* The datepattern a template came from ("%ExY(?P<_sep>..."), or NULL for
 * the built-in Epoch/TAI64N ones (fail2ban-regex --VD prints "pattern: "). */
const char *datedetect_pattern(const struct datedetect *dd, size_t i);
/* --VD's "weight: W (T)": W = hits * T / max(1, last match offset), T the
 * template's own weight (100 for the line-start copies, else 1). */
double datedetect_weight(const struct datedetect *dd, size_t i);
double datedetect_template_weight(const struct datedetect *dd, size_t i);
/*
 * What "Use datepattern :" prints after the pattern: the single template's
 * name, or "Default Detectors" for the default list.
 */
const char *datedetect_describe(const struct datedetect *dd);

#endif
