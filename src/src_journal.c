/*
 * src_journal: the systemd journal as a log source in the libuv loop (see
 * src_journal.h for the contract). Three parts: the backend parameters
 * (fail2ban's _getJournalArgs), the entry -> line formatting (fail2ban's
 * formatJournalEntry, with python-systemd's field conversions), and the
 * follower: open/seek, wake-ups from the journal's inotify fd, budgeted
 * reading, and reopening after errors from the last cursor.
 *
 * Why every failure ends in "close, wait retry_ms, reopen at the cursor":
 * libsystemd already drops unreadable files while iterating and watches
 * the directories it knows, but it never watches a directory that did not
 * exist at open time and cannot recover a handle whose files all went
 * away. A reopen at the cursor handles all of these the same way and
 * cannot deliver an entry twice.
 */
#include "src_journal.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "conf.h"
#include "diag.h"
#include "dl_systemd.h"
#include "journalmatch.h"
#include "log.h"
#include "sbuf.h"
#include "timeval.h"
#include "xmalloc.h"

#define SJ_MAX_MESSAGES 64   /* MESSAGE values joined per entry */
#define SJ_ERROR_EVERY  60e3 /* ms between repeated ERROR events */
#define SJ_RECHECK_MS   1000 /* file-list check, files/rotated=0 modes */
/*
 * Latency polling. journald announces appends with an ftruncate() from a
 * 250 ms timer (with 250 ms of sd-event slack), so inotify alone leaves
 * up to half a second between an entry and its wake-up. New entries are
 * visible through the shared mapping at once, and an sd_journal_next()
 * that finds nothing costs well under a microsecond, so the source also
 * looks every poll_fast_ms while entries flow, backing off to
 * SJ_POLL_SLOW_MS once nothing came for SJ_ACTIVE_MS.
 */
#define SJ_POLL_FAST_MS 1     /* default fast interval */
#define SJ_POLL_SLOW_MS 250   /* longest interval when idle */
#define SJ_ACTIVE_MS    60000 /* fast this long after the last entry */

/* ---- parameters ---------------------------------------------------- */

void
src_journal_params_init(struct src_journal_params *p)
{
	memset(p, 0, sizeof(*p));
	strv_init(&p->files);
	strv_init(&p->globs);
	p->rotated = -1;
	p->start = SRC_JOURNAL_START_TAIL;
}

void
src_journal_params_cleanup(struct src_journal_params *p)
{
	free(p->path);
	free(p->ns);
	strv_cleanup(&p->files);
	strv_cleanup(&p->globs);
	src_journal_params_init(p);
}

