/* test_cloud_outbox.c - the cloud's outbox between two real processes: a
 * crash of `wss cloud` after it acknowledged reports, a graceful stop with
 * deliveries on the wire, and dead letters sent again by the operator.
 *
 * The emulator's gateway is made slow or failing with fault rules; what
 * arrived is read from its counters and associations, what the cloud holds
 * from `wss cloud outbox list`. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/clock.h"
#include "harness.h"

#define DEADLINE_MS 10000

/* ------------------------------------------------------------ small things */

static void patch_skill(e2e_sim *s, json_t *changes)
{
    char path[400];
    snprintf(path, sizeof path, "/skills/%s", s->skill_id);
    json_decref(e2e_control(s, "PATCH", path, changes, 200));
}

static int counters_reach(const json_t *answer, void *ctx)
{
    const long long *want = ctx; /* gateway_messages_accepted, associations.unowned */
    return e2e_jint(answer, "gateway_messages_accepted", 0) >= want[0] &&
           e2e_jint(answer, "associations.unowned", 0) >= want[1];
}

/* Polls GET /counters until the gateway accepted `accepted` messages and as many unowned associations exist. */
static json_t *wait_counters(e2e_sim *s, long long accepted, long timeout_ms)
{
    long long want[2] = {accepted, accepted};
    char what[128];
    snprintf(what, sizeof what, "%lld accepted gateway messages and unowned associations", accepted);
    return e2e_poll_control(s, "/counters", counters_reach, want, timeout_ms, what);
}

static long long fault_hits(e2e_sim *s, long long id)
{
    json_t *all = e2e_control(s, "GET", "/faults", NULL, 200);
    size_t i;
    json_t *f;
    long long hits = -1;
    json_array_foreach(json_object_get(all, "faults"), i, f) if (e2e_jint(f, "id", 0) == id) hits =
        e2e_jint(f, "hits", -1);
    json_decref(all);
    return hits;
}

/* ------------------------------------------------------------ many reports at once */

#define CRASH_DEVICES 4
#define CRASH_REPORTS 500
#define WORKERS 8

typedef struct batch {
    e2e_cloud *cloud;
    sim_client *sim;
    e2e_cloud_device *devices;
    int ndevices;
    e2e_session *sessions; /* [CRASH_REPORTS] */
    char (*message_ids)[64];
    long *status;
    atomic_int next;
    char error[512]; /* the first failure */
    pthread_mutex_t lock;
} batch;

static void batch_fail(batch *b, const char *fmt, const char *detail, int i)
{
    pthread_mutex_lock(&b->lock);
    if (!b->error[0])
        snprintf(b->error, sizeof b->error, fmt, i, detail);
    pthread_mutex_unlock(&b->lock);
}

static void *issue_sessions(void *arg)
{
    batch *b = arg;
    char err[400];
    for (int i; (i = atomic_fetch_add(&b->next, 1)) < CRASH_REPORTS;)
        if (e2e_session_issue(b->sim, &b->devices[i % b->ndevices], &b->sessions[i], err, sizeof err) != 0)
            batch_fail(b, "session %d: %s", err, i);
    return NULL;
}

static void *send_reports(void *arg)
{
    batch *b = arg;
    char err[400];
    for (int i; (i = atomic_fetch_add(&b->next, 1)) < CRASH_REPORTS;) {
        const e2e_cloud_device *d = &b->devices[i % b->ndevices];
        char *body = e2e_report_body(&b->sessions[i]);
        wss_httpc_response r;
        long st = body ? e2e_cloud_request(b->cloud, "POST", "/v1/devices/association-report", d->cert_pem, d->key_pem,
                                           body, &r, err, sizeof err)
                       : -1;
        free(body);
        b->status[i] = st;
        if (st < 0) {
            batch_fail(b, "report %d: no answer: %s", err, i);
            continue;
        }
        json_t *doc = json_loadb(r.body, r.body_len, 0, NULL);
        const char *id = e2e_jstr(doc, "device_id"), *mid = e2e_jstr(doc, "message_id");
        if (st != 202 || !id || strcmp(id, b->sessions[i].device_id) != 0 || !mid)
            batch_fail(b, "report %d: unexpected answer %s", r.body ? r.body : "", i);
        else
            snprintf(b->message_ids[i], sizeof b->message_ids[i], "%s", mid);
        json_decref(doc);
        wss_httpc_response_free(&r);
    }
    return NULL;
}

static void run_workers(batch *b, void *(*fn)(void *))
{
    pthread_t t[WORKERS];
    atomic_store(&b->next, 0);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, b), 0);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    if (b->error[0])
        fail_msg("%s", b->error);
}

