/*
 * The nftables batch builder (see nft_msg.h): netlink messages appended
 * to one growing buffer, element lists split below the u16 nest limit.
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

#include "nft_msg.h"
#include "xmalloc.h"

void
nft_batch_init(struct nft_batch *b, uint32_t seq, size_t msg_max)
{
	memset(b, 0, sizeof(*b));
	if (msg_max == 0 || msg_max > NFT_MSG_LIMIT)
		msg_max = NFT_MSG_LIMIT;
	if (msg_max < NFT_MSG_LIMIT_MIN)
		msg_max = NFT_MSG_LIMIT_MIN;
	b->msg_max = msg_max;
	b->seq_first = seq;
	b->seq_next = seq;
	b->cap = 4096;
	b->buf = xmalloc(b->cap);
	/* the begin message */
	{
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->buf);
		struct nfgenmsg *nfg;

		nlh->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		nlh->nlmsg_seq = b->seq_next++;
		nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
		nfg->nfgen_family = AF_UNSPEC;
		nfg->version = NFNETLINK_V0;
		nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
		b->len = nlh->nlmsg_len;
	}
}

void
nft_batch_cleanup(struct nft_batch *b)
{
	free(b->buf);
	free(b->msgs);
	free(b->table);
	free(b->set);
	memset(b, 0, sizeof(*b));
}

/* Room for n more bytes; the buffer may move. */
static void
reserve(struct nft_batch *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->len + n > b->cap)
		b->cap *= 2;
	b->buf = xreallocarray(b->buf, b->cap, 1);
}

static struct nlmsghdr *
at(struct nft_batch *b, size_t off)
{
	return (struct nlmsghdr *)(b->buf + off);
}

static struct nft_msginfo *
add_info(struct nft_batch *b, size_t off, uint16_t type)
{
	struct nft_msginfo *m;

	xgrow(&b->msgs, &b->msgcap, b->nmsgs + 1, sizeof(*b->msgs));
	m = &b->msgs[b->nmsgs++];
	memset(m, 0, sizeof(*m));
	m->off = off;
	m->type = type;
	m->seq = at(b, off)->nlmsg_seq;
	return m;
}

/* A message header with its nfgenmsg at the end of the buffer. */
static struct nlmsghdr *
put_header(struct nft_batch *b, uint16_t type, uint16_t family, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	reserve(b, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)));
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = b->seq_next++;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* Closes the element message being filled. */
static void
close_elems(struct nft_batch *b)
{
	struct nlmsghdr *nlh;

	if (!b->open)
		return;
	nlh = at(b, b->open_off);
	mnl_attr_nest_end(nlh, (struct nlattr *)(b->buf + b->nest_off));
	b->len = b->open_off + nlh->nlmsg_len;
	b->open = false;
}

static uint16_t
elem_type(enum nft_elem_op op)
{
	switch (op) {
	case NFT_ELEM_DEL:
		return NFT_MSG_DELSETELEM;
	case NFT_ELEM_DESTROY:
		return NFT_MSG_DESTROYSETELEM_;
	case NFT_ELEM_ADD:
		break;
	}
	return NFT_MSG_NEWSETELEM;
}

/* Opens a new element message for the selected op and set. */
static void
open_elems(struct nft_batch *b)
{
	struct nlmsghdr *nlh;
	size_t need = MNL_NLMSG_HDRLEN + 4 + 2 * MNL_ATTR_HDRLEN +
	    MNL_ALIGN(strlen(b->table) + 1) + MNL_ALIGN(strlen(b->set) + 1) +
	    MNL_ATTR_HDRLEN;

	reserve(b, need);
	b->open_off = b->len;
	nlh = put_header(b, elem_type(b->op), b->family,
	    b->op == NFT_ELEM_ADD ? NLM_F_CREATE : 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, b->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, b->set);
	b->nest_off = b->open_off + nlh->nlmsg_len;
	mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	b->len = b->open_off + nlh->nlmsg_len;
	b->open = true;
	add_info(b, b->open_off, elem_type(b->op));
}

struct nlmsghdr *
nft_batch_obj_begin(struct nft_batch *b, uint16_t type, uint16_t family,
    uint16_t flags, size_t size)
{
	close_elems(b);
	reserve(b, size + MNL_NLMSG_HDRLEN + 16);
	return put_header(b, type, family, flags);
}

void
nft_batch_obj_end(struct nft_batch *b, struct nlmsghdr *nlh, size_t tag)
{
	size_t off = (size_t)((uint8_t *)nlh - b->buf);
	struct nft_msginfo *m;

	b->len = off + nlh->nlmsg_len;
	m = add_info(b, off, (uint16_t)(nlh->nlmsg_type & 0xff));
	m->first = tag;
	m->lastitem = tag;
}

void
nft_batch_elems(struct nft_batch *b, enum nft_elem_op op, uint16_t family,
    const char *table, const char *set)
{
	if (b->open && b->op == op && b->family == family &&
	    strcmp(b->table, table) == 0 && strcmp(b->set, set) == 0)
		return;
	close_elems(b);
	free(b->table);
	free(b->set);
	b->table = xstrdup(table);
	b->set = xstrdup(set);
	b->op = op;
	b->family = family;
	/* opened lazily by the first element */
}

