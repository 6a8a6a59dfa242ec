/*
 * The `warden` client commands (`warden status`, `warden ping`, ...):
 * fail2ban-client's command line, behaviour and output on top of the
 * control socket. Options as fail2ban-client's (-c -s -p -d -t -x -f -b -q
 * -v --async --timeout ...) plus --json; every command except start,
 * restart and reload is sent as-is and its reply printed by beautify.c;
 * exit status 0 on success and 255 on failure, with fail2ban's messages
 * on stderr in its log-line format. `start` runs wardend and waits until
 * it answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "beautify.h"
#include "cmds.h"
#include "ctl_client.h"
#include "strv.h"
#include "timeval.h"
#include "wardend.h"
#include "xmalloc.h"

enum { LV_DEBUG = 10, LV_INFO = 20, LV_WARNING = 30, LV_ERROR = 40 };

struct copts {
	const char *confdir; /* NULL: default */
	char *socket;        /* owned once resolved */
	char *pidfile;       /* owned once resolved */
	const char *loglevel, *logtarget, *syslogsocket, *pname;
	int verbose; /* 1 by default; -v +1, -q -1 */
	bool force, background, json, dump, test, interactive;
	double timeout; /* seconds */
	const char *prog;
};

static struct copts *g_opts; /* for the logger's verbosity only */

/* ---- stderr log lines in fail2ban's client format ---- */

