/* admin_commands: the admin protocol v2 commands (PROTOCOL.md section 7) — codes, names, who
 * may run them, their argument layouts, and the keys and columns of their response bodies. */
#include "admin_commands.h"

#include <string.h>

const char *const admin_connections_columns[ADMIN_CONNECTIONS_COLUMN_COUNT] = {
    ADMIN_COLUMN_ID,          ADMIN_COLUMN_STATE,       ADMIN_COLUMN_STARTED,
    ADMIN_COLUMN_USER,        ADMIN_COLUMN_CLIENT,      ADMIN_COLUMN_DESTINATION,
    ADMIN_COLUMN_DESTINATION_ADDRESS, ADMIN_COLUMN_BYTES_UP, ADMIN_COLUMN_BYTES_DOWN,
    ADMIN_COLUMN_STATUS,      ADMIN_COLUMN_DURATION_MS, ADMIN_COLUMN_KIND,
    ADMIN_COLUMN_DATAGRAMS_UP, ADMIN_COLUMN_DATAGRAMS_DOWN,
};

const char *const admin_history_columns[ADMIN_HISTORY_COLUMN_COUNT] = {
    ADMIN_COLUMN_ID,          ADMIN_COLUMN_STATE,       ADMIN_COLUMN_STARTED,
    ADMIN_COLUMN_USER,        ADMIN_COLUMN_CLIENT,      ADMIN_COLUMN_DESTINATION,
    ADMIN_COLUMN_DESTINATION_ADDRESS, ADMIN_COLUMN_BYTES_UP, ADMIN_COLUMN_BYTES_DOWN,
    ADMIN_COLUMN_STATUS,      ADMIN_COLUMN_DURATION_MS, ADMIN_COLUMN_KIND,
    ADMIN_COLUMN_DATAGRAMS_UP, ADMIN_COLUMN_DATAGRAMS_DOWN, ADMIN_COLUMN_HISTORY_ID,
    ADMIN_COLUMN_ENDED,
};

const char *const admin_users_columns[ADMIN_USERS_COLUMN_COUNT] = {
    ADMIN_COLUMN_USER,           ADMIN_COLUMN_ROLE,     ADMIN_COLUMN_CONNECTIONS_LIVE,
    ADMIN_COLUMN_CONNECTIONS_TOTAL, ADMIN_COLUMN_BYTES_UP, ADMIN_COLUMN_BYTES_DOWN,
    ADMIN_COLUMN_MAX_CONNECTIONS, ADMIN_COLUMN_UPLOAD_LIMIT, ADMIN_COLUMN_DOWNLOAD_LIMIT,
    ADMIN_COLUMN_LIMIT_REFUSALS, ADMIN_COLUMN_LIFETIME_CONNECTIONS_TOTAL,
    ADMIN_COLUMN_LIFETIME_BYTES_UP, ADMIN_COLUMN_LIFETIME_BYTES_DOWN,
};

const char *const admin_rules_columns[ADMIN_RULES_COLUMN_COUNT] = {
    ADMIN_COLUMN_NUMBER, ADMIN_COLUMN_NAME, ADMIN_COLUMN_ACTION, ADMIN_COLUMN_RULE,
    ADMIN_COLUMN_HITS,
};

#define ARG(member) offsetof(struct admin_request, args.member)
/* Sets fields and field_count together, so no entry carries a count to keep in step. */
#define FIELDS(...)                                                                              \
    .field_count = sizeof((struct admin_field[]){__VA_ARGS__}) / sizeof(struct admin_field),     \
    .fields = {__VA_ARGS__}

