/* test_skill.c - the skill endpoint (POST /alexa/skill) driven over HTTP as
 * Alexa drives it.
 *
 * Each test takes the shared cloud fixture (the emulator in this process, a
 * fresh SQLite store, a cloud struct built by hand; no outbox worker unless a
 * test starts it, so queued events stay pending for the test to read) and
 * serves cloud_skill_handle on 127.0.0.1. Every answer is judged with the
 * emulator's own sim_judge_skill_response. The AcceptGrant tests let the
 * emulator send real AcceptGrant directives, whose codes the cloud exchanges
 * at the emulator's Login with Amazon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud_fixture.h"
#include "common/alexa.h"
#include "common/httpc.h"
#include "common/httpd.h"
#include "common/log.h"
#include "sim/validate.h"

#define MAX_BODY (256 * 1024)

typedef struct world {
    cloud_fx *fx;
    FILE *log; /* everything logged during the test, searched for secrets */
    wss_http_server *srv;
    char url[128];
    pthread_mutex_t lock;
    json_t *seen; /* [{"request": text, "status": n, "response": text}] for every request served */
} world;

static void assert_jstr(const json_t *root, const char *path, const char *expected)
{
    const char *got = cloud_fx_jstr(root, path);
    if (!got || strcmp(got, expected) != 0) {
        char *text = json_dumps(root, JSON_COMPACT);
        print_error("%s: expected \"%s\", got \"%s\" in %s\n", path, expected, got ? got : "(none)", text);
        free(text);
    }
    assert_non_null(got);
    assert_string_equal(got, expected);
}

/* ------------------------------------------------------------ the cloud under test */

static void serve(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    world *w = ctx;
    cloud_skill_handle(&w->fx->c, req, resp);
    json_t *rec = json_pack("{s:s%, s:i, s:s%}", "request", req->body, req->body_len, "status", resp->status,
                            "response", resp->body ? resp->body : "", resp->body ? resp->body_len : 0);
    pthread_mutex_lock(&w->lock);
    json_array_append_new(w->seen, rec);
    pthread_mutex_unlock(&w->lock);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    char err[256];
    if (!w)
        return -1;
    w->fx = cloud_fx_new(NULL);
    w->log = tmpfile();
    if (!w->log)
        return -1;
    wss_log_set_stream(w->log);
    wss_log_set_level(WSS_LOG_DEBUG);
    w->seen = json_array();
    pthread_mutex_init(&w->lock, NULL);
    wss_http_options ho = {.host = "127.0.0.1", .port = 0, .max_body = MAX_BODY};
    if (wss_http_start(&ho, serve, w, &w->srv, err, sizeof err) != WSS_OK) {
        print_error("server: %s\n", err);
        return -1;
    }
    snprintf(w->url, sizeof w->url, "http://127.0.0.1:%d/alexa/skill", wss_http_port(w->srv));
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    wss_http_stop(w->srv);
    cloud_fx_free(w->fx);
    wss_log_set_stream(stderr);
    wss_log_set_level(WSS_LOG_WARN);
    fclose(w->log);
    json_decref(w->seen);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return 0;
}

/* Replaces a string of the cloud's configuration. */
static void set_cfg(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
    assert_non_null(*field);
}

static int log_contains(world *w, const char *text)
{
    static char buf[1 << 20];
    fflush(w->log);
    long end = ftell(w->log);
    rewind(w->log);
    size_t n = fread(buf, 1, sizeof buf - 1, w->log);
    buf[n] = 0;
    fseek(w->log, end, SEEK_SET);
    assert_true(n < sizeof buf - 1);
    return strstr(buf, text) != NULL;
}

/* ------------------------------------------------------------ the store */

static void add_user(world *w, const char *user_id, const char *token, long long expires_ms)
{
    char sha[65];
    cloud_store *st = w->fx->c.store;
    wss_sha256_hex(token, sha);
    assert_int_equal(st->ops->user_add(st, user_id, user_id, cloud_now_ms()), WSS_OK);
    assert_int_equal(st->ops->user_token_add(st, sha, user_id, expires_ms), WSS_OK);
}

static void add_report(world *w, const char *device_id, const char *categories)
{
    char mid[37];
    cloud_report r = {.device_id = device_id,
                      .global_device_id = "ACME0001",
                      .session_token = "session-token",
                      .signature = "c2lnbmF0dXJl",
                      .naming_categories = categories,
                      .gateway_url = w->fx->c.cfg.gateway_url};
    assert_int_equal(wss_uuid4(mid), WSS_OK);
    assert_int_equal(w->fx->c.store->ops->report_add(w->fx->c.store, &r, mid, "{\"event\":{}}", cloud_now_ms()),
                     WSS_OK);
}

static json_t *user_devices(world *w, const char *user_id)
{
    json_t *out = NULL;
    assert_int_equal(w->fx->c.store->ops->user_devices(w->fx->c.store, user_id, &out), WSS_OK);
    return out;
}

/* Pending outbox events of one kind. */
static size_t pending(world *w, const char *kind)
{
    json_t *list = NULL;
    size_t i, n = 0;
    json_t *ev;
    assert_int_equal(w->fx->c.store->ops->outbox_list(w->fx->c.store, "pending", 0, &list), WSS_OK);
    json_array_foreach(list, i, ev) n += strcmp(cloud_fx_jstr(ev, "kind"), kind) == 0;
    json_decref(list);
    return n;
}

/* ------------------------------------------------------------ Alexa's side */

typedef struct answer {
    long status;
    char content_type[128];
    char *body;
    size_t len;
    json_t *json;
} answer;

static void answer_free(answer *a)
{
    free(a->body);
    json_decref(a->json);
    memset(a, 0, sizeof *a);
}

