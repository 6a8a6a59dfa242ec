/*
 * Warden's built-in action files for the native nftables backend. The
 * configuration reader (conf_cp.c) reads them like action.d files when
 * BASEDIR/action.d/warden-nft.conf (or -allports) does not exist, so
 * `banaction = warden-nft` works with an unchanged /etc/fail2ban tree; a
 * real file of that name, and .local files next to it, take precedence
 * or layer on top as usual. The parameters are those of fail2ban's
 * nftables.conf; the commands are empty because wardend does the work
 * in-process (warden_backend = nftables selects the backend).
 */
#include <string.h>

#include "nft.h"

#define NFT_ACTION_HEAD                                                        \
	"# Warden's built-in nftables action: wardend bans in-process\n"       \
	"# through netlink (one transaction per batch, kernel-side\n"          \
	"# timeouts). Used when no action.d/warden-nft.conf exists.\n"         \
	"# fail2ban itself cannot run this action.\n"                          \
	"\n"                                                                   \
	"[Definition]\n"                                                       \
	"actionstart =\n"                                                      \
	"actionstop =\n"                                                       \
	"actioncheck =\n"                                                      \
	"actionban =\n"                                                        \
	"actionunban =\n"                                                      \
	"\n"                                                                   \
	"[Init]\n"                                                             \
	"# the backend that runs this action (do not change)\n"                \
	"warden_backend = nftables\n"                                          \
	"# Kernel objects: table TABLE (family inet) with sets\n"              \
	"# addr4-<name>, addr6-<name>, net4-<name>, net6-<name>,\n"            \
	"# port-<name>, and rules tagged \"warden:<name>\" in the base\n"      \
	"# chain CHAIN hooked at chain_hook.\n"                                \
	"table = warden\n"                                                     \
	"table_family = inet\n"                                                \
	"chain = input\n"                                                      \
	"chain_type = filter\n"                                                \
	"chain_hook = input\n"                                                 \
	"# -1: before firewalld and ufw (priority filter = 0)\n"               \
	"chain_priority = -1\n"                                                \
	"name = default\n"                                                     \
	"port = ssh\n"                                                         \
	"protocol = tcp\n"                                                     \
	"# drop, reject, reject with tcp reset,\n"                             \
	"# reject with icmpx|icmp|icmpv6 type REASON\n"                        \
	"blocktype = reject\n"                                                 \
	"# true: a ban also ends the address's open TCP connections to\n"      \
	"# the jail's ports (as ss -K does) and deletes the conntrack\n"       \
	"# entries of its flows (forwarded, NATed); false: bans only\n"        \
	"killconns = true\n"                                                   \
	"# seconds between checks that the table is still there (0: off)\n"    \
	"checkinterval = 10\n"                                                 \
	"# restored bans are reconciled with the sets in one transaction\n"    \
	"# when the jail's last restored batch arrives; when it cannot\n"      \
	"# mark one (none restored, norestored, ignore checks pending),\n"     \
	"# this many seconds after the last batch\n"                           \
	"restorewait = 0.05\n"

static const char warden_nft[] =
    NFT_ACTION_HEAD "# multiport: only the ports above; allports: every port\n"
                    "type = multiport\n";

static const char warden_nft_allports[] =
    NFT_ACTION_HEAD "# multiport: only the ports above; allports: every port\n"
                    "type = allports\n";

const char *
nft_builtin_file(const char *relpath)
{
	if (strcmp(relpath, "action.d/warden-nft.conf") == 0)
		return warden_nft;
	if (strcmp(relpath, "action.d/warden-nft-allports.conf") == 0)
		return warden_nft_allports;
	return NULL;
}
