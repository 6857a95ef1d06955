/* skill.c - the maker's Smart Home skill endpoint, POST /alexa/skill.
 *
 * One route takes every directive Alexa sends the skill:
 *   Alexa.SimpleSetup AssociateCustomerDevice (CDAD): binds a reported device
 *     to the user behind the account-linking token in payload.scope and, in
 *     the same transaction, queues Proactive Discovery (Alexa.Discovery
 *     AddOrUpdateReport) in the outbox, which adds the user's Alexa token
 *     when it sends the event;
 *   Alexa.Authorization AcceptGrant: exchanges the grant code at Login with
 *     Amazon and keeps the user's Alexa tokens (the grantee token names the user);
 *   Alexa.Discovery Discover: lists the user's bound devices.
 *
 * What it guarantees:
 *   - Every answer is a well-formed Alexa message in JSON, whatever arrives:
 *     HTTP 200 with an Alexa.ErrorResponse (INVALID_DIRECTIVE for anything
 *     malformed or unknown, the correlationToken echoed when the directive had
 *     one), never an HTML page; 405 for a method other than POST and 413 for
 *     an oversized body, with the same JSON error. Every error an AcceptGrant
 *     meets is answered as Alexa.Authorization ErrorResponse
 *     ACCEPT_GRANT_FAILED, the only error Alexa takes for that directive.
 *   - CDAD is idempotent: the store binds a device once; a redelivered
 *     directive for the same user answers success again and queues no second
 *     discovery event. A binding and its discovery event are committed
 *     together or not at all (then INTERNAL_ERROR, and a redelivery makes
 *     both). A device bound to another user is refused with
 *     INVALID_DIRECTIVE and stays with its user.
 *   - AcceptGrant answers success only after Login with Amazon issued tokens
 *     for the code and the store kept them; any failure on the way (refused
 *     code, no answer, unknown grantee, store error) is ACCEPT_GRANT_FAILED.
 *   - Grant codes, tokens and the client secret are never logged, and are
 *     wiped from memory once used.
 *
 * Every request counts in CLOUD_DIRECTIVES and in the latency histogram under
 * its directive name ("Unknown" for anything malformed or unknown). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloud/internal.h"
#include "cloud/skill_json.h"
#include "common/alexa.h"
#include "common/crypto.h"
#include "common/log.h"

#define SKILL_MAX_BODY (64 * 1024)
#define TEXT_MAX_CHARS CLOUD_TEXT_MAX_CHARS
#define TEXT_BUF CLOUD_TEXT_BUF
#define FALLBACK_FRIENDLY_NAME "Switch"
#define FALLBACK_CATEGORY "OTHER"
#define FALLBACK_MANUFACTURER "openwss"
#define MAX_ENDPOINTS 300
/* Alexa waits 8 s for the answer: the code exchange must end before that so
 * that a slow Login with Amazon still gets a well-formed ACCEPT_GRANT_FAILED. */
#define LWA_TIMEOUT_CAP_MS 7000

typedef enum directive_kind {
    DIRECTIVE_UNKNOWN = 0,
    DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE,
    DIRECTIVE_ACCEPT_GRANT,
    DIRECTIVE_DISCOVER,
} directive_kind;

static const char *const kind_names[] = {"Unknown", "AssociateCustomerDevice", "AcceptGrant", "Discover"};

/* A parsed directive; the pointers borrow from root. */
typedef struct directive {
    json_t *root;
    directive_kind kind;
    const char *correlation; /* header.correlationToken when a non-empty string, else NULL */
    const json_t *payload;   /* directive.payload, an object */
    char invalid[256];       /* why the directive is malformed; "" when its envelope is right */
} directive;

/* ------------------------------------------------------------ small things */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *str_at(const json_t *obj, const char *key) { return json_string_value(json_object_get(obj, key)); }

/* obj[key] when it is a non-empty string, else NULL. */
static const char *nonempty_at(const json_t *obj, const char *key)
{
    const char *s = str_at(obj, key);
    return s && *s ? s : NULL;
}

/* Copies at most max_chars UTF-8 characters of in (valid UTF-8, as jansson
 * guarantees): see cloud_copy_text. */
static size_t copy_text(char *out, const char *in, size_t max_chars)
{
    return cloud_copy_text(out, in, strlen(in), max_chars);
}

