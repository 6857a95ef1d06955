/* client.c - talking to a running emulator from outside it (see client.h).
 *
 * Everything goes over HTTP(S) with wss_httpc_perform. Tokens and secrets
 * pass through here but are never logged, and buffers that held them are
 * cleared before they are freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/file.h"
#include "sim/client.h"

#define CREDENTIALS_MAX_BYTES (1024u * 1024u)

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static void copy_field(char *out, size_t outlen, const char *value) { snprintf(out, outlen, "%s", value ? value : ""); }

/* The CA to trust: the file credentials.json names when it can be read,
 * else the state directory's ca.pem (the emulator writes a path relative to
 * its own working directory when it was given a relative --state). */
static void pick_ca_file(sim_client *c, const char *state_dir, const char *named)
{
    if (!named) {
        c->ca_file[0] = 0;
        return;
    }
    char local[sizeof c->ca_file];
    snprintf(local, sizeof local, "%s/ca.pem", state_dir);
    if (access(named, R_OK) != 0 && access(local, R_OK) == 0)
        copy_field(c->ca_file, sizeof c->ca_file, local);
    else
        copy_field(c->ca_file, sizeof c->ca_file, named);
}

wss_err sim_client_load(sim_client *c, const char *state_dir, long expect_pid, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    char path[4200];
    snprintf(path, sizeof path, "%s/credentials.json", state_dir);
    char *text = NULL;
    wss_err rc = wss_read_file(path, CREDENTIALS_MAX_BYTES, &text, NULL);
    if (rc != WSS_OK) {
        snprintf(err, errlen,
                 rc == WSS_ERR_NOT_FOUND ? "%s not found: no emulator has run with --state %s" : "cannot read %s (%s)",
                 path, rc == WSS_ERR_NOT_FOUND ? state_dir : wss_strerror(rc));
        return rc;
    }
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    wipe_free(text);
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "%s is not a JSON object (line %d: %s)", path, jerr.line,
                 doc ? "not an object" : jerr.text);
        json_decref(doc);
        return WSS_ERR_INVALID;
    }
    json_int_t pid = json_integer_value(json_object_get(doc, "pid"));
    if (expect_pid > 0 && pid != (json_int_t)expect_pid) {
        snprintf(err, errlen, "%s was written by process %lld, not by %ld", path, (long long)pid, expect_pid);
        json_decref(doc);
        return WSS_ERR_NOT_FOUND;
    }
    const char *base = json_string_value(json_object_get(doc, "base_url"));
    const char *token = json_string_value(json_object_get(doc, "control_token"));
    const char *ca = json_string_value(json_object_get(doc, "ca_file"));
    if (!base || !*base || strlen(base) >= sizeof c->base_url || !token || !*token ||
        strlen(token) >= sizeof c->control_token || (ca && strlen(ca) >= sizeof c->ca_file)) {
        snprintf(err, errlen, "%s lacks a usable base_url or control_token", path);
        json_decref(doc);
        return WSS_ERR_INVALID;
    }
    copy_field(c->base_url, sizeof c->base_url, base);
    copy_field(c->control_token, sizeof c->control_token, token);
    pick_ca_file(c, state_dir, ca);
    c->credentials = doc;
    return WSS_OK;
}

void sim_client_free(sim_client *c)
{
    if (!c)
        return;
    json_decref(c->credentials);
    memset(c, 0, sizeof *c);
}

static const char *first_field(const sim_client *c, const char *list, const char *field)
{
    const char *v = json_string_value(json_object_get(json_array_get(json_object_get(c->credentials, list), 0), field));
    return v ? v : "";
}

const char *sim_client_skill(const sim_client *c, const char *field) { return first_field(c, "skills", field); }

const char *sim_client_customer(const sim_client *c, const char *field) { return first_field(c, "customers", field); }

/* "base_url" + prefix + path, malloc'd. */
static char *make_url(const sim_client *c, const char *prefix, const char *path)
{
    size_t n = strlen(c->base_url) + strlen(prefix) + strlen(path) + 1;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%s%s%s", c->base_url, prefix, path);
    return url;
}

static void no_answer(const sim_client *c, wss_err rc, const char *detail, char *err, size_t errlen)
{
    snprintf(err, errlen, "no answer from the emulator at %s (%s): %s", c->base_url, wss_strerror(rc), detail);
}

