/* dashboard_loop: the dashboard's full-screen session — owns the terminal, the servers' pollers
 * and the signals, places the panes, draws them and hands each key to the pane in focus. */
#ifndef DASHBOARD_LOOP_H
#define DASHBOARD_LOOP_H

#include <stdbool.h>

#include "command_line.h"

struct admin_client;
struct fleet;

/* Runs over every server of fleet (NULL: client alone) until q, a quit command,
 * SIGINT/SIGTERM/SIGHUP or the terminal going away; the terminal is restored as it was. False
 * (with nothing changed) when it cannot start: *why says why, NULL when the terminal cannot be
 * driven. */
bool dashboard_loop_run(struct fleet *fleet, struct admin_client *client,
                        const struct command_runner *runner, double interval, const char **why);

#endif
