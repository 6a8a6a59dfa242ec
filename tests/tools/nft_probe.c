/*
 * nft_probe: looks into an nftables set without the nft tool's cost, for
 * bench/nft.sh and the kernel tests. A single-element GET is a direct
 * lookup in the kernel (`nft get element` dumps the whole set first), so
 * it can poll a set of 100,000 elements every few hundred microseconds.
 *
 *   nft_probe [-t TABLE] SET has IP...           exit 0 when all present
 *   nft_probe [-t TABLE] SET gone SECONDS IP...  polls until none present;
 *                                                prints the time waited
 *   nft_probe [-t TABLE] SET wait SECONDS IP...  polls until all present;
 *                                                prints the time waited
 *   nft_probe [-t TABLE] SET count               elements in a set dump
 *   nft_probe [-t TABLE] SET append SRC LOG SECONDS IP...
 *       appends the file SRC to LOG in one write, then polls until every
 *       IP is in SET; prints the time from the write
 *   nft_probe [-t TABLE] SET latency LOG N BASE [GAP_MS]
 *       for N fresh addresses from BASE: appends two failure lines
 *       ("YYYY-mm-dd HH:MM:SS fail from IP") to LOG, then the third,
 *       and measures from that write to the kernel's notification that
 *       the element is in SET (nftables multicast group: no polling);
 *       prints min, p50, p90, p99 and max in milliseconds.
 *
 * TABLE defaults to "warden" (family inet). Exit 2 on usage errors.
 */
#include <arpa/inet.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "nft_sock.h"

static const char *table = "warden";
static const char *set;
static struct nft_sock *sock;

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 present, 0 absent, -1 error (printed). */
static int
has(const struct addr *a)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct nlattr *list, *el, *key;
	int rc;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(
	    nlh, NFTA_DATA_VALUE, a->family == AF_INET6 ? 16 : 4, a->b);
	mnl_attr_nest_end(nlh, key);
	mnl_attr_nest_end(nlh, el);
	mnl_attr_nest_end(nlh, list);
	rc = nft_sock_request(sock, nlh, NULL, NULL, NULL, 0);
	if (rc == 0)
		return 1;
	if (rc == -ENOENT)
		return 0;
	fprintf(stderr, "nft_probe: get element: %s\n", strerror(-rc));
	return -1;
}

static int
count_cb(const struct nlmsghdr *nlh, void *data)
{
	size_t *n = data;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
	{
		const struct nlattr *e;

		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, attr)
		{
			const struct nlattr *f;
			bool end = false;

			mnl_attr_for_each_nested(f, e)
			{
				if (mnl_attr_get_type(f) ==
				        NFTA_SET_ELEM_FLAGS &&
				    (ntohl(mnl_attr_get_u32(f)) &
				        NFT_SET_ELEM_INTERVAL_END))
					end = true;
			}
			if (!end)
				(*n)++;
		}
	}
	return MNL_CB_OK;
}

static long
count(void)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	size_t n = 0;
	int rc;

	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	rc = nft_sock_request(sock, nlh, count_cb, &n, NULL, 0);
	if (rc < 0) {
		fprintf(stderr, "nft_probe: dump: %s\n", strerror(-rc));
		return -1;
	}
	return (long)n;
}

static int
parse_addrs(int argc, char **argv, struct addr *out)
{
	for (int i = 0; i < argc; i++)
		if (addr_parse(argv[i], strlen(argv[i]), &out[i]) < 0) {
			fprintf(stderr, "nft_probe: bad address %s\n", argv[i]);
			return -1;
		}
	return 0;
}

static int
all_present(const struct addr *a, int n)
{
	for (int i = 0; i < n; i++) {
		int r = has(&a[i]);

		if (r <= 0)
			return r;
	}
	return 1;
}

