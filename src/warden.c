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
    {"check", cmd_check, "check [-c DIR]         test the configuration"},
    {"dump", cmd_dump, "dump [-c DIR] [--json] print the configuration"},
    {"version", cmd_version, "version                print the version"},
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "warden: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 255;
}
