/* harness.h - end-to-end tests of `wss sim` (and `wss cloud`) over loopback, with real processes.
 *
 * A test world is three things:
 *   - the emulator, `$WSS_BIN sim --state DIR --listen 127.0.0.1:0 --config FILE`,
 *     run as a child process (stdout and stderr go to DIR/sim.log) and found
 *     through DIR/credentials.json once that file names the child's pid;
 *   - a skill endpoint inside the test process (plain HTTP on 127.0.0.1:0)
 *     that records every directive it receives and answers in a chosen mode;
 *   - a configuration file pointing the emulator's one skill at that endpoint,
 *     with a short skill timeout so that slow answers cost little time.
 *
 * Functions that talk to the emulator assert on the way (cmocka), printing the
 * answer they did not expect, so a test reads as its scenario. A json_t *
 * returned is a new reference the caller releases, unless marked borrowed. */
#ifndef WSS_E2E_HARNESS_H
#define WSS_E2E_HARNESS_H

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "common/crypto.h"
#include "common/httpc.h"
#include "sim/client.h"

#define E2E_SCOPE_ASSOCIATION "alexa::device_association_report:write"
#define E2E_SCOPE_ASYNC_EVENT "alexa::async_event:write"

/* The identities every configuration written by e2e_config_new() uses. */
#define E2E_SKILL_ID "amzn1.ask.skill.0e2e0000-0000-4000-8000-000000000001"
#define E2E_CLIENT_ID "amzn1.application-oa2-client.E2ETESTCLIENT000000000000001"
#define E2E_CUSTOMER_ID "amzn1.account.E2ECUSTOMER0001"
#define E2E_SKILL_TIMEOUT_MS 500
/* How long the test skill sleeps in E2E_SKILL_SLOW mode: well past the timeout. */
#define E2E_SLOW_MS 1300
/* How long to watch for a directive that must not come: longer than the
 * emulator dispatcher's one-second tick. */
#define E2E_SETTLE_MS 1300

/* ------------------------------------------------------------ JSON access */

/* The value at a dotted path ("event.header.name", "records.0.outcome"):
 * numeric segments index arrays. NULL when absent. Borrowed. */
const json_t *e2e_jget(const json_t *root, const char *path);
/* The string at path, or NULL. */
const char *e2e_jstr(const json_t *root, const char *path);
/* The integer at path, or dflt when absent or not an integer. */
long long e2e_jint(const json_t *root, const char *path, long long dflt);

/* Prints label and v (compact JSON) to stderr. */
void e2e_print_json(const char *label, const json_t *v);

/* Asserts that the string at path exists and equals expected. */
#define e2e_assert_jstr(root, path, expected) e2e_assert_jstr_at((root), (path), (expected), __FILE__, __LINE__)
void e2e_assert_jstr_at(const json_t *root, const char *path, const char *expected, const char *file, int line);

/* ------------------------------------------------------------ the test skill */

typedef enum e2e_skill_mode {
    E2E_SKILL_GOOD = 0,          /* the right Alexa.Response (or AcceptGrant.Response) */
    E2E_SKILL_WRONG_CORRELATION, /* a right Alexa.Response with another correlationToken */
    E2E_SKILL_HTTP_500,          /* status 500, with an otherwise right body */
    E2E_SKILL_NOT_JSON,          /* status 200 with an HTML page */
    E2E_SKILL_SLOW,              /* the right answer, E2E_SLOW_MS late */
    E2E_SKILL_ERROR_RESPONSE,    /* a well-formed Alexa.ErrorResponse NO_SUCH_ENDPOINT
                                    (ACCEPT_GRANT_FAILED for AcceptGrant) */
    E2E_SKILL_MALFORMED,         /* a right Alexa.Response without header.messageId */
} e2e_skill_mode;

typedef struct e2e_skill e2e_skill;

