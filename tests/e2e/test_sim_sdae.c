/* test_sim_sdae.c - what the event gateway makes of AddOrUpdateDeviceAssociationReport
 * contents: the seed's sample, tokens, signatures, device ids, duplicates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The seed's "Sample AddOrUpdateDeviceAssociationReport", byte for byte as
 * published: note that it lacks the brace closing the top-level object. */
static const char seed_sample[] = "{\n"
                                  "  \"event\": {\n"
                                  "    \"header\": {\n"
                                  "      \"namespace\": \"Alexa.SimpleSetup\",\n"
                                  "      \"name\": \"AddOrUpdateDeviceAssociationReport\",\n"
                                  "      \"payloadVersion\": \"3\",\n"
                                  "      \"messageId\": \"abc-123-def-456\"\n"
                                  "    },\n"
                                  "    \"payload\": {\n"
                                  "      \"scope\": {\n"
                                  "        \"type\": \"BearerToken\",\n"
                                  "        \"token\": \"access-token-from-Amazon\"\n"
                                  "      },\n"
                                  "      \"device\": {\n"
                                  "        \"sessionToken\": \"WSS-session-token-obtained-during-provisioning\",\n"
                                  "        \"signature\": \"sessionToken-signature\",\n"
                                  "        \"id\": \"device-identifier\",\n"
                                  "        \"namingCategories\": [\"SWITCH\"]\n"
                                  "      }\n"
                                  "    }\n"
                                  "}\n";

/* text with every occurrence of from replaced by to; malloc'd. */
static char *replace_all(const char *text, const char *from, const char *to)
{
    size_t nfrom = strlen(from), nto = strlen(to), count = 0;
    for (const char *p = strstr(text, from); p; p = strstr(p + nfrom, from))
        count++;
    char *out = malloc(strlen(text) + count * (nto + 1) + 1);
    assert_non_null(out);
    char *o = out;
    const char *p = text;
    for (const char *hit = strstr(p, from); hit; hit = strstr(p, from)) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, nto);
        o += nto;
        p = hit + nfrom;
    }
    strcpy(o, p);
    return out;
}

/* The seed's sample with the real token, session token and signature in place. */
static char *seed_sample_with(const char *token, const e2e_device *d, int add_closing_brace)
{
    char *a = replace_all(seed_sample, "access-token-from-Amazon", token);
    char *b = replace_all(a, "WSS-session-token-obtained-during-provisioning", d->session_token);
    char *c = replace_all(b, "sessionToken-signature", d->signature);
    free(a);
    free(b);
    if (add_closing_brace) {
        char *fixed = malloc(strlen(c) + 3);
        assert_non_null(fixed);
        sprintf(fixed, "%s}\n", c);
        free(c);
        c = fixed;
    }
    return c;
}

static void post_text(e2e_world *w, const char *token, const char *text, e2e_resp *r)
{
    e2e_http(&w->sim, "POST", "/v3/events", token, "application/json", text, strlen(text), r);
}

static void post_expect(e2e_world *w, const char *token, const json_t *ev, long status, const char *code)
{
    e2e_resp r;
    e2e_post_event(&w->sim, token, ev, &r);
    if (code)
        e2e_assert_exception(&r, status, code);
    else
        e2e_assert_status(&r, status);
    e2e_resp_free(&r);
}

static long long count_associations(e2e_world *w)
{
    json_t *all = e2e_associations(&w->sim);
    long long n = (long long)json_array_size(json_object_get(all, "associations"));
    json_decref(all);
    return n;
}

static void sdae_seed_sample_accepted_202(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "SEED-SAMPLE-1", w->sim.customer_id);
    char *text = seed_sample_with(token, &d, 1);
    e2e_resp r;
    post_text(w, token, text, &r);
    e2e_assert_status(&r, 202);
    assert_int_equal(r.len, 0);
    e2e_resp_free(&r);
    /* It became an association of the sample's device id, named for its category. */
    json_t *a = e2e_association(&w->sim, "device-identifier");
    assert_non_null(a);
    e2e_assert_jstr(a, "dsn", "SEED-SAMPLE-1");
    e2e_assert_jstr(a, "customer_id", w->sim.customer_id);
    e2e_assert_jstr(a, "skill_id", w->sim.skill_id);
    e2e_assert_jstr(a, "state", "waiting_for_skill");
    e2e_assert_jstr(a, "friendly_name", "First Switch");
    e2e_assert_jstr(a, "naming_categories.0", "SWITCH");
    assert_int_equal(e2e_jint(a, "expires_ms", 0) - e2e_jint(a, "created_ms", 0), 30LL * 24 * 3600 * 1000);
    json_decref(a);
    free(text);
    free(token);
    e2e_device_free(&d);
}

