/* test_skill_json.c - the skill endpoint's tree-less JSON (skill_json.h):
 * what the CDAD reader accepts it reads as jansson does, everything else it
 * leaves to jansson; the categories reader; the writer's escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/skill_json.h"

#define CDAD_HEAD                                                                                                      \
    "{\"directive\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AssociateCustomerDevice\","            \
    "\"payloadVersion\":\"3\",\"messageId\":\"m-1\""

/* A CDAD with the given correlation part (",\"correlationToken\":..." or "")
 * and device object. */
static char *cdad(const char *correlation, const char *device)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             CDAD_HEAD "%s},\"payload\":{\"scope\":{\"type\":\"BearerToken\",\"token\":\"tok-1\"},\"device\":%s}}}",
             correlation, device);
    return buf;
}

static int reads(const char *body, cloud_cdad *out) { return cloud_cdad_read(body, strlen(body), out); }

static void cdad_common_body_read(void **state)
{
    (void)state;
    cloud_cdad c;
    assert_true(reads(cdad(",\"correlationToken\":\"corr-1\"",
                           "{\"id\":\"dev-1\",\"preferredFriendlyNames\":[{\"@type\":\"text\",\"value\":"
                           "{\"text\":\"  \",\"locale\":\"en-US\"}},3,{\"value\":{\"text\":\" K\xc3\xbc"
                           "che \"}}],\"extra\":[1.5,-0,true,false,null,{},[]]}"),
                      &c));
    assert_string_equal(c.token, "tok-1");
    assert_string_equal(c.device_id, "dev-1");
    assert_string_equal(c.correlation, "corr-1");
    assert_string_equal(c.name, "K\xc3\xbc"
                                "che");

    /* No correlation token, no names. */
    assert_true(reads(cdad("", "{\"id\":\"dev-2\"}"), &c));
    assert_string_equal(c.correlation, "");
    assert_string_equal(c.name, "");
}

/* Bodies left to jansson: malformed, other directives, errors, and what
 * the reader does not take on. */
static void cdad_other_bodies_left_to_jansson(void **state)
{
    (void)state;
    cloud_cdad c;
    const char *dev = "{\"id\":\"dev-1\"}";
    char body[4200];
    static const char *const left[][2] = {
        {",\"correlationToken\":\"\"", NULL},                               /* empty correlation token */
        {",\"correlationToken\":7", NULL},                                  /* not a string */
        {",\"correlationToken\":\"a\\\"b\"", NULL},                         /* an escape */
        {",\"messageId\":\"m-2\"", NULL},                                   /* a duplicate key */
        {"", "{\"id\":\"dev 1/\"}"},                                        /* an invalid device id */
        {"", "{\"id\":5}"},                                                 /* not a string */
        {"", "{\"id\":\"dev-1\",\"n\":1e5}"},                               /* an exponent */
        {"", "{\"id\":\"dev-1\",\"n\":01}"},                                /* not JSON */
        {"", "{\"id\":\"dev-1\",\"n\":1234567890123456}"},                  /* 16 digits */
        {"", "{\"id\":\"dev-1\",\"t\":\"\xc3\x28\"}"},                      /* invalid UTF-8 */
        {"", "{\"id\":\"dev-1\",\"t\":\"\xed\xa0\x80\"}"},                  /* a surrogate */
        {"", "{\"id\":\"dev-1\",\"t\":\"\xe0\x80\xaf\"}"},                  /* overlong */
        {"", "[\"dev-1\"]"},                                                /* device not an object */
        {"", "{\"id\":\"dev-1\",\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}"}, /* deeper than 16 */
    };
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        snprintf(body, sizeof body, "%s", cdad(left[i][0], left[i][1] ? left[i][1] : dev));
        if (reads(body, &c))
            print_error("read: %s\n", body);
        assert_false(reads(body, &c));
    }
    /* Trailing text, a truncated body, another namespace, a number version. */
    snprintf(body, sizeof body, "%s", cdad("", dev));
    strcat(body, " x");
    assert_false(reads(body, &c));
    snprintf(body, sizeof body, "%s", cdad("", dev));
    assert_false(cloud_cdad_read(body, strlen(body) - 1, &c));
    assert_true(cloud_cdad_read(body, strlen(body), &c));
    char *p = strstr(body, "SimpleSetup");
    p[0] = 's';
    assert_false(reads(body, &c));
    snprintf(body, sizeof body, "%s", cdad("", dev));
    p = strstr(body, "\"3\"");
    memcpy(p, " 3 ", 3);
    assert_false(reads(body, &c));
    assert_false(reads("", &c));
    assert_false(reads("[]", &c));
    assert_false(reads("{\"directive\":{}}", &c));
}

