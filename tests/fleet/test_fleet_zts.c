/* test_fleet_zts.c - Zero Touch Setup end to end: libwss-device through the
 * host port and the simulated radio, against the emulator (DSS, provisioners,
 * event gateway) and the maker's cloud, all on 127.0.0.1.
 *
 * One world holds a device for each story: two that succeed (and reach the
 * Alexa account as "First Switch" and "Second Switch"), and one per fallback
 * reason. The emulator's own records are the witness for what the devices
 * posted and what the DSS returned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/file.h"
#include "common/httpc.h"
#include "common/log.h"
#include "sim/client.h"
#include "wss/fleet.h"

#define TOKEN_PREFIX "amzn1.ffs.wss-wifi-session-token."

/* The homes of this world (docs/radio.md). */
static const char *const SCENARIO =
    "{\"latency_ms\": {\"scan\": 2000, \"probe\": 300, \"join\": 1500, \"join_fail\": 5000},"
    " \"homes\": ["
    "  {\"id\": \"home\", \"provisioner\": {\"id\": \"echo-home\"}, \"access_points\": ["
    "    {\"ssid\": \"Demo Home\", \"bssid\": \"02:00:00:00:01:01\", \"passphrase\": \"demo-home-passphrase\"},"
    "    {\"ssid\": \"Demo Home 5G\", \"bssid\": \"02:00:00:00:01:02\", \"passphrase\": \"demo-home-passphrase\","
    "     \"band\": \"5\", \"channel\": 36},"
    "    {\"ssid\": \"Demo Lab\", \"bssid\": \"02:00:00:00:01:03\", \"passphrase\": \"lab-network-key\","
    "     \"hidden\": true},"
    "    {\"ssid\": \"Neighbour\", \"bssid\": \"02:00:00:00:02:01\", \"passphrase\": \"not-our-business\"}]},"
    "  {\"id\": \"no-echo\", \"access_points\": ["
    "    {\"ssid\": \"Demo Home\", \"bssid\": \"02:00:00:00:04:01\", \"passphrase\": \"demo-home-passphrase\"}]},"
    "  {\"id\": \"home-echo-offline\", \"provisioner\": {\"id\": \"echo-offline\", \"online\": false},"
    "   \"access_points\": ["
    "    {\"ssid\": \"Demo Home\", \"bssid\": \"02:00:00:00:05:01\", \"passphrase\": \"demo-home-passphrase\"}]},"
    "  {\"id\": \"echo-5ghz\", \"provisioner\": {\"id\": \"echo-5ghz\", \"band\": \"5\"}, \"access_points\": ["
    "    {\"ssid\": \"Demo Home\", \"bssid\": \"02:00:00:00:06:01\", \"passphrase\": \"demo-home-passphrase\"}]},"
    "  {\"id\": \"cottage\", \"provisioner\": {\"id\": \"echo-cottage\"}, \"access_points\": ["
    "    {\"ssid\": \"Cafe Guest\", \"bssid\": \"02:00:00:00:03:01\", \"security\": \"OPEN\"}]},"
    "  {\"id\": \"broken-router\", \"provisioner\": {\"id\": \"echo-broken\"}, \"access_points\": ["
    "    {\"ssid\": \"Demo Home\", \"bssid\": \"02:00:00:00:07:01\", \"passphrase\": \"demo-home-passphrase\","
    "     \"refuses_join\": true}]}"
    "]}";

/* The cast: one device per story, in this order. */
enum {
    D_FIRST,
    D_SECOND,
    D_NO_ECHO,
    D_ECHO_OFFLINE,
    D_ECHO_5GHZ,
    D_NOT_SOLD,
    D_OTHER_BUYER,
    D_NO_LOCKER_NETWORK,
    D_ROUTER_REFUSES,
    D_BAD_SIGNATURE,
    D_SLOW,
    D_COUNT
};

