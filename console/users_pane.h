/* users_pane: the users and their connection trees on screen — order, filter, a cursor that stays
 * on its user or connection across refreshes, scrolling, expanding (asks for the tree), its keys. */
#ifndef USERS_PANE_H
#define USERS_PANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dashboard_fetch.h"
#include "dashboard_message.h"
#include "dashboard_model.h"
#include "dashboard_poller.h"
#include "pane.h"
#include "screen.h"
#include "user_list.h"

#define USERS_FILTER_MAX 255

/* Where the cursor is, by identity, so that it stays on the same user or connection when
 * rows move between refreshes. */
struct users_selection {
    char user[DASHBOARD_USER_NAME_SIZE];
    bool on_connection;
    uint64_t id;
    size_t server;
};

struct users_pane {
    struct pane pane;
    const struct screen *screen;
    struct dashboard_model *model;
    const struct dashboard_session *session; /* which view the servers give */
    struct dashboard_message *message;
    enum dashboard_sort sort;
    enum column_view view; /* since-start or lifetime figures; t switches */
    char filter[USERS_FILTER_MAX + 1];
    bool cursor_hidden; /* while the filter is typed, the cursor is not shown */
    size_t *order;
    size_t order_capacity;
    struct list_line *lines;
    size_t line_count;
    size_t line_capacity;
    size_t selected;
    size_t top;
    struct users_selection selection;
};

void users_pane_init(struct users_pane *users, const struct screen *screen,
                     struct dashboard_model *model, const struct dashboard_session *session,
                     struct dashboard_message *message);
void users_pane_free(struct users_pane *users);

/* Orders, filters and lays out the users again, keeping the cursor on what it was on. */
void users_pane_rebuild(struct users_pane *users);
void users_pane_set_filter(struct users_pane *users, const char *filter);
/* The trees the pane shows: every expanded user's (visible: with a line on screen), at most
 * capacity; *rows: connections of each kind a tree asks for. Returns how many there are. */
size_t users_pane_wanted_trees(const struct users_pane *users, struct poller_tree *trees,
                               size_t capacity, size_t *rows);
/* The connection under the cursor, or false when the cursor is not on one. */
bool users_pane_selected_connection(const struct users_pane *users,
                                    const struct dashboard_user **user,
                                    const struct dashboard_connection **connection);

#endif
