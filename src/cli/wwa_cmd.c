/* wwa_cmd.c - `wss wwa`: the Works with Alexa compliance watch. Imports
 * events (probes, directive outcomes, incidents, audits, attestations) into
 * a store and reports the badge state at an instant (docs/wwa.md). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/wwa_cli.h"
#include "common/clock.h"
#include "common/file.h"
#include "wwa/internal.h"
#include "wwa/live.h"
#include "wwa/store.h"

#define DEFAULT_STATE "wss-wwa-state"
#define MAX_LINE 65536

static void usage(FILE *out)
{
    fprintf(out, "usage: wss wwa import FILE [--format jsonl|csv] [--state DIR]\n"
                 "       wss wwa status [--json] [--at TIME] [--state DIR]\n");
    cli_wwa_report_usage(out);
    cli_wwa_serve_usage(out);
    fprintf(out, "\n"
                 "The Works with Alexa compliance watch: availability (99.93 %% a calendar year, at most\n"
                 "5 outages), INVALID_SKILL_RESPONSE_EXCEPTION share per skill (3 %% over 30 days, 90 days\n"
                 "to mitigate), security incidents, and the product checklist of each ASIN. See docs/wwa.md.\n"
                 "\n"
                 "  import FILE     adds the events of FILE to the store, all or none: the first bad line\n"
                 "                  is reported as FILE:LINE: reason and nothing is added\n"
                 "  status          the state at an instant: badge held or removed and why, new badge\n"
                 "                  requests, availability this year, outages, each skill's 30-day share\n"
                 "                  and its 90-day clock, incidents, checklist gaps, warnings\n"
                 "\n"
                 "  --format F      jsonl (one JSON object per line, the default) or csv (the header\n"
                 "                  \"" WWA_CSV_HEADER "\", then probe and directive rows); a FILE\n"
                 "                  ending in .csv is read as csv unless --format says otherwise\n"
                 "  --json          status as one JSON document instead of text\n"
                 "  --at TIME       the instant, UTC: 2027-06-30T12:00:00Z (default: now); events after it\n"
                 "                  are not seen\n"
                 "  --state DIR     where the store lives (DIR/wwa.db; default ./" DEFAULT_STATE ")\n"
                 "  -h, --help      this text\n"
                 "\n"
                 "Exit status: 0 done (whatever the badge state), 1 failed (bad input, store error),\n"
                 "2 wrong command line.\n");
}

/* ------------------------------------------------------------ import */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cli_wwa_open_store(const char *state, int create, wwa_store **st)
{
    char path[4200], err[512];
    if (create) {
        wss_err rc = wss_mkdir(state);
        if (rc != WSS_OK) {
            fprintf(stderr, "wss wwa: cannot create %s: %s\n", state, wss_strerror(rc));
            return CLI_FAILED;
        }
    }
    snprintf(path, sizeof path, "%s/wwa.db", state);
    struct stat sb;
    if (!create && stat(path, &sb) != 0) {
        fprintf(stderr, "wss wwa: no store at %s (import events first)\n", path);
        return CLI_FAILED;
    }
    if (wwa_store_open(path, st, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa: %s\n", err);
        return CLI_FAILED;
    }
    return CLI_OK;
}

int cli_wwa_load(const char *state, wwa_store **st, wss_wwa **e)
{
    char err[512];
    *st = NULL;
    *e = NULL;
    int rc = cli_wwa_open_store(state, 0, st);
    if (rc == CLI_OK && wss_wwa_new(NULL, e) != WSS_OK)
        rc = CLI_FAILED;
    if (rc == CLI_OK && wwa_store_load(*st, *e, NULL, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa: %s\n", err);
        rc = CLI_FAILED;
    }
    return rc;
}

/* Reads FILE line by line; every line must parse and be accepted by an
 * engine holding the events already stored (duplicate incident ids...). */
static int import_lines(FILE *in, const char *file, wwa_format fmt, wwa_store *st, wss_wwa *e, size_t *added)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    char why[512], err[512];
    int rc = CLI_OK;
    while ((got = getline(&line, &cap, in)) != -1) {
        lineno++;
        size_t len = (size_t)got;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len > MAX_LINE) {
            fprintf(stderr, "%s:%zu: the line is longer than %d bytes\n", file, lineno, MAX_LINE);
            rc = CLI_FAILED;
            break;
        }
        if (memchr(line, '\0', len)) {
            fprintf(stderr, "%s:%zu: the line holds a NUL byte\n", file, lineno);
            rc = CLI_FAILED;
            break;
        }
        if (fmt == WWA_FORMAT_CSV && lineno == 1) {
            if (len != strlen(WWA_CSV_HEADER) || memcmp(line, WWA_CSV_HEADER, len) != 0) {
                fprintf(stderr, "%s:1: a CSV file starts with the header \"%s\"\n", file, WWA_CSV_HEADER);
                rc = CLI_FAILED;
                break;
            }
            continue;
        }
        if (len == 0) {
            fprintf(stderr, "%s:%zu: empty line\n", file, lineno);
            rc = CLI_FAILED;
            break;
        }
        wss_wwa_event ev;
        if (wwa_parse_line(fmt, line, len, &ev, why, sizeof why) != WSS_OK) {
            fprintf(stderr, "%s:%zu: %s\n", file, lineno, why);
            rc = CLI_FAILED;
            break;
        }
        wss_err added_rc = wss_wwa_add(e, &ev);
        if (added_rc != WSS_OK) {
            fprintf(stderr, "%s:%zu: %s\n", file, lineno,
                    added_rc == WSS_ERR_EXISTS ? "an incident with this id exists already" : wss_strerror(added_rc));
            rc = CLI_FAILED;
            break;
        }
        if (wwa_store_append(st, &ev, err, sizeof err) != WSS_OK) {
            fprintf(stderr, "%s:%zu: %s\n", file, lineno, err);
            rc = CLI_FAILED;
            break;
        }
        (*added)++;
    }
    if (rc == CLI_OK && ferror(in)) {
        fprintf(stderr, "wss wwa import: cannot read %s: %s\n", file, strerror(errno));
        rc = CLI_FAILED;
    }
    free(line);
    return rc;
}

