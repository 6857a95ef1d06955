/* test_line.c - the import line parser (JSON lines and CSV), its round trip
 * with the JSON writer, and the SQLite store of events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <unistd.h>

#include "common/file.h"
#include "wwa/internal.h"
#include "wwa/store.h"
#include "wwa_test_util.h"

static wss_err parse(wwa_format fmt, const char *line, wss_wwa_event *ev, char *why)
{
    return wwa_parse_line(fmt, line, strlen(line), ev, why, 256);
}

static void test_json_lines_accepted(void **state)
{
    (void)state;
    wss_wwa_event ev;
    char why[256];
    assert_int_equal(parse(WWA_FORMAT_JSONL,
                           "{\"type\":\"probe\",\"at\":\"2028-02-29T23:59:59.999Z\",\"state\":\"down\"}", &ev, why),
                     WSS_OK);
    assert_int_equal(ev.kind, WSS_WWA_PROBE);
    assert_int_equal(ev.up, 0);
    assert_int_equal(ev.at_ms, T("2028-03-01T00:00:00Z") - 1);
    assert_int_equal(
        parse(WWA_FORMAT_JSONL,
              "{\"type\":\"incident\",\"at\":\"2027-01-01T00:00:00Z\",\"id\":\"X-1\",\"access\":\"significant\","
              "\"data\":\"sensitive\",\"affected\":10001,\"duration_ms\":5,\"surveillance\":true}",
              &ev, why),
        WSS_OK);
    assert_int_equal(ev.facts.access, WSS_WWA_ACCESS_SIGNIFICANT);
    assert_int_equal(ev.facts.affected, 10001);
    assert_true(ev.facts.surveillance);
    assert_int_equal(wss_wwa_classify(&ev.facts), WSS_WWA_CRITICAL);
    assert_int_equal(
        parse(WWA_FORMAT_JSONL,
              "{\"type\":\"attestation\",\"at\":\"2027-01-01T00:00:00Z\",\"asin\":\"B0X\",\"marketplace\":\"DE\","
              "\"check\":\"hub\",\"result\":\"n/a\",\"by\":\"qa\"}",
              &ev, why),
        WSS_OK);
    assert_int_equal(ev.check, WSS_WWA_CHECK_HUB);
    assert_int_equal(ev.result, WSS_WWA_NOT_APPLICABLE);
    assert_string_equal(ev.market, "DE");
}

static void test_json_lines_refused(void **state)
{
    (void)state;
    static const struct {
        const char *line, *why;
    } cases[] = {
        {"", "not valid JSON"},
        {"[1]", "top level must be a JSON object"},
        {"{\"at\":\"2027-01-01T00:00:00Z\"}", "\"type\" is missing"},
        {"{\"type\":\"probe\",\"at\":\"2027-01-01T00:00:00Z\"}", "\"state\" is missing"},
        {"{\"type\":\"probe\",\"at\":\"2027-01-01T00:00:00Z\",\"state\":\"UP\"}", "\"state\" must be one of down, up"},
        {"{\"type\":\"probe\",\"at\":1798761600000,\"state\":\"up\"}", "\"at\" must be a string"},
        {"{\"type\":\"probe\",\"at\":\"2027-01-01T00:00:00\",\"state\":\"up\"}", "\"at\" must be a UTC time"},
        {"{\"type\":\"probe\",\"at\":\"2027-01-01T00:00:00Z\",\"state\":\"up\",\"x\":1}", "unknown key \"x\""},
        {"{\"type\":\"probe\",\"type\":\"probe\",\"at\":\"2027-01-01T00:00:00Z\",\"state\":\"up\"}", "not valid JSON"},
        {"{\"type\":\"ping\",\"at\":\"2027-01-01T00:00:00Z\"}", "unknown type"},
        {"{\"type\":\"directive\",\"at\":\"2027-01-01T00:00:00Z\",\"skill\":\"\",\"outcome\":\"valid\"}",
         "\"skill\" must be 1 to"},
        {"{\"type\":\"directive\",\"at\":\"2027-01-01T00:00:00Z\",\"skill\":\"a\\u0000b\",\"outcome\":\"valid\"}",
         "not valid JSON"},
        {"{\"type\":\"directive\",\"at\":\"2027-01-01T00:00:00Z\",\"skill\":\"a\\nb\",\"outcome\":\"valid\"}",
         "\"skill\" must be 1 to"},
        {"{\"type\":\"incident\",\"at\":\"2027-01-01T00:00:00Z\",\"id\":\"I\",\"access\":\"none\",\"data\":\"none\","
         "\"affected\":-1}",
         "\"affected\" must be a whole number"},
        {"{\"type\":\"incident\",\"at\":\"2027-01-01T00:00:00Z\",\"id\":\"I\",\"access\":\"none\",\"data\":\"none\","
         "\"safety_risk\":1}",
         "\"safety_risk\" must be true or false"},
        {"{\"type\":\"attestation\",\"at\":\"2027-01-01T00:00:00Z\",\"asin\":\"B0X\",\"marketplace\":\"US\","
         "\"check\":\"brand\",\"result\":\"n/a\",\"by\":\"qa\"}",
         "only for the hub and skill_available"},
        {"{\"type\":\"attestation\",\"at\":\"2027-01-01T00:00:00Z\",\"asin\":\"B0ASINTOOLONGFORTHIS\","
         "\"marketplace\":\"US\",\"check\":\"brand\",\"result\":\"pass\",\"by\":\"qa\"}",
         "\"asin\" must be 1 to 15"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa_event ev;
        char why[256] = "";
        if (parse(WWA_FORMAT_JSONL, cases[i].line, &ev, why) != WSS_ERR_INVALID || !strstr(why, cases[i].why))
            fail_msg("%s: %s", cases[i].line, why);
    }
}

static void test_csv_rows(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        int ok;
        const char *why;
    } cases[] = {
        {"probe,2027-01-01T00:00:00Z,,up", 1, NULL},
        {"directive,2027-01-01T00:00:00Z,amzn1.ask.skill.x,invalid", 1, NULL},
        {"probe,2027-01-01T00:00:00Z,skill,up", 0, "leaves the skill field empty"},
        {"directive,2027-01-01T00:00:00Z,,valid", 0, "names its skill"},
        {"directive,2027-01-01T00:00:00Z,s,maybe", 0, "valid or invalid"},
        {"probe,2027-01-01T00:00:00Z,,up,extra", 0, "exactly 4 fields"},
        {"probe,2027-01-01T00:00:00Z,up", 0, "exactly 4 fields"},
        {"probe,\"2027-01-01T00:00:00Z\",,up", 0, "quote"},
        {"incident,2027-01-01T00:00:00Z,,x", 0, "other events go in JSON lines"},
        {"probe,2027-01-01,,up", 0, "UTC time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wss_wwa_event ev;
        char why[256] = "";
        wss_err rc = parse(WWA_FORMAT_CSV, cases[i].line, &ev, why);
        if ((rc == WSS_OK) != cases[i].ok || (!cases[i].ok && !strstr(why, cases[i].why)))
            fail_msg("%s: %s", cases[i].line, why);
    }
}

/* Random events written as JSON lines read back to the same events. */
static void test_json_round_trip(void **state)
{
    (void)state;
    unsigned seed = 7;
    for (int n = 0; n < 2000; n++) {
        wss_wwa_event ev;
        memset(&ev, 0, sizeof ev);
        seed = seed * 1103515245u + 12345u;
        ev.kind = (wss_wwa_event_kind)(seed % WSS_WWA_EVENT__COUNT);
        ev.at_ms = (long long)(seed % 1000000) * 123457LL + T("2027-01-01T00:00:00Z");
        ev.up = ev.kind == WSS_WWA_PROBE && (seed >> 8) % 2;
        ev.valid = ev.kind == WSS_WWA_DIRECTIVE && (seed >> 9) % 2;
        if (ev.kind == WSS_WWA_DIRECTIVE)
            snprintf(ev.skill, sizeof ev.skill, "amzn1.ask.skill.%u", seed % 97);
        if (ev.kind == WSS_WWA_INCIDENT || ev.kind == WSS_WWA_INCIDENT_FIXED)
            snprintf(ev.id, sizeof ev.id, "INC-%u", seed % 1000);
        if (ev.kind == WSS_WWA_INCIDENT) {
            ev.facts.access = (wss_wwa_access)((seed >> 3) % 4);
            ev.facts.data = (wss_wwa_data)((seed >> 5) % 3);
            ev.facts.affected = seed % 20000;
            ev.facts.duration_ms = seed % 7200000;
            ev.facts.safety_risk = (seed >> 11) % 2;
            snprintf(ev.note, sizeof ev.note, "note \"%u\"", seed);
        }
        if (ev.kind == WSS_WWA_AUDIT || ev.kind == WSS_WWA_REINSTATE_REQUEST || ev.kind == WSS_WWA_ATTESTATION)
            snprintf(ev.who, sizeof ev.who, "Lab ü %u", seed % 10);
        if (ev.kind == WSS_WWA_ATTESTATION) {
            snprintf(ev.asin, sizeof ev.asin, "B0%08u", seed % 100000000);
            snprintf(ev.market, sizeof ev.market, "US");
            ev.check = (wss_wwa_check)((seed >> 4) % WSS_WWA_CHECK__COUNT);
            ev.result = (wss_wwa_result)((seed >> 7) % 2);
        }
        char *line = wwa_event_to_json(&ev);
        assert_non_null(line);
        wss_wwa_event back;
        char why[256];
        if (wwa_parse_line(WWA_FORMAT_JSONL, line, strlen(line), &back, why, sizeof why) != WSS_OK)
            fail_msg("%s: %s", line, why);
        assert_memory_equal(&ev, &back, sizeof ev);
        free(line);
    }
}