static void send_raw(world *w, const char *method, const char *body, size_t len, answer *out)
{
    wss_httpc_request req = {.method = method, .url = w->url, .body = body, .body_len = len, .timeout_ms = 15000};
    wss_httpc_response r;
    char err[256];
    assert_int_equal(wss_httpc_perform(&req, &r, err, sizeof err), WSS_OK);
    memset(out, 0, sizeof *out);
    out->status = r.status;
    snprintf(out->content_type, sizeof out->content_type, "%s", r.content_type);
    out->body = r.body;
    out->len = r.body_len;
    out->json = json_loadb(r.body, r.body_len, JSON_REJECT_DUPLICATES, NULL);
    /* Never an HTML page: always JSON, whatever came in. */
    assert_non_null(out->json);
    assert_non_null(strstr(out->content_type, "application/json"));
}

static void send_doc(world *w, json_t *doc, answer *out)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    send_raw(w, "POST", text, strlen(text), out);
    free(text);
}

static json_t *header(const char *ns, const char *name, const char *correlation)
{
    char id[37];
    assert_int_equal(wss_uuid4(id), WSS_OK);
    json_t *h =
        json_pack("{s:s, s:s, s:s, s:s}", "namespace", ns, "name", name, "payloadVersion", "3", "messageId", id);
    if (correlation)
        json_object_set_new(h, "correlationToken", json_string(correlation));
    return h;
}

/* The seed's AssociateCustomerDevice; name NULL sends no preferredFriendlyNames. */
static json_t *cdad(const char *token, const char *device_id, const char *name, const char *correlation)
{
    json_t *names = json_array();
    if (name)
        json_array_append_new(
            names, json_pack("{s:s, s:{s:s, s:s}}", "@type", "text", "value", "text", name, "locale", "en-US"));
    return json_pack("{s:{s:o, s:{s:{s:s, s:s}, s:{s:s, s:o}}}}", "directive", "header",
                     header("Alexa.SimpleSetup", "AssociateCustomerDevice", correlation), "payload", "scope", "type",
                     "BearerToken", "token", token, "device", "id", device_id, "preferredFriendlyNames", names);
}

static json_t *discover(const char *token)
{
    return json_pack("{s:{s:o, s:{s:{s:s, s:s}}}}", "directive", "header", header("Alexa.Discovery", "Discover", NULL),
                     "payload", "scope", "type", "BearerToken", "token", token);
}

static json_t *accept_grant(const char *code, const char *grantee)
{
    return json_pack("{s:{s:o, s:{s:{s:s, s:s}, s:{s:s, s:s}}}}", "directive", "header",
                     header("Alexa.Authorization", "AcceptGrant", NULL), "payload", "grant", "type",
                     "OAuth2.AuthorizationCode", "code", code, "grantee", "type", "BearerToken", "token", grantee);
}

/* Judges an answer as Alexa does: verdict expected, and for an error its type. */
static void judge(const answer *a, sim_directive_kind kind, const char *correlation, sim_skill_verdict expected,
                  const char *error_type)
{
    char why[512];
    assert_int_equal(a->status, 200);
    sim_skill_verdict v = sim_judge_skill_response(kind, a->body, a->len, correlation, why, sizeof why);
    if (v != expected)
        print_error("verdict %d, expected %d: %s\nbody: %s\n", (int)v, (int)expected, why, a->body);
    assert_int_equal(v, expected);
    if (error_type) {
        assert_int_equal(strncmp(why, error_type, strlen(error_type)), 0);
        assert_int_equal(why[strlen(error_type)], ':');
    }
}

static void expect_cdad_error(world *w, json_t *doc, const char *correlation, const char *type)
{
    answer a;
    send_doc(w, doc, &a);
    judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, correlation, SIM_SKILL_RESPONSE_ERROR, type);
    assert_jstr(a.json, "event.header.namespace", "Alexa");
    assert_jstr(a.json, "event.header.name", "ErrorResponse");
    if (correlation)
        assert_jstr(a.json, "event.header.correlationToken", correlation);
    answer_free(&a);
}

/* A Discover.Response or the endpoints of a queued AddOrUpdateReport, checked
 * the way the emulator's gateway checks a proactive discovery report. */
static void assert_endpoints_valid(const json_t *endpoints)
{
    char why[512], id[37];
    assert_int_equal(wss_uuid4(id), WSS_OK);
    json_t *report = json_pack("{s:{s:{s:s, s:s, s:s, s:s}, s:{s:O, s:{s:s, s:s}}}}", "event", "header", "namespace",
                               "Alexa.Discovery", "name", "AddOrUpdateReport", "payloadVersion", "3", "messageId", id,
                               "payload", "endpoints", endpoints, "scope", "type", "BearerToken", "token", "t");
    int ok = sim_validate_discovery_report(report, NULL, why, sizeof why);
    if (!ok)
        print_error("discovery report refused: %s\n", why);
    assert_true(ok);
    json_decref(report);
}

