/* json.c - strict JSON object parsing for configuration files and bodies. */
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/file.h"

json_t *wss_json_parse_object(const char *text, size_t len, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(why, whylen, "not valid JSON (line %d, column %d: %s)", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        snprintf(why, whylen, "the top level must be a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *wss_json_load_object_file(const char *path, size_t max, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    wss_err rc = wss_read_file(path, max, &text, &len);
    if (rc != WSS_OK) {
        snprintf(err, errlen, "cannot read %s: %s", path, wss_strerror(rc));
        return NULL;
    }
    char why[300];
    json_t *root = wss_json_parse_object(text, len, why, sizeof why);
    free(text);
    if (!root)
        snprintf(err, errlen, "%s: %s", path, why);
    return root;
}
