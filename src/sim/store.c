/* store.c - the emulator's SQLite state: schema migrations, the movable
 * clock, the meta table and the JSON event log.
 *
 * One connection serves the whole emulator behind db_lock; every write that
 * answers a request is committed before the answer goes out, so a restart
 * loses nothing that a client was told happened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/db.h"
#include "common/log.h"
#include "sim/internal.h"

static const char *const sim_migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE skills (skill_id TEXT PRIMARY KEY, client_id TEXT NOT NULL UNIQUE,"
    "  secret_sha TEXT NOT NULL, endpoint TEXT NOT NULL, endpoint_ca_file TEXT, stage TEXT NOT NULL,"
    "  marketplace TEXT NOT NULL, enabled INTEGER NOT NULL, rate_per_s REAL NOT NULL, rate_burst INTEGER NOT NULL);"
    "CREATE TABLE customers (customer_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE wifi_locker (customer_id TEXT NOT NULL REFERENCES customers ON DELETE CASCADE,"
    "  ssid TEXT NOT NULL, security TEXT NOT NULL, key TEXT, priority INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (customer_id, ssid));"
    "CREATE TABLE devices (dsn TEXT PRIMARY KEY, product_index TEXT, public_key TEXT NOT NULL,"
    "  registered_ms INTEGER NOT NULL);"
    "CREATE TABLE purchases (dsn TEXT PRIMARY KEY REFERENCES devices,"
    "  customer_id TEXT NOT NULL REFERENCES customers, purchased_ms INTEGER NOT NULL);"
    "CREATE TABLE session_tokens (token TEXT PRIMARY KEY, dsn TEXT NOT NULL REFERENCES devices,"
    "  issued_ms INTEGER NOT NULL, used_ms INTEGER);"
    "CREATE TABLE skill_links (customer_id TEXT NOT NULL REFERENCES customers, skill_id TEXT NOT NULL"
    "  REFERENCES skills, enabled INTEGER NOT NULL, access_token TEXT NOT NULL, updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (customer_id, skill_id));"
    "CREATE TABLE tokens (sha TEXT PRIMARY KEY, kind TEXT NOT NULL, client_id TEXT NOT NULL,"
    "  skill_id TEXT NOT NULL, customer_id TEXT, scope TEXT NOT NULL, expires_ms INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL);"
    "CREATE INDEX tokens_by_customer ON tokens (skill_id, customer_id);"
    "CREATE TABLE gateway_messages (client_id TEXT NOT NULL, message_id TEXT NOT NULL,"
    "  received_ms INTEGER NOT NULL, duplicates INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (client_id, message_id));"
    "CREATE TABLE associations (id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, session_token TEXT NOT NULL UNIQUE,"
    "  dsn TEXT NOT NULL, customer_id TEXT, skill_id TEXT NOT NULL, naming_categories TEXT NOT NULL,"
    "  friendly_name TEXT, state TEXT NOT NULL, detail TEXT, created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX associations_by_device ON associations (device_id);"
    "CREATE INDEX associations_waiting ON associations (customer_id, skill_id, state);"
    "CREATE TABLE dispatches (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, skill_id TEXT NOT NULL,"
    "  customer_id TEXT NOT NULL, association_id INTEGER, state TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE skill_requests (id INTEGER PRIMARY KEY, skill_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  directive TEXT NOT NULL, outcome TEXT NOT NULL, http_status INTEGER NOT NULL, reason TEXT);"
    "CREATE INDEX skill_requests_by_skill ON skill_requests (skill_id, at_ms);"
    "CREATE TABLE alexa_endpoints (customer_id TEXT NOT NULL, skill_id TEXT NOT NULL, endpoint_id TEXT NOT NULL,"
    "  friendly_name TEXT NOT NULL, display_categories TEXT NOT NULL, endpoint TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL, PRIMARY KEY (customer_id, skill_id, endpoint_id));"
    "CREATE TABLE faults (id INTEGER PRIMARY KEY, route TEXT NOT NULL, client TEXT NOT NULL, status INTEGER NOT NULL,"
    "  rate REAL, schedule TEXT, latency_ms INTEGER NOT NULL, retry_after_s INTEGER NOT NULL,"
    "  hits INTEGER NOT NULL DEFAULT 0, origin TEXT NOT NULL);"
    "CREATE TABLE event_log (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  details TEXT NOT NULL);",
    /* 2: the Device Setup Service and the simulated provisioners (docs/dss.md) */
    "CREATE TABLE provisioners (provisioner_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers,"
    "  online INTEGER NOT NULL, band TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE TABLE dss_sessions (session_id TEXT PRIMARY KEY, dsn TEXT NOT NULL, customer_id TEXT,"
    "  provisioner_id TEXT, state TEXT NOT NULL, op_done INTEGER NOT NULL DEFAULT 0, result TEXT,"
    "  reason TEXT NOT NULL DEFAULT '', session_token TEXT, started_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX dss_sessions_by_dsn ON dss_sessions (dsn, started_ms);"
    "CREATE TABLE dss_nonces (session_id TEXT NOT NULL, nonce TEXT NOT NULL, PRIMARY KEY (session_id, nonce));"
    "CREATE TABLE dss_calls (id INTEGER PRIMARY KEY, session_id TEXT, dsn TEXT, at_ms INTEGER NOT NULL,"
    "  operation TEXT NOT NULL, http_status INTEGER NOT NULL, error_code TEXT, provisioner_id TEXT,"
    "  tls_version TEXT NOT NULL, cipher TEXT NOT NULL, sni TEXT NOT NULL, client_subject TEXT NOT NULL,"
    "  client_serial TEXT NOT NULL, client_cert_present INTEGER NOT NULL, client_cert_verified INTEGER NOT NULL);"
    "CREATE INDEX dss_calls_by_session ON dss_calls (session_id, id);"
    "CREATE TABLE dss_scans (id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, ssid TEXT NOT NULL,"
    "  bssid TEXT NOT NULL, security TEXT NOT NULL, rssi INTEGER NOT NULL, frequency INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX dss_scans_by_session ON dss_scans (session_id, ssid);"
    "CREATE TABLE dss_credentials (id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, ssid TEXT NOT NULL,"
    "  security TEXT NOT NULL, priority INTEGER NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX dss_credentials_by_session ON dss_credentials (session_id);"
    "CREATE TABLE dss_refusals (id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, ssid TEXT NOT NULL,"
    "  code TEXT NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX dss_refusals_by_session ON dss_refusals (session_id);"
    "ALTER TABLE faults ADD COLUMN action TEXT;",
    /* 3: a device's setup network id (docs/dss.md section 2), for probes by index */
    "ALTER TABLE devices ADD COLUMN ami TEXT; CREATE INDEX devices_by_ami ON devices (ami, product_index);",
};

