/*
 * nft_drive: test and bench driver for the native nftables backend
 * (tests/integ/run-nft*, bench/nft.sh). Builds one jail's actions,
 * either from a configuration directory (-c DIR -j JAIL, exactly as the
 * daemon would) or from properties given with -p KEY=VALUE (backend
 * "nftables" implied), and runs a sequence of operations through the
 * jail's action queue in a libuv loop:
 *
 *   nft_drive [-c DIR -j JAIL | -n NAME -p KEY=VALUE ...] [-l LEVEL] OP...
 *
 *   start | stop | flush | check        the queue's jobs
 *   ban:IP[@BANTIME]     IP may be a network (a.b.c.d/N); BANTIME
 *   restored:IP[@BT]     seconds, -1 permanent (default 600)
 *   unban:IP  reban:IP[@BT]  prolong:IP[@BT]
 *   flood:N[@BT[@BASE]]  N distinct addresses from BASE (100.64.0.0, or
 *                        an IPv6 base) in one ban batch; prints the time
 *                        until the batch is in the kernel
 *   restore:N[@BT[@BASE[@GAP]]]  N restored bans in batches of 10,000
 *                        as the jail hands them over (the last ticket
 *                        of each batch marked restore_more, of the last
 *                        one restore_last), GAP ms of loop between two
 *                        (default 0); prints the time until the sets
 *                        are reconciled
 *   reload:K=V[,K=V...]  (with -p) the jail's reload with changed
 *                        properties
 *   sleep:MS             runs the loop for MS milliseconds
 *   exec:CMD             runs CMD (sh -c) and copies its output
 *   status               prints "status ok=.. error=.. bans=.. ..."
 *   exit                 ends at once, no stop (wardend killed)
 *
 * Log records go to stderr. Exit status 0 when every job succeeded, 1
 * when some failed, 2 for usage or configuration errors.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "action.h"
#include "conf.h"
#include "diag.h"
#include "log.h"
#include "nft.h"
#include "spawn.h"
#include "xmalloc.h"

#define MAXP       64
#define JAIL_BATCH 10000

static int failed;
static int pending;
static uv_loop_t loop;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
done(void *arg, int rc)
{
	(void)arg;
	if (rc < 0)
		failed = 1;
	pending--;
	uv_stop(&loop); /* back to the next op without waiting in poll */
}

static void
exec_done(void *arg, const struct spawn_result *r)
{
	(void)arg;
	fwrite(r->out, 1, r->out_len, stdout);
	fflush(stdout);
	pending--;
	uv_stop(&loop);
}

static void
wait_pending(void)
{
	while (pending > 0)
		uv_run(&loop, UV_RUN_ONCE);
}

