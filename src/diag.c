/*
 * Diagnostic lists (see diag.h).
 */
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "sbuf.h"
#include "xmalloc.h"

void
diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void
diags_cleanup(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	diags_init(d);
}

void
diag_vadd(struct diags *d, enum diag_level level, const char *file, int line,
    const char *fmt, va_list ap)
{
	struct diag *dg;

	xgrow(&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	dg = &d->v[d->n++];
	dg->level = level;
	dg->file = file ? xstrdup(file) : NULL;
	dg->line = line;
	dg->msg = xvasprintf(fmt, ap);
	if (level == DIAG_ERROR)
		d->nerrors++;
}

void
diag_add(struct diags *d, enum diag_level level, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, level, file, line, fmt, ap);
	va_end(ap);
}

void
diags_move(struct diags *dst, struct diags *src)
{
	xgrow(&dst->v, &dst->cap, dst->n + src->n, sizeof(*dst->v));
	if (src->n)
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	dst->nerrors += src->nerrors;
	free(src->v);
	diags_init(src);
}

char *
diag_format(const struct diag *dg)
{
	struct sbuf b = SBUF_INIT;

	if (dg->file && dg->line > 0)
		sbuf_printf(&b, "%s:%d: ", dg->file, dg->line);
	else if (dg->file)
		sbuf_printf(&b, "%s: ", dg->file);
	if (dg->level == DIAG_WARNING)
		sbuf_addstr(&b, "warning: ");
	else if (dg->level == DIAG_NOTE)
		sbuf_addstr(&b, "note: ");
	sbuf_addstr(&b, dg->msg);
	return sbuf_detach(&b);
}

void
diags_print(const struct diags *d, FILE *fp)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);

		fprintf(fp, "%s\n", s);
		free(s);
	}
}
