/* fuzz_cloud_skill.c - the cloud's skill endpoint with hostile directive bodies.
 *
 * One cloud with a real store in a temporary folder (made at the first input)
 * takes every input as the body of POST /alexa/skill; the answer must always
 * be produced. The LWA client is left unconfigured so AcceptGrant fails
 * without touching the network.
 *
 * The skill's own JSON readers (skill_json.h) are checked against jansson on
 * the same input: whatever they accept, jansson must accept too, with the
 * same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/internal.h"
#include "cloud/skill_json.h"
#include "common/crypto.h"
#include "common/file.h"

static char fuzz_dir[256];

static void remove_fuzz_dir(void) { wss_remove_tree(fuzz_dir); }

static cloud *fuzz_cloud(void)
{
    static cloud c;
    static int ready;
    if (ready)
        return &c;
    char path[300], err[256];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/wss-fuzz-skill-XXXXXX", tmp);
    if (!mkdtemp(fuzz_dir))
        abort();
    atexit(remove_fuzz_dir);
    snprintf(path, sizeof path, "%s/cloud.db", fuzz_dir);
    cloud_config_defaults(&c.cfg);
    c.cfg.region = strdup("NA");
    c.cfg.manufacturer_name = strdup("Fuzz Co");
    if (cloud_store_open_sqlite(path, &c.store, err, sizeof err) != WSS_OK || !(c.metrics = cloud_metrics_new()))
        abort();
    /* A user whose token the inputs may guess, and one reported device. */
    char sha[65];
    wss_sha256_hex("fuzz-token", sha);
    c.store->ops->user_add(c.store, "u1", "u1", 0);
    c.store->ops->user_token_add(c.store, sha, "u1", 4102444800000LL);
    cloud_report r = {.device_id = "dev-1",
                      .global_device_id = "dev",
                      .session_token = "t",
                      .signature = "AAAA",
                      .naming_categories = "[\"SWITCH\"]",
                      .gateway_url = cloud_region_gateway("NA")};
    c.store->ops->report_add(c.store, &r, "mid-1", "{}", 0);
    ready = 1;
    return &c;
}

static const char *str_at(const json_t *obj, const char *key) { return json_string_value(json_object_get(obj, key)); }

static int same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* What jansson reads from a body cloud_cdad_read accepted must match. */
static void check_cdad(const char *body, size_t size)
{
    cloud_cdad cdad;
    if (!cloud_cdad_read(body, size, &cdad))
        return;
    json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
    const json_t *dir = json_object_get(root, "directive");
    const json_t *header = json_object_get(dir, "header");
    const json_t *payload = json_object_get(dir, "payload");
    const json_t *scope = json_object_get(payload, "scope");
    const json_t *device = json_object_get(payload, "device");
    const json_t *corr = json_object_get(header, "correlationToken");
    if (!json_is_object(root) || !json_is_object(header) || !json_is_object(payload) ||
        !same(str_at(header, "namespace"), "Alexa.SimpleSetup") ||
        !same(str_at(header, "name"), "AssociateCustomerDevice") || !same(str_at(header, "payloadVersion"), "3") ||
        !wss_alexa_message_id_valid(str_at(header, "messageId")) || !same(str_at(scope, "type"), "BearerToken") ||
        !same(str_at(scope, "token"), cdad.token) || !same(str_at(device, "id"), cdad.device_id) ||
        (corr ? !same(json_string_value(corr), cdad.correlation) : cdad.correlation[0] != 0))
        abort();
    char name[CLOUD_TEXT_BUF] = "";
    size_t i;
    const json_t *label;
    json_array_foreach(json_object_get(device, "preferredFriendlyNames"), i, label)
    {
        const char *text = str_at(json_object_get(label, "value"), "text");
        if (text && cloud_copy_text(name, text, strlen(text), CLOUD_TEXT_MAX_CHARS))
            break;
        name[0] = 0;
    }
    if (strcmp(name, cdad.name) != 0)
        abort();
    json_decref(root);
}

/* The same for the naming categories reader. */
static void check_categories(const char *text)
{
    cloud_categories fast, slow;
    if (!cloud_categories_read(text, &fast))
        return;
    json_t *arr = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(arr))
        abort();
    memset(&slow, 0, sizeof slow);
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) cloud_categories_add(&slow, json_string_value(v));
    if (fast.n != slow.n || memcmp(fast.names, slow.names, sizeof fast.names) != 0)
        abort();
    json_decref(arr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cloud *c = fuzz_cloud();
    char *body = malloc(size + 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = 0;
    check_cdad(body, size);
    if (strlen(body) == size)
        check_categories(body);
    wss_http_request req = {.method = "POST", .path = "/alexa/skill", .body = body, .body_len = size};
    wss_http_response resp = {.status = 500};
    cloud_skill_handle(c, &req, &resp);
    if (!resp.body || resp.status < 200)
        abort(); /* every input gets an answer */
    free(resp.body);
    free(body);
    return 0;
}
