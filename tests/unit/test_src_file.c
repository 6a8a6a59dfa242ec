/*
 * src_file against real files in a temporary directory and a real libuv
 * loop: appends, partial lines, copytruncate, rename rotation (with a
 * partial last line), delete and re-create, globs and missing paths that
 * appear later, saved positions and the first-line hash, tail, the line
 * cap, iconv, the read budget with a 100 MB backlog next to a live file,
 * and the polling backend for the core cases. Every wait is bounded by a
 * deadline; no sleep is longer than a few milliseconds.
 */
#include "src_file.h"
#include "diag.h"
#include "sha1.h"
#include "tap.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXREC 4096

/* What a consumer saw: lines as "line" (or "path|line" with tagging) and
 * events as "kind:basename". */
struct rec {
	char *lines[MAXREC];
	size_t nlines;
	unsigned long long total_lines;
	char *events[MAXREC];
	size_t nevents;
	bool tag_path;
	bool count_only;
	/* saved position offered to src_file */
	bool has_saved;
	uint64_t saved_off;
	char saved_hash[SRC_FILE_HASH_LEN + 1];
	/* ADDED event hash, for the hash test */
	char added_hash[SRC_FILE_HASH_LEN + 1];
	uint64_t added_off;
	uint64_t capped_count;
	/* delete the source from the line callback after this many lines */
	struct src_file_set *set;
	struct src_file_src *src;
	size_t del_after;
	/* backlog test */
	const char *watch_path;
	unsigned long long at_first_other; /* total_lines when it came */
	size_t turn_bytes, max_turn_bytes;
};

static const char *const kind_names[] = {"added", "missing", "appeared",
    "rotated", "truncated", "removed", "caught-up", "line-capped", "polling",
    "error"};

static char tmpdir[256];
static uv_loop_t loop;
static uv_timer_t guard;

static void
rec_clear(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	for (i = 0; i < r->nevents; i++)
		free(r->events[i]);
	r->nlines = r->nevents = 0;
	r->total_lines = 0;
}

static void
on_line(void *arg, const char *path, const char *line, size_t len)
{
	struct rec *r = arg;

	r->total_lines++;
	r->turn_bytes += len + 1;
	if (r->watch_path != NULL && strcmp(path, r->watch_path) == 0 &&
	    r->at_first_other == 0)
		r->at_first_other = r->total_lines;
	if (!r->count_only && r->nlines < MAXREC) {
		const char *b = strrchr(path, '/');

		r->lines[r->nlines++] = r->tag_path
		    ? xasprintf("%s|%.*s", b ? b + 1 : path, (int)len, line)
		    : xmemdup(line, len);
	}
	if (r->del_after && r->total_lines == r->del_after)
		src_file_del(r->set, r->src);
}

static void
on_event(void *arg, const struct src_file_event *ev)
{
	struct rec *r = arg;
	const char *b = strrchr(ev->path, '/');

	if (ev->kind == SRC_FILE_EV_ADDED) {
		snprintf(r->added_hash, sizeof r->added_hash, "%s", ev->hash);
		r->added_off = ev->offset;
	}
	if (ev->kind == SRC_FILE_EV_LINE_CAPPED)
		r->capped_count = ev->count;
	if (r->nevents < MAXREC)
		r->events[r->nevents++] = xasprintf(
		    "%s:%s", kind_names[ev->kind], b ? b + 1 : ev->path);
}

static int
saved_pos(void *arg, const char *path, uint64_t *off,
    char hash[SRC_FILE_HASH_LEN + 1])
{
	struct rec *r = arg;

	(void)path;
	if (!r->has_saved)
		return 0;
	*off = r->saved_off;
	memcpy(hash, r->saved_hash, SRC_FILE_HASH_LEN + 1);
	return 1;
}

static bool
has_event(const struct rec *r, const char *ev)
{
	size_t i;

	for (i = 0; i < r->nevents; i++)
		if (strcmp(r->events[i], ev) == 0)
			return true;
	return false;
}

static size_t
count_event(const struct rec *r, const char *ev)
{
	size_t i, n = 0;

	for (i = 0; i < r->nevents; i++)
		if (strcmp(r->events[i], ev) == 0)
			n++;
	return n;
}

/* All lines joined with ',' (for compact comparisons). */
static const char *
joined(const struct rec *r)
{
	static char buf[65536];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < r->nlines && n < sizeof buf - 1; i++)
		n += (size_t)snprintf(
		    buf + n, sizeof buf - n, "%s%s", i ? "," : "", r->lines[i]);
	return buf;
}

static const char *
events_joined(const struct rec *r)
{
	static char buf[8192];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < r->nevents && n < sizeof buf - 1; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s",
		    i ? "," : "", r->events[i]);
	return buf;
}

static void
on_guard(uv_timer_t *t)
{
	(void)t;
}

static uint64_t
now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* Runs the loop until r has n lines (total) or timeout_ms passed. */
static bool
wait_lines(struct rec *r, unsigned long long n, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (r->total_lines < n && now_ms() < end)
		uv_run(&loop, UV_RUN_ONCE);
	return r->total_lines >= n;
}

static bool
wait_event(struct rec *r, const char *ev, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (!has_event(r, ev) && now_ms() < end)
		uv_run(&loop, UV_RUN_ONCE);
	return has_event(r, ev);
}

