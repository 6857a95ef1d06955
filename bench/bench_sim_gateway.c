/* bench_sim_gateway.c - how fast the emulator answers, against a baseline
 * measured in the same run.
 *
 * Starts the emulator in-process on 127.0.0.1 (HTTPS, a free port), then
 * times, over one kept-alive connection each:
 *   baseline  GET /healthz (the HTTP and TLS stack with no work behind it)
 *   lwa       POST /auth/o2/token, client_credentials (a token stored per call)
 *   sdae      POST /v3/events, a full SDAE: validation, signature check,
 *             association committed before the 202
 * and prints requests per second and each one's ratio to the baseline.
 * Numbers are printed, never asserted. Usage: bench_sim_gateway [N] */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/file.h"
#include "common/log.h"
#include "sim/client.h"
#include "wss/sim.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p, (void)u;
    return s * n;
}

/* One connection reused for every request of a measurement. */
static CURL *connection(const sim_client *c)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    return h;
}

static long perform(CURL *h, const char *url, const char *body, struct curl_slist *headers)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    } else
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static double measure_get(const sim_client *c, const char *path, int n)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", c->base_url, path);
    CURL *h = connection(c);
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (perform(h, url, NULL, NULL) != 200) {
            fprintf(stderr, "bench: GET %s failed\n", path);
            exit(1);
        }
    double rate = n / (now_s() - t0);
    curl_easy_cleanup(h);
    return rate;
}

static double measure_lwa(const sim_client *c, int n)
{
    char url[512], body[1024];
    snprintf(url, sizeof url, "%s/auth/o2/token", c->base_url);
    snprintf(body, sizeof body,
             "{\"grant_type\":\"client_credentials\",\"client_id\":\"%s\",\"client_secret\":\"%s\","
             "\"scope\":\"alexa::device_association_report:write\"}",
             sim_client_skill(c, "client_id"), sim_client_skill(c, "client_secret"));
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *h = connection(c);
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (perform(h, url, body, headers) != 200) {
            fprintf(stderr, "bench: token request failed\n");
            exit(1);
        }
    double rate = n / (now_s() - t0);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    return rate;
}

/* Prepares n signed SDAE bodies (one session token each), then times sending them. */
static double measure_sdae(sim_client *c, int n)
{
    char err[512];
    wss_crypto_key *key = NULL;
    wss_key_generate(&key);
    char *pem = wss_key_public_pem(key);
    json_t *dev = json_pack("{s:s, s:s}", "dsn", "BENCH0001", "public_key", pem);
    json_t *buy = json_pack("{s:s, s:s}", "dsn", "BENCH0001", "customer_id", sim_client_customer(c, "customer_id"));
    if (sim_client_control(c, "POST", "/devices", dev, NULL, err, sizeof err) != 201 ||
        sim_client_control(c, "POST", "/purchases", buy, NULL, err, sizeof err) != 201) {
        fprintf(stderr, "bench: cannot register the device: %s\n", err);
        exit(1);
    }
    char *token = sim_client_lwa_token(c, sim_client_skill(c, "client_id"), sim_client_skill(c, "client_secret"),
                                       "alexa::device_association_report:write", err, sizeof err);
    if (!token) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    char **bodies = calloc((size_t)n, sizeof *bodies);
    json_t *req = json_pack("{s:s}", "dsn", "BENCH0001");
    for (int i = 0; i < n; i++) {
        json_t *out = NULL;
        sim_client_control(c, "POST", "/session-tokens", req, &out, err, sizeof err);
        const char *session = json_string_value(json_object_get(out, "session_token"));
        char *sig = NULL, msg[64], id[160];
        wss_ecdsa_sign_b64(key, session, strlen(session), &sig);
        snprintf(msg, sizeof msg, "bench-%d", i);
        /* The seed's device.id alphabet has no '.', which session tokens contain. */
        snprintf(id, sizeof id, "BENCH0001:%s", session);
        for (char *p = id; *p; p++)
            if (*p == '.')
                *p = '_';
        json_t *ev = sim_client_sdae(token, msg, session, sig, id, "SWITCH");
        bodies[i] = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        json_decref(out);
        free(sig);
    }
    char url[512], auth[2300];
    snprintf(url, sizeof url, "%s/v3/events", c->base_url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    CURL *h = connection(c);
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (perform(h, url, bodies[i], headers) != 202) {
            fprintf(stderr, "bench: SDAE %d was not accepted\n", i);
            exit(1);
        }
    double rate = n / (now_s() - t0);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    for (int i = 0; i < n; i++)
        free(bodies[i]);
    free(bodies);
    free(token);
    free(pem);
    json_decref(dev);
    json_decref(buy);
    json_decref(req);
    wss_key_free(key);
    return rate;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    if (n <= 0)
        n = 2000;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    wss_log_set_level(WSS_LOG_WARN);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512], cfg[600], err[512];
    snprintf(dir, sizeof dir, "%s/wss-bench-XXXXXX", tmp);
    if (!mkdtemp(dir))
        return 1;
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    FILE *f = fopen(cfg, "w");
    fputs("{\"default_rate_limit\": {\"per_second\": 1000000, \"burst\": 1000000}}", f);
    fclose(f);
    wss_sim_options opts = {.state_dir = dir, .listen = "127.0.0.1:0", .config_path = cfg};
    wss_sim *sim = NULL;
    if (wss_sim_start(&opts, &sim, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    sim_client c;
    if (sim_client_load(&c, dir, 0, err, sizeof err) != WSS_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    double base = measure_get(&c, "/healthz", n);
    double lwa = measure_lwa(&c, n);
    double sdae = measure_sdae(&c, n);
    printf("bench_sim_gateway: %d requests each, one kept-alive HTTPS connection, 127.0.0.1\n", n);
    printf("  %-28s %10.0f req/s  ratio 1.00 (baseline)\n", "GET /healthz", base);
    printf("  %-28s %10.0f req/s  ratio %.2f\n", "POST /auth/o2/token", lwa, lwa / base);
    printf("  %-28s %10.0f req/s  ratio %.2f\n", "POST /v3/events (SDAE)", sdae, sdae / base);
    sim_client_free(&c);
    wss_sim_stop(sim);
    if (wss_remove_tree(dir) != WSS_OK)
        fprintf(stderr, "bench: could not remove %s\n", dir);
    curl_global_cleanup();
    return 0;
}