static void sdae_seed_sample_verbatim_is_not_json_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "SEED-SAMPLE-2", w->sim.customer_id);
    char *text = seed_sample_with(token, &d, 0);
    e2e_resp r;
    post_text(w, token, text, &r);
    e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&r);
    assert_int_equal(count_associations(w), 0);
    free(text);
    free(token);
    e2e_device_free(&d);
}

static void sdae_header_payload_token_mismatch_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *a = e2e_client_token(&w->sim);
    char *b = e2e_client_token(&w->sim);
    assert_string_not_equal(a, b);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "TOKEN-MISMATCH", w->sim.customer_id);
    /* Two valid tokens of the same client, one in each place. */
    json_t *ev = e2e_device_sdae(&d, b);
    post_expect(w, a, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    /* A made-up token in the payload. */
    ev = e2e_device_sdae(&d, "Atza|made-up");
    post_expect(w, a, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    assert_int_equal(count_associations(w), 0);
    ev = e2e_device_sdae(&d, b);
    post_expect(w, b, ev, 202, NULL);
    json_decref(ev);
    free(a);
    free(b);
    e2e_device_free(&d);
}

static void sdae_signature_by_another_key_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "BAD-SIGNATURE", w->sim.customer_id);
    char id[37];

    /* Signed by another P-256 key. */
    wss_crypto_key *other = NULL;
    char *sig = NULL;
    assert_int_equal(wss_key_generate(&other), WSS_OK);
    assert_int_equal(wss_ecdsa_sign_b64(other, d.session_token, strlen(d.session_token), &sig), WSS_OK);
    e2e_message_id(id);
    json_t *ev = e2e_sdae(token, id, d.session_token, sig, d.device_id, "SWITCH");
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    free(sig);
    wss_key_free(other);

    /* The right key over other bytes. */
    assert_int_equal(wss_ecdsa_sign_b64(d.key, "another-session-token", 21, &sig), WSS_OK);
    e2e_message_id(id);
    ev = e2e_sdae(token, id, d.session_token, sig, d.device_id, "SWITCH");
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    free(sig);

    /* Not a signature at all. */
    e2e_message_id(id);
    ev = e2e_sdae(token, id, d.session_token, "c2Vzc2lvblRva2VuLXNpZ25hdHVyZQ==", d.device_id, "SWITCH");
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    e2e_message_id(id);
    ev = e2e_sdae(token, id, d.session_token, "sessionToken-signature", d.device_id, "SWITCH");
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);

    assert_int_equal(count_associations(w), 0);
    ev = e2e_device_sdae(&d, token);
    post_expect(w, token, ev, 202, NULL);
    json_decref(ev);
    free(token);
    e2e_device_free(&d);
}

static void sdae_forbidden_device_id_characters_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "DEVICE-ID-CHARS", w->sim.customer_id);
    static const char *const bad[] = {
        "dev/1",  "dev.1",  "dev!1",      "dev,1", "dev+1",  "dev%1",  "dev*1",  "dev<1>", "dev\"1", "dev'1", "dev\\1",
        "dev\t1", "dev\n1", "d\xc3\xa9v", "dev|1", "dev(1)", "dev[1]", "dev{1}", "dev$1",  "dev~1",  "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char id[37];
        e2e_message_id(id);
        json_t *ev = e2e_sdae(token, id, d.session_token, d.signature, bad[i], "SWITCH");
        e2e_resp r;
        e2e_post_event(&w->sim, token, ev, &r);
        if (r.status != 400)
            print_error("device.id \"%s\" (#%zu) got %ld\n", bad[i], i, r.status);
        e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
        e2e_resp_free(&r);
        json_decref(ev);
    }
    /* 257 characters is too long. */
    char longid[258];
    memset(longid, 'a', 257);
    longid[257] = 0;
    char id[37];
    e2e_message_id(id);
    json_t *ev = e2e_sdae(token, id, d.session_token, d.signature, longid, "SWITCH");
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    assert_int_equal(count_associations(w), 0);

    /* Every character the seed allows: letters, digits, space and _ - = # ; : ? @ & */
    const char *good = "Dev 09_-=#;:?@&xyz";
    e2e_message_id(id);
    ev = e2e_sdae(token, id, d.session_token, d.signature, good, "SWITCH");
    post_expect(w, token, ev, 202, NULL);
    json_decref(ev);
    json_t *a = e2e_association(&w->sim, good);
    assert_non_null(a);
    json_decref(a);
    free(token);
    e2e_device_free(&d);
}

