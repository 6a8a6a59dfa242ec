/*
 * src_file: tails log files inside the daemon's libuv loop, the way
 * fail2ban's FileFilter/FileContainer with the pyinotify or polling backend
 * read them (spec 4.6, 4.7): complete lines only, rotation (rename and
 * copytruncate), deletion, files that appear later (missing paths, globs),
 * saved positions guarded by the first-line hash, and a read budget per
 * file per loop turn so a huge backlog never starves the loop.
 *
 * One set serves any number of consumers (jails): each src_file_add() is a
 * "source" with its own callbacks, mode and encoding; two sources reading
 * the same file keep independent positions and share the kernel watches.
 * The set owns one inotify fd (registered with a uv_poll_t), one uv_timer
 * (polling and a slow safety re-check) and one uv_idle (continuation of
 * budgeted reads). It does no date filtering (the jail does) and no
 * logging: everything noteworthy comes back as an event.
 *
 * Single-threaded; nothing here blocks except bounded local file reads
 * (pread of at most one chunk, glob(3)/stat(2) of local paths).
 */
#ifndef WARDEN_SRC_FILE_H
#define WARDEN_SRC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct diags;
struct src_file_set;
struct src_file_src;

/* SHA-1 hex of the first line, fail2ban's `firstlinemd5` (spec 4.7). */
#define SRC_FILE_HASH_LEN 40

#define SRC_FILE_POLL_MS_DEFAULT     1000         /* ms */
#define SRC_FILE_LINE_MAX_DEFAULT    (64 * 1024)  /* bytes */
#define SRC_FILE_BUDGET_DEFAULT      (256 * 1024) /* bytes/file/turn */
#define SRC_FILE_MAX_FILES_DEFAULT   4096         /* files per set */
#define SRC_FILE_MAX_GLOB_DEFAULT    1024         /* files per glob */
#define SRC_FILE_MAX_PARTIAL_DEFAULT (16u << 20)  /* bytes per set */
#define SRC_FILE_RECHECK_MS_DEFAULT  30000        /* ms */

enum src_file_backend {
	SRC_FILE_BACKEND_AUTO,    /* inotify, else polling */
	SRC_FILE_BACKEND_INOTIFY, /* inotify, polling per file as fallback */
	SRC_FILE_BACKEND_POLLING, /* stat on a timer only */
};

/*
 * Maps a fail2ban backend name (case-insensitive, without "[params]") to a
 * backend: "auto"; "pyinotify" and "gamin" -> inotify; "polling". Returns
 * 0, or -1 for anything else ("systemd" is not a file backend).
 */
int src_file_backend_parse(const char *name, enum src_file_backend *out);

/* Set-wide settings; a zero field means its default. */
struct src_file_opts {
	enum src_file_backend backend;
	uint32_t poll_ms;          /* polling interval, ms */
	size_t line_max;           /* longer lines are truncated, bytes */
	size_t read_budget;        /* bytes read per file per loop turn */
	size_t turn_budget;        /* bytes read per loop turn, all files
	                              (4 * read_budget); the files left
	                              over go first next turn */
	size_t max_files;          /* files in the whole set */
	size_t max_files_per_glob; /* files one glob may match */
	size_t max_partial;        /* bytes held in partial lines, all files */
	uint32_t recheck_ms;       /* safety re-check of every file and
	                              re-expansion of globs, ms */
	size_t max_watches;        /* inotify watches of this set; files
	                              beyond are polled (2 * max_files + 64) */
};

enum src_file_mode {
	SRC_FILE_HEAD, /* fail2ban's default: saved position if its hash
	                  matches, else from the start */
	SRC_FILE_TAIL, /* from the end (after the last complete line) */
};

enum src_file_event_kind {
	SRC_FILE_EV_ADDED,       /* a file is being read (first open);
	                            offset and hash are set */
	SRC_FILE_EV_MISSING,     /* path (or glob: nothing matched) does not
	                            exist; reported once until it appears */
	SRC_FILE_EV_APPEARED,    /* a missing or removed path exists again;
	                            read from offset */
	SRC_FILE_EV_ROTATED,     /* the old file was read to its end, the
	                            new file under the name is read from
	                            offset (0, or where we left an inode we
	                            knew); also: the first line changed in
	                            place (copytruncate, then growth past our
	                            position before we looked): from 0 */
	SRC_FILE_EV_TRUNCATED,   /* size < position: read again from 0 */
	SRC_FILE_EV_REMOVED,     /* the file was deleted and read to its end;
	                            a plain path stays watched, a glob's file
	                            is forgotten */
	SRC_FILE_EV_CAUGHT_UP,   /* first time at the end of the file
	                            (fail2ban's "in operation") */
	SRC_FILE_EV_LINE_CAPPED, /* a line was longer than line_max and was
	                            truncated; count = such lines so far */
	SRC_FILE_EV_POLLING,     /* this file is polled although the set uses
	                            inotify (no inotify, watch limit, missing
	                            directory, symbolic link); once per file */
	SRC_FILE_EV_ERROR,       /* open/read/watch failed (err), or a cap
	                            was reached; reported once per cause */
};

