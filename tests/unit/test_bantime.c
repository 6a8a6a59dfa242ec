/*
 * bantime: fail2ban's increment formula, factor, multipliers, maxtime and
 * rndtime (expected values produced by fail2ban's own Jail.setBanTimeExtra
 * evformula), the spec's verified 3 s -> 6 s -> 12 s sequence, the
 * known-bad-IP retry rule, seconds2str and the log message texts.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bantime.h"
#include "tap.h"

static double
half(void *ctx)
{
	(void)ctx;
	return 0.5;
}

static struct pyexpr_val
num(const char *s)
{
	struct pyexpr_val v;
	char e[100];

	if (pyexpr_eval_str(s, &v, e, sizeof(e)) != 0)
		abort();
	return v;
}

/* Evaluates calcBanTime with the options and returns "type repr". */
static const char *
calc(const char *formula, const char *factor, const char *mults,
    const char *maxtime, const char *rndtime, const char *bantime, long count)
{
	static char out[256];
	struct bantime_opts o = {0};
	long m[16];
	char err[200], buf[PYEXPR_FMTLEN];
	struct bantime *bt;
	struct pyexpr_val v;

	o.formula = formula;
	o.factor = factor;
	if (mults) {
		char *p = (char *)mults;

		while (*p && o.nmultipliers < 16) {
			m[o.nmultipliers++] = strtol(p, &p, 10);
			while (*p == ' ')
				p++;
		}
		o.multipliers = m;
	}
	if (maxtime) {
		o.has_maxtime = true;
		o.maxtime = num(maxtime);
	}
	if (rndtime) {
		o.has_rndtime = true;
		o.rndtime = atof(rndtime);
	}
	bt = bantime_new(&o, err, sizeof(err));
	if (!bt) {
		snprintf(out, sizeof(out), "NEW %s", err);
		return out;
	}
	if (bantime_calc(
	        bt, num(bantime), count, half, NULL, &v, err, sizeof(err)) != 0)
		snprintf(out, sizeof(out), "ERR %s", err);
	else
		snprintf(out, sizeof(out), "%s %s",
		    v.type == PYEXPR_FLOAT ? "float" : "int",
		    pyexpr_format(&v, buf));
	bantime_free(bt);
	return out;
}

static void
test_calc(void)
{
	const char *expf = "ban.Time * math.exp(float(ban.Count+1)*banFactor)/"
	                   "math.exp(1*banFactor)";

	/* default formula: bantime * 2**min(count, 20) * factor */
	is_str(calc(NULL, NULL, NULL, NULL, NULL, "600", 1), "int 1200",
	    "default, count 1");
	is_str(calc(NULL, NULL, NULL, NULL, NULL, "600", 3), "int 4800",
	    "default, count 3");
	is_str(calc(NULL, NULL, NULL, NULL, NULL, "86400", 21),
	    "int 90596966400", "default, count 21 capped at 2**20");
	is_str(calc(NULL, "1.5", NULL, NULL, NULL, "600", 2), "float 3600.0",
	    "factor 1.5 makes a float");
	is_str(calc(NULL, "3 // 2", NULL, NULL, NULL, "600", 2), "int 2400",
	    "factor is a Python expression");
	/* max(ban.Time, formula) */
	is_str(calc("ban.Time / 2", NULL, NULL, NULL, NULL, "600", 5),
	    "int 600", "a formula below bantime gives bantime");
	is_str(calc(NULL, "0.5", NULL, NULL, NULL, "600", 0), "int 600",
	    "max keeps the int bantime when equal or larger");
	is_str(calc(expf, NULL, NULL, NULL, NULL, "600", 2),
	    "float 4433.43365935839", "fail2ban's sample exp formula");
	/* multipliers replace the formula, no max() */
	is_str(calc("this is not compiled", NULL, "1 2 4 8 16 32 64", NULL,
	           NULL, "600", 3),
	    "int 4800", "multipliers[3]");
	is_str(calc(NULL, NULL, "1 2 4 8 16 32 64", NULL, NULL, "600", 40),
	    "int 38400", "count past the end uses the last");
	is_str(calc(NULL, "2", "0", NULL, NULL, "600", 1), "int 0",
	    "multiplier 0 gives 0 (no max with bantime)");
	is_str(calc(NULL, "1.5", "1 5 30", NULL, NULL, "600", 1),
	    "float 4500.0", "multipliers with a float factor");
	/* maxtime, rndtime */
	is_str(calc(NULL, NULL, NULL, "86400", NULL, "600", 10), "int 86400",
	    "maxtime caps");
	is_str(calc(NULL, NULL, NULL, "3600.0", NULL, "600", 10),
	    "float 3600.0", "a float maxtime wins as a float");
	is_str(calc(NULL, NULL, NULL, "86400", NULL, "600", 1), "int 1200",
	    "below maxtime unchanged");
	is_str(calc(NULL, NULL, NULL, NULL, "60", "600", 1), "float 1230.0",
	    "rndtime adds random() * rndtime (random 0.5)");
	is_str(calc(NULL, NULL, NULL, "100", "60", "600", 1), "float 130.0",
	    "maxtime before rndtime");
	/* errors */
	is_str(calc("ban.Time * (", NULL, NULL, NULL, NULL, "600", 1),
	    "NEW bantime.formula: column 13: invalid syntax (unexpected end)",
	    "formula syntax error names the column");
	is_str(calc(NULL, "2 +", NULL, NULL, NULL, "600", 1),
	    "NEW bantime.factor: column 4: invalid syntax (unexpected end)",
	    "factor error");
	is_str(calc("ban.Time * 10 ** ban.Count", NULL, NULL, NULL, NULL, "600",
	           30),
	    "ERR column 15: OverflowError: integer result too large (Warden's "
	    "integers are 64-bit)",
	    "an overflowing formula is an error, not a huge number");
	is_str(calc("ban.Time / (ban.Count - 1)", NULL, NULL, NULL, NULL, "600",
	           1),
	    "ERR column 10: ZeroDivisionError: division by zero",
	    "a failing formula reports the Python error");
}

