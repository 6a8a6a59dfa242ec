/*
 * Actions: what a jail does when it bans and unbans (spec 5). An action
 * instance belongs to one jail and is built from one struct conf_action
 * by a backend (a vtable, struct action_ops): the command backend
 * (action_cmd.c: action.d files run with /bin/sh exactly as fail2ban's
 * CommandAction) and later the native nftables backend (issue 4). The
 * registry in action.c maps a backend name to its ops.
 *
 * Every operation is asynchronous and ends with a completion callback.
 * The actions of one jail are driven through one queue (struct
 * action_queue, owned by the jail): jobs run strictly one after another
 * in submission order, and inside a job the actions run in the jail's
 * order (stop: reverse order), one command at a time, so the action.d
 * scripts of a jail never overlap — fail2ban's actions thread, without
 * blocking the loop. Different jails' queues run concurrently.
 *
 * Errors never stop the daemon: a failing command is logged with
 * fail2ban's messages (fail2ban.utils "... -- returned 1", stderr lines;
 * fail2ban.actions "Failed to execute ban jail 'J' action 'A' info
 * '...': ..."), the next action still runs. An action whose actionstart
 * fails at jail start, or a Python (.py) action, is disabled (reported,
 * skipped by every job) until the action is reloaded.
 *
 * The queue does not decide bans and does not log "Ban"/"Unban" for
 * regular bans and expiries (the jail does, after its database commit);
 * it logs what happens inside its jobs: "Flush ticket(s) with A",
 * the "Unban x" lines of a flush at stop, "Reban x".
 */
#ifndef WARDEN_ACTION_H
#define WARDEN_ACTION_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "conf.h"
#include "strv.h"
#include "tags.h"

struct action;
struct action_queue;
struct ignore_env;

/*
 * What an action needs from the daemon. Borrowed: every pointer must
 * outlive the actions and queues made with it.
 */
struct action_env {
	uv_loop_t *loop;
	const char *jail;        /* the jail's name */
	long jail_bantime;       /* seconds, for tickets without their own
	                            (and for <bantime> in start/stop) */
	bool ipv6;               /* fail2ban's allowipv6: a family-aware
	                            action knows inet4 and inet6 (else inet4
	                            only) */
	struct ignore_env *host; /* host names (<fq-hostname>), the shared
	                            reverse-DNS cache for <ip-host>; may be
	                            NULL ("" and "None") */
	tags_info_fn info;       /* <ipmatches>, <jail.banned> ...; may be
	                            NULL */
	void *info_ctx;
	double (*now)(void); /* wall clock, epoch seconds; NULL = real */
	const char *shell;   /* NULL = "/bin/sh" */
};

/* Completion of one operation: 0 ok, -1 failed (already logged). */
typedef void (*action_done_cb)(void *arg, int rc);

/*
 * A backend. Every operation gets its instance, runs asynchronously and
 * calls cb exactly once, from the loop (never from inside the call). The
 * queue guarantees that at most one operation per instance is running.
 * Tickets are borrowed until cb runs. Batch operations (ban, unban,
 * reban, prolong) process the tickets in order; per-ticket failures are
 * logged by the backend with action_log_failure(), and rc is -1 if any
 * failed.
 */
