/*
 * fail2ban-client's output, byte for byte: turns a command's argv and the
 * daemon's JSON result (ctl.h) into the text fail2ban-client prints for
 * the same command and the same Python result (status trees with TABs and
 * `|- glyphs, "Server replied: pong", the `get` replies, Python-repr lists
 * for `banned`, "Sorry but the jail 'x' does not exist", ...). JSON stands
 * for the Python values: arrays for lists and tuples, objects for dicts
 * (in order), null for None. Pure: no I/O.
 */
#ifndef WARDEN_BEAUTIFY_H
#define WARDEN_BEAUTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "sbuf.h"

/*
 * The text fail2ban-client prints for a successful reply to argv, without
 * the final newline (the caller prints one, as Python's print does).
 * When the result does not have the shape the command's layout needs,
 * *shape_error is set and the text is what fail2ban prints then (the
 * result's repr, twice). Returns a new string.
 */
char *beautify_result(
    int argc, char *const *argv, const json_t *result, bool *shape_error);

/*
 * The text fail2ban-client prints on stdout for an error reply: type is
 * error.type (CTL_ERR_* in ctl.h), message error.message. Returns a new
 * string without the final newline.
 */
char *beautify_error(const char *type, const char *message);

/* Python's repr() / str() of the value v stands for. New strings. */
char *beautify_pyrepr(const json_t *v);
char *beautify_pystr(const json_t *v);

/* Appends Python's repr() of the UTF-8 string s[0..n) to b. */
void beautify_repr_str(struct sbuf *b, const char *s, size_t n);

/* Appends Python's repr() of the float d to b ("600.0", "1e-05"). */
void beautify_repr_float(struct sbuf *b, double d);

/* Python logging's level name for a numeric level, fail2ban's names
 * included ("INFO", "NOTICE", "HEAVY", "#15-Lev.", "Level 60"). */
void beautify_level_name(struct sbuf *b, long long level);

#endif
