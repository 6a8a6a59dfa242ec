/*
 * SHA-1: FIPS 180 test vectors, padding boundaries (55/56/63/64 bytes),
 * incremental updates that split blocks anywhere, and the digest of a log
 * line as fail2ban stores it in `firstlinemd5` (checked with Python's
 * hashlib.sha1).
 */
#include "sha1.h"
#include "tap.h"

#include <stdlib.h>

static const char *
hex_of(const char *s, size_t n)
{
	static char out[SHA1_HEX_LEN + 1];

	sha1_hex(s, n, out);
	return out;
}

int
main(void)
{
	static const struct {
		size_t n;
		const char *want;
	} xs[] = {
	    {55, "cef734ba81a024479e09eb5a75b6ddae62e6abf1"},
	    {56, "901305367c259952f4e7af8323f480d59f81335b"},
	    {63, "0ddc4e0cccd9a12850deb5abb0853a4425559fec"},
	    {64, "bb2fa3ee7afb9f54c6dfb5d021f14b1ffe40c163"},
	    {65, "78c741ddc482e4cdf8c474a0876347a0905b6233"},
	    {119, "4300320394f7ee239bcdce7d3b8bcee173a0cd5c"},
	    {120, "ceb2821639c4b6dcb10bce0e522ca2e608ce056d"},
	};
	const char *nist2 =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	const char *line = "Nov 21 05:56:12 testhost sshd[30999]: Failed "
	                   "password for root from 192.0.2.1 port 22 ssh2\n";
	char buf[200], got[SHA1_HEX_LEN + 1], want[SHA1_HEX_LEN + 1];
	struct sha1_ctx c;
	uint8_t d[SHA1_DIGEST_LEN];
	size_t i, cut, bad;
	char *big;

	is_str(hex_of("", 0), "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	    "empty message");
	is_str(hex_of("abc", 3), "a9993e364706816aba3e25717850c26c9cd0d89d",
	    "FIPS 180 'abc'");
	is_str(hex_of(nist2, strlen(nist2)),
	    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
	    "FIPS 180 448-bit message");
	memset(buf, 'x', sizeof buf);
	for (i = 0; i < sizeof xs / sizeof xs[0]; i++)
		is_str(hex_of(buf, xs[i].n), xs[i].want,
		    "%zu bytes (padding boundary)", xs[i].n);

	big = malloc(1000000);
	memset(big, 'a', 1000000);
	is_str(hex_of(big, 1000000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
	    "one million 'a'");
	/* The same million bytes fed in uneven pieces. */
	sha1_init(&c);
	for (i = 0; i < 1000000; i += cut) {
		cut = 1 + (i * 7919) % 977;
		if (cut > 1000000 - i)
			cut = 1000000 - i;
		sha1_update(&c, big + i, cut);
	}
	sha1_final(&c, d);
	sha1_tohex(d, got);
	is_str(got, "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
	    "one million 'a' in uneven updates");
	free(big);

	/* Every split point of a 150-byte message gives the one-shot digest. */
	for (i = 0; i < 150; i++)
		buf[i] = (char)(i * 31 + 7);
	sha1_hex(buf, 150, want);
	bad = 0;
	for (cut = 0; cut <= 150; cut++) {
		sha1_init(&c);
		sha1_update(&c, buf, cut);
		sha1_update(&c, buf + cut, 150 - cut);
		sha1_final(&c, d);
		sha1_tohex(d, got);
		if (strcmp(got, want) != 0)
			bad++;
	}
	is_int(bad, 0, "two-part updates at every split agree with one-shot");

	is_str(hex_of(line, strlen(line)),
	    "6fd71b1ac53dd542b6918128026cc31d706da445",
	    "a log line with its newline, as fail2ban's firstlinemd5");
	return done_testing();
}
