/* harness.c - the emulator as a child process, a recording skill endpoint,
 * and the HTTP, LWA, device and control API steps the end-to-end tests share. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/file.h"
#include "common/httpd.h"
#include "common/x509.h"

#include <curl/curl.h>
#include <strings.h>

#define START_DEADLINE_MS 10000
#define STOP_DEADLINE_MS 10000
#define HTTP_TIMEOUT_MS 15000

/* ------------------------------------------------------------ small things */

long long e2e_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void e2e_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void e2e_message_id(char out[37]) { assert_int_equal(wss_uuid4(out), WSS_OK); }

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;
static void httpc_init(void) { wss_httpc_global_init(); }

const json_t *e2e_jget(const json_t *root, const char *path)
{
    const json_t *v = root;
    char seg[256];
    const char *p = path;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, p, n);
        seg[n] = 0;
        if (json_is_array(v)) {
            char *end;
            long i = strtol(seg, &end, 10);
            v = (*seg && !*end && i >= 0) ? json_array_get(v, (size_t)i) : NULL;
        } else
            v = json_object_get(v, seg);
        p = dot ? dot + 1 : p + n;
    }
    return v;
}

const char *e2e_jstr(const json_t *root, const char *path) { return json_string_value(e2e_jget(root, path)); }

long long e2e_jint(const json_t *root, const char *path, long long dflt)
{
    const json_t *v = e2e_jget(root, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

void e2e_print_json(const char *label, const json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    print_error("%s: %s\n", label, text ? text : "(none)");
    free(text);
}

static void print_json(const char *label, const json_t *v) { e2e_print_json(label, v); }

void e2e_assert_jstr_at(const json_t *root, const char *path, const char *expected, const char *file, int line)
{
    const char *got = e2e_jstr(root, path);
    if (!got || strcmp(got, expected) != 0) {
        print_error("%s: expected \"%s\", got %s%s%s\n", path, expected, got ? "\"" : "", got ? got : "nothing",
                    got ? "\"" : "");
        print_json("in", root);
        _fail(file, line);
    }
}

/* ------------------------------------------------------------ the test skill */

struct e2e_skill {
    wss_http_server *srv;
    char url[128];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    e2e_skill_mode mode;
    e2e_skill_mode grant_mode;
    json_t *received; /* array of directive documents (a JSON string when the body was not JSON) */
};

static json_t *answer_header(const char *ns, const char *name, const char *correlation, int with_message_id)
{
    char id[37];
    json_t *h = json_pack("{s:s, s:s, s:s}", "namespace", ns, "name", name, "payloadVersion", "3");
    if (with_message_id && wss_uuid4(id) == WSS_OK)
        json_object_set_new(h, "messageId", json_string(id));
    if (correlation)
        json_object_set_new(h, "correlationToken", json_string(correlation));
    return h;
}

/* What the skill answers to one directive in one mode. */
static void skill_answer(e2e_skill_mode mode, const json_t *doc, wss_http_response *resp)
{
    const char *name = e2e_jstr(doc, "directive.header.name");
    const char *correlation = e2e_jstr(doc, "directive.header.correlationToken");
    const char *device_id = e2e_jstr(doc, "directive.payload.device.id");
    int grant = name && strcmp(name, "AcceptGrant") == 0;
    char wrong[300];
    json_t *event;

    if (mode == E2E_SKILL_NOT_JSON) {
        wss_http_reply_text(resp, 200,
                            "<!DOCTYPE html><html><head><title>Oops</title></head>"
                            "<body><h1>Something went wrong</h1></body></html>");
        resp->content_type = "text/html";
        return;
    }
    if (mode == E2E_SKILL_SLOW)
        e2e_sleep_ms(E2E_SLOW_MS);
    if (mode == E2E_SKILL_WRONG_CORRELATION) {
        snprintf(wrong, sizeof wrong, "not-%s", correlation ? correlation : "the-directive-token");
        correlation = wrong;
    }
    if (grant && mode == E2E_SKILL_ERROR_RESPONSE)
        event =
            json_pack("{s:o, s:{s:s, s:s}}", "header", answer_header("Alexa.Authorization", "ErrorResponse", NULL, 1),
                      "payload", "type", "ACCEPT_GRANT_FAILED", "message", "the test skill refuses the grant");
    else if (grant)
        event = json_pack(
            "{s:o, s:{}}", "header",
            answer_header("Alexa.Authorization", "AcceptGrant.Response", NULL, mode != E2E_SKILL_MALFORMED), "payload");
    else if (mode == E2E_SKILL_ERROR_RESPONSE)
        event =
            json_pack("{s:o, s:{s:s}, s:{s:s, s:s}}", "header", answer_header("Alexa", "ErrorResponse", correlation, 1),
                      "endpoint", "endpointId", device_id ? device_id : "unknown", "payload", "type",
                      "NO_SUCH_ENDPOINT", "message", "the test skill does not know this device");
    else
        event = json_pack("{s:o, s:{s:s}, s:{}}", "header",
                          answer_header("Alexa", "Response", correlation, mode != E2E_SKILL_MALFORMED), "endpoint",
                          "endpointId", device_id ? device_id : "unknown", "payload");
    wss_http_reply_json(resp, mode == E2E_SKILL_HTTP_500 ? 500 : 200, json_pack("{s:o}", "event", event));
}

static void skill_handle(void *ctx, const wss_http_request *req, wss_http_response *resp)
{
    e2e_skill *k = ctx;
    json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
    if (!doc)
        doc = json_stringn(req->body, req->body_len);
    const char *name = e2e_jstr(doc, "directive.header.name");
    pthread_mutex_lock(&k->lock);
    e2e_skill_mode mode = name && strcmp(name, "AcceptGrant") == 0 ? k->grant_mode : k->mode;
    json_array_append(k->received, doc);
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    skill_answer(mode, doc, resp);
    json_decref(doc);
}

e2e_skill *e2e_skill_start(void)
{
    e2e_skill *k = calloc(1, sizeof *k);
    assert_non_null(k);
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    k->received = json_array();
    char err[256];
    wss_http_options o = {.host = "127.0.0.1", .port = 0};
    if (wss_http_start(&o, skill_handle, k, &k->srv, err, sizeof err) != WSS_OK)
        fail_msg("cannot start the test skill: %s", err);
    snprintf(k->url, sizeof k->url, "http://127.0.0.1:%d/alexa/skill", wss_http_port(k->srv));
    return k;
}

void e2e_skill_stop(e2e_skill *k)
{
    if (!k)
        return;
    wss_http_stop(k->srv);
    json_decref(k->received);
    pthread_cond_destroy(&k->cond);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

const char *e2e_skill_url(const e2e_skill *k) { return k->url; }

void e2e_skill_set_mode(e2e_skill *k, e2e_skill_mode mode)
{
    pthread_mutex_lock(&k->lock);
    k->mode = mode;
    pthread_mutex_unlock(&k->lock);
}

void e2e_skill_set_grant_mode(e2e_skill *k, e2e_skill_mode mode)
{
    pthread_mutex_lock(&k->lock);
    k->grant_mode = mode;
    pthread_mutex_unlock(&k->lock);
}

/* The index-th received directive named name; needs k->lock. Borrowed. */
static json_t *find_locked(e2e_skill *k, const char *name, size_t index, size_t *count)
{
    size_t i, seen = 0;
    json_t *doc, *found = NULL;
    json_array_foreach(k->received, i, doc)
    {
        const char *n = e2e_jstr(doc, "directive.header.name");
        if (name && (!n || strcmp(n, name) != 0))
            continue;
        if (seen == index)
            found = doc;
        seen++;
    }
    if (count)
        *count = seen;
    return found;
}

size_t e2e_skill_count(e2e_skill *k, const char *name)
{
    size_t n;
    pthread_mutex_lock(&k->lock);
    find_locked(k, name, (size_t)-1, &n);
    pthread_mutex_unlock(&k->lock);
    return n;
}

json_t *e2e_skill_get(e2e_skill *k, const char *name, size_t index)
{
    pthread_mutex_lock(&k->lock);
    json_t *doc = json_incref(find_locked(k, name, index, NULL));
    pthread_mutex_unlock(&k->lock);
    return doc;
}

json_t *e2e_skill_wait(e2e_skill *k, const char *name, size_t index, long timeout_ms)
{
    long long deadline = e2e_mono_ms() + timeout_ms;
    json_t *doc = NULL;
    pthread_mutex_lock(&k->lock);
    while (!(doc = find_locked(k, name, index, NULL)) && e2e_mono_ms() < deadline) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&k->cond, &k->lock, &until);
    }
    json_incref(doc);
    pthread_mutex_unlock(&k->lock);
    if (!doc)
        fail_msg("the test skill received no directive %s #%zu within %ld ms (it has %zu)", name ? name : "(any)",
                 index, timeout_ms, e2e_skill_count(k, name));
    return doc;
}

/* ------------------------------------------------------------ the emulator process */

static void join(char *out, size_t outlen, const char *a, const char *b)
{
    int n = snprintf(out, outlen, "%s/%s", a, b);
    assert_true(n > 0 && (size_t)n < outlen);
}

void e2e_sim_init(e2e_sim *s)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(s->root, sizeof s->root, "%s/wss-e2e-XXXXXX", tmp);
    assert_true(n > 0 && (size_t)n < sizeof s->root);
    if (!mkdtemp(s->root))
        fail_msg("mkdtemp %s: %s", s->root, strerror(errno));
    join(s->dir, sizeof s->dir, s->root, "state");
    join(s->log_path, sizeof s->log_path, s->dir, "sim.log");
    assert_int_equal(mkdir(s->dir, 0700), 0);
}

