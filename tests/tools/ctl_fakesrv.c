/*
 * A stand-in for wardend in tests: serves the control socket (ctl_server)
 * with canned replies, so the `warden` client can be tested end to end
 * before the daemon exists. Accepts wardend's start options (-c -s -p -x
 * -b -f --loglevel ...), so `warden start` can launch it as "wardend".
 *
 *   ctl_fakesrv -s SOCK [-p PIDFILE] [-b|-f] [-x] [--canned FILE]
 *       [--log FILE] [--ro-group GROUP] [--delay-ms N] [--max-clients N]
 *
 * --canned FILE: a JSON object mapping "argv joined by spaces" (or "*")
 * to a reply object {"ok":true,"result":...} or {"ok":false,"error":
 * {"type":...,"message":...}}. Built in: ping -> "pong", version,
 * server-status -> "Server ready", echo, stop -> null and exit.
 * --log FILE: appends each request's argv as a JSON line. --delay-ms:
 * reply from a timer (the async handler path). FAKESRV_FAIL=N in the
 * environment: exit N at once (a daemon that fails to start).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "ctl.h"
#include "ctl_server.h"
#include "sbuf.h"
#include "xmalloc.h"

struct fake {
	uv_loop_t *loop;
	struct ctl_server *srv;
	json_t *canned;
	const char *logpath;
	const char *pidfile;
	unsigned delay_ms;
	uv_timer_t stop_timer;
	uv_signal_t sigterm;
};

struct delayed {
	uv_timer_t t;
	struct ctl_reply *reply;
	json_t *answer; /* {"ok":...} */
};

static void
send_answer(struct ctl_reply *r, const json_t *a)
{
	if (json_is_true(json_object_get(a, "ok"))) {
		json_t *res = json_object_get(a, "result");

		ctl_reply_ok(r, res ? json_incref(res) : NULL);
	} else {
		const json_t *e = json_object_get(a, "error");
		const char *t = json_string_value(json_object_get(e, "type"));
		const char *m =
		    json_string_value(json_object_get(e, "message"));

		ctl_reply_error(r, t ? t : "Exception", "%s", m ? m : "error");
	}
}

static void
delayed_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
delayed_fire(uv_timer_t *t)
{
	struct delayed *d = t->data;

	send_answer(d->reply, d->answer);
	json_decref(d->answer);
	uv_close((uv_handle_t *)&d->t, delayed_closed);
}

static void
shutdown_now(struct fake *f)
{
	ctl_server_free(f->srv);
	f->srv = NULL;
	if (f->pidfile)
		unlink(f->pidfile);
	uv_close((uv_handle_t *)&f->stop_timer, NULL);
	uv_close((uv_handle_t *)&f->sigterm, NULL);
}

static void
stop_fire(uv_timer_t *t)
{
	shutdown_now(t->data);
}

static void
on_sigterm(uv_signal_t *s, int sig)
{
	(void)sig;
	shutdown_now(s->data);
}

static void
handler(void *arg, struct ctl_reply *r, int argc, char **argv,
    const struct ctl_peer *peer)
{
	struct fake *f = arg;
	struct sbuf key = SBUF_INIT;
	json_t *answer = NULL;

	(void)peer;
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			sbuf_addch(&key, ' ');
		sbuf_addstr(&key, argv[i]);
	}
	if (f->logpath) {
		FILE *fp = fopen(f->logpath, "a");
		json_t *a = json_array();

		for (int i = 0; i < argc; i++)
			json_array_append_new(
			    a, ctl_json_string(argv[i], strlen(argv[i])));
		if (fp) {
			char *s = json_dumps(a, JSON_COMPACT);

			fprintf(fp, "%s\n", s);
			free(s);
			fclose(fp);
		}
		json_decref(a);
	}
	if (f->canned)
		answer = json_object_get(f->canned, sbuf_str(&key));
	if (answer != NULL) {
		json_incref(answer);
	} else if (strcmp(argv[0], "ping") == 0) {
		answer = json_pack("{s:b, s:s}", "ok", 1, "result", "pong");
	} else if (strcmp(argv[0], "version") == 0) {
		answer = json_pack("{s:b, s:s}", "ok", 1, "result", "0.1.0");
	} else if (strcmp(argv[0], "server-status") == 0) {
		answer =
		    json_pack("{s:b, s:s}", "ok", 1, "result", "Server ready");
	} else if (strcmp(argv[0], "echo") == 0) {
		json_t *l = json_array();

		for (int i = 1; i < argc; i++)
			json_array_append_new(l, json_string(argv[i]));
		answer = json_pack("{s:b, s:o}", "ok", 1, "result", l);
	} else if (strcmp(argv[0], "stop") == 0 && argc == 1) {
		answer = json_pack("{s:b, s:n}", "ok", 1, "result");
		uv_timer_start(&f->stop_timer, stop_fire, 50, 0);
	} else if (f->canned && json_object_get(f->canned, "*")) {
		answer = json_incref(json_object_get(f->canned, "*"));
	} else {
		answer = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error",
		    "type", "Exception", "message", "Invalid command");
	}
	sbuf_cleanup(&key);
	if (f->delay_ms > 0) {
		struct delayed *d = xcalloc(1, sizeof(*d));

		d->reply = r;
		d->answer = answer;
		uv_timer_init(f->loop, &d->t);
		d->t.data = d;
		uv_timer_start(&d->t, delayed_fire, f->delay_ms, 0);
		return;
	}
	send_answer(r, answer);
	json_decref(answer);
}

