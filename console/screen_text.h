/* screen_text: text made to fit terminal columns — cut with a mark, padded, what the terminal
 * cannot show replaced — and a line assembled from fields of fixed widths. No terminal needed. */
#ifndef SCREEN_TEXT_H
#define SCREEN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Room for one screen line of any width the dashboard supports, in bytes (UTF-8). */
#define SCREEN_LINE_SIZE 2048
#define SCREEN_WIDTH_MAX 400

struct screen_style {
    int width;  /* screen columns */
    bool utf8;  /* the terminal takes UTF-8: tree lines and names as they are; else ASCII only */
};

/* Copies text cut to columns screen columns (padded with spaces to exactly that many when pad),
 * replacing what the terminal cannot show (control bytes; non-ASCII unless utf8) with '?'.
 * A cut text ends in '~' (ASCII) or an ellipsis (UTF-8). Returns the columns written. */
int text_fit(const char *text, int columns, bool pad, bool utf8, char *out, size_t size);

/* A line being built from fields, never wider than style->width. */
struct text_row {
    char *out;
    size_t size;
    size_t used;
    int column;
    const struct screen_style *style;
};

void text_row_begin(struct text_row *row, const struct screen_style *style, char *out,
                    size_t size);
/* Adds text in a field of columns columns, aligned left or right, after gap spaces; the field
 * shrinks to the room left on the line. */
void text_row_put(struct text_row *row, int gap, const char *text, int columns, bool right);
/* Pads the line with spaces to the full width. */
void text_row_end(struct text_row *row);

#endif
