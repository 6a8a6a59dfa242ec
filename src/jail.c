/*
 * A jail at run time (see jail.h): log lines from src_file go through the
 * filter, found failures through the ignore rules into the failure table,
 * keys reaching maxretry are banned at once (fail2ban's "ban ASAP"), bans
 * are written to the database and announced at the next commit, expire on
 * a timer, and are restored from the database at start.
 *
 * Active bans are a banlist (banlist.h), ban time increments come from
 * bantime.h; a ban waiting for its announcement is in the pending list.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "action.h"
#include "addr.h"
#include "banlist.h"
#include "bantime.h"
#include "ctl.h"
#include "datedetect.h"
#include "db.h"
#include "failtab.h"
#include "filter.h"
#include "ignore.h"
#include "jail.h"
#include "log.h"
#include "nft.h"
#include "journalmatch.h"
#include "pyexpr.h"
#include "report.h"
#include "resolve.h"
#include "sbuf.h"
#include "src_file.h"
#include "src_journal.h"
#include "tags.h"
#include "timeval.h"
#include "wardend.h"
#include "xmalloc.h"

#define PERMANENT_END     INFINITY
#define UNBAN_BATCH       10000 /* expired bans handled per timer run */
#define SVC_INTERVAL      5.0   /* s between failure table cleanups */
#define POS_SAVE_INTERVAL 1.0   /* s between position saves without bans */
#define MAX_TIMER_MS      (3600.0 * 1000) /* re-check at least hourly */
#define DNS_MAX_INFLIGHT  256 /* usedns lookups under way per jail */

/* ---------------------------------------------------------------------
 * the jail
 */

struct jsource {
	struct jail *j;
	struct src_file_src *src;
	char *pattern;
	bool tail;
};

struct pending {
	struct ban *b;  /* NULL: dropped before its commit */
	bool increased; /* log "Increase Ban" */
};

struct jail {
	char *name;
	char *backend;
	const struct jail_env *env;

	/* options (mutable through `set`) */
	int maxretry;
	int maxmatches;
	double findtime;
	double bantime;
	bool inc;           /* bantime.increment */
	struct bantime *bt; /* compiled from the texts below */
	char *inc_factor_text;
	char *inc_formula_text;
	long *inc_mult;
	size_t inc_nmult;
	double inc_maxtime; /* < 0 unset */
	double inc_rndtime; /* < 0 unset */
	bool inc_overall;
	char *usedns;
	char *logencoding;
	bool idle;
	char *ic_key;   /* ignorecache key, NULL when off */
	int ic_count;   /* its max-count */
	double ic_time; /* its max-time, seconds */

	struct filterdef fd; /* copy, for add/del regex and datepattern */
	struct filter *filter;
	bool in_operation;
	struct failtab *ft;
	struct banlist *bl;
	struct ignore *ig;
	struct action_env aenv;
	struct action_queue *q;
	size_t nactions;

	struct jsource **src;
	size_t nsrc;
	bool journal;     /* backend systemd: sj, not src */
	bool pos_dirty;   /* lines read since positions were last saved */
	double pos_saved; /* when they were, epoch s */
	struct src_journal *sj;
	struct src_journal_params jp;
	struct journalmatch jm;

	/* bans not committed yet, in order; a ban knows its place
	 * (pend_seq - pend_base), so is_pending and drop_pending are O(1) */
	struct pending *pend;
	size_t npend, pendcap;
	size_t nlive;       /* entries of pend not dropped */
	uint64_t pend_base; /* pend_seq of pend[0] */
	uint64_t pend_seal; /* pend_seq past the bans of the commit job out */
	uint64_t pend_durable; /* pend_seq past the bans committed */
	/* new bans for actq_preban, handed over once a loop turn
	 * (jail_preban_flush): tickets without matches or groups */
	struct action_ticket *pre;
	size_t npre, precap;

	uv_timer_t unban_timer;
	bool timer_init;
	double next_svc;
	double last_check;
	unsigned last_epoch; /* the actions' ban epoch last seen */
	double epoch_time;   /* when it last rose (bans older: reban) */
	uint64_t lines;

	bool started, stopping;
	void (*stop_done)(void *arg);
	void *stop_arg;
	unsigned inflight;      /* async ignore checks under way */
	struct found *fspare;   /* check_failure's copy for a pending
	                           check, kept while unused */
	struct rcheck *rchecks; /* restored bans among them */
	bool restoring;         /* the restored bans are not all committed */
	struct dnsq *dnsq;      /* DNS lookups under way */
	struct wlog_rate evict_rate;
	uint64_t evict_logged;
	struct wlog_rate nodate_rate;

	/* backend = report */
	char *service;          /* NULL: not a report jail */
	struct report_acl racl; /* the jail's reportusers/reportgroups */
	bool racl_set;          /* ... given: only they may feed it */
	uint64_t reports;       /* reports taken (fail and ok) */
	uint64_t reports_ok;    /* ... of which "ok" */

	/* aggregate jail: the member jails' names (empty: not one) */
	struct strv members;

	/* login tracking (usermaxretry > 0) */
	int umaxretry;         /* 0: off (uft NULL) */
	double ufindtime_cfg;  /* NAN: the jail's findtime */
	double ubantime_cfg;   /* NAN: the jail's bantime */
	struct failtab *uft;   /* failures per login, with the addresses
	                          (links) that failed for it */
	struct banlist *locks; /* locked logins (FKEY_USER bans) */
	uint64_t locks_total;
	struct wlog_rate ufull_rate;
};

double
warden_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
jnow(const struct jail *j)
{
	return j->env->now ? j->env->now() : warden_now();
}

const char *
jail_name(const struct jail *j)
{
	return j->name;
}

const char *
jail_backend(const struct jail *j)
{
	return j->backend;
}

size_t
jail_failed_now(const struct jail *j)
{
	return failtab_size(j->ft);
}

uint64_t
jail_failed_total(const struct jail *j)
{
	return failtab_total(j->ft);
}

size_t
jail_banned_now(const struct jail *j)
{
	return banlist_size(j->bl);
}

uint64_t
jail_banned_total(const struct jail *j)
{
	return banlist_total(j->bl);
}

bool
jail_has_pending(const struct jail *j)
{
	return j->nlive > 0;
}

size_t
jail_locked_now(const struct jail *j)
{
	return j->locks != NULL ? banlist_size(j->locks) : 0;
}

static double
ufindtime(const struct jail *j)
{
	return isnan(j->ufindtime_cfg) ? j->findtime : j->ufindtime_cfg;
}

static double
ubantime(const struct jail *j)
{
	return isnan(j->ubantime_cfg) ? j->bantime : j->ubantime_cfg;
}

/*
 * The key's text (fkey_format). A single IPv4 address, by far the most
 * common key, is written here by hand: inet_ntop() goes through
 * sprintf, and "Found", "Ban" and the status lists format a key per
 * line or per ban.
 */
static char *
key_text(const struct fkey *k, char buf[FKEY_STRLEN])
{
	char *p = buf;

	if (k->kind != FKEY_ADDR || k->addr.family != AF_INET ||
	    k->addr.prefix != 32)
		return fkey_format(k, buf);
	for (int i = 0; i < 4; i++) {
		unsigned v = k->addr.b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = '.';
	}
	p[-1] = '\0';
	return buf;
}

/* Python's str() of a number of seconds: "600", or "1.5". */
static const char *
pynum(double v, char *buf, size_t n)
{
	struct pyexpr_val x = v == floor(v) && fabs(v) < 9e15
	    ? pyexpr_int((int64_t)v)
	    : pyexpr_float(v);
	char tmp[PYEXPR_FMTLEN];

	snprintf(buf, n, "%s", pyexpr_format(&x, tmp));
	return buf;
}

static char *
time2str(double t, char buf[WLOG_TIMESTRLEN])
{
	return wlog_time2str(t, buf);
}

/* ---- filterdef copies ---- */

static void
fd_copy(struct filterdef *dst, const struct filterdef *src)
{
	filterdef_init(dst);
	if (src->name)
		dst->name = xstrdup(src->name);
	if (src->prefregex.re)
		filterdef_re_set(&dst->prefregex, src->prefregex.re,
		    src->prefregex.file, src->prefregex.line);
	for (size_t i = 0; i < src->failregex.n; i++)
		filterdef_re_add(&dst->failregex, src->failregex.v[i].re,
		    src->failregex.v[i].file, src->failregex.v[i].line);
	for (size_t i = 0; i < src->ignoreregex.n; i++)
		filterdef_re_add(&dst->ignoreregex, src->ignoreregex.v[i].re,
		    src->ignoreregex.v[i].file, src->ignoreregex.v[i].line);
	dst->maxlines = src->maxlines;
	if (src->datepattern.re)
		filterdef_re_set(&dst->datepattern, src->datepattern.re,
		    src->datepattern.file, src->datepattern.line);
	strv_copy(&dst->journalmatch, &src->journalmatch);
	free(dst->usedns);
	dst->usedns = src->usedns ? xstrdup(src->usedns) : NULL;
	free(dst->logtimezone);
	dst->logtimezone = src->logtimezone ? xstrdup(src->logtimezone) : NULL;
}

static struct filter *
build_filter(struct jail *j, const struct filterdef *fd, struct diags *d)
{
	struct filter_config cfg = {0};
	struct diags fdg = DIAGS_INIT;
	struct filter *f;

	cfg.flags = FILTER_CHECK_FINDTIME;
	if (j->usedns && strcmp(j->usedns, "raw") == 0)
		cfg.flags |= FILTER_RAW_HOSTS;
	cfg.findtime = j->findtime;
	f = filter_new(fd, &cfg, (time_t)jnow(j), &fdg);
	for (size_t i = 0; i < fdg.n; i++)
		diag_add(d, fdg.v[i].level, fdg.v[i].file, fdg.v[i].line,
		    "[%s] %s", j->name, fdg.v[i].msg);
	if (f != NULL && fdg.nerrors > 0) {
		filter_free(f);
		f = NULL;
	}
	diags_cleanup(&fdg);
	return f;
}

/* ---- bantime.increment ---- */

/* Compiles the bantime.* texts into j->bt; nothing changes on error. */
static int
rebuild_bantime(struct jail *j, const char *formula, const char *factor,
    char *err, size_t errlen)
{
	struct bantime_opts o = {0};
	struct bantime *bt;

	o.formula = formula;
	o.factor = factor;
	o.multipliers = j->inc_mult;
	o.nmultipliers = j->inc_nmult;
	o.has_maxtime = j->inc_maxtime >= 0;
	o.maxtime = j->inc_maxtime == floor(j->inc_maxtime)
	    ? pyexpr_int((int64_t)j->inc_maxtime)
	    : pyexpr_float(j->inc_maxtime);
	o.has_rndtime = j->inc_rndtime >= 0;
	o.rndtime = j->inc_rndtime;
	bt = bantime_new(&o, err, errlen);
	if (bt == NULL)
		return -1;
	bantime_free(j->bt);
	j->bt = bt;
	if (formula != j->inc_formula_text) {
		free(j->inc_formula_text);
		j->inc_formula_text = formula ? xstrdup(formula) : NULL;
	}
	if (factor != j->inc_factor_text) {
		free(j->inc_factor_text);
		j->inc_factor_text = factor ? xstrdup(factor) : NULL;
	}
	return 0;
}

/* The jail's bantime as fail2ban holds it (an int). */
static struct pyexpr_val
jail_bt(const struct jail *j)
{
	return pyexpr_int((int64_t)j->bantime);
}

/* ---- tickets for the actions ---- */

/* Fills t from b; the groups array (ngroups entries) is the caller's. */
static void
ticket_of(const struct jail *j, const struct ban *b, struct action_ticket *t,
    struct action_group *groups)
{
	memset(t, 0, sizeof(*t));
	t->key = b->key;
	t->has_addr = b->key.kind == FKEY_ADDR;
	if (t->has_addr)
		t->addr = b->key.addr;
	t->time = b->time;
	t->bantime = (long)b->bantime;
	t->own_bantime = b->bantime != j->bantime;
	t->bancount = b->bancount;
	t->failures = b->failures;
	t->matches = (const char *const *)b->data.matches;
	t->nmatches = b->data.nmatches;
	for (size_t i = 0; i < b->data.nkv; i++) {
		groups[i].name = b->data.kv[i].name;
		groups[i].value = b->data.kv[i].value;
	}
	t->groups = groups;
	t->ngroups = b->data.nkv;
	t->restored = b->restored;
	t->ban_epoch = b->time < j->epoch_time ? 0 : j->last_epoch;
}

/* Tickets for a set of bans: one allocation for tickets and groups. */
struct tickets {
	struct action_ticket *t;
	struct action_group *g;
	size_t n;
};

/* A restored ban's stored matches into its data (maxmatches, last). */
static void
ban_matches(const struct jail *j, struct ban *b)
{
	struct strv m = STRV_INIT;

	db_matches_parse(
	    b->mtext, j->maxmatches > 0 ? (unsigned)j->maxmatches : 0, &m);
	free(b->mtext);
	b->mtext = NULL;
	if (m.n == 0) {
		strv_cleanup(&m);
		return;
	}
	for (size_t i = 0; i < m.n; i++)
		b->data.match_bytes += strlen(m.v[i]);
	b->data.matches = m.v; /* NULL-terminated: fdata frees each */
	b->data.nmatches = m.n;
}

static void
tickets_build(
    const struct jail *j, struct tickets *ts, struct ban *const *bans, size_t n)
{
	size_t ng = 0, off = 0;
	bool need = false;

	for (size_t i = 0; i < n && !need; i++)
		if (bans[i]->mtext != NULL)
			need = actq_uses_matches(j->q);
	for (size_t i = 0; i < n; i++) {
		ng += bans[i]->data.nkv;
		if (need && bans[i]->mtext != NULL)
			ban_matches(j, bans[i]);
	}
	ts->t = xcalloc(n + 1, sizeof(*ts->t));
	ts->g = xcalloc(ng + 1, sizeof(*ts->g));
	ts->n = n;
	for (size_t i = 0; i < n; i++) {
		ticket_of(j, bans[i], &ts->t[i], ts->g + off);
		off += bans[i]->data.nkv;
	}
}

static void
tickets_free(struct tickets *ts)
{
	free(ts->t);
	free(ts->g);
	memset(ts, 0, sizeof(*ts));
}

static bool
have_actions(const struct jail *j)
{
	return j->q != NULL && j->nactions > 0;
}

/* <ipmatches>, <jail.banned> ... for the actions. */
static int
jail_info(
    void *ctx, const struct action_ticket *t, const char *tag, struct sbuf *out)
{
	struct jail *j = ctx;

	if (strcmp(tag, "jail.banned") == 0) {
		sbuf_printf(out, "%zu", banlist_size(j->bl));
	} else if (strcmp(tag, "jail.banned_total") == 0) {
		sbuf_printf(
		    out, "%llu", (unsigned long long)banlist_total(j->bl));
	} else if (strcmp(tag, "jail.found") == 0) {
		sbuf_printf(out, "%zu", failtab_size(j->ft));
	} else if (strcmp(tag, "jail.found_total") == 0) {
		sbuf_printf(
		    out, "%llu", (unsigned long long)failtab_total(j->ft));
	} else if (j->env->db != NULL && t != NULL &&
	    (strcmp(tag, "ipmatches") == 0 ||
	        strcmp(tag, "ipjailmatches") == 0 ||
	        strcmp(tag, "ipfailures") == 0 ||
	        strcmp(tag, "ipjailfailures") == 0)) {
		bool jailonly = strncmp(tag, "ipjail", 6) == 0;
		bool matches = strstr(tag, "matches") != NULL;
		struct strv m = STRV_INIT;
		unsigned long failures = 0;
		long n = db_ban_matches(j->env->db, jailonly ? j->name : NULL,
		    &t->key, &m, &failures);

		if (n <= 0) {
			strv_cleanup(&m);
			return -1;
		}
		if (matches) {
			for (size_t i = 0; i < m.n; i++) {
				if (i > 0)
					sbuf_addch(out, '\n');
				sbuf_addstr(out, m.v[i]);
			}
		} else {
			sbuf_printf(out, "%lu", failures);
		}
		strv_cleanup(&m);
	} else {
		return -1;
	}
	return 0;
}

/* ---- unbanning ---- */

static void schedule_unban(struct jail *j);

/*
 * actionuserlock / actionuserunlock of the jail's actions for the login
 * key uk: a ticket without an address, the login as its "user" group
 * (the <user> and <F-USER> tags, shell-escaped when run).
 */
static void
user_action(struct jail *j, const struct fkey *uk, bool lock, double bantime)
{
	struct action_ticket t = {0};
	struct action_group g;
	char kb[FKEY_STRLEN];

	if (!have_actions(j))
		return;
	g.name = "user";
	g.value = fkey_format(uk, kb);
	t.key = *uk;
	t.time = jnow(j);
	t.bantime = (long)bantime;
	t.own_bantime = true;
	t.groups = &g;
	t.ngroups = 1;
	actq_user(j->q, &t, lock, NULL, NULL);
}

/* A lock taken out of the list: "Unlock user", actionuserunlock. */
static void
unlock_user(struct jail *j, struct ban *lk)
{
	char kb[FKEY_STRLEN];

	wlog(WLOG_NOTICE, WLOG_ACTIONS, "[%s] Unlock user %s", j->name,
	    key_text(&lk->key, kb));
	user_action(j, &lk->key, false, lk->bantime);
	ban_free(lk);
}

/* The ticket of a pending ban for actq_preban: where and how long. */
static void
pre_ticket(const struct ban *b, struct action_ticket *t)
{
	memset(t, 0, sizeof(*t));
	t->key = b->key;
	t->has_addr = true;
	t->addr = b->key.addr;
	t->time = b->time;
	t->bantime = (long)b->bantime;
}

void
jail_preban_flush(struct jail *j)
{
	if (j->npre == 0)
		return;
	actq_preban(j->q, j->pre, j->npre, false);
	j->npre = 0;
	if (j->precap > JAIL_BATCH_MAX) { /* a flood's array goes */
		free(j->pre);
		j->pre = NULL;
		j->precap = 0;
	}
}

