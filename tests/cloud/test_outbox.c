/* test_outbox.c - the outbox worker and the client_credentials token cache
 * against the emulator of Amazon's side, over HTTPS on loopback.
 *
 * Each test gets a fresh emulator and store (cloud_fixture.h) and checks real
 * outcomes: what the emulator recorded (associations, counters, its event
 * log, fault hit counts) and the states, tries and codes of the store's
 * outbox, against the seed's table of gateway answers and retry advice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud_fixture.h"

#define WAIT_MS 10000

static int setup(void **state)
{
    *state = cloud_fx_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    cloud_fx_free(*state);
    return 0;
}

/* One bought device with a fresh session token, reported and queued. */
static void enqueue_new_device(cloud_fx *fx, const char *dsn, cloud_fx_device *d, char message_id[37])
{
    cloud_fx_device_setup(fx, d, dsn, fx->customer_id);
    cloud_fx_enqueue_sdae(fx, d, message_id);
}

/* attempts as the store keeps it: every try, including the one that
 * delivered the event or made it dead. */
static void assert_event_json(const json_t *ev, const char *state, long long attempts, const char *code)
{
    const char *s = cloud_fx_jstr(ev, "state");
    assert_non_null(s);
    assert_string_equal(s, state);
    if (cloud_fx_jint(ev, "attempts", -1) != attempts) {
        char *text = json_dumps(ev, JSON_COMPACT);
        print_error("expected %lld attempts: %s\n", attempts, text);
        free(text);
    }
    assert_int_equal(cloud_fx_jint(ev, "attempts", -1), attempts);
    if (code) {
        assert_non_null(cloud_fx_jstr(ev, "code"));
        assert_string_equal(cloud_fx_jstr(ev, "code"), code);
    }
}

static size_t events_with_message(cloud_fx *fx, const char *kind, const char *message_id)
{
    json_t *events = cloud_fx_events(fx, kind);
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        const char *id = cloud_fx_jstr(e, "details.message_id");
        n += id && strcmp(id, message_id) == 0;
    }
    json_decref(events);
    return n;
}

/* ------------------------------------------------------------ delivery */

static void test_delivered(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-OK-1", &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "delivered", WAIT_MS);
    assert_event_json(ev, "delivered", 1, NULL);
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 0);
    json_decref(ev);

    json_t *a = cloud_fx_association(fx, d.device_id);
    assert_non_null(a);
    assert_string_equal(cloud_fx_jstr(a, "state"), "waiting_for_skill");
    assert_string_equal(cloud_fx_jstr(a, "customer_id"), fx->customer_id);
    json_decref(a);
    assert_int_equal(events_with_message(fx, "sdae.accepted", mid), 1);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_sent_total"), 1);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_token_refreshes_total"), 1);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 0);
    cloud_fx_device_free(&d);
}

/* ------------------------------------------------------------ 5xx */

static void test_503_twice_then_delivered(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    long long rule = cloud_fx_add_fault(fx, json_pack("{s:s, s:[i, i]}", "route", "events", "schedule", 503, 503));
    cloud_fx_start_outbox(fx);
    long long t0 = cloud_fx_mono_ms();
    enqueue_new_device(fx, "OUTBOX-503", &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "delivered", WAIT_MS);
    long long elapsed = cloud_fx_mono_ms() - t0;
    assert_event_json(ev, "delivered", 3, NULL);
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 2);
    json_decref(ev);
    assert_true(elapsed >= 2 * fx->c.cfg.retry_delay_ms);

    json_t *f = cloud_fx_fault(fx, rule);
    assert_int_equal(cloud_fx_jint(f, "hits", -1), 2);
    json_decref(f);
    json_t *a = cloud_fx_association(fx, d.device_id);
    assert_non_null(a);
    json_decref(a);
    json_t *counters = cloud_fx_counters(fx);
    assert_int_equal(cloud_fx_jint(counters, "gateway_messages_accepted", -1), 1);
    json_decref(counters);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 2);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_sent_total"), 1);
    cloud_fx_device_free(&d);
}

