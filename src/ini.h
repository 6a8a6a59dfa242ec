/*
 * The INI dialect of fail2ban's configuration files: Python 3's
 * configparser in strict mode with fail2ban's settings (spec 1.2). One
 * call parses one file into sections and options, remembering the line of
 * every option and of every line of a multi-line value. It knows nothing
 * of layering, [INCLUDES] or interpolation (conf.c does those).
 *
 * Rules: "[name]" headers (case-sensitive, text up to the last ']'),
 * "key = value" or "key: value" (key lower-cased, first delimiter wins),
 * full-line comments starting with '#' or ';' (after optional indentation,
 * also between the lines of a value, where they are dropped), inline
 * comments only as ';' after whitespace, continuation lines indented
 * deeper than their option, empty lines kept inside values and trailing
 * ones dropped, "[DEFAULT]" sections merged into the defaults. A
 * duplicate section or option within the file is an error. Input must be
 * valid UTF-8 without NUL bytes; lines end with \n, \r\n or \r.
 */
#ifndef WARDEN_INI_H
#define WARDEN_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

struct ini_opt {
	char *key;     /* owned; lower-cased (ASCII) */
	char *value;   /* owned; lines joined with '\n', each stripped */
	int line;      /* 1-based line of "key = ..." */
	int *lines;    /* owned; lines[i]: source line of the value's i-th
	                  '\n'-separated line */
	size_t nlines; /* >= 1 */
};

struct ini_section {
	char *name; /* owned; "DEFAULT" for the defaults */
	int line;   /* line of its first header; 0 for absent defaults */
	struct ini_opt *opts; /* in order of first appearance */
	size_t nopts;
	size_t cap;
};

struct ini_file {
	char *path;                  /* owned; as given */
	struct ini_section defaults; /* every [DEFAULT] section merged */
	struct ini_section *secs;    /* other sections, in order */
	size_t nsecs;
	size_t cap;
	char **bad; /* names of sections with syntax errors (owned) */
	size_t nbad;
	char *pyerr; /* the exception text Python's configparser would
	                raise for this file, or NULL (owned) */
};

enum ini_status {
	INI_OK = 0,
	/* Syntax errors (duplicates, no section header, a line that is
	 * neither header nor option): fail2ban refuses such a file. The
	 * file is still returned with what could be parsed; errors in d. */
	INI_SYNTAX = 1,
	/* Cannot be opened or read (missing, a directory, no permission):
	 * configparser skips such files silently. Nothing in d. */
	INI_UNREADABLE = -1,
	/* Not valid UTF-8, contains NUL, or too large: skipped with an
	 * error in d (fail2ban logs decode errors and skips the file). */
	INI_BADFILE = -2,
};

/*
 * Parses len bytes of buf as the contents of path (used in messages).
 * Returns INI_OK or INI_SYNTAX with a new file in *out, or INI_BADFILE
 * with *out = NULL. Errors name path and line. Lines longer than
 * max_line bytes (0: no limit) are errors and skipped.
 */
enum ini_status ini_parse(const char *path, const char *buf, size_t len,
    size_t max_line, struct ini_file **out, struct diags *d);

/*
 * Reads and parses the file at path, refusing files over max_size bytes
 * (INI_BADFILE). Blocks on file I/O.
 */
enum ini_status ini_load(const char *path, size_t max_size, size_t max_line,
    struct ini_file **out, struct diags *d);

void ini_free(struct ini_file *f);

/* The section called name (DEFAULT included), or NULL. */
const struct ini_section *ini_find_section(
    const struct ini_file *f, const char *name);
/* The option called key in s, or NULL. */
const struct ini_opt *ini_find_opt(
    const struct ini_section *s, const char *key);

/*
 * Python's str.isspace() on the UTF-8 character at p (p < end): returns
 * its length in bytes when it is whitespace, else 0.
 */
size_t ini_space_len(const char *p, const char *end);

/*
 * Python's str.strip(): sets *b and *e to the first and one past the last
 * non-whitespace byte of [s, s + n).
 */
void ini_strip(const char *s, size_t n, const char **b, const char **e);

/* True when the n bytes at s are valid UTF-8 (as Python's strict codec). */
bool ini_utf8_valid(const char *s, size_t n);

#endif
