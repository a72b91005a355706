/* command_line: the two lines under the list — messages, the session's state, a y/n question,
 * key hints, the `/` filter and `:` command being typed — and running a typed console command. */
#ifndef COMMAND_LINE_H
#define COMMAND_LINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dashboard_fetch.h"
#include "dashboard_message.h"
#include "dashboard_model.h"
#include "pane.h"
#include "popup.h"
#include "screen.h"

#define COMMAND_INPUT_MAX 255

/* How a `:` line reaches the console's commands: the dashboard's host hands it in. */
struct command_runner {
    /* Runs line with its output and errors to out, never asking anything at the terminal;
     * true when it succeeded. *quit: the line asked the console to quit. */
    bool (*run)(void *context, const char *line, FILE *out, bool *quit);
    void *context;
};

enum command_line_mode {
    COMMAND_LINE_IDLE,
    COMMAND_LINE_FILTER,        /* typing after '/' */
    COMMAND_LINE_COMMAND,       /* typing after ':' */
    COMMAND_LINE_CONFIRM_CLOSE, /* y/n for closing a connection */
};

/* What the bottom lines show of the rest of the dashboard. */
struct command_line_status {
    const double *interval;          /* refresh seconds */
    const char *updated;             /* clock time of the last refresh; "" before the first */
    const enum dashboard_sort *sort; /* the users' order */
    const char *filter;              /* the users filter */
};

/* A `:` command running on a thread of its own: it may wait for a server (up to socks5ctl's
 * -t) while the screen goes on refreshing. */
struct command_job {
    bool running;
    pthread_t thread;
    int done[2];           /* a pipe: the thread writes a byte when it ends; -1 before use */
    char text[COMMAND_INPUT_MAX + 1];
    const struct command_runner *runner;
    FILE *stream;          /* the command's output (an open_memstream of output) */
    char *output;
    size_t length;
    bool ok, quit;
};

struct command_line {
    struct pane pane;
    const struct screen *screen;
    struct dashboard_message *message;
    const struct dashboard_session *session; /* what state the servers' sessions are in */
    struct popup *popup;               /* where a command's longer output goes */
    struct command_runner runner;
    struct command_line_status status;
    enum command_line_mode mode;
    uint64_t close_id;
    size_t close_server;
    char close_server_name[64]; /* "" with one server */
    char input[COMMAND_INPUT_MAX + 1];
    size_t input_length;
    struct command_job job;
};

void command_line_init(struct command_line *line, const struct screen *screen,
                       struct dashboard_message *message, const struct dashboard_session *session,
                       struct popup *popup, const struct command_runner *runner,
                       const struct command_line_status *status);

/* Starts typing a filter (from the current one), a command, or asks y/n about closing id. */
void command_line_start_filter(struct command_line *line, const char *current);
void command_line_start_command(struct command_line *line);
/* server_name: where the connection is, asked about in a fleet (NULL with one server). */
void command_line_confirm_close(struct command_line *line, uint64_t id, size_t server,
                                const char *server_name);
/* Keys go to the command line while it is typing or asking. */
bool command_line_active(const struct command_line *line);

/* The descriptor that turns readable when a running `:` command ends (-1 when none runs); then
 * command_line_finish shows its output and says what the dashboard must do (quit, refresh). */
int command_line_fd(const struct command_line *line);
struct pane_result command_line_finish(struct command_line *line);
/* Waits for a command still running (bounded by the sessions' timeout), frees what it took. */
void command_line_free(struct command_line *line);

/* Key hints for the status line, cut to the width. */
void command_line_hints(enum dashboard_sort sort, const char *filter,
                        const struct screen_style *style, char *out, size_t size);

#endif
