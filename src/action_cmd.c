/*
 * The command backend: action.d files run exactly as fail2ban 1.0.2's
 * CommandAction runs them (server/action.py), in the libuv loop. Each
 * Python method (start/_start, stop/_stop, ban, unban, flush, reload,
 * _executeOperation, _invariantCheck, _processCmd) is a resumable frame
 * on a small stack: when a frame needs a command it starts it through
 * spawn and returns; the spawn callback resumes the frame that waits. One
 * operation per instance runs at a time (the queue sees to that), so the
 * stack and the bookkeeping below need no locking.
 *
 * Bookkeeping as in fail2ban: `started` maps a family ("" for actions
 * without ?family= properties, "inet4", "inet6", and Python's None for
 * raw ids) to flags (1 started, 2 holds bans); `executed` remembers the
 * start/stop/flush/reload command last run per family so an identical
 * command is not run again for another family.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "action.h"
#include "ignore.h"
#include "log.h"
#include "sbuf.h"
#include "spawn.h"
#include "tags.h"
#include "timeval.h"
#include "xmalloc.h"

enum fam { F_EMPTY, F_INET4, F_INET6, F_NONE, NFAM };

static const char *const fam_text[NFAM] = {"", "inet4", "inet6", NULL};

enum after_kind { AFTER_NONE, AFTER_START, AFTER_STOP, AFTER_FLUSH };

enum before_repair { BR_NONE, BR_UNBAN, BR_FLUSH_STOP };

enum fr { FR_RET, FR_CALL, FR_WAIT };

enum batch_kind { B_BAN, B_REBAN, B_UNBAN, B_PROLONG };

enum top_kind { T_START, T_STOP, T_FLUSH, T_RELOAD, T_CHECK, T_BATCH, T_USER };

struct cmdact;
struct frame;
typedef int (*frame_fn)(struct cmdact *ca, struct frame *f);

#define MAX_DEPTH 12

struct frame {
	frame_fn fn;
	int pc;
	/* result for the parent */
	int ret;
	char *exc; /* owned: the Python exception text, "raised" */
	/* result of the last child frame or command */
	int cret;
	char *cexc;
	/* arguments */
	enum conf_action_cmd tag;
	const char *opname; /* "starting", "stopping", ... */
	int fam;            /* enum fam */
	bool force;
	int after; /* enum after_kind */
	int brk;   /* enum before_repair */
	bool stop; /* flush: part of a jail stop */
	int kind;  /* enum batch_kind */
	const struct action_ticket *t;
	size_t n;
	struct tags_dyn *dyn;
	/* locals */
	int fams[NFAM + 2];
	int nfam;
	size_t i;
	int res;
	char *err;   /* owned */
	char *cmd;   /* owned */
	char *check; /* owned */
	int repcnt;
	int failed;
	int snap[NFAM]; /* consistencyCheck: started values at its start */
	struct tags_dyn dynbuf;
	char *iphost; /* owned */
};

struct dns_wait {
	struct cmdact *ca; /* NULL once abandoned */
};

struct cmdact {
	struct action *a;
	struct tags_props *props;
	char *cmds[CONF_ACT_NCMDS]; /* owned; "" when undefined */
	char *ucmd[2];              /* owned; actionuserlock, actionuserunlock
	                               (Warden's), NULL when undefined */
	bool has_prolong;           /* actionprolong was defined */
	double timeout;             /* seconds */
	char *timeout_text;         /* owned; as fail2ban prints it */
	int start_on_demand;        /* -1: from the ?family= properties */
	int repair_on_unban;        /* -1 unset */
	bool uses_iphost;
	/* fail2ban's __started, with insertion order */
	int started[NFAM];
	bool present[NFAM];
	int order[NFAM];
	int norder;
	/* fail2ban's _operationExecuted: per command, per family */
	char *executed[CONF_ACT_NCMDS][NFAM];
	/* the running operation */
	struct frame stack[MAX_DEPTH];
	int depth;
	action_done_cb cb;
	void *cbarg;
	int top; /* enum top_kind */
	struct spawn *running;
	struct tags_cmd runcmd;
	struct dns_wait *dns;
	uv_timer_t *kick; /* starts an operation from the loop */
	bool cancelled;
};

static void run(struct cmdact *ca);

/* ---------------------------------------------------------------------
 * Small helpers.
 */

