/* host.c - the host port: one simulated device's Wi-Fi (through the radio),
 * HTTPS (libcurl with the device certificate chain), storage (in memory,
 * seeded from the bundle's device.json), clock (real time plus the simulated
 * time of the radio and of retry waits), log and fallback. */
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "device/port_host/internal.h"

#define PROVISIONER_HEADER "X-Openwss-Provisioner"
#define BUNDLE_FILE_MAX (64 * 1024)

typedef enum host_net { NET_NONE, NET_COMPUTED, NET_SIMPLE, NET_HOME } host_net;

struct wss_dev_host {
    wss_dev_port port;
    host_crypto crypto;
    X509_STORE *trust;      /* shared by every device of the CA file */
    STACK_OF(X509) * chain; /* the device certificate chain, leaf first */
    wss_radio *radio;
    radio_home *home;
    char cert_file[PATH_MAX];
    char key_file[PATH_MAX];
    char ca_file[PATH_MAX];
    char bundle_dir[PATH_MAX];
    json_t *storage;
    CURL *curl;
    long http_timeout_ms;
    wss_dev_log_level log_level;

    host_net net;
    char net_ssid[WSS_DEV_SSID_MAX + 1];
    int computed_up;
    char computed_ssid[WSS_DEV_SSID_MAX + 1];
    char computed_pass[WSS_DEV_WIFI_KEY_MAX + 1];

    uint64_t rng; /* latency jitter; 0: none */
    uint64_t wall0_ms;
    struct timespec mono0;
    wss_dev_host_stats stats;
};

static wss_dev_host *H(void *ctx) { return ctx; }

static void advance(wss_dev_host *h, uint32_t ms) { h->stats.simulated_ms += ms; }

/* A modelled radio latency, jittered per device when a seed was given. */
static void radio_wait(wss_dev_host *h, uint32_t ms)
{
    if (h->rng) {
        h->rng ^= h->rng >> 12;
        h->rng ^= h->rng << 25;
        h->rng ^= h->rng >> 27;
        uint64_t r = (h->rng * 2685821657736338717ULL) >> 11;
        double factor = 0.75 + 0.5 * ((double)r / 9007199254740992.0);
        ms = (uint32_t)((double)ms * factor);
    }
    advance(h, ms);
}

/* --- Wi-Fi --- */

static int provisioner_serves(const radio_home *home)
{
    return home->has_provisioner && home->provisioner_online && (home->provisioner_band & RADIO_BAND_24) &&
           (home->device_bands & RADIO_BAND_24);
}

static int host_wifi_probe(void *ctx, const char *ssid)
{
    wss_dev_host *h = H(ctx);
    h->stats.probes++;
    radio_wait(h, h->home->latency.probe);
    wss_radio *r = h->radio;
    radio_lock(r);
    int serves = provisioner_serves(h->home);
    radio_unlock(r);
    if (!serves)
        return 0; /* nobody heard it; the join will fail */
    char pass[WSS_DEV_WIFI_KEY_MAX + 1], dsn[64];
    if (r->probe(r->probe_ctx, h->home->provisioner_id, ssid, pass, sizeof pass, dsn, sizeof dsn) == 0 &&
        strlen(ssid) <= WSS_DEV_SSID_MAX) {
        h->computed_up = 1;
        snprintf(h->computed_ssid, sizeof h->computed_ssid, "%s", ssid);
        snprintf(h->computed_pass, sizeof h->computed_pass, "%s", pass);
    }
    return 0;
}

static void provisioner_bssid(const radio_home *home, int which, char out[18])
{
    unsigned x = 0;
    for (const char *p = home->provisioner_id; *p; p++)
        x = x * 31u + (unsigned char)*p;
    snprintf(out, 18, "06:%02X:%02X:%02X:%02X:%02X", which & 0xFF, (x >> 24) & 0xFF, (x >> 16) & 0xFF, (x >> 8) & 0xFF,
             x & 0xFF);
}

