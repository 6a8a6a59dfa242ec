/*
 * `warden check` and `warden dump`: load a configuration tree and report.
 * check prints every problem as "file:line: message" (and compiles every
 * jail's regexes with the filter engine), names the jails that would be
 * disabled and exits non-zero on any error; dump prints fail2ban's
 * command stream (diffable with `fail2ban-client -d`) or, with --json,
 * Warden's typed view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "conf.h"
#include "diag.h"
#include "filter.h"
#include "wardend.h"

/*
 * Without -c: /etc/warden when it exists; otherwise wardend would run its
 * built-in default, so that is what is checked or dumped, from a
 * temporary copy (*tmp, removed by the caller with default_conf_remove).
 * Returns NULL (message printed) when the copy cannot be written.
 */
static const char *
default_dir(char **tmp)
{
	struct stat st;
	char err[512];

	if (stat(WARDEND_DEFAULT_CONFDIR, &st) == 0 && S_ISDIR(st.st_mode))
		return WARDEND_DEFAULT_CONFDIR;
	*tmp = default_conf_materialize(
	    access(DEFAULT_CONF_AUTHLOG, F_OK) != 0, true, err, sizeof(err));
	if (*tmp == NULL) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	fprintf(stderr, "No configuration in %s: the built-in default\n",
	    WARDEND_DEFAULT_CONFDIR);
	return *tmp;
}

static int
parse_args(int argc, char **argv, const char *usage, const char **dir,
    bool *json, char **tmp)
{
	*dir = NULL;
	*tmp = NULL;
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
		        strcmp(argv[i], "--conf") == 0) &&
		    i + 1 < argc) {
			*dir = argv[++i];
		} else if (strncmp(argv[i], "--conf=", 7) == 0) {
			*dir = argv[i] + 7;
		} else if (json != NULL && strcmp(argv[i], "--json") == 0) {
			*json = true;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n", usage);
			return 1;
		} else {
			fprintf(stderr, "usage: %s\n", usage);
			return -1;
		}
	}
	if (*dir == NULL) {
		*dir = default_dir(tmp);
		if (*dir == NULL)
			return -1;
	}
	return 0;
}

static void
remove_tmp(char *tmp)
{
	if (tmp != NULL) {
		default_conf_remove(tmp);
		free(tmp);
	}
}

/* Compiles every jail's filter; a jail whose regexes fail is disabled. */
static size_t
check_regexes(const struct conf *c, struct diags *d, bool *bad)
{
	size_t nbad = 0;
	time_t now = time(NULL);

	for (size_t i = 0; i < c->njails; i++) {
		struct diags fd = DIAGS_INIT;
		struct filter *f =
		    filter_new(&c->jails[i].filter, NULL, now, &fd);

		bad[i] = f == NULL || fd.nerrors > 0;
		if (bad[i])
			nbad++;
		for (size_t k = 0; k < fd.n; k++)
			diag_add(d, fd.v[k].level, fd.v[k].file, fd.v[k].line,
			    "[%s] %s", c->jails[i].name, fd.v[k].msg);
		diags_cleanup(&fd);
		filter_free(f);
	}
	return nbad;
}

int
cmd_check(int argc, char **argv)
{
	const char *dir;
	char *tmp;
	struct diags d = DIAGS_INIT;
	struct conf *c = NULL;
	bool *bad = NULL;
	int rc;

	rc = parse_args(argc, argv, "warden check [-c DIR]", &dir, NULL, &tmp);
	if (rc != 0)
		return rc > 0 ? 0 : 255;
	/* checked as wardend reads it: a jail whose log file does not exist
	 * yet runs and waits for it (a warning, not a disabled jail) */
	if (conf_load_flags(dir, CONF_LOAD_DAEMON, &c, &d) != 0) {
		diags_print(&d, stderr);
		diags_cleanup(&d);
		remove_tmp(tmp);
		return 255;
	}
	bad = calloc(c->njails + 1, sizeof(*bad));
	if (bad == NULL)
		abort();
	check_regexes(c, &d, bad);
	diags_print(&d, stderr);
	for (size_t i = 0; i < c->nbroken; i++)
		fprintf(stderr, "jail '%s' would be disabled: %s\n",
		    c->broken[i].name, c->broken[i].error);
	for (size_t i = 0; i < c->njails; i++)
		if (bad[i])
			fprintf(stderr,
			    "jail '%s' would be disabled: bad regular "
			    "expression\n",
			    c->jails[i].name);
	rc = d.nerrors > 0 ? 1 : 0;
	if (rc == 0)
		printf("OK: configuration test is successful\n");
	free(bad);
	conf_free(c);
	diags_cleanup(&d);
	remove_tmp(tmp);
	return rc;
}

int
cmd_dump(int argc, char **argv)
{
	const char *dir;
	char *tmp;
	bool json = false;
	struct diags d = DIAGS_INIT;
	struct conf *c = NULL;
	int rc;

	rc = parse_args(
	    argc, argv, "warden dump [-c DIR] [--json]", &dir, &json, &tmp);
	if (rc != 0)
		return rc > 0 ? 0 : 255;
	if (conf_load(dir, &c, &d) != 0) {
		diags_print(&d, stderr);
		diags_cleanup(&d);
		remove_tmp(tmp);
		return 255;
	}
	diags_print(&d, stderr);
	rc = json ? conf_dump_json(c, stdout) : conf_dump(c, stdout);
	fflush(stdout);
	conf_free(c);
	diags_cleanup(&d);
	remove_tmp(tmp);
	return rc == 0 ? 0 : 255;
}
