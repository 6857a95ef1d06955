/* sim_client.c - `wss sim <verb>`: the control API of a running emulator from the shell.
 *
 * Each verb finds the emulator through <state>/credentials.json (--state DIR,
 * default ./wss-sim-state, as for `wss sim`), makes one control API call and
 * prints the JSON answer, indented, on stdout. Errors go to stderr as
 * "wss sim VERB: reason": exit 1 when the call failed, 2 when the command
 * line was wrong. Secrets (a maker's access token, a Wi-Fi key) are taken
 * from the environment or a file so that they never show in a process list. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/sim_client.h"
#include "common/crypto.h"
#include "common/file.h"
#include "sim/client.h"

#define DEFAULT_STATE "wss-sim-state"
#define MAX_OPTS 8
#define PATH_MAX_LEN 2048
#define KEY_FILE_MAX (16u * 1024u)

/* sim_scenario.c */

typedef struct verb verb;

typedef struct args {
    const verb *vb;
    const char *state;
    const char *val[MAX_OPTS]; /* by position in vb->opts */
    char **pos;
    int npos;
} args;

struct verb {
    const char *name;               /* "customer add" */
    const char *opts[MAX_OPTS + 1]; /* long options; a trailing '=' takes a value */
    int min_pos, max_pos;
    int (*run)(args *a);
    const char *synopsis; /* after "wss sim " */
    const char *summary;  /* one line for the verb list */
    const char *help;     /* the rest of --help */
};

/* --- output and errors --- */

static int failf(const args *a, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(const args *a, int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "wss sim %s: ", a->vb->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (code == CLI_USAGE)
        fprintf(stderr, "usage: wss sim %s [--state DIR]   (wss sim %s --help for more)\n", a->vb->synopsis,
                a->vb->name);
    return code;
}

static void print_json(const json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    printf("%s\n", text ? text : "{}");
    free(text);
}

/* One control API call: prints the answer or the reason it failed. Takes body. */
static int call(args *a, const char *method, const char *path, json_t *body)
{
    sim_client c;
    char err[1024];
    if (sim_client_load(&c, a->state, 0, err, sizeof err) != WSS_OK) {
        json_decref(body);
        return failf(a, CLI_FAILED, "%s (start one with: wss sim --state %s)", err, a->state);
    }
    json_t *answer = NULL;
    int status = sim_client_control(&c, method, path, body, &answer, err, sizeof err);
    json_decref(body);
    int code = CLI_OK;
    if (status < 0)
        code = failf(a, CLI_FAILED, "%s (is `wss sim --state %s` running?)", err, a->state);
    else if (status >= 400)
        code = failf(a, CLI_FAILED, "%s", err);
    else
        print_json(answer);
    json_decref(answer);
    sim_client_free(&c);
    return code;
}

/* --- paths and values --- */

/* Appends literal, then segment percent-encoded (NULL: nothing). 0 when it no longer fits. */
static int path_add(char *buf, const char *literal, const char *segment)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(buf);
    for (const char *p = literal; p && *p; p++)
        if (n + 1 < PATH_MAX_LEN)
            buf[n++] = *p;
        else
            return 0;
    for (const unsigned char *p = (const unsigned char *)segment; p && *p; p++) {
        if (n + 4 >= PATH_MAX_LEN)
            return 0;
        if (isalnum(*p) || strchr("-._~", *p))
            buf[n++] = (char)*p;
        else {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        }
    }
    buf[n] = 0;
    return 1;
}

/* Appends "?name=value" or "&name=value" when value is set. */
static int query_add(char *buf, const char *name, const char *value)
{
    if (!value)
        return 1;
    char lit[64];
    snprintf(lit, sizeof lit, "%s%s=", strchr(buf, '?') ? "&" : "?", name);
    return path_add(buf, lit, value);
}

static const char *opt(const args *a, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; a->vb->opts[i]; i++)
        if (strncmp(a->vb->opts[i], name, n) == 0 && (a->vb->opts[i][n] == 0 || a->vb->opts[i][n] == '='))
            return a->val[i];
    return NULL;
}

static int parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

/* An integer option into body (absent: nothing); 0 with a usage error printed when malformed. */
static int int_opt(args *a, json_t *body, const char *name, const char *key, long long min, long long max)
{
    const char *s = opt(a, name);
    long long v;
    if (!s)
        return 1;
    if (!parse_ll(s, min, max, &v)) {
        failf(a, CLI_USAGE, "--%s must be an integer from %lld to %lld", name, min, max);
        return 0;
    }
    json_object_set_new(body, key, json_integer(v));
    return 1;
}

static int bad_path(args *a) { return failf(a, CLI_USAGE, "an argument is too long"); }

