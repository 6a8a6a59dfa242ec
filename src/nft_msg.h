/*
 * nft_msg: one nftables transaction (a netlink batch) built in memory,
 * for the native nftables backend (action_nft.c). Pure: no sockets, no
 * kernel; nft_sock.c sends what this builds, and unit tests take it
 * apart again.
 *
 * Set elements are written straight as netlink attributes (no libnftnl
 * objects per element, so 100,000 bans cost one buffer). The element
 * list of one message is a netlink nest whose length field is a u16:
 * a message that grew past 64 KiB would be silently cut by the kernel.
 * The builder therefore closes the current element message before it
 * would pass msg_max bytes and opens another one for the same set; an
 * interval's start and end element always stay in one message. Other
 * objects (table, chain, set, rule) are built by the caller with
 * libnftnl into space the builder reserves.
 *
 * Every message remembers the caller's item indices it carries, so an
 * error the kernel reports for one message (by sequence number) can be
 * traced back to the bans in it.
 */
#ifndef WARDEN_NFT_MSG_H
#define WARDEN_NFT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

/* Default cap on one netlink message in bytes: the u16 nest length. */
#define NFT_MSG_LIMIT 65535u
/* Smallest cap accepted (tests use small ones to force splits). */
#define NFT_MSG_LIMIT_MIN 256u

/*
 * Message types of Linux 6.3+ that Debian 12's headers lack ("destroy":
 * delete, but no error when the object is already gone).
 */
#define NFT_MSG_DESTROYTABLE_   26
#define NFT_MSG_DESTROYCHAIN_   27
#define NFT_MSG_DESTROYRULE_    28
#define NFT_MSG_DESTROYSET_     29
#define NFT_MSG_DESTROYSETELEM_ 30

/*
 * Largest element timeout sent, in milliseconds: the kernel refuses
 * (ERANGE) U64_MAX / NSEC_PER_MSEC ms and more (nf_msecs_to_jiffies64;
 * probed on Linux 6.18: 18446744073708 ms, about 584 years, is the
 * largest accepted). A longer ban gets this timeout.
 */
#define NFT_TIMEOUT_MAX_MS 18446744073708ull

enum nft_elem_op {
	NFT_ELEM_ADD,     /* NEWSETELEM, no NLM_F_EXCL: a duplicate is ok */
	NFT_ELEM_DEL,     /* DELSETELEM: fails (ENOENT) if absent */
	NFT_ELEM_DESTROY, /* DESTROYSETELEM: absent is fine (6.3+) */
};

/* What the builder knows about one message of the batch. */
struct nft_msginfo {
	uint32_t seq;
	uint16_t type;   /* NFT_MSG_* (without the subsystem byte) */
	size_t off;      /* offset of its nlmsghdr in buf */
	size_t first;    /* caller's item index of its first element, or a
	                    tag given with nft_batch_obj_end() */
	size_t count;    /* elements in it (0 for other objects) */
	size_t lastitem; /* caller's item index of its last element */
};

struct nft_batch {
	uint8_t *buf; /* the whole batch, ready for one sendmsg() */
	size_t len, cap;
	size_t msg_max; /* cap per message in bytes */
	uint32_t seq_first, seq_next;
	struct nft_msginfo *msgs; /* the messages between begin and end */
	size_t nmsgs, msgcap;
	size_t nelems; /* elements in all element messages */
	bool ended;
	/* the element message being filled, if open */
	bool open;
	size_t open_off; /* its nlmsghdr */
	size_t nest_off; /* its NFTA_SET_ELEM_LIST_ELEMENTS nest */
	enum nft_elem_op op;
	uint16_t family;
	char *table, *set; /* owned: target of the open message */
};

/*
 * Starts a batch whose first sequence number is seq (the begin message).
 * msg_max 0 means NFT_MSG_LIMIT; smaller than NFT_MSG_LIMIT_MIN is
 * raised to it, larger than NFT_MSG_LIMIT lowered to it.
 */
void nft_batch_init(struct nft_batch *b, uint32_t seq, size_t msg_max);
void nft_batch_cleanup(struct nft_batch *b);

/*
 * Reserves room for one object message (table, chain, set, rule) of at
 * most size bytes and writes its header (type is NFT_MSG_*, flags are
 * NLM_F_* besides NLM_F_REQUEST). The caller fills the payload with
 * libnftnl (nftnl_*_nlmsg_build_payload) and then calls
 * nft_batch_obj_end() with the returned pointer before anything else
 * touches b. Closes an open element message first.
 */
struct nlmsghdr *nft_batch_obj_begin(struct nft_batch *b, uint16_t type,
    uint16_t family, uint16_t flags, size_t size);
/* Accounts the message; tag is kept as its nft_msginfo.first. */
void nft_batch_obj_end(struct nft_batch *b, struct nlmsghdr *nlh, size_t tag);

/*
 * Element messages. nft_batch_elems() selects the operation and the set;
 * following nft_batch_elem()/nft_batch_interval() calls append to it,
 * opening new messages as needed. Switching op or set closes the message.
 */
void nft_batch_elems(struct nft_batch *b, enum nft_elem_op op, uint16_t family,
    const char *table, const char *set);

/*
 * One element: key of klen bytes (network order), NFT_SET_ELEM_* flags,
 * timeout_ms (0: none, permanent; capped at NFT_TIMEOUT_MAX_MS), and the
 * caller's item index.
 */
void nft_batch_elem(struct nft_batch *b, const void *key, size_t klen,
    uint32_t flags, uint64_t timeout_ms, size_t item);

/*
 * An interval [start, end) for a set with the interval flag: the start
 * element (with the timeout) and the end element (flag
 * NFT_SET_ELEM_INTERVAL_END, no timeout: the kernel refuses one) in the
 * same message. end NULL: the interval runs to the top of the key space
 * and has no end element.
 */
void nft_batch_interval(struct nft_batch *b, const void *start, const void *end,
    size_t klen, uint64_t timeout_ms, size_t item);

/* Removes every element of a set (DELSETELEM without a list). */
void nft_batch_flush_set(struct nft_batch *b, uint16_t family,
    const char *table, const char *set, size_t tag);

/*
 * Closes the batch: the open message, NLM_F_ACK on the last message (so
 * the sender knows when the kernel is done), the end message. Returns
 * the number of messages between begin and end (0: nothing to send).
 */
size_t nft_batch_finish(struct nft_batch *b);

/* The message with sequence number seq, or NULL. */
const struct nft_msginfo *nft_batch_find(
    const struct nft_batch *b, uint32_t seq);

/*
 * The [start, end) keys of the network a (klen 4 or 16 bytes, prefix
 * bits): start gets the address with host bits cleared, end the first
 * address after the network. Returns false when the network reaches the
 * top of the key space (no end key).
 */
bool nft_net_range(const uint8_t *addr, size_t klen, unsigned prefix,
    uint8_t *start, uint8_t *end);

/*
 * A ban's remaining seconds as an element timeout: rounded up to whole
 * milliseconds, at least 1, at most NFT_TIMEOUT_MAX_MS. (0 would mean
 * "no timeout", i.e. permanent, so it is never returned.)
 */
uint64_t nft_timeout_ms(double seconds);

#endif
