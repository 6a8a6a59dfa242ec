/*
 * The daemon's log, in fail2ban.log's exact format so that tools reading
 * fail2ban's log (its stock `recidive` filter above all) read Warden's:
 *
 *   2026-11-21 05:24:25,882 fail2ban.actions        [25178]: NOTICE  [sshd] Ban
 * 192.0.2.10
 *
 * i.e. Python's "%(asctime)s %(name)-24s[%(process)d]: %(levelname)-7s
 * %(message)s" with local time and milliseconds. Logger names are
 * fail2ban's ("fail2ban.actions", "fail2ban.filter", ...), levels are
 * fail2ban's (with NOTICE, MSG, TRACE, HEAVY). Targets: a file (appended,
 * reopened for logrotate), STDOUT, STDERR, SYSOUT (stdout without time),
 * SYSLOG (one datagram per record to /dev/log or a configured socket) and
 * SYSTEMD-JOURNAL.
 *
 * The logger's settings are the one piece of process-wide state in Warden
 * (see daemon-design.md). Before wlog_set_target() records go to stderr at
 * level INFO.
 *
 * Every message is made safe before it is written: control characters
 * (C0, DEL, C1), and bytes that are not valid UTF-8, are escaped ("\n",
 * "\t", "\r", "\xHH", "\u009b"), and a message is cut at WLOG_MAX_MSG
 * bytes, so no log line or client text can forge a second log line or
 * send escape sequences to a terminal. Backslashes are kept as they are.
 *
 * Blocking: a record is written with one write(2) (file: O_APPEND, local,
 * one line of at most ~8 KiB; inside a batch several lines go in one
 * write, see wlog_batch_begin) or one non-blocking send (syslog: a record
 * that finds the socket full is dropped and counted). STDOUT/STDERR may
 * block if they are a pipe whose reader stalls, and sd_journal_send()
 * may wait briefly if journald is congested; run the daemon with a file,
 * SYSLOG or the journal to keep the loop free of that.
 */
#ifndef WARDEN_LOG_H
#define WARDEN_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "sbuf.h"

/* fail2ban's (Python logging's) numeric levels. */
enum wlog_level {
	WLOG_NOTSET = 0,
	WLOG_HEAVYDEBUG = 5, /* printed as "HEAVY" */
	WLOG_TRACEDEBUG = 7, /* printed as "TRACE" */
	WLOG_DEBUG = 10,
	WLOG_MSG = 18,
	WLOG_INFO = 20,
	WLOG_NOTICE = 25,
	WLOG_WARNING = 30,
	WLOG_ERROR = 40,
	WLOG_CRITICAL = 50,
};

#define WLOG_MAX_MSG       8192 /* bytes of escaped message per record */
#define WLOG_LEVEL_NAMELEN 16   /* buffer for wlog_level_name() */
#define WLOG_TIMESTRLEN    32   /* buffer for wlog_time2str() */

/*
 * fail2ban's str2LogLevel: a decimal number ("17", "07"; no sign, no
 * spaces) or a level name in any case ("info", "NOTICE", "warn", "fatal",
 * "traceDebug", "HeavyDebug", "msg", "notset"). Returns 0 with *level,
 * or -1 ("trace", "heavy", " 7", "-1" are invalid, as in fail2ban).
 */
int wlog_level_parse(const char *s, int *level);

/*
 * The name a record prints: "NOTICE", "TRACE", "HEAVY", "#17-Lev." for
 * unnamed levels below 50, "Level 51" above. buf holds WLOG_LEVEL_NAMELEN
 * bytes; returns the name (buf or a constant).
 */
const char *wlog_level_name(int level, char *buf);

/* Records below level are dropped. Default WLOG_INFO. */
void wlog_set_level(int level);
int wlog_get_level(void);
bool wlog_enabled(int level);

/*
 * Switches the target (fail2ban's setLogTarget): "STDOUT", "STDERR",
 * "SYSOUT", "SYSLOG", "SYSTEMD-JOURNAL" (any case), else a file path,
 * optionally followed by options "[facility=AUTH, padding=1, datetime=0]".
 * syslogsocket (for SYSLOG; NULL or "auto" = /dev/log) must exist and be
 * a socket. A file is created (0640) if missing and appended to. The new
 * target is opened before the old one is closed: on failure (-1, reason
 * in err: "Unable to log to '/x'", "Syslog socket file: /x does not
 * exists or is not a socket") the previous target stays. Setting the
 * current target again is a no-op returning 0.
 */
