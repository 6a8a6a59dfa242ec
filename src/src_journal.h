/*
 * src_journal: reads the systemd journal inside the daemon's libuv loop,
 * the way fail2ban's systemd backend (FilterSystemd, spec 4.6) reads it:
 * backend parameters journalpath/journalfiles/journalflags/namespace
 * (plus 1.1's rotated), the jail's journalmatch, and each entry turned
 * into the syslog-shaped line fail2ban's formatJournalEntry builds
 * ("HOST IDENT[PID]: MESSAGE", time from _SOURCE_REALTIME_TIMESTAMP or
 * __REALTIME_TIMESTAMP, so no date detection is needed).
 *
 * One source is one sd_journal (a jail has its own matches and position).
 * Its inotify fd sits in a uv_poll_t, sd_journal_get_timeout() arms a
 * uv_timer_t, and every wake-up runs sd_journal_process() and then reads
 * entries up to a budget; the rest continues from a uv_idle_t, so a flood
 * never starves the loop. No thread, no child process.
 *
 * Position: a saved cursor resumes after that entry (never delivering it
 * again; if it was vacuumed, from the first entry after it); without one
 * the source starts at the tail, at the head, or at a wall-clock time.
 * The cursor of the last delivered entry is always available for the
 * database. A journal that does not exist yet, vanishes (all files
 * vacuumed), or cannot be read (corruption, I/O errors) is reported once
 * through the event callback and reopened every retry_ms, resuming from
 * that cursor; the source itself never gives up.
 *
 * Nothing here logs; nothing blocks except libsystemd's reads of local
 * journal files (mmap).
 */
#ifndef WARDEN_SRC_JOURNAL_H
#define WARDEN_SRC_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "strv.h"

struct conf_kvlist;
struct diags;
struct journalmatch;
struct sbuf;
struct src_journal;

#define SRC_JOURNAL_LINE_MAX_DEFAULT (64 * 1024) /* bytes per line */
#define SRC_JOURNAL_BUDGET_DEFAULT   256         /* entries per turn */
#define SRC_JOURNAL_BYTES_DEFAULT    (1u << 20)  /* bytes per turn */
#define SRC_JOURNAL_RETRY_MS_DEFAULT 5000        /* ms */
#define SRC_JOURNAL_MAX_FILES        4096 /* journalfiles after globbing */
#define SRC_JOURNAL_CURSOR_MAX       1024 /* bytes of a saved cursor */

/* fail2ban's default journalflags without path/files (SYSTEM_ONLY). */
#define SRC_JOURNAL_FLAGS_DEFAULT 4

enum src_journal_start {
	SRC_JOURNAL_START_TAIL,  /* only entries added after the open (if
	                            the journal is missing at first: those
	                            dated from src_journal_new on) */
	SRC_JOURNAL_START_HEAD,  /* every entry in the journal */
	SRC_JOURNAL_START_SINCE, /* entries at or after since (wall clock) */
};

/*
 * The backend parameters (`backend = systemd[k=v, ...]`, or `warden
 * regex`'s `systemd-journal[k=v, ...]`), as fail2ban 1.0.2 reads them,
 * plus two of ours. All strings owned.
 */
struct src_journal_params {
	char *path;        /* journalpath: a directory, or NULL */
	struct strv files; /* journalfiles after splitting (comma, space,
	                      newline) and globbing; duplicates dropped */
	struct strv globs; /* journalfiles as written (for re-globbing) */
	bool files_given;  /* journalfiles was set (even if nothing
	                      matched) */
	bool has_flags;    /* journalflags was set */
	int flags;         /* sd_journal_open flags (SD_JOURNAL_*) */
	char *ns;          /* namespace, or NULL */
	int rotated;       /* rotated=: -1 unset (all files, 1.0.2), 0
	                      only the active system/user files, 1 all */
	/* Warden's own: `journalstart=tail|head|findtime|<time expr>`
	 * (default tail) for a start without a saved cursor. "findtime" is
	 * fail2ban 1.0.2's now - findtime; a time expression ("1h") means
	 * that long ago. */
	enum src_journal_start start;
	bool start_findtime; /* start = SINCE, at now - findtime */
	double start_ago;    /* start = SINCE and !start_findtime: seconds */
	/* Warden's own: `journalpoll=off|MS`: the latency-polling interval
	 * while entries flow (see src_journal_opts.poll_ms); 0 unset, -1
	 * off. */
	int poll_ms;
};

