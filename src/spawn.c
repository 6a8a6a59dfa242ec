/*
 * spawn: one `/bin/sh -c` child in the libuv loop with captured output and
 * a timeout (see spawn.h). A spawn owns a uv_process_t, two pipes and two
 * timers; it completes when the shell has been reaped and both pipes have
 * reached EOF (or the drain delay after the exit has passed), and, after a
 * timeout, once the SIGKILL has been sent to the group. Then the callback
 * runs and every handle is closed; the struct is freed by the last close
 * callback.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "beautify.h"
#include "log.h"
#include "sbuf.h"
#include "spawn.h"
#include "xmalloc.h"

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
	uv_process_t proc;
	struct spawn_stream out, err;
	uv_timer_t tmo;   /* timeout, then the SIGKILL delay */
	uv_timer_t drain; /* output drain after the exit; also defers the
	                     callback of a failed start */
	spawn_cb cb;
	void *arg;
	int nopen; /* handles not yet closed */
	int spawn_error;
	long pid;
	bool started; /* uv_spawn succeeded */
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

static void
exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct spawn *s = p->data;

	s->exited = true;
	s->exit_status = status;
	s->term_signal = sig;
	if (!s->kill_pending)
		uv_timer_stop(&s->tmo);
	if (!(s->out.eof && s->err.eof))
		uv_timer_start(&s->drain, drain_cb, SPAWN_DRAIN_MS, 0);
	spawn_maybe_finish(s);
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

	close_handle(s, (uv_handle_t *)&s->proc);
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

struct spawn *
spawn_run(uv_loop_t *loop, const char *script, const char *const *args,
    size_t nargs, const struct spawn_opts *opts, spawn_cb cb, void *arg)
{
	struct spawn *s = xcalloc(1, sizeof(*s));
	struct spawn_opts o = {0};
	uv_process_options_t po;
	uv_stdio_container_t stdio[3];
	char **argv;
	int rc;

	if (opts != NULL)
		o = *opts;
	s->loop = loop;
	s->cb = cb;
	s->arg = arg;
	s->out.cap = o.out_cap ? o.out_cap : SPAWN_OUT_CAP_DEFAULT;
	s->err.cap = o.err_cap ? o.err_cap : SPAWN_OUT_CAP_DEFAULT;
	uv_update_time(loop);
	s->start_ms = uv_now(loop);

	uv_pipe_init(loop, &s->out.pipe, 0);
	uv_pipe_init(loop, &s->err.pipe, 0);
	uv_timer_init(loop, &s->tmo);
	uv_timer_init(loop, &s->drain);
	s->out.pipe.data = s;
	s->err.pipe.data = s;
	s->tmo.data = s;
	s->drain.data = s;
	s->proc.data = s;
	s->nopen = 5;

	argv = xcalloc(nargs + 4, sizeof(*argv));
	argv[0] = (char *)(o.shell != NULL ? o.shell : "/bin/sh");
	argv[1] = (char *)"-c";
	argv[2] = (char *)script;
	for (size_t i = 0; i < nargs; i++)
		argv[3 + i] = (char *)args[i];

	memset(&po, 0, sizeof(po));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_IGNORE; /* libuv gives the child /dev/null */
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&s->out.pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&s->err.pipe;
	po.file = argv[0];
	po.args = argv;
	po.env = o.env;
	po.cwd = o.cwd;
	po.flags = UV_PROCESS_DETACHED; /* setsid(): own session and group */
	po.stdio_count = 3;
	po.stdio = stdio;
	po.exit_cb = exit_cb;

	rc = uv_spawn(loop, &s->proc, &po);
	free(argv);
	if (rc < 0) {
		/* The process handle is initialised even on failure and is
		 * closed with the others; report from the loop. */
		s->spawn_error = rc;
		s->out.eof = s->err.eof = true;
		uv_timer_start(&s->drain, failed_start_cb, 0, 0);
		return s;
	}
	s->started = true;
	s->pid = s->proc.pid;
	if (uv_read_start((uv_stream_t *)&s->out.pipe, alloc_cb, read_cb) == 0)
		s->out.reading = true;
	else
		s->out.eof = true;
	if (uv_read_start((uv_stream_t *)&s->err.pipe, alloc_cb, read_cb) == 0)
		s->err.reading = true;
	else
		s->err.eof = true;
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