static void
usage_exit(void)
{
	fprintf(stderr,
	    "usage: ctl_fakesrv -s SOCK [-p PID] [-b|-f] [-x] "
	    "[--canned FILE] [--log FILE] [--ro-group G] "
	    "[--delay-ms N] [--max-clients N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct ctl_server_opts o = {0};
	struct fake f = {0};
	const char *canned = NULL, *rogroup = NULL, *env;
	bool background = false;
	char err[512];

	env = getenv("FAKESRV_FAIL");
	if (env != NULL && env[0] != '\0') {
		fprintf(stderr, "ctl_fakesrv: failing on purpose\n");
		return (int)strtol(env, NULL, 10);
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-x") == 0)
			o.force = true;
		else if (strcmp(a, "-b") == 0)
			background = true;
		else if (strcmp(a, "-f") == 0)
			background = false;
		else if (v == NULL)
			usage_exit();
		else if (strcmp(a, "-s") == 0)
			o.path = argv[++i];
		else if (strcmp(a, "-p") == 0)
			f.pidfile = argv[++i];
		else if (strcmp(a, "--canned") == 0)
			canned = argv[++i];
		else if (strcmp(a, "--log") == 0)
			f.logpath = argv[++i];
		else if (strcmp(a, "--ro-group") == 0)
			rogroup = argv[++i];
		else if (strcmp(a, "--delay-ms") == 0)
			f.delay_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--max-clients") == 0)
			o.max_clients = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "-c") == 0 || strcmp(a, "--loglevel") == 0 ||
		    strcmp(a, "--logtarget") == 0 ||
		    strcmp(a, "--syslogsocket") == 0 ||
		    strcmp(a, "--pname") == 0)
			i++;
		else
			usage_exit();
	}
	if (o.path == NULL)
		usage_exit();
	if (canned) {
		json_error_t je;

		f.canned = json_load_file(canned, 0, &je);
		if (f.canned == NULL) {
			fprintf(stderr, "ctl_fakesrv: %s:%d: %s\n", canned,
			    je.line, je.text);
			return 2;
		}
	}
	if (rogroup) {
		if (ctl_server_gid(rogroup, &o.ro_gid) != 0) {
			fprintf(stderr, "ctl_fakesrv: no group %s\n", rogroup);
			return 2;
		}
		o.ro_group = true;
	}
	if (background) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid > 0)
			return 0;
		setsid();
		/* A daemon lets go of the terminal (and of $(...) pipes). */
		{
			int fd = open("/dev/null", O_RDWR);

			if (fd >= 0) {
				dup2(fd, 0);
				dup2(fd, 1);
				dup2(fd, 2);
				if (fd > 2)
					close(fd);
			}
		}
	}
	f.loop = uv_default_loop();
	if (ctl_server_new(f.loop, &o, handler, &f, &f.srv, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "ctl_fakesrv: %s\n", err);
		return 1;
	}
	if (f.pidfile) {
		FILE *fp = fopen(f.pidfile, "w");

		if (fp) {
			fprintf(fp, "%d\n", (int)getpid());
			fclose(fp);
		}
	}
	uv_timer_init(f.loop, &f.stop_timer);
	f.stop_timer.data = &f;
	uv_signal_init(f.loop, &f.sigterm);
	f.sigterm.data = &f;
	uv_signal_start(&f.sigterm, on_sigterm, SIGTERM);
	uv_run(f.loop, UV_RUN_DEFAULT);
	uv_loop_close(f.loop);
	json_decref(f.canned);
	return 0;
}
