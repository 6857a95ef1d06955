/* test_probe.c - the inputs of `wss wwa`: the prober against a small HTTP
 * server on 127.0.0.1 that plays the cloud (health and skill endpoint) in
 * every way it can fail, samples stored and read back, and the import of the
 * emulator's records with its cursor (a second import adds nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/httpc.h"
#include "common/httpd.h"
#include "wwa/inputs.h"
#include "wwa_test_util.h"

typedef enum { SKILL_ERROR_RESPONSE, SKILL_DISCOVER_RESPONSE, SKILL_HTML, SKILL_500, SKILL_NO_MESSAGE } skill_mode;

typedef struct fake_cloud {
    wss_http_server *srv;
    int health_status;
    skill_mode mode;
    int directives;
    char last_token[128];
    char base[64];
} fake_cloud;

static const char *const error_response =
    "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"ErrorResponse\",\"payloadVersion\":\"3\","
    "\"messageId\":\"m-1\"},\"payload\":{\"type\":\"INVALID_AUTHORIZATION_CREDENTIAL\",\"message\":\"no\"}}}";
static const char *const discover_response =
    "{\"event\":{\"header\":{\"namespace\":\"Alexa.Discovery\",\"name\":\"Discover.Response\","
    "\"payloadVersion\":\"3\",\"messageId\":\"m-2\"},\"payload\":{\"endpoints\":[]}}}";
static const char *const no_message =
    "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"ErrorResponse\",\"payloadVersion\":\"3\","
    "\"messageId\":\"m-3\"},\"payload\":{\"type\":\"INVALID_AUTHORIZATION_CREDENTIAL\"}}}";

static void handle(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    fake_cloud *c = ctx;
    if (strcmp(req->path, "/healthz") == 0) {
        wss_http_reply_json(resp, c->health_status, json_pack("{s:s}", "status", "ok"));
        return;
    }
    c->directives++;
    json_t *d = json_loads(req->body, 0, NULL);
    const char *token = json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(d, "directive"), "payload"), "scope"), "token"));
    snprintf(c->last_token, sizeof c->last_token, "%s", token ? token : "");
    json_decref(d);
    switch (c->mode) {
    case SKILL_ERROR_RESPONSE: wss_http_reply_json(resp, 200, json_loads(error_response, 0, NULL)); break;
    case SKILL_DISCOVER_RESPONSE: wss_http_reply_json(resp, 200, json_loads(discover_response, 0, NULL)); break;
    case SKILL_NO_MESSAGE: wss_http_reply_json(resp, 200, json_loads(no_message, 0, NULL)); break;
    case SKILL_500: wss_http_reply_json(resp, 500, json_loads(error_response, 0, NULL)); break;
    case SKILL_HTML:
        resp->content_type = "text/html";
        wss_http_reply_text(resp, 200, "<html>maintenance</html>");
        break;
    }
}

static int start_cloud(void **state)
{
    wss_httpc_global_init();
    fake_cloud *c = calloc(1, sizeof *c);
    char err[256];
    wss_http_options o = {.host = "127.0.0.1"};
    if (!c || wss_http_start(&o, handle, c, &c->srv, err, sizeof err) != WSS_OK)
        return -1;
    c->health_status = 200;
    snprintf(c->base, sizeof c->base, "http://127.0.0.1:%d", wss_http_port(c->srv));
    *state = c;
    return 0;
}

static int stop_cloud(void **state)
{
    fake_cloud *c = *state;
    wss_http_stop(c->srv);
    free(c);
    return 0;
}

static int probe(fake_cloud *c, int with_skill, char *why, size_t len)
{
    char health[128], skill[128];
    snprintf(health, sizeof health, "%s/healthz", c->base);
    snprintf(skill, sizeof skill, "%s/alexa/skill", c->base);
    wwa_probe_target t = {.health_url = health, .skill_url = with_skill ? skill : NULL, .timeout_ms = 3000};
    return wwa_probe_once(&t, why, len);
}

static void probe_up_when_health_and_skill_answer_well(void **state)
{
    fake_cloud *c = *state;
    char why[512];
    c->health_status = 200;
    c->mode = SKILL_ERROR_RESPONSE;
    int before = c->directives;
    assert_int_equal(probe(c, 1, why, sizeof why), 1);
    assert_string_equal(why, "ok");
    assert_int_equal(c->directives, before + 1);
    assert_string_equal(c->last_token, WWA_PROBE_TOKEN); /* a token that names nobody */
    c->mode = SKILL_DISCOVER_RESPONSE;
    assert_int_equal(probe(c, 1, why, sizeof why), 1);
    /* Without --skill-url the skill is not asked. */
    before = c->directives;
    c->mode = SKILL_HTML;
    assert_int_equal(probe(c, 0, why, sizeof why), 1);
    assert_int_equal(c->directives, before);
}

