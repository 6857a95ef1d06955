/* log.h - JSON-lines logging to stderr (or another stream).
 *
 * One line per record: {"ts":"2026-11-21T10:00:00.123Z","level":"info",
 * "component":"sim","msg":"..."}. Callers never pass secrets (tokens, client
 * secrets, keys, authorization codes) to the logger: log a digest prefix or an
 * id instead. */
#ifndef WSS_COMMON_LOG_H
#define WSS_COMMON_LOG_H

#include <stdio.h>

typedef enum wss_log_level {
    WSS_LOG_DEBUG = 0,
    WSS_LOG_INFO,
    WSS_LOG_WARN,
    WSS_LOG_ERROR,
    WSS_LOG_OFF,
} wss_log_level;

void wss_log_set_level(wss_log_level level);
void wss_log_set_stream(FILE *stream);

/* Parses "debug", "info", "warn", "error" or "off"; returns -1 when unknown. */
int wss_log_level_parse(const char *name);

/* Writes one record; the message is printf-formatted and JSON-escaped. */
void wss_log(wss_log_level level, const char *component, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