void e2e_sim_write_config(e2e_sim *s, const json_t *config)
{
    if (!config) {
        s->config_path[0] = 0;
        return;
    }
    join(s->config_path, sizeof s->config_path, s->root, "config.json");
    char *text = json_dumps(config, JSON_INDENT(2));
    assert_non_null(text);
    assert_int_equal(wss_write_file_atomic(s->config_path, text, strlen(text), 0600), WSS_OK);
    free(text);
}

void e2e_sim_print_log(const e2e_sim *s)
{
    char *text = NULL;
    size_t len = 0;
    if (wss_read_file(s->log_path, 64u << 20, &text, &len) != WSS_OK) {
        print_error("(no emulator log at %s)\n", s->log_path);
        return;
    }
    const char *from = text;
    if (len > 6000)
        from = text + len - 6000;
    print_error("---- emulator log (%s), last %zu bytes ----\n%s\n---- end of log ----\n", s->log_path, strlen(from),
                from);
    free(text);
}

static void copy_field(char *out, size_t outlen, const char *v) { snprintf(out, outlen, "%s", v ? v : ""); }

/* Reads credentials.json; 1 when it was written by s->pid. */
static int read_credentials(e2e_sim *s)
{
    sim_client c;
    char err[512];
    if (sim_client_load(&c, s->dir, (long)s->pid, err, sizeof err) != WSS_OK)
        return 0;
    sim_client_free(&s->client);
    s->client = c;
    copy_field(s->base_url, sizeof s->base_url, c.base_url);
    copy_field(s->ca_file, sizeof s->ca_file, c.ca_file);
    copy_field(s->control_token, sizeof s->control_token, c.control_token);
    copy_field(s->skill_id, sizeof s->skill_id, sim_client_skill(&c, "skill_id"));
    copy_field(s->client_id, sizeof s->client_id, sim_client_skill(&c, "client_id"));
    copy_field(s->client_secret, sizeof s->client_secret, sim_client_skill(&c, "client_secret"));
    copy_field(s->customer_id, sizeof s->customer_id, sim_client_customer(&c, "customer_id"));
    return 1;
}

/* Forks and execs the emulator with its output going to the log; returns its pid. */
static pid_t spawn(e2e_sim *s)
{
    const char *bin = getenv("WSS_BIN");
    if (!bin || !*bin)
        fail_msg("WSS_BIN (the path of the wss binary) is not set");
    const char *argv[12];
    int a = 0;
    argv[a++] = bin;
    argv[a++] = "sim";
    argv[a++] = "--state";
    argv[a++] = s->dir;
    argv[a++] = "--listen";
    argv[a++] = "127.0.0.1:0";
    if (s->config_path[0]) {
        argv[a++] = "--config";
        argv[a++] = s->config_path;
    }
    argv[a] = NULL;

    int logfd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(logfd >= 0);
    char banner[128];
    int n = snprintf(banner, sizeof banner, "==== start #%d ====\n", s->starts + 1);
    assert_int_equal(write(logfd, banner, (size_t)n), n);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(logfd);
    s->starts++;
    return pid;
}

void e2e_sim_start(e2e_sim *s)
{
    assert_int_equal(s->pid, 0);
    pid_t pid = spawn(s);
    s->pid = pid;
    long long deadline = e2e_mono_ms() + START_DEADLINE_MS;
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            e2e_sim_print_log(s);
            fail_msg("the emulator exited during start-up (status 0x%x)", status);
        }
        if (read_credentials(s))
            break;
        if (e2e_mono_ms() > deadline) {
            e2e_sim_print_log(s);
            fail_msg("%s/credentials.json did not name pid %ld within %d ms", s->dir, (long)pid, START_DEADLINE_MS);
        }
        e2e_sleep_ms(10);
    }
    assert_true(strncmp(s->base_url, "https://127.0.0.1:", 18) == 0);
    assert_true(s->ca_file[0] != 0);
    assert_true(s->control_token[0] != 0);
}

int e2e_sim_start_expect_exit(e2e_sim *s)
{
    assert_int_equal(s->pid, 0);
    pid_t pid = spawn(s);
    long long deadline = e2e_mono_ms() + START_DEADLINE_MS;
    int status;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (e2e_mono_ms() > deadline) {
            s->pid = pid;
            e2e_sim_print_log(s);
            fail_msg("the emulator was expected to refuse to start, but is still running");
        }
        e2e_sleep_ms(10);
    }
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

int e2e_sim_log_contains(const e2e_sim *s, const char *text)
{
    char *log = NULL;
    if (wss_read_file(s->log_path, 64u << 20, &log, NULL) != WSS_OK)
        return 0;
    int found = strstr(log, text) != NULL;
    free(log);
    return found;
}

/* Sends SIGTERM and waits up to timeout_ms; returns the exit status as
 * waitpid() gave it, or -1 when the process had to be killed. */
static int terminate(pid_t pid, long long timeout_ms)
{
    kill(pid, SIGTERM);
    long long deadline = e2e_mono_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        if (e2e_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        e2e_sleep_ms(10);
    }
}

