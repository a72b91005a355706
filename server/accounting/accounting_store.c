/* accounting_store: the SQLite database of lifetime usage and finished connections — its schema
 * and migrations, batched writes, searches, usage resets, retention — synchronous, one thread. */
#include "accounting_store.h"

#include "accounting_schema.h"
#include "accounting_search.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

struct accounting_store {
    sqlite3 *db;
    char *path;
    /* The writes every batch makes, prepared once. */
    sqlite3_stmt *add_connection;
    sqlite3_stmt *put_user_usage;
    sqlite3_stmt *put_global_usage;
    bool in_batch;
    /* Stored connections as committed, and the change the open batch makes: pruning by rows
     * needs the count, which SQLite would find only by reading a whole index. */
    uint64_t rows;
    int64_t batch_rows;
};

#define FAILURE_COLUMNS                                                                        \
    "failures_1, failures_2, failures_3, failures_4, failures_5, failures_6, failures_7, "     \
    "failures_8"
#define USAGE_COLUMN(name) #name ", "
#define USAGE_PARAMETER(name) "?, "
#define USAGE_ZERO(name) #name " = 0, "

static const char add_connection_sql[] =
    "INSERT INTO connections (server_id, started_ms, ended_ms, kind, status, replied, user, "
    "client, destination, destination_address, destination_ip, bytes_up, bytes_down, "
    "datagrams_up, datagrams_down, datagram_relay) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/* Growth is added, never a total written over: two processes may share the database while
 * one drains after an upgrade, and each adds only what it counted. */
#define USAGE_ADD(name) #name " = " #name " + excluded." #name ", "
#define FAILURE_ADD(code) "failures_" #code " = failures_" #code " + excluded.failures_" #code ", "
static const char put_user_usage_sql[] =
    "INSERT INTO user_usage (user, " ACCOUNTING_USAGE_FIELDS(USAGE_COLUMN)
        FAILURE_COLUMNS ", first_seen_ms, last_seen_ms) VALUES (?, "
    ACCOUNTING_USAGE_FIELDS(USAGE_PARAMETER) "?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (user) DO UPDATE SET " ACCOUNTING_USAGE_FIELDS(USAGE_ADD)
    FAILURE_ADD(1) FAILURE_ADD(2) FAILURE_ADD(3) FAILURE_ADD(4) FAILURE_ADD(5) FAILURE_ADD(6)
    FAILURE_ADD(7) FAILURE_ADD(8)
    "first_seen_ms = CASE WHEN first_seen_ms = 0 OR (excluded.first_seen_ms <> 0 AND "
    "excluded.first_seen_ms < first_seen_ms) THEN excluded.first_seen_ms ELSE first_seen_ms "
    "END, last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms)";
static const char put_global_usage_sql[] =
    "INSERT INTO global_usage (metric, value) VALUES (?, ?) "
    "ON CONFLICT (metric) DO UPDATE SET value = value + excluded.value";
static const char load_users_sql[] =
    "SELECT user, " ACCOUNTING_USAGE_FIELDS(USAGE_COLUMN) FAILURE_COLUMNS
    ", first_seen_ms, last_seen_ms FROM user_usage ORDER BY user";
static const char zero_usage_sql[] =
    "UPDATE user_usage SET " ACCOUNTING_USAGE_FIELDS(USAGE_ZERO)
    "failures_1 = 0, failures_2 = 0, failures_3 = 0, failures_4 = 0, failures_5 = 0, "
    "failures_6 = 0, failures_7 = 0, failures_8 = 0";

static bool fail(const struct accounting_store *store, const char *doing,
                 char error[ACCOUNTING_ERROR_MAX])
{
    snprintf(error, ACCOUNTING_ERROR_MAX, "%s: %s: %s", store->path, doing,
             sqlite3_errmsg(store->db));
    return false;
}

static bool execute(struct accounting_store *store, const char *sql, const char *doing,
                    char error[ACCOUNTING_ERROR_MAX])
{
    return sqlite3_exec(store->db, sql, NULL, NULL, NULL) == SQLITE_OK ||
           fail(store, doing, error);
}

/* Steps a statement with bound parameters to its end and readies it for the next use. */
static bool run(struct accounting_store *store, sqlite3_stmt *statement, const char *doing,
                char error[ACCOUNTING_ERROR_MAX])
{
    int rc = sqlite3_step(statement);
    bool ok = rc == SQLITE_DONE || rc == SQLITE_ROW || fail(store, doing, error);
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
    return ok;
}

