/*
 * The line pipeline of the filter engine (see filter.h): date cut-out, the
 * multi-line buffer, ignoreregex, prefregex, the failregex loop, the mlfid
 * cache and failure-id resolution, ported step by step from fail2ban
 * 1.0.2's Filter.processLine, findFailure and _mergeFailure so that the
 * same lines give the same failures. Regex compilation is in filter_re.c,
 * values and the arena in filter_val.c.
 *
 * Memory: everything a line produces lives in the arena, reset when the
 * next line starts; lines in the multi-line buffer are recycled; the mlfid
 * cache holds at most FILTER_MLFID_MAX packed dicts of bounded size.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "datedetect.h"
#include "filter_int.h"
#include "xmalloc.h"

#define DEFAULT_MATCH_LIMIT 1000000
#define DEFAULT_DEPTH_LIMIT 100000
#define JIT_STACK_MAX       (1024 * 1024)
#define MLF_MATCHES_MAX     64           /* lines kept per mlfid entry */
#define MLF_BYTES_MAX       (256 * 1024) /* bytes of matched lines per entry */
#define MLF_USERS_MAX       64           /* names in an entry's "users" set */
#define MLF_CHUNK           2048         /* arena chunk of a cache entry */
#define MLF_SLACK           4096         /* garbage an entry may hold */

/* A fact tlist_join() adds to enum fre_subj's: buf holds no NUL. */
#define SUBJ_NO_NUL (1u << 8)

/* fail2ban's tuple line: (text before the date, date, text after). */
struct tline {
	struct tline *next; /* in f->live or f->spare */
	bool mark;
	bool ascii; /* pre and post hold no byte >= 0x80 */
	bool nl;    /* pre or post may hold a '\n' */
	bool nul;   /* pre or post may hold a NUL */
	char *s;    /* pre, date and post, contiguous, NUL-terminated */
	size_t cap;
	size_t pre, date, post; /* lengths */
};

struct tlist {
	struct tline **v;
	size_t n;
	size_t cap;
};

#define MLF_BUCKETS 128 /* power of two, > FILTER_MLFID_MAX */

/*
 * FILTER_LEAN keeps only the dict keys that decide a failure, and nothing
 * is printed from them, so their order does not matter: a dict is then a
 * slot per such key. None and absent are alike for everything these keys
 * decide (every read treats None as missing, merges skip it), so a slot
 * holds a value or nothing.
 */
enum lkey {
	LK_MLFID,
	LK_NOFAIL,
	LK_MLFGAINED,
	LK_MLFFORGET,
	LK_MLFPENDING,
	LK_USERS,
	LK_USER,
	LK_FID,
	LK_IP4,
	LK_IP6,
	LK_DNS,
	LK_CIDR,
	LK_CONTENT,
	LK_N
};

struct ldict {
	uint32_t has;     /* bit k: v[k] holds a value (not None) */
	uint32_t defined; /* bit k: the regex that made it names key k, so
	                     that fail.update() overwrites it (None too) */
	struct fval v[LK_N];
};

#define LBIT(k) (1u << (k))

/* One mlfid cache entry, in a fixed slot; lists link slots by index. */
struct mlf_entry {
	char *key;        /* NULL when the slot is free */
	uint64_t hash;    /* hash_str(key) */
	double expires;   /* epoch seconds */
	struct arena mem; /* v's strings and item arrays; what it holds is
	                     never changed, a value that changes gets new
	                     memory (compacted when mostly garbage) */
	struct fentry *v; /* the cached dict, in insertion order */
	size_t n, cap;
	struct ldict ld; /* the cached dict under FILTER_LEAN */
	size_t live;     /* bytes in mem after the last compaction */
	int prev, next;  /* FIFO order (insertion), -1 at the ends; next
	                    also links free slots */
	int chain;       /* next slot in the same hash bucket, -1 */
};

/* What a line keeps of its searches, inline: the second stage reads a
 * few cache lines per line. Searches that do not fit are its own. */
#define PRE_RES   8          /* failregex searches */
#define PRE_OV    128        /* ovector entries of their matches */
#define PRE_UNSET UINT32_MAX /* PCRE2_UNSET in pre->ov */
/* room after an ovector for ov_narrow() and ov_widen(), which copy
 * whole blocks of pairs */
#define PRE_OV_SLACK 6

struct filter {
	struct filter_config cfg;
	char *usedns;
	bool raw; /* ids stay raw strings (usedns raw or FILTER_RAW_HOSTS) */
	int maxlines;
	bool has_pref;
	struct fre pref;
	struct fre *fail;
	size_t nfail;
	struct fre *ign;
	size_t nign;
	struct datedetect *dd;

	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;

	struct arena ar;
	struct tline *live;  /* tuple lines in use */
	struct tline *spare; /* recycled */
	struct tlist linebuf;
	struct tlist orgbuf;
	struct tlist matched; /* of the current failregex search */
	struct tlist unmatched;
	struct sbuf buf; /* the regex subject (when not in place) */
	const char *sv;  /* the regex subject: in buf, or in place in the
	                    line worked out ahead (find_failure()) */
	size_t svlen;
	bool sv_line;         /* sv is in place in the line */
	struct tline view[2]; /* tline_view()'s: the line, its content */
	bool buf_valid;    /* false: rebuild from linebuf (fail2ban's None) */
	unsigned buf_subj; /* enum fre_subj facts about buf */
	bool line_ascii;   /* the current line holds no byte >= 0x80 */
	bool line_nl;      /* the current line may hold a '\n' */
	bool line_nul;     /* the current line may hold a NUL */
	struct sbuf ibuf;  /* ignoreregex subject in multi-line mode */
	struct sbuf tmp;
	struct sbuf utf8; /* a line with invalid UTF-8, repaired */

	struct sbuf last_text; /* fail2ban's __lastTimeText */
	bool has_last_date;
	bool last_date_int; /* last_date is an int in fail2ban */
	bool date_int;      /* the current line's date is (date_match) */
	double last_date;
	bool in_operation;
	bool pref_matched;
	struct fdict pref_groups; /* of this line's prefregex match */
	uint32_t content_grp;     /* FILTER_LEAN: the prefregex's content group,
	                             read from the match (0: from its dict) */
	struct intern keys;       /* every dict key */
	struct {
		const char *mlfid, *nofail, *mlfgained, *mlfforget, *mlfpending,
		    *users, *user, *matches, *nofail_matches, *fid, *ip4, *ip6,
		    *dns, *cidr, *ip, *content;
	} k;                     /* interned keys the pipeline uses */
	unsigned long *ign_hits; /* per ignoreregex */
	/* Failregexes worth trying by the subject's first byte: bit i of
	 * words cand[c * ncandw ...] is set when failregex i's screen admits
	 * first byte c (the subject is never empty: it ends in '\n'). */
	uint64_t *cand;
	size_t ncandw;

	struct failure *res;
	size_t nres;
	size_t capres;
	bool line_ignored;
	unsigned warn;

	struct mlf_entry *cache; /* FILTER_MLFID_MAX slots, allocated at the
	                            first entry (most filters have none) */
	size_t ncache;
	int mlf_head, mlf_tail; /* oldest and newest entry, -1 */
	int mlf_free;           /* free slots */
	int mlf_bucket[MLF_BUCKETS];
	void **grave; /* cache blocks to free when the next line starts */
	size_t ngrave;
	size_t capgrave;

	struct filter_stats stats;
	const struct filter_pre *pre; /* the line worked out ahead, while
	                                 filter_process_pre() runs */
	const PCRE2_SIZE *ov; /* the last match's ovector (md's or pre's) */
	uint32_t nov;         /* its pairs */
	PCRE2_SIZE *md_ov;    /* md's ovector */
	uint32_t md_nov;
	/* the prefregex's and the last failregex's ovector worked out
	 * ahead, widened from the line's (re_search()) */
	PCRE2_SIZE pre_ov[2][PRE_OV + PRE_OV_SLACK];
};

/*
 * One search worked out ahead. rc is fre_match()'s result: a count of
 * pairs (at most PRE_OV / 2) or an error code (PCRE2's are all above
 * -100); re_search() only tells a match, no match and any other error
 * apart.
 */
struct pre_res {
	uint8_t idx; /* the failregex */
	int8_t rc;
	uint16_t ov; /* where its ovector starts in pre->ov */
};

/*
 * A line worked out ahead (see filter.h). The reader writes it and the
 * main thread reads it on another core: what every line hands over is
 * in its first two cache lines (64 bytes each), then the ovectors of
 * its matches as 32-bit offsets (a searched subject is shorter than
 * INT32_MAX: prep_searches() checks), then what only the first stage
 * uses.
 */
struct filter_pre {
	const char *line; /* clipped, repaired (the caller's or utf8) */
	size_t len;
	bool truncated; /* cut at max_line_len */
	bool ascii, nl, nul;
	bool has_s1; /* the prefregex was searched on s1 */
	bool has_s2; /* failregexes were searched on s2 */
	uint8_t nres;
	int8_t drc; /* datedetect_match()'s result, 0 without a detector */
	struct date_match m;
	/*
	 * The subjects searched, described by the line (which the second
	 * stage reads anyway: comparing with it costs no cache misses): s1
	 * is the line without line[cut0, cut0 + cut) plus "\n", s2 is
	 * s1[s2off, s2off + s2len) plus "\n".
	 */
	uint32_t cut0, cut;
	uint32_t s2off, s2len;
	uint64_t known; /* bit i: res holds failregex i's search (i < 64) */
	uint16_t nov;
	/* every failregex below it that s2's first byte admits is in res,
	 * without a match or an error (pre_skip()) */
	uint8_t skip;
	struct pre_res pref;
	struct pre_res res[PRE_RES];
	/* ovectors of the matches (ov_narrow()) */
	uint32_t ov[PRE_OV + PRE_OV_SLACK];
	struct sbuf utf8; /* the repaired line */
};

/* ---- tuple lines ---- */

/* A tuple line; its ascii and nl flags are f->line_ascii, f->line_nl. */
static struct tline *
tline_new(struct filter *f, const char *pre, size_t npre, const char *date,
    size_t ndate, const char *post, size_t npost)
{
	struct tline *t = f->spare;
	size_t need = npre + ndate + npost + 1;

	if (t)
		f->spare = t->next;
	else
		t = xcalloc(1, sizeof(*t));
	if (t->cap < need) {
		free(t->s);
		t->cap = need < 128 ? 128 : need;
		t->s = xmalloc(t->cap);
	}
	if (npre)
		memcpy(t->s, pre, npre);
	if (ndate)
		memcpy(t->s + npre, date, ndate);
	if (npost)
		memcpy(t->s + npre + ndate, post, npost);
	t->s[npre + ndate + npost] = '\0';
	t->pre = npre;
	t->date = ndate;
	t->post = npost;
	t->mark = false;
	t->ascii = f->line_ascii;
	t->nl = f->line_nl;
	t->nul = f->line_nul;
	t->next = f->live;
	f->live = t;
	return t;
}

/*
 * A tuple line that is a view of s (pre, date and post back to back,
 * not NUL-terminated), in one of f's own slots (never in f->live): for
 * the single-line pipeline, whose line buffer is emptied by the next
 * line while the line's memory is still there.
 */
static struct tline *
tline_view(struct filter *f, struct tline *t, const char *s, size_t npre,
    size_t ndate, size_t npost)
{
	t->next = NULL;
	t->mark = false;
	t->ascii = f->line_ascii;
	t->nl = f->line_nl;
	t->nul = f->line_nul;
	t->s = (char *)s;
	t->cap = 0;
	t->pre = npre;
	t->date = ndate;
	t->post = npost;
	return t;
}

/* Recycles every tuple line no longer in the line buffer. */
static void
tline_sweep(struct filter *f)
{
	struct tline **pt = &f->live;

	for (size_t i = 0; i < f->linebuf.n; i++)
		f->linebuf.v[i]->mark = true;
	while (*pt) {
		struct tline *t = *pt;

		if (t->mark) {
			t->mark = false;
			pt = &t->next;
			continue;
		}
		*pt = t->next;
		if (t->cap > FILTER_MAX_LINE_DEFAULT) {
			free(t->s);
			free(t);
			continue;
		}
		t->next = f->spare;
		f->spare = t;
	}
}

static void
tline_free_list(struct tline *t)
{
	while (t) {
		struct tline *next = t->next;

		free(t->s);
		free(t);
		t = next;
	}
}

static void
tlist_push(struct tlist *l, struct tline *t)
{
	if (l->n + 1 > l->cap)
		xgrow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = t;
}

static void
tlist_assign(struct tlist *dst, const struct tlist *src)
{
	if (src->n > dst->cap)
		xgrow(&dst->v, &dst->cap, src->n, sizeof(*dst->v));
	/* usually one line: no call into memcpy */
	for (size_t i = 0; i < src->n; i++)
		dst->v[i] = src->v[i];
	dst->n = src->n;
}

/* "\n".join(pre + post for each) + "\n"; returns what is known of it as
 * a set of enum fre_subj. */
static unsigned
tlist_join(const struct tlist *l, struct sbuf *out)
{
	bool ascii = true, nl = l->n > 1, nul = false;

	if (l->n == 1) {
		/* the usual single line, in one copy */
		const struct tline *t = l->v[0];
		size_t n = t->pre + t->post;

		sbuf_reset(out);
		if (n + 2 > out->cap)
			xgrow(&out->s, &out->cap, n + 2, 1);
		if (t->pre) /* text before the date: rare */
			memcpy(out->s, t->s, t->pre);
		memcpy(out->s + t->pre, t->s + t->pre + t->date, t->post);
		out->s[n] = '\n';
		out->s[n + 1] = '\0';
		out->len = n + 1;
		return (t->ascii ? FRE_SUBJ_ASCII : 0) |
		    (t->nl ? 0 : FRE_SUBJ_NL_KNOWN | FRE_SUBJ_ONE_NL) |
		    (t->nul ? 0 : SUBJ_NO_NUL);
	}
	sbuf_reset(out);
	for (size_t i = 0; i < l->n; i++) {
		const struct tline *t = l->v[i];

		if (i)
			sbuf_addch(out, '\n');
		sbuf_add(out, t->s, t->pre);
		sbuf_add(out, t->s + t->pre + t->date, t->post);
		ascii = ascii && t->ascii;
		nl = nl || t->nl;
		nul = nul || t->nul;
	}
	sbuf_addch(out, '\n');
	return (ascii ? FRE_SUBJ_ASCII : 0) |
	    (nl ? 0 : FRE_SUBJ_NL_KNOWN | FRE_SUBJ_ONE_NL) |
	    (nul ? 0 : SUBJ_NO_NUL);
}

/* ---- matching ---- */

/*
 * An ovector of npairs pairs to pre's 32-bit offsets and back. The
 * offsets are below INT32_MAX (prep_searches()), and PCRE2_UNSET's low
 * half is PRE_UNSET, which widens back by sign extension: no branch, two
 * entries at a time.
 */
static void
ov_narrow(uint32_t *to, const PCRE2_SIZE *from, size_t npairs)
{
#if defined(__SSE2__) && defined(__x86_64__) /* 64-bit PCRE2_SIZE */
	/* two pairs at a time: from and to have room for a pair more than
	 * npairs (filter_prep_new(), PRE_OV_SLACK) */
	for (size_t k = 0; k < npairs; k += 2) {
		__m128 a = _mm_loadu_ps((const float *)(from + 2 * k));
		__m128 b = _mm_loadu_ps((const float *)(from + 2 * k + 2));

		_mm_storeu_si128((__m128i *)(to + 2 * k),
		    _mm_castps_si128(
		        _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))));
	}
