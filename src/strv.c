/*
 * String vectors (see strv.h).
 */
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "xmalloc.h"

void
strv_init(struct strv *sv)
{
	sv->v = NULL;
	sv->n = 0;
	sv->cap = 0;
}

void
strv_cleanup(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	strv_init(sv);
}

void
strv_take(struct strv *sv, char *s)
{
	xgrow(&sv->v, &sv->cap, sv->n + 2, sizeof(*sv->v));
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void
strv_add(struct strv *sv, const char *s)
{
	strv_take(sv, xstrdup(s));
}

void
strv_extend(struct strv *sv, const struct strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		strv_add(sv, src->v[i]);
}

long
strv_find(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return (long)i;
	return -1;
}

void
strv_copy(struct strv *dst, const struct strv *src)
{
	strv_extend(dst, src);
}