/* Reads a secret from a file, without its trailing white space. malloc'd or NULL. */
static char *read_secret_file(args *a, const char *path)
{
    char *text = NULL;
    wss_err rc = wss_read_file(path, 64 * 1024, &text, NULL);
    if (rc != WSS_OK) {
        failf(a, CLI_FAILED, "cannot read %s: %s", path, wss_strerror(rc));
        return NULL;
    }
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        text[--n] = 0;
    if (!n) {
        failf(a, CLI_FAILED, "%s is empty", path);
        free(text);
        return NULL;
    }
    return text;
}

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

/* --- customers and Wi-Fi --- */

static int customer_add(args *a)
{
    return call(a, "POST", "/customers",
                json_pack("{s:s?, s:s?}", "customer_id", opt(a, "id"), "name", opt(a, "name")));
}

static int customer_list(args *a) { return call(a, "GET", "/customers", NULL); }

static int wifi_add(args *a)
{
    static const char *const protocols[] = {"OPEN", "WPA_PSK", "WEP", "OTHER", NULL};
    const char *sec = opt(a, "security");
    int known = 0;
    for (const char *const *p = protocols; *p; p++)
        known |= strcmp(*p, sec) == 0;
    if (!known)
        return failf(a, CLI_USAGE, "--security must be OPEN, WPA_PSK, WEP or OTHER");
    const char *key = opt(a, "key") ? opt(a, "key") : getenv("WSS_WIFI_KEY");
    if (key && !*key)
        key = NULL;
    if (strcmp(sec, "OPEN") != 0 && !key)
        return failf(a, CLI_USAGE, "a %s network needs its key: set WSS_WIFI_KEY (or give --key)", sec);
    json_t *body = json_pack("{s:s, s:s, s:s?}", "ssid", opt(a, "ssid"), "security_protocol", sec, "key",
                             strcmp(sec, "OPEN") ? key : NULL);
    if (!int_opt(a, body, "priority", "priority", INT_MIN, INT_MAX)) {
        json_decref(body);
        return CLI_USAGE;
    }
    char path[PATH_MAX_LEN] = "";
    if (!path_add(path, "/customers/", opt(a, "customer")) || !path_add(path, "/wifi", NULL)) {
        json_decref(body);
        return bad_path(a);
    }
    return call(a, "POST", path, body);
}

static int wifi_list(args *a)
{
    char path[PATH_MAX_LEN] = "";
    if (!path_add(path, "/customers/", opt(a, "customer")) || !path_add(path, "/wifi", NULL))
        return bad_path(a);
    return call(a, "GET", path, NULL);
}

/* --- devices, purchases, session tokens --- */

/* The public key PEM of a file holding a public key, or a private key (its public half is sent). */
static char *public_key_from_file(args *a, const char *path)
{
    char *text = NULL;
    wss_err rc = wss_read_file(path, KEY_FILE_MAX, &text, NULL);
    if (rc != WSS_OK) {
        failf(a, CLI_FAILED, "cannot read %s: %s", path, wss_strerror(rc));
        return NULL;
    }
    if (!strstr(text, "PRIVATE KEY"))
        return text;
    wss_crypto_key *key = NULL;
    char why[256];
    rc = wss_key_parse_private_pem(text, &key, why, sizeof why);
    wipe_free(text);
    if (rc != WSS_OK) {
        failf(a, CLI_FAILED, "%s: %s", path, why);
        return NULL;
    }
    char *pem = wss_key_public_pem(key);
    wss_key_free(key);
    if (!pem)
        failf(a, CLI_FAILED, "%s: cannot export the public key", path);
    return pem;
}

static int device_add(args *a)
{
    char *pem = public_key_from_file(a, opt(a, "public-key"));
    if (!pem)
        return CLI_FAILED;
    json_t *body = json_pack("{s:s, s:s, s:s?}", "dsn", opt(a, "dsn"), "public_key", pem, "product_index",
                             opt(a, "product-index"));
    free(pem);
    return call(a, "POST", "/devices", body);
}

static int device_list(args *a) { return call(a, "GET", "/devices", NULL); }

static int purchase(args *a)
{
    return call(a, "POST", "/purchases",
                json_pack("{s:s, s:s}", "dsn", opt(a, "dsn"), "customer_id", opt(a, "customer")));
}

static int session_token(args *a)
{
    return call(a, "POST", "/session-tokens", json_pack("{s:s}", "dsn", opt(a, "dsn")));
}

/* --- skills --- */

static int skill_list(args *a) { return call(a, "GET", "/skills", NULL); }

