/* test_cloud_flow.c - the whole Wi-Fi Simple Setup flow with both real
 * processes: `wss sim` playing Amazon and `wss cloud` playing the maker's
 * cloud, the test playing the device over mutual TLS.
 *
 *   device --report (mTLS)--> cloud --SDAE--> emulator's gateway
 *   emulator --AcceptGrant / AssociateCustomerDevice--> cloud's /alexa/skill
 *   cloud --AddOrUpdateReport (user's Alexa token)--> emulator's gateway
 *
 * Outcomes are read where they land: the emulator's control API
 * (associations, Alexa devices, judged skill requests, counters), the
 * cloud's `outbox list` and its /metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/x509.h"
#include "harness.h"

#define FLOW_DEADLINE_MS 10000

/* ------------------------------------------------------------ read-outs */

typedef struct endpoint_wait {
    const char *customer_id;
    const char *endpoint_id;
} endpoint_wait;

static json_t *endpoint_in(const json_t *answer, const endpoint_wait *w)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(answer, "devices"), i, d)
    {
        const char *id = e2e_jstr(d, "endpoint_id"), *cid = e2e_jstr(d, "customer_id");
        if (id && cid && strcmp(id, w->endpoint_id) == 0 && strcmp(cid, w->customer_id) == 0)
            return d;
    }
    return NULL;
}

static int has_endpoint(const json_t *answer, void *ctx) { return endpoint_in(answer, ctx) != NULL; }

/* Polls GET /alexa-devices until the customer's Alexa account lists endpoint_id; returns that entry. */
static json_t *wait_alexa_device(e2e_sim *s, const char *customer_id, const char *endpoint_id)
{
    endpoint_wait w = {customer_id, endpoint_id};
    char what[400];
    snprintf(what, sizeof what, "Alexa device %s of %s", endpoint_id, customer_id);
    json_t *all = e2e_poll_control(s, "/alexa-devices", has_endpoint, &w, FLOW_DEADLINE_MS, what);
    json_t *d = json_incref(endpoint_in(all, &w));
    json_decref(all);
    return d;
}

/* Asserts that every directive the emulator sent the skill was answered ok,
 * that there were exactly n, and that they were these directives in this order. */
static void assert_skill_answers_all_ok(e2e_sim *s, long long n, const char *const *directives)
{
    json_t *r = e2e_wait_skill_requests(s, n, FLOW_DEADLINE_MS);
    if (e2e_jint(r, "requests", -1) != n || e2e_jint(r, "ok", -1) != n || e2e_jint(r, "errors", -1) != 0 ||
        e2e_jint(r, "invalid_responses", -1) != 0) {
        char *text = json_dumps(r, JSON_INDENT(2));
        print_error("skill requests: %s\n", text);
        free(text);
        fail_msg("expected %lld skill requests, all ok", n);
    }
    json_t *records = json_object_get(r, "records");
    assert_int_equal(json_array_size(records), (size_t)n);
    for (long long i = 0; i < n; i++) {
        json_t *rec = json_array_get(records, (size_t)i);
        e2e_assert_jstr(rec, "outcome", "ok");
        assert_int_equal(e2e_jint(rec, "http_status", 0), 200);
        if (directives)
            e2e_assert_jstr(rec, "directive", directives[i]);
    }
    json_decref(r);
}

/* Enables the skill for the emulator's customer with the maker's token and
 * waits for the AcceptGrant the cloud answers. */
static void link_customer(e2e_cloud_world *cw, long long requests_before)
{
    e2e_enable_skill(&cw->w->sim, cw->w->sim.customer_id, cw->maker_token);
    json_t *r = e2e_wait_skill_requests(&cw->w->sim, requests_before + 1, FLOW_DEADLINE_MS);
    json_t *last = json_array_get(json_object_get(r, "records"), (size_t)requests_before);
    e2e_assert_jstr(last, "directive", "AcceptGrant");
    if (!e2e_jstr(last, "outcome") || strcmp(e2e_jstr(last, "outcome"), "ok") != 0) {
        e2e_print_json("AcceptGrant", last);
        e2e_cloud_print_log(&cw->cloud);
        fail_msg("the cloud did not answer AcceptGrant with AcceptGrant.Response");
    }
    json_decref(r);
}