/* Whether every event of a pending-outbox answer was tried exactly once and
 * is waiting for its retry; gives the earliest next_attempt_ms. */
static int all_tried_once(const json_t *list, size_t n, long long *earliest)
{
    if (json_array_size(list) != n)
        return 0;
    size_t i;
    json_t *ev;
    *earliest = -1;
    json_array_foreach(list, i, ev)
    {
        long long next = e2e_jint(ev, "next_attempt_ms", -1);
        if (e2e_jint(ev, "attempts", -1) != 1 || next < 0)
            return 0;
        if (*earliest < 0 || next < *earliest)
            *earliest = next;
    }
    return 1;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ------------------------------------------------------------ 3. crash after 202 */

/* 500 reports are acknowledged (202) while the gateway answers 503 to
 * everything, so none is delivered; the cloud is killed with SIGKILL at a
 * moment when each has been tried once and waits for its retry. Started
 * again on the same state, it delivers every one, exactly once as far as the
 * emulator's associations go. */
static void cloud_crash_after_202_loses_no_report(void **state)
{
    e2e_cloud_world *cw = *state;
    json_object_set_new(e2e_config_skill(cw->w->config), "rate_limit",
                        json_pack("{s:i, s:i}", "per_second", 100000, "burst", 100000));
    /* The first life retries a 503 after 8 s: the crash comes before that. */
    json_t *first = json_pack("{s:i, s:i}", "retry_delay_ms", 8000, "max_retries", 3);
    e2e_cloud_world_start(cw, first);
    json_decref(first);
    e2e_sim *s = &cw->w->sim;
    e2e_cloud *c = &cw->cloud;
    long long fault = e2e_add_fault(
        s, json_pack("{s:s, s:s, s:i, s:f}", "route", "events", "client", "*", "status", 503, "rate", 1.0));

    e2e_cloud_device devices[CRASH_DEVICES];
    for (int i = 0; i < CRASH_DEVICES; i++) {
        char serial[32];
        snprintf(serial, sizeof serial, "E2E-CRASH-%04d", i);
        e2e_cloud_device_setup(c, &devices[i], serial, NULL);
    }
    batch *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->cloud = c;
    b->sim = &s->client;
    b->devices = devices;
    b->ndevices = CRASH_DEVICES;
    b->sessions = calloc(CRASH_REPORTS, sizeof *b->sessions);
    b->message_ids = calloc(CRASH_REPORTS, sizeof *b->message_ids);
    b->status = calloc(CRASH_REPORTS, sizeof *b->status);
    assert_true(b->sessions && b->message_ids && b->status);
    pthread_mutex_init(&b->lock, NULL);

    long long t0 = e2e_mono_ms();
    run_workers(b, issue_sessions);
    long long t1 = e2e_mono_ms();
    run_workers(b, send_reports);
    long long t2 = e2e_mono_ms();
    print_message("    %d session tokens in %lld ms, %d reports (202) in %lld ms\n", CRASH_REPORTS, t1 - t0,
                  CRASH_REPORTS, t2 - t1);

    /* Every report tried once, its 503 recorded, its retry not yet due: kill now. */
    long long earliest = -1, deadline = e2e_mono_ms() + 2 * DEADLINE_MS;
    json_t *pending = NULL;
    for (;;) {
        pending = e2e_cloud_outbox(c, NULL);
        if (all_tried_once(pending, CRASH_REPORTS, &earliest))
            break;
        if (e2e_mono_ms() > deadline) {
            e2e_print_json("pending", json_array_get(pending, 0));
            fail_msg("the outbox does not show %d events tried once (it has %zu)", CRASH_REPORTS,
                     json_array_size(pending));
        }
        json_decref(pending);
        e2e_sleep_ms(50);
    }
    e2e_cloud_kill(c);
    long long killed_at = wss_wall_ms();
    /* Every event waits for its retry with no lease: the next start takes
     * them when due. A kill after a retry began would leave that event leased
     * (for a minute): allow for it rather than fail. */
    int quiet = killed_at < earliest;
    print_message("    killed %lld ms before the first retry was due\n", earliest - killed_at);
    const char *err0 = e2e_jstr(json_array_get(pending, 0), "last_error");
    if (!err0 || !strstr(err0, "SERVICE_UNAVAILABLE_EXCEPTION"))
        fail_msg("the first try's error is not the gateway's 503 SERVICE_UNAVAILABLE_EXCEPTION: %s",
                 err0 ? err0 : "(none)");
    json_decref(pending);

    json_t *counters = e2e_counters(s);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), 0);
    assert_int_equal(json_object_size(json_object_get(counters, "associations")), 0);
    json_decref(counters);
    assert_int_equal(fault_hits(s, fault), CRASH_REPORTS);

    /* The gateway recovers; the cloud starts again on the same state. */
    char path[64];
    snprintf(path, sizeof path, "/faults/%lld", fault);
    json_decref(e2e_control(s, "DELETE", path, NULL, 200));
    json_object_set_new(c->config, "retry_delay_ms", json_integer(100));
    e2e_cloud_start(c);
    long long t3 = e2e_mono_ms();
    counters = wait_counters(s, CRASH_REPORTS, quiet ? 3 * DEADLINE_MS : 9 * DEADLINE_MS);
    print_message("    all %d delivered %lld ms after the restart (%lld duplicates seen by the gateway)\n",
                  CRASH_REPORTS, e2e_mono_ms() - t3, e2e_jint(counters, "gateway_duplicates", -1));
    json_decref(counters);

    /* Settle, then count: nothing more arrives, nothing is left. */
    json_t *delivered = e2e_cloud_wait_outbox(c, "--delivered", CRASH_REPORTS, DEADLINE_MS);
    assert_int_equal(json_array_size(delivered), CRASH_REPORTS);
    pending = e2e_cloud_outbox(c, NULL);
    json_t *dead = e2e_cloud_outbox(c, "--dead");
    assert_int_equal(json_array_size(pending), 0);
    assert_int_equal(json_array_size(dead), 0);
    json_decref(pending);
    json_decref(dead);

    /* The delivered events are the 500 acknowledged ones, each once. */
    const char **mids = calloc(CRASH_REPORTS, sizeof *mids);
    assert_non_null(mids);
    size_t i;
    json_t *ev;
    json_array_foreach(delivered, i, ev)
    {
        e2e_assert_jstr(ev, "kind", "sdae");
        mids[i] = e2e_jstr(ev, "message_id");
        assert_non_null(mids[i]);
    }
    qsort(mids, CRASH_REPORTS, sizeof *mids, compare_strings);
    for (int k = 0; k < CRASH_REPORTS; k++) {
        const char *want = b->message_ids[k];
        assert_non_null(bsearch(&want, mids, CRASH_REPORTS, sizeof *mids, compare_strings));
        if (k > 0)
            assert_true(strcmp(mids[k - 1], mids[k]) != 0);
    }
    free(mids);
    json_decref(delivered);

    /* The emulator applied each report once: 500 associations, one per session. */
    counters = e2e_counters(s);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), CRASH_REPORTS);
    assert_int_equal(e2e_jint(counters, "associations.unowned", -1), CRASH_REPORTS);
    assert_int_equal(json_object_size(json_object_get(counters, "associations")), 1);
    json_decref(counters);
    json_t *assoc = e2e_associations(s);
    json_t *list = json_object_get(assoc, "associations");
    assert_int_equal(json_array_size(list), CRASH_REPORTS);
    const char **ids = calloc(CRASH_REPORTS, sizeof *ids);
    assert_non_null(ids);
    json_array_foreach(list, i, ev) ids[i] = e2e_jstr(ev, "device_id");
    qsort(ids, CRASH_REPORTS, sizeof *ids, compare_strings);
    for (int k = 0; k < CRASH_REPORTS; k++) {
        const char *want = b->sessions[k].device_id;
        assert_non_null(bsearch(&want, ids, CRASH_REPORTS, sizeof *ids, compare_strings));
    }
    free(ids);
    json_decref(assoc);

    e2e_resp m;
    e2e_cloud_get(c, "/metrics", &m);
    e2e_assert_status(&m, 200);
    /* The first life delivered nothing: the second one sent them all. */
    assert_true(e2e_metric(m.body, "wss_cloud_events_sent_total") == CRASH_REPORTS);
    e2e_resp_free(&m);

    for (int k = 0; k < CRASH_REPORTS; k++)
        e2e_session_free(&b->sessions[k]);
    for (int k = 0; k < CRASH_DEVICES; k++)
        e2e_cloud_device_free(&devices[k]);
    pthread_mutex_destroy(&b->lock);
    free(b->sessions);
    free(b->message_ids);
    free(b->status);
    free(b);
}

