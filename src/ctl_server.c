/*
 * wardend's control socket server (see ctl_server.h): accepts Unix-socket
 * clients in the libuv loop, checks SO_PEERCRED, reads capped frames,
 * hands requests to the daemon's handler and writes its replies. Each
 * connection has one timer whose deadline depends on its state (idle,
 * partial frame, reply being written); while its request is with the
 * handler a connection neither reads nor times out.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_server.h"
#include "sbuf.h"
#include "xmalloc.h"

#define DEF_MAX_CLIENTS 64
#define DEF_IDLE_MS     30000
#define DEF_FRAME_MS    10000
#define DEF_WRITE_MS    30000
#define BUSY_SLACK      8 /* extra connections allowed to say "busy" */
#define FIRST_CHUNK     4096
#define MAX_PEER_GROUPS 256

enum conn_state {
	CONN_READING, /* waiting for (the rest of) a request */
	CONN_PENDING, /* the handler has the request */
	CONN_WRITING, /* the reply is queued */
	CONN_CLOSING, /* handles closing; freed when both are closed */
};

struct ctl_conn {
	uv_pipe_t pipe; /* pipe.data and timer.data point back here */
	uv_timer_t timer;
	struct ctl_server *srv;
	struct ctl_conn *prev, *next;
	enum conn_state state;
	bool reading;     /* uv_read_start is active */
	bool close_after; /* close once the queued reply is written */
	int open_handles; /* pipe + timer until their close callbacks */
	uint8_t *buf;     /* read buffer; len <= cap <= HDR + max_request */
	size_t len, cap;
	uint64_t last_active_ms; /* uv_now of the last byte or reply */
	uint64_t frame_start_ms; /* uv_now of the first byte of buf */
	uint64_t write_start_ms;
	uv_write_t wreq;
	uint8_t *wbuf; /* owned while a write is queued */
	struct ctl_peer peer;
	struct ctl_reply *pending; /* token while CONN_PENDING */
};

struct ctl_reply {
	struct ctl_conn *conn; /* NULL once the connection is gone */
	struct ctl_request req;
	struct ctl_peer peer;
};

struct ctl_server {
	uv_loop_t *loop;
	uv_pipe_t listener;
	bool listener_open;
	bool freeing;
	char *path;
	dev_t sock_dev; /* the socket file we created, to unlink only it */
	ino_t sock_ino;
	bool ro_group;
	gid_t ro_gid;
	uid_t owner_uid;
	size_t max_request;
	unsigned max_clients;
	uint64_t idle_ms, frame_ms, write_ms;
	ctl_handler_fn fn;
	void *arg;
	struct ctl_conn *conns; /* open ones, doubly linked, newest first */
	unsigned nalloc;        /* connections not yet freed (closing too) */
	struct ctl_server_stats st;
};

static void conn_close(struct ctl_conn *c);
static void conn_process(struct ctl_conn *c);

static void
maybe_free_server(struct ctl_server *s)
{
	if (s->freeing && !s->listener_open && s->nalloc == 0) {
		free(s->path);
		free(s);
	}
}

static void
conn_handle_closed(uv_handle_t *h)
{
	struct ctl_conn *c = h->data;
	struct ctl_server *s = c->srv;

	if (--c->open_handles > 0)
		return;
	free(c->wbuf);
	free(c);
	s->nalloc--;
	maybe_free_server(s);
}

static void
conn_timeout(uv_timer_t *t)
{
	struct ctl_conn *c = t->data;

	c->srv->st.timeouts++;
	conn_close(c);
}

