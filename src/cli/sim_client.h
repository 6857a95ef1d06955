/* sim_client.h - `wss sim <verb>`: the control API of a running emulator from the shell. */
#ifndef WSS_CLI_SIM_CLIENT_H
#define WSS_CLI_SIM_CLIENT_H

#include <stdio.h>

/* Prints the verbs and their options. */
void cli_sim_client_usage(FILE *out);

/* Runs one verb; argv[0] is the verb. Returns a CLI_* exit code. */
int cli_sim_client(int argc, char **argv);

/* `wss sim scenario`: the emulator's own end-to-end scenario (sim_scenario.c). */
int cli_sim_scenario(int argc, char **argv);

#endif