/* Runs the loop for ms milliseconds (to show nothing more arrives). */
static void
run_for(int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end)
		uv_run(&loop, UV_RUN_ONCE);
}

static char *
tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void
put(const char *name, const char *mode, const char *data)
{
	char *p = tpath(name);
	FILE *fp = fopen(p, mode);

	if (fp == NULL) {
		perror(p);
		exit(2);
	}
	fputs(data, fp);
	fclose(fp);
	free(p);
}

static void
mv(const char *from, const char *to)
{
	char *a = tpath(from), *b = tpath(to);

	if (rename(a, b) != 0)
		perror("rename");
	free(a);
	free(b);
}

static void
rm(const char *name)
{
	char *p = tpath(name);

	unlink(p);
	free(p);
}

/* copytruncate as logrotate does it: copy, then truncate in place. */
static void
copytruncate(const char *name, const char *to)
{
	char *a = tpath(name), *b = tpath(to), buf[4096];
	int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT, 0644);
	ssize_t n;

	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	close(in);
	close(out);
	if (truncate(a, 0) != 0)
		perror("truncate");
	free(a);
	free(b);
}

static struct src_file_set *
mkset(enum src_file_backend backend)
{
	struct src_file_opts o;

	memset(&o, 0, sizeof o);
	o.backend = backend;
	o.poll_ms = 50;
	return src_file_new(&loop, &o);
}

static struct src_file_src *
add(struct src_file_set *set, const char *name, enum src_file_mode mode,
    struct rec *r)
{
	struct src_file_add_opts ao;
	struct diags d = DIAGS_INIT;
	struct src_file_src *src;
	char *p = tpath(name);

	memset(&ao, 0, sizeof ao);
	ao.mode = mode;
	ao.cb.line = on_line;
	ao.cb.event = on_event;
	ao.cb.saved_pos = saved_pos;
	ao.cb.arg = r;
	src = src_file_add(set, p, &ao, &d);
	if (src == NULL)
		diags_print(&d, stdout);
	diags_cleanup(&d);
	free(p);
	r->set = set;
	r->src = src;
	return src;
}

static void
done_set(struct src_file_set *set, struct rec *r)
{
	src_file_free(set);
	uv_run(&loop, UV_RUN_NOWAIT);
	rec_clear(r);
}

/* ---- core cases, run for both backends ---- */

static void
test_append(enum src_file_backend be, const char *tag)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(be);

	put("a.log", "w", "one\ntwo\n");
	add(set, "a.log", SRC_FILE_HEAD, &r);
	ok(has_event(&r, "added:a.log"), "%s: added reported at once", tag);
	wait_lines(&r, 2, 2000);
	ok(wait_event(&r, "caught-up:a.log", 2000),
	    "%s: caught up after the backlog", tag);
	put("a.log", "a", "three\nfour\n");
	wait_lines(&r, 4, 2000);
	is_str(joined(&r), "one,two,three,four",
	    "%s: head reads from the start, then appends", tag);
	done_set(set, &r);
	rm("a.log");
}

static void
test_partial(enum src_file_backend be, const char *tag)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(be);

	put("p.log", "w", "first\r\nsecond-ha");
	add(set, "p.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 1, 2000);
	run_for(150);
	is_str(joined(&r), "first",
	    "%s: a partial last line is held (and \\r\\n stripped)", tag);
	put("p.log", "a", "lf\nthird\n");
	wait_lines(&r, 3, 2000);
	is_str(joined(&r), "first,second-half,third",
	    "%s: completed by its newline", tag);
	done_set(set, &r);
	rm("p.log");
}

static void
test_copytruncate(enum src_file_backend be, const char *tag)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(be);

	put("c.log", "w", "a1\na2\na3\n");
	add(set, "c.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 3, 2000);
	copytruncate("c.log", "c.log.1");
	put("c.log", "a", "b1\n");
	wait_lines(&r, 4, 2000);
	run_for(150);
	is_str(joined(&r), "a1,a2,a3,b1",
	    "%s: copytruncate: new content read from 0, nothing twice", tag);
	ok(has_event(&r, "truncated:c.log"), "%s: truncation reported (%s)",
	    tag, events_joined(&r));
	done_set(set, &r);
	rm("c.log");
	rm("c.log.1");
}

static void
test_rename_rotation(enum src_file_backend be, const char *tag)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(be);

	put("r.log", "w", "old1\nold2\n");
	add(set, "r.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 2, 2000);
	mv("r.log", "r.log.1");
	/* The writer still has the old file open for a moment. */
	put("r.log.1", "a", "old3\nold-partial");
	put("r.log", "w", "new1\n");
	wait_lines(&r, 5, 2000);
	put("r.log", "a", "new2\n");
	wait_lines(&r, 6, 2000);
	run_for(100);
	is_str(joined(&r), "old1,old2,old3,old-partial,new1,new2",
	    "%s: rename rotation: rest of the old file (its partial last "
	    "line too), then the new one",
	    tag);
	ok(has_event(&r, "rotated:r.log"), "%s: rotation reported", tag);
	done_set(set, &r);
	rm("r.log");
	rm("r.log.1");
}