static void probe_down_for_every_failure(void **state)
{
    fake_cloud *c = *state;
    char why[512];
    c->mode = SKILL_ERROR_RESPONSE;
    c->health_status = 503;
    assert_int_equal(probe(c, 1, why, sizeof why), 0);
    assert_non_null(strstr(why, "health: HTTP 503"));
    c->health_status = 200;
    c->mode = SKILL_HTML;
    assert_int_equal(probe(c, 1, why, sizeof why), 0);
    assert_non_null(strstr(why, "not JSON"));
    c->mode = SKILL_500;
    assert_int_equal(probe(c, 1, why, sizeof why), 0);
    assert_non_null(strstr(why, "skill: HTTP 500"));
    c->mode = SKILL_NO_MESSAGE;
    assert_int_equal(probe(c, 1, why, sizeof why), 0);

    /* Nobody listening. */
    wwa_probe_target t = {.health_url = "http://127.0.0.1:1/healthz", .timeout_ms = 2000};
    assert_int_equal(wwa_probe_once(&t, why, sizeof why), 0);
    assert_non_null(strstr(why, "health: no answer"));
}

static void probe_judges_answers(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(wwa_probe_answer_ok(error_response, strlen(error_response), why, sizeof why), 1);
    assert_int_equal(wwa_probe_answer_ok(discover_response, strlen(discover_response), why, sizeof why), 1);
    const char *bad[] = {
        "",
        "null",
        "[]",
        "{\"event\":{}}",
        "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"ErrorResponse\",\"payloadVersion\":\"2\","
        "\"messageId\":\"m\"},\"payload\":{\"type\":\"X\",\"message\":\"m\"}}}",
        "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"ErrorResponse\",\"payloadVersion\":\"3\"},"
        "\"payload\":{\"type\":\"X\",\"message\":\"m\"}}}",
        "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"ErrorResponse\",\"payloadVersion\":\"3\","
        "\"messageId\":\"m\"},\"payload\":{\"type\":\"\",\"message\":\"m\"}}}",
        "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"Response\",\"payloadVersion\":\"3\","
        "\"messageId\":\"m\"},\"payload\":{}}}",
        "{\"event\":{\"header\":{\"namespace\":\"Alexa.Discovery\",\"name\":\"Discover.Response\","
        "\"payloadVersion\":\"3\",\"messageId\":\"m\"},\"payload\":{\"endpoints\":{}}}}",
        NULL,
    };
    for (int i = 0; bad[i]; i++)
        if (wwa_probe_answer_ok(bad[i], strlen(bad[i]), why, sizeof why))
            fail_msg("accepted as well-formed: %s", bad[i]);
    assert_int_equal(wwa_probe_answer_ok(NULL, 0, why, sizeof why), 0);
}

/* ------------------------------------------------------------ the store */

static wwa_store *open_temp_store(char *dir, size_t len)
{
    snprintf(dir, len, "%s/wss-wwa-probe-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/wwa.db", dir);
    wwa_store *st = NULL;
    assert_int_equal(wwa_store_open(path, &st, err, sizeof err), WSS_OK);
    return st;
}

static void probe_samples_are_stored(void **state)
{
    (void)state;
    char dir[512], err[256];
    wwa_store *st = open_temp_store(dir, sizeof dir);
    assert_int_equal(wwa_probe_record(st, T("2027-03-01T10:00:00Z"), 0, err, sizeof err), WSS_OK);
    assert_int_equal(wwa_probe_record(st, T("2027-03-01T10:10:00Z"), 1, err, sizeof err), WSS_OK);
    wss_wwa *e = engine_new();
    size_t n = 0;
    assert_int_equal(wwa_store_load(st, e, &n, err, sizeof err), WSS_OK);
    assert_int_equal(n, 2);
    wss_wwa_state s;
    assert_int_equal(wss_wwa_state_at(e, T("2027-03-02T00:00:00Z"), &s), WSS_OK);
    assert_int_equal(s.availability.downtime_ms, 10 * MIN_MS);
    assert_int_equal(s.availability.outages, 1);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
    wwa_store_close(st);
    wss_remove_tree(dir);
}

static json_t *records(const char *text)
{
    json_t *r = json_loads(text, 0, NULL);
    assert_non_null(r);
    return r;
}

