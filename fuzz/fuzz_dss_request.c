/* fuzz_dss_request.c - libFuzzer target: the Device Setup Service's request
 * parser and setup network name decoder on arbitrary bytes. The first byte
 * picks the operation; the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim/dss_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int op = data[0] % SIM_DSS_NOPS;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    sim_dss_request r;
    char why[256];
    why[0] = 0;
    if (sim_dss_request_parse(op, body, len, &r, why, sizeof why) == 0) {
        /* What an accepted request promises. */
        size_t n = strlen(r.nonce);
        if (r.op != op || n < SIM_DSS_NONCE_MIN || n > SIM_DSS_NONCE_MAX || (op != SIM_DSS_START && !r.session_id) ||
            r.nscans > SIM_DSS_MAX_SCANS || (op == SIM_DSS_SCAN && r.nscans == 0) ||
            (op == SIM_DSS_REPORT && (!r.current_state || !sim_dss_state_known(r.current_state) || !r.result)))
            __builtin_trap();
        for (size_t i = 0; i < r.nscans; i++)
            if (strlen(r.scans[i].ssid) == 0 || strlen(r.scans[i].ssid) > 32 || strlen(r.scans[i].bssid) != 17)
                __builtin_trap();
        sim_dss_request_free(&r);
    } else if (why[0] == '\0')
        __builtin_trap();
    /* The same bytes as a probed network name. */
    sim_setup_ssid net;
    if (sim_dss_ssid_decode(body, len, &net) == 0 && (len != 32 || strlen(net.product_index) != 4))
        __builtin_trap();
    uint8_t out[SIM_DSS_MAX_BODY / 5 * 4 + 4];
    if (len <= SIM_DSS_MAX_BODY)
        (void)sim_z85_decode(body, len, out);
    return 0;
}
