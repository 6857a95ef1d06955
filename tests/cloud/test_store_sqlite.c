/* test_store_sqlite.c - unit tests for the cloud's SQLite store: device
 * intake, the outbox and its leases, users and tokens, grants, bindings with
 * group commit under concurrency, and that a reopened store lost nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/store.h"
#include "cloud/store_sqlite_test.h"
#include "common/crypto.h"
#include "common/file.h"

/* ---- a fresh temporary folder and store per test ------------------------------ */

typedef struct fixture {
    char dir[4096];
    char path[4200];
    cloud_store *st;
} fixture;

static cloud_store *open_store(const char *path)
{
    char err[256] = "";
    cloud_store *st = NULL;
    wss_err rc = cloud_store_open_sqlite(path, &st, err, sizeof err);
    if (rc != WSS_OK)
        fail_msg("cannot open the store: %s (%s)", wss_strerror(rc), err);
    return st;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *base = getenv("TMPDIR");
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/wss-test-cloud-store-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/cloud.db", f->dir);
    f->st = open_store(f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->st)
        f->st->ops->close(f->st);
    wss_remove_tree(f->dir);
    free(f);
    return 0;
}

/* Closes and opens the store again: what a restart sees. */
static void reopen(fixture *f)
{
    f->st->ops->close(f->st);
    f->st = open_store(f->path);
}

/* ---- reports, users and claims for the tests below ---------------------------- */

#define GATEWAY "https://api.amazonalexa.com/v3/events"

static wss_err add_report(cloud_store *st, const char *device_id, long long now_ms)
{
    char message_id[64];
    snprintf(message_id, sizeof message_id, "msg-%s", device_id);
    cloud_report r = {.device_id = device_id,
                      .global_device_id = "G030QC0000000001",
                      .session_token = "session-token",
                      .signature = "MEUCIQ==",
                      .naming_categories = "[\"SWITCH\"]",
                      .gateway_url = GATEWAY};
    return st->ops->report_add(st, &r, message_id, "{\"event\":{}}", now_ms);
}

static void add_user(cloud_store *st, const char *user_id)
{
    assert_int_equal(st->ops->user_add(st, user_id, "A user", 1000), WSS_OK);
}

/* The outbox rows in a state, as JSON (caller decrefs). */
static json_t *list(cloud_store *st, const char *state)
{
    json_t *out = NULL;
    assert_int_equal(st->ops->outbox_list(st, state, 0, &out), WSS_OK);
    assert_non_null(out);
    return out;
}

static int claim(cloud_store *st, long long now_ms, cloud_outbox_item *items, int max)
{
    int n = -1;
    assert_int_equal(st->ops->outbox_claim(st, now_ms, 30000, max, items, &n), WSS_OK);
    return n;
}

static void free_items(cloud_outbox_item *items, int n)
{
    for (int i = 0; i < n; i++)
        cloud_outbox_item_free(&items[i]);
}

/* A discovery event for bind's on_create; message_id must outlive the call. */
static cloud_outbox_event discovery_event(const char *message_id, const char *user_id)
{
    return (cloud_outbox_event){.kind = "discovery",
                                .message_id = message_id,
                                .gateway_url = GATEWAY,
                                .body = "{\"event\":{\"payload\":{}}}",
                                .user_id = user_id};
}

/* The pending outbox event with this message id, or NULL (caller decrefs). */
static json_t *pending_event(cloud_store *st, const char *message_id)
{
    json_t *all = list(st, "pending"), *found = NULL, *ev;
    size_t i;
    json_array_foreach(all, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "message_id")), message_id) == 0)
            found = json_incref(ev);
    }
    json_decref(all);
    return found;
}

static size_t pending_count(cloud_store *st)
{
    json_t *all = list(st, "pending");
    size_t n = json_array_size(all);
    json_decref(all);
    return n;
}

static int user_has_device(cloud_store *st, const char *user_id, const char *device_id)
{
    json_t *devices = NULL;
    int found = 0;
    assert_int_equal(st->ops->user_devices(st, user_id, &devices), WSS_OK);
    for (size_t k = 0; k < json_array_size(devices); k++)
        found |= !strcmp(json_string_value(json_object_get(json_array_get(devices, k), "device_id")), device_id);
    json_decref(devices);
    return found;
}

/* ---- device intake ------------------------------------------------------------ */

static void test_report_add_then_duplicate(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);

    /* The same device again, even with a fresh message id: nothing written. */
    cloud_report r = {.device_id = "dev-1",
                      .global_device_id = "G2",
                      .session_token = "t2",
                      .signature = "s2",
                      .naming_categories = "[]",
                      .gateway_url = GATEWAY};
    assert_int_equal(st->ops->report_add(st, &r, "another-message", "{}", 2000), WSS_ERR_EXISTS);

    json_t *pending = list(st, "pending");
    assert_int_equal(json_array_size(pending), 1);
    json_t *ev = json_array_get(pending, 0);
    assert_string_equal(json_string_value(json_object_get(ev, "kind")), "sdae");
    assert_string_equal(json_string_value(json_object_get(ev, "message_id")), "msg-dev-1");
    assert_string_equal(json_string_value(json_object_get(ev, "gateway_url")), GATEWAY);
    assert_int_equal(json_integer_value(json_object_get(ev, "next_attempt_ms")), 1000);
    assert_int_equal(json_integer_value(json_object_get(ev, "created_ms")), 1000);
    json_decref(pending);

    /* A reused message id fails the whole report: no report row stays behind. */
    r.device_id = "dev-2";
    assert_int_equal(st->ops->report_add(st, &r, "msg-dev-1", "{}", 2000), WSS_ERR_EXISTS);
    assert_int_equal(add_report(st, "dev-2", 3000), WSS_OK);
}

