/* test_sim_dss.c - the emulator's Device Setup Service played by a device
 * made of libcurl and OpenSSL: the state table, the refusals, mutual TLS,
 * nonces, expiry, credentials only for posted networks, the session token in
 * an SDAE, TLS details recorded, injected faults and hostile bodies. Every
 * answer's signature is checked with the DSS key of credentials.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/x509.h"
#include "harness.h"

#define PROVISIONER "echo-kitchen"
#define DSN "DSS-DEVICE-0001"
#define PRODUCT "Ab12"

typedef struct dss_t {
    e2e_world *w;
    e2e_dss_ca ca;
    e2e_dss_device dev;
    e2e_dss_opts via;  /* through the provisioner's proxy */
    e2e_dss_opts home; /* over the home network */
    char session[160];
    long long seq;
} dss_t;

static int dss_setup(void **state)
{
    dss_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    void *ws = NULL;
    e2e_world_setup(&ws);
    t->w = ws;
    e2e_dss_ca_init(&t->w->sim, &t->ca, "maker-device-ca");
    e2e_config_dss_ca(t->w->config, &t->ca);
    e2e_dss_device_make(&t->dev, &t->ca, DSN, PRODUCT);
    t->via = (e2e_dss_opts){.cert_pem = t->dev.cert_pem, .key_pem = t->dev.key_pem, .provisioner = PROVISIONER};
    t->home = (e2e_dss_opts){.cert_pem = t->dev.cert_pem, .key_pem = t->dev.key_pem};
    *state = t;
    return 0;
}

static int dss_teardown(void **state)
{
    dss_t *t = *state;
    void *ws = t->w;
    int rc = e2e_world_teardown(&ws);
    e2e_dss_device_free(&t->dev);
    e2e_dss_ca_free(&t->ca);
    free(t);
    return rc;
}

static void wifi(e2e_sim *s, const char *ssid, const char *security, const char *key, int priority)
{
    char path[200];
    snprintf(path, sizeof path, "/customers/%s/wifi", E2E_CUSTOMER_ID);
    json_t *body = json_pack("{s:s, s:s, s:i}", "ssid", ssid, "security_protocol", security, "priority", priority);
    if (key)
        json_object_set_new(body, "key", json_string(key));
    json_decref(e2e_control(s, "POST", path, body, 201));
}

/* Starts the emulator with the customer's locker (Home, Cabin, Cafe), the
 * provisioner in the customer's home, the device registered and, when
 * purchased, bought by the customer. */
static void dss_begin(dss_t *t, int purchased)
{
    e2e_world_start(t->w);
    e2e_sim *s = &t->w->sim;
    wifi(s, "Home", "WPA_PSK", "correct horse", 10);
    wifi(s, "Cabin", "WPA_PSK", "battery staple", 5);
    wifi(s, "Cafe", "OPEN", NULL, 1);
    json_decref(e2e_control(s, "POST", "/provisioners",
                            json_pack("{s:s, s:s, s:b, s:s}", "provisioner_id", PROVISIONER, "customer_id",
                                      E2E_CUSTOMER_ID, "online", 1, "band", "dual"),
                            201));
    e2e_dss_import(s, &t->dev);
    if (purchased)
        json_decref(e2e_control(s, "POST", "/purchases",
                                json_pack("{s:s, s:s}", "dsn", DSN, "customer_id", E2E_CUSTOMER_ID), 201));
}

/* Posts req (stolen) as op; asserts the status and a verifying signature; returns the answer. */
static json_t *dss_call(dss_t *t, const e2e_dss_opts *o, const char *op, json_t *req, long expect)
{
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    assert_non_null(text);
    e2e_dss_resp r;
    e2e_dss_post(&t->w->sim, o, op, text, strlen(text), &r);
    if (r.status != expect) {
        e2e_sim_print_log(&t->w->sim);
        fprintf(stderr, "%s %s: status %ld (%s), expected %ld: %.*s\n", op, text, r.status, r.err, expect, (int)r.len,
                r.body ? r.body : "");
        fail_msg("%s: unexpected status %ld", op, r.status);
    }
    free(text);
    assert_int_equal(r.nsignatures, 1);
    if (e2e_dss_verify(&t->w->sim, &r) != WSS_OK)
        fail_msg("%s: the answer's signature does not verify", op);
    json_t *out = json_incref(r.json);
    assert_non_null(out);
    e2e_dss_resp_free(&r);
    return out;
}

static void expect_error(dss_t *t, const e2e_dss_opts *o, const char *op, json_t *req, long status, const char *code)
{
    json_t *a = dss_call(t, o, op, req, status);
    e2e_assert_jstr(a, "error.code", code);
    assert_non_null(e2e_jstr(a, "error.message"));
    json_decref(a);
}

/* {nonce, sessionId, deviceDetails} of the current session, plus sequenceNumber when seq. */
static json_t *req(dss_t *t, int seq)
{
    char nonce[32];
    e2e_dss_nonce(nonce);
    json_t *r =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "nonce", nonce, "sessionId", t->session, "deviceDetails",
                  "manufacturer", "openwss", "deviceModel", "plug", "deviceSerial", DSN, "productIndex", PRODUCT);
    if (seq)
        json_object_set_new(r, "sequenceNumber", json_integer(++t->seq));
    return r;
}

