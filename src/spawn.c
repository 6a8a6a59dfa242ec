/*
 * spawn: one `/bin/sh -c` child in the libuv loop with captured output and
 * a timeout (see spawn.h). A spawn owns two pipes, two timers and a reaper
 * (a uv_poll_t on the child's pidfd, or a polling timer where pidfds are
 * not available); it completes when the shell has been reaped and both
 * pipes have reached EOF (or the drain delay after the exit has passed),
 * and, after a timeout, once the SIGKILL has been sent to the group. Then
 * the callback runs and every handle is closed; the struct is freed by the
 * last close callback.
 *
 * The child is started with posix_spawn(3), which glibc implements with
 * clone(CLONE_VM | CLONE_VFORK): the parent's page tables are not copied,
 * so starting a command costs the same whatever the daemon's size (fork(),
 * which uv_spawn uses, copied ~90 MB of page tables per ban during a large
 * replay). The child gets a new session (POSIX_SPAWN_SETSID), every signal
 * at its default disposition and none blocked (as uv_spawn did), stdin
 * from /dev/null, the pipes as stdout and stderr, and no other descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn_sys.h> /* <spawn.h>: posix_spawn */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "beautify.h"
#include "log.h"
#include "sbuf.h"
#include "spawn.h"
#include "xmalloc.h"

extern char **environ;

/* Without a pidfd (kernel before 5.3, no descriptor left) the child is
 * looked for with waitpid(WNOHANG) this often. */
#define SPAWN_REAP_POLL_MS 5

struct spawn_stream {
	uv_pipe_t pipe;
	struct sbuf buf;
	size_t cap;  /* bytes kept */
	size_t lost; /* bytes beyond cap */
	bool eof;
	bool reading;
};

struct spawn {
	uv_loop_t *loop;
	union {
		uv_poll_t poll;   /* readable when the child has exited */
		uv_timer_t timer; /* fallback: waitpid(WNOHANG) polling */
		uv_handle_t h;
	} reap;
	int pidfd; /* -1: the timer reaps */
	struct spawn_stream out, err;
	uv_timer_t tmo;   /* timeout, then the SIGKILL delay */
	uv_timer_t drain; /* output drain after the exit; also defers the
	                     callback of a failed start */
	spawn_cb cb;
	void *arg;
	int nopen; /* handles not yet closed */
	int spawn_error;
	long pid;
	bool started; /* the child runs (or ran) */
	bool exited;
	int64_t exit_status;
	int term_signal;
	bool timed_out;
	bool term_sent;     /* SIGTERM sent to the group (timeout or kill) */
	bool kill_pending;  /* the SIGKILL is still to be sent */
	bool drained;       /* the drain delay after the exit passed */
	char scratch[8192]; /* read buffer; data beyond the caps is only
	                       counted, so a chatty child costs no memory */
	bool done;          /* the callback ran (or is running) */
	uint64_t start_ms;
};

static void spawn_maybe_finish(struct spawn *s);

static void
on_close(uv_handle_t *h)
{
	struct spawn *s = h->data;

	if (h == &s->reap.h && s->pidfd >= 0) {
		close(s->pidfd);
		s->pidfd = -1;
	}
	if (--s->nopen == 0) {
		sbuf_cleanup(&s->out.buf);
		sbuf_cleanup(&s->err.buf);
		free(s);
	}
}

static void
close_handle(struct spawn *s, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, on_close);
	(void)s;
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct spawn *s = h->data;

	(void)suggested;
	buf->base = s->scratch;
	buf->len = sizeof(s->scratch);
}

static void
read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct spawn_stream *ss = (struct spawn_stream *)st;
	struct spawn *s = st->data;

	if (n > 0) {
		size_t room = ss->cap > ss->buf.len ? ss->cap - ss->buf.len : 0;
		size_t take = (size_t)n < room ? (size_t)n : room;

		if (take > 0)
			sbuf_add(&ss->buf, buf->base, take);
		ss->lost += (size_t)n - take;
		return;
	}
	if (n == 0)
		return;
	/* EOF or a read error: this stream is finished. */
	uv_read_stop(st);
	ss->reading = false;
	ss->eof = true;
	spawn_maybe_finish(s);
}

static void
signal_group(struct spawn *s, int sig)
{
	if (s->pid > 0)
		(void)kill(-(pid_t)s->pid, sig);
}

