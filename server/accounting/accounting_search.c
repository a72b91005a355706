/* accounting_search: a filter of the history turned into one SQL query — the index it uses
 * chosen from the filter, newest first, keyset paging — and its rows read back as connections. */
#include "accounting_search.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* Fixed parameter numbers: a query names only those its filter uses. */
enum {
    PARAMETER_USER = 1,
    PARAMETER_PREFIX_LOW,
    PARAMETER_PREFIX_HIGH,
    PARAMETER_NETWORK_LOW,
    PARAMETER_NETWORK_HIGH,
    PARAMETER_SINCE,
    PARAMETER_UNTIL,
    PARAMETER_STATUS,
    PARAMETER_BEFORE,
    PARAMETER_LIMIT,
};

#define CONNECTION_COLUMNS                                                                     \
    "history_id, server_id, started_ms, ended_ms, kind, status, replied, user, client, "       \
    "destination, destination_address, bytes_up, bytes_down, datagrams_up, datagrams_down, "   \
    "datagram_relay"

/* The indexes a search can walk, each with the terms it answers. Ordered ones (led by
 * history_id within their key) hand rows over newest first, so the LIMIT stops the walk;
 * unordered ones (a destination range, a network, a time window) give rowids in another order,
 * which are sorted before the LIMIT — rowids only, as the inner query selects nothing else,
 * and the outer one reads just the page's rows. */
struct search_index {
    const char *name;
    bool ordered;
};

static const struct search_index search_indexes[] = {
    [ACCOUNTING_SEARCH_BY_USER] = {"connections_by_user", true},
    [ACCOUNTING_SEARCH_FAILED] = {"connections_failed", true},
    [ACCOUNTING_SEARCH_BY_STATUS] = {"connections_by_status", true},
    [ACCOUNTING_SEARCH_BY_ADDRESS] = {"connections_by_address", false},
    [ACCOUNTING_SEARCH_BY_DESTINATION] = {"connections_by_destination", false},
    [ACCOUNTING_SEARCH_BY_STARTED] = {"connections_by_started", false},
    [ACCOUNTING_SEARCH_WALK] = {NULL, true},
};

/* At most this many rows are counted per candidate index when choosing among them: enough to
 * tell a narrow term from a broad one, cheap to count on a covering index. */
#define PROBE_ROWS 20000
#define PROBE_ROWS_TEXT "20000"

static bool filter_uses(const struct accounting_filter *filter, enum accounting_search_index index)
{
    switch (index) {
    case ACCOUNTING_SEARCH_BY_USER:
        return filter->user != NULL;
    case ACCOUNTING_SEARCH_FAILED:
        return filter->status == ACCOUNTING_STATUS_FAILED;
    case ACCOUNTING_SEARCH_BY_STATUS:
        return filter->status >= 0;
    case ACCOUNTING_SEARCH_BY_ADDRESS:
        return filter->destination_match == ACCOUNTING_DESTINATION_NETWORK;
    case ACCOUNTING_SEARCH_BY_DESTINATION:
        return filter->destination_match == ACCOUNTING_DESTINATION_PREFIX;
    case ACCOUNTING_SEARCH_BY_STARTED:
        return filter->since_ms != 0 || filter->until_ms != 0;
    case ACCOUNTING_SEARCH_WALK:
        return true;
    case ACCOUNTING_SEARCH_INDEXES:
        break;
    }
    return false;
}

unsigned accounting_search_candidates(const struct accounting_filter *filter,
                                      enum accounting_search_index
                                          candidates[ACCOUNTING_SEARCH_INDEXES])
{
    unsigned count = 0;
    for (unsigned index = 0; index < ACCOUNTING_SEARCH_INDEXES; index++)
        if (filter_uses(filter, (enum accounting_search_index)index))
            candidates[count++] = (enum accounting_search_index)index;
    return count;
}

struct sql_text {
    char *text;
    size_t size;
    size_t length;
    bool where;
};

