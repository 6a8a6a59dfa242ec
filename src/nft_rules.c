/*
 * The kernel objects of one nftables action (see nft_rules.h): the spec
 * parsed from the action's properties, the libnftnl messages that create
 * and remove the table, chain, sets and rules, and the dumps that find
 * what an earlier run left behind.
 */
#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <ctype.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dl_nftnl.h"
#include "nft_msg.h"
#include "nft_rules.h"
#include "nft_sock.h"
#include "xmalloc.h"

/* nft's datatype numbers (src/datatype.h), for `nft list` to print. */
#define TYPE_IPADDR       7
#define TYPE_IP6ADDR      8
#define TYPE_INET_SERVICE 13

static const char *const set_prefix[NFT_SET_NADDR] = {
    "addr4-", "addr6-", "net4-", "net6-"};

/* ---------------------------------------------------------------------
 * Parsing the spec.
 */

static const char *
prop(nft_prop_fn get, void *ctx, const char *key, const char *dflt)
{
	const char *v = get(ctx, key);

	if (v == NULL)
		return dflt;
	while (*v == ' ' || *v == '\t' || *v == '\n')
		v++;
	return *v != '\0' ? v : dflt;
}

/* A copy of v with surrounding blanks removed. */
static char *
trimmed(const char *v)
{
	size_t n = strlen(v);

	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	return xstrndup(v, n);
}

static int
check_name(const char *what, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);

	if (n == 0 || n > NFT_NAME_MAX) {
		snprintf(err, errlen,
		    "%s '%s': a name of 1 to %d bytes is needed", what, v,
		    NFT_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' ||
		    c == '\'') {
			snprintf(err, errlen,
			    "%s '%s': only printable characters without "
			    "blanks or quotes are allowed",
			    what, v);
			return -1;
		}
	}
	return 0;
}

static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
    {"tcp", IPPROTO_TCP},
    {"udp", IPPROTO_UDP},
    {"sctp", IPPROTO_SCTP},
    {"dccp", IPPROTO_DCCP},
    {"udplite", IPPROTO_UDPLITE},
};

/* Splits v at commas and blanks; calls fn for each word. */
static int
each_word(
    const char *v, int (*fn)(void *arg, const char *w, size_t n), void *arg)
{
	while (*v != '\0') {
		size_t n;

		while (*v == ',' || isspace((unsigned char)*v))
			v++;
		n = strcspn(v, ", \t\n\r");
		if (n > 0 && fn(arg, v, n) < 0)
			return -1;
		v += n;
	}
	return 0;
}

struct parse_ctx {
	struct nft_spec *sp;
	char *err;
	size_t errlen;
	bool all;        /* "all" seen among the protocols */
	const char *svc; /* protocol for service names */
};

static int
proto_word(void *arg, const char *w, size_t n)
{
	struct parse_ctx *pc = arg;
	struct nft_spec *sp = pc->sp;
	long num = -1;

	if (n == 3 && strncasecmp(w, "all", 3) == 0) {
		pc->all = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strlen(protos[i].name) == n &&
		    strncasecmp(w, protos[i].name, n) == 0)
			num = protos[i].num;
	if (num < 0 && n <= 3 && strspn(w, "0123456789") >= n) {
		num = 0;
		for (size_t i = 0; i < n; i++)
			num = num * 10 + (w[i] - '0');
		if (num > 255)
			num = -1;
	}
	if (num < 0) {
		snprintf(pc->err, pc->errlen,
		    "protocol '%.*s': use tcp, udp, sctp, dccp, udplite, a "
		    "number or all",
		    (int)n, w);
		return -1;
	}
	for (size_t i = 0; i < sp->nprotos; i++)
		if (sp->protos[i] == num)
			return 0;
	if (sp->nprotos >= NFT_SPEC_MAX_PROTOS) {
		snprintf(pc->err, pc->errlen, "too many protocols (at most %d)",
		    NFT_SPEC_MAX_PROTOS);
		return -1;
	}
	sp->protos[sp->nprotos++] = (uint8_t)num;
	return 0;
}

/* A port number or service name; -1 if neither. */
static long
port_value(const char *w, size_t n, const char *proto)
{
	char name[64];
	struct servent *se;

	if (n == 0 || n >= sizeof(name))
		return -1;
	if (strspn(w, "0123456789") >= n) {
		long v = 0;

		for (size_t i = 0; i < n; i++) {
			v = v * 10 + (w[i] - '0');
			if (v > 65535)
				return -1;
		}
		return v;
	}
	memcpy(name, w, n);
	name[n] = '\0';
	se = getservbyname(name, proto);
	if (se == NULL && strcmp(proto, "tcp") != 0)
		se = getservbyname(name, "tcp");
	return se != NULL ? (long)ntohs((uint16_t)se->s_port) : -1;
}

