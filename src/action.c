/*
 * The generic action layer (see action.h): the backend registry, action
 * instances, and the per-jail queue that runs jobs one after another and,
 * inside a job, one action operation at a time. This is fail2ban's
 * Actions thread (server/actions.py: run, __checkBan, __reBan, __unBan,
 * __flushBan, stopActions, reload) turned into callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "log.h"
#include "xmalloc.h"

/* The registry: issue 4 adds its nftables ops here. */
extern const struct action_ops action_nft_ops; /* action_nft.c, nft.h */
static const struct action_ops *const backends[] = {
    &action_cmd_ops,
    &action_nft_ops,
    &action_rec_ops,
};

const struct action_ops *
action_backend_find(const char *name)
{
	if (name == NULL)
		name = "command";
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

/* ---------------------------------------------------------------------
 * Instances.
 */

static void conf_action_copy(
    struct conf_action *dst, const struct conf_action *src);
static void conf_action_release(struct conf_action *c);

struct action *
action_new(const struct conf_action *c, const struct action_env *env,
    const char *backend, char *err, size_t errlen)
{
	const struct action_ops *ops;
	struct action *a;

	if (backend == NULL) /* an action file may name it (nft.h) */
		backend = conf_kv_get(&c->props, "warden_backend");
	ops = action_backend_find(backend);
	if (!c->python && ops == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "unknown action backend '%s'",
			    backend);
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->name = xstrdup(c->actname != NULL ? c->actname : c->name);
	a->file = xstrdup(c->file != NULL ? c->file : "");
	a->env = env;
	conf_action_copy(&a->conf, c);
	if (c->python) {
		/* fail2ban would import and run it; we cannot. */
		a->disabled = true;
		a->disabled_why = xasprintf("action '%s' is a Python action; "
		                            "Warden does not run Python "
		                            "actions",
		    c->name);
		wlog(WLOG_ERROR, "fail2ban.actions", "[%s] %s", env->jail,
		    a->disabled_why);
		a->norestored = true;
		return a;
	}
	a->ops = ops;
	if (ops->init(a, c, err, errlen) < 0) {
		conf_action_release(&a->conf);
		free(a->name);
		free(a->file);
		free(a);
		return NULL;
	}
	return a;
}

void
action_free(struct action *a)
{
	if (a == NULL)
		return;
	if (a->ops != NULL && a->ops->destroy != NULL)
		a->ops->destroy(a);
	conf_action_release(&a->conf);
	free(a->name);
	free(a->file);
	free(a->disabled_why);
	free(a);
}

void
action_log_failure(
    const struct action *a, const char *op, const char *info, const char *err)
{
	const char *jail = a->env->jail;

	if (info != NULL)
		wlog(WLOG_ERROR, "fail2ban.actions",
		    "Failed to execute %s jail '%s' action '%s' info '%s': %s",
		    op, jail, a->name, info, err);
	else if (strcmp(op, "flush") == 0)
		wlog(WLOG_ERROR, "fail2ban.actions",
		    "Failed to flush bans in jail '%s' action '%s': %s", jail,
		    a->name, err);
	else
		wlog(WLOG_ERROR, "fail2ban.actions",
		    "Failed to %s jail '%s' action '%s': %s", op, jail, a->name,
		    err);
}

void
action_disable(struct action *a, const char *why)
{
	a->disabled = true;
	free(a->disabled_why);
	a->disabled_why = xstrdup(why);
}

/* ---------------------------------------------------------------------
 * Deep copies of configuration (a reload job outlives the caller's).
 */

static void
kv_copy(struct conf_kvlist *dst, const struct conf_kvlist *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return;
	dst->v = xcalloc(src->n, sizeof(*dst->v));
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i].key = xstrdup(src->v[i].key);
		dst->v[i].value = xstrdup(src->v[i].value);
	}
	dst->n = dst->cap = src->n;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
