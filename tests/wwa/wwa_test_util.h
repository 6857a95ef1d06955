/* wwa_test_util.h - helpers shared by the Works with Alexa engine's tests. */
#ifndef WWA_TEST_UTIL_H
#define WWA_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wss/wwa.h"

/* An ISO 8601 UTC time in milliseconds; aborts on a typo in a test. */
static inline long long T(const char *iso)
{
    long long ms;
    if (wss_wwa_parse_time(iso, &ms) != WSS_OK) {
        fprintf(stderr, "bad time in test: %s\n", iso);
        abort();
    }
    return ms;
}

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

static inline wss_wwa *engine_new(void)
{
    wss_wwa *e = NULL;
    if (wss_wwa_new(NULL, &e) != WSS_OK)
        abort();
    return e;
}

/* A stretch of downtime [from, to): a down sample at from, an up sample at to. */
static inline void downtime(wss_wwa *e, long long from, long long to)
{
    if (wss_wwa_probe(e, from, 0) != WSS_OK || wss_wwa_probe(e, to, 1) != WSS_OK)
        abort();
}

static inline void attest(wss_wwa *e, long long at, const char *asin, wss_wwa_check check, wss_wwa_result result,
                          const char *who)
{
    wss_wwa_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WSS_WWA_ATTESTATION;
    ev.at_ms = at;
    snprintf(ev.asin, sizeof ev.asin, "%s", asin);
    snprintf(ev.market, sizeof ev.market, "US");
    snprintf(ev.who, sizeof ev.who, "%s", who);
    ev.check = check;
    ev.result = result;
    if (wss_wwa_add(e, &ev) != WSS_OK)
        abort();
}

/* Every check of asin attested as passing at `at`. */
static inline void attest_all(wss_wwa *e, long long at, const char *asin)
{
    for (int c = 0; c < WSS_WWA_CHECK__COUNT; c++)
        attest(e, at, asin, (wss_wwa_check)c, WSS_WWA_PASS, "qa@maker.example");
}

static inline wss_wwa_incident_facts facts(wss_wwa_access access, wss_wwa_data data, long long affected,
                                           long long duration_ms)
{
    wss_wwa_incident_facts f;
    memset(&f, 0, sizeof f);
    f.access = access;
    f.data = data;
    f.affected = affected;
    f.duration_ms = duration_ms;
    return f;
}

static inline wss_err incident(wss_wwa *e, const char *id, long long at, wss_wwa_incident_facts f)
{
    wss_wwa_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WSS_WWA_INCIDENT;
    ev.at_ms = at;
    snprintf(ev.id, sizeof ev.id, "%s", id);
    ev.facts = f;
    return wss_wwa_add(e, &ev);
}

static inline void simple_event(wss_wwa *e, wss_wwa_event_kind kind, long long at, const char *id)
{
    wss_wwa_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.at_ms = at;
    snprintf(kind == WSS_WWA_INCIDENT_FIXED ? ev.id : ev.who, sizeof ev.id, "%s", id ? id : "");
    if (wss_wwa_add(e, &ev) != WSS_OK)
        abort();
}

/* The reason of this kind in s, or NULL. */
static inline const wss_wwa_reason *reason_of(const wss_wwa_state *s, wss_wwa_reason_kind kind)
{
    for (size_t i = 0; i < s->nreasons; i++)
        if (s->reasons[i].kind == kind)
            return &s->reasons[i];
    return NULL;
}

/* Whether some warning contains text. */
static inline int warned(const wss_wwa_state *s, const char *text)
{
    for (size_t i = 0; i < s->nwarnings; i++)
        if (strstr(s->warnings[i].text, text))
            return 1;
    return 0;
}

#endif
