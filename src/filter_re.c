/*
 * One filter regex from configuration to compiled PCRE2 code: fail2ban's
 * tag expansion (<HOST>, <F-USER>...</F-USER>, <SKIPLINES> ...), its
 * rewrite of "((?i)x)" to "(?i:x)", and a translation of Python 3.11 re
 * syntax to PCRE2 syntax where the two differ ({,n}, \Z, \v, \uXXXX,
 * literal '[' in classes, global flags). Errors carry the regex's file,
 * line and the byte offset. It knows nothing about log lines (filter.c).
 */
#include <pthread.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "filter_int.h"
#include "sbuf.h"
#include "xmalloc.h"

/* The expansions of fail2ban's host tags (spec 2.3). */
#define RE_IP4   "(?:\\d{1,3}\\.){3}\\d{1,3}"
#define RE_IP6   "(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)"
#define R_IPV4   "(?:::f{4,6}:)?(?P<ip4>" RE_IP4 ")"
#define R_IPV6   "(?P<ip6>" RE_IP6 ")"
#define R_DNS    "(?P<dns>[\\w\\-.^_]*\\w)"
#define R_ADDR   "\\[?(?:" R_IPV4 "|" R_IPV6 ")\\]?"
#define R_HOST   "(?:" R_ADDR "|" R_DNS ")"
#define R_CIDR   "(?P<cidr>\\d+)"
#define R_SUBNET "\\[?(?:" R_IPV4 "|" R_IPV6 ")(?:/" R_CIDR ")?\\]?"

static const struct {
	const char *tag;
	const char *re;
} static_tags[] = {
    {"IP4", R_IPV4},
    {"F-IP4/", R_IPV4},
    {"IP6", R_IPV6},
    {"F-IP6/", R_IPV6},
    {"ADDR", R_ADDR},
    {"F-ADDR/", R_ADDR},
    {"CIDR", R_CIDR},
    {"F-CIDR/", R_CIDR},
    {"SUBNET", R_SUBNET},
    {"F-SUBNET/", R_SUBNET},
    {"DNS", R_DNS},
    {"F-DNS/", R_DNS},
    {"F-ID/", "(?P<fid>\\S+)"},
    {"F-PORT/", "(?P<fport>\\w+)"},
};

/* Python's \w on one byte of UTF-8 text: non-ASCII bytes count as word
 * characters (they are almost always letters). */
static bool
is_word(unsigned char c)
{
	return c >= 0x80 || isalnum(c) || c == '_';
}

/* Length of a tag "</?[\w\-]+/?>" at s, or 0. */
static size_t
tag_len(const char *s)
{
	size_t i = 1, start;

	if (s[0] != '<')
		return 0;
	if (s[i] == '/')
		i++;
	start = i;
	while (is_word((unsigned char)s[i]) || s[i] == '-')
		i++;
	if (i == start)
		return 0;
	if (s[i] == '/')
		i++;
	if (s[i] != '>')
		return 0;
	return i + 1;
}

/* fail2ban's mapTag2Opt: lower case, "id" -> "fid", "port" -> "fport". */
static char *
map_tag_name(const char *s, size_t n)
{
	char *r = xmemdup(s, n);

	for (size_t i = 0; i < n; i++)
		r[i] = (char)tolower((unsigned char)r[i]);
	if (strcmp(r, "id") == 0) {
		free(r);
		return xstrdup("fid");
	}
	if (strcmp(r, "port") == 0) {
		free(r);
		return xstrdup("fport");
	}
	return r;
}

/* "F-NAME" with NAME in [A-Z0-9_-]+ (after an optional '/'). */
static bool
is_custom_tag(
    const char *tn, size_t n, bool *close, const char **name, size_t *namelen)
{
	size_t i = 0;

	*close = false;
	if (n > 0 && tn[0] == '/') {
		*close = true;
		i = 1;
	}
	if (n - i < 3 || tn[i] != 'F' || tn[i + 1] != '-')
		return false;
	i += 2;
	*name = tn + i;
	*namelen = n - i;
	for (; i < n; i++) {
		char c = tn[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '_' || c == '-'))
			return false;
	}
	return true;
}

void
filter_expand_tags(const char *re, const char *usedns, struct sbuf *out)
{
	struct strv open = STRV_INIT;
	int nl = 0;
	bool dns = usedns == NULL || strcmp(usedns, "no") != 0;

	for (size_t i = 0; re[i];) {
		size_t tl = tag_len(re + i), namelen;
		const char *tn = re + i + 1, *name;
		size_t tnl = tl - 2, k;
		bool close, done = false;

		if (tl == 0) {
			sbuf_addch(out, re[i++]);
			continue;
		}
		if (tnl == 4 && memcmp(tn, "HOST", 4) == 0) {
			sbuf_addstr(out, dns ? R_HOST : R_ADDR);
			done = true;
		} else if (tnl == 9 && memcmp(tn, "SKIPLINES", 9) == 0) {
			sbuf_printf(
			    out, "\\n(?P<skiplines%d>(?:(?:.*\\n)*?))", nl++);
			done = true;
		}
		for (k = 0;
		     !done && k < sizeof(static_tags) / sizeof(static_tags[0]);
		     k++) {
			if (strlen(static_tags[k].tag) == tnl &&
			    memcmp(static_tags[k].tag, tn, tnl) == 0) {
				sbuf_addstr(out, static_tags[k].re);
				done = true;
			}
		}
		if (!done && is_custom_tag(tn, tnl, &close, &name, &namelen)) {
			char *key = xmemdup(name, namelen);

			if (close) {
				if (strv_find(&open, key) >= 0)
					sbuf_addch(out, ')');
				else
					sbuf_add(out, re + i, tl);
			} else {
				char *g = map_tag_name(name, namelen);

				if (strv_find(&open, key) < 0)
					strv_add(&open, key);
				sbuf_printf(out, "(?P<%s>", g);
				free(g);
			}
			free(key);
			done = true;
		}
		if (!done)
			sbuf_add(out, re + i, tl);
		i += tl;
	}
	strv_cleanup(&open);
}

void
fre_glob2loc(const char *in, struct sbuf *out)
{
	for (size_t i = 0; in[i];) {
		size_t j = i + 1, k;

		if (in[i] != '(' || (i > 0 && in[i - 1] == '\\')) {
			sbuf_addch(out, in[i++]);
			continue;
		}
		if (in[j] == '?' && in[j + 1] == ':')
			j += 2;
		if (in[j] != '(' || in[j + 1] != '?') {
			sbuf_addch(out, in[i++]);
			continue;
		}
		k = j + 2;
		while (in[k] >= 'a' && in[k] <= 'z')
			k++;
		if (k == j + 2 || in[k] != ')') {
			sbuf_addch(out, in[i++]);
			continue;
		}
		sbuf_add(out, in + j, k - j);
		sbuf_addch(out, ':');
		i = k + 1;
	}
}

/* ---- Python re -> PCRE2 ---- */