/* One entry per command; codes need not be dense nor in order (lookups scan). */
static const struct admin_command_info commands[] = {
    {.code = ADMIN_CMD_PING, .name = "ping", .summary = "check that the session is alive",
     .access = ADMIN_ACCESS_ANYONE, .result = ADMIN_BODY_EMPTY},
    {.code = ADMIN_CMD_SERVER_INFO, .name = "server-info",
     .summary = "version, uptime, listeners, auth mode and limits", .access = ADMIN_ACCESS_ADMIN,
     .result = ADMIN_BODY_RECORD},
    {.code = ADMIN_CMD_METRICS, .name = "metrics",
     .summary = "global counters since the server started", .access = ADMIN_ACCESS_ADMIN,
     .result = ADMIN_BODY_RECORD},
    {.code = ADMIN_CMD_USER_METRICS, .name = "user-metrics", .summary = "one user's counters",
     .access = ADMIN_ACCESS_SELF_OR_ADMIN, .result = ADMIN_BODY_RECORD,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8,
             .meaning = ADMIN_MEANING_USER_OR_ANONYMOUS, .offset = ARG(user_metrics.user),
             .help = "user name; empty = yourself"})},
    {.code = ADMIN_CMD_CONNECTIONS, .name = "connections",
     .summary = "one page of live and/or recent connections",
     .access = ADMIN_ACCESS_SELF_OR_ADMIN, .result = ADMIN_BODY_TABLE,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8,
             .meaning = ADMIN_MEANING_USER_OR_ANONYMOUS, .offset = ARG(connections.user),
             .help = "user name; empty = everyone (admin) or yourself (user)"},
            {.name = "which", .type = ADMIN_FIELD_U8, .check = ADMIN_CHECK_WHICH,
             .offset = ARG(connections.which), .help = "0 = live, 1 = recent, 2 = both"},
            {.name = "offset", .type = ADMIN_FIELD_U32, .offset = ARG(connections.offset),
             .help = "rows to skip, in ascending id order"},
            {.name = "limit", .type = ADMIN_FIELD_U32, .offset = ARG(connections.limit),
             .help = "most rows to return; 0 = as many as fit"})},
    {.code = ADMIN_CMD_USERS, .name = "users",
     .summary = "every user with role, usage and limits",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_TABLE},
    {.code = ADMIN_CMD_ADD_USER, .name = "add-user", .summary = "add a user",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_EMPTY,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_NOT_EMPTY,
             .meaning = ADMIN_MEANING_NEW_USER, .offset = ARG(add_user.user),
             .placeholder = "NAME", .help = "new user's name"},
            {.name = "password", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_NOT_EMPTY,
             .meaning = ADMIN_MEANING_PASSWORD, .offset = ARG(add_user.password),
             .help = "new user's password"},
            {.name = "role", .type = ADMIN_FIELD_U8, .check = ADMIN_CHECK_ROLE,
             .offset = ARG(add_user.role), .help = "0 = user, 1 = admin"})},
    {.code = ADMIN_CMD_REMOVE_USER, .name = "remove-user", .summary = "remove a user",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_EMPTY,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_NOT_EMPTY,
             .meaning = ADMIN_MEANING_USER, .offset = ARG(remove_user.user),
             .placeholder = "NAME", .help = "user name"})},
    {.code = ADMIN_CMD_SET_ROLE, .name = "set-role",
     .summary = "promote a user to admin or demote an admin", .access = ADMIN_ACCESS_ADMIN,
     .result = ADMIN_BODY_EMPTY,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_NOT_EMPTY,
             .meaning = ADMIN_MEANING_USER, .offset = ARG(set_role.user),
             .placeholder = "NAME", .help = "user name"},
            {.name = "role", .type = ADMIN_FIELD_U8, .check = ADMIN_CHECK_ROLE,
             .offset = ARG(set_role.role), .help = "0 = user, 1 = admin"})},
    {.code = ADMIN_CMD_SET_PASSWORD, .name = "set-password", .summary = "change a password",
     .access = ADMIN_ACCESS_SELF_OR_ADMIN, .result = ADMIN_BODY_EMPTY,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8, .meaning = ADMIN_MEANING_USER,
             .offset = ARG(set_password.user), .placeholder = "NAME",
             .help = "user name; empty = yourself"},
            {.name = "password", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_NOT_EMPTY,
             .meaning = ADMIN_MEANING_PASSWORD, .offset = ARG(set_password.password),
             .help = "new password"})},
    {.code = ADMIN_CMD_SET_NO_AUTH, .name = "set-no-auth",
     .summary = "allow or refuse SOCKS clients without a password",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_EMPTY,
     FIELDS({.name = "allowed", .type = ADMIN_FIELD_U8, .check = ADMIN_CHECK_FLAG,
             .offset = ARG(set_no_auth.allowed), .help = "1 = allow, 0 = refuse"})},
    {.code = ADMIN_CMD_GET_BUFFER_SIZE, .name = "get-buffer-size",
     .summary = "relay buffer size per direction", .access = ADMIN_ACCESS_ADMIN,
     .result = ADMIN_BODY_RECORD},
    {.code = ADMIN_CMD_SET_BUFFER_SIZE, .name = "set-buffer-size",
     .summary = "relay buffer size per direction for new connections",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_EMPTY,
     FIELDS({.name = "size", .type = ADMIN_FIELD_U32, .offset = ARG(set_buffer_size.size),
             .placeholder = "BYTES", .help = "bytes"})},
    {.code = ADMIN_CMD_CLOSE_CONNECTION, .name = "close-connection",
     .summary = "close one connection by id", .access = ADMIN_ACCESS_ADMIN,
     .result = ADMIN_BODY_EMPTY,
     FIELDS({.name = "id", .type = ADMIN_FIELD_U64, .offset = ARG(close_connection.id),
             .help = "connection id"})},
    {.code = ADMIN_CMD_CLOSE_USER_CONNECTIONS, .name = "close-user-connections",
     .summary = "close every live connection of a user", .access = ADMIN_ACCESS_ADMIN,
     .result = ADMIN_BODY_RECORD,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_NOT_EMPTY,
             .meaning = ADMIN_MEANING_USER_OR_ANONYMOUS,
             .offset = ARG(close_user_connections.user), .placeholder = "NAME",
             .help = "user name"})},
    {.code = ADMIN_CMD_RULES, .name = "rules",
     .summary = "destination rules in order, with hit counts, and the safe defaults",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_TABLE},
    {.code = ADMIN_CMD_SET_LIMITS, .name = "set-limits",
     .summary = "a user's connection and bandwidth limits, kept in the users file",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_RECORD,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_NOT_EMPTY,
             .meaning = ADMIN_MEANING_USER, .offset = ARG(set_limits.user),
             .placeholder = "NAME", .help = "user name"},
            {.name = "limits", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_NOT_EMPTY,
             .offset = ARG(set_limits.limits), .placeholder = "KEY=VALUE...",
             .help = "max-connections=N upload=RATE download=RATE (bytes/s, K/M/G = "
                     "powers of 1024; 0 = unlimited; default = the configuration's)"})},
    {.code = ADMIN_CMD_RELOAD, .name = "reload",
     .summary = "re-read the config and users files; new connections get them",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_RECORD},
    {.code = ADMIN_CMD_RESET_USAGE, .name = "reset-usage",
     .summary = "set a user's lifetime usage (or everybody's and the server's) to zero",
     .access = ADMIN_ACCESS_ADMIN, .result = ADMIN_BODY_RECORD,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8,
             .meaning = ADMIN_MEANING_USER_OR_ANONYMOUS, .offset = ARG(reset_usage.user),
             .placeholder = "NAME", .help = "user name; empty = every user and the server"})},
    {.code = ADMIN_CMD_HISTORY, .name = "history",
     .summary = "finished connections from the accounting database, newest first",
     .access = ADMIN_ACCESS_SELF_OR_ADMIN, .result = ADMIN_BODY_TABLE,
     FIELDS({.name = "user", .type = ADMIN_FIELD_STR8,
             .meaning = ADMIN_MEANING_USER_OR_ANONYMOUS, .offset = ARG(history.user),
             .placeholder = "NAME", .help = "user name; empty = everyone (admin) or yourself"},
            {.name = "destination", .type = ADMIN_FIELD_STR8, .offset = ARG(history.destination),
             .placeholder = "PATTERN",
             .help = "address or CIDR of the connected address, else a prefix; empty = any"},
            {.name = "status", .type = ADMIN_FIELD_STR8, .check = ADMIN_CHECK_HISTORY_STATUS,
             .offset = ARG(history.status), .help = "empty = any, failed, or a code 0..255"},
            {.name = "since", .type = ADMIN_FIELD_U64, .offset = ARG(history.since),
             .placeholder = "MS", .help = "started at or after (ms since 1970); 0 = no bound"},
            {.name = "until", .type = ADMIN_FIELD_U64, .offset = ARG(history.until),
             .placeholder = "MS", .help = "started before (ms since 1970); 0 = no bound"},
            {.name = "before", .type = ADMIN_FIELD_U64, .offset = ARG(history.before),
             .placeholder = "HISTORY_ID", .help = "only older rows than this one; 0 = newest"},
            {.name = "limit", .type = ADMIN_FIELD_U32, .offset = ARG(history.limit),
             .help = "most rows; 0 = 1000, at most 10000"})},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