static json_t *start(dss_t *t, const e2e_dss_opts *o)
{
    char nonce[32];
    e2e_dss_nonce(nonce);
    json_t *a = dss_call(t, o, "startProvisioningSession", json_pack("{s:s}", "nonce", nonce), 200);
    e2e_assert_jstr(a, "nonce", nonce);
    const char *id = e2e_jstr(a, "sessionId");
    assert_non_null(id);
    assert_int_equal(strncmp(id, "amzn1.dss.session.", 18), 0);
    snprintf(t->session, sizeof t->session, "%s", id);
    t->seq = 0;
    return a;
}

static json_t *report_req(dss_t *t, const char *state, const char *result)
{
    json_t *r = req(t, 1);
    json_object_set_new(r, "currentProvisioningState", json_string(state));
    json_object_set_new(r, "registrationState", json_string("NOT_REGISTERED"));
    json_object_set_new(r, "stateTransitionResult", json_string(result));
    return r;
}

/* Reports state/result; asserts 200, the echoed nonce and the next state; returns the answer. */
static json_t *report(dss_t *t, const e2e_dss_opts *o, const char *state, const char *result, const char *next)
{
    json_t *r = report_req(t, state, result);
    char nonce[32];
    snprintf(nonce, sizeof nonce, "%s", json_string_value(json_object_get(r, "nonce")));
    json_t *a = dss_call(t, o, "report", r, 200);
    e2e_assert_jstr(a, "nonce", nonce);
    e2e_assert_jstr(a, "nextProvisioningState", next);
    assert_int_equal(e2e_jint(a, "waitTime", -1), 0);
    assert_true(json_is_boolean(json_object_get(a, "canProceed")));
    return a;
}

static json_t *scan_entry(const char *ssid, const char *security, int rssi, int frequency)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:i}", "ssid", ssid, "bssid", "AA:BB:CC:00:11:22", "securityProtocol",
                     security, "rssi", rssi, "frequency", frequency);
}

static json_t *post_scan(dss_t *t, json_t *list, long expect)
{
    json_t *r = req(t, 1);
    json_object_set_new(r, "wifiScanDataList", list);
    return dss_call(t, &t->via, "postWifiScanData", r, expect);
}

/* Walks a purchased device from start to GET_WIFI_LIST, posting Home and Neighbour. */
static void walk_to_wifi_list(dss_t *t)
{
    json_decref(start(t, &t->via));
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
    json_decref(dss_call(t, &t->via, "computeConfigurationData", req(t, 0), 200));
    json_decref(report(t, &t->via, "COMPUTE_CONFIGURATION", "SUCCESS", "POST_WIFI_SCAN_DATA"));
    json_decref(post_scan(
        t, json_pack("[o, o]", scan_entry("Home", "WPA_PSK", -40, 2437), scan_entry("Neighbour", "WPA_PSK", -70, 2412)),
        200));
    json_decref(report(t, &t->via, "POST_WIFI_SCAN_DATA", "SUCCESS", "GET_WIFI_LIST"));
}

static json_t *session_detail(dss_t *t)
{
    char path[300];
    snprintf(path, sizeof path, "/dss/sessions/%s", t->session);
    return e2e_control(&t->w->sim, "GET", path, NULL, 200);
}

/* --- the state table --- */

