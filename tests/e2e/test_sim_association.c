/* test_sim_association.c - from an accepted SDAE to the CDAD at the skill and
 * the discovery report back: the FAQ's "before the skill is enabled", the
 * 2-to-N setup, the 30-day retention and proactive discovery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Sends the device's SDAE with a fresh client token; asserts 202. */
static void report(e2e_world *w, const e2e_device *d)
{
    char *token = e2e_client_token(&w->sim);
    json_t *ev = e2e_device_sdae(d, token);
    e2e_resp r;
    e2e_post_event(&w->sim, token, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    free(token);
}

/* Everything the seed says an AssociateCustomerDevice carries. */
static void assert_cdad(const json_t *cdad, const char *device_id, const char *maker_token, const char *name)
{
    e2e_assert_jstr(cdad, "directive.header.namespace", "Alexa.SimpleSetup");
    e2e_assert_jstr(cdad, "directive.header.name", "AssociateCustomerDevice");
    e2e_assert_jstr(cdad, "directive.header.payloadVersion", "3");
    const char *message_id = e2e_jstr(cdad, "directive.header.messageId");
    const char *correlation = e2e_jstr(cdad, "directive.header.correlationToken");
    assert_non_null(message_id);
    assert_true(*message_id);
    assert_non_null(correlation);
    assert_true(*correlation);
    e2e_assert_jstr(cdad, "directive.payload.scope.type", "BearerToken");
    e2e_assert_jstr(cdad, "directive.payload.scope.token", maker_token);
    e2e_assert_jstr(cdad, "directive.payload.device.id", device_id);
    const json_t *names = e2e_jget(cdad, "directive.payload.device.preferredFriendlyNames");
    assert_true(json_is_array(names));
    assert_int_equal(json_array_size(names), 1);
    e2e_assert_jstr(cdad, "directive.payload.device.preferredFriendlyNames.0.@type", "text");
    e2e_assert_jstr(cdad, "directive.payload.device.preferredFriendlyNames.0.value.text", name);
    e2e_assert_jstr(cdad, "directive.payload.device.preferredFriendlyNames.0.value.locale", "en-US");
}

static void association_sdae_before_skill_enabled_then_cdad(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "FIRST-DEVICE", w->sim.customer_id);
    report(w, &d);
    json_t *a = e2e_association(&w->sim, d.device_id);
    e2e_assert_jstr(a, "state", "waiting_for_skill");
    json_decref(a);

    /* Nothing goes to the skill while the customer has not enabled it. */
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, NULL), 0);

    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-first-device");
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    assert_cdad(cdad, d.device_id, "maker-token-first-device", "First Switch");
    json_decref(cdad);
    /* AcceptGrant came first. */
    json_t *first = e2e_skill_get(w->skill, NULL, 0);
    e2e_assert_jstr(first, "directive.header.name", "AcceptGrant");
    json_decref(first);

    a = e2e_wait_association(&w->sim, d.device_id, "associated", 5000);
    e2e_assert_jstr(a, "friendly_name", "First Switch");
    json_decref(a);
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, "AssociateCustomerDevice"), 1);
    assert_int_equal(e2e_skill_count(w->skill, "AcceptGrant"), 1);
    assert_int_equal(e2e_skill_count(w->skill, NULL), 2);
    json_t *req = e2e_skill_requests(&w->sim);
    assert_int_equal(e2e_jint(req, "requests", -1), 2);
    assert_int_equal(e2e_jint(req, "ok", -1), 2);
    json_decref(req);
    e2e_device_free(&d);
}

static void association_skill_enabled_first_gets_cdad_at_once(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-2-to-n");
    json_decref(e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000));

    e2e_device d1, d2;
    e2e_device_setup(&w->sim, &d1, "TWO-TO-N-1", w->sim.customer_id);
    e2e_device_setup(&w->sim, &d2, "TWO-TO-N-2", w->sim.customer_id);
    report(w, &d1);
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    assert_cdad(cdad, d1.device_id, "maker-token-2-to-n", "First Switch");
    json_decref(cdad);
    report(w, &d2);
    cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 1, 5000);
    assert_cdad(cdad, d2.device_id, "maker-token-2-to-n", "Second Switch");
    json_decref(cdad);
    json_decref(e2e_wait_association(&w->sim, d1.device_id, "associated", 5000));
    json_decref(e2e_wait_association(&w->sim, d2.device_id, "associated", 5000));
    e2e_device_free(&d1);
    e2e_device_free(&d2);
}

