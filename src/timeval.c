/*
 * Time expressions (see timeval.h). str2seconds is three regex rewrites
 * (unit abbreviations to "*seconds", juxtaposed groups to "+") followed by
 * Python's eval; we run the same rewrites with PCRE2 (Unicode mode, with
 * Python's own whitespace class) and evaluate the result with a recursive
 * descent parser that follows Python's grammar and int/float arithmetic
 * for the operators that can appear.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "timeval.h"
#include "xmalloc.h"

/* Python's \s (str.isspace) as a PCRE2 class body. */
#define PY_WS                                                                  \
	"\\t-\\r\\x{1c}-\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"     \
	"\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

static const struct {
	const char *re;
	const char *repl;
} rewrites[] = {
    {"(?i)(?<=[a-z])(\\d)", " $1"},
    {"(?i)(?<=[\\d" PY_WS "])(days?|da|dd?)\\b", "*86400"},
    {"(?i)(?<=[\\d" PY_WS "])(weeks?|wee?|ww?)\\b", "*604800"},
    {"(?i)(?<=[\\d" PY_WS "])(months?|mon?)\\b", "*2629800.0"},
    {"(?i)(?<=[\\d" PY_WS "])(years?|yea?|yy?)\\b", "*31557600.0"},
    {"(?i)(?<=[\\d" PY_WS "])(seconds?|sec?|ss?)\\b", "*1"},
    {"(?i)(?<=[\\d" PY_WS "])(minutes?|min?|mm?)\\b", "*60"},
    {"(?i)(?<=[\\d" PY_WS "])(hours?|hou?|hh?)\\b", "*3600"},
    {"(\\d)[" PY_WS "]+(\\d)", "$1+$2"},
};
#define NREWRITES (sizeof(rewrites) / sizeof(rewrites[0]))

static pcre2_code *compiled[NREWRITES];

static void
seterr(char *err, size_t errlen, const char *msg)
{
	if (errlen == 0)
		return;
	snprintf(err, errlen, "%s", msg);
}

/* Applies rewrite i to s (global, like re.sub); returns new or NULL. */
static char *
rewrite(size_t i, const char *s)
{
	pcre2_code *re = compiled[i];
	PCRE2_SIZE outlen;
	PCRE2_UCHAR *out;
	int rc;

	if (re == NULL) {
		int ec;
		PCRE2_SIZE eo;

		re = pcre2_compile((PCRE2_SPTR)rewrites[i].re,
		    PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec, &eo,
		    NULL);
		if (re == NULL)
			return NULL;
		compiled[i] = re;
	}
	/* Every rewrite at most doubles the text plus a constant per
	 * match; ask for enough and retry once if PCRE2 says so. */
	outlen = strlen(s) * 12 + 64;
	out = xmalloc(outlen);
	rc = pcre2_substitute(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0,
	    PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, NULL,
	    NULL, (PCRE2_SPTR)rewrites[i].repl, PCRE2_ZERO_TERMINATED, out,
	    &outlen);
	if (rc == PCRE2_ERROR_NOMEMORY) {
		free(out);
		out = xmalloc(outlen);
		rc = pcre2_substitute(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED,
		    0, PCRE2_SUBSTITUTE_GLOBAL, NULL, NULL,
		    (PCRE2_SPTR)rewrites[i].repl, PCRE2_ZERO_TERMINATED, out,
		    &outlen);
	}
	if (rc < 0) {
		free(out);
		return NULL;
	}
	return (char *)out;
}

/* ---- the evaluator ---- */

struct num {
	bool is_float;
	int64_t i;
	double f;
};

struct ev {
	const char *p;
	const char *err;
	int depth;
};

static double
num_f(struct num n)
{
	return n.is_float ? n.f : (double)n.i;
}

static struct num
mk_int(int64_t i)
{
	struct num n = {false, i, 0};

	return n;
}

static struct num
mk_float(double f)
{
	struct num n = {true, 0, f};

	return n;
}

