/* sim_scenario.c - `wss sim scenario`: the emulator's own end-to-end story.
 *
 * Starts an emulator in this process (HTTPS on 127.0.0.1, a port picked at
 * run time, a fresh state directory) and a minimal reference skill (plain
 * HTTP on 127.0.0.1) that answers AcceptGrant and AssociateCustomerDevice the
 * way a correct smart home skill does. Then it plays a maker's cloud through
 * the First Device and the 2-to-N Device stories of Wi-Fi Simple Setup over
 * real HTTP, and checks that the emulator recorded every expected outcome.
 * One line per step on stdout; exit 0 only when every step went as expected. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/sim_client.h"
#include "common/crypto.h"
#include "common/file.h"
#include "common/httpd.h"
#include "common/log.h"
#include "sim/client.h"
#include "wss/sim.h"

#define WAIT_MS 10000
#define SKILL_PATH "/alexa/skill"

/* --- the reference skill --- */

typedef struct report {
    char *device_id, *name;
    struct report *next;
} report;

typedef struct ref_skill {
    sim_client *sim; /* LWA and the gateway; read-only once loaded */
    const char *client_id, *client_secret;
    char maker_token[64]; /* what the maker's account linking gave the customer */
    pthread_mutex_t lock;
    char *grant_access; /* the customer's Alexa token from AcceptGrant */
    report *reports;    /* discovery reports the main thread sends */
    json_t *notes;      /* what the skill did, printed by the main thread */
} ref_skill;

static void note(ref_skill *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(ref_skill *k, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&k->lock);
    json_array_append_new(k->notes, json_string(line));
    pthread_mutex_unlock(&k->lock);
}

static const char *path_str(const json_t *v, const char *a, const char *b, const char *c)
{
    v = json_object_get(json_object_get(v, a), b);
    return json_string_value(c ? json_object_get(v, c) : v);
}

/* An Alexa event document: {"event": {"header": ..., "payload": payload}}; takes payload. */
static json_t *alexa_event(const char *ns, const char *name, const char *correlation, json_t *payload)
{
    char id[37];
    wss_uuid4(id);
    json_t *h =
        json_pack("{s:s, s:s, s:s, s:s}", "namespace", ns, "name", name, "messageId", id, "payloadVersion", "3");
    if (correlation)
        json_object_set_new(h, "correlationToken", json_string(correlation));
    return json_pack("{s:{s:o, s:o}}", "event", "header", h, "payload", payload);
}

static json_t *error_payload(const char *type, const char *message)
{
    return json_pack("{s:s, s:s}", "type", type, "message", message);
}

/* application/x-www-form-urlencoded from name, value, ..., NULL. malloc'd. */
static char *form_encode(const char *const *kv)
{
    size_t n = 1;
    for (const char *const *p = kv; *p; p++)
        n += strlen(*p) * 3 + 1;
    char *out = malloc(n), *o = out;
    for (const char *const *p = kv; out && *p; p++) {
        if (p != kv)
            *o++ = (p - kv) % 2 ? '=' : '&';
        for (const unsigned char *s = (const unsigned char *)*p; *s; s++)
            o += (size_t)(strchr("-._~", *s) || (*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'z')
                              ? sprintf(o, "%c", *s)
                              : sprintf(o, "%%%02X", *s));
    }
    if (out)
        *o = 0;
    return out;
}

/* Exchanges an AcceptGrant code at LWA and keeps the customer's token. 0 or -1 with why. */
static int exchange_code(ref_skill *k, const char *code, char *why, size_t whylen)
{
    const char *kv[] = {"grant_type", "authorization_code", "code",           code, "client_id",
                        k->client_id, "client_secret",      k->client_secret, NULL};
    char *body = form_encode(kv);
    wss_httpc_response resp;
    int status = body ? sim_client_post(k->sim, "/auth/o2/token", NULL, "application/x-www-form-urlencoded", body,
                                        strlen(body), &resp, why, whylen)
                      : -1;
    if (body) {
        memset(body, 0, strlen(body));
        free(body);
    }
    if (status < 0)
        return -1;
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    const char *access = json_string_value(json_object_get(doc, "access_token"));
    int rc = status == 200 && access ? 0 : -1;
    if (rc == 0) {
        pthread_mutex_lock(&k->lock);
        free(k->grant_access);
        k->grant_access = strdup(access);
        pthread_mutex_unlock(&k->lock);
    } else
        snprintf(why, whylen, "LWA answered %d %s", status,
                 json_string_value(json_object_get(doc, "error")) ? json_string_value(json_object_get(doc, "error"))
                                                                  : "");
    json_decref(doc);
    memset(resp.body, 0, resp.body_len);
    wss_httpc_response_free(&resp);
    return rc;
}