static void
test_delete_recreate(enum src_file_backend be, const char *tag)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(be);

	put("d.log", "w", "x1\n");
	add(set, "d.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 1, 2000);
	rm("d.log");
	ok(wait_event(&r, "removed:d.log", 2000), "%s: deletion reported", tag);
	put("d.log", "w", "y1\n");
	wait_lines(&r, 2, 2000);
	is_str(joined(&r), "x1,y1", "%s: re-created file read from 0", tag);
	ok(has_event(&r, "appeared:d.log"), "%s: re-appearance reported (%s)",
	    tag, events_joined(&r));
	done_set(set, &r);
	rm("d.log");
}

static void
test_missing_appears(enum src_file_backend be, const char *tag)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(be);

	add(set, "m.log", SRC_FILE_HEAD, &r);
	ok(has_event(&r, "missing:m.log"), "%s: missing path reported", tag);
	run_for(100);
	is_int(count_event(&r, "missing:m.log"), 1, "%s: missing reported once",
	    tag);
	put("m.log", "w", "hello\n");
	wait_lines(&r, 1, 2000);
	is_str(joined(&r), "hello", "%s: missing path picked up", tag);
	ok(has_event(&r, "appeared:m.log"), "%s: appearance reported", tag);
	done_set(set, &r);
	rm("m.log");
}

static void
test_glob_later(enum src_file_backend be, const char *tag)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(be);
	char *dir = tpath("g");

	mkdir(dir, 0755);
	r.tag_path = true;
	put("g/first.log", "w", "f1\n");
	add(set, "g/*.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 1, 2000);
	put("g/other.txt", "w", "ignored\n");
	put("g/second.log", "w", "s1\n");
	wait_lines(&r, 2, 2000);
	run_for(100);
	is_str(joined(&r), "first.log|f1,second.log|s1",
	    "%s: glob picks up a file created later (not a non-match)", tag);
	done_set(set, &r);
	rm("g/first.log");
	rm("g/second.log");
	rm("g/other.txt");
	rmdir(dir);
	free(dir);
}

/* ---- inotify-only or backend-independent cases ---- */

static void
test_glob_rotation_no_dups(void)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);
	char *dir = tpath("gr");

	mkdir(dir, 0755);
	r.tag_path = true;
	put("gr/app.log", "w", "a\nb\n");
	add(set, "gr/app.log*", SRC_FILE_HEAD, &r);
	wait_lines(&r, 2, 2000);
	mv("gr/app.log", "gr/app.log.1");
	put("gr/app.log", "w", "c\n");
	wait_lines(&r, 3, 2000);
	run_for(150);
	put("gr/app.log.1", "a", "late\n");
	wait_lines(&r, 4, 2000);
	run_for(150);
	is_str(joined(&r), "app.log|a,app.log|b,app.log|c,app.log.1|late",
	    "glob matching rotated names: nothing read twice, late write to "
	    "the rotated file read once");
	done_set(set, &r);
	rm("gr/app.log");
	rm("gr/app.log.1");

	/* Renamed, and the new file comes only later: the rotated name must
	 * not re-read the inode the old name still follows. */
	set = mkset(SRC_FILE_BACKEND_AUTO);
	r.tag_path = true;
	put("gr/app.log", "w", "a\nb\n");
	add(set, "gr/app.log*", SRC_FILE_HEAD, &r);
	wait_lines(&r, 2, 2000);
	mv("gr/app.log", "gr/app.log.1");
	run_for(150);
	put("gr/app.log.1", "a", "late\n");
	wait_lines(&r, 3, 2000);
	put("gr/app.log", "w", "c\n");
	wait_lines(&r, 4, 2000);
	put("gr/app.log.1", "a", "later\n");
	wait_lines(&r, 5, 2000);
	run_for(150);
	is_str(joined(&r),
	    "app.log|a,app.log|b,app.log|late,app.log|c,app.log.1|later",
	    "glob: a renamed file without successor is followed once, then "
	    "handed to its new name");
	done_set(set, &r);
	rm("gr/app.log");
	rm("gr/app.log.1");
	rmdir(dir);
	free(dir);
}

static void
test_glob_missing_and_cap(void)
{
	struct rec r = {0};
	struct src_file_opts o;
	struct src_file_set *set;
	char *dir = tpath("gc");

	mkdir(dir, 0755);
	memset(&o, 0, sizeof o);
	o.max_files_per_glob = 2;
	set = src_file_new(&loop, &o);
	add(set, "gc/*.log", SRC_FILE_HEAD, &r);
	ok(has_event(&r, "missing:*.log"), "glob without match reported");
	put("gc/1.log", "w", "1\n");
	put("gc/2.log", "w", "2\n");
	put("gc/3.log", "w", "3\n");
	wait_lines(&r, 2, 2000);
	run_for(100);
	is_int(r.total_lines, 2, "files per glob capped");
	ok(has_event(&r, "error:*.log"), "cap reported (%s)",
	    events_joined(&r));
	done_set(set, &r);
	rm("gc/1.log");
	rm("gc/2.log");
	rm("gc/3.log");
	rmdir(dir);
	free(dir);
}

struct posrec {
	char path[512];
	uint64_t offset;
	char hash[SRC_FILE_HASH_LEN + 1];
	int n;
};