/* ------------------------------------------------------------ 4. graceful stop */

#define SLOW_REPORTS 5
#define GATEWAY_LATENCY_MS 1500

/* SIGTERM while every delivery is on the wire (the gateway takes 1.5 s):
 * the cloud waits for the answers, records them, and exits 0. */
static void cloud_sigterm_finishes_deliveries_in_flight(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_cloud_world_start(cw, NULL);
    e2e_sim *s = &cw->w->sim;
    e2e_cloud *c = &cw->cloud;
    long long fault = e2e_add_fault(
        s, json_pack("{s:s, s:s, s:i}", "route", "events", "client", "*", "latency_ms", GATEWAY_LATENCY_MS));
    e2e_cloud_device d;
    e2e_cloud_device_setup(c, &d, "E2E-SLOW-0001", NULL);
    e2e_session x[SLOW_REPORTS];
    for (int i = 0; i < SLOW_REPORTS; i++) {
        e2e_session_new(s, &d, &x[i]);
        e2e_cloud_report_ok(c, &d, &x[i]);
    }
    /* All of them reached the gateway, which is sitting on them. */
    long long deadline = e2e_mono_ms() + DEADLINE_MS;
    while (fault_hits(s, fault) < SLOW_REPORTS) {
        if (e2e_mono_ms() > deadline)
            fail_msg("the deliveries did not reach the slow gateway (%lld hits)", fault_hits(s, fault));
        e2e_sleep_ms(20);
    }
    json_t *counters = e2e_counters(s);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), 0);
    json_decref(counters);

    long long t0 = e2e_mono_ms();
    int status = e2e_cloud_stop_status(c, DEADLINE_MS);
    long long took = e2e_mono_ms() - t0;
    print_message("    stopped in %lld ms\n", took);
    if (status != 0) {
        e2e_cloud_print_log(c);
        fail_msg("the cloud did not exit 0 on SIGTERM with deliveries in flight (status %d)", status);
    }
    assert_true(e2e_cloud_log_contains(c, "wss cloud: stopped"));

    /* The gateway had answered every one by the time the cloud exited. */
    counters = e2e_counters(s);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), SLOW_REPORTS);
    assert_int_equal(e2e_jint(counters, "associations.unowned", -1), SLOW_REPORTS);
    json_decref(counters);
    json_t *delivered = e2e_cloud_outbox(c, "--delivered"), *pending = e2e_cloud_outbox(c, NULL);
    assert_int_equal(json_array_size(delivered), SLOW_REPORTS);
    assert_int_equal(json_array_size(pending), 0);
    json_decref(delivered);
    json_decref(pending);
    for (int i = 0; i < SLOW_REPORTS; i++) {
        json_t *a = e2e_association(s, x[i].device_id);
        assert_non_null(a);
        json_decref(a);
        e2e_session_free(&x[i]);
    }
    e2e_cloud_device_free(&d);
}