static int skill_set(args *a)
{
    const char *stage = opt(a, "stage"), *enabled = opt(a, "enabled"), *ca = opt(a, "endpoint-ca");
    if (stage && strcmp(stage, "live") && strcmp(stage, "development"))
        return failf(a, CLI_USAGE, "--stage must be live or development");
    if (enabled && strcmp(enabled, "true") && strcmp(enabled, "false"))
        return failf(a, CLI_USAGE, "--enabled must be true or false");
    char ca_path[PATH_MAX];
    if (ca && !realpath(ca, ca_path)) /* the emulator reads it from its own working directory */
        return failf(a, CLI_FAILED, "cannot find %s: %s", ca, strerror(errno));
    json_t *body = json_pack("{s:s?, s:s?, s:s?}", "endpoint", opt(a, "endpoint"), "endpoint_ca_file",
                             ca ? ca_path : NULL, "stage", stage);
    if (enabled)
        json_object_set_new(body, "enabled", json_boolean(strcmp(enabled, "true") == 0));
    char path[PATH_MAX_LEN] = "";
    if (!path_add(path, "/skills/", a->pos[0])) {
        json_decref(body);
        return bad_path(a);
    }
    return call(a, "PATCH", path, body);
}

static int skill_link_path(args *a, char *path)
{
    return path_add(path, "/customers/", opt(a, "customer")) && path_add(path, "/skills/", opt(a, "skill"));
}

static int skill_enable(args *a)
{
    const char *file = opt(a, "access-token-file");
    char *token = NULL;
    if (file) {
        if (!(token = read_secret_file(a, file)))
            return CLI_FAILED;
    } else if (getenv("WSS_SKILL_ACCESS_TOKEN") && *getenv("WSS_SKILL_ACCESS_TOKEN")) {
        token = strdup(getenv("WSS_SKILL_ACCESS_TOKEN"));
    } else
        return failf(a, CLI_USAGE,
                     "the maker's access token is needed: set WSS_SKILL_ACCESS_TOKEN or give "
                     "--access-token-file FILE");
    char path[PATH_MAX_LEN] = "";
    if (!token || !skill_link_path(a, path)) {
        wipe_free(token);
        return token ? bad_path(a) : failf(a, CLI_FAILED, "out of memory");
    }
    json_t *body = json_pack("{s:s}", "access_token", token);
    wipe_free(token);
    return call(a, "PUT", path, body);
}

static int skill_disable(args *a)
{
    char path[PATH_MAX_LEN] = "";
    if (!skill_link_path(a, path))
        return bad_path(a);
    return call(a, "DELETE", path, NULL);
}

static int skill_requests(args *a)
{
    long long v;
    if ((opt(a, "since-ms") && !parse_ll(opt(a, "since-ms"), 0, LLONG_MAX, &v)) ||
        (opt(a, "until-ms") && !parse_ll(opt(a, "until-ms"), 0, LLONG_MAX, &v)) ||
        (opt(a, "after-id") && !parse_ll(opt(a, "after-id"), 0, LLONG_MAX, &v)) ||
        (opt(a, "limit") && !parse_ll(opt(a, "limit"), 1, 10000, &v)))
        return failf(a, CLI_USAGE,
                     "--since-ms and --until-ms take milliseconds on the emulator's clock, --after-id a record id,"
                     " --limit 1..10000");
    char path[PATH_MAX_LEN] = "";
    if (!path_add(path, "/skills/", a->pos[0]) || !path_add(path, "/requests", NULL) ||
        !query_add(path, "since_ms", opt(a, "since-ms")) || !query_add(path, "until_ms", opt(a, "until-ms")) ||
        !query_add(path, "after_id", opt(a, "after-id")) || !query_add(path, "limit", opt(a, "limit")))
        return bad_path(a);
    return call(a, "GET", path, NULL);
}

static int skill_directives(args *a)
{
    json_t *body = json_pack("{s:s?, s:s}", "customer_id", opt(a, "customer"), "name",
                             opt(a, "name") ? opt(a, "name") : "Discover");
    if (!int_opt(a, body, "count", "count", 1, 1000)) {
        json_decref(body);
        return CLI_USAGE;
    }
    char path[PATH_MAX_LEN] = "";
    if (!path_add(path, "/skills/", a->pos[0]) || !path_add(path, "/directives", NULL)) {
        json_decref(body);
        return bad_path(a);
    }
    return call(a, "POST", path, body);
}

/* --- faults --- */

static json_t *parse_schedule(const char *text)
{
    json_t *list = json_array();
    const char *p = text;
    while (list) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || (*end && *end != ',')) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, json_integer(v));
        if (!*end)
            break;
        p = end + 1;
    }
    return list;
}

