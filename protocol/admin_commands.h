/* admin_commands: the admin protocol v2 commands (PROTOCOL.md section 7) — codes, names, who
 * may run them, their argument layouts, and the keys and columns of their response bodies. */
#ifndef ADMIN_COMMANDS_H
#define ADMIN_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin_protocol.h"

enum admin_command {
    ADMIN_CMD_PING = 0x01,
    ADMIN_CMD_SERVER_INFO = 0x02,
    ADMIN_CMD_METRICS = 0x03,
    ADMIN_CMD_USER_METRICS = 0x04,
    ADMIN_CMD_CONNECTIONS = 0x05,
    ADMIN_CMD_USERS = 0x06,
    ADMIN_CMD_ADD_USER = 0x07,
    ADMIN_CMD_REMOVE_USER = 0x08,
    ADMIN_CMD_SET_ROLE = 0x09,
    ADMIN_CMD_SET_PASSWORD = 0x0A,
    ADMIN_CMD_SET_NO_AUTH = 0x0B,
    ADMIN_CMD_GET_BUFFER_SIZE = 0x0C,
    ADMIN_CMD_SET_BUFFER_SIZE = 0x0D,
    ADMIN_CMD_CLOSE_CONNECTION = 0x0E,
    ADMIN_CMD_CLOSE_USER_CONNECTIONS = 0x0F,
    ADMIN_CMD_RULES = 0x10,
    ADMIN_CMD_RELOAD = 0x11,
    ADMIN_CMD_SET_LIMITS = 0x12,
    ADMIN_CMD_RESET_USAGE = 0x13,
    ADMIN_CMD_HISTORY = 0x14,
};

/* CONNECTIONS "which" argument. */
enum admin_connections_which {
    ADMIN_CONNECTIONS_LIVE = 0x00,
    ADMIN_CONNECTIONS_RECENT = 0x01, /* finished, still in the server's history */
    ADMIN_CONNECTIONS_BOTH = 0x02,
};

/* "live", "recent", "both"; "unknown" otherwise. */
const char *admin_connections_which_name(uint8_t which);

/* ---- Arguments ---- */

/* A str8: 0..255 bytes, never holding NUL, kept NUL-terminated. */
struct admin_str8 {
    uint8_t length;
    char text[ADMIN_STR8_MAX + 1];
};

/* False when text is longer than 255 bytes or NULL. */
bool admin_str8_set(struct admin_str8 *str, const char *text);

struct admin_args_user {          /* USER_METRICS, REMOVE_USER, CLOSE_USER_CONNECTIONS */
    struct admin_str8 user;       /* USER_METRICS: empty = the session's own user */
};

struct admin_args_connections {
    struct admin_str8 user;       /* empty = all (admin) or own (user) */
    uint8_t which;                /* enum admin_connections_which */
    uint32_t offset;              /* rows to skip, in ascending id order */
    uint32_t limit;               /* most rows to return; 0 = as many as fit */
};

struct admin_args_add_user {
    struct admin_str8 user;
    struct admin_str8 password;
    uint8_t role;                 /* enum admin_role */
};

struct admin_args_set_role {
    struct admin_str8 user;
    uint8_t role;
};

struct admin_args_set_password {
    struct admin_str8 user;       /* empty = the session's own user */
    struct admin_str8 password;
};

struct admin_args_set_no_auth {
    uint8_t allowed;              /* 0 or 1 */
};

struct admin_args_buffer_size {
    uint32_t size;
};

struct admin_args_connection_id {
    uint64_t id;
};

struct admin_args_set_limits {
    struct admin_str8 user;
    /* key=value items separated by a space or ',': max-connections=N, upload=RATE,
     * download=RATE (bytes per second, optional K/M/G = powers of 1024), 0 = unlimited,
     * "default" = what the configuration gives; fields not named stay as they are. */
    struct admin_str8 limits;
};

struct admin_args_reset_usage {
    struct admin_str8 user;       /* empty = every user and the global counters */
};