/* SIGTERM while the skill endpoint is answering a directive: AcceptGrant,
 * whose code exchange at Login with Amazon takes 1.5 s. The cloud finishes
 * the exchange (the single-use code is spent, the user's tokens stored), so
 * Alexa must get the AcceptGrant.Response too, else it takes the enablement
 * as failed while the cloud holds the grant. */
static void cloud_sigterm_answers_directive_in_progress(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_cloud_world_start(cw, NULL);
    e2e_sim *s = &cw->w->sim;
    e2e_cloud *c = &cw->cloud;
    long long fault =
        e2e_add_fault(s, json_pack("{s:s, s:s, s:i}", "route", "lwa", "client", "*", "latency_ms", GATEWAY_LATENCY_MS));
    e2e_enable_skill(s, s->customer_id, cw->maker_token);
    long long deadline = e2e_mono_ms() + DEADLINE_MS;
    while (fault_hits(s, fault) < 1) {
        if (e2e_mono_ms() > deadline)
            fail_msg("the cloud did not exchange the AcceptGrant code");
        e2e_sleep_ms(20);
    }
    int status = e2e_cloud_stop_status(c, DEADLINE_MS);
    if (status != 0) {
        e2e_cloud_print_log(c);
        fail_msg("the cloud did not exit 0 on SIGTERM with a directive in progress (status %d)", status);
    }
    json_t *r = e2e_wait_skill_requests(s, 1, DEADLINE_MS);
    json_t *rec = json_array_get(json_object_get(r, "records"), 0);
    const char *directive = e2e_jstr(rec, "directive"), *outcome = e2e_jstr(rec, "outcome");
    int answered = directive && strcmp(directive, "AcceptGrant") == 0 && outcome && strcmp(outcome, "ok") == 0;
    if (!answered) {
        e2e_print_json("AcceptGrant as Alexa judged it", rec);
        e2e_cloud_print_log(c);
    }
    json_decref(r);
    if (!answered)
        fail_msg("the cloud handled AcceptGrant during its shutdown but Alexa got no answer");
}

/* ------------------------------------------------------------ 5. dead letter and requeue */

