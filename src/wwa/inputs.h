/* inputs.h - where the events of `wss wwa` come from, besides files:
 *
 *   probe.c    the prober: GET the cloud's health URL (and POST a harmless
 *              directive to the skill endpoint) and record an up or down sample
 *   sources.c  directive outcomes from the emulator's per-skill records
 *
 * Both write through the store (store.h); neither talks to the emulator's or
 * the cloud's code, only to their HTTP answers. */
#ifndef WSS_WWA_INPUTS_H
#define WSS_WWA_INPUTS_H

#include <jansson.h>
#include <stddef.h>

#include "wwa/store.h"

/* ---- probe.c ---- */

typedef struct wwa_probe_target {
    const char *health_url; /* GET; any 2xx answer is up */
    const char *skill_url;  /* NULL, or the skill endpoint: POST Alexa.Discovery Discover with an invalid token */
    const char *ca_file;    /* PEM bundle to trust for https; NULL: the system's */
    long timeout_ms;        /* per request; 0 means 10 s */
} wwa_probe_target;

/* The token the probe's Discover carries: it names no account, so a skill
 * answers an error and changes nothing. */
#define WWA_PROBE_TOKEN "wss-wwa-probe.not-a-real-token"

/* One probe: 1 when the health URL answered 2xx and (when skill_url is set)
 * the skill answered HTTP 200 with a well-formed Alexa.ErrorResponse or
 * Discover.Response; else 0. why says what was seen ("ok" when up). */
int wwa_probe_once(const wwa_probe_target *t, char *why, size_t whylen);

/* Whether body is a well-formed answer to the probe's Discover: an Alexa
 * ErrorResponse (payloadVersion "3", messageId, payload.type and
 * payload.message strings) or an Alexa.Discovery Discover.Response with a
 * payload.endpoints array. Pure; why says what is wrong. */
int wwa_probe_answer_ok(const char *body, size_t len, char *why, size_t whylen);

/* Stores one sample at at_ms in its own transaction. */
wss_err wwa_probe_record(wwa_store *st, long long at_ms, int up, char *err, size_t errlen);

/* ---- sources.c ---- */

/* What an import added. */
typedef struct wwa_source_counts {
    size_t added;      /* directive events stored */
    size_t invalid;    /* of which INVALID_SKILL_RESPONSE_EXCEPTION */
    long long last_id; /* the last record id seen (the cursor) */
} wwa_source_counts;

/* The cursor name of a skill's records in the store: "sim:<skill>". */
void wwa_sim_source_name(const char *skill, char *out, size_t outlen);

/* Adds one page of the emulator's records of skill (the "records" array of
 * GET /control/v1/skills/{id}/requests: objects with integer "id" and
 * "at_ms", "outcome" "ok", "error" or "invalid") to st, inside the caller's
 * transaction. Records at or below c->last_id are skipped (already
 * imported); c->last_id advances to the highest id added. "ok" and "error"
 * (a well-formed ErrorResponse) are valid answers, "invalid" is an
 * INVALID_SKILL_RESPONSE_EXCEPTION. A record without those fields, with an
 * unknown outcome or a time outside 1970..9999 is WSS_ERR_INVALID with the
 * reason in err, and nothing of the page should be kept (roll back). */
wss_err wwa_sim_records_add(wwa_store *st, const char *skill, const json_t *records, wwa_source_counts *c, char *err,
                            size_t errlen);

#endif
