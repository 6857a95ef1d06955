/* store.h - the maker cloud's storage interface.
 *
 * Routes and workers talk to this interface only, never to SQL, so that a
 * PostgreSQL store can be added next to store_sqlite.c without touching them.
 * Every function is safe to call from any thread. Strings handed in are
 * copied; strings handed out are malloc'd and owned by the caller (or by the
 * struct's *_free function). Secrets (tokens) are stored as SHA-256 digests
 * except the user's Alexa tokens, which the cloud must send back to Amazon;
 * the store wipes its own copies of those before it frees them. */
#ifndef WSS_CLOUD_STORE_H
#define WSS_CLOUD_STORE_H

#include <jansson.h>
#include <stddef.h>

#include "wss/err.h"

typedef struct cloud_store cloud_store;

/* A device's association report, as the device sent it after joining Wi-Fi. */
typedef struct cloud_report {
    const char *device_id;         /* unique per provisioning session (global id joined with the session token) */
    const char *global_device_id;  /* the device's own id (certificate subject / serial) */
    const char *session_token;     /* FFS.SessionToken */
    const char *signature;         /* base64 ECDSA over the session token */
    const char *naming_categories; /* JSON array text, e.g. ["SWITCH"] */
    const char *gateway_url; /* where the SDAE goes (SmartHome.AlexaEventGatewayEndpoint or the regional default) */
} cloud_report;

/* One event waiting in the outbox. */
typedef struct cloud_outbox_item {
    long long id;
    char kind[32];       /* "sdae" or "discovery" */
    char message_id[64]; /* stable across retries */
    char *gateway_url;
    char *body;        /* the event JSON without the token (the sender adds it); "" when device_id says what to build */
    char *user_id;     /* for "discovery": whose Alexa token to use; NULL for "sdae" */
    char *device_id;   /* for a "discovery" stored without a body: the bound device to report; else NULL */
    int attempts;      /* tries made so far, whatever their outcome */
    int server_errors; /* those of them the gateway answered with a 5xx */
} cloud_outbox_item;

/* An event to put in the outbox along with another write (see bind). */
typedef struct cloud_outbox_event {
    const char *kind;        /* "sdae" or "discovery" */
    const char *message_id;  /* shorter than 64 bytes, unique in the outbox */
    const char *gateway_url; /* non-empty, shorter than 4096 bytes */
    const char *body;        /* the event JSON without the token; NULL when built at send time from device_id */
    const char *user_id;     /* may be NULL */
    const char *device_id;   /* with a NULL body: the device whose binding the event reports (see binding_get) */
} cloud_outbox_event;

/* Frees the strings of an item filled by outbox_claim (not the item itself). */
void cloud_outbox_item_free(cloud_outbox_item *item);

/* A device's binding to a user, with what its discovery report needs. */
typedef struct cloud_binding {
    char user_id[128];
    char *friendly_name;     /* NULL when the CDAD gave none */
    char *naming_categories; /* the JSON array text of the device's report */
} cloud_binding;

/* Frees the strings of a binding filled by binding_get (not the struct). */
void cloud_binding_free(cloud_binding *b);

/* The maker's user behind an account-linking access token. */
typedef struct cloud_user {
    char user_id[128];
    long long token_expires_ms;
} cloud_user;

/* A user's Alexa tokens from AcceptGrant (clear text: they are sent to Amazon). */
typedef struct cloud_grant {
    char *access_token;
    char *refresh_token;
    long long expires_ms;
} cloud_grant;

/* Wipes and frees the strings of a grant filled by grant_get (not the struct
 * itself); they are NULL afterwards. NULL is ignored. */
void cloud_grant_free(cloud_grant *g);