#else
	for (size_t k = 0; k < 2 * npairs; k++)
		to[k] = (uint32_t)from[k];
#endif
}

static inline __attribute__((always_inline)) void
ov_widen(PCRE2_SIZE *to, const uint32_t *from, size_t npairs)
{
#if defined(__SSE2__) && defined(__x86_64__) /* 64-bit PCRE2_SIZE */
	/* four pairs at a time: from and to have room for three pairs more
	 * than npairs (PRE_OV_SLACK) */
	for (size_t k = 0; k < npairs; k += 4) {
		__m128i v = _mm_loadu_si128((const __m128i *)(from + 2 * k));
		__m128i w =
		    _mm_loadu_si128((const __m128i *)(from + 2 * k + 4));
		__m128i sv = _mm_srai_epi32(v, 31), sw = _mm_srai_epi32(w, 31);

		_mm_storeu_si128(
		    (__m128i *)(to + 2 * k), _mm_unpacklo_epi32(v, sv));
		_mm_storeu_si128(
		    (__m128i *)(to + 2 * k + 2), _mm_unpackhi_epi32(v, sv));
		_mm_storeu_si128(
		    (__m128i *)(to + 2 * k + 4), _mm_unpacklo_epi32(w, sw));
		_mm_storeu_si128(
		    (__m128i *)(to + 2 * k + 6), _mm_unpackhi_epi32(w, sw));
	}
#else
	for (size_t k = 0; k < 2 * npairs; k++)
		to[k] = (PCRE2_SIZE)(int64_t)(int32_t)from[k];
#endif
}

/* s[0, n) is s1[off, off + n) of p (off + n <= p->len - p->cut), s not
 * being that very memory in the line (s1_equal()). */
static __attribute__((noinline)) bool
s1_compare(const struct filter_pre *p, size_t off, const char *s, size_t n)
{
	if (off < p->cut0) {
		size_t k = p->cut0 - off < n ? p->cut0 - off : n;

		if (memcmp(s, p->line + off, k) != 0)
			return false;
		s += k;
		off += k;
		n -= k;
	}
	return n == 0 || memcmp(s, p->line + off + p->cut, n) == 0;
}

/* s[0, n) is s1[off, off + n) of p (off + n <= p->len - p->cut). */
static inline bool
s1_equal(const struct filter_pre *p, size_t off, const char *s, size_t n)
{
	/* s1 in one piece of the line (the date at its start, or none: it
	 * starts at line + cut), and s that very memory (the subject
	 * find_failure() keeps in place) */
	if ((p->cut0 == 0 || p->cut == 0) && s == p->line + p->cut + off)
		return true;
	return s1_compare(p, off, s, n);
}

/* Failregex i's search in p->res, or NULL. */
static inline const struct pre_res *
pre_res_of(const struct filter_pre *p, size_t i)
{
	for (size_t k = 0; k < p->nres; k++)
		if (p->res[k].idx == i)
			return &p->res[k];
	return NULL;
}

/*
 * re's search in s[0, len) worked out ahead, when it was and on the same
 * subject, else NULL.
 */
static inline const struct pre_res *
pre_find(
    const struct filter *f, const struct fre *re, const char *s, size_t len)
{
	const struct filter_pre *p = f->pre;
	size_t i;

	if (re == &f->pref)
		return p->has_s1 && len == p->len - p->cut + 1 &&
		        s[len - 1] == '\n' && s1_equal(p, 0, s, len - 1)
		    ? &p->pref
		    : NULL;
	if (re < f->fail || re >= f->fail + f->nfail)
		return NULL;
	/* p->known is 0 unless failregexes were searched (has_s2) */
	i = (size_t)(re - f->fail);
	if (i >= 64 || !(p->known >> i & 1) || len != p->s2len + 1 ||
	    s[len - 1] != '\n' || !s1_equal(p, p->s2off, s, len - 1))
		return NULL;
	return pre_res_of(p, i);
}

/*
 * The first failregex find_failure() has to search on the subject
 * (f->sv, f->svlen): every earlier one was searched ahead on it and did
 * not match.
 */
static size_t
pre_skip(const struct filter *f)
{
	const struct filter_pre *p = f->pre;

	if (!p->has_s2 || f->svlen != p->s2len + 1 ||
	    f->sv[f->svlen - 1] != '\n' ||
	    !s1_equal(p, p->s2off, f->sv, f->svlen - 1))
		return 0;
	return p->skip;
}

/*
 * memcmp(s, lit, n) == 0 for a screen's literal prefix, s holding at
 * least n bytes, without a call: in words that may overlap (bytes when
 * shorter than one).
 */
static inline bool
lit_equal(const char *s, const char *lit, size_t n)
{
	uint64_t a, b;
	size_t k = 0;

	if (n < 8) {
		for (; k < n; k++)
			if (s[k] != lit[k])
				return false;
		return true;
	}
	for (; k + 8 <= n; k += 8) {
		memcpy(&a, s + k, 8);
		memcpy(&b, lit + k, 8);
		if (a != b)
			return false;
	}
	if (k == n)
		return true;
	memcpy(&a, s + n - 8, 8);
	memcpy(&b, lit + n - 8, 8);
	return a == b;
}

/* re_search() without the searches worked out ahead. */
static inline bool
re_search_own(struct filter *f, const struct fre *re, const char *s, size_t len,
    unsigned subj)
{
	int rc;

	if (len < re->minlen)
		return false;
	if (re->has_first) {
		unsigned char c = (unsigned char)s[0];

		if (!(re->first[c >> 3] & (1u << (c & 7))))
			return false;
	}
	if (re->nlit && (len < re->nlit || memcmp(s, re->lit, re->nlit) != 0))
		return false;
	f->ov = f->md_ov;
	f->nov = f->md_nov;
	rc = fre_match(re, s, len, subj, f->md, f->mctx);
	if (rc >= 0)
		return true;
	if (rc != PCRE2_ERROR_NOMATCH) {
		f->stats.limit_hits++;
		f->warn |= FILTER_WARN_LIMIT;
	}
	return false;
}

/* re_search()'s result from r, re's search worked out ahead. */
static inline bool
pre_result(struct filter *f, const struct fre *re, const struct pre_res *r)
{
	if (r->rc >= 0) {
		PCRE2_SIZE *ov = f->pre_ov[re != &f->pref];

		ov_widen(ov, f->pre->ov + r->ov, re->ncaptures + 1);
		f->ov = ov;
		f->nov = re->ncaptures + 1;
		return true;
	}
	if (r->rc != PCRE2_ERROR_NOMATCH) {
		f->stats.limit_hits++;
		f->warn |= FILTER_WARN_LIMIT;
	}
	return false;
}

/* re_search_pre() on a subject that is not in place in the line: it is
 * compared with the one searched ahead. */
static __attribute__((noinline)) bool
re_search_cmp(struct filter *f, const struct fre *re, const char *s, size_t len,
    unsigned subj)
{
	const struct pre_res *r = pre_find(f, re, s, len);

	if (r == NULL)
		return re_search_own(f, re, s, len, subj);
	return pre_result(f, re, r);
}

/*
 * re_search() in the pipeline's second stage: the search worked out
 * ahead, its screens too, when it was on the same subject. The usual
 * subject is in place in the line, where it was searched: the very same
 * memory, nothing to compare (a leaf, without calls).
 */
static bool
re_search_pre(struct filter *f, const struct fre *re, const char *s, size_t len,
    unsigned subj)
{
	const struct filter_pre *p = f->pre;
	const struct pre_res *r = NULL;
	/* s1 is in place when it is one piece of the line: the date at its
	 * start or none (s1_equal()) */
	const char *s1 = p->cut0 == 0 || p->cut == 0 ? p->line + p->cut : NULL;

	if (re == &f->pref) {
		if (p->has_s1 && s == s1 && len == p->len - p->cut + 1 &&
		    s[len - 1] == '\n')
			r = &p->pref;
	} else if (re >= f->fail && re < f->fail + f->nfail) {
		size_t i = (size_t)(re - f->fail);

		/* p->known is 0 unless failregexes were searched */
		if (i < 64 && (p->known >> i & 1) && s1 && s == s1 + p->s2off &&
		    len == p->s2len + 1 && s[len - 1] == '\n')
			r = pre_res_of(p, i);
	}
	if (r == NULL)
		return re_search_cmp(f, re, s, len, subj);
	return pre_result(f, re, r);
}

/* Searches re in s; returns true on a match (ovector in f->ov). A match
 * or depth limit counts as no match. */
static inline bool
re_search(struct filter *f, const struct fre *re, const char *s, size_t len,
    unsigned subj)
{
	if (f->pre)
		return re_search_pre(f, re, s, len, subj);
	return re_search_own(f, re, s, len, subj);
}

static void
fval_str(struct fval *v, const char *s)
{
	v->type = FVAL_STR;
	v->u.s = s;
}

static bool fval_equal(const struct fval *a, const struct fval *b);

static bool
fval_equal(const struct fval *a, const struct fval *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case FVAL_NONE:
		return true;
	case FVAL_STR:
		return strcmp(a->u.s, b->u.s) == 0;
	case FVAL_INT:
		return a->u.i == b->u.i;
	case FVAL_IP:
		return strcmp(a->u.ip.text, b->u.ip.text) == 0;
	case FVAL_SET:
	case FVAL_TUPLE:
	case FVAL_LIST:
		if (a->u.v.n != b->u.v.n)
			return false;
		for (size_t i = 0; i < a->u.v.n; i++)
			if (!fval_equal(&a->u.v.items[i], &b->u.v.items[i]))
				return false;
		return true;
	}
	return false;
}

/* A new collection value: items of old (may be NULL) plus extra. */
static struct fval
fval_append(struct arena *a, enum fval_type type, const struct fval *old,
    const struct fval *extra, size_t nextra)
{
	struct fval r;
	size_t n0 = old ? old->u.v.n : 0;
	struct fval *items = arena_alloc(a, (n0 + nextra) * sizeof(*items));

	if (n0)
		memcpy(items, old->u.v.items, n0 * sizeof(*items));
	if (nextra)
		memcpy(items + n0, extra, nextra * sizeof(*items));
	r.type = type;
	r.u.v.items = items;
	r.u.v.n = n0 + nextra;
	return r;
}

/* FILTER_LEAN: true when key's value can change a failure (its id, its
 * nofail, the mlfid cache's decisions), or is the prefregex's content. */
static bool
key_needed(const struct filter *f, const char *key)
{
	return key == f->k.mlfid || key == f->k.nofail ||
	    key == f->k.mlfgained || key == f->k.mlfforget ||
	    key == f->k.mlfpending || key == f->k.users || key == f->k.user ||
	    key == f->k.fid || key == f->k.ip4 || key == f->k.ip6 ||
	    key == f->k.dns || key == f->k.cidr || key == f->k.content;
}

/* FILTER_LEAN: which of re's groups get_groups() keeps: the needed keys,
 * and the alt_/tuple_ groups that fill one. */
static void
lean_needs(const struct filter *f, struct fre *re)
{
	re->need = xcalloc(re->nnames + 1, 1);
	for (size_t i = 0; i < re->nnames; i++)
		re->need[i] = key_needed(f, re->names[i].name);
	for (size_t i = 0; i < re->nalts; i++)
		if (key_needed(f, re->alts[i].target))
			re->need[re->alts[i].src] = 1;
	for (size_t i = 0; i < re->ntuples; i++)
		if (key_needed(f, re->tuples[i].target))
			re->need[re->tuples[i].src] = 1;
}

/* The struct ldict slot of an interned key, or -1. */
static int
lean_slot(const struct filter *f, const char *key)
{
	/* in the order of enum lkey; no table built on every call */
	if (key == f->k.mlfid)
		return LK_MLFID;
	if (key == f->k.nofail)
		return LK_NOFAIL;
	if (key == f->k.mlfgained)
		return LK_MLFGAINED;
	if (key == f->k.mlfforget)
		return LK_MLFFORGET;
	if (key == f->k.mlfpending)
		return LK_MLFPENDING;
	if (key == f->k.users)
		return LK_USERS;
	if (key == f->k.user)
		return LK_USER;
	if (key == f->k.fid)
		return LK_FID;
	if (key == f->k.ip4)
		return LK_IP4;
	if (key == f->k.ip6)
		return LK_IP6;
	if (key == f->k.dns)
		return LK_DNS;
	if (key == f->k.cidr)
		return LK_CIDR;
	if (key == f->k.content)
		return LK_CONTENT;
	return -1;
}

/* FILTER_LEAN: the slots whose values only their truthiness decides
 * (lean dicts hold lflag_on or lflag_off there, or an int). */
#define LFLAGS                                                                 \
	(LBIT(LK_NOFAIL) | LBIT(LK_MLFGAINED) | LBIT(LK_MLFFORGET) |           \
	    LBIT(LK_MLFPENDING))
#define LK_FLAG 0x80 /* keep_slot: a slot in LFLAGS */

static const char lflag_on[] = "1";
static const char lflag_off[] = "";

/*
 * The groups need[] keeps that fill a slot directly: keep[k] is the group
 * number, keep_slot[k] its slot (| LK_FLAG for the LFLAGS ones), and
 * keep[nkeep] the mask of those slots (what such a match defines). The
 * alt_/tuple_ sources are read by get_lean() through re->alts.
 */
static void
lean_keep(const struct filter *f, struct fre *re)
{
	uint32_t defined = 0;

	re->keep = xcalloc(re->nnames + 1, sizeof(*re->keep));
	re->keep_slot = xcalloc(re->nnames + 1, sizeof(*re->keep_slot));
	re->nkeep = 0;
	for (size_t i = 0; i < re->nnames; i++) {
		int k;

		if (!re->need[i])
			continue;
		k = lean_slot(f, re->names[i].name);
		if (k < 0)
			continue;
		re->keep[re->nkeep] = re->names[i].num;
		re->keep_slot[re->nkeep++] =
		    (uint8_t)(k | (LFLAGS & LBIT(k) ? LK_FLAG : 0));
		defined |= LBIT(k);
	}
	re->keep[re->nkeep] = defined;
}

/* FILTER_LEAN: the prefregex's content group when content_direct() can
 * read it (no alt_/tuple_ group fills content), which get_groups() then
 * leaves out; else 0. */
static uint32_t
content_group(struct filter *f)
{
	struct fre *re = &f->pref;

	for (size_t i = 0; i < re->nalts; i++)
		if (re->alts[i].target == f->k.content)
			return 0;
	for (size_t i = 0; i < re->ntuples; i++)
		if (re->tuples[i].target == f->k.content)
			return 0;
	for (size_t i = 0; i < re->nnames; i++) {
		if (re->names[i].name == f->k.content) {
			re->need[i] = 0;
			return re->names[i].num;
		}
	}
	return 0;
}

/*
 * fail2ban's Regex.getGroups(): every named group of the last match (None
 * when it did not take part), then alt_ and tuple_ merging.
 */
static void
get_groups(
    struct filter *f, const struct fre *re, const char *s, struct fdict *out)
{
	const PCRE2_SIZE *ov = f->ov;
	uint32_t nov = f->nov;
	size_t total = 0;
	char *p;