/* A fresh messageId: a time-ordered UUID (version 7), so that the outbox's
 * unique index on message_id grows at its end instead of dirtying a random
 * page of it per event, each to be written to the WAL at the next commit. */
static void message_id(char out[37]) { wss_uuid7(cloud_now_ms(), out); }

/* ------------------------------------------------------------ answers */

static json_t *new_header(const char *ns, const char *name, const char *correlation)
{
    char id[37];
    message_id(id);
    json_t *h =
        json_pack("{s:s, s:s, s:s, s:s}", "namespace", ns, "name", name, "payloadVersion", "3", "messageId", id);
    if (h && correlation)
        json_object_set_new(h, "correlationToken", json_string(correlation));
    return h;
}

/* Sends doc (taking it). When it could not be built (no memory), a fixed
 * error of the right family goes out instead. */
static void reply(wss_http_response *resp, int status, json_t *doc, int grant_family)
{
    static const char alexa_fallback[] =
        "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"ErrorResponse\",\"payloadVersion\":\"3\","
        "\"messageId\":\"00000000-0000-4000-8000-000000000000\"},"
        "\"payload\":{\"type\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}}}";
    static const char grant_fallback[] =
        "{\"event\":{\"header\":{\"namespace\":\"Alexa.Authorization\",\"name\":\"ErrorResponse\","
        "\"payloadVersion\":\"3\",\"messageId\":\"00000000-0000-4000-8000-000000000000\"},"
        "\"payload\":{\"type\":\"ACCEPT_GRANT_FAILED\",\"message\":\"out of memory\"}}}";
    wss_http_reply_json(resp, status, doc);
    if (!resp->body) {
        wss_http_reply_text(resp, status, grant_family ? grant_fallback : alexa_fallback);
        resp->content_type = "application/json";
    }
}

/* Sends the JSON text a writer built (taking it), or the fixed error when
 * it could not be built. */
static void reply_written(wss_http_response *resp, cloud_jw *w)
{
    size_t len;
    char *text = cloud_jw_take(w, &len);
    if (!text)
        return reply(resp, 200, NULL, 0);
    free(resp->body);
    resp->status = 200;
    resp->body = text;
    resp->body_len = len;
    resp->content_type = "application/json";
}

/* "header":{...} of an answer or event, with messageId mid (a fresh one
 * when NULL) and the correlation token when there is one. */
static void write_header(cloud_jw *w, const char *ns, const char *name, const char *correlation, const char *mid)
{
    char id[37];
    if (!mid)
        message_id(id), mid = id;
    cloud_jw_raw(w, "\"header\":{\"namespace\":");
    cloud_jw_str(w, ns);
    cloud_jw_raw(w, ",\"name\":");
    cloud_jw_str(w, name);
    cloud_jw_raw(w, ",\"payloadVersion\":\"3\",\"messageId\":");
    cloud_jw_str(w, mid);
    if (correlation) {
        cloud_jw_raw(w, ",\"correlationToken\":");
        cloud_jw_str(w, correlation);
    }
    cloud_jw_raw(w, "}");
}

