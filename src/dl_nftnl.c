/*
 * dl_nftnl: libnftnl on first use (see dl_nftnl.h).
 */
#include "dl_nftnl.h"

#include "dl.h"

#include <stdio.h>
#include <stdlib.h>

#define DL_NFTNL_DEF(name) __typeof__(name) *dl_##name;
DL_NFTNL_FUNCS(DL_NFTNL_DEF)
#undef DL_NFTNL_DEF

#define DL_NFTNL_SYM(name) {#name, &dl_##name},
static const struct dl_sym syms[] = {DL_NFTNL_FUNCS(DL_NFTNL_SYM)};
#undef DL_NFTNL_SYM

static struct dl_lib lib = {
    .soname = DL_NFTNL_SONAME,
    .user = "the nftables backend",
    .package = "libnftnl11",
    .too_old = "",
    .syms = syms,
    .nsyms = sizeof(syms) / sizeof(syms[0]),
};

void
dl_nftnl_set_soname(const char *soname)
{
	dl_lib_set_soname(&lib, soname);
}

bool
dl_nftnl_loaded(void)
{
	return lib.state == DL_OK;
}

int
dl_nftnl_load(char *err, size_t errlen)
{
	return dl_lib_load(&lib, err, errlen);
}

void
dl_nftnl_need(void)
{
	if (dl_nftnl_load(NULL, 0) != 0) {
		fprintf(stderr, "wardend: %s\n", lib.failure);
		abort();
	}
}
