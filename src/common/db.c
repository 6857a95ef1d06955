/* db.c - SQLite open, pragmas and schema migrations. */
#include "common/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

wss_err wss_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return WSS_ERR_STORE;
    }
    return WSS_OK;
}

static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static wss_err migrate(sqlite3 *db, const char *const *migrations, size_t n, char *err, size_t errlen)
{
    int v = schema_version(db);
    if (v < 0) {
        snprintf(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(db));
        return WSS_ERR_STORE;
    }
    if ((size_t)v > n) {
        snprintf(err, errlen, "database schema version %d is newer than this program knows (%zu)", v, n);
        return WSS_ERR_STORE;
    }
    for (size_t i = (size_t)v; i < n; i++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %zu;", i + 1);
        if (wss_db_exec(db, "BEGIN IMMEDIATE", err, errlen) != WSS_OK)
            return WSS_ERR_STORE;
        if (wss_db_exec(db, migrations[i], err, errlen) != WSS_OK || wss_db_exec(db, bump, err, errlen) != WSS_OK) {
            char ignored[64];
            wss_db_exec(db, "ROLLBACK", ignored, sizeof ignored);
            return WSS_ERR_STORE;
        }
        if (wss_db_exec(db, "COMMIT", err, errlen) != WSS_OK)
            return WSS_ERR_STORE;
    }
    return WSS_OK;
}

wss_err wss_db_open(const char *path, const char *const *migrations, size_t nmigrations, sqlite3 **out, char *err,
                    size_t errlen)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return WSS_ERR_STORE;
    }
    sqlite3_busy_timeout(db, 5000);
    wss_err rc =
        wss_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err, errlen);
    if (rc == WSS_OK)
        rc = migrate(db, migrations, nmigrations, err, errlen);
    if (rc != WSS_OK) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return WSS_OK;
}

static sqlite3_stmt *prepare_va(sqlite3 *db, const char *sql, const char *types, va_list ap)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    for (int i = 0; types && types[i]; i++) {
        int rc, idx = i + 1;
        switch (types[i]) {
        case 't': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
            break;
        }
        case 'i': rc = sqlite3_bind_int64(st, idx, va_arg(ap, long long)); break;
        case 'd': rc = sqlite3_bind_double(st, idx, va_arg(ap, double)); break;
        case 'n': rc = sqlite3_bind_null(st, idx); break;
        default: rc = SQLITE_MISUSE; break;
        }
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            return NULL;
        }
    }
    return st;
}

sqlite3_stmt *wss_db_prepare(sqlite3 *db, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = prepare_va(db, sql, types, ap);
    va_end(ap);
    return st;
}

int wss_db_run(sqlite3 *db, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = prepare_va(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return -1;
    return sqlite3_changes(db);
}

char *wss_db_column_strdup(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v ? strdup((const char *)v) : NULL;
}
