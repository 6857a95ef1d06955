/* fleet.h - a simulated fleet doing Zero Touch Setup, end to end.
 *
 * A fleet is a whole world on one machine: the emulator (Amazon's LWA, DSS,
 * provisioners, event gateway and directives) and the maker's cloud, both in
 * this process on free 127.0.0.1 ports; the maker's device CA and N devices
 * from the manufacturing line (wss_mfg_*), their control log imported and
 * their purchases recorded; a customer who linked the skill and keeps a
 * Wi-Fi locker; homes on a simulated radio (docs/radio.md); and every device
 * running libwss-device through the host port. A device counts as set up
 * once its flow succeeded and it is in the customer's Alexa account.
 * `wss demo` is this library with a command line; tests and benchmarks use
 * it directly. */
#ifndef WSS_FLEET_H
#define WSS_FLEET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "wss/device.h"
#include "wss/device_host.h"
#include "wss/err.h"

#define WSS_FLEET_CUSTOMER_ID "amzn1.account.OPENWSSDEMO"
#define WSS_FLEET_OTHER_CUSTOMER_ID "amzn1.account.OPENWSSNEIGHBOUR"
#define WSS_FLEET_SKILL_ID "amzn1.ask.skill.openwss-demo"
#define WSS_FLEET_HOME_SSID "Demo Home"
#define WSS_FLEET_SUCCESS_BAR 0.95

/* What one device does in the run; a plan callback may change any of it. */
typedef struct wss_fleet_plan {
    const char *home;      /* a home id of the scenario */
    const char *buyer;     /* customer id of its purchase record; NULL: never sold */
    wss_dev_policy policy; /* the library's retry and time policy */
    const char *naming_category;
} wss_fleet_plan;

typedef struct wss_fleet_options {
    const char *state_dir; /* created; must not exist */
    unsigned devices;      /* 1..100000 */
    uint64_t seed;         /* scenario choices and latency jitter */
    const char *faults;    /* a profile name (wss_fleet_profile_*), NULL: "none" */
    unsigned jobs;         /* devices set up at once; 0: 16 */
    int keep_storage;      /* write each device's storage.json into its bundle */
    /* The homes (docs/radio.md); NULL: the built-in demo homes "home" (the
     * customer's, Echo online), "home-echo-offline" and "cottage" (no locker
     * network in range). Every home's provisioner is registered with the
     * emulator for WSS_FLEET_CUSTOMER_ID, except one whose id starts with
     * "neighbour-", registered for WSS_FLEET_OTHER_CUSTOMER_ID. */
    const char *scenario_json;
    /* Called once per device before the run (after the profile placed it). */
    void (*plan)(void *ctx, unsigned index, wss_fleet_plan *plan);
    void *plan_ctx;
    /* Runs one device's library over the port it is given (init and run);
     * NULL: wss_dev_init then wss_dev_run on a wss_dev of the heap. A
     * benchmark uses it to measure a device's stack and heap. */
    wss_dev_fail (*runner)(void *ctx, const wss_dev_port *port, const wss_dev_config *config, wss_dev_result *res);
    void *runner_ctx;
    /* Progress lines for people; NULL: silent. */
    void (*progress)(void *ctx, const char *line);
    void *progress_ctx;
} wss_fleet_options;

/* The fault profiles: name and a one-line summary; i past the end gives NULL. */
const char *wss_fleet_profile_name(size_t i);
const char *wss_fleet_profile_summary(size_t i);

typedef struct wss_fleet wss_fleet;

/* Builds the world (nothing runs yet). err gets a one-line reason. */
wss_err wss_fleet_start(const wss_fleet_options *opts, wss_fleet **out, char *err, size_t errlen);

/* Powers every device on, runs the flows, then waits (up to a minute) for
 * the reported devices to reach the customer's Alexa account. */
wss_err wss_fleet_run(wss_fleet *f, char *err, size_t errlen);

typedef struct wss_fleet_device {
    char dsn[65];
    const char *home;
    wss_dev_result result;
    wss_dev_host_stats stats;
    int in_alexa;            /* the customer's Alexa account lists it */
    char session_token[256]; /* FFS.SessionToken as the device stored it, "" when none */
    char bundle_dir[4096];
} wss_fleet_device;

/* Device i after the run (NULL past the end). */
const wss_fleet_device *wss_fleet_device_get(const wss_fleet *f, unsigned i);

typedef struct wss_fleet_summary {
    unsigned devices, set_up;
    unsigned by_reason[WSS_DEV_FAIL_PORT + 1]; /* index: wss_dev_fail; [0] counts devices that reported
                                                * but never reached the Alexa account */
    double success_rate;
    double setup_s_p50, setup_s_p95; /* simulated setup time of the devices set up */
    double wall_s;                   /* the run's real time */
    double flows_per_s;
} wss_fleet_summary;

void wss_fleet_summarize(const wss_fleet *f, wss_fleet_summary *out);

/* Calls the emulator's control API (path relative to /control/v1); returns
 * the HTTP status or -1; *answer (if out is not NULL) gets the JSON answer. */
int wss_fleet_control(wss_fleet *f, const char *method, const char *path, const json_t *body, json_t **answer);

/* The radio (to look at the air) and the emulator's state directory. */
wss_radio *wss_fleet_radio(wss_fleet *f);
const char *wss_fleet_state_dir(const wss_fleet *f);
/* What the devices trust (the emulator's and the cloud's CAs) and the emulator's credentials.json document. */
const char *wss_fleet_ca_bundle(const wss_fleet *f);
const json_t *wss_fleet_credentials(const wss_fleet *f);

/* Stops the cloud and the emulator, frees; the state directory stays (the
 * caller removes it with wss_remove_tree or keeps it). */
void wss_fleet_stop(wss_fleet *f);

#endif
