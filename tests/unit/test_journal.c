/*
 * The journal source: journalmatch parsing and status text, the backend
 * parameters, fail2ban's entry -> line formatting (pure), and the follower
 * against real .journal files that systemd-journal-remote writes from
 * export text made here: head/tail/since starts, journalmatch on trusted
 * fields, cursor resume (and a vanished cursor entry), live appends, the
 * per-turn budget, a journal path that appears later, a glob that matches
 * later, rotation in a directory, a corrupted file, the line cap, freeing
 * from a callback, and regex_journal. The follower tests skip when
 * systemd-journal-remote is not installed. Every wait has a deadline.
 */
#include "journalmatch.h"
#include "regex_journal.h"
#include "src_journal.h"

#include "diag.h"
#include "sbuf.h"
#include "tap.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REMOTE "/lib/systemd/systemd-journal-remote"
#define T0     1795240000000000ULL /* usec: 2026-11-21T05:46:40Z */

static char tmpdir[256];

static uint64_t
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- helpers --------------------------------------------------------- */

static char *
tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* One export entry. */
static void
ent(struct sbuf *b, uint64_t usec, const char *host, const char *ident,
    const char *comm, const char *unit, const char *msg)
{
	static unsigned long mono = 1;

	sbuf_printf(b, "__REALTIME_TIMESTAMP=%llu\n", (unsigned long long)usec);
	sbuf_printf(b, "__MONOTONIC_TIMESTAMP=%lu\n", mono++);
	sbuf_addstr(b, "_BOOT_ID=0123456789abcdef0123456789abcdef\n");
	if (host)
		sbuf_printf(b, "_HOSTNAME=%s\n", host);
	if (ident)
		sbuf_printf(b, "SYSLOG_IDENTIFIER=%s\n", ident);
	if (comm)
		sbuf_printf(b, "_COMM=%s\n", comm);
	if (unit)
		sbuf_printf(b, "_SYSTEMD_UNIT=%s\n", unit);
	sbuf_addstr(b, "_PID=4242\n");
	if (msg)
		sbuf_printf(b, "MESSAGE=%s\n", msg);
	sbuf_addch(b, '\n');
}

/* n sshd failures k = first..first+n-1 from 10.0.x.y. */
static void
ents(struct sbuf *b, unsigned first, unsigned n, uint64_t t0)
{
	for (unsigned k = first; k < first + n; k++) {
		char m[160];

		snprintf(m, sizeof(m),
		    "Failed password for root from 10.0.%u.%u port 22 ssh2",
		    (k >> 8) & 255, k & 255);
		ent(b, t0 + k, "h", "sshd", "sshd", "ssh.service", m);
	}
}

struct remote {
	pid_t pid;
	int fd; /* write end of its stdin */
};

