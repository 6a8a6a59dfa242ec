/*
 * src_file: log-file tailing in the libuv loop (see src_file.h for the
 * contract). Every file is driven by one idempotent routine, sf_check():
 * it compares what the name points to (stat) with the inode we hold open
 * (fstat) and the position we reached, then reads at most one budget
 * (per file, and per loop turn for all files).
 * inotify events, the polling timer and the idle continuation only decide
 * *when* a file is checked, never *what* happened, so a lost or coalesced
 * event costs latency, not correctness.
 *
 * Why a raw inotify fd under a uv_poll_t rather than uv_fs_event_t: libuv
 * drops IN_Q_OVERFLOW (we re-check everything on it), hides IN_IGNORED
 * (we must know when a watch died), cannot watch an open fd's inode
 * through /proc/self/fd (needed to follow a renamed file without a race),
 * and reports ENOSPC only as a failed start, while we fall back to polling
 * per file when the watch limit is reached.
 */
#include "src_file.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "log.h"
#include "sha1.h"
#include "xmalloc.h"

#define SF_CHUNK        (64 * 1024) /* bytes per pread */
#define SF_HASH_MAX     (1u << 20)  /* bytes searched for the first '\n' */
#define SF_FINISHED_MAX 64          /* remembered finished inodes/source */
/* Partial buffers above this are freed once their line is delivered. */
#define SF_PART_KEEP 4096
#define SF_ROUNDS    4           /* open/switch steps per check */
#define SF_IBUF      (16 * 1024) /* inotify read buffer */
#define SF_IREADS    16          /* inotify reads per poll callback */

#define SF_DIR_MASK                                                            \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB |     \
	    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define SF_FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)

struct sf_file;

/* One kernel watch (a directory or an open file's inode), shared by every
 * file and glob that needs it. Freed when no file and no glob uses it. */
struct sf_watch {
	int wd;
	bool is_dir;
	struct sf_file **files; /* files whose dw (dir) or fw (file) is us */
	size_t nfiles, capfiles;
	struct src_file_src **globs; /* dir watch: globs of this directory */
	size_t nglobs, capglobs;
};

/* wd -> watch, open addressing with linear probing; slots hold NULL or a
 * watch; size is a power of two, at most half full. */
struct sf_wmap {
	struct sf_watch **slot;
	size_t size, n;
};

/* An inode this source finished reading while it still had a name (it was
 * rotated away): if it shows up again under a name we read (a glob
 * matching "x.log.1"), reading resumes where we stopped instead of
 * delivering its lines twice. */
struct sf_finished {
	dev_t dev;
	ino_t ino;
	uint64_t pos; /* bytes */
	char hash[SRC_FILE_HASH_LEN + 1];
};

struct sf_file {
	struct src_file_src *src;
	char *path;       /* owned */
	const char *base; /* last component, inside path */
	char *dir;        /* owned: directory watched for the name */
	struct sf_watch *dw, *fw;
	int fd; /* -1 while missing or removed */
	dev_t dev;
	ino_t ino;
	uint64_t pos;         /* next byte to read from fd */
	struct timespec mtim; /* fd's mtime at the last check */
	uint64_t line_start;  /* first byte of the line not yet delivered */
	char hash[SRC_FILE_HASH_LEN + 1];
	size_t hash_len;         /* bytes the hash covers, 0 without hash */
	uint64_t hash_tried_end; /* file size when no first line was found */
	uint64_t hash_ms;        /* uv_now() of the last full hashing */
	char *part;              /* pending bytes of the current line */
	size_t part_len, part_cap;
	bool part_over;   /* the line passed line_max: the rest is dropped */
	bool skip_line;   /* tail start inside a line: drop up to '\n' */
	bool ever_opened; /* ADDED was reported */
	bool initial;     /* opened from src_file_add itself */
	bool rotating;    /* the next open is the new file after rotation */
	bool missing_reported;
	bool caught_up;
	bool polled;
	bool polled_reported;
	bool shadowed; /* glob file whose inode another file still reads */
	bool queued;
	bool dead; /* to be freed at the next reap */
	bool decode_reported;
	int last_err;
	uint64_t lines, capped;
	struct sf_file *qnext; /* run queue */
};

struct src_file_src {
	struct src_file_set *set;
	char *pattern; /* owned */
	bool is_glob;
	char *gdir;      /* glob: directory part (owned) */
	char *gbase;     /* glob: last component pattern (owned) */
	bool gdir_plain; /* gdir has no wildcard: watch it for new files */
	bool gpoll;      /* re-expand on every poll tick */
	struct sf_watch *gdw;
	enum src_file_mode mode;
	iconv_t cd;     /* (iconv_t)-1: pass bytes through */
	char *encoding; /* as given, for messages (owned; NULL if none) */
	struct src_file_cbs cb;
	struct sf_file **files;
	size_t nfiles, capfiles;
	struct sf_finished fin[SF_FINISHED_MAX];
	size_t nfin, fin_next;
	bool missing_reported;
	bool cap_reported;
	bool dead;
	struct src_file_src *next;
};

struct src_file_set {
	uv_loop_t *loop;
	struct src_file_opts o; /* defaults filled in */
	int ifd;                /* inotify, -1 if none */
	uv_poll_t ipoll;
	uv_timer_t timer;
	uv_idle_t idle;
	bool idle_on;
	struct sf_wmap wmap;
	size_t nwatches;           /* watch objects alive (<= o.max_watches) */
	struct src_file_src *srcs; /* newest first */
	size_t nfiles;             /* files in all sources */
	size_t partial_total;      /* bytes allocated for partial lines */
	size_t npolled;            /* files and globs on the timer */
	struct sf_file *qhead, *qtail;
	char *chunk; /* SF_CHUNK bytes */
	char *conv;  /* iconv output */
	size_t conv_cap;
	int depth;      /* > 0 while callbacks may run */
	bool need_reap; /* some file or source is dead */
	int closing;    /* handles whose close callback is pending */
	uint64_t last_full_ms;
};

/* ---- small helpers ---- */

static void sf_on_timer(uv_timer_t *h);
static void sf_on_idle(uv_idle_t *h);

