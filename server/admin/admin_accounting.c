/* admin_accounting: the admin answers that read the accounting database — lifetime figures in
 * server-info, metrics, user-metrics and users, the history table, and reset-usage. */
#include "admin_accounting.h"

#include "accounting.h"
#include "connection_record.h"
#include "counter.h"
#include "log.h"
#include "users.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- lifetime figures ---- */

static void put_u64_or_none(struct admin_text *body, const char *key, bool known, uint64_t value)
{
    if (known)
        admin_text_put_u64(body, key, value);
    else
        admin_text_put_str(body, key, ADMIN_TEXT_NONE);
}

static void put_time_or_none(struct admin_text *body, const char *key, int64_t unix_ms)
{
    if (unix_ms > 0)
        admin_text_put_time(body, key, unix_ms);
    else
        admin_text_put_str(body, key, ADMIN_TEXT_NONE);
}

static void status_of(struct accounting *accounting, struct accounting_status *status)
{
    if (accounting != NULL)
        accounting_get_status(accounting, status);
    else
        memset(status, 0, sizeof(*status));
}

void admin_accounting_put_info(struct admin_text *body, struct accounting *accounting,
                               const struct admin_server_hooks *hooks)
{
    struct accounting_status status;
    status_of(accounting, &status);
    const char *state = !status.enabled ? ADMIN_TEXT_ACCOUNTING_OFF
                        : status.failing ? ADMIN_TEXT_ACCOUNTING_FAILING
                                         : ADMIN_TEXT_ACCOUNTING_OK;
    admin_text_put_str(body, ADMIN_KEY_ACCOUNTING, state);
    admin_text_put_str(body, ADMIN_KEY_ACCOUNTING_DB,
                       status.enabled && hooks->accounting_db != NULL ? hooks->accounting_db
                                                                      : ADMIN_TEXT_NONE);
    admin_text_put_str(body, ADMIN_KEY_ACCOUNTING_ERROR,
                       status.error[0] != '\0' ? status.error : ADMIN_TEXT_NONE);
    admin_text_put_u64(body, ADMIN_KEY_HISTORY_DAYS, hooks->history_days);
    admin_text_put_u64(body, ADMIN_KEY_HISTORY_MAX_ROWS, hooks->history_max_rows);
    put_u64_or_none(body, ADMIN_KEY_HISTORY_ROWS, status.enabled, status.stored_connections);
}

void admin_accounting_put_metrics(struct admin_text *body, struct accounting *accounting,
                                  const uint64_t since_start[ADMIN_METRIC_COUNT])
{
    uint64_t lifetime[ADMIN_METRIC_COUNT] = { 0 };
    bool known = accounting != NULL && accounting_global_lifetime(accounting, since_start,
                                                                  lifetime);
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        if (admin_metrics[i].kind != ADMIN_METRIC_COUNTER)
            continue;
        char key[96];
        snprintf(key, sizeof(key), ADMIN_LIFETIME_PREFIX "%s", admin_metrics[i].name);
        put_u64_or_none(body, key, known, lifetime[i]);
    }
    /* PROTOCOL.md: the last global reset, else the database's creation. accounting.h offers
     * only the reset: until one, this is "-" unless the accounting reports the creation there. */
    struct accounting_reset reset = { 0 };
    if (known)
        accounting_last_reset(accounting, "", &reset);
    put_time_or_none(body, ADMIN_KEY_LIFETIME_SINCE, reset.at_ms);
}

/* The user's lifetime usage now: false when accounting is off or knows nothing of it. */
static bool user_lifetime(struct accounting *accounting, struct user *user,
                          struct accounting_usage *lifetime)
{
    if (accounting == NULL)
        return false;
    const struct user_usage *usage = user_usage(user);
    struct accounting_sample sample = {
#define SAMPLE_FIELD(name) .name = counter_read(&usage->name),
        ACCOUNTING_USAGE_FIELDS(SAMPLE_FIELD)
#undef SAMPLE_FIELD
    };
    memset(lifetime, 0, sizeof(*lifetime));
    return accounting_user_lifetime(accounting, user_name(user), user_identity(user), &sample,
                                    lifetime);
}

