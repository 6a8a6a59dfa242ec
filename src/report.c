/*
 * The report socket (report.h): the message parser, the allowlist of
 * senders, and the datagram server in the libuv loop. The server reads
 * with recvmmsg() in batches under a per-wake budget, takes the kernel's
 * SCM_CREDENTIALS of each datagram, closes any descriptor passed along,
 * and checks, in this order: allowlist, rate (per uid, then global), size,
 * grammar; a report that passes all goes to the daemon's callback. It
 * does not know about jails, and it keeps no queue.
 */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "report.h"
#include "strv.h"
#include "xmalloc.h"

/*
 * SO_PASSRIGHTS (Linux 6.16): with it cleared the kernel refuses to
 * queue SCM_RIGHTS datagrams to us. Older headers lack it; the value is
 * the asm-generic one, so define it only where that table applies.
 * Older kernels refuse the option; descriptors are then closed on
 * receipt.
 */
#if !defined(SO_PASSRIGHTS) &&                                                 \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) ||       \
        defined(__arm__) || defined(__riscv))
#define SO_PASSRIGHTS 83
#endif

#define RX_BATCH      32 /* datagrams per recvmmsg() */
#define RX_MAXFDS     8  /* descriptors we make room for (then closed) */
#define RX_CMSG_BYTES 128
#define NONE          UINT32_MAX
#define EXCERPT       80 /* bytes of a malformed message shown in the log */

/* ---- messages -------------------------------------------------------- */

static const char *const errstr[REPORT_ERR_NERRS] = {
    [REPORT_OK_PARSED] = "no error",
    [REPORT_ERR_EMPTY] = "empty message",
    [REPORT_ERR_TOOLONG] = "message too long",
    [REPORT_ERR_CONTROL] = "control character in message",
    [REPORT_ERR_SPACING] = "empty field (two spaces, or a space at an end)",
    [REPORT_ERR_FIELDS] = "expected 3 or 4 fields: VERB SERVICE ADDRESS "
                          "[user=LOGIN]",
    [REPORT_ERR_VERB] = "unknown verb (fail or ok)",
    [REPORT_ERR_SERVICE] = "bad service name",
    [REPORT_ERR_ADDRESS] = "not an IPv4 or IPv6 address",
    [REPORT_ERR_FIELD] = "unknown field (only user=LOGIN may follow the "
                         "address)",
    [REPORT_ERR_USER] = "bad login (empty, too long, a space, a control "
                        "or invisible character, or invalid UTF-8)",
    [REPORT_ERR_NOUSER] = "ok needs user=LOGIN",
};

const char *
report_strerror(enum report_err e)
{
	if ((unsigned)e >= REPORT_ERR_NERRS)
		return "unknown error";
	return errstr[e];
}

static bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

bool
report_service_valid(const char *s, size_t n)
{
	if (n == 0 || n > REPORT_MAX_SERVICE || !is_alnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

/* Code points a login may not hold beyond ASCII: C1 controls, Unicode
 * spaces and invisible format characters (log and terminal spoofing). */
static bool
bad_codepoint(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xa0) || cp == 0xad || cp == 0x1680 ||
	    cp == 0x180e || (cp >= 0x2000 && cp <= 0x200f) ||
	    (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) ||
	    cp == 0x3000 || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
	    (cp >= 0xe0000 && cp <= 0xe007f);
}

bool
report_login_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (n == 0 || n > REPORT_MAX_USER)
		return false;
	while (i < n) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t len;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			if (c <= 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
			if (c == 0xe0)
				lo = 0xa0; /* no overlong forms */
			else if (c == 0xed)
				hi = 0x9f; /* no surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f; /* <= U+10FFFF */
		} else {
			return false;
		}
		if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (size_t k = 1; k < len; k++) {
			if (k > 1 && (p[i + k] < 0x80 || p[i + k] > 0xbf))
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (bad_codepoint(cp))
			return false;
		i += len;
	}
	return true;
}

