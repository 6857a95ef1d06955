/* main.c - the `wss` command: one binary, a subcommand per part of openwss. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/httpc.h"

#ifndef WSS_VERSION
#define WSS_VERSION "0.1.0"
#endif

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"sim", cli_sim, "the Amazon-side emulator: LWA, event gateway, directives, control API"},
    {"cloud", cli_cloud, "the maker's cloud: device reports, SDAE outbox, skill endpoint, discovery"},
    {"demo", cli_demo, "Zero Touch Setup of a simulated fleet, end to end, with a results table"},
    {"mfg", cli_mfg, "manufacturing: the device attestation key, device keys, certificates, barcodes"},
    {"wwa", cli_wwa, "Works with Alexa compliance: availability, skill errors, incidents, product checklist"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: wss <command> [options]\n\n"
                 "openwss: build, test and keep Wi-Fi Simple Setup devices.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n  wss <command> --help   options of one command\n"
                 "  wss --version          the version\n");
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    wss_httpc_global_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("wss %s\n", WSS_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "wss: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
