/*
 * Date detection (see datedetect.h): fail2ban's DateDetector in C. A
 * datepattern line becomes a template the way fail2ban builds one (strptime
 * directives replaced by named groups, word or line-start boundaries added,
 * "**" and {UNB} honoured), its Python-syntax regex is kept for display and
 * translated to PCRE2 for matching. Template selection replays fail2ban's
 * algorithm step by step, including the "bubble up" reordering, so that the
 * chosen template, and thus the date, is the one fail2ban would choose.
 * The two templates that match nearly every real log line (syslog and ISO
 * 8601 at line start) also have a hand-written matcher that gives the same
 * result as the regex, or defers to it whenever unsure.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datedetect.h"
#include "sbuf.h"
#include "strptime.h"
#include "xmalloc.h"

/* Template flags, as fail2ban's DateTemplate. */
#define F_LINE_BEGIN 8u
#define F_LINE_END   4u
#define F_WORD_BEGIN 2u
#define F_WORD_END   1u

/* Limits that keep a hostile line from costing more than a bounded time. */
#define DD_MATCH_LIMIT 100000u
#define DD_DEPTH_LIMIT 1000u
#define DD_MAX_FIELDS  32
/* fail2ban forgets a template unused for this long (seconds). */
#define DD_UNUSED_TIME 300.0

enum wordbegin { WB_NO, WB_YES, WB_START };

/*
 * Cheap necessary conditions of the default templates, checked on an
 * ASCII line before running their regex: most lines without a date (sshd
 * -E logs, continuation lines) then cost one scan instead of 31 searches.
 */
enum need {
	NEED_COLON = 1 << 0,    /* a digit, ':', a digit (a time) */
	NEED_DIGITS8 = 1 << 1,  /* 8 digits in a row (20050123) */
	NEED_DIGITS10 = 1 << 2, /* 10 digits in a row (an epoch) */
	NEED_AT = 1 << 3,       /* '@' (TAI64N) */
	NEED_KNOWN = 1 << 7,    /* the line's features are computed */
};
enum tkind { TK_PATTERN, TK_EPOCH, TK_TAI64N };
enum fastkind { FAST_NONE, FAST_SYSLOG, FAST_ISO };

struct tkey {
	enum strptime_key key;
	uint32_t grp;
};

struct tmpl {
	char *name;    /* fail2ban's display name */
	char *pattern; /* the datepattern it came from; NULL for built-ins */
	char *regex;   /* fail2ban's regex (Python syntax), for display */
	pcre2_code *code;
	enum tkind kind;
	bool longfrm; /* LEPOCH: 13/16 digits are ms/us */
	uint32_t grp; /* epoch: the group holding the number */
	unsigned flags;
	double weight;       /* 100 for the line-start copies of the defaults */
	bool shares_default; /* its key is a line-start copy's: see
	                        tmpl_weight() */
	uint32_t ngroups;    /* capturing groups in the regex */
	bool jit_tried;      /* pcre2_jit_compile() was called */
	struct tkey keys[DD_MAX_FIELDS];
	size_t nkeys;
	enum fastkind fast;
	unsigned need; /* NEED_*: what any line it matches must contain */
};

/* A template in a detector, with that detector's statistics. */
struct slot {
	struct tmpl *t;
	unsigned long hits;
	double last_used; /* the "now" of its last win */
	long distance;    /* offset of its last win */
};

struct datedetect {
	struct slot *v;
	size_t n, cap;
	bool has_tz;
	int tz_min;
	char *describe;
	/* %ExY: the three-digit year prefixes accepted, e.g. 200..202 */
	bool ydec[1000];
	char *exy; /* the regex for %ExY */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	PCRE2_SIZE *found_ov; /* copy of a reserved match's groups */
	uint32_t ovn;         /* pairs in md and found_ov */
	struct strptime_now now;
	/* fail2ban's matchTime() state */
	long last_pos;         /* start of the last winning match (chars) */
	int32_t last_pos_prev; /* character before it, -1 for none */
	int32_t last_pos_at;   /* character at it, -1 for none */
	long last_end;         /* end of the last winning match (chars) */
	int32_t last_end_prev; /* character before the end, -1 for none */
	int32_t last_end_at;   /* character at the end, -1 for none */
	size_t ascii_ok;       /* current line[0..ascii_ok) is ASCII */
	pcre2_code *alnum;     /* [\p{L}\p{N}], for non-ASCII isalnum() */
	size_t last_idx;       /* SIZE_MAX before the first match */
	size_t first_unused;
	struct strptime_field fields[DD_MAX_FIELDS];
	unsigned flags; /* DATEDETECT_* */
	/* The line as PCRE2 sees it: fail2ban reads lines decoded with
	   errors replaced, so an invalid UTF-8 byte must act like U+FFFD
	   (a non-word character), not like the nothing PCRE2 makes of it.
	   Each such byte becomes \x01 in a copy of the same length. */
	const char *subj;  /* NULL until needed for the current line */
	struct fcache *fc; /* last hand-matched line, see struct fcache */
	unsigned feat;     /* NEED_* the current line has, once NEED_KNOWN */
	char *copy;
	size_t copy_cap;
	/* usual_time(): the last minute converted, at its second 0 */
	bool min_ok;
	time_t min_now;
	int64_t min_month, min_day, min_hour, min_minute;
	double min_base;
};

/* ------------------------------------------------------------------ */
/* Directives                                                          */

struct directive {
	const char *key;   /* after '%' */
	const char *regex; /* Python syntax; NULL for %ExY (computed) */
	const char *name;  /* fail2ban's display word */
};

/* Multi-letter keys first: they are tried in this order after '%'. */
static const struct directive directives[] = {
    {"%", "%", "%"},
    {"ExZ", "(?P<Z>[A-Z](?:[A-Z]{2,4})?)", "ExZone name"},
    {"Exz",
        "(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\\d(?::?\\d{2})?|"
        "[A-Z](?:[A-Z]{2,4})?)",
        "ExZone offset"},
    {"Exd", "(?P<d>[1-2]\\d|0[1-9]|3[0-1])", "ExDay"},
    {"Exm", "(?P<m>0[1-9]|1[0-2])", "ExMonth"},
    {"ExH", "(?P<H>[0-1]\\d|2[0-3])", "Ex24hour"},
    {"Exk", " ?(?P<H>[0-1]?\\d|2[0-3])", "%Exk"},
    {"Exl", " ?(?P<I>1[0-2]|\\d)", "%Exl"},
    {"ExM", "(?P<M>[0-5]\\d)", "ExMinute"},
    {"ExS", "(?P<S>[0-5]\\d|6[0-1])", "ExSecond"},
    {"ExY", NULL, "ExYear"},
    {"Exy", "(?P<y>\\d{2})", "ExYear2"},
    {"d", "(?P<d>[1-2]\\d|[0 ]?[1-9]|3[0-1])", "Day"},
    {"f", "(?P<f>[0-9]{1,6})", "Microseconds"},
    {"H", "(?P<H>[0-1]?\\d|2[0-3])", "24hour"},
    {"I", "(?P<I>1[0-2]|0[1-9]|[1-9])", "12hour"},
    {"G", "(?P<G>\\d\\d\\d\\d)", "%G"},
    {"j",
        "(?P<j>36[0-6]|3[0-5]\\d|[1-2]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|"
        "0[1-9]|[1-9])",
        "Yearday"},
    {"m", "(?P<m>0?[1-9]|1[0-2])", "Month"},
    {"M", "(?P<M>[0-5]?\\d)", "Minute"},
    {"S", "(?P<S>[0-5]?\\d|6[0-1])", "Second"},
    {"U", "(?P<U>5[0-3]|[0-4]\\d|\\d)", "Yearweek"},
    {"w", "(?P<w>[0-6])", "Weekday"},
    {"u", "(?P<u>[1-7])", "%u"},
    {"V", "(?P<V>5[0-3]|0[1-9]|[1-4]\\d|\\d)", "%V"},
    {"y", "(?P<y>\\d\\d)", "Year2"},
    {"Y", "(?P<Y>\\d{4})", "Year"},
    {"z", "(?P<z>Z|UTC|GMT|[+-][01]\\d(?::?\\d{2})?)", "Zone offset"},
    {"A", "(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)",
        "DAYNAME"},
    {"a", "(?P<a>mon|tue|wed|thu|fri|sat|sun)", "DAY"},
    {"B",
        "(?P<B>september|february|november|december|january|october|"
        "august|march|april|june|july|may)",
        "MONTH"},
    {"b", "(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", "MON"},
    {"p", "(?P<p>am|pm)", "AMPM"},
    {"Z", "(?P<Z>Z|[A-Z]{3,5})", "Zone name"},
    {"W", "(?P<W>5[0-3]|[0-4]\\d|\\d)", "Yearweek"},
    {"c",
        "(?P<a>mon|tue|wed|thu|fri|sat|sun)\\s+"
        "(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\\s+"
        "(?P<d>3[0-1]|[1-2]\\d|0[1-9]|[1-9]| [1-9])\\s+"
        "(?P<H>2[0-3]|[0-1]\\d|\\d):(?P<M>[0-5]\\d|\\d):"
        "(?P<S>6[0-1]|[0-5]\\d|\\d)\\s+(?P<Y>\\d\\d\\d\\d)",
        "%c"},
    {"x",
        "(?P<m>1[0-2]|0[1-9]|[1-9])/(?P<d>3[0-1]|[1-2]\\d|0[1-9]|[1-9]| "
        "[1-9])/(?P<y>\\d\\d)",
        "%x"},
    {"X",
        "(?P<H>2[0-3]|[0-1]\\d|\\d):(?P<M>[0-5]\\d|\\d):"
        "(?P<S>6[0-1]|[0-5]\\d|\\d)",
        "%X"},
    {"k", " ?(?P<H>[0-2]?\\d)", "%k"},
    {"l", " ?(?P<I>1?\\d)", "%l"},
};

#define NDIRECTIVES (sizeof(directives) / sizeof(directives[0]))

/* The default templates, in fail2ban's order (our own transcription of
 * the formats fail2ban documents, see spec section 3.2), and what a line
 * they match must contain (each is a top-level, non-optional part). */
static const char *const default_patterns[] = {
    "%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?"
    "(?:\\s*%z)?",
    "(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?",
    "(?:%a )?%b %d %ExY %k:%M:%S(?:\\.%f)?",
    "%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S",
    "%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\\.%f)?(?: %z)?",
    "%m/%d/%ExY:%H:%M:%S",
    "%m-%d-%ExY %k:%M:%S(?:\\.%f)?",
    "EPOCH",
    "{^LN-BEG}%H:%M:%S",
    "^<%m/%d/%Exy@%H:%M:%S>",
    "%Exy%Exm%Exd  ?%H:%M:%S",
    "%b %d, %ExY %I:%M:%S %p",
    "^%b-%d-%Exy %k:%M:%S",
    "%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\\s*%z)?",
    "(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?",
    "(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?",
    "TAI64N",
};

#define NDEFAULTS (sizeof(default_patterns) / sizeof(default_patterns[0]))

static const unsigned default_needs[NDEFAULTS] = {NEED_COLON, NEED_COLON,
    NEED_COLON, NEED_COLON, NEED_COLON, NEED_COLON, NEED_COLON, NEED_DIGITS10,
    NEED_COLON, NEED_COLON, NEED_COLON, NEED_COLON, NEED_COLON, NEED_DIGITS8,
    NEED_COLON, NEED_COLON, NEED_AT};

static const char epoch_re[] = "\\d{10,11}\\b(?:\\.\\d{3,6})?";
static const char lepoch_re[] = "\\d{10,11}(?:\\d{3}(?:\\.\\d{1,6}|\\d{3})?)?";

/* ------------------------------------------------------------------ */
/* %ExY                                                                */

struct strset {
	char v[16][8];
	size_t n;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* fail2ban's compact regex for a sorted set of equal-length digit
 * strings: a common prefix, then a class or an alternation. */
static void
group_strings(const struct strset *set, struct sbuf *out)
{
	size_t len = strlen(set->v[0]);

	if (set->n > 1 && len > 0) {
		size_t pre = 0;
		bool same = true;

		/* all but the last character equal? */
		for (size_t i = 1; i < set->n; i++)
			if (strncmp(set->v[i], set->v[0], len - 1) != 0)
				same = false;
		if (same && len > 1) {
			pre = len - 1;
		} else {
			same = true;
			for (size_t i = 1; i < set->n; i++)
				if (set->v[i][0] != set->v[0][0])
					same = false;
			if (same)
				pre = 1;
		}
		if (pre > 0) {
			struct strset rest;

			sbuf_add(out, set->v[0], pre);
			rest.n = set->n;
			for (size_t i = 0; i < set->n; i++) {
				size_t l = strlen(set->v[i] + pre);

				memcpy(rest.v[i], set->v[i] + pre, l + 1);
			}
			group_strings(&rest, out);
			return;
		}
	}
	if (set->n > 1) {
		if (len > 1) {
			sbuf_addstr(out, "(?:");
			for (size_t i = 0; i < set->n; i++) {
				if (i > 0)
					sbuf_addch(out, '|');
				sbuf_addstr(out, set->v[i]);
			}
			sbuf_addch(out, ')');
		} else {
			sbuf_addch(out, '[');
			for (size_t i = 0; i < set->n; i++)
				sbuf_addstr(out, set->v[i]);
			sbuf_addch(out, ']');
		}
		return;
	}
	sbuf_addstr(out, set->v[0]);
}

static void
strset_add(struct strset *s, long year)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%ld", year);

