/* test_sim_gateway_errors.c - every row of the seed's error table for
 * POST /v3/events, each with the seed's System.Exception body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* A world with the emulator started, a token and a device ready for an SDAE. */
typedef struct ready {
    char *token;
    e2e_device device;
} ready;

static void get_ready(e2e_world *w, ready *r, const char *dsn)
{
    r->token = e2e_client_token(&w->sim);
    e2e_device_setup(&w->sim, &r->device, dsn, w->sim.customer_id);
}

static void release(ready *r)
{
    free(r->token);
    e2e_device_free(&r->device);
}

/* Sends the device's SDAE with this bearer and expects status/code. */
static void sdae_expect(e2e_world *w, const e2e_device *d, const char *bearer, long status, const char *code)
{
    json_t *ev = e2e_device_sdae(d, bearer ? bearer : "Atza|no-bearer-was-sent");
    e2e_resp r;
    e2e_post_event(&w->sim, bearer, ev, &r);
    if (code)
        e2e_assert_exception(&r, status, code);
    else
        e2e_assert_status(&r, status);
    e2e_resp_free(&r);
    json_decref(ev);
}

/* No association was created by refused events. */
static void assert_no_association(e2e_world *w, const e2e_device *d)
{
    json_t *a = e2e_association(&w->sim, d->device_id);
    assert_null(a);
}

/* ---- 400 ---- */

static void gateway_400_malformed_json(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-400-JSON");
    static const char *const bodies[] = {
        "{\"event\": {\"header\": {\"namespace\": \"Alexa.SimpleSetup\"", /* cut short */
        "{event: {}}",                                                    /* not JSON */
        "[\"event\"]",                                                    /* JSON, not an object */
        "",                                                               /* nothing */
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        e2e_resp r;
        e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", bodies[i], strlen(bodies[i]), &r);
        e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
        e2e_resp_free(&r);
    }
    /* The same token and device then work: the 400s changed nothing. */
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    release(&rd);
}

static void gateway_400_wrong_content_type(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-400-CT");
    json_t *ev = e2e_device_sdae(&rd.device, rd.token);
    char *text = json_dumps(ev, JSON_COMPACT);
    static const char *const types[] = {"text/plain", "application/x-www-form-urlencoded"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        e2e_resp r;
        e2e_http(&w->sim, "POST", "/v3/events", rd.token, types[i], text, strlen(text), &r);
        e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
        e2e_resp_free(&r);
    }
    assert_no_association(w, &rd.device);
    /* The very same body as application/json is accepted. */
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", text, strlen(text), &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    free(text);
    json_decref(ev);
    release(&rd);
}

/* ---- 401 ---- */

static void gateway_401_no_token(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-401-NONE");
    sdae_expect(w, &rd.device, NULL, 401, "INVALID_ACCESS_TOKEN_EXCEPTION");
    /* An Authorization header of another scheme is no bearer token either. */
    json_t *ev = e2e_device_sdae(&rd.device, rd.token);
    char *text = json_dumps(ev, JSON_COMPACT);
    char auth[2048];
    snprintf(auth, sizeof auth, "Authorization: Basic %s", rd.token);
    const char *headers[] = {auth, NULL};
    wss_httpc_request req = {.method = "POST",
                             .body = text,
                             .body_len = strlen(text),
                             .headers = headers,
                             .ca_file = w->sim.ca_file,
                             .timeout_ms = 10000};
    char url[400], err[256];
    snprintf(url, sizeof url, "%s/v3/events", w->sim.base_url);
    req.url = url;
    wss_httpc_response resp;
    assert_int_equal(wss_httpc_perform(&req, &resp, err, sizeof err), WSS_OK);
    e2e_resp r = {.status = resp.status,
                  .body = resp.body,
                  .len = resp.body_len,
                  .json = json_loadb(resp.body, resp.body_len, 0, NULL)};
    memcpy(r.content_type, resp.content_type, sizeof r.content_type);
    e2e_assert_exception(&r, 401, "INVALID_ACCESS_TOKEN_EXCEPTION");
    e2e_resp_free(&r);
    free(text);
    json_decref(ev);
    assert_no_association(w, &rd.device);
    release(&rd);
}

