/* sim.h - the Amazon-side emulator (`wss sim`) as a library.
 *
 * One call starts the whole emulator in background threads: Login with
 * Amazon (/auth/o2/token), the Alexa event gateway (/v3/events), directive
 * dispatch to skill endpoints, the control API (/control/v1/...) and, on a
 * listener of its own, the Device Setup Service (/api/v1/..., docs/dss.md). State
 * lives in SQLite under a state directory, so stopping and starting again with
 * the same directory continues where it stopped. */
#ifndef WSS_SIM_H
#define WSS_SIM_H

#include <stddef.h>

#include "wss/err.h"

typedef struct wss_sim wss_sim;

typedef struct wss_sim_options {
    const char *state_dir;   /* required; created if missing */
    const char *listen;      /* "HOST:PORT"; port 0 picks a free one; NULL means "127.0.0.1:8443" */
    const char *config_path; /* JSON configuration (docs/sim.md); NULL for the defaults */
    int plain_http;          /* serve plain HTTP instead of HTTPS with the local CA */
    const char *dss_listen;  /* the Device Setup Service's "HOST:PORT" (always HTTPS with client
                              * certificates); NULL means the host of listen on a free port */
} wss_sim_options;

/* Starts the emulator. On failure err holds a one-line reason. When it
 * returns WSS_OK the server is accepting connections and
 * <state_dir>/credentials.json describes it. */
wss_err wss_sim_start(const wss_sim_options *opts, wss_sim **out, char *err, size_t errlen);

/* "https://127.0.0.1:PORT" (or http://), without a trailing slash. */
const char *wss_sim_base_url(const wss_sim *sim);

/* The provisioner link of an emulator running in this process: what
 * POST /control/v1/provisioners/{id}/probe answers (docs/dss.md section 7),
 * without the HTTP. Returns 0 and fills the computed network's passphrase
 * (at least 45 bytes) and the device's DSN when the provisioner brings the
 * network up, -1 otherwise. */
int wss_sim_provisioner_probe(wss_sim *sim, const char *provisioner_id, const char *ssid, char *passphrase,
                              size_t passphrase_len, char *dsn, size_t dsn_len);

/* Stops accepting, finishes directives in flight, closes the store, frees. */
void wss_sim_stop(wss_sim *sim);

#endif