static void plan(void *ctx, unsigned i, wss_fleet_plan *p)
{
    (void)ctx;
    static const char *const homes[D_COUNT] = {
        [D_FIRST] = "home",
        [D_SECOND] = "home",
        [D_NO_ECHO] = "no-echo",
        [D_ECHO_OFFLINE] = "home-echo-offline",
        [D_ECHO_5GHZ] = "echo-5ghz",
        [D_NOT_SOLD] = "home",
        [D_OTHER_BUYER] = "home",
        [D_NO_LOCKER_NETWORK] = "cottage",
        [D_ROUTER_REFUSES] = "broken-router",
        [D_BAD_SIGNATURE] = "home",
        [D_SLOW] = "home",
    };
    p->home = homes[i];
    if (i == D_NOT_SOLD)
        p->buyer = NULL;
    if (i == D_OTHER_BUYER)
        p->buyer = WSS_FLEET_OTHER_CUSTOMER_ID;
    if (i == D_SLOW)
        p->policy.budget_ms = 3000; /* a probe, a join, a scan and another join cost more */
}

typedef struct world {
    char root[4096];
    wss_fleet *f;
} world;

static int world_setup(void **state)
{
    wss_httpc_global_init();
    wss_log_set_level(WSS_LOG_ERROR);
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    const char *tmp = getenv("TMPDIR");
    snprintf(w->root, sizeof w->root, "%s/wss-test-fleet-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(w->root));
    assert_int_equal(rmdir(w->root), 0);
    wss_fleet_options o = {.state_dir = w->root,
                           .devices = D_COUNT,
                           .seed = 3,
                           .jobs = 4,
                           .keep_storage = 1,
                           .scenario_json = SCENARIO,
                           .plan = plan};
    char err[512] = "";
    if (wss_fleet_start(&o, &w->f, err, sizeof err) != WSS_OK)
        fail_msg("cannot build the world: %s", err);
    /* Every DSS answer to one device is signed with the wrong bytes. */
    const wss_fleet_device *bad = wss_fleet_device_get(w->f, D_BAD_SIGNATURE);
    json_t *rule =
        json_pack("{s:s, s:s, s:s, s:f}", "route", "dss", "client", bad->dsn, "action", "bad_signature", "rate", 1.0);
    json_t *answer = NULL;
    int status = wss_fleet_control(w->f, "POST", "/faults", rule, &answer);
    json_decref(rule);
    json_decref(answer);
    assert_int_equal(status, 201);
    if (wss_fleet_run(w->f, err, sizeof err) != WSS_OK)
        fail_msg("the run failed: %s", err);
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    world *w = *state;
    wss_fleet_stop(w->f);
    wss_remove_tree(w->root);
    free(w);
    return 0;
}

static const wss_fleet_device *dev(void **state, unsigned i)
{
    world *w = *state;
    const wss_fleet_device *d = wss_fleet_device_get(w->f, i);
    assert_non_null(d);
    return d;
}

static json_t *control_get(void **state, const char *path)
{
    world *w = *state;
    json_t *answer = NULL;
    int status = wss_fleet_control(w->f, "GET", path, NULL, &answer);
    if (status != 200)
        fail_msg("GET /control/v1%s: %d", path, status);
    return answer;
}

/* The DSS sessions of a device, in order, each with its calls, scans, credentials and refusals. */
static json_t *dss_sessions(void **state, const char *dsn)
{
    char path[300];
    snprintf(path, sizeof path, "/dss/sessions?dsn=%s", dsn);
    json_t *list = control_get(state, path);
    json_t *out = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(list, "sessions"), i, s)
    {
        snprintf(path, sizeof path, "/dss/sessions/%s", json_string_value(json_object_get(s, "session_id")));
        json_array_append_new(out, control_get(state, path));
    }
    json_decref(list);
    return out;
}

static void assert_fallback(void **state, unsigned i, wss_dev_fail reason)
{
    world *w = *state;
    const wss_fleet_device *d = dev(state, i);
    if (d->result.fail != reason)
        fail_msg("device %u (%s in %s): expected %s, got %s: %s", i, d->dsn, d->home, wss_dev_fail_name(reason),
                 wss_dev_fail_name(d->result.fail), d->result.detail);
    assert_true(d->result.detail[0] != '\0');
    assert_true(d->stats.fallback_started);
    assert_int_equal(d->stats.fallback_reason, reason);
    assert_true(d->stats.fallback_ssid[0] != '\0');
    /* The user-guided setup access point is on the air of its home. */
    assert_true(wss_radio_ssid_visible(wss_fleet_radio(w->f), d->home, d->stats.fallback_ssid));
    assert_false(d->in_alexa);
}

