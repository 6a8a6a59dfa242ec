/*
 * Failure/ban keys: construction, equality, keyed hashing (SipHash-1-3,
 * written from the published algorithm), text form and owned copies.
 */
#include "fkey.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

struct fkey
fkey_from_addr(const struct addr *a)
{
	struct fkey k;

	memset(&k, 0, sizeof(k));
	k.kind = FKEY_ADDR;
	k.addr = *a;
	return k;
}

struct fkey
fkey_from_str(enum fkey_kind kind, const char *s, size_t n)
{
	struct fkey k;

	memset(&k, 0, sizeof(k));
	k.kind = kind;
	if (n > FKEY_MAX_LEN) {
		n = FKEY_MAX_LEN;
		/* s[n] is the first byte cut off: if it continues a UTF-8
		 * sequence, that sequence started before n; drop it whole. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	k.s = s;
	k.len = n;
	return k;
}

struct fkey
fkey_parse(const char *s, size_t n)
{
	struct addr a;

	if (addr_parse(s, n, &a) == 0)
		return fkey_from_addr(&a);
	return fkey_from_str(FKEY_RAW, s, n);
}

bool
fkey_equal(const struct fkey *a, const struct fkey *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == FKEY_ADDR)
		return addr_equal(&a->addr, &b->addr);
	return a->len == b->len && (a->len == 0 || !memcmp(a->s, b->s, a->len));
}

/* SipHash with 1 compression and 3 finalisation rounds. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

struct sip {
	uint64_t v0, v1, v2, v3;
};

/* inlined: GCC -O2 called it, ~200 instructions to hash a short login
 * (the ring helper measured 37 M fewer instructions with tracking on) */
static inline __attribute__((always_inline)) void
sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static uint64_t
load64le(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Longest tagged key hashed from a buffer (FKEY_MAX_LEN + tag fits). */
#define SIP_WORDS ((FKEY_MAX_LEN + 1 + 7) / 8)

/* Hashes a one-byte tag followed by n bytes of p. */
static uint64_t
siphash13(const struct fkey_hashkey *hk, unsigned char tag,
    const unsigned char *p, size_t n)
{
	struct sip s = {
	    hk->k0 ^ 0x736f6d6570736575ull,
	    hk->k1 ^ 0x646f72616e646f6dull,
	    hk->k0 ^ 0x6c7967656e657261ull,
	    hk->k1 ^ 0x7465646279746573ull,
	};
	size_t total = n + 1;
	unsigned char block[8];
	size_t fill = 0;
	uint64_t m;

	/* a key fits in a buffer: whole words at a time (a byte at a time
	 * was ~8% of the loop's instructions in a flood; same hash) */
	if (total <= 8 * SIP_WORDS) {
		unsigned char buf[8 * SIP_WORDS];
		size_t words = total / 8;

		buf[0] = tag;
		if (n > 0)
			memcpy(buf + 1, p, n);
		for (size_t w = 0; w < words; w++) {
			memcpy(&m, buf + 8 * w, 8);
			m = le64toh(m);
			s.v3 ^= m;
			sip_round(&s);
			s.v0 ^= m;
		}
		fill = total - 8 * words;
		memcpy(block, buf + 8 * words, fill);
		goto last;
	}
	block[fill++] = tag;
	for (size_t i = 0; i < n; i++) {
		block[fill++] = p[i];
		if (fill == 8) {
			m = load64le(block);
			s.v3 ^= m;
			sip_round(&s);
			s.v0 ^= m;
			fill = 0;
		}
	}
last:
	m = (uint64_t)(total & 0xff) << 56;
	for (size_t i = 0; i < fill; i++)
		m |= (uint64_t)block[i] << (8 * i);
	s.v3 ^= m;
	sip_round(&s);
	s.v0 ^= m;
	s.v2 ^= 0xff;
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t
fkey_hash(const struct fkey *k, const struct fkey_hashkey *hk)
{
	if (k->kind == FKEY_ADDR) {
		unsigned char b[18];

		b[0] = k->addr.family;
		b[1] = k->addr.prefix;
		memcpy(b + 2, k->addr.b, 16);
		return siphash13(hk, FKEY_ADDR, b, sizeof(b));
	}
	return siphash13(
	    hk, (unsigned char)k->kind, (const unsigned char *)k->s, k->len);
}

void
fkey_hashkey_random(struct fkey_hashkey *hk)
{
	uint64_t v[2];
	ssize_t r = getrandom(v, sizeof(v), GRND_NONBLOCK);

	if (r != (ssize_t)sizeof(v)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		v[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^
		    (uint64_t)ts.tv_sec;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v[1] = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid() ^
		    (uint64_t)(uintptr_t)hk;
	}
	hk->k0 = v[0];
	hk->k1 = v[1];
}

char *
fkey_format(const struct fkey *k, char *buf)
{
	if (k->kind == FKEY_ADDR)
		return addr_format(&k->addr, buf);
	memcpy(buf, k->s, k->len);
	buf[k->len] = '\0';
	return buf;
}

void
fkey_dup(struct fkey *dst, const struct fkey *src)
{
	*dst = *src;
	if (src->kind != FKEY_ADDR)
		dst->s = xmemdup(src->s ? src->s : "", src->len);
}

void
fkey_release(struct fkey *k)
{
	if (k->kind != FKEY_ADDR)
		free((char *)k->s);
	memset(k, 0, sizeof(*k));
	k->kind = FKEY_ADDR;
}

const char *
fkey_kind_name(enum fkey_kind kind)
{
	switch (kind) {
	case FKEY_ADDR:
		return "addr";
	case FKEY_RAW:
		return "raw";
	case FKEY_USER:
		return "user";
	}
	return "?";
}
