/* users_pane: the users and their connection trees on screen — order, filter, a cursor that stays
 * on its user or connection across refreshes, scrolling, expanding (asks for the tree), its keys. */
#include "users_pane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection_tree.h"

/* Lines of the list under its column titles. */
static size_t list_height(const struct users_pane *users)
{
    return users->pane.area.height > 1 ? (size_t)users->pane.area.height - 1 : 0;
}

static bool ensure_capacity(void **array, size_t *capacity, size_t wanted, size_t item)
{
    if (wanted <= *capacity)
        return true;
    size_t grown = *capacity ? *capacity : 64;
    while (grown < wanted)
        grown *= 2;
    void *bigger = realloc(*array, grown * item);
    if (bigger == NULL)
        return false;
    *array = bigger;
    *capacity = grown;
    return true;
}

static void remember_selection(struct users_pane *users)
{
    struct users_selection *selection = &users->selection;
    if (users->line_count == 0)
        return;
    const struct list_line *line = &users->lines[users->selected];
    const struct dashboard_user *user = &users->model->users[line->user];
    snprintf(selection->user, sizeof(selection->user), "%s", user->usage.name);
    selection->on_connection = line->kind == LIST_LINE_CONNECTION;
    selection->id = selection->on_connection ? user->connections[line->connection].id : 0;
    selection->server = selection->on_connection ? user->connections[line->connection].server : 0;
}

void users_pane_rebuild(struct users_pane *users)
{
    struct dashboard_model *model = users->model;
    if (!ensure_capacity((void **)&users->order, &users->order_capacity, model->user_count + 1,
                         sizeof(*users->order))) {
        users->line_count = 0; /* the old lines may point at users that are gone */
        return;
    }
    size_t order_count = dashboard_model_order(model, users->sort, users->filter, users->order);
    size_t count = user_list_build(model, users->order, order_count, users->lines,
                                   users->line_capacity);
    if (count > users->line_capacity) {
        if (!ensure_capacity((void **)&users->lines, &users->line_capacity, count,
                             sizeof(*users->lines))) {
            count = users->line_capacity;
        }
        user_list_build(model, users->order, order_count, users->lines, users->line_capacity);
    }
    users->line_count = count;
    struct users_selection *selection = &users->selection;
    users->selected = user_list_locate(model, users->lines, count, selection->user,
                                       selection->on_connection, selection->id,
                                       selection->server, users->selected);
    users->top = user_list_scroll_top(users->selected, users->top, list_height(users), count);
    remember_selection(users);
}

void users_pane_set_filter(struct users_pane *users, const char *filter)
{
    snprintf(users->filter, sizeof(users->filter), "%s", filter);
    users_pane_rebuild(users);
}

size_t users_pane_wanted_trees(const struct users_pane *users, struct poller_tree *trees,
                               size_t capacity, size_t *rows)
{
    *rows = connection_tree_rows_wanted(list_height(users));
    size_t end = users->top + list_height(users);
    if (end > users->line_count)
        end = users->line_count;
    size_t count = 0;
    for (size_t i = 0; i < users->model->user_count; i++) {
        const struct dashboard_user *user = &users->model->users[i];
        if (!user->expanded)
            continue;
        if (count < capacity) {
            struct poller_tree *tree = &trees[count];
            snprintf(tree->name, sizeof(tree->name), "%s", user->usage.name);
            tree->visible = false;
            for (size_t line = users->top; line < end && !tree->visible; line++)
                tree->visible = users->lines[line].user == i;
        }
        count++;
    }
    return count;
}

bool users_pane_selected_connection(const struct users_pane *users,
                                    const struct dashboard_user **user,
                                    const struct dashboard_connection **connection)
{
    if (users->line_count == 0)
        return false;
    const struct list_line *line = &users->lines[users->selected];
    if (line->kind != LIST_LINE_CONNECTION)
        return false;
    *user = &users->model->users[line->user];
    *connection = &(*user)->connections[line->connection];
    return true;
}

/* ---- Keys ---- */

