/* limits_table: the configured per-user limits — a default, one per role, one per user name —
 * and how they combine with a user's run-time limits into the limits that user has. */
#ifndef LIMITS_TABLE_H
#define LIMITS_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "users.h"

struct limits_table;

struct limits_table *limits_table_create(void);
void limits_table_destroy(struct limits_table *table);

/* Building, as a config file gives it. scope: "default", "role:user", "role:admin" or
 * "user:NAME". Keys: max-connections (a count), upload and download (bytes per second, with
 * an optional K, M or G suffix, powers of 1024); 0 = unlimited. On error returns false with
 * a message saying what was expected. */
bool limits_table_set_field(struct limits_table *table, const char *scope, const char *key,
                            const char *value, char *error, size_t error_size);

#endif
