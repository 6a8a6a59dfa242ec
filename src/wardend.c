/*
 * wardend, Warden's daemon: reads the configuration (an /etc/warden or
 * /etc/fail2ban tree, or the built-in default when there is none), opens
 * the log, the database and the control socket, starts the jails and runs
 * one libuv loop until SIGTERM or `warden stop`. SIGHUP and `warden
 * reload` re-read the configuration and swap it; SIGUSR1 reopens the log
 * file. Type=notify under systemd (READY/RELOADING/STOPPING).
 *
 * This file is the wiring: options, configuration, daemonizing, startup
 * and shutdown order, the per-tick database commit, reload. The jails'
 * behaviour is in jail.c, the control commands in server.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "cmds.h"
#include "conf.h"
#include "ctl_client.h"
#include "ctl_server.h"
#include "db.h"
#include "dl_systemd.h"
#include "ignore.h"
#include "ini.h"
#include "jail.h"
#include "log.h"
#include "memtrim.h"
#include "report.h"
#include "resolve.h"
#include "src_file.h"
#include "strv.h"
#include "timeval.h"
#include "wardend.h"
#include "xmalloc.h"

#define PURGE_INTERVAL_MS   (3600 * 1000) /* fail2ban purges hourly */
#define POSSAVE_INTERVAL_MS (10 * 1000)   /* lazy log position saving */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "Usage: wardend [OPTIONS]\n\n"
	    "Warden's daemon: watches log files and bans the addresses that "
	    "fail too often.\n\n"
	    "Options:\n"
	    "    -c, --conf <DIR>        configuration directory (default "
	    "%s;\n"
	    "                            without it the built-in sshd jail "
	    "runs)\n"
	    "    -s, --socket <FILE>     control socket path\n"
	    "    -p, --pidfile <FILE>    pid file path\n"
	    "    -f                      stay in the foreground\n"
	    "    -b                      detach into the background "
	    "(default)\n"
	    "    -x                      remove a stale socket file\n"
	    "    --logtarget <TARGET>    FILE, STDOUT, STDERR, SYSLOG or "
	    "SYSTEMD-JOURNAL\n"
	    "    --loglevel <LEVEL>      CRITICAL ... HEAVYDEBUG or a "
	    "number\n"
	    "    --syslogsocket auto|<FILE>\n"
	    "    --dbfile <PATH>         database file, :memory: or None\n"
	    "    --no-firewall           run no ban action (bans are logged "
	    "and\n"
	    "                            recorded only), e.g. to try the "
	    "built-in\n"
	    "                            default outside a network "
	    "namespace\n"
	    "    -t, --test              test the configuration and exit\n"
	    "    --pname <NAME>          accepted for compatibility\n"
	    "    --async                 accepted for compatibility\n"
	    "    -h, --help              this text\n"
	    "    -V, --version           the version\n",
	    WARDEND_DEFAULT_CONFDIR);
}

/* Returns 0, 1 (done, exit 0), or -1 (bad usage). */
static int
parse_opts(int argc, char **argv, struct warden_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->background = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		char name[64];
		size_t n;

		if (a[0] != '-' || a[1] == '\0') {
			fprintf(
			    stderr, "wardend: unexpected argument '%s'\n", a);
			return -1;
		}
		if (a[1] != '-') {
			/* short: -f -b -x -t -h -V, or -c/-s/-p VALUE */
			char c = a[1];

			if (strchr("fbxthV", c) != NULL && a[2] == '\0') {
				if (c == 'f')
					o->background = false;
				else if (c == 'b')
					o->background = true;
				else if (c == 'x')
					o->force = true;
				else if (c == 't')
					o->test = true;
				else if (c == 'h') {
					usage(stdout);
					return 1;
				} else {
					printf("%s\n", WARDEN_VERSION);
					return 1;
				}
				continue;
			}
			if (strchr("csp", c) == NULL) {
				fprintf(
				    stderr, "wardend: unknown option %s\n", a);
				return -1;
			}
			val = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
			if (val == NULL) {
				fprintf(
				    stderr, "wardend: %s needs a value\n", a);
				return -1;
			}
			if (c == 'c') {
				o->confdir = val;
				o->confdir_given = true;
			} else if (c == 's') {
				o->socket = val;
			} else {
				o->pidfile = val;
			}
			continue;
		}
		eq = strchr(a + 2, '=');
		n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		if (n >= sizeof(name)) {
			fprintf(stderr, "wardend: unknown option %s\n", a);
			return -1;
		}
		memcpy(name, a + 2, n);
		name[n] = '\0';
		if (strcmp(name, "help") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(name, "version") == 0) {
			printf("Warden v%s\n", WARDEN_VERSION);
			return 1;
		}
		if (strcmp(name, "test") == 0) {
			o->test = true;
			continue;
		}
		if (strcmp(name, "async") == 0)
			continue;
		if (strcmp(name, "no-firewall") == 0) {
			o->no_firewall = true;
			continue;
		}
		if (strcmp(name, "conf") != 0 && strcmp(name, "socket") != 0 &&
		    strcmp(name, "pidfile") != 0 &&
		    strcmp(name, "logtarget") != 0 &&
		    strcmp(name, "loglevel") != 0 &&
		    strcmp(name, "syslogsocket") != 0 &&
		    strcmp(name, "dbfile") != 0 && strcmp(name, "pname") != 0) {
			fprintf(stderr, "wardend: unknown option --%s\n", name);
			return -1;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		if (val == NULL) {
			fprintf(stderr, "wardend: --%s needs a value\n", name);
			return -1;
		}
		if (strcmp(name, "conf") == 0) {
			o->confdir = val;
			o->confdir_given = true;
		} else if (strcmp(name, "socket") == 0)
			o->socket = val;
		else if (strcmp(name, "pidfile") == 0)
			o->pidfile = val;
		else if (strcmp(name, "logtarget") == 0)
			o->logtarget = val;
		else if (strcmp(name, "loglevel") == 0)
			o->loglevel = val;
		else if (strcmp(name, "syslogsocket") == 0)
			o->syslogsocket = val;
		else if (strcmp(name, "dbfile") == 0)
			o->dbfile = val;
		else if (strcmp(name, "pname") == 0)
			;
		else {
			fprintf(stderr, "wardend: unknown option --%s\n", name);
			return -1;
		}
	}
	if (o->confdir == NULL)
		o->confdir = WARDEND_DEFAULT_CONFDIR;
	return 0;
}