void src_journal_params_init(struct src_journal_params *p);
void src_journal_params_cleanup(struct src_journal_params *p);

/*
 * Sets one parameter (key as fail2ban spells it). journalfiles are
 * globbed now. Unknown keys and bad values are errors in d (with
 * file:line, file may be NULL); returns 0 or -1.
 */
int src_journal_params_set(struct src_journal_params *p, const char *key,
    const char *value, const char *file, int line, struct diags *d);

/* Every entry of a jail's backend_params (struct conf_jail). */
int src_journal_params_from_kv(struct src_journal_params *p,
    const struct conf_kvlist *kv, const char *file, int line, struct diags *d);

/*
 * Parses "NAME[k=v, k2='v 2', ...]" (fail2ban's extractOptions) where NAME
 * must be "systemd" or "systemd-journal"; fills p. Returns 0 or -1 with d.
 */
int src_journal_params_parse(
    struct src_journal_params *p, const char *spec, struct diags *d);

/*
 * The fields formatJournalEntry reads, as raw bytes (not NUL-terminated;
 * NULL when absent). A field that occurs more than once: the first value,
 * except MESSAGE whose values are joined by one space (python-systemd
 * gives a list and fail2ban joins it).
 */
struct src_journal_fields {
	const char *hostname, *ident, *comm, *syslog_pid, *pid;
	size_t hostname_len, ident_len, comm_len, syslog_pid_len, pid_len;
	const char *const *message; /* values of MESSAGE */
	const size_t *message_len;
	size_t nmessage;
	const char *src_realtime, *src_monotonic; /* decimal usec text */
	size_t src_realtime_len, src_monotonic_len;
	uint64_t realtime_usec;  /* __REALTIME_TIMESTAMP; the follower reads
	                            it only when src_realtime is not a valid
	                            time (0 otherwise) */
	uint64_t monotonic_usec; /* __MONOTONIC_TIMESTAMP */
};

/*
 * Builds the line as fail2ban's formatJournalEntry: "[HOST ]IDENT[PID]:
 * MESSAGE" with IDENT = SYSLOG_IDENTIFIER or _COMM, PID = SYSLOG_PID or
 * _PID as Python prints them, "[%12.6f]" monotonic seconds after
 * "kernel:", and '\n' written as the two characters "\n". Appends at most
 * line_max bytes to out (0: no cap); returns true when it had to cut.
 * Pure; the unit tests and the fuzz harness call it directly.
 */
bool src_journal_format_line(
    const struct src_journal_fields *f, size_t line_max, struct sbuf *out);

/*
 * The entry's time in epoch microseconds: _SOURCE_REALTIME_TIMESTAMP when
 * it is a valid integer, else __REALTIME_TIMESTAMP.
 */
uint64_t src_journal_entry_usec(const struct src_journal_fields *f);

/*
 * fail2ban's date text of an entry: Python's isoformat() of the local
 * time with its UTC offset, then a space ("2026-11-21T05:51:54.123456+00:00
 * "; no fraction when it is zero). buf must hold 40 bytes.
 */
char *src_journal_date_text(uint64_t usec, char *buf, size_t n);

/* One entry, borrowed for the duration of the callback. */
struct src_journal_entry {
	const char *line; /* the formatted line, NUL-terminated */
	size_t len;       /* bytes in line */
	const char *date; /* src_journal_date_text() of usec */
	double time;      /* epoch seconds (usec / 1e6) */
	uint64_t usec;    /* epoch microseconds */
	bool truncated;   /* the line was cut at line_max */
	const struct src_journal_fields *fields; /* raw fields */
};

