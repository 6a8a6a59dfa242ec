/*
 * dl_nftnl: libnftnl loaded on first use. Only the native nftables
 * backend (banaction warden-nft, nft_rules.c) builds nftables objects with
 * it, so a daemon whose jails use other actions (Debian's stock
 * configuration bans through iptables) never maps it (bench/daemon.sh,
 * issue 3). libmnl stays linked: it is small, and the netlink socket code
 * (nft_sock, nft_msg, nft_kill) uses it.
 *
 * The action loads it at start with dl_nftnl_load() and reports a missing
 * library for its jail; nft_rules' entry points call dl_nftnl_need(),
 * which loads it too and aborts only if it cannot (their callers, the
 * action and the tests, have loaded it before).
 */
#ifndef WARDEN_DL_NFTNL_H
#define WARDEN_DL_NFTNL_H

#include <stdbool.h>
#include <stddef.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

/* X(name): the libnftnl functions used; dl_NAME has NAME's type. */
#define DL_NFTNL_FUNCS(X)                                                      \
	X(nftnl_chain_alloc)                                                   \
	X(nftnl_chain_free)                                                    \
	X(nftnl_chain_get_str)                                                 \
	X(nftnl_chain_get_u32)                                                 \
	X(nftnl_chain_nlmsg_build_payload)                                     \
	X(nftnl_chain_nlmsg_parse)                                             \
	X(nftnl_chain_set_s32)                                                 \
	X(nftnl_chain_set_str)                                                 \
	X(nftnl_chain_set_u32)                                                 \
	X(nftnl_expr_alloc)                                                    \
	X(nftnl_expr_set)                                                      \
	X(nftnl_expr_set_str)                                                  \
	X(nftnl_expr_set_u32)                                                  \
	X(nftnl_expr_set_u8)                                                   \
	X(nftnl_nlmsg_build_hdr)                                               \
	X(nftnl_rule_add_expr)                                                 \
	X(nftnl_rule_alloc)                                                    \
	X(nftnl_rule_free)                                                     \
	X(nftnl_rule_get_data)                                                 \
	X(nftnl_rule_get_str)                                                  \
	X(nftnl_rule_get_u64)                                                  \
	X(nftnl_rule_is_set)                                                   \
	X(nftnl_rule_nlmsg_build_payload)                                      \
	X(nftnl_rule_nlmsg_parse)                                              \
	X(nftnl_rule_set_data)                                                 \
	X(nftnl_rule_set_str)                                                  \
	X(nftnl_rule_set_u32)                                                  \
	X(nftnl_rule_set_u64)                                                  \
	X(nftnl_set_alloc)                                                     \
	X(nftnl_set_free)                                                      \
	X(nftnl_set_get_str)                                                   \
	X(nftnl_set_get_u32)                                                   \
	X(nftnl_set_nlmsg_build_payload)                                       \
	X(nftnl_set_nlmsg_parse)                                               \
	X(nftnl_set_set_str)                                                   \
	X(nftnl_set_set_u32)                                                   \
	X(nftnl_table_alloc)                                                   \
	X(nftnl_table_free)                                                    \
	X(nftnl_table_nlmsg_build_payload)                                     \
	X(nftnl_table_set_str)                                                 \
	X(nftnl_table_set_u32)                                                 \
	X(nftnl_udata_buf_alloc)                                               \
	X(nftnl_udata_buf_data)                                                \
	X(nftnl_udata_buf_free)                                                \
	X(nftnl_udata_buf_len)                                                 \
	X(nftnl_udata_get)                                                     \
	X(nftnl_udata_len)                                                     \
	X(nftnl_udata_parse)                                                   \
	X(nftnl_udata_put_strz)                                                \
	X(nftnl_udata_type)

#define DL_NFTNL_DECL(name) extern __typeof__(name) *dl_##name;
DL_NFTNL_FUNCS(DL_NFTNL_DECL)
#undef DL_NFTNL_DECL

/* The library dl_nftnl_load() opens. */
#define DL_NFTNL_SONAME "libnftnl.so.11"

/*
 * Loads libnftnl and resolves every function above. Once it succeeded
 * later calls return 0 at once; a failure is tried again at the next call
 * (the package may have been installed since). Returns 0, or -1 with a
 * message in err naming the library and the package to install.
 */
int dl_nftnl_load(char *err, size_t errlen);

/* dl_nftnl_load() for callers without an error path: aborts on failure. */
void dl_nftnl_need(void);

/* True once dl_nftnl_load() succeeded. */
bool dl_nftnl_loaded(void);

/* Test hook: the file dl_nftnl_load() opens (NULL: DL_NFTNL_SONAME). */
void dl_nftnl_set_soname(const char *soname);

#endif