static int
port_word(void *arg, const char *w, size_t n)
{
	struct parse_ctx *pc = arg;
	struct nft_spec *sp = pc->sp;
	size_t sep = 0;
	long lo, hi;

	/* "a:b" (fail2ban's iptables form) or "a-b" (nft's); a service
	 * name may itself contain '-' ("ms-sql-s"), so try it whole
	 * first. */
	lo = hi = port_value(w, n, pc->svc);
	if (lo < 0) {
		for (size_t i = 1; i < n; i++)
			if (w[i] == ':' || w[i] == '-') {
				sep = i;
				break;
			}
		if (sep == 0) {
			snprintf(pc->err, pc->errlen,
			    "port '%.*s': not a number, a known service or a "
			    "range",
			    (int)n, w);
			return -1;
		}
		lo = port_value(w, sep, pc->svc);
		hi = port_value(w + sep + 1, n - sep - 1, pc->svc);
		if (lo < 0 || hi < 0 || hi < lo) {
			snprintf(pc->err, pc->errlen,
			    "port range '%.*s': needs two ports, the first not "
			    "above the second",
			    (int)n, w);
			return -1;
		}
	}
	if (sp->nports >= NFT_SPEC_MAX_PORTS) {
		snprintf(pc->err, pc->errlen,
		    "too many ports or ranges (at most %d)",
		    NFT_SPEC_MAX_PORTS);
		return -1;
	}
	sp->ports[sp->nports].lo = (uint16_t)lo;
	sp->ports[sp->nports].hi = (uint16_t)hi;
	sp->nports++;
	return 0;
}