	for (size_t i = 0; i < re->nnames; i++) {
		uint32_t g = re->names[i].num;

		if (g < nov && ov[2 * g] != PCRE2_UNSET &&
		    (re->need == NULL || re->need[i]))
			total += ov[2 * g + 1] - ov[2 * g] + 1;
	}
	/* the texts, in one piece */
	p = total ? arena_alloc(&f->ar, total) : NULL;
	out->n = 0;
	out->cap = re->nnames + re->nalts + re->ntuples + 8;
	out->v = arena_alloc(&f->ar, out->cap * sizeof(*out->v));
	for (size_t i = 0; i < re->nnames; i++) {
		uint32_t g = re->names[i].num;
		struct fentry *e = &out->v[out->n++];

		e->key = re->names[i].name;
		if (g < nov && ov[2 * g] != PCRE2_UNSET &&
		    (re->need == NULL || re->need[i])) {
			size_t l = ov[2 * g + 1] - ov[2 * g];

			memcpy(p, s + ov[2 * g], l);
			p[l] = '\0';
			fval_str(&e->val, p);
			p += l + 1;
		} else {
			e->val.type = FVAL_NONE;
		}
	}
	for (size_t i = 0; i < re->nalts; i++) {
		const struct fval *v = &out->v[re->alts[i].src].val;
		struct fval *t = fdict_get(out, re->alts[i].target);

		if (fval_truthy(v) && (t == NULL || !fval_truthy(t)))
			fdict_set(&f->ar, out, re->alts[i].target, v);
	}
	for (size_t i = 0; i < re->ntuples; i++) {
		struct fval v = out->v[re->tuples[i].src].val, r;
		struct fval *t = fdict_get(out, re->tuples[i].target);

		if (t && t->type == FVAL_TUPLE) {
			r = fval_append(&f->ar, FVAL_TUPLE, t, &v, 1);
		} else {
			struct fval two[2];

			two[0] = t ? *t : (struct fval){.type = FVAL_NONE};
			two[1] = v;
			r = fval_append(&f->ar, FVAL_TUPLE, NULL, two, 2);
		}
		fdict_set(&f->ar, out, re->tuples[i].target, &r);
	}
	if (re->need) {
		/* FILTER_LEAN: only the keys that decide something */
		size_t k = 0;

		for (size_t i = 0; i < out->n; i++)
			if (i < re->nnames ? re->need[i]
			                   : key_needed(f, out->v[i].key))
				out->v[k++] = out->v[i];
		out->n = k;
	}
}

/* Python's str.splitlines(): appends [start, end) pairs of s to *v. */
static size_t
split_lines(struct arena *a, const char *s, size_t n, size_t **v)
{
	size_t cnt = 0, cap = 8, i = 0, start = 0;

	*v = arena_alloc(a, cap * 2 * sizeof(**v));
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t brk = 0;

		if (c == '\n' || c == '\v' || c == '\f' || c == 0x1c ||
		    c == 0x1d || c == 0x1e)
			brk = 1;
		else if (c == '\r')
			brk = (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
		else if (c == 0xc2 && i + 1 < n &&
		    (unsigned char)s[i + 1] == 0x85)
			brk = 2;
		else if (c == 0xe2 && i + 2 < n &&
		    (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0xa8 ||
		        (unsigned char)s[i + 2] == 0xa9))
			brk = 3;
		if (brk == 0) {
			i++;
			continue;
		}
		if (cnt == cap) {
			size_t *nv = arena_alloc(a, cap * 4 * sizeof(*nv));

			memcpy(nv, *v, cap * 2 * sizeof(*nv));
			*v = nv;
			cap *= 2;
		}
		(*v)[2 * cnt] = start;
		(*v)[2 * cnt + 1] = i;
		cnt++;
		i += brk;
		start = i;
	}
	if (start < n) {
		if (cnt == cap) {
			size_t *nv = arena_alloc(a, cap * 4 * sizeof(*nv));

			memcpy(nv, *v, cap * 2 * sizeof(*nv));
			*v = nv;
		}
		(*v)[2 * cnt] = start;
		(*v)[2 * cnt + 1] = n;
		cnt++;
	}
	return cnt;
}

/*
 * fail2ban's Regex.search(buf, orgLines) for a failregex: after a match,
 * splits orgLines into the matched lines (minus <SKIPLINES> lines) and the
 * unmatched ones, in f->matched / f->unmatched.
 */
