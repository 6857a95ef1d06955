/* test_sim_restart.c - stopping the emulator and starting it again on the
 * same state directory (on a new port) continues where it stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void post_expect(e2e_world *w, const char *token, json_t *ev, long status, const char *code)
{
    e2e_resp r;
    e2e_post_event(&w->sim, token, ev, &r);
    if (code)
        e2e_assert_exception(&r, status, code);
    else
        e2e_assert_status(&r, status);
    e2e_resp_free(&r);
    json_decref(ev);
}

static void restart_between_sdae_and_skill_enable_delivers_cdad(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "RESTART-CDAD", w->sim.customer_id);
    char *token = e2e_client_token(&w->sim);
    post_expect(w, token, e2e_device_sdae(&d, token), 202, NULL);
    json_t *a = e2e_association(&w->sim, d.device_id);
    e2e_assert_jstr(a, "state", "waiting_for_skill");
    json_decref(a);

    e2e_sim_stop(&w->sim);
    e2e_sim_start(&w->sim);

    a = e2e_association(&w->sim, d.device_id);
    assert_non_null(a);
    e2e_assert_jstr(a, "state", "waiting_for_skill");
    e2e_assert_jstr(a, "friendly_name", "First Switch");
    json_decref(a);
    assert_int_equal(e2e_skill_count(w->skill, NULL), 0);

    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-after-restart");
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    e2e_assert_jstr(cdad, "directive.payload.device.id", d.device_id);
    e2e_assert_jstr(cdad, "directive.payload.scope.token", "maker-token-after-restart");
    e2e_assert_jstr(cdad, "directive.payload.device.preferredFriendlyNames.0.value.text", "First Switch");
    json_decref(cdad);
    json_decref(e2e_wait_association(&w->sim, d.device_id, "associated", 5000));
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, "AssociateCustomerDevice"), 1);

    /* The accepted message was remembered across the restart: a retry of it
     * is a duplicate, not a second association. */
    json_t *counters = e2e_control(&w->sim, "GET", "/counters", NULL, 200);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), 1);
    json_decref(counters);
    free(token);
    e2e_device_free(&d);
}

static void restart_keeps_tokens_and_control_token(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *client = e2e_client_token(&w->sim);
    char *access = NULL, *refresh = NULL;
    e2e_link_customer(w, "maker-token-restart", &access, &refresh);
    char control[256], secret[256], ca[sizeof w->sim.ca_file];
    snprintf(control, sizeof control, "%s", w->sim.control_token);
    snprintf(secret, sizeof secret, "%s", w->sim.client_secret);
    snprintf(ca, sizeof ca, "%s", w->sim.ca_file);

    e2e_sim_stop(&w->sim);
    e2e_sim_start(&w->sim);

    /* The same control token, secret and CA in the new credentials.json. */
    assert_string_equal(w->sim.control_token, control);
    assert_string_equal(w->sim.client_secret, secret);
    assert_string_equal(w->sim.ca_file, ca);
    e2e_resp r;
    e2e_http(&w->sim, "GET", "/healthz", NULL, NULL, NULL, 0, &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    json_decref(e2e_control(&w->sim, "GET", "/customers", NULL, 200));

    /* The client_credentials token from before the restart. */
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "RESTART-TOKENS", w->sim.customer_id);
    post_expect(w, client, e2e_device_sdae(&d, client), 202, NULL);
    /* The customer's access token from before the restart. */
    post_expect(w, access, e2e_discovery_report(access, "restart-endpoint", "Garage Switch"), 202, NULL);
    /* And the refresh token. */
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "refresh_token", "refresh_token", refresh, "client_id",
                           w->sim.client_id, "client_secret", w->sim.client_secret),
                 &r);
    e2e_assert_status(&r, 200);
    assert_non_null(e2e_jstr(r.json, "access_token"));
    e2e_resp_free(&r);
    /* A token never issued is still refused: the restart did not open the door. */
    post_expect(w, "Atza|unknown", e2e_device_sdae(&d, "Atza|unknown"), 401, "INVALID_ACCESS_TOKEN_EXCEPTION");
    free(client);
    free(access);
    free(refresh);
    e2e_device_free(&d);
}

static void restart_keeps_clock_and_fault_sequence(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_advance_clock(&w->sim, 10.0 * 86400);
    char *token = e2e_client_token(&w->sim);
    e2e_add_fault(&w->sim, json_pack("{s:s, s:[i, i]}", "route", "events", "schedule", 500, 503));
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "RESTART-FAULTS", w->sim.customer_id);
    post_expect(w, token, e2e_device_sdae(&d, token), 500, "INTERNAL_SERVICE_EXCEPTION");

    e2e_sim_stop(&w->sim);
    e2e_sim_start(&w->sim);

    json_t *clock = e2e_control(&w->sim, "GET", "/clock", NULL, 200);
    assert_int_equal(e2e_jint(clock, "offset_ms", -1), 10LL * 86400 * 1000);
    json_decref(clock);
    /* The schedule goes on from its second step. */
    post_expect(w, token, e2e_device_sdae(&d, token), 503, "SERVICE_UNAVAILABLE_EXCEPTION");
    post_expect(w, token, e2e_device_sdae(&d, token), 202, NULL);
    free(token);
    e2e_device_free(&d);
}

