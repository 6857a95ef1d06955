/* outbox.c - the outbox worker: SDAEs and discovery reports to the event
 * gateway, with Amazon's retry advice, and dead letters.
 *
 * One thread owns a curl multi handle (connections are kept and reused, at
 * most max_in_flight transfers at once). It claims due events from the store
 * with a lease, so only claimed events live in memory, adds the bearer token
 * at send time (the stored body never holds one), sends, and records what
 * happened. The policy is the seed's table of gateway answers:
 *
 *   2xx                 delivered
 *   500, 503 (any 5xx)  retried after retry_delay_ms, max_retries times, then dead
 *   429                 retried after Retry-After, else exponential backoff
 *                       (retry_delay_ms doubling up to backoff_max_ms)
 *   401                 the token is dropped and the event sent once more at
 *                       once with a fresh one; a second 401 is dead
 *   other 4xx           dead at once (400, 403, 404, 413...)
 *   no answer, no token exponential backoff
 *
 * and, before anything is sent, a discovery report whose device is no longer
 * bound is dead (NO_BINDING): CDAD queues the event, the report is built
 * from the binding when it is sent.
 *
 * Each event counts its tries (attempts) and, apart, the 5xx answers among
 * them (server_errors), so the two budgets do not eat into each other: the
 * (max_retries + 1)th 5xx is dead whatever 429s or network errors came
 * before, and the other tries (429s, no answer, no token, 401s) are bounded
 * by MAX_OTHER_TRIES on their own.
 *
 * Retries keep the stored messageId, so a try that reached the gateway but
 * whose answer was lost is taken as a duplicate there, not applied twice.
 * Dead letters keep the gateway's payload.code and description. One log line
 * is written per retry decision and per dead letter; tokens never are.
 *
 * Tokens: an SDAE carries the client_credentials token (lwa_token.c) in the
 * Authorization header and in event.payload.scope.token. A discovery report
 * carries the user's Alexa token from AcceptGrant, refreshed at Login with
 * Amazon with the refresh token when it is about to expire. Token fetches are
 * blocking calls made by the worker; they happen about once an hour. */
#include <curl/curl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cloud/internal.h"
#include "common/log.h"

#define IDLE_POLL_MS 200       /* how often an idle worker looks for due events */
#define MIN_LEASE_MS 60000     /* how long a claimed event stays ours */
#define MAX_OTHER_TRIES 50     /* tries that were not 5xx before a throttled or unreachable event is dead */
#define MIN_BACKOFF_MS 100     /* first backoff step when retry_delay_ms is 0 */
#define MAX_RETRY_AFTER_S 3600 /* a longer Retry-After is taken as an hour */
#define GRANT_MARGIN_MS 60000  /* refresh a user's Alexa token this long before it expires */
#define LWA_DOWN_MS 1000       /* after a failed token fetch, fail fast this long */
#define RESPONSE_KEEP 65536    /* bytes of a gateway answer kept (error bodies are small) */
#define DESCRIPTION_MAX 512

typedef struct transfer {
    struct cloud_outbox *ob;
    CURL *easy;
    cloud_outbox_item item; /* item.attempts counts this try once sent, item.server_errors its 5xx */
    char *body;             /* the event with its token: cleared before it is freed */
    char *token;            /* the bearer sent: cleared before it is freed */
    struct curl_slist *headers;
    char *resp;
    size_t resp_len;
    char retry_after[32];
    int auth_retried; /* the one immediate retry after a 401 was used */
} transfer;

struct cloud_outbox {
    cloud *c;
    CURLM *multi;
    pthread_t thread;
    atomic_int stopping;
    atomic_int woken;
    int in_flight;
    int max_in_flight;
    long long lease_ms;
    long long next_claim_ms;  /* when to look for due events next */
    int more_due;             /* the last claim was full: more may be waiting */
    int store_failing;        /* the last claim failed (logged once) */
    long long lwa_down_until; /* token fetches fail fast until then */
    cloud_outbox_item *claimed;
    uint64_t rng;
};

/* ------------------------------------------------------------------ backoff, text, gateways */

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static void wipe_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        if (p->data)
            memset(p->data, 0, strlen(p->data));
    curl_slist_free_all(h);
}