static bool
fail_search(struct filter *f, const struct fre *re, const struct tlist *org)
{
	const char *s = f->sv;
	size_t len = f->svlen, mstart, mend, ls, le, lc1 = 0, lc2 = 0;
	const PCRE2_SIZE *ov;
	struct sbuf *sk = &f->tmp;
	size_t *spans, nsp, n = 0;

	f->matched.n = 0;
	f->unmatched.n = 0;
	if (!re_search(f, re, s, len, f->buf_subj))
		return false;
	if (org->n <= 1) {
		tlist_assign(&f->matched, org);
		return true;
	}
	ov = f->ov;
	mstart = ov[0];
	mend = ov[1];
	/* rindex("\n", 0, start + 1) */
	ls = 0;
	for (size_t k = (mstart + 1 < len ? mstart + 1 : len); k > 0; k--) {
		if (s[k - 1] == '\n') {
			ls = k;
			break;
		}
	}
	/* index("\n", end - 1); a negative start counts from the end */
	le = len;
	for (size_t k = mend > 0 ? mend - 1 : (len ? len - 1 : 0); k < len;
	     k++) {
		if (s[k] == '\n') {
			le = k + 1;
			break;
		}
	}
	for (size_t k = 0; k < le; k++) {
		if (s[k] == '\n') {
			if (k < ls)
				lc1++;
			lc2++;
		}
	}
	for (size_t k = lc1; k < lc2 && k < org->n; k++)
		tlist_push(&f->matched, org->v[k]);
	for (size_t k = 0; k < lc1 && k < org->n; k++)
		tlist_push(&f->unmatched, org->v[k]);
	/* lines captured by <SKIPLINES> stay in the buffer */
	sbuf_reset(sk);
	for (size_t i = 0; i < re->nskip; i++) {
		uint32_t g = re->skip[i];

		if (ov[2 * g] != PCRE2_UNSET)
			sbuf_add(sk, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
	nsp = sk->len ? split_lines(&f->ar, sk->s, sk->len, &spans) : 0;
	for (size_t i = 0; i < nsp; i++) {
		const char *ln = sk->s + spans[2 * i];
		size_t lnl = spans[2 * i + 1] - spans[2 * i];

		for (size_t m = n; m < f->matched.n; m++) {
			const struct tline *t = f->matched.v[m];

			if (t->pre + t->post != lnl ||
			    memcmp(t->s, ln, t->pre) != 0 ||
			    memcmp(t->s + t->pre + t->date, ln + t->pre,
			        t->post) != 0)
				continue;
			tlist_push(&f->unmatched, f->matched.v[m]);
			memmove(&f->matched.v[m], &f->matched.v[m + 1],
			    (f->matched.n - m - 1) * sizeof(f->matched.v[0]));
			f->matched.n--;
			n = m;
			break;
		}
	}
	for (size_t k = lc2; k < org->n; k++)
		tlist_push(&f->unmatched, org->v[k]);
	return true;
}

/*
 * fail2ban's _ignoreLine. with_fail: a failregex just matched (its lines
 * are in f->matched / f->unmatched). Returns true when an ignoreregex
 * matched.
 */
static bool
ignore_line(struct filter *f, bool with_fail)
{
	const char *s = f->sv;
	size_t len = f->svlen;
	bool found = false;
	unsigned subj = f->buf_subj;
	bool check_all = f->cfg.flags & FILTER_CHECK_ALL;

	if (with_fail && f->maxlines > 1) {
		subj = tlist_join(&f->matched, &f->ibuf);
		s = f->ibuf.s;
		len = f->ibuf.len;
	}
	for (size_t i = 0; i < f->nign; i++) {
		if (!re_search(f, &f->ign[i], s, len, subj))
			continue;
		found = true;
		f->line_ignored = true;
		f->ign_hits[i]++;
		if ((!check_all || f->maxlines > 1) && with_fail)
			tlist_assign(&f->linebuf, &f->unmatched);
		if (!check_all)
			break;
	}
	return found;
}

/* ---- failure ids ---- */

enum {
	CIDR_RAW = -2,    /* keep the text as it is */
	CIDR_UNSPEC = -1, /* parse "[ip]" or "ip/cidr", else raw */
	CIDR_FAM4 = -4,   /* IPv4 only */
	CIDR_FAM6 = -12,  /* IPv6 only */
};

/* A hash of a NUL-terminated string, eight bytes at a time (the mlfid
 * keys are ~20-40 bytes and hashed on every matching line). */
static uint64_t
hash_str(const char *s)
{
	size_t n = strlen(s), i = 0;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	if (i < n && n >= 8) {
		/* the last eight bytes, overlapping the previous word: no
		 * copy of a variable length */
		memcpy(&w, s + n - 8, 8);
	} else {
		for (size_t j = i; j < n; j++)
			w = w << 8 | (unsigned char)s[j];
	}
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

/* val_text() of a value other than a string, an address or None. */
static const char *
val_repr(struct filter *f, const struct fval *v)
{
	sbuf_reset(&f->tmp);
	fval_repr(v, &f->tmp);
	return arena_strndup(&f->ar, f->tmp.s, f->tmp.len);
}

/* Python's str() of a value: the string itself, repr() for the rest. */
static inline const char *
val_text(struct filter *f, const struct fval *v)
{
	if (v == NULL || v->type == FVAL_NONE)
		return NULL;
	if (v->type == FVAL_STR)
		return v->u.s;
	if (v->type == FVAL_IP)
		return v->u.ip.text;
	return val_repr(f, v);
}

static void
mask_bits(struct addr *a, unsigned bits)
{
	for (unsigned i = 0; i < 16; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		a->b[i] &= (uint8_t)(0xff00u >> bits);
		bits = 0;
	}
}

/* A dotted or colon mask to its prefix length (fail2ban's masktoplen). */
static int
mask_to_plen(const char *s, long *out)
{
	unsigned char b[16];
	int fam = strchr(s, ':') ? AF_INET6 : AF_INET;
	unsigned n = fam == AF_INET ? 4 : 16, bits = 0, i;

	if (inet_pton(fam, s, b) != 1)
		return -1;
	for (i = 0; i < n && b[i] == 0xff; i++)
		bits += 8;
	if (i < n) {
		unsigned char c = b[i];

		while (c & 0x80) {
			bits++;
			c = (unsigned char)(c << 1);
		}
		if (c)
			return -1;
		for (i++; i < n; i++)
			if (b[i])
				return -1;
	}
	*out = bits;
	return 0;
}

/*
 * inet_pton(AF_INET) as glibc reads it (four decimal octets <= 255, no
 * leading zeros, nothing else), without the library call on the hot path.
 * Returns 0 or -1.
 */
int
filter_parse_ip4(const char *s, uint8_t *out)
{
#define DIG(c) ((unsigned)(c) - '0' < 10)
	for (int i = 0; i < 4; i++) {
		unsigned v;

		if (!DIG(s[0]))
			return -1;
		v = (unsigned)(s[0] - '0');
		if (!DIG(s[1])) {
			s += 1;
		} else if (v == 0) {
			return -1; /* a leading zero */
		} else if (!DIG(s[2])) {
			v = v * 10 + (unsigned)(s[1] - '0');
			s += 2;
		} else {
			v = v * 100 + (unsigned)(s[1] - '0') * 10 +
			    (unsigned)(s[2] - '0');
			if (v > 255 || DIG(s[3]))
				return -1;
			s += 3;
		}
		out[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
#undef DIG
	return *s == '\0' ? 0 : -1;
}

/* A hex digit's value plus one; 0 for any other byte. */
static const uint8_t hex_plus1[256] = {
    ['0'] = 1,
    ['1'] = 2,
    ['2'] = 3,
    ['3'] = 4,
    ['4'] = 5,
    ['5'] = 6,
    ['6'] = 7,
    ['7'] = 8,
    ['8'] = 9,
    ['9'] = 10,
    ['a'] = 11,
    ['b'] = 12,
    ['c'] = 13,
    ['d'] = 14,
    ['e'] = 15,
    ['f'] = 16,
    ['A'] = 11,
    ['B'] = 12,
    ['C'] = 13,
    ['D'] = 14,
    ['E'] = 15,
    ['F'] = 16,
};

static inline int
hex_val(char c)
{
	return (int)hex_plus1[(unsigned char)c] - 1;
}

int
filter_parse_ip6(const char *s, uint8_t *out)
{
	uint8_t b[16] = {0};
	const char *tok;       /* where the current group starts */
	size_t o = 0;          /* bytes of b filled */
	size_t gap = SIZE_MAX; /* where "::" stands in b */
	unsigned v = 0;        /* the current group */
	int nd = 0;            /* its hex digits */

	/* a leading ':' only as the first of "::" */
	if (*s == ':' && *++s != ':')
		return -1;
	tok = s;
	for (;;) {
		char c = *s++;
		int d = hex_val(c);

		if (d >= 0) {
			if (nd == 4)
				return -1;
			v = v << 4 | (unsigned)d;
			nd++;
			continue;
		}
		if (c == ':') {
			tok = s;
			if (nd == 0) {
				if (gap != SIZE_MAX)
					return -1;
				gap = o;
				continue;
			}
			if (*s == '\0' || o + 2 > 16)
				return -1;
			b[o++] = (uint8_t)(v >> 8);
			b[o++] = (uint8_t)v;
			v = 0;
			nd = 0;
			continue;
		}
		if (c == '.') {
			/* the rest, from the group's start, is an IPv4 address
			 */
			if (o + 4 > 16 || filter_parse_ip4(tok, b + o) != 0)
				return -1;
			o += 4;
			nd = 0;
			break;
		}
		if (c != '\0')
			return -1;
		break;
	}
	if (nd > 0) {
		if (o + 2 > 16)
			return -1;
		b[o++] = (uint8_t)(v >> 8);
		b[o++] = (uint8_t)v;
	}
	if (gap != SIZE_MAX) {
		/* "::" stands for at least one group of zeros */
		if (o == 16)
			return -1;
		memmove(b + 16 - (o - gap), b + gap, o - gap);
		memset(b + gap, 0, 16 - o);
		o = 16;
	}
	if (o != 16)
		return -1;
	memcpy(out, b, 16);
	return 0;
}

/* inet_ntop for IPv4 without stdio (it is on the hot path). */
static void
fmt_ipv4(const uint8_t *b, char *out)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
}

void
filter_fmt_ip6(const uint8_t *b, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int best = -1, blen = 0, cur = -1, clen = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
		if (w[i] == 0) {
			if (cur < 0) {
				cur = i;
				clen = 0;
			}
			clen++;
			if (clen > blen) {
				best = cur;
				blen = clen;
			}
		} else {
			cur = -1;
		}
	}
	if (blen < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + blen) {
			if (i == best)
				*out++ = ':';
			continue;
		}
		if (i)
			*out++ = ':';
		if (i == 6 && best == 0 &&
		    (blen == 6 || (blen == 5 && w[5] == 0xffff))) {
			fmt_ipv4(b + 12, out);
			return;
		}
		if (w[i] >= 0x1000)
			*out++ = hex[w[i] >> 12];
		if (w[i] >= 0x100)
			*out++ = hex[w[i] >> 8 & 15];
		if (w[i] >= 0x10)
			*out++ = hex[w[i] >> 4 & 15];
		*out++ = hex[w[i] & 15];
	}
	if (best >= 0 && best + blen == 8)
		*out++ = ':';
	*out = '\0';
}

/*
 * fail2ban's IPAddr(text, cidr). Returns 0, or -1 where Python raises
 * (a bad "/mask" in an id).
 */
static int
make_id(struct filter *f, const char *text, long cidr, struct filter_id *id)
{
	char buf[ADDR_STRLEN + 8];
	const char *ip = text;
	int fams[2] = {AF_INET, AF_INET6}, nfam = 2;

	memset(id, 0, sizeof(*id));
	if (cidr == CIDR_RAW) {
		id->text = text;
		return 0;
	}
	if (cidr == CIDR_FAM4) {
		/* the common case: filter_parse_ip4() takes only the form
		 * inet_ntop writes, so the text is the id's */
		if (filter_parse_ip4(text, id->addr.b) == 0) {
			id->addr.family = AF_INET;
			id->addr.prefix = 32;
			id->is_addr = true;
		}
		id->text = text;
		return 0;
	}
	if (cidr == CIDR_UNSPEC) {
		const char *slash;
		size_t n = strlen(text);

		if (n > 2 && text[0] == '[' && text[n - 1] == ']') {
			ip = arena_strndup(&f->ar, text + 1, n - 2);
			n -= 2;
		}
		slash = strchr(ip, '/');
		if (slash) {
			const char *m = slash + 1;
			char *end;

			if (strchr(m, '.') || strchr(m, ':')) {
				if (mask_to_plen(m, &cidr) < 0)
					return -1;
			} else {
				while (*m == ' ' || *m == '\t')
					m++;
				if (!(*m >= '0' && *m <= '9') &&
				    !((*m == '+' || *m == '-') && m[1] >= '0' &&
				        m[1] <= '9'))
					return -1;
				cidr = strtol(m, &end, 10);
				while (*end == ' ' || *end == '\t')
					end++;
				if (*end)
					return -1;
			}
			ip = arena_strndup(&f->ar, ip, (size_t)(slash - ip));
		}
	} else if (cidr == CIDR_FAM4) {
		nfam = 1;
	} else if (cidr == CIDR_FAM6) {
		fams[0] = AF_INET6;
		nfam = 1;
	}
	for (int k = 0; k < nfam; k++) {
		struct addr *a = &id->addr;
		unsigned max = fams[k] == AF_INET ? 32 : 128;

		memset(a, 0, sizeof(*a));
		if (fams[k] == AF_INET ? filter_parse_ip4(ip, a->b) != 0
		                       : filter_parse_ip6(ip, a->b) != 0)
			continue;
		a->family = (uint8_t)fams[k];
		a->prefix = (uint8_t)max;
		if (fams[k] == AF_INET && cidr < 0) {
			/* filter_parse_ip4() takes only the form inet_ntop
			 * writes */
			id->is_addr = true;
			id->text = ip;
			return 0;
		}
		if (cidr >= 0) {
			unsigned c = cidr > (long)max ? max : (unsigned)cidr;

			mask_bits(a, c);
			a->prefix = (uint8_t)c;
		} else if (fams[k] == AF_INET6) {
			static const uint8_t mapped[12] = {
			    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

			if (memcmp(a->b, mapped, 12) == 0) {
				memmove(a->b, a->b + 12, 4);
				memset(a->b + 4, 0, 12);
				a->family = AF_INET;
				a->prefix = 32;
			}
		}
		id->is_addr = true;
		if (a->family == AF_INET)
			fmt_ipv4(a->b, buf);
		else
			filter_fmt_ip6(a->b, buf);
		max = a->family == AF_INET ? 32 : 128;
		if (a->prefix && a->prefix < max)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "/%u", a->prefix);
		/* an address written as inet_ntop writes it is its id */
		id->text = strcmp(buf, ip) == 0
		    ? ip
		    : arena_strndup(&f->ar, buf, strlen(buf));
		return 0;
	}
	id->text = ip;
	return 0;
}

/* "(?:\d{1,3}\.){3}\d{1,3}" matching all of s. */
static bool
is_ipv4_shaped(const char *s)
{
	for (int part = 0; part < 4; part++) {
		int d = 0;

		while (s[d] >= '0' && s[d] <= '9')
			d++;
		if (d < 1 || d > 3)
			return false;
		s += d;
		if (part < 3) {
			if (*s != '.')
				return false;
			s++;
		}
	}
	return *s == '\0' || (s[0] == '\n' && s[1] == '\0');
}

/* ---- the mlfid cache (fail2ban's Utils.Cache(100, 300 s)) ---- */

/*
 * Frees a cache block once the current line is done: dicts unpacked from
 * it this line (and the failures built from them) still use its strings.
 */
static void
bury(struct filter *f, void *block)
{
	if (block == NULL)
		return;
	xgrow(&f->grave, &f->capgrave, f->ngrave + 1, sizeof(*f->grave));
	f->grave[f->ngrave++] = block;
}

static void
bury_chunk(void *ctx, void *chunk)
{
	bury(ctx, chunk);
}

static void
grave_empty(struct filter *f)
{
	for (size_t i = 0; i < f->ngrave; i++)
		free(f->grave[i]);
	f->ngrave = 0;
}

static void
cache_init(struct filter *f)
{
	f->ncache = 0;
	f->mlf_head = f->mlf_tail = -1;
	for (int i = 0; i < MLF_BUCKETS; i++)
		f->mlf_bucket[i] = -1;
	f->mlf_free = 0;
}

/* The slots, on the first entry: 100 of them are tens of KiB per filter,
 * and only filters with <F-MLFID> use them. */
static void
cache_alloc(struct filter *f)
{
	f->cache = xcalloc(FILTER_MLFID_MAX, sizeof(*f->cache));
	for (int i = 0; i < FILTER_MLFID_MAX; i++) {
		f->cache[i].key = NULL;
		arena_init_chunk(&f->cache[i].mem, MLF_CHUNK);
		f->cache[i].next = i + 1 < FILTER_MLFID_MAX ? i + 1 : -1;
	}
	f->mlf_free = 0;
}

static void
cache_del(struct filter *f, struct mlf_entry *e)
{
	int i = (int)(e - f->cache);
	int *pp = &f->mlf_bucket[e->hash & (MLF_BUCKETS - 1)];

	while (*pp != i)
		pp = &f->cache[*pp].chain;
	*pp = e->chain;
	if (e->prev >= 0)
		f->cache[e->prev].next = e->next;
	else
		f->mlf_head = e->next;
	if (e->next >= 0)
		f->cache[e->next].prev = e->prev;
	else
		f->mlf_tail = e->prev;
	free(e->key);
	e->key = NULL;
	arena_release(&e->mem, bury_chunk, f);
	e->n = 0;
	e->ld.has = 0;
	e->next = f->mlf_free;
	f->mlf_free = i;
	f->ncache--;
}

static void
cache_clear(struct filter *f)
{
	while (f->mlf_head >= 0)
		cache_del(f, &f->cache[f->mlf_head]);
}

static struct mlf_entry *
cache_find(struct filter *f, const char *key, uint64_t h)
{
	for (int i = f->mlf_bucket[h & (MLF_BUCKETS - 1)]; i >= 0;
	     i = f->cache[i].chain)
		if (f->cache[i].hash == h && strcmp(f->cache[i].key, key) == 0)
			return &f->cache[i];
	return NULL;
}

/* The live entry for key (whose hash_str() is h), or NULL. */
static struct mlf_entry *
cache_get(struct filter *f, const char *key, uint64_t h, double now)
{
	struct mlf_entry *e = cache_find(f, key, h);

	if (e == NULL)
		return NULL;
	if (e->expires > now)
		return e;
	cache_del(f, e);
	return NULL;
}

/* A new entry for key (whose hash_str() is h). */
static struct mlf_entry *
cache_add(struct filter *f, const char *key, uint64_t h, double now)
{
	struct mlf_entry *e;
	int i;

	if (f->cache == NULL)
		cache_alloc(f);
	if (f->ncache >= FILTER_MLFID_MAX) {
		/* FIFO: drop expired entries from the front and one live one */
		while (f->mlf_head >= 0) {
			struct mlf_entry *old = &f->cache[f->mlf_head];
			bool live = old->expires > now;

			cache_del(f, old);
			f->stats.mlfid_evicted++;
			if (live && f->ncache < FILTER_MLFID_MAX)
				break;
		}
	}
	i = f->mlf_free;
	e = &f->cache[i];
	f->mlf_free = e->next;
	e->key = xstrdup(key);
	e->hash = h;
	e->expires = now + FILTER_MLFID_TTL;
	e->n = 0;
	e->ld.has = 0;
	e->live = 0;
	e->prev = f->mlf_tail;
	e->next = -1;
	if (f->mlf_tail >= 0)
		f->cache[f->mlf_tail].next = i;
	else
		f->mlf_head = i;
	f->mlf_tail = i;
	e->chain = f->mlf_bucket[e->hash & (MLF_BUCKETS - 1)];
	f->mlf_bucket[e->hash & (MLF_BUCKETS - 1)] = i;
	f->ncache++;
	return e;
}

/* Keeps the last lines of a matches list within the entry caps. */
static void
cap_list(struct fdict *d, const char *key)
{
	struct fval *v = fdict_get(d, key);
	size_t bytes = 0, keep = 0;

	if (v == NULL || v->type != FVAL_LIST)
		return;
	while (keep < v->u.v.n && keep < MLF_MATCHES_MAX) {
		const struct fval *it = &v->u.v.items[v->u.v.n - 1 - keep];

		bytes += it->type == FVAL_STR ? strlen(it->u.s) : 0;
		if (bytes > MLF_BYTES_MAX && keep > 0)
			break;
		keep++;
	}
	v->u.v.items += v->u.v.n - keep;
	v->u.v.n = keep;
}

/*
 * Stores d as e's dict (fail2ban shares the dict object): values e
 * already holds are kept as they are, new ones are copied into e->mem.
 * When most of e->mem is garbage (values replaced since), the live
 * values move to new memory; the old is freed when the next line starts,
 * as this line's failures may point into it.
 */
static void
cache_store(struct filter *f, struct mlf_entry *e, struct fdict *d)
{
	cap_list(d, f->k.matches);
	cap_list(d, f->k.nofail_matches);
	xgrow(&e->v, &e->cap, d->n, sizeof(*e->v));
	if (d->n)
		memcpy(e->v, d->v, d->n * sizeof(*e->v));
	e->n = d->n;
	for (size_t i = 0; i < e->n; i++)
		fval_persist(&e->mem, &e->v[i].val);
	if (e->mem.used > 2 * e->live + MLF_SLACK) {
		struct arena old = e->mem;

		arena_init_chunk(&e->mem, MLF_CHUNK);
		for (size_t i = 0; i < e->n; i++)
			fval_persist(&e->mem, &e->v[i].val);
		e->live = e->mem.used;
		arena_release(&old, bury_chunk, f);
	}
}

/* ---- failures ---- */

static struct fval
lines_value(struct filter *f, const struct tlist *l)
{
	struct fval r;
	struct fval *items = arena_alloc(&f->ar, l->n * sizeof(*items));

	for (size_t i = 0; i < l->n; i++) {
		const struct tline *t = l->v[i];

		fval_str(&items[i],
		    arena_strndup(&f->ar, t->s, t->pre + t->date + t->post));
	}
	r.type = FVAL_LIST;
	r.u.v.items = items;
	r.u.v.n = l->n;
	return r;
}

static const struct fval *
list_or_empty(const struct fval *v)
{
	static const struct fval empty = {.type = FVAL_LIST};

	return v && v->type == FVAL_LIST ? v : &empty;
}

/* fail2ban's _updateUsers: adds user to d's "users" set. */
static struct fval *
update_users(struct filter *f, struct fdict *d, const struct fval *user)
{
	struct fval *users = fdict_get(d, f->k.users), nv;

	if (user == NULL || !fval_truthy(user))
		return users;
	if (users == NULL || users->type != FVAL_SET || users->u.v.n == 0) {
		nv.type = FVAL_SET;
		nv.u.v.items = NULL;
		nv.u.v.n = 0;
		fdict_set(&f->ar, d, f->k.users, &nv);
		users = fdict_get(d, f->k.users);
	}
	for (size_t i = 0; i < users->u.v.n; i++)
		if (fval_equal(&users->u.v.items[i], user))
			return users;
	/* capped: only "more than one user" matters to the logic */
	if (users->u.v.n >= MLF_USERS_MAX)
		return users;
	nv = fval_append(&f->ar, FVAL_SET, users, user, 1);
	*users = nv;
	return users;
}

/* The value of key unless it is absent or None. */
static const struct fval *
present(const struct fdict *d, const char *key)
{
	const struct fval *v = fdict_get(d, key);

	return v && v->type != FVAL_NONE ? v : NULL;
}

static bool
pop_truthy(struct fdict *d, const char *key)
{
	struct fval v;

	return fdict_pop(d, key, &v) && fval_truthy(&v);
}

static bool
get_truthy(const struct fdict *d, const char *key)
{
	const struct fval *v = fdict_get(d, key);

	return v && fval_truthy(v);
}

/*
 * fail2ban's _mergeFailure. On return *fail is the merged dict and
 * *cached the cache entry it belongs to (to be stored back after the
 * caller's changes), or NULL. The entry stays valid until the next cache
 * change.
 */
static void
merge_failure(struct filter *f, const char *mlfid, struct fdict *fail,
    double now, struct mlf_entry **cached)
{
	unsigned fl = 0;
	struct mlf_entry *e;
	struct fval *users = NULL;
	const struct fval *user;
	bool pending;
	uint64_t h;

	*cached = NULL;
	if (get_truthy(fail, f->k.mlfgained)) {
		fl |= 8 | 1;
		if (!get_truthy(fail, f->k.nofail))
			fdict_set(&f->ar, fail, f->k.nofail,
			    fdict_get(fail, f->k.mlfgained));
	} else if (get_truthy(fail, f->k.nofail)) {
		fl |= 1;
	}
	if (pop_truthy(fail, f->k.mlfforget))
		fl |= 2;
	h = hash_str(mlfid);
	e = cache_get(f, mlfid, h, now);
	user = fdict_get(fail, f->k.user);
	if (e) {
		struct fdict w;

		fdict_unpack(&f->ar, &w, e->v, e->n);
		users = update_users(f, &w, user);
		if (pop_truthy(&w, f->k.nofail))
			fl |= 4;
		if (pop_truthy(&w, f->k.mlfgained))
			fl |= 4;
		if (fl & 8)
			fdict_pop(&w, f->k.mlfpending, NULL);
		if ((fl & 4) == 0 && !get_truthy(&w, f->k.mlfpending))
			fdict_pop(&w, f->k.matches, NULL);
		for (size_t i = 0; i < fail->n; i++)
			if (fail->v[i].val.type != FVAL_NONE)
				fdict_set(&f->ar, &w, fail->v[i].key,
				    &fail->v[i].val);
		/* users may have moved when w grew */
		users = fdict_get(&w, f->k.users);
		*fail = w;
		if (fl & 2)
			cache_del(f, e);
		else
			*cached = e;
	} else if (!(fl & 2)) {
		update_users(f, fail, user);
		users = fdict_get(fail, f->k.users);
		*cached = cache_add(f, mlfid, h, now);
	}
	pending = pop_truthy(fail, f->k.mlfpending);
	if (pending || (users && users->type == FVAL_SET && users->u.v.n > 1)) {
		fdict_pop(fail, f->k.nofail, NULL);
		fdict_pop(fail, f->k.mlfgained, NULL);
		fl &= ~(8u | 1u);
	}
	if (f->cfg.flags & FILTER_LEAN) {
		/* no matches lists */
	} else if ((fl & 1) == 0) {
		struct fval nm, m;
		bool had = fdict_pop(fail, f->k.nofail_matches, &nm);
		const struct fval *old =
		    list_or_empty(fdict_get(fail, f->k.matches));

		m = fval_append(&f->ar, FVAL_LIST,
		    had ? list_or_empty(&nm) : NULL, old->u.v.items,
		    old->u.v.n);
		if ((fl & 8) == 0) {
			struct fval ml = lines_value(f, &f->matched);

			m = fval_append(
			    &f->ar, FVAL_LIST, &m, ml.u.v.items, ml.u.v.n);
		}
		fdict_set(&f->ar, fail, f->k.matches, &m);
	} else if ((fl & 3) == 1) {
		struct fval ml = lines_value(f, &f->matched), m;

		m = fval_append(&f->ar, FVAL_LIST,
		    list_or_empty(fdict_get(fail, f->k.nofail_matches)),
		    ml.u.v.items, ml.u.v.n);
		fdict_set(&f->ar, fail, f->k.nofail_matches, &m);
	}
}

/* A new failure in the results, without groups and matches. */
static struct failure *
emit_base(struct filter *f, int regex, enum failure_kind kind,
    const struct filter_id *id, bool has_date, double date, bool nofail)
{
	struct failure *fl;

	if (f->nres == f->capres) {
		size_t cap = f->capres ? f->capres * 2 : 8;
		struct failure *v = arena_alloc(&f->ar, cap * sizeof(*v));

		if (f->nres)
			memcpy(v, f->res, f->nres * sizeof(*v));
		f->res = v;
		f->capres = cap;
	}
	fl = &f->res[f->nres++];
	*fl = (struct failure){
	    .regex = regex,
	    .kind = kind,
	    .has_time = has_date,
	    .time = has_date ? date : 0,
	    .int_time = has_date && f->date_int,
	    .nofail = nofail,
	};
	if (id)
		fl->id = *id;
	return fl;
}

static void
emit(struct filter *f, int regex, enum failure_kind kind,
    const struct filter_id *id, bool has_date, double date,
    const struct fdict *fail)
{
	struct failure *fl;
	const struct fval *m = fdict_get(fail, f->k.matches);
	const char **lines;
	struct fentry *groups;
	size_t ng = 0;

	if (f->nres == f->capres) {
		size_t cap = f->capres ? f->capres * 2 : 8;
		struct failure *v = arena_alloc(&f->ar, cap * sizeof(*v));

		if (f->nres)
			memcpy(v, f->res, f->nres * sizeof(*v));
		f->res = v;
		f->capres = cap;
	}
	fl = &f->res[f->nres++];
	memset(fl, 0, sizeof(*fl));
	fl->regex = regex;
	fl->kind = kind;
	if (id)
		fl->id = *id;
	fl->has_time = has_date;
	fl->time = has_date ? date : 0;
	fl->int_time = has_date && f->date_int;
	fl->nofail = get_truthy(fail, f->k.nofail);
	if (f->cfg.flags & FILTER_LEAN)
		return;
	groups = arena_alloc(&f->ar, (fail->n + 1) * sizeof(*groups));
	for (size_t i = 0; i < fail->n; i++)
		if (fail->v[i].key != f->k.matches)
			groups[ng++] = fail->v[i];
	fl->groups = groups;
	fl->ngroups = ng;
	if (m && m->type == FVAL_LIST) {
		lines = arena_alloc(&f->ar, (m->u.v.n + 1) * sizeof(*lines));
		for (size_t i = 0; i < m->u.v.n; i++)
			lines[i] = m->u.v.items[i].type == FVAL_STR
			    ? m->u.v.items[i].u.s
			    : "";
		fl->matches = lines;
		fl->nmatches = m->u.v.n;
	}
}

enum step {
	STEP_NEXT,     /* go on (or break without FILTER_CHECK_ALL) */
	STEP_CONTINUE, /* next failregex even without FILTER_CHECK_ALL */
	STEP_RETURN,   /* the line is done */
};

/* The part of fail2ban's failregex loop after a match has been kept. */
static enum step
handle_match(struct filter *f, int idx, struct fdict *fail, bool has_date,
    double date, double now)
{
	bool check_all = f->cfg.flags & FILTER_CHECK_ALL;
	const char *mlfid = val_text(f, fdict_get(fail, f->k.mlfid));
	struct mlf_entry *cached = NULL;
	const struct fval *fidv, *ipv = NULL, *ip4, *ip6, *dns;
	long cidr = f->raw ? CIDR_RAW : CIDR_UNSPEC;
	long defcidr = cidr;
	bool raw = f->raw;
	enum step st = STEP_NEXT;
	struct filter_id id;

	if (mlfid) {
		merge_failure(f, mlfid, fail, now, &cached);
		if (get_truthy(fail, f->k.nofail) && !check_all) {
			st = STEP_RETURN;
			goto out;
		}
	} else if (!(f->cfg.flags & FILTER_LEAN)) {
		struct fval ml = lines_value(f, &f->matched), m;

		m = fval_append(&f->ar, FVAL_LIST,
		    list_or_empty(fdict_get(fail, f->k.matches)), ml.u.v.items,
		    ml.u.v.n);
		fdict_set(&f->ar, fail, f->k.matches, &m);
	}
	fidv = fdict_get(fail, f->k.fid);
	if (fidv && fidv->type == FVAL_NONE)
		fidv = NULL;
	ip4 = present(fail, f->k.ip4);
	ip6 = present(fail, f->k.ip6);
	dns = present(fail, f->k.dns);
	if (ip4 || ip6) {
		const struct fval *c = fdict_get(fail, f->k.cidr);

		ipv = ip4 ? ip4 : ip6;
		if (c && fval_truthy(c))
			cidr = strtol(val_text(f, c), NULL, 10);
		else
			cidr = ip4 ? CIDR_FAM4 : CIDR_FAM6;
		raw = true;
	} else if (dns) {
		ipv = dns;
		/* a host name */
	} else {
		if (fidv == NULL && mlfid == NULL) {
			/* fail2ban raises "No group found" here */
			f->stats.noid++;
			f->warn |= FILTER_WARN_NOID;
			st = STEP_CONTINUE;
			goto out;
		}
		ipv = fidv;
		raw = true;
	}
	if (ipv == NULL) {
		struct fval one = {.type = FVAL_INT, .u.i = 1};

		fdict_set(&f->ar, fail, f->k.mlfpending, &one);
		if (!check_all && !(f->cfg.flags & FILTER_KEEP_PENDING)) {
			st = STEP_RETURN;
			goto out;
		}
		emit(f, idx, FAILURE_PENDING, NULL, has_date, date, fail);
	} else if (raw) {
		const char *ip = val_text(f, ipv);

		if (fidv == NULL || fval_equal(fidv, ipv)) {
			if (make_id(f, ip, cidr, &id) < 0)
				goto noid;
		} else {
			struct fval v = {.type = FVAL_IP};

			if (make_id(f, ip, cidr, &v.u.ip) < 0 ||
			    make_id(f, val_text(f, fidv), defcidr, &id) < 0)
				goto noid;
			fdict_set(&f->ar, fail, f->k.ip, &v);
		}
		emit(f, idx, id.is_addr ? FAILURE_ADDR : FAILURE_RAW, &id,
		    has_date, date, fail);
	} else {
		const char *host = val_text(f, ipv);

		if (is_ipv4_shaped(host) &&
		    make_id(f, host, CIDR_UNSPEC, &id) == 0 && id.is_addr) {
			emit(f, idx, FAILURE_ADDR, &id, has_date, date, fail);
		} else if (strcmp(f->usedns, "yes") == 0 ||
		    strcmp(f->usedns, "warn") == 0) {
			memset(&id, 0, sizeof(id));
			id.text = host;
			emit(f, idx, FAILURE_DNS, &id, has_date, date, fail);
		}
	}
	goto out;
noid:
	f->stats.noid++;
	f->warn |= FILTER_WARN_NOID;
	st = STEP_CONTINUE;
out:
	if (cached)
		cache_store(f, cached, fail);
	return st;
}

/*
 * fail = pre.copy(); fail.update(fail): as fail's keys are unique, each
 * can only meet one of pre's, so only those are searched.
 */
static void
merge_pre(struct filter *f, const struct fdict *pre, struct fdict *fail)
{
	struct fdict m;

	m.cap = pre->n + fail->n + 8;
	m.v = arena_alloc(&f->ar, m.cap * sizeof(*m.v));
	memcpy(m.v, pre->v, pre->n * sizeof(*m.v));
	m.n = pre->n;
	for (size_t k = 0; k < fail->n; k++) {
		size_t j = 0;

		while (j < pre->n && m.v[j].key != fail->v[k].key)
			j++;
		if (j < pre->n)
			m.v[j].val = fail->v[k].val;
		else
			m.v[m.n++] = fail->v[k];
	}
	*fail = m;
}

/*
 * The prefregex's content replaces the line (fail2ban: content =
 * fail.pop('content'); if content: lines = [("", "", content)]), read from
 * the match: the group's text up to a NUL, as the dict would hold it. The
 * subject becomes content + "\n"; when the content ends at buf's final
 * newline that is buf's tail, moved to its front.
 */
static void
content_direct(struct filter *f)
{
	const PCRE2_SIZE *ov = f->ov;
	uint32_t g = f->content_grp;
	size_t cs = ov[2 * g], ce = ov[2 * g + 1], len = f->svlen;
	const char *z;
	struct tline *t;

	if (cs == PCRE2_UNSET || ce <= cs || f->sv[cs] == '\0')
		return; /* None or "": the line stays */
	z = f->buf_subj & SUBJ_NO_NUL ? NULL
	                              : memchr(f->sv + cs, '\0', ce - cs);
	if (z)
		ce = (size_t)(z - f->sv);
	f->linebuf.n = 0;
	f->line_ascii = f->buf_subj & FRE_SUBJ_ASCII;
	/* no newline in it when it ends before buf's only one */
	f->line_nl = !((f->buf_subj & FRE_SUBJ_ONE_NL) && ce < len);
	f->line_nul = !(f->buf_subj & SUBJ_NO_NUL);
	t = f->sv_line ? tline_view(f, &f->view[1], f->sv + cs, 0, 0, ce - cs)
	               : tline_new(f, "", 0, "", 0, f->sv + cs, ce - cs);
	tlist_push(&f->linebuf, t);
	if (ce + 1 == len && f->sv[ce] == '\n') {
		/* the subject's tail: the new subject as it is */
		f->sv += cs;
		f->svlen = len - cs;
		f->buf_valid = true;
	} else {
		f->buf_valid = false;
	}
}

/* ---- FILTER_LEAN: the same decisions on slot dicts (struct ldict) ---- */

static inline const struct fval *
lget(const struct ldict *d, int k)
{
	return d->has & LBIT(k) ? &d->v[k] : NULL;
}

static inline bool
ltruthy(const struct ldict *d, int k)
{
	return (d->has & LBIT(k)) && fval_truthy(&d->v[k]);
}

/* d.pop(k) is truthy */
static inline bool
lpop_truthy(struct ldict *d, int k)
{
	bool t = ltruthy(d, k);

	d->has &= ~LBIT(k);
	return t;
}

/*
 * A group's text s[st, en) as a slot value: a copy in the arena, or for
 * an LFLAGS slot, whose truthiness alone counts, a constant (the copy
 * ends at a NUL, so a text that starts with one is false).
 */
static inline void
lean_text(struct filter *f, struct fval *v, const char *s, size_t st, size_t en,
    bool flag)
{
	size_t l = en - st;
	char *p;

	v->type = FVAL_STR;
	if (flag) {
		v->u.s = l && s[st] != '\0' ? lflag_on : lflag_off;
		return;
	}
	p = arena_alloc(&f->ar, l + 1);
	if (l >= 8 && l <= 64) {
		/* words, the last one overlapping: most groups are short (an
		 * address, a user, a syslog prefix), and a call to memcpy
		 * costs more than the copy */
		uint64_t w;

		for (size_t i = 0; i + 8 < l; i += 8) {
			memcpy(&w, s + st + i, 8);
			memcpy(p + i, &w, 8);
		}
		memcpy(&w, s + st + l - 8, 8);
		memcpy(p + l - 8, &w, 8);
	} else if (l < 8) {
		for (size_t i = 0; i < l; i++)
			p[i] = s[st + i];
	} else {
		memcpy(p, s + st, l);
	}
	p[l] = '\0';
	v->u.s = p;
}

/* get_groups() into slots. */
static void
get_lean(
    struct filter *f, const struct fre *re, const char *s, struct ldict *out)
{
	const PCRE2_SIZE *ov = f->ov;
	uint32_t nov = f->nov, has = 0, defined = re->keep[re->nkeep];

	if (re->ntuples) {
		struct fdict d;

		/* tuple_ (and alt_) merging, then the slots */
		get_groups(f, re, s, &d);
		for (size_t i = 0; i < d.n; i++) {
			int k = lean_slot(f, d.v[i].key);

			if (k < 0)
				continue;
			defined |= LBIT(k);
			if (d.v[i].val.type == FVAL_NONE)
				continue;
			out->v[k] = d.v[i].val;
			if (LFLAGS & LBIT(k)) {
				out->v[k].type = FVAL_STR;
				out->v[k].u.s = fval_truthy(&d.v[i].val)
				    ? lflag_on
				    : lflag_off;
			}
			has |= LBIT(k);
		}
		out->has = has;
		out->defined = defined;
		return;
	}
	for (size_t k = 0; k < re->nkeep; k++) {
		uint32_t g = re->keep[k];
		unsigned slot = re->keep_slot[k];

		if (g >= nov || ov[2 * g] == PCRE2_UNSET)
			continue;
		lean_text(f, &out->v[slot & ~LK_FLAG], s, ov[2 * g],
		    ov[2 * g + 1], slot & LK_FLAG);
		has |= LBIT(slot & ~LK_FLAG);
	}
	/* alt_ groups, in fail2ban's order: a true one fills its target
	 * when that is missing or false */
	for (size_t i = 0; i < re->nalts; i++) {
		int k = lean_slot(f, re->alts[i].target);
		uint32_t g = re->names[re->alts[i].src].num;
		size_t st;

		if (k < 0 || g >= nov || ov[2 * g] == PCRE2_UNSET)
			continue;
		st = ov[2 * g];
		if (ov[2 * g + 1] == st || s[st] == '\0')
			continue;
		if ((has & LBIT(k)) && fval_truthy(&out->v[k]))
			continue;
		lean_text(
		    f, &out->v[k], s, st, ov[2 * g + 1], LFLAGS & LBIT(k));
		has |= LBIT(k);
		defined |= LBIT(k);
	}
	out->has = has;
	out->defined = defined;
}

/* merge_pre(): fail = pre.copy(); fail.update(fail) */
static void
lmerge_pre(const struct ldict *pre, struct ldict *fail)
{
	for (uint32_t b = pre->has & ~fail->defined; b; b &= b - 1) {
		int k = __builtin_ctz(b);

		fail->v[k] = pre->v[k];
		fail->has |= LBIT(k);
	}
	fail->defined |= pre->defined;
}

/* update_users() */
static struct fval *
lupdate_users(struct filter *f, struct ldict *d, const struct fval *user)
{
	struct fval *users = d->has & LBIT(LK_USERS) ? &d->v[LK_USERS] : NULL;
	struct fval nv;

	if (user == NULL ||
	    (user->type == FVAL_STR ? user->u.s[0] == '\0'
	                            : !fval_truthy(user)))
		return users;
	if (users == NULL || users->type != FVAL_SET || users->u.v.n == 0) {
		users = &d->v[LK_USERS];
		users->type = FVAL_SET;
		users->u.v.items = NULL;
		users->u.v.n = 0;
		d->has |= LBIT(LK_USERS);
	}
	for (size_t i = 0; i < users->u.v.n; i++) {
		const struct fval *it = &users->u.v.items[i];

		if (user->type == FVAL_STR && it->type == FVAL_STR
		        ? strcmp(it->u.s, user->u.s) == 0
		        : fval_equal(it, user))
			return users;
	}
	if (users->u.v.n >= MLF_USERS_MAX)
		return users;
	nv = fval_append(&f->ar, FVAL_SET, users, user, 1);
	*users = nv;
	return users;
}

/* cache_store() */
static void
lcache_store(struct filter *f, struct mlf_entry *e, const struct ldict *d)
{
	uint32_t had = e->ld.has;
	/* the entry's mlfid is its key (nothing reads the slot once the
	 * entry is found); the LFLAGS slots hold constants or ints */
	uint32_t has = d->has & ~LBIT(LK_MLFID);

	for (uint32_t b = has & ~LFLAGS; b; b &= b - 1) {
		int k = __builtin_ctz(b);
		/* the entry's own text (lmerge_failure() kept it): in e->mem */
		bool same = (had & LBIT(k)) && d->v[k].type == FVAL_STR &&
		    e->ld.v[k].type == FVAL_STR &&
		    d->v[k].u.s == e->ld.v[k].u.s;

		e->ld.v[k] = d->v[k];
		if (!same)
			fval_persist(&e->mem, &e->ld.v[k]);
	}
	for (uint32_t b = has & LFLAGS; b; b &= b - 1) {
		int k = __builtin_ctz(b);

		e->ld.v[k] = d->v[k];
	}
	e->ld.has = has;
	e->ld.defined = d->defined;
	if (e->mem.used > 2 * e->live + MLF_SLACK) {
		struct arena old = e->mem;

		arena_init_chunk(&e->mem, MLF_CHUNK);
		for (uint32_t b = has & ~LFLAGS; b; b &= b - 1)
			fval_persist(&e->mem, &e->ld.v[__builtin_ctz(b)]);
		e->live = e->mem.used;
		arena_release(&old, bury_chunk, f);
	}
}

/* merge_failure() without the matches lists */
static void
lmerge_failure(struct filter *f, const char *mlfid, struct ldict *fail,
    double now, struct mlf_entry **cached)
{
	unsigned fl = 0;
	struct mlf_entry *e;
	struct fval *users = NULL;
	const struct fval *user;
	bool pending;
	uint64_t h;

	*cached = NULL;
	if (ltruthy(fail, LK_MLFGAINED)) {
		fl |= 8 | 1;
		if (!ltruthy(fail, LK_NOFAIL)) {
			fail->v[LK_NOFAIL] = fail->v[LK_MLFGAINED];
			fail->has |= LBIT(LK_NOFAIL);
		}
	} else if (ltruthy(fail, LK_NOFAIL)) {
		fl |= 1;
	}
	if (lpop_truthy(fail, LK_MLFFORGET))
		fl |= 2;
	h = hash_str(mlfid);
	e = cache_get(f, mlfid, h, now);
	user = lget(fail, LK_USER);
	if (e) {
		/* fail = the entry's dict (less its nofail and mlfgained,
		 * and mlfpending when gained), users updated, then
		 * fail.update(): built in fail itself */
		const struct ldict *c = &e->ld;
		uint32_t from_c =
		    c->has & ~(LBIT(LK_NOFAIL) | LBIT(LK_MLFGAINED));
		bool own_users = fail->has & LBIT(LK_USERS);

		if (ltruthy(c, LK_NOFAIL) || ltruthy(c, LK_MLFGAINED))
			fl |= 4;
		if (fl & 8)
			from_c &= ~LBIT(LK_MLFPENDING);
		for (uint32_t b = from_c; b; b &= b - 1) {
			int k = __builtin_ctz(b);

			/* a text the entry already holds keeps the entry's
			 * copy: lcache_store() then copies nothing */
			if (!(fail->has & LBIT(k)) ||
			    (c->v[k].type == FVAL_STR &&
			        fail->v[k].type == FVAL_STR &&
			        strcmp(c->v[k].u.s, fail->v[k].u.s) == 0))
				fail->v[k] = c->v[k];
		}
		fail->has |= from_c;
		fail->defined |= c->defined;
		if (!own_users)
			lupdate_users(f, fail, user);
		if (fl & 2)
			cache_del(f, e);
		else
			*cached = e;
	} else if (!(fl & 2)) {
		lupdate_users(f, fail, user);
		*cached = cache_add(f, mlfid, h, now);
	}
	users = fail->has & LBIT(LK_USERS) ? &fail->v[LK_USERS] : NULL;
	pending = lpop_truthy(fail, LK_MLFPENDING);
	if (pending || (users && users->type == FVAL_SET && users->u.v.n > 1))
		fail->has &= ~(LBIT(LK_NOFAIL) | LBIT(LK_MLFGAINED));
}

/* handle_match() */
static enum step
lhandle_match(struct filter *f, int idx, struct ldict *fail, bool has_date,
    double date, double now)
{
	bool check_all = f->cfg.flags & FILTER_CHECK_ALL;
	const char *mlfid = val_text(f, lget(fail, LK_MLFID));
	struct mlf_entry *cached = NULL;
	const struct fval *fidv, *ipv = NULL, *ip4, *ip6, *dns;
	long cidr = f->raw ? CIDR_RAW : CIDR_UNSPEC;
	long defcidr = cidr;
	bool raw = f->raw;
	enum step st = STEP_NEXT;
	struct filter_id id;

	if (mlfid) {
		lmerge_failure(f, mlfid, fail, now, &cached);
		if (ltruthy(fail, LK_NOFAIL) && !check_all) {
			st = STEP_RETURN;
			goto out;
		}
	}
	fidv = lget(fail, LK_FID);
	ip4 = lget(fail, LK_IP4);
	ip6 = lget(fail, LK_IP6);
	dns = lget(fail, LK_DNS);
	if (ip4 || ip6) {
		const struct fval *c = lget(fail, LK_CIDR);

		ipv = ip4 ? ip4 : ip6;
		if (c && fval_truthy(c))
			cidr = strtol(val_text(f, c), NULL, 10);
		else
			cidr = ip4 ? CIDR_FAM4 : CIDR_FAM6;
		raw = true;
	} else if (dns) {
		ipv = dns;
	} else {
		if (fidv == NULL && mlfid == NULL) {
			f->stats.noid++;
			f->warn |= FILTER_WARN_NOID;
			st = STEP_CONTINUE;
			goto out;
		}
		ipv = fidv;
		raw = true;
	}
	if (ipv == NULL) {
		fail->v[LK_MLFPENDING].type = FVAL_INT;
		fail->v[LK_MLFPENDING].u.i = 1;
		fail->has |= LBIT(LK_MLFPENDING);
		if (!check_all && !(f->cfg.flags & FILTER_KEEP_PENDING)) {
			st = STEP_RETURN;
			goto out;
		}
		emit_base(f, idx, FAILURE_PENDING, NULL, has_date, date,
		    ltruthy(fail, LK_NOFAIL));
	} else if (raw) {
		const char *ip = val_text(f, ipv);

		if (fidv == NULL || fval_equal(fidv, ipv)) {
			if (make_id(f, ip, cidr, &id) < 0)
				goto noid;
		} else {
			struct filter_id ipid; /* "ip": shown, never read */

			if (make_id(f, ip, cidr, &ipid) < 0 ||
			    make_id(f, val_text(f, fidv), defcidr, &id) < 0)
				goto noid;
		}
		emit_base(f, idx, id.is_addr ? FAILURE_ADDR : FAILURE_RAW, &id,
		    has_date, date, ltruthy(fail, LK_NOFAIL));
	} else {
		const char *host = val_text(f, ipv);

		if (is_ipv4_shaped(host) &&
		    make_id(f, host, CIDR_UNSPEC, &id) == 0 && id.is_addr) {
			emit_base(f, idx, FAILURE_ADDR, &id, has_date, date,
			    ltruthy(fail, LK_NOFAIL));
		} else if (strcmp(f->usedns, "yes") == 0 ||
		    strcmp(f->usedns, "warn") == 0) {
			memset(&id, 0, sizeof(id));
			id.text = host;
			emit_base(f, idx, FAILURE_DNS, &id, has_date, date,
			    ltruthy(fail, LK_NOFAIL));
		}
	}
	goto out;
noid:
	f->stats.noid++;
	f->warn |= FILTER_WARN_NOID;
	st = STEP_CONTINUE;
out:
	if (cached)
		lcache_store(f, cached, fail);
	return st;
}

/* The failregexes' subject, the line buffer joined, unless it is valid. */
static inline void
subject_join(struct filter *f)
{
	if (f->buf_valid)
		return;
	f->buf_subj = tlist_join(&f->linebuf, &f->buf);
	f->sv = f->buf.s;
	f->svlen = f->buf.len;
	f->sv_line = false;
	f->buf_valid = true;
}

/* fail2ban's findFailure for the tuple line t. */
static void
find_failure(struct filter *f, struct tline *t, bool has_date, double date,
    bool nodate, double now)
{
	bool check_all = f->cfg.flags & FILTER_CHECK_ALL;
	bool lean = f->cfg.flags & FILTER_LEAN;
	struct fdict pre = {NULL, 0, 0};
	struct ldict lpre;
	const PCRE2_SIZE *lazy_ov = NULL; /* lpre still to read */
	uint32_t lazy_nov = 0;
	const char *lazy_s = NULL;
	size_t i0 = 0; /* the first failregex to try */

	lpre.has = lpre.defined = 0;
	if (f->maxlines > 1) {
		tlist_push(&f->linebuf, t);
		if (f->linebuf.n > (size_t)f->maxlines) {
			size_t drop = f->linebuf.n - (size_t)f->maxlines;

			memmove(f->linebuf.v, f->linebuf.v + drop,
			    (f->linebuf.n - drop) * sizeof(f->linebuf.v[0]));
			f->linebuf.n -= drop;
		}
		tlist_assign(&f->orgbuf, &f->linebuf);
	} else {
		/* the line alone, in both lists, without calls */
		if (f->linebuf.cap == 0)
			xgrow(&f->linebuf.v, &f->linebuf.cap, 1,
			    sizeof(*f->linebuf.v));
		if (f->orgbuf.cap == 0)
			xgrow(&f->orgbuf.v, &f->orgbuf.cap, 1,
			    sizeof(*f->orgbuf.v));
		f->linebuf.v[0] = t;
		f->linebuf.n = 1;
		f->orgbuf.v[0] = t;
		f->orgbuf.n = 1;
	}
	if (f->pre && f->maxlines == 1 && t->pre == 0 &&
	    t->post <= f->pre->len && f->pre->line[f->pre->len] == '\n') {
		/* the line worked out ahead is followed by its newline: what
		 * tlist_join() would make (t's text after the date, which ends
		 * the line, and "\n") is in place */
		f->sv = f->pre->line + f->pre->len - t->post;
		f->svlen = t->post + 1;
		f->sv_line = true;
		f->buf_subj = (t->ascii ? FRE_SUBJ_ASCII : 0) |
		    (t->nl ? 0 : FRE_SUBJ_NL_KNOWN | FRE_SUBJ_ONE_NL) |
		    (t->nul ? 0 : SUBJ_NO_NUL);
	} else {
		f->buf_subj = tlist_join(&f->orgbuf, &f->buf);
		f->sv = f->buf.s;
		f->svlen = f->buf.len;
		f->sv_line = false;
	}
	f->buf_valid = true;

	if (f->nign && f->nign + 2 < f->nfail && ignore_line(f, false))
		return;
	if (f->has_pref) {
		struct fval content;

		f->pref_matched =
		    re_search(f, &f->pref, f->sv, f->svlen, f->buf_subj);
		if (!f->pref_matched)
			return;
		if (lean && f->content_grp && f->sv_line && f->ov != f->md_ov) {
			/* the prefregex's groups are read when a failregex
			 * matches: its ovector (the line's worked out ahead)
			 * and subject (in the line) stay as they are */
			lazy_ov = f->ov;
			lazy_nov = f->nov;
			lazy_s = f->sv;
			content.type = FVAL_NONE;
		} else if (lean) {
			get_lean(f, &f->pref, f->sv, &lpre);
			content.type = FVAL_NONE;
			if (lpre.has & LBIT(LK_CONTENT))
				content = lpre.v[LK_CONTENT];
			lpre.has &= ~LBIT(LK_CONTENT);
			lpre.defined &= ~LBIT(LK_CONTENT);
		} else {
			get_groups(f, &f->pref, f->sv, &pre);
			fdict_copy(&f->ar, &f->pref_groups, &pre);
			if (!fdict_pop(&pre, f->k.content, &content))
				content.type = FVAL_NONE;
		}
		if (f->content_grp) {
			content_direct(f);
		} else if (fval_truthy(&content)) {
			const char *c = val_text(f, &content);

			f->linebuf.n = 0;
			/* a part of buf */
			f->line_ascii = f->buf_subj & FRE_SUBJ_ASCII;
			f->line_nl = true;
			f->line_nul = true;
			tlist_push(&f->linebuf,
			    tline_new(f, "", 0, "", 0, c, strlen(c)));
			f->buf_valid = false;
		}
	}
	if (f->pre && f->nfail) {
		/* the subject as the loop below starts with it */
		subject_join(f);
		i0 = pre_skip(f);
	}
	for (size_t i = i0; i < f->nfail; i++) {
		struct fre *fr;
		struct fdict fail;
		struct ldict lfail;
		enum step st;
		const uint64_t *cand;
		uint64_t bits;
		size_t w;

		subject_join(f);
		/* the next failregex whose screen admits the subject's first
		 * byte (the subject may change inside this loop) */
		cand = f->cand + (size_t)(unsigned char)f->sv[0] * f->ncandw;
		w = i / 64;
		bits = cand[w] & (~0ULL << (i % 64));
		while (bits == 0 && ++w < f->ncandw)
			bits = cand[w];
		if (bits == 0)
			break;
		i = w * 64 + (size_t)__builtin_ctzll(bits);
		fr = &f->fail[i];
		if (!fail_search(f, fr, &f->orgbuf))
			continue;
		if (lean)
			get_lean(f, fr, f->sv, &lfail);
		else
			get_groups(f, fr, f->sv, &fail);
		if (f->nign && ignore_line(f, true)) {
			f->buf_valid = false;
			if (!check_all)
				break;
			continue;
		}
		if (nodate) {
			f->warn |= FILTER_WARN_NODATE;
			if (!has_date && (f->cfg.flags & FILTER_CHECK_FINDTIME))
				continue;
		}
		if (!check_all || f->maxlines > 1) {
			tlist_assign(&f->linebuf, &f->unmatched);
			f->buf_valid = false;
		}
		if (lean) {
			if (lazy_s) {
				const PCRE2_SIZE *ov = f->ov;
				uint32_t nov = f->nov;

				f->ov = lazy_ov;
				f->nov = lazy_nov;
				get_lean(f, &f->pref, lazy_s, &lpre);
				f->ov = ov;
				f->nov = nov;
				lazy_s = NULL;
			}
			lmerge_pre(&lpre, &lfail);
			st = lhandle_match(
			    f, (int)i, &lfail, has_date, date, now);
		} else {
			if (pre.n)
				merge_pre(f, &pre, &fail);
			st =
			    handle_match(f, (int)i, &fail, has_date, date, now);
		}
		if (st == STEP_RETURN)
			return;
		if (st == STEP_CONTINUE)
			continue;
		if (!check_all)
			break;
	}
}

/* ---- lines ---- */

static inline __attribute__((always_inline)) void
begin_line(struct filter *f)
{
	grave_empty(f);
	arena_reset(&f->ar);
	f->res = NULL;
	f->nres = 0;
	f->capres = 0;
	f->line_ignored = false;
	f->warn = 0;
	f->date_int = false;
	f->pref_groups.v = NULL;
	f->pref_groups.n = 0;
	f->pref_groups.cap = 0;
	f->stats.lines++;
}

static size_t
end_line(struct filter *f, struct filter_result *res)
{
	tline_sweep(f);
	memset(res, 0, sizeof(*res));
	res->v = f->res;
	res->n = f->nres;
	res->ignored = f->line_ignored;
	res->pref_matched = f->pref_matched;
	if (f->pref_groups.n) {
		res->pref_groups = f->pref_groups.v;
		res->npref_groups = f->pref_groups.n;
	}
	res->warn = f->warn;
	return res->n;
}

/* The server's date checks (spec 3.5). Returns false to drop the line. */
static bool
check_findtime(struct filter *f, bool has_date, double *date, double now)
{
	if (!(f->cfg.flags & FILTER_CHECK_FINDTIME) || !has_date)
		return true;
	if (f->in_operation) {
		double delta = trunc(*date - now);

		if (fabs(delta) > 60) {
			f->warn |= FILTER_WARN_TIME_ADJUSTED;
			*date = now;
			f->date_int = false;
			f->last_date = now;
			f->last_date_int = false;
			f->has_last_date = true;
		}
		return true;
	}
	if (*date < now - f->cfg.findtime) {
		f->warn |= FILTER_WARN_TOO_OLD;
		return false;
	}
	return true;
}

/* line's length without trailing "\r\n", cut at max (*cut then). */
static size_t
clip_len(size_t max, const char *line, size_t len, bool *cut)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	*cut = len > max;
	return *cut ? max : len;
}

static void
count_cut(struct filter *f)
{
	f->stats.truncated++;
	f->warn |= FILTER_WARN_TRUNCATED;
}

static size_t
clip(struct filter *f, const char *line, size_t len)
{
	bool cut;

	len = clip_len(f->cfg.max_line_len, line, len, &cut);
	if (cut)
		count_cut(f);
	return len;
}

/*
 * Length of the valid UTF-8 sequence at s, or 0 with *bad set to the
 * length of the maximal invalid subpart (Unicode's recommended practice,
 * which Python's "replace" decoding follows).
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	*bad = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i <= need; i++) {
		unsigned char b;

		if (i >= n)
			break;
		b = s[i];
		if (b < lo || b > hi)
			break;
		lo = 0x80;
		hi = 0xbf;
	}
	if (i > need)
		return need + 1;
	*bad = i;
	return 0;
}

/*
 * Whether s[0..n) is all ASCII, whether it holds a '\n' and whether it
 * holds a NUL, in one pass without a branch per byte (16 bytes at a time
 * where SSE2 is there).
 */
static void
scan_line(const unsigned char *s, size_t n, bool *ascii, bool *nl, bool *nul)
{
	size_t i = 0;
	unsigned high = 0, lf = 0, zero = 0;

#ifdef __SSE2__
	__m128i acc = _mm_setzero_si128(), eq = _mm_setzero_si128();
	__m128i z = _mm_setzero_si128();
	const __m128i nlv = _mm_set1_epi8('\n'), zv = _mm_setzero_si128();

	if (n >= 16) {
		for (; i + 16 <= n; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(s + i));

			acc = _mm_or_si128(acc, v);
			eq = _mm_or_si128(eq, _mm_cmpeq_epi8(v, nlv));
			z = _mm_or_si128(z, _mm_cmpeq_epi8(v, zv));
		}
		if (i < n) {
			/* the last 16 bytes, overlapping */
			__m128i v =
			    _mm_loadu_si128((const __m128i *)(s + n - 16));

			acc = _mm_or_si128(acc, v);
			eq = _mm_or_si128(eq, _mm_cmpeq_epi8(v, nlv));
			z = _mm_or_si128(z, _mm_cmpeq_epi8(v, zv));
			i = n;
		}
		high = (unsigned)_mm_movemask_epi8(acc);
		lf = (unsigned)_mm_movemask_epi8(eq);
		zero = (unsigned)_mm_movemask_epi8(z);
	}
#endif
	for (; i < n; i++) {
		high |= s[i] & 0x80;
		lf |= s[i] == '\n';
		zero |= s[i] == '\0';
	}
	*ascii = high == 0;
	*nl = lf != 0;
	*nul = zero != 0;
}

