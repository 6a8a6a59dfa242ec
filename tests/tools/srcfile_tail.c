/*
 * Test driver for src_file: tails the patterns given on the command line
 * in a libuv loop and prints what the module delivers, for black-box
 * tests (tests/integ/run-srcfile, real logrotate) and the throughput
 * measurement. Output lines:
 *   L <path>\t<line>             a delivered line
 *   E <event> <path>\t<message>  an event
 *   P <path> <offset> <hash>     final positions (at exit)
 *
 * srcfile_tail [-b backend] [-t] [-e enc] [-p poll_ms] [-m line_max]
 *              [-n lines] [-c] [-T timeout_ms] [-q] [-B] PATTERN...
 *   -n N  exit after N lines; -c  exit when every file has caught up;
 *   -q    do not print lines; -B  print "lines/s" for the run to stderr.
 * Exit status: 0, 1 on usage/add errors, 2 on timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "src_file.h"

static const char *const kinds[] = {"added", "missing", "appeared", "rotated",
    "truncated", "removed", "caught-up", "line-capped", "polling", "error"};

struct drv {
	uv_loop_t *loop;
	struct src_file_set *set;
	struct src_file_src *srcs[64];
	int nsrcs;
	unsigned long long lines, want_lines;
	int want_caught_up;
	int quiet;
	int done;
	int timed_out;
	uv_timer_t timeout;
};

static void
on_line(void *arg, const char *path, const char *line, size_t len)
{
	struct drv *d = arg;

	d->lines++;
	if (!d->quiet) {
		printf("L %s\t", path);
		fwrite(line, 1, len, stdout);
		putchar('\n');
		/* Tests watch the output to know what has been delivered. */
		fflush(stdout);
	}
	if (d->want_lines && d->lines >= d->want_lines)
		d->done = 1;
}

struct cu {
	int all;
	int any;
};

static void
cu_fn(void *arg, const struct src_file_info *info)
{
	struct cu *c = arg;

	c->any = 1;
	if (!info->caught_up)
		c->all = 0;
}

static void
on_event(void *arg, const struct src_file_event *ev)
{
	struct drv *d = arg;

	printf("E %s %s\t%s\n", kinds[ev->kind], ev->path, ev->message);
	fflush(stdout);
	(void)d;
}

static void
pos_fn(void *arg, const struct src_file_info *info)
{
	(void)arg;
	printf("P %s %llu %s\n", info->path, (unsigned long long)info->offset,
	    info->hash[0] ? info->hash : "-");
}

static void
on_timeout(uv_timer_t *t)
{
	struct drv *d = t->data;

	d->timed_out = 1;
	d->done = 1;
}

static int
all_caught_up(struct drv *d)
{
	struct cu c = {1, 0};
	int i;

	for (i = 0; i < d->nsrcs; i++)
		src_file_foreach(d->srcs[i], cu_fn, &c);
	return c.any && c.all;
}

int
main(int argc, char **argv)
{
	struct src_file_opts o;
	struct src_file_add_opts ao;
	struct diags dg = DIAGS_INIT;
	struct drv d;
	uv_loop_t loop;
	long timeout_ms = 0;
	int c, i, bench = 0;
	uint64_t t0, t1;

	memset(&o, 0, sizeof o);
	memset(&ao, 0, sizeof ao);
	memset(&d, 0, sizeof d);
	while ((c = getopt(argc, argv, "b:te:p:m:n:cT:qB")) != -1) {
		switch (c) {
		case 'b':
			if (src_file_backend_parse(optarg, &o.backend) != 0) {
				fprintf(stderr, "bad backend %s\n", optarg);
				return 1;
			}
			break;
		case 't':
			ao.mode = SRC_FILE_TAIL;
			break;
		case 'e':
			ao.encoding = optarg;
			break;
		case 'p':
			o.poll_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			o.line_max = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			d.want_lines = strtoull(optarg, NULL, 10);
			break;
		case 'c':
			d.want_caught_up = 1;
			break;
		case 'T':
			timeout_ms = strtol(optarg, NULL, 10);
			break;
		case 'q':
			d.quiet = 1;
			break;
		case 'B':
			bench = 1;
			break;
		default:
			return 1;
		}
	}
	if (optind >= argc || argc - optind > 64) {
		fprintf(stderr, "usage: srcfile_tail [options] PATTERN...\n");
		return 1;
	}
	uv_loop_init(&loop);
	d.loop = &loop;
	d.set = src_file_new(&loop, &o);
	printf("E backend -\t%s\n", src_file_backend_name(d.set));
	ao.cb.line = on_line;
	ao.cb.event = on_event;
	ao.cb.arg = &d;
	t0 = uv_hrtime();
	for (i = optind; i < argc; i++) {
		d.srcs[d.nsrcs] = src_file_add(d.set, argv[i], &ao, &dg);
		if (d.srcs[d.nsrcs] == NULL) {
			diags_print(&dg, stderr);
			return 1;
		}
		d.nsrcs++;
	}
	fflush(stdout);
	uv_timer_init(&loop, &d.timeout);
	d.timeout.data = &d;
	if (timeout_ms > 0)
		uv_timer_start(&d.timeout, on_timeout, (uint64_t)timeout_ms, 0);
	while (!d.done) {
		uv_run(&loop, UV_RUN_ONCE);
		fflush(stdout);
		if (d.want_caught_up && all_caught_up(&d))
			d.done = 1;
	}
	t1 = uv_hrtime();
	for (i = 0; i < d.nsrcs; i++)
		src_file_foreach(d.srcs[i], pos_fn, NULL);
	if (bench)
		fprintf(stderr, "%llu lines in %.3f s = %.0f lines/s\n",
		    d.lines, (double)(t1 - t0) / 1e9,
		    (double)d.lines / ((double)(t1 - t0) / 1e9));
	src_file_free(d.set);
	uv_close((uv_handle_t *)&d.timeout, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	diags_cleanup(&dg);
	return d.timed_out ? 2 : 0;
}