static int
cmp_range(const void *a, const void *b)
{
	const struct nft_port_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

/* Sorts and merges overlapping or adjacent ranges (the interval set
 * refuses overlaps). */
static void
merge_ports(struct nft_spec *sp)
{
	size_t k = 0;

	if (sp->nports == 0)
		return;
	qsort(sp->ports, sp->nports, sizeof(sp->ports[0]), cmp_range);
	for (size_t i = 1; i < sp->nports; i++) {
		struct nft_port_range *last = &sp->ports[k];

		if ((unsigned)sp->ports[i].lo <= (unsigned)last->hi + 1) {
			if (sp->ports[i].hi > last->hi)
				last->hi = sp->ports[i].hi;
		} else {
			sp->ports[++k] = sp->ports[i];
		}
	}
	sp->nports = k + 1;
}

static const struct {
	const char *name;
	uint32_t hook;
} hooks[] = {
    {"prerouting", NF_INET_PRE_ROUTING},
    {"input", NF_INET_LOCAL_IN},
    {"forward", NF_INET_FORWARD},
    {"output", NF_INET_LOCAL_OUT},
};

static const struct {
	const char *name;
	int32_t prio;
} prios[] = {
    {"raw", -300},
    {"mangle", -150},
    {"dstnat", -100},
    {"filter", 0},
    {"security", 50},
    {"srcnat", 100},
};

/* "-1", "filter", "filter - 1", "raw+5". */
static int
parse_priority(const char *v, int32_t *out)
{
	char buf[64];
	size_t k = 0;
	long base = 0, off = 0;
	const char *p;
	char *end;

	for (; *v && k + 1 < sizeof(buf); v++)
		if (!isspace((unsigned char)*v))
			buf[k++] = *v;
	buf[k] = '\0';
	if (*v != '\0' || k == 0)
		return -1;
	p = buf;
	if (isalpha((unsigned char)*p)) {
		size_t n = 0;
		bool found = false;

		while (isalpha((unsigned char)p[n]))
			n++;
		for (size_t i = 0; i < sizeof(prios) / sizeof(prios[0]); i++)
			if (strlen(prios[i].name) == n &&
			    strncasecmp(p, prios[i].name, n) == 0) {
				base = prios[i].prio;
				found = true;
			}
		if (!found)
			return -1;
		p += n;
		if (*p == '\0') {
			*out = (int32_t)base;
			return 0;
		}
		if (*p != '+' && *p != '-')
			return -1;
	}
	errno = 0;
	off = strtol(p, &end, 10);
	if (errno != 0 || *end != '\0' || end == p || off < -100000 ||
	    off > 100000)
		return -1;
	*out = (int32_t)(base + off);
	return 0;
}

/* icmp/icmpv6/icmpx reason names and their codes. */
struct reason {
	const char *name;
	int icmp, icmp6, icmpx; /* -1: none */
};

static const struct reason reasons[] = {
    {"net-unreachable", 0, -1, -1},
    {"host-unreachable", 1, 3, NFT_REJECT_ICMPX_HOST_UNREACH},
    {"prot-unreachable", 2, -1, -1},
    {"port-unreachable", 3, 4, NFT_REJECT_ICMPX_PORT_UNREACH},
    {"net-prohibited", 9, -1, -1},
    {"host-prohibited", 10, -1, -1},
    {"admin-prohibited", 13, 1, NFT_REJECT_ICMPX_ADMIN_PROHIBITED},
    {"no-route", -1, 0, NFT_REJECT_ICMPX_NO_ROUTE},
    {"addr-unreachable", -1, 3, -1},
    {"policy-fail", -1, 5, -1},
    {"reject-route", -1, 6, -1},
};

/*
 * fail2ban's blocktype values for nftables: "reject", "drop", "reject
 * with tcp reset", "reject with icmpx [type] X", "reject with icmp
 * [type] X" (IPv4 rules; IPv6 ones then use icmpx port-unreachable),
 * "reject with icmpv6 [type] X" (the reverse). Case and extra blanks do
 * not matter; iptables' "REJECT"/"DROP" are accepted.
 */
static int
parse_blocktype(struct nft_spec *sp, const char *v, char *err, size_t errlen)
{
	char w[6][32];
	int n = 0;
	const char *p = v;

	while (*p != '\0') {
		size_t l;

		while (isspace((unsigned char)*p))
			p++;
		l = strcspn(p, " \t\n\r");
		if (l == 0)
			break;
		if (n >= 6 || l >= sizeof(w[0]))
			goto bad;
		for (size_t i = 0; i < l; i++)
			w[n][i] = (char)tolower((unsigned char)p[i]);
		w[n][l] = '\0';
		n++;
		p += l;
	}
	sp->reject_type4 = sp->reject_type6 = NFT_REJECT_ICMPX_UNREACH;
	sp->reject_code4 = sp->reject_code6 = NFT_REJECT_ICMPX_PORT_UNREACH;
	if (n == 1 && strcmp(w[0], "drop") == 0) {
		sp->verdict = NFT_V_DROP;
		return 0;
	}
	if (n < 1 || strcmp(w[0], "reject") != 0)
		goto bad;
	sp->verdict = NFT_V_REJECT;
	if (n == 1)
		return 0;
	if (n < 3 || strcmp(w[1], "with") != 0)
		goto bad;
	if (n == 4 && strcmp(w[2], "tcp") == 0 && strcmp(w[3], "reset") == 0) {
		sp->reject_type4 = sp->reject_type6 = NFT_REJECT_TCP_RST;
		sp->reject_code4 = sp->reject_code6 = 0;
		return 0;
	}
	{
		const char *kind = w[2], *rname;
		const struct reason *r = NULL;

		if (n == 5 && strcmp(w[3], "type") == 0)
			rname = w[4];
		else if (n == 4)
			rname = w[3];
		else
			goto bad;
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]);
		     i++)
			if (strcmp(reasons[i].name, rname) == 0)
				r = &reasons[i];
		if (r == NULL)
			goto bad;
		if (strcmp(kind, "icmpx") == 0 && r->icmpx >= 0) {
			sp->reject_code4 = sp->reject_code6 = (uint8_t)r->icmpx;
			return 0;
		}
		if (strcmp(kind, "icmp") == 0 && r->icmp >= 0) {
			sp->reject_type4 = NFT_REJECT_ICMP_UNREACH;
			sp->reject_code4 = (uint8_t)r->icmp;
			return 0;
		}
		if (strcmp(kind, "icmpv6") == 0 && r->icmp6 >= 0) {
			sp->reject_type6 = NFT_REJECT_ICMP_UNREACH;
			sp->reject_code6 = (uint8_t)r->icmp6;
			return 0;
		}
	}
bad:
	snprintf(err, errlen,
	    "blocktype '%s': use drop, reject, reject with tcp reset, or "
	    "reject with icmpx|icmp|icmpv6 type REASON",
	    v);
	return -1;
}

int
nft_spec_parse(
    struct nft_spec *sp, nft_prop_fn get, void *ctx, char *err, size_t errlen)
{
	struct parse_ctx pc = {sp, err, errlen, false, "tcp"};
	const char *v;
	char *t;