static void log_line(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_line(int level, const char *fmt, ...)
{
	int v = g_opts ? g_opts->verbose : 1;
	int min = v <= 0 ? LV_ERROR
	    : v == 1     ? LV_WARNING
	    : v == 2     ? LV_INFO
	                 : LV_DEBUG;
	const char *name = level >= LV_ERROR ? "ERROR"
	    : level >= LV_WARNING            ? "WARNING"
	    : level >= LV_INFO               ? "INFO"
	                                     : "DEBUG";
	struct timeval tv;
	struct tm tm;
	char ts[32];
	va_list ap;

	if (level < min)
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	fflush(stdout);
	fprintf(stderr, "%s,%03d %-24s[%d]: %-7s ", ts,
	    (int)(tv.tv_usec / 1000), "warden", (int)getpid(), name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- help ---- */

struct helprow {
	const char *cmd;  /* "" for a heading */
	const char *text; /* description, or the heading */
};

static const struct helprow help_rows[] = {
    {"", "BASIC"},
    {"start", "launch wardend and start every jail"},
    {"restart", "stop wardend, then launch it again"},
    {"restart [--unban] [--if-exists] <JAIL>",
        "restart one jail (the same as 'reload --restart <JAIL>')"},
    {"reload [--restart] [--unban] [--all]",
        "read the configuration again and apply it without stopping "
        "wardend; '--restart' restarts the changed jails, '--unban' "
        "also lifts their bans"},
    {"reload [--restart] [--unban] [--if-exists] <JAIL>",
        "reload (or with '--restart' restart) the jail <JAIL>"},
    {"stop", "stop every jail, then wardend"},
    {"unban --all", "lift every ban in every jail and in the database"},
    {"unban <IP> ... <IP>", "lift the bans of <IP> in every jail"},
    {"banned", "list the banned addresses of each jail"},
    {"banned <IP> ... <IP>", "list, per <IP>, the jails banning it"},
    {"status", "show the jails wardend runs"},
    {"ping", "check that wardend answers"},
    {"version", "show wardend's version"},
    {"", "LOGGING"},
    {"set loglevel <LEVEL>",
        "log at <LEVEL>: CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG, "
        "TRACEDEBUG, HEAVYDEBUG or a number 50-5"},
    {"get loglevel", "show the log level"},
    {"set logtarget <TARGET>",
        "log to STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL or a file"},
    {"get logtarget", "show the log target"},
    {"set syslogsocket auto|<SOCKET>",
        "the syslog socket used with the SYSLOG target"},
    {"get syslogsocket", "show the syslog socket"},
    {"flushlogs", "reopen the log file (after log rotation)"},
    {"", "DATABASE"},
    {"set dbfile <FILE>", "use the database <FILE> ('None': no database)"},
    {"get dbfile", "show the database file"},
    {"set dbmaxmatches <INT>", "keep at most <INT> matches per ban"},
    {"get dbmaxmatches", "show the matches kept per ban"},
    {"set dbpurgeage <SECONDS>", "forget ban history older than this"},
    {"get dbpurgeage", "show how long ban history is kept"},
    {"", "JAIL CONTROL"},
    {"start <JAIL>", "start the jail <JAIL>"},
    {"stop <JAIL>", "stop and remove the jail <JAIL>"},
    {"status <JAIL> [FLAVOR]",
        "show the state of <JAIL>; FLAVOR is basic, short or cymru"},
    {"", "JAIL CONFIGURATION"},
    {"set <JAIL> idle on|off", "pause or resume <JAIL>"},
    {"set <JAIL> ignoreself true|false", "ignore this host's addresses"},
    {"set <JAIL> addignoreip <IP>", "never ban <IP> in <JAIL>"},
    {"set <JAIL> delignoreip <IP>", "drop <IP> from the ignore list"},
    {"set <JAIL> ignorecommand <VALUE>", "set the ignore command"},
    {"set <JAIL> ignorecache <VALUE>", "set the ignore command's cache"},
    {"set <JAIL> addlogpath <FILE> ['tail']",
        "watch <FILE> too, from its end with 'tail' (else from its start)"},
    {"set <JAIL> dellogpath <FILE>", "stop watching <FILE>"},
    {"set <JAIL> logencoding <ENCODING>", "read the logs as <ENCODING>"},
    {"set <JAIL> addjournalmatch <MATCH>", "add a journal match"},
    {"set <JAIL> deljournalmatch <MATCH>", "remove a journal match"},
    {"set <JAIL> addfailregex <REGEX>", "add a failure pattern"},
    {"set <JAIL> delfailregex <INDEX>", "remove failure pattern <INDEX>"},
    {"set <JAIL> addignoreregex <REGEX>", "add an ignore pattern"},
    {"set <JAIL> delignoreregex <INDEX>", "remove ignore pattern <INDEX>"},
    {"set <JAIL> findtime <TIME>", "count failures over <TIME>"},
    {"set <JAIL> bantime <TIME>", "ban for <TIME>"},
    {"set <JAIL> datepattern <PATTERN>", "read log dates with <PATTERN>"},
    {"set <JAIL> usedns <VALUE>", "resolve host names: yes, warn, no, raw"},
    {"set <JAIL> attempt <IP> [<failure1> ... <failureN>]",
        "record a failure of <IP> by hand"},
    {"set <JAIL> banip <IP> ... <IP>", "ban <IP> in <JAIL> now"},
    {"set <JAIL> unbanip [--report-absent] <IP> ... <IP>",
        "lift the ban of <IP> in <JAIL>"},
    {"set <JAIL> maxretry <RETRY>", "ban after <RETRY> failures"},
    {"set <JAIL> usermaxretry <RETRY>",
        "lock a login after <RETRY> failures over all addresses (0: off)"},
    {"set <JAIL> userfindtime <TIME>", "count a login's failures over <TIME>"},
    {"set <JAIL> userbantime <TIME>", "lock a login for <TIME>"},
    {"set <JAIL> unlockuser <LOGIN>", "end the lock of <LOGIN> now"},
    {"set <JAIL> maxmatches <INT>", "keep at most <INT> matches per ticket"},
    {"set <JAIL> maxlines <LINES>", "match over <LINES> lines"},
    {"set <JAIL> addaction <ACT>", "add the action <ACT>"},
    {"set <JAIL> delaction <ACT>", "remove the action <ACT>"},
    {"set <JAIL> action <ACT> <PROPERTY> <VALUE>",
        "set a property of the action <ACT> (actionban, timeout, a tag)"},
    {"", "JAIL INFORMATION"},
    {"get <JAIL> banned", "list the addresses <JAIL> bans"},
    {"get <JAIL> banned <IP> ... <IP>", "1 if <JAIL> bans <IP>, else 0"},
    {"get <JAIL> logpath", "list the watched files"},
    {"get <JAIL> logencoding", "show the log encoding"},
    {"get <JAIL> journalmatch", "show the journal matches"},
    {"get <JAIL> ignoreself", "show whether own addresses are ignored"},
    {"get <JAIL> ignoreip", "list the ignored addresses"},
    {"get <JAIL> ignorecommand", "show the ignore command"},
    {"get <JAIL> failregex", "list the failure patterns"},
    {"get <JAIL> ignoreregex", "list the ignore patterns"},
    {"get <JAIL> findtime", "show the find time"},
    {"get <JAIL> bantime", "show the ban time"},
    {"get <JAIL> datepattern", "show the date pattern"},
    {"get <JAIL> usedns", "show the DNS mode"},
    {"get <JAIL> banip [<SEP>|--with-time]",
        "list the banned addresses by end of ban, separated by <SEP> "
        "(a space by default) or one per line with their times"},
    {"get <JAIL> maxretry", "show the failures allowed"},
    {"get <JAIL> usermaxretry", "show the failures allowed per login"},
    {"get <JAIL> lockedusers", "list the logins <JAIL> has locked"},
    {"get <JAIL> jails", "list the member jails of an aggregate jail"},
    {"get <JAIL> maxmatches", "show the matches kept per ticket"},
    {"get <JAIL> maxlines", "show the lines matched over"},
    {"get <JAIL> actions", "list the actions"},
    {"get <JAIL> action <ACT> <PROPERTY>",
        "show a property of the action <ACT>"},
    {"get <JAIL> actionproperties <ACT>",
        "list the properties of the action <ACT>"},
    {"get <JAIL> actionmethods <ACT>", "list the methods of the action <ACT>"},
};

#define HELP_INDENT 4
#define HELP_MARGIN 41
#define HELP_WIDTH  34

/* Prints text greedily wrapped at HELP_WIDTH columns; the first line goes
 * after cmd (or alone on the next line when cmd is too long). */
static void
help_row(const char *cmd, const char *text)
{
	const char *p = text;
	bool first = true;

	if (strlen(cmd) >= HELP_MARGIN) {
		printf("%*s%s\n", HELP_INDENT, "", cmd);
		first = false;
	}
	while (*p) {
		const char *end = p, *brk = NULL;

		while (*end && end - p < HELP_WIDTH) {
			if (*end == ' ')
				brk = end;
			end++;
		}
		if (*end == '\0' || *end == ' ')
			brk = end;
		else if (brk == NULL)
			brk = end;
		if (first)
			printf("%*s%-*s%.*s\n", HELP_INDENT, "", HELP_MARGIN,
			    cmd, (int)(brk - p), p);
		else
			printf("%*s%.*s\n", HELP_INDENT + HELP_MARGIN, "",
			    (int)(brk - p), p);
		first = false;
		p = brk;
		while (*p == ' ')
			p++;
	}
}

static void
usage(const char *prog)
{
	printf("Usage: %s [OPTIONS] <COMMAND>\n\n", prog);
	printf("Warden v%s watches log files for failed logins and bans the\n"
	       "addresses they come from; a drop-in for fail2ban.\n\n",
	    WARDEN_VERSION);
	printf("Options:\n"
	       "    -c, --conf <DIR>        configuration directory\n"
	       "    -s, --socket <FILE>     control socket path\n"
	       "    -p, --pidfile <FILE>    pid file path\n"
	       "    --pname <NAME>          process name (passed to wardend)\n"
	       "    --loglevel <LEVEL>      log level (passed to wardend)\n"
	       "    --logtarget <TARGET>    log target: a file, STDOUT, "
	       "STDERR, SYSLOG, SYSTEMD-JOURNAL\n"
	       "    --syslogsocket auto|<FILE>\n"
	       "    -d, --dp, --dump-pretty print the configuration as "
	       "fail2ban's command stream\n"
	       "    -t, --test              test the configuration\n"
	       "    -v                      more messages\n"
	       "    -q                      fewer messages\n"
	       "    -x                      start: remove a stale socket "
	       "file\n"
	       "    -b                      start wardend in the background "
	       "(default)\n"
	       "    -f                      start wardend in the foreground\n"
	       "    --async                 accepted for compatibility\n"
	       "    --timeout <TIME>        wait this long for wardend "
	       "(default 30s)\n"
	       "    --json                  print replies as JSON\n"
	       "    --str2sec <STRING>      print a time expression in "
	       "seconds\n"
	       "    -h, --help              this text\n"
	       "    -V, --version           the version (-V: number "
	       "only)\n\n"
	       "Command:\n");
	for (size_t i = 0; i < sizeof(help_rows) / sizeof(help_rows[0]); i++) {
		const struct helprow *r = &help_rows[i];

		if (r->cmd[0] == '\0') {
			if (i > 0)
				printf("\n");
			printf(
			    "%*s%s\n", HELP_INDENT + HELP_MARGIN, "", r->text);
		} else {
			help_row(r->cmd, r->text);
		}
	}
	printf("\nReport bugs to the Warden maintainers.\n");
}

/* ---- option parsing (Python getopt: options first, no permutation) ---- */

enum opt_kind { O_FLAG, O_ARG };

struct optdef {
	const char *lng; /* without "--"; NULL for short-only */
	char shrt;       /* 0 for long-only */
	enum opt_kind kind;
};

static const struct optdef optdefs[] = {
    {"conf", 'c', O_ARG},
    {"socket", 's', O_ARG},
    {"pidfile", 'p', O_ARG},
    {"pname", 0, O_ARG},
    {"loglevel", 0, O_ARG},
    {"logtarget", 0, O_ARG},
    {"syslogsocket", 0, O_ARG},
    {NULL, 'd', O_FLAG},
    {"dp", 0, O_FLAG},
    {"dump-pretty", 0, O_FLAG},
    {"test", 't', O_FLAG},
    {NULL, 'i', O_FLAG},
    {NULL, 'v', O_FLAG},
    {NULL, 'q', O_FLAG},
    {NULL, 'x', O_FLAG},
    {NULL, 'b', O_FLAG},
    {NULL, 'f', O_FLAG},
    {"async", 0, O_FLAG},
    {"timeout", 0, O_ARG},
    {"str2sec", 0, O_ARG},
    {"json", 0, O_FLAG},
    {"help", 'h', O_FLAG},
    {"version", 'V', O_FLAG},
};

#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

/* The long option matching name exactly or (unless exact) as a unique
 * prefix, as Python's getopt allows. */
static const struct optdef *
find_long(const char *name, size_t n, bool exact)
{
	const struct optdef *hit = NULL;
	int nhit = 0;

	for (size_t i = 0; i < NOPTS; i++) {
		const char *l = optdefs[i].lng;

		if (l == NULL || strncmp(l, name, n) != 0)
			continue;
		if (l[n] == '\0')
			return &optdefs[i];
		hit = &optdefs[i];
		nhit++;
	}
	return nhit == 1 && !exact ? hit : NULL;
}

static const struct optdef *
find_short(char c)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (optdefs[i].shrt == c)
			return &optdefs[i];
	return NULL;
}

/* Prints str2seconds(s) as Python would. */
static int
print_str2sec(const char *s)
{
	double v;
	bool isf = false;
	char err[256];

	if (timeval_parse(s, &v, &isf, err, sizeof(err)) != 0) {
		printf("ERROR: %s\n", err);
		log_line(LV_ERROR, "Init of command line failed");
		return -1;
	}
	if (isf) {
		struct sbuf b = SBUF_INIT;

		beautify_repr_float(&b, v);
		printf("%s\n", sbuf_str(&b));
		sbuf_cleanup(&b);
	} else {
		printf("%.0f\n", v);
	}
	return 0;
}

/* Applies one option; returns 0, 1 when the program is done (help,
 * version, str2sec: *rc set), or -1 on a bad value. */
static int
apply_opt(struct copts *o, const struct optdef *d, const char *val, int *rc)
{
	const char *n = d->lng;
	char c = d->shrt;

	if (c == 'c')
		o->confdir = val;
	else if (c == 's') {
		free(o->socket);
		o->socket = xstrdup(val);
	} else if (c == 'p') {
		free(o->pidfile);
		o->pidfile = xstrdup(val);
	} else if (c == 'd' || (n && strncmp(n, "d", 1) == 0))
		o->dump = true;
	else if (c == 't')
		o->test = true;
	else if (c == 'i')
		o->interactive = true;
	else if (c == 'v')
		o->verbose++;
	else if (c == 'q')
		o->verbose--;
	else if (c == 'x')
		o->force = true;
	else if (c == 'b')
		o->background = true;
	else if (c == 'f')
		o->background = false;
	else if (c == 'h') {
		usage(o->prog);
		*rc = 0;
		return 1;
	} else if (c == 'V') {
		printf("%s\n", WARDEN_VERSION);
		*rc = 0;
		return 1;
	} else if (strcmp(n, "pname") == 0)
		o->pname = val;
	else if (strcmp(n, "loglevel") == 0)
		o->loglevel = val;
	else if (strcmp(n, "logtarget") == 0)
		o->logtarget = val;
	else if (strcmp(n, "syslogsocket") == 0)
		o->syslogsocket = val;
	else if (strcmp(n, "json") == 0)
		o->json = true;
	else if (strcmp(n, "timeout") == 0) {
		double v;
		char err[256];

		if (timeval_parse(val, &v, NULL, err, sizeof(err)) != 0) {
			printf("ERROR: %s\n", err);
			*rc = 255;
			return 1;
		}
		o->timeout = v;
	} else if (strcmp(n, "str2sec") == 0) {
		*rc = print_str2sec(val) == 0 ? 0 : 255;
		return 1;
	}
	return 0;
}

/*
 * Parses options from argv[i...]. lenient: stop (without error) at an
 * option that is not ours, so `warden unban --all` keeps its "--all".
 * Returns the index of the first non-option, or -1 when the program is
 * done (*rc set).
 */
static int
parse_opts(struct copts *o, int argc, char **argv, int i, bool lenient, int *rc)
{
	while (i < argc) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t n = eq ? (size_t)(eq - name) : strlen(name);
			const struct optdef *d = find_long(name, n, lenient);
			const char *val = NULL;
			int r;

			if (d == NULL || (d->kind == O_FLAG && eq)) {
				if (lenient)
					return i;
				goto bad;
			}
			if (d->kind == O_ARG) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					goto bad;
			}
			r = apply_opt(o, d, val, rc);
			if (r != 0)
				return -1;
			i++;
			continue;
		}
		/* A cluster of short options: -vq, -cDIR, -c DIR. */
		for (size_t k = 1; a[k]; k++) {
			const struct optdef *d = find_short(a[k]);
			const char *val = NULL;

			if (d == NULL) {
				if (lenient && k == 1)
					return i;
				goto bad;
			}
			if (d->kind == O_ARG) {
				if (a[k + 1])
					val = a + k + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					goto bad;
			}
			if (apply_opt(o, d, val, rc) != 0)
				return -1;
			if (val != NULL)
				break;
		}
		i++;
	}
	return i;
