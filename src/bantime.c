/*
 * Incremental ban time (see bantime.h). The arithmetic fail2ban does in
 * Python lambdas is done by small pyexpr expressions compiled once, so it
 * has exactly Python's int/float behaviour and the same overflow bounds
 * as a user's formula.
 */
#include "bantime.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "xmalloc.h"

struct bantime {
	struct pyexpr_val factor;
	long *mult; /* owned; n > 0: multipliers replace the formula */
	size_t nmult;
	struct pyexpr *formula;   /* ban.Time, ban.Count, banFactor */
	struct pyexpr *mult_expr; /* ban.Time * banFactor * m */
	struct pyexpr *max_expr;  /* max(ban.Time, x) */
	struct pyexpr *min_expr;  /* min(x, maxtime) */
	struct pyexpr *rnd_expr;  /* x + r * rndtime */
	bool has_maxtime;
	struct pyexpr_val maxtime;
	bool has_rndtime;
	double rndtime;
};

static const char *const formula_names[] = {
    "ban.Time", "ban.Count", "banFactor"};

struct bantime *
bantime_new(const struct bantime_opts *o, char *err, size_t errlen)
{
	struct bantime *bt = xcalloc(1, sizeof(*bt));
	char e[200];
	static const char *const mult_names[] = {"ban.Time", "banFactor", "m"};
	static const char *const max_names[] = {"ban.Time", "x"};
	static const char *const min_names[] = {"x", "maxtime"};
	static const char *const rnd_names[] = {"x", "r", "rndtime"};

	if (pyexpr_eval_str(
	        o->factor ? o->factor : "1", &bt->factor, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "bantime.factor: %s", e);
		goto fail;
	}
	if (o->nmultipliers > 0) {
		bt->mult = xreallocarray(NULL, o->nmultipliers, sizeof(long));
		memcpy(
		    bt->mult, o->multipliers, o->nmultipliers * sizeof(long));
		bt->nmult = o->nmultipliers;
	} else {
		bt->formula = pyexpr_compile(
		    o->formula ? o->formula : BANTIME_DEFAULT_FORMULA,
		    formula_names, 3, e, sizeof(e));
		if (!bt->formula) {
			snprintf(err, errlen, "bantime.formula: %s", e);
			goto fail;
		}
	}
	bt->mult_expr = pyexpr_compile(
	    "ban.Time * banFactor * m", mult_names, 3, e, sizeof(e));
	bt->max_expr =
	    pyexpr_compile("max(ban.Time, x)", max_names, 2, e, sizeof(e));
	bt->min_expr =
	    pyexpr_compile("min(x, maxtime)", min_names, 2, e, sizeof(e));
	bt->rnd_expr =
	    pyexpr_compile("x + r * rndtime", rnd_names, 3, e, sizeof(e));
	bt->has_maxtime = o->has_maxtime;
	bt->maxtime = o->maxtime;
	bt->has_rndtime = o->has_rndtime;
	bt->rndtime = o->rndtime;
	return bt;
fail:
	bantime_free(bt);
	return NULL;
}

void
bantime_free(struct bantime *bt)
{
	if (!bt)
		return;
	free(bt->mult);
	pyexpr_free(bt->formula);
	pyexpr_free(bt->mult_expr);
	pyexpr_free(bt->max_expr);
	pyexpr_free(bt->min_expr);
	pyexpr_free(bt->rnd_expr);
	free(bt);
}

struct pyexpr_val
bantime_factor(const struct bantime *bt)
{
	return bt->factor;
}

double
bantime_random(void *ctx)
{
	uint64_t v = 0;

	(void)ctx;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint64_t)random() << 31 ^ (uint64_t)random();
	/* 53 random bits, like Python's random() */
	return (double)(v >> 11) / 9007199254740992.0;
}

int
bantime_calc(const struct bantime *bt, struct pyexpr_val bantime, long count,
    double (*rnd)(void *ctx), void *rctx, struct pyexpr_val *out, char *err,
    size_t errlen)
{
	struct pyexpr_val v[3], x;

	if (bt->nmult > 0) {
		long idx =
		    count < (long)bt->nmult ? count : (long)bt->nmult - 1;

		if (idx < 0) /* Python's negative index */
			idx += (long)bt->nmult;
		if (idx < 0) {
			snprintf(
			    err, errlen, "IndexError: list index out of range");
			return -1;
		}
		v[0] = bantime;
		v[1] = bt->factor;
		v[2] = pyexpr_int(bt->mult[idx]);
		if (pyexpr_eval(bt->mult_expr, v, &x, err, errlen) != 0)
			return -1;
	} else {
		struct pyexpr_val f;

		v[0] = bantime;
		v[1] = pyexpr_int(count);
		v[2] = bt->factor;
		if (pyexpr_eval(bt->formula, v, &f, err, errlen) != 0)
			return -1;
		v[1] = f;
		if (pyexpr_eval(bt->max_expr, v, &x, err, errlen) != 0)
			return -1;
	}
	if (bt->has_maxtime) {
		v[0] = x;
		v[1] = bt->maxtime;
		if (pyexpr_eval(bt->min_expr, v, &x, err, errlen) != 0)
			return -1;
	}
	if (bt->has_rndtime) {
		v[0] = x;
		v[1] = pyexpr_float((rnd ? rnd : bantime_random)(rctx));
		v[2] = pyexpr_float(bt->rndtime);
		if (pyexpr_eval(bt->rnd_expr, v, &x, err, errlen) != 0)
			return -1;
	}
	*out = x;
	return 0;
}

