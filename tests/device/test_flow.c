/* test_flow.c - wss_dev_run against a scripted fake port: a simulated radio,
 * a fake DSS that follows docs/dss.md (state table, sequence numbers, nonces)
 * and signs its answers with an OpenSSL key, a fake maker cloud, a fake clock
 * and storage. Each test changes one thing and checks the outcome, the
 * fallback call and what went over the air. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/z85.h"
#include "ossl_port.h"
#include "wss/device.h"

#define DSS_HOST "dp-sps-na.amazon.com"
#define CLOUD_HOST "cloud.example"
#define TOKEN "amzn1.ffs.wss-wifi-session-token.0f1e2d3c"
#define GATEWAY "https://gateway.example/v3/events"

enum { NET_NONE, NET_COMPUTED, NET_SIMPLE, NET_HOME };
enum { SIG_OK, SIG_MISSING, SIG_DUPLICATE, SIG_BAD };

typedef struct home_net {
    char ssid[33];
    wss_dev_security sec;
    char key[65];
    int works;    /* the radio: the join succeeds */
    int priority; /* the locker: the DSS's priority for it */
} home_net;

typedef struct fake {
    EVP_PKEY *dev_key; /* first: the OpenSSL crypto port finds it here */
    EVP_PKEY *dss_key;
    uint8_t dev_spki[91];

    struct {
        char key[64];
        char val[600];
    } kv[40];
    int nkv;

    uint64_t now, slept, post_cost_ms;
    int nsleeps;

    /* radio */
    int provisioner, simple_setup, probes, bad_setup_joins;
    char up_ssid[33], up_pass[45];
    int on;
    char on_home[33];
    wss_dev_ap scan[WSS_DEV_SCAN_MAX];
    size_t nscan;
    home_net homes[8];
    int nhomes;
    char join_log[32][33];
    int njoins;

    /* DSS */
    char state[40];
    int sessions, expect_seq, seq_errors, port_errors, nonce_errors;
    char nonces[64][32];
    int nnonces;
    const char *start_refusal;
    home_net locker[8];
    int nlocker;
    int offer_unscanned;
    char posted[64][33];
    int nposted, hidden_posted, unscanned_posted, posts;
    int sig_mode;
    const char *sig_op;
    int fail5xx;
    const char *fail5xx_op;
    int force_status;
    const char *force_op;
    int bad_nonce;
    int redirect_start;
    int wait_time;
    char reports[16][64];
    int nreports, failure_with_details;
    int dss_requests;

    /* cloud */
    int cloud_calls, cloud_status, cloud_sig_ok;
    char cloud_body[2048];

    /* fallback */
    int ugs_calls;
    wss_dev_fail ugs_fail;
    char ugs_detail[160];
} fake;

/* ---- storage, clock, log, fallback ------------------------------------------------- */

static const char *kv_get(fake *f, const char *key)
{
    for (int i = 0; i < f->nkv; i++) {
        if (strcmp(f->kv[i].key, key) == 0)
            return f->kv[i].val;
    }
    return NULL;
}

static void kv_set(fake *f, const char *key, const char *val, size_t len)
{
    int i;
    for (i = 0; i < f->nkv && strcmp(f->kv[i].key, key) != 0; i++)
        ;
    assert_true(i < 40);
    assert_true(len < sizeof f->kv[i].val);
    if (i == f->nkv)
        f->nkv++;
    snprintf(f->kv[i].key, sizeof f->kv[i].key, "%s", key);
    memcpy(f->kv[i].val, val, len);
    f->kv[i].val[len] = '\0';
}

static int st_read(void *ctx, const char *key, char *out, size_t cap, size_t *len)
{
    const char *v = kv_get(ctx, key);
    if (!v || strlen(v) >= cap)
        return -1;
    strcpy(out, v);
    *len = strlen(v);
    return 0;
}

static int st_write(void *ctx, const char *key, const char *value, size_t len)
{
    kv_set(ctx, key, value, len);
    return 0;
}

static uint64_t clk_now(void *ctx) { return ((fake *)ctx)->now; }

static void clk_sleep(void *ctx, uint32_t ms)
{
    fake *f = ctx;
    f->now += ms;
    f->slept += ms;
    f->nsleeps++;
}

static void log_line(void *ctx, wss_dev_log_level level, const char *msg)
{
    (void)ctx;
    /* Secrets never reach the log. */
    assert_null(strstr(msg, "secret-pass"));
    assert_null(strstr(msg, TOKEN));
    if (getenv("WSS_TEST_VERBOSE"))
        fprintf(stderr, "[%d] %s\n", (int)level, msg);
}

static void ugs(void *ctx, wss_dev_fail fail, const char *detail)
{
    fake *f = ctx;
    f->ugs_calls++;
    f->ugs_fail = fail;
    snprintf(f->ugs_detail, sizeof f->ugs_detail, "%s", detail);
}

/* ---- radio ------------------------------------------------------------------------- */