enum report_err
report_parse(const char *buf, size_t n, struct report_msg *out)
{
	const char *f[4];
	size_t fl[4], nf = 0, start = 0;

	if (n > REPORT_MAX_MSG)
		return REPORT_ERR_TOOLONG;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n == 0)
		return REPORT_ERR_EMPTY;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x20 || c == 0x7f)
			return REPORT_ERR_CONTROL;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && buf[i] != ' ')
			continue;
		if (i == start)
			return REPORT_ERR_SPACING;
		if (nf == 4)
			return REPORT_ERR_FIELDS;
		f[nf] = buf + start;
		fl[nf] = i - start;
		nf++;
		start = i + 1;
	}
	if (nf < 3)
		return REPORT_ERR_FIELDS;
	memset(out, 0, sizeof(*out));
	if (fl[0] == 4 && memcmp(f[0], "fail", 4) == 0)
		out->verb = REPORT_FAIL;
	else if (fl[0] == 2 && memcmp(f[0], "ok", 2) == 0)
		out->verb = REPORT_OK;
	else
		return REPORT_ERR_VERB;
	if (!report_service_valid(f[1], fl[1]))
		return REPORT_ERR_SERVICE;
	memcpy(out->service, f[1], fl[1]);
	if (fl[2] > ADDR_STRLEN || addr_parse(f[2], fl[2], &out->addr) != 0)
		return REPORT_ERR_ADDRESS;
	if (nf == 4) {
		if (fl[3] < 5 || memcmp(f[3], "user=", 5) != 0)
			return REPORT_ERR_FIELD;
		if (!report_login_valid(f[3] + 5, fl[3] - 5))
			return REPORT_ERR_USER;
		out->has_user = true;
		out->user_len = fl[3] - 5;
		memcpy(out->user, f[3] + 5, out->user_len);
	}
	if (out->verb == REPORT_OK && !out->has_user)
		return REPORT_ERR_NOUSER;
	return REPORT_OK_PARSED;
}

int
report_format(const struct report_msg *m, char *buf, size_t size)
{
	char ab[ADDR_STRLEN];
	int n;

	n = snprintf(buf, size, "%s %s %s%s%s",
	    m->verb == REPORT_OK ? "ok" : "fail", m->service,
	    addr_format(&m->addr, ab), m->has_user ? " user=" : "",
	    m->has_user ? m->user : "");
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

/* ---- allowlist ------------------------------------------------------- */

/* Splits list at spaces, tabs, newlines and commas. */
static void
split_list(const char *list, struct strv *out)
{
	const char *p = list ? list : "";

	for (;;) {
		size_t n;

		p += strspn(p, " \t\r\n,");
		if (*p == '\0')
			break;
		n = strcspn(p, " \t\r\n,");
		strv_take(out, xstrndup(p, n));
		p += n;
	}
}

/* A decimal id ("1001"); false for anything else or (id_t)-1. */
static bool
parse_id(const char *s, unsigned long *v)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return *end == '\0' && errno == 0 && *v < (unsigned long)(uid_t)-1;
}

static void
add_uid(struct report_acl *acl, uid_t u)
{
	acl->uids = xreallocarray(acl->uids, acl->nuids + 1, sizeof(uid_t));
	acl->uids[acl->nuids++] = u;
}

static void
add_gid(struct report_acl *acl, gid_t g)
{
	acl->gids = xreallocarray(acl->gids, acl->ngids + 1, sizeof(gid_t));
	acl->gids[acl->ngids++] = g;
}

