/* dashboard: the `dashboard` command's own part — checks the refresh interval and the terminal,
 * then runs the full-screen dashboard; it knows the console only through a command runner. */
#ifndef DASHBOARD_H
#define DASHBOARD_H

#include <stdbool.h>
#include <stdio.h>

#include "command_line.h"

struct admin_client;
struct fleet;

/* argv: "dashboard" [SECONDS]. Runs the dashboard over the fleet (NULL: client alone) until the
 * user quits, its `:` line going through runner. False after telling err why it cannot start (a
 * bad interval, no terminal, a terminal type curses cannot drive, no thread for a server): the
 * console's usage error. */
bool dashboard_run(struct fleet *fleet, struct admin_client *client,
                   const struct command_runner *runner, FILE *err, int argc, char **argv);

#endif