bad:
	usage(o->prog);
	*rc = 255;
	return -1;
}

/* ---- talking to wardend ---- */

static int
timeout_ms_of(double sec)
{
	if (sec < 0 || isnan(sec))
		return -1;
	if (sec * 1000 > INT_MAX)
		return INT_MAX;
	return (int)(sec * 1000);
}

/* fail2ban's diagnosis of a socket error. */
static void
log_socket_error(const struct copts *o, const char *prev, bool error_only)
{
	if (access(o->socket, F_OK) == 0) {
		if (access(o->socket, W_OK) == 0) {
			if (error_only)
				log_line(LV_ERROR, "%s", prev);
			else if (prev && prev[0])
				log_line(LV_ERROR,
				    "[%s] Unable to contact server. Is it "
				    "running?",
				    prev);
			else
				log_line(LV_ERROR,
				    "Unable to contact server. Is it running?");
		} else {
			log_line(LV_ERROR,
			    "Permission denied to socket: %s, (you must be "
			    "root)",
			    o->socket);
		}
	} else {
		log_line(LV_ERROR,
		    "Failed to access socket path: %s. Is wardend running?",
		    o->socket);
	}
}

static void
print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_INDENT(2));

	printf("%s\n", s ? s : "null");
	free(s);
}

/*
 * Sends args and prints the reply when show is set. Returns true on a
 * success reply. fail2ban's __processCmd.
 */