/* ------------------------------------------------------------ success */

static void zts_succeeds_and_devices_reach_the_alexa_account(void **state)
{
    for (unsigned i = D_FIRST; i <= D_SECOND; i++) {
        const wss_fleet_device *d = dev(state, i);
        if (d->result.fail != WSS_DEV_OK)
            fail_msg("device %s: %s: %s", d->dsn, wss_dev_fail_name(d->result.fail), d->result.detail);
        assert_string_equal(d->result.state, "DONE");
        assert_string_equal(d->result.home_ssid, WSS_FLEET_HOME_SSID);
        assert_int_equal(d->result.setup_network, 1); /* the computed network, not simple_setup */
        assert_false(d->stats.fallback_started);
        assert_true(d->in_alexa);
        assert_true(strncmp(d->session_token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0);
        /* Simulated radio time shows in the setup time; the run did not sleep it. */
        assert_true(d->stats.simulated_ms >= 2000 + 300 + 1500);
        assert_true(d->result.elapsed_ms >= d->stats.simulated_ms);
    }
    json_t *alexa = control_get(state, "/alexa-devices?customer_id=" WSS_FLEET_CUSTOMER_ID);
    json_t *names = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(alexa, "devices"), i, e)
        json_array_append(names, json_object_get(e, "friendly_name"));
    char *text = json_dumps(names, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "[\"First Switch\",\"Second Switch\"]");
    free(text);
    json_decref(names);
    json_decref(alexa);
}

/* The DSS saw the whole flow, over mutual TLS with a verified device
 * certificate and the DSS name, through the provisioner until the home
 * network, and the last report came directly. */
static void dss_records_the_full_tls_flow(void **state)
{
    const wss_fleet_device *d = dev(state, D_FIRST);
    json_t *sessions = dss_sessions(state, d->dsn);
    assert_int_equal(json_array_size(sessions), 1);
    json_t *s = json_array_get(sessions, 0);
    assert_string_equal(json_string_value(json_object_get(s, "state")), "DONE");
    assert_string_equal(json_string_value(json_object_get(s, "session_token")), d->session_token);
    json_t *calls = json_object_get(s, "calls");
    assert_true(json_array_size(calls) >= 9);
    const char *first_op = json_string_value(json_object_get(json_array_get(calls, 0), "operation"));
    assert_string_equal(first_op, "startProvisioningSession");
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c)
    {
        const char *version = json_string_value(json_object_get(c, "tls_version"));
        assert_true(!strcmp(version, "TLS1.3") || !strcmp(version, "TLS1.2"));
        assert_string_equal(json_string_value(json_object_get(c, "sni")), "dp-sps-na.amazon.com");
        assert_true(json_is_true(json_object_get(c, "client_cert_verified")) ||
                    json_integer_value(json_object_get(c, "client_cert_verified")) == 1);
        assert_string_equal(json_string_value(json_object_get(c, "client_serial")), d->dsn);
        assert_int_equal(json_integer_value(json_object_get(c, "http_status")), 200);
    }
    /* Through the Echo at first, directly over the home network at the end. */
    json_t *last = json_array_get(calls, json_array_size(calls) - 1);
    assert_true(json_is_null(json_object_get(last, "provisioner_id")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(calls, 0), "provisioner_id")), "echo-home");
    json_decref(sessions);
}

/* A device posts only networks it heard by name: never the hidden lab
 * network, never the 5 GHz one it cannot hear; and the DSS returned only
 * locker networks among those. */
static void devices_post_only_networks_they_saw_and_get_only_those(void **state)
{
    for (unsigned k = D_FIRST; k <= D_SECOND; k++) {
        json_t *sessions = dss_sessions(state, dev(state, k)->dsn);
        size_t i, j;
        json_t *s, *x;
        size_t posted = 0, returned = 0;
        json_array_foreach(sessions, i, s)
        {
            json_array_foreach(json_object_get(s, "scans"), j, x)
            {
                const char *ssid = json_string_value(json_object_get(x, "ssid"));
                assert_true(!strcmp(ssid, "Demo Home") || !strcmp(ssid, "Neighbour"));
                posted++;
            }
            json_array_foreach(json_object_get(s, "credentials"), j, x)
            {
                assert_string_equal(json_string_value(json_object_get(x, "ssid")), "Demo Home");
                returned++;
            }
            assert_int_equal(json_array_size(json_object_get(s, "refusals")), 0);
        }
        assert_true(posted >= 2);
        assert_int_equal(returned, 1);
        json_decref(sessions);
    }
}