static json_t *accept_grant(ref_skill *k, const json_t *payload)
{
    const char *code = path_str(payload, "grant", "code", NULL);
    const char *grantee = path_str(payload, "grantee", "token", NULL);
    char why[512] = "";
    if (!grantee || !wss_ct_streq(grantee, k->maker_token))
        snprintf(why, sizeof why, "the grantee token is not one this skill issued");
    else if (!code)
        snprintf(why, sizeof why, "the directive carries no grant code");
    else
        exchange_code(k, code, why, sizeof why);
    if (why[0]) {
        note(k, "AcceptGrant: %s; answered ErrorResponse ACCEPT_GRANT_FAILED", why);
        return alexa_event("Alexa.Authorization", "ErrorResponse", NULL, error_payload("ACCEPT_GRANT_FAILED", why));
    }
    note(k, "AcceptGrant: exchanged the code at /auth/o2/token -> 200, kept the customer's tokens;"
            " answered AcceptGrant.Response");
    return alexa_event("Alexa.Authorization", "AcceptGrant.Response", NULL, json_object());
}

static json_t *associate(ref_skill *k, const char *correlation, const json_t *payload)
{
    const char *scope = path_str(payload, "scope", "token", NULL);
    const char *device_id = path_str(payload, "device", "id", NULL);
    const json_t *names = json_object_get(json_object_get(payload, "device"), "preferredFriendlyNames");
    const char *name = path_str(json_array_get(names, 0), "value", "text", NULL);
    if (!scope || !wss_ct_streq(scope, k->maker_token)) {
        note(k,
             "AssociateCustomerDevice with an unknown token; answered ErrorResponse INVALID_AUTHORIZATION_CREDENTIAL");
        return alexa_event("Alexa", "ErrorResponse", correlation,
                           error_payload("INVALID_AUTHORIZATION_CREDENTIAL", "unknown access token"));
    }
    if (!device_id) {
        note(k, "AssociateCustomerDevice without a device id; answered ErrorResponse INVALID_DIRECTIVE");
        return alexa_event("Alexa", "ErrorResponse", correlation, error_payload("INVALID_DIRECTIVE", "no device.id"));
    }
    report *r = calloc(1, sizeof *r);
    if (r && (r->device_id = strdup(device_id)) && (r->name = strdup(name ? name : "Switch"))) {
        pthread_mutex_lock(&k->lock);
        report **tail = &k->reports;
        while (*tail)
            tail = &(*tail)->next;
        *tail = r;
        pthread_mutex_unlock(&k->lock);
    } else if (r) {
        free(r->device_id);
        free(r);
    }
    note(k, "AssociateCustomerDevice: preferred name \"%s\"; answered Alexa.Response with the same correlationToken",
         name ? name : "(none)");
    return alexa_event("Alexa", "Response", correlation, json_object());
}

static void skill_handle(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    ref_skill *k = ctx;
    json_t *root = strcmp(req->method, "POST") == 0 && strcmp(req->path, SKILL_PATH) == 0
                       ? json_loadb(req->body, req->body_len, 0, NULL)
                       : NULL;
    const json_t *header = json_object_get(json_object_get(root, "directive"), "header");
    const json_t *payload = json_object_get(json_object_get(root, "directive"), "payload");
    const char *ns = json_string_value(json_object_get(header, "namespace"));
    const char *name = json_string_value(json_object_get(header, "name"));
    const char *correlation = json_string_value(json_object_get(header, "correlationToken"));
    if (ns && name && strcmp(ns, "Alexa.Authorization") == 0 && strcmp(name, "AcceptGrant") == 0)
        wss_http_reply_json(resp, 200, accept_grant(k, payload));
    else if (ns && name && strcmp(ns, "Alexa.SimpleSetup") == 0 && strcmp(name, "AssociateCustomerDevice") == 0)
        wss_http_reply_json(resp, 200, associate(k, correlation, payload));
    else {
        note(k, "unexpected request %s %s; answered ErrorResponse INVALID_DIRECTIVE", req->method, req->path);
        wss_http_reply_json(resp, 200,
                            alexa_event("Alexa", "ErrorResponse", correlation,
                                        error_payload("INVALID_DIRECTIVE", "not a directive this skill handles")));
    }
    json_decref(root);
}

