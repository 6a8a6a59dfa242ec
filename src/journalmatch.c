/*
 * journalmatch: parsing and formatting of fail2ban's journalmatch lines
 * and their installation on an sd_journal (see journalmatch.h). The
 * shell-word splitter is our own small port of Python's shlex in POSIX
 * mode, which is what fail2ban's config reader uses.
 */
#include "journalmatch.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "dl_systemd.h"
#include "sbuf.h"
#include "xmalloc.h"

void
journalmatch_init(struct journalmatch *m)
{
	m->groups = NULL;
	m->n = 0;
}

void
journalmatch_cleanup(struct journalmatch *m)
{
	for (size_t i = 0; i < m->n; i++)
		strv_cleanup(&m->groups[i]);
	free(m->groups);
	journalmatch_init(m);
}

void
journalmatch_copy(struct journalmatch *dst, const struct journalmatch *src)
{
	dst->groups = src->n ? xcalloc(src->n, sizeof(*dst->groups)) : NULL;
	for (size_t i = 0; i < src->n; i++)
		strv_copy(&dst->groups[i], &src->groups[i]);
	dst->n = src->n;
}

bool
journalmatch_empty(const struct journalmatch *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->groups[i].n > 0)
			return false;
	return true;
}

static size_t
term_count(const struct journalmatch *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->groups[i].n;
	return n;
}

bool
journalmatch_term_valid(const char *term, size_t len)
{
	/* libsystemd's match_is_valid(): at least "X=", no "__" fields */
	if (len < 2 || (term[0] == '_' && term[1] == '_'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = term[i];

		if (c == '=')
			return i > 0;
		if (c == '_' || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		return false;
	}
	return false;
}

int
journalmatch_shlex(const char *s, struct strv *out, const char **err)
{
	struct sbuf w = SBUF_INIT;
	bool in_word = false;
	int rc = -1;

	for (const char *p = s;; p++) {
		char c = *p;

		if (c == '\0' || c == ' ' || c == '\t' || c == '\n' ||
		    c == '\r') {
			if (in_word) {
				strv_add(out, sbuf_str(&w));
				sbuf_reset(&w);
				in_word = false;
			}
			if (c == '\0')
				break;
			continue;
		}
		in_word = true;
		if (c == '\\') {
			if (p[1] == '\0') {
				*err = "No escaped character";
				goto out;
			}
			sbuf_addch(&w, *++p);
		} else if (c == '\'') {
			const char *e = strchr(p + 1, '\'');

			if (e == NULL) {
				*err = "No closing quotation";
				goto out;
			}
			sbuf_add(&w, p + 1, (size_t)(e - p - 1));
			p = e;
		} else if (c == '"') {
			for (p++;; p++) {
				if (*p == '\0') {
					*err = "No closing quotation";
					goto out;
				}
				if (*p == '"')
					break;
				/* inside double quotes a backslash only
				 * escapes a quote or a backslash */
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				sbuf_addch(&w, *p);
			}
		} else {
			sbuf_addch(&w, c);
		}
	}
	rc = 0;
out:
	sbuf_cleanup(&w);
	return rc;
}

/* Appends words as groups to m after checking every term and the caps. */
static int
add_words(struct journalmatch *m, char *const *words, size_t n,
    const char *file, int lineno, struct diags *d)
{
	size_t ngroups = 1, nterms = term_count(m);

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(words[i]);

		if (strcmp(words[i], "+") == 0) {
			ngroups++;
			continue;
		}
		nterms++;
		if (len > JOURNALMATCH_MAX_TERM) {
			diag_add(d, DIAG_ERROR, file, lineno,
			    "journalmatch: term longer than %d bytes",
			    JOURNALMATCH_MAX_TERM);
			return -1;
		}
		if (!journalmatch_term_valid(words[i], len)) {
			diag_add(d, DIAG_ERROR, file, lineno,
			    "journalmatch: invalid match '%.200s' (expected "
			    "FIELD=value, FIELD of A-Z, 0-9 and _, not "
			    "starting with __)",
			    words[i]);
			return -1;
		}
	}
	if (n == 0)
		return 0;
	if (m->n + ngroups > JOURNALMATCH_MAX_GROUPS ||
	    nterms > JOURNALMATCH_MAX_TERMS) {
		diag_add(d, DIAG_ERROR, file, lineno,
		    "journalmatch: more than %d groups or %d terms",
		    JOURNALMATCH_MAX_GROUPS, JOURNALMATCH_MAX_TERMS);
		return -1;
	}
	m->groups =
	    xreallocarray(m->groups, m->n + ngroups, sizeof(*m->groups));
	for (size_t g = 0; g < ngroups; g++)
		strv_init(&m->groups[m->n + g]);
	for (size_t i = 0, g = m->n; i < n; i++) {
		if (strcmp(words[i], "+") == 0)
			g++;
		else
			strv_add(&m->groups[g], words[i]);
	}
	m->n += ngroups;
	return 0;
}

int
journalmatch_add_words(
    struct journalmatch *m, char *const *words, size_t n, struct diags *d)
{
	return add_words(m, words, n, NULL, 0, d);
}

int
journalmatch_add_line(struct journalmatch *m, const char *line,
    const char *file, int lineno, struct diags *d)
{
	struct strv w = STRV_INIT;
	const char *err = NULL;
	int rc;

	if (journalmatch_shlex(line, &w, &err) != 0) {
		diag_add(d, DIAG_ERROR, file, lineno,
		    "journalmatch: %s in '%.200s'", err, line);
		strv_cleanup(&w);
		return -1;
	}
	rc = add_words(m, w.v, w.n, file, lineno, d);
	strv_cleanup(&w);
	return rc;
}

int
journalmatch_add_lines(struct journalmatch *m, const struct strv *lines,
    const char *file, int lineno, struct diags *d)
{
	for (size_t i = 0; i < lines->n; i++)
		if (journalmatch_add_line(m, lines->v[i], file, lineno, d) != 0)
			return -1;
	return 0;
}

void
journalmatch_format(const struct journalmatch *m, struct sbuf *out)
{
	for (size_t g = 0; g < m->n; g++) {
		if (g > 0)
			sbuf_addstr(out, " + ");
		for (size_t i = 0; i < m->groups[g].n; i++) {
			if (i > 0)
				sbuf_addch(out, ' ');
			sbuf_addstr(out, m->groups[g].v[i]);
		}
	}
}

int
journalmatch_apply(const struct journalmatch *m, sd_journal *j)
{
	int r;

	dl_sd_journal_flush_matches(j);
	for (size_t g = 0; g < m->n; g++) {
		for (size_t i = 0; i < m->groups[g].n; i++) {
			const char *t = m->groups[g].v[i];

			r = dl_sd_journal_add_match(j, t, strlen(t));
			if (r < 0)
				goto fail;
		}
		r = dl_sd_journal_add_disjunction(j);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	dl_sd_journal_flush_matches(j);
	return r;
}