struct action_ops {
	const char *name; /* "command", "nftables" */
	/* Sets a->priv from c; returns 0, or -1 with a reason in err. */
	int (*init)(struct action *a, const struct conf_action *c, char *err,
	    size_t errlen);
	void (*destroy)(struct action *a);
	/* Jail start: run the start command (unless started on demand). */
	void (*start)(struct action *a, action_done_cb cb, void *arg);
	/* Jail stop: the stop command for whatever was started. */
	void (*stop)(struct action *a, action_done_cb cb, void *arg);
	/* True when the action removes all its bans at once. */
	bool (*has_flush)(struct action *a);
	/*
	 * Removes all bans at once. stop: it is the jail's stop (a failed
	 * flush then does not repair, "Flush is impossible").
	 */
	void (*flush)(
	    struct action *a, bool stop, action_done_cb cb, void *arg);
	void (*ban)(struct action *a, const struct action_ticket *t, size_t n,
	    action_done_cb cb, void *arg);
	void (*reban)(struct action *a, const struct action_ticket *t, size_t n,
	    action_done_cb cb, void *arg);
	void (*unban)(struct action *a, const struct action_ticket *t, size_t n,
	    action_done_cb cb, void *arg);
	/* NULL or false: prolong is skipped. */
	bool (*prolongable)(struct action *a);
	void (*prolong)(struct action *a, const struct action_ticket *t,
	    size_t n, action_done_cb cb, void *arg);
	/* New configuration (same actname): adopt it, run its reload. */
	void (*reload)(struct action *a, const struct conf_action *c,
	    action_done_cb cb, void *arg);
	/* fail2ban's consistencyCheck(): actioncheck (+ repair) per started
	 * family. */
	void (*check)(struct action *a, action_done_cb cb, void *arg);
	/* Kills a running command (shutdown); its cb still runs. */
	void (*cancel)(struct action *a);
	/*
	 * Login tracking (issue 7), optional: actionuserlock (lock) or
	 * actionuserunlock for the login of t (key FKEY_USER, group
	 * "user"); nothing to do is a success. NULL: the backend has none.
	 */
	void (*user)(struct action *a, const struct action_ticket *t, bool lock,
	    action_done_cb cb, void *arg);
	/*
	 * Optional: whether the tickets handed to ban/unban/... must carry
	 * their matches (the <matches>-like tags, <F-*>, <raw-ticket>). The
	 * queue copies a ticket's matches only when some action of the jail
	 * says so at submission (NULL: it does); the copies are most of a
	 * long queue's memory (a shell action behind a replay). Without
	 * them the "Failed to execute ban ..." line of a failed command
	 * shows 'matches': [] in its ActionInfo (fail2ban shows the lines).
	 */
	bool (*uses_matches)(struct action *a);
	/*
	 * Optional: the bans of t (new, never restored ones) take effect
	 * now, before their database commit (undo false); the queue's ban
	 * job follows with the same tickets once the commit is done, and
	 * finds them in place. undo: takes back bans that will never come
	 * (lifted before their commit). Runs outside the queue's order, so
	 * only a backend whose ban is idempotent and seen by no other action
	 * (the nftables backend) has it; one that cannot now (not started,
	 * failing) does nothing, and its ban job does the work.
	 */
	void (*preban)(struct action *a, const struct action_ticket *t,
	    size_t n, bool undo);

	/*
	 * Properties at run time (`get/set J action A P`), optional: NULL
	 * means the configuration's, read-only. class_name is what
	 * fail2ban's messages name ("CommandAction"); methods the names
	 * dir() lists as callable (NULL-terminated), may be NULL.
	 */
	const char *class_name;
	const char *const *methods;
	/* Appends the property names (any order; the caller sorts). */
	void (*prop_names)(struct action *a, struct strv *out);
	/* The value of name (borrowed until the next change), *number set
	 * when it is a Python number; NULL when there is no such one. */
	const char *(*prop_get)(
	    struct action *a, const char *name, bool *number);
	/* Sets name; 0, or -1 with a reason in err. */
	int (*prop_set)(struct action *a, const char *name, const char *value,
	    char *err, size_t errlen);
	/* fail2ban's clearAllParams(): every command empty, timeout 60. */
	void (*clear_params)(struct action *a);
};

/* The generic part of an instance; backends keep their state in priv. */
struct action {
	const struct action_ops *ops;
	char *name;                   /* owned; the actname ("iptables-ssh") */
	char *file;                   /* owned; the action file (messages) */
	const struct action_env *env; /* borrowed */
	void *priv;                   /* the backend's */
	bool disabled; /* skipped by every job (start failed, .py action) */
	char *disabled_why;      /* owned; why, or NULL */
	bool norestored;         /* skip restored tickets (ban, prolong) */
	unsigned ban_epoch;      /* this action's epoch (see actq_reban) */
	struct action_queue *q;  /* the queue it belongs to, or NULL */
	struct conf_action conf; /* owned copy of its configuration */
};

/*
 * The backend called name ("command"; NULL = "command"), or NULL. Issue
 * 4's nftables backend is added to the table in action.c.
 */
const struct action_ops *action_backend_find(const char *name);

/*
 * A new action for c in env, with the backend named backend (NULL =
 * "command"). A Python action (c->python) yields a disabled instance and
 * logs ERROR "[J] action 'smtp.py' is a Python action; Warden does not
 * run Python actions". Returns NULL only for an unknown backend or when
 * the backend refuses c (reason in err). c is borrowed (copied as
 * needed); env is borrowed for the instance's life.
 */