/* (Re)arms the connection's timer for its current state. */
static void
conn_arm(struct ctl_conn *c)
{
	struct ctl_server *s = c->srv;
	uint64_t now = uv_now(s->loop), deadline;

	switch (c->state) {
	case CONN_READING:
		deadline = c->len > 0 ? c->frame_start_ms + s->frame_ms
		                      : c->last_active_ms + s->idle_ms;
		break;
	case CONN_WRITING:
		deadline = c->write_start_ms + s->write_ms;
		break;
	default:
		uv_timer_stop(&c->timer);
		return;
	}
	uv_timer_start(
	    &c->timer, conn_timeout, deadline > now ? deadline - now : 0, 0);
}


static void
set_buffered(struct ctl_conn *c, size_t newlen)
{
	struct ctl_server *s = c->srv;

	s->st.buffered = s->st.buffered - c->len + newlen;
	if (s->st.buffered > s->st.buffered_max)
		s->st.buffered_max = s->st.buffered;
	c->len = newlen;
}

static void
conn_close(struct ctl_conn *c)
{
	struct ctl_server *s = c->srv;

	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	if (c->pending != NULL) {
		c->pending->conn = NULL;
		c->pending = NULL;
	}
	set_buffered(c, 0);
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void
conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct ctl_conn *c = h->data;
	size_t limit = CTL_HDR_LEN + c->srv->max_request, want, plen = 0;

	(void)suggested;
	/* Room for the whole frame once its length is known, else a first
	 * chunk, doubled when full; never more than one maximal frame. */
	want = c->cap ? c->cap : FIRST_CHUNK;
	if (c->len >= CTL_HDR_LEN) {
		ctl_frame_parse(c->buf, c->len, c->srv->max_request, &plen);
		if (plen <= c->srv->max_request && CTL_HDR_LEN + plen > want)
			want = CTL_HDR_LEN + plen;
	}
	if (c->len >= want)
		want = c->len * 2;
	if (want > limit)
		want = limit;
	if (want > c->cap) {
		c->buf = xreallocarray(c->buf, want, 1);
		c->cap = want;
	}
	b->base = (char *)c->buf + c->len;
	b->len = c->cap - c->len;
}

static void
conn_write_done(uv_write_t *w, int status)
{
	struct ctl_conn *c = w->data;

	free(c->wbuf);
	c->wbuf = NULL;
	if (c->state == CONN_CLOSING)
		return;
	if (status < 0 || c->close_after) {
		conn_close(c);
		return;
	}
	c->state = CONN_READING;
	c->last_active_ms = uv_now(c->srv->loop);
	conn_process(c);
}

/* Queues a whole frame (taken) and moves to CONN_WRITING. */
static void
conn_send(struct ctl_conn *c, uint8_t *frame, size_t len, bool close_after)
{
	uv_buf_t b = uv_buf_init((char *)frame, (unsigned)len);

	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	}
	c->state = CONN_WRITING;
	c->close_after = close_after;
	c->wbuf = frame;
	c->write_start_ms = uv_now(c->srv->loop);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &b, 1,
	        conn_write_done) != 0) {
		free(c->wbuf);
		c->wbuf = NULL;
		conn_close(c);
		return;
	}
	conn_arm(c);
}

static void
conn_send_error(
    struct ctl_conn *c, const char *type, const char *msg, bool close_after)
{
	size_t len;
	uint8_t *f = ctl_response_error(type, msg, &len);

	conn_send(c, f, len, close_after);
}

static void
conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct ctl_conn *c = st->data;
	uint64_t now;

	(void)b;
	if (c->state != CONN_READING)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	now = uv_now(c->srv->loop);
	if (c->len == 0)
		c->frame_start_ms = now;
	c->last_active_ms = now;
	set_buffered(c, c->len + (size_t)nread);
	conn_process(c);
}

