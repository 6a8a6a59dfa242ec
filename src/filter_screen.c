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
}