/* A statement used once; NULL after the error is set. */
static sqlite3_stmt *prepare(struct accounting_store *store, const char *sql, const char *doing,
                             char error[ACCOUNTING_ERROR_MAX])
{
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(store->db, sql, -1, &statement, NULL) != SQLITE_OK) {
        fail(store, doing, error);
        sqlite3_finalize(statement);
        return NULL;
    }
    return statement;
}

static bool query_number(struct accounting_store *store, const char *sql, int64_t *value,
                         const char *doing, char error[ACCOUNTING_ERROR_MAX])
{
    sqlite3_stmt *statement = prepare(store, sql, doing, error);
    if (statement == NULL)
        return false;
    int rc = sqlite3_step(statement);
    *value = rc == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : 0;
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE || fail(store, doing, error);
    sqlite3_finalize(statement);
    return ok;
}

static void store_free(struct accounting_store *store)
{
    sqlite3_finalize(store->add_connection);
    sqlite3_finalize(store->put_user_usage);
    sqlite3_finalize(store->put_global_usage);
    sqlite3_close(store->db);
    free(store->path);
    free(store);
}

struct accounting_store *accounting_store_open(const char *path, char error[ACCOUNTING_ERROR_MAX])
{
    struct accounting_store *store = calloc(1, sizeof *store);
    if (store == NULL || (store->path = strdup(path)) == NULL) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "%s: out of memory", path);
        free(store);
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &store->db, flags, NULL) != SQLITE_OK) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "%s: %s",
                 path, store->db != NULL ? sqlite3_errmsg(store->db) : "out of memory");
        store_free(store);
        return NULL;
    }
    sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
    int64_t rows = 0;
    if (!accounting_schema_ready(store->db, path, error, ACCOUNTING_ERROR_MAX) ||
        (store->add_connection = prepare(store, add_connection_sql, "preparing", error)) ==
            NULL ||
        (store->put_user_usage = prepare(store, put_user_usage_sql, "preparing", error)) ==
            NULL ||
        (store->put_global_usage = prepare(store, put_global_usage_sql, "preparing", error)) ==
            NULL ||
        !query_number(store, "SELECT count(*) FROM connections", &rows,
                      "counting connections", error)) {
        store_free(store);
        return NULL;
    }
    store->rows = (uint64_t)rows;
    return store;
}

void accounting_store_close(struct accounting_store *store)
{
    if (store == NULL)
        return;
    if (store->in_batch)
        accounting_store_rollback(store);
    store_free(store);
}

unsigned accounting_store_schema_version(void) { return accounting_schema_version(); }

bool accounting_store_begin(struct accounting_store *store, char error[ACCOUNTING_ERROR_MAX])
{
    if (store->in_batch) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "%s: a batch is already open", store->path);
        return false;
    }
    if (!execute(store, "BEGIN IMMEDIATE", "starting a batch", error))
        return false;
    store->in_batch = true;
    store->batch_rows = 0;
    return true;
}

bool accounting_store_commit(struct accounting_store *store, char error[ACCOUNTING_ERROR_MAX])
{
    if (!store->in_batch) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "%s: no batch is open", store->path);
        return false;
    }
    if (!execute(store, "COMMIT", "committing a batch", error))
        return false;
    store->in_batch = false;
    store->rows = (uint64_t)((int64_t)store->rows + store->batch_rows);
    store->batch_rows = 0;
    return true;
}

