/* connection_tree: an expanded user's connections in the list — titles, one line each by
 * connection_columns, the closing note — and a connection's details popup text. No terminal. */
#include "connection_tree.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin_commands.h"
#include "admin_text.h"
#include "connection_columns.h"

#define BRANCH_WIDTH 5 /* "  |- " */
#define MIN_TREE_ROWS 3

size_t connection_tree_rows_wanted(size_t list_height)
{
    size_t rows = list_height > 2 ? list_height - 2 : 0; /* the tree's titles and its note */
    return rows < MIN_TREE_ROWS ? MIN_TREE_ROWS : rows;
}

static bool tree_has_more(const struct dashboard_user *user)
{
    return user->live_total > user->live_shown || user->recent_total > user->recent_shown;
}

bool connection_tree_needs_note(const struct dashboard_user *user)
{
    return !user->connections_fetched || dashboard_user_tree_rows(user) == 0 ||
           tree_has_more(user) || user->history_asked;
}

static const char *branch(bool last, const struct screen_style *style)
{
    if (style->utf8)
        return last ? "  \xE2\x94\x94\xE2\x94\x80 " : "  \xE2\x94\x9C\xE2\x94\x80 ";
    return last ? "  `- " : "  |- ";
}

static void text_by_type(const void *row, const struct table_column *column, char *out,
                         size_t size)
{
    connection_column_text(row, column, out, size);
}

#define SERVER_WIDTH_MAX 22 /* a longer server name is cut in the tree (the details say it all) */

/* In a fleet, the width of the server names before the rows (the longest one); 0 otherwise. */
static int server_width(const struct dashboard_model *model)
{
    if (model->server_count <= 1 || model->server_names == NULL)
        return 0;
    size_t widest = strlen("SERVER");
    for (size_t i = 0; i < model->server_count; i++)
        if (strlen(model->server_names[i]) > widest)
            widest = strlen(model->server_names[i]);
    return widest > SERVER_WIDTH_MAX ? SERVER_WIDTH_MAX : (int)widest;
}

/* The lead of a tree line: the branch, then in a fleet the server name. */
static int tree_lead(const struct dashboard_model *model, const char *branch_text,
                     const char *server, char *out, size_t size)
{
    int width = server_width(model);
    if (width == 0) {
        snprintf(out, size, "%s", branch_text);
        return BRANCH_WIDTH;
    }
    snprintf(out, size, "%s%-*.*s ", branch_text, width, width, server);
    return BRANCH_WIDTH + width + 1;
}

void connection_tree_titles(const struct dashboard_model *model, const struct screen_style *style,
                            char *out, size_t size)
{
    char lead[64];
    int width = tree_lead(model, "     ", "SERVER", lead, sizeof(lead));
    table_columns_line(connection_columns, connection_column_count, style,
                       width > BRANCH_WIDTH ? lead : "", width, NULL, text_by_type, out, size);
}

void connection_tree_line(const struct dashboard_model *model,
                          const struct dashboard_connection *connection, bool last,
                          const struct screen_style *style, char *out, size_t size)
{
    char lead[64];
    const char *server = model->server_count > 1 && connection->server < model->server_count
                             ? model->server_names[connection->server]
                             : "";
    int width = tree_lead(model, branch(last, style), server, lead, sizeof(lead));
    table_columns_line(connection_columns, connection_column_count, style, lead, width,
                       connection, text_by_type, out, size);
}

void connection_tree_note(const struct dashboard_user *user, const struct screen_style *style,
                          char *out, size_t size)
{
    char text[160];
    if (!user->connections_fetched) {
        snprintf(text, sizeof(text), "%s", style->utf8 ? "loading\xE2\x80\xA6" : "loading...");
    } else if (user->history_asked) {
        snprintf(text, sizeof(text), "%zu older from the history%s", user->history_count,
                 user->history_more ? "; o loads more" : "; no older ones");
    } else if (user->live_total + user->recent_total == 0) {
        snprintf(text, sizeof(text), "no connections (o: the history)");
    } else {
        uint64_t live = user->live_total > user->live_shown ? user->live_total - user->live_shown : 0;
        uint64_t recent = user->recent_total > user->recent_shown
                              ? user->recent_total - user->recent_shown
                              : 0;
        if (live > 0 && recent > 0)
            snprintf(text, sizeof(text), "%" PRIu64 " more live, %" PRIu64 " more recent not shown",
                     live, recent);
        else
            snprintf(text, sizeof(text), "%" PRIu64 " more %s not shown (o: the history)",
                     live + recent, live > 0 ? "live" : "recent");
    }
    struct text_row row;
    text_row_begin(&row, style, out, size);
    text_row_put(&row, 0, branch(true, style), BRANCH_WIDTH, false);
    text_row_put(&row, 0, text, style->width, false);
    text_row_end(&row);
}

/* A column of the history's rows alone (ended, history_id): listed only where it has a value. */
static bool history_only(const char *key)
{
    for (size_t i = 0; i < ADMIN_CONNECTIONS_COLUMN_COUNT; i++)
        if (strcmp(admin_connections_columns[i], key) == 0)
            return false;
    return true;
}

size_t connection_details(const struct dashboard_user *user, const char *server,
                          const struct dashboard_connection *connection,
                          char lines[][DETAIL_LINE_SIZE], size_t max)
{
    char name[4 * DASHBOARD_USER_NAME_SIZE];
    admin_text_escape(user->usage.name, strlen(user->usage.name), name, sizeof(name));
    size_t count = 0;
    if (count < max)
        snprintf(lines[count++], DETAIL_LINE_SIZE, "%-12s %" PRIu64 " (%s)", "connection",
                 connection->id, connection->live ? "live" : "closed");
    if (count < max)
        snprintf(lines[count++], DETAIL_LINE_SIZE, "%-12s %s", "user", name);
    if (server != NULL && count < max)
        snprintf(lines[count++], DETAIL_LINE_SIZE, "%-12s %s", "server", server);
    for (size_t i = 0; i < connection_column_count && count < max; i++) {
        const struct table_column *column = &connection_columns[i];
        if (column->detail == NULL || (history_only(column->key) &&
                                       strcmp(connection_field(connection, column->key),
                                              ADMIN_TEXT_NONE) == 0))
            continue;
        char value[DETAIL_LINE_SIZE - 16]; /* room for the label before it */
        connection_column_detail(connection, column, value, sizeof(value));
        snprintf(lines[count++], DETAIL_LINE_SIZE, "%-12s %s", column->detail, value);
    }
    return count;
}