/* Checks the whole trail of one device: the association, the binding named
 * as the emulator proposed, the endpoint in the customer's Alexa account. */
static void assert_device_in_alexa(e2e_cloud_world *cw, const e2e_session *x, const char *name)
{
    e2e_sim *s = &cw->w->sim;
    json_t *a = e2e_wait_association(s, x->device_id, "associated", FLOW_DEADLINE_MS);
    e2e_assert_jstr(a, "customer_id", s->customer_id);
    e2e_assert_jstr(a, "friendly_name", name);
    json_decref(a);
    json_t *d = wait_alexa_device(s, s->customer_id, x->device_id);
    e2e_assert_jstr(d, "friendly_name", name);
    e2e_assert_jstr(d, "skill_id", s->skill_id);
    e2e_assert_jstr(d, "endpoint.endpointId", x->device_id);
    e2e_assert_jstr(d, "endpoint.manufacturerName", "openwss e2e");
    e2e_assert_jstr(d, "display_categories.0", "SWITCH");
    json_decref(d);
}

/* The number of outbox events of kind in a `wss cloud outbox list` answer. */
static size_t count_kind(const json_t *list, const char *kind)
{
    size_t i, n = 0;
    json_t *ev;
    json_array_foreach(list, i, ev)
    {
        const char *k = e2e_jstr(ev, "kind");
        n += k && strcmp(k, kind) == 0;
    }
    return n;
}

/* Asserts the outbox is done: n SDAEs and n discovery reports delivered, nothing waiting or dead. */
static void assert_outbox_delivered(e2e_cloud *c, size_t n)
{
    json_t *delivered = e2e_cloud_wait_outbox(c, "--delivered", 2 * n, FLOW_DEADLINE_MS);
    assert_int_equal(json_array_size(delivered), 2 * n);
    assert_int_equal(count_kind(delivered, "sdae"), n);
    assert_int_equal(count_kind(delivered, "discovery"), n);
    json_decref(delivered);
    json_t *pending = e2e_cloud_outbox(c, NULL), *dead = e2e_cloud_outbox(c, "--dead");
    assert_int_equal(json_array_size(pending), 0);
    assert_int_equal(json_array_size(dead), 0);
    json_decref(pending);
    json_decref(dead);
}

/* ------------------------------------------------------------ 1. second to Nth device */

/* The customer linked the skill earlier (a device before this one): each new
 * report goes straight through SDAE -> CDAD -> binding -> discovery. */
static void cloud_two_to_n_devices_reach_alexa(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_cloud_world_start(cw, NULL);
    e2e_sim *s = &cw->w->sim;
    link_customer(cw, 0);

    e2e_cloud_device d1, d2;
    e2e_session x1, x2;
    e2e_cloud_device_setup(&cw->cloud, &d1, "E2E-PLUG-0001", s->customer_id);
    e2e_session_new(s, &d1, &x1);
    e2e_cloud_report_ok(&cw->cloud, &d1, &x1);
    assert_device_in_alexa(cw, &x1, "First Switch");

    e2e_cloud_device_setup(&cw->cloud, &d2, "E2E-PLUG-0002", s->customer_id);
    e2e_session_new(s, &d2, &x2);
    e2e_cloud_report_ok(&cw->cloud, &d2, &x2);
    assert_device_in_alexa(cw, &x2, "Second Switch");

    static const char *const order[] = {"AcceptGrant", "AssociateCustomerDevice", "AssociateCustomerDevice"};
    assert_skill_answers_all_ok(s, 3, order);
    assert_outbox_delivered(&cw->cloud, 2);

    json_t *devices = e2e_control(s, "GET", "/alexa-devices", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(devices, "devices")), 2);
    json_decref(devices);
    json_t *counters = e2e_counters(s);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), 4); /* 2 SDAEs, 2 discovery reports */
    assert_int_equal(e2e_jint(counters, "gateway_duplicates", -1), 0);
    assert_int_equal(e2e_jint(counters, "associations.associated", -1), 2);
    json_decref(counters);

    e2e_session_free(&x1);
    e2e_session_free(&x2);
    e2e_cloud_device_free(&d1);
    e2e_cloud_device_free(&d2);
}

