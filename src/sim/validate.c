/* validate.c - structural checks of the Alexa messages the emulator receives or judges. */
#include "sim/validate.h"

#include "common/alexa.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SIM_DEVICE_TOKEN_MAX 1024 /* sessionToken and signature */
#define SIM_NAMING_CATEGORIES_MAX 16
#define SIM_ENDPOINTS_MAX 300
#define SIM_CAPABILITIES_MAX 100
#define SIM_ENDPOINT_TEXT_MAX 128         /* manufacturerName, friendlyName, description */
#define SIM_BODY_MAX (1024 * 1024)        /* a skill answer larger than this is refused unread */
#define SIM_SHOWN_MAX 40                  /* bytes of a hostile value quoted in a reason */
#define SIM_FIELD_MAX 96                  /* room for "payload.endpoints[299].capabilities[99].interface" */
#define SIM_ITEM_MAX (SIM_FIELD_MAX + 24) /* a field name with "[index]" appended */


/* Where a validator writes its reason; buf may be NULL and len 0. */
typedef struct reason {
    char *buf;
    size_t len;
} reason;

/* ---------------------------------------------------------------- reasons */

/* Drops a UTF-8 sequence cut short at the end of s. */
static void trim_partial_utf8(char *s)
{
    size_t n = strlen(s), lead = n, need;
    unsigned char c;

    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    c = (unsigned char)s[lead - 1];
    if (c < 0x80)
        return;
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (n - (lead - 1) < need)
        s[lead - 1] = '\0';
}

/* Writes the reason (one line: control characters become spaces) and returns 0. */
static int fail(reason *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(reason *r, const char *fmt, ...)
{
    va_list ap;
    int n;
    size_t i;

    if (!r || !r->buf || r->len == 0)
        return 0;
    va_start(ap, fmt);
    n = vsnprintf(r->buf, r->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        r->buf[0] = '\0';
        return 0;
    }
    if ((size_t)n >= r->len)
        trim_partial_utf8(r->buf);
    for (i = 0; r->buf[i]; i++)
        if ((unsigned char)r->buf[i] < 0x20 || r->buf[i] == 0x7f)
            r->buf[i] = ' ';
    return 0;
}

static void clear(reason *r)
{
    if (r->buf && r->len)
        r->buf[0] = '\0';
}

/* A printable, shortened copy of a received value, for quoting in a reason. */
static const char *shown(const char *s, char out[SIM_SHOWN_MAX + 4])
{
    size_t i;

    for (i = 0; s[i] && i < SIM_SHOWN_MAX; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i])
        out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
    return out;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON type";
}

/* Formats a field name for a reason; a name too long for out is cut, which is harmless. */
static const char *format_name(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *format_name(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(out, size, fmt, ap) < 0)
        out[0] = '\0';
    va_end(ap);
    return out;
}

/* "where.key", or "key" at the top. */
static const char *field_name(char out[SIM_FIELD_MAX], const char *where, const char *key)
{
    return format_name(out, SIM_FIELD_MAX, "%s%s%s", where, where[0] ? "." : "", key);
}

/* ------------------------------------------------------------ plain text */

/* The string of v when it is a JSON string without embedded NUL, else NULL. */
static const char *plain_string(const json_t *v)
{
    const char *s;

    if (!json_is_string(v))
        return NULL;
    s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v))
        return NULL;
    return s;
}

/* Whether v is the JSON string `expected`, exactly. */
static int string_is(const json_t *v, const char *expected)
{
    const char *s = plain_string(v);

    return s && strcmp(s, expected) == 0;
}

