/*
 * Replays fuzz corpora without libFuzzer: links with one fuzz_<target>.c
 * harness and feeds it every file named on the command line, so `make
 * check` runs the saved corpus under any compiler and the sanitizer build.
 * Prints one TAP line per file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *fp = fopen(path, "rb");
	long n = -1;

	if (fp == NULL)
		return -1;
	if (fseek(fp, 0, SEEK_END) == 0)
		n = ftell(fp);
	if (n < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return -1;
	}
	*data = malloc((size_t)n + 1);
	if (*data == NULL || fread(*data, 1, (size_t)n, fp) != (size_t)n) {
		free(*data);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	*size = (size_t)n;
	return 0;
}

int
main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		uint8_t *data;
		size_t size;

		if (read_file(argv[i], &data, &size) != 0) {
			printf("not ok %d - cannot read %s\n", i, argv[i]);
			failed++;
			continue;
		}
		/* A crash or sanitizer report aborts the process, which
		 * tests/run counts as a failure of this suite. */
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		printf("ok %d - %s\n", i, argv[i]);
	}
	printf("1..%d\n", argc - 1);
	return failed ? 1 : 0;
}
