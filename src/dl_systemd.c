/*
 * dl_systemd: libsystemd on first use, and sd_notify without it (see
 * dl_systemd.h).
 */
#include "dl_systemd.h"

#include "dl.h"

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

#define DL_SYSTEMD_SYM(ret, name, params) {#name, &dl_##name},
static const struct dl_sym syms[] = {DL_SYSTEMD_FUNCS(DL_SYSTEMD_SYM)};
#undef DL_SYSTEMD_SYM

static struct dl_lib lib = {
    .soname = DL_SYSTEMD_SONAME,
    .user = "the systemd journal",
    .package = "libsystemd0",
    .too_old = ": libsystemd 246 or later is needed",
    .syms = syms,
    .nsyms = sizeof(syms) / sizeof(syms[0]),
};

void
dl_systemd_set_soname(const char *soname)
{
	dl_lib_set_soname(&lib, soname);
}

bool
dl_systemd_loaded(void)
{
	return lib.state == DL_OK;
}

int
dl_systemd_load(char *err, size_t errlen)
{
	return dl_lib_load(&lib, err, errlen);
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
