/*
 * Unit tests of the nftables backend's pure parts: the batch builder
 * (framing, element encoding, the 64 KiB split, intervals, timeouts and
 * their cap), the spec parsed from action properties (ports, protocols,
 * blocktype, hook, priority), and the messages setup/teardown produce.
 * Nothing here talks to the kernel; tests/integ/run-nft does.
 */
#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <endian.h>
#include <libmnl/libmnl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nft.h"
#include "nft_msg.h"
#include "nft_rules.h"
#include "tap.h"

/* ---- taking a batch apart ---- */

struct elem {
	uint8_t key[16];
	size_t klen;
	uint32_t flags;
	uint64_t timeout; /* 0: none */
};

struct msg {
	uint16_t type;
	uint16_t flags;
	uint32_t seq;
	uint32_t len;
	char table[64], set[64];
	bool has_list;
	size_t nest_len;
	struct elem *e;
	size_t ne;
};

struct parsed {
	struct msg *m;
	size_t n;
};

static int
elem_attr_cb(const struct nlattr *attr, void *data)
{
	struct elem *e = data;

	switch (mnl_attr_get_type(attr)) {
	case NFTA_SET_ELEM_KEY: {
		const struct nlattr *in = mnl_attr_get_payload(attr);

		if (mnl_attr_get_type(in) == NFTA_DATA_VALUE) {
			e->klen = mnl_attr_get_payload_len(in);
			if (e->klen <= sizeof(e->key))
				memcpy(
				    e->key, mnl_attr_get_payload(in), e->klen);
		}
		break;
	}
	case NFTA_SET_ELEM_FLAGS:
		e->flags = ntohl(mnl_attr_get_u32(attr));
		break;
	case NFTA_SET_ELEM_TIMEOUT:
		e->timeout = be64toh(mnl_attr_get_u64(attr));
		break;
	}
	return MNL_CB_OK;
}

static int
list_cb(const struct nlattr *attr, void *data)
{
	struct msg *m = data;

	if (mnl_attr_get_type(attr) != NFTA_LIST_ELEM)
		return MNL_CB_OK;
	m->e = realloc(m->e, (m->ne + 1) * sizeof(*m->e));
	memset(&m->e[m->ne], 0, sizeof(m->e[0]));
	mnl_attr_parse_nested(attr, elem_attr_cb, &m->e[m->ne]);
	m->ne++;
	return MNL_CB_OK;
}

static int
top_cb(const struct nlattr *attr, void *data)
{
	struct msg *m = data;

	switch (mnl_attr_get_type(attr)) {
	case NFTA_SET_ELEM_LIST_TABLE:
		snprintf(
		    m->table, sizeof(m->table), "%s", mnl_attr_get_str(attr));
		break;
	case NFTA_SET_ELEM_LIST_SET:
		snprintf(m->set, sizeof(m->set), "%s", mnl_attr_get_str(attr));
		break;
	case NFTA_SET_ELEM_LIST_ELEMENTS:
		m->has_list = true;
		m->nest_len = mnl_attr_get_len(attr);
		mnl_attr_parse_nested(attr, list_cb, m);
		break;
	}
	return MNL_CB_OK;
}

/* Splits b->buf into messages; element messages are decoded. */
static void
parse_batch(const struct nft_batch *b, struct parsed *p)
{
	const struct nlmsghdr *nlh = (const void *)b->buf;
	int left = (int)b->len;

	memset(p, 0, sizeof(*p));
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		struct msg *m;
		uint16_t sub = nlh->nlmsg_type >> 8;

		p->m = realloc(p->m, (p->n + 1) * sizeof(*p->m));
		m = &p->m[p->n++];
		memset(m, 0, sizeof(*m));
		m->type = sub == NFNL_SUBSYS_NFTABLES ? nlh->nlmsg_type & 0xff
		                                      : nlh->nlmsg_type;
		m->flags = nlh->nlmsg_flags;
		m->seq = nlh->nlmsg_seq;
		m->len = nlh->nlmsg_len;
		if (sub == NFNL_SUBSYS_NFTABLES &&
		    (m->type == NFT_MSG_NEWSETELEM ||
		        m->type == NFT_MSG_DELSETELEM ||
		        m->type == NFT_MSG_DESTROYSETELEM_))
			mnl_attr_parse(nlh, sizeof(struct nfgenmsg), top_cb, m);
	}
	ok(left == 0, "the batch is a whole number of messages");
}

