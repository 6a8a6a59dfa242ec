/*
 * The configparser dialect, one rule at a time, with the line numbers of
 * values and of errors. Expected results were checked against Python 3.11's
 * configparser with fail2ban's settings.
 */
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "tap.h"

static struct ini_file *
parse(const char *text, enum ini_status *st, struct diags *d)
{
	struct ini_file *f = NULL;

	*st = ini_parse("t.conf", text, strlen(text), 1000, &f, d);
	return f;
}

static const char *
val(const struct ini_file *f, const char *sec, const char *key)
{
	const struct ini_section *s = f ? ini_find_section(f, sec) : NULL;
	const struct ini_opt *o = s ? ini_find_opt(s, key) : NULL;

	return o ? o->value : NULL;
}

static const struct ini_opt *
opt(const struct ini_file *f, const char *sec, const char *key)
{
	const struct ini_section *s = f ? ini_find_section(f, sec) : NULL;

	return s ? ini_find_opt(s, key) : NULL;
}

/* Parses text, expects one error at line with msg containing want. */
static void
error_at(const char *text, int line, const char *want, const char *name)
{
	struct diags d = DIAGS_INIT;
	enum ini_status st;
	struct ini_file *f = parse(text, &st, &d);
	int found = 0;

	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].line == line && strstr(d.v[i].msg, want))
			found = 1;
	if (!ok(st == INI_SYNTAX && found && d.nerrors == 1, "%s", name)) {
		printf("#   status %d, %zu diags\n", st, d.n);
		for (size_t i = 0; i < d.n; i++)
			printf("#   %d: %s\n", d.v[i].line, d.v[i].msg);
	}
	ini_free(f);
	diags_cleanup(&d);
}

