/* test_validate.c - unit tests of the emulator's structural checks of Alexa messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/validate.h"

#define WHY_MAX 256

/* A DER ECDSA signature's shape, base64-encoded: what a device really sends. */
#define SIGNATURE_B64 "MEUCIQBFQ0nkIvBSlxkerRPiHT21IOWr71IFXklkuC+yE/WToQIgBDpxh3TFcr2KJa2+sb/NXAJWrhHOz5+cP5JdDlK+r4k="

/* The seed's sample AddOrUpdateDeviceAssociationReport, with a base64 signature. */
static const char sdae_sample[] =
    "{\"event\":{"
    "\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AddOrUpdateDeviceAssociationReport\","
    "\"payloadVersion\":\"3\",\"messageId\":\"abc-123-def-456\"},"
    "\"payload\":{"
    "\"scope\":{\"type\":\"BearerToken\",\"token\":\"access-token-from-Amazon\"},"
    "\"device\":{\"sessionToken\":\"WSS-session-token-obtained-during-provisioning\","
    "\"signature\":\"" SIGNATURE_B64 "\","
    "\"id\":\"device-identifier\",\"namingCategories\":[\"SWITCH\"]}}}}";

static const char power_capability[] =
    "{\"type\":\"AlexaInterface\",\"interface\":\"Alexa.PowerController\",\"version\":\"3\","
    "\"properties\":{\"supported\":[{\"name\":\"powerState\"}],\"proactivelyReported\":true,\"retrievable\":true}}";

/* A realistic Alexa.Discovery AddOrUpdateReport for one smart switch. */
static const char discovery_sample[] =
    "{\"event\":{"
    "\"header\":{\"namespace\":\"Alexa.Discovery\",\"name\":\"AddOrUpdateReport\",\"payloadVersion\":\"3\","
    "\"messageId\":\"5f8a426e-01e4-4cc9-8b79-65f8bd0fd8a4\"},"
    "\"payload\":{"
    "\"endpoints\":[{"
    "\"endpointId\":\"switch-0001\",\"manufacturerName\":\"Openwss Labs\",\"friendlyName\":\"First Switch\","
    "\"description\":\"Smart switch by Openwss Labs\",\"displayCategories\":[\"SWITCH\"],"
    "\"additionalAttributes\":{\"manufacturer\":\"Openwss Labs\",\"model\":\"WS-1\",\"serialNumber\":\"0001\","
    "\"firmwareVersion\":\"1.0.0\"},"
    "\"cookie\":{\"room\":\"hall\"},"
    "\"capabilities\":["
    "{\"type\":\"AlexaInterface\",\"interface\":\"Alexa\",\"version\":\"3\"},"
    "{\"type\":\"AlexaInterface\",\"interface\":\"Alexa.PowerController\",\"version\":\"3\","
    "\"properties\":{\"supported\":[{\"name\":\"powerState\"}],\"proactivelyReported\":true,\"retrievable\":true}}"
    "]}],"
    "\"scope\":{\"type\":\"BearerToken\",\"token\":\"Atza|customer-token\"}}}}";

static const char delete_sample[] =
    "{\"event\":{"
    "\"header\":{\"namespace\":\"Alexa.Discovery\",\"name\":\"DeleteReport\",\"payloadVersion\":\"3\","
    "\"messageId\":\"0c5e8b5a-7d0e-4f5e-9b8a-3f1c2d4e5f60\"},"
    "\"payload\":{\"endpoints\":[{\"endpointId\":\"switch-0001\"},{\"endpointId\":\"switch-0002\"}],"
    "\"scope\":{\"type\":\"BearerToken\",\"token\":\"Atza|customer-token\"}}}}";

/* ---------------------------------------------------------------- helpers */

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);

    if (!v)
        fail_msg("test JSON does not parse: %s: %s", err.text, text);
    return v;
}

/* The node at a dotted path ("event.payload.endpoints.0"); "" is root itself. */
static json_t *node(json_t *root, const char *path)
{
    char buf[256], *seg, *save = NULL;
    json_t *cur = root;

    if (!path[0])
        return root;
    snprintf(buf, sizeof buf, "%s", path);
    for (seg = strtok_r(buf, ".", &save); seg && cur; seg = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)strtoul(seg, NULL, 10)) : json_object_get(cur, seg);
    if (!cur)
        fail_msg("no node at %s", path);
    return cur;
}

/* Sets parent[key] to the JSON text value, or deletes it when value is NULL. */
static void mutate(json_t *root, const char *parent, const char *key, const char *value)
{
    json_t *p = node(root, parent);

    if (!value)
        assert_int_equal(json_object_del(p, key), 0);
    else
        assert_int_equal(json_object_set_new(p, key, load(value)), 0);
}

static void set_string(json_t *root, const char *parent, const char *key, const char *value)
{
    assert_int_equal(json_object_set_new(node(root, parent), key, json_string(value)), 0);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

#define assert_why(why, expected)                                                                                      \
    do {                                                                                                               \
        if (!strstr((why), (expected)))                                                                                \
            fail_msg("reason \"%s\" does not contain \"%s\"", (why), (expected));                                      \
        if (strchr((why), '\n'))                                                                                       \
            fail_msg("reason \"%s\" is not one line", (why));                                                          \
    } while (0)

static void expect_sdae_refused(json_t *root, const char *expected)
{
    char why[WHY_MAX];
    sim_sdae out;

    memset(&out, 0xA5, sizeof out);
    if (sim_validate_sdae(root, &out, why, sizeof why))
        fail_msg("SDAE accepted, expected a refusal with \"%s\"", expected);
    assert_why(why, expected);
    assert_null(out.device_id);
    assert_null(out.message_id);
}

static void expect_sdae_accepted(json_t *root)
{
    char why[WHY_MAX];

    if (!sim_validate_sdae(root, NULL, why, sizeof why))
        fail_msg("SDAE refused: %s", why);
    assert_string_equal(why, "");
}

static void expect_discovery_refused(json_t *root, const char *expected)
{
    char why[WHY_MAX];
    sim_discovery_report out;

    memset(&out, 0xA5, sizeof out);
    if (sim_validate_discovery_report(root, &out, why, sizeof why))
        fail_msg("discovery report accepted, expected a refusal with \"%s\"", expected);
    assert_why(why, expected);
    assert_null(out.endpoints);
}

static void expect_discovery_accepted(json_t *root, sim_event_kind kind, size_t endpoints)
{
    char why[WHY_MAX];
    sim_discovery_report out;

    if (!sim_validate_discovery_report(root, &out, why, sizeof why))
        fail_msg("discovery report refused: %s", why);
    assert_int_equal(out.kind, kind);
    assert_int_equal(json_array_size(out.endpoints), endpoints);
}

/* One mutation of a sample and the reason it must produce. */
typedef struct mutation {
    const char *parent; /* dotted path of the object to change */
    const char *key;
    const char *value; /* JSON text; NULL deletes the key */
    const char *why;   /* expected part of the reason */
} mutation;

/* ------------------------------------------------------ simple predicates */

static void test_device_id_valid(void **state)
{
    static const char *const good[] = {
        "device-identifier", "a", "0",         "A z",
        "_-=#;:?@&",         " ", "abc123XYZ", "device-id#amzn1:ffs:wss-wifi-session-token:1234",
    };
    static const char *const bad[] = {
        "",         "dev/ice", "dev.ice", "dev!ice",       "dev\tice",     "dev\nice",   "dev\"ice",
        "dev<ice",  "dev%ice", "dev+ice", "dev,ice",       "dev'ice",      "dev\\ice",   "dev*ice",
        "dev(ice)", "dev~ice", "dev|ice", "d\xc3\xa9vice", "\xe2\x80\x8b", "dev\x7fice",
    };
    char *id;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!wss_alexa_id_valid(good[i]))
            fail_msg("\"%s\" refused", good[i]);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (wss_alexa_id_valid(bad[i]))
            fail_msg("\"%s\" accepted", bad[i]);
    assert_false(wss_alexa_id_valid(NULL));
    id = repeat('a', WSS_ALEXA_ID_MAX);
    assert_true(wss_alexa_id_valid(id));
    free(id);
    id = repeat('a', WSS_ALEXA_ID_MAX + 1);
    assert_false(wss_alexa_id_valid(id));
    free(id);
}