static void
parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->m[i].e);
	free(p->m);
}

static size_t
count_type(const struct parsed *p, uint16_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		if (p->m[i].type == type)
			n++;
	return n;
}

static void
ip4(const char *s, uint8_t *out)
{
	inet_pton(AF_INET, s, out);
}

/* ---- the builder ---- */

static void
test_framing(void)
{
	struct nft_batch b;
	struct parsed p;
	uint8_t k[4];

	nft_batch_init(&b, 1000, 0);
	is_int(nft_batch_finish(&b), 0, "an empty batch has no messages");
	nft_batch_cleanup(&b);

	nft_batch_init(&b, 1000, 0);
	ip4("192.0.2.1", k);
	nft_batch_flush_set(&b, NFPROTO_INET, "warden", "addr4-x", 7);
	nft_batch_elems(&b, NFT_ELEM_ADD, NFPROTO_INET, "warden", "addr4-x");
	nft_batch_elem(&b, k, 4, 0, 60000, 0);
	is_int(nft_batch_finish(&b), 2, "flush + one element message");
	parse_batch(&b, &p);
	is_int(p.n, 4, "begin, 2 messages, end");
	is_int(p.m[0].type, NFNL_MSG_BATCH_BEGIN, "starts with BATCH_BEGIN");
	is_int(p.m[3].type, NFNL_MSG_BATCH_END, "ends with BATCH_END");
	is_int(p.m[0].seq, 1000, "begin has the first sequence number");
	ok(p.m[1].seq == 1001 && p.m[2].seq == 1002 && p.m[3].seq == 1003,
	    "sequence numbers follow each other");
	is_int(p.m[1].type, NFT_MSG_DELSETELEM, "a flush is DELSETELEM");
	ok(!p.m[1].has_list, "... without an element list");
	ok(!(p.m[1].flags & NLM_F_ACK), "only the last message asks for ACK");
	ok(p.m[2].flags & NLM_F_ACK, "the last message asks for an ACK");
	ok(p.m[2].flags & NLM_F_CREATE, "adds carry NLM_F_CREATE");
	ok(!(p.m[2].flags & NLM_F_EXCL), "... but not EXCL (dups are fine)");
	is_str(p.m[2].table, "warden", "element message names the table");
	is_str(p.m[2].set, "addr4-x", "... and the set");
	is_int(p.m[2].ne, 1, "one element");
	ok(p.m[2].e[0].klen == 4 && memcmp(p.m[2].e[0].key, k, 4) == 0,
	    "key is the address in network order");
	is_int(p.m[2].e[0].timeout, 60000, "timeout in milliseconds");
	is_int(p.m[2].e[0].flags, 0, "no flags on a plain element");
	ok(nft_batch_find(&b, 1001) == &b.msgs[0] &&
	        nft_batch_find(&b, 1002) == &b.msgs[1] &&
	        nft_batch_find(&b, 1000) == NULL &&
	        nft_batch_find(&b, 1003) == NULL,
	    "messages are found by sequence number");
	is_int(b.msgs[0].first, 7, "object messages keep their tag");
	parsed_free(&p);
	nft_batch_cleanup(&b);
}