static void dss_happy_path_and_session_token(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    e2e_sim *s = &t->w->sim;

    json_t *a = start(t, &t->via);
    assert_true(json_is_true(json_object_get(a, "canProceed")));
    e2e_assert_jstr(a, "reason", "");
    assert_true(strlen(e2e_jstr(a, "salt")) > 0);
    json_decref(a);
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));

    a = dss_call(t, &t->via, "computeConfigurationData", req(t, 0), 200);
    json_t *config = json_object_get(a, "configuration");
    const char *token = json_string_value(json_object_get(config, "FFS.SessionToken"));
    assert_non_null(token);
    assert_int_equal(strncmp(token, "amzn1.ffs.wss-wifi-session-token.", 33), 0);
    char session_token[160];
    snprintf(session_token, sizeof session_token, "%s", token);
    char gateway[400];
    snprintf(gateway, sizeof gateway, "%s/v3/events", s->base_url);
    assert_string_equal(json_string_value(json_object_get(config, "SmartHome.AlexaEventGatewayEndpoint")), gateway);
    assert_string_equal(json_string_value(json_object_get(config, "LocaleConfiguration.CountryCode")), "US");
    assert_string_equal(json_string_value(json_object_get(config, "LocaleConfiguration.Realm")), "USAmazon");
    assert_string_equal(json_string_value(json_object_get(config, "LocaleConfiguration.Marketplace")), "ATVPDKIKX0DER");
    assert_string_equal(json_string_value(json_object_get(config, "LocaleConfiguration.LanguageLocale")), "en-US");
    assert_non_null(json_string_value(json_object_get(config, "Time.UTC")));
    assert_non_null(e2e_jstr(a, "registrationDetails.registrationToken"));
    assert_non_null(e2e_jstr(a, "registrationDetails.expiresAt"));
    json_decref(a);
    json_decref(report(t, &t->via, "COMPUTE_CONFIGURATION", "SUCCESS", "POST_WIFI_SCAN_DATA"));

    /* Home matches; Cabin is posted as OPEN (the locker says WPA_PSK): no match; Neighbour is not in the locker. */
    a = post_scan(t,
                  json_pack("[o, o, o]", scan_entry("Home", "WPA_PSK", -40, 2437),
                            scan_entry("Cabin", "OPEN", -60, 2462), scan_entry("Neighbour", "WPA_PSK", -70, 2412)),
                  200);
    assert_int_equal(e2e_jint(a, "totalCredentialsFound", -1), 1);
    assert_true(json_is_false(json_object_get(a, "allCredentialsFound")));
    assert_int_equal(e2e_jint(a, "sequenceNumber", -1), t->seq);
    e2e_assert_jstr(a, "sessionId", t->session);
    json_decref(a);
    a = post_scan(t, json_pack("[o]", scan_entry("Cabin", "WPA_PSK", -55, 5180)), 200);
    assert_int_equal(e2e_jint(a, "totalCredentialsFound", -1), 2);
    assert_true(json_is_false(json_object_get(a, "allCredentialsFound"))); /* Cafe was not seen */
    json_decref(a);
    json_decref(report(t, &t->via, "POST_WIFI_SCAN_DATA", "SUCCESS", "GET_WIFI_LIST"));

    a = dss_call(t, &t->via, "getWifiCredentials", req(t, 1), 200);
    json_t *list = json_object_get(a, "wifiCredentialsList");
    assert_int_equal(json_array_size(list), 2);
    e2e_assert_jstr(a, "wifiCredentialsList.0.ssid", "Home");
    e2e_assert_jstr(a, "wifiCredentialsList.0.key", "correct horse");
    e2e_assert_jstr(a, "wifiCredentialsList.0.securityProtocol", "WPA_PSK");
    assert_int_equal(e2e_jint(a, "wifiCredentialsList.0.priority", 0), 1);
    assert_int_equal(e2e_jint(a, "wifiCredentialsList.0.frequency", 0), 2437);
    e2e_assert_jstr(a, "wifiCredentialsList.1.ssid", "Cabin");
    assert_int_equal(e2e_jint(a, "wifiCredentialsList.1.priority", 0), 2);
    assert_int_equal(e2e_jint(a, "wifiCredentialsList.1.frequency", 0), 5180);
    assert_true(json_is_true(json_object_get(a, "allCredentialsReturned")));
    json_decref(a);
    json_decref(report(t, &t->via, "GET_WIFI_LIST", "SUCCESS", "CONNECTING_TO_USER_NETWORK"));

    json_t *r = report_req(t, "CONNECTING_TO_USER_NETWORK", "SUCCESS");
    json_object_set_new(r, "wifiNetworkInfoList",
                        json_pack("[{s:s, s:s, s:s}]", "ssid", "Home", "securityProtocol", "WPA_PSK",
                                  "wifiConnectionState", "CONNECTED"));
    a = dss_call(t, &t->via, "report", r, 200);
    e2e_assert_jstr(a, "nextProvisioningState", "CONNECTED_TO_USER_NETWORK");
    json_decref(a);
    a = report(t, &t->home, "CONNECTED_TO_USER_NETWORK", "SUCCESS", "DONE");
    assert_true(json_is_true(json_object_get(a, "canProceed")));
    json_decref(a);
    /* The session is closed. */
    expect_error(t, &t->home, "report", report_req(t, "DONE", "SUCCESS"), 409, "INVALID_STATE");

    /* What the emulator recorded. */
    json_t *d = session_detail(t);
    e2e_assert_jstr(d, "state", "DONE");
    e2e_assert_jstr(d, "result", "SUCCESS");
    e2e_assert_jstr(d, "dsn", DSN);
    e2e_assert_jstr(d, "customer_id", E2E_CUSTOMER_ID);
    e2e_assert_jstr(d, "provisioner_id", PROVISIONER);
    e2e_assert_jstr(d, "session_token", session_token);
    json_t *calls = json_object_get(d, "calls");
    assert_int_equal(json_array_size(calls), 12);
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        assert_true(strncmp(e2e_jstr(c, "tls_version"), "TLS1.", 5) == 0);
        assert_true(strlen(e2e_jstr(c, "cipher")) > 0);
        e2e_assert_jstr(c, "sni", E2E_DSS_HOST);
        e2e_assert_jstr(c, "client_serial", DSN);
        e2e_assert_jstr(c, "client_subject", "openwss e2e device");
        assert_int_equal(e2e_jint(c, "client_cert_verified", 0), 1);
        /* The last two calls came over the home network. */
        assert_int_equal(e2e_jint(c, "via_provisioner", -1), i < 10 ? 1 : 0);
    }
    e2e_assert_jstr(d, "calls.0.operation", "startProvisioningSession");
    assert_int_equal(e2e_jint(d, "calls.11.http_status", 0), 409);
    e2e_assert_jstr(d, "calls.11.error_code", "INVALID_STATE");
    assert_int_equal(json_array_size(json_object_get(d, "scans")), 4);
    assert_int_equal(json_array_size(json_object_get(d, "credentials")), 2);
    e2e_assert_jstr(d, "credentials.0.ssid", "Home");
    assert_null(e2e_jget(d, "credentials.0.key")); /* keys are never read out */
    assert_int_equal(json_array_size(json_object_get(d, "refusals")), 0);
    json_decref(d);

    json_t *list_all = e2e_control(s, "GET", "/dss/sessions?dsn=" DSN, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list_all, "sessions")), 1);
    json_decref(list_all);
    list_all = e2e_control(s, "GET", "/dss/sessions?dsn=NOBODY", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list_all, "sessions")), 0);
    json_decref(list_all);

    /* The session token: accepted once in an SDAE signed by this device. */
    char *client_token = e2e_client_token(s);
    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(t->dev.key, session_token, strlen(session_token), &sig), WSS_OK);
    char id[37], device_id[300];
    snprintf(device_id, sizeof device_id, "%s-%s", DSN, session_token + 33);
    e2e_message_id(id);
    json_t *ev = e2e_sdae(client_token, id, session_token, sig, device_id, "SWITCH");
    e2e_resp rr;
    e2e_post_event(s, client_token, ev, &rr);
    e2e_assert_status(&rr, 202);
    e2e_resp_free(&rr);
    json_decref(ev);
    /* ... and only once. */
    e2e_message_id(id);
    ev = e2e_sdae(client_token, id, session_token, sig, "another-device-id", "SWITCH");
    e2e_post_event(s, client_token, ev, &rr);
    e2e_assert_exception(&rr, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&rr);
    json_decref(ev);
    free(sig);
    free(client_token);
}

