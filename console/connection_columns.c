/* connection_columns: the server's connections table, one row per column — its name, what its
 * values are, how the dashboard's tree and details popup show it — and a connection read by it. */
#include "connection_columns.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin_commands.h"
#include "admin_text.h"
#include "compact_units.h"

static column_text_fn status_text, status_detail, duration_detail;

/* In the order the tree and the details popup show them. Widths: the tree's. */
const struct table_column connection_columns[] = {
    { .key = ADMIN_COLUMN_ID, .type = COLUMN_NUMBER },
    { .key = ADMIN_COLUMN_STATE, .type = COLUMN_TEXT },
    { .key = ADMIN_COLUMN_USER, .type = COLUMN_TEXT },
    { .key = ADMIN_COLUMN_STARTED, .type = COLUMN_TIME, .title = "TIME", .width = 8,
      .detail = "started" },
    { .key = ADMIN_COLUMN_KIND, .type = COLUMN_TEXT, .title = "KIND", .width = 7,
      .from_screen = 88, .detail = "kind" },
    { .key = ADMIN_COLUMN_CLIENT, .type = COLUMN_TEXT, .title = "ORIGIN", .width = 21,
      .detail = "origin" },
    { .key = ADMIN_COLUMN_DESTINATION, .type = COLUMN_TEXT, .title = "DESTINATION", .width = 10,
      .place = COLUMN_STRETCH, .detail = "destination" },
    { .key = ADMIN_COLUMN_DESTINATION_ADDRESS, .type = COLUMN_TEXT, .title = "ADDRESS",
      .width = 23, .from_screen = 130, .detail = "address" },
    { .key = ADMIN_COLUMN_STATUS, .type = COLUMN_NUMBER, .title = "STATUS", .width = 7,
      .text = status_text, .detail = "status", .detail_text = status_detail },
    { .key = ADMIN_COLUMN_BYTES_UP, .type = COLUMN_BYTES, .title = "UP", .width = 6,
      .place = COLUMN_RIGHT, .detail = "up" },
    { .key = ADMIN_COLUMN_BYTES_DOWN, .type = COLUMN_BYTES, .title = "DOWN", .width = 6,
      .place = COLUMN_RIGHT, .detail = "down" },
    { .key = ADMIN_COLUMN_DURATION_MS, .type = COLUMN_DURATION_MS, .title = "DUR", .width = 6,
      .place = COLUMN_RIGHT, .from_screen = 96, .detail = "duration",
      .detail_text = duration_detail },
    /* A udp connection's; "-" for the other kinds. */
    { .key = ADMIN_COLUMN_DATAGRAMS_UP, .type = COLUMN_NUMBER, .detail = "dgrams up" },
    { .key = ADMIN_COLUMN_DATAGRAMS_DOWN, .type = COLUMN_NUMBER, .detail = "dgrams down" },
    /* A history row's (the accounting database's); "-" for the server's own rows. */
    { .key = ADMIN_COLUMN_ENDED, .type = COLUMN_TIME, .detail = "ended" },
    { .key = ADMIN_COLUMN_HISTORY_ID, .type = COLUMN_NUMBER, .detail = "history id" },
};
const size_t connection_column_count = sizeof(connection_columns) / sizeof(connection_columns[0]);

_Static_assert(sizeof(connection_columns) / sizeof(connection_columns[0]) <= CONNECTION_FIELDS_MAX,
               "struct dashboard_connection keeps a field per column: raise CONNECTION_FIELDS_MAX");

/* ---- Reading rows ---- */

static void store_field(struct dashboard_connection *connection, size_t index, size_t *used,
                        struct admin_span field)
{
    /* *used stays below the last byte, which is left for the NUL of the fields cut to nothing. */
    size_t room = CONNECTION_TEXT_SIZE - 1 - *used;
    size_t length = field.length;
    if (length > CONNECTION_FIELD_MAX)
        length = CONNECTION_FIELD_MAX;
    if (length > room)
        length = room;
    connection->field_at[index] = (unsigned short)*used;
    memcpy(connection->text + *used, field.data, length);
    connection->text[*used + length] = '\0';
    *used += length;
    if (*used < CONNECTION_TEXT_SIZE - 1)
        (*used)++;
}

static bool field_number(const struct dashboard_connection *connection, const char *key,
                         uint64_t *value)
{
    const char *field = connection_field(connection, key);
    return admin_span_to_u64((struct admin_span){ field, strlen(field) }, value);
}

static void read_row(const struct admin_row *row, const long *positions,
                     struct dashboard_connection *connection)
{
    *connection = (struct dashboard_connection){ 0 };
    size_t used = 0;
    for (size_t i = 0; i < connection_column_count; i++) {
        struct admin_span field = { ADMIN_TEXT_NONE, 1 };
        if (positions[i] >= 0)
            admin_row_field(row, (size_t)positions[i], &field);
        store_field(connection, i, &used, field);
    }
    field_number(connection, ADMIN_COLUMN_ID, &connection->id);
    connection->live =
        strcmp(connection_field(connection, ADMIN_COLUMN_STATE), ADMIN_TEXT_STATE_LIVE) == 0;
    connection->has_status = field_number(connection, ADMIN_COLUMN_STATUS, &connection->status);
}

static bool has_column(const char *body, size_t length, const char *name)
{
    struct admin_table table;
    return admin_table_open(&table, body, length) && admin_table_column(&table, name) >= 0;
}