/* Every answer the cloud gave so far is right or a well-formed error; gives how many there were. */
static size_t judge_all_seen(world *w)
{
    size_t i, n = 0;
    json_t *rec;
    pthread_mutex_lock(&w->lock);
    json_t *seen = json_deep_copy(w->seen);
    pthread_mutex_unlock(&w->lock);
    json_array_foreach(seen, i, rec)
    {
        json_t *req = json_loads(cloud_fx_jstr(rec, "request"), 0, NULL);
        const char *name = cloud_fx_jstr(req, "directive.header.name");
        const char *body = cloud_fx_jstr(rec, "response");
        char why[512];
        sim_directive_kind kind = name && strcmp(name, "AcceptGrant") == 0 ? SIM_DIRECTIVE_ACCEPT_GRANT
                                                                           : SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE;
        json_t *resp = json_loads(body, 0, NULL);
        assert_non_null(resp);
        if (name && strcmp(name, "Discover") == 0 &&
            strcmp(cloud_fx_jstr(resp, "event.header.name"), "Discover.Response") == 0)
            assert_true(wss_alexa_message_id_valid(cloud_fx_jstr(resp, "event.header.messageId")));
        else {
            const char *corr = cloud_fx_jstr(req, "directive.header.correlationToken");
            sim_skill_verdict v = sim_judge_skill_response(kind, body, strlen(body), corr, why, sizeof why);
            if (v == SIM_SKILL_RESPONSE_INVALID)
                print_error("invalid answer: %s\nto: %s\nanswer: %s\n", why, cloud_fx_jstr(rec, "request"), body);
            assert_int_not_equal(v, SIM_SKILL_RESPONSE_INVALID);
        }
        json_decref(resp);
        json_decref(req);
        n++;
    }
    json_decref(seen);
    return n;
}

/* ------------------------------------------------------------ AssociateCustomerDevice */

static void cdad_binds_and_queues_discovery(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    add_report(w, "ACME0001:sess-1", "[\"LIGHT\"]");
    answer a;
    send_doc(w, cdad("maker-token-1", "ACME0001:sess-1", "Kitchen Light", "corr-1"), &a);
    judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "corr-1", SIM_SKILL_RESPONSE_OK, NULL);
    assert_jstr(a.json, "event.header.namespace", "Alexa");
    assert_jstr(a.json, "event.header.name", "Response");
    assert_jstr(a.json, "event.header.correlationToken", "corr-1");
    assert_jstr(a.json, "event.endpoint.endpointId", "ACME0001:sess-1");
    assert_int_equal(json_object_size(cloud_fx_jget(a.json, "event.payload")), 0);
    answer_free(&a);

    json_t *devices = user_devices(w, "user-1");
    assert_int_equal(json_array_size(devices), 1);
    assert_jstr(devices, "0.device_id", "ACME0001:sess-1");
    assert_jstr(devices, "0.friendly_name", "Kitchen Light");
    json_decref(devices);

    /* The discovery event: no scope (the outbox adds the user's token), one valid endpoint. */
    assert_int_equal(pending(w, "discovery"), 1);
    cloud_outbox_item items[4];
    int n = 0;
    assert_int_equal(w->fx->c.store->ops->outbox_claim(w->fx->c.store, cloud_now_ms(), 60000, 4, items, &n), WSS_OK);
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(items[i].kind, "discovery") == 0) {
            found++;
            assert_string_equal(items[i].user_id, "user-1");
            assert_string_equal(items[i].gateway_url, w->fx->c.cfg.gateway_url);
            /* Queued by reference, built when sent. */
            assert_string_equal(items[i].body, "");
            assert_string_equal(items[i].device_id, "ACME0001:sess-1");
            char *body = NULL;
            assert_int_equal(cloud_discovery_event(&w->fx->c, items[i].device_id, items[i].message_id, &body), WSS_OK);
            json_t *ev = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
            free(body);
            assert_non_null(ev);
            assert_jstr(ev, "event.header.namespace", "Alexa.Discovery");
            assert_jstr(ev, "event.header.name", "AddOrUpdateReport");
            assert_jstr(ev, "event.header.messageId", items[i].message_id);
            assert_null(cloud_fx_jget(ev, "event.payload.scope"));
            const json_t *eps = cloud_fx_jget(ev, "event.payload.endpoints");
            assert_int_equal(json_array_size(eps), 1);
            assert_endpoints_valid(eps);
            assert_jstr(eps, "0.endpointId", "ACME0001:sess-1");
            assert_jstr(eps, "0.friendlyName", "Kitchen Light");
            assert_jstr(eps, "0.manufacturerName", w->fx->c.cfg.manufacturer_name);
            assert_jstr(eps, "0.displayCategories.0", "LIGHT");
            assert_jstr(eps, "0.capabilities.1.interface", "Alexa.PowerController");
            assert_jstr(eps, "0.capabilities.1.properties.supported.0.name", "powerState");
            json_decref(ev);
        }
        cloud_outbox_item_free(&items[i]);
    }
    assert_int_equal(found, 1);
    char *body = (char *)1;
    assert_int_equal(cloud_discovery_event(&w->fx->c, "ACME0009:never-bound", "mid", &body), WSS_ERR_NOT_FOUND);
    assert_null(body);
}

/* A redelivered CDAD binds once, answers success twice, queues one discovery. */
static void cdad_twice_binds_once(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    add_report(w, "ACME0002:sess-2", "[\"SWITCH\"]");
    json_t *doc = cdad("maker-token-1", "ACME0002:sess-2", "Hall Switch", "corr-twice");
    for (int i = 0; i < 2; i++) {
        answer a;
        send_doc(w, json_incref(doc), &a);
        judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "corr-twice", SIM_SKILL_RESPONSE_OK, NULL);
        assert_jstr(a.json, "event.endpoint.endpointId", "ACME0002:sess-2");
        answer_free(&a);
    }
    json_decref(doc);
    json_t *devices = user_devices(w, "user-1");
    assert_int_equal(json_array_size(devices), 1);
    json_decref(devices);
    assert_int_equal(pending(w, "discovery"), 1);
}

/* Many deliveries of the same CDAD at once still bind once and queue one discovery. */
typedef struct racer {
    world *w;
    const char *body;
    int ok;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    wss_httpc_request req = {
        .method = "POST", .url = r->w->url, .body = r->body, .body_len = strlen(r->body), .timeout_ms = 15000};
    wss_httpc_response resp;
    char err[256], why[256];
    if (wss_httpc_perform(&req, &resp, err, sizeof err) == WSS_OK)
        r->ok = resp.status == 200 &&
                sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, resp.body, resp.body_len, "corr-race",
                                         why, sizeof why) == SIM_SKILL_RESPONSE_OK;
    wss_httpc_response_free(&resp);
    return NULL;
}

