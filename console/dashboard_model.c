/* dashboard_model: what the dashboard knows of a server (or of the fleet) — info, metrics, users
 * with their usage, expanded users' trees — parsed from admin bodies, kept across refreshes. */
#include "dashboard_model.h"

#include <stdlib.h>
#include <string.h>

#include "admin_commands.h"
#include "admin_text.h"

uint64_t dashboard_metrics_errors(const struct dashboard_metrics *metrics)
{
    return metrics->send_errors + metrics->receive_errors + metrics->dns_errors +
           metrics->server_errors + metrics->unsupported_input + metrics->auth_errors;
}

void dashboard_model_init(struct dashboard_model *model)
{
    *model = (struct dashboard_model){ 0 };
}

void dashboard_user_free_contents(struct dashboard_user *user)
{
    free(user->connections);
    free(user->history);
    free(user->parts);
    user->connections = NULL;
    user->history = NULL;
    user->parts = NULL;
    user->part_count = 0;
}

static void free_users(struct dashboard_user *users, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dashboard_user_free_contents(&users[i]);
    free(users);
}

static bool copy_array(void **out, const void *array, size_t count, size_t item)
{
    *out = NULL;
    if (array == NULL || count == 0)
        return true;
    *out = malloc(count * item);
    if (*out == NULL)
        return false;
    memcpy(*out, array, count * item);
    return true;
}

bool dashboard_model_copy(struct dashboard_model *out, const struct dashboard_model *model)
{
    *out = *model;
    out->users = NULL;
    out->user_count = 0;
    out->pending = NULL;
    out->pending_count = out->pending_capacity = 0;
    if (model->user_count == 0)
        return true;
    out->users = calloc(model->user_count, sizeof(*out->users));
    if (out->users == NULL)
        return false;
    for (size_t i = 0; i < model->user_count; i++) {
        const struct dashboard_user *user = &model->users[i];
        struct dashboard_user *copy = &out->users[out->user_count++];
        *copy = *user;
        copy->connections = copy->history = NULL;
        copy->parts = NULL;
        /* The tree: live, recent, then the history's rows attached after them. */
        size_t rows = user->live_shown + user->recent_shown + user->history_count;
        if (!copy_array((void **)&copy->connections, user->connections, rows,
                        sizeof(*user->connections)) ||
            !copy_array((void **)&copy->history, user->history, user->history_count,
                        sizeof(*user->history)) ||
            !copy_array((void **)&copy->parts, user->parts, user->part_count,
                        sizeof(*user->parts))) {
            dashboard_model_free(out);
            return false;
        }
    }
    return true;
}

void dashboard_model_free(struct dashboard_model *model)
{
    free_users(model->users, model->user_count);
    free_users(model->pending, model->pending_count);
    *model = (struct dashboard_model){ 0 };
}

void dashboard_model_reset_rates(struct dashboard_model *model)
{
    rate_reset(&model->rate_connections);
    rate_reset(&model->rate_up);
    rate_reset(&model->rate_down);
    rate_reset(&model->rate_errors);
    for (size_t i = 0; i < model->user_count; i++) {
        rate_reset(&model->users[i].rate_up);
        rate_reset(&model->users[i].rate_down);
    }
}

/* ---- Parsing ---- */

/* Copies an escaped span as it is (still escaped, so printable), cut to fit. */
static void copy_span(struct admin_span span, char *out, size_t size)
{
    size_t length = span.length < size - 1 ? span.length : size - 1;
    memcpy(out, span.data, length);
    out[length] = '\0';
}

static bool record_text(const char *body, size_t length, const char *key, char *out, size_t size)
{
    struct admin_span value;
    if (!admin_record_find(body, length, key, &value)) {
        out[0] = '\0';
        return false;
    }
    copy_span(value, out, size);
    return true;
}

