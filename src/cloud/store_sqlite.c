/* store_sqlite.c - the maker cloud's store (store.h) over SQLite in WAL mode.
 *
 * Every write a caller is told about is committed (synchronous=FULL) before
 * the call returns, so a restart loses nothing.
 *
 * Two connections to the same database file:
 *   - the main connection serves every operation except bind, one call at a
 *     time behind `lock`;
 *   - the bind connection belongs to the committer thread (group commit).
 *     bind() queues a request on the caller's stack and sleeps; the committer
 *     takes every queued request (at most BIND_BATCH_MAX), runs them in order
 *     in one transaction, each with its own outcome (a binding made also
 *     inserts the request's outbox event, in the same transaction), commits
 *     once and then hands the batch to the waker thread, which wakes their
 *     callers while the committer goes on with the next batch. While one
 *     commit waits for the disk, new requests pile up for the next, so a
 *     transaction (and its fsync) is shared by as many binds as there are
 *     callers waiting. There is no deliberate delay: a lone caller pays one
 *     commit per bind plus three thread wake-ups.
 *     The outbox worker's hot writes (claiming due events, recording a
 *     delivery or a retry) are queued the same way and share the binds'
 *     transactions and fsyncs, instead of a write turn and a commit each;
 *     they fall back to the main connection once the committer stops.
 *
 * SQLite allows one writer per database at a time. Rather than let the two
 * connections collide and rely on busy_timeout (SQLite's busy handler polls
 * with sleeps that grow to 100 ms, adding random latency and favouring no
 * one), every write transaction, on either connection, first takes a turn on
 * `write_turn`, a ticket lock: writers go in arrival order, so a stream of
 * bind batches cannot starve report_add or the outbox worker, nor the other
 * way round. The busy timeout set by wss_db_open stays as a guard against
 * other processes opening the file (an operator's sqlite3 shell). Reads need
 * no turn: in WAL mode they see the last commit and do not wait for the
 * writer (though a read on the main connection waits for `lock` while a
 * write on that same connection commits).
 *
 * Locks: write_turn is taken before lock; the committer takes write_turn
 * only, never while holding q_lock, and w_lock alone to hand a batch over.
 * bind() callers take q_lock to queue and then their request's own lock to
 * wait; the waker takes each request's lock, alone, to hand over the
 * outcome. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/store.h"
#include "cloud/store_sqlite_test.h"
#include "common/db.h"
#include "common/log.h"

/* At most this many binds per transaction, and at most this many waiting
 * (callers beyond it wait for room before queueing). */
#define BIND_BATCH_MAX 1024
#define BIND_QUEUE_MAX 8192

/* The size of a fixed-size field of store.h's structs, which bounds what the
 * store accepts for it. */
#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)

/* Limits (in bytes, with the NUL) on what has no field size of its own. */
#define DEVICE_ID_SIZE 1024
#define URL_SIZE 4096

static const char *const cloud_migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE reports (device_id TEXT PRIMARY KEY, global_device_id TEXT NOT NULL,"
    "  session_token TEXT NOT NULL, signature TEXT NOT NULL, naming_categories TEXT NOT NULL,"
    "  gateway_url TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE,"
    "  gateway_url TEXT NOT NULL, body TEXT NOT NULL, user_id TEXT,"
    "  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL,"
    "  lease_until_ms INTEGER NOT NULL DEFAULT 0, last_error TEXT, http_status INTEGER, code TEXT,"
    "  description TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX outbox_due ON outbox (next_attempt_ms) WHERE state = 'pending';"
    "CREATE INDEX outbox_by_state ON outbox (state, id);"
    "CREATE TABLE users (user_id TEXT PRIMARY KEY, name TEXT, created_ms INTEGER NOT NULL);"
    "CREATE TABLE user_tokens (token_sha TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users,"
    "  expires_ms INTEGER NOT NULL);"
    "CREATE INDEX user_tokens_by_user ON user_tokens (user_id);"
    "CREATE TABLE bindings (device_id TEXT PRIMARY KEY REFERENCES reports,"
    "  user_id TEXT NOT NULL REFERENCES users, friendly_name TEXT, created_ms INTEGER NOT NULL);"
    "CREATE INDEX bindings_by_user ON bindings (user_id, created_ms);"
    "CREATE TABLE grants (user_id TEXT PRIMARY KEY, access_token TEXT NOT NULL, refresh_token TEXT,"
    "  expires_ms INTEGER NOT NULL);",
    /* 2: the 5xx answers among an event's tries, a budget of their own */
    "ALTER TABLE outbox ADD COLUMN server_errors INTEGER NOT NULL DEFAULT 0;",
    /* 3: a discovery report is built when sent, from the binding it names
     * (body ''), not stored with it: a bind writes a few bytes, not a report */
    "ALTER TABLE outbox ADD COLUMN device_id TEXT;",
    /* 4: an index of every event by state cost each new event an insert and
     * each delivery a move; the operator's lists need the dead letters only
     * (pending ones have outbox_due, delivered ones are read in id order) */
    "DROP INDEX outbox_by_state; CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';",
};

/* What a queued request asks of the committer: a bind, or one of the
 * outbox's per-event writes (these share the binds' transaction and fsync
 * rather than taking a write turn and a commit of their own each). */
typedef enum req_op { REQ_BIND = 0, REQ_DELIVERED, REQ_RETRY, REQ_CLAIM } req_op;

/* One bind() call (or outbox write) waiting for its batch; lives on the
 * caller's stack. The strings are the caller's: it sleeps until the
 * committer is done with them. */
typedef struct bind_req {
    req_op op;
    /* REQ_DELIVERED and REQ_RETRY: the event and what to record */
    long long event_id, next_ms;
    int attempts, server_errors;
    const char *last_error;
    /* REQ_CLAIM: at most max due events leased until next_ms, into items; got of them */
    cloud_outbox_item *items;
    int max, got;
    /* REQ_BIND */
    const char *device_id;
    const char *user_id;
    const char *friendly_name;
    const cloud_outbox_event *event; /* inserted with the binding when it is made; may be NULL */
    long long now_ms;
    int created;
    wss_err rc;
    /* The committer sets done under m when the outcome is final. A lock of
     * its own per request keeps the wake-ups of a whole batch from queueing
     * up on q_lock. */
    pthread_mutex_t m;
    pthread_cond_t wake;
    int done;
    struct bind_req *next;
} bind_req;

/* Writers on either connection take turns in arrival order. */
typedef struct ticket_lock {
    pthread_mutex_t m;
    pthread_cond_t turn;
    unsigned long next;
    unsigned long serving;
} ticket_lock;

/* The hot reads of the skill endpoint (token -> user, device report) run on
 * their own connections with statements prepared once: on the main
 * connection they would wait behind every writer's fsync and re-prepare
 * their SQL on each call. WAL lets them read while a write commits. */
#define READERS 8