/*
 * A new ban before its commit: the actions that can (the nftables
 * backend) put it in place at the end of this loop turn; the actions
 * get it again, as every ban, once it is committed.
 */
static void
pre_add(struct jail *j, struct ban *b)
{
	if (b->restored || b->key.kind != FKEY_ADDR || !have_actions(j) ||
	    !actq_has_preban(j->q))
		return;
	xgrow(&j->pre, &j->precap, j->npre + 1, sizeof(*j->pre));
	pre_ticket(b, &j->pre[j->npre++]);
	b->prebanned = true;
}

/* Takes b out of the pending list; true when it was there (never
 * announced, never given to the actions but for its preban, which is
 * taken back). */
static bool
drop_pending(struct jail *j, struct ban *b)
{
	if (!b->pending)
		return false;
	if (b->prebanned) {
		struct action_ticket t;

		jail_preban_flush(j); /* in order: its preban goes first */
		pre_ticket(b, &t);
		actq_preban(j->q, &t, 1, true);
		b->prebanned = false;
	}
	j->pend[b->pend_seq - j->pend_base].b = NULL;
	b->pending = false;
	j->nlive--;
	return true;
}

static bool
is_pending(const struct jail *j, const struct ban *b)
{
	(void)j;
	return b->pending;
}

/*
 * Bans taken out of the list: logs "Unban" (log) and runs the actions
 * for those that were announced; frees them all.
 */
static void
unban_bans(struct jail *j, struct ban **bans, size_t n, bool log)
{
	char kb[FKEY_STRLEN];
	struct tickets ts;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (drop_pending(j, bans[i])) {
			ban_free(bans[i]); /* never announced */
			continue;
		}
		if (log)
			wlog(WLOG_NOTICE, WLOG_ACTIONS, "[%s] Unban %s",
			    j->name, key_text(&bans[i]->key, kb));
		bans[k++] = bans[i];
	}
	n = k;
	if (n > 0 && have_actions(j)) {
		tickets_build(j, &ts, bans, n);
		actq_unban(j->q, ts.t, ts.n, NULL, NULL);
		tickets_free(&ts);
	}
	for (size_t i = 0; i < n; i++)
		ban_free(bans[i]);
}

static void
on_unban_timer(uv_timer_t *t)
{
	struct jail *j = t->data;
	double now = jnow(j);
	struct ban **v = NULL, *b;
	size_t n = 0, cap = 0;

	while (n < UNBAN_BATCH) {
		b = banlist_pop_expired(j->bl, now);
		if (b == NULL)
			break;
		xgrow(&v, &cap, n + 1, sizeof(*v));
		v[n++] = b;
	}
	if (n > 0)
		unban_bans(j, v, n, true);
	free(v);
	for (size_t k = 0; j->locks != NULL && k < UNBAN_BATCH; k++) {
		b = banlist_pop_expired(j->locks, now);
		if (b == NULL)
			break;
		unlock_user(j, b);
	}
	schedule_unban(j);
}

static void
schedule_unban(struct jail *j)
{
	double end, ms;

	if (!j->timer_init || j->stopping)
		return;
	end = banlist_next_end(j->bl);
	if (j->locks != NULL && banlist_next_end(j->locks) < end)
		end = banlist_next_end(j->locks);
	if (isinf(end) || end >= BAN_MAX_TIME) {
		uv_timer_stop(&j->unban_timer);
		return;
	}
	ms = (end - jnow(j)) * 1000.0 + 1;
	if (ms < 0)
		ms = 0;
	if (ms > MAX_TIMER_MS)
		ms = MAX_TIMER_MS;
	uv_timer_start(&j->unban_timer, on_unban_timer, (uint64_t)ms, 0);
}

/* ---- banning ---- */

/* What a ban is made from (a failure ticket, a restored row, banip). */
struct bticket {
	struct fkey key; /* borrowed */
	double time;
	double bantime; /* own bantime; NAN: the jail's */
	long bancount;  /* bans before this one */
	long failures;
	struct fdata *data; /* taken (moved) when non-NULL */
	char **mtext;       /* taken when non-NULL: stored matches, unparsed */
	bool restored;
};

static void
pend_add(struct jail *j, struct ban *b, bool increased)
{
	xgrow(&j->pend, &j->pendcap, j->npend + 1, sizeof(*j->pend));
	j->pend[j->npend].b = b;
	j->pend[j->npend].increased = increased;
	b->pending = true;
	b->pend_seq = j->pend_base + j->npend;
	j->npend++;
	j->nlive++;
}

/* The actions' epoch rose (a repair): bans older than now get a reban
 * at their next failure (fail2ban's banEpoch, per jail here). */
static void
watch_epoch(struct jail *j, double now)
{
	unsigned e;

	if (!have_actions(j))
		return;
	e = actq_ban_epoch(j->q);
	if (e != j->last_epoch) {
		j->last_epoch = e;
		j->epoch_time = now;
	}
}

/* fail2ban's "already banned" path for a failure of a banned key. */
static void
already_banned(struct jail *j, struct ban *old, double t_time, double now)
{
	char kb[FKEY_STRLEN];
	double diftm = t_time - old->time;

	if (is_pending(j, old))
		return; /* not banned by the actions yet */
	wlog(ban_already_level(t_time, old->time), WLOG_ACTIONS,
	    "[%s] %s already banned", j->name, key_text(&old->key, kb));
	if (!have_actions(j))
		return;
	watch_epoch(j, now);
	if (old->time < j->epoch_time) {
		struct tickets ts;

		tickets_build(j, &ts, &old, 1);
		actq_reban(j->q, ts.t, false, NULL, NULL);
		tickets_free(&ts);
	} else if (diftm > 3 && now > j->last_check + 3) {
		j->last_check = now;
		actq_check(j->q, NULL, NULL);
	}
}

/*
 * fail2ban's Actions.__checkBan for one ticket with the observer's
 * banFound. Returns 1 for a new ban, 0 otherwise.
 */
static int
ban_ticket(struct jail *j, struct bticket *t)
{
	static struct wlog_rate full_rate = WLOG_RATE_INIT(60);
	double now = jnow(j);
	double btime = isnan(t->bantime) ? j->bantime : t->bantime;
	char kb[FKEY_STRLEN];
	struct ban *b, *old = NULL;
	bool increased = false, store = true;

	b = ban_new(&t->key, t->time, btime);
	b->bancount = t->bancount;
	b->failures = t->failures;
	b->restored = t->restored;
	if (t->data) {
		b->data = *t->data;
		memset(t->data, 0, sizeof(*t->data));
	}
	if (t->mtext) {
		b->mtext = *t->mtext;
		*t->mtext = NULL;
	}
	switch (banlist_add(j->bl, b, now, &old)) {
	case BANLIST_ADDED:
		break;
	case BANLIST_EXPIRED:
		wlog(WLOG_INFO, WLOG_ACTIONS, "[%s] Ignore %s, expired bantime",
		    j->name, key_text(&t->key, kb));
		ban_free(b);
		return 0;
	case BANLIST_FULL:
		if (wlog_rate_allow(&full_rate, now, NULL))
			wlog(WLOG_ERROR, WLOG_ACTIONS,
			    "[%s] Ban list full (%zu bans): %s not banned",
			    j->name, banlist_size(j->bl),
			    key_text(&t->key, kb));
		ban_free(b);
		return 0;
	case BANLIST_PROLONGED:
		schedule_unban(j);
		/* FALLTHROUGH */
	case BANLIST_BANNED:
		if (old != NULL)
			already_banned(j, old, t->time, now);
		ban_free(b);
		return 0;
	}
	/* the observer: bantime.increment from the history */
	if (!b->restored && j->inc && j->env->db != NULL && btime > 0 &&
	    isnan(t->bantime)) {
		struct db_history h = {0};
		struct bantime_ban o;
		char err[256];
		int found = db_ban_history(
		    j->env->db, j->inc_overall ? NULL : j->name, &b->key, &h);

		if (found < 0)
			wlog(WLOG_ERROR, WLOG_DATABASE, "%s",
			    db_last_error(j->env->db));
		if (bantime_on_ban(j->bt, jail_bt(j), found == 1,
		        (long)h.bancount, h.time, b->bancount, b->time, now,
		        NULL, NULL, &o, err, sizeof(err)) != 0)
			wlog(WLOG_ERROR, WLOG_OBSERVER, "%s", err);
		b->bancount = o.bancount;
		if (o.log_is_bad) {
			struct sbuf m = SBUF_INIT;
			struct pyexpr_val from = jail_bt(j);

			bantime_msg_is_bad(&m, j->name, key_text(&b->key, kb),
			    (long)h.bancount, h.time, &from, &o.bantime);
			wlog(WLOG_INFO, WLOG_OBSERVER, "%s", sbuf_str(&m));
			sbuf_cleanup(&m);
		}
		if (o.restored)
			b->restored = true;
		if (o.increased) {
			banlist_set_bantime(
			    j->bl, b, pyexpr_to_double(&o.bantime));
			increased = true;
		}
		if (o.too_old) {
			wlog(WLOG_DEBUG, WLOG_OBSERVER,
			    "Ignore old bantime for %s", kb);
			store = false;
		}
	}
	if (store && !b->restored && j->env->db != NULL) {
		struct db_ban row = {0};
		char jb[512], *own;
		const char *data =
		    fdata_json_buf(&b->data, jb, sizeof(jb), &own);

		row.key = b->key;
		row.time = b->time;
		row.bantime = b->bantime;
		row.bancount = (unsigned)b->bancount;
		row.failures = (unsigned)b->failures;
		row.matches = (const char *const *)b->data.matches;
		row.nmatches = b->data.nmatches;
		row.data = data;
		row.data_object = true; /* fdata_json's output */
		db_ban_add(j->env->db, j->name, &row);
		free(own);
	}
	pend_add(j, b, increased);
	pre_add(j, b);
	schedule_unban(j);
	return 1;
}

/*
 * "[%s] %sBan %s" ("Restore " for a restored ban), put together here:
 * one per ban, through vsnprintf it was ~9% of the loop's work in a
 * flood. kb receives the key's text.
 */
static void
ban_line(const struct jail *j, const struct ban *b, char kb[FKEY_STRLEN])
{
	char m[256 + FKEY_STRLEN];
	size_t nl = strlen(j->name), kl, n = 0;
	const char *k = key_text(&b->key, kb); /* kb filled in any case */

	if (!wlog_enabled(WLOG_NOTICE))
		return;
	if (nl > 200) {
		wlog(WLOG_NOTICE, WLOG_ACTIONS, "[%s] %sBan %s", j->name,
		    b->restored ? "Restore " : "", k);
		return;
	}
	kl = strlen(k);
	m[n++] = '[';
	memcpy(m + n, j->name, nl);
	n += nl;
	m[n++] = ']';
	m[n++] = ' ';
	if (b->restored) {
		memcpy(m + n, "Restore ", 8);
		n += 8;
	}
	memcpy(m + n, "Ban ", 4);
	n += 4;
	memcpy(m + n, k, kl);
	n += kl;
	m[n] = '\0'; /* for a test hook, which gets the text as is */
	wlog_str(WLOG_NOTICE, WLOG_ACTIONS, m, n);
}

void
jail_seal(struct jail *j)
{
	j->pend_seal = j->pend_base + j->npend;
}

void
jail_sealed_durable(struct jail *j)
{
	if (j->pend_seal > j->pend_durable)
		j->pend_durable = j->pend_seal;
}

size_t
jail_commit_durable(struct jail *j)
{
	if (j->pend_durable <= j->pend_base)
		return 0;
	return jail_commit_n(j, (size_t)(j->pend_durable - j->pend_base));
}

size_t
jail_commit(struct jail *j)
{
	return jail_commit_n(j, j->npend);
}

size_t
jail_commit_n(struct jail *j, size_t n)
{
	char kb[FKEY_STRLEN];
	struct ban **v;
	size_t k = 0;
	bool restoring = j->restoring, last;

	if (n > j->npend)
		n = j->npend;
	if (n == 0)
		return 0;
	if (n > JAIL_BATCH_MAX)
		n = JAIL_BATCH_MAX;
	jail_preban_flush(j); /* the prebans of these go first */
	v = xcalloc(n, sizeof(*v));
	/* the restored bans were pending first: does this commit take the
	 * last of them? */
	last = restoring && n == j->npend;
	if (last)
		j->restoring = false;
	/* the "Ban" lines of a batch go out in one write(2) */
	wlog_batch_begin();
	for (size_t i = 0; i < n; i++) {
		struct ban *b = j->pend[i].b;

		if (b == NULL)
			continue; /* dropped (unbanned) before its commit */
		b->pending = false;
		b->prebanned = false;
		j->nlive--;
		ban_line(j, b, kb);
		if (j->pend[i].increased) {
			struct sbuf m = SBUF_INIT;
			struct pyexpr_val bt = b->bantime == floor(b->bantime)
			    ? pyexpr_int((int64_t)b->bantime)
			    : pyexpr_float(b->bantime);

			bantime_msg_increase(
			    &m, j->name, kb, b->bancount, &bt, b->time);
			wlog(WLOG_NOTICE, WLOG_OBSERVER, "%s", sbuf_str(&m));
			sbuf_cleanup(&m);
		}
		v[k++] = b;
	}
	wlog_batch_end();
	memmove(j->pend, j->pend + n, (j->npend - n) * sizeof(*j->pend));
	j->npend -= n;
	j->pend_base += n;
	if (have_actions(j)) {
		struct tickets ts;

		tickets_build(j, &ts, v, k);
		if (restoring && k > 0) {
			ts.t[k - 1].restore_last = last;
			ts.t[k - 1].restore_more = !last;
		}
		actq_ban(j->q, ts.t, ts.n, NULL, NULL);
		tickets_free(&ts);
	}
	free(v);
	return k;
}

/* ---- failures ---- */

/* A failure on its way: through the ignore check (maybe async). */
struct found {
	struct jail *j;
	struct fkey key; /* owned when owned, else borrowed */
	double time;
	char **matches; /* owned when owned, else borrowed */
	size_t nmatches;
	const struct failure *fl; /* borrowed source of kv, or NULL */
	struct fdata_kv *kv;      /* always owned (built lazily from fl) */
	size_t nkv;
	bool owned;
	long attempt; /* `attempt`: failures pre-set */
	double count; /* retry added */
	bool manual;  /* `set J attempt` */
	/* found_login()'s answer once known (login_state 1: login, -1:
	 * none, 0: not looked up); reset when fl goes */
	signed char login_state;
	bool gained; /* fl's <F-MLFGAINED> (known with login_state) */
	const char *login;
	size_t login_len;
};

/* Frees what f owns; f itself is the caller's. */
static void
found_cleanup(struct found *f)
{
	if (f->owned) {
		fkey_release(&f->key);
		for (size_t i = 0; i < f->nmatches; i++)
			free(f->matches[i]);
		free(f->matches);
	}
	for (size_t i = 0; i < f->nkv; i++)
		free(f->kv[i].name);
	free(f->kv);
	memset(f, 0, sizeof(*f));
}

static void
found_free(struct found *f)
{
	if (f == NULL)
		return;
	found_cleanup(f);
	free(f);
}

/* str() of a filter value. */
static void
fval_str(const struct fval *v, struct sbuf *out)
{
	switch (v->type) {
	case FVAL_STR:
		sbuf_addstr(out, v->u.s);
		break;
	case FVAL_INT:
		sbuf_printf(out, "%ld", v->u.i);
		break;
	case FVAL_IP:
		sbuf_addstr(out, v->u.ip.text ? v->u.ip.text : "");
		break;
	case FVAL_NONE:
		sbuf_addstr(out, "None");
		break;
	default:
		fval_repr(v, out);
		break;
	}
}

/* Builds f->kv from the failure's groups (once). */
static void
found_kv(struct found *f)
{
	const struct failure *fl = f->fl;
	size_t bytes = 0;

	if (fl == NULL || f->kv != NULL || fl->ngroups == 0)
		return;
	f->kv = xcalloc(fl->ngroups, sizeof(*f->kv));
	for (size_t i = 0; i < fl->ngroups && f->nkv < FDATA_KV_MAX; i++) {
		const struct fentry *e = &fl->groups[i];
		struct sbuf b = SBUF_INIT;

		if (e->val.type == FVAL_NONE)
			continue;
		fval_str(&e->val, &b);
		bytes += strlen(e->key) + b.len;
		if (bytes > FDATA_KV_BYTES) {
			sbuf_cleanup(&b);
			break;
		}
		fdata_kv_set(&f->kv[f->nkv], e->key, sbuf_str(&b), b.len);
		sbuf_cleanup(&b);
		f->nkv++;
	}
}

/*
 * The pairs found_kv() would build (same order, same caps), borrowed
 * from the filter's groups (an integer written into ib): what a new
 * entry copies in one block, without found_kv()'s copies. Returns the
 * number of pairs, or -1 when a value is neither text, address nor
 * integer (then found_kv()).
 */
static int
found_kv_view(const struct failure *fl, struct fdata_kv kv[FDATA_KV_MAX],
    char ib[FDATA_KV_MAX][24])
{
	size_t bytes = 0;
	int n = 0;

	for (size_t i = 0; i < fl->ngroups && n < FDATA_KV_MAX; i++) {
		const struct fentry *e = &fl->groups[i];
		const char *v;

		switch (e->val.type) {
		case FVAL_NONE:
			continue;
		case FVAL_STR:
			v = e->val.u.s;
			break;
		case FVAL_IP:
			v = e->val.u.ip.text ? e->val.u.ip.text : "";
			break;
		case FVAL_INT:
			snprintf(ib[n], sizeof(ib[n]), "%ld", e->val.u.i);
			v = ib[n];
			break;
		default:
			return -1;
		}
		bytes += strlen(e->key) + strlen(v);
		if (bytes > FDATA_KV_BYTES)
			break;
		/* read only: fdata_set_kv() copies them */
		kv[n].name = (char *)(uintptr_t)e->key;
		kv[n].value = v;
		n++;
	}
	return n;
}

