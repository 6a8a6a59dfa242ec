/*
 * SHA-1 (FIPS 180-4), written for one purpose: fail2ban's `firstlinemd5`,
 * which is in fact the SHA-1 hex digest of a log file's first line (spec
 * 4.7), so positions saved by fail2ban and by Warden are interchangeable.
 * Not for anything security-related.
 */
#ifndef WARDEN_SHA1_H
#define WARDEN_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_LEN 20 /* bytes */
#define SHA1_HEX_LEN    40 /* characters, without the NUL */

struct sha1_ctx {
	uint32_t h[5];
	uint64_t nbytes;   /* message length so far, bytes */
	uint8_t block[64]; /* pending input, block_len bytes */
	size_t block_len;
};

void sha1_init(struct sha1_ctx *c);
void sha1_update(struct sha1_ctx *c, const void *p, size_t n);
/* Writes the digest; c must be re-initialised before reuse. */
void sha1_final(struct sha1_ctx *c, uint8_t out[SHA1_DIGEST_LEN]);
/* Digest of p[0..n) as 40 lower-case hex characters and a NUL. */
void sha1_hex(const void *p, size_t n, char out[SHA1_HEX_LEN + 1]);
/* Formats a digest as lower-case hex with a NUL. */
void sha1_tohex(const uint8_t d[SHA1_DIGEST_LEN], char out[SHA1_HEX_LEN + 1]);

#endif
