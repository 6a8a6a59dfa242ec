/*
 * wardend's control socket: a Unix stream socket served from the daemon's
 * libuv loop. It accepts clients, checks their peer credentials, reads
 * framed requests (ctl.h), hands each to the daemon's handler and writes
 * the reply the handler gives, now or later. It knows nothing of jails or
 * bans: the daemon's command handlers do.
 *
 * Access: the socket is created 0600 (owner only); with a read-only group
 * it is chowned to that group and made 0660. Per connection, SO_PEERCRED
 * decides: uid 0 or the daemon's own uid may run every command; members of
 * the read-only group only status, ping, version, get and banned; anyone
 * else gets a PermissionDenied reply and is disconnected.
 *
 * Never trust the peer: a request is capped (64 KiB by default), clients
 * are capped (the longest-idle connection is dropped to make room), a
 * connection that stays idle, sends a frame too slowly or does not read
 * its reply is closed, and garbage gets one ProtocolError reply and a
 * close. Nothing here blocks the loop. One request per connection is in
 * flight at a time (the connection does not read while its request is
 * with the handler); a connection may send many requests in turn.
 */
#ifndef WARDEN_CTL_SERVER_H
#define WARDEN_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

struct ctl_server;

/* The reply token of one request: the handler answers it exactly once
 * with ctl_reply_ok or ctl_reply_error, now or later. */
struct ctl_reply;

/* Who sent a request (SO_PEERCRED). */
struct ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool readonly; /* a member of the read-only group, not root/owner */
};

/*
 * The daemon's command handler. argv[0..argc-1] (argc >= 1) are the
 * command's arguments as the client sent them, e.g. {"status", "sshd"};
 * argv and peer are borrowed and stay valid until the reply is given.
 * Read-only peers only reach the handler with read-only commands. The
 * handler must eventually call ctl_reply_ok or ctl_reply_error on reply,
 * either before returning or later from the loop (async work): the
 * connection waits for it without a timeout. If the client went away
 * meanwhile, the reply is dropped silently.
 */
typedef void (*ctl_handler_fn)(void *arg, struct ctl_reply *reply, int argc,
    char **argv, const struct ctl_peer *peer);

struct ctl_server_opts {
	const char *path;   /* socket path (borrowed); required */
	bool force;         /* remove an existing socket file (-x) */
	bool ro_group;      /* ro_gid is set: a read-only group exists */
	gid_t ro_gid;       /* the read-only group (see ctl_server_gid()) */
	size_t max_request; /* bytes per request payload; 0: CTL_MAX_REQUEST */
	unsigned max_clients;      /* simultaneous connections; 0: 64 */
	uint64_t idle_timeout_ms;  /* no request under way; 0: 30000 */
	uint64_t frame_timeout_ms; /* first byte to whole frame; 0: 10000 */
	uint64_t write_timeout_ms; /* reply queued to written; 0: 30000 */
};

/* Counters and gauges, for tests and `status`-like diagnostics. */
struct ctl_server_stats {
	unsigned nconns;        /* open connections */
	size_t buffered;        /* bytes held in read buffers now */
	size_t buffered_max;    /* high-water mark of buffered */
	uint64_t accepted;      /* connections accepted */
	uint64_t requests;      /* requests handed to the handler */
	uint64_t denied;        /* peers or commands refused */
	uint64_t proto_errors;  /* garbage, oversize, bad version */
	uint64_t timeouts;      /* idle, slow or non-reading clients closed */
	uint64_t evicted;       /* idle clients closed to make room */
	uint64_t rejected_busy; /* refused: full of busy clients */
};

/*
 * Creates the socket at o->path and starts listening on loop. The
 * directory holding the socket is created (last level only, 0755). An
 * existing file at the path is removed when o->force is set; otherwise it
 * is an error ("already running" when something answers on it, else a
 * stale socket that -x would remove). The socket is 0600 (0660 and group
 * ro_gid with a read-only group). fn(arg, ...) handles each request.
 * Returns 0 and the server in *out, or -1 with a message in err.
 */
int ctl_server_new(uv_loop_t *loop, const struct ctl_server_opts *o,
    ctl_handler_fn fn, void *arg, struct ctl_server **out, char *err,
    size_t errlen);

/*
 * Stops listening, unlinks the socket file, closes every connection
 * (pending reply tokens stay valid; replying to them is a no-op) and frees
 * the server once libuv has closed its handles: the caller must let the
 * loop run afterwards. NULL is a no-op.
 */
void ctl_server_free(struct ctl_server *s);

void ctl_server_get_stats(
    const struct ctl_server *s, struct ctl_server_stats *st);

/*
 * Resolves a group given as a name or a number into *gid. Returns 0, or
 * -1 when no such group exists. Blocks on NSS: call at startup only.
 */
int ctl_server_gid(const char *group, gid_t *gid);

/* Replies success with result (a reference is taken; NULL means JSON
 * null) and frees the token. */
void ctl_reply_ok(struct ctl_reply *r, json_t *result);

/* Replies an error of type (one of CTL_ERR_* in ctl.h) with a message
 * (printf format) and frees the token. */
void ctl_reply_error(struct ctl_reply *r, const char *type, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* True while the client that sent r is still connected. */
bool ctl_reply_connected(const struct ctl_reply *r);

#endif