static void append(struct sql_text *sql, const char *format, const char *argument)
{
    if (sql->length >= sql->size)
        return;
    int written = snprintf(sql->text + sql->length, sql->size - sql->length, format, argument);
    if (written > 0)
        sql->length += (size_t)written;
}

static void condition(struct sql_text *sql, const char *term)
{
    append(sql, sql->where ? " AND %s" : " WHERE %s", term);
    sql->where = true;
}

/* The terms of filter (all, or only those index answers, for a probe). */
static void append_terms(struct sql_text *sql, const struct accounting_filter *filter,
                         int only)
{
    bool all = only < 0;
    if (filter->user != NULL && (all || only == ACCOUNTING_SEARCH_BY_USER))
        condition(sql, filter->user[0] != '\0' ? "user = ?1" : "user IS NULL");
    if (filter->destination_match == ACCOUNTING_DESTINATION_PREFIX &&
        (all || only == ACCOUNTING_SEARCH_BY_DESTINATION)) {
        char upper[ACCOUNTING_DESTINATION_MAX + 1];
        condition(sql, "destination >= ?2");
        if (accounting_prefix_upper_bound(filter->destination_prefix, upper, sizeof upper))
            condition(sql, "destination < ?3");
    }
    if (filter->destination_match == ACCOUNTING_DESTINATION_NETWORK &&
        (all || only == ACCOUNTING_SEARCH_BY_ADDRESS))
        condition(sql, "destination_ip BETWEEN ?4 AND ?5");
    if (filter->since_ms != 0 && (all || only == ACCOUNTING_SEARCH_BY_STARTED))
        condition(sql, "started_ms >= ?6");
    if (filter->until_ms != 0 && (all || only == ACCOUNTING_SEARCH_BY_STARTED))
        condition(sql, "started_ms < ?7");
    if (filter->status == ACCOUNTING_STATUS_FAILED && (all || only == ACCOUNTING_SEARCH_FAILED))
        condition(sql, "status <> 0");
    else if (filter->status >= 0 && (all || only == ACCOUNTING_SEARCH_BY_STATUS))
        condition(sql, "status = ?8");
    if (filter->before_history_id != 0)
        condition(sql, "history_id < ?9");
}

/* SQLite's planner is not asked: without statistics it would guess, and its guess may sort a
 * million rows where the walk stops after a page. */
static void indexed_by(struct sql_text *sql, enum accounting_search_index index)
{
    if (search_indexes[index].name != NULL)
        append(sql, " INDEXED BY %s", search_indexes[index].name);
    else
        append(sql, "%s", " NOT INDEXED");
}

void accounting_search_sql(const struct accounting_filter *filter,
                           enum accounting_search_index index, char *text, size_t size)
{
    struct sql_text sql = {.text = text, .size = size};
    text[0] = '\0';
    append(&sql, "%s", "SELECT " CONNECTION_COLUMNS " FROM connections WHERE history_id IN "
                       "(SELECT history_id FROM connections");
    indexed_by(&sql, index);
    append_terms(&sql, filter, -1);
    append(&sql, "%s", " ORDER BY history_id DESC LIMIT ?10) ORDER BY history_id DESC");
}

/* Counts (up to PROBE_ROWS) the rows index's own terms match. */
static void probe_sql(const struct accounting_filter *filter, enum accounting_search_index index,
                      char *text, size_t size)
{
    struct sql_text sql = {.text = text, .size = size};
    text[0] = '\0';
    append(&sql, "%s", "SELECT count(*) FROM (SELECT 1 FROM connections");
    indexed_by(&sql, index);
    append_terms(&sql, filter, (int)index);
    append(&sql, " LIMIT %s)", PROBE_ROWS_TEXT);
}

/* Binds the parameters statement names (a probe names fewer than the search): each is bound
 * only when its number is within the statement's. */
