/*
 * The daemon's logger: fail2ban's line format, levels and targets (see
 * log.h). All state is in the one static struct below; records are
 * formatted into reused buffers (no allocation per record), the local time
 * text is computed once per second, and inside a batch (the sources feed a
 * run of lines) the lines for a file are written with one write(2).
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dl_systemd.h"
#include "xmalloc.h"

enum target_kind {
	T_STDERR,
	T_STDOUT,
	T_FILE,
	T_SYSLOG,
	T_JOURNAL,
	T_INHERITED,
};

/* The logger's settings: the only process-wide state in Warden. */
static struct {
	int level;
	enum target_kind kind;
	int fd;       /* T_STDERR/T_STDOUT/T_FILE: where lines go;
	                 T_SYSLOG: the socket; -1 when none */
	char *name;   /* owned; target without options; NULL = STDERR */
	char *path;   /* owned; T_FILE path, T_SYSLOG socket path */
	int facility; /* T_SYSLOG: syslog facility number (3 = daemon) */
	int socktype; /* T_SYSLOG: SOCK_DGRAM or SOCK_STREAM */
	bool addtime; /* print the asctime column */
	bool padding; /* pad logger and level names */
	unsigned long written, dropped;
	double (*clock)(void);
	long pid;
	void (*hook)(void *ctx, int level, const char *logger, const char *msg);
	void *hook_ctx;
	/* wlog_batch_begin/end: lines for fd collected in pend */
	int batch;                  /* nesting depth */
	struct sbuf pend;           /* lines not written yet */
	unsigned long npend;        /* records in pend */
	int depth;                  /* wlog_v running (reentrancy: the hook) */
	struct sbuf msg, line, raw; /* per-record buffers, reused */
	/* the local time text of one second, "YYYY-mm-dd HH:MM:SS" */
	struct {
		time_t sec;
		bool valid;
		char text[WLOG_TIMESTRLEN];
	} tcache[2]; /* [0] wlog_format, [1] wlog_time2str */
} L = {
    .level = WLOG_INFO,
    .kind = T_STDERR,
    .fd = 2,
    .facility = 3,
    .socktype = SOCK_DGRAM,
    .addtime = true,
    .padding = true,
};

static int write_all(int fd, const char *p, size_t n);

/* ---- levels ---- */

static const struct {
	const char *name;
	int level;
} level_names[] = {
    {"CRITICAL", WLOG_CRITICAL},
    {"FATAL", WLOG_CRITICAL},
    {"ERROR", WLOG_ERROR},
    {"WARNING", WLOG_WARNING},
    {"WARN", WLOG_WARNING},
    {"NOTICE", WLOG_NOTICE},
    {"INFO", WLOG_INFO},
    {"MSG", WLOG_MSG},
    {"DEBUG", WLOG_DEBUG},
    {"TRACEDEBUG", WLOG_TRACEDEBUG},
    {"HEAVYDEBUG", WLOG_HEAVYDEBUG},
    {"NOTSET", WLOG_NOTSET},
};

int
wlog_level_parse(const char *s, int *level)
{
	size_t n = strlen(s);

	if (n == 0)
		return -1;
	if (strspn(s, "0123456789") == n) {
		long v = 0;

		for (size_t i = 0; i < n; i++) {
			v = v * 10 + (s[i] - '0');
			if (v > 1000000)
				return -1;
		}
		*level = (int)v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcasecmp(s, level_names[i].name) == 0) {
			*level = level_names[i].level;
			return 0;
		}
	}
	return -1;
}

const char *
wlog_level_name(int level, char *buf)
{
	switch (level) {
	case WLOG_NOTSET:
		return "NOTSET";
	case WLOG_HEAVYDEBUG:
		return "HEAVY";
	case WLOG_TRACEDEBUG:
		return "TRACE";
	case WLOG_DEBUG:
		return "DEBUG";
	case WLOG_MSG:
		return "MSG";
	case WLOG_INFO:
		return "INFO";
	case WLOG_NOTICE:
		return "NOTICE";
	case WLOG_WARNING:
		return "WARNING";
	case WLOG_ERROR:
		return "ERROR";
	case WLOG_CRITICAL:
		return "CRITICAL";
	}
	if (level > 0 && level < 50)
		snprintf(buf, WLOG_LEVEL_NAMELEN, "#%02d-Lev.", level);
	else
		snprintf(buf, WLOG_LEVEL_NAMELEN, "Level %d", level);
	return buf;
}

void
wlog_set_level(int level)
{
	L.level = level;
}