int
bantime_on_ban(const struct bantime *bt, struct pyexpr_val jail_bantime,
    bool found, long db_bancount, double db_timeofban, long ticket_bancount,
    double ticket_time, double now, double (*rnd)(void *ctx), void *rctx,
    struct bantime_ban *out, char *err, size_t errlen)
{
	struct pyexpr_val btime = jail_bantime, zero = pyexpr_int(0);
	struct pyexpr_val minus1 = pyexpr_int(-1);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->bancount = ticket_bancount;
	if (pyexpr_cmp(&btime, &minus1) != 0 &&
	    pyexpr_cmp(&btime, &zero) == 1 && found) {
		/* incrBanTime, for the database's first (latest) row */
		if (db_bancount >= out->bancount)
			out->bancount = db_bancount + 1;
		if (db_bancount > 0) {
			struct pyexpr_val nb;

			rc = bantime_calc(bt, btime, db_bancount, rnd, rctx,
			    &nb, err, errlen);
			if (rc == 0)
				btime = nb;
		}
		if (rc == 0) {
			if (ticket_time > db_timeofban)
				out->log_is_bad = true;
			else
				out->restored = true;
		}
	}
	out->bantime = btime;
	if (pyexpr_cmp(&btime, &minus1) != 0 &&
	    ticket_time + pyexpr_to_double(&btime) < now) {
		out->too_old = true;
		return rc;
	}
	out->increased = pyexpr_cmp(&btime, &jail_bantime) != 0;
	return rc;
}

void
bantime_known_bad(bool found, long db_bancount, double db_timeofban,
    long ticket_bancount, double failure_time, int maxretry,
    struct bantime_bad *out)
{
	struct pyexpr_val retry = pyexpr_int(1), mr = pyexpr_int(maxretry);
	long bc = 0;

	memset(out, 0, sizeof(*out));
	if (found) {
		bc = db_bancount > ticket_bancount ? db_bancount
		                                   : ticket_bancount;
		/* (1 << min(bc, 20)) / 2 + 1: a float in Python 3 */
		retry = pyexpr_float((double)(1L << (bc < 0     ? 0
		                                      : bc < 20 ? bc
		                                                : 20)) /
		        2 +
		    1);
	}
	/* min(retry, maxRetry) keeps retry unless maxretry is smaller */
	if (pyexpr_cmp(&mr, &retry) == -1)
		retry = mr;
	out->retry = retry;
	out->bancount = bc;
	if (found && failure_time <= db_timeofban) {
		out->action = BANTIME_BAD_IGNORE;
		return;
	}
	if (pyexpr_to_double(&retry) <= 1) {
		out->action = BANTIME_BAD_NONE;
		return;
	}
	out->action = BANTIME_BAD_RAISE;
	out->count = pyexpr_to_double(&retry) - 1;
	out->ban = pyexpr_to_double(&retry) >= maxretry;
}

/* ---- text ---- */

/* Python's float // and % for a positive divisor. */
static void
py_divmod(double x, double y, double *q, double *m)
{
	double mod = fmod(x, y), div = (x - mod) / y, fl;

	if (mod != 0.0 && (y < 0) != (mod < 0)) {
		mod += y;
		div -= 1.0;
	}
	if (mod == 0.0)
		mod = copysign(0.0, y);
	if (div != 0.0) {
		fl = floor(div);
		if (div - fl > 0.5)
			fl += 1.0;
	} else {
		fl = copysign(0.0, x / y);
	}
	*q = fl;
	*m = mod;
}

