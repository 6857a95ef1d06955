/* store.c - the SQLite store of `wss wwa` events (see store.h). */
#include "wwa/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "wwa/internal.h"

struct wwa_store {
    sqlite3 *db;
    sqlite3_stmt *insert;
};

static const char *const migrations[] = {
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY,"
    "  kind INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  skill TEXT,"    /* directive outcomes */
    "  value INTEGER," /* probe: 1 up; directive: 1 valid */
    "  line TEXT"      /* the other kinds: their JSON line */
    ");",
    /* 2: how far each automatic source (the emulator's records of a skill) was imported */
    "CREATE TABLE cursors (source TEXT PRIMARY KEY, last_id INTEGER NOT NULL);",
};

wss_err wwa_store_open(const char *path, wwa_store **out, char *err, size_t errlen)
{
    wwa_store *s = calloc(1, sizeof *s);
    if (!s)
        return WSS_ERR_NOMEM;
    wss_err rc = wss_db_open(path, migrations, sizeof migrations / sizeof *migrations, &s->db, err, errlen);
    if (rc != WSS_OK) {
        free(s);
        return rc;
    }
    s->insert =
        wss_db_prepare(s->db, "INSERT INTO events (kind, at_ms, skill, value, line) VALUES (?, ?, ?, ?, ?)", "");
    if (!s->insert) {
        snprintf(err, errlen, "cannot prepare: %s", sqlite3_errmsg(s->db));
        sqlite3_close(s->db);
        free(s);
        return WSS_ERR_STORE;
    }
    *out = s;
    return WSS_OK;
}

void wwa_store_close(wwa_store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->insert);
    sqlite3_close(s->db);
    free(s);
}

wss_err wwa_store_begin(wwa_store *s, char *err, size_t errlen)
{
    return wss_db_exec(s->db, "BEGIN IMMEDIATE", err, errlen);
}

wss_err wwa_store_commit(wwa_store *s, char *err, size_t errlen) { return wss_db_exec(s->db, "COMMIT", err, errlen); }

void wwa_store_rollback(wwa_store *s)
{
    char ignored[128];
    wss_db_exec(s->db, "ROLLBACK", ignored, sizeof ignored);
}

wss_err wwa_store_append(wwa_store *s, const wss_wwa_event *ev, char *err, size_t errlen)
{
    sqlite3_stmt *st = s->insert;
    char *line = NULL;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int(st, 1, (int)ev->kind);
    sqlite3_bind_int64(st, 2, ev->at_ms);
    if (ev->kind == WSS_WWA_PROBE) {
        sqlite3_bind_int(st, 4, ev->up != 0);
    } else if (ev->kind == WSS_WWA_DIRECTIVE) {
        sqlite3_bind_text(st, 3, ev->skill, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, ev->valid != 0);
    } else {
        line = wwa_event_to_json(ev);
        if (!line) {
            snprintf(err, errlen, "cannot encode the event");
            return WSS_ERR_INVALID;
        }
        sqlite3_bind_text(st, 5, line, -1, SQLITE_STATIC);
    }
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    free(line);
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "cannot store the event: %s", sqlite3_errmsg(s->db));
        return WSS_ERR_STORE;
    }
    return WSS_OK;
}

wss_err wwa_store_load(wwa_store *s, wss_wwa *e, size_t *count, char *err, size_t errlen)
{
    sqlite3_stmt *st =
        wss_db_prepare(s->db, "SELECT seq, kind, at_ms, skill, value, line FROM events ORDER BY seq", "");
    if (!st) {
        snprintf(err, errlen, "cannot read events: %s", sqlite3_errmsg(s->db));
        return WSS_ERR_STORE;
    }
    size_t n = 0;
    wss_err rc = WSS_OK;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        long long seq = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 2);
        int kind = sqlite3_column_int(st, 1);
        if (kind == WSS_WWA_PROBE) {
            rc = wss_wwa_probe(e, at, sqlite3_column_int(st, 4));
        } else if (kind == WSS_WWA_DIRECTIVE) {
            const char *skill = (const char *)sqlite3_column_text(st, 3);
            rc = skill ? wss_wwa_directive(e, at, skill, sqlite3_column_int(st, 4)) : WSS_ERR_INVALID;
        } else {
            const char *line = (const char *)sqlite3_column_text(st, 5);
            wss_wwa_event ev;
            char why[256] = "no line";
            rc = line ? wwa_parse_line(WWA_FORMAT_JSONL, line, strlen(line), &ev, why, sizeof why) : WSS_ERR_INVALID;
            if (rc == WSS_OK)
                rc = wss_wwa_add(e, &ev);
        }
        if (rc != WSS_OK) {
            snprintf(err, errlen, "stored event %lld is unusable: %s", seq, wss_strerror(rc));
            rc = WSS_ERR_STORE;
            break;
        }
        n++;
    }
    if (rc == WSS_OK && step != SQLITE_DONE) {
        snprintf(err, errlen, "cannot read events: %s", sqlite3_errmsg(s->db));
        rc = WSS_ERR_STORE;
    }
    sqlite3_finalize(st);
    if (count)
        *count = n;
    return rc;
}

wss_err wwa_store_cursor_get(wwa_store *s, const char *source, long long *last_id, char *err, size_t errlen)
{
    sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT last_id FROM cursors WHERE source = ?", "t", source);
    if (!st) {
        snprintf(err, errlen, "cannot read the import cursor: %s", sqlite3_errmsg(s->db));
        return WSS_ERR_STORE;
    }
    int step = sqlite3_step(st);
    *last_id = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        snprintf(err, errlen, "cannot read the import cursor: %s", sqlite3_errmsg(s->db));
        return WSS_ERR_STORE;
    }
    return WSS_OK;
}

wss_err wwa_store_cursor_set(wwa_store *s, const char *source, long long last_id, char *err, size_t errlen)
{
    if (wss_db_run(s->db,
                   "INSERT INTO cursors (source, last_id) VALUES (?, ?)"
                   " ON CONFLICT (source) DO UPDATE SET last_id = excluded.last_id",
                   "ti", source, last_id) < 0) {
        snprintf(err, errlen, "cannot store the import cursor: %s", sqlite3_errmsg(s->db));
        return WSS_ERR_STORE;
    }
    return WSS_OK;
}