void accounting_store_rollback(struct accounting_store *store)
{
    sqlite3_reset(store->add_connection);
    sqlite3_reset(store->put_user_usage);
    sqlite3_reset(store->put_global_usage);
    /* A failed write or commit (SQLITE_FULL, an I/O error) may have rolled back already. */
    if (!sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    store->in_batch = false;
    store->batch_rows = 0;
}

/* Rows stored or deleted: counted in the batch when one is open, else committed already. */
static void count_rows(struct accounting_store *store, int64_t change)
{
    if (store->in_batch)
        store->batch_rows += change;
    else
        store->rows = (uint64_t)((int64_t)store->rows + change);
}

static void bind_text_or_null(sqlite3_stmt *statement, int index, const char *text, bool present)
{
    if (present)
        sqlite3_bind_text(statement, index, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(statement, index);
}

bool accounting_store_add_connection(struct accounting_store *store,
                                     struct accounting_connection *connection,
                                     char error[ACCOUNTING_ERROR_MAX])
{
    sqlite3_stmt *insert = store->add_connection;
    uint8_t address[16];
    sqlite3_bind_int64(insert, 1, (sqlite3_int64)connection->server_id);
    sqlite3_bind_int64(insert, 2, connection->started_ms);
    sqlite3_bind_int64(insert, 3, connection->ended_ms);
    sqlite3_bind_text(insert, 4, connection_kind_name(connection->kind), -1, SQLITE_STATIC);
    sqlite3_bind_int(insert, 5, connection->status);
    sqlite3_bind_int(insert, 6, connection->replied);
    bind_text_or_null(insert, 7, connection->user, connection->authenticated);
    sqlite3_bind_text(insert, 8, connection->client, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 9, connection->destination, -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 10, connection->destination_address, -1, SQLITE_STATIC);
    if (accounting_address_bytes(connection->destination_address, address))
        sqlite3_bind_blob(insert, 11, address, 16, SQLITE_STATIC);
    else
        sqlite3_bind_null(insert, 11);
    sqlite3_bind_int64(insert, 12, (sqlite3_int64)connection->bytes_up);
    sqlite3_bind_int64(insert, 13, (sqlite3_int64)connection->bytes_down);
    sqlite3_bind_int64(insert, 14, (sqlite3_int64)connection->datagrams_up);
    sqlite3_bind_int64(insert, 15, (sqlite3_int64)connection->datagrams_down);
    sqlite3_bind_int(insert, 16, connection->datagram_relay);
    if (!run(store, insert, "storing a connection", error))
        return false;
    connection->history_id = (uint64_t)sqlite3_last_insert_rowid(store->db);
    count_rows(store, 1);
    return true;
}

bool accounting_store_add_user_usage(struct accounting_store *store, const char *user,
                                     const struct accounting_usage *usage,
                                     char error[ACCOUNTING_ERROR_MAX])
{
    sqlite3_stmt *put = store->put_user_usage;
    int index = 1;
    sqlite3_bind_text(put, index++, user, -1, SQLITE_STATIC);
#define BIND_USAGE(name) sqlite3_bind_int64(put, index++, (sqlite3_int64)usage->name);
    ACCOUNTING_USAGE_FIELDS(BIND_USAGE)
#undef BIND_USAGE
    for (unsigned code = 1; code < ACCOUNTING_STATUS_CODES; code++)
        sqlite3_bind_int64(put, index++, (sqlite3_int64)usage->failures[code]);
    sqlite3_bind_int64(put, index++, usage->first_seen_ms);
    sqlite3_bind_int64(put, index, usage->last_seen_ms);
    return run(store, put, "storing a user's usage", error);
}

bool accounting_store_add_global_usage(struct accounting_store *store,
                                       const uint64_t values[ADMIN_METRIC_COUNT],
                                       char error[ACCOUNTING_ERROR_MAX])
{
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        if (admin_metrics[i].kind != ADMIN_METRIC_COUNTER)
            continue;
        sqlite3_bind_text(store->put_global_usage, 1, admin_metrics[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(store->put_global_usage, 2, (sqlite3_int64)values[i]);
        if (!run(store, store->put_global_usage, "storing the global usage", error))
            return false;
    }
    return true;
}

static bool reset_statements(struct accounting_store *store, const char *user, const char *admin,
                             int64_t at_ms, char error[ACCOUNTING_ERROR_MAX])
{
    const char *doing = "resetting usage";
    char sql[sizeof zero_usage_sql + 32];
    snprintf(sql, sizeof sql, "%s%s", zero_usage_sql, user[0] != '\0' ? " WHERE user = ?" : "");
    sqlite3_stmt *zero = prepare(store, sql, doing, error);
    if (zero == NULL)
        return false;
    if (user[0] != '\0')
        sqlite3_bind_text(zero, 1, user, -1, SQLITE_STATIC);
    bool ok = run(store, zero, doing, error);
    sqlite3_finalize(zero);
    if (ok && user[0] == '\0')
        ok = execute(store, "UPDATE global_usage SET value = 0", doing, error);
    sqlite3_stmt *record = ok ? prepare(store,
                                        "INSERT INTO usage_resets (at_ms, by_admin, user) "
                                        "VALUES (?, ?, ?)",
                                        doing, error)
                              : NULL;
    if (record == NULL)
        return false;
    sqlite3_bind_int64(record, 1, at_ms);
    sqlite3_bind_text(record, 2, admin, -1, SQLITE_STATIC);
    sqlite3_bind_text(record, 3, user, -1, SQLITE_STATIC);
    ok = run(store, record, doing, error);
    sqlite3_finalize(record);
    return ok;
}

bool accounting_store_reset_usage(struct accounting_store *store, const char *user,
                                  const char *admin, int64_t at_ms,
                                  char error[ACCOUNTING_ERROR_MAX])
{
    if (store->in_batch)
        return reset_statements(store, user, admin, at_ms, error);
    if (!execute(store, "BEGIN IMMEDIATE", "resetting usage", error))
        return false;
    if (reset_statements(store, user, admin, at_ms, error) &&
        execute(store, "COMMIT", "resetting usage", error))
        return true;
    if (!sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return false;
}

bool accounting_store_load_users(struct accounting_store *store, accounting_user_visit visit,
                                 void *context, char error[ACCOUNTING_ERROR_MAX])
{
    const char *doing = "loading users' usage";
    sqlite3_stmt *select = prepare(store, load_users_sql, doing, error);
    if (select == NULL)
        return false;
    int rc;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
        struct accounting_usage usage;
        memset(&usage, 0, sizeof usage);
        int column = 1;
#define READ_USAGE(name) usage.name = (uint64_t)sqlite3_column_int64(select, column++);
        ACCOUNTING_USAGE_FIELDS(READ_USAGE)
#undef READ_USAGE
        for (unsigned code = 1; code < ACCOUNTING_STATUS_CODES; code++)
            usage.failures[code] = (uint64_t)sqlite3_column_int64(select, column++);
        usage.first_seen_ms = sqlite3_column_int64(select, column++);
        usage.last_seen_ms = sqlite3_column_int64(select, column);
        const unsigned char *user = sqlite3_column_text(select, 0);
        visit(context, user != NULL ? (const char *)user : "", &usage);
    }
    bool ok = rc == SQLITE_DONE || fail(store, doing, error);
    sqlite3_finalize(select);
    return ok;
}

bool accounting_store_load_global(struct accounting_store *store,
                                  uint64_t values[ADMIN_METRIC_COUNT],
                                  char error[ACCOUNTING_ERROR_MAX])
{
    const char *doing = "loading the global usage";
    memset(values, 0, sizeof(uint64_t) * ADMIN_METRIC_COUNT);
    sqlite3_stmt *select = prepare(store, "SELECT metric, value FROM global_usage", doing, error);
    if (select == NULL)
        return false;
    int rc;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(select, 0);
        /* A metric this build no longer has is left where it is. */
        for (size_t i = 0; name != NULL && i < ADMIN_METRIC_COUNT; i++)
            if (admin_metrics[i].kind == ADMIN_METRIC_COUNTER &&
                strcmp(admin_metrics[i].name, (const char *)name) == 0)
                values[i] = (uint64_t)sqlite3_column_int64(select, 1);
    }
    bool ok = rc == SQLITE_DONE || fail(store, doing, error);
    sqlite3_finalize(select);
    return ok;
}

bool accounting_store_last_reset(struct accounting_store *store, const char *user,
                                 struct accounting_reset *reset,
                                 char error[ACCOUNTING_ERROR_MAX])
{
    const char *doing = "reading the last reset";
    memset(reset, 0, sizeof *reset);
    sqlite3_stmt *select = prepare(store,
                                   "SELECT at_ms, by_admin FROM usage_resets WHERE user = ? "
                                   "ORDER BY at_ms DESC, rowid DESC LIMIT 1",
                                   doing, error);
    if (select == NULL)
        return false;
    sqlite3_bind_text(select, 1, user, -1, SQLITE_STATIC);
    int rc = sqlite3_step(select);
    if (rc == SQLITE_ROW) {
        reset->at_ms = sqlite3_column_int64(select, 0);
        const unsigned char *by = sqlite3_column_text(select, 1);
        snprintf(reset->by, sizeof reset->by, "%s", by != NULL ? (const char *)by : "");
    }
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE || fail(store, doing, error);
    sqlite3_finalize(select);
    return ok;
}

bool accounting_store_search(struct accounting_store *store,
                             const struct accounting_filter *filter,
                             accounting_connection_visit visit, void *context, bool *more,
                             char error[ACCOUNTING_ERROR_MAX])
{
    return accounting_search_run(store->db, store->path, filter, visit, context, more, error,
                                 ACCOUNTING_ERROR_MAX);
}

/* Deletes up to limit rows the selection (history_ids, ordered, with a LIMIT ?2) names. */
static bool delete_selected(struct accounting_store *store, const char *selection,
                            int64_t bound, unsigned limit, unsigned *deleted,
                            char error[ACCOUNTING_ERROR_MAX])
{
    char sql[512];
    snprintf(sql, sizeof sql, "DELETE FROM connections WHERE history_id IN (%s)", selection);
    sqlite3_stmt *statement = prepare(store, sql, "pruning the history", error);
    if (statement == NULL)
        return false;
    sqlite3_bind_int64(statement, 1, bound);
    sqlite3_bind_int64(statement, 2, limit);
    bool ok = run(store, statement, "pruning the history", error);
    sqlite3_finalize(statement);
    if (ok) {
        unsigned changes = (unsigned)sqlite3_changes(store->db);
        *deleted += changes;
        count_rows(store, -(int64_t)changes);
    }
    return ok;
}

bool accounting_store_prune(struct accounting_store *store, int64_t older_than_ms,
                            uint64_t keep_rows, unsigned step, unsigned *deleted,
                            char error[ACCOUNTING_ERROR_MAX])
{
    *deleted = 0;
    int64_t rows = (int64_t)store->rows + store->batch_rows;
    if (keep_rows != 0 && rows > (int64_t)keep_rows && step > 0) {
        uint64_t excess = (uint64_t)rows - keep_rows;
        unsigned limit = excess < step ? (unsigned)excess : step;
        if (!delete_selected(store,
                             "SELECT history_id FROM connections "
                             "ORDER BY history_id LIMIT ?2",
                             0, limit, deleted, error))
            return false;
    }
    if (older_than_ms != 0 && *deleted < step &&
        !delete_selected(store,
                         "SELECT history_id FROM connections INDEXED BY connections_by_ended "
                         "WHERE ended_ms < ?1 ORDER BY ended_ms LIMIT ?2",
                         older_than_ms, step - *deleted, deleted, error))
        return false;
    return true;
}

bool accounting_store_vacuum_step(struct accounting_store *store, unsigned pages,
                                  char error[ACCOUNTING_ERROR_MAX])
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%u)", pages);
    sqlite3_stmt *statement = prepare(store, sql, "vacuuming", error);
    if (statement == NULL)
        return false;
    /* The pragma frees one page per step. */
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW)
        ;
    bool ok = rc == SQLITE_DONE || fail(store, "vacuuming", error);
    sqlite3_finalize(statement);
    return ok;
}