static bool
process_cmd(
    const struct copts *o, int argc, char **argv, bool show, double timeout)
{
	struct ctl_response r;
	struct ctl_client_error e;
	bool ok;

	log_line(LV_DEBUG, "CMD: %s", argv[0]);
	if (ctl_call(o->socket, argc, argv, timeout_ms_of(timeout), &r, &e) !=
	    0) {
		bool is_ping = strcmp(argv[0], "ping") == 0;

		if (e.status == CTL_CLIENT_EPROTO) {
			if (show || o->verbose > 1)
				log_line(LV_ERROR, "%s", e.msg);
		} else if (show || o->verbose > 1) {
			if (show || !is_ping)
				log_socket_error(o, e.msg, is_ping);
		}
		return false;
	}
	ok = r.ok;
	if (r.ok) {
		if (show || strcmp(argv[0], "echo") == 0 ||
		    strcmp(argv[0], "server-status") == 0) {
			if (o->json) {
				print_json(r.result);
			} else {
				bool bad;
				char *s =
				    beautify_result(argc, argv, r.result, &bad);

				if (bad) {
					log_line(LV_WARNING,
					    "Beautifier error. Please report "
					    "the error");
					log_line(LV_ERROR,
					    "Beautify %s with %s failed", s,
					    argv[0]);
				}
				printf("%s\n", s);
				free(s);
			}
		}
	} else if (strcmp(r.errtype, CTL_ERR_CONFIG) == 0 && !o->json) {
		/* fail2ban-client fails reading the configuration before it
		 * sends anything: one ERROR line, nothing on stdout */
		char *s = beautify_error(r.errtype, r.errmsg);

		log_line(LV_ERROR, "%s", s);
		free(s);
	} else {
		struct sbuf b = SBUF_INIT;

		beautify_repr_str(&b, r.errmsg, strlen(r.errmsg));
		log_line(LV_ERROR, "NOK: (%s,)", sbuf_str(&b));
		sbuf_cleanup(&b);
		if (show) {
			if (o->json) {
				json_t *j = json_pack("{s:s, s:s}", "type",
				    r.errtype, "message", r.errmsg);

				print_json(j);
				json_decref(j);
			} else {
				char *s = beautify_error(r.errtype, r.errmsg);

				printf("%s\n", s);
				free(s);
			}
		}
	}
	fflush(stdout);
	ctl_response_cleanup(&r);
	return ok;
}

