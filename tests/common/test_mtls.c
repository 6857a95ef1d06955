/* test_mtls.c - mutual TLS through the HTTP glue: the server's view of each
 * connection (wss_http_request.tls) with client certificates sent by
 * wss_httpc_perform. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/crypto_evp.h"
#include "common/file.h"
#include "common/httpc.h"
#include "common/httpd.h"
#include "common/x509.h"

#define PEM_MAX (1 << 16)

/* Everything a test needs: the server's certificate (from wss_tls_ensure),
 * a device CA with one device, and a running server. */
typedef struct fixture {
    char dir[4096];
    char path[4200];
    char ca_file[4200]; /* the server's CA, for the client to trust */
    char *server_pem, *server_key_pem, *local_ca_pem;
    wss_crypto_key *dev_ca_key, *dev_key;
    char *dev_ca_pem, *dev_pem, *dev_key_pem;
    wss_http_server *srv;
} fixture;

static const char *in_dir(fixture *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static char *slurp(fixture *f, const char *name)
{
    char *text = NULL;
    assert_int_equal(wss_read_file(in_dir(f, name), PEM_MAX, &text, NULL), WSS_OK);
    return text;
}

static void put(fixture *f, const char *name, const char *text)
{
    assert_int_equal(wss_write_file_atomic(in_dir(f, name), text, strlen(text), 0600), WSS_OK);
}

static char *concat(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s%s", a, b);
    return s;
}

static int setup(void **state)
{
    static const char *const hosts[] = {"localhost", "127.0.0.1", NULL};
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/wss-test-mtls-XXXXXX", base && *base ? base : "/tmp");
    char err[256];
    if (!mkdtemp(f->dir) || wss_tls_ensure(f->dir, hosts, err, sizeof err) != WSS_OK)
        return -1;
    f->server_pem = slurp(f, "server.pem");
    f->server_key_pem = slurp(f, "server-key.pem");
    f->local_ca_pem = slurp(f, "ca.pem");
    snprintf(f->ca_file, sizeof f->ca_file, "%s/ca.pem", f->dir);
    if (wss_x509_make_ca("Acme device CA", 30, &f->dev_ca_key, &f->dev_ca_pem, err, sizeof err) != WSS_OK ||
        wss_key_generate(&f->dev_key) != WSS_OK ||
        wss_x509_issue_client(f->dev_ca_key, f->dev_ca_pem, f->dev_key, "acme-plug-0001", "G0A1B2C3", 7, &f->dev_pem,
                              err, sizeof err) != WSS_OK ||
        !(f->dev_key_pem = wss_key_private_pem(f->dev_key)))
        return -1;
    put(f, "device.pem", f->dev_pem);
    put(f, "device-key.pem", f->dev_key_pem);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    wss_http_stop(f->srv);
    wss_remove_tree(f->dir);
    free(f->server_pem);
    free(f->server_key_pem);
    free(f->local_ca_pem);
    free(f->dev_ca_pem);
    free(f->dev_pem);
    free(f->dev_key_pem);
    wss_key_free(f->dev_ca_key);
    wss_key_free(f->dev_key);
    free(f);
    return 0;
}

/* Replies with the connection's TLS view. */
static void echo_tls(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    (void)ctx;
    const wss_http_tls *t = &req->tls;
    wss_http_reply_json(resp, 200,
                        json_pack("{s:i, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s}", "tls", t->tls, "version", t->version,
                                  "cipher", t->cipher, "sni", t->sni, "present", t->peer_cert_present, "verified",
                                  t->peer_cert_verified, "cn", t->peer_subject_cn, "serial", t->peer_serial, "pubkey",
                                  t->peer_pubkey_b64));
}

static void start(fixture *f, int tls, const char *client_ca_pem)
{
    wss_http_options o = {.host = "127.0.0.1"};
    if (tls) {
        o.tls_cert_pem = f->server_pem;
        o.tls_key_pem = f->server_key_pem;
    }
    o.client_ca_pem = client_ca_pem;
    char err[256];
    assert_int_equal(wss_http_start(&o, echo_tls, NULL, &f->srv, err, sizeof err), WSS_OK);
}

/* How the client presents itself. */
typedef struct client {
    const char *host;      /* "localhost" unless set */
    int plain;             /* http:// rather than https:// */
    const char *cert_file; /* relative to the fixture's folder */
    const char *key_file;
    const char *cert_pem;
    const char *key_pem;
} client;

/* One GET /; returns the parsed reply (decref it) or NULL when no HTTP answer came. */
static json_t *call(fixture *f, const client *c, wss_err *rc_out)
{
    char url[512], cert_path[4200] = "", key_path[4200] = "";
    snprintf(url, sizeof url, "%s://%s:%d/", c->plain ? "http" : "https", c->host ? c->host : "localhost",
             wss_http_port(f->srv));
    if (c->cert_file)
        snprintf(cert_path, sizeof cert_path, "%s/%s", f->dir, c->cert_file);
    if (c->key_file)
        snprintf(key_path, sizeof key_path, "%s/%s", f->dir, c->key_file);
    wss_httpc_request req = {
        .method = "GET",
        .url = url,
        .ca_file = f->ca_file,
        .timeout_ms = 10000,
        .client_cert_file = c->cert_file ? cert_path : NULL,
        .client_key_file = c->key_file ? key_path : NULL,
        .client_cert_pem = c->cert_pem,
        .client_key_pem = c->key_pem,
    };
    wss_httpc_response resp;
    char err[512] = "";
    wss_err rc = wss_httpc_perform(&req, &resp, err, sizeof err);
    if (rc_out)
        *rc_out = rc;
    json_t *j = NULL;
    if (rc == WSS_OK) {
        assert_int_equal(resp.status, 200);
        j = json_loads(resp.body, 0, NULL);
        assert_non_null(j);
    } else if (!rc_out) {
        fail_msg("request failed: %s", err);
    }
    wss_httpc_response_free(&resp);
    return j;
}

static int jint(json_t *j, const char *k) { return (int)json_integer_value(json_object_get(j, k)); }
static const char *jstr(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)); }

