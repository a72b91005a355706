/* user_list: the dashboard's list as lines — each user by user_columns, and under an expanded
 * one its connection tree — with where the cursor may rest and what is scrolled into view. */
#include "user_list.h"

#include <stdio.h>
#include <string.h>

#include "connection_tree.h"
#include "user_columns.h"

#define MARKER_WIDTH 3 /* " + " before a user: collapsed or expanded */

size_t user_list_build(const struct dashboard_model *model, const size_t *order,
                        size_t order_count, struct list_line *lines, size_t capacity)
{
    size_t count = 0;
#define ADD_LINE(...)                                                                          \
    do {                                                                                       \
        if (count < capacity)                                                                  \
            lines[count] = (struct list_line){ __VA_ARGS__ };                                  \
        count++;                                                                               \
    } while (0)
    for (size_t i = 0; i < order_count; i++) {
        size_t index = order[i];
        const struct dashboard_user *user = &model->users[index];
        ADD_LINE(.kind = LIST_LINE_USER, .user = index);
        if (!user->expanded)
            continue;
        for (size_t part = 0; part < user->part_count; part++)
            ADD_LINE(.kind = LIST_LINE_SERVER, .user = index, .connection = part);
        size_t rows = dashboard_user_tree_rows(user);
        bool note = connection_tree_needs_note(user);
        if (rows > 0)
            ADD_LINE(.kind = LIST_LINE_TREE_TITLES, .user = index);
        for (size_t row = 0; row < rows; row++)
            ADD_LINE(.kind = LIST_LINE_CONNECTION, .user = index, .connection = row,
                     .last = !note && row + 1 == rows);
        if (note)
            ADD_LINE(.kind = LIST_LINE_NOTE, .user = index, .last = true);
    }
#undef ADD_LINE
    return count;
}

static void user_text(const void *row, const struct table_column *column, char *out, size_t size)
{
    user_column_text(row, column, out, size);
}

#define USER_COLUMNS_MAX 32

/* The registry's columns that view shows, in its order. */
static size_t columns_in_view(enum column_view view, struct table_column *shown)
{
    size_t count = 0;
    for (size_t i = 0; i < user_column_count && count < USER_COLUMNS_MAX; i++)
        if (user_columns[i].view == COLUMN_VIEW_ANY || user_columns[i].view == view)
            shown[count++] = user_columns[i];
    return count;
}

const char *user_list_view_name(enum column_view view)
{
    return view == COLUMN_VIEW_LIFETIME ? "lifetime" : "since start";
}

void user_list_titles(enum column_view view, const struct screen_style *style, char *out,
                      size_t size)
{
    struct table_column shown[USER_COLUMNS_MAX];
    size_t count = columns_in_view(view, shown);
    table_columns_line(shown, count, style, "", MARKER_WIDTH, NULL, user_text, out, size);
}

static void user_line(const struct dashboard_user *user, enum column_view view,
                      const struct screen_style *style, char *out, size_t size)
{
    const char *marker = user->expanded ? (style->utf8 ? " \xE2\x96\xBE" : " -")
                                        : (style->utf8 ? " \xE2\x96\xB8" : " +");
    struct table_column shown[USER_COLUMNS_MAX];
    size_t count = columns_in_view(view, shown);
    table_columns_line(shown, count, style, marker, MARKER_WIDTH, user, user_text, out, size);
}

/* A server's share of a user, in the user's columns: the server's name where the user's is. */
static void server_line(const struct dashboard_model *model, const struct dashboard_user *user,
                        const struct dashboard_user_part *part, enum column_view view,
                        const struct screen_style *style, char *out, size_t size)
{
    struct dashboard_user share = { .usage = part->usage, .rate_up = part->rate_up,
                                    .rate_down = part->rate_down };
    const char *name = part->server < model->server_count && model->server_names != NULL
                           ? model->server_names[part->server]
                           : "?";
    snprintf(share.usage.name, sizeof(share.usage.name), "  %s", name);
    snprintf(share.usage.role, sizeof(share.usage.role), "%s", user->usage.role);
    struct table_column shown[USER_COLUMNS_MAX];
    size_t count = columns_in_view(view, shown);
    table_columns_line(shown, count, style, "", MARKER_WIDTH, &share, user_text, out, size);
}

void user_list_line_text(const struct dashboard_model *model, const struct list_line *line,
                         enum column_view view, const struct screen_style *style, char *out,
                         size_t size)
{
    const struct dashboard_user *user = &model->users[line->user];
    switch (line->kind) {
    case LIST_LINE_USER:
        user_line(user, view, style, out, size);
        return;
    case LIST_LINE_SERVER:
        server_line(model, user, &user->parts[line->connection], view, style, out, size);
        return;
    case LIST_LINE_TREE_TITLES:
        connection_tree_titles(model, style, out, size);
        return;
    case LIST_LINE_CONNECTION:
        connection_tree_line(model, &user->connections[line->connection], line->last, style, out,
                             size);
        return;
    case LIST_LINE_NOTE:
        connection_tree_note(user, style, out, size);
        return;
    }
}

bool user_list_selectable(const struct list_line *line)
{
    return line->kind == LIST_LINE_USER || line->kind == LIST_LINE_CONNECTION;
}

static bool find_selectable(const struct list_line *lines, size_t count, size_t from, int step,
                            size_t *found)
{
    for (size_t i = from; i < count; i += (size_t)(ptrdiff_t)step) {
        if (user_list_selectable(&lines[i])) {
            *found = i;
            return true;
        }
        if (i == 0 && step < 0)
            break;
    }
    return false;
}

size_t user_list_next_selectable(const struct list_line *lines, size_t count, size_t from, int step)
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

size_t user_list_locate(const struct dashboard_model *model, const struct list_line *lines,
                   size_t count, const char *user, bool connection, uint64_t id, size_t server,
                   size_t fallback)
{
    for (size_t i = 0; i < count; i++) {
        if (lines[i].kind != LIST_LINE_USER || strcmp(model->users[lines[i].user].usage.name, user) != 0)
            continue;
        if (!connection)
            return i;
        for (size_t j = i + 1; j < count && lines[j].kind != LIST_LINE_USER; j++) {
            if (lines[j].kind != LIST_LINE_CONNECTION)
                continue;
            const struct dashboard_connection *shown =
                &model->users[lines[j].user].connections[lines[j].connection];
            if (shown->id == id && shown->server == server)
                return j;
        }
        return i;
    }
    return user_list_next_selectable(lines, count, fallback, -1);
}

size_t user_list_scroll_top(size_t selected, size_t top, size_t height, size_t count)
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