typedef struct reader {
    pthread_mutex_t lock;
    sqlite3 *db;
    sqlite3_stmt *user_by_token;
    sqlite3_stmt *report_get;
    sqlite3_stmt *binding_get;
} reader;

typedef struct sqlite_store {
    cloud_store base;

    reader readers[READERS];
    unsigned next_reader;

    ticket_lock write_turn;

    pthread_mutex_t lock; /* the main connection */
    sqlite3 *db;

    /* The committer and its connection with the statements it reuses. */
    sqlite3 *bind_db;
    sqlite3_stmt *bind_begin, *bind_commit, *bind_rollback, *bind_insert, *bind_owner;
    sqlite3_stmt *bind_undo, *bind_event;
    sqlite3_stmt *ob_delivered, *ob_retry, *ob_due, *ob_lease;
    pthread_t committer;
    int committer_started;

    /* The waker: wakes the callers of the batches the committer is done
     * with, so that the committer goes on with the next batch meanwhile. */
    pthread_mutex_t w_lock;
    pthread_cond_t w_work;
    bind_req *w_head, *w_tail;
    int w_stopping;
    pthread_t waker;
    int waker_started;

    /* The bind queue. */
    pthread_mutex_t q_lock;
    pthread_cond_t q_work;  /* requests queued, or stopping */
    pthread_cond_t q_space; /* room in the queue, or stopping */
    bind_req *q_head, *q_tail;
    size_t q_len;
    int stopping;
    cloud_store_sqlite_stats stats; /* under q_lock */
} sqlite_store;

static sqlite_store *sq(cloud_store *st) { return (sqlite_store *)st; }

static int submit(sqlite_store *s, bind_req *req);

/* ---- locking -------------------------------------------------------------- */

static void turn_take(ticket_lock *t)
{
    pthread_mutex_lock(&t->m);
    unsigned long mine = t->next++;
    while (t->serving != mine)
        pthread_cond_wait(&t->turn, &t->m);
    pthread_mutex_unlock(&t->m);
}

static void turn_give(ticket_lock *t)
{
    pthread_mutex_lock(&t->m);
    t->serving++;
    pthread_cond_broadcast(&t->turn);
    pthread_mutex_unlock(&t->m);
}

static void read_lock(sqlite_store *s) { pthread_mutex_lock(&s->lock); }
static void read_unlock(sqlite_store *s) { pthread_mutex_unlock(&s->lock); }

/* A free reader connection, starting from a rotating position; when all are
 * busy, waits for one. Give it back with reader_give(). */
static reader *reader_take(sqlite_store *s)
{
    unsigned start = __atomic_fetch_add(&s->next_reader, 1, __ATOMIC_RELAXED) % READERS;
    for (unsigned k = 0; k < READERS; k++) {
        reader *r = &s->readers[(start + k) % READERS];
        if (pthread_mutex_trylock(&r->lock) == 0)
            return r;
    }
    pthread_mutex_lock(&s->readers[start].lock);
    return &s->readers[start];
}

static void reader_give(reader *r, sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&r->lock);
}

static void write_lock(sqlite_store *s)
{
    turn_take(&s->write_turn);
    pthread_mutex_lock(&s->lock);
}

static void write_unlock(sqlite_store *s)
{
    pthread_mutex_unlock(&s->lock);
    turn_give(&s->write_turn);
}

/* ---- statements and errors on the main connection (lock held) ------------ */

/* Logs SQLite's reason (never a parameter value: those may be secrets). */
static wss_err store_failed(sqlite3 *db, const char *what)
{
    wss_log(WSS_LOG_ERROR, "cloud", "store: %s: %s", what, sqlite3_errmsg(db));
    return WSS_ERR_STORE;
}

/* The status for a failed write: duplicates and missing parents are the
 * caller's business, anything else is the store's. */
static wss_err write_failed(sqlite3 *db, const char *what)
{
    switch (sqlite3_extended_errcode(db)) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE: return WSS_ERR_EXISTS;
    case SQLITE_CONSTRAINT_FOREIGNKEY: return WSS_ERR_NOT_FOUND;
    default: return store_failed(db, what);
    }
}

static wss_err begin(sqlite3 *db)
{
    return wss_db_run(db, "BEGIN IMMEDIATE", "") < 0 ? store_failed(db, "begin") : WSS_OK;
}

static wss_err commit(sqlite3 *db)
{
    if (wss_db_run(db, "COMMIT", "") >= 0)
        return WSS_OK;
    wss_err rc = store_failed(db, "commit");
    if (!sqlite3_get_autocommit(db))
        wss_db_run(db, "ROLLBACK", "");
    return rc;
}

static void rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        wss_db_run(db, "ROLLBACK", "");
}

/* A single-statement write: 0 rows changed is WSS_ERR_NOT_FOUND. */
static wss_err changed_one(sqlite3 *db, int changes, const char *what)
{
    if (changes < 0)
        return write_failed(db, what);
    return changes == 0 ? WSS_ERR_NOT_FOUND : WSS_OK;
}

static json_t *json_text(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v ? json_string((const char *)v) : json_null();
}

static json_t *json_integer_or_null(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_integer((json_int_t)sqlite3_column_int64(st, col));
}

/* Lower-case hex SHA-256, as wss_sha256_hex writes it. */
static int is_sha256_hex(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* Overwrites a secret before its memory is released. */
static void wipe_free(char *s)
{
    if (!s)
        return;
    for (volatile char *p = s; *p; p++)
        *p = 0;
    free(s);
}

/* A NUL-terminated string that fits a char[size] field. */
static int fits(const char *s, size_t size) { return s && *s && strlen(s) < size; }

/* ---- device intake ---------------------------------------------------------- */

static int is_json_array(const char *text)
{
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    int ok = json_is_array(v);
    json_decref(v);
    return ok;
}

static wss_err sq_report_add(cloud_store *base, const cloud_report *r, const char *message_id, const char *sdae_body,
                             long long now_ms)
{
    sqlite_store *s = sq(base);
    if (!r || !fits(r->device_id, DEVICE_ID_SIZE) || !r->global_device_id || !r->session_token || !r->signature ||
        !r->naming_categories || !is_json_array(r->naming_categories) || !fits(r->gateway_url, URL_SIZE) ||
        !fits(message_id, MEMBER_SIZE(cloud_outbox_item, message_id)) || !sdae_body)
        return WSS_ERR_INVALID;

    write_lock(s);
    wss_err rc = begin(s->db);
    if (rc == WSS_OK) {
        int n = wss_db_run(s->db,
                           "INSERT INTO reports (device_id, global_device_id, session_token, signature,"
                           " naming_categories, gateway_url, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
                           " ON CONFLICT (device_id) DO NOTHING",
                           "tttttti", r->device_id, r->global_device_id, r->session_token, r->signature,
                           r->naming_categories, r->gateway_url, now_ms);
        if (n < 0)
            rc = write_failed(s->db, "report");
        else if (n == 0)
            rc = WSS_ERR_EXISTS;
    }
    if (rc == WSS_OK && wss_db_run(s->db,
                                   "INSERT INTO outbox (kind, message_id, gateway_url, body, user_id, state, attempts,"
                                   " next_attempt_ms, lease_until_ms, created_ms, updated_ms)"
                                   " VALUES ('sdae', ?, ?, ?, NULL, 'pending', 0, ?, 0, ?, ?)",
                                   "tttiii", message_id, r->gateway_url, sdae_body, now_ms, now_ms, now_ms) < 0)
        rc = write_failed(s->db, "report event");
    if (rc == WSS_OK)
        rc = commit(s->db);
    else
        rollback(s->db);
    write_unlock(s);
    return rc;
}

static wss_err sq_report_get(cloud_store *base, const char *device_id, json_t **out)
{
    sqlite_store *s = sq(base);
    if (!out || !device_id)
        return WSS_ERR_INVALID;
    *out = NULL;
    reader *r = reader_take(s);
    sqlite3_stmt *st = r->report_get;
    wss_err rc = WSS_ERR_NOT_FOUND;
    int step = sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC) == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
    if (step == SQLITE_ROW) {
        /* report_add only accepts a JSON array here. */
        json_t *categories = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        *out = json_pack("{s:o, s:o, s:o, s:o, s:I}", "device_id", json_text(st, 0), "global_device_id",
                         json_text(st, 1), "naming_categories", categories ? categories : json_array(), "gateway_url",
                         json_text(st, 3), "created_ms", (json_int_t)sqlite3_column_int64(st, 4));
        rc = *out ? WSS_OK : WSS_ERR_NOMEM;
    } else if (step != SQLITE_DONE)
        rc = store_failed(r->db, "report get");
    reader_give(r, st);
    return rc;
}

