/*
 * spawn: real children in a real libuv loop. Exit codes, captured output
 * and its cap, arguments, a new session, stdin from /dev/null, the
 * timeout killing a whole process group (a grandchild that ignores
 * SIGTERM included), a background child holding the pipes, a shell that
 * cannot start, what the child inherits (descriptors, signal
 * dispositions and mask, an ignored SIGCHLD), 200 concurrent children,
 * fail2ban's log lines, and no handle left behind (uv_loop_close
 * succeeds).
 */
#include "spawn.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct res {
	int calls;
	int spawn_error;
	bool exited;
	int status;
	int sig;
	bool timed_out;
	char *out;
	size_t out_len, out_lost;
	char *err;
	size_t err_len, err_lost;
	double elapsed;
	bool inside; /* set while spawn_run() runs */
	bool sync_cb;
};

static void
on_done(void *arg, const struct spawn_result *r)
{
	struct res *s = arg;

	s->calls++;
	s->sync_cb = s->inside;
	s->spawn_error = r->spawn_error;
	s->exited = r->exited;
	s->status = r->exit_status;
	s->sig = r->term_signal;
	s->timed_out = r->timed_out;
	free(s->out);
	free(s->err);
	s->out = xmemdup(r->out, r->out_len);
	s->out_len = r->out_len;
	s->out_lost = r->out_lost;
	s->err = xmemdup(r->err, r->err_len);
	s->err_len = r->err_len;
	s->err_lost = r->err_lost;
	s->elapsed = r->elapsed;
}

static void
res_free(struct res *s)
{
	free(s->out);
	free(s->err);
	memset(s, 0, sizeof(*s));
}

static void
run1(uv_loop_t *loop, const char *script, const char *const *args, size_t nargs,
    const struct spawn_opts *o, struct res *s)
{
	memset(s, 0, sizeof(*s));
	s->inside = true;
	spawn_run(loop, script, args, nargs, o, on_done, s);
	s->inside = false;
	uv_run(loop, UV_RUN_DEFAULT);
}

