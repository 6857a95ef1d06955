/* test_wwa_report.c - `wss wwa probe`, `import-sim` and `report` with real
 * processes: the prober watches the real `wss cloud` (its /healthz and its
 * skill endpoint), sees it go down when it is stopped and up when it is back;
 * the emulator sends Discover directives with 4 % of the answers counted
 * invalid; the month's report (JSON, PDF, PNG) shows the outage, the skill's
 * share and the badge state. */
#include "wwa_e2e.h"

/* Runs `wss wwa probe` once or more against the cloud as it is now; gives stdout. */
static char *probe(e2e_cloud_world *cw, const char *wstate, const char *count)
{
    e2e_sim *s = &cw->w->sim;
    char health[400], skill[400], *out = NULL;
    snprintf(health, sizeof health, "%s/healthz", cw->cloud.base_url);
    snprintf(skill, sizeof skill, "%s/alexa/skill", cw->cloud.base_url);
    assert_int_equal(wwa_run(s->root, &out, NULL, "wwa", "probe", "--state", wstate, "--url", health, "--skill-url",
                             skill, "--ca-file", cw->cloud.ca_file, "--count", count, "--interval", "1", "--timeout-ms",
                             "2000", NULL),
                     0);
    return out;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static json_t *read_json_file(const char *path)
{
    char *text = NULL;
    assert_int_equal(wss_read_file(path, 1 << 24, &text, NULL), WSS_OK);
    return wwa_json(text);
}

static void wwa_report_shows_an_outage_and_invalid_responses(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_sim *s = &cw->w->sim;
    wwa_world_start(cw);
    char wstate[1200];
    snprintf(wstate, sizeof wstate, "%s/wwa-state", s->root);

    char *out = probe(cw, wstate, "2");
    if (count_of(out, " up ok\n") != 2)
        fail_msg("expected two up samples:\n%s", out);
    free(out);

    /* The cloud stops: health has no answer, the sample is down. */
    char health[400];
    snprintf(health, sizeof health, "%s/healthz", cw->cloud.base_url);
    e2e_cloud_stop(&cw->cloud);
    out = probe(cw, wstate, "1");
    if (!strstr(out, " down health: no answer"))
        fail_msg("expected a down sample:\n%s", out);
    char month[8];
    snprintf(month, sizeof month, "%.7s", out); /* the sample's "YYYY-MM" */
    free(out);
    e2e_sleep_ms(1100);
    e2e_cloud_start(&cw->cloud);
    e2e_cloud_point_skill(&cw->cloud);
    out = probe(cw, wstate, "1");
    if (!strstr(out, " up ok\n"))
        fail_msg("expected the cloud up again:\n%s", out);
    free(out);

    /* 50 Discover directives, one in 25 counted invalid. */
    e2e_add_fault(s, json_pack("{s:s, s:s, s:s, s:f}", "route", "skill", "client", s->skill_id, "action",
                               "invalid_response", "rate", 0.04));
    json_t *r = wwa_send_discover(s, 50);
    assert_int_equal(e2e_jint(r, "invalid_responses", -1), 2);
    json_decref(r);
    assert_int_equal(wwa_run(s->root, &out, NULL, "wwa", "import-sim", "--state", wstate, "--sim-state", s->dir, NULL),
                     0);
    if (!strstr(out, "imported 51 directive outcomes (2 invalid)"))
        fail_msg("import-sim said:\n%s", out);
    free(out);

    char prefix[1200], path[1300];
    snprintf(prefix, sizeof prefix, "%s/report", s->root);
    assert_int_equal(
        wwa_run(s->root, &out, NULL, "wwa", "report", "--month", month, "--state", wstate, "--out", prefix, NULL), 0);
    assert_non_null(strstr(out, "badge held"));
    free(out);

    snprintf(path, sizeof path, "%s.json", prefix);
    json_t *rep = read_json_file(path);
    assert_string_equal(e2e_jstr(rep, "month"), month);
    assert_true(e2e_jint(rep, "availability.month.downtime_ms", -1) >= 1000);
    assert_int_equal(e2e_jint(rep, "availability.month.outages_new", -1), 1);
    assert_int_equal(e2e_jint(rep, "availability.year_to_date.outages", -1), 1);
    assert_int_equal(json_array_size(e2e_jget(rep, "availability.down_hours")), 1);
    const json_t *k = e2e_jget(rep, "skills.0");
    e2e_assert_jstr(k, "skill", s->skill_id);
    assert_int_equal(e2e_jint(k, "requests_30d", -1), 51);
    assert_int_equal(e2e_jint(k, "invalid_30d", -1), 2);
    assert_true(json_is_true(json_object_get(k, "breach"))); /* 2 of 51 is 3.9 % */
    assert_true(json_is_true(e2e_jget(rep, "badge.held")));

    /* --json alone prints the same document and writes nothing. */
    assert_int_equal(wwa_run(s->root, &out, NULL, "wwa", "report", "--month", month, "--state", wstate, "--json", NULL),
                     0);
    json_t *printed = wwa_json(out);
    assert_true(json_equal(printed, rep));
    json_decref(printed);
    json_decref(rep);

    char *bytes = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s.pdf", prefix);
    assert_int_equal(wss_read_file(path, 1 << 24, &bytes, &len), WSS_OK);
    assert_true(len > 1000);
    assert_memory_equal(bytes, "%PDF-", 5);
    free(bytes);
    snprintf(path, sizeof path, "%s.png", prefix);
    assert_int_equal(wss_read_file(path, 1 << 24, &bytes, &len), WSS_OK);
    assert_true(len > 24);
    assert_memory_equal(bytes, "\x89PNG\r\n\x1a\n", 8);
    const unsigned char *ihdr = (const unsigned char *)bytes + 16;
    assert_int_equal((ihdr[0] << 24 | ihdr[1] << 16 | ihdr[2] << 8 | ihdr[3]), 1190); /* A4 at 2 px a point */
    assert_int_equal((ihdr[4] << 24 | ihdr[5] << 16 | ihdr[6] << 8 | ihdr[7]), 1684);
    free(bytes);
}

static void wwa_inputs_refuse_wrong_command_lines(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_sim *s = &cw->w->sim;
    char wstate[1200];
    snprintf(wstate, sizeof wstate, "%s/wwa-state", s->root);
    assert_int_equal(wwa_run(s->root, NULL, NULL, "wwa", "report", "--month", "2027-13", "--state", wstate, NULL), 2);
    assert_int_equal(wwa_run(s->root, NULL, NULL, "wwa", "report", "--state", wstate, NULL), 2);
    assert_int_equal(wwa_run(s->root, NULL, NULL, "wwa", "probe", "--state", wstate, NULL), 2);
    assert_int_equal(wwa_run(s->root, NULL, NULL, "wwa", "probe", "--url", "http://127.0.0.1:1/", "--interval", "0",
                             "--state", wstate, NULL),
                     2);
    assert_int_equal(wwa_run(s->root, NULL, NULL, "wwa", "import-sim", "--state", wstate, NULL), 2);
    /* No emulator ever ran there: no credentials to read. */
    assert_int_equal(wwa_run(s->root, NULL, NULL, "wwa", "import-sim", "--sim-state", wstate, "--state", wstate, NULL),
                     1);
    /* No store yet: nothing to report. */
    assert_int_equal(wwa_run(s->root, NULL, NULL, "wwa", "report", "--month", "2027-03", "--state", wstate, NULL), 1);
}

static long long fault_status(e2e_sim *s, json_t *rule)
{
    char err[512];
    json_t *answer = NULL;
    int status = sim_client_control(&s->client, "POST", "/faults", rule, &answer, err, sizeof err);
    json_decref(rule);
    json_decref(answer);
    return status;
}

static long long directives_status(e2e_sim *s, const char *skill_id, json_t *body)
{
    char path[400], err[512];
    snprintf(path, sizeof path, "/skills/%s/directives", skill_id);
    json_t *answer = NULL;
    int status = sim_client_control(&s->client, "POST", path, body, &answer, err, sizeof err);
    json_decref(body);
    json_decref(answer);
    return status;
}

/* The emulator's parts these tests lean on: the "skill" fault route, traffic
 * on demand and how a Discover answer is judged, the records' ids (paging).
 * The skill here is the harness's stand-in, whose answers can be chosen. */
static void sim_traffic_on_demand_is_judged_and_paged(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_world *w = cw->w;
    e2e_sim *s = &w->sim;
    e2e_world_start(w);

    /* The skill route takes exactly the invalid_response action; the action nothing else. */
    assert_int_equal(fault_status(s, json_pack("{s:s, s:i}", "route", "skill", "status", 503)), 400);
    assert_int_equal(fault_status(s, json_pack("{s:s, s:s}", "route", "skill", "action", "drop")), 400);
    assert_int_equal(fault_status(s, json_pack("{s:s, s:s}", "route", "lwa", "action", "invalid_response")), 400);
    assert_int_equal(
        fault_status(s, json_pack("{s:s, s:s, s:i}", "route", "skill", "action", "invalid_response", "latency_ms", 5)),
        400);

    /* Not enabled yet: 409; unknown skill, directive, count or key: 404 and 400. */
    assert_int_equal(
        directives_status(s, s->skill_id, json_pack("{s:s, s:s}", "customer_id", s->customer_id, "name", "Discover")),
        409);
    assert_int_equal(directives_status(s, "amzn1.ask.skill.nobody",
                                       json_pack("{s:s, s:s}", "customer_id", s->customer_id, "name", "Discover")),
                     404);
    assert_int_equal(directives_status(s, s->skill_id,
                                       json_pack("{s:s, s:s}", "customer_id", s->customer_id, "name", "ReportState")),
                     400);
    assert_int_equal(
        directives_status(s, s->skill_id,
                          json_pack("{s:s, s:s, s:i}", "customer_id", s->customer_id, "name", "Discover", "count", 0)),
        400);
    assert_int_equal(
        directives_status(s, s->skill_id,
                          json_pack("{s:s, s:s, s:i}", "customer_id", s->customer_id, "name", "Discover", "counts", 2)),
        400);

    char *access = NULL, *refresh = NULL;
    e2e_link_customer(w, "maker-token-wwa", &access, &refresh);
    free(access);
    free(refresh);
    json_decref(e2e_wait_skill_requests(s, 1, 5000)); /* the AcceptGrant judged */

    /* A well-formed ErrorResponse is an error, an Alexa.Response or HTML is invalid. */
    e2e_skill_set_mode(w->skill, E2E_SKILL_ERROR_RESPONSE);
    json_t *r = wwa_send_discover(s, 2);
    assert_int_equal(e2e_jint(r, "errors", -1), 2);
    json_decref(r);
    e2e_skill_set_mode(w->skill, E2E_SKILL_GOOD);
    r = wwa_send_discover(s, 1);
    assert_int_equal(e2e_jint(r, "invalid_responses", -1), 1);
    long long last = e2e_jint(r, "last_id", -1);
    json_decref(r);
    e2e_skill_set_mode(w->skill, E2E_SKILL_NOT_JSON);
    r = wwa_send_discover(s, 1);
    assert_int_equal(e2e_jint(r, "invalid_responses", -1), 1);
    json_decref(r);
    json_t *d = e2e_skill_get(w->skill, "Discover", 0);
    e2e_assert_jstr(d, "directive.header.namespace", "Alexa.Discovery");
    e2e_assert_jstr(d, "directive.payload.scope.token", "maker-token-wwa");
    json_decref(d);

    /* Records carry their id; after_id and limit page through them. */
    char path[400];
    snprintf(path, sizeof path, "/skills/%s/requests?after_id=%lld&limit=1", s->skill_id, last - 1);
    r = e2e_control(s, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(e2e_jget(r, "records")), 1);
    assert_int_equal(e2e_jint(r, "records.0.id", -1), last);
    e2e_assert_jstr(r, "records.0.directive", "Discover");
    e2e_assert_jstr(r, "records.0.outcome", "invalid");
    assert_non_null(e2e_jstr(r, "records.0.reason")); /* what was wrong with the answer */
    assert_int_equal(e2e_jint(r, "requests", -1), 5); /* the counts ignore paging */
    json_decref(r);

    /* With a rule, a well-formed answer is counted invalid all the same; "*" rules leave skills alone. */
    e2e_add_fault(s, json_pack("{s:s, s:s, s:i}", "route", "*", "client", "*", "status", 503));
    e2e_skill_set_mode(w->skill, E2E_SKILL_ERROR_RESPONSE);
    r = wwa_send_discover(s, 1);
    assert_int_equal(e2e_jint(r, "errors", -1), 1);
    json_decref(r);
    json_decref(e2e_control(s, "DELETE", "/faults", NULL, 200));
    e2e_add_fault(s, json_pack("{s:s, s:s, s:s, s:[i,i]}", "route", "skill", "client", s->skill_id, "action",
                               "invalid_response", "schedule", 0, 1));
    r = wwa_send_discover(s, 3);
    assert_int_equal(e2e_jint(r, "errors", -1), 2); /* schedule 0, 1, then spent */
    assert_int_equal(e2e_jint(r, "invalid_responses", -1), 1);
    snprintf(path, sizeof path, "/skills/%s/requests?after_id=%lld", s->skill_id, e2e_jint(r, "first_id", -1));
    json_decref(r);
    r = e2e_control(s, "GET", path, NULL, 200);
    assert_non_null(strstr(e2e_jstr(r, "records.0.reason"), "injected by fault rule"));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(wwa_report_shows_an_outage_and_invalid_responses, e2e_cloud_world_setup,
                                        e2e_cloud_world_teardown),
        cmocka_unit_test_setup_teardown(wwa_inputs_refuse_wrong_command_lines, e2e_cloud_world_setup,
                                        e2e_cloud_world_teardown),
        cmocka_unit_test_setup_teardown(sim_traffic_on_demand_is_judged_and_paged, e2e_cloud_world_setup,
                                        e2e_cloud_world_teardown),
    };
    return cmocka_run_group_tests_name("e2e: wss wwa probe, import-sim, report", tests, NULL, NULL);
}
