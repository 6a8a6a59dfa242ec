/*
 * The configparser dialect (see ini.h). The parse loop follows
 * configparser.RawConfigParser._read line by line so that every corner
 * (comment lines inside values, indentation of continuations, what counts
 * as an inline comment) behaves the same; where Python would abort on the
 * first error we record it and go on, so `warden check` can show them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"
#include "sbuf.h"
#include "xmalloc.h"

bool
ini_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + n;

	while (p < end) {
		unsigned c = *p;
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - p) < len)
			return false;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += len;
	}
	return true;
}

size_t
ini_space_len(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t avail = (size_t)(end - p);
	uint32_t cp;

	if (avail == 0)
		return 0;
	if (u[0] < 0x80)
		return ((u[0] >= 0x09 && u[0] <= 0x0d) ||
		           (u[0] >= 0x1c && u[0] <= 0x20))
		    ? 1
		    : 0;
	if (u[0] == 0xc2 && avail >= 2)
		return (u[1] == 0x85 || u[1] == 0xa0) ? 2 : 0;
	if ((u[0] & 0xf0) != 0xe0 || avail < 3)
		return 0;
	cp = ((uint32_t)(u[0] & 0x0f) << 12) | ((uint32_t)(u[1] & 0x3f) << 6) |
	    (u[2] & 0x3f);
	if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	    cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
		return 3;
	return 0;
}

/* Length of the UTF-8 character starting at p (1 for stray bytes). */
static size_t
char_len(const char *p, const char *end)
{
	unsigned c = (unsigned char)*p;
	size_t n = 1;

	if (c >= 0xf0)
		n = 4;
	else if (c >= 0xe0)
		n = 3;
	else if (c >= 0xc0)
		n = 2;
	if (n > (size_t)(end - p))
		n = (size_t)(end - p);
	return n;
}

void
ini_strip(const char *s, size_t n, const char **b, const char **e)
{
	const char *p = s, *end = s + n;
	size_t k;

	while (p < end && (k = ini_space_len(p, end)) > 0)
		p += k;
	/* Walk back one character at a time. */
	while (end > p) {
		const char *q = end - 1;

		while (q > p && ((unsigned char)*q & 0xc0) == 0x80)
			q--;
		if (ini_space_len(q, end) != (size_t)(end - q))
			break;
		end = q;
	}
	*b = p;
	*e = end;
}

/* True when the character just before p (p > start) is whitespace. */
static bool
prev_is_space(const char *start, const char *p)
{
	const char *q = p - 1;

	while (q > start && ((unsigned char)*q & 0xc0) == 0x80)
		q--;
	return ini_space_len(q, p) == (size_t)(p - q);
}

static void
section_cleanup(struct ini_section *s)
{
	for (size_t i = 0; i < s->nopts; i++) {
		free(s->opts[i].key);
		free(s->opts[i].value);
		free(s->opts[i].lines);
	}
	free(s->opts);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

void
ini_free(struct ini_file *f)
{
	if (f == NULL)
		return;
	section_cleanup(&f->defaults);
	for (size_t i = 0; i < f->nsecs; i++)
		section_cleanup(&f->secs[i]);
	free(f->secs);
	for (size_t i = 0; i < f->nbad; i++)
		free(f->bad[i]);
	free(f->bad);
	free(f->pyerr);
	free(f->path);
	free(f);
}

const struct ini_section *
ini_find_section(const struct ini_file *f, const char *name)
{
	if (strcmp(name, "DEFAULT") == 0)
		return &f->defaults;
	for (size_t i = 0; i < f->nsecs; i++)
		if (strcmp(f->secs[i].name, name) == 0)
			return &f->secs[i];
	return NULL;
}

const struct ini_opt *
ini_find_opt(const struct ini_section *s, const char *key)
{
	for (size_t i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i].key, key) == 0)
			return &s->opts[i];
	return NULL;
}

/* Value lines of the option being read, before the final join. */
struct pending {
	struct sbuf text;
	int *lines;
	size_t nlines;
	size_t cap;
};

static void
pending_add(struct pending *pv, const char *s, size_t n, int line)
{
	if (pv->nlines > 0)
		sbuf_addch(&pv->text, '\n');
	sbuf_add(&pv->text, s, n);
	xgrow(&pv->lines, &pv->cap, pv->nlines + 1, sizeof(*pv->lines));
	pv->lines[pv->nlines++] = line;
}