static void test_message_id_valid(void **state)
{
    char *id;

    (void)state;
    assert_true(wss_alexa_message_id_valid("abc-123-def-456"));
    assert_true(wss_alexa_message_id_valid("5f8a426e-01e4-4cc9-8b79-65f8bd0fd8a4"));
    assert_true(wss_alexa_message_id_valid("msg_1.2"));
    assert_false(wss_alexa_message_id_valid(NULL));
    assert_false(wss_alexa_message_id_valid(""));
    assert_false(wss_alexa_message_id_valid("abc 123"));
    assert_false(wss_alexa_message_id_valid("abc/123"));
    assert_false(wss_alexa_message_id_valid("abc:123"));
    assert_false(wss_alexa_message_id_valid("m\xc3\xa9ssage"));
    id = repeat('m', 127);
    assert_true(wss_alexa_message_id_valid(id));
    free(id);
    id = repeat('m', 128);
    assert_false(wss_alexa_message_id_valid(id));
    free(id);
}

static void test_display_categories(void **state)
{
    static const char *const known[] = {
        "ACTIVITY_TRIGGER",
        "CAMERA",
        "COMPUTER",
        "CONTACT_SENSOR",
        "DOOR",
        "DOORBELL",
        "EXTERIOR_BLIND",
        "FAN",
        "GAME_CONSOLE",
        "GARAGE_DOOR",
        "INTERIOR_BLIND",
        "LAPTOP",
        "LIGHT",
        "MICROWAVE",
        "MOBILE_PHONE",
        "MOTION_SENSOR",
        "MUSIC_SYSTEM",
        "NETWORK_HARDWARE",
        "OTHER",
        "OVEN",
        "PHONE",
        "SCENE_TRIGGER",
        "SCREEN",
        "SECURITY_PANEL",
        "SMARTLOCK",
        "SMARTPLUG",
        "SPEAKER",
        "STREAMING_DEVICE",
        "SWITCH",
        "TABLET",
        "TEMPERATURE_SENSOR",
        "THERMOSTAT",
        "TV",
        "WEARABLE",
        "AIR_CONDITIONER",
        "AIR_FRESHENER",
        "AIR_PURIFIER",
        "AUTO_ACCESSORY",
        "CHRISTMAS_TREE",
        "COFFEE_MAKER",
        "HEADPHONES",
        "HUB",
        "PRINTER",
        "REMOTE",
        "ROUTER",
        "SECURITY_SYSTEM",
        "SLOW_COOKER",
        "VACUUM_CLEANER",
        "WATER_HEATER",
    };
    size_t i;

    (void)state;
    assert_int_equal(sizeof known / sizeof known[0], 49);
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!wss_alexa_display_category_known(known[i]))
            fail_msg("%s refused", known[i]);
    assert_false(wss_alexa_display_category_known(NULL));
    assert_false(wss_alexa_display_category_known(""));
    assert_false(wss_alexa_display_category_known("switch"));
    assert_false(wss_alexa_display_category_known("SWITCH "));
    assert_false(wss_alexa_display_category_known("TOASTER"));
    assert_false(wss_alexa_display_category_known("WASHER"));
}

static void test_alexa_error_types(void **state)
{
    static const char *const known[] = {
        "ALREADY_IN_OPERATION",
        "BRIDGE_UNREACHABLE",
        "CLOUD_CONTROL_DISABLED",
        "ENDPOINT_BUSY",
        "ENDPOINT_LOW_POWER",
        "ENDPOINT_UNREACHABLE",
        "EXPIRED_AUTHORIZATION_CREDENTIAL",
        "FIRMWARE_OUT_OF_DATE",
        "HARDWARE_MALFUNCTION",
        "HDMI_CEC_DISABLED_ON_DEVICE",
        "HDMI_CEC_NOT_PRESENT",
        "INSUFFICIENT_PERMISSIONS",
        "INTERNAL_ERROR",
        "INVALID_AUTHORIZATION_CREDENTIAL",
        "INVALID_DIRECTIVE",
        "INVALID_VALUE",
        "NO_SUCH_ENDPOINT",
        "NOT_CALIBRATED",
        "NOT_IN_OPERATION",
        "NOT_SUPPORTED_IN_CURRENT_MODE",
        "PARTNER_OUTAGE",
        "POWER_LEVEL_NOT_SUPPORTED",
        "RATE_LIMIT_EXCEEDED",
        "TEMPERATURE_VALUE_OUT_OF_RANGE",
        "TOO_MANY_FAILED_ATTEMPTS",
        "VALUE_OUT_OF_RANGE",
    };
    size_t i;

    (void)state;
    assert_int_equal(sizeof known / sizeof known[0], 26);
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!wss_alexa_error_type_known(known[i]))
            fail_msg("%s refused", known[i]);
    assert_false(wss_alexa_error_type_known(NULL));
    assert_false(wss_alexa_error_type_known(""));
    assert_false(wss_alexa_error_type_known("ACCEPT_GRANT_FAILED"));
    assert_false(wss_alexa_error_type_known("internal_error"));
    assert_false(wss_alexa_error_type_known("BRIDGE_ERROR"));
}

/* ------------------------------------------------------------------ SDAE */

static void test_sdae_sample_accepted(void **state)
{
    json_t *root = load(sdae_sample);
    char why[WHY_MAX] = "stale";
    sim_sdae out;

    (void)state;
    assert_int_equal(sim_validate_sdae(root, &out, why, sizeof why), 1);
    assert_string_equal(why, "");
    assert_string_equal(out.message_id, "abc-123-def-456");
    assert_string_equal(out.scope_token, "access-token-from-Amazon");
    assert_string_equal(out.session_token, "WSS-session-token-obtained-during-provisioning");
    assert_string_equal(out.signature, SIGNATURE_B64);
    assert_string_equal(out.device_id, "device-identifier");
    assert_int_equal(json_array_size(out.naming_categories), 1);
    assert_string_equal(json_string_value(json_array_get(out.naming_categories, 0)), "SWITCH");
    assert_ptr_equal(out.naming_categories, node(root, "event.payload.device.namingCategories"));
    assert_int_equal(sim_event_classify(root), SIM_EVENT_DEVICE_ASSOCIATION_REPORT);
    json_decref(root);
}

/* The seed's literal "sessionToken-signature" is a placeholder, not base64: refused. */
static void test_sdae_literal_sample_signature_refused(void **state)
{
    json_t *root = load(sdae_sample);

    (void)state;
    set_string(root, "event.payload.device", "signature", "sessionToken-signature");
    expect_sdae_refused(root, "payload.device.signature is not standard base64");
    json_decref(root);
}