static int
cmp_id(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* Sorts and deduplicates both lists (uid_t and gid_t are unsigned int). */
static void
acl_normalise(struct report_acl *acl)
{
	_Static_assert(sizeof(uid_t) == sizeof(unsigned) &&
	        sizeof(gid_t) == sizeof(unsigned),
	    "uid_t and gid_t are 32-bit");
	unsigned *v[2] = {(unsigned *)acl->uids, (unsigned *)acl->gids};
	size_t *n[2] = {&acl->nuids, &acl->ngids};

	for (int k = 0; k < 2; k++) {
		size_t w = 0;

		if (*n[k] == 0)
			continue;
		qsort(v[k], *n[k], sizeof(unsigned), cmp_id);
		for (size_t i = 0; i < *n[k]; i++)
			if (w == 0 || v[k][w - 1] != v[k][i])
				v[k][w++] = v[k][i];
		*n[k] = w;
	}
}

static void
note_unknown(
    int *rc, char *err, size_t errlen, const char *what, const char *name)
{
	if (*rc == 0)
		snprintf(err, errlen, "unknown %s '%s'", what, name);
	*rc = -1;
}

int
report_acl_add_users(
    struct report_acl *acl, const char *list, char *err, size_t errlen)
{
	struct strv w = STRV_INIT;
	int rc = 0;

	split_list(list, &w);
	for (size_t i = 0; i < w.n; i++) {
		unsigned long v;
		struct passwd *pw;

		if (parse_id(w.v[i], &v)) {
			add_uid(acl, (uid_t)v);
			continue;
		}
		pw = getpwnam(w.v[i]);
		if (pw == NULL)
			note_unknown(&rc, err, errlen, "user", w.v[i]);
		else
			add_uid(acl, pw->pw_uid);
	}
	strv_cleanup(&w);
	acl_normalise(acl);
	return rc;
}

int
report_acl_add_groups(
    struct report_acl *acl, const char *list, char *err, size_t errlen)
{
	struct strv w = STRV_INIT;
	int rc = 0;

	split_list(list, &w);
	for (size_t i = 0; i < w.n; i++) {
		struct strv members = STRV_INIT;
		unsigned long v;
		struct group *gr;

		if (parse_id(w.v[i], &v)) {
			add_gid(acl, (gid_t)v);
			gr = getgrgid((gid_t)v);
		} else {
			gr = getgrnam(w.v[i]);
			if (gr == NULL) {
				note_unknown(&rc, err, errlen, "group", w.v[i]);
				continue;
			}
			add_gid(acl, gr->gr_gid);
		}
		/* copy first: getpwnam() may reuse NSS buffers */
		for (char **m = gr ? gr->gr_mem : NULL; m && *m; m++)
			strv_add(&members, *m);
		for (size_t k = 0; k < members.n; k++) {
			struct passwd *pw = getpwnam(members.v[k]);

			if (pw == NULL)
				note_unknown(&rc, err, errlen, "group member",
				    members.v[k]);
			else
				add_uid(acl, pw->pw_uid);
		}
		strv_cleanup(&members);
	}
	strv_cleanup(&w);
	acl_normalise(acl);
	return rc;
}

bool
report_acl_allows(const struct report_acl *acl, uid_t uid, gid_t gid)
{
	if (acl == NULL)
		return false;
	return (acl->nuids > 0 &&
	           bsearch(&uid, acl->uids, acl->nuids, sizeof(uid_t),
	               cmp_id) != NULL) ||
	    (acl->ngids > 0 &&
	        bsearch(&gid, acl->gids, acl->ngids, sizeof(gid_t), cmp_id) !=
	            NULL);
}

bool
report_acl_empty(const struct report_acl *acl)
{
	return acl == NULL || (acl->nuids == 0 && acl->ngids == 0);
}

void
report_acl_copy(struct report_acl *dst, const struct report_acl *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src == NULL)
		return;
	if (src->nuids > 0) {
		dst->uids = xreallocarray(NULL, src->nuids, sizeof(uid_t));
		memcpy(dst->uids, src->uids, src->nuids * sizeof(uid_t));
		dst->nuids = src->nuids;
	}
	if (src->ngids > 0) {
		dst->gids = xreallocarray(NULL, src->ngids, sizeof(gid_t));
		memcpy(dst->gids, src->gids, src->ngids * sizeof(gid_t));
		dst->ngids = src->ngids;
	}
}