/* Devices registered before the ami column existed get theirs. */
static wss_err backfill_ami(sim *s, char *err, size_t errlen)
{
    sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT dsn, public_key FROM devices WHERE ami IS NULL", "");
    wss_err rc = st ? WSS_OK : WSS_ERR_STORE;
    while (rc == WSS_OK && sqlite3_step(st) == SQLITE_ROW) {
        uint8_t ami[9];
        char hex[19];
        const char *dsn = (const char *)sqlite3_column_text(st, 0);
        const char *pk = (const char *)sqlite3_column_text(st, 1);
        if (!pk || sim_dss_ami(pk, ami) != WSS_OK)
            continue;
        sim_hex(ami, sizeof ami, hex);
        if (wss_db_run(s->db, "UPDATE devices SET ami = ? WHERE dsn = ?", "tt", hex, dsn) < 0)
            rc = WSS_ERR_STORE;
    }
    sqlite3_finalize(st);
    if (rc != WSS_OK)
        snprintf(err, errlen, "cannot index the registered devices by setup network id");
    return rc;
}

wss_err sim_store_open(sim *s, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sim.db", s->state_dir);
    pthread_mutex_init(&s->db_lock, NULL);
    atomic_init(&s->fault_rules, -1); /* counted at the first check */
    wss_err rc = wss_db_open(path, sim_migrations, sizeof sim_migrations / sizeof *sim_migrations, &s->db, err, errlen);
    /* The emulator survives its own crash (kill -9) without loss: in WAL
     * mode a commit is in the log before it returns. It does not wait for
     * the disk at every commit, as a production store must; a power cut may
     * lose the last moments of a test run, and a fleet run is not bound by
     * the disk. */
    if (rc == WSS_OK)
        rc = wss_db_exec(s->db, "PRAGMA synchronous=NORMAL;", err, errlen);
    if (rc == WSS_OK)
        rc = backfill_ami(s, err, errlen);
    return rc;
}