/* Whatever the reader accepts, jansson reads the same: the body with
 * whitespace in every place JSON allows it. */
static void cdad_spaces_as_jansson(void **state)
{
    (void)state;
    const char *body = " \t\r\n{ \"directive\" : { \"header\" : { \"namespace\" : \"Alexa.SimpleSetup\" , "
                       "\"name\" : \"AssociateCustomerDevice\" , \"payloadVersion\" : \"3\" , \"messageId\" : "
                       "\"m-1\" } , \"payload\" : { \"scope\" : { \"token\" : \"t\" , \"type\" : \"BearerToken\" } "
                       ", \"device\" : { \"id\" : \"d\" , \"preferredFriendlyNames\" : [ ] } } } }\n";
    cloud_cdad c;
    assert_true(reads(body, &c));
    json_t *root = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(root);
    json_decref(root);
    assert_string_equal(c.token, "t");
    assert_string_equal(c.device_id, "d");
}

static void categories_read(void **state)
{
    (void)state;
    cloud_categories cats;
    assert_true(cloud_categories_read(" [ \"SWITCH\" , \"NOPE\", \"LIGHT\",\"SWITCH\" ] ", &cats));
    assert_int_equal(cats.n, 2);
    assert_string_equal(cats.names[0], "SWITCH");
    assert_string_equal(cats.names[1], "LIGHT");
    assert_true(cloud_categories_read("[]", &cats));
    assert_int_equal(cats.n, 0);
    assert_false(cloud_categories_read("[\"SW\\u0049TCH\"]", &cats)); /* an escape: jansson reads it */
    assert_false(cloud_categories_read("[1]", &cats));
    assert_false(cloud_categories_read("[\"SWITCH\",]", &cats));
    assert_false(cloud_categories_read("{}", &cats));
}

static void writer_escapes_as_jansson(void **state)
{
    (void)state;
    const char *s = "a\"b\\c\nd\te\x01\x1f/\x7f\xc3\xa4";
    cloud_jw w = {0};
    cloud_jw_raw(&w, "[");
    cloud_jw_str(&w, s);
    cloud_jw_raw(&w, "]");
    size_t len;
    char *text = cloud_jw_take(&w, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_t *arr = json_array();
    json_array_append_new(arr, json_string(s));
    char *dumped = json_dumps(arr, JSON_COMPACT);
    assert_string_equal(text, dumped);
    free(dumped);
    json_decref(arr);
    free(text);
}

static void copy_text_trims_and_limits(void **state)
{
    (void)state;
    char out[CLOUD_TEXT_BUF];
    assert_int_equal(cloud_copy_text(out,
                                     " \x01 ab\x02"
                                     "c \x7f ",
                                     10, 128),
                     4);
    assert_string_equal(out, "ab c");
    assert_int_equal(cloud_copy_text(out, "\xc3\xa4\xc3\xa4\xc3\xa4", 6, 2), 4);
    assert_string_equal(out, "\xc3\xa4\xc3\xa4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cdad_common_body_read),     cmocka_unit_test(cdad_other_bodies_left_to_jansson),
        cmocka_unit_test(cdad_spaces_as_jansson),    cmocka_unit_test(categories_read),
        cmocka_unit_test(writer_escapes_as_jansson), cmocka_unit_test(copy_text_trims_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