/* "4=2,5=1": the reply codes of the user's failed connections and how many; "" when none. */
static void format_failures(const struct accounting_usage *usage, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (unsigned code = 1; code < ACCOUNTING_STATUS_CODES; code++) {
        if (usage->failures[code] == 0 || used >= size)
            continue;
        int written = snprintf(out + used, size - used, "%s%u=%" PRIu64, used > 0 ? "," : "",
                               code, usage->failures[code]);
        if (written > 0)
            used += (size_t)written;
    }
}

void admin_accounting_put_user(struct admin_text *body, struct accounting *accounting,
                               struct user *user)
{
    struct accounting_usage lifetime;
    bool known = user_lifetime(accounting, user, &lifetime);
    static const struct {
        const char *key;
        size_t offset;
    } figures[] = {
        { ADMIN_KEY_LIFETIME_CONNECTIONS_TOTAL,
          offsetof(struct accounting_usage, connections_total) },
        { ADMIN_KEY_LIFETIME_BYTES_UP, offsetof(struct accounting_usage, bytes_up) },
        { ADMIN_KEY_LIFETIME_BYTES_DOWN, offsetof(struct accounting_usage, bytes_down) },
        { ADMIN_KEY_LIFETIME_DATAGRAMS_UP, offsetof(struct accounting_usage, datagrams_up) },
        { ADMIN_KEY_LIFETIME_DATAGRAMS_DOWN, offsetof(struct accounting_usage, datagrams_down) },
        { ADMIN_KEY_LIFETIME_RULE_DENIALS, offsetof(struct accounting_usage, rule_denials) },
        { ADMIN_KEY_LIFETIME_LIMIT_REFUSALS, offsetof(struct accounting_usage, limit_refusals) },
    };
    for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
        uint64_t value = 0;
        if (known)
            memcpy(&value, (const char *)&lifetime + figures[i].offset, sizeof(value));
        put_u64_or_none(body, figures[i].key, known, value);
    }
    char failures[ACCOUNTING_STATUS_CODES * 24];
    if (known)
        format_failures(&lifetime, failures, sizeof(failures));
    admin_text_put_str(body, ADMIN_KEY_LIFETIME_FAILURES, known ? failures : ADMIN_TEXT_NONE);
    put_time_or_none(body, ADMIN_KEY_FIRST_SEEN, known ? lifetime.first_seen_ms : 0);
    put_time_or_none(body, ADMIN_KEY_LAST_SEEN, known ? lifetime.last_seen_ms : 0);
    struct accounting_reset reset = { 0 };
    if (known)
        accounting_last_reset(accounting, user_name(user), &reset);
    put_time_or_none(body, ADMIN_KEY_USAGE_RESET, reset.at_ms);
    admin_text_put_str(body, ADMIN_KEY_USAGE_RESET_BY,
                       reset.at_ms > 0 && reset.by[0] != '\0' ? reset.by : ADMIN_TEXT_NONE);
}

void admin_accounting_user_cells(struct admin_text *body, struct accounting *accounting,
                                 struct user *user)
{
    struct accounting_usage lifetime;
    if (!user_lifetime(accounting, user, &lifetime)) {
        for (int i = 0; i < 3; i++)
            admin_text_cell_str(body, ADMIN_TEXT_NONE);
        return;
    }
    admin_text_cell_u64(body, lifetime.connections_total);
    admin_text_cell_u64(body, lifetime.bytes_up);
    admin_text_cell_u64(body, lifetime.bytes_down);
}

/* ---- history ---- */

typedef void history_cell(struct admin_text *row, const struct accounting_connection *stored);

static void cell_id(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_u64(row, stored->server_id);
}

static void cell_state(struct admin_text *row, const struct accounting_connection *stored)
{
    (void)stored; /* only finished connections are stored */
    admin_text_cell_str(row, ADMIN_TEXT_STATE_CLOSED);
}

static void cell_started(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_time(row, stored->started_ms);
}

static void cell_user(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_str(row, stored->authenticated && stored->user[0] != '\0' ? stored->user
                                                                              : ADMIN_TEXT_NONE);
}

static void cell_client(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_str(row, stored->client);
}

static void cell_destination(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_str(row, stored->destination[0] != '\0' ? stored->destination
                                                            : ADMIN_TEXT_NONE);
}

static void cell_destination_address(struct admin_text *row,
                                     const struct accounting_connection *stored)
{
    admin_text_cell_str(row, stored->destination_address[0] != '\0'
                                 ? stored->destination_address
                                 : ADMIN_TEXT_NONE);
}