static void run_sdae_mutations(const mutation *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *root = load(sdae_sample);

        mutate(root, cases[i].parent, cases[i].key, cases[i].value);
        expect_sdae_refused(root, cases[i].why);
        json_decref(root);
    }
}

static void test_sdae_required_fields_missing(void **state)
{
    static const mutation cases[] = {
        {"", "event", NULL, "event is missing"},
        {"event", "header", NULL, "header is missing"},
        {"event", "payload", NULL, "payload is missing"},
        {"event.header", "namespace", NULL, "header.namespace is missing"},
        {"event.header", "name", NULL, "header.name is missing"},
        {"event.header", "payloadVersion", NULL, "header.payloadVersion is missing"},
        {"event.header", "messageId", NULL, "header.messageId is missing"},
        {"event.payload", "scope", NULL, "payload.scope is missing"},
        {"event.payload.scope", "type", NULL, "payload.scope.type is missing"},
        {"event.payload.scope", "token", NULL, "payload.scope.token is missing"},
        {"event.payload", "device", NULL, "payload.device is missing"},
        {"event.payload.device", "sessionToken", NULL, "payload.device.sessionToken is missing"},
        {"event.payload.device", "signature", NULL, "payload.device.signature is missing"},
        {"event.payload.device", "id", NULL, "payload.device.id is missing"},
        {"event.payload.device", "namingCategories", NULL, "payload.device.namingCategories is missing"},
    };

    (void)state;
    run_sdae_mutations(cases, sizeof cases / sizeof cases[0]);
}

static void test_sdae_wrong_types_and_values(void **state)
{
    static const mutation cases[] = {
        {"", "event", "[]", "event must be an object, got an array"},
        {"event", "header", "\"h\"", "header must be an object, got a string"},
        {"event", "payload", "null", "payload must be an object, got null"},
        {"event.header", "namespace", "1", "header.namespace must be a string, got an integer"},
        {"event.header", "namespace", "\"Alexa.Discovery\"",
         "header.namespace is \"Alexa.Discovery\", expected \"Alexa.SimpleSetup\""},
        {"event.header", "name", "\"AddOrUpdateReport\"",
         "header.name is \"AddOrUpdateReport\", expected \"AddOrUpdateDeviceAssociationReport\""},
        {"event.header", "name", "false", "header.name must be a string, got a boolean"},
        {"event.header", "payloadVersion", "3", "header.payloadVersion must be a string, got an integer"},
        {"event.header", "payloadVersion", "3.0", "header.payloadVersion must be a string, got a number"},
        {"event.header", "payloadVersion", "\"2\"", "header.payloadVersion is \"2\", expected \"3\""},
        {"event.header", "payloadVersion", "\"3.0\"", "header.payloadVersion is \"3.0\", expected \"3\""},
        {"event.header", "messageId", "true", "header.messageId must be a string, got a boolean"},
        {"event.header", "messageId", "\"\"", "header.messageId \"\" is not"},
        {"event.header", "messageId", "\"abc 123\"", "header.messageId \"abc 123\" is not"},
        {"event.payload", "scope", "[]", "payload.scope must be an object, got an array"},
        {"event.payload.scope", "type", "\"Bearer\"", "payload.scope.type is \"Bearer\", expected \"BearerToken\""},
        {"event.payload.scope", "token", "42", "payload.scope.token must be a string, got an integer"},
        {"event.payload.scope", "token", "\"\"", "payload.scope.token is empty"},
        {"event.payload", "device", "\"dev\"", "payload.device must be an object, got a string"},
        {"event.payload", "device", "null", "payload.device must be an object, got null"},
        {"event.payload.device", "sessionToken", "null", "payload.device.sessionToken must be a string, got null"},
        {"event.payload.device", "sessionToken", "\"\"", "payload.device.sessionToken is empty"},
        {"event.payload.device", "signature", "{}", "payload.device.signature must be a string, got an object"},
        {"event.payload.device", "signature", "\"\"", "payload.device.signature is empty"},
        {"event.payload.device", "id", "42", "payload.device.id must be a string, got an integer"},
        {"event.payload.device", "id", "\"\"", "payload.device.id is empty"},
        {"event.payload.device", "id", "[\"device-identifier\"]", "payload.device.id must be a string, got an array"},
        {"event.payload.device", "namingCategories", "\"SWITCH\"",
         "payload.device.namingCategories must be an array, got a string"},
    };

    (void)state;
    run_sdae_mutations(cases, sizeof cases / sizeof cases[0]);
}

static void test_sdae_naming_categories(void **state)
{
    static const mutation cases[] = {
        {"event.payload.device", "namingCategories", "[]", "payload.device.namingCategories is empty"},
        {"event.payload.device", "namingCategories", "[\"TOASTER\"]",
         "payload.device.namingCategories[0] \"TOASTER\" is not an Alexa display category"},
        {"event.payload.device", "namingCategories", "[\"SWITCH\",\"switch\"]",
         "payload.device.namingCategories[1] \"switch\" is not an Alexa display category"},
        {"event.payload.device", "namingCategories", "[\"SWITCH\",\"LIGHT\",\"SWITCH\"]",
         "payload.device.namingCategories repeats \"SWITCH\""},
        {"event.payload.device", "namingCategories", "[\"SWITCH\",7]",
         "payload.device.namingCategories[1] must be a string, got an integer"},
        {"event.payload.device", "namingCategories", "[[\"SWITCH\"]]",
         "payload.device.namingCategories[0] must be a string, got an array"},
        {"event.payload.device", "namingCategories", "[null]",
         "payload.device.namingCategories[0] must be a string, got null"},
        {"event.payload.device", "namingCategories",
         "[\"CAMERA\",\"COMPUTER\",\"DOOR\",\"DOORBELL\",\"FAN\",\"HUB\",\"LAPTOP\",\"LIGHT\",\"OTHER\",\"OVEN\","
         "\"PHONE\",\"SCREEN\",\"SPEAKER\",\"SWITCH\",\"TABLET\",\"TV\",\"ROUTER\"]",
         "payload.device.namingCategories has 17 entries, at most 16 allowed"},
    };
    json_t *root = load(sdae_sample);

    (void)state;
    run_sdae_mutations(cases, sizeof cases / sizeof cases[0]);
    mutate(root, "event.payload.device", "namingCategories",
           "[\"CAMERA\",\"COMPUTER\",\"DOOR\",\"DOORBELL\",\"FAN\",\"HUB\",\"LAPTOP\",\"LIGHT\",\"OTHER\",\"OVEN\","
           "\"PHONE\",\"SCREEN\",\"SPEAKER\",\"SWITCH\",\"TABLET\",\"TV\"]");
    expect_sdae_accepted(root);
    json_decref(root);
}

static void test_sdae_one_device_per_event(void **state)
{
    static const char two_devices[] =
        "[{\"sessionToken\":\"t1\",\"signature\":\"QUJD\",\"id\":\"dev-1\",\"namingCategories\":[\"SWITCH\"]},"
        "{\"sessionToken\":\"t2\",\"signature\":\"REVG\",\"id\":\"dev-2\",\"namingCategories\":[\"LIGHT\"]}]";
    json_t *root = load(sdae_sample);

    (void)state;
    mutate(root, "event.payload", "device", two_devices);
    expect_sdae_refused(root, "one device per event");
    expect_sdae_refused(root, "payload.device is an array of 2");
    json_decref(root);

    /* Even a one-element array is a batch, not a device. */
    root = load(sdae_sample);
    mutate(root, "event.payload", "device",
           "[{\"sessionToken\":\"t1\",\"signature\":\"QUJD\",\"id\":\"dev-1\",\"namingCategories\":[\"SWITCH\"]}]");
    expect_sdae_refused(root, "one device per event");
    json_decref(root);

    /* A "devices" list is refused, with or without a "device" beside it. */
    root = load(sdae_sample);
    mutate(root, "event.payload", "devices", two_devices);
    expect_sdae_refused(root, "payload.devices is not accepted: one device per event");
    mutate(root, "event.payload", "device", NULL);
    expect_sdae_refused(root, "payload.devices is not accepted: one device per event");
    json_decref(root);
}

