/* internal.h - what the emulator's modules share: the instance, its
 * configuration, the clock, the store lock and the reply helpers.
 *
 * Module map (each owns its tables and routes):
 *   sim.c       lifecycle, routing, credentials.json
 *   config.c    the configuration file
 *   store.c     the SQLite schema, the clock and the event log
 *   lwa.c       Login with Amazon: /auth/o2/token, tokens and codes
 *   gateway.c   the event gateway: /v3/events (SDAE, discovery reports)
 *   faults.c    injected failures per route and client
 *   ratelimit.c per-client token buckets
 *   dispatch.c  directives to skills (AcceptGrant, AssociateCustomerDevice, Discover on demand)
 *               and their judging
 *   names.c     preferred friendly names
 *   control.c   the control API: /control/v1/...
 *   validate.c  structural checks of Alexa messages (pure)
 *   dss.c       the Device Setup Service: its HTTPS listener, /api/v1/<operation>, sessions
 *   dss_key.c   the DSS key: signing responses, the setup network's passphrase
 *   dss_control.c  provisioners, the control log import, DSS read-outs (/control/v1/...)
 *   dss_request.c  DSS request parsing and setup network names (pure) */
#ifndef WSS_SIM_INTERNAL_H
#define WSS_SIM_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/httpd.h"
#include "wss/sim.h"

#define SIM_SCOPE_ASSOCIATION "alexa::device_association_report:write"
#define SIM_SCOPE_ASYNC_EVENT "alexa::async_event:write"
#define SIM_ROUTE_LWA "lwa"
#define SIM_ROUTE_EVENTS "events"
#define SIM_ROUTE_DSS "dss"
#define SIM_ROUTE_SKILL "skill" /* the emulator's directives to a skill (faults only) */
#define SIM_DSS_HOST "dp-sps-na.amazon.com"
#define SIM_DSS_SESSION_MS (10LL * 60 * 1000)

typedef struct sim_skill_config {
    char *skill_id;
    char *client_id;
    char *client_secret;    /* clear text, only while loading; never logged */
    char *endpoint;         /* the skill's HTTPS endpoint for directives */
    char *endpoint_ca_file; /* PEM bundle that the endpoint's certificate chains to; NULL = the system's CAs */
    char *stage;            /* "live" or "development" */
    char *marketplace;      /* "US", "UK", "DE", ... */
    int enabled;
    double rate_per_s; /* gateway requests per second for this client */
    int rate_burst;
} sim_skill_config;

typedef struct sim_customer_config {
    char *customer_id;
    char *name;
    json_t *wifi;   /* array of locker entries, may be NULL */
    json_t *skills; /* array of {skill_id, access_token}: skills enabled at start */
} sim_customer_config;

typedef struct sim_config {
    long long token_lifetime_s; /* access tokens; default 3600 */
    long long code_lifetime_s;  /* authorization codes; default 300 */
    long long retention_s;      /* device association retention; default 30 days */
    long long skill_timeout_ms; /* how long Alexa waits for a skill; default 8000 */
    long long max_event_bytes;  /* /v3/events body limit; default 262144 */
    double default_rate_per_s;  /* per-client gateway rate when a skill sets none; default 50 */
    int default_rate_burst;     /* default 100 */
    sim_skill_config *skills;
    size_t nskills;
    sim_customer_config *customers;
    size_t ncustomers;
    json_t *faults;             /* array of fault rules, may be NULL */
    char **dss_device_ca_files; /* dss.device_ca_files: the maker's device CA certificates (PEM paths) */
    size_t ndss_device_ca_files;
} sim_config;

struct wss_sim {
    sim_config cfg;
    char *state_dir;
    char base_url[300];
    char ca_file[4096]; /* the CA clients trust; "" for plain HTTP */
    int plain_http;
    wss_http_server *http;

    wss_http_server *dss_http;      /* the Device Setup Service's own listener */
    char dss_url[300];              /* "https://127.0.0.1:PORT" */
    char dss_ca_file[4096];         /* the CA of its certificate (the local CA, also in plain-HTTP mode) */
    struct wss_crypto_key *dss_key; /* signs every DSS response; ECDH of the setup network */
    char *dss_public_b64;           /* its public half, base64 DER SPKI */

    sqlite3 *db;
    pthread_mutex_t db_lock; /* one connection, one writer at a time */

    struct sim_ratelimit *ratelimit;

    pthread_t dispatcher;
    int dispatcher_started;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    int stopping;
    /* Whether fault rules may exist: 0 none (sim_faults_check returns at once),
     * 1 some, -1 not known yet. Rules are rare and checks are on every request. */
    atomic_int fault_rules;
};
typedef struct wss_sim sim;