static void cdad_concurrent_redelivery_binds_once(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    add_report(w, "ACME0003:sess-3", "[\"SWITCH\"]");
    json_t *doc = cdad("maker-token-1", "ACME0003:sess-3", "Porch", "corr-race");
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    pthread_t th[8];
    racer r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (racer){w, body, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_true(r[i].ok);
    }
    free(body);
    json_t *devices = user_devices(w, "user-1");
    assert_int_equal(json_array_size(devices), 1);
    json_decref(devices);
    assert_int_equal(pending(w, "discovery"), 1);
}

/* Runs SQL on the cloud's store through a connection of the test's own. */
static void store_exec(world *w, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(w->fx->store_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* The binding and its discovery event are one transaction: when the event
 * cannot be stored, the CDAD fails and nothing is bound, so Alexa's
 * redelivery binds the device and queues its discovery then. */
static void cdad_discovery_not_stored_binds_nothing(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    add_report(w, "ACME0012:sess-12", "[\"SWITCH\"]");
    store_exec(w, "CREATE TRIGGER refuse_discovery BEFORE INSERT ON outbox WHEN NEW.kind = 'discovery'"
                  " BEGIN SELECT RAISE(ABORT, 'injected'); END");
    json_t *doc = cdad("maker-token-1", "ACME0012:sess-12", "Attic", "corr-12");
    expect_cdad_error(w, json_incref(doc), "corr-12", "INTERNAL_ERROR");
    json_t *devices = user_devices(w, "user-1");
    assert_int_equal(json_array_size(devices), 0);
    json_decref(devices);
    assert_int_equal(pending(w, "discovery"), 0);

    store_exec(w, "DROP TRIGGER refuse_discovery");
    answer a;
    send_doc(w, doc, &a);
    judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "corr-12", SIM_SKILL_RESPONSE_OK, NULL);
    answer_free(&a);
    devices = user_devices(w, "user-1");
    assert_int_equal(json_array_size(devices), 1);
    assert_jstr(devices, "0.friendly_name", "Attic");
    json_decref(devices);
    assert_int_equal(pending(w, "discovery"), 1);
}

static void cdad_unknown_token_invalid_credential(void **state)
{
    world *w = *state;
    add_report(w, "ACME0004:sess-4", "[\"SWITCH\"]");
    expect_cdad_error(w, cdad("nobody's-token", "ACME0004:sess-4", "Lamp", "corr-4"), "corr-4",
                      "INVALID_AUTHORIZATION_CREDENTIAL");
    assert_int_equal(pending(w, "discovery"), 0);
}

static void cdad_expired_token_expired_credential(void **state)
{
    world *w = *state;
    add_user(w, "user-old", "old-token", cloud_now_ms() - 1000);
    add_report(w, "ACME0005:sess-5", "[\"SWITCH\"]");
    expect_cdad_error(w, cdad("old-token", "ACME0005:sess-5", "Lamp", "corr-5"), "corr-5",
                      "EXPIRED_AUTHORIZATION_CREDENTIAL");
    json_t *devices = user_devices(w, "user-old");
    assert_int_equal(json_array_size(devices), 0);
    json_decref(devices);
}

static void cdad_unknown_device_no_such_endpoint(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    expect_cdad_error(w, cdad("maker-token-1", "NEVER-REPORTED", "Lamp", "corr-6"), "corr-6", "NO_SUCH_ENDPOINT");
    assert_int_equal(pending(w, "discovery"), 0);
}

/* A device bound to one account is not taken over by another. */
static void cdad_device_of_another_user_refused(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    add_user(w, "user-2", "maker-token-2", cloud_now_ms() + 3600000);
    add_report(w, "ACME0007:sess-7", "[\"SWITCH\"]");
    answer a;
    send_doc(w, cdad("maker-token-1", "ACME0007:sess-7", "Mine", "corr-7a"), &a);
    judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "corr-7a", SIM_SKILL_RESPONSE_OK, NULL);
    answer_free(&a);
    expect_cdad_error(w, cdad("maker-token-2", "ACME0007:sess-7", "Yours", "corr-7b"), "corr-7b", "INVALID_DIRECTIVE");
    json_t *devices = user_devices(w, "user-2");
    assert_int_equal(json_array_size(devices), 0);
    json_decref(devices);
    devices = user_devices(w, "user-1");
    assert_int_equal(json_array_size(devices), 1);
    assert_jstr(devices, "0.friendly_name", "Mine");
    json_decref(devices);
    assert_int_equal(pending(w, "discovery"), 1);
}

static void cdad_bad_device_id_invalid_directive(void **state)
{
    world *w = *state;
    char long_id[300];
    memset(long_id, 'A', 257);
    long_id[257] = 0;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    const char *bad[] = {"", "ACME/0008", "ACME.0008", "é", long_id};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_cdad_error(w, cdad("maker-token-1", bad[i], "Lamp", "corr-8"), "corr-8", "INVALID_DIRECTIVE");
    /* A number where the id goes. */
    json_t *doc = cdad("maker-token-1", "x", "Lamp", "corr-8");
    json_object_set_new((json_t *)cloud_fx_jget(doc, "directive.payload.device"), "id", json_integer(8));
    expect_cdad_error(w, doc, "corr-8", "INVALID_DIRECTIVE");
    /* The whole character set of the seed is accepted. */
    const char *good = "Az09 _-=#;:?@&";
    add_report(w, good, "[\"SWITCH\"]");
    answer a;
    send_doc(w, cdad("maker-token-1", good, "Lamp", "corr-8"), &a);
    judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "corr-8", SIM_SKILL_RESPONSE_OK, NULL);
    answer_free(&a);
}

