/*
 * The native nftables backend (issue 4): bans go straight into kernel
 * sets over netlink, one transaction per batch of tickets, each element
 * with its own timeout so the kernel lifts a ban even when wardend is
 * gone. No nft process, no libnftables cache: nft_msg builds the
 * transaction, nft_sock sends it, nft_rules knows the table, chain, sets
 * and rules (see nft_rules.h for what is created).
 *
 * The backend keeps what it wants in the kernel (every address and
 * network it was asked to ban, with the ban's end) in its own table, so
 * that whatever happens in the kernel it can put it back:
 *
 *  - start creates the objects (idempotently: an earlier run's rules are
 *    replaced, its sets and their elements kept, so bans stay active
 *    across a restart) and then waits for the bans the jail restores
 *    from its database: until the jail marks the last of them
 *    (action_ticket.restore_last), else until none came for
 *    `restorewait` seconds (5 s while the jail says more come), or the
 *    first new ban arrives. Then it reconciles the sets with them in one
 *    transaction: every set flushed and refilled, which restores missing
 *    elements and removes stale ones atomically, without ever reading a
 *    large set back (that is what makes the nft tool slow, testenv 3.3).
 *  - a transaction the kernel refuses (table deleted by the admin, no
 *    permission, a module missing) is logged with the kernel's reason;
 *    the backend then retries with back-off (1 s doubling to 60 s),
 *    each retry recreating the objects and refilling the sets from what
 *    it wants, in one transaction. Bans and unbans that arrive meanwhile
 *    only update what it wants (and fail, rate-limited in the log); the
 *    daemon's database is never touched. nft_action_info() reports the
 *    error for `warden status`.
 *  - every `checkinterval` seconds a few small GET requests confirm that
 *    the table, chain, sets and rules are still there.
 *
 * Deletions use the kernel's "destroy" messages (Linux 6.3+), which do
 * not fail when the kernel has already expired the element. On older
 * kernels (probed once) plain deletes are used and element timeouts get
 * a few seconds of grace so that the daemon's own unban comes first; a
 * delete that still finds nothing fails its transaction like any other
 * error, and the retry puts everything right.
 */
#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "action.h"
#include "addr.h"
#include "dl_nftnl.h"
#include "fkey.h"
#include "log.h"
#include "nft.h"
#include "nft_kill.h"
#include "nft_msg.h"
#include "nft_rules.h"
#include "nft_sock.h"
#include "sbuf.h"
#include "tags.h"
#include "timeval.h"
#include "xmalloc.h"

#define LOGGER "fail2ban.actions"

#define RETRY_FIRST      1.0   /* seconds until the first retry */
#define RETRY_MAX        60.0  /* longest back-off */
#define MAX_NETS         65536 /* network bans per action */
#define OLD_KERNEL_GRACE 5.0   /* seconds added to timeouts without destroy */
#define SETTLE_MORE      5.0   /* restorewait while the jail says more come */

/* ---------------------------------------------------------------------
 * What we want in the kernel: single addresses in an open-addressing
 * hash table (linear probing, backward-shift deletion, keyed hash since
 * the addresses come from attackers), networks in a short list.
 */

struct dent {
	struct addr a;
	bool used;
	double end; /* wall clock, epoch seconds; INFINITY: permanent */
};

struct dtab {
	struct dent *v;
	size_t cap; /* power of two, or 0 */
	size_t n;
	struct fkey_hashkey hk;
};

struct nent {
	struct addr a;
	double end;
};

static size_t
d_slot(const struct dtab *t, const struct addr *a)
{
	struct fkey k = fkey_from_addr(a);

	return (size_t)fkey_hash(&k, &t->hk) & (t->cap - 1);
}

static long
d_find(const struct dtab *t, const struct addr *a)
{
	if (t->cap == 0)
		return -1;
	for (size_t i = d_slot(t, a);; i = (i + 1) & (t->cap - 1)) {
		if (!t->v[i].used)
			return -1;
		if (addr_equal(&t->v[i].a, a))
			return (long)i;
	}
}

static void d_put(struct dtab *t, const struct addr *a, double end);

/* Room for n entries in all (at most half full): one rehash. */
static void
d_reserve(struct dtab *t, size_t n)
{
	struct dent *old = t->v;
	size_t ocap = t->cap, cap = ocap ? ocap : 1024;

	while ((n + 1) * 2 > cap)
		cap *= 2;
	if (cap == ocap)
		return;
	t->cap = cap;
	t->v = xcalloc(t->cap, sizeof(*t->v));
	t->n = 0;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].used)
			d_put(t, &old[i].a, old[i].end);
	free(old);
}

/* Puts a with end; returns its end before (NAN: it was not there). */
static double
d_swap(struct dtab *t, const struct addr *a, double end)
{
	size_t i;
	double old;

	if ((t->n + 1) * 2 > t->cap)
		d_reserve(t, t->n + 1);
	for (i = d_slot(t, a); t->v[i].used; i = (i + 1) & (t->cap - 1))
		if (addr_equal(&t->v[i].a, a)) {
			old = t->v[i].end;
			t->v[i].end = end;
			return old;
		}
	t->v[i].a = *a;
	t->v[i].end = end;
	t->v[i].used = true;
	t->n++;
	return NAN;
}

static void
d_put(struct dtab *t, const struct addr *a, double end)
{
	(void)d_swap(t, a, end);
}

static bool
d_del(struct dtab *t, const struct addr *a)
{
	long f = d_find(t, a);
	size_t i, j, mask = t->cap - 1;

	if (f < 0)
		return false;
	i = (size_t)f;
	t->v[i].used = false;
	t->n--;
	/* shift back the entries that probed past the hole */
	for (j = (i + 1) & mask; t->v[j].used; j = (j + 1) & mask) {
		size_t h = d_slot(t, &t->v[j].a);

		if (((j - h) & mask) >= ((j - i) & mask)) {
			t->v[i] = t->v[j];
			t->v[j].used = false;
			i = j;
		}
	}
	return true;
}

static void
d_clear(struct dtab *t)
{
	free(t->v);
	t->v = NULL;
	t->cap = t->n = 0;
}

/* ---------------------------------------------------------------------
 * The instance.
 */