bool admin_history_status_valid(const char *text)
{
    if (text[0] == '\0' || strcmp(text, ADMIN_HISTORY_STATUS_FAILED) == 0)
        return true;
    unsigned value = 0;
    size_t digits = 0;
    for (; text[digits] != '\0'; digits++) {
        if (digits == 3 || text[digits] < '0' || text[digits] > '9')
            return false;
        value = value * 10 + (unsigned)(text[digits] - '0');
    }
    return value <= 255;
}

const char *admin_connections_which_name(uint8_t which)
{
    switch (which) {
    case ADMIN_CONNECTIONS_LIVE: return "live";
    case ADMIN_CONNECTIONS_RECENT: return "recent";
    case ADMIN_CONNECTIONS_BOTH: return "both";
    default: return "unknown";
    }
}

bool admin_str8_set(struct admin_str8 *str, const char *text)
{
    if (text == NULL)
        return false;
    size_t length = strlen(text);
    if (length > ADMIN_STR8_MAX)
        return false;
    memcpy(str->text, text, length + 1);
    str->length = (uint8_t)length;
    return true;
}

const struct admin_command_info *admin_command_info(uint8_t code)
{
    /* A scan of a short table costs less than the request it answers, and lets entries be
     * added with any free code, anywhere. */
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (commands[i].code == code)
            return &commands[i];
    return NULL;
}