/* ------------------------------------------------------------ 2. first device */

/* The device reports before its buyer enabled the skill: the SDAE is accepted
 * and the association waits; enabling the skill sends AcceptGrant to the
 * cloud, then the CDAD, and the device reaches the Alexa account. */
static void cloud_first_device_waits_for_skill_then_links(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_cloud_world_start(cw, NULL);
    e2e_sim *s = &cw->w->sim;

    e2e_cloud_device d;
    e2e_session x;
    e2e_cloud_device_setup(&cw->cloud, &d, "E2E-FIRST-0001", s->customer_id);
    e2e_session_new(s, &d, &x);
    e2e_cloud_report_ok(&cw->cloud, &d, &x);

    json_t *a = e2e_wait_association(s, x.device_id, "waiting_for_skill", FLOW_DEADLINE_MS);
    e2e_assert_jstr(a, "friendly_name", "First Switch");
    json_decref(a);
    json_t *sdae = e2e_cloud_wait_outbox(&cw->cloud, "--delivered", 1, FLOW_DEADLINE_MS);
    e2e_assert_jstr(sdae, "0.kind", "sdae");
    json_decref(sdae);
    /* Nothing was sent to the skill yet, and nothing can be discovered. */
    json_t *r = e2e_skill_requests(s);
    assert_int_equal(e2e_jint(r, "requests", -1), 0);
    json_decref(r);

    link_customer(cw, 0);
    assert_device_in_alexa(cw, &x, "First Switch");
    static const char *const order[] = {"AcceptGrant", "AssociateCustomerDevice"};
    assert_skill_answers_all_ok(s, 2, order);
    assert_outbox_delivered(&cw->cloud, 1);

    e2e_session_free(&x);
    e2e_cloud_device_free(&d);
}

/* ------------------------------------------------------------ tokens expired at Amazon */

/* Two hours pass on Amazon's clock: the cloud's cached client_credentials
 * token and the user's Alexa token are both expired there while the cloud
 * still counts them valid. The gateway's 401 makes the cloud fetch a new
 * client token (SDAE) and refresh the user's grant (discovery report); both
 * events go through on their second try. */
static void cloud_tokens_expired_at_amazon_are_refreshed(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_cloud_world_start(cw, NULL);
    e2e_sim *s = &cw->w->sim;
    link_customer(cw, 0);
    e2e_cloud_device d1, d2;
    e2e_session x1, x2;
    e2e_cloud_device_setup(&cw->cloud, &d1, "E2E-EXPIRY-0001", s->customer_id);
    e2e_session_new(s, &d1, &x1);
    e2e_cloud_report_ok(&cw->cloud, &d1, &x1);
    assert_device_in_alexa(cw, &x1, "First Switch");
    assert_outbox_delivered(&cw->cloud, 1);

    e2e_advance_clock(s, 2 * 3600);
    e2e_cloud_device_setup(&cw->cloud, &d2, "E2E-EXPIRY-0002", s->customer_id);
    e2e_session_new(s, &d2, &x2);
    e2e_cloud_report_ok(&cw->cloud, &d2, &x2);
    assert_device_in_alexa(cw, &x2, "Second Switch");
    assert_outbox_delivered(&cw->cloud, 2);
    static const char *const order[] = {"AcceptGrant", "AssociateCustomerDevice", "AssociateCustomerDevice"};
    assert_skill_answers_all_ok(s, 3, order);

    e2e_resp r;
    e2e_cloud_get(&cw->cloud, "/metrics", &r);
    e2e_assert_status(&r, 200);
    if (e2e_metric(r.body, "wss_cloud_token_refreshes_total") != 2 ||
        e2e_metric(r.body, "wss_cloud_events_retried_total") != 2 ||
        e2e_metric(r.body, "wss_cloud_events_sent_total") != 4)
        fail_msg("expected 2 client tokens, 2 retries after 401, 4 events sent:\n%s", r.body);
    e2e_resp_free(&r);

    e2e_session_free(&x1);
    e2e_session_free(&x2);
    e2e_cloud_device_free(&d1);
    e2e_cloud_device_free(&d2);
}

