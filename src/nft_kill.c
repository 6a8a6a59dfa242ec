/*
 * killconns (see nft_kill.h): one sock_diag dump of the TCP sockets per
 * family, matched against the batch's banned addresses, then one
 * SOCK_DESTROY request per matching socket, all sent in one go; and one
 * ctnetlink dump of the conntrack table, then one delete per flow that
 * the banned addresses opened to the jail's ports.
 */
#include <arpa/inet.h>

#include <linux/inet_diag.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/sock_diag.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "nft_kill.h"
#include "nft_rules.h"
#include "xmalloc.h"

/* Connection states worth ending: not LISTEN, TIME_WAIT, CLOSE. */
#define KILL_STATES                                                            \
	((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |           \
	    (1u << 8) | (1u << 9) | (1u << 11))

struct victim {
	uint8_t family;
	uint8_t state;
	struct inet_diag_sockid id;
};

struct kill_ctx {
	const struct addr *single; /* sorted */
	size_t nsingle;
	const struct addr *nets;
	size_t nnets;
	const struct nft_spec *sp;
	struct victim *v;
	size_t n, cap;
	uint8_t family; /* of the dump */
};

static int
addr_cmp(const void *a, const void *b)
{
	const struct addr *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->b, y->b, 16);
}

static bool
port_ok(const struct nft_spec *sp, uint16_t port)
{
	if (sp->allports)
		return true;
	for (size_t i = 0; i < sp->nports; i++)
		if (port >= sp->ports[i].lo && port <= sp->ports[i].hi)
			return true;
	return false;
}

static bool
banned(const struct kill_ctx *k, const struct addr *peer)
{
	if (bsearch(peer, k->single, k->nsingle, sizeof(*peer), addr_cmp))
		return true;
	for (size_t i = 0; i < k->nnets; i++)
		if (addr_contains(&k->nets[i], peer))
			return true;
	return false;
}

static int
dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct kill_ctx *k = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct addr peer;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	if (!port_ok(k->sp, ntohs(m->id.idiag_sport)))
		return MNL_CB_OK;
	memset(&peer, 0, sizeof(peer));
	if (m->idiag_family == AF_INET) {
		peer.family = AF_INET;
		peer.prefix = 32;
		memcpy(peer.b, m->id.idiag_dst, 4);
	} else {
		static const uint8_t mapped[12] = {
		    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(m->id.idiag_dst, mapped, 12) == 0) {
			peer.family = AF_INET;
			peer.prefix = 32;
			memcpy(
			    peer.b, (const uint8_t *)m->id.idiag_dst + 12, 4);
		} else {
			peer.family = AF_INET6;
			peer.prefix = 128;
			memcpy(peer.b, m->id.idiag_dst, 16);
		}
	}
	if (!banned(k, &peer))
		return MNL_CB_OK;
	xgrow(&k->v, &k->cap, k->n + 1, sizeof(*k->v));
	k->v[k->n].family = m->idiag_family;
	k->v[k->n].state = m->idiag_state;
	k->v[k->n].id = m->id;
	k->n++;
	return MNL_CB_OK;
}

/* Runs requests seq..last on nl until the last is answered; 0 or
 * -errno. With acked (destroys) every success is counted there and the
 * first error other than ENOENT (the socket closed meanwhile) goes to
 * *fail. */
static int
talk(struct mnl_socket *nl, const void *buf, size_t len, uint32_t seq,
    uint32_t last, mnl_cb_t cb, void *data, long *acked, int *fail)
{
	static char rx[1 << 16];
	uint32_t portid = mnl_socket_get_portid(nl);

	if (mnl_socket_sendto(nl, buf, len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, rx, sizeof(rx));
		const struct nlmsghdr *nlh;
		int left;

		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)rx; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq < seq || nlh->nlmsg_seq > last ||
			    (nlh->nlmsg_pid != portid && nlh->nlmsg_pid != 0))
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e =
				    mnl_nlmsg_get_payload(nlh);

				if (acked == NULL)
					return e->error;
				if (e->error == 0)
					(*acked)++;
				else if (e->error != -ENOENT && *fail == 0)
					*fail = e->error;
				if (nlh->nlmsg_seq == last)
					return 0;
				continue;
			}
			if (cb != NULL)
				cb(nlh, data);
		}
	}
}

