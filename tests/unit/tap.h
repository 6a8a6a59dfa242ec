/*
 * A minimal TAP producer for unit tests: each check prints "ok N - name" or
 * "not ok N - name" with both sides on failure; done_testing() prints the
 * plan and returns the exit status. tests/run counts the lines.
 */
#ifndef WARDEN_TAP_H
#define WARDEN_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static inline int __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                 \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))        \
			printf("#   got %lld, want %lld\n", g_, w_);           \
	} while (0)

#define is_dbl(got, want, ...)                                                 \
	do {                                                                   \
		double g_ = (got), w_ = (want);                                \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))        \
			printf("#   got %.6f, want %.6f\n", g_, w_);           \
	} while (0)

#define is_str(got, want, ...)                                                 \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		int p_ = (g_ == NULL && w_ == NULL) ||                         \
		    (g_ && w_ && strcmp(g_, w_) == 0);                         \
		if (!tap_ok(p_, __FILE__, __LINE__, __VA_ARGS__))              \
			printf("#   got  '%s'\n#   want '%s'\n",               \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");           \
	} while (0)

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
