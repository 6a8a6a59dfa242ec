/*
 * Test tool: sends sshd-like failures to a running journald through the
 * native protocol (sd_journal_send), one every INTERVAL_US, printing the
 * wall-clock time just before each send, so a follower's output can be
 * joined with it to measure latency:
 *   S <addr> <usec>
 *
 * journal_send N [-i IDENT] [-a ADDR] [-r REPEAT] [-w INTERVAL_US] [-s FIRST]
 *   entry k (from FIRST) comes from 10.9.a.b derived from k, or from ADDR;
 *   each address is sent REPEAT times in a row (default 1).
 * Exit status 0, or 1 when a send fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

static unsigned long long
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL;
}

int
main(int argc, char **argv)
{
	const char *ident = "sshd", *addr = NULL;
	unsigned long n, repeat = 1, interval = 0, first = 0;
	int c;

	if (argc < 2) {
		fprintf(stderr,
		    "usage: journal_send N [-i IDENT] [-a ADDR] "
		    "[-r REPEAT] [-w INTERVAL_US] [-s FIRST]\n");
		return 1;
	}
	n = strtoul(argv[1], NULL, 10);
	optind = 2;
	for (;;) {
		c = getopt(argc, argv, "i:a:r:w:s:");
		if (c == -1)
			break;
		switch (c) {
		case 'i':
			ident = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'r':
			repeat = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			interval = strtoul(optarg, NULL, 10);
			break;
		case 's':
			first = strtoul(optarg, NULL, 10);
			break;
		default:
			return 1;
		}
	}
	for (unsigned long k = first; k < first + n; k++) {
		char ip[64];

		if (addr)
			snprintf(ip, sizeof(ip), "%s", addr);
		else
			snprintf(ip, sizeof(ip), "10.9.%lu.%lu", (k >> 8) & 255,
			    k & 255);
		for (unsigned long r = 0; r < repeat; r++) {
			printf("S %s %llu\n", ip, now_usec());
			if (sd_journal_send(
			        "MESSAGE=Failed password for invalid "
			        "user u%lu from %s port %lu ssh2",
			        k, ip, 1024 + k % 60000, "SYSLOG_IDENTIFIER=%s",
			        ident, "PRIORITY=5", NULL) < 0) {
				perror("sd_journal_send");
				return 1;
			}
			if (interval)
				usleep((useconds_t)interval);
		}
	}
	fflush(stdout);
	return 0;
}
