/* probe.c - the prober: is the product up right now?
 *
 * One probe asks the cloud's health URL (GET, 2xx is up) and, when given, the
 * skill endpoint: it POSTs an Alexa.Discovery Discover directive whose token
 * names no account, the most harmless directive there is, and expects a
 * well-formed answer (an Alexa.ErrorResponse, as the token is refused). A
 * skill that answers HTML, a 5xx, or nothing at all within the timeout is down
 * for Alexa whatever its health URL says. The caller stores the sample. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/httpc.h"
#include "wwa/inputs.h"

static int str_is(const json_t *obj, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v && strcmp(v, want) == 0;
}

int wwa_probe_answer_ok(const char *body, size_t len, char *why, size_t whylen)
{
    json_t *root = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const json_t *event = json_object_get(root, "event");
    const json_t *hdr = json_object_get(event, "header");
    const json_t *payload = json_object_get(event, "payload");
    const char *id = json_string_value(json_object_get(hdr, "messageId"));
    int ok = 0;
    if (!root)
        snprintf(why, whylen, "the skill's answer is not JSON");
    else if (!json_is_object(hdr) || !str_is(hdr, "payloadVersion", "3") || !id || !*id)
        snprintf(why, whylen, "the skill's answer has no event.header with payloadVersion \"3\" and a messageId");
    else if (str_is(hdr, "namespace", "Alexa") && str_is(hdr, "name", "ErrorResponse"))
        ok = json_string_length(json_object_get(payload, "type")) > 0 &&
             json_is_string(json_object_get(payload, "message"));
    else if (str_is(hdr, "namespace", "Alexa.Discovery") && str_is(hdr, "name", "Discover.Response"))
        ok = json_is_array(json_object_get(payload, "endpoints"));
    else
        snprintf(why, whylen, "the skill answered neither an Alexa.ErrorResponse nor a Discover.Response");
    if (root && !ok && json_is_object(hdr) &&
        (str_is(hdr, "name", "ErrorResponse") || str_is(hdr, "name", "Discover.Response")))
        snprintf(why, whylen, "the skill's %s lacks its payload fields",
                 json_string_value(json_object_get(hdr, "name")));
    if (ok)
        snprintf(why, whylen, "ok");
    json_decref(root);
    return ok;
}

/* The probe's directive (compact JSON, malloc'd). */
static char *probe_directive(void)
{
    char id[37];
    if (wss_uuid4(id) != WSS_OK)
        return NULL;
    json_t *doc = json_pack("{s:{s:{s:s, s:s, s:s, s:s}, s:{s:{s:s, s:s}}}}", "directive", "header", "namespace",
                            "Alexa.Discovery", "name", "Discover", "payloadVersion", "3", "messageId", id, "payload",
                            "scope", "type", "BearerToken", "token", WWA_PROBE_TOKEN);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

int wwa_probe_once(const wwa_probe_target *t, char *why, size_t whylen)
{
    long timeout = t->timeout_ms > 0 ? t->timeout_ms : 10000;
    wss_httpc_request req = {.method = "GET", .url = t->health_url, .ca_file = t->ca_file, .timeout_ms = timeout};
    wss_httpc_response resp;
    char err[256];
    wss_err rc = wss_httpc_perform(&req, &resp, err, sizeof err);
    if (rc != WSS_OK) {
        snprintf(why, whylen, "health: no answer (%s)", err);
        return 0;
    }
    long status = resp.status;
    wss_httpc_response_free(&resp);
    if (status < 200 || status > 299) {
        snprintf(why, whylen, "health: HTTP %ld", status);
        return 0;
    }
    if (!t->skill_url) {
        snprintf(why, whylen, "ok");
        return 1;
    }
    char *body = probe_directive();
    if (!body) {
        snprintf(why, whylen, "cannot build the probe directive");
        return 0;
    }
    wss_httpc_request sreq = {.method = "POST",
                              .url = t->skill_url,
                              .body = body,
                              .body_len = strlen(body),
                              .ca_file = t->ca_file,
                              .timeout_ms = timeout};
    rc = wss_httpc_perform(&sreq, &resp, err, sizeof err);
    free(body);
    if (rc != WSS_OK) {
        snprintf(why, whylen, "skill: no answer (%s)", err);
        return 0;
    }
    int up = 0;
    char seen[200];
    if (resp.status != 200)
        snprintf(why, whylen, "skill: HTTP %ld", resp.status);
    else if (!(up = wwa_probe_answer_ok(resp.body, resp.body_len, seen, sizeof seen)))
        snprintf(why, whylen, "skill: %s", seen);
    else
        snprintf(why, whylen, "ok");
    wss_httpc_response_free(&resp);
    return up;
}

wss_err wwa_probe_record(wwa_store *st, long long at_ms, int up, char *err, size_t errlen)
{
    wss_wwa_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WSS_WWA_PROBE;
    ev.at_ms = at_ms;
    ev.up = up;
    wss_err rc = wwa_store_begin(st, err, errlen);
    if (rc != WSS_OK)
        return rc;
    rc = wwa_store_append(st, &ev, err, errlen);
    if (rc == WSS_OK)
        rc = wwa_store_commit(st, err, errlen);
    if (rc != WSS_OK)
        wwa_store_rollback(st);
    return rc;
}