/* Starts journal-remote writing out (must end in .journal). */
static int
remote_start(struct remote *r, const char *out)
{
	int p[2];

	if (pipe(p) != 0)
		return -1;
	r->pid = fork();
	if (r->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[0], 0);
		dup2(null, 1);
		dup2(null, 2);
		close(p[1]);
		execl(REMOTE, REMOTE, "--split-mode=none", "-o", out, "-",
		    (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	r->fd = p[1];
	return 0;
}

static void
remote_write(struct remote *r, const struct sbuf *b)
{
	size_t off = 0;

	while (off < b->len) {
		ssize_t n = write(r->fd, b->s + off, b->len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

static int
remote_finish(struct remote *r)
{
	int st = 0;

	close(r->fd);
	waitpid(r->pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Writes a whole .journal file from export text. */
static int
mkjournal(const char *out, const struct sbuf *b)
{
	struct remote r;

	unlink(out);
	if (remote_start(&r, out) != 0)
		return -1;
	remote_write(&r, b);
	return remote_finish(&r);
}

/* ---- a recording consumer --------------------------------------------- */

#define MAXREC 20000

static const char *const kind_names[] = {"opened", "missing", "cursor-lost",
    "rotated", "caught-up", "line-capped", "error", "recovered"};

struct rec {
	char *lines[MAXREC];
	size_t n;
	char *events[256];
	size_t nev;
	bool counts[8];
	size_t evcount[8];
	struct src_journal *sj;
	size_t free_after;  /* free the source at this many lines */
	size_t trunc_after; /* truncate trunc_path at this many lines */
	const char *trunc_path;
	bool caught_up;
	uint64_t turn;       /* loop turns seen by a check handle */
	uint64_t turns_used; /* distinct turns that delivered */
	uint64_t last_turn;
	size_t in_turn, max_in_turn; /* entries delivered per turn */
	bool truncated_seen;
	double first_time;
};

static void
rec_reset(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	for (size_t i = 0; i < r->nev; i++)
		free(r->events[i]);
	memset(r, 0, sizeof(*r));
}

static void
rec_entry(void *arg, const struct src_journal_entry *e)
{
	struct rec *r = arg;

	if (r->n == 0)
		r->first_time = e->time;
	if (r->n < MAXREC)
		r->lines[r->n] = xasprintf("%s%s", e->date, e->line);
	r->n++;
	if (e->truncated)
		r->truncated_seen = true;
	if (r->turn != r->last_turn || r->turns_used == 0) {
		r->turns_used++;
		r->last_turn = r->turn;
		r->in_turn = 0;
	}
	if (++r->in_turn > r->max_in_turn)
		r->max_in_turn = r->in_turn;
	if (r->trunc_after && r->n == r->trunc_after)
		(void)!truncate(r->trunc_path, 1 << 20);
	if (r->free_after && r->n == r->free_after) {
		src_journal_free(r->sj);
		r->sj = NULL;
	}
}

static void
rec_event(void *arg, const struct src_journal_event *ev)
{
	struct rec *r = arg;

	if (r->nev < 256)
		r->events[r->nev++] =
		    xasprintf("%s: %s", kind_names[ev->kind], ev->message);
	r->evcount[ev->kind]++;
	if (ev->kind == SRC_JOURNAL_EV_CAUGHT_UP)
		r->caught_up = true;
}

static bool
has_event(const struct rec *r, enum src_journal_event_kind k)
{
	return r->evcount[k] > 0;
}

static void
on_check(uv_check_t *h)
{
	struct rec *r = h->data;

	r->turn++;
}

/* Runs the loop until cond(r) or the deadline (ms). */
static bool
run_until(
    uv_loop_t *loop, struct rec *r, bool (*cond)(struct rec *), unsigned ms)
{
	uint64_t end = uv_now(loop) + ms;

	while (!cond(r)) {
		uv_update_time(loop);
		if (uv_now(loop) >= end)
			return false;
		uv_run(loop, UV_RUN_ONCE);
	}
	return true;
}

/* Runs the loop for ms whatever happens. */
static void
run_for(uv_loop_t *loop, unsigned ms)
{
	uint64_t end;

	uv_update_time(loop);
	end = uv_now(loop) + ms;
	while (uv_now(loop) < end) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
		uv_update_time(loop);
	}
}

static size_t want_n;
static bool
got_n(struct rec *r)
{
	return r->n >= want_n;
}
static bool
got_caught_up(struct rec *r)
{
	return r->caught_up;
}
static enum src_journal_event_kind want_kind;
static bool
got_event(struct rec *r)
{
	return r->evcount[want_kind] > 0;
}

static struct src_journal *
follow(uv_loop_t *loop, struct rec *r, const char *spec, const char *matchline,
    enum src_journal_start start, const char *cursor)
{
	struct src_journal_params p;
	struct src_journal_opts o = {0};
	struct journalmatch m = JOURNALMATCH_INIT;
	struct diags d = DIAGS_INIT;
	struct src_journal *sj;

	src_journal_params_init(&p);
	if (src_journal_params_parse(&p, spec, &d) != 0)
		diags_print(&d, stdout);
	if (matchline)
		journalmatch_add_line(&m, matchline, NULL, 0, &d);
	o.params = &p;
	o.match = &m;
	o.start = start;
	o.cursor = cursor;
	o.retry_ms = 50;
	o.cb.entry = rec_entry;
	o.cb.event = rec_event;
	o.cb.arg = r;
	sj = src_journal_new(loop, &o, &d);
	r->sj = sj;
	journalmatch_cleanup(&m);
	src_journal_params_cleanup(&p);
	diags_cleanup(&d);
	return sj;
}

static void
drain_loop(uv_loop_t *loop)
{
	for (int i = 0; i < 10; i++)
		uv_run(loop, UV_RUN_NOWAIT);
}

/* ---- journalmatch ------------------------------------------------------ */

static void
test_journalmatch(void)
{
	struct journalmatch m = JOURNALMATCH_INIT, c = JOURNALMATCH_INIT;
	struct diags d = DIAGS_INIT;
	struct sbuf s = SBUF_INIT;
	char *words[] = {"_COMM=x", "+", "PRIORITY=3"};
	struct strv w = STRV_INIT;
	const char *err = NULL;

	ok(journalmatch_add_line(
	       &m, "_SYSTEMD_UNIT=sshd.service + _COMM=sshd", "f", 3, &d) == 0,
	    "sshd's journalmatch parses");
	is_int(m.n, 2, "'+' makes two groups");
	is_str(m.groups[0].v[0], "_SYSTEMD_UNIT=sshd.service", "group 1 term");
	is_str(m.groups[1].v[0], "_COMM=sshd", "group 2 term");
	journalmatch_format(&m, &s);
	is_str(sbuf_str(&s), "_SYSTEMD_UNIT=sshd.service + _COMM=sshd",
	    "status text joins groups with ' + '");
	ok(journalmatch_add_line(&m,
	       "_SYSTEMD_UNIT=postfix@-.service 'MESSAGE=a b' "
	       "SYSLOG_FACILITY=\"2\"",
	       "f", 4, &d) == 0,
	    "a second line with quotes parses");
	is_int(m.n, 3, "the second line adds a group (ORed)");
	is_int(m.groups[2].n, 3, "its three terms are ANDed in one group");
	is_str(m.groups[2].v[1], "MESSAGE=a b", "single quotes keep spaces");
	is_str(m.groups[2].v[2], "SYSLOG_FACILITY=2", "double quotes removed");
	sbuf_reset(&s);
	journalmatch_format(&m, &s);
	is_str(sbuf_str(&s),
	    "_SYSTEMD_UNIT=sshd.service + _COMM=sshd + "
	    "_SYSTEMD_UNIT=postfix@-.service MESSAGE=a b SYSLOG_FACILITY=2",
	    "status text over two lines");
	journalmatch_copy(&c, &m);
	is_int(c.n, 3, "copy keeps the groups");
	journalmatch_cleanup(&c);
	is_int(d.n, 0, "no diagnostics so far");

	ok(journalmatch_add_line(
	       &m, "_COMM=sshd 'unbalanced", "jail.local", 7, &d) != 0,
	    "an unbalanced quote is an error");
	ok(d.n == 1 && d.v[0].line == 7 &&
	        strcmp(d.v[0].file, "jail.local") == 0 &&
	        strstr(d.v[0].msg, "No closing quotation"),
	    "... naming file, line and the reason");
	ok(journalmatch_add_line(&m, "_comm=sshd", "f", 8, &d) != 0,
	    "a lower-case field is refused");
	ok(journalmatch_add_line(&m, "__CURSOR=x", "f", 9, &d) != 0,
	    "a __ field is refused (libsystemd does)");
	ok(journalmatch_add_line(&m, "_COMM", "f", 10, &d) != 0,
	    "a term without '=' is refused");
	ok(journalmatch_add_line(&m, "=x", "f", 11, &d) != 0,
	    "an empty field name is refused");
	ok(strstr(d.v[d.n - 1].msg, "invalid match '=x'") != NULL,
	    "the message quotes the term");
	is_int(m.n, 3, "errors leave the match unchanged");
	ok(journalmatch_term_valid("FIELD=", 6), "an empty value is valid");
	ok(journalmatch_term_valid("9X=1", 4), "a leading digit is valid");

	journalmatch_cleanup(&m);
	ok(journalmatch_add_line(&m, "A=1 + + B=2 +", NULL, 0, &d) == 0,
	    "empty groups parse");
	is_int(m.n, 4, "... and are kept, as fail2ban keeps them");
	sbuf_reset(&s);
	journalmatch_format(&m, &s);
	is_str(sbuf_str(&s), "A=1 +  + B=2 + ", "... and show as fail2ban's");
	ok(!journalmatch_empty(&m), "not empty");
	journalmatch_cleanup(&m);
	ok(journalmatch_add_line(&m, "   ", NULL, 0, &d) == 0 && m.n == 0,
	    "a blank line adds nothing");
	ok(journalmatch_empty(&m), "empty");
	ok(journalmatch_add_words(&m, words, 3, &d) == 0 && m.n == 2,
	    "set addjournalmatch words");
	journalmatch_cleanup(&m);

	/* caps */
	{
		struct sbuf big = SBUF_INIT;

		for (int i = 0; i < JOURNALMATCH_MAX_TERMS + 1; i++)
			sbuf_printf(&big, "F%d=1 ", i);
		ok(journalmatch_add_line(&m, sbuf_str(&big), NULL, 0, &d) != 0,
		    "more than the term cap is an error");
		sbuf_reset(&big);
		sbuf_addstr(&big, "F=");
		for (int i = 0; i < JOURNALMATCH_MAX_TERM; i++)
			sbuf_addch(&big, 'x');
		ok(journalmatch_add_line(&m, sbuf_str(&big), NULL, 0, &d) != 0,
		    "a term longer than the cap is an error");
		sbuf_cleanup(&big);
	}

	/* shlex as Python's */
	ok(journalmatch_shlex(
	       "a\\ b \"c\\\"d\" 'e\\f' g\"h i\"j ''", &w, &err) == 0,
	    "shlex splits");
	ok(w.n == 5 && strcmp(w.v[0], "a b") == 0 &&
	        strcmp(w.v[1], "c\"d") == 0 && strcmp(w.v[2], "e\\f") == 0 &&
	        strcmp(w.v[3], "gh ij") == 0 && strcmp(w.v[4], "") == 0,
	    "... as Python's shlex.split");
	strv_cleanup(&w);
	ok(journalmatch_shlex("x\\", &w, &err) != 0 &&
	        strcmp(err, "No escaped character") == 0,
	    "a trailing backslash is an error");
	strv_cleanup(&w);
	sbuf_cleanup(&s);
	diags_cleanup(&d);
}

/* ---- parameters -------------------------------------------------------- */

static void
test_params(void)
{
	struct src_journal_params p;
	struct diags d = DIAGS_INIT;
	char *a = tpath("pa.journal"), *b = tpath("pb.journal");
	char *spec;
	FILE *fp;

	fp = fopen(a, "w");
	fclose(fp);
	fp = fopen(b, "w");
	fclose(fp);
	src_journal_params_init(&p);
	ok(src_journal_params_parse(&p, "systemd-journal", &d) == 0,
	    "a bare systemd-journal");
	ok(!p.has_flags && p.path == NULL && p.files.n == 0 && p.rotated < 0,
	    "... sets nothing");
	spec = xasprintf("systemd-journal[journalfiles=\"%s/p*.journal "
	                 "%s/none*\", journalflags=1]",
	    tmpdir, tmpdir);
	ok(src_journal_params_parse(&p, spec, &d) == 0, "files and flags");
	ok(p.files.n == 2 && strcmp(p.files.v[0], a) == 0 &&
	        strcmp(p.files.v[1], b) == 0,
	    "journalfiles are split and globbed");
	ok(p.files_given && p.has_flags && p.flags == 1, "journalflags=1");
	free(spec);
	src_journal_params_cleanup(&p);

	ok(src_journal_params_parse(&p,
	       "systemd[journalpath=/var/log/journal, rotated=false, "
	       "journalstart=1h, journalpoll=5, namespace='x']",
	       &d) == 0,
	    "path, rotated, start, poll, namespace");
	ok(p.path && strcmp(p.path, "/var/log/journal") == 0, "journalpath");
	ok(p.rotated == 0, "rotated=false");
	ok(p.start == SRC_JOURNAL_START_SINCE && p.start_ago == 3600,
	    "journalstart=1h is an hour ago");
	ok(p.poll_ms == 5, "journalpoll=5");
	ok(p.ns && strcmp(p.ns, "x") == 0, "quoted namespace");
	is_int(d.n, 0, "no diagnostics");
	src_journal_params_cleanup(&p);

	ok(src_journal_params_parse(&p, "systemd[journalstart=findtime]", &d) ==
	            0 &&
	        p.start_findtime,
	    "journalstart=findtime");
	src_journal_params_cleanup(&p);
	ok(src_journal_params_parse(&p, "systemd[bogus=1]", &d) != 0 &&
	        strstr(d.v[d.n - 1].msg, "unknown parameter 'bogus'"),
	    "an unknown parameter is an error");
	ok(src_journal_params_parse(&p, "systemd[journalflags=x]", &d) != 0,
	    "a non-integer journalflags is an error");
	src_journal_params_cleanup(&p);
	ok(src_journal_params_parse(
	       &p, "systemd[journalpath=/x, journalfiles=/y]", &d) != 0,
	    "journalpath with journalfiles is an error (python-systemd's)");
	src_journal_params_cleanup(&p);
	ok(src_journal_params_parse(&p, "polling", &d) != 0,
	    "another backend name is refused");
	ok(src_journal_params_parse(&p, "systemd[journalflags=1", &d) != 0,
	    "a missing ']' is an error");
	ok(src_journal_params_parse(&p, "systemd[rotated=maybe]", &d) != 0,
	    "a non-boolean rotated is an error");
	ok(src_journal_params_parse(&p, "systemd[journalpoll=-3]", &d) != 0,
	    "a negative journalpoll is an error");
	src_journal_params_cleanup(&p);
	ok(regex_journal_is_spec("systemd-journal[journalflags=1]") &&
	        !regex_journal_is_spec("/var/log/auth.log"),
	    "regex_journal_is_spec");
	unlink(a);
	unlink(b);
	free(a);
	free(b);
	diags_cleanup(&d);
}

/* ---- formatting -------------------------------------------------------- */

static const char *
fmt(const char *host, const char *ident, const char *comm, const char *spid,
    const char *pid, const char *msg)
{
	static struct sbuf out;
	struct src_journal_fields f = {0};
	const char *mv[1] = {msg};
	size_t ml[1] = {msg ? strlen(msg) : 0};

#define SET(x, v)                                                              \
	f.x = v;                                                               \
	f.x##_len = v ? strlen(v) : 0;
	SET(hostname, host)
	SET(ident, ident)
	SET(comm, comm)
	SET(syslog_pid, spid)
	SET(pid, pid)
#undef SET
	f.message = mv;
	f.message_len = ml;
	f.nmessage = msg ? 1 : 0;
	f.monotonic_usec = 12;
	sbuf_reset(&out);
	src_journal_format_line(&f, 0, &out);
	return sbuf_str(&out);
}

static void
test_format(void)
{
	struct src_journal_fields f = {0};
	struct sbuf out = SBUF_INIT;
	const char *mv[2] = {"first", "second"};
	size_t ml[2] = {5, 6};
	char buf[64];

	is_str(fmt("srv", "sshd", "sshd", NULL, "13709", "Failed password"),
	    "srv sshd[13709]: Failed password", "host ident[pid]: message");
	is_str(fmt(NULL, "sshd", NULL, "101", NULL, "m"), "sshd[101]: m",
	    "no host");
	is_str(fmt("h", NULL, "foo", NULL, "12", "m"), "h foo[12]: m",
	    "_COMM when there is no identifier");
	is_str(fmt("h", "", "bar", NULL, NULL, "m"), "h bar: m",
	    "an empty identifier falls back to _COMM");
	is_str(fmt("h", "app", NULL, "0", "77", "m"), "h app[77]: m",
	    "SYSLOG_PID 0 is falsy: _PID is used");
	is_str(fmt("h", "app", NULL, "abc", "77", "m"), "h app[b'abc']: m",
	    "a non-numeric pid prints as Python bytes");
	is_str(fmt("h", "app", NULL, "0x1f", NULL, "m"), "h app[31]: m",
	    "int(x, 0) fallback: hex");
	is_str(fmt("h", "app", NULL, "0b101", NULL, "m"), "h app[5]: m",
	    "int(x, 0) fallback: binary");
	is_str(fmt("h", "app", NULL, "0x_ff_ff", NULL, "m"), "h app[65535]: m",
	    "int(x, 0) fallback: underscores");
	is_str(fmt("h", "app", NULL, " 42 ", NULL, "m"), "h app[42]: m",
	    "spaces around a pid");
	is_str(fmt("h", "app", NULL, "1_000", NULL, "m"), "h app[1000]: m",
	    "underscores in a pid");
	is_str(fmt("h", "app", NULL, "-5", NULL, "m"), "h app[-5]: m",
	    "negative pid");
	is_str(fmt("h", "app", NULL, "007", NULL, "m"), "h app[7]: m",
	    "leading zeros");
	is_str(fmt("h", "app", NULL, "00", NULL, "m"), "h app: m",
	    "a zero pid shows no pid");
	is_str(fmt("h", "app", NULL, "a'b", NULL, "m"), "h app[b\"a'b\"]: m",
	    "bytes repr picks double quotes");
	is_str(fmt("h", "app", NULL, "\x01x", NULL, "m"), "h app[b'\\x01x']: m",
	    "bytes repr escapes control bytes");
	is_str(fmt("h", "app", NULL, "99999999999999999999999", NULL, "m"),
	    "h app[99999999999999999999999]: m", "a big pid as Python's int");
	is_str(fmt("h", "app", NULL, "0xffffffffffffffffffffffff", NULL, "m"),
	    "h app[79228162514264337593543950335]: m",
	    "a big hex pid as Python's int");
	is_str(fmt("h", "sshd", NULL, NULL, "5", "one\ntwo"),
	    "h sshd[5]: one\\ntwo", "newlines become \\n");
	is_str(fmt("h\nx", "sshd", NULL, NULL, NULL, "m"), "h\\nx sshd: m",
	    "... everywhere in the line");
	is_str(fmt("h", "sshd", NULL, NULL, "5", NULL),
	    "h sshd[5]: ", "no MESSAGE leaves the trailing space");
	is_str(fmt(NULL, NULL, NULL, NULL, NULL, "only"), "only",
	    "a bare message");
	is_str(fmt("h", "kernel", NULL, NULL, NULL, "oops"),
	    "h kernel: [    0.000012] oops",
	    "kernel lines carry monotonic seconds");
	is_str(fmt("h", "kernel", NULL, NULL, "1", "x"), "h kernel[1]: x",
	    "... only when the identifier is exactly 'kernel:'");

	f.hostname = "h";
	f.hostname_len = 1;
	f.ident = "kernel";
	f.ident_len = 6;
	f.src_monotonic = "123456789";
	f.src_monotonic_len = 9;
	f.message = mv;
	f.message_len = ml;
	f.nmessage = 2;
	src_journal_format_line(&f, 0, &out);
	is_str(sbuf_str(&out), "h kernel: [  123.456789] first second",
	    "_SOURCE_MONOTONIC_TIMESTAMP wins; MESSAGE values joined");
	sbuf_reset(&out);
	ok(src_journal_format_line(&f, 10, &out) && out.len == 10,
	    "the cap cuts the line and says so");
	sbuf_reset(&out);
	ok(!src_journal_format_line(&f, 1000, &out), "no cut under the cap");

	/* long pieces (the line is put together in a 512-byte buffer):
	 * every length around the buffer's size, a newline at each place
	 * near its end, with and without a cap, against the line built
	 * the plain way */
	{
		bool same = true, capped = true;
		char *host = xmalloc(1200), *msg = xmalloc(1200);

		for (size_t hl = 500; hl < 520 && same; hl += 3)
			for (size_t mlen = 1; mlen < 1100 && same; mlen += 37) {
				struct src_journal_fields g = {0};
				struct sbuf got = SBUF_INIT, want = SBUF_INIT;
				const char *m1[1];
				size_t l1[1];
				size_t cap = hl + mlen / 2;

				memset(host, 'h', hl);
				for (size_t i = 0; i < mlen; i++)
					msg[i] = (char)('a' + i % 26);
				msg[mlen * 7 / 11 % mlen] = '\n';
				m1[0] = msg;
				l1[0] = mlen;
				g.hostname = host;
				g.hostname_len = hl;
				g.ident = "sshd";
				g.ident_len = 4;
				g.message = m1;
				g.message_len = l1;
				g.nmessage = 1;
				sbuf_add(&want, host, hl);
				sbuf_addstr(&want, " sshd: ");
				for (size_t i = 0; i < mlen; i++)
					if (msg[i] == '\n')
						sbuf_addstr(&want, "\\n");
					else
						sbuf_addch(&want, msg[i]);
				src_journal_format_line(&g, 0, &got);
				same = got.len == want.len &&
				    memcmp(got.s, want.s, got.len) == 0;
				sbuf_reset(&got);
				src_journal_format_line(&g, cap, &got);
				if (got.len > cap || got.len + 1 < cap ||
				    memcmp(got.s, want.s, got.len) != 0)
					capped = false;
				sbuf_cleanup(&got);
				sbuf_cleanup(&want);
			}
		ok(same,
		    "long host and message: the same line as built "
		    "piece by piece");
		ok(capped, "... and capped, a prefix of it at the cap");
		free(host);
		free(msg);
	}

	/* every cap cuts inside the host, identifier, pid or message the
	 * same way: a prefix of the whole line, short only by an escaped
	 * newline that did not fit */
	{
		static const char *const pids[] = {"4242", "a\nb", "0x1f"};
		bool prefix = true, tight = true, flag = true;

		for (size_t pi = 0; pi < 3; pi++) {
			struct src_journal_fields g = {0};
			struct sbuf full = SBUF_INIT, cut = SBUF_INIT;
			const char *m1[1] = {"Failed\npassword"};
			size_t l1[1] = {15};

			g.hostname = "h\n1";
			g.hostname_len = 3;
			g.ident = "ss\nhd";
			g.ident_len = 5;
			g.syslog_pid = pids[pi];
			g.syslog_pid_len = strlen(pids[pi]);
			g.message = m1;
			g.message_len = l1;
			g.nmessage = 1;
			src_journal_format_line(&g, 0, &full);
			for (size_t k = 1; k <= full.len + 1; k++) {
				bool t;

				sbuf_reset(&cut);
				t = src_journal_format_line(&g, k, &cut);
				if (cut.len > k ||
				    memcmp(cut.s ? cut.s : "", full.s,
				        cut.len) != 0)
					prefix = false;
				if (cut.len + 1 < k && cut.len < full.len)
					tight = false;
				if (t != (k < full.len))
					flag = false;
			}
			sbuf_cleanup(&full);
			sbuf_cleanup(&cut);
		}
		ok(prefix, "a capped line is a prefix of the whole line");
		ok(tight, "... cut at the cap (or one byte before an escape)");
		ok(flag, "... and reported as cut exactly when it is shorter");
	}

	f.realtime_usec = 5000000;
	f.src_realtime = "1700000000123456";
	f.src_realtime_len = 16;
	ok(src_journal_entry_usec(&f) == 1700000000123456ULL,
	    "_SOURCE_REALTIME_TIMESTAMP is the entry's time");
	f.src_realtime = "x";
	f.src_realtime_len = 1;
	ok(src_journal_entry_usec(&f) == 5000000,
	    "... else __REALTIME_TIMESTAMP");

	setenv("TZ", "UTC", 1);
	tzset();
	is_str(src_journal_date_text(1700000000123456ULL, buf, sizeof(buf)),
	    "2023-11-14T22:13:20.123456+00:00 ", "isoformat with micros");
	is_str(src_journal_date_text(1700000000000000ULL, buf, sizeof(buf)),
	    "2023-11-14T22:13:20+00:00 ", "no fraction when it is zero");
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	is_str(src_journal_date_text(1700000000000001ULL, buf, sizeof(buf)),
	    "2023-11-15T03:43:20.000001+05:30 ", "local time with its offset");
	setenv("TZ", "UTC", 1);
	tzset();
	sbuf_cleanup(&out);
}

/* ---- the follower -------------------------------------------------------- */

static bool
have_remote(void)
{
	return access(REMOTE, X_OK) == 0;
}

static void
test_head_and_match(uv_loop_t *loop)
{
	struct sbuf b = SBUF_INIT;
	struct rec r = {0};
	char *j = tpath("m.journal"), *spec;

	/* the real sshd, and a forgery through logger claiming "sshd" */
	ent(&b, T0 + 1, "h", "sshd", "sshd", "ssh.service",
	    "Failed password for root from 192.0.2.1 port 1 ssh2");
	ent(&b, T0 + 2, "h", "sshd", "logger", "user@1000.service",
	    "Failed password for root from 192.0.2.66 port 1 ssh2");
	ent(&b, T0 + 3, "h", "CRON", "cron", "cron.service", "session opened");
	ent(&b, T0 + 4, "h", "sshd", "sshd", "ssh.service",
	    "Failed password for root from 192.0.2.2 port 1 ssh2");
	ok(mkjournal(j, &b) == 0, "journal-remote wrote a journal");
	spec = xasprintf("systemd-journal[journalfiles=%s]", j);

	follow(loop, &r, spec, NULL, SRC_JOURNAL_START_HEAD, NULL);
	ok(run_until(loop, &r, got_caught_up, 3000), "head: caught up");
	is_int(r.n, 4, "head without journalmatch: every entry");
	is_str(r.lines[0],
	    "2026-11-21T05:46:40.000001+00:00 h sshd[4242]: Failed password "
	    "for root from 192.0.2.1 port 1 ssh2",
	    "date text + fail2ban's line");
	ok(has_event(&r, SRC_JOURNAL_EV_OPENED), "opened event");
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);

	follow(loop, &r, spec, "_SYSTEMD_UNIT=ssh.service",
	    SRC_JOURNAL_START_HEAD, NULL);
	ok(run_until(loop, &r, got_caught_up, 3000), "unit match: caught up");
	is_int(r.n, 2, "the forged 'sshd' entry from logger is not delivered");
	ok(r.n == 2 && strstr(r.lines[1], "192.0.2.2"), "the real ones are");
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);

	follow(loop, &r, spec, "_SYSTEMD_UNIT=ssh.service + _COMM=cron",
	    SRC_JOURNAL_START_HEAD, NULL);
	ok(run_until(loop, &r, got_caught_up, 3000), "OR match: caught up");
	is_int(r.n, 3, "'+' ORs the groups");
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);

	follow(loop, &r, spec, "SYSLOG_IDENTIFIER=sshd _COMM=sshd",
	    SRC_JOURNAL_START_HEAD, NULL);
	ok(run_until(loop, &r, got_caught_up, 3000), "AND match: caught up");
	is_int(r.n, 2, "terms of one group are ANDed");
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);

	follow(loop, &r, spec, "_SYSTEMD_UNIT=ssh.service",
	    SRC_JOURNAL_START_SINCE, NULL);
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);
	{
		struct src_journal_params p;
		struct src_journal_opts o = {0};
		struct diags d = DIAGS_INIT;

		src_journal_params_init(&p);
		src_journal_params_parse(&p, spec, &d);
		o.params = &p;
		o.start = SRC_JOURNAL_START_SINCE;
		o.since = (double)(T0 + 3) / 1e6;
		o.cb.entry = rec_entry;
		o.cb.event = rec_event;
		o.cb.arg = &r;
		r.sj = src_journal_new(loop, &o, &d);
		ok(run_until(loop, &r, got_caught_up, 3000),
		    "since: caught up");
		is_int(r.n, 2, "since T0+3 us: the last two entries");
		src_journal_free(r.sj);
		drain_loop(loop);
		rec_reset(&r);
		src_journal_params_cleanup(&p);
		diags_cleanup(&d);
	}

	{
		/* libsystemd refuses nothing valid; an invalid term is caught
		 * before any open */
		struct src_journal_opts o = {0};
		struct journalmatch m = JOURNALMATCH_INIT;
		struct diags d = DIAGS_INIT;

		m.groups = xcalloc(1, sizeof(*m.groups));
		m.n = 1;
		strv_add(&m.groups[0], "bad");
		o.match = &m;
		ok(src_journal_new(loop, &o, &d) == NULL && d.nerrors == 1,
		    "an invalid term in opts is refused");
		journalmatch_cleanup(&m);
		diags_cleanup(&d);
	}
	unlink(j);
	free(j);
	free(spec);
	sbuf_cleanup(&b);
}

/* The entry's time: _SOURCE_REALTIME_TIMESTAMP when valid, else
 * __REALTIME_TIMESTAMP (the follower asks libsystemd for the latter only
 * when it needs it). */
static void
test_entry_time(uv_loop_t *loop)
{
	static const char *const src[] = {"1795240000500000", "12x", NULL,
	    "253402300800000000", "1795240000000007"};
	struct sbuf b = SBUF_INIT;
	struct rec r = {0};
	char *j = tpath("t.journal"), *spec;

	for (size_t i = 0; i < sizeof(src) / sizeof(*src); i++) {
		sbuf_printf(&b, "__REALTIME_TIMESTAMP=%llu\n",
		    (unsigned long long)(T0 + 1000 * (i + 1)));
		sbuf_printf(&b, "__MONOTONIC_TIMESTAMP=%zu\n", i + 1);
		sbuf_addstr(&b, "_BOOT_ID=0123456789abcdef0123456789abcdef\n");
		if (src[i])
			sbuf_printf(
			    &b, "_SOURCE_REALTIME_TIMESTAMP=%s\n", src[i]);
		sbuf_printf(&b, "SYSLOG_IDENTIFIER=sshd\nMESSAGE=m%zu\n\n", i);
	}
	ok(mkjournal(j, &b) == 0, "time: journal-remote wrote a journal");
	spec = xasprintf("systemd-journal[journalfiles=%s]", j);
	follow(loop, &r, spec, NULL, SRC_JOURNAL_START_HEAD, NULL);
	ok(run_until(loop, &r, got_caught_up, 3000), "time: caught up");
	is_int(r.n, 5, "time: every entry");
	if (r.n == 5) {
		is_str(r.lines[0], "2026-11-21T05:46:40.500000+00:00 sshd: m0",
		    "a valid _SOURCE_REALTIME_TIMESTAMP is the entry's time");
		is_str(r.lines[1], "2026-11-21T05:46:40.002000+00:00 sshd: m1",
		    "an invalid one: __REALTIME_TIMESTAMP");
		is_str(r.lines[2], "2026-11-21T05:46:40.003000+00:00 sshd: m2",
		    "none: __REALTIME_TIMESTAMP");
		is_str(r.lines[3], "2026-11-21T05:46:40.004000+00:00 sshd: m3",
		    "one past year 9999: __REALTIME_TIMESTAMP");
		is_str(r.lines[4], "2026-11-21T05:46:40.000007+00:00 sshd: m4",
		    "a valid one after fallbacks: its own time again");
	}
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);
	unlink(j);
	free(j);
	free(spec);
	sbuf_cleanup(&b);
}

