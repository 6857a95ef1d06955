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
 * cloud_lwa_request() is the cloud's one call to Login with Amazon's token
 * endpoint, for every grant: client_credentials here, refresh_token for a
 * user's Alexa token (outbox.c), authorization_code for AcceptGrant (skill.c).
 *
 * Neither a token, a code nor the client secret is ever logged; an LWA
 * refusal is reported by its OAuth "error" code only. Buffers that held them
 * are cleared before they are freed. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud/internal.h"
#include "common/httpc.h"
#include "common/log.h"

#define LWA_MAX_TOKEN_BYTES 4096
#define LWA_ERROR_SNIPPET 64
#define LWA_EXPIRES_IN_MAX (10LL * 365 * 24 * 3600) /* longer lifetimes are taken as ten years */

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

void cloud_lwa_tokens_free(cloud_lwa_tokens *t)
{
    if (!t)
        return;
    wipe_free(t->access_token);
    wipe_free(t->refresh_token);
    memset(t, 0, sizeof *t);
}

/* The OAuth "error" code of a refusal, reduced to letters, digits and '_'
 * (LWA's codes are [a-z_]; anything else in there is not repeated). */
static void oauth_error_code(const json_t *doc, long status, char *out, size_t outlen)
{
    const char *e = json_string_value(json_object_get(doc, "error"));
    size_t o = 0;
    for (; e && *e && o + 1 < outlen && o < LWA_ERROR_SNIPPET; e++)
        if ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') || *e == '_')
            out[o++] = *e;
    out[o] = 0;
    if (!o)
        snprintf(out, outlen, "%s", status == 200 ? "malformed_response" : "no_error_code");
}

/* Reads a 200 answer into *out; err says what is missing otherwise. */
static wss_err read_tokens(const json_t *doc, cloud_lwa_tokens *out, char *err, size_t errlen)
{
    const char *access = json_string_value(json_object_get(doc, "access_token"));
    const json_t *refresh = json_object_get(doc, "refresh_token");
    const char *type = json_string_value(json_object_get(doc, "token_type"));
    const json_t *expires = json_object_get(doc, "expires_in");
    if (!access || !*access || strlen(access) > LWA_MAX_TOKEN_BYTES ||
        (refresh && (!json_is_string(refresh) || json_string_length(refresh) > LWA_MAX_TOKEN_BYTES))) {
        snprintf(err, errlen, "Login with Amazon's answer lacks a usable access_token");
        return WSS_ERR_PROTOCOL;
    }
    if (type && strcasecmp(type, "bearer") != 0) {
        snprintf(err, errlen, "Login with Amazon's answer has a token_type other than bearer");
        return WSS_ERR_PROTOCOL;
    }
    if (!json_is_integer(expires) || json_integer_value(expires) <= 0) {
        snprintf(err, errlen, "Login with Amazon's answer lacks a positive expires_in");
        return WSS_ERR_PROTOCOL;
    }
    const char *r = json_string_value(refresh);
    out->access_token = strdup(access);
    out->refresh_token = r && *r ? strdup(r) : NULL;
    out->expires_in =
        json_integer_value(expires) > LWA_EXPIRES_IN_MAX ? LWA_EXPIRES_IN_MAX : json_integer_value(expires);
    if (!out->access_token || (r && *r && !out->refresh_token)) {
        cloud_lwa_tokens_free(out);
        snprintf(err, errlen, "out of memory");
        return WSS_ERR_NOMEM;
    }
    return WSS_OK;
}

/* Clears the strings of a parsed answer: they hold the tokens too. */
static void wipe_json_strings(json_t *doc)
{
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (json_is_string(v))
            memset((char *)json_string_value(v), 0, json_string_length(v));
    }
}

wss_err cloud_lwa_request(const cloud_config *cfg, const char *grant_type, const char *name, const char *value,
                          long timeout_ms, cloud_lwa_tokens *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!cfg->lwa_token_url || !cfg->lwa_client_id || !cfg->lwa_client_secret) {
        snprintf(err, errlen, "the LWA token URL, client id and client secret are not configured");
        return WSS_ERR_CONFIG;
    }
    if (!grant_type || (name && !value)) {
        snprintf(err, errlen, "an LWA request needs a grant type and a value for %s", name ? name : "it");
        return WSS_ERR_INVALID;
    }
    char *form = strdup("");
    form_add(&form, "grant_type", grant_type);
    if (name)
        form_add(&form, name, value);
    form_add(&form, "client_id", cfg->lwa_client_id);
    form_add(&form, "client_secret", cfg->lwa_client_secret);
    if (!form) {
        snprintf(err, errlen, "out of memory");
        return WSS_ERR_NOMEM;
    }
    if (timeout_ms <= 0)
        timeout_ms = cfg->request_timeout_ms > 0 ? (long)cfg->request_timeout_ms : 10000L;
    static const char *const headers[] = {"Accept: application/json", NULL};
    wss_httpc_request req = {
        .method = "POST",
        .url = cfg->lwa_token_url,
        .body = form,
        .body_len = strlen(form),
        .content_type = "application/x-www-form-urlencoded",
        .headers = headers,
        .ca_file = cfg->outbound_ca_file,
        .timeout_ms = timeout_ms,
    };
    wss_httpc_response resp;
    char why[200] = "";
    memset(&resp, 0, sizeof resp);
    wss_err rc = wss_httpc_perform(&req, &resp, why, sizeof why);
    wipe_free(form);
    if (rc != WSS_OK) {
        snprintf(err, errlen, "no answer from Login with Amazon to the %s request: %s", grant_type, why);
        wss_httpc_response_free(&resp);
        return rc == WSS_ERR_TIMEOUT || rc == WSS_ERR_NOMEM ? rc : WSS_ERR_NETWORK;
    }
    json_t *doc = resp.body ? json_loadb(resp.body, resp.body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (resp.status == 200) {
        rc = read_tokens(doc, out, err, errlen);
    } else {
        char code[LWA_ERROR_SNIPPET + 1];
        oauth_error_code(doc, resp.status, code, sizeof code);
        snprintf(err, errlen, "Login with Amazon refused the %s request: HTTP %ld %s", grant_type, resp.status, code);
        /* 400 and 401 are verdicts on the grant or the client (invalid_grant,
         * invalid_client...); anything else may pass. */
        rc = resp.status == 400 || resp.status == 401 ? WSS_ERR_AUTH : WSS_ERR_PROTOCOL;
    }
    wipe_json_strings(doc);
    json_decref(doc);
    if (resp.body)
        memset(resp.body, 0, resp.body_len);
    wss_httpc_response_free(&resp);
    return rc;
}

/* Asks LWA for a client_credentials token. On success *token (malloc'd) and
 * *lifetime_s are set. */
static wss_err fetch(const cloud_config *cfg, char **token, long long *lifetime_s, char *err, size_t errlen)
{
    cloud_lwa_tokens t;
    *token = NULL;
    wss_err rc = cloud_lwa_request(cfg, "client_credentials", "scope", CLOUD_SCOPE_ASSOCIATION, 0, &t, err, errlen);
    if (rc != WSS_OK) {
        wss_log(WSS_LOG_WARN, "cloud.lwa", "client_credentials token request failed: %s", err);
        return rc;
    }
    *token = t.access_token;
    *lifetime_s = t.expires_in;
    t.access_token = NULL;
    cloud_lwa_tokens_free(&t);
    return WSS_OK;
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