static void test_report_add_rejects_malformed(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    cloud_report r = {.device_id = "dev-1",
                      .global_device_id = "G1",
                      .session_token = "t",
                      .signature = "s",
                      .naming_categories = "SWITCH",
                      .gateway_url = GATEWAY};
    assert_int_equal(st->ops->report_add(st, &r, "m1", "{}", 1), WSS_ERR_INVALID);
    r.naming_categories = "[\"SWITCH\"]";
    r.session_token = NULL;
    assert_int_equal(st->ops->report_add(st, &r, "m1", "{}", 1), WSS_ERR_INVALID);
    r.session_token = "t";
    char long_id[80];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(st->ops->report_add(st, &r, long_id, "{}", 1), WSS_ERR_INVALID);
    assert_int_equal(st->ops->report_add(st, &r, "m1", "{}", 1), WSS_OK);
}

static void test_report_get(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    json_t *r = (json_t *)1;
    assert_int_equal(st->ops->report_get(st, "dev-1", &r), WSS_ERR_NOT_FOUND);
    assert_null(r);
    assert_int_equal(add_report(st, "dev-1", 1234), WSS_OK);
    assert_int_equal(st->ops->report_get(st, "dev-1", &r), WSS_OK);
    assert_string_equal(json_string_value(json_object_get(r, "device_id")), "dev-1");
    assert_string_equal(json_string_value(json_object_get(r, "global_device_id")), "G030QC0000000001");
    assert_string_equal(json_string_value(json_object_get(r, "gateway_url")), GATEWAY);
    assert_int_equal(json_integer_value(json_object_get(r, "created_ms")), 1234);
    json_t *categories = json_object_get(r, "naming_categories");
    assert_true(json_is_array(categories));
    assert_string_equal(json_string_value(json_array_get(categories, 0)), "SWITCH");
    /* Not the session token nor the signature. */
    assert_null(json_object_get(r, "session_token"));
    assert_null(json_object_get(r, "signature"));
    json_decref(r);
}

/* ---- outbox ------------------------------------------------------------------- */

static void test_outbox_claim_and_lease(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    cloud_outbox_item items[4];
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);

    assert_int_equal(claim(st, 999, items, 4), 0); /* not due yet */
    assert_int_equal(claim(st, 1000, items, 4), 1);
    assert_string_equal(items[0].kind, "sdae");
    assert_string_equal(items[0].message_id, "msg-dev-1");
    assert_string_equal(items[0].gateway_url, GATEWAY);
    assert_string_equal(items[0].body, "{\"event\":{}}");
    assert_null(items[0].user_id);
    assert_int_equal(items[0].attempts, 0);
    long long id = items[0].id;
    free_items(items, 1);

    /* Leased for 30 s: nobody else gets it meanwhile... */
    assert_int_equal(claim(st, 1000, items, 4), 0);
    assert_int_equal(claim(st, 30999, items, 4), 0);
    /* ...and when the lease runs out (the claimer died) it is due again. */
    assert_int_equal(claim(st, 31000, items, 4), 1);
    assert_int_equal(items[0].id, id);
    free_items(items, 1);

    /* max bounds a claim; the rest stays for the next one. */
    assert_int_equal(st->ops->outbox_add(st, "discovery", "d-1", GATEWAY, "{}", "user-1", 2000), WSS_OK);
    assert_int_equal(st->ops->outbox_add(st, "discovery", "d-2", GATEWAY, "{}", "user-1", 2000), WSS_OK);
    assert_int_equal(claim(st, 2000, items, 1), 1);
    assert_string_equal(items[0].message_id, "d-1");
    assert_string_equal(items[0].user_id, "user-1");
    free_items(items, 1);
    assert_int_equal(claim(st, 2000, items, 4), 1);
    assert_string_equal(items[0].message_id, "d-2");
    free_items(items, 1);

    int n = -1;
    assert_int_equal(st->ops->outbox_claim(st, 2000, 30000, 0, items, &n), WSS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(st->ops->outbox_add(st, "discovery", "d-1", GATEWAY, "{}", "user-1", 2000), WSS_ERR_EXISTS);
}