enum nstate {
	NS_IDLE,     /* not started (or stopped) */
	NS_SETTLING, /* started; collecting restored bans */
	NS_OK,       /* the kernel has what we want */
	NS_BROKEN,   /* the last transaction failed; a retry is scheduled */
};

struct nftact {
	struct action *a;
	struct tags_props *props;
	struct nft_spec spec;
	struct nft_sock *sock;
	enum nstate st;
	int destroy;     /* kernel has DESTROY messages: 1, 0, -1 unknown */
	bool killconns;  /* end the banned addresses' connections */
	double check_s;  /* seconds between health checks; 0 off */
	double settle_s; /* restorewait */
	/* what we want */
	struct dtab want;
	struct nent *nets;
	size_t nnets, netcap;
	/* errors */
	char *error;
	double error_since;
	unsigned failures;
	double next_retry;
	struct wlog_rate rate; /* failures of single operations */
	unsigned long commits;
	/* the loop */
	uv_timer_t *done;   /* completes an operation from the loop */
	uv_timer_t *retry;  /* back-off */
	uv_timer_t *settle; /* restore wait */
	uv_timer_t *check;  /* health checks */
	action_done_cb cb;
	void *cbarg;
	int rc;
	/* killconns in libuv's work queue (kill_conns) */
	struct killjob *kjob; /* the one under way, or NULL */
	struct addr *kq;      /* addresses waiting for the next one */
	size_t nkq, kqcap;
	action_done_cb stop_cb; /* a stop waiting for kjob to end */
	void *stop_arg;
};

static double
now_wall(const struct nftact *na)
{
	struct timespec ts;

	if (na->a->env->now != NULL)
		return na->a->env->now();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
jail_name(const struct nftact *na)
{
	return na->a->env->jail;
}

static void
done_cb(uv_timer_t *t)
{
	struct nftact *na = t->data;
	action_done_cb cb = na->cb;

	na->cb = NULL;
	if (cb != NULL)
		cb(na->cbarg, na->rc);
}

/*
 * Starts t. The loop's clock is refreshed first: the kernel work before
 * may have taken a while, and libuv measures timeouts from its cached
 * time of the loop iteration's start.
 */
static void
timer_start(struct nftact *na, uv_timer_t *t, uv_timer_cb cb, double seconds,
    bool repeat)
{
	uint64_t ms = (uint64_t)(seconds * 1000);

	uv_update_time(na->a->env->loop);
	uv_timer_start(t, cb, ms, repeat ? ms : 0);
}

/* Completes the running operation from the loop. */
static void
complete(struct nftact *na, action_done_cb cb, void *arg, int rc)
{
	na->cb = cb;
	na->cbarg = arg;
	na->rc = rc;
	uv_timer_start(na->done, done_cb, 0, 0);
}

/* ---------------------------------------------------------------------
 * Properties.
 */

struct prop_ctx {
	struct nftact *na;
	struct sbuf out;
};

/* A property with its tags resolved (as a command would see it). */
static const char *
get_prop(void *ctx, const char *key)
{
	struct prop_ctx *pc = ctx;
	struct sbuf err = SBUF_INIT;
	char *q;
	int rc;

	if (tags_props_get(pc->na->props, key) == NULL)
		return NULL;
	q = xasprintf("<%s>", key);
	sbuf_reset(&pc->out);
	rc = tags_replace_static(pc->na->props, q, NULL, NULL, &pc->out, &err);
	free(q);
	sbuf_cleanup(&err);
	/* "<known/chain>" (fail2ban's jail.conf passes chain="<known/
	 * chain>"): the action's own default, which for us is the built-in
	 * one */
	if (rc < 0 || strstr(sbuf_str(&pc->out), "<known/") != NULL)
		return NULL;
	return sbuf_str(&pc->out);
}

static double
prop_seconds(struct nftact *na, const char *key, double dflt)
{
	struct prop_ctx pc = {na, SBUF_INIT};
	const char *v = get_prop(&pc, key);
	double s = dflt;
	bool is_float;

	if (v != NULL && timeval_parse(v, &s, &is_float, NULL, 0) < 0)
		s = dflt;
	sbuf_cleanup(&pc.out);
	return s >= 0 ? s : dflt;
}

/* Reads c into na->props and a new spec; 0 or -1 with err. */
static int
load_conf(struct nftact *na, const struct conf_action *c, struct nft_spec *spec,
    char *err, size_t errlen)
{
	struct prop_ctx pc = {na, SBUF_INIT};
	int rc;

	tags_props_free(na->props);
	na->props = tags_props_new();
	for (size_t i = 0; i < c->props.n; i++)
		tags_props_set(
		    na->props, c->props.v[i].key, c->props.v[i].value);
	if (tags_props_get(na->props, "name") == NULL)
		tags_props_set(na->props, "name", na->a->env->jail);
	rc = nft_spec_parse(spec, get_prop, &pc, err, errlen);
	sbuf_cleanup(&pc.out);
	{
		struct prop_ctx kc = {na, SBUF_INIT};
		const char *v = get_prop(&kc, "killconns");

		/* the built-in warden-nft sets it true (nft_builtin.c) */
		na->killconns = v != NULL &&
		    (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
		        strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0);
		sbuf_cleanup(&kc.out);
	}
	na->check_s = prop_seconds(na, "checkinterval", 10);
	na->settle_s = prop_seconds(na, "restorewait", 0.05);
	na->a->norestored = c->norestored > 0;
	return rc;
}

/* ---------------------------------------------------------------------
 * Transactions.
 */

static enum nft_elem_op
del_op(const struct nftact *na)
{
	return na->destroy == 0 ? NFT_ELEM_DEL : NFT_ELEM_DESTROY;
}

static double
grace(const struct nftact *na)
{
	return na->destroy == 0 ? OLD_KERNEL_GRACE : 0;
}

/* Appends the element(s) of one address or network. */
static void
put_addr(struct nftact *na, struct nft_batch *b, enum nft_elem_op op,
    const struct addr *a, double end, double now, size_t item)
{
	enum nft_setkind k = nft_setkind_for(a->family, a->prefix);
	size_t klen = a->family == AF_INET6 ? 16 : 4;
	uint64_t tmo = 0;

	if (op == NFT_ELEM_ADD && isfinite(end)) {
		if (end + grace(na) <= now)
			return; /* already over: the daemon unbans it */
		tmo = nft_timeout_ms(end - now + grace(na));
	}
	nft_batch_elems(b, op, NFPROTO_INET, na->spec.table, na->spec.sets[k]);
	if (k == NFT_SET_NET4 || k == NFT_SET_NET6) {
		uint8_t s[16], e[16];
		bool has_end = nft_net_range(a->b, klen, a->prefix, s, e);

		nft_batch_interval(b, s, has_end ? e : NULL, klen, tmo, item);
	} else {
		nft_batch_elem(b, a->b, klen, 0, tmo, item);
	}
}

/* Appends every wanted ban (one pass per set, so messages stay full). */
static void
put_wanted(struct nftact *na, struct nft_batch *b, double now)
{
	for (int pass = 0; pass < 2; pass++) {
		int fam = pass == 0 ? AF_INET : AF_INET6;

		for (size_t i = 0; i < na->want.cap; i++) {
			const struct dent *d = &na->want.v[i];

			if (d->used && d->a.family == fam)
				put_addr(
				    na, b, NFT_ELEM_ADD, &d->a, d->end, now, i);
		}
		for (size_t i = 0; i < na->nnets; i++)
			if (na->nets[i].a.family == fam)
				put_addr(na, b, NFT_ELEM_ADD, &na->nets[i].a,
				    na->nets[i].end, now, i);
	}
}

static const char *
msg_what(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE:
		return "creating the table";
	case NFT_MSG_NEWCHAIN:
		return "creating the chain";
	case NFT_MSG_NEWSET:
		return "creating a set";
	case NFT_MSG_NEWRULE:
		return "adding a rule";
	case NFT_MSG_DELRULE:
		return "deleting a rule";
	case NFT_MSG_NEWSETELEM:
		return "adding set elements";
	case NFT_MSG_DELSETELEM:
		return "deleting set elements";
	case NFT_MSG_DESTROYSETELEM_:
		return "deleting set elements";
	case NFT_MSG_DELSET:
		return "deleting a set";
	case NFT_MSG_DELCHAIN:
		return "deleting the chain";
	case NFT_MSG_DELTABLE:
		return "deleting the table";
	}
	return "a request";
}

