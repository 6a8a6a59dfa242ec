/*
 * SHA-1 as specified in FIPS 180-4 section 6.1, processing 64-byte blocks.
 * Used for fail2ban-compatible first-line hashes (see sha1.h).
 */
#include "sha1.h"

#include <string.h>

static uint32_t
rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void
sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80];
	uint32_t a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void
sha1_init(struct sha1_ctx *c)
{
	c->h[0] = 0x67452301;
	c->h[1] = 0xefcdab89;
	c->h[2] = 0x98badcfe;
	c->h[3] = 0x10325476;
	c->h[4] = 0xc3d2e1f0;
	c->nbytes = 0;
	c->block_len = 0;
}

void
sha1_update(struct sha1_ctx *c, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t take;

	c->nbytes += n;
	if (c->block_len > 0) {
		take = 64 - c->block_len;
		if (take > n)
			take = n;
		memcpy(c->block + c->block_len, s, take);
		c->block_len += take;
		s += take;
		n -= take;
		if (c->block_len < 64)
			return;
		sha1_block(c->h, c->block);
		c->block_len = 0;
	}
	while (n >= 64) {
		sha1_block(c->h, s);
		s += 64;
		n -= 64;
	}
	if (n > 0) {
		memcpy(c->block, s, n);
		c->block_len = n;
	}
}

void
sha1_final(struct sha1_ctx *c, uint8_t out[SHA1_DIGEST_LEN])
{
	uint64_t bits = c->nbytes * 8;
	int i;

	c->block[c->block_len++] = 0x80;
	if (c->block_len > 56) {
		memset(c->block + c->block_len, 0, 64 - c->block_len);
		sha1_block(c->h, c->block);
		c->block_len = 0;
	}
	memset(c->block + c->block_len, 0, 56 - c->block_len);
	for (i = 0; i < 8; i++)
		c->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_block(c->h, c->block);
	for (i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

void
sha1_tohex(const uint8_t d[SHA1_DIGEST_LEN], char out[SHA1_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SHA1_DIGEST_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[SHA1_HEX_LEN] = '\0';
}

void
sha1_hex(const void *p, size_t n, char out[SHA1_HEX_LEN + 1])
{
	struct sha1_ctx c;
	uint8_t d[SHA1_DIGEST_LEN];

	sha1_init(&c);
	sha1_update(&c, p, n);
	sha1_final(&c, d);
	sha1_tohex(d, out);
}