static int fault_add(args *a)
{
    const char *rate = opt(a, "rate"), *schedule = opt(a, "schedule");
    if (rate && schedule)
        return failf(a, CLI_USAGE, "give --rate or --schedule, not both");
    const char *action = opt(a, "action");
    if (action && strcmp(action, "drop") && strcmp(action, "bad_signature") && strcmp(action, "invalid_response"))
        return failf(a, CLI_USAGE, "--action must be drop, bad_signature or invalid_response");
    json_t *body =
        json_pack("{s:s?, s:s?, s:s?}", "route", opt(a, "route"), "client", opt(a, "client"), "action", action);
    if (!int_opt(a, body, "status", "status", 0, 999) || !int_opt(a, body, "latency-ms", "latency_ms", 0, LLONG_MAX) ||
        !int_opt(a, body, "retry-after-s", "retry_after_s", 0, LLONG_MAX)) {
        json_decref(body);
        return CLI_USAGE;
    }
    if (rate) {
        char *end;
        double r = strtod(rate, &end);
        if (end == rate || *end || !(r >= 0 && r <= 1)) {
            json_decref(body);
            return failf(a, CLI_USAGE, "--rate must be a number from 0 to 1");
        }
        json_object_set_new(body, "rate", json_real(r));
    }
    if (schedule) {
        json_t *list = parse_schedule(schedule);
        if (!list) {
            json_decref(body);
            return failf(a, CLI_USAGE, "--schedule must be statuses separated by commas, e.g. 503,503,0");
        }
        json_object_set_new(body, "schedule", list);
    }
    return call(a, "POST", "/faults", body);
}

static int fault_list(args *a) { return call(a, "GET", "/faults", NULL); }

static int fault_clear(args *a)
{
    long long id;
    if (a->npos == 0)
        return call(a, "DELETE", "/faults", NULL);
    if (!parse_ll(a->pos[0], 1, LLONG_MAX, &id))
        return failf(a, CLI_USAGE, "the rule ID is a positive integer (see wss sim fault list)");
    char path[PATH_MAX_LEN] = "";
    path_add(path, "/faults/", a->pos[0]);
    return call(a, "DELETE", path, NULL);
}

/* --- clock and read-outs --- */

static int clock_show(args *a) { return call(a, "GET", "/clock", NULL); }

/* "90", "1.5", "10s", "15m", "12h", "30d" in seconds; -1 when malformed. */
static double parse_duration(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v >= 0) || isspace((unsigned char)*s))
        return -1;
    double unit = !*end                   ? 1
                  : strcmp(end, "s") == 0 ? 1
                  : strcmp(end, "m") == 0 ? 60
                  : strcmp(end, "h") == 0 ? 3600
                  : strcmp(end, "d") == 0 ? 86400
                                          : -1;
    return unit < 0 ? -1 : v * unit;
}

static int clock_advance(args *a)
{
    double seconds = parse_duration(a->pos[0]);
    if (seconds < 0)
        return failf(a, CLI_USAGE, "SECONDS must be a number of seconds, or carry a suffix: 10s, 15m, 12h, 30d");
    return call(a, "POST", "/clock", json_pack("{s:f}", "advance_s", seconds));
}

static int by_customer(args *a, const char *route)
{
    char path[PATH_MAX_LEN] = "";
    if (!path_add(path, route, NULL) || !query_add(path, "customer_id", opt(a, "customer")))
        return bad_path(a);
    return call(a, "GET", path, NULL);
}

static int associations(args *a) { return by_customer(a, "/associations"); }

static int alexa_devices(args *a) { return by_customer(a, "/alexa-devices"); }

static int counters(args *a) { return call(a, "GET", "/counters", NULL); }

static int events(args *a)
{
    long long v;
    if ((opt(a, "after") && !parse_ll(opt(a, "after"), 0, LLONG_MAX, &v)) ||
        (opt(a, "limit") && !parse_ll(opt(a, "limit"), 1, 10000, &v)))
        return failf(a, CLI_USAGE, "--after takes a sequence number, --limit 1..10000");
    char path[PATH_MAX_LEN] = "/events";
    if (!query_add(path, "after", opt(a, "after")) || !query_add(path, "kind", opt(a, "kind")) ||
        !query_add(path, "limit", opt(a, "limit")))
        return bad_path(a);
    return call(a, "GET", path, NULL);
}

/* --- the Device Setup Service: provisioners, the control log, sessions --- */

static int bool_opt(args *a, json_t *body, const char *name)
{
    const char *v = opt(a, name);
    if (!v)
        return 1;
    if (strcmp(v, "true") && strcmp(v, "false")) {
        failf(a, CLI_USAGE, "--%s must be true or false", name);
        return 0;
    }
    json_object_set_new(body, name, json_boolean(strcmp(v, "true") == 0));
    return 1;
}

static int band_ok(args *a)
{
    const char *band = opt(a, "band");
    if (band && strcmp(band, "2.4") && strcmp(band, "5") && strcmp(band, "dual")) {
        failf(a, CLI_USAGE, "--band must be 2.4, 5 or dual");
        return 0;
    }
    return 1;
}

static int provisioner_add(args *a)
{
    if (!band_ok(a))
        return CLI_USAGE;
    json_t *body = json_pack("{s:s, s:s}", "provisioner_id", opt(a, "id"), "customer_id", opt(a, "customer"));
    if (opt(a, "band"))
        json_object_set_new(body, "band", json_string(opt(a, "band")));
    if (!bool_opt(a, body, "online")) {
        json_decref(body);
        return CLI_USAGE;
    }
    return call(a, "POST", "/provisioners", body);
}