static void move_cursor(struct users_pane *users, long delta)
{
    if (users->line_count == 0)
        return;
    long target = (long)users->selected + delta;
    if (target < 0)
        target = 0;
    if (target >= (long)users->line_count)
        target = (long)users->line_count - 1;
    users->selected = user_list_next_selectable(users->lines, users->line_count, (size_t)target,
                                                delta < 0 ? -1 : +1);
    users->top = user_list_scroll_top(users->selected, users->top, list_height(users),
                                      users->line_count);
    remember_selection(users);
}

static struct dashboard_user *selected_user(struct users_pane *users)
{
    if (users->line_count == 0)
        return NULL;
    return &users->model->users[users->lines[users->selected].user];
}

/* Expanding asks for a fetch now: the tree shows at once rather than at the next refresh. */
static struct pane_result set_expanded(struct users_pane *users, struct dashboard_user *user,
                                       bool expanded)
{
    if (user->expanded == expanded)
        return pane_result(PANE_HANDLED);
    user->expanded = expanded;
    if (!expanded)
        dashboard_user_clear_connections(user);
    /* The cursor stays on the user. */
    users->selection.on_connection = false;
    users_pane_rebuild(users);
    return pane_result(expanded ? PANE_REFRESH_NOW : PANE_HANDLED);
}

static struct pane_result on_enter(struct users_pane *users)
{
    if (users->line_count == 0)
        return pane_result(PANE_HANDLED);
    if (users->lines[users->selected].kind == LIST_LINE_CONNECTION)
        return pane_result(PANE_SHOW_DETAILS);
    struct dashboard_user *user = selected_user(users);
    return set_expanded(users, user, !user->expanded);
}

static void on_left(struct users_pane *users)
{
    if (users->line_count == 0)
        return;
    if (users->lines[users->selected].kind == LIST_LINE_CONNECTION) {
        users->selection.on_connection = false;
        users_pane_rebuild(users);
        return;
    }
    set_expanded(users, selected_user(users), false);
}

static struct pane_result on_close_key(struct users_pane *users)
{
    const struct dashboard_user *user;
    const struct dashboard_connection *connection;
    if (!users_pane_selected_connection(users, &user, &connection))
        return pane_result(PANE_HANDLED);
    if (!connection->live) {
        message_set(users->message, false, "connection %llu is already closed",
                    (unsigned long long)connection->id);
        return pane_result(PANE_HANDLED);
    }
    if (!users->session->admin_view) {
        message_set(users->message, true, "closing connections needs the admin role");
        return pane_result(PANE_HANDLED);
    }
    return (struct pane_result){ .request = PANE_ASK_CLOSE, .id = connection->id,
                                 .server = connection->server };
}

/* Rows one press of o asks the history for. */
#define HISTORY_PAGE_ROWS 50

static struct pane_result on_older_key(struct users_pane *users)
{
    struct dashboard_user *user = selected_user(users);
    if (user == NULL)
        return pane_result(PANE_HANDLED);
    if (!user->expanded) {
        message_set(users->message, false, "expand the user first (Enter), then o");
        return pane_result(PANE_HANDLED);
    }
    return (struct pane_result){ .request = PANE_ASK_HISTORY, .id = HISTORY_PAGE_ROWS,
                                 .text = user->usage.name };
}