	memset(sp, 0, sizeof(*sp));
	sp->name = trimmed(prop(get, ctx, "name", "default"));
	sp->table = trimmed(prop(get, ctx, "table", "warden"));
	sp->chain = trimmed(prop(get, ctx, "chain", "input"));
	if (check_name("name", sp->name, err, errlen) < 0 ||
	    check_name("table", sp->table, err, errlen) < 0 ||
	    check_name("chain", sp->chain, err, errlen) < 0)
		goto fail;
	t = trimmed(prop(get, ctx, "table_family", "inet"));
	if (strcmp(t, "inet") != 0) {
		snprintf(err, errlen,
		    "table_family '%s' is not supported: the nftables backend "
		    "keeps IPv4 and IPv6 in one inet table",
		    t);
		free(t);
		goto fail;
	}
	free(t);
	sp->chain_type = trimmed(prop(get, ctx, "chain_type", "filter"));
	if (strcmp(sp->chain_type, "filter") != 0) {
		snprintf(err, errlen,
		    "chain_type '%s' is not supported (only filter)",
		    sp->chain_type);
		goto fail;
	}
	sp->hook_name = trimmed(prop(get, ctx, "chain_hook", "input"));
	sp->hook = (uint32_t)-1;
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (strcasecmp(hooks[i].name, sp->hook_name) == 0)
			sp->hook = hooks[i].hook;
	if (sp->hook == (uint32_t)-1) {
		snprintf(err, errlen,
		    "chain_hook '%s': use input, forward, prerouting or output",
		    sp->hook_name);
		goto fail;
	}
	v = prop(get, ctx, "chain_priority", "-1");
	if (parse_priority(v, &sp->priority) < 0) {
		snprintf(err, errlen,
		    "chain_priority '%s': a number or a name like filter, "
		    "raw, mangle (with +N / -N)",
		    v);
		goto fail;
	}
	v = prop(get, ctx, "type", "multiport");
	if (strncmp(v, "allports", 8) == 0 &&
	    strspn(v + 8, " \t\n") == strlen(v + 8)) {
		sp->allports = true;
	} else if (!(strncmp(v, "multiport", 9) == 0 &&
	               strspn(v + 9, " \t\n") == strlen(v + 9))) {
		snprintf(
		    err, errlen, "type '%s': use multiport or allports", v);
		goto fail;
	}
	v = prop(get, ctx, "protocol", "tcp");
	if (each_word(v, proto_word, &pc) < 0)
		goto fail;
	if (pc.all)
		sp->nprotos = 0; /* every protocol */
	else if (sp->nprotos == 0) {
		snprintf(err, errlen, "protocol '%s': none given", v);
		goto fail;
	}
	if (!sp->allports) {
		if (sp->nprotos == 0) {
			snprintf(err, errlen,
			    "type multiport needs a protocol with ports "
			    "(tcp, udp, ...), not all; use type allports");
			goto fail;
		}
		pc.svc = sp->protos[0] == IPPROTO_UDP ? "udp" : "tcp";
		v = prop(get, ctx, "port", "ssh");
		if (each_word(v, port_word, &pc) < 0)
			goto fail;
		if (sp->nports == 0) {
			snprintf(err, errlen, "port '%s': none given", v);
			goto fail;
		}
		merge_ports(sp);
	}
	v = prop(get, ctx, "blocktype", "reject");
	sp->blocktype = trimmed(v);
	if (parse_blocktype(sp, sp->blocktype, err, errlen) < 0)
		goto fail;
	for (int k = 0; k < NFT_SET_NADDR; k++)
		sp->sets[k] = xasprintf("%s%s", set_prefix[k], sp->name);
	sp->portset = xasprintf("port-%s", sp->name);
	sp->comment = xasprintf("warden:%s", sp->name);
	if (strlen(sp->sets[0]) > NFT_NAME_MAX) {
		snprintf(err, errlen, "name '%s' is too long for set names",
		    sp->name);
		goto fail;
	}
	return 0;
fail:
	nft_spec_cleanup(sp);
	return -1;
}

void
nft_spec_cleanup(struct nft_spec *sp)
{
	free(sp->name);
	free(sp->table);
	free(sp->chain);
	free(sp->chain_type);
	free(sp->hook_name);
	free(sp->blocktype);
	for (int k = 0; k < NFT_SET_NADDR; k++)
		free(sp->sets[k]);
	free(sp->portset);
	free(sp->comment);
	memset(sp, 0, sizeof(*sp));
}

static bool
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

