/* test_sim_hostile.c - every route of the emulator refuses malformed,
 * oversized and hostile input with a 4xx and keeps serving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef struct hostile_body {
    const char *name;
    char *data;
    size_t len;
} hostile_body;

static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t ulen = strlen(unit), tlen = strlen(tail);
    char *s = malloc(ulen * times + tlen + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ulen, unit, ulen);
    memcpy(s + ulen * times, tail, tlen + 1);
    return s;
}

/* The bodies thrown at every route; freed by free_bodies(). */
static size_t make_bodies(hostile_body *b)
{
    size_t n = 0;
    static const char *const fixed[][2] = {
        {"empty", ""},
        {"truncated object", "{\"event\": {\"header\": "},
        {"array", "[]"},
        {"null", "null"},
        {"number overflow", "{\"event\": 1e999999}"},
        {"duplicate keys", "{\"event\": {}, \"event\": {}}"},
        {"wrong types everywhere", "{\"event\": {\"header\": [], \"payload\": \"x\"}, \"grant_type\": 7}"},
        {"invalid UTF-8", "{\"event\": \"\xff\xfe\xfd\"}"},
        {"lone surrogate escape", "{\"event\": \"\\ud800\"}"},
        {"form garbage", "grant_type=%zz&&==&client_id=%00"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        b[n].name = fixed[i][0];
        b[n].data = strdup(fixed[i][1]);
        b[n].len = strlen(fixed[i][1]);
        n++;
    }
    b[n].name = "embedded NUL";
    b[n].data = malloc(16);
    memcpy(b[n].data, "{\"a\":\"b\0c\"}", 12);
    b[n].len = 12;
    n++;
    b[n].name = "nesting 100000 deep";
    b[n].data = repeat("[", 100000, "");
    b[n].len = strlen(b[n].data);
    n++;
    b[n].name = "200 KiB string";
    b[n].data = repeat("a", 200 * 1024, "\"}");
    memcpy(b[n].data, "{\"x\":\"", 6);
    b[n].len = strlen(b[n].data);
    n++;
    b[n].name = "2 MiB body";
    b[n].data = repeat("{", 2 * 1024 * 1024, "");
    b[n].len = strlen(b[n].data);
    n++;
    return n;
}

static void free_bodies(hostile_body *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(b[i].data);
}

static void expect_refused(e2e_sim *s, const char *method, const char *path, const char *bearer, const char *ct,
                           const hostile_body *b)
{
    e2e_resp r;
    e2e_http(s, method, path, bearer, ct, b->data, b->len, &r);
    if (r.status < 400 || r.status > 499)
        fail_msg("%s %s with %s (%s) answered %ld, expected a 4xx", method, path, b->name, ct ? ct : "json", r.status);
    if (!r.json)
        fail_msg("%s %s with %s answered a body that is not JSON", method, path, b->name);
    e2e_resp_free(&r);
}

static void still_serving(e2e_sim *s)
{
    e2e_resp r;
    e2e_http(s, "GET", "/healthz", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);
}

static void hostile_bodies_on_every_route_get_4xx(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    hostile_body bodies[32];
    size_t n = make_bodies(bodies);
    char path[600];
    snprintf(path, sizeof path, "/control/v1/customers/%s/wifi", w->sim.customer_id);
    for (size_t i = 0; i < n; i++) {
        expect_refused(&w->sim, "POST", "/auth/o2/token", NULL, "application/json", &bodies[i]);
        expect_refused(&w->sim, "POST", "/auth/o2/token", NULL, "application/x-www-form-urlencoded", &bodies[i]);
        expect_refused(&w->sim, "POST", "/v3/events", token, "application/json", &bodies[i]);
        /* An empty body is a valid "customer with generated id" request there. */
        if (bodies[i].len)
            expect_refused(&w->sim, "POST", "/control/v1/customers", w->sim.control_token, "application/json",
                           &bodies[i]);
        expect_refused(&w->sim, "POST", "/control/v1/faults", w->sim.control_token, "application/json", &bodies[i]);
        expect_refused(&w->sim, "POST", path, w->sim.control_token, "application/json", &bodies[i]);
        expect_refused(&w->sim, "POST", "/control/v1/devices", w->sim.control_token, "application/json", &bodies[i]);
    }
    still_serving(&w->sim);
    free_bodies(bodies, n);
    free(token);
    e2e_sim_stop(&w->sim); /* asserts a clean exit: nothing crashed */
}

static void hostile_paths_and_headers_are_refused(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    static const char *const paths[] = {
        "/control/v1/customers/../../etc/passwd",
        "/control/v1/%00",
        "/control/v1/a/b/c/d/e/f/g/h",
        "/control/v1/skills/%27%3B%20DROP%20TABLE%20skills%3B--/requests",
        "/v3/events/../auth/o2/token",
        "/nowhere",
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        e2e_resp r;
        e2e_http(&w->sim, "GET", paths[i], w->sim.control_token, NULL, NULL, 0, &r);
        if (r.status < 400 || r.status > 499)
            fail_msg("GET %s answered %ld", paths[i], r.status);
        e2e_resp_free(&r);
    }
    /* A bearer token of 64 KiB: refused by the token check or the header limit, never a crash. */
    char *huge = repeat("A", 64 * 1024, "");
    e2e_resp r;
    e2e_http(&w->sim, "POST", "/v3/events", huge, NULL, "{}", 2, &r);
    assert_true(r.status >= 400 && r.status <= 499);
    e2e_resp_free(&r);
    free(huge);
    /* The skills table survived the quoted path above. */
    json_t *skills = e2e_control(&w->sim, "GET", "/skills", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(skills, "skills")), 1);
    json_decref(skills);
    still_serving(&w->sim);
    e2e_sim_stop(&w->sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hostile_bodies_on_every_route_get_4xx, e2e_world_setup, e2e_world_teardown),
        cmocka_unit_test_setup_teardown(hostile_paths_and_headers_are_refused, e2e_world_setup, e2e_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
