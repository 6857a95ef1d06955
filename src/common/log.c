/* log.c - JSON-lines logging; one mutex keeps lines from interleaving. */
#include "common/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static wss_log_level log_level = WSS_LOG_INFO;
static FILE *log_stream;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void wss_log_set_level(wss_log_level level) { log_level = level; }
void wss_log_set_stream(FILE *stream) { log_stream = stream; }

int wss_log_level_parse(const char *name)
{
    for (int i = 0; i <= WSS_LOG_OFF; i++)
        if (name && strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static void format_timestamp(char out[32])
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

void wss_log(wss_log_level level, const char *component, const char *fmt, ...)
{
    if (level < log_level || level >= WSS_LOG_OFF)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char ts[32];
    format_timestamp(ts);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s?}", "ts", ts, "level", level_names[level], "component",
                            component ? component : "wss", "msg", msg);
    /* A message that is not valid UTF-8 cannot go into a JSON string as is. */
    if (!rec)
        rec = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "component",
                        component ? component : "wss", "msg", "(message was not valid UTF-8)");
    char *line = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (!line)
        return;
    pthread_mutex_lock(&log_lock);
    FILE *out = log_stream ? log_stream : stderr;
    fputs(line, out);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
    free(line);
}
