/*
 * The failure table of one jail: fail2ban's FailManager (spec 4.2,
 * failmanager.py, FailTicket.adjustTime/inc) with a cap. Each key (an
 * address, raw id or login name) has its last failure time, the start of
 * its rate window, fail2ban's retry and failures counters, the matched
 * lines (at most maxmatches after the first) and the groups captured by
 * the first failure.
 *
 * Counting is fail2ban's rate estimate, not an exact sliding window: when
 * a failure arrives more than findtime after the window start, retry is
 * rescaled to round(retry / (t - first) * findtime) and the window start
 * becomes t - findtime. The caller bans "as soon as possible": it checks
 * the returned entry's retry against maxretry and takes the entry out
 * with failtab_take().
 *
 * Bounded: at most max_entries keys (adding a new key to a full table
 * evicts the least recently updated one in O(1) and counts it), each
 * matched line cut at match_max_len bytes, the lines of one entry within
 * entry_match_bytes, captured groups within FDATA_KV_BYTES. Lookup is a
 * hash table with a random SipHash key, so chosen keys cannot collide.
 * No clock of its own: times come from the caller (wall clock, epoch s).
 *
 * Links (login tracking): a table keyed by login names can remember, per
 * entry, the failures of other keys for it (the addresses that failed
 * for a login, with their times and counts), to ban them all when the
 * login is locked and to forget one pair's failures on a success. They
 * are a ring per entry (see "Links" below), capped per entry and for the
 * whole table, and go with their entry.
 */
#ifndef WARDEN_FAILTAB_H
#define WARDEN_FAILTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fkey.h"

#define FAILTAB_DEFAULT_MAX         100000 /* entries */
#define FAILTAB_DEFAULT_MATCH_LEN   1000   /* bytes per matched line */
#define FAILTAB_DEFAULT_ENTRY       2048   /* bytes of lines per entry */
#define FAILTAB_DEFAULT_ENTRY_LINKS 4096   /* link slots per entry */
#define FAILTAB_RING_MIN            4      /* link slots an entry starts with */
#define FDATA_KV_MAX                16     /* captured groups kept */
#define FDATA_KV_BYTES              1024   /* bytes of names + values kept */

/* One captured group: "user" = "root", "f-port" = "22", ... One block
 * per pair: name is owned and value points into it (after its NUL), so
 * only name is freed. */
struct fdata_kv {
	char *name;        /* owned: "name\0value\0" */
	const char *value; /* inside name's block */
};

/* Fills kv with one block holding name and the vl bytes of value. */
void fdata_kv_set(
    struct fdata_kv *kv, const char *name, const char *value, size_t vl);

/* What a failure (and later its ban) carries besides its key. */
struct fdata {
	char **matches; /* owned lines, oldest first */
	size_t nmatches;
	size_t match_bytes;  /* sum of the lines' lengths */
	struct fdata_kv *kv; /* owned, in capture order */
	size_t nkv;
	bool kv_block; /* kv and its pairs' texts are one block (only kv is
	                  freed), see fdata_set_kv() */
};

void fdata_cleanup(struct fdata *d);
/* Deep copy into an empty dst. */
void fdata_copy(struct fdata *dst, const struct fdata *src);
/* Value of a captured group, or NULL. Borrowed. */
const char *fdata_get(const struct fdata *d, const char *name);
/*
 * Appends a captured group (copied), unless FDATA_KV_MAX pairs or
 * FDATA_KV_BYTES bytes would be exceeded (then returns false). The value
 * is cut at 256 bytes on a UTF-8 boundary.
 */
bool fdata_add_kv(struct fdata *d, const char *name, const char *value);
/* Into a d without groups: the pairs of kv fdata_add_kv() would take one
 * by one (same caps), in one block. */
void fdata_set_kv(struct fdata *d, const struct fdata_kv *kv, size_t n);
/*
 * The groups as a JSON object (the database's `data`), exactly what
 * jansson's json_dumps(JSON_COMPACT) writes for them (values through
 * ctl_json_string, a repeated name keeps its first place and its last
 * value); NULL without groups. Owned (free()).
 */
char *fdata_json(const struct fdata *d);
/* The same text, written into buf (cap bytes) when it fits and takes no
 * escaping (the common case: no allocation); else fdata_json()'s, then
 * owned through *own (free it). NULL without groups. */
const char *fdata_json_buf(
    const struct fdata *d, char *buf, size_t cap, char **own);