static void
check_split(int family, size_t n, size_t msg_max, const char *what)
{
	struct nft_batch b;
	struct parsed p;
	size_t klen = family == AF_INET6 ? 16 : 4, total = 0, maxlen = 0;
	size_t maxnest = 0, nmsg = 0;
	bool order = true, cont = true;
	size_t next = 0;

	nft_batch_init(&b, 1, msg_max);
	nft_batch_elems(&b, NFT_ELEM_ADD, NFPROTO_INET, "warden", "s");
	for (size_t i = 0; i < n; i++) {
		uint8_t k[16] = {0};

		k[0] = 0x20;
		k[klen - 3] = (uint8_t)(i >> 16);
		k[klen - 2] = (uint8_t)(i >> 8);
		k[klen - 1] = (uint8_t)i;
		nft_batch_elem(&b, k, klen, 0, 3600000, i);
	}
	nft_batch_finish(&b);
	parse_batch(&b, &p);
	for (size_t i = 0; i < p.n; i++) {
		struct msg *m = &p.m[i];

		if (m->type != NFT_MSG_NEWSETELEM)
			continue;
		nmsg++;
		if (m->len > maxlen)
			maxlen = m->len;
		if (m->nest_len > maxnest)
			maxnest = m->nest_len;
		for (size_t e = 0; e < m->ne; e++) {
			size_t idx = ((size_t)m->e[e].key[klen - 3] << 16) |
			    ((size_t)m->e[e].key[klen - 2] << 8) |
			    m->e[e].key[klen - 1];

			if (idx != next++)
				order = false;
		}
		total += m->ne;
	}
	for (size_t i = 0; i < b.nmsgs; i++)
		if (i > 0 && b.msgs[i].first != b.msgs[i - 1].lastitem + 1)
			cont = false;
	is_int(total, n, "%s: every element is in the batch", what);
	ok(order, "%s: in the order given", what);
	ok(maxlen <= (msg_max ? msg_max : NFT_MSG_LIMIT),
	    "%s: no message over the cap (%zu bytes)", what, maxlen);
	ok(maxnest <= 0xffff, "%s: element nest fits its u16 length", what);
	ok(nmsg > 1, "%s: split into %zu messages", what, nmsg);
	ok(cont, "%s: messages record contiguous item ranges", what);
	is_int(b.nelems, n, "%s: element count kept", what);
	parsed_free(&p);
	nft_batch_cleanup(&b);
}

static void
test_split(void)
{
	check_split(AF_INET, 10000, 0, "10k IPv4 at 64 KiB");
	check_split(AF_INET6, 10000, 0, "10k IPv6 at 64 KiB");
	check_split(AF_INET, 100, 512, "100 IPv4 at 512 bytes");
	{
		/* a cap above the nest limit is lowered to it */
		struct nft_batch b;

		nft_batch_init(&b, 1, 1u << 20);
		is_int(b.msg_max, NFT_MSG_LIMIT, "cap is at most 64 KiB - 1");
		nft_batch_cleanup(&b);
		nft_batch_init(&b, 1, 10);
		is_int(b.msg_max, NFT_MSG_LIMIT_MIN, "tiny caps are raised");
		nft_batch_cleanup(&b);
	}
}

