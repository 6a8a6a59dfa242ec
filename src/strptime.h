/*
 * Converts the fields a date template captured (year, month name, hour, zone
 * ...) into epoch seconds, with fail2ban's rules: a missing year is this
 * year (or last year when that would put the date more than a day in the
 * future), a missing day is today (or yesterday), %j/%U/%W give the day,
 * and a zone in the line, else the log's default zone, else local time
 * (mktime with the process TZ) fixes the offset. It knows nothing about
 * regular expressions: datedetect.c hands it the captured substrings.
 */
#ifndef WARDEN_STRPTIME_H
#define WARDEN_STRPTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The strptime directives whose captured value matters. */
enum strptime_key {
	SK_NONE,
	SK_y, /* two-digit year: 2000 + yy */
	SK_Y,
	SK_m,
	SK_B, /* full month name */
	SK_b, /* abbreviated month name */
	SK_d,
	SK_H,
	SK_I, /* 12-hour clock, with %p */
	SK_M,
	SK_S,
	SK_f, /* fraction: parsed, ignored */
	SK_A, /* full weekday name */
	SK_a,
	SK_w,
	SK_j,
	SK_U,
	SK_W,
	SK_z,
	SK_Z,
	SK_p,
};

/* Maps a named-group name ("Y", "b", ...) to its key, SK_NONE if none. */
enum strptime_key strptime_key_of(const char *name);

/* One captured group: s == NULL when the group did not take part. */
struct strptime_field {
	enum strptime_key key;
	const char *s; /* borrows from the line */
	size_t len;
};

/* Conversion outcome, mirroring how fail2ban reacts. */
enum strptime_status {
	STRPTIME_OK = 0,
	/* ValueError in fail2ban (Feb 30, hour 24, bad zone syntax ...): the
	   line is treated as having no date. */
	STRPTIME_EVALUE = 1,
	/* Any other exception in fail2ban (unknown zone abbreviation, month
	   without day ...): fail2ban drops the line with an error. */
	STRPTIME_EOTHER = 2,
};

/*
 * "now" broken down once per value of now, plus a one-entry cache of the
 * local zone's offset, so that converting a line costs no libc time call
 * in the common case. Initialise with strptime_now_init(); it is updated
 * in place by strptime_now_set() and strptime_convert().
 */
struct strptime_now {
	time_t now;    /* the epoch second broken down below */
	int year;      /* local calendar date of now */
	int month;     /* 1..12 */
	int day;       /* 1..31 */
	int64_t naive; /* local wall-clock time of now as "naive" seconds */
	bool valid;
	int64_t cache_min; /* naive minute whose offset is cached */
	int64_t cache_off; /* mktime() result minus naive seconds */
	bool cache_ok;
	int64_t days_y, days_v; /* last date converted to days */
	int days_m, days_d;
	bool days_ok;
	/* The last successful conversion applied a zone offset (from the
	   line or the default): fail2ban's result is then an int
	   (calendar.timegm), else a float (time.mktime). */
	bool last_tz;
};

void strptime_now_init(struct strptime_now *n);
/* Breaks now down in the local zone, unless it already is. */
void strptime_now_set(struct strptime_now *n, time_t now);

/*
 * Converts fields[0..nfields-1] (in group order) to epoch seconds in *out.
 * has_deftz/deftz_min is the detector's logtimezone offset in minutes.
 * Returns a strptime_status. Never blocks.
 */
enum strptime_status strptime_convert(const struct strptime_field *fields,
    size_t nfields, struct strptime_now *now, bool has_deftz, int deftz_min,
    double *out);

/* Field values, once read from the text (or by a hand-written matcher). */
struct strptime_val {
	int64_t year, month, day; /* valid when has_* */
	int64_t hour, minute, second;
	int64_t julian, week;
	int weekday; /* Monday = 0 */
	int tzoff;   /* minutes east of UTC, when has_tz */
	bool has_year, has_month, has_day, has_julian, has_week, has_wday;
	bool has_tz, week_monday;
};

/* The second half of strptime_convert(): from values to epoch seconds. */
enum strptime_status strptime_finish(const struct strptime_val *v,
    struct strptime_now *now, bool has_deftz, int deftz_min, double *out);

/*
 * Parses a zone like fail2ban's validateTimeZone: "[ABBR][+-hh[[:]mm]]"
 * (ABBR is 1 or 3..5 upper-case letters, known to tzabbr) into minutes
 * east of UTC. Returns STRPTIME_OK, STRPTIME_EVALUE when the syntax is not
 * accepted, STRPTIME_EOTHER when the abbreviation is unknown.
 */
enum strptime_status strptime_zone(const char *s, size_t len, int *minutes);

/*
 * Decodes one UTF-8 character at s (len bytes available) into *cp and
 * returns its length, or 0 when the bytes are not valid UTF-8.
 */
size_t strptime_utf8(const char *s, size_t len, uint32_t *cp);
/* The value of a Unicode decimal digit, -1 when cp is not one. */
int strptime_digit(uint32_t cp);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t strptime_days(int64_t y, int m, int d);

#endif
