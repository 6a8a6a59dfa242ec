/*
 * Aborting allocators (see xmalloc.h). Nothing here logs through log.c, so
 * the module has no dependencies and can be linked into every tool.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static void
oom(size_t n)
{
	fprintf(stderr, "warden: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xmalloc_lines(size_t n)
{
	size_t sz = n > SIZE_MAX - 63 ? 0 : (n + 63) / 64 * 64;
	void *p = sz ? aligned_alloc(64, sz) : NULL;

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	/* glibc's calloc bypasses the thread cache: small blocks come
	 * from malloc (cached) and are cleared here */
	if (nmemb <= 1024 && size <= 1024 && nmemb * size <= 1024) {
		size_t n = nmemb * size > 0 ? nmemb * size : 1;

		p = malloc(n);
		if (p == NULL)
			oom(n);
		/* without this barrier GCC fuses malloc + memset back
		 * into calloc (-O2), which is what we avoid here */
		__asm__ volatile("" : : "r"(p) : "memory");
		memset(p, 0, n);
		return p;
	}
	p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	void *q;

	if (size && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX);
	q = realloc(p, (nmemb && size) ? nmemb * size : 1);
	if (q == NULL)
		oom(nmemb * size);
	return q;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	return xmemdup(s, strnlen(s, n));
}

char *
xmemdup(const void *p, size_t n)
{
	char *q = xmalloc(n + 1);

	if (n)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		oom(0);
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void
xgrow(void *v, size_t *cap, size_t need, size_t elem)
{
	void **pv = v;
	size_t n = *cap ? *cap : 4;

	if (need <= *cap)
		return;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			oom(SIZE_MAX);
		n *= 2;
	}
	*pv = xreallocarray(*pv, n, elem);
	*cap = n;
}