long
nft_kill_conns(const struct addr *addrs, size_t n, const struct nft_spec *sp,
    char *err, size_t errlen)
{
	struct kill_ctx k;
	struct addr *single = xcalloc(n ? n : 1, sizeof(*single));
	struct addr *nets = xcalloc(n ? n : 1, sizeof(*nets));
	struct mnl_socket *nl = NULL;
	struct timeval tv = {5, 0};
	uint32_t seq = 1;
	long killed = 0;
	bool tcp = sp->nprotos == 0;
	int rc = 0, fail = 0;

	for (size_t i = 0; i < sp->nprotos; i++)
		if (sp->protos[i] == IPPROTO_TCP)
			tcp = true;
	memset(&k, 0, sizeof(k));
	for (size_t i = 0; i < n; i++) {
		struct addr a = addrs[i];

		if (a.prefix < (a.family == AF_INET6 ? 128 : 32)) {
			nets[k.nnets++] = a;
		} else {
			a.prefix = a.family == AF_INET6 ? 128 : 32;
			single[k.nsingle++] = a;
		}
	}
	if (!tcp || n == 0)
		goto out;
	qsort(single, k.nsingle, sizeof(*single), addr_cmp);
	k.single = single;
	k.nets = nets;
	k.sp = sp;
	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "sock_diag socket: %s", strerror(errno));
		killed = -1;
		goto out;
	}
	(void)setsockopt(
	    mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int f = 0; f < 2; f++) {
		char buf[256];
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct inet_diag_req_v2 *r;

		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = seq;
		r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
		r->sdiag_family = f == 0 ? AF_INET : AF_INET6;
		r->sdiag_protocol = IPPROTO_TCP;
		r->idiag_states = KILL_STATES;
		k.family = r->sdiag_family;
		rc = talk(
		    nl, buf, nlh->nlmsg_len, seq, seq, dump_cb, &k, NULL, NULL);
		seq++;
		if (rc < 0) {
			snprintf(
			    err, errlen, "sock_diag dump: %s", strerror(-rc));
			killed = -1;
			goto out;
		}
	}
	/* the destroy requests, in chunks of one buffer */
	for (size_t i = 0; i < k.n;) {
		size_t cap = 64 * 1024, len = 0;
		char *buf = xmalloc(cap);
		uint32_t first = seq;

		for (; i < k.n && len + 256 < cap; i++) {
			struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + len);
			struct inet_diag_req_v2 *r;

			nlh->nlmsg_type = SOCK_DESTROY;
			nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
			nlh->nlmsg_seq = seq++;
			r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
			r->sdiag_family = k.v[i].family;
			r->sdiag_protocol = IPPROTO_TCP;
			r->idiag_states = 1u << k.v[i].state;
			r->id = k.v[i].id;
			len += nlh->nlmsg_len;
		}
		rc = talk(
		    nl, buf, len, first, seq - 1, NULL, NULL, &killed, &fail);
		free(buf);
		if (rc == 0 && fail != 0 && killed == 0)
			rc = fail;
		if (rc < 0) {
			snprintf(err, errlen, "socket destroy: %s%s",
			    strerror(-rc),
			    rc == -EOPNOTSUPP ? " (kernel without "
			                        "CONFIG_INET_DIAG_DESTROY)"
			                      : "");
			killed = -1;
			goto out;
		}
	}
out:
	if (nl != NULL)
		mnl_socket_close(nl);
	free(k.v);
	free(single);
	free(nets);
	return killed;
}

/* ---------------------------------------------------------------------
 * Conntrack: flows a banned address opened (forwarded, NATed, or local
 * UDP/TCP state), deleted through ctnetlink with libmnl (no
 * libnetfilter_conntrack: a dump and a delete need a few attributes).
 */

struct ct_flow {
	uint8_t family;
	uint16_t zone; /* host order; 0 when none */
	bool has_zone;
	uint32_t id; /* network order as the kernel sends it */
	bool has_id;
	char orig[128]; /* the CTA_TUPLE_ORIG attribute as received */
	size_t orig_len;
};