/* --- the scenario --- */

typedef struct device {
    char dsn[24];
    char device_id[200];
    char *session_token;
    wss_crypto_key *key;
} device;

typedef struct scenario {
    sim_client c;
    ref_skill k;
    const char *skill_id;
    char customer[64];
    char *cc_token;     /* the skill's client_credentials token for SDAEs */
    long long since_ms; /* the emulator's clock when the stories began */
    int step;
    char failure[800];
} scenario;

static void random_upper(char *out, size_t n)
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    unsigned char r[32];
    wss_random_bytes(r, n);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[r[i] % (sizeof alphabet - 1)];
    out[n] = 0;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Prints one numbered step; when ok is 0 also records it as the failure. */
static int step(scenario *sc, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int step(scenario *sc, int ok, const char *fmt, ...)
{
    char line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("%3d. %s%s\n", ++sc->step, line, ok ? "" : "   <-- not what was expected");
    fflush(stdout);
    if (!ok && !sc->failure[0])
        snprintf(sc->failure, sizeof sc->failure, "step %d: %s", sc->step, line);
    return ok;
}

/* Sends the discovery reports the skill queued, with the customer's token from AcceptGrant. */
static void send_reports(scenario *sc)
{
    ref_skill *k = &sc->k;
    pthread_mutex_lock(&k->lock);
    report *list = k->reports;
    k->reports = NULL;
    char *token = k->grant_access ? strdup(k->grant_access) : NULL;
    pthread_mutex_unlock(&k->lock);
    for (report *r = list, *next; r; r = next) {
        next = r->next;
        json_t *cap = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:{s:[{s:s}], s:b, s:b}}]", "type", "AlexaInterface",
                                "interface", "Alexa", "version", "3", "type", "AlexaInterface", "interface",
                                "Alexa.PowerController", "version", "3", "properties", "supported", "name",
                                "powerState", "proactivelyReported", 1, "retrievable", 1);
        json_t *endpoint = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:o}", "endpointId", r->device_id, "manufacturerName",
                                     "openwss", "friendlyName", r->name, "description", "openwss reference switch",
                                     "displayCategories", "SWITCH", "capabilities", cap);
        json_t *ev = alexa_event("Alexa.Discovery", "AddOrUpdateReport", NULL,
                                 json_pack("{s:[o], s:{s:s, s:s}}", "endpoints", endpoint, "scope", "type",
                                           "BearerToken", "token", token ? token : ""));
        char *body = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        wss_httpc_response resp = {0};
        char err[512] = "no customer token: AcceptGrant did not succeed";
        int status = body && token ? sim_client_post(&sc->c, "/v3/events", token, "application/json", body,
                                                     strlen(body), &resp, err, sizeof err)
                                   : -1;
        step(sc, status == 202, "skill sent Alexa.Discovery AddOrUpdateReport (SWITCH \"%s\") to /v3/events -> %d%s%s",
             r->name, status, status == 202 ? "" : " ",
             status == 202 ? ""
             : status < 0  ? err
                           : resp.body);
        if (status >= 0)
            wss_httpc_response_free(&resp);
        free(body);
        free(r->device_id);
        free(r->name);
        free(r);
    }
    free(token);
}

static void free_reports(ref_skill *k)
{
    for (report *r = k->reports, *next; r; r = next) {
        next = r->next;
        free(r->device_id);
        free(r->name);
        free(r);
    }
    k->reports = NULL;
}

/* Prints what the skill did since last time and sends its reports. */
static void drain(scenario *sc)
{
    pthread_mutex_lock(&sc->k.lock);
    json_t *notes = sc->k.notes;
    sc->k.notes = json_array();
    pthread_mutex_unlock(&sc->k.lock);
    size_t i;
    json_t *line;
    json_array_foreach(notes, i, line) printf("       skill got %s\n", json_string_value(line));
    fflush(stdout);
    json_decref(notes);
    send_reports(sc);
}