static void alexa_error(wss_http_response *resp, int status, const char *correlation, const char *type, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
static void alexa_error(wss_http_response *resp, int status, const char *correlation, const char *type, const char *fmt,
                        ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *doc = json_pack("{s:{s:o, s:{s:s, s:s}}}", "event", "header",
                            new_header("Alexa", "ErrorResponse", correlation), "payload", "type", type, "message", msg);
    reply(resp, status, doc, 0);
}

static void grant_failed(wss_http_response *resp, const char *correlation, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void grant_failed(wss_http_response *resp, const char *correlation, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *doc = json_pack("{s:{s:o, s:{s:s, s:s}}}", "event", "header",
                            new_header("Alexa.Authorization", "ErrorResponse", correlation), "payload", "type",
                            "ACCEPT_GRANT_FAILED", "message", msg);
    reply(resp, 200, doc, 1);
    wss_log(WSS_LOG_WARN, "cloud", "AcceptGrant refused: %s", msg);
}

/* ------------------------------------------------------------ parsing */

static directive_kind classify(const char *ns, const char *name)
{
    if (strcmp(ns, "Alexa.SimpleSetup") == 0 && strcmp(name, "AssociateCustomerDevice") == 0)
        return DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE;
    if (strcmp(ns, "Alexa.Authorization") == 0 && strcmp(name, "AcceptGrant") == 0)
        return DIRECTIVE_ACCEPT_GRANT;
    if (strcmp(ns, "Alexa.Discovery") == 0 && strcmp(name, "Discover") == 0)
        return DIRECTIVE_DISCOVER;
    return DIRECTIVE_UNKNOWN;
}

/* Checks the envelope of the request: {"directive":{"header":{...},"payload":{...}}}.
 * Fills d (kind and correlation as far as they can be read); d->invalid says
 * what is wrong, "" when nothing is. */
static void parse_directive(const wss_http_request *req, directive *d)
{
    json_error_t jerr;
    memset(d, 0, sizeof *d);
    d->root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!d->root) {
        /* Only the position: the parser's text quotes the body, which is not logged. */
        snprintf(d->invalid, sizeof d->invalid, "the body is not JSON (line %d, column %d)", jerr.line, jerr.column);
        return;
    }
    const json_t *dir = json_object_get(d->root, "directive");
    const json_t *header = json_object_get(dir, "header");
    if (!json_is_object(dir) || !json_is_object(header)) {
        snprintf(d->invalid, sizeof d->invalid, "the body has no directive.header object");
        return;
    }
    const json_t *corr = json_object_get(header, "correlationToken");
    d->correlation = nonempty_at(header, "correlationToken");
    const char *ns = nonempty_at(header, "namespace"), *name = nonempty_at(header, "name");
    const json_t *version = json_object_get(header, "payloadVersion");
    if (ns && name)
        d->kind = classify(ns, name);
    if (!ns || !name)
        snprintf(d->invalid, sizeof d->invalid, "directive.header needs namespace and name strings");
    else if (d->kind == DIRECTIVE_UNKNOWN)
        snprintf(d->invalid, sizeof d->invalid, "this skill does not support the directive %.80s %.80s", ns, name);
    else if (!json_is_string(version) || strcmp(json_string_value(version), "3") != 0)
        snprintf(d->invalid, sizeof d->invalid, "directive.header.payloadVersion must be \"3\"");
    else if (!wss_alexa_message_id_valid(str_at(header, "messageId")))
        snprintf(d->invalid, sizeof d->invalid, "directive.header.messageId is missing or malformed");
    else if (corr && !d->correlation)
        snprintf(d->invalid, sizeof d->invalid, "directive.header.correlationToken must be a non-empty string");
    else if (!json_is_object(d->payload = json_object_get(dir, "payload")))
        snprintf(d->invalid, sizeof d->invalid, "directive.payload must be an object");
}

/* payload.<key> = {"type": type, <field>: non-empty string}: the field, or NULL. */
static const char *typed_field(const json_t *payload, const char *key, const char *type, const char *field)
{
    const json_t *obj = json_object_get(payload, key);
    const char *t = str_at(obj, "type");
    return t && strcmp(t, type) == 0 ? nonempty_at(obj, field) : NULL;
}

/* ------------------------------------------------------------ users */

typedef enum auth_result { AUTH_OK, AUTH_UNKNOWN, AUTH_EXPIRED, AUTH_FAILED } auth_result;

/* A token's user is kept for USER_CACHE_TTL_MS after a lookup found it. The
 * store never changes a token's user or expiry (nor deletes one), and the
 * expiry is checked at every use, so the cache only bounds how long an
 * outside edit of the database goes unseen. Tokens that were not found are
 * not kept: a new token works at once. Direct-mapped by the digest. */
#define USER_CACHE_SLOTS 256
#define USER_CACHE_TTL_MS 10000

struct cloud_user_cache {
    pthread_mutex_t lock;
    struct {
        char sha[65];
        cloud_user user;
        long long cached_ms;
    } slot[USER_CACHE_SLOTS];
};

struct cloud_user_cache *cloud_user_cache_new(void)
{
    struct cloud_user_cache *uc = calloc(1, sizeof *uc);
    if (uc)
        pthread_mutex_init(&uc->lock, NULL);
    return uc;
}

void cloud_user_cache_free(struct cloud_user_cache *uc)
{
    if (!uc)
        return;
    pthread_mutex_destroy(&uc->lock);
    free(uc);
}

/* The slot of a digest: its first two hex digits. */
static size_t user_slot(const char sha[65])
{
    size_t i = 0;
    for (int k = 0; k < 2; k++)
        i = i * 16 + (size_t)(sha[k] <= '9' ? sha[k] - '0' : sha[k] - 'a' + 10);
    return i % USER_CACHE_SLOTS;
}

static int user_cache_get(struct cloud_user_cache *uc, const char sha[65], long long now, cloud_user *user)
{
    if (!uc)
        return 0;
    size_t i = user_slot(sha);
    pthread_mutex_lock(&uc->lock);
    long long age = now - uc->slot[i].cached_ms;
    int hit = uc->slot[i].cached_ms && age >= 0 && age < USER_CACHE_TTL_MS && memcmp(uc->slot[i].sha, sha, 64) == 0;
    if (hit)
        *user = uc->slot[i].user;
    pthread_mutex_unlock(&uc->lock);
    return hit;
}

static void user_cache_put(struct cloud_user_cache *uc, const char sha[65], long long now, const cloud_user *user)
{
    if (!uc)
        return;
    size_t i = user_slot(sha);
    pthread_mutex_lock(&uc->lock);
    memcpy(uc->slot[i].sha, sha, 65);
    uc->slot[i].user = *user;
    uc->slot[i].cached_ms = now;
    pthread_mutex_unlock(&uc->lock);
}

/* The user behind a maker's account-linking access token (stored by digest). */
static auth_result resolve_user(cloud *c, const char *token, cloud_user *user)
{
    char sha[65];
    wss_sha256_hex(token, sha);
    memset(user, 0, sizeof *user);
    long long now = cloud_now_ms();
    if (user_cache_get(c->users, sha, now, user))
        return user->token_expires_ms <= now ? AUTH_EXPIRED : AUTH_OK;
    wss_err rc = c->store->ops->user_by_token(c->store, sha, user);
    if (rc == WSS_OK)
        user_cache_put(c->users, sha, now, user);
    if (rc == WSS_ERR_NOT_FOUND)
        return AUTH_UNKNOWN;
    if (rc != WSS_OK) {
        wss_log(WSS_LOG_ERROR, "cloud", "cannot look up an account-linking token: %s", wss_strerror(rc));
        return AUTH_FAILED;
    }
    return user->token_expires_ms <= cloud_now_ms() ? AUTH_EXPIRED : AUTH_OK;
}

/* Answers the Alexa.ErrorResponse for a token that did not resolve. */
static void auth_error(wss_http_response *resp, const char *correlation, auth_result ar)
{
    if (ar == AUTH_UNKNOWN)
        alexa_error(resp, 200, correlation, "INVALID_AUTHORIZATION_CREDENTIAL",
                    "the access token in payload.scope belongs to no account");
    else if (ar == AUTH_EXPIRED)
        alexa_error(resp, 200, correlation, "EXPIRED_AUTHORIZATION_CREDENTIAL",
                    "the access token in payload.scope has expired");
    else
        alexa_error(resp, 200, correlation, "INTERNAL_ERROR", "the account could not be looked up; try again");
}

/* ------------------------------------------------------------ endpoints */

/* The known categories among the elements of naming (a JSON array), each
 * once. */
static void categories_from_json(const json_t *naming, cloud_categories *cats)
{
    size_t i;
    const json_t *v;
    json_array_foreach(naming, i, v) cloud_categories_add(cats, json_string_value(v));
}

/* The device's naming categories (the JSON array text of its report) as
 * displayCategories: the known ones, each once; OTHER when none is usable. */
static void display_categories(const char *naming, cloud_categories *cats)
{
    if (!naming || !cloud_categories_read(naming, cats)) {
        memset(cats, 0, sizeof *cats);
        json_t *parsed = naming ? json_loads(naming, JSON_REJECT_DUPLICATES, NULL) : NULL;
        categories_from_json(parsed, cats);
        json_decref(parsed);
    }
    if (cats->n == 0)
        cloud_categories_add(cats, FALLBACK_CATEGORY);
}

/* One discovery endpoint: a switch that Alexa can turn on and off. */
static void write_endpoint(cloud_jw *w, const cloud *c, const char *device_id, const char *friendly_name,
                           const cloud_categories *cats)
{
    char manufacturer[TEXT_BUF], name[TEXT_BUF], description[TEXT_BUF], text[TEXT_BUF + 64];
    if (!copy_text(manufacturer, c->cfg.manufacturer_name ? c->cfg.manufacturer_name : "", TEXT_MAX_CHARS))
        snprintf(manufacturer, sizeof manufacturer, "%s", FALLBACK_MANUFACTURER);
    if (!copy_text(name, friendly_name ? friendly_name : "", TEXT_MAX_CHARS))
        snprintf(name, sizeof name, "%s", FALLBACK_FRIENDLY_NAME);
    snprintf(text, sizeof text, "%s device, set up with Amazon Wi-Fi Simple Setup", manufacturer);
    copy_text(description, text, TEXT_MAX_CHARS);
    cloud_jw_raw(w, "{\"endpointId\":");
    cloud_jw_str(w, device_id);
    cloud_jw_raw(w, ",\"manufacturerName\":");
    cloud_jw_str(w, manufacturer);
    cloud_jw_raw(w, ",\"friendlyName\":");
    cloud_jw_str(w, name);
    cloud_jw_raw(w, ",\"description\":");
    cloud_jw_str(w, description);
    cloud_jw_raw(w, ",\"displayCategories\":[");
    for (int i = 0; i < cats->n; i++) {
        if (i)
            cloud_jw_raw(w, ",");
        cloud_jw_str(w, cats->names[i]);
    }
    cloud_jw_raw(w, "],\"capabilities\":[{\"type\":\"AlexaInterface\",\"interface\":\"Alexa\",\"version\":\"3\"},"
                    "{\"type\":\"AlexaInterface\",\"interface\":\"Alexa.PowerController\",\"version\":\"3\","
                    "\"properties\":{\"supported\":[{\"name\":\"powerState\"}],\"proactivelyReported\":true,"
                    "\"retrievable\":true}}]}");
}

/* Writes the endpoints of the user's bound devices, at most MAX_ENDPOINTS,
 * as the elements of an array; their number, or -1 when the store failed. */
static int write_user_endpoints(cloud_jw *w, cloud *c, const char *user_id)
{
    json_t *devices = NULL;
    wss_err rc = c->store->ops->user_devices(c->store, user_id, &devices);
    if (rc != WSS_OK) {
        wss_log(WSS_LOG_ERROR, "cloud", "cannot list the devices of user %s: %s", user_id, wss_strerror(rc));
        json_decref(devices);
        return -1;
    }
    int n = 0;
    size_t i;
    const json_t *dev;
    json_array_foreach(devices, i, dev)
    {
        const char *id = str_at(dev, "device_id");
        if (!id || !wss_alexa_id_valid(id))
            continue;
        if (n == MAX_ENDPOINTS) {
            wss_log(WSS_LOG_WARN, "cloud", "user %s has more than %d devices; Alexa takes only %d", user_id,
                    MAX_ENDPOINTS, MAX_ENDPOINTS);
            break;
        }
        cloud_categories cats;
        memset(&cats, 0, sizeof cats);
        categories_from_json(json_object_get(dev, "naming_categories"), &cats);
        if (cats.n == 0)
            cloud_categories_add(&cats, FALLBACK_CATEGORY);
        if (n++)
            cloud_jw_raw(w, ",");
        write_endpoint(w, c, id, str_at(dev, "friendly_name"), &cats);
    }
    json_decref(devices);
    return n;
}

/* ------------------------------------------------------------ AssociateCustomerDevice */

/* The first usable preferredFriendlyNames[].value.text, else the fallback.
 * The names are advice (the seed's FAQ): a missing or odd list is no error. */
static void friendly_name(const json_t *device, char out[TEXT_BUF])
{
    size_t i;
    const json_t *label;
    json_array_foreach(json_object_get(device, "preferredFriendlyNames"), i, label)
    {
        const char *text = str_at(json_object_get(label, "value"), "text");
        if (text && copy_text(out, text, TEXT_MAX_CHARS))
            return;
    }
    snprintf(out, TEXT_BUF, "%s", FALLBACK_FRIENDLY_NAME);
}

/* The Proactive Discovery report of a bound device: an Alexa.Discovery
 * AddOrUpdateReport of its endpoint, without payload.scope (the outbox adds
 * the user's Alexa token when sending). The binding says the name, the
 * device's report its naming categories. The outbox builds it when it sends
 * the event CDAD queued, so that a bind writes a few bytes instead of a
 * report, and a retry sends the same report (the same messageId). */
wss_err cloud_discovery_event(cloud *c, const char *device_id, const char *message_id, char **out)
{
    *out = NULL;
    cloud_binding b;
    wss_err rc = c->store->ops->binding_get(c->store, device_id, &b);
    if (rc != WSS_OK)
        return rc;
    cloud_categories cats;
    display_categories(b.naming_categories, &cats);
    cloud_jw w = {0};
    cloud_jw_raw(&w, "{\"event\":{");
    write_header(&w, "Alexa.Discovery", "AddOrUpdateReport", NULL, message_id);
    cloud_jw_raw(&w, ",\"payload\":{\"endpoints\":[");
    write_endpoint(&w, c, device_id, b.friendly_name, &cats);
    cloud_jw_raw(&w, "]}}}");
    cloud_binding_free(&b);
    *out = cloud_jw_take(&w, NULL);
    return *out ? WSS_OK : WSS_ERR_NOMEM;
}

/* Binds device_id to the user behind token (both checked already) and
 * answers; name is the friendly name ("" for the fallback), correlation
 * the directive's token or NULL. */
static void associate(cloud *c, wss_http_response *resp, const char *token, const char *device_id, const char *name,
                      const char *correlation)
{
    char mid[37] = "";
    cloud_user user;
    int created = 0;
    auth_result ar = resolve_user(c, token, &user);
    if (ar != AUTH_OK)
        return auth_error(resp, correlation, ar);

    /* The discovery event is committed with the binding, so that a binding
     * never exists without its report: if the transaction fails, neither is
     * kept and Alexa's redelivery makes both. The outbox builds the report
     * from the binding when it sends it (cloud_discovery_event). */
    message_id(mid);
    const char *gateway = c->cfg.gateway_url ? c->cfg.gateway_url : cloud_region_gateway(c->cfg.region);
    cloud_outbox_event discovery = {
        .kind = "discovery", .message_id = mid, .gateway_url = gateway, .user_id = user.user_id, .device_id = device_id};
    wss_err rc = c->store->ops->bind(c->store, device_id, user.user_id, name, &discovery, cloud_now_ms(), &created);
    if (rc == WSS_ERR_NOT_FOUND)
        return alexa_error(resp, 200, correlation, "NO_SUCH_ENDPOINT",
                           "no device with this id has reported to this cloud");
    if (rc == WSS_ERR_EXISTS) {
        wss_log(WSS_LOG_WARN, "cloud", "CDAD for %s refused: the device is bound to another user than %s", device_id,
                user.user_id);
        return alexa_error(resp, 200, correlation, "INVALID_DIRECTIVE",
                           "the device is already associated with another account; it must be removed there first");
    }
    if (rc != WSS_OK) {
        wss_log(WSS_LOG_ERROR, "cloud", "cannot bind %s to user %s: %s", device_id, user.user_id, wss_strerror(rc));
        return alexa_error(resp, 200, correlation, "INTERNAL_ERROR", "the association could not be stored");
    }
    if (created) {
        wss_log(WSS_LOG_INFO, "cloud", "device %s bound to user %s; discovery queued (message %s)", device_id,
                user.user_id, mid);
        if (c->outbox)
            cloud_outbox_wake(c->outbox);
    } else
        wss_log(WSS_LOG_INFO, "cloud", "device %s already bound to user %s: repeated CDAD answered again", device_id,
                user.user_id);
    cloud_jw w = {0};
    cloud_jw_raw(&w, "{\"event\":{");
    write_header(&w, "Alexa", "Response", correlation, NULL);
    cloud_jw_raw(&w, ",\"endpoint\":{\"endpointId\":");
    cloud_jw_str(&w, device_id);
    cloud_jw_raw(&w, "},\"payload\":{}}}");
    reply_written(resp, &w);
}

/* A CDAD read by jansson (a body the fast reader left to it). */
static void handle_associate(cloud *c, const directive *d, wss_http_response *resp)
{
    const char *token = typed_field(d->payload, "scope", "BearerToken", "token");
    const json_t *device = json_object_get(d->payload, "device");
    const char *device_id = str_at(device, "id");
    char name[TEXT_BUF];

    if (!token)
        return alexa_error(resp, 200, d->correlation, "INVALID_DIRECTIVE",
                           "payload.scope must be {\"type\":\"BearerToken\",\"token\":\"...\"}");
    if (!device_id || !wss_alexa_id_valid(device_id))
        return alexa_error(resp, 200, d->correlation, "INVALID_DIRECTIVE",
                           "payload.device.id must be 1..%d letters, digits, spaces or _ - = # ; : ? @ &",
                           WSS_ALEXA_ID_MAX);
    friendly_name(device, name);
    associate(c, resp, token, device_id, name, d->correlation);
}

/* ------------------------------------------------------------ AcceptGrant */

/* Exchanges an AcceptGrant code at Login with Amazon (authorization_code
 * grant); the answer must carry a refresh token too. */
static int exchange_code(const cloud_config *cfg, const char *code, cloud_lwa_tokens *out, char *why, size_t whylen)
{
    char err[256];
    long timeout = cfg->request_timeout_ms > 0 && cfg->request_timeout_ms < LWA_TIMEOUT_CAP_MS
                       ? (long)cfg->request_timeout_ms
                       : LWA_TIMEOUT_CAP_MS;
    wss_err rc = cloud_lwa_request(cfg, "authorization_code", "code", code, timeout, out, err, sizeof err);
    if (rc == WSS_ERR_NETWORK || rc == WSS_ERR_TIMEOUT) {
        /* The transport's own words stay in the log; Alexa gets the gist. */
        wss_log(WSS_LOG_WARN, "cloud", "code exchange at Login with Amazon failed: %s", err);
        snprintf(why, whylen, "Login with Amazon did not answer the code exchange (%s)", wss_strerror(rc));
        return 0;
    }
    if (rc == WSS_ERR_CONFIG) {
        snprintf(why, whylen, "this cloud has no Login with Amazon client configured");
        return 0;
    }
    if (rc != WSS_OK) {
        snprintf(why, whylen, "%s", err);
        return 0;
    }
    if (!out->refresh_token) {
        cloud_lwa_tokens_free(out);
        snprintf(why, whylen, "Login with Amazon's answer lacks a refresh_token");
        return 0;
    }
    return 1;
}

static void handle_accept_grant(cloud *c, const directive *d, wss_http_response *resp)
{
    const char *code = typed_field(d->payload, "grant", "OAuth2.AuthorizationCode", "code");
    const char *grantee = typed_field(d->payload, "grantee", "BearerToken", "token");
    cloud_user user;
    cloud_lwa_tokens tokens;
    char why[320];

    if (!code)
        return grant_failed(resp, d->correlation,
                            "payload.grant must be {\"type\":\"OAuth2.AuthorizationCode\",\"code\":\"...\"}");
    if (!grantee)
        return grant_failed(resp, d->correlation,
                            "payload.grantee must be {\"type\":\"BearerToken\",\"token\":\"...\"}");
    /* The grantee first: a code is single-use, so it is not spent for nobody. */
    auth_result ar = resolve_user(c, grantee, &user);
    if (ar == AUTH_UNKNOWN)
        return grant_failed(resp, d->correlation, "the grantee token belongs to no account");
    if (ar == AUTH_EXPIRED)
        return grant_failed(resp, d->correlation, "the grantee token has expired");
    if (ar != AUTH_OK)
        return grant_failed(resp, d->correlation, "the grantee's account could not be looked up");
    if (!exchange_code(&c->cfg, code, &tokens, why, sizeof why))
        return grant_failed(resp, d->correlation, "%s", why);
    long long expires_ms = cloud_now_ms() + tokens.expires_in * 1000;
    wss_err rc =
        c->store->ops->grant_put(c->store, user.user_id, tokens.access_token, tokens.refresh_token, expires_ms);
    cloud_lwa_tokens_free(&tokens);
    if (rc != WSS_OK) {
        wss_log(WSS_LOG_ERROR, "cloud", "cannot store the Alexa tokens of user %s: %s", user.user_id, wss_strerror(rc));
        return grant_failed(resp, d->correlation, "the tokens could not be stored");
    }
    wss_log(WSS_LOG_INFO, "cloud", "AcceptGrant: Alexa tokens of user %s stored", user.user_id);
    json_t *doc = json_pack("{s:{s:o, s:{}}}", "event", "header",
                            new_header("Alexa.Authorization", "AcceptGrant.Response", d->correlation), "payload");
    reply(resp, 200, doc, 1);
}

/* ------------------------------------------------------------ Discover */

static void handle_discover(cloud *c, const directive *d, wss_http_response *resp)
{
    const char *token = typed_field(d->payload, "scope", "BearerToken", "token");
    cloud_user user;
    if (!token)
        return alexa_error(resp, 200, d->correlation, "INVALID_DIRECTIVE",
                           "payload.scope must be {\"type\":\"BearerToken\",\"token\":\"...\"}");
    auth_result ar = resolve_user(c, token, &user);
    if (ar != AUTH_OK)
        return auth_error(resp, d->correlation, ar);
    cloud_jw w = {0};
    cloud_jw_raw(&w, "{\"event\":{");
    write_header(&w, "Alexa.Discovery", "Discover.Response", d->correlation, NULL);
    cloud_jw_raw(&w, ",\"payload\":{\"endpoints\":[");
    int n = write_user_endpoints(&w, c, user.user_id);
    if (n < 0) {
        free(cloud_jw_take(&w, NULL));
        return alexa_error(resp, 200, d->correlation, "INTERNAL_ERROR", "the devices could not be listed; try again");
    }
    cloud_jw_raw(&w, "]}}}");
    wss_log(WSS_LOG_INFO, "cloud", "Discover: %d endpoints for user %s", n, user.user_id);
    reply_written(resp, &w);
}

/* ------------------------------------------------------------ the route */

/* Handles one POSTed directive; gives the kind for the metrics. */
static directive_kind handle_post(cloud *c, const wss_http_request *req, wss_http_response *resp)
{
    if (req->body_too_large || req->body_len > SKILL_MAX_BODY) {
        alexa_error(resp, 413, NULL, "INVALID_DIRECTIVE", "a directive is at most %d bytes", SKILL_MAX_BODY);
        return DIRECTIVE_UNKNOWN;
    }
    /* The common CDAD is read without building a document; anything else,
     * and every malformed body, is read by jansson. */
    cloud_cdad cdad;
    if (cloud_cdad_read(req->body, req->body_len, &cdad)) {
        associate(c, resp, cdad.token, cdad.device_id, cdad.name[0] ? cdad.name : FALLBACK_FRIENDLY_NAME,
                  cdad.correlation[0] ? cdad.correlation : NULL);
        return DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE;
    }
    directive d;
    parse_directive(req, &d);
    if (d.invalid[0] && d.kind == DIRECTIVE_ACCEPT_GRANT)
        grant_failed(resp, d.correlation, "%s", d.invalid);
    else if (d.invalid[0]) {
        wss_log(WSS_LOG_WARN, "cloud", "directive refused from %s: %s", req->client_ip, d.invalid);
        alexa_error(resp, 200, d.correlation, "INVALID_DIRECTIVE", "%s", d.invalid);
    } else if (d.kind == DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE)
        handle_associate(c, &d, resp);
    else if (d.kind == DIRECTIVE_ACCEPT_GRANT)
        handle_accept_grant(c, &d, resp);
    else
        handle_discover(c, &d, resp);
    json_decref(d.root);
    return d.invalid[0] ? DIRECTIVE_UNKNOWN : d.kind;
}

void cloud_skill_handle(cloud *c, const wss_http_request *req, wss_http_response *resp)
{
    if (strcmp(req->method, "POST") != 0) {
        alexa_error(resp, 405, NULL, "INVALID_DIRECTIVE", "directives are POSTed to this endpoint");
        wss_http_add_header(resp, "Allow", "POST");
        return;
    }
    double start = mono_s();
    directive_kind kind = handle_post(c, req, resp);
    cloud_metrics_inc(c->metrics, CLOUD_DIRECTIVES);
    cloud_metrics_directive_latency(c->metrics, kind_names[kind], mono_s() - start);
}