struct ct_ctx {
	struct kill_ctx *k;
	struct ct_flow *v;
	size_t n, cap;
};

static bool
proto_ok(const struct nft_spec *sp, uint8_t proto)
{
	if (sp->nprotos == 0)
		return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
		    proto == IPPROTO_SCTP;
	for (size_t i = 0; i < sp->nprotos; i++)
		if (sp->protos[i] == proto)
			return true;
	return false;
}

/* Fills tb (CTA_X_MAX + 1 slots) with the nested attributes of a. */
struct nest_tb {
	const struct nlattr **tb;
	unsigned max;
};

static int
nest_cb(const struct nlattr *a, void *data)
{
	struct nest_tb *t = data;
	unsigned type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static void
parse_nest(const struct nlattr *a, const struct nlattr **tb, unsigned max)
{
	struct nest_tb t = {tb, max};

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (a != NULL)
		(void)mnl_attr_parse_nested(a, nest_cb, &t);
}

static int
ct_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_ctx *c = data;
	const struct nlattr *tb[CTA_MAX + 1], *tt[CTA_TUPLE_MAX + 1];
	const struct nlattr *ti[CTA_IP_MAX + 1], *tp[CTA_PROTO_MAX + 1];
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct nest_tb t = {tb, CTA_MAX};
	struct addr src;
	uint8_t proto;
	uint16_t dport;

	if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
		return MNL_CB_OK;
	memset(tb, 0, sizeof(tb));
	if (mnl_attr_parse(nlh, sizeof(*g), nest_cb, &t) < 0 ||
	    tb[CTA_TUPLE_ORIG] == NULL)
		return MNL_CB_OK;
	parse_nest(tb[CTA_TUPLE_ORIG], tt, CTA_TUPLE_MAX);
	parse_nest(tt[CTA_TUPLE_IP], ti, CTA_IP_MAX);
	parse_nest(tt[CTA_TUPLE_PROTO], tp, CTA_PROTO_MAX);
	if (tp[CTA_PROTO_NUM] == NULL || tp[CTA_PROTO_DST_PORT] == NULL)
		return MNL_CB_OK;
	proto = mnl_attr_get_u8(tp[CTA_PROTO_NUM]);
	dport = ntohs(mnl_attr_get_u16(tp[CTA_PROTO_DST_PORT]));
	if (!proto_ok(c->k->sp, proto) || !port_ok(c->k->sp, dport))
		return MNL_CB_OK;
	memset(&src, 0, sizeof(src));
	if (ti[CTA_IP_V4_SRC] != NULL &&
	    mnl_attr_get_payload_len(ti[CTA_IP_V4_SRC]) == 4) {
		src.family = AF_INET;
		src.prefix = 32;
		memcpy(src.b, mnl_attr_get_payload(ti[CTA_IP_V4_SRC]), 4);
	} else if (ti[CTA_IP_V6_SRC] != NULL &&
	    mnl_attr_get_payload_len(ti[CTA_IP_V6_SRC]) == 16) {
		src.family = AF_INET6;
		src.prefix = 128;
		memcpy(src.b, mnl_attr_get_payload(ti[CTA_IP_V6_SRC]), 16);
	} else {
		return MNL_CB_OK;
	}
	if (!banned(c->k, &src) ||
	    tb[CTA_TUPLE_ORIG]->nla_len > sizeof(c->v[0].orig))
		return MNL_CB_OK;
	xgrow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	c->v[c->n].family = g->nfgen_family;
	c->v[c->n].orig_len = tb[CTA_TUPLE_ORIG]->nla_len;
	memcpy(c->v[c->n].orig, tb[CTA_TUPLE_ORIG], c->v[c->n].orig_len);
	if (tb[CTA_ID] != NULL) {
		c->v[c->n].has_id = true;
		c->v[c->n].id = mnl_attr_get_u32(tb[CTA_ID]);
	}
	if (tb[CTA_ZONE] != NULL) {
		c->v[c->n].has_zone = true;
		c->v[c->n].zone = ntohs(mnl_attr_get_u16(tb[CTA_ZONE]));
	}
	c->n++;
	return MNL_CB_OK;
}

