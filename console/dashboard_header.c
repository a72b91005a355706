/* dashboard_header: the meters at the top of the dashboard — server or fleet, traffic, users,
 * errors (an admin's), the user's own traffic otherwise — as labelled fields, and their pane. */
#include "dashboard_header.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "compact_units.h"

static void field_set(struct header_line *line, const char *label, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void field_set(struct header_line *line, const char *label, const char *format, ...)
{
    if (line->count >= HEADER_FIELDS)
        return;
    struct header_field *field = &line->fields[line->count++];
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
                           uint64_t up, uint64_t down, struct header_line lines[])
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

static void header_admin(const struct dashboard_model *model, const struct header_viewer *viewer,
                         struct header_line lines[])
{
    const struct dashboard_server_info *info = &model->info;
    const struct dashboard_metrics *metrics = &model->metrics;
    char text[32];
    field_set(&lines[0], info->valid ? info->server : "socks5d", "%s", "");
    /* Second, so that a narrow screen still shows it: records are being lost. */
    if (info->valid && info->accounting_failing)
        field_set(&lines[0], "accounting", "failing: %s", info->accounting_error);
    compact_duration(metrics->uptime_seconds, text, sizeof(text));
    field_set(&lines[0], "up", "%s", text);
    if (info->valid)
        field_set(&lines[0], "auth", "%s", info->auth_mode);
    field_set(&lines[0], "admin", "%s%s%s", viewer->user, viewer->endpoint ? "@" : "",
              viewer->endpoint ? viewer->endpoint : "");
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
    field_set(&lines[3], "Denied", "%" PRIu64, metrics->rule_denials);
}

static void header_user(const struct dashboard_model *model, const struct header_viewer *viewer,
                        struct header_line lines[])
{
    field_set(&lines[0], "socks5ctl", "%s", "");
    field_set(&lines[0], "user", "%s%s%s", viewer->user, viewer->endpoint ? "@" : "",
              viewer->endpoint ? viewer->endpoint : "");
    const struct dashboard_usage empty = { 0 };
    const struct dashboard_usage *own = model->user_count > 0 ? &model->users[0].usage : &empty;
    header_traffic(model, own->connections_live, own->connections_total, own->bytes_up,
                   own->bytes_down, lines);
    field_set(&lines[3], "Note", "%s",
              "server metrics and other users need the admin role; showing your own");
}

void header_fields(const struct dashboard_model *model, const struct header_viewer *viewer,
                 struct header_line lines[HEADER_LINES])
{
    for (size_t i = 0; i < HEADER_LINES; i++)
        lines[i].count = 0;
    if (viewer->admin)
        header_admin(model, viewer, lines);
    else
        header_user(model, viewer, lines);
}

static size_t servers_up(const struct header_fleet *fleet)
{
    size_t up = 0;
    for (size_t i = 0; i < fleet->count; i++)
        up += fleet->statuses[i].connected;
    return up;
}

/* A server is named down once it failed (not while its first answer is still coming). */
static bool server_down(const struct poller_status *status)
{
    return !status->connected && status->error[0] != '\0';
}

size_t header_fleet_down_lines(const struct header_fleet *fleet)
{
    size_t down = 0;
    for (size_t i = 0; i < fleet->count; i++)
        down += server_down(&fleet->statuses[i]);
    return down < HEADER_DOWN_LINES_MAX ? down : HEADER_DOWN_LINES_MAX;
}

static void format_milliseconds(double seconds, char *out, size_t size)
{
    double ms = seconds * 1000.0;
    snprintf(out, size, ms < 10 ? "%.1fms" : "%.0fms", ms);
}

static void down_line(const struct header_fleet *fleet, size_t index, struct header_line *line)
{
    const struct poller_status *status = &fleet->statuses[index];
    line->count = 0;
    field_set(line, "down", "%s", fleet->names[index]);
    if (status->login_refused) {
        field_set(line, "", "%s; r retries", status->error);
        return;
    }
    double wait = status->next_retry - fleet->now;
    if (wait > 0)
        field_set(line, "", "%s; retry in %.0fs", status->error, ceil(wait));
    else
        field_set(line, "", "%s; retrying", status->error);
}

size_t header_fleet_fields(const struct dashboard_model *model, const struct header_viewer *viewer,
                           const struct header_fleet *fleet, struct header_line *lines)
{
    header_fields(model, viewer, lines);
    struct header_line *first = &lines[0];
    first->count = 0;
    char fetch[16], frame[16];
    format_milliseconds(fleet->fetch_seconds, fetch, sizeof(fetch));
    format_milliseconds(fleet->frame_seconds, frame, sizeof(frame));
    field_set(first, "socks5d fleet", "%s", "");
    field_set(first, "servers", "%zu/%zu up", servers_up(fleet), fleet->count);
    field_set(first, viewer->admin ? "admin" : "user", "%s", viewer->user);
    if (viewer->admin && model->info.valid && model->info.accounting_failing)
        field_set(first, "accounting", "failing on a server");
    field_set(first, "fetch", "%s", fetch);
    field_set(first, "frame", "%s", frame);
    size_t count = HEADER_LINES, down = header_fleet_down_lines(fleet), named = 0;
    size_t all_down = 0;
    for (size_t i = 0; i < fleet->count; i++)
        all_down += server_down(&fleet->statuses[i]);
    for (size_t i = 0; i < fleet->count && named < down; i++) {
        if (!server_down(&fleet->statuses[i]))
            continue;
        struct header_line *line = &lines[count++];
        if (named + 1 == HEADER_DOWN_LINES_MAX && all_down > HEADER_DOWN_LINES_MAX) {
            line->count = 0;
            field_set(line, "down", "%zu more servers", all_down - named);
        } else {
            down_line(fleet, i, line);
        }
        named++;
    }
    return count;
}

void header_line_text(const struct header_line *line, const struct screen_style *style,
                           char *out, size_t size)
{
    char text[SCREEN_LINE_SIZE] = "";
    size_t used = 0;
    for (size_t i = 0; i < line->count; i++) {
        const struct header_field *field = &line->fields[i];
        int written = snprintf(text + used, sizeof(text) - used, "%s%s%s%s", i > 0 ? "  " : "",
                               field->label, field->label[0] && field->value[0] ? " " : "",
                               field->value);
        if (written < 0 || (size_t)written >= sizeof(text) - used)
            break;
        used += (size_t)written;
    }
    text_fit(text, style->width, true, style->utf8, out, size);
}

/* ---- The pane ---- */

static void draw_header(struct pane *pane)
{
    const struct header_pane *header = (const struct header_pane *)pane;
    const struct screen *screen = header->screen;
    struct header_viewer viewer = {
        .user = session_user(header->session),
        .admin = header->session->admin_view,
        .endpoint = session_endpoint(header->session),
    };
    struct header_line lines[HEADER_LINES + HEADER_DOWN_LINES_MAX];
    int count = HEADER_LINES;
    if (header->fleet != NULL)
        count = (int)header_fleet_fields(header->model, &viewer, header->fleet, lines);
    else
        header_fields(header->model, &viewer, lines);
    chtype label = screen_pair(screen, PAIR_LABEL, A_BOLD) | A_BOLD;
    for (int line = 0; line < count && line < pane->area.height; line++) {
        if (line >= HEADER_LINES)
            label = screen_pair(screen, PAIR_ALERT, A_REVERSE) | A_BOLD;
        int row = pane->area.top + line, column = 0;
        for (size_t i = 0; i < lines[line].count && column < COLS; i++) {
            const struct header_field *field = &lines[line].fields[i];
            if (i > 0)
                column += screen_put(screen, row, column, "  ", COLS, false, A_NORMAL);
            column += screen_put(screen, row, column, field->label, COLS, false, label);
            if (field->label[0] && field->value[0])
                column += screen_put(screen, row, column, " ", COLS, false, A_NORMAL);
            column += screen_put(screen, row, column, field->value, COLS, false, A_NORMAL);
        }
    }
}

static const struct pane_ops header_ops = { .draw = draw_header };

void header_pane_init(struct header_pane *header, const struct screen *screen,
                      const struct dashboard_model *model,
                      const struct dashboard_session *session, const struct header_fleet *fleet)
{
    *header = (struct header_pane){ .pane.ops = &header_ops, .screen = screen, .model = model,
                                    .session = session, .fleet = fleet };
}

int header_pane_lines(const struct header_pane *header)
{
    if (header->fleet == NULL)
        return HEADER_LINES;
    return HEADER_LINES + (int)header_fleet_down_lines(header->fleet);
}
