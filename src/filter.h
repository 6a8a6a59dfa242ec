/*
 * The filter engine: turns log lines into failures exactly as fail2ban
 * 1.0.2's Filter.processLine/findFailure do. It compiles a struct filterdef
 * (tag expansion, Python re -> PCRE2 translation, JIT), cuts the date out of
 * each line (datedetect), keeps the multi-line buffer and the mlfid cache,
 * and resolves failure ids. It does no I/O, no DNS and no logging: host
 * names that need resolving come back as FAILURE_DNS for the caller, and
 * warnings come back as flags in the result.
 *
 * A filter is single-threaded state (one per jail or per `warden regex`
 * run). Every buffer that grows from input is capped: lines are truncated
 * at max_line_len, regex matching is bounded by PCRE2 match/depth limits,
 * the mlfid cache holds at most FILTER_MLFID_MAX entries, each of bounded
 * size.
 */
#ifndef WARDEN_FILTER_H
#define WARDEN_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "diag.h"
#include "filterdef.h"

struct datedetect;
struct filter;

#define FILTER_MAX_LINE_DEFAULT (64 * 1024) /* bytes */
#define FILTER_MLFID_MAX        100         /* entries, as fail2ban */
#define FILTER_MLFID_TTL        300.0       /* seconds, as fail2ban */

enum filter_flags {
	/* Try every failregex on every line (fail2ban-regex's default);
	 * otherwise the first match wins, as in the server. */
	FILTER_CHECK_ALL = 1 << 0,
	/* Host names and ids stay raw strings, no DNS (-r, usedns=raw). */
	FILTER_RAW_HOSTS = 1 << 1,
	/* Without FILTER_CHECK_ALL: a pending mlfid failure (no id yet) is
	 * returned and ends the line, instead of ending the line silently
	 * (fail2ban's ignorePending = False, fail2ban-regex without -o). */
	FILTER_KEEP_PENDING = 1 << 2,
	/* Server date rules (spec 3.5): in operation mode a date more than
	 * 60 s from now becomes now; before it, lines older than findtime
	 * are dropped; a match without any date is dropped. */
	FILTER_CHECK_FINDTIME = 1 << 3,
	/* fail2ban-regex's date mode: %ExY accepts 1970..end of century. */
	FILTER_WIDE_YEARS = 1 << 4,
	/* Failures carry only what decides them: regex, kind, id, time and
	 * nofail; their groups and matches are left empty (ngroups and
	 * nmatches 0), and so is the result's pref_groups. Which lines fail,
	 * with which id, is the same as without it (the mlfid cache keeps
	 * what it needs). For callers that only count (`warden regex`'s
	 * report). */
	FILTER_LEAN = 1 << 5,
};

struct filter_config {
	unsigned flags;       /* enum filter_flags */
	size_t max_line_len;  /* bytes; 0 = FILTER_MAX_LINE_DEFAULT */
	double findtime;      /* seconds; used with FILTER_CHECK_FINDTIME */
	uint32_t match_limit; /* PCRE2 match limit per search; 0 = default */
	uint32_t depth_limit; /* PCRE2 depth (backtracking memory) limit;
	                         0 = default */
};

/*
 * An id or address as fail2ban's IPAddr holds it: a valid address, or a
 * raw string (a fid, a raw host name, an IP-shaped string that is not a
 * valid address such as "999.1.1.1").
 */
struct filter_id {
	bool is_addr;     /* addr is valid */
	struct addr addr; /* when is_addr; IPv4-mapped IPv6 is IPv4 */
	const char *text; /* addr_format() form when is_addr, else the raw
	                     string (a tuple id in Python's str() form) */
};

/* The value types a failure's group dict holds (Python's types). */
enum fval_type {
	FVAL_NONE,  /* None: a group that did not take part in the match */
	FVAL_STR,   /* s */
	FVAL_INT,   /* i (e.g. "mlfpending": 1) */
	FVAL_IP,    /* ip ("ip" when the id is a fid different from it) */
	FVAL_SET,   /* items, unique FVAL_STR in insertion order ("users") */
	FVAL_TUPLE, /* items, FVAL_STR or FVAL_NONE (F-TUPLE_x) */
	FVAL_LIST,  /* items, FVAL_STR ("nofail-matches") */
};

struct fval {
	enum fval_type type;
	union {
		const char *s;
		long i;
		struct filter_id ip;
		struct {
			const struct fval *items;
			size_t n;
		} v;
	} u;
};

struct fentry {
	const char *key; /* group name as fail2ban names it (lower case) */
	struct fval val;
};

