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

#include <stdalign.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* bytes in data */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct arena_chunk *head; /* chunks in use order */
	struct arena_chunk *cur;  /* chunk being filled */
	size_t used;              /* bytes allocated since the last reset */
	size_t chunk;             /* size of an ordinary chunk */
};

void arena_init(struct arena *a);
/* An arena whose ordinary chunks hold chunk bytes (small arenas). */
void arena_init_chunk(struct arena *a, size_t chunk);
/* True when p points into memory a allocated. */
bool arena_owns(const struct arena *a, const void *p);
/*
 * Hands every chunk of a to give(ctx, chunk) (the receiver frees them
 * with free(), e.g. once the results pointing into them are dead) and
 * leaves a empty, as after arena_init_chunk() with its chunk size.
 */
void arena_release(
    struct arena *a, void (*give)(void *ctx, void *chunk), void *ctx);
void arena_cleanup(struct arena *a);
/* Forgets every allocation, keeping the memory of ordinary chunks. */
void arena_reset(struct arena *a);
/* arena_alloc() when the current chunk is full. */
void *arena_alloc_slow(struct arena *a, size_t n);

/* Returns n bytes aligned for any type, valid until the next reset. The
 * common case (room in the current chunk) is inline: the filter takes a
 * few small pieces on every matching line. */
static inline void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->cur;
	size_t need =
	    (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);

	if (c && need && c->size - c->used >= need) {
		void *r = c->data + c->used;

		c->used += need;
		a->used += need;
		return r;
	}
	return arena_alloc_slow(a, n);
}
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* ---- interned keys ---- */

/*
 * Every dict key is interned in its filter's table, so keys compare by
 * pointer. The table owns the strings; it lives as long as the filter.
 */
struct intern {
	char **v;
	size_t n;
	size_t cap;
};

/* Returns the interned copy of s (added when new). */
const char *intern_str(struct intern *t, const char *s);
void intern_cleanup(struct intern *t);

/* ---- the ordered dict ---- */

/*
 * A growable array of entries in insertion order; keys unique and
 * interned (compared by pointer). Lives in an arena (fdict_* functions
 * take it) or, packed, in one heap block (fdict_pack). Values' strings are
 * never modified in place.
 */
struct fdict {
	struct fentry *v;
	size_t n;
	size_t cap;
};

struct fval *fdict_get(const struct fdict *d, const char *key);
/* Sets the interned key to val, keeping the key's position. */
void fdict_set(
    struct arena *a, struct fdict *d, const char *key, const struct fval *val);
/* Removes key; returns true when it was there, copying its value to *out
 * (may be NULL). */
bool fdict_pop(struct fdict *d, const char *key, struct fval *out);
void fdict_copy(struct arena *a, struct fdict *dst, const struct fdict *src);
/* Python truthiness: None, "", 0 and empty collections are false. */
bool fval_truthy(const struct fval *v);

/*
 * Makes v self-contained in a: every string and item array of v that a
 * does not own is copied into a (recursively); what a owns is shared, as
 * it is never modified in place.
 */
void fval_persist(struct arena *a, struct fval *v);

/*
 * Deep copy of d into one new heap block (caller frees with free()); the
 * result's entries are returned through out and n. Returns the block.
 */
void *fdict_pack(const struct fdict *d, const struct fentry **out, size_t *n);
/* The entry list of a packed dict into the arena; strings are shared
 * with the block, which must outlive the copy. */
void fdict_unpack(
    struct arena *a, struct fdict *dst, const struct fentry *v, size_t n);

/* ---- compiled regexes ---- */

struct fre_name {
	const char *name; /* Python group name, interned */
	uint32_t num;     /* PCRE2 group number */
};

struct fre_alt {
	uint32_t src;       /* index into names of the alt_/tuple_ group */
	const char *target; /* the group it fills ("user", "fid"), interned */
};

enum { FRE_JIT_TODO, FRE_JIT_OK, FRE_JIT_NO };

