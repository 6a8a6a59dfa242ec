/*
 * The recording backend (`warden_backend = record`): an action that runs
 * no command and appends one line per ticket to a file instead,
 * "ban ADDR" and "unban ADDR" (ADDR the address, or the id text of a raw
 * id), the lines a `echo "ban <ip>" >> FILE` action would write. Tests
 * and benchmarks use it to see the daemon's own cost of a ban, without
 * the cost of starting a shell per ban:
 *
 *   [Definition]
 *   actionban =
 *   actionunban =
 *   [Init]
 *   warden_backend = record
 *   recordfile = /tmp/rec
 *
 * A batch is one write(2) to the file (opened O_APPEND per batch, created
 * 0600), so a reader sees whole lines. reban and prolong write "ban ADDR"
 * again; start, stop, flush, check and reload write nothing (flush and
 * stop succeed: the queue then logs the unbans as usual). A write error
 * fails the batch with the error text. Completion callbacks run from the
 * loop (a zero timer), never from inside the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action.h"
#include "sbuf.h"
#include "xmalloc.h"

struct recact {
	struct action *a;
	char *path;      /* owned */
	uv_timer_t *tmr; /* owned, freed by its close callback */
	action_done_cb cb;
	void *cbarg;
	int rc;
};

static void
done_cb(uv_timer_t *t)
{
	struct recact *r = t->data;
	action_done_cb cb = r->cb;

	r->cb = NULL;
	if (cb != NULL)
		cb(r->cbarg, r->rc);
}

/* Calls cb(arg, rc) from the loop. */
static void
complete(struct recact *r, int rc, action_done_cb cb, void *arg)
{
	r->cb = cb;
	r->cbarg = arg;
	r->rc = rc;
	uv_timer_start(r->tmr, done_cb, 0, 0);
}

static int
rec_init(
    struct action *a, const struct conf_action *c, char *err, size_t errlen)
{
	const char *path = conf_kv_get(&c->props, "recordfile");
	struct recact *r;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "the record backend needs recordfile");
		return -1;
	}
	r = xcalloc(1, sizeof(*r));
	r->a = a;
	r->path = xstrdup(path);
	r->tmr = xcalloc(1, sizeof(*r->tmr));
	uv_timer_init(a->env->loop, r->tmr);
	r->tmr->data = r;
	a->priv = r;
	return 0;
}

static void
close_free(uv_handle_t *h)
{
	free(h);
}

static void
rec_destroy(struct action *a)
{
	struct recact *r = a->priv;

	if (r == NULL)
		return;
	uv_close((uv_handle_t *)r->tmr, close_free);
	free(r->path);
	free(r);
	a->priv = NULL;
}

static void
rec_nothing(struct action *a, action_done_cb cb, void *arg)
{
	complete(a->priv, 0, cb, arg);
}

static bool
rec_has_flush(struct action *a)
{
	(void)a;
	return false;
}

static void
rec_flush(struct action *a, bool stop, action_done_cb cb, void *arg)
{
	(void)stop;
	complete(a->priv, 0, cb, arg);
}

/* Appends "WHAT ADDR\n" per ticket in one write. */
static void
rec_write(struct action *a, const char *what, const struct action_ticket *t,
    size_t n, action_done_cb cb, void *arg)
{
	struct recact *r = a->priv;
	struct sbuf b = SBUF_INIT;
	int fd, rc = 0;

	for (size_t i = 0; i < n; i++) {
		char buf[FKEY_STRLEN];

		sbuf_addstr(&b, what);
		sbuf_addch(&b, ' ');
		if (t[i].has_addr)
			sbuf_addstr(&b, addr_format(&t[i].addr, buf));
		else
			sbuf_addstr(&b, fkey_format(&t[i].key, buf));
		sbuf_addch(&b, '\n');
	}
	fd = open(r->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -1;
	} else {
		size_t off = 0;

		while (off < b.len) {
			ssize_t w = write(fd, b.s + off, b.len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = -1;
				break;
			}
			off += (size_t)w;
		}
		close(fd);
	}
	if (rc < 0) {
		char e[256];

		snprintf(e, sizeof(e), "%s: %s", r->path, strerror(errno));
		action_log_failure(a, what, n > 0 ? "batch" : "", e);
	}
	sbuf_cleanup(&b);
	complete(r, rc, cb, arg);
}

static void
rec_ban(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	rec_write(a, "ban", t, n, cb, arg);
}

static void
rec_unban(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	rec_write(a, "unban", t, n, cb, arg);
}

static bool
rec_prolongable(struct action *a)
{
	(void)a;
	return false;
}

static void
rec_reload(
    struct action *a, const struct conf_action *c, action_done_cb cb, void *arg)
{
	struct recact *r = a->priv;
	const char *path = conf_kv_get(&c->props, "recordfile");

	if (path != NULL && *path != '\0') {
		free(r->path);
		r->path = xstrdup(path);
	}
	complete(r, 0, cb, arg);
}

static void
rec_cancel(struct action *a)
{
	(void)a; /* nothing runs for long: the callback comes anyway */
}

static bool
rec_uses_matches(struct action *a)
{
	(void)a; /* only the address is written */
	return false;
}

const struct action_ops action_rec_ops = {
    .name = "record",
    .init = rec_init,
    .destroy = rec_destroy,
    .start = rec_nothing,
    .stop = rec_nothing,
    .has_flush = rec_has_flush,
    .flush = rec_flush,
    .ban = rec_ban,
    .reban = rec_ban,
    .unban = rec_unban,
    .prolongable = rec_prolongable,
    .prolong = rec_ban,
    .reload = rec_reload,
    .check = rec_nothing,
    .cancel = rec_cancel,
    .uses_matches = rec_uses_matches,
};
