/* fuzz_wwa_line.c - the `wss wwa import` line parser, JSON lines and CSV.
 * The first byte picks the format; an accepted line must survive a round
 * trip through the JSON writer unchanged and be accepted by the engine. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wwa/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    wwa_format fmt = data[0] & 1 ? WWA_FORMAT_CSV : WWA_FORMAT_JSONL;
    wss_wwa_event ev, back;
    char why[256];
    if (wwa_parse_line(fmt, (const char *)data + 1, size - 1, &ev, why, sizeof why) != WSS_OK)
        return 0;
    char *line = wwa_event_to_json(&ev);
    if (!line)
        abort(); /* every accepted event can be written */
    if (wwa_parse_line(WWA_FORMAT_JSONL, line, strlen(line), &back, why, sizeof why) != WSS_OK ||
        memcmp(&ev, &back, sizeof ev) != 0)
        abort();
    free(line);
    wss_wwa *e = NULL;
    if (wss_wwa_new(NULL, &e) != WSS_OK)
        return 0;
    if (wss_wwa_add(e, &ev) != WSS_OK)
        abort(); /* the parser accepts nothing the engine refuses */
    wss_wwa_state s;
    if (wss_wwa_state_at(e, ev.at_ms, &s) == WSS_OK)
        wss_wwa_state_free(&s);
    wss_wwa_free(e);
    return 0;
}
