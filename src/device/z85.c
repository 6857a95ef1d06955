/* z85.c - Z85 encoding and strict decoding (see z85.h). */
#include "device/z85.h"

static const char z85_alphabet[86] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* The value of a Z85 character, or -1. A linear search keeps the table out of
 * RAM-poor targets; the SSID is 30 characters. */
static int z85_value(char c)
{
    for (int i = 0; i < 85; i++) {
        if (z85_alphabet[i] == c)
            return i;
    }
    return -1;
}

int wss_z85_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (len % 4 != 0 || cap < len / 4 * 5 + 1)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 | (uint32_t)in[i + 2] << 8 | in[i + 3];
        for (int k = 4; k >= 0; k--) {
            out[o + (size_t)k] = z85_alphabet[v % 85];
            v /= 85;
        }
        o += 5;
    }
    out[o] = '\0';
    return 0;
}

int wss_z85_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (len % 5 != 0 || cap < len / 5 * 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 5) {
        uint64_t v = 0;
        for (size_t k = 0; k < 5; k++) {
            int d = z85_value(in[i + k]);
            if (d < 0)
                return -1;
            v = v * 85 + (uint64_t)d;
        }
        if (v > 0xFFFFFFFFu)
            return -1;
        out[o++] = (uint8_t)(v >> 24);
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    *out_len = o;
    return 0;
}