/* The provisioner's side: the passphrase from the SSID with the DSS key. */
static void provisioner_passphrase(fake *f, const char *ssid, char pass[45])
{
    uint8_t payload[24], secret[32], key[32], mac[32];
    size_t n;
    unsigned int maclen = 32;
    assert_int_equal(strlen(ssid), 32);
    assert_int_equal(wss_z85_decode(ssid + 2, 30, payload, sizeof payload, &n), 0);
    assert_memory_equal(payload + 8, "CbtN", 4);
    assert_int_equal(ossl_ecdh(f->dss_key, f->dev_spki, 91, secret), 0);
    EVP_Digest(secret, 32, key, NULL, EVP_sha256(), NULL);
    assert_non_null(HMAC(EVP_sha256(), key, 32, payload + 12, 12, mac, &maclen));
    EVP_EncodeBlock((unsigned char *)pass, mac, 32);
}

static int radio_probe(void *ctx, const char *ssid)
{
    fake *f = ctx;
    f->probes++;
    if (!f->provisioner)
        return -1;
    snprintf(f->up_ssid, sizeof f->up_ssid, "%s", ssid);
    provisioner_passphrase(f, ssid, f->up_pass);
    return 0;
}

static int radio_scan(void *ctx, wss_dev_ap *aps, size_t cap, size_t *count)
{
    fake *f = ctx;
    size_t n = f->nscan < cap ? f->nscan : cap;
    memcpy(aps, f->scan, n * sizeof *aps);
    *count = n;
    return 0;
}

static int radio_join(void *ctx, const char *ssid, wss_dev_security sec, const char *key, int hidden)
{
    fake *f = ctx;
    if (f->up_ssid[0] && strcmp(ssid, f->up_ssid) == 0) {
        assert_int_equal(sec, WSS_DEV_SEC_WPA_PSK);
        assert_int_equal(hidden, 1);
        if (strcmp(key, f->up_pass) != 0) {
            f->bad_setup_joins++;
            return -1;
        }
        f->on = NET_COMPUTED;
        return 0;
    }
    if (strcmp(ssid, "simple_setup") == 0) {
        assert_int_equal(sec, WSS_DEV_SEC_OPEN);
        assert_int_equal(hidden, 1);
        if (!f->simple_setup)
            return -1;
        f->on = NET_SIMPLE;
        return 0;
    }
    assert_int_equal(hidden, 0);
    assert_true(f->njoins < 32);
    snprintf(f->join_log[f->njoins++], 33, "%s", ssid);
    for (int i = 0; i < f->nhomes; i++) {
        home_net *h = &f->homes[i];
        if (strcmp(h->ssid, ssid) == 0 && h->sec == sec && strcmp(h->key, key) == 0 && h->works) {
            f->on = NET_HOME;
            snprintf(f->on_home, sizeof f->on_home, "%s", ssid);
            return 0;
        }
    }
    return -1;
}

static void radio_leave(void *ctx) { ((fake *)ctx)->on = NET_NONE; }

/* ---- the fake DSS ------------------------------------------------------------------ */

static int scanned(fake *f, const char *ssid)
{
    for (size_t i = 0; i < f->nscan; i++) {
        if (strcmp(f->scan[i].ssid, ssid) == 0)
            return 1;
    }
    return 0;
}

static int was_posted(fake *f, const char *ssid)
{
    for (int i = 0; i < f->nposted; i++) {
        if (strcmp(f->posted[i], ssid) == 0)
            return 1;
    }
    return 0;
}

static int matched_credentials(fake *f)
{
    int n = 0;
    for (int i = 0; i < f->nlocker; i++)
        n += was_posted(f, f->locker[i].ssid);
    return n;
}

static json_t *error_body(const char *code)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", "fake DSS refuses");
}

static void check_sequence(fake *f, json_t *req)
{
    json_t *s = json_object_get(req, "sequenceNumber");
    if (!json_is_integer(s) || json_integer_value(s) != f->expect_seq)
        f->seq_errors++;
    f->expect_seq++;
}

