/*
 * Dropping code pages after start (see memtrim.h): walks the loaded
 * objects with dl_iterate_phdr (the loader's own list, stable while an
 * object stays loaded; Warden never unloads one) instead of parsing
 * /proc/self/maps, whose address ranges another thread could unmap and
 * reuse for writable memory between the read and the madvise.
 */
#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memtrim.h"

/* Does the object have text relocations (the loader wrote into a
 * read-only segment before protecting it again)? */
static bool
has_textrel(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_DYNAMIC)
			continue;
		for (const ElfW(Dyn) *d =
		         (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
		     d->d_tag != DT_NULL; d++) {
			if (d->d_tag == DT_TEXTREL)
				return true;
			if (d->d_tag == DT_FLAGS &&
			    (d->d_un.d_val & DF_TEXTREL))
				return true;
		}
	}
	return false;
}

static int
trim_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	size_t *total = arg;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	(void)size;
	/* the vDSO is the kernel's, not a file mapping */
	if (info->dlpi_addr == (ElfW(Addr))getauxval(AT_SYSINFO_EHDR))
		return 0;
	if (has_textrel(info))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo, hi;

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
			continue;
		/* whole pages inside the segment only: a page shared with a
		 * writable neighbour is left alone */
		lo = info->dlpi_addr + ph->p_vaddr;
		hi = lo + ph->p_memsz;
		lo = (lo + page - 1) & ~(page - 1);
		hi &= ~(page - 1);
		if (hi <= lo)
			continue;
		if (madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0)
			*total += hi - lo;
	}
	return 0;
}

size_t
mem_trim_code(void)
{
	size_t total = 0;

	dl_iterate_phdr(trim_object, &total);
	return total;
}