static bool
is_wild(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void sf_event(struct sf_file *f, enum src_file_event_kind kind, int err,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
sf_emit(struct src_file_src *src, struct src_file_event *ev)
{
	if (src->dead || src->cb.event == NULL)
		return;
	src->set->depth++;
	src->cb.event(src->cb.arg, ev);
	src->set->depth--;
}

static void
sf_event(struct sf_file *f, enum src_file_event_kind kind, int err,
    const char *fmt, ...)
{
	struct src_file_event ev;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	memset(&ev, 0, sizeof ev);
	ev.kind = kind;
	ev.path = f->path;
	ev.message = msg;
	ev.offset = f->pos;
	ev.hash = f->hash;
	ev.err = err;
	ev.count = f->capped;
	sf_emit(f->src, &ev);
	free(msg);
}

static void __attribute__((format(printf, 4, 5)))
sf_src_event(struct src_file_src *src, enum src_file_event_kind kind, int err,
    const char *fmt, ...)
{
	struct src_file_event ev;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	memset(&ev, 0, sizeof ev);
	ev.kind = kind;
	ev.path = src->pattern;
	ev.message = msg;
	ev.hash = "";
	ev.err = err;
	sf_emit(src, &ev);
	free(msg);
}

/* ---- wd map ---- */

static size_t
wmap_home(const struct sf_wmap *m, int wd)
{
	return ((uint32_t)wd * 2654435761u) & (m->size - 1);
}

static struct sf_watch *
wmap_get(const struct sf_wmap *m, int wd)
{
	size_t i;

	if (m->size == 0)
		return NULL;
	for (i = wmap_home(m, wd); m->slot[i] != NULL;
	     i = (i + 1) & (m->size - 1))
		if (m->slot[i]->wd == wd)
			return m->slot[i];
	return NULL;
}

static void wmap_put(struct sf_wmap *m, struct sf_watch *w);

static void
wmap_grow(struct sf_wmap *m)
{
	struct sf_watch **old = m->slot;
	size_t i, oldsize = m->size;

	m->size = oldsize ? oldsize * 2 : 16;
	m->slot = xcalloc(m->size, sizeof *m->slot);
	m->n = 0;
	for (i = 0; i < oldsize; i++)
		if (old[i] != NULL)
			wmap_put(m, old[i]);
	free(old);
}

static void
wmap_put(struct sf_wmap *m, struct sf_watch *w)
{
	size_t i;

	if ((m->n + 1) * 2 > m->size)
		wmap_grow(m);
	for (i = wmap_home(m, w->wd); m->slot[i] != NULL;
	     i = (i + 1) & (m->size - 1))
		;
	m->slot[i] = w;
	m->n++;
}

static void
wmap_del(struct sf_wmap *m, int wd)
{
	size_t i, j, h, mask = m->size - 1;

	if (m->size == 0)
		return;
	for (i = wmap_home(m, wd); m->slot[i] != NULL; i = (i + 1) & mask)
		if (m->slot[i]->wd == wd)
			break;
	if (m->slot[i] == NULL)
		return;
	m->slot[i] = NULL;
	m->n--;
	/* Backward-shift the rest of the cluster so lookups stay correct. */
	for (j = (i + 1) & mask; m->slot[j] != NULL; j = (j + 1) & mask) {
		h = wmap_home(m, m->slot[j]->wd);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			m->slot[i] = m->slot[j];
			m->slot[j] = NULL;
			i = j;
		}
	}
}

/* ---- watches ---- */

/*
 * Watches path (a directory, or /proc/self/fd/N for an open file) and
 * returns the shared watch, or NULL with errno set. The caller attaches
 * itself with watch_attach_*.
 */
static struct sf_watch *
watch_get(struct src_file_set *set, const char *path, bool is_dir)
{
	struct sf_watch *w;
	int wd;

	if (set->ifd < 0) {
		errno = ENOSYS;
		return NULL;
	}
	wd = inotify_add_watch(
	    set->ifd, path, is_dir ? SF_DIR_MASK : SF_FILE_MASK);
	if (wd < 0)
		return NULL;
	w = wmap_get(&set->wmap, wd);
	if (w != NULL)
		return w;
	if (set->nwatches >= set->o.max_watches) {
		inotify_rm_watch(set->ifd, wd);
		errno = ENOSPC;
		return NULL;
	}
	set->nwatches++;
	w = xcalloc(1, sizeof *w);
	w->wd = wd;
	w->is_dir = is_dir;
	wmap_put(&set->wmap, w);
	return w;
}

/* Frees w once nothing uses it; rm says whether the kernel watch still
 * exists (not after IN_IGNORED). */
static void
watch_maybe_free(struct src_file_set *set, struct sf_watch *w, bool rm)
{
	if (w->nfiles > 0 || w->nglobs > 0)
		return;
	if (rm && set->ifd >= 0)
		inotify_rm_watch(set->ifd, w->wd);
	wmap_del(&set->wmap, w->wd);
	set->nwatches--;
	free(w->files);
	free(w->globs);
	free(w);
}

static void
watch_attach_file(struct sf_watch *w, struct sf_file *f)
{
	xgrow(&w->files, &w->capfiles, w->nfiles + 1, sizeof *w->files);
	w->files[w->nfiles++] = f;
}

static void
watch_detach_file(
    struct src_file_set *set, struct sf_watch *w, struct sf_file *f)
{
	size_t i;

	for (i = 0; i < w->nfiles; i++)
		if (w->files[i] == f) {
			w->files[i] = w->files[--w->nfiles];
			break;
		}
	watch_maybe_free(set, w, true);
}

static void
watch_attach_glob(struct sf_watch *w, struct src_file_src *src)
{
	xgrow(&w->globs, &w->capglobs, w->nglobs + 1, sizeof *w->globs);
	w->globs[w->nglobs++] = src;
}

static void
watch_detach_glob(
    struct src_file_set *set, struct sf_watch *w, struct src_file_src *src)
{
	size_t i;

	for (i = 0; i < w->nglobs; i++)
		if (w->globs[i] == src) {
			w->globs[i] = w->globs[--w->nglobs];
			break;
		}
	watch_maybe_free(set, w, true);
}

/* ---- run queue ---- */

static void
sf_enqueue(struct sf_file *f)
{
	struct src_file_set *set = f->src->set;

	if (f->queued || f->dead)
		return;
	f->queued = true;
	f->qnext = NULL;
	if (set->qtail != NULL)
		set->qtail->qnext = f;
	else
		set->qhead = f;
	set->qtail = f;
	if (!set->idle_on) {
		set->idle_on = true;
		uv_idle_start(&set->idle, sf_on_idle);
	}
}

static void
sf_dequeue(struct sf_file *f)
{
	struct src_file_set *set = f->src->set;
	struct sf_file **pp, *prev = NULL;

	if (!f->queued)
		return;
	for (pp = &set->qhead; *pp != NULL; prev = *pp, pp = &(*pp)->qnext)
		if (*pp == f) {
			*pp = f->qnext;
			if (set->qtail == f)
				set->qtail = prev;
			break;
		}
	f->queued = false;
}

/* ---- partial lines and delivery ---- */

static void
sf_part_reset(struct sf_file *f)
{
	struct src_file_set *set = f->src->set;

	f->part_len = 0;
	f->part_over = false;
	if (f->part_cap > SF_PART_KEEP) {
		set->partial_total -= f->part_cap;
		free(f->part);
		f->part = NULL;
		f->part_cap = 0;
	}
}

/* Appends to the pending line, within line_max and the set's total. */
static void
sf_hold(struct sf_file *f, const char *p, size_t n)
{
	struct src_file_set *set = f->src->set;
	size_t take = n, need, cap;

	if (f->skip_line || f->part_over || n == 0)
		return;
	if (take > set->o.line_max - f->part_len) {
		take = set->o.line_max - f->part_len;
		f->part_over = true;
	}
	need = f->part_len + take;
	if (need > f->part_cap) {
		cap = f->part_cap ? f->part_cap : 256;
		while (cap < need)
			cap *= 2;
		if (cap > set->o.line_max)
			cap = set->o.line_max;
		if (set->partial_total - f->part_cap + cap >
		    set->o.max_partial) {
			/* The set holds too much: keep what fits. */
			cap = f->part_cap;
			take = cap - f->part_len;
			f->part_over = true;
		} else {
			f->part = xreallocarray(f->part, cap, 1);
			set->partial_total += cap - f->part_cap;
			f->part_cap = cap;
		}
	}
	if (take > 0) {
		memcpy(f->part + f->part_len, p, take);
		f->part_len += take;
	}
}

/* Converts one line to UTF-8; *bad is set when bytes were replaced. */
static const char *
sf_convert(struct src_file_src *src, const char *p, size_t n, size_t *outlen,
    bool *bad)
{
	struct src_file_set *set = src->set;
	size_t need = n * 4 + 16, inleft = n, outleft;
	char *in = (char *)p, *out;

	if (need > set->conv_cap) {
		free(set->conv);
		set->conv = xmalloc(need);
		set->conv_cap = need;
	}
	out = set->conv;
	outleft = set->conv_cap;
	iconv(src->cd, NULL, NULL, NULL, NULL);
	while (inleft > 0) {
		if (iconv(src->cd, &in, &inleft, &out, &outleft) != (size_t)-1)
			break;
		if (errno == E2BIG || outleft < 3)
			break;
		/* EILSEQ or EINVAL (cut sequence): U+FFFD for one byte. */
		*bad = true;
		memcpy(out, "\xef\xbf\xbd", 3);
		out += 3;
		outleft -= 3;
		in++;
		inleft--;
	}
	iconv(src->cd, NULL, NULL, &out, &outleft);
	*outlen = (size_t)(out - set->conv);
	return set->conv;
}

static void
sf_emit_line(struct sf_file *f, const char *p, size_t n, bool capped)
{
	struct src_file_src *src = f->src;

	if (src->dead || f->dead)
		return;
	while (n > 0 && p[n - 1] == '\r')
		n--;
	f->lines++;
	if (capped) {
		f->capped++;
		sf_event(f, SRC_FILE_EV_LINE_CAPPED, 0,
		    "line longer than %zu bytes truncated in %s (%llu so far)",
		    src->set->o.line_max, f->path,
		    (unsigned long long)f->capped);
		if (src->dead || f->dead)
			return;
	}
	if (src->cd != (iconv_t)-1) {
		bool bad = false;

		p = sf_convert(src, p, n, &n, &bad);
		if (bad && !f->decode_reported) {
			/* fail2ban warns once (per file and day). */
			f->decode_reported = true;
			sf_event(f, SRC_FILE_EV_ERROR, EILSEQ,
			    "Error decoding line from '%s' with '%s'.", f->path,
			    src->encoding);
			if (src->dead || f->dead)
				return;
		}
	}
	src->set->depth++;
	src->cb.line(src->cb.arg, f->path, p, n);
	src->set->depth--;
}

/* Splits buf (file bytes starting at offset off) into lines. */
static void
sf_feed(struct sf_file *f, const char *buf, size_t n, uint64_t off)
{
	size_t line_max = f->src->set->o.line_max, len;
	const char *p = buf, *end = buf + n, *nl;

	while (p < end) {
		if (f->dead || f->src->dead)
			return;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			sf_hold(f, p, (size_t)(end - p));
			return;
		}
		if (f->skip_line) {
			f->skip_line = false;
		} else if (f->part_len == 0 && !f->part_over) {
			len = (size_t)(nl - p);
			if (len > line_max)
				sf_emit_line(f, p, line_max, true);
			else
				sf_emit_line(f, p, len, false);
		} else {
			sf_hold(f, p, (size_t)(nl - p));
			sf_emit_line(f, f->part, f->part_len, f->part_over);
			sf_part_reset(f);
		}
		f->line_start = off + (uint64_t)(nl + 1 - buf);
		p = nl + 1;
	}
}

