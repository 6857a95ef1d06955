/* test_sim_config.c - the configuration file (docs/sim.md) as the emulator
 * process reads it: refusals, secrets from the environment, customers' skill
 * links, default rate limits and fault rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void config_unknown_key_refused(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "tokne_lifetime_s", json_integer(10));
    e2e_sim_write_config(&w->sim, w->config);
    int code = e2e_sim_start_expect_exit(&w->sim);
    assert_int_not_equal(code, 0);
    assert_true(e2e_sim_log_contains(&w->sim, "tokne_lifetime_s"));
}

static void config_bad_values_refused(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(e2e_config_skill(w->config), "stage", json_string("beta"));
    e2e_sim_write_config(&w->sim, w->config);
    assert_int_not_equal(e2e_sim_start_expect_exit(&w->sim), 0);
    assert_true(e2e_sim_log_contains(&w->sim, "stage"));

    json_object_set_new(e2e_config_skill(w->config), "stage", json_string("live"));
    json_object_set_new(w->config, "max_event_bytes", json_integer(10));
    e2e_sim_write_config(&w->sim, w->config);
    assert_int_not_equal(e2e_sim_start_expect_exit(&w->sim), 0);
    assert_true(e2e_sim_log_contains(&w->sim, "max_event_bytes"));
    assert_false(e2e_sim_log_contains(&w->sim, "listening on"));
}

static void config_client_secret_from_environment(void **state)
{
    e2e_world *w = *state;
    char *secret = wss_random_token("amzn1.oa2-cs.v1.env-", 24);
    assert_non_null(secret);
    assert_int_equal(setenv("WSS_E2E_SKILL_SECRET", secret, 1), 0);
    json_t *skill = e2e_config_skill(w->config);
    json_object_del(skill, "client_secret");
    json_object_set_new(skill, "client_secret_env", json_string("WSS_E2E_SKILL_SECRET"));
    e2e_sim_write_config(&w->sim, w->config);
    e2e_sim_start(&w->sim);
    unsetenv("WSS_E2E_SKILL_SECRET");
    assert_string_equal(w->sim.client_secret, secret);
    char *token = e2e_client_token(&w->sim);
    free(token);
    free(secret);
}

static void config_customer_skill_link_sends_accept_grant_at_start(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(json_array_get(json_object_get(w->config, "customers"), 0), "skills",
                        json_pack("[{s:s, s:s}]", "skill_id", E2E_SKILL_ID, "access_token", "maker-token-from-config"));
    e2e_world_start(w);
    json_t *grant = e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000);
    e2e_assert_jstr(grant, "directive.payload.grantee.token", "maker-token-from-config");
    json_decref(grant);
    /* The customer has the skill: an SDAE is followed by its CDAD at once. */
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "CONFIG-LINK", w->sim.customer_id);
    char *token = e2e_client_token(&w->sim);
    json_t *ev = e2e_device_sdae(&d, token);
    e2e_resp r;
    e2e_post_event(&w->sim, token, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    e2e_assert_jstr(cdad, "directive.payload.scope.token", "maker-token-from-config");
    json_decref(cdad);
    free(token);
    e2e_device_free(&d);
}

static void config_default_rate_limit_applies(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "default_rate_limit", json_pack("{s:f, s:i}", "per_second", 0.01, "burst", 1));
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", "{}", 2, &r);
    e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&r);
    e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", "{}", 2, &r);
    e2e_assert_exception(&r, 429, "THROTTLING_EXCEPTION");
    assert_string_equal(r.retry_after, "1");
    e2e_resp_free(&r);
    free(token);
}

static void config_faults_apply_from_start(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(
        w->config, "faults",
        json_pack("[{s:s, s:s, s:[i, i]}]", "route", "events", "client", E2E_CLIENT_ID, "schedule", 503, 0));
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", "{}", 2, &r);
    e2e_assert_exception(&r, 503, "SERVICE_UNAVAILABLE_EXCEPTION");
    e2e_resp_free(&r);
    e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", "{}", 2, &r);
    e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&r);
    json_t *faults = e2e_control(&w->sim, "GET", "/faults", NULL, 200);
    e2e_assert_jstr(faults, "faults.0.origin", "config");
    assert_int_equal(e2e_jint(faults, "faults.0.hits", -1), 2);
    json_decref(faults);
    free(token);
}

/* docs/sim.md: max_event_bytes is the "/v3/events body limit"; the control
 * API (which takes maker tokens of up to 4096 bytes) and LWA keep their own. */
static void config_max_event_bytes_limits_only_events(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "max_event_bytes", json_integer(1024));
    e2e_world_start(w);
    char maker[3001];
    memset(maker, 'm', sizeof maker - 1);
    maker[sizeof maker - 1] = 0;
    e2e_enable_skill(&w->sim, w->sim.customer_id, maker);
    json_t *grant = e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000);
    e2e_assert_jstr(grant, "directive.payload.grantee.token", maker);
    json_decref(grant);
    /* While an event of 1025 bytes is too large. */
    char *token = e2e_client_token(&w->sim);
    char body[1026];
    memset(body, ' ', sizeof body - 1);
    body[0] = '{';
    body[sizeof body - 2] = '}';
    body[sizeof body - 1] = 0;
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", body, strlen(body), &r);
    e2e_assert_exception(&r, 413, "REQUEST_ENTITY_TOO_LARGE_EXCEPTION");
    e2e_resp_free(&r);
    free(token);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_world_setup, e2e_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(config_unknown_key_refused),
        T(config_bad_values_refused),
        T(config_client_secret_from_environment),
        T(config_customer_skill_link_sends_accept_grant_at_start),
        T(config_default_rate_limit_applies),
        T(config_faults_apply_from_start),
        T(config_max_event_bytes_limits_only_events),
    };
    return cmocka_run_group_tests_name("e2e: configuration file", tests, NULL, NULL);
}