int
wlog_get_level(void)
{
	return L.level;
}

bool
wlog_enabled(int level)
{
	return level >= L.level;
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0];
	size_t len;
	unsigned lo = 0x80, hi = 0xBF, v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	v = (v << 6) | (s[1] & 0x3F);
	for (size_t i = 2; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	*cp = v;
	return len;
}

/* Code points shown escaped although valid: C1 controls, line and
 * paragraph separators, bidirectional overrides (they reorder text). */
static bool
cp_escaped(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Escapes n bytes of s onto out, stopping before out would pass cap bytes
 * (cap 0 = no limit); returns false when it stopped early.
 */
static bool
escape_capped(struct sbuf *out, const char *s, size_t n, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		char esc[8];
		size_t elen = 0, seq;
		unsigned cp = 0;
		const char *src;

		seq = utf8_seq(p + i, n - i, &cp);
		if (seq == 0) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[p[i] >> 4];
			esc[3] = hex[p[i] & 15];
			elen = 4;
			seq = 1;
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			esc[0] = '\\';
			esc[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
			elen = 2;
		} else if (cp < 0x20 || cp == 0x7F) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[cp >> 4];
			esc[3] = hex[cp & 15];
			elen = 4;
		} else if (cp_escaped(cp)) {
			esc[0] = '\\';
			esc[1] = 'u';
			for (int k = 0; k < 4; k++)
				esc[2 + k] = hex[(cp >> (12 - 4 * k)) & 15];
			elen = 6;
		}
		src = elen ? esc : (const char *)p + i;
		if (!elen)
			elen = seq;
		if (cap && out->len + elen > cap)
			return false;
		sbuf_add(out, src, elen);
		i += seq;
	}
	return true;
}

void
wlog_escape(struct sbuf *out, const char *s, size_t n)
{
	escape_capped(out, s, n, 0);
}

/* ---- formatting ---- */