static void test_outbox_retry_delivered_dead_requeue(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    cloud_outbox_item items[4];
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);
    assert_int_equal(add_report(st, "dev-2", 1000), WSS_OK);
    assert_int_equal(claim(st, 1000, items, 4), 2);
    long long first = items[0].id, second = items[1].id;
    free_items(items, 2);

    /* A retry ends the lease and sets when to try next. */
    assert_int_equal(st->ops->outbox_retry_at(st, first, 5000, 3, 2, "HTTP 503"), WSS_OK);
    assert_int_equal(claim(st, 4999, items, 4), 0);
    assert_int_equal(claim(st, 5000, items, 4), 1);
    assert_int_equal(items[0].id, first);
    assert_int_equal(items[0].attempts, 3);
    assert_int_equal(items[0].server_errors, 2);
    free_items(items, 1);
    json_t *pending = list(st, "pending");
    json_t *ev = json_array_get(pending, 0);
    assert_int_equal(json_integer_value(json_object_get(ev, "attempts")), 3);
    assert_int_equal(json_integer_value(json_object_get(ev, "server_errors")), 2);
    assert_string_equal(json_string_value(json_object_get(ev, "last_error")), "HTTP 503");
    assert_null(json_object_get(ev, "body"));
    json_decref(pending);

    /* A delivery records the final count of tries; the 5xx count stays. */
    assert_int_equal(st->ops->outbox_delivered(st, first, 4, 6000), WSS_OK);
    assert_int_equal(st->ops->outbox_dead(st, second, 4, 1, 400, "INVALID_REQUEST_EXCEPTION", "bad token", 7000),
                     WSS_OK);
    assert_int_equal(claim(st, 1000000, items, 4), 0); /* nothing pending anymore */

    json_t *delivered = list(st, "delivered");
    assert_int_equal(json_array_size(delivered), 1);
    ev = json_array_get(delivered, 0);
    assert_int_equal(json_integer_value(json_object_get(ev, "id")), first);
    assert_string_equal(json_string_value(json_object_get(ev, "state")), "delivered");
    assert_int_equal(json_integer_value(json_object_get(ev, "updated_ms")), 6000);
    assert_int_equal(json_integer_value(json_object_get(ev, "attempts")), 4);
    assert_int_equal(json_integer_value(json_object_get(ev, "server_errors")), 2);
    assert_true(json_is_null(json_object_get(ev, "http_status")));
    json_decref(delivered);

    json_t *dead = list(st, "dead");
    assert_int_equal(json_array_size(dead), 1);
    ev = json_array_get(dead, 0);
    assert_int_equal(json_integer_value(json_object_get(ev, "id")), second);
    assert_int_equal(json_integer_value(json_object_get(ev, "attempts")), 4);
    assert_int_equal(json_integer_value(json_object_get(ev, "server_errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(ev, "http_status")), 400);
    assert_string_equal(json_string_value(json_object_get(ev, "code")), "INVALID_REQUEST_EXCEPTION");
    assert_string_equal(json_string_value(json_object_get(ev, "description")), "bad token");
    assert_int_equal(json_integer_value(json_object_get(ev, "created_ms")), 1000);
    assert_int_equal(json_integer_value(json_object_get(ev, "updated_ms")), 7000);
    json_decref(dead);

    /* Only a dead event can be requeued; it comes back due now, attempts reset. */
    assert_int_equal(st->ops->outbox_requeue(st, first, 8000), WSS_ERR_NOT_FOUND);
    assert_int_equal(st->ops->outbox_requeue(st, 424242, 8000), WSS_ERR_NOT_FOUND);
    assert_int_equal(st->ops->outbox_requeue(st, second, 8000), WSS_OK);
    assert_int_equal(st->ops->outbox_requeue(st, second, 8000), WSS_ERR_NOT_FOUND);
    dead = list(st, "dead");
    assert_int_equal(json_array_size(dead), 0);
    json_decref(dead);
    assert_int_equal(claim(st, 7999, items, 4), 0);
    assert_int_equal(claim(st, 8000, items, 4), 1);
    assert_int_equal(items[0].id, second);
    assert_int_equal(items[0].attempts, 0);
    assert_int_equal(items[0].server_errors, 0);
    free_items(items, 1);

    /* Unknown ids and states. */
    assert_int_equal(st->ops->outbox_delivered(st, 424242, 1, 1), WSS_ERR_NOT_FOUND);
    assert_int_equal(st->ops->outbox_retry_at(st, 424242, 1, 1, 0, "x"), WSS_ERR_NOT_FOUND);
    assert_int_equal(st->ops->outbox_dead(st, 424242, 1, 0, 0, NULL, NULL, 1), WSS_ERR_NOT_FOUND);
    json_t *out = NULL;
    assert_int_equal(st->ops->outbox_list(st, "leased", 10, &out), WSS_ERR_INVALID);
    assert_null(out);
}

static void test_outbox_list_limit(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "dev-%d", i);
        assert_int_equal(add_report(st, id, 1000 + i), WSS_OK);
    }
    json_t *out = NULL;
    assert_int_equal(st->ops->outbox_list(st, "pending", 3, &out), WSS_OK);
    assert_int_equal(json_array_size(out), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "message_id")), "msg-dev-0");
    json_decref(out);
}

/* ---- users, tokens and grants ------------------------------------------------ */

