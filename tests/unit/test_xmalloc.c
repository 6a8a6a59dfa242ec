/*
 * Unit tests of the aborting allocators: xcalloc clears what it returns
 * (also a recycled block), and takes a small block from malloc's thread
 * cache (glibc's calloc bypasses it; GCC turns malloc + memset back into
 * calloc unless told not to: wardend's flood made ~200,000 such calls).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xmalloc.h"

#if defined(__SANITIZE_ADDRESS__)
static const int sanitized = 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
static const int sanitized = 1;
#else
static const int sanitized = 0;
#endif
#else
static const int sanitized = 0;
#endif

static int
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

int
main(void)
{
	static const size_t sizes[] = {1, 24, 304, 1024, 1025, 70000};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *p = xmalloc(n), *q;

		memset(p, 0xAB, n);
		free(p);
		q = xcalloc(1, n);
		ok(all_zero(q, n), "xcalloc(1, %zu): cleared", n);
		free(q);
		q = xcalloc(n, 1);
		ok(all_zero(q, n), "xcalloc(%zu, 1): cleared", n);
		free(q);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], full = (n + 63) / 64 * 64;
		unsigned char *a = xmalloc_lines(n), *b = xmalloc_lines(n);

		/* the whole of its last cache line is its own (ASan checks
		 * the writes): no other block starts in it */
		memset(a, 1, full);
		memset(b, 2, full);
		ok((uintptr_t)a % 64 == 0 && (uintptr_t)b % 64 == 0 &&
		        (a + full <= b || b + full <= a) && a[full - 1] == 1,
		    "xmalloc_lines(%zu): cache lines of its own", n);
		free(a);
		free(b);
	}
	{
		unsigned char *q = xcalloc(0, 8);

		ok(q != NULL, "xcalloc(0, 8): a block");
		free(q);
	}
	if (!sanitized) {
		/* glibc hands the block just freed back first (tcache):
		 * calloc would have taken another one */
		void *p = malloc(304), *q;

		free(p);
		q = xcalloc(1, 304);
		ok(q == p, "xcalloc(1, 304): from the thread cache");
		free(q);
	} else {
		ok(1, "xcalloc from the thread cache: skipped under ASan");
	}
	return done_testing();
}