/* HISTORY: finished connections from the accounting database, newest first. */
struct admin_args_history {
    struct admin_str8 user;        /* empty = all (admin) or own (user); "anonymous" */
    struct admin_str8 destination; /* empty = any; an address or CIDR, else a prefix */
    struct admin_str8 status;      /* "" = any, "failed" = not 0, or a decimal 0..255 */
    uint64_t since;                /* ms since the epoch; started at or after; 0 = no bound */
    uint64_t until;                /* started before; 0 = no bound */
    uint64_t before;               /* only rows older than this history_id; 0 = newest */
    uint32_t limit;                /* most rows; 0 = ADMIN_HISTORY_LIMIT_DEFAULT */
};

#define ADMIN_HISTORY_LIMIT_DEFAULT 1000
#define ADMIN_HISTORY_LIMIT_MAX 10000
#define ADMIN_HISTORY_STATUS_FAILED "failed"

/* Whether text is a history status filter: "", "failed", or 1 to 3 decimal digits of a value
 * 0..255 (no sign, no space). Pure. */
bool admin_history_status_valid(const char *text);

struct admin_request {
    uint8_t command; /* enum admin_command */
    union {
        struct admin_args_user user_metrics;
        struct admin_args_connections connections;
        struct admin_args_add_user add_user;
        struct admin_args_user remove_user;
        struct admin_args_set_role set_role;
        struct admin_args_set_password set_password;
        struct admin_args_set_no_auth set_no_auth;
        struct admin_args_buffer_size set_buffer_size;
        struct admin_args_connection_id close_connection;
        struct admin_args_user close_user_connections;
        struct admin_args_set_limits set_limits;
        struct admin_args_reset_usage reset_usage;
        struct admin_args_history history;
    } args;
};

/* Zeroes the request and sets its command. */
void admin_request_init(struct admin_request *request, uint8_t command);

/* Writes the whole frame (header + body). Returns its length, or 0 for an unknown command
 * or when capacity is too small. Argument values are not checked: see validate. */
size_t admin_request_encode(const struct admin_request *request, uint8_t *out, size_t capacity);

/* Reads a decoded frame's body into request. Returns OK, UNSUPPORTED_COMMAND (unknown
 * code), or BAD_REQUEST (body length does not match the layout, a str8 runs past the body
 * or holds NUL, or a value is out of range); *problem then names it in a short phrase. */
enum admin_status admin_request_parse(uint8_t command, const uint8_t *body, size_t length,
                                      struct admin_request *request, const char **problem);

/* The value checks of admin_request_parse, for a client about to send request. */
enum admin_status admin_request_validate(const struct admin_request *request,
                                         const char **problem);

/* ---- Who may run what ---- */

enum admin_access {
    ADMIN_ACCESS_ANYONE,        /* any logged-in user */
    ADMIN_ACCESS_SELF_OR_ADMIN, /* a user for themselves (first argument empty or their name) */
    ADMIN_ACCESS_ADMIN,         /* admins only */
};

/* Whether a session of session_user (not NULL) with role may run request. Check after
 * admin_request_parse succeeded; refuse with ADMIN_STATUS_FORBIDDEN. */
bool admin_request_permitted(const struct admin_request *request, uint8_t role,
                             const char *session_user);

/* ---- The command table: the one description of every command ---- */

/* Encoding, parsing, permissions, the console's words and help, and the tests all read it:
 * a new command is one entry in admin_commands.c (plus its code and argument struct above). */

enum admin_field_type { ADMIN_FIELD_U8, ADMIN_FIELD_U32, ADMIN_FIELD_U64, ADMIN_FIELD_STR8 };

enum admin_field_check {
    ADMIN_CHECK_NONE,
    ADMIN_CHECK_NOT_EMPTY, /* str8 of 1..255 bytes */
    ADMIN_CHECK_ROLE,      /* u8 0 or 1 */
    ADMIN_CHECK_FLAG,      /* u8 0 or 1 */
    ADMIN_CHECK_WHICH,     /* u8 0, 1 or 2 */
    ADMIN_CHECK_HISTORY_STATUS, /* str8 "", "failed" or a decimal 0..255 */
};

/* What a str8 names, so that a client can offer user names or keep a password out of its
 * history without knowing the command. */
enum admin_field_meaning {
    ADMIN_MEANING_TEXT,              /* nothing a client can offer */
    ADMIN_MEANING_USER,              /* an existing user */
    ADMIN_MEANING_USER_OR_ANONYMOUS, /* an existing user, or "anonymous" (no-auth clients) */
    ADMIN_MEANING_NEW_USER,
    ADMIN_MEANING_PASSWORD,
};