/* The kernel's reason for a failed commit, with a hint; new string. */
static char *
reason(const struct nftact *na, const struct nft_batch *b,
    const struct nft_errs *e)
{
	char buf[512];
	const char *hint = "";
	const struct nft_msginfo *m = NULL;
	int err = e->sys;

	nft_errs_format(e, buf, sizeof(buf));
	if (e->sys == 0 && e->n > 0) {
		err = e->v[0].error;
		m = nft_batch_find(b, e->v[0].seq);
	}
	if (m != NULL && m->type == NFT_MSG_NEWCHAIN &&
	    (err == EEXIST || err == EOPNOTSUPP || err == EBUSY))
		hint = "; the chain exists with another hook, priority or "
		       "type";
	else if (err == ENOENT)
		hint = "; the table, chain or a set is missing (deleted by "
		       "someone else?)";
	else if (err == EPERM || err == EACCES)
		hint = "; wardend needs CAP_NET_ADMIN";
	else if (err == EOPNOTSUPP || err == EAFNOSUPPORT)
		hint = "; a kernel module (nf_tables, nft_reject_inet, "
		       "nft_set_*) may be missing";
	return xasprintf("nftables (table inet %s): %s%s%s%s", na->spec.table,
	    m != NULL ? msg_what(m->type) : "", m != NULL ? ": " : "", buf,
	    hint);
}

static void schedule_retry(struct nftact *na);

/* The kernel refused a transaction (or the objects are gone): remember,
 * log, retry later. */
static void
set_broken(struct nftact *na, char *why, const char *op, const char *info)
{
	double now = now_wall(na);
	char *msg;

	if (na->error == NULL)
		na->error_since = now;
	free(na->error);
	na->error = why;
	na->failures++;
	na->st = NS_BROKEN;
	schedule_retry(na);
	/* every attempt is logged: the back-off keeps it to one line a
	 * minute at most */
	msg = xasprintf("%s; bans are kept and re-applied, next attempt in "
	                "%.0f s",
	    why, na->next_retry - now);
	action_log_failure(na->a, op, info, msg);
	free(msg);
}

static void
set_ok(struct nftact *na)
{
	if (na->error != NULL) {
		wlog(WLOG_NOTICE, LOGGER,
		    "[%s] nftables table inet %s is in order again: %zu ban(s) "
		    "re-applied after %u failed attempt(s)",
		    jail_name(na), na->spec.table, na->want.n + na->nnets,
		    na->failures);
		free(na->error);
		na->error = NULL;
	}
	na->failures = 0;
	na->next_retry = 0;
	na->st = NS_OK;
	uv_timer_stop(na->retry);
}

/*
 * Probes once whether the kernel knows DESTROY messages: a destroy in a
 * table that does not exist fails with ENOENT if it does, EINVAL if not.
 */
static void
probe_destroy(struct nftact *na)
{
	struct nft_batch b;
	struct nft_errs e;
	uint8_t key[4] = {0, 0, 0, 0};

	if (na->destroy >= 0)
		return;
	nft_batch_init(&b, nft_sock_seq(na->sock, 64), 0);
	nft_batch_elems(&b, NFT_ELEM_DESTROY, NFPROTO_INET,
	    "warden-probe-no-such-table", "none");
	nft_batch_elem(&b, key, 4, 0, 0, 0);
	if (nft_sock_commit(na->sock, &b, &e) < 0 && e.sys == 0 && e.n > 0)
		na->destroy = e.v[0].error == ENOENT ? 1 : 0;
	nft_batch_cleanup(&b);
	if (na->destroy == 0)
		wlog(WLOG_INFO, LOGGER,
		    "[%s] nftables: this kernel has no destroy messages "
		    "(Linux < 6.3): plain deletes, timeouts with %.0f s of "
		    "grace",
		    jail_name(na), OLD_KERNEL_GRACE);
}