static struct pane_result users_key(struct pane *pane, int key)
{
    struct users_pane *users = (struct users_pane *)pane;
    long page = (long)list_height(users) > 1 ? (long)list_height(users) - 1 : 1;
    switch (key) {
    case KEY_UP:
    case 'k':
        move_cursor(users, -1);
        break;
    case KEY_DOWN:
    case 'j':
        move_cursor(users, +1);
        break;
    case KEY_PPAGE:
        move_cursor(users, -page);
        break;
    case KEY_NPAGE:
        move_cursor(users, +page);
        break;
    case KEY_HOME:
    case 'g':
        move_cursor(users, -(long)users->line_count);
        break;
    case KEY_END:
    case 'G':
        move_cursor(users, (long)users->line_count);
        break;
    case '\n':
    case '\r':
    case KEY_ENTER:
    case ' ':
        return on_enter(users);
    case KEY_RIGHT:
    case 'l':
        if (selected_user(users) != NULL)
            return set_expanded(users, selected_user(users), true);
        break;
    case KEY_LEFT:
    case 'h':
        on_left(users);
        break;
    case 's':
        users->sort = (users->sort + 1) % DASHBOARD_SORT_COUNT;
        users_pane_rebuild(users);
        message_set(users->message, false, "sorted by %s", dashboard_sort_name(users->sort));
        break;
    case 't':
        users->view = users->view == COLUMN_VIEW_LIFETIME ? COLUMN_VIEW_SINCE_START
                                                          : COLUMN_VIEW_LIFETIME;
        message_set(users->message, false, "users' figures: %s (t switches)",
                    user_list_view_name(users->view));
        break;
    case 'o':
        return on_older_key(users);
    case 27: /* Esc clears the filter */
        users_pane_set_filter(users, "");
        break;
    case 'x':
        return on_close_key(users);
    default:
        return pane_result(PANE_IGNORED);
    }
    return pane_result(PANE_HANDLED);
}

/* ---- Drawing ---- */

static chtype line_attributes(const struct users_pane *users, const struct list_line *line)
{
    const struct dashboard_user *user = &users->model->users[line->user];
    switch (line->kind) {
    case LIST_LINE_USER:
        return user->usage.connections_live > 0 ? A_BOLD : A_NORMAL;
    case LIST_LINE_TREE_TITLES:
    case LIST_LINE_NOTE:
        return A_DIM;
    case LIST_LINE_SERVER:
        return A_NORMAL;
    case LIST_LINE_CONNECTION: {
        const struct dashboard_connection *connection = &user->connections[line->connection];
        if (connection->live)
            return screen_pair(users->screen, PAIR_LIVE, A_BOLD);
        if (connection->has_status && connection->status != 0)
            return screen_pair(users->screen, PAIR_FAILED, A_NORMAL);
        return A_NORMAL;
    }
    }
    return A_NORMAL;
}

static void draw_users(struct pane *pane)
{
    const struct users_pane *users = (const struct users_pane *)pane;
    const struct screen *screen = users->screen;
    struct screen_style style = screen_style(screen);
    char text[SCREEN_LINE_SIZE];
    int titles_row = pane->area.top, list_top = pane->area.top + 1;
    user_list_titles(users->view, &style, text, sizeof(text));
    screen_put(screen, titles_row, 0, text, COLS, true,
               screen_pair(screen, PAIR_COLUMNS, A_REVERSE) | A_BOLD);
    size_t height = list_height(users);
    for (size_t i = 0; i < height && users->top + i < users->line_count; i++) {
        size_t index = users->top + i;
        const struct list_line *line = &users->lines[index];
        user_list_line_text(users->model, line, users->view, &style, text, sizeof(text));
        chtype attributes = line_attributes(users, line);
        if (index == users->selected && !users->cursor_hidden)
            attributes = A_REVERSE | (attributes & A_BOLD);
        screen_put(screen, list_top + (int)i, 0, text, COLS, true, attributes);
    }
    if (users->line_count == 0)
        screen_put(screen, list_top, 2,
                   users->filter[0] ? "no user matches the filter" : "no users yet", COLS, false,
                   A_DIM);
}

static void users_placed(struct pane *pane)
{
    users_pane_rebuild((struct users_pane *)pane);
}

static const struct pane_ops users_ops = {
    .placed = users_placed,
    .draw = draw_users,
    .handle_key = users_key,
};

void users_pane_init(struct users_pane *users, const struct screen *screen,
                     struct dashboard_model *model, const struct dashboard_session *session,
                     struct dashboard_message *message)
{
    *users = (struct users_pane){ .pane.ops = &users_ops, .screen = screen, .model = model,
                                  .session = session, .message = message,
                                  .view = COLUMN_VIEW_SINCE_START };
}

void users_pane_free(struct users_pane *users)
{
    free(users->order);
    free(users->lines);
    users->order = NULL;
    users->lines = NULL;
}