/* Handles every complete frame in the buffer while the state allows. */
static void
conn_process(struct ctl_conn *c)
{
	struct ctl_server *s = c->srv;

	while (c->state == CONN_READING) {
		struct ctl_request req;
		struct ctl_reply *r;
		const char *etype;
		char err[256];
		size_t plen, flen;
		enum ctl_frame_status fs =
		    ctl_frame_parse(c->buf, c->len, s->max_request, &plen);

		if (fs == CTL_FRAME_INCOMPLETE) {
			if (c->len == 0 && c->cap > FIRST_CHUNK) {
				/* Idle: give big buffers back. */
				free(c->buf);
				c->buf = NULL;
				c->cap = 0;
			}
			if (!c->reading) {
				if (uv_read_start((uv_stream_t *)&c->pipe,
				        conn_alloc, conn_read) != 0) {
					conn_close(c);
					return;
				}
				c->reading = true;
			}
			conn_arm(c);
			return;
		}
		if (fs == CTL_FRAME_TOOBIG) {
			s->st.proto_errors++;
			snprintf(err, sizeof(err),
			    "request too large (%zu bytes, max %zu)", plen,
			    s->max_request);
			conn_send_error(c, CTL_ERR_PROTOCOL, err, true);
			return;
		}
		flen = CTL_HDR_LEN + plen;
		if (ctl_request_decode((const char *)c->buf + CTL_HDR_LEN, plen,
		        &req, &etype, err, sizeof(err)) != 0) {
			s->st.proto_errors++;
			conn_send_error(c, etype, err, true);
			return;
		}
		memmove(c->buf, c->buf + flen, c->len - flen);
		set_buffered(c, c->len - flen);
		c->frame_start_ms = uv_now(s->loop);
		if (req.argc == 0) {
			ctl_request_cleanup(&req);
			conn_send_error(
			    c, CTL_ERR_INDEX, "list index out of range", false);
			return;
		}
		if (c->peer.readonly && !ctl_command_readonly(req.argv[0])) {
			s->st.denied++;
			snprintf(err, sizeof(err),
			    "Permission denied: '%.64s' needs root (read-only "
			    "access allows status, ping, version, get, banned)",
			    req.argv[0]);
			ctl_request_cleanup(&req);
			conn_send_error(c, CTL_ERR_PERMISSION, err, false);
			return;
		}
		if (c->reading) {
			uv_read_stop((uv_stream_t *)&c->pipe);
			c->reading = false;
		}
		r = xcalloc(1, sizeof(*r));
		r->conn = c;
		r->req = req;
		r->peer = c->peer;
		c->pending = r;
		c->state = CONN_PENDING;
		conn_arm(c);
		s->st.requests++;
		s->fn(s->arg, r, r->req.argc, r->req.argv, &r->peer);
	}
}

static void
reply_free(struct ctl_reply *r)
{
	ctl_request_cleanup(&r->req);
	free(r);
}

void
ctl_reply_ok(struct ctl_reply *r, json_t *result)
{
	struct ctl_conn *c = r->conn;

	if (c != NULL) {
		size_t len;
		uint8_t *f = ctl_response_ok(result, &len);

		c->pending = NULL;
		c->last_active_ms = uv_now(c->srv->loop);
		conn_send(c, f, len, false);
	} else {
		json_decref(result);
	}
	reply_free(r);
}

void
ctl_reply_error(struct ctl_reply *r, const char *type, const char *fmt, ...)
{
	struct ctl_conn *c = r->conn;

	if (c != NULL) {
		struct sbuf b = SBUF_INIT;
		va_list ap;

		va_start(ap, fmt);
		sbuf_vprintf(&b, fmt, ap);
		va_end(ap);
		c->pending = NULL;
		c->last_active_ms = uv_now(c->srv->loop);
		conn_send_error(c, type, sbuf_str(&b), false);
		sbuf_cleanup(&b);
	}
	reply_free(r);
}

bool
ctl_reply_connected(const struct ctl_reply *r)
{
	return r->conn != NULL;
}

/* True when the peer's primary or supplementary groups include gid. */
static bool
peer_in_group(int fd, gid_t primary, gid_t gid)
{
	if (primary == gid)
		return true;
#ifdef SO_PEERGROUPS
	{
		gid_t groups[MAX_PEER_GROUPS];
		socklen_t len = sizeof(groups);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) ==
		    0)
			for (size_t i = 0; i < len / sizeof(gid_t); i++)
				if (groups[i] == gid)
					return true;
	}
