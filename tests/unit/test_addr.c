/*
 * Unit tests for addr: parsing (strict, mapped, bracketed), networks,
 * formatting, containment, hashing and reverse-DNS names.
 */
#include <arpa/inet.h>
#include <string.h>

#include "addr.h"
#include "tap.h"

static const char *
roundtrip(const char *in, int net)
{
	static char buf[ADDR_STRLEN];
	struct addr a;
	int rc = net ? addr_parse_net(in, strlen(in), &a)
	             : addr_parse(in, strlen(in), &a);

	if (rc != 0)
		return "(invalid)";
	return addr_format(&a, buf);
}

int
main(void)
{
	struct addr a, b, n;
	char buf[80];

	is_str(roundtrip("192.0.2.1", 0), "192.0.2.1", "plain IPv4");
	is_str(roundtrip("2001:DB8:0:0::1", 0), "2001:db8::1",
	    "IPv6 is canonicalised");
	is_str(roundtrip("[2001:db8::1]", 0), "2001:db8::1",
	    "brackets are dropped");
	is_str(roundtrip("::ffff:192.0.2.7", 0), "192.0.2.7",
	    "IPv4-mapped IPv6 becomes IPv4");
	is_str(roundtrip("999.1.1.1", 0), "(invalid)",
	    "octet over 255 is not an address");
	is_str(roundtrip("010.1.1.1", 0), "(invalid)",
	    "leading zero octet is rejected");
	is_str(roundtrip("example.com", 0), "(invalid)",
	    "host name is not an address");
	is_str(roundtrip("192.0.2.1/24", 0), "(invalid)",
	    "addr_parse takes no prefix");
	is_str(roundtrip("", 0), "(invalid)", "empty is invalid");
	is_str(roundtrip("192.0.2.77/24", 1), "192.0.2.0/24",
	    "network clears host bits");
	is_str(
	    roundtrip("10.1.2.3/255.255.0.0", 1), "10.1.0.0/16", "dotted mask");
	is_str(roundtrip("10.1.2.3/255.0.255.0", 1), "(invalid)",
	    "non-contiguous mask is rejected");
	is_str(roundtrip("2001:db8::/32", 1), "2001:db8::/32", "IPv6 network");
	is_str(roundtrip("10.0.0.1/33", 1), "(invalid)",
	    "prefix beyond 32 is rejected");
	is_str(roundtrip("10.0.0.1/32", 1), "10.0.0.1", "/32 is one address");

	/* IPv4 text written by hand: inet_ntop's, for every octet width */
	{
		static const unsigned char oct[] = {
		    0, 1, 9, 10, 42, 99, 100, 199, 200, 255};
		int same = 1;

		for (size_t i = 0; i < 10000; i++) {
			char want[INET_ADDRSTRLEN], got[ADDR_STRLEN];
			struct addr v;

			memset(&v, 0, sizeof(v));
			v.family = AF_INET;
			v.prefix = 32;
			v.b[0] = oct[i % 10];
			v.b[1] = oct[i / 10 % 10];
			v.b[2] = oct[i / 100 % 10];
			v.b[3] = oct[i / 1000 % 10];
			inet_ntop(AF_INET, v.b, want, sizeof(want));
			addr_format(&v, got);
			if (strcmp(want, got) != 0) {
				printf("# %s != %s\n", got, want);
				same = 0;
				break;
			}
		}
		ok(same, "IPv4 text as inet_ntop's (10,000 addresses)");
		is_str(roundtrip("0.0.0.0/0", 1), "0.0.0.0/0", "IPv4 /0");
	}

	addr_parse_net("192.0.2.0/24", 12, &n);
	addr_parse("192.0.2.200", 11, &a);
	addr_parse("192.0.3.1", 9, &b);
	ok(addr_contains(&n, &a), "network contains its member");
	ok(!addr_contains(&n, &b), "network excludes an outsider");
	ok(addr_contains(&a, &a), "an address contains itself");
	addr_parse("2001:db8::1", 11, &b);
	ok(!addr_contains(&n, &b), "families never mix");

	addr_parse("192.0.2.200", 11, &b);
	ok(addr_equal(&a, &b), "equal addresses compare equal");
	ok(addr_hash(&a) == addr_hash(&b), "equal addresses hash equal");
	addr_parse("192.0.2.201", 11, &b);
	ok(addr_hash(&a) != addr_hash(&b), "neighbours hash differently");

	addr_parse("192.0.2.1", 9, &a);
	is_str(addr_reverse(&a, buf), "1.2.0.192.", "IPv4 reverse name");
	addr_parse("2001:db8::1", 11, &a);
	is_str(addr_reverse(&a, buf),
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.",
	    "IPv6 reverse name by nibbles");
	return done_testing();
}