static void assert_tls_negotiated(json_t *j)
{
    assert_int_equal(jint(j, "tls"), 1);
    const char *v = jstr(j, "version");
    assert_true(strcmp(v, "TLS1.3") == 0 || strcmp(v, "TLS1.2") == 0);
    assert_true(strlen(jstr(j, "cipher")) > 0);
}

/* (a) A certificate from the device CA, from files: verified, names read. */
static void test_valid_client_certificate(void **state)
{
    fixture *f = *state;
    start(f, 1, f->dev_ca_pem);
    json_t *j = call(f, &(client){.cert_file = "device.pem", .key_file = "device-key.pem"}, NULL);
    assert_tls_negotiated(j);
    assert_string_equal(jstr(j, "sni"), "localhost");
    assert_int_equal(jint(j, "present"), 1);
    assert_int_equal(jint(j, "verified"), 1);
    assert_string_equal(jstr(j, "cn"), "acme-plug-0001");
    assert_string_equal(jstr(j, "serial"), "G0A1B2C3");
    char *want = wss_key_public_b64(f->dev_key);
    assert_string_equal(jstr(j, "pubkey"), want);
    free(want);
    json_decref(j);
}

/* (a) The same from memory. */
static void test_valid_client_certificate_from_memory(void **state)
{
    fixture *f = *state;
    start(f, 1, f->dev_ca_pem);
    json_t *j = call(f, &(client){.cert_pem = f->dev_pem, .key_pem = f->dev_key_pem}, NULL);
    assert_tls_negotiated(j);
    assert_int_equal(jint(j, "present"), 1);
    assert_int_equal(jint(j, "verified"), 1);
    assert_string_equal(jstr(j, "cn"), "acme-plug-0001");
    json_decref(j);
}

/* A device certificate under an intermediate: the client sends the chain,
 * the server trusts only the root. Both from files and from memory. */