static int host_wifi_scan(void *ctx, wss_dev_ap *aps, size_t cap, size_t *count)
{
    wss_dev_host *h = H(ctx);
    radio_home *home = h->home;
    h->stats.scans++;
    radio_wait(h, home->latency.scan);
    size_t n = 0;
    for (size_t i = 0; i < home->naps && n < cap; i++) {
        const radio_ap *ap = &home->aps[i];
        if (!(ap->band & home->device_bands))
            continue;
        wss_dev_ap *o = &aps[n++];
        memset(o, 0, sizeof *o);
        snprintf(o->ssid, sizeof o->ssid, "%s", ap->hidden ? "" : ap->ssid);
        snprintf(o->bssid, sizeof o->bssid, "%s", ap->bssid);
        o->security = ap->security;
        o->rssi = ap->rssi;
        o->frequency_mhz = radio_frequency(ap->band, ap->channel);
    }
    radio_lock(h->radio);
    int serves = provisioner_serves(home);
    radio_unlock(h->radio);
    /* The provisioner's setup networks are hidden: they show as nameless. */
    for (int which = 0; serves && which < 1 + h->computed_up && n < cap; which++) {
        wss_dev_ap *o = &aps[n++];
        memset(o, 0, sizeof *o);
        provisioner_bssid(home, which, o->bssid);
        o->security = which ? WSS_DEV_SEC_WPA_PSK : WSS_DEV_SEC_OPEN;
        o->rssi = home->provisioner_rssi;
        o->frequency_mhz = 2437;
    }
    *count = n;
    return 0;
}

static void network_changed(wss_dev_host *h)
{
    /* Connections of one network are not reused on another. */
    if (h->curl) {
        curl_easy_cleanup(h->curl);
        h->curl = NULL;
    }
}

static int host_wifi_join(void *ctx, const char *ssid, wss_dev_security sec, const char *key, int hidden)
{
    wss_dev_host *h = H(ctx);
    radio_home *home = h->home;
    h->stats.joins++;
    h->net = NET_NONE;
    network_changed(h);
    radio_lock(h->radio);
    int serves = provisioner_serves(home);
    radio_unlock(h->radio);
    host_net joined = NET_NONE;
    if (h->computed_up && !strcmp(ssid, h->computed_ssid)) {
        if (serves && sec == WSS_DEV_SEC_WPA_PSK && !strcmp(key, h->computed_pass))
            joined = NET_COMPUTED;
    } else if (!strcmp(ssid, RADIO_SETUP_SSID)) {
        if (serves && sec == WSS_DEV_SEC_OPEN)
            joined = NET_SIMPLE;
    } else {
        for (size_t i = 0; i < home->naps && joined == NET_NONE; i++) {
            const radio_ap *ap = &home->aps[i];
            if (strcmp(ap->ssid, ssid) || !(ap->band & home->device_bands) || (ap->hidden && !hidden))
                continue;
            if (ap->security == sec && !strcmp(ap->passphrase, key ? key : "") && !ap->refuses_join)
                joined = NET_HOME;
        }
    }
    if (joined == NET_NONE) {
        radio_wait(h, home->latency.join_fail);
        return -1;
    }
    radio_wait(h, home->latency.join);
    h->net = joined;
    snprintf(h->net_ssid, sizeof h->net_ssid, "%s", ssid);
    return 0;
}

static void host_wifi_leave(void *ctx)
{
    wss_dev_host *h = H(ctx);
    h->net = NET_NONE;
    h->net_ssid[0] = '\0';
    network_changed(h);
}

/* --- HTTPS --- */

typedef struct body_sink {
    wss_dev_http_response *resp;
    int overflow;
} body_sink;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    body_sink *b = userdata;
    size_t n = size * nmemb;
    if (b->resp->body_len + n + 1 > b->resp->body_cap) {
        b->overflow = 1;
        return 0;
    }
    memcpy(b->resp->body + b->resp->body_len, data, n);
    b->resp->body_len += n;
    b->resp->body[b->resp->body_len] = '\0';
    return n;
}

static int header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n))
        return 0;
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return 1;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    wss_dev_http_response *resp = ((body_sink *)userdata)->resp;
    size_t len = size * nmemb;
    const char *v;
    size_t vlen;
    if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
        /* A new response (after a 100 Continue, say): forget the headers so far. */
        resp->signature[0] = '\0';
        resp->signature_headers = 0;
        resp->location[0] = '\0';
    } else if (header_is(line, len, "x-amzn-dss-signature", &v, &vlen)) {
        resp->signature_headers++;
        if (vlen < sizeof resp->signature) {
            memcpy(resp->signature, v, vlen);
            resp->signature[vlen] = '\0';
        } else {
            resp->signature[0] = '\0';
        }
    } else if (header_is(line, len, "location", &v, &vlen) && vlen < sizeof resp->location) {
        memcpy(resp->location, v, vlen);
        resp->location[vlen] = '\0';
    }
    return len;
}

/* Certificates are parsed once: the trust store once per CA file for the
 * whole process, the device's chain once per device; each connection's TLS
 * context then takes them by reference. */
static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char path[PATH_MAX];
    X509_STORE *store;
} trust_cache[8];

