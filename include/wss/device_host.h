/* device_host.h - the host port of libwss-device and the simulated radio.
 *
 * The host port runs the device library on a Linux machine: crypto on
 * OpenSSL, HTTPS with the device certificate chain on libcurl, storage in
 * memory (seeded from the bundle `wss mfg` wrote), and Wi-Fi from a simulated
 * radio. The radio is a world of homes described by a scenario file
 * (docs/radio.md): access points, a provisioner, latencies. Scan, probe and
 * join cost simulated time, which the device's clock shows but the run never
 * sleeps for, so a fleet run measures the software and not the waits.
 *
 * One wss_radio is shared by every device of a run (it has its own lock);
 * each device gets its own wss_dev_host. */
#ifndef WSS_DEVICE_HOST_H
#define WSS_DEVICE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "wss/device.h"
#include "wss/err.h"

typedef struct wss_radio wss_radio;

/* The provisioner link: how the simulated provisioner of a home learns the
 * passphrase of a computed network it was probed for (it holds the cloud key;
 * in a simulation the emulator does). Returns 0 and fills passphrase (and the
 * DSN it recognised) when the provisioner brings the network up, -1 when it
 * does not (unknown device, another customer, offline, 5 GHz only). */
typedef int (*wss_radio_probe_fn)(void *ctx, const char *provisioner_id, const char *ssid, char *passphrase,
                                  size_t passphrase_len, char *dsn, size_t dsn_len);

typedef struct wss_radio_options {
    const char *scenario_json; /* the scenario document (docs/radio.md) */
    wss_radio_probe_fn probe;  /* required when a home has a provisioner */
    void *probe_ctx;
    /* The simulated network's name service: "name:port=address:port" entries,
     * NULL-terminated, e.g. "dp-sps-na.amazon.com:443=127.0.0.1:40123". Names
     * not listed resolve as usual (loopback addresses only are reachable). */
    const char *const *hosts;
} wss_radio_options;

wss_err wss_radio_new(const wss_radio_options *opts, wss_radio **out, char *err, size_t errlen);
void wss_radio_free(wss_radio *radio);

/* The number of homes and the id of home i ("" past the end). */
size_t wss_radio_homes(const wss_radio *radio);
const char *wss_radio_home_id(const wss_radio *radio, size_t i);

/* Whether a visible network of that SSID is up in a home now: the test's
 * view of the air (a device's fallback setup access point, for one). */
int wss_radio_ssid_visible(wss_radio *radio, const char *home_id, const char *ssid);

/* Sets a provisioner online or offline mid-run (the emulator must be told
 * too; the radio only stops bringing networks up). */
wss_err wss_radio_set_provisioner_online(wss_radio *radio, const char *home_id, int online);

typedef struct wss_dev_host wss_dev_host;

typedef struct wss_dev_host_options {
    const char *bundle_dir; /* certificate.pem (chain, leaf first), private_key.pem, device.json */
    const char *ca_file;    /* PEM bundle of the CAs the device trusts (DSS, maker cloud) */
    wss_radio *radio;
    const char *home_id;         /* where the device was powered on */
    wss_dev_log_level log_level; /* lines at or above it go to stderr as JSON lines; default ERROR */
    long http_timeout_ms;        /* per request; 0 means 10 s */
    uint64_t seed;               /* scales each modelled latency by a factor in [0.75, 1.25] drawn from a
                                  * generator seeded with it, so devices differ; 0: the scenario's values */
} wss_dev_host_options;

wss_err wss_dev_host_new(const wss_dev_host_options *opts, wss_dev_host **out, char *err, size_t errlen);
void wss_dev_host_free(wss_dev_host *host);

/* The port to hand to wss_dev_init. Valid as long as host lives. */
const wss_dev_port *wss_dev_host_port(wss_dev_host *host);

/* What the host saw during a run. */
typedef struct wss_dev_host_stats {
    uint64_t simulated_ms; /* radio time plus retry waits: the device's clock minus real time */
    uint32_t scans, probes, joins, https_requests;
    int fallback_started; /* user_guided_setup was called */
    wss_dev_fail fallback_reason;
    char fallback_ssid[40]; /* the setup access point it brought up, "" when none */
    char dsn[64];
} wss_dev_host_stats;

void wss_dev_host_stats_get(const wss_dev_host *host, wss_dev_host_stats *out);

/* A storage value as the device last wrote it (malloc'd), or NULL. */
char *wss_dev_host_storage_get(const wss_dev_host *host, const char *key);

/* Writes the storage map to <bundle_dir>/storage.json (atomically). */
wss_err wss_dev_host_save(const wss_dev_host *host, char *err, size_t errlen);

#endif