static void test_500_four_times_dead_after_three_retries(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    long long rule =
        cloud_fx_add_fault(fx, json_pack("{s:s, s:[i, i, i, i]}", "route", "events", "schedule", 500, 500, 500, 500));
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-500", &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 4, "INTERNAL_SERVICE_EXCEPTION");
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 4);
    assert_int_equal(cloud_fx_jint(ev, "http_status", -1), 500);
    assert_non_null(cloud_fx_jstr(ev, "description"));
    assert_true(strlen(cloud_fx_jstr(ev, "description")) > 0);
    json_decref(ev);

    /* Nothing more is sent: the rule saw exactly four tries and the event stays dead. */
    cloud_fx_sleep_ms(300);
    json_t *f = cloud_fx_fault(fx, rule);
    assert_int_equal(cloud_fx_jint(f, "hits", -1), 4);
    json_decref(f);
    assert_int_equal(cloud_fx_event_count(fx, "fault.injected"), 4);
    json_t *a = cloud_fx_association(fx, d.device_id);
    assert_null(a);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 3);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_dead_lettered_total{code=\"INTERNAL_SERVICE_EXCEPTION\"}"),
                     1);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_sent_total"), 0);
    cloud_fx_device_free(&d);
}

/* A 429 before the 500s does not spend their budget: max_retries (3) retries
 * of a 500 still happen, so the fifth try is the one that dead-letters. */
static void test_429_does_not_spend_the_5xx_budget(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    long long rule = cloud_fx_add_fault(
        fx, json_pack("{s:s, s:[i, i, i, i, i]}", "route", "events", "schedule", 429, 500, 500, 500, 500));
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-429-500", &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 5, "INTERNAL_SERVICE_EXCEPTION");
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 4);
    assert_int_equal(cloud_fx_jint(ev, "http_status", -1), 500);
    json_decref(ev);
    json_t *f = cloud_fx_fault(fx, rule);
    assert_int_equal(cloud_fx_jint(f, "hits", -1), 5);
    json_decref(f);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 4);
    cloud_fx_device_free(&d);
}

/* Enqueues a device's SDAE as if it had been tried already: attempts tries,
 * server_errors of them 5xx. */
static void enqueue_tried(cloud_fx *fx, const char *dsn, int attempts, int server_errors, cloud_fx_device *d,
                          char mid[37])
{
    enqueue_new_device(fx, dsn, d, mid);
    json_t *ev = cloud_fx_outbox_event(fx, mid);
    assert_non_null(ev);
    assert_int_equal(fx->c.store->ops->outbox_retry_at(fx->c.store, cloud_fx_jint(ev, "id", -1), cloud_now_ms(),
                                                       attempts, server_errors, "earlier tries"),
                     WSS_OK);
    json_decref(ev);
}

/* Each budget is counted on its own: a spent 5xx budget leaves 429s their
 * retries, 50 tries that were not 5xx end in a dead letter however few 5xx
 * came, and the 5xx budget alone decides on a 5xx. */