conf_action_copy(struct conf_action *dst, const struct conf_action *src)
{
	*dst = *src;
	dst->name = dup_or_null(src->name);
	dst->actname = dup_or_null(src->actname);
	dst->file = dup_or_null(src->file);
	dst->jail_file = dup_or_null(src->jail_file);
	dst->python_params = dup_or_null(src->python_params);
	for (int k = 0; k < CONF_ACT_NCMDS; k++)
		dst->cmd[k] = dup_or_null(src->cmd[k]);
	dst->userlock = dup_or_null(src->userlock);
	dst->userunlock = dup_or_null(src->userunlock);
	kv_copy(&dst->props, &src->props);
}

static void
conf_action_release(struct conf_action *c)
{
	free(c->name);
	free(c->actname);
	free(c->file);
	free(c->jail_file);
	free(c->python_params);
	for (int k = 0; k < CONF_ACT_NCMDS; k++)
		free(c->cmd[k]);
	free(c->userlock);
	free(c->userunlock);
	for (size_t i = 0; i < c->props.n; i++) {
		free(c->props.v[i].key);
		free(c->props.v[i].value);
	}
	free(c->props.v);
	memset(c, 0, sizeof(*c));
}

/* ---------------------------------------------------------------------
 * The queue.
 */

enum job_kind {
	J_START,
	J_BAN,
	J_UNBAN,
	J_PROLONG,
	J_REBAN,
	J_CHECK,
	J_FLUSH,
	J_STOP,
	J_RELOAD,
	J_CALL,
	J_USER,
};

struct job {
	struct job *next;
	enum job_kind kind;
	struct action_ticket *t; /* owned copies */
	size_t n;
	bool stop;                /* flush: part of the jail's stop */
	bool log_unban;           /* flush: "Unban x" lines */
	bool all;                 /* reban: every action */
	bool lock;                /* user: lock (else unlock) */
	struct conf_action *acts; /* reload: owned copies */
	size_t nacts;
	action_done_cb cb;
	void *arg;
	/* progress */
	int phase;
	size_t ai; /* action index */
	size_t ti; /* ticket index */
	int failed;
	struct action_ticket *sub; /* the tickets handed to one op */
	size_t nsub;
	bool *flushed;           /* flush: action handled by its flush */
	struct action **targets; /* reban/reload: the actions to run */
	size_t ntargets;
	struct action **removed; /* reload: actions being retired */
	size_t nremoved;
	struct action *target; /* call: the action */
	enum action_call call; /* call: the method */
};

struct action_queue {
	const struct action_env *env;
	struct action **acts;
	size_t n, cap;
	struct job *head, *tail; /* waiting, FIFO; head runs */
	size_t pending;
	bool running;             /* head is being processed */
	bool op_busy;             /* an action operation is in flight */
	struct action *op_action; /* its action */
	unsigned ban_epoch;
	bool closing;
	uv_timer_t *kick;
	struct action **dead; /* removed while jobs may refer to them */
	size_t ndead;
};

static void q_step(struct action_queue *q);

struct action_queue *
actq_new(const struct action_env *env)
{
	struct action_queue *q = xcalloc(1, sizeof(*q));

	q->env = env;
	q->kick = xcalloc(1, sizeof(*q->kick));
	uv_timer_init(env->loop, q->kick);
	q->kick->data = q;
	return q;
}

void
actq_add(struct action_queue *q, struct action *a)
{
	xgrow(&q->acts, &q->cap, q->n + 1, sizeof(*q->acts));
	q->acts[q->n++] = a;
	a->q = q;
	a->ban_epoch = 0;
}

size_t
actq_count(const struct action_queue *q)
{
	return q->n;
}

struct action *
actq_at(const struct action_queue *q, size_t i)
{
	return i < q->n ? q->acts[i] : NULL;
}

struct action *
actq_find(const struct action_queue *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->acts[i]->name, name) == 0)
			return q->acts[i];
	return NULL;
}

size_t
actq_pending(const struct action_queue *q)
{
	return q->pending;
}