void
report_acl_cleanup(struct report_acl *acl)
{
	if (acl == NULL)
		return;
	free(acl->uids);
	free(acl->gids);
	memset(acl, 0, sizeof(*acl));
}

/* ---- the server ---------------------------------------------------------
 */

/* A token bucket: tokens (messages) refilled at rate per second up to
 * burst. */
struct bucket {
	double tokens;
	uint64_t last_ms; /* monotonic */
};

/* The rate state of one sender uid; senders live in one fixed array,
 * chained by hash and linked in least-recently-seen order. */
struct sender {
	uid_t uid;
	struct bucket b;
	uint32_t hnext;        /* next index in the hash chain, or NONE */
	uint32_t lprev, lnext; /* LRU list: head = most recently seen */
};

/* One receive slot of a recvmmsg() batch. */
struct rx_slot {
	char buf[REPORT_MAX_MSG];
	union {
		/* room for the credentials and RX_MAXFDS descriptors
		 * (checked in report_server_new); aligned as cmsghdr,
		 * whose flexible array glibc declares */
		char b[RX_CMSG_BYTES];
		size_t align;
	} cm;
	struct iovec iov;
	struct report_peer peer;
	bool has_cred;
	unsigned nfds; /* descriptors that came with it (closed) */
};

enum warn_kind {
	W_DENIED,
	W_RATE,
	W_OVERSIZED,
	W_MALFORMED,
	W_UNROUTED,
	W_RECV,
	W_NKINDS
};

struct report_server {
	uv_loop_t *loop;
	uv_poll_t poll;
	int fd;
	char *path;
	dev_t dev; /* the socket file we created, to unlink only it */
	ino_t ino;
	report_fn fn;
	void *arg;
	uid_t self_uid;
	bool freeing;

	struct report_acl acl;
	double s_rate, s_burst; /* per sender; s_rate < 0: no limit */
	double g_rate, g_burst; /* global */
	struct bucket global;
	struct sender *senders; /* cap entries, nused in use */
	uint32_t cap, nused;
	uint32_t *heads; /* hash heads, nheads (power of two) */
	uint32_t nheads;
	uint32_t lru_head, lru_tail;

	unsigned budget;
	double (*now)(void);
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;

	struct rx_slot *rx; /* RX_BATCH slots */
	struct mmsghdr *mm;

	struct report_stats st;
	struct wlog_rate warn[W_NKINDS];
};

static double
real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ms(struct report_server *s)
{
	return s->clock_ms ? s->clock_ms(s->clock_arg) : uv_now(s->loop);
}