/* Everything is borrowed for the duration of the callback. */
struct src_file_event {
	enum src_file_event_kind kind;
	const char *path;    /* the file; the pattern for glob-level events */
	const char *message; /* one line, no newline, human-readable */
	uint64_t offset;     /* ADDED/APPEARED/ROTATED/TRUNCATED: where
	                        reading starts, bytes */
	const char *hash;    /* the file's first-line hash, "" if none yet
	                        (meaningful for ADDED/APPEARED/ROTATED) */
	int err;             /* ERROR: errno, 0 for a cap */
	uint64_t count;      /* LINE_CAPPED: truncated lines in this file */
};

/*
 * A consumer's callbacks. Called only from the loop (and event() also from
 * src_file_add for what it finds at once). A callback may call
 * src_file_del() (it takes effect after the callback returns; no further
 * callbacks for that source); it must not call src_file_add() or
 * src_file_free().
 */
struct src_file_cbs {
	/* One complete line, without its '\n' and trailing '\r's (as
	 * fail2ban's rstrip('\r\n')), converted to UTF-8 if the source has an
	 * encoding; at most line_max bytes before conversion (fewer when the
	 * set already holds max_partial bytes of partial lines). A last line
	 * without '\n' is held until its newline, or delivered as it is when
	 * its file is finished (rotated away, deleted, truncated). Empty
	 * lines are delivered. */
	void (*line)(void *arg, const char *path, const char *line, size_t len);
	void (*event)(void *arg, const struct src_file_event *ev);
	/* Optional. Called on the first open of each file in HEAD mode: fill
	 * the saved offset and hash (SRC_FILE_HASH_LEN hex chars or "") and
	 * return 1, or return 0 when nothing is saved. The offset is used
	 * only if the hash equals the file's current one and it is not past
	 * the end. */
	int (*saved_pos)(void *arg, const char *path, uint64_t *offset,
	    char hash[SRC_FILE_HASH_LEN + 1]);
	void *arg;
};

struct src_file_add_opts {
	enum src_file_mode mode;
	/* fail2ban's logencoding. NULL, "", "auto", "utf-8", "utf8",
	 * "ascii": bytes are passed through. Anything else: converted with
	 * iconv, invalid sequences become U+FFFD. Encodings whose newline is
	 * not the byte 0x0A (UTF-16/32) are refused. */
	const char *encoding;
	struct src_file_cbs cb;
};

/*
 * Creates a set on loop (borrowed; must outlive the set). opts may be NULL
 * (all defaults). With AUTO or INOTIFY, an inotify instance that cannot be
 * created makes every file polled (each file reports EV_POLLING). Returns
 * a new set; never fails.
 */
struct src_file_set *src_file_new(
    uv_loop_t *loop, const struct src_file_opts *opts);

/*
 * Stops and frees the set: every source is removed (no more callbacks),
 * every fd is closed before it returns. The libuv handles are closed
 * asynchronously: the memory is released in their close callbacks, so run
 * the loop once more (uv_run(loop, UV_RUN_NOWAIT) or DEFAULT) before
 * uv_loop_close(). NULL is a no-op.
 */
void src_file_free(struct src_file_set *set);

/*
 * fail2ban's name of the backend in use for the set: "pyinotify" when
 * inotify works, else "polling" (for the "Initiated '%s' backend" line).
 */
const char *src_file_backend_name(const struct src_file_set *set);

/*
 * Starts reading pattern (copied): a path, or a glob(3) pattern when it
 * contains * ? or [. Files that exist are opened now (their EV_ADDED, or
 * EV_MISSING, is reported before this returns); lines come only from the
 * loop. A glob also picks up matching files created later when its
 * directory part has no wildcards (else it is re-expanded on the slow
 * re-check timer). Returns the new source (owned by the set; release it
 * with src_file_del or src_file_free), or NULL with an error in d (bad
 * encoding, empty pattern, file cap reached).
 */
struct src_file_src *src_file_add(struct src_file_set *set, const char *pattern,
    const struct src_file_add_opts *opts, struct diags *d);

/*
 * Stops reading src and frees it: its fds and watches are released; held
 * partial lines are dropped (positions stay at their start, so a restart
 * re-reads them). Take positions with src_file_foreach first.
 */
void src_file_del(struct src_file_set *set, struct src_file_src *src);

/* The pattern src was added with (borrowed). */
const char *src_file_pattern(const struct src_file_src *src);

/* One file of a source, as reported by src_file_foreach. Borrowed. */
struct src_file_info {
	const char *path;
	uint64_t offset;  /* start of the first line not yet delivered: the
	                     position to save (fail2ban's lastfilepos) */
	const char *hash; /* first-line hash, "" if none */
	bool open;        /* false: missing or removed, being waited for */
	bool caught_up;   /* has reached the end at least once */
	bool polled;      /* watched by the timer, not inotify */
	uint64_t lines;   /* lines delivered */
	uint64_t capped;  /* lines truncated at line_max */
};

/*
 * Calls fn for every file of src, in the order they were found. Use it for
 * the database (path, offset, hash) and for status ("File list"). fn must
 * not change the set.
 */
void src_file_foreach(const struct src_file_src *src,
    void (*fn)(void *arg, const struct src_file_info *info), void *arg);

#endif
