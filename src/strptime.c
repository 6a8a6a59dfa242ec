/*
 * Date field conversion (see strptime.h). Calendar arithmetic is done on
 * "naive" seconds (a wall-clock date counted as if it were UTC), which is
 * how fail2ban's datetime objects behave: the year and day guesses compare
 * the naive date with the naive local "now", even when the line carried a
 * zone, and only the final step turns wall-clock time into epoch seconds.
 */
#include <string.h>

#include "strptime.h"
#include "tzabbr.h"

#define DAY_S INT64_C(86400)

struct keyname {
	const char *name;
	enum strptime_key key;
};

static const struct keyname keynames[] = {
    {"y", SK_y},
    {"Y", SK_Y},
    {"m", SK_m},
    {"B", SK_B},
    {"b", SK_b},
    {"d", SK_d},
    {"H", SK_H},
    {"I", SK_I},
    {"M", SK_M},
    {"S", SK_S},
    {"f", SK_f},
    {"A", SK_A},
    {"a", SK_a},
    {"w", SK_w},
    {"j", SK_j},
    {"U", SK_U},
    {"W", SK_W},
    {"z", SK_z},
    {"Z", SK_Z},
    {"p", SK_p},
};

enum strptime_key
strptime_key_of(const char *name)
{
	for (size_t i = 0; i < sizeof(keynames) / sizeof(keynames[0]); i++)
		if (strcmp(keynames[i].name, name) == 0)
			return keynames[i].key;
	return SK_NONE;
}

/* First code point of every run of ten Unicode decimal digits (Nd). */
static const uint32_t digit_zeros[] = {0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6,
    0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0, 0xf20,
    0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50,
    0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50,
    0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0,
    0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950,
    0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8,
    0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0};

