/* test_alerts.c - the alerts in force and their delivery: each alert once to
 * a webhook (a test server on 127.0.0.1) and to a command (its JSON on
 * stdin, arguments passed without a shell), failed deliveries retried, an
 * alert that ends forgotten and delivered again when it comes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/httpd.h"
#include "wwa/live.h"
#include "wwa_test_util.h"

/* ------------------------------------------------------------ a webhook receiver */

typedef struct receiver {
    wss_http_server *srv;
    char url[128];
    pthread_mutex_t lock;
    json_t *posts; /* every body received, parsed */
    int status;    /* what to answer */
} receiver;

static void on_post(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    receiver *r = ctx;
    json_t *doc = json_loads(req->body, 0, NULL);
    pthread_mutex_lock(&r->lock);
    if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/hook") == 0 && doc)
        json_array_append(r->posts, doc);
    int status = r->status;
    pthread_mutex_unlock(&r->lock);
    json_decref(doc);
    wss_http_reply_text(resp, status, "thanks\n");
}

static receiver *receiver_start(void)
{
    receiver *r = calloc(1, sizeof *r);
    assert_non_null(r);
    pthread_mutex_init(&r->lock, NULL);
    r->posts = json_array();
    r->status = 200;
    wss_http_options o = {.host = "127.0.0.1", .port = 0};
    char err[256];
    assert_int_equal(wss_http_start(&o, on_post, r, &r->srv, err, sizeof err), WSS_OK);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d/hook", wss_http_port(r->srv));
    return r;
}

static void receiver_stop(receiver *r)
{
    wss_http_stop(r->srv);
    json_decref(r->posts);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static size_t posts_with_key(receiver *r, const char *key)
{
    size_t n = 0, i;
    json_t *p;
    pthread_mutex_lock(&r->lock);
    json_array_foreach(r->posts, i, p) n += strcmp(json_string_value(json_object_get(p, "key")), key) == 0;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* ------------------------------------------------------------ fixtures */

typedef struct world {
    char dir[256];
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    const char *tmp = getenv("TMPDIR");
    snprintf(w->dir, sizeof w->dir, "%s/wss-wwa-alerts-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(w->dir))
        return -1;
    signal(SIGPIPE, SIG_IGN); /* as wss does; a command may close its input early */
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    wss_remove_tree(w->dir);
    free(w);
    return 0;
}

static const wwa_alert *find(const wwa_alert *a, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].key, key) == 0)
            return &a[i];
    return NULL;
}

/* A product with its checklist complete and these stretches of downtime. */
static wss_wwa *product(void)
{
    wss_wwa *e = engine_new();
    attest_all(e, T("2027-01-02T00:00:00Z"), "B0TESTASIN");
    return e;
}

static wwa_alert_report run(world *w, wss_wwa *e, long long t, const wwa_alert_sinks *sinks)
{
    wwa_alert_report rep;
    char err[512];
    wss_err rc = wwa_alerts_run(w->dir, e, t, sinks, NULL, &rep, err, sizeof err);
    if (rc != WSS_OK)
        fail_msg("wwa_alerts_run: %s", err);
    return rep;
}

/* ------------------------------------------------------------ evaluation */

static void test_eval_names_each_condition(void **state)
{
    (void)state;
    wss_wwa *e = product();
    downtime(e, T("2027-03-01T10:00:00Z"), T("2027-03-01T17:00:00Z"));
    wss_wwa_probe(e, T("2027-05-01T00:00:00Z"), 0);
    for (int i = 0; i < 4; i++)
        downtime(e, T("2027-04-01T00:00:00Z") + i * DAY_MS, T("2027-04-01T00:01:00Z") + i * DAY_MS);
    assert_int_equal(wss_wwa_directive(e, T("2027-04-20T00:00:00Z"), "amzn1.ask.skill.a", 0), WSS_OK);
    wwa_alert *a;
    size_t n;
    assert_int_equal(wwa_alerts_eval(e, T("2027-05-01T00:10:00Z"), &a, &n), WSS_OK);
    char key[128];
    snprintf(key, sizeof key, "badge_removed:availability::%lld", T("2027-03-01T16:07:55.201Z"));
    const wwa_alert *x = find(a, n, key);
    assert_non_null(x);
    assert_string_equal(x->severity, "critical");
    assert_string_equal(x->kind, "badge_removed");
    x = find(a, n, "burn_rate:availability_fast_burn");
    assert_non_null(x);
    assert_string_equal(x->severity, "page");
    assert_non_null(strstr(x->summary, "238.1x over 1h and 1428.6x over 5m"));
    assert_null(find(a, n, "burn_rate:availability_slow_burn")); /* 10 minutes: not yet 18.4 */
    /* Six outages: the sixth crossed (a removal), no outage warning on top. */
    assert_null(find(a, n, "outages_warning:2027:6"));
    snprintf(key, sizeof key, "isre_breach:amzn1.ask.skill.a:%lld", T("2027-04-20T00:00:00Z"));
    x = find(a, n, key);
    assert_non_null(x);
    assert_non_null(strstr(x->summary, "mitigate before 2027-07-19T00:00:00.000Z"));
    assert_null(find(a, n, "checklist_gaps"));
    free(a);
    wss_wwa_free(e);
}