struct action *action_new(const struct conf_action *c,
    const struct action_env *env, const char *backend, char *err,
    size_t errlen);

/* Frees an idle action (not in a queue, no operation running). */
void action_free(struct action *a);

/*
 * Logs a failure as fail2ban.actions does. With info (op "ban", "reban",
 * "unban"): ERROR "Failed to execute <op> jail 'J' action 'A' info
 * '<info>': <err>". Without (op "start", "stop", "flush", ...):
 * "Failed to start jail 'J' action 'A': <err>", "Failed to flush bans in
 * jail 'J' action 'A': <err>". For backends.
 */
void action_log_failure(
    const struct action *a, const char *op, const char *info, const char *err);

/* Marks a disabled (logged once by the caller), with the reason. */
void action_disable(struct action *a, const char *why);

/*
 * fail2ban's invalidateBanEpoch(): raises the queue's epoch and makes it
 * this action's (the repair of a broken environment; tickets banned
 * before are re-banned at their next failure). For backends.
 */
void action_invalidate_epoch(struct action *a);

/* The built-in backends (the registry in action.c lists them). */
extern const struct action_ops action_cmd_ops;
/* warden_backend = record: "ban ADDR" lines appended to recordfile,
 * no command (tests, benchmarks; action_rec.c) */
extern const struct action_ops action_rec_ops;

/* ---------------------------------------------------------------------
 * Properties and methods: fail2ban's getattr/setattr/dir() on an action
 * object, for `get J action A P`, `get J actionproperties A`, `get J
 * actionmethods A` and `set J action A P V` (server/transmitter.py).
 */

/* Every property name as dir() lists them: sorted as Python sorts,
 * without names starting with '_'; banEpoch included. */
void action_prop_names(struct action *a, struct strv *out);

/* The method names as dir() lists them. */
void action_method_names(const struct action *a, struct strv *out);
bool action_has_method(const struct action *a, const char *name);

/*
 * getattr(a, name): 0 with *value (new string) and *number (a Python
 * int or float written as text), or -1 with fail2ban's AttributeError
 * text in err ("'CommandAction' object has no attribute 'x'").
 */
int action_prop_get(struct action *a, const char *name, char **value,
    bool *number, char *err, size_t errlen);

/*
 * setattr(a, name, value): the next command uses it. Returns 0, or -1
 * with a reason in err (a backend whose properties are read-only).
 */
int action_prop_set(struct action *a, const char *name, const char *value,
    char *err, size_t errlen);

/* Calls of `set J action A METHOD` that run in the queue. */
enum action_call {
	ACTION_CALL_START, /* start() */
	ACTION_CALL_STOP,  /* stop() */
	ACTION_CALL_FLUSH, /* flush() */
	ACTION_CALL_CHECK, /* consistencyCheck() */
};

/*
 * Queues one call of a's method as a job of its queue (after the jobs
 * already waiting); cb(arg, rc) once it ran (rc -1: failed, logged). A
 * disabled action fails at once (from the loop).
 */
void actq_call(struct action_queue *q, struct action *a, enum action_call m,
    action_done_cb cb, void *arg);

/*
 * `set J addaction NAME`: a new command action without commands (its
 * properties are set next), appended to q. Returns it, or NULL when the
 * name exists (err: "Action NAME already exists").
 */
struct action *actq_add_new(struct action_queue *q, const char *name,
    bool python, char *err, size_t errlen);

/*
 * `set J delaction NAME`: removes the action from the queue without
 * running anything (fail2ban's del actions[name]). Returns 0, or -1 when
 * there is none. Its memory goes once no job refers to it.
 */
int actq_remove(struct action_queue *q, const char *name);

/* ---------------------------------------------------------------------
 * The per-jail queue.
 */

/*
 * A new, empty queue for the jail env->jail. The queue owns the actions
 * added to it. Free it with actq_close().
 */
struct action_queue *actq_new(const struct action_env *env);

/* Appends a (takes ownership); the jail's action order. */
void actq_add(struct action_queue *q, struct action *a);

size_t actq_count(const struct action_queue *q);
/* The i-th action, or NULL; borrowed. */
struct action *actq_at(const struct action_queue *q, size_t i);
/* The action called name (actname), or NULL; borrowed. */
struct action *actq_find(const struct action_queue *q, const char *name);

/* Jobs waiting or running. */
size_t actq_pending(const struct action_queue *q);