/* Opens the socket if needed; on failure sets *why. */
static int
ensure_sock(struct nftact *na, char **why)
{
	char err[512];

	if (na->sock != NULL)
		return 0;
	/* libnftnl is loaded by the first nftables action (dl_nftnl.h) */
	if (dl_nftnl_load(err, sizeof(err)) != 0) {
		*why = xasprintf("nftables: %s", err);
		return -1;
	}
	na->sock = nft_sock_open(err, sizeof(err));
	if (na->sock == NULL) {
		*why = xasprintf("nftables: %s", err);
		return -1;
	}
	probe_destroy(na);
	return 0;
}

/* Commits b; on failure returns -1 with the reason in *why (new). */
static int
commit(struct nftact *na, struct nft_batch *b, char **why)
{
	struct nft_errs e;
	int rc = nft_sock_commit(na->sock, b, &e);

	if (rc == 0) {
		na->commits++;
		return 0;
	}
	*why = reason(na, b, &e);
	return -1;
}

/*
 * Everything we want, in one transaction: with setup the objects are
 * created or repaired first (an earlier run's rules replaced); the four
 * address sets are flushed and refilled.
 */
static int
resync(struct nftact *na, bool setup, char **why)
{
	struct nft_found f = {0};
	struct nft_batch b;
	char msg[256];
	int rc;

	if (ensure_sock(na, why) < 0)
		return -1;
	if (setup) {
		rc = nft_rules_find(
		    na->sock, &na->spec, false, &f, msg, sizeof(msg));
		if (rc < 0) {
			*why = xasprintf("nftables table inet %s: looking at "
			                 "the ruleset: %s%s%s",
			    na->spec.table, strerror(-rc), msg[0] ? ": " : "",
			    msg);
			return -1;
		}
	}
	nft_batch_init(&b, nft_sock_seq(na->sock, 0), 0);
	if (setup)
		nft_rules_setup(&b, &na->spec, &f);
	nft_rules_flush(&b, &na->spec);
	put_wanted(na, &b, now_wall(na));
	/* sequence numbers: reserve what the batch used */
	(void)nft_sock_seq(na->sock, b.seq_next - b.seq_first + 1);
	rc = commit(na, &b, why);
	nft_batch_cleanup(&b);
	nft_found_cleanup(&f);
	return rc;
}

static void
retry_cb(uv_timer_t *t)
{
	struct nftact *na = t->data;
	char *why = NULL;

	if (na->st != NS_BROKEN)
		return;
	if (resync(na, true, &why) == 0) {
		set_ok(na);
		return;
	}
	set_broken(na, why, "restore bans of", NULL);
}

static void
schedule_retry(struct nftact *na)
{
	double d = RETRY_FIRST;

	for (unsigned i = 1; i < na->failures && d < RETRY_MAX; i++)
		d *= 2;
	if (d > RETRY_MAX)
		d = RETRY_MAX;
	na->next_retry = now_wall(na) + d;
	timer_start(na, na->retry, retry_cb, d, false);
}

/* The restored bans are in: reconcile the sets with them. */
static void
reconcile(struct nftact *na)
{
	char *why = NULL;
	size_t n = na->want.n + na->nnets;

	uv_timer_stop(na->settle);
	if (resync(na, false, &why) < 0) {
		set_broken(na, why, "restore bans of", NULL);
		return;
	}
	wlog(WLOG_INFO, LOGGER,
	    "[%s] nftables: sets of table inet %s reconciled with %zu "
	    "ban(s) in one transaction",
	    jail_name(na), na->spec.table, n);
	set_ok(na);
}

static void
settle_cb(uv_timer_t *t)
{
	struct nftact *na = t->data;

	if (na->st == NS_SETTLING)
		reconcile(na);
}

/* Are the objects still there? Sets *why when not. */
static int
health(struct nftact *na, char **why)
{
	struct nft_found f;
	char msg[256];
	size_t want_rules =
	    NFT_SET_NADDR * (na->spec.nprotos > 0 ? na->spec.nprotos : 1);
	unsigned want_sets = (1u << NFT_SET_NADDR) - 1;
	int rc;

	if (ensure_sock(na, why) < 0)
		return -1;
	if (!na->spec.allports)
		want_sets |= 1u << NFT_SET_NADDR;
	rc = nft_rules_find(na->sock, &na->spec, true, &f, msg, sizeof(msg));
	if (rc < 0)
		*why = xasprintf("nftables table inet %s: looking at the "
		                 "ruleset: %s%s%s",
		    na->spec.table, strerror(-rc), msg[0] ? ": " : "", msg);
	else if (!f.table)
		*why = xasprintf("nftables table inet %s is gone (deleted by "
		                 "someone else?)",
		    na->spec.table);
	else if (!f.chain)
		*why = xasprintf("nftables chain %s of table inet %s is gone",
		    na->spec.chain, na->spec.table);
	else if ((f.ours_sets & want_sets) != want_sets)
		*why = xasprintf("nftables sets of %s in table inet %s are "
		                 "missing",
		    na->spec.name, na->spec.table);
	else if (f.nours != want_rules)
		*why = xasprintf("nftables rules of %s in chain %s: %zu "
		                 "instead of %zu",
		    na->spec.name, na->spec.chain, f.nours, want_rules);
	nft_found_cleanup(&f);
	return *why != NULL ? -1 : 0;
}

static void
check_cb(uv_timer_t *t)
{
	struct nftact *na = t->data;
	char *why = NULL;

	if (na->st != NS_OK && na->st != NS_SETTLING)
		return;
	if (health(na, &why) < 0)
		set_broken(na, why, "check", NULL);
}

static void
start_checks(struct nftact *na)
{
	if (na->check_s >= 0.001)
		timer_start(na, na->check, check_cb, na->check_s, true);
	else
		uv_timer_stop(na->check);
}

/* ---------------------------------------------------------------------
 * What we want: updates from tickets.
 */

static double
ticket_end(const struct action_ticket *t)
{
	if (t->bantime < 0)
		return INFINITY;
	return t->time + (double)t->bantime;
}

static long
net_find(const struct nftact *na, const struct addr *a)
{
	for (size_t i = 0; i < na->nnets; i++)
		if (addr_equal(&na->nets[i].a, a))
			return (long)i;
	return -1;
}

/* Another wanted network overlapping a (the kernel refuses overlaps). */
static const struct addr *
net_overlap(const struct nftact *na, const struct addr *a, double now)
{
	for (size_t i = 0; i < na->nnets; i++) {
		const struct nent *x = &na->nets[i];

		if (x->a.family != a->family || addr_equal(&x->a, a) ||
		    x->end <= now)
			continue;
		if (addr_contains(&x->a, a) || addr_contains(a, &x->a))
			return &x->a;
	}
	return NULL;
}

