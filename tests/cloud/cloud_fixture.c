/* cloud_fixture.c - the cloud tests' shared setup (see cloud_fixture.h). */
#include "cloud_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"
#include "common/httpc.h"
#include "common/httpd.h"
#include "common/log.h"

#define WAIT_STEP_MS 20

/* ------------------------------------------------------------ JSON and time */

const json_t *cloud_fx_jget(const json_t *root, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *cur = root;
    for (char *save = NULL, *seg = strtok_r(buf, ".", &save); cur && seg; seg = strtok_r(NULL, ".", &save)) {
        char *end;
        long idx = strtol(seg, &end, 10);
        if (json_is_array(cur) && *end == 0 && end != seg)
            cur = json_array_get(cur, (size_t)idx);
        else
            cur = json_object_get(cur, seg);
    }
    return cur;
}

const char *cloud_fx_jstr(const json_t *root, const char *path) { return json_string_value(cloud_fx_jget(root, path)); }

long long cloud_fx_jint(const json_t *root, const char *path, long long dflt)
{
    const json_t *v = cloud_fx_jget(root, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

long long cloud_fx_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cloud_fx_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ------------------------------------------------------------ the stand-in skill */

/* Answers AcceptGrant with AcceptGrant.Response (keeping the code) and any
 * other directive with a plain Alexa.Response. */
struct cloud_fx_skill {
    wss_http_server *srv;
    char url[128];
    pthread_mutex_t lock;
    json_t *codes; /* AcceptGrant codes received, oldest first */
};

static json_t *answer_header(const char *ns, const char *name, const char *correlation)
{
    char id[37];
    wss_uuid4(id);
    json_t *h =
        json_pack("{s:s, s:s, s:s, s:s}", "namespace", ns, "name", name, "payloadVersion", "3", "messageId", id);
    if (correlation)
        json_object_set_new(h, "correlationToken", json_string(correlation));
    return h;
}

static void skill_handle(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    struct cloud_fx_skill *k = ctx;
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    const char *name = cloud_fx_jstr(doc, "directive.header.name");
    json_t *event;
    if (name && strcmp(name, "AcceptGrant") == 0) {
        const char *code = cloud_fx_jstr(doc, "directive.payload.grant.code");
        pthread_mutex_lock(&k->lock);
        json_array_append_new(k->codes, json_string(code ? code : ""));
        pthread_mutex_unlock(&k->lock);
        event = json_pack("{s:o, s:{}}", "header", answer_header("Alexa.Authorization", "AcceptGrant.Response", NULL),
                          "payload");
    } else {
        const char *device = cloud_fx_jstr(doc, "directive.payload.device.id");
        event = json_pack("{s:o, s:{s:s}, s:{}}", "header",
                          answer_header("Alexa", "Response", cloud_fx_jstr(doc, "directive.header.correlationToken")),
                          "endpoint", "endpointId", device ? device : "unknown", "payload");
    }
    wss_http_reply_json(resp, 200, json_pack("{s:o}", "event", event));
    json_decref(doc);
}

static struct cloud_fx_skill *skill_start(void)
{
    struct cloud_fx_skill *k = calloc(1, sizeof *k);
    assert_non_null(k);
    pthread_mutex_init(&k->lock, NULL);
    k->codes = json_array();
    char err[256];
    wss_http_options o = {.host = "127.0.0.1", .port = 0};
    if (wss_http_start(&o, skill_handle, k, &k->srv, err, sizeof err) != WSS_OK)
        fail_msg("cannot start the stand-in skill: %s", err);
    snprintf(k->url, sizeof k->url, "http://127.0.0.1:%d/alexa/skill", wss_http_port(k->srv));
    return k;
}

static void skill_stop(struct cloud_fx_skill *k)
{
    if (!k)
        return;
    wss_http_stop(k->srv);
    json_decref(k->codes);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* ------------------------------------------------------------ lifecycle */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    wss_httpc_global_init();
    const char *level = getenv("WSS_TEST_LOG_LEVEL");
    int l = level ? wss_log_level_parse(level) : -1;
    wss_log_set_level(l >= 0 ? (wss_log_level)l : WSS_LOG_WARN);
}

static char *dup_or_fail(const char *s)
{
    assert_non_null(s);
    char *out = strdup(s);
    assert_non_null(out);
    return out;
}

static void copy_credential(char *out, size_t outlen, const char *value, const char *what)
{
    if (!value || !*value)
        fail_msg("the emulator's credentials.json has no %s", what);
    snprintf(out, outlen, "%s", value);
}

cloud_fx *cloud_fx_new(const json_t *sim_config)
{
    pthread_once(&global_once, global_init);
    cloud_fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->root, sizeof fx->root, "%s/wss-test-cloud-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(fx->root));
    snprintf(fx->sim_dir, sizeof fx->sim_dir, "%s/sim", fx->root);
    snprintf(fx->store_path, sizeof fx->store_path, "%s/cloud.db", fx->root);

    /* The emulator: generous rate limits, a short skill timeout. */
    char config_path[1200], err[512] = "";
    snprintf(config_path, sizeof config_path, "%s/sim.json", fx->root);
    json_t *config = json_pack("{s:i, s:{s:f, s:f}}", "skill_timeout_ms", 300, "default_rate_limit", "per_second",
                               100000.0, "burst", 100000.0);
    if (sim_config)
        assert_int_equal(json_object_update(config, (json_t *)sim_config), 0);
    char *text = json_dumps(config, JSON_INDENT(2));
    json_decref(config);
    assert_non_null(text);
    assert_int_equal(wss_write_file_atomic(config_path, text, strlen(text), 0600), WSS_OK);
    free(text);
    wss_sim_options so = {.state_dir = fx->sim_dir, .listen = "127.0.0.1:0", .config_path = config_path};
    if (wss_sim_start(&so, &fx->sim, err, sizeof err) != WSS_OK)
        fail_msg("cannot start the emulator: %s", err);
    if (sim_client_load(&fx->client, fx->sim_dir, 0, err, sizeof err) != WSS_OK)
        fail_msg("cannot read the emulator's credentials: %s", err);
    copy_credential(fx->skill_id, sizeof fx->skill_id, sim_client_skill(&fx->client, "skill_id"), "skill_id");
    copy_credential(fx->client_id, sizeof fx->client_id, sim_client_skill(&fx->client, "client_id"), "client_id");
    copy_credential(fx->client_secret, sizeof fx->client_secret, sim_client_skill(&fx->client, "client_secret"),
                    "client_secret");
    copy_credential(fx->customer_id, sizeof fx->customer_id, sim_client_customer(&fx->client, "customer_id"),
                    "customer_id");
    const json_t *creds = fx->client.credentials;

    /* The cloud, by hand. */
    cloud *c = &fx->c;
    cloud_config_defaults(&c->cfg);
    c->cfg.listen = dup_or_fail("127.0.0.1:0");
    c->cfg.state_dir = dup_or_fail(fx->root);
    c->cfg.region = dup_or_fail("NA");
    c->cfg.manufacturer_name = dup_or_fail("openwss tests");
    c->cfg.lwa_token_url = dup_or_fail(cloud_fx_jstr(creds, "lwa_token_url"));
    c->cfg.gateway_url = dup_or_fail(cloud_fx_jstr(creds, "event_gateway_url"));
    c->cfg.outbound_ca_file = dup_or_fail(fx->client.ca_file);
    c->cfg.lwa_client_id = dup_or_fail(fx->client_id);
    c->cfg.lwa_client_secret = dup_or_fail(fx->client_secret);
    c->cfg.retry_delay_ms = 50;
    c->cfg.backoff_max_ms = 1000;
    c->cfg.request_timeout_ms = 5000;
    if (cloud_store_open_sqlite(fx->store_path, &c->store, err, sizeof err) != WSS_OK)
        fail_msg("cannot open the cloud store: %s", err);
    c->metrics = cloud_metrics_new();
    assert_non_null(c->metrics);
    c->token = cloud_token_cache_new(&c->cfg, c->metrics);
    assert_non_null(c->token);
    assert_int_equal(wss_key_generate(&fx->device_key), WSS_OK);
    fx->registered = json_object();
    return fx;
}

void cloud_fx_start_outbox(cloud_fx *fx)
{
    char err[256] = "";
    assert_null(fx->c.outbox);
    fx->c.outbox = cloud_outbox_start(&fx->c, err, sizeof err);
    if (!fx->c.outbox)
        fail_msg("cannot start the outbox: %s", err);
}

void cloud_fx_stop_outbox(cloud_fx *fx)
{
    cloud_outbox_stop(fx->c.outbox);
    fx->c.outbox = NULL;
}

void cloud_fx_free(cloud_fx *fx)
{
    if (!fx)
        return;
    cloud_fx_stop_outbox(fx);
    cloud_token_cache_free(fx->c.token);
    if (fx->c.store)
        fx->c.store->ops->close(fx->c.store);
    cloud_metrics_free(fx->c.metrics);
    cloud_config_free(&fx->c.cfg);
    wss_sim_stop(fx->sim);
    skill_stop(fx->skill);
    sim_client_free(&fx->client);
    wss_key_free(fx->device_key);
    json_decref(fx->registered);
    wss_remove_tree(fx->root);
    free(fx);
}

/* ------------------------------------------------------------ the emulator */

json_t *cloud_fx_control(cloud_fx *fx, const char *method, const char *path, json_t *body, long expect_status)
{
    char err[1024] = "";
    json_t *out = NULL;
    int status = sim_client_control(&fx->client, method, path, body, &out, err, sizeof err);
    json_decref(body);
    if (status != expect_status) {
        char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        fail_msg("%s /control/v1%s: expected %ld, got %d: %s %s", method, path, expect_status, status, err,
                 text ? text : "");
    }
    return out;
}

long long cloud_fx_add_fault(cloud_fx *fx, json_t *rule)
{
    json_t *r = cloud_fx_control(fx, "POST", "/faults", rule, 201);
    long long id = cloud_fx_jint(r, "id", -1);
    json_decref(r);
    assert_true(id > 0);
    return id;
}

json_t *cloud_fx_fault(cloud_fx *fx, long long id)
{
    json_t *all = cloud_fx_control(fx, "GET", "/faults", NULL, 200);
    size_t i;
    json_t *rule, *found = NULL;
    json_array_foreach(json_object_get(all, "faults"), i, rule)
    {
        if (json_integer_value(json_object_get(rule, "id")) == id)
            found = json_incref(rule);
    }
    json_decref(all);
    if (!found)
        fail_msg("no fault rule %lld", id);
    return found;
}

void cloud_fx_advance_clock(cloud_fx *fx, double seconds)
{
    json_decref(cloud_fx_control(fx, "POST", "/clock", json_pack("{s:f}", "advance_s", seconds), 200));
}

json_t *cloud_fx_events(cloud_fx *fx, const char *kind)
{
    char path[256];
    snprintf(path, sizeof path, "/events?limit=10000%s%s", kind ? "&kind=" : "", kind ? kind : "");
    json_t *answer = cloud_fx_control(fx, "GET", path, NULL, 200);
    json_t *events = json_incref(json_object_get(answer, "events"));
    json_decref(answer);
    assert_true(json_is_array(events));
    return events;
}

size_t cloud_fx_event_count(cloud_fx *fx, const char *kind)
{
    json_t *events = cloud_fx_events(fx, kind);
    size_t n = json_array_size(events);
    json_decref(events);
    return n;
}

json_t *cloud_fx_association(cloud_fx *fx, const char *device_id)
{
    json_t *all = cloud_fx_control(fx, "GET", "/associations", NULL, 200);
    size_t i;
    json_t *a, *found = NULL;
    json_array_foreach(json_object_get(all, "associations"), i, a)
    {
        const char *id = json_string_value(json_object_get(a, "device_id"));
        if (id && strcmp(id, device_id) == 0)
            found = json_incref(a);
    }
    json_decref(all);
    return found;
}

json_t *cloud_fx_counters(cloud_fx *fx) { return cloud_fx_control(fx, "GET", "/counters", NULL, 200); }

void cloud_fx_device_setup(cloud_fx *fx, cloud_fx_device *d, const char *dsn, const char *customer_id)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dsn, sizeof d->dsn, "%s", dsn);
    if (!json_object_get(fx->registered, dsn)) {
        char *pem = wss_key_public_pem(fx->device_key);
        assert_non_null(pem);
        json_decref(cloud_fx_control(
            fx, "POST", "/devices",
            json_pack("{s:s, s:s, s:s}", "dsn", dsn, "public_key", pem, "product_index", "TEST"), 201));
        free(pem);
        json_object_set_new(fx->registered, dsn, json_true());
    }
    if (customer_id)
        json_decref(cloud_fx_control(fx, "POST", "/purchases",
                                     json_pack("{s:s, s:s}", "dsn", dsn, "customer_id", customer_id), 201));
    json_t *st = cloud_fx_control(fx, "POST", "/session-tokens", json_pack("{s:s}", "dsn", dsn), 201);
    const char *token = cloud_fx_jstr(st, "session_token");
    assert_non_null(token);
    snprintf(d->session_token, sizeof d->session_token, "%s", token);
    json_decref(st);
    assert_int_equal(wss_ecdsa_sign_b64(fx->device_key, d->session_token, strlen(d->session_token), &d->signature),
                     WSS_OK);
    /* A global device id joined with the session token's unique part ('.' is
     * not allowed in device.id). */
    const char *unique = strrchr(d->session_token, '.');
    snprintf(d->device_id, sizeof d->device_id, "%s:%s", dsn, unique ? unique + 1 : d->session_token);
}