static void sim_records_become_directive_outcomes_once(void **state)
{
    (void)state;
    char dir[512], err[256], source[160];
    wwa_store *st = open_temp_store(dir, sizeof dir);
    const char *skill = "amzn1.ask.skill.e2e";
    long long t = T("2027-03-01T00:00:00Z");
    char text[1024];
    snprintf(text, sizeof text,
             "[{\"id\":1,\"at_ms\":%lld,\"directive\":\"AcceptGrant\",\"outcome\":\"ok\"},"
             "{\"id\":2,\"at_ms\":%lld,\"directive\":\"Discover\",\"outcome\":\"invalid\"},"
             "{\"id\":5,\"at_ms\":%lld,\"directive\":\"Discover\",\"outcome\":\"error\"}]",
             t, t + 1000, t + 2000);
    json_t *page = records(text);

    wwa_sim_source_name(skill, source, sizeof source);
    assert_string_equal(source, "sim:amzn1.ask.skill.e2e");
    wwa_source_counts c = {0, 0, 0};
    assert_int_equal(wwa_store_cursor_get(st, source, &c.last_id, err, sizeof err), WSS_OK);
    assert_int_equal(c.last_id, 0);
    assert_int_equal(wwa_store_begin(st, err, sizeof err), WSS_OK);
    assert_int_equal(wwa_sim_records_add(st, skill, page, &c, err, sizeof err), WSS_OK);
    assert_int_equal(wwa_store_cursor_set(st, source, c.last_id, err, sizeof err), WSS_OK);
    assert_int_equal(wwa_store_commit(st, err, sizeof err), WSS_OK);
    assert_int_equal(c.added, 3);
    assert_int_equal(c.invalid, 1);
    assert_int_equal(c.last_id, 5);

    /* The same page again, from the stored cursor: nothing added. */
    wwa_source_counts again = {0, 0, 0};
    assert_int_equal(wwa_store_cursor_get(st, source, &again.last_id, err, sizeof err), WSS_OK);
    assert_int_equal(again.last_id, 5);
    assert_int_equal(wwa_sim_records_add(st, skill, page, &again, err, sizeof err), WSS_OK);
    assert_int_equal(again.added, 0);
    json_decref(page);

    wss_wwa *e = engine_new();
    size_t n = 0;
    assert_int_equal(wwa_store_load(st, e, &n, err, sizeof err), WSS_OK);
    assert_int_equal(n, 3);
    wss_wwa_state s;
    assert_int_equal(wss_wwa_state_at(e, t + 5000, &s), WSS_OK);
    assert_int_equal(s.nskills, 1);
    assert_int_equal(s.skills[0].total, 3);
    assert_int_equal(s.skills[0].invalid, 1); /* "error" is a well-formed answer, not an invalid one */
    assert_true(s.skills[0].breach);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);

    /* Records that are not the emulator's shape are refused. */
    const char *bad[] = {
        "{}",
        "[{\"at_ms\":1,\"outcome\":\"ok\"}]",
        "[{\"id\":9,\"outcome\":\"ok\"}]",
        "[{\"id\":9,\"at_ms\":1}]",
        "[{\"id\":9,\"at_ms\":1,\"outcome\":\"maybe\"}]",
        "[{\"id\":9,\"at_ms\":-1,\"outcome\":\"ok\"}]",
        "[{\"id\":\"9\",\"at_ms\":1,\"outcome\":\"ok\"}]",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        json_t *b = records(bad[i]);
        wwa_source_counts z = {0, 0, 0};
        if (wwa_sim_records_add(st, skill, b, &z, err, sizeof err) != WSS_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(z.added, 0);
        json_decref(b);
    }
    json_t *ok = records("[]");
    wwa_source_counts z = {0, 0, 0};
    assert_int_equal(wwa_sim_records_add(st, "", ok, &z, err, sizeof err), WSS_ERR_INVALID);
    assert_int_equal(wwa_sim_records_add(st, "bad\nskill", ok, &z, err, sizeof err), WSS_ERR_INVALID);
    json_decref(ok);
    wwa_store_close(st);
    wss_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probe_up_when_health_and_skill_answer_well),
        cmocka_unit_test(probe_down_for_every_failure),
        cmocka_unit_test(probe_judges_answers),
        cmocka_unit_test(probe_samples_are_stored),
        cmocka_unit_test(sim_records_become_directive_outcomes_once),
    };
    return cmocka_run_group_tests_name("wwa probe and sources", tests, start_cloud, stop_cloud);
}
