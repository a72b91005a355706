/* accounting_search: a filter of the history turned into one SQL query — the index it walks
 * chosen by counting what each candidate matches, newest first, keyset paging — and its rows. */
#ifndef ACCOUNTING_SEARCH_H
#define ACCOUNTING_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "accounting_connection.h"
#include "accounting_filter.h"

struct sqlite3;

/* What a search can walk: an index that answers one of the filter's terms, or the table from
 * its newest row. */
enum accounting_search_index {
    ACCOUNTING_SEARCH_BY_USER,
    ACCOUNTING_SEARCH_FAILED,
    ACCOUNTING_SEARCH_BY_STATUS,
    ACCOUNTING_SEARCH_BY_ADDRESS,
    ACCOUNTING_SEARCH_BY_DESTINATION,
    ACCOUNTING_SEARCH_BY_STARTED,
    ACCOUNTING_SEARCH_WALK,
    ACCOUNTING_SEARCH_INDEXES
};

/* The ones filter's terms allow, in preference order (the walk last, always there). */
unsigned accounting_search_candidates(const struct accounting_filter *filter,
                                      enum accounting_search_index
                                          candidates[ACCOUNTING_SEARCH_INDEXES]);
/* The query for filter walking index, into sql (1 KiB is plenty); its parameters are numbered
 * and bound by the search. Exposed so that tests can ask SQLite how it runs each one. */
void accounting_search_sql(const struct accounting_filter *filter,
                           enum accounting_search_index index, char *sql, size_t sql_size);
/* The candidate that reads the fewest rows: with more than one, each counts (up to 20,000 on
 * its index) the rows its own term matches. False on a database error (sqlite3_errmsg). */
bool accounting_search_choose(struct sqlite3 *db, const struct accounting_filter *filter,
                              enum accounting_search_index *chosen);

/* accounting_store_search on db (any handle on the file); errors name path. */
bool accounting_search_run(struct sqlite3 *db, const char *path,
                           const struct accounting_filter *filter,
                           accounting_connection_visit visit, void *context, bool *more,
                           char *error, size_t error_size);
/* The same, walking index (one of filter's candidates), for tests. */
bool accounting_search_run_with(struct sqlite3 *db, const char *path,
                                const struct accounting_filter *filter,
                                enum accounting_search_index index,
                                accounting_connection_visit visit, void *context, bool *more,
                                char *error, size_t error_size);

#endif