/* Kills pid with SIGKILL, as a crash would, and asserts it died of it. */
static void kill_and_reap(pid_t pid)
{
    if (pid <= 0)
        return;
    int status;
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

int e2e_sim_stop_status(e2e_sim *s)
{
    if (s->pid <= 0)
        return 0;
    pid_t pid = s->pid;
    s->pid = 0;
    return terminate(pid, STOP_DEADLINE_MS);
}

void e2e_sim_stop(e2e_sim *s)
{
    int status = e2e_sim_stop_status(s);
    if (status != 0) {
        e2e_sim_print_log(s);
        fail_msg("the emulator did not exit cleanly on SIGTERM (status %d)", status);
    }
}

void e2e_sim_kill(e2e_sim *s)
{
    kill_and_reap(s->pid);
    s->pid = 0;
}

int e2e_sim_cleanup(e2e_sim *s)
{
    int rc = 0;
    int status = e2e_sim_stop_status(s);
    if (status != 0) {
        e2e_sim_print_log(s);
        print_error("the emulator did not exit cleanly on SIGTERM (status %d)\n", status);
        rc = -1;
    }
    if (s->root[0])
        wss_remove_tree(s->root);
    sim_client_free(&s->client);
    s->root[0] = 0;
    return rc;
}

/* ------------------------------------------------------------ configuration */

json_t *e2e_config_new(const e2e_skill *skill)
{
    char *secret = wss_random_token("amzn1.oa2-cs.v1.", 32);
    assert_non_null(secret);
    json_t *cfg = json_pack("{s:i, s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:b}], s:[{s:s, s:s}]}", "skill_timeout_ms",
                            E2E_SKILL_TIMEOUT_MS, "skills", "skill_id", E2E_SKILL_ID, "client_id", E2E_CLIENT_ID,
                            "client_secret", secret, "endpoint", e2e_skill_url(skill), "stage", "live", "marketplace",
                            "US", "enabled", 1, "customers", "customer_id", E2E_CUSTOMER_ID, "name", "E2E Customer");
    free(secret);
    assert_non_null(cfg);
    return cfg;
}

json_t *e2e_config_skill(json_t *config) { return json_array_get(json_object_get(config, "skills"), 0); }

/* ------------------------------------------------------------ a whole world */

int e2e_world_setup(void **state)
{
    e2e_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->skill = e2e_skill_start();
    e2e_sim_init(&w->sim);
    w->config = e2e_config_new(w->skill);
    *state = w;
    return 0;
}

int e2e_world_teardown(void **state)
{
    e2e_world *w = *state;
    if (!w)
        return 0;
    int rc = e2e_sim_cleanup(&w->sim);
    e2e_skill_stop(w->skill);
    json_decref(w->config);
    free(w);
    *state = NULL;
    return rc;
}

void e2e_world_start(e2e_world *w)
{
    e2e_sim_write_config(&w->sim, w->config);
    e2e_sim_start(&w->sim);
    assert_string_equal(w->sim.skill_id, E2E_SKILL_ID);
    assert_string_equal(w->sim.client_id, E2E_CLIENT_ID);
    assert_string_equal(w->sim.customer_id, E2E_CUSTOMER_ID);
    assert_string_equal(w->sim.client_secret, e2e_jstr(w->config, "skills.0.client_secret"));
}

/* ------------------------------------------------------------ HTTP */

void e2e_http(e2e_sim *s, const char *method, const char *path, const char *bearer, const char *content_type,
              const char *body, size_t len, e2e_resp *out)
{
    pthread_once(&httpc_once, httpc_init);
    memset(out, 0, sizeof *out);
    wss_httpc_response resp;
    char err[512];
    int status;
    if (strcmp(method, "POST") == 0) {
        status = sim_client_post(&s->client, path, bearer, content_type, body, len, &resp, err, sizeof err);
    } else {
        char url[1200];
        snprintf(url, sizeof url, "%s%s", s->base_url, path);
        wss_httpc_request req = {
            .method = method,
            .url = url,
            .body = body,
            .body_len = len,
            .content_type = content_type,
            .bearer = bearer,
            .ca_file = s->ca_file[0] ? s->ca_file : NULL,
            .timeout_ms = HTTP_TIMEOUT_MS,
        };
        status = wss_httpc_perform(&req, &resp, err, sizeof err) == WSS_OK ? (int)resp.status : -1;
    }
    if (status < 0) {
        e2e_sim_print_log(s);
        fail_msg("%s %s: no answer: %s", method, path, err);
    }
    out->status = resp.status;
    out->body = resp.body;
    out->len = resp.body_len;
    out->json = resp.body_len ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    memcpy(out->retry_after, resp.retry_after, sizeof out->retry_after);
    memcpy(out->content_type, resp.content_type, sizeof out->content_type);
}

void e2e_resp_free(e2e_resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

json_t *e2e_control(e2e_sim *s, const char *method, const char *path, json_t *body, long expect_status)
{
    pthread_once(&httpc_once, httpc_init);
    json_t *answer = NULL;
    char err[1024] = "";
    int status = sim_client_control(&s->client, method, path, body, &answer, err, sizeof err);
    json_decref(body);
    if (status < 0) {
        e2e_sim_print_log(s);
        fail_msg("%s /control/v1%s: no answer: %s", method, path, err);
    }
    if (status != expect_status) {
        print_json("answer", answer);
        json_decref(answer);
        fail_msg("%s /control/v1%s: status %d, expected %ld (%s)", method, path, status, expect_status, err);
    }
    return answer;
}

void e2e_post_event(e2e_sim *s, const char *bearer, const json_t *event, e2e_resp *out)
{
    char *text = json_dumps(event, JSON_COMPACT);
    assert_non_null(text);
    e2e_http(s, "POST", "/v3/events", bearer, "application/json", text, strlen(text), out);
    free(text);
}

void e2e_assert_status_at(const e2e_resp *r, long status, const char *file, int line)
{
    if (r->status != status) {
        print_error("status %ld, expected %ld; body: %s\n", r->status, status, r->body ? r->body : "");
        _fail(file, line);
    }
}

void e2e_assert_exception_at(const e2e_resp *r, long status, const char *code, const char *file, int line)
{
    const char *ns = e2e_jstr(r->json, "header.namespace");
    const char *name = e2e_jstr(r->json, "header.name");
    const char *got_code = e2e_jstr(r->json, "payload.code");
    const char *description = e2e_jstr(r->json, "payload.description");
    const char *message_id = e2e_jstr(r->json, "header.messageId");
    int ok = r->status == status && ns && strcmp(ns, "System") == 0 && name && strcmp(name, "Exception") == 0 &&
             got_code && *got_code && description && *description && message_id &&
             (!code || strcmp(got_code, code) == 0) && strncmp(r->content_type, "application/json", 16) == 0;
    if (!ok) {
        print_error("expected %ld System.Exception%s%s; got status %ld (%s), body: %s\n", status, code ? " " : "",
                    code ? code : "", r->status, r->content_type, r->body ? r->body : "");
        _fail(file, line);
    }
}

/* ------------------------------------------------------------ Login with Amazon */

void e2e_lwa_json(e2e_sim *s, json_t *params, e2e_resp *out)
{
    char *text = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    assert_non_null(text);
    e2e_http(s, "POST", "/auth/o2/token", NULL, "application/json", text, strlen(text), out);
    free(text);
}

void e2e_lwa_form(e2e_sim *s, const char *form, e2e_resp *out)
{
    e2e_http(s, "POST", "/auth/o2/token", NULL, "application/x-www-form-urlencoded", form, strlen(form), out);
}

char *e2e_client_token(e2e_sim *s)
{
    pthread_once(&httpc_once, httpc_init);
    char err[1024];
    char *token =
        sim_client_lwa_token(&s->client, s->client_id, s->client_secret, E2E_SCOPE_ASSOCIATION, err, sizeof err);
    if (!token)
        fail_msg("no client_credentials token: %s", err);
    return token;
}

void e2e_exchange_code(e2e_sim *s, const char *code, char **access, char **refresh)
{
    e2e_resp r;
    e2e_lwa_json(s,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "authorization_code", "code", code, "client_id",
                           s->client_id, "client_secret", s->client_secret),
                 &r);
    e2e_assert_status(&r, 200);
    assert_non_null(e2e_jstr(r.json, "access_token"));
    assert_non_null(e2e_jstr(r.json, "refresh_token"));
    *access = strdup(e2e_jstr(r.json, "access_token"));
    if (refresh)
        *refresh = strdup(e2e_jstr(r.json, "refresh_token"));
    e2e_resp_free(&r);
}

/* ------------------------------------------------------------ devices and events */

void e2e_device_setup(e2e_sim *s, e2e_device *d, const char *dsn, const char *customer_id)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dsn, sizeof d->dsn, "%s", dsn);
    assert_int_equal(wss_key_generate(&d->key), WSS_OK);
    char *pem = wss_key_public_pem(d->key);
    assert_non_null(pem);
    json_decref(e2e_control(s, "POST", "/devices",
                            json_pack("{s:s, s:s, s:s}", "dsn", dsn, "public_key", pem, "product_index", "E2E-PRODUCT"),
                            201));
    free(pem);
    if (customer_id)
        json_decref(
            e2e_control(s, "POST", "/purchases", json_pack("{s:s, s:s}", "dsn", dsn, "customer_id", customer_id), 201));
    json_t *st = e2e_control(s, "POST", "/session-tokens", json_pack("{s:s}", "dsn", dsn), 201);
    const char *token = e2e_jstr(st, "session_token");
    assert_non_null(token);
    snprintf(d->session_token, sizeof d->session_token, "%s", token);
    json_decref(st);
    assert_int_equal(wss_ecdsa_sign_b64(d->key, d->session_token, strlen(d->session_token), &d->signature), WSS_OK);
    /* The seed recommends a global device id joined with the session token;
     * only the token's last dot-free part is used, '.' being outside the
     * device.id character set. */
    const char *unique = strrchr(d->session_token, '.');
    snprintf(d->device_id, sizeof d->device_id, "%s:%s", dsn, unique ? unique + 1 : d->session_token);
}