static void test_chain_with_intermediate(void **state)
{
    fixture *f = *state;
    /* The intermediate: built as a self-signed CA, then re-issued by the root. */
    wss_crypto_key *int_key = NULL;
    assert_int_equal(wss_key_generate(&int_key), WSS_OK);
    X509 *root = wss_x509_from_pem(f->dev_ca_pem, strlen(f->dev_ca_pem));
    X509 *ic = wss_x509_self_signed_ca(wss_key_evp(int_key), "Acme plug line CA", 30);
    assert_non_null(root);
    assert_non_null(ic);
    assert_int_equal(X509_set_issuer_name(ic, X509_get_subject_name(root)), 1);
    assert_true(wss_x509_add_ext(ic, root, NID_authority_key_identifier, "keyid:always"));
    assert_true(X509_sign(ic, wss_key_evp(f->dev_ca_key), EVP_sha256()) > 0);
    char *int_pem = wss_x509_to_pem(ic);
    X509_free(ic);
    X509_free(root);
    char *leaf = NULL, err[256];
    assert_int_equal(
        wss_x509_issue_client(int_key, int_pem, f->dev_key, "acme-plug-0002", "S2", 7, &leaf, err, sizeof err), WSS_OK);
    char *chain = concat(leaf, int_pem);
    put(f, "chain.pem", chain);

    start(f, 1, f->dev_ca_pem);
    json_t *j = call(f, &(client){.cert_file = "chain.pem", .key_file = "device-key.pem"}, NULL);
    assert_int_equal(jint(j, "verified"), 1);
    assert_string_equal(jstr(j, "cn"), "acme-plug-0002");
    json_decref(j);
    j = call(f, &(client){.cert_pem = chain, .key_pem = f->dev_key_pem}, NULL);
    assert_int_equal(jint(j, "verified"), 1);
    json_decref(j);
    /* The leaf alone does not reach the root. */
    j = call(f, &(client){.cert_pem = leaf, .key_pem = f->dev_key_pem}, NULL);
    assert_int_equal(jint(j, "present"), 1);
    assert_int_equal(jint(j, "verified"), 0);
    assert_string_equal(jstr(j, "cn"), "acme-plug-0002");
    json_decref(j);

    free(chain);
    free(leaf);
    free(int_pem);
    wss_key_free(int_key);
}

/* (b) No client certificate: served all the same. */
static void test_no_client_certificate(void **state)
{
    fixture *f = *state;
    start(f, 1, f->dev_ca_pem);
    json_t *j = call(f, &(client){0}, NULL);
    assert_tls_negotiated(j);
    assert_string_equal(jstr(j, "sni"), "localhost");
    assert_int_equal(jint(j, "present"), 0);
    assert_int_equal(jint(j, "verified"), 0);
    assert_string_equal(jstr(j, "cn"), "");
    assert_string_equal(jstr(j, "serial"), "");
    assert_string_equal(jstr(j, "pubkey"), "");
    json_decref(j);
}

/* (c) A certificate from another CA: the handshake succeeds, the request is
 * served, and the certificate is present but not verified; its names and
 * key are still read (for logs, never for trust). */
static void test_certificate_from_another_ca(void **state)
{
    fixture *f = *state;
    wss_crypto_key *other_key = NULL;
    char *other_ca = NULL, *rogue = NULL, err[256];
    assert_int_equal(wss_x509_make_ca("Acme device CA", 30, &other_key, &other_ca, err, sizeof err), WSS_OK);
    assert_int_equal(wss_x509_issue_client(other_key, other_ca, f->dev_key, "acme-plug-0001", "G0A1B2C3", 7, &rogue,
                                           err, sizeof err),
                     WSS_OK);
    start(f, 1, f->dev_ca_pem);
    json_t *j = call(f, &(client){.cert_pem = rogue, .key_pem = f->dev_key_pem}, NULL);
    assert_tls_negotiated(j);
    assert_int_equal(jint(j, "present"), 1);
    assert_int_equal(jint(j, "verified"), 0);
    assert_string_equal(jstr(j, "cn"), "acme-plug-0001");
    json_decref(j);
    free(rogue);
    free(other_ca);
    wss_key_free(other_key);
}

/* An expired certificate from the right CA is present but not verified. */
static void test_expired_client_certificate(void **state)
{
    fixture *f = *state;
    char *expired = NULL, err[256];
    assert_int_equal(
        wss_x509_issue_client(f->dev_ca_key, f->dev_ca_pem, f->dev_key, "old", "1", 0, &expired, err, sizeof err),
        WSS_OK);
    start(f, 1, f->dev_ca_pem);
    json_t *j = call(f, &(client){.cert_pem = expired, .key_pem = f->dev_key_pem}, NULL);
    assert_int_equal(jint(j, "present"), 1);
    assert_int_equal(jint(j, "verified"), 0);
    json_decref(j);
    free(expired);
}