/* 1 when no address of a is in the set, 0 when one is, -1 on error. */
static int
none_present(const struct addr *a, int n)
{
	for (int i = 0; i < n; i++) {
		int r = has(&a[i]);

		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	return 1;
}

static void
nth_addr(const struct addr *base, unsigned long i, struct addr *out)
{
	int last = base->family == AF_INET6 ? 15 : 3;

	*out = *base;
	for (int k = last; k >= 0 && i > 0; k--) {
		unsigned long s = out->b[k] + (i & 0xff);

		out->b[k] = (unsigned char)s;
		i = (i >> 8) + (s >> 8);
	}
}

static void
fail_line(int fd, const struct addr *a)
{
	char ts[32], ip[ADDR_STRLEN], line[128];
	time_t t = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(
	    line, sizeof(line), "%s fail from %s\n", ts, addr_format(a, ip));
	if (write(fd, line, (size_t)n) != n)
		perror("nft_probe: write");
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1000),
	    (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};

	nanosleep(&ts, NULL);
}

/* The NEWSETELEM notifications: does this message add key to set? */
struct notif {
	const struct addr *a;
	bool seen;
};

static int
notif_cb(const struct nlmsghdr *nlh, void *data)
{
	struct notif *nt = data;
	const struct nlattr *attr;
	bool right_set = false;
	size_t klen = nt->a->family == AF_INET6 ? 16 : 4;

	if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWSETELEM)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(attr) == NFTA_SET_ELEM_LIST_SET)
			right_set = strcmp(mnl_attr_get_str(attr), set) == 0;
	}
	if (!right_set)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
	{
		const struct nlattr *e, *f, *k;

		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, attr)
		{
			mnl_attr_for_each_nested(f, e)
			{
				if (mnl_attr_get_type(f) != NFTA_SET_ELEM_KEY)
					continue;
				mnl_attr_for_each_nested(k, f)
				{
					if (mnl_attr_get_payload_len(k) ==
					        klen &&
					    memcmp(mnl_attr_get_payload(k),
					        nt->a->b, klen) == 0)
						nt->seen = true;
				}
			}
		}
	}
	return MNL_CB_OK;
}

/* Waits for the kernel's notification that a is in the set. */
static int
await_notif(struct mnl_socket *nl, const struct addr *a, double limit)
{
	static char buf[1 << 16];
	struct notif nt = {a, false};
	double t0 = mono();
	struct pollfd pfd = {mnl_socket_get_fd(nl), POLLIN, 0};

	while (!nt.seen) {
		double left = limit - (mono() - t0);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			return -1;
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -1;
		mnl_cb_run(buf, (size_t)n, 0, 0, notif_cb, &nt);
	}
	return 0;
}

/*
 * Latency: the element's arrival is taken from the kernel's own
 * notification (nftables multicast group), not by polling, so the probe
 * takes no CPU from the daemon while it waits.
 */
