/*
 * pyexpr: results and types as Python 3.11 gives them (each expected value
 * below was produced by running the expression in python3), errors with
 * their column, caps on size, depth and integer growth.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pyexpr.h"
#include "tap.h"
#include "xmalloc.h"

static const char *const names[] = {"ban.Time", "ban.Count", "banFactor"};

/* src with newlines shown as \\n, for test names (static buffer). */
static const char *
show(const char *src)
{
	static char out[512];
	size_t k = 0;

	for (; *src && k + 3 < sizeof(out); src++) {
		if (*src == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else {
			out[k++] = *src;
		}
	}
	out[k] = '\0';
	return out;
}

/* Evaluates src with ban.Time=600, ban.Count=3, banFactor=1 and returns
 * "type repr" or "ERR message" in a static buffer. */
static const char *
run(const char *src)
{
	static char out[512];
	struct pyexpr_val vals[3] = {
	    pyexpr_int(600), pyexpr_int(3), pyexpr_int(1)};
	struct pyexpr_val v;
	char err[256], buf[PYEXPR_FMTLEN];
	struct pyexpr *e = pyexpr_compile(src, names, 3, err, sizeof(err));

	if (!e) {
		snprintf(out, sizeof(out), "SYNTAX %s", err);
		return out;
	}
	if (pyexpr_eval(e, vals, &v, err, sizeof(err)) != 0)
		snprintf(out, sizeof(out), "ERR %s", err);
	else
		snprintf(out, sizeof(out), "%s %s",
		    v.type == PYEXPR_INT         ? "int"
		        : v.type == PYEXPR_FLOAT ? "float"
		                                 : "bool",
		    pyexpr_format(&v, buf));
	pyexpr_free(e);
	return out;
}

static void
test_values(void)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
	    /* fail2ban's default formula and variations */
	    {"ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor",
	        "int 4800"},
	    {"ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*"
	     "banFactor)",
	        "float 12051.3221539126"},
	    {"ban.Time * (2 ** ban.Count)", "int 4800"},
	    {"ban.Time * 1.5 ** ban.Count", "float 2025.0"},
	    /* numbers */
	    {"0x_1f", "int 31"},
	    {"0o17", "int 15"},
	    {"0b101", "int 5"},
	    {"1_000.5", "float 1000.5"},
	    {"1.", "float 1.0"},
	    {".5", "float 0.5"},
	    {"1e3", "float 1000.0"},
	    {"00", "int 0"},
	    {"9223372036854775807", "int 9223372036854775807"},
	    {"1e999", "float inf"},
	    /* float repr */
	    {"1e16", "float 1e+16"},
	    {"1e15", "float 1000000000000000.0"},
	    {"0.00001", "float 1e-05"},
	    {"0.0001", "float 0.0001"},
	    {"0.1+0.2", "float 0.30000000000000004"},
	    {"-0.0", "float -0.0"},
	    {"5e-324", "float 5e-324"},
	    {"1/3", "float 0.3333333333333333"},
	    {"2**0.5", "float 1.4142135623730951"},
	    {"math.pi", "float 3.141592653589793"},
	    {"-math.inf", "float -inf"},
	    {"math.nan", "float nan"},
	    /* arithmetic */
	    {"7//-2", "int -4"},
	    {"-7%3", "int 2"},
	    {"3 % -2", "int -1"},
	    {"-3 // 2", "int -2"},
	    {"7.5%-2", "float -0.5"},
	    {"-7.5//2", "float -4.0"},
	    {"10**-1", "float 0.1"},
	    {"2.0**-1", "float 0.5"},
	    {"(-2)**2.0", "float 4.0"},
	    {"(-2.0)**3", "float -8.0"},
	    {"-2**2", "int -4"},
	    {"2**-1", "float 0.5"},
	    {"2**3**2", "int 512"},
	    {"10**-400", "float 0.0"},
	    {"1e308*10", "float inf"},
	    {"math.inf*0", "float nan"},
	    {"5e-324/2", "float 0.0"},
	    {"2**62", "int 4611686018427387904"},
	    {"-9223372036854775807 - 1", "int -9223372036854775808"},
	    {"1 << 62", "int 4611686018427387904"},
	    {"-1 << 63", "int -9223372036854775808"},
	    {"-5 >> 1", "int -3"},
	    {"-5 >> 100", "int -1"},
	    {"5 >> 100", "int 0"},
	    {"6 & 3 | 8 ^ 1", "int 11"},
	    {"~5", "int -6"},
	    /* bool is an int */
	    {"True+True", "int 2"},
	    {"True&True", "bool True"},
	    {"~True", "int -2"},
	    {"-True", "int -1"},
	    {"+True", "int 1"},
	    {"abs(True)", "int 1"},
	    {"bool(0.0)", "bool False"},
	    /* comparisons and logic */
	    {"1 < 2 < 3", "bool True"},
	    {"1 < 3 < 2", "bool False"},
	    {"1 == 1.0", "bool True"},
	    {"9007199254740993 == 9007199254740992.0", "bool False"},
	    {"math.nan == math.nan", "bool False"},
	    {"math.nan != math.nan", "bool True"},
	    {"2 and 3", "int 3"},
	    {"0 or 0.0", "float 0.0"},
	    {"not 2", "bool False"},
	    {"not 1 == 2", "bool True"},
	    {"1 if 0 else 2.5", "float 2.5"},
	    {"1 if 1 else 1/0", "int 1"},
	    {"0 and 1/0", "int 0"},
	    {"1 < 0 < 1/0", "bool False"},
	    {"1if 1else 2", "int 1"},
	    /* functions */
	    {"math.floor(-1.5)", "int -2"},
	    {"math.ceil(-1.5)", "int -1"},
	    {"math.floor(2.0)", "int 2"},
	    {"math.trunc(-3.7)", "int -3"},
	    {"math.fabs(-3)", "float 3.0"},
	    {"math.log2(8)", "float 3.0"},
	    {"math.log10(1000)", "float 3.0"},
	    {"math.log(math.e)", "float 1.0"},
	    {"math.log(8,2)", "float 3.0"},
	    {"math.sqrt(2)", "float 1.4142135623730951"},
	    {"math.pow(2, 10)", "float 1024.0"},
	    {"int(-2.7)", "int -2"},
	    {"float(3)", "float 3.0"},
	    {"pow(2,-1)", "float 0.5"},
	    {"abs(-0.0)", "float 0.0"},
	    {"round(2.5)", "int 2"},
	    {"round(3.5)", "int 4"},
	    {"round(-0.5)", "int 0"},
	    {"round(2.675,2)", "float 2.67"},
	    {"round(1234,-2)", "int 1200"},
	    {"round(1250,-2)", "int 1200"},
	    {"round(1350,-2)", "int 1400"},
	    {"round(-1250,-2)", "int -1200"},
	    {"round(2.5,0)", "float 2.0"},
	    {"round(25.0,-1)", "float 20.0"},
	    {"round(5,1)", "int 5"},
	    {"round(-26,-1)", "int -30"},
	    {"round(5000000000000000000,-19)", "int 0"},
	    {"round(-49,-9223372036854775807-1)", "int 0"},
	    {"min(True,2)", "bool True"},
	    {"max(1,1.0)", "int 1"},
	    {"max(1.0,1)", "float 1.0"},
	    {"min(math.nan,1)", "float nan"},
	    {"min(1,math.nan)", "int 1"},
	    {"max(3, 7, 5)", "int 7"},
	    /* layout */
	    {"  1 + 1", "int 2"},
	    {"(1 +\n 2)", "int 3"},
	    {"1 + \\\n 2", "int 3"},
	    {"1 # comment", "int 1"},
	    {"1\n", "int 1"},
	    {"ban . Time", "int 600"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(
		    run(cases[i].src), cases[i].want, "%s", show(cases[i].src));
}

static void
test_errors(void)
{
	static const struct {
		const char *src, *want;
	} cases[] = {
	    /* evaluation errors, named as Python names them */
	    {"1/0", "ERR column 2: ZeroDivisionError: division by zero"},
	    {"1.0/0",
	        "ERR column 4: ZeroDivisionError: float division by zero"},
	    {"1//0",
	        "ERR column 2: ZeroDivisionError: integer division or modulo "
	        "by zero"},
	    {"1.0//0",
	        "ERR column 4: ZeroDivisionError: float floor division by "
	        "zero"},
	    {"1%0", "ERR column 2: ZeroDivisionError: integer modulo by zero"},
	    {"1.0%0", "ERR column 4: ZeroDivisionError: float modulo"},
	    {"0**-1",
	        "ERR column 2: ZeroDivisionError: 0.0 cannot be raised to a "
	        "negative power"},
	    {"10.0**400",
	        "ERR column 5: OverflowError: (34, 'Numerical result out of "
	        "range')"},
	    {"math.exp(1000)", "ERR column 1: OverflowError: math range error"},
	    {"math.log(0)", "ERR column 1: ValueError: math domain error"},
	    {"math.log(8,1)",
	        "ERR column 1: ZeroDivisionError: float division by zero"},
	    {"math.sqrt(-1)", "ERR column 1: ValueError: math domain error"},
	    {"math.pow(0,-1)", "ERR column 1: ValueError: math domain error"},
	    {"math.pow(10,400)",
	        "ERR column 1: OverflowError: math range error"},
	    {"int(math.inf)",
	        "ERR column 1: OverflowError: cannot convert float infinity to "
	        "integer"},
	    {"int(math.nan)",
	        "ERR column 1: ValueError: cannot convert float NaN to "
	        "integer"},
	    {"round(math.inf)",
	        "ERR column 1: OverflowError: cannot convert float infinity to "
	        "integer"},
	    {"math.floor(math.nan)",
	        "ERR column 1: ValueError: cannot convert float NaN to "
	        "integer"},
	    {"1<<-1", "ERR column 2: ValueError: negative shift count"},
	    {"1.5<<1",
	        "ERR column 4: TypeError: unsupported operand type(s) for <<: "
	        "'float' and 'int'"},
	    {"~1.5",
	        "ERR column 1: TypeError: bad operand type for unary ~: "
	        "'float'"},
	    {"(-8)**0.5",
	        "ERR column 5: ValueError: complex result (a negative number "
	        "to a fractional power) is not supported"},
	    /* bounded integers: Python would build a big number */
	    {"1<<63",
	        "ERR column 2: OverflowError: integer result too large "
	        "(Warden's integers are 64-bit)"},
	    {"2**64",
	        "ERR column 2: OverflowError: integer result too large "
	        "(Warden's integers are 64-bit)"},
	    {"10**30",
	        "ERR column 3: OverflowError: integer result too large "
	        "(Warden's integers are 64-bit)"},
	    {"9223372036854775807+1",
	        "ERR column 20: OverflowError: integer result too large "
	        "(Warden's integers are 64-bit)"},
	    {"ban.Time * 9223372036854775807",
	        "ERR column 10: OverflowError: integer result too large "
	        "(Warden's integers are 64-bit)"},
	    /* syntax errors with their column */
	    {"", "SYNTAX column 1: invalid syntax (unexpected end)"},
	    {"1 +", "SYNTAX column 4: invalid syntax (unexpected end)"},
	    {"(1", "SYNTAX column 3: '(' was never closed"},
	    {"1)", "SYNTAX column 2: unmatched ')'"},
	    {"1 2", "SYNTAX column 3: invalid syntax"},
	    {"ban.time", "SYNTAX column 1: name 'ban.time' is not defined"},
	    {"2 * foo", "SYNTAX column 5: name 'foo' is not defined"},
	    {"os.system(1)", "SYNTAX column 1: unknown function 'os.system'"},
	    {"math.exp(1, 2)",
	        "SYNTAX column 1: math.exp() takes exactly 1 argument (2 "
	        "given)"},
	    {"min(1)",
	        "SYNTAX column 1: min() takes 2 to 64 arguments (1 given)"},
	    {"01",
	        "SYNTAX column 1: leading zeros in decimal integer literals "
	        "are not permitted"},
	    {"1__0", "SYNTAX column 1: invalid decimal literal"},
	    {"1_", "SYNTAX column 1: invalid decimal literal"},
	    {"12abc", "SYNTAX column 1: invalid decimal literal"},
	    {"0x", "SYNTAX column 1: invalid hexadecimal literal"},
	    {"99999999999999999999",
	        "SYNTAX column 1: integer literal too large"},
	    {"1j", "SYNTAX column 1: complex numbers are not supported"},
	    {"'a'", "SYNTAX column 1: invalid character '''"},
	    {"x = 1", "SYNTAX column 3: invalid syntax (assignment)"},
	    {"1 = 1", "SYNTAX column 3: invalid syntax (assignment)"},
	    {"1 if 2",
	        "SYNTAX column 7: expected 'else' after 'if' expression"},
	    {"None", "SYNTAX column 1: 'None' is not supported"},
	    {"1 in 2", "SYNTAX column 3: 'in' is not supported"},
	    {"lambda: 1", "SYNTAX column 1: 'lambda' is not supported"},
	    {"1\n+2",
	        "SYNTAX column 3: invalid syntax (newline in expression)"},
	    {"1 <> 2", "SYNTAX column 3: invalid syntax"},
	    {"2 ** = 3", "SYNTAX column 6: invalid syntax (assignment)"},
	    {"2 **= 3", "SYNTAX column 3: invalid syntax (assignment)"},
	    {"a\x01", "SYNTAX column 2: invalid character '\\x01'"},
	    {"1 \x01", "SYNTAX column 3: invalid character '\\x01'"},
	    {"1 + \xc3\xa9", "SYNTAX column 5: invalid character '\\xc3'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(run(cases[i].src), cases[i].want, "error: %s",
		    show(cases[i].src));
}

static void
test_bounds(void)
{
	char err[256];
	char *deep = xmalloc(1000);
	char *chain = xmalloc(1000);
	char *big = xmalloc(PYEXPR_MAX_LEN + 10);
	size_t k = 0;
	struct pyexpr *e;
	struct pyexpr_val v;

	/* 200 nested parentheses */
	for (int i = 0; i < 200; i++)
		deep[k++] = '(';
	deep[k++] = '1';
	for (int i = 0; i < 200; i++)
		deep[k++] = ')';
	deep[k] = '\0';
	e = pyexpr_compile(deep, NULL, 0, err, sizeof(err));
	ok(e == NULL && strstr(err, "nested too deeply"),
	    "deep nesting refused: %s", err);
	pyexpr_free(e);

	/* 60 nested parentheses are fine */
	k = 0;
	for (int i = 0; i < 60; i++)
		deep[k++] = '(';
	deep[k++] = '7';
	for (int i = 0; i < 60; i++)
		deep[k++] = ')';
	deep[k] = '\0';
	ok(pyexpr_eval_str(deep, &v, err, sizeof(err)) == 0 && v.i == 7,
	    "60 nested parentheses evaluate");

	/* 300 additions: a tree too deep */
	k = 0;
	chain[k++] = '1';
	for (int i = 0; i < 300; i++) {
		chain[k++] = '+';
		chain[k++] = '1';
	}
	chain[k] = '\0';
	e = pyexpr_compile(chain, NULL, 0, err, sizeof(err));
	ok(e == NULL && strstr(err, "nested too deeply"),
	    "long operator chain refused: %s", err);
	pyexpr_free(e);

	/* too long */
	memset(big, ' ', PYEXPR_MAX_LEN + 5);
	big[0] = '1';
	big[PYEXPR_MAX_LEN + 5] = '\0';
	e = pyexpr_compile(big, NULL, 0, err, sizeof(err));
	ok(e == NULL && strstr(err, "longer than"), "too long refused: %s",
	    err);
	pyexpr_free(e);

	/* absurd exponents end quickly with an error, not a hang */
	ok(pyexpr_eval_str("3 ** 9223372036854775807", &v, err, sizeof(err)) ==
	            -1 &&
	        strstr(err, "too large"),
	    "3 ** huge is an error: %s", err);
	ok(pyexpr_eval_str("1 ** 9223372036854775807", &v, err, sizeof(err)) ==
	            0 &&
	        v.i == 1,
	    "1 ** huge is 1");
	ok(pyexpr_eval_str(
	       "(-1) ** 9223372036854775807", &v, err, sizeof(err)) == 0 &&
	        v.i == -1,
	    "(-1) ** huge is -1");
	ok(pyexpr_eval_str("1 << 9223372036854775807", &v, err, sizeof(err)) ==
	        -1,
	    "1 << huge is an error");
	ok(pyexpr_eval_str("0 << 9223372036854775807", &v, err, sizeof(err)) ==
	            0 &&
	        v.i == 0,
	    "0 << huge is 0");
	ok(pyexpr_eval_str("2.0 ** 1e300", &v, err, sizeof(err)) == -1 &&
	        strstr(err, "OverflowError"),
	    "float overflow in ** is an error");
	ok(pyexpr_eval_str("0.5 ** 1e300", &v, err, sizeof(err)) == 0 &&
	        v.f == 0.0,
	    "float underflow is 0.0");

	/* the same compiled tree gives the same result with new values */
	{
		struct pyexpr_val vals[3];
		char buf[PYEXPR_FMTLEN];

		e = pyexpr_compile("ban.Time * (1<<(ban.Count if ban.Count<20 "
		                   "else 20)) * banFactor",
		    names, 3, err, sizeof(err));
		ok(e != NULL, "default formula compiles");
		vals[0] = pyexpr_int(600);
		vals[1] = pyexpr_int(25);
		vals[2] = pyexpr_float(1.5);
		ok(pyexpr_eval(e, vals, &v, err, sizeof(err)) == 0,
		    "evaluates with count 25");
		is_str(pyexpr_format(&v, buf), "943718400.0",
		    "count capped at 20 by the formula, factor 1.5");
		vals[0] = pyexpr_int(-1);
		vals[1] = pyexpr_int(1);
		vals[2] = pyexpr_int(1);
		ok(pyexpr_eval(e, vals, &v, err, sizeof(err)) == 0 && v.i == -2,
		    "evaluates again");
		pyexpr_free(e);
	}
	free(deep);
	free(chain);
	free(big);
}

static void
test_format(void)
{
	char buf[PYEXPR_FMTLEN];
	struct pyexpr_val v;

	v = pyexpr_float(123456789012345678.0);
	is_str(pyexpr_format(&v, buf), "1.2345678901234568e+17", "big float");
	v = pyexpr_float(-1.5e-7);
	is_str(pyexpr_format(&v, buf), "-1.5e-07", "small negative float");
	v = pyexpr_float(1.7976931348623157e308);
	is_str(pyexpr_format(&v, buf), "1.7976931348623157e+308", "max float");
	v = pyexpr_float(100.0);
	is_str(pyexpr_format(&v, buf), "100.0", "integral float");
	v = pyexpr_int(-42);
	is_str(pyexpr_format(&v, buf), "-42", "int");
	v.type = PYEXPR_BOOL;
	v.i = 0;
	is_str(pyexpr_format(&v, buf), "False", "bool");
	v = pyexpr_float(0.1);
	ok(pyexpr_to_double(&v) == 0.1, "to_double");
}

int
main(void)
{
	test_values();
	test_errors();
	test_bounds();
	test_format();
	return done_testing();
}