enum src_journal_event_kind {
	SRC_JOURNAL_EV_OPENED,      /* the journal is open; message says
	                               where reading starts */
	SRC_JOURNAL_EV_MISSING,     /* no journal (path or files absent,
	                               no journal file at all): retried every
	                               retry_ms; once until it is back */
	SRC_JOURNAL_EV_CURSOR_LOST, /* the saved cursor is malformed, or its
	                               entry is gone: message says where
	                               reading starts instead */
	SRC_JOURNAL_EV_ROTATED,     /* journal files were added or removed
	                               (rotation, vacuum; INVALIDATE) */
	SRC_JOURNAL_EV_CAUGHT_UP,   /* first time at the end of the journal
	                               (fail2ban's "in operation") */
	SRC_JOURNAL_EV_LINE_CAPPED, /* a line was cut at line_max; count =
	                               such lines so far */
	SRC_JOURNAL_EV_ERROR,       /* open/read failed (err = errno): the
	                               journal is reopened after retry_ms and
	                               reading resumes after the last cursor;
	                               once per cause until it recovers */
	SRC_JOURNAL_EV_RECOVERED,   /* reading works again after MISSING or
	                               ERROR */
};

struct src_journal_event {
	enum src_journal_event_kind kind;
	const char *message; /* one line, human-readable */
	int err;             /* ERROR: errno; else 0 */
	uint64_t count;      /* LINE_CAPPED */
};

/*
 * A consumer's callbacks, called only from the loop (event() also from
 * src_journal_new for what it finds at once). A callback may call
 * src_journal_free() on its own source: nothing more is delivered and the
 * memory goes when the loop closes the handles.
 */
struct src_journal_cbs {
	void (*entry)(void *arg, const struct src_journal_entry *e);
	void (*event)(void *arg, const struct src_journal_event *ev);
	void *arg;
};

struct src_journal_opts {
	const struct src_journal_params *params; /* borrowed for the call */
	const struct journalmatch *match; /* borrowed for the call; NULL or
	                                     empty: every entry */
	const char *cursor;           /* resume after it; NULL or "": none */
	enum src_journal_start start; /* without a usable cursor */
	double since;                 /* START_SINCE: epoch seconds */
	size_t line_max;              /* 0: SRC_JOURNAL_LINE_MAX_DEFAULT */
	size_t budget;                /* entries per loop turn; 0: default */
	size_t max_bytes;             /* line bytes per loop turn; 0: default */
	uint32_t retry_ms;            /* reopen interval; 0: default */
	/* Besides inotify (which journald only triggers every 250-500 ms),
	 * look for new entries every poll_ms while entries flow, doubling
	 * up to 250 ms after 60 s without one: 0 = 1 ms, < 0 = inotify
	 * only. The params' journalpoll, when set, wins. */
	int poll_ms;
	struct src_journal_cbs cb;
};

/*
 * Opens the journal on loop (borrowed; must outlive the source) and
 * starts following it. A journal that cannot be opened is not an error:
 * EV_MISSING or EV_ERROR is reported and it is retried. Returns a new
 * source; NULL only for bad opts (journalmatch refused by libsystemd)
 * with the reason in d.
 */
struct src_journal *src_journal_new(
    uv_loop_t *loop, const struct src_journal_opts *opts, struct diags *d);

/*
 * Stops and frees: the journal is closed before it returns, no callback
 * runs after; libuv handles close asynchronously (run the loop once more
 * before uv_loop_close). NULL is a no-op.
 */
void src_journal_free(struct src_journal *sj);

/*
 * The cursor of the last delivered entry (or the saved cursor given at
 * start, until an entry is delivered; "" when neither). Borrowed: valid
 * until the next callback or free. This is what the database keeps.
 */
const char *src_journal_cursor(const struct src_journal *sj);

/*
 * The cursor of the entry being delivered, for use inside entry():
 * returns a new string, or NULL on error.
 */
char *src_journal_entry_cursor(struct src_journal *sj);

/*
 * Installs (once per process) the SIGBUS handler that keeps a journal
 * file shrinking under the reader from killing the process: the faulting
 * page is replaced by zeros, the read fails, and every source reopens at
 * its cursor (an EV_ERROR). src_journal_new() calls it; a daemon that
 * installs its own SIGBUS handler must not. The count is for tests.
 */
void src_journal_sigbus_install(void);
unsigned long src_journal_sigbus_count(void);

struct src_journal_stats {
	uint64_t entries; /* delivered */
	uint64_t capped;  /* lines cut at line_max */
	uint64_t errors;  /* read errors (entries skipped, reopen) */
	uint64_t opens;   /* successful opens (1 + reopens) */
	bool open;        /* the journal is open now */
	bool caught_up;   /* reached the end at least once */
};
void src_journal_get_stats(
    const struct src_journal *sj, struct src_journal_stats *st);

#endif
