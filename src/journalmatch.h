/*
 * journalmatch: the journal filter of a jail or of `warden regex`, read as
 * fail2ban 1.0.2 reads it (spec 2.9, FilterSystemd.addJournalMatch): each
 * configured line is shell-split (POSIX shlex), a word "+" starts a new
 * group, the words of a group are ANDed (sd-journal ORs terms of the same
 * field), and the groups of every line are ORed.
 *
 * Pure data and parsing: no journal is opened here; journalmatch_apply()
 * hands the terms to an sd_journal. Caps bound what a line can create.
 */
#ifndef WARDEN_JOURNALMATCH_H
#define WARDEN_JOURNALMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-journal.h>

#include "strv.h"

struct diags;
struct sbuf;

#define JOURNALMATCH_MAX_GROUPS 256  /* groups over all lines */
#define JOURNALMATCH_MAX_TERMS  256  /* terms over all groups */
#define JOURNALMATCH_MAX_TERM   4096 /* bytes of one term */

/*
 * The groups in order; groups[i] holds its terms ("FIELD=value") in
 * order. A group may be empty ("a + + b" has an empty middle group): it
 * shows in the status text as fail2ban shows it and matches nothing by
 * itself (sd-journal ignores an empty disjunction).
 */
struct journalmatch {
	struct strv *groups; /* owned; n entries */
	size_t n;
};

#define JOURNALMATCH_INIT                                                      \
	{                                                                      \
		NULL, 0                                                        \
	}

void journalmatch_init(struct journalmatch *m);
void journalmatch_cleanup(struct journalmatch *m);
/* Deep copy into an initialised, empty dst. */
void journalmatch_copy(
    struct journalmatch *dst, const struct journalmatch *src);
/* True when no term is set (the jail reads every entry). */
bool journalmatch_empty(const struct journalmatch *m);

/*
 * True when term is a match sd_journal_add_match() accepts: "FIELD=value"
 * with FIELD non-empty, of A-Z 0-9 _ only, not starting with "__".
 */
bool journalmatch_term_valid(const char *term, size_t len);

/*
 * Adds one configured line (fail2ban's `journalmatch` option has one per
 * line; `-m` of `warden regex` is one line): shell words, "+" between
 * groups. An empty or blank line adds nothing. Errors (unbalanced quote,
 * an invalid term, a cap) go to d with file:line (file may be NULL) and
 * leave m unchanged; returns 0 or -1.
 */
int journalmatch_add_line(struct journalmatch *m, const char *line,
    const char *file, int lineno, struct diags *d);

/*
 * Adds already split words (fail2ban's `set JAIL addjournalmatch W...`):
 * the same as a line made of them. Returns 0 or -1 with d.
 */
int journalmatch_add_words(
    struct journalmatch *m, char *const *words, size_t n, struct diags *d);

/*
 * Adds every line of a filter's journalmatch (struct filterdef keeps one
 * string per non-empty line). Stops at the first bad line: returns -1
 * with d (m then holds the lines before it).
 */
int journalmatch_add_lines(struct journalmatch *m, const struct strv *lines,
    const char *file, int lineno, struct diags *d);

/*
 * Appends the status text: the words of each group joined by " ", the
 * groups joined by " + " (fail2ban's "Journal matches" value).
 */
void journalmatch_format(const struct journalmatch *m, struct sbuf *out);

/*
 * Installs m on j (sd_journal_add_match per term, add_disjunction after
 * each group), after flushing j's matches. Returns 0, or a negative errno
 * from libsystemd (then j has no matches).
 */
int journalmatch_apply(const struct journalmatch *m, sd_journal *j);

/*
 * Python's shlex.split(s) in POSIX mode without comments: appends the
 * words to out. Returns 0, or -1 with a static message in *err ("No
 * closing quotation", "No escaped character").
 */
int journalmatch_shlex(const char *s, struct strv *out, const char **err);

#endif