/* Starts the endpoint (asserts). Both modes start as E2E_SKILL_GOOD. */
e2e_skill *e2e_skill_start(void);
/* Stops it (waiting for answers in progress) and frees it. NULL is ignored. */
void e2e_skill_stop(e2e_skill *k);
/* "http://127.0.0.1:PORT/alexa/skill" */
const char *e2e_skill_url(const e2e_skill *k);
/* How it answers AssociateCustomerDevice (and any other directive but AcceptGrant). */
void e2e_skill_set_mode(e2e_skill *k, e2e_skill_mode mode);
/* How it answers AcceptGrant. */
void e2e_skill_set_grant_mode(e2e_skill *k, e2e_skill_mode mode);
/* Directives received so far whose directive.header.name is name (NULL: all). */
size_t e2e_skill_count(e2e_skill *k, const char *name);
/* The index-th directive named name, as received (the whole JSON document), or NULL. */
json_t *e2e_skill_get(e2e_skill *k, const char *name, size_t index);
/* Waits up to timeout_ms for the index-th directive named name; asserts it came. */
json_t *e2e_skill_wait(e2e_skill *k, const char *name, size_t index, long timeout_ms);

/* ------------------------------------------------------------ the emulator */

typedef struct e2e_sim {
    char root[1024];        /* temporary folder holding everything below */
    char dir[1100];         /* the state directory */
    char config_path[1100]; /* "" when started without --config */
    char log_path[1200];    /* the child's stdout and stderr */
    pid_t pid;              /* 0 when not running */
    int starts;
    /* From credentials.json, refreshed at every start. */
    sim_client client; /* base URL, CA file, control token, the whole document */
    char base_url[300];
    char ca_file[4096];
    char control_token[256];
    char skill_id[256];
    char client_id[256];
    char client_secret[256];
    char customer_id[256];
} e2e_sim;

/* Creates the temporary folder ($TMPDIR or /tmp) and names the paths (asserts). */
void e2e_sim_init(e2e_sim *s);
/* Writes the configuration file the next start uses; NULL means no --config. */
void e2e_sim_write_config(e2e_sim *s, const json_t *config);
/* Starts the emulator on a fresh port and waits (10 s at most) until
 * credentials.json carries the child's pid; asserts. */
void e2e_sim_start(e2e_sim *s);
/* Starts the emulator expecting it to refuse (a bad configuration): waits
 * for it to exit and returns its exit code; asserts that it did exit. */
int e2e_sim_start_expect_exit(e2e_sim *s);
/* Whether the emulator's log contains text. */
int e2e_sim_log_contains(const e2e_sim *s, const char *text);
/* Stops it with SIGTERM and waits for it; returns its exit status as
 * waitpid() gave it, or -1 when it had to be killed. */
int e2e_sim_stop_status(e2e_sim *s);
/* The same, asserting a clean exit (status 0). */
void e2e_sim_stop(e2e_sim *s);
/* Kills it with SIGKILL, as a crash would, and reaps it. */
void e2e_sim_kill(e2e_sim *s);
/* Stops it if running (without asserting), removes the folder. Returns 0,
 * or -1 when the emulator did not exit cleanly. */
int e2e_sim_cleanup(e2e_sim *s);
/* Prints the last lines of the emulator's log to stderr. */
void e2e_sim_print_log(const e2e_sim *s);

/* ------------------------------------------------------------ configuration */

/* The default test configuration: skill_timeout_ms E2E_SKILL_TIMEOUT_MS, one
 * live, enabled skill (E2E_SKILL_ID / E2E_CLIENT_ID, a fresh random secret)
 * whose endpoint is the test skill, and one customer (E2E_CUSTOMER_ID) with
 * no skill enabled yet. */
json_t *e2e_config_new(const e2e_skill *skill);
/* The configuration's skill object, to set "rate_limit", "stage"... Borrowed. */
json_t *e2e_config_skill(json_t *config);

/* ------------------------------------------------------------ a whole world */

typedef struct e2e_world {
    e2e_skill *skill;
    e2e_sim sim;
    json_t *config; /* written at e2e_world_start; tests may change it before */
} e2e_world;

/* cmocka fixtures: setup starts the test skill and prepares (does not start) the emulator. */
int e2e_world_setup(void **state);
int e2e_world_teardown(void **state);
/* Writes w->config and starts the emulator. */
void e2e_world_start(e2e_world *w);

/* ------------------------------------------------------------ HTTP */

typedef struct e2e_resp {
    long status;
    char *body;
    size_t len;
    json_t *json; /* the body parsed as JSON, or NULL */
    char retry_after[32];
    char content_type[128];
} e2e_resp;

