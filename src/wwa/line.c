/* line.c - one line of an import file to an event, and back.
 *
 * JSON lines: one object per line, {"type": ..., "at": "ISO 8601 UTC", ...}
 * with exactly the keys of its type (docs/wwa.md lists them); unknown keys,
 * duplicate keys, wrong types and out-of-range values are refused.
 * CSV: the header WWA_CSV_HEADER, then rows of probes and directive outcomes
 * only, four fields of printable ASCII, no quoting (skill ids never hold
 * commas or quotes). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "wwa/internal.h"

static const char *const type_names[WSS_WWA_EVENT__COUNT] = {
    "probe", "directive", "incident", "incident_fixed", "audit", "reinstatement_request", "attestation",
};

static const char *const access_names[] = {"none", "potential", "limited", "significant"};
static const char *const data_names[] = {"none", "minor", "sensitive"};

/* The index of name in names[n], or -1. */
static int lookup(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static int printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* Copies the string member key into out (size bytes). required: absence is an error. */
static int get_string(json_t *o, const char *key, char *out, size_t size, int required, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);
    out[0] = '\0';
    if (!v) {
        if (required)
            snprintf(why, whylen, "\"%s\" is missing", key);
        return required ? -1 : 0;
    }
    if (!json_is_string(v)) {
        snprintf(why, whylen, "\"%s\" must be a string", key);
        return -1;
    }
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len >= size || (required && len == 0) || strlen(s) != len || !printable(s, len)) {
        snprintf(why, whylen, "\"%s\" must be 1 to %zu printable characters", key, size - 1);
        return -1;
    }
    memcpy(out, s, len + 1);
    return 0;
}

static int get_enum(json_t *o, const char *key, const char *const *names, int n, int *out, char *why, size_t whylen)
{
    char buf[64];
    if (get_string(o, key, buf, sizeof buf, 1, why, whylen))
        return -1;
    int i = lookup(buf, names, n);
    if (i < 0) {
        size_t used = (size_t)snprintf(why, whylen, "\"%s\" must be one of", key);
        for (int k = 0; k < n && used < whylen; k++)
            used += (size_t)snprintf(why + used, whylen - used, "%s %s", k ? "," : "", names[k]);
        return -1;
    }
    *out = i;
    return 0;
}