static bool parse_rows(const char *body, size_t length, struct dashboard_connection *rows,
                       size_t capacity, size_t *count)
{
    *count = 0;
    struct admin_table table;
    if (!admin_table_open(&table, body, length) || admin_table_column(&table, ADMIN_COLUMN_ID) < 0)
        return false;
    long positions[CONNECTION_FIELDS_MAX];
    for (size_t i = 0; i < connection_column_count; i++) {
        const char *key = connection_columns[i].key;
        positions[i] = key != NULL ? admin_table_column(&table, key) : -1; /* derived: no field */
    }
    struct admin_row row;
    while (*count < capacity && admin_table_next_row(&table, &row))
        read_row(&row, positions, &rows[(*count)++]);
    return true;
}

bool connections_parse(const char *body, size_t length, struct dashboard_connection *rows,
                       size_t capacity, size_t *count, uint64_t *total)
{
    *count = 0;
    return admin_record_get_u64(body, length, ADMIN_KEY_TOTAL, total) &&
           parse_rows(body, length, rows, capacity, count);
}

bool history_rows_parse(const char *body, size_t length, struct dashboard_connection *rows,
                        size_t capacity, size_t *count, bool *more)
{
    *count = 0;
    struct admin_span value;
    return admin_record_find(body, length, ADMIN_KEY_MORE, &value) &&
           admin_span_to_bool(value, more) &&
           has_column(body, length, ADMIN_COLUMN_HISTORY_ID) &&
           parse_rows(body, length, rows, capacity, count);
}

const char *connection_field(const struct dashboard_connection *connection, const char *key)
{
    if (key == NULL)
        return ADMIN_TEXT_NONE;
    const struct table_column *column =
        table_column_find(connection_columns, connection_column_count, key, strlen(key));
    if (column == NULL)
        return ADMIN_TEXT_NONE;
    return connection->text + connection->field_at[column - connection_columns];
}

/* ---- Showing values ---- */

static uint64_t number_or_zero(const struct dashboard_connection *connection,
                               const struct table_column *column)
{
    uint64_t value = 0;
    field_number(connection, column->key, &value);
    return value;
}

static bool field_time(const struct dashboard_connection *connection,
                       const struct table_column *column, int64_t *unix_ms)
{
    const char *field = connection_field(connection, column->key);
    return admin_span_to_time((struct admin_span){ field, strlen(field) }, unix_ms);
}

void connection_column_text(const struct dashboard_connection *connection,
                            const struct table_column *column, char *out, size_t size)
{
    if (column->text != NULL) {
        column->text(connection, column, out, size);
        return;
    }
    int64_t unix_ms;
    switch (column->type) {
    case COLUMN_TIME:
        if (field_time(connection, column, &unix_ms))
            compact_clock(unix_ms, out, size);
        else
            snprintf(out, size, "%s", ADMIN_TEXT_NONE);
        return;
    case COLUMN_BYTES:
        compact_bytes(number_or_zero(connection, column), out, size);
        return;
    case COLUMN_DURATION_MS:
        compact_duration_ms(number_or_zero(connection, column), out, size);
        return;
    case COLUMN_TEXT:
    case COLUMN_NUMBER:
    case COLUMN_RATE:
        break;
    }
    snprintf(out, size, "%s", connection_field(connection, column->key));
}

void connection_column_detail(const struct dashboard_connection *connection,
                              const struct table_column *column, char *out, size_t size)
{
    if (column->detail_text != NULL) {
        column->detail_text(connection, column, out, size);
        return;
    }
    int64_t unix_ms;
    char human[16];
    switch (column->type) {
    case COLUMN_TIME:
        if (field_time(connection, column, &unix_ms)) {
            char time[ADMIN_TIME_TEXT_SIZE];
            admin_format_time(time, unix_ms);
            compact_clock(unix_ms, human, sizeof(human));
            snprintf(out, size, "%s  %s", time, human);
        } else {
            snprintf(out, size, "%s  ", ADMIN_TEXT_NONE);
        }
        return;
    case COLUMN_BYTES:
        compact_bytes(number_or_zero(connection, column), human, sizeof(human));
        snprintf(out, size, "%" PRIu64 " bytes (%s)", number_or_zero(connection, column), human);
        return;
    case COLUMN_TEXT:
    case COLUMN_NUMBER:
    case COLUMN_DURATION_MS:
    case COLUMN_RATE:
        connection_column_text(connection, column, out, size);
        return;
    }
}

/* "live", "opening" (not answered yet), or how a closed one was answered. */
static void status_text(const void *row, const struct table_column *column, char *out,
                        size_t size)
{
    (void)column;
    const struct dashboard_connection *connection = row;
    const char *status = connection->live ? (connection->has_status ? "live" : "opening")
                         : connection->has_status ? reply_short_name(connection->status)
                                                  : ADMIN_TEXT_NONE;
    snprintf(out, size, "%s", status);
}

static void status_detail(const void *row, const struct table_column *column, char *out,
                          size_t size)
{
    (void)column;
    const struct dashboard_connection *connection = row;
    if (connection->has_status)
        snprintf(out, size, "%" PRIu64 " (%s)", connection->status,
                 reply_name(connection->status));
    else
        snprintf(out, size, "- (not answered yet)");
}

static void duration_detail(const void *row, const struct table_column *column, char *out,
                            size_t size)
{
    const struct dashboard_connection *connection = row;
    char duration[16];
    compact_duration_ms(number_or_zero(connection, column), duration, sizeof(duration));
    snprintf(out, size, "%s%s", duration, connection->live ? " so far" : "");
}