/* Handles one operation; returns the HTTP status and sets *out. */
static int dss_handle(fake *f, const char *op, json_t *req, json_t **out)
{
    const char *nonce = json_string_value(json_object_get(req, "nonce"));
    const char *echo = f->bad_nonce ? "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" : nonce;
    if (strcmp(op, "startProvisioningSession") == 0) {
        f->sessions++;
        f->expect_seq = 1;
        if (f->start_refusal) {
            snprintf(f->state, sizeof f->state, "FAILURE");
            *out = json_pack("{s:s,s:s,s:b,s:s,s:s}", "nonce", echo, "sessionId", "amzn1.dss.session.1", "canProceed",
                             0, "salt", "", "reason", f->start_refusal);
            return 200;
        }
        snprintf(f->state, sizeof f->state, "START_PROVISIONING");
        *out = json_pack("{s:s,s:s,s:b,s:s,s:s}", "nonce", echo, "sessionId", "amzn1.dss.session.1", "canProceed", 1,
                         "salt", "", "reason", "");
        return 200;
    }
    if (!json_is_string(json_object_get(req, "sessionId")) ||
        strcmp(json_string_value(json_object_get(req, "sessionId")), "amzn1.dss.session.1") != 0) {
        *out = error_body("UNKNOWN_SESSION");
        return 401;
    }
    if (strcmp(op, "computeConfigurationData") == 0) {
        if (strcmp(f->state, "COMPUTE_CONFIGURATION") != 0) {
            *out = error_body("INVALID_STATE");
            return 409;
        }
        *out = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:i},s:{s:s,s:s}}", "nonce", echo, "configuration",
                         "FFS.SessionToken", TOKEN, "SmartHome.AlexaEventGatewayEndpoint", GATEWAY,
                         "LocaleConfiguration.CountryCode", "US", "Unknown.Key", "ignored",
                         "DeviceInformation.SerialNumber", "FORGED", "DSS.Port", 443, "registrationDetails",
                         "registrationToken", "reg-1", "expiresAt", "2030-01-01T00:00:00Z");
        return 200;
    }
    if (strcmp(op, "postWifiScanData") == 0) {
        check_sequence(f, req);
        f->posts++;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(req, "wifiScanDataList"), i, e)
        {
            const char *ssid = json_string_value(json_object_get(e, "ssid"));
            const char *sec = json_string_value(json_object_get(e, "securityProtocol"));
            assert_non_null(ssid);
            assert_non_null(sec);
            assert_true(strcmp(sec, "OPEN") == 0 || strcmp(sec, "WPA_PSK") == 0 || strcmp(sec, "WEP") == 0);
            assert_true(json_is_integer(json_object_get(e, "rssi")));
            assert_true(json_is_integer(json_object_get(e, "frequency")));
            if (!ssid[0])
                f->hidden_posted++;
            if (!scanned(f, ssid))
                f->unscanned_posted++;
            assert_true(f->nposted < 64);
            snprintf(f->posted[f->nposted++], 33, "%s", ssid);
        }
        int found = matched_credentials(f);
        *out = json_pack("{s:s,s:s,s:b,s:O,s:i,s:b}", "nonce", echo, "sessionId", "amzn1.dss.session.1", "canProceed",
                         1, "sequenceNumber", json_object_get(req, "sequenceNumber"), "totalCredentialsFound", found,
                         "allCredentialsFound", found == f->nlocker && f->nlocker > 0);
        return 200;
    }
    if (strcmp(op, "getWifiCredentials") == 0) {
        check_sequence(f, req);
        json_t *list = json_array();
        for (int i = 0; i < f->nlocker; i++) {
            home_net *h = &f->locker[i];
            if (!was_posted(f, h->ssid) && !f->offer_unscanned)
                continue;
            json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:i,s:i,s:i}", "ssid", h->ssid, "securityProtocol",
                                                  wss_dev_security_name(h->sec), "key", h->key, "keyIndex", 0,
                                                  "priority", h->priority, "frequency", 2437));
        }
        *out = json_pack("{s:s,s:s,s:b,s:O,s:b,s:o}", "nonce", echo, "sessionId", "amzn1.dss.session.1", "canProceed",
                         1, "sequenceNumber", json_object_get(req, "sequenceNumber"), "allCredentialsReturned", 1,
                         "wifiCredentialsList", list);
        return 200;
    }
    if (strcmp(op, "report") == 0) {
        check_sequence(f, req);
        const char *cur = json_string_value(json_object_get(req, "currentProvisioningState"));
        const char *result = json_string_value(json_object_get(req, "stateTransitionResult"));
        assert_non_null(cur);
        assert_non_null(result);
        assert_true(json_is_string(json_object_get(req, "registrationState")));
        assert_true(json_is_object(json_object_get(req, "deviceDetails")));
        assert_true(f->nreports < 16);
        snprintf(f->reports[f->nreports++], 64, "%s:%s", cur, result);
        if (strcmp(cur, f->state) != 0) {
            *out = error_body("INVALID_STATE");
            return 409;
        }
        const char *next = "FAILURE", *reason = "";
        int proceed = 1;
        if (strcmp(result, "FAILURE") == 0) {
            json_t *list = json_object_get(req, "wifiNetworkInfoList");
            size_t i;
            json_t *e;
            json_array_foreach(list, i, e)
            {
                json_t *d = json_object_get(e, "errorDetails");
                if (json_is_string(json_object_get(d, "operation")) && json_is_string(json_object_get(d, "code")))
                    f->failure_with_details++;
            }
            proceed = 0;
        } else if (strcmp(cur, "START_PROVISIONING") == 0)
            next = "COMPUTE_CONFIGURATION";
        else if (strcmp(cur, "COMPUTE_CONFIGURATION") == 0)
            next = "POST_WIFI_SCAN_DATA";
        else if (strcmp(cur, "POST_WIFI_SCAN_DATA") == 0) {
            if (matched_credentials(f) > 0)
                next = "GET_WIFI_LIST";
            else {
                proceed = 0;
                reason = "NO_CREDENTIALS_FOR_VISIBLE_NETWORKS";
            }
        } else if (strcmp(cur, "GET_WIFI_LIST") == 0)
            next = "CONNECTING_TO_USER_NETWORK";
        else if (strcmp(cur, "CONNECTING_TO_USER_NETWORK") == 0) {
            assert_true(json_is_array(json_object_get(req, "wifiNetworkInfoList")));
            next = "CONNECTED_TO_USER_NETWORK";
        } else if (strcmp(cur, "CONNECTED_TO_USER_NETWORK") == 0) {
            assert_int_equal(f->on, NET_HOME);
            next = "DONE";
        }
        snprintf(f->state, sizeof f->state, "%s", next);
        *out = json_pack("{s:s,s:s,s:b,s:i,s:s}", "nonce", echo, "nextProvisioningState", next, "canProceed", proceed,
                         "waitTime", f->wait_time, "reason", reason);
        return 200;
    }
    *out = error_body("UNKNOWN_OPERATION");
    return 404;
}