static void test_retry_budgets_are_separate(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d1, d2, d3;
    char mid1[37], mid2[37], mid3[37];

    /* 5xx budget spent (3 of 3), 7 other tries: a 429 is retried, then delivered. */
    enqueue_tried(fx, "OUTBOX-BUDGET-1", 10, 3, &d1, mid1);
    cloud_fx_add_fault(fx, json_pack("{s:s, s:[i]}", "route", "events", "schedule", 429));
    cloud_fx_start_outbox(fx);
    json_t *ev = cloud_fx_wait_outbox(fx, mid1, "delivered", WAIT_MS);
    assert_event_json(ev, "delivered", 12, NULL);
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 3);
    json_decref(ev);
    cloud_fx_stop_outbox(fx);

    /* 49 tries that were not 5xx: the 50th, a 429, is the last. */
    enqueue_tried(fx, "OUTBOX-BUDGET-2", 52, 3, &d2, mid2);
    cloud_fx_add_fault(fx, json_pack("{s:s, s:[i]}", "route", "events", "schedule", 429));
    cloud_fx_start_outbox(fx);
    ev = cloud_fx_wait_outbox(fx, mid2, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 53, NULL);
    assert_int_equal(cloud_fx_jint(ev, "http_status", -1), 429);
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 3);
    json_decref(ev);
    cloud_fx_stop_outbox(fx);

    /* Three 5xx so far among few tries: a fourth 5xx is dead at once. */
    enqueue_tried(fx, "OUTBOX-BUDGET-3", 3, 3, &d3, mid3);
    cloud_fx_add_fault(fx, json_pack("{s:s, s:[i]}", "route", "events", "schedule", 503));
    cloud_fx_start_outbox(fx);
    ev = cloud_fx_wait_outbox(fx, mid3, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 4, NULL);
    assert_int_equal(cloud_fx_jint(ev, "http_status", -1), 503);
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 4);
    json_decref(ev);

    assert_int_equal(cloud_fx_event_count(fx, "fault.injected"), 3);
    cloud_fx_device_free(&d1);
    cloud_fx_device_free(&d2);
    cloud_fx_device_free(&d3);
}

/* ------------------------------------------------------------ 429 */

static void test_429_retry_after(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    long long rule = cloud_fx_add_fault(
        fx, json_pack("{s:s, s:i, s:[i], s:i}", "route", "events", "status", 429, "schedule", 429, "retry_after_s", 1));
    cloud_fx_device_setup(fx, &d, "OUTBOX-429", fx->customer_id);
    cloud_fx_start_outbox(fx);
    long long t0 = cloud_fx_mono_ms();
    cloud_fx_enqueue_sdae(fx, &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "delivered", WAIT_MS);
    long long elapsed = cloud_fx_mono_ms() - t0;
    assert_event_json(ev, "delivered", 2, NULL);
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 0);
    json_decref(ev);
    /* Retry-After: 1 wins over the 50 ms retry delay. */
    assert_true(elapsed >= 950);
    assert_true(elapsed < 5000);
    json_t *f = cloud_fx_fault(fx, rule);
    assert_int_equal(cloud_fx_jint(f, "hits", -1), 1);
    json_decref(f);
    json_t *a = cloud_fx_association(fx, d.device_id);
    assert_non_null(a);
    json_decref(a);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 1);
    cloud_fx_device_free(&d);
}

/* ------------------------------------------------------------ 4xx */

static void test_400_bad_signature_dead_at_once(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    cloud_fx_device_setup(fx, &d, "OUTBOX-400", fx->customer_id);
    /* A well-formed signature, but over other bytes than the session token. */
    free(d.signature);
    d.signature = NULL;
    const char *other = "not the session token";
    assert_int_equal(wss_ecdsa_sign_b64(fx->device_key, other, strlen(other), &d.signature), WSS_OK);
    cloud_fx_start_outbox(fx);
    cloud_fx_enqueue_sdae(fx, &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 1, "INVALID_REQUEST_EXCEPTION");
    assert_int_equal(cloud_fx_jint(ev, "http_status", -1), 400);
    assert_non_null(strstr(cloud_fx_jstr(ev, "description"), "signature"));
    json_decref(ev);

    cloud_fx_sleep_ms(200);
    assert_int_equal(cloud_fx_event_count(fx, "sdae.refused"), 1);
    assert_null(cloud_fx_association(fx, d.device_id));
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 0);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_dead_lettered_total{code=\"INVALID_REQUEST_EXCEPTION\"}"),
                     1);
    cloud_fx_device_free(&d);
}

static void set_skill_stage(cloud_fx *fx, const char *stage)
{
    char path[600];
    snprintf(path, sizeof path, "/skills/%s", fx->skill_id);
    json_decref(cloud_fx_control(fx, "PATCH", path, json_pack("{s:s}", "stage", stage), 200));
}