	if (n < 3)
		return;
	buf[3] = '\0';
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], buf) == 0)
			return;
	if (s->n < 16)
		memcpy(s->v[s->n++], buf, 4);
}

/*
 * The years %ExY accepts: the decades of last year and of three years
 * ahead, and every decade from 2000 up to now (fail2ban's test-date
 * allowance, which is always part of the set).
 */
static void
build_exy(struct datedetect *dd, time_t now)
{
	struct strset set = {.n = 0};
	struct sbuf b = SBUF_INIT;
	struct tm tm;
	long year;

	localtime_r(&now, &tm);
	year = tm.tm_year + 1900L;
	strset_add(&set, year - 1);
	strset_add(&set, year + 3);
	for (long i = -1; i < year - 2001 + 1; i += 3)
		strset_add(&set, 2001 + i);
	qsort(set.v, set.n, sizeof(set.v[0]), cmp_str);
	memset(dd->ydec, 0, sizeof(dd->ydec));
	for (size_t i = 0; i < set.n; i++)
		dd->ydec[strtol(set.v[i], NULL, 10) % 1000] = true;
	sbuf_addstr(&b, "(?P<Y>");
	group_strings(&set, &b);
	sbuf_addstr(&b, "\\d)");
	dd->exy = sbuf_detach(&b);
}

/* ------------------------------------------------------------------ */
/* Python regex -> PCRE2                                               */

static bool
is_hex(int c)
{
	return isxdigit((unsigned char)c) != 0;
}

/*
 * Translates a Python `re` pattern to PCRE2 syntax (compiled with UTF and
 * UCP): drops the 'u' flag, maps \Z, \uXXXX, {,n}, makes \s match what
 * Python's does, and rejects what Python rejects that PCRE2 would take.
 * Returns 0, or -1 with *err set to a static message.
 */
static int
py_to_pcre(const char *p, struct sbuf *out, bool *ascii, const char **err)
{
	size_t n = strlen(p), i = 0;
	bool in_class = false;

	*ascii = false;
	while (i < n) {
		char c = p[i];

		if (c == '\\') {
			char e;

			if (i + 1 >= n) {
				*err = "bad escape (end of pattern)";
				return -1;
			}
			e = p[i + 1];
			if (e == 'u' || e == 'U') {
				size_t k = e == 'u' ? 4 : 8;

				for (size_t j = 0; j < k; j++)
					if (i + 2 + j >= n ||
					    !is_hex(p[i + 2 + j])) {
						*err = "incomplete \\u escape";
						return -1;
					}
				sbuf_addstr(out, "\\x{");
				sbuf_add(out, p + i + 2, k);
				sbuf_addch(out, '}');
				i += 2 + k;
				continue;
			}
			if (e == 's' || e == 'S') {
				if (in_class)
					sbuf_addstr(out,
					    e == 's' ? "\\s\\x1c-\\x1f"
					             : "\\S");
				else
					sbuf_addstr(out,
					    e == 's' ? "[\\s\\x1c-\\x1f]"
					             : "[^\\s\\x1c-\\x1f]");
				i += 2;
				continue;
			}
			if (e == 'Z' && !in_class) {
				sbuf_addstr(out, "\\z");
				i += 2;
				continue;
			}
			if (isalpha((unsigned char)e) &&
			    strchr(
			        in_class ? "abdDfnrswWtvx" : "abBdDfnrswWtvAx",
			        e) == NULL) {
				*err = "bad escape";
				return -1;
			}
			if (e == 'x' &&
			    (i + 3 >= n + 0 || !is_hex(p[i + 2]) ||
			        !is_hex(p[i + 3]))) {
				*err = "incomplete \\x escape";
				return -1;
			}
			sbuf_add(out, p + i, 2);
			i += 2;
			continue;
		}
		if (in_class) {
			if (c == ']') {
				in_class = false;
			} else if (c == '[') {
				sbuf_addstr(out, "\\[");
				i++;
				continue;
			}
			sbuf_addch(out, c);
			i++;
			continue;
		}
		if (c == '[') {
			in_class = true;
			sbuf_addch(out, c);
			i++;
			if (i < n && p[i] == '^') {
				sbuf_addch(out, '^');
				i++;
			}
			/* a ']' right after '[' or '[^' is literal */
			if (i < n && p[i] == ']') {
				sbuf_addstr(out, "\\]");
				i++;
			}
			continue;
		}
		if (c == '(' && i + 1 < n && p[i + 1] == '?') {
			size_t j = i + 2;
			char x = j < n ? p[j] : '\0';

			if (x == ':' || x == '=' || x == '!' || x == '#' ||
			    x == '(' || x == '>' ||
			    (x == 'P' && j + 1 < n &&
			        (p[j + 1] == '<' || p[j + 1] == '=')) ||
			    (x == '<' && j + 1 < n &&
			        (p[j + 1] == '=' || p[j + 1] == '!'))) {
				sbuf_add(out, "(?", 2);
				i += 2;
				continue;
			}
			/* inline flags: (?aiLmsux-imsx) or (?aiLmsux-imsx:...)
			 */
			{
				struct sbuf f = SBUF_INIT;
				bool ok = true;

				while (
				    j < n && strchr("aiLmsux-", p[j]) != NULL) {
					if (p[j] == 'L') {
						ok = false;
						break;
					}
					if (p[j] == 'a')
						*ascii = true;
					else if (p[j] != 'u')
						sbuf_addch(&f, p[j]);
					j++;
				}
				if (!ok || j >= n ||
				    (p[j] != ')' && p[j] != ':') ||
				    j == i + 2) {
					sbuf_cleanup(&f);
					*err = "unknown extension or flag "
					       "after (?";
					return -1;
				}
				if (f.len == 0 && p[j] == ')') {
					/* only 'u' or 'a': nothing left to say
					 */
				} else {
					sbuf_add(out, "(?", 2);
					sbuf_add(out, f.s ? f.s : "", f.len);
					sbuf_addch(out, p[j]);
				}
				sbuf_cleanup(&f);
				i = j + 1;
				continue;
			}
		}
		if (c == '{' && i + 1 < n && p[i + 1] == ',') {
			/* Python's {,n} is {0,n} */
			size_t j = i + 2;

			while (j < n && isdigit((unsigned char)p[j]))
				j++;
			if (j < n && p[j] == '}') {
				sbuf_addstr(out, "{0");
				i++;
				continue;
			}
		}
		sbuf_addch(out, c);
		i++;
	}
	if (in_class) {
		*err = "unterminated character set";
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* fail2ban's regex surgery (DateTemplate.setRegex)                    */

static bool
is_wordc(unsigned char c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* Length of "(?" \w+ ")" at s, or 0. */
static size_t
flag_group_at(const char *s)
{
	size_t i = 2;

	if (s[0] != '(' || s[1] != '?')
		return 0;
	while (is_wordc((unsigned char)s[i]))
		i++;
	if (i == 2 || s[i] != ')')
		return 0;
	return i + 1;
}

/* '^' | '('* '**' | '(' ('?:')? '^' at s */
static bool
nobound_alt(const char *s)
{
	size_t k = 0;

	if (s[0] == '^')
		return true;
	while (s[k] == '(')
		k++;
	if (s[k] == '*' && s[k + 1] == '*')
		return true;
	if (s[0] == '(' && (s[1] == '^' || strncmp(s + 1, "?:^", 3) == 0))
		return true;
	return false;
}

/* The pattern disables the leading word boundary (starts with ^ or **). */
static bool
no_word_bound_begin(const char *r)
{
	size_t np = 0;

	while (r[np] == '(')
		np++;
	for (size_t k = np + 1; k-- > 0;) {
		size_t fg = flag_group_at(r + k);

		if (fg > 0 && nobound_alt(r + k + fg))
			return true;
		if (nobound_alt(r + k))
			return true;
	}
	return false;
}

/* The pattern disables the trailing boundary ($, \b, \s or ** at end). */
static bool
no_word_bound_end(const char *r)
{
	size_t n = strlen(r), t = 0;

	if (n >= 1 && r[n - 1] == '$' && (n < 2 || r[n - 2] != '\\'))
		return true;
	if (n >= 2 && r[n - 2] == '$' && r[n - 1] == ')' &&
	    (n < 3 || r[n - 3] != '\\'))
		return true;
	if (n >= 2 && r[n - 2] == '\\' &&
	    (r[n - 1] == 'b' || r[n - 1] == 's') && (n < 3 || r[n - 3] != '\\'))
		return true;
	while (t < n && r[n - 1 - t] == ')')
		t++;
	if (n >= t + 2 && r[n - t - 1] == '*' && r[n - t - 2] == '*' &&
	    (n < t + 3 || r[n - t - 3] != '\\'))
		return true;
	return false;
}

/* The regex has a capturing group already. */
static bool
has_group(const char *r)
{
	for (size_t i = 0; r[i]; i++) {
		if (r[i] != '(' || r[i + 1] == '?')
			continue;
		if (i >= 1 && r[i - 1] == '\\')
			continue;
		if (i >= 2 && r[i - 2] == '(' && r[i - 1] == '?')
			continue;
		return true;
	}
	return false;
}

/* Wraps the body in a group, keeping leading flags/^ and a trailing $. */
static char *
wrap_group(const char *r)
{
	size_t n = strlen(r), p = 0, e = n, fg;
	struct sbuf b = SBUF_INIT;

	fg = flag_group_at(r);
	p += fg;
	if (r[p] == '^')
		p++;
	p += flag_group_at(r + p);
	if (e > p && r[e - 1] == '$')
		e--;
	sbuf_add(&b, r, p);
	sbuf_addch(&b, '(');
	sbuf_add(&b, r + p, e - p);
	sbuf_addch(&b, ')');
	sbuf_add(&b, r + e, n - e);
	return sbuf_detach(&b);
}

static bool
line_bound_begin(const char *r)
{
	size_t fg = flag_group_at(r);
	const char *alts[2] = {r + fg, r};

	for (int k = fg > 0 ? 0 : 1; k < 2; k++) {
		const char *s = alts[k];

		if (s[0] == '^')
			return true;
		if (s[0] == '(') {
			if (s[1] == '^' && s[2] != '|')
				return true;
			if (strncmp(s + 1, "?:^", 3) == 0 && s[4] != '|')
				return true;
		}
	}
	return false;
}

static bool
line_bound_end(const char *r)
{
	size_t n = strlen(r);

	if (n >= 1 && r[n - 1] == '$' &&
	    (n < 2 || (r[n - 2] != '\\' && r[n - 2] != '|')))
		return true;
	if (n >= 2 && r[n - 1] == ')' && r[n - 2] == '$' &&
	    (n < 3 || (r[n - 3] != '\\' && r[n - 3] != '|')))
		return true;
	return false;
}

/* Removes the "**" markers at the start and the end. */
static char *
del_word_bounds(const char *r)
{
	size_t n = strlen(r), from = 0, k;
	struct sbuf b = SBUF_INIT;

	/* start: '('* [flag group] '('* '**', with backtracking */
	{
		size_t np = 0;
		bool done = false;

		while (r[np] == '(')
			np++;
		for (size_t a = np + 1; a-- > 0 && !done;) {
			size_t cands[2], nc = 0, fg = flag_group_at(r + a);

			if (fg > 0)
				cands[nc++] = a + fg;
			cands[nc++] = a;
			for (size_t c = 0; c < nc && !done; c++) {
				size_t q = cands[c];

				while (r[q] == '(')
					q++;
				if (r[q] == '*' && r[q + 1] == '*') {
					sbuf_add(&b, r, q);
					from = q + 2;
					done = true;
				}
			}
		}
	}
	/* end: '**' ')'* at the end, not escaped */
	for (k = from; k + 1 < n; k++) {
		size_t j = k + 2;

		if (r[k] != '*' || r[k + 1] != '*')
			continue;
		if (k > 0 && r[k - 1] == '\\')
			continue;
		while (j < n && r[j] == ')')
			j++;
		if (j == n) {
			sbuf_add(&b, r + from, k - from);
			sbuf_add(&b, r + k + 2, n - k - 2);
			return sbuf_detach(&b);
		}
	}
	sbuf_add(&b, r + from, n - from);
	return sbuf_detach(&b);
}

static bool
is_pyspace(unsigned char c)
{
	return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f);
}

static char *
strip_dup(const char *s, size_t n)
{
	while (n > 0 && is_pyspace((unsigned char)s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_pyspace((unsigned char)s[n - 1]))
		n--;
	return xmemdup(s, n);
}

/* Finds the first "(?" [a-z]+ ")" in r. */
static bool
find_global_flags(const char *r, size_t *at, size_t *len)
{
	for (size_t i = 0; r[i]; i++) {
		size_t j = i + 2;

		if (r[i] != '(' || r[i + 1] != '?')
			continue;
		while (r[j] >= 'a' && r[j] <= 'z')
			j++;
		if (j > i + 2 && r[j] == ')') {
			*at = i;
			*len = j + 1 - i;
			return true;
		}
	}
	return false;
}

/*
 * fail2ban's DateTemplate.setRegex: adds the boundaries, a group(1) when
 * there is none, sets the LINE_* flags, removes "**". Takes regex (owned),
 * stores the result in t->regex and may prefix t->name with {^LN-BEG}.
 */
static void
template_set_regex(struct tmpl *t, char *regex, enum wordbegin wb, bool we)
{
	char *r = strip_dup(regex, strlen(regex)), *gf = NULL, *tmp;
	size_t at, len;
	bool bbeg, bend;
	struct sbuf b = SBUF_INIT;

	free(regex);
	if (find_global_flags(r, &at, &len)) {
		gf = xmemdup(r + at, len);
		memmove(r + at, r + at + len, strlen(r + at + len) + 1);
	}
	bbeg = wb != WB_NO && !no_word_bound_begin(r);
	bend = we && !no_word_bound_end(r);
	if (!has_group(r)) {
		tmp = wrap_group(r);
		free(r);
		r = tmp;
	}
	t->flags = 0;
	if (bbeg) {
		if (wb != WB_START) {
			t->flags |= F_WORD_BEGIN;
			sbuf_addstr(&b, "(?=^|\\b|\\W)");
		} else {
			t->flags |= F_LINE_BEGIN;
			sbuf_addstr(&b, "^(?:\\W{0,2})?");
			if (strncmp(t->name, "{^LN-BEG}", 9) != 0) {
				tmp = xasprintf("{^LN-BEG}%s", t->name);
				free(t->name);
				t->name = tmp;
			}
		}
	}
	sbuf_addstr(&b, r);
	free(r);
	if (bend) {
		t->flags |= F_WORD_END;
		sbuf_addstr(&b, "(?=\\b|\\W|$)");
	}
	r = sbuf_detach(&b);
	if (!(t->flags & F_LINE_BEGIN) && line_bound_begin(r))
		t->flags |= F_LINE_BEGIN;
	if (!(t->flags & F_LINE_END) && line_bound_end(r))
		t->flags |= F_LINE_END;
	tmp = del_word_bounds(r);
	free(r);
	r = tmp;
	if (gf != NULL) {
		tmp = xasprintf("%s%s", gf, r);
		free(r);
		free(gf);
		r = tmp;
	}
	free(t->regex);
	t->regex = r;
}

/* ------------------------------------------------------------------ */
/* Building templates                                                  */

static void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->pattern);
	free(t->regex);
	pcre2_code_free(t->code);
	free(t);
}

static struct tmpl *
tmpl_alloc(void)
{
	struct tmpl *t = xcalloc(1, sizeof(*t));

	t->weight = 1.0;
	t->grp = 1;
	return t;
}

static bool
starts_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Finds a directive key at s (just after '%'). */
static const struct directive *
directive_at(const char *s)
{
	for (size_t i = 0; i < NDIRECTIVES; i++) {
		size_t l = strlen(directives[i].key);

		if (strncmp(s, directives[i].key, l) == 0)
			return &directives[i];
	}
	return NULL;
}

/*
 * DatePatternRegex: a strptime-style pattern. Returns a template without
 * compiled code, or NULL with *err (new string) set.
 */
static struct tmpl *
pattern_template(struct datedetect *dd, const char *pattern, char **err)
{
	struct tmpl *t = tmpl_alloc();
	struct sbuf name = SBUF_INIT, re = SBUF_INIT;
	const char *p = pattern;
	enum wordbegin wb = WB_YES;
	bool we = true, alpha = false;

	t->kind = TK_PATTERN;
	t->pattern = xstrdup(pattern);
	if (strncmp(p, "{UNB}", 5) == 0) {
		p += 5;
		wb = WB_NO;
		we = false;
	}
	if (wb != WB_NO && strncmp(p, "{^LN-BEG}", 9) == 0) {
		p += 9;
		wb = WB_START;
	}
	for (size_t i = 0; p[i]; i++) {
		const struct directive *d;

		if (p[i] != '%') {
			sbuf_addch(&name, p[i]);
			sbuf_addch(&re, p[i]);
			continue;
		}
		d = directive_at(p + i + 1);
		if (d == NULL) {
			*err = xasprintf("Failed to set datepattern '%s' "
			                 "(may be an invalid format or "
			                 "unescaped percent char): unsupported "
			                 "directive '%%%.1s'",
			    pattern, p[i + 1] ? p + i + 1 : "");
			goto fail;
		}
		if (strchr("aAbBpc", d->key[0]) != NULL && d->key[1] == '\0' &&
		    (i == 0 || p[i - 1] != '%'))
			alpha = true;
		sbuf_addstr(&name, d->name);
		sbuf_addstr(&re, d->regex != NULL ? d->regex : dd->exy);
		i += strlen(d->key);
	}
	t->name = sbuf_detach(&name);
	if (alpha) {
		char *tmp = xasprintf("(?iu)%s", sbuf_str(&re));

		sbuf_cleanup(&re);
		template_set_regex(t, tmp, wb, we);
	} else {
		template_set_regex(t, sbuf_detach(&re), wb, we);
	}
	return t;
fail:
	sbuf_cleanup(&name);
	sbuf_cleanup(&re);
	tmpl_free(t);
	return NULL;
}

/* DateEpoch. With a pattern, {EPOCH}/{LEPOCH} mark where the number is. */
static struct tmpl *
epoch_template(const char *pattern, bool line_begin, bool longfrm)
{
	struct tmpl *t = tmpl_alloc();
	const char *ere = longfrm ? lepoch_re : epoch_re;
	struct sbuf b = SBUF_INIT;

	t->kind = TK_EPOCH;
	t->longfrm = longfrm;
	t->name = xstrdup(pattern != NULL ? pattern
	        : longfrm                 ? "LongEpoch"
	                                  : "Epoch");
	if (pattern != NULL) {
		const char *s = pattern;

		sbuf_addch(&b, '(');
		while (*s) {
			size_t l = 0;

			if (*s == '{' && (s == pattern || s[-1] != '\\')) {
				if (starts_ci(s, "{EPOCH}"))
					l = 7;
				else if (starts_ci(s, "{LEPOCH}"))
					l = 8;
			}
			if (l > 0) {
				sbuf_printf(&b, "(%s)", ere);
				s += l;
			} else {
				sbuf_addch(&b, *s++);
			}
		}
		sbuf_addch(&b, ')');
		t->grp = 2;
		template_set_regex(t, sbuf_detach(&b), WB_YES, true);
	} else if (!line_begin) {
		sbuf_printf(&b,
		    "((?:^|(?P<square>(?<=^\\[))|(?P<selinux>(?<=\\baudit\\()))"
		    "%s)(?:(?(selinux)(?=:\\d+\\)))|(?(square)(?=\\])))",
		    ere);
		template_set_regex(t, sbuf_detach(&b), WB_NO, true);
	} else {
		sbuf_printf(
		    &b, "((?P<square>(?<=^\\[))?%s)(?(square)(?=\\]))", ere);
		template_set_regex(t, sbuf_detach(&b), WB_START, true);
	}
	return t;
}

static struct tmpl *
tai64n_template(bool line_begin)
{
	struct tmpl *t = tmpl_alloc();

	t->kind = TK_TAI64N;
	t->name = xstrdup("TAI64N");
	template_set_regex(
	    t, xstrdup("@[0-9a-f]{24}"), line_begin ? WB_START : WB_NO, true);
	return t;
}

static bool
contains_epoch_marker(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p == '{' && (p == s || p[-1] != '\\') &&
		    (starts_ci(p, "{EPOCH}") || starts_ci(p, "{LEPOCH}")))
			return true;
	return false;
}