static void
skip_ws(struct ev *e)
{
	while (*e->p == ' ' || *e->p == '\t' || *e->p == '\f')
		e->p++;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits with single underscores between them; appends to b. */
static bool
scan_digits(struct ev *e, struct sbuf *b)
{
	if (!is_digit(*e->p))
		return false;
	for (;;) {
		sbuf_addch(b, *e->p++);
		if (is_digit(*e->p))
			continue;
		if (*e->p == '_' && is_digit(e->p[1])) {
			e->p++;
			continue;
		}
		return true;
	}
}

static bool
parse_number(struct ev *e, struct num *out)
{
	struct sbuf b = SBUF_INIT;
	bool is_float = false, ok = false;
	const char *s;

	if (is_digit(*e->p))
		scan_digits(e, &b);
	if (*e->p == '.') {
		if (b.len == 0 && !is_digit(e->p[1]))
			goto out;
		is_float = true;
		sbuf_addch(&b, *e->p++);
		if (is_digit(*e->p))
			scan_digits(e, &b);
	}
	if (b.len == 0)
		goto out;
	if ((*e->p == 'e' || *e->p == 'E') &&
	    (is_digit(e->p[1]) ||
	        ((e->p[1] == '+' || e->p[1] == '-') && is_digit(e->p[2])))) {
		is_float = true;
		sbuf_addch(&b, *e->p++);
		if (*e->p == '+' || *e->p == '-')
			sbuf_addch(&b, *e->p++);
		scan_digits(e, &b);
	}
	/* A literal running into a letter, digit or '_' is invalid. */
	if ((*e->p >= 'a' && *e->p <= 'z') || (*e->p >= 'A' && *e->p <= 'Z') ||
	    *e->p == '_' || *e->p == '.' || (unsigned char)*e->p >= 0x80) {
		e->err = "invalid number";
		goto out;
	}
	s = sbuf_str(&b);
	if (is_float) {
		*out = mk_float(strtod(s, NULL));
	} else {
		char *end;
		long long v;

		/* "0", "00" are fine; "08" is not (Python). */
		if (s[0] == '0' && strspn(s, "0") != strlen(s)) {
			e->err = "leading zeros in a decimal number";
			goto out;
		}
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == ERANGE) {
			e->err = "number too large";
			goto out;
		}
		*out = mk_int(v);
	}
	ok = true;
out:
	sbuf_cleanup(&b);
	if (!ok && e->err == NULL)
		e->err = "invalid syntax";
	return ok;
}

static bool parse_sum(struct ev *e, struct num *out);
static bool parse_unary(struct ev *e, struct num *out);

static bool
parse_atom(struct ev *e, struct num *out)
{
	skip_ws(e);
	if (*e->p == '(') {
		if (++e->depth > 100) {
			e->err = "expression nested too deeply";
			return false;
		}
		e->p++;
		if (!parse_sum(e, out))
			return false;
		skip_ws(e);
		if (*e->p != ')') {
			e->err = "missing ')'";
			return false;
		}
		e->p++;
		e->depth--;
		return true;
	}
	if (is_digit(*e->p) || *e->p == '.')
		return parse_number(e, out);
	e->err = "invalid syntax";
	return false;
}

static bool
checked_int(struct ev *e, bool overflow, int64_t v, struct num *out)
{
	if (overflow) {
		e->err = "number too large";
		return false;
	}
	*out = mk_int(v);
	return true;
}

static bool
do_pow(struct ev *e, struct num a, struct num b, struct num *out)
{
	if (!a.is_float && !b.is_float && b.i >= 0) {
		int64_t r = 1, base = a.i;
		int64_t n = b.i;

		while (n > 0) {
			if (n & 1) {
				if (__builtin_mul_overflow(r, base, &r))
					return checked_int(e, true, 0, out);
			}
			n >>= 1;
			if (n > 0 && __builtin_mul_overflow(base, base, &base))
				return checked_int(e, true, 0, out);
		}
		*out = mk_int(r);
		return true;
	}
	if (num_f(a) == 0 && num_f(b) < 0) {
		e->err = "division by zero";
		return false;
	}
	if (num_f(a) < 0 && floor(num_f(b)) != num_f(b)) {
		e->err = "complex result";
		return false;
	}
	*out = mk_float(pow(num_f(a), num_f(b)));
	return true;
}

/* power := atom ['**' unary] */
static bool
parse_power(struct ev *e, struct num *out)
{
	struct num a, b;

	if (!parse_atom(e, &a))
		return false;
	skip_ws(e);
	if (e->p[0] == '*' && e->p[1] == '*') {
		e->p += 2;
		if (!parse_unary(e, &b))
			return false;
		return do_pow(e, a, b, out);
	}
	*out = a;
	return true;
}