/* helpers.splitwords(): split on runs of ',', ' ', '\n'; drop empties. */
static void
splitwords(const char *s, struct strv *out)
{
	while (*s) {
		size_t n;

		s += strspn(s, ", \n\t\r");
		n = strcspn(s, ", \n");
		if (n > 0) {
			char *w = xstrndup(s, n);
			size_t l = strlen(w);

			while (l > 0 &&
			    (w[l - 1] == '\t' || w[l - 1] == '\r' ||
			        w[l - 1] == ' '))
				w[--l] = '\0';
			if (l > 0)
				strv_take(out, w);
			else
				free(w);
		}
		s += n;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Globs every pattern into out (sorted, unique, capped). */
static void
glob_all(const struct strv *globs, struct strv *out)
{
	for (size_t i = 0; i < globs->n; i++) {
		glob_t g;

		if (glob(globs->v[i], 0, NULL, &g) != 0)
			continue;
		for (size_t k = 0;
		     k < g.gl_pathc && out->n < SRC_JOURNAL_MAX_FILES; k++)
			if (strv_find(out, g.gl_pathv[k]) < 0)
				strv_add(out, g.gl_pathv[k]);
		globfree(&g);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

/* Python's int(str) accepted shape, ASCII only: surrounding whitespace,
 * a sign, digits with single underscores between them. Writes the value
 * in decimal without leading zeros (sign kept unless zero) to out.
 * Returns 0, or -1 when Python would raise ValueError (or out is too
 * small). */
static int
py_int10(const char *s, size_t len, char *out, size_t outsz)
{
	const char *e = s + len;
	bool neg = false, any = false, prev_us = false;
	size_t n = 0;

	/* the usual shape, plain digits without a leading zero */
	if (len > 0 && len < outsz && s[0] >= '1' && s[0] <= '9') {
		size_t i = 1;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == len) {
			memcpy(out, s, len);
			out[len] = '\0';
			return 0;
		}
	}
	while (s < e && strchr(" \t\n\v\f\r", *s) && *s)
		s++;
	while (e > s && strchr(" \t\n\v\f\r", e[-1]) && e[-1])
		e--;
	if (s < e && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	if (neg && outsz > 0)
		out[n++] = '-';
	for (; s < e; s++) {
		if (*s == '_') {
			if (!any || prev_us)
				return -1;
			prev_us = true;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -1;
		prev_us = false;
		any = true;
		if (*s == '0' && n == (size_t)neg)
			continue; /* a leading zero */
		if (n + 2 > outsz)
			return -1;
		out[n++] = *s;
	}
	if (!any || prev_us)
		return -1;
	if (n == (size_t)neg) { /* all zeros */
		n = 0;
		out[n++] = '0';
	}
	if (n + 1 > outsz)
		return -1;
	out[n] = '\0';
	return 0;
}

static int
py_int64(const char *s, size_t len, long long *v)
{
	char buf[32];

	if (len > 64 || py_int10(s, len, buf, sizeof(buf)) != 0)
		return -1;
	errno = 0;
	*v = strtoll(buf, NULL, 10);
	return errno == 0 ? 0 : -1;
}

static bool
is_true(const char *v)
{
	return strcasecmp(v, "1") == 0 || strcasecmp(v, "on") == 0 ||
	    strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0;
}

static bool
is_false(const char *v)
{
	return strcasecmp(v, "0") == 0 || strcasecmp(v, "off") == 0 ||
	    strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0;
}

int
src_journal_params_set(struct src_journal_params *p, const char *key,
    const char *value, const char *file, int line, struct diags *d)
{
	if (strcmp(key, "journalpath") == 0) {
		free(p->path);
		p->path = value[0] ? xstrdup(value) : NULL;
	} else if (strcmp(key, "journalfiles") == 0) {
		strv_cleanup(&p->globs);
		strv_cleanup(&p->files);
		splitwords(value, &p->globs);
		glob_all(&p->globs, &p->files);
		p->files_given = true;
	} else if (strcmp(key, "journalflags") == 0) {
		long long v;

		if (py_int64(value, strlen(value), &v) != 0 || v < 0 ||
		    v > INT_MAX) {
			diag_add(d, DIAG_ERROR, file, line,
			    "journalflags: '%.100s' is not a valid integer",
			    value);
			return -1;
		}
		p->has_flags = true;
		p->flags = (int)v;
	} else if (strcmp(key, "namespace") == 0) {
		free(p->ns);
		p->ns = value[0] ? xstrdup(value) : NULL;
	} else if (strcmp(key, "rotated") == 0) {
		if (is_true(value))
			p->rotated = 1;
		else if (is_false(value) || value[0] == '\0')
			p->rotated = 0;
		else {
			diag_add(d, DIAG_ERROR, file, line,
			    "rotated: '%.100s' is not a boolean", value);
			return -1;
		}
	} else if (strcmp(key, "journalpoll") == 0) {
		long long v;

		if (strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0) {
			p->poll_ms = -1;
		} else if (py_int64(value, strlen(value), &v) == 0 && v > 0 &&
		    v <= 60000) {
			p->poll_ms = (int)v;
		} else {
			diag_add(d, DIAG_ERROR, file, line,
			    "journalpoll: '%.100s' is not off or a number of "
			    "milliseconds (1..60000)",
			    value);
			return -1;
		}
	} else if (strcmp(key, "journalstart") == 0) {
		double sec;
		char err[128];

		p->start_findtime = false;
		if (strcasecmp(value, "tail") == 0) {
			p->start = SRC_JOURNAL_START_TAIL;
		} else if (strcasecmp(value, "head") == 0) {
			p->start = SRC_JOURNAL_START_HEAD;
		} else if (strcasecmp(value, "findtime") == 0) {
			p->start = SRC_JOURNAL_START_SINCE;
			p->start_findtime = true;
		} else if (timeval_parse(value, &sec, NULL, err, sizeof(err)) ==
		        0 &&
		    sec >= 0) {
			p->start = SRC_JOURNAL_START_SINCE;
			p->start_ago = sec;
		} else {
			diag_add(d, DIAG_ERROR, file, line,
			    "journalstart: '%.100s' is not tail, head, "
			    "findtime or a time span such as 1h",
			    value);
			return -1;
		}
	} else {
		diag_add(d, DIAG_ERROR, file, line,
		    "unknown parameter '%.100s' for backend systemd (known: "
		    "journalpath, journalfiles, journalflags, namespace, "
		    "rotated, journalstart, journalpoll)",
		    key);
		return -1;
	}
	if (p->path && p->files_given) {
		diag_add(d, DIAG_ERROR, file, line,
		    "journalpath and journalfiles cannot be specified "
		    "simultaneously");
		return -1;
	}
	return 0;
}

int
src_journal_params_from_kv(struct src_journal_params *p,
    const struct conf_kvlist *kv, const char *file, int line, struct diags *d)
{
	int rc = 0;

	for (size_t i = 0; i < kv->n; i++)
		if (src_journal_params_set(
		        p, kv->v[i].key, kv->v[i].value, file, line, d) != 0)
			rc = -1;
	return rc;
}

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

int
src_journal_params_parse(
    struct src_journal_params *p, const char *spec, struct diags *d)
{
	const char *b = strchr(spec, '['), *s, *end;
	size_t nlen = b ? (size_t)(b - spec) : strlen(spec);
	int rc = 0;

	while (nlen > 0 && (spec[nlen - 1] == ' ' || spec[nlen - 1] == '\t'))
		nlen--;
	if (!((nlen == 7 && strncasecmp(spec, "systemd", 7) == 0) ||
	        (nlen == 15 &&
	            strncasecmp(spec, "systemd-journal", 15) == 0))) {
		diag_add(d, DIAG_ERROR, NULL, 0,
		    "'%.*s' is not a journal (expected systemd-journal[...])",
		    (int)(nlen > 100 ? 100 : nlen), spec);
		return -1;
	}
	if (b == NULL)
		return 0;
	end = strrchr(b, ']');
	if (end == NULL || *skip_ws(end + 1) != '\0') {
		diag_add(d, DIAG_ERROR, NULL, 0,
		    "unexpected option syntax in '%.200s'", spec);
		return -1;
	}
	/* k=v, k="v", k='v'; separated by ',' (extractOptions) */
	for (s = b + 1; s < end;) {
		const char *k, *v;
		size_t klen, vlen;
		char *key, *val;

		s = skip_ws(s);
		if (*s == ',') {
			s++;
			continue;
		}
		if (s >= end)
			break;
		k = s;
		while (s < end &&
		    (*s == '_' || *s == '-' || *s == '.' ||
		        (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		        (*s >= 'A' && *s <= 'Z')))
			s++;
		klen = (size_t)(s - k);
		if (klen == 0 || *s != '=') {
			diag_add(d, DIAG_ERROR, NULL, 0,
			    "expected option, wrong syntax at %d: %.25s",
			    (int)(k - b - 1), k);
			return -1;
		}
		s++;
		if (*s == '"' || *s == '\'') {
			const char *q =
			    memchr(s + 1, *s, (size_t)(end - s - 1));

			if (q == NULL) {
				diag_add(d, DIAG_ERROR, NULL, 0,
				    "unclosed quote in option '%.*s'",
				    (int)klen, k);
				return -1;
			}
			v = s + 1;
			vlen = (size_t)(q - v);
			s = skip_ws(q + 1);
			if (s < end && *s != ',') {
				diag_add(d, DIAG_ERROR, NULL, 0,
				    "unexpected syntax after option '%.*s'",
				    (int)klen, k);
				return -1;
			}
		} else {
			v = s;
			while (s < end && *s != ',')
				s++;
			vlen = (size_t)(s - v);
		}
		key = xstrndup(k, klen);
		val = xstrndup(v, vlen);
		/* value.strip() */
		{
			char *vs = val + strspn(val, " \t\r\n");
			size_t l = strlen(vs);

			while (l > 0 && strchr(" \t\r\n", vs[l - 1]))
				l--;
			memmove(val, vs, l);
			val[l] = '\0';
		}
		if (src_journal_params_set(p, key, val, NULL, 0, d) != 0)
			rc = -1;
		free(key);
		free(val);
	}
	return rc;
}

/* ---- formatting ---------------------------------------------------- */

/* The line is put together in a small buffer and appended to the sbuf
 * in one go (once per entry in the common case, not once per piece). */
struct lw {
	struct sbuf *out;
	size_t room; /* bytes the cap still allows */
	size_t n;    /* bytes in buf */
	char buf[512];
};

static void
lw_flush(struct lw *w)
{
	if (w->n > 0)
		sbuf_add(w->out, w->buf, w->n);
	w->n = 0;
}

static void
lw_add(struct lw *w, const char *s, size_t k)
{
	if (k > sizeof(w->buf) - w->n) {
		lw_flush(w);
		if (k > sizeof(w->buf)) {
			sbuf_add(w->out, s, k);
			return;
		}
	}
	memcpy(w->buf + w->n, s, k);
	w->n += k;
}

/* Appends up to w->room bytes of s[0..n) with '\n' written as the two
 * characters "\n" (fail2ban's replace('\n', '\\n')). Returns false when
 * it had to stop for room. */
static bool
put(struct lw *w, const char *s, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(s, '\n', n);
		size_t k = nl ? (size_t)(nl - s) : n;

		if (k > w->room) {
			lw_add(w, s, w->room);
			w->room = 0;
			return false;
		}
		lw_add(w, s, k);
		w->room -= k;
		s += k;
		n -= k;
		if (nl != NULL) {
			if (w->room < 2)
				return false;
			lw_add(w, "\\n", 2);
			w->room -= 2;
			s++;
			n--;
		}
	}
	return true;
}

/* Python's repr(bytes). */
static void
bytes_repr(const char *s, size_t n, struct sbuf *out)
{
	char q = '\'';

	if (memchr(s, '\'', n) && !memchr(s, '"', n))
		q = '"';
	sbuf_addch(out, 'b');
	sbuf_addch(out, q);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == (unsigned char)q) {
			sbuf_addch(out, '\\');
			sbuf_addch(out, (char)c);
		} else if (c == '\t') {
			sbuf_addstr(out, "\\t");
		} else if (c == '\n') {
			sbuf_addstr(out, "\\n");
		} else if (c == '\r') {
			sbuf_addstr(out, "\\r");
		} else if (c < 0x20 || c >= 0x7f) {
			sbuf_printf(out, "\\x%02x", c);
		} else {
			sbuf_addch(out, (char)c);
		}
	}
	sbuf_addch(out, q);
}

/* Python's int(bytes, 0) for inputs of at most 64 bytes: decimal text of
 * the value in out. Returns 0 or -1 (ValueError, or too long). */
static int
py_int0(const char *s, size_t len, char *out, size_t outsz)
{
	const char *e = s + len;
	unsigned base = 10;
	bool neg = false, prev_us = false, any = false;
	unsigned char dec[80]; /* decimal digits, least significant first */
	size_t nd = 1, n = 0;

	if (len > 64)
		return -1;
	while (s < e && *s && strchr(" \t\n\v\f\r", *s))
		s++;
	while (e > s && e[-1] && strchr(" \t\n\v\f\r", e[-1]))
		e--;
	if (s < e && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	if (e - s >= 2 && s[0] == '0' && s[1] != '\0' &&
	    strchr("xXoObB", s[1])) {
		base = (s[1] == 'x' || s[1] == 'X') ? 16
		    : (s[1] == 'o' || s[1] == 'O')  ? 8
		                                    : 2;
		s += 2;
		/* "0x_1f" is valid: one '_' may follow the prefix */
		if (s < e && *s == '_')
			s++;
	} else if (s < e && *s == '0') {
		/* decimal with a leading zero: only zeros allowed */
		for (; s < e; s++) {
			if (*s == '_' && !prev_us) {
				prev_us = true;
				continue;
			}
			if (*s != '0')
				return -1;
			prev_us = false;
		}
		if (prev_us || outsz < 2)
			return -1;
		out[0] = '0';
		out[1] = '\0';
		return 0;
	}
	dec[0] = 0;
	for (; s < e; s++) {
		unsigned dv;
		unsigned carry;

		if (*s == '_') {
			if (!any || prev_us)
				return -1;
			prev_us = true;
			continue;
		}
		if (*s >= '0' && *s <= '9')
			dv = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			dv = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			dv = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		if (dv >= base)
			return -1;
		prev_us = false;
		any = true;
		carry = dv;
		for (size_t i = 0; i < nd; i++) {
			unsigned v = dec[i] * base + carry;

			dec[i] = (unsigned char)(v % 10);
			carry = v / 10;
		}
		while (carry > 0 && nd < sizeof(dec)) {
			dec[nd++] = (unsigned char)(carry % 10);
			carry /= 10;
		}
		if (carry > 0)
			return -1;
	}
	if (!any || prev_us)
		return -1;
	while (nd > 1 && dec[nd - 1] == 0)
		nd--;
	if (nd + 2 > outsz)
		return -1;
	if (neg && !(nd == 1 && dec[0] == 0))
		out[n++] = '-';
	while (nd > 0)
		out[n++] = (char)('0' + dec[--nd]);
	out[n] = '\0';
	return 0;
}

enum pidv { PIDV_NONE, PIDV_INT, PIDV_BYTES };

/* python-systemd converts SYSLOG_PID/_PID with int(); a failure leaves
 * the bytes. Classifies v the way fail2ban's `if not v` sees it: NONE
 * when absent or falsy (0, b""). */
static enum pidv
pid_value(const char *s, size_t len, char *num, size_t numsz)
{
	if (s == NULL)
		return PIDV_NONE;
	if (py_int10(s, len, num, numsz) == 0)
		return strcmp(num, "0") == 0 ? PIDV_NONE : PIDV_INT;
	return len > 0 ? PIDV_BYTES : PIDV_NONE;
}

bool
src_journal_format_line(
    const struct src_journal_fields *f, size_t line_max, struct sbuf *out)
{
	struct lw w;
	bool first = true, ok = true;
	const char *id = NULL;
	size_t idlen = 0;

	w.out = out;
	w.room = line_max ? line_max : SIZE_MAX;
	w.n = 0;
	if (f->hostname && f->hostname_len > 0) {
		ok = put(&w, f->hostname, f->hostname_len);
		first = false;
	}
	if (f->ident && f->ident_len > 0) {
		id = f->ident;
		idlen = f->ident_len;
	} else if (f->comm && f->comm_len > 0) {
		id = f->comm;
		idlen = f->comm_len;
	}
	if (ok && id != NULL) {
		char num[80];
		enum pidv pv = pid_value(
		    f->syslog_pid, f->syslog_pid_len, num, sizeof(num));
		const char *ps = f->syslog_pid;
		size_t pl = f->syslog_pid_len;

		if (pv == PIDV_NONE) {
			ps = f->pid;
			pl = f->pid_len;
			pv = pid_value(ps, pl, num, sizeof(num));
		}
		if (!first)
			ok = put(&w, " ", 1);
		first = false;
		/* "IDENT[PID]:" piece by piece (put() cuts and escapes the
		 * same way whatever the pieces are) */
		if (ok)
			ok = put(&w, id, idlen);
		if (ok && pv == PIDV_INT) {
			ok = put(&w, "[", 1) && put(&w, num, strlen(num)) &&
			    put(&w, "]", 1);
		} else if (ok && pv == PIDV_BYTES) {
			struct sbuf b = SBUF_INIT;

			sbuf_addch(&b, '[');
			if (py_int0(ps, pl, num, sizeof(num)) == 0)
				sbuf_addstr(&b, num);
			else
				bytes_repr(ps, pl, &b);
			sbuf_addch(&b, ']');
			ok = put(&w, b.s, b.len);
			sbuf_cleanup(&b);
		}
		if (ok)
			ok = put(&w, ":", 1);
		if (ok && pv == PIDV_NONE && idlen == 6 &&
		    memcmp(id, "kernel", 6) == 0) {
			long long us;
			char mono[64];

			if (f->src_monotonic == NULL ||
			    py_int64(f->src_monotonic, f->src_monotonic_len,
			        &us) != 0)
				us = (long long)f->monotonic_usec;
			snprintf(
			    mono, sizeof(mono), " [%12.6f]", (double)us / 1e6);
			ok = put(&w, mono, strlen(mono));
		}
	}
	if (ok && !first)
		ok = put(&w, " ", 1);
	for (size_t i = 0; ok && i < f->nmessage; i++) {
		if (i > 0)
			ok = put(&w, " ", 1);
		if (ok)
			ok = put(&w, f->message[i], f->message_len[i]);
	}
	lw_flush(&w);
	return !ok;
}

/* _SOURCE_REALTIME_TIMESTAMP when it is a valid time: true and *usec. */
static bool
source_usec(const struct src_journal_fields *f, uint64_t *usec)
{
	long long v;

	/* datetime.fromtimestamp() refuses years past 9999 */
	if (f->src_realtime != NULL &&
	    py_int64(f->src_realtime, f->src_realtime_len, &v) == 0 && v >= 0 &&
	    v < 253402300800000000LL) {
		*usec = (uint64_t)v;
		return true;
	}
	return false;
}

uint64_t
src_journal_entry_usec(const struct src_journal_fields *f)
{
	uint64_t v;

	return source_usec(f, &v) ? v : f->realtime_usec;
}

char *
src_journal_date_text(uint64_t usec, char *buf, size_t n)
{
	time_t t = (time_t)(usec / 1000000);
	unsigned frac = (unsigned)(usec % 1000000);
	struct tm tm;
	char sec[64], off[32];
	int g;

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(buf, n, "%llu ", (unsigned long long)t);
		return buf;
	}
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	g = (int)(tm.tm_gmtoff % 86400);
	{
		char sign = g < 0 ? '-' : '+';
		int a = g < 0 ? -g : g;

		if (a % 60)
			snprintf(off, sizeof(off), "%c%02d:%02d:%02d", sign,
			    a / 3600, a / 60 % 60, a % 60);
		else
			snprintf(off, sizeof(off), "%c%02d:%02d", sign,
			    a / 3600, a / 60 % 60);
	}
	if (frac)
		snprintf(buf, n, "%s.%06u%s ", sec, frac, off);
	else
		snprintf(buf, n, "%s%s ", sec, off);
	return buf;
}

/* ---- SIGBUS ---------------------------------------------------------- */

/*
 * sd-journal reads journal files through mmap. A file that shrinks under
 * the reader (truncated by hand, a broken disk, a damaged copy) turns the
 * next access to a page past its new end into SIGBUS, which would kill
 * the daemon. As journalctl does (systemd's sigbus.c), the handler maps
 * an anonymous zero page over the faulting page and returns: libsystemd
 * then sees zeros, i.e. a corrupt object, and fails that read. Sources
 * notice the count change, drop what they were reading and reopen at
 * their cursor. Only BUS_ADRERR faults (an address past a file's end) are
 * handled; anything else gets the default action.
 */
static volatile sig_atomic_t sj_sigbus_count;
static long sj_page_size;

static void
sj_sigbus(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a;

	(void)ctx;
	if (si->si_code == BUS_ADRERR && si->si_addr != NULL &&
	    sj_page_size > 0) {
		a = (uintptr_t)si->si_addr & ~((uintptr_t)sj_page_size - 1);
		if (mmap((void *)a, (size_t)sj_page_size, PROT_READ,
		        MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
		        0) != MAP_FAILED) {
			sj_sigbus_count = sj_sigbus_count + 1;
			return;
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void
src_journal_sigbus_install(void)
{
	static bool done;
	struct sigaction sa;

	if (done)
		return;
	done = true;
	sj_page_size = sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sj_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

unsigned long
src_journal_sigbus_count(void)
{
	return (unsigned long)sj_sigbus_count;
}

/* ---- the follower ---------------------------------------------------- */

enum sj_mode { SJ_DEFAULT, SJ_PATH, SJ_FILES, SJ_NAMESPACE };

/* A poll handle lives on the heap: each open has its own fd. */
struct sj_poll {
	uv_poll_t h;
	struct src_journal *sj; /* NULL once detached */
};

struct src_journal {
	uv_loop_t *loop;
	struct src_journal_cbs cb;
	/* configuration (owned copies) */
	enum sj_mode mode;
	char *path, *ns;
	struct strv globs;
	bool files_mode_active; /* rotated=0 on a directory: active files */
	int flags;
	bool has_flags;
	struct journalmatch match;
	size_t line_max, budget, max_bytes;
	uint32_t retry_ms;
	uint32_t poll_fast_ms;  /* 0: no latency polling */
	uint32_t poll_ms;       /* current interval */
	uint64_t last_entry_ms; /* uv_now() of the last delivery */
	/* where the next open starts when there is no cursor */
	enum src_journal_start start;
	uint64_t since_usec;
	uint64_t created_usec; /* wall clock at src_journal_new */
	/* state */
	sd_journal *j;
	struct sj_poll *poll;
	uv_timer_t timer;   /* sd_journal_get_timeout */
	uv_timer_t retry;   /* reopen / file-list check */
	uv_idle_t idle;     /* budget continuation */
	uv_timer_t ptimer;  /* latency polling (see on_ptimer) */
	int poll_events;    /* UV_READABLE... for the journal fd */
	int nclosing;       /* handles whose close callback is pending */
	char *cursor;       /* last delivered (or saved) entry; owned */
	bool check_cursor;  /* the next entry may be the cursor's own */
	struct strv opened; /* files opened (files modes): "dev:ino" */
	bool missing;       /* EV_MISSING reported, not recovered */
	int err_cause;      /* errno of the last ERROR reported, 0 none */
	uint64_t last_err_ms;
	uint64_t skipped; /* entries skipped for read errors */
	bool caught_up;
	sig_atomic_t sigbus_seen; /* sj_sigbus_count at the last check */
	bool dead;                /* freed (maybe from a callback): the journal
	                             is closed, handles are closing */
	struct src_journal_stats st;
	/* per-entry scratch */
	struct sbuf line;
	const char *msgv[SJ_MAX_MESSAGES];
	size_t msgl[SJ_MAX_MESSAGES];
	time_t date_sec; /* date_text cache: second */
	char date_pre[128];
	char date_off[128];
	size_t date_pre_len, date_off_len;
	char date[272];
};

static void sj_close_journal(struct src_journal *sj);
static void sj_schedule_retry(struct src_journal *sj, uint32_t ms);
static void sj_drain(struct src_journal *sj);
static void on_idle(uv_idle_t *h);
static void set_poll(struct src_journal *sj, uint32_t ms);

static void emit(struct src_journal *sj, enum src_journal_event_kind kind,
    int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
emit(struct src_journal *sj, enum src_journal_event_kind kind, int err,
    const char *fmt, ...)
{
	struct src_journal_event ev = {0};
	char msg[512];
	va_list ap;

	if (sj->cb.event == NULL || sj->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev.kind = kind;
	ev.message = msg;
	ev.err = err;
	ev.count = sj->st.capped;
	sj->cb.event(sj->cb.arg, &ev);
}

static const char *
where(const struct src_journal *sj)
{
	switch (sj->mode) {
	case SJ_PATH:
		return sj->path;
	case SJ_FILES:
		return sj->files_mode_active ? "active journal files"
		                             : "journalfiles";
	case SJ_NAMESPACE:
		return sj->ns;
	case SJ_DEFAULT:
		break;
	}
	return "system journal";
}

/* The active files of rotated=0: system.journal (and user-*.journal
 * unless SYSTEM_ONLY) in the roots and their machine-id directories. */
static void
list_active(const struct src_journal *sj, struct strv *out)
{
	struct strv g = STRV_INIT;
	const char *roots[2];
	size_t nroots = 0;
	bool users = !(sj->flags & SD_JOURNAL_SYSTEM);

	if (sj->path) {
		roots[nroots++] = sj->path;
	} else {
		roots[nroots++] = "/run/log/journal";
		if (!(sj->flags & SD_JOURNAL_RUNTIME_ONLY))
			roots[nroots++] = "/var/log/journal";
	}
	for (size_t i = 0; i < nroots; i++) {
		strv_take(&g, xasprintf("%s/system.journal", roots[i]));
		strv_take(&g, xasprintf("%s/*/system.journal", roots[i]));
		if (users) {
			strv_take(&g, xasprintf("%s/user-*.journal", roots[i]));
			strv_take(
			    &g, xasprintf("%s/*/user-*.journal", roots[i]));
		}
	}
	glob_all(&g, out);
	/* "user-1000@....journal" is a rotated file */
	for (size_t i = 0; i < out->n;) {
		const char *b = strrchr(out->v[i], '/');

		if (strchr(b ? b : out->v[i], '@')) {
			free(out->v[i]);
			memmove(&out->v[i], &out->v[i + 1],
			    (out->n - i) * sizeof(*out->v));
			out->n--;
		} else {
			i++;
		}
	}
	strv_cleanup(&g);
}

static void
file_list(const struct src_journal *sj, struct strv *out)
{
	if (sj->files_mode_active)
		list_active(sj, out);
	else
		glob_all(&sj->globs, out);
}

/* "dev:ino" of every file in list (missing files are left out). */
static void
identities(const struct strv *list, struct strv *out)
{
	for (size_t i = 0; i < list->n; i++) {
		struct stat st;

		if (stat(list->v[i], &st) == 0)
			strv_take(out,
			    xasprintf("%llu:%llu",
			        (unsigned long long)st.st_dev,
			        (unsigned long long)st.st_ino));
	}
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct src_journal *sj = h->data;

	if (--sj->nclosing == 0) {
		sbuf_cleanup(&sj->line);
		free(sj);
	}
}

static void
on_poll_closed(uv_handle_t *h)
{
	free(h->data);
}

static uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);

/* Arms the timer libsystemd asks for (journals on network file systems
 * have no inotify and must be re-checked). */
static void
arm_timeout(struct src_journal *sj)
{
	uint64_t to = UINT64_MAX, now;

	if (sj->j == NULL || dl_sd_journal_get_timeout(sj->j, &to) <= 0 ||
	    to == UINT64_MAX) {
		uv_timer_stop(&sj->timer);
		return;
	}
	now = mono_usec();
	uv_timer_start(
	    &sj->timer, on_timer, to > now ? (to - now + 999) / 1000 : 0, 0);
}

static void
report_error(struct src_journal *sj, int err, const char *what)
{
	uint64_t now = uv_now(sj->loop);

	sj->st.errors++;
	if (sj->err_cause == err && now - sj->last_err_ms < SJ_ERROR_EVERY)
		return;
	sj->err_cause = err;
	sj->last_err_ms = now;
	emit(sj, SRC_JOURNAL_EV_ERROR, err, "%s: %s: %s (%llu so far)",
	    where(sj), what, strerror(err), (unsigned long long)sj->st.errors);
}

static void
recovered(struct src_journal *sj)
{
	if (sj->missing || sj->err_cause) {
		sj->missing = false;
		sj->err_cause = 0;
		emit(sj, SRC_JOURNAL_EV_RECOVERED, 0, "%s: reading again",
		    where(sj));
	}
}

static void
missing(struct src_journal *sj, const char *why)
{
	if (!sj->missing) {
		sj->missing = true;
		emit(sj, SRC_JOURNAL_EV_MISSING, 0,
		    "%s: %s; checking again every %u ms", where(sj), why,
		    (unsigned)sj->retry_ms);
	}
}

static int
do_open(struct src_journal *sj, struct strv *files)
{
	int r = -EINVAL;

	switch (sj->mode) {
	case SJ_PATH:
		r = dl_sd_journal_open_directory(&sj->j, sj->path, sj->flags);
		break;
	case SJ_FILES: {
		const char **v = xcalloc(files->n + 1, sizeof(*v));

		for (size_t i = 0; i < files->n; i++)
			v[i] = files->v[i];
		/* the active-files mode used the flags to choose files */
		r = dl_sd_journal_open_files(
		    &sj->j, v, sj->files_mode_active ? 0 : sj->flags);
		free(v);
		break;
	}
	case SJ_NAMESPACE:
		r = dl_sd_journal_open_namespace(&sj->j, sj->ns, sj->flags);
		break;
	case SJ_DEFAULT:
		r = dl_sd_journal_open(&sj->j, sj->flags);
		break;
	}
	if (r < 0)
		sj->j = NULL;
	return r;
}

/* Places the journal where reading starts. Returns a text for the
 * OPENED event. */
static const char *
position(struct src_journal *sj)
{
	int r;

	sj->check_cursor = false;
	if (sj->cursor && sj->cursor[0]) {
		r = dl_sd_journal_seek_cursor(sj->j, sj->cursor);
		if (r >= 0) {
			sj->check_cursor = true;
			return "after the saved cursor";
		}
		emit(sj, SRC_JOURNAL_EV_CURSOR_LOST, 0,
		    "%s: saved cursor is not valid (%s); starting at the %s",
		    where(sj), strerror(-r),
		    sj->start == SRC_JOURNAL_START_HEAD ? "head"
		        : sj->start == SRC_JOURNAL_START_SINCE
		        ? "requested time"
		        : "tail");
		free(sj->cursor);
		sj->cursor = NULL;
		if (sj->dead)
			return "";
	}
	switch (sj->start) {
	case SRC_JOURNAL_START_HEAD:
		dl_sd_journal_seek_head(sj->j);
		return "at the head";
	case SRC_JOURNAL_START_SINCE:
		dl_sd_journal_seek_realtime_usec(sj->j, sj->since_usec);
		return "at the requested time";
	case SRC_JOURNAL_START_TAIL:
		break;
	}
	/* seek_tail + previous lands ON the last (matching) entry: it
	 * counts as seen, and its cursor is where a restart resumes. An
	 * empty (or match-less) journal: everything that comes is new. */
	dl_sd_journal_seek_tail(sj->j);
	r = dl_sd_journal_previous(sj->j);
	if (r > 0) {
		char *c = NULL;

		if (dl_sd_journal_get_cursor(sj->j, &c) >= 0) {
			free(sj->cursor);
			sj->cursor = c;
		}
		return "at the tail";
	}
	dl_sd_journal_seek_head(sj->j);
	/* a reopen without any entry seen reads whatever is there */
	sj->start = SRC_JOURNAL_START_HEAD;
	return "at the tail (no entry yet)";
}

/* Opens and positions the journal. Returns 0, or -1 (reported; retry
 * scheduled). */
static int
sj_open(struct src_journal *sj)
{
	struct strv files = STRV_INIT;
	uint64_t usage = 0;
	int r, fd, events;
	const char *pos;

	if (sj->dead)
		return -1;
	if (sj->mode == SJ_FILES) {
		file_list(sj, &files);
		if (files.n == 0) {
			missing(sj, "no journal file matches");
			goto retry;
		}
		strv_cleanup(&sj->opened);
		identities(&files, &sj->opened);
	}
	r = do_open(sj, &files);
	if (r < 0) {
		if (r == -ENOENT || r == -ENOTDIR)
			missing(sj, "does not exist");
		else
			report_error(sj, -r, "cannot open the journal");
		goto retry;
	}
	/* the inotify watches are set up by the first get_fd */
	fd = dl_sd_journal_get_fd(sj->j);
	if (fd < 0) {
		report_error(sj, -fd, "cannot watch the journal");
		goto close;
	}
	dl_sd_journal_set_data_threshold(sj->j, sj->line_max + 64);
	r = journalmatch_apply(&sj->match, sj->j);
	if (r < 0) {
		report_error(sj, -r, "cannot apply journalmatch");
		goto close;
	}
	if (dl_sd_journal_get_usage(sj->j, &usage) < 0 || usage == 0) {
		missing(sj, "no journal file");
		goto close;
	}
	pos = position(sj);
	if (sj->dead)
		return -1;
	events = dl_sd_journal_get_events(sj->j);
	sj->poll = xcalloc(1, sizeof(*sj->poll));
	sj->poll->sj = sj;
	if (uv_poll_init(sj->loop, &sj->poll->h, fd) != 0) {
		free(sj->poll);
		sj->poll = NULL;
		report_error(sj, EIO, "cannot poll the journal fd");
		goto close;
	}
	sj->poll->h.data = sj->poll;
	sj->poll_events = (events & POLLIN ? UV_READABLE : 0) |
	    (events & POLLOUT ? UV_WRITABLE : 0);
	if (sj->poll_fast_ms == 0)
		uv_poll_start(&sj->poll->h, sj->poll_events, on_poll);
	sj->st.opens++;
	sj->st.open = true;
	sj->sigbus_seen = sj_sigbus_count;
	arm_timeout(sj);
	emit(sj, SRC_JOURNAL_EV_OPENED, 0, "%s opened, reading %s", where(sj),
	    pos);
	recovered(sj);
	if (sj->dead)
		return -1;
	if (sj->mode == SJ_FILES)
		sj_schedule_retry(sj, SJ_RECHECK_MS);
	sj->last_entry_ms = uv_now(sj->loop);
	set_poll(sj, sj->poll_fast_ms);
	uv_idle_start(&sj->idle, on_idle);
	strv_cleanup(&files);
	return 0;
close:
	dl_sd_journal_close(sj->j);
	sj->j = NULL;
retry:
	strv_cleanup(&files);
	sj_schedule_retry(sj, sj->retry_ms);
	return -1;
}

static void on_ptimer(uv_timer_t *t);
static void wake(struct src_journal *sj);

/* Sets the latency-poll interval (restarting the timer if it changed). */
static void
set_poll(struct src_journal *sj, uint32_t ms)
{
	if (sj->poll_fast_ms == 0 || sj->dead || sj->j == NULL)
		return;
	if (ms == sj->poll_ms && uv_is_active((uv_handle_t *)&sj->ptimer))
		return;
	sj->poll_ms = ms;
	/* While fast, the timer alone runs sd_journal_process() and reads:
	 * a writer that announces every entry (journal-remote does) would
	 * otherwise wake us once per entry. Slower, inotify wakes us too. */
	if (sj->poll != NULL) {
		if (ms == sj->poll_fast_ms)
			uv_poll_stop(&sj->poll->h);
		else
			uv_poll_start(&sj->poll->h, sj->poll_events, on_poll);
	}
	uv_timer_start(&sj->ptimer, on_ptimer, ms, ms);
}

static void
sj_close_journal(struct src_journal *sj)
{
	if (sj->poll != NULL) {
		sj->poll->sj = NULL;
		uv_close((uv_handle_t *)&sj->poll->h, on_poll_closed);
		sj->poll = NULL;
	}
	if (sj->j != NULL) {
		dl_sd_journal_close(sj->j);
		sj->j = NULL;
	}
	uv_timer_stop(&sj->timer);
	uv_timer_stop(&sj->ptimer);
	uv_idle_stop(&sj->idle);
	sj->st.open = false;
}

static void
on_retry(uv_timer_t *t)
{
	struct src_journal *sj = t->data;

	if (sj->j != NULL) {
		/* files modes: reopen when the set of files changed */
		struct strv files = STRV_INIT, ids = STRV_INIT;
		bool same;

		file_list(sj, &files);
		identities(&files, &ids);
		same = ids.n == sj->opened.n;
		for (size_t i = 0; same && i < ids.n; i++)
			same = strcmp(ids.v[i], sj->opened.v[i]) == 0;
		strv_cleanup(&files);
		strv_cleanup(&ids);
		if (same) {
			sj_schedule_retry(sj, SJ_RECHECK_MS);
			return;
		}
		/* read what is left before switching */
		sj_drain(sj);
		if (sj->dead || sj->j == NULL)
			return;
		emit(sj, SRC_JOURNAL_EV_ROTATED, 0,
		    "%s: journal files changed, reopening", where(sj));
		if (sj->dead)
			return;
		sj_close_journal(sj);
	}
	sj_open(sj);
}

static void
sj_schedule_retry(struct src_journal *sj, uint32_t ms)
{
	if (sj->dead)
		return;
	if (sj->st.opens == 0 && sj->start == SRC_JOURNAL_START_TAIL &&
	    (sj->cursor == NULL || sj->cursor[0] == '\0')) {
		/* never opened: "the tail" means from when we started */
		sj->start = SRC_JOURNAL_START_SINCE;
		sj->since_usec = sj->created_usec;
	}
	uv_timer_start(&sj->retry, on_retry, ms, 0);
}

/* Collects the fields of the current entry and its time (*usec, as
 * src_journal_entry_usec). Returns 0 or a negative errno (corrupt
 * entry). */
static int
read_fields(
    struct src_journal *sj, struct src_journal_fields *f, uint64_t *usec)
{
	const void *data;
	size_t len;
	int r;

	memset(f, 0, sizeof(*f));
	f->message = sj->msgv;
	f->message_len = sj->msgl;
	dl_sd_journal_restart_data(sj->j);
	for (;;) {
		const char *d;

		r = dl_sd_journal_enumerate_data(sj->j, &data, &len);
		if (r <= 0)
			break;
		d = data;
#define FIELD(name, ptr, plen)                                                 \
	if (len >= sizeof(name) && memcmp(d, name "=", sizeof(name)) == 0) {   \
		if (f->ptr == NULL) {                                          \
			f->ptr = d + sizeof(name);                             \
			f->plen = len - sizeof(name);                          \
		}                                                              \
		continue;                                                      \
	}
		switch (d[0]) {
		case 'M':
			if (len >= 8 && memcmp(d, "MESSAGE=", 8) == 0) {
				if (f->nmessage < SJ_MAX_MESSAGES) {
					sj->msgv[f->nmessage] = d + 8;
					sj->msgl[f->nmessage++] = len - 8;
				}
				continue;
			}
			break;
		case 'S':
			FIELD("SYSLOG_IDENTIFIER", ident, ident_len)
			FIELD("SYSLOG_PID", syslog_pid, syslog_pid_len)
			break;
		case '_':
			FIELD("_HOSTNAME", hostname, hostname_len)
			FIELD("_COMM", comm, comm_len)
			FIELD("_PID", pid, pid_len)
			FIELD("_SOURCE_REALTIME_TIMESTAMP", src_realtime,
			    src_realtime_len)
			FIELD("_SOURCE_MONOTONIC_TIMESTAMP", src_monotonic,
			    src_monotonic_len)
			break;
		default:
			break;
		}
#undef FIELD
	}
	if (r < 0)
		return r;
	/* __REALTIME_TIMESTAMP only when the entry's own time is not
	 * usable (journald's native and syslog entries carry one) */
	if (!source_usec(f, usec)) {
		r = dl_sd_journal_get_realtime_usec(sj->j, &f->realtime_usec);
		if (r < 0)
			return r;
		*usec = f->realtime_usec;
	}
	if (f->ident && f->ident_len == 6 &&
	    memcmp(f->ident, "kernel", 6) == 0) {
		sd_id128_t boot;

		if (dl_sd_journal_get_monotonic_usec(
		        sj->j, &f->monotonic_usec, &boot) < 0)
			f->monotonic_usec = 0;
	}
	return 0;
}

static const char *
date_cached(struct src_journal *sj, uint64_t usec)
{
	time_t t = (time_t)(usec / 1000000);
	unsigned frac = (unsigned)(usec % 1000000);
	size_t np, no, n;

	if (t != sj->date_sec || sj->date_pre[0] == '\0') {
		char full[128];
		size_t len, cut;

		/* the whole-second form, split before the offset */
		src_journal_date_text(
		    (uint64_t)t * 1000000u, full, sizeof(full));
		len = strlen(full) - 1;    /* the trailing space */
		cut = len < 19 ? len : 19; /* "YYYY-mm-ddTHH:MM:SS" */
		memcpy(sj->date_off, full + cut, len - cut);
		sj->date_off[len - cut] = '\0';
		memcpy(sj->date_pre, full, cut);
		sj->date_pre[cut] = '\0';
		sj->date_pre_len = cut;
		sj->date_off_len = len - cut;
		sj->date_sec = t;
	}
	/* once per entry: no printf */
	np = sj->date_pre_len;
	no = sj->date_off_len;
	memcpy(sj->date, sj->date_pre, np);
	n = np;
	if (frac) {
		sj->date[n++] = '.';
		for (int i = 5; i >= 0; i--) {
			sj->date[n + (size_t)i] = (char)('0' + frac % 10);
			frac /= 10;
		}
		n += 6;
	}
	memcpy(sj->date + n, sj->date_off, no);
	n += no;
	sj->date[n++] = ' ';
	sj->date[n] = '\0';
	return sj->date;
}

static void
really_free(struct src_journal *sj)
{
	sj_close_journal(sj);
	journalmatch_cleanup(&sj->match);
	strv_cleanup(&sj->globs);
	strv_cleanup(&sj->opened);
	free(sj->path);
	free(sj->ns);
	free(sj->cursor);
	sj->nclosing = 4;
	uv_close((uv_handle_t *)&sj->ptimer, on_handle_closed);
	uv_close((uv_handle_t *)&sj->timer, on_handle_closed);
	uv_close((uv_handle_t *)&sj->retry, on_handle_closed);
	uv_close((uv_handle_t *)&sj->idle, on_handle_closed);
}

static void
fail_and_reopen(struct src_journal *sj, int err, const char *what)
{
	report_error(sj, err, what);
	sj_close_journal(sj);
	sj_schedule_retry(sj, sj->retry_ms);
}

/* Reads entries up to the budget. */
static void
sj_drain_batch(struct src_journal *sj)
{
	size_t n = 0, bytes = 0;
	bool more = true, delivered = false;

	while (sj->j != NULL && n < sj->budget && bytes < sj->max_bytes) {
		struct src_journal_fields f;
		struct src_journal_entry e;
		int r = dl_sd_journal_next(sj->j);

		if (r < 0) {
			fail_and_reopen(sj, -r, "cannot read the next entry");
			return;
		}
		if (r == 0) {
			more = false;
			break;
		}
		if (sj->check_cursor) {
			sj->check_cursor = false;
			if (dl_sd_journal_test_cursor(sj->j, sj->cursor) > 0)
				continue;
			emit(sj, SRC_JOURNAL_EV_CURSOR_LOST, 0,
			    "%s: the entry of the saved cursor is gone; "
			    "reading from the first entry after it",
			    where(sj));
			if (sj->dead)
				return;
		}
		r = read_fields(sj, &f, &e.usec);
		if (sj_sigbus_count != sj->sigbus_seen) {
			/* what was read may be zeros: start over at the
			 * cursor of the last delivered entry */
			sj->sigbus_seen = sj_sigbus_count;
			fail_and_reopen(sj, EBADMSG,
			    "a journal file shrank under the reader (SIGBUS); "
			    "reopening at the last cursor");
			return;
		}
		if (r < 0) {
			sj->skipped++;
			n++; /* a corrupt stretch counts against the budget */
			report_error(sj, -r, "unreadable entry skipped");
			if (sj->dead)
				return;
			continue;
		}
		sbuf_reset(&sj->line);
		e.truncated =
		    src_journal_format_line(&f, sj->line_max, &sj->line);
		e.line = sbuf_str(&sj->line);
		e.len = sj->line.len;
		e.time = (double)e.usec / 1e6;
		e.date = date_cached(sj, e.usec);
		e.fields = &f;
		n++;
		bytes += e.len;
		sj->st.entries++;
		delivered = true;
		sj->last_entry_ms = uv_now(sj->loop);
		if (e.truncated)
			sj->st.capped++;
		if (e.truncated && (sj->st.capped & (sj->st.capped - 1)) == 0) {
			/* the 1st, 2nd, 4th, 8th ... cut line */
			emit(sj, SRC_JOURNAL_EV_LINE_CAPPED, 0,
			    "%s: an entry longer than %zu bytes was cut",
			    where(sj), sj->line_max);
			if (sj->dead)
				return;
		}
		if (sj->cb.entry) {
			sj->cb.entry(sj->cb.arg, &e);
			if (sj->dead)
				return;
		}
	}
	if (sj->j == NULL)
		return;
	if (sj_sigbus_count != sj->sigbus_seen) {
		sj->sigbus_seen = sj_sigbus_count;
		fail_and_reopen(sj, EBADMSG,
		    "a journal file shrank under the reader (SIGBUS); "
		    "reopening at the last cursor");
		return;
	}
	if (delivered) {
		char *c = NULL;

		if (dl_sd_journal_get_cursor(sj->j, &c) >= 0) {
			free(sj->cursor);
			sj->cursor = c;
		}
		if (sj->err_cause && !sj->missing)
			recovered(sj);
		if (sj->dead)
			return;
		set_poll(sj, sj->poll_fast_ms);
	}
	if (more) {
		uv_idle_start(&sj->idle, on_idle);
		return;
	}
	uv_idle_stop(&sj->idle);
	if (!sj->caught_up) {
		sj->caught_up = true;
		sj->st.caught_up = true;
		emit(sj, SRC_JOURNAL_EV_CAUGHT_UP, 0,
		    "%s: reached the end of the journal", where(sj));
	}
}

/* Delivers a budget of entries; their log records (the jails' "Found"
 * lines) go out in one write at the end (wlog_batch_begin). */
static void
sj_drain(struct src_journal *sj)
{
	wlog_batch_begin();
	sj_drain_batch(sj);
	wlog_batch_end();
}

static void
on_idle(uv_idle_t *h)
{
	sj_drain(h->data);
}

static void
on_ptimer(uv_timer_t *t)
{
	struct src_journal *sj = t->data;
	uint32_t next;

	wake(sj);
	if (sj->dead || sj->j == NULL)
		return;
	if (uv_now(sj->loop) - sj->last_entry_ms < SJ_ACTIVE_MS)
		return; /* a delivery already made it fast */
	next = sj->poll_ms * 2;
	set_poll(sj, next > SJ_POLL_SLOW_MS ? SJ_POLL_SLOW_MS : next);
}

static void
wake(struct src_journal *sj)
{
	int r;

	if (sj->j == NULL)
		return;
	r = dl_sd_journal_process(sj->j);
	if (r < 0) {
		fail_and_reopen(sj, -r, "cannot process journal changes");
		return;
	}
	if (r == SD_JOURNAL_INVALIDATE) {
		uint64_t usage = 0;

		emit(sj, SRC_JOURNAL_EV_ROTATED, 0,
		    "%s: journal files were added or removed", where(sj));
		if (sj->dead)
			return;
		if (dl_sd_journal_get_usage(sj->j, &usage) < 0 || usage == 0) {
			/* every file went away: wait for new ones */
			sj_close_journal(sj);
			missing(sj, "no journal file left");
			if (sj->dead)
				return;
			sj_schedule_retry(sj, sj->retry_ms);
			return;
		}
	}
	arm_timeout(sj);
	/* A backlog under way is the idle continuation's: a timer or poll
	 * wake-up draining too would give one loop turn two or three
	 * budgets (seen as 300 in one turn with budget 100 under ASan). */
	if (!uv_is_active((uv_handle_t *)&sj->idle))
		sj_drain(sj);
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
	struct sj_poll *p = h->data;

	(void)events;
	if (p->sj == NULL)
		return;
	if (status < 0) {
		fail_and_reopen(p->sj, EIO, "journal fd error");
		return;
	}
	wake(p->sj);
}

static void
on_timer(uv_timer_t *t)
{
	wake(t->data);
}

struct src_journal *
src_journal_new(
    uv_loop_t *loop, const struct src_journal_opts *opts, struct diags *d)
{
	const struct src_journal_params *p = opts->params;
	struct src_journal *sj;

	if (opts->match != NULL) {
		for (size_t g = 0; g < opts->match->n; g++)
			for (size_t i = 0; i < opts->match->groups[g].n; i++) {
				const char *t = opts->match->groups[g].v[i];

				if (!journalmatch_term_valid(t, strlen(t))) {
					diag_add(d, DIAG_ERROR, NULL, 0,
					    "journalmatch: invalid match "
					    "'%.200s'",
					    t);
					return NULL;
				}
			}
	}
	{
		char err[600];

		/* the first journal source loads libsystemd (dl_systemd.h) */
		if (dl_systemd_load(err, sizeof(err)) != 0) {
			diag_add(d, DIAG_ERROR, NULL, 0, "%s", err);
			return NULL;
		}
	}
	src_journal_sigbus_install();
	sj = xcalloc(1, sizeof(*sj));
	sj->loop = loop;
	sj->cb = opts->cb;
	journalmatch_init(&sj->match);
	if (opts->match)
		journalmatch_copy(&sj->match, opts->match);
	strv_init(&sj->globs);
	strv_init(&sj->opened);
	sbuf_init(&sj->line);
	sj->line_max =
	    opts->line_max ? opts->line_max : SRC_JOURNAL_LINE_MAX_DEFAULT;
	sj->budget = opts->budget ? opts->budget : SRC_JOURNAL_BUDGET_DEFAULT;
	sj->max_bytes =
	    opts->max_bytes ? opts->max_bytes : SRC_JOURNAL_BYTES_DEFAULT;
	sj->retry_ms =
	    opts->retry_ms ? opts->retry_ms : SRC_JOURNAL_RETRY_MS_DEFAULT;
	sj->poll_fast_ms = opts->poll_ms < 0 ? 0
	    : opts->poll_ms == 0             ? SJ_POLL_FAST_MS
	                                     : (uint32_t)opts->poll_ms;
	sj->start = opts->start;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		sj->created_usec = (uint64_t)ts.tv_sec * 1000000u +
		    (uint64_t)ts.tv_nsec / 1000u;
	}
	sj->since_usec = opts->since > 0 ? (uint64_t)(opts->since * 1e6) : 0;
	if (opts->cursor && opts->cursor[0] &&
	    strlen(opts->cursor) <= SRC_JOURNAL_CURSOR_MAX)
		sj->cursor = xstrdup(opts->cursor);
	sj->mode = SJ_DEFAULT;
	if (p != NULL && p->poll_ms != 0)
		sj->poll_fast_ms = p->poll_ms < 0 ? 0 : (uint32_t)p->poll_ms;
	if (p != NULL) {
		sj->has_flags = p->has_flags;
		sj->flags = p->flags;
		if (p->path && p->rotated == 0 && !p->ns) {
			sj->mode = SJ_FILES;
			sj->files_mode_active = true;
			sj->path = xstrdup(p->path);
		} else if (p->path) {
			sj->mode = SJ_PATH;
			sj->path = xstrdup(p->path);
		} else if (p->files_given) {
			sj->mode = SJ_FILES;
			strv_copy(&sj->globs, &p->globs);
		} else if (p->ns) {
			sj->mode = SJ_NAMESPACE;
			sj->ns = xstrdup(p->ns);
		} else if (p->rotated == 0) {
			sj->mode = SJ_FILES;
			sj->files_mode_active = true;
		}
	}
	if (!sj->has_flags) {
		/* fail2ban: SYSTEM_ONLY without files or path (or
		 * F2B_SYSTEMD_DEFAULT_FLAGS); libsystemd's 0 otherwise */
		if (sj->mode == SJ_DEFAULT || sj->mode == SJ_NAMESPACE) {
			const char *e = getenv("F2B_SYSTEMD_DEFAULT_FLAGS");
			long long v;

			sj->flags = SRC_JOURNAL_FLAGS_DEFAULT;
			if (e && py_int64(e, strlen(e), &v) == 0 && v >= 0 &&
			    v <= INT_MAX)
				sj->flags = (int)v;
		} else {
			sj->flags = 0;
		}
	}
	if (sj->files_mode_active && !sj->has_flags && !sj->path)
		sj->flags = SRC_JOURNAL_FLAGS_DEFAULT;
	/* open_files takes no flags: they only choose the active files */
	uv_timer_init(loop, &sj->timer);
	uv_timer_init(loop, &sj->retry);
	uv_idle_init(loop, &sj->idle);
	uv_timer_init(loop, &sj->ptimer);
	sj->ptimer.data = sj;
	sj->timer.data = sj;
	sj->retry.data = sj;
	sj->idle.data = sj;
	sj_open(sj);
	return sj;
}

void
src_journal_free(struct src_journal *sj)
{
	if (sj == NULL)
		return;
	if (sj->dead)
		return;
	sj->dead = true;
	really_free(sj);
}

const char *
src_journal_cursor(const struct src_journal *sj)
{
	return sj->cursor ? sj->cursor : "";
}

char *
src_journal_entry_cursor(struct src_journal *sj)
{
	char *c = NULL;

	if (sj->j == NULL || dl_sd_journal_get_cursor(sj->j, &c) < 0)
		return NULL;
	return c;
}

void
src_journal_get_stats(
    const struct src_journal *sj, struct src_journal_stats *st)
{
	*st = sj->st;
}