static void dss_session_token_is_bound_to_its_device(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    e2e_sim *s = &t->w->sim;
    json_decref(start(t, &t->via));
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
    json_t *a = dss_call(t, &t->via, "computeConfigurationData", req(t, 0), 200);
    char token[160];
    snprintf(token, sizeof token, "%s",
             json_string_value(json_object_get(json_object_get(a, "configuration"), "FFS.SessionToken")));
    json_decref(a);
    /* Calling it again in the same state gives the same token, not a second one. */
    a = dss_call(t, &t->via, "computeConfigurationData", req(t, 0), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "configuration"), "FFS.SessionToken")),
                        token);
    json_decref(a);

    /* Another registered device signs this device's token: refused. */
    e2e_dss_device other;
    e2e_dss_device_make(&other, &t->ca, "DSS-DEVICE-OTHER", PRODUCT);
    e2e_dss_import(s, &other);
    char *client_token = e2e_client_token(s);
    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(other.key, token, strlen(token), &sig), WSS_OK);
    char id[37];
    e2e_message_id(id);
    json_t *ev = e2e_sdae(client_token, id, token, sig, "DSS-DEVICE-OTHER-1", "SWITCH");
    e2e_resp rr;
    e2e_post_event(s, client_token, ev, &rr);
    e2e_assert_exception(&rr, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&rr);
    json_decref(ev);
    free(sig);
    /* A token the DSS never issued. */
    assert_int_equal(wss_ecdsa_sign_b64(t->dev.key, "amzn1.ffs.wss-wifi-session-token.made-up", 40, &sig), WSS_OK);
    e2e_message_id(id);
    ev = e2e_sdae(client_token, id, "amzn1.ffs.wss-wifi-session-token.made-up", sig, "DSS-DEVICE-1", "SWITCH");
    e2e_post_event(s, client_token, ev, &rr);
    e2e_assert_exception(&rr, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&rr);
    json_decref(ev);
    free(sig);
    /* The right device's signature still works: nothing was used up. */
    assert_int_equal(wss_ecdsa_sign_b64(t->dev.key, token, strlen(token), &sig), WSS_OK);
    e2e_message_id(id);
    ev = e2e_sdae(client_token, id, token, sig, "DSS-DEVICE-0001-A", "SWITCH");
    e2e_post_event(s, client_token, ev, &rr);
    e2e_assert_status(&rr, 202);
    e2e_resp_free(&rr);
    json_decref(ev);
    free(sig);
    free(client_token);
    e2e_dss_device_free(&other);
}

/* --- canProceed = false --- */

static void expect_refused(dss_t *t, const e2e_dss_opts *o, const char *reason)
{
    json_t *a = start(t, o);
    assert_true(json_is_false(json_object_get(a, "canProceed")));
    e2e_assert_jstr(a, "reason", reason);
    json_decref(a);
    /* The session is in FAILURE: nothing more is allowed. */
    expect_error(t, o, "report", report_req(t, "START_PROVISIONING", "SUCCESS"), 409, "INVALID_STATE");
    json_t *d = session_detail(t);
    e2e_assert_jstr(d, "state", "FAILURE");
    e2e_assert_jstr(d, "reason", reason);
    json_decref(d);
}

static void set_provisioner(dss_t *t, json_t *change)
{
    json_decref(e2e_control(&t->w->sim, "PATCH", "/provisioners/" PROVISIONER, change, 200));
}