static bool
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Loads the configuration: the directory when it exists, else (for the
 * default directory) the built-in one. Returns 0 with *out and diags, or
 * -1 with a message in err.
 */
static int
load_conf(struct warden *w, struct conf **out, struct diags *d, char *err,
    size_t errlen)
{
	const char *dir = w->opts.confdir;
	char *tmp = NULL;
	int rc;

	*out = NULL;
	if (!is_dir(dir)) {
		if (w->opts.confdir_given &&
		    strcmp(dir, WARDEND_DEFAULT_CONFDIR) != 0) {
			snprintf(err, errlen,
			    "Configuration directory %s does not exist", dir);
			return -1;
		}
		/* journald-only systems have no auth.log */
		tmp = default_conf_materialize(
		    access(DEFAULT_CONF_AUTHLOG, F_OK) != 0,
		    !w->opts.no_firewall, err, errlen);
		if (tmp == NULL)
			return -1;
		w->builtin = true;
		dir = tmp;
	} else {
		w->builtin = false;
	}
	/* a jail whose log file does not exist yet runs and waits for it */
	rc = conf_load_flags(dir, CONF_LOAD_DAEMON, out, d);
	if (tmp != NULL) {
		default_conf_remove(tmp);
		free(tmp);
	}
	if (rc != 0) {
		snprintf(err, errlen, "Cannot read the configuration in %s",
		    w->opts.confdir);
		return -1;
	}
	return 0;
}

static void
log_diags(const struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		wlog(d->v[i].level == DIAG_ERROR ? WLOG_ERROR : WLOG_WARNING,
		    WLOG_SERVER, "%s", s);
		free(s);
	}
}

/* -t: the configuration test of fail2ban-server -t. */
static int
run_test(struct warden *w)
{
	struct diags d = DIAGS_INIT;
	struct conf *c = NULL;
	char err[512];
	int rc = 255;

	if (load_conf(w, &c, &d, err, sizeof(err)) != 0) {
		diags_print(&d, stderr);
		fprintf(stderr, "ERROR: %s\n", err);
		goto out;
	}
	diags_print(&d, stderr);
	for (size_t i = 0; i < c->nbroken; i++)
		fprintf(stderr, "jail '%s' would be disabled: %s\n",
		    c->broken[i].name, c->broken[i].error);
	{
		struct jail_env env = {0};

		for (size_t i = 0; i < c->njails; i++) {
			struct diags jd = DIAGS_INIT;
			struct jail *j;

			env.now = warden_now;
			j = jail_new(&c->jails[i], &env, &jd);
			if (j == NULL) {
				diags_print(&jd, stderr);
				fprintf(stderr,
				    "jail '%s' would be disabled: bad "
				    "configuration\n",
				    c->jails[i].name);
				d.nerrors++;
			}
			jail_free(j);
			diags_cleanup(&jd);
		}
	}
	if (d.nerrors == 0) {
		printf("OK: configuration test is successful\n");
		rc = 0;
	} else {
		fprintf(stderr, "ERROR: test configuration failed\n");
	}
out:
	conf_free(c);
	diags_cleanup(&d);
	return rc;
}

/* ---- background ---- */

/*
 * Detaches: the parent waits on a pipe until the child reports that it
 * listens (exit 0) or fails (exit 255). Returns the write end in the
 * child, -1 in the foreground.
 */
static int
daemonize(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		perror("wardend: pipe");
		exit(255);
	}
	pid = fork();
	if (pid < 0) {
		perror("wardend: fork");
		exit(255);
	}
	if (pid > 0) {
		char c = 0;
		ssize_t n;

		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == '1' ? 0 : 255);
	}
	close(p[0]);
	setsid();
	/* A second fork so the daemon is no session leader. */
	pid = fork();
	if (pid < 0)
		_exit(255);
	if (pid > 0)
		_exit(0);
	return p[1];
}

static void
ready_report(int fd, bool ok)
{
	if (fd < 0)
		return;
	if (ok) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (write(fd, "1", 1) < 0) {
			/* the parent is gone: nothing to tell */
		}
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			close(nul);
		}
	}
	close(fd);
}

/* ---- pid file ---- */

static void
make_parent_dir(const char *path, mode_t mode)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, mode) == 0)
			(void)chmod(dir, mode); /* the umask is 077 */
		else if (errno != EEXIST)
			wlog(WLOG_WARNING, WLOG_SERVER, "Cannot create %s: %s",
			    dir, strerror(errno));
	}
	free(dir);
}