static bool
ping(const struct copts *o, double timeout)
{
	char *args[] = {"ping", NULL};

	return process_cmd(o, 1, args, false, timeout);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Waits until wardend answers (alive) or stops answering (!alive), up to
 * o->timeout. child > 0: the process we started; when it exits with a
 * failure before answering, give up at once. Returns true on success.
 */
static bool
wait_on_server(const struct copts *o, bool alive, pid_t child)
{
	double start = mono_s(), sl = 0.0125 / 2;
	struct stat st;

	for (;;) {
		/* Waiting for a stop, a short ping that times out under load
		 * would look like a dead server (restart then finds it still
		 * running): give the answer time. A stopped server removes its
		 * socket or refuses the connection at once. */
		bool up =
		    lstat(o->socket, &st) == 0 && ping(o, alive ? sl : 0.5);
		double waited;

		if (up == alive)
			return true;
		if (child > 0) {
			int status;

			if (waitpid(child, &status, WNOHANG) == child) {
				child = 0;
				if (!WIFEXITED(status) ||
				    WEXITSTATUS(status) != 0) {
					log_line(LV_ERROR,
					    "wardend exited with status %d",
					    WIFEXITED(status)
					        ? WEXITSTATUS(status)
					        : 128 + WTERMSIG(status));
					return false;
				}
			}
		}
		waited = mono_s() - start;
		if (waited >= o->timeout) {
			log_line(LV_ERROR,
			    alive ? "Failed to start server"
			          : "Failed to stop server");
			return false;
		}
		sl = sl * 2;
		if (sl > (waited > 0.2 ? 0.5 : 0.1))
			sl = waited > 0.2 ? 0.5 : 0.1;
		sleep_s(sl);
	}
}

/* wardend next to this program, else in PATH. Returns new or NULL. */
static char *
find_wardend(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *path = getenv("PATH");

	if (n > 0) {
		char *slash, *cand;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			cand = xasprintf("%s/wardend", self);
			if (access(cand, X_OK) == 0)
				return cand;
			free(cand);
		}
	}
	if (path == NULL)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		char *cand =
		    xasprintf("%.*s/wardend", (int)len, len ? path : ".");

		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		path += len;
		if (*path == ':')
			path++;
	}
	return NULL;
}

