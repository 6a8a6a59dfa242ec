/*
 * Binary address parsing and formatting (see addr.h). Parsing goes through
 * inet_pton(3), which rejects octal-looking IPv4 octets and anything that is
 * not strictly an address, so a log line can never smuggle a host name or
 * garbage in as an IP.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int
addr_parse(const char *s, size_t n, struct addr *out)
{
	char buf[64];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->b) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out->b) == 1) {
		if (memcmp(out->b, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(out->b, out->b + 12, 4);
			memset(out->b + 4, 0, 12);
			out->family = AF_INET;
			out->prefix = 32;
			return 0;
		}
		out->family = AF_INET6;
		out->prefix = 128;
		return 0;
	}
	return -1;
}

static void
mask_host_bits(struct addr *a)
{
	unsigned bits = a->prefix;

	for (unsigned i = 0; i < 16; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		a->b[i] &= (uint8_t)(0xff00u >> bits);
		bits = 0;
	}
}

/* Parses a decimal prefix length or an IPv4 dotted mask. */
static int
parse_prefix(const char *s, size_t n, const struct addr *a, unsigned *out)
{
	unsigned max = a->family == AF_INET ? 32 : 128, v = 0;
	struct addr m;

	if (n == 0)
		return -1;
	if (memchr(s, '.', n) != NULL) {
		uint32_t x;
		unsigned len = 0;

		if (a->family != AF_INET || addr_parse(s, n, &m) != 0 ||
		    m.family != AF_INET)
			return -1;
		x = (uint32_t)m.b[0] << 24 | (uint32_t)m.b[1] << 16 |
		    (uint32_t)m.b[2] << 8 | m.b[3];
		while (len < 32 && (x & (0x80000000u >> len)))
			len++;
		/* A mask must be contiguous ones followed by zeros. */
		if (len < 32 && (x & (0xffffffffu >> len)) != 0)
			return -1;
		*out = len;
		return 0;
	}
	if (n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
addr_parse_net(const char *s, size_t n, struct addr *out)
{
	const char *slash = memchr(s, '/', n);
	unsigned prefix;

	if (slash == NULL)
		return addr_parse(s, n, out);
	if (addr_parse(s, (size_t)(slash - s), out) != 0)
		return -1;
	if (parse_prefix(
	        slash + 1, n - (size_t)(slash - s) - 1, out, &prefix) != 0)
		return -1;
	out->prefix = (uint8_t)prefix;
	mask_host_bits(out);
	return 0;
}

char *
addr_format(const struct addr *a, char *buf)
{
	unsigned full = a->family == AF_INET ? 32 : 128;
	size_t len;

	if (a->family == AF_INET) {
		/* by hand: inet_ntop goes through sprintf (~1,100
		 * instructions an address; a flood formats each ban's) */
		char *p = buf;

		for (int i = 0; i < 4; i++) {
			unsigned v = a->b[i];

			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = '.';
		}
		p[-1] = '\0';
		len = (size_t)(p - 1 - buf);
	} else if (inet_ntop(a->family, a->b, buf, ADDR_STRLEN) == NULL) {
		buf[0] = '\0';
		return buf;
	} else {
		len = strlen(buf);
	}
	if (a->prefix < full) {
		char *p = buf + len;
		unsigned v = a->prefix;

		*p++ = '/';
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p = '\0';
	}
	return buf;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	    memcmp(a->b, b->b, 16) == 0;
}

bool
addr_contains(const struct addr *net, const struct addr *a)
{
	unsigned bits = net->prefix;

	if (net->family != a->family || a->prefix < net->prefix)
		return false;
	for (unsigned i = 0; i < 16 && bits > 0; i++) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);

		if ((net->b[i] & m) != (a->b[i] & m))
			return false;
		bits = bits >= 8 ? bits - 8 : 0;
	}
	return true;
}

uint64_t
addr_hash(const struct addr *a)
{
	/* FNV-1a over the significant bytes, then a final avalanche. */
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned n = a->family == AF_INET ? 4 : 16;

	h = (h ^ a->family) * 0x100000001b3ull;
	h = (h ^ a->prefix) * 0x100000001b3ull;
	for (unsigned i = 0; i < n; i++)
		h = (h ^ a->b[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

char *
addr_reverse(const struct addr *a, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;

	if (a->family == AF_INET) {
		for (int i = 3; i >= 0; i--) {
			unsigned v = a->b[i];

			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = '.';
		}
	} else {
		for (int i = 15; i >= 0; i--) {
			*p++ = hex[a->b[i] & 0xf];
			*p++ = '.';
			*p++ = hex[a->b[i] >> 4];
			*p++ = '.';
		}
	}
	*p = '\0';
	return buf;
}