static void test_sdae_device_id_characters(void **state)
{
    static const char *const forbidden[] = {
        "device/identifier", "device.identifier", "device!",   "device\tid", "d\xc3\xa9vice",    "device\"id",
        "device<id>",        "device%20id",       "device+id", "device,id",  "\xf0\x9f\x92\xa1",
    };
    static const char allowed[] = " _-=#;:?@&";
    char why[WHY_MAX], id[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        json_t *root = load(sdae_sample);

        set_string(root, "event.payload.device", "id", forbidden[i]);
        expect_sdae_refused(root,
                            "payload.device.id contains a character outside letters, digits, space and _-=#;:?@&");
        json_decref(root);
    }
    for (i = 0; allowed[i]; i++) {
        json_t *root = load(sdae_sample);
        sim_sdae out;

        snprintf(id, sizeof id, "dev%cice-%zu", allowed[i], i);
        set_string(root, "event.payload.device", "id", id);
        if (!sim_validate_sdae(root, &out, why, sizeof why))
            fail_msg("id \"%s\" refused: %s", id, why);
        assert_string_equal(out.device_id, id);
        json_decref(root);
    }
}

static void test_sdae_lengths(void **state)
{
    json_t *root = load(sdae_sample);
    char *s;

    (void)state;
    s = repeat('i', WSS_ALEXA_ID_MAX);
    set_string(root, "event.payload.device", "id", s);
    expect_sdae_accepted(root);
    free(s);
    s = repeat('i', WSS_ALEXA_ID_MAX + 1);
    set_string(root, "event.payload.device", "id", s);
    expect_sdae_refused(root, "payload.device.id is 257 characters long, at most 256 allowed");
    free(s);
    set_string(root, "event.payload.device", "id", "device-identifier");

    s = repeat('t', 1024);
    set_string(root, "event.payload.device", "sessionToken", s);
    expect_sdae_accepted(root);
    free(s);
    s = repeat('t', 1025);
    set_string(root, "event.payload.device", "sessionToken", s);
    expect_sdae_refused(root, "payload.device.sessionToken is 1025 characters long, at most 1024 allowed");
    free(s);
    set_string(root, "event.payload.device", "sessionToken", "session");

    s = repeat('A', 1024);
    set_string(root, "event.payload.device", "signature", s);
    expect_sdae_accepted(root);
    free(s);
    s = repeat('A', 1028);
    set_string(root, "event.payload.device", "signature", s);
    expect_sdae_refused(root, "payload.device.signature is 1028 characters long, at most 1024 allowed");
    free(s);
    json_decref(root);
}

static void test_sdae_signature_base64(void **state)
{
    static const char *const good[] = {"QQ==", "QUI=", "QUJD", "ab+/", "AAAAAAAA", "+/+/", SIGNATURE_B64};
    static const char *const bad[] = {
        "Q===", "====", "QUJ",    "Q",     "QU-_",     "QU-A",        "QU_A",
        "QU=J", "=QUJ", "QUJD\n", "QUJ D", "QUJD====", "QUJ\xc3\xa9", "sessionToken-signature",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_t *root = load(sdae_sample);

        set_string(root, "event.payload.device", "signature", good[i]);
        expect_sdae_accepted(root);
        json_decref(root);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *root = load(sdae_sample);

        set_string(root, "event.payload.device", "signature", bad[i]);
        expect_sdae_refused(root, "payload.device.signature is not standard base64");
        json_decref(root);
    }
}

static void test_sdae_embedded_nul_refused(void **state)
{
    json_t *root = load(sdae_sample);

    (void)state;
    json_object_set_new(node(root, "event.payload.device"), "id", json_stringn("device\0identifier", 17));
    expect_sdae_refused(root, "payload.device.id contains a NUL character");
    json_decref(root);

    root = load(sdae_sample);
    json_object_set_new(node(root, "event.header"), "namespace", json_stringn("Alexa.SimpleSetup\0x", 19));
    expect_sdae_refused(root, "header.namespace contains a NUL character");
    assert_int_equal(sim_event_classify(root), SIM_EVENT_UNKNOWN);
    json_decref(root);

    root = load(sdae_sample);
    json_object_set_new(node(root, "event.payload.device"), "signature", json_stringn("QUJD\0\0\0\0", 8));
    expect_sdae_refused(root, "payload.device.signature contains a NUL character");
    json_decref(root);
}

static void test_sdae_extra_keys_ignored(void **state)
{
    json_t *root = load(sdae_sample);

    (void)state;
    mutate(root, "event.payload.device", "firmware", "\"1.2.3\"");
    mutate(root, "event.header", "correlationToken", "\"ignored\"");
    mutate(root, "event", "endpoint", "{\"endpointId\":\"x\"}");
    mutate(root, "", "context", "{}");
    expect_sdae_accepted(root);
    json_decref(root);
}

static void test_sdae_not_an_object(void **state)
{
    char why[WHY_MAX];
    json_t *root = load("[1,2]");

    (void)state;
    assert_int_equal(sim_validate_sdae(root, NULL, why, sizeof why), 0);
    assert_string_equal(why, "the message is an array, not an object");
    json_decref(root);
    assert_int_equal(sim_validate_sdae(NULL, NULL, why, sizeof why), 0);
    assert_string_equal(why, "no message");

    root = load(discovery_sample);
    assert_int_equal(sim_validate_sdae(root, NULL, why, sizeof why), 0);
    assert_why(why, "header.namespace is \"Alexa.Discovery\", expected \"Alexa.SimpleSetup\"");
    json_decref(root);
}

static void test_why_buffer_handling(void **state)
{
    json_t *root = load(sdae_sample);
    char why[8], big[WHY_MAX];

    (void)state;
    set_string(root, "event.payload.device", "id", "a/b");
    assert_int_equal(sim_validate_sdae(root, NULL, NULL, 0), 0);
    assert_int_equal(sim_validate_sdae(root, NULL, NULL, 100), 0);
    memset(why, 'X', sizeof why);
    assert_int_equal(sim_validate_sdae(root, NULL, why, 0), 0);
    assert_int_equal(why[0], 'X');
    assert_int_equal(sim_validate_sdae(root, NULL, why, sizeof why), 0);
    assert_string_equal(why, "payload");
    assert_int_equal(sim_validate_sdae(root, NULL, why, 1), 0);
    assert_string_equal(why, "");

    /* A hostile value quoted in a reason is shortened and kept on one line. */
    set_string(root, "event.payload.device", "id", "device");
    set_string(root, "event.header", "namespace", "Alexa\nSimpleSetup\r\x1b[31m-and-a-very-long-tail-that-goes-on");
    assert_int_equal(sim_validate_sdae(root, NULL, big, sizeof big), 0);
    assert_why(big, "header.namespace is \"Alexa?SimpleSetup??[31m-and-a-very-long-...\"");
    assert_null(strchr(big, '\r'));
    assert_null(strchr(big, '\x1b'));
    json_decref(root);
}

/* ------------------------------------------------------------- discovery */

