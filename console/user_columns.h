/* user_columns: the server's users table as the dashboard lists it, one row per column — its
 * name, what its values are, heading, width — plus the rates the console measures per user. */
#ifndef USER_COLUMNS_H
#define USER_COLUMNS_H

#include <stddef.h>

#include "table_columns.h"

struct dashboard_user;

extern const struct table_column user_columns[];
extern const size_t user_column_count;

/* A column's value for user, as the list shows it. */
void user_column_text(const struct dashboard_user *user, const struct table_column *column,
                      char *out, size_t size);

#endif