void cloud_fx_device_free(cloud_fx_device *d)
{
    free(d->signature);
    memset(d, 0, sizeof *d);
}

void cloud_fx_link_customer(cloud_fx *fx, const char *maker_token, char **access, char **refresh)
{
    if (!fx->skill) {
        fx->skill = skill_start();
        char path[600];
        snprintf(path, sizeof path, "/skills/%s", fx->skill_id);
        json_decref(cloud_fx_control(fx, "PATCH", path, json_pack("{s:s}", "endpoint", fx->skill->url), 200));
    }
    pthread_mutex_lock(&fx->skill->lock);
    size_t before = json_array_size(fx->skill->codes);
    pthread_mutex_unlock(&fx->skill->lock);
    char path[600];
    snprintf(path, sizeof path, "/customers/%s/skills/%s", fx->customer_id, fx->skill_id);
    json_decref(cloud_fx_control(fx, "PUT", path, json_pack("{s:s}", "access_token", maker_token), 200));
    char *code = NULL;
    for (long long deadline = cloud_fx_mono_ms() + 5000; !code && cloud_fx_mono_ms() < deadline;) {
        pthread_mutex_lock(&fx->skill->lock);
        const char *c = json_string_value(json_array_get(fx->skill->codes, before));
        code = c ? strdup(c) : NULL;
        pthread_mutex_unlock(&fx->skill->lock);
        if (!code)
            cloud_fx_sleep_ms(WAIT_STEP_MS);
    }
    if (!code || !*code)
        fail_msg("the stand-in skill got no AcceptGrant with a code");
    json_t *params = json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "authorization_code", "code", code, "client_id",
                               fx->client_id, "client_secret", fx->client_secret);
    char *body = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    free(code);
    wss_httpc_response resp;
    char err[512] = "";
    int status = sim_client_post(&fx->client, "/auth/o2/token", NULL, "application/json", body, strlen(body), &resp,
                                 err, sizeof err);
    free(body);
    if (status != 200)
        fail_msg("exchanging the AcceptGrant code: %d %s %s", status, err, status > 0 ? resp.body : "");
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    wss_httpc_response_free(&resp);
    *access = dup_or_fail(cloud_fx_jstr(doc, "access_token"));
    *refresh = dup_or_fail(cloud_fx_jstr(doc, "refresh_token"));
    json_decref(doc);
}

