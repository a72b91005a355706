/* dashboard: the console's `dashboard` command and -d flag — checks the interval and terminal,
 * then runs the full-screen dashboard with a `:` line that reaches the console's commands. */
#ifndef DASHBOARD_H
#define DASHBOARD_H

/* Only the console's context is needed here: the dashboard's own modules never see it. */
struct console_context;

/* argv: "dashboard" [SECONDS]. Returns an enum console_exit value. */
int dashboard_run(struct console_context *context, int argc, char **argv);

#endif