static struct nlmsghdr *
ct_header(
    char *buf, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

long
nft_kill_conntrack(const struct addr *addrs, size_t n,
    const struct nft_spec *sp, char *err, size_t errlen)
{
	struct kill_ctx k;
	struct ct_ctx c;
	struct addr *single = xcalloc(n ? n : 1, sizeof(*single));
	struct addr *nets = xcalloc(n ? n : 1, sizeof(*nets));
	struct mnl_socket *nl = NULL;
	struct timeval tv = {5, 0};
	uint32_t seq = 1;
	long deleted = 0;
	int rc, fail = 0;
	bool has4 = false, has6 = false;
	uint8_t family;

	memset(&k, 0, sizeof(k));
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < n; i++) {
		struct addr a = addrs[i];

		if (a.family == AF_INET6)
			has6 = true;
		else
			has4 = true;
		if (a.prefix < (a.family == AF_INET6 ? 128 : 32)) {
			nets[k.nnets++] = a;
		} else {
			a.prefix = a.family == AF_INET6 ? 128 : 32;
			single[k.nsingle++] = a;
		}
	}
	if (n == 0)
		goto out;
	qsort(single, k.nsingle, sizeof(*single), addr_cmp);
	k.single = single;
	k.nets = nets;
	k.sp = sp;
	c.k = &k;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "ctnetlink socket: %s", strerror(errno));
		deleted = -1;
		goto out;
	}
	(void)setsockopt(
	    mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/*
	 * One dump of the families banned: every dump walks the whole
	 * conntrack hash (shared by all namespaces and sized by the host's
	 * memory: 262144 buckets on the bench VM) whatever the family
	 * asked, so a batch of IPv4 addresses does not pay for a second
	 * walk. An entry's source is
	 * of its own family (IPv4-mapped traffic is IPv4 on the wire), so
	 * no entry of another family can be banned. AF_UNSPEC: both.
	 */
	family = has4 && has6 ? AF_UNSPEC : has6 ? AF_INET6 : AF_INET;
	{
		char buf[256];
		struct nlmsghdr *nlh =
		    ct_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq, family);

		rc = talk(
		    nl, buf, nlh->nlmsg_len, seq, seq, ct_cb, &c, NULL, NULL);
		seq++;
		if (rc == -ENOENT || rc == -EOPNOTSUPP ||
		    rc == -EPROTONOSUPPORT || rc == -EAFNOSUPPORT)
			goto out; /* no conntrack in this kernel or netns */
		if (rc < 0) {
			snprintf(
			    err, errlen, "conntrack dump: %s", strerror(-rc));
			deleted = -1;
			goto out;
		}
	}
	for (size_t i = 0; i < c.n;) {
		size_t cap = 64 * 1024, len = 0;
		char *buf = xmalloc(cap);
		uint32_t first = seq;

		for (; i < c.n && len + 512 < cap; i++) {
			struct nlmsghdr *nlh =
			    ct_header(buf + len, IPCTNL_MSG_CT_DELETE,
			        NLM_F_ACK, seq++, c.v[i].family);
			size_t al = MNL_ALIGN(c.v[i].orig_len);

			memcpy(mnl_nlmsg_get_payload_tail(nlh), c.v[i].orig,
			    c.v[i].orig_len);
			memset((char *)mnl_nlmsg_get_payload_tail(nlh) +
			        c.v[i].orig_len,
			    0, al - c.v[i].orig_len);
			nlh->nlmsg_len += (uint32_t)al;
			if (c.v[i].has_id)
				mnl_attr_put_u32(nlh, CTA_ID, c.v[i].id);
			if (c.v[i].has_zone)
				mnl_attr_put_u16(
				    nlh, CTA_ZONE, htons(c.v[i].zone));
			len += nlh->nlmsg_len;
		}
		rc = talk(
		    nl, buf, len, first, seq - 1, NULL, NULL, &deleted, &fail);
		free(buf);
		if (rc == 0 && fail != 0 && deleted == 0)
			rc = fail;
		if (rc < 0) {
			snprintf(
			    err, errlen, "conntrack delete: %s", strerror(-rc));
			deleted = -1;
			goto out;
		}
	}
out:
	if (nl != NULL)
		mnl_socket_close(nl);
	free(c.v);
	free(single);
	free(nets);
	return deleted;
}