/* ------------------------------------------------------------ the cloud */

char *cloud_fx_sdae_body(const cloud_fx_device *d, const char *message_id)
{
    json_t *ev = json_pack("{s:{s:{s:s, s:s, s:s, s:s}, s:{s:{s:s, s:s, s:s, s:[s]}}}}", "event", "header", "namespace",
                           "Alexa.SimpleSetup", "name", "AddOrUpdateDeviceAssociationReport", "payloadVersion", "3",
                           "messageId", message_id, "payload", "device", "sessionToken", d->session_token, "signature",
                           d->signature, "id", d->device_id, "namingCategories", "SWITCH");
    assert_non_null(ev);
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    assert_non_null(text);
    return text;
}

void cloud_fx_enqueue_sdae(cloud_fx *fx, const cloud_fx_device *d, char message_id[37])
{
    assert_int_equal(wss_uuid4(message_id), WSS_OK);
    char *body = cloud_fx_sdae_body(d, message_id);
    cloud_report r = {.device_id = d->device_id,
                      .global_device_id = d->dsn,
                      .session_token = d->session_token,
                      .signature = d->signature,
                      .naming_categories = "[\"SWITCH\"]",
                      .gateway_url = fx->c.cfg.gateway_url};
    wss_err rc = fx->c.store->ops->report_add(fx->c.store, &r, message_id, body, cloud_now_ms());
    free(body);
    assert_int_equal(rc, WSS_OK);
    if (fx->c.outbox)
        cloud_outbox_wake(fx->c.outbox);
}