static uint64_t next_random(struct cloud_outbox *ob)
{
    /* xorshift64*: only spreads retries in time, no secrecy needed. */
    ob->rng ^= ob->rng >> 12;
    ob->rng ^= ob->rng << 25;
    ob->rng ^= ob->rng >> 27;
    return ob->rng * 2685821657736338717ULL;
}

/* Exponential backoff for the tries-th try (from 1), with jitter in [d/2, d]. */
static long long backoff_ms(struct cloud_outbox *ob, int tries)
{
    const cloud_config *cfg = &ob->c->cfg;
    long long base = cfg->retry_delay_ms > 0 ? cfg->retry_delay_ms : MIN_BACKOFF_MS;
    long long cap = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 60000;
    long long d = base;
    for (int i = 1; i < tries && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d / 2 + (long long)(next_random(ob) % (uint64_t)(d / 2 + 1));
}

/* Retry-After in milliseconds (delta-seconds or an HTTP date); -1 when absent or unreadable. */
static long long retry_after_ms(const char *value)
{
    if (!value || !*value)
        return -1;
    long long s;
    char *end;
    long long n = strtoll(value, &end, 10);
    if (end != value && *end == 0 && n >= 0)
        s = n;
    else {
        time_t t = curl_getdate(value, NULL);
        if (t == (time_t)-1)
            return -1;
        s = (long long)t - cloud_now_ms() / 1000;
        if (s < 0)
            s = 0;
    }
    return (s > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S : s) * 1000;
}

/* Copies text that came from outside (codes, descriptions) for logs and the store. */
static void copy_printable(char *out, size_t outlen, const char *in)
{
    size_t o = 0;
    for (; in && *in && o + 1 < outlen; in++)
        out[o++] = (unsigned char)*in < 0x20 ? ' ' : *in;
    out[o] = 0;
}

static void item_release(cloud_outbox_item *item)
{
    cloud_outbox_item_free(item);
    memset(item, 0, sizeof *item);
}

/* The gateway an event goes to: the one it was stored with, which must be a
 * known event gateway (the configured one or a regional one) because the
 * skill's token goes with it; NULL when it is not. */
static const char *gateway_for(const cloud_config *cfg, const char *url)
{
    const char *fallback = cfg->gateway_url ? cfg->gateway_url : cloud_region_gateway(cfg->region);
    if (!url || !*url)
        return fallback;
    if (cfg->gateway_url && strcmp(url, cfg->gateway_url) == 0)
        return url;
    static const char *const regions[] = {"NA", "EU", "FE"};
    for (size_t i = 0; i < sizeof regions / sizeof *regions; i++)
        if (strcmp(url, cloud_region_gateway(regions[i])) == 0)
            return url;
    return NULL;
}

/* ------------------------------------------------------------------ outcomes */

static void record_dead(struct cloud_outbox *ob, const cloud_outbox_item *item, int status, const char *code,
                        const char *description)
{
    cloud *c = ob->c;
    char safe_code[96], safe_desc[DESCRIPTION_MAX];
    copy_printable(safe_code, sizeof safe_code, code && *code ? code : "UNKNOWN");
    copy_printable(safe_desc, sizeof safe_desc, description ? description : "");
    /* Counted first, so that whoever sees the store's verdict sees the count too. */
    cloud_metrics_dead_letter(c->metrics, safe_code);
    wss_err rc = c->store->ops->outbox_dead(c->store, item->id, item->attempts, item->server_errors, status, safe_code,
                                            safe_desc, cloud_now_ms());
    wss_log(WSS_LOG_WARN, "cloud.outbox", "event %lld (%s, messageId %s) dead after %d tries: HTTP %d %s: %s%s",
            item->id, item->kind, item->message_id, item->attempts, status, safe_code, safe_desc,
            rc ? " (the store did not record it)" : "");
}

static void record_retry(struct cloud_outbox *ob, const cloud_outbox_item *item, long long delay_ms, int status,
                         const char *why)
{
    cloud *c = ob->c;
    long long now = cloud_now_ms();
    char safe[DESCRIPTION_MAX];
    copy_printable(safe, sizeof safe, why);
    cloud_metrics_inc(c->metrics, CLOUD_EVENTS_RETRIED);
    wss_err rc =
        c->store->ops->outbox_retry_at(c->store, item->id, now + delay_ms, item->attempts, item->server_errors, safe);
    if (now + delay_ms < ob->next_claim_ms)
        ob->next_claim_ms = now + delay_ms;
    wss_log(WSS_LOG_INFO, "cloud.outbox", "event %lld (%s, messageId %s) try %d: HTTP %d %s; retrying in %lld ms%s",
            item->id, item->kind, item->message_id, item->attempts, status, safe, delay_ms,
            rc ? " (the store did not record it; the lease will bring it back)" : "");
}

/* The tries of an event that were not answered with a 5xx. */
static int other_tries(const cloud_outbox_item *item) { return item->attempts - item->server_errors; }

/* A failure with no gateway verdict (no answer, no token): backoff, or dead
 * after MAX_OTHER_TRIES such tries. */
static void retry_or_give_up(struct cloud_outbox *ob, cloud_outbox_item *item, int status, const char *code,
                             const char *why)
{
    if (other_tries(item) >= MAX_OTHER_TRIES)
        record_dead(ob, item, status, code, why);
    else
        record_retry(ob, item, backoff_ms(ob, other_tries(item)), status, why);
}

/* ------------------------------------------------------------------ tokens */

typedef enum prep_result { PREP_OK, PREP_RETRY, PREP_DEAD } prep_result;

typedef struct prep_error {
    char code[64];
    char description[DESCRIPTION_MAX];
} prep_error;

/* Exchanges the user's refresh token at LWA and stores the new pair. */
static prep_result refresh_grant(struct cloud_outbox *ob, const char *user_id, const cloud_grant *g, char **token,
                                 prep_error *pe)
{
    cloud *c = ob->c;
    long long started = cloud_now_ms();
    if (started < ob->lwa_down_until) {
        snprintf(pe->code, sizeof pe->code, "LWA_UNAVAILABLE");
        snprintf(pe->description, sizeof pe->description, "Login with Amazon did not answer a moment ago");
        return PREP_RETRY;
    }
    cloud_lwa_tokens t;
    char why[DESCRIPTION_MAX - 64];
    wss_err rc = cloud_lwa_request(&c->cfg, "refresh_token", "refresh_token", g->refresh_token, 0, &t, why, sizeof why);
    if (rc == WSS_OK) {
        long long expires_ms = started + t.expires_in * 1000;
        wss_err src = c->store->ops->grant_put(c->store, user_id, t.access_token,
                                               t.refresh_token ? t.refresh_token : g->refresh_token, expires_ms);
        if (src != WSS_OK)
            wss_log(WSS_LOG_WARN, "cloud.outbox", "cannot store the refreshed Alexa token of user %s: %s", user_id,
                    wss_strerror(src));
        *token = t.access_token;
        t.access_token = NULL;
        cloud_lwa_tokens_free(&t);
        wss_log(WSS_LOG_INFO, "cloud.outbox", "refreshed the Alexa token of user %s", user_id);
        return PREP_OK;
    }
    wss_log(WSS_LOG_WARN, "cloud.outbox", "refreshing user %s's Alexa token: %s", user_id, why);
    if (rc == WSS_ERR_AUTH) {
        /* invalid_grant: the user disabled the skill; invalid_client: our credentials are wrong. */
        snprintf(pe->code, sizeof pe->code, "ALEXA_GRANT_REFRESH_FAILED");
        snprintf(pe->description, sizeof pe->description, "%s", why);
        return PREP_DEAD;
    }
    if (rc != WSS_ERR_NOMEM)
        ob->lwa_down_until = cloud_now_ms() + LWA_DOWN_MS;
    snprintf(pe->code, sizeof pe->code, "LWA_UNAVAILABLE");
    snprintf(pe->description, sizeof pe->description, "refreshing the user's Alexa token: %s", why);
    return PREP_RETRY;
}

/* The user's Alexa access token for a discovery report; force_refresh after
 * the gateway refused the stored one. */
static prep_result user_token(struct cloud_outbox *ob, const cloud_outbox_item *item, int force_refresh, char **token,
                              prep_error *pe)
{
    cloud *c = ob->c;
    if (!item->user_id || !*item->user_id) {
        snprintf(pe->code, sizeof pe->code, "NO_ALEXA_GRANT");
        snprintf(pe->description, sizeof pe->description, "the event names no user");
        return PREP_DEAD;
    }
    cloud_grant g;
    memset(&g, 0, sizeof g);
    wss_err rc = c->store->ops->grant_get(c->store, item->user_id, &g);
    if (rc == WSS_ERR_NOT_FOUND) {
        snprintf(pe->code, sizeof pe->code, "NO_ALEXA_GRANT");
        snprintf(pe->description, sizeof pe->description, "user %s has no Alexa grant (no AcceptGrant yet)",
                 item->user_id);
        return PREP_DEAD;
    }
    if (rc != WSS_OK) {
        snprintf(pe->code, sizeof pe->code, "STORE_ERROR");
        snprintf(pe->description, sizeof pe->description, "cannot read the user's Alexa grant: %s", wss_strerror(rc));
        return PREP_RETRY;
    }
    long long now = cloud_now_ms();
    int fresh = g.access_token && *g.access_token && g.expires_ms > now + GRANT_MARGIN_MS;
    int has_refresh = g.refresh_token && *g.refresh_token;
    prep_result out;
    if (!force_refresh && fresh) {
        *token = strdup(g.access_token);
        out = *token ? PREP_OK : PREP_RETRY;
    } else if (has_refresh)
        out = refresh_grant(ob, item->user_id, &g, token, pe);
    else if (!force_refresh && g.access_token && *g.access_token && g.expires_ms > now) {
        *token = strdup(g.access_token); /* about to expire, but nothing to refresh it with */
        out = *token ? PREP_OK : PREP_RETRY;
    } else {
        snprintf(pe->code, sizeof pe->code, "ALEXA_GRANT_EXPIRED");
        snprintf(pe->description, sizeof pe->description, "user %s's Alexa token is %s and there is no refresh token",
                 item->user_id, force_refresh ? "refused" : "expired");
        out = PREP_DEAD;
    }
    cloud_grant_free(&g); /* wipes the tokens */
    return out;
}

static prep_result client_token(struct cloud_outbox *ob, char **token, prep_error *pe)
{
    char why[256];
    if (cloud_now_ms() < ob->lwa_down_until) {
        snprintf(pe->code, sizeof pe->code, "LWA_UNAVAILABLE");
        snprintf(pe->description, sizeof pe->description, "no client_credentials token: LWA failed a moment ago");
        return PREP_RETRY;
    }
    *token = cloud_token_get(ob->c->token, why, sizeof why);
    if (*token)
        return PREP_OK;
    ob->lwa_down_until = cloud_now_ms() + LWA_DOWN_MS;
    snprintf(pe->code, sizeof pe->code, "LWA_UNAVAILABLE");
    snprintf(pe->description, sizeof pe->description, "no client_credentials token: %s", why);
    return PREP_RETRY;
}

/* ------------------------------------------------------------------ sending */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    transfer *t = userdata;
    size_t n = size * nmemb;
    size_t keep = t->resp_len + n > RESPONSE_KEEP ? RESPONSE_KEEP - t->resp_len : n;
    if (keep) {
        char *p = realloc(t->resp, t->resp_len + keep + 1);
        if (!p)
            return n; /* the verdict is the status; the body only adds detail */
        memcpy(p + t->resp_len, ptr, keep);
        t->resp = p;
        t->resp_len += keep;
        t->resp[t->resp_len] = 0;
    }
    return n;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    transfer *t = userdata;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
        const char *v = line + 12, *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t len = (size_t)(end - v) < sizeof t->retry_after ? (size_t)(end - v) : sizeof t->retry_after - 1;
        memcpy(t->retry_after, v, len);
        t->retry_after[len] = 0;
    } else if (n > 5 && strncmp(line, "HTTP/", 5) == 0)
        t->retry_after[0] = 0; /* a new response (after a 100 Continue) */
    return n;
}