/* Stores the pending value into opt, dropping trailing empty lines. */
static void
pending_flush(struct pending *pv, struct ini_opt *opt)
{
	const char *s = sbuf_str(&pv->text);
	size_t len = pv->text.len;

	if (opt == NULL || pv->nlines == 0)
		goto out;
	/* Each line is stripped, so trailing whitespace is only the '\n's
	 * of trailing empty lines (Python's rstrip()). */
	while (pv->nlines > 1 && len > 0 && s[len - 1] == '\n') {
		len--;
		pv->nlines--;
	}
	free(opt->value);
	free(opt->lines);
	opt->value = xmemdup(s, len);
	opt->lines = pv->lines;
	opt->nlines = pv->nlines;
	pv->lines = NULL;
	pv->cap = 0;
out:
	sbuf_reset(&pv->text);
	free(pv->lines);
	pv->lines = NULL;
	pv->nlines = 0;
	pv->cap = 0;
}

/* Python's repr() of n bytes of s (enough for error texts). */
static void
py_repr(struct sbuf *b, const char *s, size_t n)
{
	char q = '\'';

	if (memchr(s, '\'', n) && !memchr(s, '"', n))
		q = '"';
	sbuf_addch(b, q);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == (unsigned char)q || c == '\\') {
			sbuf_addch(b, '\\');
			sbuf_addch(b, (char)c);
		} else if (c == '\n') {
			sbuf_addstr(b, "\\n");
		} else if (c == '\r') {
			sbuf_addstr(b, "\\r");
		} else if (c == '\t') {
			sbuf_addstr(b, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			sbuf_printf(b, "\\x%02x", c);
		} else {
			sbuf_addch(b, (char)c);
		}
	}
	sbuf_addch(b, q);
}

/*
 * What configparser would raise: the first duplicate or missing-header
 * error at once, else all unparsable lines together at the end.
 */
struct pyerr {
	struct sbuf now;     /* an immediate error, once set */
	struct sbuf parsing; /* ParsingError text being built */
};

static void
pyerr_line(struct sbuf *b, const char *ls, const char *le, bool nl)
{
	struct sbuf t = SBUF_INIT;

	sbuf_add(&t, ls, (size_t)(le - ls));
	if (nl)
		sbuf_addch(&t, '\n');
	py_repr(b, sbuf_str(&t), t.len);
	sbuf_cleanup(&t);
}

/* Remembers that section name has a syntax error. */
static void
mark_bad(struct ini_file *f, const char *name)
{
	for (size_t i = 0; i < f->nbad; i++)
		if (strcmp(f->bad[i], name) == 0)
			return;
	f->bad = xreallocarray(f->bad, f->nbad + 1, sizeof(*f->bad));
	f->bad[f->nbad++] = xstrdup(name);
}

static struct ini_section *
add_section(struct ini_file *f, const char *name, size_t n, int line)
{
	struct ini_section *s;

	xgrow(&f->secs, &f->cap, f->nsecs + 1, sizeof(*f->secs));
	s = &f->secs[f->nsecs++];
	memset(s, 0, sizeof(*s));
	s->name = xmemdup(name, n);
	s->line = line;
	return s;
}

static struct ini_section *
find_section_n(struct ini_file *f, const char *name, size_t n)
{
	for (size_t i = 0; i < f->nsecs; i++)
		if (strlen(f->secs[i].name) == n &&
		    memcmp(f->secs[i].name, name, n) == 0)
			return &f->secs[i];
	return NULL;
}

/* Index of key in s, or -1. */
static long
find_opt_idx(const struct ini_section *s, const char *key)
{
	for (size_t i = 0; i < s->nopts; i++)
		if (strcmp(s->opts[i].key, key) == 0)
			return (long)i;
	return -1;
}

/* Number of characters (code points) in [p, q). */
static size_t
count_chars(const char *p, const char *q)
{
	size_t n = 0;

	while (p < q) {
		p += char_len(p, q);
		n++;
	}
	return n;
}

enum ini_status
ini_parse(const char *path, const char *buf, size_t len, size_t max_line,
    struct ini_file **out, struct diags *d)
{
	struct ini_file *f;
	struct ini_section *cursect = NULL;
	long optidx = -1; /* option being continued in cursect, or -1 */
	size_t indent_level = 0;
	struct pending pv = {SBUF_INIT, NULL, 0, 0};
	bool syntax = false;
	const char *p = buf, *end = buf + len;
	int lineno = 0;
	struct pyerr pe = {SBUF_INIT, SBUF_INIT};

	*out = NULL;
	if (memchr(buf, '\0', len) != NULL) {
		diag_add(d, DIAG_ERROR, path, 0, "file contains a NUL byte");
		return INI_BADFILE;
	}
	if (!ini_utf8_valid(buf, len)) {
		diag_add(d, DIAG_ERROR, path, 0, "file is not valid UTF-8");
		return INI_BADFILE;
	}
	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->defaults.name = xstrdup("DEFAULT");

