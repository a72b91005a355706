/* dashboard: socks5ctl's live full-screen view (ncurses) — the `dashboard` command of the
 * console's table and the -d flag. */
#ifndef DASHBOARD_H
#define DASHBOARD_H

#include "console.h"

/* argv: "dashboard" [SECONDS]. Returns an enum console_exit value. */
int dashboard_run(struct console_context *context, int argc, char **argv);

#endif
