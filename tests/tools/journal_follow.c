/*
 * Test driver for src_journal: follows a journal with the module in a
 * libuv loop, runs each entry through the filter engine
 * (filter_process_entry, as the daemon's jail will) and prints what
 * happened with wall-clock microsecond stamps, so black-box tests can
 * check bans, resume and latency before the journal is wired into
 * wardend. Output lines (stdout, flushed after every loop turn):
 *   L <date><line>                   a delivered line (-L)
 *   E <event> <message>              an event (-E)
 *   F <id> <entry_usec> <now_usec>   a failure
 *   B <id> <entry_usec> <now_usec>   the failure that reached -n
 *   S entries=.. failures=.. bans=.. capped=.. errors=.. opens=..
 *     cpu_ms=.. maxrss_kb=..  (at exit, on stderr; CPU and peak RSS of
 *     the whole run from getrusage)
 *
 * journal_follow [-P SPEC] [-m MATCH]... [-r FAILREGEX]...
 *                [-F FILTER -c CONFDIR] [-s tail|head|SECONDS_AGO|@EPOCH]
 *                [-C CURSORFILE] [-n MAXRETRY] [-x] [-X BANS] [-N ENTRIES]
 *                [-T TIMEOUT_MS] [-b BUDGET] [-R RETRY_MS] [-l LINE_MAX]
 *                [-U USEDNS] [-L] [-E] [-q]
 *   -P  "systemd-journal[journalfiles=..., journalpath=...]" (default:
 *       the system journal)
 *   -m  a journalmatch line (default: the filter's)
 *   -U  the filter's usedns
 *   -F  a filter name read from CONFDIR with the journal logtype
 *   -C  read the saved cursor at start; write the current one
 *       (atomically) after every loop turn that delivered entries, as
 *       the daemon's database does
 *   -x  exit once caught up; -X exit after that many bans; -N exit after
 *       that many entries; -q print no F lines
 * Exit status: 0; 1 usage or setup error; 2 timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "filter.h"
#include "filterdef.h"
#include "journalmatch.h"
#include "sbuf.h"
#include "src_journal.h"
#include "xmalloc.h"

static const char *const kinds[] = {"opened", "missing", "cursor-lost",
    "rotated", "caught-up", "line-capped", "error", "recovered"};

#define MAXIDS    (1 << 18) /* ids counted; more are not */
#define MAXPROBES 64

struct drv {
	uv_loop_t *loop;
	struct src_journal *sj;
	struct filter *f;
	const char *cursor_file;
	char *saved_cursor;
	bool dirty;
	bool print_lines, print_events, quiet;
	bool exit_caught_up;
	unsigned long maxretry, want_bans, want_entries;
	unsigned long entries, failures, bans;
	/* failure counts per id: a small open-addressing table */
	char **ids;
	unsigned long *counts;
	int timed_out;
	uv_timer_t timeout;
	uv_check_t check;
	uv_signal_t sigterm;
};

static uint64_t
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned long *
count_of(struct drv *d, const char *id)
{
	unsigned long h = 5381;

	for (const char *p = id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (unsigned long i = 0; i < MAXPROBES; i++) {
		unsigned long k = (h + i) % MAXIDS;

		if (d->ids[k] == NULL) {
			d->ids[k] = xstrdup(id);
			return &d->counts[k];
		}
		if (strcmp(d->ids[k], id) == 0)
			return &d->counts[k];
	}
	return NULL;
}

static void
stop(struct drv *d)
{
	uv_stop(d->loop);
}

static void
on_entry(void *arg, const struct src_journal_entry *e)
{
	struct drv *d = arg;
	struct filter_result res;

	d->entries++;
	d->dirty = true;
	if (d->print_lines)
		printf("L %s%s\n", e->date, e->line);
	if (d->f != NULL) {
		filter_process_entry(d->f, e->date, e->line, e->len, e->time,
		    (double)now_usec() / 1e6, &res);
		for (size_t i = 0; i < res.n; i++) {
			const struct failure *fl = &res.v[i];
			unsigned long *c;
			uint64_t t = now_usec();

			if (fl->kind == FAILURE_PENDING || fl->id.text == NULL)
				continue;
			d->failures++;
			if (!d->quiet)
				printf("F %s %llu %llu\n", fl->id.text,
				    (unsigned long long)e->usec,
				    (unsigned long long)t);
			c = count_of(d, fl->id.text);
			if (c != NULL && ++*c == d->maxretry) {
				d->bans++;
				printf("B %s %llu %llu\n", fl->id.text,
				    (unsigned long long)e->usec,
				    (unsigned long long)t);
				if (d->want_bans && d->bans >= d->want_bans)
					stop(d);
			}
		}
	}
	if (d->want_entries && d->entries >= d->want_entries)
		stop(d);
}

static void
on_event(void *arg, const struct src_journal_event *ev)
{
	struct drv *d = arg;

	if (d->print_events)
		printf("E %s %s\n", kinds[ev->kind], ev->message);
	if (ev->kind == SRC_JOURNAL_EV_CAUGHT_UP) {
		if (d->f)
			filter_set_in_operation(d->f, true);
		if (d->exit_caught_up)
			stop(d);
	}
}

static void
save_cursor(struct drv *d)
{
	char tmp[4096];
	const char *c;
	FILE *fp;

	if (d->cursor_file == NULL || d->sj == NULL || !d->dirty)
		return;
	d->dirty = false;
	c = src_journal_cursor(d->sj);
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->cursor_file);
	fp = fopen(tmp, "w");
	if (fp == NULL)
		return;
	fprintf(fp, "%s\n", c);
	fflush(fp);
	fsync(fileno(fp));
	fclose(fp);
	rename(tmp, d->cursor_file);
}

