/*
 * dl: a shared library on first use (see dl.h).
 */
#include "dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int
load(struct dl_lib *l)
{
	const char *so = l->override ? l->override : l->soname;
	void *h, *sym;
	const char *e;

	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		e = dlerror();
		snprintf(l->failure, sizeof(l->failure),
		    "%s needs %s, which cannot be loaded (%s); install the %s "
		    "package",
		    l->user, so, e ? e : "unknown error", l->package);
		return -1;
	}
	for (size_t i = 0; i < l->nsyms; i++) {
		sym = dlsym(h, l->syms[i].name);
		if (sym == NULL) {
			snprintf(l->failure, sizeof(l->failure),
			    "%s has no %s()%s", so, l->syms[i].name,
			    l->too_old);
			dlclose(h);
			return -1;
		}
		memcpy(l->syms[i].slot, &sym, sizeof(sym));
	}
	return 0;
}

int
dl_lib_load(struct dl_lib *l, char *err, size_t errlen)
{
	if (l->state != DL_OK)
		l->state = load(l) == 0 ? DL_OK : DL_FAILED;
	if (l->state == DL_OK)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", l->failure);
	return -1;
}

void
dl_lib_set_soname(struct dl_lib *l, const char *soname)
{
	l->override = soname;
	if (l->state == DL_FAILED)
		l->state = DL_UNTRIED;
}