static void
pos_fn(void *arg, const struct src_file_info *info)
{
	struct posrec *p = arg;

	snprintf(p->path, sizeof p->path, "%s", info->path);
	p->offset = info->offset;
	snprintf(p->hash, sizeof p->hash, "%s", info->hash);
	p->n++;
}

static void
test_saved_position(void)
{
	struct rec r = {0};
	struct src_file_set *set;
	struct src_file_src *src;
	struct posrec pr = {0};
	char want[SRC_FILE_HASH_LEN + 1];

	put("s.log", "w", "L1\nL2\nL3\nL4\nL5\npart");
	sha1_hex("L1\n", 3, want);

	/* Position and hash as saved by a previous run (or fail2ban). */
	set = mkset(SRC_FILE_BACKEND_AUTO);
	src = add(set, "s.log", SRC_FILE_HEAD, &r);
	is_str(r.added_hash, want,
	    "hash = SHA-1 hex of the first line "
	    "with its newline");
	wait_lines(&r, 5, 2000);
	run_for(50);
	src_file_foreach(src, pos_fn, &pr);
	is_int(pr.offset, 15, "position = start of the partial line");
	is_str(pr.hash, want, "foreach reports the hash");
	done_set(set, &r);

	set = mkset(SRC_FILE_BACKEND_AUTO);
	r.has_saved = true;
	r.saved_off = 9; /* after L3 */
	memcpy(r.saved_hash, want, sizeof want);
	add(set, "s.log", SRC_FILE_HEAD, &r);
	is_int(r.added_off, 9, "added event carries the resumed offset");
	wait_lines(&r, 2, 2000);
	run_for(50);
	is_str(joined(&r), "L4,L5", "saved position resumed, hash matches");
	done_set(set, &r);

	set = mkset(SRC_FILE_BACKEND_AUTO);
	r.has_saved = true;
	r.saved_off = 9;
	memcpy(r.saved_hash, "0000000000000000000000000000000000000000", 41);
	add(set, "s.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 5, 2000);
	run_for(50);
	is_str(joined(&r), "L1,L2,L3,L4,L5",
	    "hash mismatch (rotated since): read from 0");
	done_set(set, &r);

	set = mkset(SRC_FILE_BACKEND_AUTO);
	r.has_saved = true;
	r.saved_off = 1000;
	memcpy(r.saved_hash, want, sizeof want);
	add(set, "s.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 5, 2000);
	is_int(r.total_lines, 5, "saved offset past the end: read from 0");
	done_set(set, &r);

	/* tail ignores the saved position. */
	set = mkset(SRC_FILE_BACKEND_AUTO);
	r.has_saved = true;
	r.saved_off = 0;
	memcpy(r.saved_hash, want, sizeof want);
	add(set, "s.log", SRC_FILE_TAIL, &r);
	ok(has_event(&r, "caught-up:s.log"), "tail is caught up at once");
	run_for(100);
	is_int(r.total_lines, 0, "tail: the backlog is skipped");
	put("s.log", "a", "-end\nL6\n");
	wait_lines(&r, 2, 2000);
	is_str(joined(&r), "part-end,L6",
	    "tail starts after the last complete line");
	done_set(set, &r);
	r.has_saved = false;
	rm("s.log");
}

static void
test_many_appends(void)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);
	char *p = tpath("many.log"), buf[64];
	int fd, i, bad = 0;
	size_t n;

	put("many.log", "w", "");
	add(set, "many.log", SRC_FILE_HEAD, &r);
	r.count_only = false;
	fd = open(p, O_WRONLY | O_APPEND);
	for (i = 0; i < 3000; i++) {
		n = (size_t)snprintf(buf, sizeof buf, "line %d\n", i);
		if (write(fd, buf, n) != (ssize_t)n)
			bad++;
		if (i % 97 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	close(fd);
	wait_lines(&r, 3000, 3000);
	is_int(r.total_lines, 3000, "3000 single-line appends all delivered");
	for (i = 0; i < 3000 && (size_t)i < r.nlines; i++) {
		snprintf(buf, sizeof buf, "line %d", i);
		if (strcmp(r.lines[i], buf) != 0)
			bad++;
	}
	is_int(bad, 0, "in order, none split");
	done_set(set, &r);
	unlink(p);
	free(p);
}

static void
test_line_cap(void)
{
	struct rec r = {0};
	struct src_file_opts o;
	struct src_file_set *set;
	char big[400], want[101];

	memset(&o, 0, sizeof o);
	o.line_max = 100;
	set = src_file_new(&loop, &o);
	memset(big, 'a', 250);
	big[250] = '\0';
	memset(want, 'a', 100);
	want[100] = '\0';
	put("cap.log", "w", big);
	put("cap.log", "a", "\nshort\n");
	add(set, "cap.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 2, 2000);
	ok(r.nlines >= 2 && strcmp(r.lines[0], want) == 0,
	    "a long line is truncated to line_max");
	is_str(r.nlines >= 2 ? r.lines[1] : NULL, "short",
	    "the rest of the long line is discarded");
	is_int(r.capped_count, 1, "capped lines counted");
	/* A long line that arrives in pieces (through the partial buffer). */
	memset(big, 'b', 150);
	big[150] = '\0';
	put("cap.log", "a", big);
	run_for(100);
	put("cap.log", "a", big);
	put("cap.log", "a", "\nend\n");
	wait_lines(&r, 4, 2000);
	memset(want, 'b', 100);
	ok(r.nlines >= 4 && strcmp(r.lines[2], want) == 0 &&
	        strcmp(r.lines[3], "end") == 0,
	    "a long line across reads is truncated too");
	is_int(r.capped_count, 2, "second capped line counted");
	done_set(set, &r);
	rm("cap.log");
}

static void
test_iconv(void)
{
	struct rec r = {0}, e = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);
	struct src_file_add_opts ao;
	struct diags d = DIAGS_INIT;
	char *p = tpath("l1.log"), *q = tpath("ej.log");

	put("l1.log", "w", "caf\xe9 cr\xe8me\n");
	memset(&ao, 0, sizeof ao);
	ao.encoding = "latin-1";
	ao.cb.line = on_line;
	ao.cb.event = on_event;
	ao.cb.arg = &r;
	ok(src_file_add(set, p, &ao, &d) != NULL, "latin-1 accepted");
	wait_lines(&r, 1, 2000);
	is_str(joined(&r), "caf\xc3\xa9 cr\xc3\xa8me",
	    "latin-1 converted to UTF-8");
	ok(!has_event(&r, "error:l1.log"), "no decoding error for latin-1");

	put("ej.log", "w",
	    "a\xff"
	    "b\n");
	ao.encoding = "euc-jp";
	ao.cb.arg = &e;
	ok(src_file_add(set, q, &ao, &d) != NULL, "euc-jp accepted");
	wait_lines(&e, 1, 2000);
	is_str(joined(&e),
	    "a\xef\xbf\xbd"
	    "b",
	    "invalid sequence replaced by U+FFFD, line kept");
	is_int(count_event(&e, "error:ej.log"), 1,
	    "decoding error reported (%s)", events_joined(&e));
	put("ej.log", "a",
	    "c\xff"
	    "d\n");
	wait_lines(&e, 2, 2000);
	is_int(count_event(&e, "error:ej.log"), 1, "... once per file");

	ao.encoding = "utf-16";
	ok(src_file_add(set, p, &ao, &d) == NULL && d.nerrors == 1,
	    "UTF-16 refused with an error");
	ao.encoding = "no-such-encoding";
	ok(src_file_add(set, p, &ao, &d) == NULL && d.nerrors == 2,
	    "unknown encoding refused");
	ao.encoding = "UTF-8";
	ok(src_file_add(set, p, &ao, &d) != NULL, "utf-8 is pass-through");
	diags_cleanup(&d);
	done_set(set, &r);
	rec_clear(&e);
	unlink(p);
	unlink(q);
	free(p);
	free(q);
}

static void
test_del_in_callback(void)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);

	put("del.log", "w", "1\n2\n3\n4\n");
	add(set, "del.log", SRC_FILE_HEAD, &r);
	r.del_after = 2;
	wait_lines(&r, 4, 300);
	is_int(r.total_lines, 2,
	    "src_file_del from the line callback stops "
	    "delivery at once");
	put("del.log", "a", "5\n");
	run_for(100);
	is_int(r.total_lines, 2, "and nothing later");
	done_set(set, &r);
	rm("del.log");
}