/* The file is finished (rotated away, deleted, truncated): its last line
 * counts even without a newline. */
static void
sf_flush_partial(struct sf_file *f)
{
	if (!f->skip_line && (f->part_len > 0 || f->part_over))
		sf_emit_line(f, f->part, f->part_len, f->part_over);
	sf_part_reset(f);
	f->skip_line = false;
	f->line_start = f->pos;
}

/* ---- file reading ---- */

/*
 * First-line hash of fd as fail2ban computes it: SHA-1 hex of the bytes up
 * to and including the first '\n' (or of the whole file if it ends in
 * '\r', Python's rstrip quirk). "" when there is no complete first line
 * within SF_HASH_MAX bytes. Returns -1 on a read error.
 */
static int
sf_hash_fd(struct src_file_set *set, int fd, char out[SRC_FILE_HASH_LEN + 1],
    size_t *len)
{
	struct sha1_ctx c;
	uint8_t d[SHA1_DIGEST_LEN];
	uint64_t off = 0;
	size_t want = 4096;
	ssize_t n;
	char *nl, last = 0;

	out[0] = '\0';
	*len = 0;
	sha1_init(&c);
	while (off < SF_HASH_MAX) {
		n = pread(fd, set->chunk, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		nl = memchr(set->chunk, '\n', (size_t)n);
		if (nl != NULL) {
			sha1_update(
			    &c, set->chunk, (size_t)(nl + 1 - set->chunk));
			sha1_final(&c, d);
			sha1_tohex(d, out);
			*len = (size_t)off + (size_t)(nl + 1 - set->chunk);
			return 0;
		}
		sha1_update(&c, set->chunk, (size_t)n);
		last = set->chunk[n - 1];
		off += (uint64_t)n;
		want = SF_CHUNK;
	}
	if (off > 0 && off < SF_HASH_MAX && last == '\r') {
		sha1_final(&c, d);
		sha1_tohex(d, out);
		*len = (size_t)off;
	}
	return 0;
}

/* (Re)computes f's first-line hash; size is the file size now. */
static void
sf_rehash(struct sf_file *f, uint64_t size)
{
	struct src_file_set *set = f->src->set;

	if (sf_hash_fd(set, f->fd, f->hash, &f->hash_len) != 0) {
		f->hash[0] = '\0';
		f->hash_len = 0;
	}
	f->hash_tried_end = f->hash[0] ? 0 : size;
	f->hash_ms = uv_now(set->loop);
}

/*
 * Before new data is read: has the file been rewritten in place since we
 * hashed its first line (copytruncate followed by growth past our
 * position before we looked)? fail2ban checks this every 30 s; we check
 * before every read, which costs one pread of the first line. A file
 * without a hash gets one once its first line is complete (not a
 * rotation). First lines longer than a chunk are looked at only every
 * recheck_ms, so a long first line cannot make every read expensive.
 * Returns true, with f's hash updated, when it changed.
 */
static bool
sf_first_line_changed(struct sf_file *f, uint64_t size)
{
	struct src_file_set *set = f->src->set;
	char cur[SRC_FILE_HASH_LEN + 1], old[SRC_FILE_HASH_LEN + 1];
	bool due = uv_now(set->loop) - f->hash_ms >= set->o.recheck_ms;
	ssize_t n;

	if (f->hash[0] == '\0') {
		if (size != f->hash_tried_end &&
		    f->hash_tried_end < SF_HASH_MAX &&
		    (f->hash_tried_end < SF_CHUNK || due))
			sf_rehash(f, size);
		return false;
	}
	if (f->hash_len > SF_CHUNK && !due)
		return false;
	if (f->hash_len > 0 && f->hash_len <= SF_CHUNK) {
		n = pread(f->fd, set->chunk, f->hash_len, 0);
		if (n == (ssize_t)f->hash_len) {
			sha1_hex(set->chunk, f->hash_len, cur);
			if (strcmp(cur, f->hash) == 0)
				return false;
		}
	}
	memcpy(old, f->hash, sizeof old);
	sf_rehash(f, size);
	return strcmp(old, f->hash) != 0;
}

/* Where `tail` starts: after the last '\n' within line_max of the end. */
static uint64_t
sf_tail_pos(struct sf_file *f, uint64_t size)
{
	struct src_file_set *set = f->src->set;
	uint64_t window = size < set->o.line_max ? size : set->o.line_max;
	uint64_t lo = size - window, hi = size, at;
	size_t want;
	ssize_t n;
	char *nl;

	while (hi > lo) {
		want = hi - lo > SF_CHUNK ? SF_CHUNK : (size_t)(hi - lo);
		at = hi - want;
		n = pread(f->fd, set->chunk, want, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return size;
		nl = memrchr(set->chunk, '\n', (size_t)n);
		if (nl != NULL)
			return at + (uint64_t)(nl - set->chunk) + 1;
		hi = at;
	}
	if (size <= set->o.line_max)
		return 0;
	f->skip_line = true;
	return size;
}

static struct sf_file *
sf_holder(struct sf_file *f, dev_t dev, ino_t ino)
{
	struct src_file_src *src = f->src;
	size_t i;

	for (i = 0; i < src->nfiles; i++) {
		struct sf_file *g = src->files[i];

		if (g != f && !g->dead && g->fd >= 0 && g->dev == dev &&
		    g->ino == ino)
			return g;
	}
	return NULL;
}

static bool
sf_finished_take(struct src_file_src *src, dev_t dev, ino_t ino,
    const char *hash, uint64_t size, uint64_t *pos)
{
	size_t i;

	for (i = 0; i < src->nfin; i++) {
		struct sf_finished *r = &src->fin[i];

		if (r->dev != dev || r->ino != ino)
			continue;
		r->dev = 0;
		r->ino = 0;
		if (strcmp(r->hash, hash) != 0 || r->pos > size)
			return false;
		*pos = r->pos;
		return true;
	}
	return false;
}

static void
sf_finished_put(struct src_file_src *src, struct sf_file *f)
{
	struct sf_finished *r = &src->fin[src->fin_next];

	r->dev = f->dev;
	r->ino = f->ino;
	r->pos = f->pos;
	memcpy(r->hash, f->hash, sizeof r->hash);
	src->fin_next = (src->fin_next + 1) % SF_FINISHED_MAX;
	if (src->nfin < SF_FINISHED_MAX)
		src->nfin++;
}

static void
sf_set_polled(struct sf_file *f, bool polled, const char *why)
{
	struct src_file_set *set = f->src->set;

	if (polled == f->polled)
		return;
	f->polled = polled;
	if (polled) {
		set->npolled++;
		if (!f->polled_reported &&
		    set->o.backend != SRC_FILE_BACKEND_POLLING) {
			f->polled_reported = true;
			sf_event(f, SRC_FILE_EV_POLLING, 0, "polling %s: %s",
			    f->path, why);
		}
		/* Bring the timer down to the polling interval. */
		if (uv_timer_get_due_in(&set->timer) > set->o.poll_ms)
			uv_timer_start(
			    &set->timer, sf_on_timer, set->o.poll_ms, 0);
	} else {
		set->npolled--;
	}
}

/* Makes sure the inotify watches a file needs exist, else polls it. */
static void
sf_watch_update(struct sf_file *f)
{
	struct src_file_set *set = f->src->set;
	struct sf_watch *w;
	struct stat lst;
	char procpath[64];
	const char *why = NULL;

	if (f->dead)
		return;
	if (set->ifd < 0) {
		sf_set_polled(f, true,
		    set->o.backend == SRC_FILE_BACKEND_POLLING
		        ? "polling backend"
		        : "inotify is not available");
		return;
	}
	if (f->dw == NULL) {
		w = watch_get(set, f->dir, true);
		if (w != NULL) {
			f->dw = w;
			watch_attach_file(w, f);
		} else {
			why = errno == ENOSPC
			    ? "inotify watch limit reached"
			    : "its directory cannot be watched";
		}
	}
	if (f->fd >= 0 && f->fw == NULL) {
		snprintf(procpath, sizeof procpath, "/proc/self/fd/%d", f->fd);
		w = watch_get(set, procpath, false);
		if (w == NULL && errno != ENOSPC)
			w = watch_get(set, f->path, false);
		if (w != NULL) {
			f->fw = w;
			watch_attach_file(w, f);
		} else if (why == NULL) {
			why = errno == ENOSPC ? "inotify watch limit reached"
			                      : "the file cannot be watched";
		}
	}
	if (why == NULL && lstat(f->path, &lst) == 0 && S_ISLNK(lst.st_mode))
		why = "it is a symbolic link";
	sf_set_polled(f, why != NULL, why ? why : "");
}

static void
sf_close_fd(struct sf_file *f)
{
	struct src_file_set *set = f->src->set;

	if (f->fw != NULL) {
		watch_detach_file(set, f->fw, f);
		f->fw = NULL;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* After a file of src released an inode, shadowed files may take it. */
static void
sf_wake_shadowed(struct src_file_src *src)
{
	size_t i;

	for (i = 0; i < src->nfiles; i++)
		if (src->files[i]->shadowed)
			sf_enqueue(src->files[i]);
}

/* The consumer's saved position, if its hash matches the file's. */
static bool
sf_saved_start(struct sf_file *f, uint64_t size, uint64_t *start)
{
	struct src_file_src *src = f->src;
	char hash[SRC_FILE_HASH_LEN + 1];
	uint64_t off = 0;

	if (src->cb.saved_pos == NULL)
		return false;
	memset(hash, 0, sizeof hash);
	if (src->cb.saved_pos(src->cb.arg, f->path, &off, hash) != 1)
		return false;
	hash[SRC_FILE_HASH_LEN] = '\0';
	if (strcmp(hash, f->hash) != 0 || off > size)
		return false;
	*start = off;
	return true;
}

/*
 * Opens f->path and chooses where reading starts. Returns true with f->fd
 * open, false when the file is not there (reported once) or not usable.
 */
static bool
sf_open(struct sf_file *f)
{
	struct src_file_src *src = f->src;
	uint64_t start = 0;
	enum src_file_event_kind kind;
	const char *what;
	struct stat st;
	int fd, err;

	fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENOTDIR) {
			if (!f->missing_reported && !f->ever_opened) {
				f->missing_reported = true;
				sf_event(f, SRC_FILE_EV_MISSING, err,
				    "log file %s does not exist (yet)",
				    f->path);
			}
		} else if (err != f->last_err) {
			f->last_err = err;
			sf_event(f, SRC_FILE_EV_ERROR, err,
			    "cannot open %s: %s", f->path, strerror(err));
		}
		return false;
	}
	err = fstat(fd, &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : EINVAL;
	if (err != 0) {
		close(fd);
		if (err != f->last_err) {
			f->last_err = err;
			sf_event(f, SRC_FILE_EV_ERROR, err,
			    "cannot read %s: %s", f->path,
			    err == EINVAL ? "not a regular file"
			                  : strerror(err));
		}
		return false;
	}
	if (sf_holder(f, st.st_dev, st.st_ino) != NULL) {
		/* Another file of this glob still reads that inode (it was
		 * just renamed to our name): wait until it lets go. */
		close(fd);
		f->shadowed = true;
		return false;
	}
	f->shadowed = false;
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->last_err = 0;
	f->part_len = 0;
	f->part_over = false;
	f->skip_line = false;
	sf_rehash(f, (uint64_t)st.st_size);
	/* tail; else the saved position (first open, head); else where we
	 * left this inode before; else the start. */
	if (f->initial && src->mode == SRC_FILE_TAIL)
		start = sf_tail_pos(f, (uint64_t)st.st_size);
	else if (f->ever_opened || src->mode != SRC_FILE_HEAD ||
	    !sf_saved_start(f, (uint64_t)st.st_size, &start)) {
		if (!sf_finished_take(src, f->dev, f->ino, f->hash,
		        (uint64_t)st.st_size, &start))
			start = 0;
	}
	f->pos = start;
	f->line_start = start;
	if (!f->ever_opened) {
		kind = f->initial || !f->missing_reported
		    ? SRC_FILE_EV_ADDED
		    : SRC_FILE_EV_APPEARED;
		what = kind == SRC_FILE_EV_ADDED ? "added" : "appeared";
	} else if (f->rotating) {
		kind = SRC_FILE_EV_ROTATED;
		what = "rotated, reading the new file";
	} else {
		kind = SRC_FILE_EV_APPEARED;
		what = "appeared again";
	}
	f->ever_opened = true;
	f->missing_reported = false;
	f->rotating = false;
	sf_event(f, kind, 0, "log file %s %s (pos = %llu, hash = %s)", f->path,
	    what, (unsigned long long)f->pos, f->hash);
	if (f->initial && src->mode == SRC_FILE_TAIL && !f->caught_up) {
		f->caught_up = true;
		sf_event(
		    f, SRC_FILE_EV_CAUGHT_UP, 0, "%s: at the end", f->path);
	}
	return true;
}

/*
 * Reads from f->pos while *budget lasts. Returns 1 when the budget ran out
 * (more may follow), 0 at the end of the file, -1 on a read error
 * (reported once; fd and position are kept for a retry).
 */
static int
sf_read(struct sf_file *f, size_t *budget)
{
	struct src_file_set *set = f->src->set;
	size_t want;
	uint64_t off;
	ssize_t n;

	while (*budget > 0) {
		want = *budget < SF_CHUNK ? *budget : SF_CHUNK;
		n = pread(f->fd, set->chunk, want, (off_t)f->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			/* Keep fd and position: retried on the next event. */
			if (err != f->last_err) {
				f->last_err = err;
				sf_event(f, SRC_FILE_EV_ERROR, err,
				    "cannot read %s: %s", f->path,
				    strerror(err));
			}
			return -1;
		}
		if (n == 0)
			return 0;
		off = f->pos;
		f->pos += (uint64_t)n;
		*budget -= (size_t)n;
		sf_feed(f, set->chunk, (size_t)n, off);
		if (f->dead || f->src->dead)
			return 0;
		if ((size_t)n < want)
			return 0;
	}
	return 1;
}

static void
sf_caught_up(struct sf_file *f)
{
	if (f->caught_up || f->dead || f->src->dead)
		return;
	f->caught_up = true;
	sf_event(f, SRC_FILE_EV_CAUGHT_UP, 0, "%s: at the end", f->path);
}

/*
 * Restarts the file from offset 0 (copytruncate, in-place rewrite); the
 * partial line of the old content is delivered first. The caller has set
 * the new hash.
 */
static void
sf_restart(struct sf_file *f, enum src_file_event_kind kind, const char *why)
{
	sf_flush_partial(f);
	f->pos = 0;
	f->line_start = 0;
	sf_event(f, kind, 0,
	    "log rotation detected for %s (%s): reading from 0", f->path, why);
}

/*
 * The one routine that looks at a file: opens it if needed, detects
 * truncation, in-place rewrite, rotation and deletion, and reads at most
 * *budget bytes (decremented). Returns true if it stopped because of the
 * budget.
 */
static bool
sf_check(struct sf_file *f, size_t *budget)
{
	struct src_file_set *set = f->src->set;
	struct stat st, pst;
	bool same, gone, deleted;
	int round, rc, prc;

	for (round = 0; round < SF_ROUNDS; round++) {
		if (f->dead || f->src->dead)
			return false;
		if (f->fd < 0) {
			bool opened = sf_open(f);

			sf_watch_update(f);
			if (!opened)
				return false;
		}
		if (fstat(f->fd, &st) != 0) {
			sf_part_reset(f);
			sf_close_fd(f);
			return false;
		}
		prc = stat(f->path, &pst);
		same = prc == 0 && pst.st_ino == f->ino && pst.st_dev == f->dev;
		gone = prc != 0;
		deleted = st.st_nlink == 0;
		if (same || (gone && !deleted)) {
			/* Still our file, or renamed away with no successor:
			 * keep following the inode we hold. */
			/* A copytruncate followed by writes that refill the
			 * file to exactly our position between two looks
			 * leaves the size unchanged: a new mtime is the only
			 * sign, so check the first line then too. */
			bool touched = st.st_mtim.tv_sec != f->mtim.tv_sec ||
			    st.st_mtim.tv_nsec != f->mtim.tv_nsec;

			f->mtim = st.st_mtim;
			if ((uint64_t)st.st_size < f->pos) {
				sf_rehash(f, (uint64_t)st.st_size);
				sf_restart(f, SRC_FILE_EV_TRUNCATED,
				    "size below position");
			} else if (((uint64_t)st.st_size > f->pos ||
			               (touched && f->pos > 0)) &&
			    sf_first_line_changed(f, (uint64_t)st.st_size)) {
				sf_restart(f, SRC_FILE_EV_ROTATED,
				    "first line changed");
			}
			rc = sf_read(f, budget);
			if (rc > 0)
				return true;
			if (rc == 0)
				sf_caught_up(f);
			return false;
		}
		/* The name points to another file, or ours was deleted:
		 * read ours to its end first. */
		rc = sf_read(f, budget);
		if (rc > 0)
			return true;
		if (rc < 0 || f->dead || f->src->dead)
			return false;
		sf_flush_partial(f);
		if (!deleted)
			sf_finished_put(f->src, f);
		sf_close_fd(f);
		sf_wake_shadowed(f->src);
		if (gone) {
			sf_event(f, SRC_FILE_EV_REMOVED, 0,
			    "log file %s was deleted (read to its end)",
			    f->path);
			if (f->src->is_glob) {
				f->dead = true;
				set->need_reap = true;
			}
			return false;
		}
		f->rotating = true;
	}
	/* Several rotations in a row: continue next turn. */
	return true;
}

/* ---- files and sources ---- */

static struct sf_file *
sf_file_new(struct src_file_src *src, const char *path)
{
	struct sf_file *f = xcalloc(1, sizeof *f);
	const char *slash;

	f->src = src;
	f->path = xstrdup(path);
	slash = strrchr(f->path, '/');
	if (slash == NULL) {
		f->base = f->path;
		f->dir = xstrdup(".");
	} else {
		f->base = slash + 1;
		f->dir = slash == f->path
		    ? xstrdup("/")
		    : xstrndup(f->path, (size_t)(slash - f->path));
	}
	f->fd = -1;
	xgrow(&src->files, &src->capfiles, src->nfiles + 1, sizeof *src->files);
	src->files[src->nfiles++] = f;
	src->set->nfiles++;
	return f;
}

static void
sf_file_free(struct sf_file *f)
{
	struct src_file_set *set = f->src->set;

	sf_dequeue(f);
	sf_close_fd(f);
	if (f->dw != NULL)
		watch_detach_file(set, f->dw, f);
	if (f->polled)
		set->npolled--;
	if (f->part_cap > 0)
		set->partial_total -= f->part_cap;
	set->nfiles--;
	free(f->part);
	free(f->path);
	free(f->dir);
	free(f);
}

static bool
sf_src_has(const struct src_file_src *src, const char *path)
{
	size_t i;

	for (i = 0; i < src->nfiles; i++)
		if (!src->files[i]->dead &&
		    strcmp(src->files[i]->path, path) == 0)
			return true;
	return false;
}

/* A file matched src's glob: start reading it unless it is known or a cap
 * is reached. initial: called from src_file_add. */
static void
sf_glob_found(struct src_file_src *src, const char *path, bool initial)
{
	struct src_file_set *set = src->set;
	struct sf_file *f;
	struct stat st;

	if (src->dead || sf_src_has(src, path))
		return;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	if (src->nfiles >= set->o.max_files_per_glob ||
	    set->nfiles >= set->o.max_files) {
		if (!src->cap_reported) {
			src->cap_reported = true;
			sf_src_event(src, SRC_FILE_EV_ERROR, 0,
			    "%s: file cap reached (%zu per glob, %zu in all); "
			    "ignoring %s and further matches",
			    src->pattern, set->o.max_files_per_glob,
			    set->o.max_files, path);
		}
		return;
	}
	f = sf_file_new(src, path);
	if (initial) {
		f->initial = true;
		sf_open(f);
		f->initial = false;
	}
	sf_watch_update(f);
	sf_enqueue(f);
}

static void
sf_glob_scan(struct src_file_src *src, bool initial)
{
	glob_t g;
	size_t i;
	int rc;

	memset(&g, 0, sizeof g);
	rc = glob(src->pattern, 0, NULL, &g);
	if (rc == 0)
		for (i = 0; i < g.gl_pathc && !src->dead; i++)
			sf_glob_found(src, g.gl_pathv[i], initial);
	globfree(&g);
	if (initial && src->nfiles == 0 && !src->missing_reported) {
		src->missing_reported = true;
		sf_src_event(src, SRC_FILE_EV_MISSING, ENOENT,
		    "no file matches %s (yet)", src->pattern);
	}
}

/* Watches a glob's directory for new files, or polls the glob. */
static void
sf_glob_watch_update(struct src_file_src *src)
{
	struct src_file_set *set = src->set;
	bool poll;

	if (src->gdw == NULL && src->gdir_plain && set->ifd >= 0) {
		src->gdw = watch_get(set, src->gdir, true);
		if (src->gdw != NULL)
			watch_attach_glob(src->gdw, src);
	}
	/* Without a wildcard-free directory we re-expand on the slow
	 * re-check; without its watch, on every poll. */
	poll = src->gdir_plain && src->gdw == NULL;
	if (poll != src->gpoll) {
		src->gpoll = poll;
		if (poll) {
			set->npolled++;
			if (uv_timer_get_due_in(&set->timer) > set->o.poll_ms)
				uv_timer_start(&set->timer, sf_on_timer,
				    set->o.poll_ms, 0);
		} else {
			set->npolled--;
		}
	}
}

static void
sf_src_release(struct src_file_src *src)
{
	struct src_file_set *set = src->set;
	size_t i;

	for (i = 0; i < src->nfiles; i++)
		sf_file_free(src->files[i]);
	free(src->files);
	if (src->gdw != NULL)
		watch_detach_glob(set, src->gdw, src);
	if (src->gpoll)
		set->npolled--;
	if (src->cd != (iconv_t)-1)
		iconv_close(src->cd);
	free(src->pattern);
	free(src->encoding);
	free(src->gdir);
	free(src->gbase);
	free(src);
}

/* Frees dead files and sources; only outside callbacks. */
static void
sf_reap(struct src_file_set *set)
{
	struct src_file_src **pp, *src;
	size_t i, j;

	if (set->depth > 0 || !set->need_reap)
		return;
	set->need_reap = false;
	pp = &set->srcs;
	while (*pp != NULL) {
		src = *pp;
		if (src->dead) {
			*pp = src->next;
			sf_src_release(src);
			continue;
		}
		for (i = j = 0; i < src->nfiles; i++) {
			if (src->files[i]->dead)
				sf_file_free(src->files[i]);
			else
				src->files[j++] = src->files[i];
		}
		src->nfiles = j;
		pp = &src->next;
	}
}

/* ---- loop callbacks ---- */

static void
sf_on_idle(uv_idle_t *h)
{
	struct src_file_set *set = h->data;
	struct sf_file *batch, *f, *next;

	size_t turn_left = set->o.turn_budget, budget, last;

	/* the records the lines cause (the jails' "Found" lines) go out in
	 * one write per 64 KiB and at the end of the turn */
	wlog_batch_begin();
	batch = set->qhead;
	set->qhead = set->qtail = NULL;
	set->depth++;
	for (f = batch; f != NULL && turn_left > 0; f = next) {
		next = f->qnext;
		f->queued = false;
		f->qnext = NULL;
		if (f->dead || f->src->dead)
			continue;
		budget = set->o.read_budget < turn_left ? set->o.read_budget
		                                        : turn_left;
		last = budget;
		if (sf_check(f, &budget))
			sf_enqueue(f);
		turn_left -= last - budget;
	}
	if (f != NULL) {
		/* The turn's budget is spent: the rest of the batch (still
		 * marked queued) goes first next turn. */
		for (next = f; next->qnext != NULL; next = next->qnext)
			;
		next->qnext = set->qhead;
		if (set->qtail == NULL)
			set->qtail = next;
		set->qhead = f;
	}
	set->depth--;
	sf_reap(set);
	if (set->qhead == NULL && set->idle_on) {
		set->idle_on = false;
		uv_idle_stop(&set->idle);
	}
	wlog_batch_end();
}

static void
sf_enqueue_all(struct src_file_set *set)
{
	struct src_file_src *src;
	size_t i;

	for (src = set->srcs; src != NULL; src = src->next)
		for (i = 0; i < src->nfiles; i++)
			sf_enqueue(src->files[i]);
}

/* The kernel dropped watch w (IN_IGNORED) or it no longer means what we
 * watched (a moved directory): detach everything, which polls it. */
static void
sf_watch_lost(struct src_file_set *set, struct sf_watch *w)
{
	struct sf_file *f;
	struct src_file_src *src;

	/* Out of the map first: re-watching below may get a new wd. */
	wmap_del(&set->wmap, w->wd);
	set->nwatches--;
	if (set->ifd >= 0)
		inotify_rm_watch(set->ifd, w->wd); /* EINVAL if gone */
	while (w->nfiles > 0) {
		f = w->files[--w->nfiles];
		if (f->dw == w)
			f->dw = NULL;
		if (f->fw == w)
			f->fw = NULL;
		sf_watch_update(f);
		sf_enqueue(f);
	}
	while (w->nglobs > 0) {
		src = w->globs[--w->nglobs];
		src->gdw = NULL;
		sf_glob_watch_update(src);
	}
	free(w->files);
	free(w->globs);
	free(w);
}

static void
sf_dir_event(struct src_file_set *set, struct sf_watch *w,
    const struct inotify_event *ev)
{
	struct src_file_src *src;
	char *path;
	size_t i;

	(void)set;
	for (i = 0; i < w->nfiles; i++)
		if (strcmp(w->files[i]->base, ev->name) == 0)
			sf_enqueue(w->files[i]);
	if ((ev->mask & IN_ISDIR) ||
	    !(ev->mask & (IN_CREATE | IN_MOVED_TO | IN_ATTRIB)))
		return;
	/* sf_glob_found attaches files to w, never globs. */
	for (i = 0; i < w->nglobs; i++) {
		src = w->globs[i];
		if (src->dead || fnmatch(src->gbase, ev->name, FNM_PERIOD) != 0)
			continue;
		path = strcmp(src->gdir, "/") == 0
		    ? xasprintf("/%s", ev->name)
		    : xasprintf("%s/%s", src->gdir, ev->name);
		sf_glob_found(src, path, false);
		free(path);
	}
}

static void
sf_on_inotify(uv_poll_t *h, int status, int events)
{
	struct src_file_set *set = h->data;
	char buf[SF_IBUF]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	struct sf_watch *w;
	struct src_file_src *src;
	ssize_t n;
	size_t i;
	int reads;
	char *p, *next;

	(void)events;
	if (status < 0)
		return;
	set->depth++;
	for (reads = 0; reads < SF_IREADS; reads++) {
		n = read(set->ifd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p = next) {
			ev = (const struct inotify_event *)p;
			next = p + sizeof(struct inotify_event) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events were lost: look at everything. */
				sf_enqueue_all(set);
				for (src = set->srcs; src; src = src->next)
					if (src->is_glob && !src->dead)
						sf_glob_scan(src, false);
				continue;
			}
			w = wmap_get(&set->wmap, ev->wd);
			if (w == NULL)
				continue;
			if (ev->mask & IN_IGNORED) {
				sf_watch_lost(set, w);
				continue;
			}
			if (w->is_dir &&
			    (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))) {
				/* The directory itself went away or moved:
				 * its watch no longer covers our names. */
				sf_watch_lost(set, w);
				continue;
			}
			if (w->is_dir && ev->len > 0)
				sf_dir_event(set, w, ev);
			else
				for (i = 0; i < w->nfiles; i++)
					sf_enqueue(w->files[i]);
		}
	}
	set->depth--;
	sf_reap(set);
}

static void
sf_on_timer(uv_timer_t *h)
{
	struct src_file_set *set = h->data;
	struct src_file_src *src;
	uint64_t now = uv_now(set->loop);
	bool full = now - set->last_full_ms >= set->o.recheck_ms;
	size_t i;

	if (full)
		set->last_full_ms = now;
	set->depth++;
	for (src = set->srcs; src != NULL; src = src->next) {
		if (src->dead)
			continue;
		/* Whatever was polled is looked at once more even if its
		 * watch is back now: it may have changed before the watch. */
		if (src->is_glob) {
			bool was = src->gpoll;

			sf_glob_watch_update(src);
			if (full || was)
				sf_glob_scan(src, false);
		}
		for (i = 0; i < src->nfiles; i++) {
			struct sf_file *f = src->files[i];
			bool was = f->polled;

			if (was)
				sf_watch_update(f);
			if (full || was)
				sf_enqueue(f);
		}
	}
	set->depth--;
	sf_reap(set);
	uv_timer_start(&set->timer, sf_on_timer,
	    set->npolled > 0 ? set->o.poll_ms : set->o.recheck_ms, 0);
}

/* ---- public API ---- */

int
src_file_backend_parse(const char *name, enum src_file_backend *out)
{
	if (strcasecmp(name, "auto") == 0)
		*out = SRC_FILE_BACKEND_AUTO;
	else if (strcasecmp(name, "pyinotify") == 0 ||
	    strcasecmp(name, "gamin") == 0)
		*out = SRC_FILE_BACKEND_INOTIFY;
	else if (strcasecmp(name, "polling") == 0)
		*out = SRC_FILE_BACKEND_POLLING;
	else
		return -1;
	return 0;
}

struct src_file_set *
src_file_new(uv_loop_t *loop, const struct src_file_opts *opts)
{
	struct src_file_set *set = xcalloc(1, sizeof *set);

	set->loop = loop;
	if (opts != NULL)
		set->o = *opts;
	if (set->o.poll_ms == 0)
		set->o.poll_ms = SRC_FILE_POLL_MS_DEFAULT;
	if (set->o.line_max == 0)
		set->o.line_max = SRC_FILE_LINE_MAX_DEFAULT;
	if (set->o.read_budget == 0)
		set->o.read_budget = SRC_FILE_BUDGET_DEFAULT;
	if (set->o.turn_budget == 0)
		set->o.turn_budget = 4 * set->o.read_budget;
	if (set->o.max_files == 0)
		set->o.max_files = SRC_FILE_MAX_FILES_DEFAULT;
	if (set->o.max_files_per_glob == 0)
		set->o.max_files_per_glob = SRC_FILE_MAX_GLOB_DEFAULT;
	if (set->o.max_partial == 0)
		set->o.max_partial = SRC_FILE_MAX_PARTIAL_DEFAULT;
	if (set->o.recheck_ms == 0)
		set->o.recheck_ms = SRC_FILE_RECHECK_MS_DEFAULT;
	if (set->o.max_watches == 0)
		set->o.max_watches = 2 * set->o.max_files + 64;
	set->chunk = xmalloc(SF_CHUNK);
	set->ifd = -1;
	if (set->o.backend != SRC_FILE_BACKEND_POLLING)
		set->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (set->ifd >= 0 && uv_poll_init(loop, &set->ipoll, set->ifd) != 0) {
		close(set->ifd);
		set->ifd = -1;
	}
	if (set->ifd >= 0) {
		set->ipoll.data = set;
		uv_poll_start(&set->ipoll, UV_READABLE, sf_on_inotify);
	}
	uv_timer_init(loop, &set->timer);
	set->timer.data = set;
	set->last_full_ms = uv_now(loop);
	uv_timer_start(&set->timer, sf_on_timer, set->o.recheck_ms, 0);
	uv_idle_init(loop, &set->idle);
	set->idle.data = set;
	return set;
}

const char *
src_file_backend_name(const struct src_file_set *set)
{
	return set->ifd >= 0 ? "pyinotify" : "polling";
}

static void
sf_on_close(uv_handle_t *h)
{
	struct src_file_set *set = h->data;

	if (--set->closing > 0)
		return;
	if (set->ifd >= 0)
		close(set->ifd);
	free(set->chunk);
	free(set->conv);
	free(set->wmap.slot);
	free(set);
}

void
src_file_free(struct src_file_set *set)
{
	struct src_file_src *src;

	if (set == NULL)
		return;
	assert(set->depth == 0 && "src_file_free called from a callback");
	while (set->srcs != NULL) {
		src = set->srcs;
		set->srcs = src->next;
		sf_src_release(src);
	}
	assert(set->wmap.n == 0);
	set->closing = 2;
	if (set->ifd >= 0) {
		set->closing++;
		uv_close((uv_handle_t *)&set->ipoll, sf_on_close);
	}
	uv_close((uv_handle_t *)&set->timer, sf_on_close);
	uv_close((uv_handle_t *)&set->idle, sf_on_close);
}

/* iconv for a fail2ban encoding name: (iconv_t)-1 for pass-through, or
 * NULL-like failure reported in d. */
static int
sf_encoding(const char *enc, iconv_t *out, struct diags *d)
{
	static const char *const plain[] = {"", "auto", "utf-8", "utf8",
	    "utf_8", "u8", "ascii", "us-ascii", "us_ascii"};
	char name[64], alt[64];
	iconv_t cd, back;
	size_t i, j, inleft, outleft;
	char nl[8], *in, *o;

	*out = (iconv_t)-1;
	if (enc == NULL)
		return 0;
	for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (strcasecmp(enc, plain[i]) == 0)
			return 0;
	if (strlen(enc) >= sizeof name) {
		diag_add(
		    d, DIAG_ERROR, NULL, 0, "unknown logencoding '%s'", enc);
		return -1;
	}
	/* Python spells names with '_' or '-' where iconv has '-' or none. */
	for (i = j = 0; enc[i] != '\0'; i++) {
		name[i] = enc[i] == '_' ? '-' : enc[i];
		if (enc[i] != '_' && enc[i] != '-')
			alt[j++] = enc[i];
	}
	name[i] = '\0';
	alt[j] = '\0';
	cd = iconv_open("UTF-8", enc);
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", alt);
	if (cd == (iconv_t)-1) {
		diag_add(
		    d, DIAG_ERROR, NULL, 0, "unknown logencoding '%s'", enc);
		return -1;
	}
	/* Lines are split at the byte 0x0A: the encoding must write '\n' as
	 * exactly that byte. */
	back = iconv_open(enc, "UTF-8");
	if (back == (iconv_t)-1)
		back = iconv_open(name, "UTF-8");
	if (back == (iconv_t)-1)
		back = iconv_open(alt, "UTF-8");
	if (back != (iconv_t)-1) {
		in = (char *)"\n";
		inleft = 1;
		o = nl;
		outleft = sizeof nl;
		if (iconv(back, &in, &inleft, &o, &outleft) == (size_t)-1)
			o = nl;
		iconv(back, NULL, NULL, &o, &outleft);
		iconv_close(back);
		if (o - nl != 1 || nl[0] != '\n') {
			iconv_close(cd);
			diag_add(d, DIAG_ERROR, NULL, 0,
			    "logencoding '%s' is not supported: its newline is "
			    "not the byte 0x0A (UTF-16/UTF-32 logs)",
			    enc);
			return -1;
		}
	}
	*out = cd;
	return 0;
}

struct src_file_src *
src_file_add(struct src_file_set *set, const char *pattern,
    const struct src_file_add_opts *opts, struct diags *d)
{
	struct src_file_src *src;
	struct sf_file *f;
	const char *slash;
	iconv_t cd;

	assert(set->depth == 0 && "src_file_add called from a callback");
	assert(opts != NULL && opts->cb.line != NULL);
	if (pattern == NULL || pattern[0] == '\0') {
		diag_add(d, DIAG_ERROR, NULL, 0, "empty log path");
		return NULL;
	}
	if (sf_encoding(opts->encoding, &cd, d) != 0)
		return NULL;
	if (set->nfiles >= set->o.max_files) {
		diag_add(d, DIAG_ERROR, NULL, 0,
		    "cannot watch %s: %zu files are watched already", pattern,
		    set->o.max_files);
		if (cd != (iconv_t)-1)
			iconv_close(cd);
		return NULL;
	}
	src = xcalloc(1, sizeof *src);
	src->set = set;
	src->pattern = xstrdup(pattern);
	src->mode = opts->mode;
	src->cd = cd;
	src->encoding = opts->encoding ? xstrdup(opts->encoding) : NULL;
	src->cb = opts->cb;
	src->is_glob = is_wild(pattern);
	src->next = set->srcs;
	set->srcs = src;
	set->depth++;
	if (src->is_glob) {
		slash = strrchr(pattern, '/');
		if (slash == NULL) {
			src->gdir = xstrdup(".");
			src->gbase = xstrdup(pattern);
		} else {
			src->gdir = slash == pattern
			    ? xstrdup("/")
			    : xstrndup(pattern, (size_t)(slash - pattern));
			src->gbase = xstrdup(slash + 1);
		}
		src->gdir_plain = !is_wild(src->gdir);
		sf_glob_watch_update(src);
		sf_glob_scan(src, true);
	} else {
		f = sf_file_new(src, pattern);
		f->initial = true;
		sf_open(f);
		f->initial = false;
		sf_watch_update(f);
		sf_enqueue(f);
	}
	set->depth--;
	if (src->dead) {
		set->need_reap = true;
		sf_reap(set);
		diag_add(d, DIAG_ERROR, NULL, 0, "%s removed while being added",
		    pattern);
		return NULL;
	}
	sf_reap(set);
	return src;
}

void
src_file_del(struct src_file_set *set, struct src_file_src *src)
{
	struct src_file_src **pp;

	if (src == NULL)
		return;
	src->dead = true;
	set->need_reap = true;
	if (set->depth > 0)
		return;
	for (pp = &set->srcs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == src) {
			*pp = src->next;
			break;
		}
	sf_src_release(src);
	sf_reap(set);
}

const char *
src_file_pattern(const struct src_file_src *src)
{
	return src->pattern;
}

void
src_file_foreach(const struct src_file_src *src,
    void (*fn)(void *arg, const struct src_file_info *info), void *arg)
{
	struct src_file_info info;
	size_t i;

	for (i = 0; i < src->nfiles; i++) {
		const struct sf_file *f = src->files[i];

		if (f->dead)
			continue;
		info.path = f->path;
		info.offset = f->line_start;
		info.hash = f->hash;
		info.open = f->fd >= 0;
		info.caught_up = f->caught_up;
		info.polled = f->polled;
		info.lines = f->lines;
		info.capped = f->capped;
		fn(arg, &info);
	}
}