/*
 * The jail's ban epoch: raised when an action repaired its environment
 * (fail2ban's invalidateBanEpoch). A ticket banned at an older epoch than
 * the queue's is re-banned (actq_reban) when its next failure shows up.
 */
unsigned actq_ban_epoch(const struct action_queue *q);

/* Whether some action of q needs the matches of the tickets handed to it (the
 * queue drops them otherwise). */
bool actq_uses_matches(const struct action_queue *q);

/* Whether some enabled action of q has a preban operation. */
bool actq_has_preban(const struct action_queue *q);

/*
 * New bans put in place before their commit (or taken back, undo), by
 * the actions that can (action_ops.preban), at once and outside the job
 * order. The jail still submits the same tickets with actq_ban after the
 * commit. The tickets are read during the call only.
 */
void actq_preban(
    struct action_queue *q, const struct action_ticket *t, size_t n, bool undo);

/*
 * Job submission. Each call copies the tickets, appends one job and
 * returns; cb (may be NULL) runs once the job is done, with 0 or -1 (some
 * action failed; already logged). A job never fails to run.
 */

/* Jail start: every action's start, in order; a failure disables it. */
void actq_start(struct action_queue *q, action_done_cb cb, void *arg);

/*
 * New bans: for each ticket, every enabled action's ban in order (actions
 * with norestored skip restored tickets). The jail logs "Ban x" itself.
 * After the job, every ticket counts as banned at actq_ban_epoch().
 */
void actq_ban(struct action_queue *q, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg);

/*
 * A login was locked (lock) or its lock ended: every enabled action's
 * user operation (actionuserlock / actionuserunlock) for the login in t
 * (key FKEY_USER, group "user"). The jail logs "Lock user"/"Unlock
 * user" itself.
 */
void actq_user(struct action_queue *q, const struct action_ticket *t, bool lock,
    action_done_cb cb, void *arg);

/* Expired or lifted bans: every enabled action's unban (the jail logs
 * "Unban x"). */
void actq_unban(struct action_queue *q, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg);

/* bantime.increment prolonged these bans: actions with actionprolong. */
void actq_prolong(struct action_queue *q, const struct action_ticket *t,
    size_t n, action_done_cb cb, void *arg);

/*
 * fail2ban's __reBan: logs NOTICE "[J] Reban x" (", action 'A'" when only
 * one action takes part) and runs reban (actionreban, else actionban) of
 * every enabled action whose epoch is newer than t->ban_epoch (all
 * actions when all is true). Stops at the first failing action.
 */
void actq_reban(struct action_queue *q, const struct action_ticket *t, bool all,
    action_done_cb cb, void *arg);

/*
 * fail2ban's consistency check after an "already banned" failure long
 * after the ban: every action's check (actioncheck, repair on failure).
 */
void actq_check(struct action_queue *q, action_done_cb cb, void *arg);

/*
 * fail2ban's __flushBan: actions with a flush command flush once (NOTICE
 * "[J] Flush ticket(s) with A"); then each of the given current bans is
 * logged NOTICE "[J] Unban x" (log_unban) and unbanned through the other
 * actions. stop: part of the jail's stop (a failed flush is not repaired).
 */
void actq_flush(struct action_queue *q, const struct action_ticket *t, size_t n,
    bool stop, bool log_unban, action_done_cb cb, void *arg);

/* Jail stop: every action's stop, in reverse order (disabled ones too
 * when they had started). Use after actq_flush(..., stop=true ...). */
void actq_stop(struct action_queue *q, action_done_cb cb, void *arg);

/*
 * Reload with the jail's new action list (fail2ban's reload): an action
 * whose actname is still present adopts its new configuration and runs
 * actionreload; a removed one unbans the given current bans (flush or
 * per ticket, without "Unban" lines) and runs its stop, then is freed;
 * a new one is created, appended and started. Disabled actions that are
 * kept are re-enabled and started again. The queue's order becomes the
 * new list's.
 */
void actq_reload(struct action_queue *q, const struct conf_action *acts,
    size_t nacts, const struct action_ticket *bans, size_t nbans,
    action_done_cb cb, void *arg);

/*
 * Frees the queue: jobs not started are dropped (their callbacks are not
 * called), a running command is killed (actionstop is NOT run: stop the
 * jail first). The memory goes once the running command's handles are
 * closed; run the loop until then. NULL is a no-op.
 */
void actq_close(struct action_queue *q);

#endif
