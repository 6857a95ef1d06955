/* test_wwa_cli.c - `wss wwa` as a user runs it: import JSON lines and CSV
 * into a store, all or nothing with line-numbered errors, then status as
 * text and as JSON at chosen instants. Runs the real binary ($WSS_BIN). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file.h"
#include "harness.h"

typedef struct world {
    char dir[1024];
    char state[1100];
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    const char *tmp = getenv("TMPDIR");
    snprintf(w->dir, sizeof w->dir, "%s/wss-e2e-wwa-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!w || !mkdtemp(w->dir))
        return -1;
    snprintf(w->state, sizeof w->state, "%s/state", w->dir);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    wss_remove_tree(w->dir);
    free(w);
    return 0;
}

/* Writes text to DIR/name and gives its path (static buffer per call site is enough). */
static void write_file(const world *w, const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", w->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs $WSS_BIN with args (NULL-terminated) with its output files in the world's directory. */
#define run(w, out, err, ...) e2e_run((w)->dir, out, err, __VA_ARGS__)

static const char *const good_jsonl =
    "{\"type\":\"attestation\",\"at\":\"2027-01-02T00:00:00Z\",\"asin\":\"B0TESTASIN\",\"marketplace\":\"US\","
    "\"check\":\"asin_available\",\"result\":\"pass\",\"by\":\"qa@maker.example\"}\n"
    "{\"type\":\"attestation\",\"at\":\"2027-01-02T00:00:00Z\",\"asin\":\"B0TESTASIN\",\"marketplace\":\"US\","
    "\"check\":\"brand\",\"result\":\"fail\",\"by\":\"qa@maker.example\",\"note\":\"old logo\"}\n"
    "{\"type\":\"probe\",\"at\":\"2027-03-01T10:00:00Z\",\"state\":\"down\"}\n"
    "{\"type\":\"probe\",\"at\":\"2027-03-01T17:00:00Z\",\"state\":\"up\"}\n"
    "{\"type\":\"incident\",\"at\":\"2027-04-01T00:00:00Z\",\"id\":\"INC-1\",\"access\":\"potential\","
    "\"data\":\"none\",\"affected\":12,\"duration_ms\":0}\n";

static const char *const good_csv = "type,at,skill,value\r\n"
                                    "directive,2027-05-01T10:00:00Z,amzn1.ask.skill.x,invalid\r\n"
                                    "directive,2027-05-01T10:00:01Z,amzn1.ask.skill.x,valid\r\n"
                                    "probe,2027-06-01T00:00:00Z,,down\r\n"
                                    "probe,2027-06-01T00:10:00Z,,up\r\n";

static void import_then_status(void **state)
{
    world *w = *state;
    char path[1200], *out, *err;
    write_file(w, "events.jsonl", good_jsonl, path, sizeof path);
    assert_int_equal(run(w, &out, &err, "wwa", "import", path, "--state", w->state, NULL), 0);
    assert_non_null(strstr(out, "imported 5 events"));
    free(out);
    free(err);
    write_file(w, "more.csv", good_csv, path, sizeof path);
    assert_int_equal(run(w, &out, &err, "wwa", "import", path, "--state", w->state, NULL), 0);
    assert_non_null(strstr(out, "imported 4 events"));
    assert_non_null(strstr(out, "9 in the store"));
    free(out);
    free(err);

    /* Seven hours down on 1 March: the badge goes at the crossing. */
    assert_int_equal(run(w, &out, &err, "wwa", "status", "--state", w->state, "--at", "2027-05-15T00:00:00Z", NULL), 0);
    assert_non_null(strstr(out, "badge: REMOVED"));
    assert_non_null(strstr(out, "new badge requests: SUSPENDED"));
    assert_non_null(strstr(out, "downtime 7h 00m 00.0s of 6h 07m 55.2s allowed"));
    assert_non_null(strstr(out, "over since 2027-05-01T10:00:00.000Z"));
    assert_non_null(strstr(out, "INC-1 medium"));
    assert_non_null(strstr(out, "GAP: fail by qa@maker.example"));
    free(out);
    free(err);

    assert_int_equal(
        run(w, &out, &err, "wwa", "status", "--json", "--state", w->state, "--at", "2027-05-20T00:00:00Z", NULL), 0);
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    assert_non_null(doc);
    assert_false(json_is_true(json_object_get(doc, "badge_held")));
    e2e_assert_jstr(doc, "reasons.0.kind", "availability");
    e2e_assert_jstr(doc, "reasons.0.since", "2027-03-01T16:07:55.201Z");
    assert_int_equal(e2e_jint(doc, "availability.downtime_ms", -1), 7 * 3600000LL);
    assert_int_equal(e2e_jint(doc, "availability.outages", -1), 1);
    assert_int_equal(e2e_jint(doc, "availability.allowance_ms", -1), 22075200);
    e2e_assert_jstr(doc, "skills.0.skill", "amzn1.ask.skill.x");
    assert_int_equal(e2e_jint(doc, "skills.0.requests_30d", -1), 2);
    e2e_assert_jstr(doc, "skills.0.mitigate_by", "2027-07-30T10:00:00.000Z");
    e2e_assert_jstr(doc, "incidents.0.severity", "medium");
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(doc, "incidents"), 0), "overdue")));
    e2e_assert_jstr(doc, "asins.0.checks.brand.result", "fail");
    e2e_assert_jstr(doc, "asins.0.checks.brand.by", "qa@maker.example");
    assert_int_equal(e2e_jint(doc, "checklist_gaps", -1), 5);
    json_decref(doc);
    free(out);
    free(err);

    /* In June: the June outage counts, the skill's directives left the window. */
    assert_int_equal(
        run(w, &out, &err, "wwa", "status", "--json", "--state", w->state, "--at", "2027-06-15T00:00:00Z", NULL), 0);
    doc = json_loads(out, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(e2e_jint(doc, "availability.downtime_ms", -1), 7 * 3600000LL + 600000);
    assert_int_equal(e2e_jint(doc, "availability.outages", -1), 2);
    assert_int_equal(e2e_jint(doc, "skills.0.requests_30d", -1), 0);
    assert_true(json_is_null(e2e_jget(doc, "skills.0.mitigate_by")));
    json_decref(doc);
    free(out);
    free(err);

    /* Before anything happened. */
    assert_int_equal(run(w, &out, &err, "wwa", "status", "--state", w->state, "--at", "2027-01-01T00:00:00Z", NULL), 0);
    assert_non_null(strstr(out, "badge: held"));
    free(out);
    free(err);
}

