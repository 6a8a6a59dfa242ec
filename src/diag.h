/*
 * Diagnostics collected by parsers and loaders. Parsers never print or log:
 * they append here with the file and line they know, keep going, and the
 * caller (warden check, warden regex, the daemon's reload, the control
 * socket) decides how to show them.
 */
#ifndef WARDEN_DIAG_H
#define WARDEN_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum diag_level {
	DIAG_ERROR,
	DIAG_WARNING,
	DIAG_NOTE,
};

struct diag {
	enum diag_level level;
	char *file; /* owned; NULL when the problem has no file */
	int line;   /* 1-based; 0 when unknown */
	char *msg;  /* owned, one line, no trailing newline */
};

struct diags {
	struct diag *v;
	size_t n;
	size_t cap;
	size_t nerrors; /* entries with level DIAG_ERROR */
};

#define DIAGS_INIT                                                             \
	{                                                                      \
		NULL, 0, 0, 0                                                  \
	}

void diags_init(struct diags *d);
void diags_cleanup(struct diags *d);
/* Appends one diagnostic; file is copied and may be NULL. */
void diag_add(struct diags *d, enum diag_level level, const char *file,
    int line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_vadd(struct diags *d, enum diag_level level, const char *file,
    int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
/* Moves every entry of src to the end of dst; src is left empty. */
void diags_move(struct diags *dst, struct diags *src);
/*
 * Writes one line per entry: "file:line: message", "file:line: warning:
 * message" (or without "file:line: " when unknown).
 */
void diags_print(const struct diags *d, FILE *fp);
/* Formats one entry the same way into a new string. */
char *diag_format(const struct diag *dg);

#endif