/* ------------------------------------------------------------ fallbacks */

static void fallback_when_there_is_no_provisioner(void **state)
{
    assert_fallback(state, D_NO_ECHO, WSS_DEV_FAIL_NO_PROVISIONER);
}

static void fallback_when_the_provisioner_is_offline(void **state)
{
    assert_fallback(state, D_ECHO_OFFLINE, WSS_DEV_FAIL_NO_PROVISIONER);
}

static void fallback_when_the_provisioner_serves_5ghz_only(void **state)
{
    assert_fallback(state, D_ECHO_5GHZ, WSS_DEV_FAIL_NO_PROVISIONER);
}

/* A device nobody bought: the Echo does not bring its network up, the open
 * setup network leads to the DSS, which refuses. */
static void fallback_when_the_dss_refuses_a_device_not_sold(void **state)
{
    const wss_fleet_device *d = dev(state, D_NOT_SOLD);
    assert_fallback(state, D_NOT_SOLD, WSS_DEV_FAIL_REFUSED);
    assert_int_equal(d->result.setup_network, 2);
    json_t *sessions = dss_sessions(state, d->dsn);
    assert_true(json_array_size(sessions) >= 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sessions, 0), "reason")), "NOT_PURCHASED");
    json_decref(sessions);
    assert_string_equal(d->session_token, "");
}

static void fallback_when_another_customer_bought_it(void **state)
{
    const wss_fleet_device *d = dev(state, D_OTHER_BUYER);
    assert_fallback(state, D_OTHER_BUYER, WSS_DEV_FAIL_REFUSED);
    json_t *sessions = dss_sessions(state, d->dsn);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sessions, 0), "reason")), "OTHER_CUSTOMER");
    json_decref(sessions);
}

static void fallback_when_no_locker_network_is_in_range(void **state)
{
    assert_fallback(state, D_NO_LOCKER_NETWORK, WSS_DEV_FAIL_NO_CREDENTIALS);
}

static void fallback_when_the_home_network_cannot_be_joined(void **state)
{
    assert_fallback(state, D_ROUTER_REFUSES, WSS_DEV_FAIL_JOIN);
}

/* A response whose signature does not verify aborts the flow before its
 * content is used: no session token is ever stored. */
static void a_bad_response_signature_aborts_the_flow(void **state)
{
    const wss_fleet_device *d = dev(state, D_BAD_SIGNATURE);
    assert_fallback(state, D_BAD_SIGNATURE, WSS_DEV_FAIL_BAD_SIGNATURE);
    assert_string_equal(d->session_token, "");
    assert_int_equal(d->result.dss_calls, 1);
}

static void fallback_when_the_time_budget_is_spent(void **state)
{
    assert_fallback(state, D_SLOW, WSS_DEV_FAIL_TIMEOUT);
}

/* ------------------------------------------------------------ session tokens at the gateway */

typedef struct gateway {
    sim_client client;
    char *token;
} gateway;

static void gateway_open(void **state, gateway *g)
{
    world *w = *state;
    char dir[4200], err[512];
    snprintf(dir, sizeof dir, "%s/sim", wss_fleet_state_dir(w->f));
    assert_int_equal(sim_client_load(&g->client, dir, 0, err, sizeof err), WSS_OK);
    g->token = sim_client_lwa_token(&g->client, sim_client_skill(&g->client, "client_id"),
                                    sim_client_skill(&g->client, "client_secret"),
                                    "alexa::device_association_report:write", err, sizeof err);
    if (!g->token)
        fail_msg("no LWA token: %s", err);
}

static void gateway_close(gateway *g)
{
    free(g->token);
    sim_client_free(&g->client);
}

