/* test_sim_state.c - what the emulator leaves on disk and in its log:
 * private files for secrets (docs/sim.md: credentials.json mode 0600, keys
 * 0600), a log free of tokens, secrets and codes, and a control API closed
 * to anyone without the control token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/file.h"
#include "harness.h"

static void assert_mode(const e2e_sim *s, const char *name, unsigned mode)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s is missing", name);
    if ((st.st_mode & 07777) != mode)
        fail_msg("%s has mode %04o, expected %04o", name, (unsigned)(st.st_mode & 07777), mode);
}

static void state_secret_files_are_private(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    assert_mode(&w->sim, "credentials.json", 0600);
    assert_mode(&w->sim, "ca-key.pem", 0600);
    assert_mode(&w->sim, "server-key.pem", 0600);
    assert_mode(&w->sim, "ca.pem", 0644);
    e2e_sim_stop(&w->sim);
    e2e_sim_start(&w->sim);
    assert_mode(&w->sim, "credentials.json", 0600);
}

/* Fails when the log holds secret, naming it by what. */
static void assert_not_logged(const char *log, const char *secret, const char *what)
{
    if (secret && *secret && strstr(log, secret))
        fail_msg("the emulator's log contains the %s", what);
}

static void log_never_contains_secrets(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *client = e2e_client_token(&w->sim);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-never-logged-7f3a");
    json_t *grant = e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000);
    char *code = strdup(e2e_jstr(grant, "directive.payload.grant.code"));
    json_decref(grant);
    char *access = NULL, *refresh = NULL;
    e2e_exchange_code(&w->sim, code, &access, &refresh);

    /* A full scenario, with a few refusals on the way. */
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "LOG-CHECK", w->sim.customer_id);
    json_t *ev = e2e_device_sdae(&d, client);
    e2e_resp r;
    e2e_post_event(&w->sim, client, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    json_decref(e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000));
    ev = e2e_discovery_report(access, d.device_id, "First Switch");
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    ev = e2e_device_sdae(&d, access);
    e2e_post_event(&w->sim, client, ev, &r);
    e2e_assert_exception(&r, 400, NULL);
    e2e_resp_free(&r);
    json_decref(ev);
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "authorization_code", "code", code, "client_id",
                           w->sim.client_id, "client_secret", w->sim.client_secret),
                 &r);
    e2e_assert_status(&r, 400);
    e2e_resp_free(&r);
    e2e_lwa_json(&w->sim,
                 json_pack("{s:s, s:s, s:s, s:s}", "grant_type", "refresh_token", "refresh_token", refresh, "client_id",
                           w->sim.client_id, "client_secret", w->sim.client_secret),
                 &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    e2e_sim_stop(&w->sim);

    char *log = NULL;
    assert_int_equal(wss_read_file(w->sim.log_path, 64u << 20, &log, NULL), WSS_OK);
    assert_non_null(strstr(log, "sdae.accepted"));
    assert_not_logged(log, w->sim.client_secret, "client secret");
    assert_not_logged(log, w->sim.control_token, "control token");
    assert_not_logged(log, client, "client_credentials access token");
    assert_not_logged(log, access, "customer access token");
    assert_not_logged(log, refresh, "refresh token");
    assert_not_logged(log, code, "authorization code");
    assert_not_logged(log, "maker-token-never-logged-7f3a", "maker's access token");
    assert_not_logged(log, d.signature, "device signature");
    free(log);
    free(client);
    free(access);
    free(refresh);
    free(code);
    e2e_device_free(&d);
}

static void control_api_requires_control_token(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    static const char *const wrong[] = {NULL, "wss-control.not-the-token", ""};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        e2e_resp r;
        e2e_http(&w->sim, "GET", "/control/v1/customers", wrong[i], NULL, NULL, 0, &r);
        e2e_assert_status(&r, 401);
        assert_non_null(e2e_jstr(r.json, "error"));
        e2e_resp_free(&r);
    }
    /* Nor does an LWA token open it. */
    char *token = e2e_client_token(&w->sim);
    e2e_resp r;
    const char *advance = "{\"advance_s\": 86400}";
    e2e_http(&w->sim, "POST", "/control/v1/clock", token, "application/json", advance, strlen(advance), &r);
    e2e_assert_status(&r, 401);
    e2e_resp_free(&r);
    json_t *clock = e2e_control(&w->sim, "GET", "/clock", NULL, 200);
    assert_int_equal(e2e_jint(clock, "offset_ms", -1), 0);
    json_decref(clock);
    free(token);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_world_setup, e2e_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(state_secret_files_are_private),
        T(log_never_contains_secrets),
        T(control_api_requires_control_token),
    };
    return cmocka_run_group_tests_name("e2e: state directory, log and control access", tests, NULL, NULL);
}