bool
nft_spec_equal(const struct nft_spec *a, const struct nft_spec *b)
{
	return streq(a->name, b->name) && streq(a->table, b->table) &&
	    streq(a->chain, b->chain) && a->hook == b->hook &&
	    a->priority == b->priority && a->allports == b->allports &&
	    a->nprotos == b->nprotos &&
	    memcmp(a->protos, b->protos, a->nprotos) == 0 &&
	    a->nports == b->nports &&
	    memcmp(a->ports, b->ports, a->nports * sizeof(a->ports[0])) == 0 &&
	    a->verdict == b->verdict && a->reject_type4 == b->reject_type4 &&
	    a->reject_code4 == b->reject_code4 &&
	    a->reject_type6 == b->reject_type6 &&
	    a->reject_code6 == b->reject_code6;
}

enum nft_setkind
nft_setkind_for(int family, unsigned prefix)
{
	if (family == AF_INET6)
		return prefix < 128 ? NFT_SET_NET6 : NFT_SET_ADDR6;
	return prefix < 32 ? NFT_SET_NET4 : NFT_SET_ADDR4;
}

/* ---------------------------------------------------------------------
 * Building messages.
 */

static void
put_obj_table(struct nft_batch *b, const struct nft_spec *sp)
{
	struct nftnl_table *t = dl_nftnl_table_alloc();
	struct nlmsghdr *nlh;

	dl_nftnl_table_set_str(t, NFTNL_TABLE_NAME, sp->table);
	dl_nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nlh = nft_batch_obj_begin(
	    b, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_CREATE, 512);
	dl_nftnl_table_nlmsg_build_payload(nlh, t);
	nft_batch_obj_end(b, nlh, NFT_TAG_OBJECT);
	dl_nftnl_table_free(t);
}

static void
put_obj_chain(struct nft_batch *b, const struct nft_spec *sp)
{
	struct nftnl_chain *c = dl_nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	dl_nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, sp->table);
	dl_nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, sp->chain);
	dl_nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, sp->hook);
	dl_nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, sp->priority);
	dl_nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, sp->chain_type);
	dl_nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nft_batch_obj_begin(
	    b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, 1024);
	dl_nftnl_chain_nlmsg_build_payload(nlh, c);
	nft_batch_obj_end(b, nlh, NFT_TAG_OBJECT);
	dl_nftnl_chain_free(c);
}

static void
put_obj_set(struct nft_batch *b, const struct nft_spec *sp, const char *name,
    uint32_t keytype, uint32_t keylen, uint32_t flags, uint32_t id)
{
	struct nftnl_set *s = dl_nftnl_set_alloc();
	struct nlmsghdr *nlh;

	dl_nftnl_set_set_str(s, NFTNL_SET_TABLE, sp->table);
	dl_nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	dl_nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	dl_nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, keytype);
	dl_nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, keylen);
	dl_nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	dl_nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nlh = nft_batch_obj_begin(
	    b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, 1024);
	dl_nftnl_set_nlmsg_build_payload(nlh, s);
	nft_batch_obj_end(b, nlh, NFT_TAG_OBJECT);
	dl_nftnl_set_free(s);
}

static void
e_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = dl_nftnl_expr_alloc("meta");

	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	dl_nftnl_rule_add_expr(r, e);
}

static void
e_cmp_u8(struct nftnl_rule *r, uint8_t v)
{
	struct nftnl_expr *e = dl_nftnl_expr_alloc("cmp");

	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	dl_nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &v, 1);
	dl_nftnl_rule_add_expr(r, e);
}

static void
e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = dl_nftnl_expr_alloc("payload");

	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	dl_nftnl_rule_add_expr(r, e);
}

static void
e_lookup(struct nftnl_rule *r, const char *set)
{
	struct nftnl_expr *e = dl_nftnl_expr_alloc("lookup");

	dl_nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	dl_nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	dl_nftnl_rule_add_expr(r, e);
}