static void dss_refusal_reasons(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 0);
    e2e_sim *s = &t->w->sim;

    expect_refused(t, &t->home, "NO_PROVISIONER");
    e2e_dss_opts unknown = t->via;
    unknown.provisioner = "echo-nobody-has";
    expect_refused(t, &unknown, "NO_PROVISIONER");
    expect_refused(t, &t->via, "NOT_PURCHASED");

    json_decref(
        e2e_control(s, "POST", "/customers", json_pack("{s:s}", "customer_id", "amzn1.account.NEIGHBOUR"), 201));
    json_decref(e2e_control(s, "POST", "/purchases",
                            json_pack("{s:s, s:s}", "dsn", DSN, "customer_id", "amzn1.account.NEIGHBOUR"), 201));
    expect_refused(t, &t->via, "OTHER_CUSTOMER");
    json_decref(
        e2e_control(s, "POST", "/purchases", json_pack("{s:s, s:s}", "dsn", DSN, "customer_id", E2E_CUSTOMER_ID), 201));

    set_provisioner(t, json_pack("{s:b}", "online", 0));
    expect_refused(t, &t->via, "PROVISIONER_OFFLINE");
    set_provisioner(t, json_pack("{s:b, s:s}", "online", 1, "band", "5"));
    expect_refused(t, &t->via, "PROVISIONER_5GHZ_ONLY");
    set_provisioner(t, json_pack("{s:s}", "band", "2.4"));

    /* Now it may proceed; with no locker entry among the posted networks the scan report fails. */
    json_t *a = start(t, &t->via);
    assert_true(json_is_true(json_object_get(a, "canProceed")));
    json_decref(a);
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
    json_decref(dss_call(t, &t->via, "computeConfigurationData", req(t, 0), 200));
    json_decref(report(t, &t->via, "COMPUTE_CONFIGURATION", "SUCCESS", "POST_WIFI_SCAN_DATA"));
    a = post_scan(t, json_pack("[o]", scan_entry("Neighbour", "WPA_PSK", -50, 2412)), 200);
    assert_int_equal(e2e_jint(a, "totalCredentialsFound", -1), 0);
    json_decref(a);
    a = report(t, &t->via, "POST_WIFI_SCAN_DATA", "SUCCESS", "FAILURE");
    assert_true(json_is_false(json_object_get(a, "canProceed")));
    e2e_assert_jstr(a, "reason", "NO_CREDENTIALS_FOR_VISIBLE_NETWORKS");
    json_decref(a);
    expect_error(t, &t->via, "getWifiCredentials", req(t, 1), 409, "INVALID_STATE");

    /* A FAILURE report ends a session too. */
    json_decref(start(t, &t->via));
    a = report(t, &t->via, "START_PROVISIONING", "FAILURE", "FAILURE");
    assert_true(json_is_false(json_object_get(a, "canProceed")));
    json_decref(a);
    json_t *d = session_detail(t);
    e2e_assert_jstr(d, "result", "FAILURE");
    json_decref(d);
}

/* --- who may call --- */

static void dss_unauthenticated_403(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    e2e_sim *s = &t->w->sim;
    char nonce[32];

    /* No client certificate at all. */
    e2e_dss_opts none = {.provisioner = PROVISIONER};
    e2e_dss_nonce(nonce);
    expect_error(t, &none, "startProvisioningSession", json_pack("{s:s}", "nonce", nonce), 403, "UNAUTHENTICATED");

    /* A certificate from a CA the maker never registered, for the registered key and DSN. */
    e2e_dss_ca rogue;
    e2e_dss_ca_init(s, &rogue, "rogue-ca");
    char *cert = NULL, err[256];
    assert_int_equal(
        wss_x509_issue_client(rogue.key, rogue.cert_pem, t->dev.key, "rogue", DSN, 30, &cert, err, sizeof err), WSS_OK);
    e2e_dss_opts o = {.cert_pem = cert, .key_pem = t->dev.key_pem, .provisioner = PROVISIONER};
    e2e_dss_nonce(nonce);
    expect_error(t, &o, "startProvisioningSession", json_pack("{s:s}", "nonce", nonce), 403, "UNAUTHENTICATED");
    free(cert);
    e2e_dss_ca_free(&rogue);

    /* The right CA, the DSN of a registered device, another key. */
    e2e_dss_device impostor;
    e2e_dss_device_make(&impostor, &t->ca, DSN, PRODUCT);
    o = (e2e_dss_opts){.cert_pem = impostor.cert_pem, .key_pem = impostor.key_pem, .provisioner = PROVISIONER};
    e2e_dss_nonce(nonce);
    expect_error(t, &o, "startProvisioningSession", json_pack("{s:s}", "nonce", nonce), 403, "UNAUTHENTICATED");
    e2e_dss_device_free(&impostor);

    /* The right CA, a DSN the control log does not know. */
    e2e_dss_device stranger;
    e2e_dss_device_make(&stranger, &t->ca, "DSS-NOT-REGISTERED", PRODUCT);
    o = (e2e_dss_opts){.cert_pem = stranger.cert_pem, .key_pem = stranger.key_pem, .provisioner = PROVISIONER};
    e2e_dss_nonce(nonce);
    expect_error(t, &o, "startProvisioningSession", json_pack("{s:s}", "nonce", nonce), 403, "UNAUTHENTICATED");

    /* A later operation without a certificate is refused as well, even with a real session id. */
    json_decref(start(t, &t->via));
    expect_error(t, &none, "report", report_req(t, "START_PROVISIONING", "SUCCESS"), 403, "UNAUTHENTICATED");
    /* Another registered device cannot use this session. */
    e2e_dss_device_free(&stranger);
    e2e_dss_device_make(&stranger, &t->ca, "DSS-DEVICE-0002", PRODUCT);
    e2e_dss_import(s, &stranger);
    o = (e2e_dss_opts){.cert_pem = stranger.cert_pem, .key_pem = stranger.key_pem, .provisioner = PROVISIONER};
    expect_error(t, &o, "report", report_req(t, "START_PROVISIONING", "SUCCESS"), 401, "UNKNOWN_SESSION");
    e2e_dss_device_free(&stranger);
    /* The owner still can. */
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
}