static void
test_sequence(void)
{
	/* spec 4.4: bantime 3, maxretry 1: bans of 3 s, 6 s, 12 s and
	 * bips.bancount 3 */
	struct bantime_opts o = {0};
	struct bantime *bt = bantime_new(&o, NULL, 0);
	struct bantime_ban r;
	struct sbuf m = SBUF_INIT;
	char err[100];
	long db_bancount = 0;
	double t = 1795238665; /* 2026-11-21 05:24:25 UTC */
	static const char *const want_bt[] = {"3", "6", "12"};

	for (int i = 0; i < 3; i++) {
		char buf[PYEXPR_FMTLEN];
		/* the ticket's bancount after addBanTicket's increment */
		long ticket_bancount = 1;

		ok(bantime_on_ban(bt, pyexpr_int(3), db_bancount > 0,
		       db_bancount, t - 10, ticket_bancount, t, t, half, NULL,
		       &r, err, sizeof(err)) == 0,
		    "ban %d computed", i + 1);
		is_str(pyexpr_format(&r.bantime, buf), want_bt[i],
		    "ban %d: 3 s doubled per earlier ban", i + 1);
		is_int(r.increased, i > 0, "ban %d: Increase Ban %s", i + 1,
		    i > 0 ? "logged" : "not logged");
		is_int(r.log_is_bad, i > 0, "ban %d: 'is bad' %s", i + 1,
		    i > 0 ? "logged" : "not logged");
		if (i == 1) {
			sbuf_reset(&m);
			bantime_msg_increase(&m, "test", "192.0.2.10",
			    r.bancount, &r.bantime, t);
			is_str(sbuf_str(&m),
			    "[test] Increase Ban 192.0.2.10 (2 # 6s -> "
			    "2026-11-21 05:24:31)",
			    "the Increase Ban text");
			sbuf_reset(&m);
			bantime_msg_is_bad(&m, "test", "192.0.2.10",
			    db_bancount, t - 10,
			    &(struct pyexpr_val){PYEXPR_INT, 3, 0}, &r.bantime);
			is_str(sbuf_str(&m),
			    "[test] IP 192.0.2.10 is bad: 1 # last 2026-11-21 "
			    "05:24:15 - incr 3s to 6s",
			    "the 'is bad' text");
		}
		/* the database stores the ticket's bancount */
		db_bancount = i == 0 ? 1 : r.bancount;
	}
	is_int(db_bancount, 3, "bips.bancount 3 after three bans");

	/* a ticket not newer than the last ban: restored, no 'is bad' */
	bantime_on_ban(bt, pyexpr_int(600), true, 2, t, 1, t, t, half, NULL, &r,
	    err, sizeof(err));
	ok(r.restored && !r.log_is_bad, "ticket time <= last ban: restored");
	/* an old ticket whose increased ban is already over */
	bantime_on_ban(bt, pyexpr_int(600), true, 1, t - 5000, 1, t - 4000, t,
	    half, NULL, &r, err, sizeof(err));
	ok(r.too_old && !r.increased,
	    "increased ban already over: dropped (1200 s from t-4000)");
	/* permanent jail bantime: no increment */
	bantime_on_ban(bt, pyexpr_int(-1), true, 5, t - 10, 1, t, t, half, NULL,
	    &r, err, sizeof(err));
	ok(r.bantime.i == -1 && !r.increased && r.bancount == 1,
	    "permanent bans are not incremented");
	sbuf_reset(&m);
	bantime_msg_increase(&m, "j", "2001:db8::1", 4, &r.bantime, t);
	is_str(sbuf_str(&m),
	    "[j] Increase Ban 2001:db8::1 (4 # permanent -> infinite)",
	    "permanent text");
	bantime_free(bt);

	/* an evaluation error keeps the jail's bantime */
	o.formula = "ban.Time // (ban.Count - 2)";
	bt = bantime_new(&o, err, sizeof(err));
	is_int(bantime_on_ban(bt, pyexpr_int(600), true, 2, t - 10, 1, t, t,
	           half, NULL, &r, err, sizeof(err)),
	    -1, "formula error reported");
	ok(r.bantime.i == 600 && !r.increased && r.bancount == 3,
	    "and the ban keeps 600 s, bancount raised");
	bantime_free(bt);
	sbuf_cleanup(&m);
}