static int get_bool(json_t *o, const char *key, int *out, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        snprintf(why, whylen, "\"%s\" must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

static int get_count(json_t *o, const char *key, long long *out, char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000000000LL) {
        snprintf(why, whylen, "\"%s\" must be a whole number from 0 to 10^15", key);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* Refuses keys outside allowed (NULL-terminated; "type" and "at" always allowed). */
static int only_keys(json_t *o, const char *const *allowed, char *why, size_t whylen)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        (void)v;
        int ok = !strcmp(key, "type") || !strcmp(key, "at");
        for (size_t i = 0; !ok && allowed[i]; i++)
            ok = !strcmp(key, allowed[i]);
        if (!ok) {
            snprintf(why, whylen, "unknown key \"%.64s\"", key);
            return -1;
        }
    }
    return 0;
}

static int parse_time_field(const char *text, long long *ms, char *why, size_t whylen)
{
    if (wss_wwa_parse_time(text, ms) != WSS_OK) {
        snprintf(why, whylen, "\"at\" must be a UTC time like 2027-01-31T23:59:59Z or ...59.999Z (years 1970-9999)");
        return -1;
    }
    return 0;
}

static int parse_object(json_t *o, wss_wwa_event *ev, char *why, size_t whylen)
{
    char type[32], at[40];
    int k;
    if (get_string(o, "type", type, sizeof type, 1, why, whylen) || get_string(o, "at", at, sizeof at, 1, why, whylen))
        return -1;
    k = lookup(type, type_names, WSS_WWA_EVENT__COUNT);
    if (k < 0) {
        snprintf(why, whylen, "unknown type \"%s\"", type);
        return -1;
    }
    ev->kind = (wss_wwa_event_kind)k;
    if (parse_time_field(at, &ev->at_ms, why, whylen))
        return -1;
    switch (ev->kind) {
    case WSS_WWA_PROBE: {
        static const char *const keys[] = {"state", NULL};
        static const char *const states[] = {"down", "up"};
        return only_keys(o, keys, why, whylen) || get_enum(o, "state", states, 2, &ev->up, why, whylen) ? -1 : 0;
    }
    case WSS_WWA_DIRECTIVE: {
        static const char *const keys[] = {"skill", "outcome", NULL};
        static const char *const outcomes[] = {"invalid", "valid"};
        return only_keys(o, keys, why, whylen) || get_string(o, "skill", ev->skill, sizeof ev->skill, 1, why, whylen) ||
                       get_enum(o, "outcome", outcomes, 2, &ev->valid, why, whylen)
                   ? -1
                   : 0;
    }
    case WSS_WWA_INCIDENT: {
        static const char *const keys[] = {
            "id",          "access",       "data", "affected", "duration_ms", "remote_control",
            "safety_risk", "surveillance", "note", NULL};
        int access, data;
        wss_wwa_incident_facts *f = &ev->facts;
        if (only_keys(o, keys, why, whylen) || get_string(o, "id", ev->id, sizeof ev->id, 1, why, whylen) ||
            get_enum(o, "access", access_names, 4, &access, why, whylen) ||
            get_enum(o, "data", data_names, 3, &data, why, whylen) ||
            get_count(o, "affected", &f->affected, why, whylen) ||
            get_count(o, "duration_ms", &f->duration_ms, why, whylen) ||
            get_bool(o, "remote_control", &f->remote_control, why, whylen) ||
            get_bool(o, "safety_risk", &f->safety_risk, why, whylen) ||
            get_bool(o, "surveillance", &f->surveillance, why, whylen) ||
            get_string(o, "note", ev->note, sizeof ev->note, 0, why, whylen))
            return -1;
        f->access = (wss_wwa_access)access;
        f->data = (wss_wwa_data)data;
        return 0;
    }
    case WSS_WWA_INCIDENT_FIXED: {
        static const char *const keys[] = {"id", NULL};
        return only_keys(o, keys, why, whylen) || get_string(o, "id", ev->id, sizeof ev->id, 1, why, whylen) ? -1 : 0;
    }
    case WSS_WWA_AUDIT: {
        static const char *const keys[] = {"lab", NULL};
        return only_keys(o, keys, why, whylen) || get_string(o, "lab", ev->who, sizeof ev->who, 1, why, whylen) ? -1
                                                                                                                : 0;
    }
    case WSS_WWA_REINSTATE_REQUEST: {
        static const char *const keys[] = {"by", NULL};
        return only_keys(o, keys, why, whylen) || get_string(o, "by", ev->who, sizeof ev->who, 0, why, whylen) ? -1 : 0;
    }
    case WSS_WWA_ATTESTATION: {
        static const char *const keys[] = {"asin", "marketplace", "check", "result", "by", "note", NULL};
        static const char *const checks[] = {"asin_available", "brand", "model", "image", "hub", "skill_available"};
        static const char *const results[] = {"pass", "fail", "n/a"};
        int check, result;
        if (only_keys(o, keys, why, whylen) || get_string(o, "asin", ev->asin, sizeof ev->asin, 1, why, whylen) ||
            get_string(o, "marketplace", ev->market, sizeof ev->market, 1, why, whylen) ||
            get_enum(o, "check", checks, WSS_WWA_CHECK__COUNT, &check, why, whylen) ||
            get_enum(o, "result", results, 3, &result, why, whylen) ||
            get_string(o, "by", ev->who, sizeof ev->who, 1, why, whylen) ||
            get_string(o, "note", ev->note, sizeof ev->note, 0, why, whylen))
            return -1;
        ev->check = (wss_wwa_check)check;
        ev->result = (wss_wwa_result)result;
        if (ev->result == WSS_WWA_NOT_APPLICABLE && ev->check != WSS_WWA_CHECK_HUB &&
            ev->check != WSS_WWA_CHECK_SKILL_AVAILABLE) {
            snprintf(why, whylen, "\"n/a\" is only for the hub and skill_available checks");
            return -1;
        }
        return 0;
    }
    default: return -1;
    }
}

/* Splits a CSV row into exactly 4 fields (copied, NUL-terminated). */
static int csv_fields(const char *line, size_t len, char fields[4][WSS_WWA_ID_MAX], char *why, size_t whylen)
{
    size_t f = 0, used = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == ',') {
            if (f == 4) {
                snprintf(why, whylen, "a CSV row has exactly 4 fields: " WWA_CSV_HEADER);
                return -1;
            }
            fields[f++][used] = '\0';
            used = 0;
            continue;
        }
        if (f == 4 || used + 1 >= WSS_WWA_ID_MAX || line[i] == '"' || (unsigned char)line[i] < 0x20 ||
            (unsigned char)line[i] >= 0x7f) {
            snprintf(why, whylen,
                     f == 4 ? "a CSV row has exactly 4 fields: " WWA_CSV_HEADER
                            : "field %zu is too long or holds a quote, a control or a non-ASCII character",
                     f + 1);
            return -1;
        }
        fields[f][used++] = line[i];
    }
    if (f != 4) {
        snprintf(why, whylen, "a CSV row has exactly 4 fields: " WWA_CSV_HEADER);
        return -1;
    }
    return 0;
}