static void dss_out_of_order_409(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    json_decref(start(t, &t->via));
    expect_error(t, &t->via, "computeConfigurationData", req(t, 0), 409, "INVALID_STATE");
    expect_error(t, &t->via, "report", report_req(t, "COMPUTE_CONFIGURATION", "SUCCESS"), 409, "INVALID_STATE");
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
    /* The report of an operation before the operation. */
    expect_error(t, &t->via, "report", report_req(t, "COMPUTE_CONFIGURATION", "SUCCESS"), 409, "INVALID_STATE");
    json_t *scan = req(t, 1);
    json_object_set_new(scan, "wifiScanDataList", json_pack("[o]", scan_entry("Home", "WPA_PSK", -40, 2437)));
    expect_error(t, &t->via, "postWifiScanData", scan, 409, "INVALID_STATE");
    json_decref(dss_call(t, &t->via, "computeConfigurationData", req(t, 0), 200));
    json_decref(report(t, &t->via, "COMPUTE_CONFIGURATION", "SUCCESS", "POST_WIFI_SCAN_DATA"));
    expect_error(t, &t->via, "report", report_req(t, "POST_WIFI_SCAN_DATA", "SUCCESS"), 409, "INVALID_STATE");
    expect_error(t, &t->via, "getWifiCredentials", req(t, 1), 409, "INVALID_STATE");
    json_decref(post_scan(t, json_pack("[o]", scan_entry("Home", "WPA_PSK", -40, 2437)), 200));
    json_decref(report(t, &t->via, "POST_WIFI_SCAN_DATA", "SUCCESS", "GET_WIFI_LIST"));
    expect_error(t, &t->via, "report", report_req(t, "GET_WIFI_LIST", "SUCCESS"), 409, "INVALID_STATE");
    json_decref(dss_call(t, &t->via, "getWifiCredentials", req(t, 1), 200));
    json_decref(report(t, &t->via, "GET_WIFI_LIST", "SUCCESS", "CONNECTING_TO_USER_NETWORK"));
    /* CONNECTING needs the networks' outcome. */
    expect_error(t, &t->via, "report", report_req(t, "CONNECTING_TO_USER_NETWORK", "SUCCESS"), 400, "INVALID_REQUEST");
    json_t *r = report_req(t, "CONNECTING_TO_USER_NETWORK", "SUCCESS");
    json_object_set_new(r, "wifiNetworkInfoList",
                        json_pack("[{s:s, s:s, s:s}]", "ssid", "Home", "securityProtocol", "WPA_PSK",
                                  "wifiConnectionState", "CONNECTED"));
    json_decref(dss_call(t, &t->via, "report", r, 200));
    /* The last report must come over the home network. */
    expect_error(t, &t->via, "report", report_req(t, "CONNECTED_TO_USER_NETWORK", "SUCCESS"), 409, "INVALID_STATE");
    json_decref(report(t, &t->home, "CONNECTED_TO_USER_NETWORK", "SUCCESS", "DONE"));
}

static void dss_nonce_rules_400(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    json_decref(start(t, &t->via));
    json_t *r = report_req(t, "START_PROVISIONING", "SUCCESS");
    json_t *again = json_deep_copy(r);
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
    json_decref(r);
    /* The same nonce twice in one session. */
    r = req(t, 0);
    json_object_set(r, "nonce", json_object_get(again, "nonce"));
    json_decref(dss_call(t, &t->via, "computeConfigurationData", json_deep_copy(r), 200));
    expect_error(t, &t->via, "computeConfigurationData", r, 400, "INVALID_REQUEST");
    json_decref(again);
    /* Malformed nonces. */
    static const char *const bad[] = {"short", "has spaces in it",
                                      ("0123456789012345678901234567890123456789"
                                       "0123456789012345678901234567890")};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = req(t, 0);
        json_object_set_new(r, "nonce", json_string(bad[i]));
        expect_error(t, &t->via, "computeConfigurationData", r, 400, "INVALID_REQUEST");
    }
    expect_error(t, &t->via, "startProvisioningSession", json_pack("{s:i}", "nonce", 12345678), 400, "INVALID_REQUEST");
}

static void dss_session_expiry_401(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    json_decref(start(t, &t->via));
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
    e2e_advance_clock(&t->w->sim, 9 * 60);
    json_decref(dss_call(t, &t->via, "computeConfigurationData", req(t, 0), 200));
    e2e_advance_clock(&t->w->sim, 61);
    expect_error(t, &t->via, "report", report_req(t, "COMPUTE_CONFIGURATION", "SUCCESS"), 401, "SESSION_EXPIRED");
    snprintf(t->session, sizeof t->session, "amzn1.dss.session.00000000-0000-4000-8000-000000000000");
    expect_error(t, &t->via, "report", report_req(t, "COMPUTE_CONFIGURATION", "SUCCESS"), 401, "UNKNOWN_SESSION");
    /* A new session works at the moved time. */
    json_decref(start(t, &t->via));
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
}

/* --- credentials --- */

