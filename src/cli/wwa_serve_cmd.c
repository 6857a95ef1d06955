/* wwa_serve_cmd.c - `wss wwa serve` (the dashboard, metrics and status over
 * HTTP, with periodic alerts) and `wss wwa alerts` (one evaluation and
 * delivery of the alerts). docs/wwa.md describes both. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "cli/wwa_cli.h"
#include "common/clock.h"
#include "common/httpd.h"
#include "wwa/internal.h"
#include "wwa/live.h"
#include "wwa/store.h"

#define DEFAULT_STATE "wss-wwa-state"

static void usage_serve(FILE *out)
{
    fprintf(out, "usage: wss wwa serve [--state DIR] [--listen HOST:PORT] [--at TIME] [--webhook URL]\n"
                 "                     [--alert-interval SECONDS] [--command PROG [ARGS...]]\n"
                 "\n"
                 "Serves the compliance state over plain HTTP: GET / (the dashboard), /metrics (Prometheus),\n"
                 "/api/status (as `wss wwa status --json`), /api/series (the chart data), /healthz. Each\n"
                 "takes ?at=TIME. With --webhook or --command, alerts are evaluated every interval and each\n"
                 "new one is delivered once (as `wss wwa alerts`). Stops on SIGTERM or SIGINT.\n"
                 "\n"
                 "  --state DIR             the store (DIR/wwa.db; default ./" DEFAULT_STATE "; created if missing)\n"
                 "  --listen HOST:PORT      default 127.0.0.1:0 (a free port, printed when ready)\n"
                 "  --at TIME               report this UTC instant instead of the clock (2027-06-30T12:00:00Z)\n"
                 "  --webhook URL           POST each new alert's JSON there\n"
                 "  --command PROG ARGS...  run PROG with ARGS (no shell) and the alert's JSON on stdin;\n"
                 "                          everything after --command belongs to it, so it comes last\n"
                 "  --alert-interval S      seconds between evaluations (default 60)\n");
}

static void usage_alerts(FILE *out)
{
    fprintf(out, "usage: wss wwa alerts [--state DIR] [--at TIME] [--webhook URL] [--command PROG [ARGS...]]\n"
                 "\n"
                 "Evaluates the alerts once (badge removals, burn-rate alerts, the engine's warnings) and\n"
                 "delivers each one not delivered yet to the webhook (HTTP POST of its JSON; a 2xx answer\n"
                 "counts) and/or the command (run without a shell, the JSON on stdin; exit 0 counts).\n"
                 "Deliveries are remembered in DIR/alerts.db; an alert no longer in force is forgotten.\n"
                 "Exit status: 0 every delivery made, 1 a delivery or the store failed, 2 wrong command line.\n");
}

/* Splits argv at "--command": what follows is the command's own argv. */
static char **split_command(int *argc, char **argv, int *bad)
{
    *bad = 0;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--command") != 0)
            continue;
        if (i + 1 >= *argc) {
            *bad = 1;
            return NULL;
        }
        char **cmd = argv + i + 1;
        argv[i] = NULL;
        *argc = i;
        return cmd;
    }
    return NULL;
}

typedef struct common_opts {
    const char *state, *listen, *at, *webhook;
    int interval;
    char **command;
} common_opts;

