/* test_demo.c - `wss demo`, the main job, as a user runs it: a real process
 * that starts the emulator and the cloud on 127.0.0.1 and runs a fleet
 * through Zero Touch Setup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "harness.h"

typedef struct fixture {
    char root[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/wss-test-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->root));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    wss_remove_tree(f->root);
    free(f);
    return 0;
}

static json_t *parse_summary(const char *out, const char *err)
{
    json_t *doc = json_loads(out, 0, NULL);
    if (!doc)
        fail_msg("wss demo --json printed no JSON:\n%s\n%s", out, err);
    return doc;
}

/* The default world: every device reaches its customer's Alexa account. */
static void demo_sets_up_every_device(void **state)
{
    fixture *f = *state;
    char *out = NULL, *err = NULL;
    int code = e2e_run(f->root, &out, &err, "demo", "--devices", "30", "--json", "--quiet", NULL);
    json_t *s = parse_summary(out, err);
    if (code != 0)
        fail_msg("wss demo exited %d:\n%s\n%s", code, out, err);
    assert_int_equal(e2e_jint(s, "devices", -1), 30);
    assert_int_equal(e2e_jint(s, "set_up", -1), 30);
    assert_true(json_is_true(json_object_get(s, "pass")));
    assert_int_equal(json_object_size(json_object_get(s, "failures")), 0);
    /* Simulated setup time: the modelled radio waits, not the wall clock. */
    assert_true(json_real_value(json_object_get(s, "setup_s_p50")) > 3.0);
    assert_true(json_real_value(json_object_get(s, "wall_s")) <
                json_real_value(json_object_get(s, "setup_s_p50")) * 30);
    json_decref(s);
    free(out);
    free(err);
}

/* The harsh profile puts devices where setup cannot work: they fall back,
 * each with its reason, and the run fails the 95 % bar. */
static void demo_below_the_bar_exits_non_zero_with_reasons(void **state)
{
    fixture *f = *state;
    char *out = NULL, *err = NULL;
    int code = e2e_run(f->root, &out, &err, "demo", "--devices", "60", "--faults", "harsh", "--seed", "4", "--json",
                       "--quiet", NULL);
    json_t *s = parse_summary(out, err);
    long long n = e2e_jint(s, "devices", -1), ok = e2e_jint(s, "set_up", -1);
    assert_int_equal(n, 60);
    json_t *failures = json_object_get(s, "failures");
    long long failed = 0;
    const char *reason;
    json_t *count;
    json_object_foreach(failures, reason, count)
    {
        /* Only the homes the profile made hard: the injected 503s were all recovered. */
        if (strcmp(reason, "no_provisioner") && strcmp(reason, "no_credentials"))
            fail_msg("unexpected failure reason %s (%lld)", reason, (long long)json_integer_value(count));
        failed += json_integer_value(count);
    }
    assert_true(failed > 0);
    assert_int_equal(ok + failed, n);
    int pass = (double)ok / (double)n >= 0.95;
    assert_int_equal(json_is_true(json_object_get(s, "pass")), pass);
    assert_int_equal(code, pass ? 0 : 1);
    json_decref(s);
    free(out);
    free(err);
}

/* The table for people, and --keep leaves everything to look at. */
static void demo_prints_a_table_and_keeps_its_state(void **state)
{
    fixture *f = *state;
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/kept", f->root);
    char *out = NULL, *err = NULL;
    int code = e2e_run(f->root, &out, &err, "demo", "--devices", "3", "--state", dir, "--keep", NULL);
    if (code != 0)
        fail_msg("wss demo exited %d:\n%s\n%s", code, out, err);
    assert_non_null(strstr(out, "3 / 3"));
    assert_non_null(strstr(out, "bar 95 %: met"));
    assert_non_null(strstr(out, "setup time, simulated (p50 / p95)"));
    assert_non_null(strstr(err, "powering 3 devices on"));
    static const char *const kept[] = {"scenario.json", "sim/credentials.json", "cloud/cloud.db",
                                       "mfg/dak_certificate.pem", "mfg/control-log.jsonl"};
    struct stat st;
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, kept[i]);
        if (stat(path, &st) != 0)
            fail_msg("--keep left no %s", path);
    }
    /* Each device's storage holds what the DSS configured. */
    snprintf(path, sizeof path, "%s/mfg/devices/DEMO-00000001/storage.json", dir);
    json_t *storage = json_load_file(path, 0, NULL);
    assert_non_null(storage);
    /* Keys hold dots: read them directly, not as paths. */
    const char *token = json_string_value(json_object_get(storage, "FFS.SessionToken"));
    const char *gateway = json_string_value(json_object_get(storage, "SmartHome.AlexaEventGatewayEndpoint"));
    assert_non_null(token);
    assert_non_null(gateway);
    assert_true(strncmp(token, "amzn1.ffs.wss-wifi-session-token.", 33) == 0);
    assert_non_null(strstr(gateway, "/v3/events"));
    json_decref(storage);
    free(out);
    free(err);
}

static void demo_refuses_bad_usage(void **state)
{
    fixture *f = *state;
    static const char *const bad[][3] = {
        {"--devices", "0", NULL}, {"--devices", "x", NULL}, {"--faults", "gentle", NULL},
        {"--jobs", "0", NULL},    {"--bogus", NULL, NULL},  {"extra", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *out = NULL, *err = NULL;
        int code = e2e_run(f->root, &out, &err, "demo", bad[i][0], bad[i][1], NULL);
        if (code != 2)
            fail_msg("wss demo %s %s: expected exit 2, got %d (%s)", bad[i][0], bad[i][1] ? bad[i][1] : "", code, err);
        assert_true(strlen(err) > 0);
        free(out);
        free(err);
    }
    char *out = NULL;
    assert_int_equal(e2e_run(f->root, &out, NULL, "demo", "--help", NULL), 0);
    assert_non_null(strstr(out, "usage: wss demo"));
    assert_non_null(strstr(out, "harsh"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(demo_sets_up_every_device, setup, teardown),
        cmocka_unit_test_setup_teardown(demo_below_the_bar_exits_non_zero_with_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(demo_prints_a_table_and_keeps_its_state, setup, teardown),
        cmocka_unit_test_setup_teardown(demo_refuses_bad_usage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
