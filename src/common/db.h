/* db.h - opening SQLite databases with WAL and versioned schema migrations.
 *
 * A migration list is an array of SQL scripts; script i brings the schema
 * from version i to i+1 (PRAGMA user_version). Each runs in its own
 * transaction with the version bump, so a crash never leaves a half-migrated
 * database. Statements elsewhere are always prepared with bound parameters. */
#ifndef WSS_COMMON_DB_H
#define WSS_COMMON_DB_H

#include <sqlite3.h>
#include <stddef.h>

#include "wss/err.h"

/* Opens (creating if needed) the database at path, sets WAL, synchronous=FULL,
 * foreign keys and a busy timeout, then applies the migrations it lacks.
 * A database newer than the list is refused (WSS_ERR_STORE). */
wss_err wss_db_open(const char *path, const char *const *migrations, size_t nmigrations, sqlite3 **out, char *err,
                    size_t errlen);

/* Runs a script of statements without parameters (schema, BEGIN/COMMIT). */
wss_err wss_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);

/* Prepares sql and binds its parameters in order from the variadic list,
 * one per character of `types`:
 *   't' const char * (NULL binds NULL)   'i' long long   'd' double   'n' NULL (no argument)
 * Returns NULL on failure (the reason is in sqlite3_errmsg(db)). */
sqlite3_stmt *wss_db_prepare(sqlite3 *db, const char *sql, const char *types, ...);

/* Prepares, binds (as above) and steps a statement that returns no rows.
 * Returns the number of rows changed, or -1 on failure (including a
 * constraint violation; sqlite3_extended_errcode(db) tells which). */
int wss_db_run(sqlite3 *db, const char *sql, const char *types, ...);

/* A text column copied with strdup(), or NULL when the column is NULL. */
char *wss_db_column_strdup(sqlite3_stmt *st, int col);

#endif