static void cell_bytes_up(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_u64(row, stored->bytes_up);
}

static void cell_bytes_down(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_u64(row, stored->bytes_down);
}

static void cell_status(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_u64(row, stored->status);
}

static void cell_duration(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_u64(row, stored->ended_ms > stored->started_ms
                                 ? (uint64_t)(stored->ended_ms - stored->started_ms)
                                 : 0);
}

static void cell_kind(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_str(row, connection_kind_name(stored->kind));
}

static void cell_datagrams(struct admin_text *row, const struct accounting_connection *stored,
                           uint64_t count)
{
    if (stored->kind == CONNECTION_KIND_UDP)
        admin_text_cell_u64(row, count);
    else
        admin_text_cell_str(row, ADMIN_TEXT_NONE);
}

static void cell_datagrams_up(struct admin_text *row, const struct accounting_connection *stored)
{
    cell_datagrams(row, stored, stored->datagrams_up);
}

static void cell_datagrams_down(struct admin_text *row,
                                const struct accounting_connection *stored)
{
    cell_datagrams(row, stored, stored->datagrams_down);
}

static void cell_history_id(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_u64(row, stored->history_id);
}

static void cell_ended(struct admin_text *row, const struct accounting_connection *stored)
{
    admin_text_cell_time(row, stored->ended_ms);
}

/* The history columns in wire order (PROTOCOL.md 8.16): the connections table's, then the
 * database's own. */
static const struct {
    const char *name;
    history_cell *put;
} history_columns[] = {
    { ADMIN_COLUMN_ID, cell_id },
    { ADMIN_COLUMN_STATE, cell_state },
    { ADMIN_COLUMN_STARTED, cell_started },
    { ADMIN_COLUMN_USER, cell_user },
    { ADMIN_COLUMN_CLIENT, cell_client },
    { ADMIN_COLUMN_DESTINATION, cell_destination },
    { ADMIN_COLUMN_DESTINATION_ADDRESS, cell_destination_address },
    { ADMIN_COLUMN_BYTES_UP, cell_bytes_up },
    { ADMIN_COLUMN_BYTES_DOWN, cell_bytes_down },
    { ADMIN_COLUMN_STATUS, cell_status },
    { ADMIN_COLUMN_DURATION_MS, cell_duration },
    { ADMIN_COLUMN_KIND, cell_kind },
    { ADMIN_COLUMN_DATAGRAMS_UP, cell_datagrams_up },
    { ADMIN_COLUMN_DATAGRAMS_DOWN, cell_datagrams_down },
    { ADMIN_COLUMN_HISTORY_ID, cell_history_id },
    { ADMIN_COLUMN_ENDED, cell_ended },
};
#define HISTORY_COLUMN_COUNT (sizeof(history_columns) / sizeof(history_columns[0]))

bool admin_history_columns_cover_protocol(void)
{
    if (HISTORY_COLUMN_COUNT != ADMIN_HISTORY_COLUMN_COUNT)
        return false;
    for (size_t i = 0; i < HISTORY_COLUMN_COUNT; i++)
        if (strcmp(history_columns[i].name, admin_history_columns[i]) != 0)
            return false;
    return true;
}

/* The record part and header line take far less than this; rows stop before it. */
#define HISTORY_RECORD_ROOM 4096

struct history_rows {
    struct admin_text rows;
    bool full; /* a matching row did not fit the body */
};

static bool write_history_row(void *context, const struct accounting_connection *stored)
{
    struct history_rows *page = context;
    size_t mark = admin_text_mark(&page->rows);
    for (size_t i = 0; i < HISTORY_COLUMN_COUNT; i++)
        history_columns[i].put(&page->rows, stored);
    admin_text_end_row(&page->rows);
    if (admin_text_failed(&page->rows)) {
        admin_text_rollback(&page->rows, mark);
        page->full = true;
        return false;
    }
    return true;
}