void cloud_binding_free(cloud_binding *b)
{
    if (!b)
        return;
    free(b->friendly_name);
    free(b->naming_categories);
    b->friendly_name = b->naming_categories = NULL;
}

static wss_err sq_binding_get(cloud_store *base, const char *device_id, cloud_binding *out)
{
    sqlite_store *s = sq(base);
    if (!out || !device_id)
        return WSS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    reader *r = reader_take(s);
    sqlite3_stmt *st = r->binding_get;
    wss_err rc = WSS_ERR_NOT_FOUND;
    int step = sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC) == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
    if (step == SQLITE_ROW) {
        snprintf(out->user_id, sizeof out->user_id, "%s", (const char *)sqlite3_column_text(st, 0));
        out->friendly_name = wss_db_column_strdup(st, 1);
        out->naming_categories = wss_db_column_strdup(st, 2);
        rc = WSS_OK;
        if (!out->naming_categories || (!out->friendly_name && sqlite3_column_type(st, 1) != SQLITE_NULL)) {
            cloud_binding_free(out);
            rc = WSS_ERR_NOMEM;
        }
    } else if (step != SQLITE_DONE)
        rc = store_failed(r->db, "binding get");
    reader_give(r, st);
    return rc;
}

/* ---- outbox ------------------------------------------------------------------ */

void cloud_outbox_item_free(cloud_outbox_item *item)
{
    if (!item)
        return;
    free(item->gateway_url);
    free(item->body);
    free(item->user_id);
    free(item->device_id);
    item->gateway_url = item->body = item->user_id = item->device_id = NULL;
}

static wss_err sq_outbox_add(cloud_store *base, const char *kind, const char *message_id, const char *gateway_url,
                             const char *body, const char *user_id, long long now_ms)
{
    sqlite_store *s = sq(base);
    if (!fits(kind, MEMBER_SIZE(cloud_outbox_item, kind)) ||
        !fits(message_id, MEMBER_SIZE(cloud_outbox_item, message_id)) || !fits(gateway_url, URL_SIZE) || !body)
        return WSS_ERR_INVALID;
    write_lock(s);
    wss_err rc = WSS_OK;
    if (wss_db_run(s->db,
                   "INSERT INTO outbox (kind, message_id, gateway_url, body, user_id, state, attempts,"
                   " next_attempt_ms, lease_until_ms, created_ms, updated_ms)"
                   " VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, 0, ?, ?)",
                   "tttttiii", kind, message_id, gateway_url, body, user_id, now_ms, now_ms, now_ms) < 0)
        rc = write_failed(s->db, "outbox add");
    write_unlock(s);
    return rc;
}

