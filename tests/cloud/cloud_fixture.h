/* cloud_fixture.h - what the cloud's tests share: Amazon's side played by
 * the emulator inside the test process, a fresh cloud store, and a cloud
 * struct built by hand around them, so a test can run one module (the
 * outbox, the skill endpoint...) against real HTTPS without the whole server.
 *
 * A fixture lives in one temporary folder ($TMPDIR or /tmp) holding the
 * emulator's state directory and the cloud's store; cloud_fx_free() removes
 * it. Functions assert on the way (cmocka) and print the answer they did not
 * expect, so that a test reads as its scenario. A json_t * returned is a new
 * reference the caller releases. */
#ifndef WSS_TESTS_CLOUD_FIXTURE_H
#define WSS_TESTS_CLOUD_FIXTURE_H

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cloud/internal.h"
#include "common/crypto.h"
#include "sim/client.h"
#include "wss/sim.h"

typedef struct cloud_fx {
    char root[1024];       /* the temporary folder */
    char sim_dir[1100];    /* the emulator's state directory */
    char store_path[1100]; /* the cloud's SQLite store */
    wss_sim *sim;
    sim_client client; /* the emulator's credentials.json and control token */
    char skill_id[256];
    char client_id[256];
    char client_secret[256];
    char customer_id[256];
    /* The cloud: cfg points at the emulator (lwa_token_url, gateway_url,
     * outbound_ca_file, the skill's LWA client), retry_delay_ms 50,
     * backoff_max_ms 1000, request_timeout_ms 5000; store, metrics and the
     * token cache are open; no HTTP server and no outbox until
     * cloud_fx_start_outbox(). Tests may change c.cfg before starting it. */
    cloud c;
    wss_crypto_key *device_key;   /* the key every cloud_fx_device registers */
    json_t *registered;           /* DSNs registered so far (an object used as a set) */
    struct cloud_fx_skill *skill; /* a stand-in skill endpoint, started by cloud_fx_link_customer */
} cloud_fx;

/* Starts the emulator (HTTPS on 127.0.0.1:0) with a configuration of high
 * rate limits and a short skill timeout, merged with the keys of sim_config
 * when not NULL ("faults", "token_lifetime_s"...), opens a store and builds
 * the cloud. Asserts. */
cloud_fx *cloud_fx_new(const json_t *sim_config);
/* Stops the outbox (if started) and the emulator, frees, removes the folder. NULL is ignored. */
void cloud_fx_free(cloud_fx *fx);

void cloud_fx_start_outbox(cloud_fx *fx);
void cloud_fx_stop_outbox(cloud_fx *fx);

/* ------------------------------------------------------------ the emulator */

/* Calls its control API (path relative to /control/v1); body is stolen (may
 * be NULL). Asserts the status; returns the JSON answer. */
json_t *cloud_fx_control(cloud_fx *fx, const char *method, const char *path, json_t *body, long expect_status);
/* Adds a fault rule (stolen); returns its id. */
long long cloud_fx_add_fault(cloud_fx *fx, json_t *rule);
/* The fault rule with this id as GET /faults lists it (with "hits"). */
json_t *cloud_fx_fault(cloud_fx *fx, long long id);
/* Moves the emulator's clock forward. */
void cloud_fx_advance_clock(cloud_fx *fx, double seconds);
/* Entries of the emulator's event log of this kind (NULL: all), oldest first. */
json_t *cloud_fx_events(cloud_fx *fx, const char *kind);
size_t cloud_fx_event_count(cloud_fx *fx, const char *kind);
/* The association the emulator made for device_id, or NULL. */
json_t *cloud_fx_association(cloud_fx *fx, const char *device_id);
/* GET /counters. */
json_t *cloud_fx_counters(cloud_fx *fx);

/* A device as the Device Setup Service knows it: registered with the
 * fixture's key, bought by a customer, given a session token, and the token
 * signed the way the device signs it. */
typedef struct cloud_fx_device {
    char dsn[65];
    char device_id[200]; /* the DSN joined with the session token's unique part */
    char session_token[160];
    char *signature;
} cloud_fx_device;

/* Registers dsn (unless registered already), records its purchase by
 * customer_id (NULL: not bought), issues a session token and signs it. */
void cloud_fx_device_setup(cloud_fx *fx, cloud_fx_device *d, const char *dsn, const char *customer_id);
void cloud_fx_device_free(cloud_fx_device *d);

/* Enables the skill for the emulator's customer with maker_token (the
 * account-linking token Alexa sends back to the skill), answers the
 * AcceptGrant at a stand-in skill endpoint, exchanges its code at LWA and
 * gives the customer's Alexa tokens (malloc'd). */
void cloud_fx_link_customer(cloud_fx *fx, const char *maker_token, char **access, char **refresh);

/* ------------------------------------------------------------ the cloud */

/* The SDAE body as the intake stores it: the seed's event without payload.scope (malloc'd). */
char *cloud_fx_sdae_body(const cloud_fx_device *d, const char *message_id);
/* Stores the device's report and its SDAE (store report_add) and wakes the
 * outbox if it runs; message_id receives the event's messageId. */
void cloud_fx_enqueue_sdae(cloud_fx *fx, const cloud_fx_device *d, char message_id[37]);
/* An Alexa.Discovery AddOrUpdateReport of one switch, without payload.scope (malloc'd). */
char *cloud_fx_discovery_body(const char *message_id, const char *endpoint_id, const char *friendly_name);

/* The outbox event with this messageId, whatever its state (with "state"), or NULL. */
json_t *cloud_fx_outbox_event(cloud_fx *fx, const char *message_id);
/* Polls until that event is in state; asserts; returns it. */
json_t *cloud_fx_wait_outbox(cloud_fx *fx, const char *message_id, const char *state, long timeout_ms);
/* How many outbox events are in state. */
size_t cloud_fx_outbox_count(cloud_fx *fx, const char *state);
/* Polls until at least n outbox events are in state; asserts. */
void cloud_fx_wait_outbox_count(cloud_fx *fx, const char *state, size_t n, long timeout_ms);

/* A value of the cloud's /metrics ("wss_cloud_token_refreshes_total",
 * "wss_cloud_events_dead_lettered_total{code=\"X\"}"); 0 when absent. */
long long cloud_fx_metric(cloud_fx *fx, const char *series);

/* ------------------------------------------------------------ JSON and time */

/* The value at a dotted path ("details.message_id", "faults.0.hits"). Borrowed. */
const json_t *cloud_fx_jget(const json_t *root, const char *path);
const char *cloud_fx_jstr(const json_t *root, const char *path);
long long cloud_fx_jint(const json_t *root, const char *path, long long dflt);

long long cloud_fx_mono_ms(void);
void cloud_fx_sleep_ms(long ms);

#endif
