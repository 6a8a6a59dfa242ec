/*
 * `warden report fail|ok SERVICE ADDRESS [user=LOGIN] [-S SOCKET]`: sends
 * one report to wardend's report socket (report.h), for scripts and
 * tests. The message is checked with the daemon's own parser first, so a
 * bad one is refused here with the reason instead of being dropped
 * silently by the daemon. A datagram has no reply: exit status 0 means
 * the kernel queued it, not that a jail counted it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmds.h"
#include "report.h"
#include "sbuf.h"

#define SEND_TIMEOUT_S 5 /* a full queue (daemon stuck) ends the wait */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: warden report fail|ok SERVICE ADDRESS [user=LOGIN] "
	    "[-S SOCKET]\n"
	    "\n"
	    "Sends one report to wardend's report socket (default %s,\n"
	    "or $WARDEN_REPORT_SOCKET). A jail with backend = report and\n"
	    "service = SERVICE counts a 'fail' like a failure found in a "
	    "log.\n"
	    "Exit status: 0 sent, 1 not sent, 2 bad usage or message.\n",
	    REPORT_DEFAULT_SOCKET);
}

int
cmd_report(int argc, char **argv)
{
	const char *sock = getenv("WARDEN_REPORT_SOCKET");
	const char *words[4];
	size_t nwords = 0;
	struct sbuf msg = SBUF_INIT;
	struct report_msg m;
	enum report_err e;
	struct sockaddr_un sa;
	struct timeval tv = {SEND_TIMEOUT_S, 0};
	int fd = -1, rc = 2;
	bool dashdash = false;

	if (sock == NULL || sock[0] == '\0')
		sock = REPORT_DEFAULT_SOCKET;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!dashdash && a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "--") == 0) {
				dashdash = true;
			} else if (strcmp(a, "-h") == 0 ||
			    strcmp(a, "--help") == 0) {
				usage(stdout);
				rc = 0;
				goto out;
			} else if ((strcmp(a, "-S") == 0 ||
			               strcmp(a, "--socket") == 0) &&
			    i + 1 < argc) {
				sock = argv[++i];
			} else if (strncmp(a, "--socket=", 9) == 0) {
				sock = a + 9;
			} else {
				fprintf(stderr,
				    "warden report: unknown option '%s'\n", a);
				usage(stderr);
				goto out;
			}
			continue;
		}
		if (nwords == 4) {
			fprintf(stderr,
			    "warden report: too many arguments (a login "
			    "with a space?)\n");
			usage(stderr);
			goto out;
		}
		words[nwords++] = a;
	}
	if (nwords < 3) {
		usage(stderr);
		goto out;
	}
	for (size_t i = 0; i < nwords; i++) {
		if (i > 0)
			sbuf_addch(&msg, ' ');
		sbuf_addstr(&msg, words[i]);
	}
	/* an argument with a space would pass as two fields: refuse it */
	for (size_t i = 0; i < nwords; i++)
		if (words[i][0] == '\0' || strchr(words[i], ' ') != NULL) {
			fprintf(stderr,
			    "warden report: argument %zu is empty or holds a "
			    "space\n",
			    i + 1);
			goto out;
		}
	e = report_parse(msg.s, msg.len, &m);
	if (e != REPORT_OK_PARSED) {
		fprintf(stderr, "warden report: %s\n", report_strerror(e));
		goto out;
	}
	rc = 1;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(
		    stderr, "warden report: socket path too long: %s\n", sock);
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "warden report: socket: %s\n", strerror(errno));
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if (sendto(fd, msg.s, msg.len, 0, (struct sockaddr *)&sa, sizeof(sa)) !=
	    (ssize_t)msg.len) {
		int err = errno;

		fprintf(stderr, "warden report: cannot send to %s: %s%s\n",
		    sock, strerror(err),
		    err == ECONNREFUSED || err == ENOENT
		        ? " (is wardend running with a report jail?)"
		        : err == EAGAIN || err == EWOULDBLOCK
		        ? " (wardend is not reading its report socket)"
		        : "");
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	sbuf_cleanup(&msg);
	return rc;
}
