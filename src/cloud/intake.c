/* intake.c - POST /v1/devices/association-report: a device, just joined to
 * the home Wi-Fi, reports its provisioning session.
 *
 * The device authenticates with mutual TLS: its certificate chain must verify
 * against the maker's device CA (device_ca_file). Its global id is the
 * certificate's serialNumber attribute (else its common name). The report is
 * checked (the signature must verify with the certificate's key, so nothing
 * forged is forwarded to Amazon), then written with its SDAE to the outbox in
 * one transaction; 202 comes only after that commit.
 *
 * Body: {"device": {"sessionToken": "...", "signature": "<base64 DER ECDSA over
 * the session token>", "namingCategories": ["SWITCH"]},
 *        "eventGatewayEndpoint": "<SmartHome.AlexaEventGatewayEndpoint>"}   (optional)
 * Answer: 202 {"device_id": "...", "message_id": "..."}; errors {"error": "..."}. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cloud/internal.h"
#include "common/alexa.h"
#include "common/crypto.h"
#include "common/log.h"

#define INTAKE_MAX_BODY (16 * 1024)
#define GLOBAL_ID_MAX 64
#define SESSION_TOKEN_MAX 1024

/* The device's global id from its verified certificate, or NULL. */
static const char *device_identity(const wss_http_request *req)
{
    if (!req->tls.tls || !req->tls.peer_cert_present || !req->tls.peer_cert_verified)
        return NULL;
    return req->tls.peer_serial[0] ? req->tls.peer_serial : req->tls.peer_subject_cn;
}

/* Splits "scheme://host/path" (scheme and path optional) into its parts,
 * pointing into url. */
typedef struct url_parts {
    const char *scheme; /* NULL when absent */
    size_t scheme_len;
    const char *host;
    size_t host_len;
    const char *path; /* "" when absent */
} url_parts;

static void split_url(const char *url, url_parts *u)
{
    const char *sep = strstr(url, "://");
    u->scheme = sep ? url : NULL;
    u->scheme_len = sep ? (size_t)(sep - url) : 0;
    u->host = sep ? sep + 3 : url;
    u->host_len = strcspn(u->host, "/");
    u->path = u->host + u->host_len;
}

/* Whether a device's eventGatewayEndpoint names the gateway url: the URL
 * itself, or its host with or without the scheme, and with no path, "/" or
 * the gateway's own path. Scheme and host compare without regard to case. */
static int names_gateway(const char *reported, const char *url)
{
    url_parts r, k;
    split_url(reported, &r);
    split_url(url, &k);
    if (r.scheme && (r.scheme_len != k.scheme_len || strncasecmp(r.scheme, k.scheme, k.scheme_len) != 0))
        return 0;
    if (r.host_len == 0 || r.host_len != k.host_len || strncasecmp(r.host, k.host, k.host_len) != 0)
        return 0;
    return !*r.path || strcmp(r.path, "/") == 0 || strcmp(r.path, k.path) == 0;
}

/* Where the SDAE goes: the endpoint the Device Setup Service gave the device
 * when it names one of the known gateways (never an arbitrary URL a device
 * names: the cloud would send its token there), else the configured one. */
static const char *choose_gateway(const cloud_config *cfg, const char *reported, char *out, size_t outlen)
{
    const char *known[] = {cfg->gateway_url, cloud_region_gateway("NA"), cloud_region_gateway("EU"),
                           cloud_region_gateway("FE")};
    const char *fallback = cfg->gateway_url ? cfg->gateway_url : cloud_region_gateway(cfg->region);
    if (!reported)
        return snprintf(out, outlen, "%s", fallback) < (int)outlen ? out : NULL;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (known[i] && names_gateway(reported, known[i]))
            return snprintf(out, outlen, "%s", known[i]) < (int)outlen ? out : NULL;
    return NULL;
}

/* "<global id>:<session token>", with the characters the seed does not allow
 * in device.id (the token's dots) turned into '-'. */
static int make_device_id(const char *global_id, const char *session_token, char *out, size_t outlen)
{
    if (snprintf(out, outlen, "%s:%s", global_id, session_token) >= (int)outlen)
        return -1;
    for (char *p = out; *p; p++)
        if (!wss_alexa_id_char((unsigned char)*p))
            *p = '-';
    return wss_alexa_id_valid(out) ? 0 : -1;
}

static int categories_valid(const json_t *cats)
{
    size_t i;
    json_t *v;
    if (!json_is_array(cats) || json_array_size(cats) == 0 || json_array_size(cats) > 16)
        return 0;
    json_array_foreach(cats, i, v) if (!wss_alexa_display_category_known(json_string_value(v))) return 0;
    return 1;
}

static int signature_verifies(const wss_http_request *req, const char *session_token, const char *signature)
{
    wss_crypto_key *key = NULL;
    char why[128];
    if (wss_key_parse_public(req->tls.peer_pubkey_b64, &key, why, sizeof why) != WSS_OK)
        return 0;
    wss_err rc = wss_ecdsa_verify_b64(key, session_token, strlen(session_token), signature);
    wss_key_free(key);
    return rc == WSS_OK;
}