/* A control API call; 1 when it answered `expect`. *out gets the answer (may be NULL). Takes body. */
static int ctl(scenario *sc, const char *method, const char *path, json_t *body, int expect, json_t **out, char *err,
               size_t errlen)
{
    json_t *answer = NULL;
    int status = sim_client_control(&sc->c, method, path, body, &answer, err, errlen);
    json_decref(body);
    if (status != expect && status >= 0 && status < 400)
        snprintf(err, errlen, "HTTP %d", status);
    if (out)
        *out = answer;
    else
        json_decref(answer);
    return status == expect;
}

static json_t *find_row(const json_t *list, const char *key, const char *value)
{
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        const char *v = json_string_value(json_object_get(row, key));
        if (v && strcmp(v, value) == 0)
            return row;
    }
    return NULL;
}

/* The association of a device id (state, friendly name) and the name of its Alexa endpoint. */
static void look(scenario *sc, const device *d, char *state, char *name, char *endpoint_name)
{
    char path[160], err[256];
    json_t *out = NULL;
    state[0] = name[0] = endpoint_name[0] = 0;
    snprintf(path, sizeof path, "/associations?customer_id=%s", sc->customer);
    if (ctl(sc, "GET", path, NULL, 200, &out, err, sizeof err)) {
        json_t *row = find_row(json_object_get(out, "associations"), "device_id", d->device_id);
        snprintf(state, 32, "%s", row ? json_string_value(json_object_get(row, "state")) : "");
        snprintf(name, 64, "%s",
                 row && json_string_value(json_object_get(row, "friendly_name"))
                     ? json_string_value(json_object_get(row, "friendly_name"))
                     : "");
    }
    json_decref(out);
    out = NULL;
    snprintf(path, sizeof path, "/alexa-devices?customer_id=%s", sc->customer);
    if (ctl(sc, "GET", path, NULL, 200, &out, err, sizeof err)) {
        json_t *row = find_row(json_object_get(out, "devices"), "endpoint_id", d->device_id);
        snprintf(endpoint_name, 64, "%s", row ? json_string_value(json_object_get(row, "friendly_name")) : "");
    }
    json_decref(out);
}

/* Registers a device's key, records its purchase and issues a session token. */
static int prepare_device(scenario *sc, device *d)
{
    char err[512] = "";
    json_t *out = NULL;
    random_upper(d->dsn, 16);
    char *pem = wss_key_generate(&d->key) == WSS_OK ? wss_key_public_pem(d->key) : NULL;
    int ok = step(sc,
                  pem && ctl(sc, "POST", "/devices", json_pack("{s:s, s:s?}", "dsn", d->dsn, "public_key", pem), 201,
                             NULL, err, sizeof err),
                  "POST /control/v1/devices (DSN %s, new P-256 public key) -> %s", d->dsn,
                  !pem     ? "no key"
                  : err[0] ? err
                           : "201");
    free(pem);
    ok = ok && step(sc,
                    ctl(sc, "POST", "/purchases", json_pack("{s:s, s:s}", "dsn", d->dsn, "customer_id", sc->customer),
                        201, NULL, err, sizeof err),
                    "POST /control/v1/purchases (%s bought by %s) -> %s", d->dsn, sc->customer, err[0] ? err : "201");
    if (!ok)
        return 0;
    ok = ctl(sc, "POST", "/session-tokens", json_pack("{s:s}", "dsn", d->dsn), 201, &out, err, sizeof err);
    const char *token = json_string_value(json_object_get(out, "session_token"));
    if (ok && token && (d->session_token = strdup(token))) {
        /* The seed's device id: a global id joined with the session token, kept to its character set. */
        snprintf(d->device_id, sizeof d->device_id, "%s:%s", d->dsn, token);
        for (char *p = d->device_id; *p; p++)
            if (!strchr("0123456789_-=#;:?@& ", *p) && !((*p | 32) >= 'a' && (*p | 32) <= 'z'))
                *p = '-';
    }
    json_decref(out);
    return step(sc, d->session_token != NULL, "POST /control/v1/session-tokens (%s) -> %s: session token %s", d->dsn,
                err[0] ? err : "201", d->session_token ? d->session_token : "missing");
}

