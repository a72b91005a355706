/* dashboard: the `dashboard` command's own part — checks the refresh interval and the terminal,
 * then runs the full-screen dashboard; it knows the console only through a command runner. */
#include "dashboard.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

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

bool dashboard_run(struct fleet *fleet, struct admin_client *client,
                   const struct command_runner *runner, FILE *err, int argc, char **argv)
{
    double interval;
    if (!parse_interval(argc, argv, &interval)) {
        fprintf(err, "dashboard: the refresh interval must be %g to %g seconds\n", MIN_INTERVAL,
                MAX_INTERVAL);
        return false;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(err, "dashboard: needs a terminal (stdin and stdout)\n");
        return false;
    }
    const char *why;
    if (!dashboard_loop_run(fleet, client, runner, interval, &why)) {
        const char *term = getenv("TERM");
        if (why != NULL)
            fprintf(err, "dashboard: %s\n", why);
        else
            fprintf(err, "dashboard: cannot drive terminal type '%s'\n", term ? term : "");
        return false;
    }
    return true;
}