static bool
start_server(const struct copts *o)
{
	struct strv args = STRV_INIT;
	struct stat st;
	char *bin;
	pid_t pid;
	bool ok = false;

	if (ping(o, 0.1)) {
		log_line(LV_ERROR, "Server already running");
		return false;
	}
	if (!o->force && lstat(o->socket, &st) == 0) {
		log_line(LV_ERROR,
		    "Warden seems to be in unexpected state (not "
		    "running but the socket exists)");
		return false;
	}
	bin = find_wardend();
	if (bin == NULL) {
		log_line(LV_ERROR,
		    "Could not find wardend (next to warden or in PATH)");
		return false;
	}
	strv_add(&args, bin);
	strv_add(&args, "-c");
	strv_add(&args, o->confdir);
	strv_add(&args, "-s");
	strv_add(&args, o->socket);
	strv_add(&args, "-p");
	strv_add(&args, o->pidfile);
	if (o->force)
		strv_add(&args, "-x");
	strv_add(&args, o->background ? "-b" : "-f");
	if (o->loglevel) {
		strv_add(&args, "--loglevel");
		strv_add(&args, o->loglevel);
	}
	if (o->logtarget) {
		strv_add(&args, "--logtarget");
		strv_add(&args, o->logtarget);
	}
	if (o->syslogsocket) {
		strv_add(&args, "--syslogsocket");
		strv_add(&args, o->syslogsocket);
	}
	if (o->pname) {
		strv_add(&args, "--pname");
		strv_add(&args, o->pname);
	}
	log_line(LV_INFO, "Starting %s", bin);
	fflush(stdout);
	fflush(stderr);
	if (!o->background) {
		execv(bin, args.v);
		log_line(LV_ERROR, "Cannot run %s: %s", bin, strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		log_line(LV_ERROR, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* stdin and stdout to /dev/null: a daemon holding our stdout
		 * would keep `$(warden start)` waiting forever. stderr stays
		 * for wardend's startup errors until it detaches. */
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			close(fd);
		}
		setsid();
		execv(bin, args.v);
		fprintf(stderr, "warden: cannot run %s: %s\n", bin,
		    strerror(errno));
		_exit(127);
	}
	if (!wait_on_server(o, true, pid)) {
		log_line(LV_ERROR,
		    "Could not start server. Maybe an old socket file is "
		    "still present. Try to remove %s. If you used warden to "
		    "start the server, adding the -x option will do it",
		    o->socket);
		goto out;
	}
	{
		char *ss[] = {"server-status", NULL};

		ok = process_cmd(o, 1, ss, true, o->timeout);
	}
out:
	free(bin);
	strv_cleanup(&args);
	return ok;
}

/* Python's repr of a list of strings, for messages. */
static char *
repr_args(int argc, char **argv)
{
	struct sbuf b = SBUF_INIT;

	sbuf_addch(&b, '[');
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			sbuf_addstr(&b, ", ");
		beautify_repr_str(&b, argv[i], strlen(argv[i]));
	}
	sbuf_addch(&b, ']');
	return sbuf_detach(&b);
}

