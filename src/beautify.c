/*
 * fail2ban-client's output layouts (see beautify.h). Each command's
 * layout is decided in the same order fail2ban's client decides it: by
 * the first argument, then the second, then the third, so odd
 * combinations print what fail2ban would. Python's str()/repr() of the
 * JSON-borne values is reproduced here too (quotes, escapes, float
 * formatting), because fail2ban prints whole Python lists and dicts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beautify.h"
#include "xmalloc.h"

/* ---- Python repr ---- */

/* Decodes one UTF-8 character (input is valid: jansson checked it). */
static size_t
utf8_next(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
	unsigned c = p[0];
	size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	if ((size_t)(end - p) < n) {
		*cp = 0xfffd;
		return 1;
	}
	switch (n) {
	case 1:
		*cp = c;
		break;
	case 2:
		*cp = (c & 0x1f) << 6 | (p[1] & 0x3f);
		break;
	case 3:
		*cp = (c & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f);
		break;
	default:
		*cp = (c & 0x07) << 18 | (p[1] & 0x3f) << 12 |
		    (p[2] & 0x3f) << 6 | (p[3] & 0x3f);
		break;
	}
	return n;
}

/*
 * Python's str.isprintable() for one code point, for the categories that
 * matter in practice: controls, format characters, separators other than
 * the space, private use and non-characters are not printable.
 */
static bool
py_printable(unsigned cp)
{
	static const unsigned ranges[][2] = {
	    {0x00, 0x1f},
	    {0x7f, 0xa0},
	    {0xad, 0xad},
	    {0x600, 0x605},
	    {0x61c, 0x61c},
	    {0x6dd, 0x6dd},
	    {0x70f, 0x70f},
	    {0x180e, 0x180e},
	    {0x1680, 0x1680},
	    {0x2000, 0x200f},
	    {0x2028, 0x202f},
	    {0x205f, 0x2064},
	    {0x2066, 0x206f},
	    {0x3000, 0x3000},
	    {0xd800, 0xf8ff},
	    {0xfdd0, 0xfdef},
	    {0xfeff, 0xfeff},
	    {0xfff9, 0xfffb},
	    {0x110bd, 0x110bd},
	    {0x1d173, 0x1d17a},
	    {0xe0001, 0xe0001},
	    {0xe0020, 0xe007f},
	    {0xf0000, 0x10ffff},
	};

	if ((cp & 0xfffe) == 0xfffe)
		return false;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return false;
	return true;
}

void
beautify_repr_str(struct sbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char q = '\'';

	if (memchr(s, '\'', n) != NULL && memchr(s, '"', n) == NULL)
		q = '"';
	sbuf_addch(b, q);
	while (p < end) {
		unsigned cp;
		size_t k = utf8_next(p, end, &cp);

		if (cp == (unsigned char)q || cp == '\\') {
			sbuf_addch(b, '\\');
			sbuf_addch(b, (char)cp);
		} else if (cp == '\t') {
			sbuf_addstr(b, "\\t");
		} else if (cp == '\n') {
			sbuf_addstr(b, "\\n");
		} else if (cp == '\r') {
			sbuf_addstr(b, "\\r");
		} else if (py_printable(cp)) {
			sbuf_add(b, p, k);
		} else if (cp <= 0xff) {
			sbuf_printf(b, "\\x%02x", cp);
		} else if (cp <= 0xffff) {
			sbuf_printf(b, "\\u%04x", cp);
		} else {
			sbuf_printf(b, "\\U%08x", cp);
		}
		p += k;
	}
	sbuf_addch(b, q);
}

