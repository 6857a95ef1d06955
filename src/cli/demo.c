/* demo.c - `wss demo`: Zero Touch Setup of a simulated fleet, end to end.
 *
 * The command line over the fleet library (wss/fleet.h): it builds the
 * world (emulator and cloud on free 127.0.0.1 ports, the customer, the
 * devices), runs every device's libwss-device flow and prints a table:
 * devices set up, failures by reason, simulated setup time, the 95 % bar.
 * Exit status 1 below the bar. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/file.h"
#include "common/log.h"
#include "wss/fleet.h"

#define DEMO_MAX_DEVICES 100000

typedef struct demo_options {
    unsigned devices;
    unsigned long seed;
    const char *faults;
    const char *state;
    unsigned jobs;
    int keep;
    int json;
    int quiet;
} demo_options;

typedef struct demo {
    demo_options o;
} demo;

static void show_progress(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "  %s\n", line);
    fflush(stderr);
}

static const char *reason_name(int r) { return r ? wss_dev_fail_name((wss_dev_fail)r) : "not_in_alexa"; }

static void print_table(const wss_fleet *f, const wss_fleet_summary *s, unsigned long seed, const char *faults)
{
    int pass = s->success_rate >= WSS_FLEET_SUCCESS_BAR;
    printf("\nZero Touch Setup of %u devices (seed %lu, faults: %s)\n\n", s->devices, seed, faults);
    printf("  %-42s %u / %u\n", "set up (in the customers' Alexa accounts)", s->set_up, s->devices);
    printf("  %-42s %.1f %%   (bar 95 %%: %s)\n", "success rate", 100 * s->success_rate, pass ? "met" : "NOT MET");
    printf("  %-42s ", "failures by reason");
    int any = 0;
    for (int r = 0; r <= WSS_DEV_FAIL_PORT; r++) {
        if (s->by_reason[r]) {
            printf("%s%s %u", any ? ", " : "", reason_name(r), s->by_reason[r]);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : "none");
    printf("  %-42s %.1f s / %.1f s\n", "setup time, simulated (p50 / p95)", s->setup_s_p50, s->setup_s_p95);
    printf("  %-42s %.2f s (%.1f flows/s)\n", "wall time of the fleet", s->wall_s, s->flows_per_s);
    for (unsigned i = 0, shown = 0; i < s->devices && shown < 5; i++) {
        const wss_fleet_device *d = wss_fleet_device_get(f, i);
        if (d->result.fail == WSS_DEV_OK && d->in_alexa)
            continue;
        if (!shown++)
            printf("\n  first failures:\n");
        printf("    %s in %s: %s: %s%s%s\n", d->dsn, d->home, reason_name(d->result.fail),
               d->result.detail[0] ? d->result.detail : "reported, but not in the Alexa account in time",
               d->stats.fallback_ssid[0] ? "; user-guided setup on " : "", d->stats.fallback_ssid);
    }
}

static void print_json(const wss_fleet_summary *s, unsigned long seed, const char *faults)
{
    json_t *reasons = json_object();
    for (int r = 0; r <= WSS_DEV_FAIL_PORT; r++) {
        if (s->by_reason[r])
            json_object_set_new(reasons, reason_name(r), json_integer(s->by_reason[r]));
    }
    json_t *out =
        json_pack("{s:i, s:i, s:o, s:f, s:f, s:f, s:f, s:f, s:b, s:I, s:s}", "devices", s->devices, "set_up", s->set_up,
                  "failures", reasons, "success_rate", s->success_rate, "setup_s_p50", s->setup_s_p50, "setup_s_p95",
                  s->setup_s_p95, "wall_s", s->wall_s, "flows_per_s", s->flows_per_s, "pass",
                  s->success_rate >= WSS_FLEET_SUCCESS_BAR, "seed", (json_int_t)seed, "faults", faults);
    char *text = out ? json_dumps(out, JSON_INDENT(2)) : NULL;
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(out);
}

/* --- the command --- */