static void sdae_two_devices_in_one_event_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d1, d2;
    e2e_device_setup(&w->sim, &d1, "TWO-DEVICES-1", w->sim.customer_id);
    e2e_device_setup(&w->sim, &d2, "TWO-DEVICES-2", w->sim.customer_id);
    json_t *one = e2e_device_sdae(&d1, token);
    json_t *other = e2e_device_sdae(&d2, token);
    json_t *dev1 = json_deep_copy(e2e_jget(one, "event.payload.device"));
    json_t *dev2 = json_deep_copy(e2e_jget(other, "event.payload.device"));

    /* payload.device as an array of two. */
    json_t *ev = json_deep_copy(one);
    json_object_set_new((json_t *)e2e_jget(ev, "event.payload"), "device", json_pack("[O, O]", dev1, dev2));
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    /* An array of one is still not the object the seed shows. */
    ev = json_deep_copy(one);
    json_object_set_new((json_t *)e2e_jget(ev, "event.payload"), "device", json_pack("[O]", dev1));
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    /* A "devices" list next to the device. */
    ev = json_deep_copy(one);
    json_object_set_new((json_t *)e2e_jget(ev, "event.payload"), "devices", json_pack("[O, O]", dev1, dev2));
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    assert_int_equal(count_associations(w), 0);

    /* One at a time they are both accepted. */
    post_expect(w, token, one, 202, NULL);
    post_expect(w, token, other, 202, NULL);
    assert_int_equal(count_associations(w), 2);
    json_decref(dev1);
    json_decref(dev2);
    json_decref(one);
    json_decref(other);
    free(token);
    e2e_device_free(&d1);
    e2e_device_free(&d2);
}

static int count_events(e2e_world *w, const char *kind)
{
    char path[128];
    snprintf(path, sizeof path, "/events?kind=%s", kind);
    json_t *ev = e2e_control(&w->sim, "GET", path, NULL, 200);
    int n = (int)json_array_size(json_object_get(ev, "events"));
    json_decref(ev);
    return n;
}

static void sdae_duplicate_message_id_accepted_once(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "DUPLICATE-1", w->sim.customer_id);
    json_t *ev = e2e_device_sdae(&d, token);
    post_expect(w, token, ev, 202, NULL);
    post_expect(w, token, ev, 202, NULL);

    json_t *counters = e2e_control(&w->sim, "GET", "/counters", NULL, 200);
    assert_int_equal(e2e_jint(counters, "gateway_messages_accepted", -1), 1);
    assert_int_equal(e2e_jint(counters, "gateway_duplicates", -1), 1);
    assert_int_equal(e2e_jint(counters, "associations.waiting_for_skill", -1), 1);
    json_decref(counters);
    assert_int_equal(count_associations(w), 1);
    assert_int_equal(count_events(w, "sdae.accepted"), 1);
    assert_int_equal(count_events(w, "gateway.duplicate"), 1);

    /* The same session token under a new messageId is refused: it was used. */
    char *again_token = e2e_client_token(&w->sim);
    json_t *again = e2e_device_sdae(&d, again_token);
    post_expect(w, again_token, again, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(again);
    free(again_token);
    assert_int_equal(count_associations(w), 1);

    /* The skill, once enabled, gets one CDAD for it. */
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-dup");
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    e2e_assert_jstr(cdad, "directive.payload.device.id", d.device_id);
    json_decref(cdad);
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, "AssociateCustomerDevice"), 1);
    json_decref(ev);
    free(token);
    e2e_device_free(&d);
}

