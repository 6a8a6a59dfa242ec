/*
 * ignore: each rule and fail2ban's order, with a real loop: ignoreself,
 * single addresses, networks, a DNS name (localhost, resolved through
 * libuv), a file: list re-read when it changes (at most once a second,
 * injected clock), ignorecommand exit codes with escaped tags, the
 * ignorecache, run-time add/del/list, a raw id, and freeing with checks
 * still pending.
 */
#include "ignore.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uv_loop_t loop;
static char logbuf[32768];
static double fake_now = 1000000.0;
static char dir[] = "/tmp/warden-ignore-XXXXXX";

static double
clock_fn(void)
{
	return fake_now;
}

static void
hook(void *ctx, int level, const char *logger, const char *msg)
{
	size_t n = strlen(logbuf);

	(void)ctx;
	(void)level;
	(void)logger;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static struct action_ticket
tk(const char *ip)
{
	struct action_ticket t;

	memset(&t, 0, sizeof(t));
	if (addr_parse(ip, strlen(ip), &t.addr) == 0) {
		t.key = fkey_from_addr(&t.addr);
		t.has_addr = true;
	} else {
		t.key = fkey_from_str(FKEY_RAW, ip, strlen(ip));
	}
	t.time = fake_now;
	t.failures = 1;
	return t;
}

struct answer {
	int calls;
	enum ignore_reason r;
};

static void
on_answer(void *arg, enum ignore_reason r)
{
	struct answer *a = arg;

	a->calls++;
	a->r = r;
}

/* Checks ip; waits for a pending answer. Returns the reason. */
static int
check(struct ignore *ig, const char *ip, bool *was_pending)
{
	struct action_ticket t = tk(ip);
	struct answer a = {0, IGNORE_NOT};
	int r = ignore_check(ig, &t, fake_now, 0, on_answer, &a);

	if (was_pending != NULL)
		*was_pending = r < 0;
	if (r >= 0)
		return r;
	uv_run(&loop, UV_RUN_DEFAULT);
	return a.calls == 1 ? (int)a.r : -100;
}

static struct conf_jail
jail(void)
{
	struct conf_jail j;

	memset(&j, 0, sizeof(j));
	j.name = (char *)"jl";
	j.ignoreself = true;
	return j;
}

static void
test_rules(struct ignore_env *env)
{
	struct conf_jail j = jail();
	struct conf_ignore ips[3];
	struct ignore *ig;
	struct strv l = STRV_INIT;
	bool pend;

	memset(ips, 0, sizeof(ips));
	ips[0].kind = CONF_IGNORE_ADDR;
	addr_parse_net("192.0.2.1", 9, &ips[0].addr);
	ips[1].kind = CONF_IGNORE_ADDR;
	addr_parse_net("10.0.0.0/8", 10, &ips[1].addr);
	ips[2].kind = CONF_IGNORE_ADDR;
	addr_parse_net("127.0.0.1", 9, &ips[2].addr);
	j.ignoreip = ips;
	j.nignoreip = 3;
	ig = ignore_new(env, &j);

	logbuf[0] = '\0';
	is_int(check(ig, "127.0.0.1", &pend), IGNORE_SELF,
	    "ignoreself comes first");
	ok(!pend, "answered at once");
	ok(strstr(logbuf, "[jl] Ignore 127.0.0.1 by ignoreself rule\n") != NULL,
	    "logged as fail2ban");
	is_int(check(ig, "192.0.2.1", NULL), IGNORE_IP, "single address");
	ok(strstr(logbuf, "[jl] Ignore 192.0.2.1 by ip\n") != NULL,
	    "logged by ip");
	is_int(check(ig, "10.200.3.4", NULL), IGNORE_IP, "network");
	is_int(check(ig, "11.0.0.1", NULL), IGNORE_NOT, "outside");
	is_int(check(ig, "203.0.113.50", NULL), IGNORE_SELF,
	    "an added own address");
	ignore_set_self(ig, false);
	is_int(check(ig, "127.0.0.1", NULL), IGNORE_IP,
	    "ignoreself off: the list decides");
	is_int(check(ig, "203.0.113.50", NULL), IGNORE_NOT,
	    "ignoreself off: own address not ignored");

	/* run-time changes */
	is_int(ignore_add(ig, "198.51.100.0/255.255.255.0"), 1, "add a mask");
	logbuf[0] = '\0';
	is_int(ignore_add(ig, "198.51.100.0/24"), 0, "duplicate refused");
	ok(strstr(logbuf,
	       "  Ignore duplicate '198.51.100.0/24' "
	       "('198.51.100.0/24'), already in ignore list\n") != NULL,
	    "duplicate logged");
	is_int(ignore_add(ig, "[2001:db8::5]"), 1, "add bracketed IPv6");
	is_int(ignore_add(ig, ""), -1, "empty entry");
	is_int(check(ig, "198.51.100.77", NULL), IGNORE_IP, "added network");
	is_int(check(ig, "2001:db8::5", NULL), IGNORE_IP, "added IPv6");
	ignore_list(ig, &l);
	is_int(l.n, 5, "list size");
	if (l.n == 5) {
		is_str(l.v[0], "10.0.0.0/8", "list: networks first");
		is_str(l.v[1], "198.51.100.0/24", "list: in order");
		is_str(l.v[2], "192.0.2.1", "list: then addresses");
		is_str(l.v[4], "2001:db8::5", "list: canonical forms");
	}
	strv_cleanup(&l);
	is_int(ignore_del(ig, "192.0.2.1"), 0, "del address");
	is_int(ignore_del(ig, "10.0.0.0/8"), 0, "del network");
	is_int(ignore_del(ig, "10.0.0.0/8"), -1, "del absent");
	is_int(check(ig, "192.0.2.1", NULL), IGNORE_NOT, "deleted address");
	is_int(check(ig, "10.1.1.1", NULL), IGNORE_NOT, "deleted network");
	ignore_free(ig);
}

static void
test_dns(struct ignore_env *env)
{
	struct conf_jail j = jail();
	struct ignore *ig;
	bool pend;

	j.ignoreself = false;
	ig = ignore_new(env, &j);
	ignore_add(ig, "localhost");
	logbuf[0] = '\0';
	is_int(check(ig, "127.0.0.1", &pend), IGNORE_DNS,
	    "DNS name: localhost covers 127.0.0.1");
	ok(pend, "DNS name: resolved asynchronously");
	ok(strstr(logbuf, "[jl] Ignore 127.0.0.1 by dns\n") != NULL,
	    "logged by dns");
	is_int(check(ig, "127.0.0.1", &pend), IGNORE_DNS, "again");
	ok(!pend, "DNS name: cached the second time");
	is_int(check(ig, "192.0.2.200", &pend), IGNORE_NOT,
	    "DNS name: other addresses not covered");
	ok(!pend, "DNS name: cached answer for a miss too");

	/* a name that does not resolve answers "not ignored" */
	ignore_add(ig, "no-such-host.invalid");
	is_int(check(ig, "192.0.2.201", NULL), IGNORE_NOT,
	    "unresolvable name: not ignored");

	/* no callback: answered at once from the cache only */
	{
		struct action_ticket t2 = tk("127.0.0.1");

		is_int(ignore_check(ig, &t2, fake_now, 0, NULL, NULL),
		    IGNORE_DNS, "no callback: cached name still answers");
		ignore_add(ig, "another-name.invalid");
		t2 = tk("192.0.2.202");
		is_int(ignore_check(ig, &t2, fake_now, 0, NULL, NULL),
		    IGNORE_NOT, "no callback: uncached name skipped, never -1");
		ignore_del(ig, "another-name.invalid");
	}

	/* a raw id never matches addresses or names */
	is_int(check(ig, "someuser", &pend), IGNORE_NOT, "raw id");
	ok(!pend, "raw id: no lookup");
	ignore_free(ig);

	/* freeing with a lookup pending: no callback, no leak */
	{
		struct answer a = {0, IGNORE_NOT};
		struct action_ticket t = tk("127.0.0.1");

		ig = ignore_new(env, &j);
		ignore_add(ig, "localhost.");
		is_int(ignore_check(ig, &t, fake_now, 0, on_answer, &a), -1,
		    "pending check");
		ignore_free(ig);
		uv_run(&loop, UV_RUN_DEFAULT);
		is_int(a.calls, 0, "freed: its callback never runs");
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
}

static void
test_file(struct ignore_env *env)
{
	struct conf_jail j = jail();
	struct ignore *ig;
	char path[128], entry[160];

	j.ignoreself = false;
	snprintf(path, sizeof(path), "%s/list", dir);
	write_file(path,
	    "# trusted\n192.0.2.10, 192.0.2.11 ; comment "
	    "192.0.2.12\n198.51.100.0/24 #x 203.0.113.1\n");
	snprintf(entry, sizeof(entry), "file:%s", path);
	ig = ignore_new(env, &j);
	ignore_add(ig, entry);
	is_int(check(ig, "192.0.2.10", NULL), IGNORE_IP, "file: address");
	is_int(check(ig, "192.0.2.11", NULL), IGNORE_IP, "file: after comma");
	is_int(check(ig, "192.0.2.12", NULL), IGNORE_NOT,
	    "file: ; comment to the end of the line");
	is_int(check(ig, "198.51.100.9", NULL), IGNORE_IP, "file: network");
	is_int(check(ig, "203.0.113.1", NULL), IGNORE_NOT, "file: # comment");

	write_file(path, "192.0.2.99\n");
	fake_now += 0.5;
	is_int(check(ig, "192.0.2.99", NULL), IGNORE_NOT,
	    "file: not looked at again within a second");
	fake_now += 1.0;
	is_int(check(ig, "192.0.2.99", NULL), IGNORE_IP,
	    "file: re-read after a change");
	is_int(check(ig, "192.0.2.10", NULL), IGNORE_NOT,
	    "file: old entries gone");
	unlink(path);
	fake_now += 1.5;
	logbuf[0] = '\0';
	is_int(check(ig, "192.0.2.99", NULL), IGNORE_NOT,
	    "file: removed file is an empty list");
	ok(strstr(logbuf, "cannot be read") != NULL, "file: missing logged");
	ignore_free(ig);
}

static void
test_command(struct ignore_env *env)
{
	struct conf_jail j = jail();
	struct ignore *ig;
	struct action_ticket t;
	struct action_group g = {"user", "a;b'$(touch /nonexistent/x)"};
	struct answer a = {0, IGNORE_NOT};
	char count[128], cmd[512], *txt;
	FILE *fp;
	bool pend;

	j.ignoreself = false;
	ig = ignore_new(env, &j);
	ignore_set_command(ig,
	    "case <ip> in 192.0.2.1) exit 0;; "
	    "192.0.2.2) exit 1;; *) exit 2;; esac");
	logbuf[0] = '\0';
	is_int(check(ig, "192.0.2.1", &pend), IGNORE_COMMAND,
	    "command exit 0: ignored");
	ok(pend, "command: asynchronous");
	ok(strstr(logbuf, "[jl] Ignore 192.0.2.1 by command\n") != NULL,
	    "logged by command");
	logbuf[0] = '\0';
	is_int(check(ig, "192.0.2.2", NULL), IGNORE_NOT,
	    "command exit 1: not ignored");
	ok(strstr(logbuf, "-- returned 1\n") == NULL &&
	        strstr(logbuf, "returned successfully 1") != NULL,
	    "exit 1 is no error");
	is_int(check(ig, "192.0.2.3", NULL), IGNORE_NOT,
	    "command exit 2: not ignored");
	ok(strstr(logbuf, "-- returned 2\n") != NULL, "exit 2 logged");

	/* <F-USER> travels escaped */
	ignore_set_command(ig, "test \"<F-USER>\" = \"$EXPECT_USER\"");
	setenv("EXPECT_USER", g.value, 1);
	t = tk("192.0.2.4");
	t.groups = &g;
	t.ngroups = 1;
	is_int(ignore_check(ig, &t, fake_now, 0, on_answer, &a), -1,
	    "command with a group: pending");
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(a.r, IGNORE_COMMAND, "the user arrived byte for byte");

	/* the cache answers without running the command again */
	snprintf(count, sizeof(count), "%s/count", dir);
	snprintf(cmd, sizeof(cmd), "echo x >> %s; exit 0", count);
	ignore_set_command(ig, cmd);
	ignore_set_cache(ig, "<ip>", 100, 300);
	is_int(check(ig, "192.0.2.5", NULL), IGNORE_COMMAND, "cache: first");
	is_int(check(ig, "192.0.2.5", &pend), IGNORE_CACHED, "cache: second");
	ok(!pend, "cache: answered at once");
	fake_now += 301;
	is_int(check(ig, "192.0.2.5", NULL), IGNORE_COMMAND,
	    "cache: expired after max-time");
	fp = fopen(count, "r");
	txt = xcalloc(1, 64);
	if (fp != NULL) {
		if (fread(txt, 1, 63, fp) == 0)
			txt[0] = '\0';
		fclose(fp);
	}
	is_str(txt, "x\nx\n", "cache: the command ran twice in three checks");
	free(txt);
	unlink(count);

	/* a raw id reaches the command */
	ignore_set_cache(ig, NULL, 0, 0);
	ignore_set_command(ig, "test <ip> = someuser");
	is_int(check(ig, "someuser", NULL), IGNORE_COMMAND,
	    "raw id: only the command can ignore it");

	/* freeing with the command running */
	ignore_set_command(ig, "sleep 30");
	a.calls = 0;
	t = tk("192.0.2.6");
	is_int(ignore_check(ig, &t, fake_now, 0, on_answer, &a), -1,
	    "slow command pending");
	uv_run(&loop, UV_RUN_NOWAIT);
	ignore_free(ig);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(a.calls, 0, "freed while running: no callback");
}

static void
refreshed(void *arg)
{
	*(int *)arg += 1;
}

int
main(void)
{
	struct ignore_env_opts o;
	struct ignore_env *env;
	struct addr self;
	char err[128];
	int done = 0;

	alarm(120); /* a hang fails the suite instead of blocking it */
	if (mkdtemp(dir) == NULL)
		return 1;
	uv_loop_init(&loop);
	wlog_set_target("/dev/null", NULL, err, sizeof(err));
	wlog_set_level(WLOG_DEBUG);
	wlog_set_hook(hook, NULL);
	memset(&o, 0, sizeof(o));
	o.now = clock_fn;
	o.hostname = "localhost";
	env = ignore_env_new(&loop, &o);
	ignore_env_refresh(env, refreshed, &done);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(done, 1, "refresh completes");
	ok(ignore_env_host(env)->hostname != NULL &&
	        strcmp(ignore_env_host(env)->hostname, "localhost") == 0,
	    "host name");
	addr_parse("203.0.113.50", 12, &self);
	ignore_env_add_self(env, &self);

	test_rules(env);
	test_dns(env);
	test_file(env);
	test_command(env);

	ignore_env_free(env);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(uv_loop_close(&loop), 0, "no handle left in the loop");
	rmdir(dir);
	wlog_set_hook(NULL, NULL);
	wlog_reset();
	return done_testing();
}
