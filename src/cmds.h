/*
 * The subcommands of the `warden` program. Each takes the arguments after
 * its own name (argv[0] is the subcommand name) and returns the process
 * exit status.
 */
#ifndef WARDEN_CMDS_H
#define WARDEN_CMDS_H

#define WARDEN_VERSION "0.1.0"

/* fail2ban-regex (cmd_regex.c). */
int cmd_regex(int argc, char **argv);

#endif