static void test_discovery_sample_accepted(void **state)
{
    json_t *root = load(discovery_sample);
    char why[WHY_MAX] = "stale";
    sim_discovery_report out;

    (void)state;
    assert_int_equal(sim_validate_discovery_report(root, &out, why, sizeof why), 1);
    assert_string_equal(why, "");
    assert_int_equal(out.kind, SIM_EVENT_DISCOVERY_ADD_OR_UPDATE);
    assert_string_equal(out.message_id, "5f8a426e-01e4-4cc9-8b79-65f8bd0fd8a4");
    assert_string_equal(out.scope_token, "Atza|customer-token");
    assert_ptr_equal(out.endpoints, node(root, "event.payload.endpoints"));
    assert_int_equal(json_array_size(out.endpoints), 1);
    assert_int_equal(sim_event_classify(root), SIM_EVENT_DISCOVERY_ADD_OR_UPDATE);

    /* A numeric version is as good as a string one. */
    mutate(root, "event.payload.endpoints.0.capabilities.0", "version", "3");
    expect_discovery_accepted(root, SIM_EVENT_DISCOVERY_ADD_OR_UPDATE, 1);
    json_decref(root);
}

static void run_discovery_mutations(const char *sample, const mutation *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *root = load(sample);

        mutate(root, cases[i].parent, cases[i].key, cases[i].value);
        expect_discovery_refused(root, cases[i].why);
        json_decref(root);
    }
}

static void test_discovery_refusals(void **state)
{
    static const char only_power[] =
        "[{\"type\":\"AlexaInterface\",\"interface\":\"Alexa.PowerController\",\"version\":\"3\"}]";
    static const mutation cases[] = {
        {"event.header", "namespace", "\"Alexa.SimpleSetup\"",
         "header.namespace is \"Alexa.SimpleSetup\", expected \"Alexa.Discovery\""},
        {"event.header", "name", "\"Discover.Response\"",
         "header.name is \"Discover.Response\", expected \"AddOrUpdateReport\" or \"DeleteReport\""},
        {"event.header", "payloadVersion", "3", "header.payloadVersion must be a string, got an integer"},
        {"event.header", "messageId", "\"id/1\"", "header.messageId \"id/1\" is not"},
        {"event.payload", "scope", NULL, "payload.scope is missing"},
        {"event.payload.scope", "token", "\"\"", "payload.scope.token is empty"},
        {"event.payload", "endpoints", NULL, "payload.endpoints is missing"},
        {"event.payload", "endpoints", "{}", "payload.endpoints must be an array, got an object"},
        {"event.payload", "endpoints", "[]", "payload.endpoints is empty"},
        {"event.payload", "endpoints", "[\"switch-0001\"]", "payload.endpoints[0] must be an object, got a string"},
        {"event.payload.endpoints.0", "endpointId", NULL, "payload.endpoints[0].endpointId is missing"},
        {"event.payload.endpoints.0", "endpointId", "\"switch/0001\"",
         "payload.endpoints[0].endpointId contains a character outside letters, digits, space and _-=#;:?@&"},
        {"event.payload.endpoints.0", "endpointId", "1", "payload.endpoints[0].endpointId must be a string"},
        {"event.payload.endpoints.0", "manufacturerName", NULL, "payload.endpoints[0].manufacturerName is missing"},
        {"event.payload.endpoints.0", "manufacturerName", "\"\"", "payload.endpoints[0].manufacturerName is empty"},
        {"event.payload.endpoints.0", "friendlyName", "7", "payload.endpoints[0].friendlyName must be a string"},
        {"event.payload.endpoints.0", "description", NULL, "payload.endpoints[0].description is missing"},
        {"event.payload.endpoints.0", "displayCategories", NULL, "payload.endpoints[0].displayCategories is missing"},
        {"event.payload.endpoints.0", "displayCategories", "[]", "payload.endpoints[0].displayCategories is empty"},
        {"event.payload.endpoints.0", "displayCategories", "[\"TOASTER\"]",
         "payload.endpoints[0].displayCategories[0] \"TOASTER\" is not an Alexa display category"},
        {"event.payload.endpoints.0", "displayCategories", "[\"SWITCH\",\"SWITCH\"]",
         "payload.endpoints[0].displayCategories repeats \"SWITCH\""},
        {"event.payload.endpoints.0", "capabilities", NULL, "payload.endpoints[0].capabilities is missing"},
        {"event.payload.endpoints.0", "capabilities", "[]", "payload.endpoints[0].capabilities is empty"},
        {"event.payload.endpoints.0", "capabilities", only_power,
         "payload.endpoints[0].capabilities lacks the bare \"Alexa\" interface"},
    };
    static const mutation capability_cases[] = {
        {"event.payload.endpoints.0.capabilities.1", "type", "\"Interface\"",
         "payload.endpoints[0].capabilities[1].type is \"Interface\", expected \"AlexaInterface\""},
        {"event.payload.endpoints.0.capabilities.1", "type", NULL,
         "payload.endpoints[0].capabilities[1].type is missing"},
        {"event.payload.endpoints.0.capabilities.1", "interface", "\"\"",
         "payload.endpoints[0].capabilities[1].interface is empty"},
        {"event.payload.endpoints.0.capabilities.1", "interface", NULL,
         "payload.endpoints[0].capabilities[1].interface is missing"},
        {"event.payload.endpoints.0.capabilities.1", "version", "true",
         "payload.endpoints[0].capabilities[1].version must be a string or a number, got a boolean"},
        {"event.payload.endpoints.0.capabilities.1", "version", NULL,
         "payload.endpoints[0].capabilities[1].version is missing"},
        {"event.payload.endpoints.0.capabilities.1", "version", "\"\"",
         "payload.endpoints[0].capabilities[1].version is empty"},
        {"event.payload.endpoints.0.capabilities.0", "interface", "\"Alexa \"",
         "payload.endpoints[0].capabilities lacks the bare \"Alexa\" interface"},
    };
    json_t *root;

    (void)state;
    run_discovery_mutations(discovery_sample, cases, sizeof cases / sizeof cases[0]);
    run_discovery_mutations(discovery_sample, capability_cases, sizeof capability_cases / sizeof capability_cases[0]);

    root = load(discovery_sample);
    assert_int_equal(json_array_set_new(node(root, "event.payload.endpoints.0.capabilities"), 1, json_string("x")), 0);
    expect_discovery_refused(root, "payload.endpoints[0].capabilities[1] must be an object, got a string");
    json_decref(root);

    root = load(sdae_sample);
    expect_discovery_refused(root, "header.namespace is \"Alexa.SimpleSetup\", expected \"Alexa.Discovery\"");
    json_decref(root);
}

static void test_discovery_duplicate_endpoint_ids(void **state)
{
    json_t *root = load(discovery_sample);
    json_t *endpoints = node(root, "event.payload.endpoints");
    json_t *copy = json_deep_copy(json_array_get(endpoints, 0));

    (void)state;
    json_object_set_new(copy, "endpointId", json_string("switch-0002"));
    json_array_append(endpoints, copy);
    expect_discovery_accepted(root, SIM_EVENT_DISCOVERY_ADD_OR_UPDATE, 2);
    json_object_set_new(copy, "endpointId", json_string("switch-0001"));
    expect_discovery_refused(root, "payload.endpoints[1].endpointId \"switch-0001\" appears twice in the report");
    json_decref(copy);
    json_decref(root);
}