/*
 * Records a ban; returns 0, or -1 (logged) when it cannot be put into
 * the kernel at all (a raw id, an overlapping network, too many nets).
 */
static int
want_ban(struct nftact *na, const struct action_ticket *t, double now,
    const char *op)
{
	char buf[FKEY_STRLEN], nb[ADDR_STRLEN];
	const struct addr *a = &t->addr;
	double end = ticket_end(t);

	if (!t->has_addr) {
		fkey_format(&t->key, buf);
		action_log_failure(na->a, op, buf,
		    "not an IP address: the nftables backend bans addresses "
		    "and networks only");
		return -1;
	}
	if (a->prefix < (a->family == AF_INET6 ? 128 : 32)) {
		long i = net_find(na, a);
		const struct addr *o;

		if (i >= 0) {
			na->nets[i].end = end;
			return 0;
		}
		o = net_overlap(na, a, now);
		if (o != NULL || na->nnets >= MAX_NETS) {
			char *m = o != NULL
			    ? xasprintf("overlaps the banned network %s; "
			                "nftables keeps networks disjoint",
			          addr_format(o, nb))
			    : xasprintf("too many network bans (%d)", MAX_NETS);

			action_log_failure(na->a, op, addr_format(a, buf), m);
			free(m);
			return -1;
		}
		xgrow(&na->nets, &na->netcap, na->nnets + 1, sizeof(*na->nets));
		na->nets[na->nnets].a = *a;
		na->nets[na->nnets].end = end;
		na->nnets++;
		return 0;
	}
	d_put(&na->want, a, end);
	return 0;
}

static void
want_unban(struct nftact *na, const struct action_ticket *t)
{
	long i;

	if (!t->has_addr)
		return;
	if (d_del(&na->want, &t->addr))
		return;
	i = net_find(na, &t->addr);
	if (i >= 0)
		na->nets[i] = na->nets[--na->nnets];
}

/* The info text of a batch for a log line: "ip" or "ip (+N more)". */
static char *
batch_info(const struct action_ticket *t, size_t n)
{
	char buf[FKEY_STRLEN];

	if (n == 0)
		return xstrdup("");
	if (t[0].has_addr)
		addr_format(&t[0].addr, buf);
	else
		fkey_format(&t[0].key, buf);
	if (n == 1)
		return xstrdup(buf);
	return xasprintf("%s (+%zu more)", buf, n - 1);
}

/*
 * killconns: ends the established connections of the addresses just
 * banned (not of restored bans: those were cut when first banned). Each
 * of the two kernel dumps walks a whole table (every conntrack bucket:
 * ~9 ms with an empty table of 262k buckets), so they run in libuv's
 * work queue while the loop goes on; the ban itself is in the kernel set
 * before. One job at a time per action: addresses banned meanwhile wait
 * in kq for the next one. nft_kill only reads the job's own copies.
 */
struct killjob {
	uv_work_t req;
	struct nftact *na; /* NULL once the action is gone */
	struct addr *v;
	size_t n;
	struct nft_spec sp; /* ports and protocols only (nft_kill.h) */
	long conns, cts;
	char err1[256], err2[256];
};

static void kill_start(struct nftact *na);
static void nft_stop(struct action *a, action_done_cb cb, void *arg);

static void
kill_work(uv_work_t *req)
{
	struct killjob *kj = req->data;

	kj->conns =
	    nft_kill_conns(kj->v, kj->n, &kj->sp, kj->err1, sizeof(kj->err1));
	kj->cts = nft_kill_conntrack(
	    kj->v, kj->n, &kj->sp, kj->err2, sizeof(kj->err2));
}

static void
kill_after(uv_work_t *req, int status)
{
	struct killjob *kj = req->data;
	struct nftact *na = kj->na;

	if (na != NULL && status == 0) {
		if (kj->conns > 0)
			wlog(WLOG_INFO, LOGGER,
			    "[%s] nftables: killconns ended %ld connection(s) "
			    "of banned addresses",
			    jail_name(na), kj->conns);
		else if (kj->conns < 0 &&
		    wlog_rate_allow(&na->rate, now_wall(na), NULL))
			wlog(WLOG_WARNING, LOGGER,
			    "[%s] nftables: killconns: %s", jail_name(na),
			    kj->err1);
		if (kj->cts > 0)
			wlog(WLOG_INFO, LOGGER,
			    "[%s] nftables: killconns deleted %ld conntrack "
			    "entr%s of banned addresses",
			    jail_name(na), kj->cts, kj->cts == 1 ? "y" : "ies");
		else if (kj->cts < 0 &&
		    wlog_rate_allow(&na->rate, now_wall(na), NULL))
			wlog(WLOG_WARNING, LOGGER,
			    "[%s] nftables: killconns: %s", jail_name(na),
			    kj->err2);
	}
	free(kj->v);
	free(kj);
	if (na == NULL)
		return;
	na->kjob = NULL;
	if (na->stop_cb != NULL) {
		action_done_cb cb = na->stop_cb;

		na->stop_cb = NULL;
		na->nkq = 0; /* the action stops: its bans are lifted */
		nft_stop(na->a, cb, na->stop_arg);
		return;
	}
	if (na->nkq > 0)
		kill_start(na);
}

/* Hands the waiting addresses to a new job (none under way). */
static void
kill_start(struct nftact *na)
{
	struct killjob *kj = xcalloc(1, sizeof(*kj));

	kj->na = na;
	kj->v = na->kq;
	kj->n = na->nkq;
	na->kq = NULL;
	na->nkq = na->kqcap = 0;
	kj->sp.allports = na->spec.allports;
	memcpy(kj->sp.protos, na->spec.protos, sizeof(kj->sp.protos));
	kj->sp.nprotos = na->spec.nprotos;
	memcpy(kj->sp.ports, na->spec.ports, sizeof(kj->sp.ports));
	kj->sp.nports = na->spec.nports;
	kj->req.data = kj;
	if (uv_queue_work(na->a->env->loop, &kj->req, kill_work, kill_after) !=
	    0) {
		/* cannot happen with a live loop; run it here then */
		kill_work(&kj->req);
		kill_after(&kj->req, 0);
		return;
	}
	na->kjob = kj;
}