static void
test_intervals(void)
{
	struct nft_batch b;
	struct parsed p;
	uint8_t a[16], s[16], e[16];
	bool pairs = true;
	size_t total = 0;

	ip4("10.1.2.3", a);
	ok(nft_net_range(a, 4, 16, s, e), "a /16 has an end");
	ok(memcmp(s, "\x0a\x01\x00\x00", 4) == 0, "host bits cleared");
	ok(memcmp(e, "\x0a\x02\x00\x00", 4) == 0, "end is the next network");
	ip4("255.1.0.0", a);
	ok(!nft_net_range(a, 4, 8, s, e), "255.0.0.0/8 runs to the top");
	ok(!nft_net_range(a, 4, 0, s, e) && memcmp(s, "\0\0\0\0", 4) == 0,
	    "/0 is everything, no end");
	ip4("192.0.2.77", a);
	ok(nft_net_range(a, 4, 25, s, e) &&
	        memcmp(s, "\xc0\x00\x02\x00", 4) == 0 &&
	        memcmp(e, "\xc0\x00\x02\x80", 4) == 0,
	    "/25: .0 to .128");
	inet_pton(AF_INET6, "2001:db8:1:2::5", a);
	ok(nft_net_range(a, 16, 64, s, e), "IPv6 /64 has an end");
	{
		uint8_t want[16];

		inet_pton(AF_INET6, "2001:db8:1:3::", want);
		ok(memcmp(e, want, 16) == 0, "IPv6 /64 end is the next /64");
	}
	inet_pton(AF_INET6, "2001:db8:1:ffff:ffff:ffff:ffff:ffff", a);
	ok(nft_net_range(a, 16, 48, s, e), "carry through bytes");
	{
		uint8_t want[16];

		inet_pton(AF_INET6, "2001:db8:2::", want);
		ok(memcmp(e, want, 16) == 0, "... gives 2001:db8:2::");
	}

	nft_batch_init(&b, 1, 512);
	nft_batch_elems(&b, NFT_ELEM_ADD, NFPROTO_INET, "warden", "net4-x");
	for (int i = 0; i < 50; i++) {
		uint8_t st[4] = {10, (uint8_t)i, 0, 0},
		        en[4] = {10, (uint8_t)(i + 1), 0, 0};

		nft_batch_interval(&b, st, en, 4, 5000, (size_t)i);
	}
	ip4("255.0.0.0", s);
	nft_batch_interval(&b, s, NULL, 4, 0, 50);
	nft_batch_finish(&b);
	parse_batch(&b, &p);
	for (size_t i = 0; i < p.n; i++) {
		struct msg *m = &p.m[i];

		if (m->type != NFT_MSG_NEWSETELEM)
			continue;
		for (size_t k = 0; k < m->ne; k++) {
			bool is_end = m->e[k].flags & NFT_SET_ELEM_INTERVAL_END;
			bool last = m->e[k].key[0] == 255;

			total++;
			if (last) {
				if (is_end || m->e[k].timeout != 0)
					pairs = false;
				continue;
			}
			/* start (timeout, no flag) then its end (flag,
			 * no timeout), in the same message */
			if (!is_end &&
			    (k + 1 >= m->ne ||
			        !(m->e[k + 1].flags &
			            NFT_SET_ELEM_INTERVAL_END) ||
			        m->e[k].timeout != 5000 ||
			        m->e[k + 1].timeout != 0 ||
			        m->e[k + 1].key[1] != m->e[k].key[1] + 1))
				pairs = false;
		}
	}
	is_int(total, 101, "50 intervals (start + end) and one open one");
	ok(pairs, "start and end stay together; only the start times out");
	ok(b.nmsgs > 1, "small cap splits interval messages too");
	parsed_free(&p);
	nft_batch_cleanup(&b);
}

static void
test_timeouts(void)
{
	struct nft_batch b;
	struct parsed p;
	uint8_t k[4] = {192, 0, 2, 1};

	is_int(nft_timeout_ms(1.5), 1500, "1.5 s is 1500 ms");
	is_int(nft_timeout_ms(0.0001), 1, "rounded up to 1 ms");
	is_int(nft_timeout_ms(0), 1, "never 0 (0 would be permanent)");
	is_int(nft_timeout_ms(-5), 1, "negative: 1 ms");
	is_int(nft_timeout_ms(NAN), 1, "NaN: 1 ms");
	ok(nft_timeout_ms(1e30) == NFT_TIMEOUT_MAX_MS, "huge: capped");
	ok(nft_timeout_ms(INFINITY) == NFT_TIMEOUT_MAX_MS, "inf: capped");
	ok(NFT_TIMEOUT_MAX_MS < UINT64_MAX / 1000000,
	    "cap below the kernel's U64_MAX / NSEC_PER_MSEC");
	ok(NFT_TIMEOUT_MAX_MS / 1000 / 86400 / 365 > 500,
	    "cap is centuries, not years");

	nft_batch_init(&b, 1, 0);
	nft_batch_elems(&b, NFT_ELEM_ADD, NFPROTO_INET, "t", "s");
	nft_batch_elem(&b, k, 4, 0, UINT64_MAX, 0);
	nft_batch_elem(&b, k, 4, 0, 0, 1);
	nft_batch_elems(&b, NFT_ELEM_DESTROY, NFPROTO_INET, "t", "s");
	nft_batch_elem(&b, k, 4, 0, 5000, 2);
	nft_batch_elems(&b, NFT_ELEM_DEL, NFPROTO_INET, "t", "s");
	nft_batch_elem(&b, k, 4, 0, 5000, 3);
	nft_batch_finish(&b);
	parse_batch(&b, &p);
	ok(p.m[1].e[0].timeout == NFT_TIMEOUT_MAX_MS,
	    "an element's timeout is capped");
	is_int(p.m[1].e[1].timeout, 0, "no timeout: permanent element");
	is_int(p.m[2].type, NFT_MSG_DESTROYSETELEM_, "destroy message type");
	is_int(p.m[2].e[0].timeout, 0, "deletes carry no timeout");
	is_int(p.m[3].type, NFT_MSG_DELSETELEM, "delete message type");
	is_int(p.m[3].e[0].timeout, 0, "... nor plain deletes");
	ok(!(p.m[2].flags & NLM_F_CREATE), "deletes have no NLM_F_CREATE");
	parsed_free(&p);
	nft_batch_cleanup(&b);
}

