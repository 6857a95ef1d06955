/* sim_serve.c - `wss sim`: run the emulator in the foreground until SIGINT/SIGTERM. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/sim_client.h"
#include "cli/stop_signal.h"
#include "common/log.h"
#include "wss/sim.h"

static void serve_usage(FILE *out)
{
    fprintf(out, "usage: wss sim [--state DIR] [--listen HOST:PORT] [--dss-listen HOST:PORT] [--config FILE]\n"
                 "               [--plain-http] [--log-level LEVEL]\n"
                 "       wss sim <verb> [options]      (talks to a running emulator; see below)\n"
                 "\n"
                 "Runs the Amazon-side emulator: Login with Amazon (/auth/o2/token), the Alexa event\n"
                 "gateway (/v3/events), directives to skill endpoints, the control API (/control/v1) and,\n"
                 "on a listener of its own, the Device Setup Service (/api/v1/..., mutual TLS; docs/dss.md).\n"
                 "\n"
                 "  --state DIR        state directory (SQLite store, local CA, credentials.json);\n"
                 "                     created if missing (default: ./wss-sim-state)\n"
                 "  --listen HOST:PORT address to serve on; port 0 picks a free port (default: 127.0.0.1:8443)\n"
                 "  --dss-listen HOST:PORT  the Device Setup Service's address, always HTTPS with client\n"
                 "                     certificates (default: the --listen host on a free port)\n"
                 "  --config FILE      JSON configuration: skills, customers, faults, limits (docs/sim.md);\n"
                 "                     without it, one skill and one customer are created on first start\n"
                 "  --plain-http       serve plain HTTP instead of HTTPS (for debugging only)\n"
                 "  --log-level LEVEL  debug, info, warn, error or off (default: info); logs are JSON lines on stderr\n"
                 "  -h, --help         this text\n"
                 "\n"
                 "On start it writes DIR/credentials.json (mode 0600): the skill's LWA client id and secret,\n"
                 "the customer ids, the URLs of every service (dss_url for the Device Setup Service), the\n"
                 "CA file to trust, the DSS public key and the control token.\n"
                 "\n");
    cli_sim_client_usage(out);
}

static int serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"dss-listen", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"plain-http", no_argument, NULL, 'p'},
        {"log-level", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    wss_sim_options opts = {.state_dir = "wss-sim-state", .listen = "127.0.0.1:8443"};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': opts.state_dir = optarg; break;
        case 'l': opts.listen = optarg; break;
        case 'd': opts.dss_listen = optarg; break;
        case 'c': opts.config_path = optarg; break;
        case 'p': opts.plain_http = 1; break;
        case 'v': {
            int level = wss_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "wss sim: --log-level must be debug, info, warn, error or off\n");
                return CLI_USAGE;
            }
            wss_log_set_level((wss_log_level)level);
            break;
        }
        case 'h': serve_usage(stdout); return CLI_OK;
        default: serve_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wss sim: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    cli_stop_signal_block();

    char err[512];
    wss_sim *sim = NULL;
    wss_err rc = wss_sim_start(&opts, &sim, err, sizeof err);
    if (rc != WSS_OK) {
        fprintf(stderr, "wss sim: %s\n", err);
        return CLI_FAILED;
    }
    printf("wss sim: listening on %s; credentials in %s/credentials.json\n", wss_sim_base_url(sim), opts.state_dir);
    fflush(stdout);
    cli_stop_signal_wait();
    wss_sim_stop(sim);
    printf("wss sim: stopped\n");
    return CLI_OK;
}

int cli_sim(int argc, char **argv)
{
    if (argc >= 2 && argv[1][0] != '-')
        return cli_sim_client(argc - 1, argv + 1);
    return serve(argc, argv);
}