/* Characters (code points) of a valid UTF-8 string, as jansson guarantees. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int ascii_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int base64_char(unsigned char c) { return ascii_alnum(c) || c == '+' || c == '/'; }

/* Standard base64: length a multiple of 4, alphabet A-Z a-z 0-9 + /, at most two '=' at the end. */
static int base64_valid(const char *s)
{
    size_t n = strlen(s), pad = 0, i;

    if (n == 0 || n % 4 != 0)
        return 0;
    while (pad < 2 && s[n - 1 - pad] == '=')
        pad++;
    for (i = 0; i < n - pad; i++)
        if (!base64_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* ------------------------------------------------------------ public tests */

/* --------------------------------------------------------- field readers */

/* parent[key] as an object; on failure a reason naming where.key. */
static const json_t *get_object(const json_t *parent, const char *where, const char *key, reason *r)
{
    char name[SIM_FIELD_MAX];
    const json_t *v = json_object_get(parent, key);

    if (!v)
        return fail(r, "%s is missing", field_name(name, where, key)), NULL;
    if (!json_is_object(v))
        return fail(r, "%s must be an object, got %s", field_name(name, where, key), type_name(v)), NULL;
    return v;
}

/* parent[key] as an array of min..max entries. */
static const json_t *get_array(const json_t *parent, const char *where, const char *key, size_t min, size_t max,
                               reason *r)
{
    char name[SIM_FIELD_MAX];
    const json_t *v = json_object_get(parent, key);
    size_t n;

    field_name(name, where, key);
    if (!v)
        return fail(r, "%s is missing", name), NULL;
    if (!json_is_array(v))
        return fail(r, "%s must be an array, got %s", name, type_name(v)), NULL;
    n = json_array_size(v);
    if (n < min)
        return fail(r, "%s is empty; at least %zu %s needed", name, min, min == 1 ? "entry is" : "entries are"), NULL;
    if (n > max)
        return fail(r, "%s has %zu entries, at most %zu allowed", name, n, max), NULL;
    return v;
}

/* Checks that v, named `name`, is a string without NUL; returns it or NULL. */
static const char *as_string(const json_t *v, const char *name, reason *r)
{
    const char *s = plain_string(v);

    if (!v)
        return fail(r, "%s is missing", name), NULL;
    if (!json_is_string(v))
        return fail(r, "%s must be a string, got %s", name, type_name(v)), NULL;
    if (!s)
        return fail(r, "%s contains a NUL character", name), NULL;
    return s;
}

/* parent[key] as a string of min..max characters (code points). */
static const char *get_string(const json_t *parent, const char *where, const char *key, size_t min, size_t max,
                              reason *r)
{
    char name[SIM_FIELD_MAX];
    const char *s = as_string(json_object_get(parent, key), field_name(name, where, key), r);
    size_t n;

    if (!s)
        return NULL;
    n = utf8_chars(s);
    if (n < min)
        return fail(r, "%s is empty", name), NULL;
    if (n > max)
        return fail(r, "%s is %zu characters long, at most %zu allowed", name, n, max), NULL;
    return s;
}

/* parent[key] must be the string `expected`. */
static int expect_string(const json_t *parent, const char *where, const char *key, const char *expected, reason *r)
{
    char name[SIM_FIELD_MAX], seen[SIM_SHOWN_MAX + 4];
    const char *s = as_string(json_object_get(parent, key), field_name(name, where, key), r);

    if (!s)
        return 0;
    if (strcmp(s, expected) != 0)
        return fail(r, "%s is \"%s\", expected \"%s\"", name, shown(s, seen), expected);
    return 1;
}

/* Explains why wss_alexa_id_valid refused id, a field named `name`. */
static int fail_device_id(const char *id, const char *name, reason *r)
{
    size_t n = strlen(id), i;

    if (n == 0)
        return fail(r, "%s is empty", name);
    for (i = 0; i < n; i++)
        if (!wss_alexa_id_char((unsigned char)id[i]))
            return fail(r, "%s contains a character outside letters, digits, space and _-=#;:?@& (byte %zu)", name, i);
    return fail(r, "%s is %zu characters long, at most %d allowed", name, n, WSS_ALEXA_ID_MAX);
}

/* parent[key] as a device.id / endpointId. */
static const char *get_device_id(const json_t *parent, const char *where, const char *key, reason *r)
{
    char name[SIM_FIELD_MAX];
    const char *id = as_string(json_object_get(parent, key), field_name(name, where, key), r);

    if (!id)
        return NULL;
    if (!wss_alexa_id_valid(id))
        return fail_device_id(id, name, r), NULL;
    return id;
}

/* parent[key] as a display-category list: min..max unique known values. */
static const json_t *get_categories(const json_t *parent, const char *where, const char *key, size_t max, reason *r)
{
    char name[SIM_FIELD_MAX], item[SIM_ITEM_MAX], seen[SIM_SHOWN_MAX + 4];
    const json_t *list = get_array(parent, where, key, 1, max, r);
    size_t i, j;

    if (!list)
        return NULL;
    field_name(name, where, key);
    for (i = 0; i < json_array_size(list); i++) {
        const char *c;

        format_name(item, sizeof item, "%s[%zu]", name, i);
        if (!(c = as_string(json_array_get(list, i), item, r)))
            return NULL;
        if (!wss_alexa_display_category_known(c))
            return fail(r, "%s \"%s\" is not an Alexa display category", item, shown(c, seen)), NULL;
        for (j = 0; j < i; j++)
            if (strcmp(c, json_string_value(json_array_get(list, j))) == 0)
                return fail(r, "%s repeats \"%s\"", name, c), NULL;
    }
    return list;
}

/* -------------------------------------------------------- shared shapes */

/* root.event, an object. */
static const json_t *get_event(const json_t *root, reason *r)
{
    if (!root)
        return fail(r, "no message"), NULL;
    if (!json_is_object(root))
        return fail(r, "the message is %s, not an object", type_name(root)), NULL;
    return get_object(root, "", "event", r);
}

/* event.header: namespace ns, name one of name_a / name_b (may be NULL), payloadVersion "3",
 * messageId valid. Gives the header, and its name and messageId where asked. */
static const json_t *check_header(const json_t *event, const char *ns, const char *name_a, const char *name_b,
                                  const char **name_out, const char **message_id_out, reason *r)
{
    char seen[SIM_SHOWN_MAX + 4];
    const json_t *header = get_object(event, "", "header", r);
    const char *name, *message_id;

    if (!header || !expect_string(header, "header", "namespace", ns, r))
        return NULL;
    if (!(name = as_string(json_object_get(header, "name"), "header.name", r)))
        return NULL;
    if (strcmp(name, name_a) != 0 && (!name_b || strcmp(name, name_b) != 0)) {
        if (name_b)
            return fail(r, "header.name is \"%s\", expected \"%s\" or \"%s\"", shown(name, seen), name_a, name_b), NULL;
        return fail(r, "header.name is \"%s\", expected \"%s\"", shown(name, seen), name_a), NULL;
    }
    if (!expect_string(header, "header", "payloadVersion", "3", r))
        return NULL;
    if (!(message_id = as_string(json_object_get(header, "messageId"), "header.messageId", r)))
        return NULL;
    if (!wss_alexa_message_id_valid(message_id))
        return fail(r, "header.messageId \"%s\" is not 1 to %d characters of letters, digits and -_.",
                    shown(message_id, seen), WSS_ALEXA_MESSAGE_ID_MAX),
               NULL;
    if (name_out)
        *name_out = name;
    if (message_id_out)
        *message_id_out = message_id;
    return header;
}

/* payload.scope: {"type":"BearerToken","token":non-empty}. Gives the token. */
static const char *get_scope_token(const json_t *payload, reason *r)
{
    const json_t *scope = get_object(payload, "payload", "scope", r);

    if (!scope || !expect_string(scope, "payload.scope", "type", "BearerToken", r))
        return NULL;
    return get_string(scope, "payload.scope", "token", 1, (size_t)-1, r);
}

/* ---------------------------------------------------------------- events */

sim_event_kind sim_event_classify(const json_t *root)
{
    const json_t *header = json_object_get(json_object_get(root, "event"), "header");
    const json_t *ns = json_object_get(header, "namespace"), *name = json_object_get(header, "name");

    if (string_is(ns, "Alexa.SimpleSetup") && string_is(name, "AddOrUpdateDeviceAssociationReport"))
        return SIM_EVENT_DEVICE_ASSOCIATION_REPORT;
    if (string_is(ns, "Alexa.Discovery") && string_is(name, "AddOrUpdateReport"))
        return SIM_EVENT_DISCOVERY_ADD_OR_UPDATE;
    if (string_is(ns, "Alexa.Discovery") && string_is(name, "DeleteReport"))
        return SIM_EVENT_DISCOVERY_DELETE;
    return SIM_EVENT_UNKNOWN;
}

/* payload.device, which must be one object: the gateway takes one device per event. */
static const json_t *get_single_device(const json_t *payload, reason *r)
{
    const json_t *device = json_object_get(payload, "device");

    if (json_object_get(payload, "devices"))
        return fail(r, "payload.devices is not accepted: one device per event, as the object payload.device"), NULL;
    if (json_is_array(device))
        return fail(r, "payload.device is an array of %zu; the gateway takes one device per event, as an object",
                    json_array_size(device)),
               NULL;
    return get_object(payload, "payload", "device", r);
}

/* payload.device.signature: 1..1024 characters of standard base64. */
static const char *get_signature(const json_t *device, reason *r)
{
    const char *sig = get_string(device, "payload.device", "signature", 1, SIM_DEVICE_TOKEN_MAX, r);

    if (sig && !base64_valid(sig))
        return fail(r, "payload.device.signature is not standard base64 (A-Z a-z 0-9 + / and up to two '=' "
                       "padding, length a multiple of 4)"),
               NULL;
    return sig;
}

int sim_validate_sdae(const json_t *root, sim_sdae *out, char *why, size_t whylen)
{
    reason r = {why, whylen};
    sim_sdae v;
    const json_t *event, *payload, *device;

    memset(&v, 0, sizeof v);
    if (out)
        memset(out, 0, sizeof *out);
    clear(&r);
    if (!(event = get_event(root, &r)))
        return 0;
    if (!check_header(event, "Alexa.SimpleSetup", "AddOrUpdateDeviceAssociationReport", NULL, NULL, &v.message_id, &r))
        return 0;
    if (!(payload = get_object(event, "", "payload", &r)) || !(v.scope_token = get_scope_token(payload, &r)))
        return 0;
    if (!(device = get_single_device(payload, &r)))
        return 0;
    if (!(v.session_token = get_string(device, "payload.device", "sessionToken", 1, SIM_DEVICE_TOKEN_MAX, &r)) ||
        !(v.signature = get_signature(device, &r)) ||
        !(v.device_id = get_device_id(device, "payload.device", "id", &r)) ||
        !(v.naming_categories =
              get_categories(device, "payload.device", "namingCategories", SIM_NAMING_CATEGORIES_MAX, &r)))
        return 0;
    if (out)
        *out = v;
    return 1;
}

/* One capability of an AddOrUpdateReport endpoint; sets *is_alexa for the bare "Alexa" interface. */
static int check_capability(const json_t *cap, const char *where, int *is_alexa, reason *r)
{
    char name[SIM_FIELD_MAX];
    const json_t *version;
    const char *iface;

    if (!json_is_object(cap))
        return fail(r, "%s must be an object, got %s", where, type_name(cap));
    if (!expect_string(cap, where, "type", "AlexaInterface", r))
        return 0;
    if (!(iface = get_string(cap, where, "interface", 1, (size_t)-1, r)))
        return 0;
    version = json_object_get(cap, "version");
    field_name(name, where, "version");
    if (!version)
        return fail(r, "%s is missing", name);
    if (json_is_string(version)) {
        if (!get_string(cap, where, "version", 1, (size_t)-1, r))
            return 0;
    } else if (!json_is_number(version)) {
        return fail(r, "%s must be a string or a number, got %s", name, type_name(version));
    }
    *is_alexa = strcmp(iface, "Alexa") == 0;
    return 1;
}

static int check_capabilities(const json_t *endpoint, const char *where, reason *r)
{
    char name[SIM_FIELD_MAX], item[SIM_ITEM_MAX];
    const json_t *caps = get_array(endpoint, where, "capabilities", 1, SIM_CAPABILITIES_MAX, r);
    int has_alexa = 0;
    size_t i;

    if (!caps)
        return 0;
    field_name(name, where, "capabilities");
    for (i = 0; i < json_array_size(caps); i++) {
        int is_alexa = 0;

        format_name(item, sizeof item, "%s[%zu]", name, i);
        if (!check_capability(json_array_get(caps, i), item, &is_alexa, r))
            return 0;
        has_alexa |= is_alexa;
    }
    if (!has_alexa)
        return fail(r, "%s lacks the bare \"Alexa\" interface that every endpoint must list", name);
    return 1;
}

/* The fields of an AddOrUpdateReport endpoint beyond its endpointId. */
static int check_endpoint_details(const json_t *endpoint, const char *where, reason *r)
{
    return get_string(endpoint, where, "manufacturerName", 1, SIM_ENDPOINT_TEXT_MAX, r) &&
           get_string(endpoint, where, "friendlyName", 1, SIM_ENDPOINT_TEXT_MAX, r) &&
           get_string(endpoint, where, "description", 1, SIM_ENDPOINT_TEXT_MAX, r) &&
           get_categories(endpoint, where, "displayCategories", (size_t)-1, r) &&
           check_capabilities(endpoint, where, r);
}

/* Whether id equals the endpointId of one of the first n endpoints (already validated). */
static int endpoint_id_seen(const json_t *endpoints, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(id, json_string_value(json_object_get(json_array_get(endpoints, i), "endpointId"))) == 0)
            return 1;
    return 0;
}

static const json_t *get_endpoints(const json_t *payload, sim_event_kind kind, reason *r)
{
    char where[SIM_FIELD_MAX], seen[SIM_SHOWN_MAX + 4];
    const json_t *endpoints = get_array(payload, "payload", "endpoints", 1, SIM_ENDPOINTS_MAX, r);
    size_t i;

    if (!endpoints)
        return NULL;
    for (i = 0; i < json_array_size(endpoints); i++) {
        const json_t *endpoint = json_array_get(endpoints, i);
        const char *id;

        format_name(where, sizeof where, "payload.endpoints[%zu]", i);
        if (!json_is_object(endpoint))
            return fail(r, "%s must be an object, got %s", where, type_name(endpoint)), NULL;
        if (!(id = get_device_id(endpoint, where, "endpointId", r)))
            return NULL;
        if (kind != SIM_EVENT_DISCOVERY_ADD_OR_UPDATE)
            continue;
        if (endpoint_id_seen(endpoints, i, id))
            return fail(r, "%s.endpointId \"%s\" appears twice in the report", where, shown(id, seen)), NULL;
        if (!check_endpoint_details(endpoint, where, r))
            return NULL;
    }
    return endpoints;
}

int sim_validate_discovery_report(const json_t *root, sim_discovery_report *out, char *why, size_t whylen)
{
    reason r = {why, whylen};
    sim_discovery_report v;
    const json_t *event, *payload;
    const char *name;

    memset(&v, 0, sizeof v);
    if (out)
        memset(out, 0, sizeof *out);
    clear(&r);
    if (!(event = get_event(root, &r)))
        return 0;
    if (!check_header(event, "Alexa.Discovery", "AddOrUpdateReport", "DeleteReport", &name, &v.message_id, &r))
        return 0;
    v.kind = strcmp(name, "AddOrUpdateReport") == 0 ? SIM_EVENT_DISCOVERY_ADD_OR_UPDATE : SIM_EVENT_DISCOVERY_DELETE;
    if (!(payload = get_object(event, "", "payload", &r)) || !(v.scope_token = get_scope_token(payload, &r)) ||
        !(v.endpoints = get_endpoints(payload, v.kind, &r)))
        return 0;
    if (out)
        *out = v;
    return 1;
}

/* ------------------------------------------------------ skill responses */

/* header.correlationToken: must equal `expected` (any non-empty one when expected is NULL);
 * may be absent only when `required` is 0. */
static int check_correlation_token(const json_t *header, const char *expected, int required, reason *r)
{
    const json_t *v = json_object_get(header, "correlationToken");
    const char *token;

    if (!v && !required)
        return 1;
    if (!v)
        return fail(r, "header.correlationToken is missing; it must echo the directive's");
    if (!(token = get_string(header, "header", "correlationToken", 1, (size_t)-1, r)))
        return 0;
    if (expected && strcmp(token, expected) != 0)
        return fail(r, "header.correlationToken does not match the directive's");
    return 1;
}

/* The optional "endpoint" object of an Alexa response, with a valid endpointId. */
static int check_optional_endpoint(const json_t *event, reason *r)
{
    const json_t *endpoint = json_object_get(event, "endpoint");

    if (!endpoint)
        return 1;
    if (!json_is_object(endpoint))
        return fail(r, "endpoint must be an object, got %s", type_name(endpoint));
    return get_device_id(endpoint, "endpoint", "endpointId", r) != NULL;
}

/* An ErrorResponse payload; writes "<type>: <message>" and gives ERROR when well formed. */
static sim_skill_verdict judge_error_payload(sim_directive_kind kind, const json_t *payload, reason *r)
{
    char seen[SIM_SHOWN_MAX + 4];
    const char *type, *message;

    if (!(type = as_string(json_object_get(payload, "type"), "payload.type", r)) ||
        !(message = as_string(json_object_get(payload, "message"), "payload.message", r)))
        return SIM_SKILL_RESPONSE_INVALID;
    if (kind == SIM_DIRECTIVE_ACCEPT_GRANT && strcmp(type, "ACCEPT_GRANT_FAILED") != 0)
        return fail(r, "payload.type is \"%s\", expected \"ACCEPT_GRANT_FAILED\"", shown(type, seen)),
               SIM_SKILL_RESPONSE_INVALID;
    if (kind == SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE && !wss_alexa_error_type_known(type))
        return fail(r, "payload.type \"%s\" is not an Alexa error type", shown(type, seen)), SIM_SKILL_RESPONSE_INVALID;
    fail(r, "%s: %s", type, message);
    return SIM_SKILL_RESPONSE_ERROR;
}

static sim_skill_verdict judge_associate_customer_device(const json_t *root, const char *correlation_token, reason *r)
{
    const json_t *event = get_event(root, r), *header, *payload, *context;
    const char *name;
    int is_error;

    if (!event)
        return SIM_SKILL_RESPONSE_INVALID;
    if (!(header = check_header(event, "Alexa", "Response", "ErrorResponse", &name, NULL, r)))
        return SIM_SKILL_RESPONSE_INVALID;
    is_error = strcmp(name, "ErrorResponse") == 0;
    if (!check_correlation_token(header, correlation_token, !is_error, r) || !check_optional_endpoint(event, r) ||
        !(payload = get_object(event, "", "payload", r)))
        return SIM_SKILL_RESPONSE_INVALID;
    context = json_object_get(root, "context");
    if (context && !json_is_object(context))
        return fail(r, "context must be an object, got %s", type_name(context)), SIM_SKILL_RESPONSE_INVALID;
    return is_error ? judge_error_payload(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, payload, r) : SIM_SKILL_RESPONSE_OK;
}

/* AcceptGrant carries no correlation token, so one in the answer is optional and not compared. */
static sim_skill_verdict judge_accept_grant(const json_t *root, reason *r)
{
    const json_t *event = get_event(root, r), *header, *payload;
    const char *name;

    if (!event ||
        !(header =
              check_header(event, "Alexa.Authorization", "AcceptGrant.Response", "ErrorResponse", &name, NULL, r)) ||
        !check_correlation_token(header, NULL, 0, r) || !(payload = get_object(event, "", "payload", r)))
        return SIM_SKILL_RESPONSE_INVALID;
    if (strcmp(name, "ErrorResponse") == 0)
        return judge_error_payload(SIM_DIRECTIVE_ACCEPT_GRANT, payload, r);
    if (json_object_size(payload) != 0)
        return fail(r, "payload of AcceptGrant.Response must be empty, has %zu fields", json_object_size(payload)),
               SIM_SKILL_RESPONSE_INVALID;
    return SIM_SKILL_RESPONSE_OK;
}

sim_skill_verdict sim_judge_skill_response(sim_directive_kind kind, const char *body, size_t len,
                                           const char *correlation_token, char *why, size_t whylen)
{
    reason r = {why, whylen};
    json_error_t err;
    json_t *root;
    sim_skill_verdict verdict;

    clear(&r);
    if (!body || len == 0)
        return fail(&r, "the response body is empty"), SIM_SKILL_RESPONSE_INVALID;
    if (len > SIM_BODY_MAX)
        return fail(&r, "the response body is %zu bytes, more than the %d allowed", len, SIM_BODY_MAX),
               SIM_SKILL_RESPONSE_INVALID;
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return fail(&r, "the response body is not JSON: %s (line %d, column %d)", err.text, err.line, err.column),
               SIM_SKILL_RESPONSE_INVALID;
    switch (kind) {
    case SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE:
        verdict = judge_associate_customer_device(root, correlation_token, &r);
        break;
    case SIM_DIRECTIVE_ACCEPT_GRANT: verdict = judge_accept_grant(root, &r); break;
    default:
        verdict = SIM_SKILL_RESPONSE_INVALID;
        fail(&r, "unknown directive kind %d", (int)kind);
        break;
    }
    json_decref(root);
    return verdict;
}