static void gateway_401_invalid_token(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-401-BAD");
    sdae_expect(w, &rd.device, "Atza|this-token-was-never-issued", 401, "INVALID_ACCESS_TOKEN_EXCEPTION");
    /* A real token with one character changed. */
    char *bent = strdup(rd.token);
    size_t n = strlen(bent);
    bent[n - 1] = bent[n - 1] == 'A' ? 'B' : 'A';
    sdae_expect(w, &rd.device, bent, 401, "INVALID_ACCESS_TOKEN_EXCEPTION");
    free(bent);
    assert_no_association(w, &rd.device);
    release(&rd);
}

static void gateway_401_expired_token_by_clock(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-401-EXP");
    e2e_advance_clock(&w->sim, 3590);
    /* Ten seconds before its end it still works (checked with a bad body: 400, not 401). */
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", "{}", 2, &r);
    e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&r);
    e2e_advance_clock(&w->sim, 11);
    sdae_expect(w, &rd.device, rd.token, 401, "INVALID_ACCESS_TOKEN_EXCEPTION");
    /* The description tells an expired token from an unknown one. */
    json_t *ev = e2e_device_sdae(&rd.device, rd.token);
    e2e_post_event(&w->sim, rd.token, ev, &r);
    assert_non_null(strstr(e2e_jstr(r.json, "payload.description"), "expired"));
    e2e_resp_free(&r);
    json_decref(ev);
    assert_no_association(w, &rd.device);
    /* A fresh token works again. */
    char *fresh = e2e_client_token(&w->sim);
    sdae_expect(w, &rd.device, fresh, 202, NULL);
    free(fresh);
    release(&rd);
}

static void gateway_401_expired_token_by_lifetime(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "token_lifetime_s", json_integer(1));
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-401-LIFE");
    e2e_sleep_ms(1100);
    sdae_expect(w, &rd.device, rd.token, 401, "INVALID_ACCESS_TOKEN_EXCEPTION");
    assert_no_association(w, &rd.device);
    release(&rd);
}

/* ---- 403 ---- */

static void gateway_403_customer_grant_token_for_sdae(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *customer_access = NULL, *customer_refresh = NULL;
    e2e_link_customer(w, "maker-token-403", &customer_access, &customer_refresh);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "GW-403", w->sim.customer_id);
    /* The seed's note: the AcceptGrant token is not the one for SDAEs. */
    sdae_expect(w, &d, customer_access, 403, "INSUFFICIENT_PERMISSION_EXCEPTION");
    assert_no_association(w, &d);
    char *token = e2e_client_token(&w->sim);
    sdae_expect(w, &d, token, 202, NULL);
    free(token);
    free(customer_access);
    free(customer_refresh);
    e2e_device_free(&d);
}

/* ---- 404 ---- */

static void patch_skill(e2e_world *w, json_t *body)
{
    char path[400];
    snprintf(path, sizeof path, "/skills/%s", w->sim.skill_id);
    json_t *stage = json_incref(json_object_get(body, "stage"));
    json_t *answer = e2e_control(&w->sim, "PATCH", path, body, 200);
    e2e_assert_jstr(answer, "skill_id", w->sim.skill_id);
    if (stage)
        e2e_assert_jstr(answer, "stage", json_string_value(stage));
    json_decref(stage);
    json_decref(answer);
}

static void gateway_404_skill_in_development_stage(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-404-DEV");
    patch_skill(w, json_pack("{s:s}", "stage", "development"));
    sdae_expect(w, &rd.device, rd.token, 404, "SKILL_NOT_FOUND_EXCEPTION");
    assert_no_association(w, &rd.device);
    patch_skill(w, json_pack("{s:s}", "stage", "live"));
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    release(&rd);
}

static void gateway_404_skill_in_development_stage_from_config(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(e2e_config_skill(w->config), "stage", json_string("development"));
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-404-CFG");
    sdae_expect(w, &rd.device, rd.token, 404, "SKILL_NOT_FOUND_EXCEPTION");
    release(&rd);
}

static void gateway_404_skill_disabled(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-404-OFF");
    patch_skill(w, json_pack("{s:b}", "enabled", 0));
    sdae_expect(w, &rd.device, rd.token, 404, "SKILL_NOT_FOUND_EXCEPTION");
    assert_no_association(w, &rd.device);
    patch_skill(w, json_pack("{s:b}", "enabled", 1));
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    release(&rd);
}