void e2e_device_free(e2e_device *d)
{
    free(d->signature);
    wss_key_free(d->key);
    memset(d, 0, sizeof *d);
}

json_t *e2e_sdae(const char *token, const char *message_id, const char *session_token, const char *signature,
                 const char *device_id, const char *category)
{
    json_t *ev = sim_client_sdae(token, message_id, session_token, signature, device_id, category);
    assert_non_null(ev);
    return ev;
}

json_t *e2e_device_sdae(const e2e_device *d, const char *token)
{
    char id[37];
    e2e_message_id(id);
    return e2e_sdae(token, id, d->session_token, d->signature, d->device_id, "SWITCH");
}

json_t *e2e_discovery_report(const char *token, const char *endpoint_id, const char *friendly_name)
{
    char id[37];
    e2e_message_id(id);
    json_t *ev =
        json_pack("{s:{s:{s:s, s:s, s:s, s:s}, s:{s:{s:s, s:s}, s:[{s:s, s:s, s:s, s:s, s:[s], s:[{s:s, s:s, s:s},"
                  " {s:s, s:s, s:s, s:{s:[{s:s}], s:b, s:b}}]}]}}}",
                  "event", "header", "namespace", "Alexa.Discovery", "name", "AddOrUpdateReport", "payloadVersion", "3",
                  "messageId", id, "payload", "scope", "type", "BearerToken", "token", token, "endpoints", "endpointId",
                  endpoint_id, "manufacturerName", "openwss e2e", "friendlyName", friendly_name, "description",
                  "A switch set up with Wi-Fi Simple Setup", "displayCategories", "SWITCH", "capabilities", "type",
                  "AlexaInterface", "interface", "Alexa", "version", "3", "type", "AlexaInterface", "interface",
                  "Alexa.PowerController", "version", "3", "properties", "supported", "name", "powerState",
                  "proactivelyReported", 1, "retrievable", 1);
    assert_non_null(ev);
    return ev;
}

/* ------------------------------------------------------------ control API read-outs */

void e2e_enable_skill(e2e_sim *s, const char *customer_id, const char *maker_token)
{
    char path[600];
    snprintf(path, sizeof path, "/customers/%s/skills/%s", customer_id, s->skill_id);
    json_t *r = e2e_control(s, "PUT", path, json_pack("{s:s}", "access_token", maker_token), 200);
    assert_true(json_is_true(json_object_get(r, "enabled")));
    json_decref(r);
}

void e2e_link_customer(e2e_world *w, const char *maker_token, char **access, char **refresh)
{
    size_t before = e2e_skill_count(w->skill, "AcceptGrant");
    e2e_enable_skill(&w->sim, w->sim.customer_id, maker_token);
    json_t *grant = e2e_skill_wait(w->skill, "AcceptGrant", before, 5000);
    assert_string_equal(e2e_jstr(grant, "directive.payload.grantee.token"), maker_token);
    const char *code = e2e_jstr(grant, "directive.payload.grant.code");
    assert_non_null(code);
    e2e_exchange_code(&w->sim, code, access, refresh);
    json_decref(grant);
}

void e2e_advance_clock(e2e_sim *s, double seconds)
{
    json_t *before = e2e_control(s, "GET", "/clock", NULL, 200);
    json_t *after = e2e_control(s, "POST", "/clock", json_pack("{s:f}", "advance_s", seconds), 200);
    assert_true(e2e_jint(after, "now_ms", 0) >= e2e_jint(before, "now_ms", 0) + (long long)(seconds * 1000));
    json_decref(before);
    json_decref(after);
}

long long e2e_add_fault(e2e_sim *s, json_t *rule)
{
    json_t *r = e2e_control(s, "POST", "/faults", rule, 201);
    long long id = e2e_jint(r, "id", -1);
    assert_true(id > 0);
    json_decref(r);
    return id;
}

json_t *e2e_associations(e2e_sim *s) { return e2e_control(s, "GET", "/associations", NULL, 200); }

static json_t *association_in(const json_t *answer, const char *device_id)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(answer, "associations"), i, a)
    {
        const char *id = e2e_jstr(a, "device_id");
        if (id && strcmp(id, device_id) == 0)
            return a;
    }
    return NULL;
}

json_t *e2e_association(e2e_sim *s, const char *device_id)
{
    json_t *all = e2e_associations(s);
    json_t *a = json_incref(association_in(all, device_id));
    json_decref(all);
    return a;
}

typedef struct assoc_wait {
    const char *device_id;
    const char *state;
} assoc_wait;

static int association_has_state(const json_t *answer, void *ctx)
{
    assoc_wait *w = ctx;
    const char *state = e2e_jstr(association_in(answer, w->device_id), "state");
    return state && strcmp(state, w->state) == 0;
}