/* Copies the claimed row into item (zeroed first); WSS_ERR_NOMEM leaves it freed. */
static wss_err item_from_row(sqlite3_stmt *st, cloud_outbox_item *item)
{
    memset(item, 0, sizeof *item);
    item->id = sqlite3_column_int64(st, 0);
    snprintf(item->kind, sizeof item->kind, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(item->message_id, sizeof item->message_id, "%s", (const char *)sqlite3_column_text(st, 2));
    item->gateway_url = wss_db_column_strdup(st, 3);
    item->body = wss_db_column_strdup(st, 4);
    item->user_id = wss_db_column_strdup(st, 5);
    item->attempts = sqlite3_column_int(st, 6);
    item->server_errors = sqlite3_column_int(st, 7);
    item->device_id = wss_db_column_strdup(st, 8);
    if (!item->gateway_url || !item->body || (!item->user_id && sqlite3_column_type(st, 5) != SQLITE_NULL) ||
        (!item->device_id && sqlite3_column_type(st, 8) != SQLITE_NULL)) {
        cloud_outbox_item_free(item);
        return WSS_ERR_NOMEM;
    }
    return WSS_OK;
}

/* The due events, oldest first, read through the partial index of pending
 * events by due time (named, so that no plan sorts every pending event). */
#define OUTBOX_DUE_SQL                                                                                                 \
    "SELECT id, kind, message_id, gateway_url, body, user_id, attempts, server_errors, device_id"                      \
    " FROM outbox INDEXED BY outbox_due"                                                                               \
    " WHERE state = 'pending' AND next_attempt_ms <= ?1 AND lease_until_ms <= ?1"                                      \
    " ORDER BY next_attempt_ms, id LIMIT ?2"

static wss_err sq_outbox_claim(cloud_store *base, long long now_ms, long long lease_ms, int max,
                               cloud_outbox_item *items, int *n)
{
    sqlite_store *s = sq(base);
    if (!n || lease_ms < 0 || (max > 0 && !items))
        return WSS_ERR_INVALID;
    *n = 0;
    if (max <= 0)
        return WSS_OK;

    if (s->committer_started) {
        bind_req req = {.op = REQ_CLAIM,
                        .now_ms = now_ms,
                        .next_ms = now_ms + lease_ms,
                        .max = max,
                        .items = items,
                        .rc = WSS_ERR_STORE};
        if (submit(s, &req)) {
            *n = req.rc == WSS_OK ? req.got : 0;
            return req.rc;
        }
    }
    write_lock(s);
    int got = 0;
    wss_err rc = begin(s->db);
    sqlite3_stmt *sel = NULL, *upd = NULL;
    if (rc == WSS_OK) {
        sel = wss_db_prepare(s->db, OUTBOX_DUE_SQL, "ii", now_ms, (long long)max);
        upd = wss_db_prepare(s->db, "UPDATE outbox SET lease_until_ms = ? WHERE id = ?", "i", now_ms + lease_ms);
        if (!sel || !upd)
            rc = store_failed(s->db, "outbox claim");
    }
    while (rc == WSS_OK) {
        int step = sqlite3_step(sel);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_failed(s->db, "outbox claim");
            break;
        }
        rc = item_from_row(sel, &items[got]);
        if (rc != WSS_OK)
            break;
        got++;
        sqlite3_bind_int64(upd, 2, items[got - 1].id);
        if (sqlite3_step(upd) != SQLITE_DONE)
            rc = store_failed(s->db, "outbox lease");
        sqlite3_reset(upd);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    if (rc == WSS_OK)
        rc = commit(s->db);
    else
        rollback(s->db);
    write_unlock(s);

    if (rc != WSS_OK) {
        for (int i = 0; i < got; i++)
            cloud_outbox_item_free(&items[i]);
        got = 0;
    }
    *n = got;
    return rc;
}

static wss_err sq_outbox_delivered(cloud_store *base, long long id, int attempts, long long now_ms)
{
    sqlite_store *s = sq(base);
    if (s->committer_started) {
        bind_req req = {
            .op = REQ_DELIVERED, .event_id = id, .attempts = attempts, .now_ms = now_ms, .rc = WSS_ERR_STORE};
        if (submit(s, &req))
            return req.rc;
    }
    write_lock(s);
    int changes = wss_db_run(s->db,
                             "UPDATE outbox SET state = 'delivered', attempts = ?, lease_until_ms = 0, updated_ms = ?"
                             " WHERE id = ?",
                             "iii", (long long)attempts, now_ms, id);
    wss_err rc = changed_one(s->db, changes, "outbox delivered");
    write_unlock(s);
    return rc;
}

static wss_err sq_outbox_retry_at(cloud_store *base, long long id, long long next_ms, int attempts, int server_errors,
                                  const char *last_error)
{
    sqlite_store *s = sq(base);
    if (s->committer_started) {
        bind_req req = {.op = REQ_RETRY,
                        .event_id = id,
                        .next_ms = next_ms,
                        .attempts = attempts,
                        .server_errors = server_errors,
                        .last_error = last_error,
                        .rc = WSS_ERR_STORE};
        if (submit(s, &req))
            return req.rc;
    }
    write_lock(s);
    int changes = wss_db_run(s->db,
                             "UPDATE outbox SET next_attempt_ms = ?, attempts = ?, server_errors = ?, last_error = ?,"
                             " lease_until_ms = 0 WHERE id = ? AND state = 'pending'",
                             "iiiti", next_ms, (long long)attempts, (long long)server_errors, last_error, id);
    wss_err rc = changed_one(s->db, changes, "outbox retry");
    write_unlock(s);
    return rc;
}

static wss_err sq_outbox_dead(cloud_store *base, long long id, int attempts, int server_errors, int http_status,
                              const char *code, const char *description, long long now_ms)
{
    sqlite_store *s = sq(base);
    write_lock(s);
    int changes =
        http_status > 0
            ? wss_db_run(s->db,
                         "UPDATE outbox SET state = 'dead', attempts = ?, server_errors = ?, http_status = ?,"
                         " code = ?, description = ?, lease_until_ms = 0, updated_ms = ?"
                         " WHERE id = ?",
                         "iiittii", (long long)attempts, (long long)server_errors, (long long)http_status, code,
                         description, now_ms, id)
            : wss_db_run(s->db,
                         "UPDATE outbox SET state = 'dead', attempts = ?, server_errors = ?, http_status = NULL,"
                         " code = ?, description = ?, lease_until_ms = 0, updated_ms = ?"
                         " WHERE id = ?",
                         "iittii", (long long)attempts, (long long)server_errors, code, description, now_ms, id);
    wss_err rc = changed_one(s->db, changes, "outbox dead");
    write_unlock(s);
    return rc;
}

static int is_outbox_state(const char *state)
{
    return state && (!strcmp(state, "pending") || !strcmp(state, "dead") || !strcmp(state, "delivered"));
}

static json_t *outbox_row_json(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:i, s:i, s:I, s:o, s:o, s:o, s:o, s:I, s:I}", "id",
                     (json_int_t)sqlite3_column_int64(st, 0), "kind", json_text(st, 1), "message_id", json_text(st, 2),
                     "gateway_url", json_text(st, 3), "state", json_text(st, 4), "attempts", sqlite3_column_int(st, 5),
                     "server_errors", sqlite3_column_int(st, 13), "next_attempt_ms",
                     (json_int_t)sqlite3_column_int64(st, 6), "last_error", json_text(st, 7), "http_status",
                     json_integer_or_null(st, 8), "code", json_text(st, 9), "description", json_text(st, 10),
                     "created_ms", (json_int_t)sqlite3_column_int64(st, 11), "updated_ms",
                     (json_int_t)sqlite3_column_int64(st, 12));
}

static wss_err sq_outbox_list(cloud_store *base, const char *state, int limit, json_t **out)
{
    sqlite_store *s = sq(base);
    if (!out || !is_outbox_state(state))
        return WSS_ERR_INVALID;
    *out = NULL;
    json_t *list = json_array();
    if (!list)
        return WSS_ERR_NOMEM;

    read_lock(s);
    wss_err rc = WSS_OK;
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT id, kind, message_id, gateway_url, state, attempts, next_attempt_ms,"
                                      " last_error, http_status, code, description, created_ms, updated_ms,"
                                      " server_errors FROM outbox WHERE state = ? ORDER BY id LIMIT ?",
                                      "ti", state, limit > 0 ? (long long)limit : -1LL);
    if (!st)
        rc = store_failed(s->db, "outbox list");
    while (rc == WSS_OK) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW)
            rc = store_failed(s->db, "outbox list");
        else if (json_array_append_new(list, outbox_row_json(st)) != 0)
            rc = WSS_ERR_NOMEM;
    }
    sqlite3_finalize(st);
    read_unlock(s);

    if (rc != WSS_OK)
        json_decref(list);
    else
        *out = list;
    return rc;
}

static wss_err sq_outbox_requeue(cloud_store *base, long long id, long long now_ms)
{
    sqlite_store *s = sq(base);
    write_lock(s);
    int changes =
        wss_db_run(s->db,
                   "UPDATE outbox SET state = 'pending', attempts = 0, server_errors = 0, next_attempt_ms = ?,"
                   " lease_until_ms = 0, updated_ms = ? WHERE id = ? AND state = 'dead'",
                   "iii", now_ms, now_ms, id);
    wss_err rc = changed_one(s->db, changes, "outbox requeue");
    write_unlock(s);
    return rc;
}

/* ---- users and their account-linking tokens ------------------------------------ */