bool dashboard_parse_server_info(const char *body, size_t length, struct dashboard_server_info *info)
{
    *info = (struct dashboard_server_info){ 0 };
    /* Everything is optional but the server's name: later servers may drop or add keys. */
    if (!record_text(body, length, ADMIN_KEY_SERVER, info->server, sizeof(info->server)))
        return false;
    record_text(body, length, ADMIN_KEY_SOCKS_LISTENERS, info->socks_listeners,
                sizeof(info->socks_listeners));
    record_text(body, length, ADMIN_KEY_ADMIN_LISTENERS, info->admin_listeners,
                sizeof(info->admin_listeners));
    record_text(body, length, ADMIN_KEY_AUTH_MODE, info->auth_mode, sizeof(info->auth_mode));
    admin_record_get_u64(body, length, ADMIN_KEY_BUFFER_SIZE, &info->buffer_size);
    admin_record_get_u64(body, length, ADMIN_KEY_MAX_CONNECTIONS, &info->max_connections);
    admin_record_get_u64(body, length, ADMIN_KEY_ADMIN_SESSIONS, &info->admin_sessions);
    admin_record_get_u64(body, length, ADMIN_KEY_ADMIN_MAX_SESSIONS, &info->admin_max_sessions);
    admin_record_get_u64(body, length, ADMIN_KEY_CONNECTION_HISTORY, &info->connection_history);
    char accounting[16];
    record_text(body, length, ADMIN_KEY_ACCOUNTING, accounting, sizeof(accounting));
    info->accounting_failing = strcmp(accounting, ADMIN_TEXT_ACCOUNTING_FAILING) == 0;
    if (info->accounting_failing)
        record_text(body, length, ADMIN_KEY_ACCOUNTING_ERROR, info->accounting_error,
                    sizeof(info->accounting_error));
    info->valid = true;
    return true;
}

bool dashboard_parse_metrics(const char *body, size_t length, struct dashboard_metrics *metrics)
{
    static const struct {
        const char *key;
        size_t offset;
        bool required;
    } fields[] = {
        { ADMIN_KEY_UPTIME_SECONDS, offsetof(struct dashboard_metrics, uptime_seconds), false },
        { ADMIN_KEY_CONNECTIONS_TOTAL, offsetof(struct dashboard_metrics, connections_total), true },
        { ADMIN_KEY_CONNECTIONS_CURRENT, offsetof(struct dashboard_metrics, connections_current), true },
        { ADMIN_KEY_BYTES_UP, offsetof(struct dashboard_metrics, bytes_up), true },
        { ADMIN_KEY_BYTES_DOWN, offsetof(struct dashboard_metrics, bytes_down), true },
        { ADMIN_KEY_SEND_ERRORS, offsetof(struct dashboard_metrics, send_errors), false },
        { ADMIN_KEY_RECEIVE_ERRORS, offsetof(struct dashboard_metrics, receive_errors), false },
        { ADMIN_KEY_DNS_ERRORS, offsetof(struct dashboard_metrics, dns_errors), false },
        { ADMIN_KEY_SERVER_ERRORS, offsetof(struct dashboard_metrics, server_errors), false },
        { ADMIN_KEY_UNSUPPORTED_INPUT, offsetof(struct dashboard_metrics, unsupported_input), false },
        { ADMIN_KEY_DNS_CONNECTIONS, offsetof(struct dashboard_metrics, dns_connections), false },
        { ADMIN_KEY_IPV4_CONNECTIONS, offsetof(struct dashboard_metrics, ipv4_connections), false },
        { ADMIN_KEY_IPV6_CONNECTIONS, offsetof(struct dashboard_metrics, ipv6_connections), false },
        { ADMIN_KEY_AUTH_ERRORS, offsetof(struct dashboard_metrics, auth_errors), false },
        { ADMIN_KEY_HOST_UNREACHABLE, offsetof(struct dashboard_metrics, host_unreachable), false },
        { ADMIN_KEY_CONNECTION_REFUSED, offsetof(struct dashboard_metrics, connection_refused), false },
        { ADMIN_KEY_ACCEPT_PAUSED, offsetof(struct dashboard_metrics, accept_paused), false },
        { ADMIN_KEY_RULE_DENIALS, offsetof(struct dashboard_metrics, rule_denials), false },
    };
    *metrics = (struct dashboard_metrics){ 0 };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        uint64_t *value = (uint64_t *)((char *)metrics + fields[i].offset);
        if (!admin_record_get_u64(body, length, fields[i].key, value) && fields[i].required)
            return false;
    }
    metrics->valid = true;
    return true;
}

