/* test_json.c - strict JSON object parsing from bodies and files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "common/json.h"

static void test_parses_an_object(void **state)
{
    (void)state;
    char why[256] = "";
    json_t *o = wss_json_parse_object("{\"a\": 1}xyz", 8, why, sizeof why);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "a")), 1);
    json_decref(o);
}

static void test_refuses_what_is_not_a_strict_object(void **state)
{
    (void)state;
    const char *bad[] = {"", "[]", "1", "\"s\"", "{", "{\"a\":1,\"a\":2}", "{\"a\":1} {}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char why[256] = "";
        json_t *o = wss_json_parse_object(bad[i], strlen(bad[i]), why, sizeof why);
        if (o)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(why[0] != 0);
    }
}

static void test_file_errors_name_the_file(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512], path[600], err[512] = "";
    snprintf(dir, sizeof dir, "%s/wss-test-json-XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/c.json", dir);

    assert_null(wss_json_load_object_file(path, 1024, err, sizeof err));
    assert_non_null(strstr(err, "c.json"));

    assert_int_equal(wss_write_file_atomic(path, "{\"x\": [1,\n 2,]}", 15, 0600), WSS_OK);
    assert_null(wss_json_load_object_file(path, 1024, err, sizeof err));
    assert_non_null(strstr(err, "line 2"));

    assert_int_equal(wss_write_file_atomic(path, "{\"x\": true}", 11, 0600), WSS_OK);
    json_t *o = wss_json_load_object_file(path, 1024, err, sizeof err);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "x")));
    json_decref(o);
    assert_null(wss_json_load_object_file(path, 5, err, sizeof err));
    assert_int_equal(wss_remove_tree(dir), WSS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_an_object),
        cmocka_unit_test(test_refuses_what_is_not_a_strict_object),
        cmocka_unit_test(test_file_errors_name_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