/*
 * Lines are decoded as UTF-8 with replacement, as fail2ban decodes them:
 * returns line itself when it is valid, else a copy in out with each
 * invalid subpart replaced by U+FFFD. Sets *ascii, *nl and *nul as
 * scan_line().
 */
static const char *
utf8_repair(struct sbuf *out, const char *line, size_t *len, bool *ascii,
    bool *nl, bool *nul)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t n = *len, i = 0, bad;
	uint64_t w;

	scan_line(s, n, ascii, nl, nul);
	if (*ascii)
		return line;
	while (i < n) {
		size_t l;

		if (i + 8 <= n) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		l = utf8_seq(s + i, n - i, &bad);
		if (l == 0)
			break;
		i += l;
	}
	if (i == n)
		return line;
	sbuf_reset(out);
	sbuf_add(out, line, i);
	while (i < n) {
		size_t l = utf8_seq(s + i, n - i, &bad);

		if (l) {
			sbuf_add(out, s + i, l);
			i += l;
		} else {
			sbuf_addstr(out, "\xef\xbf\xbd");
			i += bad;
		}
	}
	*len = out->len;
	return out->s;
}

/* utf8_repair() into f->utf8, setting f->line_ascii, _nl and _nul. */
static const char *
utf8_clean(struct filter *f, const char *line, size_t *len)
{
	return utf8_repair(
	    &f->utf8, line, len, &f->line_ascii, &f->line_nl, &f->line_nul);
}