static bool
bucket_take(struct bucket *b, double rate, double burst, uint64_t ms)
{
	if (rate < 0)
		return true;
	if (ms > b->last_ms) {
		b->tokens += (double)(ms - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ms = ms;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return true;
	}
	return false;
}

static uint32_t
uid_hash(const struct report_server *s, uid_t uid)
{
	return (uint32_t)(((uint64_t)uid * 0x9e3779b97f4a7c15ull) >> 32) &
	    (s->nheads - 1);
}

static void
lru_unlink(struct report_server *s, uint32_t i)
{
	struct sender *e = &s->senders[i];

	if (e->lprev != NONE)
		s->senders[e->lprev].lnext = e->lnext;
	else
		s->lru_head = e->lnext;
	if (e->lnext != NONE)
		s->senders[e->lnext].lprev = e->lprev;
	else
		s->lru_tail = e->lprev;
	e->lprev = e->lnext = NONE;
}

static void
lru_push(struct report_server *s, uint32_t i)
{
	struct sender *e = &s->senders[i];

	e->lprev = NONE;
	e->lnext = s->lru_head;
	if (s->lru_head != NONE)
		s->senders[s->lru_head].lprev = i;
	s->lru_head = i;
	if (s->lru_tail == NONE)
		s->lru_tail = i;
}

static void
senders_reset(struct report_server *s)
{
	s->nused = 0;
	s->lru_head = s->lru_tail = NONE;
	for (uint32_t i = 0; i < s->nheads; i++)
		s->heads[i] = NONE;
}

/* The bucket of uid, created (full) or recycled from the least recently
 * seen sender when the table is full. O(1) but for a short chain walk. */
static struct sender *
sender_get(struct report_server *s, uid_t uid, uint64_t ms)
{
	uint32_t h = uid_hash(s, uid), i;
	struct sender *e;

	for (i = s->heads[h]; i != NONE; i = s->senders[i].hnext)
		if (s->senders[i].uid == uid) {
			if (s->lru_head != i) {
				lru_unlink(s, i);
				lru_push(s, i);
			}
			return &s->senders[i];
		}
	if (s->nused < s->cap) {
		i = s->nused++;
	} else {
		uint32_t *pp;

		i = s->lru_tail;
		pp = &s->heads[uid_hash(s, s->senders[i].uid)];
		while (*pp != i)
			pp = &s->senders[*pp].hnext;
		*pp = s->senders[i].hnext;
		lru_unlink(s, i);
		s->st.senders_evicted++;
	}
	e = &s->senders[i];
	e->uid = uid;
	e->b.tokens = s->s_burst;
	e->b.last_ms = ms;
	e->hnext = s->heads[h];
	s->heads[h] = i;
	lru_push(s, i);
	return e;
}

/* Sets the rate fields from o (defaults for 0) and refills the buckets. */
static void
set_limits(struct report_server *s, const struct report_opts *o)
{
	double sr = o ? o->sender_rate : 0, sb = o ? o->sender_burst : 0;
	double gr = o ? o->global_rate : 0, gb = o ? o->global_burst : 0;

	if (sr == 0) {
		sr = REPORT_SENDER_RATE;
		sb = sb > 0 ? sb : REPORT_SENDER_BURST;
	}
	if (gr == 0) {
		gr = REPORT_GLOBAL_RATE;
		gb = gb > 0 ? gb : REPORT_GLOBAL_BURST;
	}
	s->s_rate = sr;
	s->s_burst = sb > 0 ? sb : (sr * 2 > 1 ? sr * 2 : 1);
	s->g_rate = gr;
	s->g_burst = gb > 0 ? gb : (gr * 2 > 1 ? gr * 2 : 1);
	s->global.tokens = s->g_burst;
	s->global.last_ms = now_ms(s);
	senders_reset(s);
}

void
report_server_configure(struct report_server *s, const struct report_acl *acl,
    const struct report_opts *o)
{
	report_acl_cleanup(&s->acl);
	report_acl_copy(&s->acl, acl);
	set_limits(s, o);
}

/* A warning at most every REPORT_LOG_INTERVAL seconds per kind. */
static bool
may_warn(struct report_server *s, enum warn_kind k, unsigned long *sup)
{
	return wlog_enabled(WLOG_WARNING) &&
	    wlog_rate_allow(&s->warn[k], s->now(), sup);
}

static void
warn_peer(struct report_server *s, enum warn_kind k,
    const struct report_peer *p, const char *what, const char *detail)
{
	unsigned long sup = 0;

	if (!may_warn(s, k, &sup))
		return;
	wlog(WLOG_WARNING, REPORT_LOGGER,
	    "Report from uid %u gid %u pid %d dropped: %s%s%s (%lu more "
	    "suppressed)",
	    (unsigned)p->uid, (unsigned)p->gid, (int)p->pid, what,
	    detail ? ": " : "", detail ? detail : "", sup);
}

/* Takes the credentials and closes the descriptors of one datagram. */
static void
scan_cmsg(struct report_server *s, struct msghdr *mh, struct rx_slot *r)
{
	r->has_cred = false;
	r->nfds = 0;
	memset(&r->peer, 0, sizeof(r->peer));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
	     c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			r->peer.pid = uc.pid;
			r->peer.uid = uc.uid;
			r->peer.gid = uc.gid;
			r->has_cred = true;
		} else if (c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(0)) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t k = 0; k < n; k++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + k * sizeof(int),
				    sizeof(fd));
				close(fd);
				r->nfds++;
				s->st.fds_closed++;
			}
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		r->nfds++; /* more were sent than fit: the kernel dropped
		              them, the datagram is refused all the same */
}