struct tr {
	const char *s;
	size_t i;
	struct sbuf *out;
	char *err;
	size_t erroff;
	bool verbose;
	int depth;      /* groups open */
	bool global_ok; /* nothing but global flags seen yet */
	size_t *open;   /* offsets of the open groups' '(' */
	size_t capopen;
};

/* A group opens at offset at. */
static void
tr_open(struct tr *t, size_t at)
{
	xgrow(&t->open, &t->capopen, (size_t)t->depth + 1, sizeof(*t->open));
	t->open[t->depth++] = at;
}

static int tr_error(struct tr *t, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
tr_error(struct tr *t, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (t->err == NULL) {
		va_start(ap, fmt);
		t->err = xvasprintf(fmt, ap);
		va_end(ap);
		t->erroff = off;
	}
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
is_oct(char c)
{
	return c >= '0' && c <= '7';
}

/* Emits code point cp as a PCRE2 escape. */
static void
emit_cp(struct tr *t, unsigned long cp)
{
	sbuf_printf(t->out, "\\x{%lx}", cp);
}

/*
 * One escape at t->s[t->i] == '\\'. in_class: inside [...], where \b is a
 * backspace and anchors are errors.
 */
static int
tr_escape(struct tr *t, bool in_class)
{
	const char *s = t->s;
	size_t at = t->i;
	unsigned char c = (unsigned char)s[at + 1];
	unsigned long cp = 0;
	int ndig;

	if (c == '\0')
		return tr_error(t, at, "bad escape (end of pattern)");
	t->i += 2;
	switch (c) {
	case 'd':
	case 'D':
	case 's':
	case 'S':
	case 'w':
	case 'W':
	case 'a':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		sbuf_addch(t->out, '\\');
		sbuf_addch(t->out, (char)c);
		return 0;
	case 'b':
		sbuf_addstr(t->out, in_class ? "\\x08" : "\\b");
		return 0;
	case 'B':
	case 'A':
		if (in_class)
			return tr_error(t, at, "bad escape \\%c", c);
		sbuf_addch(t->out, '\\');
		sbuf_addch(t->out, (char)c);
		return 0;
	case 'Z':
		if (in_class)
			return tr_error(t, at, "bad escape \\Z");
		sbuf_addstr(t->out, "\\z");
		return 0;
	case 'v':
		sbuf_addstr(t->out, "\\x0b");
		return 0;
	case 'x':
	case 'u':
	case 'U':
		ndig = c == 'x' ? 2 : c == 'u' ? 4 : 8;
		for (int k = 0; k < ndig; k++) {
			int h = hexval(s[t->i]);

			if (h < 0)
				return tr_error(
				    t, at, "incomplete escape \\%c", c);
			cp = cp * 16 + (unsigned long)h;
			t->i++;
		}
		if (cp > 0x10ffff)
			return tr_error(t, at, "bad escape \\%c", c);
		emit_cp(t, cp);
		return 0;
	case '0':
		/* \0 and up to two more octal digits */
		for (int k = 0; k < 2 && is_oct(s[t->i]); k++)
			cp = cp * 8 + (unsigned long)(s[t->i++] - '0');
		emit_cp(t, cp);
		return 0;
	default:
		break;
	}
	if (c >= '1' && c <= '9') {
		/* octal when three octal digits, else a group reference */
		if (is_oct((char)c) && is_oct(s[t->i]) && is_oct(s[t->i + 1])) {
			cp = (unsigned long)((c - '0') * 64 +
			    (s[t->i] - '0') * 8 + (s[t->i + 1] - '0'));
			if (cp > 0377)
				return tr_error(t, at,
				    "octal escape value \\%c%c%c outside of "
				    "range 0-0o377",
				    c, s[t->i], s[t->i + 1]);
			t->i += 2;
			emit_cp(t, cp);
			return 0;
		}
		if (in_class)
			return tr_error(t, at, "bad escape \\%c", c);
		cp = (unsigned long)(c - '0');
		if (s[t->i] >= '0' && s[t->i] <= '9')
			cp = cp * 10 + (unsigned long)(s[t->i++] - '0');
		sbuf_printf(t->out, "\\g{%lu}", cp);
		return 0;
	}
	if (c < 0x80 && isalpha(c))
		return tr_error(t, at, "bad escape \\%c", c);
	/* an escaped punctuation or non-ASCII character: literal */
	sbuf_addch(t->out, '\\');
	sbuf_addch(t->out, (char)c);
	while (c >= 0x80 && ((unsigned char)s[t->i] & 0xc0) == 0x80)
		sbuf_addch(t->out, s[t->i++]);
	return 0;
}

/* A character class at t->s[t->i] == '['. */
static int
tr_class(struct tr *t)
{
	const char *s = t->s;
	size_t at = t->i;

	t->i++;
	sbuf_addch(t->out, '[');
	if (s[t->i] == '^') {
		sbuf_addch(t->out, '^');
		t->i++;
	}
	if (s[t->i] == ']') {
		sbuf_addstr(t->out, "\\]");
		t->i++;
	}
	for (;;) {
		char c = s[t->i];

		if (c == '\0')
			return tr_error(t, at, "unterminated character set");
		if (c == ']') {
			sbuf_addch(t->out, ']');
			t->i++;
			return 0;
		}
		if (c == '\\') {
			if (tr_escape(t, true) < 0)
				return -1;
			continue;
		}
		if (c == '[') {
			/* Python has no POSIX classes: "[[:x:]]" is literal */
			sbuf_addstr(t->out, "\\[");
			t->i++;
			continue;
		}
		sbuf_addch(t->out, c);
		t->i++;
	}
}

/*
 * A '{' at t->s[t->i]: a repeat "{m}", "{m,}", "{,n}", "{m,n}", "{,}" as
 * Python reads it, re-emitted in PCRE2 form; anything else is a literal.
 */
static int
tr_brace(struct tr *t)
{
	const char *s = t->s;
	size_t at = t->i, j = at + 1, lo0, lo1, hi0, hi1;
	bool comma = false;

	if (s[j] == '}') {
		sbuf_addstr(t->out, "\\{");
		t->i++;
		return 0;
	}
	lo0 = j;
	while (s[j] >= '0' && s[j] <= '9')
		j++;
	lo1 = j;
	hi0 = hi1 = j;
	if (s[j] == ',') {
		comma = true;
		j++;
		hi0 = j;
		while (s[j] >= '0' && s[j] <= '9')
			j++;
		hi1 = j;
	}
	if (s[j] != '}') {
		sbuf_addstr(t->out, "\\{");
		t->i++;
		return 0;
	}
	if (lo1 - lo0 > 9 || hi1 - hi0 > 9)
		return tr_error(t, at, "the repetition number is too large");
	if (lo1 > lo0 && hi1 > hi0 &&
	    strtoul(s + hi0, NULL, 10) < strtoul(s + lo0, NULL, 10))
		return tr_error(
		    t, at + 1, "min repeat greater than max repeat");
	sbuf_addch(t->out, '{');
	if (lo1 > lo0)
		sbuf_add(t->out, s + lo0, lo1 - lo0);
	else
		sbuf_addch(t->out, '0');
	if (comma) {
		sbuf_addch(t->out, ',');
		sbuf_add(t->out, s + hi0, hi1 - hi0);
	} else if (lo1 == lo0) {
		sbuf_addch(t->out, ',');
	}
	sbuf_addch(t->out, '}');
	t->i = j + 1;
	return 0;
}

/*
 * Inline flags after "(?" at t->s[t->i]. Global flags "(?i)" are valid
 * only at the very start of the pattern (Python 3.11); scoped "(?i-s:".
 */
static int
tr_flags(struct tr *t, size_t at, bool global_ok)
{
	const char *s = t->s;
	struct sbuf fl = SBUF_INIT;
	bool minus = false;
	int rc = -1;

	for (;; t->i++) {
		char c = s[t->i];

		if (c == ')' || c == ':')
			break;
		if (c == '-' && !minus) {
			minus = true;
			sbuf_addch(&fl, '-');
			continue;
		}
		if (c == '\0') {
			tr_error(t, at, "missing -, : or )");
			goto out;
		}
		if (c == 'L') {
			tr_error(t, at,
			    "bad inline flags: cannot use 'L' flag with a str "
			    "pattern");
			goto out;
		}
		if (strchr("aimsux", c) == NULL) {
			tr_error(t, at,
			    isalpha((unsigned char)c) ? "unknown flag"
			                              : "missing -, : or )");
			goto out;
		}
		if (c == 'a' || c == 'u')
			continue; /* text model flags: UCP is fixed */
		sbuf_addch(&fl, c);
	}
	if (s[t->i] == ')') {
		if (minus) {
			tr_error(t, at, "missing :");
			goto out;
		}
		if (!global_ok) {
			tr_error(t, at,
			    "global flags not at the start of the expression");
			goto out;
		}
		if (fl.len)
			sbuf_printf(t->out, "(?%s)", fl.s);
		if (fl.len && strchr(fl.s, 'x'))
			t->verbose = true;
		t->i++;
		rc = 1;
		goto out;
	}
	t->i++;
	sbuf_printf(t->out, "(?%s:", fl.len ? fl.s : "");
	rc = 0;
out:
	sbuf_cleanup(&fl);
	return rc;
}

/* One item of the pattern at t->s[t->i]; returns 0 or -1. */
static int
tr_step(struct tr *t)
{
	char c = t->s[t->i];
	size_t at = t->i;

	if (t->verbose && c == '#') {
		while (t->s[t->i] && t->s[t->i] != '\n')
			sbuf_addch(t->out, t->s[t->i++]);
		return 0;
	}
	if (t->verbose &&
	    (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	        c == '\v')) {
		sbuf_addch(t->out, t->s[t->i++]);
		return 0;
	}
	if (c == '\\') {
		t->global_ok = false;
		if (tr_escape(t, false) < 0)
			return -1;
		return 0;
	}
	if (c == '[') {
		t->global_ok = false;
		if (tr_class(t) < 0)
			return -1;
		return 0;
	}
	if (c == '{') {
		t->global_ok = false;
		if (tr_brace(t) < 0)
			return -1;
		return 0;
	}
	if (c == ')') {
		if (t->depth == 0) {
			tr_error(t, at, "unbalanced parenthesis");
			return -1;
		}
		t->depth--;
		sbuf_addch(t->out, ')');
		t->i++;
		return 0;
	}
	if (c != '(') {
		if (c == '|' && t->depth == 0)
			t->global_ok = false;
		else if (c != '|')
			t->global_ok = false;
		sbuf_addch(t->out, c);
		t->i++;
		return 0;
	}
	/* a group */
	if (t->s[t->i + 1] != '?') {
		t->global_ok = false;
		tr_open(t, at);
		sbuf_addch(t->out, '(');
		t->i++;
		return 0;
	}
	t->i += 2;
	c = t->s[t->i];
	if (c == '#') {
		/* comment: copied whole */
		sbuf_addstr(t->out, "(?");
		while (t->s[t->i] && t->s[t->i] != ')')
			sbuf_addch(t->out, t->s[t->i++]);
		if (t->s[t->i] != ')') {
			tr_error(t, at, "missing ), unterminated comment");
			return -1;
		}
		sbuf_addch(t->out, t->s[t->i++]);
		return 0;
	}
	if ((c >= 'a' && c <= 'z') || c == 'L' || c == '-') {
		int r = tr_flags(t, at, t->global_ok);

		if (r < 0)
			return -1;
		if (r == 0) {
			tr_open(t, at);
			t->global_ok = false;
		}
		return 0;
	}
	t->global_ok = false;
	if (c == 'P' && t->s[t->i + 1] == '<') {
		sbuf_addstr(t->out, "(?P<");
		t->i += 2;
		tr_open(t, at);
		return 0;
	}
	if (c == 'P' && t->s[t->i + 1] == '=') {
		/* (?P=name) back reference: no depth change */
		sbuf_addstr(t->out, "(?P=");
		t->i += 2;
		while (t->s[t->i] && t->s[t->i] != ')')
			sbuf_addch(t->out, t->s[t->i++]);
		if (t->s[t->i] != ')') {
			tr_error(t, at, "missing ), unterminated name");
			return -1;
		}
		sbuf_addch(t->out, t->s[t->i++]);
		return 0;
	}
	if (c == ':' || c == '=' || c == '!' || c == '>' ||
	    (c == '<' && (t->s[t->i + 1] == '=' || t->s[t->i + 1] == '!'))) {
		sbuf_addstr(t->out, "(?");
		tr_open(t, at);
		return 0;
	}
	if (c == '(') {
		/* conditional (?(name)... or (?(1)... */
		size_t k = t->i + 1;

		while (t->s[k] && t->s[k] != ')')
			k++;
		if (t->s[k] != ')') {
			tr_error(t, at, "missing ), unterminated name");
			return -1;
		}
		sbuf_addstr(t->out, "(?(");
		sbuf_add(t->out, t->s + t->i + 1, k - t->i - 1);
		sbuf_addch(t->out, ')');
		t->i = k + 1;
		tr_open(t, at);
		return 0;
	}
	if (c == '<' || c == 'P')
		tr_error(t, at + 1, "unknown extension ?%c%c", c,
		    t->s[t->i + 1] ? t->s[t->i + 1] : ' ');
	else
		tr_error(t, at + 1, "unknown extension ?%c", c ? c : ' ');
	return -1;
}

int
fre_translate(
    const char *py, struct sbuf *out, size_t **omap, char **err, size_t *erroff)
{
	struct tr t = {py, 0, out, NULL, 0, false, 0, true, NULL, 0};
	size_t *map = NULL, cap = 0;

	while (py[t.i]) {
		size_t at = t.i, o0 = out->len;

		if (tr_step(&t) < 0)
			goto fail;
		if (omap) {
			xgrow(&map, &cap, out->len + 1, sizeof(*map));
			for (size_t k = o0; k < out->len; k++)
				map[k] = at;
		}
	}
	if (t.depth > 0) {
		/* Python names the innermost group left open */
		tr_error(&t, t.open[t.depth - 1],
		    "missing ), unterminated subpattern");
		goto fail;
	}
	free(t.open);
	if (omap) {
		xgrow(&map, &cap, out->len + 1, sizeof(*map));
		map[out->len] = t.i;
		*omap = map;
	}
	return 0;
fail:
	free(t.open);
	free(map);
	*err = t.err;
	*erroff = t.erroff;
	return -1;
}

/* ---- compile ---- */

static int
name_cmp(const void *a, const void *b)
{
	const struct fre_name *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

static int
alt_cmp(const void *a, const void *b, void *arg)
{
	const struct fre_alt *x = a, *y = b;
	const struct fre *re = arg;
	int c = strcmp(re->names[x->src].name, re->names[y->src].name);

	return c ? c : strcmp(x->target, y->target);
}

uint32_t
fre_group(const struct fre *re, const char *name)
{
	for (size_t i = 0; i < re->nnames; i++)
		if (strcmp(re->names[i].name, name) == 0)
			return re->names[i].num;
	return 0;
}

/*
 * fail2ban's COMPLNAME_CRE "^(alt_|tuple_)(.*?)(?:_\d+)?$": the target of
 * an alt_/tuple_ group, or NULL.
 */
static char *compl_target(const char *name, bool *is_alt);

const char *
intern_str(struct intern *t, const char *s)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i], s) == 0)
			return t->v[i];
	xgrow(&t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n] = xstrdup(s);
	return t->v[t->n++];
}