static int provisioner_set(args *a)
{
    if (!band_ok(a))
        return CLI_USAGE;
    json_t *body = json_object();
    char path[PATH_MAX_LEN] = "";
    if (opt(a, "band"))
        json_object_set_new(body, "band", json_string(opt(a, "band")));
    if (!bool_opt(a, body, "online")) {
        json_decref(body);
        return CLI_USAGE;
    }
    if (!path_add(path, "/provisioners/", a->pos[0])) {
        json_decref(body);
        return bad_path(a);
    }
    return call(a, "PATCH", path, body);
}

static int provisioner_list(args *a) { return call(a, "GET", "/provisioners", NULL); }

static int provisioner_probe(args *a)
{
    char path[PATH_MAX_LEN] = "";
    if (!path_add(path, "/provisioners/", a->pos[0]) || !path_add(path, "/probe", NULL))
        return bad_path(a);
    return call(a, "POST", path, json_pack("{s:s}", "ssid", opt(a, "ssid")));
}

#define CONTROL_LOG_MAX (1024u * 1024u)

static int device_import(args *a)
{
    char *text = NULL;
    size_t len = 0;
    wss_err rc = wss_read_file(a->pos[0], CONTROL_LOG_MAX, &text, &len);
    if (rc != WSS_OK)
        return failf(a, CLI_FAILED, "cannot read %s: %s", a->pos[0], wss_strerror(rc));
    sim_client c;
    char err[1024];
    if (sim_client_load(&c, a->state, 0, err, sizeof err) != WSS_OK) {
        free(text);
        return failf(a, CLI_FAILED, "%s (start one with: wss sim --state %s)", err, a->state);
    }
    wss_httpc_response resp;
    int status = sim_client_post(&c, "/control/v1/devices/import", c.control_token, "application/x-ndjson", text, len,
                                 &resp, err, sizeof err);
    free(text);
    int code = CLI_OK;
    if (status < 0)
        code = failf(a, CLI_FAILED, "%s (is `wss sim --state %s` running?)", err, a->state);
    else {
        json_t *answer = resp.body_len ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
        if (status >= 400)
            code = failf(a, CLI_FAILED, "%s",
                         json_string_value(json_object_get(answer, "error"))
                             ? json_string_value(json_object_get(answer, "error"))
                             : "the import failed");
        else
            print_json(answer);
        json_decref(answer);
        wss_httpc_response_free(&resp);
    }
    sim_client_free(&c);
    return code;
}

static int dss_sessions(args *a)
{
    char path[PATH_MAX_LEN] = "/dss/sessions";
    if (!query_add(path, "dsn", opt(a, "dsn")))
        return bad_path(a);
    return call(a, "GET", path, NULL);
}

static int dss_session(args *a)
{
    char path[PATH_MAX_LEN] = "";
    if (!path_add(path, "/dss/sessions/", a->pos[0]))
        return bad_path(a);
    return call(a, "GET", path, NULL);
}

static int dss_public_key(args *a) { return call(a, "GET", "/dss/public-key", NULL); }

/* --- the verb table --- */