/* Sends a request to the emulator at path ("/v3/events"); asserts that an
 * answer came. content_type NULL with a body means application/json. */
void e2e_http(e2e_sim *s, const char *method, const char *path, const char *bearer, const char *content_type,
              const char *body, size_t len, e2e_resp *out);
void e2e_resp_free(e2e_resp *r);

/* Calls the control API (path relative to /control/v1) with the control
 * token; body is stolen (may be NULL). Asserts the status; returns the JSON answer. */
json_t *e2e_control(e2e_sim *s, const char *method, const char *path, json_t *body, long expect_status);

/* POSTs an event (compact JSON of event) to /v3/events with Content-Type application/json. */
void e2e_post_event(e2e_sim *s, const char *bearer, const json_t *event, e2e_resp *out);

/* Asserts an error answer of the event gateway: this status, and the seed's
 * System.Exception body (header.namespace "System", header.name "Exception",
 * payload.code non-empty and equal to code when code is not NULL,
 * payload.description non-empty). */
#define e2e_assert_exception(resp, status, code) e2e_assert_exception_at((resp), (status), (code), __FILE__, __LINE__)
void e2e_assert_exception_at(const e2e_resp *r, long status, const char *code, const char *file, int line);

/* Asserts 202 (printing the body otherwise). */
#define e2e_assert_status(resp, status) e2e_assert_status_at((resp), (status), __FILE__, __LINE__)
void e2e_assert_status_at(const e2e_resp *r, long status, const char *file, int line);

/* ------------------------------------------------------------ Login with Amazon */

/* POSTs params (stolen) as a JSON body to /auth/o2/token. */
void e2e_lwa_json(e2e_sim *s, json_t *params, e2e_resp *out);
/* POSTs an application/x-www-form-urlencoded body to /auth/o2/token. */
void e2e_lwa_form(e2e_sim *s, const char *form, e2e_resp *out);
/* A client_credentials token for the skill's client with the association
 * scope (asserts 200); malloc'd. */
char *e2e_client_token(e2e_sim *s);
/* Exchanges an AcceptGrant code (authorization_code grant); asserts 200 and
 * gives malloc'd tokens (refresh may be NULL when not wanted). */
void e2e_exchange_code(e2e_sim *s, const char *code, char **access, char **refresh);

/* ------------------------------------------------------------ devices and events */

typedef struct e2e_device {
    char dsn[65];
    char device_id[200]; /* DSN joined with the session token's unique part */
    char session_token[160];
    char *signature; /* base64 DER ECDSA of session_token by key */
    wss_crypto_key *key;
} e2e_device;

/* Registers a device with a fresh P-256 key in the control log, records its
 * purchase by customer_id (NULL: not purchased), gets a session token and
 * signs it (asserts). */
void e2e_device_setup(e2e_sim *s, e2e_device *d, const char *dsn, const char *customer_id);
void e2e_device_free(e2e_device *d);

/* The seed's AddOrUpdateDeviceAssociationReport with these values; the token
 * goes in payload.scope.token (send it as the bearer too). */
json_t *e2e_sdae(const char *token, const char *message_id, const char *session_token, const char *signature,
                 const char *device_id, const char *category);
/* The same for a set-up device, category SWITCH, a fresh messageId. */
json_t *e2e_device_sdae(const e2e_device *d, const char *token);
/* An Alexa.Discovery AddOrUpdateReport of one SWITCH endpoint. */
json_t *e2e_discovery_report(const char *token, const char *endpoint_id, const char *friendly_name);

/* A fresh UUID for a messageId (out holds 37 bytes). */
void e2e_message_id(char out[37]);

/* ------------------------------------------------------------ control API read-outs */

/* Enables the skill for the customer, the maker's token being maker_token. */
void e2e_enable_skill(e2e_sim *s, const char *customer_id, const char *maker_token);
/* Enables the skill, waits for the AcceptGrant at the test skill, exchanges
 * its code; gives the customer's malloc'd access and refresh tokens. */