char *cloud_fx_discovery_body(const char *message_id, const char *endpoint_id, const char *friendly_name)
{
    json_t *ev = json_pack("{s:{s:{s:s, s:s, s:s, s:s}, s:{s:[{s:s, s:s, s:s, s:s, s:[s], s:[{s:s, s:s, s:s},"
                           " {s:s, s:s, s:s, s:{s:[{s:s}], s:b, s:b}}]}]}}}",
                           "event", "header", "namespace", "Alexa.Discovery", "name", "AddOrUpdateReport",
                           "payloadVersion", "3", "messageId", message_id, "payload", "endpoints", "endpointId",
                           endpoint_id, "manufacturerName", "openwss tests", "friendlyName", friendly_name,
                           "description", "A switch set up with Wi-Fi Simple Setup", "displayCategories", "SWITCH",
                           "capabilities", "type", "AlexaInterface", "interface", "Alexa", "version", "3", "type",
                           "AlexaInterface", "interface", "Alexa.PowerController", "version", "3", "properties",
                           "supported", "name", "powerState", "proactivelyReported", 1, "retrievable", 1);
    assert_non_null(ev);
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    assert_non_null(text);
    return text;
}

json_t *cloud_fx_outbox_event(cloud_fx *fx, const char *message_id)
{
    static const char *const states[] = {"pending", "delivered", "dead"};
    for (size_t s = 0; s < sizeof states / sizeof *states; s++) {
        json_t *list = NULL;
        assert_int_equal(fx->c.store->ops->outbox_list(fx->c.store, states[s], 0, &list), WSS_OK);
        size_t i;
        json_t *ev, *found = NULL;
        json_array_foreach(list, i, ev)
        {
            const char *id = json_string_value(json_object_get(ev, "message_id"));
            if (id && strcmp(id, message_id) == 0)
                found = json_incref(ev);
        }
        json_decref(list);
        if (found)
            return found;
    }
    return NULL;
}