static void
put_rule(struct nft_batch *b, const struct nft_spec *sp, enum nft_setkind k,
    int proto)
{
	bool v6 = k == NFT_SET_ADDR6 || k == NFT_SET_NET6;
	struct nftnl_rule *r = dl_nftnl_rule_alloc();
	struct nftnl_udata_buf *ud =
	    dl_nftnl_udata_buf_alloc(NFT_NAME_MAX + 16);
	struct nftnl_expr *e;
	struct nlmsghdr *nlh;

	dl_nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	dl_nftnl_rule_set_str(r, NFTNL_RULE_TABLE, sp->table);
	dl_nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, sp->chain);
	e_meta(r, NFT_META_NFPROTO);
	e_cmp_u8(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	if (proto >= 0) {
		e_meta(r, NFT_META_L4PROTO);
		e_cmp_u8(r, (uint8_t)proto);
	}
	if (!sp->allports) {
		/* th dport: the destination port of every protocol we
		 * accept sits at offset 2 of its header */
		e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
		e_lookup(r, sp->portset);
	}
	if (v6)
		e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16);
	else
		e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	e_lookup(r, sp->sets[k]);
	dl_nftnl_rule_add_expr(r, dl_nftnl_expr_alloc("counter"));
	if (sp->verdict == NFT_V_DROP) {
		e = dl_nftnl_expr_alloc("immediate");
		dl_nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		dl_nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	} else {
		uint32_t type = v6 ? sp->reject_type6 : sp->reject_type4;
		uint32_t code = v6 ? sp->reject_code6 : sp->reject_code4;

		/* a TCP reset only makes sense for TCP packets */
		if (type == NFT_REJECT_TCP_RST && proto != IPPROTO_TCP) {
			type = NFT_REJECT_ICMPX_UNREACH;
			code = NFT_REJECT_ICMPX_PORT_UNREACH;
		}
		e = dl_nftnl_expr_alloc("reject");
		dl_nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
		dl_nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, (uint8_t)code);
	}
	dl_nftnl_rule_add_expr(r, e);
	dl_nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, sp->comment);
	dl_nftnl_rule_set_data(r, NFTNL_RULE_USERDATA,
	    dl_nftnl_udata_buf_data(ud), dl_nftnl_udata_buf_len(ud));
	nlh = nft_batch_obj_begin(b, NFT_MSG_NEWRULE, NFPROTO_INET,
	    NLM_F_CREATE | NLM_F_APPEND, 4096);
	dl_nftnl_rule_nlmsg_build_payload(nlh, r);
	nft_batch_obj_end(b, nlh, NFT_TAG_OBJECT);
	dl_nftnl_udata_buf_free(ud);
	dl_nftnl_rule_free(r);
}

static void
put_del_rule(struct nft_batch *b, const struct nft_spec *sp, uint64_t handle)
{
	struct nftnl_rule *r = dl_nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	dl_nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	dl_nftnl_rule_set_str(r, NFTNL_RULE_TABLE, sp->table);
	dl_nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, sp->chain);
	dl_nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nlh = nft_batch_obj_begin(b, NFT_MSG_DELRULE, NFPROTO_INET, 0, 1024);
	dl_nftnl_rule_nlmsg_build_payload(nlh, r);
	nft_batch_obj_end(b, nlh, NFT_TAG_OBJECT);
	dl_nftnl_rule_free(r);
}

/* Deletes a set, chain or table by name (they exist: we just saw them). */
static void
put_del_named(struct nft_batch *b, uint16_t type, const struct nft_spec *sp,
    const char *name)
{
	struct nlmsghdr *nlh;

	nlh = nft_batch_obj_begin(b, type, NFPROTO_INET, 0, 1024);
	if (type == NFT_MSG_DELSET) {
		struct nftnl_set *s = dl_nftnl_set_alloc();

		dl_nftnl_set_set_str(s, NFTNL_SET_TABLE, sp->table);
		dl_nftnl_set_set_str(s, NFTNL_SET_NAME, name);
		dl_nftnl_set_nlmsg_build_payload(nlh, s);
		dl_nftnl_set_free(s);
	} else if (type == NFT_MSG_DELCHAIN) {
		struct nftnl_chain *c = dl_nftnl_chain_alloc();

		dl_nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, sp->table);
		dl_nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
		dl_nftnl_chain_nlmsg_build_payload(nlh, c);
		dl_nftnl_chain_free(c);
	} else {
		struct nftnl_table *t = dl_nftnl_table_alloc();

		dl_nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
		dl_nftnl_table_nlmsg_build_payload(nlh, t);
		dl_nftnl_table_free(t);
	}
	nft_batch_obj_end(b, nlh, NFT_TAG_OBJECT);
}

void
nft_rules_setup(
    struct nft_batch *b, const struct nft_spec *sp, const struct nft_found *f)
{
	static const uint32_t keytype[NFT_SET_NADDR] = {
	    TYPE_IPADDR, TYPE_IP6ADDR, TYPE_IPADDR, TYPE_IP6ADDR};
	static const uint32_t keylen[NFT_SET_NADDR] = {4, 16, 4, 16};
	static const uint32_t flags[NFT_SET_NADDR] = {NFT_SET_TIMEOUT,
	    NFT_SET_TIMEOUT, NFT_SET_TIMEOUT | NFT_SET_INTERVAL,
	    NFT_SET_TIMEOUT | NFT_SET_INTERVAL};

