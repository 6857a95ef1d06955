/* device.c - libwss-device: names, the default policy, wss_dev_init, the
 * computed setup network, and the text and log helpers of the core. */
#include <string.h>

#include "device/b64.h"
#include "device/internal.h"
#include "device/z85.h"

const char *wss_dev_security_name(wss_dev_security sec)
{
    switch (sec) {
    case WSS_DEV_SEC_OPEN: return "OPEN";
    case WSS_DEV_SEC_WPA_PSK: return "WPA_PSK";
    case WSS_DEV_SEC_WEP: return "WEP";
    default: return "OTHER";
    }
}

const char *wss_dev_fail_name(wss_dev_fail fail)
{
    static const char *const names[] = {"ok",       "no_provisioner", "refused", "no_credentials",
                                        "join",     "bad_signature",  "timeout", "transport",
                                        "protocol", "report",         "port"};
    if ((unsigned)fail < sizeof names / sizeof names[0])
        return names[fail];
    return "unknown";
}

void wss_dev_policy_default(wss_dev_policy *p)
{
    p->budget_ms = 180000;
    p->http_attempts = 3;
    p->retry_backoff_ms = 1000;
    p->probe_attempts = 3;
    p->join_attempts = 2;
    p->max_redirects = 3;
    p->max_wait_ms = 10000;
    p->setup_proxy_port = 8888;
}

/* ---- text ------------------------------------------------------------------- */

void wss_devi_text_init(wss_devi_text *t)
{
    t->len = 0;
    t->s[0] = '\0';
}

void wss_devi_text_add(wss_devi_text *t, const char *s)
{
    if (!s)
        return;
    while (*s && t->len + 1 < sizeof t->s) {
        /* One line: control characters from a peer become spaces. */
        char c = *s++;
        t->s[t->len++] = (unsigned char)c < 0x20 ? ' ' : c;
    }
    t->s[t->len] = '\0';
}

void wss_devi_text_num(wss_devi_text *t, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    tmp[--i] = '\0';
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    wss_devi_text_add(t, tmp + i);
}