json_t *e2e_wait_association(e2e_sim *s, const char *device_id, const char *state, long timeout_ms)
{
    assoc_wait ctx = {device_id, state};
    char what[400];
    snprintf(what, sizeof what, "association of %s in state %s", device_id, state);
    json_t *all = e2e_poll_control(s, "/associations", association_has_state, &ctx, timeout_ms, what);
    json_t *a = json_incref(association_in(all, device_id));
    json_decref(all);
    return a;
}

json_t *e2e_skill_requests(e2e_sim *s)
{
    char path[400];
    snprintf(path, sizeof path, "/skills/%s/requests", s->skill_id);
    return e2e_control(s, "GET", path, NULL, 200);
}

static int enough_requests(const json_t *answer, void *ctx)
{
    return e2e_jint(answer, "requests", 0) >= *(long long *)ctx;
}

json_t *e2e_wait_skill_requests(e2e_sim *s, long long n, long timeout_ms)
{
    char path[400], what[64];
    snprintf(path, sizeof path, "/skills/%s/requests", s->skill_id);
    snprintf(what, sizeof what, "%lld judged skill requests", n);
    return e2e_poll_control(s, path, enough_requests, &n, timeout_ms, what);
}

json_t *e2e_poll_control(e2e_sim *s, const char *path, e2e_pred pred, void *ctx, long timeout_ms, const char *what)
{
    long long deadline = e2e_mono_ms() + timeout_ms;
    for (;;) {
        json_t *answer = e2e_control(s, "GET", path, NULL, 200);
        if (pred(answer, ctx))
            return answer;
        if (e2e_mono_ms() > deadline) {
            print_json("last answer", answer);
            json_decref(answer);
            e2e_sim_print_log(s);
            fail_msg("waited %ld ms for %s (GET /control/v1%s)", timeout_ms, what, path);
        }
        json_decref(answer);
        e2e_sleep_ms(50);
    }
}

/* ------------------------------------------------------------ the maker's cloud */

extern char **environ;

#define CLOUD_HTTP_TIMEOUT_MS 15000

void e2e_cloud_init(e2e_cloud *c, e2e_sim *s)
{
    memset(c, 0, sizeof *c);
    assert_true(s->root[0] && s->base_url[0]);
    c->sim = s;
    join(c->dir, sizeof c->dir, s->root, "cloud");
    join(c->config_path, sizeof c->config_path, s->root, "cloud.json");
    join(c->log_path, sizeof c->log_path, s->root, "cloud.log");
    join(c->cli_err_path, sizeof c->cli_err_path, s->root, "cloud-cli.err");
    join(c->ca_file, sizeof c->ca_file, c->dir, "ca.pem");
    join(c->device_ca_file, sizeof c->device_ca_file, s->root, "device-ca.pem");

    char err[256];
    if (wss_x509_make_ca("openwss e2e device CA", 30, &c->ca_key, &c->ca_pem, err, sizeof err) != WSS_OK)
        fail_msg("cannot make the device CA: %s", err);
    assert_int_equal(wss_write_file_atomic(c->device_ca_file, c->ca_pem, strlen(c->ca_pem), 0600), WSS_OK);

    const char *lwa = e2e_jstr(s->client.credentials, "lwa_token_url");
    const char *gateway = e2e_jstr(s->client.credentials, "event_gateway_url");
    assert_non_null(lwa);
    assert_non_null(gateway);
    c->config =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "lwa_client_id", s->client_id, "lwa_client_secret_env",
                  E2E_CLOUD_SECRET_ENV, "lwa_token_url", lwa, "gateway_url", gateway, "outbound_ca_file", s->ca_file,
                  "device_ca_file", c->device_ca_file, "manufacturer_name", "openwss e2e", "retry_delay_ms", 100);
    assert_non_null(c->config);
}

void e2e_cloud_print_log(const e2e_cloud *c)
{
    char *text = NULL;
    size_t len = 0;
    if (wss_read_file(c->log_path, 64u << 20, &text, &len) != WSS_OK) {
        print_error("(no cloud log at %s)\n", c->log_path);
        return;
    }
    const char *from = len > 6000 ? text + len - 6000 : text;
    print_error("---- cloud log (%s), last %zu bytes ----\n%s\n---- end of log ----\n", c->log_path, strlen(from),
                from);
    free(text);
}

int e2e_cloud_log_contains(const e2e_cloud *c, const char *text)
{
    char *log = NULL;
    if (wss_read_file(c->log_path, 64u << 20, &log, NULL) != WSS_OK)
        return 0;
    int found = strstr(log, text) != NULL;
    free(log);
    return found;
}

/* The environment of the cloud: ours, plus the LWA client secret. Freed by the caller (the array only). */
static char **cloud_environment(const char *secret_assignment)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    assert_non_null(env);
    size_t o = 0, prefix = strlen(E2E_CLOUD_SECRET_ENV "=");
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], E2E_CLOUD_SECRET_ENV "=", prefix) != 0)
            env[o++] = environ[i];
    env[o++] = (char *)secret_assignment;
    env[o] = NULL;
    return env;
}

static const char *wss_bin(void)
{
    const char *bin = getenv("WSS_BIN");
    if (!bin || !*bin)
        fail_msg("WSS_BIN (the path of the wss binary) is not set");
    return bin;
}

void e2e_cloud_start(e2e_cloud *c)
{
    assert_int_equal(c->pid, 0);
    char *text = json_dumps(c->config, JSON_INDENT(2));
    assert_non_null(text);
    assert_int_equal(wss_write_file_atomic(c->config_path, text, strlen(text), 0600), WSS_OK);
    free(text);

    const char *bin = wss_bin();
    const char *argv[] = {bin,        "cloud",       "--config",    c->config_path, "--state", c->dir,
                          "--listen", "127.0.0.1:0", "--log-level", "info",         NULL};
    char secret[600];
    int n = snprintf(secret, sizeof secret, "%s=%s", E2E_CLOUD_SECRET_ENV, c->sim->client_secret);
    assert_true(n > 0 && (size_t)n < sizeof secret);
    char **env = cloud_environment(secret);

    int logfd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(logfd >= 0);
    char banner[64];
    n = snprintf(banner, sizeof banner, "==== cloud start #%d ====\n", c->starts + 1);
    assert_int_equal(write(logfd, banner, (size_t)n), n);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        execve(bin, (char *const *)argv, env);
        _exit(127);
    }
    close(logfd);
    free(env);
    memset(secret, 0, sizeof secret);
    c->starts++;
    c->pid = pid;

    static const char marker[] = "wss cloud: listening on ";
    long long deadline = e2e_mono_ms() + START_DEADLINE_MS;
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            c->pid = 0;
            e2e_cloud_print_log(c);
            fail_msg("the cloud exited during start-up (status 0x%x)", status);
        }
        char *log = NULL;
        if (wss_read_file(c->log_path, 64u << 20, &log, NULL) == WSS_OK) {
            const char *from = strstr(log, banner), *line = from ? strstr(from, marker) : NULL;
            const char *end = line ? strchr(line, '\n') : NULL;
            if (end) {
                line += strlen(marker);
                snprintf(c->base_url, sizeof c->base_url, "%.*s", (int)(end - line), line);
                free(log);
                break;
            }
        }
        free(log);
        if (e2e_mono_ms() > deadline) {
            e2e_cloud_print_log(c);
            fail_msg("the cloud printed no \"%s\" line within %d ms", marker, START_DEADLINE_MS);
        }
        e2e_sleep_ms(10);
    }
    assert_true(strncmp(c->base_url, "https://127.0.0.1:", 18) == 0);
    assert_int_equal(access(c->ca_file, R_OK), 0);
}

