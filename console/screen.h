/* screen: the ncurses screen the dashboard's panes share — whether it takes UTF-8 and colour,
 * the colour pairs, and text put at a position, cut to the room there. */
#ifndef SCREEN_H
#define SCREEN_H

#include <curses.h>
#include <stdbool.h>

#include "screen_text.h"

enum screen_pair {
    PAIR_LABEL = 1,
    PAIR_COLUMNS,
    PAIR_LIVE,
    PAIR_FAILED,
    PAIR_ALERT,
    PAIR_HINTS,
    PAIR_POPUP,
};

struct screen {
    bool utf8;
    bool color;
};

/* Reads the terminal's character set and starts colours unless NO_COLOR is set; after newterm. */
void screen_init(struct screen *screen);
/* The pair's attributes, or fallback on a screen without colours. */
chtype screen_pair(const struct screen *screen, enum screen_pair pair, chtype fallback);
/* Writes text at (row, column), at most `columns` wide, never past the right edge; padded to
 * `columns` when pad. Returns the columns written. */
int screen_put(const struct screen *screen, int row, int column, const char *text, int columns,
               bool pad, chtype attributes);
/* The style of a line as wide as the screen. */
struct screen_style screen_style(const struct screen *screen);
/* An em dash, or '-' without UTF-8. */
const char *screen_dash(const struct screen *screen);

#endif