enum failure_kind {
	FAILURE_ADDR,    /* id.is_addr: the failing address */
	FAILURE_RAW,     /* id.text is a raw string id */
	FAILURE_DNS,     /* id.text is a host name the caller must resolve
	                    (usedns yes/warn); each address it resolves to is
	                    one failure */
	FAILURE_PENDING, /* an mlfid failure without an id yet; id.text is
	                    NULL. Only with FILTER_CHECK_ALL or
	                    FILTER_KEEP_PENDING */
};

/*
 * One failure, as fail2ban's [regex index, id, time, dict]. All pointers
 * are owned by the filter and stay valid until the next filter_process*()
 * call or filter_free().
 */
struct failure {
	int regex; /* 0-based failregex index */
	enum failure_kind kind;
	struct filter_id id;
	bool has_time; /* false: the line had no usable date */
	double time;   /* epoch seconds (fractions kept) */
	bool int_time; /* fail2ban holds time as an int (a zone was applied
	                  to the date, or TAI64N; see date_match.int_time):
	                  Python prints it without ".0" */
	bool nofail;   /* the dict's "nofail" is truthy: information only,
	                  not a failure (fail2ban-regex counts the line as
	                  ignored; the server still counts it when no mlfid) */
	const struct fentry *groups; /* the dict in insertion order, every
	                                named group (None included) plus
	                                derived keys ("users", "ip",
	                                "mlfpending", ...); no "matches" */
	size_t ngroups;
	const char *const *matches; /* the matched log lines, full text */
	size_t nmatches;
};

/* Returns the entry for key in fl's dict, or NULL. */
const struct fval *failure_get(const struct failure *fl, const char *key);

enum filter_warn {
	/* A failregex matched a line without a usable date ("Found a match
	 * but no valid date/time found"). */
	FILTER_WARN_NODATE = 1 << 0,
	/* Operation mode replaced a date far from now by now. */
	FILTER_WARN_TIME_ADJUSTED = 1 << 1,
	/* Catch-up mode dropped a line older than findtime. */
	FILTER_WARN_TOO_OLD = 1 << 2,
	/* A regex hit the PCRE2 match or depth limit; it counted as no
	 * match. */
	FILTER_WARN_LIMIT = 1 << 3,
	/* The line was longer than max_line_len and was truncated. */
	FILTER_WARN_TRUNCATED = 1 << 4,
	/* A failure id could not be built (fail2ban's "No group found"). */
	FILTER_WARN_NOID = 1 << 5,
	/* The date text could not be converted in a way that makes fail2ban
	 * drop the line ("Failed to process line"); it was dropped. */
	FILTER_WARN_DATE_ERROR = 1 << 6,
};

/* What one line produced. Valid until the next filter_process*() call. */
struct filter_result {
	const struct failure *v; /* failures in the order produced */
	size_t n;
	bool ignored;      /* an ignoreregex matched during this line */
	bool pref_matched; /* the prefregex's last search matched (fail2ban's
	                      prefRegex.hasMatched(): a line dropped before the
	                      prefregex keeps the previous line's state) */
	const struct fentry *pref_groups; /* the prefregex's groups when it
	                                     was searched and matched on this
	                                     line (content included), else
	                                     NULL */
	size_t npref_groups;
	unsigned warn; /* enum filter_warn */
};

/*
 * Compiles fd. cfg may be NULL for defaults (server behaviour). now is the
 * wall-clock time used by the date detector for year ranges. Errors (bad
 * regex with file:line and offset, "No failure-id group in '...'",
 * "Cannot add empty regex", date pattern errors) go to d and NULL is
 * returned. fd is borrowed; returns a new filter, free with filter_free().
 */
struct filter *filter_new(const struct filterdef *fd,
    const struct filter_config *cfg, time_t now, struct diags *d);
void filter_free(struct filter *f);

/*
 * Processes one log line (len bytes, no trailing newline needed; trailing
 * '\r' and '\n' are stripped; longer than max_line_len: truncated).
 * Invalid UTF-8 is replaced by U+FFFD as fail2ban decodes lines; a NUL
 * byte ends the texts in the results. now is the current wall-clock time
 * (epoch seconds): it ages the mlfid cache and the last known date, and
 * dates lines that have none where fail2ban does. Never blocks; run time
 * is bounded by the match limits; no allocation unless a failregex
 * matches. Fills *res and returns res->n.
 */
size_t filter_process(struct filter *f, const char *line, size_t len,
    double now, struct filter_result *res);

/*
 * Processes a journal entry whose date is already known (no date
 * detection): msg is the message text, date_text the date as text (it is
 * kept in the matched lines as fail2ban's journal backend does), time its
 * epoch seconds.
 */
size_t filter_process_entry(struct filter *f, const char *date_text,
    const char *msg, size_t len, double time, double now,
    struct filter_result *res);