static void
handle_one(struct report_server *s, struct rx_slot *r, size_t len, int flags,
    double now, uint64_t ms)
{
	struct report_msg m;
	enum report_err e;
	char detail[EXCERPT * 4 + 64];

	s->st.received++;
	if (!r->has_cred) {
		s->st.dropped_denied++;
		warn_peer(s, W_DENIED, &r->peer, "no credentials", NULL);
		return;
	}
	if (r->peer.uid != 0 && r->peer.uid != s->self_uid &&
	    !report_acl_allows(&s->acl, r->peer.uid, r->peer.gid)) {
		s->st.dropped_denied++;
		warn_peer(s, W_DENIED, &r->peer,
		    "sender not in reportusers/reportgroups", NULL);
		return;
	}
	if ((s->s_rate >= 0 &&
	        !bucket_take(&sender_get(s, r->peer.uid, ms)->b, s->s_rate,
	            s->s_burst, ms)) ||
	    !bucket_take(&s->global, s->g_rate, s->g_burst, ms)) {
		unsigned long sup = 0;

		s->st.dropped_rate++;
		if (may_warn(s, W_RATE, &sup)) {
			wlog(WLOG_WARNING, REPORT_LOGGER,
			    "Reports arrive too fast (uid %u: over %g/s, or "
			    "all senders: over %g/s): %llu dropped so far",
			    (unsigned)r->peer.uid, s->s_rate, s->g_rate,
			    (unsigned long long)s->st.dropped_rate);
		}
		return;
	}
	if (flags & MSG_TRUNC) {
		s->st.dropped_oversized++;
		snprintf(detail, sizeof(detail), "more than %d bytes",
		    REPORT_MAX_MSG);
		warn_peer(s, W_OVERSIZED, &r->peer, "too long", detail);
		return;
	}
	if (r->nfds > 0) {
		s->st.dropped_malformed++;
		warn_peer(s, W_MALFORMED, &r->peer,
		    "file descriptors attached (closed)", NULL);
		return;
	}
	e = report_parse(r->buf, len, &m);
	if (e != REPORT_OK_PARSED) {
		s->st.dropped_malformed++;
		snprintf(detail, sizeof(detail), "'%.*s%s'",
		    (int)(len > EXCERPT ? EXCERPT : len), r->buf,
		    len > EXCERPT ? "..." : "");
		warn_peer(s, W_MALFORMED, &r->peer, report_strerror(e), detail);
		return;
	}
	if (s->fn(s->arg, &m, &r->peer, now)) {
		s->st.delivered++;
		if (m.verb == REPORT_OK)
			s->st.delivered_ok++;
		else
			s->st.delivered_fail++;
	} else {
		s->st.dropped_unrouted++;
		snprintf(detail, sizeof(detail), "'%s'", m.service);
		warn_peer(s, W_UNROUTED, &r->peer,
		    "no jail receives reports for service", detail);
	}
}