static const verb verbs[] = {
    {"customer add",
     {"id=", "name=", NULL},
     0,
     0,
     customer_add,
     "customer add [--id ID] [--name NAME]",
     "create an Amazon customer",
     "  --id ID        the customer id (default: a fresh amzn1.account.* id)\n"
     "  --name NAME    a display name (default: the id)\n"},
    {"customer list", {NULL}, 0, 0, customer_list, "customer list", "list the customers", ""},
    {"wifi add",
     {"customer=", "ssid=", "security=", "key=", "priority=", NULL},
     0,
     0,
     wifi_add,
     "wifi add --customer ID --ssid SSID --security OPEN|WPA_PSK|WEP|OTHER [--key KEY] [--priority N]",
     "save a network in a customer's Wi-Fi locker",
     "  --customer ID  the customer whose locker it is\n"
     "  --ssid SSID    the network name (1..32 bytes)\n"
     "  --security P   OPEN, WPA_PSK, WEP or OTHER\n"
     "  --key KEY      the passphrase, needed unless OPEN; better set WSS_WIFI_KEY in the\n"
     "                 environment instead, so that it does not show on the command line\n"
     "  --priority N   higher is tried first (default 0)\n"},
    {"wifi list",
     {"customer=", NULL},
     0,
     0,
     wifi_list,
     "wifi list --customer ID",
     "list a customer's saved networks (keys are never shown)",
     "  --customer ID  the customer\n"},
    {"device add",
     {"dsn=", "public-key=", "product-index=", NULL},
     0,
     0,
     device_add,
     "device add --dsn DSN --public-key FILE [--product-index PID]",
     "record a device's public key in the manufacturer's control log",
     "  --dsn DSN             the device serial number\n"
     "  --public-key FILE     a P-256 public key in PEM; a private key PEM is accepted too, and\n"
     "                        only its public half is sent\n"
     "  --product-index PID   the product's index (optional)\n"},
    {"device list", {NULL}, 0, 0, device_list, "device list", "list registered devices and their buyers", ""},
    {"device import",
     {NULL},
     1,
     1,
     device_import,
     "device import FILE",
     "register every device of a control log at once (all or nothing)",
     "  FILE           JSON lines, one {\"dsn\", \"product_index\", \"public_key\"} per device\n"
     "                 (public_key: base64 DER SubjectPublicKeyInfo or PEM); an error names its line\n"},
    {"provisioner add",
     {"id=", "customer=", "online=", "band=", NULL},
     0,
     0,
     provisioner_add,
     "provisioner add --id ID --customer ID [--online true|false] [--band 2.4|5|dual]",
     "put a simulated provisioner (an Echo) in a customer's home",
     "  --id ID        the provisioner's id (the X-Openwss-Provisioner its proxy sends)\n"
     "  --customer ID  the customer whose home it is in\n"
     "  --online B     true or false (default true)\n"
     "  --band B       2.4, 5 or dual (default dual); a 5 GHz-only provisioner serves no device\n"},
    {"provisioner set",
     {"online=", "band=", NULL},
     1,
     1,
     provisioner_set,
     "provisioner set ID [--online true|false] [--band 2.4|5|dual]",
     "take a provisioner offline or online, or change its band",
     "  --online B     true or false\n"
     "  --band B       2.4, 5 or dual\n"},
    {"provisioner list", {NULL}, 0, 0, provisioner_list, "provisioner list", "list the simulated provisioners", ""},
    {"provisioner probe",
     {"ssid=", NULL},
     1,
     1,
     provisioner_probe,
     "provisioner probe ID --ssid SSID",
     "probe a computed setup network: the device and passphrase it names",
     "  --ssid SSID    the probed network's name\n"},
    {"dss sessions",
     {"dsn=", NULL},
     0,
     0,
     dss_sessions,
     "dss sessions [--dsn DSN]",
     "the Device Setup Service's provisioning sessions",
     "  --dsn DSN      only this device's\n"},
    {"dss session",
     {NULL},
     1,
     1,
     dss_session,
     "dss session SESSION_ID",
     "one DSS session: calls (with TLS details), scans, credentials, refusals",
     ""},
    {"dss public-key", {NULL}, 0, 0, dss_public_key, "dss public-key", "the DSS public key (DSS.PublicKey)", ""},
    {"purchase",
     {"dsn=", "customer=", NULL},
     0,
     0,
     purchase,
     "purchase --dsn DSN --customer ID",
     "record that a customer bought a device",
     "  --dsn DSN      a registered device\n"
     "  --customer ID  the buyer\n"},
    {"session-token",
     {"dsn=", NULL},
     0,
     0,
     session_token,
     "session-token --dsn DSN",
     "issue a Wi-Fi provisioning session token for a device, as the Device Setup Service does",
     "  --dsn DSN      a registered device\n"},
    {"skill list", {NULL}, 0, 0, skill_list, "skill list", "list the skills", ""},
    {"skill set",
     {"endpoint=", "endpoint-ca=", "stage=", "enabled=", NULL},
     1,
     1,
     skill_set,
     "skill set SKILL_ID [--endpoint URL] [--endpoint-ca FILE] [--stage live|development] [--enabled true|false]",
     "change a skill's endpoint, stage or state",
     "  --endpoint URL      where directives are sent (http:// or https://)\n"
     "  --endpoint-ca FILE  PEM bundle the endpoint's certificate chains to (sent as an absolute path)\n"
     "  --stage S           live or development (the gateway takes events only from live skills)\n"
     "  --enabled B         true or false\n"},
    {"skill enable",
     {"customer=", "skill=", "access-token-file=", NULL},
     0,
     0,
     skill_enable,
     "skill enable --customer ID --skill SKILL_ID [--access-token-file FILE]",
     "enable and link a skill for a customer (Alexa then sends AcceptGrant)",
     "  --customer ID             the customer\n"
     "  --skill SKILL_ID          the skill\n"
     "  --access-token-file FILE  a file holding the maker's access token for this customer\n"
     "                            (from account linking); without it the token is read from\n"
     "                            WSS_SKILL_ACCESS_TOKEN. It is never taken from the command line.\n"},
    {"skill disable",
     {"customer=", "skill=", NULL},
     0,
     0,
     skill_disable,
     "skill disable --customer ID --skill SKILL_ID",
     "disable a skill for a customer (revokes its refresh token; discovery reports then get 403)",
     "  --customer ID      the customer\n"
     "  --skill SKILL_ID   the skill\n"},
    {"skill requests",
     {"since-ms=", "until-ms=", "after-id=", "limit=", NULL},
     1,
     1,
     skill_requests,
     "skill requests SKILL_ID [--since-ms N] [--until-ms N] [--after-id ID] [--limit N]",
     "the directives sent to a skill and how its answers were judged",
     "  --since-ms N   from this time on the emulator's clock (ms since 1970)\n"
     "  --until-ms N   before this time\n"
     "  --after-id ID  only records after this id (to page through them)\n"
     "  --limit N      at most N records, 1..10000 (default 10000)\n"},
    {"skill directives",
     {"customer=", "name=", "count=", NULL},
     1,
     1,
     skill_directives,
     "skill directives SKILL_ID --customer ID [--name Discover] [--count N]",
     "send directives to a skill now and judge them (traffic on demand)",
     "  --customer ID  a customer who enabled the skill (its link token goes in payload.scope)\n"
     "  --name NAME    the directive: Discover (Alexa.Discovery), the default\n"
     "  --count N      how many, 1..1000 (default 1)\n"},
    {"fault add",
     {"route=", "client=", "status=", "rate=", "schedule=", "latency-ms=", "retry-after-s=", "action=", NULL},
     0,
     0,
     fault_add,
     "fault add [--route lwa|events|dss|dss.OPERATION|skill|*] [--client ID|*] [--status 0|429|500|503]"
     " [--action drop|bad_signature|invalid_response] [--rate R | --schedule LIST] [--latency-ms N]"
     " [--retry-after-s N]",
     "inject failures or latency",
     "  --route R          lwa, events, dss (every DSS operation), dss.OPERATION\n"
     "                     (e.g. dss.report), skill (directives to a skill) or * (default *)\n"
     "  --client ID        an LWA client id (a device's DSN on the DSS, the skill id on\n"
     "                     skill), or * (default *)\n"
     "  --status S         the status to fail with: 429, 500 or 503 (0: only delay)\n"
     "  --action A         DSS routes, instead of a status: drop (close the connection\n"
     "                     unanswered) or bad_signature (sign other bytes); the skill route:\n"
     "                     invalid_response (count the answer as an\n"
     "                     INVALID_SKILL_RESPONSE_EXCEPTION); --schedule then takes 1 (act)\n"
     "                     and 0 (let through)\n"
     "  --rate R           the fraction of matching requests to fail, 0..1; --status alone fails all\n"
     "  --schedule LIST    one status per matching request, e.g. 503,503,0; then the rule is spent\n"
     "  --latency-ms N     delay every matching request by N ms\n"
     "  --retry-after-s N  send Retry-After: N with the failures\n"},
    {"fault list", {NULL}, 0, 0, fault_list, "fault list", "list fault rules and their hits", ""},
    {"fault clear", {NULL}, 0, 1, fault_clear, "fault clear [ID]", "remove one fault rule, or all of them", ""},
    {"clock show", {NULL}, 0, 0, clock_show, "clock show", "the emulator's clock and its offset", ""},
    {"clock advance",
     {NULL},
     1,
     1,
     clock_advance,
     "clock advance SECONDS",
     "move the emulator's clock forward (tokens, codes and associations expire by it)",
     "  SECONDS        a number of seconds, or with a suffix: 10s, 15m, 12h, 30d\n"},
    {"associations",
     {"customer=", NULL},
     0,
     0,
     associations,
     "associations [--customer ID]",
     "device associations (SDAE) and their state",
     "  --customer ID  only this customer's\n"},
    {"alexa-devices",
     {"customer=", NULL},
     0,
     0,
     alexa_devices,
     "alexa-devices [--customer ID]",
     "endpoints discovered in customers' Alexa accounts",
     "  --customer ID  only this customer's\n"},
    {"counters", {NULL}, 0, 0, counters, "counters", "gateway, association and per-skill counters", ""},
    {"events",
     {"after=", "kind=", "limit=", NULL},
     0,
     0,
     events,
     "events [--after SEQ] [--kind KIND] [--limit N]",
     "the emulator's event log",
     "  --after SEQ    only events after this sequence number\n"
     "  --kind KIND    only this kind (e.g. sdae.accepted, skill.response)\n"
     "  --limit N      at most N events, 1..10000 (default 1000)\n"},
    {"scenario",
     {NULL},
     0,
     0,
     NULL,
     "scenario [--state DIR] [--keep] [--verbose]",
     "run the built-in end-to-end scenario (its own emulator and reference skill)",
     ""},
};

