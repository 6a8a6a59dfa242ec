/*
 * nft_sock: the netlink socket of the native nftables backend. It sends
 * a transaction built by nft_msg in one sendmsg() and collects what the
 * kernel answers (errors with their sequence numbers and the extended
 * ack text), and it makes small GET requests and dumps (does a table or
 * set exist, the rules of a chain, one set element).
 *
 * The kernel handles a batch synchronously inside sendmsg(), so the
 * answer is already queued when we read it; the reads still carry a
 * timeout so a confused kernel cannot hang the daemon. Nothing here
 * logs; callers turn the errors into messages.
 */
#ifndef WARDEN_NFT_SOCK_H
#define WARDEN_NFT_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

struct nft_batch;

/* What the kernel said about a transaction it refused. */
#define NFT_ERRS_MAX 8
struct nft_err {
	uint32_t seq;  /* the message it is about */
	int error;     /* positive errno */
	char msg[160]; /* the kernel's extended ack text, or "" */
};

struct nft_errs {
	size_t n; /* errors reported (may exceed NFT_ERRS_MAX) */
	struct nft_err v[NFT_ERRS_MAX]; /* the first ones */
	int sys;        /* errno of a socket failure (send/receive), or 0 */
	char where[32]; /* "sendmsg", "recvmsg", "no answer" when sys */
};

struct nft_sock;

/*
 * Opens and binds a NETLINK_NETFILTER socket with extended acks.
 * Returns NULL with the reason in err.
 */
struct nft_sock *nft_sock_open(char *err, size_t errlen);
/* NULL is a no-op. */
void nft_sock_close(struct nft_sock *s);

/* Reserves n sequence numbers and returns the first. */
uint32_t nft_sock_seq(struct nft_sock *s, uint32_t n);

/*
 * Sends the batch (nft_batch_finish() is called if needed) and waits for
 * the kernel's answer. Returns 0 when the transaction was committed, -1
 * when it was not (the kernel refused it: e->n > 0, every message of the
 * batch is void; or the socket failed: e->sys). An empty batch is a
 * no-op returning 0. Blocks for as long as the kernel works on it.
 */
int nft_sock_commit(
    struct nft_sock *s, struct nft_batch *b, struct nft_errs *e);

/*
 * One request: req is a complete message (its seq is set here, and
 * NLM_F_ACK added); cb (may be NULL) sees each answer message. For dumps
 * pass NLM_F_DUMP in req's flags. Returns 0, or a negative errno (e.g.
 * -ENOENT when the object does not exist); the kernel's message, if
 * any, goes to msg (msglen bytes, may be NULL).
 */
int nft_sock_request(struct nft_sock *s, struct nlmsghdr *req, mnl_cb_t cb,
    void *data, char *msg, size_t msglen);

/* Human text for e (first error, "and N more"), into buf. Returns buf. */
char *nft_errs_format(const struct nft_errs *e, char *buf, size_t len);

#endif
