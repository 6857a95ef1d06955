/* internal.h - what the maker cloud's modules share.
 *
 * Module map (each owns its routes or its thread):
 *   cloud.c        lifecycle, routing, /healthz
 *   config.c       the configuration file and secrets from the environment
 *   store_sqlite.c the SQLite store behind store.h
 *   intake.c       POST /v1/devices/association-report: device reports, authenticated by mutual TLS
 *   lwa_token.c    every call to Login with Amazon (cloud_lwa_request), and the
 *                  client_credentials token for SDAEs: cached, one refresh at a time
 *   outbox.c       the outbox worker: SDAEs and discovery reports to the event gateway, retries, dead letters
 *   skill.c        POST /alexa/skill: CDAD, AcceptGrant, Discover, and the user's Alexa tokens
 *   skill_json.c   the skill's JSON without a document tree: the common CDAD read in one pass,
 *                  answers and discovery events written into one buffer
 *   metrics.c      /metrics in Prometheus text format
 * src/cloud never includes src/sim; both use src/common. */
#ifndef WSS_CLOUD_INTERNAL_H
#define WSS_CLOUD_INTERNAL_H

#include <jansson.h>
#include <pthread.h>

#include "cloud/store.h"
#include "common/httpd.h"
#include "wss/cloud.h"

#define CLOUD_SCOPE_ASSOCIATION "alexa::device_association_report:write"

typedef struct cloud_config {
    char *listen;                 /* "127.0.0.1:8080" */
    char *state_dir;              /* SQLite store, TLS files */
    int plain_http;               /* serve HTTP (no device intake then: it needs mutual TLS) */
    char *lwa_token_url;          /* default https://api.amazon.com/auth/o2/token */
    char *lwa_client_id;          /* the skill's LWA client (Send Alexa Events permission) */
    char *lwa_client_secret;      /* from the environment variable named by lwa_client_secret_env */
    char *region;                 /* "NA", "EU" or "FE": the default event gateway */
    char *gateway_url;            /* overrides the regional default when set */
    char *outbound_ca_file;       /* CA bundle for LWA and the gateway; NULL = system */
    char *device_ca_file;         /* the maker's device CA: device certificates must chain to it */
    char *manufacturer_name;      /* in discovery endpoints */
    long long retry_delay_ms;     /* between tries of a 500/503: default 1000 */
    int max_retries;              /* retries after the first try for 500/503: default 3 */
    long long backoff_max_ms;     /* cap for 429 and network backoff: default 60000 */
    long long token_margin_s;     /* refresh the client token this long before it expires: default 300 */
    int max_in_flight;            /* outbox events on the wire at once: default 64 */
    long long request_timeout_ms; /* one gateway or LWA request: default 10000 */
} cloud_config;

struct wss_cloud {
    cloud_config cfg;
    cloud_store *store;
    wss_http_server *http;
    char base_url[300];
    struct cloud_token_cache *token;
    struct cloud_outbox *outbox;
    struct cloud_metrics *metrics;
    struct cloud_user_cache *users; /* NULL: every token is looked up in the store */
};
typedef struct wss_cloud cloud;

/* cloud.c */
/* A new access token of the maker's service for user_id (malloc'd), stored
 * only as its digest, expiring in expires_in_s. */
wss_err cloud_user_token_mint(cloud_store *st, const char *user_id, long long expires_in_s, char **token_out,
                              long long *expires_ms);

/* config.c */
void cloud_config_defaults(cloud_config *cfg);
wss_err cloud_config_load(const char *path, cloud_config *cfg, char *err, size_t errlen);
void cloud_config_free(cloud_config *cfg);
/* The regional gateway: "NA" -> https://api.amazonalexa.com/v3/events, "EU" -> api.eu..., "FE" -> api.fe... */
const char *cloud_region_gateway(const char *region);

/* lwa_token.c */

/* What Login with Amazon issued. refresh_token is NULL when the answer had
 * none (client_credentials); expires_in is in seconds, at most ten years. */
typedef struct cloud_lwa_tokens {
    char *access_token;
    char *refresh_token;
    long long expires_in;
} cloud_lwa_tokens;

/* Wipes and frees the tokens; the struct is left zeroed. NULL is ignored. */
void cloud_lwa_tokens_free(cloud_lwa_tokens *t);