/* The key fail2ban caches a pattern under: upper-cased unless it has a
 * '%' directive. */
static char *
pattern_key(const char *pattern)
{
	char *k = xstrdup(pattern);

	if (strchr(pattern, '%') == NULL)
		for (char *p = k; *p; p++)
			*p = (char)toupper((unsigned char)*p);
	return k;
}

/* fail2ban's _getPatternTemplate. */
static struct tmpl *
make_template(
    struct datedetect *dd, const char *pattern, const char *key, char **err)
{
	if (strstr(key, "EPOCH") != NULL) {
		if (contains_epoch_marker(pattern))
			return epoch_template(
			    pattern, false, strstr(key, "LEPOCH") != NULL);
		if (strcmp(key, "EPOCH") == 0 ||
		    strcmp(key, "{^LN-BEG}EPOCH") == 0 ||
		    strcmp(key, "^EPOCH") == 0)
			return epoch_template(
			    NULL, strcmp(key, "EPOCH") != 0, false);
		if (strcmp(key, "LEPOCH") == 0 ||
		    strcmp(key, "{^LN-BEG}LEPOCH") == 0 ||
		    strcmp(key, "^LEPOCH") == 0)
			return epoch_template(
			    NULL, strcmp(key, "LEPOCH") != 0, true);
	}
	if (strcmp(key, "TAI64N") == 0 || strcmp(key, "{^LN-BEG}TAI64N") == 0 ||
	    strcmp(key, "^TAI64N") == 0)
		return tai64n_template(strcmp(key, "TAI64N") != 0);
	return pattern_template(dd, pattern, err);
}

static struct fcache *fcache_new(void);

/* The Python syntax of the two templates with a hand-written matcher. */
static char *fast_regex_syslog(const struct datedetect *dd);
static char *fast_regex_iso(const struct datedetect *dd);