unsigned
actq_ban_epoch(const struct action_queue *q)
{
	return q->ban_epoch;
}

void
action_invalidate_epoch(struct action *a)
{
	if (a->q != NULL)
		a->ban_epoch = ++a->q->ban_epoch;
	else
		a->ban_epoch++;
}

static void
job_free(struct job *j)
{
	for (size_t i = 0; i < j->n; i++)
		tags_ticket_free(&j->t[i]);
	free(j->t);
	for (size_t i = 0; i < j->nacts; i++)
		conf_action_release(&j->acts[i]);
	free(j->acts);
	free(j->sub);
	free(j->flushed);
	free(j->targets);
	for (size_t i = 0; i < j->nremoved; i++)
		action_free(j->removed[i]);
	free(j->removed);
	free(j);
}

static void
kick_cb(uv_timer_t *t)
{
	q_step(t->data);
}

static void
kick_close_cb(uv_handle_t *h)
{
	free(h);
}

static void
q_free(struct action_queue *q)
{
	struct job *j = q->head;

	while (j != NULL) {
		struct job *next = j->next;

		job_free(j);
		j = next;
	}
	for (size_t i = 0; i < q->n; i++)
		action_free(q->acts[i]);
	free(q->acts);
	for (size_t i = 0; i < q->ndead; i++)
		action_free(q->dead[i]);
	free(q->dead);
	uv_close((uv_handle_t *)q->kick, kick_close_cb);
	free(q);
}

/* Whether some action of q needs the matches of the tickets it gets. */
static bool
q_uses_matches(const struct action_queue *q)
{
	for (size_t i = 0; i < q->n; i++) {
		const struct action *a = q->acts[i];

		if (a->ops == NULL)
			continue; /* a Python action: never runs */
		if (a->ops->uses_matches == NULL ||
		    a->ops->uses_matches(q->acts[i]))
			return true;
	}
	return false;
}

bool
actq_uses_matches(const struct action_queue *q)
{
	return q != NULL && q_uses_matches(q);
}

bool
actq_has_preban(const struct action_queue *q)
{
	if (q == NULL || q->closing)
		return false;
	for (size_t i = 0; i < q->n; i++) {
		const struct action *a = q->acts[i];

		if (!a->disabled && a->ops != NULL && a->ops->preban != NULL)
			return true;
	}
	return false;
}

void
actq_preban(
    struct action_queue *q, const struct action_ticket *t, size_t n, bool undo)
{
	if (q == NULL || q->closing || n == 0)
		return;
	for (size_t i = 0; i < q->n; i++) {
		struct action *a = q->acts[i];

		if (!a->disabled && a->ops != NULL && a->ops->preban != NULL)
			a->ops->preban(a, t, n, undo);
	}
}

static struct job *
submit(struct action_queue *q, enum job_kind kind,
    const struct action_ticket *t, size_t n, action_done_cb cb, void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->cb = cb;
	j->arg = arg;
	if (n > 0) {
		bool keep = q_uses_matches(q);

		j->t = xcalloc(n, sizeof(*j->t));
		for (size_t i = 0; i < n; i++) {
			struct action_ticket c = t[i];

			if (!keep)
				c.nmatches = 0;
			tags_ticket_dup(&j->t[i], &c);
		}
		j->n = n;
	}
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->pending++;
	if (!q->running && !q->closing)
		uv_timer_start(q->kick, kick_cb, 0, 0);
	return j;
}

void
actq_start(struct action_queue *q, action_done_cb cb, void *arg)
{
	submit(q, J_START, NULL, 0, cb, arg);
}

void
actq_ban(struct action_queue *q, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	submit(q, J_BAN, t, n, cb, arg);
}

void
actq_user(struct action_queue *q, const struct action_ticket *t, bool lock,
    action_done_cb cb, void *arg)
{
	struct job *j = submit(q, J_USER, t, 1, cb, arg);

	j->lock = lock;
}

