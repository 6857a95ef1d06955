/* store.h - the events of `wss wwa`, kept in SQLite (one file, WAL).
 *
 * The store keeps every event ever imported, in import order; the engine is
 * rebuilt from it for each question. Probes and directive outcomes are kept
 * as columns (they are the bulk); the other events as their JSON line. */
#ifndef WSS_WWA_STORE_H
#define WSS_WWA_STORE_H

#include <stddef.h>

#include "wss/wwa.h"

typedef struct wwa_store wwa_store;

/* Opens (creating and migrating) the store at path. The reason of a failure
 * goes in err. */
wss_err wwa_store_open(const char *path, wwa_store **out, char *err, size_t errlen);
void wwa_store_close(wwa_store *s);

/* Starts, commits or abandons the one transaction an import runs in. */
wss_err wwa_store_begin(wwa_store *s, char *err, size_t errlen);
wss_err wwa_store_commit(wwa_store *s, char *err, size_t errlen);
void wwa_store_rollback(wwa_store *s);

/* Appends one event (inside a transaction for speed and atomicity). */
wss_err wwa_store_append(wwa_store *s, const wss_wwa_event *ev, char *err, size_t errlen);

/* Adds every stored event to e, in the order stored; *count (may be NULL)
 * gets how many. A stored event the engine refuses is WSS_ERR_STORE. */
wss_err wwa_store_load(wwa_store *s, wss_wwa *e, size_t *count, char *err, size_t errlen);

/* The last record id imported from an automatic source ("sim:<skill id>"),
 * 0 when none yet. Set it inside the import's transaction, so that the
 * events and the cursor are kept together or not at all. */
wss_err wwa_store_cursor_get(wwa_store *s, const char *source, long long *last_id, char *err, size_t errlen);
wss_err wwa_store_cursor_set(wwa_store *s, const char *source, long long last_id, char *err, size_t errlen);

#endif