struct admin_field {
    const char *name;
    enum admin_field_type type;
    enum admin_field_check check;
    enum admin_field_meaning meaning;
    size_t offset;           /* inside struct admin_request */
    const char *placeholder; /* the word a usage line shows for it; NULL = the name in capitals */
    const char *help;
};

#define ADMIN_COMMAND_FIELDS_MAX 7

enum admin_body_kind { ADMIN_BODY_EMPTY, ADMIN_BODY_RECORD, ADMIN_BODY_TABLE };

struct admin_command_info {
    uint8_t code;
    const char *name;     /* e.g. "add-user" */
    const char *summary;  /* one line for help */
    enum admin_access access;
    enum admin_body_kind result;
    size_t field_count;
    struct admin_field fields[ADMIN_COMMAND_FIELDS_MAX]; /* in wire order */
};

/* NULL for an unknown code or name. Neither depends on the codes being dense or in order. */
const struct admin_command_info *admin_command_info(uint8_t code);
const struct admin_command_info *admin_command_find(const char *name);
/* Every command, in the table's order: index 0 .. admin_command_count() - 1. */
size_t admin_command_count(void);
const struct admin_command_info *admin_command_at(size_t index);
/* "ping", ...; "unknown" for an unknown code. */
const char *admin_command_name(uint8_t code);

/* ---- Response bodies: record keys and table columns (PROTOCOL.md section 8) ---- */

/* Values of enumerated text fields. */
#define ADMIN_TEXT_ROLE_USER "user"
#define ADMIN_TEXT_ROLE_ADMIN "admin"
#define ADMIN_TEXT_ROLE_NONE "none" /* the reserved user "anonymous" */
#define ADMIN_TEXT_STATE_LIVE "live"
#define ADMIN_TEXT_STATE_CLOSED "closed"
#define ADMIN_TEXT_AUTH_PASSWORD "password"
#define ADMIN_TEXT_AUTH_PASSWORD_OR_NONE "password_or_none"
#define ADMIN_ANONYMOUS_USER "anonymous"

/* SERVER_INFO */
#define ADMIN_KEY_SERVER "server"
#define ADMIN_KEY_PROTOCOL_VERSION "protocol_version"
#define ADMIN_KEY_STARTED "started"
#define ADMIN_KEY_UPTIME_SECONDS "uptime_seconds"
#define ADMIN_KEY_SOCKS_LISTENERS "socks_listeners"
#define ADMIN_KEY_ADMIN_LISTENERS "admin_listeners"
#define ADMIN_KEY_AUTH_MODE "auth_mode"
#define ADMIN_KEY_BUFFER_SIZE "buffer_size"
#define ADMIN_KEY_MAX_CONNECTIONS "max_connections"
#define ADMIN_KEY_HANDSHAKE_TIMEOUT "handshake_timeout_seconds"
#define ADMIN_KEY_CONNECT_TIMEOUT "connect_timeout_seconds"
#define ADMIN_KEY_IDLE_TIMEOUT "idle_timeout_seconds"
#define ADMIN_KEY_CONNECTION_HISTORY "connection_history"
#define ADMIN_KEY_USERS "users"
#define ADMIN_KEY_ADMIN_SESSIONS "admin_sessions"
#define ADMIN_KEY_ADMIN_MAX_SESSIONS "admin_max_sessions"
#define ADMIN_KEY_ADMIN_AUTH_TIMEOUT "admin_auth_timeout_seconds"
#define ADMIN_KEY_ADMIN_IDLE_TIMEOUT "admin_idle_timeout_seconds"
#define ADMIN_KEY_REQUEST_BODY_MAX "request_body_max"
#define ADMIN_KEY_RESPONSE_BODY_MAX "response_body_max"
#define ADMIN_KEY_ACCOUNTING "accounting" /* ADMIN_TEXT_ACCOUNTING_* */
#define ADMIN_KEY_ACCOUNTING_DB "accounting_db"
#define ADMIN_KEY_ACCOUNTING_ERROR "accounting_error"
#define ADMIN_KEY_HISTORY_DAYS "history_days"
#define ADMIN_KEY_HISTORY_MAX_ROWS "history_max_rows"
#define ADMIN_KEY_HISTORY_ROWS "history_rows"
#define ADMIN_TEXT_ACCOUNTING_OFF "off"
#define ADMIN_TEXT_ACCOUNTING_OK "ok"
#define ADMIN_TEXT_ACCOUNTING_FAILING "failing"