void
actq_unban(struct action_queue *q, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	submit(q, J_UNBAN, t, n, cb, arg);
}

void
actq_prolong(struct action_queue *q, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	submit(q, J_PROLONG, t, n, cb, arg);
}

void
actq_reban(struct action_queue *q, const struct action_ticket *t, bool all,
    action_done_cb cb, void *arg)
{
	struct job *j = submit(q, J_REBAN, t, 1, cb, arg);

	j->all = all;
}

void
actq_check(struct action_queue *q, action_done_cb cb, void *arg)
{
	submit(q, J_CHECK, NULL, 0, cb, arg);
}

void
actq_flush(struct action_queue *q, const struct action_ticket *t, size_t n,
    bool stop, bool log_unban, action_done_cb cb, void *arg)
{
	struct job *j = submit(q, J_FLUSH, t, n, cb, arg);

	j->stop = stop;
	j->log_unban = log_unban;
}

void
actq_stop(struct action_queue *q, action_done_cb cb, void *arg)
{
	submit(q, J_STOP, NULL, 0, cb, arg);
}

void
actq_reload(struct action_queue *q, const struct conf_action *acts,
    size_t nacts, const struct action_ticket *bans, size_t nbans,
    action_done_cb cb, void *arg)
{
	struct job *j = submit(q, J_RELOAD, bans, nbans, cb, arg);

	if (nacts > 0) {
		j->acts = xcalloc(nacts, sizeof(*j->acts));
		for (size_t i = 0; i < nacts; i++)
			conf_action_copy(&j->acts[i], &acts[i]);
		j->nacts = nacts;
	}
}

void
actq_close(struct action_queue *q)
{
	if (q == NULL)
		return;
	q->closing = true;
	uv_timer_stop(q->kick);
	if (q->op_busy) {
		/* The operation's callback frees the queue. */
		if (q->op_action->ops->cancel != NULL)
			q->op_action->ops->cancel(q->op_action);
		return;
	}
	q_free(q);
}

/* ---------------------------------------------------------------------
 * Running jobs.
 */

static void
op_done(void *arg, int rc)
{
	struct action_queue *q = arg;
	struct job *j = q->head;
	struct action *a = q->op_action;

	q->op_busy = false;
	q->op_action = NULL;
	if (q->closing) {
		q_free(q);
		return;
	}
	if (rc < 0)
		j->failed++;
	if (j->kind == J_START && rc < 0 && a != NULL && !a->disabled) {
		action_disable(a, "its actionstart failed");
		wlog(WLOG_ERROR, "fail2ban.actions",
		    "[%s] Action '%s' disabled: its actionstart failed; it "
		    "stays off until the jail is reloaded",
		    q->env->jail, a->name);
	}
	if (j->kind == J_REBAN && rc < 0)
		j->phase = 99; /* __reBan stops at the first failure */
	q_step(q);
}

/* Starts one operation of a; the queue waits for its callback. */
#define OP(a, call)                                                            \
	do {                                                                   \
		q->op_busy = true;                                             \
		q->op_action = (a);                                            \
		call;                                                          \
		return;                                                        \
	} while (0)

static void
ticket_text(const struct action_ticket *t, char *buf)
{
	if (t->has_addr)
		addr_format(&t->addr, buf);
	else
		fkey_format(&t->key, buf);
}

/* The tickets a may see (norestored skips restored ones) into j->sub. */
static size_t
select_tickets(struct job *j, const struct action *a)
{
	j->nsub = 0;
	if (j->sub == NULL && j->n > 0)
		j->sub = xcalloc(j->n, sizeof(*j->sub));
	for (size_t i = 0; i < j->n; i++) {
		if (a->norestored && j->t[i].restored)
			continue;
		j->sub[j->nsub++] = j->t[i];
	}
	return j->nsub;
}

static bool
usable(const struct action *a)
{
	return a->ops != NULL && !a->disabled;
}

