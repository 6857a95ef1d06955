/* transport.c - the device's HTTPS calls: DSS requests (nonce, signature check
 * before parsing, echoed nonce, redirects) and the maker cloud's report, both
 * with the retry policy of docs/dss.md section 8. */
#include <string.h>

#include "device/b64.h"
#include "device/internal.h"

/* wss_devi_dss_begin writes {"nonce":" first: the nonce's offset in dev->request. */
#define NONCE_AT 10

wss_dev_fail wss_devi_dss_refusal(const char *reason)
{
    return strcmp(reason, "NO_CREDENTIALS_FOR_VISIBLE_NETWORKS") == 0 ? WSS_DEV_FAIL_NO_CREDENTIALS
                                                                      : WSS_DEV_FAIL_REFUSED;
}

/* A fresh 31-character nonce of the Base64 alphabet (256 is a multiple of 64,
 * so masking a random byte keeps the characters uniform). */
static int new_nonce(wss_dev *dev)
{
    const size_t n = sizeof dev->nonce - 1;
    if (dev->port.random(dev->port.ctx, (uint8_t *)dev->nonce, n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        dev->nonce[i] = wss_dev_b64_alphabet[(uint8_t)dev->nonce[i] & 63];
    dev->nonce[n] = '\0';
    return 0;
}

static void device_details(wss_dev *dev, wss_jw *w)
{
    const struct {
        const char *key, *value;
    } f[] = {
        {"manufacturer", dev->manufacturer},
        {"deviceModel", dev->model},
        {"deviceSerial", dev->serial},
        {"productIndex", dev->product_index},
        {"softwareVersionIndex", dev->sw_version_index},
        {"firmwareVersion", dev->firmware_version},
        {"hardwareVersion", dev->hardware_version},
    };
    wss_jw_key(w, "deviceDetails");
    wss_jw_object_open(w);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].value[0])
            wss_jw_kv_string(w, f[i].key, f[i].value);
    }
    wss_jw_object_close(w);
}

wss_dev_fail wss_devi_dss_begin(wss_dev *dev, wss_jw *w, int details, int sequence)
{
    if (new_nonce(dev) < 0)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "random failed for a nonce", NULL, NULL);
    wss_jw_init(w, dev->request, sizeof dev->request);
    wss_jw_object_open(w);
    wss_jw_kv_string(w, "nonce", dev->nonce);
    if (dev->session_id[0])
        wss_jw_kv_string(w, "sessionId", dev->session_id);
    if (details)
        device_details(dev, w);
    if (sequence)
        wss_jw_kv_int(w, "sequenceNumber", dev->sequence++);
    return WSS_DEV_OK;
}

/* The host of "https://host[:port][/path]" into dev->dss_host. Only names and
 * IPv4 addresses: letters, digits, '-' and '.'. */
