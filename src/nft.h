/*
 * The native nftables ban backend (issue 4) as the rest of Warden sees
 * it: its ops for the action registry, its health for `warden status`,
 * and the built-in action files that select it from jail.conf
 * (`banaction = warden-nft`, `banaction_allports = warden-nft-allports`)
 * when no action.d/warden-nft*.conf exists, so an unchanged
 * /etc/fail2ban tree can use it.
 *
 * How it works is described in action_nft.c; the kernel objects in
 * nft_rules.h; the netlink batch in nft_msg.h.
 */
#ifndef WARDEN_NFT_H
#define WARDEN_NFT_H

#include <stdbool.h>
#include <stddef.h>

struct action;
struct action_ops;

/* The registry name, and the action property that selects it. */
#define NFT_BACKEND_NAME "nftables"
#define NFT_BACKEND_PROP "warden_backend"

extern const struct action_ops action_nft_ops;

/* What `warden status` can show about one nftables action. */
struct nft_action_info {
	bool started;          /* its start ran and no stop since */
	bool ok;               /* the kernel has what we want */
	bool settling;         /* waiting for restored bans to reconcile */
	const char *error;     /* the current kernel error, or NULL; borrowed
	                          until the action's next operation */
	double error_since;    /* wall clock, epoch seconds */
	unsigned failures;     /* consecutive failed attempts */
	double next_retry;     /* wall clock of the next attempt, or 0 */
	size_t bans;           /* addresses and networks it keeps banned */
	unsigned long commits; /* transactions the kernel accepted */
};

/*
 * Fills info for a; returns 0, or -1 when a is not an nftables action.
 */
int nft_action_info(const struct action *a, struct nft_action_info *info);

/*
 * The text of a built-in action file for relpath ("action.d/warden-
 * nft.conf", "action.d/warden-nft-allports.conf"), or NULL. The
 * configuration reader uses it when the file does not exist.
 */
const char *nft_builtin_file(const char *relpath);

#endif