static void
on_readable(uv_poll_t *h, int status, int events)
{
	struct report_server *s = h->data;
	unsigned done = 0;

	(void)events;
	if (s->freeing)
		return;
	s->st.wakeups++;
	if (status < 0) {
		unsigned long sup = 0;

		s->st.recv_errors++;
		if (may_warn(s, W_RECV, &sup))
			wlog(WLOG_WARNING, REPORT_LOGGER,
			    "Report socket %s: %s", s->path,
			    uv_strerror(status));
		return;
	}
	while (done < s->budget && !s->freeing) {
		unsigned want =
		    s->budget - done < RX_BATCH ? s->budget - done : RX_BATCH;
		double now;
		uint64_t ms;
		int n;

		for (unsigned i = 0; i < want; i++) {
			struct msghdr *mh = &s->mm[i].msg_hdr;

			memset(mh, 0, sizeof(*mh));
			s->rx[i].iov.iov_base = s->rx[i].buf;
			s->rx[i].iov.iov_len = sizeof(s->rx[i].buf);
			mh->msg_iov = &s->rx[i].iov;
			mh->msg_iovlen = 1;
			mh->msg_control = s->rx[i].cm.b;
			mh->msg_controllen = sizeof(s->rx[i].cm.b);
			s->mm[i].msg_len = 0;
		}
		n = recvmmsg(
		    s->fd, s->mm, want, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
		if (n < 0) {
			unsigned long sup = 0;

			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			s->st.recv_errors++;
			if (may_warn(s, W_RECV, &sup))
				wlog(WLOG_WARNING, REPORT_LOGGER,
				    "Report socket %s: recvmmsg: %s", s->path,
				    strerror(errno));
			break;
		}
		/* Descriptors first, for the whole batch: the handler may
		 * free the server, and none may stay open then. */
		for (int i = 0; i < n; i++)
			scan_cmsg(s, &s->mm[i].msg_hdr, &s->rx[i]);
		now = s->now();
		ms = now_ms(s);
		for (int i = 0; i < n && !s->freeing; i++)
			handle_one(s, &s->rx[i], s->mm[i].msg_len,
			    s->mm[i].msg_hdr.msg_flags, now, ms);
		done += (unsigned)n;
	}
	if (done >= s->budget)
		s->st.budget_hits++;
}

/*
 * mkdir of the socket's directory (last level only), 0755 whatever the
 * umask (wardend runs under 077: senders must reach the socket). An
 * existing directory is left as it is.
 */
static void
make_parent(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0)
			(void)chmod(dir, 0755);
		/* else bind() reports the problem, if any */
	}
	free(dir);
}

