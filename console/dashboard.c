/* dashboard: the console's `dashboard` command and -d flag — checks the interval and terminal,
 * then runs the full-screen dashboard with a `:` line that reaches the console's commands. */
#include "dashboard.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "console.h"
#include "dashboard_loop.h"

#define DEFAULT_INTERVAL 1.0
#define MIN_INTERVAL 0.1
#define MAX_INTERVAL 3600.0

static bool parse_interval(int argc, char **argv, double *interval)
{
    *interval = DEFAULT_INTERVAL;
    if (argc < 2)
        return true;
    if (argc > 2)
        return false;
    char *end;
    errno = 0;
    double value = strtod(argv[1], &end);
    if (errno != 0 || end == argv[1] || *end != '\0' || !isfinite(value) ||
        value < MIN_INTERVAL || value > MAX_INTERVAL)
        return false;
    *interval = value;
    return true;
}

/* A `:` line: the console's command with its output and errors to out; curses owns the
 * terminal, so nothing may prompt there. */
static bool run_console_line(void *data, const char *line, FILE *out, bool *quit)
{
    struct console_context *context = data;
    struct console_context saved = *context;
    context->out = out;
    context->err = out;
    context->may_prompt = false;
    context->quit = false;
    int code = console_execute_line(context, line);
    *quit = context->quit;
    context->out = saved.out;
    context->err = saved.err;
    context->may_prompt = saved.may_prompt;
    context->quit = saved.quit;
    return code == CONSOLE_EXIT_OK;
}

int dashboard_run(struct console_context *context, int argc, char **argv)
{
    double interval;
    if (!parse_interval(argc, argv, &interval)) {
        fprintf(context->err, "dashboard: the refresh interval must be %g to %g seconds\n",
                MIN_INTERVAL, MAX_INTERVAL);
        return CONSOLE_EXIT_USAGE;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(context->err, "dashboard: needs a terminal (stdin and stdout)\n");
        return CONSOLE_EXIT_USAGE;
    }
    struct command_runner runner = { run_console_line, context };
    if (!dashboard_loop_run(context->client, &runner, interval)) {
        const char *term = getenv("TERM");
        fprintf(context->err, "dashboard: cannot drive terminal type '%s'\n", term ? term : "");
        return CONSOLE_EXIT_USAGE;
    }
    return CONSOLE_EXIT_OK;
}