void
beautify_repr_float(struct sbuf *b, double d)
{
	char tmp[64], digits[32];
	int exp10, nd = 0, decpt;
	char *e;

	if (isnan(d)) {
		sbuf_addstr(b, "nan");
		return;
	}
	if (isinf(d)) {
		sbuf_addstr(b, d < 0 ? "-inf" : "inf");
		return;
	}
	if (signbit(d)) {
		sbuf_addch(b, '-');
		d = -d;
	}
	if (d == 0) {
		sbuf_addstr(b, "0.0");
		return;
	}
	/* The shortest %e form that reads back as d (Python's repr). */
	for (int prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	e = strchr(tmp, 'e');
	exp10 = (int)strtol(e + 1, NULL, 10);
	for (char *p = tmp; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	decpt = exp10 + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			sbuf_addstr(b, "0.");
			for (int i = 0; i < -decpt; i++)
				sbuf_addch(b, '0');
			sbuf_add(b, digits, (size_t)nd);
		} else if (decpt >= nd) {
			sbuf_add(b, digits, (size_t)nd);
			for (int i = nd; i < decpt; i++)
				sbuf_addch(b, '0');
			sbuf_addstr(b, ".0");
		} else {
			sbuf_add(b, digits, (size_t)decpt);
			sbuf_addch(b, '.');
			sbuf_add(b, digits + decpt, (size_t)(nd - decpt));
		}
		return;
	}
	sbuf_addch(b, digits[0]);
	if (nd > 1) {
		sbuf_addch(b, '.');
		sbuf_add(b, digits + 1, (size_t)(nd - 1));
	}
	sbuf_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
}

static void
repr_into(struct sbuf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		sbuf_addstr(b, "None");
		break;
	case JSON_TRUE:
		sbuf_addstr(b, "True");
		break;
	case JSON_FALSE:
		sbuf_addstr(b, "False");
		break;
	case JSON_INTEGER:
		sbuf_printf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		beautify_repr_float(b, json_real_value(v));
		break;
	case JSON_STRING:
		beautify_repr_str(
		    b, json_string_value(v), json_string_length(v));
		break;
	case JSON_ARRAY:
		sbuf_addch(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				sbuf_addstr(b, ", ");
			repr_into(b, json_array_get(v, i));
		}
		sbuf_addch(b, ']');
		break;
	case JSON_OBJECT: {
		const char *k;
		const json_t *x;
		bool first = true;

		sbuf_addch(b, '{');
		json_object_foreach((json_t *)v, k, x)
		{
			if (!first)
				sbuf_addstr(b, ", ");
			first = false;
			beautify_repr_str(b, k, strlen(k));
			sbuf_addstr(b, ": ");
			repr_into(b, x);
		}
		sbuf_addch(b, '}');
		break;
	}
	}
}

/* str(): strings as they are, everything else as repr. */
static void
str_into(struct sbuf *b, const json_t *v)
{
	if (json_is_string(v))
		sbuf_add(b, json_string_value(v), json_string_length(v));
	else
		repr_into(b, v);
}

char *
beautify_pyrepr(const json_t *v)
{
	struct sbuf b = SBUF_INIT;

	repr_into(&b, v);
	return sbuf_detach(&b);
}

char *
beautify_pystr(const json_t *v)
{
	struct sbuf b = SBUF_INIT;

	str_into(&b, v);
	return sbuf_detach(&b);
}

void
beautify_level_name(struct sbuf *b, long long level)
{
	static const struct {
		long long n;
		const char *name;
	} names[] = {{0, "NOTSET"}, {5, "HEAVY"}, {7, "TRACE"}, {10, "DEBUG"},
	    {18, "MSG"}, {20, "INFO"}, {25, "NOTICE"}, {30, "WARNING"},
	    {40, "ERROR"}, {50, "CRITICAL"}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].n == level) {
			sbuf_addstr(b, names[i].name);
			return;
		}
	if (level > 0 && level < 50)
		sbuf_printf(b, "#%02lld-Lev.", level);
	else
		sbuf_printf(b, "Level %lld", level);
}

/* ---- layouts ---- */

static bool
arg_is(int argc, char *const *argv, int i, const char *s)
{
	return i < argc && strcmp(argv[i], s) == 0;
}

static bool
arg_in(int argc, char *const *argv, int i, const char *const *set)
{
	for (; *set; set++)
		if (arg_is(argc, argv, i, *set))
			return true;
	return false;
}

