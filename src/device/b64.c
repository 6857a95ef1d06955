/* b64.c - strict standard Base64 (see b64.h). */
#include "device/b64.h"

const char wss_dev_b64_alphabet[65] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int wss_dev_b64_encode(const void *in, size_t len, char *out, size_t cap)
{
    const uint8_t *p = in;
    if (cap > 0)
        out[0] = '\0';
    if (len > (SIZE_MAX - 1) / 4 * 3 - 2 || cap < (len + 2) / 3 * 4 + 1)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = wss_dev_b64_alphabet[v >> 18 & 63];
        out[o++] = wss_dev_b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? wss_dev_b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? wss_dev_b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return 0;
}

/* The 6-bit value of a character, or -1. Explicit ranges rather than ctype:
 * the result must not depend on the locale. */
static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int wss_dev_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (len % 4 != 0)
        return -1;
    size_t pad = 0;
    if (len >= 4 && in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    if (n > cap)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d;
            if (last && k >= 4 - pad)
                d = 0; /* padding, checked by the count above */
            else if ((d = b64_value(in[i + k])) < 0)
                return -1;
            v = v << 6 | (uint32_t)d;
        }
        if (last && pad == 2 && (v & 0xFFFF) != 0)
            return -1;
        if (last && pad == 1 && (v & 0xFF) != 0)
            return -1;
        out[o++] = (uint8_t)(v >> 16);
        if (!(last && pad == 2))
            out[o++] = (uint8_t)(v >> 8);
        if (!(last && pad >= 1))
            out[o++] = (uint8_t)v;
    }
    *out_len = o;
    return 0;
}
