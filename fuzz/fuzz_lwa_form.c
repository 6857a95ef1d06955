/* fuzz_lwa_form.c - the token endpoint's form-encoded body decoder. */
#include <stddef.h>
#include <stdint.h>

#include "sim/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    json_t *params = sim_form_decode((const char *)data, size, why, sizeof why);
    json_decref(params);
    return 0;
}
