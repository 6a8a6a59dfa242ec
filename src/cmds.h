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

/* fail2ban database import (cmd_import.c). */
int cmd_import(int argc, char **argv);

/*
 * fail2ban-client's commands over wardend's control socket (cmd_client.c):
 * argv[0] is the command (start, status, get, ...); client options (-c -s
 * -p -x -q -v --json --timeout ...) may follow it before its arguments.
 * cmd_client_main takes fail2ban-client's own order instead: argv[0] is
 * the program, then options, then the command.
 */
int cmd_client(int argc, char **argv);
int cmd_client_main(int argc, char **argv);

/* `warden report fail|ok SERVICE ADDRESS [user=LOGIN]` (cmd_report.c). */
int cmd_report(int argc, char **argv);

#endif
