/* test_intake.c - device intake (POST /v1/devices/association-report) over
 * real mutual TLS.
 *
 * Each test serves cloud_intake_handle with wss_http_start over HTTPS, asking
 * for client certificates from a device CA made for the test (as the maker's
 * `device_ca_file`), around the shared cloud fixture (a fresh store; no
 * outbox worker, so accepted reports stay pending for the test to read).
 * Devices present certificates with wss_httpc, from memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud_fixture.h"
#include "common/file.h"
#include "common/httpc.h"
#include "common/httpd.h"
#include "common/x509.h"

#define SERIAL "G0A1B2C3D4"
#define PEM_MAX (1 << 16)
#define INTAKE_PATH "/v1/devices/association-report"

typedef struct world {
    cloud_fx *fx;
    char tls_dir[1200];
    char ca_file[1300]; /* the server's CA, which the devices trust */
    char *server_pem, *server_key_pem;
    wss_crypto_key *dev_ca_key, *dev_key;
    char *dev_ca_pem; /* the maker's device CA */
    char *dev_pem;    /* the device's certificate, CN acme-plug-0001, serialNumber SERIAL */
    char *dev_key_pem;
    wss_http_server *srv;
    char url[128];
} world;

/* A device as it calls the intake: its certificate and key (NULL: none). */
typedef struct device {
    const char *cert_pem;
    const char *key_pem;
} device;

typedef struct answer {
    long status;
    json_t *json;
} answer;

static void serve(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    world *w = ctx;
    if (strcmp(req->path, INTAKE_PATH) == 0)
        cloud_intake_handle(&w->fx->c, req, resp);
    else
        wss_http_reply_json(resp, 404, json_pack("{s:s}", "error", "no such route"));
}

static char *slurp(world *w, const char *name)
{
    char path[1400], *text = NULL;
    snprintf(path, sizeof path, "%s/%s", w->tls_dir, name);
    assert_int_equal(wss_read_file(path, PEM_MAX, &text, NULL), WSS_OK);
    return text;
}

static int setup(void **state)
{
    static const char *const hosts[] = {"localhost", "127.0.0.1", NULL};
    world *w = calloc(1, sizeof *w);
    char err[256];
    if (!w)
        return -1;
    w->fx = cloud_fx_new(NULL);
    snprintf(w->tls_dir, sizeof w->tls_dir, "%s/tls", w->fx->root);
    snprintf(w->ca_file, sizeof w->ca_file, "%s/ca.pem", w->tls_dir);
    if (wss_tls_ensure(w->tls_dir, hosts, err, sizeof err) != WSS_OK) {
        print_error("server certificate: %s\n", err);
        return -1;
    }
    w->server_pem = slurp(w, "server.pem");
    w->server_key_pem = slurp(w, "server-key.pem");
    if (wss_x509_make_ca("Acme device CA", 30, &w->dev_ca_key, &w->dev_ca_pem, err, sizeof err) != WSS_OK ||
        wss_key_generate(&w->dev_key) != WSS_OK ||
        wss_x509_issue_client(w->dev_ca_key, w->dev_ca_pem, w->dev_key, "acme-plug-0001", SERIAL, 7, &w->dev_pem, err,
                              sizeof err) != WSS_OK ||
        !(w->dev_key_pem = wss_key_private_pem(w->dev_key))) {
        print_error("device certificates: %s\n", err);
        return -1;
    }
    wss_http_options ho = {.host = "127.0.0.1",
                           .port = 0,
                           .tls_cert_pem = w->server_pem,
                           .tls_key_pem = w->server_key_pem,
                           .client_ca_pem = w->dev_ca_pem};
    if (wss_http_start(&ho, serve, w, &w->srv, err, sizeof err) != WSS_OK) {
        print_error("server: %s\n", err);
        return -1;
    }
    snprintf(w->url, sizeof w->url, "https://localhost:%d" INTAKE_PATH, wss_http_port(w->srv));
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    wss_http_stop(w->srv);
    cloud_fx_free(w->fx);
    free(w->server_pem);
    if (w->server_key_pem) {
        memset(w->server_key_pem, 0, strlen(w->server_key_pem));
        free(w->server_key_pem);
    }
    free(w->dev_ca_pem);
    free(w->dev_pem);
    free(w->dev_key_pem);
    wss_key_free(w->dev_ca_key);
    wss_key_free(w->dev_key);
    free(w);
    return 0;
}

/* ------------------------------------------------------------ the device's side */