static void
fill_sun(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

/* Some process still reads the socket at path. */
static bool
dgram_alive(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	fill_sun(&sa, path);
	/* ECONNREFUSED: nobody bound; EPROTOTYPE: a stream socket, alive
	 * as far as we are concerned (not ours to remove). */
	alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
	    errno == EPROTOTYPE;
	close(fd);
	return alive;
}

/* Removes a stale socket file at path; -1 with err when it must stay. */
static int
clear_path(const char *path, bool force, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	if (!force && dgram_alive(path)) {
		snprintf(err, errlen,
		    "%s: another process receives reports there", path);
		return -1;
	}
	if (unlink(path) != 0) {
		snprintf(
		    err, errlen, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Warns when the socket's directory lets nobody but its owner through:
 * senders other than root then get EACCES (e.g. /run/warden made 0700
 * under the daemon's umask by someone else).
 */
static void
check_parent(const char *path, gid_t sock_gid)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	struct stat st;

	if (slash != NULL && slash != dir)
		*slash = '\0';
	else
		dir[1] = '\0';
	if (stat(dir, &st) == 0 && !(st.st_mode & S_IXOTH) &&
	    !((st.st_mode & S_IXGRP) && st.st_gid == sock_gid))
		wlog(WLOG_WARNING, REPORT_LOGGER,
		    "Report socket %s: its directory %s (mode %04o) lets only "
		    "its owner through; other senders cannot reach the socket",
		    path, dir, (unsigned)(st.st_mode & 07777));
	free(dir);
}

static void
poll_closed(uv_handle_t *h)
{
	struct report_server *s = h->data;

	close(s->fd);
	report_acl_cleanup(&s->acl);
	free(s->senders);
	free(s->heads);
	free(s->rx);
	free(s->mm);
	free(s->path);
	free(s);
}

int
report_server_new(uv_loop_t *loop, const struct report_opts *o, report_fn fn,
    void *arg, struct report_server **out, char *err, size_t errlen)
{
	const char *path = o->path ? o->path : REPORT_DEFAULT_SOCKET;
	struct report_server *s;
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd = -1, on = 1, rc;

	*out = NULL;
	assert(CMSG_SPACE(sizeof(struct ucred)) +
	        CMSG_SPACE(sizeof(int) * RX_MAXFDS) <=
	    RX_CMSG_BYTES);
	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "report socket path '%s' %s", path,
		    path[0] != '/' ? "is not absolute" : "is too long");
		return -1;
	}
	make_parent(path);
	if (clear_path(path, o->force, err, errlen) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0) {
		snprintf(err, errlen, "SO_PASSCRED: %s", strerror(errno));
		close(fd);
		return -1;
	}
#ifdef SO_PASSRIGHTS
	{
		int off = 0;

		/* refused by kernels before 6.16: descriptors are then
		 * closed on receipt */
		(void)setsockopt(
		    fd, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off));
	}
#endif
	if (o->rcvbuf > 0)
		(void)setsockopt(
		    fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
	fill_sun(&sa, path);
	/* umask closes the window between bind() and chmod(). */
	old = umask(0077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0) {
		snprintf(
		    err, errlen, "cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if ((o->has_group && chown(path, (uid_t)-1, o->group) != 0) ||
	    chmod(path, 0660) != 0 || lstat(path, &st) != 0) {
		snprintf(
		    err, errlen, "cannot set up %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	check_parent(path, st.st_gid);
	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->fd = fd;
	s->path = xstrdup(path);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->fn = fn;
	s->arg = arg;
	s->self_uid = geteuid();
	s->budget = o->budget ? o->budget : REPORT_BUDGET;
	s->now = o->now ? o->now : real_now;
	s->clock_ms = o->clock_ms;
	s->clock_arg = o->clock_arg;
	s->cap = o->max_senders ? o->max_senders : REPORT_MAX_SENDERS;
	s->nheads = 1;
	while (s->nheads < 2 * s->cap)
		s->nheads <<= 1;
	s->senders = xcalloc(s->cap, sizeof(*s->senders));
	s->heads = xcalloc(s->nheads, sizeof(*s->heads));
	s->rx = xcalloc(RX_BATCH, sizeof(*s->rx));
	s->mm = xcalloc(RX_BATCH, sizeof(*s->mm));
	for (int k = 0; k < W_NKINDS; k++)
		s->warn[k] =
		    (struct wlog_rate)WLOG_RATE_INIT(REPORT_LOG_INTERVAL);
	report_acl_copy(&s->acl, o->acl);
	set_limits(s, o);
	rc = uv_poll_init(loop, &s->poll, fd);
	if (rc != 0) {
		snprintf(
		    err, errlen, "cannot watch %s: %s", path, uv_strerror(rc));
		unlink(path);
		report_acl_cleanup(&s->acl);
		free(s->senders);
		free(s->heads);
		free(s->rx);
		free(s->mm);
		free(s->path);
		free(s);
		close(fd);
		return -1;
	}
	s->poll.data = s;
	uv_poll_start(&s->poll, UV_READABLE, on_readable);
	*out = s;
	return 0;
}

void
report_server_free(struct report_server *s)
{
	struct stat st;

	if (s == NULL || s->freeing)
		return;
	s->freeing = true;
	/* Unlink only the socket we created, not a successor's. */
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, poll_closed);
}

void
report_server_stats(const struct report_server *s, struct report_stats *st)
{
	*st = s->st;
	st->senders = s->nused;
}

const char *
report_server_path(const struct report_server *s)
{
	return s->path;
}
