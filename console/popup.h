/* popup: the box over the list — a command's output, the help, a connection's details — that
 * scrolls with the arrows and closes on any other key. */
#ifndef POPUP_H
#define POPUP_H

#include <stdbool.h>
#include <stddef.h>

#include "pane.h"
#include "screen.h"

struct popup {
    struct pane pane;
    const struct screen *screen;
    bool open;
    char title[128];
    char **lines; /* printable text, tabs expanded */
    size_t count;
    size_t top;
    int left;
};

void popup_init(struct popup *popup, const struct screen *screen);
/* Shows text (lines split at LF) under title; replaces what was shown. */
void popup_open(struct popup *popup, const char *title, const char *text, size_t length);
void popup_show_help(struct popup *popup);
void popup_close(struct popup *popup);

/* The help's lines, NULL-terminated. */
const char *const *popup_help_lines(void);
/* One line of command output made printable: tabs to spaces, other control bytes to '?'.
 * The caller frees it; NULL when out of memory. */
char *printable_line(const char *text, size_t length);

#endif