/* METRICS (uptime_seconds as above) */
#define ADMIN_KEY_CONNECTIONS_TOTAL "connections_total"
#define ADMIN_KEY_CONNECTIONS_CURRENT "connections_current"
#define ADMIN_KEY_BYTES_UP "bytes_up"     /* client → remote */
#define ADMIN_KEY_BYTES_DOWN "bytes_down" /* remote → client */
#define ADMIN_KEY_SEND_ERRORS "send_errors"
#define ADMIN_KEY_RECEIVE_ERRORS "receive_errors"
#define ADMIN_KEY_DNS_ERRORS "dns_errors"
#define ADMIN_KEY_SERVER_ERRORS "server_errors"
#define ADMIN_KEY_UNSUPPORTED_INPUT "unsupported_input"
#define ADMIN_KEY_DNS_CONNECTIONS "dns_connections"
#define ADMIN_KEY_IPV4_CONNECTIONS "ipv4_connections"
#define ADMIN_KEY_IPV6_CONNECTIONS "ipv6_connections"
#define ADMIN_KEY_AUTH_ERRORS "auth_errors"
#define ADMIN_KEY_HOST_UNREACHABLE "host_unreachable"
#define ADMIN_KEY_CONNECTION_REFUSED "connection_refused"
#define ADMIN_KEY_ACCEPT_PAUSED "accept_paused"

/* METRICS: every COUNTER metric also as ADMIN_LIFETIME_PREFIX + its name ("-" when accounting
 * is off), and when those figures start */
#define ADMIN_LIFETIME_PREFIX "lifetime_"
#define ADMIN_KEY_LIFETIME_SINCE "lifetime_since"

/* USER_METRICS (bytes_up, bytes_down, connections_total as above) */
#define ADMIN_KEY_USER "user"
#define ADMIN_KEY_ROLE "role"
#define ADMIN_KEY_CONNECTIONS_LIVE "connections_live"
#define ADMIN_KEY_RULE_DENIALS "rule_denials"
#define ADMIN_KEY_DATAGRAMS_UP "datagrams_up"     /* UDP, client → remote */
#define ADMIN_KEY_DATAGRAMS_DOWN "datagrams_down" /* UDP, remote → client */
/* USER_METRICS and SET_LIMITS: the user's effective limits (0 = unlimited), and what set-limits
 * set ("-": nothing, the configuration decides every field) */
#define ADMIN_KEY_USER_MAX_CONNECTIONS "max_connections"
#define ADMIN_KEY_UPLOAD_LIMIT "upload_limit"
#define ADMIN_KEY_DOWNLOAD_LIMIT "download_limit"
#define ADMIN_KEY_LIMIT_REFUSALS "limit_refusals"
#define ADMIN_KEY_RUNTIME_LIMITS "runtime_limits"
/* USER_METRICS: lifetime usage from the accounting database ("-" when it is off) */
#define ADMIN_KEY_LIFETIME_CONNECTIONS_TOTAL "lifetime_connections_total"
#define ADMIN_KEY_LIFETIME_BYTES_UP "lifetime_bytes_up"
#define ADMIN_KEY_LIFETIME_BYTES_DOWN "lifetime_bytes_down"
#define ADMIN_KEY_LIFETIME_DATAGRAMS_UP "lifetime_datagrams_up"
#define ADMIN_KEY_LIFETIME_DATAGRAMS_DOWN "lifetime_datagrams_down"
#define ADMIN_KEY_LIFETIME_RULE_DENIALS "lifetime_rule_denials"
#define ADMIN_KEY_LIFETIME_LIMIT_REFUSALS "lifetime_limit_refusals"
#define ADMIN_KEY_LIFETIME_FAILURES "lifetime_failures" /* "code=count,..." */
#define ADMIN_KEY_FIRST_SEEN "first_seen"
#define ADMIN_KEY_LAST_SEEN "last_seen"
#define ADMIN_KEY_USAGE_RESET "usage_reset"
#define ADMIN_KEY_USAGE_RESET_BY "usage_reset_by"

