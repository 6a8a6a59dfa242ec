/*
 * Fuzzes the journal source's pure parts: the first byte picks the target,
 * the rest is its input.
 *   0: journalmatch lines (split at '\n'), then the status text;
 *   1: backend parameters "systemd-journal[...]" (journalfiles is left
 *      out: it globs the file system);
 *   2: the entry -> line formatting: NUL-separated field values (host,
 *      identifier, comm, SYSLOG_PID, _PID, _SOURCE_MONOTONIC_TIMESTAMP,
 *      _SOURCE_REALTIME_TIMESTAMP, then MESSAGE values), with a small and
 *      a large line cap, plus the entry time and its date text.
 * Any input must end in a value or an error, never a crash, a leak or a
 * line over its cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "journalmatch.h"
#include "sbuf.h"
#include "src_journal.h"
#include "xmalloc.h"

static void
do_match(const char *s)
{
	struct journalmatch m = JOURNALMATCH_INIT;
	struct diags d = DIAGS_INIT;
	struct sbuf out = SBUF_INIT;
	char *copy = xstrdup(s), *p = copy;

	for (;;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		journalmatch_add_line(&m, p, "fuzz", 1, &d);
		if (!nl)
			break;
		p = nl + 1;
	}
	journalmatch_format(&m, &out);
	for (size_t g = 0; g < m.n; g++)
		for (size_t i = 0; i < m.groups[g].n; i++)
			if (!journalmatch_term_valid(
			        m.groups[g].v[i], strlen(m.groups[g].v[i])))
				abort();
	free(copy);
	sbuf_cleanup(&out);
	journalmatch_cleanup(&m);
	diags_cleanup(&d);
}

static void
do_params(const char *s)
{
	struct src_journal_params p;
	struct diags d = DIAGS_INIT;

	if (strstr(s, "files"))
		return;
	src_journal_params_init(&p);
	src_journal_params_parse(&p, s, &d);
	src_journal_params_cleanup(&p);
	diags_cleanup(&d);
}

static void
do_format(const char *s, size_t n)
{
	const char *part[16];
	size_t len[16], np = 0;
	struct src_journal_fields f = {0};
	struct sbuf out = SBUF_INIT;
	char date[64];
	size_t caps[2] = {32, 0};

	while (np < 16) {
		const char *z = memchr(s, '\0', n);
		size_t l = z ? (size_t)(z - s) : n;

		part[np] = s;
		len[np++] = l;
		if (!z)
			break;
		s = z + 1;
		n -= l + 1;
	}
#define F(i, x)                                                                \
	if (np > (i) && len[i] > 0) {                                          \
		f.x = part[i];                                                 \
		f.x##_len = len[i];                                            \
	}
	F(0, hostname)
	F(1, ident)
	F(2, comm)
	F(3, syslog_pid)
	F(4, pid)
	F(5, src_monotonic)
	F(6, src_realtime)
#undef F
	if (np > 7) {
		f.message = &part[7];
		f.message_len = &len[7];
		f.nmessage = np - 7;
	}
	f.realtime_usec = 1795240000000000ULL;
	f.monotonic_usec = len[0] * 1000003ULL;
	for (int i = 0; i < 2; i++) {
		bool cut;

		sbuf_reset(&out);
		cut = src_journal_format_line(&f, caps[i], &out);
		if (caps[i] && out.len > caps[i])
			abort();
		if (!caps[i] && cut)
			abort();
	}
	src_journal_date_text(src_journal_entry_usec(&f), date, sizeof(date));
	sbuf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 8192)
		return 0;
	s = xmemdup(data + 1, size - 1);
	s = xreallocarray(s, size, 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		do_match(s);
		break;
	case 1:
		do_params(s);
		break;
	default:
		do_format(s, size - 1);
		break;
	}
	free(s);
	return 0;
}