int
main(void)
{
	struct diags d = DIAGS_INIT;
	enum ini_status st;
	struct ini_file *f;
	const struct ini_opt *o;

	/* Sections are case-sensitive, keys folded, = and : both work. */
	f = parse(
	    "[Sec]\nKey = v1\nOther: v2\na:b = c\n[sec]\nkey=lower\n", &st, &d);
	is_int(st, INI_OK, "plain file parses");
	is_str(val(f, "Sec", "key"), "v1", "key folded to lower case");
	is_str(val(f, "Sec", "other"), "v2", "':' is a delimiter");
	is_str(val(f, "Sec", "a"), "b = c", "the first delimiter wins");
	is_str(
	    val(f, "sec", "key"), "lower", "section names are case-sensitive");
	ok(val(f, "Sec", "Key") == NULL, "keys are looked up folded");
	ini_free(f);

	/* Comments. */
	f = parse("# top\n; top\n[s]\na = 1 ; inline\nb = 2;no\nc = 3 # no\n"
	          "  # indented comment\nd = x\t;tab comment\n",
	    &st, &d);
	is_str(val(f, "s", "a"), "1", "';' after whitespace starts a comment");
	is_str(val(f, "s", "b"), "2;no", "';' right after text does not");
	is_str(
	    val(f, "s", "c"), "3 # no", "'#' after a value is not a comment");
	is_str(val(f, "s", "d"), "x", "';' after a tab starts a comment");
	ini_free(f);

	/* Continuation lines, comments and empty lines inside values. */
	f = parse("[s]\nre = one\n  two ; c\n# full comment\n   ; indented\n"
	          "\n  three\n\n\nnext = n\n   \n",
	    &st, &d);
	is_str(val(f, "s", "re"), "one\ntwo\n\nthree",
	    "continuations joined, comments dropped, empty line kept");
	o = opt(f, "s", "re");
	ok(o && o->nlines == 4 && o->lines[0] == 2 && o->lines[1] == 3 &&
	        o->lines[2] == 6 && o->lines[3] == 7,
	    "each value line keeps its source line");
	is_str(val(f, "s", "next"), "n", "trailing empty lines stripped");
	ini_free(f);

	/* Indentation is relative to the option line. */
	f = parse("[s]\n  a = 1\n  b = 2\n    more\n", &st, &d);
	is_str(val(f, "s", "a"), "1", "same indent is a new option");
	is_str(val(f, "s", "b"), "2\nmore", "deeper indent continues");
	ini_free(f);

	/* An empty first line and a value only on continuations. */
	f = parse("[s]\nk =\n   v1\n   v2\n", &st, &d);
	is_str(val(f, "s", "k"), "\nv1\nv2", "value starting on the next line");
	ini_free(f);

	/* Header text after the last ']' is ignored; DEFAULT merges. */
	f = parse(
	    "[a]b] trailing\nx = 1\n[DEFAULT]\nd1 = 1\n[DEFAULT]\nd2 = 2\n",
	    &st, &d);
	is_int(st, INI_OK, "repeated [DEFAULT] is fine");
	is_str(val(f, "a]b", "x"), "1", "header up to the last ']'");
	is_str(val(f, "DEFAULT", "d2"), "2", "[DEFAULT] sections merge");
	is_int(f->nsecs, 1, "DEFAULT is not a section");
	ini_free(f);

	/* \r\n and \r line ends; Unicode whitespace is whitespace. */
	f = parse("[s]\r\na = 1\r\n  b\rc = \xc2\xa0x\xe3\x80\x80\n", &st, &d);
	is_str(val(f, "s", "a"), "1\nb", "CRLF and CR end lines");
	is_str(val(f, "s", "c"), "x", "NBSP and ideographic space stripped");
	ini_free(f);

	/* Errors with their lines. */
	error_at("[s]\na = 1\nb = 2\na = 3\n", 4, "duplicate option 'a'",
	    "duplicate option within a file");
	error_at("[s]\na = 1\n[t]\n[s]\n", 4, "duplicate section 's'",
	    "duplicate section within a file");
	error_at("[DEFAULT]\na = 1\n[DEFAULT]\na = 2\n", 4,
	    "duplicate option 'a'", "duplicate DEFAULT option");
	error_at("a = 1\n[s]\n", 1, "no section header",
	    "option before any section");
	error_at("[s]\na = 1\njunk line\n", 3, "expected 'name = value'",
	    "line without delimiter");
	error_at("[s]\n = 1\n", 2, "option without a name", "empty key");
	error_at("[s]\na = 1\n[]\n", 3, "expected 'name = value'",
	    "empty section name is not a header");

	/* An unparsable line does not end the value before it (Python). */
	f = parse("[s]\nok = 1\njunk\n  more\n", &st, &d);
	is_str(val(f, "s", "ok"), "1\nmore",
	    "continuation after an unparsable line");
	ok(f && f->pyerr && strstr(f->pyerr, "[line  3]: 'junk\\n'"),
	    "configparser's ParsingError text");
	ini_free(f);
	f = parse("[s]\na = 1\na = 2\n", &st, &d);
	is_str(f ? f->pyerr : NULL,
	    "While reading from 't.conf' [line  3]: option 'a' in section 's' "
	    "already exists",
	    "configparser's DuplicateOptionError text");
	ini_free(f);

	/* Bad files. */
	f = NULL;
	st = ini_parse("b.conf", "[s]\na = \xff\n", 10, 0, &f, &d);
	is_int(st, INI_BADFILE, "invalid UTF-8 refused");
	ok(f == NULL, "no file returned for invalid UTF-8");
	st = ini_parse("b.conf", "[s]\na = \0\n", 9, 0, &f, &d);
	is_int(st, INI_BADFILE, "NUL byte refused");
	st = ini_parse("b.conf", "[s]\na = \xed\xa0\x80\n", 11, 0, &f, &d);
	is_int(st, INI_BADFILE, "UTF-8 surrogate refused");
	{
		char big[300];

		memset(big, 'x', sizeof(big));
		memcpy(big, "[s]\na = ", 8);
		st = ini_parse("b.conf", big, sizeof(big), 100, &f, &d);
		is_int(st, INI_SYNTAX, "over-long line is an error");
		ini_free(f);
	}
	st = ini_load("/nonexistent/x.conf", 1000, 0, &f, &d);
	is_int(st, INI_UNREADABLE, "missing file is unreadable");
	st = ini_load("/", 1000, 0, &f, &d);
	is_int(st, INI_UNREADABLE, "directory is unreadable");
	diags_cleanup(&d);
	return done_testing();
}
