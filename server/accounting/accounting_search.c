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

/* The index that narrows the rows most for this filter, most selective kinds first. Indexes
 * led by history_id (by user, by status, the failed ones) hand the rows over newest first, so
 * the LIMIT stops the walk; the others (a destination range, a network, a time window) give
 * rowids in another order, sorted before the LIMIT — rowids only, as the inner query reads
 * nothing but the index, and the outer one reads the page's rows. With none of these, the
 * table itself is walked from the newest row. */
static const char *chosen_index(const struct accounting_filter *filter)
{
    if (filter->user != NULL)
        return "connections_by_user";
    if (filter->destination_match == ACCOUNTING_DESTINATION_NETWORK)
        return "connections_by_address";
    if (filter->destination_match == ACCOUNTING_DESTINATION_PREFIX)
        return "connections_by_destination";
    if (filter->status == ACCOUNTING_STATUS_FAILED)
        return "connections_failed";
    if (filter->status > 0)
        return "connections_by_status";
    /* A lower bound alone matches the newest rows: the walk from the newest finds them first. */
    if (filter->until_ms != 0)
        return "connections_by_started";
    return NULL;
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

void accounting_search_sql(const struct accounting_filter *filter, char *text, size_t size)
{
    struct sql_text sql = {.text = text, .size = size};
    text[0] = '\0';
    const char *index = chosen_index(filter);
    append(&sql, "%s", "SELECT " CONNECTION_COLUMNS " FROM connections WHERE history_id IN "
                       "(SELECT history_id FROM connections");
    if (index != NULL)
        append(&sql, " INDEXED BY %s", index);
    if (filter->user != NULL)
        condition(&sql, filter->user[0] != '\0' ? "user = ?1" : "user IS NULL");
    if (filter->destination_match == ACCOUNTING_DESTINATION_PREFIX) {
        char upper[ACCOUNTING_DESTINATION_MAX + 1];
        condition(&sql, "destination >= ?2");
        if (accounting_prefix_upper_bound(filter->destination_prefix, upper, sizeof upper))
            condition(&sql, "destination < ?3");
    }
    if (filter->destination_match == ACCOUNTING_DESTINATION_NETWORK)
        condition(&sql, "destination_ip BETWEEN ?4 AND ?5");
    if (filter->since_ms != 0)
        condition(&sql, "started_ms >= ?6");
    if (filter->until_ms != 0)
        condition(&sql, "started_ms < ?7");
    if (filter->status == ACCOUNTING_STATUS_FAILED)
        condition(&sql, "status <> 0");
    else if (filter->status >= 0)
        condition(&sql, "status = ?8");
    if (filter->before_history_id != 0)
        condition(&sql, "history_id < ?9");
    append(&sql, "%s", " ORDER BY history_id DESC LIMIT ?10) ORDER BY history_id DESC");
}

static int bind_parameters(sqlite3_stmt *statement, const struct accounting_filter *filter)
{
    int rc = SQLITE_OK;
    char upper[ACCOUNTING_DESTINATION_MAX + 1];
    if (filter->user != NULL && filter->user[0] != '\0')
        rc |= sqlite3_bind_text(statement, PARAMETER_USER, filter->user, -1, SQLITE_STATIC);
    if (filter->destination_match == ACCOUNTING_DESTINATION_PREFIX) {
        rc |= sqlite3_bind_text(statement, PARAMETER_PREFIX_LOW, filter->destination_prefix, -1,
                                SQLITE_STATIC);
        if (accounting_prefix_upper_bound(filter->destination_prefix, upper, sizeof upper))
            rc |= sqlite3_bind_text(statement, PARAMETER_PREFIX_HIGH, upper, -1,
                                    SQLITE_TRANSIENT);
    }
    if (filter->destination_match == ACCOUNTING_DESTINATION_NETWORK) {
        rc |= sqlite3_bind_blob(statement, PARAMETER_NETWORK_LOW, filter->network_low, 16,
                                SQLITE_STATIC);
        rc |= sqlite3_bind_blob(statement, PARAMETER_NETWORK_HIGH, filter->network_high, 16,
                                SQLITE_STATIC);
    }
    if (filter->since_ms != 0)
        rc |= sqlite3_bind_int64(statement, PARAMETER_SINCE, filter->since_ms);
    if (filter->until_ms != 0)
        rc |= sqlite3_bind_int64(statement, PARAMETER_UNTIL, filter->until_ms);
    if (filter->status >= 0)
        rc |= sqlite3_bind_int(statement, PARAMETER_STATUS, filter->status);
    if (filter->before_history_id != 0)
        rc |= sqlite3_bind_int64(statement, PARAMETER_BEFORE,
                                 (sqlite3_int64)filter->before_history_id);
    /* One row past the page says whether there is more. */
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

bool accounting_search_run(sqlite3 *db, const char *path, const struct accounting_filter *filter,
                           accounting_connection_visit visit, void *context, bool *more,
                           char error[ACCOUNTING_ERROR_MAX])
{
    *more = false;
    char sql[1024];
    accounting_search_sql(filter, sql, sizeof sql);
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK ||
        bind_parameters(statement, filter) != SQLITE_OK) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "%s: searching the history: %s", path,
                 sqlite3_errmsg(db));
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
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    if (!ok)
        snprintf(error, ACCOUNTING_ERROR_MAX, "%s: searching the history: %s", path,
                 sqlite3_errmsg(db));
    sqlite3_finalize(statement);
    return ok;
}