static bool
last_date_recent(const struct filter *f, double now)
{
	return f->has_last_date && f->last_date != 0 && f->last_date > now - 60;
}

/* filter_process() after the date detection (drc, *m). */
static inline __attribute__((always_inline)) size_t
process_dated(struct filter *f, const char *line, size_t len, int drc,
    const struct date_match *m, double now, struct filter_result *res)
{
	struct tline *t;
	bool has_date = false, nodate = false;
	double date = 0;
	/* the pipeline's single-line filter: the line outlives the line
	 * buffer's hold on it (see tline_view()) */
	bool view = f->pre && f->maxlines == 1;

	if (drc == 1 && m->start <= m->end && m->end <= len) {
		if (!m->has_time && m->err == DATE_EOTHER) {
			/* fail2ban raises while converting the date and loses
			 * the whole line ("Failed to process line") */
			f->stats.date_errors++;
			f->warn |= FILTER_WARN_DATE_ERROR;
			return end_line(f, res);
		}
		t = view ? tline_view(f, &f->view[0], line, m->start,
		               m->end - m->start, len - m->end)
		         : tline_new(f, line, m->start, line + m->start,
		               m->end - m->start, line + m->end, len - m->end);
		if (m->end > m->start) {
			if (m->has_time) {
				date = m->time;
				f->date_int = m->int_time;
				has_date = true;
				size_t dl = m->end - m->start;

				/* on every dated line: no sbuf calls */
				if (dl + 1 > f->last_text.cap)
					xgrow(&f->last_text.s,
					    &f->last_text.cap, dl + 1, 1);
				memcpy(f->last_text.s, line + m->start, dl);
				f->last_text.s[dl] = '\0';
				f->last_text.len = dl;
				f->last_date = date;
				f->last_date_int = m->int_time;
				f->has_last_date = true;
			}
		} else if (last_date_recent(f, now)) {
			t = tline_new(f, "", 0, f->last_text.s,
			    f->last_text.len, line, len);
			date = f->last_date;
			f->date_int = f->last_date_int;
			has_date = true;
		} else {
			date = now;
			f->date_int = false;
			has_date = true;
		}
	} else {
		t = view ? tline_view(f, &f->view[0], line, 0, 0, len)
		         : tline_new(f, "", 0, "", 0, line, len);
	}
	if (!has_date) {
		nodate = true;
		if (last_date_recent(f, now)) {
			t = tline_new(f, "", 0, f->last_text.s,
			    f->last_text.len, line, len);
			date = f->last_date;
			f->date_int = f->last_date_int;
			has_date = true;
		} else if ((f->cfg.flags & FILTER_CHECK_FINDTIME) &&
		    f->in_operation) {
			date = now;
			f->date_int = false;
			has_date = true;
		}
	}
	if (check_findtime(f, has_date, &date, now))
		find_failure(f, t, has_date, date, nodate, now);
	return end_line(f, res);
}

