/*
 * Test driver for the date detector: reads a log file and prints, for each
 * line, what datedetect_match() found. tests/conformance/run-dates compares
 * this output with fail2ban's own DateDetector line by line.
 *
 *   datedetect_cli [--now EPOCH] [--year-now EPOCH] [-d PATTERN]
 *                  [--tz LOGTIMEZONE] [--wide-years] [--list] [--hits]
 *                  [--bench N] FILE
 *
 * Output, one line per input line (trailing CR/LF removed):
 *   LINENO <TAB> none
 *   LINENO <TAB> empty <TAB> TEMPLATE
 *   LINENO <TAB> ok|value|exc <TAB> DATE-TEXT <TAB> TIME <TAB> TEMPLATE
 * --now is the "now" of every match (default: the real time); --year-now
 * the "now" the detector is built with, which fixes %ExY's years (default:
 * the real time, as fail2ban uses the real time for it). --list prints the
 * templates (name, tab, regex) instead; --hits appends the hit table;
 * --bench N matches the file N times and prints ns per line only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datedetect.h"
#include "diag.h"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: datedetect_cli [--now EPOCH] [--year-now "
	    "EPOCH] [-d PATTERN] [--tz TZ] [--wide-years] "
	    "[--list] [--hits] [--bench N] FILE\n");
	return 2;
}

static int
read_all(const char *path, char **buf, size_t *len)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *b;

	if (fp == NULL)
		return -1;
	b = malloc(cap);
	if (b == NULL)
		return -1;
	for (;;) {
		size_t r;

		if (n == cap) {
			char *nb = realloc(b, cap * 2);

			if (nb == NULL) {
				free(b);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		r = fread(b + n, 1, cap - n, fp);
		if (r == 0)
			break;
		n += r;
	}
	if (fp != stdin)
		fclose(fp);
	*buf = b;
	*len = n;
	return 0;
}

static void
put_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t' || c == '\\')
			printf("\\%c", c == '\t' ? 't' : '\\');
		else
			putchar(c);
	}
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID,
	    &ts); /* CPU time: fair on a busy machine */
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	const char *pattern = NULL, *tz = NULL, *path = NULL;
	time_t now = time(NULL), ynow = time(NULL);
	unsigned flags = 0;
	bool list = false, hits = false;
	long bench = 0;
	struct diags d = DIAGS_INIT;
	struct datedetect *dd;
	char *buf;
	size_t len;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--now") == 0 && i + 1 < argc)
			now = (time_t)strtoll(argv[++i], NULL, 10);
		else if (strcmp(a, "--year-now") == 0 && i + 1 < argc)
			ynow = (time_t)strtoll(argv[++i], NULL, 10);
		else if (strcmp(a, "-d") == 0 && i + 1 < argc)
			pattern = argv[++i];
		else if (strcmp(a, "--tz") == 0 && i + 1 < argc)
			tz = argv[++i];
		else if (strcmp(a, "--wide-years") == 0)
			flags |= DATEDETECT_WIDE_YEARS;
		else if (strcmp(a, "--list") == 0)
			list = true;
		else if (strcmp(a, "--hits") == 0)
			hits = true;
		else if (strcmp(a, "--bench") == 0 && i + 1 < argc)
			bench = strtol(argv[++i], NULL, 10);
		else if (a[0] == '-' && a[1] != '\0')
			return usage();
		else
			path = a;
	}
	dd = datedetect_new(pattern, tz, flags, ynow, "datepattern", 1, &d);
	if (dd == NULL) {
		diags_print(&d, stderr);
		diags_cleanup(&d);
		return 1;
	}
	if (list) {
		printf("%s\n", datedetect_describe(dd));
		for (size_t i = 0; i < datedetect_count(dd); i++)
			printf("%s\t%s\n", datedetect_name(dd, i),
			    datedetect_regex(dd, i));
		datedetect_free(dd);
		return 0;
	}
	if (path == NULL)
		return usage();
	if (read_all(path, &buf, &len) != 0) {
		fprintf(
		    stderr, "datedetect_cli: %s: %s\n", path, strerror(errno));
		datedetect_free(dd);
		return 1;
	}
	if (bench > 0) {
		size_t lines = 0;
		double t0 = now_ns(), t1;
		unsigned long found = 0;

		for (long r = 0; r < bench; r++) {
			size_t p = 0;

			while (p < len) {
				const char *e = memchr(buf + p, '\n', len - p);
				size_t l = e != NULL ? (size_t)(e - (buf + p))
				                     : len - p;
				struct date_match m;

				found += (unsigned long)datedetect_match(
				    dd, buf + p, l, now, &m);
				lines++;
				p += l + 1;
			}
		}
		t1 = now_ns();
		printf("%.1f ns/line (%zu lines, %lu dated)\n",
		    (t1 - t0) / (double)lines, lines, found);
		free(buf);
		datedetect_free(dd);
		return 0;
	}
	{
		size_t p = 0, lineno = 0;

		while (p < len) {
			const char *line = buf + p,
			           *e = memchr(line, '\n', len - p);
			size_t l = e != NULL ? (size_t)(e - line) : len - p;
			size_t next = p + l + 1;
			struct date_match m;

			lineno++;
			while (l > 0 &&
			    (line[l - 1] == '\r' || line[l - 1] == '\n'))
				l--;
			printf("%zu\t", lineno);
			if (!datedetect_match(dd, line, l, now, &m)) {
				printf("none\n");
			} else if (m.end == m.start && m.err == DATE_EOTHER) {
				printf("match-exception IndexError\n");
			} else if (m.end == m.start) {
				printf("empty\t%s\n",
				    datedetect_name(dd, (size_t)m.tmpl));
			} else {
				printf("%s\t",
				    m.has_time                 ? "ok"
				        : m.err == DATE_EVALUE ? "value"
				                               : "exc");
				put_text(line + m.start, m.end - m.start);
				if (m.has_time)
					printf("\t%.6f", m.time);
				else
					printf("\t-");
				printf("\t%s\n",
				    datedetect_name(dd, (size_t)m.tmpl));
			}
			p = next;
		}
	}
	if (hits)
		for (size_t i = 0; i < datedetect_count(dd); i++)
			printf("hits\t%lu\t%s\n", datedetect_hits(dd, i),
			    datedetect_name(dd, i));
	free(buf);
	datedetect_free(dd);
	return 0;
}
