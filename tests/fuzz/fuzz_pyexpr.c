/*
 * Fuzzes the Python-expression subset: the input (up to a NUL byte) is
 * compiled with the names bantime formulas use, then evaluated with
 * several sets of values (ordinary, negative, float, NaN, extreme).
 * Checks: errors always carry a message naming a column, results format
 * and (for floats) read back to the same value.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyexpr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"ban.Time", "ban.Count", "banFactor"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1);
	char err[200], buf[PYEXPR_FMTLEN];
	struct pyexpr *e;
	struct pyexpr_val sets[5][3] = {
	    {pyexpr_int(600), pyexpr_int(3), pyexpr_int(1)},
	    {pyexpr_int(-1), pyexpr_int(0), pyexpr_float(0.5)},
	    {pyexpr_float(1e300), pyexpr_int(INT64_MAX), pyexpr_float(NAN)},
	    {pyexpr_int(INT64_MIN), pyexpr_int(-1), pyexpr_float(-INFINITY)},
	    {pyexpr_float(-0.0), pyexpr_int(63), pyexpr_int(0)},
	};

	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	e = pyexpr_compile(src, names, 3, err, sizeof(err));
	if (!e) {
		if (strncmp(err, "column ", 7) != 0)
			abort();
		free(src);
		return 0;
	}
	for (int k = 0; k < 5; k++) {
		struct pyexpr_val v;

		if (pyexpr_eval(e, sets[k], &v, err, sizeof(err)) != 0) {
			if (strncmp(err, "column ", 7) != 0)
				abort();
			continue;
		}
		pyexpr_format(&v, buf);
		if (strlen(buf) == 0 || strlen(buf) >= PYEXPR_FMTLEN)
			abort();
		if (v.type == PYEXPR_FLOAT && !isnan(v.f) &&
		    strtod(buf, NULL) != v.f)
			abort();
		if (v.type == PYEXPR_BOOL && v.i != 0 && v.i != 1)
			abort();
	}
	pyexpr_free(e);
	free(src);
	return 0;
}