void sim_store_close(sim *s)
{
    if (s->db)
        sqlite3_close(s->db);
    s->db = NULL;
    pthread_mutex_destroy(&s->db_lock);
}

void sim_lock(sim *s) { pthread_mutex_lock(&s->db_lock); }
void sim_unlock(sim *s) { pthread_mutex_unlock(&s->db_lock); }

char *sim_meta_get(sim *s, const char *key)
{
    sqlite3_stmt *st = wss_db_prepare(s->db, "SELECT value FROM meta WHERE key = ?", "t", key);
    char *v = NULL;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = wss_db_column_strdup(st, 0);
    sqlite3_finalize(st);
    return v;
}

int sim_meta_set(sim *s, const char *key, const char *value)
{
    return wss_db_run(
               s->db,
               "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               "tt", key, value) < 0
               ? -1
               : 0;
}

long long sim_now_ms_locked(sim *s)
{
    char *offset = sim_meta_get(s, "clock_offset_ms");
    long long off = offset ? strtoll(offset, NULL, 10) : 0;
    free(offset);
    return wss_wall_ms() + off;
}

long long sim_now_ms(sim *s)
{
    sim_lock(s);
    long long now = sim_now_ms_locked(s);
    sim_unlock(s);
    return now;
}

wss_err sim_clock_advance(sim *s, long long delta_ms)
{
    sim_lock(s);
    char *offset = sim_meta_get(s, "clock_offset_ms");
    long long off = (offset ? strtoll(offset, NULL, 10) : 0) + delta_ms;
    free(offset);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", off);
    int rc = sim_meta_set(s, "clock_offset_ms", buf);
    if (rc == 0)
        sim_event(s, "clock.advanced",
                  json_pack("{s:I, s:I}", "delta_ms", (json_int_t)delta_ms, "offset_ms", (json_int_t)off));
    sim_dispatch_expire(s);
    sim_unlock(s);
    sim_dispatch_wake(s);
    return rc == 0 ? WSS_OK : WSS_ERR_STORE;
}

void sim_event(sim *s, const char *kind, json_t *details)
{
    char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
    json_decref(details);
    if (wss_db_run(s->db, "INSERT INTO event_log (at_ms, kind, details) VALUES (?, ?, ?)", "itt", sim_now_ms_locked(s),
                   kind, text ? text : "{}") < 0)
        wss_log(WSS_LOG_ERROR, "sim", "cannot record event %s: %s", kind, sqlite3_errmsg(s->db));
    wss_log(WSS_LOG_INFO, "sim", "%s %s", kind, text ? text : "{}");
    free(text);
}

int sim_begin(sim *s) { return wss_db_run(s->db, "BEGIN IMMEDIATE", "") < 0 ? -1 : 0; }
int sim_commit(sim *s) { return wss_db_run(s->db, "COMMIT", "") < 0 ? -1 : 0; }
void sim_rollback(sim *s) { wss_db_run(s->db, "ROLLBACK", ""); }
