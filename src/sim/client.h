/* client.h - talking to a running emulator from outside it.
 *
 * What the `wss sim <verb>` commands, the built-in scenario and the
 * end-to-end tests share: read a state directory's credentials.json, call the
 * control API, fetch Login with Amazon tokens, and build the events a maker's
 * cloud sends. Nothing here reaches into the emulator's store: it speaks
 * HTTP(S) like any other client. */
#ifndef WSS_SIM_CLIENT_H
#define WSS_SIM_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "common/httpc.h"
#include "wss/err.h"

typedef struct sim_client {
    char base_url[300]; /* "https://127.0.0.1:PORT" */
    char ca_file[4096]; /* CA to trust; "" for a plain-HTTP emulator */
    char control_token[256];
    json_t *credentials; /* the whole credentials.json document */
} sim_client;

/* Reads <state_dir>/credentials.json. When expect_pid > 0 the document must
 * have been written by that process (a freshly started emulator), else
 * WSS_ERR_NOT_FOUND (so a caller can poll until it is). */
wss_err sim_client_load(sim_client *c, const char *state_dir, long expect_pid, char *err, size_t errlen);

void sim_client_free(sim_client *c);

/* The first skill's or customer's field from credentials.json ("" if absent). */
const char *sim_client_skill(const sim_client *c, const char *field);
const char *sim_client_customer(const sim_client *c, const char *field);

/* Calls the control API: path is relative to /control/v1 ("/customers").
 * body may be NULL. Returns the HTTP status, or -1 when no answer came (err
 * says why); *out (when out is not NULL) receives the parsed JSON answer or
 * NULL. */
int sim_client_control(sim_client *c, const char *method, const char *path, const json_t *body, json_t **out, char *err,
                       size_t errlen);

/* POSTs body to a path of the emulator ("/v3/events", "/auth/o2/token") with
 * an optional bearer token. Returns the HTTP status or -1; resp must be freed
 * with wss_httpc_response_free() whenever the return is not -1. */
int sim_client_post(sim_client *c, const char *path, const char *bearer, const char *content_type, const char *body,
                    size_t len, wss_httpc_response *resp, char *err, size_t errlen);

/* A client_credentials access token from the emulator's LWA (malloc'd), or
 * NULL with the reason (including LWA's error body) in err. */
char *sim_client_lwa_token(sim_client *c, const char *client_id, const char *client_secret, const char *scope,
                           char *err, size_t errlen);

/* The seed's AddOrUpdateDeviceAssociationReport with these values, the token
 * in both places the seed asks for it. */
json_t *sim_client_sdae(const char *token, const char *message_id, const char *session_token, const char *signature,
                        const char *device_id, const char *naming_category);

#endif
