/* lwa_token.c - the client_credentials token the SDAEs carry.
 *
 * One token is cached until expires_in minus token_margin_s (half the
 * lifetime when the margin would eat all of it). Fetches are single-flight:
 * the first caller that finds no usable token fetches one from Login with
 * Amazon while later callers wait on a condition variable and share its
 * result, the token or the error. cloud_token_invalidate() drops the cached
 * token only while it is still the one the caller was refused with, so many
 * 401s for the same token cause one refresh, not one each.
 *
 * Neither the token nor the client secret is ever logged; an LWA refusal is
 * logged by its OAuth "error" code only. Buffers that held them are cleared
 * before they are freed. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/internal.h"
#include "common/httpc.h"
#include "common/log.h"

#define LWA_MAX_TOKEN_BYTES 4096
#define LWA_ERROR_SNIPPET 64

struct cloud_token_cache {
    const cloud_config *cfg;
    struct cloud_metrics *metrics;
    pthread_mutex_t lock;
    pthread_cond_t done;        /* broadcast when a fetch ends */
    char *token;                /* the cached token, NULL when none */
    long long refresh_at_ms;    /* when the cached token stops being handed out */
    int fetching;               /* a fetch is running (outside the lock) */
    unsigned long long fetches; /* fetches ended so far: waiters notice theirs ended */
    wss_err last_rc;            /* the outcome of the last fetch, shared with its waiters */
    char last_err[256];
};

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

struct cloud_token_cache *cloud_token_cache_new(const cloud_config *cfg, struct cloud_metrics *metrics)
{
    struct cloud_token_cache *tc = calloc(1, sizeof *tc);
    if (!tc)
        return NULL;
    tc->cfg = cfg;
    tc->metrics = metrics;
    pthread_mutex_init(&tc->lock, NULL);
    pthread_cond_init(&tc->done, NULL);
    return tc;
}

void cloud_token_cache_free(struct cloud_token_cache *tc)
{
    if (!tc)
        return;
    wipe_free(tc->token);
    pthread_cond_destroy(&tc->done);
    pthread_mutex_destroy(&tc->lock);
    free(tc);
}

/* Appends "&key=<escaped value>" (no '&' for the first pair) to a malloc'd
 * string; frees (clearing) and NULLs it on failure. */
static void form_add(char **form, const char *key, const char *value)
{
    if (!*form)
        return;
    char *esc = curl_easy_escape(NULL, value ? value : "", 0);
    size_t old = strlen(*form), n = old + strlen(key) + (esc ? strlen(esc) : 0) + 3;
    char *out = esc ? malloc(n) : NULL;
    if (out)
        snprintf(out, n, "%s%s%s=%s", *form, old ? "&" : "", key, esc);
    if (esc) {
        memset(esc, 0, strlen(esc));
        curl_free(esc);
    }
    wipe_free(*form);
    *form = out;
}

/* Asks LWA for a client_credentials token. On success *token (malloc'd) and
 * *lifetime_s are set. */
