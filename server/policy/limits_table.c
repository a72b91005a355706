/* limits_table: the configured per-user limits — a default, one per role, one per user name —
 * and how they combine with a user's run-time limits into the limits that user has. */
#include "limits_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Configured per-user scopes are few (a config file's worth): a list scanned at each
 * resolution, which happens on user changes and reloads only, never per connection. */
struct user_scope {
    char *name;
    struct user_limits limits;
};

struct limits_table {
    struct user_limits fallback; /* the "default" scope */
    struct user_limits roles[2]; /* by enum user_role */
    struct user_scope *users;
    size_t user_count;
};

struct limits_table *limits_table_create(void)
{
    struct limits_table *table = calloc(1, sizeof(*table));
    if (table == NULL)
        return NULL;
    table->fallback = user_limits_unset();
    table->roles[USER_ROLE_USER] = user_limits_unset();
    table->roles[USER_ROLE_ADMIN] = user_limits_unset();
    return table;
}

void limits_table_destroy(struct limits_table *table)
{
    if (table == NULL)
        return;
    for (size_t i = 0; i < table->user_count; i++)
        free(table->users[i].name);
    free(table->users);
    free(table);
}

static const struct user_limits *find_user_scope(const struct limits_table *table,
                                                 const char *name)
{
    for (size_t i = 0; i < table->user_count; i++)
        if (strcmp(table->users[i].name, name) == 0)
            return &table->users[i].limits;
    return NULL;
}

/* The limits a scope names, created for a new user name; NULL with error set otherwise. */
static struct user_limits *scope_limits(struct limits_table *table, const char *scope,
                                        char *error, size_t error_size)
{
    if (strcmp(scope, "default") == 0)
        return &table->fallback;
    if (strcmp(scope, "role:user") == 0)
        return &table->roles[USER_ROLE_USER];
    if (strcmp(scope, "role:admin") == 0)
        return &table->roles[USER_ROLE_ADMIN];
    if (strncmp(scope, "user:", 5) == 0) {
        const char *name = scope + 5;
        size_t length = strlen(name);
        bool anonymous = strcmp(name, USERS_ANONYMOUS_NAME) == 0;
        if (!anonymous && !users_name_valid(name, length)) {
            snprintf(error, error_size, "'%.64s' is not a valid user name", name);
            return NULL;
        }
        const struct user_limits *found = find_user_scope(table, name);
        if (found != NULL)
            return (struct user_limits *)found;
        struct user_scope *grown =
            realloc(table->users, (table->user_count + 1) * sizeof(*grown));
        char *copy = strdup(name);
        if (grown == NULL || copy == NULL) {
            free(copy);
            if (grown != NULL)
                table->users = grown;
            snprintf(error, error_size, "out of memory");
            return NULL;
        }
        table->users = grown;
        table->users[table->user_count] = (struct user_scope){copy, user_limits_unset()};
        return &table->users[table->user_count++].limits;
    }
    snprintf(error, error_size,
             "unknown scope '%.64s' (expected default, role:user, role:admin or user:NAME)", scope);
    return NULL;
}

bool limits_table_set_field(struct limits_table *table, const char *scope, const char *key,
                            const char *value, char *error, size_t error_size)
{
    enum user_limit_field field;
    if (!user_limit_field_find(key, strlen(key), &field)) {
        snprintf(error, error_size,
                 "unknown limit '%.64s' (expected max-connections, upload or download)", key);
        return false;
    }
    uint64_t number;
    if (!user_limit_value_parse(field, value, strlen(value), &number, error, error_size))
        return false;
    struct user_limits *limits = scope_limits(table, scope, error, error_size);
    if (limits == NULL)
        return false;
    limits->value[field] = number;
    return true;
}

struct user_limits limits_table_resolve(const struct limits_table *table, const char *name,
                                        enum user_role role, const struct user_limits *runtime)
{
    struct user_limits limits = user_limits_unlimited();
    if (table != NULL) {
        limits = user_limits_overlay(limits, &table->fallback);
        limits = user_limits_overlay(limits, &table->roles[role == USER_ROLE_ADMIN]);
        const struct user_limits *own = find_user_scope(table, name);
        if (own != NULL)
            limits = user_limits_overlay(limits, own);
    }
    return user_limits_overlay(limits, runtime);
}

static struct user_limits resolve_for_users(const void *context, const char *name,
                                            enum user_role role, const struct user_limits *runtime)
{
    return limits_table_resolve(context, name, role, runtime);
}

void limits_table_install(const struct limits_table *table, struct users *users)
{
    users_set_limits_resolver(users, resolve_for_users, table);
}