size_t
filter_process(struct filter *f, const char *line, size_t len, double now,
    struct filter_result *res)
{
	struct date_match m;
	int drc = 0;

	begin_line(f);
	len = clip(f, line, len);
	line = utf8_clean(f, line, &len);
	if (f->dd)
		drc = datedetect_match(f->dd, line, len, (time_t)now, &m);
	return process_dated(f, line, len, drc, &m, now, res);
}

size_t
filter_process_entry(struct filter *f, const char *date_text, const char *msg,
    size_t len, double time, double now, struct filter_result *res)
{
	struct tline *t;
	size_t dl = date_text ? strlen(date_text) : 0;

	begin_line(f);
	len = clip(f, msg, len);
	msg = utf8_clean(f, msg, &len);
	t = tline_new(f, "", 0, date_text, dl, msg, len);
	sbuf_reset(&f->last_text);
	sbuf_add(&f->last_text, date_text ? date_text : "", dl);
	f->last_date = time;
	f->last_date_int = false;
	f->has_last_date = true;
	f->date_int = false;
	if (check_findtime(f, true, &time, now))
		find_failure(f, t, true, time, false, now);
	return end_line(f, res);
}

/* ---- lifecycle ---- */

static const char *
norm_usedns(const char *v, const char *file, struct diags *d)
{
	static const char *const ok[] = {"yes", "warn", "no", "raw"};
	char low[8];
	size_t n;

	if (v == NULL)
		return "warn";
	n = strlen(v);
	if (n < sizeof(low)) {
		for (size_t i = 0; i <= n; i++)
			low[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32
			                                           : v[i]);
		for (size_t i = 0; i < 4; i++)
			if (strcmp(low, ok[i]) == 0)
				return ok[i];
		if (strcmp(low, "true") == 0)
			return "yes";
		if (strcmp(low, "false") == 0)
			return "no";
	}
	diag_add(d, DIAG_WARNING, file, 0,
	    "Incorrect value '%s' specified for usedns. Using safe 'no'", v);
	return "no";
}

struct filter *
filter_new(const struct filterdef *fd, const struct filter_config *cfg,
    time_t now, struct diags *d)
{
	struct filter *f = xcalloc(1, sizeof(*f));
	size_t nerr = d->nerrors;
	uint32_t maxcap = 0;
	unsigned ddflags = 0;

	if (cfg)
		f->cfg = *cfg;
	if (f->cfg.max_line_len == 0)
		f->cfg.max_line_len = FILTER_MAX_LINE_DEFAULT;
	if (f->cfg.findtime <= 0)
		f->cfg.findtime = 600;
	f->usedns = xstrdup(norm_usedns(fd->usedns, fd->name, d));
	f->raw =
	    strcmp(f->usedns, "raw") == 0 || (f->cfg.flags & FILTER_RAW_HOSTS);
	f->maxlines = fd->maxlines > 0 ? fd->maxlines : 1;
	f->in_operation = true;
	arena_init(&f->ar);
	cache_init(f);
#define K(field, name) f->k.field = intern_str(&f->keys, name)
	K(mlfid, "mlfid");
	K(nofail, "nofail");
	K(mlfgained, "mlfgained");
	K(mlfforget, "mlfforget");
	K(mlfpending, "mlfpending");
	K(users, "users");
	K(user, "user");
	K(matches, "matches");
	K(nofail_matches, "nofail-matches");
	K(fid, "fid");
	K(ip4, "ip4");
	K(ip6, "ip6");
	K(dns, "dns");
	K(cidr, "cidr");
	K(ip, "ip");
	K(content, "content");
#undef K
	if (fd->prefregex.re) {
		if (fre_compile(&f->pref, fd->prefregex.re, fd->prefregex.file,
		        fd->prefregex.line, f->usedns, false, FRE_PREF, NULL,
		        &f->keys, d) == 0)
			f->has_pref = true;
	}
	f->fail = xcalloc(fd->failregex.n + 1, sizeof(*f->fail));
	for (size_t i = 0; i < fd->failregex.n; i++) {
		const struct filterdef_re *r = &fd->failregex.v[i];

		if (fre_compile(&f->fail[f->nfail], r->re, r->file, r->line,
		        f->usedns, f->maxlines > 1, FRE_FAIL,
		        f->has_pref ? &f->pref : NULL, &f->keys, d) == 0)
			f->nfail++;
	}
	f->ign = xcalloc(fd->ignoreregex.n + 1, sizeof(*f->ign));
	f->ign_hits = xcalloc(fd->ignoreregex.n + 1, sizeof(*f->ign_hits));
	for (size_t i = 0; i < fd->ignoreregex.n; i++) {
		const struct filterdef_re *r = &fd->ignoreregex.v[i];

		if (fre_compile(&f->ign[f->nign], r->re, r->file, r->line,
		        f->usedns, false, FRE_IGNORE, NULL, &f->keys, d) == 0)
			f->nign++;
	}
	if (f->cfg.flags & FILTER_WIDE_YEARS)
		ddflags |= DATEDETECT_WIDE_YEARS;
	f->dd = datedetect_new(fd->datepattern.re, fd->logtimezone, ddflags,
	    now, fd->datepattern.file, fd->datepattern.line, d);
	if (d->nerrors > nerr) {
		filter_free(f);
		return NULL;
	}
	if (f->has_pref)
		maxcap = f->pref.ncaptures;
	for (size_t i = 0; i < f->nfail; i++)
		if (f->fail[i].ncaptures > maxcap)
			maxcap = f->fail[i].ncaptures;
	for (size_t i = 0; i < f->nign; i++)
		if (f->ign[i].ncaptures > maxcap)
			maxcap = f->ign[i].ncaptures;
	if (f->cfg.flags & FILTER_LEAN) {
		if (f->has_pref)
			lean_needs(f, &f->pref);
		f->content_grp = f->has_pref ? content_group(f) : 0;
		for (size_t i = 0; i < f->nfail; i++)
			lean_needs(f, &f->fail[i]);
		if (f->has_pref)
			lean_keep(f, &f->pref);
		for (size_t i = 0; i < f->nfail; i++)
			lean_keep(f, &f->fail[i]);
	}
	f->ncandw = f->nfail / 64 + 1;
	f->cand = xcalloc(256 * f->ncandw, sizeof(*f->cand));
	for (size_t i = 0; i < f->nfail; i++)
		for (unsigned c = 0; c < 256; c++)
			if (!f->fail[i].has_first ||
			    (f->fail[i].first[c >> 3] & (1u << (c & 7))))
				f->cand[c * f->ncandw + i / 64] |= 1ULL
				    << (i % 64);
	f->md = pcre2_match_data_create(maxcap + 1, NULL);
	f->md_ov = pcre2_get_ovector_pointer(f->md);
	f->md_nov = pcre2_get_ovector_count(f->md);
	f->ov = f->md_ov;
	f->nov = f->md_nov;
	f->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(f->mctx,
	    f->cfg.match_limit ? f->cfg.match_limit : DEFAULT_MATCH_LIMIT);
	pcre2_set_depth_limit(f->mctx,
	    f->cfg.depth_limit ? f->cfg.depth_limit : DEFAULT_DEPTH_LIMIT);
	pcre2_set_heap_limit(f->mctx, 64 * 1024); /* KiB */
	f->jstack = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
	if (f->jstack)
		pcre2_jit_stack_assign(f->mctx, NULL, f->jstack);
	return f;
}