static void
test_tail_append_cursor(uv_loop_t *loop)
{
	struct sbuf b = SBUF_INIT;
	struct rec r = {0};
	struct remote rm;
	char *j = tpath("live.journal"), *spec, *cur, *cur_last;
	uv_check_t chk;

	unlink(j);
	ok(remote_start(&rm, j) == 0, "journal-remote runs");
	ents(&b, 0, 10, T0);
	remote_write(&rm, &b);
	sbuf_reset(&b);
	/* wait for the file with its 10 entries */
	for (int i = 0; i < 200; i++) {
		struct stat st;

		if (stat(j, &st) == 0 && st.st_size > 0)
			break;
		usleep(10000);
	}
	usleep(100000);
	spec = xasprintf("systemd-journal[journalfiles=%s]", j);
	follow(loop, &r, spec, "_COMM=sshd", SRC_JOURNAL_START_TAIL, NULL);
	uv_check_init(loop, &chk);
	chk.data = &r;
	uv_check_start(&chk, on_check);
	ok(run_until(loop, &r, got_caught_up, 3000), "tail: caught up");
	is_int(r.n, 0, "tail: the 10 old entries are not delivered");
	ok(strlen(src_journal_cursor(r.sj)) > 0,
	    "tail: the last old entry's cursor is there to save");

	ents(&b, 10, 5, T0);
	remote_write(&rm, &b);
	sbuf_reset(&b);
	want_n = 5;
	ok(run_until(loop, &r, got_n, 5000), "appended entries arrive");
	ok(r.n == 5 && strstr(r.lines[0], "10.0.0.10 ") &&
	        strstr(r.lines[4], "10.0.0.14 "),
	    "... exactly the 5 new ones, in order");
	cur = xstrdup(src_journal_cursor(r.sj));
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);

	/* entries written while "down" */
	ents(&b, 15, 3, T0);
	remote_write(&rm, &b);
	sbuf_reset(&b);
	usleep(200000);
	follow(loop, &r, spec, "_COMM=sshd", SRC_JOURNAL_START_TAIL, cur);
	chk.data = &r;
	ok(run_until(loop, &r, got_caught_up, 3000), "resume: caught up");
	is_int(r.n, 3, "resume: exactly the 3 entries after the cursor");
	ok(r.n == 3 && strstr(r.lines[0], "10.0.0.15 "),
	    "... starting right after it (none twice, none missed)");
	cur_last = xstrdup(src_journal_cursor(r.sj));
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);

	follow(loop, &r, spec, "_COMM=sshd", SRC_JOURNAL_START_HEAD, cur_last);
	chk.data = &r;
	ok(run_until(loop, &r, got_caught_up, 3000),
	    "resume at the last entry: caught up");
	is_int(r.n, 0, "... nothing delivered again");
	ok(!has_event(&r, SRC_JOURNAL_EV_CURSOR_LOST), "... cursor found");
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);

	follow(
	    loop, &r, spec, "_COMM=sshd", SRC_JOURNAL_START_TAIL, "s=garbage");
	chk.data = &r;
	ok(run_until(loop, &r, got_caught_up, 3000), "bad cursor: caught up");
	ok(has_event(&r, SRC_JOURNAL_EV_CURSOR_LOST),
	    "a malformed cursor is reported");
	is_int(r.n, 0, "... and the start falls back to the tail");
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);

	/* the cursor's file is gone (vacuumed): a new file with later
	 * entries only */
	ok(remote_finish(&rm) == 0, "journal-remote finished");
	{
		char *j2 = tpath("later.journal"), *spec2;

		ents(&b, 100, 4, T0 + 1000);
		mkjournal(j2, &b);
		sbuf_reset(&b);
		spec2 = xasprintf("systemd-journal[journalfiles=%s]", j2);
		follow(loop, &r, spec2, NULL, SRC_JOURNAL_START_TAIL, cur);
		chk.data = &r;
		ok(run_until(loop, &r, got_caught_up, 3000),
		    "vanished cursor: caught up");
		is_int(r.n, 4, "... every later entry is delivered");
		ok(has_event(&r, SRC_JOURNAL_EV_CURSOR_LOST),
		    "... and the lost cursor entry is reported");
		src_journal_free(r.sj);
		drain_loop(loop);
		rec_reset(&r);
		unlink(j2);
		free(j2);
		free(spec2);
	}
	uv_close((uv_handle_t *)&chk, NULL);
	drain_loop(loop);
	unlink(j);
	free(j);
	free(spec);
	free(cur);
	free(cur_last);
	sbuf_cleanup(&b);
}