static void
on_check(uv_check_t *h)
{
	struct drv *d = h->data;

	/* the daemon commits its database once per turn: so do we */
	save_cursor(d);
	fflush(stdout);
}

static void
on_timeout(uv_timer_t *t)
{
	struct drv *d = t->data;

	d->timed_out = 1;
	stop(d);
}

static void
on_sigterm(uv_signal_t *h, int sig)
{
	(void)sig;
	stop(h->data);
}

static char *
read_cursor(const char *path)
{
	FILE *fp = fopen(path, "r");
	char buf[4096];
	size_t n;

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] ? xstrdup(buf) : NULL;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: journal_follow [-P SPEC] [-m MATCH]... "
	    "[-r FAILREGEX]... [-F FILTER -c CONFDIR] [-s START] "
	    "[-C CURSORFILE] [-n MAXRETRY] [-x] [-X BANS] "
	    "[-N ENTRIES] [-T MS] [-b BUDGET] [-R RETRY_MS] "
	    "[-l LINE_MAX] [-U USEDNS] [-L] [-E] [-q]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static struct drv d;
	struct src_journal_params params;
	struct src_journal_opts so = {0};
	struct journalmatch jm = JOURNALMATCH_INIT;
	struct filterdef fd;
	struct diags dg = DIAGS_INIT;
	struct strv matches = STRV_INIT;
	const char *spec = NULL, *filter = NULL, *confdir = "/etc/fail2ban";
	const char *start = "tail", *usedns = NULL;
	long timeout_ms = 0;
	bool have_regex = false;
	int c, rc = 1;

	filterdef_init(&fd);
	src_journal_params_init(&params);
	d.maxretry = 1;
	d.ids = xcalloc(MAXIDS, sizeof(*d.ids));
	d.counts = xcalloc(MAXIDS, sizeof(*d.counts));
	for (;;) {
		c = getopt(argc, argv, "P:m:r:F:c:s:C:n:xX:N:T:b:R:l:U:LEq");
		if (c == -1)
			break;
		switch (c) {
		case 'P':
			spec = optarg;
			break;
		case 'm':
			strv_add(&matches, optarg);
			break;
		case 'r':
			filterdef_re_add(&fd.failregex, optarg, NULL, 0);
			have_regex = true;
			break;
		case 'F':
			filter = optarg;
			break;
		case 'c':
			confdir = optarg;
			break;
		case 's':
			start = optarg;
			break;
		case 'C':
			d.cursor_file = optarg;
			break;
		case 'n':
			d.maxretry = strtoul(optarg, NULL, 10);
			break;
		case 'x':
			d.exit_caught_up = true;
			break;
		case 'X':
			d.want_bans = strtoul(optarg, NULL, 10);
			break;
		case 'N':
			d.want_entries = strtoul(optarg, NULL, 10);
			break;
		case 'T':
			timeout_ms = strtol(optarg, NULL, 10);
			break;
		case 'b':
			so.budget = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			so.retry_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'l':
			so.line_max = strtoul(optarg, NULL, 10);
			break;
		case 'U':
			usedns = optarg;
			break;
		case 'L':
			d.print_lines = true;
			break;
		case 'E':
			d.print_events = true;
			break;
		case 'q':
			d.quiet = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (filter && have_regex))
		usage();
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (spec && src_journal_params_parse(&params, spec, &dg) != 0)
		goto out;
	if (filter) {
		const char *vars[] = {"backend", "systemd", NULL};

		if (conf_filter_load(confdir, filter, vars, &fd, &dg) != 0)
			goto out;
	}
	if (matches.n > 0) {
		if (journalmatch_add_lines(&jm, &matches, NULL, 0, &dg) != 0)
			goto out;
	} else if (journalmatch_add_lines(
	               &jm, &fd.journalmatch, NULL, 0, &dg) != 0) {
		goto out;
	}
	if (usedns) {
		free(fd.usedns);
		fd.usedns = xstrdup(usedns);
	}
	if (fd.failregex.n > 0) {
		struct filter_config cfg = {0};

		d.f = filter_new(&fd, &cfg, time(NULL), &dg);
		if (d.f == NULL)
			goto out;
		filter_set_in_operation(d.f, false);
	}
	if (strcmp(start, "tail") == 0) {
		so.start = SRC_JOURNAL_START_TAIL;
	} else if (strcmp(start, "head") == 0) {
		so.start = SRC_JOURNAL_START_HEAD;
	} else if (start[0] == '@') {
		so.start = SRC_JOURNAL_START_SINCE;
		so.since = strtod(start + 1, NULL);
	} else {
		so.start = SRC_JOURNAL_START_SINCE;
		so.since = (double)now_usec() / 1e6 - strtod(start, NULL);
	}
	if (d.cursor_file)
		d.saved_cursor = read_cursor(d.cursor_file);
	d.loop = uv_default_loop();
	so.params = &params;
	so.match = &jm;
	so.cursor = d.saved_cursor;
	so.cb.entry = on_entry;
	so.cb.event = on_event;
	so.cb.arg = &d;
	uv_check_init(d.loop, &d.check);
	d.check.data = &d;
	uv_check_start(&d.check, on_check);
	uv_unref((uv_handle_t *)&d.check);
	uv_signal_init(d.loop, &d.sigterm);
	d.sigterm.data = &d;
	uv_signal_start(&d.sigterm, on_sigterm, SIGTERM);
	uv_unref((uv_handle_t *)&d.sigterm);
	if (timeout_ms > 0) {
		uv_timer_init(d.loop, &d.timeout);
		d.timeout.data = &d;
		uv_timer_start(&d.timeout, on_timeout, (uint64_t)timeout_ms, 0);
	}
	d.sj = src_journal_new(d.loop, &so, &dg);
	if (d.sj == NULL)
		goto out;
	uv_run(d.loop, UV_RUN_DEFAULT);
	d.dirty = true;
	save_cursor(&d);
	{
		struct src_journal_stats st;

		src_journal_get_stats(d.sj, &st);
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr,
		    "S entries=%llu failures=%lu bans=%lu capped=%llu "
		    "errors=%llu opens=%llu cpu_ms=%ld maxrss_kb=%ld\n",
		    (unsigned long long)st.entries, d.failures, d.bans,
		    (unsigned long long)st.capped,
		    (unsigned long long)st.errors, (unsigned long long)st.opens,
		    (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		        (long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
		            1000,
		    ru.ru_maxrss);
	}
	src_journal_free(d.sj);
	uv_close((uv_handle_t *)&d.check, NULL);
	uv_close((uv_handle_t *)&d.sigterm, NULL);
	if (timeout_ms > 0)
		uv_close((uv_handle_t *)&d.timeout, NULL);
	while (uv_run(d.loop, UV_RUN_DEFAULT) != 0) {
	}
	uv_loop_close(d.loop);
	rc = d.timed_out ? 2 : 0;
out:
	fflush(stdout);
	diags_print(&dg, stderr);
	diags_cleanup(&dg);
	filter_free(d.f);
	filterdef_cleanup(&fd);
	journalmatch_cleanup(&jm);
	strv_cleanup(&matches);
	src_journal_params_cleanup(&params);
	free(d.saved_cursor);
	for (size_t i = 0; i < MAXIDS; i++)
		free(d.ids[i]);
	free(d.ids);
	free(d.counts);
	return rc;
}
