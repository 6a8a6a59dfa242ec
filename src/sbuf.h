/*
 * A growable, always NUL-terminated byte string. Used wherever text is
 * built piecewise (regex expansion, reports, JSON). It has no cap of its
 * own: callers that append outside input bound that input first.
 */
#ifndef WARDEN_SBUF_H
#define WARDEN_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *s;    /* NUL-terminated; NULL only before the first append */
	size_t len; /* bytes in s, excluding the NUL */
	size_t cap; /* bytes allocated for s */
};

#define SBUF_INIT                                                              \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

void sbuf_init(struct sbuf *b);
void sbuf_cleanup(struct sbuf *b);
/* Empties b, keeping its memory. */
void sbuf_reset(struct sbuf *b);
void sbuf_add(struct sbuf *b, const void *p, size_t n);
void sbuf_addstr(struct sbuf *b, const char *s);
void sbuf_addch(struct sbuf *b, char c);
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Shortens b to n bytes (n <= len). */
void sbuf_truncate(struct sbuf *b, size_t n);
/* Returns b's string ("" if empty); valid until the next change to b. */
const char *sbuf_str(const struct sbuf *b);
/* Returns the string (new, caller frees) and leaves b empty. */
char *sbuf_detach(struct sbuf *b);

#endif
