/* fuzz_device_json.c - the device's JSON reader and its handling of DSS
 * responses. The input is split at "\n=====\n" into successive response
 * bodies; a fake port answers every DSS call with the next one (the
 * signature check passes, random bytes are zero so every nonce is 31 'A's)
 * and the whole of wss_dev_run walks them. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/json.h"
#include "wss/device.h"

#define SEPARATOR "\n=====\n"

static void walk(const wss_jr_val *v, int depth)
{
    char buf[64];
    int64_t n;
    int b;
    wss_jr_iter it;
    wss_jr_val key, val;
    if (depth > WSS_JR_MAX_DEPTH + 1)
        __builtin_trap(); /* the parser let deeper nesting through */
    switch (v->type) {
    case WSS_JR_OBJECT:
    case WSS_JR_ARRAY:
        wss_jr_iter_init(&it, v);
        while (wss_jr_next(&it, v->type == WSS_JR_OBJECT ? &key : NULL, &val)) {
            if (v->type == WSS_JR_OBJECT) {
                wss_jr_string(&key, buf, sizeof buf, NULL);
                wss_jr_val again;
                wss_jr_get(v, buf, &again);
            }
            walk(&val, depth + 1);
        }
        break;
    case WSS_JR_STRING:
        if (wss_jr_string(v, buf, sizeof buf, NULL) == 0 && !wss_jr_streq(v, buf))
            __builtin_trap(); /* a decoded string must equal itself */
        break;
    case WSS_JR_NUMBER: wss_jr_int(v, &n); break;
    default: wss_jr_bool(v, &b); break;
    }
}

typedef struct fz {
    const char *data;
    size_t size, pos;
    uint64_t now;
} fz;

static int next_body(fz *f, char *out, size_t cap, size_t *len)
{
    if (f->pos > f->size)
        return -1;
    const char *start = f->data + f->pos;
    size_t rest = f->size - f->pos, n = rest;
    for (size_t i = 0; i + sizeof SEPARATOR - 1 <= rest; i++) {
        if (memcmp(start + i, SEPARATOR, sizeof SEPARATOR - 1) == 0) {
            n = i;
            break;
        }
    }
    f->pos += n + sizeof SEPARATOR - 1;
    if (n >= cap)
        return -1;
    memcpy(out, start, n);
    out[n] = '\0';
    *len = n;
    return 0;
}