static double
real_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The local time text of sec, "YYYY-mm-dd HH:MM:SS", from cache c. */
static const char *
local_text(int c, time_t sec)
{
	struct tm tm;

	if (L.tcache[c].valid && L.tcache[c].sec == sec)
		return L.tcache[c].text;
	if (!localtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	strftime(L.tcache[c].text, sizeof(L.tcache[c].text),
	    "%Y-%m-%d %H:%M:%S", &tm);
	L.tcache[c].sec = sec;
	L.tcache[c].valid = true;
	return L.tcache[c].text;
}

/* Writes s left-justified in width columns at p; returns the end. */
static char *
put_padded(char *p, const char *s, size_t n, size_t width)
{
	memcpy(p, s, n);
	p += n;
	if (n < width) {
		memset(p, ' ', width - n);
		p += width - n;
	}
	return p;
}

/* wlog_format with the message's length known: the prefix put together
 * on the stack, then two appends (a line per ban in a flood). */
static void
format_line(struct sbuf *out, double t, long pid, int level, const char *logger,
    const char *msg, size_t msglen, bool addtime, bool padding)
{
	char lbuf[WLOG_LEVEL_NAMELEN];
	const char *lname = wlog_level_name(level, lbuf);
	size_t ll = strlen(logger), nl = strlen(lname);
	/* time and ",mmm ", logger, '[', pid, "]: ", level, ' ' */
	size_t need = WLOG_TIMESTRLEN + 5 + (ll > 24 ? ll : 24) + 1 + 24 + 3 +
	    (nl > 7 ? nl : 7) + 1;
	char stack[256];
	char *pre = need <= sizeof(stack) ? stack : xmalloc(need);
	char *p = pre;

	if (addtime) {
		/* Python logging: localtime(created), msecs truncated. */
		double sec = floor(t);
		int ms = (int)((t - sec) * 1000);
		const char *lt = local_text(0, (time_t)sec);
		size_t tl = strnlen(lt, WLOG_TIMESTRLEN);

		if (ms > 999)
			ms = 999;
		if (ms < 0)
			ms = 0;
		memcpy(p, lt, tl);
		p += tl;
		*p++ = ',';
		*p++ = (char)('0' + ms / 100);
		*p++ = (char)('0' + ms / 10 % 10);
		*p++ = (char)('0' + ms % 10);
		*p++ = ' ';
	}
	p = put_padded(p, logger, ll, padding ? 24 : 0);
	*p++ = '[';
	{
		char buf[24];
		char *q = buf + sizeof(buf);
		unsigned long u =
		    pid < 0 ? 0UL - (unsigned long)pid : (unsigned long)pid;

		do
			*--q = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (pid < 0)
			*--q = '-';
		memcpy(p, q, (size_t)(buf + sizeof(buf) - q));
		p += buf + sizeof(buf) - q;
	}
	memcpy(p, "]: ", 3);
	p += 3;
	p = put_padded(p, lname, nl, padding ? 7 : 0);
	*p++ = ' ';
	sbuf_add(out, pre, (size_t)(p - pre));
	sbuf_add(out, msg, msglen);
	if (pre != stack) /* a name no logger of ours has */
		free(pre);
}

void
wlog_format(struct sbuf *out, double t, long pid, int level, const char *logger,
    const char *msg, bool addtime, bool padding)
{
	format_line(
	    out, t, pid, level, logger, msg, strlen(msg), addtime, padding);
}

char *
wlog_time2str(double t, char *buf)
{
	double sec, us;

	if (isnan(t)) {
		snprintf(buf, WLOG_TIMESTRLEN, "nan");
		return buf;
	}
	if (t >= 253402214400.0) {
		snprintf(buf, WLOG_TIMESTRLEN, "9999-12-31 23:59:59");
		return buf;
	}
	if (t < -62135596800.0) /* before year 1: Python cannot either */
		t = -62135596800.0;
	/* datetime.fromtimestamp rounds to microseconds (half even), then
	 * time2str drops them. */
	sec = floor(t);
	us = nearbyint((t - sec) * 1e6);
	if (us >= 1e6)
		sec += 1;
	memcpy(buf, local_text(1, (time_t)sec), WLOG_TIMESTRLEN);
	return buf;
}

/* ---- targets ---- */

/* Writes the lines collected by a batch. */
static void
flush_pending(void)
{
	if (L.pend.len == 0)
		return;
	if (L.fd >= 0 && write_all(L.fd, L.pend.s, L.pend.len) == 0)
		L.written += L.npend;
	else
		L.dropped += L.npend;
	sbuf_reset(&L.pend);
	L.npend = 0;
	if (L.pend.cap > 4 * WLOG_BATCH_BYTES)
		sbuf_cleanup(&L.pend);
}

static void
close_target(void)
{
	flush_pending();
	if ((L.kind == T_FILE || L.kind == T_SYSLOG) && L.fd >= 0)
		close(L.fd);
	L.fd = -1;
	free(L.name);
	free(L.path);
	L.name = NULL;
	L.path = NULL;
}

void
wlog_reset(void)
{
	close_target();
	L.tcache[0].valid = L.tcache[1].valid = false;
	L.kind = T_STDERR;
	L.fd = 2;
	L.level = WLOG_INFO;
	L.addtime = true;
	L.padding = true;
	L.facility = 3;
	L.socktype = SOCK_DGRAM;
}

static const struct {
	const char *name;
	int code;
} facilities[] = {
    {"KERN", 0},
    {"USER", 1},
    {"MAIL", 2},
    {"DAEMON", 3},
    {"AUTH", 4},
    {"SYSLOG", 5},
    {"LPR", 6},
    {"NEWS", 7},
    {"UUCP", 8},
    {"CRON", 9},
    {"AUTHPRIV", 10},
    {"FTP", 11},
    {"NTP", 12},
    {"SECURITY", 13},
    {"CONSOLE", 14},
    {"SOLCRON", 15},
    {"LOCAL0", 16},
    {"LOCAL1", 17},
    {"LOCAL2", 18},
    {"LOCAL3", 19},
    {"LOCAL4", 20},
    {"LOCAL5", 21},
    {"LOCAL6", 22},
    {"LOCAL7", 23},
};

static bool
as_bool(const char *v)
{
	return !strcasecmp(v, "1") || !strcasecmp(v, "on") ||
	    !strcasecmp(v, "true") || !strcasecmp(v, "yes");
}

/* Target options parsed from "NAME[k=v, k="v"]". */
struct topts {
	const char *facility; /* NULL when not given */
	int padding;          /* -1 when not given */
	int datetime;         /* -1 when not given */
	bool format;          /* a format= option was given */
};

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * Splits target into its name (returned, new) and options (in o, whose
 * strings point into *store, new). NULL on a syntax error.
 */
static char *
parse_target(const char *target, struct topts *o, char **store)
{
	const char *br = strchr(target, '[');
	char *name, *opts, *p;
	size_t len;

	o->facility = NULL;
	o->padding = o->datetime = -1;
	o->format = false;
	*store = NULL;
	if (!br) {
		name = xstrdup(target);
		return name;
	}
	len = strlen(br);
	while (len > 1 && (br[len - 1] == ' ' || br[len - 1] == '\t'))
		len--;
	if (br[len - 1] != ']' || len < 2)
		return NULL;
	name = xstrndup(target, (size_t)(br - target));
	opts = xstrndup(br + 1, len - 2);
	*store = opts;
	p = opts;
	while (*p) {
		char *k = p, *v, *eq;
		char q;

		eq = strchr(p, '=');
		if (!eq)
			break;
		*eq = '\0';
		v = eq + 1;
		while (*v == ' ')
			v++;
		if (*v == '"' || *v == '\'') {
			char *end;

			q = *v++;
			end = strchr(v, q);
			if (!end)
				goto bad;
			*end = '\0';
			p = end + 1;
			while (*p == ' ')
				p++;
			if (*p == ',')
				p++;
			else if (*p)
				goto bad;
		} else {
			char *end = strchr(v, ',');

			if (end) {
				*end = '\0';
				p = end + 1;
			} else {
				p = v + strlen(v);
			}
		}
		k = trim(k);
		v = trim(v);
		if (!strcmp(k, "facility"))
			o->facility = v;
		else if (!strcmp(k, "padding"))
			o->padding = as_bool(v);
		else if (!strcmp(k, "datetime"))
			o->datetime = as_bool(v);
		else if (!strcmp(k, "format"))
			o->format = *v != '\0';
	}
	if (*trim(p))
		goto bad;
	return name;
bad:
	free(name);
	free(opts);
	*store = NULL;
	return NULL;
}

static int
syslog_connect(const char *path, int *socktype)
{
	struct sockaddr_un sun;
	int types[2] = {SOCK_DGRAM, SOCK_STREAM};

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	for (int i = 0; i < 2; i++) {
		int fd =
		    socket(AF_UNIX, types[i] | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			*socktype = types[i];
			return fd;
		}
		close(fd);
		if (errno != EPROTOTYPE)
			return -1;
	}
	return -1;
}

static const char *
syslog_path(const char *syslogsocket)
{
	if (!syslogsocket || !strcmp(syslogsocket, "auto"))
		return "/dev/log";
	return syslogsocket;
}

int
wlog_set_target(
    const char *target, const char *syslogsocket, char *err, size_t errlen)
{
	struct topts o;
	char *store = NULL, *name;
	enum target_kind kind;
	int fd = -1, socktype = SOCK_DGRAM, facility = 3;
	char *path = NULL;
	bool addtime, padding;

	name = parse_target(target, &o, &store);
	if (!name) {
		snprintf(
		    err, errlen, "unexpected option syntax in '%s'", target);
		return -1;
	}
	{
		char *t = trim(name);

		memmove(name, t, strlen(t) + 1);
	}
	if (o.format) {
		snprintf(err, errlen, "log format option is not supported");
		goto fail;
	}
	if (!strcasecmp(name, "STDOUT") || !strcasecmp(name, "SYSOUT"))
		kind = T_STDOUT;
	else if (!strcasecmp(name, "STDERR"))
		kind = T_STDERR;
	else if (!strcasecmp(name, "SYSLOG"))
		kind = T_SYSLOG;
	else if (!strcasecmp(name, "SYSTEMD-JOURNAL"))
		kind = T_JOURNAL;
	else if (!strcasecmp(name, "INHERITED"))
		kind = T_INHERITED;
	else
		kind = T_FILE;
	if (kind == T_INHERITED) {
		/* fail2ban's test mode: keep the handlers, take the name */
		free(L.name);
		L.name = name;
		free(store);
		return 0;
	}
	if (L.name && !strcmp(L.name, name) &&
	    (kind != T_SYSLOG || !strcmp(L.path, syslog_path(syslogsocket)))) {
		free(name);
		free(store);
		return 0;
	}
	/* datetime: fail2ban prints none for SYSLOG and SYSOUT. */
	addtime = kind != T_SYSLOG && strcasecmp(name, "SYSOUT") != 0;
	if (o.datetime >= 0)
		addtime = o.datetime;
	padding = kind != T_SYSLOG;
	if (o.padding >= 0)
		padding = o.padding;

	switch (kind) {
	case T_STDOUT:
		fd = 1;
		break;
	case T_STDERR:
		fd = 2;
		break;
	case T_FILE:
		fd =
		    open(name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			snprintf(err, errlen, "Unable to log to '%s': %s", name,
			    strerror(errno));
			goto fail;
		}
		path = xstrdup(name);
		break;
	case T_SYSLOG: {
		struct stat st;
		const char *sp = syslog_path(syslogsocket);

		if (o.facility) {
			facility = -1;
			for (size_t i = 0;
			     i < sizeof(facilities) / sizeof(facilities[0]);
			     i++)
				if (!strcasecmp(o.facility, facilities[i].name))
					facility = facilities[i].code;
			if (facility < 0) {
				snprintf(err, errlen,
				    "Unable to set facility '%s'", o.facility);
				goto fail;
			}
		}
		if (stat(sp, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen,
			    "Syslog socket file: %s does not exists or is not "
			    "a socket",
			    sp);
			goto fail;
		}
		fd = syslog_connect(sp, &socktype);
		if (fd < 0) {
			snprintf(err, errlen, "Unable to connect to %s: %s", sp,
			    strerror(errno));
			goto fail;
		}
		path = xstrdup(sp);
		break;
	}
	case T_JOURNAL:
		/* libsystemd is loaded only for this target (dl_systemd.h) */
		if (dl_systemd_load(err, errlen) != 0)
			goto fail;
		break;
	case T_INHERITED:
		break;
	}
	close_target();
	L.kind = kind;
	L.fd = fd;
	L.name = name;
	L.path = path;
	L.facility = facility;
	L.socktype = socktype;
	L.addtime = addtime;
	L.padding = padding;
	free(store);
	return 0;
fail:
	free(name);
	free(store);
	return -1;
}

const char *
wlog_get_target(void)
{
	return L.name ? L.name : "STDERR";
}

int
wlog_reopen(void)
{
	flush_pending();
	if (L.kind == T_FILE) {
		int fd = open(
		    L.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

		if (fd < 0)
			return -1;
		close(L.fd);
		L.fd = fd;
		return 1;
	}
	if (L.kind == T_SYSLOG) {
		int st, fd = syslog_connect(L.path, &st);

		if (fd >= 0) {
			close(L.fd);
			L.fd = fd;
			L.socktype = st;
		}
	}
	return 0;
}

unsigned long
wlog_count_written(void)
{
	return L.written;
}

unsigned long
wlog_count_dropped(void)
{
	return L.dropped;
}

/* ---- writing ---- */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Python's SysLogHandler priority for a level name, with fail2ban's
 * NOTICE; our own levels map by number instead of Python's "warning". */
static int
syslog_priority(int level)
{
	if (level >= WLOG_CRITICAL)
		return 2;
	if (level >= WLOG_ERROR)
		return 3;
	if (level >= WLOG_WARNING)
		return 4;
	if (level >= WLOG_NOTICE)
		return 5;
	if (level >= WLOG_MSG)
		return 6;
	return 7;
}

static void
send_syslog(const char *p, size_t n)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		ssize_t w = send(L.fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w == (ssize_t)n) {
			L.written++;
			return;
		}
		if (w >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		/* syslogd restarted: reconnect once */
		if (attempt == 0) {
			int st, fd = syslog_connect(L.path, &st);

			if (fd < 0)
				break;
			close(L.fd);
			L.fd = fd;
			L.socktype = st;
		}
	}
	L.dropped++;
}

/* True when s holds only printable ASCII (nothing to escape). */
static bool
plain_ascii(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7F)
			return false;
	return true;
}