static char *sdae_body(const char *message_id, const char *session_token, const char *signature, const char *device_id,
                       const json_t *categories)
{
    json_t *ev = json_pack("{s:{s:{s:s, s:s, s:s, s:s}, s:{s:{s:s, s:s, s:s, s:O}}}}", "event", "header", "namespace",
                           "Alexa.SimpleSetup", "name", "AddOrUpdateDeviceAssociationReport", "payloadVersion", "3",
                           "messageId", message_id, "payload", "device", "sessionToken", session_token, "signature",
                           signature, "id", device_id, "namingCategories", categories);
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    return text;
}

static void accept_report(cloud *c, const wss_http_request *req, const char *global_id, json_t *root,
                          wss_http_response *resp)
{
    json_t *device = json_object_get(root, "device");
    const char *token = json_string_value(json_object_get(device, "sessionToken"));
    const char *sig = json_string_value(json_object_get(device, "signature"));
    json_t *cats = json_object_get(device, "namingCategories");
    json_t *gw = json_object_get(root, "eventGatewayEndpoint");
    char device_id[WSS_ALEXA_ID_MAX + 1], gateway[512], message_id[37];
    if (!json_is_object(device) || !token || !*token || strlen(token) > SESSION_TOKEN_MAX || !sig || !*sig)
        return wss_http_reply_error(resp, 400, "device.sessionToken and device.signature are required strings");
    if (!categories_valid(cats))
        return wss_http_reply_error(resp, 400, "device.namingCategories must be 1..16 Alexa display categories");
    if (gw && !json_is_string(gw))
        return wss_http_reply_error(resp, 400, "eventGatewayEndpoint must be a string");
    if (!choose_gateway(&c->cfg, json_string_value(gw), gateway, sizeof gateway))
        return wss_http_reply_error(resp, 400,
                                    "eventGatewayEndpoint is not an Alexa event gateway this cloud sends to");
    if (make_device_id(global_id, token, device_id, sizeof device_id) != 0)
        return wss_http_reply_error(
            resp, 400, "the device id (certificate serial number joined with the session token) is too long");
    if (!signature_verifies(req, token, sig))
        return wss_http_reply_error(resp, 400, "device.signature does not verify with the device certificate's key");

    wss_uuid7(cloud_now_ms(), message_id); /* time-ordered: the outbox's index grows at its end */
    char *cats_text = json_dumps(cats, JSON_COMPACT);
    char *body = sdae_body(message_id, token, sig, device_id, cats);
    cloud_report r = {.device_id = device_id,
                      .global_device_id = global_id,
                      .session_token = token,
                      .signature = sig,
                      .naming_categories = cats_text,
                      .gateway_url = gateway};
    wss_err rc =
        body && cats_text ? c->store->ops->report_add(c->store, &r, message_id, body, cloud_now_ms()) : WSS_ERR_NOMEM;
    free(body);
    free(cats_text);
    if (rc == WSS_ERR_EXISTS)
        return wss_http_reply_error(resp, 409, "this provisioning session was already reported");
    if (rc == WSS_ERR_INVALID)
        return wss_http_reply_error(resp, 400, "the report is malformed");
    if (rc != WSS_OK) {
        wss_log(WSS_LOG_ERROR, "cloud", "cannot store the report of %s: %s", global_id, wss_strerror(rc));
        return wss_http_reply_error(resp, 503, "the report could not be stored; try again");
    }
    cloud_metrics_inc(c->metrics, CLOUD_REPORTS_ACCEPTED);
    if (c->outbox)
        cloud_outbox_wake(c->outbox);
    wss_log(WSS_LOG_INFO, "cloud", "report accepted from %s (message %s)", global_id, message_id);
    wss_http_reply_json(resp, 202, json_pack("{s:s, s:s}", "device_id", device_id, "message_id", message_id));
}

void cloud_intake_handle(cloud *c, const wss_http_request *req, wss_http_response *resp)
{
    char why[256];
    if (strcmp(req->method, "POST") != 0)
        return wss_http_reply_error(resp, 405, "use POST");
    if (req->body_too_large || req->body_len > INTAKE_MAX_BODY)
        return wss_http_reply_error(resp, 413, "a report is at most %d bytes", INTAKE_MAX_BODY);
    const char *global_id = device_identity(req);
    if (!global_id)
        return wss_http_reply_error(
            resp, 401, "a device certificate that chains to the maker's device CA is required (mutual TLS)");
    if (strlen(global_id) > GLOBAL_ID_MAX || !wss_alexa_id_valid(global_id))
        return wss_http_reply_error(resp, 403, "the device certificate's serial number is not a usable device id");
    const char *ct = wss_http_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';' && ct[16] != ' '))
        return wss_http_reply_error(resp, 415, "Content-Type must be application/json");
    json_error_t jerr;
    json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        snprintf(why, sizeof why, "body is not a JSON object (%s)", root ? "wrong type" : jerr.text);
        json_decref(root);
        return wss_http_reply_error(resp, 400, "%s", why);
    }
    accept_report(c, req, global_id, root, resp);
    json_decref(root);
}