static int redirect_host(wss_dev *dev, const char *location)
{
    static const char scheme[] = "https://";
    if (strncmp(location, scheme, sizeof scheme - 1) != 0)
        return -1;
    const char *h = location + sizeof scheme - 1;
    size_t n = 0;
    while (h[n] && h[n] != ':' && h[n] != '/') {
        char c = h[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return -1;
        n++;
    }
    if (n == 0 || n >= sizeof dev->dss_host)
        return -1;
    memcpy(dev->dss_host, h, n);
    dev->dss_host[n] = '\0';
    return 0;
}

static int signature_ok(wss_dev *dev, const wss_dev_http_response *resp)
{
    uint8_t sig[WSS_DEV_SIG_B64_MAX / 4 * 3];
    size_t sig_len = 0;
    if (resp->signature_headers != 1)
        return 0;
    const char *nul = memchr(resp->signature, '\0', sizeof resp->signature);
    size_t n = nul ? (size_t)(nul - resp->signature) : 0;
    if (n == 0)
        return 0;
    if (wss_dev_b64_decode(resp->signature, n, sig, sizeof sig, &sig_len) < 0)
        return 0;
    return dev->port.ecdsa_verify(dev->port.ctx, dev->dss_spki, WSS_DEV_SPKI_LEN, resp->body, resp->body_len, sig,
                                  sig_len) == 0;
}

/* Waits before try number `tried + 1`: backoff, doubled per try. Returns a
 * timeout when the wait would overrun the budget. */
static wss_dev_fail backoff(wss_dev *dev, uint32_t tried, const char *what)
{
    uint64_t wait = dev->config.policy.retry_backoff_ms;
    for (uint32_t i = 1; i < tried && wait < 0x7FFFFFFF; i++)
        wait *= 2;
    if (wait > 0x7FFFFFFF)
        wait = 0x7FFFFFFF;
    if (wss_devi_elapsed(dev) + wait >= dev->config.policy.budget_ms)
        return wss_devi_fail(dev, WSS_DEV_FAIL_TIMEOUT, "time budget spent retrying ", what, NULL);
    wss_devi_log(dev, WSS_DEV_LOG_WARN, "retrying ", what, NULL);
    dev->port.sleep_ms(dev->port.ctx, (uint32_t)wait);
    return WSS_DEV_OK;
}

/* The error code of a signed DSS error body, for the detail line. */
static void error_code(wss_dev *dev, size_t len, char *out, size_t cap)
{
    wss_jr_val root, err, code;
    out[0] = '\0';
    if (wss_jr_parse(dev->response, len, &root) == 0 && wss_jr_get(&root, "error", &err) == 0 &&
        wss_jr_get(&err, "code", &code) == 0 && wss_jr_string(&code, out, cap, NULL) == 0)
        return;
    out[0] = '\0';
}

typedef struct post_target {
    const char *host;
    uint16_t port;
    const char *path;
    const char *what; /* for logs and details */
} post_target;

/* One POST of dev->request with the retries on transport errors and 5xx.
 * Returns WSS_DEV_OK with *resp holding a non-5xx answer. */
static wss_dev_fail post_with_retries(wss_dev *dev, const post_target *t, wss_dev_http_response *resp, int *dss_sent,
                                      wss_dev_fail exhausted)
{
    for (uint32_t tried = 0;;) {
        wss_dev_fail f = wss_devi_budget(dev, t->what);
        if (f != WSS_DEV_OK)
            return f;
        wss_dev_http_request req = {t->host, t->port, t->path, dev->request, strlen(dev->request)};
        memset(resp, 0, sizeof *resp);
        resp->body = dev->response;
        resp->body_cap = sizeof dev->response;
        dev->response[0] = '\0';
        if (dss_sent) {
            /* Every try of a DSS request carries a fresh nonce (same length, so
             * it is patched in place); the sequenceNumber stays. */
            if (*dss_sent && new_nonce(dev) == 0)
                memcpy(dev->request + NONCE_AT, dev->nonce, sizeof dev->nonce - 1);
            else if (*dss_sent)
                return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "random failed for a nonce", NULL, NULL);
            *dss_sent = 1;
            dev->dss_calls++;
        }
        int rc = dev->port.https_post(dev->port.ctx, &req, resp);
        if (rc >= 0 && (resp->status < 500 || resp->status > 599)) {
            if (resp->body_len >= resp->body_cap)
                return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, t->what, ": the port overran the response buffer",
                                     NULL);
            dev->response[resp->body_len] = '\0';
            resp->signature[sizeof resp->signature - 1] = '\0';
            resp->location[sizeof resp->location - 1] = '\0';
            return WSS_DEV_OK;
        }
        tried++;
        if (tried >= dev->config.policy.http_attempts) {
            wss_devi_text t2;
            wss_devi_text_init(&t2);
            if (rc < 0)
                wss_devi_text_add(&t2, ": no answer");
            else {
                wss_devi_text_add(&t2, ": HTTP ");
                wss_devi_text_num(&t2, resp->status);
            }
            wss_devi_text_add(&t2, " after ");
            wss_devi_text_num(&t2, tried);
            wss_devi_text_add(&t2, " tries");
            return wss_devi_fail(dev, exhausted, t->what, t2.s, NULL);
        }
        if ((f = backoff(dev, tried, t->what)) != WSS_DEV_OK)
            return f;
    }
}