/* unary := ('+'|'-'|'~') unary | power */
static bool
parse_unary(struct ev *e, struct num *out)
{
	char op;

	skip_ws(e);
	op = *e->p;
	if (op == '+' || op == '-' || op == '~') {
		struct num a;

		if (++e->depth > 100) {
			e->err = "expression nested too deeply";
			return false;
		}
		e->p++;
		if (!parse_unary(e, &a))
			return false;
		e->depth--;
		if (op == '+') {
			*out = a;
		} else if (op == '-') {
			if (a.is_float)
				*out = mk_float(-a.f);
			else if (a.i == INT64_MIN)
				return checked_int(e, true, 0, out);
			else
				*out = mk_int(-a.i);
		} else {
			if (a.is_float) {
				e->err = "bad operand for ~";
				return false;
			}
			*out = mk_int(~a.i);
		}
		return true;
	}
	return parse_power(e, out);
}

static int64_t
floordiv_i(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static bool
apply_mul(struct ev *e, char op, bool dbl, struct num a, struct num b,
    struct num *out)
{
	if (op == '*') {
		int64_t r = 0;
		bool of;

		if (a.is_float || b.is_float) {
			*out = mk_float(num_f(a) * num_f(b));
			return true;
		}
		of = __builtin_mul_overflow(a.i, b.i, &r);
		return checked_int(e, of, r, out);
	}
	if (num_f(b) == 0) {
		e->err = "division by zero";
		return false;
	}
	if (op == '/' && !dbl) {
		*out = mk_float(num_f(a) / num_f(b));
		return true;
	}
	if (!a.is_float && !b.is_float) {
		int64_t q, m;

		if (a.i == INT64_MIN && b.i == -1)
			return checked_int(e, true, 0, out);
		q = floordiv_i(a.i, b.i);
		m = a.i - q * b.i;
		*out = mk_int(op == '/' ? q : m);
		return true;
	}
	{
		double x = num_f(a), y = num_f(b);
		double m = fmod(x, y);

		if (m != 0 && ((m < 0) != (y < 0)))
			m += y;
		if (op == '%')
			*out = mk_float(m);
		else
			*out = mk_float(floor((x - m) / y + 0.5));
	}
	return true;
}

/* term := unary (('*'|'/'|'//'|'%') unary)* */
static bool
parse_term(struct ev *e, struct num *out)
{
	struct num a;

	if (!parse_unary(e, &a))
		return false;
	for (;;) {
		char op;
		bool dbl = false;
		struct num b;

		skip_ws(e);
		op = *e->p;
		if (op == '*' && e->p[1] == '*')
			break; /* handled in parse_power */
		if (op != '*' && op != '/' && op != '%')
			break;
		e->p++;
		if (op == '/' && *e->p == '/') {
			dbl = true;
			e->p++;
		}
		if (!parse_unary(e, &b))
			return false;
		if (!apply_mul(e, op, dbl, a, b, &a))
			return false;
	}
	*out = a;
	return true;
}

/* sum := term (('+'|'-') term)* */
static bool
parse_sum(struct ev *e, struct num *out)
{
	struct num a;

	if (!parse_term(e, &a))
		return false;
	for (;;) {
		char op;
		struct num b;

		skip_ws(e);
		op = *e->p;
		if (op != '+' && op != '-')
			break;
		e->p++;
		if (!parse_term(e, &b))
			return false;
		if (a.is_float || b.is_float) {
			a = mk_float(op == '+' ? num_f(a) + num_f(b)
			                       : num_f(a) - num_f(b));
		} else {
			int64_t r = 0;
			bool of = op == '+'
			    ? __builtin_add_overflow(a.i, b.i, &r)
			    : __builtin_sub_overflow(a.i, b.i, &r);

			if (!checked_int(e, of, r, &a))
				return false;
		}
	}
	*out = a;
	return true;
}

int
timeval_eval(
    const char *expr, double *val, bool *is_float, char *err, size_t errlen)
{
	struct ev e = {expr, NULL, 0};
	struct num n;

	if (strlen(expr) > TIMEVAL_MAX_LEN) {
		seterr(err, errlen, "expression too long");
		return -1;
	}
	skip_ws(&e);
	if (!parse_sum(&e, &n))
		goto bad;
	skip_ws(&e);
	while (*e.p == '\n' || *e.p == '\r')
		e.p++;
	if (*e.p != '\0') {
		e.err = "invalid syntax";
		goto bad;
	}
	if (n.is_float && !isfinite(n.f)) {
		e.err = "not a finite number";
		goto bad;
	}
	*val = num_f(n);
	if (is_float)
		*is_float = n.is_float;
	return 0;
bad:
	seterr(err, errlen, e.err ? e.err : "invalid syntax");
	return -1;
}

int
timeval_parse(
    const char *s, double *sec, bool *is_float, char *err, size_t errlen)
{
	char *cur;
	char msg[128];
	int rc;

	if (strlen(s) > TIMEVAL_MAX_LEN) {
		seterr(err, errlen, "time value too long");
		return -1;
	}
	cur = xstrdup(s);
	for (size_t i = 0; i < NREWRITES; i++) {
		char *next = rewrite(i, cur);

		free(cur);
		if (next == NULL) {
			seterr(err, errlen, "not a valid time value");
			return -1;
		}
		cur = next;
	}
	rc = timeval_eval(cur, sec, is_float, msg, sizeof(msg));
	free(cur);
	if (rc != 0) {
		if (errlen > 0)
			snprintf(err, errlen, "'%s' is not a valid time (%s)",
			    s, msg);
		return -1;
	}
	return 0;
}

/* Python's str(float): the shortest text that reads back the same. */
static void
fmt_pyfloat(double v, struct sbuf *b)
{
	char buf[64];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (strchr(buf, 'e') == NULL && strchr(buf, '.') == NULL &&
	    strchr(buf, 'n') == NULL && strchr(buf, 'i') == NULL) {
		sbuf_addstr(b, buf);
		sbuf_addstr(b, ".0");
		return;
	}
	sbuf_addstr(b, buf);
}

/* Appends a number the way Python's str() shows an int or a float. */
static void
fmt_num(struct sbuf *b, double v, bool is_float)
{
	if (is_float)
		fmt_pyfloat(v, b);
	else
		sbuf_printf(b, "%lld", (long long)v);
}

static double
py_round(double v)
{
	int mode = fegetround();
	double r;

	fesetround(FE_TONEAREST);
	r = nearbyint(v);
	fesetround(mode);
	return r;
}

char *
timeval_format(double sec, char *buf, size_t n)
{
	struct sbuf b = SBUF_INIT;
	bool fl = floor(sec) != sec;
	double s = sec;

	if (s >= 31536000) {
		long long d = (long long)py_round(s / 86400);

		sbuf_printf(&b, "%lldy ", d / 365);
		d %= 365;
		if (d >= 7) {
			sbuf_printf(&b, "%lldw ", d / 7);
			d %= 7;
		}
		if (d)
			sbuf_printf(&b, "%lldd ", d);
	} else if (s >= 604800) {
		long long h = (long long)py_round(s / 3600);

		sbuf_printf(&b, "%lldw ", h / 168);
		h %= 168;
		if (h >= 24) {
			sbuf_printf(&b, "%lldd ", h / 24);
			h %= 24;
		}
		if (h)
			sbuf_printf(&b, "%lldh ", h);
	} else if (s >= 86400) {
		long long m = (long long)py_round(s / 60);

		sbuf_printf(&b, "%lldd ", m / 1440);
		m %= 1440;
		if (m >= 60) {
			sbuf_printf(&b, "%lldh ", m / 60);
			m %= 60;
		}
		if (m)
			sbuf_printf(&b, "%lldm ", m);
	} else if (s >= 3595) {
		long long t = (long long)py_round(s / 10);

		sbuf_printf(&b, "%lldh ", t / 360);
		t %= 360;
		if (t >= 6)
			sbuf_printf(&b, "%lldm ", t / 6);
	} else {
		if (s >= 60) {
			fmt_num(&b, floor(s / 60), fl);
			sbuf_addstr(&b, "m ");
			s = fmod(s, 60);
		}
		if (s != 0) {
			fmt_num(&b, s, fl);
			sbuf_addstr(&b, "s ");
		} else if (sec == 0) {
			sbuf_addstr(&b, "0 ");
		}
	}
	if (b.len > 0)
		sbuf_truncate(&b, b.len - 1);
	snprintf(buf, n, "%s", sbuf_str(&b));
	sbuf_cleanup(&b);
	return buf;
}