/* The filter args ask for, or false with response set to why not. */
static bool history_filter(const struct admin_args_history *args, const char *own,
                           struct accounting_filter *filter, struct admin_response *response)
{
    uint32_t limit = args->limit == 0 ? ADMIN_HISTORY_LIMIT_DEFAULT : args->limit;
    accounting_filter_init(filter, limit < ADMIN_HISTORY_LIMIT_MAX ? limit
                                                                   : ADMIN_HISTORY_LIMIT_MAX);
    const char *problem = NULL;
    if (args->destination.length > 0 &&
        !accounting_filter_set_destination(filter, args->destination.text, &problem)) {
        admin_response_error(response, ADMIN_STATUS_BAD_REQUEST, "destination %s: %s",
                             args->destination.text, problem != NULL ? problem : "invalid");
        return false;
    }
    if (!accounting_filter_set_status(filter, args->status.text, &problem)) {
        admin_response_error(response, ADMIN_STATUS_BAD_REQUEST, "status %s: %s",
                             args->status.text, problem != NULL ? problem : "invalid");
        return false;
    }
    /* A name is not looked up in the users table: a removed user's history stays readable. */
    filter->user = args->user.length > 0 ? args->user.text : own;
    filter->since_ms = args->since > INT64_MAX ? INT64_MAX : (int64_t)args->since;
    filter->until_ms = args->until > INT64_MAX ? INT64_MAX : (int64_t)args->until;
    filter->before_history_id = args->before;
    return true;
}

void admin_accounting_history(struct accounting *accounting,
                              const struct admin_args_history *args, const char *own,
                              struct admin_response *response)
{
    if (!admin_history_status_valid(args->status.text)) {
        admin_response_error(response, ADMIN_STATUS_BAD_REQUEST,
                             "status must be empty, failed, or a reply code 0..255");
        return;
    }
    if (!accounting_enabled(accounting)) {
        admin_response_error(response, ADMIN_STATUS_UNAVAILABLE, "accounting is off");
        return;
    }
    struct accounting_filter filter;
    if (!history_filter(args, own, &filter, response))
        return;
    struct history_rows page = { .full = false };
    admin_text_init(&page.rows, 0, ADMIN_RESPONSE_BODY_MAX - HISTORY_RECORD_ROOM);
    bool more = false;
    char error[ACCOUNTING_ERROR_MAX] = "";
    if (!accounting_search(accounting, &filter, write_history_row, &page, &more, error)) {
        admin_response_error(response, ADMIN_STATUS_UNAVAILABLE, "accounting database: %s",
                             error[0] != '\0' ? error : "search failed");
    } else {
        struct admin_text *body = &response->body;
        admin_text_put_bool(body, ADMIN_KEY_MORE, more || page.full);
        admin_text_begin_table(body, admin_history_columns, ADMIN_HISTORY_COLUMN_COUNT);
        admin_text_append_rows(body, admin_text_body(&page.rows),
                               admin_text_body_length(&page.rows));
        if (admin_text_failed(body))
            admin_response_error(response, ADMIN_STATUS_SERVER_ERROR, "out of memory");
    }
    admin_text_free(&page.rows);
}

/* ---- reset-usage ---- */

void admin_accounting_reset_usage(struct accounting *accounting, struct users *users,
                                  const struct admin_args_reset_usage *args, const char *by,
                                  struct admin_response *response)
{
    const char *name = args->user.text;
    if (args->user.length > 0 && strcmp(name, USERS_ANONYMOUS_NAME) != 0 &&
        users_find(users, name, args->user.length) == NULL) {
        admin_response_error(response, ADMIN_STATUS_NOT_FOUND, "%s: no such user", name);
        return;
    }
    if (!accounting_enabled(accounting)) {
        admin_response_error(response, ADMIN_STATUS_UNAVAILABLE, "accounting is off");
        return;
    }
    /* Enabled, the reset fails only when its record cannot be allocated. */
    if (!accounting_reset_usage(accounting, name, by)) {
        admin_response_error(response, ADMIN_STATUS_SERVER_ERROR, "out of memory");
        return;
    }
    struct accounting_reset reset = { 0 };
    accounting_last_reset(accounting, name, &reset);
    int64_t at = reset.at_ms > 0 ? reset.at_ms : log_realtime_ms();
    log_message(LOG_INFO, "admin %s: reset the lifetime usage of %s", by,
                args->user.length > 0 ? name : "every user and the server");
    admin_text_put_time(&response->body, ADMIN_KEY_RESET_AT, at);
    admin_text_put_str(&response->body, ADMIN_KEY_USER,
                       args->user.length > 0 ? name : ADMIN_TEXT_NONE);
}