/* A process is gone when /proc has no entry or it is a zombie. */
static bool
proc_gone(long pid)
{
	char path[64], buf[256];
	FILE *fp;
	char *p;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return true;
	if (fgets(buf, sizeof(buf), fp) == NULL) {
		fclose(fp);
		return true;
	}
	fclose(fp);
	p = strrchr(buf, ')');
	return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

static long
read_pid(const char *path)
{
	FILE *fp = fopen(path, "r");
	long pid = -1;

	if (fp != NULL) {
		if (fscanf(fp, "%ld", &pid) != 1)
			pid = -1;
		fclose(fp);
	}
	return pid;
}

static void
test_basic(uv_loop_t *loop)
{
	struct res s;
	const char *args[] = {"zero", "one two", "$(id)"};

	run1(loop, "exit 0", NULL, 0, NULL, &s);
	is_int(s.calls, 1, "callback runs once");
	ok(!s.sync_cb, "callback never runs inside spawn_run");
	ok(s.exited && s.status == 0 && s.sig == 0, "exit 0");
	res_free(&s);

	run1(loop, "echo out; echo err >&2; exit 3", NULL, 0, NULL, &s);
	ok(s.exited && s.status == 3, "exit 3");
	is_str(s.out, "out\n", "stdout captured");
	is_str(s.err, "err\n", "stderr captured");
	res_free(&s);

	run1(loop, "printf '%s|' \"$0\" \"$1\" \"$2\"", args, 3, NULL, &s);
	is_str(s.out, "zero|one two|$(id)|",
	    "arguments are $0.. verbatim, never parsed");
	res_free(&s);

	run1(loop, "cat; echo rc=$?", NULL, 0, NULL, &s);
	is_str(s.out, "rc=0\n", "stdin is /dev/null");
	res_free(&s);

	run1(loop,
	    "set -- $(cut -d' ' -f5,6 /proc/$$/stat); "
	    "[ \"$1\" = $$ ] && [ \"$2\" = $$ ] && echo leader",
	    NULL, 0, NULL, &s);
	is_str(s.out, "leader\n", "own session and process group");
	res_free(&s);

	run1(loop, "kill -USR1 $$", NULL, 0, NULL, &s);
	ok(!s.exited && s.sig == SIGUSR1, "terminated by a signal");
	res_free(&s);
}

static void
test_cap(uv_loop_t *loop)
{
	struct spawn_opts o;
	struct res s;

	memset(&o, 0, sizeof(o));
	o.out_cap = 1000;
	o.err_cap = 10;
	run1(loop, "head -c 300000 /dev/zero; head -c 50 /dev/zero >&2; exit 1",
	    NULL, 0, &o, &s);
	is_int(s.out_len, 1000, "stdout kept up to its cap");
	is_int(s.out_lost, 299000, "the rest of stdout is counted");
	is_int(s.err_len, 10, "stderr kept up to its cap");
	is_int(s.err_lost, 40, "the rest of stderr is counted");
	ok(s.exited && s.status == 1, "the child still ran to its end");
	res_free(&s);

	run1(loop, "head -c 200000 /dev/zero", NULL, 0, NULL, &s);
	is_int(s.out_len, SPAWN_OUT_CAP_DEFAULT, "default cap 64 KiB");
	res_free(&s);
}

static void
test_timeout(uv_loop_t *loop)
{
	struct spawn_opts o;
	struct res s;
	char dir[] = "/tmp/warden-spawn-XXXXXX", script[1024], p1[64], p2[64];
	long g1, g2;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(p1, sizeof(p1), "%s/g1", dir);
	snprintf(p2, sizeof(p2), "%s/g2", dir);
	/* a plain grandchild and one that ignores SIGTERM */
	snprintf(script, sizeof(script),
	    "sleep 60 & echo $! > %s; "
	    "sh -c 'trap \"\" TERM; echo $$ > %s; while :; do sleep 1; "
	    "done' & sleep 60",
	    p1, p2);
	memset(&o, 0, sizeof(o));
	o.timeout = 0.3;
	run1(loop, script, NULL, 0, &o, &s);
	ok(s.timed_out, "timed out");
	ok(!s.exited && s.sig == SIGTERM, "the shell got SIGTERM (%d)", s.sig);
	ok(s.elapsed >= 0.3 && s.elapsed < 2.0,
	    "completed after the timeout plus the kill delay (%.2fs)",
	    s.elapsed);
	g1 = read_pid(p1);
	g2 = read_pid(p2);
	ok(g1 > 0 && g2 > 0, "grandchildren started");
	/* the group got SIGKILL before the callback; reaping by init may
	 * take a moment */
	for (int i = 0; i < 100 && !(proc_gone(g1) && proc_gone(g2)); i++)
		usleep(10000);
	ok(g1 > 0 && proc_gone(g1), "grandchild sleep 60 is dead");
	ok(g2 > 0 && proc_gone(g2), "grandchild ignoring SIGTERM is dead");
	res_free(&s);
	unlink(p1);
	unlink(p2);
	rmdir(dir);

	/* a background child keeping stdout open does not hold us */
	run1(loop, "echo hi; (sleep 5 &) ; exit 0", NULL, 0, NULL, &s);
	ok(s.exited && s.status == 0 && s.elapsed < 1.5,
	    "background holder: done after the drain delay (%.2fs)", s.elapsed);
	is_str(s.out, "hi\n", "output before the exit is kept");
	res_free(&s);
}

static void
test_fail(uv_loop_t *loop)
{
	struct spawn_opts o;
	struct res s;

	memset(&o, 0, sizeof(o));
	o.shell = "/nonexistent/shell";
	run1(loop, "exit 0", NULL, 0, &o, &s);
	is_int(s.calls, 1, "failed start: callback once");
	ok(s.spawn_error < 0, "failed start: error reported (%d)",
	    s.spawn_error);
	ok(!s.sync_cb, "failed start: callback from the loop");
	res_free(&s);
}

#define NCONC 200

/*
 * What the child inherits: only stdin/stdout/stderr among the daemon's
 * descriptors (close-on-exec or not), default dispositions for signals the
 * daemon ignores, no blocked signal.
 */
/* The first spawn of a daemon whose parent left SIGCHLD ignored: the
 * exit status is still collected (an ignored SIGCHLD lets the kernel reap
 * children before anyone asks). Runs first: spawn fixes the disposition
 * once. */
static void
test_sigchld_ignored(uv_loop_t *loop)
{
	struct sigaction ign, old;
	struct res s;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGCHLD, &ign, &old);
	run1(loop, "exit 7", NULL, 0, NULL, &s);
	ok(s.exited && s.status == 7,
	    "exit status kept with SIGCHLD ignored (got %d)", s.status);
	res_free(&s);
	sigaction(SIGCHLD, &old, NULL);
}

