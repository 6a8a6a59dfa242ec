/*
 * Test tool: writes journal entries in the journal export format on
 * stdout, for systemd-journal-remote to turn into .journal files (the
 * tests have no journald of their own for most cases). Three modes:
 *
 *   journal_export gen N [-s FIRST] [-t BASE_USEC] [-d STEP_USEC]
 *       [-H HOST] [-i IDENT] [-c COMM] [-u UNIT] [-a ADDR] [-M TEXT]
 *     N sshd-like failures, entry k (from FIRST) from 10.a.b.c derived
 *     from k (or ADDR), at BASE + k*STEP (default: now, 1 us); -M sets
 *     the whole message instead.
 *   journal_export lines [-t BASE_USEC] [-u UNIT] [-c COMM]
 *     stdin lines "HOST IDENT[PID]: MESSAGE" (or "HOST IDENT: MESSAGE"),
 *     '#' lines and empty lines skipped; a literal "\n" in MESSAGE is a
 *     real newline (binary field).
 *   journal_export raw [-t BASE_USEC]
 *     stdin blocks of FIELD=value lines separated by an empty line;
 *     "\n", "\\" and "\xHH" in values are decoded (a value with a
 *     newline or NUL is written in binary form);
 *     __REALTIME_TIMESTAMP is added when a block has none.
 *
 * __MONOTONIC_TIMESTAMP and _BOOT_ID are always added (journal-remote
 * wants them for a well-formed file). Exit status 0, or 1 on usage
 * errors.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbuf.h"

#define BOOT_ID "0123456789abcdef0123456789abcdef"

static uint64_t mono = 1;

static uint64_t
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One field; binary form when the value has a newline or a NUL. */
static void
field(struct sbuf *out, const char *name, const char *v, size_t n)
{
	if (memchr(v, '\n', n) || memchr(v, '\0', n)) {
		unsigned char le[8];
		uint64_t len = n;

		for (int i = 0; i < 8; i++)
			le[i] = (unsigned char)(len >> (8 * i));
		sbuf_addstr(out, name);
		sbuf_addch(out, '\n');
		sbuf_add(out, le, 8);
		sbuf_add(out, v, n);
		sbuf_addch(out, '\n');
		return;
	}
	sbuf_addstr(out, name);
	sbuf_addch(out, '=');
	sbuf_add(out, v, n);
	sbuf_addch(out, '\n');
}

static void fieldf(struct sbuf *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fieldf(struct sbuf *out, const char *name, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	field(out, name, buf, strlen(buf));
}

static void
common(struct sbuf *out, uint64_t t)
{
	fieldf(out, "__REALTIME_TIMESTAMP", "%llu", (unsigned long long)t);
	fieldf(
	    out, "__MONOTONIC_TIMESTAMP", "%llu", (unsigned long long)mono++);
	field(out, "_BOOT_ID", BOOT_ID, strlen(BOOT_ID));
}

static void
flush(struct sbuf *out, bool force)
{
	if (out->len >= (1u << 16) || (force && out->len > 0)) {
		fwrite(out->s, 1, out->len, stdout);
		sbuf_reset(out);
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: journal_export gen N [opts] | lines [opts] | "
	    "raw [opts]\n");
	exit(1);
}

/* Decodes \n \\ \xHH in place; returns the new length. */
static size_t
unescape(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == 'n') {
			s[o++] = '\n';
			i++;
		} else if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
			s[o++] = '\\';
			i++;
		} else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x') {
			char h[3] = {s[i + 2], s[i + 3], 0};

			s[o++] = (char)strtoul(h, NULL, 16);
			i += 3;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