static void
kill_cb(uv_timer_t *t)
{
	struct spawn *s = t->data;

	/* fail2ban kills the whole tree after the grace delay even when the
	 * shell went away on SIGTERM: stragglers of the group die too. */
	signal_group(s, SIGKILL);
	s->kill_pending = false;
	spawn_maybe_finish(s);
}

static void
start_termination(struct spawn *s)
{
	if (s->term_sent || s->done)
		return;
	s->term_sent = true;
	signal_group(s, SIGTERM);
	s->kill_pending = true;
	uv_timer_stop(&s->tmo);
	uv_timer_start(&s->tmo, kill_cb, SPAWN_KILL_DELAY_MS, 0);
}

static void
timeout_cb(uv_timer_t *t)
{
	struct spawn *s = t->data;

	if (s->exited)
		return;
	s->timed_out = true;
	start_termination(s);
}

static void
drain_cb(uv_timer_t *t)
{
	struct spawn *s = t->data;

	s->drained = true;
	spawn_maybe_finish(s);
}

/* The shell has exited (or was killed): status as uv_spawn reported it. */
static void
on_exit_status(struct spawn *s, int64_t status, int sig)
{
	s->exited = true;
	s->exit_status = status;
	s->term_signal = sig;
	if (!s->kill_pending)
		uv_timer_stop(&s->tmo);
	if (!(s->out.eof && s->err.eof))
		uv_timer_start(&s->drain, drain_cb, SPAWN_DRAIN_MS, 0);
	spawn_maybe_finish(s);
}

/*
 * Collects the child if it has exited: returns false while it runs, else
 * true with *status and *sig as uv_spawn reported them.
 */
static bool
try_reap(struct spawn *s, int64_t *status, int *sig)
{
	siginfo_t si;
	int rc;

	*status = 0;
	*sig = 0;
	memset(&si, 0, sizeof(si));
	do
		rc = waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return true; /* ECHILD: reaped by someone else, status lost */
	if (si.si_pid == 0)
		return false; /* still running */
	if (si.si_code == CLD_EXITED)
		*status = si.si_status;
	else
		*sig = si.si_status;
	return true;
}

static void
reap_poll_cb(uv_poll_t *p, int status, int events)
{
	struct spawn *s = p->data;
	int64_t st;
	int sig;

	(void)status;
	(void)events;
	if (s->exited || !try_reap(s, &st, &sig))
		return;
	uv_poll_stop(p);
	on_exit_status(s, st, sig);
}

static void
reap_timer_cb(uv_timer_t *t)
{
	struct spawn *s = t->data;
	int64_t st;
	int sig;

	if (s->exited || !try_reap(s, &st, &sig))
		return;
	uv_timer_stop(t);
	on_exit_status(s, st, sig);
}

static void
finish(struct spawn *s)
{
	struct spawn_result r;

	s->done = true;
	uv_timer_stop(&s->tmo);
	uv_timer_stop(&s->drain);
	if (s->out.reading)
		uv_read_stop((uv_stream_t *)&s->out.pipe);
	if (s->err.reading)
		uv_read_stop((uv_stream_t *)&s->err.pipe);

	memset(&r, 0, sizeof(r));
	r.spawn_error = s->spawn_error;
	r.pid = s->pid;
	if (s->started) {
		r.exited = s->term_signal == 0;
		r.exit_status = r.exited ? (int)s->exit_status : 0;
		r.term_signal = s->term_signal;
		r.timed_out = s->timed_out;
	}
	r.out = sbuf_str(&s->out.buf);
	r.out_len = s->out.buf.len;
	r.out_lost = s->out.lost;
	r.err = sbuf_str(&s->err.buf);
	r.err_len = s->err.buf.len;
	r.err_lost = s->err.lost;
	uv_update_time(s->loop);
	r.elapsed = (double)(uv_now(s->loop) - s->start_ms) / 1000.0;
	s->cb(s->arg, &r);

	close_handle(s, &s->reap.h);
	close_handle(s, (uv_handle_t *)&s->out.pipe);
	close_handle(s, (uv_handle_t *)&s->err.pipe);
	close_handle(s, (uv_handle_t *)&s->tmo);
	close_handle(s, (uv_handle_t *)&s->drain);
}

