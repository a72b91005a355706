/* table_columns: a server table's columns described once — the server's name of each, what its
 * values are, and how the dashboard shows it — and a row of them laid out to a screen width. */
#include "table_columns.h"

#include <stdio.h>
#include <string.h>

const struct table_column *table_column_find(const struct table_column *columns, size_t count,
                                             const char *name, size_t name_length)
{
    for (size_t i = 0; i < count; i++)
        if (columns[i].key != NULL && strlen(columns[i].key) == name_length &&
            memcmp(columns[i].key, name, name_length) == 0)
            return &columns[i];
    return NULL;
}

static bool column_shown(const struct table_column *column, int screen_width)
{
    return column->title != NULL && screen_width >= column->from_screen;
}

/* What the stretching column gets: the width the fixed columns and every gap leave. */
static int stretch_width(const struct table_column *columns, size_t count, int screen_width,
                         int lead_width)
{
    int fixed = lead_width, shown = 0;
    const struct table_column *stretch = NULL;
    for (size_t i = 0; i < count; i++) {
        if (!column_shown(&columns[i], screen_width))
            continue;
        fixed += shown++ > 0 ? 1 : 0;
        if (columns[i].place == COLUMN_STRETCH)
            stretch = &columns[i];
        else
            fixed += columns[i].width;
    }
    if (stretch == NULL)
        return 0;
    int width = screen_width - fixed;
    if (stretch->widest > 0 && width > stretch->widest)
        width = stretch->widest;
    return width < stretch->width ? stretch->width : width;
}

void table_columns_line(const struct table_column *columns, size_t count,
                        const struct screen_style *style, const char *lead, int lead_width,
                        const void *row, column_text_fn *by_type, char *out, size_t size)
{
    struct text_row line;
    text_row_begin(&line, style, out, size);
    text_row_put(&line, 0, lead, lead_width, false);
    int stretch = stretch_width(columns, count, style->width, lead_width);
    int shown = 0;
    for (size_t i = 0; i < count; i++) {
        const struct table_column *column = &columns[i];
        if (!column_shown(column, style->width))
            continue;
        char value[SCREEN_LINE_SIZE];
        if (row == NULL)
            snprintf(value, sizeof(value), "%s", column->title);
        else
            (column->text != NULL ? column->text : by_type)(row, column, value, sizeof(value));
        int width = column->place == COLUMN_STRETCH ? stretch : column->width;
        text_row_put(&line, shown++ > 0 ? 1 : 0, value, width, column->place == COLUMN_RIGHT);
    }
    text_row_end(&line);
}