static void
finish_job(struct action_queue *q)
{
	struct job *j = q->head;
	action_done_cb cb = j->cb;
	void *arg = j->arg;
	int rc = j->failed ? -1 : 0;

	q->head = j->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->pending--;
	q->running = false;
	job_free(j);
	if (q->head != NULL)
		uv_timer_start(q->kick, kick_cb, 0, 0);
	if (cb != NULL)
		cb(arg, rc);
}

/* Starts op on a and tells q_step to wait. */
static bool
run_op(struct action_queue *q, struct action *a)
{
	q->op_busy = true;
	q->op_action = a;
	return true;
}

static bool
in_list(struct action *const *v, size_t n, const struct action *a)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == a)
			return true;
	return false;
}

static const struct conf_action *
find_conf(const struct job *j, const char *name)
{
	for (size_t i = 0; i < j->nacts; i++) {
		const struct conf_action *c = &j->acts[i];

		if (strcmp(c->actname ? c->actname : c->name, name) == 0)
			return c;
	}
	return NULL;
}

/*
 * One step of the reload job (see actq_reload). Phases: 0 plan, 1 kept
 * actions reload, 2 removed actions flush/unban then stop, 3 new and
 * re-enabled actions start. Returns true while an operation runs.
 */
static bool
step_reload(struct action_queue *q, struct job *j)
{
	struct action *a;

	if (j->phase == 0) {
		size_t room = q->n + j->nacts + 1;
		struct action **order = xcalloc(room, sizeof(*order));
		size_t norder = 0;

		j->targets = xcalloc(room, sizeof(*j->targets));
		j->removed = xcalloc(room, sizeof(*j->removed));
		for (size_t i = 0; i < j->nacts; i++) {
			const struct conf_action *c = &j->acts[i];
			const char *nm = c->actname ? c->actname : c->name;

			a = actq_find(q, nm);
			if (a == NULL) {
				char err[256] = "";

				a = action_new(
				    c, q->env, NULL, err, sizeof(err));
				if (a == NULL) {
					wlog(WLOG_ERROR, "fail2ban.actions",
					    "[%s] Action '%s' not created: %s",
					    q->env->jail, nm, err);
					continue;
				}
				a->q = q;
				j->targets[j->ntargets++] = a;
			}
			if (!in_list(order, norder, a))
				order[norder++] = a;
		}
		for (size_t i = 0; i < q->n; i++)
			if (!in_list(order, norder, q->acts[i]))
				j->removed[j->nremoved++] = q->acts[i];
		free(q->acts);
		q->acts = order;
		q->n = norder;
		q->cap = room;
		j->phase = 1;
		j->ai = 0;
	}
	while (j->phase == 1) {
		const struct conf_action *c;

		if (j->ai >= q->n) {
			j->phase = 2;
			j->ai = 0;
			j->ti = 0;
			break;
		}
		a = q->acts[j->ai++];
		if (a->ops == NULL || in_list(j->targets, j->ntargets, a))
			continue;
		c = find_conf(j, a->name);
		if (c == NULL)
			continue;
		if (a->disabled) {
			/* its start failed before: try again */
			a->disabled = false;
			free(a->disabled_why);
			a->disabled_why = NULL;
			j->targets[j->ntargets++] = a;
		}
		conf_action_release(&a->conf);
		conf_action_copy(&a->conf, c);
		a->ops->reload(a, c, op_done, q);
		return run_op(q, a);
	}
	/* phase 2: j->ai walks the removed actions, j->ti is the step of
	 * the current one: 0 flush or unban, 1 stop, 2 done. */
	while (j->phase == 2) {
		if (j->ai >= j->nremoved) {
			j->phase = 3;
			j->ai = 0;
			break;
		}
		a = j->removed[j->ai];
		if (a->ops == NULL || j->ti >= 2) {
			j->ai++;
			j->ti = 0;
			continue;
		}
		if (j->ti++ == 0) {
			if (a->disabled)
				continue;
			if (a->ops->has_flush(a)) {
				a->ops->flush(a, true, op_done, q);
				return run_op(q, a);
			}
			if (j->n == 0)
				continue;
			a->ops->unban(a, j->t, j->n, op_done, q);
			return run_op(q, a);
		}
		a->ops->stop(a, op_done, q);
		return run_op(q, a);
	}
	while (j->phase == 3 && j->ai < j->ntargets) {
		a = j->targets[j->ai++];
		if (!usable(a))
			continue;
		a->ops->start(a, op_done, q);
		return run_op(q, a);
	}
	return false;
}