/* What a transaction does with a ticket's address (send_elems). */
enum { E_DEL = 1, E_ADD = 2, E_KILL = 4 };

static void
kill_conns(struct nftact *na, const struct action_ticket *t, size_t n,
    const uint8_t *how)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].has_addr && (how[i] & E_KILL) && !t[i].restored) {
			xgrow(
			    &na->kq, &na->kqcap, na->nkq + 1, sizeof(*na->kq));
			na->kq[na->nkq++] = t[i].addr;
		}
	if (na->nkq > 0 && na->kjob == NULL)
		kill_start(na);
}

/* ---------------------------------------------------------------------
 * The operations.
 */

enum bkind { BK_BAN, BK_REFRESH, BK_UNBAN };

/* What a ticket of a ban batch does to the kernel (pre_state). */
enum pstate {
	PS_NEW,  /* not wanted before: added */
	PS_SAME, /* wanted with this end already (a preban): nothing */
	PS_MOVE, /* wanted with another end: deleted and added */
};

static bool
single_addr(const struct action_ticket *t)
{
	return t->has_addr &&
	    t->addr.prefix == (t->addr.family == AF_INET6 ? 128 : 32);
}

/*
 * Where a new ban stands while the kernel has everything wanted (NS_OK):
 * an address already wanted is in the set, with the timeout of its
 * wanted end. A ban with the same end (its preban went first) needs
 * nothing, one with another end (prolonged before its commit) a delete
 * and an add, since an add keeps an existing element's timeout.
 */
static enum pstate
pre_state(const struct nftact *na, const struct action_ticket *t)
{
	long f;

	if (t->restored || !single_addr(t))
		return PS_NEW;
	f = d_find(&na->want, &t->addr);
	if (f < 0)
		return PS_NEW;
	return na->want.v[f].end == ticket_end(t) ? PS_SAME : PS_MOVE;
}

/*
 * One transaction: for each ticket with an address, a delete (E_DEL)
 * then an add (E_ADD), set by set; then killconns for those marked
 * E_KILL. Returns 0, or -1 with the action broken (logged; the retry
 * puts back everything wanted).
 */
static int
send_elems(struct nftact *na, const char *op, const struct action_ticket *t,
    size_t n, const uint8_t *how, double now)
{
	struct nft_batch b;
	char *why = NULL, *info;
	bool any = false;
	int rc = 0;

	for (size_t i = 0; i < n && !any; i++)
		any = t[i].has_addr && (how[i] & (E_DEL | E_ADD));
	if (!any)
		return 0; /* nothing for the kernel (and no connection to end)
		           */
	if (ensure_sock(na, &why) < 0) {
		set_broken(na, why, op, NULL);
		return -1;
	}
	nft_batch_init(&b, nft_sock_seq(na->sock, 0), 0);
	for (int fam = 0; fam < 2; fam++) {
		int f = fam ? AF_INET6 : AF_INET;

		for (size_t i = 0; i < n; i++)
			if (t[i].has_addr && t[i].addr.family == f &&
			    (how[i] & E_DEL))
				put_addr(
				    na, &b, del_op(na), &t[i].addr, 0, now, i);
		for (size_t i = 0; i < n; i++)
			if (t[i].has_addr && t[i].addr.family == f &&
			    (how[i] & E_ADD))
				put_addr(na, &b, NFT_ELEM_ADD, &t[i].addr,
				    ticket_end(&t[i]), now, i);
	}
	(void)nft_sock_seq(na->sock, b.seq_next - b.seq_first + 1);
	if (commit(na, &b, &why) < 0) {
		info = batch_info(t, n);
		set_broken(na, why, op, info);
		free(info);
		rc = -1;
	} else if (na->killconns) {
		kill_conns(na, t, n, how);
	}
	nft_batch_cleanup(&b);
	return rc;
}

static void
batch_op(struct action *a, enum bkind kind, const char *op,
    const struct action_ticket *t, size_t n, action_done_cb cb, void *arg)
{
	struct nftact *na = a->priv;
	double now = now_wall(na);
	bool all_restored = true, last = false, more = false;
	bool ok = na->st == NS_OK;
	/* per ticket: E_* (a refresh deletes and adds) */
	uint8_t *how = n > 0 ? xcalloc(n, sizeof(*how)) : NULL;
	int rc = 0;
	char *info;

	if (kind != BK_UNBAN)
		d_reserve(&na->want, na->want.n + n); /* one rehash at most */
	for (size_t i = 0; i < n; i++) {
		if (!t[i].restored)
			all_restored = false;
		if (t[i].restore_last)
			last = true;
		if (t[i].restore_more)
			more = true;
		if (kind == BK_UNBAN) {
			want_unban(na, &t[i]);
			how[i] = E_DEL;
			continue;
		}
		how[i] =
		    kind == BK_BAN ? E_ADD | E_KILL : E_DEL | E_ADD | E_KILL;
		if (kind == BK_BAN && ok) {
			/* the bans a preban put in place (pre_state) */
			enum pstate ps = pre_state(na, &t[i]);

			if (ps == PS_SAME) {
				how[i] = 0; /* wanted with this end already */
				continue;
			}
			if (ps == PS_MOVE) /* its connections ended then */
				how[i] = E_DEL | E_ADD;
		}
		if (want_ban(na, &t[i], now, op) < 0) {
			how[i] = 0;
			rc = -1;
		}
	}
	switch (na->st) {
	case NS_IDLE:
		/* not started: remembered for the start */
		goto out;
	case NS_SETTLING:
		if (kind == BK_BAN && all_restored && !last) {
			/* the jail commits its restored bans JAIL_BATCH_MAX
			 * at a time: a busy loop may take longer than
			 * restorewait between two */
			timer_start(na, na->settle, settle_cb,
			    more && na->settle_s < SETTLE_MORE ? SETTLE_MORE
			                                       : na->settle_s,
			    false);
			goto out;
		}
		reconcile(na); /* what we want now includes these */
		if (na->st != NS_OK)
			rc = -1;
		else if (na->killconns && kind != BK_UNBAN)
			kill_conns(na, t, n, how);
		goto out;
	case NS_BROKEN:
		if (wlog_rate_allow(&na->rate, now, NULL)) {
			info = batch_info(t, n);
			action_log_failure(a, op, info, na->error);
			free(info);
		}
		rc = -1;
		goto out;
	case NS_OK:
		break;
	}
	if (send_elems(na, op, t, n, how, now) < 0)
		rc = -1;
out:
	free(how);
	complete(na, cb, arg, rc);
}

