/* sources.c - directive outcomes from the emulator's per-skill records.
 *
 * The emulator keeps every directive it sent to a skill and how it judged
 * the answer. Each record becomes one directive event at its emulator time;
 * the store's cursor for the skill ("sim:<skill>") remembers the last record
 * id, so a second import of the same records adds nothing. */
#include <stdio.h>
#include <string.h>

#include "wwa/inputs.h"
#include "wwa/internal.h"

void wwa_sim_source_name(const char *skill, char *out, size_t outlen) { snprintf(out, outlen, "sim:%s", skill); }

/* Whether skill is an identifier the engine takes (1..127 bytes, no control characters). */
static int skill_ok(const char *skill)
{
    size_t n = strlen(skill);
    if (n == 0 || n >= WSS_WWA_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)skill[i] < 0x20 || skill[i] == 0x7f)
            return 0;
    return 1;
}

wss_err wwa_sim_records_add(wwa_store *st, const char *skill, const json_t *records, wwa_source_counts *c, char *err,
                            size_t errlen)
{
    if (!skill_ok(skill)) {
        snprintf(err, errlen, "the skill id must be 1..127 printable bytes");
        return WSS_ERR_INVALID;
    }
    if (!json_is_array(records)) {
        snprintf(err, errlen, "the emulator's answer has no \"records\" array");
        return WSS_ERR_INVALID;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(records, i, r)
    {
        const json_t *id = json_object_get(r, "id"), *at = json_object_get(r, "at_ms");
        const char *outcome = json_string_value(json_object_get(r, "outcome"));
        if (!json_is_integer(id) || !json_is_integer(at) || !outcome) {
            snprintf(err, errlen, "record %zu lacks an integer id, an integer at_ms or an outcome", i);
            return WSS_ERR_INVALID;
        }
        long long rid = json_integer_value(id), at_ms = json_integer_value(at);
        int valid = strcmp(outcome, "ok") == 0 || strcmp(outcome, "error") == 0;
        if (!valid && strcmp(outcome, "invalid") != 0) {
            snprintf(err, errlen, "record %lld has the unknown outcome \"%.32s\"", rid, outcome);
            return WSS_ERR_INVALID;
        }
        if (!wwa_time_ok(at_ms)) {
            snprintf(err, errlen, "record %lld has a time outside 1970..9999", rid);
            return WSS_ERR_INVALID;
        }
        if (rid <= c->last_id)
            continue; /* imported before */
        wss_wwa_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = WSS_WWA_DIRECTIVE;
        ev.at_ms = at_ms;
        ev.valid = valid;
        snprintf(ev.skill, sizeof ev.skill, "%s", skill);
        wss_err rc = wwa_store_append(st, &ev, err, errlen);
        if (rc != WSS_OK)
            return rc;
        c->added++;
        c->invalid += !valid;
        c->last_id = rid;
    }
    return WSS_OK;
}