static void restart_after_crash_resends_directive_in_flight(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "skill_timeout_ms", json_integer(10000));
    e2e_world_start(w);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-crash");
    json_decref(e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000));
    json_decref(e2e_wait_skill_requests(&w->sim, 1, 5000));

    /* The skill holds its answer; the emulator dies while waiting for it. */
    e2e_skill_set_mode(w->skill, E2E_SKILL_SLOW);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "RESTART-CRASH", w->sim.customer_id);
    char *token = e2e_client_token(&w->sim);
    post_expect(w, token, e2e_device_sdae(&d, token), 202, NULL);
    json_decref(e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000));
    e2e_sim_kill(&w->sim);

    e2e_skill_set_mode(w->skill, E2E_SKILL_GOOD);
    e2e_sim_start(&w->sim);
    json_t *again = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 1, 5000);
    e2e_assert_jstr(again, "directive.payload.device.id", d.device_id);
    json_decref(again);
    json_decref(e2e_wait_association(&w->sim, d.device_id, "associated", 5000));
    json_t *req = e2e_wait_skill_requests(&w->sim, 2, 5000);
    assert_int_equal(e2e_jint(req, "ok", -1), 2);
    json_decref(req);
    free(token);
    e2e_device_free(&d);
}

/* A restart is no new enabling by the customer: a skill link from the
 * configuration gets its AcceptGrant once, not at every start. */
static void restart_does_not_resend_accept_grant_for_config_link(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(json_array_get(json_object_get(w->config, "customers"), 0), "skills",
                        json_pack("[{s:s, s:s}]", "skill_id", E2E_SKILL_ID, "access_token", "maker-token-config"));
    e2e_world_start(w);
    json_decref(e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000));
    json_decref(e2e_wait_skill_requests(&w->sim, 1, 5000));

    e2e_sim_stop(&w->sim);
    e2e_sim_start(&w->sim);
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, "AcceptGrant"), 1);
}

/* The customer's choice made through the control API outlives a restart. */
static void restart_keeps_skill_disabled_by_customer(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(json_array_get(json_object_get(w->config, "customers"), 0), "skills",
                        json_pack("[{s:s, s:s}]", "skill_id", E2E_SKILL_ID, "access_token", "maker-token-config"));
    e2e_world_start(w);
    json_decref(e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000));
    char path[600];
    snprintf(path, sizeof path, "/customers/%s/skills/%s", w->sim.customer_id, w->sim.skill_id);
    json_decref(e2e_control(&w->sim, "DELETE", path, NULL, 200));

    e2e_sim_stop(&w->sim);
    e2e_sim_start(&w->sim);

    /* Still disabled: an SDAE waits for the skill instead of being sent. */
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "RESTART-DISABLED", w->sim.customer_id);
    char *token = e2e_client_token(&w->sim);
    post_expect(w, token, e2e_device_sdae(&d, token), 202, NULL);
    json_t *a = e2e_association(&w->sim, d.device_id);
    e2e_assert_jstr(a, "state", "waiting_for_skill");
    json_decref(a);
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, "AssociateCustomerDevice"), 0);
    free(token);
    e2e_device_free(&d);
}

/* docs/sim.md: configuration fault rules are "replaced at every start", so
 * their schedule starts over, unlike rules added through the control API. */
static void restart_replaces_config_faults(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "faults", json_pack("[{s:s, s:[i, i]}]", "route", "events", "schedule", 503, 0));
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", "{}", 2, &r);
    e2e_assert_exception(&r, 503, "SERVICE_UNAVAILABLE_EXCEPTION");
    e2e_resp_free(&r);
    e2e_sim_stop(&w->sim);
    e2e_sim_start(&w->sim);
    e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", "{}", 2, &r);
    e2e_assert_exception(&r, 503, "SERVICE_UNAVAILABLE_EXCEPTION");
    e2e_resp_free(&r);
    json_t *faults = e2e_control(&w->sim, "GET", "/faults", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(faults, "faults")), 1);
    json_decref(faults);
    free(token);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_world_setup, e2e_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(restart_between_sdae_and_skill_enable_delivers_cdad),
        T(restart_keeps_tokens_and_control_token),
        T(restart_keeps_clock_and_fault_sequence),
        T(restart_after_crash_resends_directive_in_flight),
        T(restart_does_not_resend_accept_grant_for_config_link),
        T(restart_keeps_skill_disabled_by_customer),
        T(restart_replaces_config_faults),
    };
    return cmocka_run_group_tests_name("e2e: restart on the same state", tests, NULL, NULL);
}