static wss_err sq_user_add(cloud_store *base, const char *user_id, const char *name, long long now_ms)
{
    sqlite_store *s = sq(base);
    if (!fits(user_id, MEMBER_SIZE(cloud_user, user_id)))
        return WSS_ERR_INVALID;
    write_lock(s);
    wss_err rc = WSS_OK;
    if (wss_db_run(s->db, "INSERT INTO users (user_id, name, created_ms) VALUES (?, ?, ?)", "tti", user_id, name,
                   now_ms) < 0)
        rc = write_failed(s->db, "user add");
    write_unlock(s);
    return rc;
}

static wss_err sq_user_token_add(cloud_store *base, const char *token_sha, const char *user_id, long long expires_ms)
{
    sqlite_store *s = sq(base);
    if (!is_sha256_hex(token_sha) || !fits(user_id, MEMBER_SIZE(cloud_user, user_id)))
        return WSS_ERR_INVALID;
    write_lock(s);
    wss_err rc = WSS_OK;
    if (wss_db_run(s->db, "INSERT INTO user_tokens (token_sha, user_id, expires_ms) VALUES (?, ?, ?)", "tti", token_sha,
                   user_id, expires_ms) < 0)
        rc = write_failed(s->db, "user token add");
    write_unlock(s);
    return rc;
}

static wss_err sq_user_by_token(cloud_store *base, const char *token_sha, cloud_user *out)
{
    sqlite_store *s = sq(base);
    if (!out || !is_sha256_hex(token_sha))
        return WSS_ERR_INVALID;
    reader *r = reader_take(s);
    sqlite3_stmt *st = r->user_by_token;
    wss_err rc = WSS_ERR_NOT_FOUND;
    int step = sqlite3_bind_text(st, 1, token_sha, -1, SQLITE_STATIC) == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
    if (step == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        snprintf(out->user_id, sizeof out->user_id, "%s", (const char *)sqlite3_column_text(st, 0));
        out->token_expires_ms = sqlite3_column_int64(st, 1);
        rc = WSS_OK;
    } else if (step != SQLITE_DONE)
        rc = store_failed(r->db, "user by token");
    reader_give(r, st);
    return rc;
}

/* ---- bindings: group commit ---------------------------------------------------- */

static int step_done(sqlite3_stmt *st)
{
    int ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    return ok;
}

static void bind_text_or_null(sqlite3_stmt *st, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}