bool dashboard_parse_usage(const char *body, size_t length, struct dashboard_usage *usage)
{
    *usage = (struct dashboard_usage){ 0 };
    if (!admin_record_get_text(body, length, ADMIN_KEY_USER, usage->name, sizeof(usage->name)))
        return false;
    record_text(body, length, ADMIN_KEY_ROLE, usage->role, sizeof(usage->role));
    admin_record_get_u64(body, length, ADMIN_KEY_USER_MAX_CONNECTIONS, &usage->max_connections);
    admin_record_get_u64(body, length, ADMIN_KEY_UPLOAD_LIMIT, &usage->upload_limit);
    admin_record_get_u64(body, length, ADMIN_KEY_DOWNLOAD_LIMIT, &usage->download_limit);
    admin_record_get_u64(body, length, ADMIN_KEY_LIMIT_REFUSALS, &usage->limit_refusals);
    usage->lifetime_known =
        admin_record_get_u64(body, length, ADMIN_KEY_LIFETIME_CONNECTIONS_TOTAL,
                             &usage->lifetime_connections_total) &&
        admin_record_get_u64(body, length, ADMIN_KEY_LIFETIME_BYTES_UP, &usage->lifetime_bytes_up) &&
        admin_record_get_u64(body, length, ADMIN_KEY_LIFETIME_BYTES_DOWN,
                             &usage->lifetime_bytes_down);
    return admin_record_get_u64(body, length, ADMIN_KEY_CONNECTIONS_LIVE, &usage->connections_live) &&
           admin_record_get_u64(body, length, ADMIN_KEY_CONNECTIONS_TOTAL, &usage->connections_total) &&
           admin_record_get_u64(body, length, ADMIN_KEY_BYTES_UP, &usage->bytes_up) &&
           admin_record_get_u64(body, length, ADMIN_KEY_BYTES_DOWN, &usage->bytes_down);
}

/* A u64 field, or false when absent, "-" or malformed. */
static bool row_u64(const struct admin_row *row, long column, uint64_t *value)
{
    struct admin_span field;
    return column >= 0 && admin_row_field(row, (size_t)column, &field) &&
           admin_span_to_u64(field, value);
}

static void row_text(const struct admin_row *row, long column, char *out, size_t size)
{
    struct admin_span field = { ADMIN_TEXT_NONE, 1 };
    if (column >= 0)
        admin_row_field(row, (size_t)column, &field);
    copy_span(field, out, size);
}

/* ---- Updating ---- */

static void sample_totals(struct dashboard_model *model, uint64_t connections, uint64_t up,
                          uint64_t down, double now)
{
    rate_sample(&model->rate_connections, connections, now);
    rate_sample(&model->rate_up, up, now);
    rate_sample(&model->rate_down, down, now);
}

void dashboard_model_set_metrics(struct dashboard_model *model,
                                 const struct dashboard_metrics *metrics, double now)
{
    model->metrics = *metrics;
    sample_totals(model, metrics->connections_total, metrics->bytes_up, metrics->bytes_down, now);
    rate_sample(&model->rate_errors, dashboard_metrics_errors(metrics), now);
    model->errors_known = true;
}

