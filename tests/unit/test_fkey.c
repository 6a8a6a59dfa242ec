/*
 * fkey: parsing (address or raw id), equality across kinds, the length
 * cap on a UTF-8 boundary, text form, owned copies, and the keyed hash
 * (stable under one key, different under another, well spread).
 */
#include <stdlib.h>
#include <string.h>

#include "fkey.h"
#include "tap.h"

static void
test_parse_format(void)
{
	char buf[FKEY_STRLEN];
	struct fkey k;

	k = fkey_parse("192.0.2.1", 9);
	is_int(k.kind, FKEY_ADDR, "IPv4 text is an address");
	is_str(fkey_format(&k, buf), "192.0.2.1", "formats back");
	k = fkey_parse("[2001:DB8::1]", 13);
	is_int(k.kind, FKEY_ADDR, "bracketed IPv6 is an address");
	is_str(fkey_format(&k, buf), "2001:db8::1", "canonical IPv6 text");
	k = fkey_parse("::ffff:192.0.2.1", 16);
	is_str(fkey_format(&k, buf), "192.0.2.1", "IPv4-mapped is IPv4");
	k = fkey_parse("999.1.1.1", 9);
	is_int(k.kind, FKEY_RAW, "an invalid address is a raw id (fail2ban)");
	is_str(fkey_format(&k, buf), "999.1.1.1", "raw text kept");
	k = fkey_parse("user@example.org", 16);
	is_int(k.kind, FKEY_RAW, "an id is raw");
	is_str(fkey_kind_name(FKEY_ADDR), "addr", "kind name addr");
	is_str(fkey_kind_name(FKEY_RAW), "raw", "kind name raw");
	is_str(fkey_kind_name(FKEY_USER), "user", "kind name user");
}

static void
test_cap(void)
{
	char s[400];
	struct fkey k;

	memset(s, 'a', sizeof(s));
	k = fkey_from_str(FKEY_RAW, s, sizeof(s));
	is_int(k.len, FKEY_MAX_LEN, "long ids are cut at FKEY_MAX_LEN");
	/* an "é" (2 bytes) at 255..256 would be split by the cut */
	memcpy(s + 255, "\xc3\xa9", 2);
	k = fkey_from_str(FKEY_USER, s, sizeof(s));
	is_int(k.len, 255, "the cut does not split a UTF-8 character");
	/* a 4-byte character at 254..257 */
	memcpy(s + 254, "\xf0\x9f\x98\x80", 4);
	k = fkey_from_str(FKEY_USER, s, sizeof(s));
	is_int(k.len, 254, "nor a 4-byte one");
	k = fkey_from_str(FKEY_USER, "root", 4);
	is_int(k.len, 4, "short names untouched");
}

/*
 * The keyed hash, word-wise, gives the values of the byte-wise
 * implementation it replaced (computed with it): every tail length, the
 * longest key, an IPv4 and an IPv6 address.
 */
static void
test_hash_values(void)
{
	static const struct {
		int len;
		unsigned long long h;
	} raw[] = {
	    {0, 0x0732543e9e14e772ull},
	    {1, 0x44cf0ed942485bbcull},
	    {6, 0x20aa5a189c8d9d5bull},
	    {7, 0x0ff12a8b3ea1f326ull},
	    {8, 0xd80b45578940ee3aull},
	    {9, 0xb5bf62451fadd468ull},
	    {15, 0x512e2257a2a6f53eull},
	    {16, 0x5448aa4e99a98214ull},
	    {17, 0x22610c68de0b8577ull},
	    {23, 0xb4bb71a9ebca0557ull},
	    {24, 0x2c980a55350ef80dull},
	    {100, 0xff75027f98d839ecull},
	    {255, 0x175b9109b099f913ull},
	    {256, 0x62d31fd043f57c00ull},
	};
	struct fkey_hashkey h = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
	struct fkey a = fkey_parse("192.0.2.1", 9);
	struct fkey b = fkey_parse("2001:db8::7", 11);
	char s[300];

	for (int i = 0; i < 300; i++)
		s[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		struct fkey k = fkey_from_str(FKEY_RAW, s, (size_t)raw[i].len);

		ok(fkey_hash(&k, &h) == raw[i].h, "hash of a %d-byte raw key",
		    raw[i].len);
	}
	ok(fkey_hash(&a, &h) == 0x9b8ba8019845df20ull, "hash of an IPv4 key");
	ok(fkey_hash(&b, &h) == 0x5c90f9942d4c41d0ull, "hash of an IPv6 key");
}