static int parse(int argc, char **argv, int serve, common_opts *o)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},
        {"at", required_argument, NULL, 'a'},
        {"webhook", required_argument, NULL, 'w'},
        {"alert-interval", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *who = serve ? "wss wwa serve" : "wss wwa alerts";
    int bad, c;
    memset(o, 0, sizeof *o);
    o->state = DEFAULT_STATE;
    o->command = split_command(&argc, argv, &bad);
    if (bad) {
        fprintf(stderr, "%s: --command needs a program\n", who);
        return CLI_USAGE;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->state = optarg; break;
        case 'l': o->listen = optarg; break;
        case 'a': o->at = optarg; break;
        case 'w': o->webhook = optarg; break;
        case 'i': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1 || v > 86400) {
                fprintf(stderr, "%s: --alert-interval is 1 to 86400 seconds\n", who);
                return CLI_USAGE;
            }
            o->interval = (int)v;
            break;
        }
        case 'h': serve ? usage_serve(stdout) : usage_alerts(stdout); return -1;
        default: serve ? usage_serve(stderr) : usage_alerts(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument %s\n", who, argv[optind]);
        return CLI_USAGE;
    }
    if (!serve && (o->listen || o->interval)) {
        fprintf(stderr, "%s: --listen and --alert-interval belong to serve\n", who);
        return CLI_USAGE;
    }
    if (o->webhook && strncmp(o->webhook, "http://", 7) != 0 && strncmp(o->webhook, "https://", 8) != 0) {
        fprintf(stderr, "%s: --webhook must be an http:// or https:// URL\n", who);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int parse_at(const char *who, const char *text, long long *at)
{
    *at = -1;
    if (text && wss_wwa_parse_time(text, at) != WSS_OK) {
        fprintf(stderr, "%s: --at must be a UTC time like 2027-06-30T12:00:00Z\n", who);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int cmd_serve(int argc, char **argv)
{
    common_opts o;
    int rc = parse(argc, argv, 1, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    wwa_serve_options so = {.state_dir = o.state, .alert_interval_s = o.interval};
    char host[256];
    if (wss_http_parse_listen(o.listen ? o.listen : "127.0.0.1:0", host, &so.port) != WSS_OK) {
        fprintf(stderr, "wss wwa serve: --listen is HOST:PORT, e.g. 127.0.0.1:9793\n");
        return CLI_USAGE;
    }
    so.host = host;
    if ((rc = parse_at("wss wwa serve", o.at, &so.at_ms)) != CLI_OK)
        return rc;
    so.sinks.webhook_url = o.webhook;
    so.sinks.command = (const char *const *)o.command;
    cli_stop_signal_block();
    char err[512];
    wwa_server *srv = NULL;
    if (wwa_serve_start(&so, &srv, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa serve: %s\n", err);
        return CLI_FAILED;
    }
    int v6 = strchr(host, ':') != NULL;
    fprintf(stderr, "wss wwa: listening on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "",
            wwa_serve_port(srv));
    fflush(stderr);
    cli_stop_signal_wait();
    wwa_serve_stop(srv);
    fprintf(stderr, "wss wwa: stopped\n");
    return CLI_OK;
}

static int cmd_alerts(int argc, char **argv)
{
    common_opts o;
    int rc = parse(argc, argv, 0, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    long long at;
    if ((rc = parse_at("wss wwa alerts", o.at, &at)) != CLI_OK)
        return rc;
    if (at < 0)
        at = wss_wall_ms();
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/wwa.db", o.state);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "wss wwa: no store at %s (import events first)\n", path);
        return CLI_FAILED;
    }
    wwa_store *st = NULL;
    wss_wwa *e = NULL;
    if (wwa_store_open(path, &st, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa: %s\n", err);
        return CLI_FAILED;
    }
    rc = CLI_OK;
    if (wss_wwa_new(NULL, &e) != WSS_OK)
        rc = CLI_FAILED;
    if (rc == CLI_OK && wwa_store_load(st, e, NULL, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa: %s\n", err);
        rc = CLI_FAILED;
    }
    wwa_store_close(st);
    wwa_alert_sinks sinks = {.webhook_url = o.webhook, .command = (const char *const *)o.command};
    wwa_alert_report rep;
    if (rc == CLI_OK && wwa_alerts_run(o.state, e, at, &sinks, stdout, &rep, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa alerts: %s\n", err);
        rc = CLI_FAILED;
    }
    if (rc == CLI_OK) {
        printf("%zu alerts in force, %zu deliveries made, %zu failed\n", rep.firing, rep.delivered, rep.failed);
        if (rep.failed)
            rc = CLI_FAILED;
    }
    wss_wwa_free(e);
    return rc;
}

int cli_wwa_serve_verb(int argc, char **argv)
{
    return argc >= 2 && (strcmp(argv[1], "serve") == 0 || strcmp(argv[1], "alerts") == 0);
}

int cli_wwa_serve(int argc, char **argv)
{
    return strcmp(argv[1], "serve") == 0 ? cmd_serve(argc - 1, argv + 1) : cmd_alerts(argc - 1, argv + 1);
}

void cli_wwa_serve_usage(FILE *out)
{
    fprintf(out, "       wss wwa serve [--listen HOST:PORT] [--at TIME] [--webhook URL] [--command PROG ARGS...]\n"
                 "                     [--alert-interval S] [--state DIR]   (wss wwa serve --help)\n"
                 "       wss wwa alerts [--at TIME] [--webhook URL] [--command PROG ARGS...] [--state DIR]\n");
}