int wlog_set_target(
    const char *target, const char *syslogsocket, char *err, size_t errlen);

/* The current target's name without options ("SYSLOG", "/var/log/x"). */
const char *wlog_get_target(void);

/*
 * For logrotate (SIGUSR1, `flushlogs`): a file target is closed and
 * opened again by name, returning 1 ("logs: rolled over"); other targets
 * are flushed (the syslog socket reconnected), returning 0 ("logs:
 * flushed"). -1 when the file could not be reopened; the old descriptor
 * then stays in use.
 */
int wlog_reopen(void);

/* Closes the target and returns to stderr at level INFO (tests, exit). */
void wlog_reset(void);

/*
 * Logs one record from logger (e.g. "fail2ban.actions") if level is
 * enabled. The formatted message is escaped and capped (see above).
 */
void wlog(int level, const char *logger, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wlog_v(int level, const char *logger, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* wlog(level, logger, "%s", msg) for the n bytes of msg, without the
 * printf pass: for records formatted by hand on hot paths. */
void wlog_str(int level, const char *logger, const char *msg, size_t n);

/*
 * Batching for a burst of records (a source feeding a run of lines):
 * between wlog_batch_begin() and the matching wlog_batch_end() (they
 * nest), the lines for a file, STDOUT or STDERR target are collected and
 * written with one write(2) per WLOG_BATCH_BYTES and at the outermost
 * end, in order. SYSLOG and SYSTEMD-JOURNAL records are sent at once as
 * always. Call both from the same loop callback, so nothing is held while
 * the loop waits; changing or reopening the target writes the batch
 * first.
 */
#define WLOG_BATCH_BYTES (64 * 1024)
void wlog_batch_begin(void);
void wlog_batch_end(void);

/* Records written, and records lost (write or send failed) so far. */
unsigned long wlog_count_written(void);
unsigned long wlog_count_dropped(void);

/*
 * Appends n bytes of s to out with the escaping the logger applies:
 * valid UTF-8 printable text as is, "\n" "\r" "\t", other C0 and DEL as
 * "\xHH", C1 controls as "\u0080".."\u009f", invalid bytes as "\xHH".
 */
void wlog_escape(struct sbuf *out, const char *s, size_t n);

/*
 * One formatted line (no newline) as the file target writes it: time t
 * (wall clock, epoch seconds), pid, level, logger, message (already
 * escaped). addtime/padding as fail2ban's datetime/padding options; the
 * SYSLOG text is addtime=false, padding=false.
 */
void wlog_format(struct sbuf *out, double t, long pid, int level,
    const char *logger, const char *msg, bool addtime, bool padding);

/*
 * fail2ban's MyTime.time2str: t as local "YYYY-mm-dd HH:MM:SS" (fraction
 * dropped after rounding to microseconds; years past 9999 print as
 * "9999-12-31 23:59:59"). buf holds WLOG_TIMESTRLEN bytes. Returns buf.
 */
char *wlog_time2str(double t, char *buf);

/*
 * A rate limiter for a repeated warning: allows one record per interval
 * seconds (wall clock, injected). Initialise with WLOG_RATE_INIT(sec).
 */
struct wlog_rate {
	double interval;          /* seconds between allowed records */
	double next;              /* wall time from which the next is allowed */
	unsigned long suppressed; /* calls refused since the last allowed */
};
#define WLOG_RATE_INIT(sec)                                                    \
	{                                                                      \
		(sec), 0, 0                                                    \
	}

/*
 * True when the caller may log now; then *suppressed (may be NULL) gets
 * how many calls were refused since the previous allowed one, so the
 * message can say "(N more suppressed)". A clock that went back by more
 * than the interval resets the limiter.
 */
bool wlog_rate_allow(
    struct wlog_rate *r, double now, unsigned long *suppressed);

/*
 * Test hooks. clock (NULL = the real wall clock) gives record times;
 * pid (<= 0 = getpid()) the printed pid. hook (NULL = none) is called for
 * every enabled record with the escaped message, in addition to the
 * target.
 */
void wlog_test_set_clock(double (*clock)(void));
void wlog_test_set_pid(long pid);
void wlog_set_hook(
    void (*hook)(void *ctx, int level, const char *logger, const char *msg),
    void *ctx);

#endif
