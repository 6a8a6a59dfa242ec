/*
 * Bench tool: what reading a journal costs in libsystemd alone, the floor
 * under any sd-journal reader (Warden's src_journal and python-systemd,
 * which fail2ban uses, call the same functions per entry). Reads every
 * entry of the given journal files from the head, several ways, and prints
 * CPU nanoseconds per entry for each:
 *
 *   next           sd_journal_next only
 *   realtime       next + sd_journal_get_realtime_usec
 *   enum           next + every field enumerated once, no realtime
 *   avail          next + sd_journal_enumerate_available_data
 *   getdata        next + sd_journal_get_data for each field a line
 *                  needs (one scan of the entry per field)
 *   warden         next + realtime + every field enumerated once (what
 *                  src_journal asks of libsystemd per entry; its cursor
 *                  is taken once per batch)
 *   python         next + every field + realtime + monotonic + cursor
 *                  (python-systemd's Reader.get_next per entry)
 *
 *   journal_floor [-m FIELD=VALUE] [-r ROUNDS] FILE...
 *
 * With -m, the match is applied as the jail's journalmatch would be. Best
 * of ROUNDS (default 3). Exit status 0, or 1 when the files cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

enum mode {
	M_NEXT,
	M_REALTIME,
	M_ENUM,
	M_AVAIL,
	M_GETDATA,
	M_WARDEN,
	M_PYTHON,
	M_END
};

static double
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One pass; returns entries read (or -1) and the CPU time in *ns. */
static long
pass(const char **files, const char *match, enum mode m, double *ns)
{
	sd_journal *j;
	long n = 0;
	double t0;
	size_t bytes = 0;

	if (sd_journal_open_files(&j, files, 0) < 0)
		return -1;
	if (match && sd_journal_add_match(j, match, 0) < 0) {
		sd_journal_close(j);
		return -1;
	}
	sd_journal_seek_head(j);
	t0 = cpu_ns();
	while (sd_journal_next(j) > 0) {
		const void *d;
		size_t l;
		uint64_t u;
		sd_id128_t boot;
		char *c;

		n++;
		if (m == M_NEXT)
			continue;
		if (m == M_AVAIL) {
			sd_journal_restart_data(j);
			while (
			    sd_journal_enumerate_available_data(j, &d, &l) > 0)
				bytes += l;
			continue;
		}
		if (m == M_GETDATA) {
			/* the fields a line needs, one lookup each */
			static const char *const fld[] = {"MESSAGE",
			    "_HOSTNAME", "SYSLOG_IDENTIFIER", "SYSLOG_PID",
			    "_PID", "_SOURCE_REALTIME_TIMESTAMP"};

			for (size_t i = 0; i < sizeof(fld) / sizeof(*fld); i++)
				if (sd_journal_get_data(j, fld[i], &d, &l) >= 0)
					bytes += l;
			continue;
		}
		if (m != M_ENUM)
			sd_journal_get_realtime_usec(j, &u);
		if (m == M_REALTIME)
			continue;
		sd_journal_restart_data(j);
		while (sd_journal_enumerate_data(j, &d, &l) > 0)
			bytes += l;
		if (m == M_PYTHON) {
			sd_journal_get_monotonic_usec(j, &u, &boot);
			if (sd_journal_get_cursor(j, &c) >= 0)
				free(c);
		}
	}
	*ns = cpu_ns() - t0;
	sd_journal_close(j);
	(void)bytes;
	return n;
}

int
main(int argc, char **argv)
{
	static const char *names[] = {
	    "next", "realtime", "enum", "avail", "getdata", "warden", "python"};
	const char *match = NULL;
	int rounds = 3, c;

	while ((c = getopt(argc, argv, "m:r:")) != -1) {
		switch (c) {
		case 'm':
			match = optarg;
			break;
		case 'r':
			rounds = (int)strtol(optarg, NULL, 10);
			if (rounds < 1)
				rounds = 1;
			break;
		default:
			fprintf(stderr,
			    "usage: journal_floor [-m FIELD=VALUE] "
			    "[-r ROUNDS] FILE...\n");
			return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "journal_floor: no journal file\n");
		return 1;
	}
	for (int m = M_NEXT; m < M_END; m++) {
		double best = 0;
		long n = 0;

		for (int r = 0; r < rounds; r++) {
			double ns;

			n = pass((const char **)argv + optind, match,
			    (enum mode)m, &ns);
			if (n < 0) {
				fprintf(stderr, "journal_floor: cannot read\n");
				return 1;
			}
			if (r == 0 || ns < best)
				best = ns;
		}
		printf("%-8s entries=%ld ns_per_entry=%.0f ms_total=%.1f\n",
		    names[m], n, n > 0 ? best / (double)n : 0, best / 1e6);
	}
	return 0;
}