/* ------------------------------------------------------------ 6. metrics */

/* Asserts the text is well-formed Prometheus exposition: every line ends with
 * a newline; HELP and TYPE comments; every sample "name{labels} value" comes
 * after the TYPE line of its family (histograms adding _bucket, _sum, _count). */
static void assert_prometheus_text(const char *text)
{
    char declared[64][96];
    size_t ndeclared = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end); /* every line ends with \n, the last one too */
        size_t len = (size_t)(end - line);
        char buf[512];
        assert_true(len < sizeof buf);
        memcpy(buf, line, len);
        buf[len] = 0;
        if (strncmp(buf, "# TYPE ", 7) == 0) {
            char name[96], type[32];
            assert_int_equal(sscanf(buf + 7, "%95s %31s", name, type), 2);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "histogram") == 0 || strcmp(type, "gauge") == 0);
            assert_true(ndeclared < 64);
            snprintf(declared[ndeclared++], sizeof declared[0], "%s", name);
        } else if (strncmp(buf, "# HELP ", 7) == 0) {
            assert_true(len > 7);
        } else {
            /* name, optional {labels}, a space, a number */
            size_t n = strcspn(buf, "{ ");
            assert_true(n > 0);
            for (size_t i = 0; i < n; i++)
                assert_true((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= 'A' && buf[i] <= 'Z') || buf[i] == '_' ||
                            buf[i] == ':' || (i > 0 && buf[i] >= '0' && buf[i] <= '9'));
            const char *rest = buf + n;
            if (*rest == '{') {
                const char *close = strchr(rest, '}');
                assert_non_null(close);
                rest = close + 1;
            }
            assert_true(*rest == ' ');
            char *stop;
            strtod(rest + 1, &stop);
            assert_true(stop != rest + 1 && (*stop == 0 || *stop == ' '));
            int known = 0;
            for (size_t i = 0; i < ndeclared; i++) {
                size_t dl = strlen(declared[i]), sl = n - dl;
                const char *suffix = buf + dl;
                known |=
                    n >= dl && strncmp(buf, declared[i], dl) == 0 &&
                    (sl == 0 || (sl == 7 && strncmp(suffix, "_bucket", 7) == 0) ||
                     (sl == 4 && strncmp(suffix, "_sum", 4) == 0) || (sl == 6 && strncmp(suffix, "_count", 6) == 0));
            }
            if (!known)
                fail_msg("sample without a # TYPE line before it: %s", buf);
        }
        line = end + 1;
    }
}

/* Asserts the latency histogram of one directive: cumulative buckets ending
 * with +Inf equal to _count, which is count. */
static void assert_histogram(const char *text, const char *directive, double count)
{
    char series[160];
    snprintf(series, sizeof series, "wss_cloud_directive_seconds_count{directive=\"%s\"}", directive);
    if (e2e_metric(text, series) != count)
        fail_msg("%s is %g, expected %g\n%s", series, e2e_metric(text, series), count, text);
    snprintf(series, sizeof series, "wss_cloud_directive_seconds_bucket{directive=\"%s\",le=\"+Inf\"}", directive);
    assert_true(e2e_metric(text, series) == count);
    snprintf(series, sizeof series, "wss_cloud_directive_seconds_sum{directive=\"%s\"}", directive);
    assert_true(e2e_metric(text, series) >= 0);
    /* The buckets in order, never decreasing. */
    char prefix[160];
    snprintf(prefix, sizeof prefix, "wss_cloud_directive_seconds_bucket{directive=\"%s\",le=\"", directive);
    double last = 0;
    int buckets = 0;
    for (const char *p = strstr(text, prefix); p; p = strstr(p + 1, prefix)) {
        const char *sp = strchr(p, ' ');
        assert_non_null(sp);
        double v = strtod(sp + 1, NULL);
        assert_true(v >= last);
        last = v;
        buckets++;
    }
    assert_true(buckets >= 2);
    assert_true(last == count);
}