/* ---- 413 ---- */

/* An SDAE padded with an ignored extra key to total bytes. */
static char *padded_sdae(const e2e_device *d, const char *token, size_t total)
{
    json_t *ev = e2e_device_sdae(d, token);
    char *plain = json_dumps(ev, JSON_COMPACT);
    size_t base = strlen(plain) + strlen(",\"padding\":\"\"");
    assert_true(total > base);
    char *pad = malloc(total - base + 1);
    memset(pad, 'x', total - base);
    pad[total - base] = 0;
    json_object_set_new(ev, "padding", json_string(pad));
    char *text = json_dumps(ev, JSON_COMPACT);
    assert_int_equal(strlen(text), total);
    free(pad);
    free(plain);
    json_decref(ev);
    return text;
}

static void gateway_413_body_over_default_limit(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-413-DEF");
    char *big = padded_sdae(&rd.device, rd.token, 256 * 1024 + 1);
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", big, strlen(big), &r);
    e2e_assert_exception(&r, 413, "REQUEST_ENTITY_TOO_LARGE_EXCEPTION");
    e2e_resp_free(&r);
    free(big);
    assert_no_association(w, &rd.device);
    /* At the limit exactly it is taken. */
    char *fits = padded_sdae(&rd.device, rd.token, 256 * 1024);
    e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", fits, strlen(fits), &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    free(fits);
    release(&rd);
}

static void gateway_413_body_over_configured_max_event_bytes(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "max_event_bytes", json_integer(2048));
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-413-CFG");
    char *big = padded_sdae(&rd.device, rd.token, 2049);
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", big, strlen(big), &r);
    e2e_assert_exception(&r, 413, "REQUEST_ENTITY_TOO_LARGE_EXCEPTION");
    e2e_resp_free(&r);
    free(big);
    /* Size comes before the token: no token, still 413. */
    big = padded_sdae(&rd.device, rd.token, 4096);
    e2e_http(&w->sim, "POST", "/v3/events", NULL, "application/json", big, strlen(big), &r);
    e2e_assert_exception(&r, 413, "REQUEST_ENTITY_TOO_LARGE_EXCEPTION");
    e2e_resp_free(&r);
    free(big);
    char *fits = padded_sdae(&rd.device, rd.token, 2048);
    e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", fits, strlen(fits), &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    free(fits);
    release(&rd);
}

/* ---- 429 ---- */

static void gateway_429_rate_limit_exceeded(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(e2e_config_skill(w->config), "rate_limit",
                        json_pack("{s:f, s:i}", "per_second", 0.01, "burst", 3));
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-429");
    /* Three requests fit the burst (bad ones count too)... */
    for (int i = 0; i < 2; i++) {
        e2e_resp r;
        e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", "{}", 2, &r);
        e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
        e2e_resp_free(&r);
    }
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    /* ...the fourth is throttled, with a Retry-After. */
    e2e_device d2;
    e2e_device_setup(&w->sim, &d2, "GW-429-B", w->sim.customer_id);
    json_t *ev = e2e_device_sdae(&d2, rd.token);
    e2e_resp r;
    e2e_post_event(&w->sim, rd.token, ev, &r);
    e2e_assert_exception(&r, 429, "THROTTLING_EXCEPTION");
    assert_true(r.retry_after[0] != 0);
    assert_true(atoi(r.retry_after) >= 1);
    e2e_resp_free(&r);
    json_decref(ev);
    assert_null(e2e_association(&w->sim, d2.device_id));
    e2e_device_free(&d2);
    release(&rd);
}

/* ---- injected faults: 500, 503, 429 ---- */

static void gateway_500_injected_fault(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-500");
    long long id = e2e_add_fault(&w->sim, json_pack("{s:s, s:[i, i]}", "route", "events", "schedule", 500, 500));
    sdae_expect(w, &rd.device, rd.token, 500, "INTERNAL_SERVICE_EXCEPTION");
    sdae_expect(w, &rd.device, rd.token, 500, "INTERNAL_SERVICE_EXCEPTION");
    assert_no_association(w, &rd.device);
    /* The seed's advice (retry) then succeeds: the schedule is spent. */
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    json_t *faults = e2e_control(&w->sim, "GET", "/faults", NULL, 200);
    assert_int_equal(e2e_jint(faults, "faults.0.id", -1), id);
    assert_int_equal(e2e_jint(faults, "faults.0.hits", -1), 2);
    json_decref(faults);
    release(&rd);
}

