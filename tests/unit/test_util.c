/*
 * Unit tests for the small utility modules: sbuf, strv, diag.
 */
#include <stdlib.h>

#include "diag.h"
#include "sbuf.h"
#include "strv.h"
#include "tap.h"
#include "xmalloc.h"

static void
test_sbuf(void)
{
	struct sbuf b = SBUF_INIT;

	is_str(sbuf_str(&b), "", "empty sbuf reads as empty string");
	sbuf_addstr(&b, "abc");
	sbuf_addch(&b, '-');
	sbuf_printf(&b, "%d/%s", 42, "x");
	is_str(sbuf_str(&b), "abc-42/x", "appends and printf concatenate");
	is_int(b.len, 8, "length tracks appended bytes");
	sbuf_truncate(&b, 3);
	is_str(sbuf_str(&b), "abc", "truncate shortens");
	for (int i = 0; i < 10000; i++)
		sbuf_addch(&b, 'z');
	is_int(b.len, 10003, "grows past many doublings");
	char *s = sbuf_detach(&b);
	is_int(strlen(s), 10003, "detach hands over the string");
	ok(b.s == NULL && b.len == 0, "detach leaves the buffer empty");
	free(s);
	sbuf_add(&b, "a\0b", 3);
	is_int(b.len, 3, "binary-safe add keeps embedded NUL");
	sbuf_cleanup(&b);
}

static void
test_strv(void)
{
	struct strv sv = STRV_INIT, cp = STRV_INIT;

	strv_add(&sv, "one");
	strv_take(&sv, xstrdup("two"));
	is_int(sv.n, 2, "two strings added");
	ok(sv.v[2] == NULL, "vector is NULL-terminated");
	is_int(strv_find(&sv, "two"), 1, "find returns the index");
	is_int(strv_find(&sv, "three"), -1, "find of a missing string is -1");
	strv_copy(&cp, &sv);
	ok(cp.v[0] != sv.v[0], "copy is deep");
	is_str(cp.v[1], "two", "copy keeps order");
	strv_cleanup(&sv);
	strv_cleanup(&cp);
}

static void
test_diag(void)
{
	struct diags d = DIAGS_INIT, d2 = DIAGS_INIT;

	diag_add(&d, DIAG_ERROR, "jail.conf", 12, "bad value '%s'", "x");
	diag_add(&d2, DIAG_WARNING, "a.conf", 0, "odd");
	diag_add(&d2, DIAG_ERROR, NULL, 0, "no file");
	diags_move(&d, &d2);
	is_int(d.n, 3, "move appends all entries");
	is_int(d.nerrors, 2, "error count follows the entries");
	is_int(d2.n, 0, "source is empty after move");
	char *s = diag_format(&d.v[0]);
	is_str(s, "jail.conf:12: bad value 'x'", "file:line: message");
	free(s);
	s = diag_format(&d.v[1]);
	is_str(s, "a.conf: warning: odd", "warning without a line");
	free(s);
	s = diag_format(&d.v[2]);
	is_str(s, "no file", "message alone without a file");
	free(s);
	diags_cleanup(&d);
}

int
main(void)
{
	test_sbuf();
	test_strv();
	test_diag();
	return done_testing();
}
