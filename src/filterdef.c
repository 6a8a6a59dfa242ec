/*
 * Filter definitions (see filterdef.h).
 */
#include <stdlib.h>
#include <string.h>

#include "filterdef.h"
#include "xmalloc.h"

void
filterdef_init(struct filterdef *fd)
{
	memset(fd, 0, sizeof(*fd));
	fd->maxlines = 1;
	fd->usedns = xstrdup("warn");
}

static void
re_cleanup(struct filterdef_re *r)
{
	free(r->re);
	free(r->file);
	r->re = NULL;
	r->file = NULL;
	r->line = 0;
}

static void
list_cleanup(struct filterdef_re_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		re_cleanup(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
filterdef_cleanup(struct filterdef *fd)
{
	free(fd->name);
	re_cleanup(&fd->prefregex);
	list_cleanup(&fd->failregex);
	list_cleanup(&fd->ignoreregex);
	re_cleanup(&fd->datepattern);
	strv_cleanup(&fd->journalmatch);
	free(fd->usedns);
	free(fd->logtimezone);
	memset(fd, 0, sizeof(*fd));
}

void
filterdef_re_set(
    struct filterdef_re *dst, const char *re, const char *file, int line)
{
	re_cleanup(dst);
	dst->re = re ? xstrdup(re) : NULL;
	dst->file = file ? xstrdup(file) : NULL;
	dst->line = line;
}

void
filterdef_re_add(
    struct filterdef_re_list *list, const char *re, const char *file, int line)
{
	xgrow(&list->v, &list->cap, list->n + 1, sizeof(*list->v));
	memset(&list->v[list->n], 0, sizeof(list->v[0]));
	filterdef_re_set(&list->v[list->n], re, file, line);
	list->n++;
}