static void test_404_development_skill_dead(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    set_skill_stage(fx, "development");
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-404", &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 1, "SKILL_NOT_FOUND_EXCEPTION");
    assert_int_equal(cloud_fx_jint(ev, "http_status", -1), 404);
    json_decref(ev);
    cloud_fx_sleep_ms(200);
    assert_int_equal(cloud_fx_event_count(fx, "sdae.refused"), 1);
    assert_null(cloud_fx_association(fx, d.device_id));
    cloud_fx_device_free(&d);
}

/* The customer disabled the skill: the gateway answers 403 to the discovery
 * report made with their (still unexpired) grant token, and the event is
 * dead at once, with the gateway's code. */
static void test_403_skill_disabled_dead_at_once(void **state)
{
    cloud_fx *fx = *state;
    char *access = NULL, *refresh = NULL, mid[37], path[600];
    cloud_fx_link_customer(fx, "maker-token-of-user-1", &access, &refresh);
    cloud_store *st = fx->c.store;
    assert_int_equal(st->ops->grant_put(st, "user-1", access, refresh, cloud_now_ms() + 3600 * 1000LL), WSS_OK);
    snprintf(path, sizeof path, "/customers/%s/skills/%s", fx->customer_id, fx->skill_id);
    json_decref(cloud_fx_control(fx, "DELETE", path, NULL, 200));
    wss_uuid4(mid);
    char *body = cloud_fx_discovery_body(mid, "endpoint-1", "First Switch");
    assert_int_equal(st->ops->outbox_add(st, "discovery", mid, fx->c.cfg.gateway_url, body, "user-1", cloud_now_ms()),
                     WSS_OK);
    free(body);
    cloud_fx_start_outbox(fx);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 1, "SKILL_DISABLED_EXCEPTION");
    assert_int_equal(cloud_fx_jint(ev, "http_status", -1), 403);
    json_decref(ev);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 0);
    free(access);
    free(refresh);
}

static int setup_small_events(void **state)
{
    json_t *config = json_pack("{s:i}", "max_event_bytes", 512);
    *state = cloud_fx_new(config);
    json_decref(config);
    return 0;
}

/* An SDAE over the gateway's size limit: 413 once, dead with the code. */
static void test_413_too_large_dead_at_once(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-413", &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 1, "REQUEST_ENTITY_TOO_LARGE_EXCEPTION");
    assert_int_equal(cloud_fx_jint(ev, "http_status", -1), 413);
    json_decref(ev);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 0);
    assert_null(cloud_fx_association(fx, d.device_id));
    cloud_fx_device_free(&d);
}

static void test_requeue_dead_letter_after_fix(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    set_skill_stage(fx, "development");
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-REQUEUE", &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    long long id = cloud_fx_jint(ev, "id", -1);
    json_decref(ev);

    /* The operator fixes the cause and requeues the event. */
    set_skill_stage(fx, "live");
    assert_int_equal(fx->c.store->ops->outbox_requeue(fx->c.store, id, cloud_now_ms()), WSS_OK);
    cloud_outbox_wake(fx->c.outbox);
    ev = cloud_fx_wait_outbox(fx, mid, "delivered", WAIT_MS);
    assert_event_json(ev, "delivered", 1, NULL); /* requeued with attempts reset, then one try */
    assert_int_equal(cloud_fx_jint(ev, "id", -1), id);
    json_decref(ev);
    json_t *a = cloud_fx_association(fx, d.device_id);
    assert_non_null(a);
    json_decref(a);
    assert_int_equal(events_with_message(fx, "sdae.accepted", mid), 1);
    cloud_fx_device_free(&d);
}

/* ------------------------------------------------------------ tokens */

