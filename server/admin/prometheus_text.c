/* prometheus_text: the metrics endpoint's body — the Prometheus text exposition format 0.0.4
 * written from one snapshot of the server's figures, its names derived from the registry. */
#include "prometheus_text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_PREFIX "socks5d_"

/* A registry metric that is one member of a labelled family instead of a family of its own
 * (bytes_up is socks5d_bytes_total{direction="up"}). Any metric not listed here is named from
 * its key by the conventions — socks5d_<key>, counters ending in _total — and described by the
 * registry's meaning: adding a metric to protocol/admin_metrics.h is all it takes. */
static const struct series_override {
    const char *metric;
    const char *family;
    const char *label;
    const char *label_value;
} series_overrides[] = {
    { "connections_current", "socks5d_connections_live", NULL, NULL },
    { "bytes_up", "socks5d_bytes_total", "direction", "up" },
    { "bytes_down", "socks5d_bytes_total", "direction", "down" },
    { "send_errors", "socks5d_errors_total", "cause", "send" },
    { "receive_errors", "socks5d_errors_total", "cause", "receive" },
    { "dns_errors", "socks5d_errors_total", "cause", "dns" },
    { "server_errors", "socks5d_errors_total", "cause", "server" },
    { "unsupported_input", "socks5d_errors_total", "cause", "unsupported_input" },
    { "ipv4_connections", "socks5d_upstream_connections_total", "family", "ipv4" },
    { "ipv6_connections", "socks5d_upstream_connections_total", "family", "ipv6" },
    { "auth_errors", "socks5d_auth_failures_total", NULL, NULL },
    { "accept_paused", "socks5d_accept_pauses_total", NULL, NULL },
    { "udp_datagrams_up", "socks5d_udp_datagrams_total", "direction", "up" },
    { "udp_datagrams_down", "socks5d_udp_datagrams_total", "direction", "down" },
    { "udp_bytes_up", "socks5d_udp_bytes_total", "direction", "up" },
    { "udp_bytes_down", "socks5d_udp_bytes_total", "direction", "down" },
    { "udp_dropped_foreign", "socks5d_udp_dropped_total", "cause", "foreign" },
    { "udp_dropped_fragmented", "socks5d_udp_dropped_total", "cause", "fragmented" },
    { "udp_dropped_malformed", "socks5d_udp_dropped_total", "cause", "malformed" },
    { "udp_dropped_policy", "socks5d_udp_dropped_total", "cause", "policy" },
    { "udp_dropped_lookup", "socks5d_udp_dropped_total", "cause", "lookup" },
    { "udp_dropped_send", "socks5d_udp_dropped_total", "cause", "send" },
    { "udp_dropped_limit", "socks5d_udp_dropped_total", "cause", "limit" },
};

/* The HELP of the families several metrics share (one metric alone keeps its meaning). */
static const struct family_help {
    const char *family;
    const char *help;
} family_helps[] = {
    { "socks5d_bytes_total", "Bytes relayed, TCP and UDP payloads: up = client to remote." },
    { "socks5d_errors_total", "Failures by cause: socket sends and receives, name resolution, "
                              "internal (server), SOCKS input refused as malformed." },
    { "socks5d_upstream_connections_total", "Upstream connections established, by address "
                                            "family." },
    { "socks5d_udp_datagrams_total", "UDP datagrams relayed: up = client to remote." },
    { "socks5d_udp_bytes_total", "Payload bytes of the UDP datagrams relayed (also in "
                                 "socks5d_bytes_total)." },
    { "socks5d_udp_dropped_total", "UDP datagrams dropped, by cause." },
};

void prometheus_buffer_free(struct prometheus_buffer *buffer)
{
    free(buffer->data);
    *buffer = (struct prometheus_buffer){ 0 };
}

static bool reserve(struct prometheus_buffer *buffer, size_t more)
{
    if (buffer->failed)
        return false;
    if (buffer->length + more + 1 <= buffer->capacity)
        return true;
    size_t capacity = buffer->capacity ? buffer->capacity : 4096;
    while (capacity < buffer->length + more + 1)
        capacity *= 2;
    char *data = realloc(buffer->data, capacity);
    if (data == NULL) {
        buffer->failed = true;
        return false;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return true;
}

static void put(struct prometheus_buffer *buffer, const char *text, size_t length)
{
    if (!reserve(buffer, length))
        return;
    memcpy(buffer->data + buffer->length, text, length);
    buffer->length += length;
    buffer->data[buffer->length] = '\0';
}

static void put_text(struct prometheus_buffer *buffer, const char *text)
{
    put(buffer, text, strlen(text));
}

static void put_format(struct prometheus_buffer *buffer, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void put_format(struct prometheus_buffer *buffer, const char *format, ...)
{
    char text[256];
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(text, sizeof(text), format, arguments);
    va_end(arguments);
    if (length > 0)
        put(buffer, text, (size_t)length < sizeof(text) ? (size_t)length : sizeof(text) - 1);
}

/* HELP text escapes backslash and line feed; label values also the double quote. */
static void put_escaped(struct prometheus_buffer *buffer, const char *text, bool quote)
{
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '\\')
            put_text(buffer, "\\\\");
        else if (*c == '\n')
            put_text(buffer, "\\n");
        else if (*c == '"' && quote)
            put_text(buffer, "\\\"");
        else
            put(buffer, c, 1);
    }
}

