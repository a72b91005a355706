/* accounting_search: a filter of the history turned into one SQL query — the index it uses
 * chosen from the filter, newest first, keyset paging — and its rows read back as connections. */
#ifndef ACCOUNTING_SEARCH_H
#define ACCOUNTING_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "accounting_store.h"

struct sqlite3;

/* The query for filter into sql (1 KiB is plenty): its parameters are numbered and bound by
 * accounting_search_run. Exposed so that tests can ask SQLite how it would run each kind. */
void accounting_search_sql(const struct accounting_filter *filter, char *sql, size_t sql_size);

/* accounting_store_search on db; errors name path. */
bool accounting_search_run(struct sqlite3 *db, const char *path,
                           const struct accounting_filter *filter,
                           accounting_connection_visit visit, void *context, bool *more,
                           char error[ACCOUNTING_ERROR_MAX]);

#endif
