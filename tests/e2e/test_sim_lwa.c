/* test_sim_lwa.c - the emulated Login with Amazon token endpoint, /auth/o2/token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The fields the seed's sample response has, with these values. */
static void assert_token_response(const e2e_resp *r, const char *scope, long long expires_in)
{
    e2e_assert_status(r, 200);
    const char *token = e2e_jstr(r->json, "access_token");
    assert_non_null(token);
    /* docs/sim-fidelity.md: "Atza|" and 360 characters, like LWA's. */
    assert_true(strncmp(token, "Atza|", 5) == 0);
    assert_int_equal(strlen(token), 5 + 360);
    e2e_assert_jstr(r->json, "scope", scope);
    e2e_assert_jstr(r->json, "token_type", "bearer");
    assert_int_equal(e2e_jint(r->json, "expires_in", -1), expires_in);
}

/* An OAuth 2 error answer: status, "error" and a non-empty "error_description". */
static void assert_oauth_error(const e2e_resp *r, long status, const char *error)
{
    e2e_assert_status(r, status);
    e2e_assert_jstr(r->json, "error", error);
    const char *description = e2e_jstr(r->json, "error_description");
    assert_non_null(description);
    assert_true(*description);
    assert_null(e2e_jget(r->json, "access_token"));
}

/* The token works where the seed says it is used: an SDAE gets 202. */
static void assert_token_accepted_by_gateway(e2e_world *w, const char *token, const char *dsn)
{
    e2e_device d;
    e2e_device_setup(&w->sim, &d, dsn, w->sim.customer_id);
    json_t *ev = e2e_device_sdae(&d, token);
    e2e_resp r;
    e2e_post_event(&w->sim, token, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    e2e_device_free(&d);
}

static void lwa_client_credentials_json_body(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "token_lifetime_s", json_integer(1800));
    e2e_world_start(w);
    e2e_resp r;
    /* The seed's sample request, field for field. */
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id", w->sim.client_id,
                           "client_secret", w->sim.client_secret, "scope", E2E_SCOPE_ASSOCIATION),
                 &r);
    assert_token_response(&r, E2E_SCOPE_ASSOCIATION, 1800);
    assert_null(e2e_jget(r.json, "refresh_token"));
    char *token = strdup(e2e_jstr(r.json, "access_token"));
    e2e_resp_free(&r);
    assert_token_accepted_by_gateway(w, token, "LWA-JSON-1");
    free(token);
}

static void lwa_client_credentials_form_body(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char form[2048];
    snprintf(form, sizeof form,
             "grant_type=client_credentials&client_id=%s&client_secret=%s"
             "&scope=alexa%%3A%%3Adevice_association_report%%3Awrite",
             w->sim.client_id, w->sim.client_secret);
    e2e_resp r;
    e2e_lwa_form(&w->sim, form, &r);
    assert_token_response(&r, E2E_SCOPE_ASSOCIATION, 3600);
    char *token = strdup(e2e_jstr(r.json, "access_token"));
    e2e_resp_free(&r);
    assert_token_accepted_by_gateway(w, token, "LWA-FORM-1");

    /* Two requests give two different tokens. */
    e2e_lwa_form(&w->sim, form, &r);
    assert_token_response(&r, E2E_SCOPE_ASSOCIATION, 3600);
    assert_string_not_equal(e2e_jstr(r.json, "access_token"), token);
    e2e_resp_free(&r);
    free(token);
}

static void lwa_wrong_secret_is_invalid_client_401(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_resp r;
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id", w->sim.client_id,
                           "client_secret", "amzn1.oa2-cs.v1.not-the-secret", "scope", E2E_SCOPE_ASSOCIATION),
                 &r);
    assert_oauth_error(&r, 401, "invalid_client");
    e2e_resp_free(&r);
    /* Without a secret at all. */
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id", w->sim.client_id,
                           "scope", E2E_SCOPE_ASSOCIATION),
                 &r);
    assert_oauth_error(&r, 401, "invalid_client");
    e2e_resp_free(&r);
}