static void
test_watch_limit(void)
{
	struct rec r = {0};
	struct src_file_opts o;
	struct src_file_set *set;

	/* One watch: the directory gets it, the file is polled. */
	memset(&o, 0, sizeof o);
	o.max_watches = 1;
	o.poll_ms = 50;
	set = src_file_new(&loop, &o);
	put("wl.log", "w", "1\n");
	add(set, "wl.log", SRC_FILE_HEAD, &r);
	ok(has_event(&r, "polling:wl.log"),
	    "watch limit reached: the file falls back to polling (%s)",
	    events_joined(&r));
	wait_lines(&r, 1, 2000);
	put("wl.log", "a", "2\n");
	wait_lines(&r, 2, 2000);
	mv("wl.log", "wl.log.1");
	put("wl.log", "w", "3\n");
	wait_lines(&r, 3, 2000);
	is_str(joined(&r), "1,2,3", "polled file: appends and rotation");
	done_set(set, &r);
	rm("wl.log");
	rm("wl.log.1");
}

static void
test_missing_dir(void)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);
	char *dir = tpath("later");

	add(set, "later/x.log", SRC_FILE_HEAD, &r);
	ok(has_event(&r, "missing:x.log") && has_event(&r, "polling:x.log"),
	    "missing directory: reported, polled (%s)", events_joined(&r));
	mkdir(dir, 0755);
	put("later/x.log", "w", "x1\n");
	wait_lines(&r, 1, 2000);
	/* Once the directory exists it is watched again: a rename rotation
	 * is seen through inotify. */
	run_for(120);
	mv("later/x.log", "later/x.log.1");
	put("later/x.log", "w", "x2\n");
	wait_lines(&r, 2, 2000);
	is_str(joined(&r), "x1,x2", "file in a directory created later");
	done_set(set, &r);
	rm("later/x.log");
	rm("later/x.log.1");

	/* The directory is removed and re-created under a watched file. */
	set = mkset(SRC_FILE_BACKEND_AUTO);
	put("later/y.log", "w", "y1\n");
	add(set, "later/y.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 1, 2000);
	rm("later/y.log");
	rmdir(dir);
	run_for(100);
	mkdir(dir, 0755);
	put("later/y.log", "w", "y2\n");
	wait_lines(&r, 2, 2000);
	is_str(joined(&r), "y1,y2", "directory removed and re-created");
	done_set(set, &r);
	rm("later/y.log");
	rmdir(dir);
	free(dir);
}