void
intern_cleanup(struct intern *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static char *
compl_target(const char *name, bool *is_alt)
{
	const char *rest;
	size_t n, cut;

	if (strlen(name) <= 4)
		return NULL;
	if (strncmp(name, "alt_", 4) == 0) {
		*is_alt = true;
		rest = name + 4;
	} else if (strncmp(name, "tuple_", 6) == 0) {
		*is_alt = false;
		rest = name + 6;
	} else {
		return NULL;
	}
	n = strlen(rest);
	/* the shortest prefix whose remainder is empty or "_<digits>" */
	for (cut = 0; cut < n; cut++) {
		size_t k = cut;

		if (rest[k] != '_' || k + 1 >= n)
			continue;
		for (k++; k < n && rest[k] >= '0' && rest[k] <= '9'; k++)
			;
		if (k == n)
			break;
	}
	return map_tag_name(rest, cut);
}

static void
load_names(struct fre *re, struct intern *keys)
{
	uint32_t count = 0, esize = 0;
	PCRE2_SPTR table = NULL;

	pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->ncaptures);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
	re->names = xcalloc(count ? count : 1, sizeof(*re->names));
	for (uint32_t i = 0; i < count; i++) {
		PCRE2_SPTR e = table + (size_t)i * esize;

		re->names[i].num = (uint32_t)(e[0] << 8 | e[1]);
		re->names[i].name = intern_str(keys, (const char *)e + 2);
	}
	re->nnames = count;
	qsort(re->names, count, sizeof(*re->names), name_cmp);
	for (size_t i = 0; i < count; i++) {
		const char *nm = re->names[i].name;
		bool is_alt;
		char *target = compl_target(nm, &is_alt);

		if (strcmp(nm, "fid") == 0 || strcmp(nm, "ip4") == 0 ||
		    strcmp(nm, "ip6") == 0 || strcmp(nm, "dns") == 0 ||
		    strcmp(nm, "mlfid") == 0)
			re->has_id_group = true;
		if (target) {
			struct fre_alt **v = is_alt ? &re->alts : &re->tuples;
			size_t *nv = is_alt ? &re->nalts : &re->ntuples;

			*v = xreallocarray(*v, *nv + 1, sizeof(**v));
			(*v)[*nv].src = (uint32_t)i;
			(*v)[*nv].target = intern_str(keys, target);
			(*nv)++;
			free(target);
		}
	}
	if (re->nalts)
		qsort_r(re->alts, re->nalts, sizeof(*re->alts), alt_cmp, re);
	if (re->ntuples)
		qsort_r(
		    re->tuples, re->ntuples, sizeof(*re->tuples), alt_cmp, re);
	for (int k = 0;; k++) {
		char nm[32];
		uint32_t g;

		snprintf(nm, sizeof(nm), "skiplines%d", k);
		g = fre_group(re, nm);
		if (g == 0)
			break;
		re->skip =
		    xreallocarray(re->skip, re->nskip + 1, sizeof(*re->skip));
		re->skip[re->nskip++] = g;
	}
}

