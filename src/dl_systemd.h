/*
 * dl_systemd: libsystemd loaded on first use. wardend links no libsystemd:
 * a daemon without a journal jail (backend = systemd) or a SYSTEMD-JOURNAL
 * log target never maps it. Debian 12's libsystemd brings liblz4, libzstd,
 * liblzma, libgcrypt, libgpg-error and libcap with it: about 0.8 MB of the
 * idle daemon's RSS (bench/daemon.sh, issue 3).
 *
 * dl_systemd_load() dlopen()s libsystemd.so.0 once and fills the pointers
 * below; every caller of a dl_sd_* pointer must have had it return 0 (the
 * journal source does in src_journal_new, the log in its target setup).
 * sd_notify needs no library: dl_sd_notify() speaks the protocol itself.
 */
#ifndef WARDEN_DL_SYSTEMD_H
#define WARDEN_DL_SYSTEMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-journal.h>

/* X(return type, name, parameter list): the libsystemd functions used. */
#define DL_SYSTEMD_FUNCS(X)                                                    \
	X(int, sd_journal_open, (sd_journal * *ret, int flags))                \
	X(int, sd_journal_open_directory,                                      \
	    (sd_journal * *ret, const char *path, int flags))                  \
	X(int, sd_journal_open_files,                                          \
	    (sd_journal * *ret, const char **paths, int flags))                \
	X(int, sd_journal_open_namespace,                                      \
	    (sd_journal * *ret, const char *ns, int flags))                    \
	X(void, sd_journal_close, (sd_journal * j))                            \
	X(int, sd_journal_next, (sd_journal * j))                              \
	X(int, sd_journal_previous, (sd_journal * j))                          \
	X(int, sd_journal_seek_head, (sd_journal * j))                         \
	X(int, sd_journal_seek_tail, (sd_journal * j))                         \
	X(int, sd_journal_seek_cursor, (sd_journal * j, const char *cursor))   \
	X(int, sd_journal_seek_realtime_usec, (sd_journal * j, uint64_t usec)) \
	X(int, sd_journal_test_cursor, (sd_journal * j, const char *cursor))   \
	X(int, sd_journal_get_cursor, (sd_journal * j, char **cursor))         \
	X(int, sd_journal_get_realtime_usec, (sd_journal * j, uint64_t * ret)) \
	X(int, sd_journal_get_monotonic_usec,                                  \
	    (sd_journal * j, uint64_t * ret, sd_id128_t * ret_boot_id))        \
	X(int, sd_journal_get_usage, (sd_journal * j, uint64_t * bytes))       \
	X(int, sd_journal_get_fd, (sd_journal * j))                            \
	X(int, sd_journal_get_events, (sd_journal * j))                        \
	X(int, sd_journal_get_timeout,                                         \
	    (sd_journal * j, uint64_t * timeout_usec))                         \
	X(int, sd_journal_process, (sd_journal * j))                           \
	X(int, sd_journal_set_data_threshold, (sd_journal * j, size_t sz))     \
	X(int, sd_journal_enumerate_data,                                      \
	    (sd_journal * j, const void **data, size_t *l))                    \
	X(void, sd_journal_restart_data, (sd_journal * j))                     \
	X(int, sd_journal_add_match,                                           \
	    (sd_journal * j, const void *data, size_t size))                   \
	X(int, sd_journal_add_disjunction, (sd_journal * j))                   \
	X(void, sd_journal_flush_matches, (sd_journal * j))                    \
	X(int, sd_journal_send, (const char *format, ...))

#define DL_SYSTEMD_DECL(ret, name, params) extern ret(*dl_##name) params;
DL_SYSTEMD_FUNCS(DL_SYSTEMD_DECL)
#undef DL_SYSTEMD_DECL

/* The library dl_systemd_load() opens. */
#define DL_SYSTEMD_SONAME "libsystemd.so.0"

/*
 * Loads libsystemd and resolves every function above. Once it succeeded
 * later calls return 0 at once; a failure is tried again at the next call
 * (the package may have been installed since). Returns 0, or -1 with a
 * message in err naming the library, what failed and the package to install.
 */
int dl_systemd_load(char *err, size_t errlen);

/* True once dl_systemd_load() succeeded. */
bool dl_systemd_loaded(void);

/*
 * Test hook: the file name dl_systemd_load() opens instead of
 * DL_SYSTEMD_SONAME (NULL restores it). Only before the first load.
 */
void dl_systemd_set_soname(const char *soname);

/*
 * sd_notify(0, state) without libsystemd: one datagram holding state to
 * the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for an
 * abstract socket). Returns 0 when NOTIFY_SOCKET is unset, 1 when sent,
 * a negative errno otherwise.
 */
int dl_sd_notify(const char *state);

#endif