static int cmd_import(const char *file, const char *format, const char *state)
{
    wwa_format fmt = WWA_FORMAT_JSONL;
    if (format ? strcmp(format, "csv") == 0 : ends_with(file, ".csv"))
        fmt = WWA_FORMAT_CSV;
    else if (format && strcmp(format, "jsonl") != 0) {
        fprintf(stderr, "wss wwa: --format is jsonl or csv\n");
        return CLI_USAGE;
    }
    FILE *in = fopen(file, "r");
    if (!in) {
        fprintf(stderr, "wss wwa import: cannot open %s: %s\n", file, strerror(errno));
        return CLI_FAILED;
    }
    wwa_store *st = NULL;
    wss_wwa *e = NULL;
    char err[512];
    size_t before = 0, added = 0;
    int rc = cli_wwa_open_store(state, 1, &st);
    if (rc == CLI_OK && wss_wwa_new(NULL, &e) != WSS_OK)
        rc = CLI_FAILED;
    if (rc == CLI_OK && wwa_store_begin(st, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss wwa: %s\n", err);
        rc = CLI_FAILED;
    }
    if (rc == CLI_OK) {
        if (wwa_store_load(st, e, &before, err, sizeof err) != WSS_OK) {
            fprintf(stderr, "wss wwa: %s\n", err);
            rc = CLI_FAILED;
        }
        if (rc == CLI_OK)
            rc = import_lines(in, file, fmt, st, e, &added);
        if (rc == CLI_OK && wwa_store_commit(st, err, sizeof err) != WSS_OK) {
            fprintf(stderr, "wss wwa: %s\n", err);
            rc = CLI_FAILED;
        }
        if (rc != CLI_OK)
            wwa_store_rollback(st);
    }
    if (rc == CLI_OK)
        printf("imported %zu events from %s (%zu in the store)\n", added, file, before + added);
    else if (st)
        fprintf(stderr, "wss wwa import: nothing imported\n");
    fclose(in);
    wss_wwa_free(e);
    wwa_store_close(st);
    return rc;
}

/* ------------------------------------------------------------ status */

/* "6h 07m 55.2s" */
static void duration(long long ms, char *buf, size_t len)
{
    snprintf(buf, len, "%lldh %02lldm %02lld.%01llds", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000 / 100);
}

static void print_text(const wss_wwa_state *s)
{
    const wss_wwa_availability *a = &s->availability;
    char t[32], d1[48], d2[48], d3[48];
    wss_wwa_format_time(s->at_ms, t);
    printf("Works with Alexa status at %s\n\n", t);
    printf("badge: %s\n", s->badge_held ? "held" : "REMOVED");
    for (size_t i = 0; i < s->nreasons; i++) {
        wss_wwa_format_time(s->reasons[i].since_ms, t);
        printf("  - %s since %s: %s\n", wss_wwa_reason_name(s->reasons[i].kind), t, s->reasons[i].text);
    }
    printf("new badge requests: %s\n\n", s->requests_suspended ? "SUSPENDED" : "allowed");
    duration(a->downtime_ms, d1, sizeof d1);
    duration(a->allowance_ms, d2, sizeof d2);
    duration(a->left_ms, d3, sizeof d3);
    printf("availability %d: %.4f %% so far (target 99.93 %%)\n", a->year, a->percent);
    printf("  downtime %s of %s allowed, %s left\n", d1, d2, d3);
    printf("  outages %d of %d%s\n", a->outages, WSS_WWA_MAX_OUTAGES, a->down_now ? " (down now)" : "");
    if (a->breach_downtime_at_ms >= 0) {
        wss_wwa_format_time(a->breach_downtime_at_ms, t);
        printf("  downtime allowance exceeded at %s\n", t);
    }
    if (a->breach_outages_at_ms >= 0) {
        wss_wwa_format_time(a->breach_outages_at_ms, t);
        printf("  sixth outage began at %s\n", t);
    }
    printf("\nINVALID_SKILL_RESPONSE_EXCEPTION over 30 days (limit 3 %%):\n");
    if (s->nskills == 0)
        printf("  no directive outcomes\n");
    for (size_t i = 0; i < s->nskills; i++) {
        const wss_wwa_skill_state *k = &s->skills[i];
        printf("  %s: %.2f %% (%lld of %lld)", k->skill, k->percent, k->invalid, k->total);
        if (k->breach) {
            wss_wwa_format_time(k->breach_start_ms, t);
            long long left = k->deadline_ms - s->at_ms;
            if (k->removed)
                printf(", over since %s: 90 days passed, badge removed\n", t);
            else
                printf(", over since %s: %lld days %lld h left to mitigate\n", t, left / 86400000,
                       left % 86400000 / 3600000);
        } else {
            printf("\n");
        }
    }
    printf("\nsecurity incidents (%d high this year):\n", s->high_this_year);
    if (s->nincidents == 0)
        printf("  none\n");
    for (size_t i = 0; i < s->nincidents; i++) {
        const wss_wwa_incident_state *n = &s->incidents[i];
        wss_wwa_format_time(n->at_ms, t);
        printf("  %s %s at %s", n->id, wss_wwa_severity_name(n->severity), t);
        if (n->fix_deadline_ms >= 0) {
            wss_wwa_format_time(n->fixed_at_ms >= 0 ? n->fixed_at_ms : n->fix_deadline_ms, t);
            printf(n->fixed_at_ms >= 0 ? ", fixed %s" : ", fix due %s", t);
            if (n->overdue)
                printf(" (OVERDUE)");
        }
        if (n->removal)
            printf(n->cleared ? ", removal lifted" : ", badges removed");
        printf("\n");
    }
    printf("\nproduct checklist:\n");
    if (s->nasins == 0)
        printf("  no ASIN attested\n");
    for (size_t i = 0; i < s->nasins; i++) {
        const wss_wwa_asin_state *as = &s->asins[i];
        if (as->gaps)
            printf("  %s (%s): %d gaps\n", as->asin, as->market, as->gaps);
        else
            printf("  %s (%s): complete\n", as->asin, as->market);
        for (int c = 0; c < WSS_WWA_CHECK__COUNT; c++) {
            const wss_wwa_check_state *cs = &as->checks[c];
            if (!cs->attested) {
                printf("    %-16s GAP: not attested\n", wss_wwa_check_name((wss_wwa_check)c));
                continue;
            }
            wss_wwa_format_time(cs->at_ms, t);
            printf("    %-16s %s%s by %s at %s\n", wss_wwa_check_name((wss_wwa_check)c),
                   cs->result == WSS_WWA_FAIL ? "GAP: " : "", wss_wwa_result_name(cs->result), cs->who, t);
        }
    }
    if (s->nwarnings) {
        printf("\nwarnings:\n");
        for (size_t i = 0; i < s->nwarnings; i++)
            printf("  - %s\n", s->warnings[i].text);
    }
}

static int cmd_status(const char *state, int as_json, const char *at_text)
{
    long long at = wss_wall_ms();
    if (at_text && wss_wwa_parse_time(at_text, &at) != WSS_OK) {
        fprintf(stderr, "wss wwa: --at must be a UTC time like 2027-06-30T12:00:00Z\n");
        return CLI_USAGE;
    }
    wwa_store *st = NULL;
    wss_wwa *e = NULL;
    int rc = cli_wwa_load(state, &st, &e);
    wss_wwa_state s;
    if (rc == CLI_OK) {
        wss_err qrc = wss_wwa_state_at(e, at, &s);
        if (qrc != WSS_OK) {
            fprintf(stderr, "wss wwa status: %s\n", wss_strerror(qrc));
            rc = CLI_FAILED;
        }
    }
    if (rc == CLI_OK) {
        if (as_json) {
            json_t *doc = wwa_status_json(&s);
            char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
            if (text)
                printf("%s\n", text);
            else
                rc = CLI_FAILED;
            free(text);
            json_decref(doc);
        } else {
            print_text(&s);
        }
        wss_wwa_state_free(&s);
    }
    wss_wwa_free(e);
    wwa_store_close(st);
    return rc;
}

int cli_wwa(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'}, {"format", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},        {"at", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *state = DEFAULT_STATE, *format = NULL, *at = NULL;
    int as_json = 0, c;
    if (cli_wwa_report_verb(argc, argv)) /* probe, import-sim, report: wwa_report_cmd.c */
        return cli_wwa_report(argc, argv);
    if (cli_wwa_serve_verb(argc, argv)) /* serve, alerts: wwa_serve_cmd.c */
        return cli_wwa_serve(argc, argv);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': state = optarg; break;
        case 'f': format = optarg; break;
        case 'j': as_json = 1; break;
        case 'a': at = optarg; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs == 2 && strcmp(args[0], "import") == 0) {
        if (as_json || at) {
            fprintf(stderr, "wss wwa import: --json and --at belong to status\n");
            return CLI_USAGE;
        }
        return cmd_import(args[1], format, state);
    }
    if (nargs == 1 && strcmp(args[0], "status") == 0) {
        if (format) {
            fprintf(stderr, "wss wwa status: --format belongs to import\n");
            return CLI_USAGE;
        }
        return cmd_status(state, as_json, at);
    }
    fprintf(stderr, "wss wwa: expected \"import FILE\" or \"status\" (see wss wwa --help)\n");
    return CLI_USAGE;
}