/* One request to Login with Amazon's token endpoint (cfg->lwa_token_url): a
 * form-encoded POST of grant_type, name=value (the grant's own parameter,
 * e.g. "scope", "refresh_token" or "code"; none when name is NULL) and the
 * skill's client_id and client_secret, trusting cfg->outbound_ca_file.
 * timeout_ms <= 0 takes cfg->request_timeout_ms (10 s when unset).
 *
 * WSS_OK when LWA answered 200 with a non-empty access_token (at most 4096
 * bytes), a positive integer expires_in and, when present, token_type bearer:
 * *out holds copies (free with cloud_lwa_tokens_free). Otherwise *out is
 * zeroed and err says why, with LWA's OAuth "error" code but never a token, a
 * code or the secret:
 *   WSS_ERR_CONFIG   no LWA client is configured
 *   WSS_ERR_NETWORK, WSS_ERR_TIMEOUT  no answer
 *   WSS_ERR_AUTH     LWA refused with 400 or 401 (invalid_grant, invalid_client...)
 *   WSS_ERR_PROTOCOL any other status, or a 200 without usable tokens
 *   WSS_ERR_NOMEM, WSS_ERR_INVALID (no grant_type, or a name without a value)
 * Nothing is logged: callers log err with their context. Blocking. */
wss_err cloud_lwa_request(const cloud_config *cfg, const char *grant_type, const char *name, const char *value,
                          long timeout_ms, cloud_lwa_tokens *out, char *err, size_t errlen);

struct cloud_token_cache *cloud_token_cache_new(const cloud_config *cfg, struct cloud_metrics *metrics);
void cloud_token_cache_free(struct cloud_token_cache *tc);
/* A valid client_credentials token (malloc'd), fetching one if needed; only
 * one fetch runs at a time, other callers wait for it. NULL with err on failure. */
char *cloud_token_get(struct cloud_token_cache *tc, char *err, size_t errlen);
/* Drops the cached token if it is still `token` (after a 401). */
void cloud_token_invalidate(struct cloud_token_cache *tc, const char *token);

/* skill.c */
/* Recent account-linking token lookups (by digest), so that a burst of
 * directives with one token does not read the store for each. */
struct cloud_user_cache *cloud_user_cache_new(void);
void cloud_user_cache_free(struct cloud_user_cache *uc);

/* outbox.c */
struct cloud_outbox *cloud_outbox_start(cloud *c, char *err, size_t errlen);
/* Wakes the worker (new work queued). */
void cloud_outbox_wake(struct cloud_outbox *ob);
/* Stops taking new work, finishes what is on the wire, joins the worker. */
void cloud_outbox_stop(struct cloud_outbox *ob);

/* intake.c, skill.c, metrics.c: route handlers */
void cloud_intake_handle(cloud *c, const wss_http_request *req, wss_http_response *resp);
void cloud_skill_handle(cloud *c, const wss_http_request *req, wss_http_response *resp);
/* The Alexa.Discovery AddOrUpdateReport of a bound device, with messageId
 * message_id and without payload.scope, malloc'd into *out; the store's
 * WSS_ERR_NOT_FOUND when the device is not bound (any more). */
wss_err cloud_discovery_event(cloud *c, const char *device_id, const char *message_id, char **out);
void cloud_metrics_handle(cloud *c, const wss_http_request *req, wss_http_response *resp);

/* metrics.c: counters and a histogram, safe from any thread. */
struct cloud_metrics *cloud_metrics_new(void);
void cloud_metrics_free(struct cloud_metrics *m);
typedef enum cloud_counter {
    CLOUD_REPORTS_ACCEPTED,
    CLOUD_EVENTS_SENT, /* delivered (2xx) */
    CLOUD_EVENTS_RETRIED,
    CLOUD_TOKEN_REFRESHES,
    CLOUD_DIRECTIVES,
    CLOUD_COUNTER__COUNT
} cloud_counter;
void cloud_metrics_inc(struct cloud_metrics *m, cloud_counter which);
/* Dead letters are counted by the gateway's error code. */
void cloud_metrics_dead_letter(struct cloud_metrics *m, const char *code);
/* Directive handling time, for the latency histogram. */
void cloud_metrics_directive_latency(struct cloud_metrics *m, const char *directive, double seconds);

long long cloud_now_ms(void);

#endif
