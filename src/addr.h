/*
 * Binary IPv4/IPv6 addresses with a prefix length. Addresses are binary
 * everywhere in Warden; text exists only at the edges (log lines in, log
 * messages and action tags out), and every text form is re-rendered from
 * this struct, never copied from input.
 */
#ifndef WARDEN_ADDR_H
#define WARDEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text addr_format() writes, with "/128" and the NUL. */
#define ADDR_STRLEN 51

struct addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix; /* prefix length: 32 or 128 for one address */
	uint8_t b[16];  /* network byte order; IPv4 uses b[0..3], rest 0 */
};

/*
 * Parses n bytes of s as one address: "192.0.2.1", "2001:db8::1",
 * "[2001:db8::1]" (brackets dropped), "::ffff:192.0.2.1" (IPv4-mapped,
 * normalised to IPv4). Host bits are kept. Returns 0, or -1 if s is not an
 * address (e.g. "999.1.1.1", "010.1.1.1", a host name).
 */
int addr_parse(const char *s, size_t n, struct addr *out);

/*
 * Like addr_parse, and also accepts a network: "192.0.2.0/24",
 * "192.0.2.0/255.255.255.0", "2001:db8::/32", "[2001:db8::]/64". Host bits
 * beyond the prefix are cleared. Returns 0 or -1.
 */
int addr_parse_net(const char *s, size_t n, struct addr *out);

/*
 * Writes the canonical text (inet_ntop form, "/N" appended when the prefix
 * is shorter than the full length) into buf, which must hold ADDR_STRLEN
 * bytes. Returns buf.
 */
char *addr_format(const struct addr *a, char *buf);

/* Address bytes, family and prefix all equal. */
bool addr_equal(const struct addr *a, const struct addr *b);

/* True when a (a single address or a network) lies inside net. */
bool addr_contains(const struct addr *net, const struct addr *a);

/* A well-mixed hash of family, prefix and address bytes. */
uint64_t addr_hash(const struct addr *a);

/*
 * The reverse-DNS prefix fail2ban calls <ip-rev>: "1.2.0.192." for
 * 192.0.2.1, nibbles for IPv6 ("1.0.0. ... .8.b.d.0.1.0.0.2."). buf must
 * hold 80 bytes. Returns buf.
 */
char *addr_reverse(const struct addr *a, char *buf);

#endif