static void association_expires_after_30_days(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "EXPIRING", w->sim.customer_id);
    report(w, &d);
    e2e_advance_clock(&w->sim, 31.0 * 86400);
    json_t *a = e2e_wait_association(&w->sim, d.device_id, "expired", 3000);
    json_decref(a);

    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-too-late");
    json_decref(e2e_skill_wait(w->skill, "AcceptGrant", 0, 5000));
    e2e_sleep_ms(E2E_SETTLE_MS);
    assert_int_equal(e2e_skill_count(w->skill, "AssociateCustomerDevice"), 0);
    a = e2e_association(&w->sim, d.device_id);
    e2e_assert_jstr(a, "state", "expired");
    json_decref(a);
    json_t *counters = e2e_control(&w->sim, "GET", "/counters", NULL, 200);
    assert_int_equal(e2e_jint(counters, "associations.expired", -1), 1);
    json_decref(counters);
    e2e_device_free(&d);
}

static void association_still_delivered_on_day_29(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "DAY-29", w->sim.customer_id);
    report(w, &d);
    e2e_advance_clock(&w->sim, 29.0 * 86400);
    json_t *a = e2e_association(&w->sim, d.device_id);
    e2e_assert_jstr(a, "state", "waiting_for_skill");
    json_decref(a);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-day-29");
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    assert_cdad(cdad, d.device_id, "maker-token-day-29", "First Switch");
    json_decref(cdad);
    json_decref(e2e_wait_association(&w->sim, d.device_id, "associated", 5000));
    e2e_device_free(&d);
}

static void association_retention_from_config(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(w->config, "association_retention_s", json_integer(600));
    e2e_world_start(w);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "SHORT-RETENTION", w->sim.customer_id);
    report(w, &d);
    json_t *a = e2e_association(&w->sim, d.device_id);
    assert_int_equal(e2e_jint(a, "expires_ms", 0) - e2e_jint(a, "created_ms", 0), 600 * 1000);
    json_decref(a);
    e2e_advance_clock(&w->sim, 601);
    json_decref(e2e_wait_association(&w->sim, d.device_id, "expired", 3000));
    e2e_device_free(&d);
}

static int has_endpoint(const json_t *answer, void *ctx)
{
    const char *id = ctx;
    size_t i;
    json_t *dev;
    json_array_foreach(json_object_get(answer, "devices"), i, dev)
    {
        const char *eid = e2e_jstr(dev, "endpoint_id");
        if (eid && strcmp(eid, id) == 0)
            return 1;
    }
    return 0;
}

static void discovery_add_or_update_report_recorded(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *access = NULL, *refresh = NULL;
    e2e_link_customer(w, "maker-token-discovery", &access, &refresh);
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "DISCOVERED", w->sim.customer_id);
    report(w, &d);
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    const char *proposed = e2e_jstr(cdad, "directive.payload.device.preferredFriendlyNames.0.value.text");
    assert_non_null(proposed);
    assert_string_equal(proposed, "First Switch");
    char name[64];
    snprintf(name, sizeof name, "%s", proposed);
    json_decref(cdad);
    json_decref(e2e_wait_association(&w->sim, d.device_id, "associated", 5000));

    /* Proactive discovery with the customer's token, using the preferred name. */
    json_t *ev = e2e_discovery_report(access, d.device_id, name);
    e2e_resp r;
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);

    char path[400];
    snprintf(path, sizeof path, "/alexa-devices?customer_id=%s", w->sim.customer_id);
    json_t *devices = e2e_poll_control(&w->sim, path, has_endpoint, d.device_id, 3000, "the discovered endpoint");
    assert_int_equal(json_array_size(json_object_get(devices, "devices")), 1);
    e2e_assert_jstr(devices, "devices.0.endpoint_id", d.device_id);
    e2e_assert_jstr(devices, "devices.0.friendly_name", "First Switch");
    e2e_assert_jstr(devices, "devices.0.customer_id", w->sim.customer_id);
    e2e_assert_jstr(devices, "devices.0.skill_id", w->sim.skill_id);
    e2e_assert_jstr(devices, "devices.0.display_categories.0", "SWITCH");
    e2e_assert_jstr(devices, "devices.0.endpoint.manufacturerName", "openwss e2e");
    json_decref(devices);

    json_t *events = e2e_control(&w->sim, "GET", "/events?kind=discovery.recorded", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(events, "events")), 1);
    e2e_assert_jstr(events, "events.0.details.endpoint_id", d.device_id);
    assert_true(json_is_true(e2e_jget(events, "events.0.details.preferred_friendly_name_used")));
    json_decref(events);

    /* The name is now taken in the home: the next switch is the second. */
    e2e_device d2;
    e2e_device_setup(&w->sim, &d2, "DISCOVERED-2", w->sim.customer_id);
    report(w, &d2);
    cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 1, 5000);
    e2e_assert_jstr(cdad, "directive.payload.device.preferredFriendlyNames.0.value.text", "Second Switch");
    json_decref(cdad);
    e2e_device_free(&d2);

    /* The skill's own client_credentials token may not report discovery. */
    char *client = e2e_client_token(&w->sim);
    ev = e2e_discovery_report(client, "another-endpoint", "Another Switch");
    e2e_post_event(&w->sim, client, ev, &r);
    e2e_assert_exception(&r, 403, "INSUFFICIENT_PERMISSION_EXCEPTION");
    e2e_resp_free(&r);
    json_decref(ev);
    free(client);
    free(access);
    free(refresh);
    e2e_device_free(&d);
}