json_t *cloud_fx_wait_outbox(cloud_fx *fx, const char *message_id, const char *state, long timeout_ms)
{
    json_t *ev = NULL;
    for (long long deadline = cloud_fx_mono_ms() + timeout_ms;;) {
        json_decref(ev);
        ev = cloud_fx_outbox_event(fx, message_id);
        const char *s = cloud_fx_jstr(ev, "state");
        if (s && strcmp(s, state) == 0)
            return ev;
        if (cloud_fx_mono_ms() >= deadline)
            break;
        cloud_fx_sleep_ms(WAIT_STEP_MS);
    }
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    fail_msg("outbox event %s not %s within %ld ms: %s", message_id, state, timeout_ms, text ? text : "(absent)");
    return NULL;
}

size_t cloud_fx_outbox_count(cloud_fx *fx, const char *state)
{
    json_t *list = NULL;
    assert_int_equal(fx->c.store->ops->outbox_list(fx->c.store, state, 0, &list), WSS_OK);
    size_t n = json_array_size(list);
    json_decref(list);
    return n;
}

void cloud_fx_wait_outbox_count(cloud_fx *fx, const char *state, size_t n, long timeout_ms)
{
    size_t have = 0;
    for (long long deadline = cloud_fx_mono_ms() + timeout_ms;;) {
        have = cloud_fx_outbox_count(fx, state);
        if (have >= n)
            return;
        if (cloud_fx_mono_ms() >= deadline)
            break;
        cloud_fx_sleep_ms(WAIT_STEP_MS * 5);
    }
    fail_msg("%zu outbox events %s after %ld ms, not %zu", have, state, timeout_ms, n);
}

long long cloud_fx_metric(cloud_fx *fx, const char *series)
{
    wss_http_request req = {.method = "GET", .path = "/metrics", .body = ""};
    wss_http_response resp;
    memset(&resp, 0, sizeof resp);
    cloud_metrics_handle(&fx->c, &req, &resp);
    assert_int_equal(resp.status, 200);
    long long value = 0;
    size_t n = strlen(series);
    for (const char *line = resp.body; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            value = strtoll(line + n + 1, NULL, 10);
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    free(resp.body);
    return value;
}