static void
test_budget(uv_loop_t *loop)
{
	struct sbuf b = SBUF_INIT;
	struct rec r = {0};
	char *j = tpath("budget.journal"), *spec;
	struct src_journal_params p;
	struct src_journal_opts o = {0};
	struct diags d = DIAGS_INIT;
	uv_check_t chk;

	ents(&b, 0, 3000, T0);
	mkjournal(j, &b);
	spec = xasprintf("systemd-journal[journalfiles=%s]", j);
	src_journal_params_init(&p);
	src_journal_params_parse(&p, spec, &d);
	o.params = &p;
	o.start = SRC_JOURNAL_START_HEAD;
	o.budget = 100;
	o.cb.entry = rec_entry;
	o.cb.event = rec_event;
	o.cb.arg = &r;
	uv_check_init(loop, &chk);
	chk.data = &r;
	uv_check_start(&chk, on_check);
	r.sj = src_journal_new(loop, &o, &d);
	ok(run_until(loop, &r, got_caught_up, 5000), "budget: caught up");
	is_int(r.n, 3000, "budget: every entry delivered");
	ok(r.turns_used >= 15 && r.max_in_turn <= 100,
	    "... over %llu loop turns, at most %zu per turn: a backlog does "
	    "not starve the loop",
	    (unsigned long long)r.turns_used, r.max_in_turn);
	src_journal_free(r.sj);
	uv_close((uv_handle_t *)&chk, NULL);
	drain_loop(loop);
	rec_reset(&r);

	/* free from inside the entry callback */
	r.free_after = 7;
	r.sj = src_journal_new(loop, &o, &d);
	run_for(loop, 100);
	is_int(r.n, 7, "freeing from the callback stops delivery at once");
	drain_loop(loop);
	rec_reset(&r);

	/* the line cap */
	{
		struct sbuf big = SBUF_INIT, m = SBUF_INIT;
		char *jb = tpath("big.journal"), *specb;
		struct src_journal_params pb;

		for (int i = 0; i < 100000; i++)
			sbuf_addch(&m, 'x');
		ent(&big, T0, "h", "sshd", "sshd", NULL, sbuf_str(&m));
		ent(&big, T0 + 1, "h", "sshd", "sshd", NULL, "short");
		mkjournal(jb, &big);
		specb = xasprintf("systemd-journal[journalfiles=%s]", jb);
		src_journal_params_init(&pb);
		src_journal_params_parse(&pb, specb, &d);
		o.params = &pb;
		o.budget = 0;
		o.line_max = 1000;
		r.sj = src_journal_new(loop, &o, &d);
		ok(run_until(loop, &r, got_caught_up, 3000), "cap: caught up");
		ok(r.n == 2 && strlen(r.lines[0]) < 1100 && r.truncated_seen,
		    "a 100 kB message is cut at line_max");
		ok(has_event(&r, SRC_JOURNAL_EV_LINE_CAPPED),
		    "... and reported");
		src_journal_free(r.sj);
		drain_loop(loop);
		rec_reset(&r);
		src_journal_params_cleanup(&pb);
		unlink(jb);
		free(jb);
		free(specb);
		sbuf_cleanup(&big);
		sbuf_cleanup(&m);
	}
	src_journal_params_cleanup(&p);
	diags_cleanup(&d);
	unlink(j);
	free(j);
	free(spec);
	sbuf_cleanup(&b);
}

