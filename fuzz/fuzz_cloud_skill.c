/* fuzz_cloud_skill.c - the cloud's skill endpoint with hostile directive bodies.
 *
 * One cloud with a real store in a temporary folder (made at the first input)
 * takes every input as the body of POST /alexa/skill; the answer must always
 * be produced. The LWA client is left unconfigured so AcceptGrant fails
 * without touching the network. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/internal.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cloud *c = fuzz_cloud();
    char *body = malloc(size + 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = 0;
    wss_http_request req = {.method = "POST", .path = "/alexa/skill", .body = body, .body_len = size};
    wss_http_response resp = {.status = 500};
    cloud_skill_handle(c, &req, &resp);
    if (!resp.body || resp.status < 200)
        abort(); /* every input gets an answer */
    free(resp.body);
    free(body);
    return 0;
}
