/* accounting_store: the SQLite database of lifetime usage and finished connections — its schema
 * and migrations, batched writes, searches, usage resets, retention — synchronous, one thread. */
#ifndef ACCOUNTING_STORE_H
#define ACCOUNTING_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accounting_connection.h"
#include "accounting_filter.h"
#include "admin_metrics.h"

struct accounting_store;

#define ACCOUNTING_ERROR_MAX 512

/* A user's lifetime usage: the since-start counters of struct user_usage summed over the
 * server's runs, plus its finished connections' failures by RFC 1928 reply code. */
#define ACCOUNTING_USAGE_FIELDS(FIELD)                                                           \
    FIELD(connections_total)                                                                     \
    FIELD(bytes_up)                                                                              \
    FIELD(bytes_down)                                                                            \
    FIELD(datagrams_up)                                                                          \
    FIELD(datagrams_down)                                                                        \
    FIELD(rule_denials)                                                                          \
    FIELD(limit_refusals)

#define ACCOUNTING_STATUS_CODES 9 /* RFC 1928 REP 0x00..0x08 */

struct accounting_usage {
#define ACCOUNTING_USAGE_MEMBER(name) uint64_t name;
    ACCOUNTING_USAGE_FIELDS(ACCOUNTING_USAGE_MEMBER)
#undef ACCOUNTING_USAGE_MEMBER
    uint64_t failures[ACCOUNTING_STATUS_CODES]; /* finished connections by reply code; [0]
                                                 * unused (success is not a failure) */
    int64_t first_seen_ms; /* 0 = never */
    int64_t last_seen_ms;
};

/* A user's since-start counters as the accounting samples them every batch: what grew since
 * the last sample is added to the lifetime figures, so the hot path counts nothing twice. */
struct accounting_sample {
#define ACCOUNTING_SAMPLE_MEMBER(name) uint64_t name;
    ACCOUNTING_USAGE_FIELDS(ACCOUNTING_SAMPLE_MEMBER)
#undef ACCOUNTING_SAMPLE_MEMBER
};

/* The last reset-usage of a user, or of everything (user ""). */
struct accounting_reset {
    int64_t at_ms;  /* 0 = never reset */
    char by[ACCOUNTING_USER_MAX + 1]; /* the admin who ran it */
};

/* Opens (creating if missing) the database at path: WAL, incremental vacuum, and the schema
 * migrated to this build's version. NULL with error "PATH: what went wrong" (SQLite's words)
 * when it cannot be opened, is not a database or is corrupt, or was written by a newer
 * socks5d (its schema version is above accounting_store_schema_version(): never rewritten).
 * Other handles on the same file (another thread's reader) are waited for up to 5 s. */
struct accounting_store *accounting_store_open(const char *path, char error[ACCOUNTING_ERROR_MAX]);
void accounting_store_close(struct accounting_store *store);
unsigned accounting_store_schema_version(void);

/* One batch is one transaction: begin, any number of the writes below, commit. A write or
 * commit that fails (disk full, I/O error) returns false with error; the caller rolls back
 * and the batch is lost as a whole. */
bool accounting_store_begin(struct accounting_store *store, char error[ACCOUNTING_ERROR_MAX]);
bool accounting_store_commit(struct accounting_store *store, char error[ACCOUNTING_ERROR_MAX]);
void accounting_store_rollback(struct accounting_store *store);

/* Stores connection; sets its history_id. */
bool accounting_store_add_connection(struct accounting_store *store,
                                     struct accounting_connection *connection,
                                     char error[ACCOUNTING_ERROR_MAX]);
/* Adds growth to user's lifetime usage: the counters and failures are added, first_seen
 * keeps the earlier and last_seen the later. Added, not replaced, so that two processes
 * sharing the database (one draining after an upgrade) each count only their own. */
bool accounting_store_add_user_usage(struct accounting_store *store, const char *user,
                                     const struct accounting_usage *growth,
                                     char error[ACCOUNTING_ERROR_MAX]);
/* Adds growth to the global lifetime counters: growth[i] is admin_metrics[i]'s (gauges are
 * ignored). */
bool accounting_store_add_global_usage(struct accounting_store *store,
                                       const uint64_t growth[ADMIN_METRIC_COUNT],
                                       char error[ACCOUNTING_ERROR_MAX]);
/* Records a reset-usage by admin of user ("" = every user and the global counters) at at_ms,
 * and sets the usage it names to zero (first_seen and last_seen stay). Inside a batch it is
 * part of the batch (a rollback undoes it, as it undoes the usage put beside it); outside one
 * it is a transaction of its own. */
bool accounting_store_reset_usage(struct accounting_store *store, const char *user,
                                  const char *admin, int64_t at_ms,
                                  char error[ACCOUNTING_ERROR_MAX]);

/* Reading (outside a batch, from the thread that owns the store). */
typedef void (*accounting_user_visit)(void *context, const char *user,
                                      const struct accounting_usage *usage);
bool accounting_store_load_users(struct accounting_store *store, accounting_user_visit visit,
                                 void *context, char error[ACCOUNTING_ERROR_MAX]);
/* values[i] = admin_metrics[i]'s lifetime value (0 for gauges and counters never stored). */
bool accounting_store_load_global(struct accounting_store *store,
                                  uint64_t values[ADMIN_METRIC_COUNT],
                                  char error[ACCOUNTING_ERROR_MAX]);
/* The last reset of user, or of everything when user is "". */
bool accounting_store_last_reset(struct accounting_store *store, const char *user,
                                 struct accounting_reset *reset,
                                 char error[ACCOUNTING_ERROR_MAX]);

/* ---- Searching the history ---- */

/* Calls visit for each matching stored connection, newest first, until filter->limit rows or
 * visit returns false; *more says whether a matching row is left past the last one visited. */
bool accounting_store_search(struct accounting_store *store,
                             const struct accounting_filter *filter,
                             accounting_connection_visit visit, void *context, bool *more,
                             char error[ACCOUNTING_ERROR_MAX]);

/* ---- Retention ---- */

/* Deletes at most step stored connections that are beyond the newest keep_rows (0 = no row
 * bound), oldest first, then that ended before older_than_ms (0 = no age bound), earliest end
 * first; *deleted says how many. Small steps keep the write lock short; call again while
 * *deleted == step. Inside a batch it is part of the batch. */
bool accounting_store_prune(struct accounting_store *store, int64_t older_than_ms,
                            uint64_t keep_rows, unsigned step, unsigned *deleted,
                            char error[ACCOUNTING_ERROR_MAX]);
/* Returns up to pages free pages to the file system (incremental vacuum). */
bool accounting_store_vacuum_step(struct accounting_store *store, unsigned pages,
                                  char error[ACCOUNTING_ERROR_MAX]);
/* Stored connections, and the database file's pages in use and free (for tests and info). */
bool accounting_store_counts(struct accounting_store *store, uint64_t *connections,
                             uint64_t *page_count, uint64_t *free_pages,
                             char error[ACCOUNTING_ERROR_MAX]);
/* When the database was created (the lifetime figures start there unless reset since). */
bool accounting_store_created(struct accounting_store *store, int64_t *created_ms,
                              char error[ACCOUNTING_ERROR_MAX]);

/* For tests and fault drills: caps the file at pages pages (never below its size now; 0 =
 * SQLite's maximum), so that a batch that needs more fails as on a full disk. */
bool accounting_store_set_max_pages(struct accounting_store *store, uint64_t pages,
                                    char error[ACCOUNTING_ERROR_MAX]);

#endif
