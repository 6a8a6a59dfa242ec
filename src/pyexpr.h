/*
 * The subset of Python expressions fail2ban evaluates for bantime.formula
 * and bantime.factor, with Python's int/float/bool semantics: numbers
 * (123, 0x1f, 1_000, 1.5, .5e3), True/False, names bound by the caller
 * ("ban.Time", "ban.Count", "banFactor"), math.* (exp log log2 log10 pow
 * sqrt floor ceil trunc fabs; pi e tau inf nan), float() int() bool()
 * abs() round() min() max() pow(), operators + - * / // % ** << >> & | ^
 * ~ and unary + -, comparisons (chained: a < b < c), and/or/not,
 * "x if c else y", parentheses and comments.
 *
 * An expression is compiled once into a tree (syntax errors, unknown names
 * and functions reported with their column) and evaluated many times.
 * Evaluation is bounded: the tree is capped in size and depth, each node
 * runs once, integers are 64-bit and an operation whose exact result does
 * not fit (1 << 100, 10 ** 30, huge exponents) is an error instead of a
 * big number, float overflow in ** and math.* is an error as in Python,
 * and NaN and infinity follow IEEE rules where Python does. Errors are
 * reported as Python would name them ("ZeroDivisionError: division by
 * zero").
 */
#ifndef WARDEN_PYEXPR_H
#define WARDEN_PYEXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PYEXPR_MAX_LEN   4096 /* bytes of source accepted */
#define PYEXPR_MAX_NODES 1024 /* tree nodes */
#define PYEXPR_MAX_DEPTH 64   /* tree depth (nesting, operator chains) */
#define PYEXPR_FMTLEN    40   /* buffer for pyexpr_format() */

enum pyexpr_type {
	PYEXPR_INT,
	PYEXPR_FLOAT,
	PYEXPR_BOOL,
};

/* A Python number. i holds INT and BOOL (0/1) values, f FLOAT ones. */
struct pyexpr_val {
	enum pyexpr_type type;
	int64_t i;
	double f;
};

struct pyexpr;

/*
 * Compiles src (NUL-terminated). names[0..nnames-1] are the names the
 * expression may use (dotted names such as "ban.Time" are one name);
 * their values are given to pyexpr_eval() in the same order. Returns a
 * new expression (free with pyexpr_free), or NULL with a one-line message
 * naming the column in err (errlen bytes), e.g. "column 9: invalid
 * syntax" or "column 1: name 'ban.time' is not defined".
 */
struct pyexpr *pyexpr_compile(const char *src, const char *const *names,
    size_t nnames, char *err, size_t errlen);

void pyexpr_free(struct pyexpr *e);

/*
 * Evaluates e with vals bound to its names (borrowed). Returns 0 with the
 * result in *out, or -1 with a message in err ("OverflowError: integer
 * result too large", "ValueError: math domain error", ...). Pure, cost
 * bounded by the tree size.
 */
int pyexpr_eval(const struct pyexpr *e, const struct pyexpr_val *vals,
    struct pyexpr_val *out, char *err, size_t errlen);

/* Compiles and evaluates src without names; same conventions. */
int pyexpr_eval_str(
    const char *src, struct pyexpr_val *out, char *err, size_t errlen);

struct pyexpr_val pyexpr_int(int64_t i);
struct pyexpr_val pyexpr_float(double f);

/* The value as a double (True = 1.0). */
double pyexpr_to_double(const struct pyexpr_val *v);

/*
 * Compares two numbers exactly as Python does (int against float
 * included): -1, 0 or 1, or 2 when unordered (a NaN is involved).
 */
int pyexpr_cmp(const struct pyexpr_val *a, const struct pyexpr_val *b);

/*
 * Python's str(): "123", "True", and floats as repr() writes them
 * ("6.0", "0.1", "1e+16", "inf", "nan"). buf holds PYEXPR_FMTLEN bytes.
 * Returns buf.
 */
char *pyexpr_format(const struct pyexpr_val *v, char *buf);

#endif