static void
spawn_maybe_finish(struct spawn *s)
{
	if (s->done)
		return;
	if (!s->started) {
		finish(s);
		return;
	}
	if (!s->exited || s->kill_pending)
		return;
	if (!(s->out.eof && s->err.eof) && !s->drained)
		return;
	finish(s);
}

static void
failed_start_cb(uv_timer_t *t)
{
	spawn_maybe_finish(t->data);
}

/* A pipe whose ends are close-on-exec and above the standard streams (a
 * daemon started with one of them closed must not hand the child its own
 * pipe end as stdin). Returns 0 or -errno. */
static int
make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		if (fds[i] <= 2) {
			int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			if (fd < 0) {
				int e = errno;

				close(fds[0]);
				close(fds[1]);
				return -e;
			}
			close(fds[i]);
			fds[i] = fd;
		}
	}
	return 0;
}

static void
close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/*
 * Starts argv with its stdout on outfd and stderr on errfd. Returns 0 with
 * *pid, or -errno (the exec's own error included: glibc reports it).
 */
static int
start_child(
    char **argv, char **env, const char *cwd, int outfd, int errfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -ENOMEM;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -ENOMEM;
	}
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, errfd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	/* no descriptor of the daemon's reaches the shell, close-on-exec
	 * or not */
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	if (rc == 0 && cwd != NULL)
		rc = posix_spawn_file_actions_addchdir_np(&fa, cwd);
	if (rc == 0)
		rc = posix_spawnattr_setflags(&at,
		    POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
		        POSIX_SPAWN_SETSIGDEF);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(&at, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&at, &all);
	if (rc == 0)
		rc = posix_spawnp(
		    pid, argv[0], &fa, &at, argv, env != NULL ? env : environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

/* A child whose exit nobody collects is reaped by the kernel when SIGCHLD
 * is ignored (inherited from whoever started the daemon): its status
 * would be lost. The default disposition keeps zombies for waitid. */
static void
sigchld_default(void)
{
	static bool done;
	struct sigaction sa;

	if (done)
		return;
	done = true;
	if (sigaction(SIGCHLD, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGCHLD, &sa, NULL);
	}
}

/* Reads the parent's end fd of a pipe through ss (the pipe takes it). */
static void
open_stream(struct spawn_stream *ss, int fd)
{
	if (uv_pipe_open(&ss->pipe, fd) != 0) {
		close(fd);
		ss->eof = true;
		return;
	}
	if (uv_read_start((uv_stream_t *)&ss->pipe, alloc_cb, read_cb) == 0)
		ss->reading = true;
	else
		ss->eof = true;
}

struct spawn *
spawn_run(uv_loop_t *loop, const char *script, const char *const *args,
    size_t nargs, const struct spawn_opts *opts, spawn_cb cb, void *arg)
{
	struct spawn *s = xcalloc(1, sizeof(*s));
	struct spawn_opts o = {0};
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	char **argv;
	pid_t pid = 0;
	int rc;

	if (opts != NULL)
		o = *opts;
	s->loop = loop;
	s->cb = cb;
	s->arg = arg;
	s->pidfd = -1;
	s->out.cap = o.out_cap ? o.out_cap : SPAWN_OUT_CAP_DEFAULT;
	s->err.cap = o.err_cap ? o.err_cap : SPAWN_OUT_CAP_DEFAULT;
	uv_update_time(loop);
	s->start_ms = uv_now(loop);
	sigchld_default();

	uv_pipe_init(loop, &s->out.pipe, 0);
	uv_pipe_init(loop, &s->err.pipe, 0);
	uv_timer_init(loop, &s->tmo);
	uv_timer_init(loop, &s->drain);
	s->out.pipe.data = s;
	s->err.pipe.data = s;
	s->tmo.data = s;
	s->drain.data = s;
	s->reap.h.data = s;
	s->nopen = 5;

	argv = xcalloc(nargs + 4, sizeof(*argv));
	argv[0] = (char *)(o.shell != NULL ? o.shell : "/bin/sh");
	argv[1] = (char *)"-c";
	argv[2] = (char *)script;
	for (size_t i = 0; i < nargs; i++)
		argv[3 + i] = (char *)args[i];

	rc = make_pipe(outp);
	if (rc == 0)
		rc = make_pipe(errp);
	if (rc == 0)
		rc = start_child(argv, o.env, o.cwd, outp[1], errp[1], &pid);
	free(argv);
	close_fds(&outp[1], 1);
	close_fds(&errp[1], 1);
	if (rc == 0) {
		s->pid = (long)pid;
		s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	if (rc == 0 && s->pidfd >= 0 &&
	    uv_poll_init(loop, &s->reap.poll, s->pidfd) != 0) {
		close(s->pidfd);
		s->pidfd = -1;
	}
	if (rc < 0 || s->pidfd < 0)
		uv_timer_init(loop, &s->reap.timer);
	s->reap.h.data = s;
	if (rc < 0) {
		/* Report from the loop: every handle is initialised and is
		 * closed with the others. */
		close_fds(outp, 1);
		close_fds(errp, 1);
		s->spawn_error = rc;
		s->out.eof = s->err.eof = true;
		uv_timer_start(&s->drain, failed_start_cb, 0, 0);
		return s;
	}
	s->started = true;
	open_stream(&s->out, outp[0]);
	open_stream(&s->err, errp[0]);
	if (s->pidfd >= 0)
		uv_poll_start(&s->reap.poll, UV_READABLE, reap_poll_cb);
	else
		uv_timer_start(&s->reap.timer, reap_timer_cb,
		    SPAWN_REAP_POLL_MS, SPAWN_REAP_POLL_MS);
	if (o.timeout > 0) {
		double ms = o.timeout * 1000.0;

		if (ms < 1)
			ms = 1;
		if (ms > 1e12)
			ms = 1e12;
		uv_timer_start(&s->tmo, timeout_cb, (uint64_t)ms, 0);
	}
	return s;
}

void
spawn_kill(struct spawn *s)
{
	if (s == NULL || s->done || !s->started || s->exited)
		return;
	start_termination(s);
}

/* ---------------------------------------------------------------------
 * fail2ban's executeCmd logging.
 */

/*
 * Python's `signame` table in fail2ban's utils.py: built from the signal
 * module's SIG* names, so 0 and 1 come out as the handler constants.
 */
static const char *
py_signame(int sig)
{
	static const char *const names[] = {
	    [0] = "SIG_DFL",
	    [1] = "SIG_IGN",
	    [2] = "SIGINT",
	    [3] = "SIGQUIT",
	    [4] = "SIGILL",
	    [5] = "SIGTRAP",
	    [6] = "SIGABRT",
	    [7] = "SIGBUS",
	    [8] = "SIGFPE",
	    [9] = "SIGKILL",
	    [10] = "SIGUSR1",
	    [11] = "SIGSEGV",
	    [12] = "SIGUSR2",
	    [13] = "SIGPIPE",
	    [14] = "SIGALRM",
	    [15] = "SIGTERM",
	    [16] = "SIGSTKFLT",
	    [17] = "SIGCHLD",
	    [18] = "SIGCONT",
	    [19] = "SIGSTOP",
	    [20] = "SIGTSTP",
	    [21] = "SIGTTIN",
	    [22] = "SIGTTOU",
	    [23] = "SIGURG",
	    [24] = "SIGXCPU",
	    [25] = "SIGXFSZ",
	    [26] = "SIGVTALRM",
	    [27] = "SIGPROF",
	    [28] = "SIGWINCH",
	    [29] = "SIGPOLL",
	    [30] = "SIGPWR",
	    [31] = "SIGSYS",
	    [34] = "SIGRTMIN",
	    [64] = "SIGRTMAX",
	};

	if (sig >= 0 && (size_t)sig < sizeof(names) / sizeof(names[0]))
		return names[sig];
	return NULL;
}

/* The command as fail2ban's "%s" prints it: the string, or a list repr. */
static void
cmd_text(
    struct sbuf *b, const char *script, const char *const *args, size_t nargs)
{
	if (nargs == 0) {
		sbuf_addstr(b, script);
		return;
	}
	sbuf_addch(b, '[');
	beautify_repr_str(b, script, strlen(script));
	for (size_t i = 0; i < nargs; i++) {
		sbuf_addstr(b, ", ");
		beautify_repr_str(b, args[i], strlen(args[i]));
	}
	sbuf_addch(b, ']');
}

/* Logs each line of output as "<id> -- <what>: 'line'" (bytes.splitlines). */
static void
log_lines(
    int level, unsigned long id, const char *what, const char *s, size_t n)
{
	struct sbuf r = SBUF_INIT;
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != '\n' && s[j] != '\r')
			j++;
		sbuf_reset(&r);
		beautify_repr_str(&r, s + i, j - i);
		wlog(level, "fail2ban.utils", "%lx -- %s: %s", id, what,
		    sbuf_str(&r));
		if (j < n && s[j] == '\r' && j + 1 < n && s[j + 1] == '\n')
			j++;
		i = j + 1;
	}
	sbuf_cleanup(&r);
}