/* Makes f independent of the filter's buffers (before an async step). */
static void
found_own(struct found *f)
{
	char **m = NULL;

	if (f->owned)
		return;
	found_kv(f);
	f->fl = NULL;
	f->login_state = 0; /* it pointed into fl */
	{
		struct fkey k = f->key;

		fkey_dup(&f->key, &k);
	}
	if (f->nmatches > 0) {
		m = xcalloc(f->nmatches, sizeof(*m));
		for (size_t i = 0; i < f->nmatches; i++)
			m[i] = xstrdup(f->matches[i]);
	}
	f->matches = m;
	f->owned = true;
}

/* A found failure borrowing the filter's result fl (valid until the next
 * line). */
static void
found_init(struct found *f, struct jail *j, const struct failure *fl,
    const struct fkey *key, double t)
{
	memset(f, 0, sizeof(*f));
	f->j = j;
	f->key = *key;
	f->time = t;
	f->fl = fl;
	f->matches = (char **)fl->matches;
	f->nmatches = fl->nmatches;
}

/* Takes the entry out of the failure table and bans it. */
static void
ban_entry(struct jail *j, struct failtab_entry *e)
{
	struct fticket ft;
	struct bticket bt = {0};

	failtab_take(j->ft, e, &ft);
	bt.key = ft.key;
	bt.time = ft.time;
	bt.bantime = NAN;
	bt.failures = ft.failures;
	bt.data = &ft.data;
	ban_ticket(j, &bt);
	fticket_cleanup(&ft);
}

static void
log_evictions(struct jail *j)
{
	uint64_t ev = failtab_evictions(j->ft);
	unsigned long sup = 0;

	if (ev == j->evict_logged)
		return;
	if (!wlog_rate_allow(&j->evict_rate, jnow(j), &sup))
		return;
	wlog(WLOG_WARNING, WLOG_FILTER,
	    "[%s] Failure table full (%zu keys): %llu stalest entries "
	    "dropped so far",
	    j->name, failtab_size(j->ft), (unsigned long long)ev);
	j->evict_logged = ev;
}

/* The observer's "known bad IPs fail faster" (failureFound). */
static void
observe_failure(struct jail *j, struct found *f, struct failtab_failure *ff)
{
	struct db_history h;
	double retry;
	int found;
	char kb[FKEY_STRLEN], tb[WLOG_TIMESTRLEN];
	struct failtab_entry *e;

	if (!j->inc || j->env->db == NULL)
		return;
	found = db_ban_history(j->env->db, j->name, &f->key, &h);
	if (found != 1)
		return;
	{
		unsigned c = h.bancount < 20 ? h.bancount : 20;

		retry = (double)(1u << c) / 2 + 1;
	}
	if (f->time <= h.time) {
		wlog(WLOG_DEBUG, WLOG_OBSERVER,
		    "[%s] Ignore failure %s before last ban %f < %f, restored",
		    j->name, key_text(&f->key, kb), f->time, h.time);
		return;
	}
	if (retry > j->maxretry) {
		retry = j->maxretry;
		if (retry <= 1)
			return;
		wlog(WLOG_INFO, WLOG_OBSERVER,
		    "[%s] Found %s, bad - %s, %u # -> %d%s", j->name,
		    key_text(&f->key, kb), time2str(f->time, tb), h.bancount,
		    j->maxretry, ", Ban");
	} else {
		struct sbuf b = SBUF_INIT;

		if (retry <= 1)
			return;
		sbuf_printf(&b, "%.1f", retry);
		wlog(WLOG_INFO, WLOG_OBSERVER,
		    "[%s] Found %s, bad - %s, %u # -> %s%s", j->name,
		    key_text(&f->key, kb), time2str(f->time, tb), h.bancount,
		    sbuf_str(&b), retry >= j->maxretry ? ", Ban" : "");
		sbuf_cleanup(&b);
	}
	ff->observed = true;
	ff->same_ticket = true;
	ff->count = retry - 1;
	e = failtab_add(j->ft, ff, NULL);
	if (e != NULL && e->retry >= j->maxretry)
		ban_entry(j, e);
}

/* ---- login tracking (usermaxretry) ---- */

/* True when the group name k is name (nlen bytes): inline, most names
 * differ in their first byte (failure_get() is a strcmp call per
 * group). */
static bool
group_is(const char *k, const char *name, size_t nlen)
{
	size_t i = 0;

	while (i <= nlen && k[i] == name[i])
		i++;
	return i > nlen;
}

/* Fills f's login and gained state from its groups in one pass (the
 * first "user" and "mlfgained" entries, as failure_get() finds them),
 * or from its captured pairs when fl is gone. */
static void
found_scan(struct found *f)
{
	const struct fval *user = NULL, *gained = NULL;

	f->login_state = -1;
	f->gained = false;
	if (f->fl == NULL) {
		for (size_t i = 0; i < f->nkv; i++)
			if (strcmp(f->kv[i].name, "user") == 0 &&
			    f->kv[i].value[0] != '\0') {
				f->login = f->kv[i].value;
				f->login_len = strlen(f->kv[i].value);
				f->login_state = 1;
				break;
			}
		return;
	}
	for (size_t i = 0; i < f->fl->ngroups; i++) {
		const struct fentry *e = &f->fl->groups[i];

		if (user == NULL && group_is(e->key, "user", 4))
			user = &e->val;
		else if (gained == NULL && group_is(e->key, "mlfgained", 9))
			gained = &e->val;
	}
	if (user != NULL && user->type == FVAL_STR && user->u.s != NULL &&
	    user->u.s[0] != '\0') {
		f->login = user->u.s;
		f->login_len = strlen(user->u.s);
		f->login_state = 1;
	}
	/* a successful login: fail2ban's <F-MLFGAINED> ("gained access") */
	if (gained != NULL && gained->type == FVAL_STR)
		f->gained = gained->u.s != NULL && gained->u.s[0] != '\0';
	else if (gained != NULL && gained->type == FVAL_INT)
		f->gained = gained->u.i != 0;
}

/* The login a failure captured (<F-USER>, or <F-ALT_USER> in its
 * place): false when none (or an empty one). */
static bool
found_login(struct found *f, const char **s, size_t *n)
{
	if (f->login_state == 0)
		found_scan(f);
	if (f->login_state < 0)
		return false;
	*s = f->login;
	*n = f->login_len;
	return true;
}

/*
 * Bans key now because of its login's lock (its failure for a locked
 * login, or one of the addresses that made the lock): with its failure
 * entry when it has one, else a ticket of its own. A key already banned
 * is left alone (no "already banned": the lock is the news).
 */
static void
ban_for_lock(struct jail *j, const struct fkey *key, double t,
    const struct fkey *uk, long failures)
{
	struct failtab_entry *ae;
	struct bticket bt = {0};
	struct fdata data = {0};
	char kb[FKEY_STRLEN];

	if (banlist_find(j->bl, key) != NULL)
		return;
	ae = failtab_find(j->ft, key);
	if (ae != NULL) {
		ban_entry(j, ae);
		return;
	}
	fdata_add_kv(&data, "user", fkey_format(uk, kb));
	bt.key = *key;
	bt.time = t;
	bt.bantime = NAN;
	bt.failures = failures > 0 ? failures : 1;
	bt.data = &data;
	ban_ticket(j, &bt);
	fdata_cleanup(&data);
}

/*
 * The login of ue reached usermaxretry at t: "Lock user", the lock until
 * t + userbantime, every address that failed for it within userfindtime
 * banned; the login's failures are consumed (as a ban consumes an
 * address's).
 */
static void
lock_user(struct jail *j, struct failtab_entry *ue, double t)
{
	char kb[FKEY_STRLEN];
	double cut = t - ufindtime(j), now = jnow(j);
	struct fkey uk;
	struct ban *lk, *old = NULL;
	struct failtab_pair *v;
	size_t k = failtab_link_pairs(j->uft, ue, cut, &v);

	fkey_dup(&uk, &ue->key);
	wlog(WLOG_NOTICE, WLOG_ACTIONS,
	    "[%s] Lock user %s (%ld failures from %zu addresses)", j->name,
	    key_text(&uk, kb), ue->failures, k);
	lk = ban_new(&uk, t, ubantime(j));
	lk->failures = ue->failures;
	switch (banlist_add(j->locks, lk, now, &old)) {
	case BANLIST_ADDED:
		j->locks_total++;
		user_action(j, &uk, true, lk->bantime);
		break;
	case BANLIST_FULL:
		if (wlog_rate_allow(&j->ufull_rate, now, NULL))
			wlog(WLOG_ERROR, WLOG_ACTIONS,
			    "[%s] Locked user list full (%zu logins): %s not "
			    "locked",
			    j->name, banlist_size(j->locks), kb);
		ban_free(lk);
		break;
	default:
		ban_free(lk);
		break;
	}
	/* the addresses, oldest failure first (their keys belong to uft,
	 * bans touch ft and bl only) */
	for (size_t i = 0; i < k; i++)
		ban_for_lock(j, &v[i].key, v[i].time, &uk, (long)v[i].count);
	free(v);
	failtab_del(j->uft, &uk);
	fkey_release(&uk);
	schedule_unban(j);
}

/* A counted failure of key for login (n bytes) at t. */
static void
user_failure(struct jail *j, const struct fkey *key, double t,
    const char *login, size_t n, double count)
{
	/* set field by field, nothing zeroed whole or copied: on this
	 * path (every failure with a login) a struct built with small
	 * stores and read back whole stalls until every older store has
	 * reached the cache */
	struct fkey uk;
	struct failtab_entry *ue;
	struct ban *lk;

	uk.kind = FKEY_USER;
	memset(&uk.addr, 0, sizeof(uk.addr));
	uk.s = login;
	uk.len = n;
	if (n > FKEY_MAX_LEN)
		uk = fkey_from_str(FKEY_USER, login, n); /* cut */
	if (count <= 0)
		count = 1;
	/* no lock was ever taken (lock_user() is the only way into the
	 * list): no call on the way */
	lk = j->locks_total > 0 && banlist_size(j->locks) > 0
	    ? banlist_find(j->locks, &uk)
	    : NULL;
	if (lk != NULL) {
		if (ban_end(lk) > jnow(j)) {
			/* locked: every address at its first failure */
			ban_for_lock(j, key, t, &uk, 1);
			return;
		}
		/* over, the timer has not run yet */
		unlock_user(j, banlist_del(j->locks, &uk));
	}
	ue = failtab_add_link(j->uft, &uk, t, count, key);
	if (ue->retry >= j->umaxretry)
		lock_user(j, ue, t);
}

/*
 * A successful login of login from key: the pair's failures are
 * forgotten, from the login's count and from the address's. A locked
 * login stays locked (its failures were consumed by the lock).
 */
static void
user_success(
    struct jail *j, const struct fkey *key, const char *login, size_t n)
{
	struct fkey uk = fkey_from_str(FKEY_USER, login, n);
	struct failtab_entry *ue, *ae;
	char kb[FKEY_STRLEN], ab[FKEY_STRLEN];
	double c = 0;

	if (j->uft == NULL)
		return;
	ue = failtab_find(j->uft, &uk);
	if (ue == NULL || !failtab_link_forget(j->uft, ue, key, &c))
		return;
	failtab_forget(j->uft, ue, c);
	ae = failtab_find(j->ft, key);
	if (ae != NULL)
		failtab_forget(j->ft, ae, c);
	wlog(WLOG_INFO, WLOG_FILTER,
	    "[%s] Login %s succeeded from %s: its %.0f failure%s from there "
	    "forgotten",
	    j->name, key_text(&uk, kb), key_text(key, ab), c,
	    c == 1 ? "" : "s");
}

/* ---- aggregate jails ---- */

/* Hands a counted failure to the aggregate jails (wardend routes it). */
static void
feed_aggregates(struct jail *j, struct found *f, double count)
{
	struct jail_failure jf = {0};

	if (j->env->failed == NULL)
		return;
	jf.key = f->key;
	jf.time = f->time;
	jf.count = count;
	jf.matches = (const char *const *)f->matches;
	jf.nmatches = f->nmatches;
	if (!found_login(f, &jf.user, &jf.user_len))
		jf.user = NULL;
	j->env->failed(j->env->failed_arg, j, &jf);
}

/* A failure that passed the ignore rules: "Found", count, maybe ban. */
static void
count_failure(struct jail *j, struct found *f)
{
	struct failtab_failure ff = {0};
	struct failtab_entry *e;
	char kb[FKEY_STRLEN], tb[WLOG_TIMESTRLEN];
	bool lazy, created = false;

	/* the key and date texts only when the record is kept; one per
	 * failure: "[%s] Found %s - %s" put together here */
	if (!f->manual && wlog_enabled(WLOG_INFO)) {
		char m[256 + FKEY_STRLEN + WLOG_TIMESTRLEN];
		size_t nl = strlen(j->name), n = 0;
		const char *k = key_text(&f->key, kb);
		size_t kl = strlen(k);

		time2str(f->time, tb);
		if (nl > 200) {
			wlog(WLOG_INFO, WLOG_FILTER, "[%s] Found %s - %s",
			    j->name, k, tb);
		} else {
			m[n++] = '[';
			memcpy(m + n, j->name, nl);
			n += nl;
			memcpy(m + n, "] Found ", 8);
			n += 8;
			memcpy(m + n, k, kl);
			n += kl;
			memcpy(m + n, " - ", 3);
			n += 3;
			memcpy(m + n, tb, strlen(tb));
			n += strlen(tb);
			wlog_str(WLOG_INFO, WLOG_FILTER, m, n);
		}
	}
	ff.key = f->key;
	ff.hash = failtab_hash(j->ft, &f->key);
	ff.hashed = true;
	ff.time = f->time;
	ff.count = f->count > 0 ? f->count : 1;
	ff.attempt = f->attempt;
	ff.matches = (const char *const *)f->matches;
	ff.nmatches = f->nmatches;
	/* captured groups are kept for a new key only: a filter's are
	 * turned into pairs once the entry turned out new (one lookup) */
	lazy = f->kv == NULL && f->fl != NULL;
	ff.kv = f->kv;
	ff.nkv = f->nkv;
	e = failtab_add(j->ft, &ff, &created);
	if (created && lazy) {
		struct fdata_kv v[FDATA_KV_MAX];
		char ib[FDATA_KV_MAX][24];
		int nv = found_kv_view(f->fl, v, ib);

		if (nv >= 0) {
			fdata_set_kv(&e->data, v, (size_t)nv);
		} else {
			found_kv(f);
			fdata_set_kv(&e->data, f->kv, f->nkv);
		}
	}
	log_evictions(j);
	if (e != NULL && e->retry >= j->maxretry)
		ban_entry(j, e);
	if (j->uft != NULL) {
		const char *login;
		size_t n;

		if (found_login(f, &login, &n))
			user_failure(j, &f->key, f->time, login, n, ff.count);
	}
	feed_aggregates(j, f, ff.count);
	if (created && lazy && j->inc && j->env->db != NULL) {
		/* its failtab_add() may make a new entry: with the pairs
		 * (as the new entry's, only when this one was new) */
		found_kv(f);
		ff.kv = f->kv;
		ff.nkv = f->nkv;
	}
	observe_failure(j, f, &ff);
}

static void
ignore_done(void *arg, enum ignore_reason r)
{
	struct found *f = arg;
	struct jail *j = f->j;

	j->inflight--;
	if (r == IGNORE_NOT && !j->stopping)
		count_failure(j, f);
	found_free(f);
	if (j->stopping && j->inflight == 0 && j->stop_done == NULL) {
		/* nothing: jail_stop waits for nothing here */
	}
}

/*
 * Runs the ignore rules on f (borrowed, or owned: then it is freed here or
 * by the pending check), then counts it.
 */
static void
check_failure(struct jail *j, struct found *f)
{
	struct action_ticket t = {0};
	struct action_group *g = NULL;
	struct found *h;
	int r = IGNORE_NOT;

	if (j->ig != NULL) {
		t.key = f->key;
		t.has_addr = f->key.kind == FKEY_ADDR;
		if (t.has_addr)
			t.addr = f->key.addr;
		t.time = f->time;
		t.bantime = (long)j->bantime;
		t.failures = 1;
		t.matches = (const char *const *)f->matches;
		t.nmatches = f->nmatches;
		if (ignore_get_command(j->ig) != NULL)
			found_kv(f); /* <F-USER> for the command */
		if (f->nkv > 0) {
			g = xcalloc(f->nkv, sizeof(*g));
			for (size_t i = 0; i < f->nkv; i++) {
				g[i].name = f->kv[i].name;
				g[i].value = f->kv[i].value;
			}
		}
		t.groups = g;
		t.ngroups = f->nkv;
		/* the callback runs later from the loop, never from here:
		 * the copy is made only when the check is pending (its
		 * memory is kept from one failure to the next) */
		h = j->fspare != NULL ? j->fspare : xmalloc(sizeof(*h));
		j->fspare = NULL;
		r = ignore_check(j->ig, &t, jnow(j), 0, ignore_done, h);
		free(g);
		if (r < 0) {
			*h = *f;
			memset(f, 0, sizeof(*f));
			found_own(h);
			j->inflight++;
			return;
		}
		j->fspare = h;
	}
	if (r == IGNORE_NOT)
		count_failure(j, f);
	found_cleanup(f);
}

/* usedns yes/warn: a lookup under way for one failure. */
struct dnsq {
	struct jail *j;
	struct found f; /* owned; key is the name (RAW) */
	struct dnsq *next;
};