int
main(int argc, char **argv)
{
	struct sbuf out = SBUF_INIT;
	const char *mode, *host = "testhost", *ident = "sshd", *comm = "sshd";
	const char *unit = NULL, *addr = NULL, *msg = NULL;
	uint64_t base = 0, step = 1;
	unsigned long n = 0, first = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	if (strcmp(mode, "gen") == 0) {
		if (argc < 3)
			usage();
		n = strtoul(argv[2], NULL, 10);
		optind = 3;
	} else {
		optind = 2;
	}
	for (;;) {
		c = getopt(argc, argv, "s:t:d:H:i:c:u:a:M:");
		if (c == -1)
			break;
		switch (c) {
		case 's':
			first = strtoul(optarg, NULL, 10);
			break;
		case 't':
			base = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			step = strtoull(optarg, NULL, 10);
			break;
		case 'H':
			host = optarg;
			break;
		case 'i':
			ident = optarg;
			break;
		case 'c':
			comm = optarg;
			break;
		case 'u':
			unit = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'M':
			msg = optarg;
			break;
		default:
			usage();
		}
	}
	if (base == 0)
		base = now_usec();
	if (strcmp(mode, "gen") == 0) {
		for (unsigned long k = first; k < first + n; k++) {
			char ip[64];

			if (addr)
				snprintf(ip, sizeof(ip), "%s", addr);
			else
				snprintf(ip, sizeof(ip), "10.%lu.%lu.%lu",
				    (k >> 16) & 255, (k >> 8) & 255, k & 255);
			common(&out, base + (k - first) * step);
			if (host[0])
				field(&out, "_HOSTNAME", host, strlen(host));
			if (ident[0])
				field(&out, "SYSLOG_IDENTIFIER", ident,
				    strlen(ident));
			if (comm[0])
				field(&out, "_COMM", comm, strlen(comm));
			if (unit)
				field(
				    &out, "_SYSTEMD_UNIT", unit, strlen(unit));
			fieldf(&out, "_PID", "%lu", 1000 + k % 30000);
			if (msg)
				field(&out, "MESSAGE", msg, strlen(msg));
			else
				fieldf(&out, "MESSAGE",
				    "Failed password for invalid user u%lu "
				    "from %s port %lu ssh2",
				    k, ip, 1024 + k % 60000);
			sbuf_addch(&out, '\n');
			flush(&out, false);
		}
	} else if (strcmp(mode, "lines") == 0) {
		uint64_t k = 0;

		for (;;) {
			char *p, *sp, *colon, *br;
			size_t l;

			len = getline(&line, &cap, stdin);
			if (len <= 0)
				break;
			p = line;
			l = (size_t)len;

			while (l > 0 && (p[l - 1] == '\n' || p[l - 1] == '\r'))
				p[--l] = '\0';
			if (l == 0 || p[0] == '#')
				continue;
			sp = strchr(p, ' ');
			colon = sp ? strstr(sp + 1, ": ") : NULL;
			if (sp == NULL || colon == NULL)
				continue;
			*sp = '\0';
			*colon = '\0';
			common(&out, base + k++);
			field(&out, "_HOSTNAME", p, strlen(p));
			br = strchr(sp + 1, '[');
			if (br && colon[-1] == ']') {
				*br = '\0';
				colon[-1] = '\0';
				field(
				    &out, "SYSLOG_PID", br + 1, strlen(br + 1));
			}
			field(
			    &out, "SYSLOG_IDENTIFIER", sp + 1, strlen(sp + 1));
			field(&out, "_COMM", comm, strlen(comm));
			if (unit)
				field(
				    &out, "_SYSTEMD_UNIT", unit, strlen(unit));
			{
				char *m = colon + 2;
				size_t ml = unescape(m, strlen(m));

				field(&out, "MESSAGE", m, ml);
			}
			sbuf_addch(&out, '\n');
			flush(&out, false);
		}
	} else if (strcmp(mode, "raw") == 0) {
		struct sbuf ent = SBUF_INIT;
		bool has_rt = false, any = false;
		uint64_t k = 0;

		for (;;) {
			len = getline(&line, &cap, stdin);
			if (len > 0 && line[len - 1] == '\n')
				line[--len] = '\0';
			if (len <= 0) {
				if (any) {
					if (!has_rt)
						fieldf(&out,
						    "__REALTIME_TIMESTAMP",
						    "%llu",
						    (unsigned long long)(base +
						        k));
					k++;
					fieldf(&out, "__MONOTONIC_TIMESTAMP",
					    "%llu", (unsigned long long)mono++);
					field(&out, "_BOOT_ID", BOOT_ID,
					    strlen(BOOT_ID));
					sbuf_add(&out, ent.s, ent.len);
					sbuf_addch(&out, '\n');
					flush(&out, false);
				}
				sbuf_reset(&ent);
				has_rt = any = false;
				if (len < 0)
					break;
				continue;
			}
			if (line[0] == '#')
				continue;
			{
				char *eq = strchr(line, '=');
				size_t vl;

				if (eq == NULL)
					continue;
				*eq = '\0';
				vl = unescape(eq + 1, strlen(eq + 1));
				if (strcmp(line, "__REALTIME_TIMESTAMP") == 0) {
					has_rt = true;
					field(&out, line, eq + 1, vl);
				} else {
					field(&ent, line, eq + 1, vl);
				}
				any = true;
			}
		}
		sbuf_cleanup(&ent);
	} else {
		usage();
	}
	flush(&out, true);
	fflush(stdout);
	free(line);
	sbuf_cleanup(&out);
	return 0;
}