/* ---- the spec ---- */

struct kvs {
	const char *const *kv; /* key, value, ..., NULL */
};

static const char *
get_kv(void *ctx, const char *key)
{
	const struct kvs *k = ctx;

	for (size_t i = 0; k->kv[i] != NULL; i += 2)
		if (strcmp(k->kv[i], key) == 0)
			return k->kv[i + 1];
	return NULL;
}

static int
parse(struct nft_spec *sp, char *err, const char *const *kv)
{
	struct kvs k = {kv};

	err[0] = '\0';
	return nft_spec_parse(sp, get_kv, &k, err, 256);
}

static void
test_spec(void)
{
	struct nft_spec sp;
	char err[256];
	int rc;

	rc = parse(&sp, err, (const char *const[]){NULL});
	is_int(rc, 0, "defaults parse");
	is_str(sp.table, "warden", "default table");
	is_str(sp.chain, "input", "default chain");
	ok(sp.hook == NF_INET_LOCAL_IN, "default hook input");
	is_int(sp.priority, -1, "default priority -1 (before firewalld)");
	ok(sp.nports == 1 && sp.ports[0].lo == 22 && sp.ports[0].hi == 22,
	    "default port ssh = 22");
	ok(sp.nprotos == 1 && sp.protos[0] == IPPROTO_TCP, "default tcp");
	ok(sp.verdict == NFT_V_REJECT &&
	        sp.reject_type4 == NFT_REJECT_ICMPX_UNREACH &&
	        sp.reject_code4 == NFT_REJECT_ICMPX_PORT_UNREACH,
	    "default reject: icmpx port-unreachable");
	is_str(sp.sets[NFT_SET_ADDR4], "addr4-default", "set names");
	is_str(sp.sets[NFT_SET_NET6], "net6-default", "... net6");
	is_str(sp.portset, "port-default", "... ports");
	is_str(sp.comment, "warden:default", "rule comment");
	nft_spec_cleanup(&sp);

	rc = parse(&sp, err,
	    (const char *const[]){"name", "sshd", "port",
	        "http, 1000:2000,1500-2500 ,https,80", "protocol", "tcp,udp",
	        "blocktype", "DROP", "chain", "INPUT", "chain_priority",
	        "filter - 10", "table", "f2b", NULL});
	is_int(rc, 0, "a full spec parses (%s)", err);
	ok(sp.nports == 3 && sp.ports[0].lo == 80 && sp.ports[0].hi == 80 &&
	        sp.ports[1].lo == 443 && sp.ports[1].hi == 443 &&
	        sp.ports[2].lo == 1000 && sp.ports[2].hi == 2500,
	    "ports sorted, duplicates and overlaps merged");
	ok(sp.nprotos == 2 && sp.protos[1] == IPPROTO_UDP, "two protocols");
	ok(sp.verdict == NFT_V_DROP, "DROP (iptables spelling) is drop");
	is_str(sp.chain, "INPUT", "chain name kept as given");
	is_int(sp.priority, -10, "filter - 10");
	is_str(sp.comment, "warden:sshd", "comment names the jail");
	nft_spec_cleanup(&sp);

	rc = parse(&sp, err, (const char *const[]){"port", "1:2,3,5:6", NULL});
	ok(rc == 0 && sp.nports == 2 && sp.ports[0].lo == 1 &&
	        sp.ports[0].hi == 3 && sp.ports[1].lo == 5,
	    "adjacent ranges merge");
	nft_spec_cleanup(&sp);

	rc = parse(&sp, err,
	    (const char *const[]){"type", "allports", "protocol", "all", NULL});
	ok(rc == 0 && sp.allports && sp.nprotos == 0,
	    "allports with protocol all: every packet");
	nft_spec_cleanup(&sp);

	rc = parse(&sp, err,
	    (const char *const[]){"blocktype", "reject with tcp reset", NULL});
	ok(rc == 0 && sp.reject_type4 == NFT_REJECT_TCP_RST &&
	        sp.reject_type6 == NFT_REJECT_TCP_RST,
	    "reject with tcp reset");
	nft_spec_cleanup(&sp);
	rc = parse(&sp, err,
	    (const char *const[]){
	        "blocktype", "reject with icmpx type admin-prohibited", NULL});
	ok(rc == 0 && sp.reject_code6 == NFT_REJECT_ICMPX_ADMIN_PROHIBITED,
	    "reject with icmpx type admin-prohibited");
	nft_spec_cleanup(&sp);
	rc = parse(&sp, err,
	    (const char *const[]){
	        "blocktype", "reject with icmp host-unreachable", NULL});
	ok(rc == 0 && sp.reject_type4 == NFT_REJECT_ICMP_UNREACH &&
	        sp.reject_code4 == 1 &&
	        sp.reject_type6 == NFT_REJECT_ICMPX_UNREACH,
	    "reject with icmp X: IPv4 only, IPv6 keeps icmpx");
	nft_spec_cleanup(&sp);
	rc = parse(
	    &sp, err, (const char *const[]){"chain_priority", "raw", NULL});
	ok(rc == 0 && sp.priority == -300, "named priority raw = -300");
	nft_spec_cleanup(&sp);
	rc = parse(
	    &sp, err, (const char *const[]){"chain_hook", "forward", NULL});
	ok(rc == 0 && sp.hook == NF_INET_FORWARD, "hook forward");
	nft_spec_cleanup(&sp);

	static const struct {
		const char *k, *v, *want;
	} bad[] = {
	    {"port", "nosuchservice", "port 'nosuchservice'"},
	    {"port", "2000:1000", "port range '2000:1000'"},
	    {"port", "70000", "port '70000'"},
	    {"protocol", "icmpish", "protocol 'icmpish'"},
	    {"protocol", "all", "type multiport needs a protocol"},
	    {"blocktype", "reject with something", "blocktype"},
	    {"blocktype", "accept", "blocktype 'accept'"},
	    {"table_family", "ip", "table_family 'ip' is not supported"},
	    {"chain_type", "nat", "chain_type 'nat'"},
	    {"chain_hook", "ingress", "chain_hook 'ingress'"},
	    {"chain_priority", "fast", "chain_priority 'fast'"},
	    {"type", "custom", "type 'custom'"},
	    {"table", "my table", "table 'my table'"},
	    {"name", "a\"b", "name 'a\"b'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = parse(
		    &sp, err, (const char *const[]){bad[i].k, bad[i].v, NULL});
		ok(rc < 0 && strstr(err, bad[i].want) != NULL,
		    "%s = %s refused: %s", bad[i].k, bad[i].v, err);
	}
}

