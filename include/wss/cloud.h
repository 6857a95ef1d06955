/* cloud.h - the maker's cloud (`wss cloud`) as a library.
 *
 * Device association reports in, Skill-Device Association Events out through
 * a durable outbox, and the Smart Home skill endpoint (CDAD, AcceptGrant,
 * Discover) with proactive discovery. State lives in SQLite under a state
 * directory; a restart loses nothing. */
#ifndef WSS_CLOUD_H
#define WSS_CLOUD_H

#include <stddef.h>

#include "wss/err.h"

typedef struct wss_cloud wss_cloud;

typedef struct wss_cloud_options {
    const char *config_path; /* JSON configuration (docs/cloud.md); required */
    const char *state_dir;   /* overrides the configuration's state_dir when set */
    const char *listen;      /* overrides the configuration's listen when set */
} wss_cloud_options;

/* Starts serving and delivering in background threads. */
wss_err wss_cloud_start(const wss_cloud_options *opts, wss_cloud **out, char *err, size_t errlen);

/* "https://127.0.0.1:PORT" without a trailing slash. */
const char *wss_cloud_base_url(const wss_cloud *c);

/* The maker's own account linking, for a running cloud: adds user_id if it
 * is new and mints an access token of the maker's service for it (what the
 * maker's app hands to Alexa's Skill Activation API). *token is malloc'd. */
wss_err wss_cloud_user_token(wss_cloud *c, const char *user_id, long long expires_in_s, char **token);

/* Stops accepting, finishes deliveries in flight, closes the store, frees. */
void wss_cloud_stop(wss_cloud *c);

#endif