const struct admin_command_info *admin_command_find(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

size_t admin_command_count(void)
{
    return COMMAND_COUNT;
}

const struct admin_command_info *admin_command_at(size_t index)
{
    return index < COMMAND_COUNT ? &commands[index] : NULL;
}

const char *admin_command_name(uint8_t code)
{
    const struct admin_command_info *info = admin_command_info(code);
    return info != NULL ? info->name : "unknown";
}

void admin_request_init(struct admin_request *request, uint8_t command)
{
    memset(request, 0, sizeof(*request));
    request->command = command;
}

/* ---- Field access by offset ---- */

static const void *field_at(const struct admin_request *request, const struct admin_field *field)
{
    return (const char *)request + field->offset;
}

static void *field_at_mutable(struct admin_request *request, const struct admin_field *field)
{
    return (char *)request + field->offset;
}

static size_t field_wire_length(const struct admin_request *request,
                                const struct admin_field *field)
{
    switch (field->type) {
    case ADMIN_FIELD_U8: return 1;
    case ADMIN_FIELD_U32: return 4;
    case ADMIN_FIELD_U64: return 8;
    case ADMIN_FIELD_STR8:
        return 1 + ((const struct admin_str8 *)field_at(request, field))->length;
    }
    return 0;
}

static void write_big_endian(uint8_t *out, uint64_t value, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        out[i] = (uint8_t)(value >> (8 * (bytes - 1 - i)));
}

static uint64_t read_big_endian(const uint8_t *in, size_t bytes)
{
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; i++)
        value = value << 8 | in[i];
    return value;
}

static size_t field_encode(const struct admin_request *request, const struct admin_field *field,
                           uint8_t *out)
{
    const void *value = field_at(request, field);
    switch (field->type) {
    case ADMIN_FIELD_U8: out[0] = *(const uint8_t *)value; return 1;
    case ADMIN_FIELD_U32: write_big_endian(out, *(const uint32_t *)value, 4); return 4;
    case ADMIN_FIELD_U64: write_big_endian(out, *(const uint64_t *)value, 8); return 8;
    case ADMIN_FIELD_STR8: {
        const struct admin_str8 *str = value;
        out[0] = str->length;
        memcpy(out + 1, str->text, str->length);
        return 1 + (size_t)str->length;
    }
    }
    return 0;
}

size_t admin_request_encode(const struct admin_request *request, uint8_t *out, size_t capacity)
{
    const struct admin_command_info *info = admin_command_info(request->command);
    if (info == NULL)
        return 0;
    size_t body_length = 0;
    for (size_t i = 0; i < info->field_count; i++)
        body_length += field_wire_length(request, &info->fields[i]);
    if (capacity < ADMIN_REQUEST_HEADER_SIZE + body_length)
        return 0;
    size_t at = admin_request_header_encode(out, info->code, (uint32_t)body_length);
    for (size_t i = 0; i < info->field_count; i++)
        at += field_encode(request, &info->fields[i], out + at);
    return at;
}

