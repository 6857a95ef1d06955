/* ids.c - the values a manufacturing run takes in (DSN, product index, UPC,
 * free texts) and the package barcode content string built from them.
 *
 * Character classes are spelled out rather than taken from <ctype.h>, whose
 * answers depend on the locale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/crypto.h"
#include "mfg/internal.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The DSN set of the control log and of device.id: letters, digits and _-=#;:?@&. */
static int is_dsn_char(char c) { return is_alnum(c) || (c && strchr("_-=#;:?@&", c) != NULL); }

int wss_mfg_dsn_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > WSS_MFG_DSN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_dsn_char(s[i]))
            return 0;
    return 1;
}

int mfg_prefix_valid(const char *s)
{
    if (!s || strlen(s) > WSS_MFG_PREFIX_MAX)
        return 0;
    for (; *s; s++)
        if (!is_dsn_char(*s) || *s == ';')
            return 0;
    return 1;
}

int wss_mfg_product_index_valid(const char *s)
{
    if (!s || strlen(s) != 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (!is_alnum(s[i]))
            return 0;
    return 1;
}

int wss_mfg_upc_valid(const char *s)
{
    if (!s || strlen(s) != 12)
        return 0;
    int sum = 0;
    for (int i = 0; i < 12; i++) {
        if (!is_digit(s[i]))
            return 0;
        if (i < 11)
            sum += (s[i] - '0') * (i % 2 == 0 ? 3 : 1); /* positions 1, 3, ... 11 weigh 3 */
    }
    return (10 - sum % 10) % 10 == s[11] - '0';
}

int mfg_text_valid(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    /* jansson refuses invalid UTF-8 (overlong forms, surrogates, truncation). */
    json_t *probe = json_string(s);
    json_decref(probe);
    return probe != NULL;
}

int mfg_host_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0, label = 0;
    if (n < 1 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (is_alnum(s[i]) || s[i] == '-') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

wss_err wss_mfg_barcode_make(const char *dsn, const char *product_index, const char *public_key, const char *upc,
                             char **out, char *err, size_t errlen)
{
    if (!out) {
        mfg_set_err(err, errlen, "no place for the barcode");
        return WSS_ERR_INVALID;
    }
    *out = NULL;
    if (!wss_mfg_dsn_valid(dsn) || strchr(dsn, ';')) {
        mfg_set_err(err, errlen, "the DSN must be 1 to %d characters of letters, digits and _-=#:?@& (no ';')",
                    WSS_MFG_DSN_MAX);
        return WSS_ERR_INVALID;
    }
    if (!wss_mfg_product_index_valid(product_index)) {
        mfg_set_err(err, errlen, "the product index must be exactly 4 letters or digits");
        return WSS_ERR_INVALID;
    }
    if (upc && *upc && !wss_mfg_upc_valid(upc)) {
        mfg_set_err(err, errlen, "the UPC must be 12 digits whose last is the UPC-A check digit");
        return WSS_ERR_INVALID;
    }
    wss_crypto_key *key = NULL;
    char why[160];
    if (wss_key_parse_public(public_key, &key, why, sizeof why) != WSS_OK) {
        mfg_set_err(err, errlen, "the device public key: %s", why);
        return WSS_ERR_INVALID;
    }
    char *puk = wss_key_public_b64_compressed(key);
    wss_key_free(key);
    if (!puk) {
        mfg_set_err(err, errlen, "cannot encode the compressed public key");
        return WSS_ERR_CRYPTO;
    }
    /* "UPC:" + 12 digits + ";" */
    char upc_field[20] = "";
    if (upc && *upc)
        snprintf(upc_field, sizeof upc_field, "UPC:%s;", upc);
    size_t cap = strlen(dsn) + strlen(puk) + sizeof upc_field + 64;
    char *s = malloc(cap);
    if (s)
        snprintf(s, cap, "ABV:OB01;SERNUM:%s;PID:%s;PUK:%s;%s", dsn, product_index, puk, upc_field);
    free(puk);
    *out = s;
    return s ? WSS_OK : WSS_ERR_NOMEM;
}
