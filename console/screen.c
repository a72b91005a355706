/* screen: the ncurses screen the dashboard's panes share — whether it takes UTF-8 and colour,
 * the colour pairs, and text put at a position, cut to the room there. */
#include "screen.h"

#include <langinfo.h>
#include <stdlib.h>
#include <string.h>

void screen_init(struct screen *screen)
{
    screen->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    const char *no_color = getenv("NO_COLOR");
    screen->color = has_colors() && (no_color == NULL || no_color[0] == '\0');
    if (!screen->color)
        return;
    start_color();
    use_default_colors();
    init_pair(PAIR_LABEL, COLOR_CYAN, -1);
    init_pair(PAIR_COLUMNS, COLOR_BLACK, COLOR_GREEN);
    init_pair(PAIR_LIVE, COLOR_GREEN, -1);
    init_pair(PAIR_FAILED, COLOR_RED, -1);
    init_pair(PAIR_ALERT, COLOR_WHITE, COLOR_RED);
    init_pair(PAIR_HINTS, COLOR_BLACK, COLOR_CYAN);
    init_pair(PAIR_POPUP, COLOR_WHITE, COLOR_BLUE);
}

chtype screen_pair(const struct screen *screen, enum screen_pair pair, chtype fallback)
{
    return screen->color ? (chtype)COLOR_PAIR(pair) : fallback;
}

int screen_put(const struct screen *screen, int row, int column, const char *text, int columns,
               bool pad, chtype attributes)
{
    if (column >= COLS || row >= LINES)
        return 0;
    if (columns > COLS - column)
        columns = COLS - column;
    char fitted[SCREEN_LINE_SIZE];
    int width = text_fit(text, columns, pad, screen->utf8, fitted, sizeof(fitted));
    attron(attributes);
    mvaddstr(row, column, fitted);
    attroff(attributes);
    return width;
}

struct screen_style screen_style(const struct screen *screen)
{
    return (struct screen_style){ COLS < SCREEN_WIDTH_MAX ? COLS : SCREEN_WIDTH_MAX, screen->utf8 };
}

const char *screen_dash(const struct screen *screen)
{
    return screen->utf8 ? "\xE2\x80\x94" : "-";
}
