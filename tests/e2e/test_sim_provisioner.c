/* test_sim_provisioner.c - the simulated provisioner and the DSS's control
 * routes: provisioners, the directed probe (its passphrase against an
 * independent computation from the device's side of the ECDH), the control
 * log import, the DSS key across restarts, the dss configuration key and the
 * `wss sim` verbs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/file.h"
#include "harness.h"
#include "sim/dss_request.h"

#define PROVISIONER "echo-living-room"
#define PRODUCT "Zx9Q"

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* Z85 of len bytes (a multiple of 4) into out (len / 4 * 5 characters and a NUL). */
static void z85_encode(const uint8_t *in, size_t len, char *out)
{
    for (size_t g = 0; g < len / 4; g++) {
        uint32_t v =
            (uint32_t)in[4 * g] << 24 | (uint32_t)in[4 * g + 1] << 16 | (uint32_t)in[4 * g + 2] << 8 | in[4 * g + 3];
        for (int i = 4; i >= 0; i--) {
            out[5 * g + (size_t)i] = z85_chars[v % 85];
            v /= 85;
        }
    }
    out[len / 4 * 5] = 0;
}

/* The computed setup network's SSID of docs/dss.md section 2, built here from scratch. */
static void setup_ssid(const char *public_b64, const char *product, const uint8_t nonce[12], char out[33])
{
    uint8_t *der = NULL, digest[32];
    size_t len = 0;
    assert_int_equal(wss_base64_decode(public_b64, &der, &len), WSS_OK);
    assert_int_equal(len, 91);
    assert_int_equal(EVP_Digest(der, len, digest, NULL, EVP_sha256(), NULL), 1);
    free(der);
    const uint8_t *ami = digest + 23;
    uint8_t two[2] = {(uint8_t)(ami[0] >> 4), (uint8_t)((ami[0] << 4) & 0xF0)};
    unsigned char prefix[8];
    EVP_EncodeBlock(prefix, two, 2);
    uint8_t payload[24];
    memcpy(payload, ami + 1, 8);
    memcpy(payload + 8, product, 4);
    memcpy(payload + 12, nonce, 12);
    out[0] = (char)prefix[0];
    out[1] = (char)prefix[1];
    z85_encode(payload, sizeof payload, out + 2);
    assert_int_equal(strlen(out), 32);
}

/* The passphrase from the device's side: ECDH(device private, DSS public), SHA-256, HMAC over the nonce. */
static void device_passphrase(const char *device_key_pem, const char *dss_public_b64, const uint8_t nonce[12],
                              char out[45])
{
    BIO *bio = BIO_new_mem_buf(device_key_pem, -1);
    EVP_PKEY *priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(priv);
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(wss_base64_decode(dss_public_b64, &der, &len), WSS_OK);
    const unsigned char *p = der;
    EVP_PKEY *peer = d2i_PUBKEY(NULL, &p, (long)len);
    free(der);
    assert_non_null(peer);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(priv, NULL);
    uint8_t shared[32], key[32], mac[32];
    size_t slen = sizeof shared, maclen = 0;
    assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
    assert_int_equal(EVP_PKEY_derive(ctx, shared, &slen), 1);
    assert_int_equal(slen, 32);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(peer);
    assert_int_equal(EVP_Digest(shared, slen, key, NULL, EVP_sha256(), NULL), 1);
    assert_non_null(
        EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof key, nonce, 12, mac, sizeof mac, &maclen));
    assert_int_equal(maclen, 32);
    assert_int_equal(EVP_EncodeBlock((unsigned char *)out, mac, 32), 44);
}

typedef struct prov_t {
    e2e_world *w;
    e2e_dss_ca ca;
} prov_t;

static int prov_setup(void **state)
{
    prov_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    void *ws = NULL;
    e2e_world_setup(&ws);
    t->w = ws;
    e2e_dss_ca_init(&t->w->sim, &t->ca, "maker-ca");
    e2e_config_dss_ca(t->w->config, &t->ca);
    *state = t;
    return 0;
}

static int prov_teardown(void **state)
{
    prov_t *t = *state;
    void *ws = t->w;
    int rc = e2e_world_teardown(&ws);
    e2e_dss_ca_free(&t->ca);
    free(t);
    return rc;
}

