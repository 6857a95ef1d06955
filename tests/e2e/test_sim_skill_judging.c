/* test_sim_skill_judging.c - how the emulator judges a skill's answers to
 * directives, as read in GET /control/v1/skills/{id}/requests: a right answer
 * is "ok", a well-formed error response is an "error", anything else (a wrong
 * correlation token, a non-2xx status, not JSON, too slow, a missing field)
 * an invalid skill response. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct expectation {
    const char *outcome; /* of the CDAD's record */
    const char *association_state;
    long http_status;              /* the record's http_status */
    const char *reason_contains;   /* NULL: the record has no reason */
    long long ok, errors, invalid; /* the skill's counters, AcceptGrant included */
} expectation;

/* The record of the index-th judged request of a directive. */
static const json_t *record_of(const json_t *requests, const char *directive, size_t index)
{
    size_t i, seen = 0;
    json_t *rec;
    json_array_foreach(json_object_get(requests, "records"), i, rec)
    {
        const char *d = e2e_jstr(rec, "directive");
        if (d && strcmp(d, directive) == 0 && seen++ == index)
            return rec;
    }
    return NULL;
}

/* Enables the skill (AcceptGrant answered rightly), reports a device, lets
 * the skill answer its CDAD in `mode`, and checks the verdict. */
static void judge_cdad(void **state, e2e_skill_mode mode, const expectation *x)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_skill_set_mode(w->skill, mode);
    char *access = NULL, *refresh = NULL;
    e2e_link_customer(w, "maker-token-judging", &access, &refresh);

    e2e_device d;
    e2e_device_setup(&w->sim, &d, "JUDGED", w->sim.customer_id);
    char *token = e2e_client_token(&w->sim);
    json_t *ev = e2e_device_sdae(&d, token);
    e2e_resp r;
    e2e_post_event(&w->sim, token, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);

    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    e2e_assert_jstr(cdad, "directive.payload.device.id", d.device_id);
    json_decref(cdad);
    json_t *a = e2e_wait_association(&w->sim, d.device_id, x->association_state, 5000);
    json_decref(a);

    json_t *req = e2e_wait_skill_requests(&w->sim, 2, 5000);
    assert_int_equal(e2e_jint(req, "requests", -1), 2);
    assert_int_equal(e2e_jint(req, "ok", -1), x->ok);
    assert_int_equal(e2e_jint(req, "errors", -1), x->errors);
    assert_int_equal(e2e_jint(req, "invalid_responses", -1), x->invalid);
    e2e_assert_jstr(req, "skill_id", w->sim.skill_id);

    const json_t *grant = record_of(req, "AcceptGrant", 0);
    assert_non_null(grant);
    e2e_assert_jstr(grant, "outcome", "ok");
    const json_t *rec = record_of(req, "AssociateCustomerDevice", 0);
    assert_non_null(rec);
    e2e_assert_jstr(rec, "outcome", x->outcome);
    assert_int_equal(e2e_jint(rec, "http_status", -1), x->http_status);
    const char *reason = e2e_jstr(rec, "reason");
    if (x->reason_contains) {
        if (!reason || !strstr(reason, x->reason_contains))
            print_error("reason \"%s\" lacks \"%s\"\n", reason ? reason : "(none)", x->reason_contains);
        assert_non_null(reason);
        assert_non_null(strstr(reason, x->reason_contains));
    } else
        assert_true(json_is_null(e2e_jget(rec, "reason")));

    /* The same numbers in the global counters. */
    json_t *counters = e2e_control(&w->sim, "GET", "/counters", NULL, 200);
    e2e_assert_jstr(counters, "skills.0.skill_id", w->sim.skill_id);
    assert_int_equal(e2e_jint(counters, "skills.0.invalid_responses", -1), x->invalid);
    json_decref(counters);
    json_decref(req);

    /* One directive, sent once: no retry of a bad answer. */
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, "AssociateCustomerDevice"), 1);
    free(token);
    free(access);
    free(refresh);
    e2e_device_free(&d);
}

static void skill_response_good_counts_ok(void **state)
{
    expectation x = {"ok", "associated", 200, NULL, 2, 0, 0};
    judge_cdad(state, E2E_SKILL_GOOD, &x);
}

static void skill_response_error_response_counts_error_not_invalid(void **state)
{
    expectation x = {"error", "refused", 200, "NO_SUCH_ENDPOINT", 1, 1, 0};
    judge_cdad(state, E2E_SKILL_ERROR_RESPONSE, &x);
}

static void skill_response_wrong_correlation_token_invalid(void **state)
{
    expectation x = {"invalid", "failed", 200, "correlationToken", 1, 0, 1};
    judge_cdad(state, E2E_SKILL_WRONG_CORRELATION, &x);
}

static void skill_response_http_500_invalid(void **state)
{
    expectation x = {"invalid", "failed", 500, "500", 1, 0, 1};
    judge_cdad(state, E2E_SKILL_HTTP_500, &x);
}