/* Counts f once per address the name resolved to. */
static void
dns_answer(struct jail *j, struct found *f, const char *name,
    const struct addr *a, size_t n, const char *err)
{
	struct sbuf b = SBUF_INIT;

	if (n == 0) {
		wlog(WLOG_WARNING, WLOG_FILTER,
		    "Unable to find a corresponding IP address for %s: %s",
		    name, err ? err : "no address");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char buf[ADDR_STRLEN];

		sbuf_addstr(&b, i ? ", " : "");
		sbuf_addstr(&b, addr_format(&a[i], buf));
	}
	if (strcmp(j->usedns, "warn") == 0)
		wlog(WLOG_WARNING, WLOG_FILTER,
		    "Determined IP using DNS Lookup: %s = [%s]", name,
		    sbuf_str(&b));
	sbuf_cleanup(&b);
	for (size_t i = 0; i < n; i++) {
		struct found g = *f;

		/* a view of f with the address as key: key and lines
		 * borrowed, captured groups copied */
		g.key = fkey_from_addr(&a[i]);
		g.owned = false;
		g.kv = NULL;
		g.nkv = 0;
		if (f->fl == NULL && f->nkv > 0) {
			g.kv = xcalloc(f->nkv, sizeof(*g.kv));
			for (size_t k = 0; k < f->nkv; k++)
				fdata_kv_set(&g.kv[k], f->kv[k].name,
				    f->kv[k].value, strlen(f->kv[k].value));
			g.nkv = f->nkv;
		}
		check_failure(j, &g);
	}
}

static void
dns_done(void *arg, const char *name, const struct addr *a, size_t n,
    const char *err)
{
	struct dnsq *q = arg;
	struct jail *j = q->j;
	struct dnsq **pp = &j->dnsq;

	while (*pp && *pp != q)
		pp = &(*pp)->next;
	if (*pp)
		*pp = q->next;
	if (!j->stopping)
		dns_answer(j, &q->f, name, a, n, err);
	found_cleanup(&q->f);
	free(q);
}