static void add_provisioner(e2e_sim *s, const char *id, const char *customer)
{
    json_t *p = e2e_control(s, "POST", "/provisioners",
                            json_pack("{s:s, s:s}", "provisioner_id", id, "customer_id", customer), 201);
    e2e_assert_jstr(p, "provisioner_id", id);
    e2e_assert_jstr(p, "band", "dual");
    assert_true(json_is_true(json_object_get(p, "online")));
    json_decref(p);
}

static void provisioner_routes(void **state)
{
    prov_t *t = *state;
    e2e_world_start(t->w);
    e2e_sim *s = &t->w->sim;
    add_provisioner(s, PROVISIONER, E2E_CUSTOMER_ID);
    json_decref(e2e_control(s, "POST", "/provisioners",
                            json_pack("{s:s, s:s}", "provisioner_id", PROVISIONER, "customer_id", E2E_CUSTOMER_ID),
                            409));
    json_decref(e2e_control(s, "POST", "/provisioners",
                            json_pack("{s:s, s:s}", "provisioner_id", "echo-2", "customer_id", "amzn1.account.NOBODY"),
                            404));
    json_decref(e2e_control(
        s, "POST", "/provisioners",
        json_pack("{s:s, s:s, s:s}", "provisioner_id", "echo-2", "customer_id", E2E_CUSTOMER_ID, "band", "6"), 400));
    json_decref(e2e_control(
        s, "POST", "/provisioners",
        json_pack("{s:s, s:s, s:s}", "provisioner_id", "echo-2", "customer_id", E2E_CUSTOMER_ID, "colour", "red"),
        400));
    json_decref(e2e_control(s, "POST", "/provisioners", json_pack("{s:s}", "customer_id", E2E_CUSTOMER_ID), 400));

    json_t *p =
        e2e_control(s, "PATCH", "/provisioners/" PROVISIONER, json_pack("{s:b, s:s}", "online", 0, "band", "5"), 200);
    assert_true(json_is_false(json_object_get(p, "online")));
    e2e_assert_jstr(p, "band", "5");
    json_decref(p);
    json_decref(e2e_control(s, "PATCH", "/provisioners/echo-unknown", json_pack("{s:b}", "online", 1), 404));
    json_decref(e2e_control(s, "PATCH", "/provisioners/" PROVISIONER, json_pack("{s:s}", "online", "yes"), 400));
    json_t *list = e2e_control(s, "GET", "/provisioners", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "provisioners")), 1);
    assert_true(json_is_false(e2e_jget(list, "provisioners.0.online")));
    e2e_assert_jstr(list, "provisioners.0.customer_id", E2E_CUSTOMER_ID);
    json_decref(list);
}

static void probe(e2e_sim *s, const char *provisioner, const char *ssid, long status, json_t **out)
{
    char path[200];
    snprintf(path, sizeof path, "/provisioners/%s/probe", provisioner);
    json_t *a = e2e_control(s, "POST", path, json_pack("{s:s}", "ssid", ssid), status);
    if (out)
        *out = a;
    else
        json_decref(a);
}

static void probe_reason(e2e_sim *s, const char *provisioner, const char *ssid, long status, const char *reason)
{
    json_t *a;
    probe(s, provisioner, ssid, status, &a);
    e2e_assert_jstr(a, "reason", reason);
    json_decref(a);
}

