/* limits_table: the configured per-user limits — a default, one per role, one per user name —
 * and how they combine with a user's run-time limits into the limits that user has. */
#ifndef LIMITS_TABLE_H
#define LIMITS_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "user_limits.h"
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

/* The limits of a user, field by field, from the first source that sets it: its run-time
 * limits (set-limits), the table's user:NAME, its role:ROLE, the default; unlimited (0) when
 * none does. The anonymous user (no-auth clients) is a user of role user named "anonymous":
 * the default and role:user apply to it, and user:anonymous names it alone. */
struct user_limits limits_table_resolve(const struct limits_table *table, const char *name,
                                        enum user_role role, const struct user_limits *runtime);

/* Makes table the source of every user's configured limits and recomputes them all (at start
 * and after a reload: call before the table it replaces is freed). */
void limits_table_install(const struct limits_table *table, struct users *users);

#endif
