/*
 * killconns (see nft_kill.h): one sock_diag dump of the TCP sockets per
 * family, matched against the batch's banned addresses, then one
 * SOCK_DESTROY request per matching socket, all sent in one go.
 */
#include <arpa/inet.h>

#include <linux/inet_diag.h>
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