static X509_STORE *trust_store(const char *path)
{
    X509_STORE *found = NULL;
    pthread_mutex_lock(&trust_lock);
    size_t i = 0;
    for (; i < sizeof trust_cache / sizeof *trust_cache && trust_cache[i].store; i++) {
        if (!strcmp(trust_cache[i].path, path)) {
            found = trust_cache[i].store;
            break;
        }
    }
    if (!found && i < sizeof trust_cache / sizeof *trust_cache) {
        X509_STORE *st = X509_STORE_new();
        if (st && X509_STORE_load_file(st, path) == 1) {
            snprintf(trust_cache[i].path, sizeof trust_cache[i].path, "%s", path);
            trust_cache[i].store = found = st;
        } else {
            X509_STORE_free(st);
        }
    }
    if (found)
        X509_STORE_up_ref(found);
    pthread_mutex_unlock(&trust_lock);
    return found;
}

static STACK_OF(X509) * read_chain(const char *path)
{
    char *pem = NULL;
    size_t len = 0;
    if (wss_read_file(path, BUNDLE_FILE_MAX, &pem, &len) != WSS_OK)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509 *c;
    while (bio && chain && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(chain, c))
            X509_free(c);
    }
    BIO_free(bio);
    free(pem);
    ERR_clear_error();
    if (chain && sk_X509_num(chain) == 0) {
        sk_X509_free(chain);
        chain = NULL;
    }
    return chain;
}

static CURLcode on_ssl_ctx(CURL *curl, void *sslctx, void *userptr)
{
    (void)curl;
    wss_dev_host *h = userptr;
    SSL_CTX *ctx = sslctx;
    X509_STORE_up_ref(h->trust);
    SSL_CTX_set_cert_store(ctx, h->trust);
    if (SSL_CTX_use_certificate(ctx, sk_X509_value(h->chain, 0)) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, h->crypto.device_key) != 1)
        return CURLE_SSL_CERTPROBLEM;
    for (int i = 1; i < sk_X509_num(h->chain); i++) {
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(h->chain, i)) != 1)
            return CURLE_SSL_CERTPROBLEM;
    }
    return CURLE_OK;
}

static int host_https_post(void *ctx, const wss_dev_http_request *req, wss_dev_http_response *resp)
{
    wss_dev_host *h = H(ctx);
    h->stats.https_requests++;
    resp->status = 0;
    resp->body_len = 0;
    resp->signature[0] = '\0';
    resp->signature_headers = 0;
    resp->location[0] = '\0';
    if (resp->body_cap)
        resp->body[0] = '\0';
    if (h->net == NET_NONE || !req->host || !*req->host || strlen(req->host) >= WSS_DEV_HOST_MAX)
        return -1;
    /* Where the packets go: the provisioner's proxy forwards its port to the
     * DSS; the home network has no proxy. */
    const char *address = NULL;
    if (h->net == NET_COMPUTED)
        address = radio_resolve(h->radio, req->host, req->port) ? radio_resolve(h->radio, req->host, req->port)
                                                                : radio_resolve(h->radio, req->host, 443);
    else if (req->port == 8888)
        return -1;
    else
        address = radio_resolve(h->radio, req->host, req->port);

    if (!h->curl && !(h->curl = curl_easy_init()))
        return -1;
    CURL *c = h->curl;
    curl_easy_reset(c);
    char url[WSS_DEV_HOST_MAX + 300], connect_to[WSS_DEV_HOST_MAX + 100], via[128];
    snprintf(url, sizeof url, "https://%s:%u%s", req->host, (unsigned)req->port, req->path ? req->path : "/");
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (h->net == NET_COMPUTED || h->net == NET_SIMPLE) {
        snprintf(via, sizeof via, "%s: %s", PROVISIONER_HEADER, h->home->provisioner_id);
        headers = curl_slist_append(headers, via);
    }
    struct curl_slist *connect = NULL;
    if (address) {
        snprintf(connect_to, sizeof connect_to, "%s:%u:%s", req->host, (unsigned)req->port, address);
        connect = curl_slist_append(NULL, connect_to);
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect);
    }
    body_sink sink = {.resp = resp};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->http_timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_slist_free_all(connect);
    if (sink.overflow)
        return -2;
    if (rc != CURLE_OK) {
        if (h->log_level <= WSS_DEV_LOG_DEBUG)
            wss_log(WSS_LOG_DEBUG, "device", "%s: POST %s: %s", h->stats.dsn, req->path, curl_easy_strerror(rc));
        return -1;
    }
    resp->status = (int)status;
    return 0;
}