static void
test_inherit(uv_loop_t *loop)
{
	struct sigaction ign, old_term;
	sigset_t blk, old_mask;
	struct res s;
	int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC */

	/* no pipeline: the shell would hold its pipe ends while ls looks */
	run1(loop, "ls /proc/$$/fd", NULL, 0, NULL, &s);
	ok(s.exited && s.status == 0, "fd listing ran");
	is_str(s.out, "0\n1\n2\n",
	    "the child has only fds 0, 1, 2 (daemon fd %d not inherited)", fd);
	res_free(&s);
	close(fd);

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGTERM, &ign, &old_term);
	sigemptyset(&blk);
	sigaddset(&blk, SIGUSR1);
	sigaddset(&blk, SIGHUP);
	sigprocmask(SIG_BLOCK, &blk, &old_mask);

	run1(loop, "kill -TERM $$; exit 0", NULL, 0, NULL, &s);
	ok(!s.exited && s.sig == SIGTERM,
	    "SIGTERM ignored by the daemon kills the child");
	res_free(&s);
	/* the standard signals (1..31); glibc keeps its own above them.
	 * exec: sed reads its own status, not that of a shell that forked it
	 * (dash blocks every signal for a moment while it waits for a child,
	 * and a sed reading then saw that mask) */
	run1(loop,
	    "exec sed -n 's/^Sig\\(Blk\\|Ign\\):.*\\(........\\)$/\\2/p' "
	    "/proc/$$/status",
	    NULL, 0, NULL, &s);
	if (!ok(s.out != NULL && strlen(s.out) == 18 &&
	            strtoul(s.out, NULL, 16) == 0 &&
	            (strtoul(s.out + 9, NULL, 16) & 0x7fffffffUL) == 0,
	        "no standard signal blocked or ignored in the child"))
		printf("#   got: %s (exited %d status %d sig %d)\n",
		    s.out ? s.out : "(null)", s.exited, s.status, s.sig);
	res_free(&s);

	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGTERM, &old_term, NULL);
}

static void
test_concurrent(uv_loop_t *loop)
{
	static struct res rs[NCONC];
	char argbuf[NCONC][16];
	int good = 0, calls = 0;

	for (int i = 0; i < NCONC; i++) {
		const char *args[1];

		snprintf(argbuf[i], sizeof(argbuf[i]), "n%d", i);
		args[0] = argbuf[i];
		memset(&rs[i], 0, sizeof(rs[i]));
		spawn_run(loop, "echo \"$0\"", args, 1, NULL, on_done, &rs[i]);
	}
	uv_run(loop, UV_RUN_DEFAULT);
	for (int i = 0; i < NCONC; i++) {
		char want[20];

		snprintf(want, sizeof(want), "n%d\n", i);
		calls += rs[i].calls;
		if (rs[i].calls == 1 && rs[i].out != NULL &&
		    strcmp(rs[i].out, want) == 0 && rs[i].exited &&
		    rs[i].status == 0)
			good++;
		res_free(&rs[i]);
	}
	is_int(calls, NCONC, "%d concurrent spawns: one callback each", NCONC);
	is_int(good, NCONC, "%d concurrent spawns: each its own output", NCONC);
}

static char logbuf[8192];

static void
hook(void *ctx, int level, const char *logger, const char *msg)
{
	size_t n = strlen(logbuf);

	(void)ctx;
	snprintf(
	    logbuf + n, sizeof(logbuf) - n, "%d %s %s\n", level, logger, msg);
}

struct logres {
	struct res r;
	const char *script;
	const char *const *args;
	size_t nargs;
};