static void put_family_header(struct prometheus_buffer *buffer, const char *family,
                              const char *help, const char *type)
{
    put_format(buffer, "# HELP %s ", family);
    put_escaped(buffer, help, false);
    put_format(buffer, "\n# TYPE %s %s\n", family, type);
}

static const char *help_of_family(const char *family)
{
    for (size_t i = 0; i < sizeof(family_helps) / sizeof(family_helps[0]); i++)
        if (strcmp(family_helps[i].family, family) == 0)
            return family_helps[i].help;
    return NULL;
}

void prometheus_series_of(size_t metric_index, struct prometheus_series *series,
                          char *family_text, size_t family_size)
{
    const struct admin_metric_info *info = &admin_metrics[metric_index];
    *series = (struct prometheus_series){ .help = info->meaning };
    for (size_t i = 0; i < sizeof(series_overrides) / sizeof(series_overrides[0]); i++) {
        const struct series_override *override = &series_overrides[i];
        if (strcmp(override->metric, info->name) != 0)
            continue;
        series->family = override->family;
        series->label = override->label;
        series->label_value = override->label_value;
        const char *shared_help = help_of_family(override->family);
        if (shared_help != NULL)
            series->help = shared_help;
        return;
    }
    size_t length = strlen(info->name);
    const char *suffix = "_total";
    bool has_suffix = length >= 6 && strcmp(info->name + length - 6, suffix) == 0;
    bool add_suffix = info->kind == ADMIN_METRIC_COUNTER && !has_suffix;
    snprintf(family_text, family_size, NAME_PREFIX "%s%s", info->name, add_suffix ? suffix : "");
    series->family = family_text;
}

static void put_sample(struct prometheus_buffer *buffer, const struct prometheus_series *series,
                       uint64_t value)
{
    put_text(buffer, series->family);
    if (series->label != NULL)
        put_format(buffer, "{%s=\"%s\"}", series->label, series->label_value);
    put_format(buffer, " %" PRIu64 "\n", value);
}

/* Each family once, its members together, in the registry's order of first appearance. */
static void write_registry(const struct metrics *metrics, struct prometheus_buffer *buffer)
{
    bool written[ADMIN_METRIC_COUNT] = { false };
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        if (written[i])
            continue;
        char family_text[PROMETHEUS_FAMILY_MAX];
        struct prometheus_series series;
        prometheus_series_of(i, &series, family_text, sizeof(family_text));
        put_family_header(buffer, series.family, series.help,
                          admin_metrics[i].kind == ADMIN_METRIC_COUNTER ? "counter" : "gauge");
        for (size_t j = i; j < ADMIN_METRIC_COUNT; j++) {
            char member_text[PROMETHEUS_FAMILY_MAX];
            struct prometheus_series member;
            prometheus_series_of(j, &member, member_text, sizeof(member_text));
            if (strcmp(member.family, series.family) != 0)
                continue;
            put_sample(buffer, &member, metrics_value(metrics, j));
            written[j] = true;
        }
    }
}

static void write_gauge(struct prometheus_buffer *buffer, const char *family, const char *help,
                        uint64_t value)
{
    put_family_header(buffer, family, help, "gauge");
    put_format(buffer, "%s %" PRIu64 "\n", family, value);
}

/* Microseconds as seconds, exactly: "0.0005", "12.25". */
static void put_seconds(struct prometheus_buffer *buffer, uint64_t microseconds)
{
    char fraction[8];
    snprintf(fraction, sizeof(fraction), "%06" PRIu64, microseconds % 1000000u);
    size_t digits = 6;
    while (digits > 0 && fraction[digits - 1] == '0')
        fraction[--digits] = '\0';
    put_format(buffer, "%" PRIu64 "%s%s", microseconds / 1000000u, digits > 0 ? "." : "",
               fraction);
}

static void write_histogram(struct prometheus_buffer *buffer, const char *family,
                            const char *help, const struct latency_histogram *histogram)
{
    put_family_header(buffer, family, help, "histogram");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < LATENCY_BUCKET_COUNT; i++) {
        cumulative += histogram->bucket[i];
        put_format(buffer, "%s_bucket{le=\"", family);
        put_seconds(buffer, latency_bucket_bounds_us[i]);
        put_format(buffer, "\"} %" PRIu64 "\n", cumulative);
    }
    cumulative += histogram->bucket[LATENCY_BUCKET_COUNT];
    put_format(buffer, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", family, cumulative);
    put_format(buffer, "%s_sum ", family);
    put_seconds(buffer, histogram->sum_us);
    put_format(buffer, "\n%s_count %" PRIu64 "\n", family, cumulative);
}

static uint64_t user_bytes(const struct prometheus_user *user)
{
    return user->bytes_up + user->bytes_down;
}