wss_dev_fail wss_devi_dss_call(wss_dev *dev, const char *op, const wss_jw *w, wss_jr_val *root)
{
    char path[48];
    wss_dev_http_response resp;
    wss_dev_fail f;
    if (wss_devi_copy(path, sizeof path, "/api/v1/") < 0 || strlen(op) >= sizeof path - 8)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, "operation name too long", NULL, NULL);
    memcpy(path + 8, op, strlen(op) + 1);
    if (wss_jw_ok(w) < 0)
        return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, op, ": request did not fit the buffer", NULL);

    int sent = 0;
    for (uint32_t redirects = 0;;) {
        post_target t = {dev->dss_host, dev->dss_port, path, op};
        if ((f = post_with_retries(dev, &t, &resp, &sent, WSS_DEV_FAIL_TRANSPORT)) != WSS_DEV_OK)
            return f;
        /* Verified before anything of the answer is used, redirects included. */
        if (!signature_ok(dev, &resp)) {
            const char *why = resp.signature_headers == 0  ? ": response not signed"
                              : resp.signature_headers > 1 ? ": response signed more than once"
                                                           : ": response signature does not verify";
            return wss_devi_fail(dev, WSS_DEV_FAIL_BAD_SIGNATURE, op, why, NULL);
        }
        if (resp.status == 307 || resp.status == 308) {
            if (++redirects > dev->config.policy.max_redirects)
                return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, op, ": too many redirects", NULL);
            if (redirect_host(dev, resp.location) < 0)
                return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, op, ": bad redirect Location", NULL);
            wss_devi_log(dev, WSS_DEV_LOG_INFO, "DSS redirects to ", dev->dss_host, NULL);
            if (resp.status == 308 &&
                dev->port.storage_write(dev->port.ctx, "DSS.Host", dev->dss_host, strlen(dev->dss_host)) < 0)
                return wss_devi_fail(dev, WSS_DEV_FAIL_PORT, "storage: cannot write DSS.Host", NULL, NULL);
            continue;
        }
        if (resp.status >= 400 && resp.status <= 499) {
            char code[48];
            wss_devi_text t2;
            error_code(dev, resp.body_len, code, sizeof code);
            wss_devi_text_init(&t2);
            wss_devi_text_add(&t2, ": HTTP ");
            wss_devi_text_num(&t2, resp.status);
            wss_devi_text_add(&t2, code[0] ? " " : "");
            wss_devi_text_add(&t2, code);
            return wss_devi_fail(dev, resp.status == 403 ? WSS_DEV_FAIL_REFUSED : WSS_DEV_FAIL_PROTOCOL, op, t2.s,
                                 NULL);
        }
        if (resp.status < 200 || resp.status > 299)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, op, ": unexpected HTTP status", NULL);
        wss_jr_val nonce;
        if (wss_jr_parse(dev->response, resp.body_len, root) < 0 || root->type != WSS_JR_OBJECT)
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, op, ": response is not a JSON object", NULL);
        if (wss_jr_get(root, "nonce", &nonce) < 0 || !wss_jr_streq(&nonce, dev->nonce))
            return wss_devi_fail(dev, WSS_DEV_FAIL_PROTOCOL, op, ": response nonce does not match the request", NULL);
        return WSS_DEV_OK;
    }
}

wss_dev_fail wss_devi_cloud_post(wss_dev *dev)
{
    wss_dev_http_response resp;
    if (!dev->cloud_host[0])
        return wss_devi_fail(dev, WSS_DEV_FAIL_REPORT, "no cloud host configured", NULL, NULL);
    post_target t = {dev->cloud_host, dev->config.cloud_port, dev->cloud_path, "association report"};
    wss_dev_fail f = post_with_retries(dev, &t, &resp, NULL, WSS_DEV_FAIL_REPORT);
    if (f != WSS_DEV_OK)
        return f;
    if (resp.status != 202) {
        wss_devi_text t2;
        wss_devi_text_init(&t2);
        wss_devi_text_add(&t2, "the cloud answered HTTP ");
        wss_devi_text_num(&t2, resp.status);
        return wss_devi_fail(dev, WSS_DEV_FAIL_REPORT, "association report: ", t2.s, NULL);
    }
    return WSS_DEV_OK;
}
