/*
 * dl_nftnl: libnftnl on first use (see dl_nftnl.h).
 */
#include "dl_nftnl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DL_NFTNL_DEF(name) __typeof__(name) *dl_##name;
DL_NFTNL_FUNCS(DL_NFTNL_DEF)
#undef DL_NFTNL_DEF

static enum { DL_UNTRIED, DL_OK, DL_FAILED } state;
static char failure[512];
static const char *soname_override;

void
dl_nftnl_set_soname(const char *soname)
{
	soname_override = soname;
	if (state == DL_FAILED)
		state = DL_UNTRIED;
}

bool
dl_nftnl_loaded(void)
{
	return state == DL_OK;
}

static int
load(void)
{
	const char *so = soname_override ? soname_override : DL_NFTNL_SONAME;
	void *h, *sym;
	const char *e;

	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		e = dlerror();
		snprintf(failure, sizeof(failure),
		    "the nftables backend needs %s, which cannot be loaded "
		    "(%s); install the libnftnl11 package",
		    so, e ? e : "unknown error");
		return -1;
	}
#define DL_NFTNL_SYM(name)                                                     \
	sym = dlsym(h, #name);                                                 \
	if (sym == NULL) {                                                     \
		snprintf(                                                      \
		    failure, sizeof(failure), "%s has no %s()", so, #name);    \
		dlclose(h);                                                    \
		return -1;                                                     \
	}                                                                      \
	memcpy(&dl_##name, &sym, sizeof(sym));
	DL_NFTNL_FUNCS(DL_NFTNL_SYM)
#undef DL_NFTNL_SYM
	return 0;
}

int
dl_nftnl_load(char *err, size_t errlen)
{
	/* a failure is tried again: the package may have been installed */
	if (state != DL_OK)
		state = load() == 0 ? DL_OK : DL_FAILED;
	if (state == DL_OK)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", failure);
	return -1;
}

void
dl_nftnl_need(void)
{
	if (dl_nftnl_load(NULL, 0) != 0) {
		fprintf(stderr, "wardend: %s\n", failure);
		abort();
	}
}