/*
 * Two threads on one filter (`warden regex`'s pipeline): the first works
 * lines out ahead with filter_prep_line(), the second hands each to
 * filter_process_pre() in the same order; together they give exactly
 * filter_process()'s results. The first stage clips and repairs the
 * line and runs the date detector (whose state it alone then touches:
 * one thread per stage keeps the template order), and, when asked,
 * searches the prefregex and failregexes on the subject the second
 * stage will build for a single-line filter. The second stage uses a
 * search worked out ahead only when its own subject is byte for byte
 * the one searched, else searches itself. Searches are pure, so where
 * they run changes no result.
 */
struct filter_pre;  /* one line worked out ahead */
struct filter_prep; /* the first stage's own match data */

/* For f; f must outlive it. Thread-safe against filter_process_pre(). */
struct filter_prep *filter_prep_new(struct filter *f);
void filter_prep_free(struct filter_prep *p);
/* A reusable line record for f's regexes. */
struct filter_pre *filter_pre_new(const struct filter *f);
void filter_pre_free(struct filter_pre *pre);
/*
 * The first stage for line (len bytes, trailing "\r\n" stripped as by
 * filter_process()), which must stay unchanged until its
 * filter_process_pre(); searches: also the regex searches. line[len]
 * must be readable: when it is '\n', the searches may read the subject
 * in place.
 */
void filter_prep_line(struct filter_prep *p, const char *line, size_t len,
    double now, bool searches, struct filter_pre *out);
/* The searches of out's line, later, when filter_prep_line() was asked
 * for none; line as passed to it. Before the line's filter_process_pre(),
 * by the thread of the first stage (p's match data). */
void filter_prep_search(
    struct filter_prep *p, struct filter_pre *out, const char *line);
/* Hints the second stage's core to load what filter_process_pre() reads
 * first of pre (written by the other core): call it a few lines ahead. */
void filter_pre_prefetch(const struct filter_pre *pre);
/* The second stage: filter_process() of pre's line. */
size_t filter_process_pre(struct filter *f, const struct filter_pre *pre,
    double now, struct filter_result *res);

/* Operation mode (spec 3.5), for FILTER_CHECK_FINDTIME. Default: on. */
void filter_set_in_operation(struct filter *f, bool on);

/* Forgets the line buffer, last date and mlfid cache (e.g. on rotation). */
void filter_reset(struct filter *f);

/* Inspection, for fail2ban-regex's report. Strings are owned by f. */
int filter_maxlines(const struct filter *f);
size_t filter_failregex_count(const struct filter *f);
size_t filter_ignoreregex_count(const struct filter *f);
/* The regex as configured (with tags) and as compiled (tags expanded,
 * Python syntax, as fail2ban's getRegex() shows it). */
const char *filter_failregex(const struct filter *f, size_t i);
const char *filter_failregex_expanded(const struct filter *f, size_t i);
const char *filter_ignoreregex(const struct filter *f, size_t i);
/* Hits of ignoreregex i since filter_new() (fail2ban-regex's counts). */
unsigned long filter_ignoreregex_hits(const struct filter *f, size_t i);
/* NULL when the filter has no prefregex. */
const char *filter_prefregex_expanded(const struct filter *f);
/* The date detector (owned by f). */
struct datedetect *filter_datedetect(const struct filter *f);

/*
 * The multi-line buffer after the last line (fail2ban-regex's line
 * accounting compares it before and after a line). Each entry is the
 * (text before the date, date text, text after) triple.
 */
size_t filter_buffer_count(const struct filter *f);
void filter_buffer_get(const struct filter *f, size_t i, const char **pre,
    size_t *pre_len, const char **date, size_t *date_len, const char **post,
    size_t *post_len);

/* Counters since filter_new(). */
struct filter_stats {
	unsigned long lines;         /* lines processed */
	unsigned long truncated;     /* lines cut at max_line_len */
	unsigned long limit_hits;    /* searches stopped by a match limit */
	unsigned long noid;          /* matches without a usable id */
	unsigned long mlfid_evicted; /* cache entries dropped for room */
	unsigned long
	    date_errors; /* lines dropped for FILTER_WARN_DATE_ERROR */
};
void filter_get_stats(const struct filter *f, struct filter_stats *st);

/*
 * Appends Python's repr() of v (quotes and escapes as Python 3 prints
 * them; sets in insertion order), for fail2ban-regex's output.
 */
struct sbuf;
void fval_repr(const struct fval *v, struct sbuf *out);

/*
 * Tag expansion alone (fail2ban's Regex._resolveHostTag): appends the
 * expanded form of re to out. usedns "no" makes <HOST> match addresses
 * only. Exposed for tests and `warden check`.
 */
void filter_expand_tags(const char *re, const char *usedns, struct sbuf *out);

#endif