void e2e_link_customer(e2e_world *w, const char *maker_token, char **access, char **refresh);
/* Moves the emulator's clock forward. */
void e2e_advance_clock(e2e_sim *s, double seconds);
/* Adds a fault rule (stolen); returns its id. */
long long e2e_add_fault(e2e_sim *s, json_t *rule);
/* The association of device_id from GET /associations, or NULL. */
json_t *e2e_association(e2e_sim *s, const char *device_id);
/* Every association. */
json_t *e2e_associations(e2e_sim *s);
/* Polls until the association of device_id is in state; asserts; returns it. */
json_t *e2e_wait_association(e2e_sim *s, const char *device_id, const char *state, long timeout_ms);
/* GET /skills/{id}/requests. */
json_t *e2e_skill_requests(e2e_sim *s);
/* Polls until the skill has at least n judged requests; returns the read-out. */
json_t *e2e_wait_skill_requests(e2e_sim *s, long long n, long timeout_ms);

/* Polls GET path of the control API every 50 ms until pred says yes or
 * timeout_ms passes (then fails, printing the last answer and what). */
typedef int (*e2e_pred)(const json_t *answer, void *ctx);
json_t *e2e_poll_control(e2e_sim *s, const char *path, e2e_pred pred, void *ctx, long timeout_ms, const char *what);

/* Milliseconds of a monotonic clock; sleeping. */
long long e2e_mono_ms(void);
void e2e_sleep_ms(long ms);

/* ------------------------------------------------------------ the maker's cloud */

/* The second process of a cloud world: `$WSS_BIN cloud --config FILE --state DIR
 * --listen 127.0.0.1:0`, its stdout and stderr going to a log file, found through
 * the "wss cloud: listening on URL" line it prints. Its configuration points
 * Login with Amazon and the event gateway at the emulator (trusting the
 * emulator's CA) and its device CA at a CA made here; the LWA client secret
 * reaches it through the environment variable E2E_CLOUD_SECRET_ENV, set in the
 * child's environment only. Devices talk to it over mutual TLS with client
 * certificates from that CA; the test trusts the cloud's own CA (DIR/ca.pem). */

#define E2E_CLOUD_SECRET_ENV "WSS_E2E_CLOUD_LWA_SECRET"

typedef struct e2e_cloud {
    e2e_sim *sim;              /* the emulator it talks to (borrowed) */
    char dir[1200];            /* its state directory, inside the emulator's temporary folder */
    char config_path[1200];    /* written at every start */
    char log_path[1200];       /* the child's stdout and stderr, every start appended */
    char cli_err_path[1200];   /* stderr of the last `wss cloud <verb>` */
    char ca_file[1300];        /* DIR/ca.pem, the CA of its server certificate */
    char device_ca_file[1200]; /* the maker's device CA (device_ca_file) */
    char base_url[300];        /* "https://127.0.0.1:PORT" */
    pid_t pid;                 /* 0 when not running */
    int starts;
    json_t *config;         /* written at e2e_cloud_start; tests may change it before */
    wss_crypto_key *ca_key; /* the device CA */
    char *ca_pem;
} e2e_cloud;

/* Names the paths, makes the device CA and the configuration from the running
 * emulator's credentials: LWA client, token URL, gateway URL, outbound CA,
 * retry_delay_ms 100 (asserts). */
void e2e_cloud_init(e2e_cloud *c, e2e_sim *s);
/* Starts the cloud on a fresh port and waits (10 s at most) for its
 * "listening on" line; asserts. */
void e2e_cloud_start(e2e_cloud *c);
/* Sends SIGTERM and waits up to timeout_ms; returns the waitpid() status, or
 * -1 when it had to be killed. */
int e2e_cloud_stop_status(e2e_cloud *c, long timeout_ms);
/* SIGTERM, asserting a clean exit within 10 s. */
void e2e_cloud_stop(e2e_cloud *c);
/* SIGKILL, as a crash would, and reap. */
void e2e_cloud_kill(e2e_cloud *c);
/* Stops it if running (without asserting) and frees what init made; the files
 * go with the emulator's folder. Returns 0, or -1 when it did not exit cleanly. */
int e2e_cloud_cleanup(e2e_cloud *c);
void e2e_cloud_print_log(const e2e_cloud *c);
/* Whether the cloud's log contains text. */
int e2e_cloud_log_contains(const e2e_cloud *c, const char *text);
/* Points the emulator's skill at the cloud: PATCH /skills/{id} with endpoint
 * <base_url>/alexa/skill and endpoint_ca_file the cloud's ca.pem. */
