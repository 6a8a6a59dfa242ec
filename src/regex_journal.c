/*
 * regex_journal: `warden regex systemd-journal[...]` (see regex_journal.h).
 * It drives an ordinary src_journal from the head on a private loop and
 * stops at the first "caught up", so the lines are exactly those the
 * daemon's journal backend would produce.
 */
#include "regex_journal.h"

#include <string.h>
#include <strings.h>

#include "diag.h"
#include "journalmatch.h"
#include "src_journal.h"

bool
regex_journal_is_spec(const char *log)
{
	return strncmp(log, "systemd-journal", 15) == 0;
}

struct rj {
	const struct regex_journal_opts *o;
	struct diags *d;
	struct src_journal *sj;
	uv_loop_t *loop;
	long n;
	bool failed;
	bool done;
};

static void
rj_entry(void *arg, const struct src_journal_entry *e)
{
	struct rj *r = arg;

	r->n++;
	if (r->o->entry)
		r->o->entry(r->o->arg, e);
}

static void
rj_event(void *arg, const struct src_journal_event *ev)
{
	struct rj *r = arg;

	switch (ev->kind) {
	case SRC_JOURNAL_EV_CAUGHT_UP:
		r->done = true;
		uv_stop(r->loop);
		break;
	case SRC_JOURNAL_EV_MISSING:
		diag_add(r->d, DIAG_ERROR, NULL, 0,
		    "Opening the journal failed: %s", ev->message);
		r->failed = true;
		uv_stop(r->loop);
		break;
	case SRC_JOURNAL_EV_ERROR: {
		struct src_journal_stats st;

		if (r->sj == NULL) {
			/* during src_journal_new: the open failed */
			diag_add(r->d, DIAG_ERROR, NULL, 0,
			    "Opening the journal failed: %s", ev->message);
			r->failed = true;
			break;
		}
		src_journal_get_stats(r->sj, &st);
		diag_add(r->d, st.open ? DIAG_WARNING : DIAG_ERROR, NULL, 0,
		    "%s", ev->message);
		if (!st.open) {
			r->failed = true;
			uv_stop(r->loop);
		}
		break;
	}
	case SRC_JOURNAL_EV_LINE_CAPPED:
		diag_add(r->d, DIAG_WARNING, NULL, 0, "%s", ev->message);
		break;
	default:
		break;
	}
}

long
regex_journal_read(const struct regex_journal_opts *o, struct diags *d)
{
	struct src_journal_params p;
	struct src_journal_opts so = {0};
	struct rj r = {0};
	uv_loop_t loop;
	long rc = -1;

	src_journal_params_init(&p);
	if (src_journal_params_parse(&p, o->spec, d) != 0)
		goto out;
	if (uv_loop_init(&loop) != 0) {
		diag_add(d, DIAG_ERROR, NULL, 0, "cannot create an event loop");
		goto out;
	}
	r.o = o;
	r.d = d;
	r.loop = &loop;
	so.params = &p;
	so.match = o->match;
	so.start = SRC_JOURNAL_START_HEAD;
	so.line_max = o->line_max;
	so.budget = 4096;
	so.max_bytes = 16u << 20;
	so.cb.entry = rj_entry;
	so.cb.event = rj_event;
	so.cb.arg = &r;
	r.sj = src_journal_new(&loop, &so, d);
	if (r.sj != NULL && !r.failed)
		uv_run(&loop, UV_RUN_DEFAULT);
	src_journal_free(r.sj);
	/* a pending uv_stop makes one uv_run return at once */
	while (uv_run(&loop, UV_RUN_DEFAULT) != 0) {
	}
	uv_loop_close(&loop);
	if (r.sj != NULL && !r.failed && r.done)
		rc = r.n;
out:
	src_journal_params_cleanup(&p);
	return rc;
}