static void sign_body(fake *f, wss_dev_http_response *resp, const char *op)
{
    uint8_t sig[80];
    size_t n = sizeof sig;
    int mode = f->sig_op && strcmp(f->sig_op, op) == 0 ? f->sig_mode : SIG_OK;
    if (mode == SIG_MISSING)
        return;
    if (mode == SIG_BAD)
        assert_int_equal(ossl_sign(f->dss_key, "something else", 14, sig, &n), 0);
    else
        assert_int_equal(ossl_sign(f->dss_key, resp->body, resp->body_len, sig, &n), 0);
    ossl_b64(sig, n, resp->signature, sizeof resp->signature);
    resp->signature_headers = mode == SIG_DUPLICATE ? 2 : 1;
}

static void put_body(wss_dev_http_response *resp, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    assert_non_null(text);
    assert_true(strlen(text) < resp->body_cap);
    strcpy(resp->body, text);
    resp->body_len = strlen(text);
    free(text);
}

static int check_nonce(fake *f, const char *nonce)
{
    if (!nonce || strlen(nonce) != 31)
        return -1;
    for (const char *p = nonce; *p; p++) {
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", *p))
            return -1;
    }
    for (int i = 0; i < f->nnonces; i++) {
        if (strcmp(f->nonces[i], nonce) == 0)
            return -1;
    }
    if (f->nnonces < 64)
        snprintf(f->nonces[f->nnonces++], 32, "%s", nonce);
    return 0;
}

static int cloud_handle(fake *f, const wss_dev_http_request *req, wss_dev_http_response *resp)
{
    f->cloud_calls++;
    if (f->on != NET_HOME)
        return -1;
    assert_string_equal(req->path, "/v1/devices/association-report");
    snprintf(f->cloud_body, sizeof f->cloud_body, "%.*s", (int)req->body_len, req->body);
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(body);
    const char *token = json_string_value(json_object_get(json_object_get(body, "device"), "sessionToken"));
    const char *sig = json_string_value(json_object_get(json_object_get(body, "device"), "signature"));
    if (token && sig) {
        uint8_t der[128];
        int n = EVP_DecodeBlock(der, (const unsigned char *)sig, (int)strlen(sig));
        size_t pad = strlen(sig) > 2 ? (sig[strlen(sig) - 1] == '=') + (sig[strlen(sig) - 2] == '=') : 0;
        f->cloud_sig_ok = n > 0 && ossl_verify_spki(f->dev_spki, 91, token, strlen(token), der, (size_t)n - pad) == 0;
    }
    json_decref(body);
    resp->status = f->cloud_status;
    resp->body_len = 0;
    resp->body[0] = '\0';
    return 0;
}

static int fake_post(void *ctx, const wss_dev_http_request *req, wss_dev_http_response *resp)
{
    fake *f = ctx;
    f->now += f->post_cost_ms;
    assert_true(req->body_len == strlen(req->body));
    if (strcmp(req->host, CLOUD_HOST) == 0)
        return cloud_handle(f, req, resp);
    int dss = strcmp(req->host, DSS_HOST) == 0 || strcmp(req->host, "dss2.example") == 0;
    if (!dss)
        return -1;
    f->dss_requests++;
    int reachable = (f->on == NET_COMPUTED && req->port == 8888) || (f->on == NET_SIMPLE && req->port == 443) ||
                    (f->on == NET_HOME && req->port == 443);
    if (!reachable) {
        f->port_errors++;
        return -1;
    }
    assert_true(strncmp(req->path, "/api/v1/", 8) == 0);
    const char *op = req->path + 8;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(body);
    /* Fresh on every try, retries and redirects included. */
    if (check_nonce(f, json_string_value(json_object_get(body, "nonce"))) < 0)
        f->nonce_errors++;
    if (f->fail5xx > 0 && strcmp(op, f->fail5xx_op) == 0) {
        f->fail5xx--;
        json_decref(body);
        resp->status = 503;
        resp->body_len = 0;
        return 0;
    }
    json_t *out = NULL;
    int status;
    if (f->redirect_start && strcmp(op, "startProvisioningSession") == 0 && strcmp(req->host, DSS_HOST) == 0) {
        status = 308;
        out = json_object();
        snprintf(resp->location, sizeof resp->location, "https://dss2.example:443/api/v1/startProvisioningSession");
    } else if (f->force_op && strcmp(op, f->force_op) == 0) {
        status = f->force_status;
        out = error_body(status == 403 ? "UNAUTHENTICATED" : "INVALID_REQUEST");
    } else
        status = dss_handle(f, op, body, &out);
    json_decref(body);
    resp->status = status;
    put_body(resp, out);
    json_decref(out);
    sign_body(f, resp, op);
    return 0;
}

/* ---- the scenarios --------------------------------------------------------------------- */