int
strptime_digit(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(digit_zeros) / sizeof(digit_zeros[0]);

	if (cp < 0x80)
		return cp >= '0' && cp <= '9' ? (int)(cp - '0') : -1;
	/* Last zero <= cp. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (digit_zeros[mid] <= cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	if (cp - digit_zeros[lo - 1] < 10)
		return (int)(cp - digit_zeros[lo - 1]);
	return -1;
}

size_t
strptime_utf8(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;
	size_t n;

	if (len == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2;
		c = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		c = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		c = u[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (u[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Decodes s into at most max code points; returns the count or -1. */
static int
decode(const char *s, size_t len, uint32_t *cps, int max)
{
	int n = 0;

	while (len > 0) {
		size_t k = strptime_utf8(s, len, &cps[n]);

		if (k == 0 || n + 1 >= max)
			return -1;
		n++;
		s += k;
		len -= k;
	}
	return n;
}

/*
 * Python's int() on a captured value: optional surrounding white space, a
 * sign, Unicode decimal digits with single underscores between them.
 * Returns 0 and sets *v, or -1 (ValueError).
 */
static int
py_int_cps(const uint32_t *c, int n, int64_t *v)
{
	int i = 0, neg = 0, ndig = 0;
	int64_t x = 0;

	while (n > 0 && (c[n - 1] == ' ' || (c[n - 1] >= 9 && c[n - 1] <= 13)))
		n--;
	while (i < n && (c[i] == ' ' || (c[i] >= 9 && c[i] <= 13)))
		i++;
	if (i < n && (c[i] == '+' || c[i] == '-'))
		neg = c[i++] == '-';
	for (; i < n; i++) {
		int d;

		if (c[i] == '_' && ndig > 0 && i + 1 < n &&
		    strptime_digit(c[i + 1]) >= 0)
			continue;
		d = strptime_digit(c[i]);
		if (d < 0 || x > INT64_C(100000000000000))
			return -1;
		x = x * 10 + d;
		ndig++;
	}
	if (ndig == 0)
		return -1;
	*v = neg ? -x : x;
	return 0;
}

static int
py_int(const char *s, size_t len, int64_t *v)
{
	uint32_t cps[64];
	int n;

	/* The common case: plain ASCII digits. */
	if (len > 0 && len <= 9) {
		int64_t x = 0;
		size_t i;

		for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			x = x * 10 + (s[i] - '0');
		if (i == len) {
			*v = x;
			return 0;
		}
	}
	n = decode(s, len, cps, 64);
	if (n < 0)
		return -1;
	return py_int_cps(cps, n, v);
}

int64_t
strptime_days(int64_t y, int m, int d)
{
	/* Days from civil, after H. Hinnant's public-domain algorithm. */
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(int64_t y, int m)
{
	static const int dm[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : dm[m - 1];
}

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* True when naive seconds t lies in datetime's range (years 1..9999). */
static bool
in_range(int64_t t)
{
	static const int64_t lo = INT64_C(-719162) * DAY_S;
	static const int64_t hi = INT64_C(2932897) * DAY_S;

	return t >= lo && t < hi;
}

void
strptime_now_init(struct strptime_now *n)
{
	memset(n, 0, sizeof(*n));
}

void
strptime_now_set(struct strptime_now *n, time_t now)
{
	struct tm tm;

	if (n->valid && n->now == now)
		return;
	localtime_r(&now, &tm);
	n->now = now;
	n->year = tm.tm_year + 1900;
	n->month = tm.tm_mon + 1;
	n->day = tm.tm_mday;
	n->naive = strptime_days(n->year, n->month, n->day) * DAY_S +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	n->valid = true;
}

/* Local wall-clock naive seconds to epoch seconds, as mktime(3) with
 * tm_isdst = -1 does it (Python's time.mktime on a naive timetuple). */
static int
local_to_epoch(struct strptime_now *n, int64_t naive, double *out)
{
	int64_t minute = floordiv(naive, 60), days = floordiv(naive, DAY_S);
	int64_t rem = naive - days * DAY_S, y;
	struct tm tm;
	time_t t;
	int m, d;

	if (n->cache_ok && n->cache_min == minute) {
		*out = (double)(naive + n->cache_off);
		return 0;
	}
	civil(days, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)(y - 1900);
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = (int)(rem / 3600);
	tm.tm_min = (int)(rem / 60 % 60);
	tm.tm_sec = (int)(rem % 60);
	tm.tm_isdst = -1;
	tm.tm_wday = -1;
	t = mktime(&tm);
	if (t == (time_t)-1 && tm.tm_wday == -1)
		return -1; /* OverflowError */
	n->cache_min = minute;
	n->cache_off = (int64_t)t - naive;
	n->cache_ok = true;
	*out = (double)t;
	return 0;
}

static int
name_index(const char *s, size_t len, const char *const *names, int n)
{
	char buf[16];

	if (len >= sizeof(buf))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80)
			return -1; /* non-ASCII lower-cases to no name */
		buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	buf[len] = '\0';
	for (int i = 0; i < n; i++)
		if (strcmp(buf, names[i]) == 0)
			return i;
	return -1;
}

static const char *const month_abbr[] = {"jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const month_full[] = {"january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october",
    "november", "december"};
/* Monday first, as Python's weekday(). */
static const char *const wday_abbr[] = {
    "mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const wday_full[] = {"monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday"};

static const char *const ampm[] = {"am", "pm"};

static bool
upper(uint32_t c)
{
	return c >= 'A' && c <= 'Z';
}

enum strptime_status
strptime_zone(const char *s, size_t len, int *minutes)
{
	uint32_t c[16];
	int n = decode(s, len, c, 16), i = 0, a = 0, off = 0;

	if (n < 0)
		return STRPTIME_EVALUE;
	/* Python's '$' also matches before one final newline. */
	if (n > 0 && c[n - 1] == '\n')
		n--;
	/* Abbreviation: 1 or 3..5 upper-case letters, greedy with the
	   backtracking a regular expression would do. */
	while (a < n && a < 5 && upper(c[a]))
		a++;
	for (; a >= 0; a--) {
		int rest;

		if (a == 2)
			continue;
		i = a;
		rest = n - i;
		if (rest == 0) {
			off = 0;
			break;
		}
		/* [+-][01]\d(?::?\d{2})? then the end */
		if (rest >= 3 && (c[i] == '+' || c[i] == '-') &&
		    (c[i + 1] == '0' || c[i + 1] == '1') &&
		    strptime_digit(c[i + 2]) >= 0) {
			int sign = c[i] == '-' ? -1 : 1;
			int hh =
			    (c[i + 1] - '0') * 10 + strptime_digit(c[i + 2]);

			if (rest == 3) {
				off = sign * hh * 60;
				break;
			}
			if (rest == 5 && strptime_digit(c[i + 3]) >= 0 &&
			    strptime_digit(c[i + 4]) >= 0) {
				off = sign *
				    (hh * 60 + strptime_digit(c[i + 3]) * 10 +
				        strptime_digit(c[i + 4]));
				break;
			}
			if (rest == 6 && c[i + 3] == ':' &&
			    strptime_digit(c[i + 4]) >= 0 &&
			    strptime_digit(c[i + 5]) >= 0) {
				off = sign *
				    (hh * 60 + strptime_digit(c[i + 4]) * 10 +
				        strptime_digit(c[i + 5]));
				break;
			}
		}
	}
	if (a < 0)
		return STRPTIME_EVALUE;
	if (a > 0) {
		char name[6];
		int base;

		for (int k = 0; k < a; k++)
			name[k] = (char)c[k];
		if (!tzabbr_lookup(name, (size_t)a, &base))
			return STRPTIME_EOTHER; /* KeyError in fail2ban */
		off += base;
	}
	*minutes = off;
	return STRPTIME_OK;
}

/* Day of the year from a week number, as Python's _strptime does it. */
static int64_t
julian_from_week(int64_t year, int64_t week, int weekday, bool monday_first)
{
	/* weekday of Jan 1, Monday = 0; 1970-01-01 was a Thursday */
	int64_t jan1 = strptime_days(year, 1, 1);
	int first = (int)(((jan1 + 3) % 7 + 7) % 7);
	int64_t week0;

	if (!monday_first) {
		first = (first + 1) % 7;
		weekday = (weekday + 1) % 7;
	}
	week0 = (7 - first) % 7;
	if (week == 0)
		return 1 + weekday - first;
	return 1 + week0 + 7 * (week - 1) + weekday;
}

enum strptime_status
strptime_convert(const struct strptime_field *fields, size_t nfields,
    struct strptime_now *now, bool has_deftz, int deftz_min, double *out)
{
	struct strptime_val v;
	int64_t x;
	int idx;
	const struct strptime_field *pf = NULL;

	memset(&v, 0, sizeof(v));
	for (size_t i = 0; i < nfields; i++)
		if (fields[i].key == SK_p)
			pf = &fields[i];
	for (size_t i = 0; i < nfields; i++) {
		const struct strptime_field *f = &fields[i];

		if (f->s == NULL)
			continue;
		switch (f->key) {
		case SK_y:
			if (py_int(f->s, f->len, &v.year) != 0)
				return STRPTIME_EVALUE;
			if (v.year <= 2000)
				v.year += 2000;
			v.has_year = true;
			break;
		case SK_Y:
			if (py_int(f->s, f->len, &v.year) != 0)
				return STRPTIME_EVALUE;
			v.has_year = true;
			break;
		case SK_m:
			if (py_int(f->s, f->len, &v.month) != 0)
				return STRPTIME_EVALUE;
			v.has_month = true;
			break;
		case SK_B:
		case SK_b:
			idx = f->key == SK_B
			    ? name_index(f->s, f->len, month_full, 12)
			    : name_index(f->s, f->len, month_abbr, 12);
			if (idx < 0)
				return STRPTIME_EVALUE;
			v.month = idx + 1;
			v.has_month = true;
			break;
		case SK_d:
			if (py_int(f->s, f->len, &v.day) != 0)
				return STRPTIME_EVALUE;
			v.has_day = true;
			break;
		case SK_H:
			if (py_int(f->s, f->len, &v.hour) != 0)
				return STRPTIME_EVALUE;
			break;
		case SK_I:
			if (py_int(f->s, f->len, &v.hour) != 0)
				return STRPTIME_EVALUE;
			if (pf != NULL && pf->s == NULL)
				return STRPTIME_EOTHER; /* None.lower() */
			idx = pf == NULL || pf->len == 0
			    ? 0
			    : name_index(pf->s, pf->len, ampm, 2);
			if (idx == 0 && v.hour == 12)
				v.hour = 0;
			else if (idx == 1 && v.hour != 12)
				v.hour += 12;
			break;
		case SK_M:
			if (py_int(f->s, f->len, &v.minute) != 0)
				return STRPTIME_EVALUE;
			break;
		case SK_S:
			if (py_int(f->s, f->len, &v.second) != 0)
				return STRPTIME_EVALUE;
			break;
		case SK_A:
		case SK_a:
			idx = f->key == SK_A
			    ? name_index(f->s, f->len, wday_full, 7)
			    : name_index(f->s, f->len, wday_abbr, 7);
			if (idx < 0)
				return STRPTIME_EVALUE;
			v.weekday = idx;
			v.has_wday = true;
			break;
		case SK_w:
			if (py_int(f->s, f->len, &x) != 0)
				return STRPTIME_EVALUE;
			v.weekday = (int)(x - 1 < 0 ? 6 : x - 1);
			v.has_wday = true;
			break;
		case SK_j:
			if (py_int(f->s, f->len, &v.julian) != 0)
				return STRPTIME_EVALUE;
			v.has_julian = true;
			break;
		case SK_U:
		case SK_W:
			if (py_int(f->s, f->len, &v.week) != 0)
				return STRPTIME_EVALUE;
			v.has_week = true;
			v.week_monday = f->key == SK_W;
			break;
		case SK_z:
		case SK_Z:
			if ((f->len == 1 && f->s[0] == 'Z') ||
			    (f->len == 3 &&
			        (memcmp(f->s, "UTC", 3) == 0 ||
			            memcmp(f->s, "GMT", 3) == 0))) {
				v.tzoff = 0;
			} else {
				enum strptime_status st =
				    strptime_zone(f->s, f->len, &v.tzoff);

				if (st != STRPTIME_OK)
					return st;
			}
			v.has_tz = true;
			break;
		case SK_f:
		case SK_p:
		case SK_NONE:
			break;
		}
	}
	return strptime_finish(&v, now, has_deftz, deftz_min, out);
}

enum strptime_status
strptime_finish(const struct strptime_val *in, struct strptime_now *now,
    bool has_deftz, int deftz_min, double *out)
{
	struct strptime_val v = *in;
	bool assume_year = false, assume_today = false;
	int64_t t;

	if (!v.has_year) {
		v.year = now->year;
		assume_year = true;
	}
	if (!v.has_month || !v.has_day) {
		if (!v.has_julian && v.has_week && v.has_wday) {
			v.julian = julian_from_week(
			    v.year, v.week, v.weekday, v.week_monday);
			v.has_julian = true;
		}
		if (v.has_julian) {
			int64_t ord, y2;
			int m2, d2;

			if (v.year < 1 || v.year > 9999)
				return STRPTIME_EVALUE;
			ord = strptime_days(v.year, 1, 1) + v.julian - 1;
			/* fromordinal() accepts ordinals 1..3652059 */
			if (ord < INT64_C(-719162) || ord > INT64_C(2932896))
				return STRPTIME_EVALUE;
			civil(ord, &y2, &m2, &d2);
			v.year = y2;
			v.month = m2;
			v.day = d2;
			v.has_month = v.has_day = true;
		}
	}
	if (!v.has_month && !v.has_day) {
		v.month = now->month;
		v.day = now->day;
		assume_today = true;
	} else if (!v.has_month || !v.has_day) {
		return STRPTIME_EOTHER; /* datetime(..., None, ...) */
	}
	if (v.year < 1 || v.year > 9999 || v.month < 1 || v.month > 12 ||
	    v.day < 1 || v.day > mdays(v.year, (int)v.month) || v.hour < 0 ||
	    v.hour > 23 || v.minute < 0 || v.minute > 59 || v.second < 0 ||
	    v.second > 59)
		return STRPTIME_EVALUE;
	if (!now->days_ok || now->days_y != v.year || now->days_m != v.month ||
	    now->days_d != v.day) {
		now->days_y = v.year;
		now->days_m = (int)v.month;
		now->days_d = (int)v.day;
		now->days_v = strptime_days(v.year, (int)v.month, (int)v.day);
		now->days_ok = true;
	}
	t = now->days_v * DAY_S + v.hour * 3600 + v.minute * 60 + v.second;
	if (!v.has_tz && has_deftz) {
		v.tzoff = deftz_min;
		v.has_tz = true;
	}
	if (v.has_tz) {
		t -= (int64_t)v.tzoff * 60;
		if (!in_range(t))
			return STRPTIME_EOTHER; /* OverflowError */
	}
	if (assume_today && t > now->naive) {
		t -= DAY_S;
		if (!in_range(t))
			return STRPTIME_EOTHER;
	}
	if (assume_year && t > now->naive + DAY_S) {
		/* replace(year=year-1, month=month, day=day): keeps the time
		   of day of the (possibly zone-shifted) result */
		int64_t tod = t - floordiv(t, DAY_S) * DAY_S;

		if (v.year - 1 < 1 || v.day > mdays(v.year - 1, (int)v.month))
			return STRPTIME_EVALUE;
		t = strptime_days(v.year - 1, (int)v.month, (int)v.day) *
		        DAY_S +
		    tod;
	}
	if (v.has_tz) {
		*out = (double)t;
		now->last_tz = true;
		return STRPTIME_OK;
	}
	if (local_to_epoch(now, t, out) != 0)
		return STRPTIME_EOTHER;
	now->last_tz = false;
	return STRPTIME_OK;
}