/* Bytes one element takes inside the list nest. */
static size_t
elem_size(size_t klen, uint32_t flags, uint64_t timeout_ms)
{
	size_t n = MNL_ATTR_HDRLEN               /* NFTA_LIST_ELEM */
	    + MNL_ATTR_HDRLEN                    /* NFTA_SET_ELEM_KEY */
	    + MNL_ATTR_HDRLEN + MNL_ALIGN(klen); /* NFTA_DATA_VALUE */

	if (flags != 0)
		n += MNL_ATTR_HDRLEN + 4;
	if (timeout_ms != 0)
		n += MNL_ATTR_HDRLEN + 8;
	return n;
}

/* Makes sure the open message has room for need more bytes. */
static void
room_for(struct nft_batch *b, size_t need)
{
	if (b->open && at(b, b->open_off)->nlmsg_len + need > b->msg_max)
		close_elems(b);
	if (!b->open)
		open_elems(b);
	reserve(b, need);
}

static void
put_elem(struct nft_batch *b, const void *key, size_t klen, uint32_t flags,
    uint64_t timeout_ms)
{
	struct nlmsghdr *nlh = at(b, b->open_off);
	struct nlattr *e, *k;

	e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, key);
	mnl_attr_nest_end(nlh, k);
	if (flags != 0)
		mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(flags));
	if (timeout_ms != 0)
		mnl_attr_put_u64(
		    nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(timeout_ms));
	mnl_attr_nest_end(nlh, e);
	b->len = b->open_off + nlh->nlmsg_len;
}

static void
count_item(struct nft_batch *b, size_t item)
{
	struct nft_msginfo *m = &b->msgs[b->nmsgs - 1];

	if (m->count == 0)
		m->first = item;
	m->lastitem = item;
	m->count++;
	b->nelems++;
}

void
nft_batch_elem(struct nft_batch *b, const void *key, size_t klen,
    uint32_t flags, uint64_t timeout_ms, size_t item)
{
	if (timeout_ms > NFT_TIMEOUT_MAX_MS)
		timeout_ms = NFT_TIMEOUT_MAX_MS;
	if (b->op != NFT_ELEM_ADD)
		timeout_ms = 0;
	room_for(b, elem_size(klen, flags, timeout_ms));
	put_elem(b, key, klen, flags, timeout_ms);
	count_item(b, item);
}

void
nft_batch_interval(struct nft_batch *b, const void *start, const void *end,
    size_t klen, uint64_t timeout_ms, size_t item)
{
	size_t need;

	if (timeout_ms > NFT_TIMEOUT_MAX_MS)
		timeout_ms = NFT_TIMEOUT_MAX_MS;
	if (b->op != NFT_ELEM_ADD)
		timeout_ms = 0;
	need = elem_size(klen, 0, timeout_ms);
	if (end != NULL)
		need += elem_size(klen, NFT_SET_ELEM_INTERVAL_END, 0);
	room_for(b, need);
	put_elem(b, start, klen, 0, timeout_ms);
	if (end != NULL)
		put_elem(b, end, klen, NFT_SET_ELEM_INTERVAL_END, 0);
	count_item(b, item);
}

void
nft_batch_flush_set(struct nft_batch *b, uint16_t family, const char *table,
    const char *set, size_t tag)
{
	struct nlmsghdr *nlh;

	nlh = nft_batch_obj_begin(b, NFT_MSG_DELSETELEM, family, 0,
	    2 * MNL_ATTR_HDRLEN + MNL_ALIGN(strlen(table) + 1) +
	        MNL_ALIGN(strlen(set) + 1));
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	nft_batch_obj_end(b, nlh, tag);
}

size_t
nft_batch_finish(struct nft_batch *b)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (b->ended)
		return b->nmsgs;
	close_elems(b);
	if (b->nmsgs > 0)
		at(b, b->msgs[b->nmsgs - 1].off)->nlmsg_flags |= NLM_F_ACK;
	reserve(b, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)));
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = NFNL_MSG_BATCH_END;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = b->seq_next++;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	b->len += nlh->nlmsg_len;
	b->ended = true;
	return b->nmsgs;
}

const struct nft_msginfo *
nft_batch_find(const struct nft_batch *b, uint32_t seq)
{
	size_t lo = 0, hi = b->nmsgs;

	/* sequence numbers grow with the index */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->msgs[mid].seq == seq)
			return &b->msgs[mid];
		if (b->msgs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool
nft_net_range(const uint8_t *addr, size_t klen, unsigned prefix, uint8_t *start,
    uint8_t *end)
{
	size_t bits = klen * 8;
	bool carry = true;

	if (prefix > bits)
		prefix = (unsigned)bits;
	for (size_t i = 0; i < klen; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8
		    : prefix > i * 8                  ? prefix - (unsigned)i * 8
		                                      : 0;
		uint8_t mask = keep == 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		start[i] = addr[i] & mask;
		end[i] = start[i] | (uint8_t)~mask; /* last address */
	}
	/* end = last + 1 */
	for (size_t i = klen; i-- > 0 && carry;) {
		end[i]++;
		carry = end[i] == 0;
	}
	return !carry;
}

uint64_t
nft_timeout_ms(double seconds)
{
	double ms;

	if (!(seconds > 0)) /* also NaN */
		return 1;
	ms = ceil(seconds * 1000.0);
	if (ms >= (double)NFT_TIMEOUT_MAX_MS)
		return NFT_TIMEOUT_MAX_MS;
	if (ms < 1)
		return 1;
	return (uint64_t)ms;
}