/* config.c */
wss_err sim_config_load(const char *path, sim_config *cfg, char *err, size_t errlen);
void sim_config_defaults(sim_config *cfg);
void sim_config_free(sim_config *cfg);

/* store.c: open/migrate, clock, event log, counters. Callers hold db_lock
 * around every use of s->db except where a function says it locks itself. */
wss_err sim_store_open(sim *s, char *err, size_t errlen);
void sim_store_close(sim *s);
void sim_lock(sim *s);
void sim_unlock(sim *s);
/* The emulator's clock: wall time plus the offset the control API moved it by. Locks. */
long long sim_now_ms(sim *s);
/* The same, with db_lock already held. */
long long sim_now_ms_locked(sim *s);
wss_err sim_clock_advance(sim *s, long long delta_ms);
/* Appends to the event log; details is stolen. Needs db_lock. */
void sim_event(sim *s, const char *kind, json_t *details);
/* meta table (key/value), needs db_lock; returns malloc'd value or NULL. */
char *sim_meta_get(sim *s, const char *key);
int sim_meta_set(sim *s, const char *key, const char *value);
/* A transaction wrapper for handlers (with db_lock held). */
int sim_begin(sim *s);
int sim_commit(sim *s);
void sim_rollback(sim *s);

/* lwa.c */
/* Decodes an application/x-www-form-urlencoded body into a JSON object of
 * strings. Refuses NUL bytes (raw or %00), bad escapes, invalid UTF-8 and
 * repeated names, with the reason in why. */
json_t *sim_form_decode(const char *body, size_t len, char *why, size_t whylen);
void sim_lwa_handle(sim *s, const wss_http_request *req, wss_http_response *resp);
typedef struct sim_token_info {
    char kind[16]; /* "access" */
    char client_id[256];
    char skill_id[256];
    char customer_id[256]; /* "" for a client_credentials token */
    char scope[256];
    long long expires_ms;
    int revoked;
} sim_token_info;
/* Looks a bearer token up by its digest. Needs db_lock.
 * WSS_OK, WSS_ERR_NOT_FOUND (never issued or revoked), WSS_ERR_AUTH (expired). */
wss_err sim_lwa_lookup(sim *s, const char *token, sim_token_info *info);
/* Issues an authorization code for (skill, customer), for AcceptGrant. Needs db_lock. malloc'd. */
char *sim_lwa_issue_code(sim *s, const char *skill_id, const char *customer_id);
/* Revokes a customer's refresh tokens and codes for a skill (skill disabled);
 * access tokens keep working until they expire. Needs db_lock. */
void sim_lwa_revoke_customer(sim *s, const char *skill_id, const char *customer_id);

