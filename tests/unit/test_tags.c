/*
 * tags: fail2ban's run-time substitution. Expected strings were produced
 * by fail2ban 1.0.2's own CommandAction.replaceTag/replaceDynamicTags
 * (Debian's python3 package) on the same inputs.
 */
#include "tags.h"
#include "filter.h"
#include "tap.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct tags_props *
sample_props(void)
{
	struct tags_props *p = tags_props_new();

	tags_props_set(p, "name", "sshd");
	tags_props_set(p, "port", "ssh");
	tags_props_set(p, "blocktype", "REJECT");
	tags_props_set(p, "blocktype?family=inet6", "REJECT6");
	tags_props_set(p, "x", "<name>-<port>");
	tags_props_set(p, "chain", "<known/chain>");
	tags_props_set(p, "ipset", "f2b-<name>");
	tags_props_set(p, "ipset?family=inet6", "f2b-<name>6");
	tags_props_set(p, "q", "a<br>b<sp>c");
	return p;
}

static char *
stat_replace(struct tags_props *p, const char *q, const char *fam, int *rc)
{
	struct sbuf out = SBUF_INIT, err = SBUF_INIT;
	struct tags_host h = {"host.example.org", "host"};
	char *r;

	*rc = tags_replace_static(p, q, fam, &h, &out, &err);
	r = *rc == 0 ? sbuf_detach(&out) : sbuf_detach(&err);
	sbuf_cleanup(&out);
	sbuf_cleanup(&err);
	return r != NULL ? r : xstrdup("");
}

static void
test_static(void)
{
	struct tags_props *p = sample_props();
	const char *q = "<x> <blocktype> <ipset> <unknown> <q> <ip>";
	char *r;
	int rc;

	r = stat_replace(p, q, "inet6", &rc);
	is_str(r, "sshd-ssh REJECT6 f2b-sshd6 <unknown> a\nb c <ip>",
	    "static: inet6 variants tried first, recursion, <br> <sp>");
	free(r);
	r = stat_replace(p, q, "inet4", &rc);
	is_str(r, "sshd-ssh REJECT f2b-sshd <unknown> a\nb c <ip>",
	    "static: inet4 falls back to the plain property");
	free(r);
	r = stat_replace(p, q, NULL, &rc);
	is_str(r, "sshd-ssh REJECT f2b-sshd <unknown> a\nb c <ip>",
	    "static: no family");
	free(r);
	r = stat_replace(p, "<chain>|<fq-hostname>|<sh-hostname>", NULL, &rc);
	is_str(r, "<known/chain>|host.example.org|host",
	    "static: unresolvable tags stay, host names replaced");
	free(r);
	ok(tags_props_has_cond(p), "a ?family= key makes it family-aware");
	tags_props_unset(p, "blocktype?family=inet6");
	tags_props_unset(p, "ipset?family=inet6");
	ok(!tags_props_has_cond(p), "without them it is not");
	r = stat_replace(p, "<blocktype>", "inet6", &rc);
	is_str(r, "REJECT", "static: changed properties are seen (cache)");
	free(r);
	tags_props_free(p);

	p = tags_props_new();
	tags_props_set(p, "a", "<b>");
	tags_props_set(p, "b", "<a>");
	r = stat_replace(p, "<a>", NULL, &rc);
	is_int(rc, -1, "static: a <-> b cycle is an error");
	ok(strstr(r, "self referencing definitions") != NULL,
	    "static: fail2ban's self-reference message (%s)", r);
	free(r);
	tags_props_free(p);

	p = tags_props_new();
	tags_props_set(p, "a", "x<a>");
	tags_props_set(p, "c", "ok");
	r = stat_replace(p, "<c>", NULL, &rc);
	is_int(rc, -1, "static: any self reference fails every command");
	free(r);
	tags_props_free(p);

	p = tags_props_new();
	tags_props_set(p, "m", "<matches>");
	tags_props_set(p, "matches", "a;b");
	r = stat_replace(p, "<m> <matches>", NULL, &rc);
	is_str(r, "a\\;b a\\;b",
	    "static: matches resolved only in the command, escaped");
	free(r);
	tags_props_free(p);

	/* pieces that combine into a tag after a replacement */
	p = tags_props_new();
	tags_props_set(p, "lt", "<na");
	tags_props_set(p, "na", "nope");
	tags_props_set(p, "name", "jail");
	tags_props_set(p, "v", "<lt>me>");
	r = stat_replace(p, "<v>", NULL, &rc);
	is_str(r, "jail", "static: a replacement may complete a tag");
	free(r);
	tags_props_free(p);
}

