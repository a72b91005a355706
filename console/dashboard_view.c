/* dashboard_view: the dashboard's screen as text, with no terminal — header fields, user and
 * connection rows cut to the width, the list's lines, selection and scrolling. */
#include "dashboard_view.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin_text.h"
#include "compact_units.h"
#include "connection_columns.h"
#include "user_columns.h"

/* ---- Header ---- */

static void field_set(struct view_header_line *line, const char *label, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void field_set(struct view_header_line *line, const char *label, const char *format, ...)
{
    if (line->count >= VIEW_HEADER_FIELDS)
        return;
    struct view_field *field = &line->fields[line->count++];
    snprintf(field->label, sizeof(field->label), "%s", label);
    va_list args;
    va_start(args, format);
    vsnprintf(field->value, sizeof(field->value), format, args);
    va_end(args);
}

static void format_rate_or_dash(const struct rate *rate, char *out, size_t size)
{
    if (rate_known(rate))
        compact_rate(rate_per_second(rate), out, size);
    else
        snprintf(out, size, "-");
}

static void header_traffic(const struct dashboard_model *model, uint64_t live, uint64_t total,
                           uint64_t up, uint64_t down, struct view_header_line lines[])
{
    char rate[16], bytes[16];
    if (rate_known(&model->rate_connections))
        compact_count_rate(rate_per_second(&model->rate_connections), rate, sizeof(rate));
    else
        snprintf(rate, sizeof(rate), "-");
    field_set(&lines[1], "Conns", "%" PRIu64 " live  %" PRIu64 " total  %s/s", live, total, rate);
    compact_bytes(up, bytes, sizeof(bytes));
    format_rate_or_dash(&model->rate_up, rate, sizeof(rate));
    field_set(&lines[2], "Up", "%s  %s/s", bytes, rate);
    compact_bytes(down, bytes, sizeof(bytes));
    format_rate_or_dash(&model->rate_down, rate, sizeof(rate));
    field_set(&lines[2], "Down", "%s  %s/s", bytes, rate);
}

static void header_admin(const struct dashboard_model *model, const struct view_session *session,
                         struct view_header_line lines[])
{
    const struct dashboard_server_info *info = &model->info;
    const struct dashboard_metrics *metrics = &model->metrics;
    char text[32];
    field_set(&lines[0], info->valid ? info->server : "socks5d", "%s", "");
    compact_duration(metrics->uptime_seconds, text, sizeof(text));
    field_set(&lines[0], "up", "%s", text);
    if (info->valid)
        field_set(&lines[0], "auth", "%s", info->auth_mode);
    field_set(&lines[0], "admin", "%s%s%s", session->user, session->endpoint ? "@" : "",
              session->endpoint ? session->endpoint : "");
    if (info->valid)
        field_set(&lines[0], "socks", "%s", info->socks_listeners);

    header_traffic(model, metrics->connections_current, metrics->connections_total,
                   metrics->bytes_up, metrics->bytes_down, lines);
    field_set(&lines[1], "IPv4", "%" PRIu64, metrics->ipv4_connections);
    field_set(&lines[1], "IPv6", "%" PRIu64, metrics->ipv6_connections);
    field_set(&lines[1], "DNS", "%" PRIu64, metrics->dns_connections);
    field_set(&lines[2], "Users", "%zu", model->user_count);
    if (info->valid) {
        compact_bytes(info->buffer_size, text, sizeof(text));
        field_set(&lines[2], "buffer", "%s", text);
        field_set(&lines[2], "sessions", "%" PRIu64 "/%" PRIu64, info->admin_sessions,
                  info->admin_max_sessions);
    }

    char rate[16] = "-";
    if (rate_known(&model->rate_errors))
        compact_count_rate(rate_per_second(&model->rate_errors), rate, sizeof(rate));
    field_set(&lines[3], "Errors", "%" PRIu64 "  %s/s", dashboard_metrics_errors(metrics), rate);
    field_set(&lines[3], "",
              "send %" PRIu64 " recv %" PRIu64 " dns %" PRIu64 " auth %" PRIu64 " input %" PRIu64
              " server %" PRIu64,
              metrics->send_errors, metrics->receive_errors, metrics->dns_errors,
              metrics->auth_errors, metrics->unsupported_input, metrics->server_errors);
    field_set(&lines[3], "Refused", "%" PRIu64, metrics->connection_refused);
    field_set(&lines[3], "Unreachable", "%" PRIu64, metrics->host_unreachable);
}

static void header_user(const struct dashboard_model *model, const struct view_session *session,
                        struct view_header_line lines[])
{
    field_set(&lines[0], "socks5ctl", "%s", "");
    field_set(&lines[0], "user", "%s%s%s", session->user, session->endpoint ? "@" : "",
              session->endpoint ? session->endpoint : "");
    const struct dashboard_usage empty = { 0 };
    const struct dashboard_usage *own = model->user_count > 0 ? &model->users[0].usage : &empty;
    header_traffic(model, own->connections_live, own->connections_total, own->bytes_up,
                   own->bytes_down, lines);
    field_set(&lines[3], "Note", "%s",
              "server metrics and other users need the admin role; showing your own");
}

void view_header(const struct dashboard_model *model, const struct view_session *session,
                 struct view_header_line lines[VIEW_HEADER_LINES])
{
    for (size_t i = 0; i < VIEW_HEADER_LINES; i++)
        lines[i].count = 0;
    if (session->admin)
        header_admin(model, session, lines);
    else
        header_user(model, session, lines);
}

void view_header_line_text(const struct view_header_line *line, const struct screen_style *style,
                           char *out, size_t size)
{
    char text[SCREEN_LINE_SIZE] = "";
    size_t used = 0;
    for (size_t i = 0; i < line->count; i++) {
        const struct view_field *field = &line->fields[i];
        int written = snprintf(text + used, sizeof(text) - used, "%s%s%s%s", i > 0 ? "  " : "",
                               field->label, field->label[0] && field->value[0] ? " " : "",
                               field->value);
        if (written < 0 || (size_t)written >= sizeof(text) - used)
            break;
        used += (size_t)written;
    }
    text_fit(text, style->width, true, style->utf8, out, size);
}

/* ---- The list ---- */

static bool tree_has_more(const struct dashboard_user *user)
{
    return user->live_total > user->live_shown || user->recent_total > user->recent_shown;
}

static bool tree_needs_note(const struct dashboard_user *user)
{
    return !user->connections_fetched || user->live_shown + user->recent_shown == 0 ||
           tree_has_more(user);
}

size_t view_build_lines(const struct dashboard_model *model, const size_t *order,
                        size_t order_count, struct view_line *lines, size_t capacity)
{
    size_t count = 0;
#define ADD_LINE(...)                                                                          \
    do {                                                                                       \
        if (count < capacity)                                                                  \
            lines[count] = (struct view_line){ __VA_ARGS__ };                                  \
        count++;                                                                               \
    } while (0)
    for (size_t i = 0; i < order_count; i++) {
        size_t index = order[i];
        const struct dashboard_user *user = &model->users[index];
        ADD_LINE(.kind = VIEW_LINE_USER, .user = index);
        if (!user->expanded)
            continue;
        size_t rows = user->connections_fetched ? user->live_shown + user->recent_shown : 0;
        bool note = tree_needs_note(user);
        if (rows > 0)
            ADD_LINE(.kind = VIEW_LINE_COLUMNS, .user = index);
        for (size_t row = 0; row < rows; row++)
            ADD_LINE(.kind = VIEW_LINE_CONNECTION, .user = index, .connection = row,
                     .last = !note && row + 1 == rows);
        if (note)
            ADD_LINE(.kind = VIEW_LINE_NOTE, .user = index, .last = true);
    }
#undef ADD_LINE
    return count;
}

#define MARKER_WIDTH 3 /* " + " before a user: collapsed or expanded */
#define BRANCH_WIDTH 5 /* "  |- " before a connection */

static void user_text(const void *row, const struct table_column *column, char *out, size_t size)
{
    user_column_text(row, column, out, size);
}

void view_users_columns(const struct screen_style *style, char *out, size_t size)
{
    table_columns_line(user_columns, user_column_count, style, "", MARKER_WIDTH, NULL, user_text,
                       out, size);
}

static void user_line(const struct dashboard_user *user, const struct screen_style *style,
                      char *out, size_t size)
{
    const char *marker = user->expanded ? (style->utf8 ? " \xE2\x96\xBE" : " -")
                                        : (style->utf8 ? " \xE2\x96\xB8" : " +");
    table_columns_line(user_columns, user_column_count, style, marker, MARKER_WIDTH, user,
                       user_text, out, size);
}

static void connection_text(const void *row, const struct table_column *column, char *out,
                            size_t size)
{
    connection_column_text(row, column, out, size);
}

static void tree_columns(const struct screen_style *style, char *out, size_t size)
{
    table_columns_line(connection_columns, connection_column_count, style, "", BRANCH_WIDTH,
                       NULL, connection_text, out, size);
}

static const char *tree_prefix(bool last, const struct screen_style *style)
{
    if (style->utf8)
        return last ? "  \xE2\x94\x94\xE2\x94\x80 " : "  \xE2\x94\x9C\xE2\x94\x80 ";
    return last ? "  `- " : "  |- ";
}

static void connection_line(const struct dashboard_connection *connection, bool last,
                            const struct screen_style *style, char *out, size_t size)
{
    table_columns_line(connection_columns, connection_column_count, style,
                       tree_prefix(last, style), BRANCH_WIDTH, connection, connection_text, out,
                       size);
}

static void note_line(const struct dashboard_user *user, const struct screen_style *style,
                      char *out, size_t size)
{
    char text[160];
    if (!user->connections_fetched) {
        snprintf(text, sizeof(text), "%s", style->utf8 ? "loading\xE2\x80\xA6" : "loading...");
    } else if (user->live_total + user->recent_total == 0) {
        snprintf(text, sizeof(text), "no connections");
    } else {
        uint64_t live = user->live_total > user->live_shown ? user->live_total - user->live_shown : 0;
        uint64_t recent = user->recent_total > user->recent_shown
                              ? user->recent_total - user->recent_shown
                              : 0;
        if (live > 0 && recent > 0)
            snprintf(text, sizeof(text), "%" PRIu64 " more live, %" PRIu64 " more recent not shown",
                     live, recent);
        else
            snprintf(text, sizeof(text), "%" PRIu64 " more %s not shown", live + recent,
                     live > 0 ? "live" : "recent");
    }
    struct text_row row;
    text_row_begin(&row, style, out, size);
    text_row_put(&row, 0, tree_prefix(true, style), BRANCH_WIDTH, false);
    text_row_put(&row, 0, text, style->width, false);
    text_row_end(&row);
}

void view_line_text(const struct dashboard_model *model, const struct view_line *line,
                    const struct screen_style *style, char *out, size_t size)
{
    const struct dashboard_user *user = &model->users[line->user];
    switch (line->kind) {
    case VIEW_LINE_USER:
        user_line(user, style, out, size);
        return;
    case VIEW_LINE_COLUMNS:
        tree_columns(style, out, size);
        return;
    case VIEW_LINE_CONNECTION:
        connection_line(&user->connections[line->connection], line->last, style, out, size);
        return;
    case VIEW_LINE_NOTE:
        note_line(user, style, out, size);
        return;
    }
}

bool view_line_selectable(const struct view_line *line)
{
    return line->kind == VIEW_LINE_USER || line->kind == VIEW_LINE_CONNECTION;
}

static bool find_selectable(const struct view_line *lines, size_t count, size_t from, int step,
                            size_t *found)
{
    for (size_t i = from; i < count; i += (size_t)(ptrdiff_t)step) {
        if (view_line_selectable(&lines[i])) {
            *found = i;
            return true;
        }
        if (i == 0 && step < 0)
            break;
    }
    return false;
}

size_t view_next_selectable(const struct view_line *lines, size_t count, size_t from, int step)
{
    if (count == 0)
        return 0;
    if (from >= count)
        from = count - 1;
    size_t found;
    if (find_selectable(lines, count, from, step, &found) ||
        find_selectable(lines, count, from, -step, &found))
        return found;
    return from;
}

size_t view_locate(const struct dashboard_model *model, const struct view_line *lines,
                   size_t count, const char *user, bool connection, uint64_t id, size_t fallback)
{
    for (size_t i = 0; i < count; i++) {
        if (lines[i].kind != VIEW_LINE_USER || strcmp(model->users[lines[i].user].usage.name, user) != 0)
            continue;
        if (!connection)
            return i;
        for (size_t j = i + 1; j < count && lines[j].kind != VIEW_LINE_USER; j++) {
            if (lines[j].kind == VIEW_LINE_CONNECTION &&
                model->users[lines[j].user].connections[lines[j].connection].id == id)
                return j;
        }
        return i;
    }
    return view_next_selectable(lines, count, fallback, -1);
}

size_t view_scroll_top(size_t selected, size_t top, size_t height, size_t count)
{
    if (height == 0 || count <= height)
        return 0;
    if (selected < top)
        top = selected;
    else if (selected >= top + height)
        top = selected - height + 1;
    if (top > count - height)
        top = count - height;
    return top;
}

/* ---- Bottom and popups ---- */

void view_key_hints(enum dashboard_sort sort, const char *filter, const struct screen_style *style,
                    char *out, size_t size)
{
    char text[SCREEN_LINE_SIZE];
    int used = 0;
    if (filter != NULL && filter[0] != '\0')
        used = snprintf(text, sizeof(text), "filter \"%s\"  ", filter);
    snprintf(text + used, sizeof(text) - (size_t)used,
             "q quit  ? help  Enter expand  s sort:%s  / filter  : command  +/- speed",
             dashboard_sort_name(sort));
    text_fit(text, style->width, true, style->utf8, out, size);
}

const char *const *view_help_lines(void)
{
    static const char *const lines[] = {
        "socks5ctl dashboard",
        "",
        "Up/Down, j/k      move (PgUp/PgDn, Home/End or g/G: by pages, to the ends)",
        "Enter, Space      expand/collapse a user; on a connection: its details",
        "Right/l, Left/h   expand, collapse (Left on a connection: back to its user)",
        "s                 sort users by name, live, total, bytes, rate",
        "/                 filter users by name (Enter keeps it, Esc clears it)",
        ":                 run a console command (e.g. :users, :help)",
        "x                 close the selected live connection (admin)",
        "+ / -             refresh more / less often",
        "r, Ctrl-L         refresh now and redraw",
        "?                 this help",
        "q                 quit",
        "",
        "Rates are per second, between the last two refreshes. Errors count",
        "send, receive, DNS, server and SOCKS auth errors and refused input.",
        "A user's tree lists live connections, then recent ones, newest first;",
        "only as many as fit on the screen are fetched.",
        "",
        "Press any key to close.",
        NULL,
    };
    return lines;
}

size_t view_connection_details(const struct dashboard_user *user,
                               const struct dashboard_connection *connection,
                               char lines[][VIEW_DETAIL_SIZE], size_t max)
{
    char name[4 * DASHBOARD_USER_NAME_SIZE];
    admin_text_escape(user->usage.name, strlen(user->usage.name), name, sizeof(name));
    size_t count = 0;
    if (count < max)
        snprintf(lines[count++], VIEW_DETAIL_SIZE, "%-12s %" PRIu64 " (%s)", "connection",
                 connection->id, connection->live ? "live" : "closed");
    if (count < max)
        snprintf(lines[count++], VIEW_DETAIL_SIZE, "%-12s %s", "user", name);
    for (size_t i = 0; i < connection_column_count && count < max; i++) {
        const struct table_column *column = &connection_columns[i];
        if (column->detail == NULL)
            continue;
        char value[VIEW_DETAIL_SIZE - 16]; /* room for the label before it */
        connection_column_detail(connection, column, value, sizeof(value));
        snprintf(lines[count++], VIEW_DETAIL_SIZE, "%-12s %s", column->detail, value);
    }
    return count;
}
