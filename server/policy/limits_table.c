/* limits_table: the configured per-user limits — a default, one per role, one per user name —
 * and how they combine with a user's run-time limits into the limits that user has. */
#include "limits_table.h"

#include <stdio.h>
#include <stdlib.h>

/* PLACEHOLDER until per-user limits land: a table that limits nobody. */
struct limits_table {
    int unused;
};

struct limits_table *limits_table_create(void)
{
    return calloc(1, sizeof(struct limits_table));
}

void limits_table_destroy(struct limits_table *table)
{
    free(table);
}

bool limits_table_set_field(struct limits_table *table, const char *scope, const char *key,
                            const char *value, char *error, size_t error_size)
{
    (void)table;
    (void)scope;
    (void)key;
    (void)value;
    snprintf(error, error_size, "limits are not implemented");
    return false;
}
