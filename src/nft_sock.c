/*
 * The nftables netlink socket (see nft_sock.h): batch commit with error
 * collection, GET requests and dumps through libmnl.
 */
#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "nft_msg.h"
#include "nft_sock.h"
#include "xmalloc.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* Answers are small (errors carry only the failed header: CAP_ACK). */
#define RXBUF (64 * 1024)
/* Seconds to wait for an answer the kernel should already have sent. */
#define ANSWER_TIMEOUT 10

struct nft_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	int sndbuf; /* bytes we asked for last */
	uint8_t *rx;
};

struct nft_sock *
nft_sock_open(char *err, size_t errlen)
{
	struct nft_sock *s;
	int one = 1;
	struct timeval tv = {ANSWER_TIMEOUT, 0};
	int fd;

	s = xcalloc(1, sizeof(*s));
	s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (s->nl == NULL) {
		snprintf(err, errlen, "netlink socket: %s", strerror(errno));
		free(s);
		return NULL;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "netlink bind: %s", strerror(errno));
		mnl_socket_close(s->nl);
		free(s);
		return NULL;
	}
	fd = mnl_socket_get_fd(s->nl);
	/* both are optional: older kernels just give plainer errors */
	(void)mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)time(NULL);
	s->rx = xmalloc(RXBUF);
	return s;
}

void
nft_sock_close(struct nft_sock *s)
{
	if (s == NULL)
		return;
	mnl_socket_close(s->nl);
	free(s->rx);
	free(s);
}

uint32_t
nft_sock_seq(struct nft_sock *s, uint32_t n)
{
	uint32_t first = s->seq;

	s->seq += n;
	return first;
}

/* The extended ack text of an error message, if any. */
static void
ext_ack_msg(const struct nlmsghdr *nlh, char *out, size_t outlen)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);
	const struct nlattr *attr;

	out[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (MNL_NLMSG_HDRLEN + off > nlh->nlmsg_len)
		return;
	mnl_attr_for_each_payload((const void *)((const uint8_t *)e + off),
	    nlh->nlmsg_len - MNL_NLMSG_HDRLEN - off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(out, outlen, "%s", mnl_attr_get_str(attr));
			return;
		}
	}
}

static void
add_err(struct nft_errs *e, uint32_t seq, int error, const struct nlmsghdr *nlh)
{
	if (e->n < NFT_ERRS_MAX) {
		struct nft_err *x = &e->v[e->n];

		x->seq = seq;
		x->error = error;
		ext_ack_msg(nlh, x->msg, sizeof(x->msg));
	}
	e->n++;
}

static void
sys_err(struct nft_errs *e, int err, const char *where)
{
	e->sys = err;
	snprintf(e->where, sizeof(e->where), "%s", where);
}

/* SO_SNDBUF must hold the whole batch (netlink refuses len > sndbuf). */
static void
size_sndbuf(struct nft_sock *s, size_t len)
{
	int fd = mnl_socket_get_fd(s->nl);
	int want;

	if (len + 4096 <= (size_t)s->sndbuf || len > (size_t)1 << 30)
		return;
	want = (int)(len + 4096);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(
		    fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	s->sndbuf = want;
}

int
nft_sock_commit(struct nft_sock *s, struct nft_batch *b, struct nft_errs *e)
{
	uint32_t last, first;
	ssize_t n;

	memset(e, 0, sizeof(*e));
	if (nft_batch_finish(b) == 0)
		return 0;
	first = b->seq_first;
	last = b->msgs[b->nmsgs - 1].seq;
	size_sndbuf(s, b->len);
	n = mnl_socket_sendto(s->nl, b->buf, b->len);
	if (n < 0) {
		sys_err(e, errno, "sendmsg");
		return -1;
	}
	/* Read until the answer to the last message (its ACK or its error),
	 * or an error about the batch as a whole (its begin message). */
	for (;;) {
		const struct nlmsghdr *nlh;
		int left;

		n = mnl_socket_recvfrom(s->nl, s->rx, RXBUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sys_err(e, errno,
			    errno == EAGAIN || errno == EWOULDBLOCK
			        ? "no answer"
			        : "recvmsg");
			return -1;
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)s->rx;
		     mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *ne;
			uint32_t seq = nlh->nlmsg_seq;

			if (nlh->nlmsg_pid != s->portid && nlh->nlmsg_pid != 0)
				continue;
			if (seq < first || seq >= b->seq_next)
				continue; /* stale: an older request */
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*ne))
				continue;
			ne = mnl_nlmsg_get_payload(nlh);
			if (ne->error != 0)
				add_err(e, seq, -ne->error, nlh);
			if (seq == last || (seq == first && ne->error != 0))
				return e->n > 0 ? -1 : 0;
		}
	}
}

int
nft_sock_request(struct nft_sock *s, struct nlmsghdr *req, mnl_cb_t cb,
    void *data, char *msg, size_t msglen)
{
	uint32_t seq = nft_sock_seq(s, 1);
	ssize_t n;
	int rc = 0;

	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	req->nlmsg_seq = seq;
	req->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(s->nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		const struct nlmsghdr *nlh;
		int left;

		n = mnl_socket_recvfrom(s->nl, s->rx, RXBUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)s->rx;
		     mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE)
				return rc;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *ne =
				    mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_len <
				    MNL_NLMSG_HDRLEN + sizeof(*ne))
					return -EPROTO;
				if (ne->error != 0 && msg != NULL)
					ext_ack_msg(nlh, msg, msglen);
				return ne->error != 0 ? ne->error : rc;
			}
			if (cb != NULL && rc == 0 && cb(nlh, data) < 0)
				rc = -EPROTO;
		}
	}
}

char *
nft_errs_format(const struct nft_errs *e, char *buf, size_t len)
{
	if (e->sys != 0) {
		snprintf(buf, len, "%s: %s", e->where, strerror(e->sys));
	} else if (e->n == 0) {
		snprintf(buf, len, "no error");
	} else {
		const struct nft_err *x = &e->v[0];

		snprintf(buf, len, "%s%s%s%s", strerror(x->error),
		    x->msg[0] ? " (" : "", x->msg, x->msg[0] ? ")" : "");
		if (e->n > 1) {
			size_t l = strlen(buf);

			snprintf(buf + l, len - l, " and %zu more error%s",
			    e->n - 1, e->n > 2 ? "s" : "");
		}
	}
	return buf;
}