bool accounting_store_counts(struct accounting_store *store, uint64_t *connections,
                             uint64_t *page_count, uint64_t *free_pages,
                             char error[ACCOUNTING_ERROR_MAX])
{
    int64_t rows = 0, pages = 0, free_count = 0;
    if (!query_number(store, "SELECT count(*) FROM connections", &rows, "counting", error) ||
        !query_number(store, "PRAGMA page_count", &pages, "counting", error) ||
        !query_number(store, "PRAGMA freelist_count", &free_count, "counting", error))
        return false;
    *connections = (uint64_t)rows;
    *page_count = (uint64_t)pages;
    *free_pages = (uint64_t)free_count;
    return true;
}

bool accounting_store_created(struct accounting_store *store, int64_t *created_ms,
                              char error[ACCOUNTING_ERROR_MAX])
{
    return query_number(store, "SELECT value FROM store_info WHERE key = 'created_ms'",
                        created_ms, "reading the creation time", error);
}

bool accounting_store_set_max_pages(struct accounting_store *store, uint64_t pages,
                                    char error[ACCOUNTING_ERROR_MAX])
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu",
             (unsigned long long)(pages != 0 ? pages : 4294967294u));
    int64_t result = 0;
    return query_number(store, sql, &result, "capping the file", error);
}
