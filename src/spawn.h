/*
 * spawn: runs one shell script as a child process inside the libuv loop,
 * the way fail2ban's Utils.executeCmd does (spec 5.2): `/bin/sh -c SCRIPT
 * ARG0 ARG1 ...` in a new session (its own process group), stdin from
 * /dev/null, stdout and stderr captured through pipes up to a cap, and a
 * timeout after which the whole process group gets SIGTERM and, 0.2 s
 * later, SIGKILL. The caller learns the outcome through one completion
 * callback. Used by command actions (action_cmd.c) and ignorecommand
 * (ignore.c).
 *
 * Nothing here blocks: the child is started with posix_spawn (a vfork-style
 * clone, so its cost does not grow with the daemon's memory), reaped when
 * its pidfd becomes readable in the loop, the pipes are read by libuv
 * streams and the timeouts are uv timers. spawn_run() itself never logs;
 * spawn_log() turns a result into fail2ban's "fail2ban.utils" log records.
 */
#ifndef WARDEN_SPAWN_H
#define WARDEN_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

struct spawn;

#define SPAWN_OUT_CAP_DEFAULT (64 * 1024) /* bytes kept per stream */
#define SPAWN_KILL_DELAY_MS   200         /* SIGTERM -> SIGKILL, ms */
/*
 * After the shell exits, output still in flight (or held open by a
 * background grandchild) is read for at most this long before the pipes
 * are closed; fail2ban would block here, we do not.
 */
#define SPAWN_DRAIN_MS 200

struct spawn_opts {
	double timeout;    /* seconds; <= 0 means no timeout */
	size_t out_cap;    /* bytes of stdout kept; 0 = default */
	size_t err_cap;    /* bytes of stderr kept; 0 = default */
	const char *shell; /* NULL = "/bin/sh" (tests may point elsewhere) */
	const char *cwd;   /* NULL = inherit */
	char **env;        /* NULL = inherit the daemon's environment */
};

/* What happened to one child. Valid only during the callback. */
struct spawn_result {
	int spawn_error; /* 0, or a negative libuv error: the child could not
	                    be started (the other fields are then 0) */
	long pid;        /* the shell's pid (also its process group id) */
	bool exited;     /* exited normally: exit_status is valid */
	int exit_status; /* 0..255 */
	int term_signal; /* killed by this signal, else 0 */
	bool timed_out;  /* the timeout fired (the group was signalled) */
	const char *out; /* captured stdout (NUL-terminated), may hold NULs */
	size_t out_len;  /* bytes in out, <= the cap */
	size_t out_lost; /* stdout bytes beyond the cap, counted not kept */
	const char *err; /* captured stderr, same rules */
	size_t err_len;
	size_t err_lost;
	double elapsed; /* seconds from start to completion (monotonic) */
};

/*
 * Called exactly once per spawn_run(), always from the loop (never from
 * inside spawn_run()), after the child was reaped and its pipes closed or
 * drained. The struct spawn is freed right after the callback returns (its
 * handles are closed asynchronously; run the loop to finish that).
 */
typedef void (*spawn_cb)(void *arg, const struct spawn_result *r);

/*
 * Starts `shell -c script args[0] ... args[nargs-1]` (script and args are
 * copied; inside the script they are $0, $1, ...). opts may be NULL for
 * the defaults (no timeout). Returns the handle (owned by the spawn module
 * until the callback has run; use it only for spawn_kill) — never NULL:
 * a failure to start is reported through cb with spawn_error set.
 */
struct spawn *spawn_run(uv_loop_t *loop, const char *script,
    const char *const *args, size_t nargs, const struct spawn_opts *opts,
    spawn_cb cb, void *arg);

/*
 * Ends the child early as a timeout would (SIGTERM to the group, SIGKILL
 * 0.2 s later); the callback still runs, with timed_out false and the
 * signal set. Used at shutdown. No-op once the child is gone.
 */
void spawn_kill(struct spawn *s);

/*
 * Logs a result as fail2ban's Utils.executeCmd does, logger
 * "fail2ban.utils", with id as the "%x" command id:
 *   ERROR "<id> -- exec: <cmd>" when it failed (the command as Python
 *         prints it: the script, or the list [script, args...] in repr
 *         form when args were passed), then the stdout/stderr lines as
 *         "<id> -- stdout: 'line'" (repr) at ERROR (DEBUG on success),
 *   ERROR "<id> -- timed out after <timeout> seconds.",
 *   ERROR "<id> -- returned <n>" / "<id> -- killed with SIGTERM (return
 *         code: -15)" (exit codes above 128 are read as 128 + signal, as
 *         fail2ban does for bash), INFO "HINT on 127: ..." for 127,
 *   DEBUG "<id> -- returned successfully <n>".
 * success_mask has bit n set for every exit code n (< 32) that counts as
 * success (fail2ban: 1 << 0; ignorecommand: (1 << 0) | (1 << 1)).
 * Returns true when the result counts as success.
 */
bool spawn_log(const struct spawn_result *r, unsigned long id,
    const char *script, const char *const *args, size_t nargs,
    const char *timeout_text, unsigned success_mask);

#endif
