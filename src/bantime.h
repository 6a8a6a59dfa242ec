/*
 * fail2ban's incremental ban time (spec 4.4; observer.py calcBanTime,
 * incrBanTime, banFound, failureFound; jail.py setBanTimeExtra) as pure
 * functions: the ban time formula (default or bantime.formula through
 * pyexpr, or bantime.multipliers), bantime.factor, bantime.maxtime,
 * bantime.rndtime, the "known bad IPs fail faster" retry rule, and the
 * pieces of the log messages ("Increase Ban 192.0.2.1 (2 # 20m ->
 * 2026-11-21 06:00:00)", seconds formatted like fail2ban's "1h 2m").
 *
 * Values keep Python's int/float distinction (struct pyexpr_val) because
 * fail2ban prints them with str(): a ban time of 6 prints "6s" but 6.0
 * prints "6.0s", a retry count prints "2.0". The jail's bantime is an int
 * in fail2ban (BanManager.setBanTime does int()). The database lookups
 * (bancount, time of the last ban) are the caller's; nothing here does
 * I/O or reads a clock, and randomness comes from a caller's function.
 */
#ifndef WARDEN_BANTIME_H
#define WARDEN_BANTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "pyexpr.h"
#include "sbuf.h"

/* fail2ban's default bantime.formula. */
#define BANTIME_DEFAULT_FORMULA                                                \
	"ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor"

struct bantime_opts {
	const char *formula;     /* bantime.formula; NULL = the default */
	const char *factor;      /* bantime.factor (a Python expression);
	                            NULL = "1" */
	const long *multipliers; /* bantime.multipliers; used instead of
	                            the formula when nmultipliers > 0 */
	size_t nmultipliers;
	bool has_maxtime;          /* bantime.maxtime set */
	struct pyexpr_val maxtime; /* seconds (int or float as str2seconds
	                              gave it) */
	bool has_rndtime;          /* bantime.rndtime set */
	double rndtime;            /* seconds */
};

struct bantime;

/*
 * Compiles the options. Returns a new object (free with bantime_free), or
 * NULL with "bantime.formula: column 5: ..." or "bantime.factor: ..." in
 * err. As in fail2ban, a formula is not compiled when multipliers are
 * set.
 */
struct bantime *bantime_new(
    const struct bantime_opts *o, char *err, size_t errlen);
void bantime_free(struct bantime *bt);

/* The evaluated bantime.factor (fail2ban's banFactor). */
struct pyexpr_val bantime_factor(const struct bantime *bt);

/*
 * A uniform random number in [0, 1) (fail2ban's random.random()), from
 * the kernel's random source; ctx is unused. The default for rnd below.
 */
double bantime_random(void *ctx);

/*
 * fail2ban's calcBanTime / evformula: the ban time for a key banned count
 * times before, given the jail's bantime:
 *   multipliers: bantime * factor * multipliers[min(count, n - 1)]
 *   formula:     max(bantime, formula)
 * then min(.., maxtime) and + random() * rndtime. rnd (NULL = bantime_random)
 * gives random(). Returns 0 with *out, or -1 with the evaluation error
 * in err (fail2ban then keeps the unincreased bantime).
 */
int bantime_calc(const struct bantime *bt, struct pyexpr_val bantime,
    long count, double (*rnd)(void *ctx), void *rctx, struct pyexpr_val *out,
    char *err, size_t errlen);

/*
 * What happens when a new (not restored) ban is found with bantime
 * increment on (observer.banFound + incrBanTime). Inputs: the jail's
 * bantime; whether the database has a row for the key (found) with its
 * bancount and time of the last ban; the ticket's bancount and time; now.
 */
struct bantime_ban {
	struct pyexpr_val bantime; /* the ban's bantime from now on */
	long bancount;             /* the ticket's bancount from now on */
	bool increased;            /* log NOTICE "Increase Ban" (bantime
	                              differs from the jail's) */
	bool log_is_bad;           /* log INFO "IP .. is bad" */
	bool restored;             /* ticket time <= last ban: fail2ban marks
	                              the ticket restored (not stored again) */
	bool too_old;              /* time + bantime < now: fail2ban drops
	                              it ("Ignore old bantime", DEBUG) */
};

/*
 * Returns 0, or -1 when the formula failed to evaluate (message in err,
 * to be logged as an ERROR); out then holds what fail2ban does after such
 * an error: the jail's bantime, the bancount already raised.
 */
int bantime_on_ban(const struct bantime *bt, struct pyexpr_val jail_bantime,
    bool found, long db_bancount, double db_timeofban, long ticket_bancount,
    double ticket_time, double now, double (*rnd)(void *ctx), void *rctx,
    struct bantime_ban *out, char *err, size_t errlen);

/*
 * "Known bad IPs fail faster" (observer.failureFound), for a failure at
 * failure_time of a key that the database knows (found) with bancount
 * and time of last ban.
 */
enum bantime_bad_action {
	BANTIME_BAD_NONE,   /* nothing to add (not known, or retry <= 1) */
	BANTIME_BAD_IGNORE, /* failure not after the last ban: ignore it
	                       (DEBUG "Ignore failure .. before last ban") */
	BANTIME_BAD_RAISE,  /* add count to the failure's entry (observed),
	                       log INFO "Found .., bad - .." */
};

struct bantime_bad {
	enum bantime_bad_action action;
	struct pyexpr_val retry; /* as fail2ban prints it: 2.0, or maxretry
	                            (an int) when that is smaller */
	double count;            /* retry - 1: the count to add */
	long bancount;           /* max(db, ticket) bancount: set on the
	                            ticket */
	bool ban;                /* retry >= maxretry: ", Ban" */
};

void bantime_known_bad(bool found, long db_bancount, double db_timeofban,
    long ticket_bancount, double failure_time, int maxretry,
    struct bantime_bad *out);

/*
 * fail2ban's MyTime.seconds2str: "1y 3w 4d", "2d 7h 15m", "1h",
 * "59m 50s", "59s", "0"; a float below an hour keeps Python's str() form
 * ("6.0s", "1.0m 30.5s"). Appends to out.
 */
void bantime_format_duration(struct sbuf *out, const struct pyexpr_val *sec);

/* The messages, without the "[jail] " prefix's surroundings; each appends
 * to out. Times are printed in local time as fail2ban's time2str. */
/* "[J] Increase Ban K (N # 1h 2m -> 2026-11-21 06:00:00)", or
 * "(N # permanent -> infinite)" for bantime -1. */
void bantime_msg_increase(struct sbuf *out, const char *jail, const char *key,
    long bancount, const struct pyexpr_val *bantime, double ticket_time);
/* "[J] IP K is bad: N # last 2026-.. - incr 10m to 20m" */
void bantime_msg_is_bad(struct sbuf *out, const char *jail, const char *key,
    long db_bancount, double db_timeofban, const struct pyexpr_val *from,
    const struct pyexpr_val *to);
/* "[J] Found K, bad - 2026-.., N # -> 2.0[, Ban]" */
void bantime_msg_found_bad(struct sbuf *out, const char *jail, const char *key,
    double failure_time, const struct bantime_bad *bad);

#endif