/* ---- faster variants (see struct fre's var[]) ---- */

bool
fre_ascii_safe(const char *p)
{
	for (size_t i = 0; p[i]; i++) {
		unsigned long cp = 0;

		if ((unsigned char)p[i] >= 0x80)
			return false;
		if (p[i] != '\\')
			continue;
		i++;
		if (p[i] == '\0')
			return true;
		if (p[i] != 'x' || p[i + 1] != '{')
			continue;
		/* \x{H...}: the translator's form of every code point escape */
		for (i += 2; hexval(p[i]) >= 0 && cp < 0x80; i++)
			cp = cp * 16 + (unsigned long)hexval(p[i]);
		if (cp >= 0x80)
			return false;
		i--;
	}
	return true;
}

/* One open group while fre_tail() scans. */
struct tail_grp {
	uint32_t cap; /* capture number, 0 for none */
	bool plain;   /* a capture or a (?: / (?flags: group */
	bool alt;     /* '|' seen at the group's own level */
};

#define TAIL_DEPTH 64

size_t
fre_class_end(const char *p, size_t at, bool *posix)
{
	size_t i = at + 1;

	if (posix != NULL)
		*posix = false;
	if (p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	while (p[i] != '\0' && p[i] != ']') {
		if (p[i] == '[' && posix != NULL)
			*posix = true;
		i += p[i] == '\\' && p[i + 1] != '\0' ? 2 : 1;
	}
	return p[i] != '\0' ? i + 1 : i;
}

bool
fre_tail(const char *p, size_t *dot, bool *plus, uint32_t *grp)
{
	struct tail_grp st[TAIL_DEPTH], closed = {0, false, true};
	size_t n = strlen(p), i = 0, last_dot = SIZE_MAX, last_close = SIZE_MAX;
	int depth = 0;
	uint32_t ncap = 0;
	bool top_alt = false;

	while (i < n) {
		char c = p[i];

		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '[') {
			i = fre_class_end(p, i, NULL);
			continue;
		}
		if (c == '|') {
			if (depth == 0)
				top_alt = true;
			else
				st[depth - 1].alt = true;
			i++;
			continue;
		}
		if (c == ')') {
			if (depth == 0)
				return false;
			closed = st[--depth];
			last_close = depth == 0 ? i : SIZE_MAX;
			i++;
			continue;
		}
		if (c == '.') {
			last_dot = i++;
			continue;
		}
		if (c != '(') {
			i++;
			continue;
		}
		if (depth == TAIL_DEPTH || p[i + 1] == '*')
			return false; /* deep, or a PCRE2 verb */
		st[depth].cap = 0;
		st[depth].plain = false;
		st[depth].alt = false;
		if (p[i + 1] != '?') {
			st[depth++].cap = ++ncap;
			st[depth - 1].plain = true;
			i++;
			continue;
		}
		c = p[i + 2];
		if (c == '#' ||
		    (c == 'P' && (p[i + 3] == '=' || p[i + 3] == '>'))) {
			/* a comment or a back reference: no group */
			while (i < n && p[i] != ')')
				i++;
			i++;
			continue;
		}
		if ((c == 'P' && p[i + 3] == '<') || c == '\'' ||
		    (c == '<' && p[i + 3] != '=' && p[i + 3] != '!')) {
			st[depth].cap = ++ncap;
			st[depth++].plain = true;
			i += 3;
			continue;
		}
		if (c == '(') {
			/* a condition (?(name)...: skip the name */
			i += 3;
			while (i < n && p[i] != ')')
				i++;
			depth++;
			i++;
			continue;
		}
		if (c == ':' || c == '-' || (c >= 'a' && c <= 'z')) {
			size_t k = i + 2;

			while (p[k] == '-' || (p[k] >= 'a' && p[k] <= 'z')) {
				/* "." would match a newline, or blanks are
				 * not literal */
				if (p[k] == 's' || p[k] == 'x')
					return false;
				k++;
			}
			if (p[k] == ')') {
				i = k + 1; /* flags for the rest */
				continue;
			}
			if (p[k] != ':')
				return false;
			st[depth++].plain = true;
			i = k + 1;
			continue;
		}
		depth++; /* look-arounds, atomic groups ... */
		i += 2;
	}
	if (depth != 0 || top_alt || n < 3 || p[n - 1] != '$')
		return false;
	if ((p[n - 2] == '+' || p[n - 2] == '*') && last_dot == n - 3) {
		*dot = n - 3;
		*plus = p[n - 2] == '+';
		*grp = 0;
		return true;
	}
	if (n >= 4 && p[n - 2] == ')' && last_close == n - 2 &&
	    (p[n - 3] == '+' || p[n - 3] == '*') && last_dot == n - 4 &&
	    closed.plain && !closed.alt) {
		*dot = n - 4;
		*plus = p[n - 3] == '+';
		*grp = closed.cap;
		return true;
	}
	return false;
}