#define FRE_LAZY_LITS 4 /* literals fre_lazy() may rely on */

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
	uint8_t *need;      /* FILTER_LEAN: need[i] when names[i] decides
	                       anything (its value is kept); NULL: all */
	uint32_t *keep;     /* FILTER_LEAN: the group numbers of the kept
	                       groups that fill a slot, in order; keep[nkeep]
	                       is the mask of their slots (see lean_keep()) */
	uint8_t *keep_slot; /* FILTER_LEAN: the slot group keep[k] fills */
	size_t nkeep;
	uint32_t *skip; /* group numbers of skiplines0, skiplines1 ... */
	size_t nskip;
	uint32_t ncaptures; /* capture count */
	bool has_id_group;  /* fid, ip4, ip6, dns or mlfid present */
	/*
	 * Variants of code with the same results on the subjects they are
	 * used for, NULL when the pattern does not allow them (see
	 * fre_match): var[FRE_ASCII] is compiled without UTF/UCP and used
	 * for ASCII subjects; var[FRE_TAIL] (and var[FRE_TAIL | FRE_ASCII])
	 * have a final ".+$" or ".*$" replaced by a look-ahead of one
	 * character, used for subjects whose only newline is the last byte;
	 * var[FRE_PRUNE | k] is var[k] with the body of one capture group
	 * replaced by a pattern that never matches, used for subjects
	 * without plit (see fre_prune()); var[FRE_LAZY | k] is var[k] with
	 * the greedy repeats fre_lazy() finds made lazy, used for subjects
	 * that hold none of lazy_lit[] twice. var[0] is code itself.
	 */
	pcre2_code *var[16];
	/* per variant: FRE_JIT_TODO until its first match (fre_match) */
	unsigned char jit_state[16];
	uint32_t tail_grp; /* the group a rewritten tail closes, 0 for none */
	char plit[16];     /* var[FRE_PRUNE]: used when a subject lacks this */
	size_t nplit;      /* 0: no var[FRE_PRUNE] */
	/* var[FRE_LAZY]: used when no subject holds one of these twice */
	char lazy_lit[FRE_LAZY_LITS][16];
	uint8_t lazy_len[FRE_LAZY_LITS];
	size_t nlazy; /* 0: no var[FRE_LAZY] */
	/* The screen (filter_screen.c), checks that are cheaper than a
	 * call into PCRE2 and never reject a subject the regex matches. */
	uint32_t minlen; /* no match in a shorter subject */
	bool has_first;  /* anchored: subject[0] must be in first[] */
	uint8_t first[32];
	char lit[32]; /* anchored: the subject must start with lit[0..nlit) */
	size_t nlit;
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
 * FRE_FAIL. Group names are interned in keys. Returns 0 or -1 (re is then
 * cleaned up).
 */
int fre_compile(struct fre *re, const char *src, const char *file, int line,
    const char *usedns, bool multiline, enum fre_kind kind,
    const struct fre *pref, struct intern *keys, struct diags *d);
void fre_cleanup(struct fre *re);

/*
 * Python re syntax -> PCRE2 syntax. Appends to out (empty on entry). When
 * omap is not NULL, *omap receives a new array (free()) mapping each byte
 * offset of out, and out->len, to the offset in py it came from. On error
 * returns -1 with a message in *err (new string) and the offending byte
 * offset of py in *erroff.
 */
int fre_translate(const char *py, struct sbuf *out, size_t **omap, char **err,
    size_t *erroff);

/* fail2ban's rewrite of ((?i)...) and (?:(?i)...) to (?i:...). */
void fre_glob2loc(const char *in, struct sbuf *out);

/*
 * Builds re's screen (filter_screen.c) from its compiled code and its
 * PCRE2 pattern text (compiled with options opts): the minimum subject
 * length, and for a pattern anchored by a leading '^' the bytes a match
 * can start with. Leaves the screen off where PCRE2 cannot tell.
 */
void fre_screen_build(struct fre *re, const char *pcre, uint32_t opts);

enum { FRE_ASCII = 1, FRE_TAIL = 2, FRE_PRUNE = 4, FRE_LAZY = 8 };

/* What the caller of fre_match() knows about the subject. */
enum fre_subj {
	FRE_SUBJ_ASCII = 1 << 0,    /* no byte >= 0x80 */
	FRE_SUBJ_ONE_NL = 1 << 1,   /* its only '\n' is its last byte */
	FRE_SUBJ_NL_KNOWN = 1 << 2, /* FRE_SUBJ_ONE_NL is set or known false
	                               (else fre_match() looks) */
};