int e2e_cloud_stop_status(e2e_cloud *c, long timeout_ms)
{
    if (c->pid <= 0)
        return 0;
    pid_t pid = c->pid;
    c->pid = 0;
    return terminate(pid, timeout_ms);
}

void e2e_cloud_stop(e2e_cloud *c)
{
    int status = e2e_cloud_stop_status(c, STOP_DEADLINE_MS);
    if (status != 0) {
        e2e_cloud_print_log(c);
        fail_msg("the cloud did not exit cleanly on SIGTERM (status %d)", status);
    }
}

void e2e_cloud_kill(e2e_cloud *c)
{
    kill_and_reap(c->pid);
    c->pid = 0;
}

int e2e_cloud_cleanup(e2e_cloud *c)
{
    int rc = 0;
    if (c->pid > 0) {
        int status = e2e_cloud_stop_status(c, STOP_DEADLINE_MS);
        if (status != 0) {
            e2e_cloud_print_log(c);
            print_error("the cloud did not exit cleanly on SIGTERM (status %d)\n", status);
            rc = -1;
        }
    }
    json_decref(c->config);
    c->config = NULL;
    wss_key_free(c->ca_key);
    c->ca_key = NULL;
    free(c->ca_pem);
    c->ca_pem = NULL;
    return rc;
}

void e2e_cloud_point_skill(e2e_cloud *c)
{
    char path[400], endpoint[400];
    snprintf(path, sizeof path, "/skills/%s", c->sim->skill_id);
    snprintf(endpoint, sizeof endpoint, "%s/alexa/skill", c->base_url);
    json_t *r = e2e_control(c->sim, "PATCH", path,
                            json_pack("{s:s, s:s}", "endpoint", endpoint, "endpoint_ca_file", c->ca_file), 200);
    json_decref(r);
}

/* Runs the verb with args (NULL-terminated) and --state; stdout into *out. */
static int run_wss(const char *const *argv, const char *out_path, const char *err_path, char **out, char **err);

static int cloud_cli_v(const e2e_cloud *c, char **out, const char *first, va_list ap)
{
    const char *argv[32];
    int a = 0;
    argv[a++] = wss_bin();
    argv[a++] = "cloud";
    for (const char *arg = first; arg; arg = va_arg(ap, const char *)) {
        assert_true(a < 28);
        argv[a++] = arg;
    }
    argv[a++] = "--state";
    argv[a++] = c->dir;
    argv[a] = NULL;
    char out_path[1300];
    join(out_path, sizeof out_path, c->sim->root, "cloud-cli.out");
    int status = run_wss(argv, out_path, c->cli_err_path, out, NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int e2e_cloud_cli(const e2e_cloud *c, char **out, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = cloud_cli_v(c, out, arg, ap);
    va_end(ap);
    return rc;
}

static void print_cli_stderr(const e2e_cloud *c)
{
    char *text = NULL;
    if (wss_read_file(c->cli_err_path, 1u << 20, &text, NULL) == WSS_OK)
        print_error("stderr: %s\n", text);
    free(text);
}

json_t *e2e_cloud_cli_json(const e2e_cloud *c, const char *arg, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, arg);
    int rc = cloud_cli_v(c, &out, arg, ap);
    va_end(ap);
    json_t *doc = json_loads(out, 0, NULL);
    if (rc != 0 || !doc) {
        print_cli_stderr(c);
        print_error("stdout: %s\n", out);
        json_decref(doc);
        free(out);
        fail_msg("wss cloud %s ...: exit %d%s", arg, rc, rc == 0 ? ", stdout not JSON" : "");
    }
    free(out);
    return doc;
}

char *e2e_cloud_user_token(const e2e_cloud *c, const char *user_id)
{
    json_t *u = e2e_cloud_cli_json(c, "user", "add", user_id, NULL);
    e2e_assert_jstr(u, "user_id", user_id);
    json_decref(u);
    json_t *t = e2e_cloud_cli_json(c, "user", "token", user_id, NULL);
    e2e_assert_jstr(t, "user_id", user_id);
    const char *token = e2e_jstr(t, "access_token");
    assert_non_null(token);
    assert_true(*token);
    char *copy = strdup(token);
    json_decref(t);
    return copy;
}

json_t *e2e_cloud_outbox(const e2e_cloud *c, const char *filter)
{
    json_t *list =
        filter ? e2e_cloud_cli_json(c, "outbox", "list", filter, NULL) : e2e_cloud_cli_json(c, "outbox", "list", NULL);
    assert_true(json_is_array(list));
    return list;
}

json_t *e2e_cloud_wait_outbox(const e2e_cloud *c, const char *filter, size_t n, long timeout_ms)
{
    long long deadline = e2e_mono_ms() + timeout_ms;
    for (;;) {
        json_t *list = e2e_cloud_outbox(c, filter);
        if (json_array_size(list) >= n)
            return list;
        if (e2e_mono_ms() > deadline) {
            print_json("last outbox list", list);
            json_decref(list);
            e2e_cloud_print_log(c);
            fail_msg("waited %ld ms for %zu events in `wss cloud outbox list %s`", timeout_ms, n, filter ? filter : "");
        }
        json_decref(list);
        e2e_sleep_ms(100);
    }
}

long e2e_cloud_request(const e2e_cloud *c, const char *method, const char *path, const char *cert_pem,
                       const char *key_pem, const char *body, wss_httpc_response *resp, char *err, size_t errlen)
{
    pthread_once(&httpc_once, httpc_init);
    char url[1200];
    snprintf(url, sizeof url, "%s%s", c->base_url, path);
    wss_httpc_request req = {
        .method = method,
        .url = url,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .content_type = body ? "application/json" : NULL,
        .ca_file = c->ca_file,
        .client_cert_pem = cert_pem,
        .client_key_pem = key_pem,
        .timeout_ms = CLOUD_HTTP_TIMEOUT_MS,
    };
    memset(resp, 0, sizeof *resp);
    if (wss_httpc_perform(&req, resp, err, errlen) != WSS_OK) {
        wss_httpc_response_free(resp);
        return -1;
    }
    return resp->status;
}

static void resp_from(const wss_httpc_response *r, e2e_resp *out)
{
    memset(out, 0, sizeof *out);
    out->status = r->status;
    out->body = r->body;
    out->len = r->body_len;
    out->json = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    memcpy(out->retry_after, r->retry_after, sizeof out->retry_after);
    memcpy(out->content_type, r->content_type, sizeof out->content_type);
}

void e2e_cloud_get(e2e_cloud *c, const char *path, e2e_resp *out)
{
    wss_httpc_response r;
    char err[512];
    if (e2e_cloud_request(c, "GET", path, NULL, NULL, NULL, &r, err, sizeof err) < 0) {
        e2e_cloud_print_log(c);
        fail_msg("GET %s%s: no answer: %s", c->base_url, path, err);
    }
    resp_from(&r, out);
}

double e2e_metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            char *stop;
            double v = strtod(line + n + 1, &stop);
            if (stop != line + n + 1)
                return v;
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

void e2e_cloud_device_setup(e2e_cloud *c, e2e_cloud_device *d, const char *serial, const char *customer_id)
{
    memset(d, 0, sizeof *d);
    snprintf(d->serial, sizeof d->serial, "%s", serial);
    assert_int_equal(wss_key_generate(&d->key), WSS_OK);
    char *pem = wss_key_public_pem(d->key);
    assert_non_null(pem);
    json_decref(e2e_control(c->sim, "POST", "/devices",
                            json_pack("{s:s, s:s, s:s}", "dsn", serial, "public_key", pem, "product_index", "E2E-PLUG"),
                            201));
    free(pem);
    if (customer_id)
        json_decref(e2e_control(c->sim, "POST", "/purchases",
                                json_pack("{s:s, s:s}", "dsn", serial, "customer_id", customer_id), 201));
    char err[256];
    if (wss_x509_issue_client(c->ca_key, c->ca_pem, d->key, "openwss e2e plug", serial, 30, &d->cert_pem, err,
                              sizeof err) != WSS_OK)
        fail_msg("cannot issue the certificate of %s: %s", serial, err);
    d->key_pem = wss_key_private_pem(d->key);
    assert_non_null(d->key_pem);
}

void e2e_cloud_device_free(e2e_cloud_device *d)
{
    wss_key_free(d->key);
    free(d->cert_pem);
    if (d->key_pem) {
        memset(d->key_pem, 0, strlen(d->key_pem));
        free(d->key_pem);
    }
    memset(d, 0, sizeof *d);
}

/* Characters of an Alexa device.id (docs/cloud.md: others become '-'). */
static int alexa_id_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr(" _-=#;:?@&", ch);
}