	dl_nftnl_need();
	put_obj_table(b, sp);
	put_obj_chain(b, sp);
	for (int k = 0; k < NFT_SET_NADDR; k++)
		put_obj_set(b, sp, sp->sets[k], keytype[k], keylen[k], flags[k],
		    (uint32_t)k + 1);
	if (!sp->allports) {
		put_obj_set(b, sp, sp->portset, TYPE_INET_SERVICE, 2,
		    NFT_SET_INTERVAL, NFT_SET_NADDR + 1);
		nft_batch_flush_set(
		    b, NFPROTO_INET, sp->table, sp->portset, NFT_TAG_OBJECT);
		nft_batch_elems(
		    b, NFT_ELEM_ADD, NFPROTO_INET, sp->table, sp->portset);
		for (size_t i = 0; i < sp->nports; i++) {
			uint16_t lo = htons(sp->ports[i].lo);
			uint16_t end = htons((uint16_t)(sp->ports[i].hi + 1));

			nft_batch_interval(b, &lo,
			    sp->ports[i].hi == 65535 ? NULL : &end, 2, 0,
			    NFT_TAG_OBJECT);
		}
	}
	if (f != NULL)
		for (size_t i = 0; i < f->nours; i++)
			put_del_rule(b, sp, f->ours[i]);
	for (int k = 0; k < NFT_SET_NADDR; k++) {
		if (sp->nprotos == 0)
			put_rule(b, sp, (enum nft_setkind)k, -1);
		for (size_t p = 0; p < sp->nprotos; p++)
			put_rule(b, sp, (enum nft_setkind)k, sp->protos[p]);
	}
}

void
nft_rules_teardown(
    struct nft_batch *b, const struct nft_spec *sp, const struct nft_found *f)
{
	dl_nftnl_need();
	if (!f->table)
		return;
	if ((!f->chain || f->others == 0) && f->table_chains == 0 &&
	    f->table_sets == 0) {
		/* nothing else in the table: it goes with everything in it */
		put_del_named(b, NFT_MSG_DELTABLE, sp, sp->table);
		return;
	}
	for (size_t i = 0; i < f->nours; i++)
		put_del_rule(b, sp, f->ours[i]);
	for (int k = 0; k < NFT_SET_NADDR; k++)
		if (f->ours_sets & (1u << k))
			put_del_named(b, NFT_MSG_DELSET, sp, sp->sets[k]);
	if (f->ours_sets & (1u << NFT_SET_NADDR))
		put_del_named(b, NFT_MSG_DELSET, sp, sp->portset);
	if (f->chain && f->others == 0)
		put_del_named(b, NFT_MSG_DELCHAIN, sp, sp->chain);
}

void
nft_rules_flush(struct nft_batch *b, const struct nft_spec *sp)
{
	for (int k = 0; k < NFT_SET_NADDR; k++)
		nft_batch_flush_set(
		    b, NFPROTO_INET, sp->table, sp->sets[k], NFT_TAG_OBJECT);
}

/* ---------------------------------------------------------------------
 * Looking at the kernel.
 */

struct find_ctx {
	const struct nft_spec *sp;
	struct nft_found *f;
	size_t cap;
};

static int
udata_cb(const struct nftnl_udata *attr, void *data)
{
	const struct nftnl_udata **tb = data;

	if (dl_nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		tb[0] = attr;
	return 0;
}

static int
rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct find_ctx *fc = data;
	struct nftnl_rule *r = dl_nftnl_rule_alloc();
	const struct nftnl_udata *tb[1] = {NULL};
	const void *ud;
	uint32_t udlen = 0;
	bool ours = false;

	if (dl_nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		dl_nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	if (!dl_nftnl_rule_is_set(r, NFTNL_RULE_TABLE) ||
	    strcmp(dl_nftnl_rule_get_str(r, NFTNL_RULE_TABLE), fc->sp->table) !=
	        0 ||
	    !dl_nftnl_rule_is_set(r, NFTNL_RULE_CHAIN) ||
	    strcmp(dl_nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), fc->sp->chain) !=
	        0) {
		dl_nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	ud = dl_nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud != NULL && dl_nftnl_udata_parse(ud, udlen, udata_cb, tb) >= 0 &&
	    tb[0] != NULL) {
		const char *c = dl_nftnl_udata_get(tb[0]);
		uint32_t l = dl_nftnl_udata_len(tb[0]);

		ours = l == strlen(fc->sp->comment) + 1 &&
		    memcmp(c, fc->sp->comment, l) == 0;
	}
	if (ours) {
		xgrow(&fc->f->ours, &fc->cap, fc->f->nours + 1,
		    sizeof(*fc->f->ours));
		fc->f->ours[fc->f->nours++] =
		    dl_nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	} else {
		fc->f->others++;
	}
	dl_nftnl_rule_free(r);
	return MNL_CB_OK;
}