static double
now_wall(const struct cmdact *ca)
{
	struct timespec ts;

	if (ca->a->env->now != NULL)
		return ca->a->env->now();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct tags_host *
host_names(const struct cmdact *ca)
{
	return ca->a->env->host != NULL ? ignore_env_host(ca->a->env->host)
	                                : NULL;
}

static int
st_get(const struct cmdact *ca, int fam)
{
	return ca->present[fam] ? ca->started[fam] : 0;
}

static void
st_set(struct cmdact *ca, int fam, int v)
{
	if (!ca->present[fam]) {
		ca->present[fam] = true;
		ca->order[ca->norder++] = fam;
	}
	ca->started[fam] = v;
}

static void
st_clear(struct cmdact *ca)
{
	memset(ca->present, 0, sizeof(ca->present));
	memset(ca->started, 0, sizeof(ca->started));
	ca->norder = 0;
}

static void
exec_set(struct cmdact *ca, enum conf_action_cmd tag, int fam, const char *c)
{
	free(ca->executed[tag][fam]);
	ca->executed[tag][fam] = xstrdup(c);
}

/* Forgets fam's command and every other family's identical one. */
static void
exec_del(struct cmdact *ca, enum conf_action_cmd tag, int fam)
{
	char *c = ca->executed[tag][fam];

	if (c == NULL)
		return;
	ca->executed[tag][fam] = NULL;
	for (int f = 0; f < NFAM; f++)
		if (ca->executed[tag][f] != NULL &&
		    strcmp(ca->executed[tag][f], c) == 0) {
			free(ca->executed[tag][f]);
			ca->executed[tag][f] = NULL;
		}
	free(c);
}

static bool
exec_other(
    const struct cmdact *ca, enum conf_action_cmd tag, int fam, const char *c)
{
	for (int f = 0; f < NFAM; f++)
		if (f != fam && ca->executed[tag][f] != NULL &&
		    strcmp(ca->executed[tag][f], c) == 0)
			return true;
	return false;
}

static bool
start_on_demand(const struct cmdact *ca)
{
	if (ca->start_on_demand >= 0)
		return ca->start_on_demand != 0;
	return tags_props_has_cond(ca->props);
}

/* fail2ban's _families. */
static int
families(const struct cmdact *ca, int *out)
{
	const char *v = tags_props_get(ca->props, "families");
	int n = 0;

	if (v != NULL && v[0] != '\0') {
		/* splitwords: commas and white space separate */
		const char *s = v;

		while (*s != '\0' && n < NFAM) {
			size_t l;

			while (
			    *s == ',' || *s == ' ' || *s == '\t' || *s == '\n')
				s++;
			l = strcspn(s, ", \t\n");
			if (l == 5 && strncmp(s, "inet4", 5) == 0)
				out[n++] = F_INET4;
			else if (l == 5 && strncmp(s, "inet6", 5) == 0)
				out[n++] = F_INET6;
			s += l;
		}
		if (n > 0)
			return n;
	}
	if (tags_props_has_cond(ca->props)) {
		out[n++] = F_INET4;
		if (ca->a->env->ipv6)
			out[n++] = F_INET6;
		return n;
	}
	out[n++] = F_EMPTY;
	return n;
}

static int
ticket_family(const struct action_ticket *t)
{
	if (t == NULL || !t->has_addr)
		return F_NONE;
	return t->addr.family == AF_INET6 ? F_INET6 : F_INET4;
}

static char *
tag_text(enum conf_action_cmd c)
{
	return xasprintf("<%s>", conf_action_cmd_name(c));
}

/*
 * fail2ban's _getOperation(tag, family): the static pass, then <family>
 * alone for a family-aware call. Returns the command (new), or NULL with
 * the ValueError text in *exc.
 */
static char *
get_operation(struct cmdact *ca, enum conf_action_cmd tag, int fam, char **exc)
{
	struct sbuf out = SBUF_INIT, err = SBUF_INIT;
	char *q = tag_text(tag);
	const char *famtext = fam_text[fam];
	char *cmd;

	if (tags_replace_static(
	        ca->props, q, famtext, host_names(ca), &out, &err) < 0) {
		*exc = sbuf_detach(&err);
		free(q);
		sbuf_cleanup(&out);
		return NULL;
	}
	free(q);
	sbuf_cleanup(&err);
	cmd = sbuf_detach(&out);
	if (cmd == NULL)
		cmd = xstrdup("");
	if (famtext != NULL && famtext[0] != '\0' && strchr(cmd, '<')) {
		struct tags_dyn d;
		struct tags_cmd tc;

		memset(&d, 0, sizeof(d));
		d.family = famtext;
		d.family_only = true;
		d.host = host_names(ca);
		tags_cmd_init(&tc);
		if (tags_replace_dynamic(cmd, &d, &tc) == 0 && tc.args.n == 0) {
			free(cmd);
			cmd = sbuf_detach(&tc.script);
		}
		tags_cmd_cleanup(&tc);
		if (cmd == NULL)
			cmd = xstrdup("");
	}
	return cmd;
}

/* ---------------------------------------------------------------------
 * Running one command.
 */

static void
spawn_done(void *arg, const struct spawn_result *r)
{
	struct cmdact *ca = arg;
	struct frame *f = &ca->stack[ca->depth - 1];
	bool ok;

	ok = spawn_log(r, (unsigned long)(uintptr_t)ca->running,
	    sbuf_str(&ca->runcmd.script),
	    (const char *const *)ca->runcmd.args.v, ca->runcmd.args.n,
	    ca->timeout_text, 1u);
	ca->running = NULL;
	tags_cmd_cleanup(&ca->runcmd);
	f->cret = ok;
	if (ca->cancelled && !ok)
		f->cret = 0;
	run(ca);
}

/*
 * fail2ban's executeCmd: an empty command succeeds at once (cret = 1,
 * FR_RET-free: the caller continues); otherwise the command starts and
 * the frame waits. Takes tc's contents.
 */
static int
exec_cmd(struct cmdact *ca, struct frame *f, struct tags_cmd *tc)
{
	if (tc->script.len == 0) {
		wlog(WLOG_DEBUG, "fail2ban.action", "Nothing to do");
		tags_cmd_cleanup(tc);
		f->cret = 1;
		return FR_CALL; /* resume the same frame immediately */
	}
	if (ca->cancelled) {
		tags_cmd_cleanup(tc);
		f->cret = 0;
		return FR_CALL;
	}
	if (wlog_enabled(9))
		wlog(9, "fail2ban.action", "%s", sbuf_str(&tc->script));
	ca->runcmd = *tc;
	tags_cmd_init(tc);
	{
		struct spawn_opts o;

		memset(&o, 0, sizeof(o));
		o.timeout = ca->timeout;
		o.shell = ca->a->env->shell;
		ca->running =
		    spawn_run(ca->a->env->loop, sbuf_str(&ca->runcmd.script),
		        (const char *const *)ca->runcmd.args.v,
		        ca->runcmd.args.n, &o, spawn_done, ca);
	}
	return FR_WAIT;
}

/* Runs a plain command string (a check or repair command). */
static int
exec_plain(struct cmdact *ca, struct frame *f, const char *cmd)
{
	struct tags_cmd tc;

	tags_cmd_init(&tc);
	sbuf_addstr(&tc.script, cmd);
	return exec_cmd(ca, f, &tc);
}

/* ---------------------------------------------------------------------
 * Frames. Each mirrors one method of CommandAction; `pc` is where it
 * resumes, cret/cexc hold what the last call produced.
 */

static struct frame *
push(struct cmdact *ca, frame_fn fn)
{
	struct frame *f;

	if (ca->depth >= MAX_DEPTH)
		abort(); /* bounded by construction */
	f = &ca->stack[ca->depth++];
	memset(f, 0, sizeof(*f));
	f->fn = fn;
	return f;
}

static void
frame_cleanup(struct frame *f)
{
	free(f->exc);
	free(f->cexc);
	free(f->err);
	free(f->cmd);
	free(f->check);
	free(f->iphost);
	f->exc = f->cexc = f->err = f->cmd = f->check = f->iphost = NULL;
}

/* Raises the child's exception in f (if any): returns true then. */
static bool
propagate(struct frame *f)
{
	if (f->cexc == NULL)
		return false;
	f->exc = f->cexc;
	f->cexc = NULL;
	return true;
}

static void
clear_child(struct frame *f)
{
	free(f->cexc);
	f->cexc = NULL;
}

/*
 * _executeOperation(tag, operation, family, afterExec). f->fams/nfam: the
 * families (nfam 0: every started family).
 */
static int
fr_execop(struct cmdact *ca, struct frame *f)
{
	char *exc = NULL;

	switch (f->pc) {
	case 0:
		f->res = 1;
		f->err = xstrdup("'Script error'");
		if (f->nfam == 0)
			for (int k = 0; k < ca->norder; k++)
				if (ca->started[ca->order[k]])
					f->fams[f->nfam++] = ca->order[k];
		f->i = 0;
		/* fallthrough */
	case 1:
	loop:
		if (f->i >= (size_t)f->nfam)
			break;
		{
			int fam = f->fams[f->i];

			free(f->cmd);
			f->cmd = get_operation(ca, f->tag, fam, &exc);
			if (f->cmd == NULL) {
				struct sbuf r = SBUF_INIT;

				f->res = 0;
				sbuf_addstr(&r, "ValueError(");
				tags_pyrepr(exc, strlen(exc), &r);
				sbuf_addch(&r, ')');
				free(f->err);
				f->err = sbuf_detach(&r);
				free(exc);
				f->i++;
				goto loop;
			}
			f->cret = 1;
			if (f->cmd[0] != '\0' &&
			    !exec_other(ca, f->tag, fam, f->cmd)) {
				struct tags_dyn d;
				struct tags_cmd tc;

				memset(&d, 0, sizeof(d));
				d.now = now_wall(ca);
				d.family = fam_text[fam] != NULL ? fam_text[fam]
				                                 : "None";
				d.jail_bantime = ca->a->env->jail_bantime;
				d.host = host_names(ca);
				d.info = ca->a->env->info;
				d.info_ctx = ca->a->env->info_ctx;
				tags_cmd_init(&tc);
				if (tags_replace_dynamic(f->cmd, &d, &tc) < 0) {
					tags_cmd_cleanup(&tc);
					f->cret = 0;
					f->pc = 2;
					goto after;
				}
				f->pc = 2;
				return exec_cmd(ca, f, &tc);
			}
			f->pc = 3; /* skipped: ret stays True */
			goto after;
		}
	case 2:
	case 3:
	after : {
		int fam = f->fams[f->i];
		int ok = f->cret;

		if (f->pc == 2 && !ok)
			f->res = 0;
		switch (f->after) {
		case AFTER_START:
			if (ok) {
				exec_del(ca, CONF_ACT_STOP, fam);
				st_set(ca, fam, 1);
			}
			break;
		case AFTER_STOP:
			if (ok)
				exec_del(ca, CONF_ACT_START, fam);
			break;
		case AFTER_FLUSH:
			if (ok && st_get(ca, fam))
				ca->started[fam] &= ~2;
			break;
		default:
			break;
		}
		if (ok)
			exec_set(ca, f->tag, fam, f->cmd);
		else
			exec_del(ca, f->tag, fam);
		f->i++;
		f->pc = 1;
		goto loop;
	}
	}
	if (!f->res) {
		f->exc = xasprintf("Error %s action Jail('%s')/%s: %s",
		    f->opname, ca->a->env->jail, ca->a->name, f->err);
		f->ret = 0;
	} else {
		f->ret = 1;
	}
	return FR_RET;
}

static struct frame *
call_execop(struct cmdact *ca, enum conf_action_cmd tag, const char *opname,
    const int *fams, int nfam, int after)
{
	struct frame *c = push(ca, fr_execop);

	c->tag = tag;
	c->opname = opname;
	for (int i = 0; i < nfam; i++)
		c->fams[i] = fams[i];
	c->nfam = nfam;
	c->after = after;
	return c;
}

/* _start(family=f->fam (F_NONE: None), forceStart=f->force) */
static int
fr_start(struct cmdact *ca, struct frame *f)
{
	int fams[NFAM + 1], n;

	switch (f->pc) {
	case 0:
		if (start_on_demand(ca)) {
			if (!f->force) {
				f->ret = 1;
				return FR_RET;
			}
		} else if (!f->force && st_get(ca, f->fam)) {
			f->ret = 1;
			return FR_RET;
		}
		if (f->fam != F_NONE) {
			fams[0] = f->fam;
			n = 1;
		} else {
			n = families(ca, fams);
		}
		f->pc = 1;
		call_execop(
		    ca, CONF_ACT_START, "starting", fams, n, AFTER_START);
		return FR_CALL;
	case 1:
		if (propagate(f))
			return FR_RET;
		f->ret = f->cret;
		return FR_RET;
	}
	return FR_RET;
}

static struct frame *
call_start(struct cmdact *ca, int fam, bool force)
{
	struct frame *c = push(ca, fr_start);

	c->fam = fam;
	c->force = force;
	return c;
}

/* _stop(family=f->fam (F_NONE: None = all started)) */
static int
fr_stop(struct cmdact *ca, struct frame *f)
{
	int fams[NFAM + 1], n = 0;

	switch (f->pc) {
	case 0:
		if (f->fam == F_NONE) {
			for (int k = 0; k < ca->norder; k++)
				if (ca->started[ca->order[k]])
					fams[n++] = ca->order[k];
			if (n == 0) {
				f->ret = 1;
				return FR_RET;
			}
			st_clear(ca);
		} else {
			if (!ca->present[f->fam]) {
				f->ret = 1;
				return FR_RET;
			}
			ca->started[f->fam] = 0;
			fams[n++] = f->fam;
		}
		f->pc = 1;
		call_execop(ca, CONF_ACT_STOP, "stopping", fams, n, AFTER_STOP);
		return FR_CALL;
	case 1:
		if (propagate(f))
			return FR_RET;
		f->ret = f->cret;
		return FR_RET;
	}
	return FR_RET;
}

static struct frame *
call_stop(struct cmdact *ca, int fam)
{
	struct frame *c = push(ca, fr_stop);

	c->fam = fam;
	return c;
}

/* The beforeRepair callbacks of _processCmd and __flushBan. */
static bool
before_repair(struct cmdact *ca, int brk)
{
	if (brk == BR_UNBAN && ca->repair_on_unban <= 0) {
		wlog(WLOG_ERROR, "fail2ban.CommandAction",
		    "Invariant check failed. Unban is impossible.");
		return false;
	}
	if (brk == BR_FLUSH_STOP && ca->repair_on_unban <= 0) {
		wlog(WLOG_ERROR, "fail2ban.CommandAction",
		    "Invariant check failed. Flush is impossible.");
		return false;
	}
	return true;
}

/* _invariantCheck(family, beforeRepair, forceStart): ret 1, 0 or -1. */
static int
fr_invcheck(struct cmdact *ca, struct frame *f)
{
	char *exc = NULL;

	switch (f->pc) {
	case 0:
		if (!f->force && f->fam != F_NONE && !ca->present[f->fam]) {
			f->ret = 1;
			return FR_RET;
		}
		f->check = get_operation(ca, CONF_ACT_CHECK, f->fam, &exc);
		if (f->check == NULL) {
			f->exc = exc;
			return FR_RET;
		}
		if (f->check[0] == '\0') {
			f->ret = 1;
			return FR_RET;
		}
		f->pc = 1;
		return exec_plain(ca, f, f->check);
	case 1:
		if (f->cret) {
			f->ret = 1;
			return FR_RET;
		}
		if (f->brk != BR_NONE && !before_repair(ca, f->brk)) {
			f->ret = -1;
			return FR_RET;
		}
		wlog(WLOG_ERROR, "fail2ban.CommandAction",
		    "Invariant check failed. Trying to restore a sane "
		    "environment");
		action_invalidate_epoch(ca->a);
		f->cmd = get_operation(ca, CONF_ACT_REPAIR, f->fam, &exc);
		if (f->cmd == NULL) {
			f->exc = exc;
			return FR_RET;
		}
		if (f->cmd[0] != '\0') {
			f->pc = 2;
			return exec_plain(ca, f, f->cmd);
		}
		/* No repair command: restart the action. */
		f->pc = 3;
		call_stop(ca, f->fam);
		return FR_CALL;
	case 2:
		if (!f->cret) {
			st_set(ca, f->fam, 0);
			wlog(WLOG_CRITICAL, "fail2ban.CommandAction",
			    "Unable to restore environment");
			f->ret = 0;
			return FR_RET;
		}
		st_set(ca, f->fam, 1);
		goto recheck;
	case 3:
		clear_child(f); /* errors of the stop are bypassed */
		f->pc = 4;
		call_start(ca, f->fam, f->force || !start_on_demand(ca));
		return FR_CALL;
	case 4:
		if (propagate(f))
			return FR_RET;
	recheck:
		if (st_get(ca, f->fam)) {
			f->pc = 5;
			return exec_plain(ca, f, f->check);
		}
		f->ret = 1;
		return FR_RET;
	case 5:
		if (!f->cret) {
			wlog(WLOG_CRITICAL, "fail2ban.CommandAction",
			    "Unable to restore environment");
			f->ret = 0;
			return FR_RET;
		}
		f->ret = 1;
		return FR_RET;
	}
	return FR_RET;
}

static struct frame *
call_invcheck(struct cmdact *ca, int fam, int brk, bool force)
{
	struct frame *c = push(ca, fr_invcheck);

	c->fam = fam;
	c->brk = brk;
	c->force = force;
	return c;
}

/* _processCmd(cmd, aInfo): ret true/false, or an exception. */
static int
fr_process(struct cmdact *ca, struct frame *f)
{
	struct sbuf out = SBUF_INIT, err = SBUF_INIT;
	struct tags_cmd tc;
	int fam = ticket_family(f->t);
	char *q;

	switch (f->pc) {
	case 0:
		f->repcnt = 0;
		/* fallthrough */
	case 1:
	loop:
		if (f->repcnt > 0 && ca->cmds[CONF_ACT_CHECK][0] != '\0') {
			f->pc = 2;
			call_invcheck(ca, fam,
			    f->tag == CONF_ACT_UNBAN ? BR_UNBAN : BR_NONE,
			    f->tag != CONF_ACT_UNBAN);
			return FR_CALL;
		}
		goto subst;
	case 2:
		if (propagate(f))
			return FR_RET;
		if (f->cret != 1) {
			f->ret = 0;
			return FR_RET;
		}
	subst:
		q = tag_text(f->tag);
		if (tags_replace_static(ca->props, q, fam_text[fam],
		        host_names(ca), &out, &err) < 0) {
			free(q);
			sbuf_cleanup(&out);
			f->exc = sbuf_detach(&err);
			return FR_RET;
		}
		free(q);
		sbuf_cleanup(&err);
		tags_cmd_init(&tc);
		f->dyn->ip_host = f->iphost;
		if (tags_replace_dynamic(sbuf_str(&out), f->dyn, &tc) < 0) {
			sbuf_cleanup(&out);
			tags_cmd_cleanup(&tc);
			f->exc = xasprintf(
			    "command longer than %d bytes", TAGS_MAX_OUT);
			return FR_RET;
		}
		sbuf_cleanup(&out);
		f->pc = 3;
		return exec_cmd(ca, f, &tc);
	case 3:
		f->repcnt++;
		if (f->cret || f->repcnt > 1) {
			f->ret = f->cret;
			return FR_RET;
		}
		f->pc = 1;
		goto loop;
	}
	return FR_RET;
}

static struct frame *
call_process(struct cmdact *ca, enum conf_action_cmd tag,
    const struct action_ticket *t, struct tags_dyn *dyn, const char *iphost)
{
	struct frame *c = push(ca, fr_process);

	c->tag = tag;
	c->t = t;
	c->dyn = dyn;
	c->iphost = iphost != NULL ? xstrdup(iphost) : NULL;
	return c;
}

/*
 * One ticket: ban (f->tag = actionban or actionreban), unban or prolong,
 * as CommandAction.ban/unban/prolong.
 */
static int
fr_ticket(struct cmdact *ca, struct frame *f)
{
	int fam = ticket_family(f->t);
	char ipbuf[FKEY_STRLEN];
	const char *ip;

	switch (f->pc) {
	case 0:
		/* every path reads aInfo['family'] (and so 'ip') */
		f->dyn->used |= TAGS_IP | TAGS_FAMILY;
		if (f->kind == B_BAN || f->kind == B_REBAN) {
			if (start_on_demand(ca) && !st_get(ca, fam)) {
				f->pc = 1;
				call_start(ca, fam, true);
				return FR_CALL;
			}
			goto process;
		}
		if (f->kind == B_UNBAN && !(st_get(ca, fam) & 2)) {
			f->ret = 1;
			return FR_RET;
		}
		goto process;
	case 1:
		if (propagate(f))
			return FR_RET;
	process:
		f->pc = 2;
		call_process(ca, f->tag, f->t, f->dyn, f->iphost);
		return FR_CALL;
	case 2:
		if (propagate(f))
			return FR_RET;
		if (!f->cret) {
			if (f->t->has_addr)
				ip = addr_format(&f->t->addr, ipbuf);
			else
				ip = fkey_format(&f->t->key, ipbuf);
			f->exc = xasprintf("Error %s %s",
			    f->kind == B_UNBAN         ? "unbanning"
			        : f->kind == B_PROLONG ? "prolonging"
			                               : "banning",
			    ip);
			return FR_RET;
		}
		if (f->kind == B_BAN || f->kind == B_REBAN)
			st_set(ca, fam, st_get(ca, fam) | 3);
		f->ret = 1;
		return FR_RET;
	}
	return FR_RET;
}

static void
dns_done(void *arg, const char *name)
{
	struct dns_wait *w = arg;
	struct cmdact *ca = w->ca;
	struct frame *f;

	free(w);
	if (ca == NULL)
		return;
	ca->dns = NULL;
	f = &ca->stack[ca->depth - 1];
	free(f->iphost);
	f->iphost = name != NULL ? xstrdup(name) : NULL;
	f->cret = 1;
	run(ca);
}

/* The batch: every ticket in order; failures logged per ticket. */
static int
fr_batch(struct cmdact *ca, struct frame *f)
{
	const struct action_ticket *t;
	struct frame *c;
	struct sbuf info = SBUF_INIT;
	const char *name;

	switch (f->pc) {
	case 0:
		f->i = 0;
		/* fallthrough */
	case 1:
	loop:
		if (f->i >= f->n || ca->cancelled)
			break;
		t = &f->t[f->i];
		memset(&f->dynbuf, 0, sizeof(f->dynbuf));
		f->dynbuf.t = t;
		f->dynbuf.now = now_wall(ca);
		f->dynbuf.jail_bantime = ca->a->env->jail_bantime;
		f->dynbuf.host = host_names(ca);
		f->dynbuf.info = ca->a->env->info;
		f->dynbuf.info_ctx = ca->a->env->info_ctx;
		free(f->iphost);
		f->iphost = NULL;
		if (ca->uses_iphost && t->has_addr &&
		    ca->a->env->host != NULL) {
			struct dns_wait *w = xcalloc(1, sizeof(*w));

			w->ca = ca;
			name = NULL;
			if (ignore_env_ptr(ca->a->env->host, &t->addr, &name,
			        dns_done, w) == 1) {
				free(w);
				f->iphost = name != NULL ? xstrdup(name) : NULL;
			} else {
				ca->dns = w;
				f->pc = 2;
				return FR_WAIT;
			}
		}
		/* fallthrough */
	case 2:
		if (ca->cancelled)
			break;
		t = &f->t[f->i];
		c = push(ca, fr_ticket);
		c->kind = f->kind;
		c->tag = f->kind == B_BAN ? CONF_ACT_BAN
		    : f->kind == B_UNBAN  ? CONF_ACT_UNBAN
		    : f->kind == B_PROLONG
		    ? CONF_ACT_PROLONG
		    : (ca->cmds[CONF_ACT_REBAN][0] != '\0' ? CONF_ACT_REBAN
		                                           : CONF_ACT_BAN);
		c->t = t;
		c->dyn = &f->dynbuf;
		c->iphost = f->iphost != NULL ? xstrdup(f->iphost) : NULL;
		f->pc = 3;
		return FR_CALL;
	case 3:
		if (f->cexc != NULL) {
			f->dynbuf.ip_host = f->iphost;
			tags_ainfo_repr(&f->dynbuf, &info);
			action_log_failure(ca->a,
			    f->kind == B_UNBAN       ? "unban"
			        : f->kind == B_REBAN ? "reban"
			                             : "ban",
			    sbuf_str(&info), f->cexc);
			sbuf_cleanup(&info);
			clear_child(f);
			f->failed++;
			if (f->kind == B_REBAN)
				break; /* __reBan stops at the first error */
		}
		f->i++;
		f->pc = 1;
		goto loop;
	}
	f->ret = f->failed == 0 && !ca->cancelled;
	return FR_RET;
}

/*
 * Login tracking: actionuserlock (f->kind 0) or actionuserunlock (1) for
 * the login ticket f->t: the static pass over the action's properties,
 * then the ticket's values with <user> (shell-escaped like every value).
 */
static int
fr_user(struct cmdact *ca, struct frame *f)
{
	const char *op = f->kind == 0 ? "lock user" : "unlock user";

	switch (f->pc) {
	case 0: {
		const char *raw = ca->ucmd[f->kind];
		struct sbuf out = SBUF_INIT, err = SBUF_INIT;
		struct tags_cmd tc;

		if (raw == NULL || raw[0] == '\0') {
			f->ret = 1;
			return FR_RET;
		}
		if (tags_replace_static(
		        ca->props, raw, NULL, host_names(ca), &out, &err) < 0) {
			action_log_failure(ca->a, op, NULL, sbuf_str(&err));
			sbuf_cleanup(&out);
			sbuf_cleanup(&err);
			f->ret = 0;
			return FR_RET;
		}
		sbuf_cleanup(&err);
		memset(&f->dynbuf, 0, sizeof(f->dynbuf));
		f->dynbuf.t = f->t;
		f->dynbuf.now = now_wall(ca);
		f->dynbuf.jail_bantime = ca->a->env->jail_bantime;
		f->dynbuf.host = host_names(ca);
		f->dynbuf.user_tag = true;
		tags_cmd_init(&tc);
		if (tags_replace_dynamic(sbuf_str(&out), &f->dynbuf, &tc) < 0) {
			tags_cmd_cleanup(&tc);
			sbuf_cleanup(&out);
			action_log_failure(
			    ca->a, op, NULL, "the command is too long");
			f->ret = 0;
			return FR_RET;
		}
		sbuf_cleanup(&out);
		f->pc = 1;
		return exec_cmd(ca, f, &tc);
	}
	case 1:
		if (!f->cret)
			action_log_failure(ca->a, op, NULL,
			    f->kind == 0 ? "actionuserlock failed"
			                 : "actionuserunlock failed");
		f->ret = f->cret;
		return FR_RET;
	}
	return FR_RET;
}

/* The jail-level operations around start/stop/flush/reload/check. */
static int
fr_top(struct cmdact *ca, struct frame *f)
{
	switch (f->pc) {
	case 0:
		f->pc = 1;
		switch (ca->top) {
		case T_START:
			call_start(ca, F_NONE, false);
			return FR_CALL;
		case T_STOP:
			call_stop(ca, F_NONE);
			return FR_CALL;
		case T_RELOAD:
			call_execop(ca, CONF_ACT_RELOAD, "reloading", NULL, 0,
			    AFTER_NONE);
			return FR_CALL;
		case T_FLUSH: {
			int fams[NFAM], n = 0;

			for (int k = 0; k < ca->norder; k++)
				if ((ca->started[ca->order[k]] & 3) == 3)
					fams[n++] = ca->order[k];
			if (n == 0) {
				f->ret = 1;
				return FR_RET;
			}
			call_execop(ca, CONF_ACT_FLUSH, "flushing", fams, n,
			    AFTER_FLUSH);
			return FR_CALL;
		}
		case T_CHECK:
			goto check_begin;
		default:
			f->ret = 1;
			return FR_RET;
		}
	case 1:
		if (f->cexc != NULL) {
			action_log_failure(ca->a,
			    ca->top == T_START       ? "start"
			        : ca->top == T_STOP  ? "stop"
			        : ca->top == T_FLUSH ? "flush"
			                             : "reload",
			    NULL, f->cexc);
			if (ca->top == T_FLUSH) {
				/* __flushBan: check the environment */
				wlog(WLOG_INFO, "fail2ban.actions",
				    "No flush occurred, do consistency check");
				clear_child(f);
				f->res = 0;
				goto check_begin;
			}
			clear_child(f);
			f->ret = 0;
			return FR_RET;
		}
		f->ret = 1;
		return FR_RET;
	check_begin:
		/* consistencyCheck(beforeRepair): over a snapshot of the
		 * started families, as Python's list(items()). */
		f->nfam = ca->norder;
		for (int k = 0; k < ca->norder; k++) {
			f->fams[k] = ca->order[k];
			f->snap[k] = ca->started[ca->order[k]];
		}
		f->i = 0;
		/* fallthrough */
	case 3:
	check:
		if (ca->cmds[CONF_ACT_CHECK][0] == '\0' ||
		    f->i >= (size_t)f->nfam) {
			f->ret = ca->top == T_CHECK ? !f->failed : 0;
			return FR_RET;
		}
		if (!f->snap[f->i]) {
			f->i++;
			goto check;
		}
		f->pc = 4;
		call_invcheck(ca, f->fams[f->i],
		    ca->top == T_FLUSH && f->stop ? BR_FLUSH_STOP : BR_NONE,
		    true);
		return FR_CALL;
	case 4:
		if (f->cexc != NULL) {
			/* an exception ends the check, as in Python */
			action_log_failure(ca->a, "check", NULL, f->cexc);
			clear_child(f);
			f->ret = 0;
			return FR_RET;
		}
		if (f->cret == 0) {
			int fam = f->fams[f->i];

			st_set(ca, fam, 0);
			exec_del(ca, CONF_ACT_START, fam);
			f->failed++;
		}
		f->i++;
		f->pc = 3;
		goto check;
	}
	return FR_RET;
}

/* ---------------------------------------------------------------------
 * The driver.
 */

static void
finish_op(struct cmdact *ca, int ok)
{
	action_done_cb cb = ca->cb;
	void *arg = ca->cbarg;

	ca->cb = NULL;
	ca->depth = 0;
	if (cb != NULL)
		cb(arg, ok ? 0 : -1);
}

static void
run(struct cmdact *ca)
{
	if (ca->cancelled) {
		/* shutdown: unwind without running (or logging) more */
		while (ca->depth > 0)
			frame_cleanup(&ca->stack[--ca->depth]);
		finish_op(ca, 0);
		return;
	}
	for (;;) {
		struct frame *f = &ca->stack[ca->depth - 1];
		int r = f->fn(ca, f);
		int ret;
		char *exc;

		if (r == FR_WAIT)
			return;
		if (r == FR_CALL)
			continue;
		ret = f->ret;
		exc = f->exc;
		f->exc = NULL;
		frame_cleanup(f);
		ca->depth--;
		if (ca->depth == 0) {
			free(exc);
			finish_op(ca, ret);
			return;
		}
		f = &ca->stack[ca->depth - 1];
		f->cret = ret;
		free(f->cexc);
		f->cexc = exc;
	}
}

static void
kick_cb(uv_timer_t *t)
{
	run(t->data);
}

static void
begin(struct cmdact *ca, int top, action_done_cb cb, void *arg)
{
	ca->cb = cb;
	ca->cbarg = arg;
	ca->top = top;
	ca->depth = 0;
	push(ca, top == T_BATCH ? fr_batch : top == T_USER ? fr_user : fr_top);
	/* From the loop, never from inside the caller. */
	uv_timer_start(ca->kick, kick_cb, 0, 0);
}

/* ---------------------------------------------------------------------
 * The vtable.
 */

static void
kick_close_cb(uv_handle_t *h)
{
	free(h);
}

static void
set_conf(struct cmdact *ca, const struct conf_action *c)
{
	bool is_float = false;
	double tmo;
	const char *traw = NULL;
	struct sbuf b = SBUF_INIT;

	tags_props_free(ca->props);
	ca->props = tags_props_new();
	for (size_t i = 0; i < c->props.n; i++) {
		const char *k = c->props.v[i].key;

		/* fail2ban's WRAP_CMD_PARAMS: bantime is ignored, timeout
		 * becomes a number. */
		if (strcmp(k, "bantime") == 0)
			continue;
		if (strcmp(k, "timeout") == 0) {
			traw = c->props.v[i].value;
			continue;
		}
		tags_props_set(ca->props, k, c->props.v[i].value);
	}
	tmo = c->timeout > 0 ? c->timeout : 60;
	if (traw != NULL && timeval_parse(traw, &tmo, &is_float, NULL, 0) < 0) {
		tmo = c->timeout > 0 ? c->timeout : 60;
		is_float = false;
	}
	if (is_float || tmo != floor(tmo))
		tags_pyfloat(tmo, &b);
	else
		sbuf_printf(&b, "%.0f", tmo);
	free(ca->timeout_text);
	ca->timeout_text = sbuf_detach(&b);
	ca->timeout = tmo;
	tags_props_set(ca->props, "timeout", ca->timeout_text);

	for (int k = 0; k < 2; k++) {
		const char *u = k == 0 ? c->userlock : c->userunlock;

		free(ca->ucmd[k]);
		ca->ucmd[k] = u != NULL ? xstrdup(u) : NULL;
	}
	ca->uses_iphost = false;
	for (int k = 0; k < CONF_ACT_NCMDS; k++) {
		free(ca->cmds[k]);
		ca->cmds[k] = xstrdup(c->cmd[k] != NULL ? c->cmd[k] : "");
		/* clearAllParams defines every command but actionprolong */
		if (k != CONF_ACT_PROLONG || c->cmd[k] != NULL)
			tags_props_set(
			    ca->props, conf_action_cmd_name(k), ca->cmds[k]);
		if (tags_mentions(ca->cmds[k], "<ip-host>"))
			ca->uses_iphost = true;
	}
	for (size_t i = 0; i < c->props.n; i++)
		if (tags_mentions(c->props.v[i].value, "<ip-host>"))
			ca->uses_iphost = true;
	ca->has_prolong = false;
	if (c->cmd[CONF_ACT_PROLONG] != NULL)
		for (const char *s = c->cmd[CONF_ACT_PROLONG]; *s; s++)
			if (*s != ' ' && *s != '\t' && *s != '\n' &&
			    *s != '\r' && *s != '\f' && *s != '\v')
				ca->has_prolong = true;
	ca->start_on_demand = c->start_on_demand;
	ca->repair_on_unban = c->repair_on_unban;
	if (c->start_on_demand >= 0)
		tags_props_set(ca->props, "actionstart_on_demand",
		    c->start_on_demand ? "True" : "False");
	if (c->repair_on_unban >= 0)
		tags_props_set(ca->props, "actionrepair_on_unban",
		    c->repair_on_unban ? "True" : "False");
	if (c->norestored >= 0)
		tags_props_set(
		    ca->props, "norestored", c->norestored ? "True" : "False");
	ca->a->norestored = c->norestored > 0;
	/* fail2ban keeps the executed commands in its substitution cache,
	 * which any property change clears. */
	for (int k = 0; k < CONF_ACT_NCMDS; k++)
		for (int f = 0; f < NFAM; f++) {
			free(ca->executed[k][f]);
			ca->executed[k][f] = NULL;
		}
}

static int
cmd_init(
    struct action *a, const struct conf_action *c, char *err, size_t errlen)
{
	struct cmdact *ca = xcalloc(1, sizeof(*ca));

	(void)err;
	(void)errlen;
	ca->a = a;
	a->priv = ca;
	ca->kick = xcalloc(1, sizeof(*ca->kick));
	uv_timer_init(a->env->loop, ca->kick);
	ca->kick->data = ca;
	tags_cmd_init(&ca->runcmd);
	set_conf(ca, c);
	return 0;
}

static void
cmd_destroy(struct action *a)
{
	struct cmdact *ca = a->priv;

	if (ca == NULL)
		return;
	if (ca->dns != NULL)
		ca->dns->ca = NULL;
	for (int i = ca->depth - 1; i >= 0; i--)
		frame_cleanup(&ca->stack[i]);
	tags_props_free(ca->props);
	free(ca->ucmd[0]);
	free(ca->ucmd[1]);
	for (int k = 0; k < CONF_ACT_NCMDS; k++) {
		free(ca->cmds[k]);
		for (int f = 0; f < NFAM; f++)
			free(ca->executed[k][f]);
	}
	free(ca->timeout_text);
	tags_cmd_cleanup(&ca->runcmd);
	uv_close((uv_handle_t *)ca->kick, kick_close_cb);
	free(ca);
	a->priv = NULL;
}

static void
cmd_start(struct action *a, action_done_cb cb, void *arg)
{
	begin(a->priv, T_START, cb, arg);
}

static void
cmd_stop(struct action *a, action_done_cb cb, void *arg)
{
	begin(a->priv, T_STOP, cb, arg);
}

static bool
cmd_has_flush(struct action *a)
{
	struct cmdact *ca = a->priv;

	return ca->cmds[CONF_ACT_FLUSH][0] != '\0';
}

static void
cmd_flush(struct action *a, bool stop, action_done_cb cb, void *arg)
{
	struct cmdact *ca = a->priv;

	begin(ca, T_FLUSH, cb, arg);
	ca->stack[0].stop = stop;
}

static void
batch(struct action *a, int kind, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	struct cmdact *ca = a->priv;

	begin(ca, T_BATCH, cb, arg);
	ca->stack[0].kind = kind;
	ca->stack[0].t = t;
	ca->stack[0].n = n;
}

static void
cmd_ban(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	batch(a, B_BAN, t, n, cb, arg);
}

static void
cmd_reban(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	batch(a, B_REBAN, t, n, cb, arg);
}

static void
cmd_unban(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	batch(a, B_UNBAN, t, n, cb, arg);
}

static bool
cmd_prolongable(struct action *a)
{
	return ((struct cmdact *)a->priv)->has_prolong;
}

static void
cmd_prolong(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	batch(a, B_PROLONG, t, n, cb, arg);
}

static void
cmd_reload(
    struct action *a, const struct conf_action *c, action_done_cb cb, void *arg)
{
	struct cmdact *ca = a->priv;

	set_conf(ca, c);
	begin(ca, T_RELOAD, cb, arg);
}

static void
cmd_user(struct action *a, const struct action_ticket *t, bool lock,
    action_done_cb cb, void *arg)
{
	struct cmdact *ca = a->priv;

	begin(ca, T_USER, cb, arg);
	ca->stack[0].t = t;
	ca->stack[0].kind = lock ? 0 : 1;
}

static void
cmd_check(struct action *a, action_done_cb cb, void *arg)
{
	begin(a->priv, T_CHECK, cb, arg);
}

static void
cmd_cancel(struct action *a)
{
	struct cmdact *ca = a->priv;

	ca->cancelled = true;
	if (ca->running != NULL)
		spawn_kill(ca->running);
	if (ca->dns != NULL) {
		/* Resume without the name; the lookup result is dropped. */
		ca->dns->ca = NULL;
		ca->dns = NULL;
		uv_timer_start(ca->kick, kick_cb, 0, 0);
		ca->stack[ca->depth - 1].pc = 2;
	}
}

/* ---------------------------------------------------------------------
 * Properties at run time: CommandAction's attributes (__setattr__ with
 * WRAP_CMD_PARAMS: timeout through str2seconds, bantime ignored).
 */

/* CommandAction's class attributes that dir() lists, as str() shows
 * them. */
static const char escape_cre[] = "re.compile('[\\\\\\\\#&;`|*?~<>\\\\^\\\\("
                                 "\\\\)\\\\[\\\\]{}$\\'\"\\\\n\\\\r]')";
static const char escape_vn_cre[] = "re.compile('\\\\W')";

static const char *const cmd_methods[] = {"ban", "clearAllParams",
    "consistencyCheck", "escapeTag", "executeCmd", "flush",
    "invalidateBanEpoch", "prolong", "reban", "reload", "replaceDynamicTags",
    "replaceTag", "start", "stop", "unban", NULL};

static int
cmd_index(const char *name)
{
	for (int k = 0; k < CONF_ACT_NCMDS; k++)
		if (strcmp(conf_action_cmd_name(k), name) == 0)
			return k;
	return -1;
}

/* Flags that depend on the properties, after a change. */
static void
props_changed(struct cmdact *ca)
{
	const char *p = ca->cmds[CONF_ACT_PROLONG];

	ca->uses_iphost = false;
	for (size_t i = 0; i < tags_props_count(ca->props); i++) {
		const char *k, *v;

		tags_props_at(ca->props, i, &k, &v);
		if (tags_mentions(v, "<ip-host>"))
			ca->uses_iphost = true;
	}
	ca->has_prolong = false;
	for (; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' &&
		    *p != '\f' && *p != '\v')
			ca->has_prolong = true;
	/* fail2ban clears its substitution cache on every change */
	for (int k = 0; k < CONF_ACT_NCMDS; k++)
		for (int f = 0; f < NFAM; f++) {
			free(ca->executed[k][f]);
			ca->executed[k][f] = NULL;
		}
}

/* Text that may show a ticket's matches: <matches>, <ipmatches> and
 * <ipjailmatches> (their fallback), <F-*> and the <F-...> data,
 * <raw-ticket>; also through a property it names. */
static bool
shows_matches(const char *s)
{
	return s != NULL &&
	    (strstr(s, "matches") != NULL || strstr(s, "F-") != NULL ||
	        strstr(s, "raw-ticket") != NULL);
}

static bool
cmd_uses_matches(struct action *a)
{
	struct cmdact *ca = a->priv;

	for (int k = 0; k < CONF_ACT_NCMDS; k++)
		if (shows_matches(ca->cmds[k]))
			return true;
	for (int k = 0; k < 2; k++)
		if (shows_matches(ca->ucmd[k]))
			return true;
	for (size_t i = 0; i < tags_props_count(ca->props); i++) {
		const char *k, *v;

		tags_props_at(ca->props, i, &k, &v);
		if (shows_matches(v))
			return true;
	}
	return false;
}

static void
cmd_prop_names(struct action *a, struct strv *out)
{
	struct cmdact *ca = a->priv;

	strv_add(out, "ESCAPE_CRE");
	strv_add(out, "ESCAPE_VN_CRE");
	for (size_t i = 0; i < tags_props_count(ca->props); i++) {
		const char *k, *v;

		tags_props_at(ca->props, i, &k, &v);
		strv_add(out, k);
	}
}

static const char *
cmd_prop_get(struct action *a, const char *name, bool *number)
{
	struct cmdact *ca = a->priv;

	*number = false;
	if (strcmp(name, "ESCAPE_CRE") == 0)
		return escape_cre;
	if (strcmp(name, "ESCAPE_VN_CRE") == 0)
		return escape_vn_cre;
	if (strcmp(name, "timeout") == 0)
		*number = true;
	return tags_props_get(ca->props, name);
}

/* Python's bool() of a configuration text, as fail2ban's _asbool. */
static int
as_bool(const char *v)
{
	static const char *const yes[] = {"1", "yes", "true", "on", NULL};

	for (size_t i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	return 0;
}

static int
cmd_prop_set(struct action *a, const char *name, const char *value, char *err,
    size_t errlen)
{
	struct cmdact *ca = a->priv;
	int k = cmd_index(name);

	if (strcmp(name, "bantime") == 0)
		return 0; /* fail2ban ignores it (the ticket's is used) */
	if (strcmp(name, "ESCAPE_CRE") == 0 ||
	    strcmp(name, "ESCAPE_VN_CRE") == 0) {
		snprintf(err, errlen, "%s cannot be changed", name);
		return -1;
	}
	if (strcmp(name, "timeout") == 0) {
		bool is_float = false;
		double t;
		struct sbuf b = SBUF_INIT;

		if (timeval_parse(value, &t, &is_float, err, errlen) < 0)
			return -1;
		if (is_float || t != floor(t))
			tags_pyfloat(t, &b);
		else
			sbuf_printf(&b, "%.0f", t);
		free(ca->timeout_text);
		ca->timeout_text = sbuf_detach(&b);
		ca->timeout = t;
		tags_props_set(ca->props, "timeout", ca->timeout_text);
		props_changed(ca);
		return 0;
	}
	if (k >= 0) {
		free(ca->cmds[k]);
		ca->cmds[k] = xstrdup(value);
	} else if (strcmp(name, "actionstart_on_demand") == 0) {
		ca->start_on_demand = as_bool(value);
	} else if (strcmp(name, "actionrepair_on_unban") == 0) {
		ca->repair_on_unban = as_bool(value);
	} else if (strcmp(name, "norestored") == 0) {
		a->norestored = as_bool(value) != 0;
	}
	tags_props_set(ca->props, name, value);
	props_changed(ca);
	return 0;
}

static void
cmd_clear_params(struct action *a)
{
	struct cmdact *ca = a->priv;

	for (int k = 0; k < CONF_ACT_NCMDS; k++) {
		if (k == CONF_ACT_PROLONG)
			continue; /* not one clearAllParams sets */
		free(ca->cmds[k]);
		ca->cmds[k] = xstrdup("");
		tags_props_set(ca->props, conf_action_cmd_name(k), "");
	}
	free(ca->timeout_text);
	ca->timeout_text = xstrdup("60");
	ca->timeout = 60;
	tags_props_set(ca->props, "timeout", "60");
	props_changed(ca);
}

const struct action_ops action_cmd_ops = {
    .name = "command",
    .init = cmd_init,
    .destroy = cmd_destroy,
    .start = cmd_start,
    .stop = cmd_stop,
    .has_flush = cmd_has_flush,
    .flush = cmd_flush,
    .ban = cmd_ban,
    .reban = cmd_reban,
    .unban = cmd_unban,
    .prolongable = cmd_prolongable,
    .prolong = cmd_prolong,
    .reload = cmd_reload,
    .check = cmd_check,
    .cancel = cmd_cancel,
    .user = cmd_user,
    .class_name = "CommandAction",
    .methods = cmd_methods,
    .prop_names = cmd_prop_names,
    .prop_get = cmd_prop_get,
    .prop_set = cmd_prop_set,
    .uses_matches = cmd_uses_matches,
    .clear_params = cmd_clear_params,
};