/* ------------------------------------------------------------ delivery */

static void test_webhook_once(void **state)
{
    world *w = *state;
    receiver *r = receiver_start();
    wwa_alert_sinks sinks = {.webhook_url = r->url, .timeout_ms = 5000};
    wss_wwa *e = product();
    /* Four outages: the warning at four of five. */
    for (int i = 0; i < 4; i++)
        downtime(e, T("2027-04-01T00:00:00Z") + i * DAY_MS, T("2027-04-01T00:01:00Z") + i * DAY_MS);
    long long t = T("2027-04-10T00:00:00Z");
    wwa_alert_report rep = run(w, e, t, &sinks);
    assert_int_equal(rep.firing, 1);
    assert_int_equal(rep.delivered, 1);
    assert_int_equal(rep.failed, 0);
    assert_int_equal(posts_with_key(r, "outages_warning:2027:4"), 1);
    json_t *p = json_array_get(r->posts, 0);
    assert_string_equal(json_string_value(json_object_get(p, "severity")), "warning");
    assert_string_equal(json_string_value(json_object_get(p, "source")), "wss wwa");
    assert_string_equal(json_string_value(json_object_get(p, "at")), "2027-04-10T00:00:00.000Z");

    /* Again, and again later: nothing new. */
    rep = run(w, e, t, &sinks);
    assert_int_equal(rep.delivered, 0);
    rep = run(w, e, t + DAY_MS, &sinks);
    assert_int_equal(rep.firing, 1);
    assert_int_equal(rep.delivered, 0);
    assert_int_equal(json_array_size(r->posts), 1);

    /* A fifth outage is news of its own. */
    downtime(e, T("2027-04-20T00:00:00Z"), T("2027-04-20T00:01:00Z"));
    rep = run(w, e, T("2027-04-21T00:00:00Z"), &sinks);
    assert_int_equal(rep.delivered, 1);
    assert_int_equal(posts_with_key(r, "outages_warning:2027:5"), 1);
    assert_int_equal(json_array_size(r->posts), 2);
    wss_wwa_free(e);
    receiver_stop(r);
}

static void test_webhook_failure_is_retried(void **state)
{
    world *w = *state;
    receiver *r = receiver_start();
    r->status = 500;
    wwa_alert_sinks sinks = {.webhook_url = r->url, .timeout_ms = 5000};
    wss_wwa *e = product();
    wss_wwa_probe(e, T("2027-06-01T00:00:00Z"), 0);
    long long t = T("2027-06-01T00:15:00Z");
    wwa_alert_report rep = run(w, e, t, &sinks);
    assert_int_equal(rep.firing, 1);
    assert_int_equal(rep.failed, 1);
    assert_int_equal(rep.delivered, 0);
    pthread_mutex_lock(&r->lock);
    r->status = 204;
    pthread_mutex_unlock(&r->lock);
    rep = run(w, e, t + 1000, &sinks);
    assert_int_equal(rep.failed, 0);
    assert_int_equal(rep.delivered, 1);
    rep = run(w, e, t + 2000, &sinks);
    assert_int_equal(rep.delivered, 0);
    assert_int_equal(posts_with_key(r, "burn_rate:availability_fast_burn"), 2); /* the 500 and the 204 */
    wss_wwa_free(e);
    receiver_stop(r);

    /* Nobody listening: a failure, not an error. */
    wss_wwa *e2 = product();
    wss_wwa_probe(e2, T("2027-06-01T00:00:00Z"), 0);
    wwa_alert_sinks gone = {.webhook_url = "http://127.0.0.1:1/hook", .timeout_ms = 2000};
    char dir2[512];
    snprintf(dir2, sizeof dir2, "%s/other", w->dir);
    assert_int_equal(mkdir(dir2, 0700), 0);
    wwa_alert_report rep2;
    char err[256];
    assert_int_equal(wwa_alerts_run(dir2, e2, t, &gone, NULL, &rep2, err, sizeof err), WSS_OK);
    assert_int_equal(rep2.failed, 1);
    wss_wwa_free(e2);
}

/* The outage ends, the page stops being in force and is forgotten; the next
 * outage pages again. */