static void usage(FILE *out)
{
    fprintf(out, "usage: wss demo [--devices N] [--seed S] [--faults PROFILE] [--jobs J] [--state DIR] [--keep]\n"
                 "                [--json] [--quiet]\n\n"
                 "Runs Zero Touch Setup (2-to-N) for a fleet on this machine: starts the emulator and the\n"
                 "cloud on free 127.0.0.1 ports in a fresh state directory, links a customer's skill,\n"
                 "manufactures and sells N devices, powers them on in simulated homes and runs every\n"
                 "device through DSS, the cloud's SDAE, CDAD and Proactive Discovery. Ends with a table;\n"
                 "exit status 1 when fewer than 95 %% of the devices reach the customer's Alexa account.\n\n"
                 "  --devices N      devices to set up (default 20)\n"
                 "  --seed S         seed of the scenario's random choices (default 1)\n"
                 "  --faults P       fault profile (default none):\n");
    for (size_t i = 0; wss_fleet_profile_name(i); i++)
        fprintf(out, "                     %-6s %s\n", wss_fleet_profile_name(i), wss_fleet_profile_summary(i));
    fprintf(out, "  --jobs J         devices set up at once (default 16)\n"
                 "  --state DIR      state directory (must not exist; default a new one under $TMPDIR)\n"
                 "  --keep           keep the state directory for inspection (it is printed)\n"
                 "  --json           print the summary as JSON\n"
                 "  --quiet          no progress lines\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_demo(int argc, char **argv)
{
    demo *d = calloc(1, sizeof *d);
    if (!d)
        return CLI_FAILED;
    d->o = (demo_options){.devices = 20, .seed = 1, .faults = "none", .jobs = 16};
    static const struct option longopts[] = {
        {"devices", required_argument, NULL, 'n'}, {"seed", required_argument, NULL, 's'},
        {"faults", required_argument, NULL, 'f'},  {"jobs", required_argument, NULL, 'j'},
        {"state", required_argument, NULL, 'd'},   {"keep", no_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'J'},          {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    unsigned long v;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (parse_uint(optarg, DEMO_MAX_DEVICES, &v) || v == 0) {
                fprintf(stderr, "wss demo: --devices must be 1..%d\n", DEMO_MAX_DEVICES);
                free(d);
                return CLI_USAGE;
            }
            d->o.devices = (unsigned)v;
            break;
        case 's':
            if (parse_uint(optarg, ULONG_MAX, &v)) {
                fprintf(stderr, "wss demo: --seed must be a non-negative integer\n");
                free(d);
                return CLI_USAGE;
            }
            d->o.seed = v;
            break;
        case 'f': d->o.faults = optarg; break;
        case 'j':
            if (parse_uint(optarg, 256, &v) || v == 0) {
                fprintf(stderr, "wss demo: --jobs must be 1..256\n");
                free(d);
                return CLI_USAGE;
            }
            d->o.jobs = (unsigned)v;
            break;
        case 'd': d->o.state = optarg; break;
        case 'k': d->o.keep = 1; break;
        case 'J': d->o.json = 1; break;
        case 'q': d->o.quiet = 1; break;
        case 'h':
            usage(stdout);
            free(d);
            return CLI_OK;
        default:
            usage(stderr);
            free(d);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wss demo: unexpected argument \"%s\"\n", argv[optind]);
        free(d);
        return CLI_USAGE;
    }
    wss_log_set_level(WSS_LOG_ERROR);
    char root[PATH_MAX];
    if (d->o.state) {
        snprintf(root, sizeof root, "%s", d->o.state);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/wss-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(root) || rmdir(root) != 0) {
            fprintf(stderr, "wss demo: cannot make a state directory under %s\n", tmp && *tmp ? tmp : "/tmp");
            free(d);
            return CLI_FAILED;
        }
    }
    if (!d->o.quiet)
        fprintf(stderr, "wss demo: %u devices, seed %lu, faults %s, state in %s\n", d->o.devices, d->o.seed,
                d->o.faults, root);
    wss_fleet_options fo = {.state_dir = root,
                            .devices = d->o.devices,
                            .seed = d->o.seed,
                            .faults = d->o.faults,
                            .jobs = d->o.jobs,
                            .keep_storage = d->o.keep,
                            .progress = d->o.quiet ? NULL : show_progress};
    char err[1024] = "";
    wss_fleet *f = NULL;
    int rc = CLI_FAILED;
    wss_err frc = wss_fleet_start(&fo, &f, err, sizeof err);
    if (frc == WSS_ERR_INVALID && !f && strstr(err, "unknown fault profile")) {
        fprintf(stderr, "wss demo: %s\n", err);
        free(d);
        return CLI_USAGE;
    }
    if (frc == WSS_OK && wss_fleet_run(f, err, sizeof err) == WSS_OK) {
        wss_fleet_summary s;
        wss_fleet_summarize(f, &s);
        if (d->o.json)
            print_json(&s, d->o.seed, d->o.faults);
        else
            print_table(f, &s, d->o.seed, d->o.faults);
        rc = s.success_rate >= WSS_FLEET_SUCCESS_BAR ? CLI_OK : CLI_FAILED;
    }
    if (err[0])
        fprintf(stderr, "wss demo: %s\n", err);
    wss_fleet_stop(f);
    if (d->o.keep) {
        if (!d->o.quiet)
            fprintf(stderr, "wss demo: state kept in %s\n", root);
    } else {
        wss_remove_tree(root);
    }
    free(d);
    return rc;
}