static void
test_equal_hash(void)
{
	struct fkey_hashkey h1 = {1, 2}, h2 = {3, 4}, hr;
	struct fkey a = fkey_parse("192.0.2.1", 9);
	struct fkey a2 = fkey_parse("192.0.2.001", 11);
	struct fkey b = fkey_parse("192.0.2.2", 9);
	struct fkey r = fkey_from_str(FKEY_RAW, "192.0.2.1", 9);
	struct fkey u = fkey_from_str(FKEY_USER, "192.0.2.1", 9);
	struct fkey r2 = fkey_from_str(FKEY_RAW, "192.0.2.1xx", 9);
	struct fkey e1 = fkey_from_str(FKEY_RAW, "", 0);
	struct fkey e2 = fkey_from_str(FKEY_RAW, NULL, 0);

	ok(a2.kind == FKEY_RAW, "leading zeros are not an address");
	ok(fkey_equal(&a, &a), "equal to itself");
	ok(!fkey_equal(&a, &b), "different addresses differ");
	ok(!fkey_equal(&a, &r), "an address differs from the same raw text");
	ok(!fkey_equal(&r, &u), "raw differs from user");
	ok(fkey_equal(&r, &r2), "raw keys compare their bytes");
	ok(fkey_equal(&e1, &e2), "empty raw keys are equal");
	ok(fkey_hash(&r, &h1) == fkey_hash(&r2, &h1), "equal keys, equal hash");
	ok(fkey_hash(&a, &h1) != fkey_hash(&r, &h1),
	    "address and raw text hash differently");
	ok(fkey_hash(&r, &h1) != fkey_hash(&u, &h1),
	    "raw and user hash differently");
	ok(fkey_hash(&a, &h1) != fkey_hash(&a, &h2),
	    "another hash key gives another hash");
	fkey_hashkey_random(&hr);
	ok(hr.k0 != 0 || hr.k1 != 0, "random hash key");

	/* spread: 65536 sequential addresses into 4096 buckets */
	{
		unsigned *count = calloc(4096, sizeof(*count));
		unsigned max = 0;

		for (unsigned i = 0; i < 65536; i++) {
			char s[32];
			int n = snprintf(
			    s, sizeof(s), "10.0.%u.%u", i >> 8, i & 255);
			struct fkey k = fkey_parse(s, (size_t)n);
			unsigned c = ++count[fkey_hash(&k, &hr) & 4095];

			if (c > max)
				max = c;
		}
		ok(max < 40,
		    "sequential addresses spread (max bucket %u of "
		    "mean 16)",
		    max);
		free(count);
	}
}

static void
test_dup(void)
{
	char src[] = "alice";
	struct fkey k = fkey_from_str(FKEY_USER, src, 5), d;
	struct fkey a = fkey_parse("2001:db8::7", 11), ad;
	char buf[FKEY_STRLEN];

	fkey_dup(&d, &k);
	src[0] = 'X';
	is_str(fkey_format(&d, buf), "alice", "the copy owns its bytes");
	is_str(d.s, "alice", "and is NUL-terminated");
	fkey_release(&d);
	ok(d.s == NULL && d.len == 0, "released");
	fkey_dup(&ad, &a);
	ok(fkey_equal(&ad, &a) && ad.s == NULL, "an address copy");
	fkey_release(&ad);
	fkey_release(&ad);
	ok(1, "releasing twice is harmless");
}

int
main(void)
{
	test_parse_format();
	test_cap();
	test_equal_hash();
	test_hash_values();
	test_dup();
	return done_testing();
}