static void test_discovery_endpoint_count(void **state)
{
    json_t *root = load(discovery_sample);
    json_t *endpoints = node(root, "event.payload.endpoints");
    json_t *first = json_array_get(endpoints, 0);
    char id[32];
    size_t i;

    (void)state;
    for (i = 1; i < 300; i++) {
        json_t *copy = json_deep_copy(first);

        snprintf(id, sizeof id, "switch-%04zu", i + 1);
        json_object_set_new(copy, "endpointId", json_string(id));
        json_array_append_new(endpoints, copy);
    }
    expect_discovery_accepted(root, SIM_EVENT_DISCOVERY_ADD_OR_UPDATE, 300);
    json_array_append_new(endpoints, json_pack("{s:s}", "endpointId", "switch-0301"));
    expect_discovery_refused(root, "payload.endpoints has 301 entries, at most 300 allowed");
    json_decref(root);
}

static void test_discovery_capability_count(void **state)
{
    json_t *root = load(discovery_sample);
    json_t *caps = node(root, "event.payload.endpoints.0.capabilities");

    (void)state;
    while (json_array_size(caps) < 100)
        json_array_append_new(caps, load(power_capability));
    expect_discovery_accepted(root, SIM_EVENT_DISCOVERY_ADD_OR_UPDATE, 1);
    json_array_append_new(caps, load(power_capability));
    expect_discovery_refused(root, "payload.endpoints[0].capabilities has 101 entries, at most 100 allowed");
    json_decref(root);
}

static void test_discovery_text_lengths(void **state)
{
    json_t *root = load(discovery_sample);
    char *s, utf8[128 * 2 + 1];
    size_t i;

    (void)state;
    s = repeat('n', 128);
    set_string(root, "event.payload.endpoints.0", "friendlyName", s);
    expect_discovery_accepted(root, SIM_EVENT_DISCOVERY_ADD_OR_UPDATE, 1);
    free(s);
    s = repeat('n', 129);
    set_string(root, "event.payload.endpoints.0", "friendlyName", s);
    expect_discovery_refused(root, "payload.endpoints[0].friendlyName is 129 characters long, at most 128 allowed");
    free(s);

    /* Lengths count characters, not bytes: 128 two-byte characters fit. */
    for (i = 0; i < 128; i++)
        memcpy(utf8 + 2 * i, "\xc3\xa9", 2);
    utf8[256] = '\0';
    set_string(root, "event.payload.endpoints.0", "friendlyName", utf8);
    expect_discovery_accepted(root, SIM_EVENT_DISCOVERY_ADD_OR_UPDATE, 1);

    s = repeat('d', 129);
    set_string(root, "event.payload.endpoints.0", "description", s);
    expect_discovery_refused(root, "payload.endpoints[0].description is 129 characters long");
    set_string(root, "event.payload.endpoints.0", "description", "ok");
    set_string(root, "event.payload.endpoints.0", "manufacturerName", s);
    expect_discovery_refused(root, "payload.endpoints[0].manufacturerName is 129 characters long");
    free(s);
    json_decref(root);
}

static void test_discovery_delete_report(void **state)
{
    static const mutation cases[] = {
        {"event.payload.endpoints.1", "endpointId", "\"switch.0002\"",
         "payload.endpoints[1].endpointId contains a character outside"},
        {"event.payload.endpoints.1", "endpointId", NULL, "payload.endpoints[1].endpointId is missing"},
        {"event.payload", "endpoints", "[]", "payload.endpoints is empty"},
        {"event.payload", "scope", NULL, "payload.scope is missing"},
    };
    json_t *root = load(delete_sample);
    char why[WHY_MAX];
    sim_discovery_report out;

    (void)state;
    assert_int_equal(sim_validate_discovery_report(root, &out, why, sizeof why), 1);
    assert_int_equal(out.kind, SIM_EVENT_DISCOVERY_DELETE);
    assert_string_equal(out.message_id, "0c5e8b5a-7d0e-4f5e-9b8a-3f1c2d4e5f60");
    assert_string_equal(out.scope_token, "Atza|customer-token");
    assert_int_equal(json_array_size(out.endpoints), 2);
    assert_int_equal(sim_event_classify(root), SIM_EVENT_DISCOVERY_DELETE);
    json_decref(root);
    run_discovery_mutations(delete_sample, cases, sizeof cases / sizeof cases[0]);
}

/* -------------------------------------------------------------- classify */

static void test_event_classify(void **state)
{
    static const struct {
        const char *json;
        sim_event_kind kind;
    } cases[] = {
        {"{\"event\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\","
         "\"name\":\"AddOrUpdateDeviceAssociationReport\"}}}",
         SIM_EVENT_DEVICE_ASSOCIATION_REPORT},
        {"{\"event\":{\"header\":{\"namespace\":\"Alexa.Discovery\",\"name\":\"AddOrUpdateReport\"}}}",
         SIM_EVENT_DISCOVERY_ADD_OR_UPDATE},
        {"{\"event\":{\"header\":{\"namespace\":\"Alexa.Discovery\",\"name\":\"DeleteReport\"}}}",
         SIM_EVENT_DISCOVERY_DELETE},
        {"{\"event\":{\"header\":{\"namespace\":\"Alexa.Discovery\",\"name\":\"Discover.Response\"}}}",
         SIM_EVENT_UNKNOWN},
        {"{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"ChangeReport\"}}}", SIM_EVENT_UNKNOWN},
        {"{\"event\":{\"header\":{\"namespace\":\"Alexa.SimpleSetup\",\"name\":\"AddOrUpdateReport\"}}}",
         SIM_EVENT_UNKNOWN},
        {"{\"event\":{\"header\":{\"namespace\":\"alexa.discovery\",\"name\":\"DeleteReport\"}}}", SIM_EVENT_UNKNOWN},
        {"{\"event\":{\"header\":{\"namespace\":7,\"name\":\"DeleteReport\"}}}", SIM_EVENT_UNKNOWN},
        {"{\"event\":{\"header\":[\"Alexa.Discovery\",\"DeleteReport\"]}}", SIM_EVENT_UNKNOWN},
        {"{\"event\":{\"header\":{\"namespace\":\"Alexa.Discovery\"}}}", SIM_EVENT_UNKNOWN},
        {"{\"header\":{\"namespace\":\"Alexa.Discovery\",\"name\":\"DeleteReport\"}}", SIM_EVENT_UNKNOWN},
        {"{\"event\":[]}", SIM_EVENT_UNKNOWN},
        {"{}", SIM_EVENT_UNKNOWN},
        {"[]", SIM_EVENT_UNKNOWN},
        {"\"Alexa.Discovery\"", SIM_EVENT_UNKNOWN},
        {"null", SIM_EVENT_UNKNOWN},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *root = load(cases[i].json);

        if (sim_event_classify(root) != cases[i].kind)
            fail_msg("%s classified as %d, expected %d", cases[i].json, sim_event_classify(root), cases[i].kind);
        json_decref(root);
    }
    assert_int_equal(sim_event_classify(NULL), SIM_EVENT_UNKNOWN);
}

/* ----------------------------------------------------------------- judge */

static const char response_ok[] =
    "{\"context\":{\"properties\":[]},\"event\":{"
    "\"header\":{\"namespace\":\"Alexa\",\"name\":\"Response\",\"payloadVersion\":\"3\","
    "\"messageId\":\"7c1b9d2e-1111-4c2a-9e1f-000000000001\",\"correlationToken\":\"corr-1\"},"
    "\"endpoint\":{\"endpointId\":\"device-identifier\"},\"payload\":{}}}";