static void test_expired_token_one_refresh(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d1, d2;
    char mid1[37], mid2[37];
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-TOKEN-1", &d1, mid1);
    json_decref(cloud_fx_wait_outbox(fx, mid1, "delivered", WAIT_MS));
    assert_int_equal(cloud_fx_event_count(fx, "lwa.token_issued"), 1);

    /* The emulator's clock passes expires_in; the cache still holds the token. */
    cloud_fx_advance_clock(fx, 3700);
    enqueue_new_device(fx, "OUTBOX-TOKEN-2", &d2, mid2);
    json_t *ev = cloud_fx_wait_outbox(fx, mid2, "delivered", WAIT_MS);
    /* One 401, then at once the fresh token: two tries, one retry, one fetch. */
    assert_event_json(ev, "delivered", 2, NULL);
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 0);
    json_decref(ev);
    assert_int_equal(cloud_fx_event_count(fx, "lwa.token_issued"), 2);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_token_refreshes_total"), 2);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_retried_total"), 1);
    json_t *a = cloud_fx_association(fx, d2.device_id);
    assert_non_null(a);
    json_decref(a);
    cloud_fx_device_free(&d1);
    cloud_fx_device_free(&d2);
}

#define MANY 200

static void test_many_reports_expired_token_one_refresh(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device warm;
    char warm_mid[37];
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-WARM", &warm, warm_mid);
    json_decref(cloud_fx_wait_outbox(fx, warm_mid, "delivered", WAIT_MS));
    cloud_fx_stop_outbox(fx);

    /* Many session tokens of one registered device: one report each. */
    static cloud_fx_device d[MANY];
    static char mids[MANY][37];
    cloud_fx_advance_clock(fx, 3700);
    for (int i = 0; i < MANY; i++) {
        cloud_fx_device_setup(fx, &d[i], "OUTBOX-MANY", NULL);
        cloud_fx_enqueue_sdae(fx, &d[i], mids[i]);
    }
    long long refreshes = cloud_fx_metric(fx, "wss_cloud_token_refreshes_total");
    size_t issued = cloud_fx_event_count(fx, "lwa.token_issued");
    long long t0 = cloud_fx_mono_ms();
    cloud_fx_start_outbox(fx);
    cloud_fx_wait_outbox_count(fx, "delivered", MANY + 1, 6 * WAIT_MS);
    for (int i = 0; i < MANY; i++)
        json_decref(cloud_fx_wait_outbox(fx, mids[i], "delivered", 0));
    long long elapsed = cloud_fx_mono_ms() - t0;
    print_message("%d reports delivered in %lld ms with an expired token\n", MANY, elapsed);

    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_token_refreshes_total") - refreshes, 1);
    assert_int_equal(cloud_fx_event_count(fx, "lwa.token_issued") - issued, 1);
    assert_int_equal(cloud_fx_outbox_count(fx, "delivered"), MANY + 1);
    assert_int_equal(cloud_fx_outbox_count(fx, "dead"), 0);
    json_t *counters = cloud_fx_counters(fx);
    assert_int_equal(cloud_fx_jint(counters, "gateway_messages_accepted", -1), MANY + 1);
    assert_int_equal(cloud_fx_jint(counters, "associations.unowned", -1), MANY);
    json_decref(counters);
    for (int i = 0; i < MANY; i++)
        cloud_fx_device_free(&d[i]);
    cloud_fx_device_free(&warm);
}

typedef struct token_race {
    cloud_fx *fx;
    pthread_barrier_t *start;
    char *token;
    char err[256];
} token_race;

static void *race_get(void *arg)
{
    token_race *r = arg;
    pthread_barrier_wait(r->start);
    r->token = cloud_token_get(r->fx->c.token, r->err, sizeof r->err);
    return NULL;
}

#define RACERS 50

/* Runs RACERS concurrent cloud_token_get calls; returns how many got a token,
 * all of them equal. */
static int token_race_run(cloud_fx *fx, token_race *r, char err_out[256])
{
    pthread_t th[RACERS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (token_race){.fx = fx, .start = &start};
        assert_int_equal(pthread_create(&th[i], NULL, race_get, &r[i]), 0);
    }
    int got = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        if (r[i].token) {
            got++;
            assert_string_equal(r[i].token, r[0].token);
        } else
            snprintf(err_out, 256, "%s", r[i].err);
    }
    pthread_barrier_destroy(&start);
    return got;
}

