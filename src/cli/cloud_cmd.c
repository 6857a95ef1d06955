/* cloud_cmd.c - `wss cloud`: run the maker's cloud, and the operator's verbs
 * that work on its store (users and their account-linking tokens, the outbox). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "cloud/internal.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/log.h"
#include "wss/cloud.h"

#define DEFAULT_STATE "wss-cloud-state"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wss cloud --config FILE [--state DIR] [--listen HOST:PORT] [--log-level LEVEL]\n"
            "       wss cloud <verb> [--state DIR] ...\n"
            "\n"
            "Runs the maker's cloud: device association reports in (mutual TLS), Skill-Device\n"
            "Association Events out through a durable outbox, the Smart Home skill endpoint\n"
            "(POST /alexa/skill), /metrics and /healthz. See docs/cloud.md.\n"
            "\n"
            "  --config FILE      JSON configuration (required to serve); the LWA client secret comes\n"
            "                     from the environment variable it names, never from the command line\n"
            "  --state DIR        state directory (SQLite store, TLS files); overrides the configuration\n"
            "  --listen HOST:PORT address to serve on, port 0 for a free one; overrides the configuration\n"
            "  --log-level LEVEL  debug, info, warn, error or off (default info); JSON lines on stderr\n"
            "  -h, --help         this text\n"
            "\n"
            "verbs (they open the store in --state DIR, default ./" DEFAULT_STATE "; the cloud may be running):\n"
            "  user add ID [--name NAME]         create a user of the maker's service\n"
            "  user token ID [--expires-in S]    issue an account-linking access token for the user (printed once)\n"
            "  outbox list [--dead|--delivered]  events waiting (default), given up on, or delivered\n"
            "  outbox requeue EVENT_ID           send a dead-lettered event again, after fixing its cause\n");
}

static int open_store(const char *state, cloud_store **st)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/cloud.db", state);
    if (cloud_store_open_sqlite(path, st, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss cloud: %s\n", err);
        return CLI_FAILED;
    }
    return CLI_OK;
}

static int print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(doc);
    return CLI_OK;
}

static int user_add(cloud_store *st, const char *id, const char *name)
{
    wss_err rc = st->ops->user_add(st, id, name ? name : id, wss_wall_ms());
    if (rc != WSS_OK) {
        fprintf(stderr, "wss cloud user add: %s\n", rc == WSS_ERR_EXISTS ? "the user exists" : wss_strerror(rc));
        return CLI_FAILED;
    }
    return print_json(json_pack("{s:s, s:s}", "user_id", id, "name", name ? name : id));
}

static int user_token(cloud_store *st, const char *id, long long expires_in_s)
{
    char *token = NULL;
    long long expires_ms = 0;
    wss_err rc = cloud_user_token_mint(st, id, expires_in_s, &token, &expires_ms);
    if (rc != WSS_OK) {
        fprintf(stderr, "wss cloud user token: %s\n", rc == WSS_ERR_NOT_FOUND ? "no such user" : wss_strerror(rc));
        return CLI_FAILED;
    }
    print_json(
        json_pack("{s:s, s:s, s:I}", "user_id", id, "access_token", token, "expires_ms", (json_int_t)expires_ms));
    memset(token, 0, strlen(token));
    free(token);
    return CLI_OK;
}

static int outbox_list(cloud_store *st, const char *state)
{
    json_t *list = NULL;
    wss_err rc = st->ops->outbox_list(st, state, 1000, &list);
    if (rc != WSS_OK) {
        fprintf(stderr, "wss cloud outbox list: %s\n", wss_strerror(rc));
        return CLI_FAILED;
    }
    return print_json(list);
}

static int outbox_requeue(cloud_store *st, const char *id_text)
{
    char *end;
    long long id = strtoll(id_text, &end, 10);
    if (*end || id <= 0) {
        fprintf(stderr, "wss cloud outbox requeue: EVENT_ID must be a positive number\n");
        return CLI_USAGE;
    }
    wss_err rc = st->ops->outbox_requeue(st, id, wss_wall_ms());
    if (rc != WSS_OK) {
        fprintf(stderr, "wss cloud outbox requeue: %s\n",
                rc == WSS_ERR_NOT_FOUND ? "no dead-lettered event with that id" : wss_strerror(rc));
        return CLI_FAILED;
    }
    printf("event %lld requeued: the running cloud sends it within a second\n", id);
    return CLI_OK;
}

/* The verbs: argv[0] is the verb's first word. */
static int verb(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},
        {"expires-in", required_argument, NULL, 'e'},
        {"dead", no_argument, NULL, 'd'},
        {"delivered", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state = DEFAULT_STATE, *name = NULL, *filter = "pending";
    long long expires_in = 3600;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': state = optarg; break;
        case 'n': name = optarg; break;
        case 'e':
            expires_in = strtoll(optarg, NULL, 10);
            if (expires_in <= 0) {
                fprintf(stderr, "wss cloud: --expires-in must be a positive number of seconds\n");
                return CLI_USAGE;
            }
            break;
        case 'd': filter = "dead"; break;
        case 'D': filter = "delivered"; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    int known =
        (nargs == 3 && strcmp(args[0], "user") == 0 && (!strcmp(args[1], "add") || !strcmp(args[1], "token"))) ||
        (nargs == 2 && strcmp(args[0], "outbox") == 0 && strcmp(args[1], "list") == 0) ||
        (nargs == 3 && strcmp(args[0], "outbox") == 0 && strcmp(args[1], "requeue") == 0);
    if (!known) {
        fprintf(stderr, "wss cloud: unknown verb or wrong arguments (see wss cloud --help)\n");
        return CLI_USAGE;
    }
    cloud_store *st = NULL;
    if (open_store(state, &st) != CLI_OK)
        return CLI_FAILED;
    int rc;
    if (strcmp(args[0], "user") == 0)
        rc = strcmp(args[1], "add") == 0 ? user_add(st, args[2], name) : user_token(st, args[2], expires_in);
    else if (strcmp(args[1], "list") == 0)
        rc = outbox_list(st, filter);
    else
        rc = outbox_requeue(st, args[2]);
    st->ops->close(st);
    return rc;
}

static int serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"state", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'}, {"log-level", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    wss_cloud_options opts = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': opts.config_path = optarg; break;
        case 's': opts.state_dir = optarg; break;
        case 'l': opts.listen = optarg; break;
        case 'v': {
            int level = wss_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "wss cloud: --log-level must be debug, info, warn, error or off\n");
                return CLI_USAGE;
            }
            wss_log_set_level((wss_log_level)level);
            break;
        }
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc || !opts.config_path) {
        fprintf(stderr, "wss cloud: %s\n", optind < argc ? "unexpected argument" : "--config FILE is required");
        return CLI_USAGE;
    }
    cli_stop_signal_block();
    char err[512];
    wss_cloud *cloud = NULL;
    if (wss_cloud_start(&opts, &cloud, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "wss cloud: %s\n", err);
        return CLI_FAILED;
    }
    printf("wss cloud: listening on %s\n", wss_cloud_base_url(cloud));
    fflush(stdout);
    cli_stop_signal_wait();
    wss_cloud_stop(cloud);
    printf("wss cloud: stopped\n");
    return CLI_OK;
}

int cli_cloud(int argc, char **argv)
{
    if (argc >= 2 && argv[1][0] != '-')
        return verb(argc, argv);
    return serve(argc, argv);
}