static void transfer_free(transfer *t)
{
    if (!t)
        return;
    if (t->easy) {
        curl_multi_remove_handle(t->ob->multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    wipe_headers(t->headers);
    wipe_free(t->body);
    wipe_free(t->token);
    free(t->resp);
    item_release(&t->item);
    free(t);
}

/* The stored event with event.payload.scope set to the bearer token. */
static char *body_with_token(const char *stored, const char *token)
{
    json_t *root = json_loads(stored ? stored : "", 0, NULL);
    json_t *payload = json_object_get(json_object_get(root, "event"), "payload");
    char *out = NULL;
    if (json_is_object(payload) &&
        json_object_set_new(payload, "scope", json_pack("{s:s, s:s}", "type", "BearerToken", "token", token)) == 0)
        out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

/* Gets the token, builds the request and puts it on the wire. Takes the
 * transfer: on any failure the event's fate is recorded and t is freed. */
static void send_transfer(struct cloud_outbox *ob, transfer *t, int force_refresh)
{
    const cloud_config *cfg = &ob->c->cfg;
    cloud_outbox_item *item = &t->item;
    const char *url = gateway_for(cfg, item->gateway_url);
    prep_error pe;
    memset(&pe, 0, sizeof pe);
    wipe_free(t->token);
    t->token = NULL;
    item->attempts++; /* this try, whatever becomes of it */
    if (!url) {
        record_dead(ob, item, 0, "GATEWAY_NOT_ALLOWED",
                    "the event's gateway URL is not a known Alexa event gateway or the configured gateway_url");
        transfer_free(t);
        return;
    }
    /* A discovery report queued by CDAD is built from its binding now. */
    if (!item->body[0] && item->device_id && strcmp(item->kind, "discovery") == 0) {
        char *built = NULL;
        wss_err rc = cloud_discovery_event(ob->c, item->device_id, item->message_id, &built);
        if (rc == WSS_OK) {
            free(item->body);
            item->body = built;
        } else {
            if (rc == WSS_ERR_NOT_FOUND)
                record_dead(ob, item, 0, "NO_BINDING", "the device is not bound to a user: there is nothing to report");
            else
                retry_or_give_up(ob, item, 0, "STORE_UNAVAILABLE", "the device's binding could not be read");
            transfer_free(t);
            return;
        }
    }
    prep_result pr;
    if (strcmp(item->kind, "sdae") == 0)
        pr = client_token(ob, &t->token, &pe);
    else if (strcmp(item->kind, "discovery") == 0)
        pr = user_token(ob, item, force_refresh, &t->token, &pe);
    else {
        snprintf(pe.code, sizeof pe.code, "UNKNOWN_EVENT_KIND");
        snprintf(pe.description, sizeof pe.description, "outbox events are \"sdae\" or \"discovery\"");
        pr = PREP_DEAD;
    }
    if (pr == PREP_DEAD) {
        record_dead(ob, item, 0, pe.code, pe.description);
        transfer_free(t);
        return;
    }
    if (pr == PREP_RETRY) {
        retry_or_give_up(ob, item, 0, pe.code, pe.description);
        transfer_free(t);
        return;
    }
    wipe_free(t->body);
    t->body = body_with_token(item->body, t->token);
    if (!t->body) {
        record_dead(ob, item, 0, "INVALID_EVENT_BODY", "the stored event is not a JSON event with event.payload");
        transfer_free(t);
        return;
    }
    size_t hlen = strlen(t->token) + 32;
    char *auth = malloc(hlen);
    if (auth)
        snprintf(auth, hlen, "Authorization: Bearer %s", t->token);
    wipe_headers(t->headers);
    t->headers = NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h && auth && curl_slist_append(h, auth) && curl_slist_append(h, "Expect:"))
        t->headers = h;
    else
        wipe_headers(h);
    wipe_free(auth);
    t->resp_len = 0;
    t->retry_after[0] = 0;
    if (!t->easy)
        t->easy = curl_easy_init();
    else
        curl_easy_reset(t->easy);
    CURL *e = t->easy;
    if (!t->headers || !e) {
        retry_or_give_up(ob, item, 0, "OUT_OF_MEMORY", "cannot build the request");
        transfer_free(t);
        return;
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, cfg->request_timeout_ms > 0 ? (long)cfg->request_timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    if (cfg->outbound_ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->outbound_ca_file);
    if (curl_multi_add_handle(ob->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        t->easy = NULL;
        retry_or_give_up(ob, item, 0, "OUT_OF_MEMORY", "cannot start the transfer");
        transfer_free(t);
        return;
    }
    ob->in_flight++;
}

/* The gateway's payload.code and payload.description, when the body is the seed's System.Exception. */
static void gateway_error(const transfer *t, long status, char *code, size_t codelen, char *desc, size_t desclen)
{
    json_t *doc = t->resp_len ? json_loadb(t->resp, t->resp_len, 0, NULL) : NULL;
    json_t *payload = json_object_get(doc, "payload");
    const char *c = json_string_value(json_object_get(payload, "code"));
    const char *d = json_string_value(json_object_get(payload, "description"));
    char fallback[32];
    snprintf(fallback, sizeof fallback, "HTTP_%ld", status);
    copy_printable(code, codelen, c && *c ? c : fallback);
    copy_printable(desc, desclen, d ? d : "");
    json_decref(doc);
}

/* Decides what a finished transfer means for its event. */
static void transfer_done(struct cloud_outbox *ob, transfer *t, CURLcode cc)
{
    cloud *c = ob->c;
    cloud_outbox_item *item = &t->item;
    const cloud_config *cfg = &c->cfg;
    curl_multi_remove_handle(ob->multi, t->easy);
    ob->in_flight--;
    if (cc != CURLE_OK) {
        char why[256];
        snprintf(why, sizeof why, "no answer from the gateway: %s", curl_easy_strerror(cc));
        retry_or_give_up(ob, item, 0, cc == CURLE_OPERATION_TIMEDOUT ? "GATEWAY_TIMEOUT" : "NETWORK_ERROR", why);
        transfer_free(t);
        return;
    }
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        cloud_metrics_inc(c->metrics, CLOUD_EVENTS_SENT);
        wss_err rc = c->store->ops->outbox_delivered(c->store, item->id, item->attempts, cloud_now_ms());
        if (rc != WSS_OK)
            wss_log(WSS_LOG_ERROR, "cloud.outbox",
                    "event %lld delivered but the store did not record it (%s): it will be sent again as a duplicate",
                    item->id, wss_strerror(rc));
        else
            wss_log(WSS_LOG_DEBUG, "cloud.outbox", "event %lld (%s, messageId %s) delivered after %d tries", item->id,
                    item->kind, item->message_id, item->attempts);
        transfer_free(t);
        return;
    }
    char code[96], desc[DESCRIPTION_MAX], why[DESCRIPTION_MAX + 128];
    gateway_error(t, status, code, sizeof code, desc, sizeof desc);
    snprintf(why, sizeof why, "%s: %s", code, desc);
    if (status == 401) {
        int sdae = strcmp(item->kind, "sdae") == 0;
        if (sdae)
            cloud_token_invalidate(c->token, t->token);
        if (t->auth_retried) {
            record_dead(ob, item, (int)status, code, desc);
            transfer_free(t);
        } else if (atomic_load(&ob->stopping)) {
            record_retry(ob, item, 0, (int)status, why); /* the next start sends it with a fresh token */
            transfer_free(t);
        } else {
            t->auth_retried = 1;
            cloud_metrics_inc(c->metrics, CLOUD_EVENTS_RETRIED);
            wss_log(WSS_LOG_INFO, "cloud.outbox",
                    "event %lld (%s, messageId %s) try %d: HTTP 401 %s; retrying now with a fresh token", item->id,
                    item->kind, item->message_id, item->attempts, code);
            send_transfer(ob, t, !sdae);
        }
        return;
    }
    if (status == 429) {
        long long ra = retry_after_ms(t->retry_after);
        if (other_tries(item) >= MAX_OTHER_TRIES)
            record_dead(ob, item, (int)status, code, desc);
        else
            record_retry(ob, item, ra >= 0 ? ra : backoff_ms(ob, other_tries(item)), (int)status, why);
    } else if (status >= 500 && status < 600) {
        item->server_errors++;
        if (item->server_errors > cfg->max_retries)
            record_dead(ob, item, (int)status, code, desc);
        else
            record_retry(ob, item, cfg->retry_delay_ms > 0 ? cfg->retry_delay_ms : 0, (int)status, why);
    } else
        record_dead(ob, item, (int)status, code, desc); /* 400, 403, 404, 413, any other 4xx, anything else */
    transfer_free(t);
}

/* ------------------------------------------------------------------ the worker */

static void claim(struct cloud_outbox *ob, long long now)
{
    cloud *c = ob->c;
    int want = ob->max_in_flight - ob->in_flight, n = 0;
    wss_err rc = c->store->ops->outbox_claim(c->store, now, ob->lease_ms, want, ob->claimed, &n);
    ob->next_claim_ms = now + IDLE_POLL_MS;
    if (rc != WSS_OK) {
        if (!ob->store_failing)
            wss_log(WSS_LOG_ERROR, "cloud.outbox", "cannot claim events from the store: %s", wss_strerror(rc));
        ob->store_failing = 1;
        ob->more_due = 0;
        return;
    }
    if (ob->store_failing)
        wss_log(WSS_LOG_INFO, "cloud.outbox", "the store answers again");
    ob->store_failing = 0;
    if (n < 0 || n > want)
        n = n < 0 ? 0 : want;
    ob->more_due = n == want;
    for (int i = 0; i < n; i++) {
        transfer *t = calloc(1, sizeof *t);
        if (!t) {
            item_release(&ob->claimed[i]); /* the lease brings it back */
            continue;
        }
        t->ob = ob;
        t->item = ob->claimed[i];
        memset(&ob->claimed[i], 0, sizeof ob->claimed[i]);
        send_transfer(ob, t, 0);
    }
}

static void harvest(struct cloud_outbox *ob)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(ob->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        CURLcode cc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv)
            transfer_done(ob, (transfer *)(void *)priv, cc);
    }
}

static void *worker(void *arg)
{
    struct cloud_outbox *ob = arg;
    for (;;) {
        int stopping = atomic_load(&ob->stopping);
        long long now = cloud_now_ms();
        if (atomic_exchange(&ob->woken, 0))
            ob->next_claim_ms = now;
        if (!stopping && ob->in_flight < ob->max_in_flight && (ob->more_due || now >= ob->next_claim_ms))
            claim(ob, now);
        if (stopping && ob->in_flight == 0)
            break;
        int running = 0;
        curl_multi_perform(ob->multi, &running);
        harvest(ob);
        long long wait = IDLE_POLL_MS;
        if (!stopping && ob->in_flight < ob->max_in_flight) {
            wait = ob->more_due ? 0 : ob->next_claim_ms - cloud_now_ms();
            if (wait < 0)
                wait = 0;
            if (wait > IDLE_POLL_MS)
                wait = IDLE_POLL_MS;
        }
        curl_multi_poll(ob->multi, NULL, 0, (int)wait, NULL);
    }
    return NULL;
}

struct cloud_outbox *cloud_outbox_start(cloud *c, char *err, size_t errlen)
{
    if (!c || !c->store || !c->token) {
        snprintf(err, errlen, "the outbox needs a store and a token cache");
        return NULL;
    }
    struct cloud_outbox *ob = calloc(1, sizeof *ob);
    if (!ob) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ob->c = c;
    ob->max_in_flight = c->cfg.max_in_flight > 0 ? c->cfg.max_in_flight : 64;
    long long timeout = c->cfg.request_timeout_ms > 0 ? c->cfg.request_timeout_ms : 10000;
    /* A claimed event must stay ours through a token fetch and its own try. */
    ob->lease_ms = MIN_LEASE_MS > 4 * timeout ? MIN_LEASE_MS : 4 * timeout;
    ob->rng = (uint64_t)cloud_now_ms() * 0x9E3779B97F4A7C15ULL + (uint64_t)(uintptr_t)ob;
    if (!ob->rng)
        ob->rng = 1;
    atomic_init(&ob->stopping, 0);
    atomic_init(&ob->woken, 1);
    ob->claimed = calloc((size_t)ob->max_in_flight, sizeof *ob->claimed);
    ob->multi = curl_multi_init();
    if (!ob->claimed || !ob->multi) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    curl_multi_setopt(ob->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)ob->max_in_flight);
    curl_multi_setopt(ob->multi, CURLMOPT_MAXCONNECTS, (long)ob->max_in_flight);
    if (pthread_create(&ob->thread, NULL, worker, ob) != 0) {
        snprintf(err, errlen, "cannot start the outbox thread");
        goto fail;
    }
    return ob;
fail:
    if (ob->multi)
        curl_multi_cleanup(ob->multi);
    free(ob->claimed);
    free(ob);
    return NULL;
}

void cloud_outbox_wake(struct cloud_outbox *ob)
{
    if (!ob)
        return;
    /* Already woken: the worker has yet to take that wake (it clears the
     * flag before it claims), and the wake-up sent with it is still pending. */
    if (!atomic_exchange(&ob->woken, 1))
        curl_multi_wakeup(ob->multi);
}

void cloud_outbox_stop(struct cloud_outbox *ob)
{
    if (!ob)
        return;
    atomic_store(&ob->stopping, 1);
    curl_multi_wakeup(ob->multi);
    pthread_join(ob->thread, NULL);
    curl_multi_cleanup(ob->multi);
    free(ob->claimed);
    free(ob);
}
