/*
 * Private declarations shared by the conf_*.c files. Not for other modules:
 * use conf.h.
 *
 * The conf module models fail2ban's client closely: a struct cp is one
 * Python ConfigParser (merged files: defaults + sections of options), a
 * struct defreader is a FilterReader/ActionReader, and the command stream
 * is built from Python-like values (struct pyval) so that `warden dump`
 * prints what `fail2ban-client -d` prints. Every string that comes from a
 * file is an "annotated string" (struct astr): each byte carries the id of
 * the file:line it came from, through %(x)s and <tag> substitution, so
 * errors found late (a bad regex, a bad time) point at the right line.
 */
#ifndef WARDEN_CONF_INT_H
#define WARDEN_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "diag.h"
#include "ini.h"
#include "strv.h"

#define F2B_VERSION "1.0.2" /* what fail2ban_version interpolates to */

/* ---- annotated strings ---- */

struct astr {
	char *s;     /* NUL-terminated; NULL until the first append */
	uint32_t *o; /* o[i]: origin id of s[i] (0: unknown) */
	size_t len;
	size_t cap;
	uint32_t korg; /* for option values: origin of the "key =" line */
};

#define ASTR_INIT                                                              \
	{                                                                      \
		NULL, NULL, 0, 0, 0                                            \
	}

void astr_cleanup(struct astr *a);
void astr_reset(struct astr *a);
/* Appends n bytes of s; o gives their origins (NULL: all org). */
void astr_add(
    struct astr *a, const char *s, const uint32_t *o, size_t n, uint32_t org);
void astr_addstr(struct astr *a, const char *s, uint32_t org);
void astr_addastr(struct astr *a, const struct astr *src);
/* "" when empty. */
const char *astr_str(const struct astr *a);
/* Heap copies (free with astr_free). src may not be NULL. */
struct astr *astr_dup(const struct astr *src);
struct astr *astr_new(const char *s, uint32_t org);
void astr_free(struct astr *a);
/* Origin of the first non-space byte at or after i (or of i). */
uint32_t astr_org_at(const struct astr *a, size_t i);

/* ---- ordered maps (Python dicts) ---- */

struct omap_ent {
	char *key;
	void *val;
};

struct omap {
	struct omap_ent *v; /* insertion order */
	size_t n;
	size_t cap;
	uint32_t *tab; /* open addressing: index + 1, 0 = empty */
	size_t tabcap; /* power of two, or 0 */
};

#define OMAP_INIT                                                              \
	{                                                                      \
		NULL, 0, 0, NULL, 0                                            \
	}

typedef void (*omap_free_fn)(void *);

long omap_find(const struct omap *m, const char *key);
/* The value for key (which may itself be NULL), or NULL when absent. */
void *omap_get(const struct omap *m, const char *key);
bool omap_has(const struct omap *m, const char *key);
/* Python's d[key] = val: replaces in place (freeing the old value with
 * fn) or appends. Takes val. */
void omap_set(struct omap *m, const char *key, void *val, omap_free_fn fn);
void omap_cleanup(struct omap *m, omap_free_fn fn);

/* An omap of key -> struct astr * (NULL = Python None). */
void omap_astr_free(void *p);
void omap_copy_astr(struct omap *dst, const struct omap *src);

/* ---- the load context ---- */

struct origin {
	uint32_t file; /* index into cctx.files */
	int line;
};

struct cp;

struct cctx {
	struct diags *d;
	char *basedir;       /* as fail2ban: trailing '/' stripped */
	struct strv files;   /* interned file names */
	struct origin *orgs; /* origin ids index this; [0] unused */
	size_t norgs;
	size_t orgcap;
	struct omap parsed;  /* path -> struct parsed * */
	struct omap incpath; /* include-list cache -> struct strv * */
	struct omap named;   /* "filter.d/sshd" -> struct named * */
	size_t nfiles;       /* files parsed (cap) */
	/* fail2ban would refuse the whole configuration: its message. */
	char *fatal;
	size_t fatal_seq; /* nerr when fatal was set */
	char *pyfatal;    /* Python's exception text for it, when known */
	struct omap seen; /* "file:line:msg" of diags already added */
	size_t nerr;      /* errors reported so far */
	char *last_err;   /* the last one's message */
	/* Set while one jail is processed: errors then disable it. */
	const char *cur_jail;
	char *jail_err; /* first error for cur_jail */
	bool quiet;     /* don't add diags (second passes) */
	unsigned flags; /* enum conf_load_flag */
};