	while (p < end) {
		const char *ls = p, *le, *nl;
		const char *cstart = NULL, *vb, *ve, *q;
		size_t cur_indent;

		/* Universal newlines: \n, \r\n and \r end a line. */
		nl = p;
		while (nl < end && *nl != '\n' && *nl != '\r')
			nl++;
		le = nl;
		if (nl < end && *nl == '\r' && nl + 1 < end && nl[1] == '\n')
			p = nl + 2;
		else if (nl < end)
			p = nl + 1;
		else
			p = nl;
		lineno++;
		bool had_nl = le < end;
		if (max_line > 0 && (size_t)(le - ls) > max_line) {
			diag_add(d, DIAG_ERROR, path, lineno,
			    "line too long (%zu bytes, limit %zu)",
			    (size_t)(le - ls), max_line);
			syntax = true;
			continue;
		}

		/* Inline comment: the first ';' at the start or after
		 * whitespace. */
		for (q = ls; q < le; q++) {
			if (*q == ';' && (q == ls || prev_is_space(ls, q))) {
				cstart = q;
				break;
			}
		}
		/* Full-line comment. */
		ini_strip(ls, (size_t)(le - ls), &vb, &ve);
		if (vb < ve && (*vb == '#' || *vb == ';'))
			cstart = ls;
		ini_strip(ls, (size_t)((cstart ? cstart : le) - ls), &vb, &ve);
		if (vb == ve) {
			/* Empty lines belong to the value being read, but
			 * lines holding only a comment do not. */
			if (cstart == NULL && cursect != NULL && optidx >= 0)
				pending_add(&pv, "", 0, lineno);
			continue;
		}
		cur_indent = count_chars(ls, vb);
		if (cursect != NULL && optidx >= 0 &&
		    cur_indent > indent_level) {
			pending_add(&pv, vb, (size_t)(ve - vb), lineno);
			continue;
		}
		/* Not a continuation. The value being read ends here unless
		 * this line is unparsable: configparser then keeps the
		 * current option, so deeper lines still continue it. */
		indent_level = cur_indent;

		/* A section header: '[' ... the last ']' with something in
		 * between; text after that ']' is ignored (as Python). */
		if (*vb == '[') {
			const char *rb = NULL;

			for (q = vb + 1; q < ve; q++)
				if (*q == ']')
					rb = q;
			if (rb != NULL && rb > vb + 1) {
				const char *name = vb + 1;
				size_t n = (size_t)(rb - name);
				struct ini_section *s;

				pending_flush(&pv,
				    optidx >= 0 ? &cursect->opts[optidx]
				                : NULL);
				optidx = -1;

				if (n == 7 && memcmp(name, "DEFAULT", 7) == 0) {
					cursect = &f->defaults;
					if (cursect->line == 0)
						cursect->line = lineno;
					continue;
				}
				s = find_section_n(f, name, n);
				if (s != NULL) {
					diag_add(d, DIAG_ERROR, path, lineno,
					    "duplicate section '%.*s' (first "
					    "at line %d)",
					    (int)n, name, s->line);
					syntax = true;
					cursect = s;
					mark_bad(f, s->name);
					if (pe.now.len == 0) {
						sbuf_addstr(&pe.now,
						    "While reading from ");
						py_repr(&pe.now, path,
						    strlen(path));
						sbuf_printf(&pe.now,
						    " [line %2d]: section ",
						    lineno);
						py_repr(&pe.now, name, n);
						sbuf_addstr(
						    &pe.now, " already exists");
					}
					continue;
				}
				cursect = add_section(f, name, n, lineno);
				continue;
			}
		}
		if (cursect == NULL) {
			diag_add(d, DIAG_ERROR, path, lineno,
			    "no section header before this line");
			syntax = true;
			if (pe.now.len == 0) {
				sbuf_addstr(&pe.now,
				    "File contains no section "
				    "headers.\nfile: ");
				py_repr(&pe.now, path, strlen(path));
				sbuf_printf(&pe.now, ", line: %d\n", lineno);
				pyerr_line(&pe.now, ls, le, had_nl);
			}
			continue;
		}
		/* An option: key up to the first '=' or ':'. */
		{
			const char *delim = NULL, *kb = vb, *ke, *xb, *xe;
			char *key;
			long idx;

			for (q = vb; q < ve; q++)
				if (*q == '=' || *q == ':') {
					delim = q;
					break;
				}
			if (delim == NULL) {
				size_t show = (size_t)(ve - vb) > 60
				    ? 60
				    : (size_t)(ve - vb);

				/* Cut on a character boundary. */
				while (show > 0 && show < (size_t)(ve - vb) &&
				    ((unsigned char)vb[show] & 0xc0) == 0x80)
					show--;
				diag_add(d, DIAG_ERROR, path, lineno,
				    "expected 'name = value' or '[section]', "
				    "got '%.*s'",
				    (int)show, vb);
				syntax = true;
				mark_bad(f, cursect->name);
				if (pe.parsing.len == 0) {
					sbuf_addstr(&pe.parsing,
					    "Source contains parsing errors: ");
					py_repr(
					    &pe.parsing, path, strlen(path));
				}
				sbuf_printf(
				    &pe.parsing, "\n\t[line %2d]: ", lineno);
				pyerr_line(&pe.parsing, ls, le, had_nl);
				continue;
			}
			ini_strip(kb, (size_t)(delim - kb), &kb, &ke);
			pending_flush(
			    &pv, optidx >= 0 ? &cursect->opts[optidx] : NULL);
			optidx = -1;
			if (kb == ke) {
				diag_add(d, DIAG_ERROR, path, lineno,
				    "option without a name");
				syntax = true;
				mark_bad(f, cursect->name);
				if (pe.parsing.len == 0) {
					sbuf_addstr(&pe.parsing,
					    "Source contains parsing errors: ");
					py_repr(
					    &pe.parsing, path, strlen(path));
				}
				sbuf_printf(
				    &pe.parsing, "\n\t[line %2d]: ", lineno);
				pyerr_line(&pe.parsing, ls, le, had_nl);
				continue;
			}
			key = xmemdup(kb, (size_t)(ke - kb));
			for (char *c = key; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
			idx = find_opt_idx(cursect, key);
			if (idx >= 0) {
				diag_add(d, DIAG_ERROR, path, lineno,
				    "duplicate option '%s' in section '%s' "
				    "(first at line %d)",
				    key, cursect->name,
				    cursect->opts[idx].line);
				syntax = true;
				free(key);
				cursect->opts[idx].line = lineno;
				mark_bad(f, cursect->name);
				if (pe.now.len == 0) {
					sbuf_addstr(
					    &pe.now, "While reading from ");
					py_repr(&pe.now, path, strlen(path));
					sbuf_printf(&pe.now,
					    " [line %2d]: option ", lineno);
					py_repr(&pe.now, cursect->opts[idx].key,
					    strlen(cursect->opts[idx].key));
					sbuf_addstr(&pe.now, " in section ");
					py_repr(&pe.now, cursect->name,
					    strlen(cursect->name));
					sbuf_addstr(&pe.now, " already exists");
				}
			} else {
				struct ini_opt *o;

				xgrow(&cursect->opts, &cursect->cap,
				    cursect->nopts + 1, sizeof(*cursect->opts));
				o = &cursect->opts[cursect->nopts];
				memset(o, 0, sizeof(*o));
				o->key = key;
				o->line = lineno;
				idx = (long)cursect->nopts++;
			}
			ini_strip(
			    delim + 1, (size_t)(ve - delim - 1), &xb, &xe);
			pending_add(&pv, xb, (size_t)(xe - xb), lineno);
			optidx = idx;
		}
	}
	pending_flush(
	    &pv, optidx >= 0 && cursect ? &cursect->opts[optidx] : NULL);
	sbuf_cleanup(&pv.text);
	if (pe.now.len)
		f->pyerr = sbuf_detach(&pe.now);
	else if (pe.parsing.len)
		f->pyerr = sbuf_detach(&pe.parsing);
	sbuf_cleanup(&pe.now);
	sbuf_cleanup(&pe.parsing);
	*out = f;
	return syntax ? INI_SYNTAX : INI_OK;
}

enum ini_status
ini_load(const char *path, size_t max_size, size_t max_line,
    struct ini_file **out, struct diags *d)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd;
	enum ini_status rc;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return INI_UNREADABLE;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return INI_UNREADABLE;
	}
	if (max_size > 0 && (size_t)st.st_size > max_size) {
		close(fd);
		diag_add(d, DIAG_ERROR, path, 0,
		    "file too large (%lld bytes, limit %zu)",
		    (long long)st.st_size, max_size);
		return INI_BADFILE;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t r;

		if (len == (size_t)st.st_size + 1) {
			/* Grew while reading: over what we allowed for. */
			close(fd);
			free(buf);
			diag_add(d, DIAG_ERROR, path, 0,
			    "file changed while being read");
			return INI_BADFILE;
		}
		r = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			free(buf);
			return INI_UNREADABLE;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	rc = ini_parse(path, buf, len, max_line, out, d);
	free(buf);
	return rc;
}
