/*
 * fail2ban's time expressions (spec 4.1): "600", "10m", "1h30m", "1w 2d",
 * "1mo", "-1", "1h-10m", "2*1h" -> seconds, exactly as MyTime.str2seconds
 * rewrites them, evaluated by a small arithmetic evaluator of our own
 * (numbers, + - * / // % **, unary minus, parentheses; no Python eval).
 * Also the reverse: seconds -> "1d 12h 30m" as MyTime.seconds2str.
 *
 * Pure functions; the rewrite regexes are compiled once on first use.
 */
#ifndef WARDEN_TIMEVAL_H
#define WARDEN_TIMEVAL_H

#include <stdbool.h>
#include <stddef.h>

#define TIMEVAL_MAX_LEN 4096 /* bytes of expression accepted */

/*
 * Parses a time expression. Returns 0 with the value in *sec (and
 * *is_float true when Python would have produced a float, e.g. "1mo" or
 * "1/2"; is_float may be NULL), or -1 with a one-line reason in err
 * (errlen bytes, may be 0).
 */
int timeval_parse(
    const char *s, double *sec, bool *is_float, char *err, size_t errlen);

/*
 * Evaluates a plain arithmetic expression ("2*3600+60", "1.5") with
 * Python's int/float rules. Same return convention as timeval_parse.
 */
int timeval_eval(
    const char *expr, double *val, bool *is_float, char *err, size_t errlen);

/*
 * Formats seconds as fail2ban's seconds2str ("1y 3w 4d", "2d 7h 15m",
 * "59m 50s", "0") into buf (n bytes). Returns buf.
 */
char *timeval_format(double sec, char *buf, size_t n);

#endif