void
wlog_batch_begin(void)
{
	L.batch++;
}

void
wlog_batch_end(void)
{
	if (L.batch > 0 && --L.batch == 0)
		flush_pending();
}

/*
 * One record: the message from fmt and *ap, or (fmt NULL) the n bytes
 * of text as they are.
 */
static void
record(int level, const char *logger, const char *text, size_t n,
    const char *fmt, va_list *ap)
{
	struct sbuf lmsg = SBUF_INIT, lline = SBUF_INIT, lraw = SBUF_INIT;
	struct sbuf *msg, *line, *raw;
	const char *m;
	size_t mlen;
	double t;
	long pid;

	/* the reused buffers, unless a hook logs from inside a record */
	if (L.depth++ == 0) {
		msg = &L.msg;
		line = &L.line;
		raw = &L.raw;
		sbuf_reset(msg);
		sbuf_reset(line);
		sbuf_reset(raw);
	} else {
		msg = &lmsg;
		line = &lline;
		raw = &lraw;
	}
	if (fmt != NULL) {
		sbuf_vprintf(raw, fmt, *ap);
		text = raw->s != NULL ? raw->s : "";
		n = raw->len;
	}
	if (n <= WLOG_MAX_MSG - 3 && plain_ascii(text, n)) {
		m = text;
		mlen = n;
	} else {
		if (!escape_capped(msg, text, n, WLOG_MAX_MSG - 3))
			sbuf_addstr(msg, "...");
		m = sbuf_str(msg);
		mlen = msg->len;
	}
	t = L.clock ? L.clock() : real_clock();
	pid = L.pid > 0 ? L.pid : (long)getpid();
	if (L.hook)
		L.hook(L.hook_ctx, level, logger, m);

	switch (L.kind) {
	case T_SYSLOG:
		sbuf_printf(
		    line, "<%d>", L.facility << 3 | syslog_priority(level));
		format_line(
		    line, t, pid, level, logger, m, mlen, L.addtime, L.padding);
		sbuf_add(line, "", 1); /* Python appends a NUL */
		if (L.fd >= 0)
			send_syslog(line->s, line->len);
		else
			L.dropped++;
		break;
	case T_JOURNAL: {
		char lbuf[WLOG_LEVEL_NAMELEN];

		/* SYSLOG_IDENTIFIER is the logger name and MESSAGE starts
		 * with the level, so the journal line reads like the SYSLOG
		 * one ("host fail2ban.actions[pid]: NOTICE [j] Ban ip") and
		 * fail2ban's recidive filter matches it. */
		if (dl_sd_journal_send("MESSAGE=%s %s",
		        wlog_level_name(level, lbuf), m, "PRIORITY=%d",
		        syslog_priority(level), "SYSLOG_FACILITY=%d",
		        L.facility, "SYSLOG_IDENTIFIER=%s", logger,
		        "SYSLOG_PID=%ld", pid, "LOGGER=%s", logger, NULL) == 0)
			L.written++;
		else
			L.dropped++;
		break;
	}
	default:
		if (L.batch > 0 && L.fd >= 0) {
			format_line(&L.pend, t, pid, level, logger, m, mlen,
			    L.addtime, L.padding);
			sbuf_addch(&L.pend, '\n');
			L.npend++;
			if (L.pend.len >= WLOG_BATCH_BYTES)
				flush_pending();
			break;
		}
		format_line(
		    line, t, pid, level, logger, m, mlen, L.addtime, L.padding);
		sbuf_addch(line, '\n');
		if (L.fd >= 0 && write_all(L.fd, line->s, line->len) == 0)
			L.written++;
		else
			L.dropped++;
		break;
	}
	if (--L.depth == 0) {
		/* a huge record must not keep its memory */
		if (raw->cap > 2 * WLOG_MAX_MSG)
			sbuf_cleanup(raw);
		if (msg->cap > 2 * WLOG_MAX_MSG)
			sbuf_cleanup(msg);
		if (line->cap > 4 * WLOG_MAX_MSG)
			sbuf_cleanup(line);
	}
	sbuf_cleanup(&lline);
	sbuf_cleanup(&lmsg);
	sbuf_cleanup(&lraw);
}