static bool
do_reload(const struct copts *o, int argc, char **argv)
{
	struct strv req = STRV_INIT;
	int i = 1;
	bool ok;

	strv_add(&req, "reload");
	while (argc - i >= 1) {
		if (strcmp(argv[i], "--restart") == 0 ||
		    strcmp(argv[i], "--unban") == 0 ||
		    strcmp(argv[i], "--if-exists") == 0) {
			strv_add(&req, argv[i]);
			i++;
			continue;
		}
		if (argc - i > 1) {
			char *r = repr_args(argc - i, argv + i);

			log_line(LV_ERROR,
			    "Unexpected argument(s) for reload: %s", r);
			free(r);
			strv_cleanup(&req);
			return false;
		}
		break;
	}
	if (!ping(o, o->timeout)) {
		log_line(LV_ERROR, "Could not find server");
		strv_cleanup(&req);
		return false;
	}
	strv_add(&req, i < argc ? argv[i] : "--all");
	ok = process_cmd(o, (int)req.n, req.v, true, o->timeout);
	strv_cleanup(&req);
	return ok;
}

/* One command (fail2ban's __processCommand). */
static bool
process_command(const struct copts *o, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (argc == 1 && strcmp(cmd, "start") == 0)
		return start_server(o);
	if (strcmp(cmd, "restart") == 0) {
		if (argc > 1) {
			char **v = xcalloc((size_t)argc + 2, sizeof(*v));
			bool ok;

			v[0] = "reload";
			v[1] = "--restart";
			for (int i = 1; i < argc; i++)
				v[i + 1] = argv[i];
			ok = do_reload(o, argc + 1, v);
			free(v);
			return ok;
		}
		{
			char *stop[] = {"stop", NULL};

			process_cmd(o, 1, stop, true, o->timeout);
		}
		if (!wait_on_server(o, false, 0)) {
			log_line(LV_ERROR, "Could not stop server");
			return false;
		}
		return start_server(o);
	}
	if (strcmp(cmd, "reload") == 0)
		return do_reload(o, argc, argv);
	if (strcmp(cmd, "ping") == 0 && argc > 1) {
		char *end;
		const char *s = argv[1];
		double t;

		while (*s == ' ' || *s == '\t')
			s++;
		errno = 0;
		t = strtod(s, &end);
		while (*end == ' ' || *end == '\t' || *end == '\n')
			end++;
		if (end == s || *end != '\0') {
			struct sbuf b = SBUF_INIT;

			beautify_repr_str(&b, argv[1], strlen(argv[1]));
			log_line(LV_ERROR,
			    "could not convert string to float: %s",
			    sbuf_str(&b));
			sbuf_cleanup(&b);
			return false;
		}
		return process_cmd(o, argc, argv, true, t);
	}
	return process_cmd(o, argc, argv, true, o->timeout);
}