static void cloud_metrics_count_the_flow(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_cloud_world_start(cw, NULL);
    e2e_sim *s = &cw->w->sim;
    link_customer(cw, 0);
    e2e_cloud_device d;
    e2e_session x;
    e2e_cloud_device_setup(&cw->cloud, &d, "E2E-METRICS-0001", s->customer_id);
    e2e_session_new(s, &d, &x);
    e2e_cloud_report_ok(&cw->cloud, &d, &x);
    assert_device_in_alexa(cw, &x, "First Switch");
    assert_outbox_delivered(&cw->cloud, 1);

    e2e_resp r;
    e2e_cloud_get(&cw->cloud, "/metrics", &r);
    e2e_assert_status(&r, 200);
    assert_true(strncmp(r.content_type, "text/plain", 10) == 0);
    assert_non_null(r.body);
    assert_prometheus_text(r.body);
    const char *t = r.body;
    static const char *const families[] = {"wss_cloud_reports_accepted_total", "wss_cloud_events_sent_total",
                                           "wss_cloud_events_retried_total",   "wss_cloud_token_refreshes_total",
                                           "wss_cloud_directives_total",       "wss_cloud_events_dead_lettered_total",
                                           "wss_cloud_directive_seconds"};
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        char help[128];
        snprintf(help, sizeof help, "# HELP %s ", families[i]);
        if (!strstr(t, help))
            fail_msg("no %s in /metrics:\n%s", help, t);
    }
    if (e2e_metric(t, "wss_cloud_reports_accepted_total") != 1 || e2e_metric(t, "wss_cloud_events_sent_total") != 2 ||
        e2e_metric(t, "wss_cloud_events_retried_total") != 0 || e2e_metric(t, "wss_cloud_token_refreshes_total") != 1 ||
        e2e_metric(t, "wss_cloud_directives_total") != 2)
        fail_msg("unexpected counters after one device (1 report, 2 events, 1 token, 2 directives):\n%s", t);
    assert_true(strstr(t, "# TYPE wss_cloud_directive_seconds histogram\n") != NULL);
    assert_true(strstr(t, "# TYPE wss_cloud_reports_accepted_total counter\n") != NULL);
    assert_histogram(t, "AcceptGrant", 1);
    assert_histogram(t, "AssociateCustomerDevice", 1);
    e2e_resp_free(&r);

    e2e_session_free(&x);
    e2e_cloud_device_free(&d);
}

/* ------------------------------------------------------------ 7. intake authentication */

static void expect_report_status(e2e_cloud *c, const char *cert, const char *key, const e2e_session *x, long status)
{
    char *body = e2e_report_body(x);
    assert_non_null(body);
    wss_httpc_response r;
    char err[512];
    long got = e2e_cloud_request(c, "POST", "/v1/devices/association-report", cert, key, body, &r, err, sizeof err);
    free(body);
    if (got < 0) {
        e2e_cloud_print_log(c);
        fail_msg("POST /v1/devices/association-report: no answer (expected %ld): %s", status, err);
    }
    if (got != status)
        fail_msg("POST /v1/devices/association-report: status %ld, expected %ld; body: %s", got, status,
                 r.body ? r.body : "");
    json_t *doc = json_loadb(r.body, r.body_len, 0, NULL);
    if (status != 202) {
        const char *e = e2e_jstr(doc, "error");
        assert_true(e && *e);
    }
    json_decref(doc);
    wss_httpc_response_free(&r);
}

/* A refusal at the TLS layer (no HTTP answer) or a 401. */
static void expect_report_refused(e2e_cloud *c, const char *cert, const char *key, const e2e_session *x)
{
    char *body = e2e_report_body(x);
    assert_non_null(body);
    wss_httpc_response r;
    char err[512];
    long got = e2e_cloud_request(c, "POST", "/v1/devices/association-report", cert, key, body, &r, err, sizeof err);
    free(body);
    if (got >= 0) {
        if (got != 401)
            fail_msg("POST /v1/devices/association-report: status %ld, expected 401 or no answer; body: %s", got,
                     r.body ? r.body : "");
        wss_httpc_response_free(&r);
    }
}