/* Most bytes first; names break ties, so the cut falls at the same place scrape after scrape. */
static int compare_users(const void *left, const void *right)
{
    const struct prometheus_user *a = left, *b = right;
    if (user_bytes(a) != user_bytes(b))
        return user_bytes(a) > user_bytes(b) ? -1 : 1;
    return strcmp(a->name, b->name);
}

static void put_user_label(struct prometheus_buffer *buffer, const char *family, const char *name)
{
    put_format(buffer, "%s{user=\"", family);
    put_escaped(buffer, name, true);
    put_text(buffer, "\"");
}

/* The users given series of their own come first in rows; the others add up into other. */
struct user_series {
    const struct prometheus_user *rows;
    size_t own_count;
    bool has_other;
    struct prometheus_user other;
};

enum user_field { USER_BYTES_UP, USER_BYTES_DOWN, USER_CONNECTIONS_TOTAL, USER_CONNECTIONS_LIVE };

static uint64_t user_field(const struct prometheus_user *row, enum user_field field)
{
    switch (field) {
    case USER_BYTES_UP:
        return row->bytes_up;
    case USER_BYTES_DOWN:
        return row->bytes_down;
    case USER_CONNECTIONS_TOTAL:
        return row->connections_total;
    case USER_CONNECTIONS_LIVE:
        return row->connections_live;
    }
    return 0;
}

/* One series per user given its own, then the sum; direction NULL: no such label. */
static void write_user_series(struct prometheus_buffer *buffer, const struct user_series *users,
                              const char *family, enum user_field field, const char *direction)
{
    for (size_t i = 0; i <= users->own_count; i++) {
        const struct prometheus_user *row = i < users->own_count ? &users->rows[i] : &users->other;
        if (i == users->own_count && !users->has_other)
            break;
        uint64_t value = user_field(row, field);
        put_user_label(buffer, family, row->name);
        if (direction != NULL)
            put_format(buffer, ",direction=\"%s\"", direction);
        put_format(buffer, "} %" PRIu64 "\n", value);
    }
}

static void write_users(struct prometheus_snapshot *snapshot, struct prometheus_buffer *buffer)
{
    if (snapshot->user_count == 0)
        return;
    qsort(snapshot->user_rows, snapshot->user_count, sizeof(*snapshot->user_rows), compare_users);
    struct user_series users = { .rows = snapshot->user_rows,
                                 .other = { .name = PROMETHEUS_OTHER_USERS } };
    /* Rows go on with their own series while there is room; a user named like the sum would
     * collide with it, so it joins the sum. Rows are moved so the own ones stay in front. */
    for (size_t i = 0; i < snapshot->user_count; i++) {
        struct prometheus_user row = snapshot->user_rows[i];
        if (users.own_count < snapshot->max_users && strcmp(row.name, PROMETHEUS_OTHER_USERS) != 0) {
            snapshot->user_rows[users.own_count++] = row;
            continue;
        }
        users.has_other = true;
        users.other.bytes_up += row.bytes_up;
        users.other.bytes_down += row.bytes_down;
        users.other.connections_total += row.connections_total;
        users.other.connections_live += row.connections_live;
    }
    if (users.own_count == 0 && !users.has_other)
        return;
    put_family_header(buffer, "socks5d_user_bytes_total",
                      "Bytes relayed per user (up = client to remote); past "
                      "--metrics-max-users, the users with fewer bytes summed as user=\"other\".",
                      "counter");
    write_user_series(buffer, &users, "socks5d_user_bytes_total", USER_BYTES_UP, "up");
    write_user_series(buffer, &users, "socks5d_user_bytes_total", USER_BYTES_DOWN, "down");
    put_family_header(buffer, "socks5d_user_connections_total",
                      "Connections per user since the start (users as in socks5d_user_bytes_total).",
                      "counter");
    write_user_series(buffer, &users, "socks5d_user_connections_total", USER_CONNECTIONS_TOTAL,
                      NULL);
    put_family_header(buffer, "socks5d_user_connections_live",
                      "Connections per user open now (users as in socks5d_user_bytes_total).",
                      "gauge");
    write_user_series(buffer, &users, "socks5d_user_connections_live", USER_CONNECTIONS_LIVE,
                      NULL);
}

bool prometheus_text_write(struct prometheus_snapshot *snapshot, struct prometheus_buffer *out)
{
    write_registry(snapshot->metrics, out);
    write_gauge(out, "socks5d_users", "Users in the users table.", snapshot->users);
    write_gauge(out, "socks5d_admin_sessions", "Admin sessions logged in now.",
                snapshot->admin_sessions);
    put_family_header(out, "socks5d_start_time_seconds",
                      "When the server started, in seconds since the Unix epoch.", "gauge");
    put_format(out, "socks5d_start_time_seconds %" PRId64 ".%03" PRId64 "\n",
               snapshot->started_ms / 1000, snapshot->started_ms % 1000);
    write_histogram(out, "socks5d_handshake_seconds",
                    "From accepting a CONNECT client to sending its success reply.",
                    snapshot->handshake);
    write_histogram(out, "socks5d_connect_seconds",
                    "From a CONNECT request read to its upstream connection established "
                    "(the name's lookup included).",
                    snapshot->connect);
    write_users(snapshot, out);
    return !out->failed;
}
