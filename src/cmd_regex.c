/*
 * `warden regex`: fail2ban-regex. Tests a filter (a filter.d name with
 * options, a filter file, or a literal failregex) against a log file or
 * literal lines and prints fail2ban-regex's report, its -o machine output,
 * or (our addition) one JSON object per line for the conformance runner.
 * The engine is filter.c; this file is options, input and output only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "conf.h"
#include "datedetect.h"
#include "filter.h"
#include "sbuf.h"
#include "strv.h"
#include "xmalloc.h"
#include "journalmatch.h"
#include "regex_journal.h"

#define DEFAULT_PRINT_MAX 20

struct opts {
	const char *config;
	const char *datepattern;
	const char *timezone;
	const char *encoding;
	bool raw;
	const char *usedns;
	long maxlines; /* 0: unset */
	const char *journalmatch;
	int verbose;
	bool verbose_date;
	bool check_all;
	const char *out;
	bool print_no_missed, print_no_ignored;
	bool print_all_matched, print_all_missed, print_all_ignored;
	bool json;
	bool has_now;
	double now;
	bool journal_lines;
	size_t max_line_len;
	long threads; /* 0: two when two CPUs are online */
	bool debuggex;
	struct strv args;
};

/* One failregex's statistics (fail2ban-regex's RegexStat). */
struct hit {
	char *id;      /* str() of the id */
	bool has_time; /* else "now" is printed */
	double time;
	bool multi; /* " (multiple regex matched)" */
};

struct rstat {
	const char *regex; /* as configured */
	unsigned long hits;
	struct hit *ips;
	size_t nips, capips;
};

struct lstats {
	long tested, matched, missed, ignored;
	struct strv matched_lines, missed_lines, ignored_lines;
};

struct run {
	struct opts *o;
	struct filter *f;
	struct filterdef fd;
	long print_max; /* fail2ban-regex's _maxlines */
	struct rstat *fails;
	size_t nfails;
	struct rstat *igns;
	size_t nigns;
	size_t ign_offset; /* filter ignoreregex index of igns[0] */
	struct lstats ls;
	unsigned long pref_matched;
	struct strv pref_groups;
	char *last_pref_groups; /* repr of the last prefregex groups */
	double now;
	bool fixed_now;
	struct sbuf line; /* scratch */
	/* DNS answers, for usedns yes/warn */
	struct strv dns_names;
	struct strv dns_addrs; /* " a  b " per name */
	struct strv dns_keep;  /* id texts of expanded failures */
	const struct src_journal_entry *entry; /* journal entry being fed */
	size_t nentries;                       /* journal entries fed */
};

static void test_line(struct run *r, const char *line, size_t len,
    size_t lineno, const struct filter_pre *pre);

static void
rj_feed(void *arg, const struct src_journal_entry *e)
{
	struct run *r = arg;
	char *joined = xasprintf("%s%s", e->date, e->line);

	r->entry = e;
	test_line(r, joined, strlen(joined), ++r->nentries, NULL);
	r->entry = NULL;
	free(joined);
}

/* ---- small output helpers ---- */

static void
out_line(const char *s)
{
	fputs(s, stdout);
	fputc('\n', stdout);
}

/* Python's shortstr: at most l characters, "..." when cut. */
static char *
shortstr(const char *s, size_t l)
{
	size_t chars = 0, i, cut = 0;

	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (chars == l - 3)
				cut = i;
			chars++;
		}
	}
	if (chars <= l)
		return xstrdup(s);
	return xasprintf("%.*s...", (int)cut, s);
}

