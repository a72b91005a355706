/* dashboard_view: the dashboard's screen as text, with no terminal — header fields, user and
 * connection rows cut to the width, the list's lines, selection and scrolling. */
#include "dashboard_view.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin_text.h"
#include "compact_units.h"

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

/* Column widths of the users list. */
enum {
    USER_PREFIX = 3,
    USER_FIXED = 53, /* role .. down/s with their gaps */
    USER_NAME_MIN = 8,
    USER_NAME_MAX = 32,
};

static int user_name_width(const struct screen_style *style)
{
    int width = style->width - USER_PREFIX - USER_FIXED;
    return width < USER_NAME_MIN ? USER_NAME_MIN : width > USER_NAME_MAX ? USER_NAME_MAX : width;
}

static void users_row(struct text_row *row, const char *prefix, const char *name, const char *role,
                      const char *const numbers[6])
{
    text_row_put(row, 0, prefix, USER_PREFIX, false);
    text_row_put(row, 0, name, user_name_width(row->style), false);
    text_row_put(row, 1, role, 5, false);
    static const int widths[6] = { 6, 7, 7, 7, 7, 7 };
    for (size_t i = 0; i < 6; i++)
        text_row_put(row, 1, numbers[i], widths[i], true);
    text_row_end(row);
}

void view_users_columns(const struct screen_style *style, char *out, size_t size)
{
    struct text_row row;
    text_row_begin(&row, style, out, size);
    static const char *const numbers[6] = { "LIVE", "TOTAL", "UP", "DOWN", "UP/s", "DOWN/s" };
    users_row(&row, "", "USER", "ROLE", numbers);
}

static void user_line(const struct dashboard_user *user, const struct screen_style *style,
                      char *out, size_t size)
{
    char name[4 * DASHBOARD_USER_NAME_SIZE];
    admin_text_escape(user->usage.name, strlen(user->usage.name), name, sizeof(name));
    char live[24], total[24], up[16], down[16], rate_up[16], rate_down[16];
    snprintf(live, sizeof(live), "%" PRIu64, user->usage.connections_live);
    snprintf(total, sizeof(total), "%" PRIu64, user->usage.connections_total);
    compact_bytes(user->usage.bytes_up, up, sizeof(up));
    compact_bytes(user->usage.bytes_down, down, sizeof(down));
    format_rate_or_dash(&user->rate_up, rate_up, sizeof(rate_up));
    format_rate_or_dash(&user->rate_down, rate_down, sizeof(rate_down));
    const char *numbers[6] = { live, total, up, down, rate_up, rate_down };
    const char *prefix = user->expanded ? (style->utf8 ? " \xE2\x96\xBE" : " -")
                                        : (style->utf8 ? " \xE2\x96\xB8" : " +");
    struct text_row row;
    text_row_begin(&row, style, out, size);
    users_row(&row, prefix, name, user->usage.role, numbers);
}

/* Column widths of a connection tree. */
enum {
    TREE_PREFIX = 5,
    TREE_TIME = 8,
    TREE_ORIGIN = 21,
    TREE_STATUS = 7,
    TREE_BYTES = 6,
    TREE_DURATION = 6,
    TREE_ADDRESS = 23,
    TREE_DESTINATION_MIN = 10,
    TREE_WIDE_DURATION = 96,  /* widths from which the optional columns are shown */
    TREE_WIDE_ADDRESS = 130,
};

static int tree_destination_width(const struct screen_style *style)
{
    int fixed = TREE_PREFIX + TREE_TIME + 1 + TREE_ORIGIN + 1 + 1 + TREE_STATUS + 1 + TREE_BYTES +
                1 + TREE_BYTES;
    if (style->width >= TREE_WIDE_DURATION)
        fixed += 1 + TREE_DURATION;
    if (style->width >= TREE_WIDE_ADDRESS)
        fixed += 1 + TREE_ADDRESS;
    int width = style->width - fixed;
    return width < TREE_DESTINATION_MIN ? TREE_DESTINATION_MIN : width;
}

struct tree_cells {
    const char *time, *origin, *destination, *address, *status, *up, *down, *duration;
};