#define NVERBS (sizeof verbs / sizeof *verbs)

static size_t words(const char *name) { return strchr(name, ' ') ? 2 : 1; }

void cli_sim_client_usage(FILE *out)
{
    fprintf(out, "verbs (each talks to the emulator running with the same --state DIR, default ./%s):\n",
            DEFAULT_STATE);
    for (size_t i = 0; i < NVERBS; i++)
        fprintf(out, "  %-17s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "\n  wss sim <verb> --help   options of one verb\n");
}

/* The column where the descriptions of a verb's help start, to align the common options with them. */
static int help_column(const char *help)
{
    const char *gap = help[0] ? strstr(help + 2, "  ") : NULL;
    if (!gap || gap > strchr(help, '\n'))
        return 15;
    return (int)(gap + strspn(gap, " ") - help);
}

static void verb_usage(const verb *vb, FILE *out)
{
    int col = help_column(vb->help) - 2;
    fprintf(out, "usage: wss sim %s [--state DIR]\n\n%c%s.\n\n%s", vb->synopsis, toupper((unsigned char)vb->summary[0]),
            vb->summary + 1, vb->help);
    fprintf(out, "  %-*s%s\n  %-*s%s\n", col, "--state DIR",
            "the running emulator's state directory (default: ./" DEFAULT_STATE ")", col, "-h, --help", "this text");
    if (vb->run)
        fprintf(out,
                "\nPrints the control API's JSON answer on stdout; exits 1 when the call fails, 2 on a usage error.\n");
}

/* Which option each verb requires, by verb name. */
static const char *missing_required(const args *a)
{
    static const struct {
        const char *verb, *opt;
    } required[] = {
        {"wifi add", "customer"},      {"wifi add", "ssid"},      {"wifi add", "security"},
        {"wifi list", "customer"},     {"device add", "dsn"},     {"device add", "public-key"},
        {"purchase", "dsn"},           {"purchase", "customer"},  {"session-token", "dsn"},
        {"skill enable", "customer"},  {"skill enable", "skill"}, {"skill disable", "customer"},
        {"skill disable", "skill"},    {"provisioner add", "id"}, {"provisioner add", "customer"},
        {"provisioner probe", "ssid"},
    };
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (strcmp(required[i].verb, a->vb->name) == 0 && !opt(a, required[i].opt))
            return required[i].opt;
    return NULL;
}

static int run_verb(const verb *vb, int argc, char **argv)
{
    struct option longopts[MAX_OPTS + 3];
    int n = 0;
    for (; vb->opts[n]; n++) {
        size_t len = strlen(vb->opts[n]);
        static char names[MAX_OPTS][32];
        snprintf(names[n], sizeof names[n], "%.*s", (int)(vb->opts[n][len - 1] == '=' ? len - 1 : len), vb->opts[n]);
        longopts[n] =
            (struct option){names[n], vb->opts[n][len - 1] == '=' ? required_argument : no_argument, NULL, 256 + n};
    }
    longopts[n] = (struct option){"state", required_argument, NULL, 's'};
    longopts[n + 1] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 2] = (struct option){NULL, 0, NULL, 0};
    args a = {.vb = vb, .state = DEFAULT_STATE};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            verb_usage(vb, stdout);
            return CLI_OK;
        } else if (c == 's')
            a.state = optarg;
        else if (c >= 256)
            a.val[c - 256] = optarg;
        else {
            return failf(&a, CLI_USAGE, c == ':' ? "option %s needs a value" : "unknown option %s", argv[optind - 1]);
        }
    }
    a.pos = argv + optind;
    a.npos = argc - optind;
    if (a.npos < vb->min_pos || a.npos > vb->max_pos) {
        if (a.npos < vb->min_pos)
            failf(&a, CLI_USAGE, "missing argument");
        else
            failf(&a, CLI_USAGE, "unexpected argument \"%s\"", a.pos[vb->max_pos]);
        return CLI_USAGE;
    }
    const char *missing = missing_required(&a);
    if (missing)
        return failf(&a, CLI_USAGE, "--%s is required", missing);
    return vb->run(&a);
}