static void dss_credentials_only_for_posted_networks(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    walk_to_wifi_list(t);
    /* Cafe is in the locker but was not posted: refused and recorded. */
    json_t *r = req(t, 1);
    json_object_set_new(r, "ssid", json_string("Cafe"));
    expect_error(t, &t->via, "getWifiCredentials", r, 403, "NETWORK_NOT_REPORTED");
    /* Neighbour was posted, but the customer has no credentials for it: an empty list. */
    r = req(t, 1);
    json_object_set_new(r, "ssid", json_string("Neighbour"));
    json_t *a = dss_call(t, &t->via, "getWifiCredentials", r, 200);
    assert_int_equal(json_array_size(json_object_get(a, "wifiCredentialsList")), 0);
    json_decref(a);
    /* Asked for all: only Home, never Cabin or Cafe. */
    a = dss_call(t, &t->via, "getWifiCredentials", req(t, 1), 200);
    assert_int_equal(json_array_size(json_object_get(a, "wifiCredentialsList")), 1);
    e2e_assert_jstr(a, "wifiCredentialsList.0.ssid", "Home");
    json_decref(a);
    r = req(t, 1);
    json_object_set_new(r, "ssid", json_string("Home"));
    a = dss_call(t, &t->via, "getWifiCredentials", r, 200);
    e2e_assert_jstr(a, "wifiCredentialsList.0.key", "correct horse");
    json_decref(a);

    json_t *d = session_detail(t);
    assert_int_equal(json_array_size(json_object_get(d, "refusals")), 1);
    e2e_assert_jstr(d, "refusals.0.ssid", "Cafe");
    e2e_assert_jstr(d, "refusals.0.code", "NETWORK_NOT_REPORTED");
    assert_int_equal(json_array_size(json_object_get(d, "credentials")), 2);
    json_decref(d);
}

/* --- faults --- */

static void dss_faults_drop_bad_signature_503(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    e2e_sim *s = &t->w->sim;
    json_decref(start(t, &t->via));

    /* Drop the next report: no answer at all. */
    e2e_add_fault(
        s, json_pack("{s:s, s:s, s:s, s:[i]}", "route", "dss.report", "client", DSN, "action", "drop", "schedule", 1));
    json_t *r = report_req(t, "START_PROVISIONING", "SUCCESS");
    char *text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    e2e_dss_resp resp;
    e2e_dss_post(s, &t->via, "report", text, strlen(text), &resp);
    assert_int_equal(resp.status, 0);
    assert_int_equal(resp.len, 0);
    e2e_dss_resp_free(&resp);
    free(text);
    /* The schedule is spent: the retry (a fresh nonce) goes through; the dropped call changed nothing. */
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));

    /* A signature over other bytes, on every DSS operation. */
    long long rule = e2e_add_fault(s, json_pack("{s:s, s:s}", "route", "dss", "action", "bad_signature"));
    text = json_dumps(r = req(t, 0), JSON_COMPACT);
    json_decref(r);
    e2e_dss_post(s, &t->via, "computeConfigurationData", text, strlen(text), &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.nsignatures, 1);
    assert_int_equal(e2e_dss_verify(s, &resp), WSS_ERR_VERIFY);
    e2e_dss_resp_free(&resp);
    free(text);
    char path[64];
    snprintf(path, sizeof path, "/faults/%lld", rule);
    json_decref(e2e_control(s, "DELETE", path, NULL, 200));

    /* 503 on a whole operation, signed; a rule for another device leaves this one alone. */
    e2e_add_fault(s, json_pack("{s:s, s:s, s:i}", "route", "dss.report", "client", "SOMEONE-ELSE", "status", 500));
    rule = e2e_add_fault(s, json_pack("{s:s, s:i, s:[i, i]}", "route", "dss", "status", 503, "schedule", 503, 0));
    expect_error(t, &t->via, "report", report_req(t, "COMPUTE_CONFIGURATION", "SUCCESS"), 503, "SERVICE_UNAVAILABLE");
    json_decref(report(t, &t->via, "COMPUTE_CONFIGURATION", "SUCCESS", "POST_WIFI_SCAN_DATA"));

    /* Action rules are refused on other routes. */
    json_decref(e2e_control(s, "POST", "/faults", json_pack("{s:s, s:s}", "route", "events", "action", "drop"), 400));
    json_decref(e2e_control(s, "POST", "/faults", json_pack("{s:s, s:s}", "route", "dss.nope", "status", "503"), 400));
    json_t *faults = e2e_control(s, "GET", "/faults", NULL, 200);
    e2e_assert_jstr(faults, "faults.0.action", "drop");
    json_decref(faults);
}

/* --- hostile input --- */

static void post_raw_expect(dss_t *t, const char *op, const char *body, size_t len, long status, const char *code)
{
    e2e_dss_resp r;
    e2e_dss_post(&t->w->sim, &t->via, op, body, len, &r);
    if (r.status != status) {
        e2e_sim_print_log(&t->w->sim);
        fail_msg("%s with a hostile body: %ld (%s), expected %ld: %.*s", op, r.status, r.err, status, (int)r.len,
                 r.body ? r.body : "");
    }
    assert_int_equal(e2e_dss_verify(&t->w->sim, &r), WSS_OK);
    e2e_assert_jstr(r.json, "error.code", code);
    e2e_dss_resp_free(&r);
}

