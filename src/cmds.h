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

/* Configuration test and dump (cmd_conf.c). */
int cmd_check(int argc, char **argv);
int cmd_dump(int argc, char **argv);

#endif
