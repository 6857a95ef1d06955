/* wwa_e2e.h - what the end-to-end tests of `wss wwa` share: running the real
 * binary ($WSS_BIN) and reading its JSON, and a world of `wss sim` and
 * `wss cloud` with the customer's skill enabled (AcceptGrant answered by the
 * cloud). */
#ifndef WSS_E2E_WWA_E2E_H
#define WSS_E2E_WWA_E2E_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"
#include "harness.h"

/* Runs $WSS_BIN with args (NULL-terminated): the harness's e2e_run. */
#define wwa_run e2e_run

/* "2027-06-30T12:00:00.250Z" of ms since 1970 (out holds 32 bytes). */
static inline void wwa_iso(long long ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[16], clock[16];
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    snprintf(out, 32, "%.10sT%.8s.%03dZ", date, clock, (int)(ms % 1000));
}

/* The inverse of wwa_iso() (also without the milliseconds); asserts. */
static inline long long wwa_parse_iso(const char *text)
{
    struct tm tm;
    int ms = 0;
    memset(&tm, 0, sizeof tm);
    assert_non_null(text);
    int n = sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec, &ms);
    assert_true(n >= 6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000 + ms;
}

/* Parses text as JSON (asserts), freeing text. */
static inline json_t *wwa_json(char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fprintf(stderr, "not JSON (%s): %s\n", jerr.text, text);
    free(text);
    assert_non_null(doc);
    return doc;
}

/* `wss wwa status --json --at TIME --state STATE`, asserting exit 0. */
static inline json_t *wwa_status_at(const char *dir, const char *state, long long at_ms)
{
    char at[32], *out = NULL;
    wwa_iso(at_ms, at);
    assert_int_equal(wwa_run(dir, &out, NULL, "wwa", "status", "--json", "--at", at, "--state", state, NULL), 0);
    return wwa_json(out);
}

/* The emulator's clock now. */
static inline long long wwa_sim_now(e2e_sim *s)
{
    json_t *c = e2e_control(s, "GET", "/clock", NULL, 200);
    long long now = e2e_jint(c, "now_ms", -1);
    json_decref(c);
    assert_true(now > 0);
    return now;
}

/* Sends n Discover directives to the skill now (POST /skills/{id}/directives);
 * asserts they were all sent; returns the answer. */
static inline json_t *wwa_send_discover(e2e_sim *s, long long n)
{
    char path[400];
    snprintf(path, sizeof path, "/skills/%s/directives", s->skill_id);
    json_t *r = e2e_control(
        s, "POST", path,
        json_pack("{s:s, s:s, s:I}", "customer_id", s->customer_id, "name", "Discover", "count", (json_int_t)n), 200);
    assert_int_equal(e2e_jint(r, "sent", -1), n);
    return r;
}

/* Starts both processes, enables the skill for the customer and waits for
 * the cloud's AcceptGrant.Response to be judged ok. */
static inline void wwa_world_start(e2e_cloud_world *cw)
{
    e2e_cloud_world_start(cw, NULL);
    e2e_enable_skill(&cw->w->sim, cw->w->sim.customer_id, cw->maker_token);
    json_t *r = e2e_wait_skill_requests(&cw->w->sim, 1, 10000);
    e2e_assert_jstr(r, "records.0.directive", "AcceptGrant");
    e2e_assert_jstr(r, "records.0.outcome", "ok");
    json_decref(r);
}

#endif