/*
 * Runs `warden dump|check -c DIR` for -d / -t. builtin: the directory is
 * the default one and does not exist, so wardend would run its built-in
 * default: that is what is checked or dumped.
 */
static int
run_conf_cmd(const struct copts *o, bool check, bool builtin)
{
	char err[512];
	char *tmp = NULL;
	char *args[] = {
	    check ? "check" : "dump", "-c", (char *)o->confdir, NULL};
	int rc;

	if (builtin) {
		struct stat st;

		if (stat(o->confdir, &st) == 0)
			builtin = false;
	}
	if (builtin) {
		tmp = default_conf_materialize(
		    access(DEFAULT_CONF_AUTHLOG, F_OK) != 0, true, err,
		    sizeof(err));
		if (tmp == NULL) {
			log_line(LV_ERROR, "%s", err);
			return 255;
		}
		log_line(LV_INFO,
		    "No configuration in %s: the built-in default", o->confdir);
		args[2] = tmp;
	}
	rc = check ? cmd_check(3, args) : cmd_dump(3, args);
	if (tmp != NULL) {
		default_conf_remove(tmp);
		free(tmp);
	}
	return rc;
}

/* The common part once options are parsed; args[0..n) is the command. */
static int
client_run(struct copts *o, int n, char **args)
{
	struct ctl_paths paths = {NULL, NULL, NULL};
	bool dflt = o->confdir == NULL;
	int rc = 255;

	/* wardend's default directory and paths, decided in one place for
	 * both (default_conf_paths): /etc/warden, else the built-in ones */
	if (o->socket == NULL || o->pidfile == NULL || o->confdir == NULL) {
		o->confdir = default_conf_paths(o->confdir, &paths);
		if (o->socket == NULL)
			o->socket = xstrdup(paths.socket);
		if (o->pidfile == NULL)
			o->pidfile = xstrdup(paths.pidfile);
	}
	log_line(LV_INFO, "Using socket file %s", o->socket);
	log_line(LV_INFO, "Using pid file %s", o->pidfile);
	if (o->dump) {
		rc = run_conf_cmd(o, false, dflt);
		if (!o->test)
			goto out;
	}
	if (o->test) {
		if (run_conf_cmd(o, true, dflt) != 0) {
			log_line(LV_ERROR, "ERROR: test configuration failed");
			rc = 255;
			goto out;
		}
		if (n == 0) {
			rc = 0;
			goto out;
		}
	}
	if (o->interactive) {
		log_line(LV_ERROR, "interactive mode (-i) is not supported");
		goto out;
	}
	if (n == 0) {
		usage(o->prog);
		goto out;
	}
	rc = process_command(o, n, args) ? 0 : 255;
out:
	ctl_paths_cleanup(&paths);
	fflush(stdout);
	return rc;
}

static void
copts_init(struct copts *o, const char *prog)
{
	memset(o, 0, sizeof(*o));
	o->verbose = 1;
	o->background = true;
	o->timeout = 30;
	o->prog = prog;
	g_opts = o;
}

static void
copts_cleanup(struct copts *o)
{
	free(o->socket);
	free(o->pidfile);
	g_opts = NULL;
}

int
cmd_client_main(int argc, char **argv)
{
	struct copts o;
	int rc = 255, i;
	const char *prog = strrchr(argv[0], '/');

	copts_init(&o, prog ? prog + 1 : argv[0]);
	i = parse_opts(&o, argc, argv, 1, false, &rc);
	if (i >= 0)
		rc = client_run(&o, argc - i, argv + i);
	copts_cleanup(&o);
	return rc;
}

int
cmd_client(int argc, char **argv)
{
	struct copts o;
	char **args;
	int rc = 255, i, n = 0;

	copts_init(&o, "warden");
	/* Options may follow the command name: `warden status -s SOCK`. */
	i = parse_opts(&o, argc, argv, 1, true, &rc);
	if (i < 0) {
		copts_cleanup(&o);
		return rc;
	}
	args = xcalloc((size_t)argc + 1, sizeof(*args));
	args[n++] = argv[0];
	for (; i < argc; i++)
		args[n++] = argv[i];
	rc = client_run(&o, n, args);
	free(args);
	copts_cleanup(&o);
	return rc;
}