void cctx_init(struct cctx *c, const char *basedir, struct diags *d);
void cctx_cleanup(struct cctx *c);
uint32_t cctx_origin(struct cctx *c, const char *file, int line);
/* File and line of an origin id (file NULL for 0). */
const char *cctx_org_file(const struct cctx *c, uint32_t org);
int cctx_org_line(const struct cctx *c, uint32_t org);
/*
 * Records an error at org. fatal: fail2ban refuses the whole
 * configuration on this error (remembered for dump). Also marks the jail
 * being processed as broken.
 */
void cctx_error(struct cctx *c, uint32_t org, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Python's text for the error just reported, if it set c->fatal. */
void cctx_set_py(struct cctx *c, const char *msg);
void cctx_warn(struct cctx *c, uint32_t org, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Error at a file without line. */
void cctx_error_file(struct cctx *c, const char *file, bool fatal,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- configparser (conf_cp.c) ---- */

struct cpsec {
	struct omap opts; /* key -> struct astr * */
	uint32_t org;     /* its first header */
};

struct cp {
	struct omap defaults; /* key -> struct astr * */
	struct omap sections; /* name -> struct cpsec * */
};

/* Cache entries of struct cctx. */
struct parsed {
	enum ini_status st;
	struct cp *cp;   /* NULL unless the file could be parsed */
	struct strv bad; /* sections with syntax errors */
};

struct named {
	int rc;        /* cp_read_named()'s result */
	struct cp *cp; /* owned */
	char *err;     /* first error met while reading it, or NULL */
	bool checked;  /* its [Definition] keys were checked */
};

struct cp *cp_new(void);
/* A parser holding one parsed file (values keep file:line origins). */
struct cp *cp_from_ini(struct cctx *c, const struct ini_file *f);
void cp_free(struct cp *cp);
struct cpsec *cp_section(const struct cp *cp, const char *name);
/* Creates the section if needed. */
struct cpsec *cp_add_section(struct cp *cp, const char *name, uint32_t org);

/*
 * SafeConfigParserWithIncludes.read(filenames): expands [INCLUDES] (with
 * .local siblings, loop-safe, cached) and merges every file into cp,
 * keeping overridden values in KNOWN/<section>. Returns the number of
 * files read, or -1 on an error fail2ban treats as fatal (reported).
 */
int cp_read_files(struct cctx *c, struct cp *cp, const struct strv *names);

/*
 * ConfigReader.read(name) with sharing: reads BASEDIR/name.conf,
 * name.d/ *.conf, name.local, name.d/ *.local. Returns the (cached) parser
 * in *out: 1 when some file was read, 0 when none exists (*out is then an
 * empty parser), -1 on a fatal error.
 */
int cp_read_named(struct cctx *c, const char *name, struct cp **out);
/* True the first time it is called for a named parser. */
bool cp_named_first_check(struct cctx *c, const char *name);
/* True when a parsed file has a syntax error inside section name. */
bool cp_section_has_errors(const struct cctx *c, const char *name);
/* The first error met while cp_read_named() read name, or NULL. */
const char *cp_named_error(const struct cctx *c, const char *name);

enum cp_rc {
	CP_OK = 0,
	CP_NOSECTION = 1,
	CP_NOOPTION = 2,
	CP_ERROR = -1, /* interpolation error: reported, fatal */
};

/*
 * ConfigParser.get(section, option, raw, vars) with fail2ban's
 * %(__name__)s, %(sec/opt)s, %(default/opt)s and %(known/opt)s. vars is
 * NULL or key -> astr (NULL values = None). On CP_OK *out holds the value
 * (appended; *is_none set when the value is None, is_none may be NULL).
 */
enum cp_rc cp_get(struct cctx *c, const struct cp *cp, const char *section,
    const char *option, bool raw, const struct omap *vars, struct astr *out,
    bool *is_none);

/* SafeConfigParserWithIncludes.get_ex (sec/opt and known/opt names). */
enum cp_rc cp_get_ex(struct cctx *c, const struct cp *cp, const char *section,
    const char *option, const struct omap *vars, struct astr *out,
    bool *is_none);

bool cp_has_option(const struct cp *cp, const char *section, const char *option,
    bool with_default);
/* merge_section(section, options, pref): takes nothing, copies values. */
void cp_merge_section(struct cp *cp, const char *section,
    const struct omap *opts, const char *pref);

/* glob.glob(pattern) in os.scandir order, and sorted. */
void conf_glob(const char *pattern, struct strv *out);
void conf_glob_sorted(const char *pattern, struct strv *out);
bool conf_path_exists(const char *p);
/* os.path.join(a, b) and os.path.abspath(p) (new strings). */
char *conf_py_join(const char *a, const char *b);
char *conf_abspath(const char *p);

/* Python names ("known/x") appearing in %(x)s anywhere in cp's values. */
void cp_collect_refs(const struct cp *cp, struct omap *refs);

/* ---- Python-like values for the command stream (conf_py.c) ---- */

enum py_type { PY_NONE, PY_BOOL, PY_INT, PY_STR, PY_LIST, PY_DICT };

struct pyval {
	enum py_type t;
	bool b;
	long long i;
	char *s;        /* PY_STR */
	uint32_t org;   /* PY_STR: origin of its first non-space byte */
	struct astr *a; /* PY_STR: the text with per-byte origins, or NULL */
	struct pyval **items; /* PY_LIST; PY_DICT: key, value, key ... */
	size_t n;
	size_t cap;
};

struct pyval *py_none(void);
struct pyval *py_bool(bool b);
struct pyval *py_int(long long i);
struct pyval *py_str(const char *s, uint32_t org);
/* A str keeping a's per-byte origins. */
struct pyval *py_astr(const struct astr *a);
struct pyval *py_list(void);
struct pyval *py_dict(void);
/* Appends (takes v). */
void py_append(struct pyval *list, struct pyval *v);
void py_insert(struct pyval *list, size_t at, struct pyval *v);
/* A list of strings: py_cmd("set", jail, "usedns", NULL) ... */
struct pyval *py_cmd(const char *first, ...) __attribute__((sentinel));
void py_free(struct pyval *v);
struct pyval *py_dup(const struct pyval *v);
/* repr(v) appended to b. */
struct sbuf;
void py_repr(const struct pyval *v, struct sbuf *b);
void py_repr_str(const char *s, struct sbuf *b);
/* json.dumps of a str -> str dict given as an omap of astr. */
void py_json_dumps(const struct omap *m, struct sbuf *b);

/* ---- helpers (conf_tags.c) ---- */

/* A vector of annotated strings. */
struct astrv {
	struct astr *v;
	size_t n;
	size_t cap;
};

void astrv_cleanup(struct astrv *v);

/*
 * extractOptions("name[k=v, ...]"): *name gets the part before '[' and
 * opts (key -> astr, insertion order, later duplicates override) the
 * options, each value keeping its origins. Returns 0, or -1 with a
 * message (new) in *err in fail2ban's words.
 */
int conf_extract_options(
    const struct astr *in, struct astr *name, struct omap *opts, char **err);
/* splitWithOptions(): the action list split into entries. -1 with *err
 * when the regex engine gives up (pathological input). */
int conf_split_with_options(
    const struct astr *in, struct astrv *out, char **err);
/* helpers.splitwords(). */
void conf_splitwords(const char *s, struct strv *out);
/* shlex.split(s) in POSIX mode; -1 with *err on unbalanced quotes. */
int conf_shlex_split(const char *s, struct strv *out, char **err);
/* Python's int(str): 0 or -1. */
int conf_py_int(const char *s, long long *out);
/* _as_bool(). */
bool conf_py_bool(const char *s);
/* CONDITIONAL_RE "^(\w+)(\?.+)$": length of the base name, or 0. */
size_t conf_conditional(const char *name);
/* Python str.lower() on ASCII (new string). */
char *conf_lower(const char *s);
/* Python's str.strip() of an astr (new astr in out, appended). */
void conf_astr_strip(const struct astr *in, struct astr *out);

typedef int (*addrepl_fn)(void *ctx, const char *tag, struct astr **out);

/*
 * substituteRecursiveTags(tags, ignore=ignore, addrepl=...): tags is
 * key -> astr (NULL = None); result (new omap of astr) in out. addrepl
 * returns 0 with *out (borrowed, may be NULL) or -1 on a fatal error.
 * Returns 0, or -1 with the error reported.
 */
int conf_substitute_tags(struct cctx *c, const struct omap *tags,
    const struct omap *ignore, addrepl_fn addrepl, void *actx,
    struct omap *out);

/* ---- readers (conf_read.c), typed result (conf_build.c) ---- */

enum opt_type { T_STR, T_INT, T_BOOL };

struct optdef {
	const char *name;
	enum opt_type type;
	const char *def; /* default (as text), or NULL for none */
};

/* A FilterReader or ActionReader. */
struct defreader {
	bool is_action;
	char *file;           /* name as given: "sshd", "iptables" */
	char *cfgname;        /* "filter.d/sshd" */
	char *jail;           /* jail name */
	struct cp *cp;        /* shared parser (owned by the cctx) */
	struct omap initopts; /* _initOpts: key -> astr */
	struct omap popts;    /* _pOpts */
	struct omap opts;     /* _opts */
	struct omap defcache; /* getCombOption cache */
	char *actname;        /* actions */
	char *wcmd[2];        /* actions: actionuserlock/actionuserunlock
	                         resolved (Warden's), or NULL */
	uint32_t org;         /* where the jail names it */
	struct cctx *c;
};

/* One entry of a jail's action list. */
struct jact {
	struct defreader *r; /* command action, or NULL */
	struct pyval *py;    /* .py action: its addaction command */
	char *name;          /* as written */
	char *actname;
	char *pyfile; /* .py: path */
	char *pyjson; /* .py: parameters */
	uint32_t org;
};

/* A JailReader. */
struct jailr {
	char *name;
	uint32_t org; /* section header */
	bool enabled;
	struct omap opts; /* key -> struct pyval * (__opts) */
	struct defreader *filter;
	struct jact *acts;
	size_t nacts;
	size_t actcap;
	char *config_error;   /* fail2ban's JailDefError text */
	bool failed;          /* reading stopped on an error fail2ban
	                         treats as fatal for everything */
	char *error;          /* first error of any kind: jail disabled */
	struct pyval *stream; /* its commands, NULL when it has an error */
	struct conf_logpath *logpaths;
	size_t nlogpaths;
	size_t lpcap;
};

void jailr_free(struct jailr *j);

/* Private part of struct conf. */
struct conf_priv {
	struct pyval *stream; /* the whole command stream */
	char *fatal;          /* fail2ban's whole-config error, or NULL */
	bool early_error;     /* fatal is printed as "ERROR: <msg>" */
};

/*
 * Builds the typed jail from a jail's stream (as the server would apply
 * it), validating values; errors go to c (with the jail current).
 * Returns 0, or -1 when the jail cannot run.
 */
int conf_build_jail(
    struct cctx *c, const struct jailr *jr, struct conf_jail *out);
void conf_jail_cleanup(struct conf_jail *j);
void conf_server_cleanup(struct conf_server *s);
/* Applies a filter stream (set/multi-set commands) to fd. */
void conf_apply_filter_cmds(struct cctx *c, const struct pyval *stream,
    size_t from, struct filterdef *fd);
/* Unknown option checks with did-you-mean hints (warden check). */
void conf_check_unknown(struct cctx *c, const struct cp *jcp);
/* warden: the file set read is warden.* (Warden's own options are
 * known there: socketgroup). */
void conf_check_server(struct cctx *c, const struct cp *fcp, bool warden);
/* Filter/action [Definition] keys close to a recognised option. */
void conf_check_definition(struct cctx *c, const struct cp *cp, bool action);

#endif