/* A named capture fre_prune() saw close outside any look-around. */
struct prune_cap {
	const char *name;
	size_t nname;
	size_t body, end;
};

/* One open group while fre_prune() scans. */
struct prune_grp {
	const char *name; /* a named capture's, else NULL */
	size_t nname;
	size_t body;
	bool look; /* a look-around */
	bool cond; /* a conditional at the top level */
};

#define PRUNE_CAPS 32

/* A run of plain ASCII characters at p (no metacharacters; no letters
 * unless letters is set) into lit, its last one left out when a
 * quantifier may follow it; its length, at most 15. */
static size_t
lit_run(const char *p, bool letters, char lit[16])
{
	size_t n = 0;

	while (n < 15 && p[n] >= ' ' && p[n] <= '~' &&
	    (letters || !((p[n] | 0x20) >= 'a' && (p[n] | 0x20) <= 'z')) &&
	    strchr("\\^$.|?*+()[]{}#", p[n]) == NULL)
		n++;
	/* a quantifier (or what may be one) applies to the last one */
	if (n > 0 &&
	    (p[n] == '?' || p[n] == '*' || p[n] == '+' || p[n] == '{' ||
	        n == 15))
		n--;
	memcpy(lit, p, n);
	lit[n] = '\0';
	return n;
}

/* The end of a condition on a group, "(?(name)" at p[i], as the offset
 * of its ')'; 0 for any other condition (an assertion, recursion,
 * DEFINE, VERSION). */
static size_t
cond_group_end(const char *p, size_t i, size_t n)
{
	size_t k = i + 3;

	while (k < n &&
	    (p[k] == '_' || (p[k] >= '0' && p[k] <= '9') ||
	        ((p[k] | 0x20) >= 'a' && (p[k] | 0x20) <= 'z')))
		k++;
	if (p[k] != ')' || k == i + 3 || p[i + 3] == 'R' ||
	    (k - (i + 3) == 6 && memcmp(p + i + 3, "DEFINE", 6) == 0) ||
	    (k - (i + 3) == 7 && memcmp(p + i + 3, "VERSION", 7) == 0))
		return 0;
	return k;
}

/* What opens at p[i] == '(' for fre_prune() and fre_lazy(). */
enum grp_kind {
	GRP_NONE,    /* a comment or a back reference: no group */
	GRP_CAPTURE, /* numbered, or named */
	GRP_PLAIN,   /* (?: or (?flags: */
	GRP_FLAGS,   /* (?flags) for the rest of the pattern */
	GRP_LOOK,    /* a look-around */
	GRP_ATOMIC,  /* (?> */
	GRP_COND,    /* a condition on a group: (?(name) */
	GRP_OTHER,   /* a verb, call, recursion, callout, assertion ... */
};

struct grp_open {
	enum grp_kind kind;
	size_t next;      /* the offset of what follows the opening */
	const char *name; /* a named capture's, or the condition's group */
	size_t nname;
	bool flags; /* GRP_PLAIN, GRP_FLAGS: with flags, x among them */
	bool x;
};

static struct grp_open
grp_open(const char *p, size_t i, size_t n)
{
	struct grp_open g = {GRP_OTHER, i + 1, NULL, 0, false, false};
	char c = p[i + 2];
	size_t k;

	if (p[i + 1] == '*')
		return g; /* a PCRE2 verb */
	if (p[i + 1] != '?') {
		g.kind = GRP_CAPTURE;
		return g;
	}
	if (c == '#' || (c == 'P' && p[i + 3] == '=')) {
		for (k = i; k < n && p[k] != ')'; k++)
			;
		g.kind = GRP_NONE;
		g.next = k + 1;
		return g;
	}
	if ((c == 'P' && p[i + 3] == '<') || c == '\'' ||
	    (c == '<' && p[i + 3] != '=' && p[i + 3] != '!')) {
		g.name = p + i + (c == 'P' ? 4 : 3);
		for (k = (size_t)(g.name - p);
		     k < n && p[k] != '>' && p[k] != '\''; k++)
			;
		g.kind = GRP_CAPTURE;
		g.nname = k - (size_t)(g.name - p);
		g.next = k + 1;
		return g;
	}
	if (c == '=' || c == '!' || c == '<') {
		g.kind = GRP_LOOK;
		g.next = i + (c == '<' ? 4 : 3);
		return g;
	}
	if (c == '>') {
		g.kind = GRP_ATOMIC;
		g.next = i + 3;
		return g;
	}
	if (c == '(') {
		k = cond_group_end(p, i, n);
		if (k == 0)
			return g; /* an assertion, recursion ... */
		g.kind = GRP_COND;
		g.name = p + i + 3;
		g.nname = k - (i + 3);
		g.next = k + 1;
		return g;
	}
	for (k = i + 2; p[k] == '-' || (p[k] >= 'a' && p[k] <= 'z'); k++)
		g.x = g.x || p[k] == 'x';
	if (p[k] != ')' && p[k] != ':')
		return g; /* recursion, calls, callouts ... */
	g.kind = p[k] == ')' ? GRP_FLAGS : GRP_PLAIN;
	g.flags = k > i + 2;
	g.next = k + 1;
	return g;
}