void
filter_reset(struct filter *f)
{
	f->linebuf.n = 0;
	tline_sweep(f);
	cache_clear(f);
	sbuf_reset(&f->last_text);
	f->has_last_date = false;
	f->last_date = 0;
}

void
filter_free(struct filter *f)
{
	if (f == NULL)
		return;
	if (f->has_pref)
		fre_cleanup(&f->pref);
	for (size_t i = 0; i < f->nfail; i++)
		fre_cleanup(&f->fail[i]);
	free(f->fail);
	for (size_t i = 0; i < f->nign; i++)
		fre_cleanup(&f->ign[i]);
	free(f->ign);
	free(f->ign_hits);
	free(f->cand);
	datedetect_free(f->dd);
	pcre2_match_data_free(f->md);
	pcre2_match_context_free(f->mctx);
	pcre2_jit_stack_free(f->jstack);
	arena_cleanup(&f->ar);
	tline_free_list(f->live);
	tline_free_list(f->spare);
	free(f->linebuf.v);
	free(f->orgbuf.v);
	free(f->matched.v);
	free(f->unmatched.v);
	sbuf_cleanup(&f->buf);
	sbuf_cleanup(&f->ibuf);
	sbuf_cleanup(&f->tmp);
	sbuf_cleanup(&f->utf8);
	sbuf_cleanup(&f->last_text);
	cache_clear(f);
	for (int i = 0; f->cache != NULL && i < FILTER_MLFID_MAX; i++)
		free(f->cache[i].v);
	free(f->cache);
	grave_empty(f);
	free(f->grave);
	free(f->usedns);
	intern_cleanup(&f->keys);
	free(f);
}

void
filter_set_in_operation(struct filter *f, bool on)
{
	f->in_operation = on;
}

int
filter_maxlines(const struct filter *f)
{
	return f->maxlines;
}

size_t
filter_failregex_count(const struct filter *f)
{
	return f->nfail;
}

size_t
filter_ignoreregex_count(const struct filter *f)
{
	return f->nign;
}

const char *
filter_failregex(const struct filter *f, size_t i)
{
	return i < f->nfail ? f->fail[i].src : NULL;
}

const char *
filter_failregex_expanded(const struct filter *f, size_t i)
{
	return i < f->nfail ? f->fail[i].expanded : NULL;
}

const char *
filter_ignoreregex(const struct filter *f, size_t i)
{
	return i < f->nign ? f->ign[i].src : NULL;
}

unsigned long
filter_ignoreregex_hits(const struct filter *f, size_t i)
{
	return i < f->nign ? f->ign_hits[i] : 0;
}

const char *
filter_prefregex_expanded(const struct filter *f)
{
	return f->has_pref ? f->pref.expanded : NULL;
}

struct datedetect *
filter_datedetect(const struct filter *f)
{
	return f->dd;
}

size_t
filter_buffer_count(const struct filter *f)
{
	return f->linebuf.n;
}

void
filter_buffer_get(const struct filter *f, size_t i, const char **pre,
    size_t *pre_len, const char **date, size_t *date_len, const char **post,
    size_t *post_len)
{
	const struct tline *t = f->linebuf.v[i];

	*pre = t->s;
	*pre_len = t->pre;
	*date = t->s + t->pre;
	*date_len = t->date;
	*post = t->s + t->pre + t->date;
	*post_len = t->post;
}

void
filter_get_stats(const struct filter *f, struct filter_stats *st)
{
	*st = f->stats;
}

/* ---- pipelines: the first stage (filter.h) ---- */

struct filter_prep {
	struct filter *f; /* its dd is this stage's; the rest is read */
	/*
	 * What this stage reads of f for every line, copied: the main
	 * thread writes struct filter's per-line fields (begin_line()) in
	 * the cache lines that hold cand, ncandw and content_grp, and
	 * reading them there moved those lines between the cores for
	 * every line.
	 */
	const uint64_t *cand;
	size_t ncandw;
	size_t max_line_len;
	uint32_t content_grp;
	int maxlines;
	uint8_t nfail64; /* failregexes, at most 64 (struct filter_pre) */
	bool has_pref;
	struct sbuf s1, s2; /* the subjects (struct filter_pre) */
	struct sbuf view;   /* s1 when it is in the line (s and len only) */
	struct sbuf tail;   /* s2 when it is s1's tail (s and len only) */
	pcre2_match_data *md;
	const PCRE2_SIZE *md_ov; /* md's ovector */
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
};

struct filter_prep *
filter_prep_new(struct filter *f)
{
	/* the reader thread writes it for every line (the subjects' views):
	 * cache lines of its own (xmalloc_lines()) */
	struct filter_prep *p = xmalloc_lines(sizeof(*p));

	memset(p, 0, sizeof(*p));
	p->f = f;
	p->cand = f->cand;
	p->ncandw = f->ncandw;
	p->max_line_len = f->cfg.max_line_len;
	p->content_grp = f->content_grp;
	p->maxlines = f->maxlines;
	p->has_pref = f->has_pref;
	p->nfail64 = (uint8_t)(f->nfail < 64 ? f->nfail : 64);
	sbuf_init(&p->s1);
	sbuf_init(&p->s2);
	/* a pair more: room for ov_narrow() */
	p->md =
	    pcre2_match_data_create(pcre2_get_ovector_count(f->md) + 1, NULL);
	p->md_ov = pcre2_get_ovector_pointer(p->md);
	/* the same limits, so that a search ends as the filter's would */
	p->mctx = pcre2_match_context_copy(f->mctx);
	p->jstack = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
	pcre2_jit_stack_assign(p->mctx, NULL, p->jstack);
	return p;
}

void
filter_prep_free(struct filter_prep *p)
{
	if (p == NULL)
		return;
	sbuf_cleanup(&p->s1);
	sbuf_cleanup(&p->s2);
	pcre2_match_data_free(p->md);
	pcre2_match_context_free(p->mctx);
	pcre2_jit_stack_free(p->jstack);
	free(p);
}

struct filter_pre *
filter_pre_new(const struct filter *f)
{
	struct filter_pre *pre = xcalloc(1, sizeof(*pre));

	(void)f;
	sbuf_init(&pre->utf8);
	return pre;
}

void
filter_pre_free(struct filter_pre *pre)
{
	if (pre == NULL)
		return;
	sbuf_cleanup(&pre->utf8);
	free(pre);
}

/*
 * re_search()'s screens, then the search into *r (its ovector into pre).
 * Returns false when a match's ovector does not fit: it is not kept.
 * cand: s's first byte is known to pass re's first-byte screen (f->cand).
 */
static inline __attribute__((always_inline)) bool
prep_search(struct filter_prep *p, struct filter_pre *pre, const struct fre *re,
    const struct sbuf *s, unsigned subj, bool cand, struct pre_res *r)
{
	size_t n = 2 * ((size_t)re->ncaptures + 1);
	int rc;

	r->rc = PCRE2_ERROR_NOMATCH;
	if (s->len < re->minlen)
		return true;
	if (!cand && re->has_first) {
		unsigned char c = (unsigned char)s->s[0];

		if (!(re->first[c >> 3] & (1u << (c & 7))))
			return true;
	}
	if (re->nlit &&
	    (s->len < re->nlit || !lit_equal(s->s, re->lit, re->nlit)))
		return true;
	rc = fre_match(re, s->s, s->len, subj, p->md, p->mctx);
	/* any error but "no match" is counted alike (re_search()) */
	r->rc = (int8_t)(rc < INT8_MIN ? INT8_MIN : rc);
	if (rc < 0)
		return true;
	if (pre->nov + n > PRE_OV)
		return false;
	ov_narrow(pre->ov + pre->nov, p->md_ov, n / 2);
	r->ov = (uint16_t)pre->nov;
	pre->nov = (uint16_t)(pre->nov + n);
	return true;
}

/*
 * The searches of a single-line filter: the prefregex on the date-less
 * line + "\n" (tlist_join()), then the failregexes its first byte admits
 * on the content as content_direct() makes it, or on the same subject
 * without a prefregex.
 */
static void
prep_searches(struct filter_prep *p, struct filter_pre *pre, const char *line)
{
	const struct filter *f = p->f;
	const struct date_match *m = &pre->m;
	/* what tlist_join() tells of the subject: both subjects end in the
	 * only newline when the line holds none */
	unsigned subj = (pre->ascii ? FRE_SUBJ_ASCII : 0) |
	    (pre->nl ? 0 : FRE_SUBJ_NL_KNOWN | FRE_SUBJ_ONE_NL);
	struct sbuf *s1 = &p->s1, *s2 = s1;
	const uint64_t *cand;
	size_t n;

	if (p->maxlines > 1 || (p->has_pref && p->content_grp == 0))
		return; /* the subject depends on more than this line */
	if (pre->len > INT32_MAX - 2)
		return; /* offsets in it would not fit in pre (ov_narrow()) */
	pre->cut0 = (uint32_t)pre->len;
	pre->cut = 0;
	if (pre->drc == 1 && m->start <= m->end && m->end <= pre->len) {
		if (!m->has_time && m->err == DATE_EOTHER)
			return; /* the line is dropped */
		pre->cut0 = (uint32_t)m->start;
		pre->cut = (uint32_t)(m->end - m->start);
	}
	n = pre->len - pre->cut;
	if (pre->line == line && pre->line[pre->len] == '\n' &&
	    (pre->cut0 == 0 || pre->cut == 0)) {
		/* the line followed by its newline, the date at its start
		 * or none: the subject is in place */
		p->view.s = (char *)pre->line + (pre->cut0 == 0 ? pre->cut : 0);
		p->view.len = n + 1;
		s1 = s2 = &p->view;
	} else {
		/* one copy, as tlist_join() makes it */
		if (n + 2 > s1->cap)
			xgrow(&s1->s, &s1->cap, n + 2, 1);
		memcpy(s1->s, pre->line, pre->cut0);
		memcpy(s1->s + pre->cut0, pre->line + pre->cut0 + pre->cut,
		    n - pre->cut0);
		s1->s[n] = '\n';
		s1->s[n + 1] = '\0';
		s1->len = n + 1;
	}
	pre->s2off = 0;
	pre->s2len = (uint32_t)(s1->len - 1);
	if (p->has_pref) {
		const uint32_t *ov;
		uint32_t g = p->content_grp;
		size_t cs, ce;
		const char *z;

		if (!prep_search(p, pre, &f->pref, s1, subj, false, &pre->pref))
			return;
		pre->has_s1 = true;
		if (pre->pref.rc < 0)
			return;
		ov = pre->ov + pre->pref.ov;
		cs = ov[2 * g];
		ce = ov[2 * g + 1];
		if (ov[2 * g] != PRE_UNSET && ce > cs && s1->s[cs] != '\0') {
			z = pre->nul ? memchr(s1->s + cs, '\0', ce - cs) : NULL;
			if (z)
				ce = (size_t)(z - s1->s);
			if (ce > s1->len - 1)
				return; /* holds the final newline */
			pre->s2off = (uint32_t)cs;
			pre->s2len = (uint32_t)(ce - cs);
			if (ce + 1 == s1->len) {
				/* the usual tail of s1: searched in place */
				p->tail.s = s1->s + cs;
				p->tail.len = s1->len - cs;
				s2 = &p->tail;
			} else {
				s2 = &p->s2;
				sbuf_reset(s2);
				sbuf_add(s2, s1->s + cs, ce - cs);
				sbuf_addch(s2, '\n');
			}
		}
	}
	pre->has_s2 = true;
	cand = p->cand + (size_t)(unsigned char)s2->s[0] * p->ncandw;
	pre->nres = 0;
	/* the failregexes the subject's first byte admits, in find_failure()'s
	 * order: skip is the first not known to miss */
	pre->skip = p->nfail64;
	for (uint64_t b = cand[0]; b; b &= b - 1) {
		unsigned i = (unsigned)__builtin_ctzll(b);
		struct pre_res *r = &pre->res[pre->nres];

		if (pre->nres == PRE_RES) {
			pre->skip = (uint8_t)(i < pre->skip ? i : pre->skip);
			break;
		}
		r->idx = (uint8_t)i;
		if (!prep_search(p, pre, &f->fail[i], s2, subj, true, r)) {
			pre->skip = (uint8_t)(i < pre->skip ? i : pre->skip);
			break;
		}
		if (r->rc != PCRE2_ERROR_NOMATCH && i < pre->skip)
			pre->skip = (uint8_t)i;
		pre->known |= 1ULL << i;
		pre->nres++;
	}
}

void
filter_prep_line(struct filter_prep *p, const char *line, size_t len,
    double now, bool searches, struct filter_pre *out)
{
	struct filter *f = p->f;

	out->len = clip_len(p->max_line_len, line, len, &out->truncated);
	out->line = utf8_repair(
	    &out->utf8, line, &out->len, &out->ascii, &out->nl, &out->nul);
	out->drc = (int8_t)(f->dd ? datedetect_match(f->dd, out->line, out->len,
	                                (time_t)now, &out->m)
	                          : 0);
	out->has_s1 = out->has_s2 = false;
	out->known = 0;
	out->nov = 0;
	if (searches)
		prep_searches(p, out, line);
}

void
filter_prep_search(
    struct filter_prep *p, struct filter_pre *out, const char *line)
{
	prep_searches(p, out, line);
}

void
filter_pre_prefetch(const struct filter_pre *pre)
{
	/* its first two cache lines (struct filter_pre's layout), the
	 * first of its ovectors and of the line */
	__builtin_prefetch(pre);
	__builtin_prefetch((const char *)pre + 64);
	__builtin_prefetch(pre->ov);
	__builtin_prefetch(pre->line);
}

size_t
filter_process_pre(struct filter *f, const struct filter_pre *pre, double now,
    struct filter_result *res)
{
	size_t n;

	begin_line(f);
	if (pre->truncated)
		count_cut(f);
	f->line_ascii = pre->ascii;
	f->line_nl = pre->nl;
	f->line_nul = pre->nul;
	f->pre = pre;
	n = process_dated(f, pre->line, pre->len, pre->drc, &pre->m, now, res);
	f->pre = NULL;
	return n;
}