void
wlog_v(int level, const char *logger, const char *fmt, va_list ap)
{
	va_list cp;

	if (!wlog_enabled(level))
		return;
	/* a va_list parameter is a pointer on some ABIs: a local to point
	 * to */
	va_copy(cp, ap);
	record(level, logger, NULL, 0, fmt, &cp);
	va_end(cp);
}

void
wlog_str(int level, const char *logger, const char *msg, size_t n)
{
	if (wlog_enabled(level))
		record(level, logger, msg, n, NULL, NULL);
}

void
wlog(int level, const char *logger, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wlog_v(level, logger, fmt, ap);
	va_end(ap);
}

/* ---- rate limiting ---- */

bool
wlog_rate_allow(struct wlog_rate *r, double now, unsigned long *suppressed)
{
	if (now >= r->next || now < r->next - 2 * r->interval) {
		if (suppressed)
			*suppressed = r->suppressed;
		r->suppressed = 0;
		r->next = now + r->interval;
		return true;
	}
	r->suppressed++;
	return false;
}

/* ---- test hooks ---- */

void
wlog_test_set_clock(double (*clock)(void))
{
	L.clock = clock;
}

void
wlog_test_set_pid(long pid)
{
	L.pid = pid;
}

void
wlog_set_hook(
    void (*hook)(void *ctx, int level, const char *logger, const char *msg),
    void *ctx)
{
	L.hook = hook;
	L.hook_ctx = ctx;
}