static void add_ap(fake *f, const char *ssid, wss_dev_security sec, int rssi, int freq)
{
    wss_dev_ap *ap = &f->scan[f->nscan++];
    memset(ap, 0, sizeof *ap);
    snprintf(ap->ssid, sizeof ap->ssid, "%s", ssid);
    snprintf(ap->bssid, sizeof ap->bssid, "02:00:00:00:00:%02X", (unsigned)f->nscan);
    ap->security = sec;
    ap->rssi = rssi;
    ap->frequency_mhz = freq;
}

/* A home and a locker entry for it; `priority` orders the DSS's answer. */
static void add_home(fake *f, const char *ssid, wss_dev_security sec, const char *key, int works, int priority)
{
    home_net *h = &f->homes[f->nhomes++];
    snprintf(h->ssid, sizeof h->ssid, "%s", ssid);
    snprintf(h->key, sizeof h->key, "%s", key);
    h->sec = sec;
    h->works = works;
    h->priority = priority;
    f->locker[f->nlocker++] = *h;
}

typedef struct world {
    fake f;
    wss_dev_port port;
    wss_dev_config config;
    wss_dev dev;
    wss_dev_result res;
} world;

static world *new_world(void)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    fake *f = &w->f;
    uint8_t spki[128];
    char b64[160];
    f->dev_key = ossl_load_key(test_device_key_pem);
    f->dss_key = ossl_load_key(test_dss_key_pem);
    assert_int_equal(ossl_spki(f->dev_key, f->dev_spki, sizeof f->dev_spki), 91);
    ossl_b64(f->dev_spki, 91, b64, sizeof b64);
    kv_set(f, "DeviceInformation.PublicKey", b64, strlen(b64));
    assert_int_equal(ossl_spki(f->dss_key, spki, sizeof spki), 91);
    ossl_b64(spki, 91, b64, sizeof b64);
    kv_set(f, "DSS.PublicKey", b64, strlen(b64));
    kv_set(f, "DeviceInformation.ProductIndex", "CbtN", 4);
    kv_set(f, "DeviceInformation.SerialNumber", "DSN0001", 7);
    kv_set(f, "DeviceInformation.ManufacturerName", "Openwss \"Test\"", 14);
    f->now = 1000000;
    f->post_cost_ms = 50;
    f->provisioner = 1;
    f->cloud_status = 202;
    add_ap(f, "HomeNet", WSS_DEV_SEC_WPA_PSK, -40, 2437);
    add_ap(f, "", WSS_DEV_SEC_WPA_PSK, -50, 2412);         /* hidden */
    add_ap(f, "Enterprise", WSS_DEV_SEC_OTHER, -60, 5180); /* 802.1X */
    add_ap(f, "Neighbour", WSS_DEV_SEC_WPA_PSK, -80, 2462);
    add_ap(f, "Cafe \xc3\xa9", WSS_DEV_SEC_OPEN, -85, 2412);
    add_home(f, "HomeNet", WSS_DEV_SEC_WPA_PSK, "secret-pass", 1, 1);

    wss_dev_port *p = &w->port;
    p->ctx = f;
    p->wifi_probe = radio_probe;
    p->wifi_scan = radio_scan;
    p->wifi_join = radio_join;
    p->wifi_leave = radio_leave;
    p->https_post = fake_post;
    p->storage_read = st_read;
    p->storage_write = st_write;
    p->now_ms = clk_now;
    p->sleep_ms = clk_sleep;
    p->log = log_line;
    p->user_guided_setup = ugs;
    ossl_fill_port(p);
    wss_dev_policy_default(&w->config.policy);
    w->config.cloud_host = CLOUD_HOST;
    w->config.cloud_port = 443;
    w->config.naming_category = "SWITCH";
    return w;
}

static wss_dev_fail run(world *w)
{
    char detail[128];
    assert_int_equal(wss_dev_init(&w->dev, &w->port, &w->config, detail, sizeof detail), WSS_DEV_OK);
    wss_dev_fail f = wss_dev_run(&w->dev, &w->res);
    assert_int_equal(f, w->res.fail);
    assert_int_equal(w->f.nonce_errors, 0);
    assert_int_equal(w->f.hidden_posted, 0);
    assert_int_equal(w->f.unscanned_posted, 0);
    if (f == WSS_DEV_OK) {
        assert_int_equal(w->f.ugs_calls, 0);
    } else {
        assert_int_equal(w->f.ugs_calls, 1);
        assert_int_equal(w->f.ugs_fail, f);
        assert_string_equal(w->f.ugs_detail, w->res.detail);
        assert_true(w->res.detail[0] != '\0');
        assert_null(strchr(w->res.detail, '\n'));
    }
    return f;
}

static void free_world(world *w)
{
    EVP_PKEY_free(w->f.dev_key);
    EVP_PKEY_free(w->f.dss_key);
    free(w);
}