bool
fre_prune(const char *p, size_t *body, size_t *end, char lit[16])
{
	struct prune_grp st[TAIL_DEPTH];
	struct prune_cap cap[PRUNE_CAPS];
	size_t n = strlen(p), i = 0, ncap = 0, nlit = 0;
	int depth = 0, nlook = 0;
	bool top_alt = false;

	while (i < n) {
		char c = p[i];
		struct grp_open go;

		if (c == '\\') {
			if (p[i + 1] == 'g' || p[i + 1] == 'Q')
				return false; /* \g<..> calls, \Q quotes */
			i += 2;
			continue;
		}
		if (c == '[') {
			bool posix;

			i = fre_class_end(p, i, &posix);
			if (posix)
				return false; /* [:alpha:] ... */
			continue;
		}
		if ((c == '*' || c == '+' || c == '?' || c == '}') &&
		    p[i + 1] == '+')
			return false; /* possessive (or perhaps) */
		if (c == '|') {
			top_alt = top_alt || depth == 0;
			i++;
			continue;
		}
		if (c == ')') {
			struct prune_grp *g;

			if (depth == 0)
				return false;
			g = &st[--depth];
			if (g->cond && p[i + 1] != '\0' &&
			    strchr("?*+{", p[i + 1]) != NULL)
				return false; /* it may be skipped */
			if (g->look)
				nlook--;
			else if (g->name && nlook == 0 && ncap < PRUNE_CAPS)
				cap[ncap++] = (struct prune_cap){
				    g->name, g->nname, g->body, i};
			i++;
			continue;
		}
		if (c != '(') {
			i++;
			continue;
		}
		if (depth == TAIL_DEPTH)
			return false;
		go = grp_open(p, i, n);
		if (go.kind == GRP_OTHER || go.kind == GRP_ATOMIC || go.x)
			return false; /* verbs, recursion, blanks not literal */
		i = go.next;
		if (go.kind == GRP_NONE || go.kind == GRP_FLAGS)
			continue;
		st[depth] = (struct prune_grp){NULL, 0, 0, false, false};
		if (go.kind == GRP_CAPTURE && go.name) {
			st[depth].name = go.name;
			st[depth].nname = go.nname;
			st[depth].body = go.next;
		}
		if (go.kind == GRP_LOOK) {
			st[depth].look = true;
			nlook++;
		}
		for (size_t j = 0; go.kind == GRP_COND && depth == 0 &&
		     nlook == 0 && nlit == 0 && j < ncap;
		     j++) {
			if (cap[j].nname == go.nname &&
			    memcmp(cap[j].name, go.name, go.nname) == 0) {
				nlit = lit_run(p + go.next, false, lit);
				*body = cap[j].body;
				*end = cap[j].end;
			}
		}
		st[depth].cond = go.kind == GRP_COND && depth == 0;
		depth++;
	}
	return depth == 0 && !top_alt && nlit > 0;
}

/* One open group while fre_lazy() scans. */
struct lazy_grp {
	bool plain; /* may be left for what follows it (no look-around, not
	               atomic) */
};

/* The end of a one-character item C of a lazy candidate at p[i], or 0. */
static size_t
lazy_item(const char *p, size_t i, bool *bad)
{
	bool posix;
	size_t j;

	if (p[i] == '.')
		return i + 1;
	if (p[i] == '\\')
		return p[i + 1] != '\0' && strchr("sSwWdD", p[i + 1]) != NULL
		    ? i + 2
		    : 0;
	if (p[i] != '[')
		return 0;
	j = fre_class_end(p, i, &posix);
	if (posix || p[j - 1] != ']') {
		*bad = true; /* not read */
		return 0;
	}
	return j;
}

/*
 * Whether the item p[0, n) matches the character c. When it does not,
 * PCRE2 makes the repeat possessive itself (nothing to gain); when it
 * does, a greedy repeat runs past the literal and backs off to it.
 */
static bool
item_takes(const char *p, size_t n, uint32_t opts, char c)
{
	struct sbuf t = SBUF_INIT;
	pcre2_code *code;
	pcre2_match_data *md;
	int errcode, rc = -1;
	PCRE2_SIZE off;

	sbuf_addstr(&t, "^(?:");
	sbuf_add(&t, p, n);
	sbuf_addch(&t, ')');
	code = pcre2_compile(
	    (PCRE2_SPTR)sbuf_str(&t), t.len, opts, &errcode, &off, NULL);
	if (code != NULL) {
		md = pcre2_match_data_create(1, NULL);
		rc = pcre2_match(code, (PCRE2_SPTR)&c, 1, 0, 0, md, NULL);
		pcre2_match_data_free(md);
		pcre2_code_free(code);
	}
	sbuf_cleanup(&t);
	return rc > 0;
}

size_t
fre_lazy(const char *p, uint32_t opts, struct sbuf *out,
    char lits[FRE_LAZY_LITS][16])
{
	struct lazy_grp st[TAIL_DEPTH];
	size_t n = strlen(p), i = 0, from = 0, nlits = 0;
	int depth = 0;
	bool bad = false;

	if (opts &
	    (PCRE2_CASELESS | PCRE2_EXTENDED | PCRE2_EXTENDED_MORE |
	        PCRE2_UNGREEDY | PCRE2_LITERAL))
		return 0;
	sbuf_reset(out);
	while (i < n && !bad) {
		char c = p[i];
		size_t j = lazy_item(p, i, &bad);
		struct grp_open go;

		if (j > 0 && (p[j] == '+' || p[j] == '*') && p[j + 1] != '?' &&
		    p[j + 1] != '+') {
			size_t k = j + 1, nl;
			int d = depth;
			char lit[16];

			/* past the ends of groups, to a literal */
			while (p[k] == ')' && d > 0 && st[d - 1].plain &&
			    strchr("?*+{", p[k + 1]) == NULL) {
				d--;
				k++;
			}
			nl = p[k] == ')' ? 0 : lit_run(p + k, true, lit);
			if (nl >= 2 && item_takes(p + i, j - i, opts, lit[0])) {
				size_t m = 0;

				while (m < nlits && strcmp(lits[m], lit) != 0)
					m++;
				if (m == FRE_LAZY_LITS)
					return 0;
				if (m == nlits)
					memcpy(lits[nlits++], lit, nl + 1);
				sbuf_add(out, p + from, j + 1 - from);
				sbuf_addch(out, '?');
				from = j + 1;
			}
			i = j + 1;
			continue;
		}
		if (j > 0) {
			i = j;
			continue;
		}
		if (c == '\\') {
			if (p[i + 1] == 'g' || p[i + 1] == 'Q' ||
			    p[i + 1] == 'c' || p[i + 1] == '\0')
				return 0; /* \g<..> calls, \Q quotes, \c[ */
			i += 2;
			continue;
		}
		if (c == ')') {
			if (depth == 0)
				return 0;
			depth--;
			i++;
			continue;
		}
		if (c != '(') {
			i++;
			continue;
		}
		if (depth == TAIL_DEPTH)
			return 0;
		go = grp_open(p, i, n);
		if (go.kind == GRP_OTHER || go.flags || go.kind == GRP_FLAGS)
			return 0; /* verbs, flags, recursion, calls ... */
		i = go.next;
		if (go.kind == GRP_NONE)
			continue;
		st[depth++].plain =
		    go.kind != GRP_LOOK && go.kind != GRP_ATOMIC;
	}
	if (bad || depth != 0 || nlits == 0)
		return 0;
	sbuf_add(out, p + from, n - from);
	return nlits;
}

