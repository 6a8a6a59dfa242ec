/*
 * nft_kill: `killconns` for the nftables backend (issue 7). A new ban
 * also ends the banned addresses' established TCP connections to the
 * jail's ports, through the kernel's socket-destroy interface (what
 * `ss -K` uses: a sock_diag dump, then SOCK_DESTROY for each match; the
 * kernel sends the peer a reset). Needs CONFIG_INET_DIAG_DESTROY.
 *
 * Conntrack entries the banned addresses opened to the jail's ports are
 * deleted too (nft_kill_conntrack): flows forwarded or NATed through
 * this host have no local socket, and an established flow that a
 * flowtable offloads, or that another chain accepts by its state, would
 * otherwise go on; without its entry the next packet is a new flow and
 * meets the ban. Both through plain netlink with libmnl.
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

/*
 * Deletes every conntrack entry (IPv4 and IPv6, any zone) whose original
 * direction comes from one of addrs (addresses or networks) to one of
 * sp's ports (any with allports) over one of sp's protocols (TCP, UDP or
 * SCTP when sp names none). Returns the number of entries deleted (0
 * when the kernel or network namespace has no conntrack), or -1 with the
 * reason in err. Blocks for one dump of the table.
 */
long nft_kill_conntrack(const struct addr *addrs, size_t n,
    const struct nft_spec *sp, char *err, size_t errlen);

#endif
