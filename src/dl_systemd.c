/*
 * dl_systemd: libsystemd on first use, and sd_notify without it (see
 * dl_systemd.h).
 */
#include "dl_systemd.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DL_SYSTEMD_DEF(ret, name, params) ret(*dl_##name) params;
DL_SYSTEMD_FUNCS(DL_SYSTEMD_DEF)
#undef DL_SYSTEMD_DEF

/* Each pointer has exactly the type of the function it stands for. */
#define DL_SYSTEMD_CHECK(ret, name, params)                                    \
	_Static_assert(__builtin_types_compatible_p(                           \
	                   __typeof__(&name), __typeof__(dl_##name)),          \
	    #name " pointer type");
DL_SYSTEMD_FUNCS(DL_SYSTEMD_CHECK)
#undef DL_SYSTEMD_CHECK

static enum { DL_UNTRIED, DL_OK, DL_FAILED } state;
static char failure[512];
static const char *soname_override;

void
dl_systemd_set_soname(const char *soname)
{
	soname_override = soname;
	if (state == DL_FAILED)
		state = DL_UNTRIED;
}

bool
dl_systemd_loaded(void)
{
	return state == DL_OK;
}

static int
load(void)
{
	const char *so = soname_override ? soname_override : DL_SYSTEMD_SONAME;
	void *h, *sym;
	const char *e;

	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		e = dlerror();
		snprintf(failure, sizeof(failure),
		    "the systemd journal needs %s, which cannot be loaded "
		    "(%s); install the libsystemd0 package",
		    so, e ? e : "unknown error");
		return -1;
	}
#define DL_SYSTEMD_SYM(ret, name, params)                                      \
	sym = dlsym(h, #name);                                                 \
	if (sym == NULL) {                                                     \
		snprintf(failure, sizeof(failure),                             \
		    "%s has no %s(): libsystemd 246 or later is needed", so,   \
		    #name);                                                    \
		dlclose(h);                                                    \
		return -1;                                                     \
	}                                                                      \
	memcpy(&dl_##name, &sym, sizeof(sym));
	DL_SYSTEMD_FUNCS(DL_SYSTEMD_SYM)
#undef DL_SYSTEMD_SYM
	return 0;
}

int
dl_systemd_load(char *err, size_t errlen)
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

int
dl_sd_notify(const char *msg)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n, len;
	ssize_t w;
	int fd, saved;

	if (e == NULL || *e == '\0')
		return 0;
	n = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || n < 2 || n > sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, e, n);
	if (e[0] == '@')
		sa.sun_path[0] =
		    '\0'; /* abstract: the name is not terminated */
	len = offsetof(struct sockaddr_un, sun_path) + n;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	    (socklen_t)len);
	saved = errno;
	close(fd);
	if (w < 0)
		return -saved;
	return 1;
}