static void
nft_ban(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	batch_op(a, BK_BAN, "ban", t, n, cb, arg);
}

static void
nft_reban(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	batch_op(a, BK_REFRESH, "reban", t, n, cb, arg);
}

static void
nft_unban(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	batch_op(a, BK_UNBAN, "unban", t, n, cb, arg);
}

/*
 * A jail's new bans, before their database commit: into the kernel now
 * (a flood's bans no longer wait for the commit job, nor for a disk that
 * cannot commit), their connections ended. The ban job that follows the
 * commit finds them wanted with the same end (PS_SAME) and skips them.
 * Networks wait for the ban job (they need the overlap checks and their
 * errors logged once). undo: the bans were lifted before their commit.
 * Only while the kernel has everything wanted (NS_OK): otherwise the
 * ban job, the reconcile or the retry does it.
 */
static void
nft_preban(struct action *a, const struct action_ticket *t, size_t n, bool undo)
{
	struct nftact *na = a->priv;
	uint8_t *how;

	if (na->st != NS_OK || na->stop_cb != NULL || n == 0)
		return;
	how = xcalloc(n, sizeof(*how));
	if (!undo)
		d_reserve(&na->want, na->want.n + n);
	for (size_t i = 0; i < n; i++) {
		double end = ticket_end(&t[i]), was;

		if (t[i].restored || !single_addr(&t[i]))
			continue;
		if (undo) {
			if (d_del(&na->want, &t[i].addr))
				how[i] = E_DEL;
			continue;
		}
		/* one probe: put, and see what was there (pre_state) */
		was = d_swap(&na->want, &t[i].addr, end);
		if (isnan(was))
			how[i] = E_ADD | E_KILL;
		else if (was != end) /* moved: connections ended before */
			how[i] = E_DEL | E_ADD;
	}
	(void)send_elems(na, undo ? "unban" : "ban", t, n, how, now_wall(na));
	free(how);
}

static bool
nft_prolongable(struct action *a)
{
	(void)a;
	return true;
}

static void
nft_prolong(struct action *a, const struct action_ticket *t, size_t n,
    action_done_cb cb, void *arg)
{
	batch_op(a, BK_REFRESH, "prolong", t, n, cb, arg);
}

static void
nft_start(struct action *a, action_done_cb cb, void *arg)
{
	struct nftact *na = a->priv;
	struct nft_found f = {0};
	struct nft_batch b;
	char msg[256];
	char *why = NULL;
	int rc;

	if (ensure_sock(na, &why) < 0)
		goto broken;
	rc = nft_rules_find(na->sock, &na->spec, false, &f, msg, sizeof(msg));
	if (rc < 0) {
		why = xasprintf("nftables table inet %s: looking at the "
		                "ruleset: %s%s%s",
		    na->spec.table, strerror(-rc), msg[0] ? ": " : "", msg);
		goto broken;
	}
	nft_batch_init(&b, nft_sock_seq(na->sock, 0), 0);
	nft_rules_setup(&b, &na->spec, &f);
	(void)nft_sock_seq(na->sock, b.seq_next - b.seq_first + 1);
	rc = commit(na, &b, &why);
	nft_batch_cleanup(&b);
	nft_found_cleanup(&f);
	if (rc < 0)
		goto broken;
	na->st = NS_SETTLING;
	timer_start(na, na->settle, settle_cb, na->settle_s, false);
	start_checks(na);
	complete(na, cb, arg, 0);
	return;
broken:
	/* Not a failed start for the queue (that would disable the action
	 * and drop every ban): we keep the bans and retry. */
	start_checks(na);
	set_broken(na, why, "start", NULL);
	complete(na, cb, arg, 0);
}

static void
nft_stop(struct action *a, action_done_cb cb, void *arg)
{
	struct nftact *na = a->priv;
	struct nft_found f = {0};
	struct nft_batch b;
	char msg[256];
	char *why = NULL;
	int rc = 0;

	if (na->kjob != NULL) {
		/* the connections of the last bans are cut first */
		na->stop_cb = cb;
		na->stop_arg = arg;
		return;
	}
	na->nkq = 0;
	uv_timer_stop(na->settle);
	uv_timer_stop(na->retry);
	uv_timer_stop(na->check);
	na->st = NS_IDLE;
	d_clear(&na->want);
	na->nnets = 0;
	free(na->error);
	na->error = NULL;
	na->failures = 0;
	na->next_retry = 0;
	if (ensure_sock(na, &why) < 0)
		goto fail;
	rc = nft_rules_find(na->sock, &na->spec, true, &f, msg, sizeof(msg));
	if (rc < 0) {
		why = xasprintf("nftables table inet %s: looking at the "
		                "ruleset: %s%s%s",
		    na->spec.table, strerror(-rc), msg[0] ? ": " : "", msg);
		goto fail;
	}
	nft_batch_init(&b, nft_sock_seq(na->sock, 0), 0);
	nft_rules_teardown(&b, &na->spec, &f);
	(void)nft_sock_seq(na->sock, b.seq_next - b.seq_first + 1);
	rc = commit(na, &b, &why);
	nft_batch_cleanup(&b);
	nft_found_cleanup(&f);
	if (rc < 0)
		goto fail;
	complete(na, cb, arg, 0);
	return;
fail:
	action_log_failure(a, "stop", NULL, why);
	free(why);
	complete(na, cb, arg, -1);
}

static bool
nft_has_flush(struct action *a)
{
	(void)a;
	return true;
}

