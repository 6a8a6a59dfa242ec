/*
 * report_sink: the report socket (report.h) alone in a libuv loop, for
 * end-to-end tests of `warden report` and for bench/report.sh. Prints
 * each report it receives (unless --quiet) as
 *
 *   fail imap 192.0.2.7 user=alice uid=0 gid=0
 *
 * and at exit one line of counters:
 *
 *   stats received=N delivered=N denied=N rate=N oversized=N
 *         malformed=N unrouted=N fds=N senders=N wakeups=N
 *         budget_hits=N secs=S per_s=R maxrss_kib=K
 *
 * where secs is the time from the first to the last datagram delivered
 * and per_s = (delivered - 1) / secs.
 *
 *   report_sink [--group GID] [--users LIST] [--groups LIST]
 *               [--rate R/B] [--global R/B] [--unlimited]
 *               [--services A,B] [--count N] [--timeout SEC] [--quiet]
 *               [--budget N] SOCKET
 *
 * --services lists the services "jails" receive (others are unrouted;
 * default: all). --count N exits once N datagrams were read; SIGINT,
 * SIGTERM and --timeout (default 60 s) end it too. Exit 0, or 1 when the
 * socket could not be created.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "log.h"
#include "report.h"
#include "strv.h"
#include "xmalloc.h"

static struct report_server *srv;
static struct strv services = STRV_INIT;
static bool quiet;
static uint64_t count, first_ns, last_ns, ndeliv;
static uv_timer_t timer;
static uv_check_t check;
static uv_signal_t sigs[2];

static bool
handler(void *arg, const struct report_msg *m, const struct report_peer *p,
    double now)
{
	char buf[REPORT_MAX_MSG + 1];

	(void)arg;
	(void)now;
	if (services.n > 0 && strv_find(&services, m->service) < 0)
		return false;
	last_ns = uv_hrtime();
	if (ndeliv++ == 0)
		first_ns = last_ns;
	if (!quiet) {
		report_format(m, buf, sizeof(buf));
		printf("%s uid=%u gid=%u\n", buf, (unsigned)p->uid,
		    (unsigned)p->gid);
		fflush(stdout);
	}
	return true;
}

static void
finish(void)
{
	struct report_stats st;
	struct rusage ru;
	double secs = (double)(last_ns - first_ns) / 1e9;

	if (srv == NULL)
		return;
	report_server_stats(srv, &st);
	getrusage(RUSAGE_SELF, &ru);
	printf("stats received=%llu delivered=%llu denied=%llu rate=%llu "
	       "oversized=%llu malformed=%llu unrouted=%llu fds=%llu "
	       "senders=%zu wakeups=%llu budget_hits=%llu secs=%.3f "
	       "per_s=%.0f maxrss_kib=%ld\n",
	    (unsigned long long)st.received, (unsigned long long)st.delivered,
	    (unsigned long long)st.dropped_denied,
	    (unsigned long long)st.dropped_rate,
	    (unsigned long long)st.dropped_oversized,
	    (unsigned long long)st.dropped_malformed,
	    (unsigned long long)st.dropped_unrouted,
	    (unsigned long long)st.fds_closed, st.senders,
	    (unsigned long long)st.wakeups, (unsigned long long)st.budget_hits,
	    secs, secs > 0 ? (double)(ndeliv - 1) / secs : 0.0, ru.ru_maxrss);
	fflush(stdout);
	report_server_free(srv);
	srv = NULL;
	uv_close((uv_handle_t *)&timer, NULL);
	uv_close((uv_handle_t *)&check, NULL);
	uv_close((uv_handle_t *)&sigs[0], NULL);
	uv_close((uv_handle_t *)&sigs[1], NULL);
}

static void
on_check(uv_check_t *h)
{
	struct report_stats st;

	(void)h;
	if (srv == NULL || count == 0)
		return;
	report_server_stats(srv, &st);
	if (st.received >= count)
		finish();
}

static void
on_timeout(uv_timer_t *t)
{
	(void)t;
	finish();
}

static void
on_signal(uv_signal_t *h, int sig)
{
	(void)h;
	(void)sig;
	finish();
}

/* "R/B" or "R": rate and burst. */
static void
parse_rate(const char *s, double *rate, double *burst)
{
	char *end;

	*rate = strtod(s, &end);
	*burst = *end == '/' ? strtod(end + 1, NULL) : 0;
}

int
main(int argc, char **argv)
{
	struct report_opts o = {0};
	struct report_acl acl = REPORT_ACL_INIT;
	uv_loop_t *loop = uv_default_loop();
	double timeout = 60;
	char err[512];
	int i;

	for (i = 1; i < argc - 1; i++) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--quiet") == 0) {
			quiet = true;
			continue;
		}
		if (strcmp(a, "--unlimited") == 0) {
			o.sender_rate = o.global_rate = -1;
			continue;
		}
		if (strcmp(a, "--group") == 0) {
			o.has_group = true;
			o.group = (gid_t)strtoul(v, NULL, 10);
		} else if (strcmp(a, "--users") == 0) {
			if (report_acl_add_users(&acl, v, err, sizeof(err)))
				fprintf(stderr, "report_sink: %s\n", err);
		} else if (strcmp(a, "--groups") == 0) {
			if (report_acl_add_groups(&acl, v, err, sizeof(err)))
				fprintf(stderr, "report_sink: %s\n", err);
		} else if (strcmp(a, "--rate") == 0) {
			parse_rate(v, &o.sender_rate, &o.sender_burst);
		} else if (strcmp(a, "--global") == 0) {
			parse_rate(v, &o.global_rate, &o.global_burst);
		} else if (strcmp(a, "--services") == 0) {
			for (const char *p = v; *p;) {
				size_t n = strcspn(p, ",");

				if (n > 0)
					strv_take(&services, xstrndup(p, n));
				p += n + (p[n] == ',');
			}
		} else if (strcmp(a, "--count") == 0) {
			count = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--timeout") == 0) {
			timeout = strtod(v, NULL);
		} else if (strcmp(a, "--budget") == 0) {
			o.budget = (unsigned)strtoul(v, NULL, 10);
		} else {
			break;
		}
		i++;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: report_sink [options] SOCKET\n");
		return 2;
	}
	wlog_set_level(WLOG_WARNING);
	o.path = argv[i];
	o.acl = &acl;
	if (report_server_new(
	        loop, &o, handler, NULL, &srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "report_sink: %s\n", err);
		return 1;
	}
	report_acl_cleanup(&acl);
	uv_timer_init(loop, &timer);
	uv_timer_start(&timer, on_timeout, (uint64_t)(timeout * 1000), 0);
	uv_check_init(loop, &check);
	uv_check_start(&check, on_check);
	uv_signal_init(loop, &sigs[0]);
	uv_signal_start(&sigs[0], on_signal, SIGINT);
	uv_signal_init(loop, &sigs[1]);
	uv_signal_start(&sigs[1], on_signal, SIGTERM);
	/* the socket has its final mode and owner, SIGTERM prints the stats */
	fprintf(stderr, "ready\n");
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	strv_cleanup(&services);
	return 0;
}