/* Python's // and % on ints for a positive divisor. */
static int64_t
floordiv_i(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

static int64_t
mod_i(int64_t a, int64_t b)
{
	int64_t m = a % b;

	if (m != 0 && m < 0)
		m += b;
	return m;
}

void
bantime_format_duration(struct sbuf *out, const struct pyexpr_val *sec)
{
	double s = pyexpr_to_double(sec);
	struct sbuf r = SBUF_INIT;
	int64_t v;

	if (sec->type == PYEXPR_FLOAT && isinf(s) && s > 0) {
		/* Python raises here (int(round(inf))); print it */
		sbuf_addstr(out, "inf");
		return;
	}
	if (s >= 31536000) {
		v = (int64_t)nearbyint(s / 86400);
		sbuf_printf(&r, "%lldy ", (long long)(v / 365));
		v %= 365;
		if (v >= 7) {
			sbuf_printf(&r, "%lldw ", (long long)(v / 7));
			v %= 7;
		}
		if (v)
			sbuf_printf(&r, "%lldd ", (long long)v);
	} else if (s >= 604800) {
		v = (int64_t)nearbyint(s / 3600);
		sbuf_printf(&r, "%lldw ", (long long)(v / 168));
		v %= 168;
		if (v >= 24) {
			sbuf_printf(&r, "%lldd ", (long long)(v / 24));
			v %= 24;
		}
		if (v)
			sbuf_printf(&r, "%lldh ", (long long)v);
	} else if (s >= 86400) {
		v = (int64_t)nearbyint(s / 60);
		sbuf_printf(&r, "%lldd ", (long long)(v / 1440));
		v %= 1440;
		if (v >= 60) {
			sbuf_printf(&r, "%lldh ", (long long)(v / 60));
			v %= 60;
		}
		if (v)
			sbuf_printf(&r, "%lldm ", (long long)v);
	} else if (s >= 3595) {
		v = (int64_t)nearbyint(s / 10);
		sbuf_printf(&r, "%lldh ", (long long)(v / 360));
		v %= 360;
		if (v >= 6)
			sbuf_printf(&r, "%lldm ", (long long)(v / 6));
	} else if (sec->type != PYEXPR_FLOAT) {
		v = sec->i;
		if (v >= 60) {
			sbuf_printf(&r, "%lldm ", (long long)floordiv_i(v, 60));
			v = mod_i(v, 60);
		}
		if (v)
			sbuf_printf(&r, "%llds ", (long long)v);
		else if (sec->i == 0)
			sbuf_addstr(&r, "0 ");
	} else {
		struct pyexpr_val q;
		char buf[PYEXPR_FMTLEN];

		if (s >= 60) {
			double qq, m;

			py_divmod(s, 60, &qq, &m);
			q = pyexpr_float(qq);
			sbuf_printf(&r, "%sm ", pyexpr_format(&q, buf));
			s = m;
		}
		if (s != 0.0 || isnan(s)) {
			q = pyexpr_float(s);
			sbuf_printf(&r, "%ss ", pyexpr_format(&q, buf));
		} else if (sec->f == 0.0) {
			sbuf_addstr(&r, "0 ");
		}
	}
	if (r.len > 0)
		sbuf_truncate(&r, r.len - 1);
	sbuf_addstr(out, sbuf_str(&r));
	sbuf_cleanup(&r);
}

void
bantime_msg_increase(struct sbuf *out, const char *jail, const char *key,
    long bancount, const struct pyexpr_val *bantime, double ticket_time)
{
	struct pyexpr_val minus1 = pyexpr_int(-1);
	char tb[WLOG_TIMESTRLEN];

	sbuf_printf(out, "[%s] Increase Ban %s (%ld # ", jail, key, bancount);
	if (pyexpr_cmp(bantime, &minus1) == 0) {
		sbuf_addstr(out, "permanent -> infinite)");
		return;
	}
	bantime_format_duration(out, bantime);
	sbuf_printf(out, " -> %s)",
	    wlog_time2str(ticket_time + pyexpr_to_double(bantime), tb));
}

void
bantime_msg_is_bad(struct sbuf *out, const char *jail, const char *key,
    long db_bancount, double db_timeofban, const struct pyexpr_val *from,
    const struct pyexpr_val *to)
{
	char tb[WLOG_TIMESTRLEN];

	sbuf_printf(out, "[%s] IP %s is bad: %ld # last %s - incr ", jail, key,
	    db_bancount, wlog_time2str(db_timeofban, tb));
	bantime_format_duration(out, from);
	sbuf_addstr(out, " to ");
	bantime_format_duration(out, to);
}

void
bantime_msg_found_bad(struct sbuf *out, const char *jail, const char *key,
    double failure_time, const struct bantime_bad *bad)
{
	char tb[WLOG_TIMESTRLEN], rb[PYEXPR_FMTLEN];

	sbuf_printf(out, "[%s] Found %s, bad - %s, %ld # -> %s%s", jail, key,
	    wlog_time2str(failure_time, tb), bad->bancount,
	    pyexpr_format(&bad->retry, rb), bad->ban ? ", Ban" : "");
}