struct failtab_opts {
	size_t max_entries;       /* 0 = FAILTAB_DEFAULT_MAX */
	double findtime;          /* seconds (fail2ban's findtime/maxTime) */
	int maxmatches;           /* lines kept per key after the first
	                             failure; 0 keeps none */
	size_t match_max_len;     /* 0 = FAILTAB_DEFAULT_MATCH_LEN */
	size_t entry_match_bytes; /* 0 = FAILTAB_DEFAULT_ENTRY */
	size_t max_links;         /* link slots held over all entries:
	                             rings grow only within it (each entry
	                             may hold FAILTAB_RING_MIN beyond); 0:
	                             the table keeps no links */
	size_t max_entry_links;   /* link slots per entry, rounded down to
	                             a power of two, at most 2^29; 0 =
	                             FAILTAB_DEFAULT_ENTRY_LINKS */
	bool wide_links;          /* every link slot 32 bytes (tests: the
	                             encoding narrow slots must match) */
	size_t memo_slots;        /* RAW/USER keys: a direct-mapped memo of
	                             this many entries (rounded down to a
	                             power of two; 0: none) found again
	                             without the keyed hash, see "Memo" */
};

struct failtab_entry;

/* An entry's links (private to failtab.c). */
struct failtab_ring {
	void *s;               /* cap slots (a power of two) of 8 << w bytes,
	                          NULL when none */
	uint32_t cap, n, head; /* n in use from head, the oldest */
	unsigned nstr : 30;    /* slots holding RAW/USER bytes */
	unsigned w : 2;        /* the slots' encoding (see failtab.c): in
	                          nstr's word, so that an entry (of every
	                          table) stays 184 bytes */
};

/* One key's state. Read-only outside failtab.c. */
struct failtab_entry {
	struct fkey key; /* owned copy */
	double time;     /* last failure, epoch s */
	double first;    /* start of the rate window, epoch s */
	double retry;    /* fail2ban's retry; fractional only when a caller
	                    adds a fractional count */
	long failures;   /* failures counted (fail2ban's attempts) */
	struct fdata data;

	/* private */
	struct failtab_ring ring; /* links */
	uint32_t memo_ix;         /* 1 + its memo slot, 0: none */
	uint64_t hash;
	struct failtab_entry *hnext;
	struct failtab_entry *prev, *next; /* update order, oldest first */
};

/* One failure to add (all pointers borrowed for the call). */
struct failtab_failure {
	struct fkey key;
	double time;  /* epoch s */
	double count; /* added to retry: 1 for a log line, the number of
	                 messages for `attempt`, retryCount-1 for the
	                 known-bad-IP rule */
	long attempt; /* failures pre-set on the ticket; 0 for a log line
	                 (an existing entry then counts 1) */
	const char *const *matches; /* the failure's lines, may be NULL */
	size_t nmatches;
	const struct fdata_kv *kv; /* captured groups, used for a new key */
	size_t nkv;
	bool observed;    /* fail2ban's observer re-add: never creates an
	                     entry (a banned key is not counted again) */
	bool same_ticket; /* re-adding the failure that created the entry:
	                     no lines added, failures + 1 (fail2ban's
	                     "fData is ticket") */
	bool hashed;      /* hash is failtab_hash(ft, &key) (saves hashing
	                     the key again) */
	uint64_t hash;
};

struct failtab;

/*
 * Memo (opts.memo_slots > 0): a table keyed by strings (logins) finds
 * its hot keys again without SipHash. A key's memo slot is picked by a
 * cheap unkeyed mix of its length and first and last 8 bytes, and holds
 * the last entry found or created there; a hit is an entry whose key is
 * equal, anything else goes the hash table's way (and takes the slot).
 * So chosen keys can only make the memo miss, never a hash chain long;
 * an entry leaves its slot when it leaves the table.
 */

/* A new table; opts is copied. Seeds its hash from the kernel. */
struct failtab *failtab_new(const struct failtab_opts *opts);
void failtab_free(struct failtab *ft);

/* The table's keyed hash of key (what failtab_add() computes). */
uint64_t failtab_hash(const struct failtab *ft, const struct fkey *key);

void failtab_set_findtime(struct failtab *ft, double findtime);
void failtab_set_maxmatches(struct failtab *ft, int maxmatches);
/* Lowering the cap evicts the stalest entries now (counted). */
void failtab_set_max_entries(struct failtab *ft, size_t max_entries);

/*
 * fail2ban's addFailure. Returns the key's entry (valid until the next
 * change to the table), or NULL for an observed failure of an absent key.
 * created (may be NULL) tells whether the entry is new. Never fails: a
 * full table evicts its least recently updated entry.
 */
struct failtab_entry *failtab_add(
    struct failtab *ft, const struct failtab_failure *f, bool *created);

/*
 * failtab_add() of a log line's failure of key at time (count added, no
 * lines or groups), then failtab_link_add(e, link, time, count): the
 * login table's path, one call per failure. Returns the entry.
 */
struct failtab_entry *failtab_add_link(struct failtab *ft,
    const struct fkey *key, double time, double count, const struct fkey *link);