/* A development-stage skill's events get 404 SKILL_NOT_FOUND_EXCEPTION: the
 * SDAE is dead-lettered at once with the gateway's code. Once the skill is
 * live, `outbox requeue` sends it again and it is delivered. */
static void cloud_dead_letter_requeued_after_fix(void **state)
{
    e2e_cloud_world *cw = *state;
    e2e_cloud_world_start(cw, NULL);
    e2e_sim *s = &cw->w->sim;
    e2e_cloud *c = &cw->cloud;
    patch_skill(s, json_pack("{s:s}", "stage", "development"));

    e2e_cloud_device d;
    e2e_session x;
    e2e_cloud_device_setup(c, &d, "E2E-DEAD-0001", NULL);
    e2e_session_new(s, &d, &x);
    e2e_cloud_report_ok(c, &d, &x);

    json_t *dead = e2e_cloud_wait_outbox(c, "--dead", 1, DEADLINE_MS);
    assert_int_equal(json_array_size(dead), 1);
    json_t *ev = json_array_get(dead, 0);
    e2e_assert_jstr(ev, "kind", "sdae");
    e2e_assert_jstr(ev, "state", "dead");
    e2e_assert_jstr(ev, "code", "SKILL_NOT_FOUND_EXCEPTION");
    assert_int_equal(e2e_jint(ev, "http_status", -1), 404);
    assert_int_equal(e2e_jint(ev, "attempts", -1), 1);
    const char *desc = e2e_jstr(ev, "description");
    assert_true(desc && *desc);
    long long id = e2e_jint(ev, "id", -1);
    assert_true(id > 0);
    char *message_id = strdup(e2e_jstr(ev, "message_id"));
    json_decref(dead);
    json_t *pending = e2e_cloud_outbox(c, NULL);
    assert_int_equal(json_array_size(pending), 0);
    json_decref(pending);
    assert_null(e2e_association(s, x.device_id));

    e2e_resp m;
    e2e_cloud_get(c, "/metrics", &m);
    assert_true(e2e_metric(m.body, "wss_cloud_events_dead_lettered_total{code=\"SKILL_NOT_FOUND_EXCEPTION\"}") == 1);
    assert_true(e2e_metric(m.body, "wss_cloud_events_sent_total") == 0);
    e2e_resp_free(&m);

    /* Requeueing what is not dead is refused. */
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", id + 1000);
    assert_int_not_equal(e2e_cloud_cli(c, NULL, "outbox", "requeue", idtext, NULL), 0);

    /* The cause is fixed; the operator sends the event again. */
    patch_skill(s, json_pack("{s:s}", "stage", "live"));
    snprintf(idtext, sizeof idtext, "%lld", id);
    char *out = NULL;
    int rc = e2e_cloud_cli(c, &out, "outbox", "requeue", idtext, NULL);
    if (rc != 0)
        fail_msg("wss cloud outbox requeue %s: exit %d: %s", idtext, rc, out);
    assert_non_null(strstr(out, "requeued"));
    free(out);

    json_t *a = e2e_wait_association(s, x.device_id, "unowned", DEADLINE_MS);
    json_decref(a);
    json_t *delivered = e2e_cloud_wait_outbox(c, "--delivered", 1, DEADLINE_MS);
    assert_int_equal(json_array_size(delivered), 1);
    assert_int_equal(e2e_jint(json_array_get(delivered, 0), "id", -1), id);
    e2e_assert_jstr(json_array_get(delivered, 0), "message_id", message_id); /* the same event, not a copy */
    json_decref(delivered);
    dead = e2e_cloud_outbox(c, "--dead");
    assert_int_equal(json_array_size(dead), 0);
    json_decref(dead);
    /* Delivered is not dead: a second requeue is refused. */
    assert_int_not_equal(e2e_cloud_cli(c, NULL, "outbox", "requeue", idtext, NULL), 0);

    json_t *counters = e2e_counters(s);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), 1);
    json_decref(counters);
    e2e_cloud_get(c, "/metrics", &m);
    assert_true(e2e_metric(m.body, "wss_cloud_events_sent_total") == 1);
    e2e_resp_free(&m);

    free(message_id);
    e2e_session_free(&x);
    e2e_cloud_device_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_cloud_world_setup, e2e_cloud_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(cloud_crash_after_202_loses_no_report),
        T(cloud_sigterm_finishes_deliveries_in_flight),
        T(cloud_sigterm_answers_directive_in_progress),
        T(cloud_dead_letter_requeued_after_fix),
    };
    return cmocka_run_group_tests_name("e2e: wss cloud's outbox against wss sim", tests, NULL, NULL);
}