static void
test_known_bad(void)
{
	struct bantime_bad b;
	struct sbuf m = SBUF_INIT;
	char buf[PYEXPR_FMTLEN];
	double t = 1795238665;

	bantime_known_bad(false, 0, 0, 0, t, 3, &b);
	is_int(b.action, BANTIME_BAD_NONE, "unknown key: nothing");
	bantime_known_bad(true, 1, t - 100, 0, t, 3, &b);
	is_int(b.action, BANTIME_BAD_RAISE, "banned once: raise");
	is_str(pyexpr_format(&b.retry, buf), "2.0", "retry 2.0 (a float)");
	ok(b.count == 1 && !b.ban, "adds 1, no ban yet");
	bantime_msg_found_bad(&m, "sshd", "192.0.2.10", t, &b);
	is_str(sbuf_str(&m),
	    "[sshd] Found 192.0.2.10, bad - 2026-11-21 05:24:25, 1 # -> 2.0",
	    "the Found bad text");
	bantime_known_bad(true, 2, t - 100, 0, t, 3, &b);
	is_str(pyexpr_format(&b.retry, buf), "3.0", "twice: 3.0");
	ok(b.ban, "reaches maxretry: Ban");
	bantime_known_bad(true, 3, t - 100, 0, t, 3, &b);
	is_str(pyexpr_format(&b.retry, buf), "3",
	    "three times: min(5.0, 3) is maxretry, an int");
	sbuf_reset(&m);
	bantime_msg_found_bad(&m, "sshd", "192.0.2.10", t, &b);
	is_str(sbuf_str(&m),
	    "[sshd] Found 192.0.2.10, bad - 2026-11-21 05:24:25, 3 # -> 3, Ban",
	    "with ', Ban'");
	bantime_known_bad(true, 1, t - 100, 4, t, 100, &b);
	is_int(b.bancount, 4, "the ticket's larger bancount is used");
	is_str(pyexpr_format(&b.retry, buf), "9.0", "(1<<4)/2+1");
	bantime_known_bad(true, 40, t - 100, 0, t, 1000000, &b);
	is_str(pyexpr_format(&b.retry, buf), "524289.0", "capped at 2**20");
	bantime_known_bad(true, 2, t, 0, t, 3, &b);
	is_int(b.action, BANTIME_BAD_IGNORE,
	    "failure not after the last ban: ignored");
	bantime_known_bad(true, 1, t - 100, 0, t, 1, &b);
	is_int(b.action, BANTIME_BAD_NONE, "maxretry 1: retry 1, nothing");
	sbuf_cleanup(&m);
}

static void
test_duration(void)
{
	/* expected strings from fail2ban's MyTime.seconds2str */
	static const struct {
		const char *sec, *want;
	} cases[] = {
	    {"0", "0"},
	    {"59", "59s"},
	    {"60", "1m"},
	    {"90", "1m 30s"},
	    {"3594", "59m 54s"},
	    {"3595", "1h"},
	    {"3605", "1h"},
	    {"3659", "1h 1m"},
	    {"7199", "2h"},
	    {"86399", "24h"},
	    {"90000", "1d 1h"},
	    {"86400*2+3600*7+60*15", "2d 7h 15m"},
	    {"604800", "1w"},
	    {"700000", "1w 1d 2h"},
	    {"31536000", "1y"},
	    {"86400*390", "1y 3w 4d"},
	    {"86400*365.5", "1y 1d"},
	    {"6.0", "6.0s"},
	    {"90.5", "1.0m 30.5s"},
	    {"0.5", "0.5s"},
	    {"0.0", "0"},
	    {"-5", "-5s"},
	    {"-1", "-1s"},
	};
	struct sbuf b = SBUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pyexpr_val v = num(cases[i].sec);

		sbuf_reset(&b);
		bantime_format_duration(&b, &v);
		is_str(sbuf_str(&b), cases[i].want, "seconds2str(%s)",
		    cases[i].sec);
	}
	sbuf_cleanup(&b);
	{
		double r = bantime_random(NULL), s = bantime_random(NULL);

		ok(r >= 0 && r < 1 && s >= 0 && s < 1 && r != s,
		    "bantime_random in [0, 1)");
	}
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_calc();
	test_sequence();
	test_known_bad();
	test_duration();
	return done_testing();
}