static void test_user_tokens(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    char sha[65], other[65];
    wss_sha256_hex("the-access-token", sha);
    wss_sha256_hex("another-token", other);

    add_user(st, "user-1");
    assert_int_equal(st->ops->user_add(st, "user-1", "again", 2000), WSS_ERR_EXISTS);
    assert_int_equal(st->ops->user_token_add(st, sha, "user-1", 99000), WSS_OK);
    assert_int_equal(st->ops->user_token_add(st, sha, "user-1", 99000), WSS_ERR_EXISTS);
    assert_int_equal(st->ops->user_token_add(st, other, "nobody", 99000), WSS_ERR_NOT_FOUND);
    /* Tokens go in by digest only. */
    assert_int_equal(st->ops->user_token_add(st, "the-access-token", "user-1", 99000), WSS_ERR_INVALID);

    cloud_user u;
    assert_int_equal(st->ops->user_by_token(st, sha, &u), WSS_OK);
    assert_string_equal(u.user_id, "user-1");
    assert_int_equal(u.token_expires_ms, 99000);
    assert_int_equal(st->ops->user_by_token(st, other, &u), WSS_ERR_NOT_FOUND);
    assert_int_equal(st->ops->user_by_token(st, "the-access-token", &u), WSS_ERR_INVALID);
}

static void test_grants(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    cloud_grant g;
    assert_int_equal(st->ops->grant_get(st, "user-1", &g), WSS_ERR_NOT_FOUND);
    assert_int_equal(st->ops->grant_put(st, "user-1", "Atza|one", "Atzr|one", 1000), WSS_OK);
    assert_int_equal(st->ops->grant_get(st, "user-1", &g), WSS_OK);
    assert_string_equal(g.access_token, "Atza|one");
    assert_string_equal(g.refresh_token, "Atzr|one");
    assert_int_equal(g.expires_ms, 1000);
    cloud_grant_free(&g);

    assert_int_equal(st->ops->grant_put(st, "user-1", "Atza|two", "Atzr|two", 2000), WSS_OK);
    assert_int_equal(st->ops->grant_get(st, "user-1", &g), WSS_OK);
    assert_string_equal(g.access_token, "Atza|two");
    assert_string_equal(g.refresh_token, "Atzr|two");
    assert_int_equal(g.expires_ms, 2000);
    cloud_grant_free(&g);
    assert_null(g.access_token);
}

/* ---- bindings ------------------------------------------------------------------ */

static void test_bind_outcomes(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    add_user(st, "user-1");
    add_user(st, "user-2");
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);

    int created = -1;
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Kitchen light", NULL, 2000, &created), WSS_OK);
    assert_int_equal(created, 1);
    created = -1;
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Renamed", NULL, 3000, &created), WSS_OK);
    assert_int_equal(created, 0);
    created = -1;
    assert_int_equal(st->ops->bind(st, "dev-1", "user-2", "Mine now", NULL, 3000, &created), WSS_ERR_EXISTS);
    assert_int_equal(created, 0);
    assert_int_equal(st->ops->bind(st, "dev-unknown", "user-1", "Ghost", NULL, 3000, &created), WSS_ERR_NOT_FOUND);
    assert_int_equal(created, 0);
    assert_int_equal(add_report(st, "dev-2", 1000), WSS_OK);
    assert_int_equal(st->ops->bind(st, "dev-2", "nobody", NULL, NULL, 3000, &created), WSS_ERR_NOT_FOUND);
    assert_int_equal(st->ops->bind(st, "dev-2", "user-2", NULL, NULL, 3000, NULL), WSS_OK);

    json_t *devices = NULL;
    assert_int_equal(st->ops->user_devices(st, "user-1", &devices), WSS_OK);
    assert_int_equal(json_array_size(devices), 1);
    json_t *d = json_array_get(devices, 0);
    assert_string_equal(json_string_value(json_object_get(d, "device_id")), "dev-1");
    assert_string_equal(json_string_value(json_object_get(d, "friendly_name")), "Kitchen light");
    json_t *categories = json_object_get(d, "naming_categories");
    assert_true(json_is_array(categories));
    assert_string_equal(json_string_value(json_array_get(categories, 0)), "SWITCH");
    json_decref(devices);

    assert_int_equal(st->ops->user_devices(st, "user-2", &devices), WSS_OK);
    assert_int_equal(json_array_size(devices), 1);
    assert_true(json_is_null(json_object_get(json_array_get(devices, 0), "friendly_name")));
    json_decref(devices);
    assert_int_equal(st->ops->user_devices(st, "nobody", &devices), WSS_OK);
    assert_int_equal(json_array_size(devices), 0);
    json_decref(devices);
}

#define BIND_THREADS 8
#define BINDS_PER_THREAD 2000

typedef struct binder {
    cloud_store *st;
    int index;
    int created; /* binds that reported created=1 */
    int failed;  /* binds that did not return WSS_OK */
} binder;

static void device_name(char *out, size_t size, int thread, int i) { snprintf(out, size, "dev-%d-%d", thread, i); }

static void *bind_many(void *arg)
{
    binder *b = arg;
    char user[32];
    snprintf(user, sizeof user, "user-%d", b->index % 2);
    for (int i = 0; i < BINDS_PER_THREAD; i++) {
        char device[32], mid[40];
        int created = 0;
        device_name(device, sizeof device, b->index, i);
        snprintf(mid, sizeof mid, "disc-%s", device);
        cloud_outbox_event ev = discovery_event(mid, user);
        if (b->st->ops->bind(b->st, device, user, "A light", &ev, 5000 + i, &created) != WSS_OK)
            b->failed++;
        b->created += created;
    }
    return NULL;
}