static int
chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct find_ctx *fc = data;
	struct nftnl_chain *c = dl_nftnl_chain_alloc();

	if (dl_nftnl_chain_nlmsg_parse(nlh, c) == 0 &&
	    dl_nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) == NFPROTO_INET &&
	    strcmp(dl_nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE),
	        fc->sp->table) == 0 &&
	    strcmp(dl_nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
	        fc->sp->chain) != 0)
		fc->f->table_chains++;
	dl_nftnl_chain_free(c);
	return MNL_CB_OK;
}

static int
set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct find_ctx *fc = data;
	struct nftnl_set *s = dl_nftnl_set_alloc();

	if (dl_nftnl_set_nlmsg_parse(nlh, s) == 0 &&
	    dl_nftnl_set_get_u32(s, NFTNL_SET_FAMILY) == NFPROTO_INET &&
	    strcmp(dl_nftnl_set_get_str(s, NFTNL_SET_TABLE), fc->sp->table) ==
	        0) {
		const char *n = dl_nftnl_set_get_str(s, NFTNL_SET_NAME);
		unsigned bit = 0;

		if (strcmp(n, fc->sp->portset) == 0)
			bit = 1u << NFT_SET_NADDR;
		for (int k = 0; k < NFT_SET_NADDR; k++)
			if (strcmp(n, fc->sp->sets[k]) == 0)
				bit = 1u << k;
		if (bit != 0)
			fc->f->ours_sets |= bit;
		else
			fc->f->table_sets++;
	}
	dl_nftnl_set_free(s);
	return MNL_CB_OK;
}

int
nft_rules_find(struct nft_sock *s, const struct nft_spec *sp, bool whole,
    struct nft_found *f, char *msg, size_t msglen)
{
	char buf[2048];
	struct nlmsghdr *nlh;
	struct find_ctx fc = {sp, f, 0};
	int rc;

	dl_nftnl_need();
	memset(f, 0, sizeof(*f));
	{
		struct nftnl_table *t = dl_nftnl_table_alloc();

		nlh = dl_nftnl_nlmsg_build_hdr(
		    buf, NFT_MSG_GETTABLE, NFPROTO_INET, 0, 0);
		dl_nftnl_table_set_str(t, NFTNL_TABLE_NAME, sp->table);
		dl_nftnl_table_nlmsg_build_payload(nlh, t);
		dl_nftnl_table_free(t);
		rc = nft_sock_request(s, nlh, NULL, NULL, msg, msglen);
		if (rc == -ENOENT)
			return 0;
		if (rc < 0)
			return rc;
		f->table = true;
	}
	{
		struct nftnl_chain *c = dl_nftnl_chain_alloc();

		nlh = dl_nftnl_nlmsg_build_hdr(
		    buf, NFT_MSG_GETCHAIN, NFPROTO_INET, 0, 0);
		dl_nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, sp->table);
		dl_nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, sp->chain);
		dl_nftnl_chain_nlmsg_build_payload(nlh, c);
		dl_nftnl_chain_free(c);
		rc = nft_sock_request(s, nlh, NULL, NULL, msg, msglen);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		f->chain = rc == 0;
	}
	if (f->chain) {
		struct nftnl_rule *r = dl_nftnl_rule_alloc();

		nlh = dl_nftnl_nlmsg_build_hdr(
		    buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, 0);
		dl_nftnl_rule_set_str(r, NFTNL_RULE_TABLE, sp->table);
		dl_nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, sp->chain);
		dl_nftnl_rule_nlmsg_build_payload(nlh, r);
		dl_nftnl_rule_free(r);
		rc = nft_sock_request(s, nlh, rule_cb, &fc, msg, msglen);
		if (rc < 0)
			return rc;
	}
	if (!whole)
		return 0;
	nlh = dl_nftnl_nlmsg_build_hdr(
	    buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP, 0);
	rc = nft_sock_request(s, nlh, chain_cb, &fc, msg, msglen);
	if (rc < 0)
		return rc;
	{
		struct nftnl_set *st = dl_nftnl_set_alloc();

		nlh = dl_nftnl_nlmsg_build_hdr(
		    buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP, 0);
		dl_nftnl_set_set_str(st, NFTNL_SET_TABLE, sp->table);
		dl_nftnl_set_nlmsg_build_payload(nlh, st);
		dl_nftnl_set_free(st);
		rc = nft_sock_request(s, nlh, set_cb, &fc, msg, msglen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void
nft_found_cleanup(struct nft_found *f)
{
	free(f->ours);
	memset(f, 0, sizeof(*f));
}