static void test_token_single_flight(void **state)
{
    cloud_fx *fx = *state;
    token_race r[RACERS];
    char err[256] = "";
    /* LWA answers slowly, so every caller arrives during the one fetch. */
    cloud_fx_add_fault(fx, json_pack("{s:s, s:[i], s:i}", "route", "lwa", "schedule", 0, "latency_ms", 300));
    assert_int_equal(token_race_run(fx, r, err), RACERS);
    assert_int_equal(cloud_fx_event_count(fx, "lwa.token_issued"), 1);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_token_refreshes_total"), 1);
    char *old = strdup(r[0].token);
    for (int i = 0; i < RACERS; i++)
        free(r[i].token);

    /* Fifty refusals of the same token: one drop, one new fetch. */
    for (int i = 0; i < RACERS; i++)
        cloud_token_invalidate(fx->c.token, old);
    assert_int_equal(token_race_run(fx, r, err), RACERS);
    assert_string_not_equal(r[0].token, old);
    assert_int_equal(cloud_fx_event_count(fx, "lwa.token_issued"), 2);
    /* A late refusal of the old token leaves the new one alone. */
    cloud_token_invalidate(fx->c.token, old);
    char *again = cloud_token_get(fx->c.token, err, sizeof err);
    assert_non_null(again);
    assert_string_equal(again, r[0].token);
    assert_int_equal(cloud_fx_event_count(fx, "lwa.token_issued"), 2);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_token_refreshes_total"), 2);
    free(again);
    free(old);
    for (int i = 0; i < RACERS; i++)
        free(r[i].token);
}

static void test_token_error_shared(void **state)
{
    cloud_fx *fx = *state;
    token_race r[RACERS];
    char err[256] = "";
    long long rule =
        cloud_fx_add_fault(fx, json_pack("{s:s, s:[i], s:i}", "route", "lwa", "schedule", 503, "latency_ms", 300));
    assert_int_equal(token_race_run(fx, r, err), 0);
    assert_non_null(strstr(err, "temporarily_unavailable"));
    json_t *f = cloud_fx_fault(fx, rule);
    assert_int_equal(cloud_fx_jint(f, "hits", -1), 1); /* one request for all fifty callers */
    json_decref(f);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_token_refreshes_total"), 0);
    /* The next call fetches again, and LWA answers now. */
    char *token = cloud_token_get(fx->c.token, err, sizeof err);
    assert_non_null(token);
    free(token);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_token_refreshes_total"), 1);
}

/* ------------------------------------------------------------ messageId */

static void test_message_id_stable_across_retries(void **state)
{
    cloud_fx *fx = *state;
    cloud_fx_device d;
    char mid[37];
    /* The first try reaches the gateway but its answer comes after our
     * timeout: the retry must be the same message, which the gateway then
     * counts as a duplicate instead of applying twice. */
    fx->c.cfg.request_timeout_ms = 400;
    cloud_fx_add_fault(fx, json_pack("{s:s, s:[i], s:i}", "route", "events", "schedule", 0, "latency_ms", 1200));
    cloud_fx_start_outbox(fx);
    enqueue_new_device(fx, "OUTBOX-MID", &d, mid);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "delivered", WAIT_MS);
    assert_event_json(ev, "delivered", 2, NULL); /* the try that timed out, then the duplicate */
    json_decref(ev);
    for (long long deadline = cloud_fx_mono_ms() + 5000;
         events_with_message(fx, "gateway.duplicate", mid) < 1 && cloud_fx_mono_ms() < deadline;)
        cloud_fx_sleep_ms(50);
    assert_int_equal(events_with_message(fx, "sdae.accepted", mid), 1);
    assert_int_equal(events_with_message(fx, "gateway.duplicate", mid), 1);
    json_t *counters = cloud_fx_counters(fx);
    assert_int_equal(cloud_fx_jint(counters, "gateway_messages_accepted", -1), 1);
    assert_int_equal(cloud_fx_jint(counters, "gateway_duplicates", -1), 1);
    json_decref(counters);
    cloud_fx_device_free(&d);
}

/* ------------------------------------------------------------ discovery */

