/* fuzz_wwa_engine.c - the compliance engine fed arbitrary event streams.
 * Each 8-byte record is one event (kind, time offset, a few values) around
 * the end of 2027; the stream is then queried at several instants. The
 * engine must neither crash nor leak, and adding the same events in reverse
 * order must give the same badge state. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wss/wwa.h"

#define BASE_MS 1830297600000LL /* 2028-01-01T00:00:00Z */

static void decode(const uint8_t *r, wss_wwa_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = (wss_wwa_event_kind)(r[0] % WSS_WWA_EVENT__COUNT);
    /* Minutes to months either side of the new year. */
    int32_t off = (int32_t)((uint32_t)r[1] << 24 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 8 | r[4]);
    long long scale = r[5] & 0x80 ? 1000 : 1;
    ev->at_ms = BASE_MS + (long long)off * scale;
    ev->up = r[5] & 1;
    ev->valid = (r[5] >> 1) & 1;
    snprintf(ev->skill, sizeof ev->skill, "skill-%u", r[6] % 3);
    snprintf(ev->id, sizeof ev->id, "INC-%u", r[6] % 5);
    ev->facts.access = (wss_wwa_access)(r[7] % 4);
    ev->facts.data = (wss_wwa_data)((r[7] >> 2) % 3);
    ev->facts.affected = (r[7] & 0x10) ? 20000 : 5;
    ev->facts.duration_ms = (r[7] & 0x20) ? 7200000 : 0;
    ev->facts.remote_control = (r[7] >> 6) & 1;
    snprintf(ev->who, sizeof ev->who, "who-%u", r[6] % 2);
    snprintf(ev->asin, sizeof ev->asin, "B0%u", r[6] % 2);
    snprintf(ev->market, sizeof ev->market, "US");
    ev->check = (wss_wwa_check)(r[7] % WSS_WWA_CHECK__COUNT);
    ev->result = (wss_wwa_result)(r[5] >> 2 & 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = size / 8;
    if (n == 0 || n > 512)
        return 0;
    wss_wwa *fwd = NULL, *rev = NULL;
    if (wss_wwa_new(NULL, &fwd) != WSS_OK || wss_wwa_new(NULL, &rev) != WSS_OK) {
        wss_wwa_free(fwd);
        return 0;
    }
    wss_wwa_event ev;
    for (size_t i = 0; i < n; i++) {
        decode(data + 8 * i, &ev);
        wss_err a = wss_wwa_add(fwd, &ev);
        (void)a;
    }
    for (size_t i = n; i-- > 0;) {
        decode(data + 8 * i, &ev);
        wss_err b = wss_wwa_add(rev, &ev);
        (void)b;
    }
    for (int q = 0; q < 4; q++) {
        long long at = BASE_MS + (long long)(q - 2) * 40 * 86400000LL + (long long)data[q % size] * 3600000LL;
        wss_wwa_state s1, s2;
        wss_err r1 = wss_wwa_state_at(fwd, at, &s1), r2 = wss_wwa_state_at(rev, at, &s2);
        if (r1 != r2)
            abort();
        if (r1 == WSS_OK) {
            /* Duplicate incident ids keep the first one added, so compare what ids cannot change. */
            if (s1.availability.downtime_ms != s2.availability.downtime_ms ||
                s1.availability.outages != s2.availability.outages || s1.nskills != s2.nskills ||
                s1.checklist_gaps != s2.checklist_gaps)
                abort();
            wss_wwa_state_free(&s1);
            wss_wwa_state_free(&s2);
        }
    }
    wss_wwa_free(fwd);
    wss_wwa_free(rev);
    return 0;
}