int e2e_session_issue(sim_client *sc, const e2e_cloud_device *d, e2e_session *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *body = json_pack("{s:s}", "dsn", d->serial), *answer = NULL;
    int status = sim_client_control(sc, "POST", "/session-tokens", body, &answer, err, errlen);
    json_decref(body);
    const char *token = e2e_jstr(answer, "session_token");
    if (status != 201 || !token || strlen(token) >= sizeof out->token) {
        if (status >= 0)
            snprintf(err, errlen, "POST /session-tokens: status %d", status);
        json_decref(answer);
        return -1;
    }
    snprintf(out->token, sizeof out->token, "%s", token);
    json_decref(answer);
    if (wss_ecdsa_sign_b64(d->key, out->token, strlen(out->token), &out->signature) != WSS_OK) {
        snprintf(err, errlen, "cannot sign the session token");
        return -1;
    }
    snprintf(out->device_id, sizeof out->device_id, "%s:%s", d->serial, out->token);
    for (char *p = out->device_id; *p; p++)
        if (!alexa_id_char((unsigned char)*p))
            *p = '-';
    return 0;
}

void e2e_session_new(e2e_sim *s, const e2e_cloud_device *d, e2e_session *out)
{
    pthread_once(&httpc_once, httpc_init);
    char err[512];
    if (e2e_session_issue(&s->client, d, out, err, sizeof err) != 0)
        fail_msg("no session token for %s: %s", d->serial, err);
}

void e2e_session_free(e2e_session *x)
{
    free(x->signature);
    memset(x, 0, sizeof *x);
}

char *e2e_report_body(const e2e_session *x)
{
    json_t *doc = json_pack("{s:{s:s, s:s, s:[s]}}", "device", "sessionToken", x->token, "signature", x->signature,
                            "namingCategories", "SWITCH");
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

void e2e_cloud_report(e2e_cloud *c, const e2e_cloud_device *d, const e2e_session *x, e2e_resp *out)
{
    char *body = e2e_report_body(x);
    assert_non_null(body);
    wss_httpc_response r;
    char err[512];
    long status = e2e_cloud_request(c, "POST", "/v1/devices/association-report", d ? d->cert_pem : NULL,
                                    d ? d->key_pem : NULL, body, &r, err, sizeof err);
    free(body);
    if (status < 0) {
        e2e_cloud_print_log(c);
        fail_msg("POST /v1/devices/association-report: no answer: %s", err);
    }
    resp_from(&r, out);
}

void e2e_cloud_report_ok(e2e_cloud *c, const e2e_cloud_device *d, const e2e_session *x)
{
    e2e_resp r;
    e2e_cloud_report(c, d, x, &r);
    e2e_assert_status(&r, 202);
    e2e_assert_jstr(r.json, "device_id", x->device_id);
    const char *mid = e2e_jstr(r.json, "message_id");
    assert_non_null(mid);
    assert_true(*mid);
    e2e_resp_free(&r);
}

/* ------------------------------------------------------------ a cloud world */

int e2e_cloud_world_setup(void **state)
{
    e2e_cloud_world *cw = calloc(1, sizeof *cw);
    assert_non_null(cw);
    void *w = NULL;
    e2e_world_setup(&w);
    cw->w = w;
    /* The cloud answers a directive after a code exchange or a committed
     * binding: give it Alexa's own 8 s, not the sim tests' short timeout. */
    json_object_set_new(cw->w->config, "skill_timeout_ms", json_integer(8000));
    *state = cw;
    return 0;
}

int e2e_cloud_world_teardown(void **state)
{
    e2e_cloud_world *cw = *state;
    if (!cw)
        return 0;
    int rc = 0;
    if (cw->cloud.sim)
        rc = e2e_cloud_cleanup(&cw->cloud);
    if (cw->maker_token) {
        memset(cw->maker_token, 0, strlen(cw->maker_token));
        free(cw->maker_token);
    }
    void *w = cw->w;
    if (e2e_world_teardown(&w) != 0)
        rc = -1;
    free(cw);
    *state = NULL;
    return rc;
}

void e2e_cloud_world_start(e2e_cloud_world *cw, const json_t *cloud_overrides)
{
    e2e_world_start(cw->w);
    e2e_cloud_init(&cw->cloud, &cw->w->sim);
    if (cloud_overrides)
        assert_int_equal(json_object_update(cw->cloud.config, (json_t *)cloud_overrides), 0);
    e2e_cloud_start(&cw->cloud);
    e2e_cloud_point_skill(&cw->cloud);
    cw->maker_token = e2e_cloud_user_token(&cw->cloud, E2E_MAKER_USER);
}

json_t *e2e_counters(e2e_sim *s) { return e2e_control(s, "GET", "/counters", NULL, 200); }

/* ------------------------------------------------------------ the Device Setup Service */

void e2e_dss_ca_init(e2e_sim *s, e2e_dss_ca *ca, const char *name)
{
    memset(ca, 0, sizeof *ca);
    char err[256];
    if (wss_x509_make_ca(name, 30, &ca->key, &ca->cert_pem, err, sizeof err) != WSS_OK)
        fail_msg("cannot make the device CA %s: %s", name, err);
    char file[200];
    snprintf(file, sizeof file, "%s.pem", name);
    join(ca->path, sizeof ca->path, s->root, file);
    assert_int_equal(wss_write_file_atomic(ca->path, ca->cert_pem, strlen(ca->cert_pem), 0644), WSS_OK);
}

void e2e_dss_ca_free(e2e_dss_ca *ca)
{
    wss_key_free(ca->key);
    free(ca->cert_pem);
    memset(ca, 0, sizeof *ca);
}

void e2e_config_dss_ca(json_t *config, const e2e_dss_ca *ca)
{
    json_object_set_new(config, "dss", json_pack("{s:[s]}", "device_ca_files", ca->path));
}

void e2e_dss_device_make(e2e_dss_device *d, const e2e_dss_ca *ca, const char *dsn, const char *product_index)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dsn, sizeof d->dsn, "%s", dsn);
    snprintf(d->product_index, sizeof d->product_index, "%s", product_index);
    assert_int_equal(wss_key_generate(&d->key), WSS_OK);
    char err[256];
    if (wss_x509_issue_client(ca->key, ca->cert_pem, d->key, "openwss e2e device", dsn, 30, &d->cert_pem, err,
                              sizeof err) != WSS_OK)
        fail_msg("cannot issue the certificate of %s: %s", dsn, err);
    d->key_pem = wss_key_private_pem(d->key);
    d->public_b64 = wss_key_public_b64(d->key);
    assert_non_null(d->key_pem);
    assert_non_null(d->public_b64);
}

