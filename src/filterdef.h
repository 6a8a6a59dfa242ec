/*
 * A filter as the configuration defines it: plain strings, with the filter
 * language's tags (<HOST>, <F-USER>, <SKIPLINES> ...) still unexpanded and
 * every %(x)s and config <tag> already resolved. conf.c produces it from a
 * filter.d file and a jail's parameters; `warden regex` also builds one from
 * literal regexes on its command line. filter_new() compiles it.
 *
 * Each string remembers the file and line it came from so that a bad regex
 * is reported where the admin can fix it.
 */
#ifndef WARDEN_FILTERDEF_H
#define WARDEN_FILTERDEF_H

#include <stdbool.h>
#include <stddef.h>

#include "strv.h"

struct filterdef_re {
	char *re;   /* owned; one regex, no newline */
	char *file; /* owned; may be NULL (command line) */
	int line;   /* 1-based line of the option in file; 0 when unknown */
};

struct filterdef_re_list {
	struct filterdef_re *v;
	size_t n;
	size_t cap;
};

struct filterdef {
	char *name;                         /* "sshd", a path, or NULL */
	struct filterdef_re prefregex;      /* re == NULL when unset */
	struct filterdef_re_list failregex; /* in order; empty lines dropped */
	struct filterdef_re_list ignoreregex;
	int maxlines;                    /* >= 1 */
	bool maxlines_set;               /* the configuration set maxlines
	                                    (fail2ban's stream has "set ...
	                                    maxlines"), not the default */
	struct filterdef_re datepattern; /* re == NULL: default templates */
	struct strv journalmatch;        /* one entry per non-empty line */
	char *usedns;                    /* "yes", "warn", "no", "raw" */
	char *logtimezone;               /* NULL when unset */
};

void filterdef_init(struct filterdef *fd);
void filterdef_cleanup(struct filterdef *fd);
/* Appends a copy of re (with its origin) to list. */
void filterdef_re_add(
    struct filterdef_re_list *list, const char *re, const char *file, int line);
/* Replaces *dst (freeing what it held) with a copy of re/file/line. */
void filterdef_re_set(
    struct filterdef_re *dst, const char *re, const char *file, int line);

#endif
