/* test_wwa_badge.c - the Works with Alexa badge lost to invalid skill
 * responses, end to end with real processes: `wss sim` plays Alexa and
 * sends Discover directives to the real `wss cloud` skill endpoint, with a
 * fault rule counting 4 % of the answers as INVALID_SKILL_RESPONSE_EXCEPTION.
 * After 31 simulated days `wss wwa import-sim` and `wss wwa status` show the
 * breach (4 % over 30 days, above 3 %) and the 90-day clock; with the 4 %
 * going on and nothing mitigated, the badge is removed at the breach's start
 * plus 90 days, not a second earlier. The monthly report of the breach's
 * month shows the skill in breach and its deadline. */
#include "wwa_e2e.h"

#define DAY_S 86400
#define DAY_MS (DAY_S * 1000LL)
#define FIRST_DAYS 31
#define FIRST_PER_DAY 100
#define LATER_DAYS 60
#define LATER_PER_DAY 25

/* Sends per_day directives a day for days days, moving the emulator's clock a
 * day after each batch; gives the invalid count. */
static long long days_of_traffic(e2e_sim *s, int days, long long per_day)
{
    long long invalid = 0;
    for (int d = 0; d < days; d++) {
        json_t *r = wwa_send_discover(s, per_day);
        /* Only the injected ones are invalid: the cloud answers every Discover right. */
        assert_int_equal(e2e_jint(r, "ok", -1) + e2e_jint(r, "invalid_responses", -1), per_day);
        invalid += e2e_jint(r, "invalid_responses", -1);
        json_decref(r);
        e2e_advance_clock(s, DAY_S);
    }
    return invalid;
}

static void import_sim(e2e_sim *s, const char *wstate, const char *expect)
{
    char *out = NULL;
    assert_int_equal(wwa_run(s->root, &out, NULL, "wwa", "import-sim", "--state", wstate, "--sim-state", s->dir,
                             "--skill", s->skill_id, NULL),
                     0);
    if (!strstr(out, expect))
        fail_msg("import-sim said \"%s\", expected \"%s\"", out, expect);
    free(out);
}

static const json_t *only_skill(const json_t *status, const char *skill_id)
{
    const json_t *skills = json_object_get(status, "skills");
    assert_int_equal(json_array_size(skills), 1);
    const json_t *k = json_array_get(skills, 0);
    assert_string_equal(e2e_jstr(k, "skill"), skill_id);
    return k;
}

static void wwa_badge_is_removed_90_days_into_an_unmitigated_4_percent_breach(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_sim *s = &cw->w->sim;
    wwa_world_start(cw);
    char wstate[1200];
    snprintf(wstate, sizeof wstate, "%s/wwa-state", s->root);
    e2e_add_fault(s, json_pack("{s:s, s:s, s:s, s:f}", "route", "skill", "client", s->skill_id, "action",
                               "invalid_response", "rate", 0.04));
    long long t0 = wwa_sim_now(s);

    /* 31 days of 100 directives: exactly one in 25 is invalid. */
    assert_int_equal(days_of_traffic(s, FIRST_DAYS, FIRST_PER_DAY), FIRST_DAYS * FIRST_PER_DAY / 25);
    import_sim(s, wstate, "3101 directive outcomes (124 invalid)"); /* with the AcceptGrant */
    import_sim(s, wstate, "0 directive outcomes (0 invalid)");      /* nothing new: idempotent */

    /* A day after the last batch the clock moved on: the instant just after it. */
    long long end = wwa_sim_now(s) - DAY_MS;
    json_t *st = wwa_status_at(s->root, wstate, end);
    const json_t *k = only_skill(st, s->skill_id);
    assert_true(json_is_true(json_object_get(k, "breach")));
    assert_false(json_is_true(json_object_get(k, "removed")));
    /* The last 30 days: days 2 to 31 (the first has just left), 3000 directives of which 120 invalid. */
    assert_int_equal(e2e_jint(k, "requests_30d", -1), 3000);
    assert_int_equal(e2e_jint(k, "invalid_30d", -1), 120);
    assert_true(json_real_value(json_object_get(k, "percent")) > 3.0);
    /* The breach began on the first day, at the 25th directive (1 of 25 = 4 %). */
    long long start = wwa_parse_iso(e2e_jstr(k, "breach_start"));
    assert_true(start >= t0 && start < t0 + DAY_MS);
    assert_int_equal(wwa_parse_iso(e2e_jstr(k, "mitigate_by")), start + 90 * DAY_MS);
    assert_true(json_is_true(json_object_get(st, "badge_held")));
    assert_int_equal(json_array_size(json_object_get(st, "reasons")), 0);
    json_decref(st);

    /* The text shows the clock: about 59 days left. */
    char at[32], *text = NULL;
    wwa_iso(end, at);
    assert_int_equal(wwa_run(s->root, &text, NULL, "wwa", "status", "--at", at, "--state", wstate, NULL), 0);
    if (!strstr(text, "left to mitigate") || !strstr(text, "badge: held"))
        fail_msg("status text lacks the clock:\n%s", text);
    free(text);

    /* Nothing mitigates it: 60 more days at 4 %. */
    assert_int_equal(days_of_traffic(s, LATER_DAYS, LATER_PER_DAY), LATER_DAYS * LATER_PER_DAY / 25);
    import_sim(s, wstate, "1500 directive outcomes (60 invalid)");

    /* The report of the breach's month: in breach at the month's end, badge still held. */
    char month[32], *out = NULL;
    wwa_iso(start, month);
    month[7] = '\0';
    assert_int_equal(wwa_run(s->root, &out, NULL, "wwa", "report", "--month", month, "--state", wstate, "--json", NULL),
                     0);
    json_t *rep = wwa_json(out);
    assert_true(json_is_true(e2e_jget(rep, "badge.held")));
    e2e_assert_jstr(rep, "skills.0.skill", s->skill_id);
    assert_true(json_is_true(e2e_jget(rep, "skills.0.breach")));
    assert_int_equal(wwa_parse_iso(e2e_jstr(rep, "skills.0.mitigate_by")), start + 90 * DAY_MS);
    json_decref(rep);

    st = wwa_status_at(s->root, wstate, start + 90 * DAY_MS - 1000);
    assert_true(json_is_true(json_object_get(st, "badge_held")));
    assert_true(json_is_true(json_object_get(only_skill(st, s->skill_id), "breach")));
    json_decref(st);

    st = wwa_status_at(s->root, wstate, start + 90 * DAY_MS + 1000);
    assert_false(json_is_true(json_object_get(st, "badge_held")));
    k = only_skill(st, s->skill_id);
    assert_true(json_is_true(json_object_get(k, "removed")));
    assert_true(json_real_value(json_object_get(k, "percent")) > 3.0);
    const json_t *reasons = json_object_get(st, "reasons");
    assert_int_equal(json_array_size(reasons), 1);
    e2e_assert_jstr(reasons, "0.kind", "isre");
    e2e_assert_jstr(reasons, "0.subject", s->skill_id);
    assert_int_equal(wwa_parse_iso(e2e_jstr(reasons, "0.since")), start + 90 * DAY_MS);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(wwa_badge_is_removed_90_days_into_an_unmitigated_4_percent_breach,
                                        e2e_cloud_world_setup, e2e_cloud_world_teardown),
    };
    return cmocka_run_group_tests_name("e2e: wss wwa badge, invalid skill responses", tests, NULL, NULL);
}
