/* test_z85.c - Z85 (RFC 32) and the device's strict Base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "device/b64.h"
#include "device/z85.h"

static void test_rfc32_vector(void **state)
{
    (void)state;
    const uint8_t hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char out[11];
    uint8_t back[8];
    size_t n = 0;
    assert_int_equal(wss_z85_encode(hello, sizeof hello, out, sizeof out), 0);
    assert_string_equal(out, "HelloWorld");
    assert_int_equal(wss_z85_decode("HelloWorld", 10, back, sizeof back, &n), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(back, hello, 8);
}

static void test_z85_edges(void **state)
{
    (void)state;
    const uint8_t zero[4] = {0, 0, 0, 0}, ones[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    char out[6];
    assert_int_equal(wss_z85_encode(zero, 4, out, sizeof out), 0);
    assert_string_equal(out, "00000");
    assert_int_equal(wss_z85_encode(ones, 4, out, sizeof out), 0);
    assert_string_equal(out, "%nSc0"); /* 0xFFFFFFFF, the largest group */
    assert_int_equal(wss_z85_encode(NULL, 0, out, 1), 0);
    assert_string_equal(out, "");
}

static void test_z85_round_trips(void **state)
{
    (void)state;
    uint8_t in[24], back[24];
    char text[31];
    size_t n;
    srand(7);
    for (int round = 0; round < 500; round++) {
        for (size_t i = 0; i < sizeof in; i++)
            in[i] = (uint8_t)rand();
        assert_int_equal(wss_z85_encode(in, sizeof in, text, sizeof text), 0);
        assert_int_equal(strlen(text), 30);
        assert_int_equal(wss_z85_decode(text, 30, back, sizeof back, &n), 0);
        assert_int_equal(n, 24);
        assert_memory_equal(in, back, 24);
    }
}

static void test_z85_rejects(void **state)
{
    (void)state;
    uint8_t b[16];
    char out[16];
    size_t n = 99;
    const uint8_t three[3] = {1, 2, 3};
    assert_int_equal(wss_z85_encode(three, 3, out, sizeof out), -1);               /* not a multiple of 4 */
    assert_int_equal(wss_z85_encode((const uint8_t *)"abcdefgh", 8, out, 10), -1); /* no room for the NUL */
    assert_int_equal(wss_z85_decode("Hello", 4, b, sizeof b, &n), -1);             /* not a multiple of 5 */
    assert_int_equal(wss_z85_decode("Hel o", 5, b, sizeof b, &n), -1);             /* space */
    assert_int_equal(wss_z85_decode("Hell\"", 5, b, sizeof b, &n), -1);            /* quote: not Z85 */
    assert_int_equal(wss_z85_decode("%nSc1", 5, b, sizeof b, &n), -1);             /* above 0xFFFFFFFF */
    assert_int_equal(wss_z85_decode("#####", 5, b, sizeof b, &n), -1);             /* far above */
    assert_int_equal(wss_z85_decode("HelloWorld", 10, b, 7, &n), -1);              /* out too small */
    assert_int_equal(n, 99);
}

static void test_b64(void **state)
{
    (void)state;
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[16];
    uint8_t back[16];
    size_t n;
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(wss_dev_b64_encode(plain[i], strlen(plain[i]), out, sizeof out), 0);
        assert_string_equal(out, coded[i]);
        assert_int_equal(wss_dev_b64_decode(coded[i], strlen(coded[i]), back, sizeof back, &n), 0);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(back, plain[i], n);
    }
    const uint8_t all[3] = {0xFB, 0xFF, 0xBF};
    assert_int_equal(wss_dev_b64_encode(all, 3, out, sizeof out), 0);
    assert_string_equal(out, "+/+/");
    assert_int_equal(wss_dev_b64_encode(all, 3, out, 4), -1); /* no room for the NUL */
    assert_string_equal(out, "");
}

static void test_b64_rejects(void **state)
{
    (void)state;
    uint8_t b[16];
    size_t n;
    const char *bad[] = {"Zg=",    "Zg",   "Z===",     "Zh==", "Zm9=", "Zm 9v",
                         "Zm9v\n", "=Zm9", "Zg==Zg==", "Zm9-", "Zm9_", "Zg=A"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(wss_dev_b64_decode(bad[i], strlen(bad[i]), b, sizeof b, &n), -1);
    assert_int_equal(wss_dev_b64_decode("Zm9vYmFy", 8, b, 5, &n), -1); /* 6 bytes do not fit in 5 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc32_vector), cmocka_unit_test(test_z85_edges), cmocka_unit_test(test_z85_round_trips),
        cmocka_unit_test(test_z85_rejects),  cmocka_unit_test(test_b64),       cmocka_unit_test(test_b64_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