static const char error_ok[] =
    "{\"event\":{"
    "\"header\":{\"namespace\":\"Alexa\",\"name\":\"ErrorResponse\",\"payloadVersion\":\"3\","
    "\"messageId\":\"7c1b9d2e-1111-4c2a-9e1f-000000000002\",\"correlationToken\":\"corr-1\"},"
    "\"endpoint\":{\"endpointId\":\"device-identifier\"},"
    "\"payload\":{\"type\":\"ENDPOINT_UNREACHABLE\",\"message\":\"device is offline\"}}}";

static const char grant_ok[] =
    "{\"event\":{\"header\":{\"namespace\":\"Alexa.Authorization\",\"name\":\"AcceptGrant.Response\","
    "\"payloadVersion\":\"3\",\"messageId\":\"7c1b9d2e-1111-4c2a-9e1f-000000000003\"},\"payload\":{}}}";

static const char grant_error[] =
    "{\"event\":{\"header\":{\"namespace\":\"Alexa.Authorization\",\"name\":\"ErrorResponse\","
    "\"payloadVersion\":\"3\",\"messageId\":\"7c1b9d2e-1111-4c2a-9e1f-000000000004\"},"
    "\"payload\":{\"type\":\"ACCEPT_GRANT_FAILED\",\"message\":\"Failed to handle the AcceptGrant directive\"}}}";

static sim_skill_verdict judge_text(sim_directive_kind kind, const char *body, char *why)
{
    return sim_judge_skill_response(kind, body, strlen(body), "corr-1", why, WHY_MAX);
}

/* body with parent[key] changed, as text. */
static char *mutated_text(const char *body, const char *parent, const char *key, const char *value)
{
    json_t *root = load(body);
    char *text;

    mutate(root, parent, key, value);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_non_null(text);
    return text;
}

static void test_judge_response_ok(void **state)
{
    char why[WHY_MAX] = "stale";
    char *text;

    (void)state;
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, response_ok, why), SIM_SKILL_RESPONSE_OK);
    assert_string_equal(why, "");

    /* endpoint and context are optional. */
    text = mutated_text(response_ok, "event", "endpoint", NULL);
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_OK);
    free(text);
    text = mutated_text(response_ok, "", "context", NULL);
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_OK);
    free(text);

    /* With no token to compare (a caller without one), any token is taken, but one is still required. */
    assert_int_equal(sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, response_ok, strlen(response_ok),
                                              NULL, why, sizeof why),
                     SIM_SKILL_RESPONSE_OK);
    text = mutated_text(response_ok, "event.header", "correlationToken", NULL);
    assert_int_equal(
        sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, strlen(text), NULL, why, sizeof why),
        SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "header.correlationToken is missing");
    free(text);
}

static void test_judge_response_invalid(void **state)
{
    static const mutation cases[] = {
        {"event.header", "correlationToken", "\"corr-2\"", "header.correlationToken does not match the directive's"},
        {"event.header", "correlationToken", "\"corr-1 \"", "header.correlationToken does not match"},
        {"event.header", "correlationToken", NULL, "header.correlationToken is missing"},
        {"event.header", "correlationToken", "1", "header.correlationToken must be a string, got an integer"},
        {"event.header", "correlationToken", "\"\"", "header.correlationToken is empty"},
        {"event.header", "payloadVersion", "\"2\"", "header.payloadVersion is \"2\", expected \"3\""},
        {"event.header", "payloadVersion", "3", "header.payloadVersion must be a string, got an integer"},
        {"event.header", "namespace", "\"Alexa.SimpleSetup\"",
         "header.namespace is \"Alexa.SimpleSetup\", expected \"Alexa\""},
        {"event.header", "name", "\"AssociateCustomerDevice.Response\"",
         "header.name is \"AssociateCustomerDevice.Response\", expected \"Response\" or \"ErrorResponse\""},
        {"event.header", "name", "\"DeferredResponse\"", "header.name is \"DeferredResponse\""},
        {"event.header", "messageId", NULL, "header.messageId is missing"},
        {"event.header", "messageId", "\"m/1\"", "header.messageId \"m/1\" is not"},
        {"event", "payload", NULL, "payload is missing"},
        {"event", "payload", "[]", "payload must be an object, got an array"},
        {"event", "endpoint", "\"device-identifier\"", "endpoint must be an object, got a string"},
        {"event.endpoint", "endpointId", NULL, "endpoint.endpointId is missing"},
        {"event.endpoint", "endpointId", "\"device/identifier\"", "endpoint.endpointId contains a character outside"},
        {"", "context", "[]", "context must be an object, got an array"},
        {"", "event", "{}", "header is missing"},
        {"", "event", NULL, "event is missing"},
    };
    char why[WHY_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = mutated_text(response_ok, cases[i].parent, cases[i].key, cases[i].value);

        if (judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why) != SIM_SKILL_RESPONSE_INVALID)
            fail_msg("not judged INVALID: %s", text);
        assert_why(why, cases[i].why);
        free(text);
    }
}

static void test_judge_error_response(void **state)
{
    char why[WHY_MAX];
    char *text;

    (void)state;
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, error_ok, why), SIM_SKILL_RESPONSE_ERROR);
    assert_string_equal(why, "ENDPOINT_UNREACHABLE: device is offline");

    /* The correlation token may be left out of an error, but not be wrong. */
    text = mutated_text(error_ok, "event.header", "correlationToken", NULL);
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_ERROR);
    assert_string_equal(why, "ENDPOINT_UNREACHABLE: device is offline");
    free(text);
    text = mutated_text(error_ok, "event.header", "correlationToken", "\"corr-9\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "header.correlationToken does not match");
    free(text);

    text = mutated_text(error_ok, "event.endpoint", "endpointId", "\"device.identifier\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "endpoint.endpointId contains a character outside");
    free(text);

    text = mutated_text(error_ok, "event.payload", "type", "\"DEVICE_ON_FIRE\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "payload.type \"DEVICE_ON_FIRE\" is not an Alexa error type");
    free(text);
    text = mutated_text(error_ok, "event.payload", "type", "\"ACCEPT_GRANT_FAILED\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "is not an Alexa error type");
    free(text);
    text = mutated_text(error_ok, "event.payload", "type", NULL);
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "payload.type is missing");
    free(text);
    text = mutated_text(error_ok, "event.payload", "message", NULL);
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "payload.message is missing");
    free(text);
    text = mutated_text(error_ok, "event.payload", "message", "{\"text\":\"x\"}");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "payload.message must be a string, got an object");
    free(text);

    /* A multi-line message still gives a one-line reason. */
    text = mutated_text(error_ok, "event.payload", "message", "\"line one\\nline two\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, why), SIM_SKILL_RESPONSE_ERROR);
    assert_string_equal(why, "ENDPOINT_UNREACHABLE: line one line two");
    free(text);
}

static void test_judge_not_json(void **state)
{
    static const char *const bodies[] = {
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"Response\"",
        "OK",
        "null",
        "\"Response\"",
        "{\"event\":{},\"event\":{}}",
        "{} {}",
    };
    char why[WHY_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, bodies[i], why),
                         SIM_SKILL_RESPONSE_INVALID);
        assert_why(why, "the response body is not JSON");
    }
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "[]", why), SIM_SKILL_RESPONSE_INVALID);
    assert_string_equal(why, "the message is an array, not an object");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, "", why), SIM_SKILL_RESPONSE_INVALID);
    assert_string_equal(why, "the response body is empty");
    assert_int_equal(sim_judge_skill_response(SIM_DIRECTIVE_ACCEPT_GRANT, NULL, 10, NULL, why, sizeof why),
                     SIM_SKILL_RESPONSE_INVALID);
    assert_string_equal(why, "the response body is empty");

    /* A truncated valid answer. */
    assert_int_equal(sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, response_ok,
                                              strlen(response_ok) - 1, "corr-1", why, sizeof why),
                     SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "the response body is not JSON");
}

