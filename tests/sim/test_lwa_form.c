/* test_lwa_form.c - the token endpoint's form-encoded body decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim/internal.h"

static json_t *decode(const char *body)
{
    char why[256];
    return sim_form_decode(body, strlen(body), why, sizeof why);
}

static void test_decodes_escapes_and_plus(void **state)
{
    (void)state;
    json_t *p = decode("grant_type=client_credentials&scope=alexa%3A%3Adevice_association_report%3Awrite&x=a+b%2Bc");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "grant_type")), "client_credentials");
    assert_string_equal(json_string_value(json_object_get(p, "scope")), "alexa::device_association_report:write");
    assert_string_equal(json_string_value(json_object_get(p, "x")), "a b+c");
    json_decref(p);
}

static void test_empty_value_and_missing_equals(void **state)
{
    (void)state;
    json_t *p = decode("a=&b&&c=1");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "a")), "");
    assert_string_equal(json_string_value(json_object_get(p, "b")), "");
    assert_string_equal(json_string_value(json_object_get(p, "c")), "1");
    assert_int_equal(json_object_size(p), 3);
    json_decref(p);
}

static void test_refuses_hostile_input(void **state)
{
    (void)state;
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "a=1&a=2", "a=%ff%fe", "%=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char why[256] = "";
        json_t *p = sim_form_decode(bad[i], strlen(bad[i]), why, sizeof why);
        if (p)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(why[0] != 0);
    }
    char why[256] = "";
    assert_null(sim_form_decode("a=1\0b=2", 7, why, sizeof why));
    assert_non_null(strstr(why, "NUL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes_escapes_and_plus),
        cmocka_unit_test(test_empty_value_and_missing_equals),
        cmocka_unit_test(test_refuses_hostile_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