static device the_device(world *w) { return (device){.cert_pem = w->dev_pem, .key_pem = w->dev_key_pem}; }

/* A fresh FFS.SessionToken, as the Device Setup Service issues them. */
static void new_session_token(char out[80])
{
    char uuid[37];
    assert_int_equal(wss_uuid4(uuid), WSS_OK);
    snprintf(out, 80, "amzn1.ffs.wss-wifi-session-token.%s", uuid);
}

/* The session token signed with key (malloc'd base64). */
static char *sign(const wss_crypto_key *key, const char *token)
{
    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(key, token, strlen(token), &sig), WSS_OK);
    return sig;
}

/* The device id the intake makes: the serial joined with the session token, '.' as '-'. */
static void expected_device_id(const char *token, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s:%s", SERIAL, token);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '-';
}

/* A report body; categories and gateway are stolen (gateway NULL: none). */
static char *report_body(const char *token, const char *sig, json_t *categories, json_t *gateway)
{
    json_t *doc = json_pack("{s:{s:s, s:s, s:o}}", "device", "sessionToken", token, "signature", sig,
                            "namingCategories", categories);
    assert_non_null(doc);
    if (gateway)
        json_object_set_new(doc, "eventGatewayEndpoint", gateway);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_non_null(text);
    return text;
}

static void post_raw(world *w, const device *d, const char *method, const char *content_type, const char *body,
                     size_t len, answer *out)
{
    wss_httpc_request req = {.method = method,
                             .url = w->url,
                             .body = body,
                             .body_len = len,
                             .content_type = content_type,
                             .ca_file = w->ca_file,
                             .client_cert_pem = d->cert_pem,
                             .client_key_pem = d->key_pem,
                             .timeout_ms = 15000};
    wss_httpc_response r;
    char err[512] = "";
    if (wss_httpc_perform(&req, &r, err, sizeof err) != WSS_OK)
        fail_msg("no answer from the intake: %s", err);
    out->status = r.status;
    out->json = json_loadb(r.body, r.body_len, 0, NULL);
    /* Every answer is JSON: {"error": ...} when refused. */
    if (!out->json)
        fail_msg("the intake answered %ld with no JSON: %s", r.status, r.body);
    if (out->status != 202)
        assert_non_null(cloud_fx_jstr(out->json, "error"));
    wss_httpc_response_free(&r);
}

static long post(world *w, const device *d, const char *body, answer *out)
{
    post_raw(w, d, "POST", "application/json", body, strlen(body), out);
    return out->status;
}

/* Posts a report and gives the status only. */
static long post_status(world *w, const device *d, char *body)
{
    answer a;
    long status = post(w, d, body, &a);
    if (status >= 400)
        print_message("refused %ld: %s\n", status, cloud_fx_jstr(a.json, "error"));
    json_decref(a.json);
    free(body);
    return status;
}

/* A report by the_device of a fresh session with these categories and gateway (stolen). */
static long report_with(world *w, json_t *categories, json_t *gateway, answer *out)
{
    char token[80];
    new_session_token(token);
    char *sig = sign(w->dev_key, token);
    char *body = report_body(token, sig, categories, gateway);
    device d = the_device(w);
    long status = post(w, &d, body, out);
    free(body);
    free(sig);
    return status;
}

static size_t pending_events(world *w) { return cloud_fx_outbox_count(w->fx, "pending"); }

/* ------------------------------------------------------------ accepted */