void e2e_cloud_point_skill(e2e_cloud *c);

/* Runs `$WSS_BIN cloud ARGS... --state DIR` (args NULL-terminated); returns its
 * exit code and gives its stdout (malloc'd) in *out when out is not NULL. */
int e2e_cloud_cli(const e2e_cloud *c, char **out, const char *arg, ...) __attribute__((sentinel));
/* The same, asserting exit 0 and a JSON document on stdout. */
json_t *e2e_cloud_cli_json(const e2e_cloud *c, const char *arg, ...) __attribute__((sentinel));
/* `user add ID` then `user token ID`: the user's account-linking access token (malloc'd). */
char *e2e_cloud_user_token(const e2e_cloud *c, const char *user_id);
/* `outbox list` with filter NULL (pending), "--dead" or "--delivered": the JSON array. */
json_t *e2e_cloud_outbox(const e2e_cloud *c, const char *filter);
/* Polls `outbox list filter` every 100 ms until it holds at least n events; asserts. */
json_t *e2e_cloud_wait_outbox(const e2e_cloud *c, const char *filter, size_t n, long timeout_ms);

/* A request to the cloud over HTTPS, trusting its CA, presenting cert_pem /
 * key_pem when given. Safe from any thread (no asserts): the HTTP status, or
 * -1 with the reason in err. resp is to be freed when the return is not -1. */
long e2e_cloud_request(const e2e_cloud *c, const char *method, const char *path, const char *cert_pem,
                       const char *key_pem, const char *body, wss_httpc_response *resp, char *err, size_t errlen);
/* GET path (no client certificate); asserts an answer came. */
void e2e_cloud_get(e2e_cloud *c, const char *path, e2e_resp *out);
/* The value of a sample in Prometheus text ("name" or "name{labels}" exactly
 * as written), or -1 when there is no such sample. */
double e2e_metric(const char *text, const char *series);

/* A device as the maker builds it: its own P-256 key, registered with the
 * emulator under serial (the Device Setup Service's control log), and a
 * client certificate from the cloud's device CA whose subject serialNumber
 * is serial. */
typedef struct e2e_cloud_device {
    char serial[65];
    wss_crypto_key *key;
    char *cert_pem;
    char *key_pem;
} e2e_cloud_device;

/* Registers the device, records its purchase by customer_id (NULL: none),
 * issues its certificate (asserts). */
void e2e_cloud_device_setup(e2e_cloud *c, e2e_cloud_device *d, const char *serial, const char *customer_id);
void e2e_cloud_device_free(e2e_cloud_device *d);

/* One provisioning session of a device: the session token the Device Setup
 * Service gave it, its signature, and the device.id the cloud makes of them. */
typedef struct e2e_session {
    char token[160];
    char *signature;
    char device_id[300]; /* "<serial>:<token>", characters outside the Alexa id set turned into '-' */
} e2e_session;

/* Issues a session token for d and signs it. Safe from any thread (no
 * asserts): 0, or -1 with the reason in err. */
int e2e_session_issue(sim_client *sc, const e2e_cloud_device *d, e2e_session *out, char *err, size_t errlen);
/* The same, asserting. */
void e2e_session_new(e2e_sim *s, const e2e_cloud_device *d, e2e_session *out);
void e2e_session_free(e2e_session *x);
/* The report body the device POSTs (compact JSON, malloc'd): SWITCH. */
char *e2e_report_body(const e2e_session *x);
/* POSTs the device's report of session x over mutual TLS; asserts an answer came. */
void e2e_cloud_report(e2e_cloud *c, const e2e_cloud_device *d, const e2e_session *x, e2e_resp *out);
/* The same, asserting 202 with the expected device_id. */
void e2e_cloud_report_ok(e2e_cloud *c, const e2e_cloud_device *d, const e2e_session *x);

/* A world of both processes: the emulator (a customer, one live skill) and
 * the cloud, the skill's endpoint pointed at the cloud, and the maker's user
 * E2E_MAKER_USER with its account-linking token. */
#define E2E_MAKER_USER "e2e-maker-user"
typedef struct e2e_cloud_world {
    e2e_world *w;
    e2e_cloud cloud;
    char *maker_token;
} e2e_cloud_world;