/* --- crypto wrappers that use the device key --- */

static int host_ecdh(void *ctx, const uint8_t *peer, size_t len, uint8_t secret[32])
{
    return host_crypto_ecdh(&H(ctx)->crypto, peer, len, secret);
}

static int host_sign(void *ctx, const void *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    return host_crypto_sign(&H(ctx)->crypto, msg, len, sig, cap, sig_len);
}

static int host_verify(void *ctx, const uint8_t *spki, size_t spki_len, const void *msg, size_t len, const uint8_t *sig,
                       size_t sig_len)
{
    return host_crypto_verify(&H(ctx)->crypto, spki, spki_len, msg, len, sig, sig_len);
}

/* --- storage, clock, log, fallback --- */

static int host_storage_read(void *ctx, const char *key, char *out, size_t cap, size_t *len)
{
    const char *v = json_string_value(json_object_get(H(ctx)->storage, key));
    if (!v)
        return -1;
    size_t n = strlen(v);
    if (n + 1 > cap)
        return -2;
    memcpy(out, v, n + 1);
    if (len)
        *len = n;
    return 0;
}

static int host_storage_write(void *ctx, const char *key, const char *value, size_t len)
{
    json_t *v = json_stringn(value, len);
    return v && json_object_set_new(H(ctx)->storage, key, v) == 0 ? 0 : -1;
}

static uint64_t host_now_ms(void *ctx)
{
    wss_dev_host *h = H(ctx);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t real =
        (uint64_t)(now.tv_sec - h->mono0.tv_sec) * 1000u + (uint64_t)((now.tv_nsec - h->mono0.tv_nsec) / 1000000);
    return h->wall0_ms + real + h->stats.simulated_ms;
}

static void host_sleep_ms(void *ctx, uint32_t ms) { advance(H(ctx), ms); }

static void host_log(void *ctx, wss_dev_log_level level, const char *msg)
{
    wss_dev_host *h = H(ctx);
    if (level < h->log_level || level >= WSS_DEV_LOG_OFF)
        return;
    static const wss_log_level map[] = {WSS_LOG_DEBUG, WSS_LOG_INFO, WSS_LOG_WARN, WSS_LOG_ERROR};
    wss_log(map[level], "device", "%s: %s", h->stats.dsn, msg);
}

static void host_user_guided_setup(void *ctx, wss_dev_fail fail, const char *detail)
{
    wss_dev_host *h = H(ctx);
    h->stats.fallback_started = 1;
    h->stats.fallback_reason = fail;
    /* The device's own setup access point, open and visible, named after the
     * maker and the end of the serial number. */
    const char *maker = json_string_value(json_object_get(h->storage, "DeviceInformation.ManufacturerName"));
    size_t dl = strlen(h->stats.dsn);
    snprintf(h->stats.fallback_ssid, sizeof h->stats.fallback_ssid, "%.16s-Setup-%s", maker ? maker : "Device",
             h->stats.dsn + (dl > 4 ? dl - 4 : 0));
    h->stats.fallback_ssid[WSS_DEV_SSID_MAX] = '\0';
    radio_add_fallback_ap(h->radio, h->home, h->stats.fallback_ssid);
    if (h->log_level <= WSS_DEV_LOG_INFO)
        wss_log(WSS_LOG_INFO, "device", "%s: zero touch setup ended (%s: %s); user-guided setup on \"%s\"",
                h->stats.dsn, wss_dev_fail_name(fail), detail ? detail : "", h->stats.fallback_ssid);
}

/* --- lifecycle --- */

static int join_path(char *out, size_t cap, const char *dir, const char *name)
{
    return snprintf(out, cap, "%s/%s", dir, name) < (int)cap ? 0 : -1;
}