/* Sends the signed SDAE and checks the association the gateway recorded. */
static int send_sdae(scenario *sc, const device *d, int expect, const char *const *states, const char *expect_name)
{
    const char *token = d->session_token;
    char *sig = NULL, err[512] = "", said[512], state[32], name[64], ep[64];
    if (wss_ecdsa_sign_b64(d->key, token, strlen(token), &sig) != WSS_OK)
        return step(sc, 0, "cannot sign the session token");
    json_t *ev = sim_client_sdae(sc->cc_token, NULL, token, sig, d->device_id, "SWITCH");
    char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    free(sig);
    wss_httpc_response resp = {0};
    int status = body ? sim_client_post(&sc->c, "/v3/events", sc->cc_token, "application/json", body, strlen(body),
                                        &resp, err, sizeof err)
                      : -1;
    free(body);
    json_t *doc = status > 0 ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    const char *why = path_str(doc, "payload", "description", NULL);
    snprintf(said, sizeof said, "%s", why ? why : status < 0 ? err : "");
    json_decref(doc);
    if (status >= 0)
        wss_httpc_response_free(&resp);
    if (!expect_name)
        return step(sc, status == expect, "POST /v3/events the same session token again, new messageId -> %d (%s)",
                    status, said);
    look(sc, d, state, name, ep);
    int state_ok = 0;
    for (const char *const *s = states; *s; s++)
        state_ok |= strcmp(*s, state) == 0;
    int ok = status == expect && state_ok && strcmp(name, expect_name) == 0;
    char wanted[160] = "";
    if (!ok)
        snprintf(wanted, sizeof wanted, " (expected %d, %s, \"%s\")", expect, states[0], expect_name);
    return step(sc, ok,
                "POST /v3/events AddOrUpdateDeviceAssociationReport (device id %s, signed) -> %d%s%s;"
                " association %s, preferred name \"%s\"%s",
                d->device_id, status, said[0] ? ": " : "", said, state[0] ? state : "missing", name, wanted);
}

/* Waits until the device is associated and its endpoint shows in the customer's Alexa account. */
static int wait_associated(scenario *sc, const device *d, const char *expect_name)
{
    char state[32], name[64], ep[64];
    long long start = mono_ms();
    for (;;) {
        drain(sc);
        look(sc, d, state, name, ep);
        int done = strcmp(state, "associated") == 0 && strcmp(ep, expect_name) == 0;
        int dead = strcmp(state, "failed") == 0 || strcmp(state, "refused") == 0 || strcmp(state, "expired") == 0;
        if (done || dead || mono_ms() - start > WAIT_MS || sc->failure[0])
            return step(sc, done, "after %lld ms: association %s, Alexa account shows endpoint \"%s\"%s%s%s",
                        mono_ms() - start, state[0] ? state : "missing", ep[0] ? ep : "(none)",
                        done ? "" : " (expected associated and \"", done ? "" : expect_name, done ? "" : "\")");
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000000L}, NULL);
    }
}

static int start_skill(scenario *sc, wss_http_server **srv, char *url, size_t urllen)
{
    char err[512] = "", path[512];
    wss_http_options ho = {.host = "127.0.0.1", .port = 0};
    wss_err rc = wss_http_start(&ho, skill_handle, &sc->k, srv, err, sizeof err);
    if (rc == WSS_OK)
        snprintf(url, urllen, "http://127.0.0.1:%d%s", wss_http_port(*srv), SKILL_PATH);
    if (!step(sc, rc == WSS_OK, "reference skill listening on %s", rc == WSS_OK ? url : err))
        return 0;
    err[0] = 0;
    snprintf(path, sizeof path, "/skills/%s", sc->skill_id);
    return step(sc,
                ctl(sc, "PATCH", path, json_pack("{s:s, s:s, s:b}", "endpoint", url, "stage", "live", "enabled", 1),
                    200, NULL, err, sizeof err),
                "PATCH /control/v1/skills/%s (endpoint, live, enabled) -> %s", sc->skill_id, err[0] ? err : "200");
}

static int setup_customer(scenario *sc)
{
    char err[512] = "", path[128];
    char rnd[9];
    json_t *clock = NULL;
    if (!ctl(sc, "GET", "/clock", NULL, 200, &clock, err, sizeof err))
        return step(sc, 0, "GET /control/v1/clock -> %s", err);
    sc->since_ms = json_integer_value(json_object_get(clock, "now_ms"));
    json_decref(clock);
    random_upper(rnd, 8);
    snprintf(sc->customer, sizeof sc->customer, "scenario-%s", rnd);
    if (!step(sc,
              ctl(sc, "POST", "/customers",
                  json_pack("{s:s, s:s}", "customer_id", sc->customer, "name", "Scenario Customer"), 201, NULL, err,
                  sizeof err),
              "POST /control/v1/customers -> %s: customer %s", err[0] ? err : "201", sc->customer))
        return 0;
    snprintf(path, sizeof path, "/customers/%s/wifi", sc->customer);
    return step(sc,
                ctl(sc, "POST", path,
                    json_pack("{s:s, s:s, s:s}", "ssid", "ScenarioHome", "security_protocol", "WPA_PSK", "key",
                              "scenario-passphrase"),
                    201, NULL, err, sizeof err),
                "POST /control/v1/customers/%s/wifi -> %s: \"ScenarioHome\" (WPA_PSK) saved in the Wi-Fi locker",
                sc->customer, err[0] ? err : "201");
}