static void discovery_delete_report_removes_endpoint(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *access = NULL, *refresh = NULL;
    e2e_link_customer(w, "maker-token-delete", &access, &refresh);
    json_t *ev = e2e_discovery_report(access, "endpoint-to-delete", "Kitchen Switch");
    e2e_resp r;
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    json_t *devices = e2e_control(&w->sim, "GET", "/alexa-devices", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(devices, "devices")), 1);
    json_decref(devices);

    char id[37];
    e2e_message_id(id);
    ev = json_pack("{s:{s:{s:s, s:s, s:s, s:s}, s:{s:{s:s, s:s}, s:[{s:s}]}}}", "event", "header", "namespace",
                   "Alexa.Discovery", "name", "DeleteReport", "payloadVersion", "3", "messageId", id, "payload",
                   "scope", "type", "BearerToken", "token", access, "endpoints", "endpointId", "endpoint-to-delete");
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    devices = e2e_control(&w->sim, "GET", "/alexa-devices", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(devices, "devices")), 0);
    json_decref(devices);
    free(access);
    free(refresh);
}

/* docs/sim.md, the gateway's checks, step 8: "a discovery report for a
 * customer who disabled the skill: 403 SKILL_DISABLED_EXCEPTION". */
static void discovery_after_customer_disables_skill_403(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *access = NULL, *refresh = NULL;
    e2e_link_customer(w, "maker-token-disable", &access, &refresh);
    json_t *ev = e2e_discovery_report(access, "endpoint-before-disable", "Hall Switch");
    e2e_resp r;
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);

    char path[600];
    snprintf(path, sizeof path, "/customers/%s/skills/%s", w->sim.customer_id, w->sim.skill_id);
    json_t *off = e2e_control(&w->sim, "DELETE", path, NULL, 200);
    assert_true(json_is_false(json_object_get(off, "enabled")));
    json_decref(off);

    ev = e2e_discovery_report(access, "endpoint-after-disable", "Porch Switch");
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_exception(&r, 403, "SKILL_DISABLED_EXCEPTION");
    e2e_resp_free(&r);
    json_decref(ev);
    json_t *devices = e2e_control(&w->sim, "GET", "/alexa-devices", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(devices, "devices")), 1);
    json_decref(devices);
    free(access);
    free(refresh);
}

/* Two homes: the CDAD goes through the buyer's link, with the buyer's token,
 * and friendly names are counted per home. */