int wss_devi_copy(char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

void wss_devi_log(wss_dev *dev, wss_dev_log_level level, const char *a, const char *b, const char *c)
{
    if (!dev->port.log)
        return;
    wss_devi_text t;
    wss_devi_text_init(&t);
    wss_devi_text_add(&t, a);
    wss_devi_text_add(&t, b);
    wss_devi_text_add(&t, c);
    dev->port.log(dev->port.ctx, level, t.s);
}

wss_dev_fail wss_devi_fail(wss_dev *dev, wss_dev_fail f, const char *a, const char *b, const char *c)
{
    if (dev->fail != WSS_DEV_OK)
        return dev->fail; /* the first reason stands */
    wss_devi_text t;
    wss_devi_text_init(&t);
    wss_devi_text_add(&t, a);
    wss_devi_text_add(&t, b);
    wss_devi_text_add(&t, c);
    dev->fail = f;
    memcpy(dev->detail, t.s, t.len + 1);
    wss_devi_log(dev, WSS_DEV_LOG_ERROR, wss_dev_fail_name(f), ": ", t.s);
    return f;
}

uint64_t wss_devi_elapsed(wss_dev *dev)
{
    uint64_t now = dev->port.now_ms(dev->port.ctx);
    return now > dev->started_ms ? now - dev->started_ms : 0;
}

wss_dev_fail wss_devi_budget(wss_dev *dev, const char *step)
{
    if (wss_devi_elapsed(dev) < dev->config.policy.budget_ms)
        return WSS_DEV_OK;
    return wss_devi_fail(dev, WSS_DEV_FAIL_TIMEOUT, "time budget spent before ", step, NULL);
}

/* ---- init --------------------------------------------------------------------- */

static wss_dev_fail init_fail(char *detail, size_t detail_len, const char *a, const char *b)
{
    if (detail && detail_len > 0) {
        wss_devi_text t;
        wss_devi_text_init(&t);
        wss_devi_text_add(&t, a);
        wss_devi_text_add(&t, b);
        size_t n = t.len < detail_len - 1 ? t.len : detail_len - 1;
        memcpy(detail, t.s, n);
        detail[n] = '\0';
    }
    return WSS_DEV_FAIL_PORT;
}

/* Reads a text value into out; 1 when present, 0 when absent, -1 when it
 * does not fit. */
static int read_text(wss_dev *dev, const char *key, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    if (dev->port.storage_read(dev->port.ctx, key, out, cap, &len) < 0) {
        out[0] = '\0';
        return 0;
    }
    if (len >= cap) {
        out[0] = '\0';
        return -1;
    }
    out[len] = '\0';
    return 1;
}

/* A 91-byte DER SPKI stored as Base64. dev->response is the scratch buffer. */
static int read_spki(wss_dev *dev, const char *key, uint8_t spki[WSS_DEV_SPKI_LEN])
{
    size_t n = 0;
    if (read_text(dev, key, dev->response, sizeof dev->response) != 1)
        return -1;
    if (wss_dev_b64_decode(dev->response, strlen(dev->response), spki, WSS_DEV_SPKI_LEN, &n) < 0 ||
        n != WSS_DEV_SPKI_LEN)
        return -1;
    return 0;
}

wss_dev_fail wss_dev_init(wss_dev *dev, const wss_dev_port *port, const wss_dev_config *config, char *detail,
                          size_t detail_len)
{
    memset(dev, 0, sizeof *dev);
    if (detail && detail_len > 0)
        detail[0] = '\0';
    if (!port)
        return init_fail(detail, detail_len, "no port", NULL);
    dev->port = *port;
    const wss_dev_port *p = &dev->port;
    if (!p->wifi_probe || !p->wifi_scan || !p->wifi_join || !p->wifi_leave || !p->https_post || !p->sha256 ||
        !p->hmac_sha256 || !p->ecdh_p256 || !p->ecdsa_sign || !p->ecdsa_verify || !p->random || !p->storage_read ||
        !p->storage_write || !p->now_ms || !p->sleep_ms || !p->user_guided_setup)
        return init_fail(detail, detail_len, "the port lacks a required function", NULL);

    if (config)
        dev->config = *config;
    else
        wss_dev_policy_default(&dev->config.policy);
    wss_dev_policy def;
    wss_dev_policy_default(&def);
    wss_dev_policy *pol = &dev->config.policy;
    /* A zero count or budget would make setup impossible: it means "default". */
    if (!pol->budget_ms)
        pol->budget_ms = def.budget_ms;
    if (!pol->http_attempts)
        pol->http_attempts = def.http_attempts;
    if (!pol->probe_attempts)
        pol->probe_attempts = def.probe_attempts;
    if (!pol->join_attempts)
        pol->join_attempts = def.join_attempts;
    if (!pol->setup_proxy_port)
        pol->setup_proxy_port = def.setup_proxy_port;

    if (wss_devi_copy(dev->cloud_host, sizeof dev->cloud_host, config && config->cloud_host ? config->cloud_host : "") <
            0 ||
        wss_devi_copy(dev->cloud_path, sizeof dev->cloud_path,
                      config && config->cloud_path ? config->cloud_path : "/v1/devices/association-report") < 0 ||
        wss_devi_copy(dev->naming_category, sizeof dev->naming_category,
                      config && config->naming_category ? config->naming_category : "OTHER") < 0)
        return init_fail(detail, detail_len, "a configuration string is too long", NULL);
    dev->config.cloud_host = dev->cloud_host;
    dev->config.cloud_path = dev->cloud_path;
    dev->config.naming_category = dev->naming_category;

    if (read_spki(dev, "DeviceInformation.PublicKey", dev->device_spki) < 0)
        return init_fail(detail, detail_len, "storage: DeviceInformation.PublicKey ",
                         "is missing or not a Base64 P-256 SPKI");
    if (read_spki(dev, "DSS.PublicKey", dev->dss_spki) < 0)
        return init_fail(detail, detail_len, "storage: DSS.PublicKey ", "is missing or not a Base64 P-256 SPKI");
    if (read_text(dev, "DeviceInformation.ProductIndex", dev->product_index, sizeof dev->product_index) != 1 ||
        strlen(dev->product_index) != 4)
        return init_fail(detail, detail_len, "storage: DeviceInformation.ProductIndex ", "must be 4 characters");
    static const struct {
        const char *key;
        size_t off, cap;
    } optional[] = {
        {"DeviceInformation.SerialNumber", offsetof(wss_dev, serial), sizeof((wss_dev *)0)->serial},
        {"DeviceInformation.ManufacturerName", offsetof(wss_dev, manufacturer), sizeof((wss_dev *)0)->manufacturer},
        {"DeviceInformation.ModelNumber", offsetof(wss_dev, model), sizeof((wss_dev *)0)->model},
        {"DeviceInformation.SoftwareVersionIndex", offsetof(wss_dev, sw_version_index),
         sizeof((wss_dev *)0)->sw_version_index},
        {"DeviceInformation.FirmwareVersion", offsetof(wss_dev, firmware_version),
         sizeof((wss_dev *)0)->firmware_version},
        {"DeviceInformation.HardwareVersion", offsetof(wss_dev, hardware_version),
         sizeof((wss_dev *)0)->hardware_version},
    };
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
        if (read_text(dev, optional[i].key, (char *)dev + optional[i].off, optional[i].cap) < 0)
            return init_fail(detail, detail_len, optional[i].key, " is too long");
    }
    dev->response[0] = '\0';
    dev->ready = 1;
    return WSS_DEV_OK;
}