static void lwa_unknown_client_is_invalid_client_401(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_resp r;
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id",
                           "amzn1.application-oa2-client.NOSUCHCLIENT", "client_secret", w->sim.client_secret, "scope",
                           E2E_SCOPE_ASSOCIATION),
                 &r);
    assert_oauth_error(&r, 401, "invalid_client");
    e2e_resp_free(&r);
}

static void lwa_unsupported_grant_type_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_resp r;
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "grant_type", "password", "client_id", w->sim.client_id,
                           "client_secret", w->sim.client_secret, "username", "someone", "password", "secret", "scope",
                           E2E_SCOPE_ASSOCIATION),
                 &r);
    assert_oauth_error(&r, 400, "unsupported_grant_type");
    e2e_resp_free(&r);
}

static void lwa_invalid_scope_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    static const char *const scopes[] = {"profile", E2E_SCOPE_ASYNC_EVENT,
                                         "alexa::device_association_report:write extra"};
    e2e_resp r;
    for (size_t i = 0; i < sizeof scopes / sizeof *scopes; i++) {
        e2e_lwa_json(&w->sim,
                     json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id",
                               w->sim.client_id, "client_secret", w->sim.client_secret, "scope", scopes[i]),
                     &r);
        assert_oauth_error(&r, 400, "invalid_scope");
        e2e_resp_free(&r);
    }
    /* No scope at all. */
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id", w->sim.client_id,
                           "client_secret", w->sim.client_secret),
                 &r);
    assert_oauth_error(&r, 400, "invalid_scope");
    e2e_resp_free(&r);
}

static void lwa_authorization_code_then_refresh_token(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-for-alexa-1");
    json_t *grant = e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000);
    e2e_assert_jstr(grant, "directive.header.namespace", "Alexa.Authorization");
    e2e_assert_jstr(grant, "directive.header.payloadVersion", "3");
    e2e_assert_jstr(grant, "directive.payload.grant.type", "OAuth2.AuthorizationCode");
    e2e_assert_jstr(grant, "directive.payload.grantee.type", "BearerToken");
    e2e_assert_jstr(grant, "directive.payload.grantee.token", "maker-token-for-alexa-1");
    const char *code = e2e_jstr(grant, "directive.payload.grant.code");
    assert_non_null(code);

    /* authorization_code, as a form body this time. */
    char form[2048];
    snprintf(form, sizeof form, "grant_type=authorization_code&code=%s&client_id=%s&client_secret=%s", code,
             w->sim.client_id, w->sim.client_secret);
    e2e_resp r;
    e2e_lwa_form(&w->sim, form, &r);
    assert_token_response(&r, E2E_SCOPE_ASYNC_EVENT, 3600);
    const char *refresh = e2e_jstr(r.json, "refresh_token");
    assert_non_null(refresh);
    assert_true(strncmp(refresh, "Atzr|", 5) == 0);
    assert_int_equal(strlen(refresh), 5 + 360);
    char *access1 = strdup(e2e_jstr(r.json, "access_token"));
    char *refresh1 = strdup(refresh);
    e2e_resp_free(&r);

    /* refresh_token gives a new pair. */
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "refresh_token", "refresh_token", refresh1,
                           "client_id", w->sim.client_id, "client_secret", w->sim.client_secret),
                 &r);
    assert_token_response(&r, E2E_SCOPE_ASYNC_EVENT, 3600);
    assert_non_null(e2e_jstr(r.json, "refresh_token"));
    assert_string_not_equal(e2e_jstr(r.json, "access_token"), access1);
    char *access2 = strdup(e2e_jstr(r.json, "access_token"));
    e2e_resp_free(&r);

    /* Both customer tokens are known to the gateway: an SDAE with them is
     * refused for its scope (403), not for the token (401). */
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "LWA-CODE-1", w->sim.customer_id);
    const char *tokens[] = {access1, access2};
    for (int i = 0; i < 2; i++) {
        json_t *ev = e2e_device_sdae(&d, tokens[i]);
        e2e_post_event(&w->sim, tokens[i], ev, &r);
        e2e_assert_exception(&r, 403, "INSUFFICIENT_PERMISSION_EXCEPTION");
        e2e_resp_free(&r);
        json_decref(ev);
    }
    /* A refresh token is not an access token. */
    json_t *ev = e2e_device_sdae(&d, refresh1);
    e2e_post_event(&w->sim, refresh1, ev, &r);
    e2e_assert_exception(&r, 401, "INVALID_ACCESS_TOKEN_EXCEPTION");
    e2e_resp_free(&r);
    json_decref(ev);

    e2e_device_free(&d);
    free(access1);
    free(access2);
    free(refresh1);
    json_decref(grant);
}