int cli_sim_client(int argc, char **argv)
{
    size_t group = 0;
    for (size_t i = 0; i < NVERBS; i++) {
        size_t w = words(verbs[i].name);
        size_t first = strcspn(verbs[i].name, " ");
        if (strncmp(verbs[i].name, argv[0], first) != 0 || argv[0][first] != 0)
            continue;
        group++;
        if (w == 1) {
            if (!verbs[i].run)
                return cli_sim_scenario(argc, argv);
            return run_verb(&verbs[i], argc, argv);
        }
        if (argc >= 2 && strcmp(verbs[i].name + first + 1, argv[1]) == 0)
            return run_verb(&verbs[i], argc - 1, argv + 1);
    }
    FILE *out = group && argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr;
    if (!group)
        fprintf(stderr, "wss sim: unknown verb \"%s\" (see wss sim --help)\n", argv[0]);
    else if (out == stderr && argc >= 2)
        fprintf(stderr, "wss sim %s: unknown verb \"%s\"\n", argv[0], argv[1]);
    else if (out == stderr)
        fprintf(stderr, "wss sim %s: which one?\n", argv[0]);
    if (group) {
        fprintf(out, "usage:\n");
        for (size_t i = 0; i < NVERBS; i++)
            if (strncmp(verbs[i].name, argv[0], strlen(argv[0])) == 0 && verbs[i].name[strlen(argv[0])] == ' ')
                fprintf(out, "  wss sim %s\n", verbs[i].synopsis);
    }
    return out == stdout ? CLI_OK : CLI_USAGE;
}
