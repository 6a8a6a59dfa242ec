/*
 * The Python-expression subset of pyexpr.h: a hand-written lexer and
 * recursive-descent parser producing a tree of nodes, and an evaluator
 * with Python's numeric semantics on 64-bit ints and doubles.
 */
#include "pyexpr.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* ---- values ---- */

struct pyexpr_val
pyexpr_int(int64_t i)
{
	struct pyexpr_val v = {PYEXPR_INT, i, 0};

	return v;
}

struct pyexpr_val
pyexpr_float(double f)
{
	struct pyexpr_val v = {PYEXPR_FLOAT, 0, f};

	return v;
}

static struct pyexpr_val
mk_bool(bool b)
{
	struct pyexpr_val v = {PYEXPR_BOOL, b ? 1 : 0, 0};

	return v;
}

double
pyexpr_to_double(const struct pyexpr_val *v)
{
	return v->type == PYEXPR_FLOAT ? v->f : (double)v->i;
}

static bool
truthy(const struct pyexpr_val *v)
{
	return v->type == PYEXPR_FLOAT ? v->f != 0.0 : v->i != 0;
}

static const char *
type_name(const struct pyexpr_val *v)
{
	switch (v->type) {
	case PYEXPR_INT:
		return "int";
	case PYEXPR_FLOAT:
		return "float";
	case PYEXPR_BOOL:
		return "bool";
	}
	return "?";
}