/* Posts an SDAE with session_token signed by the key in bundle; returns the status and the gateway's description. */
static int post_sdae(gateway *g, const wss_fleet_device *signer, const char *session_token, const char *device_id,
                     char *desc, size_t desclen)
{
    char path[4200], err[256];
    snprintf(path, sizeof path, "%s/private_key.pem", signer->bundle_dir);
    char *pem = NULL;
    assert_int_equal(wss_read_file(path, 1 << 16, &pem, NULL), WSS_OK);
    wss_crypto_key *key = NULL;
    assert_int_equal(wss_key_parse_private_pem(pem, &key, err, sizeof err), WSS_OK);
    free(pem);
    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(key, session_token, strlen(session_token), &sig), WSS_OK);
    wss_key_free(key);
    char message_id[37];
    wss_uuid4(message_id);
    json_t *ev = sim_client_sdae(g->token, message_id, session_token, sig, device_id, "SWITCH");
    free(sig);
    char *body = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    wss_httpc_response resp;
    int status = sim_client_post(&g->client, "/v3/events", g->token, "application/json", body, strlen(body), &resp, err,
                                 sizeof err);
    free(body);
    assert_true(status > 0);
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    const char *d = json_string_value(json_object_get(json_object_get(doc, "payload"), "description"));
    snprintf(desc, desclen, "%s", d ? d : "");
    json_decref(doc);
    wss_httpc_response_free(&resp);
    return status;
}

/* The session token a device used once cannot be used again. */
static void a_replayed_session_token_is_rejected_at_the_gateway(void **state)
{
    const wss_fleet_device *d = dev(state, D_FIRST);
    gateway g;
    gateway_open(state, &g);
    char desc[512];
    assert_int_equal(post_sdae(&g, d, d->session_token, "replay-of-first", desc, sizeof desc), 400);
    assert_non_null(strstr(desc, "already used"));
    gateway_close(&g);
}

/* A token the DSS issued to one device, signed by another, is refused; so is one it never issued. */
static void a_foreign_or_invented_session_token_is_rejected_at_the_gateway(void **state)
{
    /* The device behind the broken router got its token but never reported it. */
    const wss_fleet_device *owner = dev(state, D_ROUTER_REFUSES);
    const wss_fleet_device *thief = dev(state, D_SECOND);
    assert_true(strncmp(owner->session_token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0);
    gateway g;
    gateway_open(state, &g);
    char desc[512];
    assert_int_equal(post_sdae(&g, thief, owner->session_token, "foreign-token", desc, sizeof desc), 400);
    assert_non_null(strstr(desc, "does not verify"));
    assert_int_equal(post_sdae(&g, thief, "amzn1.ffs.wss-wifi-session-token.00000000-0000-4000-8000-000000000000",
                               "invented-token", desc, sizeof desc),
                     400);
    assert_non_null(strstr(desc, "not issued"));
    /* The rightful owner can still use it: refusals did not burn it. */
    assert_int_equal(post_sdae(&g, owner, owner->session_token, "owner-late-report", desc, sizeof desc), 202);
    gateway_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zts_succeeds_and_devices_reach_the_alexa_account),
        cmocka_unit_test(dss_records_the_full_tls_flow),
        cmocka_unit_test(devices_post_only_networks_they_saw_and_get_only_those),
        cmocka_unit_test(fallback_when_there_is_no_provisioner),
        cmocka_unit_test(fallback_when_the_provisioner_is_offline),
        cmocka_unit_test(fallback_when_the_provisioner_serves_5ghz_only),
        cmocka_unit_test(fallback_when_the_dss_refuses_a_device_not_sold),
        cmocka_unit_test(fallback_when_another_customer_bought_it),
        cmocka_unit_test(fallback_when_no_locker_network_is_in_range),
        cmocka_unit_test(fallback_when_the_home_network_cannot_be_joined),
        cmocka_unit_test(a_bad_response_signature_aborts_the_flow),
        cmocka_unit_test(fallback_when_the_time_budget_is_spent),
        cmocka_unit_test(a_replayed_session_token_is_rejected_at_the_gateway),
        cmocka_unit_test(a_foreign_or_invented_session_token_is_rejected_at_the_gateway),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