static void
nft_flush(struct action *a, bool stop, action_done_cb cb, void *arg)
{
	struct nftact *na = a->priv;
	struct nft_batch b;
	char *why = NULL;
	int rc = 0;

	(void)stop;
	d_clear(&na->want);
	na->nnets = 0;
	if (na->st == NS_IDLE || na->st == NS_BROKEN) {
		/* nothing to flush, or the retry will apply the empty set */
		complete(na, cb, arg, 0);
		return;
	}
	uv_timer_stop(na->settle);
	if (ensure_sock(na, &why) < 0) {
		set_broken(na, why, "flush", NULL);
		complete(na, cb, arg, -1);
		return;
	}
	nft_batch_init(&b, nft_sock_seq(na->sock, 0), 0);
	nft_rules_flush(&b, &na->spec);
	(void)nft_sock_seq(na->sock, b.seq_next - b.seq_first + 1);
	if (commit(na, &b, &why) < 0) {
		set_broken(na, why, "flush", NULL);
		rc = -1;
	} else {
		set_ok(na);
	}
	nft_batch_cleanup(&b);
	complete(na, cb, arg, rc);
}

static void
nft_check(struct action *a, action_done_cb cb, void *arg)
{
	struct nftact *na = a->priv;
	char *why = NULL;

	if (na->st == NS_OK && health(na, &why) < 0)
		set_broken(na, why, "check", NULL);
	else if (na->st == NS_BROKEN)
		retry_cb(na->retry);
	complete(na, cb, arg, 0);
}

static int
nft_init(
    struct action *a, const struct conf_action *c, char *err, size_t errlen)
{
	struct nftact *na = xcalloc(1, sizeof(*na));
	uv_timer_t **timers[4] = {
	    &na->done, &na->retry, &na->settle, &na->check};

	na->a = a;
	na->destroy = -1;
	na->rate = (struct wlog_rate)WLOG_RATE_INIT(60);
	fkey_hashkey_random(&na->want.hk);
	if (load_conf(na, c, &na->spec, err, errlen) < 0) {
		tags_props_free(na->props);
		free(na);
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		*timers[i] = xcalloc(1, sizeof(uv_timer_t));
		uv_timer_init(a->env->loop, *timers[i]);
		(*timers[i])->data = na;
	}
	/* health checks alone must not keep a loop running */
	uv_unref((uv_handle_t *)na->check);
	a->priv = na;
	return 0;
}

static void
close_free(uv_handle_t *h)
{
	free(h);
}

static void
nft_destroy(struct action *a)
{
	struct nftact *na = a->priv;
	uv_timer_t *timers[4];

	if (na == NULL)
		return;
	timers[0] = na->done;
	timers[1] = na->retry;
	timers[2] = na->settle;
	timers[3] = na->check;
	for (int i = 0; i < 4; i++) {
		uv_timer_stop(timers[i]);
		timers[i]->data = NULL;
		uv_close((uv_handle_t *)timers[i], close_free);
	}
	if (na->kjob != NULL)
		na->kjob->na = NULL; /* it frees itself when done */
	free(na->kq);
	nft_sock_close(na->sock);
	nft_spec_cleanup(&na->spec);
	tags_props_free(na->props);
	d_clear(&na->want);
	free(na->nets);
	free(na->error);
	free(na);
	a->priv = NULL;
}

static void
nft_reload(
    struct action *a, const struct conf_action *c, action_done_cb cb, void *arg)
{
	struct nftact *na = a->priv;
	struct nft_spec spec;
	char err[512];
	bool same;

	if (load_conf(na, c, &spec, err, sizeof(err)) < 0) {
		action_log_failure(a, "reload", NULL, err);
		complete(na, cb, arg, -1);
		return;
	}
	same = nft_spec_equal(&spec, &na->spec);
	if (same || na->st == NS_IDLE) {
		nft_spec_cleanup(&na->spec);
		na->spec = spec;
		if (na->st != NS_IDLE)
			start_checks(na);
		complete(na, cb, arg, 0);
		return;
	}
	/* Different objects: remove the old ones, then put the new ones
	 * up with everything we want (two transactions). */
	{
		struct nft_found f = {0};
		struct nft_batch b;
		char msg[256];
		char *why = NULL;

		if (ensure_sock(na, &why) == 0 &&
		    nft_rules_find(
		        na->sock, &na->spec, true, &f, msg, sizeof(msg)) == 0) {
			nft_batch_init(&b, nft_sock_seq(na->sock, 0), 0);
			nft_rules_teardown(&b, &na->spec, &f);
			(void)nft_sock_seq(
			    na->sock, b.seq_next - b.seq_first + 1);
			if (commit(na, &b, &why) < 0) {
				action_log_failure(a, "reload", NULL, why);
				free(why);
			}
			nft_batch_cleanup(&b);
		} else {
			free(why);
		}
		nft_found_cleanup(&f);
		nft_spec_cleanup(&na->spec);
		na->spec = spec;
		why = NULL;
		if (resync(na, true, &why) < 0)
			set_broken(na, why, "reload", NULL);
		else
			set_ok(na);
		start_checks(na);
	}
	complete(na, cb, arg, na->st == NS_BROKEN ? -1 : 0);
}

static void
nft_cancel(struct action *a)
{
	/* operations run to the end inside the call; the completion is
	 * already scheduled */
	(void)a;
}

static bool
nft_uses_matches(struct action *a)
{
	(void)a; /* addresses and end times only */
	return false;
}

const struct action_ops action_nft_ops = {
    .name = NFT_BACKEND_NAME,
    .init = nft_init,
    .destroy = nft_destroy,
    .start = nft_start,
    .stop = nft_stop,
    .has_flush = nft_has_flush,
    .flush = nft_flush,
    .ban = nft_ban,
    .reban = nft_reban,
    .unban = nft_unban,
    .prolongable = nft_prolongable,
    .prolong = nft_prolong,
    .reload = nft_reload,
    .check = nft_check,
    .cancel = nft_cancel,
    .uses_matches = nft_uses_matches,
    .preban = nft_preban,
};

int
nft_action_info(const struct action *a, struct nft_action_info *info)
{
	const struct nftact *na;

	memset(info, 0, sizeof(*info));
	if (a == NULL || a->ops != &action_nft_ops || a->priv == NULL)
		return -1;
	na = a->priv;
	info->started = na->st != NS_IDLE;
	info->ok = na->st == NS_OK || na->st == NS_SETTLING;
	info->settling = na->st == NS_SETTLING;
	info->error = na->error;
	info->error_since = na->error_since;
	info->failures = na->failures;
	info->next_retry = na->next_retry;
	info->bans = na->want.n + na->nnets;
	info->commits = na->commits;
	return 0;
}
