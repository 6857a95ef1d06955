/* wwa_report_cmd.c - the inputs and the monthly report of `wss wwa`:
 *   probe       sample the cloud's health (and the skill endpoint) into the store
 *   import-sim  directive outcomes from the emulator's per-skill records
 *   report      the monthly compliance report: JSON, PDF, PNG
 * (docs/wwa.md, "Inputs" and "The monthly report"). */
#include "cli/wwa_cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/file.h"
#include "sim/client.h"
#include "wwa/inputs.h"
#include "wwa/report.h"
#include "wwa/store.h"

#define DEFAULT_STATE "wss-wwa-state"
#define PAGE 5000 /* emulator records per request */

static int is_verb(const char *v)
{
    return strcmp(v, "report") == 0 || strcmp(v, "probe") == 0 || strcmp(v, "import-sim") == 0;
}

int cli_wwa_report_verb(int argc, char **argv) { return argc >= 2 && is_verb(argv[1]); }

void cli_wwa_report_usage(FILE *out)
{
    fprintf(out, "       wss wwa probe --url HEALTH_URL [--skill-url URL] [--interval S] [--count N]\n"
                 "                     [--ca-file FILE] [--timeout-ms N] [--state DIR]\n"
                 "       wss wwa import-sim --sim-state SIMDIR [--skill ID] [--state DIR]\n"
                 "       wss wwa report --month YYYY-MM [--out PREFIX] [--json] [--state DIR]\n"
                 "       (probe, import-sim and report: wss wwa report --help)\n");
}

static void verb_help(FILE *out)
{
    fprintf(out, "usage: wss wwa probe --url HEALTH_URL [--skill-url URL] [--interval S] [--count N]\n"
                 "                     [--ca-file FILE] [--timeout-ms N] [--state DIR]\n"
                 "       wss wwa import-sim --sim-state SIMDIR [--skill ID] [--state DIR]\n"
                 "       wss wwa report --month YYYY-MM [--out PREFIX] [--json] [--state DIR]\n"
                 "\n"
                 "  probe       GETs HEALTH_URL (2xx is up) and, with --skill-url, POSTs an Alexa.Discovery\n"
                 "              Discover with a token that names no account to the skill endpoint (a\n"
                 "              well-formed Alexa answer is up); stores one up/down sample per round, every\n"
                 "              --interval seconds (default 30), --count rounds (default: until SIGINT/SIGTERM)\n"
                 "  import-sim  reads the emulator's judged directives (the emulator running with state\n"
                 "              SIMDIR) of one skill or of every skill, and stores each as a directive\n"
                 "              outcome at its emulator time; a second import adds only newer records\n"
                 "  report      the month's compliance report: PREFIX.json, PREFIX.pdf and PREFIX.png\n"
                 "              (default PREFIX wwa-report-YYYY-MM); --json prints the JSON on stdout\n"
                 "              (and writes the files only with --out)\n"
                 "\n"
                 "  --state DIR     where the store lives (DIR/wwa.db; default ./" DEFAULT_STATE ")\n"
                 "\n"
                 "Exit status: 0 done (a down sample is not a failure), 1 failed, 2 wrong command line.\n");
}