void e2e_dss_device_free(e2e_dss_device *d)
{
    wss_key_free(d->key);
    free(d->cert_pem);
    free(d->key_pem);
    free(d->public_b64);
    memset(d, 0, sizeof *d);
}

char *e2e_dss_control_line(const e2e_dss_device *d)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "dsn", d->dsn, "product_index", d->product_index, "public_key", d->public_b64);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(text);
    char *line = malloc(strlen(text) + 2);
    assert_non_null(line);
    sprintf(line, "%s\n", text);
    free(text);
    return line;
}

json_t *e2e_dss_import_text(e2e_sim *s, const char *text, long expect_status)
{
    e2e_resp r;
    e2e_http(s, "POST", "/control/v1/devices/import", s->control_token, "application/x-ndjson", text, strlen(text), &r);
    if (r.status != expect_status) {
        fprintf(stderr, "devices/import: %ld %.*s\n", r.status, (int)r.len, r.body ? r.body : "");
        fail_msg("devices/import: status %ld, expected %ld", r.status, expect_status);
    }
    json_t *answer = json_incref(r.json);
    e2e_resp_free(&r);
    return answer;
}

void e2e_dss_import(e2e_sim *s, const e2e_dss_device *d)
{
    char *line = e2e_dss_control_line(d);
    json_t *answer = e2e_dss_import_text(s, line, 200);
    assert_int_equal(e2e_jint(answer, "imported", 0), 1);
    json_decref(answer);
    free(line);
}

static size_t dss_on_header(char *buf, size_t size, size_t n, void *ctx)
{
    e2e_dss_resp *out = ctx;
    size_t len = size * n;
    static const char name[] = "x-amzn-dss-signature:";
    if (len > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
        size_t start = sizeof name - 1;
        while (start < len && buf[start] == ' ')
            start++;
        size_t end = len;
        while (end > start && (buf[end - 1] == '\r' || buf[end - 1] == '\n' || buf[end - 1] == ' '))
            end--;
        snprintf(out->signature, sizeof out->signature, "%.*s", (int)(end - start), buf + start);
        out->nsignatures++;
    }
    return len;
}

static size_t dss_on_body(char *buf, size_t size, size_t n, void *ctx)
{
    e2e_dss_resp *out = ctx;
    size_t len = size * n;
    char *grown = realloc(out->body, out->len + len + 1);
    if (!grown)
        return 0;
    out->body = grown;
    memcpy(out->body + out->len, buf, len);
    out->len += len;
    out->body[out->len] = 0;
    return len;
}

void e2e_dss_post(e2e_sim *s, const e2e_dss_opts *o, const char *op, const char *body, size_t len, e2e_dss_resp *out)
{
    pthread_once(&httpc_once, httpc_init);
    memset(out, 0, sizeof *out);
    const char *dss_url = e2e_jstr(s->client.credentials, "dss_url");
    const char *colon = dss_url ? strrchr(dss_url, ':') : NULL;
    assert_non_null(colon);
    int port = atoi(colon + 1);
    char url[512], resolve[300], provisioner[300];
    snprintf(url, sizeof url, "https://%s:%d/api/v1/%s", E2E_DSS_HOST, port, op);
    snprintf(resolve, sizeof resolve, "%s:%d:127.0.0.1", E2E_DSS_HOST, port);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *hosts = curl_slist_append(NULL, resolve);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (o && o->provisioner) {
        snprintf(provisioner, sizeof provisioner, "X-Openwss-Provisioner: %s", o->provisioner);
        headers = curl_slist_append(headers, provisioner);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_RESOLVE, hosts);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CAINFO, e2e_jstr(s->client.credentials, "dss_ca_file"));
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, dss_on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, dss_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    struct curl_blob cert = {0}, key = {0};
    if (o && o->cert_pem && o->key_pem) {
        cert = (struct curl_blob){.data = (void *)o->cert_pem, .len = strlen(o->cert_pem), .flags = CURL_BLOB_COPY};
        key = (struct curl_blob){.data = (void *)o->key_pem, .len = strlen(o->key_pem), .flags = CURL_BLOB_COPY};
        curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    else
        snprintf(out->err, sizeof out->err, "%s", curl_easy_strerror(rc));
    if (out->status && out->len)
        out->json = json_loadb(out->body, out->len, 0, NULL);
    curl_slist_free_all(hosts);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}

void e2e_dss_resp_free(e2e_dss_resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

wss_err e2e_dss_verify(e2e_sim *s, const e2e_dss_resp *r)
{
    if (!*r->signature || r->nsignatures != 1)
        return WSS_ERR_INVALID;
    wss_crypto_key *key = NULL;
    char why[256];
    const char *pub = e2e_jstr(s->client.credentials, "dss_public_key");
    if (!pub || wss_key_parse_public(pub, &key, why, sizeof why) != WSS_OK)
        fail_msg("credentials.json has no usable dss_public_key");
    wss_err rc = wss_ecdsa_verify_b64(key, r->body ? r->body : "", r->len, r->signature);
    wss_key_free(key);
    return rc;
}

void e2e_dss_nonce(char out[32])
{
    uint8_t raw[24];
    assert_int_equal(wss_random_bytes(raw, sizeof raw), WSS_OK);
    char *b64 = wss_base64_encode(raw, sizeof raw);
    assert_non_null(b64);
    snprintf(out, 32, "%.31s", b64);
    free(b64);
}

/* ------------------------------------------------------------ running the wss command */

/* Runs argv (argv[0] the binary) with no standard input, its output and
 * error into the two files, which come back malloc'd when out/err are not
 * NULL. Returns the raw wait status. */
static int run_wss(const char *const *argv, const char *out_path, const char *err_path, char **out, char **err)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int in = open("/dev/null", O_RDONLY);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (out)
        assert_int_equal(wss_read_file(out_path, 1 << 24, out, NULL), WSS_OK);
    if (err)
        assert_int_equal(wss_read_file(err_path, 1 << 24, err, NULL), WSS_OK);
    return status;
}

int e2e_run(const char *dir, char **out, char **err, const char *arg, ...)
{
    const char *argv[64] = {wss_bin()};
    int n = 1;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a; a = va_arg(ap, const char *)) {
        assert_true(n < 63);
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    char out_path[4200], err_path[4200];
    snprintf(out_path, sizeof out_path, "%s/run.stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/run.stderr", dir);
    int status = run_wss(argv, out_path, err_path, out, err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