static int bind_parameters(sqlite3_stmt *statement, const struct accounting_filter *filter)
{
    int rc = SQLITE_OK;
    int named = sqlite3_bind_parameter_count(statement);
    char upper[ACCOUNTING_DESTINATION_MAX + 1];
    if (filter->user != NULL && filter->user[0] != '\0' && PARAMETER_USER <= named)
        rc |= sqlite3_bind_text(statement, PARAMETER_USER, filter->user, -1, SQLITE_STATIC);
    if (filter->destination_match == ACCOUNTING_DESTINATION_PREFIX &&
        PARAMETER_PREFIX_LOW <= named) {
        rc |= sqlite3_bind_text(statement, PARAMETER_PREFIX_LOW, filter->destination_prefix, -1,
                                SQLITE_STATIC);
        if (PARAMETER_PREFIX_HIGH <= named &&
            accounting_prefix_upper_bound(filter->destination_prefix, upper, sizeof upper))
            rc |= sqlite3_bind_text(statement, PARAMETER_PREFIX_HIGH, upper, -1,
                                    SQLITE_TRANSIENT);
    }
    if (filter->destination_match == ACCOUNTING_DESTINATION_NETWORK &&
        PARAMETER_NETWORK_HIGH <= named) {
        rc |= sqlite3_bind_blob(statement, PARAMETER_NETWORK_LOW, filter->network_low, 16,
                                SQLITE_STATIC);
        rc |= sqlite3_bind_blob(statement, PARAMETER_NETWORK_HIGH, filter->network_high, 16,
                                SQLITE_STATIC);
    }
    if (filter->since_ms != 0 && PARAMETER_SINCE <= named)
        rc |= sqlite3_bind_int64(statement, PARAMETER_SINCE, filter->since_ms);
    if (filter->until_ms != 0 && PARAMETER_UNTIL <= named)
        rc |= sqlite3_bind_int64(statement, PARAMETER_UNTIL, filter->until_ms);
    if (filter->status >= 0 && PARAMETER_STATUS <= named)
        rc |= sqlite3_bind_int(statement, PARAMETER_STATUS, filter->status);
    if (filter->before_history_id != 0 && PARAMETER_BEFORE <= named)
        rc |= sqlite3_bind_int64(statement, PARAMETER_BEFORE,
                                 (sqlite3_int64)filter->before_history_id);
    /* One row past the page says whether there is more. */
    if (PARAMETER_LIMIT <= named)
        rc |= sqlite3_bind_int64(statement, PARAMETER_LIMIT, (sqlite3_int64)filter->limit + 1);
    return rc;
}

static void copy_text(char *out, size_t out_size, sqlite3_stmt *statement, int column)
{
    const unsigned char *value = sqlite3_column_text(statement, column);
    snprintf(out, out_size, "%s", value != NULL ? (const char *)value : "");
}

static enum connection_kind kind_from_name(const char *name)
{
    if (strcmp(name, "udp") == 0)
        return CONNECTION_KIND_UDP;
    if (strcmp(name, "bind") == 0)
        return CONNECTION_KIND_BIND;
    return CONNECTION_KIND_CONNECT;
}

static void read_connection(sqlite3_stmt *row, struct accounting_connection *connection)
{
    memset(connection, 0, sizeof *connection);
    connection->history_id = (uint64_t)sqlite3_column_int64(row, 0);
    connection->server_id = (uint64_t)sqlite3_column_int64(row, 1);
    connection->started_ms = sqlite3_column_int64(row, 2);
    connection->ended_ms = sqlite3_column_int64(row, 3);
    char kind[16];
    copy_text(kind, sizeof kind, row, 4);
    connection->kind = kind_from_name(kind);
    connection->status = (uint8_t)sqlite3_column_int(row, 5);
    connection->replied = sqlite3_column_int(row, 6) != 0;
    connection->authenticated = sqlite3_column_type(row, 7) != SQLITE_NULL;
    copy_text(connection->user, sizeof connection->user, row, 7);
    copy_text(connection->client, sizeof connection->client, row, 8);
    copy_text(connection->destination, sizeof connection->destination, row, 9);
    copy_text(connection->destination_address, sizeof connection->destination_address, row, 10);
    connection->bytes_up = (uint64_t)sqlite3_column_int64(row, 11);
    connection->bytes_down = (uint64_t)sqlite3_column_int64(row, 12);
    connection->datagrams_up = (uint64_t)sqlite3_column_int64(row, 13);
    connection->datagrams_down = (uint64_t)sqlite3_column_int64(row, 14);
    connection->datagram_relay = sqlite3_column_int(row, 15) != 0;
}

