/* popup: the box over the list — a command's output, the help, a connection's details — that
 * scrolls with the arrows and closes on any other key. */
#include "popup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line of command output made printable: tabs to spaces, other control bytes to '?'. */
char *printable_line(const char *text, size_t length)
{
    size_t tabs = 0;
    for (size_t i = 0; i < length; i++)
        tabs += text[i] == '\t';
    char *line = malloc(length + tabs * 8 + 1);
    if (line == NULL)
        return NULL;
    size_t used = 0, column = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\t') {
            do {
                line[used++] = ' ';
                column++;
            } while (column % 8 != 0);
            continue;
        }
        line[used++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
        if ((c & 0xC0) != 0x80)
            column++;
    }
    line[used] = '\0';
    return line;
}

void popup_close(struct popup *popup)
{
    for (size_t i = 0; i < popup->count; i++)
        free(popup->lines[i]);
    free(popup->lines);
    *popup = (struct popup){ .pane = popup->pane, .screen = popup->screen };
}

void popup_open(struct popup *popup, const char *title, const char *text, size_t length)
{
    popup_close(popup);
    snprintf(popup->title, sizeof(popup->title), "%s", title);
    const char *end = text + length;
    size_t lines = 1;
    for (const char *at = text; at < end; at++)
        lines += *at == '\n';
    popup->lines = calloc(lines, sizeof(*popup->lines));
    while (popup->lines != NULL && text < end) {
        const char *newline = memchr(text, '\n', (size_t)(end - text));
        const char *stop = newline ? newline : end;
        char *line = printable_line(text, (size_t)(stop - text));
        if (line == NULL)
            break;
        popup->lines[popup->count++] = line;
        text = newline ? newline + 1 : end;
    }
    popup->open = true;
}

const char *const *popup_help_lines(void)
{
    static const char *const lines[] = {
        "socks5ctl dashboard",
        "",
        "Up/Down, j/k      move (PgUp/PgDn, Home/End or g/G: by pages, to the ends)",
        "Enter, Space      expand/collapse a user; on a connection: its details",
        "Right/l, Left/h   expand, collapse (Left on a connection: back to its user)",
        "s                 sort users by name, live, total, bytes, rate",
        "t                 users' figures: since the start / lifetime (accounting)",
        "o                 in a user's tree: load older connections from the history",
        "/                 filter users by name (Enter keeps it, Esc clears it)",
        ":                 run a console command (e.g. :users, :help)",
        "x                 close the selected live connection (admin)",
        "+ / -             refresh more / less often",
        "r, Ctrl-L         refresh now and redraw",
        "?                 this help",
        "q                 quit",
        "",
        "Rates are per second, between the last two refreshes. Errors count",
        "send, receive, DNS, server and SOCKS auth errors and refused input.",
        "A user's tree: live, then recent connections, newest first (a screenful).",
        "Press any key to close.",
        NULL,
    };
    return lines;
}

void popup_show_help(struct popup *popup)
{
    char text[4096] = "";
    size_t used = 0;
    for (const char *const *line = popup_help_lines(); *line != NULL; line++) {
        int written = snprintf(text + used, sizeof(text) - used, "%s\n", *line);
        if (written < 0 || (size_t)written >= sizeof(text) - used)
            break;
        used += (size_t)written;
    }
    popup_open(popup, "help", text, used);
}

static struct pane_result popup_key(struct pane *pane, int key)
{
    struct popup *popup = (struct popup *)pane;
    size_t page = (size_t)(LINES > 6 ? LINES - 6 : 1);
    switch (key) {
    case KEY_UP:
    case 'k':
        if (popup->top > 0)
            popup->top--;
        return pane_result(PANE_HANDLED);
    case KEY_DOWN:
    case 'j':
        if (popup->top + 1 < popup->count)
            popup->top++;
        return pane_result(PANE_HANDLED);
    case KEY_PPAGE:
        popup->top = popup->top > page ? popup->top - page : 0;
        return pane_result(PANE_HANDLED);
    case KEY_NPAGE:
    case ' ':
        if (popup->top + page < popup->count)
            popup->top += page;
        return pane_result(PANE_HANDLED);
    case KEY_LEFT:
    case 'h':
        popup->left = popup->left > 8 ? popup->left - 8 : 0;
        return pane_result(PANE_HANDLED);
    case KEY_RIGHT:
    case 'l':
        popup->left += 8;
        return pane_result(PANE_HANDLED);
    default:
        popup_close(popup);
        return pane_result(PANE_HANDLED);
    }
}

static void draw_popup(struct pane *pane)
{
    const struct popup *popup = (const struct popup *)pane;
    if (!popup->open)
        return;
    int widest = (int)strlen(popup->title) + 4;
    for (size_t i = 0; i < popup->count; i++) {
        int width = (int)strlen(popup->lines[i]);
        if (width > widest)
            widest = width;
    }
    int width = widest + 4 < COLS - 2 ? widest + 4 : COLS - 2;
    int height = (int)popup->count + 2 < LINES - 2 ? (int)popup->count + 2 : LINES - 2;
    if (width < 10 || height < 3)
        return;
    int top = (LINES - height) / 2, left = (COLS - width) / 2;
    chtype attributes = screen_pair(popup->screen, PAIR_POPUP, A_NORMAL);
    for (int row = 0; row < height; row++)
        screen_put(popup->screen, top + row, left, "", width, true, attributes);
    attron(attributes);
    mvaddch(top, left, ACS_ULCORNER);
    mvhline(top, left + 1, ACS_HLINE, width - 2);
    mvaddch(top, left + width - 1, ACS_URCORNER);
    mvvline(top + 1, left, ACS_VLINE, height - 2);
    mvvline(top + 1, left + width - 1, ACS_VLINE, height - 2);
    mvaddch(top + height - 1, left, ACS_LLCORNER);
    mvhline(top + height - 1, left + 1, ACS_HLINE, width - 2);
    mvaddch(top + height - 1, left + width - 1, ACS_LRCORNER);
    attroff(attributes);
    char title[160];
    snprintf(title, sizeof(title), " %s ", popup->title);
    screen_put(popup->screen, top, left + 2, title, width - 4, false, attributes | A_BOLD);
    for (int row = 0; row < height - 2 && popup->top + (size_t)row < popup->count; row++) {
        const char *line = popup->lines[popup->top + (size_t)row];
        size_t length = strlen(line);
        const char *shown = (size_t)popup->left < length ? line + popup->left : "";
        screen_put(popup->screen, top + 1 + row, left + 2, shown, width - 4, false, attributes);
    }
    if ((size_t)(height - 2) < popup->count) {
        char more[48];
        snprintf(more, sizeof(more), " %zu-%zu of %zu ", popup->top + 1,
                 popup->top + (size_t)(height - 2) < popup->count ? popup->top + (size_t)(height - 2)
                                                                  : popup->count,
                 popup->count);
        screen_put(popup->screen, top + height - 1, left + width - 2 - (int)strlen(more), more,
                   (int)strlen(more), false, attributes);
    }
}

static const struct pane_ops popup_ops = { .draw = draw_popup, .handle_key = popup_key };

void popup_init(struct popup *popup, const struct screen *screen)
{
    *popup = (struct popup){ .pane.ops = &popup_ops, .screen = screen };
}