void dashboard_model_set_own_totals(struct dashboard_model *model,
                                    const struct dashboard_usage *usage, double now)
{
    model->metrics.valid = false;
    sample_totals(model, usage->connections_total, usage->bytes_up, usage->bytes_down, now);
    model->errors_known = false;
}

void dashboard_model_begin_users(struct dashboard_model *model)
{
    free_users(model->pending, model->pending_count);
    model->pending = NULL;
    model->pending_count = 0;
    model->pending_capacity = 0;
}

static int compare_user_names(const void *left, const void *right)
{
    return strcmp(((const struct dashboard_user *)left)->usage.name,
                  ((const struct dashboard_user *)right)->usage.name);
}

struct dashboard_user *dashboard_model_find(struct dashboard_model *model, const char *name)
{
    if (model->user_count == 0)
        return NULL;
    struct dashboard_user key;
    strncpy(key.usage.name, name, sizeof(key.usage.name) - 1);
    key.usage.name[sizeof(key.usage.name) - 1] = '\0';
    return bsearch(&key, model->users, model->user_count, sizeof(*model->users),
                   compare_user_names);
}

bool dashboard_model_put_user(struct dashboard_model *model, const struct dashboard_usage *usage,
                              double now)
{
    if (model->pending_count == model->pending_capacity) {
        size_t capacity = model->pending_capacity ? model->pending_capacity * 2 : 16;
        struct dashboard_user *grown = realloc(model->pending, capacity * sizeof(*grown));
        if (grown == NULL)
            return false;
        model->pending = grown;
        model->pending_capacity = capacity;
    }
    struct dashboard_user *user = &model->pending[model->pending_count++];
    struct dashboard_user *previous = dashboard_model_find(model, usage->name);
    if (previous != NULL) {
        /* Take over its state; the old list no longer owns the connections. */
        *user = *previous;
        previous->connections = NULL;
        previous->history = NULL;
        previous->parts = NULL;
        previous->part_count = 0;
        previous->live_shown = previous->recent_shown = previous->history_count = 0;
    } else {
        *user = (struct dashboard_user){ 0 };
    }
    user->usage = *usage;
    rate_sample(&user->rate_up, usage->bytes_up, now);
    rate_sample(&user->rate_down, usage->bytes_down, now);
    return true;
}

bool dashboard_model_put_users_table(struct dashboard_model *model, const char *body,
                                     size_t length, double now)
{
    struct admin_table table;
    if (!admin_table_open(&table, body, length))
        return false;
    long name = admin_table_column(&table, ADMIN_COLUMN_USER);
    long role = admin_table_column(&table, ADMIN_COLUMN_ROLE);
    long live = admin_table_column(&table, ADMIN_COLUMN_CONNECTIONS_LIVE);
    long total = admin_table_column(&table, ADMIN_COLUMN_CONNECTIONS_TOTAL);
    long up = admin_table_column(&table, ADMIN_COLUMN_BYTES_UP);
    long down = admin_table_column(&table, ADMIN_COLUMN_BYTES_DOWN);
    long max_connections = admin_table_column(&table, ADMIN_COLUMN_MAX_CONNECTIONS);
    long upload_limit = admin_table_column(&table, ADMIN_COLUMN_UPLOAD_LIMIT);
    long download_limit = admin_table_column(&table, ADMIN_COLUMN_DOWNLOAD_LIMIT);
    long refusals = admin_table_column(&table, ADMIN_COLUMN_LIMIT_REFUSALS);
    long lifetime_total = admin_table_column(&table, ADMIN_COLUMN_LIFETIME_CONNECTIONS_TOTAL);
    long lifetime_up = admin_table_column(&table, ADMIN_COLUMN_LIFETIME_BYTES_UP);
    long lifetime_down = admin_table_column(&table, ADMIN_COLUMN_LIFETIME_BYTES_DOWN);
    if (name < 0)
        return false;
    struct admin_row row;
    while (admin_table_next_row(&table, &row)) {
        struct dashboard_usage usage = { 0 };
        struct admin_span field;
        if (!admin_row_field(&row, (size_t)name, &field) || field.length == 0)
            continue;
        if (admin_text_unescape(field, usage.name, sizeof(usage.name)) >= sizeof(usage.name))
            continue;
        row_text(&row, role, usage.role, sizeof(usage.role));
        row_u64(&row, live, &usage.connections_live);
        row_u64(&row, total, &usage.connections_total);
        row_u64(&row, up, &usage.bytes_up);
        row_u64(&row, down, &usage.bytes_down);
        row_u64(&row, max_connections, &usage.max_connections);
        row_u64(&row, upload_limit, &usage.upload_limit);
        row_u64(&row, download_limit, &usage.download_limit);
        row_u64(&row, refusals, &usage.limit_refusals);
        usage.lifetime_known = row_u64(&row, lifetime_total, &usage.lifetime_connections_total) &&
                               row_u64(&row, lifetime_up, &usage.lifetime_bytes_up) &&
                               row_u64(&row, lifetime_down, &usage.lifetime_bytes_down);
        if (!dashboard_model_put_user(model, &usage, now))
            return false;
    }
    return true;
}