static void dss_hostile_bodies(void **state)
{
    dss_t *t = *state;
    dss_begin(t, 1);
    json_decref(start(t, &t->via));
    json_decref(report(t, &t->via, "START_PROVISIONING", "SUCCESS", "COMPUTE_CONFIGURATION"));
    json_decref(dss_call(t, &t->via, "computeConfigurationData", req(t, 0), 200));
    json_decref(report(t, &t->via, "COMPUTE_CONFIGURATION", "SUCCESS", "POST_WIFI_SCAN_DATA"));

    static const char *const bodies[] = {
        "",
        "not json",
        "[]",
        "{\"nonce\": \"abcdefghij\", \"nonce\": \"abcdefghij\"}",
        "{\"nonce\": \"abcdefghij\", \"extra\": 1}",
        "{\"nonce\": \"abc\\u0000defghij\"}",
        "\"just a string\"",
        "{\"nonce\": null}",
        "{\"nonce\": \"abcdefghij\"",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        post_raw_expect(t, "startProvisioningSession", bodies[i], strlen(bodies[i]), 400, "INVALID_REQUEST");

    /* Deep nesting. */
    size_t depth = 5000;
    char *deep = malloc(depth * 2 + 64);
    assert_non_null(deep);
    strcpy(deep, "{\"nonce\": ");
    size_t n = strlen(deep);
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = 0;
    post_raw_expect(t, "startProvisioningSession", deep, n, 400, "INVALID_REQUEST");
    free(deep);

    /* Over 16 KiB. */
    size_t big = 17 * 1024;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, ' ', big);
    memcpy(huge, "{\"nonce\": \"abcdefghij\"}", 23);
    huge[big] = 0;
    post_raw_expect(t, "startProvisioningSession", huge, big, 413, "TOO_LARGE");
    free(huge);

    /* Scans: too many, an SSID too long, a bad BSSID, an unknown protocol, wrong types. */
    json_t *list = json_array();
    for (int i = 0; i < 65; i++)
        json_array_append_new(list, scan_entry("Net", "WPA_PSK", -50, 2412));
    json_t *r = req(t, 1);
    json_object_set_new(r, "wifiScanDataList", list);
    expect_error(t, &t->via, "postWifiScanData", r, 400, "INVALID_REQUEST");
    json_t *bad_entries[] = {
        scan_entry("012345678901234567890123456789012", "WPA_PSK", -50, 2412),
        scan_entry("", "WPA_PSK", -50, 2412),
        json_pack("{s:s, s:s, s:s, s:i, s:i}", "ssid", "Home", "bssid", "AA:BB:CC:DD:EE", "securityProtocol", "WPA_PSK",
                  "rssi", -50, "frequency", 2412),
        scan_entry("Home", "WPA3", -50, 2412),
        json_pack("{s:s, s:s, s:s, s:s, s:i}", "ssid", "Home", "bssid", "AA:BB:CC:DD:EE:FF", "securityProtocol",
                  "WPA_PSK", "rssi", "-50", "frequency", 2412),
        json_pack("{s:s, s:s, s:s, s:i, s:i, s:b}", "ssid", "Home", "bssid", "AA:BB:CC:DD:EE:FF", "securityProtocol",
                  "WPA_PSK", "rssi", -50, "frequency", 2412, "hidden", 1),
    };
    for (size_t i = 0; i < sizeof bad_entries / sizeof *bad_entries; i++) {
        r = req(t, 1);
        json_object_set_new(r, "wifiScanDataList", json_pack("[o]", bad_entries[i]));
        expect_error(t, &t->via, "postWifiScanData", r, 400, "INVALID_REQUEST");
    }
    r = req(t, 1);
    json_object_set_new(r, "wifiScanDataList", json_array());
    expect_error(t, &t->via, "postWifiScanData", r, 400, "INVALID_REQUEST");
    r = req(t, 0); /* no sequenceNumber */
    json_object_set_new(r, "wifiScanDataList", json_pack("[o]", scan_entry("Home", "WPA_PSK", -50, 2412)));
    expect_error(t, &t->via, "postWifiScanData", r, 400, "INVALID_REQUEST");
    r = req(t, 1);
    json_object_set_new(r, "deviceDetails", json_pack("{s:i}", "deviceSerial", 5));
    json_object_set_new(r, "wifiScanDataList", json_pack("[o]", scan_entry("Home", "WPA_PSK", -50, 2412)));
    expect_error(t, &t->via, "postWifiScanData", r, 400, "INVALID_REQUEST");
    r = report_req(t, "SOMEWHERE_ELSE", "SUCCESS");
    expect_error(t, &t->via, "report", r, 400, "INVALID_REQUEST");
    r = report_req(t, "POST_WIFI_SCAN_DATA", "MAYBE");
    expect_error(t, &t->via, "report", r, 400, "INVALID_REQUEST");

    /* Unknown operations and methods. */
    post_raw_expect(t, "deleteEverything", "{}", 2, 404, "UNKNOWN_OPERATION");
    post_raw_expect(t, "../control/v1/customers", "{}", 2, 404, "UNKNOWN_OPERATION");

    /* After all that the session still works and the emulator is alive. */
    json_decref(post_scan(t, json_pack("[o]", scan_entry("Home", "WPA_PSK", -40, 2437)), 200));
    json_decref(report(t, &t->via, "POST_WIFI_SCAN_DATA", "SUCCESS", "GET_WIFI_LIST"));
    e2e_resp h;
    e2e_http(&t->w->sim, "GET", "/healthz", NULL, NULL, NULL, 0, &h);
    assert_int_equal(h.status, 200);
    e2e_resp_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dss_happy_path_and_session_token, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_session_token_is_bound_to_its_device, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_refusal_reasons, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_unauthenticated_403, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_out_of_order_409, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_nonce_rules_400, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_session_expiry_401, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_credentials_only_for_posted_networks, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_faults_drop_bad_signature_503, dss_setup, dss_teardown),
        cmocka_unit_test_setup_teardown(dss_hostile_bodies, dss_setup, dss_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
