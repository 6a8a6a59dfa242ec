/*
 * The C library's <spawn.h> (posix_spawn). Our own src/spawn.h shadows it
 * on the -Isrc include path, so spawn.c includes this file as
 * <spawn_sys.h> and it continues the search past src/.
 */
#ifndef WARDEN_SPAWN_SYS_H
#define WARDEN_SPAWN_SYS_H

#include_next <spawn.h>

#endif
