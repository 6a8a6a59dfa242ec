/*
 * regex_journal: the journal as `warden regex`'s LOG argument, the way
 * fail2ban-regex reads `systemd-journal[params]`: open the journal with
 * the backend parameters, apply the journalmatch (the filter's, or -m's),
 * and hand every entry from the head to the end, formatted as the systemd
 * backend formats it, to a callback. It does no matching and no printing:
 * cmd_regex feeds each entry to filter_process_entry() and prints.
 *
 * Blocking: runs its own private libuv loop until the end of the journal
 * is reached (entries appended meanwhile may or may not be included).
 */
#ifndef WARDEN_REGEX_JOURNAL_H
#define WARDEN_REGEX_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "src_journal.h"

struct diags;
struct journalmatch;

/* True when log names the journal: it starts with "systemd-journal". */
bool regex_journal_is_spec(const char *log);

struct regex_journal_opts {
	const char *spec;                 /* "systemd-journal[k=v,...]" */
	const struct journalmatch *match; /* NULL or empty: every entry */
	size_t line_max;                  /* 0: SRC_JOURNAL_LINE_MAX_DEFAULT */
	/* Each entry in journal order: e->date is fail2ban's date text,
	 * e->line the message line; feed them to filter_process_entry(f,
	 * e->date, e->line, e->len, e->time, now, &res). The printed line
	 * of fail2ban-regex is e->date followed by e->line. */
	void (*entry)(void *arg, const struct src_journal_entry *e);
	void *arg;
};

/*
 * Reads the journal. Returns the number of entries delivered, or -1 with
 * the reason in d: bad parameters, a journal that does not exist or has no
 * file ("Opening the journal failed" in fail2ban's words, with the path),
 * a journalmatch libsystemd refuses, or a read error.
 */
long regex_journal_read(const struct regex_journal_opts *o, struct diags *d);

#endif
