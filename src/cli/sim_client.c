#include "cli/sim_client.h"
#include "cli/commands.h"
void cli_sim_client_usage(FILE *out) { (void)out; }
int cli_sim_client(int argc, char **argv) { (void)argc; (void)argv; return CLI_USAGE; }
