/*
 * nft_rules: what the native nftables backend puts in the kernel for one
 * jail's action, and the messages that create and remove it.
 *
 * Per action (its `name`, normally the jail): in table TABLE (family
 * inet, shared by every jail), five sets
 *   addr4-NAME, addr6-NAME  single addresses (hash, flags timeout)
 *   net4-NAME,  net6-NAME   networks (rbtree, flags interval,timeout)
 *   port-NAME               the jail's ports (interval; multiport only)
 * and in the base chain CHAIN (hooked at chain_hook with
 * chain_priority, policy accept, possibly shared by several jails) one
 * rule per family, set kind and protocol:
 *   meta nfproto ipv4 meta l4proto tcp th dport @port-NAME
 *       ip saddr @addr4-NAME counter reject comment "warden:NAME"
 * Single addresses stay out of the interval sets because the nft tool's
 * cost on large interval sets explodes (testenv 3.3); the kernel itself
 * is fine either way, and we never go through the nft tool.
 *
 * A rule is ours when its comment is "warden:NAME": that is how start
 * replaces the rules of an earlier run and stop removes only this jail's
 * rules from a shared chain. The spec is parsed from the action's
 * properties (fail2ban's nftables.conf names: port, protocol, blocktype,
 * table, table_family, chain, chain_type, chain_hook, chain_priority,
 * type = multiport|allports).
 */
#ifndef WARDEN_NFT_RULES_H
#define WARDEN_NFT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nft_batch;
struct nft_sock;

#define NFT_SPEC_MAX_PROTOS 8
#define NFT_SPEC_MAX_PORTS  64
#define NFT_NAME_MAX        200 /* bytes of a table/chain/set name */

enum nft_verdict {
	NFT_V_DROP,
	NFT_V_REJECT, /* the reject expression, type/code below */
};

/* One family's set pair and the address length. */
enum nft_setkind {
	NFT_SET_ADDR4,
	NFT_SET_ADDR6,
	NFT_SET_NET4,
	NFT_SET_NET6,
	NFT_SET_NADDR
};

struct nft_port_range {
	uint16_t lo, hi; /* inclusive, host order */
};

struct nft_spec {
	char *name;       /* owned; the action's name (sets, comment) */
	char *table;      /* owned */
	char *chain;      /* owned */
	char *chain_type; /* owned; "filter" */
	char *hook_name;  /* owned; "input" */
	uint32_t hook;    /* NF_INET_* */
	int32_t priority;
	bool allports;                       /* type = allports */
	uint8_t protos[NFT_SPEC_MAX_PROTOS]; /* IPPROTO_*; none = all */
	size_t nprotos;
	struct nft_port_range ports[NFT_SPEC_MAX_PORTS]; /* sorted, merged */
	size_t nports;
	enum nft_verdict verdict;
	uint8_t reject_type4, reject_code4; /* NFT_REJECT_* for IPv4 rules */
	uint8_t reject_type6, reject_code6; /* and for IPv6 rules */
	char *blocktype;           /* owned; as configured, for messages */
	char *sets[NFT_SET_NADDR]; /* owned; names by enum nft_setkind */
	char *portset;             /* owned */
	char *comment;             /* owned; "warden:NAME" */
};

/*
 * The property value for key (resolved: tags replaced), or NULL when
 * unset. The returned string is borrowed until the next call.
 */
typedef const char *(*nft_prop_fn)(void *ctx, const char *key);

/*
 * Fills sp from the properties. Defaults: table "warden", table_family
 * "inet" (the only one supported), chain "input", chain_type "filter",
 * chain_hook "input", chain_priority -1, type multiport, port "ssh",
 * protocol "tcp", blocktype "reject", name "default". Ports are numbers,
 * service names (/etc/services) and ranges "a:b" or "a-b", separated by
 * commas or blanks; protocols tcp, udp, sctp, dccp, udplite, a number,
 * or "all" (no protocol match). Returns 0, or -1 with a reason in err
 * (sp is then cleaned up).
 */
int nft_spec_parse(
    struct nft_spec *sp, nft_prop_fn get, void *ctx, char *err, size_t errlen);
void nft_spec_cleanup(struct nft_spec *sp);

/* True when a and b put the same things into the kernel. */
bool nft_spec_equal(const struct nft_spec *a, const struct nft_spec *b);

/* What a dump of the chain found. */
struct nft_found {
	uint64_t *ours; /* owned; handles of rules with our comment */
	size_t nours;
	size_t others;       /* rules of others in the chain */
	bool chain;          /* the chain exists */
	bool table;          /* the table exists */
	size_t table_chains; /* chains in the table besides ours */
	size_t table_sets;   /* sets in the table besides our five */
	unsigned ours_sets;  /* our sets present: bit k for enum
	                        nft_setkind, bit NFT_SET_NADDR the port set */
};

/*
 * Looks at what is in the kernel now: the table, the chain and our
 * rules in it (and, with whole, the other chains and sets of the
 * table). Returns 0 (a missing table or chain is not an error: see
 * found), or a negative errno with the kernel's text in msg.
 */
int nft_rules_find(struct nft_sock *s, const struct nft_spec *sp, bool whole,
    struct nft_found *found, char *msg, size_t msglen);
void nft_found_cleanup(struct nft_found *f);

/*
 * Appends to b what makes sp present: the table, the chain, the five
 * sets (created if missing, kept otherwise), the port set's contents,
 * and our rules (the ones in found deleted first, so a restart or a
 * repair leaves exactly one copy). found may be NULL (nothing to
 * delete).
 */
void nft_rules_setup(
    struct nft_batch *b, const struct nft_spec *sp, const struct nft_found *f);

/*
 * Appends to b what removes sp: our rules (from found), our sets, the
 * chain when nothing else is in it, the table when nothing else is in
 * it.
 */
void nft_rules_teardown(
    struct nft_batch *b, const struct nft_spec *sp, const struct nft_found *f);

/* Appends flushes of the four address sets. */
void nft_rules_flush(struct nft_batch *b, const struct nft_spec *sp);

/* The set for an address of family (AF_INET/AF_INET6) and prefix. */
enum nft_setkind nft_setkind_for(int family, unsigned prefix);

/* Message tags (nft_msginfo.first of object messages) used by setup. */
#define NFT_TAG_OBJECT ((size_t)-1)

#endif