/* Without preferred names the device gets a fallback; long names are cut to Alexa's 128 characters. */
static void cdad_friendly_name_fallback_and_limit(void **state)
{
    world *w = *state;
    char name[512];
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    add_report(w, "ACME0009:a", "[\"SMARTPLUG\"]");
    add_report(w, "ACME0009:b", "[\"SWITCH\"]");
    answer a;
    send_doc(w, cdad("maker-token-1", "ACME0009:a", NULL, "corr-9a"), &a);
    judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "corr-9a", SIM_SKILL_RESPONSE_OK, NULL);
    answer_free(&a);
    name[0] = 0;
    for (int i = 0; i < 200; i++)
        strcat(name, "\xc3\xbc"); /* two bytes each: 200 characters in all */
    send_doc(w, cdad("maker-token-1", "ACME0009:b", name, "corr-9b"), &a);
    judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "corr-9b", SIM_SKILL_RESPONSE_OK, NULL);
    answer_free(&a);

    answer d;
    send_doc(w, discover("maker-token-1"), &d);
    const json_t *eps = cloud_fx_jget(d.json, "event.payload.endpoints");
    assert_int_equal(json_array_size(eps), 2);
    assert_endpoints_valid(eps);
    assert_jstr(eps, "0.friendlyName", "Switch");
    assert_jstr(eps, "0.displayCategories.0", "SMARTPLUG");
    assert_int_equal(strlen(cloud_fx_jstr(eps, "1.friendlyName")), 128 * 2);
    answer_free(&d);
}

/* ------------------------------------------------------------ malformed directives */

static void malformed_directives_invalid_directive(void **state)
{
    world *w = *state;
    static const char *const bodies[] = {
        "",
        "not json at all",
        "<!DOCTYPE html><html><body><h1>Hello</h1></body></html>",
        "[]",
        "\"directive\"",
        "{}",
        "{\"directive\":{}}",
        "{\"directive\":{\"header\":\"x\",\"payload\":{}}}",
        "{\"directive\":{\"payload\":{}}}",
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\","
        "\"payloadVersion\":3,\"messageId\":\"m-1\"},\"payload\":{}}}",
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\","
        "\"payloadVersion\":\"3\"},\"payload\":{}}}",
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\","
        "\"payloadVersion\":\"3\",\"messageId\":\"m-1\"}}}",
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\","
        "\"payloadVersion\":\"3\",\"messageId\":\"m-1\"},\"payload\":{},\"payload\":{}}}",
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\","
        "\"payloadVersion\":\"3\",\"messageId\":\"m-1\"},\"payload\":{\"scope\":{\"type\":\"Basic\",\"token\":\"t\"},"
        "\"device\":{\"id\":\"d\"}}}}",
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"ReportState\","
        "\"payloadVersion\":\"3\",\"messageId\":\"m-1\"},\"payload\":{}}}",
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\","
        "\"payloadVersion\":\"3\",\"messageId\":\"m-1\",\"correlationToken\":7},\"payload\":{}}}",
        "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\"",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        answer a;
        send_raw(w, "POST", bodies[i], strlen(bodies[i]), &a);
        judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, NULL, SIM_SKILL_RESPONSE_ERROR, "INVALID_DIRECTIVE");
        assert_null(cloud_fx_jget(a.json, "event.header.correlationToken"));
        answer_free(&a);
    }
    /* An embedded NUL. */
    static const char nul[] = "{\"directive\":\0{}}";
    answer a;
    send_raw(w, "POST", nul, sizeof nul - 1, &a);
    judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, NULL, SIM_SKILL_RESPONSE_ERROR, "INVALID_DIRECTIVE");
    answer_free(&a);

    /* The correlation token is echoed whenever there is one. */
    json_t *doc = cdad("t", "d", "n", "corr-v2");
    json_object_set_new((json_t *)cloud_fx_jget(doc, "directive.header"), "payloadVersion", json_string("2"));
    expect_cdad_error(w, doc, "corr-v2", "INVALID_DIRECTIVE");
    doc = json_pack("{s:{s:o, s:{}}}", "directive", "header", header("Alexa.PowerController", "TurnOn", "corr-on"),
                    "payload");
    expect_cdad_error(w, doc, "corr-on", "INVALID_DIRECTIVE");
    doc = json_pack("{s:{s:o}}", "directive", "header", header("Alexa.SimpleSetup", "AssociateCustomerDevice", "c-np"));
    expect_cdad_error(w, doc, "c-np", "INVALID_DIRECTIVE");
    assert_int_equal(judge_all_seen(w), sizeof bodies / sizeof *bodies + 4);
}

static void wrong_method_and_oversized_body_answer_json(void **state)
{
    world *w = *state;
    answer a;
    send_raw(w, "GET", NULL, 0, &a);
    assert_int_equal(a.status, 405);
    assert_jstr(a.json, "event.header.name", "ErrorResponse");
    assert_jstr(a.json, "event.payload.type", "INVALID_DIRECTIVE");
    answer_free(&a);

    size_t big = MAX_BODY + 1024;
    char *body = malloc(big);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    send_raw(w, "POST", body, big, &a);
    assert_int_equal(a.status, 413);
    assert_jstr(a.json, "event.header.name", "ErrorResponse");
    assert_jstr(a.json, "event.payload.type", "INVALID_DIRECTIVE");
    answer_free(&a);
    /* Above the skill's own limit but below the server's. */
    send_raw(w, "POST", body, 100 * 1024, &a);
    assert_int_equal(a.status, 413);
    answer_free(&a);
    free(body);
}

/* ------------------------------------------------------------ Discover */