static void import_is_all_or_nothing(void **state)
{
    world *w = *state;
    char path[1200], *out, *err;
    static const struct {
        const char *name, *text, *expect;
    } cases[] = {
        {"a.jsonl", "{\"type\":\"probe\",\"at\":\"2027-03-01T10:00:00Z\",\"state\":\"down\"}\n{\"type\":\"probe\"}\n",
         "a.jsonl:2: \"at\" is missing"},
        {"b.jsonl",
         "{\"type\":\"probe\",\"at\":\"2027-03-01T10:00:00Z\",\"state\":\"down\"}\n"
         "{\"type\":\"probe\",\"at\":\"2027-03-01T10:00:00Z\",\"state\":\"down\",\"extra\":1}\n",
         "b.jsonl:2: unknown key \"extra\""},
        {"c.jsonl", "{\"type\":\"probe\",\"at\":\"2027-02-29T10:00:00Z\",\"state\":\"down\"}\n", "c.jsonl:1: \"at\""},
        {"d.jsonl", "{\"type\":\"probe\",\"at\":\"2027-03-01T10:00:00Z\",\"state\":\"down\"}\n\n",
         "d.jsonl:2: empty line"},
        {"e.csv", "type,at,value\n", "e.csv:1: a CSV file starts with the header"},
        {"f.csv", "type,at,skill,value\nprobe,2027-03-01T10:00:00Z,,sideways\n",
         "f.csv:2: a probe's value is up or down"},
        {"g.csv", "type,at,skill,value\naudit,2027-03-01T10:00:00Z,,x\n", "g.csv:2: CSV rows are probe or directive"},
        {"h.jsonl",
         "{\"type\":\"incident\",\"at\":\"2027-04-01T00:00:00Z\",\"id\":\"I\",\"access\":\"none\",\"data\":\"none\"}\n"
         "{\"type\":\"incident\",\"at\":\"2027-04-02T00:00:00Z\",\"id\":\"I\",\"access\":\"none\",\"data\":\"none\"}\n",
         "h.jsonl:2: an incident with this id exists already"},
        {"i.jsonl", "{\"type\":\"probe\",\"at\":\"2027-03-01T10:00:00Z\",\"state\":\"down\",\"state\":\"up\"}\n",
         "i.jsonl:1: not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(w, cases[i].name, cases[i].text, path, sizeof path);
        assert_int_equal(run(w, &out, &err, "wwa", "import", path, "--state", w->state, NULL), 1);
        if (!strstr(err, cases[i].expect))
            fail_msg("%s: stderr was: %s", cases[i].name, err);
        assert_non_null(strstr(err, "nothing imported"));
        free(out);
        free(err);
    }
    /* Nothing of the good first lines went in: the store is empty. */
    assert_int_equal(
        run(w, &out, &err, "wwa", "status", "--json", "--state", w->state, "--at", "2027-12-01T00:00:00Z", NULL), 0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(e2e_jint(doc, "availability.downtime_ms", -1), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "incidents")), 0);
    json_decref(doc);
    free(out);
    free(err);
}

static void usage_and_help(void **state)
{
    world *w = *state;
    char *out, *err;
    assert_int_equal(run(w, &out, &err, "wwa", "--help", NULL), 0);
    assert_non_null(strstr(out, "wss wwa import FILE"));
    assert_non_null(strstr(out, "--at TIME"));
    free(out);
    free(err);
    assert_int_equal(run(w, &out, &err, "wwa", "frobnicate", NULL), 2);
    free(out);
    free(err);
    assert_int_equal(run(w, &out, &err, "wwa", "status", "--at", "yesterday", "--state", w->state, NULL), 2);
    free(out);
    free(err);
    /* No store yet. */
    assert_int_equal(run(w, &out, &err, "wwa", "status", "--state", w->state, NULL), 1);
    assert_non_null(strstr(err, "no store"));
    free(out);
    free(err);
    assert_int_equal(run(w, &out, &err, "--help", NULL), 0);
    assert_non_null(strstr(out, "wwa"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(import_then_status, setup, teardown),
        cmocka_unit_test_setup_teardown(import_is_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(usage_and_help, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