static void lwa_reused_code_is_invalid_grant(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-for-alexa-2");
    json_t *grant = e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000);
    const char *code = e2e_jstr(grant, "directive.payload.grant.code");
    assert_non_null(code);
    char *access = NULL;
    e2e_exchange_code(&w->sim, code, &access, NULL);
    free(access);
    e2e_resp r;
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "authorization_code", "code", code, "client_id",
                           w->sim.client_id, "client_secret", w->sim.client_secret),
                 &r);
    assert_oauth_error(&r, 400, "invalid_grant");
    e2e_resp_free(&r);
    /* A code never issued either. */
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "authorization_code", "code", "ANcodeNeverIssued",
                           "client_id", w->sim.client_id, "client_secret", w->sim.client_secret),
                 &r);
    assert_oauth_error(&r, 400, "invalid_grant");
    e2e_resp_free(&r);
    json_decref(grant);
}

static void lwa_expired_code_is_invalid_grant(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "code_lifetime_s", json_integer(120));
    e2e_world_start(w);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-for-alexa-3");
    json_t *grant = e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000);
    const char *code = e2e_jstr(grant, "directive.payload.grant.code");
    assert_non_null(code);
    e2e_advance_clock(&w->sim, 121);
    e2e_resp r;
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "authorization_code", "code", code, "client_id",
                           w->sim.client_id, "client_secret", w->sim.client_secret),
                 &r);
    assert_oauth_error(&r, 400, "invalid_grant");
    e2e_resp_free(&r);
    json_decref(grant);
}

static void lwa_injected_503_then_recovers(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_add_fault(&w->sim, json_pack("{s:s, s:[i]}", "route", "lwa", "schedule", 503));
    e2e_resp r;
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id", w->sim.client_id,
                           "client_secret", w->sim.client_secret, "scope", E2E_SCOPE_ASSOCIATION),
                 &r);
    assert_oauth_error(&r, 503, "temporarily_unavailable");
    e2e_resp_free(&r);
    char *token = e2e_client_token(&w->sim);
    free(token);
}

/* docs/sim-fidelity.md: "the old refresh token keeps working until the skill is disabled". */
static void lwa_refresh_token_reusable_until_skill_disabled(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *access = NULL, *refresh = NULL;
    e2e_link_customer(w, "maker-token-refresh", &access, &refresh);
    e2e_resp r;
    for (int i = 0; i < 2; i++) {
        e2e_lwa_json(&w->sim,
                     json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "refresh_token", "refresh_token", refresh,
                               "client_id", w->sim.client_id, "client_secret", w->sim.client_secret),
                     &r);
        assert_token_response(&r, E2E_SCOPE_ASYNC_EVENT, 3600);
        e2e_resp_free(&r);
    }
    char path[600];
    snprintf(path, sizeof path, "/customers/%s/skills/%s", w->sim.customer_id, w->sim.skill_id);
    json_decref(e2e_control(&w->sim, "DELETE", path, NULL, 200));
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "refresh_token", "refresh_token", refresh, "client_id",
                           w->sim.client_id, "client_secret", w->sim.client_secret),
                 &r);
    assert_oauth_error(&r, 400, "invalid_grant");
    e2e_resp_free(&r);
    free(access);
    free(refresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lwa_client_credentials_json_body, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_client_credentials_form_body, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_wrong_secret_is_invalid_client_401, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_unknown_client_is_invalid_client_401, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_unsupported_grant_type_400, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_invalid_scope_400, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_authorization_code_then_refresh_token, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_reused_code_is_invalid_grant, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_refresh_token_reusable_until_skill_disabled, e2e_world_setup,
                                        e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_expired_code_is_invalid_grant, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(lwa_injected_503_then_recovers, e2e_world_setup, e2e_world_teardown),
    };
    return cmocka_run_group_tests_name("e2e: Login with Amazon", tests, NULL, NULL);
}