static void test_judge_body_bounds(void **state)
{
    size_t limit = 1024 * 1024, n = strlen(response_ok);
    char *body = malloc(limit + 1), why[WHY_MAX];
    char trailing[sizeof response_ok + 16];

    (void)state;
    assert_non_null(body);
    /* Exactly 1 MiB (padded with spaces) is read; one byte more is refused unread. */
    memset(body, ' ', limit + 1);
    memcpy(body, response_ok, n);
    assert_int_equal(
        sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, body, limit, "corr-1", why, sizeof why),
        SIM_SKILL_RESPONSE_OK);
    assert_int_equal(
        sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, body, limit + 1, "corr-1", why, sizeof why),
        SIM_SKILL_RESPONSE_INVALID);
    assert_string_equal(why, "the response body is 1048577 bytes, more than the 1048576 allowed");
    free(body);

    /* The body need not be NUL-terminated: only len bytes are read. */
    memcpy(trailing, response_ok, n);
    memcpy(trailing + n, "garbage!", 8);
    assert_int_equal(
        sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, trailing, n, "corr-1", why, sizeof why),
        SIM_SKILL_RESPONSE_OK);
    assert_int_equal(
        sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, trailing, n + 8, "corr-1", why, sizeof why),
        SIM_SKILL_RESPONSE_INVALID);

    /* Deep nesting is refused by the parser, not by a crash. */
    body = malloc(200001);
    assert_non_null(body);
    memset(body, '[', 100000);
    memset(body + 100000, ']', 100000);
    assert_int_equal(sim_judge_skill_response(SIM_DIRECTIVE_ACCEPT_GRANT, body, 200000, NULL, why, sizeof why),
                     SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "the response body is not JSON");
    free(body);
}

static void test_judge_accept_grant(void **state)
{
    char why[WHY_MAX];
    char *text;

    (void)state;
    assert_int_equal(
        sim_judge_skill_response(SIM_DIRECTIVE_ACCEPT_GRANT, grant_ok, strlen(grant_ok), NULL, why, sizeof why),
        SIM_SKILL_RESPONSE_OK);
    assert_string_equal(why, "");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, grant_error, why), SIM_SKILL_RESPONSE_ERROR);
    assert_string_equal(why, "ACCEPT_GRANT_FAILED: Failed to handle the AcceptGrant directive");

    /* An Alexa Response (or ErrorResponse) is no answer to AcceptGrant. */
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, response_ok, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "header.namespace is \"Alexa\", expected \"Alexa.Authorization\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, error_ok, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "header.namespace is \"Alexa\", expected \"Alexa.Authorization\"");
    /* ...and AcceptGrant.Response is no answer to AssociateCustomerDevice. */
    assert_int_equal(judge_text(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, grant_ok, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "header.namespace is \"Alexa.Authorization\", expected \"Alexa\"");

    text = mutated_text(grant_ok, "event", "payload", "{\"accessToken\":\"x\"}");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "payload of AcceptGrant.Response must be empty, has 1 fields");
    free(text);
    text = mutated_text(grant_ok, "event", "payload", NULL);
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "payload is missing");
    free(text);
    text = mutated_text(grant_ok, "event.header", "name", "\"Response\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "header.name is \"Response\", expected \"AcceptGrant.Response\" or \"ErrorResponse\"");
    free(text);
    text = mutated_text(grant_ok, "event.header", "correlationToken", "\"any-token\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, text, why), SIM_SKILL_RESPONSE_OK);
    free(text);
    text = mutated_text(grant_ok, "event.header", "correlationToken", "7");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "header.correlationToken must be a string, got an integer");
    free(text);
    text = mutated_text(grant_ok, "event.header", "payloadVersion", "\"2\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "header.payloadVersion is \"2\", expected \"3\"");
    free(text);

    /* The only AcceptGrant error type is ACCEPT_GRANT_FAILED. */
    text = mutated_text(grant_error, "event.payload", "type", "\"INTERNAL_ERROR\"");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "payload.type is \"INTERNAL_ERROR\", expected \"ACCEPT_GRANT_FAILED\"");
    free(text);
    text = mutated_text(grant_error, "event.payload", "message", "false");
    assert_int_equal(judge_text(SIM_DIRECTIVE_ACCEPT_GRANT, text, why), SIM_SKILL_RESPONSE_INVALID);
    assert_why(why, "payload.message must be a string, got a boolean");
    free(text);
}

static void test_judge_truncates_reason(void **state)
{
    char short_why[12], why[26];
    char *text = mutated_text(error_ok, "event.payload", "message", "\"\\u00e9\\u00e9\"");

    (void)state;
    assert_int_equal(sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, strlen(text), "corr-1",
                                              short_why, sizeof short_why),
                     SIM_SKILL_RESPONSE_ERROR);
    assert_string_equal(short_why, "ENDPOINT_UN");

    /* "ENDPOINT_UNREACHABLE: " (22 bytes) and one whole two-byte e-acute fit in 25 bytes; the
     * second e-acute would be cut in half, so it is dropped whole. */
    assert_int_equal(sim_judge_skill_response(SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, text, strlen(text), "corr-1",
                                              why, sizeof why),
                     SIM_SKILL_RESPONSE_ERROR);
    assert_string_equal(why, "ENDPOINT_UNREACHABLE: \xc3\xa9");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_id_valid),
        cmocka_unit_test(test_message_id_valid),
        cmocka_unit_test(test_display_categories),
        cmocka_unit_test(test_alexa_error_types),
        cmocka_unit_test(test_sdae_sample_accepted),
        cmocka_unit_test(test_sdae_literal_sample_signature_refused),
        cmocka_unit_test(test_sdae_required_fields_missing),
        cmocka_unit_test(test_sdae_wrong_types_and_values),
        cmocka_unit_test(test_sdae_naming_categories),
        cmocka_unit_test(test_sdae_one_device_per_event),
        cmocka_unit_test(test_sdae_device_id_characters),
        cmocka_unit_test(test_sdae_lengths),
        cmocka_unit_test(test_sdae_signature_base64),
        cmocka_unit_test(test_sdae_embedded_nul_refused),
        cmocka_unit_test(test_sdae_extra_keys_ignored),
        cmocka_unit_test(test_sdae_not_an_object),
        cmocka_unit_test(test_why_buffer_handling),
        cmocka_unit_test(test_discovery_sample_accepted),
        cmocka_unit_test(test_discovery_refusals),
        cmocka_unit_test(test_discovery_duplicate_endpoint_ids),
        cmocka_unit_test(test_discovery_endpoint_count),
        cmocka_unit_test(test_discovery_capability_count),
        cmocka_unit_test(test_discovery_text_lengths),
        cmocka_unit_test(test_discovery_delete_report),
        cmocka_unit_test(test_event_classify),
        cmocka_unit_test(test_judge_response_ok),
        cmocka_unit_test(test_judge_response_invalid),
        cmocka_unit_test(test_judge_error_response),
        cmocka_unit_test(test_judge_not_json),
        cmocka_unit_test(test_judge_body_bounds),
        cmocka_unit_test(test_judge_accept_grant),
        cmocka_unit_test(test_judge_truncates_reason),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