/* Inserts a request's event (the binding was just made by this request). */
static wss_err bind_event_insert(sqlite_store *s, const bind_req *r)
{
    sqlite3_stmt *ev = s->bind_event;
    const cloud_outbox_event *e = r->event;
    sqlite3_bind_text(ev, 1, e->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(ev, 2, e->message_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ev, 3, e->gateway_url, -1, SQLITE_STATIC);
    sqlite3_bind_text(ev, 4, e->body ? e->body : "", -1, SQLITE_STATIC);
    bind_text_or_null(ev, 5, e->user_id);
    sqlite3_bind_int64(ev, 6, r->now_ms);
    bind_text_or_null(ev, 7, e->body ? NULL : e->device_id);
    int step = sqlite3_step(ev);
    int code = sqlite3_extended_errcode(s->bind_db);
    sqlite3_reset(ev);
    sqlite3_clear_bindings(ev);
    if (step == SQLITE_DONE)
        return WSS_OK;
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        return WSS_ERR_EXISTS;
    return store_failed(s->bind_db, "bind event");
}

/* One request inside the committer's open transaction. WSS_ERR_STORE means
 * the transaction itself is in trouble and the whole batch must fail. An
 * event refused for its own sake (a message_id already used) takes its
 * binding back with it (the binding was inserted by this request, so
 * deleting it again leaves the store as it was) and leaves the rest of the
 * batch alone; a failed statement undoes its own changes. */
static wss_err bind_one(sqlite_store *s, bind_req *r)
{
    sqlite3_stmt *ins = s->bind_insert, *own = s->bind_owner;
    r->created = 0;
    wss_err rc = WSS_OK;
    sqlite3_bind_text(ins, 1, r->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, r->user_id, -1, SQLITE_STATIC);
    bind_text_or_null(ins, 3, r->friendly_name);
    sqlite3_bind_int64(ins, 4, r->now_ms);
    int step = sqlite3_step(ins);
    int code = sqlite3_extended_errcode(s->bind_db);
    int changes = sqlite3_changes(s->bind_db);
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    if (step != SQLITE_DONE && code == SQLITE_CONSTRAINT_FOREIGNKEY)
        return WSS_ERR_NOT_FOUND; /* the device or the user is unknown */
    if (step != SQLITE_DONE)
        return store_failed(s->bind_db, "bind");
    if (changes == 1) {
        r->created = 1;
        if (r->event)
            rc = bind_event_insert(s, r);
        if (rc == WSS_ERR_STORE)
            return rc;
        if (rc != WSS_OK) {
            r->created = 0;
            sqlite3_bind_text(s->bind_undo, 1, r->device_id, -1, SQLITE_STATIC);
            int undone = step_done(s->bind_undo);
            sqlite3_clear_bindings(s->bind_undo);
            if (!undone)
                return store_failed(s->bind_db, "bind undo");
        }
    } else {
        /* Nothing inserted: bound already (to this user or another). */
        sqlite3_bind_text(own, 1, r->device_id, -1, SQLITE_STATIC);
        step = sqlite3_step(own);
        if (step == SQLITE_ROW)
            rc = strcmp((const char *)sqlite3_column_text(own, 0), r->user_id) == 0 ? WSS_OK : WSS_ERR_EXISTS;
        else if (step == SQLITE_DONE)
            rc = WSS_ERR_NOT_FOUND;
        else
            rc = store_failed(s->bind_db, "bind owner");
        sqlite3_reset(own);
        sqlite3_clear_bindings(own);
        if (rc == WSS_ERR_STORE)
            return rc;
    }
    return rc;
}

/* An outbox write inside the committer's open transaction, as
 * sq_outbox_delivered and sq_outbox_retry_at run it on the main connection. */
static wss_err outbox_write_one(sqlite_store *s, bind_req *r)
{
    sqlite3_stmt *st;
    const char *what;
    if (r->op == REQ_DELIVERED) {
        st = s->ob_delivered;
        what = "outbox delivered";
        sqlite3_bind_int64(st, 1, r->attempts);
        sqlite3_bind_int64(st, 2, r->now_ms);
        sqlite3_bind_int64(st, 3, r->event_id);
    } else {
        st = s->ob_retry;
        what = "outbox retry";
        sqlite3_bind_int64(st, 1, r->next_ms);
        sqlite3_bind_int64(st, 2, r->attempts);
        sqlite3_bind_int64(st, 3, r->server_errors);
        bind_text_or_null(st, 4, r->last_error);
        sqlite3_bind_int64(st, 5, r->event_id);
    }
    int step = sqlite3_step(st);
    int changes = step == SQLITE_DONE ? sqlite3_changes(s->bind_db) : -1;
    wss_err rc = changed_one(s->bind_db, changes, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* An outbox claim inside the committer's open transaction, as
 * sq_outbox_claim runs it on the main connection. The items are read first
 * and leased once all of them are in memory. */
static wss_err outbox_claim_one(sqlite_store *s, bind_req *r)
{
    sqlite3_stmt *sel = s->ob_due, *upd = s->ob_lease;
    wss_err rc = WSS_OK;
    r->got = 0;
    sqlite3_bind_int64(sel, 1, r->now_ms);
    sqlite3_bind_int64(sel, 2, r->max);
    while (rc == WSS_OK && r->got < r->max) {
        int step = sqlite3_step(sel);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW)
            rc = store_failed(s->bind_db, "outbox claim");
        else if ((rc = item_from_row(sel, &r->items[r->got])) == WSS_OK)
            r->got++;
    }
    sqlite3_reset(sel);
    sqlite3_clear_bindings(sel);
    for (int i = 0; rc == WSS_OK && i < r->got; i++) {
        sqlite3_bind_int64(upd, 1, r->next_ms);
        sqlite3_bind_int64(upd, 2, r->items[i].id);
        if (sqlite3_step(upd) != SQLITE_DONE)
            rc = store_failed(s->bind_db, "outbox lease");
        sqlite3_reset(upd);
    }
    sqlite3_clear_bindings(upd);
    if (rc != WSS_OK) {
        for (int i = 0; i < r->got; i++)
            cloud_outbox_item_free(&r->items[i]);
        r->got = 0;
    }
    return rc;
}

/* Runs a batch in one transaction. If anything goes wrong with the
 * transaction (as opposed to a request's own outcome), nothing of the batch
 * is kept and every request gets WSS_ERR_STORE. */
static void bind_batch(sqlite_store *s, bind_req *batch)
{
    int ok;
    turn_take(&s->write_turn);
    ok = step_done(s->bind_begin);
    if (!ok)
        store_failed(s->bind_db, "bind begin");
    for (bind_req *r = batch; ok && r; r = r->next) {
        r->rc = r->op == REQ_BIND    ? bind_one(s, r)
                : r->op == REQ_CLAIM ? outbox_claim_one(s, r)
                                     : outbox_write_one(s, r);
        ok = r->rc != WSS_ERR_STORE;
    }
    if (ok) {
        ok = step_done(s->bind_commit);
        if (!ok)
            store_failed(s->bind_db, "bind commit");
    }
    if (!ok && !sqlite3_get_autocommit(s->bind_db))
        step_done(s->bind_rollback);
    turn_give(&s->write_turn);

    if (!ok)
        for (bind_req *r = batch; r; r = r->next) {
            if (r->op == REQ_CLAIM && r->rc == WSS_OK)
                for (int i = 0; i < r->got; i++)
                    cloud_outbox_item_free(&r->items[i]);
            r->got = 0;
            r->rc = WSS_ERR_STORE;
            r->created = 0;
        }
}

/* Wakes the callers of the requests first..last (their outcomes are final). */
static void wake_callers(bind_req *first)
{
    /* A caller may return (and its request vanish) as soon as its lock is
     * released, so next is read before that. */
    for (bind_req *r = first, *next; r; r = next) {
        next = r->next;
        pthread_mutex_lock(&r->m);
        r->done = 1;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->m);
    }
}

/* Waking a caller costs a system call and a scheduler round trip; done by
 * the committer itself, a batch's wake-ups held up the next batch (about a
 * fifth of the committer's time). Without a waker, the committer wakes them. */
static void hand_to_waker(sqlite_store *s, bind_req *first, bind_req *last)
{
    if (!s->waker_started)
        return wake_callers(first);
    pthread_mutex_lock(&s->w_lock);
    if (s->w_tail)
        s->w_tail->next = first;
    else
        s->w_head = first;
    s->w_tail = last;
    pthread_cond_signal(&s->w_work);
    pthread_mutex_unlock(&s->w_lock);
}

static void *waker_main(void *arg)
{
    sqlite_store *s = arg;
    pthread_mutex_lock(&s->w_lock);
    for (;;) {
        while (!s->w_head && !s->w_stopping)
            pthread_cond_wait(&s->w_work, &s->w_lock);
        if (!s->w_head)
            break; /* stopping, and every caller handed over is awake */
        bind_req *first = s->w_head;
        s->w_head = s->w_tail = NULL;
        pthread_mutex_unlock(&s->w_lock);
        wake_callers(first);
        pthread_mutex_lock(&s->w_lock);
    }
    pthread_mutex_unlock(&s->w_lock);
    return NULL;
}

static void *committer_main(void *arg)
{
    sqlite_store *s = arg;
    pthread_mutex_lock(&s->q_lock);
    for (;;) {
        while (!s->q_head && !s->stopping)
            pthread_cond_wait(&s->q_work, &s->q_lock);
        if (!s->q_head)
            break; /* stopping, and every queued bind is done */

        /* Take up to BIND_BATCH_MAX requests off the queue. */
        bind_req *batch = s->q_head, *last = batch;
        size_t n = 1, binds = batch->op == REQ_BIND;
        while (n < BIND_BATCH_MAX && last->next) {
            last = last->next;
            n++;
            binds += last->op == REQ_BIND;
        }
        s->q_head = last->next;
        if (!s->q_head)
            s->q_tail = NULL;
        last->next = NULL;
        s->q_len -= n;
        pthread_cond_broadcast(&s->q_space);
        pthread_mutex_unlock(&s->q_lock);

        bind_batch(s, batch);

        /* Counted before anyone is woken, so a caller that returned sees its bind counted. */
        pthread_mutex_lock(&s->q_lock);
        s->stats.binds += binds;
        if (binds)
            s->stats.bind_transactions++;
        pthread_mutex_unlock(&s->q_lock);

        hand_to_waker(s, batch, last);
        pthread_mutex_lock(&s->q_lock);
    }
    pthread_mutex_unlock(&s->q_lock);
    return NULL;
}

/* An event the outbox would take (see sq_outbox_add). */
static int event_valid(const cloud_outbox_event *e)
{
    return fits(e->kind, MEMBER_SIZE(cloud_outbox_item, kind)) &&
           fits(e->message_id, MEMBER_SIZE(cloud_outbox_item, message_id)) && fits(e->gateway_url, URL_SIZE) &&
           (e->body || fits(e->device_id, DEVICE_ID_SIZE));
}

/* Queues req for the committer and sleeps until it is done. 0 when the
 * store is stopping and nothing was queued. */
static int submit(sqlite_store *s, bind_req *req)
{
    pthread_mutex_init(&req->m, NULL);
    pthread_cond_init(&req->wake, NULL);

    pthread_mutex_lock(&s->q_lock);
    while (s->q_len >= BIND_QUEUE_MAX && !s->stopping)
        pthread_cond_wait(&s->q_space, &s->q_lock);
    int queued = !s->stopping;
    if (queued) {
        if (s->q_tail)
            s->q_tail->next = req;
        else
            s->q_head = req;
        s->q_tail = req;
        s->q_len++;
        pthread_cond_signal(&s->q_work);
    }
    pthread_mutex_unlock(&s->q_lock);

    if (queued) {
        pthread_mutex_lock(&req->m);
        while (!req->done)
            pthread_cond_wait(&req->wake, &req->m);
        pthread_mutex_unlock(&req->m);
    }
    pthread_cond_destroy(&req->wake);
    pthread_mutex_destroy(&req->m);
    return queued;
}

static wss_err sq_bind(cloud_store *base, const char *device_id, const char *user_id, const char *friendly_name,
                       const cloud_outbox_event *on_create, long long now_ms, int *created)
{
    sqlite_store *s = sq(base);
    if (created)
        *created = 0;
    if (!device_id || !*device_id || !user_id || !*user_id || (on_create && !event_valid(on_create)))
        return WSS_ERR_INVALID;

    bind_req req = {.device_id = device_id,
                    .user_id = user_id,
                    .friendly_name = friendly_name,
                    .event = on_create,
                    .now_ms = now_ms,
                    .rc = WSS_ERR_STORE};
    submit(s, &req);

    if (created)
        *created = req.created;
    return req.rc;
}

void cloud_store_sqlite_get_stats(cloud_store *base, cloud_store_sqlite_stats *out)
{
    sqlite_store *s = sq(base);
    pthread_mutex_lock(&s->q_lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->q_lock);
}

static wss_err sq_user_devices(cloud_store *base, const char *user_id, json_t **out)
{
    sqlite_store *s = sq(base);
    if (!out || !user_id)
        return WSS_ERR_INVALID;
    *out = NULL;
    json_t *list = json_array();
    if (!list)
        return WSS_ERR_NOMEM;

    read_lock(s);
    wss_err rc = WSS_OK;
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT b.device_id, b.friendly_name, r.naming_categories"
                                      " FROM bindings b JOIN reports r ON r.device_id = b.device_id"
                                      " WHERE b.user_id = ? ORDER BY b.created_ms, b.device_id",
                                      "t", user_id);
    if (!st)
        rc = store_failed(s->db, "user devices");
    while (rc == WSS_OK) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_failed(s->db, "user devices");
            break;
        }
        /* report_add only accepts a JSON array here. */
        json_t *categories = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        json_t *device = json_pack("{s:o, s:o, s:o}", "device_id", json_text(st, 0), "friendly_name", json_text(st, 1),
                                   "naming_categories", categories ? categories : json_array());
        if (json_array_append_new(list, device) != 0)
            rc = WSS_ERR_NOMEM;
    }
    sqlite3_finalize(st);
    read_unlock(s);

    if (rc != WSS_OK)
        json_decref(list);
    else
        *out = list;
    return rc;
}