static wss_err fetch(const cloud_config *cfg, char **token, long long *lifetime_s, char *err, size_t errlen)
{
    *token = NULL;
    if (!cfg->lwa_token_url || !cfg->lwa_client_id || !cfg->lwa_client_secret) {
        snprintf(err, errlen, "the LWA token URL, client id and client secret are not configured");
        return WSS_ERR_CONFIG;
    }
    char *form = strdup("");
    form_add(&form, "grant_type", "client_credentials");
    form_add(&form, "client_id", cfg->lwa_client_id);
    form_add(&form, "client_secret", cfg->lwa_client_secret);
    form_add(&form, "scope", CLOUD_SCOPE_ASSOCIATION);
    if (!form) {
        snprintf(err, errlen, "out of memory");
        return WSS_ERR_NOMEM;
    }
    static const char *const headers[] = {"Accept: application/json", NULL};
    wss_httpc_request req = {
        .method = "POST",
        .url = cfg->lwa_token_url,
        .body = form,
        .body_len = strlen(form),
        .content_type = "application/x-www-form-urlencoded",
        .headers = headers,
        .ca_file = cfg->outbound_ca_file,
        .timeout_ms = cfg->request_timeout_ms > 0 ? (long)cfg->request_timeout_ms : 10000L,
    };
    wss_httpc_response resp;
    char why[200];
    wss_err rc = wss_httpc_perform(&req, &resp, why, sizeof why);
    wipe_free(form);
    if (rc != WSS_OK) {
        snprintf(err, errlen, "no answer from LWA: %s", why);
        wss_log(WSS_LOG_WARN, "cloud.lwa", "client_credentials token request failed: %s", why);
        wss_httpc_response_free(&resp);
        return rc;
    }
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    const char *access = json_string_value(json_object_get(doc, "access_token"));
    json_t *expires = json_object_get(doc, "expires_in");
    if (resp.status == 200 && access && *access && strlen(access) < LWA_MAX_TOKEN_BYTES && json_is_integer(expires) &&
        json_integer_value(expires) > 0) {
        *token = strdup(access);
        *lifetime_s = json_integer_value(expires);
        rc = *token ? WSS_OK : WSS_ERR_NOMEM;
        if (!*token)
            snprintf(err, errlen, "out of memory");
    } else {
        /* Only the OAuth error code is repeated: descriptions are free text. */
        char code[LWA_ERROR_SNIPPET];
        const char *e = json_string_value(json_object_get(doc, "error"));
        snprintf(code, sizeof code, "%s", e ? e : resp.status == 200 ? "malformed_response" : "no_error_code");
        for (char *p = code; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
                *p = '?';
        snprintf(err, errlen, "LWA refused the client_credentials request: HTTP %ld %s", resp.status, code);
        wss_log(WSS_LOG_WARN, "cloud.lwa", "client_credentials token refused: HTTP %ld error=%s", resp.status, code);
        rc = resp.status == 401 || resp.status == 400 ? WSS_ERR_AUTH : WSS_ERR_PROTOCOL;
    }
    json_decref(doc);
    if (resp.body)
        memset(resp.body, 0, resp.body_len);
    wss_httpc_response_free(&resp);
    return rc;
}

static int usable(const struct cloud_token_cache *tc, long long now) { return tc->token && now < tc->refresh_at_ms; }

char *cloud_token_get(struct cloud_token_cache *tc, char *err, size_t errlen)
{
    pthread_mutex_lock(&tc->lock);
    for (;;) {
        if (usable(tc, cloud_now_ms())) {
            char *out = strdup(tc->token);
            pthread_mutex_unlock(&tc->lock);
            if (!out)
                snprintf(err, errlen, "out of memory");
            return out;
        }
        if (!tc->fetching)
            break;
        /* Someone else is fetching: wait for that fetch and share its outcome. */
        unsigned long long seen = tc->fetches;
        while (tc->fetching && tc->fetches == seen)
            pthread_cond_wait(&tc->done, &tc->lock);
        if (tc->last_rc != WSS_OK && !tc->token) {
            snprintf(err, errlen, "%s", tc->last_err);
            pthread_mutex_unlock(&tc->lock);
            return NULL;
        }
        /* It succeeded (or another fetch is already under way): look again. */
    }
    tc->fetching = 1;
    pthread_mutex_unlock(&tc->lock);

    long long started = cloud_now_ms(), lifetime_s = 0;
    char why[256] = "";
    char *token = NULL;
    wss_err rc = fetch(tc->cfg, &token, &lifetime_s, why, sizeof why);

    pthread_mutex_lock(&tc->lock);
    char *out = NULL;
    if (rc == WSS_OK) {
        long long margin = tc->cfg->token_margin_s;
        if (margin < 0 || margin >= lifetime_s)
            margin = lifetime_s / 2;
        wipe_free(tc->token);
        tc->token = token;
        tc->refresh_at_ms = started + (lifetime_s - margin) * 1000;
        cloud_metrics_inc(tc->metrics, CLOUD_TOKEN_REFRESHES);
        out = strdup(token);
        if (!out)
            snprintf(err, errlen, "out of memory");
        wss_log(WSS_LOG_INFO, "cloud.lwa", "fetched a client_credentials token (expires in %lld s, reused for %lld s)",
                lifetime_s, lifetime_s - margin);
    } else
        snprintf(err, errlen, "%s", why);
    tc->last_rc = rc;
    snprintf(tc->last_err, sizeof tc->last_err, "%s", why);
    tc->fetching = 0;
    tc->fetches++;
    pthread_cond_broadcast(&tc->done);
    pthread_mutex_unlock(&tc->lock);
    return out;
}

void cloud_token_invalidate(struct cloud_token_cache *tc, const char *token)
{
    if (!tc || !token)
        return;
    pthread_mutex_lock(&tc->lock);
    if (tc->token && strcmp(tc->token, token) == 0) {
        wipe_free(tc->token);
        tc->token = NULL;
        tc->refresh_at_ms = 0;
        wss_log(WSS_LOG_INFO, "cloud.lwa", "dropped the client_credentials token the gateway refused");
    }
    pthread_mutex_unlock(&tc->lock);
}
