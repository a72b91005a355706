/* accounting_schema: the accounting database's tables as a list of migration steps (step N
 * brings schema version N-1 to N), and readying a newly opened handle: refusals, WAL, migration. */
#include "accounting_schema.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Step N brings version N-1 to N. A released step never changes: a change to the schema is a
 * step appended here. Column lists that code builds from tables (ACCOUNTING_USAGE_FIELDS,
 * admin_metrics[]) are checked against these tables when the store prepares its statements,
 * and global_usage holds one row per metric so that a new metric needs no step. */
static const char *const migrations[] = {
    /* 1: the initial schema. history_id is AUTOINCREMENT so that pruning never lets an id come
     * back. user is NULL for a connection that never authenticated. destination_ip is the
     * connected address as 16 bytes (IPv4 mapped), NULL when none. */
    "CREATE TABLE store_info (key TEXT PRIMARY KEY, value);"
    "INSERT INTO store_info (key, value) VALUES ('created_ms',"
    "  CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER));"
    "CREATE TABLE connections ("
    "  history_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  server_id INTEGER NOT NULL,"
    "  started_ms INTEGER NOT NULL,"
    "  ended_ms INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  replied INTEGER NOT NULL,"
    "  user TEXT,"
    "  client TEXT NOT NULL,"
    "  destination TEXT NOT NULL,"
    "  destination_address TEXT NOT NULL,"
    "  destination_ip BLOB,"
    "  bytes_up INTEGER NOT NULL,"
    "  bytes_down INTEGER NOT NULL,"
    "  datagrams_up INTEGER NOT NULL,"
    "  datagrams_down INTEGER NOT NULL,"
    "  datagram_relay INTEGER NOT NULL);"
    "CREATE INDEX connections_by_user ON connections (user, history_id);"
    "CREATE INDEX connections_by_started ON connections (started_ms);"
    "CREATE INDEX connections_by_ended ON connections (ended_ms);"
    "CREATE INDEX connections_by_destination ON connections (destination);"
    "CREATE INDEX connections_by_address ON connections (destination_ip);"
    "CREATE INDEX connections_by_status ON connections (status, history_id);"
    "CREATE INDEX connections_failed ON connections (history_id) WHERE status <> 0;"
    "CREATE TABLE user_usage ("
    "  user TEXT PRIMARY KEY,"
    "  connections_total INTEGER NOT NULL DEFAULT 0,"
    "  bytes_up INTEGER NOT NULL DEFAULT 0,"
    "  bytes_down INTEGER NOT NULL DEFAULT 0,"
    "  datagrams_up INTEGER NOT NULL DEFAULT 0,"
    "  datagrams_down INTEGER NOT NULL DEFAULT 0,"
    "  rule_denials INTEGER NOT NULL DEFAULT 0,"
    "  limit_refusals INTEGER NOT NULL DEFAULT 0,"
    "  failures_1 INTEGER NOT NULL DEFAULT 0,"
    "  failures_2 INTEGER NOT NULL DEFAULT 0,"
    "  failures_3 INTEGER NOT NULL DEFAULT 0,"
    "  failures_4 INTEGER NOT NULL DEFAULT 0,"
    "  failures_5 INTEGER NOT NULL DEFAULT 0,"
    "  failures_6 INTEGER NOT NULL DEFAULT 0,"
    "  failures_7 INTEGER NOT NULL DEFAULT 0,"
    "  failures_8 INTEGER NOT NULL DEFAULT 0,"
    "  first_seen_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_seen_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE global_usage (metric TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE usage_resets ("
    "  at_ms INTEGER NOT NULL,"
    "  by_admin TEXT NOT NULL,"
    "  user TEXT NOT NULL);"
    "CREATE INDEX usage_resets_by_user ON usage_resets (user, at_ms);",
};

#define MIGRATION_COUNT (sizeof migrations / sizeof migrations[0])

unsigned accounting_schema_version(void) { return (unsigned)MIGRATION_COUNT; }

static bool fail(sqlite3 *db, const char *path, char *error, unsigned error_size)
{
    snprintf(error, error_size, "%s: %s", path, sqlite3_errmsg(db));
    return false;
}

/* The first column of the first row of sql: a number, or text into text. */
static bool query_one(sqlite3 *db, const char *sql, int64_t *number, char *text,
                      size_t text_size)
{
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK)
        return false;
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
        if (number != NULL)
            *number = sqlite3_column_int64(statement, 0);
        if (text != NULL) {
            const unsigned char *value = sqlite3_column_text(statement, 0);
            snprintf(text, text_size, "%s", value != NULL ? (const char *)value : "");
        }
        rc = sqlite3_step(statement);
    }
    sqlite3_finalize(statement);
    return rc == SQLITE_DONE || rc == SQLITE_ROW;
}

static bool refuse_newer(int64_t version, const char *path, char *error, unsigned error_size)
{
    snprintf(error, error_size,
             "%s: schema version %lld is newer than this socks5d's (%u); refusing to change it",
             path, (long long)version, accounting_schema_version());
    return false;
}

static bool migrate(sqlite3 *db, const char *path, char *error, unsigned error_size)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, path, error, error_size);
    /* Another handle may have migrated between the first look and the write lock. */
    int64_t version = 0;
    if (!query_one(db, "PRAGMA user_version", &version, NULL, 0)) {
        fail(db, path, error, error_size);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return false;
    }
    if (version > (int64_t)MIGRATION_COUNT) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return refuse_newer(version, path, error, error_size);
    }
    for (int64_t step = version; step < (int64_t)MIGRATION_COUNT; step++) {
        if (sqlite3_exec(db, migrations[step], NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(error, error_size, "%s: migrating to schema version %lld: %s", path,
                     (long long)step + 1, sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return false;
        }
    }
    char set_version[64];
    snprintf(set_version, sizeof set_version, "PRAGMA user_version = %u",
             accounting_schema_version());
    if (sqlite3_exec(db, set_version, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fail(db, path, error, error_size);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return false;
    }
    return true;
}

bool accounting_schema_ready(sqlite3 *db, const char *path, char *error, unsigned error_size)
{
    /* Reading the header and the schema is where a file that is not a database, or is damaged
     * at its start, fails; a full integrity check would read every page of a large file. */
    int64_t version = 0;
    int64_t objects = 0;
    if (!query_one(db, "PRAGMA user_version", &version, NULL, 0) ||
        !query_one(db, "SELECT count(*) FROM sqlite_master", &objects, NULL, 0))
        return fail(db, path, error, error_size);
    if (version > (int64_t)MIGRATION_COUNT)
        return refuse_newer(version, path, error, error_size);
    if (version == 0 && objects > 0) {
        snprintf(error, error_size,
                 "%s: not a socks5d accounting database (it has tables but no schema "
                 "version); refusing to change it",
                 path);
        return false;
    }
    /* Only a database without tables can take a vacuum mode. */
    if (objects == 0 &&
        sqlite3_exec(db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, path, error, error_size);
    char mode[16] = "";
    if (!query_one(db, "PRAGMA journal_mode = WAL", NULL, mode, sizeof mode))
        return fail(db, path, error, error_size);
    if (strcmp(mode, "wal") != 0) {
        snprintf(error, error_size, "%s: cannot use write-ahead logging (journal mode %s)",
                 path, mode);
        return false;
    }
    if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, path, error, error_size);
    if (version < (int64_t)MIGRATION_COUNT)
        return migrate(db, path, error, error_size);
    return true;
}