static void test_success(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.wait_time = 60000; /* capped at 10 s */
    assert_int_equal(run(w), WSS_DEV_OK);
    fake *f = &w->f;
    assert_string_equal(w->res.state, "DONE");
    assert_int_equal(w->res.setup_network, 1);
    assert_string_equal(w->res.home_ssid, "HomeNet");
    assert_int_equal(f->on, NET_HOME);
    assert_int_equal(f->probes, 1);
    assert_int_equal(f->bad_setup_joins, 0);
    assert_int_equal(f->port_errors, 0);
    assert_int_equal(f->seq_errors, 0);
    assert_int_equal(f->sessions, 1);
    const char *want[] = {"START_PROVISIONING:SUCCESS",         "COMPUTE_CONFIGURATION:SUCCESS",
                          "POST_WIFI_SCAN_DATA:SUCCESS",        "GET_WIFI_LIST:SUCCESS",
                          "CONNECTING_TO_USER_NETWORK:SUCCESS", "CONNECTED_TO_USER_NETWORK:SUCCESS"};
    assert_int_equal(f->nreports, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(f->reports[i], want[i]);
    assert_int_equal(w->res.dss_calls, 10);
    assert_int_equal(f->dss_requests, 10);
    assert_int_equal(f->slept, 6 * 10000);
    assert_int_equal(w->res.elapsed_ms, 6 * 10000 + 11 * 50);
    /* Posted: the three named networks of known security, once each. */
    assert_int_equal(f->nposted, 3);
    assert_string_equal(f->posted[0], "HomeNet");
    assert_string_equal(f->posted[1], "Neighbour");
    assert_string_equal(f->posted[2], "Cafe \xc3\xa9");
    /* Storage: the known keys only, never the device's identity. */
    assert_string_equal(kv_get(f, "FFS.SessionToken"), TOKEN);
    assert_string_equal(kv_get(f, "SmartHome.AlexaEventGatewayEndpoint"), GATEWAY);
    assert_string_equal(kv_get(f, "LocaleConfiguration.CountryCode"), "US");
    assert_string_equal(kv_get(f, "DSS.Port"), "443");
    assert_null(kv_get(f, "Unknown.Key"));
    assert_string_equal(kv_get(f, "DeviceInformation.SerialNumber"), "DSN0001");
    /* The association report. */
    assert_int_equal(f->cloud_calls, 1);
    assert_true(f->cloud_sig_ok);
    json_t *body = json_loads(f->cloud_body, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "device"), "sessionToken")), TOKEN);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_object_get(body, "device"), "namingCategories"), 0)),
        "SWITCH");
    assert_string_equal(json_string_value(json_object_get(body, "eventGatewayEndpoint")), GATEWAY);
    json_decref(body);
    free_world(w);
}

static void test_refused(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.start_refusal = "NOT_PURCHASED";
    assert_int_equal(run(w), WSS_DEV_FAIL_REFUSED);
    assert_non_null(strstr(w->f.ugs_detail, "NOT_PURCHASED"));
    assert_int_equal(w->f.posts, 0);
    assert_int_equal(w->f.nreports, 0);
    assert_int_equal(w->f.cloud_calls, 0);
    free_world(w);
}