static void tree_row(struct text_row *row, const char *prefix, const struct tree_cells *cells)
{
    const struct screen_style *style = row->style;
    text_row_put(row, 0, prefix, TREE_PREFIX, false);
    text_row_put(row, 0, cells->time, TREE_TIME, false);
    text_row_put(row, 1, cells->origin, TREE_ORIGIN, false);
    text_row_put(row, 1, cells->destination, tree_destination_width(style), false);
    if (style->width >= TREE_WIDE_ADDRESS)
        text_row_put(row, 1, cells->address, TREE_ADDRESS, false);
    text_row_put(row, 1, cells->status, TREE_STATUS, false);
    text_row_put(row, 1, cells->up, TREE_BYTES, true);
    text_row_put(row, 1, cells->down, TREE_BYTES, true);
    if (style->width >= TREE_WIDE_DURATION)
        text_row_put(row, 1, cells->duration, TREE_DURATION, true);
    text_row_end(row);
}

static void tree_columns(const struct screen_style *style, char *out, size_t size)
{
    static const struct tree_cells names = { "TIME", "ORIGIN", "DESTINATION", "ADDRESS",
                                             "STATUS", "UP", "DOWN", "DUR" };
    struct text_row row;
    text_row_begin(&row, style, out, size);
    tree_row(&row, "", &names);
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
    char time[16] = "-", up[16], down[16], duration[16];
    if (connection->has_started)
        compact_clock(connection->started_ms, time, sizeof(time));
    compact_bytes(connection->bytes_up, up, sizeof(up));
    compact_bytes(connection->bytes_down, down, sizeof(down));
    compact_duration_ms(connection->duration_ms, duration, sizeof(duration));
    const char *status = connection->live ? (connection->has_status ? "live" : "opening")
                         : connection->has_status ? reply_short_name(connection->status)
                                                  : "-";
    struct tree_cells cells = { time, connection->client, connection->destination,
                                connection->destination_address, status, up, down, duration };
    struct text_row row;
    text_row_begin(&row, style, out, size);
    tree_row(&row, tree_prefix(last, style), &cells);
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
    text_row_put(&row, 0, tree_prefix(true, style), TREE_PREFIX, false);
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
    const size_t size = VIEW_DETAIL_SIZE;
    char name[4 * DASHBOARD_USER_NAME_SIZE], time[ADMIN_TIME_TEXT_SIZE] = "-", clock[16] = "",
         up[16], down[16], duration[16];
    admin_text_escape(user->usage.name, strlen(user->usage.name), name, sizeof(name));
    if (connection->has_started) {
        admin_format_time(time, connection->started_ms);
        compact_clock(connection->started_ms, clock, sizeof(clock));
    }
    compact_bytes(connection->bytes_up, up, sizeof(up));
    compact_bytes(connection->bytes_down, down, sizeof(down));
    compact_duration_ms(connection->duration_ms, duration, sizeof(duration));
    char status[80];
    if (connection->has_status)
        snprintf(status, sizeof(status), "%" PRIu64 " (%s)", connection->status,
                 reply_name(connection->status));
    else
        snprintf(status, sizeof(status), "- (not answered yet)");
    size_t count = 0;
#define DETAIL(...)                                                                            \
    do {                                                                                       \
        if (count < max)                                                                       \
            snprintf(lines[count++], size, __VA_ARGS__);                                       \
    } while (0)
    DETAIL("connection   %" PRIu64 " (%s)", connection->id, connection->live ? "live" : "closed");
    DETAIL("user         %s", name);
    DETAIL("started      %s  %s", time, clock);
    DETAIL("origin       %s", connection->client);
    DETAIL("destination  %s", connection->destination);
    DETAIL("address      %s", connection->destination_address);
    DETAIL("status       %s", status);
    DETAIL("up           %" PRIu64 " bytes (%s)", connection->bytes_up, up);
    DETAIL("down         %" PRIu64 " bytes (%s)", connection->bytes_down, down);
    DETAIL("duration     %s%s", duration, connection->live ? " so far" : "");
#undef DETAIL
    return count;
}
