/* fuzz_validate_events.c - libFuzzer target: classify and validate arbitrary /v3/events bodies. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    char why[160];
    sim_sdae sdae;
    sim_discovery_report report;
    sim_event_kind kind;
    int ok;

    if (!root)
        return 0;
    kind = sim_event_classify(root);
    ok = sim_validate_sdae(root, &sdae, why, sizeof why);
    /* An accepted SDAE is exactly an event classified as one, with the promised fields. */
    if (ok && (kind != SIM_EVENT_DEVICE_ASSOCIATION_REPORT || !wss_alexa_id_valid(sdae.device_id) ||
               strlen(sdae.signature) % 4 != 0 || json_array_size(sdae.naming_categories) == 0))
        __builtin_trap();
    if (!ok && why[0] == '\0')
        __builtin_trap();
    ok = sim_validate_discovery_report(root, &report, why, sizeof why);
    if (ok &&
        (report.kind != kind || json_array_size(report.endpoints) == 0 || json_array_size(report.endpoints) > 300))
        __builtin_trap();
    if (!ok && why[0] == '\0')
        __builtin_trap();
    /* The reason buffer may be absent or tiny. */
    (void)sim_validate_sdae(root, NULL, NULL, 0);
    (void)sim_validate_discovery_report(root, NULL, why, 1);
    json_decref(root);
    return 0;
}