static void
test_missing_rotation_corruption(uv_loop_t *loop)
{
	struct sbuf b = SBUF_INIT;
	struct rec r = {0};
	char *dir = tpath("jdir"), *spec, *ja, *jb;

	/* a journal directory that does not exist yet */
	spec = xasprintf("systemd-journal[journalpath=%s]", dir);
	follow(loop, &r, spec, NULL, SRC_JOURNAL_START_TAIL, NULL);
	ok(r.sj != NULL && has_event(&r, SRC_JOURNAL_EV_MISSING),
	    "a missing journalpath is reported, not fatal");
	run_for(loop, 120);
	is_int(r.evcount[SRC_JOURNAL_EV_MISSING], 1, "... once");
	mkdir(dir, 0755);
	ja = xasprintf("%s/a.journal", dir);
	/* dated after the source started: new to it */
	ents(&b, 0, 3, now_usec());
	mkjournal(ja, &b);
	sbuf_reset(&b);
	want_kind = SRC_JOURNAL_EV_RECOVERED;
	ok(run_until(loop, &r, got_event, 3000),
	    "the journal appears: recovered");
	ok(run_until(loop, &r, got_caught_up, 3000), "... caught up");
	is_int(r.n, 3,
	    "... and its entries, newer than the source, are read (tail)");

	/* rotation: a second file appears, the first is vacuumed */
	jb = xasprintf("%s/b.journal", dir);
	ents(&b, 10, 2, now_usec());
	mkjournal(jb, &b);
	sbuf_reset(&b);
	want_n = 5;
	ok(run_until(loop, &r, got_n, 3000),
	    "a new file in the directory is read");
	ok(has_event(&r, SRC_JOURNAL_EV_ROTATED), "... reported as a rotation");
	unlink(ja);
	run_for(loop, 100);
	{
		struct remote rm;
		char *jc = xasprintf("%s/c.journal", dir);

		remote_start(&rm, jc);
		ents(&b, 20, 2, now_usec());
		remote_write(&rm, &b);
		sbuf_reset(&b);
		want_n = 7;
		ok(run_until(loop, &r, got_n, 3000),
		    "after a vacuum, later entries still arrive");
		remote_finish(&rm);
		free(jc);
	}
	/* everything vacuumed: missing, then back */
	{
		char *jc = xasprintf("%s/c.journal", dir);

		unlink(jb);
		unlink(jc);
		want_kind = SRC_JOURNAL_EV_MISSING;
		r.evcount[SRC_JOURNAL_EV_MISSING] = 0;
		ok(run_until(loop, &r, got_event, 3000),
		    "every file vacuumed: reported missing");
		ents(&b, 30, 2, now_usec());
		mkjournal(jc, &b);
		sbuf_reset(&b);
		want_n = 9;
		ok(run_until(loop, &r, got_n, 3000),
		    "... and a new journal is read from after the cursor");
		unlink(jc);
		free(jc);
	}
	src_journal_free(r.sj);
	drain_loop(loop);
	rec_reset(&r);
	free(spec);

	/* a glob that matches nothing yet */
	{
		char *g = xasprintf("%s/late*.journal", dir);
		char *jl = xasprintf("%s/late1.journal", dir);

		spec = xasprintf("systemd-journal[journalfiles=%s]", g);
		follow(loop, &r, spec, NULL, SRC_JOURNAL_START_TAIL, NULL);
		ok(has_event(&r, SRC_JOURNAL_EV_MISSING),
		    "journalfiles matching nothing: missing");
		ents(&b, 40, 2, now_usec());
		mkjournal(jl, &b);
		sbuf_reset(&b);
		want_n = 2;
		ok(run_until(loop, &r, got_n, 3000),
		    "... the file that appears later is read");
		src_journal_free(r.sj);
		drain_loop(loop);
		rec_reset(&r);
		unlink(jl);
		free(g);
		free(jl);
		free(spec);
	}

	/* a file that shrinks under the reader: SIGBUS is caught */
	{
		char *jt = xasprintf("%s/t.journal", dir);
		unsigned long bus0 = src_journal_sigbus_count();

		ents(&b, 0, 30000, T0);
		mkjournal(jt, &b);
		sbuf_reset(&b);
		spec = xasprintf("systemd-journal[journalfiles=%s]", jt);
		r.trunc_after = 100;
		r.trunc_path = jt;
		follow(loop, &r, spec, NULL, SRC_JOURNAL_START_HEAD, NULL);
		want_kind = SRC_JOURNAL_EV_ERROR;
		ok(run_until(loop, &r, got_event, 3000),
		    "a journal truncated while read: an error event, no crash");
		ok(src_journal_sigbus_count() > bus0,
		    "... the SIGBUS was caught");
		ok(r.n >= 100 && r.n < 30000,
		    "... entries before it were delivered (%zu)", r.n);
		src_journal_free(r.sj);
		drain_loop(loop);
		rec_reset(&r);
		unlink(jt);
		free(jt);
		free(spec);
	}

	/* a corrupted file: no crash, the source stays alive */
	{
		char *jx = xasprintf("%s/x.journal", dir);
		struct stat st;
		int fd;

		ents(&b, 0, 2000, T0);
		mkjournal(jx, &b);
		sbuf_reset(&b);
		stat(jx, &st);
		fd = open(jx, O_WRONLY);
		if (fd >= 0) {
			char junk[8192];

			memset(junk, 0xA5, sizeof(junk));
			for (off_t off = st.st_size / 3; off < st.st_size / 2;
			     off += 65536)
				(void)!pwrite(fd, junk, sizeof(junk), off);
			close(fd);
		}
		spec = xasprintf("systemd-journal[journalfiles=%s]", jx);
		follow(loop, &r, spec, NULL, SRC_JOURNAL_START_HEAD, NULL);
		run_for(loop, 300);
		ok(r.sj != NULL,
		    "a corrupted journal does not kill the source");
		ok(r.n > 0 && r.n < 2000,
		    "... the readable entries are delivered (%zu of 2000)",
		    r.n);
		src_journal_free(r.sj);
		drain_loop(loop);
		rec_reset(&r);
		unlink(jx);
		free(jx);
		free(spec);
	}
	rmdir(dir);
	free(dir);
	free(ja);
	free(jb);
	sbuf_cleanup(&b);
}

