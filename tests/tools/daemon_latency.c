/*
 * Ban latency of a running daemon (wardend or fail2ban-server), for
 * bench/daemon.sh: for each of N addresses, appends two failure lines to
 * LOG, then the third (the one that reaches maxretry 3) and measures the
 * time until the recording action has written "ban ADDR" to REC (watched
 * with inotify). Prints one line per ban in microseconds with -v, and at
 * the end "bans N p50 X p99 Y max Z (ms)". Lines look like
 * "2026-11-21 05:24:25 host sshd[123]: Failed password for root from ADDR
 * port 22 ssh2" (matched by Warden's and fail2ban's sshd filters).
 *
 *   daemon_latency LOG REC N [TIMEOUT_MS]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
append(int fd, const char *ip)
{
	char line[256], ts[64];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(line, sizeof(line),
	    "%s bench sshd[4242]: Failed password for root from %s port "
	    "22 ssh2\n",
	    ts, ip);
	if (write(fd, line, (size_t)n) != n) {
		perror("write");
		exit(2);
	}
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Reads what REC gained since *off into buf; true when needle is in the
 * part read so far. */
static int
rec_has(int rfd, off_t *off, char *acc, size_t *acclen, size_t cap,
    const char *needle)
{
	char buf[65536];
	ssize_t k;

	for (;;) {
		k = pread(rfd, buf, sizeof(buf), *off);
		if (k <= 0)
			break;
		*off += k;
		if (*acclen + (size_t)k >= cap) {
			/* keep the tail only */
			size_t keep = 4096 < *acclen ? 4096 : *acclen;

			memmove(acc, acc + *acclen - keep, keep);
			*acclen = keep;
		}
		if ((size_t)k > cap - *acclen - 1)
			k = (ssize_t)(cap - *acclen - 1);
		memcpy(acc + *acclen, buf, (size_t)k);
		*acclen += (size_t)k;
		acc[*acclen] = '\0';
	}
	return strstr(acc, needle) != NULL;
}

int
main(int argc, char **argv)
{
	int n, lfd, rfd, ifd, verbose = 0, timeout_ms;
	double *lat;
	off_t off = 0;
	static char acc[1 << 20];
	size_t acclen = 0;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		argv++;
		argc--;
	}
	if (argc < 4) {
		fprintf(stderr,
		    "usage: daemon_latency [-v] LOG REC N [TIMEOUT_MS]\n");
		return 2;
	}
	n = (int)strtol(argv[3], NULL, 10);
	timeout_ms = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 5000;
	lfd = open(argv[1], O_WRONLY | O_APPEND | O_CLOEXEC);
	rfd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (lfd < 0 || rfd < 0 || n <= 0) {
		perror("open");
		return 2;
	}
	off = lseek(rfd, 0, SEEK_END);
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	inotify_add_watch(ifd, argv[2], IN_MODIFY);
	lat = calloc((size_t)n, sizeof(*lat));
	for (int i = 0; i < n; i++) {
		char ip[64], needle[80];
		double t0, deadline;
		int found = 0;

		snprintf(ip, sizeof(ip), "10.%d.%d.%d", 100 + (i >> 16) % 100,
		    (i >> 8) & 255, (i & 255) | 1);
		snprintf(needle, sizeof(needle), "ban %s\n", ip);
		append(lfd, ip);
		append(lfd, ip);
		/* let the daemon see the first two lines on their own */
		usleep(2000);
		t0 = mono_ms();
		append(lfd, ip);
		deadline = t0 + timeout_ms;
		while (!found) {
			struct pollfd p = {ifd, POLLIN, 0};
			char ev[4096];
			double left = deadline - mono_ms();

			found = rec_has(
			    rfd, &off, acc, &acclen, sizeof(acc), needle);
			if (found || left <= 0)
				break;
			if (poll(&p, 1, (int)left + 1) > 0)
				while (read(ifd, ev, sizeof(ev)) > 0)
					;
		}
		if (!found) {
			fprintf(stderr,
			    "daemon_latency: %s not banned within "
			    "%d ms\n",
			    ip, timeout_ms);
			return 1;
		}
		lat[i] = mono_ms() - t0;
		if (verbose)
			printf("%s %.3f\n", ip, lat[i]);
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_dbl);
	printf("bans %d p50 %.3f p99 %.3f max %.3f (ms)\n", n, lat[n / 2],
	    lat[(int)((n - 1) * 0.99)], lat[n - 1]);
	free(lat);
	return 0;
}
