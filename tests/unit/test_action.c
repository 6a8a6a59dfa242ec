/*
 * Actions end to end in a real loop: a queue of command actions whose
 * commands append to a record file, so each test compares the exact
 * sequence of commands fail2ban's CommandAction would run (start on
 * demand per family, identical commands run once, check/repair/retry,
 * "Unban is impossible", norestored, reverse stop order, flush at stop,
 * a failing actionstart disabling only its action, a .py action, the
 * command timeout, reload, closing with a command running) and the log
 * lines it writes. Also the injection proof: attacker text in <F-USER>
 * and <matches> lands in a file literally and runs nothing.
 */
#include "action.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uv_loop_t loop;
static char dir[] = "/tmp/warden-action-XXXXXX";
static char rec[128];
static char logbuf[65536];

static void
hook(void *ctx, int level, const char *logger, const char *msg)
{
	size_t n = strlen(logbuf);

	(void)ctx;
	(void)level;
	(void)logger;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	size_t n;

	if (fp == NULL)
		return xstrdup("");
	buf = xcalloc(1, 65536);
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
reset(void)
{
	unlink(rec);
	logbuf[0] = '\0';
}

/* A conf_action: cmds as {"actionban", "..."} pairs, props likewise. */
static struct conf_action
mkact(const char *name, const char *const *cmds, const char *const *props)
{
	struct conf_action c;

	memset(&c, 0, sizeof(c));
	c.name = xstrdup(name);
	c.actname = xstrdup(name);
	c.file = xasprintf("action.d/%s.conf", name);
	c.start_on_demand = -1;
	c.repair_on_unban = -1;
	c.norestored = -1;
	c.timeout = 60;
	for (size_t i = 0; cmds != NULL && cmds[i] != NULL; i += 2)
		for (int k = 0; k < CONF_ACT_NCMDS; k++)
			if (strcmp(conf_action_cmd_name(k), cmds[i]) == 0)
				c.cmd[k] = xstrdup(cmds[i + 1]);
	{
		size_t n = 2;

		for (size_t i = 0; props != NULL && props[i] != NULL; i += 2)
			n++;
		c.props.v = xcalloc(n + 1, sizeof(*c.props.v));
		c.props.v[0].key = xstrdup("name");
		c.props.v[0].value = xstrdup("jl");
		c.props.v[1].key = xstrdup("rec");
		c.props.v[1].value = xstrdup(rec);
		c.props.n = 2;
		for (size_t i = 0; props != NULL && props[i] != NULL; i += 2) {
			c.props.v[c.props.n].key = xstrdup(props[i]);
			c.props.v[c.props.n].value = xstrdup(props[i + 1]);
			c.props.n++;
		}
		c.props.cap = n + 1;
	}
	return c;
}

static void
freeact(struct conf_action *c)
{
	free(c->name);
	free(c->actname);
	free(c->file);
	for (int k = 0; k < CONF_ACT_NCMDS; k++)
		free(c->cmd[k]);
	for (size_t i = 0; i < c->props.n; i++) {
		free(c->props.v[i].key);
		free(c->props.v[i].value);
	}
	free(c->props.v);
}

static struct action_env env;

static struct action *
mk(const char *name, const char *const *cmds, const char *const *props)
{
	struct conf_action c = mkact(name, cmds, props);
	char err[128];
	struct action *a = action_new(&c, &env, NULL, err, sizeof(err));

	freeact(&c);
	return a;
}

static struct action_ticket
tk(const char *ip)
{
	struct action_ticket t;

	memset(&t, 0, sizeof(t));
	addr_parse(ip, strlen(ip), &t.addr);
	t.key = fkey_from_addr(&t.addr);
	t.has_addr = true;
	t.time = 1000;
	t.bantime = 600;
	t.failures = 3;
	t.bancount = 1;
	return t;
}

static int last_rc;
static int ncb;

static void
done(void *arg, int rc)
{
	(void)arg;
	last_rc = rc;
	ncb++;
}

static void
drain(void)
{
	uv_run(&loop, UV_RUN_DEFAULT);
}

static const char *const famprops[] = {"x", "v4", "x?family=inet6", "v6", NULL};

/* A family-aware action: everything recorded with the family. */
static const char *const famcmds[] = {"actionstart",
    "echo start <family> <x> >> <rec>", "actionstop",
    "echo stop <family> >> <rec>", "actionflush",
    "echo flush <family> >> <rec>", "actionban",
    "echo ban <ip> <family> <x> >> <rec>", "actionunban",
    "echo unban <ip> <family> >> <rec>", NULL};

static void
test_families(void)
{
	struct action_queue *q = actq_new(&env);
	struct action_ticket t4 = tk("192.0.2.1"), t6 = tk("2001:db8::1"),
	                     t4b = tk("192.0.2.2");
	char *r;

	reset();
	actq_add(q, mk("fam", famcmds, famprops));
	actq_start(q, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r, "", "family-aware: nothing at jail start (on demand)");
	free(r);
	actq_ban(q, &t4, 1, done, NULL);
	actq_ban(q, &t6, 1, done, NULL);
	actq_ban(q, &t4b, 1, done, NULL);
	actq_unban(q, &t6, 1, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r,
	    "start inet4 v4\nban 192.0.2.1 inet4 v4\n"
	    "start inet6 v6\nban 2001:db8::1 inet6 v6\n"
	    "ban 192.0.2.2 inet4 v4\n"
	    "unban 2001:db8::1 inet6\n",
	    "family-aware: start per family on the first ban, ?family= "
	    "values, in submission order");
	free(r);
	reset();
	actq_flush(q, NULL, 0, true, true, done, NULL);
	actq_stop(q, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r, "flush inet4\nflush inet6\nstop inet4\nstop inet6\n",
	    "family-aware: flush and stop for started families");
	free(r);
	ok(strstr(logbuf, "[jl] Flush ticket(s) with fam\n") != NULL,
	    "flush is logged as fail2ban does");
	actq_close(q);
	drain();
}

static void
test_identical(void)
{
	static const char *const cmds[] = {"actionstart", "echo start >> <rec>",
	    "actionstop", "echo stop >> <rec>", "actionban",
	    "echo ban <ip> >> <rec>", "actionunban", "echo unban <ip> >> <rec>",
	    NULL};
	struct action_queue *q = actq_new(&env);
	struct action_ticket t[2] = {tk("192.0.2.1"), tk("2001:db8::1")};
	char *r;

	reset();
	actq_add(q, mk("same", cmds, famprops));
	actq_start(q, done, NULL);
	actq_ban(q, t, 2, done, NULL);
	actq_unban(q, t, 2, done, NULL);
	actq_stop(q, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r,
	    "start\nban 192.0.2.1\nban 2001:db8::1\nunban 192.0.2.1\n"
	    "unban 2001:db8::1\nstop\n",
	    "identical start/stop commands run once for both families");
	free(r);
	actq_close(q);
	drain();
}

static void
test_plain_order(void)
{
	static const char *const c1[] = {"actionstart", "echo a-start >> <rec>",
	    "actionstop", "echo a-stop >> <rec>", "actionban",
	    "echo a-ban <ip> >> <rec>", "actionunban",
	    "echo a-unban <ip> >> <rec>", NULL};
	static const char *const c2[] = {"actionstart",
	    "echo b-start <family>. >> <rec>", "actionstop",
	    "echo b-stop >> <rec>", "actionban", "echo b-ban <ip> >> <rec>",
	    "actionunban", "", NULL};
	static const char *const p2[] = {"norestored", "1", NULL};
	struct action_queue *q = actq_new(&env);
	struct action_ticket t[2] = {tk("192.0.2.1"), tk("192.0.2.7")};
	struct action *b;
	char *r;

	reset();
	t[1].restored = true;
	actq_add(q, mk("a", c1, NULL));
	b = mk("b", c2, p2);
	b->norestored = true;
	actq_add(q, b);
	actq_start(q, done, NULL);
	actq_ban(q, t, 2, done, NULL);
	actq_flush(q, t, 2, true, true, done, NULL);
	actq_stop(q, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r,
	    "a-start\nb-start .\n"
	    "a-ban 192.0.2.1\na-ban 192.0.2.7\nb-ban 192.0.2.1\n"
	    "a-unban 192.0.2.1\na-unban 192.0.2.7\n"
	    "b-stop\na-stop\n",
	    "plain actions: start at jail start in order, norestored "
	    "skips restored, unban per ticket without flush, stop reversed");
	free(r);
	ok(strstr(logbuf, "[jl] Unban 192.0.2.1\n") != NULL &&
	        strstr(logbuf, "[jl] Unban 192.0.2.7\n") != NULL,
	    "flush at stop logs Unban per ticket");
	actq_close(q);
	drain();
}

static void
test_repair(void)
{
	char ok_file[200], cmdban[400], cmdrepair[300], cmdcheck[300];
	const char *cmds[] = {"actionstart", "echo start >> <rec>",
	    "actionstop", "echo stop >> <rec>", "actioncheck", cmdcheck,
	    "actionrepair", cmdrepair, "actionban", cmdban, "actionunban",
	    "echo unban <ip> >> <rec>; exit 1", NULL};
	struct action_queue *q = actq_new(&env);
	struct action_ticket t = tk("192.0.2.1");
	char *r;
	unsigned e0;

	snprintf(ok_file, sizeof(ok_file), "%s/sane", dir);
	snprintf(cmdcheck, sizeof(cmdcheck), "echo check >> <rec>; test -e %s",
	    ok_file);
	snprintf(cmdrepair, sizeof(cmdrepair), "echo repair >> <rec>; touch %s",
	    ok_file);
	snprintf(cmdban, sizeof(cmdban), "echo ban <ip> >> <rec>; test -e %s",
	    ok_file);
	unlink(ok_file);
	reset();
	actq_add(q, mk("rep", cmds, NULL));
	actq_start(q, done, NULL);
	drain();
	e0 = actq_ban_epoch(q);
	actq_ban(q, &t, 1, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r, "start\nban 192.0.2.1\ncheck\nrepair\ncheck\nban 192.0.2.1\n",
	    "failed ban: check, repair, check, retry");
	free(r);
	is_int(last_rc, 0, "the retried ban succeeded");
	ok(strstr(logbuf,
	       "Invariant check failed. Trying to restore a sane "
	       "environment\n") != NULL,
	    "fail2ban's invariant message");
	is_int(actq_ban_epoch(q), e0 + 1, "the repair raised the ban epoch");
	is_int(actq_at(q, 0)->ban_epoch, e0 + 1, "and the action's epoch");

	/* unban fails, the environment is broken: no repair on unban */
	reset();
	unlink(ok_file);
	actq_unban(q, &t, 1, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r, "unban 192.0.2.1\ncheck\n",
	    "failed unban: check only, no repair");
	free(r);
	ok(strstr(logbuf, "Invariant check failed. Unban is impossible.\n") !=
	        NULL,
	    "\"Unban is impossible\" logged");
	ok(strstr(logbuf,
	       "Failed to execute unban jail 'jl' action 'rep' "
	       "info 'ActionInfo({'ip': '192.0.2.1'") != NULL &&
	        strstr(logbuf, "Error unbanning 192.0.2.1\n") != NULL,
	    "unban failure logged with the ActionInfo");
	actq_close(q);
	drain();
	unlink(ok_file);
}

static void
test_repair_on_unban_prolong_reban(void)
{
	char ok_file[200], cmdcheck[300], cmdrepair[300], cmdunban[300];
	const char *cmds[] = {"actioncheck", cmdcheck, "actionrepair",
	    cmdrepair, "actionban", "echo ban <ip> <bantime> >> <rec>",
	    "actionreban", "echo reban <ip> >> <rec>", "actionprolong",
	    "echo prolong <ip> <bantime> >> <rec>", "actionunban", cmdunban,
	    NULL};
	static const char *const plain[] = {
	    "actionban", "echo plain-ban <ip> >> <rec>", NULL};
	struct conf_action c;
	struct action_queue *q = actq_new(&env);
	struct action_ticket t = tk("192.0.2.1");
	char err[64], *r;

	snprintf(ok_file, sizeof(ok_file), "%s/sane2", dir);
	snprintf(cmdcheck, sizeof(cmdcheck), "echo check >> <rec>; test -e %s",
	    ok_file);
	snprintf(cmdrepair, sizeof(cmdrepair), "echo repair >> <rec>; touch %s",
	    ok_file);
	snprintf(cmdunban, sizeof(cmdunban),
	    "echo unban <ip> >> <rec>; test -e %s", ok_file);
	unlink(ok_file);
	reset();
	c = mkact("rou", cmds, NULL);
	c.repair_on_unban = 1;
	actq_add(q, action_new(&c, &env, NULL, err, sizeof(err)));
	freeact(&c);
	actq_add(q, mk("plain", plain, NULL));
	t.bantime = 1200;
	actq_ban(q, &t, 1, done, NULL);
	actq_prolong(q, &t, 1, done, NULL);
	actq_unban(q, &t, 1, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r,
	    "ban 192.0.2.1 1200\nplain-ban 192.0.2.1\n"
	    "prolong 192.0.2.1 1200\n"
	    "unban 192.0.2.1\ncheck\nrepair\ncheck\nunban 192.0.2.1\n",
	    "prolong only where defined; actionrepair_on_unban repairs "
	    "and retries the unban");
	free(r);
	/* the repair raised the epoch: a reban goes to the newer action */
	reset();
	t.ban_epoch = 0;
	actq_reban(q, &t, false, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r, "reban 192.0.2.1\n",
	    "reban: actionreban, only actions with a newer epoch");
	free(r);
	ok(strstr(logbuf, "[jl] Reban 192.0.2.1, action 'rou'\n") != NULL,
	    "reban logged with the action");
	reset();
	actq_reban(q, &t, true, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r, "reban 192.0.2.1\nplain-ban 192.0.2.1\n",
	    "reban of all: actionban where there is no actionreban");
	free(r);
	actq_close(q);
	drain();
	unlink(ok_file);
}

static void
test_restart_without_repair(void)
{
	const char *cmds[] = {"actionstart", "echo start >> <rec>",
	    "actionstop", "echo stop >> <rec>", "actioncheck",
	    "echo check >> <rec>; false", "actionban",
	    "echo ban <ip> <F-USER> >> <rec>; echo oops >&2; "
	    "exit 3",
	    NULL};
	struct action_queue *q = actq_new(&env);
	struct action_ticket t = tk("192.0.2.1");
	char *r;

	reset();
	actq_add(q, mk("rec", cmds, famprops));
	actq_ban(q, &t, 1, done, NULL);
	drain();
	r = slurp(rec);
	/* fail2ban 1.0.2 does exactly this (observed with its server) */
	is_str(r, "start\nban 192.0.2.1\ncheck\nstop\nstart\ncheck\n",
	    "no actionrepair: stop + start, check again, give up");
	free(r);
	is_int(last_rc, -1, "the ban job reports the failure");
	ok(strstr(logbuf, "-- stderr: 'oops'\n") != NULL &&
	        strstr(logbuf, "-- returned 3\n") != NULL,
	    "command failure logged (stderr line, return code)");
	ok(strstr(logbuf, "Unable to restore environment\n") != NULL,
	    "\"Unable to restore environment\"");
	ok(strstr(logbuf,
	       "Failed to execute ban jail 'jl' action 'rec' info "
	       "'ActionInfo({'ip': '192.0.2.1', 'family': 'inet4', 'fid': "
	       "<function Actions.ActionInfo.<lambda> at 0x") != NULL &&
	        strstr(logbuf,
	            "'F-*': {'matches': [], 'failures': 3}, "
	            "'raw-ticket': <function") != NULL &&
	        strstr(logbuf, "})': Error banning 192.0.2.1\n") != NULL,
	    "the ban failure as fail2ban logs it");
	if (getenv("DBG"))
		printf("%s", logbuf);
	actq_close(q);
	drain();
}

static void
test_start_failure(void)
{
	static const char *const bad[] = {"actionstart",
	    "echo bad-start >> <rec>; exit 2", "actionban",
	    "echo bad-ban >> <rec>", NULL};
	static const char *const good[] = {
	    "actionban", "echo good-ban <ip> >> <rec>", NULL};
	struct conf_action py;
	struct action_queue *q = actq_new(&env);
	struct action_ticket t = tk("192.0.2.9");
	struct action *pa;
	char *r, err[64];

	reset();
	memset(&py, 0, sizeof(py));
	py.name = "smtp.py";
	py.actname = "smtp";
	py.python = true;
	pa = action_new(&py, &env, NULL, err, sizeof(err));
	ok(pa != NULL && pa->disabled, "a .py action is created disabled");
	ok(strstr(logbuf,
	       "[jl] action 'smtp.py' is a Python action; Warden "
	       "does not run Python actions\n") != NULL,
	    "and reported");
	actq_add(q, pa);
	actq_add(q, mk("bad", bad, NULL));
	actq_add(q, mk("good", good, NULL));
	actq_start(q, done, NULL);
	actq_ban(q, &t, 1, done, NULL);
	actq_stop(q, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r, "bad-start\ngood-ban 192.0.2.9\n",
	    "failed actionstart disables that action only");
	free(r);
	ok(actq_find(q, "bad")->disabled, "the action is marked disabled");
	ok(strstr(logbuf,
	       "Failed to start jail 'jl' action 'bad': Error "
	       "starting action Jail('jl')/bad: 'Script "
	       "error'\n") != NULL,
	    "start failure logged as fail2ban");
	actq_close(q);
	drain();
}

static void
test_timeout(void)
{
	static const char *const cmds[] = {
	    "actionban", "echo ban >> <rec>; sleep 30", NULL};
	static const char *const props[] = {"timeout", "0.5", NULL};
	static const char *const cmds2[] = {
	    "actionban", "echo after >> <rec>", NULL};
	struct conf_action c = mkact("slow", cmds, props);
	struct action_queue *q = actq_new(&env);
	struct action_ticket t = tk("192.0.2.3");
	char err[64], *r;
	uint64_t t0;

	reset();
	c.timeout = 0.5;
	actq_add(q, action_new(&c, &env, NULL, err, sizeof(err)));
	freeact(&c);
	actq_add(q, mk("next", cmds2, NULL));
	t0 = uv_hrtime();
	actq_ban(q, &t, 1, done, NULL);
	drain();
	r = slurp(rec);
	/* _processCmd runs a failed command a second time even without
	 * actioncheck (fail2ban's loop: repcnt > 1) */
	is_str(r, "ban\nban\nafter\n",
	    "timed-out command killed (and retried once), queue goes on");
	free(r);
	ok((uv_hrtime() - t0) / 1e9 < 3.0, "within the timeouts");
	ok(strstr(logbuf, "timed out after 0.5 seconds.\n") != NULL,
	    "timeout logged with the action's timeout");
	actq_close(q);
	drain();
}

static void
test_injection(void)
{
	static const char *const cmds[] = {"actionban",
	    "printf '%s\\n' \"user=<F-USER>\" >> <rec>; "
	    "printf '%s\\n' \"<matches>\" >> <rec>; "
	    "echo <F-USER> >> <rec>",
	    NULL};
	char pwned[100], user[300], m1[400], *r, want[2048];
	const char *matches[2];
	struct action_group g[1];
	struct action_queue *q = actq_new(&env);
	struct action_ticket t = tk("192.0.2.66");

	reset();
	snprintf(pwned, sizeof(pwned), "%s/pwned", dir);
	snprintf(user, sizeof(user), "x$(touch %s);'\"", pwned);
	snprintf(m1, sizeof(m1), "Failed for `touch %s` $(touch %s) from x",
	    pwned, pwned);
	matches[0] = m1;
	matches[1] = "second ; touch it ' \" \\";
	g[0].name = "user";
	g[0].value = user;
	t.groups = g;
	t.ngroups = 1;
	t.matches = matches;
	t.nmatches = 2;
	actq_add(q, mk("inj", cmds, NULL));
	actq_ban(q, &t, 1, done, NULL);
	drain();
	r = slurp(rec);
	snprintf(want, sizeof(want), "user=%s\n%s\n%s\n%s\n", user, m1,
	    matches[1], user);
	is_str(r, want, "injection: the file holds the literal text");
	free(r);
	ok(access(pwned, F_OK) != 0, "injection: nothing was executed");
	actq_close(q);
	drain();
}

static void
test_reload_and_close(void)
{
	static const char *const c1[] = {"actionstart",
	    "echo start <x> >> <rec>", "actionreload",
	    "echo reload <x> >> <rec>", "actionstop", "echo stop <x> >> <rec>",
	    "actionban", "echo ban <x> >> <rec>", NULL};
	static const char *const p1[] = {"x", "old", NULL};
	static const char *const p2[] = {"x", "new", NULL};
	static const char *const cgone[] = {"actionstop",
	    "echo gone-stop >> <rec>", "actionunban",
	    "echo gone-unban <ip> >> <rec>", NULL};
	static const char *const cslow[] = {"actionban", "sleep 30", NULL};
	struct action_queue *q = actq_new(&env);
	struct conf_action nc[2];
	struct action_ticket t = tk("192.0.2.5");
	char *r;
	uint64_t t0;

	reset();
	actq_add(q, mk("keep", c1, p1));
	actq_add(q, mk("gone", cgone, NULL));
	actq_start(q, done, NULL);
	actq_ban(q, &t, 1, done, NULL);
	drain();
	nc[0] = mkact("keep", c1, p2);
	nc[1] = mkact("fresh", c1, p2);
	actq_reload(q, nc, 2, &t, 1, done, NULL);
	freeact(&nc[0]);
	freeact(&nc[1]);
	drain();
	r = slurp(rec);
	is_str(r,
	    "start old\nban old\nreload new\ngone-unban 192.0.2.5\n"
	    "gone-stop\nstart new\n",
	    "reload: kept action reloads with new values, removed one "
	    "unbans and stops, new one starts");
	free(r);
	is_int(actq_count(q), 2, "reload: the new list");
	ok(actq_find(q, "gone") == NULL && actq_find(q, "fresh") != NULL,
	    "reload: removed and added");

	/* closing with a command running kills it */
	actq_add(q, mk("slow", cslow, NULL));
	ncb = 0;
	actq_ban(q, &t, 1, done, NULL);
	actq_ban(q, &t, 1, done, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_run(&loop, UV_RUN_NOWAIT);
	t0 = uv_hrtime();
	actq_close(q);
	drain();
	ok((uv_hrtime() - t0) / 1e9 < 2.0, "close kills the running command");
	is_int(ncb, 0, "close: dropped jobs are not called back");
}

/* warden_backend = record: lines appended in-process, no command. */
static void
test_record_backend(void)
{
	static const char *const cmd[] = {
	    "actionban", "echo shell >> <rec>", NULL};
	static const char *const props[] = {
	    "warden_backend", "record", "recordfile", NULL, NULL};
	const char *pv[5];
	struct action_queue *q = actq_new(&env);
	struct action_ticket t[2] = {tk("192.0.2.7"), tk("2001:db8::7")};
	struct action *a;
	char *r;

	reset();
	memcpy(pv, props, sizeof(pv));
	pv[3] = rec;
	a = mk("recorder", cmd, pv);
	ok(a != NULL && strcmp(a->ops->name, "record") == 0,
	    "record backend chosen by warden_backend");
	actq_add(q, a);
	ncb = 0;
	actq_start(q, done, NULL);
	actq_ban(q, t, 2, done, NULL);
	actq_unban(q, t, 1, done, NULL);
	drain();
	r = slurp(rec);
	is_str(r, "ban 192.0.2.7\nban 2001:db8::7\nunban 192.0.2.7\n",
	    "record backend: one line per ticket, no shell run");
	free(r);
	is_int(ncb, 3, "record backend: every job called back");
	is_int(last_rc, 0, "record backend: success");
	actq_close(q);
	drain();

	pv[3] = "";
	ok(mk("recorder", cmd, pv) == NULL,
	    "record backend without recordfile is refused");
}

int
main(void)
{
	char err[128];

	alarm(120); /* a hang fails the suite instead of blocking it */
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(rec, sizeof(rec), "%s/rec", dir);
	uv_loop_init(&loop);
	wlog_set_target("/dev/null", NULL, err, sizeof(err));
	wlog_set_level(WLOG_DEBUG);
	wlog_set_hook(hook, NULL);
	memset(&env, 0, sizeof(env));
	env.loop = &loop;
	env.jail = "jl";
	env.jail_bantime = 600;
	env.ipv6 = true;

	test_families();
	test_identical();
	test_plain_order();
	test_repair();
	test_restart_without_repair();
	test_repair_on_unban_prolong_reban();
	test_start_failure();
	test_timeout();
	test_injection();
	test_reload_and_close();
	test_record_backend();

	is_int(uv_loop_close(&loop), 0, "no handle left in the loop");
	unlink(rec);
	rmdir(dir);
	wlog_set_hook(NULL, NULL);
	wlog_reset();
	return done_testing();
}