/* ---- the computed setup network (docs/dss.md, section 2) ------------------------- */

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

wss_dev_fail wss_dev_setup_network(wss_dev *dev, const uint8_t nonce[12], char ssid[WSS_DEV_SSID_MAX + 1],
                                   char passphrase[45])
{
    uint8_t hash[32], payload[24], secret[32];
    char prefix[5];
    ssid[0] = '\0';
    passphrase[0] = '\0';
    if (!dev->ready || strlen(dev->product_index) != 4)
        return WSS_DEV_FAIL_PORT;
    if (dev->port.sha256(dev->port.ctx, dev->device_spki, WSS_DEV_SPKI_LEN, hash) < 0)
        return WSS_DEV_FAIL_PORT;
    const uint8_t *ami = hash + 32 - 9;
    uint8_t head[2] = {(uint8_t)(ami[0] >> 4), (uint8_t)((ami[0] << 4) & 0xF0)}; /* control bits 0 */
    wss_dev_b64_encode(head, 2, prefix, sizeof prefix);
    memcpy(payload, ami + 1, 8);
    memcpy(payload + 8, dev->product_index, 4);
    memcpy(payload + 12, nonce, 12);
    ssid[0] = prefix[0];
    ssid[1] = prefix[1];
    if (wss_z85_encode(payload, sizeof payload, ssid + 2, WSS_DEV_SSID_MAX - 1) < 0)
        return WSS_DEV_FAIL_PORT;

    wss_dev_fail f = WSS_DEV_OK;
    if (dev->port.ecdh_p256(dev->port.ctx, dev->dss_spki, WSS_DEV_SPKI_LEN, secret) < 0 ||
        dev->port.sha256(dev->port.ctx, secret, sizeof secret, hash) < 0 ||
        dev->port.hmac_sha256(dev->port.ctx, hash, sizeof hash, nonce, 12, secret) < 0 ||
        wss_dev_b64_encode(secret, sizeof secret, passphrase, 45) < 0)
        f = WSS_DEV_FAIL_PORT;
    wipe(secret, sizeof secret);
    wipe(hash, sizeof hash);
    if (f != WSS_DEV_OK) {
        ssid[0] = '\0';
        passphrase[0] = '\0';
    }
    return f;
}