static void
on_done_log(void *arg, const struct spawn_result *r)
{
	struct logres *l = arg;

	on_done(&l->r, r);
	spawn_log(r, 0xabc, l->script, l->args, l->nargs, "0.3", 1u);
}

static void
test_log(uv_loop_t *loop)
{
	struct logres l;
	struct spawn_opts o;
	const char *args[] = {"v a l"};

	wlog_set_hook(hook, NULL);
	wlog_set_level(WLOG_DEBUG);

	memset(&l, 0, sizeof(l));
	l.script = "echo some-err >&2; exit 3";
	logbuf[0] = '\0';
	spawn_run(loop, l.script, NULL, 0, NULL, on_done_log, &l);
	uv_run(loop, UV_RUN_DEFAULT);
	is_str(logbuf,
	    "40 fail2ban.utils abc -- exec: echo some-err >&2; exit 3\n"
	    "40 fail2ban.utils abc -- stderr: 'some-err'\n"
	    "40 fail2ban.utils abc -- returned 3\n",
	    "log: a failure as fail2ban.utils logs it");
	res_free(&l.r);

	memset(&l, 0, sizeof(l));
	l.script = "f2bV_x=$0 \necho \"$f2bV_x\"";
	l.args = args;
	l.nargs = 1;
	logbuf[0] = '\0';
	spawn_run(loop, l.script, args, 1, NULL, on_done_log, &l);
	uv_run(loop, UV_RUN_DEFAULT);
	is_str(logbuf,
	    "10 fail2ban.utils abc -- stdout: 'v a l'\n"
	    "10 fail2ban.utils abc -- returned successfully 0\n",
	    "log: success at DEBUG");
	res_free(&l.r);

	wlog_set_level(5);
	memset(&l, 0, sizeof(l));
	l.script = "exit 130";
	l.args = args;
	l.nargs = 1;
	logbuf[0] = '\0';
	spawn_run(loop, l.script, args, 1, NULL, on_done_log, &l);
	uv_run(loop, UV_RUN_DEFAULT);
	is_str(logbuf,
	    "40 fail2ban.utils abc -- exec: ['exit 130', 'v a l']\n"
	    "40 fail2ban.utils abc -- killed with SIGINT (return code: "
	    "130)\n",
	    "log: 128+n read as a signal, command as a list");
	res_free(&l.r);

	wlog_set_level(WLOG_INFO);
	memset(&l, 0, sizeof(l));
	l.script = "sleep 5";
	logbuf[0] = '\0';
	memset(&o, 0, sizeof(o));
	o.timeout = 0.3;
	spawn_run(loop, l.script, NULL, 0, &o, on_done_log, &l);
	uv_run(loop, UV_RUN_DEFAULT);
	is_str(logbuf,
	    "40 fail2ban.utils abc -- exec: sleep 5\n"
	    "40 fail2ban.utils abc -- timed out after 0.3 seconds.\n"
	    "40 fail2ban.utils abc -- killed with SIGTERM (return code: "
	    "-15)\n",
	    "log: timeout");
	res_free(&l.r);

	memset(&l, 0, sizeof(l));
	l.script = "nosuchcommand-xyz 2>/dev/null";
	logbuf[0] = '\0';
	spawn_run(loop, l.script, NULL, 0, NULL, on_done_log, &l);
	uv_run(loop, UV_RUN_DEFAULT);
	ok(strstr(logbuf,
	       "abc -- returned 127\n20 fail2ban.utils HINT on "
	       "127: \"Command not found\".") != NULL,
	    "log: 127 adds fail2ban's hint");
	res_free(&l.r);
	wlog_set_hook(NULL, NULL);
}

int
main(void)
{
	uv_loop_t loop;
	char err[128];

	alarm(120); /* a hang fails the suite instead of blocking it */
	uv_loop_init(&loop);
	/* records go to the hook in test_log, not to the terminal */
	wlog_set_target("/dev/null", NULL, err, sizeof(err));
	test_sigchld_ignored(&loop);
	test_basic(&loop);
	test_cap(&loop);
	test_timeout(&loop);
	test_fail(&loop);
	test_inherit(&loop);
	test_concurrent(&loop);
	test_log(&loop);
	is_int(uv_loop_close(&loop), 0, "no handle left in the loop");
	return done_testing();
}