static void discover_lists_bound_devices(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    add_user(w, "user-2", "maker-token-2", cloud_now_ms() + 3600000);
    add_user(w, "user-3", "maker-token-3", cloud_now_ms() + 3600000);
    add_report(w, "ACME0010:a", "[\"LIGHT\",\"SWITCH\"]");
    add_report(w, "ACME0010:b", "[\"FAN\"]");
    add_report(w, "ACME0010:c", "[\"SWITCH\"]");
    add_report(w, "ACME0010:unbound", "[\"SWITCH\"]");
    const char *binds[][3] = {{"maker-token-1", "ACME0010:a", "Desk"},
                              {"maker-token-1", "ACME0010:b", "Fan"},
                              {"maker-token-2", "ACME0010:c", "Other's"}};
    for (size_t i = 0; i < 3; i++) {
        answer a;
        send_doc(w, cdad(binds[i][0], binds[i][1], binds[i][2], "c"), &a);
        judge(&a, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "c", SIM_SKILL_RESPONSE_OK, NULL);
        answer_free(&a);
    }
    answer d;
    send_doc(w, discover("maker-token-1"), &d);
    assert_int_equal(d.status, 200);
    assert_jstr(d.json, "event.header.namespace", "Alexa.Discovery");
    assert_jstr(d.json, "event.header.name", "Discover.Response");
    assert_jstr(d.json, "event.header.payloadVersion", "3");
    assert_true(wss_alexa_message_id_valid(cloud_fx_jstr(d.json, "event.header.messageId")));
    const json_t *eps = cloud_fx_jget(d.json, "event.payload.endpoints");
    assert_int_equal(json_array_size(eps), 2);
    assert_endpoints_valid(eps);
    assert_jstr(eps, "0.endpointId", "ACME0010:a");
    assert_jstr(eps, "0.friendlyName", "Desk");
    assert_jstr(eps, "0.displayCategories.1", "SWITCH");
    assert_jstr(eps, "1.endpointId", "ACME0010:b");
    assert_jstr(eps, "1.displayCategories.0", "FAN");
    answer_free(&d);

    /* Nobody's devices but your own; none at all is an empty list. */
    send_doc(w, discover("maker-token-3"), &d);
    assert_jstr(d.json, "event.header.name", "Discover.Response");
    assert_true(json_is_array(cloud_fx_jget(d.json, "event.payload.endpoints")));
    assert_int_equal(json_array_size(cloud_fx_jget(d.json, "event.payload.endpoints")), 0);
    answer_free(&d);

    send_doc(w, discover("unknown-token"), &d);
    judge(&d, SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, NULL, SIM_SKILL_RESPONSE_ERROR,
          "INVALID_AUTHORIZATION_CREDENTIAL");
    answer_free(&d);
    judge_all_seen(w);
}

/* ------------------------------------------------------------ AcceptGrant */

/* Points the emulator's skill at the cloud and enables it for the emulator's
 * customer with maker_token; waits for the judged AcceptGrant; gives its record. */
static json_t *enable_skill(world *w, const char *maker_token)
{
    cloud_fx *fx = w->fx;
    char path[600];
    snprintf(path, sizeof path, "/skills/%s", fx->skill_id);
    json_decref(cloud_fx_control(fx, "PATCH", path, json_pack("{s:s}", "endpoint", w->url), 200));
    snprintf(path, sizeof path, "/customers/%s/skills/%s", fx->customer_id, fx->skill_id);
    json_decref(cloud_fx_control(fx, "PUT", path, json_pack("{s:s}", "access_token", maker_token), 200));
    snprintf(path, sizeof path, "/skills/%s/requests", fx->skill_id);
    for (long long deadline = cloud_fx_mono_ms() + 15000;; cloud_fx_sleep_ms(20)) {
        json_t *req = cloud_fx_control(fx, "GET", path, NULL, 200);
        if (cloud_fx_jint(req, "requests", 0) >= 1) {
            json_t *rec = json_incref((json_t *)cloud_fx_jget(req, "records.0"));
            json_decref(req);
            return rec;
        }
        json_decref(req);
        assert_true(cloud_fx_mono_ms() < deadline);
    }
}

/* The emulator sends a real AcceptGrant; the cloud exchanges the code and keeps the tokens. */
static void accept_grant_good_code_stores_grant(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-grant", cloud_now_ms() + 3600000);
    json_t *rec = enable_skill(w, "maker-token-grant");
    assert_jstr(rec, "directive", "AcceptGrant");
    if (strcmp(cloud_fx_jstr(rec, "outcome"), "ok") != 0)
        print_error("AcceptGrant judged %s: %s\n", cloud_fx_jstr(rec, "outcome"), cloud_fx_jstr(rec, "reason"));
    assert_jstr(rec, "outcome", "ok");
    json_decref(rec);

    cloud_grant g;
    assert_int_equal(w->fx->c.store->ops->grant_get(w->fx->c.store, "user-1", &g), WSS_OK);
    assert_int_equal(strncmp(g.access_token, "Atza|", 5), 0);
    assert_non_null(g.refresh_token);
    assert_int_equal(strncmp(g.refresh_token, "Atzr|", 5), 0);
    assert_true(g.expires_ms > cloud_now_ms() + 3000 * 1000LL);
    assert_true(g.expires_ms <= cloud_now_ms() + 3600 * 1000LL);

    /* The answer the emulator judged passes the judge here too. */
    assert_int_equal(judge_all_seen(w), 1);
    json_t *first = json_loads(cloud_fx_jstr(w->seen, "0.request"), 0, NULL);
    json_t *resp = json_loads(cloud_fx_jstr(w->seen, "0.response"), 0, NULL);
    assert_jstr(resp, "event.header.namespace", "Alexa.Authorization");
    assert_jstr(resp, "event.header.name", "AcceptGrant.Response");
    json_decref(resp);
    const char *code = cloud_fx_jstr(first, "directive.payload.grant.code");
    assert_non_null(code);

    /* Codes are single-use: the same directive again fails, and the stored grant stays. */
    answer a;
    send_doc(w, json_incref(first), &a);
    judge(&a, SIM_DIRECTIVE_ACCEPT_GRANT, NULL, SIM_SKILL_RESPONSE_ERROR, "ACCEPT_GRANT_FAILED");
    assert_jstr(a.json, "event.header.namespace", "Alexa.Authorization");
    assert_jstr(a.json, "event.header.name", "ErrorResponse");
    answer_free(&a);
    cloud_grant g2;
    assert_int_equal(w->fx->c.store->ops->grant_get(w->fx->c.store, "user-1", &g2), WSS_OK);
    assert_string_equal(g2.access_token, g.access_token);

    /* Neither the code, nor the tokens, nor the client secret reach the log. */
    assert_true(log_contains(w, "AcceptGrant"));
    assert_false(log_contains(w, code));
    assert_false(log_contains(w, g.access_token + 5));
    assert_false(log_contains(w, g.refresh_token + 5));
    assert_false(log_contains(w, "maker-token-grant"));
    assert_false(log_contains(w, w->fx->c.cfg.lwa_client_secret));
    cloud_grant_free(&g);
    cloud_grant_free(&g2);
    json_decref(first);
}

