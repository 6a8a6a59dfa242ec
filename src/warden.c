/*
 * The `warden` program: the administrator's tool. Offline subcommands (regex,
 * check, dump) work on configuration and logs directly; the others talk to a
 * running wardend. This file only dispatches; each subcommand lives in its
 * own cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    {"regex", cmd_regex,
        "regex [OPTS] LOG FILTER [IGNOREREGEX]  test a filter "
        "(fail2ban-regex)"},
    {"check", cmd_check, "check [-c DIR]         test the configuration"},
    {"dump", cmd_dump, "dump [-c DIR] [--json] print the configuration"},
    {"import-fail2ban", cmd_import,
        "import-fail2ban [--dbfile DB] F2B_DB  import fail2ban's bans"},
    {"start", cmd_client, "start                  launch wardend"},
    {"stop", cmd_client, "stop [JAIL]            stop wardend (or a jail)"},
    {"restart", cmd_client,
        "restart [JAIL]         restart wardend (or a jail)"},
    {"reload", cmd_client, "reload [OPTS] [JAIL]   re-read the configuration"},
    {"ping", cmd_client, "ping                   check that wardend answers"},
    {"status", cmd_client, "status [JAIL [FLAVOR]] show the jails (or one)"},
    {"banned", cmd_client, "banned [IP...]         show the bans"},
    {"unban", cmd_client, "unban --all|IP...      lift bans in every jail"},
    {"set", cmd_client, "set [JAIL] OPTION ...  change a setting of wardend"},
    {"get", cmd_client, "get [JAIL] OPTION ...  show a setting of wardend"},
    {"flushlogs", cmd_client,
        "flushlogs              reopen wardend's log file"},
    {"version", cmd_client,
        "version                print wardend's version (-V: warden's)"},
    {"report", cmd_report,
        "report fail|ok SERVICE ADDR [user=LOGIN]  report to wardend"},
    {"help", cmd_help, "help                   this text"},
};

static int
cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("%s\n", WARDEN_VERSION);
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: warden COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %s\n", commands[i].usage);
}

static int
cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 255;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	/* fail2ban-client's own order: options first, then the command
	 * (`warden -s SOCK status sshd`). */
	if (argv[1][0] == '-')
		return cmd_client_main(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "warden: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 255;
}