/* True when v is an array of strings. */
static bool
is_str_list(const json_t *v)
{
	if (!json_is_array(v))
		return false;
	for (size_t i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return false;
	return true;
}

static void
add_jstr(struct sbuf *b, const json_t *s)
{
	sbuf_add(b, json_string_value(s), json_string_length(s));
}

/* Appends the strings of list joined by sep. */
static void
join(struct sbuf *b, const json_t *list, const char *sep)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		if (i > 0)
			sbuf_addstr(b, sep);
		add_jstr(b, json_array_get(list, i));
	}
}

/* A "|- x" / "`- y" tree of the strings of list, each after pre(i). */
static void
tree(struct sbuf *b, const json_t *list, bool indexed)
{
	size_t n = json_array_size(list);

	for (size_t i = 0; i < n; i++) {
		sbuf_addstr(b, i + 1 < n ? "|- " : "`- ");
		if (indexed)
			sbuf_printf(b, "[%zu]: ", i);
		add_jstr(b, json_array_get(list, i));
		if (i + 1 < n)
			sbuf_addch(b, '\n');
	}
}

/* A status value: a list is its items' str() joined by spaces. */
static void
status_value(struct sbuf *b, const json_t *v)
{
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				sbuf_addch(b, ' ');
			str_into(b, json_array_get(v, i));
		}
	} else {
		str_into(b, v);
	}
}

/* A pair: an array of at least two items (Python indexes [0] and [1]). */
static bool
is_pair(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) >= 2;
}

static int
fmt_status(struct sbuf *b, int argc, char *const *argv, const json_t *r)
{
	size_t n;

	if (!json_is_array(r))
		return -1;
	n = json_array_size(r);
	if (argc > 1) {
		sbuf_printf(b, "Status for the jail: %s", argv[1]);
		for (size_t i = 0; i < n; i++) {
			const json_t *sec = json_array_get(r, i), *items;
			const char *pre = i + 1 < n ? "|  " : "   ";

			if (!is_pair(sec) ||
			    !json_is_array(json_array_get(sec, 1)))
				return -1;
			sbuf_addstr(b, i + 1 < n ? "\n|- " : "\n`- ");
			str_into(b, json_array_get(sec, 0));
			items = json_array_get(sec, 1);
			for (size_t k = 0; k < json_array_size(items); k++) {
				const json_t *it = json_array_get(items, k);
				bool last = k + 1 == json_array_size(items);

				if (!is_pair(it))
					return -1;
				sbuf_printf(
				    b, "\n%s%s ", pre, last ? "`-" : "|-");
				str_into(b, json_array_get(it, 0));
				sbuf_addstr(b, ":\t");
				status_value(b, json_array_get(it, 1));
			}
		}
		return 0;
	}
	sbuf_addstr(b, "Status");
	for (size_t i = 0; i < n; i++) {
		const json_t *it = json_array_get(r, i);

		if (!is_pair(it))
			return -1;
		sbuf_addstr(b, i + 1 < n ? "\n|- " : "\n`- ");
		str_into(b, json_array_get(it, 0));
		sbuf_addstr(b, ":\t");
		status_value(b, json_array_get(it, 1));
	}
	return 0;
}