static void probe_passphrase_matches_the_device(void **state)
{
    prov_t *t = *state;
    e2e_world_start(t->w);
    e2e_sim *s = &t->w->sim;
    add_provisioner(s, PROVISIONER, E2E_CUSTOMER_ID);
    e2e_dss_device d, twin;
    e2e_dss_device_make(&d, &t->ca, "PROBE-DEVICE-1", PRODUCT);
    e2e_dss_device_make(&twin, &t->ca, "PROBE-DEVICE-2", PRODUCT);
    e2e_dss_import(s, &d);
    e2e_dss_import(s, &twin);
    json_decref(e2e_control(s, "POST", "/purchases",
                            json_pack("{s:s, s:s}", "dsn", d.dsn, "customer_id", E2E_CUSTOMER_ID), 201));
    const char *dss_public = e2e_jstr(s->client.credentials, "dss_public_key");
    assert_non_null(dss_public);

    char previous[45] = "";
    for (int attempt = 0; attempt < 3; attempt++) {
        uint8_t nonce[12];
        assert_int_equal(wss_random_bytes(nonce, sizeof nonce), WSS_OK);
        char ssid[33], expected[45];
        setup_ssid(d.public_b64, PRODUCT, nonce, ssid);
        device_passphrase(d.key_pem, dss_public, nonce, expected);
        json_t *a;
        probe(s, PROVISIONER, ssid, 200, &a);
        e2e_assert_jstr(a, "dsn", d.dsn);
        e2e_assert_jstr(a, "product_index", PRODUCT);
        e2e_assert_jstr(a, "passphrase", expected);
        json_decref(a);
        /* A fresh nonce, a fresh passphrase. */
        assert_string_not_equal(expected, previous);
        snprintf(previous, sizeof previous, "%s", expected);

        /* What the emulator's decoder reads back from the name. */
        sim_setup_ssid net;
        assert_int_equal(sim_dss_ssid_decode(ssid, strlen(ssid), &net), 0);
        assert_memory_equal(net.nonce, nonce, 12);
        assert_string_equal(net.product_index, PRODUCT);
    }

    /* The twin (same product, not bought by anyone) and the refusals. */
    uint8_t nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    char ssid[33];
    setup_ssid(twin.public_b64, PRODUCT, nonce, ssid);
    probe_reason(s, PROVISIONER, ssid, 409, "NOT_PURCHASED");
    json_decref(e2e_control(s, "POST", "/customers", json_pack("{s:s}", "customer_id", "amzn1.account.OTHER"), 201));
    json_decref(e2e_control(s, "POST", "/purchases",
                            json_pack("{s:s, s:s}", "dsn", twin.dsn, "customer_id", "amzn1.account.OTHER"), 201));
    probe_reason(s, PROVISIONER, ssid, 409, "OTHER_CUSTOMER");
    /* The product index is part of the match. */
    setup_ssid(d.public_b64, "Zx9R", nonce, ssid);
    probe_reason(s, PROVISIONER, ssid, 404, "UNKNOWN_DEVICE");
    /* A key nobody registered. */
    e2e_dss_device stranger;
    e2e_dss_device_make(&stranger, &t->ca, "PROBE-STRANGER", PRODUCT);
    setup_ssid(stranger.public_b64, PRODUCT, nonce, ssid);
    probe_reason(s, PROVISIONER, ssid, 404, "UNKNOWN_DEVICE");
    probe_reason(s, PROVISIONER, "simple_setup", 404, "UNKNOWN_NETWORK");
    probe_reason(s, PROVISIONER, "Zz\"not-z85-at-all-but-32-chars\\", 404, "UNKNOWN_NETWORK");
    probe_reason(s, "echo-unknown", ssid, 404, "UNKNOWN_PROVISIONER");
    setup_ssid(d.public_b64, PRODUCT, nonce, ssid);
    json_decref(e2e_control(s, "PATCH", "/provisioners/" PROVISIONER, json_pack("{s:s}", "band", "5"), 200));
    probe_reason(s, PROVISIONER, ssid, 409, "PROVISIONER_5GHZ_ONLY");
    json_decref(e2e_control(s, "PATCH", "/provisioners/" PROVISIONER,
                            json_pack("{s:b, s:s}", "online", 0, "band", "2.4"), 200));
    probe_reason(s, PROVISIONER, ssid, 409, "PROVISIONER_OFFLINE");
    json_decref(e2e_control(s, "PATCH", "/provisioners/" PROVISIONER, json_pack("{s:b}", "online", 1), 200));
    probe(s, PROVISIONER, ssid, 200, NULL);
    json_decref(e2e_control(s, "POST", "/provisioners/" PROVISIONER "/probe", json_pack("{s:i}", "ssid", 5), 400));
    /* The passphrase is never written to the event log. */
    char expected[45];
    device_passphrase(d.key_pem, dss_public, nonce, expected);
    assert_false(e2e_sim_log_contains(s, expected));
    e2e_dss_device_free(&stranger);
    e2e_dss_device_free(&d);
    e2e_dss_device_free(&twin);
}