struct failtab_entry *failtab_find(struct failtab *ft, const struct fkey *key);

/* Removes key's entry; returns whether there was one. */
bool failtab_del(struct failtab *ft, const struct fkey *key);

/* A failure taken out of the table to be banned. */
struct fticket {
	struct fkey key; /* owned */
	double time;     /* last failure, epoch s */
	double retry;
	long failures;
	struct fdata data; /* owned */
};

/* Removes e from the table, moving its contents into *t. */
void failtab_take(
    struct failtab *ft, struct failtab_entry *e, struct fticket *t);
void fticket_cleanup(struct fticket *t);

/*
 * fail2ban's cleanup: removes every entry whose last failure is at or
 * before now - findtime. O(entries). Returns how many were removed.
 * The entries that stay lose their links at or before now - findtime
 * (from the oldest on), and rings mostly empty are made smaller.
 */
size_t failtab_cleanup(struct failtab *ft, double now);

size_t failtab_size(const struct failtab *ft);
/* The cap on entries in force. */
size_t failtab_max_entries(const struct failtab *ft);
/* Every failure added ("Total failed"), including observed re-adds. */
uint64_t failtab_total(const struct failtab *ft);
void failtab_set_total(struct failtab *ft, uint64_t total);
/* Entries evicted because the table was full. */
uint64_t failtab_evictions(const struct failtab *ft);

/*
 * Links (opts.max_links > 0): per entry a ring of slots in failure order,
 * one per failure of a key for the entry (its key, time and count).
 * Adding is O(1) and touches the entry and the one slot it writes (not
 * read first): no hash table, no list over the table.
 *
 * Caps: a ring starts with FAILTAB_RING_MIN slots and doubles when full,
 * up to max_entry_links slots and while the table's rings hold at most
 * max_links slots; a full ring that cannot grow drops its oldest slot
 * (counted). So an entry always keeps its newest FAILTAB_RING_MIN failures,
 * and the rings never hold more than max_links + FAILTAB_RING_MIN *
 * max_entries slots. failtab_cleanup() drops the slots at or before
 * now - findtime and shrinks rings (at most a quarter used).
 *
 * A slot takes 8 bytes while its ring holds IPv4 addresses with times
 * of whole seconds (0 to 2^32) and counts of 1 (log files' failures),
 * 16 with IPv4 addresses only, else 32 (IPv6, networks, raw ids): a
 * ring is re-encoded wider when such a failure arrives. Times, counts
 * (floats) and keys come back exactly as written whatever the width.
 */
void failtab_link_add(struct failtab *ft, struct failtab_entry *e,
    const struct fkey *key, double time, double count);
/*
 * A success of key for e: takes every slot of key out of e's ring. Sets
 * *count (may be NULL) to the sum of their counts. Returns whether there
 * was one.
 */
bool failtab_link_forget(struct failtab *ft, struct failtab_entry *e,
    const struct fkey *key, double *count);

/* One key of an entry's links. */
struct failtab_pair {
	struct fkey key; /* RAW/USER bytes borrowed from the table: valid
	                    until its next change */
	double time;     /* the key's last failure in the ring */
	double count;    /* the sum of the key's counts in the ring */
};
/*
 * The distinct keys of e's links whose last failure is after `after`
 * (every address that failed for a login inside its window), oldest last
 * failure first (ties in failure order). *v is owned (free()), NULL when
 * none. O(n log n) in e's slots.
 */
size_t failtab_link_pairs(struct failtab *ft, struct failtab_entry *e,
    double after, struct failtab_pair **v);
/* Slots in use in e's ring. */
size_t failtab_entry_links(const struct failtab_entry *e);
/* Slots in use, and slots held (memory), over the table. */
size_t failtab_link_count(const struct failtab *ft);
size_t failtab_link_slots(const struct failtab *ft);
/* The bytes of the slots held: 8, 16 or 32 a slot (see "Links"). */
size_t failtab_link_bytes(const struct failtab *ft);
/* Slots dropped because a ring was full and could not grow. */
uint64_t failtab_link_evictions(const struct failtab *ft);
/* The per-entry cap (0: the default); bigger rings shrink at the next
 * cleanup. */
void failtab_set_max_entry_links(struct failtab *ft, size_t n);

/*
 * Takes count failures back from e (a success that cancels a pair's
 * failures): retry and failures go down by count (not below 0). An
 * entry left with no retry is removed: returns true then (e is gone).
 */
bool failtab_forget(struct failtab *ft, struct failtab_entry *e, double count);

/* Iteration in update order (stalest first); no changes meanwhile. */
struct failtab_entry *failtab_first(struct failtab *ft);
struct failtab_entry *failtab_next(struct failtab_entry *e);

#endif