/* A server certificate (serverAuth only) from a trusted CA is no client certificate. */
static void test_server_certificate_as_client_certificate(void **state)
{
    fixture *f = *state;
    char *bundle = concat(f->dev_ca_pem, f->local_ca_pem);
    start(f, 1, bundle);
    json_t *j = call(f, &(client){.cert_file = "server.pem", .key_file = "server-key.pem"}, NULL);
    assert_int_equal(jint(j, "present"), 1);
    assert_int_equal(jint(j, "verified"), 0);
    assert_string_equal(jstr(j, "cn"), "localhost");
    json_decref(j);
    /* The bundle's other CA still works. */
    j = call(f, &(client){.cert_file = "device.pem", .key_file = "device-key.pem"}, NULL);
    assert_int_equal(jint(j, "verified"), 1);
    json_decref(j);
    free(bundle);
}

/* A key that does not match the certificate: the client cannot complete the handshake. */
static void test_mismatched_key_fails(void **state)
{
    fixture *f = *state;
    start(f, 1, f->dev_ca_pem);
    wss_err rc = WSS_OK;
    json_t *j = call(f, &(client){.cert_pem = f->dev_pem, .key_pem = f->server_key_pem}, &rc);
    assert_null(j);
    assert_int_equal(rc, WSS_ERR_NETWORK);
}

/* Connecting by IP address: no SNI. */
static void test_no_sni_by_address(void **state)
{
    fixture *f = *state;
    start(f, 1, f->dev_ca_pem);
    json_t *j = call(f, &(client){.host = "127.0.0.1", .cert_file = "device.pem", .key_file = "device-key.pem"}, NULL);
    assert_tls_negotiated(j);
    assert_string_equal(jstr(j, "sni"), "");
    assert_int_equal(jint(j, "verified"), 1);
    json_decref(j);
}

/* TLS without client_ca_pem: no certificate is asked for, so none arrives. */
static void test_tls_without_client_ca(void **state)
{
    fixture *f = *state;
    start(f, 1, NULL);
    json_t *j = call(f, &(client){.cert_file = "device.pem", .key_file = "device-key.pem"}, NULL);
    assert_tls_negotiated(j);
    assert_int_equal(jint(j, "present"), 0);
    assert_int_equal(jint(j, "verified"), 0);
    json_decref(j);
}

/* (d) Plain HTTP: no TLS at all. */
static void test_plain_http(void **state)
{
    fixture *f = *state;
    start(f, 0, NULL);
    json_t *j = call(f, &(client){.plain = 1, .host = "127.0.0.1"}, NULL);
    assert_int_equal(jint(j, "tls"), 0);
    assert_string_equal(jstr(j, "version"), "");
    assert_string_equal(jstr(j, "cipher"), "");
    assert_string_equal(jstr(j, "sni"), "");
    assert_int_equal(jint(j, "present"), 0);
    json_decref(j);
}

static void test_bad_client_ca_options(void **state)
{
    fixture *f = *state;
    char err[256] = "";
    wss_http_options o = {.host = "127.0.0.1", .client_ca_pem = f->dev_ca_pem};
    assert_int_equal(wss_http_start(&o, echo_tls, NULL, &f->srv, err, sizeof err), WSS_ERR_CONFIG);
    assert_non_null(strstr(err, "TLS"));
    assert_null(f->srv);
    o.tls_cert_pem = f->server_pem;
    o.tls_key_pem = f->server_key_pem;
    o.client_ca_pem = "not a certificate";
    assert_int_not_equal(wss_http_start(&o, echo_tls, NULL, &f->srv, err, sizeof err), WSS_OK);
    assert_null(f->srv);
}

int main(void)
{
    wss_httpc_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_client_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_client_certificate_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_with_intermediate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_client_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certificate_from_another_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_client_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_certificate_as_client_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_key_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_sni_by_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_without_client_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_client_ca_options, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
