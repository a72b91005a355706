/* dashboard_view: the dashboard's screen as text, with no terminal — header fields, user and
 * connection rows cut to the width, the list's lines, selection and scrolling. */
#ifndef DASHBOARD_VIEW_H
#define DASHBOARD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dashboard_model.h"
#include "screen_text.h"

/* One line of a connection's details: room for an escaped 255-byte name. */
#define VIEW_DETAIL_SIZE 1100

/* ---- Header ---- */

#define VIEW_HEADER_LINES 4
#define VIEW_HEADER_FIELDS 6

/* A label (shown highlighted) and its value. */
struct view_field {
    char label[16];
    char value[96];
};

struct view_header_line {
    struct view_field fields[VIEW_HEADER_FIELDS];
    size_t count;
};

/* Who is looking, for the header and the status line. */
struct view_session {
    const char *user;     /* the logged-in user */
    bool admin;           /* the server answers metrics: global header and all users */
    const char *endpoint; /* the admin endpoint, host:port; NULL when unknown */
    double interval;      /* refresh seconds */
};

void view_header(const struct dashboard_model *model, const struct view_session *session,
                 struct view_header_line lines[VIEW_HEADER_LINES]);
/* A header line as plain text: "label value  label value", cut to the width. */
void view_header_line_text(const struct view_header_line *line, const struct screen_style *style,
                           char *out, size_t size);

/* ---- The list: users and their connection trees ---- */

enum view_line_kind {
    VIEW_LINE_USER,       /* a user with its usage */
    VIEW_LINE_COLUMNS,    /* the column names of the tree under an expanded user */
    VIEW_LINE_CONNECTION, /* one connection of an expanded user */
    VIEW_LINE_NOTE,       /* "loading", "no connections", "+3 more live" */
};

struct view_line {
    enum view_line_kind kind;
    size_t user;       /* index into model->users */
    size_t connection; /* VIEW_LINE_CONNECTION: index into the user's connections */
    bool last;         /* the last line of a user's tree */
};

/* The lines of the users in order (indexes into model->users), each expanded user followed
 * by its tree. Writes at most capacity lines; returns how many there are in all. */
size_t view_build_lines(const struct dashboard_model *model, const size_t *order,
                        size_t order_count, struct view_line *lines, size_t capacity);

/* The column names above the list. */
void view_users_columns(const struct screen_style *style, char *out, size_t size);
/* The text of one line, exactly style->width columns wide. */
void view_line_text(const struct dashboard_model *model, const struct view_line *line,
                    const struct screen_style *style, char *out, size_t size);

/* Lines the cursor may rest on: users and connections. */
bool view_line_selectable(const struct view_line *line);
/* The nearest selectable line from `from` going by step (+1 down, -1 up), `from` included;
 * from itself when none. */
size_t view_next_selectable(const struct view_line *lines, size_t count, size_t from, int step);
/* The line of the user (and connection, when connection is true) named; fallback (clamped and
 * moved to a selectable line) when it is not shown. */
size_t view_locate(const struct dashboard_model *model, const struct view_line *lines,
                   size_t count, const char *user, bool connection, uint64_t id, size_t fallback);
/* The first line to show so that selected is within height lines from it. */
size_t view_scroll_top(size_t selected, size_t top, size_t height, size_t count);

/* ---- Bottom and popups ---- */

/* Key hints for the status line, cut to the width. */
void view_key_hints(enum dashboard_sort sort, const char *filter, const struct screen_style *style,
                    char *out, size_t size);
/* The help popup's lines, NULL-terminated. */
const char *const *view_help_lines(void);
/* A connection in full, one "name: value" line each; returns the count (at most max). */
size_t view_connection_details(const struct dashboard_user *user,
                               const struct dashboard_connection *connection,
                               char lines[][VIEW_DETAIL_SIZE], size_t max);

#endif