static void
test_overflow(void)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);
	char *pa = tpath("ova.log"), *pb = tpath("ovb.log");
	int fa, fb, i, bad = 0;

	/* Alternating writes are never coalesced: 2 x 10000 events overflow
	 * the kernel queue (16384 by default), so the event for the write to
	 * ovc.log that follows is lost; its line must still come. */
	put("ova.log", "w", "");
	put("ovb.log", "w", "");
	put("ovc.log", "w", "");
	add(set, "ova.log", SRC_FILE_HEAD, &r);
	add(set, "ovb.log", SRC_FILE_HEAD, &r);
	add(set, "ovc.log", SRC_FILE_HEAD, &r);
	r.count_only = true;
	run_for(20);
	fa = open(pa, O_WRONLY | O_APPEND);
	fb = open(pb, O_WRONLY | O_APPEND);
	for (i = 0; i < 10000; i++) {
		if (write(fa, "a\n", 2) != 2 || write(fb, "b\n", 2) != 2)
			bad++;
	}
	close(fa);
	close(fb);
	put("ovc.log", "a", "c\n");
	wait_lines(&r, 20001, 3000);
	is_int(r.total_lines + (unsigned long long)bad, 20001,
	    "inotify queue overflow: every line still delivered");
	done_set(set, &r);
	unlink(pa);
	unlink(pb);
	rm("ovc.log");
	free(pa);
	free(pb);
}

static void
test_tail_long_last_line(void)
{
	struct rec r = {0};
	struct src_file_opts o;
	struct src_file_set *set;
	char big[301];

	memset(&o, 0, sizeof o);
	o.line_max = 100;
	set = src_file_new(&loop, &o);
	memset(big, 'z', 300);
	big[300] = '\0';
	put("tl.log", "w", "old\n");
	put("tl.log", "a", big);
	add(set, "tl.log", SRC_FILE_TAIL, &r);
	put("tl.log", "a", "zzz\n\nnext\n");
	wait_lines(&r, 2, 2000);
	run_for(50);
	is_str(joined(&r), ",next",
	    "tail inside an over-long line skips it; empty lines delivered");
	done_set(set, &r);
	rm("tl.log");
}

static void
test_inplace_rewrite(void)
{
	struct rec r = {0};
	struct src_file_opts o;
	struct src_file_set *set;

	/* The file is rewritten in place and grows past our position
	 * between two polls: only the first-line hash can tell. */
	memset(&o, 0, sizeof o);
	o.backend = SRC_FILE_BACKEND_POLLING;
	o.poll_ms = 200;
	o.recheck_ms = 20;
	set = src_file_new(&loop, &o);
	put("ip.log", "w", "AAAA\nBBBB\n");
	add(set, "ip.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 2, 2000);
	put("ip.log", "w", "CCCC\nDDDD\nEEEE\n");
	wait_lines(&r, 5, 2000);
	is_str(joined(&r), "AAAA,BBBB,CCCC,DDDD,EEEE",
	    "in-place rewrite detected by the first-line hash");
	ok(has_event(&r, "rotated:ip.log"), "reported as rotation (%s)",
	    events_joined(&r));
	done_set(set, &r);
	rm("ip.log");
}

static void
test_refill_same_size(void)
{
	struct rec r = {0};
	struct src_file_opts o;
	struct src_file_set *set;

	/* copytruncate, then the writer refills the file to exactly our old
	 * position before the next poll: size and position agree, only the
	 * new mtime and the first line tell that it is new content. */
	memset(&o, 0, sizeof o);
	o.backend = SRC_FILE_BACKEND_POLLING;
	o.poll_ms = 200;
	o.recheck_ms = 20;
	set = src_file_new(&loop, &o);
	put("rf.log", "w", "AAAA\nBBBB\n");
	add(set, "rf.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 2, 2000);
	run_for(30);
	put("rf.log", "w", "CCCC\nDDDD\n");
	wait_lines(&r, 4, 2000);
	is_str(joined(&r), "AAAA,BBBB,CCCC,DDDD",
	    "refilled to the same size between two polls: new lines read");
	done_set(set, &r);
	rm("rf.log");
}

static void
test_shared_file(void)
{
	struct rec a = {0}, b = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);
	struct src_file_src *sa;

	/* Two consumers of one file: own positions, shared kernel watches;
	 * removing one leaves the other working. */
	put("sh.log", "w", "old\n");
	sa = add(set, "sh.log", SRC_FILE_HEAD, &a);
	add(set, "sh.log", SRC_FILE_TAIL, &b);
	wait_lines(&a, 1, 2000);
	put("sh.log", "a", "new1\n");
	wait_lines(&a, 2, 2000);
	wait_lines(&b, 1, 2000);
	src_file_del(set, sa);
	put("sh.log", "a", "new2\n");
	mv("sh.log", "sh.log.1");
	put("sh.log", "w", "new3\n");
	wait_lines(&b, 3, 2000);
	is_str(joined(&a), "old,new1", "head consumer: its lines");
	is_str(joined(&b), "new1,new2,new3",
	    "tail consumer keeps working after the other is removed");
	done_set(set, &a);
	rec_clear(&b);
	rm("sh.log");
	rm("sh.log.1");
}

static void
test_glob_many(void)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);
	char *dir = tpath("many"), name[64], data[64];
	int i;

	mkdir(dir, 0755);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "many/f%03d.log", i);
		snprintf(data, sizeof data, "first %d\n", i);
		put(name, "w", data);
	}
	r.count_only = true;
	add(set, "many/f*.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 200, 3000);
	is_int(r.total_lines, 200, "glob over 200 files: every first line");
	for (i = 0; i < 200; i += 2) {
		snprintf(name, sizeof name, "many/f%03d.log", i);
		rm(name);
	}
	for (i = 1; i < 200; i += 2) {
		snprintf(name, sizeof name, "many/f%03d.log", i);
		put(name, "a", "second\n");
	}
	wait_lines(&r, 300, 3000);
	for (i = 0; i < 200; i += 2) {
		snprintf(name, sizeof name, "many/f%03d.log", i);
		put(name, "w", "again\n");
	}
	wait_lines(&r, 400, 3000);
	run_for(50);
	is_int(r.total_lines, 400,
	    "half deleted, half appended, deleted ones re-created");
	is_int(count_event(&r, "added:f000.log"), 2,
	    "a re-created glob file is added again");
	done_set(set, &r);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "many/f%03d.log", i);
		rm(name);
	}
	rmdir(dir);
	free(dir);
}

