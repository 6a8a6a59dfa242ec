/*
 * The blocking side of the control protocol, used by the `warden` CLI:
 * connect to wardend's Unix socket, send one framed request, wait for its
 * reply, all under a deadline. Also the one place that decides the
 * default socket and pid file paths, shared by the CLI and the daemon.
 * Nothing here prints; errors come back as a status with errno and text.
 */
#ifndef WARDEN_CTL_CLIENT_H
#define WARDEN_CTL_CLIENT_H

#include "ctl.h"

/* Warden's own defaults, used when the configuration has no file set. */
#define CTL_DEFAULT_SOCKET  "/run/warden/warden.sock"
#define CTL_DEFAULT_PIDFILE "/run/warden/wardend.pid"
/* fail2ban's defaults, used when its files exist but do not say. */
#define CTL_F2B_SOCKET  "/var/run/fail2ban/fail2ban.sock"
#define CTL_F2B_PIDFILE "/var/run/fail2ban/fail2ban.pid"

enum ctl_client_status {
	CTL_CLIENT_OK = 0,
	CTL_CLIENT_ECONNECT, /* connect failed; errnum says why (ENOENT,
	                        EACCES, ECONNREFUSED, ...) */
	CTL_CLIENT_ETIMEOUT, /* the deadline passed */
	CTL_CLIENT_EIO,      /* send/receive failed or the server hung up */
	CTL_CLIENT_EPROTO,   /* request not encodable, reply too large or
	                        malformed, protocol version mismatch */
};

struct ctl_client_error {
	enum ctl_client_status status;
	int errnum;    /* errno for ECONNECT and EIO, else 0 */
	char msg[512]; /* one line, no trailing newline */
};

struct ctl_client;

/*
 * Connects to the socket at path within timeout_ms (< 0: no limit).
 * Returns 0 and a new client in *out, or -1 with e filled.
 */
int ctl_client_connect(const char *path, int timeout_ms,
    struct ctl_client **out, struct ctl_client_error *e);

/*
 * Sends argv[0..argc-1] and waits up to timeout_ms (< 0: no limit) for
 * the reply, which is decoded into *resp (free with
 * ctl_response_cleanup). Returns 0 when a reply arrived (resp->ok tells
 * success or the server's error), or -1 with e filled. Several calls may
 * follow on one connection. Blocks.
 */
int ctl_client_call(struct ctl_client *c, int argc, char *const *argv,
    int timeout_ms, struct ctl_response *resp, struct ctl_client_error *e);

/* Closes the connection and frees c. NULL is a no-op. */
void ctl_client_free(struct ctl_client *c);

/* Connect, one call, close: the common case. Same returns as above. */
int ctl_call(const char *path, int argc, char *const *argv, int timeout_ms,
    struct ctl_response *resp, struct ctl_client_error *e);

/* The default configuration directory: /etc/warden when it exists, else
 * /etc/fail2ban (the same rule as `warden check`). Static string. */
const char *ctl_default_confdir(void);

struct ctl_paths {
	char *socket;  /* owned */
	char *pidfile; /* owned */
	char *source;  /* owned; "warden", "fail2ban" or "builtin" */
};

/*
 * Resolves the socket and pid file paths from confdir's server file set
 * (warden.* when any warden.conf/.local/.d exists, else fail2ban.*: X.conf,
 * X.d/\*.conf, X.local, X.d/\*.local, [Definition] over [DEFAULT], later
 * files winning; values are taken literally, without %(x)s
 * interpolation). Without any file of the set: Warden's built-in
 * CTL_DEFAULT_*. A file set that does not name them: fail2ban's defaults
 * (as conf_load does). The daemon uses the same function so that both
 * sides agree. Blocks on file I/O. Free with ctl_paths_cleanup.
 */
void ctl_paths_resolve(const char *confdir, struct ctl_paths *out);
void ctl_paths_cleanup(struct ctl_paths *p);

#endif
