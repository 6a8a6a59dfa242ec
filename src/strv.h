/*
 * A growable vector of owned C strings (lists of regexes, log paths, action
 * lines). The vector owns every string in it.
 */
#ifndef WARDEN_STRV_H
#define WARDEN_STRV_H

#include <stddef.h>

struct strv {
	char **v;   /* v[0..n-1] owned strings; v[n] is NULL when n > 0 */
	size_t n;   /* number of strings */
	size_t cap; /* slots allocated in v */
};

#define STRV_INIT                                                              \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

void strv_init(struct strv *sv);
/* Frees every string and the array. */
void strv_cleanup(struct strv *sv);
/* Appends a copy of s. */
void strv_add(struct strv *sv, const char *s);
/* Appends s itself (takes ownership). */
void strv_take(struct strv *sv, char *s);
/* Appends copies of every string of src. */
void strv_extend(struct strv *sv, const struct strv *src);
/* Returns the index of the first string equal to s, or -1. */
long strv_find(const struct strv *sv, const char *s);
/* Deep copy into an initialised, empty dst. */
void strv_copy(struct strv *dst, const struct strv *src);

#endif