static struct action_ticket
sample_ticket(void)
{
	static const char *const matches[] = {"line one $(x)", "l2 `id`"};
	static const struct action_group groups[] = {
	    {"user", "x$(touch /tmp/pwned);'\""}, {"fid", "192.0.2.1"}};
	struct action_ticket t;
	struct addr a;

	memset(&t, 0, sizeof(t));
	addr_parse("192.0.2.1", 9, &a);
	t.key = fkey_from_addr(&a);
	t.has_addr = true;
	t.addr = a;
	t.time = 1768046401.25;
	t.bantime = 600;
	t.bancount = 2;
	t.failures = 3;
	t.matches = matches;
	t.nmatches = 2;
	t.groups = groups;
	t.ngroups = 2;
	return t;
}

static void
test_dynamic(void)
{
	struct action_ticket t = sample_ticket();
	struct tags_dyn d;
	struct tags_cmd c;
	struct tags_host h = {"fq.example", "sh"};
	struct sbuf repr = SBUF_INIT;

	memset(&d, 0, sizeof(d));
	d.t = &t;
	d.jail_bantime = 600;
	d.ticket_class = "FailTicket";
	d.host = &h;
	tags_cmd_init(&c);
	is_int(tags_replace_dynamic(
	           "echo <ip> <ip-rev> <family> <fid> <failures> <time> "
	           "<bantime> <bancount> <restored> <F-USER> <F-ID> "
	           "<F-NOPE>| <matches> <raw-ticket> <br><sp><unknown>",
	           &d, &c),
	    0, "dynamic: replaced");
	is_str(sbuf_str(&c.script),
	    "f2bV_matches=$0 f2bV_raw_ticket=$1 f2bV_F_user=$2 \n"
	    "echo 192.0.2.1 1.2.0.192. inet4 192.0.2.1 3 1768046401.25 600 "
	    "2 0 $f2bV_F_user 192.0.2.1 | $f2bV_matches $f2bV_raw_ticket \n"
	    " <unknown>",
	    "dynamic: fail2ban's script with the f2bV_ line");
	is_int(c.args.n, 3, "dynamic: three values travel as arguments");
	if (c.args.n == 3) {
		is_str(c.args.v[0], "line one $(x)\nl2 `id`",
		    "dynamic: $0 is <matches>");
		is_str(c.args.v[1],
		    "FailTicket: ip=192.0.2.1 time=1768046401.25 "
		    "bantime=None bancount=2 #attempts=3 "
		    "matches=['line one $(x)', 'l2 `id`']",
		    "dynamic: $1 is <raw-ticket>");
		is_str(c.args.v[2], "x$(touch /tmp/pwned);'\"",
		    "dynamic: $2 is the user, byte for byte");
	}
	tags_ainfo_repr(&d, &repr);
	is_str(sbuf_str(&repr),
	    "ActionInfo({'ip': '192.0.2.1', 'family': 'inet4', 'ip-rev': "
	    "'1.2.0.192.', 'fid': '192.0.2.1', 'failures': 3, 'time': "
	    "1768046401.25, 'bantime': 600, 'bancount': 2, 'matches': 'line "
	    "one $(x)\\nl2 `id`', 'restored': 0, 'F-*': {'matches': ['line "
	    "one $(x)', 'l2 `id`'], 'failures': 3, 'user': "
	    "'x$(touch /tmp/pwned);\\'\"', 'fid': '192.0.2.1'}, "
	    "'raw-ticket': \"FailTicket: ip=192.0.2.1 time=1768046401.25 "
	    "bantime=None bancount=2 #attempts=3 matches=['line one $(x)', "
	    "'l2 `id`']\"})",
	    "ActionInfo repr as fail2ban prints it");
	sbuf_cleanup(&repr);

	/* IPv6, a whole-second time, missing groups, plain values */
	{
		struct action_ticket t6;
		struct addr a;

		memset(&t6, 0, sizeof(t6));
		addr_parse("2001:db8::1", 11, &a);
		t6.key = fkey_from_addr(&a);
		t6.has_addr = true;
		t6.addr = a;
		t6.time = 1768046401.0;
		t6.bantime = -1;
		memset(&d, 0, sizeof(d));
		d.t = &t6;
		tags_replace_dynamic("<ip> <ip-rev> <family> <time> <F-USER> "
		                     "<matches> <bantime> <fq-hostname>",
		    &d, &c);
		is_str(sbuf_str(&c.script),
		    "2001:db8::1 "
		    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
		    "0.0.2. inet6 1768046401.0   -1 ",
		    "dynamic: IPv6 nibbles, float time, empty group, no host");
		is_int(c.args.n, 0, "dynamic: nothing needed escaping");
	}

	/* a raw id: <ip> is the id, <family> is Python's None */
	{
		struct action_ticket tr;

		memset(&tr, 0, sizeof(tr));
		tr.key = fkey_from_str(FKEY_RAW, "user@x", 6);
		tr.time = 5;
		tr.restored = true;
		memset(&d, 0, sizeof(d));
		d.t = &tr;
		tags_replace_dynamic("<ip>|<fid>|<family>|<ip-rev>|<time>|"
		                     "<restored>|<ip-host>",
		    &d, &c);
		is_str(sbuf_str(&c.script), "user@x|user@x|None||5|1|None",
		    "dynamic: raw id, restored integral time");
	}

	/* start/stop: the empty ticket with a family */
	memset(&d, 0, sizeof(d));
	d.family = "inet6";
	d.now = 100.5;
	d.jail_bantime = 3600;
	tags_replace_dynamic("[<ip>][<family>][<time>][<bantime>][<failures>]"
	                     "[<matches>][<F-USER>]",
	    &d, &c);
	is_str(sbuf_str(&c.script), "[][inet6][100.5][3600][0][][]",
	    "dynamic: empty ticket for start/stop");

	/* _getOperation's {'family': f}: only <family>; F-tags vanish */
	memset(&d, 0, sizeof(d));
	d.family = "inet4";
	d.family_only = true;
	tags_replace_dynamic("<family> <ip> <F-USER> <br>", &d, &c);
	is_str(
	    sbuf_str(&c.script), "inet4 <ip>  \n", "dynamic: family-only pass");

	/* the jail's values through the info callback */
	tags_cmd_cleanup(&c);
}

