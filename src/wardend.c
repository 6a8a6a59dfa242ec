/*
 * wardend: the daemon's main (work in progress; see src/wardend.h).
 */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "wardend: not yet\n");
	return 1;
}
