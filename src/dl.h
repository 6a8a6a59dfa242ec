/*
 * dl: a shared library loaded with dlopen on first use, its functions
 * resolved into pointers the caller owns. dl_systemd and dl_nftnl are
 * tables of this (wardend maps libsystemd and libnftnl only when a jail
 * needs them: bench/daemon.sh's idle RSS).
 */
#ifndef WARDEN_DL_H
#define WARDEN_DL_H

#include <stdbool.h>
#include <stddef.h>

/* One function: its name and the address of the pointer to fill. */
struct dl_sym {
	const char *name;
	void *slot; /* e.g. &dl_sd_journal_open, a pointer to a function pointer
	             */
};

struct dl_lib {
	/* set by the owner */
	const char *soname;  /* the file dlopen() opens */
	const char *user;    /* "the systemd journal": what needs it */
	const char *package; /* the Debian package to install */
	const char *too_old; /* added to "has no f()"; "" when nothing */
	const struct dl_sym *syms;
	size_t nsyms;
	/* state */
	enum { DL_UNTRIED, DL_OK, DL_FAILED } state;
	const char *override; /* test hook: another file to open */
	char failure[512];
};

/*
 * Loads l and resolves every symbol. Once it succeeded later calls return
 * 0 at once; a failure is tried again at the next call (the package may
 * have been installed since). Returns 0, or -1 with a message in err
 * (may be NULL) naming the library, what failed and the package.
 */
int dl_lib_load(struct dl_lib *l, char *err, size_t errlen);

/* The file to open instead of l->soname (NULL restores it). */
void dl_lib_set_soname(struct dl_lib *l, const char *soname);

#endif