/* Reads one field at body[*at]; NULL on success, else the problem. */
static const char *field_decode(struct admin_request *request, const struct admin_field *field,
                                const uint8_t *body, size_t length, size_t *at)
{
    static const size_t fixed_sizes[] = {[ADMIN_FIELD_U8] = 1, [ADMIN_FIELD_U32] = 4,
                                         [ADMIN_FIELD_U64] = 8};
    void *value = field_at_mutable(request, field);
    size_t left = length - *at;
    if (field->type != ADMIN_FIELD_STR8) {
        size_t size = fixed_sizes[field->type];
        if (left < size)
            return "body is shorter than the command's layout";
        uint64_t number = read_big_endian(body + *at, size);
        if (field->type == ADMIN_FIELD_U8)
            *(uint8_t *)value = (uint8_t)number;
        else if (field->type == ADMIN_FIELD_U32)
            *(uint32_t *)value = (uint32_t)number;
        else
            *(uint64_t *)value = number;
        *at += size;
        return NULL;
    }
    if (left < 1)
        return "body is shorter than the command's layout";
    struct admin_str8 *str = value;
    uint8_t str_length = body[*at];
    if (left - 1 < str_length)
        return "a string runs past the end of the body";
    if (memchr(body + *at + 1, 0, str_length) != NULL)
        return "a string holds a NUL byte";
    memcpy(str->text, body + *at + 1, str_length);
    str->text[str_length] = '\0';
    str->length = str_length;
    *at += 1 + (size_t)str_length;
    return NULL;
}

/* NULL when the field's value passes its check, else the problem. */
static const char *field_check(const struct admin_request *request,
                               const struct admin_field *field)
{
    const void *value = field_at(request, field);
    switch (field->check) {
    case ADMIN_CHECK_NONE: return NULL;
    case ADMIN_CHECK_NOT_EMPTY:
        return ((const struct admin_str8 *)value)->length == 0
                   ? "user name and password must not be empty"
                   : NULL;
    case ADMIN_CHECK_ROLE:
        return *(const uint8_t *)value > ADMIN_ROLE_ADMIN ? "role must be 0 (user) or 1 (admin)"
                                                          : NULL;
    case ADMIN_CHECK_FLAG: return *(const uint8_t *)value > 1 ? "flag must be 0 or 1" : NULL;
    case ADMIN_CHECK_WHICH:
        return *(const uint8_t *)value > ADMIN_CONNECTIONS_BOTH
                   ? "which must be 0 (live), 1 (recent) or 2 (both)"
                   : NULL;
    case ADMIN_CHECK_HISTORY_STATUS:
        return admin_history_status_valid(((const struct admin_str8 *)value)->text)
                   ? NULL
                   : "status must be empty, failed, or a reply code 0..255";
    }
    return NULL;
}

enum admin_status admin_request_validate(const struct admin_request *request,
                                         const char **problem)
{
    const struct admin_command_info *info = admin_command_info(request->command);
    if (info == NULL) {
        *problem = "unknown command";
        return ADMIN_STATUS_UNSUPPORTED_COMMAND;
    }
    for (size_t i = 0; i < info->field_count; i++) {
        const struct admin_field *field = &info->fields[i];
        if (field->type == ADMIN_FIELD_STR8) {
            const struct admin_str8 *str = field_at(request, field);
            if (memchr(str->text, 0, str->length) != NULL) {
                *problem = "a string holds a NUL byte";
                return ADMIN_STATUS_BAD_REQUEST;
            }
        }
        const char *failed = field_check(request, field);
        if (failed != NULL) {
            *problem = failed;
            return ADMIN_STATUS_BAD_REQUEST;
        }
    }
    *problem = NULL;
    return ADMIN_STATUS_OK;
}

enum admin_status admin_request_parse(uint8_t command, const uint8_t *body, size_t length,
                                      struct admin_request *request, const char **problem)
{
    admin_request_init(request, command);
    const struct admin_command_info *info = admin_command_info(command);
    if (info == NULL) {
        *problem = "unknown command";
        return ADMIN_STATUS_UNSUPPORTED_COMMAND;
    }
    size_t at = 0;
    for (size_t i = 0; i < info->field_count; i++) {
        const char *failed = field_decode(request, &info->fields[i], body, length, &at);
        if (failed != NULL) {
            *problem = failed;
            return ADMIN_STATUS_BAD_REQUEST;
        }
    }
    if (at != length) {
        *problem = "body is longer than the command's layout";
        return ADMIN_STATUS_BAD_REQUEST;
    }
    return admin_request_validate(request, problem);
}

bool admin_request_permitted(const struct admin_request *request, uint8_t role,
                             const char *session_user)
{
    const struct admin_command_info *info = admin_command_info(request->command);
    if (info == NULL)
        return false;
    if (role == ADMIN_ROLE_ADMIN || info->access == ADMIN_ACCESS_ANYONE)
        return true;
    if (info->access == ADMIN_ACCESS_ADMIN)
        return false;
    /* SELF_OR_ADMIN commands name their target user in their first field. */
    const struct admin_str8 *target = field_at(request, &info->fields[0]);
    return target->length == 0 || strcmp(target->text, session_user) == 0;
}