static void
resolve_failure(struct jail *j, const struct failure *fl, double t)
{
	struct fkey k =
	    fkey_from_str(FKEY_RAW, fl->id.text, strlen(fl->id.text));
	const struct addr *a;
	struct found f;
	struct dnsq *q;
	size_t n;
	int rc;

	found_init(&f, j, fl, &k, t);
	if (j->env->dns == NULL) {
		found_cleanup(&f);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	rc = resolve_name(j->env->dns, fl->id.text, &a, &n, dns_done, q);
	if (rc == 1) {
		free(q);
		dns_answer(j, &f, fl->id.text, a, n, NULL);
	} else if (rc == 0) {
		q->j = j;
		q->f = f;
		found_own(&q->f);
		q->next = j->dnsq;
		j->dnsq = q;
		return;
	} else {
		free(q);
		wlog(WLOG_WARNING, WLOG_FILTER,
		    "[%s] Too many DNS lookups under way: %s not resolved",
		    j->name, fl->id.text);
	}
	found_cleanup(&f);
}

static void
handle_result(struct jail *j, struct filter_result *rp, const char *line,
    size_t len, double now)
{
	struct filter_result res = *rp;

	j->lines++;
	if ((res.warn & FILTER_WARN_NODATE) &&
	    wlog_rate_allow(&j->nodate_rate, now, NULL))
		wlog(WLOG_WARNING, WLOG_FILTER,
		    "[%s] Found a match but no valid date/time found for "
		    "'%.*s'. Please try setting a custom date pattern (see "
		    "man page jail.conf(5)). If format is complex, please "
		    "file a detailed issue on Warden's tracker.",
		    j->name, (int)(len > 200 ? 200 : len), line);
	if ((res.warn & FILTER_WARN_TOO_OLD) &&
	    wlog_rate_allow(&j->nodate_rate, now, NULL))
		wlog(WLOG_WARNING, WLOG_FILTER,
		    "[%s] Ignoring all log entries older than %.0fs; these "
		    "are probably messages generated while Warden was not "
		    "running.",
		    j->name, j->findtime);
	for (size_t i = 0; i < res.n; i++) {
		const struct failure *fl = &res.v[i];
		struct fkey k;
		double t;

		if (fl->kind == FAILURE_PENDING || !fl->has_time)
			continue;
		t = fl->time > now ? now : fl->time;
		if (fl->kind == FAILURE_DNS) {
			if (strcmp(j->usedns, "yes") == 0 ||
			    strcmp(j->usedns, "warn") == 0)
				resolve_failure(j, fl, t);
			continue;
		}
		if (fl->kind == FAILURE_ADDR)
			k = fkey_from_addr(&fl->id.addr);
		else
			k = fkey_from_str(
			    FKEY_RAW, fl->id.text, strlen(fl->id.text));
		{
			struct found f;
			const char *login;
			size_t ln;

			found_init(&f, j, fl, &k, t);
			/* login tracking: a successful login is no failure
			 * (without it, fail2ban's counting stays as is) */
			if (j->uft != NULL && (found_scan(&f), f.gained)) {
				if (found_login(&f, &login, &ln))
					user_success(j, &k, login, ln);
				found_cleanup(&f);
				continue;
			}
			check_failure(j, &f);
		}
	}
	if (now >= j->next_svc) {
		j->next_svc = now + SVC_INTERVAL;
		failtab_cleanup(j->ft, now);
		if (j->uft != NULL)
			failtab_cleanup(j->uft, now);
	}
}

static void
handle_line(struct jail *j, const char *line, size_t len)
{
	struct filter_result res;
	double now = jnow(j);

	if (j->idle)
		return;
	filter_process(j->filter, line, len, now, &res);
	handle_result(j, &res, line, len, now);
}

/* ---- journal source ---- */

static void
journal_entry(void *arg, const struct src_journal_entry *e)
{
	struct jail *j = arg;
	struct filter_result res;
	double now = jnow(j);

	j->pos_dirty = true;
	if (j->idle)
		return;
	filter_process_entry(
	    j->filter, e->date, e->line, e->len, e->time, now, &res);
	handle_result(j, &res, e->line, e->len, now);
}

static void
journal_event(void *arg, const struct src_journal_event *ev)
{
	struct jail *j = arg;

	switch (ev->kind) {
	case SRC_JOURNAL_EV_CAUGHT_UP:
		if (!j->in_operation) {
			j->in_operation = true;
			filter_set_in_operation(j->filter, true);
		}
		break;
	case SRC_JOURNAL_EV_OPENED:
	case SRC_JOURNAL_EV_RECOVERED:
	case SRC_JOURNAL_EV_ROTATED:
		wlog(WLOG_INFO, WLOG_JAIL, "[%s] journal: %s", j->name,
		    ev->message ? ev->message : "");
		break;
	case SRC_JOURNAL_EV_LINE_CAPPED:
		wlog(WLOG_WARNING, WLOG_JAIL,
		    "[%s] journal: a message longer than the cap was cut "
		    "(%llu so far)",
		    j->name, (unsigned long long)ev->count);
		break;
	case SRC_JOURNAL_EV_MISSING:
	case SRC_JOURNAL_EV_CURSOR_LOST:
	case SRC_JOURNAL_EV_ERROR:
		wlog(WLOG_WARNING, WLOG_JAIL, "[%s] journal: %s", j->name,
		    ev->message ? ev->message : "error");
		break;
	}
}

/* Opens the jail's journal source (saved cursor, else the start the
 * backend options ask for). */
static void
journal_open(struct jail *j)
{
	struct src_journal_opts o = {0};
	struct diags d = DIAGS_INIT;
	char *cursor = NULL;

	if (j->env->loop == NULL)
		return;
	if (db_journal_get(j->env->db, j->name, &cursor) != 1) {
		free(cursor);
		cursor = NULL;
	}
	o.params = &j->jp;
	o.match = &j->jm;
	o.cursor = cursor;
	o.start = j->jp.start;
	if (j->jp.start == SRC_JOURNAL_START_SINCE)
		o.since = jnow(j) -
		    (j->jp.start_findtime ? j->findtime : j->jp.start_ago);
	o.cb.entry = journal_entry;
	o.cb.event = journal_event;
	o.cb.arg = j;
	j->sj = src_journal_new(j->env->loop, &o, &d);
	for (size_t i = 0; i < d.n; i++)
		wlog(WLOG_ERROR, WLOG_JAIL, "[%s] %s", j->name, d.v[i].msg);
	diags_cleanup(&d);
	free(cursor);
	if (journalmatch_empty(&j->jm))
		wlog(WLOG_NOTICE, WLOG_JAIL,
		    "[%s] Jail started without 'journalmatch' set. Jail "
		    "regexs will be checked against all journal entries, "
		    "which is not advised for performance reasons.",
		    j->name);
}

static json_t *
journal_matches(const struct jail *j)
{
	struct sbuf b = SBUF_INIT;
	json_t *l = json_array();

	journalmatch_format(&j->jm, &b);
	if (!journalmatch_empty(&j->jm))
		json_array_append_new(l, ctl_json_string(sbuf_str(&b), b.len));
	sbuf_cleanup(&b);
	return l;
}

/* ---- sources ---- */

static void
src_line(void *arg, const char *path, const char *line, size_t len)
{
	struct jsource *s = arg;

	(void)path;
	s->j->pos_dirty = true;
	handle_line(s->j, line, len);
}

static void
src_event(void *arg, const struct src_file_event *ev)
{
	struct jsource *s = arg;
	struct jail *j = s->j;

	switch (ev->kind) {
	case SRC_FILE_EV_ADDED:
		wlog(WLOG_INFO, WLOG_FILTER,
		    "[%s] Added logfile: '%s' (pos = %llu, hash = %s)", j->name,
		    ev->path, (unsigned long long)ev->offset,
		    ev->hash && ev->hash[0] ? ev->hash : "");
		break;
	case SRC_FILE_EV_MISSING:
		wlog(WLOG_WARNING, WLOG_FILTER,
		    "[%s] Log file %s does not exist (yet): the jail waits for "
		    "it and reads it once it appears",
		    j->name, ev->path);
		break;
	case SRC_FILE_EV_APPEARED:
		wlog(WLOG_INFO, WLOG_FILTER,
		    "[%s] Log file %s appeared: reading it", j->name, ev->path);
		break;
	case SRC_FILE_EV_ROTATED:
	case SRC_FILE_EV_TRUNCATED:
		wlog(WLOG_MSG, WLOG_FILTER,
		    "[%s] Log rotation detected for %s, reason: %s", j->name,
		    ev->path, ev->message ? ev->message : "");
		break;
	case SRC_FILE_EV_REMOVED:
		wlog(WLOG_INFO, WLOG_FILTER, "[%s] Log file %s was removed",
		    j->name, ev->path);
		break;
	case SRC_FILE_EV_CAUGHT_UP:
		if (!j->in_operation) {
			j->in_operation = true;
			filter_set_in_operation(j->filter, true);
		}
		break;
	case SRC_FILE_EV_LINE_CAPPED:
		wlog(WLOG_WARNING, WLOG_FILTER,
		    "[%s] %s: a line longer than the cap was truncated "
		    "(%llu so far)",
		    j->name, ev->path, (unsigned long long)ev->count);
		break;
	case SRC_FILE_EV_POLLING:
		wlog(WLOG_DEBUG, WLOG_FILTER, "[%s] %s is polled", j->name,
		    ev->path);
		break;
	case SRC_FILE_EV_ERROR:
		wlog(WLOG_ERROR, WLOG_FILTER, "[%s] %s: %s", j->name, ev->path,
		    ev->message ? ev->message : "error");
		break;
	}
}

static int
src_saved(void *arg, const char *path, uint64_t *offset,
    char hash[SRC_FILE_HASH_LEN + 1])
{
	struct jsource *s = arg;
	char *h = NULL;
	uint64_t pos = 0;
	int rc = db_log_get(s->j->env->db, s->j->name, path, &h, &pos);

	if (rc != 1) {
		free(h);
		return 0;
	}
	*offset = pos;
	snprintf(hash, SRC_FILE_HASH_LEN + 1, "%s", h ? h : "");
	free(h);
	return 1;
}

static void
add_source(struct jail *j, const char *pattern, bool tail)
{
	struct jsource *s;
	struct src_file_add_opts o = {0};
	struct diags d = DIAGS_INIT;

	if (j->env->files == NULL)
		return;
	s = xcalloc(1, sizeof(*s));
	s->j = j;
	s->pattern = xstrdup(pattern);
	s->tail = tail;
	o.mode = tail ? SRC_FILE_TAIL : SRC_FILE_HEAD;
	o.encoding = j->logencoding;
	o.cb.line = src_line;
	o.cb.event = src_event;
	o.cb.saved_pos = src_saved;
	o.cb.arg = s;
	s->src = src_file_add(j->env->files, pattern, &o, &d);
	for (size_t i = 0; i < d.n; i++)
		wlog(WLOG_ERROR, WLOG_FILTER, "[%s] %s", j->name, d.v[i].msg);
	diags_cleanup(&d);
	if (s->src == NULL) {
		free(s->pattern);
		free(s);
		return;
	}
	if (tail && !j->in_operation) {
		j->in_operation = true;
		filter_set_in_operation(j->filter, true);
	}
	j->src = xreallocarray(j->src, j->nsrc + 1, sizeof(*j->src));
	j->src[j->nsrc++] = s;
}

static void
del_source(struct jail *j, size_t i)
{
	struct jsource *s = j->src[i];

	wlog(WLOG_INFO, WLOG_FILTER, "[%s] Removed logfile: '%s'", j->name,
	    s->pattern);
	src_file_del(j->env->files, s->src);
	free(s->pattern);
	free(s);
	memmove(
	    &j->src[i], &j->src[i + 1], (j->nsrc - i - 1) * sizeof(*j->src));
	j->nsrc--;
}

struct poscb {
	struct jail *j;
	json_t *list;
	bool nohash; /* a file with lines but no first-line hash yet */
};

static void
save_pos(void *arg, const struct src_file_info *fi)
{
	struct poscb *p = arg;

	if (p->list != NULL) {
		json_array_append_new(
		    p->list, ctl_json_string(fi->path, strlen(fi->path)));
		return;
	}
	if (fi->hash != NULL && fi->hash[0] != '\0')
		db_log_set(
		    p->j->env->db, p->j->name, fi->path, fi->hash, fi->offset);
	else if (fi->offset > 0)
		p->nohash = true;
}

void
jail_save_dirty(struct jail *j)
{
	double now;

	if (!j->pos_dirty)
		return;
	now = jnow(j);
	/* with bans to commit: always (exactly once across kill -9);
	 * else at most once a second (a trickle of lines must not cost a
	 * transaction per line) */
	if (j->nlive == 0 && now - j->pos_saved < POS_SAVE_INTERVAL &&
	    now >= j->pos_saved)
		return;
	j->pos_dirty = false;
	j->pos_saved = now;
	if (jail_save_positions(j) != 0)
		j->pos_dirty = true; /* try again at the next commit */
}

int
jail_save_positions(struct jail *j)
{
	struct poscb p = {j, NULL, false};

	if (j->env->db == NULL)
		return 0;
	if (j->sj != NULL) {
		const char *c = src_journal_cursor(j->sj);

		if (c != NULL && c[0] != '\0')
			db_journal_set(j->env->db, j->name, c);
	}
	for (size_t i = 0; i < j->nsrc; i++)
		if (j->src[i]->src != NULL)
			src_file_foreach(j->src[i]->src, save_pos, &p);
	/* a file that was empty when opened gets its first-line hash
	 * later: its position cannot be saved before that */
	return p.nohash ? -1 : 0;
}

static json_t *
file_list(struct jail *j)
{
	struct poscb p = {j, json_array(), false};

	for (size_t i = 0; i < j->nsrc; i++)
		if (j->src[i]->src != NULL)
			src_file_foreach(j->src[i]->src, save_pos, &p);
	return p.list;
}

/* ---- lifecycle ---- */

static void
apply_options(struct jail *j, const struct conf_jail *cj)
{
	j->maxretry = cj->maxretry;
	j->maxmatches = cj->maxmatches;
	j->findtime = cj->findtime;
	j->bantime = cj->bantime;
	j->inc = cj->bantime_ext.increment;
	free(j->inc_factor_text);
	j->inc_factor_text = cj->bantime_ext.factor_expr
	    ? xstrdup(cj->bantime_ext.factor_expr)
	    : NULL;
	free(j->inc_formula_text);
	j->inc_formula_text =
	    cj->bantime_ext.formula ? xstrdup(cj->bantime_ext.formula) : NULL;
	free(j->inc_mult);
	j->inc_mult = NULL;
	j->inc_nmult = cj->bantime_ext.nmultipliers;
	if (j->inc_nmult > 0) {
		j->inc_mult = xcalloc(j->inc_nmult, sizeof(*j->inc_mult));
		memcpy(j->inc_mult, cj->bantime_ext.multipliers,
		    j->inc_nmult * sizeof(*j->inc_mult));
	}
	j->inc_maxtime = cj->bantime_ext.maxtime;
	j->inc_rndtime = cj->bantime_ext.rndtime;
	j->inc_overall = cj->bantime_ext.overalljails;
	free(j->usedns);
	j->usedns = xstrdup(cj->filter.usedns ? cj->filter.usedns : "warn");
	free(j->logencoding);
	j->logencoding = xstrdup(cj->logencoding ? cj->logencoding : "auto");
	free(j->ic_key);
	j->ic_key = cj->ignorecache.key ? xstrdup(cj->ignorecache.key) : NULL;
	j->ic_count =
	    cj->ignorecache.max_count > 0 ? cj->ignorecache.max_count : 100;
	j->ic_time =
	    cj->ignorecache.max_time > 0 ? cj->ignorecache.max_time : 300;
}

/* backend = report: service and the jail's own allowlist (names are
 * resolved now; unknown ones are warnings). */
static void
set_report(struct jail *j, const struct conf_jail *cj, struct diags *d)
{
	char err[256];

	free(j->service);
	j->service = cj->service ? xstrdup(cj->service) : NULL;
	report_acl_cleanup(&j->racl);
	j->racl_set = cj->reportusers != NULL || cj->reportgroups != NULL;
	if (cj->reportusers != NULL &&
	    report_acl_add_users(&j->racl, cj->reportusers, err, sizeof(err)) !=
	        0)
		diag_add(d, DIAG_WARNING, cj->file, cj->line,
		    "[%s] reportusers: %s", cj->name, err);
	if (cj->reportgroups != NULL &&
	    report_acl_add_groups(
	        &j->racl, cj->reportgroups, err, sizeof(err)) != 0)
		diag_add(d, DIAG_WARNING, cj->file, cj->line,
		    "[%s] reportgroups: %s", cj->name, err);
}

static size_t
max_failures(const struct conf_jail *cj)
{
	return cj->maxfailures > 0 ? (size_t)cj->maxfailures
	                           : JAIL_MAXFAILURES_DEFAULT;
}

/*
 * The failures a login remembers (its ring of link slots, one per
 * failure): 8 times usermaxretry rounded up to a power of two, within
 * [64, FAILTAB_DEFAULT_ENTRY_LINKS]. A login locks once fail2ban's rate
 * estimate of its failures in userfindtime reaches usermaxretry; the
 * estimate scales older failures down by at most about half, so every
 * failure of the window is still there at the lock unless usermaxretry
 * is above 512 (then the newest 4096 are).
 */
static size_t
user_ring_cap(int umaxretry)
{
	size_t n = (size_t)umaxretry * 8, p = 64;

	while (p < n && p < FAILTAB_DEFAULT_ENTRY_LINKS)
		p *= 2;
	return p;
}

/* Login tracking on (usermaxretry > 0) or off; the per-login table and
 * its links are capped like the per-address table (maxfailures), and
 * each login's links by user_ring_cap(). */
static void
set_user_tracking(struct jail *j, int umaxretry, size_t maxf)
{
	j->umaxretry = umaxretry > 0 ? umaxretry : 0;
	if (j->umaxretry > 0 && j->uft == NULL) {
		struct failtab_opts o = {0};

		o.max_entries = maxf;
		o.findtime = ufindtime(j);
		o.max_links = maxf;
		/* the logins an attack cycles through, found again without
		 * SipHash (~170 instructions a failure) */
		o.memo_slots = 1024;
		j->uft = failtab_new(&o);
	} else if (j->umaxretry == 0 && j->uft != NULL) {
		failtab_free(j->uft);
		j->uft = NULL;
	}
	if (j->uft != NULL) {
		failtab_set_findtime(j->uft, ufindtime(j));
		failtab_set_max_entries(j->uft, maxf);
		failtab_set_max_entry_links(
		    j->uft, user_ring_cap(j->umaxretry));
	}
	if (j->locks != NULL)
		banlist_set_max(j->locks, maxf);
}

static void
apply_user_options(struct jail *j, const struct conf_jail *cj)
{
	j->ufindtime_cfg = cj->userfindtime;
	j->ubantime_cfg = cj->userbantime;
	set_user_tracking(j, cj->usermaxretry, max_failures(cj));
	strv_cleanup(&j->members);
	strv_copy(&j->members, &cj->members);
}

static struct action_queue *
build_actions(struct jail *j, const struct conf_jail *cj, size_t *n)
{
	struct action_queue *q;

	*n = 0;
	if (j->env->loop == NULL || j->env->no_actions)
		return NULL;
	q = actq_new(&j->aenv);
	for (size_t i = 0; i < cj->nactions; i++) {
		char err[512];
		struct action *a = action_new(
		    &cj->actions[i], &j->aenv, NULL, err, sizeof(err));

		if (a == NULL) {
			wlog(WLOG_ERROR, WLOG_ACTIONS,
			    "[%s] action '%s' could not be created: %s",
			    j->name, cj->actions[i].actname, err);
			continue;
		}
		actq_add(q, a);
		(*n)++;
	}
	return q;
}

struct jail *
jail_new(
    const struct conf_jail *cj, const struct jail_env *env, struct diags *d)
{
	struct jail *j = xcalloc(1, sizeof(*j));
	struct failtab_opts fo = {0};
	char err[512];

	j->name = xstrdup(cj->name);
	j->backend = xstrdup(cj->backend ? cj->backend : "auto");
	j->env = env;
	j->inc_maxtime = -1;
	j->inc_rndtime = -1;
	j->evict_rate = (struct wlog_rate)WLOG_RATE_INIT(60);
	j->nodate_rate = (struct wlog_rate)WLOG_RATE_INIT(86400);
	j->ufull_rate = (struct wlog_rate)WLOG_RATE_INIT(60);
	apply_options(j, cj);
	set_report(j, cj, d);
	j->locks = banlist_new(max_failures(cj));
	apply_user_options(j, cj);
	src_journal_params_init(&j->jp);
	journalmatch_init(&j->jm);
	if (cj->backend_name != NULL &&
	    strncmp(cj->backend_name, "systemd", 7) == 0) {
		j->journal = true;
		if (src_journal_params_from_kv(&j->jp, &cj->backend_params,
		        cj->file, cj->line, d) != 0 ||
		    journalmatch_add_lines(&j->jm, &cj->filter.journalmatch,
		        cj->file, cj->line, d) != 0)
			goto fail;
	}
	if (rebuild_bantime(j, j->inc_formula_text, j->inc_factor_text, err,
	        sizeof(err)) != 0) {
		diag_add(d, DIAG_ERROR, cj->file, cj->line, "[%s] %s", cj->name,
		    err);
		goto fail;
	}
	fd_copy(&j->fd, &cj->filter);
	j->filter = build_filter(j, &j->fd, d);
	if (j->filter == NULL)
		goto fail;
	filter_set_in_operation(j->filter, false);
	fo.max_entries = max_failures(cj);
	fo.findtime = j->findtime;
	fo.maxmatches = j->maxmatches;
	j->ft = failtab_new(&fo);
	j->bl = banlist_new(0);
	j->aenv.loop = env->loop;
	j->aenv.jail = j->name;
	j->aenv.jail_bantime = (long)j->bantime;
	j->aenv.ipv6 = env->ipv6;
	j->aenv.host = env->host;
	j->aenv.info = jail_info;
	j->aenv.info_ctx = j;
	j->aenv.now = env->now;
	if (env->host != NULL)
		j->ig = ignore_new(env->host, cj);
	j->q = build_actions(j, cj, &j->nactions);
	/* log paths are added at start */
	j->src = NULL;
	{
		/* remember them */
		for (size_t i = 0; i < cj->nlogpaths; i++) {
			struct jsource *s = xcalloc(1, sizeof(*s));

			s->j = j;
			s->pattern = xstrdup(cj->logpaths[i].pattern);
			s->tail = cj->logpaths[i].tail;
			j->src =
			    xreallocarray(j->src, j->nsrc + 1, sizeof(*j->src));
			j->src[j->nsrc++] = s;
		}
	}
	return j;
fail:
	jail_free(j);
	return NULL;
}

/* A ban read from the database, waiting to be restored in order. */
struct rrow {
	struct fkey key; /* owned */
	char *text;      /* owned; the key as text, only to sort */
	double time, bantime;
	long bancount, failures;
	struct fdata data; /* captured groups */
	char *mtext;       /* owned; the stored matches, not parsed */
};

struct rrows {
	struct rrow *v;
	size_t n, cap;
	bool unsorted;          /* not in cmp_rrow's order as read */
	char last[FKEY_STRLEN]; /* the previous row's key text */
};

/* fail2ban's order: ORDER BY ip, timeofban DESC */
static int
cmp_text_time(const char *xt, double xtime, const char *yt, double ytime)
{
	int c = strcmp(xt, yt);

	if (c != 0)
		return c;
	return xtime > ytime ? -1 : xtime < ytime ? 1 : 0;
}

static int
cmp_rrow(const void *a, const void *b)
{
	const struct rrow *x = a, *y = b;

	return cmp_text_time(x->text, x->time, y->text, y->time);
}

/* The groups of a stored data object into d (one block). */
static void
restore_data(struct fdata *d, const char *json)
{
	struct strv kv = STRV_INIT;
	struct fdata_kv small[16], *pairs = small;
	size_t n;

	if (json == NULL || db_data_parse(json, &kv) < 0 || kv.n < 2) {
		strv_cleanup(&kv);
		return;
	}
	n = kv.n / 2;
	if (n > sizeof(small) / sizeof(small[0]))
		pairs = xcalloc(n, sizeof(*pairs));
	for (size_t i = 0; i < n; i++) {
		pairs[i].name = kv.v[2 * i];
		pairs[i].value = kv.v[2 * i + 1];
	}
	fdata_set_kv(d, pairs, n);
	if (pairs != small)
		free(pairs);
	strv_cleanup(&kv);
}

/*
 * One row, kept until all are read. The database hands them over in its
 * key order, which is already fail2ban's order when every key has the
 * same kind: then restore_bans needs no sort.
 */
static int
restore_cb(void *arg, const struct db_ban *row)
{
	struct rrows *rs = arg;
	struct rrow *r;
	char kb[FKEY_STRLEN];

	xgrow(&rs->v, &rs->cap, rs->n + 1, sizeof(*rs->v));
	r = &rs->v[rs->n++];
	memset(r, 0, sizeof(*r));
	fkey_dup(&r->key, &row->key);
	r->time = row->time;
	r->bantime = row->bantime;
	r->bancount = row->bancount > 0 ? (long)row->bancount - 1 : 0;
	r->failures = row->failures;
	key_text(&row->key, kb);
	if (rs->n > 1 && !rs->unsorted &&
	    cmp_text_time(rs->last, rs->v[rs->n - 2].time, kb, r->time) > 0)
		rs->unsorted = true;
	memcpy(rs->last, kb, strlen(kb) + 1);
	/* the matches stay text until an action needs them: the nftables
	 * backend never does */
	if (row->matches_raw != NULL) {
		r->mtext = *row->matches_raw;
		*row->matches_raw = NULL;
	}
	restore_data(&r->data, row->data);
	return 0;
}

static void
rrow_cleanup(struct rrow *r)
{
	fkey_release(&r->key);
	free(r->text);
	free(r->mtext);
	fdata_cleanup(&r->data);
	memset(r, 0, sizeof(*r));
}

/* A restored ban waiting for an asynchronous ignore check. */
struct rcheck {
	struct jail *j;
	struct rrow r; /* owned */
	struct rcheck *prev, *next;
};

/* Bans r as restored ("Restore Ban" at the commit) unless its time is
 * over. */
static void
restore_ban(struct jail *j, struct rrow *r, double now)
{
	struct bticket bt = {0};
	double btm = r->bantime;

	if (btm != -1 && now - r->time > 0 && btm - (now - r->time) <= 0)
		return;
	bt.key = r->key;
	bt.time = r->time;
	bt.bantime = r->bantime;
	bt.bancount = r->bancount;
	bt.failures = r->failures;
	bt.restored = true;
	bt.data = &r->data;
	bt.mtext = &r->mtext;
	ban_ticket(j, &bt);
}

static void
rcheck_done(void *arg, enum ignore_reason why)
{
	struct rcheck *c = arg;
	struct jail *j = c->j;

	j->inflight--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		j->rchecks = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (why == IGNORE_NOT && !j->stopping)
		restore_ban(j, &c->r, jnow(j));
	rrow_cleanup(&c->r);
	free(c);
}

/* Restored bans whose check ignore_free abandoned (no callback comes):
 * they stay in the database for the next start. */
static void
drop_rchecks(struct jail *j)
{
	while (j->rchecks != NULL) {
		struct rcheck *c = j->rchecks;

		j->rchecks = c->next;
		j->inflight--;
		rrow_cleanup(&c->r);
		free(c);
	}
}

/*
 * One restored ban: the whole ignore check as for a failure (fail2ban's
 * _inIgnoreIPList on the restored ticket: ignoreself, ignoreip, DNS
 * names, ignorecommand, ignorecache), asynchronous when it must be;
 * then banned as restored. r is taken over (left empty).
 */
static void
restore_one(struct jail *j, struct rrow *r, double now)
{
	struct action_ticket t = {0};
	struct action_group *g = NULL;
	struct strv m = STRV_INIT;
	struct rcheck *c;
	int why;

	if (j->ig == NULL) {
		restore_ban(j, r, now);
		return;
	}
	t.key = r->key;
	t.has_addr = r->key.kind == FKEY_ADDR;
	if (t.has_addr)
		t.addr = r->key.addr;
	t.time = r->time;
	t.bantime = (long)r->bantime;
	t.own_bantime = true;
	t.bancount = r->bancount;
	t.failures = r->failures;
	/* only an ignorecommand may show them (<matches>) */
	if (r->mtext != NULL && ignore_get_command(j->ig) != NULL)
		db_matches_parse(r->mtext,
		    j->maxmatches > 0 ? (unsigned)j->maxmatches : 0, &m);
	t.matches = (const char *const *)m.v;
	t.nmatches = m.n;
	t.restored = true;
	if (r->data.nkv > 0) {
		g = xcalloc(r->data.nkv, sizeof(*g));
		for (size_t i = 0; i < r->data.nkv; i++) {
			g[i].name = r->data.kv[i].name;
			g[i].value = r->data.kv[i].value;
		}
	}
	t.groups = g;
	t.ngroups = r->data.nkv;
	/* the callback runs from the loop, never from inside the call */
	c = xcalloc(1, sizeof(*c));
	why = ignore_check(j->ig, &t, now, 0, rcheck_done, c);
	free(g);
	strv_cleanup(&m);
	if (why < 0) {
		c->j = j;
		c->r = *r;
		memset(r, 0, sizeof(*r));
		c->next = j->rchecks;
		if (j->rchecks != NULL)
			j->rchecks->prev = c;
		j->rchecks = c;
		j->inflight++;
		return;
	}
	free(c);
	if (why == IGNORE_NOT)
		restore_ban(j, r, now);
}

static void
restore_bans(struct jail *j)
{
	struct db_restore r = {0};
	struct rrows rs = {0};
	double now = jnow(j);

	if (j->env->db == NULL)
		return;
	r.now = now;
	r.bantime = j->bantime;
	r.increment = j->inc;
	r.maxtime = j->inc_maxtime > 0 ? j->inc_maxtime : 0;
	r.maxmatches = j->maxmatches > 0 ? (unsigned)j->maxmatches : 0;
	r.key_order = true;
	r.raw_matches = true;
	if (db_bans_restore(j->env->db, j->name, &r, restore_cb, &rs) < 0)
		wlog(WLOG_ERROR, WLOG_JAIL, "[%s] Restore bans failed: %s",
		    j->name, db_last_error(j->env->db));
	if (rs.unsorted) {
		char kb[FKEY_STRLEN];

		for (size_t i = 0; i < rs.n; i++)
			rs.v[i].text = xstrdup(key_text(&rs.v[i].key, kb));
		qsort(rs.v, rs.n, sizeof(*rs.v), cmp_rrow);
	}
	for (size_t i = 0; i < rs.n; i++) {
		restore_one(j, &rs.v[i], now);
		rrow_cleanup(&rs.v[i]);
	}
	free(rs.v);
	/* with no check under way, the commit that empties the pending list
	 * tells the actions that no restored ban follows */
	j->restoring = j->rchecks == NULL && j->npend > 0;
}

void
jail_start(struct jail *j)
{
	struct jsource **srcs = j->src;
	size_t n = j->nsrc;
	char b1[64], b2[64];

	const char *be = j->journal ? "systemd"
	    : j->service            ? "report"
	    : j->members.n > 0      ? "aggregate"
	    : j->env->files         ? src_file_backend_name(j->env->files)
	                            : "polling";

	wlog(WLOG_INFO, WLOG_JAIL, "Creating new jail '%s'", j->name);
	wlog(WLOG_INFO, WLOG_JAIL, "Jail '%s' uses %s {}", j->name,
	    strcmp(be, "polling") == 0 ? "poller" : be);
	wlog(WLOG_INFO, WLOG_JAIL, "Initiated '%s' backend", be);
	wlog(WLOG_INFO, WLOG_FILTER, "  maxRetry: %d", j->maxretry);
	wlog(WLOG_INFO, WLOG_FILTER, "  findtime: %s",
	    pynum(j->findtime, b1, sizeof(b1)));
	wlog(WLOG_INFO, WLOG_ACTIONS, "  banTime: %s",
	    pynum(j->bantime, b2, sizeof(b2)));
	wlog(WLOG_INFO, WLOG_FILTER, "  encoding: %s", j->logencoding);
	if (j->inc && j->env->db == NULL)
		wlog(WLOG_WARNING, WLOG_JAIL,
		    "[%s] ban time increment is not available as long jail "
		    "database is not set",
		    j->name);
	if (j->env->loop != NULL) {
		uv_timer_init(j->env->loop, &j->unban_timer);
		j->unban_timer.data = j;
		j->timer_init = true;
	}
	j->src = NULL;
	j->nsrc = 0;
	for (size_t i = 0; i < n; i++) {
		add_source(j, srcs[i]->pattern, srcs[i]->tail);
		free(srcs[i]->pattern);
		free(srcs[i]);
	}
	free(srcs);
	if (j->journal) {
		journal_open(j);
	} else if (j->service != NULL) {
		wlog(WLOG_INFO, WLOG_JAIL,
		    "[%s] receives reports for service '%s'", j->name,
		    j->service);
	} else if (j->members.n > 0) {
		struct sbuf b = SBUF_INIT;

		for (size_t i = 0; i < j->members.n; i++)
			sbuf_printf(&b, "%s%s", i ? ", " : "", j->members.v[i]);
		wlog(WLOG_INFO, WLOG_JAIL,
		    "[%s] counts the failures of the jails %s", j->name,
		    sbuf_str(&b));
		sbuf_cleanup(&b);
	} else if (n == 0) {
		wlog(WLOG_WARNING, WLOG_JAIL, "[%s] has no log file to watch",
		    j->name);
	}
	if (j->umaxretry > 0) {
		char b3[64], b4[64];

		wlog(WLOG_INFO, WLOG_FILTER,
		    "  userMaxRetry: %d, userFindtime: %s, userBanTime: %s",
		    j->umaxretry, pynum(ufindtime(j), b3, sizeof(b3)),
		    pynum(ubantime(j), b4, sizeof(b4)));
	}
	if (!have_actions(j))
		wlog(WLOG_NOTICE, WLOG_JAIL,
		    "[%s] has no action: bans are logged and recorded, no "
		    "firewall rule is made",
		    j->name);
	else
		actq_start(j->q, NULL, NULL);
	j->started = true;
	restore_bans(j);
	wlog(WLOG_INFO, WLOG_JAIL, "Jail '%s' started", j->name);
}

int
jail_reload(struct jail *j, const struct conf_jail *cj, struct diags *d)
{
	struct filterdef nfd;
	struct filter *nf;
	struct jail tmp;
	char err[512];

	/* compile first: nothing changes when it fails */
	memset(&tmp, 0, sizeof(tmp));
	tmp.name = j->name;
	tmp.env = j->env;
	tmp.findtime = cj->findtime;
	tmp.usedns = cj->filter.usedns ? cj->filter.usedns : "warn";
	fd_copy(&nfd, &cj->filter);
	nf = build_filter(&tmp, &nfd, d);
	if (nf == NULL) {
		filterdef_cleanup(&nfd);
		return -1;
	}
	{
		/* the formula must compile before anything changes */
		struct bantime_opts o = {0};
		struct bantime *probe;

		o.formula = cj->bantime_ext.formula;
		o.factor = cj->bantime_ext.factor_expr;
		o.multipliers = cj->bantime_ext.multipliers;
		o.nmultipliers = cj->bantime_ext.nmultipliers;
		probe = bantime_new(&o, err, sizeof(err));
		if (probe == NULL) {
			diag_add(d, DIAG_ERROR, cj->file, cj->line, "[%s] %s",
			    j->name, err);
			filter_free(nf);
			filterdef_cleanup(&nfd);
			return -1;
		}
		bantime_free(probe);
	}
	apply_options(j, cj);
	set_report(j, cj, d);
	apply_user_options(j, cj);
	rebuild_bantime(
	    j, j->inc_formula_text, j->inc_factor_text, err, sizeof(err));
	filter_free(j->filter);
	j->filter = nf;
	filter_set_in_operation(j->filter, j->in_operation);
	filterdef_cleanup(&j->fd);
	j->fd = nfd;
	failtab_set_findtime(j->ft, j->findtime);
	failtab_set_maxmatches(j->ft, j->maxmatches);
	failtab_set_max_entries(j->ft, max_failures(cj));
	j->aenv.jail_bantime = (long)j->bantime;
	if (j->ig != NULL) {
		ignore_free(j->ig);
		drop_rchecks(j);
		j->ig = ignore_new(j->env->host, cj);
	}
	/* journal: new match and parameters, resuming after the cursor */
	if (j->journal && j->sj != NULL) {
		struct src_journal_params np;
		struct journalmatch nm = JOURNALMATCH_INIT;

		src_journal_params_init(&np);
		if (src_journal_params_from_kv(
		        &np, &cj->backend_params, cj->file, cj->line, d) == 0 &&
		    journalmatch_add_lines(&nm, &cj->filter.journalmatch,
		        cj->file, cj->line, d) == 0) {
			jail_save_positions(j);
			db_flush(j->env->db);
			src_journal_free(j->sj);
			j->sj = NULL;
			src_journal_params_cleanup(&j->jp);
			journalmatch_cleanup(&j->jm);
			j->jp = np;
			j->jm = nm;
			journal_open(j);
		} else {
			src_journal_params_cleanup(&np);
			journalmatch_cleanup(&nm);
		}
	}
	/* log paths: drop the ones gone, add the new ones */
	for (size_t i = 0; i < j->nsrc;) {
		bool keep = false;

		for (size_t k = 0; k < cj->nlogpaths; k++)
			if (strcmp(cj->logpaths[k].pattern,
			        j->src[i]->pattern) == 0)
				keep = true;
		if (keep)
			i++;
		else
			del_source(j, i);
	}
	for (size_t k = 0; k < cj->nlogpaths; k++) {
		bool have = false;

		for (size_t i = 0; i < j->nsrc; i++)
			if (strcmp(cj->logpaths[k].pattern,
			        j->src[i]->pattern) == 0)
				have = true;
		if (!have)
			add_source(
			    j, cj->logpaths[k].pattern, cj->logpaths[k].tail);
	}
	/* actions: kept ones reload, removed ones stop, new ones start */
	if (j->q != NULL) {
		struct ban **v = xcalloc(banlist_size(j->bl) + 1, sizeof(*v));
		struct tickets ts;
		size_t n = 0;

		for (struct ban *b = banlist_first(j->bl); b;
		     b = banlist_next(b))
			if (!is_pending(j, b))
				v[n++] = b;
		tickets_build(j, &ts, v, n);
		actq_reload(
		    j->q, cj->actions, cj->nactions, ts.t, ts.n, NULL, NULL);
		tickets_free(&ts);
		free(v);
		j->nactions = actq_count(j->q);
	}
	return 0;
}

struct stopctx {
	struct jail *j;
};

static void
stop_actions_done(void *arg, int rc)
{
	struct jail *j = arg;

	(void)rc;
	if (j->stop_done)
		j->stop_done(j->stop_arg);
}

static void
flush_done(void *arg, int rc)
{
	struct jail *j = arg;

	(void)rc;
	actq_stop(j->q, stop_actions_done, j);
}

void
jail_stop(struct jail *j, void (*done)(void *arg), void *arg)
{
	char kb[FKEY_STRLEN];

	j->stopping = true;
	j->stop_done = done;
	j->stop_arg = arg;
	while (j->nsrc > 0)
		del_source(j, j->nsrc - 1);
	src_journal_free(j->sj);
	j->sj = NULL;
	if (j->timer_init)
		uv_timer_stop(&j->unban_timer);
	/* locks end with the jail, as its bans are lifted */
	while (j->locks != NULL && banlist_size(j->locks) > 0)
		unlock_user(j, banlist_pop_first(j->locks));
	if (have_actions(j)) {
		struct ban **v = xcalloc(banlist_size(j->bl) + 1, sizeof(*v));
		struct tickets ts;
		size_t n = 0;

		for (struct ban *b = banlist_first(j->bl); b;
		     b = banlist_next(b))
			if (!is_pending(j, b))
				v[n++] = b;
		tickets_build(j, &ts, v, n);
		actq_flush(j->q, ts.t, ts.n, true, true, flush_done, j);
		tickets_free(&ts);
		free(v);
		return;
	}
	for (struct ban *b = banlist_first(j->bl); b; b = banlist_next(b))
		if (!is_pending(j, b))
			wlog(WLOG_NOTICE, WLOG_ACTIONS, "[%s] Unban %s",
			    j->name, key_text(&b->key, kb));
	if (done)
		done(arg);
}

static void
timer_closed(uv_handle_t *h)
{
	struct jail *j = h->data;

	free(j);
}

void
jail_free(struct jail *j)
{
	if (j == NULL)
		return;
	while (j->nsrc > 0) {
		struct jsource *s = j->src[--j->nsrc];

		if (s->src != NULL)
			src_file_del(j->env->files, s->src);
		free(s->pattern);
		free(s);
	}
	free(j->src);
	src_journal_free(j->sj);
	src_journal_params_cleanup(&j->jp);
	journalmatch_cleanup(&j->jm);
	while (j->dnsq != NULL) {
		struct dnsq *q = j->dnsq;

		j->dnsq = q->next;
		resolve_cancel(j->env->dns, q);
		found_cleanup(&q->f);
		free(q);
	}
	if (j->q != NULL)
		actq_close(j->q);
	if (j->ig != NULL)
		ignore_free(j->ig);
	drop_rchecks(j);
	filter_free(j->filter);
	filterdef_cleanup(&j->fd);
	free(j->fspare);
	failtab_free(j->ft);
	banlist_free(j->bl);
	failtab_free(j->uft);
	banlist_free(j->locks);
	strv_cleanup(&j->members);
	free(j->service);
	report_acl_cleanup(&j->racl);
	bantime_free(j->bt);
	free(j->pend);
	free(j->pre);
	free(j->inc_formula_text);
	free(j->inc_factor_text);
	free(j->inc_mult);
	free(j->usedns);
	free(j->logencoding);
	free(j->ic_key);
	free(j->name);
	free(j->backend);
	if (j->timer_init) {
		uv_timer_stop(&j->unban_timer);
		uv_close((uv_handle_t *)&j->unban_timer, timer_closed);
		return;
	}
	free(j);
}

/* ---- commands ---- */

static json_t *jstring(const char *s);

/*
 * The error state of the jail's native nftables actions: "A: ERROR
 * (since T, N failed attempts, next attempt at T2)", several joined by
 * "; ", or NULL when none has an error.
 */
static char *
action_errors(struct jail *j)
{
	struct sbuf b = SBUF_INIT;

	for (size_t i = 0; j->q != NULL && i < actq_count(j->q); i++) {
		struct action *a = actq_at(j->q, i);
		struct nft_action_info in;
		char t1[WLOG_TIMESTRLEN], t2[WLOG_TIMESTRLEN];

		if (nft_action_info(a, &in) != 0 || in.error == NULL)
			continue;
		if (b.len > 0)
			sbuf_addstr(&b, "; ");
		sbuf_printf(&b, "%s: %s (since %s, %u failed attempt%s",
		    a->name, in.error, time2str(in.error_since, t1),
		    in.failures, in.failures == 1 ? "" : "s");
		if (in.next_retry > 0)
			sbuf_printf(&b, ", next attempt at %s",
			    time2str(in.next_retry, t2));
		sbuf_addch(&b, ')');
	}
	if (b.len == 0) {
		sbuf_cleanup(&b);
		return NULL;
	}
	return sbuf_detach(&b);
}

/* The locked logins, in lock order. */
static json_t *
locked_list(struct jail *j)
{
	json_t *l = json_array();
	char kb[FKEY_STRLEN];

	for (struct ban *b = banlist_first(j->locks); b; b = banlist_next(b))
		json_array_append_new(l, jstring(key_text(&b->key, kb)));
	return l;
}

json_t *
jail_status(struct jail *j, const char *flavor)
{
	bool shrt = flavor != NULL && strcmp(flavor, "short") == 0;
	json_t *filt, *acts;

	if (flavor != NULL && strcmp(flavor, "short") != 0 &&
	    strcmp(flavor, "basic") != 0 && strcmp(flavor, "cymru") != 0)
		wlog(WLOG_WARNING, WLOG_SERVER,
		    "Unsupported extended jail status flavor '%s'. Supported: "
		    "['short', 'basic', 'cymru']",
		    flavor);
	if (j->members.n > 0) {
		/* an aggregate jail: its member jails instead of files */
		json_t *m = json_array();

		for (size_t i = 0; i < j->members.n; i++)
			json_array_append_new(m, jstring(j->members.v[i]));
		filt = json_pack("[[s,I],[s,I],[s,o]]", "Currently failed",
		    (json_int_t)failtab_size(j->ft), "Total failed",
		    (json_int_t)failtab_total(j->ft), "Member jails", m);
	} else {
		filt = json_pack("[[s,I],[s,I],[s,o]]", "Currently failed",
		    (json_int_t)failtab_size(j->ft), "Total failed",
		    (json_int_t)failtab_total(j->ft),
		    j->journal ? "Journal matches" : "File list",
		    j->journal ? journal_matches(j) : file_list(j));
	}
	acts = json_pack("[[s,I],[s,I]]", "Currently banned",
	    (json_int_t)banlist_size(j->bl), "Total banned",
	    (json_int_t)banlist_total(j->bl));
	if (!shrt)
		json_array_append_new(acts,
		    json_pack("[s,o]", "Banned IP list",
		        jail_banlist(j, false, false)));
	if (flavor != NULL && strcmp(flavor, "cymru") == 0) {
		/* fail2ban without dnspython (Warden has no Cymru lookups) */
		wlog(WLOG_ERROR, "fail2ban.banmanager",
		    "dnspython package is required but could not be imported");
		json_array_append_new(
		    acts, json_pack("[s,[s]]", "Banned ASN list", "error"));
		json_array_append_new(
		    acts, json_pack("[s,[s]]", "Banned Country list", "error"));
		json_array_append_new(
		    acts, json_pack("[s,[s]]", "Banned RIR list", "error"));
	}
	if (j->umaxretry > 0 || banlist_size(j->locks) > 0) {
		/* Warden's rows, only for a jail that tracks logins: after
		 * fail2ban's rows, so parsers of those keep working */
		json_array_append_new(acts,
		    json_pack("[s,I]", "Currently locked users",
		        (json_int_t)banlist_size(j->locks)));
		if (!shrt)
			json_array_append_new(acts,
			    json_pack(
			        "[s,o]", "Locked user list", locked_list(j)));
	}
	{
		/* Warden's row, only while an action has a kernel error:
		 * after fail2ban's rows, so parsers of those keep working */
		char *e = action_errors(j);

		if (e != NULL)
			json_array_append_new(acts,
			    json_pack("[s,o]", "Action errors", jstring(e)));
		free(e);
	}
	return json_pack("[[s,o],[s,o]]", "Filter", filt, "Actions", acts);
}

json_t *
jail_banlist(struct jail *j, bool by_end, bool with_time)
{
	json_t *l = json_array();
	struct ban **v = NULL;
	size_t n = 0;
	char kb[FKEY_STRLEN];

	if (!by_end && !with_time) {
		/* one walk: each ban is touched once */
		for (struct ban *b = banlist_first(j->bl); b;
		     b = banlist_next(b)) {
			const char *k = key_text(&b->key, kb);

			/* an address's text is ASCII: nothing to replace */
			json_array_append_new(l,
			    b->key.kind == FKEY_ADDR
			        ? json_string_nocheck(k)
			        : ctl_json_string(k, strlen(k)));
		}
		return l;
	}
	if (by_end) {
		n = banlist_by_end(j->bl, &v);
	} else {
		v = xcalloc(banlist_size(j->bl) + 1, sizeof(*v));
		for (struct ban *b = banlist_first(j->bl); b;
		     b = banlist_next(b))
			v[n++] = b;
	}
	for (size_t i = 0; i < n; i++) {
		const char *k = key_text(&v[i]->key, kb);

		if (with_time) {
			char t1[WLOG_TIMESTRLEN], t2[WLOG_TIMESTRLEN];
			char *s = xasprintf("%s \t%s + %.0f = %s", k,
			    time2str(v[i]->time, t1), v[i]->bantime,
			    v[i]->bantime == -1 ? "9999-12-31 23:59:59"
			                        : time2str(ban_end(v[i]), t2));

			json_array_append_new(l, ctl_json_string(s, strlen(s)));
			free(s);
		} else {
			json_array_append_new(l, ctl_json_string(k, strlen(k)));
		}
	}
	free(v);
	return l;
}

bool
jail_is_banned(struct jail *j, const char *id)
{
	struct fkey k = fkey_parse(id, strlen(id));

	return banlist_find(j->bl, &k) != NULL;
}

long
jail_banip(struct jail *j, char *const *ids, size_t n)
{
	long cnt = 0;
	double now = jnow(j);

	for (size_t i = 0; i < n; i++) {
		struct bticket bt = {0};

		bt.key = fkey_parse(ids[i], strlen(ids[i]));
		bt.time = now;
		bt.bantime = NAN;
		cnt += ban_ticket(j, &bt);
	}
	return cnt;
}

/* Unbans b now (manual): out of the table, "Unban", actions. */
static void
unban_now(struct jail *j, struct ban *b)
{
	b = banlist_del(j->bl, &b->key);
	unban_bans(j, &b, 1, true);
}

long
jail_unbanip(struct jail *j, char *const *ids, size_t n, bool report_absent,
    char *err, size_t errlen)
{
	long cnt = 0;
	struct sbuf missed = SBUF_INIT;
	size_t nmissed = 0;

	if (ids == NULL) {
		struct ban **v = xcalloc(banlist_size(j->bl) + 1, sizeof(*v));
		size_t k = 0;
		char kb[FKEY_STRLEN];

		db_ban_del(j->env->db, j->name, NULL);
		while (banlist_size(j->bl) > 0) {
			struct ban *b = banlist_pop_first(j->bl);

			cnt++;
			if (drop_pending(j, b))
				ban_free(b); /* never announced */
			else
				v[k++] = b;
		}
		if (have_actions(j)) {
			struct tickets ts;
			size_t a = 0;

			for (size_t i = 0; i < k; i++)
				v[a++] = v[i];
			tickets_build(j, &ts, v, a);
			actq_flush(j->q, ts.t, ts.n, false, true, NULL, NULL);
			tickets_free(&ts);
			for (size_t i = 0; i < a; i++)
				ban_free(v[i]);
		} else {
			for (size_t i = 0; i < k; i++) {
				wlog(WLOG_NOTICE, WLOG_ACTIONS, "[%s] Unban %s",
				    j->name, key_text(&v[i]->key, kb));
				ban_free(v[i]);
			}
		}
		free(v);
		schedule_unban(j);
		return cnt;
	}
	for (size_t i = 0; i < n; i++) {
		struct fkey k = fkey_parse(ids[i], strlen(ids[i]));
		struct ban *b;
		struct addr net;

		db_ban_del(j->env->db, j->name, &k);
		b = banlist_find(j->bl, &k);
		if (b != NULL) {
			unban_now(j, b);
			cnt++;
			continue;
		}
		if (addr_parse_net(ids[i], strlen(ids[i]), &net) == 0 &&
		    net.prefix < (net.family == AF_INET ? 32 : 128)) {
			long got = 0;
			struct ban *x = banlist_first(j->bl);

			while (x != NULL) {
				struct ban *nx = banlist_next(x);

				if (x->key.kind == FKEY_ADDR &&
				    addr_contains(&net, &x->key.addr)) {
					db_ban_del(
					    j->env->db, j->name, &x->key);
					unban_now(j, x);
					got++;
				}
				x = nx;
			}
			if (got > 0) {
				cnt += got;
				continue;
			}
		}
		wlog(WLOG_MSG, WLOG_ACTIONS, "%s is not banned", ids[i]);
		if (report_absent) {
			sbuf_addstr(&missed, nmissed ? ", " : "");
			tags_pyrepr(ids[i], strlen(ids[i]), &missed);
			nmissed++;
		}
	}
	schedule_unban(j);
	if (nmissed > 0) {
		if (err != NULL)
			snprintf(
			    err, errlen, "not banned: [%s]", sbuf_str(&missed));
		sbuf_cleanup(&missed);
		return -1;
	}
	sbuf_cleanup(&missed);
	return cnt;
}

long
jail_attempt(struct jail *j, const char *id, char *const *msgs, size_t n)
{
	struct found *f = xcalloc(1, sizeof(*f));
	struct fkey k = fkey_parse(id, strlen(id));
	char kb[FKEY_STRLEN], tb[WLOG_TIMESTRLEN];
	double now = jnow(j);

	f->j = j;
	fkey_dup(&f->key, &k);
	f->owned = true;
	f->time = now;
	f->manual = true;
	f->count = n > 0 ? (double)n : 1;
	if (n > 0) {
		f->matches = xcalloc(n, sizeof(*f->matches));
		for (size_t i = 0; i < n; i++)
			f->matches[f->nmatches++] = xstrdup(msgs[i]);
	}
	wlog(WLOG_INFO, WLOG_FILTER, "[%s] Attempt %s - %s", j->name,
	    key_text(&f->key, kb), time2str(now, tb));
	count_failure(j, f);
	found_free(f);
	return 1;
}

/* ---- reports (backend = report) ---- */

const char *
jail_service(const struct jail *j)
{
	return j->service;
}

bool
jail_report_allows(const struct jail *j, const struct report_peer *p)
{
	return !j->racl_set || report_acl_allows(&j->racl, p->uid, p->gid);
}

bool
jail_report(struct jail *j, const struct report_msg *m,
    const struct report_peer *p, double now)
{
	char line[REPORT_MAX_MSG + 64];
	char *matches[1] = {line};
	struct found f;
	int n;

	if (j->service == NULL || !j->started || j->stopping || j->idle)
		return false;
	j->reports++;
	if (m->verb == REPORT_OK) {
		struct fkey k = fkey_from_addr(&m->addr);

		/* a successful login: forgets the (login, address) pair's
		 * failures when the jail tracks logins */
		j->reports_ok++;
		if (m->has_user)
			user_success(j, &k, m->user, m->user_len);
		return true;
	}
	/* the match line: the report re-rendered, and who sent it */
	n = report_format(m, line, sizeof(line));
	if (n < 0)
		return false;
	snprintf(line + n, sizeof(line) - (size_t)n, " (uid %u pid %d)",
	    (unsigned)p->uid, (int)p->pid);
	memset(&f, 0, sizeof(f));
	f.j = j;
	f.key = fkey_from_addr(&m->addr);
	f.time = now;
	f.matches = matches;
	f.nmatches = 1;
	if (m->has_user) {
		f.kv = xcalloc(1, sizeof(*f.kv));
		fdata_kv_set(&f.kv[0], "user", m->user, m->user_len);
		f.nkv = 1;
	}
	j->lines++;
	check_failure(j, &f); /* ignore rules, "Found", count, ban */
	if (now >= j->next_svc) {
		j->next_svc = now + SVC_INTERVAL;
		failtab_cleanup(j->ft, now);
		if (j->uft != NULL)
			failtab_cleanup(j->uft, now);
	}
	return true;
}

/* ---- aggregate jails ---- */

bool
jail_has_member(const struct jail *j, const char *member)
{
	return j->members.n > 0 && strv_find(&j->members, member) >= 0;
}

void
jail_feed(struct jail *j, const char *from, const struct jail_failure *jf)
{
	struct found f;
	double now;

	(void)from;
	if (j->members.n == 0 || !j->started || j->stopping || j->idle)
		return;
	memset(&f, 0, sizeof(f));
	f.j = j;
	f.key = jf->key;
	f.time = jf->time;
	f.matches = (char **)jf->matches;
	f.nmatches = jf->nmatches;
	f.count = jf->count;
	if (jf->user != NULL) {
		f.kv = xcalloc(1, sizeof(*f.kv));
		fdata_kv_set(&f.kv[0], "user", jf->user, jf->user_len);
		f.nkv = 1;
	}
	j->lines++;
	check_failure(j, &f);
	now = jnow(j);
	if (now >= j->next_svc) {
		j->next_svc = now + SVC_INTERVAL;
		failtab_cleanup(j->ft, now);
		if (j->uft != NULL)
			failtab_cleanup(j->uft, now);
	}
}

/* ---- get / set ---- */

static json_t *
jnum(double v)
{
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *
jstring(const char *s)
{
	return s ? ctl_json_string(s, strlen(s)) : json_null();
}

static json_t *
regex_list(struct jail *j, bool fail)
{
	json_t *l = json_array();
	size_t n = fail ? filter_failregex_count(j->filter)
	                : filter_ignoreregex_count(j->filter);

	for (size_t i = 0; i < n; i++)
		json_array_append_new(l,
		    jstring(fail ? filter_failregex_expanded(j->filter, i)
		                 : filter_ignoreregex(j->filter, i)));
	return l;
}

static json_t *
datepattern_value(struct jail *j)
{
	if (j->fd.datepattern.re == NULL)
		return json_pack("[n,s]", "Default Detectors");
	return json_pack("[o,o]", jstring(j->fd.datepattern.re),
	    jstring(datedetect_describe(filter_datedetect(j->filter))));
}

static json_t *
ignoreip_list(struct jail *j)
{
	struct strv l = STRV_INIT;
	json_t *r = json_array();

	if (j->ig != NULL)
		ignore_list(j->ig, &l);
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(r, jstring(l.v[i]));
	strv_cleanup(&l);
	return r;
}

static json_t *
bantime_extra(struct jail *j, const char *opt)
{
	if (strcmp(opt, "increment") == 0)
		return json_boolean(j->inc);
	if (strcmp(opt, "factor") == 0)
		return jstring(j->inc_factor_text);
	if (strcmp(opt, "formula") == 0)
		return jstring(j->inc_formula_text);
	if (strcmp(opt, "multipliers") == 0) {
		struct sbuf b = SBUF_INIT;
		json_t *r;

		if (j->inc_nmult == 0)
			return json_null();
		for (size_t i = 0; i < j->inc_nmult; i++)
			sbuf_printf(&b, "%s%ld", i ? " " : "", j->inc_mult[i]);
		r = jstring(sbuf_str(&b));
		sbuf_cleanup(&b);
		return r;
	}
	if (strcmp(opt, "maxtime") == 0)
		return j->inc_maxtime < 0 ? json_null() : jnum(j->inc_maxtime);
	if (strcmp(opt, "rndtime") == 0)
		return j->inc_rndtime < 0 ? json_null() : jnum(j->inc_rndtime);
	if (strcmp(opt, "overalljails") == 0)
		return json_boolean(j->inc_overall);
	return json_null();
}

/* getattr(action, name) as the JSON fail2ban's transmitter returns. */
static json_t *
action_value(struct action *a, const char *name, const char **errtype,
    char *err, size_t errlen)
{
	char *v = NULL;
	bool number = false;
	json_t *r;

	if (action_prop_get(a, name, &v, &number, err, errlen) != 0) {
		*errtype = CTL_ERR_GENERIC; /* AttributeError: str() of it */
		return NULL;
	}
	r = NULL;
	if (number) {
		char *end;
		long long i = strtoll(v, &end, 10);

		if (*end == '\0' && end != v) {
			r = json_integer(i);
		} else {
			double d = strtod(v, &end);

			if (*end == '\0' && end != v)
				r = json_real(d);
		}
	}
	if (r == NULL)
		r = jstring(v);
	free(v);
	return r;
}

/* get J ignorecache: [key, max-count, max-time] or None. */
static json_t *
ignorecache_value(const struct jail *j)
{
	if (j->ic_key == NULL)
		return json_null();
	return json_pack("[s,i,o]", j->ic_key, j->ic_count, jnum(j->ic_time));
}

json_t *
jail_get(struct jail *j, int argc, char **argv, const char **errtype, char *err,
    size_t errlen)
{
	const char *what = argv[1];

	*errtype = CTL_ERR_GENERIC;
	if (strcmp(what, "banned") == 0) {
		if (argc <= 2)
			return jail_banlist(j, false, false);
		if (argc == 3)
			return json_integer(jail_is_banned(j, argv[2]) ? 1 : 0);
		{
			json_t *l = json_array();

			for (int i = 2; i < argc; i++)
				json_array_append_new(l,
				    json_integer(
				        jail_is_banned(j, argv[i]) ? 1 : 0));
			return l;
		}
	}
	if (strcmp(what, "banip") == 0)
		return jail_banlist(
		    j, true, argc > 2 && strcmp(argv[2], "--with-time") == 0);
	if (strcmp(what, "logpath") == 0)
		return file_list(j);
	if (strcmp(what, "logencoding") == 0)
		return jstring(strcasecmp(j->logencoding, "auto") == 0
		        ? "UTF-8"
		        : j->logencoding);
	if (strcmp(what, "journalmatch") == 0) {
		json_t *l = json_array();

		for (size_t g = 0; g < j->jm.n; g++) {
			json_t *w = json_array();

			for (size_t k = 0; k < j->jm.groups[g].n; k++)
				json_array_append_new(
				    w, jstring(j->jm.groups[g].v[k]));
			json_array_append_new(l, w);
		}
		return l;
	}
	if (strcmp(what, "ignoreself") == 0)
		return json_boolean(j->ig ? ignore_get_self(j->ig) : true);
	if (strcmp(what, "ignoreip") == 0)
		return ignoreip_list(j);
	if (strcmp(what, "ignorecommand") == 0) {
		/* jail.conf's "ignorecommand =" reaches fail2ban as '' */
		const char *c = j->ig ? ignore_get_command(j->ig) : NULL;

		return jstring(c ? c : "");
	}
	if (strcmp(what, "ignorecache") == 0)
		return ignorecache_value(j);
	if (strcmp(what, "prefregex") == 0) {
		const char *p = filter_prefregex_expanded(j->filter);

		return jstring(p ? p : "");
	}
	if (strcmp(what, "failregex") == 0)
		return regex_list(j, true);
	if (strcmp(what, "ignoreregex") == 0)
		return regex_list(j, false);
	if (strcmp(what, "findtime") == 0)
		return jnum(j->findtime);
	if (strcmp(what, "bantime") == 0)
		return jnum(j->bantime);
	if (strncmp(what, "bantime.", 8) == 0)
		return bantime_extra(j, what + 8);
	if (strcmp(what, "datepattern") == 0)
		return datepattern_value(j);
	if (strcmp(what, "logtimezone") == 0)
		return jstring(j->fd.logtimezone);
	if (strcmp(what, "usedns") == 0)
		return jstring(j->usedns);
	if (strcmp(what, "maxretry") == 0)
		return json_integer(j->maxretry);
	if (strcmp(what, "usermaxretry") == 0)
		return json_integer(j->umaxretry);
	if (strcmp(what, "userfindtime") == 0)
		return jnum(ufindtime(j));
	if (strcmp(what, "userbantime") == 0)
		return jnum(ubantime(j));
	if (strcmp(what, "lockedusers") == 0)
		return locked_list(j);
	if (strcmp(what, "jails") == 0) {
		json_t *l = json_array();

		for (size_t i = 0; i < j->members.n; i++)
			json_array_append_new(l, jstring(j->members.v[i]));
		return l;
	}
	if (strcmp(what, "maxmatches") == 0)
		return json_integer(j->maxmatches);
	if (strcmp(what, "maxlines") == 0)
		return json_integer(filter_maxlines(j->filter));
	if (strcmp(what, "actions") == 0) {
		json_t *l = json_array();

		for (size_t i = 0; j->q && i < actq_count(j->q); i++)
			json_array_append_new(
			    l, jstring(actq_at(j->q, i)->name));
		return l;
	}
	if (strcmp(what, "action") == 0 ||
	    strcmp(what, "actionproperties") == 0 ||
	    strcmp(what, "actionmethods") == 0) {
		struct action *a;
		struct strv names = STRV_INIT;
		json_t *l;

		if (argc < 3 || (what[6] == '\0' && argc < 4)) {
			*errtype = CTL_ERR_INDEX;
			snprintf(err, errlen, "list index out of range");
			return NULL;
		}
		a = j->q ? actq_find(j->q, argv[2]) : NULL;
		if (a == NULL) {
			*errtype = CTL_ERR_KEY;
			snprintf(
			    err, errlen, "Invalid Action name: %s", argv[2]);
			return NULL;
		}
		if (what[6] == '\0')
			return action_value(a, argv[3], errtype, err, errlen);
		if (what[6] == 'p')
			action_prop_names(a, &names);
		else
			action_method_names(a, &names);
		l = json_array();
		for (size_t i = 0; i < names.n; i++)
			json_array_append_new(l, jstring(names.v[i]));
		strv_cleanup(&names);
		return l;
	}
	snprintf(err, errlen,
	    "Invalid command (no get action or not yet implemented)");
	return NULL;
}

static int
parse_int(const char *s, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	while (*end == ' ')
		end++;
	return end == s || *end != '\0' || errno != 0 ? -1 : 0;
}

/* Rebuilds the filter from a changed copy; on failure nothing changes. */
static int
swap_filter(struct jail *j, struct filterdef *nfd, char *err, size_t errlen)
{
	struct diags d = DIAGS_INIT;
	struct filter *nf = build_filter(j, nfd, &d);

	if (nf == NULL) {
		snprintf(
		    err, errlen, "%s", d.n > 0 ? d.v[0].msg : "invalid filter");
		diags_cleanup(&d);
		filterdef_cleanup(nfd);
		return -1;
	}
	diags_cleanup(&d);
	filter_free(j->filter);
	j->filter = nf;
	filter_set_in_operation(nf, j->in_operation);
	filterdef_cleanup(&j->fd);
	j->fd = *nfd;
	return 0;
}

static void
re_list_del(struct filterdef_re_list *l, size_t i)
{
	free(l->v[i].re);
	free(l->v[i].file);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

/*
 * `set J ignorecache VALUE`: fail2ban's extractOptions("cache[VALUE]"):
 * key, max-count, max-time, comma separated, values maybe quoted; an
 * empty VALUE turns the cache off.
 */
static int
set_ignorecache(struct jail *j, const char *val, char *err, size_t errlen)
{
	char *key = NULL;
	int count = 100;
	double tm = 300;
	const char *p = val;

	while (*p) {
		char name[32], *v = NULL;
		const char *start;
		size_t n = 0;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p && *p != '=' && *p != ',' && n + 1 < sizeof(name))
			name[n++] = *p++;
		while (n > 0 && name[n - 1] == ' ')
			n--;
		name[n] = '\0';
		if (*p != '=') {
			snprintf(err, errlen,
			    "expected option, wrong syntax at %zu: %.25s",
			    (size_t)(start - val), start);
			free(key);
			return -1;
		}
		p++;
		while (*p == ' ')
			p++;
		if (*p == '"' || *p == '\'') {
			const char *e = strchr(p + 1, *p);

			if (e == NULL) {
				snprintf(err, errlen,
				    "unexpected syntax after option %s", name);
				free(key);
				return -1;
			}
			v = xstrndup(p + 1, (size_t)(e - p - 1));
			p = e + 1;
		} else {
			const char *e = strchr(p, ',');

			if (e == NULL)
				e = p + strlen(p);
			v = xstrndup(p, (size_t)(e - p));
			while (v[0] && v[strlen(v) - 1] == ' ')
				v[strlen(v) - 1] = '\0';
			p = e;
		}
		if (strcmp(name, "key") == 0) {
			free(key);
			key = v;
			continue;
		}
		if (strcmp(name, "max-count") == 0) {
			long c;

			if (parse_int(v, &c) != 0 || c < 0 || c > INT_MAX) {
				snprintf(err, errlen,
				    "invalid literal for int() with base 10: "
				    "'%s'",
				    v);
				free(v);
				free(key);
				return -1;
			}
			count = (int)c;
		} else if (strcmp(name, "max-time") == 0) {
			if (timeval_parse(v, &tm, NULL, err, errlen) != 0) {
				free(v);
				free(key);
				return -1;
			}
		}
		free(v);
	}
	if (key == NULL && val[0] != '\0') {
		/* fail2ban: command['key'] raises KeyError('key') */
		snprintf(err, errlen, "key");
		return -2;
	}
	free(j->ic_key);
	j->ic_key = key;
	j->ic_count = count;
	j->ic_time = tm;
	if (j->ig != NULL)
		ignore_set_cache(j->ig, key, count, tm);
	return 0;
}

/* A method call of `set J action A M` waiting for its job. */
struct jail_call {
	jail_call_cb cb;
	void *arg;
};

static void
call_done(void *arg, int rc)
{
	struct jail_call *c = arg;

	c->cb(c->arg, rc == 0 ? json_true() : NULL,
	    rc == 0 ? NULL : "Exception",
	    rc == 0 ? NULL : "the action's command failed (see the log)");
	free(c);
}

/*
 * `set J action A METHOD [KWARGS]` for the methods that run no command
 * (invalidateBanEpoch, clearAllParams) or cannot be called from here.
 */
static json_t *
action_method(struct action *a, int argc, char **argv, const char **errtype,
    char *err, size_t errlen)
{
	static const struct {
		const char *name;
		const char *args;
	} req[] = {{"ban", "'aInfo'"}, {"unban", "'aInfo'"},
	    {"reban", "'aInfo'"}, {"prolong", "'aInfo'"},
	    {"escapeTag", "'value'"}, {"executeCmd", "'realCmd'"},
	    {"replaceTag", "'query' and 'aInfo'"},
	    {"replaceDynamicTags", "'realCmd' and 'aInfo'"}};
	const char *m = argv[3];
	const char *cls =
	    a->ops && a->ops->class_name ? a->ops->class_name : "Action";

	if (strcmp(m, "invalidateBanEpoch") == 0) {
		action_invalidate_epoch(a);
		return json_null();
	}
	if (strcmp(m, "clearAllParams") == 0 && a->ops != NULL &&
	    a->ops->clear_params != NULL) {
		a->ops->clear_params(a);
		return json_null();
	}
	*errtype = CTL_ERR_GENERIC;
	for (size_t i = 0; argc <= 4 && i < sizeof(req) / sizeof(req[0]); i++)
		if (strcmp(req[i].name, m) == 0) {
			/* Python's TypeError for the missing arguments */
			snprintf(err, errlen,
			    "%s.%s() missing %s required positional "
			    "argument%s: %s",
			    cls, m, strchr(req[i].args, ' ') ? "2" : "1",
			    strchr(req[i].args, ' ') ? "s" : "", req[i].args);
			return NULL;
		}
	snprintf(err, errlen,
	    "%s.%s() cannot be called through the socket in Warden", cls, m);
	return NULL;
}

int
jail_action_call(
    struct jail *j, int argc, char **argv, jail_call_cb cb, void *arg)
{
	static const struct {
		const char *name;
		enum action_call call;
	} calls[] = {{"start", ACTION_CALL_START}, {"stop", ACTION_CALL_STOP},
	    {"flush", ACTION_CALL_FLUSH},
	    {"consistencyCheck", ACTION_CALL_CHECK}};
	struct action *a;
	struct jail_call *c;

	if (argc < 4 || strcmp(argv[1], "action") != 0 || j->q == NULL)
		return 1;
	a = actq_find(j->q, argv[2]);
	if (a == NULL || !action_has_method(a, argv[3]))
		return 1;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (strcmp(calls[i].name, argv[3]) != 0)
			continue;
		c = xcalloc(1, sizeof(*c));
		c->cb = cb;
		c->arg = arg;
		actq_call(j->q, a, calls[i].call, call_done, c);
		return 0;
	}
	return 1;
}

json_t *
jail_set(struct jail *j, int argc, char **argv, const char **errtype, char *err,
    size_t errlen)
{
	const char *what = argv[1], *val;
	long iv;
	double dv;
	char nb[64];

	*errtype = CTL_ERR_GENERIC;
	if (argc < 3) {
		*errtype = CTL_ERR_INDEX;
		snprintf(err, errlen, "list index out of range");
		return NULL;
	}
	val = argv[2];
	if (strcmp(what, "idle") == 0) {
		if (strcmp(val, "on") == 0)
			j->idle = true;
		else if (strcmp(val, "off") == 0)
			j->idle = false;
		else {
			snprintf(err, errlen,
			    "Invalid idle option, must be 'on' or 'off'");
			return NULL;
		}
		return json_boolean(j->idle);
	}
	if (strcmp(what, "ignoreself") == 0) {
		bool on = strcasecmp(val, "true") == 0 ||
		    strcasecmp(val, "yes") == 0 || strcmp(val, "1") == 0 ||
		    strcasecmp(val, "on") == 0;

		if (j->ig)
			ignore_set_self(j->ig, on);
		return json_boolean(on);
	}
	if (strcmp(what, "addignoreip") == 0) {
		for (int i = 2; i < argc && j->ig; i++)
			ignore_add(j->ig, argv[i]);
		return ignoreip_list(j);
	}
	if (strcmp(what, "delignoreip") == 0) {
		if (j->ig && ignore_del(j->ig, val) != 0) {
			*errtype = CTL_ERR_VALUE;
			snprintf(err, errlen, "list.remove(x): x not in list");
			return NULL;
		}
		return ignoreip_list(j);
	}
	if (strcmp(what, "ignorecommand") == 0) {
		if (j->ig)
			ignore_set_command(j->ig, val);
		return jstring(val);
	}
	if (strcmp(what, "ignorecache") == 0) {
		int rc = set_ignorecache(j, val, err, errlen);

		if (rc != 0) {
			*errtype = rc == -2 ? CTL_ERR_KEY : CTL_ERR_VALUE;
			return NULL;
		}
		return ignorecache_value(j);
	}
	if (strcmp(what, "addaction") == 0) {
		struct action *a;

		if (j->q == NULL) {
			snprintf(err, errlen,
			    "wardend runs without actions (--no-firewall)");
			return NULL;
		}
		/* addaction NAME [PYFILE JSON]: a Python action is refused
		 * (disabled) as at start */
		a = actq_add_new(j->q, val, argc > 3, err, errlen);
		if (a == NULL) {
			*errtype = CTL_ERR_VALUE;
			return NULL;
		}
		j->nactions = actq_count(j->q);
		return jstring(val);
	}
	if (strcmp(what, "delaction") == 0) {
		if (j->q == NULL || actq_remove(j->q, val) != 0) {
			*errtype = CTL_ERR_KEY;
			snprintf(err, errlen, "Invalid Action name: %s", val);
			return NULL;
		}
		j->nactions = actq_count(j->q);
		return json_null();
	}
	if (strcmp(what, "action") == 0) {
		struct action *a = j->q ? actq_find(j->q, val) : NULL;

		if (a == NULL) {
			*errtype = CTL_ERR_KEY;
			snprintf(err, errlen, "Invalid Action name: %s", val);
			return NULL;
		}
		if (argc < 4) {
			*errtype = CTL_ERR_INDEX;
			snprintf(err, errlen, "list index out of range");
			return NULL;
		}
		if (action_has_method(a, argv[3]))
			return action_method(
			    a, argc, argv, errtype, err, errlen);
		if (argc < 5) {
			*errtype = CTL_ERR_INDEX;
			snprintf(err, errlen, "list index out of range");
			return NULL;
		}
		if (action_prop_set(a, argv[3], argv[4], err, errlen) != 0) {
			*errtype = CTL_ERR_VALUE;
			return NULL;
		}
		return action_value(a, argv[3], errtype, err, errlen);
	}
	if (strcmp(what, "addjournalmatch") == 0 ||
	    strcmp(what, "deljournalmatch") == 0) {
		struct diags d = DIAGS_INIT;
		char *const *words = argv + 2;
		size_t nw = (size_t)(argc - 2);

		if (!j->journal)
			return jail_get(j, 2,
			    (char *[]){argv[0], "journalmatch"}, errtype, err,
			    errlen);
		if (what[0] == 'a') {
			if (journalmatch_add_words(&j->jm, words, nw, &d) !=
			    0) {
				*errtype = CTL_ERR_VALUE;
				snprintf(err, errlen, "%s",
				    d.n ? d.v[0].msg : "invalid journal match");
				diags_cleanup(&d);
				return NULL;
			}
		} else {
			/* fail2ban's delJournalMatch: the group made of exactly
			 * these words */
			for (size_t g = 0; g < j->jm.n; g++) {
				bool same = j->jm.groups[g].n == nw;

				for (size_t k = 0; same && k < nw; k++)
					same = strcmp(j->jm.groups[g].v[k],
					           words[k]) == 0;
				if (!same)
					continue;
				strv_cleanup(&j->jm.groups[g]);
				memmove(&j->jm.groups[g], &j->jm.groups[g + 1],
				    (j->jm.n - g - 1) * sizeof(*j->jm.groups));
				j->jm.n--;
				break;
			}
		}
		diags_cleanup(&d);
		/* reopen with the new match, resuming after the cursor */
		if (j->sj != NULL) {
			jail_save_positions(j);
			db_flush(j->env->db);
			src_journal_free(j->sj);
			j->sj = NULL;
			journal_open(j);
		}
		return jail_get(j, 2, (char *[]){argv[0], "journalmatch"},
		    errtype, err, errlen);
	}
	if ((strcmp(what, "addlogpath") == 0 ||
	        strcmp(what, "dellogpath") == 0) &&
	    j->journal)
		return json_array(); /* fail2ban: not a file filter */
	if (strcmp(what, "addlogpath") == 0) {
		bool tail = false;

		if (argc == 4) {
			if (strcasecmp(argv[3], "tail") == 0)
				tail = true;
			else if (strcasecmp(argv[3], "head") != 0) {
				*errtype = CTL_ERR_VALUE;
				snprintf(err, errlen,
				    "File option must be 'head' or 'tail'");
				return NULL;
			}
		} else if (argc > 4) {
			*errtype = CTL_ERR_VALUE;
			snprintf(err, errlen,
			    "Only one file can be added at a time");
			return NULL;
		}
		for (size_t i = 0; i < j->nsrc; i++)
			if (strcmp(j->src[i]->pattern, val) == 0) {
				wlog(WLOG_ERROR, WLOG_FILTER,
				    "%s already exists", val);
				return file_list(j);
			}
		add_source(j, val, tail);
		return file_list(j);
	}
	if (strcmp(what, "dellogpath") == 0) {
		for (size_t i = 0; i < j->nsrc; i++)
			if (strcmp(j->src[i]->pattern, val) == 0) {
				jail_save_positions(j);
				del_source(j, i);
				break;
			}
		return file_list(j);
	}
	if (strcmp(what, "logencoding") == 0) {
		free(j->logencoding);
		j->logencoding = xstrdup(val);
		return jstring(strcasecmp(val, "auto") == 0 ? "UTF-8" : val);
	}
	if (strcmp(what, "addfailregex") == 0 ||
	    strcmp(what, "addignoreregex") == 0 ||
	    strcmp(what, "delfailregex") == 0 ||
	    strcmp(what, "delignoreregex") == 0 ||
	    strcmp(what, "prefregex") == 0 ||
	    strcmp(what, "datepattern") == 0 ||
	    strcmp(what, "logtimezone") == 0 || strcmp(what, "maxlines") == 0 ||
	    strcmp(what, "usedns") == 0) {
		struct filterdef nfd;
		bool fail = strstr(what, "fail") != NULL;

		fd_copy(&nfd, &j->fd);
		if (strncmp(what, "add", 3) == 0) {
			filterdef_re_add(
			    fail ? &nfd.failregex : &nfd.ignoreregex, val, NULL,
			    0);
		} else if (strncmp(what, "del", 3) == 0) {
			struct filterdef_re_list *l =
			    fail ? &nfd.failregex : &nfd.ignoreregex;

			if (parse_int(val, &iv) != 0 || iv < 0 ||
			    (size_t)iv >= l->n) {
				wlog(WLOG_ERROR, WLOG_FILTER,
				    "Cannot remove regular expression. Index "
				    "%s is not valid",
				    val);
			} else {
				re_list_del(l, (size_t)iv);
			}
		} else if (strcmp(what, "prefregex") == 0) {
			filterdef_re_set(
			    &nfd.prefregex, val[0] ? val : NULL, NULL, 0);
		} else if (strcmp(what, "datepattern") == 0) {
			filterdef_re_set(&nfd.datepattern, val, NULL, 0);
		} else if (strcmp(what, "logtimezone") == 0) {
			free(nfd.logtimezone);
			nfd.logtimezone = xstrdup(val);
		} else if (strcmp(what, "usedns") == 0) {
			const char *u = val;

			if (strcasecmp(u, "yes") != 0 &&
			    strcasecmp(u, "warn") != 0 &&
			    strcasecmp(u, "no") != 0 &&
			    strcasecmp(u, "raw") != 0) {
				wlog(WLOG_ERROR, WLOG_FILTER,
				    "Incorrect value '%s' specified for "
				    "usedns. Using safe 'no'",
				    u);
				u = "no";
			}
			free(nfd.usedns);
			nfd.usedns = xstrdup(u);
			for (char *p = nfd.usedns; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			free(j->usedns);
			j->usedns = xstrdup(nfd.usedns);
		} else {
			if (parse_int(val, &iv) != 0 || iv <= 0) {
				filterdef_cleanup(&nfd);
				*errtype = CTL_ERR_VALUE;
				snprintf(err, errlen,
				    "maxlines must be integer greater than "
				    "zero");
				return NULL;
			}
			nfd.maxlines = (int)iv;
		}
		if (swap_filter(j, &nfd, err, errlen) != 0)
			return NULL;
		if (fail || strstr(what, "ignoreregex") != NULL)
			return regex_list(j, fail);
		if (strcmp(what, "prefregex") == 0) {
			const char *p = filter_prefregex_expanded(j->filter);

			return jstring(p ? p : "");
		}
		if (strcmp(what, "datepattern") == 0)
			return datepattern_value(j);
		if (strcmp(what, "logtimezone") == 0)
			return jstring(j->fd.logtimezone);
		if (strcmp(what, "usedns") == 0)
			return jstring(j->usedns);
		return json_integer(filter_maxlines(j->filter));
	}
	if (strcmp(what, "findtime") == 0 || strcmp(what, "bantime") == 0 ||
	    strcmp(what, "bantime.maxtime") == 0 ||
	    strcmp(what, "bantime.rndtime") == 0) {
		if (val[0] == '\0' && strncmp(what, "bantime.", 8) == 0) {
			dv = -1;
		} else if (timeval_parse(val, &dv, NULL, err, errlen) != 0) {
			*errtype = CTL_ERR_VALUE;
			return NULL;
		}
		if (strcmp(what, "findtime") == 0) {
			j->findtime = dv;
			failtab_set_findtime(j->ft, dv);
			if (j->uft != NULL)
				failtab_set_findtime(j->uft, ufindtime(j));
			wlog(WLOG_INFO, WLOG_FILTER, "  findtime: %s",
			    pynum(dv, nb, sizeof(nb)));
			return jnum(dv);
		}
		if (strcmp(what, "bantime") == 0) {
			j->bantime = dv;
			j->aenv.jail_bantime = (long)dv;
			wlog(WLOG_INFO, WLOG_ACTIONS, "  banTime: %s",
			    pynum(dv, nb, sizeof(nb)));
			return jnum(dv);
		}
		if (strcmp(what, "bantime.maxtime") == 0)
			j->inc_maxtime = dv;
		else
			j->inc_rndtime = dv;
		rebuild_bantime(
		    j, j->inc_formula_text, j->inc_factor_text, err, errlen);
		return bantime_extra(j, what + 8);
	}
	if (strcmp(what, "unlockuser") == 0) {
		struct fkey uk = fkey_from_str(FKEY_USER, val, strlen(val));
		struct ban *lk = banlist_del(j->locks, &uk);

		if (lk == NULL) {
			*errtype = CTL_ERR_VALUE;
			snprintf(err, errlen, "not locked: %s", val);
			return NULL;
		}
		unlock_user(j, lk);
		schedule_unban(j);
		return locked_list(j);
	}
	if (strcmp(what, "usermaxretry") == 0) {
		if (parse_int(val, &iv) != 0 || iv < 0 || iv > INT_MAX) {
			*errtype = CTL_ERR_VALUE;
			snprintf(err, errlen,
			    "invalid literal for int() with base 10: '%s'",
			    val);
			return NULL;
		}
		set_user_tracking(j, (int)iv, failtab_max_entries(j->ft));
		wlog(WLOG_INFO, WLOG_FILTER, "  userMaxRetry: %ld", iv);
		return json_integer(iv);
	}
	if (strcmp(what, "userfindtime") == 0 ||
	    strcmp(what, "userbantime") == 0) {
		if (timeval_parse(val, &dv, NULL, err, errlen) != 0) {
			*errtype = CTL_ERR_VALUE;
			return NULL;
		}
		if (what[4] == 'f') {
			j->ufindtime_cfg = dv;
			if (j->uft != NULL)
				failtab_set_findtime(j->uft, dv);
		} else {
			j->ubantime_cfg = dv;
		}
		return jnum(dv);
	}
	if (strcmp(what, "maxretry") == 0 || strcmp(what, "maxmatches") == 0) {
		if (parse_int(val, &iv) != 0) {
			*errtype = CTL_ERR_VALUE;
			snprintf(err, errlen,
			    "invalid literal for int() with base 10: '%s'",
			    val);
			return NULL;
		}
		if (what[3] == 'r') {
			j->maxretry = (int)iv;
			wlog(WLOG_INFO, WLOG_FILTER, "  maxRetry: %ld", iv);
		} else {
			j->maxmatches = (int)iv;
			failtab_set_maxmatches(j->ft, (int)iv);
		}
		return json_integer(iv);
	}
	if (strncmp(what, "bantime.", 8) == 0) {
		const char *opt = what + 8;
		bool on = strcasecmp(val, "true") == 0 ||
		    strcasecmp(val, "yes") == 0 || strcmp(val, "1") == 0 ||
		    strcasecmp(val, "on") == 0;

		if (strcmp(opt, "increment") == 0) {
			j->inc = on;
			if (on && j->env->db == NULL)
				wlog(WLOG_WARNING, WLOG_JAIL,
				    "ban time increment is not available as "
				    "long jail database is not set");
		} else if (strcmp(opt, "overalljails") == 0) {
			j->inc_overall = on;
		} else if (strcmp(opt, "formula") == 0) {
			if (rebuild_bantime(j, val[0] ? val : NULL,
			        j->inc_factor_text, err, errlen) != 0) {
				*errtype = CTL_ERR_VALUE;
				return NULL;
			}
		} else if (strcmp(opt, "factor") == 0) {
			if (rebuild_bantime(j, j->inc_formula_text,
			        val[0] ? val : NULL, err, errlen) != 0) {
				*errtype = CTL_ERR_VALUE;
				return NULL;
			}
		} else if (strcmp(opt, "multipliers") == 0) {
			long *m = NULL;
			size_t n = 0, cap = 0;
			const char *p = val;

			while (*p) {
				char *end;
				long x;

				while (*p == ' ')
					p++;
				if (*p == '\0')
					break;
				x = strtol(p, &end, 10);
				if (end == p) {
					free(m);
					*errtype = CTL_ERR_VALUE;
					snprintf(err, errlen,
					    "invalid literal for int() with "
					    "base 10: '%s'",
					    p);
					return NULL;
				}
				xgrow(&m, &cap, n + 1, sizeof(*m));
				m[n++] = x;
				p = end;
			}
			free(j->inc_mult);
			j->inc_mult = m;
			j->inc_nmult = n;
			rebuild_bantime(j, j->inc_formula_text,
			    j->inc_factor_text, err, errlen);
		} else {
			snprintf(err, errlen,
			    "Invalid command '%s' (no set action or not yet "
			    "implemented)",
			    what);
			return NULL;
		}
		wlog(WLOG_INFO, WLOG_JAIL, "Set banTime.%s = %s", opt, val);
		return bantime_extra(j, opt);
	}
	snprintf(err, errlen,
	    "Invalid command '%s' (no set action or not yet implemented)",
	    what);
	return NULL;
}