static void z85_known_answers(void **state)
{
    (void)state;
    /* RFC 32's test vector. */
    uint8_t out[8];
    static const uint8_t hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    assert_int_equal(sim_z85_decode("HelloWorld", 10, out), 0);
    assert_memory_equal(out, hello, 8);
    char text[11];
    z85_encode(hello, 8, text);
    assert_string_equal(text, "HelloWorld");
    assert_int_equal(sim_z85_decode("Hello", 4, out), -1);    /* not a multiple of 5 */
    assert_int_equal(sim_z85_decode("Hell\"", 5, out), -1);   /* outside the alphabet */
    assert_int_equal(sim_z85_decode("#####", 5, out), -1);    /* over 2^32 - 1 */
    assert_int_equal(sim_dss_ssid_decode("E0", 2, NULL), -1); /* too short */
}

static void devices_import_all_or_nothing(void **state)
{
    prov_t *t = *state;
    e2e_world_start(t->w);
    e2e_sim *s = &t->w->sim;
    e2e_dss_device d[3];
    char *lines[3];
    for (int i = 0; i < 3; i++) {
        char dsn[32];
        snprintf(dsn, sizeof dsn, "IMPORT-%d", i);
        e2e_dss_device_make(&d[i], &t->ca, dsn, PRODUCT);
        lines[i] = e2e_dss_control_line(&d[i]);
    }
    char text[4096];
    /* A line with a bad key in the middle: nothing is registered, the error names line 3. */
    snprintf(text, sizeof text,
             "%s\n{\"dsn\": \"IMPORT-X\", \"product_index\": \"%s\", \"public_key\": \"bm90IGEga2V5\"}\n%s", lines[0],
             PRODUCT, lines[1]);
    json_t *a = e2e_dss_import_text(s, text, 400);
    assert_non_null(strstr(e2e_jstr(a, "error"), "line 3"));
    json_decref(a);
    json_t *devices = e2e_control(s, "GET", "/devices", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(devices, "devices")), 0);
    json_decref(devices);
    /* Unknown keys, broken JSON, an empty log. */
    a = e2e_dss_import_text(s, "{\"dsn\": \"IMPORT-Y\", \"serial\": \"x\"}\n", 400);
    assert_non_null(strstr(e2e_jstr(a, "error"), "line 1"));
    json_decref(a);
    snprintf(text, sizeof text, "%s{\"dsn\": ", lines[2]);
    a = e2e_dss_import_text(s, text, 400);
    assert_non_null(strstr(e2e_jstr(a, "error"), "line 2"));
    json_decref(a);
    json_decref(e2e_dss_import_text(s, "\n\n", 400));
    /* The good log, with blank lines and CRLF: all three. */
    snprintf(text, sizeof text, "%s\r\n\n%s%s", lines[0], lines[1], lines[2]);
    a = e2e_dss_import_text(s, text, 200);
    assert_int_equal(e2e_jint(a, "imported", 0), 3);
    json_decref(a);
    devices = e2e_control(s, "GET", "/devices", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(devices, "devices")), 3);
    e2e_assert_jstr(devices, "devices.1.dsn", "IMPORT-1");
    e2e_assert_jstr(devices, "devices.1.product_index", PRODUCT);
    json_decref(devices);
    for (int i = 0; i < 3; i++) {
        free(lines[i]);
        e2e_dss_device_free(&d[i]);
    }
}