/* ---- the user's Alexa grant ------------------------------------------------------ */

void cloud_grant_free(cloud_grant *g)
{
    if (!g)
        return;
    wipe_free(g->access_token);
    wipe_free(g->refresh_token);
    g->access_token = g->refresh_token = NULL;
}

static wss_err sq_grant_put(cloud_store *base, const char *user_id, const char *access_token, const char *refresh_token,
                            long long expires_ms)
{
    sqlite_store *s = sq(base);
    if (!fits(user_id, MEMBER_SIZE(cloud_user, user_id)) || !access_token)
        return WSS_ERR_INVALID;
    write_lock(s);
    wss_err rc = WSS_OK;
    /* The tokens are bound in place (SQLITE_STATIC), not copied into
     * parameter memory that SQLite would free without clearing it. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO grants (user_id, access_token, refresh_token, expires_ms) VALUES (?, ?, ?, ?)"
                           " ON CONFLICT (user_id) DO UPDATE SET access_token = excluded.access_token,"
                           " refresh_token = excluded.refresh_token, expires_ms = excluded.expires_ms",
                           -1, &st, NULL) != SQLITE_OK)
        rc = store_failed(s->db, "grant put");
    else {
        sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, access_token, -1, SQLITE_STATIC);
        if (refresh_token)
            sqlite3_bind_text(st, 3, refresh_token, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 3);
        sqlite3_bind_int64(st, 4, expires_ms);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = write_failed(s->db, "grant put");
    }
    sqlite3_finalize(st);
    write_unlock(s);
    return rc;
}

static wss_err sq_grant_get(cloud_store *base, const char *user_id, cloud_grant *out)
{
    sqlite_store *s = sq(base);
    if (!out || !user_id)
        return WSS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    read_lock(s);
    wss_err rc = WSS_ERR_NOT_FOUND;
    sqlite3_stmt *st = wss_db_prepare(
        s->db, "SELECT access_token, refresh_token, expires_ms FROM grants WHERE user_id = ?", "t", user_id);
    int step = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (step == SQLITE_ROW) {
        out->access_token = wss_db_column_strdup(st, 0);
        out->refresh_token = wss_db_column_strdup(st, 1);
        out->expires_ms = sqlite3_column_int64(st, 2);
        rc = WSS_OK;
        if (!out->access_token || (!out->refresh_token && sqlite3_column_type(st, 1) != SQLITE_NULL)) {
            cloud_grant_free(out);
            rc = WSS_ERR_NOMEM;
        }
    } else if (step != SQLITE_DONE)
        rc = store_failed(s->db, "grant get");
    sqlite3_finalize(st);
    read_unlock(s);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void destroy(sqlite_store *s)
{
    for (int i = 0; i < READERS; i++) {
        reader *r = &s->readers[i];
        sqlite3_finalize(r->user_by_token);
        sqlite3_finalize(r->report_get);
        sqlite3_finalize(r->binding_get);
        sqlite3_close(r->db);
        pthread_mutex_destroy(&r->lock);
    }
    sqlite3_finalize(s->bind_begin);
    sqlite3_finalize(s->bind_commit);
    sqlite3_finalize(s->bind_rollback);
    sqlite3_finalize(s->bind_insert);
    sqlite3_finalize(s->bind_owner);
    sqlite3_finalize(s->bind_undo);
    sqlite3_finalize(s->bind_event);
    sqlite3_finalize(s->ob_delivered);
    sqlite3_finalize(s->ob_retry);
    sqlite3_finalize(s->ob_due);
    sqlite3_finalize(s->ob_lease);
    sqlite3_close(s->bind_db);
    sqlite3_close(s->db);
    pthread_cond_destroy(&s->w_work);
    pthread_mutex_destroy(&s->w_lock);
    pthread_cond_destroy(&s->q_space);
    pthread_cond_destroy(&s->q_work);
    pthread_mutex_destroy(&s->q_lock);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->write_turn.turn);
    pthread_mutex_destroy(&s->write_turn.m);
    free(s);
}

static void sq_close(cloud_store *base)
{
    if (!base)
        return;
    sqlite_store *s = sq(base);
    if (s->committer_started) {
        pthread_mutex_lock(&s->q_lock);
        s->stopping = 1;
        pthread_cond_broadcast(&s->q_work);
        pthread_cond_broadcast(&s->q_space);
        pthread_mutex_unlock(&s->q_lock);
        pthread_join(s->committer, NULL);
    }
    if (s->waker_started) {
        pthread_mutex_lock(&s->w_lock);
        s->w_stopping = 1;
        pthread_cond_signal(&s->w_work);
        pthread_mutex_unlock(&s->w_lock);
        pthread_join(s->waker, NULL);
    }
    destroy(s);
}

static const cloud_store_ops sqlite_ops = {
    .close = sq_close,
    .report_add = sq_report_add,
    .report_get = sq_report_get,
    .outbox_add = sq_outbox_add,
    .outbox_claim = sq_outbox_claim,
    .outbox_delivered = sq_outbox_delivered,
    .outbox_retry_at = sq_outbox_retry_at,
    .outbox_dead = sq_outbox_dead,
    .outbox_list = sq_outbox_list,
    .outbox_requeue = sq_outbox_requeue,
    .user_add = sq_user_add,
    .user_token_add = sq_user_token_add,
    .user_by_token = sq_user_by_token,
    .bind = sq_bind,
    .binding_get = sq_binding_get,
    .user_devices = sq_user_devices,
    .grant_put = sq_grant_put,
    .grant_get = sq_grant_get,
};

static int prepare_one(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK;
}

/* The committer's statements, prepared once and reused for every bind. The
 * binding's foreign keys refuse an unknown device or user (the statement
 * then undoes itself and the transaction goes on); checking them again in
 * the insert would look up both rows twice. */
static wss_err prepare_committer(sqlite_store *s, char *err, size_t errlen)
{
    sqlite3 *db = s->bind_db;
    if (prepare_one(db, &s->bind_begin, "BEGIN IMMEDIATE") && prepare_one(db, &s->bind_commit, "COMMIT") &&
        prepare_one(db, &s->bind_rollback, "ROLLBACK") &&
        prepare_one(db, &s->bind_insert,
                    "INSERT INTO bindings (device_id, user_id, friendly_name, created_ms) VALUES (?1, ?2, ?3, ?4)"
                    " ON CONFLICT (device_id) DO NOTHING") &&
        prepare_one(db, &s->bind_owner, "SELECT user_id FROM bindings WHERE device_id = ?") &&
        prepare_one(db, &s->bind_undo, "DELETE FROM bindings WHERE device_id = ?") &&
        prepare_one(db, &s->bind_event,
                    "INSERT INTO outbox (kind, message_id, gateway_url, body, user_id, state, attempts,"
                    " next_attempt_ms, lease_until_ms, created_ms, updated_ms, device_id)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, 0, ?6, ?6, ?7)") &&
        prepare_one(db, &s->ob_delivered,
                    "UPDATE outbox SET state = 'delivered', attempts = ?, lease_until_ms = 0, updated_ms = ?"
                    " WHERE id = ?") &&
        prepare_one(db, &s->ob_retry,
                    "UPDATE outbox SET next_attempt_ms = ?, attempts = ?, server_errors = ?, last_error = ?,"
                    " lease_until_ms = 0 WHERE id = ? AND state = 'pending'") &&
        prepare_one(db, &s->ob_due, OUTBOX_DUE_SQL) &&
        prepare_one(db, &s->ob_lease, "UPDATE outbox SET lease_until_ms = ? WHERE id = ?"))
        return WSS_OK;
    snprintf(err, errlen, "cannot prepare the bind statements: %s", sqlite3_errmsg(db));
    return WSS_ERR_STORE;
}

/* One reader connection with its prepared statements (the schema is already
 * migrated by the main connection). */
static wss_err open_reader(reader *r, const char *path, char *err, size_t errlen)
{
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(r->db, 5000) != SQLITE_OK ||
        sqlite3_prepare_v3(r->db, "SELECT user_id, expires_ms FROM user_tokens WHERE token_sha = ?", -1,
                           SQLITE_PREPARE_PERSISTENT, &r->user_by_token, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(r->db,
                           "SELECT device_id, global_device_id, naming_categories, gateway_url, created_ms"
                           " FROM reports WHERE device_id = ?",
                           -1, SQLITE_PREPARE_PERSISTENT, &r->report_get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(r->db,
                           "SELECT b.user_id, b.friendly_name, r.naming_categories"
                           " FROM bindings b JOIN reports r ON r.device_id = b.device_id WHERE b.device_id = ?",
                           -1, SQLITE_PREPARE_PERSISTENT, &r->binding_get, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open a reader on %s: %s", path, r->db ? sqlite3_errmsg(r->db) : "out of memory");
        return WSS_ERR_STORE;
    }
    return WSS_OK;
}

/* SQLite's memory statistics put every allocation of every connection behind
 * one global mutex; nothing here reads them. Only possible before SQLite is
 * first used in the process (else SQLite refuses and keeps counting). */
static pthread_once_t memstatus_once = PTHREAD_ONCE_INIT;
static void memstatus_off(void) { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

wss_err cloud_store_open_sqlite(const char *path, cloud_store **out, char *err, size_t errlen)
{
    if (!path || !out)
        return WSS_ERR_INVALID;
    *out = NULL;
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return WSS_ERR_NOMEM;
    }
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->write_turn.m, NULL);
    pthread_cond_init(&s->write_turn.turn, NULL);
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_mutex_init(&s->readers[i].lock, NULL);
    pthread_mutex_init(&s->q_lock, NULL);
    pthread_cond_init(&s->q_work, NULL);
    pthread_cond_init(&s->q_space, NULL);
    pthread_mutex_init(&s->w_lock, NULL);
    pthread_cond_init(&s->w_work, NULL);

    pthread_once(&memstatus_once, memstatus_off);
    size_t nmigrations = sizeof cloud_migrations / sizeof *cloud_migrations;
    wss_err rc = wss_db_open(path, cloud_migrations, nmigrations, &s->db, err, errlen);
    if (rc == WSS_OK)
        rc = wss_db_open(path, cloud_migrations, nmigrations, &s->bind_db, err, errlen);
    if (rc == WSS_OK)
        rc = prepare_committer(s, err, errlen);
    for (int i = 0; rc == WSS_OK && i < READERS; i++)
        rc = open_reader(&s->readers[i], path, err, errlen);
    /* The waker first: the committer reads waker_started. Without it, the
     * committer wakes its callers itself. */
    if (rc == WSS_OK)
        s->waker_started = pthread_create(&s->waker, NULL, waker_main, s) == 0;
    if (rc == WSS_OK && pthread_create(&s->committer, NULL, committer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the bind committer thread");
        rc = WSS_ERR_NOMEM;
    }
    if (rc != WSS_OK) {
        sq_close(&s->base); /* stops the waker if it started */
        return rc;
    }
    s->committer_started = 1;
    *out = &s->base;
    return WSS_OK;
}