static void test_discovery_without_grant_dead(void **state)
{
    cloud_fx *fx = *state;
    char mid[37];
    wss_uuid4(mid);
    char *body = cloud_fx_discovery_body(mid, "endpoint-1", "First Switch");
    assert_int_equal(fx->c.store->ops->outbox_add(fx->c.store, "discovery", mid, fx->c.cfg.gateway_url, body,
                                                  "user-without-grant", cloud_now_ms()),
                     WSS_OK);
    free(body);
    cloud_fx_start_outbox(fx);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 1, "NO_ALEXA_GRANT");
    json_decref(ev);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_dead_lettered_total{code=\"NO_ALEXA_GRANT\"}"), 1);
}

/* CDAD queues a discovery report by the device's id and the outbox builds
 * it from the binding; an event naming a device that is not bound is dead
 * before any try reaches the gateway. */
static void test_discovery_of_unbound_device_dead(void **state)
{
    cloud_fx *fx = *state;
    cloud_store *st = fx->c.store;
    assert_int_equal(st->ops->user_add(st, "user-1", NULL, cloud_now_ms()), WSS_OK);
    cloud_report r = {.device_id = "dev-bound",
                      .global_device_id = "G030QC0000000001",
                      .session_token = "session-token",
                      .signature = "MEUCIQ==",
                      .naming_categories = "[\"SWITCH\"]",
                      .gateway_url = fx->c.cfg.gateway_url};
    char sdae_mid[37], mid[37];
    wss_uuid4(sdae_mid);
    wss_uuid4(mid);
    assert_int_equal(st->ops->report_add(st, &r, sdae_mid, "{\"event\":{\"payload\":{}}}", cloud_now_ms()), WSS_OK);
    cloud_outbox_event ev = {.kind = "discovery",
                             .message_id = mid,
                             .gateway_url = fx->c.cfg.gateway_url,
                             .user_id = "user-1",
                             .device_id = "dev-never-bound"};
    assert_int_equal(st->ops->bind(st, "dev-bound", "user-1", "Lamp", &ev, cloud_now_ms(), NULL), WSS_OK);
    cloud_fx_start_outbox(fx);
    json_t *dead = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(dead, "dead", 1, "NO_BINDING");
    json_decref(dead);
    assert_int_equal(cloud_fx_metric(fx, "wss_cloud_events_dead_lettered_total{code=\"NO_BINDING\"}"), 1);
    assert_int_equal(cloud_fx_event_count(fx, "discovery.recorded"), 0);
}

static void test_discovery_refreshes_expired_grant(void **state)
{
    cloud_fx *fx = *state;
    char *access = NULL, *refresh = NULL, mid[37];
    cloud_fx_link_customer(fx, "maker-token-of-user-1", &access, &refresh);
    /* The stored access token has run out: the outbox must refresh it first. */
    cloud_store *st = fx->c.store;
    assert_int_equal(st->ops->grant_put(st, "user-1", access, refresh, cloud_now_ms() - 1000), WSS_OK);
    wss_uuid4(mid);
    char *body = cloud_fx_discovery_body(mid, "endpoint-1", "First Switch");
    assert_int_equal(st->ops->outbox_add(st, "discovery", mid, fx->c.cfg.gateway_url, body, "user-1", cloud_now_ms()),
                     WSS_OK);
    free(body);
    cloud_fx_start_outbox(fx);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "delivered", WAIT_MS);
    assert_event_json(ev, "delivered", 1, NULL);
    json_decref(ev);

    cloud_grant g;
    assert_int_equal(st->ops->grant_get(st, "user-1", &g), WSS_OK);
    assert_string_not_equal(g.access_token, access);
    assert_true(g.expires_ms > cloud_now_ms() + 3000 * 1000LL);
    assert_non_null(g.refresh_token);
    cloud_grant_free(&g);
    json_t *refreshes = cloud_fx_events(fx, "lwa.token_issued");
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(refreshes, i, e)
    {
        const char *grant = cloud_fx_jstr(e, "details.grant_type");
        n += grant && strcmp(grant, "refresh_token") == 0;
    }
    json_decref(refreshes);
    assert_int_equal(n, 1);
    char path[600];
    snprintf(path, sizeof path, "/alexa-devices?customer_id=%s", fx->customer_id);
    json_t *devices = cloud_fx_control(fx, "GET", path, NULL, 200);
    assert_string_equal(cloud_fx_jstr(devices, "devices.0.endpoint_id"), "endpoint-1");
    json_decref(devices);
    free(access);
    free(refresh);
}