static void dss_key_and_credentials_across_restart(void **state)
{
    prov_t *t = *state;
    e2e_world_start(t->w);
    e2e_sim *s = &t->w->sim;
    char key[256], url[300];
    snprintf(key, sizeof key, "%s", e2e_jstr(s->client.credentials, "dss_public_key"));
    snprintf(url, sizeof url, "%s", e2e_jstr(s->client.credentials, "dss_url"));
    assert_int_equal(strncmp(url, "https://127.0.0.1:", 18), 0);
    e2e_assert_jstr(s->client.credentials, "dss_host", E2E_DSS_HOST);
    json_t *pk = e2e_control(s, "GET", "/dss/public-key", NULL, 200);
    e2e_assert_jstr(pk, "public_key", key);
    json_decref(pk);
    char path[1300];
    snprintf(path, sizeof path, "%s/dss-signing-key.pem", s->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    e2e_sim_stop(s);
    e2e_sim_start(s);
    e2e_assert_jstr(s->client.credentials, "dss_public_key", key);

    /* A typo in the dss key, or a CA file that is not there, stops the start. */
    e2e_sim_stop(s);
    json_object_set_new(t->w->config, "dss", json_pack("{s:[s]}", "device_ca_file", t->ca.path));
    e2e_sim_write_config(s, t->w->config);
    assert_int_not_equal(e2e_sim_start_expect_exit(s), 0);
    json_object_set_new(t->w->config, "dss", json_pack("{s:[s]}", "device_ca_files", "/nonexistent/ca.pem"));
    e2e_sim_write_config(s, t->w->config);
    assert_int_not_equal(e2e_sim_start_expect_exit(s), 0);
    assert_true(e2e_sim_log_contains(s, "dss.device_ca_files"));
}

/* Runs `$WSS_BIN sim ARGS --state DIR`; returns the exit code and stdout (malloc'd). */
static int run_cli(e2e_sim *s, char **out, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' sim %s --state '%s' 2>/dev/null", getenv("WSS_BIN"), args, s->dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0)
        len += n;
    buf[len] = 0;
    int status = pclose(p);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void cli_verbs(void **state)
{
    prov_t *t = *state;
    e2e_world_start(t->w);
    e2e_sim *s = &t->w->sim;
    char *out = NULL, args[2048];
    snprintf(args, sizeof args, "provisioner add --id echo-cli --customer %s --band 2.4", E2E_CUSTOMER_ID);
    assert_int_equal(run_cli(s, &out, args), 0);
    assert_non_null(strstr(out, "\"echo-cli\""));
    free(out);
    assert_int_equal(run_cli(s, &out, "provisioner set echo-cli --online false"), 0);
    assert_non_null(strstr(out, "\"online\": false"));
    free(out);
    assert_int_equal(run_cli(s, &out, "provisioner set echo-cli --band 6"), 2);
    free(out);
    assert_int_equal(run_cli(s, &out, "provisioner list"), 0);
    assert_non_null(strstr(out, "echo-cli"));
    free(out);

    e2e_dss_device d;
    e2e_dss_device_make(&d, &t->ca, "CLI-DEVICE-1", PRODUCT);
    char *line = e2e_dss_control_line(&d);
    char file[1200];
    snprintf(file, sizeof file, "%s/control-log.jsonl", s->root);
    assert_int_equal(wss_write_file_atomic(file, line, strlen(line), 0600), WSS_OK);
    snprintf(args, sizeof args, "device import '%s'", file);
    assert_int_equal(run_cli(s, &out, args), 0);
    assert_non_null(strstr(out, "\"imported\": 1"));
    free(out);
    assert_int_equal(wss_write_file_atomic(file, "{\"dsn\": 1}\n", 11, 0600), WSS_OK);
    assert_int_equal(run_cli(s, &out, args), 1);
    free(out);

    assert_int_equal(run_cli(s, &out, "dss public-key"), 0);
    assert_non_null(strstr(out, e2e_jstr(s->client.credentials, "dss_public_key")));
    free(out);
    assert_int_equal(run_cli(s, &out, "dss sessions --dsn CLI-DEVICE-1"), 0);
    assert_non_null(strstr(out, "\"sessions\": []"));
    free(out);
    assert_int_equal(run_cli(s, &out, "dss session amzn1.dss.session.nope"), 1);
    free(out);
    assert_int_equal(run_cli(s, &out, "fault add --route dss.report --action drop"), 0);
    free(out);
    assert_int_equal(run_cli(s, &out, "fault add --route dss --action explode"), 2);
    free(out);
    free(line);
    e2e_dss_device_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(z85_known_answers),
        cmocka_unit_test_setup_teardown(provisioner_routes, prov_setup, prov_teardown),
        cmocka_unit_test_setup_teardown(probe_passphrase_matches_the_device, prov_setup, prov_teardown),
        cmocka_unit_test_setup_teardown(devices_import_all_or_nothing, prov_setup, prov_teardown),
        cmocka_unit_test_setup_teardown(dss_key_and_credentials_across_restart, prov_setup, prov_teardown),
        cmocka_unit_test_setup_teardown(cli_verbs, prov_setup, prov_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