static void
compile_var(struct fre *re, int k, const char *pat, size_t len, uint32_t opts)
{
	int errcode;
	PCRE2_SIZE off;
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);

	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	re->var[k] =
	    pcre2_compile((PCRE2_SPTR)pat, len, opts, &errcode, &off, cc);
	pcre2_compile_context_free(cc);
	/* JIT-compiled at its first use (fre_match) */
}

/*
 * The variants of a compiled pattern. Without UTF and UCP, an ASCII
 * pattern treats ASCII subjects exactly as with them (\w, \d, \s, \b and
 * case folding only differ on other characters). A final ".+$" (".*$")
 * matches from position p, on a subject whose only newline is its last
 * byte, exactly when one character (any) is left before that newline, and
 * then always ends at that newline: "(?=.)" (nothing) decides the same,
 * so every other group comes out the same; fre_match() puts the end back.
 * base is 0 or FRE_PRUNE, pc that variant's pattern.
 */
static void
build_set(struct fre *re, int base, const char *pc, size_t len, uint32_t opts)
{
	uint32_t aopts =
	    opts & ~(PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF);
	bool ascii = fre_ascii_safe(pc);
	size_t dot;
	bool plus;
	uint32_t grp;

	if (base)
		compile_var(re, base, pc, len, opts);
	if (re->var[base] == NULL)
		return;
	if (ascii)
		compile_var(re, base | FRE_ASCII, pc, len, aopts);
	if (!(opts & PCRE2_MULTILINE) && fre_tail(pc, &dot, &plus, &grp)) {
		struct sbuf t = SBUF_INIT;

		sbuf_add(&t, pc, dot);
		if (plus)
			sbuf_addstr(&t, "(?=.)");
		if (dot + 3 < len)
			sbuf_addch(&t, ')'); /* the group the tail ends */
		compile_var(re, base | FRE_TAIL, sbuf_str(&t), t.len, opts);
		if (re->var[base | FRE_TAIL]) {
			re->tail_grp = grp;
			if (ascii)
				compile_var(re, base | FRE_TAIL | FRE_ASCII,
				    sbuf_str(&t), t.len, aopts);
		}
		sbuf_cleanup(&t);
	}
}

/* Whether each of a[0, na) is one of b[0, nb). */
static bool
lits_within(char a[][16], size_t na, char b[][16], size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		size_t k = 0;

		while (k < nb && strcmp(a[i], b[k]) != 0)
			k++;
		if (k == nb)
			return false;
	}
	return true;
}

/* Keeps the literals the lazy variants rely on (fre_lazy()'s on the
 * pattern). */
static void
lazy_keep(struct fre *re, char lits[FRE_LAZY_LITS][16], size_t nlits)
{
	for (size_t m = 0; m < nlits; m++) {
		memcpy(re->lazy_lit[m], lits[m], sizeof(lits[m]));
		re->lazy_len[m] = (uint8_t)strlen(lits[m]);
	}
	re->nlazy = nlits;
}

/*
 * Every variant: the set above for the pattern, and again with the
 * body of the group fre_prune() finds replaced by "(?!)" (the group
 * numbers stay), used on subjects without its literal.
 */
static void
build_variants(struct fre *re, const char *pc, size_t len, uint32_t opts)
{
	size_t body, end, nlits;
	struct sbuf lz = SBUF_INIT;
	char lits[FRE_LAZY_LITS][16], plits[FRE_LAZY_LITS][16];

	re->var[0] = re->code;
	build_set(re, 0, pc, len, opts);
	nlits = fre_lazy(pc, opts, &lz, lits);
	if (nlits)
		build_set(re, FRE_LAZY, sbuf_str(&lz), lz.len, opts);
	if (fre_prune(pc, &body, &end, re->plit)) {
		struct sbuf q = SBUF_INIT;

		sbuf_add(&q, pc, body);
		sbuf_addstr(&q, "(?!)");
		sbuf_add(&q, pc + end, len - end);
		build_set(re, FRE_PRUNE, sbuf_str(&q), q.len, opts);
		if (re->var[FRE_PRUNE]) {
			re->nplit = strlen(re->plit);
			size_t np = nlits
			    ? fre_lazy(sbuf_str(&q), opts, &lz, plits)
			    : 0;

			/* its literals must be among those checked */
			if (np && lits_within(plits, np, lits, nlits))
				build_set(re, FRE_PRUNE | FRE_LAZY,
				    sbuf_str(&lz), lz.len, opts);
		}
		sbuf_cleanup(&q);
	}
	if (re->var[FRE_LAZY])
		lazy_keep(re, lits, nlits);
	sbuf_cleanup(&lz);
}

/* s[0, len) holds lit[0, n), n > 0 (memmem() costs far more on the
 * short subjects here: it sets up a search for long needles). */
static bool
has_lit(const char *s, size_t len, const char *lit, size_t n)
{
	const char *p = s, *e = s + len;

	while ((size_t)(e - p) >= n) {
		p = memchr(p, lit[0], (size_t)(e - p) - n + 1);
		if (p == NULL)
			return false;
		if (memcmp(p + 1, lit + 1, n - 1) == 0)
			return true;
		p++;
	}
	return false;
}

/* Whether lit[0, n) (n >= 2) is at s[at] (lit[0, 2) known to be). */
static inline bool
lit_rest(const char *s, const char *lit, size_t n)
{
	for (size_t k = 2; k < n; k++)
		if (s[k] != lit[k])
			return false;
	return true;
}

/* Whether s[0, len) holds lit[0, n) (n >= 2) twice or more: pairs of
 * its first two bytes are found 16 positions at a time. */
static bool
lit_twice(const char *s, size_t len, const char *lit, size_t n)
{
	bool seen = false;

	if (len < n)
		return false;
#ifdef __SSE2__
	if (len >= 17) {
		const __m128i a = _mm_set1_epi8(lit[0]);
		const __m128i b = _mm_set1_epi8(lit[1]);

		for (size_t i = 0;; i += 16) {
			/* the last block overlaps the one before: its
			 * positions below i are left out */
			size_t at0 = i + 17 <= len ? i : len - 17;
			__m128i x = _mm_loadu_si128((const __m128i *)(s + at0));
			__m128i y =
			    _mm_loadu_si128((const __m128i *)(s + at0 + 1));
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(
			    _mm_cmpeq_epi8(x, a), _mm_cmpeq_epi8(y, b)));

			for (m &= ~0u << (i - at0); m; m &= m - 1) {
				size_t at = at0 + (size_t)__builtin_ctz(m);

				if (at + n <= len && lit_rest(s + at, lit, n)) {
					if (seen)
						return true;
					seen = true;
				}
			}
			if (at0 + 17 >= len)
				return false; /* pairs start below len - 1 */
		}
	}