static void
write_pidfile(const char *path)
{
	FILE *fp;

	make_parent_dir(path, 0755);
	fp = fopen(path, "w");
	if (fp == NULL) {
		wlog(WLOG_ERROR, WLOG_SERVER, "Unable to create PID file: %s",
		    strerror(errno));
		return;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
}

/* ---- WAL checkpoints ---- */

/*
 * A checkpoint copies the WAL into the database file and fsyncs both: 5 to
 * 20 ms on a busy disk, every ~100 bans. Done in a commit (SQLite's
 * automatic checkpoint), it made the ban whose commit crossed the
 * threshold wait that long (bench/nft.sh: p99 10 ms). So the daemon runs
 * it on a second connection in libuv's work queue (libuv's documented way
 * to run blocking file work; the loop stays the only thread of ours that
 * touches the jails or the main connection). A commit stays what it was:
 * durable against kill -9 once db_flush returns. If the checkpoints fall
 * behind, the commit past DB_CKPT_HARD checkpoints in place (db.c).
 */
static void
ckpt_work(uv_work_t *req)
{
	struct warden *w = req->data;
	uint64_t t0 = uv_hrtime();

	w->ckpt_rc = db_ckpt_run(w->ckpt);
	w->ckpt_ns = uv_hrtime() - t0;
}

static void
ckpt_after(uv_work_t *req, int status)
{
	static struct wlog_rate rate = WLOG_RATE_INIT(3600);
	struct warden *w = req->data;
	unsigned long sup = 0;
	int frames, done;

	w->ckpt_busy = false;
	db_ckpt_result(w->ckpt, &frames, &done);
	if (status == 0 && w->ckpt_rc < 0 &&
	    wlog_rate_allow(&rate, warden_now(), &sup))
		wlog(WLOG_WARNING, WLOG_DATABASE, "%s%s",
		    db_ckpt_error(w->ckpt),
		    sup ? " (repeated errors suppressed)" : "");
	else if (status == 0)
		wlog(WLOG_DEBUG, WLOG_DATABASE,
		    "WAL checkpoint: %d of %d pages in %.1f ms", done, frames,
		    (double)w->ckpt_ns / 1e6);
	if (w->db == NULL) { /* closed meanwhile (shutdown) */
		db_ckpt_free(w->ckpt);
		w->ckpt = NULL;
	}
}

/* After a commit: starts a checkpoint when the WAL is large enough. */
static void
ckpt_maybe(struct warden *w)
{
	if (w->ckpt == NULL || w->ckpt_busy || !db_ckpt_due(w->db))
		return;
	w->ckpt_work.data = w;
	if (uv_queue_work(w->loop, &w->ckpt_work, ckpt_work, ckpt_after) == 0)
		w->ckpt_busy = true;
}

/* ---- ticks ---- */

static void
commit_error(struct warden *w)
{
	static struct wlog_rate rate = WLOG_RATE_INIT(60);
	unsigned long sup = 0;

	if (wlog_rate_allow(&rate, warden_now(), &sup))
		wlog(WLOG_ERROR, WLOG_DATABASE,
		    "Database commit failed: %s (bans wait for it)%s",
		    db_last_error(w->db),
		    sup ? " (repeated errors suppressed)" : "");
}

void
warden_commit(struct warden *w)
{
	bool pending = false;

	for (size_t i = 0; i < w->njails; i++) {
		if (jail_has_pending(w->jails[i]))
			pending = true;
		jail_save_dirty(w->jails[i]);
	}
	/* also waits for a commit job out (db_pending counts its writes) */
	if (db_pending(w->db) > 0) {
		if (db_flush(w->db) != 0) {
			commit_error(w);
			return;
		}
		ckpt_maybe(w);
	}
	if (!pending)
		return;
	for (size_t i = 0; i < w->njails; i++)
		jail_commit(w->jails[i]);
}

/*
 * Commits in libuv's work queue. The SQLite writes of a flood's bans
 * (two inserts and three index entries a ban) were a third of the loop's
 * time; a tick now hands its queue to a commit job (db_flush_begin) and
 * the loop reads on while another core commits. One job at a time, in
 * order: the bans decided before a job started (jail_seal) are announced
 * ("Ban x", actions) only once it has committed, so the order commit ->
 * log line / action / client answer stays; a command handler's
 * warden_commit waits for the job out before it commits the rest. A
 * failed job's writes are replayed by the next commit, their bans wait.
 */
static void
dbjob_work(uv_work_t *req)
{
	struct warden *w = req->data;

	db_job_run(w->dbjob);
}

static void
dbjob_done(struct warden *w, struct db_job *job)
{
	int rc = db_job_end(w->db, job);

	if (w->db == NULL) /* closed meanwhile: it waited for the job */
		return;
	if (rc != 0)
		commit_error(w);
	if (rc < 0)
		return;
	for (size_t i = 0; i < w->njails; i++) {
		jail_sealed_durable(w->jails[i]);
		jail_commit_durable(w->jails[i]);
	}
	ckpt_maybe(w);
}

static void commit_async(struct warden *w);

static void
dbjob_after(uv_work_t *req, int status)
{
	struct warden *w = req->data;
	struct db_job *job = w->dbjob;

	(void)status; /* never cancelled: db_job_end runs it if need be */
	w->dbjob = NULL;
	dbjob_done(w, job);
	/* what was queued meanwhile goes at once: the job's own time
	 * batched it (a backlog's ticks would wait TICK_BATCH_MS) */
	if (w->db != NULL && !w->stopping && db_pending(w->db) > 0) {
		w->tick_commit = uv_now(w->loop);
		commit_async(w);
	}
}

/* Fewer queued writes than this are committed in the loop. */
#define COMMIT_JOB_MIN 64

/* The tick's commit: warden_commit with the writes in the work queue. */
static void
commit_async(struct warden *w)
{
	struct db_job *job;
	bool pending = false;

	if (w->dbjob != NULL)
		return; /* its end starts the next one */
	for (size_t i = 0; i < w->njails; i++) {
		if (jail_has_pending(w->jails[i]))
			pending = true;
		jail_save_dirty(w->jails[i]);
	}
	if (db_pending(w->db) == 0) {
		/* nothing to write: every ban waiting is durable */
		for (size_t i = 0; pending && i < w->njails; i++)
			jail_commit(w->jails[i]);
		return;
	}
	/* a few writes (a ban on a quiet loop) commit here: no thread hop
	 * in the ban latency, and a commit of a few rows is short */
	job =
	    db_pending(w->db) >= COMMIT_JOB_MIN ? db_flush_begin(w->db) : NULL;
	if (job == NULL) { /* or a read opened a transaction */
		warden_commit(w);
		return;
	}
	for (size_t i = 0; i < w->njails; i++)
		jail_seal(w->jails[i]);
	w->dbjob = job;
	w->dbwork.data = w;
	if (uv_queue_work(w->loop, &w->dbwork, dbjob_work, dbjob_after) != 0) {
		w->dbjob = NULL;
		dbjob_done(w, job); /* runs it here */
	}
}

/*
 * A loop iteration's end. When the loop goes on at once (a source reads a
 * backlog, or other work is ready: no wait for I/O), the commit may wait
 * for the next iterations, up to TICK_BATCH_MS after the last one: a
 * replay of a large log then commits a few hundred bans at a time instead
 * of a few dozen, for a fraction of the writes. A ban is still announced
 * only after its commit; a line that arrives on a quiet loop is committed
 * in its own iteration (no added latency).
 */
#define TICK_BATCH_MS 50

static void
tick(struct warden *w)
{
	uint64_t now = uv_now(w->loop);

	/* this turn's new bans into the kernel (before their commit), and
	 * bans a job made durable past JAIL_BATCH_MAX: a batch per turn */
	for (size_t i = 0; i < w->njails; i++) {
		jail_preban_flush(w->jails[i]);
		jail_commit_durable(w->jails[i]);
	}
	if (uv_backend_timeout(w->loop) == 0 &&
	    now - w->tick_commit < TICK_BATCH_MS)
		return;
	w->tick_commit = now;
	commit_async(w);
}

static void
on_tick(uv_check_t *h)
{
	tick(h->data);
}

static void
on_tick2(uv_prepare_t *h)
{
	tick(h->data);
}

/* Unmaps the code pages the start (or a reload, or the hour) mapped; see
 * memtrim.h. */
static void
trim_code(void)
{
	size_t n = mem_trim_code();

	wlog(
	    WLOG_DEBUG, WLOG_SERVER, "Code mappings dropped: %zu KiB", n >> 10);
}

static void
on_purge(uv_timer_t *t)
{
	struct warden *w = t->data;
	long n;

	if (w->db != NULL) {
		n = db_purge(w->db, warden_now(), w->dbpurgeage);
		if (n < 0)
			wlog(WLOG_ERROR, WLOG_DATABASE,
			    "Purge of the database failed: %s",
			    db_last_error(w->db));
		else
			wlog(WLOG_DEBUG, WLOG_DATABASE,
			    "Purge of the database: %ld rows", n);
	}
	trim_code(); /* code run once since the last trim is unmapped again */
}

static void
on_possave(uv_timer_t *t)
{
	struct warden *w = t->data;

	for (size_t i = 0; i < w->njails; i++)
		jail_save_positions(w->jails[i]);
}

struct jail *
warden_find_jail(struct warden *w, const char *name)
{
	for (size_t i = 0; i < w->njails; i++)
		if (strcmp(jail_name(w->jails[i]), name) == 0)
			return w->jails[i];
	return NULL;
}

/* ---- jails ---- */

static struct jail_env g_env; /* filled once in main; jails borrow it */

/*
 * A failure jail j counted: every running aggregate jail that lists j
 * counts it too, in-process (fail2ban's recidive needs a round trip
 * through its own log). An aggregate is never a member (conf.h), so this
 * does not recurse.
 */
static void
on_failed(void *arg, struct jail *j, const struct jail_failure *f)
{
	struct warden *w = arg;
	const char *name = jail_name(j);

	for (size_t i = 0; i < w->njails; i++)
		if (w->jails[i] != j && jail_has_member(w->jails[i], name))
			jail_feed(w->jails[i], name, f);
}

static void
jails_append(struct warden *w, struct jail *j)
{
	w->jails = xreallocarray(w->jails, w->njails + 1, sizeof(*w->jails));
	w->jails[w->njails++] = j;
}

static void
jails_remove(struct warden *w, struct jail *j)
{
	for (size_t i = 0; i < w->njails; i++)
		if (w->jails[i] == j) {
			memmove(&w->jails[i], &w->jails[i + 1],
			    (w->njails - i - 1) * sizeof(*w->jails));
			w->njails--;
			return;
		}
}

/* Creates and starts the jail cj; logs why when it cannot. */
static struct jail *
start_jail(struct warden *w, const struct conf_jail *cj)
{
	struct diags d = DIAGS_INIT;
	struct jail *j = jail_new(cj, &g_env, &d);

	log_diags(&d);
	diags_cleanup(&d);
	if (j == NULL) {
		wlog(WLOG_ERROR, WLOG_SERVER,
		    "Jail '%s' could not be created and stays disabled",
		    cj->name);
		return NULL;
	}
	jails_append(w, j);
	db_jail_add(w->db, cj->name);
	jail_start(j);
	return j;
}

static void
log_broken(const struct conf *c)
{
	for (size_t i = 0; i < c->nbroken; i++)
		wlog(WLOG_ERROR, WLOG_SERVER,
		    "Jail '%s' skipped because of errors in its configuration: "
		    "%s",
		    c->broken[i].name, c->broken[i].error);
}

/* ---- jails by name (control commands) ---- */

static void stop_jail(struct warden *w, struct jail *j, const char *restart);

int
warden_start_jail(struct warden *w, const char *name)
{
	const struct conf_jail *cj = conf_find_jail(w->conf, name);

	if (cj == NULL || warden_find_jail(w, name) != NULL)
		return -1;
	return start_jail(w, cj) != NULL ? 0 : -1;
}

void
warden_stop_jail(struct warden *w, struct jail *j)
{
	stop_jail(w, j, NULL);
}

const char *
warden_loglevel(const struct warden *w)
{
	return w->loglevel ? w->loglevel : "INFO";
}

int
warden_set_loglevel(struct warden *w, const char *level)
{
	int lv;
	char *up;

	if (wlog_level_parse(level, &lv) != 0)
		return -1;
	wlog_set_level(lv);
	up = xstrdup(level);
	for (char *p = up; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	free(w->loglevel);
	w->loglevel = up;
	return 0;
}

/* A jail being stopped: what to do once its actions are done. */
struct stopping {
	struct warden *w;
	struct jail *j;
	char *restart_name; /* start this jail of w->conf afterwards */
};

static void finish_shutdown(struct warden *w);
static unsigned g_stopping; /* jails whose stop is under way */

static void
jail_stopped(void *arg)
{
	struct stopping *s = arg;
	struct warden *w = s->w;

	db_jail_disable(w->db, jail_name(s->j));
	wlog(WLOG_INFO, WLOG_JAIL, "Jail '%s' stopped", jail_name(s->j));
	jail_free(s->j);
	if (s->restart_name != NULL && !w->stopping) {
		const struct conf_jail *cj =
		    conf_find_jail(w->conf, s->restart_name);

		if (cj != NULL && warden_find_jail(w, cj->name) == NULL)
			start_jail(w, cj);
	}
	free(s->restart_name);
	free(s);
	g_stopping--;
	if (w->stopping && g_stopping == 0)
		finish_shutdown(w);
}

/* Takes j out of the running list and stops it. */
static void
stop_jail(struct warden *w, struct jail *j, const char *restart_name)
{
	struct stopping *s = xcalloc(1, sizeof(*s));

	s->w = w;
	s->j = j;
	s->restart_name = restart_name ? xstrdup(restart_name) : NULL;
	jails_remove(w, j);
	jail_save_positions(j);
	g_stopping++;
	jail_stop(j, jail_stopped, s);
}

/* ---- reload ---- */

static void setup_report(struct warden *w);

int
warden_reload(struct warden *w, const char *name, bool restart, bool unban,
    bool if_exists, char *err, size_t errlen)
{
	struct diags d = DIAGS_INIT;
	struct conf *nc = NULL, *old;
	struct strv restarting = STRV_INIT;
	int rc = -1;

	(void)if_exists;
	if (w->stopping || w->starting) {
		snprintf(err, errlen, "%s in progress",
		    w->stopping ? "Shutdown" : "Startup");
		return -2;
	}
	if (w->notify)
		dl_sd_notify("RELOADING=1");
	wlog(WLOG_INFO, WLOG_SERVER, "Reload %s%s",
	    name ? "jail " : "all jails", name ? name : "");
	if (load_conf(w, &nc, &d, err, errlen) != 0) {
		log_diags(&d);
		goto out;
	}
	log_diags(&d);
	/* A jail that runs now and is broken in the new configuration:
	 * keep the old configuration. */
	for (size_t i = 0; i < nc->nbroken; i++) {
		const char *bn = nc->broken[i].name;

		if ((name == NULL || strcmp(name, bn) == 0) &&
		    warden_find_jail(w, bn) != NULL) {
			snprintf(err, errlen,
			    "Reload failed: jail '%s': %s; the running "
			    "configuration is kept",
			    bn, nc->broken[i].error);
			goto out;
		}
	}
	if (name != NULL && conf_find_jail(nc, name) == NULL) {
		snprintf(err, errlen, "No section: '%s'", name);
		goto out;
	}
	/* Try the jails that would be reloaded in place first: a filter
	 * that does not compile refuses the whole reload. */
	for (size_t i = 0; i < nc->njails; i++) {
		const struct conf_jail *cj = &nc->jails[i];
		struct diags jd = DIAGS_INIT;
		struct jail *probe;

		if (name != NULL && strcmp(name, cj->name) != 0)
			continue;
		probe =
		    jail_new(cj, &(struct jail_env){.now = warden_now}, &jd);
		if (probe == NULL) {
			log_diags(&jd);
			snprintf(err, errlen,
			    "Reload failed: jail '%s' has errors; the running "
			    "configuration is kept",
			    cj->name);
			diags_cleanup(&jd);
			goto out;
		}
		jail_free(probe);
		diags_cleanup(&jd);
	}
	old = w->conf;
	w->conf = nc;
	nc = NULL;
	/* --unban / --restart, then reload, add and remove. */
	for (size_t i = 0; i < w->njails;) {
		struct jail *j = w->jails[i];
		const struct conf_jail *cj =
		    conf_find_jail(w->conf, jail_name(j));

		if (name != NULL && strcmp(name, jail_name(j)) != 0) {
			i++;
			continue;
		}
		if (unban)
			jail_unbanip(j, NULL, 0, false, NULL, 0);
		if (cj == NULL) {
			stop_jail(w, j, NULL);
			continue;
		}
		if (restart ||
		    strcmp(jail_backend(j),
		        cj->backend ? cj->backend : "auto") != 0) {
			if (!restart)
				wlog(WLOG_INFO, WLOG_SERVER,
				    "Restart jail '%s' (reason: '%s' != '%s')",
				    cj->name, jail_backend(j), cj->backend);
			strv_add(&restarting, cj->name);
			stop_jail(w, j, cj->name);
			continue;
		}
		wlog(WLOG_INFO, WLOG_SERVER, "Reload jail '%s'", cj->name);
		{
			struct diags jd = DIAGS_INIT;

			if (jail_reload(j, cj, &jd) != 0)
				wlog(WLOG_ERROR, WLOG_SERVER,
				    "Jail '%s' kept its previous "
				    "configuration",
				    cj->name);
			log_diags(&jd);
			diags_cleanup(&jd);
		}
		wlog(WLOG_INFO, WLOG_SERVER, "Jail '%s' reloaded", cj->name);
		i++;
	}
	for (size_t i = 0; i < w->conf->njails; i++) {
		const struct conf_jail *cj = &w->conf->jails[i];

		if (name != NULL && strcmp(name, cj->name) != 0)
			continue;
		/* a restarted jail starts once its old instance stopped */
		if (warden_find_jail(w, cj->name) != NULL ||
		    strv_find(&restarting, cj->name) >= 0)
			continue;
		start_jail(w, cj);
	}
	strv_cleanup(&restarting);
	log_broken(w->conf);
	setup_report(w);
	conf_free(old);
	wlog(WLOG_INFO, WLOG_SERVER, "Reload finished.");
	rc = 0;
out:
	if (rc != 0)
		wlog(WLOG_ERROR, WLOG_SERVER, "%s", err);
	conf_free(nc);
	diags_cleanup(&d);
	malloc_trim(0); /* the configurations read and freed */
	trim_code();
	if (w->notify)
		dl_sd_notify("READY=1");
	return rc;
}

/* ---- signals and shutdown ---- */

static void
close_cb_noop(uv_handle_t *h)
{
	(void)h;
}

static void
final_close(uv_timer_t *t)
{
	struct warden *w = t->data;

	uv_close((uv_handle_t *)t, close_cb_noop);
	ctl_server_free(w->ctl);
	w->ctl = NULL;
	report_server_free(w->report);
	w->report = NULL;
	src_file_free(w->files);
	w->files = NULL;
	uv_close((uv_handle_t *)&w->tick, close_cb_noop);
	uv_close((uv_handle_t *)&w->tick2, close_cb_noop);
	uv_close((uv_handle_t *)&w->purge, close_cb_noop);
	uv_close((uv_handle_t *)&w->possave, close_cb_noop);
	for (size_t i = 0; i < sizeof(w->sig) / sizeof(w->sig[0]); i++)
		uv_close((uv_handle_t *)&w->sig[i], close_cb_noop);
}

static uv_timer_t g_final;

static void
finish_shutdown(struct warden *w)
{
	static bool done;

	if (done)
		return;
	done = true;
	if (w->db != NULL) {
		if (db_flush(w->db) != 0)
			wlog(WLOG_ERROR, WLOG_DATABASE,
			    "Final database commit failed: %s",
			    db_last_error(w->db));
		db_close(w->db);
		w->db = NULL;
		/* a checkpoint under way frees it when done (ckpt_after) */
		if (!w->ckpt_busy) {
			db_ckpt_free(w->ckpt);
			w->ckpt = NULL;
		}
		wlog(
		    WLOG_INFO, WLOG_DATABASE, "Connection to database closed.");
	}
	/* Let a pending `stop` reply reach its client first. */
	uv_timer_init(w->loop, &g_final);
	g_final.data = w;
	uv_timer_start(&g_final, final_close, 20, 0);
}

void
warden_shutdown(struct warden *w)
{
	if (w->stopping)
		return;
	w->stopping = true;
	if (w->notify)
		dl_sd_notify("STOPPING=1");
	wlog(WLOG_INFO, WLOG_SERVER, "Shutdown in progress...");
	uv_timer_stop(&w->purge);
	uv_timer_stop(&w->possave);
	warden_commit(w);
	wlog(WLOG_INFO, WLOG_SERVER, "Stopping all jails");
	while (w->njails > 0)
		stop_jail(w, w->jails[w->njails - 1], NULL);
	if (g_stopping == 0)
		finish_shutdown(w);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct warden *w = s->data;
	char err[512];

	switch (signum) {
	case SIGTERM:
	case SIGINT:
		wlog(WLOG_DEBUG, WLOG_SERVER, "Caught signal %d. Exiting",
		    signum);
		warden_shutdown(w);
		break;
	case SIGHUP:
		wlog(WLOG_DEBUG, WLOG_SERVER, "Caught signal %d. Reloading",
		    signum);
		warden_reload(w, NULL, false, false, false, err, sizeof(err));
		break;
	case SIGUSR1:
		wlog(WLOG_DEBUG, WLOG_SERVER, "Caught signal %d. Flushing logs",
		    signum);
		wlog_reopen();
		break;
	default:
		break;
	}
}

/* ---- start ---- */

/* Starts the next configured jail; once all run: READY. */
static void
start_next(uv_idle_t *h)
{
	struct warden *w = h->data;

	if (!w->stopping && w->start_next < w->conf->njails) {
		start_jail(w, &w->conf->jails[w->start_next++]);
		return;
	}
	uv_idle_stop(h);
	uv_close((uv_handle_t *)h, NULL);
	w->starting = false;
	if (w->stopping)
		return;
	log_broken(w->conf);
	warden_commit(w);
	/* Reading the configuration and compiling the filters freed most of
	 * what they allocated: give those pages back (the idle daemon's
	 * heap is what stays), and unmap the code they ran. */
	malloc_trim(0);
	trim_code();
	if (w->notify)
		dl_sd_notify("READY=1");
	warden_ready(w, NULL);
}

void
warden_ready(struct warden *w, struct ctl_reply *r)
{
	if (r != NULL && w->starting) {
		w->ready_wait = xreallocarray(
		    w->ready_wait, w->nready_wait + 1, sizeof(*w->ready_wait));
		w->ready_wait[w->nready_wait++] = r;
		return;
	}
	if (r != NULL)
		ctl_reply_ok(r, json_string("Server ready"));
	for (size_t i = 0; i < w->nready_wait; i++)
		ctl_reply_ok(w->ready_wait[i], json_string("Server ready"));
	free(w->ready_wait);
	w->ready_wait = NULL;
	w->nready_wait = 0;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir ending in ext, appended to files as full paths. */
static void
list_dir(struct strv *files, const char *dir, const char *ext)
{
	struct strv names = STRV_INIT;
	DIR *dh = opendir(dir);
	struct dirent *de;
	size_t el = strlen(ext);

	if (dh == NULL)
		return;
	for (;;) {
		size_t nl;

		de = readdir(dh);
		if (de == NULL)
			break;
		nl = strlen(de->d_name);
		if (de->d_name[0] != '.' && nl > el &&
		    strcmp(de->d_name + nl - el, ext) == 0)
			strv_add(&names, de->d_name);
	}
	closedir(dh);
	qsort(names.v, names.n, sizeof(*names.v), cmp_strp);
	for (size_t i = 0; i < names.n; i++)
		strv_take(files, xasprintf("%s/%s", dir, names.v[i]));
	strv_cleanup(&names);
}

/*
 * `socketgroup` from warden.conf's [Definition] (warden.conf, warden.d/,
 * warden.local layering; later files win): the group whose members get
 * read-only access to the control socket. fail2ban.conf has no such
 * option. Returns a new string or NULL.
 */
static char *
read_socketgroup(const char *confdir)
{
	struct strv files = STRV_INIT;
	char *dd = xasprintf("%s/warden.d", confdir), *val = NULL;

	strv_take(&files, xasprintf("%s/warden.conf", confdir));
	list_dir(&files, dd, ".conf");
	strv_take(&files, xasprintf("%s/warden.local", confdir));
	list_dir(&files, dd, ".local");
	for (size_t i = 0; i < files.n; i++) {
		struct ini_file *f = NULL;
		struct diags d = DIAGS_INIT;
		const struct ini_section *sec;
		const struct ini_opt *o;

		sec = ini_load(files.v[i], 1024 * 1024, 64 * 1024, &f, &d) ==
		        INI_OK
		    ? ini_find_section(f, "Definition")
		    : NULL;
		o = sec ? ini_find_opt(sec, "socketgroup") : NULL;
		if (o != NULL) {
			free(val);
			val = o->value[0] ? xstrdup(o->value) : NULL;
		}
		ini_free(f);
		diags_cleanup(&d);
	}
	strv_cleanup(&files);
	free(dd);
	return val;
}

static void
resolve_server_opts(struct warden *w)
{
	struct ctl_paths paths = {NULL, NULL, NULL};
	const struct conf_server *s = &w->conf->server;
	const char *db = w->opts.dbfile;

	default_conf_paths(w->opts.confdir, &paths);
	w->socket = xstrdup(w->opts.socket ? w->opts.socket : paths.socket);
	w->pidfile = xstrdup(w->opts.pidfile ? w->opts.pidfile : paths.pidfile);
	ctl_paths_cleanup(&paths);
	if (db == NULL)
		db = s->dbfile;
	if (db != NULL && strcmp(db, "None") != 0 && db[0] != '\0')
		w->dbfile = xstrdup(db);
	w->dbpurgeage = s->dbpurgeage > 0 ? s->dbpurgeage : DB_DEFAULT_PURGEAGE;
	if (!w->builtin)
		w->sockgroup = read_socketgroup(w->opts.confdir);
}

static int
setup_logging(struct warden *w)
{
	const struct conf_server *s = &w->conf->server;
	const char *lv = w->opts.loglevel ? w->opts.loglevel : s->loglevel;
	const char *tg = w->opts.logtarget ? w->opts.logtarget : s->logtarget;
	const char *ss =
	    w->opts.syslogsocket ? w->opts.syslogsocket : s->syslogsocket;
	char err[512];
	int level;

	if (lv == NULL)
		lv = "INFO";
	(void)level;
	if (warden_set_loglevel(w, lv) != 0) {
		fprintf(stderr, "wardend: invalid log level '%s'\n", lv);
		return -1;
	}
	if (tg == NULL)
		tg = "STDERR";
	if (strcasecmp(tg, "STDOUT") != 0 && strcasecmp(tg, "STDERR") != 0 &&
	    strcasecmp(tg, "SYSLOG") != 0 && strcasecmp(tg, "SYSOUT") != 0 &&
	    strcasecmp(tg, "SYSTEMD-JOURNAL") != 0)
		make_parent_dir(tg, 0755);
	if (wlog_set_target(tg, ss, err, sizeof(err)) != 0) {
		fprintf(stderr, "wardend: %s\n", err);
		return -1;
	}
	return 0;
}

static int
open_db(struct warden *w)
{
	struct db_options o = {0};
	struct diags d = DIAGS_INIT;

	if (w->dbfile == NULL) {
		wlog(WLOG_INFO, WLOG_DATABASE,
		    "No database: bans are not kept across restarts");
		return 0;
	}
	o.maxmatches = w->conf->server.dbmaxmatches >= 0
	    ? (unsigned)w->conf->server.dbmaxmatches
	    : DB_DEFAULT_MAXMATCHES;
	o.migrate_fail2ban = strcmp(w->conf->server.source, "fail2ban") == 0 &&
	    w->opts.dbfile == NULL &&
	    strcmp(w->dbfile, F2B_DEFAULT_DBFILE) == 0;
	if (strcmp(w->dbfile, ":memory:") != 0)
		make_parent_dir(w->dbfile, 0700);
	w->db = db_open(w->dbfile, &o, &d);
	for (size_t i = 0; i < d.n; i++) {
		char *s = diag_format(&d.v[i]);

		wlog(d.v[i].level == DIAG_ERROR ? WLOG_ERROR : WLOG_WARNING,
		    WLOG_DATABASE, "%s", s);
		free(s);
	}
	diags_cleanup(&d);
	if (w->db == NULL) {
		wlog(WLOG_ERROR, WLOG_DATABASE, "Cannot open the database %s",
		    w->dbfile);
		return -1;
	}
	wlog(WLOG_INFO, WLOG_DATABASE, "Connected to database %s", w->dbfile);
	w->ckpt = db_ckpt_new(w->db);
	if (w->ckpt != NULL)
		db_set_autocheckpoint(w->db, false);
	db_set_lazy(w->db, true);
	db_jail_disable(w->db, NULL);
	return 0;
}

static int
start_ctl(struct warden *w)
{
	struct ctl_server_opts o = {0};
	char err[512];

	o.path = w->socket;
	o.force = w->opts.force;
	if (w->sockgroup != NULL) {
		if (ctl_server_gid(w->sockgroup, &o.ro_gid) == 0)
			o.ro_group = true;
		else
			wlog(WLOG_WARNING, WLOG_SERVER,
			    "Group '%s' for read-only access to the socket "
			    "does not exist",
			    w->sockgroup);
	}
	if (ctl_server_new(w->loop, &o, server_handle, w, &w->ctl, err,
	        sizeof(err)) != 0) {
		wlog(
		    WLOG_ERROR, WLOG_SERVER, "Could not start server: %s", err);
		return -1;
	}
	return 0;
}

/* ---- the report socket (backend = report) ---- */

/* Hands a report to every running jail of its service that admits the
 * sender; true when one took it. */
static bool
on_report(void *arg, const struct report_msg *m, const struct report_peer *p,
    double now)
{
	struct warden *w = arg;
	bool taken = false;

	if (w->stopping)
		return false;
	for (size_t i = 0; i < w->njails; i++) {
		struct jail *j = w->jails[i];
		const char *svc = jail_service(j);

		if (svc != NULL && strcmp(svc, m->service) == 0 &&
		    jail_report_allows(j, p) && jail_report(j, m, p, now))
			taken = true;
	}
	return taken;
}

/* The first entry of a list ("mail, 4243" -> "mail"), new, or NULL. */
static char *
first_of(const char *list)
{
	size_t n;

	if (list == NULL)
		return NULL;
	list += strspn(list, " \t\r\n,");
	n = strcspn(list, " \t\r\n,");
	return n > 0 ? xstrndup(list, n) : NULL;
}

/*
 * The report socket exists while a report jail is configured: created at
 * start, reconfigured on reload (allowlist; a new path makes a new
 * socket), freed when no jail needs it. Errors are logged; the jails run
 * regardless.
 */
static void
setup_report(struct warden *w)
{
	const struct conf_server *s = &w->conf->server;
	struct report_opts o = {0};
	struct report_acl acl = REPORT_ACL_INIT;
	char err[512], *grp = NULL;
	bool need = false;

	for (size_t i = 0; i < w->conf->njails; i++)
		if (w->conf->jails[i].service != NULL)
			need = true;
	if (need && s->reportsocket == NULL)
		wlog(WLOG_WARNING, WLOG_SERVER,
		    "reportsocket = None: the report jails receive nothing");
	if (!need || s->reportsocket == NULL) {
		report_server_free(w->report);
		w->report = NULL;
		return;
	}
	if (s->reportusers != NULL &&
	    report_acl_add_users(&acl, s->reportusers, err, sizeof(err)) != 0)
		wlog(WLOG_WARNING, WLOG_SERVER, "reportusers: %s", err);
	if (s->reportgroups != NULL &&
	    report_acl_add_groups(&acl, s->reportgroups, err, sizeof(err)) != 0)
		wlog(WLOG_WARNING, WLOG_SERVER, "reportgroups: %s", err);
	o.sender_rate = s->reportrate;
	o.sender_burst = s->reportburst;
	o.global_rate = s->reporttotalrate;
	o.global_burst = s->reporttotalburst;
	if (w->report != NULL &&
	    strcmp(report_server_path(w->report), s->reportsocket) == 0) {
		report_server_configure(w->report, &acl, &o);
		goto out;
	}
	report_server_free(w->report);
	w->report = NULL;
	grp = s->reportsocketgroup ? xstrdup(s->reportsocketgroup)
	                           : first_of(s->reportgroups);
	if (grp != NULL) {
		if (ctl_server_gid(grp, &o.group) == 0)
			o.has_group = true;
		else
			wlog(WLOG_WARNING, WLOG_SERVER,
			    "Group '%s' for the report socket does not exist",
			    grp);
	}
	o.path = s->reportsocket;
	o.force = w->opts.force;
	o.acl = &acl;
	o.now = warden_now;
	if (report_server_new(
	        w->loop, &o, on_report, w, &w->report, err, sizeof(err)) != 0)
		wlog(WLOG_ERROR, WLOG_SERVER,
		    "Could not start the report socket: %s", err);
	else
		wlog(WLOG_INFO, WLOG_SERVER, "Report socket %s ready",
		    s->reportsocket);
out:
	free(grp);
	report_acl_cleanup(&acl);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int
main(int argc, char **argv)
{
	static struct warden wd;
	struct warden *w = &wd;
	struct diags d = DIAGS_INIT;
	char err[512];
	int readyfd = -1, rc;
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};

	/* glibc's mktime() stats /etc/localtime on every call while TZ is
	 * unset; with TZ naming that file it reads it once */
	if (getenv("TZ") == NULL)
		setenv("TZ", ":/etc/localtime", 1);
	tzset();
	rc = parse_opts(argc, argv, &w->opts);
	if (rc != 0)
		return rc > 0 ? 0 : 255;
	if (w->opts.test)
		return run_test(w);
	umask(077);
	if (load_conf(w, &w->conf, &d, err, sizeof(err)) != 0) {
		diags_print(&d, stderr);
		fprintf(stderr, "wardend: %s\n", err);
		diags_cleanup(&d);
		return 255;
	}
	resolve_server_opts(w);
	if (setup_logging(w) != 0) {
		rc = 255;
		goto early_out;
	}
	if (w->opts.background)
		readyfd = daemonize();
	/* every log record prints the pid: look it up once (after the
	 * forks), not per record */
	wlog_test_set_pid((long)getpid());
	signal(SIGPIPE, SIG_IGN);
	w->started = warden_now();
	w->notify = getenv("NOTIFY_SOCKET") != NULL;
	wlog(WLOG_INFO, WLOG_SERVER,
	    "--------------------------------------------------");
	wlog(WLOG_INFO, WLOG_SERVER, "Starting Warden v%s", WARDEN_VERSION);
	if (w->opts.background)
		wlog(WLOG_INFO, WLOG_SERVER, "Daemon started");
	if (w->builtin)
		wlog(WLOG_NOTICE, WLOG_SERVER,
		    "No configuration in %s: running the built-in default "
		    "(jail 'sshd' on %s, %s)",
		    w->opts.confdir,
		    access(DEFAULT_CONF_AUTHLOG, F_OK) == 0
		        ? DEFAULT_CONF_AUTHLOG
		        : "the journal",
		    w->opts.no_firewall
		        ? "no ban action (--no-firewall): bans are logged and "
		          "recorded only"
		        : "ban action " DEFAULT_CONF_ACTION
		          " (native nftables, table inet warden)");
	else if (w->opts.no_firewall)
		wlog(WLOG_NOTICE, WLOG_SERVER,
		    "--no-firewall: no jail runs its actions; bans are logged "
		    "and recorded only");
	log_diags(&d);
	diags_cleanup(&d);
	w->loop = uv_default_loop();
	write_pidfile(w->pidfile);
	if (open_db(w) != 0 || start_ctl(w) != 0) {
		rc = 255;
		goto fail;
	}
	setup_report(w);
	{
		struct src_file_opts fo = {0};

		w->files = src_file_new(w->loop, &fo);
	}
	g_env.loop = w->loop;
	g_env.db = w->db;
	g_env.files = w->files;
	g_env.host = ignore_env_new(w->loop, NULL);
	g_env.now = warden_now;
	g_env.dns = resolve_new(w->loop, warden_now);
	g_env.ipv6 = true;
	g_env.no_actions = w->opts.no_firewall;
	g_env.failed = on_failed;
	g_env.failed_arg = w;
	if (g_env.host != NULL)
		ignore_env_refresh(g_env.host, NULL, NULL);

	uv_check_init(w->loop, &w->tick);
	w->tick.data = w;
	uv_check_start(&w->tick, on_tick);
	uv_prepare_init(w->loop, &w->tick2);
	w->tick2.data = w;
	uv_prepare_start(&w->tick2, on_tick2);
	uv_timer_init(w->loop, &w->purge);
	w->purge.data = w;
	uv_timer_start(
	    &w->purge, on_purge, PURGE_INTERVAL_MS, PURGE_INTERVAL_MS);
	uv_timer_init(w->loop, &w->possave);
	w->possave.data = w;
	uv_timer_start(
	    &w->possave, on_possave, POSSAVE_INTERVAL_MS, POSSAVE_INTERVAL_MS);
	uv_unref((uv_handle_t *)&w->purge);
	uv_unref((uv_handle_t *)&w->possave);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		uv_signal_init(w->loop, &w->sig[i]);
		w->sig[i].data = w;
		uv_signal_start(&w->sig[i], on_signal, sigs[i]);
	}
	uv_signal_init(w->loop, &w->sig[4]);

	/* The socket answers now; the jails start one per loop turn, so a
	 * `ping` is answered at once and `server-status` when all run. */
	w->starting = true;
	uv_idle_init(w->loop, &w->starter);
	w->starter.data = w;
	uv_idle_start(&w->starter, start_next);
	ready_report(readyfd, true);
	readyfd = -1;

	uv_run(w->loop, UV_RUN_DEFAULT);

	rc = w->exit_code;
	if (g_env.host != NULL)
		ignore_env_free(g_env.host);
	g_env.host = NULL;
	resolve_free(g_env.dns);
	g_env.dns = NULL;
	uv_walk(w->loop, close_walk, NULL);
	uv_run(w->loop, UV_RUN_DEFAULT); /* also ends a checkpoint */
	uv_loop_close(w->loop);
	db_ckpt_free(w->ckpt);
	w->ckpt = NULL;
	if (unlink(w->pidfile) != 0 && errno != ENOENT)
		wlog(WLOG_ERROR, WLOG_SERVER, "Unable to remove PID file: %s",
		    strerror(errno));
	wlog(WLOG_INFO, WLOG_SERVER, "Exiting Warden");
	goto out;
fail:
	ready_report(readyfd, false);
	ctl_server_free(w->ctl);
	report_server_free(w->report);
	db_close(w->db);
	db_ckpt_free(w->ckpt);
	if (w->loop != NULL) {
		uv_walk(w->loop, close_walk, NULL);
		uv_run(w->loop, UV_RUN_DEFAULT);
		uv_loop_close(w->loop);
	}
	unlink(w->pidfile);
out:
	free(w->jails);
	warden_ready(w, NULL);
early_out:
	conf_free(w->conf);
	free(w->socket);
	free(w->pidfile);
	free(w->dbfile);
	free(w->sockgroup);
	free(w->loglevel);
	wlog_reset();
	return rc;
}