/* The cost of walking index for filter, in rows it would read at most: an ordered index's
 * matches (capped at PROBE_ROWS: it stops at the page's end anyway), an unordered one's when
 * they are fewer than PROBE_ROWS (it reads and sorts them all), else more than walking the
 * table from the newest row, which stops as soon as the page is full. */
static bool index_cost(sqlite3 *db, const struct accounting_filter *filter,
                       enum accounting_search_index index, int64_t *cost)
{
    if (index == ACCOUNTING_SEARCH_WALK) {
        *cost = PROBE_ROWS + 1;
        return true;
    }
    char sql[512];
    probe_sql(filter, index, sql, sizeof sql);
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK ||
        bind_parameters(statement, filter) != SQLITE_OK) {
        sqlite3_finalize(statement);
        return false;
    }
    int rc = sqlite3_step(statement);
    int64_t rows = rc == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : 0;
    sqlite3_finalize(statement);
    if (rc != SQLITE_ROW)
        return false;
    *cost = search_indexes[index].ordered || rows < PROBE_ROWS ? rows : PROBE_ROWS + 2;
    return true;
}

bool accounting_search_choose(sqlite3 *db, const struct accounting_filter *filter,
                              enum accounting_search_index *chosen)
{
    enum accounting_search_index candidates[ACCOUNTING_SEARCH_INDEXES];
    unsigned count = accounting_search_candidates(filter, candidates);
    /* One ordered index beside the walk: no question. */
    *chosen = candidates[0];
    if (count <= 2 && search_indexes[candidates[0]].ordered)
        return true;
    int64_t best = INT64_MAX;
    for (unsigned i = 0; i < count; i++) {
        int64_t cost;
        if (!index_cost(db, filter, candidates[i], &cost))
            return false;
        if (cost < best) {
            best = cost;
            *chosen = candidates[i];
        }
    }
    return true;
}

static bool search_failed(sqlite3 *db, const char *path, char *error, size_t error_size)
{
    snprintf(error, error_size, "%s: searching the history: %s", path,
             sqlite3_errmsg(db));
    return false;
}

bool accounting_search_run_with(sqlite3 *db, const char *path,
                                const struct accounting_filter *filter,
                                enum accounting_search_index index,
                                accounting_connection_visit visit, void *context, bool *more,
                                char *error, size_t error_size)
{
    *more = false;
    char sql[1024];
    accounting_search_sql(filter, index, sql, sizeof sql);
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK ||
        bind_parameters(statement, filter) != SQLITE_OK) {
        search_failed(db, path, error, error_size);
        sqlite3_finalize(statement);
        return false;
    }
    uint32_t visited = 0;
    struct accounting_connection connection;
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
        if (visited == filter->limit) {
            *more = true;
            break;
        }
        read_connection(statement, &connection);
        visited++;
        if (!visit(context, &connection)) {
            rc = sqlite3_step(statement);
            *more = rc == SQLITE_ROW;
            break;
        }
    }
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE || search_failed(db, path, error, error_size);
    sqlite3_finalize(statement);
    return ok;
}

bool accounting_search_run(sqlite3 *db, const char *path, const struct accounting_filter *filter,
                           accounting_connection_visit visit, void *context, bool *more,
                           char *error, size_t error_size)
{
    enum accounting_search_index index;
    if (!accounting_search_choose(db, filter, &index)) {
        *more = false;
        return search_failed(db, path, error, error_size);
    }
    return accounting_search_run_with(db, path, filter, index, visit, context, more, error,
                                      error_size);
}
