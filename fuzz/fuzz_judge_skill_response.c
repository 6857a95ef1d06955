/* fuzz_judge_skill_response.c - libFuzzer target: judge arbitrary skill answers to a directive. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* First byte: the directive answered (even AssociateCustomerDevice, odd AcceptGrant); the rest: the body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_directive_kind kind;
    sim_skill_verdict verdict;
    char why[160];

    if (size < 1)
        return 0;
    kind = (data[0] & 1) ? SIM_DIRECTIVE_ACCEPT_GRANT : SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE;
    verdict = sim_judge_skill_response(kind, (const char *)data + 1, size - 1, "corr-1", why, sizeof why);
    if (verdict != SIM_SKILL_RESPONSE_OK && verdict != SIM_SKILL_RESPONSE_ERROR &&
        verdict != SIM_SKILL_RESPONSE_INVALID)
        __builtin_trap();
    /* A refusal or an error always says why, on one line. */
    if (verdict != SIM_SKILL_RESPONSE_OK && (why[0] == '\0' || strchr(why, '\n')))
        __builtin_trap();
    (void)sim_judge_skill_response(kind, (const char *)data + 1, size - 1, NULL, NULL, 0);
    return 0;
}
