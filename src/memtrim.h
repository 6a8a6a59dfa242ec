/*
 * memtrim: drops the pages of program and library code that the daemon's
 * start mapped from its resident set.
 *
 * Reading the configuration, compiling the filters and opening the
 * database run code (Warden's, libc's, SQLite's, PCRE2's) that an idle
 * daemon does not run again, and the kernel maps file pages around every
 * page fault (fault-around; large page-cache folios), so after a start nearly
 * all the code of every library is mapped: 4.8 MB of the 6.2 MB idle RSS
 * with 6 stock jails. mem_trim_code() unmaps (MADV_DONTNEED) the
 * read-only segments of every loaded ELF object. The pages stay in the
 * page cache, shared with other processes; the ones the daemon runs again
 * come back by minor faults, the rest become reclaimable like any
 * unmapped file page.
 *
 * Only segments the loader mapped without write permission are touched:
 * they hold no private copy of anything (objects with text relocations,
 * which write into code at load time, are skipped), so dropping them
 * loses nothing. Never touches anonymous memory.
 */
#ifndef WARDEN_MEMTRIM_H
#define WARDEN_MEMTRIM_H

#include <stddef.h>

/* Returns the bytes of address space advised (mapped or not). */
size_t mem_trim_code(void);

#endif
