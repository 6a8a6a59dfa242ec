/*
 * Time expressions: the values fail2ban 1.0.2 gives (verified with
 * MyTime.str2seconds), the errors it raises, and seconds2str.
 */
#include <math.h>

#include "tap.h"
#include "timeval.h"

static void
good(const char *s, double want, int want_float)
{
	double v = -12345;
	bool fl = false;
	char err[200] = "";
	int rc = timeval_parse(s, &v, &fl, err, sizeof(err));

	if (!ok(rc == 0 && v == want && (int)fl == want_float, "'%s' = %.1f%s",
	        s, want, want_float ? " (float)" : ""))
		printf(
		    "#   rc %d value %.3f float %d err %s\n", rc, v, fl, err);
}

static void
bad(const char *s)
{
	double v = 0;
	char err[200] = "";
	int rc = timeval_parse(s, &v, NULL, err, sizeof(err));

	if (!ok(rc == -1 && err[0] != '\0', "'%s' is an error", s))
		printf("#   rc %d value %.3f\n", rc, v);
}

static void
fmt(double sec, const char *want)
{
	char buf[64];

	is_str(timeval_format(sec, buf, sizeof(buf)), want, "format %.1f", sec);
}

int
main(void)
{
	/* The task's verified values. */
	good("600", 600, 0);
	good("10m", 600, 0);
	good("1h30m", 5400, 0);
	good("1d12h30m", 131400, 0);
	good("1w 2d", 777600, 0);
	good("1mo", 2629800, 1);
	good("1y", 31557600, 1);
	good("-1", -1, 0);
	good("1h-10m", 3000, 0);
	good("2*1h", 7200, 0);
	/* Unit spellings, case, spaces (each checked against fail2ban). */
	good("1day", 86400, 0);
	good("1days", 86400, 0);
	good("1dd", 86400, 0);
	good("1wee", 604800, 0);
	good("1mon", 2629800, 1);
	good("1months", 2629800, 1);
	good("1yea", 31557600, 1);
	good("1sec", 1, 0);
	good("1ss", 1, 0);
	good("1min", 60, 0);
	good("1mm", 60, 0);
	good("1hou", 3600, 0);
	good("1hh", 3600, 0);
	good("1D", 86400, 0);
	good("1H30M", 5400, 0);
	good("10 m", 600, 0);
	good("1 d 2 h", 93600, 0);
	good("1h 30m 10s", 5410, 0);
	good("1 1", 2, 0);
	good("10  20", 30, 0);
	good("1m1", 61, 0);
	good("1s2", 3, 0);
	good("3 *2", 6, 0);
	good("1year-6mo", 15778800, 1);
	/* Python arithmetic. */
	good("1.5h", 5400, 1);
	good(".5m", 30, 1);
	good("5.", 5, 1);
	good("2**3", 8, 0);
	good("7//2", 3, 0);
	good("-7//2", -4, 0);
	good("-7%3", 2, 0);
	good("7/2", 3.5, 1);
	good("(1+2)*3", 9, 0);
	good("+-1", -1, 0);
	good("1_000", 1000, 0);
	good("00", 0, 0);
	good("0_0", 0, 0);
	good("1e+3", 1000, 1);
	/* Errors fail2ban raises too. */
	bad("");
	bad("abc");
	bad("1 2 3");
	bad("08");
	bad("1d 08h");
	bad("1e3");
	bad("5.m");
	bad("0x10");
	bad("1__0");
	bad("m1");
	bad("1hr");
	bad("10 minuts");
	bad("1/0");
	bad("(1+2");
	bad("1h)");
	bad("__import__('os')");
	bad("99999999999999999999");
	bad("9999999999*9999999999");
	/* seconds2str. */
	fmt(0, "0");
	fmt(59, "59s");
	fmt(60, "1m");
	fmt(3590, "59m 50s");
	fmt(3595, "1h");
	fmt(86400 * 2 + 3599, "2d 1h");
	fmt(86400 * 2 + 3600 * 7 + 60 * 15, "2d 7h 15m");
	fmt(86400 * 365.5, "1y 1d");
	fmt(86400 * 368, "1y 3d");
	fmt(86400 * 390, "1y 3w 4d");
	fmt(600, "10m");
	fmt(604800, "1w");
	fmt(1.5, "1.5s");
	fmt(90.5, "1.0m 30.5s");
	fmt(-5, "-5s");
	return done_testing();
}