/* ---- setup and teardown messages ---- */

static void
test_setup_teardown(void)
{
	struct nft_spec sp;
	struct nft_batch b;
	struct nft_found f;
	struct parsed p;
	char err[256];
	uint64_t handles[3] = {11, 12, 13};

	parse(&sp, err,
	    (const char *const[]){"name", "web", "port", "http,https",
	        "protocol", "tcp,udp", NULL});
	memset(&f, 0, sizeof(f));
	f.ours = handles;
	f.nours = 3;
	nft_batch_init(&b, 1, 0);
	nft_rules_setup(&b, &sp, &f);
	nft_batch_finish(&b);
	parse_batch(&b, &p);
	is_int(count_type(&p, NFT_MSG_NEWTABLE), 1, "setup: the table");
	is_int(count_type(&p, NFT_MSG_NEWCHAIN), 1, "setup: the chain");
	is_int(count_type(&p, NFT_MSG_NEWSET), 5, "setup: five sets");
	is_int(count_type(&p, NFT_MSG_DELRULE), 3,
	    "setup: an earlier run's rules deleted");
	is_int(count_type(&p, NFT_MSG_NEWRULE), 8,
	    "setup: 4 sets x 2 protocols = 8 rules");
	{
		size_t ports = 0;

		for (size_t i = 0; i < p.n; i++)
			if (p.m[i].type == NFT_MSG_NEWSETELEM &&
			    strcmp(p.m[i].set, "port-web") == 0)
				ports += p.m[i].ne;
		is_int(ports, 4, "setup: ports 80 and 443 as two intervals");
	}
	parsed_free(&p);
	nft_batch_cleanup(&b);

	/* nothing else in the table: one DELTABLE */
	memset(&f, 0, sizeof(f));
	f.table = f.chain = true;
	f.ours = handles;
	f.nours = 3;
	f.ours_sets = 0x1f;
	nft_batch_init(&b, 1, 0);
	nft_rules_teardown(&b, &sp, &f);
	nft_batch_finish(&b);
	parse_batch(&b, &p);
	ok(count_type(&p, NFT_MSG_DELTABLE) == 1 && p.n == 3,
	    "teardown alone in the table: delete the table");
	parsed_free(&p);
	nft_batch_cleanup(&b);

	/* another jail's rules in the chain: keep chain and table */
	f.others = 4;
	nft_batch_init(&b, 1, 0);
	nft_rules_teardown(&b, &sp, &f);
	nft_batch_finish(&b);
	parse_batch(&b, &p);
	ok(count_type(&p, NFT_MSG_DELTABLE) == 0 &&
	        count_type(&p, NFT_MSG_DELCHAIN) == 0 &&
	        count_type(&p, NFT_MSG_DELRULE) == 3 &&
	        count_type(&p, NFT_MSG_DELSET) == 5,
	    "teardown in a shared chain: only our rules and sets");
	parsed_free(&p);
	nft_batch_cleanup(&b);

	/* another chain in the table: our chain goes, the table stays */
	f.others = 0;
	f.table_chains = 1;
	f.ours_sets = 0x03; /* only two of our sets still exist */
	nft_batch_init(&b, 1, 0);
	nft_rules_teardown(&b, &sp, &f);
	nft_batch_finish(&b);
	parse_batch(&b, &p);
	ok(count_type(&p, NFT_MSG_DELTABLE) == 0 &&
	        count_type(&p, NFT_MSG_DELCHAIN) == 1 &&
	        count_type(&p, NFT_MSG_DELSET) == 2,
	    "teardown: missing sets are not deleted, empty chain is");
	parsed_free(&p);
	nft_batch_cleanup(&b);

	nft_batch_init(&b, 1, 0);
	nft_rules_flush(&b, &sp);
	nft_batch_finish(&b);
	parse_batch(&b, &p);
	is_int(count_type(&p, NFT_MSG_DELSETELEM), 4,
	    "flush: the four address sets");
	parsed_free(&p);
	nft_batch_cleanup(&b);
	nft_spec_cleanup(&sp);

	ok(nft_setkind_for(AF_INET, 32) == NFT_SET_ADDR4 &&
	        nft_setkind_for(AF_INET, 24) == NFT_SET_NET4 &&
	        nft_setkind_for(AF_INET6, 128) == NFT_SET_ADDR6 &&
	        nft_setkind_for(AF_INET6, 64) == NFT_SET_NET6,
	    "single addresses in hash sets, networks in interval sets");
}

static void
test_builtin(void)
{
	const char *t = nft_builtin_file("action.d/warden-nft.conf");

	ok(t != NULL && strstr(t, "warden_backend = nftables") != NULL,
	    "built-in warden-nft selects the backend");
	ok(t != NULL && strstr(t, "type = multiport") != NULL, "... multiport");
	t = nft_builtin_file("action.d/warden-nft-allports.conf");
	ok(t != NULL && strstr(t, "type = allports") != NULL,
	    "built-in warden-nft-allports");
	ok(nft_builtin_file("action.d/nftables.conf") == NULL,
	    "fail2ban's own names are not shadowed");
}

int
main(void)
{
	test_framing();
	test_split();
	test_intervals();
	test_timeouts();
	test_spec();
	test_setup_teardown();
	test_builtin();
	return done_testing();
}