struct rjc {
	size_t n;
	char first[256];
};

static void
rj_cb(void *arg, const struct src_journal_entry *e)
{
	struct rjc *c = arg;

	if (c->n++ == 0)
		snprintf(c->first, sizeof(c->first), "%s%s", e->date, e->line);
}

static void
test_regex_journal(void)
{
	struct sbuf b = SBUF_INIT;
	char *j = tpath("rj.journal");
	struct regex_journal_opts o = {0};
	struct journalmatch m = JOURNALMATCH_INIT;
	struct diags d = DIAGS_INIT;
	struct rjc c = {0};
	char *spec;

	ents(&b, 0, 50, T0);
	ent(&b, T0 + 60, "h", "CRON", "cron", NULL, "x");
	mkjournal(j, &b);
	spec = xasprintf("systemd-journal[journalfiles=%s]", j);
	journalmatch_add_line(&m, "_COMM=sshd", NULL, 0, &d);
	o.spec = spec;
	o.match = &m;
	o.entry = rj_cb;
	o.arg = &c;
	is_int(regex_journal_read(&o, &d), 50,
	    "regex_journal reads every matching entry from the head");
	is_str(c.first,
	    "2026-11-21T05:46:40+00:00 h sshd[4242]: Failed password for root "
	    "from 10.0.0.0 port 22 ssh2",
	    "... formatted as the backend does");
	o.match = NULL;
	c.n = 0;
	is_int(regex_journal_read(&o, &d), 51, "without a match: all");
	free(spec);
	spec = xasprintf("systemd-journal[journalfiles=%s/nothing*]", tmpdir);
	o.spec = spec;
	ok(regex_journal_read(&o, &d) < 0 && d.nerrors > 0 &&
	        strstr(d.v[d.n - 1].msg, "Opening the journal failed"),
	    "a journal that does not exist is an error");
	o.spec = "systemd-journal[nope=1]";
	ok(regex_journal_read(&o, &d) < 0, "a bad parameter is an error");
	journalmatch_cleanup(&m);
	diags_cleanup(&d);
	unlink(j);
	free(j);
	free(spec);
	sbuf_cleanup(&b);
}

int
main(void)
{
	uv_loop_t loop;

	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_journal.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	test_journalmatch();
	test_params();
	test_format();
	if (!have_remote()) {
		printf("ok %d # SKIP %s not installed\n", ++tap_count, REMOTE);
	} else {
		uv_loop_init(&loop);
		test_head_and_match(&loop);
		test_entry_time(&loop);
		test_tail_append_cursor(&loop);
		test_budget(&loop);
		test_missing_rotation_corruption(&loop);
		test_regex_journal();
		drain_loop(&loop);
		ok(uv_loop_close(&loop) == 0, "every handle was closed");
	}
	rmdir(tmpdir);
	return done_testing();
}