static void test_bad_signatures(void **state)
{
    (void)state;
    const struct {
        int mode;
        const char *op;
        const char *why;
    } cases[] = {
        {SIG_MISSING, "startProvisioningSession", "not signed"},
        {SIG_DUPLICATE, "report", "more than once"},
        {SIG_BAD, "computeConfigurationData", "does not verify"},
        {SIG_BAD, "getWifiCredentials", "does not verify"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        world *w = new_world();
        w->f.sig_mode = cases[i].mode;
        w->f.sig_op = cases[i].op;
        assert_int_equal(run(w), WSS_DEV_FAIL_BAD_SIGNATURE);
        assert_non_null(strstr(w->res.detail, cases[i].why));
        assert_non_null(strstr(w->res.detail, cases[i].op));
        /* Verified before parsing: nothing of a refused configuration is stored. */
        if (strcmp(cases[i].op, "computeConfigurationData") == 0)
            assert_null(kv_get(&w->f, "FFS.SessionToken"));
        assert_int_equal(w->f.njoins, 0);
        free_world(w);
    }
}

static void test_no_provisioner(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.provisioner = 0;
    assert_int_equal(run(w), WSS_DEV_FAIL_NO_PROVISIONER);
    assert_int_equal(w->f.probes, 3);
    assert_int_equal(w->res.setup_network, 0);
    assert_int_equal(w->f.dss_requests, 0);
    free_world(w);
}

static void test_simple_setup_fallback(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.provisioner = 0;
    w->f.simple_setup = 1;
    assert_int_equal(run(w), WSS_DEV_OK);
    assert_int_equal(w->res.setup_network, 2);
    assert_int_equal(w->f.port_errors, 0); /* port 443 on simple_setup */
    assert_string_equal(w->res.home_ssid, "HomeNet");
    free_world(w);
}

static void test_no_credentials(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.nlocker = 0;
    add_home(&w->f, "Elsewhere", WSS_DEV_SEC_WPA_PSK, "x-pass-123", 1, 1);
    assert_int_equal(run(w), WSS_DEV_FAIL_NO_CREDENTIALS);
    assert_non_null(strstr(w->f.ugs_detail, "NO_CREDENTIALS_FOR_VISIBLE_NETWORKS"));
    assert_string_equal(w->f.reports[w->f.nreports - 1], "POST_WIFI_SCAN_DATA:SUCCESS");
    assert_int_equal(w->f.njoins, 0);
    free_world(w);
}

static void test_nothing_to_post(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.nscan = 0;
    add_ap(&w->f, "", WSS_DEV_SEC_WPA_PSK, -40, 2437);
    add_ap(&w->f, "Corp", WSS_DEV_SEC_OTHER, -40, 2437);
    add_ap(&w->f, "Bad \xff utf8", WSS_DEV_SEC_OPEN, -40, 2437);
    assert_int_equal(run(w), WSS_DEV_FAIL_NO_CREDENTIALS);
    assert_int_equal(w->f.posts, 0);
    assert_string_equal(w->f.reports[w->f.nreports - 1], "POST_WIFI_SCAN_DATA:FAILURE");
    free_world(w);
}

static void test_join_failure(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.homes[0].works = 0;
    assert_int_equal(run(w), WSS_DEV_FAIL_JOIN);
    assert_int_equal(w->f.njoins, 2);        /* join_attempts */
    assert_int_equal(w->f.on, NET_COMPUTED); /* back on the setup network */
    assert_string_equal(w->f.reports[w->f.nreports - 1], "CONNECTING_TO_USER_NETWORK:FAILURE");
    assert_int_equal(w->f.failure_with_details, 1);
    assert_int_equal(w->f.cloud_calls, 0);
    assert_string_equal(w->res.home_ssid, "");
    free_world(w);
}

static void test_timeout(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.post_cost_ms = 70000; /* each call eats 70 s of the 180 s budget */
    assert_int_equal(run(w), WSS_DEV_FAIL_TIMEOUT);
    assert_int_equal(w->f.dss_requests, 3);
    assert_true(w->res.elapsed_ms >= 180000);
    assert_non_null(strstr(w->res.detail, "budget"));
    free_world(w);
}

static void test_timeout_while_retrying(void **state)
{
    (void)state;
    world *w = new_world();
    w->config.policy.budget_ms = 2500;
    w->f.fail5xx = 5;
    w->f.fail5xx_op = "startProvisioningSession";
    assert_int_equal(run(w), WSS_DEV_FAIL_TIMEOUT);
    assert_int_equal(w->f.slept, 1000); /* the 2 s wait would overrun 2.5 s */
    free_world(w);
}

static void test_credentials_by_priority(void **state)
{
    (void)state;
    world *w = new_world();
    fake *f = &w->f;
    f->nhomes = f->nlocker = 0;
    add_ap(f, "Upstairs", WSS_DEV_SEC_WPA_PSK, -70, 2412);
    add_ap(f, "Garage", WSS_DEV_SEC_WEP, -75, 2412);
    add_home(f, "HomeNet", WSS_DEV_SEC_WPA_PSK, "secret-pass", 1, 30);
    add_home(f, "Upstairs", WSS_DEV_SEC_WPA_PSK, "up-pass-123", 0, 10);
    add_home(f, "Garage", WSS_DEV_SEC_WEP, "0123456789", 1, 20);
    assert_int_equal(run(w), WSS_DEV_OK);
    assert_int_equal(f->njoins, 3);
    assert_string_equal(f->join_log[0], "Upstairs");
    assert_string_equal(f->join_log[1], "Upstairs");
    assert_string_equal(f->join_log[2], "Garage");
    assert_string_equal(w->res.home_ssid, "Garage");
    free_world(w);
}

static void test_never_joins_unscanned(void **state)
{
    (void)state;
    world *w = new_world();
    fake *f = &w->f;
    add_home(f, "NotInScan", WSS_DEV_SEC_WPA_PSK, "secret-pass", 1, 0); /* preferred, offered, not visible */
    f->offer_unscanned = 1;
    assert_int_equal(run(w), WSS_DEV_OK);
    for (int i = 0; i < f->njoins; i++)
        assert_string_not_equal(f->join_log[i], "NotInScan");
    assert_string_equal(w->res.home_ssid, "HomeNet");
    free_world(w);
}

static void test_5xx_retry_then_success(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.fail5xx = 2;
    w->f.fail5xx_op = "computeConfigurationData";
    assert_int_equal(run(w), WSS_DEV_OK);
    assert_int_equal(w->f.slept, 1000 + 2000);
    assert_int_equal(w->res.dss_calls, 12);
    free_world(w);
}

static void test_5xx_exhausted(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.fail5xx = 3;
    w->f.fail5xx_op = "report";
    assert_int_equal(run(w), WSS_DEV_FAIL_TRANSPORT);
    assert_non_null(strstr(w->res.detail, "503"));
    assert_int_equal(w->res.dss_calls, 4);
    free_world(w);
}

static void test_4xx(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.force_op = "computeConfigurationData";
    w->f.force_status = 403;
    assert_int_equal(run(w), WSS_DEV_FAIL_REFUSED);
    assert_non_null(strstr(w->res.detail, "UNAUTHENTICATED"));
    free_world(w);
    w = new_world();
    w->f.force_op = "getWifiCredentials";
    w->f.force_status = 400;
    assert_int_equal(run(w), WSS_DEV_FAIL_PROTOCOL);
    assert_non_null(strstr(w->res.detail, "400"));
    free_world(w);
}

static void test_nonce_mismatch(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.bad_nonce = 1;
    assert_int_equal(run(w), WSS_DEV_FAIL_PROTOCOL);
    assert_non_null(strstr(w->res.detail, "nonce"));
    free_world(w);
}

static void test_redirect_308(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.redirect_start = 1;
    assert_int_equal(run(w), WSS_DEV_OK);
    assert_string_equal(kv_get(&w->f, "DSS.Host"), "dss2.example");
    assert_int_equal(w->res.dss_calls, 11);
    free_world(w);
}

static void test_cloud_refuses(void **state)
{
    (void)state;
    world *w = new_world();
    w->f.cloud_status = 400;
    assert_int_equal(run(w), WSS_DEV_FAIL_REPORT);
    assert_int_equal(w->f.cloud_calls, 1);
    assert_string_equal(w->res.state, "DONE");
    free_world(w);
    w = new_world();
    w->f.cloud_status = 500;
    assert_int_equal(run(w), WSS_DEV_FAIL_REPORT);
    assert_int_equal(w->f.cloud_calls, 3);
    free_world(w);
}

static void test_split_scan_posts(void **state)
{
    (void)state;
    world *w = new_world();
    fake *f = &w->f;
    f->nscan = 0;
    for (int i = 0; i < WSS_DEV_SCAN_MAX; i++) {
        char ssid[33];
        ssid[0] = (char)('0' + i / 10);
        ssid[1] = (char)('0' + i % 10);
        memset(ssid + 2, '\x01', 30); /* each of these bytes is six on the wire */
        ssid[32] = '\0';
        add_ap(f, ssid, WSS_DEV_SEC_WPA_PSK, -50, 2412);
    }
    add_ap(f, "HomeNet", WSS_DEV_SEC_WPA_PSK, -40, 2437); /* beyond WSS_DEV_SCAN_MAX: never seen */
    assert_int_equal(run(w), WSS_DEV_FAIL_NO_CREDENTIALS);
    assert_true(f->posts >= 2);
    assert_int_equal(f->nposted, WSS_DEV_SCAN_MAX);
    for (int i = 0; i < f->nposted; i++) {
        char want[2] = {(char)('0' + i / 10), (char)('0' + i % 10)};
        assert_memory_equal(f->posted[i], want, 2);
    }
    free_world(w);
}

static void test_not_initialised(void **state)
{
    (void)state;
    static wss_dev dev;
    wss_dev_result res;
    memset(&dev, 0, sizeof dev);
    assert_int_equal(wss_dev_run(&dev, &res), WSS_DEV_FAIL_PORT);
    assert_int_equal(res.fail, WSS_DEV_FAIL_PORT);
    assert_string_equal(wss_dev_fail_name(WSS_DEV_FAIL_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(wss_dev_fail_name(WSS_DEV_FAIL_PORT), "port");
    assert_string_equal(wss_dev_security_name(WSS_DEV_SEC_WPA_PSK), "WPA_PSK");
    wss_dev_policy p;
    wss_dev_policy_default(&p);
    assert_int_equal(p.budget_ms, 180000);
    assert_int_equal(p.http_attempts, 3);
    assert_int_equal(p.retry_backoff_ms, 1000);
    assert_int_equal(p.probe_attempts, 3);
    assert_int_equal(p.join_attempts, 2);
    assert_int_equal(p.max_redirects, 3);
    assert_int_equal(p.max_wait_ms, 10000);
    assert_int_equal(p.setup_proxy_port, 8888);
}

/* The core's objects reference no allocator: nm on libwss_device.a, which
 * CMake puts one level above the test programs. */
static void test_core_never_allocates(void **state)
{
    (void)state;
    char exe[4096], cmd[8300];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    const char *dir = dirname(exe);
    char lib[4200];
    snprintf(lib, sizeof lib, "%s/../libwss_device.a", dir);
    if (access(lib, R_OK) != 0)
        snprintf(lib, sizeof lib, "%s/libwss_device.a", getenv("WSS_DEVICE_LIB") ? getenv("WSS_DEVICE_LIB") : ".");
    if (access(lib, R_OK) != 0)
        skip();
    snprintf(cmd, sizeof cmd, "nm -u '%s'", lib);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256];
    int symbols = 0, alloc = 0;
    while (fgets(line, sizeof line, p)) {
        symbols++;
        const char *names[] = {" malloc\n", " calloc\n", " realloc\n", " free\n", " strdup\n", " aligned_alloc\n"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strstr(line, names[i])) {
                fprintf(stderr, "allocator symbol: %s", line);
                alloc++;
            }
        }
    }
    assert_int_equal(pclose(p), 0);
    assert_true(symbols > 0); /* nm did read the archive: memcpy and friends are there */
    assert_int_equal(alloc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_bad_signatures),
        cmocka_unit_test(test_no_provisioner),
        cmocka_unit_test(test_simple_setup_fallback),
        cmocka_unit_test(test_no_credentials),
        cmocka_unit_test(test_nothing_to_post),
        cmocka_unit_test(test_join_failure),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_timeout_while_retrying),
        cmocka_unit_test(test_credentials_by_priority),
        cmocka_unit_test(test_never_joins_unscanned),
        cmocka_unit_test(test_5xx_retry_then_success),
        cmocka_unit_test(test_5xx_exhausted),
        cmocka_unit_test(test_4xx),
        cmocka_unit_test(test_nonce_mismatch),
        cmocka_unit_test(test_redirect_308),
        cmocka_unit_test(test_cloud_refuses),
        cmocka_unit_test(test_split_scan_posts),
        cmocka_unit_test(test_not_initialised),
        cmocka_unit_test(test_core_never_allocates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