static void test_resolved_then_again(void **state)
{
    world *w = *state;
    receiver *r = receiver_start();
    wwa_alert_sinks sinks = {.webhook_url = r->url};
    wss_wwa *e = product();
    downtime(e, T("2027-06-01T00:00:00Z"), T("2027-06-01T00:15:00Z"));
    downtime(e, T("2027-06-02T00:00:00Z"), T("2027-06-02T00:15:00Z"));
    run(w, e, T("2027-06-01T00:14:00Z"), &sinks);
    run(w, e, T("2027-06-01T00:16:00Z"), &sinks);
    assert_int_equal(posts_with_key(r, "burn_rate:availability_fast_burn"), 1);
    wwa_alert_report rep = run(w, e, T("2027-06-01T03:00:00Z"), &sinks); /* over */
    assert_int_equal(rep.firing, 0);
    run(w, e, T("2027-06-02T00:14:00Z"), &sinks);
    assert_int_equal(posts_with_key(r, "burn_rate:availability_fast_burn"), 2);
    wss_wwa_free(e);
    receiver_stop(r);
}

static void test_command_gets_json_on_stdin(void **state)
{
    world *w = *state;
    /* The output file's name holds shell syntax: with argv passed as is, it
     * is just a name. */
    char out[512], pwned[512];
    snprintf(out, sizeof out, "%s/out;touch pwned$(id)", w->dir);
    snprintf(pwned, sizeof pwned, "%s/pwned", w->dir);
    const char *argv[] = {"tee", "-a", out, NULL};
    wwa_alert_sinks sinks = {.command = argv, .timeout_ms = 5000};
    wss_wwa *e = product();
    wss_wwa_probe(e, T("2027-06-01T00:00:00Z"), 0);
    wwa_alert_report rep = run(w, e, T("2027-06-01T00:10:00Z"), &sinks);
    assert_int_equal(rep.delivered, 1);
    rep = run(w, e, T("2027-06-01T00:11:00Z"), &sinks);
    assert_int_equal(rep.delivered, 0);
    char *text;
    assert_int_equal(wss_read_file(out, 1 << 20, &text, NULL), WSS_OK);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("not one JSON document: %s (%s)", text, jerr.text);
    assert_string_equal(json_string_value(json_object_get(doc, "key")), "burn_rate:availability_fast_burn");
    assert_string_equal(json_string_value(json_object_get(doc, "severity")), "page");
    json_decref(doc);
    free(text);
    assert_int_not_equal(access(pwned, F_OK), 0);
    wss_wwa_free(e);
}

static void test_command_failures(void **state)
{
    world *w = *state;
    wss_wwa *e = product();
    wss_wwa_probe(e, T("2027-06-01T00:00:00Z"), 0);
    long long t = T("2027-06-01T00:10:00Z");
    const char *fails[] = {"false", NULL};
    wwa_alert_sinks sinks = {.command = fails};
    wwa_alert_report rep = run(w, e, t, &sinks);
    assert_int_equal(rep.failed, 1);
    const char *missing[] = {"wss-no-such-program-here", NULL};
    sinks.command = missing;
    rep = run(w, e, t, &sinks);
    assert_int_equal(rep.failed, 1);
    const char *slow[] = {"sleep", "5", NULL};
    sinks.command = slow;
    sinks.timeout_ms = 200;
    rep = run(w, e, t, &sinks);
    assert_int_equal(rep.failed, 1);
    /* Still undelivered: a working command gets it now, once. */
    const char *ok[] = {"true", NULL};
    sinks.command = ok;
    rep = run(w, e, t, &sinks);
    assert_int_equal(rep.delivered, 1);
    rep = run(w, e, t, &sinks);
    assert_int_equal(rep.delivered, 0);
    wss_wwa_free(e);
}

/* Webhook and command are separate: one failing does not resend the other. */
static void test_sinks_are_independent(void **state)
{
    world *w = *state;
    receiver *r = receiver_start();
    const char *fails[] = {"false", NULL};
    wwa_alert_sinks sinks = {.webhook_url = r->url, .command = fails};
    wss_wwa *e = product();
    wss_wwa_probe(e, T("2027-06-01T00:00:00Z"), 0);
    long long t = T("2027-06-01T00:10:00Z");
    wwa_alert_report rep = run(w, e, t, &sinks);
    assert_int_equal(rep.delivered, 1);
    assert_int_equal(rep.failed, 1);
    rep = run(w, e, t, &sinks);
    assert_int_equal(rep.delivered, 0);
    assert_int_equal(rep.failed, 1);
    assert_int_equal(posts_with_key(r, "burn_rate:availability_fast_burn"), 1);
    wss_wwa_free(e);
    receiver_stop(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_names_each_condition),
        cmocka_unit_test_setup_teardown(test_webhook_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_failure_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolved_then_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_gets_json_on_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sinks_are_independent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