static void
q_step(struct action_queue *q)
{
	struct job *j;
	struct action *a;
	char buf[FKEY_STRLEN];

	if (q->op_busy || q->closing)
		return;
	j = q->head;
	if (j == NULL) {
		q->running = false;
		return;
	}
	q->running = true;

	switch (j->kind) {
	case J_START:
		/* the failing one is disabled in op_done */
		while (j->ai < q->n) {
			a = q->acts[j->ai++];
			if (usable(a))
				OP(a, a->ops->start(a, op_done, q));
		}
		break;
	case J_BAN:
	case J_UNBAN:
	case J_PROLONG:
		while (j->ai < q->n) {
			a = q->acts[j->ai++];
			if (!usable(a))
				continue;
			if (j->kind == J_UNBAN) {
				if (j->n > 0)
					OP(a,
					    a->ops->unban(
					        a, j->t, j->n, op_done, q));
				continue;
			}
			if (j->kind == J_PROLONG &&
			    (a->ops->prolongable == NULL ||
			        !a->ops->prolongable(a)))
				continue;
			if (select_tickets(j, a) == 0)
				continue;
			if (j->kind == J_BAN)
				OP(a,
				    a->ops->ban(
				        a, j->sub, j->nsub, op_done, q));
			OP(a, a->ops->prolong(a, j->sub, j->nsub, op_done, q));
		}
		break;
	case J_REBAN:
		if (j->phase == 0) {
			j->targets = xcalloc(q->n + 1, sizeof(*j->targets));
			for (size_t i = 0; i < q->n; i++) {
				a = q->acts[i];
				if (usable(a) &&
				    (j->all ||
				        a->ban_epoch > j->t[0].ban_epoch))
					j->targets[j->ntargets++] = a;
			}
			/* fail2ban: no newer action means all of them */
			if (j->ntargets == 0)
				for (size_t i = 0; i < q->n; i++)
					if (usable(q->acts[i]))
						j->targets[j->ntargets++] =
						    q->acts[i];
			ticket_text(&j->t[0], buf);
			if (j->ntargets == 1)
				wlog(WLOG_NOTICE, "fail2ban.actions",
				    "[%s] Reban %s, action '%s'", q->env->jail,
				    buf, j->targets[0]->name);
			else
				wlog(WLOG_NOTICE, "fail2ban.actions",
				    "[%s] Reban %s", q->env->jail, buf);
			j->phase = 1;
		}
		while (j->phase == 1 && j->ai < j->ntargets) {
			a = j->targets[j->ai++];
			OP(a, a->ops->reban(a, j->t, 1, op_done, q));
		}
		break;
	case J_CHECK:
		while (j->ai < q->n) {
			a = q->acts[j->ai++];
			if (usable(a) && a->ops->check != NULL)
				OP(a, a->ops->check(a, op_done, q));
		}
		break;
	case J_USER:
		while (j->ai < q->n) {
			a = q->acts[j->ai++];
			if (usable(a) && a->ops->user != NULL)
				OP(a,
				    a->ops->user(a, j->t, j->lock, op_done, q));
		}
		break;
	case J_FLUSH:
		if (j->phase == 0) {
			j->flushed = xcalloc(q->n + 1, sizeof(*j->flushed));
			j->phase = 1;
		}
		while (j->phase == 1 && j->ai < q->n) {
			size_t i = j->ai++;

			a = q->acts[i];
			if (!usable(a))
				continue;
			if (a->ops->has_flush(a)) {
				j->flushed[i] = true;
				wlog(WLOG_NOTICE, "fail2ban.actions",
				    "[%s] Flush ticket(s) with %s",
				    q->env->jail, a->name);
				OP(a, a->ops->flush(a, j->stop, op_done, q));
			}
		}
		if (j->phase == 1) {
			j->phase = 2;
			j->ti = 0;
			j->ai = 0;
		}
		/* each ticket: "Unban x", then the other actions */
		while (j->ti < j->n) {
			if (j->ai == 0 && j->log_unban && j->phase == 2) {
				ticket_text(&j->t[j->ti], buf);
				wlog(WLOG_NOTICE, "fail2ban.actions",
				    "[%s] Unban %s", q->env->jail, buf);
			}
			j->phase = 3;
			while (j->ai < q->n) {
				size_t i = j->ai++;

				a = q->acts[i];
				if (usable(a) && !j->flushed[i])
					OP(a,
					    a->ops->unban(a, &j->t[j->ti], 1,
					        op_done, q));
			}
			j->ti++;
			j->ai = 0;
			j->phase = 2;
		}
		break;
	case J_STOP:
		/* reverse order; a disabled action may have started a
		 * family before it failed, so its stop still runs */
		while (j->ai < q->n) {
			a = q->acts[q->n - 1 - j->ai++];
			if (a->ops != NULL)
				OP(a, a->ops->stop(a, op_done, q));
		}
		break;
	case J_RELOAD:
		if (step_reload(q, j))
			return;
		break;
	case J_CALL:
		a = j->target;
		if (j->phase++ > 0)
			break;
		if (!usable(a)) {
			j->failed++;
			break;
		}
		switch (j->call) {
		case ACTION_CALL_START:
			OP(a, a->ops->start(a, op_done, q));
		case ACTION_CALL_STOP:
			OP(a, a->ops->stop(a, op_done, q));
		case ACTION_CALL_FLUSH:
			if (a->ops->has_flush(a))
				OP(a, a->ops->flush(a, false, op_done, q));
			break;
		case ACTION_CALL_CHECK:
			if (a->ops->check != NULL)
				OP(a, a->ops->check(a, op_done, q));
			break;
		}
		break;
	}
	finish_job(q);
}

