/*
 * report_flood: sends N reports to a report socket from K processes, for
 * bench/report.sh and floods by hand. Each process sends N/K reports
 * "fail SERVICE 10.K.X.Y user=uNN" (distinct addresses) with blocking
 * sends, one datagram per sendto(), or B per sendmmsg() with --batch B.
 * With --uid-base U, process k runs as uid U+k (gid --gid, supplementary
 * group --sock-group) so that each is a distinct sender; otherwise all
 * run as the caller. Prints
 *
 *   sent=N failed=N secs=S per_s=R
 *
 * (wall time from the first send to the last sender's exit) and exits 0
 * when every report was sent.
 *
 *   report_flood [--senders K] [--batch B] [--service S] [--uid-base U]
 *                [--gid G] [--sock-group G] SOCKET N
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXBATCH 256

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends n reports from process k; returns how many failed. */
static unsigned long
sender(const char *path, unsigned k, unsigned long n, unsigned batch,
    const char *service)
{
	static char bufs[MAXBATCH][128];
	struct mmsghdr mm[MAXBATCH];
	struct iovec iov[MAXBATCH];
	struct sockaddr_un sa;
	struct timeval tv = {30, 0};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned long failed = 0, i = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(mm, 0, sizeof(mm));
	while (i < n) {
		unsigned b = n - i < batch ? (unsigned)(n - i) : batch;

		for (unsigned j = 0; j < b; j++, i++) {
			int len = snprintf(bufs[j], sizeof(bufs[j]),
			    "fail %s 10.%u.%lu.%lu user=u%lu", service, k & 255,
			    (i >> 8) & 255, i & 255, i % 97);

			iov[j].iov_base = bufs[j];
			iov[j].iov_len = (size_t)len;
			mm[j].msg_hdr.msg_iov = &iov[j];
			mm[j].msg_hdr.msg_iovlen = 1;
			mm[j].msg_hdr.msg_name = &sa;
			mm[j].msg_hdr.msg_namelen = sizeof(sa);
		}
		if (b == 1) {
			if (sendto(fd, iov[0].iov_base, iov[0].iov_len, 0,
			        (struct sockaddr *)&sa, sizeof(sa)) < 0)
				failed++;
		} else {
			unsigned done = 0;

			while (done < b) {
				int r = sendmmsg(fd, mm + done, b - done, 0);

				if (r <= 0) {
					failed += b - done;
					break;
				}
				done += (unsigned)r;
			}
		}
	}
	close(fd);
	return failed;
}

int
main(int argc, char **argv)
{
	unsigned senders = 1, batch = 1;
	long uid_base = -1, gid = -1, sock_group = -1;
	const char *service = "bench";
	unsigned long n, failed = 0;
	pid_t pids[256];
	int fds[256][2];
	double t0, secs;
	int i;

	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--senders") == 0)
			senders = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--batch") == 0)
			batch = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--service") == 0)
			service = v;
		else if (strcmp(a, "--uid-base") == 0)
			uid_base = strtol(v, NULL, 10);
		else if (strcmp(a, "--gid") == 0)
			gid = strtol(v, NULL, 10);
		else if (strcmp(a, "--sock-group") == 0)
			sock_group = strtol(v, NULL, 10);
		else
			break;
	}
	if (argc - i != 2 || senders == 0 || senders > 256 || batch == 0 ||
	    batch > MAXBATCH) {
		fprintf(stderr,
		    "usage: report_flood [--senders K] [--batch B] "
		    "[--service S] [--uid-base U] [--gid G] "
		    "[--sock-group G] SOCKET N\n");
		return 2;
	}
	n = strtoul(argv[i + 1], NULL, 10);
	t0 = mono();
	for (unsigned k = 0; k < senders; k++) {
		unsigned long share = n / senders + (k < n % senders);

		if (pipe(fds[k]) != 0)
			return 1;
		pids[k] = fork();
		if (pids[k] == 0) {
			unsigned long f;

			if (uid_base >= 0) {
				gid_t g =
				    (gid_t)(sock_group >= 0 ? sock_group : 0);
				gid_t pg = (gid_t)(gid >= 0 ? gid : 65534);
				uid_t u = (uid_t)(uid_base + k);

				if (setgroups(sock_group >= 0 ? 1 : 0, &g) !=
				        0 ||
				    setresgid(pg, pg, pg) != 0 ||
				    setresuid(u, u, u) != 0)
					_exit(99);
			}
			f = sender(argv[i], k, share, batch, service);
			if (write(fds[k][1], &f, sizeof(f)) != sizeof(f))
				_exit(98);
			_exit(0);
		}
		close(fds[k][1]);
	}
	for (unsigned k = 0; k < senders; k++) {
		unsigned long f = 0;
		int status;

		if (read(fds[k][0], &f, sizeof(f)) != sizeof(f))
			f = n / senders;
		failed += f;
		close(fds[k][0]);
		waitpid(pids[k], &status, 0);
	}
	secs = mono() - t0;
	printf("sent=%lu failed=%lu secs=%.3f per_s=%.0f\n", n - failed, failed,
	    secs, secs > 0 ? (double)(n - failed) / secs : 0.0);
	return failed == 0 ? 0 : 1;
}