/*
 * Searches re in s[0..len) from offset 0 with the fastest variant that
 * gives code's results; subj is a set of enum fre_subj. Returns
 * pcre2_match()'s result; on a match md's ovector is what code would
 * have produced.
 */
int fre_match(const struct fre *re, const char *s, size_t len, unsigned subj,
    pcre2_match_data *md, pcre2_match_context *mctx);

/*
 * The tail of a PCRE2 pattern that fre_compile() rewrites: the offset of
 * the '.' of a final ".+$" or ".*$" (at top level or ending a capture
 * group that closes just before the '$', with no alternation around it),
 * plus (true for ".+"), and the number of that group (0 for none).
 * Returns false when the pattern has no such tail. Exposed for tests.
 */
bool fre_tail(const char *pcre, size_t *dot, bool *plus, uint32_t *grp);
/* The offset just past the character class that opens at p[at] == '['
 * (a ']' first, or after '^', is a member; escapes are skipped), or the
 * string's end when the class is not closed. *posix (if not NULL) tells
 * whether the class holds a '[', as a POSIX class like [:alpha:] does. */
size_t fre_class_end(const char *p, size_t at, bool *posix);
/*
 * A capture group of a PCRE2 pattern that only a subject holding a given
 * literal can have set in a match: a group G that closes before a
 * conditional "(?(G)LIT..." at the top level of a pattern without
 * top-level alternation, LIT being a run of ASCII characters other than
 * letters and metacharacters. Every match passes the conditional, with G
 * set if any path set it (no look-around around G; no atomic group,
 * possessive quantifier, verb or recursion anywhere, which could make a
 * failing path decide another's fate), and then LIT follows. So on a
 * subject without LIT every path that sets G fails, and the pattern with
 * G's body replaced by "(?!)" finds the same first match with the same
 * groups. Gives G's body p[*body, *end) and LIT (at most 15 bytes, NUL
 * terminated) in lit; false when the pattern has no such group. Exposed
 * for tests.
 */
bool fre_prune(const char *pcre, size_t *body, size_t *end, char lit[16]);
/*
 * The greedy repeats of a PCRE2 pattern (compiled with opts) that may be
 * made lazy for subjects holding each of their literals at most once: a
 * repeat "C+" or "C*" of one character item C (a class, ".", \s \S \w
 * \W \d \D), followed, past the ends of groups that are neither
 * look-arounds nor atomic nor repeated, by a literal L of at least two
 * characters. Greedy, the repeat tries its lengths longest first; lazy,
 * shortest first. Either way the match goes on only at a length after
 * which L follows, and on a subject with at most one L there is at most
 * one such length, so both find the same first match with the same
 * groups (only the steps PCRE2 counts against its limits differ). No
 * caseless or extended matching, inline flags, verbs, recursion or
 * subroutine calls. Writes the pattern with "?" after those repeats to
 * out and the distinct literals to lits (NUL terminated); returns their
 * count, 0 when there is none (or more than FRE_LAZY_LITS). Exposed for
 * tests.
 */
size_t fre_lazy(const char *pcre, uint32_t opts, struct sbuf *out,
    char lits[FRE_LAZY_LITS][16]);
/* True when the pattern matches ASCII subjects alike with or without
 * UTF/UCP (ASCII text, no escape of a code point >= 0x80). */
bool fre_ascii_safe(const char *pcre);

/* inet_ntop(AF_INET6) exactly as glibc writes it (zero-run compression,
 * embedded IPv4 for mapped and compatible addresses), without stdio; out
 * holds at least INET6_ADDRSTRLEN bytes. Exposed for tests. */
void filter_fmt_ip6(const uint8_t *b, char *out);

/* inet_pton(AF_INET) as glibc reads it (four decimal octets <= 255, no
 * leading zeros, nothing else). Returns 0 or -1. Exposed for tests. */
int filter_parse_ip4(const char *s, uint8_t *out);

/* inet_pton(AF_INET6) as glibc reads it (hex groups of at most four
 * digits, one "::", a final dotted IPv4 part), without the library call
 * on the hot path. Returns 0 or -1. Exposed for tests. */
int filter_parse_ip6(const char *s, uint8_t *out);

/* Group number lookup by Python name; 0 when absent. */
uint32_t fre_group(const struct fre *re, const char *name);

#endif