static void
on_check(uv_check_t *h)
{
	struct rec *r = h->data;

	if (r->turn_bytes > r->max_turn_bytes)
		r->max_turn_bytes = r->turn_bytes;
	r->turn_bytes = 0;
}

static void
test_backlog(void)
{
	struct rec r = {0};
	struct src_file_set *set = mkset(SRC_FILE_BACKEND_AUTO);
	char *big = tpath("big.log"), line[160];
	unsigned long long nlines = 0, i;
	uint64_t t0, t1;
	uv_check_t chk;
	FILE *fp;
	size_t n, total = 0;

	/* ~100 MB of 150-byte lines. */
	fp = fopen(big, "w");
	memset(line, 'x', sizeof line);
	for (i = 0; total < 100u * 1000 * 1000; i++) {
		n = (size_t)snprintf(line, sizeof line,
		    "Nov 21 05:56:12 host sshd[%llu]: Failed password for root "
		    "from 192.0.2.%llu port 22 ssh2 padding padding padding "
		    "padding padding pad\n",
		    i, i % 250);
		fwrite(line, 1, n, fp);
		total += n;
		nlines++;
	}
	fclose(fp);
	put("live.log", "w", "");
	r.count_only = true;
	uv_check_init(&loop, &chk);
	chk.data = &r;
	uv_check_start(&chk, on_check);
	r.watch_path = NULL;
	t0 = uv_hrtime();
	add(set, "big.log", SRC_FILE_HEAD, &r);
	add(set, "live.log", SRC_FILE_HEAD, &r);
	wait_lines(&r, 1000, 2000);
	{
		char *lp = tpath("live.log");

		r.watch_path = lp;
		put("live.log", "a", "live line\n");
		wait_lines(&r, nlines + 1, 60000);
		r.watch_path = NULL;
		free(lp);
	}
	t1 = uv_hrtime();
	is_int(r.total_lines, nlines + 1, "100 MB backlog: every line read");
	ok(r.at_first_other > 0 && r.at_first_other < nlines / 2,
	    "a line appended to another file arrives while the backlog is "
	    "read (after %llu of %llu lines)",
	    r.at_first_other, nlines);
	ok(r.max_turn_bytes <= SRC_FILE_BUDGET_DEFAULT + 200,
	    "at most one budget per file per loop turn (max %zu bytes)",
	    r.max_turn_bytes);
	printf("# backlog: %llu lines (%zu bytes) in %.2f s\n", nlines, total,
	    (double)(t1 - t0) / 1e9);
	uv_close((uv_handle_t *)&chk, NULL);
	done_set(set, &r);
	unlink(big);
	free(big);
	rm("live.log");
}

struct fair {
	unsigned long long n[3];
	unsigned long long at_first_done[3];
	size_t turn_bytes, max_turn_bytes;
	unsigned long long per_file;
};

static void
fair_line(void *arg, const char *path, const char *line, size_t len)
{
	struct fair *fa = arg;
	int i = path[strlen(path) - 5] - '0';

	(void)line;
	fa->turn_bytes += len + 1;
	if (++fa->n[i] == fa->per_file && fa->at_first_done[0] == 0)
		memcpy(fa->at_first_done, fa->n, sizeof fa->n);
}

static void
fair_check(uv_check_t *h)
{
	struct fair *fa = h->data;

	if (fa->turn_bytes > fa->max_turn_bytes)
		fa->max_turn_bytes = fa->turn_bytes;
	fa->turn_bytes = 0;
}