/* Python's repr() of a float: the shortest text that reads back. */
static void
py_float(double v, struct sbuf *out)
{
	char buf[40];

	if (isnan(v)) {
		sbuf_addstr(out, "nan");
		return;
	}
	if (isinf(v)) {
		sbuf_addstr(out, v < 0 ? "-inf" : "inf");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (strchr(buf, 'e') && fabs(v) < 1e16 && fabs(v) >= 1e-4) {
		/* Python prints these without an exponent */
		int p;

		for (p = 0; p < 17; p++) {
			snprintf(buf, sizeof(buf), "%.*f", p, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
	sbuf_addstr(out, buf);
	if (!strpbrk(buf, ".eni"))
		sbuf_addstr(out, ".0");
}

/* A failure's time as Python prints it: an int when fail2ban holds one
 * (a date with a time zone, TAI64N), else a float. */
static void
py_time(const struct failure *fl, struct sbuf *out)
{
	if (fl->int_time && fabs(fl->time) < 9.0e15)
		sbuf_printf(out, "%lld", (long long)fl->time);
	else
		py_float(fl->time, out);
}

/* A JSON string; invalid UTF-8 becomes U+FFFD as Python would decode. */
static void
json_str(const char *s, struct sbuf *out)
{
	const unsigned char *p = (const unsigned char *)s;

	sbuf_addch(out, '"');
	while (*p) {
		unsigned char c = *p;
		size_t len = 0;

		if (c < 0x80) {
			if (c == '"' || c == '\\')
				sbuf_printf(out, "\\%c", c);
			else if (c == '\n')
				sbuf_addstr(out, "\\n");
			else if (c == '\r')
				sbuf_addstr(out, "\\r");
			else if (c == '\t')
				sbuf_addstr(out, "\\t");
			else if (c < 0x20 || c == 0x7f)
				sbuf_printf(out, "\\u%04x", c);
			else
				sbuf_addch(out, (char)c);
			p++;
			continue;
		}
		if ((c & 0xe0) == 0xc0 && c >= 0xc2)
			len = 2;
		else if ((c & 0xf0) == 0xe0)
			len = 3;
		else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
			len = 4;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				len = 0;
				break;
			}
		}
		if (len == 3 &&
		    ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
			len = 0;
		if (len == 4 &&
		    ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
			len = 0;
		if (len == 0) {
			sbuf_addstr(out, "\\ufffd");
			p++;
			continue;
		}
		sbuf_add(out, p, len);
		p += len;
	}
	sbuf_addch(out, '"');
}

static void
json_val(const struct fval *v, struct sbuf *out)
{
	switch (v->type) {
	case FVAL_NONE:
		sbuf_addstr(out, "null");
		return;
	case FVAL_STR:
		json_str(v->u.s, out);
		return;
	case FVAL_INT:
		sbuf_printf(out, "%ld", v->u.i);
		return;
	case FVAL_IP:
		json_str(v->u.ip.text ? v->u.ip.text : "", out);
		return;
	case FVAL_SET:
	case FVAL_TUPLE:
	case FVAL_LIST:
		sbuf_addch(out, '[');
		for (size_t i = 0; i < v->u.v.n; i++) {
			if (i)
				sbuf_addstr(out, ", ");
			json_val(&v->u.v.items[i], out);
		}
		sbuf_addch(out, ']');
		return;
	}
}

/* Python's str(): strings as they are, other values as repr(). */
static void
py_str(const struct fval *v, struct sbuf *out)
{
	if (v == NULL) {
		sbuf_addstr(out, "None");
		return;
	}
	if (v->type == FVAL_STR)
		sbuf_addstr(out, v->u.s);
	else if (v->type == FVAL_IP)
		sbuf_addstr(out, v->u.ip.text);
	else
		fval_repr(v, out);
}

static void
dict_repr(const struct fentry *v, size_t n, struct sbuf *out)
{
	struct fval k = {.type = FVAL_STR};

	sbuf_addch(out, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_addstr(out, ", ");
		k.u.s = v[i].key;
		fval_repr(&k, out);
		sbuf_addstr(out, ": ");
		fval_repr(&v[i].val, out);
	}
	sbuf_addch(out, '}');
}

/* ---- usage and options ---- */

static void
print_help(FILE *fp)
{
	fprintf(fp,
	    "Usage: warden regex [OPTIONS] <LOG> <REGEX> [IGNOREREGEX]\n"
	    "\n"
	    "Tests failregexes against log lines, as fail2ban-regex does.\n"
	    "\n"
	    "LOG:\n"
	    "  string                a log line (several when it holds "
	    "newlines)\n"
	    "  filename              path to a log file (/var/log/auth.log)\n"
	    "\n"
	    "REGEX:\n"
	    "  string                a failregex\n"
	    "  filter                a filter name with options "
	    "(sshd[mode=aggressive])\n"
	    "  filename              path to a filter file "
	    "(filter.d/sshd.conf)\n"
	    "\n"
	    "IGNOREREGEX:\n"
	    "  string                an ignoreregex\n"
	    "\n"
	    "Options:\n"
	    "  --version             show the version and exit\n"
	    "  -h, --help            show this help and exit\n"
	    "  -c DIR, --config=DIR  configuration directory (default "
	    "/etc/warden if it\n"
	    "                        exists, else /etc/fail2ban)\n"
	    "  -d P, --datepattern=P date pattern for the log lines\n"
	    "  --timezone=TZ, --TZ=TZ\n"
	    "                        time zone of dates without one\n"
	    "  -e ENC, --encoding=ENC\n"
	    "                        log encoding (lines are read as UTF-8)\n"
	    "  -r, --raw             raw hosts: no DNS, names are ids\n"
	    "  --usedns=V            yes|warn|no|raw: how <HOST> matches "
	    "names\n"
	    "  -L N, --maxlines=N    lines of the multi-line buffer\n"
	    "  -m M, --journalmatch=M\n"
	    "                        journal matches (systemd-journal only)\n"
	    "  -l L, --log-level=L   accepted for compatibility\n"
	    "  -V                    print the short version and exit\n"
	    "  -v, --verbose         more detail (repeatable)\n"
	    "  --verbosity=N         verbosity 0..4\n"
	    "  --verbose-date, --VD  show the date templates in detail\n"
	    "  --no-check-all        stop at the first matching failregex\n"
	    "  -o F, --out=F         print only: id, fid, ip, msg, row, a "
	    "group name,\n"
	    "                        or a template with <tags>\n"
	    "  --print-no-missed     do not print missed lines\n"
	    "  --print-no-ignored    do not print ignored lines\n"
	    "  --print-all-matched   print every matched line\n"
	    "  --print-all-missed    print every missed line\n"
	    "  --print-all-ignored   print every ignored line\n"
	    "  --json                one JSON object per tested line\n"
	    "  --now=EPOCH           the current time (seconds)\n"
	    "  --journal-lines       lines are journal messages: no date "
	    "detection\n"
	    "  --max-line-length=N   truncate longer lines (default 65536)\n"
	    "  --threads=N           1, or 2: a second thread reads, detects "
	    "dates and shares\n"
	    "                        the regex searches\n"
	    "                        (default: 2 when it may run on two "
	    "CPUs)\n");
}

enum optid {
	O_CONFIG,
	O_DATEPATTERN,
	O_TIMEZONE,
	O_ENCODING,
	O_RAW,
	O_USEDNS,
	O_MAXLINES,
	O_JOURNALMATCH,
	O_LOGLEVEL,
	O_SHORTVERSION,
	O_VERBOSE,
	O_VERBOSITY,
	O_VERBOSEDATE,
	O_DEBUGGEX,
	O_NOCHECKALL,
	O_OUT,
	O_PNOMISSED,
	O_PNOIGNORED,
	O_PALLMATCHED,
	O_PALLMISSED,
	O_PALLIGNORED,
	O_TRACEBACK,
	O_FULLTRACEBACK,
	O_JSON,
	O_NOW,
	O_JOURNALLINES,
	O_MAXLINELEN,
	O_THREADS,
	O_HELP,
	O_VERSION,
};

static const struct {
	const char *name; /* long name without "--" */
	char shortopt;
	bool arg;
	enum optid id;
} options[] = {
    {"config", 'c', true, O_CONFIG},
    {"datepattern", 'd', true, O_DATEPATTERN},
    {"timezone", 0, true, O_TIMEZONE},
    {"TZ", 0, true, O_TIMEZONE},
    {"encoding", 'e', true, O_ENCODING},
    {"raw", 'r', false, O_RAW},
    {"usedns", 0, true, O_USEDNS},
    {"maxlines", 'L', true, O_MAXLINES},
    {"journalmatch", 'm', true, O_JOURNALMATCH},
    {"log-level", 'l', true, O_LOGLEVEL},
    {NULL, 'V', false, O_SHORTVERSION},
    {"verbose", 'v', false, O_VERBOSE},
    {"verbosity", 0, true, O_VERBOSITY},
    {"verbose-date", 0, false, O_VERBOSEDATE},
    {"VD", 0, false, O_VERBOSEDATE},
    {"debuggex", 'D', false, O_DEBUGGEX},
    {"no-check-all", 0, false, O_NOCHECKALL},
    {"out", 'o', true, O_OUT},
    {"print-no-missed", 0, false, O_PNOMISSED},
    {"print-no-ignored", 0, false, O_PNOIGNORED},
    {"print-all-matched", 0, false, O_PALLMATCHED},
    {"print-all-missed", 0, false, O_PALLMISSED},
    {"print-all-ignored", 0, false, O_PALLIGNORED},
    {"log-traceback", 't', false, O_TRACEBACK},
    {"full-traceback", 0, false, O_FULLTRACEBACK},
    {"json", 0, false, O_JSON},
    {"now", 0, true, O_NOW},
    {"journal-lines", 0, false, O_JOURNALLINES},
    {"max-line-length", 0, true, O_MAXLINELEN},
    {"threads", 0, true, O_THREADS},
    {"help", 'h', false, O_HELP},
    {"version", 0, false, O_VERSION},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Prints an optparse-style error (msg is freed) and returns 2. */
static int
opt_error(char *msg)
{
	fprintf(stderr,
	    "Usage: warden regex [OPTIONS] <LOG> <REGEX> "
	    "[IGNOREREGEX]\n\nwarden regex: error: %s\n",
	    msg);
	free(msg);
	return 2;
}

/* Returns -1 to go on, or an exit status. */
static int
apply_option(struct opts *o, enum optid id, const char *arg, const char *name)
{
	long v;

	switch (id) {
	case O_CONFIG:
		o->config = arg;
		break;
	case O_DATEPATTERN:
		o->datepattern = arg;
		break;
	case O_TIMEZONE:
		o->timezone = arg;
		break;
	case O_ENCODING:
		o->encoding = arg;
		break;
	case O_RAW:
		o->raw = true;
		break;
	case O_USEDNS:
		o->usedns = arg;
		break;
	case O_MAXLINES:
		if (parse_long(arg, LONG_MIN, LONG_MAX, &v) < 0)
			return opt_error(
			    xasprintf("option %s: invalid integer value: '%s'",
			        name, arg));
		o->maxlines = v;
		break;
	case O_JOURNALMATCH:
		o->journalmatch = arg;
		break;
	case O_LOGLEVEL:
	case O_TRACEBACK:
	case O_FULLTRACEBACK:
		break;
	case O_SHORTVERSION:
		printf("%s\n", WARDEN_VERSION);
		return 0;
	case O_VERBOSE:
		o->verbose++;
		break;
	case O_VERBOSITY:
		if (parse_long(arg, INT_MIN, INT_MAX, &v) < 0)
			return opt_error(
			    xasprintf("option %s: invalid integer value: '%s'",
			        name, arg));
		o->verbose = (int)v;
		break;
	case O_VERBOSEDATE:
		o->verbose_date = true;
		break;
	case O_DEBUGGEX:
		o->debuggex = true;
		break;
	case O_NOCHECKALL:
		o->check_all = false;
		break;
	case O_OUT:
		o->out = arg;
		break;
	case O_PNOMISSED:
		o->print_no_missed = true;
		break;
	case O_PNOIGNORED:
		o->print_no_ignored = true;
		break;
	case O_PALLMATCHED:
		o->print_all_matched = true;
		break;
	case O_PALLMISSED:
		o->print_all_missed = true;
		break;
	case O_PALLIGNORED:
		o->print_all_ignored = true;
		break;
	case O_JSON:
		o->json = true;
		break;
	case O_NOW: {
		char *end;

		errno = 0;
		o->now = strtod(arg, &end);
		if (errno || end == arg || *end)
			return opt_error(xasprintf(
			    "option %s: invalid number: '%s'", name, arg));
		o->has_now = true;
		break;
	}
	case O_JOURNALLINES:
		o->journal_lines = true;
		break;
	case O_MAXLINELEN:
		if (parse_long(arg, 1, 1L << 30, &v) < 0)
			return opt_error(
			    xasprintf("option %s: invalid integer value: '%s'",
			        name, arg));
		o->max_line_len = (size_t)v;
		break;
	case O_THREADS:
		if (parse_long(arg, 1, 2, &v) < 0)
			return opt_error(
			    xasprintf("option %s: invalid value: '%s' (1 or 2)",
			        name, arg));
		o->threads = v;
		break;
	case O_HELP:
		print_help(stdout);
		return 0;
	case O_VERSION:
		printf("warden regex %s\n", WARDEN_VERSION);
		return 0;
	}
	return -1;
}

/* optparse's rules: interspersed arguments, "--" ends options, long
 * options by unique prefix, "--opt=value" or "--opt value", bundled
 * short options. Returns -1 to go on, or an exit status. */
static int
parse_options(struct opts *o, int argc, char **argv)
{
	bool only_args = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_args || a[0] != '-' || a[1] == '\0') {
			strv_add(&o->args, a);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = true;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t nl = eq ? (size_t)(eq - name) : strlen(name);
			long found = -1;
			int nfound = 0, rc;
			char *full;

			for (size_t k = 0; k < NOPTIONS; k++) {
				if (options[k].name == NULL ||
				    strncmp(options[k].name, name, nl) != 0)
					continue;
				if (strlen(options[k].name) == nl) {
					found = (long)k;
					nfound = 1;
					break;
				}
				if (found < 0 ||
				    options[found].id != options[k].id)
					nfound++;
				found = (long)k;
			}
			full = xasprintf("--%.*s", (int)nl, name);
			if (nfound == 0) {
				rc = opt_error(
				    xasprintf("no such option: %s", full));
				free(full);
				return rc;
			}
			if (nfound > 1) {
				rc = opt_error(
				    xasprintf("ambiguous option: %s", full));
				free(full);
				return rc;
			}
			free(full);
			full = xasprintf("--%s", options[found].name);
			if (options[found].arg) {
				const char *arg = eq ? eq + 1 : NULL;

				if (arg == NULL && i + 1 < argc)
					arg = argv[++i];
				if (arg == NULL) {
					rc = opt_error(xasprintf(
					    "%s option requires 1 argument",
					    full));
					free(full);
					return rc;
				}
				rc = apply_option(
				    o, options[found].id, arg, full);
			} else {
				if (eq) {
					rc = opt_error(xasprintf(
					    "%s option does not take a value",
					    full));
					free(full);
					return rc;
				}
				rc = apply_option(
				    o, options[found].id, NULL, full);
			}
			free(full);
			if (rc >= 0)
				return rc;
			continue;
		}
		for (size_t j = 1; a[j]; j++) {
			size_t k;
			char nm[3] = {'-', a[j], '\0'};
			int rc;

			for (k = 0; k < NOPTIONS; k++)
				if (options[k].shortopt == a[j])
					break;
			if (k == NOPTIONS)
				return opt_error(
				    xasprintf("no such option: %s", nm));
			if (options[k].arg) {
				const char *arg = a[j + 1] ? a + j + 1 : NULL;

				if (arg == NULL && i + 1 < argc)
					arg = argv[++i];
				if (arg == NULL)
					return opt_error(xasprintf(
					    "%s option requires 1 argument",
					    nm));
				rc = apply_option(o, options[k].id, arg, nm);
				if (rc >= 0)
					return rc;
				break;
			}
			rc = apply_option(o, options[k].id, NULL, nm);
			if (rc >= 0)
				return rc;
		}
	}
	return -1;
}

/* ---- loading the regexes ---- */

static bool
is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static char *
dir_name(const char *p)
{
	const char *s = strrchr(p, '/');

	if (s == NULL)
		return xstrdup("");
	if (s == p)
		return xstrdup("/");
	return xstrndup(p, (size_t)(s - p));
}

/* "^/{0,3}[\w/_\-.]+(?:\[.*\])?$": a filter name or path with options. */
static bool
looks_like_filter(const char *v)
{
	size_t i = 0, start;

	while (v[i] == '/' && i < 3)
		i++;
	start = i;
	while (v[i] &&
	    (((unsigned char)v[i] >= 0x80) || (v[i] >= 'a' && v[i] <= 'z') ||
	        (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') ||
	        v[i] == '_' || v[i] == '/' || v[i] == '-' || v[i] == '.'))
		i++;
	if (i == start)
		return false;
	if (v[i] == '\0')
		return true;
	if (v[i] != '[')
		return false;
	return v[strlen(v) - 1] == ']';
}

/*
 * fail2ban's extractOptions for display: name in *name (new), options as
 * a Python dict repr in *repr (new, NULL when none). Returns -1 on syntax
 * errors.
 */
static int
extract_options(const char *v, char **name, char **repr)
{
	const char *br = strchr(v, '[');
	struct sbuf b = SBUF_INIT;
	const char *p;
	size_t end;
	int n = 0;

	*repr = NULL;
	if (br == NULL) {
		*name = xstrdup(v);
		return 0;
	}
	if (br == v)
		return -1;
	*name = xstrndup(v, (size_t)(br - v));
	end = strlen(v);
	while (end > 0 &&
	    (v[end - 1] == ' ' || v[end - 1] == '\t' || v[end - 1] == '\n'))
		end--;
	if (end == 0 || v[end - 1] != ']')
		goto bad;
	p = br + 1;
	end--; /* index of the closing ']' */
	sbuf_addch(&b, '{');
	while (p < v + end) {
		const char *k0, *k1, *v0, *v1;
		struct fval kv = {.type = FVAL_STR};
		char *tmp;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ',')
			p++;
		if (p >= v + end)
			break;
		k0 = p;
		while (p < v + end && *p != '=' && *p != ',')
			p++;
		if (*p != '=')
			goto bad;
		k1 = p++;
		while (k1 > k0 && (k1[-1] == ' ' || k1[-1] == '\t'))
			k1--;
		while (k0 < k1 && (*k0 == ' ' || *k0 == '\t'))
			k0++;
		if (*p == '"' || *p == '\'') {
			char q = *p++;

			v0 = p;
			while (p < v + end && *p != q)
				p++;
			if (p >= v + end)
				goto bad;
			v1 = p++;
		} else {
			v0 = p;
			while (p < v + end && *p != ',')
				p++;
			v1 = p;
			while (v1 > v0 && (v1[-1] == ' ' || v1[-1] == '\t'))
				v1--;
			while (v0 < v1 && (*v0 == ' ' || *v0 == '\t'))
				v0++;
		}
		if (n++)
			sbuf_addstr(&b, ", ");
		tmp = xstrndup(k0, (size_t)(k1 - k0));
		kv.u.s = tmp;
		fval_repr(&kv, &b);
		free(tmp);
		sbuf_addstr(&b, ": ");
		tmp = xstrndup(v0, (size_t)(v1 - v0));
		kv.u.s = tmp;
		fval_repr(&kv, &b);
		free(tmp);
	}
	sbuf_addch(&b, '}');
	if (n)
		*repr = sbuf_detach(&b);
	sbuf_cleanup(&b);
	return 0;
bad:
	sbuf_cleanup(&b);
	free(*name);
	*name = NULL;
	return -1;
}

static void
print_use_maxlines(struct run *r, long n, bool *set)
{
	char buf[64];

	if (*set)
		return;
	*set = true;
	if (!r->o->out && !r->o->json) {
		snprintf(buf, sizeof(buf), "Use         maxlines : %ld", n);
		out_line(buf);
	}
}

static void
print_use_datepattern(struct run *r, const char *pattern, bool *set)
{
	struct diags d = DIAGS_INIT;
	struct datedetect *dd;

	if (*set)
		return;
	*set = true;
	if (r->o->out || r->o->json || pattern == NULL)
		return;
	dd = datedetect_new(pattern, r->o->timezone, DATEDETECT_WIDE_YEARS,
	    time(NULL), NULL, 0, &d);
	printf("Use      datepattern : %s : %s\n", pattern,
	    dd ? datedetect_describe(dd) : "?");
	datedetect_free(dd);
	diags_cleanup(&d);
}

static void
rstat_init(struct rstat *s, const char *regex)
{
	memset(s, 0, sizeof(*s));
	s->regex = regex;
}

/*
 * fail2ban-regex's readRegex for the failregex argument: fills r->fd.
 * Returns 0, or an exit status after printing the error.
 */
static int
read_failregex(
    struct run *r, const char *value, bool *maxlines_set, bool *datepattern_set)
{
	struct opts *o = r->o;
	char *name = NULL, *optrepr = NULL, *file = NULL, *basedir = NULL;
	struct diags d = DIAGS_INIT;
	int rc = 255;
	bool quiet = o->out || o->json;

	basedir = xstrdup(o->config);
	if (looks_like_filter(value)) {
		const char *tries[3];
		char *cands[3] = {NULL, NULL, NULL};
		size_t nt = 0, nl;

		if (extract_options(value, &name, &optrepr) < 0) {
			printf("ERROR: Wrong filter name or options: "
			       "unexpected option syntax\n");
			printf("       while parsing: %s\n", value);
			goto out;
		}
		nl = strlen(name);
		if (memchr(
		        name + (nl > 6 ? nl - 6 : 0), '.', nl > 6 ? 6 : nl)) {
			cands[nt++] = xstrdup(name);
		} else {
			cands[nt++] = xstrdup(name);
			cands[nt++] = xasprintf("%s.conf", name);
			cands[nt++] = xasprintf("%s.local", name);
		}
		for (size_t k = 0; k < nt; k++)
			tries[k] = cands[k];
		for (size_t k = 0; k < nt && file == NULL; k++) {
			char *cand;

			if (strchr(tries[k], '/') == NULL) {
				if (strcmp(base_name(basedir), "filter.d") == 0)
					cand = xasprintf(
					    "%s/%s", basedir, tries[k]);
				else
					cand = xasprintf("%s/filter.d/%s",
					    basedir, tries[k]);
			} else {
				cand = xstrdup(tries[k]);
				free(basedir);
				basedir = dir_name(cand);
			}
			if (is_file(cand))
				file = cand;
			else
				free(cand);
		}
		for (size_t k = 0; k < nt; k++)
			free(cands[k]);
	}
	if (file) {
		char *spec;
		const char *vars[] = {"backend",
		    regex_journal_is_spec(o->args.v[0]) ? "systemd" : "auto",
		    NULL};
		const char *dot;
		bool std = strcmp(basedir, o->config) == 0 ||
		    strcmp(base_name(basedir), "filter.d") == 0 ||
		    (!memchr(name + (strlen(name) > 6 ? strlen(name) - 6 : 0),
		         '.', strlen(name) > 6 ? 6 : strlen(name)) &&
		        !strchr(name, '/'));
		const char *br = strchr(value, '[');

		if (std) {
			char *fname;

			if (strcmp(base_name(basedir), "filter.d") == 0) {
				char *p = dir_name(basedir);

				free(basedir);
				basedir = p;
			}
			fname = xstrdup(base_name(name));
			dot = strrchr(fname, '.');
			if (dot && dot != fname)
				fname[dot - fname] = '\0';
			if (!quiet)
				printf("Use   failregex filter file : %s, "
				       "basedir: %s\n",
				    fname, basedir);
			spec = xasprintf("%s%s", fname, br ? br : "");
			free(fname);
		} else {
			if (!quiet)
				printf("Use   failregex file : %s\n", name);
			spec = xasprintf("%s%s", file, br ? br : "");
		}
		if (optrepr && !quiet)
			printf("Use   filter options : %s\n", optrepr);
		if (conf_filter_load(std ? basedir : o->config, spec, vars,
		        &r->fd, &d) < 0) {
			free(spec);
			diags_print(&d, stdout);
			printf("ERROR: failed to load filter %s\n", value);
			goto out;
		}
		free(spec);
		/* the stream's order: maxlines, then datepattern */
		if (r->fd.maxlines_set)
			print_use_maxlines(r, r->fd.maxlines, maxlines_set);
		if (r->fd.datepattern.re)
			print_use_datepattern(
			    r, r->fd.datepattern.re, datepattern_set);
	} else {
		char *s = shortstr(value, 53);

		if (!quiet)
			printf("Use   failregex line : %s\n", s);
		free(s);
		filterdef_re_add(&r->fd.failregex, value, NULL, 0);
	}
	rc = 0;
out:
	diags_cleanup(&d);
	free(name);
	free(optrepr);
	free(file);
	free(basedir);
	return rc;
}

/* ---- DNS (usedns yes/warn without -r) ---- */

/* Resolves name to its addresses ("a b ..."), cached; "" when none. */
static const char *
resolve(struct run *r, const char *name)
{
	struct sbuf b = SBUF_INIT;
	static const int fams[2] = {AF_INET, AF_INET6};
	long k = strv_find(&r->dns_names, name);

	if (k >= 0)
		return r->dns_addrs.v[k];
	for (int i = 0; i < 2; i++) {
		struct addrinfo hints, *res = NULL, *ai;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = fams[i];
		hints.ai_protocol = IPPROTO_TCP;
		if (getaddrinfo(name, NULL, &hints, &res) != 0)
			continue;
		for (ai = res; ai; ai = ai->ai_next) {
			char txt[INET6_ADDRSTRLEN];
			const void *src = ai->ai_family == AF_INET
			    ? (const void *)&((struct sockaddr_in *)ai->ai_addr)
			          ->sin_addr
			    : (const void *)&(
			          (struct sockaddr_in6 *)ai->ai_addr)
			          ->sin6_addr;
			char *word;

			if (inet_ntop(ai->ai_family, src, txt, sizeof(txt)) ==
			    NULL)
				continue;
			word = xasprintf(" %s ", txt);
			if (b.s == NULL || strstr(sbuf_str(&b), word) == NULL)
				sbuf_printf(&b, " %s ", txt);
			free(word);
		}
		freeaddrinfo(res);
	}
	strv_add(&r->dns_names, name);
	strv_add(&r->dns_addrs, sbuf_str(&b));
	sbuf_cleanup(&b);
	return r->dns_addrs.v[r->dns_addrs.n - 1];
}

/*
 * The failures of one line as fail2ban returns them: FAILURE_DNS entries
 * replaced by one entry per resolved address (none when unresolved).
 * Returns a new array (free()); id texts point into r's DNS cache.
 */
static struct failure *
expand_dns(struct run *r, const struct filter_result *res, size_t *n)
{
	struct failure *v;
	size_t cnt = 0, cap = res->n + 1;

	for (cnt = 0; cnt < res->n; cnt++)
		if (res->v[cnt].kind == FAILURE_DNS)
			break;
	*n = res->n;
	if (cnt == res->n)
		return NULL; /* nothing to resolve: use res->v */
	cnt = 0;
	v = xcalloc(res->n + 1, sizeof(*v));

	for (size_t i = 0; i < res->n; i++) {
		const char *addrs, *p;

		if (res->v[i].kind != FAILURE_DNS) {
			v[cnt++] = res->v[i];
			continue;
		}
		addrs = resolve(r, res->v[i].id.text);
		for (p = addrs; *p;) {
			const char *e;
			struct failure fl = res->v[i];

			while (*p == ' ')
				p++;
			if (*p == '\0')
				break;
			e = strchr(p, ' ');
			fl.kind = FAILURE_ADDR;
			fl.id.is_addr = true;
			fl.id.text = xstrndup(p, (size_t)(e - p));
			addr_parse(fl.id.text, strlen(fl.id.text), &fl.id.addr);
			/* kept until the run ends */
			strv_take(&r->dns_keep, (char *)fl.id.text);
			if (cnt == cap) {
				cap *= 2;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[cnt++] = fl;
			p = e;
		}
	}
	*n = cnt;
	return v;
}

/* ---- -o output ---- */

static const char *
id_text(const struct failure *fl)
{
	return fl->id.text ? fl->id.text : "None";
}

static void
matches_text(const struct failure *fl, struct sbuf *b)
{
	for (size_t i = 0; i < fl->nmatches; i++) {
		if (i)
			sbuf_addch(b, '\n');
		sbuf_addstr(b, fl->matches[i]);
	}
}

/* fail2ban's ticket.getIP(): the "ip" group, else the id. */
static void
ip_text(const struct failure *fl, struct sbuf *b)
{
	const struct fval *ip = failure_get(fl, "ip");

	if (ip && ip->type != FVAL_NONE)
		py_str(ip, b);
	else
		sbuf_addstr(b, id_text(fl));
}

/* One action-style tag of a -o template; false when left as it is. */
static bool
subst_tag(const struct failure *fl, const char *tag, size_t n, struct sbuf *b,
    bool *msg)
{
	char buf[96];

#define IS(s) (n == strlen(s) && memcmp(tag, s, n) == 0)
	if (IS("ip")) {
		ip_text(fl, b);
	} else if (IS("fid")) {
		sbuf_addstr(b, id_text(fl));
	} else if (IS("family")) {
		const struct fval *ip = failure_get(fl, "ip");
		const struct filter_id *id =
		    ip && ip->type == FVAL_IP ? &ip->u.ip : &fl->id;

		sbuf_addstr(b,
		    !id->is_addr                     ? "None"
		        : id->addr.family == AF_INET ? "inet4"
		                                     : "inet6");
	} else if (IS("ip-rev")) {
		const struct fval *ip = failure_get(fl, "ip");
		const struct filter_id *id =
		    ip && ip->type == FVAL_IP ? &ip->u.ip : &fl->id;

		if (id->is_addr)
			sbuf_addstr(b, addr_reverse(&id->addr, buf));
	} else if (IS("time")) {
		if (fl->has_time)
			py_time(fl, b);
		else
			sbuf_addstr(b, "None");
	} else if (IS("failures") || IS("restored") || IS("bancount")) {
		sbuf_addch(b, '0');
	} else if (IS("matches")) {
		matches_text(fl, b);
	} else if (IS("msg")) {
		if (fl->nmatches <= 1)
			matches_text(fl, b);
		else {
			sbuf_addstr(b, "\001msg\001");
			*msg = true;
		}
	} else if (IS("br")) {
		sbuf_addch(b, '\n');
	} else if (IS("sp")) {
		sbuf_addch(b, ' ');
	} else {
		return false;
	}
#undef IS
	return true;
}

/* A -o template: <tag> then <F-NAME> substitution, not recursive. */
static void
out_template(const char *fmt, const struct failure *fl)
{
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	bool msg = false;
	const char *p;

	for (p = fmt; *p;) {
		const char *e;

		if (*p != '<') {
			sbuf_addch(&a, *p++);
			continue;
		}
		for (e = p + 1; *e && *e != '>' && *e != '<' && *e != ' '; e++)
			;
		if (*e != '>' || e == p + 1 ||
		    !subst_tag(fl, p + 1, (size_t)(e - p - 1), &a, &msg)) {
			sbuf_addch(&a, *p++);
			continue;
		}
		p = e + 1;
	}
	/* <F-NAME> */
	for (p = sbuf_str(&a); *p;) {
		const char *e = p + 3;

		if (strncmp(p, "<F-", 3) != 0) {
			sbuf_addch(&b, *p++);
			continue;
		}
		while ((*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') ||
		    *e == '_' || *e == '-')
			e++;
		if (*e != '>' || e == p + 3) {
			sbuf_addch(&b, *p++);
			continue;
		} else {
			char *key = xstrndup(p + 3, (size_t)(e - p - 3));
			const struct fval *v;

			for (char *k = key; *k; k++)
				if (*k >= 'A' && *k <= 'Z')
					*k = (char)(*k + 32);
			if (strcmp(key, "id") == 0) {
				free(key);
				key = xstrdup("fid");
			} else if (strcmp(key, "port") == 0) {
				free(key);
				key = xstrdup("fport");
			}
			if (strcmp(key, "matches") == 0) {
				struct fval l = {.type = FVAL_LIST};
				struct fval *items =
				    xcalloc(fl->nmatches + 1, sizeof(*items));

				for (size_t i = 0; i < fl->nmatches; i++) {
					items[i].type = FVAL_STR;
					items[i].u.s = fl->matches[i];
				}
				l.u.v.items = items;
				l.u.v.n = fl->nmatches;
				fval_repr(&l, &b);
				free(items);
			} else {
				v = failure_get(fl, key);
				/* None values are not in a ticket: "" */
				if (v && v->type != FVAL_NONE)
					py_str(v, &b);
			}
			free(key);
			p = e + 1;
		}
	}
	if (!msg) {
		out_line(sbuf_str(&b));
	} else {
		const char *s = sbuf_str(&b);
		const char *mk = strstr(s, "\001msg\001");

		for (size_t i = 0; i < fl->nmatches && mk; i++)
			printf("%.*s%s%s\n", (int)(mk - s), s, fl->matches[i],
			    mk + 5);
	}
	sbuf_cleanup(&a);
	sbuf_cleanup(&b);
}

static void
out_failures(struct run *r, const struct failure *v, size_t n)
{
	const char *fmt = r->o->out;
	struct sbuf b = SBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		const struct failure *fl = &v[i];

		sbuf_reset(&b);
		if (strcmp(fmt, "id") == 0 || strcmp(fmt, "fid") == 0) {
			out_line(id_text(fl));
		} else if (strcmp(fmt, "ip") == 0) {
			ip_text(fl, &b);
			out_line(sbuf_str(&b));
		} else if (strcmp(fmt, "msg") == 0) {
			for (size_t k = 0; k < fl->nmatches; k++)
				out_line(fl->matches[k]);
		} else if (strcmp(fmt, "row") == 0) {
			struct fval idv = {.type = FVAL_STR};

			sbuf_addch(&b, '[');
			if (fl->id.text) {
				idv.u.s = fl->id.text;
				fval_repr(&idv, &b);
			} else {
				sbuf_addstr(&b, "None");
			}
			sbuf_addstr(&b, ",\t");
			if (fl->has_time)
				py_time(fl, &b);
			else
				sbuf_addstr(&b, "None");
			sbuf_addstr(&b, ",\t");
			dict_repr(fl->groups, fl->ngroups, &b);
			sbuf_addstr(&b, "],");
			out_line(sbuf_str(&b));
		} else if (strchr(fmt, '<') == NULL) {
			py_str(failure_get(fl, fmt), &b);
			out_line(sbuf_str(&b));
		} else {
			out_template(fmt, fl);
		}
	}
	sbuf_cleanup(&b);
}

/* ---- --json ---- */

static void
out_json(struct run *r, size_t lineno, bool ignored, const struct failure *v,
    size_t n)
{
	struct sbuf *b = &r->line;

	sbuf_reset(b);
	sbuf_printf(b, "{\"line\": %zu, \"ignored\": %s, \"failures\": [",
	    lineno, ignored ? "true" : "false");
	for (size_t i = 0; i < n; i++) {
		const struct failure *fl = &v[i];

		if (i)
			sbuf_addstr(b, ", ");
		sbuf_addstr(b, "{\"id\": ");
		if (fl->id.text)
			json_str(fl->id.text, b);
		else
			sbuf_addstr(b, "null");
		sbuf_addstr(b, ", \"time\": ");
		if (fl->has_time)
			py_time(fl, b);
		else
			sbuf_addstr(b, "null");
		sbuf_printf(b, ", \"regex\": %d, \"groups\": {", fl->regex);
		for (size_t k = 0; k < fl->ngroups; k++) {
			if (k)
				sbuf_addstr(b, ", ");
			json_str(fl->groups[k].key, b);
			sbuf_addstr(b, ": ");
			json_val(&fl->groups[k].val, b);
		}
		sbuf_addstr(b, "}, \"matches\": [");
		for (size_t k = 0; k < fl->nmatches; k++) {
			if (k)
				sbuf_addstr(b, ", ");
			json_str(fl->matches[k], b);
		}
		sbuf_addstr(b, "]}");
	}
	sbuf_addstr(b, "]}");
	out_line(sbuf_str(b));
}

/* ---- processing ---- */

struct bufline {
	char *pre, *date, *post;
	size_t npre, ndate, npost;
};

static void
snapshot_buffer(const struct filter *f, struct bufline **v, size_t *n)
{
	*n = filter_buffer_count(f);
	*v = xcalloc(*n + 1, sizeof(**v));
	for (size_t i = 0; i < *n; i++) {
		const char *a, *b, *c;
		size_t na, nb, nc;

		filter_buffer_get(f, i, &a, &na, &b, &nb, &c, &nc);
		(*v)[i].pre = xmemdup(a, na);
		(*v)[i].date = xmemdup(b, nb);
		(*v)[i].post = xmemdup(c, nc);
		(*v)[i].npre = na;
		(*v)[i].ndate = nb;
		(*v)[i].npost = nc;
	}
}

static bool
in_buffer(const struct filter *f, const struct bufline *l)
{
	for (size_t i = 0; i < filter_buffer_count(f); i++) {
		const char *a, *b, *c;
		size_t na, nb, nc;

		filter_buffer_get(f, i, &a, &na, &b, &nb, &c, &nc);
		if (na == l->npre && nb == l->ndate && nc == l->npost &&
		    memcmp(a, l->pre, na) == 0 && memcmp(b, l->date, nb) == 0 &&
		    memcmp(c, l->post, nc) == 0)
			return true;
	}
	return false;
}

static void
hit_add(struct rstat *s, const struct failure *fl, bool multi, bool keep)
{
	struct hit *h;

	s->hits++;
	if (!keep)
		return;
	xgrow(&s->ips, &s->capips, s->nips + 1, sizeof(*s->ips));
	h = &s->ips[s->nips++];
	h->id = xstrdup(id_text(fl));
	h->has_time = fl->has_time;
	h->time = fl->time;
	h->multi = multi;
}

/* fail2ban-regex's testRegex plus the classification of process(). */
static void
test_line(struct run *r, const char *line, size_t len, size_t lineno,
    const struct filter_pre *pre)
{
	struct opts *o = r->o;
	struct filter *f = r->f;
	struct filter_result res;
	struct bufline *org = NULL;
	size_t norg = 0, nfl, nret = 0;
	const struct failure *fl;
	struct failure *flv;
	int maxlines = filter_maxlines(f);
	bool multi = maxlines > 1, full, is_ignored = false;

	if (multi && !o->out)
		snapshot_buffer(f, &org, &norg);
	full = norg >= (size_t)maxlines;
	if (r->entry) {
		filter_process_entry(f, r->entry->date, r->entry->line,
		    r->entry->len, r->entry->time, r->now, &res);
	} else if (o->journal_lines) {
		char iso[32];
		time_t t = (time_t)r->now;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
		filter_process_entry(f, iso, line, len, r->now, r->now, &res);
	} else if (pre) {
		filter_process_pre(f, pre, r->now, &res);
	} else {
		filter_process(f, line, len, r->now, &res);
	}
	flv = expand_dns(r, &res, &nfl);
	fl = flv ? flv : res.v;
	/* ignoreregex hits of this line */
	for (size_t i = 0; i < nfl; i++) {
		if (!o->out && (size_t)fl[i].regex < r->nfails)
			hit_add(&r->fails[fl[i].regex], &fl[i], nret > 1,
			    o->verbose > 0);
		if (!fl[i].nofail)
			nret++;
		else
			is_ignored = true;
	}
	if (o->out) {
		if (nret > 0) {
			struct failure *keep = xcalloc(nfl + 1, sizeof(*keep));
			size_t k = 0;

			for (size_t i = 0; i < nfl; i++)
				if (!fl[i].nofail)
					keep[k++] = fl[i];
			out_failures(r, keep, k);
			free(keep);
		}
		free(flv);
		return;
	}
	if (filter_prefregex_expanded(f) && res.pref_matched) {
		r->pref_matched++;
		if (o->verbose && res.pref_groups) {
			struct sbuf b = SBUF_INIT;

			dict_repr(res.pref_groups, res.npref_groups, &b);
			free(r->last_pref_groups);
			r->last_pref_groups = sbuf_detach(&b);
		}
		if (o->verbose && r->last_pref_groups) {
			if ((long)r->pref_groups.n < r->print_max)
				strv_add(&r->pref_groups, r->last_pref_groups);
			else if ((long)r->pref_groups.n == r->print_max)
				strv_add(&r->pref_groups, "...");
		}
	}
	if (multi) {
		for (size_t i = full ? 1 : 0; i < norg; i++) {
			struct bufline *bl = &org[i];
			char *joined;
			long k;

			if (in_buffer(f, bl))
				continue;
			joined = xasprintf("%.*s%.*s%.*s", (int)bl->npre,
			    bl->pre, (int)bl->ndate, bl->date, (int)bl->npost,
			    bl->post);
			k = strv_find(&r->ls.missed_lines, joined);
			if (k >= 0) {
				free(r->ls.missed_lines.v[k]);
				memmove(&r->ls.missed_lines.v[k],
				    &r->ls.missed_lines.v[k + 1],
				    (r->ls.missed_lines.n - (size_t)k) *
				        sizeof(char *));
				r->ls.missed_lines.n--;
			}
			if (o->print_all_matched)
				strv_take(&r->ls.matched_lines, joined);
			else
				free(joined);
			r->ls.matched++;
			r->ls.missed--;
		}
		for (size_t i = 0; i < norg; i++) {
			free(org[i].pre);
			free(org[i].date);
			free(org[i].post);
		}
		free(org);
	}
	is_ignored = is_ignored || res.ignored;
	if (o->json)
		out_json(r, lineno, is_ignored, fl, nfl);
	if (flv)
		free(flv);
	if (is_ignored) {
		r->ls.ignored++;
		if (!o->print_no_ignored &&
		    (o->print_all_ignored || r->ls.ignored <= r->print_max + 1))
			strv_take(&r->ls.ignored_lines, xstrndup(line, len));
	} else if (nret > 0) {
		r->ls.matched++;
		if (o->print_all_matched)
			strv_take(&r->ls.matched_lines, xstrndup(line, len));
	} else {
		r->ls.missed++;
		if (!o->print_no_missed &&
		    (o->print_all_missed || r->ls.missed <= r->print_max + 1))
			strv_take(&r->ls.missed_lines, xstrndup(line, len));
	}
	r->ls.tested++;
}

/* Feeds one input line: trailing "\r\n" cut, comments and blanks skipped. */
static void
feed(struct run *r, const char *line, size_t len, size_t lineno)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || line[0] == '#')
		return;
	test_line(r, line, len, lineno, NULL);
}

#define READ_CHUNK     (1024 * 1024)
#define LINE_BYTES_MAX (64 * 1024 * 1024)

/*
 * Feeds every complete line of fd: large reads, lines found with memchr
 * and fed in place. Like fail2ban's FileContainer, a last line without
 * its newline is not complete yet and is not read. A line longer than
 * LINE_BYTES_MAX is fed as its first LINE_BYTES_MAX bytes (the filter
 * truncates far earlier anyway); the rest of it is skipped.
 */
typedef void line_fn(void *ctx, const char *line, size_t len, size_t lineno);

static void
read_lines(int fd, line_fn *fn, void *ctx)
{
	size_t cap = 2 * READ_CHUNK, have = 0, lineno = 0;
	char *buf = xmalloc(cap + 1);
	bool skip = false; /* dropping the rest of an overlong line */

	for (;;) {
		ssize_t n;
		size_t start = 0;

		if (cap - have < READ_CHUNK / 2) {
			if (cap < 2 * (size_t)LINE_BYTES_MAX) {
				cap *= 2;
				buf = xreallocarray(buf, cap + 1, 1);
			}
		}
		n = read(fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (skip) {
			char *nl = memchr(buf + have, '\n', (size_t)n);

			if (nl == NULL)
				continue;
			/* the head kept, then this newline */
			buf[have] = '\n';
			memmove(buf + have + 1, nl + 1,
			    (size_t)(buf + have + n - (nl + 1)));
			n = (ssize_t)(buf + have + n - (nl + 1)) + 1;
			skip = false;
		}
		have += (size_t)n;
		for (;;) {
			char *nl = memchr(buf + start, '\n', have - start);

			if (nl == NULL)
				break;
			fn(ctx, buf + start, (size_t)(nl - (buf + start)) + 1,
			    ++lineno);
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have >= LINE_BYTES_MAX) {
			have = LINE_BYTES_MAX;
			skip = true;
		}
	}
	free(buf);
}

static void
feed_one(void *ctx, const char *line, size_t len, size_t lineno)
{
	feed(ctx, line, len, lineno);
}

/*
 * The pipeline (--threads=2): a reader thread reads and splits the file
 * and runs each line's first stage (filter_prep_line: date detection),
 * the main thread the rest (filter_process_pre, the report) in file
 * order. Lines go over in batches through a ring of PIPE_DEPTH. The
 * reader reads into a ring of PIPE_SLABS buffers and a batch points at
 * its lines there, each followed by its own newline (what the filter
 * searches in place): a slab is read into again only once the main
 * thread is done with every batch pointing into it.
 *
 * The regex searches, most of the work, go to whichever thread gets to
 * a line first. Once PIPE_LOW batches are queued the reader searches
 * lines of the newest batches; the main thread takes the lines it finds
 * unsearched and searches them itself. A line's claim is one byte
 * (enum pline), so neither thread waits for the other while there is
 * work: the main thread only when nothing is queued, the reader only
 * when the ring is full and every queued line is searched.
 *
 * Batches are small: what a line hands over (its struct filter_pre, a
 * few cache lines of it written, and its text) is read by the other
 * core soon after it was written, while it is still in a cache. With
 * 512-line batches the two batches queued held about 1 MB, a core's L2:
 * both threads took ~8% more CPU (22 alternated runs on the 1M-line
 * bench log) and the 4,096 filter_pre in the ring 4 MB more memory.
 * Reads are small for the same reason and so that one read takes less
 * time than the queued batches: 2 MB reads took 0.5 ms each, and the
 * main thread ran dry during most of them.
 */
#define PIPE_LINES 128
#define PIPE_BYTES (16 * 1024)
#define PIPE_DEPTH 8
#define PIPE_LOW   2 /* batches queued before the reader searches */
#define PIPE_SLABS 4
#define PIPE_READ  (64 * 1024)
#define PIPE_SLAB  (4 * PIPE_READ) /* a slab's usual size */
#define PIPE_AHEAD 2 /* lines prefetched ahead by the main thread */

/* Who searches a queued line. */
enum pline {
	PL_OPEN, /* nobody yet */
	PL_BUSY, /* the reader, now */
	PL_DONE, /* the reader did */
	PL_MAIN  /* the main thread will */
};

struct pbatch {
	size_t n;
	size_t bytes; /* of its lines */
	size_t next;  /* the reader's: its first line not tried */
	const char *line[PIPE_LINES];
	size_t len[PIPE_LINES], lineno[PIPE_LINES];
	struct filter_pre *pre[PIPE_LINES];
	/* the claims, written by both threads: cache lines of their own */
	_Alignas(64) _Atomic unsigned char st[PIPE_LINES];
};

struct pslab {
	char *s;
	size_t cap;
	bool held;   /* a batch points into it */
	size_t last; /* then: the number of the last such batch (made) */
};

struct pipeline {
	struct run *r;
	/* r->now for the reader: it shares a cache line with counters the
	 * main thread writes for every line */
	double now;
	int fd;
	struct filter_prep *prep;
	struct pbatch b[PIPE_DEPTH];
	struct pslab slab[PIPE_SLABS];
	size_t cur; /* the slab being read into */
	pthread_mutex_t mu;
	pthread_cond_t filled, freed;
	size_t made; /* batches handed over (b[made % PIPE_DEPTH] is next) */
	size_t used; /* batches done with */
	/* used, for the reader to look at without the lock */
	_Alignas(64) _Atomic size_t used_a;
	bool eof;
};

/*
 * The reader: searches one queued line nobody has claimed, the newest
 * batch's first; false when every queued line is claimed.
 */
static bool
pipe_search_one(struct pipeline *p, size_t used)
{
	for (size_t k = p->made; k-- > used;) {
		struct pbatch *b = &p->b[k % PIPE_DEPTH];

		while (b->next < b->n) {
			size_t i = b->next++;
			unsigned char open = PL_OPEN;

			if (atomic_compare_exchange_strong_explicit(&b->st[i],
			        &open, PL_BUSY, memory_order_acquire,
			        memory_order_relaxed)) {
				filter_prep_search(
				    p->prep, b->pre[i], b->line[i]);
				atomic_store_explicit(
				    &b->st[i], PL_DONE, memory_order_release);
				return true;
			}
			/* the main thread is in this batch: it takes the
			 * rest of it, and the batches before are done */
			b->next = b->n;
			return false;
		}
	}
	return false;
}

/*
 * The reader, between batches: searches queued lines while the main
 * thread has PIPE_LOW batches to go, and while the ring is full.
 */
static void
pipe_help(struct pipeline *p)
{
	for (;;) {
		size_t used =
		    atomic_load_explicit(&p->used_a, memory_order_acquire);

		if (p->made - used < PIPE_LOW)
			return; /* the main thread needs lines */
		if (pipe_search_one(p, used))
			continue;
		pthread_mutex_lock(&p->mu);
		if (p->made - p->used < PIPE_DEPTH) {
			pthread_mutex_unlock(&p->mu);
			return; /* room for a batch */
		}
		pthread_cond_wait(&p->freed, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
}

/* The reader: the batch being filled is complete; hands it over. */
static void
pipe_publish(struct pipeline *p)
{
	struct pbatch *b = &p->b[p->made % PIPE_DEPTH];

	for (size_t i = 0; i < b->n; i++) {
		if (b->pre[i] == NULL)
			b->pre[i] = filter_pre_new(p->r->f);
		filter_prep_line(
		    p->prep, b->line[i], b->len[i], p->now, false, b->pre[i]);
		atomic_store_explicit(&b->st[i], PL_OPEN, memory_order_relaxed);
	}
	b->next = 0;
	pthread_mutex_lock(&p->mu);
	p->made++;
	pthread_cond_signal(&p->filled);
	pthread_mutex_unlock(&p->mu);
	pipe_help(p);
	b = &p->b[p->made % PIPE_DEPTH];
	b->n = 0;
	b->bytes = 0;
}

/* The reader: feed() into the batch being filled (line is in the
 * current slab, which the batch then holds). */
static void
pipe_line(struct pipeline *p, const char *line, size_t len, size_t lineno)
{
	struct pbatch *b = &p->b[p->made % PIPE_DEPTH];
	struct pslab *sl = &p->slab[p->cur];

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || line[0] == '#')
		return;
	b->line[b->n] = line;
	b->len[b->n] = len;
	b->lineno[b->n] = lineno;
	b->n++;
	b->bytes += len;
	sl->held = true;
	sl->last = p->made;
	if (b->n == PIPE_LINES || b->bytes >= PIPE_BYTES)
		pipe_publish(p);
}

/*
 * The reader: the next slab to read into, with room for cap bytes; waits
 * until the main thread is done with the batches pointing into it.
 */
static struct pslab *
pipe_slab(struct pipeline *p, size_t cap)
{
	struct pslab *sl;

	p->cur = (p->cur + 1) % PIPE_SLABS;
	sl = &p->slab[p->cur];
	/* the batch being filled may point into it (a line longer than a
	 * few slabs went by since): that batch goes over as it is */
	if (sl->held && sl->last == p->made)
		pipe_publish(p);
	pthread_mutex_lock(&p->mu);
	while (sl->held && p->used <= sl->last)
		pthread_cond_wait(&p->freed, &p->mu);
	pthread_mutex_unlock(&p->mu);
	sl->held = false;
	if (sl->cap < cap) {
		free(sl->s);
		sl->s = xmalloc(cap + 1);
		sl->cap = cap;
	}
	return sl;
}

/*
 * read_lines() into slabs: the same lines (a last one without its
 * newline is not read, an overlong one is cut at LINE_BYTES_MAX), but
 * none is copied: where read_lines() moves the unsplit tail to the start
 * of its buffer, this moves it to the start of the next slab.
 */
static void
pipe_read(struct pipeline *p)
{
	struct pslab *sl;
	size_t have = 0, pos = 0, lineno = 0;
	bool skip = false; /* dropping the rest of an overlong line */

	p->cur = PIPE_SLABS - 1;
	sl = pipe_slab(p, PIPE_SLAB);
	for (;;) {
		ssize_t n;

		if (sl->cap - have < PIPE_READ) {
			/* the tail [pos, have) to a new slab, with room to read
			 * (a slab doubles up to twice LINE_BYTES_MAX, as
			 * read_lines()' buffer does) */
			const char *old = sl->s;
			size_t tail = have - pos, cap = PIPE_SLAB;

			while ((cap < tail || cap - tail < PIPE_READ) &&
			    cap < 2 * (size_t)LINE_BYTES_MAX)
				cap *= 2;
			sl = pipe_slab(p, cap);
			memcpy(sl->s, old + pos, tail);
			have = tail;
			pos = 0;
		}
		n = read(p->fd, sl->s + have,
		    sl->cap - have < PIPE_READ ? sl->cap - have : PIPE_READ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (skip) {
			char *nl = memchr(sl->s + have, '\n', (size_t)n);

			if (nl == NULL)
				continue;
			/* the head kept, then this newline */
			sl->s[have] = '\n';
			memmove(sl->s + have + 1, nl + 1,
			    (size_t)(sl->s + have + n - (nl + 1)));
			n = (ssize_t)(sl->s + have + n - (nl + 1)) + 1;
			skip = false;
		}
		have += (size_t)n;
		for (;;) {
			char *nl = memchr(sl->s + pos, '\n', have - pos);

			if (nl == NULL)
				break;
			pipe_line(p, sl->s + pos,
			    (size_t)(nl - (sl->s + pos)) + 1, ++lineno);
			pos = (size_t)(nl - sl->s) + 1;
		}
		if (have - pos >= LINE_BYTES_MAX) {
			have = pos + LINE_BYTES_MAX;
			skip = true;
		}
	}
}

static void *
pipe_reader(void *arg)
{
	struct pipeline *p = arg;

	pipe_read(p);
	if (p->b[p->made % PIPE_DEPTH].n)
		pipe_publish(p);
	pthread_mutex_lock(&p->mu);
	p->eof = true;
	pthread_cond_signal(&p->filled);
	pthread_mutex_unlock(&p->mu);
	/* the last lines: searches them beside the main thread */
	while (pipe_search_one(
	    p, atomic_load_explicit(&p->used_a, memory_order_acquire)))
		;
	return NULL;
}

/* feed_fd() in two threads; false when the thread could not start. */
static bool
feed_fd_pipe(struct run *r, int fd)
{
	struct pipeline *p = xmalloc_lines(sizeof(*p));
	pthread_t th;

	memset(p, 0, sizeof(*p));
	p->r = r;
	p->now = r->now;
	p->fd = fd;
	p->prep = filter_prep_new(r->f);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->freed, NULL);
	if (pthread_create(&th, NULL, pipe_reader, p) != 0) {
		filter_prep_free(p->prep);
		free(p);
		return false;
	}
	for (;;) {
		struct pbatch *b;

		pthread_mutex_lock(&p->mu);
		while (p->used == p->made && !p->eof)
			pthread_cond_wait(&p->filled, &p->mu);
		if (p->used == p->made) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		pthread_mutex_unlock(&p->mu);
		b = &p->b[p->used % PIPE_DEPTH];
		for (size_t i = 0; i < b->n; i++) {
			unsigned char st = PL_OPEN;

			/* the other core wrote it: its cache misses under way
			 * while this core works on the lines before */
			if (i + PIPE_AHEAD < b->n)
				filter_pre_prefetch(b->pre[i + PIPE_AHEAD]);
			/* unclaimed: searched here (filter_process_pre()
			 * finds no search in pre); being searched: waits */
			while (!atomic_compare_exchange_weak_explicit(&b->st[i],
			           &st, PL_MAIN, memory_order_acquire,
			           memory_order_acquire) &&
			    st != PL_DONE) {
				if (st == PL_BUSY)
					sched_yield();
				st = PL_OPEN;
			}
			test_line(
			    r, b->line[i], b->len[i], b->lineno[i], b->pre[i]);
		}
		pthread_mutex_lock(&p->mu);
		p->used++;
		atomic_store_explicit(
		    &p->used_a, p->used, memory_order_release);
		pthread_cond_signal(&p->freed);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_join(th, NULL);
	filter_prep_free(p->prep);
	for (size_t i = 0; i < PIPE_DEPTH; i++) {
		for (size_t k = 0; k < PIPE_LINES; k++)
			filter_pre_free(p->b[i].pre[k]);
	}
	for (size_t i = 0; i < PIPE_SLABS; i++)
		free(p->slab[i].s);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->filled);
	pthread_cond_destroy(&p->freed);
	free(p);
	return true;
}

static void
feed_fd(struct run *r, int fd)
{
	long threads = r->o->threads;

	if (threads == 0) {
		/* the CPUs this process may run on (taskset, a container's
		 * cpuset), not the machine's: on one CPU the second thread
		 * only adds its hand-overs */
		cpu_set_t set;

		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			threads = CPU_COUNT(&set) >= 2 ? 2 : 1;
		else
			threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
	}
	if (threads == 2 && !r->o->journal_lines && feed_fd_pipe(r, fd))
		return;
	read_lines(fd, feed_one, r);
}

/* ---- the report ---- */

static void
pprint_list(const struct strv *l, const char *header)
{
	if (l->n == 0)
		return;
	if (header)
		printf("|- %s\n", header);
	for (size_t i = 0; i < l->n; i++)
		printf("|  %s\n", l->v[i]);
	printf("`-\n");
}

static void
print_regex_stats(struct run *r, const char *title, struct rstat *v, size_t n)
{
	struct strv out = STRV_INIT;
	unsigned long total = 0;

	for (size_t i = 0; i < n; i++) {
		total += v[i].hits;
		if (v[i].hits || r->o->verbose)
			strv_take(&out,
			    xasprintf("%2zu) [%lu] %s", i + 1, v[i].hits,
			        v[i].regex));
		if (!r->o->verbose)
			continue;
		for (size_t k = 0; k < v[i].nips; k++) {
			const struct hit *h = &v[i].ips[k];
			time_t t = h->has_time ? (time_t)h->time : time(NULL);
			struct tm tm;
			char ts[64];

			localtime_r(&t, &tm);
			strftime(ts, sizeof(ts), "%a %b %d %H:%M:%S %Y", &tm);
			strv_take(&out,
			    xasprintf("    %s  %s%s", h->id, ts,
			        h->multi ? " (multiple regex matched)" : ""));
		}
	}
	printf("\n%s: %lu total\n", title, total);
	pprint_list(&out, " #) [# of hits] regular expression");
	strv_cleanup(&out);
}

/* Strips trailing whitespace as Python's rstrip() does. */
static void
rstrip_all(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);

		while (n > 0 &&
		    (l->v[i][n - 1] == ' ' ||
		        (l->v[i][n - 1] >= '\t' && l->v[i][n - 1] <= '\r') ||
		        (l->v[i][n - 1] >= 0x1c && l->v[i][n - 1] <= 0x1f)))
			n--;
		l->v[i][n] = '\0';
	}
}

static void
print_lines(
    struct run *r, const char *type, long count, struct strv *l, bool all)
{
	char header[64];

	if (!count)
		return;
	snprintf(
	    header, sizeof(header), "%c%s line(s):", type[0] - 32, type + 1);
	if (count < r->print_max || all) {
		rstrip_all(l);
		pprint_list(l, header);
	} else {
		printf("%s too many to print.  Use --print-all-%s to print all "
		       "%ld lines\n",
		    header, type, count);
	}
}

static void
print_stats(struct run *r, double elapsed)
{
	struct opts *o = r->o;
	struct datedetect *dd = filter_datedetect(r->f);

	printf("\nResults\n=======\n");
	if (filter_prefregex_expanded(r->f)) {
		struct strv out = STRV_INIT;

		strv_add(&out, filter_prefregex_expanded(r->f));
		if (o->verbose)
			for (size_t i = 0; i < r->pref_groups.n; i++)
				strv_take(&out,
				    xasprintf("    %s", r->pref_groups.v[i]));
		printf("\nPrefregex: %lu total\n", r->pref_matched);
		pprint_list(&out, NULL);
		strv_cleanup(&out);
	}
	print_regex_stats(r, "Failregex", r->fails, r->nfails);
	for (size_t i = 0; i < r->nigns; i++)
		r->igns[i].hits = 0;
	for (size_t i = 0; i < filter_ignoreregex_count(r->f); i++) {
		size_t k = i >= r->ign_offset ? i - r->ign_offset : i;

		if (k < r->nigns)
			r->igns[k].hits += filter_ignoreregex_hits(r->f, i);
	}
	print_regex_stats(r, "Ignoreregex", r->igns, r->nigns);
	if (dd && !o->journal_lines) {
		struct strv out = STRV_INIT;

		printf("\nDate template hits:\n");
		for (size_t i = 0; i < datedetect_count(dd); i++) {
			unsigned long h = datedetect_hits(dd, i);

			if (!(o->verbose || h))
				continue;
			strv_take(&out,
			    xasprintf("[%lu] %s", h, datedetect_name(dd, i)));
			if (o->verbose_date) {
				const char *pat = datedetect_pattern(dd, i);

				strv_take(&out,
				    xasprintf("    # weight: %.3f (%.3f), "
				              "pattern: %s",
				        datedetect_weight(dd, i),
				        datedetect_template_weight(dd, i),
				        pat ? pat : ""));
				strv_take(&out,
				    xasprintf("    # regex:   %s",
				        datedetect_regex(dd, i)));
			}
		}
		pprint_list(&out, "[# of hits] date format");
		strv_cleanup(&out);
	}
	printf("\nLines: %ld lines, %ld ignored, %ld matched, %ld missed\n",
	    r->ls.tested, r->ls.ignored, r->ls.matched, r->ls.missed);
	printf("[processed in %.2f sec]\n", elapsed);
	printf("\n");
	if (o->print_all_matched)
		print_lines(
		    r, "matched", r->ls.matched, &r->ls.matched_lines, true);
	if (!o->print_no_ignored)
		print_lines(r, "ignored", r->ls.ignored, &r->ls.ignored_lines,
		    o->print_all_ignored);
	if (!o->print_no_missed)
		print_lines(r, "missed", r->ls.missed, &r->ls.missed_lines,
		    o->print_all_missed);
}

/* ---- main ---- */

static double
wall_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void
run_cleanup(struct run *r)
{
	filter_free(r->f);
	filterdef_cleanup(&r->fd);
	for (size_t i = 0; i < r->nfails; i++) {
		for (size_t k = 0; k < r->fails[i].nips; k++)
			free(r->fails[i].ips[k].id);
		free(r->fails[i].ips);
	}
	free(r->fails);
	free(r->igns);
	strv_cleanup(&r->ls.matched_lines);
	strv_cleanup(&r->ls.missed_lines);
	strv_cleanup(&r->ls.ignored_lines);
	strv_cleanup(&r->pref_groups);
	free(r->last_pref_groups);
	sbuf_cleanup(&r->line);
	strv_cleanup(&r->dns_names);
	strv_cleanup(&r->dns_addrs);
	strv_cleanup(&r->dns_keep);
}

static const char *
default_config(void)
{
	struct stat st;

	if (stat("/etc/warden", &st) == 0 && S_ISDIR(st.st_mode))
		return "/etc/warden";
	return "/etc/fail2ban";
}

int
cmd_regex(int argc, char **argv)
{
	struct opts o;
	struct run r;
	struct diags d = DIAGS_INIT;
	struct filter_config cfg;
	const char *log, *regex;
	bool maxlines_set = false, datepattern_set = false;
	int rc;
	double t0;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	/* With TZ unset glibc stats /etc/localtime on every localtime() and
	 * mktime(); naming the same file keeps its answers and drops that. */
	if (getenv("TZ") == NULL)
		setenv("TZ", ":/etc/localtime", 0);
	o.check_all = true;
	o.encoding = "UTF-8";
	strv_init(&o.args);
	rc = parse_options(&o, argc, argv);
	if (rc >= 0)
		goto done;
	rc = 255;
	if (o.config == NULL)
		o.config = default_config();
	if (o.print_no_missed && o.print_all_missed) {
		print_help(stdout);
		fprintf(stderr,
		    "\nERROR: --print-no-missed and "
		    "--print-all-missed are mutually exclusive.\n");
		goto done;
	}
	if (o.print_no_ignored && o.print_all_ignored) {
		print_help(stdout);
		fprintf(stderr,
		    "\nERROR: --print-no-ignored and "
		    "--print-all-ignored are mutually exclusive.\n");
		goto done;
	}
	if (o.args.n != 2 && o.args.n != 3) {
		print_help(stdout);
		fprintf(stderr, "\nERROR: provide both <LOG> and <REGEX>.\n");
		goto done;
	}
	if (o.debuggex) {
		fprintf(stderr,
		    "ERROR: -D/--debuggex is not supported by "
		    "warden regex.\n");
		goto done;
	}
	log = o.args.v[0];
	regex = o.args.v[1];
	r.o = &o;
	r.now = o.has_now ? o.now : wall_now();
	r.print_max = o.maxlines ? o.maxlines : DEFAULT_PRINT_MAX;
	filterdef_init(&r.fd);
	if (!o.out && !o.json)
		printf("\nRunning tests\n=============\n\n");
	if (o.maxlines) {
		if (o.maxlines <= 0) {
			printf("ERROR: maxlines must be integer greater than "
			       "zero\n");
			goto done;
		}
		print_use_maxlines(&r, o.maxlines, &maxlines_set);
	}
	if (o.datepattern)
		print_use_datepattern(&r, o.datepattern, &datepattern_set);
	if (read_failregex(&r, regex, &maxlines_set, &datepattern_set) != 0)
		goto done;
	r.ign_offset = r.fd.ignoreregex.n;
	if (o.args.n == 3) {
		char *s = shortstr(o.args.v[2], 53);

		if (!o.out && !o.json)
			printf("Use ignoreregex line : %s\n", s);
		free(s);
		filterdef_re_add(&r.fd.ignoreregex, o.args.v[2], NULL, 0);
	} else {
		r.ign_offset = 0;
	}
	/* command line settings win over the filter file's */
	if (o.maxlines)
		r.fd.maxlines = (int)o.maxlines;
	if (o.datepattern)
		filterdef_re_set(&r.fd.datepattern, o.datepattern, NULL, 0);
	if (o.timezone) {
		free(r.fd.logtimezone);
		r.fd.logtimezone = xstrdup(o.timezone);
	}
	free(r.fd.usedns);
	r.fd.usedns = xstrdup(o.usedns ? o.usedns : "warn");
	memset(&cfg, 0, sizeof(cfg));
	cfg.flags = FILTER_WIDE_YEARS;
	if (o.raw)
		cfg.flags |= FILTER_RAW_HOSTS;
	if (o.check_all && !o.out)
		cfg.flags |= FILTER_CHECK_ALL;
	if (!o.out)
		cfg.flags |= FILTER_KEEP_PENDING;
	/* the plain report needs no groups nor matched lines */
	if (!o.out && !o.json && o.verbose <= 0)
		cfg.flags |= FILTER_LEAN;
	cfg.max_line_len = o.max_line_len;
	r.f = filter_new(&r.fd, &cfg, time(NULL), &d);
	if (r.f == NULL) {
		for (size_t i = 0; i < d.n; i++) {
			static const char pre[] =
			    "Unable to compile regular expression '";
			const char *m = d.v[i].msg, *sep;

			if (d.v[i].level != DIAG_ERROR)
				continue;
			/* fail2ban-regex puts the reason on its own line:
			 * split at the last "': " */
			sep = NULL;
			for (const char *q = strstr(m, "': "); q;
			     q = strstr(q + 1, "': "))
				sep = q;
			if (strncmp(m, pre, sizeof(pre) - 1) == 0 && sep)
				printf("ERROR: %.*s:\n%s\n", (int)(sep + 1 - m),
				    m, sep + 3);
			else
				printf("ERROR: %s\n", m);
		}
		goto done;
	}
	/* failregex and ignoreregex statistics, as configured */
	r.nfails = filter_failregex_count(r.f);
	r.fails = xcalloc(r.nfails + 1, sizeof(*r.fails));
	for (size_t i = 0; i < r.nfails; i++)
		rstat_init(&r.fails[i], filter_failregex(r.f, i));
	r.nigns = o.args.n == 3 ? 1 : filter_ignoreregex_count(r.f);
	r.igns = xcalloc(r.nigns + 1, sizeof(*r.igns));
	for (size_t i = 0; i < r.nigns; i++)
		rstat_init(&r.igns[i],
		    filter_ignoreregex(
		        r.f, i + (o.args.n == 3 ? r.ign_offset : 0)));

	if (is_file(log)) {
		int fd = open(log, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			printf("[Errno %d] %s: '%s'\n", errno, strerror(errno),
			    log);
			goto done;
		}
		if (!o.out && !o.json) {
			printf("Use         log file : %s\n", log);
			printf("Use         encoding : %s\n", o.encoding);
			printf("\n");
		}
		t0 = wall_now();
		feed_fd(&r, fd);
		close(fd);
	} else if (regex_journal_is_spec(log)) {
		struct journalmatch jm = JOURNALMATCH_INIT;
		struct regex_journal_opts ro = {0};
		const char *ml = o.journalmatch ? o.journalmatch
		    : r.fd.journalmatch.n
		    ? r.fd.journalmatch.v[r.fd.journalmatch.n - 1]
		    : NULL;

		if (ml && journalmatch_add_line(&jm, ml, NULL, 0, &d) != 0) {
			diags_print(&d, stdout);
			goto done;
		}
		if (!o.out && !o.json) {
			printf("Use         systemd journal\n");
			printf("Use         encoding : %s\n", o.encoding);
			if (ml) {
				struct sbuf b = SBUF_INIT;

				journalmatch_format(&jm, &b);
				printf("Use    journal match : %s\n",
				    sbuf_str(&b));
				sbuf_cleanup(&b);
			}
			printf("\n");
		}
		t0 = wall_now();
		ro.spec = log;
		ro.match = &jm;
		ro.entry = rj_feed;
		ro.arg = &r;
		if (regex_journal_read(&ro, &d) < 0) {
			diags_print(&d, stdout);
			journalmatch_cleanup(&jm);
			goto done;
		}
		journalmatch_cleanup(&jm);
	} else {
		bool multi_in = filter_maxlines(r.f) > 1 || strchr(log, '\n');
		size_t lineno = 0;

		if (!multi_in) {
			char *s = shortstr(log, 53);

			if (!o.out && !o.json)
				printf("Use      single line : %s\n", s);
			free(s);
		} else if (!o.out && !o.json) {
			size_t nl = 1, i = 0;
			const char *p;

			for (p = log; *p; p++)
				nl += *p == '\n';
			printf("Use      multi line : %zu line(s)\n", nl);
			for (p = log; i < nl; i++) {
				const char *e = strchr(p, '\n');
				char *l, *s;

				if (i >= 5) {
					printf("| ...\n");
					break;
				}
				l = e ? xstrndup(p, (size_t)(e - p))
				      : xstrdup(p);
				s = shortstr(l, 53);
				{
					char num[24];

					snprintf(
					    num, sizeof(num), "%zu", i + 1);
					printf("| %2.2s: %s\n", num, s);
				}
				free(l);
				free(s);
				p = e ? e + 1 : p + strlen(p);
			}
			printf("`-\n");
		}
		if (!o.out && !o.json)
			printf("\n");
		t0 = wall_now();
		if (!multi_in) {
			feed(&r, log, strlen(log), 1);
		} else {
			const char *p = log;

			for (;;) {
				const char *e = strchr(p, '\n');

				feed(&r, p, e ? (size_t)(e - p) : strlen(p),
				    ++lineno);
				if (e == NULL)
					break;
				p = e + 1;
			}
		}
	}
	if (!o.out && !o.json)
		print_stats(&r, wall_now() - t0);
	rc = 0;
done:
	fflush(stdout);
	diags_cleanup(&d);
	run_cleanup(&r);
	strv_cleanup(&o.args);
	return rc;
}