/* LWA refuses the stored refresh token (the user disabled the skill): dead,
 * with LWA's error code, and no try reaches the gateway. */
static void test_discovery_refresh_refused_dead(void **state)
{
    cloud_fx *fx = *state;
    char mid[37];
    cloud_store *st = fx->c.store;
    assert_int_equal(st->ops->grant_put(st, "user-1", "Atza|stale", "Atzr|unknown-to-lwa", cloud_now_ms() - 1000),
                     WSS_OK);
    wss_uuid4(mid);
    char *body = cloud_fx_discovery_body(mid, "endpoint-1", "First Switch");
    assert_int_equal(st->ops->outbox_add(st, "discovery", mid, fx->c.cfg.gateway_url, body, "user-1", cloud_now_ms()),
                     WSS_OK);
    free(body);
    cloud_fx_start_outbox(fx);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "dead", WAIT_MS);
    assert_event_json(ev, "dead", 1, "ALEXA_GRANT_REFRESH_FAILED");
    assert_non_null(strstr(cloud_fx_jstr(ev, "description"), "invalid_grant"));
    assert_null(strstr(cloud_fx_jstr(ev, "description"), "Atzr|"));
    json_decref(ev);
    assert_int_equal(cloud_fx_event_count(fx, "discovery.recorded"), 0);
}

/* LWA unavailable for the refresh: retried (not dead), then delivered with a
 * fresh token; no try counts as a 5xx of the gateway. */
static void test_discovery_refresh_retried_when_lwa_fails(void **state)
{
    cloud_fx *fx = *state;
    char *access = NULL, *refresh = NULL, mid[37];
    cloud_fx_link_customer(fx, "maker-token-of-user-1", &access, &refresh);
    cloud_store *st = fx->c.store;
    assert_int_equal(st->ops->grant_put(st, "user-1", access, refresh, cloud_now_ms() - 1000), WSS_OK);
    long long rule = cloud_fx_add_fault(fx, json_pack("{s:s, s:[i]}", "route", "lwa", "schedule", 503));
    wss_uuid4(mid);
    char *body = cloud_fx_discovery_body(mid, "endpoint-1", "First Switch");
    assert_int_equal(st->ops->outbox_add(st, "discovery", mid, fx->c.cfg.gateway_url, body, "user-1", cloud_now_ms()),
                     WSS_OK);
    free(body);
    cloud_fx_start_outbox(fx);
    json_t *ev = cloud_fx_wait_outbox(fx, mid, "delivered", WAIT_MS);
    assert_true(cloud_fx_jint(ev, "attempts", -1) >= 2);
    assert_int_equal(cloud_fx_jint(ev, "server_errors", -1), 0);
    assert_non_null(cloud_fx_jstr(ev, "last_error")); /* LWA's failure, recorded with the retry */
    json_decref(ev);
    json_t *f = cloud_fx_fault(fx, rule);
    assert_int_equal(cloud_fx_jint(f, "hits", -1), 1);
    json_decref(f);
    free(access);
    free(refresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_403_skill_disabled_dead_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_413_too_large_dead_at_once, setup_small_events, teardown),
        cmocka_unit_test_setup_teardown(test_503_twice_then_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_four_times_dead_after_three_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_does_not_spend_the_5xx_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_budgets_are_separate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_400_bad_signature_dead_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_404_development_skill_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requeue_dead_letter_after_fix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_token_one_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_reports_expired_token_one_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_single_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_error_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_id_stable_across_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_without_grant_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_of_unbound_device_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_refreshes_expired_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_refresh_refused_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery_refresh_retried_when_lwa_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