static void cloud_intake_refuses_devices_without_the_makers_certificate(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_cloud_world_start(cw, NULL);
    e2e_sim *s = &cw->w->sim;
    e2e_cloud_device d;
    e2e_session x;
    e2e_cloud_device_setup(&cw->cloud, &d, "E2E-AUTH-0001", s->customer_id);
    e2e_session_new(s, &d, &x);

    /* No client certificate at all. */
    expect_report_status(&cw->cloud, NULL, NULL, &x, 401);

    /* A certificate for the same key and serial from another CA. */
    wss_crypto_key *other_key = NULL;
    char *other_ca = NULL, *other_cert = NULL, err[256];
    assert_int_equal(wss_x509_make_ca("someone else's CA", 30, &other_key, &other_ca, err, sizeof err), WSS_OK);
    assert_int_equal(wss_x509_issue_client(other_key, other_ca, d.key, "openwss e2e plug", d.serial, 30, &other_cert,
                                           err, sizeof err),
                     WSS_OK);
    expect_report_status(&cw->cloud, other_cert, d.key_pem, &x, 401);

    /* The other CA's own certificate, as a client certificate: its key usage
     * (certificate signing only) does not let it sign the handshake, so the
     * TLS layer may refuse it before HTTP; it must never get further than 401. */
    char *other_key_pem = wss_key_private_pem(other_key);
    assert_non_null(other_key_pem);
    expect_report_refused(&cw->cloud, other_ca, other_key_pem, &x);

    /* The maker's CA, but a certificate that has expired. */
    char *expired = NULL;
    assert_int_equal(wss_x509_issue_client(cw->cloud.ca_key, cw->cloud.ca_pem, d.key, "openwss e2e plug", d.serial, 0,
                                           &expired, err, sizeof err),
                     WSS_OK);
    expect_report_status(&cw->cloud, expired, d.key_pem, &x, 401);

    /* The maker's CA, the right serial, but another key than the one that
     * signed the session token: the signature does not verify (400). */
    wss_crypto_key *stranger = NULL;
    char *stranger_cert = NULL;
    assert_int_equal(wss_key_generate(&stranger), WSS_OK);
    char *stranger_pem = wss_key_private_pem(stranger);
    assert_non_null(stranger_pem);
    assert_int_equal(wss_x509_issue_client(cw->cloud.ca_key, cw->cloud.ca_pem, stranger, "openwss e2e plug", d.serial,
                                           30, &stranger_cert, err, sizeof err),
                     WSS_OK);
    expect_report_status(&cw->cloud, stranger_cert, stranger_pem, &x, 400);

    /* Nothing of it was kept or forwarded; the right certificate still goes through. */
    json_t *waiting = e2e_cloud_outbox(&cw->cloud, NULL), *delivered = e2e_cloud_outbox(&cw->cloud, "--delivered");
    assert_int_equal(json_array_size(waiting) + json_array_size(delivered), 0);
    json_decref(waiting);
    json_decref(delivered);
    expect_report_status(&cw->cloud, d.cert_pem, d.key_pem, &x, 202);
    expect_report_status(&cw->cloud, d.cert_pem, d.key_pem, &x, 409); /* the same session again */
    json_t *a = e2e_wait_association(s, x.device_id, "waiting_for_skill", FLOW_DEADLINE_MS);
    json_decref(a);
    json_t *counters = e2e_counters(s);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), 1);
    json_decref(counters);

    e2e_resp m;
    e2e_cloud_get(&cw->cloud, "/metrics", &m);
    e2e_assert_status(&m, 200);
    assert_true(e2e_metric(m.body, "wss_cloud_reports_accepted_total") == 1);
    e2e_resp_free(&m);

    free(other_key_pem);
    free(expired);
    free(stranger_cert);
    free(stranger_pem);
    wss_key_free(stranger);
    free(other_cert);
    free(other_ca);
    wss_key_free(other_key);
    e2e_session_free(&x);
    e2e_cloud_device_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_cloud_world_setup, e2e_cloud_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(cloud_two_to_n_devices_reach_alexa),
        T(cloud_first_device_waits_for_skill_then_links),
        T(cloud_tokens_expired_at_amazon_are_refreshed),
        T(cloud_metrics_count_the_flow),
        T(cloud_intake_refuses_devices_without_the_makers_certificate),
    };
    return cmocka_run_group_tests_name("e2e: wss cloud and wss sim, the flow", tests, NULL, NULL);
}
