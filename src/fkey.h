/*
 * The key of a failure or a ban: an address, a raw failure id (fail2ban's
 * <F-ID> that is not an address), or a login name. The failure table, the
 * ban list and the database all key on this one type, so nothing assumes
 * that what is counted or banned is an IP.
 *
 * A struct fkey is a small value. Its string form (RAW, USER) either
 * borrows bytes owned elsewhere (a key built from a log line for a lookup)
 * or owns a copy made by fkey_dup(); the struct does not record which, so
 * every holder states it. Hashing is keyed (SipHash-1-3 with a per-table
 * random key) because raw ids and IPv6 addresses are chosen by attackers
 * and must not be able to pile up in one hash chain.
 */
#ifndef WARDEN_FKEY_H
#define WARDEN_FKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Longest RAW/USER key in bytes; longer input is cut (on a UTF-8 boundary). */
#define FKEY_MAX_LEN 256
/* Bytes fkey_format() needs: the longest key or address, and the NUL. */
#define FKEY_STRLEN (FKEY_MAX_LEN + 1)

enum fkey_kind {
	FKEY_ADDR, /* addr is valid */
	FKEY_RAW,  /* s/len: a raw failure id */
	FKEY_USER, /* s/len: a login name */
};

struct fkey {
	enum fkey_kind kind;
	struct addr addr; /* FKEY_ADDR; zeroed otherwise */
	const char *s;    /* FKEY_RAW/FKEY_USER: bytes, not NUL-terminated
	                     (an owned copy from fkey_dup() is); NULL for
	                     FKEY_ADDR */
	size_t len;       /* bytes in s, <= FKEY_MAX_LEN */
};

/* The 128-bit key of the keyed hash; one per table. */
struct fkey_hashkey {
	uint64_t k0, k1;
};

/* A key for an address (copied into the result). */
struct fkey fkey_from_addr(const struct addr *a);

/*
 * A RAW or USER key borrowing s (n bytes). n is cut to FKEY_MAX_LEN, moved
 * back so that no UTF-8 sequence is split.
 */
struct fkey fkey_from_str(enum fkey_kind kind, const char *s, size_t n);

/*
 * fail2ban's IPAddr(text): an address when n bytes of s parse as one
 * ("192.0.2.1", "[2001:db8::1]"), otherwise a RAW key borrowing s.
 */
struct fkey fkey_parse(const char *s, size_t n);

/* Same kind and same address or the same bytes. */
bool fkey_equal(const struct fkey *a, const struct fkey *b);

/* Keyed hash of kind and content; equal keys hash equally under one hk. */
uint64_t fkey_hash(const struct fkey *k, const struct fkey_hashkey *hk);

/*
 * Fills hk from the kernel's random source (getrandom); falls back to a
 * mix of time and pid if that fails. Never blocks for long.
 */
void fkey_hashkey_random(struct fkey_hashkey *hk);

/*
 * The key as text: the canonical address form, or the raw bytes (an
 * embedded NUL ends the text early). buf holds FKEY_STRLEN bytes. Returns
 * buf. The text is not escaped: log it through the logger, which escapes
 * control characters.
 */
char *fkey_format(const struct fkey *k, char *buf);

/*
 * Makes dst an owned deep copy of src: for RAW/USER dst->s is new memory
 * (NUL-terminated after len bytes). Release with fkey_release().
 */
void fkey_dup(struct fkey *dst, const struct fkey *src);

/* Frees the bytes of a key made by fkey_dup(); leaves an empty ADDR key. */
void fkey_release(struct fkey *k);

/* "addr", "raw" or "user" (for JSON and the database). */
const char *fkey_kind_name(enum fkey_kind kind);

#endif