/* A code Login with Amazon refuses is never answered with success. */
static void accept_grant_bad_code_fails(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    answer a;
    send_doc(w, accept_grant("ANbogus-code", "maker-token-1"), &a);
    judge(&a, SIM_DIRECTIVE_ACCEPT_GRANT, NULL, SIM_SKILL_RESPONSE_ERROR, "ACCEPT_GRANT_FAILED");
    assert_jstr(a.json, "event.payload.type", "ACCEPT_GRANT_FAILED");
    assert_non_null(strstr(cloud_fx_jstr(a.json, "event.payload.message"), "invalid_grant"));
    answer_free(&a);
    cloud_grant g;
    assert_int_equal(w->fx->c.store->ops->grant_get(w->fx->c.store, "user-1", &g), WSS_ERR_NOT_FOUND);
    assert_false(log_contains(w, "ANbogus-code"));

    /* Wrong client credentials: LWA refuses the client, the grant still fails. */
    set_cfg(&w->fx->c.cfg.lwa_client_secret, "amzn1.oa2-cs.v1.wrong");
    send_doc(w, accept_grant("ANbogus-code", "maker-token-1"), &a);
    judge(&a, SIM_DIRECTIVE_ACCEPT_GRANT, NULL, SIM_SKILL_RESPONSE_ERROR, "ACCEPT_GRANT_FAILED");
    answer_free(&a);
}

/* The emulator's AcceptGrant for a maker token the cloud does not know is refused (and judged an error, not ok). */
static void accept_grant_unknown_grantee_fails(void **state)
{
    world *w = *state;
    json_t *rec = enable_skill(w, "token-of-nobody");
    assert_jstr(rec, "directive", "AcceptGrant");
    assert_jstr(rec, "outcome", "error");
    assert_non_null(strstr(cloud_fx_jstr(rec, "reason"), "ACCEPT_GRANT_FAILED"));
    json_decref(rec);
    assert_int_equal(judge_all_seen(w), 1);
}

/* Login with Amazon out of reach: ACCEPT_GRANT_FAILED, in time. */
static void accept_grant_lwa_unreachable_fails(void **state)
{
    world *w = *state;
    wss_http_server *gone = NULL;
    char err[256], url[128];
    wss_http_options ho = {.host = "127.0.0.1", .port = 0};
    assert_int_equal(wss_http_start(&ho, serve, w, &gone, err, sizeof err), WSS_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/auth/o2/token", wss_http_port(gone));
    wss_http_stop(gone);
    set_cfg(&w->fx->c.cfg.lwa_token_url, url);
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    answer a;
    send_doc(w, accept_grant("ANcode", "maker-token-1"), &a);
    judge(&a, SIM_DIRECTIVE_ACCEPT_GRANT, NULL, SIM_SKILL_RESPONSE_ERROR, "ACCEPT_GRANT_FAILED");
    answer_free(&a);
    /* Malformed AcceptGrants fail the same way (the only error Alexa takes for it). */
    json_t *doc = accept_grant("ANcode", "maker-token-1");
    json_object_del((json_t *)cloud_fx_jget(doc, "directive.payload"), "grant");
    send_doc(w, doc, &a);
    judge(&a, SIM_DIRECTIVE_ACCEPT_GRANT, NULL, SIM_SKILL_RESPONSE_ERROR, "ACCEPT_GRANT_FAILED");
    answer_free(&a);
    doc = accept_grant("ANcode", "maker-token-1");
    json_object_set_new((json_t *)cloud_fx_jget(doc, "directive.header"), "payloadVersion", json_string("2"));
    send_doc(w, doc, &a);
    judge(&a, SIM_DIRECTIVE_ACCEPT_GRANT, NULL, SIM_SKILL_RESPONSE_ERROR, "ACCEPT_GRANT_FAILED");
    answer_free(&a);
    send_doc(w, accept_grant("ANcode", "unknown-grantee"), &a);
    judge(&a, SIM_DIRECTIVE_ACCEPT_GRANT, NULL, SIM_SKILL_RESPONSE_ERROR, "ACCEPT_GRANT_FAILED");
    answer_free(&a);
    cloud_grant g;
    assert_int_equal(w->fx->c.store->ops->grant_get(w->fx->c.store, "user-1", &g), WSS_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------ metrics */

static void directives_counted_and_timed(void **state)
{
    world *w = *state;
    add_user(w, "user-1", "maker-token-1", cloud_now_ms() + 3600000);
    add_report(w, "ACME0011:a", "[\"SWITCH\"]");
    answer a;
    send_doc(w, cdad("maker-token-1", "ACME0011:a", "One", "c"), &a);
    answer_free(&a);
    send_doc(w, discover("maker-token-1"), &a);
    answer_free(&a);
    send_raw(w, "POST", "nope", 4, &a);
    answer_free(&a);

    cloud_fx *fx = w->fx;
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_directives_total"), 3);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_directive_seconds_count{directive=\"AssociateCustomerDevice\"}"),
                     1);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_directive_seconds_count{directive=\"Discover\"}"), 1);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_directive_seconds_count{directive=\"Unknown\"}"), 1);
}

