/*
 * Internals shared by the filter engine's files (filter.c, filter_re.c,
 * filter_val.c). Not part of the engine's contract: use filter.h.
 *
 * filter_re.c turns one configured regex into a compiled struct fre
 * (fail2ban's tag expansion, its global-flag rewrite, the Python re ->
 * PCRE2 translation, JIT). filter_val.c holds the per-line arena and the
 * ordered dict of group values (Python's dict semantics).
 */
#ifndef WARDEN_FILTER_INT_H
#define WARDEN_FILTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "filter.h"
#include "sbuf.h"

/* ---- arena: bump allocation for one line's results ---- */

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* chunks in use order */
	struct arena_chunk *cur;  /* chunk being filled */
	size_t used;              /* bytes allocated since the last reset */
};

void arena_init(struct arena *a);
void arena_cleanup(struct arena *a);
/* Forgets every allocation, keeping the memory of ordinary chunks. */
void arena_reset(struct arena *a);
/* Returns n bytes aligned for any type, valid until the next reset. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* ---- the ordered dict ---- */

/*
 * A growable array of entries in insertion order; keys unique. Lives in an
 * arena (fdict_* functions take it) or, packed, in one heap block
 * (fdict_pack). Values' strings are never modified in place.
 */
struct fdict {
	struct fentry *v;
	size_t n;
	size_t cap;
};

struct fval *fdict_get(const struct fdict *d, const char *key);
/* Sets key (copied into a when new) to val, keeping the key's position. */
void fdict_set(
    struct arena *a, struct fdict *d, const char *key, const struct fval *val);
/* Removes key; returns true when it was there, copying its value to *out
 * (may be NULL). */
bool fdict_pop(struct fdict *d, const char *key, struct fval *out);
void fdict_copy(struct arena *a, struct fdict *dst, const struct fdict *src);
/* Python truthiness: None, "", 0 and empty collections are false. */
bool fval_truthy(const struct fval *v);

/*
 * Deep copy of d into one new heap block (caller frees with free()); the
 * result's entries are returned through out and n. Returns the block.
 */
void *fdict_pack(const struct fdict *d, const struct fentry **out, size_t *n);
/* Deep copy of a packed (or any) entry list into the arena. */
void fdict_unpack(
    struct arena *a, struct fdict *dst, const struct fentry *v, size_t n);

/* ---- compiled regexes ---- */

struct fre_name {
	char *name;   /* Python group name */
	uint32_t num; /* PCRE2 group number */
};

struct fre_alt {
	uint32_t src; /* index into names of the alt_/tuple_ group */
	char *target; /* the group it fills ("user", "fid") */
};

struct fre {
	char *src;      /* as configured (with tags) */
	char *expanded; /* after tag expansion and flag rewrite */
	char *file;     /* origin, may be NULL */
	int line;       /* origin line, 0 when unknown */
	pcre2_code *code;
	struct fre_name *names; /* named groups in group-number order */
	size_t nnames;
	struct fre_alt *alts; /* sorted as fail2ban sorts (name, target) */
	size_t nalts;
	struct fre_alt *tuples;
	size_t ntuples;
	uint32_t *skip; /* group numbers of skiplines0, skiplines1 ... */
	size_t nskip;
	uint32_t ncaptures; /* capture count */
	bool has_id_group;  /* fid, ip4, ip6, dns or mlfid present */
	/* The screen: every match contains one of these literals (case as
	 * written); nlits == 0 means no screen. */
	char **lits;
	size_t *litlens;
	size_t nlits;
};

enum fre_kind {
	FRE_PREF,
	FRE_FAIL,
	FRE_IGNORE,
};

/*
 * Compiles one regex: expansion per usedns, translation, PCRE2 compile with
 * MULTILINE when multiline, JIT. Errors go to d with the regex's file and
 * line. pref (may be NULL) is consulted for the failure-id group check of
 * FRE_FAIL. Returns 0 or -1 (re is then cleaned up).
 */
int fre_compile(struct fre *re, const char *src, const char *file, int line,
    const char *usedns, bool multiline, enum fre_kind kind,
    const struct fre *pref, struct diags *d);
void fre_cleanup(struct fre *re);

/*
 * Python re syntax -> PCRE2 syntax. Appends to out. On error returns -1
 * with a message in *err (new string) and the offending byte offset in
 * *erroff.
 */
int fre_translate(const char *py, struct sbuf *out, char **err, size_t *erroff);

/* fail2ban's rewrite of ((?i)...) and (?:(?i)...) to (?i:...). */
void fre_glob2loc(const char *in, struct sbuf *out);

/*
 * Builds re's literal screen from its PCRE2 pattern (filter_screen.c):
 * literals of which every match must contain one, so a line without any
 * of them skips the regex. Leaves nlits 0 when no safe screen exists.
 */
void fre_screen_build(struct fre *re, const char *pcre);

/* Group number lookup by Python name; 0 when absent. */
uint32_t fre_group(const struct fre *re, const char *name);

#endif