/* Python's repr(float): the shortest text that reads back exactly. */
static void
format_float(double x, char *buf, size_t n)
{
	char tmp[40], digits[24];
	int prec, exp10, nd = 0;
	const char *p;
	char *q = buf, *end = buf + n - 1;

	if (isnan(x)) {
		snprintf(buf, n, "nan");
		return;
	}
	if (isinf(x)) {
		snprintf(buf, n, x < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
		if (strtod(tmp, NULL) == x)
			break;
	}
	/* tmp is "-d.ddde+XX": collect digits and exponent */
	p = tmp;
	if (*p == '-') {
		if (q < end)
			*q++ = '-';
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	exp10 = (int)strtol(p + 1, NULL, 10);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
#define PUT(c)                                                                 \
	do {                                                                   \
		if (q < end)                                                   \
			*q++ = (c);                                            \
	} while (0)
	if (exp10 >= -4 && exp10 < 16) {
		if (exp10 >= 0) {
			for (int i = 0; i <= exp10; i++)
				PUT(i < nd ? digits[i] : '0');
			PUT('.');
			if (nd > exp10 + 1)
				for (int i = exp10 + 1; i < nd; i++)
					PUT(digits[i]);
			else
				PUT('0');
		} else {
			PUT('0');
			PUT('.');
			for (int i = 0; i < -exp10 - 1; i++)
				PUT('0');
			for (int i = 0; i < nd; i++)
				PUT(digits[i]);
		}
		*q = '\0';
	} else {
		PUT(digits[0]);
		if (nd > 1) {
			PUT('.');
			for (int i = 1; i < nd; i++)
				PUT(digits[i]);
		}
		*q = '\0';
		snprintf(q, (size_t)(end - q) + 1, "e%c%02d",
		    exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
	}
#undef PUT
}

char *
pyexpr_format(const struct pyexpr_val *v, char *buf)
{
	switch (v->type) {
	case PYEXPR_INT:
		snprintf(buf, PYEXPR_FMTLEN, "%lld", (long long)v->i);
		break;
	case PYEXPR_BOOL:
		snprintf(buf, PYEXPR_FMTLEN, "%s", v->i ? "True" : "False");
		break;
	case PYEXPR_FLOAT:
		format_float(v->f, buf, PYEXPR_FMTLEN);
		break;
	}
	return buf;
}

/* ---- tree ---- */

enum op {
	OP_NONE,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_FLOORDIV,
	OP_MOD,
	OP_POW,
	OP_LSHIFT,
	OP_RSHIFT,
	OP_BAND,
	OP_BOR,
	OP_BXOR,
	OP_INVERT,
	OP_LT,
	OP_GT,
	OP_LE,
	OP_GE,
	OP_EQ,
	OP_NE,
	OP_LPAR,
	OP_RPAR,
	OP_COMMA,
	OP_DOT,
};

static const char *const op_text[] = {
    [OP_ADD] = "+",
    [OP_SUB] = "-",
    [OP_MUL] = "*",
    [OP_DIV] = "/",
    [OP_FLOORDIV] = "//",
    [OP_MOD] = "%",
    [OP_POW] = "** or pow()",
    [OP_LSHIFT] = "<<",
    [OP_RSHIFT] = ">>",
    [OP_BAND] = "&",
    [OP_BOR] = "|",
    [OP_BXOR] = "^",
};

enum fn {
	FN_EXP,
	FN_LOG,
	FN_LOG2,
	FN_LOG10,
	FN_MPOW,
	FN_SQRT,
	FN_FLOOR,
	FN_CEIL,
	FN_TRUNC,
	FN_FABS,
	FN_FLOAT,
	FN_INT,
	FN_BOOL,
	FN_ABS,
	FN_ROUND,
	FN_MIN,
	FN_MAX,
	FN_POW,
};

static const struct {
	const char *name;
	enum fn fn;
	int min, max; /* argument counts */
} functions[] = {
    {"math.exp", FN_EXP, 1, 1},
    {"math.log", FN_LOG, 1, 2},
    {"math.log2", FN_LOG2, 1, 1},
    {"math.log10", FN_LOG10, 1, 1},
    {"math.pow", FN_MPOW, 2, 2},
    {"math.sqrt", FN_SQRT, 1, 1},
    {"math.floor", FN_FLOOR, 1, 1},
    {"math.ceil", FN_CEIL, 1, 1},
    {"math.trunc", FN_TRUNC, 1, 1},
    {"math.fabs", FN_FABS, 1, 1},
    {"float", FN_FLOAT, 0, 1},
    {"int", FN_INT, 0, 1},
    {"bool", FN_BOOL, 0, 1},
    {"abs", FN_ABS, 1, 1},
    {"round", FN_ROUND, 1, 2},
    {"min", FN_MIN, 2, 64},
    {"max", FN_MAX, 2, 64},
    {"pow", FN_POW, 2, 2},
};

enum nkind {
	N_CONST, /* val */
	N_NAME,  /* name: index into the caller's values */
	N_UNARY, /* op (OP_ADD, OP_SUB, OP_INVERT), kids[0] */
	N_BIN,   /* op, kids[0], kids[1] */
	N_CMP,   /* kids[0..n-1] compared by ops[0..n-2] */
	N_AND,   /* kids[0], kids[1] */
	N_OR,    /* kids[0], kids[1] */
	N_NOT,   /* kids[0] */
	N_IF,    /* kids[0] if kids[1] else kids[2] */
	N_CALL,  /* fn, kids[0..n-1] */
};

struct node {
	enum nkind kind;
	int op;    /* enum op (N_UNARY, N_BIN) or enum fn (N_CALL) */
	int pos;   /* 1-based column of the operator or operand */
	int depth; /* 1 + the deepest child */
	struct pyexpr_val val;
	size_t name;
	struct node **kids;
	int *ops; /* N_CMP */
	int nkids;
};

struct pyexpr {
	struct node *root;
};

static void
node_free(struct node *n)
{
	if (!n)
		return;
	for (int i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->ops);
	free(n);
}

void
pyexpr_free(struct pyexpr *e)
{
	if (!e)
		return;
	node_free(e->root);
	free(e);
}

/* ---- lexer ---- */

enum tok {
	T_END,
	T_INT,
	T_FLOAT,
	T_NAME,
	T_OP,
	T_AND,
	T_OR,
	T_NOT,
	T_IF,
	T_ELSE,
	T_TRUE,
	T_FALSE,
	T_ERROR,
};

struct parser {
	const char *src;
	size_t len;
	size_t pos;   /* next byte to lex */
	enum tok tok; /* current token */
	size_t tpos;  /* its offset */
	size_t tlen;  /* its length (names) */
	int op;       /* T_OP: enum op */
	int64_t ival; /* T_INT */
	double fval;  /* T_FLOAT */
	int paren;    /* open parentheses (newlines are spaces inside) */
	int nest;     /* parser recursion guard */
	int nodes;    /* nodes made */
	bool failed;
	const char *const *names;
	size_t nnames;
	char *err;
	size_t errlen;
};

static void __attribute__((format(printf, 3, 4)))
perr(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = true;
	p->tok = T_ERROR;
	if (!p->errlen)
		return;
	n = snprintf(p->err, p->errlen, "column %zu: ", at + 1);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool
is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_ident(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int
digit_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Skips spaces, comments, continuation lines and (inside parentheses)
 * newlines. A newline at top level must end the expression. */
static void
skip_space(struct parser *p)
{
	for (;;) {
		char c = p->pos < p->len ? p->src[p->pos] : '\0';

		if (c == ' ' || c == '\t' || c == '\f' || c == '\r') {
			p->pos++;
		} else if (c == '#') {
			while (p->pos < p->len && p->src[p->pos] != '\n')
				p->pos++;
		} else if (c == '\\' && p->pos + 1 < p->len &&
		    (p->src[p->pos + 1] == '\n' ||
		        (p->src[p->pos + 1] == '\r' && p->pos + 2 < p->len &&
		            p->src[p->pos + 2] == '\n'))) {
			p->pos += p->src[p->pos + 1] == '\n' ? 2 : 3;
		} else if (c == '\n') {
			if (p->paren > 0) {
				p->pos++;
				continue;
			}
			/* only blank lines and comments may follow */
			size_t q = p->pos;

			while (q < p->len) {
				char d = p->src[q];

				if (d == '#') {
					while (q < p->len && p->src[q] != '\n')
						q++;
				} else if (d == ' ' || d == '\t' || d == '\n' ||
				    d == '\r' || d == '\f') {
					q++;
				} else {
					break;
				}
			}
			if (q < p->len) {
				perr(p, q,
				    "invalid syntax (newline in "
				    "expression)");
				return;
			}
			p->pos = q;
			return;
		} else {
			return;
		}
	}
}

/* Digits of one radix with Python's single underscores between them;
 * appends them to buf (without underscores). Returns digits read, or -1
 * on a misplaced underscore. */
static int
lex_digits(struct parser *p, int radix, bool lead_underscore, char *buf,
    size_t *blen, size_t bcap)
{
	int nd = 0;
	bool under = false;

	for (;;) {
		char c = p->pos < p->len ? p->src[p->pos] : '\0';

		if (c == '_') {
			if (under || (nd == 0 && !lead_underscore))
				return -1;
			under = true;
			p->pos++;
			continue;
		}
		if (digit_val(c) >= radix)
			break;
		if (*blen + 1 < bcap)
			buf[(*blen)++] = c;
		nd++;
		under = false;
		lead_underscore = false;
		p->pos++;
	}
	if (under)
		return -1;
	buf[*blen] = '\0';
	return nd;
}

static bool
keyword_follows(const struct parser *p)
{
	static const char *const kw[] = {
	    "and", "or", "if", "else", "not", "in", "is"};
	size_t rest = p->len - p->pos;

	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		size_t n = strlen(kw[i]);

		if (rest >= n && !memcmp(p->src + p->pos, kw[i], n) &&
		    (rest == n || !is_ident(p->src[p->pos + n])))
			return true;
	}
	return false;
}

static void
lex_number(struct parser *p)
{
	char buf[PYEXPR_MAX_LEN + 8];
	size_t blen = 0, start = p->pos;
	const char *s = p->src;
	bool is_float = false;

	if (s[start] == '0' && start + 1 < p->len &&
	    strchr("xXoObB", s[start + 1]) && s[start + 1] != '\0') {
		char r = s[start + 1];
		int radix = (r == 'x' || r == 'X') ? 16
		    : (r == 'o' || r == 'O')       ? 8
		                                   : 2;
		uint64_t v = 0;

		p->pos += 2;
		if (lex_digits(p, radix, true, buf, &blen, sizeof(buf)) <= 0) {
			perr(p, start, "invalid %s literal",
			    radix == 16      ? "hexadecimal"
			        : radix == 8 ? "octal"
			                     : "binary");
			return;
		}
		for (size_t i = 0; i < blen; i++) {
			if (v > (uint64_t)INT64_MAX / (uint64_t)radix) {
				perr(p, start, "integer literal too large");
				return;
			}
			v = v * (uint64_t)radix + (uint64_t)digit_val(buf[i]);
			if (v > (uint64_t)INT64_MAX) {
				perr(p, start, "integer literal too large");
				return;
			}
		}
		p->tok = T_INT;
		p->ival = (int64_t)v;
		goto tail;
	}
	if (s[start] != '.' &&
	    lex_digits(p, 10, false, buf, &blen, sizeof(buf)) < 0)
		goto bad;
	if (p->pos < p->len && s[p->pos] == '.') {
		is_float = true;
		p->pos++;
		if (blen + 1 < sizeof(buf))
			buf[blen++] = '.';
		if (p->pos < p->len && s[p->pos] == '_')
			goto bad;
		if (lex_digits(p, 10, false, buf, &blen, sizeof(buf)) < 0)
			goto bad;
	}
	if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		size_t save = p->pos, save_len = blen;

		p->pos++;
		if (blen + 1 < sizeof(buf))
			buf[blen++] = 'e';
		if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-')) {
			if (blen + 1 < sizeof(buf))
				buf[blen++] = s[p->pos];
			p->pos++;
		}
		if (lex_digits(p, 10, false, buf, &blen, sizeof(buf)) <= 0) {
			/* "1else": the e begins a keyword */
			p->pos = save;
			blen = save_len;
			buf[blen] = '\0';
			if (!keyword_follows(p))
				goto bad;
		} else {
			is_float = true;
		}
	}
	buf[blen] = '\0';
	if (is_float) {
		p->tok = T_FLOAT;
		p->fval = strtod(buf, NULL);
	} else {
		uint64_t v = 0;

		if (blen > 1 && buf[0] == '0') {
			if (strspn(buf, "0") != blen) {
				perr(p, start,
				    "leading zeros in decimal integer literals "
				    "are not permitted");
				return;
			}
		}
		for (size_t i = 0; i < blen; i++) {
			v = v * 10 + (uint64_t)(buf[i] - '0');
			if (v > (uint64_t)INT64_MAX) {
				perr(p, start, "integer literal too large");
				return;
			}
		}
		p->tok = T_INT;
		p->ival = (int64_t)v;
	}
tail:
	if (p->pos < p->len && (s[p->pos] == 'j' || s[p->pos] == 'J')) {
		perr(p, start, "complex numbers are not supported");
		return;
	}
	if (p->pos < p->len && is_ident(s[p->pos]) && !keyword_follows(p))
		goto bad;
	return;
bad:
	perr(p, start, "invalid decimal literal");
}

static void
next(struct parser *p)
{
	const char *s = p->src;
	char c, d;

	if (p->failed)
		return;
	skip_space(p);
	if (p->failed)
		return;
	p->tpos = p->pos;
	if (p->pos >= p->len) {
		p->tok = T_END;
		return;
	}
	c = s[p->pos];
	d = p->pos + 1 < p->len ? s[p->pos + 1] : '\0';
	if ((c >= '0' && c <= '9') || (c == '.' && d >= '0' && d <= '9')) {
		lex_number(p);
		return;
	}
	if (is_ident_start(c)) {
		static const struct {
			const char *w;
			enum tok t;
		} kws[] = {
		    {"and", T_AND},
		    {"or", T_OR},
		    {"not", T_NOT},
		    {"if", T_IF},
		    {"else", T_ELSE},
		    {"True", T_TRUE},
		    {"False", T_FALSE},
		};
		static const char *const unsupported[] = {"None", "is", "in",
		    "lambda", "for", "await", "yield", "import", "del",
		    "global", "async", "class", "def", "return", "pass",
		    "while", "with", "try", "except", "raise", "from", "as",
		    "assert", "break", "continue", "elif", "finally",
		    "nonlocal"};
		size_t n = 0;

		while (p->pos + n < p->len && is_ident(s[p->pos + n]))
			n++;
		p->tlen = n;
		p->tok = T_NAME;
		for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
			if (strlen(kws[i].w) == n &&
			    !memcmp(s + p->pos, kws[i].w, n))
				p->tok = kws[i].t;
		for (size_t i = 0;
		     i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
			if (strlen(unsupported[i]) == n &&
			    !memcmp(s + p->pos, unsupported[i], n)) {
				perr(p, p->pos, "'%s' is not supported",
				    unsupported[i]);
				return;
			}
		p->pos += n;
		return;
	}
	p->tok = T_OP;
	p->pos++;
	switch (c) {
	case '+':
		p->op = OP_ADD;
		return;
	case '-':
		p->op = OP_SUB;
		return;
	case '*':
		p->op = d == '*' ? OP_POW : OP_MUL;
		break;
	case '/':
		p->op = d == '/' ? OP_FLOORDIV : OP_DIV;
		break;
	case '%':
		p->op = OP_MOD;
		return;
	case '<':
		p->op = d == '<' ? OP_LSHIFT : d == '=' ? OP_LE : OP_LT;
		if (d == '>') {
			perr(p, p->tpos, "invalid syntax");
			return;
		}
		break;
	case '>':
		p->op = d == '>' ? OP_RSHIFT : d == '=' ? OP_GE : OP_GT;
		break;
	case '=':
		if (d != '=') {
			perr(p, p->tpos, "invalid syntax (assignment)");
			return;
		}
		p->op = OP_EQ;
		break;
	case '!':
		if (d != '=') {
			perr(p, p->tpos, "invalid syntax");
			return;
		}
		p->op = OP_NE;
		break;
	case '&':
		p->op = OP_BAND;
		return;
	case '|':
		p->op = OP_BOR;
		return;
	case '^':
		p->op = OP_BXOR;
		return;
	case '~':
		p->op = OP_INVERT;
		return;
	case '(':
		p->op = OP_LPAR;
		p->paren++;
		return;
	case ')':
		p->op = OP_RPAR;
		if (p->paren > 0)
			p->paren--;
		return;
	case ',':
		p->op = OP_COMMA;
		return;
	case '.':
		p->op = OP_DOT;
		return;
	default:
		if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
			perr(p, p->tpos, "invalid character '\\x%02x'",
			    (unsigned char)c);
		else
			perr(p, p->tpos, "invalid character '%c'", c);
		return;
	}
	/* two-character operators: <= >= == != ** // << >> */
	if (p->op == OP_LT || p->op == OP_GT || p->op == OP_MUL ||
	    p->op == OP_DIV)
		return;
	p->pos++;
	if ((p->op == OP_POW || p->op == OP_FLOORDIV || p->op == OP_LSHIFT ||
	        p->op == OP_RSHIFT) &&
	    p->pos < p->len && s[p->pos] == '=') {
		perr(p, p->tpos, "invalid syntax (assignment)");
	}
}

static bool
is_op(const struct parser *p, int op)
{
	return p->tok == T_OP && p->op == op;
}

/* ---- parser ---- */

static struct node *
mk(struct parser *p, enum nkind kind, int op, size_t pos, int nkids, ...)
{
	struct node *n;
	va_list ap;
	int depth = 0;

	if (p->failed)
		goto fail_kids;
	if (++p->nodes > PYEXPR_MAX_NODES) {
		perr(p, pos, "expression too large (more than %d nodes)",
		    PYEXPR_MAX_NODES);
		goto fail_kids;
	}
	n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->op = op;
	n->pos = (int)pos + 1;
	n->nkids = nkids;
	if (nkids)
		n->kids = xcalloc((size_t)nkids, sizeof(*n->kids));
	va_start(ap, nkids);
	for (int i = 0; i < nkids; i++) {
		n->kids[i] = va_arg(ap, struct node *);
		if (n->kids[i] && n->kids[i]->depth > depth)
			depth = n->kids[i]->depth;
	}
	va_end(ap);
	n->depth = depth + 1;
	if (n->depth > PYEXPR_MAX_DEPTH) {
		perr(p, pos,
		    "expression nested too deeply (more than %d levels)",
		    PYEXPR_MAX_DEPTH);
		node_free(n);
		return NULL;
	}
	return n;
fail_kids:
	va_start(ap, nkids);
	for (int i = 0; i < nkids; i++)
		node_free(va_arg(ap, struct node *));
	va_end(ap);
	return NULL;
}

/* Sets the depth of a node whose kids were added after mk(). */
static struct node *
fix_depth(struct parser *p, struct node *n)
{
	int depth = 0;

	for (int i = 0; i < n->nkids; i++)
		if (n->kids[i]->depth > depth)
			depth = n->kids[i]->depth;
	n->depth = depth + 1;
	if (n->depth > PYEXPR_MAX_DEPTH) {
		perr(p, (size_t)n->pos - 1,
		    "expression nested too deeply (more than %d levels)",
		    PYEXPR_MAX_DEPTH);
		node_free(n);
		return NULL;
	}
	return n;
}

static struct node *parse_test(struct parser *p);

static bool
enter(struct parser *p)
{
	if (++p->nest > PYEXPR_MAX_DEPTH) {
		perr(p, p->tpos,
		    "expression nested too deeply (more than %d levels)",
		    PYEXPR_MAX_DEPTH);
		return false;
	}
	return true;
}

static struct node *
syntax_error(struct parser *p)
{
	if (p->tok == T_END)
		perr(p, p->tpos, "invalid syntax (unexpected end)");
	else
		perr(p, p->tpos, "invalid syntax");
	return NULL;
}

static const struct {
	const char *name;
	double v;
} math_consts[] = {
    {"math.pi", 3.141592653589793},
    {"math.e", 2.718281828459045},
    {"math.tau", 6.283185307179586},
    {"math.inf", INFINITY},
    {"math.nan", NAN},
};

/* atom trailers: NUMBER | True | False | NAME(.NAME)* [call] | ( test ) */
static struct node *
parse_atom(struct parser *p)
{
	size_t pos = p->tpos;
	struct node *n;

	if (p->failed)
		return NULL;
	switch (p->tok) {
	case T_INT:
		n = mk(p, N_CONST, 0, pos, 0);
		if (n)
			n->val = pyexpr_int(p->ival);
		next(p);
		return n;
	case T_FLOAT:
		n = mk(p, N_CONST, 0, pos, 0);
		if (n)
			n->val = pyexpr_float(p->fval);
		next(p);
		return n;
	case T_TRUE:
	case T_FALSE:
		n = mk(p, N_CONST, 0, pos, 0);
		if (n)
			n->val = mk_bool(p->tok == T_TRUE);
		next(p);
		return n;
	case T_NAME: {
		char name[256];
		size_t nlen = 0;

		for (;;) {
			if (nlen + p->tlen + 2 > sizeof(name)) {
				perr(p, pos, "name too long");
				return NULL;
			}
			memcpy(name + nlen, p->src + p->tpos, p->tlen);
			nlen += p->tlen;
			name[nlen] = '\0';
			next(p);
			if (!is_op(p, OP_DOT))
				break;
			next(p);
			if (p->tok != T_NAME)
				return syntax_error(p);
			name[nlen++] = '.';
		}
		if (p->failed)
			return NULL;
		if (is_op(p, OP_LPAR)) {
			struct node *args[64];
			int nargs = 0;
			int fi = -1;

			for (size_t i = 0;
			     i < sizeof(functions) / sizeof(functions[0]); i++)
				if (!strcmp(functions[i].name, name))
					fi = (int)i;
			if (fi < 0) {
				perr(p, pos, "unknown function '%s'", name);
				return NULL;
			}
			next(p);
			while (!is_op(p, OP_RPAR)) {
				struct node *a;

				if (nargs == 64) {
					perr(p, p->tpos, "too many arguments");
					break;
				}
				a = parse_test(p);
				if (!a)
					break;
				args[nargs++] = a;
				if (is_op(p, OP_COMMA)) {
					next(p);
					continue;
				}
				if (!is_op(p, OP_RPAR)) {
					syntax_error(p);
					break;
				}
			}
			if (!p->failed &&
			    (nargs < functions[fi].min ||
			        nargs > functions[fi].max)) {
				if (functions[fi].min == functions[fi].max)
					perr(p, pos,
					    "%s() takes exactly %d argument%s "
					    "(%d given)",
					    name, functions[fi].min,
					    functions[fi].min == 1 ? "" : "s",
					    nargs);
				else
					perr(p, pos,
					    "%s() takes %d to %d arguments (%d "
					    "given)",
					    name, functions[fi].min,
					    functions[fi].max, nargs);
			}
			n = p->failed ? NULL
			              : mk(p, N_CALL, functions[fi].fn, pos, 0);
			if (!n) {
				for (int i = 0; i < nargs; i++)
					node_free(args[i]);
				return NULL;
			}
			n->nkids = nargs;
			if (nargs) {
				n->kids =
				    xcalloc((size_t)nargs, sizeof(*n->kids));
				memcpy(n->kids, args,
				    (size_t)nargs * sizeof(*args));
			}
			next(p); /* the ')' */
			return fix_depth(p, n);
		}
		for (size_t i = 0; i < p->nnames; i++) {
			if (!strcmp(p->names[i], name)) {
				n = mk(p, N_NAME, 0, pos, 0);
				if (n)
					n->name = i;
				return n;
			}
		}
		for (size_t i = 0;
		     i < sizeof(math_consts) / sizeof(math_consts[0]); i++) {
			if (!strcmp(math_consts[i].name, name)) {
				n = mk(p, N_CONST, 0, pos, 0);
				if (n)
					n->val = pyexpr_float(math_consts[i].v);
				return n;
			}
		}
		perr(p, pos, "name '%s' is not defined", name);
		return NULL;
	}
	case T_OP:
		if (p->op == OP_LPAR) {
			next(p);
			n = parse_test(p);
			if (!n)
				return NULL;
			if (!is_op(p, OP_RPAR)) {
				node_free(n);
				if (!p->failed)
					perr(p, p->tpos,
					    p->tok == T_END
					        ? "'(' was never closed"
					        : "invalid syntax (expected "
					          "')')");
				return NULL;
			}
			next(p);
			return n;
		}
		if (p->op == OP_RPAR) {
			perr(p, pos, "unmatched ')'");
			return NULL;
		}
		return syntax_error(p);
	default:
		return syntax_error(p);
	}
}

static struct node *parse_factor(struct parser *p);

/* power: atom ['**' factor] (right-associative, binds tighter than unary
 * minus on its left: -2**2 == -4) */
static struct node *
parse_power(struct parser *p)
{
	struct node *a = parse_atom(p);
	size_t pos;

	if (!a || !is_op(p, OP_POW))
		return a;
	pos = p->tpos;
	next(p);
	if (!enter(p)) {
		node_free(a);
		return NULL;
	}
	struct node *b = parse_factor(p);
	p->nest--;
	if (!b) {
		node_free(a);
		return NULL;
	}
	return mk(p, N_BIN, OP_POW, pos, 2, a, b);
}

static struct node *
parse_factor(struct parser *p)
{
	if (p->tok == T_OP &&
	    (p->op == OP_ADD || p->op == OP_SUB || p->op == OP_INVERT)) {
		int op = p->op;
		size_t pos = p->tpos;
		struct node *a;

		if (!enter(p))
			return NULL;
		next(p);
		a = parse_factor(p);
		p->nest--;
		if (!a)
			return NULL;
		return mk(p, N_UNARY, op, pos, 1, a);
	}
	return parse_power(p);
}

/* Left-associative binary levels, from tightest to loosest. */
static const int level_ops[][4] = {
    {OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD},
    {OP_ADD, OP_SUB, 0, 0},
    {OP_LSHIFT, OP_RSHIFT, 0, 0},
    {OP_BAND, 0, 0, 0},
    {OP_BXOR, 0, 0, 0},
    {OP_BOR, 0, 0, 0},
};

static struct node *
parse_level(struct parser *p, int level)
{
	struct node *a =
	    level == 0 ? parse_factor(p) : parse_level(p, level - 1);

	while (a && p->tok == T_OP) {
		int op = 0;
		size_t pos = p->tpos;
		struct node *b;

		for (int i = 0; i < 4; i++)
			if (level_ops[level][i] && p->op == level_ops[level][i])
				op = p->op;
		if (!op)
			break;
		next(p);
		b = level == 0 ? parse_factor(p) : parse_level(p, level - 1);
		if (!b) {
			node_free(a);
			return NULL;
		}
		a = mk(p, N_BIN, op, pos, 2, a, b);
	}
	return a;
}

static bool
is_cmp(const struct parser *p)
{
	return p->tok == T_OP && p->op >= OP_LT && p->op <= OP_NE;
}

static struct node *
parse_comparison(struct parser *p)
{
	struct node *a = parse_level(p, 5), *n;
	struct node *kids[PYEXPR_MAX_DEPTH + 1];
	int ops[PYEXPR_MAX_DEPTH];
	int nk = 0;
	size_t pos;

	if (!a || !is_cmp(p))
		return a;
	pos = p->tpos;
	kids[nk++] = a;
	while (is_cmp(p)) {
		if (nk > PYEXPR_MAX_DEPTH) {
			perr(p, p->tpos, "comparison chain too long");
			break;
		}
		ops[nk - 1] = p->op;
		next(p);
		a = parse_level(p, 5);
		if (!a)
			break;
		kids[nk++] = a;
	}
	n = p->failed ? NULL : mk(p, N_CMP, 0, pos, 0);
	if (!n) {
		for (int i = 0; i < nk; i++)
			node_free(kids[i]);
		return NULL;
	}
	n->nkids = nk;
	n->kids = xcalloc((size_t)nk, sizeof(*n->kids));
	memcpy(n->kids, kids, (size_t)nk * sizeof(*kids));
	n->ops = xcalloc((size_t)nk, sizeof(*n->ops));
	memcpy(n->ops, ops, (size_t)(nk - 1) * sizeof(*ops));
	return fix_depth(p, n);
}

static struct node *
parse_not(struct parser *p)
{
	if (p->tok == T_NOT) {
		size_t pos = p->tpos;
		struct node *a;

		if (!enter(p))
			return NULL;
		next(p);
		a = parse_not(p);
		p->nest--;
		if (!a)
			return NULL;
		return mk(p, N_NOT, 0, pos, 1, a);
	}
	return parse_comparison(p);
}

static struct node *
parse_and(struct parser *p)
{
	struct node *a = parse_not(p);

	while (a && p->tok == T_AND) {
		size_t pos = p->tpos;
		struct node *b;

		next(p);
		b = parse_not(p);
		if (!b) {
			node_free(a);
			return NULL;
		}
		a = mk(p, N_AND, 0, pos, 2, a, b);
	}
	return a;
}

static struct node *
parse_or(struct parser *p)
{
	struct node *a = parse_and(p);

	while (a && p->tok == T_OR) {
		size_t pos = p->tpos;
		struct node *b;

		next(p);
		b = parse_and(p);
		if (!b) {
			node_free(a);
			return NULL;
		}
		a = mk(p, N_OR, 0, pos, 2, a, b);
	}
	return a;
}

/* test: or_test ['if' or_test 'else' test] */
static struct node *
parse_test(struct parser *p)
{
	struct node *a, *c, *b;
	size_t pos;

	if (!enter(p))
		return NULL;
	a = parse_or(p);
	if (!a || p->tok != T_IF) {
		p->nest--;
		return a;
	}
	pos = p->tpos;
	next(p);
	c = parse_or(p);
	if (!c) {
		node_free(a);
		p->nest--;
		return NULL;
	}
	if (p->tok != T_ELSE) {
		node_free(a);
		node_free(c);
		p->nest--;
		if (!p->failed)
			perr(p, p->tpos,
			    "expected 'else' after 'if' expression");
		return NULL;
	}
	next(p);
	b = parse_test(p);
	p->nest--;
	if (!b) {
		node_free(a);
		node_free(c);
		return NULL;
	}
	return mk(p, N_IF, 0, pos, 3, a, c, b);
}

struct pyexpr *
pyexpr_compile(const char *src, const char *const *names, size_t nnames,
    char *err, size_t errlen)
{
	struct parser p;
	struct node *root;
	struct pyexpr *e;

	memset(&p, 0, sizeof(p));
	p.src = src;
	p.len = strlen(src);
	p.names = names;
	p.nnames = nnames;
	p.err = err;
	p.errlen = errlen;
	if (errlen)
		err[0] = '\0';
	if (p.len > PYEXPR_MAX_LEN) {
		perr(&p, PYEXPR_MAX_LEN, "expression longer than %d bytes",
		    PYEXPR_MAX_LEN);
		return NULL;
	}
	if (memchr(src, '\0', p.len) != NULL) {
		perr(&p, 0, "NUL in expression");
		return NULL;
	}
	/* eval() ignores leading spaces and tabs */
	while (p.pos < p.len && (src[p.pos] == ' ' || src[p.pos] == '\t'))
		p.pos++;
	next(&p);
	root = parse_test(&p);
	if (root && p.tok != T_END) {
		if (is_op(&p, OP_RPAR))
			perr(&p, p.tpos, "unmatched ')'");
		else
			perr(&p, p.tpos, "invalid syntax");
	}
	if (p.failed || !root) {
		node_free(root);
		if (!p.failed)
			perr(&p, p.tpos, "invalid syntax");
		return NULL;
	}
	e = xmalloc(sizeof(*e));
	e->root = root;
	return e;
}

/* ---- evaluation ---- */

struct ev {
	const struct pyexpr_val *vals;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 3, 4)))
everr(struct ev *ev, const struct node *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!ev->errlen)
		return -1;
	k = snprintf(ev->err, ev->errlen, "column %d: ", n->pos);
	if (k < 0 || (size_t)k >= ev->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ev->err + k, ev->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static int
too_large(struct ev *ev, const struct node *n)
{
	return everr(ev, n,
	    "OverflowError: integer result too large (Warden's integers are "
	    "64-bit)");
}

static bool
is_intlike(const struct pyexpr_val *v)
{
	return v->type != PYEXPR_FLOAT;
}

/* Python's float -> int conversion (int(), math.floor() results). */
static int
float_to_int(struct ev *ev, const struct node *n, double f, int64_t *out)
{
	if (isnan(f))
		return everr(
		    ev, n, "ValueError: cannot convert float NaN to integer");
	if (isinf(f))
		return everr(ev, n,
		    "OverflowError: cannot convert float infinity to integer");
	if (f >= 9223372036854775808.0 || f < -9223372036854775808.0)
		return too_large(ev, n);
	*out = (int64_t)f;
	return 0;
}

/* Exact comparison of two numbers: -1, 0, 1, or 2 when unordered. */
static int
num_cmp(const struct pyexpr_val *a, const struct pyexpr_val *b)
{
	if (is_intlike(a) && is_intlike(b))
		return a->i < b->i ? -1 : a->i > b->i;
	if (!is_intlike(a) && !is_intlike(b)) {
		if (isnan(a->f) || isnan(b->f))
			return 2;
		return a->f < b->f ? -1 : a->f > b->f;
	}
	long double x = is_intlike(a) ? (long double)a->i : (long double)a->f;
	long double y = is_intlike(b) ? (long double)b->i : (long double)b->f;
	if (isnan(x) || isnan(y))
		return 2;
	return x < y ? -1 : x > y;
}

int
pyexpr_cmp(const struct pyexpr_val *a, const struct pyexpr_val *b)
{
	return num_cmp(a, b);
}

static bool
cmp_holds(int op, int c)
{
	switch (op) {
	case OP_LT:
		return c == -1;
	case OP_GT:
		return c == 1;
	case OP_LE:
		return c == -1 || c == 0;
	case OP_GE:
		return c == 1 || c == 0;
	case OP_EQ:
		return c == 0;
	case OP_NE:
		return c != 0;
	}
	return false;
}

static int
int_pow(struct ev *ev, const struct node *n, int64_t base, int64_t ex,
    struct pyexpr_val *out)
{
	int64_t r = 1, b = base;

	while (ex > 0) {
		if (ex & 1) {
			if (__builtin_mul_overflow(r, b, &r))
				return too_large(ev, n);
		}
		ex >>= 1;
		if (ex && __builtin_mul_overflow(b, b, &b))
			return too_large(ev, n);
	}
	*out = pyexpr_int(r);
	return 0;
}

/* Python's float ** float. */
static int
float_pow(struct ev *ev, const struct node *n, double x, double y,
    struct pyexpr_val *out)
{
	double r;

	if (x == 0.0 && y < 0.0)
		return everr(ev, n,
		    "ZeroDivisionError: 0.0 cannot be raised to a negative "
		    "power");
	if (x < 0.0 && isfinite(x) && isfinite(y) && y != floor(y))
		return everr(ev, n,
		    "ValueError: complex result (a negative number to a "
		    "fractional power) is not supported");
	r = pow(x, y);
	if (isinf(r) && isfinite(x) && isfinite(y))
		return everr(ev, n,
		    "OverflowError: (34, 'Numerical result out of range')");
	*out = pyexpr_float(r);
	return 0;
}

static int
binop(struct ev *ev, const struct node *n, int op, const struct pyexpr_val *a,
    const struct pyexpr_val *b, struct pyexpr_val *out)
{
	bool ints = is_intlike(a) && is_intlike(b);
	double x = pyexpr_to_double(a), y = pyexpr_to_double(b);
	int64_t r;

	switch (op) {
	case OP_ADD:
		if (!ints) {
			*out = pyexpr_float(x + y);
			return 0;
		}
		if (__builtin_add_overflow(a->i, b->i, &r))
			return too_large(ev, n);
		*out = pyexpr_int(r);
		return 0;
	case OP_SUB:
		if (!ints) {
			*out = pyexpr_float(x - y);
			return 0;
		}
		if (__builtin_sub_overflow(a->i, b->i, &r))
			return too_large(ev, n);
		*out = pyexpr_int(r);
		return 0;
	case OP_MUL:
		if (!ints) {
			*out = pyexpr_float(x * y);
			return 0;
		}
		if (__builtin_mul_overflow(a->i, b->i, &r))
			return too_large(ev, n);
		*out = pyexpr_int(r);
		return 0;
	case OP_DIV:
		if (y == 0.0)
			return everr(ev, n,
			    ints ? "ZeroDivisionError: division "
			           "by zero"
			         : "ZeroDivisionError: float "
			           "division by zero");
		*out = pyexpr_float(x / y);
		return 0;
	case OP_FLOORDIV:
	case OP_MOD:
		if (ints) {
			int64_t q, m;

			if (b->i == 0)
				return everr(ev, n,
				    op == OP_MOD
				        ? "ZeroDivisionError: integer "
				          "modulo by zero"
				        : "ZeroDivisionError: integer "
				          "division or modulo by zero");
			if (a->i == INT64_MIN && b->i == -1) {
				if (op == OP_MOD) {
					*out = pyexpr_int(0);
					return 0;
				}
				return too_large(ev, n);
			}
			q = a->i / b->i;
			m = a->i % b->i;
			if (m != 0 && ((m < 0) != (b->i < 0))) {
				q--;
				m += b->i;
			}
			*out = pyexpr_int(op == OP_MOD ? m : q);
			return 0;
		} else {
			double mod, div, fl;

			if (y == 0.0)
				return everr(ev, n,
				    op == OP_MOD ? "ZeroDivisionError: float "
				                   "modulo"
				                 : "ZeroDivisionError: float "
				                   "floor division by zero");
			mod = fmod(x, y);
			div = (x - mod) / y;
			if (mod != 0.0) {
				if ((y < 0) != (mod < 0)) {
					mod += y;
					div -= 1.0;
				}
			} else {
				mod = copysign(0.0, y);
			}
			if (div != 0.0) {
				fl = floor(div);
				if (div - fl > 0.5)
					fl += 1.0;
			} else {
				fl = copysign(0.0, x / y);
			}
			*out = pyexpr_float(op == OP_MOD ? mod : fl);
			return 0;
		}
	case OP_POW:
		if (ints && b->i >= 0)
			return int_pow(ev, n, a->i, b->i, out);
		return float_pow(ev, n, x, y, out);
	case OP_LSHIFT:
	case OP_RSHIFT:
	case OP_BAND:
	case OP_BOR:
	case OP_BXOR:
		if (!ints)
			return everr(ev, n,
			    "TypeError: unsupported operand type(s) for %s: "
			    "'%s' and '%s'",
			    op_text[op], type_name(a), type_name(b));
		if (op == OP_BAND || op == OP_BOR || op == OP_BXOR) {
			r = op == OP_BAND  ? (a->i & b->i)
			    : op == OP_BOR ? (a->i | b->i)
			                   : (a->i ^ b->i);
			if (a->type == PYEXPR_BOOL && b->type == PYEXPR_BOOL)
				*out = mk_bool(r != 0);
			else
				*out = pyexpr_int(r);
			return 0;
		}
		if (b->i < 0)
			return everr(ev, n, "ValueError: negative shift count");
		if (op == OP_RSHIFT) {
			if (b->i >= 63)
				r = a->i < 0 ? -1 : 0;
			else if (a->i >= 0)
				r = a->i >> b->i;
			else
				r = ~(~a->i >> b->i);
			*out = pyexpr_int(r);
			return 0;
		}
		if (a->i == 0) {
			*out = pyexpr_int(0);
			return 0;
		}
		if (b->i >= 64)
			return too_large(ev, n);
		{
			/* shift the magnitude, then check it round-trips */
			uint64_t mag = a->i < 0 ? (uint64_t)0 - (uint64_t)a->i
			                        : (uint64_t)a->i;
			uint64_t sh = mag << b->i;

			if ((sh >> b->i) != mag ||
			    sh > (uint64_t)INT64_MAX + (a->i < 0))
				return too_large(ev, n);
			r = a->i < 0 ? (int64_t)(0 - sh) : (int64_t)sh;
		}
		*out = pyexpr_int(r);
		return 0;
	}
	return everr(ev, n, "internal error: bad operator");
}

static int eval_node(
    struct ev *ev, const struct node *n, struct pyexpr_val *out);

static int
call(struct ev *ev, const struct node *n, const struct pyexpr_val *a, int nargs,
    struct pyexpr_val *out)
{
	double x = nargs > 0 ? pyexpr_to_double(&a[0]) : 0.0, r;
	int64_t i;

	switch ((enum fn)n->op) {
	case FN_EXP:
		r = exp(x);
		if (isinf(r) && isfinite(x))
			return everr(ev, n, "OverflowError: math range error");
		*out = pyexpr_float(r);
		return 0;
	case FN_LOG:
	case FN_LOG2:
	case FN_LOG10:
		if (!(x > 0.0) && !isnan(x))
			return everr(ev, n, "ValueError: math domain error");
		r = n->op == FN_LOG2    ? log2(x)
		    : n->op == FN_LOG10 ? log10(x)
		                        : log(x);
		if (nargs == 2) {
			double b = pyexpr_to_double(&a[1]), lb;

			if (!(b > 0.0) && !isnan(b))
				return everr(
				    ev, n, "ValueError: math domain error");
			lb = log(b);
			if (lb == 0.0)
				return everr(ev, n,
				    "ZeroDivisionError: float division by "
				    "zero");
			r = r / lb;
		}
		*out = pyexpr_float(r);
		return 0;
	case FN_MPOW: {
		double y = pyexpr_to_double(&a[1]);

		if (isnan(x) || isnan(y)) {
			*out = pyexpr_float((x == 1.0 || y == 0.0) ? 1.0 : NAN);
			return 0;
		}
		if ((x == 0.0 && y < 0.0) ||
		    (x < 0.0 && isfinite(x) && isfinite(y) && y != floor(y)))
			return everr(ev, n, "ValueError: math domain error");
		r = pow(x, y);
		if (isinf(r) && isfinite(x) && isfinite(y))
			return everr(ev, n, "OverflowError: math range error");
		*out = pyexpr_float(r);
		return 0;
	}
	case FN_SQRT:
		if (x < 0.0)
			return everr(ev, n, "ValueError: math domain error");
		*out = pyexpr_float(sqrt(x));
		return 0;
	case FN_FLOOR:
	case FN_CEIL:
	case FN_TRUNC:
		if (is_intlike(&a[0])) {
			*out = pyexpr_int(a[0].i);
			return 0;
		}
		r = n->op == FN_FLOOR  ? floor(x)
		    : n->op == FN_CEIL ? ceil(x)
		                       : trunc(x);
		if (float_to_int(ev, n, r, &i))
			return -1;
		*out = pyexpr_int(i);
		return 0;
	case FN_FABS:
		*out = pyexpr_float(fabs(x));
		return 0;
	case FN_FLOAT:
		*out = pyexpr_float(x);
		return 0;
	case FN_INT:
		if (nargs == 0 || is_intlike(&a[0])) {
			*out = pyexpr_int(nargs ? a[0].i : 0);
			return 0;
		}
		if (float_to_int(ev, n, trunc(x), &i))
			return -1;
		*out = pyexpr_int(i);
		return 0;
	case FN_BOOL:
		*out = mk_bool(nargs && truthy(&a[0]));
		return 0;
	case FN_ABS:
		if (is_intlike(&a[0])) {
			if (a[0].i == INT64_MIN)
				return too_large(ev, n);
			*out = pyexpr_int(a[0].i < 0 ? -a[0].i : a[0].i);
		} else {
			*out = pyexpr_float(fabs(x));
		}
		return 0;
	case FN_ROUND: {
		int64_t nd;

		if (nargs == 1) {
			if (is_intlike(&a[0])) {
				*out = pyexpr_int(a[0].i);
				return 0;
			}
			if (float_to_int(ev, n, nearbyint(x), &i))
				return -1;
			*out = pyexpr_int(i);
			return 0;
		}
		if (!is_intlike(&a[1]))
			return everr(ev, n,
			    "TypeError: 'float' object cannot be interpreted "
			    "as an integer");
		nd = a[1].i;
		if (is_intlike(&a[0])) {
			__int128 v = a[0].i, p = 1, q, m;

			if (nd >= 0) {
				*out = pyexpr_int(a[0].i);
				return 0;
			}
			if (nd < -19) {
				/* 10**20 > 2 * |v|: rounds to 0 */
				*out = pyexpr_int(0);
				return 0;
			}
			for (int64_t k = 0; k < -nd; k++)
				p *= 10;
			/* floor division, then half to even */
			q = v / p;
			m = v % p;
			if (m != 0 && m < 0) {
				q--;
				m += p;
			}
			if (2 * m > p || (2 * m == p && (q & 1)))
				q++;
			q *= p;
			if (q > INT64_MAX || q < INT64_MIN)
				return too_large(ev, n);
			*out = pyexpr_int((int64_t)q);
			return 0;
		}
		if (!isfinite(x) || nd > 323) {
			*out = pyexpr_float(x);
			return 0;
		}
		if (nd < -308) {
			*out = pyexpr_float(0.0 * x);
			return 0;
		}
		if (nd >= 0) {
			/* glibc prints the exact binary value correctly
			 * rounded (half even), as Python's dtoa does */
			char buf[512];

			snprintf(buf, sizeof(buf), "%.*f", (int)nd, x);
			r = strtod(buf, NULL);
		} else {
			double p10 = pow(10.0, (double)-nd);

			r = nearbyint(x / p10) * p10;
			if (isinf(r))
				return everr(ev, n,
				    "OverflowError: rounded value too large "
				    "to represent");
		}
		*out = pyexpr_float(r);
		return 0;
	}
	case FN_MIN:
	case FN_MAX:
		/* Python keeps the first of equal (or unordered) values */
		*out = a[0];
		for (int k = 1; k < nargs; k++) {
			int c = num_cmp(&a[k], out);

			if ((n->op == FN_MIN && c == -1) ||
			    (n->op == FN_MAX && c == 1))
				*out = a[k];
		}
		return 0;
	case FN_POW:
		return binop(ev, n, OP_POW, &a[0], &a[1], out);
	}
	return everr(ev, n, "internal error: bad function");
}

static int
eval_node(struct ev *ev, const struct node *n, struct pyexpr_val *out)
{
	struct pyexpr_val a, b;

	switch (n->kind) {
	case N_CONST:
		*out = n->val;
		return 0;
	case N_NAME:
		*out = ev->vals[n->name];
		return 0;
	case N_UNARY:
		if (eval_node(ev, n->kids[0], &a))
			return -1;
		if (n->op == OP_INVERT) {
			if (!is_intlike(&a))
				return everr(ev, n,
				    "TypeError: bad operand type for unary ~: "
				    "'float'");
			*out = pyexpr_int(~a.i);
		} else if (n->op == OP_SUB) {
			if (!is_intlike(&a))
				*out = pyexpr_float(-a.f);
			else if (a.i == INT64_MIN)
				return too_large(ev, n);
			else
				*out = pyexpr_int(-a.i);
		} else {
			*out = is_intlike(&a) ? pyexpr_int(a.i) : a;
		}
		return 0;
	case N_BIN:
		if (eval_node(ev, n->kids[0], &a) ||
		    eval_node(ev, n->kids[1], &b))
			return -1;
		return binop(ev, n, n->op, &a, &b, out);
	case N_CMP:
		if (eval_node(ev, n->kids[0], &a))
			return -1;
		for (int k = 1; k < n->nkids; k++) {
			if (eval_node(ev, n->kids[k], &b))
				return -1;
			if (!cmp_holds(n->ops[k - 1], num_cmp(&a, &b))) {
				*out = mk_bool(false);
				return 0;
			}
			a = b;
		}
		*out = mk_bool(true);
		return 0;
	case N_AND:
	case N_OR:
		if (eval_node(ev, n->kids[0], &a))
			return -1;
		if (truthy(&a) == (n->kind == N_OR)) {
			*out = a;
			return 0;
		}
		return eval_node(ev, n->kids[1], out);
	case N_NOT:
		if (eval_node(ev, n->kids[0], &a))
			return -1;
		*out = mk_bool(!truthy(&a));
		return 0;
	case N_IF:
		if (eval_node(ev, n->kids[1], &a))
			return -1;
		return eval_node(ev, n->kids[truthy(&a) ? 0 : 2], out);
	case N_CALL: {
		struct pyexpr_val args[64];

		for (int k = 0; k < n->nkids; k++)
			if (eval_node(ev, n->kids[k], &args[k]))
				return -1;
		return call(ev, n, args, n->nkids, out);
	}
	}
	return everr(ev, n, "internal error: bad node");
}

int
pyexpr_eval(const struct pyexpr *e, const struct pyexpr_val *vals,
    struct pyexpr_val *out, char *err, size_t errlen)
{
	struct ev ev = {vals, err, errlen};

	if (errlen)
		err[0] = '\0';
	return eval_node(&ev, e->root, out);
}

int
pyexpr_eval_str(
    const char *src, struct pyexpr_val *out, char *err, size_t errlen)
{
	struct pyexpr *e = pyexpr_compile(src, NULL, 0, err, errlen);
	int rc;

	if (!e)
		return -1;
	rc = pyexpr_eval(e, NULL, out, err, errlen);
	pyexpr_free(e);
	return rc;
}