#else
	(void)fd;
#endif
	return false;
}

/* The connection to give up for the new one (not itself): the READING
 * one waiting the longest (idle since, or partial frame since), or NULL. */
static struct ctl_conn *
pick_victim(struct ctl_server *s, const struct ctl_conn *newc)
{
	struct ctl_conn *best = NULL;
	uint64_t best_t = 0;

	for (struct ctl_conn *c = s->conns; c; c = c->next) {
		uint64_t t;

		if (c->state != CONN_READING || c == newc)
			continue;
		t = c->len > 0 ? c->frame_start_ms : c->last_active_ms;
		if (best == NULL || t < best_t) {
			best = c;
			best_t = t;
		}
	}
	return best;
}

static void
on_connection(uv_stream_t *ls, int status)
{
	struct ctl_server *s = ls->data;
	struct ctl_conn *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	uv_os_fd_t fd;
	unsigned live = 0;

	if (status < 0 || s->freeing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	uv_pipe_init(s->loop, &c->pipe, 0);
	uv_timer_init(s->loop, &c->timer);
	c->pipe.data = c;
	c->timer.data = c;
	c->open_handles = 2;
	c->state = CONN_READING;
	c->last_active_ms = uv_now(s->loop);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nalloc++;
	if (uv_accept(ls, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	s->st.accepted++;
	for (struct ctl_conn *o = s->conns; o; o = o->next)
		live++;
	if (live > s->max_clients + BUSY_SLACK) {
		/* Flooded: not even a reply. */
		s->st.rejected_busy++;
		conn_close(c);
		return;
	}
	/* Strangers first, so that they can never evict a legitimate
	 * client; their refusal is on its way out (not evictable). */
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
		s->st.denied++;
		conn_send_error(c, CTL_ERR_PERMISSION,
		    "Permission denied: peer credentials unavailable", true);
		return;
	}
	c->peer.pid = cred.pid;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	if (cred.uid != 0 && cred.uid != s->owner_uid) {
		if (s->ro_group && peer_in_group(fd, cred.gid, s->ro_gid)) {
			c->peer.readonly = true;
		} else {
			char msg[128];

			s->st.denied++;
			snprintf(msg, sizeof(msg),
			    "Permission denied: uid %u may not use the "
			    "control socket",
			    (unsigned)cred.uid);
			conn_send_error(c, CTL_ERR_PERMISSION, msg, true);
			return;
		}
	}
	if (live > s->max_clients) {
		struct ctl_conn *v = pick_victim(s, c);

		if (v == NULL) {
			s->st.rejected_busy++;
			conn_send_error(c, CTL_ERR_BUSY,
			    "too many control connections; try again", true);
			return;
		}
		s->st.evicted++;
		conn_close(v);
	}
	conn_process(c);
}

static void
listener_closed(uv_handle_t *h)
{
	struct ctl_server *s = h->data;

	s->listener_open = false;
	maybe_free_server(s);
}

/* mkdir of the socket's directory (last level only). */
static void
make_parent(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		/* The daemon runs under umask 077; a directory we create
		 * must still let a read-only group reach the socket inside
		 * (the socket's own mode guards it). An existing directory
		 * keeps the admin's mode. Failures: bind() reports them. */
		if (mkdir(dir, 0755) == 0)
			(void)chmod(dir, 0755);
	}
	free(dir);
}

/* Something listens at path (connect succeeds). */
static bool
socket_alive(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return alive;
}

int
ctl_server_new(uv_loop_t *loop, const struct ctl_server_opts *o,
    ctl_handler_fn fn, void *arg, struct ctl_server **out, char *err,
    size_t errlen)
{
	struct ctl_server *s;
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd = -1, rc;

	*out = NULL;
	if (o->path == NULL || o->path[0] == '\0' ||
	    strlen(o->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s%s",
		    o->path ? o->path : "",
		    o->path && o->path[0] ? " is too long" : "is empty");
		return -1;
	}
	make_parent(o->path);
	if (lstat(o->path, &st) == 0) {
		if (!o->force) {
			if (socket_alive(o->path))
				snprintf(err, errlen,
				    "%s: a server is already running there",
				    o->path);
			else
				snprintf(err, errlen,
				    "%s exists but nothing answers there (a "
				    "stale socket?); remove it or use -x",
				    o->path);
			return -1;
		}
		if (unlink(o->path) != 0) {
			snprintf(err, errlen, "cannot remove %s: %s", o->path,
			    strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, o->path, strlen(o->path) + 1);
	/* umask closes the window between bind() and chmod(). */
	old = umask(0077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "cannot bind %s: %s", o->path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if ((o->ro_group && chown(o->path, (uid_t)-1, o->ro_gid) != 0) ||
	    chmod(o->path, o->ro_group ? 0660 : 0600) != 0 ||
	    stat(o->path, &st) != 0 || listen(fd, 128) != 0) {
		snprintf(err, errlen, "cannot set up %s: %s", o->path,
		    strerror(errno));
		close(fd);
		unlink(o->path);
		return -1;
	}
	/* A client that hangs up must not kill the daemon with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->path = xstrdup(o->path);
	s->sock_dev = st.st_dev;
	s->sock_ino = st.st_ino;
	s->ro_group = o->ro_group;
	s->ro_gid = o->ro_gid;
	s->owner_uid = geteuid();
	s->max_request = o->max_request ? o->max_request : CTL_MAX_REQUEST;
	if (s->max_request > UINT32_MAX)
		s->max_request = UINT32_MAX;
	s->max_clients = o->max_clients ? o->max_clients : DEF_MAX_CLIENTS;
	s->idle_ms = o->idle_timeout_ms ? o->idle_timeout_ms : DEF_IDLE_MS;
	s->frame_ms = o->frame_timeout_ms ? o->frame_timeout_ms : DEF_FRAME_MS;
	s->write_ms = o->write_timeout_ms ? o->write_timeout_ms : DEF_WRITE_MS;
	s->fn = fn;
	s->arg = arg;
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;
	s->listener_open = true;
	rc = uv_pipe_open(&s->listener, fd);
	if (rc != 0) {
		close(fd);
	} else {
		fd = -1; /* the pipe owns it now */
		rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->path,
		    uv_strerror(rc));
		ctl_server_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void
ctl_server_free(struct ctl_server *s)
{
	struct stat st;

	if (s == NULL || s->freeing)
		return;
	s->freeing = true;
	/* Unlink only the socket we created, not a successor's. */
	if (lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev &&
	    st.st_ino == s->sock_ino)
		unlink(s->path);
	while (s->conns != NULL)
		conn_close(s->conns);
	uv_close((uv_handle_t *)&s->listener, listener_closed);
}

void
ctl_server_get_stats(const struct ctl_server *s, struct ctl_server_stats *st)
{
	unsigned n = 0;

	*st = s->st;
	for (const struct ctl_conn *c = s->conns; c; c = c->next)
		n++;
	st->nconns = n;
}

int
ctl_server_gid(const char *group, gid_t *gid)
{
	struct group *g;
	char *end;
	unsigned long v;

	if (group == NULL || group[0] == '\0')
		return -1;
	errno = 0;
	v = strtoul(group, &end, 10);
	if (*end == '\0' && errno == 0 && v <= (gid_t)-1 - 1) {
		*gid = (gid_t)v;
		return 0;
	}
	g = getgrnam(group);
	if (g == NULL)
		return -1;
	*gid = g->gr_gid;
	return 0;
}
