/*
 * Allocation that never returns NULL: on exhaustion the process prints a
 * message and aborts. This is safe only because every structure that grows
 * from outside input (log lines, socket clients) has a configured cap, so
 * memory use is bounded by configuration, not by attackers.
 */
#ifndef WARDEN_XMALLOC_H
#define WARDEN_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Each returns new memory the caller frees with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
/* Like realloc, with nmemb * size checked for overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
/* n bytes (rounded up to a multiple of 64) at a 64-byte boundary, so
 * that no other allocation shares their cache lines: for what one
 * thread writes while another thread works beside it. */
void *xmalloc_lines(size_t n);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and NUL-terminates. */
char *xstrndup(const char *s, size_t n);
/* Copies exactly n bytes and appends a NUL. */
char *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/*
 * Grow *v (an array of *cap elements of size elem) so that it can hold at
 * least need elements. Doubles, so appends are amortised O(1).
 */
void xgrow(void *v, size_t *cap, size_t need, size_t elem);

#endif
