/* connection_columns: the server's connections table, one row per column — its name, what its
 * values are, how the dashboard's tree and details popup show it — and a connection read by it. */
#ifndef CONNECTION_COLUMNS_H
#define CONNECTION_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table_columns.h"

#define CONNECTION_FIELDS_MAX 24    /* columns the table may describe */
#define CONNECTION_TEXT_SIZE 2048   /* every field of one row */
#define CONNECTION_FIELD_MAX 299    /* bytes kept of one field (a long destination is cut) */

/* One row of a connections table: the field of every column the table describes, kept escaped
 * as the server sent it (so safe to print), "-" when the server's table lacks the column; and
 * what the dashboard acts on: which connection it is, whether it is live, how it was answered. */
struct dashboard_connection {
    uint64_t id;
    bool live;
    bool has_status; /* false for a live connection not answered yet */
    uint64_t status;
    size_t server; /* which of the fleet's servers holds it (its index); 0 with one server */
    unsigned short field_at[CONNECTION_FIELDS_MAX]; /* where each column's field starts in text */
    char text[CONNECTION_TEXT_SIZE];
};

extern const struct table_column connection_columns[];
extern const size_t connection_column_count;

/* Reads up to capacity rows of a connections body, in the table's order; *total is its `total`.
 * Columns are found by name, wherever the server puts them. False when `total`, the table or
 * its id column is missing. */
/* Reads up to capacity rows of a history body (newest first); *more is its `more`. False when
 * `more`, the table, or its id or history_id column is missing. */
bool history_rows_parse(const char *body, size_t length, struct dashboard_connection *rows,
                        size_t capacity, size_t *count, bool *more);
bool connections_parse(const char *body, size_t length, struct dashboard_connection *rows,
                       size_t capacity, size_t *count, uint64_t *total);

/* The escaped field of the column called key; "-" when unknown or NULL (a derived column). */
const char *connection_field(const struct dashboard_connection *connection, const char *key);

/* A column's value as the tree shows it, and as the details popup does. */
void connection_column_text(const struct dashboard_connection *connection,
                            const struct table_column *column, char *out, size_t size);
void connection_column_detail(const struct dashboard_connection *connection,
                              const struct table_column *column, char *out, size_t size);

#endif
