/*
 * The screen of a filter regex (see fre_screen_build in filter_int.h):
 * checks done before calling PCRE2 that reject subjects the regex cannot
 * match. A log line meets a few dozen regexes, most of which fail on its
 * first byte; asking PCRE2 costs a call each, the screen a table lookup.
 * The facts come from PCRE2's own analysis of the pattern, so the screen
 * never rejects a subject the regex would match.
 */
#include <ctype.h>
#include <string.h>

#include "filter_int.h"
#include "sbuf.h"

static void
set_bit(uint8_t *map, unsigned c)
{
	map[c >> 3] |= (uint8_t)(1u << (c & 7));
}

/*
 * For "^R" PCRE2 keeps no start-byte table (the pattern is anchored), so
 * R alone is compiled unanchored and its table taken: a match of "^R" is
 * a match of R at offset 0, which starts with a byte in R's table.
 */
static void
first_bytes(struct fre *re, const char *pcre, uint32_t opts)
{
	struct sbuf b = SBUF_INIT;
	pcre2_code *code;
	pcre2_compile_context *cc;
	int err;
	PCRE2_SIZE off;
	uint32_t type = 0, unit = 0, min = 0;
	const uint8_t *map = NULL;

	if (pcre[0] != '^')
		return;
	sbuf_printf(&b, "(?:%s)", pcre + 1);
	cc = pcre2_compile_context_create(NULL);
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	code = pcre2_compile((PCRE2_SPTR)b.s, b.len, opts, &err, &off, cc);
	pcre2_compile_context_free(cc);
	sbuf_cleanup(&b);
	if (code == NULL)
		return;
	pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &min);
	pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &type);
	if (min > 0 && type == 1) {
		pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODEUNIT, &unit);
		/*
		 * PCRE2 does not say whether that unit matches caselessly
		 * (it turns "[iI]" into a caseless 'i'), so a letter admits
		 * both cases, and for k and s the lead bytes of the Kelvin
		 * sign (E2) and the long s (C5) that fold to them.
		 */
		if (unit < 0x80) {
			memset(re->first, 0, sizeof(re->first));
			set_bit(re->first, unit);
			if (isalpha((int)unit)) {
				set_bit(re->first, unit ^ 0x20);
				if ((unit | 0x20) == 'k' ||
				    (unit | 0x20) == 's') {
					set_bit(re->first, 0xe2);
					set_bit(re->first, 0xc5);
				}
			}
			re->has_first = true;
		}
	} else if (min > 0 && type == 0 &&
	    pcre2_pattern_info(code, PCRE2_INFO_FIRSTBITMAP, &map) == 0 &&
	    map != NULL) {
		memcpy(re->first, map, sizeof(re->first));
		re->has_first = true;
	}
	pcre2_code_free(code);
}

/* The offset just past the group opened at p[at] == '(', or 0 when it
 * is not closed; *alt when '|' is at its own level. */
static size_t
group_end(const char *p, size_t at, bool *alt)
{
	int depth = 0;

	*alt = false;
	for (size_t i = at; p[i];) {
		char c = p[i];

		if (c == '\\') {
			i += p[i + 1] ? 2 : 1;
			continue;
		}
		if (c == '[') {
			i = fre_class_end(p, i, NULL);
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return i + 1;
		else if (c == '|' && depth == 1)
			*alt = true;
		i++;
	}
	return 0;
}

static bool
quantifier(char c)
{
	return c == '?' || c == '*' || c == '+' || c == '{';
}

/*
 * The text every match of "^..." starts with: the literal characters
 * from the start, through capture and (?: groups that are neither
 * repeated, optional nor alternatives, up to the first anything else.
 * Nothing when the pattern has an alternative at its top level or
 * caseless or extended parts. Returns its length (at most cap).
 */
static size_t
literal_prefix(const char *p, char *out, size_t cap)
{
	size_t i = 1, n = 0;
	bool alt;

	if (p[0] != '^')
		return 0;
	/* "(?" then flags with i or x: the bytes may not be literal */
	for (const char *q = strstr(p, "(?"); q; q = strstr(q + 2, "(?")) {
		const char *f = q + 2;

		while (*f == '-' || (*f >= 'a' && *f <= 'z')) {
			if (*f == 'i' || *f == 'x')
				return 0;
			f++;
		}
	}
	/* a '|' at the top level: "^a|b" */
	for (size_t k = 0, depth = 0; p[k]; k++) { /* depth: groups open */
		if (p[k] == '\\' && p[k + 1]) {
			k++;
		} else if (p[k] == '[') {
			k++;
			if (p[k] == '^')
				k++;
			if (p[k] == ']')
				k++;
			while (p[k] && p[k] != ']')
				k += p[k] == '\\' && p[k + 1] ? 2 : 1;
			if (!p[k])
				return 0;
		} else if (p[k] == '(') {
			depth++;
		} else if (p[k] == ')') {
			depth--;
		} else if (p[k] == '|' && depth == 0) {
			return 0;
		}
	}
	while (n < cap) {
		char c = p[i];

		if (c == '(') {
			size_t e = group_end(p, i, &alt);
			size_t open;

			if (e == 0 || alt || quantifier(p[e]))
				break;
			if (p[i + 1] != '?')
				open = i + 1;
			else if (p[i + 2] == ':')
				open = i + 3;
			else if (p[i + 2] == 'P' && p[i + 3] == '<')
				open = (size_t)(strchr(p + i, '>') - p) + 1;
			else if (p[i + 2] == '<' && p[i + 3] != '=' &&
			    p[i + 3] != '!')
				open = (size_t)(strchr(p + i, '>') - p) + 1;
			else
				break; /* look-around, condition, atomic ... */
			i = open;
			continue;
		}
		if (c == ')') {
			i++; /* the end of a group entered above */
			continue;
		}
		if (c == '\\') {
			char e = p[i + 1];

			if (e == '\0' || (unsigned char)e >= 0x80 ||
			    isalnum((unsigned char)e) || quantifier(p[i + 2]))
				break;
			out[n++] = e;
			i += 2;
			continue;
		}
		if (c == '\0' || (unsigned char)c >= 0x80 ||
		    strchr("^$.|?*+[]{}", c) || quantifier(p[i + 1]))
			break;
		out[n++] = c;
		i++;
	}
	return n;
}

void
fre_screen_build(struct fre *re, const char *pcre, uint32_t opts)
{
	uint32_t all = 0, min = 0;

	re->has_first = false;
	re->minlen = 0;
	if (pcre2_pattern_info(re->code, PCRE2_INFO_MINLENGTH, &min) == 0)
		re->minlen = min; /* in characters: at most that many bytes */
	pcre2_pattern_info(re->code, PCRE2_INFO_ALLOPTIONS, &all);
	if (all & PCRE2_ANCHORED)
		first_bytes(re, pcre, opts);
	re->nlit = 0;
	if ((all & PCRE2_ANCHORED) && !(opts & PCRE2_MULTILINE))
		re->nlit = literal_prefix(pcre, re->lit, sizeof(re->lit));
}