static int enable_skill(scenario *sc)
{
    char err[512] = "", path[512];
    snprintf(path, sizeof path, "/customers/%s/skills/%s", sc->customer, sc->skill_id);
    return step(sc,
                ctl(sc, "PUT", path, json_pack("{s:s}", "access_token", sc->k.maker_token), 200, NULL, err, sizeof err),
                "PUT /control/v1/customers/%s/skills/<skill> (the maker's access token) -> %s: skill enabled",
                sc->customer, err[0] ? err : "200");
}

static int check_skill_requests(scenario *sc)
{
    char err[512] = "", path[512], judged[400] = "";
    json_t *out = NULL, *rec;
    size_t i;
    snprintf(path, sizeof path, "/skills/%s/requests?since_ms=%lld", sc->skill_id, sc->since_ms);
    int ok = ctl(sc, "GET", path, NULL, 200, &out, err, sizeof err);
    long long n = json_integer_value(json_object_get(out, "requests"));
    long long good = json_integer_value(json_object_get(out, "ok"));
    json_array_foreach(json_object_get(out, "records"), i, rec)
    {
        size_t used = strlen(judged);
        snprintf(judged + used, sizeof judged - used, "%s%s %s", i ? ", " : "",
                 json_string_value(json_object_get(rec, "directive")),
                 json_string_value(json_object_get(rec, "outcome")));
    }
    json_decref(out);
    return step(sc, ok && n == 3 && good == 3,
                "GET /control/v1/skills/<skill>/requests -> %s: the emulator judged %s%s", err[0] ? err : "200",
                judged[0] ? judged : "nothing", n == 3 && good == 3 ? "" : " (expected 3 ok)");
}

static int run_stories(scenario *sc)
{
    static const char *const waiting[] = {"waiting_for_skill", NULL};
    static const char *const linked[] = {"dispatching", "associated", NULL};
    device d[2];
    memset(d, 0, sizeof d);
    char err[512] = "";
    int ok = setup_customer(sc);
    if (ok) {
        printf("     First Device Setup: the customer has not linked the skill yet\n");
        ok = prepare_device(sc, &d[0]);
    }
    if (ok)
        sc->cc_token = sim_client_lwa_token(&sc->c, sc->k.client_id, sc->k.client_secret,
                                            "alexa::device_association_report:write", err, sizeof err);
    ok = ok && step(sc, sc->cc_token != NULL,
                    "POST /auth/o2/token client_credentials (alexa::device_association_report:write) -> %s",
                    sc->cc_token ? "200: access token" : err);
    ok = ok && send_sdae(sc, &d[0], 202, waiting, "First Switch");
    ok = ok && enable_skill(sc) && wait_associated(sc, &d[0], "First Switch");
    if (ok)
        printf("     2-to-N Device Setup: the skill is already linked\n");
    ok = ok && prepare_device(sc, &d[1]) && send_sdae(sc, &d[1], 202, linked, "Second Switch");
    ok = ok && wait_associated(sc, &d[1], "Second Switch");
    if (ok)
        printf("     Checks\n");
    ok = ok && check_skill_requests(sc) && send_sdae(sc, &d[0], 400, NULL, NULL);
    drain(sc);
    for (int i = 0; i < 2; i++) {
        free(d[i].session_token);
        wss_key_free(d[i].key);
    }
    return ok && !sc->failure[0];
}

