/* test_json.c - the device's bounded JSON reader and writer, hostile input included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "device/json.h"

static int parse(const char *s, wss_jr_val *root) { return wss_jr_parse(s, strlen(s), root); }

static void test_valid_documents(void **state)
{
    (void)state;
    const char *good[] = {"{}",
                          " [ ] ",
                          "0",
                          "-0",
                          "1.5e+10",
                          "-12.0E-3",
                          "\"\"",
                          "true",
                          "false",
                          "null",
                          "{\"a\":[1,{\"b\":null},\"x\"],\"c\":{}}",
                          "\"\\u00e9\\ud83d\\ude00\"",
                          "\"caf\xc3\xa9\"",
                          "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]"}; /* 16 levels: the limit */
    wss_jr_val root;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (parse(good[i], &root) != 0)
            fail_msg("rejected %s", good[i]);
    }
    assert_int_equal(parse(" {\"k\": 1} \n", &root), 0);
    assert_int_equal(root.type, WSS_JR_OBJECT);
    assert_int_equal(root.len, 8); /* the value's span, without the whitespace around it */
}

static void test_rejects(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         " ",
                         "{",
                         "}",
                         "[1,]",
                         "{\"a\":1,}",
                         "{\"a\" 1}",
                         "{a:1}",
                         "{\"a\":1}{}",
                         "[1 2]",
                         "01",
                         "1.",
                         ".5",
                         "-",
                         "1e",
                         "+1",
                         "tru",
                         "nul",
                         "True",
                         "\"abc",
                         "\"\\x\"",
                         "\"\\u12G4\"",
                         "\"tab\there\"",
                         "\"\xff\"",
                         "\"\xc0\xaf\"",                       /* overlong '/' */
                         "\"\xed\xa0\x80\"",                   /* a surrogate in UTF-8 */
                         "\"\xf4\x90\x80\x80\"",               /* above U+10FFFF */
                         "\"\xe2\x82\"",                       /* cut sequence */
                         "[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]", /* 17 levels */
                         "{\"a\":]",
                         "[}",
                         "{]"};
    wss_jr_val root;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &root) != -1)
            fail_msg("accepted %s", bad[i]);
    }
    /* An embedded NUL is not whitespace. */
    assert_int_equal(wss_jr_parse("{}\0", 3, &root), -1);
    assert_int_equal(wss_jr_parse("{\"a\0\":1}", 8, &root), -1);
    assert_int_equal(wss_jr_parse(NULL, 0, &root), -1);
}

static void test_deep_nesting_is_cheap(void **state)
{
    (void)state;
    static char deep[200001];
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = '\0';
    wss_jr_val root;
    assert_int_equal(wss_jr_parse(deep, 200000, &root), -1);
    memset(deep, '{', 200000);
    assert_int_equal(wss_jr_parse(deep, 200000, &root), -1);
}

static void test_truncated(void **state)
{
    (void)state;
    const char *doc = "{\"nonce\":\"abc\",\"list\":[{\"ssid\":\"x\\u00e9\",\"n\":-12}],\"ok\":true}";
    size_t len = strlen(doc);
    wss_jr_val root;
    assert_int_equal(wss_jr_parse(doc, len, &root), 0);
    for (size_t cut = 0; cut < len; cut++) {
        if (wss_jr_parse(doc, cut, &root) == 0)
            fail_msg("accepted the first %zu bytes", cut);
    }
}

