/* commands.h - the subcommands of `wss`; each takes argv starting at its own name. */
#ifndef WSS_CLI_COMMANDS_H
#define WSS_CLI_COMMANDS_H

/* Exit codes shared by every subcommand. */
#define CLI_OK 0
#define CLI_FAILED 1 /* the operation ran and failed */
#define CLI_USAGE 2  /* the command line was wrong */

int cli_sim(int argc, char **argv);
int cli_cloud(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_mfg(int argc, char **argv);
int cli_wwa(int argc, char **argv);

#endif