void dashboard_model_end_users(struct dashboard_model *model)
{
    qsort(model->pending, model->pending_count, sizeof(*model->pending), compare_user_names);
    /* A name put twice (a server listing a user and the anonymous record) keeps its first. */
    size_t kept = 0;
    for (size_t i = 0; i < model->pending_count; i++) {
        if (kept > 0 && strcmp(model->pending[kept - 1].usage.name, model->pending[i].usage.name) == 0) {
            dashboard_user_free_contents(&model->pending[i]);
            continue;
        }
        model->pending[kept++] = model->pending[i];
    }
    free_users(model->users, model->user_count);
    model->users = model->pending;
    model->user_count = kept;
    model->pending = NULL;
    model->pending_count = 0;
    model->pending_capacity = 0;
}

void dashboard_user_clear_connections(struct dashboard_user *user)
{
    free(user->connections);
    free(user->history);
    user->connections = NULL;
    user->history = NULL;
    user->live_shown = user->recent_shown = user->history_count = 0;
    user->live_total = user->recent_total = 0;
    user->connections_fetched = false;
    user->history_asked = user->history_more = false;
    user->history_before = 0;
}

size_t dashboard_user_tree_rows(const struct dashboard_user *user)
{
    return user->connections_fetched ? user->live_shown + user->recent_shown + user->history_count
                                     : 0;
}

/* The tree's rows: live and recent (already in place), then a copy of the history's. */
static bool attach_history(struct dashboard_user *user)
{
    size_t own = user->live_shown + user->recent_shown, count = own + user->history_count;
    if (count == 0)
        return true;
    struct dashboard_connection *rows = realloc(user->connections, count * sizeof(*rows));
    if (rows == NULL)
        return false;
    if (user->history_count > 0)
        memcpy(rows + own, user->history, user->history_count * sizeof(*rows));
    user->connections = rows;
    return true;
}

static bool shown_already(const struct dashboard_user *user,
                          const struct dashboard_connection *row)
{
    const char *started = connection_field(row, ADMIN_COLUMN_STARTED);
    for (size_t i = 0; i < user->live_shown + user->recent_shown + user->history_count; i++) {
        const struct dashboard_connection *shown =
            i < user->live_shown + user->recent_shown
                ? &user->connections[i]
                : &user->history[i - user->live_shown - user->recent_shown];
        if (shown->id == row->id &&
            strcmp(connection_field(shown, ADMIN_COLUMN_STARTED), started) == 0)
            return true;
    }
    return false;
}

