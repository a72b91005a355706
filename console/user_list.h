/* user_list: the dashboard's list as lines — each user by user_columns, and under an expanded
 * one its connection tree — with where the cursor may rest and what is scrolled into view. */
#ifndef USER_LIST_H
#define USER_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dashboard_model.h"
#include "screen_text.h"
#include "table_columns.h"

enum list_line_kind {
    LIST_LINE_USER,        /* a user with its usage */
    LIST_LINE_SERVER,      /* in a fleet, one server's share of an expanded user */
    LIST_LINE_TREE_TITLES, /* the column names of the tree under an expanded user */
    LIST_LINE_CONNECTION,  /* one connection of an expanded user */
    LIST_LINE_NOTE,        /* "loading", "no connections", "+3 more live" */
};

struct list_line {
    enum list_line_kind kind;
    size_t user;       /* index into model->users */
    size_t connection; /* LIST_LINE_CONNECTION: index into the user's connections;
                          LIST_LINE_SERVER: into its parts */
    bool last;         /* the last line of a user's tree */
};

/* The lines of the users in order (indexes into model->users), each expanded user followed
 * by its share on each server (in a fleet) and its tree. Writes at most capacity lines; returns how many there are in all. */
size_t user_list_build(const struct dashboard_model *model, const size_t *order,
                       size_t order_count, struct list_line *lines, size_t capacity);

/* The column names above the list, in view (since-start or lifetime figures). */
void user_list_titles(enum column_view view, const struct screen_style *style, char *out,
                      size_t size);
/* The text of one line in view, exactly style->width columns wide. */
void user_list_line_text(const struct dashboard_model *model, const struct list_line *line,
                         enum column_view view, const struct screen_style *style, char *out,
                         size_t size);
/* "since start" or "lifetime". */
const char *user_list_view_name(enum column_view view);

/* Lines the cursor may rest on: users and connections. */
bool user_list_selectable(const struct list_line *line);
/* The nearest selectable line from `from` going by step (+1 down, -1 up), `from` included;
 * from itself when none. */
size_t user_list_next_selectable(const struct list_line *lines, size_t count, size_t from,
                                 int step);
/* The line of the user (and connection id on server, when connection is true) named; fallback
 * (clamped and moved to a selectable line) when it is not shown. */
size_t user_list_locate(const struct dashboard_model *model, const struct list_line *lines,
                        size_t count, const char *user, bool connection, uint64_t id,
                        size_t server, size_t fallback);
/* The first line to show so that selected is within height lines from it. */
size_t user_list_scroll_top(size_t selected, size_t top, size_t height, size_t count);

#endif