static void test_bind_concurrent_group_commit(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    add_user(st, "user-0");
    add_user(st, "user-1");
    for (int t = 0; t < BIND_THREADS; t++)
        for (int i = 0; i < BINDS_PER_THREAD; i++) {
            char device[32];
            device_name(device, sizeof device, t, i);
            assert_int_equal(add_report(st, device, 1000), WSS_OK);
        }

    pthread_t threads[BIND_THREADS];
    binder binders[BIND_THREADS];
    for (int t = 0; t < BIND_THREADS; t++) {
        binders[t] = (binder){.st = st, .index = t};
        assert_int_equal(pthread_create(&threads[t], NULL, bind_many, &binders[t]), 0);
    }
    for (int t = 0; t < BIND_THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(binders[t].failed, 0);
        assert_int_equal(binders[t].created, BINDS_PER_THREAD);
    }

    /* Every bind ran, with its event, in fewer transactions than binds. */
    cloud_store_sqlite_stats stats;
    cloud_store_sqlite_get_stats(st, &stats);
    assert_int_equal(stats.binds, BIND_THREADS * BINDS_PER_THREAD);
    assert_true(stats.bind_transactions < stats.binds);
    print_message("%llu binds in %llu transactions (%.1f per transaction)\n", stats.binds, stats.bind_transactions,
                  (double)stats.binds / (double)stats.bind_transactions);
    /* One SDAE per report and one discovery event per binding. */
    assert_int_equal(pending_count(st), 2 * BIND_THREADS * BINDS_PER_THREAD);
    json_t *ev = pending_event(st, "disc-dev-5-1234");
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "kind")), "discovery");
    assert_int_equal(json_integer_value(json_object_get(ev, "created_ms")), 5000 + 1234);
    json_decref(ev);

    /* All of them are durable. */
    reopen(f);
    st = f->st;
    size_t total = 0;
    for (int u = 0; u < 2; u++) {
        char user[32];
        json_t *devices = NULL;
        snprintf(user, sizeof user, "user-%d", u);
        assert_int_equal(st->ops->user_devices(st, user, &devices), WSS_OK);
        assert_int_equal(json_array_size(devices), BIND_THREADS / 2 * BINDS_PER_THREAD);
        total += json_array_size(devices);
        json_decref(devices);
    }
    assert_int_equal(total, BIND_THREADS * BINDS_PER_THREAD);
    assert_int_equal(pending_count(st), 2 * BIND_THREADS * BINDS_PER_THREAD);
    int created = -1;
    cloud_outbox_event again = discovery_event("disc-again", "user-1");
    assert_int_equal(st->ops->bind(st, "dev-3-1999", "user-1", NULL, &again, 9000, &created), WSS_OK);
    assert_int_equal(created, 0);
    assert_null(pending_event(st, "disc-again"));
    assert_int_equal(st->ops->bind(st, "dev-3-1999", "user-0", NULL, NULL, 9000, &created), WSS_ERR_EXISTS);
}

/* Binds racing for the same devices: exactly one user wins each device. */
typedef struct racer {
    cloud_store *st;
    char user[32];
    int won;
    int lost;
    int other;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    for (int i = 0; i < 200; i++) {
        char device[32];
        int created = 0;
        snprintf(device, sizeof device, "race-%d", i);
        wss_err rc = r->st->ops->bind(r->st, device, r->user, NULL, NULL, 1, &created);
        if (rc == WSS_OK && created)
            r->won++;
        else if (rc == WSS_ERR_EXISTS)
            r->lost++;
        else
            r->other++;
    }
    return NULL;
}

static void test_bind_race_one_winner(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    racer racers[4];
    pthread_t threads[4];
    for (int i = 0; i < 200; i++) {
        char device[32];
        snprintf(device, sizeof device, "race-%d", i);
        assert_int_equal(add_report(st, device, 1), WSS_OK);
    }
    for (int t = 0; t < 4; t++) {
        racers[t] = (racer){.st = st};
        snprintf(racers[t].user, sizeof racers[t].user, "racer-%d", t);
        add_user(st, racers[t].user);
    }
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, race, &racers[t]), 0);
    int won = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(racers[t].other, 0);
        assert_int_equal(racers[t].won + racers[t].lost, 200);
        won += racers[t].won;
    }
    assert_int_equal(won, 200);
}