static void sdae_unissued_session_token_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "UNISSUED", w->sim.customer_id);
    const char *made_up = "amzn1.ffs.wss-wifi-session-token.00000000-0000-4000-8000-000000000000";
    char *sig = NULL;
    assert_int_equal(wss_ecdsa_sign_b64(d.key, made_up, strlen(made_up), &sig), WSS_OK);
    char id[37];
    e2e_message_id(id);
    json_t *ev = e2e_sdae(token, id, made_up, sig, d.device_id, "SWITCH");
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    free(sig);
    assert_int_equal(count_associations(w), 0);
    free(token);
    e2e_device_free(&d);
}

static void sdae_device_id_reused_by_another_provisioning_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d1, d2;
    e2e_device_setup(&w->sim, &d1, "REUSED-ID-1", w->sim.customer_id);
    e2e_device_setup(&w->sim, &d2, "REUSED-ID-2", w->sim.customer_id);
    json_t *ev = e2e_device_sdae(&d1, token);
    post_expect(w, token, ev, 202, NULL);
    json_decref(ev);
    /* A second provisioning session reporting the first one's device.id. */
    char id[37];
    e2e_message_id(id);
    ev = e2e_sdae(token, id, d2.session_token, d2.signature, d1.device_id, "SWITCH");
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    assert_int_equal(count_associations(w), 1);
    free(token);
    e2e_device_free(&d1);
    e2e_device_free(&d2);
}

static void sdae_bad_header_or_categories_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "BAD-SHAPE", w->sim.customer_id);
    const char *paths[] = {"event.header",        "event.header",         "event.header",
                           "event.payload.scope", "event.payload.device", "event.payload.device"};
    const char *keys[] = {"payloadVersion", "messageId", "namespace", "type", "namingCategories", "namingCategories"};
    json_t *values[] = {json_string("2"),     json_string("not a valid id!"), json_string("Alexa.Discovery"),
                        json_string("Basic"), json_pack("[s]", "TOASTER"),    json_array()};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *ev = e2e_device_sdae(&d, token);
        json_object_set_new((json_t *)e2e_jget(ev, paths[i]), keys[i], values[i]);
        e2e_resp r;
        e2e_post_event(&w->sim, token, ev, &r);
        if (r.status != 400)
            print_error("case %zu (%s.%s) got %ld\n", i, paths[i], keys[i], r.status);
        e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
        e2e_resp_free(&r);
        json_decref(ev);
    }
    /* A missing device field. */
    json_t *ev = e2e_device_sdae(&d, token);
    json_object_del((json_t *)e2e_jget(ev, "event.payload.device"), "sessionToken");
    post_expect(w, token, ev, 400, "INVALID_REQUEST_EXCEPTION");
    json_decref(ev);
    assert_int_equal(count_associations(w), 0);
    free(token);
    e2e_device_free(&d);
}

static void sdae_unpurchased_device_is_unowned(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *token = e2e_client_token(&w->sim);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "NOT-PURCHASED", NULL);
    json_t *ev = e2e_device_sdae(&d, token);
    post_expect(w, token, ev, 202, NULL);
    json_decref(ev);
    json_t *a = e2e_association(&w->sim, d.device_id);
    assert_non_null(a);
    e2e_assert_jstr(a, "state", "unowned");
    assert_true(json_is_null(e2e_jget(a, "customer_id")));
    json_decref(a);
    free(token);
    e2e_device_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_world_setup, e2e_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(sdae_seed_sample_accepted_202),
        T(sdae_seed_sample_verbatim_is_not_json_400),
        T(sdae_header_payload_token_mismatch_400),
        T(sdae_signature_by_another_key_400),
        T(sdae_forbidden_device_id_characters_400),
        T(sdae_two_devices_in_one_event_400),
        T(sdae_duplicate_message_id_accepted_once),
        T(sdae_unissued_session_token_400),
        T(sdae_device_id_reused_by_another_provisioning_400),
        T(sdae_bad_header_or_categories_400),
        T(sdae_unpurchased_device_is_unowned),
    };
    return cmocka_run_group_tests_name("e2e: device association reports", tests, NULL, NULL);
}