wss_err wss_dev_host_new(const wss_dev_host_options *opts, wss_dev_host **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!opts || !opts->bundle_dir || !opts->ca_file || !opts->radio) {
        snprintf(err, errlen, "a bundle directory, a CA file and a radio are required");
        return WSS_ERR_INVALID;
    }
    radio_home *home = radio_home_find(opts->radio, opts->home_id);
    if (!home) {
        snprintf(err, errlen, "no home \"%s\" in the scenario", opts->home_id ? opts->home_id : "");
        return WSS_ERR_NOT_FOUND;
    }
    wss_dev_host *h = calloc(1, sizeof *h);
    if (!h)
        return WSS_ERR_NOMEM;
    h->radio = opts->radio;
    h->home = home;
    h->http_timeout_ms = opts->http_timeout_ms > 0 ? opts->http_timeout_ms : 10000;
    h->log_level = opts->log_level;
    h->rng = opts->seed ? opts->seed * 0x9E3779B97F4A7C15ULL | 1 : 0;
    char device_json[PATH_MAX];
    if (join_path(h->cert_file, sizeof h->cert_file, opts->bundle_dir, "certificate.pem") ||
        join_path(h->key_file, sizeof h->key_file, opts->bundle_dir, "private_key.pem") ||
        join_path(device_json, sizeof device_json, opts->bundle_dir, "device.json") ||
        snprintf(h->ca_file, sizeof h->ca_file, "%s", opts->ca_file) >= (int)sizeof h->ca_file ||
        snprintf(h->bundle_dir, sizeof h->bundle_dir, "%s", opts->bundle_dir) >= (int)sizeof h->bundle_dir) {
        snprintf(err, errlen, "path too long");
        free(h);
        return WSS_ERR_INVALID;
    }
    char *pem = NULL;
    size_t len = 0;
    wss_err rc = wss_read_file(h->key_file, BUNDLE_FILE_MAX, &pem, &len);
    if (rc != WSS_OK) {
        snprintf(err, errlen, "cannot read %s: %s", h->key_file, wss_strerror(rc));
        free(h);
        return rc;
    }
    rc = host_crypto_load(&h->crypto, pem, err, errlen);
    OPENSSL_cleanse(pem, len);
    free(pem);
    if (rc != WSS_OK) {
        free(h);
        return rc;
    }
    h->storage = wss_json_load_object_file(device_json, BUNDLE_FILE_MAX, err, errlen);
    if (!h->storage) {
        wss_dev_host_free(h);
        return WSS_ERR_INVALID;
    }
    if (!(h->chain = read_chain(h->cert_file))) {
        snprintf(err, errlen, "%s holds no PEM certificate", h->cert_file);
        wss_dev_host_free(h);
        return WSS_ERR_CRYPTO;
    }
    if (!(h->trust = trust_store(h->ca_file))) {
        snprintf(err, errlen, "cannot load the CA certificates of %s", h->ca_file);
        wss_dev_host_free(h);
        return WSS_ERR_CRYPTO;
    }
    const char *dsn = json_string_value(json_object_get(h->storage, "DeviceInformation.SerialNumber"));
    snprintf(h->stats.dsn, sizeof h->stats.dsn, "%s", dsn ? dsn : "");

    h->wall0_ms = (uint64_t)wss_wall_ms();
    clock_gettime(CLOCK_MONOTONIC, &h->mono0);
    h->port = (wss_dev_port){
        .ctx = h,
        .wifi_probe = host_wifi_probe,
        .wifi_scan = host_wifi_scan,
        .wifi_join = host_wifi_join,
        .wifi_leave = host_wifi_leave,
        .https_post = host_https_post,
        .sha256 = host_sha256,
        .hmac_sha256 = host_hmac_sha256,
        .ecdh_p256 = host_ecdh,
        .ecdsa_sign = host_sign,
        .ecdsa_verify = host_verify,
        .random = host_random,
        .storage_read = host_storage_read,
        .storage_write = host_storage_write,
        .now_ms = host_now_ms,
        .sleep_ms = host_sleep_ms,
        .log = host_log,
        .user_guided_setup = host_user_guided_setup,
    };
    *out = h;
    return WSS_OK;
}

void wss_dev_host_free(wss_dev_host *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    host_crypto_free(&h->crypto);
    X509_STORE_free(h->trust);
    sk_X509_pop_free(h->chain, X509_free);
    json_decref(h->storage);
    free(h);
}

const wss_dev_port *wss_dev_host_port(wss_dev_host *h) { return &h->port; }

void wss_dev_host_stats_get(const wss_dev_host *h, wss_dev_host_stats *out) { *out = h->stats; }

char *wss_dev_host_storage_get(const wss_dev_host *h, const char *key)
{
    const char *v = json_string_value(json_object_get(h->storage, key));
    return v ? strdup(v) : NULL;
}

wss_err wss_dev_host_save(const wss_dev_host *h, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (join_path(path, sizeof path, h->bundle_dir, "storage.json")) {
        snprintf(err, errlen, "path too long");
        return WSS_ERR_INVALID;
    }
    char *text = json_dumps(h->storage, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return WSS_ERR_NOMEM;
    wss_err rc = wss_write_file_atomic(path, text, strlen(text), 0600);
    free(text);
    if (rc != WSS_OK)
        snprintf(err, errlen, "cannot write %s: %s", path, wss_strerror(rc));
    return rc;
}
