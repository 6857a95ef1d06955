/* wwa_cli.h - what the files of `wss wwa` share: the verbs that live in
 * their own files (wwa_report_cmd.c: probe, import-sim, report;
 * wwa_serve_cmd.c: serve, alerts) and the store they all open. */
#ifndef WSS_CLI_WWA_CLI_H
#define WSS_CLI_WWA_CLI_H

#include <stdio.h>

#include "wwa/store.h"

/* Whether argv (starting at "wwa") names one of the file's verbs first;
 * running it (argv[1] is the verb; exit codes of cli/commands.h); and the
 * usage lines of those verbs, for `wss wwa --help`. */
int cli_wwa_report_verb(int argc, char **argv);
int cli_wwa_report(int argc, char **argv);
void cli_wwa_report_usage(FILE *out);
int cli_wwa_serve_verb(int argc, char **argv);
int cli_wwa_serve(int argc, char **argv);
void cli_wwa_serve_usage(FILE *out);

/* Opens DIR/wwa.db (creating DIR when create is set; without it a missing
 * store is an error that says to import first). Prints the reason. */
int cli_wwa_open_store(const char *state, int create, wwa_store **st);

/* Opens an existing store and loads its events into a new engine; on
 * failure prints the reason (*st and *e may still need closing). */
int cli_wwa_load(const char *state, wwa_store **st, wss_wwa **e);

#endif