static void
timer_done(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

static void
sleep_ms(uint64_t ms)
{
	uv_timer_t t;
	int fired = 0;

	uv_timer_init(&loop, &t);
	t.data = &fired;
	uv_timer_start(&t, timer_done, ms, 0);
	while (!fired)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* "IP[@BT]" into t; returns 0 or -1. */
static int
parse_ticket(const char *s, struct action_ticket *t, bool restored)
{
	const char *at = strchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s);

	memset(t, 0, sizeof(*t));
	if (addr_parse_net(s, n, &t->addr) < 0)
		return -1;
	t->has_addr = true;
	t->key = fkey_from_addr(&t->addr);
	t->time = wall();
	t->bantime = at ? strtol(at + 1, NULL, 10) : 600;
	t->own_bantime = true;
	t->bancount = 1;
	t->failures = 3;
	t->restored = restored;
	return 0;
}

/* n distinct addresses from base (host order arithmetic on the tail). */
static struct action_ticket *
make_tickets(size_t n, long bantime, const char *base, bool restored)
{
	struct action_ticket *v = xcalloc(n ? n : 1, sizeof(*v));
	struct addr a;
	double now = wall();

	if (addr_parse(base, strlen(base), &a) < 0)
		addr_parse("100.64.0.0", 10, &a);
	for (size_t i = 0; i < n; i++) {
		struct addr x = a;
		uint32_t add = (uint32_t)i;
		int last = x.family == AF_INET6 ? 15 : 3;

		for (int k = last; k >= 0 && add > 0; k--) {
			uint32_t s = x.b[k] + (add & 0xff);

			x.b[k] = (uint8_t)s;
			add = (add >> 8) + (s >> 8);
		}
		v[i].addr = x;
		v[i].has_addr = true;
		v[i].key = fkey_from_addr(&x);
		v[i].time = now;
		v[i].bantime = bantime;
		v[i].own_bantime = true;
		v[i].bancount = 1;
		v[i].failures = 3;
		v[i].restored = restored;
	}
	return v;
}

static void
print_status(struct action_queue *q)
{
	for (size_t i = 0; i < actq_count(q); i++) {
		struct nft_action_info in;

		if (nft_action_info(actq_at(q, i), &in) < 0)
			continue;
		printf("status action=%s started=%d ok=%d settling=%d bans=%zu "
		       "commits=%lu failures=%u retry_in=%.1f error=%s\n",
		    actq_at(q, i)->name, in.started, in.ok, in.settling,
		    in.bans, in.commits, in.failures,
		    in.next_retry > 0 ? in.next_retry - wall() : 0.0,
		    in.error ? in.error : "-");
	}
	fflush(stdout);
}

static bool
settling(struct action_queue *q)
{
	for (size_t i = 0; i < actq_count(q); i++) {
		struct nft_action_info in;

		if (nft_action_info(actq_at(q, i), &in) == 0 && in.settling)
			return true;
	}
	return false;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *jname = NULL, *name = "test";
	int level = WLOG_INFO, opt0;
	struct conf *c = NULL;
	struct diags d;
	const struct conf_jail *j = NULL;
	struct conf_action ca;
	struct conf_kv kv[MAXP + 2];
	size_t nkv = 0;
	struct action_env env;
	struct action_queue *q;
	char err[512];

	memset(&ca, 0, sizeof(ca));
	for (opt0 = 1; opt0 + 1 < argc && argv[opt0][0] == '-'; opt0 += 2) {
		const char *o = argv[opt0], *v = argv[opt0 + 1];

		if (strcmp(o, "-c") == 0) {
			dir = v;
		} else if (strcmp(o, "-j") == 0) {
			jname = v;
		} else if (strcmp(o, "-n") == 0) {
			name = v;
		} else if (strcmp(o, "-l") == 0) {
			wlog_level_parse(v, &level);
		} else if (strcmp(o, "-p") == 0 && strchr(v, '=') &&
		    nkv < MAXP) {
			kv[nkv].key = xstrndup(v, (size_t)(strchr(v, '=') - v));
			kv[nkv].value = xstrdup(strchr(v, '=') + 1);
			nkv++;
		} else {
			fprintf(stderr, "nft_drive: bad option %s\n", o);
			return 2;
		}
	}
	wlog_set_level(level);
	diags_init(&d);
	uv_loop_init(&loop);
	memset(&env, 0, sizeof(env));
	env.loop = &loop;
	env.ipv6 = true;
	if (dir != NULL) {
		if (jname == NULL || conf_load(dir, &c, &d) < 0 || c == NULL ||
		    (j = conf_find_jail(c, jname)) == NULL) {
			diags_print(&d, stderr);
			fprintf(stderr,
			    "nft_drive: cannot load jail %s from %s\n",
			    jname ? jname : "?", dir);
			return 2;
		}
		env.jail = j->name;
		env.jail_bantime = (long)j->bantime;
	} else {
		kv[nkv].key = xstrdup("name");
		kv[nkv].value = xstrdup(name);
		nkv++;
		kv[nkv].key = xstrdup(NFT_BACKEND_PROP);
		kv[nkv].value = xstrdup(NFT_BACKEND_NAME);
		nkv++;
		ca.name = xstrdup("warden-nft");
		ca.actname = xstrdup("warden-nft");
		ca.norestored = -1;
		ca.start_on_demand = -1;
		ca.repair_on_unban = -1;
		ca.props.v = kv;
		ca.props.n = ca.props.cap = nkv;
		env.jail = name;
		env.jail_bantime = 600;
	}
	q = actq_new(&env);
	for (size_t i = 0; i < (j ? j->nactions : 1); i++) {
		struct action *a = action_new(
		    j ? &j->actions[i] : &ca, &env, NULL, err, sizeof(err));

		if (a == NULL) {
			fprintf(stderr, "nft_drive: %s\n", err);
			return 2;
		}
		actq_add(q, a);
	}

	for (int i = opt0; i < argc; i++) {
		const char *op = argv[i];
		struct action_ticket t;

		if (strcmp(op, "start") == 0) {
			pending++;
			actq_start(q, done, NULL);
		} else if (strcmp(op, "stop") == 0) {
			pending++;
			actq_flush(q, NULL, 0, true, false, done, NULL);
			pending++;
			actq_stop(q, done, NULL);
		} else if (strcmp(op, "flush") == 0) {
			pending++;
			actq_flush(q, NULL, 0, false, false, done, NULL);
		} else if (strcmp(op, "check") == 0) {
			pending++;
			actq_check(q, done, NULL);
		} else if (strcmp(op, "status") == 0) {
			print_status(q);
		} else if (strcmp(op, "exit") == 0) {
			fflush(stdout);
			_exit(failed);
		} else if (strncmp(op, "reload:", 7) == 0 && j == NULL) {
			char *spec = xstrdup(op + 7), *kvs = spec;

			while (kvs != NULL) {
				char *comma = strchr(kvs, ',');
				char *eq = strchr(kvs, '=');
				size_t k;

				if (comma != NULL)
					*comma = '\0';
				if (eq != NULL) {
					*eq = '\0';
					for (k = 0; k < nkv; k++)
						if (strcmp(kv[k].key, kvs) == 0)
							break;
					if (k == nkv && nkv < MAXP) {
						kv[nkv].key = xstrdup(kvs);
						kv[nkv].value = NULL;
						nkv++;
					}
					if (k < nkv) {
						free(kv[k].value);
						kv[k].value = xstrdup(eq + 1);
					}
				}
				kvs = comma != NULL ? comma + 1 : NULL;
			}
			free(spec);
			ca.props.n = ca.props.cap = nkv;
			pending++;
			actq_reload(q, &ca, 1, NULL, 0, done, NULL);
		} else if (strncmp(op, "sleep:", 6) == 0) {
			sleep_ms(strtoull(op + 6, NULL, 10));
		} else if (strncmp(op, "exec:", 5) == 0) {
			pending++;
			spawn_run(
			    &loop, op + 5, NULL, 0, NULL, exec_done, NULL);
		} else if (strncmp(op, "flood:", 6) == 0 ||
		    strncmp(op, "restore:", 8) == 0) {
			bool rest = op[0] == 'r';
			const char *p = strchr(op, ':') + 1;
			size_t n = strtoul(p, NULL, 10);
			const char *a1 = strchr(p, '@');
			long bt = a1 ? strtol(a1 + 1, NULL, 10) : 600;
			const char *a2 = a1 ? strchr(a1 + 1, '@') : NULL;
			const char *a3 = a2 ? strchr(a2 + 1, '@') : NULL;
			char base[64];
			uint64_t gap = a3 ? strtoull(a3 + 1, NULL, 10) : 0;
			struct action_ticket *v;
			double t0;

			snprintf(base, sizeof(base), "%.*s",
			    a2 ? (int)(a3 ? (size_t)(a3 - a2 - 1)
			                  : strlen(a2 + 1))
			       : 10,
			    a2 ? a2 + 1 : "100.64.0.0");
			v = make_tickets(n, bt, base, rest);
			t0 = mono();

			for (size_t k = 0; k < n; k += rest ? JAIL_BATCH : n) {
				size_t m = rest && n - k > JAIL_BATCH
				    ? JAIL_BATCH
				    : n - k;

				if (rest) {
					v[k + m - 1].restore_more = k + m < n;
					v[k + m - 1].restore_last = k + m == n;
				}
				if (rest && gap > 0 && k > 0)
					sleep_ms(
					    gap); /* the jail's next tick */
				pending++;
				actq_ban(q, v + k, m, done, NULL);
			}
			wait_pending();
			while (rest && settling(q))
				uv_run(&loop, UV_RUN_ONCE);
			printf("%s %zu in %.1f ms\n",
			    rest ? "restore" : "flood", n,
			    (mono() - t0) * 1000);
			fflush(stdout);
			free(v);
		} else if (strncmp(op, "ban:", 4) == 0 ||
		    strncmp(op, "restored:", 9) == 0 ||
		    strncmp(op, "unban:", 6) == 0 ||
		    strncmp(op, "reban:", 6) == 0 ||
		    strncmp(op, "prolong:", 8) == 0) {
			if (parse_ticket(strchr(op, ':') + 1, &t,
			        op[0] == 'r' && op[2] == 's') < 0) {
				fprintf(stderr,
				    "nft_drive: bad address in %s\n", op);
				return 2;
			}
			pending++;
			if (op[0] == 'u')
				actq_unban(q, &t, 1, done, NULL);
			else if (op[0] == 'p')
				actq_prolong(q, &t, 1, done, NULL);
			else if (strncmp(op, "reban:", 6) == 0)
				actq_reban(q, &t, true, done, NULL);
			else
				actq_ban(q, &t, 1, done, NULL);
		} else {
			fprintf(stderr, "nft_drive: bad op '%s'\n", op);
			return 2;
		}
		wait_pending();
	}
	actq_close(q);
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (c != NULL)
		conf_free(c);
	diags_cleanup(&d);
	if (j == NULL) {
		for (size_t i = 0; i < nkv; i++) {
			free(kv[i].key);
			free(kv[i].value);
		}
		free(ca.name);
		free(ca.actname);
	}
	if (uv_loop_close(&loop) != 0) {
		fprintf(stderr, "nft_drive: handles left in the loop\n");
		return 3;
	}
	return failed;
}
