/* dss_key.c - the Device Setup Service's P-256 key (the device type key of
 * docs/dss.md section 1): created on first start as DIR/dss-signing-key.pem
 * (mode 0600), reloaded afterwards. It signs every DSS response body and is
 * the DSS side of the ECDH that derives a computed setup network's
 * passphrase. The private key never leaves this file's functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/file.h"
#include "common/log.h"
#include "sim/internal.h"

#define DSS_KEY_FILE "dss-signing-key.pem"
#define DSS_KEY_MAX (16u * 1024u)

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

wss_err sim_dss_key_load(sim *s, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->state_dir, DSS_KEY_FILE);
    char *pem = NULL;
    wss_crypto_key *key = NULL;
    wss_err rc = wss_read_file(path, DSS_KEY_MAX, &pem, NULL);
    if (rc == WSS_OK) {
        char why[256];
        rc = wss_key_parse_private_pem(pem, &key, why, sizeof why);
        wipe_free(pem);
        if (rc != WSS_OK) {
            snprintf(err, errlen, "%s: %s (remove it to start with a new DSS key)", path, why);
            return WSS_ERR_CONFIG;
        }
    } else if (rc == WSS_ERR_NOT_FOUND) {
        if ((rc = wss_key_generate(&key)) != WSS_OK) {
            snprintf(err, errlen, "cannot create the DSS key");
            return rc;
        }
        pem = wss_key_private_pem(key);
        rc = pem ? wss_write_file_atomic(path, pem, strlen(pem), 0600) : WSS_ERR_NOMEM;
        wipe_free(pem);
        if (rc != WSS_OK) {
            wss_key_free(key);
            snprintf(err, errlen, "cannot write %s: %s", path, wss_strerror(rc));
            return rc;
        }
        wss_log(WSS_LOG_INFO, "sim", "created the DSS key in %s", path);
    } else {
        snprintf(err, errlen, "cannot read %s: %s", path, wss_strerror(rc));
        return rc;
    }
    s->dss_public_b64 = wss_key_public_b64(key);
    if (!s->dss_public_b64) {
        wss_key_free(key);
        return WSS_ERR_NOMEM;
    }
    s->dss_key = key;
    return WSS_OK;
}

void sim_dss_key_free(sim *s)
{
    wss_key_free(s->dss_key);
    s->dss_key = NULL;
    free(s->dss_public_b64);
    s->dss_public_b64 = NULL;
}

void sim_dss_sign(sim *s, wss_http_response *resp, int corrupt)
{
    static const char other[] = "openwss: not the body that was sent";
    char *sig = NULL;
    wss_err rc = corrupt ? wss_ecdsa_sign_b64(s->dss_key, other, sizeof other - 1, &sig)
                         : wss_ecdsa_sign_b64(s->dss_key, resp->body ? resp->body : "", resp->body_len, &sig);
    if (rc == WSS_OK)
        wss_http_add_header(resp, "x-amzn-dss-signature", sig);
    else
        wss_log(WSS_LOG_ERROR, "sim", "cannot sign a DSS response: %s", wss_strerror(rc));
    free(sig);
}

void sim_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

wss_err sim_dss_ami(const char *device_key, uint8_t ami[9])
{
    /* Base64 of an uncompressed P-256 SPKI is already the canonical form. */
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (wss_base64_decode(device_key, &raw, &raw_len) == WSS_OK && raw_len == 91 && raw[26] == 0x04) {
        uint8_t digest[32];
        wss_sha256(raw, raw_len, digest);
        free(raw);
        memcpy(ami, digest + 23, 9);
        return WSS_OK;
    }
    free(raw);
    wss_crypto_key *key = NULL;
    char why[256];
    if (wss_key_parse_public(device_key, &key, why, sizeof why) != WSS_OK)
        return WSS_ERR_INVALID;
    char *b64 = wss_key_public_b64(key);
    wss_key_free(key);
    uint8_t *der = NULL;
    size_t len = 0;
    wss_err rc = b64 ? wss_base64_decode(b64, &der, &len) : WSS_ERR_NOMEM;
    free(b64);
    if (rc != WSS_OK)
        return rc;
    uint8_t digest[32];
    wss_sha256(der, len, digest);
    free(der);
    memcpy(ami, digest + 23, 9);
    return WSS_OK;
}

wss_err sim_dss_passphrase(sim *s, const char *device_key, const uint8_t nonce[12], char out[45])
{
    wss_crypto_key *dev = NULL;
    char why[256];
    if (wss_key_parse_public(device_key, &dev, why, sizeof why) != WSS_OK)
        return WSS_ERR_INVALID;
    uint8_t shared[32], key[32], mac[32];
    wss_err rc = wss_ecdh_p256(s->dss_key, dev, shared);
    wss_key_free(dev);
    if (rc == WSS_OK) {
        wss_sha256(shared, sizeof shared, key);
        rc = wss_hmac_sha256(key, sizeof key, nonce, 12, mac);
    }
    char *b64 = rc == WSS_OK ? wss_base64_encode(mac, sizeof mac) : NULL;
    memset(shared, 0, sizeof shared);
    memset(key, 0, sizeof key);
    if (rc == WSS_OK && (!b64 || strlen(b64) != 44))
        rc = WSS_ERR_NOMEM;
    if (rc == WSS_OK)
        memcpy(out, b64, 45);
    free(b64);
    return rc;
}