static void gateway_503_injected_fault(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-503");
    e2e_add_fault(&w->sim, json_pack("{s:s, s:s, s:[i, i, i]}", "route", "events", "client", w->sim.client_id,
                                     "schedule", 503, 0, 503));
    sdae_expect(w, &rd.device, rd.token, 503, "SERVICE_UNAVAILABLE_EXCEPTION");
    /* The 0 in the schedule lets one through. */
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", rd.token, "application/json", "{}", 2, &r);
    e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&r);
    sdae_expect(w, &rd.device, rd.token, 503, "SERVICE_UNAVAILABLE_EXCEPTION");
    assert_no_association(w, &rd.device);
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    release(&rd);
}

static void gateway_429_injected_fault_with_retry_after(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-429-FAULT");
    e2e_add_fault(&w->sim, json_pack("{s:s, s:[i], s:i}", "route", "events", "schedule", 429, "retry_after_s", 7));
    json_t *ev = e2e_device_sdae(&rd.device, rd.token);
    e2e_resp r;
    e2e_post_event(&w->sim, rd.token, ev, &r);
    e2e_assert_exception(&r, 429, "THROTTLING_EXCEPTION");
    assert_string_equal(r.retry_after, "7");
    e2e_resp_free(&r);
    json_decref(ev);
    assert_no_association(w, &rd.device);
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    release(&rd);
}

static void gateway_fault_for_another_client_does_not_apply(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-FAULT-OTHER");
    e2e_add_fault(&w->sim, json_pack("{s:s, s:s, s:i, s:f}", "route", "events", "client",
                                     "amzn1.application-oa2-client.SOMEONEELSE", "status", 500, "rate", 1.0));
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    release(&rd);
}

/* docs/sim.md: a "rate" fails a deterministic fraction; 0.25 fails exactly every fourth request. */
static void gateway_fault_rate_fails_exact_fraction(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_add_fault(&w->sim, json_pack("{s:s, s:i, s:f}", "route", "events", "status", 500, "rate", 0.25));
    for (int i = 1; i <= 8; i++) {
        e2e_resp r;
        e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", "{}", 2, &r);
        if (i % 4 == 0)
            e2e_assert_exception(&r, 500, "INTERNAL_SERVICE_EXCEPTION");
        else
            e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
        e2e_resp_free(&r);
    }
    free(token);
}

static void gateway_fault_latency_delays_request(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    ready rd;
    get_ready(w, &rd, "GW-LATENCY");
    e2e_add_fault(&w->sim, json_pack("{s:s, s:i}", "route", "events", "latency_ms", 400));
    long long t0 = e2e_mono_ms();
    sdae_expect(w, &rd.device, rd.token, 202, NULL);
    assert_true(e2e_mono_ms() - t0 >= 400);
    release(&rd);
}

static void gateway_405_for_other_methods(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_resp r;
    e2e_http(&w->sim, "GET", "/v3/events", token, NULL, NULL, 0, &r);
    e2e_assert_exception(&r, 405, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&r);
    free(token);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_world_setup, e2e_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(gateway_400_malformed_json),
        T(gateway_400_wrong_content_type),
        T(gateway_401_no_token),
        T(gateway_401_invalid_token),
        T(gateway_401_expired_token_by_clock),
        T(gateway_401_expired_token_by_lifetime),
        T(gateway_403_customer_grant_token_for_sdae),
        T(gateway_404_skill_in_development_stage),
        T(gateway_404_skill_in_development_stage_from_config),
        T(gateway_404_skill_disabled),
        T(gateway_413_body_over_default_limit),
        T(gateway_413_body_over_configured_max_event_bytes),
        T(gateway_429_rate_limit_exceeded),
        T(gateway_500_injected_fault),
        T(gateway_503_injected_fault),
        T(gateway_429_injected_fault_with_retry_after),
        T(gateway_fault_for_another_client_does_not_apply),
        T(gateway_fault_rate_fails_exact_fraction),
        T(gateway_fault_latency_delays_request),
        T(gateway_405_for_other_methods),
    };
    return cmocka_run_group_tests_name("e2e: event gateway error table", tests, NULL, NULL);
}