/* RESET_USAGE: when, and whose ("-" = everything) */
#define ADMIN_KEY_RESET_AT "reset_at"

/* HISTORY record part: whether older matching rows remain */
#define ADMIN_KEY_MORE "more"

/* CONNECTIONS and USERS record part */
#define ADMIN_KEY_TOTAL "total"
#define ADMIN_KEY_OFFSET "offset"

/* GET_BUFFER_SIZE: buffer_size as above. CLOSE_USER_CONNECTIONS: */
#define ADMIN_KEY_CLOSED "closed"

/* RELOAD: the changed keys a reload left for a restart, comma-separated; "" = none */
#define ADMIN_KEY_RESTART_NEEDED "restart_needed"

/* CONNECTIONS columns, in this order */
#define ADMIN_COLUMN_ID "id"
#define ADMIN_COLUMN_STATE "state"
#define ADMIN_COLUMN_STARTED "started"
#define ADMIN_COLUMN_USER "user"
#define ADMIN_COLUMN_CLIENT "client"
#define ADMIN_COLUMN_DESTINATION "destination"
#define ADMIN_COLUMN_DESTINATION_ADDRESS "destination_address"
#define ADMIN_COLUMN_BYTES_UP "bytes_up"
#define ADMIN_COLUMN_BYTES_DOWN "bytes_down"
#define ADMIN_COLUMN_STATUS "status"
#define ADMIN_COLUMN_DURATION_MS "duration_ms"
#define ADMIN_COLUMN_KIND "kind"
#define ADMIN_COLUMN_DATAGRAMS_UP ADMIN_KEY_DATAGRAMS_UP
#define ADMIN_COLUMN_DATAGRAMS_DOWN ADMIN_KEY_DATAGRAMS_DOWN
#define ADMIN_CONNECTIONS_COLUMN_COUNT 14
extern const char *const admin_connections_columns[ADMIN_CONNECTIONS_COLUMN_COUNT];

/* HISTORY columns: the connections columns (state always "closed"), then these */
#define ADMIN_COLUMN_HISTORY_ID "history_id"
#define ADMIN_COLUMN_ENDED "ended"
#define ADMIN_HISTORY_COLUMN_COUNT (ADMIN_CONNECTIONS_COLUMN_COUNT + 2)
extern const char *const admin_history_columns[ADMIN_HISTORY_COLUMN_COUNT];

/* USERS columns, in this order */
#define ADMIN_COLUMN_ROLE "role"
#define ADMIN_COLUMN_CONNECTIONS_LIVE "connections_live"
#define ADMIN_COLUMN_CONNECTIONS_TOTAL "connections_total"
#define ADMIN_COLUMN_MAX_CONNECTIONS "max_connections"
#define ADMIN_COLUMN_UPLOAD_LIMIT "upload_limit"
#define ADMIN_COLUMN_DOWNLOAD_LIMIT "download_limit"
#define ADMIN_COLUMN_LIMIT_REFUSALS "limit_refusals"
#define ADMIN_COLUMN_LIFETIME_CONNECTIONS_TOTAL ADMIN_KEY_LIFETIME_CONNECTIONS_TOTAL
#define ADMIN_COLUMN_LIFETIME_BYTES_UP ADMIN_KEY_LIFETIME_BYTES_UP
#define ADMIN_COLUMN_LIFETIME_BYTES_DOWN ADMIN_KEY_LIFETIME_BYTES_DOWN
#define ADMIN_USERS_COLUMN_COUNT 13
extern const char *const admin_users_columns[ADMIN_USERS_COLUMN_COUNT];

/* RULES record part (total as above), then its columns, in this order */
#define ADMIN_KEY_SAFE_DEFAULTS "safe_defaults"
#define ADMIN_KEY_ALLOW_LOOPBACK "allow_loopback"
#define ADMIN_COLUMN_NUMBER "number"
#define ADMIN_COLUMN_NAME "name"
#define ADMIN_COLUMN_ACTION "action"
#define ADMIN_COLUMN_RULE "rule"
#define ADMIN_COLUMN_HITS "hits"
#define ADMIN_RULES_COLUMN_COUNT 5
extern const char *const admin_rules_columns[ADMIN_RULES_COLUMN_COUNT];

#endif