static int f_probe(void *ctx, const char *ssid) { return (void)ctx, (void)ssid, 0; }
static int f_scan(void *ctx, wss_dev_ap *aps, size_t cap, size_t *count)
{
    (void)ctx;
    memset(aps, 0, 2 * sizeof *aps);
    strcpy(aps[0].ssid, "HomeNet");
    strcpy(aps[0].bssid, "02:00:00:00:00:01");
    aps[0].security = WSS_DEV_SEC_WPA_PSK;
    strcpy(aps[1].ssid, "Cafe");
    aps[1].security = WSS_DEV_SEC_OPEN;
    *count = cap < 2 ? cap : 2;
    return 0;
}
static int f_join(void *ctx, const char *ssid, wss_dev_security sec, const char *key, int hidden)
{
    return (void)ctx, (void)ssid, (void)sec, (void)key, (void)hidden, 0;
}
static void f_leave(void *ctx) { (void)ctx; }
static int f_post(void *ctx, const wss_dev_http_request *req, wss_dev_http_response *resp)
{
    fz *f = ctx;
    (void)req;
    f->now += 10;
    if (next_body(f, resp->body, resp->body_cap, &resp->body_len) < 0)
        return -1;
    resp->status = resp->body_len > 0 && resp->body[0] == '{' ? 200 : 202;
    strcpy(resp->signature, "AAAA");
    resp->signature_headers = 1;
    return 0;
}
static int f_hash(void *ctx, const void *d, size_t n, uint8_t out[32])
{
    (void)ctx, (void)d, (void)n;
    memset(out, 7, 32);
    return 0;
}
static int f_hmac(void *ctx, const uint8_t *k, size_t kn, const void *d, size_t n, uint8_t out[32])
{
    (void)ctx, (void)k, (void)kn, (void)d, (void)n;
    memset(out, 9, 32);
    return 0;
}
static int f_ecdh(void *ctx, const uint8_t *p, size_t n, uint8_t s[32])
{
    (void)ctx, (void)p, (void)n;
    memset(s, 3, 32);
    return 0;
}
static int f_sign(void *ctx, const void *m, size_t n, uint8_t *sig, size_t cap, size_t *len)
{
    (void)ctx, (void)m, (void)n;
    if (cap < 70)
        return -1;
    memset(sig, 0x30, 70);
    *len = 70;
    return 0;
}
static int f_verify(void *ctx, const uint8_t *k, size_t kn, const void *m, size_t n, const uint8_t *s, size_t sn)
{
    return (void)ctx, (void)k, (void)kn, (void)m, (void)n, (void)s, (void)sn, 0;
}
static int f_random(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    memset(out, 0, n);
    return 0;
}
static int f_read(void *ctx, const char *key, char *out, size_t cap, size_t *len)
{
    /* 91 zero bytes in Base64 stand for both keys. */
    static const char spki[] =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAA==";
    const char *v = NULL;
    (void)ctx;
    if (strcmp(key, "DeviceInformation.PublicKey") == 0 || strcmp(key, "DSS.PublicKey") == 0)
        v = spki;
    else if (strcmp(key, "DeviceInformation.ProductIndex") == 0)
        v = "CbtN";
    if (!v || strlen(v) >= cap)
        return -1;
    strcpy(out, v);
    *len = strlen(v);
    return 0;
}
static int f_write(void *ctx, const char *k, const char *v, size_t n)
{
    return (void)ctx, (void)k, (void)v, (void)n, 0;
}
static uint64_t f_now(void *ctx) { return ((fz *)ctx)->now; }
static void f_sleep(void *ctx, uint32_t ms) { ((fz *)ctx)->now += ms; }
static void f_ugs(void *ctx, wss_dev_fail fail, const char *detail) { (void)ctx, (void)fail, (void)detail; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wss_jr_val root;
    if (wss_jr_parse((const char *)data, size, &root) == 0)
        walk(&root, 0);

    fz f = {(const char *)data, size, 0, 0};
    wss_dev_port port = {
        .ctx = &f,
        .wifi_probe = f_probe,
        .wifi_scan = f_scan,
        .wifi_join = f_join,
        .wifi_leave = f_leave,
        .https_post = f_post,
        .sha256 = f_hash,
        .hmac_sha256 = f_hmac,
        .ecdh_p256 = f_ecdh,
        .ecdsa_sign = f_sign,
        .ecdsa_verify = f_verify,
        .random = f_random,
        .storage_read = f_read,
        .storage_write = f_write,
        .now_ms = f_now,
        .sleep_ms = f_sleep,
        .user_guided_setup = f_ugs,
    };
    wss_dev_config config = {.cloud_host = "cloud.example", .cloud_port = 443};
    wss_dev dev;
    wss_dev_result res;
    wss_dev_policy_default(&config.policy);
    config.policy.retry_backoff_ms = 1;
    if (wss_dev_init(&dev, &port, &config, NULL, 0) != WSS_DEV_OK)
        __builtin_trap();
    wss_dev_run(&dev, &res);
    if (getenv("WSS_FUZZ_VERBOSE")) /* to check what a seed reaches */
        fprintf(stderr, "%s %s: %s\n", wss_dev_fail_name(res.fail), res.state, res.detail);
    if (memchr(res.detail, '\0', sizeof res.detail) == NULL || memchr(res.state, '\0', sizeof res.state) == NULL)
        __builtin_trap();
    return 0;
}