static void test_lookups(void **state)
{
    (void)state;
    const char *doc = "{\"nonce\":\"n\\\"1\",\"seq\":42,\"neg\":-7,\"big\":9223372036854775807,"
                      "\"huge\":9223372036854775808,\"frac\":1.5,\"exp\":1e3,\"ok\":true,\"no\":false,"
                      "\"nested\":{\"nonce\":\"inner\"},\"list\":[{\"ssid\":\"a\"},{\"ssid\":\"b\"},3],"
                      "\"k\\u0065y\":\"escaped key\",\"utf\":\"\\u00e9\\ud83d\\ude00\",\"nul\":\"a\\u0000b\","
                      "\"lone\":\"\\udc00\",\"hi\":\"\\ud800x\",\"min\":-9223372036854775808}";
    wss_jr_val root, v, k, e;
    char buf[32];
    size_t len;
    int64_t n;
    int b;
    assert_int_equal(parse(doc, &root), 0);

    assert_int_equal(wss_jr_get(&root, "nonce", &v), 0);
    assert_int_equal(wss_jr_string(&v, buf, sizeof buf, &len), 0);
    assert_string_equal(buf, "n\"1");
    assert_int_equal(len, 3);
    assert_true(wss_jr_streq(&v, "n\"1"));
    assert_false(wss_jr_streq(&v, "n\"")); /* a prefix is not equal */
    assert_false(wss_jr_streq(&v, "n\"12"));
    assert_int_equal(wss_jr_string(&v, buf, 3, &len), -1); /* needs 4 bytes with the NUL */
    assert_string_equal(buf, "");

    assert_int_equal(wss_jr_get(&root, "seq", &v), 0);
    assert_int_equal(wss_jr_int(&v, &n), 0);
    assert_int_equal(n, 42);
    assert_int_equal(wss_jr_get(&root, "neg", &v), 0);
    assert_int_equal(wss_jr_int(&v, &n), 0);
    assert_int_equal(n, -7);
    assert_int_equal(wss_jr_get(&root, "big", &v), 0);
    assert_int_equal(wss_jr_int(&v, &n), 0);
    assert_true(n == INT64_MAX);
    assert_int_equal(wss_jr_get(&root, "min", &v), 0);
    assert_int_equal(wss_jr_int(&v, &n), 0);
    assert_true(n == INT64_MIN);
    assert_int_equal(wss_jr_get(&root, "huge", &v), 0);
    assert_int_equal(wss_jr_int(&v, &n), -1);
    assert_int_equal(wss_jr_get(&root, "frac", &v), 0);
    assert_int_equal(wss_jr_int(&v, &n), -1);
    assert_int_equal(wss_jr_get(&root, "exp", &v), 0);
    assert_int_equal(wss_jr_int(&v, &n), -1);
    assert_int_equal(wss_jr_string(&v, buf, sizeof buf, NULL), -1); /* not a string */

    assert_int_equal(wss_jr_get(&root, "ok", &v), 0);
    assert_int_equal(wss_jr_bool(&v, &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(wss_jr_get(&root, "no", &v), 0);
    assert_int_equal(wss_jr_bool(&v, &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(wss_jr_get(&root, "seq", &v), 0);
    assert_int_equal(wss_jr_bool(&v, &b), -1);

    /* Only the top level is searched. */
    assert_int_equal(wss_jr_get(&root, "ssid", &v), -1);
    assert_int_equal(wss_jr_get(&root, "nested", &v), 0);
    assert_int_equal(v.type, WSS_JR_OBJECT);
    assert_int_equal(wss_jr_get(&v, "nonce", &e), 0);
    assert_true(wss_jr_streq(&e, "inner"));
    assert_int_equal(wss_jr_get(&root, "absent", &v), -1);

    /* Keys match after unescaping. */
    assert_int_equal(wss_jr_get(&root, "key", &v), 0);
    assert_true(wss_jr_streq(&v, "escaped key"));

    assert_int_equal(wss_jr_get(&root, "utf", &v), 0);
    assert_int_equal(wss_jr_string(&v, buf, sizeof buf, &len), 0);
    assert_string_equal(buf, "\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(wss_jr_get(&root, "nul", &v), 0);
    assert_int_equal(wss_jr_string(&v, buf, sizeof buf, &len), -1);
    assert_false(wss_jr_streq(&v, "a"));
    assert_int_equal(wss_jr_get(&root, "lone", &v), 0);
    assert_int_equal(wss_jr_string(&v, buf, sizeof buf, &len), -1);
    assert_int_equal(wss_jr_get(&root, "hi", &v), 0);
    assert_int_equal(wss_jr_string(&v, buf, sizeof buf, &len), -1);

    /* Arrays of objects. */
    assert_int_equal(wss_jr_get(&root, "list", &v), 0);
    wss_jr_iter it;
    wss_jr_iter_init(&it, &v);
    const char *want[] = {"a", "b"};
    int count = 0;
    while (wss_jr_next(&it, NULL, &e)) {
        if (count < 2) {
            assert_int_equal(e.type, WSS_JR_OBJECT);
            assert_int_equal(wss_jr_get(&e, "ssid", &k), 0);
            assert_true(wss_jr_streq(&k, want[count]));
        } else {
            assert_int_equal(e.type, WSS_JR_NUMBER);
        }
        count++;
    }
    assert_int_equal(count, 3);

    /* Walking an object's members, and a walk over a scalar is empty. */
    assert_int_equal(wss_jr_get(&root, "nested", &v), 0);
    wss_jr_iter_init(&it, &v);
    assert_int_equal(wss_jr_next(&it, &k, &e), 1);
    assert_true(wss_jr_streq(&k, "nonce"));
    assert_int_equal(wss_jr_next(&it, &k, &e), 0);
    assert_int_equal(wss_jr_get(&root, "seq", &v), 0);
    wss_jr_iter_init(&it, &v);
    assert_int_equal(wss_jr_next(&it, NULL, &e), 0);
    assert_int_equal(wss_jr_get(&v, "x", &e), -1);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    wss_jr_val root, v;
    assert_int_equal(parse("{\"nonce\":\"a\",\"x\":1,\"nonce\":\"b\"}", &root), 0);
    assert_int_equal(wss_jr_get(&root, "nonce", &v), -2);
    assert_int_equal(parse("{\"nonce\":\"a\",\"n\\u006fnce\":\"b\"}", &root), 0);
    assert_int_equal(wss_jr_get(&root, "nonce", &v), -2);
    assert_int_equal(wss_jr_get(&root, "x", &v), -1);
}

static void test_writer(void **state)
{
    (void)state;
    char buf[256];
    wss_jw w;
    wss_jw_init(&w, buf, sizeof buf);
    wss_jw_object_open(&w);
    wss_jw_kv_string(&w, "s", "q\"b\\s/\n\r\t\b\f\x01\x1f\xc3\xa9");
    wss_jw_kv_int(&w, "i", -42);
    wss_jw_kv_int(&w, "max", INT64_MAX);
    wss_jw_kv_int(&w, "min", INT64_MIN);
    wss_jw_kv_bool(&w, "t", 1);
    wss_jw_kv_bool(&w, "f", 0);
    wss_jw_key(&w, "a");
    wss_jw_array_open(&w);
    wss_jw_object_open(&w);
    wss_jw_object_close(&w);
    wss_jw_int(&w, 0);
    wss_jw_string(&w, "");
    wss_jw_array_close(&w);
    wss_jw_key(&w, "e");
    wss_jw_array_open(&w);
    wss_jw_array_close(&w);
    wss_jw_object_close(&w);
    assert_int_equal(wss_jw_ok(&w), 0);
    assert_string_equal(buf, "{\"s\":\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\xc3\xa9\",\"i\":-42,"
                             "\"max\":9223372036854775807,\"min\":-9223372036854775808,\"t\":true,\"f\":false,"
                             "\"a\":[{},0,\"\"],\"e\":[]}");
    assert_int_equal(w.len, strlen(buf));

    /* What the writer escapes, the reader gives back. */
    wss_jr_val root, v;
    char back[64];
    assert_int_equal(wss_jr_parse(buf, w.len, &root), 0);
    assert_int_equal(wss_jr_get(&root, "s", &v), 0);
    assert_int_equal(wss_jr_string(&v, back, sizeof back, NULL), 0);
    assert_string_equal(back, "q\"b\\s/\n\r\t\b\f\x01\x1f\xc3\xa9");
}

static void test_writer_overflow_and_rollback(void **state)
{
    (void)state;
    char buf[16];
    wss_jw w;
    wss_jw_init(&w, buf, sizeof buf);
    wss_jw_array_open(&w);
    wss_jw_string(&w, "abc");
    wss_jw_mark m = wss_jw_save(&w);
    wss_jw_string(&w, "this does not fit");
    assert_int_equal(wss_jw_ok(&w), -1);
    assert_true(strlen(buf) < sizeof buf); /* still NUL-terminated inside the buffer */
    wss_jw_int(&w, 1);                     /* nothing more is written after an overflow */
    assert_int_equal(wss_jw_ok(&w), -1);
    wss_jw_rollback(&w, m);
    assert_int_equal(wss_jw_ok(&w), 0);
    wss_jw_int(&w, 7);
    wss_jw_array_close(&w);
    assert_int_equal(wss_jw_ok(&w), 0);
    assert_string_equal(buf, "[\"abc\",7]");

    /* Exactly full: 15 characters and the NUL. */
    wss_jw_init(&w, buf, sizeof buf);
    wss_jw_string(&w, "0123456789abc");
    assert_int_equal(wss_jw_ok(&w), 0);
    assert_int_equal(strlen(buf), 15);
    wss_jw_init(&w, buf, sizeof buf);
    wss_jw_string(&w, "0123456789abcd");
    assert_int_equal(wss_jw_ok(&w), -1);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(wss_jr_utf8_valid("plain", 5));
    assert_true(wss_jr_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_false(wss_jr_utf8_valid("\x80", 1));
    assert_false(wss_jr_utf8_valid("\xc3", 1));
    assert_false(wss_jr_utf8_valid("\xe0\x80\x80", 3));
    assert_false(wss_jr_utf8_valid("\xff", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_deep_nesting_is_cheap),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_writer_overflow_and_rollback),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