/* Layouts decided by argv[2] (jail commands: get/set JAIL WHAT ...). */
static int
fmt_jail(struct sbuf *b, int argc, char *const *argv, const json_t *r)
{
	static const char *const logpath[] = {
	    "logpath", "addlogpath", "dellogpath", NULL};
	static const char *const jmatch[] = {
	    "journalmatch", "addjournalmatch", "deljournalmatch", NULL};
	static const char *const ignoreip[] = {
	    "ignoreip", "addignoreip", "delignoreip", NULL};
	static const char *const regex[] = {"failregex", "addfailregex",
	    "delfailregex", "ignoreregex", "addignoreregex", "delignoreregex",
	    NULL};

	if (arg_in(argc, argv, 2, logpath)) {
		if (!is_str_list(r))
			return -1;
		if (json_array_size(r) == 0) {
			sbuf_addstr(b, "No file is currently monitored");
		} else {
			sbuf_addstr(b, "Current monitored log file(s):\n");
			tree(b, r, false);
		}
	} else if (arg_is(argc, argv, 2, "logencoding")) {
		if (!json_is_string(r))
			return -1;
		sbuf_addstr(b, "Current log encoding is set to:\n");
		add_jstr(b, r);
	} else if (arg_in(argc, argv, 2, jmatch)) {
		if (!json_is_array(r))
			return -1;
		if (json_array_size(r) == 0) {
			sbuf_addstr(b, "No journal match filter set");
			return 0;
		}
		sbuf_addstr(b, "Current match filter:\n");
		for (size_t i = 0; i < json_array_size(r); i++) {
			const json_t *m = json_array_get(r, i);

			if (!is_str_list(m))
				return -1;
			if (i > 0)
				sbuf_addstr(b, " + ");
			join(b, m, " ");
		}
	} else if (arg_is(argc, argv, 2, "datepattern")) {
		sbuf_addstr(b, "Current date pattern set to: ");
		if (json_is_null(r)) {
			sbuf_addstr(b, "Not set/required");
		} else if (!is_pair(r)) {
			return -1;
		} else if (json_is_null(json_array_get(r, 0))) {
			str_into(b, json_array_get(r, 1));
		} else {
			if (json_array_size(r) != 2)
				return -1;
			str_into(b, json_array_get(r, 0));
			sbuf_addstr(b, " (");
			str_into(b, json_array_get(r, 1));
			sbuf_addch(b, ')');
		}
	} else if (arg_in(argc, argv, 2, ignoreip)) {
		if (!is_str_list(r))
			return -1;
		if (json_array_size(r) == 0) {
			sbuf_addstr(b, "No IP address/network is ignored");
		} else {
			sbuf_addstr(
			    b, "These IP addresses/networks are ignored:\n");
			tree(b, r, false);
		}
	} else if (arg_in(argc, argv, 2, regex)) {
		if (!is_str_list(r))
			return -1;
		if (json_array_size(r) == 0) {
			sbuf_addstr(b, "No regular expression is defined");
		} else {
			sbuf_addstr(b,
			    "The following regular expression are "
			    "defined:\n");
			tree(b, r, true);
		}
	} else if (arg_is(argc, argv, 2, "actions")) {
		if (!is_str_list(r))
			return -1;
		if (json_array_size(r) == 0) {
			sbuf_printf(b, "No actions for jail %s", argv[1]);
		} else {
			sbuf_printf(b,
			    "The jail %s has the following actions:\n",
			    argv[1]);
			join(b, r, ", ");
		}
	} else if (arg_is(argc, argv, 2, "actionproperties") ||
	    arg_is(argc, argv, 2, "actionmethods")) {
		const char *what = argv[2][6] == 'p' ? "properties" : "methods";

		if (argc < 4 || !is_str_list(r))
			return -1;
		if (json_array_size(r) == 0) {
			sbuf_printf(b, "No %s for jail %s action %s", what,
			    argv[1], argv[3]);
		} else {
			sbuf_printf(b,
			    "The jail %s action %s has the following %s:\n",
			    argv[1], argv[3], what);
			join(b, r, ", ");
		}
	} else if (arg_is(argc, argv, 2, "banip") &&
	    arg_is(argc, argv, 0, "get") && json_is_array(r)) {
		const char *sep = argc <= 3 ? " " : argv[3];

		if (strcmp(sep, "--with-time") == 0)
			sep = "\n";
		if (!is_str_list(r))
			return -1;
		join(b, r, sep);
	} else {
		str_into(b, r);
	}
	return 0;
}