static void remove_state_dir(const char *dir)
{
    if (wss_remove_tree(dir) != WSS_OK)
        fprintf(stderr, "wss sim scenario: could not remove %s\n", dir);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: wss sim scenario [--state DIR] [--keep] [--verbose]\n\n"
                 "Runs the emulator's own end-to-end scenario in this process: an emulator on 127.0.0.1\n"
                 "(HTTPS, a free port), a reference skill (HTTP, a free port), then the First Device and\n"
                 "2-to-N Device stories of Wi-Fi Simple Setup: device key, purchase, session token, LWA token,\n"
                 "signed association report, skill enablement, AcceptGrant, AssociateCustomerDevice and a\n"
                 "proactive discovery report. Prints one line per step; exits 0 when every expected outcome\n"
                 "was observed, 1 otherwise.\n\n"
                 "  --state DIR  use (and keep) this state directory instead of a fresh temporary one;\n"
                 "               what it holds (faults, customers, devices) stays in effect\n"
                 "  --keep       keep the temporary state directory and print where it is\n"
                 "  --verbose    let the emulator's logs (JSON lines) through on stderr\n"
                 "  -h, --help   this text\n");
}

int cli_sim_scenario(int argc, char **argv)
{
    static const struct option longopts[] = {{"state", required_argument, NULL, 's'},
                                             {"keep", no_argument, NULL, 'k'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *state = NULL;
    int keep = 0, verbose = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 's')
            state = optarg;
        else if (c == 'k')
            keep = 1;
        else if (c == 'v')
            verbose = 1;
        else if (c == 'h') {
            usage(stdout);
            return CLI_OK;
        } else {
            fprintf(stderr, "wss sim scenario: %s %s\n", c == ':' ? "missing value for" : "unknown option",
                    argv[optind - 1]);
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wss sim scenario: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    wss_log_set_level(verbose ? WSS_LOG_INFO : WSS_LOG_WARN);
    char tmp[4096];
    if (!state) {
        const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(tmp, sizeof tmp, "%s/wss-scenario-XXXXXX", base);
        if (!mkdtemp(tmp)) {
            fprintf(stderr, "wss sim scenario: cannot create a state directory under %s\n", base);
            return CLI_FAILED;
        }
    }
    scenario sc = {0};
    pthread_mutex_init(&sc.k.lock, NULL);
    sc.k.notes = json_array();
    sc.k.sim = &sc.c;
    char *maker = wss_random_token("maker-at-", 24);
    snprintf(sc.k.maker_token, sizeof sc.k.maker_token, "%s", maker ? maker : "");
    free(maker);

    char err[512], url[128];
    wss_sim *sim = NULL;
    wss_http_server *skill = NULL;
    wss_sim_options so = {.state_dir = state ? state : tmp, .listen = "127.0.0.1:0"};
    printf("wss sim scenario: the First Device and 2-to-N Device stories, over real HTTP(S) on 127.0.0.1\n");
    wss_err rc = wss_sim_start(&so, &sim, err, sizeof err);
    int ok = step(&sc, rc == WSS_OK, "emulator listening on %s (HTTPS with its local CA; state in %s)",
                  rc == WSS_OK ? wss_sim_base_url(sim) : err, so.state_dir);
    if (ok)
        rc = sim_client_load(&sc.c, so.state_dir, (long)getpid(), err, sizeof err);
    ok = ok && step(&sc, rc == WSS_OK, "read %s/credentials.json: %s", so.state_dir,
                    rc == WSS_OK ? "control token, skill and LWA client credentials" : err);
    if (ok) {
        sc.skill_id = sim_client_skill(&sc.c, "skill_id");
        sc.k.client_id = sim_client_skill(&sc.c, "client_id");
        sc.k.client_secret = sim_client_skill(&sc.c, "client_secret");
        ok = step(&sc, *sc.skill_id && *sc.k.client_secret, "skill %s, LWA client %s%s", sc.skill_id, sc.k.client_id,
                  *sc.k.client_secret ? "" : " (credentials.json holds no client_secret for it)") &&
             start_skill(&sc, &skill, url, sizeof url) && run_stories(&sc);
    }
    wss_http_stop(skill);
    wss_sim_stop(sim);
    free_reports(&sc.k);
    if (ok && !sc.failure[0])
        printf("scenario passed: all %d steps went as expected\n", sc.step);
    else
        printf("scenario FAILED at %s\n", sc.failure[0] ? sc.failure : "setup");
    free(sc.cc_token);
    free(sc.k.grant_access);
    json_decref(sc.k.notes);
    sim_client_free(&sc.c);
    pthread_mutex_destroy(&sc.k.lock);
    if (!state && !keep)
        remove_state_dir(tmp);
    else if (!state)
        printf("state kept in %s\n", tmp);
    return ok && !sc.failure[0] ? CLI_OK : CLI_FAILED;
}