static int parse_csv(const char *line, size_t len, wss_wwa_event *ev, char *why, size_t whylen)
{
    char fields[4][WSS_WWA_ID_MAX];
    if (csv_fields(line, len, fields, why, whylen))
        return -1;
    if (parse_time_field(fields[1], &ev->at_ms, why, whylen))
        return -1;
    if (strcmp(fields[0], "probe") == 0) {
        ev->kind = WSS_WWA_PROBE;
        if (fields[2][0]) {
            snprintf(why, whylen, "a probe row leaves the skill field empty");
            return -1;
        }
        if (strcmp(fields[3], "up") && strcmp(fields[3], "down")) {
            snprintf(why, whylen, "a probe's value is up or down");
            return -1;
        }
        ev->up = strcmp(fields[3], "up") == 0;
        return 0;
    }
    if (strcmp(fields[0], "directive") == 0) {
        ev->kind = WSS_WWA_DIRECTIVE;
        if (!fields[2][0]) {
            snprintf(why, whylen, "a directive row names its skill");
            return -1;
        }
        if (strcmp(fields[3], "valid") && strcmp(fields[3], "invalid")) {
            snprintf(why, whylen, "a directive's value is valid or invalid");
            return -1;
        }
        memcpy(ev->skill, fields[2], strlen(fields[2]) + 1);
        ev->valid = strcmp(fields[3], "valid") == 0;
        return 0;
    }
    snprintf(why, whylen, "CSV rows are probe or directive; other events go in JSON lines");
    return -1;
}

wss_err wwa_parse_line(wwa_format fmt, const char *line, size_t len, wss_wwa_event *ev, char *why, size_t whylen)
{
    memset(ev, 0, sizeof *ev);
    if (fmt == WWA_FORMAT_CSV)
        return parse_csv(line, len, ev, why, whylen) ? WSS_ERR_INVALID : WSS_OK;
    json_t *o = wss_json_parse_object(line, len, why, whylen);
    if (!o)
        return WSS_ERR_INVALID;
    int bad = parse_object(o, ev, why, whylen);
    json_decref(o);
    return bad ? WSS_ERR_INVALID : WSS_OK;
}

char *wwa_event_to_json(const wss_wwa_event *ev)
{
    static const char *const checks[] = {"asin_available", "brand", "model", "image", "hub", "skill_available"};
    static const char *const results[] = {"pass", "fail", "n/a"};
    if ((unsigned)ev->kind >= WSS_WWA_EVENT__COUNT)
        return NULL;
    char at[32];
    wss_wwa_format_time(ev->at_ms, at);
    json_t *o = json_pack("{s:s, s:s}", "type", type_names[ev->kind], "at", at);
    if (!o)
        return NULL;
    int bad = 0;
    switch (ev->kind) {
    case WSS_WWA_PROBE: bad = json_object_set_new(o, "state", json_string(ev->up ? "up" : "down")); break;
    case WSS_WWA_DIRECTIVE:
        bad = json_object_set_new(o, "skill", json_string(ev->skill)) ||
              json_object_set_new(o, "outcome", json_string(ev->valid ? "valid" : "invalid"));
        break;
    case WSS_WWA_INCIDENT: {
        const wss_wwa_incident_facts *f = &ev->facts;
        if ((unsigned)f->access > 3 || (unsigned)f->data > 2)
            bad = 1;
        else
            bad = json_object_set_new(o, "id", json_string(ev->id)) ||
                  json_object_set_new(o, "access", json_string(access_names[f->access])) ||
                  json_object_set_new(o, "data", json_string(data_names[f->data])) ||
                  json_object_set_new(o, "affected", json_integer(f->affected)) ||
                  json_object_set_new(o, "duration_ms", json_integer(f->duration_ms)) ||
                  json_object_set_new(o, "remote_control", json_boolean(f->remote_control)) ||
                  json_object_set_new(o, "safety_risk", json_boolean(f->safety_risk)) ||
                  json_object_set_new(o, "surveillance", json_boolean(f->surveillance)) ||
                  (ev->note[0] && json_object_set_new(o, "note", json_string(ev->note)));
        break;
    }
    case WSS_WWA_INCIDENT_FIXED: bad = json_object_set_new(o, "id", json_string(ev->id)); break;
    case WSS_WWA_AUDIT: bad = json_object_set_new(o, "lab", json_string(ev->who)); break;
    case WSS_WWA_REINSTATE_REQUEST: bad = ev->who[0] && json_object_set_new(o, "by", json_string(ev->who)); break;
    case WSS_WWA_ATTESTATION:
        if ((unsigned)ev->check >= WSS_WWA_CHECK__COUNT || (unsigned)ev->result > 2)
            bad = 1;
        else
            bad = json_object_set_new(o, "asin", json_string(ev->asin)) ||
                  json_object_set_new(o, "marketplace", json_string(ev->market)) ||
                  json_object_set_new(o, "check", json_string(checks[ev->check])) ||
                  json_object_set_new(o, "result", json_string(results[ev->result])) ||
                  json_object_set_new(o, "by", json_string(ev->who)) ||
                  (ev->note[0] && json_object_set_new(o, "note", json_string(ev->note)));
        break;
    default: bad = 1;
    }
    char *text = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}