static int
info_cb(
    void *ctx, const struct action_ticket *t, const char *tag, struct sbuf *out)
{
	(void)ctx;
	(void)t;
	if (strcmp(tag, "ipmatches") == 0) {
		sbuf_addstr(out, "db1\ndb2");
		return 0;
	}
	if (strcmp(tag, "jail.banned") == 0) {
		sbuf_addstr(out, "7");
		return 0;
	}
	return -1;
}

static void
test_info(void)
{
	struct action_ticket t = sample_ticket();
	struct tags_dyn d;
	struct tags_cmd c;

	memset(&d, 0, sizeof(d));
	d.t = &t;
	d.info = info_cb;
	tags_cmd_init(&c);
	tags_replace_dynamic("<ipmatches>|<ipjailmatches>|<ipfailures>|"
	                     "<jail.banned>|<jail.found>",
	    &d, &c);
	is_str(sbuf_str(&c.script),
	    "f2bV_ipmatches=$0 f2bV_ipjailmatches=$1 \n"
	    "$f2bV_ipmatches|$f2bV_ipjailmatches|3|7|<jail.found>",
	    "dynamic: database tags from the jail, ticket fallback");
	if (c.args.n == 2) {
		is_str(c.args.v[0], "db1\ndb2", "dynamic: ipmatches value");
		is_str(c.args.v[1], "line one $(x)\nl2 `id`",
		    "dynamic: ipjailmatches falls back to the ticket");
	}
	tags_cmd_cleanup(&c);
}

static void
test_escape(void)
{
	struct sbuf b = SBUF_INIT;
	const char *all = "\\#&;`|*?~<>^()[]{}$'\"\n\r ok";

	tags_escape_tag(all, strlen(all), &b);
	is_str(sbuf_str(&b),
	    "\\\\\\#\\&\\;\\`\\|\\*\\?\\~\\<\\>\\^\\(\\)\\[\\]\\{\\}\\$\\'"
	    "\\\"\\n"
	    "\\r ok",
	    "escapeTag: every special character");
	sbuf_reset(&b);
	tags_pyfloat(1768046401.0, &b);
	sbuf_addch(&b, ' ');
	tags_pyfloat(0.1, &b);
	sbuf_addch(&b, ' ');
	tags_pyfloat(1e16, &b);
	is_str(sbuf_str(&b), "1768046401.0 0.1 1e+16", "Python float repr");
	sbuf_cleanup(&b);
}