#endif
	for (size_t i = 0; i + n <= len; i++) {
		if (s[i] == lit[0] && s[i + 1] == lit[1] &&
		    lit_rest(s + i, lit, n)) {
			if (seen)
				return true;
			seen = true;
		}
	}
	return false;
}

/* Whether s[0, len) holds none of re's lazy literals twice (var[FRE_LAZY]
 * then gives code's results). */
static bool
lazy_fits(const struct fre *re, const char *s, size_t len)
{
	for (size_t m = 0; m < re->nlazy; m++)
		if (lit_twice(s, len, re->lazy_lit[m], re->lazy_len[m]))
			return false;
	return true;
}

/* Guards the first JIT compile of a variant (fre_match). */
static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;

int
fre_match(const struct fre *re, const char *s, size_t len, unsigned subj,
    pcre2_match_data *md, pcre2_match_context *mctx)
{
	int k = (subj & FRE_SUBJ_ASCII) && re->var[FRE_ASCII] ? FRE_ASCII : 0;
	unsigned char st;
	int rc;

	if (re->var[FRE_TAIL] &&
	    ((subj & FRE_SUBJ_NL_KNOWN) ? (subj & FRE_SUBJ_ONE_NL) != 0
	                                : len > 0 && s[len - 1] == '\n' &&
	                memchr(s, '\n', len - 1) == NULL))
		k = re->var[k | FRE_TAIL] ? k | FRE_TAIL : FRE_TAIL;
	if (re->nplit && re->var[k | FRE_PRUNE] &&
	    !has_lit(s, len, re->plit, re->nplit))
		k |= FRE_PRUNE;
	if (re->nlazy && re->var[k | FRE_LAZY] && lazy_fits(re, s, len))
		k |= FRE_LAZY;
	st = __atomic_load_n(&re->jit_state[k], __ATOMIC_ACQUIRE);
	if (st == FRE_JIT_TODO) {
		/* The JIT's machine code is most of a pattern's memory (up to
		 * four variants of every regex of every jail), and a daemon
		 * uses few of the variants: each is compiled when first used.
		 * A JIT failure is not an error: the interpreter gives the
		 * same results, only slower. The object is the caller's own;
		 * only this cache changes, under a lock: `warden regex`
		 * searches one filter from two threads. */
		struct fre *w = (struct fre *)re;

		pthread_mutex_lock(&jit_lock);
		st = w->jit_state[k];
		if (st == FRE_JIT_TODO) {
			st = pcre2_jit_compile(
			         re->var[k], PCRE2_JIT_COMPLETE) == 0
			    ? FRE_JIT_OK
			    : FRE_JIT_NO;
			__atomic_store_n(
			    &w->jit_state[k], st, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&jit_lock);
	}
	if (st == FRE_JIT_OK)
		rc = pcre2_jit_match(
		    re->var[k], (PCRE2_SPTR)s, len, 0, 0, md, mctx);
	else
		rc =
		    pcre2_match(re->var[k], (PCRE2_SPTR)s, len, 0, 0, md, mctx);
	if (rc > 0 && (k & FRE_TAIL)) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		PCRE2_SIZE end = ov[1] > len - 1 ? ov[1] : len - 1;
		uint32_t g = re->tail_grp;

		ov[1] = end;
		if (g && ov[2 * g] != PCRE2_UNSET)
			ov[2 * g + 1] = end;
	}
	return rc;
}

int
fre_compile(struct fre *re, const char *src, const char *file, int line,
    const char *usedns, bool multiline, enum fre_kind kind,
    const struct fre *pref, struct intern *keys, struct diags *d)
{
	struct sbuf exp = SBUF_INIT, g2l = SBUF_INIT, pc = SBUF_INIT;
	size_t *omap = NULL; /* PCRE2 offset -> Python offset */
	char *err = NULL;
	size_t erroff = 0;
	const char *p;
	int errcode = 0;
	PCRE2_SIZE pcoff = 0;
	uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
	pcre2_compile_context *cc = NULL;
	int rc = -1;

	memset(re, 0, sizeof(*re));
	re->src = xstrdup(src);
	re->file = file ? xstrdup(file) : NULL;
	re->line = line;
	filter_expand_tags(src, usedns, &exp);
	for (p = sbuf_str(&exp); *p == ' ' || (*p >= '\t' && *p <= '\r'); p++)
		;
	if (*p == '\0') {
		diag_add(d, DIAG_ERROR, file, line, "Cannot add empty regex");
		goto out;
	}
	fre_glob2loc(sbuf_str(&exp), &g2l);
	re->expanded = sbuf_detach(&g2l);
	if (fre_translate(re->expanded, &pc, &omap, &err, &erroff) < 0) {
		diag_add(d, DIAG_ERROR, file, line,
		    "Unable to compile regular expression '%s': %s at "
		    "position %zu",
		    re->expanded, err, erroff);
		goto out;
	}
	if (multiline)
		opts |= PCRE2_MULTILINE;
	cc = pcre2_compile_context_create(NULL);
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	re->code = pcre2_compile(
	    (PCRE2_SPTR)sbuf_str(&pc), pc.len, opts, &errcode, &pcoff, cc);
	if (re->code == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		/* the offset in the Python text the admin wrote */
		diag_add(d, DIAG_ERROR, file, line,
		    "Unable to compile regular expression '%s': %s at "
		    "position %zu",
		    re->expanded, (const char *)msg,
		    omap[pcoff <= pc.len ? pcoff : pc.len]);
		goto out;
	}
	load_names(re, keys);
	if (kind == FRE_FAIL && !re->has_id_group &&
	    (pref == NULL || !pref->has_id_group)) {
		diag_add(d, DIAG_ERROR, file, line,
		    "No failure-id group in '%s'", re->expanded);
		goto out;
	}
	fre_screen_build(re, sbuf_str(&pc), opts);
	build_variants(re, sbuf_str(&pc), pc.len, opts);
	rc = 0;
out:
	if (rc < 0)
		fre_cleanup(re);
	pcre2_compile_context_free(cc);
	free(err);
	free(omap);
	sbuf_cleanup(&exp);
	sbuf_cleanup(&g2l);
	sbuf_cleanup(&pc);
	return rc;
}

void
fre_cleanup(struct fre *re)
{
	free(re->src);
	free(re->expanded);
	free(re->file);
	for (int k = 1; k < 16; k++)
		pcre2_code_free(re->var[k]);
	pcre2_code_free(re->code);
	free(re->names);
	free(re->need);
	free(re->keep);
	free(re->keep_slot);
	free(re->alts);
	free(re->tuples);
	free(re->skip);
	memset(re, 0, sizeof(*re));
}