bool dashboard_user_add_history(struct dashboard_user *user,
                                const struct dashboard_connection *rows, size_t count,
                                bool more)
{
    struct dashboard_connection *grown =
        realloc(user->history, (user->history_count + count + 1) * sizeof(*grown));
    if (grown == NULL)
        return false;
    user->history = grown;
    for (size_t i = 0; i < count; i++) {
        uint64_t history_id;
        const char *id_text = connection_field(&rows[i], ADMIN_COLUMN_HISTORY_ID);
        if (admin_span_to_u64((struct admin_span){ id_text, strlen(id_text) }, &history_id))
            user->history_before = history_id;
        if (!shown_already(user, &rows[i]))
            user->history[user->history_count++] = rows[i];
    }
    user->history_asked = true;
    user->history_more = more;
    return attach_history(user);
}

bool dashboard_user_set_connections(struct dashboard_user *user,
                                    const struct dashboard_connection *live, size_t live_count,
                                    uint64_t live_total, const struct dashboard_connection *recent,
                                    size_t recent_count, uint64_t recent_total)
{
    struct dashboard_connection *rows = NULL;
    size_t count = live_count + recent_count;
    if (count > 0) {
        rows = malloc(count * sizeof(*rows));
        if (rows == NULL)
            return false;
    }
    for (size_t i = 0; i < live_count; i++)
        rows[i] = live[live_count - 1 - i];
    for (size_t i = 0; i < recent_count; i++)
        rows[live_count + i] = recent[recent_count - 1 - i];
    free(user->connections);
    user->connections = rows;
    user->live_shown = live_count;
    user->recent_shown = recent_count;
    user->live_total = live_total;
    user->recent_total = recent_total;
    user->connections_fetched = true;
    return attach_history(user);
}

/* ---- Ordering ---- */

const char *dashboard_sort_name(enum dashboard_sort sort)
{
    switch (sort) {
    case DASHBOARD_SORT_NAME: return "name";
    case DASHBOARD_SORT_LIVE: return "live";
    case DASHBOARD_SORT_TOTAL: return "total";
    case DASHBOARD_SORT_BYTES: return "bytes";
    case DASHBOARD_SORT_RATE: return "rate";
    case DASHBOARD_SORT_COUNT: break;
    }
    return "name";
}

struct order_context {
    const struct dashboard_model *model;
    enum dashboard_sort sort;
};

static double sort_value(const struct dashboard_user *user, enum dashboard_sort sort)
{
    switch (sort) {
    case DASHBOARD_SORT_LIVE: return (double)user->usage.connections_live;
    case DASHBOARD_SORT_TOTAL: return (double)user->usage.connections_total;
    case DASHBOARD_SORT_BYTES: return (double)user->usage.bytes_up + (double)user->usage.bytes_down;
    case DASHBOARD_SORT_RATE:
        return rate_per_second(&user->rate_up) + rate_per_second(&user->rate_down);
    case DASHBOARD_SORT_NAME:
    case DASHBOARD_SORT_COUNT: break;
    }
    return 0.0;
}

static int compare_order(const void *left, const void *right, void *data)
{
    const struct order_context *context = data;
    const struct dashboard_user *a = &context->model->users[*(const size_t *)left];
    const struct dashboard_user *b = &context->model->users[*(const size_t *)right];
    double value_a = sort_value(a, context->sort);
    double value_b = sort_value(b, context->sort);
    if (value_a != value_b)
        return value_a > value_b ? -1 : 1; /* biggest first */
    return strcmp(a->usage.name, b->usage.name);
}

size_t dashboard_model_order(const struct dashboard_model *model, enum dashboard_sort sort,
                             const char *filter, size_t *order)
{
    size_t count = 0;
    for (size_t i = 0; i < model->user_count; i++) {
        if (filter != NULL && filter[0] != '\0' &&
            strcasestr(model->users[i].usage.name, filter) == NULL)
            continue;
        order[count++] = i;
    }
    struct order_context context = { model, sort };
    qsort_r(order, count, sizeof(*order), compare_order, &context);
    return count;
}