/* ------------------------------------------------------------ the whole chain */

/* A pending or delivered discovery event, polled until delivered. */
static json_t *wait_discovery_delivered(world *w, long timeout_ms)
{
    for (long long deadline = cloud_fx_mono_ms() + timeout_ms;; cloud_fx_sleep_ms(20)) {
        json_t *list = NULL, *ev, *found = NULL;
        size_t i;
        assert_int_equal(w->fx->c.store->ops->outbox_list(w->fx->c.store, "delivered", 0, &list), WSS_OK);
        json_array_foreach(list, i, ev) if (strcmp(cloud_fx_jstr(ev, "kind"), "discovery") == 0) found =
            json_incref(ev);
        json_decref(list);
        if (found)
            return found;
        if (cloud_fx_mono_ms() > deadline) {
            assert_int_equal(w->fx->c.store->ops->outbox_list(w->fx->c.store, "dead", 0, &list), WSS_OK);
            char *text = json_dumps(list, JSON_COMPACT);
            fail_msg("no discovery event delivered; dead letters: %s", text);
        }
    }
}

/* Skill enabled (AcceptGrant), device reported (SDAE through the outbox), the
 * emulator's CDAD answered, the device bound, and the proactive discovery
 * accepted by the emulator's gateway with the user's Alexa token. */
static void cdad_from_emulator_discovered_end_to_end(void **state)
{
    world *w = *state;
    cloud_fx *fx = w->fx;
    add_user(w, "user-1", "maker-token-e2e", cloud_now_ms() + 3600000);
    json_t *rec = enable_skill(w, "maker-token-e2e");
    assert_jstr(rec, "outcome", "ok");
    json_decref(rec);
    cloud_fx_start_outbox(fx);

    cloud_fx_device dev;
    char mid[37];
    cloud_fx_device_setup(fx, &dev, "SKILL-E2E", fx->customer_id);
    cloud_fx_enqueue_sdae(fx, &dev, mid);
    json_decref(cloud_fx_wait_outbox(fx, mid, "delivered", 10000));

    /* The emulator sends the CDAD; the association ends "associated". */
    json_t *assoc = NULL;
    for (long long deadline = cloud_fx_mono_ms() + 10000;; cloud_fx_sleep_ms(20)) {
        json_decref(assoc);
        assoc = cloud_fx_association(fx, dev.device_id);
        const char *st = cloud_fx_jstr(assoc, "state");
        if (st && strcmp(st, "associated") == 0)
            break;
        if (cloud_fx_mono_ms() > deadline) {
            char *text = assoc ? json_dumps(assoc, JSON_COMPACT) : NULL;
            fail_msg("association not associated: %s", text ? text : "(none)");
        }
    }
    const char *preferred = cloud_fx_jstr(assoc, "friendly_name");
    json_t *devices = user_devices(w, "user-1");
    assert_int_equal(json_array_size(devices), 1);
    assert_jstr(devices, "0.device_id", dev.device_id);
    if (preferred)
        assert_jstr(devices, "0.friendly_name", preferred);
    json_decref(devices);

    /* The discovery event reaches the gateway, which keeps the endpoint. */
    json_decref(wait_discovery_delivered(w, 10000));
    char path[400];
    snprintf(path, sizeof path, "/alexa-devices?customer_id=%s", fx->customer_id);
    json_t *eps = cloud_fx_control(fx, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(eps, "devices")), 1);
    assert_jstr(eps, "devices.0.endpoint_id", dev.device_id);
    if (preferred)
        assert_jstr(eps, "devices.0.friendly_name", preferred);
    json_decref(eps);
    json_decref(assoc);

    /* Every directive the emulator sent was answered rightly. */
    snprintf(path, sizeof path, "/skills/%s/requests", fx->skill_id);
    json_t *req = cloud_fx_control(fx, "GET", path, NULL, 200);
    assert_int_equal(cloud_fx_jint(req, "requests", -1), 2);
    assert_int_equal(cloud_fx_jint(req, "ok", -1), 2);
    json_decref(req);
    assert_int_equal(judge_all_seen(w), 2);
    cloud_fx_device_free(&dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cdad_binds_and_queues_discovery, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_twice_binds_once, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_concurrent_redelivery_binds_once, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_discovery_not_stored_binds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_unknown_token_invalid_credential, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_expired_token_expired_credential, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_unknown_device_no_such_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_device_of_another_user_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_bad_device_id_invalid_directive, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_friendly_name_fallback_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_directives_invalid_directive, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_method_and_oversized_body_answer_json, setup, teardown),
        cmocka_unit_test_setup_teardown(discover_lists_bound_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(accept_grant_good_code_stores_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(accept_grant_bad_code_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(accept_grant_unknown_grantee_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(accept_grant_lwa_unreachable_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(directives_counted_and_timed, setup, teardown),
        cmocka_unit_test_setup_teardown(cdad_from_emulator_discovered_end_to_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