/* A bind's event goes into the outbox only when the binding is made. */
static void test_bind_event_only_when_created(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    add_user(st, "user-1");
    add_user(st, "user-2");
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);

    int created = -1;
    cloud_outbox_event ev = discovery_event("disc-1", "user-1");
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Lamp", &ev, 2000, &created), WSS_OK);
    assert_int_equal(created, 1);
    json_t *row = pending_event(st, "disc-1");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "kind")), "discovery");
    assert_string_equal(json_string_value(json_object_get(row, "gateway_url")), GATEWAY);
    assert_int_equal(json_integer_value(json_object_get(row, "next_attempt_ms")), 2000);
    assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "server_errors")), 0);
    json_decref(row);
    cloud_outbox_item items[4];
    int n = claim(st, 2000, items, 4);
    int seen = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(items[i].message_id, "disc-1")) {
            seen++;
            assert_string_equal(items[i].user_id, "user-1");
            assert_string_equal(items[i].body, "{\"event\":{\"payload\":{}}}");
        }
    assert_int_equal(seen, 1);
    free_items(items, n);

    /* Bound already (same user): no second event. Bound to another: none either. */
    ev = discovery_event("disc-2", "user-1");
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Lamp", &ev, 3000, &created), WSS_OK);
    assert_int_equal(created, 0);
    ev = discovery_event("disc-3", "user-2");
    assert_int_equal(st->ops->bind(st, "dev-1", "user-2", "Lamp", &ev, 3000, &created), WSS_ERR_EXISTS);
    ev = discovery_event("disc-4", "user-1");
    assert_int_equal(st->ops->bind(st, "dev-unknown", "user-1", "Lamp", &ev, 3000, &created), WSS_ERR_NOT_FOUND);
    assert_int_equal(created, 0);
    assert_null(pending_event(st, "disc-2"));
    assert_null(pending_event(st, "disc-3"));
    assert_null(pending_event(st, "disc-4"));
    assert_int_equal(pending_count(st), 2); /* the SDAE and disc-1 */

    /* A malformed event is refused before anything is written. */
    assert_int_equal(add_report(st, "dev-2", 1000), WSS_OK);
    ev = discovery_event("disc-5", "user-1");
    ev.body = NULL;
    assert_int_equal(st->ops->bind(st, "dev-2", "user-1", NULL, &ev, 4000, &created), WSS_ERR_INVALID);
    char long_id[80];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    ev = discovery_event(long_id, "user-1");
    assert_int_equal(st->ops->bind(st, "dev-2", "user-1", NULL, &ev, 4000, &created), WSS_ERR_INVALID);
    ev = discovery_event("disc-5", "user-1");
    ev.gateway_url = "";
    assert_int_equal(st->ops->bind(st, "dev-2", "user-1", NULL, &ev, 4000, &created), WSS_ERR_INVALID);
    ev = discovery_event("disc-5", "user-1");
    ev.body = NULL;
    ev.device_id = "";
    assert_int_equal(st->ops->bind(st, "dev-2", "user-1", NULL, &ev, 4000, &created), WSS_ERR_INVALID);
    assert_false(user_has_device(st, "user-1", "dev-2"));
}

/* An event stored without a body names its device instead, and
 * binding_get gives what the report is built from. */
static void test_bind_event_by_device(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    add_user(st, "user-1");
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);
    assert_int_equal(add_report(st, "dev-2", 1000), WSS_OK);

    cloud_binding b;
    assert_int_equal(st->ops->binding_get(st, "dev-1", &b), WSS_ERR_NOT_FOUND);
    assert_null(b.friendly_name);
    assert_null(b.naming_categories);

    int created = -1;
    cloud_outbox_event ev = discovery_event("disc-1", "user-1");
    ev.body = NULL;
    ev.device_id = "dev-1";
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Lamp", &ev, 2000, &created), WSS_OK);
    assert_int_equal(created, 1);
    assert_int_equal(st->ops->bind(st, "dev-2", "user-1", NULL, NULL, 2000, &created), WSS_OK);

    cloud_outbox_item items[4];
    int n = claim(st, 2000, items, 4), seen = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(items[i].message_id, "disc-1")) {
            seen++;
            assert_string_equal(items[i].body, "");
            assert_string_equal(items[i].device_id, "dev-1");
            assert_string_equal(items[i].user_id, "user-1");
        } else
            assert_null(items[i].device_id); /* the SDAEs carry their bodies */
    }
    assert_int_equal(seen, 1);
    free_items(items, n);

    assert_int_equal(st->ops->binding_get(st, "dev-1", &b), WSS_OK);
    assert_string_equal(b.user_id, "user-1");
    assert_string_equal(b.friendly_name, "Lamp");
    json_t *cats = json_loads(b.naming_categories, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(cats, 0)), "SWITCH");
    json_decref(cats);
    cloud_binding_free(&b);
    assert_null(b.naming_categories);
    assert_int_equal(st->ops->binding_get(st, "dev-2", &b), WSS_OK);
    assert_null(b.friendly_name);
    cloud_binding_free(&b);
    assert_int_equal(st->ops->binding_get(st, "dev-unknown", &b), WSS_ERR_NOT_FOUND);
    assert_int_equal(st->ops->binding_get(st, NULL, &b), WSS_ERR_INVALID);

    /* It survives a reopen like every other event. */
    reopen(f);
    st = f->st;
    json_t *row = pending_event(st, "disc-1");
    assert_non_null(row);
    json_decref(row);
}

/* An event whose message_id is taken takes its binding back with it. */
static void test_bind_event_duplicate_message_id(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    add_user(st, "user-1");
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);
    assert_int_equal(st->ops->outbox_add(st, "discovery", "taken", GATEWAY, "{}", "user-1", 1000), WSS_OK);

    int created = -1;
    cloud_outbox_event ev = discovery_event("taken", "user-1");
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Lamp", &ev, 2000, &created), WSS_ERR_EXISTS);
    assert_int_equal(created, 0);
    assert_false(user_has_device(st, "user-1", "dev-1"));
    assert_int_equal(pending_count(st), 2);

    /* The store goes on, and the device binds with a fresh id. */
    ev = discovery_event("fresh", "user-1");
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Lamp", &ev, 2000, &created), WSS_OK);
    assert_int_equal(created, 1);
    assert_true(user_has_device(st, "user-1", "dev-1"));
    json_t *row = pending_event(st, "fresh");
    assert_non_null(row);
    json_decref(row);
}