int e2e_cloud_world_setup(void **state);
int e2e_cloud_world_teardown(void **state);
/* Starts the emulator with w->config, then the cloud with its configuration
 * updated by cloud_overrides (may be NULL; borrowed), points the skill at it
 * and makes the maker's user. */
void e2e_cloud_world_start(e2e_cloud_world *cw, const json_t *cloud_overrides);
/* The counters of the emulator (GET /counters). */
json_t *e2e_counters(e2e_sim *s);

/* ------------------------------------------------------------ the Device Setup Service */

/* A device as the DSS sees it: a maker's device CA (its certificate in a
 * file under the emulator's temporary folder, for dss.device_ca_files),
 * devices with their own P-256 key and a client certificate from that CA
 * whose subject serialNumber is the DSN, and requests made with libcurl
 * directly: SNI and host name dp-sps-na.amazon.com resolved to the DSS
 * listener, the emulator's CA trusted, the device certificate presented. */

#define E2E_DSS_HOST "dp-sps-na.amazon.com"

typedef struct e2e_dss_ca {
    wss_crypto_key *key;
    char *cert_pem;
    char path[1200]; /* <root>/<name>.pem */
} e2e_dss_ca;

/* Makes a CA named name and writes its certificate to <root>/<name>.pem (asserts). */
void e2e_dss_ca_init(e2e_sim *s, e2e_dss_ca *ca, const char *name);
void e2e_dss_ca_free(e2e_dss_ca *ca);
/* Sets config's "dss": {"device_ca_files": [ca->path]}. */
void e2e_config_dss_ca(json_t *config, const e2e_dss_ca *ca);

typedef struct e2e_dss_device {
    char dsn[65];
    char product_index[65];
    wss_crypto_key *key;
    char *key_pem;
    char *cert_pem;
    char *public_b64; /* base64 DER SPKI */
} e2e_dss_device;

/* A fresh key and a certificate from ca (serialNumber dsn); registers nothing (asserts). */
void e2e_dss_device_make(e2e_dss_device *d, const e2e_dss_ca *ca, const char *dsn, const char *product_index);
void e2e_dss_device_free(e2e_dss_device *d);
/* The device's line of a control log, newline included (malloc'd). */
char *e2e_dss_control_line(const e2e_dss_device *d);
/* POSTs text to /control/v1/devices/import; asserts the status; returns the answer. */
json_t *e2e_dss_import_text(e2e_sim *s, const char *text, long expect_status);
/* Registers one device through the import (asserts 200). */
void e2e_dss_import(e2e_sim *s, const e2e_dss_device *d);

typedef struct e2e_dss_opts {
    const char *cert_pem;    /* client certificate (PEM); NULL sends none */
    const char *key_pem;     /* its key */
    const char *provisioner; /* X-Openwss-Provisioner; NULL sends none (the home network) */
} e2e_dss_opts;

typedef struct e2e_dss_resp {
    long status; /* 0 when no answer came (err says why) */
    char *body;
    size_t len;
    json_t *json;        /* the body parsed, or NULL */
    char signature[256]; /* the x-amzn-dss-signature header, "" when absent */
    int nsignatures;     /* how many of them came */
    char err[256];
} e2e_dss_resp;

/* POSTs body to /api/v1/<op> of the emulator's DSS. Never asserts on the answer. */
void e2e_dss_post(e2e_sim *s, const e2e_dss_opts *o, const char *op, const char *body, size_t len, e2e_dss_resp *out);
void e2e_dss_resp_free(e2e_dss_resp *r);
/* Checks r's signature with the DSS public key of credentials.json: WSS_OK,
 * WSS_ERR_VERIFY (does not verify), WSS_ERR_INVALID (missing or malformed). */
wss_err e2e_dss_verify(e2e_sim *s, const e2e_dss_resp *r);
/* A fresh 31-character Base64 nonce, as the device library makes them. */
void e2e_dss_nonce(char out[32]);

/* Runs `$WSS_BIN ARG...` (NULL-terminated) with no standard input; its
 * standard output and error go to files in dir and come back malloc'd (when
 * out/err are not NULL). Returns the exit status, -1 when it did not exit. */
int e2e_run(const char *dir, char **out, char **err, const char *arg, ...) __attribute__((sentinel));

#endif
