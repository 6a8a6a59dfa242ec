/*
 * nft_kill: `killconns` for the nftables backend (issue 7). A new ban
 * also ends the banned addresses' established TCP connections to the
 * jail's ports, through the kernel's socket-destroy interface (what
 * `ss -K` uses: a sock_diag dump, then SOCK_DESTROY for each match; the
 * kernel sends the peer a reset). Needs CONFIG_INET_DIAG_DESTROY.
 *
 * Only local sockets are ended. Conntrack entries of forwarded or NATed
 * flows are not touched yet (the ban's rules drop their packets anyway,
 * as the rules do not look at the connection state).
 */
#ifndef WARDEN_NFT_KILL_H
#define WARDEN_NFT_KILL_H

#include <stddef.h>

#include "addr.h"

struct nft_spec;

/*
 * Ends every TCP socket (IPv4, IPv6, IPv4-mapped IPv6) whose peer is one
 * of addrs (addresses or networks) and whose local port is one of sp's
 * ports (any port with allports), unless sp's protocols exclude TCP.
 * Listening and TIME_WAIT sockets are left alone. Returns the number of
 * sockets ended, or -1 with the reason in err. Blocks for one dump of
 * the TCP sockets.
 */
long nft_kill_conns(const struct addr *addrs, size_t n,
    const struct nft_spec *sp, char *err, size_t errlen);

#endif