/* gateway.c */
void sim_gateway_handle(sim *s, const wss_http_request *req, wss_http_response *resp);
/* Replies with the gateway's System.Exception body. */
void sim_gateway_error(wss_http_response *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* faults.c */
enum { SIM_FAULT_NONE = 0, SIM_FAULT_DROP = 1, SIM_FAULT_BAD_SIGNATURE = 2, SIM_FAULT_INVALID_RESPONSE = 3 };
typedef struct sim_fault_hit {
    int status; /* 0: let the request through */
    int action; /* SIM_FAULT_DROP or SIM_FAULT_BAD_SIGNATURE (DSS routes), SIM_FAULT_INVALID_RESPONSE
                   (route "skill"); status is 0 then */
    long long latency_ms;
    int retry_after_s;
    long long rule_id;
} sim_fault_hit;
/* Decides whether this request on route/client is failed or delayed; counts the hit. Locks.
 * A route "dss.<operation>" also matches rules for "dss". */
sim_fault_hit sim_faults_check(sim *s, const char *route, const char *client);
/* Validates and stores one rule (JSON object); returns its id or -1 with why. Needs db_lock. */
long long sim_faults_add(sim *s, const json_t *rule, const char *origin, char *why, size_t whylen);
json_t *sim_faults_list(sim *s);            /* needs db_lock */
int sim_faults_clear(sim *s, long long id); /* id < 0 clears all; needs db_lock */
/* Sleeps hit->latency_ms. */
void sim_faults_delay(const sim_fault_hit *hit);

/* ratelimit.c (its own lock) */
struct sim_ratelimit *sim_ratelimit_new(void);
void sim_ratelimit_free(struct sim_ratelimit *rl);
/* 1 when a request of `client` is allowed now, 0 when over its rate. */
int sim_ratelimit_allow(struct sim_ratelimit *rl, const char *client, double per_s, int burst);

/* dispatch.c */
wss_err sim_dispatch_start(sim *s);
void sim_dispatch_stop(sim *s);
void sim_dispatch_wake(sim *s);
/* Queues an AcceptGrant for (customer, skill) and CDADs for the customer's
 * waiting associations with that skill. Needs db_lock. */
void sim_dispatch_on_skill_enabled(sim *s, const char *customer_id, const char *skill_id);
/* Queues the CDAD of one association. Needs db_lock. */
void sim_dispatch_queue_cdad(sim *s, long long association_id, const char *customer_id, const char *skill_id);
/* Marks waiting associations older than the retention as expired. Needs db_lock. */
void sim_dispatch_expire(sim *s);
/* Sends count directives named name ("Discover") to the skill for the
 * customer now, one after the other, judging and recording each like any
 * other directive (skill_requests). Called with db_lock held; releases it
 * while a directive is on the wire. Returns the summary {"sent", "ok",
 * "errors", "invalid_responses", "first_id", "last_id"} (ids of the
 * skill_requests records), or NULL with why and *status (404 or 409 or 500). */
json_t *sim_dispatch_now(sim *s, const char *skill_id, const char *customer_id, const char *name, long long count,
                         int *status, char *why, size_t whylen);

/* names.c */
/* "First Switch", "Second Switch", ...: the first name of this category not yet
 * used in the customer's home. Needs db_lock. malloc'd. */
char *sim_names_next(sim *s, const char *customer_id, const char *category);
/* The marketplace's locale: "US" -> "en-US". */
const char *sim_names_locale(const char *marketplace);

/* control.c */
/* Rows of a query as JSON objects keyed by column name; JSON text columns
 * listed in json_cols (may be NULL) are parsed back into JSON. Finalizes st. */
json_t *sim_rows(sqlite3_stmt *st, const char *const *json_cols);
void sim_control_handle(sim *s, const wss_http_request *req, wss_http_response *resp);
/* Creates or updates a skill link (enabled, with the maker's access token). Needs db_lock. */
wss_err sim_link_skill(sim *s, const char *customer_id, const char *skill_id, const char *access_token, char *why,
                       size_t whylen);

/* dss.c */
/* Starts the DSS listener on host:port (0 picks one) with its own certificate. */
wss_err sim_dss_start(sim *s, const char *host, int port, char *err, size_t errlen);
void sim_dss_stop(sim *s);

/* dss_key.c */
/* Loads the DSS key from the state directory, creating it (mode 0600) on first start. */
wss_err sim_dss_key_load(sim *s, char *err, size_t errlen);
void sim_dss_key_free(sim *s);
/* Signs resp->body into the x-amzn-dss-signature header; corrupt signs other bytes. */
void sim_dss_sign(sim *s, wss_http_response *resp, int corrupt);
/* The passphrase of a computed setup network: Base64(HMAC-SHA256(SHA-256(ECDH(dss, device)), nonce)).
 * device_key is the registered key text; out holds 45 bytes. */
wss_err sim_dss_passphrase(sim *s, const char *device_key, const uint8_t nonce[12], char out[45]);
/* The last 9 bytes of SHA-256 of a registered key's DER SPKI. */
wss_err sim_dss_ami(const char *device_key, uint8_t ami[9]);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void sim_hex(const uint8_t *bytes, size_t n, char *out);

/* dss_control.c: the control routes of the DSS world, with db_lock held.
 * Returns 1 when seg/nseg named one of its routes (and the answer is set). */
int sim_dss_control(sim *s, const wss_http_request *req, wss_http_response *resp, char **seg, int nseg, json_t *body);
/* POST /control/v1/devices/import: a control log in JSON lines. Needs db_lock. */
void sim_devices_import(sim *s, const wss_http_request *req, wss_http_response *resp);
/* Checks and stores one device of the control log; 0, or -1 with why. Needs db_lock. */
int sim_device_store(sim *s, const char *dsn, const char *public_key, const char *product_index, char *why,
                     size_t whylen);

/* sim.c */
/* Parses the request body as a JSON object; NULL with why on failure. */
json_t *sim_parse_body(const wss_http_request *req, char *why, size_t whylen);
/* Skill row lookups by client id or skill id (needs db_lock); fill cfg-like view. */
typedef struct sim_skill_row {
    char skill_id[256];
    char client_id[256];
    char secret_sha[65];
    char endpoint[1024];
    char endpoint_ca_file[1024];
    char stage[32];
    char marketplace[16];
    int enabled;
    double rate_per_s;
    int rate_burst;
} sim_skill_row;
wss_err sim_skill_by_client(sim *s, const char *client_id, sim_skill_row *out);
wss_err sim_skill_by_id(sim *s, const char *skill_id, sim_skill_row *out);

#endif