int sim_client_control(sim_client *c, const char *method, const char *path, const json_t *body, json_t **out, char *err,
                       size_t errlen)
{
    if (out)
        *out = NULL;
    char *url = make_url(c, "/control/v1", path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (!url || (body && !text)) {
        free(url);
        wipe_free(text);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    wss_httpc_request req = {
        .method = method,
        .url = url,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .bearer = c->control_token,
        .ca_file = c->ca_file[0] ? c->ca_file : NULL,
    };
    wss_httpc_response resp;
    char why[512];
    wss_err rc = wss_httpc_perform(&req, &resp, why, sizeof why);
    wipe_free(text); /* may hold a maker's access token or a Wi-Fi key */
    free(url);
    if (rc != WSS_OK) {
        no_answer(c, rc, why, err, errlen);
        wss_httpc_response_free(&resp);
        return -1;
    }
    json_t *doc = resp.body_len ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    if (resp.status >= 400) {
        const char *msg = json_string_value(json_object_get(doc, "error"));
        snprintf(err, errlen, "HTTP %ld: %s", resp.status, msg ? msg : resp.body_len ? resp.body : "(empty body)");
    }
    int status = (int)resp.status;
    wss_httpc_response_free(&resp);
    if (out)
        *out = doc;
    else
        json_decref(doc);
    return status;
}

int sim_client_post(sim_client *c, const char *path, const char *bearer, const char *content_type, const char *body,
                    size_t len, wss_httpc_response *resp, char *err, size_t errlen)
{
    char *url = make_url(c, "", path);
    if (!url) {
        memset(resp, 0, sizeof *resp);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    wss_httpc_request req = {
        .method = "POST",
        .url = url,
        .body = body ? body : "",
        .body_len = body ? len : 0,
        .content_type = content_type,
        .bearer = bearer,
        .ca_file = c->ca_file[0] ? c->ca_file : NULL,
    };
    char why[512];
    wss_err rc = wss_httpc_perform(&req, resp, why, sizeof why);
    free(url);
    if (rc != WSS_OK) {
        no_answer(c, rc, why, err, errlen);
        wss_httpc_response_free(resp);
        return -1;
    }
    return (int)resp->status;
}

char *sim_client_lwa_token(sim_client *c, const char *client_id, const char *client_secret, const char *scope,
                           char *err, size_t errlen)
{
    if (!client_id || !*client_id || !client_secret || !*client_secret) {
        snprintf(err, errlen, "a client id and secret are needed (credentials.json has no secret for this skill)");
        return NULL;
    }
    json_t *params = json_pack("{s:s, s:s, s:s, s:s?}", "grant_type", "client_credentials", "client_id", client_id,
                               "client_secret", client_secret, "scope", scope);
    char *body = params ? json_dumps(params, JSON_COMPACT) : NULL;
    json_decref(params);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    wss_httpc_response resp;
    int status = sim_client_post(c, "/auth/o2/token", NULL, "application/json", body, strlen(body), &resp, err, errlen);
    wipe_free(body);
    if (status < 0)
        return NULL;
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    const char *token = json_string_value(json_object_get(doc, "access_token"));
    char *out = NULL;
    if (status == 200 && token && *token) {
        out = strdup(token);
        if (!out)
            snprintf(err, errlen, "out of memory");
    } else {
        const char *e = json_string_value(json_object_get(doc, "error"));
        const char *d = json_string_value(json_object_get(doc, "error_description"));
        snprintf(err, errlen, "LWA answered %d: %s%s%s", status, e ? e : "no access_token in the answer", d ? ": " : "",
                 d ? d : "");
    }
    json_decref(doc);
    if (resp.body)
        memset(resp.body, 0, resp.body_len);
    wss_httpc_response_free(&resp);
    return out;
}

json_t *sim_client_sdae(const char *token, const char *message_id, const char *session_token, const char *signature,
                        const char *device_id, const char *naming_category)
{
    char uuid[37];
    if (!message_id) {
        wss_uuid4(uuid);
        message_id = uuid;
    }
    return json_pack("{s:{s:{s:s, s:s, s:s, s:s}, s:{s:{s:s, s:s}, s:{s:s, s:s, s:s, s:[s]}}}}", "event", "header",
                     "namespace", "Alexa.SimpleSetup", "name", "AddOrUpdateDeviceAssociationReport", "payloadVersion",
                     "3", "messageId", message_id, "payload", "scope", "type", "BearerToken", "token",
                     token ? token : "", "device", "sessionToken", session_token ? session_token : "", "signature",
                     signature ? signature : "", "id", device_id ? device_id : "", "namingCategories",
                     naming_category ? naming_category : "SWITCH");
}
