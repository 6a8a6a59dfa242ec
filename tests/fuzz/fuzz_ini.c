/*
 * Fuzzes the configuration dialect: the input is parsed as one config
 * file, then every value of every section is interpolated (%(x)s with
 * fail2ban's extensions), parsed as name[k=v] options and as a time
 * value, and every section's options go through <tag> substitution, as
 * filter and action files do. Any input must end in values or errors,
 * never a crash, a leak or a hang (interpolation and substitution are
 * capped).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "ini.h"
#include "timeval.h"

static int
no_repl(void *ctx, const char *tag, struct astr **out)
{
	(void)ctx;
	(void)tag;
	*out = NULL;
	return 0;
}

static void
section(
    struct cctx *c, struct cp *cp, const char *name, const struct omap *opts)
{
	struct omap vars = OMAP_INIT, ignore = OMAP_INIT, res = OMAP_INIT;

	omap_set(&vars, "jailvar", astr_new("%(x)s<y>", 0), omap_astr_free);
	for (size_t i = 0; i < opts->n; i++) {
		struct astr v = ASTR_INIT, nm = ASTR_INIT;
		struct omap o = OMAP_INIT;
		struct astrv parts = {NULL, 0, 0};
		char *err = NULL;
		double sec;

		if (cp_get(c, cp, name, opts->v[i].key, false, &vars, &v,
		        NULL) == CP_OK) {
			astr_add(&v, "", NULL, 0, 0);
			if (conf_extract_options(&v, &nm, &o, &err) != 0)
				free(err);
			err = NULL;
			if (conf_split_with_options(&v, &parts, &err) != 0)
				free(err);
			if (v.len < 200)
				timeval_parse(
				    astr_str(&v), &sec, NULL, NULL, 0);
		}
		astr_cleanup(&v);
		astr_cleanup(&nm);
		omap_cleanup(&o, omap_astr_free);
		astrv_cleanup(&parts);
		cp_get_ex(c, cp, name, opts->v[i].key, NULL, &v, NULL);
		astr_cleanup(&v);
	}
	conf_substitute_tags(c, opts, &ignore, no_repl, NULL, &res);
	omap_cleanup(&res, omap_astr_free);
	omap_cleanup(&vars, omap_astr_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = DIAGS_INIT;
	struct ini_file *f = NULL;
	struct cctx c;
	struct cp *cp;

	if (size > 64 * 1024)
		return 0;
	ini_parse("fuzz.conf", (const char *)data, size, 4096, &f, &d);
	if (f != NULL) {
		cctx_init(&c, "/nonexistent", &d);
		cp = cp_from_ini(&c, f);
		for (size_t i = 0; i < cp->sections.n; i++) {
			const struct cpsec *s = cp->sections.v[i].val;

			section(&c, cp, cp->sections.v[i].key, &s->opts);
		}
		section(&c, cp, "DEFAULT", &cp->defaults);
		cp_free(cp);
		cctx_cleanup(&c);
		ini_free(f);
	}
	diags_cleanup(&d);
	return 0;
}