static void skill_response_not_json_invalid(void **state)
{
    expectation x = {"invalid", "failed", 200, "not JSON", 1, 0, 1};
    judge_cdad(state, E2E_SKILL_NOT_JSON, &x);
}

static void skill_response_slow_invalid(void **state)
{
    expectation x = {"invalid", "failed", 0, "SKILL_RESPONSE_TIMEOUT", 1, 0, 1};
    judge_cdad(state, E2E_SKILL_SLOW, &x);
}

static void skill_response_missing_message_id_invalid(void **state)
{
    expectation x = {"invalid", "failed", 200, "messageId", 1, 0, 1};
    judge_cdad(state, E2E_SKILL_MALFORMED, &x);
}

/* The AcceptGrant answer is judged too. */
static void judge_grant(void **state, e2e_skill_mode mode, const char *outcome, long long ok, long long errors,
                        long long invalid)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_skill_set_grant_mode(w->skill, mode);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-grant-judging");
    json_decref(e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000));
    json_t *req = e2e_wait_skill_requests(&w->sim, 1, 5000);
    assert_int_equal(e2e_jint(req, "requests", -1), 1);
    assert_int_equal(e2e_jint(req, "ok", -1), ok);
    assert_int_equal(e2e_jint(req, "errors", -1), errors);
    assert_int_equal(e2e_jint(req, "invalid_responses", -1), invalid);
    const json_t *rec = record_of(req, "AcceptGrant", 0);
    assert_non_null(rec);
    e2e_assert_jstr(rec, "outcome", outcome);
    json_decref(req);
}

static void skill_accept_grant_error_response_counts_error(void **state)
{
    judge_grant(state, E2E_SKILL_ERROR_RESPONSE, "error", 0, 1, 0);
}

static void skill_accept_grant_http_500_invalid(void **state)
{
    judge_grant(state, E2E_SKILL_HTTP_500, "invalid", 0, 0, 1);
}

static void skill_accept_grant_not_json_invalid(void **state)
{
    judge_grant(state, E2E_SKILL_NOT_JSON, "invalid", 0, 0, 1);
}

static void skill_unreachable_endpoint_invalid(void **state)
{
    e2e_world *w = *state;
    /* A port nobody listens on: the test skill's, once stopped. */
    e2e_skill *gone = e2e_skill_start();
    char url[128];
    snprintf(url, sizeof url, "%s", e2e_skill_url(gone));
    e2e_skill_stop(gone);
    json_object_set_new(e2e_config_skill(w->config), "endpoint", json_string(url));
    e2e_world_start(w);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-unreachable");
    json_t *req = e2e_wait_skill_requests(&w->sim, 1, 5000);
    assert_int_equal(e2e_jint(req, "invalid_responses", -1), 1);
    const json_t *rec = record_of(req, "AcceptGrant", 0);
    e2e_assert_jstr(rec, "outcome", "invalid");
    json_decref(req);
}

/* A failed AcceptGrant fails the enablement: the CDAD is not sent and the
 * association keeps waiting until an enablement succeeds. */
static void skill_accept_grant_failure_keeps_association_waiting(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "GRANT-FAILED", w->sim.customer_id);
    char *token = e2e_client_token(&w->sim);
    json_t *ev = e2e_device_sdae(&d, token);
    e2e_resp r;
    e2e_post_event(&w->sim, token, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);

    e2e_skill_set_grant_mode(w->skill, E2E_SKILL_ERROR_RESPONSE);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-refused-grant");
    json_decref(e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000));
    json_decref(e2e_wait_skill_requests(&w->sim, 1, 5000));
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, "AssociateCustomerDevice"), 0);
    json_t *a = e2e_association(&w->sim, d.device_id);
    e2e_assert_jstr(a, "state", "waiting_for_skill");
    json_decref(a);

    e2e_skill_set_grant_mode(w->skill, E2E_SKILL_GOOD);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-second-try");
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    e2e_assert_jstr(cdad, "directive.payload.device.id", d.device_id);
    e2e_assert_jstr(cdad, "directive.payload.scope.token", "maker-token-second-try");
    json_decref(cdad);
    json_decref(e2e_wait_association(&w->sim, d.device_id, "associated", 5000));
    free(token);
    e2e_device_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_world_setup, e2e_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(skill_response_good_counts_ok),
        T(skill_response_error_response_counts_error_not_invalid),
        T(skill_response_wrong_correlation_token_invalid),
        T(skill_response_http_500_invalid),
        T(skill_response_not_json_invalid),
        T(skill_response_slow_invalid),
        T(skill_response_missing_message_id_invalid),
        T(skill_accept_grant_error_response_counts_error),
        T(skill_accept_grant_http_500_invalid),
        T(skill_accept_grant_not_json_invalid),
        T(skill_accept_grant_failure_keeps_association_waiting),
        T(skill_unreachable_endpoint_invalid),
    };
    return cmocka_run_group_tests_name("e2e: judging skill responses", tests, NULL, NULL);
}