/* ---- injected failures ------------------------------------------------------- */

/* Runs SQL on a connection of the test's own next to the store's: the
 * failures below are triggers that refuse chosen rows. */
static void side_exec(fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static void test_report_add_failure_keeps_nothing(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    side_exec(f, "CREATE TRIGGER refuse_event BEFORE INSERT ON outbox WHEN NEW.message_id = 'msg-dev-1'"
                 " BEGIN SELECT RAISE(ABORT, 'injected'); END");
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_ERR_STORE);
    json_t *pending = list(st, "pending");
    assert_int_equal(json_array_size(pending), 0);
    json_decref(pending);

    /* The report itself was rolled back with its event: it can come again. */
    side_exec(f, "DROP TRIGGER refuse_event");
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);
}

/* The binding and its event are one transaction: when the event cannot be
 * written, the binding is not kept either, and the next try makes both. */
static void test_bind_event_failure_keeps_neither(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    add_user(st, "user-1");
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);
    side_exec(f, "CREATE TRIGGER refuse_discovery BEFORE INSERT ON outbox WHEN NEW.kind = 'discovery'"
                 " BEGIN SELECT RAISE(ABORT, 'injected'); END");
    int created = -1;
    cloud_outbox_event ev = discovery_event("disc-1", "user-1");
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Lamp", &ev, 2000, &created), WSS_ERR_STORE);
    assert_int_equal(created, 0);
    assert_false(user_has_device(st, "user-1", "dev-1"));
    assert_null(pending_event(st, "disc-1"));

    side_exec(f, "DROP TRIGGER refuse_discovery");
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Lamp", &ev, 3000, &created), WSS_OK);
    assert_int_equal(created, 1);
    assert_true(user_has_device(st, "user-1", "dev-1"));
    json_t *row = pending_event(st, "disc-1");
    assert_non_null(row);
    json_decref(row);
}

typedef struct failer {
    cloud_store *st;
    int index;
    wss_err rc[200];
} failer;

static void *bind_some(void *arg)
{
    failer *b = arg;
    for (int i = 0; i < 200; i++) {
        char device[32], mid[40];
        device_name(device, sizeof device, b->index, i);
        snprintf(mid, sizeof mid, "disc-%s", device);
        cloud_outbox_event ev = discovery_event(mid, "user-0");
        b->rc[i] = b->st->ops->bind(b->st, device, "user-0", NULL, &ev, 1, NULL);
    }
    return NULL;
}

/* A bind that fails inside a batch fails the batch: every caller told
 * WSS_OK has its binding and its event, every caller told WSS_ERR_STORE has
 * neither. */
static void test_bind_failure_fails_its_batch_only(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    add_user(st, "user-0");
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 200; i++) {
            char device[32];
            device_name(device, sizeof device, t, i);
            assert_int_equal(add_report(st, device, 1), WSS_OK);
        }
    side_exec(f, "CREATE TRIGGER refuse_binding BEFORE INSERT ON bindings"
                 " WHEN NEW.device_id IN ('dev-0-50', 'dev-1-100', 'dev-2-150')"
                 " BEGIN SELECT RAISE(ABORT, 'injected'); END");

    failer failers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        failers[t] = (failer){.st = st, .index = t};
        assert_int_equal(pthread_create(&threads[t], NULL, bind_some, &failers[t]), 0);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(threads[t], NULL);

    json_t *devices = NULL;
    assert_int_equal(st->ops->user_devices(st, "user-0", &devices), WSS_OK);
    int ok = 0, failed = 0;
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 200; i++) {
            char device[32], mid[40];
            int bound = 0;
            device_name(device, sizeof device, t, i);
            for (size_t k = 0; k < json_array_size(devices); k++)
                if (!strcmp(json_string_value(json_object_get(json_array_get(devices, k), "device_id")), device))
                    bound = 1;
            snprintf(mid, sizeof mid, "disc-%s", device);
            json_t *ev = pending_event(st, mid);
            if (failers[t].rc[i] == WSS_OK) {
                assert_true(bound);
                assert_non_null(ev);
                ok++;
            } else {
                assert_int_equal(failers[t].rc[i], WSS_ERR_STORE);
                assert_false(bound);
                assert_null(ev);
                failed++;
            }
            json_decref(ev);
        }
    assert_int_equal(json_array_size(devices), ok); /* and nothing else got bound */
    json_decref(devices);
    assert_int_equal(pending_count(st), 4 * 200 + ok); /* the SDAEs and one discovery per binding */
    assert_true(failed >= 3);
    print_message("%d binds committed, %d failed with their batch\n", ok, failed);

    /* The store goes on: the failed ones bind once the fault is gone. */
    side_exec(f, "DROP TRIGGER refuse_binding");
    int created = 0;
    assert_int_equal(st->ops->bind(st, "dev-1-100", "user-0", NULL, NULL, 2, &created), WSS_OK);
    assert_int_equal(created, 1);
}