void
actq_call(struct action_queue *q, struct action *a, enum action_call m,
    action_done_cb cb, void *arg)
{
	struct job *j = submit(q, J_CALL, NULL, 0, cb, arg);

	j->target = a;
	j->call = m;
}

struct action *
actq_add_new(struct action_queue *q, const char *name, bool python, char *err,
    size_t errlen)
{
	struct conf_action c;
	struct action *a;

	if (actq_find(q, name) != NULL) {
		snprintf(err, errlen, "Action %s already exists", name);
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	c.name = (char *)name;
	c.actname = (char *)name;
	c.python = python;
	c.start_on_demand = -1;
	c.repair_on_unban = -1;
	c.norestored = -1;
	c.timeout = 60;
	a = action_new(&c, q->env, NULL, err, errlen);
	if (a != NULL)
		actq_add(q, a);
	return a;
}

int
actq_remove(struct action_queue *q, const char *name)
{
	struct action *a = actq_find(q, name);

	if (a == NULL)
		return -1;
	for (size_t i = 0; i < q->n; i++)
		if (q->acts[i] == a) {
			memmove(&q->acts[i], &q->acts[i + 1],
			    (q->n - i - 1) * sizeof(*q->acts));
			q->n--;
			break;
		}
	/* a job may still refer to it: keep it, disabled, until the end */
	if (q->head == NULL && !q->op_busy) {
		action_free(a);
		return 0;
	}
	action_disable(a, "removed by delaction");
	q->dead = xreallocarray(q->dead, q->ndead + 1, sizeof(*q->dead));
	q->dead[q->ndead++] = a;
	return 0;
}

/* ---------------------------------------------------------------------
 * Properties and methods.
 */

static const char *const default_methods[] = {
    "ban", "flush", "reban", "reload", "start", "stop", "unban", NULL};

static const char *
class_name(const struct action *a)
{
	if (a->ops == NULL)
		return "Action";
	return a->ops->class_name ? a->ops->class_name : "ActionBase";
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

void
action_prop_names(struct action *a, struct strv *out)
{
	struct strv v = STRV_INIT;

	strv_add(&v, "banEpoch");
	if (a->ops != NULL && a->ops->prop_names != NULL) {
		a->ops->prop_names(a, &v);
	} else {
		for (size_t i = 0; i < a->conf.props.n; i++)
			strv_add(&v, a->conf.props.v[i].key);
		for (int k = 0; k < CONF_ACT_NCMDS; k++)
			if (a->conf.cmd[k] != NULL)
				strv_add(&v, conf_action_cmd_name(k));
	}
	/* dir(): sorted by code point (UTF-8 bytes sort the same), one
	 * entry per name, no private ones */
	if (v.n > 1)
		qsort(v.v, v.n, sizeof(*v.v), cmp_str);
	for (size_t i = 0; i < v.n; i++)
		if (v.v[i][0] != '_' &&
		    (i == 0 || strcmp(v.v[i], v.v[i - 1]) != 0))
			strv_add(out, v.v[i]);
	strv_cleanup(&v);
}

void
action_method_names(const struct action *a, struct strv *out)
{
	const char *const *m = a->ops == NULL ? NULL
	    : a->ops->methods != NULL         ? a->ops->methods
	                                      : default_methods;

	for (size_t i = 0; m != NULL && m[i] != NULL; i++)
		strv_add(out, m[i]);
}

bool
action_has_method(const struct action *a, const char *name)
{
	struct strv v = STRV_INIT;
	bool r;

	action_method_names(a, &v);
	r = strv_find(&v, name) >= 0;
	strv_cleanup(&v);
	return r;
}

int
action_prop_get(struct action *a, const char *name, char **value, bool *number,
    char *err, size_t errlen)
{
	const char *v = NULL;

	*value = NULL;
	*number = false;
	if (strcmp(name, "banEpoch") == 0) {
		*value = xasprintf("%u", a->ban_epoch);
		*number = true;
		return 0;
	}
	if (name[0] != '_' && action_has_method(a, name)) {
		*value = xasprintf("<bound method %s.%s of %s '%s'>",
		    class_name(a), name, class_name(a), a->name);
		return 0;
	}
	if (name[0] == '_') {
		/* private: never reachable */
	} else if (a->ops != NULL && a->ops->prop_get != NULL) {
		v = a->ops->prop_get(a, name, number);
	} else {
		v = conf_kv_get(&a->conf.props, name);
		for (int k = 0; v == NULL && k < CONF_ACT_NCMDS; k++)
			if (a->conf.cmd[k] != NULL &&
			    strcmp(conf_action_cmd_name(k), name) == 0)
				v = a->conf.cmd[k];
	}
	if (v == NULL) {
		snprintf(err, errlen, "'%s' object has no attribute '%s'",
		    class_name(a), name);
		return -1;
	}
	*value = xstrdup(v);
	return 0;
}

int
action_prop_set(struct action *a, const char *name, const char *value,
    char *err, size_t errlen)
{
	if (strcmp(name, "banEpoch") == 0) {
		char *end;
		unsigned long e = strtoul(value, &end, 10);

		if (end == value || *end != '\0') {
			snprintf(err, errlen, "banEpoch must be an integer");
			return -1;
		}
		a->ban_epoch = (unsigned)e;
		return 0;
	}
	if (a->ops == NULL || a->ops->prop_set == NULL) {
		snprintf(err, errlen,
		    "the properties of action '%s' (%s) cannot change at run "
		    "time: change its file and reload the jail",
		    a->name, a->ops ? a->ops->name : "Python action");
		return -1;
	}
	return a->ops->prop_set(a, name, value, err, errlen);
}