/* The operations a store implements. */
typedef struct cloud_store_ops {
    void (*close)(cloud_store *st);

    /* Device intake: the report and its SDAE outbox event (kind "sdae", due at
     * now_ms) in one transaction. A report whose device_id is already known,
     * or a message_id already in the outbox, is WSS_ERR_EXISTS (nothing
     * written). naming_categories must be a JSON array and message_id shorter
     * than 64 bytes, else WSS_ERR_INVALID. */
    wss_err (*report_add)(cloud_store *st, const cloud_report *r, const char *message_id, const char *sdae_body,
                          long long now_ms);
    /* A stored report as {device_id, global_device_id, naming_categories (an
     * array), gateway_url, created_ms} (never the session token or the
     * signature); WSS_ERR_NOT_FOUND when the device never reported. */
    wss_err (*report_get)(cloud_store *st, const char *device_id, json_t **out);

    /* Outbox. claim leases up to max due events (pending, next_attempt_ms <=
     * now, no lease running), oldest due first, until now + lease_ms, and
     * fills items[0..*n) with copies (free each with cloud_outbox_item_free).
     * A leased event is not claimed again until its lease runs out (the
     * process died) or delivered, retry_at or dead is called for it. add
     * refuses a message_id already in the outbox with WSS_ERR_EXISTS.
     * delivered, retry_at and dead record the event's tries so far (attempts,
     * and server_errors of them answered 5xx, which a delivery leaves as they
     * were) and give WSS_ERR_NOT_FOUND for an unknown id (retry_at also for an
     * event that is no longer pending); each ends the lease. retry_at makes
     * the event due at next_ms; updated_ms records state changes only, so
     * retry_at leaves it. dead stores http_status <= 0 as none (no HTTP
     * answer). */
    wss_err (*outbox_add)(cloud_store *st, const char *kind, const char *message_id, const char *gateway_url,
                          const char *body, const char *user_id, long long now_ms);
    wss_err (*outbox_claim)(cloud_store *st, long long now_ms, long long lease_ms, int max, cloud_outbox_item *items,
                            int *n);
    wss_err (*outbox_delivered)(cloud_store *st, long long id, int attempts, long long now_ms);
    wss_err (*outbox_retry_at)(cloud_store *st, long long id, long long next_ms, int attempts, int server_errors,
                               const char *last_error);
    wss_err (*outbox_dead)(cloud_store *st, long long id, int attempts, int server_errors, int http_status,
                           const char *code, const char *description, long long now_ms);
    /* state: "pending", "dead" or "delivered" (else WSS_ERR_INVALID); *out a
     * JSON array of events by id, at most limit (no limit when limit <= 0),
     * each {id, kind, message_id, gateway_url, state, attempts,
     * server_errors, next_attempt_ms, last_error, http_status, code,
     * description, created_ms, updated_ms} (null where unset; never the
     * body). */
    wss_err (*outbox_list)(cloud_store *st, const char *state, int limit, json_t **out);
    /* Makes a dead event pending again, due now, attempts and server_errors
     * reset (the last error, status and code stay for the record). WSS_ERR_NOT_FOUND unless
     * the event exists and is dead. */
    wss_err (*outbox_requeue)(cloud_store *st, long long id, long long now_ms);

    /* Users and their account-linking tokens (stored by digest: token_sha is
     * the lower-case hex SHA-256 of the token, see wss_sha256_hex; anything
     * else is WSS_ERR_INVALID). user_add: WSS_ERR_EXISTS for a known user_id,
     * WSS_ERR_INVALID for one of 128 bytes or more. user_token_add:
     * WSS_ERR_EXISTS for a known digest, WSS_ERR_NOT_FOUND for an unknown user. */
    wss_err (*user_add)(cloud_store *st, const char *user_id, const char *name, long long now_ms);
    wss_err (*user_token_add)(cloud_store *st, const char *token_sha, const char *user_id, long long expires_ms);
    /* WSS_ERR_NOT_FOUND for an unknown token; expiry is for the caller to judge. */
    wss_err (*user_by_token)(cloud_store *st, const char *token_sha, cloud_user *out);

    /* Bindings of devices to users (from CDAD). *created is 1 when this call
     * made the binding, 0 when it existed (same user; the first friendly name
     * stays). When on_create is not NULL and the binding is made, that event
     * goes into the outbox (pending, due at now_ms) in the same transaction:
     * both are kept or neither is. WSS_ERR_NOT_FOUND when the device never
     * reported or the user is unknown; WSS_ERR_EXISTS when bound to another
     * user, or when on_create's message_id is already in the outbox (nothing
     * written); WSS_ERR_INVALID for a malformed on_create (see
     * cloud_outbox_event). created may be NULL. Returns once the binding and
     * its event are committed; concurrent calls share commits. */
    wss_err (*bind)(cloud_store *st, const char *device_id, const char *user_id, const char *friendly_name,
                    const cloud_outbox_event *on_create, long long now_ms, int *created);
    /* A device's binding and its report's naming categories (free with
     * cloud_binding_free); WSS_ERR_NOT_FOUND when the device is not bound. */
    wss_err (*binding_get)(cloud_store *st, const char *device_id, cloud_binding *out);
    /* The user's devices, a JSON array of {device_id, friendly_name (or null),
     * naming_categories (an array)} in binding order; empty for an unknown user. */
    wss_err (*user_devices)(cloud_store *st, const char *user_id, json_t **out);

    /* The user's Alexa grant tokens. put replaces what was there (refresh_token
     * may be NULL); get fills *out (free with cloud_grant_free) or gives
     * WSS_ERR_NOT_FOUND. */
    wss_err (*grant_put)(cloud_store *st, const char *user_id, const char *access_token, const char *refresh_token,
                         long long expires_ms);
    wss_err (*grant_get)(cloud_store *st, const char *user_id, cloud_grant *out);
} cloud_store_ops;

struct cloud_store {
    const cloud_store_ops *ops;
};

/* Opens (creating and migrating) the SQLite store at path and starts its
 * bind committer thread; ops->close finishes the binds already queued, stops
 * the thread and frees the store. No call may be made on it after close. */
wss_err cloud_store_open_sqlite(const char *path, cloud_store **out, char *err, size_t errlen);

#endif