static void test_store_keeps_events_and_rolls_back(void **state)
{
    (void)state;
    char dir[256], path[300], err[256];
    snprintf(dir, sizeof dir, "/tmp/wss-test-wwa-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/wwa.db", dir);
    wwa_store *st;
    assert_int_equal(wwa_store_open(path, &st, err, sizeof err), WSS_OK);
    wss_wwa_event ev;
    memset(&ev, 0, sizeof ev);
    /* Committed: seven hours down, one critical incident. */
    assert_int_equal(wwa_store_begin(st, err, sizeof err), WSS_OK);
    ev.kind = WSS_WWA_PROBE;
    ev.at_ms = T("2027-03-01T00:00:00Z");
    assert_int_equal(wwa_store_append(st, &ev, err, sizeof err), WSS_OK);
    ev.at_ms += 7 * HOUR_MS;
    ev.up = 1;
    assert_int_equal(wwa_store_append(st, &ev, err, sizeof err), WSS_OK);
    ev.kind = WSS_WWA_INCIDENT;
    strcpy(ev.id, "C1");
    ev.facts.remote_control = 1;
    assert_int_equal(wwa_store_append(st, &ev, err, sizeof err), WSS_OK);
    assert_int_equal(wwa_store_commit(st, err, sizeof err), WSS_OK);
    /* Rolled back: a directive. */
    assert_int_equal(wwa_store_begin(st, err, sizeof err), WSS_OK);
    memset(&ev, 0, sizeof ev);
    ev.kind = WSS_WWA_DIRECTIVE;
    ev.at_ms = T("2027-03-02T00:00:00Z");
    strcpy(ev.skill, "amzn1.ask.skill.x");
    assert_int_equal(wwa_store_append(st, &ev, err, sizeof err), WSS_OK);
    wwa_store_rollback(st);
    wwa_store_close(st);

    assert_int_equal(wwa_store_open(path, &st, err, sizeof err), WSS_OK);
    wss_wwa *e = engine_new();
    size_t n;
    assert_int_equal(wwa_store_load(st, e, &n, err, sizeof err), WSS_OK);
    assert_int_equal(n, 3);
    wss_wwa_state s;
    assert_int_equal(wss_wwa_state_at(e, T("2027-04-01T00:00:00Z"), &s), WSS_OK);
    assert_int_equal(s.availability.downtime_ms, 7 * HOUR_MS);
    assert_int_equal(s.nincidents, 1);
    assert_int_equal(s.incidents[0].severity, WSS_WWA_CRITICAL);
    assert_int_equal(s.nskills, 0);
    assert_int_equal(s.nreasons, 2);
    wss_wwa_state_free(&s);
    wss_wwa_free(e);
    wwa_store_close(st);
    assert_int_equal(wss_remove_tree(dir), WSS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_lines_accepted),
        cmocka_unit_test(test_json_lines_refused),
        cmocka_unit_test(test_csv_rows),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_store_keeps_events_and_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