/* Compiles t's regex; fills the group map. Returns 0 or -1 with *err. */
static int
tmpl_compile(struct datedetect *dd, struct tmpl *t, char **err)
{
	struct sbuf pc = SBUF_INIT;
	const char *terr = NULL;
	bool ascii = false;
	int ecode;
	PCRE2_SIZE eoff;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, count = 0,
	         esize = 0;
	PCRE2_SPTR table = NULL;
	char *fr;

	if (py_to_pcre(t->regex, &pc, &ascii, &terr) != 0) {
		*err = xasprintf(
		    "bad date pattern regex '%s': %s", t->regex, terr);
		sbuf_cleanup(&pc);
		return -1;
	}
	if (!ascii)
		opts |= PCRE2_UCP;
	t->code = pcre2_compile((PCRE2_SPTR)sbuf_str(&pc),
	    PCRE2_ZERO_TERMINATED, opts, &ecode, &eoff, NULL);
	sbuf_cleanup(&pc);
	if (t->code == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(ecode, msg, sizeof(msg));
		*err =
		    xasprintf("bad date pattern regex '%s': %s at offset %zu",
		        t->regex, (const char *)msg, (size_t)eoff);
		return -1;
	}
	/* JIT-compiled at its first regex match (tmpl_match): a jail tries
	 * few of its templates, and machine code is most of a pattern's
	 * memory */
	pcre2_pattern_info(t->code, PCRE2_INFO_CAPTURECOUNT, &t->ngroups);
	pcre2_pattern_info(t->code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(t->code, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(t->code, PCRE2_INFO_NAMETABLE, &table);
	t->nkeys = 0;
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *e = table + (size_t)i * esize;
		uint32_t g = (uint32_t)e[0] << 8 | e[1];
		enum strptime_key k = strptime_key_of((const char *)e + 2);

		if (k == SK_NONE)
			continue;
		if (t->nkeys >= DD_MAX_FIELDS) {
			*err = xasprintf("bad date pattern regex '%s': too "
			                 "many fields",
			    t->regex);
			return -1;
		}
		t->keys[t->nkeys].key = k;
		t->keys[t->nkeys].grp = g;
		t->nkeys++;
	}
	/* The name table is sorted by name; fail2ban reads the groups in
	   the order they appear. */
	for (size_t i = 1; i < t->nkeys; i++)
		for (size_t j = i; j > 0 && t->keys[j - 1].grp > t->keys[j].grp;
		     j--) {
			struct tkey x = t->keys[j];

			t->keys[j] = t->keys[j - 1];
			t->keys[j - 1] = x;
		}
	t->fast = FAST_NONE;
	if (t->kind == TK_PATTERN) {
		fr = fast_regex_syslog(dd);
		if (strcmp(fr, t->regex) == 0)
			t->fast = FAST_SYSLOG;
		free(fr);
		fr = fast_regex_iso(dd);
		if (strcmp(fr, t->regex) == 0)
			t->fast = FAST_ISO;
		free(fr);
	}
	return 0;
}

static void
dd_add(struct datedetect *dd, struct tmpl *t)
{
	xgrow(&dd->v, &dd->cap, dd->n + 1, sizeof(dd->v[0]));
	dd->v[dd->n].t = t;
	dd->v[dd->n].hits = 0;
	dd->v[dd->n].last_used = 0;
	dd->v[dd->n].distance = 0x7fffffff;
	dd->n++;
}

static bool
dd_has_name(const struct datedetect *dd, const char *name)
{
	for (size_t i = 0; i < dd->n; i++)
		if (strcmp(dd->v[i].t->name, name) == 0)
			return true;
	return false;
}

/* Appends t unless its name is taken: then an error, or silently dropped
 * when ignore_dup. Takes t. Returns 0 or -1 with *err. */
static int
dd_append(struct datedetect *dd, struct tmpl *t, bool ignore_dup, char **err)
{
	if (dd_has_name(dd, t->name)) {
		if (!ignore_dup)
			*err = xasprintf(
			    "There is already a template with name %s",
			    t->name);
		tmpl_free(t);
		return ignore_dup ? 0 : -1;
	}
	if (tmpl_compile(dd, t, err) != 0) {
		tmpl_free(t);
		return -1;
	}
	dd_add(dd, t);
	return 0;
}

/*
 * The default list: each default template, and before all of them the
 * line-start copy of each one that is not anchored already.
 * Returns new templates in *out (31 of them) with their weights.
 */
static size_t
default_templates(struct datedetect *dd, struct tmpl **out, bool originals)
{
	struct tmpl *orig[NDEFAULTS], *anch[NDEFAULTS];
	size_t na = 0, n = 0;

	for (size_t i = 0; i < NDEFAULTS; i++) {
		char *key = pattern_key(default_patterns[i]), *err = NULL;

		orig[i] = make_template(dd, default_patterns[i], key, &err);
		assert(orig[i] != NULL);
		orig[i]->need = default_needs[i];
		free(key);
		free(err);
	}
	if (originals) {
		memcpy(out, orig, sizeof(orig));
		return NDEFAULTS;
	}
	for (size_t i = 0; i < NDEFAULTS; i++) {
		const char *name = orig[i]->name;
		struct tmpl *a;
		char *err = NULL;

		if (strncmp(name, "{^LN-BEG}", 9) == 0 || name[0] == '^')
			continue;
		if (orig[i]->pattern != NULL) {
			char *p = xasprintf("{^LN-BEG}%s", orig[i]->pattern);

			a = make_template(dd, p, p, &err);
			free(p);
		} else {
			char *p = xasprintf("{^LN-BEG}%s", name), *key;

			key = pattern_key(p);
			a = make_template(dd, p, key, &err);
			free(key);
			free(p);
		}
		assert(a != NULL);
		free(err);
		a->weight = 100.0;
		a->need = orig[i]->need;
		anch[na++] = a;
	}
	for (size_t i = 0; i < na; i++)
		out[n++] = anch[i];
	for (size_t i = 0; i < NDEFAULTS; i++)
		out[n++] = orig[i];
	return n;
}

/*
 * fail2ban keeps every template in one process-wide cache by key, and
 * the first time a detector takes the whole default list it makes the
 * line-start copies of the defaults with weight 100. A datepattern line
 * whose key is such a copy's ("{^LN-BEG}Epoch", "{^LN-BEG}TAI64N",
 * "{^LN-BEG}" + a default's pattern) gets that same template object, and
 * so weight 100 once the list was built in the process, by this detector
 * or an earlier one (1 before that). The weight orders the templates
 * (reorder()) and is what --VD shows.
 */
static bool default_cache_built;

static bool
anchored_default_key(const char *key)
{
	if (strncmp(key, "{^LN-BEG}", 9) != 0)
		return false;
	for (size_t i = 0; i < NDEFAULTS; i++) {
		const char *p = default_patterns[i];

		if (strncmp(p, "{^LN-BEG}", 9) == 0 || p[0] == '^')
			continue; /* no copy of those */
		if (strcmp(key + 9, p) == 0)
			return true;
	}
	return false;
}

static double
tmpl_weight(const struct tmpl *t)
{
	return t->shares_default && default_cache_built ? 100.0 : t->weight;
}

/* Strips a leading {UNB}, {^LN-BEG}, "(?:^|\b|\W)" and a trailing
 * "(?=\b|\W|$)" (fail2ban's unboundPattern). */
static char *
unbound_pattern(const char *s)
{
	size_t n;

	if (strncmp(s, "{UNB}", 5) == 0)
		s += 5;
	if (strncmp(s, "{^LN-BEG}", 9) == 0)
		s += 9;
	if (strncmp(s, "(?:^|\\b|\\W)", 11) == 0)
		s += 11;
	else if (strncmp(s, "(^|\\b|\\W)", 9) == 0)
		s += 9;
	n = strlen(s);
	if (n >= 11 && strcmp(s + n - 11, "(?=\\b|\\W|$)") == 0)
		n -= 11;
	return xmemdup(s, n);
}

/* Replaces every {DATE} (any case, not after a backslash) with rep. */
static char *
subst_date(const char *pre, const char *rep)
{
	struct sbuf b = SBUF_INIT;

	for (const char *p = pre; *p;) {
		if (*p == '{' && (p == pre || p[-1] != '\\') &&
		    starts_ci(p, "{DATE}")) {
			sbuf_addstr(&b, rep);
			p += 6;
		} else {
			sbuf_addch(&b, *p++);
		}
	}
	return sbuf_detach(&b);
}

/* fail2ban's addDefaultTemplate, for {DEFAULT}, {^LN-BEG} and {DATE}. */
static int
add_defaults(
    struct datedetect *dd, bool only_line_begin, const char *pre, char **err)
{
	struct tmpl *list[2 * NDEFAULTS];
	size_t n = default_templates(dd, list, pre != NULL);
	bool ignore_dup = dd->n > 0;
	int rc = 0;

	if (pre == NULL)
		default_cache_built = true;

	for (size_t i = 0; i < n; i++) {
		struct tmpl *t = list[i];

		list[i] = NULL;
		if (only_line_begin && !(t->flags & F_LINE_BEGIN)) {
			tmpl_free(t);
			continue;
		}
		if (pre != NULL) {
			const char *src =
			    t->pattern != NULL ? t->pattern : t->name;
			char *ub = unbound_pattern(src), *p, *key;
			struct tmpl *t2;

			p = subst_date(pre, ub);
			free(ub);
			key = pattern_key(p);
			if (t->pattern == NULL) {
				/* Epoch/TAI64N: fail2ban builds from the name
				 */
				free(p);
				ub = unbound_pattern(t->name);
				p = subst_date(pre, ub);
				free(ub);
				free(key);
				key = pattern_key(p);
			}
			t2 = make_template(dd, p, key, err);
			if (t2)
				t2->shares_default = anchored_default_key(key);
			free(p);
			free(key);
			tmpl_free(t);
			if (t2 == NULL) {
				rc = -1;
				break;
			}
			t = t2;
		}
		if (dd_append(dd, t, ignore_dup, err) != 0) {
			rc = -1;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		tmpl_free(list[i]);
	return rc;
}

/* appendTemplate for one datepattern line. Returns 0 or -1 with *err. */
static int
append_pattern(struct datedetect *dd, const char *pattern, char **err)
{
	char *key = pattern_key(pattern);
	struct tmpl *t;
	int rc;

	if (strcmp(key, "{^LN-BEG}") == 0 || strcmp(key, "{DEFAULT}") == 0) {
		rc = add_defaults(dd, strcmp(key, "{^LN-BEG}") == 0, NULL, err);
		free(key);
		return rc;
	}
	if (strstr(key, "{DATE}") != NULL) {
		rc = add_defaults(dd, false, pattern, err);
		free(key);
		return rc;
	}
	if (strcmp(key, "{NONE}") == 0)
		t = pattern_template(dd, "{UNB}^", err);
	else
		t = make_template(dd, pattern, key, err);
	if (t)
		t->shares_default = anchored_default_key(key);
	free(key);
	if (t == NULL)
		return -1;
	return dd_append(dd, t, false, err);
}

/* ------------------------------------------------------------------ */
/* Public: construction                                                */

struct datedetect *
datedetect_new(const char *pattern, const char *logtimezone, unsigned flags,
    time_t now, const char *file, int line, struct diags *d)
{
	/* the reader thread of `warden regex` writes it for every line
	 * while the main thread works: cache lines of its own */
	struct datedetect *dd = xmalloc_lines(sizeof(*dd));
	bool ok = true;

	memset(dd, 0, sizeof(*dd));
	dd->flags = flags;
	tzset();
	dd->last_idx = SIZE_MAX;
	dd->fc = fcache_new();
	dd->last_pos = 1;
	dd->last_pos_prev = dd->last_pos_at = -1;
	dd->last_end = 0x7fffffff;
	dd->last_end_prev = dd->last_end_at = -1;
	strptime_now_init(&dd->now);
	build_exy(dd, now);
	dd->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(dd->mctx, DD_MATCH_LIMIT);
	pcre2_set_depth_limit(dd->mctx, DD_DEPTH_LIMIT);

	/* "" is valid: fail2ban reads an empty logtimezone as UTC */
	if (logtimezone != NULL) {
		int m = 0;

		if (strptime_zone(logtimezone, strlen(logtimezone), &m) !=
		    STRPTIME_OK) {
			diag_add(d, DIAG_ERROR, file, line,
			    "Unknown or unsupported time zone: '%s'",
			    logtimezone);
			ok = false;
		}
		dd->has_tz = true;
		dd->tz_min = m;
	}

	if (pattern != NULL) {
		const char *p = pattern;
		int lno = line;

		while (*p) {
			const char *e = strchr(p, '\n');
			size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
			char *one = strip_dup(p, l), *err = NULL;

			if (one[0] != '\0' &&
			    append_pattern(dd, one, &err) != 0) {
				diag_add(d, DIAG_ERROR, file, lno, "%s",
				    err != NULL ? err : "bad datepattern");
				ok = false;
			}
			free(err);
			free(one);
			p += l;
			if (*p == '\n')
				p++;
			if (line > 0)
				lno++;
		}
	}
	if (ok && dd->n == 0) {
		char *err = NULL;

		if (add_defaults(dd, false, NULL, &err) != 0) {
			diag_add(d, DIAG_ERROR, file, line, "%s", err);
			ok = false;
		}
		free(err);
	}
	if (!ok) {
		datedetect_free(dd);
		return NULL;
	}
	{
		uint32_t maxg = 1, c;

		for (size_t i = 0; i < dd->n; i++) {
			pcre2_pattern_info(
			    dd->v[i].t->code, PCRE2_INFO_CAPTURECOUNT, &c);
			if (c + 1 > maxg)
				maxg = c + 1;
		}
		dd->md = pcre2_match_data_create(maxg, NULL);
		dd->ovn = pcre2_get_ovector_count(dd->md);
		dd->found_ov = xcalloc(2 * (size_t)dd->ovn, sizeof(PCRE2_SIZE));
	}
	if (dd->n == 0 || dd->n > 2)
		dd->describe = xstrdup("Default Detectors");
	else
		dd->describe = xstrdup(dd->v[0].t->name);
	return dd;
}

void
datedetect_free(struct datedetect *dd)
{
	if (dd == NULL)
		return;
	for (size_t i = 0; i < dd->n; i++)
		tmpl_free(dd->v[i].t);
	free(dd->v);
	free(dd->describe);
	free(dd->exy);
	free(dd->found_ov);
	free(dd->copy);
	free(dd->fc);
	pcre2_code_free(dd->alnum);
	pcre2_match_data_free(dd->md);
	pcre2_match_context_free(dd->mctx);
	free(dd);
}

size_t
datedetect_count(const struct datedetect *dd)
{
	return dd->n;
}

const char *
datedetect_name(const struct datedetect *dd, size_t i)
{
	return i < dd->n ? dd->v[i].t->name : NULL;
}

const char *
datedetect_regex(const struct datedetect *dd, size_t i)
{
	return i < dd->n ? dd->v[i].t->regex : NULL;
}

const char *
datedetect_pattern(const struct datedetect *dd, size_t i)
{
	return i < dd->n ? dd->v[i].t->pattern : NULL;
}

unsigned long
datedetect_hits(const struct datedetect *dd, size_t i)
{
	return i < dd->n ? dd->v[i].hits : 0;
}

double
datedetect_weight(const struct datedetect *dd, size_t i)
{
	const struct slot *s;

	if (i >= dd->n)
		return 0;
	s = &dd->v[i];
	return (double)s->hits * tmpl_weight(s->t) /
	    (double)(s->distance > 1 ? s->distance : 1);
}

double
datedetect_template_weight(const struct datedetect *dd, size_t i)
{
	return i < dd->n ? tmpl_weight(dd->v[i].t) : 0;
}

const char *
datedetect_describe(const struct datedetect *dd)
{
	return dd->describe;
}

/* ------------------------------------------------------------------ */
/* Hand-written matchers                                               */

static char *
fast_regex_syslog(const struct datedetect *dd)
{
	return xasprintf(
	    "(?iu)^(?:\\W{0,2})?((?:(?P<a>mon|tue|wed|thu|fri|sat|sun) )?"
	    "(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) "
	    "(?P<d>[1-2]\\d|[0 ]?[1-9]|3[0-1])  ?(?P<H>[0-2]?\\d):"
	    "(?P<M>[0-5]?\\d):(?P<S>[0-5]?\\d|6[0-1])"
	    "(?:\\.(?P<f>[0-9]{1,6}))?(?: %s)?)(?=\\b|\\W|$)",
	    dd->exy);
}

static char *
fast_regex_iso(const struct datedetect *dd)
{
	return xasprintf("^(?:\\W{0,2})?(%s(?P<_sep>[-/.])"
	                 "(?P<m>0?[1-9]|1[0-2])(?P=_sep)"
	                 "(?P<d>[1-2]\\d|[0 ]?[1-9]|3[0-1])(?:T|  ?)"
	                 "(?P<H>[0-1]?\\d|2[0-3]):(?P<M>[0-5]?\\d):"
	                 "(?P<S>[0-5]?\\d|6[0-1])(?:[.,](?P<f>[0-9]{1,6}))?"
	                 "(?:\\s*(?P<z>Z|UTC|GMT|[+-][01]\\d(?::?\\d{2})?))?)"
	                 "(?=\\b|\\W|$)",
	    dd->exy);
}

struct fastres {
	size_t start, end; /* group 1; the whole match is [0, end) */
	struct strptime_val val;
	size_t hw;  /* highest byte index the matcher looked at */
	bool usual; /* from syslog_usual(): month, day, hour, minute and
	               second only */
};

enum { FAST_NOMATCH = 0, FAST_MATCH = 1, FAST_UNSURE = 2 };

/*
 * The last line a hand-written matcher decided, keyed by the bytes it
 * looked at. The matchers read the line from the left and their result
 * depends on those bytes alone (and on the line's length, when they looked
 * past its end), so a line that agrees on them has the same match; in a
 * flood most lines share their timestamp with the previous one. The
 * conversion is kept too, for the same "now".
 */
struct fcache {
	bool valid;
	const struct tmpl *t;
	int rc;            /* FAST_MATCH or FAST_NOMATCH */
	size_t hw;         /* highest index looked at; < sizeof(key) */
	size_t n;          /* the line's length */
	unsigned long gen; /* bumped by every new entry */
	unsigned char key[64];
	struct fastres fr;
	bool conv_ok;
	time_t conv_now;
	enum strptime_status conv_st;
	double conv_time;
	bool conv_int;
};

static struct fcache *
fcache_new(void)
{
	/* written for every line, as struct datedetect */
	struct fcache *fc = xmalloc_lines(sizeof(*fc));

	memset(fc, 0, sizeof(*fc));
	return fc;
}

static bool
fcache_hit(
    const struct fcache *fc, const struct tmpl *t, const char *line, size_t len)
{
	size_t kl;

	if (!fc->valid || fc->t != t)
		return false;
	if (fc->hw >= fc->n) {
		if (len != fc->n)
			return false;
		kl = fc->n;
	} else {
		if (len <= fc->hw)
			return false;
		kl = fc->hw + 1;
	}
	return memcmp(line, fc->key, kl) == 0;
}

static void
fcache_store(struct fcache *fc, const struct tmpl *t, int rc,
    const struct fastres *fr, const char *line, size_t len)
{
	fc->valid = true;
	fc->t = t;
	fc->rc = rc;
	fc->hw = fr->hw;
	fc->n = len;
	fc->gen++;
	memcpy(fc->key, line, fr->hw + 1 < len ? fr->hw + 1 : len);
	fc->fr = *fr;
	fc->conv_ok = false;
}

/* What a hand-written matcher looks at. */
struct fctx {
	const struct datedetect *dd;
	const unsigned char *s;
	size_t n;
	struct strptime_val *v;
	bool unsure; /* met a byte whose class only PCRE2 knows */
	size_t *hw;  /* highest index looked at (the result depends on
	                nothing after it, see struct fcache) */
};

#define SEE(c, i)                                                              \
	do {                                                                   \
		if ((i) > *(c)->hw)                                            \
			*(c)->hw = (i);                                        \
	} while (0)

static inline bool
a_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
a_word(unsigned char c)
{
	return (c >= '0' && c <= '9') ||
	    ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
}

/* (?=\b|\W|$) right after a word character. */
static inline bool
end_ok(struct fctx *c, size_t e)
{
	SEE(c, e);
	if (e >= c->n)
		return true;
	if (c->s[e] >= 0x80) {
		c->unsure = true;
		return false;
	}
	return !a_word(c->s[e]);
}

static inline int
chr_at(const struct fctx *c, size_t i)
{
	SEE(c, i);
	return i < c->n ? c->s[i] : -1;
}

static inline bool
dig_at(const struct fctx *c, size_t i)
{
	SEE(c, i);
	return i < c->n && a_digit(c->s[i]);
}

/* Value of len (1 or 2) digits at i; a leading space counts as 0. */
static inline int64_t
num(const struct fctx *c, size_t i, size_t len)
{
	int a = c->s[i] == ' ' ? 0 : c->s[i] - '0';

	return len == 1 ? a : a * 10 + (c->s[i + 1] - '0');
}

#define N3(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))

/* Index of the three-letter day name at i (any ASCII case), or -1. */
static int
day3(const struct fctx *c, size_t i)
{
	SEE(c, i + 2);
	if (i + 3 > c->n)
		return -1;
	switch (N3(c->s[i] | 0x20, c->s[i + 1] | 0x20, c->s[i + 2] | 0x20)) {
	case N3('m', 'o', 'n'):
		return 0;
	case N3('t', 'u', 'e'):
		return 1;
	case N3('w', 'e', 'd'):
		return 2;
	case N3('t', 'h', 'u'):
		return 3;
	case N3('f', 'r', 'i'):
		return 4;
	case N3('s', 'a', 't'):
		return 5;
	case N3('s', 'u', 'n'):
		return 6;
	}
	return -1;
}

/* Index of the three-letter month name at i (any ASCII case), or -1. */
static int
mon3(const struct fctx *c, size_t i)
{
	SEE(c, i + 2);
	if (i + 3 > c->n)
		return -1;
	switch (N3(c->s[i] | 0x20, c->s[i + 1] | 0x20, c->s[i + 2] | 0x20)) {
	case N3('j', 'a', 'n'):
		return 0;
	case N3('f', 'e', 'b'):
		return 1;
	case N3('m', 'a', 'r'):
		return 2;
	case N3('a', 'p', 'r'):
		return 3;
	case N3('m', 'a', 'y'):
		return 4;
	case N3('j', 'u', 'n'):
		return 5;
	case N3('j', 'u', 'l'):
		return 6;
	case N3('a', 'u', 'g'):
		return 7;
	case N3('s', 'e', 'p'):
		return 8;
	case N3('o', 'c', 't'):
		return 9;
	case N3('n', 'o', 'v'):
		return 10;
	case N3('d', 'e', 'c'):
		return 11;
	}
	return -1;
}

/* "[0-maxfirst]?\d": lengths to try, longest first. */
static inline int
opt_digit2(const struct fctx *c, size_t i, char maxfirst, size_t out[3])
{
	int a, k = 0;

	SEE(c, i + 1);
	if (i >= c->n || !a_digit(c->s[i]))
		return 0;
	a = c->s[i];
	if (i + 1 < c->n && a_digit(c->s[i + 1]) && a <= maxfirst)
		out[k++] = 2;
	out[k++] = 1;
	return k;
}

/* %d: [1-2]\d | [0 ]?[1-9] | 3[0-1], in the regex's order. */
static int
day_choices(const struct fctx *c, size_t i, size_t out[4])
{
	int k = 0, a = chr_at(c, i), b = chr_at(c, i + 1);

	if ((a == '1' || a == '2') && dig_at(c, i + 1))
		out[k++] = 2;
	if ((a == '0' || a == ' ') && b >= '1' && b <= '9')
		out[k++] = 2;
	if (a >= '1' && a <= '9')
		out[k++] = 1;
	if (a == '3' && (b == '0' || b == '1'))
		out[k++] = 2;
	return k;
}

/* %S: [0-5]?\d | 6[0-1] */
static int
sec_choices(const struct fctx *c, size_t i, size_t out[3])
{
	int k = opt_digit2(c, i, '5', out), b = chr_at(c, i + 1);

	if (chr_at(c, i) == '6' && (b == '0' || b == '1'))
		out[k++] = 2;
	return k;
}

/* %ExY: four digits whose first three are an accepted decade. */
static bool
exy_at(const struct fctx *c, size_t i)
{
	if (!dig_at(c, i) || !dig_at(c, i + 1) || !dig_at(c, i + 2) ||
	    !dig_at(c, i + 3))
		return false;
	return c->dd->ydec[(c->s[i] - '0') * 100 + (c->s[i + 1] - '0') * 10 +
	    (c->s[i + 2] - '0')];
}

/* Leading (?:\W{0,2})?: the longest choice (shorter ones follow). */
static size_t
lead_max(const struct fctx *c)
{
	size_t p = 0;

	for (;;) {
		SEE(c, p);
		if (p >= 2 || p >= c->n || a_word(c->s[p]))
			break;
		p++;
	}
	return p;
}

/* No byte >= 0x80 in the first upto bytes. */
static bool
ascii_prefix(const unsigned char *s, size_t n, size_t upto)
{
	size_t i = 0;

	if (upto > n)
		upto = n;
	for (; i + 8 <= upto; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			return false;
	}
	for (; i < upto; i++)
		if (s[i] >= 0x80)
			return false;
	return true;
}

/* Syslog, after the seconds: (?:\.f{1,6})?(?: YEAR)? then the end. */
static size_t
sys_after_sec(struct fctx *c, size_t q)
{
	size_t fmax = 0;

	if (chr_at(c, q) == '.')
		while (fmax < 6 && dig_at(c, q + 1 + fmax))
			fmax++;
	for (size_t fl = fmax + 1; fl-- > 0;) {
		size_t q6 = fl ? q + 1 + fl : q;

		if (chr_at(c, q6) == ' ' && exy_at(c, q6 + 1) &&
		    end_ok(c, q6 + 5)) {
			c->v->has_year = true;
			c->v->year =
			    num(c, q6 + 1, 2) * 100 + num(c, q6 + 3, 2);
			return q6 + 5;
		}
		if (end_ok(c, q6)) {
			c->v->has_year = false;
			return q6;
		}
	}
	return 0;
}

/* Syslog, after the day: "  ?H:M:S" and the rest. */
static size_t
sys_after_day(struct fctx *c, size_t q)
{
	if (chr_at(c, q) != ' ')
		return 0;
	for (int sp = 1; sp >= 0; sp--) {
		size_t q2 = q + 1, hch[3], mch[3], sch[3];
		int nh;

		if (sp) {
			if (chr_at(c, q2) != ' ')
				continue;
			q2++;
		}
		nh = opt_digit2(c, q2, '2', hch);
		for (int b = 0; b < nh; b++) {
			size_t q3 = q2 + hch[b];
			int nm;

			if (chr_at(c, q3) != ':')
				continue;
			q3++;
			nm = opt_digit2(c, q3, '5', mch);
			for (int d = 0; d < nm; d++) {
				size_t q4 = q3 + mch[d];
				int ns;

				if (chr_at(c, q4) != ':')
					continue;
				q4++;
				ns = sec_choices(c, q4, sch);
				for (int e = 0; e < ns; e++) {
					size_t end =
					    sys_after_sec(c, q4 + sch[e]);

					if (end == 0)
						continue;
					c->v->hour = num(c, q2, hch[b]);
					c->v->minute = num(c, q3, mch[d]);
					c->v->second = num(c, q4, sch[e]);
					return end;
				}
			}
		}
	}
	return 0;
}

/* The fields of a usual syslog date, "Mmm dd hh:mm:ss". */
struct usual {
	int month; /* 1..12 */
	int day, hour, minute, second;
};

/*
 * fast_syslog() for the usual "Mmm dd hh:mm:ss" at line start, without
 * its search: on such a line the first choice the regex makes at every
 * step succeeds (a month name is never a day name, a letter first leaves
 * nothing to lead, the two-character day, hour, minute and second come
 * first and are followed by what they need), so the result is that first
 * path's (usual_hw() says what the search would have looked at). Returns
 * false for any other shape (a fraction, a year after the time, a word
 * character after it ...), which the search then decides. The date is
 * s[0..15).
 */
static inline uint64_t
load_le64(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* A month name's three bytes, lower case, as load_le64() puts them. */
#define L3(a, b, c) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16)
/* Their slot in month_tab: a multiplier that spreads the twelve names
 * over sixteen slots (a name that shared a slot would only lose the
 * shortcut: the table entry is compared in full). */
#define MON_SLOT(v)           ((uint32_t)((v)*UINT32_C(0x3b4dbf2d)) >> 28)
#define MON_ENTRY(a, b, c, m) [MON_SLOT(L3(a, b, c))] = L3(a, b, c) | (m) << 24

/* Name bytes and, in the top byte, the month (1..12); 0 for no name. */
static const uint32_t month_tab[16] = {
    MON_ENTRY('j', 'a', 'n', 1u),
    MON_ENTRY('f', 'e', 'b', 2u),
    MON_ENTRY('m', 'a', 'r', 3u),
    MON_ENTRY('a', 'p', 'r', 4u),
    MON_ENTRY('m', 'a', 'y', 5u),
    MON_ENTRY('j', 'u', 'n', 6u),
    MON_ENTRY('j', 'u', 'l', 7u),
    MON_ENTRY('a', 'u', 'g', 8u),
    MON_ENTRY('s', 'e', 'p', 9u),
    MON_ENTRY('o', 'c', 't', 10u),
    MON_ENTRY('n', 'o', 'v', 11u),
    MON_ENTRY('d', 'e', 'c', 12u),
};

/* The bytes that may not follow the seconds: a word character (the
 * look-ahead, ASCII), '.' (a fraction is tried first); for c < 128. */
static const uint64_t usual_stop[2] = {
    UINT64_C(0x3ff) << 0x30 | UINT64_C(1) << '.',
    UINT64_C(0x3ffffff) << ('A' - 64) | UINT64_C(1) << ('_' - 64) |
        UINT64_C(0x3ffffff) << ('a' - 64),
};

static inline __attribute__((always_inline)) bool
usual_scan(const struct datedetect *dd, const unsigned char *s, size_t n,
    struct usual *u)
{
	uint64_t w0, w1, x;
	uint32_t name, ent;
	unsigned d4, d5;

	if (n < 15)
		return false;
	/* s[0..8) and s[7..15): ' ' at 3 and 6, ':' at 9 and 12, digits
	 * at 7 (0-2), 8, 10 (0-5), 11, 13 (0-5) and 14; per byte, a digit
	 * value x <= max iff x + (0x7f - max) has no bit 7 */
	w0 = load_le64(s);
	w1 = load_le64(s + 7);
	x = w1 ^ UINT64_C(0x3030303030303030);
	if ((w0 & UINT64_C(0x00ff0000ff000000)) !=
	        (UINT64_C(0x20) << 48 | UINT64_C(0x20) << 24) ||
	    (w1 & UINT64_C(0x0000ff0000ff0000)) !=
	        (UINT64_C(0x3a) << 40 | UINT64_C(0x3a) << 16) ||
	    (((x & UINT64_C(0x7f7f7f7f7f7f7f7f)) +
	         UINT64_C(0x767a00767a00767d)) |
	        x) &
	        UINT64_C(0x8080008080008080))
		return false;
	/* the day: " 1".."31", "01".."09" */
	d4 = (unsigned)s[4] - '0';
	d5 = (unsigned)s[5] - '0';
	if (s[4] == ' ' || d4 == 0) {
		if (d5 - 1 > 8)
			return false;
		d4 = 0;
	} else if (d4 - 1 <= 1) {
		if (d5 > 9)
			return false;
	} else if (d4 != 3 || d5 > 1) {
		return false;
	}
	if (n > 15) {
		unsigned char e = s[15];

		if (e >= 0x80 || (usual_stop[e >> 6] >> (e & 63) & 1))
			return false;
		/* (?: %ExY)? is tried first: it must fail */
		if (e == ' ' && n > 19 && a_digit(s[16]) && a_digit(s[17]) &&
		    a_digit(s[18]) && a_digit(s[19]) &&
		    dd->ydec[(s[16] - '0') * 100 + (s[17] - '0') * 10 +
		        (s[18] - '0')])
			return false;
	}
	/* after the cheap tests: the name, any ASCII case */
	name = ((uint32_t)w0 & UINT32_C(0xffffff)) | UINT32_C(0x202020);
	ent = month_tab[MON_SLOT(name)];
	if ((ent & UINT32_C(0xffffff)) != name)
		return false;
	/* byte k of x now is 10 * x[k] + x[k + 1] (at most 110: no
	 * carry), so bytes 0, 3 and 6 hold the hour, minute and second */
	x = x * 10 + (x >> 8);
	u->month = (int)(ent >> 24);
	u->day = (int)(d4 * 10 + d5);
	u->hour = (int)(x & 0xff);
	u->minute = (int)(x >> 24 & 0xff);
	u->second = (int)(x >> 48 & 0xff);
	return true;
}

/* What usual_scan()'s search looks at: the date, the byte after it and,
 * after a blank, the year it tries (up to 19 when not one). */
static size_t
usual_hw(const unsigned char *s, size_t n)
{
	size_t hw = 15;

	if (n > 15 && s[15] == ' ')
		for (hw = 16; hw < 19 && hw < n && a_digit(s[hw]); hw++)
			;
	return hw;
}

/* usual_scan() as a fast_syslog() result: FAST_MATCH or FAST_UNSURE. */
static int
syslog_usual(const struct datedetect *dd, const unsigned char *s, size_t n,
    struct fastres *r)
{
	struct usual u;

	if (!usual_scan(dd, s, n, &u))
		return FAST_UNSURE;
	memset(&r->val, 0, sizeof(r->val));
	r->val.has_month = r->val.has_day = true;
	r->val.month = u.month;
	r->val.day = u.day;
	r->val.hour = u.hour;
	r->val.minute = u.minute;
	r->val.second = u.second;
	r->start = 0;
	r->end = 15;
	r->hw = usual_hw(s, n);
	r->usual = true;
	return FAST_MATCH;
}

/*
 * The syslog template at line start, exactly as the regex backtracks:
 * (?iu)^(?:\W{0,2})?((?:DAY )?MON DD  ?H:M:S(?:\.f)?(?: YEAR)?)(?=\b|\W|$)
 */
static int
fast_syslog(const struct datedetect *dd, const unsigned char *s, size_t n,
    struct fastres *r)
{
	struct fctx c = {dd, s, n, &r->val, false, &r->hw};
	int rc;

	r->usual = false;
	rc = syslog_usual(dd, s, n, r);
	if (rc != FAST_UNSURE)
		return rc;
	/* the longest match ends by byte 34, the look-ahead reads byte 35 */
	r->hw = 0;
	if (!ascii_prefix(s, n, 40))
		return FAST_UNSURE;
	memset(&r->val, 0, sizeof(r->val));
	for (size_t p = lead_max(&c) + 1; p-- > 0;) {
		for (int wd = 1; wd >= 0; wd--) {
			size_t q = p, dch[4];
			int mon, nd;

			if (wd) {
				if (day3(&c, q) < 0 || chr_at(&c, q + 3) != ' ')
					continue;
				q += 4;
			}
			mon = mon3(&c, q);
			if (mon < 0 || chr_at(&c, q + 3) != ' ')
				continue;
			q += 4;
			nd = day_choices(&c, q, dch);
			for (int a = 0; a < nd; a++) {
				size_t end = sys_after_day(&c, q + dch[a]);

				if (end == 0)
					continue;
				r->val.has_month = r->val.has_day = true;
				r->val.month = mon + 1;
				r->val.day = num(&c, q, dch[a]);
				r->start = p;
				r->end = end;
				return FAST_MATCH;
			}
		}
	}
	return FAST_NOMATCH;
}

static inline bool
py_ws(unsigned char c)
{
	return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f);
}

/* ISO, the zone at q: Z | UTC | GMT | [+-][01]\d(?::?\d{2})?, each then
 * the end check. Returns the end or 0. */
static size_t
iso_zone(struct fctx *c, size_t q)
{
	int a = chr_at(c, q);

	/* PCRE2's \d also takes non-ASCII digits */
	SEE(c, q + 6);
	for (size_t k = q; k < q + 7 && k < c->n; k++)
		if (c->s[k] >= 0x80) {
			c->unsure = true;
			return 0;
		}
	if (a == 'Z' && end_ok(c, q + 1)) {
		c->v->tzoff = 0;
		return q + 1;
	}
	if (q + 3 <= c->n &&
	    (memcmp(c->s + q, "UTC", 3) == 0 ||
	        memcmp(c->s + q, "GMT", 3) == 0) &&
	    end_ok(c, q + 3)) {
		c->v->tzoff = 0;
		return q + 3;
	}
	if ((a == '+' || a == '-') &&
	    (chr_at(c, q + 1) == '0' || chr_at(c, q + 1) == '1') &&
	    dig_at(c, q + 2)) {
		int sign = a == '-' ? -1 : 1, hh = (int)num(c, q + 1, 2);

		if (chr_at(c, q + 3) == ':' && dig_at(c, q + 4) &&
		    dig_at(c, q + 5) && end_ok(c, q + 6)) {
			c->v->tzoff = sign * (hh * 60 + (int)num(c, q + 4, 2));
			return q + 6;
		}
		if (dig_at(c, q + 3) && dig_at(c, q + 4) && end_ok(c, q + 5)) {
			c->v->tzoff = sign * (hh * 60 + (int)num(c, q + 3, 2));
			return q + 5;
		}
		if (end_ok(c, q + 3)) {
			c->v->tzoff = sign * hh * 60;
			return q + 3;
		}
	}
	return 0;
}

/* ISO, after the seconds: (?:[.,]f{1,6})?(?:\s*ZONE)? then the end. */
static size_t
iso_after_sec(struct fctx *c, size_t q)
{
	size_t fmax = 0;

	if (chr_at(c, q) == '.' || chr_at(c, q) == ',')
		while (fmax < 6 && dig_at(c, q + 1 + fmax))
			fmax++;
	for (size_t fl = fmax + 1; fl-- > 0;) {
		size_t q7 = fl ? q + 1 + fl : q, wmax = 0;

		while (q7 + wmax < c->n && py_ws(c->s[q7 + wmax]))
			wmax++;
		SEE(c, q7 + wmax);
		if (q7 + wmax < c->n && c->s[q7 + wmax] >= 0x80) {
			c->unsure = true; /* maybe more white space */
			return 0;
		}
		for (size_t w = wmax + 1; w-- > 0;) {
			size_t e = iso_zone(c, q7 + w);

			if (e != 0) {
				c->v->has_tz = true;
				return e;
			}
		}
		if (end_ok(c, q7)) {
			c->v->has_tz = false;
			return q7;
		}
	}
	return 0;
}

/* ISO, after the date: (?:T|  ?)H:M:S and the rest. */
static size_t
iso_after_date(struct fctx *c, size_t q)
{
	size_t tch[3];
	int nt = 0;

	if (chr_at(c, q) == 'T')
		tch[nt++] = 1;
	if (chr_at(c, q) == ' ') {
		if (chr_at(c, q + 1) == ' ')
			tch[nt++] = 2;
		tch[nt++] = 1;
	}
	for (int t = 0; t < nt; t++) {
		size_t q3 = q + tch[t], hch[3], mch[3], sch[3];
		int nh = opt_digit2(c, q3, '1', hch);

		/* %H: [0-1]?\d | 2[0-3] */
		if (chr_at(c, q3) == '2' && chr_at(c, q3 + 1) >= '0' &&
		    chr_at(c, q3 + 1) <= '3')
			hch[nh++] = 2;
		for (int b = 0; b < nh; b++) {
			size_t q4 = q3 + hch[b];
			int nm;

			if (chr_at(c, q4) != ':')
				continue;
			q4++;
			nm = opt_digit2(c, q4, '5', mch);
			for (int d = 0; d < nm; d++) {
				size_t q5 = q4 + mch[d];
				int ns;

				if (chr_at(c, q5) != ':')
					continue;
				q5++;
				ns = sec_choices(c, q5, sch);
				for (int e = 0; e < ns; e++) {
					size_t end =
					    iso_after_sec(c, q5 + sch[e]);

					if (c->unsure)
						return 0;
					if (end == 0)
						continue;
					c->v->hour = num(c, q3, hch[b]);
					c->v->minute = num(c, q4, mch[d]);
					c->v->second = num(c, q5, sch[e]);
					return end;
				}
			}
		}
	}
	return 0;
}

/*
 * The ISO 8601 template at line start:
 * ^(?:\W{0,2})?(YEAR([-/.])M\1D(?:T|  ?)H:M:S(?:[.,]f)?(?:\s*ZONE)?)(?=..)
 */
static int
fast_iso(const struct datedetect *dd, const unsigned char *s, size_t n,
    struct fastres *r)
{
	struct fctx c = {dd, s, n, &r->val, false, &r->hw};

	r->hw = 0;
	if (!ascii_prefix(s, n, 48))
		return FAST_UNSURE;
	memset(&r->val, 0, sizeof(r->val));
	for (size_t p = lead_max(&c) + 1; p-- > 0;) {
		size_t q = p + 5, mch[3];
		int nm = 0, sep, a, b;

		if (!exy_at(&c, p))
			continue;
		sep = chr_at(&c, p + 4);
		if (sep != '-' && sep != '/' && sep != '.')
			continue;
		/* %m: 0?[1-9] | 1[0-2] */
		a = chr_at(&c, q);
		b = chr_at(&c, q + 1);
		if (a == '0' && b >= '1' && b <= '9')
			mch[nm++] = 2;
		if (a >= '1' && a <= '9')
			mch[nm++] = 1;
		if (a == '1' && b >= '0' && b <= '2')
			mch[nm++] = 2;
		for (int i = 0; i < nm; i++) {
			size_t q1 = q + mch[i], dch[4];
			int nd;

			if (chr_at(&c, q1) != sep)
				continue;
			q1++;
			nd = day_choices(&c, q1, dch);
			for (int j = 0; j < nd; j++) {
				size_t end = iso_after_date(&c, q1 + dch[j]);

				if (c.unsure)
					return FAST_UNSURE;
				if (end == 0)
					continue;
				r->val.has_year = r->val.has_month = true;
				r->val.has_day = true;
				r->val.year =
				    num(&c, p, 2) * 100 + num(&c, p + 2, 2);
				r->val.month = num(&c, q, mch[i]);
				r->val.day = num(&c, q1, dch[j]);
				r->start = p;
				r->end = end;
				return FAST_MATCH;
			}
		}
	}
	return c.unsure ? FAST_UNSURE : FAST_NOMATCH;
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */

/* The outcome of one template on one line. */
struct mres {
	size_t ms, me;        /* whole match */
	size_t gs, ge;        /* group 1 (the date text) */
	const PCRE2_SIZE *ov; /* the groups, when not fast */
	bool fast;
	bool cached; /* fr is dd->fc's entry number gen */
	unsigned long gen;
	struct fastres fr;
};

/* The NEED_* features of an ASCII line; all of them for other lines,
 * where \d also takes other scripts' digits. */
static unsigned
line_features(const char *line, size_t len)
{
	unsigned f = NEED_KNOWN;
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		/* letters, blanks and most punctuation say nothing */
		if ((c > '@' && c < 0x80) || c < '0') {
			run = 0;
			continue;
		}
		if (c >= '0' && c <= '9') {
			run++;
			if (run >= 8)
				f |= run >= 10 ? NEED_DIGITS8 | NEED_DIGITS10
				               : NEED_DIGITS8;
			continue;
		}
		run = 0;
		if (c == ':' && i > 0 && i + 1 < len && line[i - 1] >= '0' &&
		    line[i - 1] <= '9' && line[i + 1] >= '0' &&
		    line[i + 1] <= '9')
			f |= NEED_COLON;
		else if (c == '@')
			f |= NEED_AT;
		else if (c >= 0x80)
			return NEED_KNOWN | NEED_COLON | NEED_DIGITS8 |
			    NEED_DIGITS10 | NEED_AT;
	}
	return f;
}

/* False when t cannot match the line (a cheap necessary condition). */
static inline bool
need_ok(
    struct datedetect *dd, const struct tmpl *t, const char *line, size_t len)
{
	if (t->need == 0 || (dd->flags & DATEDETECT_NO_FASTPATH))
		return true;
	if (!(dd->feat & NEED_KNOWN))
		dd->feat = line_features(line, len);
	return (t->need & dd->feat) == t->need;
}

/* Returns line itself when it is valid UTF-8, else the sanitised copy. */
static const char *
subject(struct datedetect *dd, const char *line, size_t len)
{
	size_t i = 0;
	bool valid = true;

	if (dd->subj != NULL)
		return dd->subj;
	while (i < len) {
		uint32_t cp;
		size_t k;

		if (i + 8 <= len) {
			uint64_t w;

			memcpy(&w, line + i, 8);
			if (!(w & UINT64_C(0x8080808080808080))) {
				i += 8;
				continue;
			}
		}
		k = strptime_utf8(line + i, len - i, &cp);
		if (k == 0) {
			valid = false;
			break;
		}
		i += k;
	}
	if (valid) {
		dd->subj = line;
		return line;
	}
	xgrow(&dd->copy, &dd->copy_cap, len + 1, 1);
	memcpy(dd->copy, line, i);
	while (i < len) {
		uint32_t cp;
		size_t k = strptime_utf8(line + i, len - i, &cp);

		if (k == 0) {
			dd->copy[i++] = '\x01';
			continue;
		}
		memcpy(dd->copy + i, line + i, k);
		i += k;
	}
	dd->subj = dd->copy;
	return dd->copy;
}

/*
 * Searches line[from..to) (the regex sees line[0..to), so look-behinds
 * see before from, and "$" matches at to) with template t.
 * Returns 1 on a match, 0 otherwise.
 */
static int
tmpl_search(struct datedetect *dd, const struct tmpl *t, const char *line,
    size_t len, size_t from, size_t to, struct mres *res)
{
	PCRE2_SIZE *ov;
	int rc;

	res->fast = false;
	res->cached = false;
	if (t->fast != FAST_NONE && from == 0 && to == len &&
	    !(dd->flags & DATEDETECT_NO_FASTPATH)) {
		struct fcache *fc = dd->fc;
		int fr;
		bool entry; /* res->fr is the cache's entry */

		if (fcache_hit(fc, t, line, len)) {
			fr = fc->rc;
			res->fr = fc->fr;
			entry = true;
		} else {
			res->fr.usual = false;
			fr = t->fast == FAST_SYSLOG
			    ? fast_syslog(dd, (const unsigned char *)line, len,
			          &res->fr)
			    : fast_iso(dd, (const unsigned char *)line, len,
			          &res->fr);
			/* a result that looked too far is not kept: the entry
			 * (and its conversion) is another line's */
			entry =
			    fr != FAST_UNSURE && res->fr.hw < sizeof(fc->key);
			if (entry)
				fcache_store(fc, t, fr, &res->fr, line, len);
		}
		if (entry) {
			res->cached = true;
			res->gen = fc->gen;
		}
		if (fr == FAST_NOMATCH)
			return 0;
		if (fr == FAST_MATCH) {
			res->fast = true;
			res->ms = 0;
			res->me = res->fr.end;
			res->gs = res->fr.start;
			res->ge = res->fr.end;
			return 1;
		}
	}
	if (!need_ok(dd, t, line, len))
		return 0;
	if (!t->jit_tried) {
		/* t is dd's own (allocated): only this cache changes */
		((struct tmpl *)t)->jit_tried = true;
		(void)pcre2_jit_compile(t->code, PCRE2_JIT_COMPLETE);
	}
	rc = pcre2_match(t->code, (PCRE2_SPTR)subject(dd, line, len), to, from,
	    0, dd->md, dd->mctx);
	if (rc <= 0)
		return 0;
	ov = pcre2_get_ovector_pointer(dd->md);
	res->ov = ov;
	res->ms = ov[0];
	res->me = ov[1];
	/* the date text is group 1, whatever group holds an epoch */
	if (t->ngroups < 1 || ov[2] == PCRE2_UNSET) {
		res->gs = res->ge = ov[0];
	} else {
		res->gs = ov[2];
		res->ge = ov[3];
	}
	/* \K could put the start after the end; never trust it */
	if (res->ms > res->me)
		res->ms = res->me;
	if (res->gs > res->ge)
		res->gs = res->ge;
	return 1;
}

/* Python's float() of a digit string with an optional fraction. */
static double
epoch_value(const char *s, size_t n)
{
	char buf[64];
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < sizeof(buf);) {
		uint32_t cp;
		size_t l = strptime_utf8(s + i, n - i, &cp);
		int dv;

		if (l == 0)
			break;
		dv = strptime_digit(cp);
		buf[k++] =
		    dv >= 0 ? (char)('0' + dv) : (char)(cp < 0x80 ? cp : '?');
		i += l;
	}
	buf[k] = '\0';
	return strtod(buf, NULL);
}

/*
 * strptime_finish() of a syslog_usual() date. Lines a second or two
 * apart share their minute: when its seconds 0 and 59 convert 59 s apart
 * (no year change or zone shift inside it), the minute's time at second
 * 0 plus the second is what strptime_finish() gives for every second of
 * it (the zone offset is taken per minute there too).
 */
static __attribute__((noinline)) enum strptime_status
usual_time_new(struct datedetect *dd, const struct usual *u, double *out)
{
	struct strptime_val a;
	double t0, t59;

	dd->min_ok = false;
	memset(&a, 0, sizeof(a));
	a.has_month = a.has_day = true;
	a.month = u->month;
	a.day = u->day;
	a.hour = u->hour;
	a.minute = u->minute;
	a.second = 0;
	if (strptime_finish(&a, &dd->now, dd->has_tz, dd->tz_min, &t0) ==
	    STRPTIME_OK) {
		a.second = 59;
		if (strptime_finish(&a, &dd->now, dd->has_tz, dd->tz_min,
		        &t59) == STRPTIME_OK &&
		    t59 - t0 == 59) {
			dd->min_ok = true;
			dd->min_now = dd->now.now;
			dd->min_month = u->month;
			dd->min_day = u->day;
			dd->min_hour = u->hour;
			dd->min_minute = u->minute;
			dd->min_base = t0;
			*out = t0 + (double)u->second;
			return STRPTIME_OK;
		}
	}
	a.second = u->second;
	return strptime_finish(&a, &dd->now, dd->has_tz, dd->tz_min, out);
}

/* usual_time_new() unless u is in the minute last converted. */
static inline enum strptime_status
usual_time(struct datedetect *dd, const struct usual *u, double *out)
{
	if (dd->min_ok && dd->min_now == dd->now.now &&
	    dd->min_month == u->month && dd->min_day == u->day &&
	    dd->min_hour == u->hour && dd->min_minute == u->minute) {
		*out = dd->min_base + (double)u->second;
		return STRPTIME_OK;
	}
	return usual_time_new(dd, u, out);
}

/* Converts the winning match to a time (fail2ban's getDate). */
static void
convert(struct datedetect *dd, const struct tmpl *t, const char *line,
    const struct mres *res, struct date_match *m)
{
	enum strptime_status st;
	size_t nf = 0;

	m->has_time = false;
	m->int_time = false;
	m->err = DATE_OK;
	if (t->kind == TK_EPOCH) {
		const PCRE2_SIZE *ov = res->ov;
		size_t a, b, nch = 0;
		double v;
		bool dot;

		if (t->grp > t->ngroups || ov[2 * t->grp] == PCRE2_UNSET) {
			/* no such group: an exception in fail2ban */
			m->err = DATE_EOTHER;
			return;
		}
		a = ov[2 * t->grp];
		b = ov[2 * t->grp + 1];
		if (a == PCRE2_UNSET) {
			m->err = DATE_EOTHER;
			return;
		}
		v = epoch_value(line + a, b - a);
		dot = memchr(line + a, '.', b - a) != NULL;
		for (size_t k = a; k < b; k++)
			nch += ((unsigned char)line[k] & 0xc0) != 0x80;
		if (t->longfrm && nch >= 13)
			v = (nch >= 16 && !dot) ? v / 1000000 : v / 1000;
		m->time = v;
		m->has_time = true;
		return;
	}
	if (t->kind == TK_TAI64N) {
		/* seconds: hex characters 2..16 of "@4000000052aebcd8..." */
		uint64_t v = 0;

		for (size_t i = res->gs + 2; i < res->gs + 17 && i < res->ge;
		     i++) {
			int c = (unsigned char)line[i];

			v = v * 16 +
			    (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		m->time = (double)v;
		m->has_time = true;
		m->int_time = true; /* int(seconds, 16) */
		return;
	}
	if (res->fast) {
		struct fcache *fc = dd->fc;
		bool mine = res->cached && res->gen == fc->gen;

		if (mine && fc->conv_ok && fc->conv_now == dd->now.now) {
			st = fc->conv_st;
			m->time = fc->conv_time;
			m->int_time = fc->conv_int;
		} else {
			if (res->fr.usual) {
				const struct strptime_val *v = &res->fr.val;
				struct usual u = {(int)v->month, (int)v->day,
				    (int)v->hour, (int)v->minute,
				    (int)v->second};

				st = usual_time(dd, &u, &m->time);
				/* no zone in it: only the default one */
				m->int_time = dd->has_tz;
			} else {
				st = strptime_finish(&res->fr.val, &dd->now,
				    dd->has_tz, dd->tz_min, &m->time);
				m->int_time = dd->now.last_tz;
			}
			if (mine) {
				fc->conv_ok = true;
				fc->conv_now = dd->now.now;
				fc->conv_st = st;
				fc->conv_time = m->time;
				fc->conv_int = m->int_time;
			}
		}
		if (st == STRPTIME_OK)
			m->has_time = true;
		else
			m->err =
			    st == STRPTIME_EVALUE ? DATE_EVALUE : DATE_EOTHER;
		return;
	} else {
		const PCRE2_SIZE *ov = res->ov;

		for (size_t i = 0; i < t->nkeys; i++) {
			uint32_t g = t->keys[i].grp;

			dd->fields[nf].key = t->keys[i].key;
			if (ov[2 * g] == PCRE2_UNSET) {
				dd->fields[nf].s = NULL;
				dd->fields[nf].len = 0;
			} else {
				dd->fields[nf].s = line + ov[2 * g];
				dd->fields[nf].len = ov[2 * g + 1] - ov[2 * g];
			}
			nf++;
		}
	}
	st = strptime_convert(
	    dd->fields, nf, &dd->now, dd->has_tz, dd->tz_min, &m->time);
	if (st == STRPTIME_OK) {
		m->has_time = true;
		m->int_time = dd->now.last_tz;
	} else
		m->err = st == STRPTIME_EVALUE ? DATE_EVALUE : DATE_EOTHER;
}

static double
slot_weight(const struct slot *s)
{
	return (double)s->hits * tmpl_weight(s->t) /
	    (double)(s->distance > 1 ? s->distance : 1);
}

/* fail2ban's _reorderTemplate ("bubble up"). Returns the new index. */
static size_t
reorder(struct datedetect *dd, size_t num)
{
	struct slot cur = dd->v[num];
	double untime = cur.last_used - DD_UNUSED_TIME, w = slot_weight(&cur);
	size_t pos = dd->first_unused < num ? dd->first_unused : num / 2;

	if (!(w > slot_weight(&dd->v[pos]) || untime > dd->v[pos].last_used)) {
		if (pos == num - 1)
			return num;
		pos = num - 1;
		if (!(w > slot_weight(&dd->v[pos]) ||
		        untime > dd->v[pos].last_used))
			return num;
	}
	memmove(&dd->v[pos + 1], &dd->v[pos], (num - pos) * sizeof(dd->v[0]));
	dd->v[pos] = cur;
	while (dd->first_unused < dd->n && dd->v[dd->first_unused].hits)
		dd->first_unused++;
	return pos;
}

/* Keeps a match aside while other templates are searched: its groups
 * are copied out of the shared match data. */
static void
reserve(struct datedetect *dd, struct mres *dst, const struct mres *src)
{
	*dst = *src;
	if (!src->fast) {
		memcpy(dd->found_ov, src->ov,
		    2 * dd->ovn * sizeof(dd->found_ov[0]));
		dst->ov = dd->found_ov;
	}
}

/*
 * fail2ban measures match positions in characters, and they steer template
 * selection (distances, the span tried first, reordering weights), so the
 * selection state is kept in characters too. For ASCII lines a character
 * is a byte; otherwise the line is walked, an invalid byte counting as one
 * character (U+FFFD).
 */
/* True when line[0..n) is ASCII; remembers how far it has looked. */
static bool
ascii_upto(struct datedetect *dd, const char *line, size_t len, size_t n)
{
	const unsigned char *u = (const unsigned char *)line;

	if (n > len)
		n = len;
	while (dd->ascii_ok < n) {
		if (dd->ascii_ok + 8 <= len) {
			uint64_t w;

			memcpy(&w, u + dd->ascii_ok, 8);
			if (!(w & UINT64_C(0x8080808080808080))) {
				dd->ascii_ok += 8;
				continue;
			}
		}
		if (u[dd->ascii_ok] >= 0x80)
			return false;
		dd->ascii_ok++;
	}
	return true;
}

static size_t
char_len(const char *line, size_t len, size_t i, int32_t *cp)
{
	uint32_t c;
	size_t k = strptime_utf8(line + i, len - i, &c);

	*cp = k ? (int32_t)c : 0xfffd;
	return k ? k : 1;
}

/* The character index of byte offset b. */
static long
to_chars(struct datedetect *dd, const char *line, size_t len, size_t b)
{
	long n = 0;
	int32_t cp;

	if (ascii_upto(dd, line, len, b))
		return (long)b;
	for (size_t i = 0; i < b && i < len; i += char_len(line, len, i, &cp))
		n++;
	return n;
}

/* The byte offset of character index c (len when past the end). */
static size_t
to_bytes(struct datedetect *dd, const char *line, size_t len, long c)
{
	size_t i = 0;
	int32_t cp;

	if (c <= 0)
		return 0;
	if (ascii_upto(dd, line, len, (size_t)c))
		return (size_t)c < len ? (size_t)c : len;
	while (i < len && c-- > 0)
		i += char_len(line, len, i, &cp);
	return i;
}

/* The code point at character index c; -1 outside the line. */
static int32_t
cp_at(struct datedetect *dd, const char *line, size_t len, long c)
{
	size_t i = 0;
	int32_t cp = -1;

	if (c < 0)
		return -1;
	if (ascii_upto(dd, line, len, (size_t)c + 1))
		return (size_t)c < len ? (unsigned char)line[c] : -1;
	while (i < len) {
		i += char_len(line, len, i, &cp);
		if (c-- == 0)
			return cp;
	}
	return -1;
}

/* Python's str.isalnum() on one character. */
static bool
cp_isalnum(struct datedetect *dd, int32_t cp)
{
	unsigned char buf[4];
	size_t n;

	if (cp < 0x80)
		return cp >= 0 && isalnum(cp);
	if (dd->alnum == NULL) {
		int ec;
		PCRE2_SIZE eo;

		dd->alnum = pcre2_compile((PCRE2_SPTR) "^[\\p{L}\\p{N}]",
		    PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec, &eo,
		    NULL);
		if (dd->alnum == NULL)
			return true;
	}
	if (cp < 0x800) {
		buf[0] = (unsigned char)(0xc0 | cp >> 6);
		buf[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		buf[0] = (unsigned char)(0xe0 | cp >> 12);
		buf[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		buf[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		buf[0] = (unsigned char)(0xf0 | cp >> 18);
		buf[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		buf[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		buf[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return pcre2_match(dd->alnum, buf, n, 0, 0, dd->md, NULL) > 0;
}

/*
 * datedetect_match() when the last winning template is the line-start
 * syslog one and the line starts with a usual_scan() date: what the
 * general path does then, without its search machinery. A line-start
 * template that matches wins at once (no distance test, no reordering, as
 * it is already the last winner), so only its statistics, the span and
 * the conversion remain. Returns false, having changed nothing, for any
 * other line.
 */
static inline __attribute__((always_inline)) bool
match_usual(struct datedetect *dd, size_t i, const char *line, size_t len,
    time_t now, struct date_match *m)
{
	const unsigned char *b = (const unsigned char *)line;
	struct slot *s = &dd->v[i];
	enum strptime_status st;
	struct usual u;

	if (!usual_scan(dd, b, len, &u))
		return false;
	s->hits++;
	s->last_used = (double)now;
	s->distance = 0;
	if (dd->first_unused == i)
		dd->first_unused++;
	/* the date is line[0..15), all ASCII: bytes are characters */
	dd->last_pos = 0;
	dd->last_end = 15;
	dd->last_pos_prev = -1;
	dd->last_pos_at = b[0];
	dd->last_end_prev = b[14];
	dd->last_end_at = len > 15 ? b[15] : -1;
	m->tmpl = (int)i;
	m->start = 0;
	m->end = 15;
	m->time = 0;
	m->has_time = false;
	m->err = DATE_OK;
	st = usual_time(dd, &u, &m->time);
	/* no zone in it: only the default one */
	m->int_time = dd->has_tz;
	if (st == STRPTIME_OK)
		m->has_time = true;
	else
		m->err = st == STRPTIME_EVALUE ? DATE_EVALUE : DATE_EOTHER;
	return true;
}

/* datedetect_match() after its set-up: fail2ban's matchTime(). */
static __attribute__((noinline)) int
match_general(struct datedetect *dd, const char *line, size_t len, time_t now,
    struct date_match *m)
{
	struct mres res, found;
	long found_dist = 0x7fffffff;
	size_t found_idx = SIZE_MAX, ignore = SIZE_MAX, i = dd->last_idx;
	bool match = false, have_found = false;

	if (i < dd->n) {
		const struct tmpl *t = dd->v[i].t;

		if (t->flags & (F_LINE_BEGIN | F_LINE_END)) {
			match = tmpl_search(dd, t, line, len, 0, len, &res);
			ignore = i;
		} else {
			long d0 = dd->last_pos, e0 = dd->last_end;
			bool left =
			    cp_at(dd, line, len, d0 - 1) == dd->last_pos_prev ||
			    (cp_at(dd, line, len, d0) == dd->last_pos_at &&
			        !cp_isalnum(dd, dd->last_pos_at));
			bool right =
			    cp_at(dd, line, len, e0) == dd->last_end_at ||
			    (cp_at(dd, line, len, e0 - 1) ==
			            dd->last_end_prev &&
			        !cp_isalnum(dd, dd->last_end_prev));

			if (left && right) {
				/* the same span, clamped to the line as
				   Python's search(line, pos, endpos) does */
				size_t from = to_bytes(dd, line, len, d0);
				size_t to = to_bytes(dd, line, len, e0);

				match = from <= to &&
				    tmpl_search(
				        dd, t, line, len, from, to, &res);
			} else {
				match =
				    tmpl_search(dd, t, line, len, 0, len, &res);
				ignore = i;
			}
		}
		if (match &&
		    !(dd->n == 1 || (t->flags & (F_LINE_BEGIN | F_LINE_END)) ||
		        (to_chars(dd, line, len, res.ms) == dd->last_pos &&
		            to_chars(dd, line, len, res.me) == dd->last_end))) {
			reserve(dd, &found, &res);
			found_dist = to_chars(dd, line, len, res.ms);
			found_idx = i;
			have_found = true;
			match = false;
		}
	}
	if (!match) {
		for (i = 0; i < dd->n; i++) {
			struct slot *s = &dd->v[i];
			long dist;

			if (i == ignore ||
			    (s->t->fast == FAST_NONE &&
			        !need_ok(dd, s->t, line, len)))
				continue;
			if (!tmpl_search(dd, s->t, line, len, 0, len, &res))
				continue;
			dist = to_chars(dd, line, len, res.ms);
			if (i + 1 >= dd->n)
				break;
			if (s->t->flags & (F_LINE_BEGIN | F_LINE_END))
				break;
			/* fail2ban's "stop at line start when the next
			   template is unused" always ends like the plain
			   break below, so it needs no test of its own */
			if (dist > s->distance || dist > dd->last_pos) {
				if (dist < found_dist) {
					reserve(dd, &found, &res);
					found_dist = dist;
					found_idx = i;
					have_found = true;
				}
				continue;
			}
			break;
		}
		if (i < dd->n) {
			match = true;
		} else if (have_found) {
			i = found_idx;
			res = found;
			match = true;
		}
	}
	if (!match)
		return 0;
	{
		struct slot *s = &dd->v[i];
		/* the usual ASCII start of line: bytes are characters */
		bool simple =
		    res.me > 0 && ascii_upto(dd, line, len, res.me + 1);
		long dist =
		    simple ? (long)res.ms : to_chars(dd, line, len, res.ms);
		long end =
		    simple ? (long)res.me : to_chars(dd, line, len, res.me);

		s->hits++;
		s->last_used = (double)now;
		s->distance = dist;
		if (dd->first_unused == i)
			dd->first_unused++;
		m->tmpl = (int)i;
		m->time = 0;
		m->has_time = false;
		m->int_time = false;
		if (res.ms >= len) {
			/* fail2ban reads the character at the match start
			   here and raises IndexError for a match at the end
			   of the line; it drops the line */
			m->start = m->end = len;
			m->err = DATE_EOTHER;
			return 1;
		}
		dd->last_pos = dist;
		dd->last_end = end;
		if (simple) {
			const unsigned char *u = (const unsigned char *)line;

			dd->last_pos_prev = dist > 0 ? u[dist - 1] : -1;
			dd->last_pos_at = u[dist];
			dd->last_end_prev = u[end - 1];
			dd->last_end_at = (size_t)end < len ? u[end] : -1;
		} else {
			dd->last_pos_prev = cp_at(dd, line, len, dist - 1);
			dd->last_pos_at = cp_at(dd, line, len, dist);
			/* line[endpos - 1] is the last character when
			   endpos is 0 */
			dd->last_end_prev = end == 0
			    ? cp_at(dd, line, len,
			          to_chars(dd, line, len, len) - 1)
			    : cp_at(dd, line, len, end - 1);
			dd->last_end_at = cp_at(dd, line, len, end);
		}
		m->start = res.gs;
		m->end = res.ge;
		m->err = DATE_OK;
		if (s->t->ngroups < 1)
			m->err = DATE_EOTHER; /* no group 1: IndexError */
		else if (res.ge > res.gs)
			convert(dd, s->t, line, &res, m);
		if (i != 0 && i != dd->last_idx)
			i = reorder(dd, i);
		dd->last_idx = i;
		m->tmpl = (int)i;
	}
	return 1;
}

int
datedetect_match(struct datedetect *dd, const char *line, size_t len,
    time_t now, struct date_match *m)
{
	size_t i = dd->last_idx;

	if (!dd->now.valid || dd->now.now != now)
		strptime_now_set(&dd->now, now);
	dd->subj = NULL;
	dd->feat = 0;
	dd->ascii_ok = 0;
	if (i < dd->n && dd->v[i].t->fast == FAST_SYSLOG &&
	    (dd->v[i].t->flags & F_LINE_BEGIN) &&
	    !(dd->flags & DATEDETECT_NO_FASTPATH) &&
	    match_usual(dd, i, line, len, now, m))
		return 1;
	return match_general(dd, line, len, now, m);
}
