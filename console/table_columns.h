/* table_columns: a server table's columns described once — the server's name of each, what its
 * values are, and how the dashboard shows it — and a row of them laid out to a screen width. */
#ifndef TABLE_COLUMNS_H
#define TABLE_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>

#include "screen_text.h"

/* What a column's values are: decides their JSON type and human units in batch output and their
 * text in the dashboard when the column brings no text function of its own. */
enum column_type {
    COLUMN_TEXT,        /* a string, kept escaped as the server sent it */
    COLUMN_TIME,        /* an RFC 3339 time string; the dashboard shows its clock time */
    COLUMN_NUMBER,      /* an unsigned number, or "-" */
    COLUMN_BYTES,       /* a number of bytes */
    COLUMN_DURATION_MS, /* a number of milliseconds */
    COLUMN_RATE,        /* a per-second rate the console measures itself (no key) */
};

/* Which of a table's views shows a column: the users list shows since-start or lifetime
 * figures. */
enum column_view {
    COLUMN_VIEW_ANY,         /* every view */
    COLUMN_VIEW_SINCE_START, /* the server's counters since it started */
    COLUMN_VIEW_LIFETIME,    /* the accounting database's, over every run */
};

enum column_place {
    COLUMN_LEFT,
    COLUMN_RIGHT,
    COLUMN_STRETCH, /* left-aligned, over the room the other columns leave (one per table) */
};

struct table_column;

/* The dashboard's text of one row's value in column; row is the table's row type. */
typedef void column_text_fn(const void *row, const struct table_column *column, char *out,
                            size_t size);

struct table_column {
    const char *key;        /* its name in the server's table (PROTOCOL.md); NULL: derived */
    enum column_type type;
    /* The dashboard's list: */
    const char *title;       /* heading; NULL: not shown */
    int width;               /* screen columns; a stretching column's least */
    enum column_place place;
    int widest;              /* a stretching column's most; 0: no limit */
    int from_screen;         /* shown on screens at least this wide; 0: always */
    enum column_view view;   /* the view that shows it; COLUMN_VIEW_ANY: every one */
    size_t offset;           /* where a table with typed rows keeps the value */
    column_text_fn *text;    /* NULL: the table's text by type */
    /* The connection details popup: */
    const char *detail;          /* label of the value's line; NULL: not listed */
    column_text_fn *detail_text; /* NULL: the text by type */
};

/* The column called name (name_length bytes) in columns, or NULL. */
const struct table_column *table_column_find(const struct table_column *columns, size_t count,
                                             const char *name, size_t name_length);

/* One screen line: lead (lead_width columns: a marker or a tree branch), then each column shown
 * at this width, with one space between columns. row NULL writes the titles; otherwise each
 * value's text comes from the column's text function, or by_type. Exactly style->width wide. */
void table_columns_line(const struct table_column *columns, size_t count,
                        const struct screen_style *style, const char *lead, int lead_width,
                        const void *row, column_text_fn *by_type, char *out, size_t size);

#endif