static void valid_report_is_queued_as_sdae(void **state)
{
    world *w = *state;
    char token[80], device_id[300];
    new_session_token(token);
    expected_device_id(token, device_id, sizeof device_id);
    char *sig = sign(w->dev_key, token);
    char *body = report_body(token, sig, json_pack("[s]", "SWITCH"), NULL);
    device d = the_device(w);
    answer a;
    assert_int_equal(post(w, &d, body, &a), 202);
    assert_string_equal(cloud_fx_jstr(a.json, "device_id"), device_id);
    const char *mid = cloud_fx_jstr(a.json, "message_id");
    assert_non_null(mid);
    assert_true(strlen(mid) == 36);

    /* One pending SDAE to the configured gateway, under the answer's messageId. */
    assert_int_equal(pending_events(w), 1);
    json_t *ev = cloud_fx_outbox_event(w->fx, mid);
    assert_non_null(ev);
    assert_string_equal(cloud_fx_jstr(ev, "kind"), "sdae");
    assert_string_equal(cloud_fx_jstr(ev, "state"), "pending");
    assert_string_equal(cloud_fx_jstr(ev, "gateway_url"), w->fx->c.cfg.gateway_url);
    json_decref(ev);

    /* Its body: the seed's event with the device id made here, and no token. */
    cloud_store *st = w->fx->c.store;
    cloud_outbox_item item;
    int n = 0;
    assert_int_equal(st->ops->outbox_claim(st, cloud_now_ms(), 60000, 1, &item, &n), WSS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(item.message_id, mid);
    assert_null(item.user_id);
    json_t *sdae = json_loads(item.body, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(sdae);
    assert_string_equal(cloud_fx_jstr(sdae, "event.header.namespace"), "Alexa.SimpleSetup");
    assert_string_equal(cloud_fx_jstr(sdae, "event.header.name"), "AddOrUpdateDeviceAssociationReport");
    assert_string_equal(cloud_fx_jstr(sdae, "event.header.payloadVersion"), "3");
    assert_string_equal(cloud_fx_jstr(sdae, "event.header.messageId"), mid);
    assert_string_equal(cloud_fx_jstr(sdae, "event.payload.device.id"), device_id);
    assert_string_equal(cloud_fx_jstr(sdae, "event.payload.device.sessionToken"), token);
    assert_string_equal(cloud_fx_jstr(sdae, "event.payload.device.signature"), sig);
    assert_int_equal(json_array_size(cloud_fx_jget(sdae, "event.payload.device.namingCategories")), 1);
    assert_string_equal(cloud_fx_jstr(sdae, "event.payload.device.namingCategories.0"), "SWITCH");
    assert_null(cloud_fx_jget(sdae, "event.payload.scope"));
    assert_null(strstr(item.body, "Bearer"));
    json_decref(sdae);
    cloud_outbox_item_free(&item);

    /* The report names the device by its certificate's serial number. */
    json_t *report = NULL;
    assert_int_equal(st->ops->report_get(st, device_id, &report), WSS_OK);
    assert_string_equal(cloud_fx_jstr(report, "global_device_id"), SERIAL);
    json_decref(report);
    assert_int_equal(cloud_fx_metric(w->fx, "wss_cloud_reports_accepted_total"), 1);

    json_decref(a.json);
    free(body);
    free(sig);
}

/* The same session again is refused; another session of the device is not. */
static void same_session_twice_conflict(void **state)
{
    world *w = *state;
    char token[80];
    new_session_token(token);
    char *sig = sign(w->dev_key, token);
    device d = the_device(w);
    assert_int_equal(post_status(w, &d, report_body(token, sig, json_pack("[s]", "LIGHT"), NULL)), 202);
    assert_int_equal(post_status(w, &d, report_body(token, sig, json_pack("[s]", "LIGHT"), NULL)), 409);
    assert_int_equal(pending_events(w), 1);
    answer a;
    assert_int_equal(report_with(w, json_pack("[s]", "LIGHT"), NULL, &a), 202);
    json_decref(a.json);
    assert_int_equal(pending_events(w), 2);
    assert_int_equal(cloud_fx_metric(w->fx, "wss_cloud_reports_accepted_total"), 2);
    free(sig);
}

/* ------------------------------------------------------------ who the device is */

static void no_client_certificate_unauthorized(void **state)
{
    world *w = *state;
    char token[80];
    new_session_token(token);
    char *sig = sign(w->dev_key, token);
    device none = {0};
    assert_int_equal(post_status(w, &none, report_body(token, sig, json_pack("[s]", "SWITCH"), NULL)), 401);
    assert_int_equal(pending_events(w), 0);
    free(sig);
}

/* A certificate with the same names and key, from a CA that is not the maker's. */
static void certificate_of_another_ca_unauthorized(void **state)
{
    world *w = *state;
    wss_crypto_key *other_key = NULL;
    char *other_ca = NULL, *rogue = NULL, err[256], token[80];
    assert_int_equal(wss_x509_make_ca("Acme device CA", 30, &other_key, &other_ca, err, sizeof err), WSS_OK);
    assert_int_equal(
        wss_x509_issue_client(other_key, other_ca, w->dev_key, "acme-plug-0001", SERIAL, 7, &rogue, err, sizeof err),
        WSS_OK);
    new_session_token(token);
    char *sig = sign(w->dev_key, token);
    device d = {.cert_pem = rogue, .key_pem = w->dev_key_pem};
    assert_int_equal(post_status(w, &d, report_body(token, sig, json_pack("[s]", "SWITCH"), NULL)), 401);
    assert_int_equal(pending_events(w), 0);
    /* The right certificate is still welcome. */
    d = the_device(w);
    assert_int_equal(post_status(w, &d, report_body(token, sig, json_pack("[s]", "SWITCH"), NULL)), 202);
    free(sig);
    free(rogue);
    free(other_ca);
    wss_key_free(other_key);
}

/* A well-formed signature by a key that is not the certificate's. */
static void signature_by_another_key_bad_request(void **state)
{
    world *w = *state;
    wss_crypto_key *other = NULL;
    char token[80];
    assert_int_equal(wss_key_generate(&other), WSS_OK);
    new_session_token(token);
    char *sig = sign(other, token);
    device d = the_device(w);
    answer a;
    char *body = report_body(token, sig, json_pack("[s]", "SWITCH"), NULL);
    assert_int_equal(post(w, &d, body, &a), 400);
    assert_non_null(strstr(cloud_fx_jstr(a.json, "error"), "signature"));
    json_decref(a.json);
    free(body);
    /* A signature over other bytes, and one that is not base64, fare no better. */
    free(sig);
    sig = sign(w->dev_key, "not the session token");
    assert_int_equal(post_status(w, &d, report_body(token, sig, json_pack("[s]", "SWITCH"), NULL)), 400);
    assert_int_equal(post_status(w, &d, report_body(token, "not base64!", json_pack("[s]", "SWITCH"), NULL)), 400);
    assert_int_equal(pending_events(w), 0);
    free(sig);
    wss_key_free(other);
}

/* ------------------------------------------------------------ what the device says */

static void bad_categories_bad_request(void **state)
{
    world *w = *state;
    json_t *bad[] = {json_array(),
                     json_pack("[s]", "NOT_A_CATEGORY"),
                     json_pack("[s, s]", "SWITCH", "switch"),
                     json_pack("[i]", 1),
                     json_string("SWITCH"),
                     json_null(),
                     json_pack("[s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s]", "SWITCH", "SWITCH", "SWITCH",
                               "SWITCH", "SWITCH", "SWITCH", "SWITCH", "SWITCH", "SWITCH", "SWITCH", "SWITCH", "SWITCH",
                               "SWITCH", "SWITCH", "SWITCH", "SWITCH", "SWITCH")};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        answer a;
        assert_int_equal(report_with(w, bad[i], NULL, &a), 400);
        assert_non_null(strstr(cloud_fx_jstr(a.json, "error"), "namingCategories"));
        json_decref(a.json);
    }
    assert_int_equal(pending_events(w), 0);
    /* Several known categories are fine. */
    answer a;
    assert_int_equal(report_with(w, json_pack("[s, s]", "SMARTPLUG", "SWITCH"), NULL, &a), 202);
    json_decref(a.json);
}

/* eventGatewayEndpoint naming a regional gateway (a host or a URL) is where the SDAE goes. */
static void regional_gateway_endpoint_honoured(void **state)
{
    world *w = *state;
    static const struct {
        const char *reported;
        const char *gateway;
    } cases[] = {
        {"api.eu.amazonalexa.com", "https://api.eu.amazonalexa.com/v3/events"},
        {"https://api.fe.amazonalexa.com/v3/events", "https://api.fe.amazonalexa.com/v3/events"},
        {"https://api.eu.amazonalexa.com", "https://api.eu.amazonalexa.com/v3/events"},
        {"HTTPS://API.AMAZONALEXA.COM/", "https://api.amazonalexa.com/v3/events"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        answer a;
        assert_int_equal(report_with(w, json_pack("[s]", "SWITCH"), json_string(cases[i].reported), &a), 202);
        json_t *ev = cloud_fx_outbox_event(w->fx, cloud_fx_jstr(a.json, "message_id"));
        assert_non_null(ev);
        assert_string_equal(cloud_fx_jstr(ev, "gateway_url"), cases[i].gateway);
        json_decref(ev);
        json_decref(a.json);
    }
    /* The configured gateway itself is taken too. */
    answer a;
    assert_int_equal(report_with(w, json_pack("[s]", "SWITCH"), json_string(w->fx->c.cfg.gateway_url), &a), 202);
    json_t *ev = cloud_fx_outbox_event(w->fx, cloud_fx_jstr(a.json, "message_id"));
    assert_string_equal(cloud_fx_jstr(ev, "gateway_url"), w->fx->c.cfg.gateway_url);
    json_decref(ev);
    json_decref(a.json);
}

/* Any other endpoint is refused: the cloud's token must never go there. */
static void arbitrary_gateway_endpoint_bad_request(void **state)
{
    world *w = *state;
    static const char *const bad[] = {
        "https://evil.example/v3/events",
        "http://api.amazonalexa.com/v3/events",
        "api.amazonalexa.com.evil.example",
        "https://api.amazonalexa.com@evil.example/v3/events",
        "https://api.amazonalexa.com/v3/events/../../steal",
        "https:///v3/events",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        answer a;
        long status = report_with(w, json_pack("[s]", "SWITCH"), json_string(bad[i]), &a);
        if (status != 400)
            print_error("\"%s\" answered %ld\n", bad[i], status);
        assert_int_equal(status, 400);
        json_decref(a.json);
    }
    answer a;
    assert_int_equal(report_with(w, json_pack("[s]", "SWITCH"), json_integer(443), &a), 400);
    json_decref(a.json);
    assert_int_equal(pending_events(w), 0);
}

static void not_json_bad_request(void **state)
{
    world *w = *state;
    device d = the_device(w);
    static const char *const bad[] = {"not json", "[]", "{\"device\": ", "{\"device\": \"SWITCH\"}",
                                      "{\"device\": {\"sessionToken\": 1, \"signature\": \"x\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        answer a;
        assert_int_equal(post(w, &d, bad[i], &a), 400);
        json_decref(a.json);
    }
    /* A body that is not declared JSON, and a method other than POST. */
    answer a;
    char token[80];
    new_session_token(token);
    char *sig = sign(w->dev_key, token);
    char *body = report_body(token, sig, json_pack("[s]", "SWITCH"), NULL);
    post_raw(w, &d, "POST", "text/plain", body, strlen(body), &a);
    assert_int_equal(a.status, 415);
    json_decref(a.json);
    post_raw(w, &d, "POST", "application/jsonp", body, strlen(body), &a);
    assert_int_equal(a.status, 415);
    json_decref(a.json);
    post_raw(w, &d, "PUT", "application/json", body, strlen(body), &a);
    assert_int_equal(a.status, 405);
    json_decref(a.json);
    assert_int_equal(pending_events(w), 0);
    /* The same body, declared JSON with a charset, is taken. */
    post_raw(w, &d, "POST", "application/json; charset=utf-8", body, strlen(body), &a);
    assert_int_equal(a.status, 202);
    json_decref(a.json);
    free(body);
    free(sig);
}

static void oversized_report_too_large(void **state)
{
    world *w = *state;
    char token[80];
    new_session_token(token);
    char *sig = sign(w->dev_key, token);
    /* A valid report, padded past 16 KiB with a field the intake ignores. */
    json_t *doc = json_pack("{s:{s:s, s:s, s:[s]}}", "device", "sessionToken", token, "signature", sig,
                            "namingCategories", "SWITCH");
    size_t pad = 17 * 1024;
    char *filler = malloc(pad + 1);
    assert_non_null(filler);
    memset(filler, 'x', pad);
    filler[pad] = 0;
    json_object_set_new(doc, "padding", json_string(filler));
    char *body = json_dumps(doc, JSON_COMPACT);
    device d = the_device(w);
    answer a;
    assert_int_equal(post(w, &d, body, &a), 413);
    json_decref(a.json);
    assert_int_equal(pending_events(w), 0);
    free(body);
    /* Without the padding it is accepted. */
    json_object_del(doc, "padding");
    body = json_dumps(doc, JSON_COMPACT);
    assert_int_equal(post(w, &d, body, &a), 202);
    json_decref(a.json);
    free(body);
    free(filler);
    json_decref(doc);
    free(sig);
}

int main(void)
{
    wss_httpc_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(valid_report_is_queued_as_sdae, setup, teardown),
        cmocka_unit_test_setup_teardown(same_session_twice_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(no_client_certificate_unauthorized, setup, teardown),
        cmocka_unit_test_setup_teardown(certificate_of_another_ca_unauthorized, setup, teardown),
        cmocka_unit_test_setup_teardown(signature_by_another_key_bad_request, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_categories_bad_request, setup, teardown),
        cmocka_unit_test_setup_teardown(regional_gateway_endpoint_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(arbitrary_gateway_endpoint_bad_request, setup, teardown),
        cmocka_unit_test_setup_teardown(not_json_bad_request, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_report_too_large, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