static void
test_turn_budget(void)
{
	struct fair fa = {0};
	struct src_file_opts o;
	struct src_file_add_opts ao;
	struct src_file_set *set;
	struct diags d = DIAGS_INIT;
	uv_check_t chk;
	char name[32], *p;
	uint64_t end;
	FILE *fp;
	int i, j;

	/* Three backlogs of 20000 lines (~1 MB each): with 64 KiB per file
	 * and 100 KiB per turn, no turn reads more than the turn budget,
	 * and the files advance together. */
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "fair%d.log", i);
		p = tpath(name);
		fp = fopen(p, "w");
		for (j = 0; j < 20000; j++)
			fprintf(fp,
			    "file %d line %05d padding padding padding\n", i,
			    j);
		fclose(fp);
		free(p);
	}
	fa.per_file = 20000;
	memset(&o, 0, sizeof o);
	o.read_budget = 64 * 1024;
	o.turn_budget = 100 * 1024;
	set = src_file_new(&loop, &o);
	memset(&ao, 0, sizeof ao);
	ao.cb.line = fair_line;
	ao.cb.arg = &fa;
	uv_check_init(&loop, &chk);
	chk.data = &fa;
	uv_check_start(&chk, fair_check);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "fair%d.log", i);
		p = tpath(name);
		src_file_add(set, p, &ao, &d);
		free(p);
	}
	end = now_ms() + 5000;
	while (fa.n[0] + fa.n[1] + fa.n[2] < 60000 && now_ms() < end)
		uv_run(&loop, UV_RUN_ONCE);
	is_int(fa.n[0] + fa.n[1] + fa.n[2], 60000, "three backlogs read");
	ok(fa.max_turn_bytes <= 100 * 1024 + 100,
	    "no loop turn reads more than the turn budget (max %zu)",
	    fa.max_turn_bytes);
	ok(fa.at_first_done[1] > 10000 && fa.at_first_done[2] > 10000,
	    "files advance together (others at %llu and %llu when the first "
	    "finished)",
	    fa.at_first_done[1], fa.at_first_done[2]);
	uv_close((uv_handle_t *)&chk, NULL);
	src_file_free(set);
	uv_run(&loop, UV_RUN_NOWAIT);
	diags_cleanup(&d);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "fair%d.log", i);
		rm(name);
	}
}

static void
test_backend_names(void)
{
	enum src_file_backend b;
	struct src_file_set *set;

	ok(src_file_backend_parse("auto", &b) == 0 &&
	        b == SRC_FILE_BACKEND_AUTO,
	    "backend auto");
	ok(src_file_backend_parse("pyinotify", &b) == 0 &&
	        b == SRC_FILE_BACKEND_INOTIFY,
	    "backend pyinotify -> inotify");
	ok(src_file_backend_parse("Gamin", &b) == 0 &&
	        b == SRC_FILE_BACKEND_INOTIFY,
	    "backend gamin -> inotify");
	ok(src_file_backend_parse("polling", &b) == 0 &&
	        b == SRC_FILE_BACKEND_POLLING,
	    "backend polling");
	ok(src_file_backend_parse("systemd", &b) != 0,
	    "systemd is not a file backend");
	set = mkset(SRC_FILE_BACKEND_POLLING);
	is_str(src_file_backend_name(set), "polling", "polling set name");
	src_file_free(set);
	set = mkset(SRC_FILE_BACKEND_AUTO);
	is_str(
	    src_file_backend_name(set), "pyinotify", "auto uses inotify here");
	src_file_free(set);
	uv_run(&loop, UV_RUN_NOWAIT);
}

static void
cleanup_tmp(void)
{
	char *cmd[] = {"rm", "-rf", tmpdir, NULL};
	pid_t pid = fork();

	if (pid == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

int
main(void)
{
	static const struct {
		enum src_file_backend be;
		const char *tag;
	} bes[] = {
	    {SRC_FILE_BACKEND_AUTO, "inotify"},
	    {SRC_FILE_BACKEND_POLLING, "polling"},
	};
	const char *base = getenv("TMPDIR");
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(
	    tmpdir, sizeof tmpdir, "%s/srcfileXXXXXX", base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	uv_loop_init(&loop);
	uv_timer_init(&loop, &guard);
	uv_timer_start(&guard, on_guard, 5, 5);

	test_backend_names();
	for (i = 0; i < sizeof bes / sizeof bes[0]; i++) {
		test_append(bes[i].be, bes[i].tag);
		test_partial(bes[i].be, bes[i].tag);
		test_copytruncate(bes[i].be, bes[i].tag);
		test_rename_rotation(bes[i].be, bes[i].tag);
		test_delete_recreate(bes[i].be, bes[i].tag);
		test_missing_appears(bes[i].be, bes[i].tag);
		test_glob_later(bes[i].be, bes[i].tag);
	}
	test_glob_rotation_no_dups();
	test_glob_missing_and_cap();
	test_saved_position();
	test_many_appends();
	test_line_cap();
	test_iconv();
	test_del_in_callback();
	test_watch_limit();
	test_missing_dir();
	test_overflow();
	test_tail_long_last_line();
	test_inplace_rewrite();
	test_refill_same_size();
	test_shared_file();
	test_glob_many();
	test_turn_budget();
	test_backlog();

	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(uv_loop_close(&loop) == 0, "loop closes: every handle released");
	cleanup_tmp();
	return done_testing();
}