/* ---- a restart loses nothing ---------------------------------------------------- */

static void test_reopen_keeps_everything(void **state)
{
    fixture *f = *state;
    cloud_store *st = f->st;
    cloud_outbox_item items[4];
    char sha[65];
    wss_sha256_hex("linking-token", sha);

    add_user(st, "user-1");
    assert_int_equal(st->ops->user_token_add(st, sha, "user-1", 50000), WSS_OK);
    assert_int_equal(st->ops->grant_put(st, "user-1", "Atza|x", "Atzr|x", 60000), WSS_OK);
    assert_int_equal(add_report(st, "dev-1", 1000), WSS_OK);
    assert_int_equal(add_report(st, "dev-2", 1000), WSS_OK);
    assert_int_equal(add_report(st, "dev-3", 1000), WSS_OK);
    assert_int_equal(st->ops->bind(st, "dev-1", "user-1", "Lamp", NULL, 2000, NULL), WSS_OK);
    assert_int_equal(claim(st, 1000, items, 2), 2);
    long long leased = items[0].id, dead = items[1].id;
    free_items(items, 2);
    assert_int_equal(st->ops->outbox_dead(st, dead, 3, 0, 403, "INSUFFICIENT_PERMISSION", "no", 3000), WSS_OK);

    reopen(f);
    st = f->st;

    assert_int_equal(add_report(st, "dev-1", 4000), WSS_ERR_EXISTS);
    cloud_user u;
    assert_int_equal(st->ops->user_by_token(st, sha, &u), WSS_OK);
    assert_string_equal(u.user_id, "user-1");
    cloud_grant g;
    assert_int_equal(st->ops->grant_get(st, "user-1", &g), WSS_OK);
    assert_string_equal(g.access_token, "Atza|x");
    cloud_grant_free(&g);
    json_t *devices = NULL;
    assert_int_equal(st->ops->user_devices(st, "user-1", &devices), WSS_OK);
    assert_int_equal(json_array_size(devices), 1);
    json_decref(devices);
    json_t *d = list(st, "dead");
    assert_int_equal(json_array_size(d), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "id")), dead);
    json_decref(d);

    /* The lease survived the restart; the unclaimed event is still due. */
    assert_int_equal(claim(st, 1000, items, 4), 1);
    assert_int_not_equal(items[0].id, leased);
    assert_int_not_equal(items[0].id, dead);
    free_items(items, 1);
    assert_int_equal(claim(st, 31000, items, 4), 2); /* both leases have run out */
    free_items(items, 2);
}

/* A database made before the server_errors column gets it on open, with
 * its events kept. */
/* A store made by the first schema: migrations 2 (server_errors), 3
 * (device_id) and 4 (the dead letters' index) run on open and keep its
 * events. */
static void test_migrations_from_version_1(void **state)
{
    fixture *f = *state;
    assert_int_equal(add_report(f->st, "dev-1", 1000), WSS_OK);
    f->st->ops->close(f->st);
    f->st = NULL;
    side_exec(f, "DROP INDEX outbox_dead; CREATE INDEX outbox_by_state ON outbox (state, id);"
                 " ALTER TABLE outbox DROP COLUMN device_id; ALTER TABLE outbox DROP COLUMN server_errors;"
                 " PRAGMA user_version = 1;");
    f->st = open_store(f->path);
    cloud_store *st = f->st;
    cloud_outbox_item items[2];
    assert_int_equal(claim(st, 1000, items, 2), 1);
    assert_string_equal(items[0].message_id, "msg-dev-1");
    assert_int_equal(items[0].server_errors, 0);
    assert_null(items[0].device_id);
    assert_true(items[0].body[0] != '\0');
    long long id = items[0].id;
    assert_int_equal(st->ops->outbox_retry_at(st, id, 1000, 2, 1, "HTTP 500"), WSS_OK);
    free_items(items, 1);
    json_t *row = pending_event(st, "msg-dev-1");
    assert_int_equal(json_integer_value(json_object_get(row, "server_errors")), 1);
    json_decref(row);
    /* The dead letters' list reads the new index. */
    assert_int_equal(st->ops->outbox_dead(st, id, 3, 1, 400, "INVALID_REQUEST_EXCEPTION", "bad", 2000), WSS_OK);
    json_t *dead = NULL;
    assert_int_equal(st->ops->outbox_list(st, "dead", 0, &dead), WSS_OK);
    assert_int_equal(json_array_size(dead), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(dead, 0), "id")), id);
    json_decref(dead);
}

static void test_open_failure(void **state)
{
    fixture *f = *state;
    char path[4300], err[256] = "";
    cloud_store *st = (cloud_store *)1;
    snprintf(path, sizeof path, "%s/missing/cloud.db", f->dir);
    assert_int_equal(cloud_store_open_sqlite(path, &st, err, sizeof err), WSS_ERR_STORE);
    assert_null(st);
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_add_then_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_add_rejects_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_claim_and_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_retry_delivered_dead_requeue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_list_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_concurrent_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_race_one_winner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_event_only_when_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_event_by_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_event_duplicate_message_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_add_failure_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_event_failure_keeps_neither, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_failure_fails_its_batch_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_from_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
