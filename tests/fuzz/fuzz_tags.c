/*
 * Fuzz harness for tags: the static pass over arbitrary properties and
 * queries (recursion, self references, conditional keys, the output cap)
 * and the dynamic pass with attacker-controlled ticket values. Input:
 *
 *   line 1:            the command template
 *   "key=value" lines: properties, up to a line "--"
 *   next line:         the <F-USER> value
 *   the rest:          matched lines (<matches>)
 *
 * Invariant checked beyond memory safety: when the command uses <F-USER>
 * or <matches> and the value holds a shell special character, the value
 * travels verbatim as an argument of sh -c (referenced as $f2bV_...).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tags.h"
#include "xmalloc.h"

static bool
special(const char *s)
{
	return strpbrk(s, "\\#&;`|*?~<>^()[]{}$'\"\n\r") != NULL;
}

static bool
has_arg(const struct tags_cmd *c, const char *v)
{
	for (size_t i = 0; i < c->args.n; i++)
		if (strcmp(c->args.v[i], v) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *p, *nl, *query, *user = (char *)"";
	struct tags_props *props;
	const char *matches[16];
	size_t nmatches = 0;
	struct sbuf out = SBUF_INIT, err = SBUF_INIT;
	struct tags_cmd cmd;
	struct tags_dyn d;
	struct action_ticket t;
	struct action_group g;
	struct tags_host h = {"fq.example", "sh"};
	static const char *const fams[] = {NULL, "inet4", "inet6"};

	if (size > 65536)
		return 0;
	buf = xmemdup(data, size);
	for (size_t i = 0; i < size; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	props = tags_props_new();
	query = buf;
	p = strchr(buf, '\n');
	if (p != NULL) {
		*p++ = '\0';
		while (p != NULL && *p != '\0') {
			nl = strchr(p, '\n');
			if (nl != NULL)
				*nl++ = '\0';
			if (strcmp(p, "--") == 0) {
				p = nl;
				break;
			}
			{
				char *eq = strchr(p, '=');

				if (eq != NULL) {
					*eq = '\0';
					tags_props_set(props, p, eq + 1);
				}
			}
			p = nl;
		}
		if (p != NULL) {
			user = p;
			nl = strchr(p, '\n');
			if (nl != NULL) {
				*nl++ = '\0';
				while (nl != NULL && *nl != '\0' &&
				    nmatches < 16) {
					matches[nmatches++] = nl;
					nl = strchr(nl, '\n');
					if (nl != NULL)
						*nl++ = '\0';
				}
			}
		}
	}

	memset(&t, 0, sizeof(t));
	addr_parse("192.0.2.1", 9, &t.addr);
	t.key = fkey_from_addr(&t.addr);
	t.has_addr = true;
	t.time = 1.5;
	t.matches = matches;
	t.nmatches = nmatches;
	g.name = "user";
	g.value = user;
	t.groups = &g;
	t.ngroups = 1;

	tags_cmd_init(&cmd);
	for (int f = 0; f < 3; f++) {
		sbuf_reset(&out);
		sbuf_reset(&err);
		if (tags_replace_static(props, query, fams[f], &h, &out, &err) <
		    0)
			continue;
		memset(&d, 0, sizeof(d));
		d.t = &t;
		d.host = &h;
		if (tags_replace_dynamic(sbuf_str(&out), &d, &cmd) < 0)
			continue;
		/* a value with shell syntax that the command uses travels
		 * as an argument, never as script text */
		if (special(user) && strstr(sbuf_str(&out), "<F-USER>") &&
		    !has_arg(&cmd, user))
			abort();
		if (nmatches > 0 && strstr(sbuf_str(&out), "<matches>")) {
			struct sbuf m = SBUF_INIT;

			for (size_t i = 0; i < nmatches; i++) {
				if (i > 0)
					sbuf_addch(&m, '\n');
				sbuf_addstr(&m, matches[i]);
			}
			if (special(sbuf_str(&m)) && !has_arg(&cmd, m.s))
				abort();
			sbuf_cleanup(&m);
		}
	}
	tags_cmd_cleanup(&cmd);
	sbuf_cleanup(&out);
	sbuf_cleanup(&err);
	tags_props_free(props);
	free(buf);
	return 0;
}
