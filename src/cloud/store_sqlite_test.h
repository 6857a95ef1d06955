/* store_sqlite_test.h - what the SQLite store counts, for its tests and the
 * benchmark: how many binds it ran and in how many transactions. */
#ifndef WSS_CLOUD_STORE_SQLITE_TEST_H
#define WSS_CLOUD_STORE_SQLITE_TEST_H

#include "cloud/store.h"

typedef struct cloud_store_sqlite_stats {
    unsigned long long binds;             /* bind requests the committer ran (any outcome) */
    unsigned long long bind_transactions; /* transactions it used for them */
} cloud_store_sqlite_stats;

/* The counters since the store was opened; st must come from cloud_store_open_sqlite. */
void cloud_store_sqlite_get_stats(cloud_store *st, cloud_store_sqlite_stats *out);

#endif
