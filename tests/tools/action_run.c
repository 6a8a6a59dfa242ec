/*
 * action_run: test driver for tests/integ/run-actions. Loads a fail2ban
 * configuration directory through conf.h, builds the actions of one jail
 * with the action layer and runs a sequence of operations through the
 * jail's queue, exactly as the daemon would:
 *
 *   action_run -c DIR -j JAIL [-l LEVEL] OP...
 *
 * OP is "start", "stop", "flush" (flush at stop with the banned set),
 * "ban:IP", "unban:IP", "restored:IP" (a restored ban), "user:NAME" and
 * "match:LINE" (data for the next ban), "failures:N", and "exec:CMD" (runs
 * CMD through spawn in the same loop, between two jobs, and copies its
 * stdout to ours: a way to look at the system state). Log records go to
 * stderr in fail2ban's format. Exit status 0 when every job succeeded,
 * 1 when some action failed, 2 for usage or configuration errors.
 */
#include "action.h"
#include "conf.h"
#include "diag.h"
#include "ignore.h"
#include "log.h"
#include "spawn.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXT 64

static int failed;
static int pending;

static void
done(void *arg, int rc)
{
	(void)arg;
	if (rc < 0)
		failed = 1;
	pending--;
}

static void
exec_done(void *arg, const struct spawn_result *r)
{
	(void)arg;
	fwrite(r->out, 1, r->out_len, stdout);
	fflush(stdout);
	pending--;
}

static void
refreshed(void *arg)
{
	(void)arg;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *jname = NULL;
	int level = WLOG_INFO, opt0;
	struct conf *c = NULL;
	struct diags d;
	const struct conf_jail *j;
	uv_loop_t loop;
	struct ignore_env *ie;
	struct action_env env;
	struct action_queue *q;
	struct action_ticket bans[MAXT];
	size_t nbans = 0;
	char *user = NULL;
	char *matches[MAXT];
	size_t nmatches = 0;
	long failures = 1;
	char err[256];

	for (opt0 = 1; opt0 + 1 < argc && argv[opt0][0] == '-'; opt0 += 2) {
		if (strcmp(argv[opt0], "-c") == 0)
			dir = argv[opt0 + 1];
		else if (strcmp(argv[opt0], "-j") == 0)
			jname = argv[opt0 + 1];
		else if (strcmp(argv[opt0], "-l") == 0)
			wlog_level_parse(argv[opt0 + 1], &level);
		else
			break;
	}
	if (dir == NULL || jname == NULL) {
		fprintf(stderr, "usage: action_run -c DIR -j JAIL OP...\n");
		return 2;
	}
	wlog_set_level(level);
	diags_init(&d);
	if (conf_load(dir, &c, &d) < 0 || c == NULL) {
		fprintf(stderr, "action_run: cannot load %s\n", dir);
		return 2;
	}
	j = conf_find_jail(c, jname);
	if (j == NULL) {
		diags_print(&d, stderr);
		fprintf(stderr, "action_run: no jail %s\n", jname);
		conf_free(c);
		diags_cleanup(&d);
		return 2;
	}
	uv_loop_init(&loop);
	ie = ignore_env_new(&loop, NULL);
	ignore_env_refresh(ie, refreshed, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);

	memset(&env, 0, sizeof(env));
	env.loop = &loop;
	env.jail = j->name;
	env.jail_bantime = (long)j->bantime;
	env.ipv6 = true;
	env.host = ie;
	q = actq_new(&env);
	for (size_t i = 0; i < j->nactions; i++) {
		struct action *a =
		    action_new(&j->actions[i], &env, NULL, err, sizeof(err));

		if (a == NULL) {
			fprintf(stderr, "action_run: %s\n", err);
			return 2;
		}
		actq_add(q, a);
	}

	for (int i = opt0; i < argc; i++) {
		const char *op = argv[i];

		if (strcmp(op, "start") == 0) {
			pending++;
			actq_start(q, done, NULL);
		} else if (strcmp(op, "stop") == 0) {
			pending++;
			actq_stop(q, done, NULL);
		} else if (strcmp(op, "flush") == 0) {
			pending++;
			actq_flush(q, bans, nbans, true, true, done, NULL);
		} else if (strncmp(op, "exec:", 5) == 0) {
			pending++;
			spawn_run(
			    &loop, op + 5, NULL, 0, NULL, exec_done, NULL);
		} else if (strncmp(op, "user:", 5) == 0) {
			free(user);
			user = xstrdup(op + 5);
		} else if (strncmp(op, "match:", 6) == 0 && nmatches < MAXT) {
			matches[nmatches++] = xstrdup(op + 6);
		} else if (strncmp(op, "failures:", 9) == 0) {
			failures = strtol(op + 9, NULL, 10);
		} else if ((strncmp(op, "ban:", 4) == 0 ||
		               strncmp(op, "restored:", 9) == 0 ||
		               strncmp(op, "unban:", 6) == 0) &&
		    nbans < MAXT) {
			const char *ip = strchr(op, ':') + 1;
			struct action_ticket t;
			struct action_group g = {"user", user ? user : ""};

			memset(&t, 0, sizeof(t));
			if (addr_parse(ip, strlen(ip), &t.addr) == 0) {
				t.has_addr = true;
				t.key = fkey_from_addr(&t.addr);
			} else {
				t.key = fkey_from_str(FKEY_RAW, ip, strlen(ip));
			}
			t.time = 1768046401.0;
			t.bantime = (long)j->bantime;
			t.bancount = 1;
			t.failures = failures;
			t.matches = (const char *const *)matches;
			t.nmatches = nmatches;
			t.groups = user != NULL ? &g : NULL;
			t.ngroups = user != NULL ? 1 : 0;
			t.restored = op[0] == 'r';
			pending++;
			if (op[0] == 'u') {
				actq_unban(q, &t, 1, done, NULL);
			} else {
				actq_ban(q, &t, 1, done, NULL);
				tags_ticket_dup(&bans[nbans++], &t);
			}
			/* the queue copied what it needs */
			for (size_t k = 0; k < nmatches; k++)
				free(matches[k]);
			nmatches = 0;
			free(user);
			user = NULL;
		} else {
			fprintf(stderr, "action_run: bad op '%s'\n", op);
			return 2;
		}
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	actq_close(q);
	uv_run(&loop, UV_RUN_DEFAULT);
	ignore_env_free(ie);
	uv_run(&loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < nbans; i++)
		tags_ticket_free(&bans[i]);
	free(user);
	conf_free(c);
	diags_cleanup(&d);
	if (uv_loop_close(&loop) != 0) {
		fprintf(stderr, "action_run: handles left in the loop\n");
		return 3;
	}
	return failed;
}