/* Appends the layout; -1 when r has the wrong shape for it. */
static int
fmt(struct sbuf *b, int argc, char *const *argv, const json_t *r)
{
	const char *cmd;

	if (argc < 1)
		return -1;
	cmd = argv[0];
	if (strcmp(cmd, "ping") == 0) {
		if (!json_is_string(r))
			return -1;
		sbuf_addstr(b, "Server replied: ");
		add_jstr(b, r);
	} else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "reload") == 0) {
		str_into(b, r);
	} else if (strcmp(cmd, "start") == 0) {
		sbuf_addstr(b, "Jail started");
	} else if (strcmp(cmd, "stop") == 0) {
		if (json_is_null(r))
			sbuf_addstr(b,
			    argc == 1 ? "Shutdown successful" : "Jail stopped");
		else
			str_into(b, r);
	} else if (strcmp(cmd, "add") == 0 || strcmp(cmd, "flushlogs") == 0) {
		if (!json_is_string(r))
			return -1;
		sbuf_addstr(b, cmd[0] == 'a' ? "Added jail " : "logs: ");
		add_jstr(b, r);
	} else if (strcmp(cmd, "echo") == 0) {
		if (!is_str_list(r))
			return -1;
		join(b, r, " ");
	} else if (strcmp(cmd, "status") == 0) {
		return fmt_status(b, argc, argv, r);
	} else if (argc < 2) {
		str_into(b, r);
	} else if (strcmp(argv[1], "syslogsocket") == 0 ||
	    strcmp(argv[1], "logtarget") == 0) {
		if (!json_is_string(r))
			return -1;
		sbuf_addstr(b,
		    argv[1][0] == 's' ? "Current syslog socket is:\n"
		                      : "Current logging target "
		                        "is:\n");
		sbuf_addstr(b, "`- ");
		add_jstr(b, r);
	} else if (strcmp(argv[1], "loglevel") == 0) {
		struct sbuf name = SBUF_INIT;

		sbuf_addstr(b, "Current logging level is ");
		if (json_is_integer(r)) {
			beautify_level_name(&name, json_integer_value(r));
			beautify_repr_str(b, name.s, name.len);
		} else {
			repr_into(b, r);
		}
		sbuf_cleanup(&name);
	} else if (strcmp(argv[1], "dbfile") == 0) {
		if (json_is_null(r)) {
			sbuf_addstr(b, "Database currently disabled");
		} else {
			if (!json_is_string(r))
				return -1;
			sbuf_addstr(b, "Current database file is:\n`- ");
			add_jstr(b, r);
		}
	} else if (strcmp(argv[1], "dbpurgeage") == 0) {
		if (json_is_null(r)) {
			sbuf_addstr(b, "Database currently disabled");
		} else {
			if (!json_is_number(r) ||
			    fabs(json_number_value(r)) >= 9.2e18)
				return -1;
			/* %i truncates a float toward zero. */
			sbuf_printf(b,
			    "Current database purge age is:\n`- %lldseconds",
			    json_is_integer(r)
			        ? (long long)json_integer_value(r)
			        : (long long)json_real_value(r));
		}
	} else if (argc < 3) {
		str_into(b, r);
	} else {
		return fmt_jail(b, argc, argv, r);
	}
	return 0;
}

char *
beautify_result(
    int argc, char *const *argv, const json_t *result, bool *shape_error)
{
	struct sbuf b = SBUF_INIT;
	json_t *null = NULL;

	*shape_error = false;
	if (result == NULL)
		result = null = json_null();
	if (fmt(&b, argc, argv, result) != 0) {
		/* fail2ban prints repr(msg) + repr(response) then. */
		*shape_error = true;
		sbuf_reset(&b);
		repr_into(&b, result);
		repr_into(&b, result);
	}
	json_decref(null);
	return sbuf_detach(&b);
}

char *
beautify_error(const char *type, const char *message)
{
	struct sbuf b = SBUF_INIT;

	if (strcmp(type, "UnknownJail") == 0)
		sbuf_printf(
		    &b, "Sorry but the jail '%s' does not exist", message);
	else if (strcmp(type, "IndexError") == 0)
		sbuf_addstr(&b, "Sorry but the command is invalid");
	else if (strcmp(type, "DuplicateJail") == 0)
		sbuf_printf(&b, "The jail '%s' already exists", message);
	else if (strcmp(type, "KeyError") == 0)
		beautify_repr_str(&b, message, strlen(message));
	else
		sbuf_addstr(&b, message);
	return sbuf_detach(&b);
}