static int parse_long(const char *text, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

/* ------------------------------------------------------------ probe */

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int cmd_probe(const char *state, const wwa_probe_target *t, long long interval_s, long long count)
{
    wwa_store *st = NULL;
    if (cli_wwa_open_store(state, 1, &st) != CLI_OK)
        return CLI_FAILED;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = CLI_OK;
    for (long long i = 0; (count == 0 || i < count) && !stop_requested; i++) {
        if (i > 0) {
            struct timespec ts = {.tv_sec = (time_t)interval_s, .tv_nsec = 0};
            while (!stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
            if (stop_requested)
                break;
        }
        char why[512], err[512], at_text[32];
        long long at = wss_wall_ms();
        int up = wwa_probe_once(t, why, sizeof why);
        if (wwa_probe_record(st, at, up, err, sizeof err) != WSS_OK) {
            fprintf(stderr, "wss wwa probe: %s\n", err);
            rc = CLI_FAILED;
            break;
        }
        wss_wwa_format_time(at, at_text);
        printf("%s %s %s\n", at_text, up ? "up" : "down", why);
        fflush(stdout);
    }
    wwa_store_close(st);
    return rc;
}

/* ------------------------------------------------------------ import-sim */

/* Skill ids go into a URL path: the emulator's are letters, digits and . _ - : */
static int skill_id_safe(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= WSS_WWA_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._-:", c)))
            return 0;
    }
    return 1;
}

/* Imports the records of one skill after its cursor, page by page, into the open transaction. */
static int import_skill(sim_client *c, wwa_store *st, const char *skill, wwa_source_counts *total)
{
    char source[WSS_WWA_ID_MAX + 8], err[512], path[512];
    wwa_source_counts n = {0, 0, 0};
    if (!skill_id_safe(skill)) {
        fprintf(stderr, "wss wwa import-sim: the skill id \"%.64s\" has characters outside . _ - : letters, digits\n",
                skill);
        return CLI_FAILED;
    }
    wwa_sim_source_name(skill, source, sizeof source);
    if (wwa_store_cursor_get(st, source, &n.last_id, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa import-sim: %s\n", err);
        return CLI_FAILED;
    }
    for (;;) {
        snprintf(path, sizeof path, "/skills/%s/requests?after_id=%lld&limit=%d", skill, n.last_id, PAGE);
        json_t *doc = NULL;
        int status = sim_client_control(c, "GET", path, NULL, &doc, err, sizeof err);
        if (status != 200) {
            fprintf(stderr, "wss wwa import-sim: reading the records of %s: %s\n", skill,
                    status < 0      ? err
                    : status >= 400 ? err
                                    : "unexpected answer");
            json_decref(doc);
            return CLI_FAILED;
        }
        const json_t *records = json_object_get(doc, "records");
        size_t got = json_array_size(records);
        wss_err rc = wwa_sim_records_add(st, skill, records, &n, err, sizeof err);
        json_decref(doc);
        if (rc != WSS_OK) {
            fprintf(stderr, "wss wwa import-sim: %s: %s\n", skill, err);
            return CLI_FAILED;
        }
        if (got < PAGE)
            break;
    }
    if (n.added && wwa_store_cursor_set(st, source, n.last_id, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa import-sim: %s\n", err);
        return CLI_FAILED;
    }
    printf("%s: %zu directive outcomes (%zu invalid), up to record %lld\n", skill, n.added, n.invalid, n.last_id);
    total->added += n.added;
    total->invalid += n.invalid;
    return CLI_OK;
}

static int cmd_import_sim(const char *state, const char *sim_state, const char *skill)
{
    sim_client c;
    char err[512];
    memset(&c, 0, sizeof c);
    if (sim_client_load(&c, sim_state, 0, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa import-sim: %s\n", err);
        return CLI_FAILED;
    }
    json_t *skills = NULL;
    int rc = CLI_OK;
    if (skill) {
        skills = json_pack("[{s:s}]", "skill_id", skill);
    } else {
        int status = sim_client_control(&c, "GET", "/skills", NULL, &skills, err, sizeof err);
        if (status != 200) {
            fprintf(stderr, "wss wwa import-sim: listing the skills: %s\n", status < 0 ? err : err);
            rc = CLI_FAILED;
        }
    }
    const json_t *list = json_is_array(skills) ? skills : json_object_get(skills, "skills");
    wwa_store *st = NULL;
    if (rc == CLI_OK)
        rc = cli_wwa_open_store(state, 1, &st);
    if (rc == CLI_OK && wwa_store_begin(st, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa: %s\n", err);
        rc = CLI_FAILED;
    }
    wwa_source_counts total = {0, 0, 0};
    if (rc == CLI_OK) {
        for (size_t i = 0; rc == CLI_OK && i < json_array_size(list); i++) {
            const char *id = json_string_value(json_object_get(json_array_get(list, i), "skill_id"));
            rc = id ? import_skill(&c, st, id, &total) : CLI_FAILED;
        }
        if (rc == CLI_OK && wwa_store_commit(st, err, sizeof err) != WSS_OK) {
            fprintf(stderr, "wss wwa: %s\n", err);
            rc = CLI_FAILED;
        }
        if (rc != CLI_OK) {
            wwa_store_rollback(st);
            fprintf(stderr, "wss wwa import-sim: nothing imported\n");
        }
    }
    if (rc == CLI_OK)
        printf("imported %zu directive outcomes (%zu invalid) from the emulator\n", total.added, total.invalid);
    json_decref(skills);
    wwa_store_close(st);
    sim_client_free(&c);
    return rc;
}

/* ------------------------------------------------------------ report */

static int cmd_report(const char *state, const char *month_text, const char *out, int as_json)
{
    int year, month;
    if (!month_text || wwa_report_parse_month(month_text, &year, &month) != 0) {
        fprintf(stderr, "wss wwa report: --month YYYY-MM is required (e.g. 2027-03)\n");
        return CLI_USAGE;
    }
    wwa_store *st = NULL;
    wss_wwa *e = NULL;
    json_t *report = NULL;
    char err[512];
    int rc = cli_wwa_load(state, &st, &e);
    if (rc == CLI_OK && !(report = wwa_report_build(e, year, month, err, sizeof err))) {
        fprintf(stderr, "wss wwa report: %s\n", err);
        rc = CLI_FAILED;
    }
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s", out ? out : "");
    if (!out)
        snprintf(prefix, sizeof prefix, "wwa-report-%s", month_text);
    if (rc == CLI_OK && (out || !as_json)) {
        char path[4200];
        snprintf(path, sizeof path, "%s.json", prefix);
        if (json_dump_file(report, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
            fprintf(stderr, "wss wwa report: cannot write %s\n", path);
            rc = CLI_FAILED;
        }
        snprintf(path, sizeof path, "%s.pdf", prefix);
        if (rc == CLI_OK && wwa_report_pdf(report, path, err, sizeof err) != WSS_OK) {
            fprintf(stderr, "wss wwa report: %s\n", err);
            rc = CLI_FAILED;
        }
        snprintf(path, sizeof path, "%s.png", prefix);
        if (rc == CLI_OK && wwa_report_png(report, path, 2.0, err, sizeof err) != WSS_OK) {
            fprintf(stderr, "wss wwa report: %s\n", err);
            rc = CLI_FAILED;
        }
        if (rc == CLI_OK && !as_json)
            printf("wrote %s.json, %s.pdf and %s.png: badge %s at the end of %s\n", prefix, prefix, prefix,
                   json_is_true(json_object_get(json_object_get(report, "badge"), "held")) ? "held" : "REMOVED",
                   month_text);
    }
    if (rc == CLI_OK && as_json) {
        char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text)
            printf("%s\n", text);
        else
            rc = CLI_FAILED;
        free(text);
    }
    json_decref(report);
    wss_wwa_free(e);
    wwa_store_close(st);
    wwa_report_release();
    return rc;
}

/* ------------------------------------------------------------ dispatch */

int cli_wwa_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},
        {"url", required_argument, NULL, 'u'},
        {"skill-url", required_argument, NULL, 'k'},
        {"interval", required_argument, NULL, 'i'},
        {"count", required_argument, NULL, 'c'},
        {"ca-file", required_argument, NULL, 'a'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"sim-state", required_argument, NULL, 'm'},
        {"skill", required_argument, NULL, 'K'},
        {"month", required_argument, NULL, 'M'},
        {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *verb = argv[1];
    const char *state = DEFAULT_STATE, *url = NULL, *skill_url = NULL, *ca = NULL, *sim_state = NULL, *skill = NULL,
               *month = NULL, *out = NULL;
    long long interval = 30, count = 0, timeout = 10000;
    int as_json = 0, c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': state = optarg; break;
        case 'u': url = optarg; break;
        case 'k': skill_url = optarg; break;
        case 'a': ca = optarg; break;
        case 'm': sim_state = optarg; break;
        case 'K': skill = optarg; break;
        case 'M': month = optarg; break;
        case 'o': out = optarg; break;
        case 'j': as_json = 1; break;
        case 'i':
            if (!parse_long(optarg, 1, 86400, &interval)) {
                fprintf(stderr, "wss wwa probe: --interval is 1..86400 seconds\n");
                return CLI_USAGE;
            }
            break;
        case 'c':
            if (!parse_long(optarg, 1, LLONG_MAX, &count)) {
                fprintf(stderr, "wss wwa probe: --count is a positive number of rounds\n");
                return CLI_USAGE;
            }
            break;
        case 't':
            if (!parse_long(optarg, 1, 600000, &timeout)) {
                fprintf(stderr, "wss wwa probe: --timeout-ms is 1..600000\n");
                return CLI_USAGE;
            }
            break;
        case 'h': verb_help(stdout); return CLI_OK;
        default: verb_help(stderr); return CLI_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "wss wwa %s: unexpected argument \"%s\"\n", verb, argv[optind]);
        return CLI_USAGE;
    }
    if (strcmp(verb, "probe") == 0) {
        if (!url || sim_state || skill || month || out || as_json) {
            fprintf(stderr, "wss wwa probe: needs --url and takes --skill-url, --interval, --count, --ca-file,"
                            " --timeout-ms, --state\n");
            return CLI_USAGE;
        }
        wwa_probe_target t = {.health_url = url, .skill_url = skill_url, .ca_file = ca, .timeout_ms = (long)timeout};
        return cmd_probe(state, &t, interval, count);
    }
    if (url || skill_url || ca) {
        fprintf(stderr, "wss wwa %s: --url, --skill-url and --ca-file belong to probe\n", verb);
        return CLI_USAGE;
    }
    if (strcmp(verb, "import-sim") == 0) {
        if (!sim_state || month || out || as_json) {
            fprintf(stderr, "wss wwa import-sim: needs --sim-state SIMDIR and takes --skill, --state\n");
            return CLI_USAGE;
        }
        return cmd_import_sim(state, sim_state, skill);
    }
    if (sim_state || skill) {
        fprintf(stderr, "wss wwa report: --sim-state and --skill belong to import-sim\n");
        return CLI_USAGE;
    }
    return cmd_report(state, month, out, as_json);
}