static int
latency(const char *log, unsigned long n, const char *basetext, double gap)
{
	struct addr base, a;
	double *v = calloc(n ? n : 1, sizeof(*v));
	int fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
	unsigned long got = 0;
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int group = NFNLGRP_NFTABLES;

	if (fd < 0 || v == NULL || nl == NULL ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(
	        nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0 ||
	    addr_parse(basetext, strlen(basetext), &base) < 0) {
		fprintf(stderr,
		    "nft_probe: cannot open %s, bad base, or no "
		    "notification socket\n",
		    log);
		return 2;
	}
	for (unsigned long i = 0; i < n; i++) {
		double t0, t1;

		nth_addr(&base, i, &a);
		fail_line(fd, &a);
		fail_line(fd, &a);
		sleep_ms(gap);
		if (has(&a) != 0) {
			fprintf(
			    stderr, "nft_probe: banned before the 3rd line\n");
			continue;
		}
		t0 = mono();
		fail_line(fd, &a);
		if (await_notif(nl, &a, 5) < 0) {
			fprintf(stderr, "nft_probe: not banned after 5 s\n");
			continue;
		}
		t1 = mono();
		v[got++] = (t1 - t0) * 1000;
		sleep_ms(gap);
	}
	close(fd);
	mnl_socket_close(nl);
	if (got == 0) {
		free(v);
		return 1;
	}
	qsort(v, got, sizeof(*v), cmp_dbl);
	printf("latency n=%lu min=%.3f p50=%.3f p90=%.3f p99=%.3f max=%.3f "
	       "ms\n",
	    got, v[0], v[got / 2], v[(size_t)(got * 0.9)],
	    v[(size_t)(got * 0.99) < got ? (size_t)(got * 0.99) : got - 1],
	    v[got - 1]);
	free(v);
	return got == n ? 0 : 1;
}

static int
append(const char *src, const char *log, double limit, int n, char **ips)
{
	struct addr *a = calloc((size_t)(n > 0 ? n : 1), sizeof(*a));
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
	off_t size = in >= 0 ? lseek(in, 0, SEEK_END) : -1;
	char *buf = size > 0 ? malloc((size_t)size) : NULL;
	double t0;
	int r;

	if (a == NULL || buf == NULL || out < 0 ||
	    pread(in, buf, (size_t)size, 0) != size ||
	    parse_addrs(n, ips, a) < 0) {
		fprintf(
		    stderr, "nft_probe: cannot read %s or open %s\n", src, log);
		return 2;
	}
	t0 = mono();
	if (write(out, buf, (size_t)size) != size) {
		perror("nft_probe: write");
		return 2;
	}
	while ((r = all_present(a, n)) == 0 && mono() - t0 < limit)
		sleep_ms(0.2);
	printf("%s after %.1f ms\n", r == 1 ? "present" : "absent",
	    (mono() - t0) * 1000);
	close(in);
	close(out);
	free(buf);
	free(a);
	return r == 1 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	char err[256];
	int i = 1;
	const char *mode;

	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		table = argv[2];
		i = 3;
	}
	if (argc - i < 2) {
		fprintf(stderr,
		    "usage: nft_probe [-t TABLE] SET has|wait|"
		    "gone|count|latency ...\n");
		return 2;
	}
	set = argv[i++];
	mode = argv[i++];
	sock = nft_sock_open(err, sizeof(err));
	if (sock == NULL) {
		fprintf(stderr, "nft_probe: %s\n", err);
		return 2;
	}
	if (strcmp(mode, "count") == 0) {
		long n = count();

		if (n < 0)
			return 1;
		printf("%ld\n", n);
		return 0;
	}
	if (strcmp(mode, "latency") == 0 && argc - i >= 3)
		return latency(argv[i], strtoul(argv[i + 1], NULL, 10),
		    argv[i + 2], argc - i > 3 ? strtod(argv[i + 3], NULL) : 20);
	if (strcmp(mode, "append") == 0 && argc - i >= 3)
		return append(argv[i], argv[i + 1], strtod(argv[i + 2], NULL),
		    argc - i - 3, argv + i + 3);
	if (strcmp(mode, "has") == 0 || strcmp(mode, "wait") == 0 ||
	    strcmp(mode, "gone") == 0) {
		bool gone = mode[0] == 'g', wait = mode[0] != 'h';
		double limit = wait && i < argc ? strtod(argv[i++], NULL) : 0;
		int n = argc - i, r;
		struct addr *a = calloc((size_t)(n > 0 ? n : 1), sizeof(*a));
		double t0 = mono();

		if (parse_addrs(n, argv + i, a) < 0)
			return 2;
		while (
		    (r = gone ? none_present(a, n) : all_present(a, n)) == 0 &&
		    wait && mono() - t0 < limit)
			sleep_ms(0.2);
		if (wait)
			printf("%s after %.1f ms\n",
			    r == 1 ? (gone ? "gone" : "present")
			           : (gone ? "present" : "absent"),
			    (mono() - t0) * 1000);
		free(a);
		return r == 1 ? 0 : 1;
	}
	fprintf(stderr, "nft_probe: unknown mode %s\n", mode);
	return 2;
}