static void
test_dup(void)
{
	struct action_ticket t = sample_ticket(), d;

	tags_ticket_dup(&d, &t);
	ok(d.matches != t.matches && strcmp(d.matches[1], "l2 `id`") == 0,
	    "ticket dup copies matches");
	ok(d.groups != t.groups && strcmp(d.groups[0].name, "user") == 0,
	    "ticket dup copies groups");
	tags_ticket_free(&d);
	ok(d.nmatches == 0 && d.matches == NULL, "ticket free resets it");

	{
		struct action_ticket r, rd;

		memset(&r, 0, sizeof(r));
		r.key = fkey_from_str(FKEY_USER, "alice", 5);
		tags_ticket_dup(&rd, &r);
		ok(rd.key.s != r.key.s && rd.key.len == 5,
		    "ticket dup copies a string key");
		tags_ticket_free(&rd);
	}
	/* everything in one copy, independent of the source */
	{
		char m0[] = "line one", k[] = "id-7", name[] = "user",
		     val[] = "bob";
		const char *ms[] = {m0, NULL, "line three"};
		struct action_group g[] = {{name, val}, {"empty", NULL}};
		struct action_ticket r, rd;

		memset(&r, 0, sizeof(r));
		r.key = fkey_from_str(FKEY_RAW, k, 4);
		r.matches = ms;
		r.nmatches = 3;
		r.groups = g;
		r.ngroups = 2;
		tags_ticket_dup(&rd, &r);
		memset(m0, 'x', strlen(m0));
		memset(k, 'x', strlen(k));
		memset(name, 'x', strlen(name));
		memset(val, 'x', strlen(val));
		ok(rd.nmatches == 3 && strcmp(rd.matches[0], "line one") == 0 &&
		        strcmp(rd.matches[1], "") == 0 &&
		        strcmp(rd.matches[2], "line three") == 0,
		    "ticket dup: the matches (a NULL one as \"\")");
		ok(rd.ngroups == 2 && strcmp(rd.groups[0].name, "user") == 0 &&
		        strcmp(rd.groups[0].value, "bob") == 0 &&
		        strcmp(rd.groups[1].name, "empty") == 0 &&
		        strcmp(rd.groups[1].value, "") == 0,
		    "ticket dup: the groups");
		ok(rd.key.kind == FKEY_RAW && rd.key.len == 4 &&
		        memcmp(rd.key.s, "id-7", 4) == 0,
		    "ticket dup: the key bytes");
		tags_ticket_free(&rd);
		ok(rd.ngroups == 0 && rd.groups == NULL && rd.key.s == NULL,
		    "ticket free resets a full copy");
		rd = r;
		rd.matches = NULL;
		rd.nmatches = 0;
		rd.groups = NULL;
		rd.ngroups = 0;
		rd.key = fkey_parse("192.0.2.9", 9);
		{
			struct action_ticket a;

			tags_ticket_dup(&a, &rd);
			ok(a.matches == NULL && a.groups == NULL,
			    "ticket dup of an address alone: nothing to copy");
			tags_ticket_free(&a);
		}
	}
}

static void
test_fval(void)
{
	struct fval items[2], set;
	struct sbuf b = SBUF_INIT;

	items[0].type = FVAL_STR;
	items[0].u.s = "a";
	items[1].type = FVAL_STR;
	items[1].u.s = "b'c";
	set.type = FVAL_SET;
	set.u.v.items = items;
	set.u.v.n = 2;
	tags_fval_str(&set, &b);
	is_str(sbuf_str(&b), "{'a', \"b'c\"}", "str() of a set is its repr");
	sbuf_reset(&b);
	tags_fval_str(&items[1], &b);
	is_str(sbuf_str(&b), "b'c", "str() of a str is itself");
	sbuf_cleanup(&b);
}

static void
test_caps(void)
{
	struct tags_props *p = tags_props_new();
	struct sbuf big = SBUF_INIT;
	char *r;
	int rc;

	/* doubling 21 times: far beyond the output cap */
	tags_props_set(p, "a0", "xxxxxxxxxxxxxxxx");
	for (int i = 1; i <= 21; i++) {
		char k[16], v[32];

		snprintf(k, sizeof(k), "a%d", i);
		snprintf(v, sizeof(v), "<a%d><a%d>", i - 1, i - 1);
		tags_props_set(p, k, v);
	}
	r = stat_replace(p, "<a21>", NULL, &rc);
	is_int(rc, -1, "static: exponential growth stops at the cap");
	free(r);
	tags_props_free(p);
	sbuf_cleanup(&big);
}

int
main(void)
{
	test_static();
	test_dynamic();
	test_info();
	test_escape();
	test_dup();
	test_fval();
	test_caps();
	return done_testing();
}