static void association_cdad_uses_the_buyers_link(void **state)
{
    e2e_world *w = *state;
    const char *other = "amzn1.account.E2ECUSTOMER0002";
    json_array_append_new(json_object_get(w->config, "customers"),
                          json_pack("{s:s, s:s}", "customer_id", other, "name", "Other Customer"));
    e2e_world_start(w);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-home-a");
    e2e_enable_skill(&w->sim, other, "maker-token-home-b");
    json_decref(e2e_skill_wait(w->skill, "AcceptGrant", 1, 5000));

    e2e_device a, b;
    e2e_device_setup(&w->sim, &a, "HOME-A-1", w->sim.customer_id);
    e2e_device_setup(&w->sim, &b, "HOME-B-1", other);
    report(w, &a);
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    assert_cdad(cdad, a.device_id, "maker-token-home-a", "First Switch");
    json_decref(cdad);
    report(w, &b);
    cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 1, 5000);
    assert_cdad(cdad, b.device_id, "maker-token-home-b", "First Switch");
    json_decref(cdad);
    json_t *assoc = e2e_wait_association(&w->sim, b.device_id, "associated", 5000);
    e2e_assert_jstr(assoc, "customer_id", other);
    json_decref(assoc);
    e2e_device_free(&a);
    e2e_device_free(&b);
}

static void association_locale_follows_marketplace(void **state)
{
    e2e_world *w = *state;
    json_object_set_new(e2e_config_skill(w->config), "marketplace", json_string("DE"));
    e2e_world_start(w);
    e2e_enable_skill(&w->sim, w->sim.customer_id, "maker-token-de");
    e2e_device d;
    e2e_device_setup(&w->sim, &d, "LOCALE-DE", w->sim.customer_id);
    report(w, &d);
    json_t *cdad = e2e_skill_wait(w->skill, "AssociateCustomerDevice", 0, 5000);
    e2e_assert_jstr(cdad, "directive.payload.device.preferredFriendlyNames.0.value.locale", "de-DE");
    json_decref(cdad);
    e2e_device_free(&d);
}

/* A report of n endpoints "<prefix>-<i>" from the one-endpoint template. */
static json_t *report_of(const char *token, const char *prefix, int first, int n)
{
    json_t *ev = e2e_discovery_report(token, "template", "Template");
    json_t *endpoints = (json_t *)e2e_jget(ev, "event.payload.endpoints");
    json_t *tpl = json_deep_copy(json_array_get(endpoints, 0));
    json_array_clear(endpoints);
    for (int i = first; i < first + n; i++) {
        char id[64], name[64];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        snprintf(name, sizeof name, "Switch %d", i + 1);
        json_t *ep = json_deep_copy(tpl);
        json_object_set_new(ep, "endpointId", json_string(id));
        json_object_set_new(ep, "friendlyName", json_string(name));
        json_array_append_new(endpoints, ep);
    }
    json_decref(tpl);
    return ev;
}

static void discovery_more_than_300_endpoints_per_customer_400(void **state)
{
    e2e_world *w = *state;
    e2e_world_start(w);
    char *access = NULL, *refresh = NULL;
    e2e_link_customer(w, "maker-token-300", &access, &refresh);
    e2e_resp r;
    json_t *ev = report_of(access, "ep", 0, 300);
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    /* Updating one already there is fine... */
    ev = report_of(access, "ep", 299, 1);
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    json_decref(ev);
    /* ...a 301st is not, and changes nothing. */
    ev = report_of(access, "ep", 300, 1);
    e2e_post_event(&w->sim, access, ev, &r);
    e2e_assert_exception(&r, 400, "INVALID_REQUEST_EXCEPTION");
    e2e_resp_free(&r);
    json_decref(ev);
    json_t *devices = e2e_control(&w->sim, "GET", "/alexa-devices", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(devices, "devices")), 300);
    json_decref(devices);
    free(access);
    free(refresh);
}

#define T(f) cmocka_unit_test_setup_teardown(f, e2e_world_setup, e2e_world_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(association_sdae_before_skill_enabled_then_cdad),
        T(association_skill_enabled_first_gets_cdad_at_once),
        T(association_expires_after_30_days),
        T(association_still_delivered_on_day_29),
        T(association_retention_from_config),
        T(association_cdad_uses_the_buyers_link),
        T(association_locale_follows_marketplace),
        T(discovery_add_or_update_report_recorded),
        T(discovery_delete_report_removes_endpoint),
        T(discovery_more_than_300_endpoints_per_customer_400),
        T(discovery_after_customer_disables_skill_403),
    };
    return cmocka_run_group_tests_name("e2e: association, CDAD and discovery", tests, NULL, NULL);
}