bool
spawn_log(const struct spawn_result *r, unsigned long id, const char *script,
    const char *const *args, size_t nargs, const char *timeout_text,
    unsigned success_mask)
{
	struct sbuf cmd = SBUF_INIT;
	bool exec_logged = false, success;
	long retcode;
	int std_level;

	cmd_text(&cmd, script, args, nargs);
	if (r->spawn_error != 0) {
		wlog(WLOG_ERROR, "fail2ban.utils", "%lx -- exec: %s", id,
		    sbuf_str(&cmd));
		wlog(WLOG_ERROR, "fail2ban.utils",
		    "%s -- failed with [Errno %d] %s", sbuf_str(&cmd),
		    -r->spawn_error, uv_strerror(r->spawn_error));
		sbuf_cleanup(&cmd);
		return false;
	}
	/* Python's returncode: negative for a signal. */
	retcode = r->term_signal ? -(long)r->term_signal : r->exit_status;
	if (r->timed_out) {
		wlog(WLOG_ERROR, "fail2ban.utils", "%lx -- exec: %s", id,
		    sbuf_str(&cmd));
		exec_logged = true;
		wlog(WLOG_ERROR, "fail2ban.utils",
		    "%lx -- timed out after %s seconds.", id,
		    timeout_text != NULL ? timeout_text : "60");
	}
	success = retcode >= 0 && retcode < 32 &&
	    (success_mask & (1u << retcode)) != 0;
	std_level = success ? WLOG_DEBUG : WLOG_ERROR;
	if (!exec_logged)
		wlog(success ? WLOG_DEBUG - 1 : WLOG_ERROR, "fail2ban.utils",
		    "%lx -- exec: %s", id, sbuf_str(&cmd));
	if (wlog_enabled(std_level)) {
		log_lines(std_level, id, "stdout", r->out, r->out_len);
		if (r->out_lost)
			wlog(std_level, "fail2ban.utils",
			    "%lx -- stdout: (%zu more bytes not kept)", id,
			    r->out_lost);
		log_lines(std_level, id, "stderr", r->err, r->err_len);
		if (r->err_lost)
			wlog(std_level, "fail2ban.utils",
			    "%lx -- stderr: (%zu more bytes not kept)", id,
			    r->err_lost);
	}
	if (success) {
		wlog(WLOG_DEBUG, "fail2ban.utils",
		    "%lx -- returned successfully %ld", id, retcode);
	} else if (retcode < 0 || retcode > 128) {
		int sig = retcode < 0 ? (int)-retcode : (int)(retcode - 128);
		const char *name = py_signame(sig);

		if (name != NULL)
			wlog(WLOG_ERROR, "fail2ban.utils",
			    "%lx -- killed with %s (return code: %ld)", id,
			    name, retcode);
		else
			wlog(WLOG_ERROR, "fail2ban.utils",
			    "%lx -- killed with signal %d (return code: %ld)",
			    id, sig, retcode);
	} else {
		wlog(WLOG_ERROR, "fail2ban.utils", "%lx -- returned %ld", id,
		    retcode);
		if (retcode == 127) {
			struct sbuf rr = SBUF_INIT;

			if (nargs == 0)
				beautify_repr_str(&rr, cmd.s, cmd.len);
			else
				sbuf_add(&rr, cmd.s, cmd.len);
			wlog(WLOG_INFO, "fail2ban.utils",
			    "HINT on 127: \"Command not found\".  Make sure "
			    "that all commands in %s are in the PATH of "
			    "fail2ban-server process (grep -a PATH= "
			    "/proc/`pidof -x fail2ban-server`/environ). You "
			    "may want to start \"fail2ban-server -f\" "
			    "separately, initiate it with \"fail2ban-client "
			    "reload\" in another shell session and observe "
			    "if additional informative error messages appear "
			    "in the terminals.",
			    sbuf_str(&rr));
			sbuf_cleanup(&rr);
		}
	}
	sbuf_cleanup(&cmd);
	return success;
}
