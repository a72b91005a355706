/* command_line: the two lines under the list — messages, the session's state, a y/n question,
 * key hints, the `/` filter and `:` command being typed — and running a typed console command. */
#include "command_line.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void command_line_hints(enum dashboard_sort sort, const char *filter,
                        const struct screen_style *style, char *out, size_t size)
{
    char text[SCREEN_LINE_SIZE];
    int used = 0;
    if (filter != NULL && filter[0] != '\0')
        used = snprintf(text, sizeof(text), "filter \"%s\"  ", filter);
    snprintf(text + used, sizeof(text) - (size_t)used,
             "q quit  ? help  Enter expand  s sort:%s  / filter  : command  t lifetime  "
             "+/- speed",
             dashboard_sort_name(sort));
    text_fit(text, style->width, true, style->utf8, out, size);
}

static bool first_word_is(const char *line, const char *word)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t length = strlen(word);
    return strncmp(line, word, length) == 0 &&
           (line[length] == '\0' || line[length] == ' ' || line[length] == '\t');
}

static void *job_run(void *argument)
{
    struct command_job *job = argument;
    job->ok = job->runner->run(job->runner->context, job->text, job->stream, &job->quit);
    fclose(job->stream);
    job->stream = NULL;
    char byte = 1;
    while (write(job->done[1], &byte, 1) < 0 && errno == EINTR)
        continue;
    return NULL;
}

/* Starts a typed line on the job's thread (signals blocked there: they are the screen's). */
static bool job_start(struct command_line *line, const char *text)
{
    struct command_job *job = &line->job;
    if (job->done[0] < 0 && pipe(job->done) != 0)
        return false;
    snprintf(job->text, sizeof(job->text), "%s", text);
    job->runner = &line->runner;
    job->output = NULL;
    job->length = 0;
    job->ok = job->quit = false;
    job->stream = open_memstream(&job->output, &job->length);
    if (job->stream == NULL)
        return false;
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    job->running = pthread_create(&job->thread, NULL, job_run, job) == 0;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (!job->running) {
        fclose(job->stream);
        job->stream = NULL;
        free(job->output);
        job->output = NULL;
    }
    return job->running;
}

/* Runs a typed line. Returns what the dashboard must do next. */
static struct pane_result run_command(struct command_line *line, const char *text)
{
    if (first_word_is(text, "quit") || first_word_is(text, "exit"))
        return pane_result(PANE_QUIT);
    if (first_word_is(text, "dashboard")) {
        message_set(line->message, false, "already in the dashboard");
        return pane_result(PANE_HANDLED);
    }
    if (line->job.running) {
        message_set(line->message, true, ":%s is still running", line->job.text);
        return pane_result(PANE_HANDLED);
    }
    if (!job_start(line, text))
        message_set(line->message, true, "cannot run a command: out of memory or threads");
    return pane_result(PANE_HANDLED);
}

int command_line_fd(const struct command_line *line)
{
    return line->job.running ? line->job.done[0] : -1;
}

struct pane_result command_line_finish(struct command_line *line)
{
    struct command_job *job = &line->job;
    if (!job->running)
        return pane_result(PANE_HANDLED);
    char byte;
    while (read(job->done[0], &byte, 1) < 0 && errno == EINTR)
        continue;
    pthread_join(job->thread, NULL);
    job->running = false;
    char *output = job->output;
    size_t length = job->length;
    job->output = NULL;
    const char *text = job->text;
    bool ok = job->ok;
    if (job->quit) {
        free(output);
        return pane_result(PANE_QUIT);
    }
    while (length > 0 && output[length - 1] == '\n')
        output[--length] = '\0';
    if (length == 0) {
        message_set(line->message, !ok, ":%s %s %s", text, screen_dash(line->screen),
                    ok ? "done" : "failed");
    } else if (memchr(output, '\n', length) == NULL && length < (size_t)COLS - 4) {
        char *printable = printable_line(output, length);
        message_set(line->message, !ok, "%s", printable ? printable : "");
        free(printable);
    } else {
        char title[128];
        snprintf(title, sizeof(title), ":%.100s%s", text, ok ? "" : " (failed)");
        popup_open(line->popup, title, output, length);
    }
    free(output);
    return pane_result(PANE_REFRESH_NOW); /* the command may have changed what is shown */
}

void command_line_free(struct command_line *line)
{
    struct command_job *job = &line->job;
    if (line->pane.ops == NULL)
        return; /* never initialised: the dashboard did not start */
    if (job->running) {
        pthread_join(job->thread, NULL);
        job->running = false;
    }
    free(job->output);
    job->output = NULL;
    for (int i = 0; i < 2; i++)
        if (job->done[i] >= 0) {
            close(job->done[i]);
            job->done[i] = -1;
        }
}

static void input_reset(struct command_line *line, enum command_line_mode mode)
{
    line->mode = mode;
    line->input[0] = '\0';
    line->input_length = 0;
}

void command_line_start_filter(struct command_line *line, const char *current)
{
    input_reset(line, COMMAND_LINE_FILTER);
    snprintf(line->input, sizeof(line->input), "%s", current);
    line->input_length = strlen(line->input);
}

void command_line_start_command(struct command_line *line)
{
    input_reset(line, COMMAND_LINE_COMMAND);
}

void command_line_confirm_close(struct command_line *line, uint64_t id, size_t server,
                                const char *server_name)
{
    line->close_id = id;
    line->close_server = server;
    snprintf(line->close_server_name, sizeof(line->close_server_name), "%s",
             server_name != NULL ? server_name : "");
    line->mode = COMMAND_LINE_CONFIRM_CLOSE;
}

bool command_line_active(const struct command_line *line)
{
    return line->mode != COMMAND_LINE_IDLE;
}

static void input_backspace(struct command_line *line)
{
    /* Removes one UTF-8 character. */
    while (line->input_length > 0) {
        unsigned char c = (unsigned char)line->input[--line->input_length];
        if ((c & 0xC0) != 0x80)
            break;
    }
    line->input[line->input_length] = '\0';
}

static struct pane_result filter_is(const char *text)
{
    return (struct pane_result){ .request = PANE_FILTER, .text = text };
}

/* Keys while typing after '/' or ':'. */
static struct pane_result input_key(struct command_line *line, int key)
{
    bool filter = line->mode == COMMAND_LINE_FILTER;
    switch (key) {
    case 27: /* Esc */
        line->mode = COMMAND_LINE_IDLE;
        return filter ? filter_is("") : pane_result(PANE_HANDLED);
    case '\n':
    case '\r':
    case KEY_ENTER:
        line->mode = COMMAND_LINE_IDLE;
        if (!filter && line->input_length > 0) {
            char text[COMMAND_INPUT_MAX + 1];
            snprintf(text, sizeof(text), "%s", line->input);
            return run_command(line, text);
        }
        return pane_result(PANE_HANDLED);
    case KEY_BACKSPACE:
    case 127:
    case 8:
        if (line->input_length == 0 && !filter) {
            line->mode = COMMAND_LINE_IDLE;
            return pane_result(PANE_HANDLED);
        }
        input_backspace(line);
        break;
    case 21: /* Ctrl-U */
        line->input_length = 0;
        line->input[0] = '\0';
        break;
    default:
        if (key < 0x20 || key > 0xFF || key == 0x7F || line->input_length >= COMMAND_INPUT_MAX)
            return pane_result(PANE_HANDLED);
        line->input[line->input_length++] = (char)key;
        line->input[line->input_length] = '\0';
        break;
    }
    return filter ? filter_is(line->input) : pane_result(PANE_HANDLED);
}

static struct pane_result command_line_key(struct pane *pane, int key)
{
    struct command_line *line = (struct command_line *)pane;
    switch (line->mode) {
    case COMMAND_LINE_IDLE:
        return pane_result(PANE_IGNORED);
    case COMMAND_LINE_FILTER:
    case COMMAND_LINE_COMMAND:
        return input_key(line, key);
    case COMMAND_LINE_CONFIRM_CLOSE:
        line->mode = COMMAND_LINE_IDLE;
        if (key == 'y' || key == 'Y') {
            return (struct pane_result){ .request = PANE_CLOSE, .id = line->close_id,
                                         .server = line->close_server };
        }
        message_set(line->message, false, "not closed");
        return pane_result(PANE_HANDLED);
    }
    return pane_result(PANE_IGNORED);
}

static void draw_message_line(const struct command_line *line, int row)
{
    const struct screen *screen = line->screen;
    const struct dashboard_session *session = line->session;
    char text[SCREEN_LINE_SIZE];
    char right[64] = "";
    if (line->status.updated[0])
        snprintf(right, sizeof(right), " every %gs  %s ", *line->status.interval,
                 line->status.updated);
    int right_width = (int)strlen(right);
    int room = COLS - right_width;
    if (!session->connected && session->error[0]) {
        snprintf(text, sizeof(text), "%s %s %s: %s",
                 session->login_refused ? "login refused" : "disconnected", screen_dash(screen),
                 session->login_refused ? "press r to retry" : "retrying", session->error);
        screen_put(screen, row, 0, text, room, true,
                   screen_pair(screen, PAIR_ALERT, A_REVERSE) | A_BOLD);
    } else if (line->job.running) {
        snprintf(text, sizeof(text), "running :%s %s", line->job.text, screen_dash(screen));
        screen_put(screen, row, 0, text, room, true, A_BOLD);
    } else if (line->mode == COMMAND_LINE_CONFIRM_CLOSE) {
        snprintf(text, sizeof(text), "close connection %llu%s%s? (y/n)",
                 (unsigned long long)line->close_id, line->close_server_name[0] ? " on " : "",
                 line->close_server_name);
        screen_put(screen, row, 0, text, room, true, A_BOLD);
    } else {
        screen_put(screen, row, 0, line->message->text, room, true,
                   line->message->error ? screen_pair(screen, PAIR_FAILED, A_BOLD) | A_BOLD
                                        : A_NORMAL);
    }
    if (room > 0)
        screen_put(screen, row, room, right, right_width, false, A_DIM);
}

static void draw_status_line(const struct command_line *line, int row)
{
    const struct screen *screen = line->screen;
    if (line->mode == COMMAND_LINE_FILTER || line->mode == COMMAND_LINE_COMMAND) {
        char prompt[4] = { line->mode == COMMAND_LINE_FILTER ? '/' : ':', '\0' };
        screen_put(screen, row, 0, "", COLS, true, A_NORMAL);
        int column = screen_put(screen, row, 0, prompt, COLS, false, A_BOLD);
        /* Keep the end of a long input in view. */
        const char *shown = line->input;
        while (strlen(shown) > 0 && (int)strlen(shown) > COLS - column - 1)
            shown++;
        column += screen_put(screen, row, column, shown, COLS - column - 1, false, A_NORMAL);
        curs_set(1);
        move(row, column < COLS ? column : COLS - 1);
        return;
    }
    struct screen_style style = screen_style(screen);
    char text[SCREEN_LINE_SIZE];
    command_line_hints(*line->status.sort, line->status.filter, &style, text, sizeof(text));
    screen_put(screen, row, 0, text, COLS, true, screen_pair(screen, PAIR_HINTS, A_REVERSE));
    curs_set(0);
}

/* The status line goes last: typing leaves the cursor at its end. */
static void draw_command_line(struct pane *pane)
{
    const struct command_line *line = (const struct command_line *)pane;
    draw_message_line(line, pane->area.top);
    draw_status_line(line, pane->area.top + 1);
}

static const struct pane_ops command_line_ops = {
    .draw = draw_command_line,
    .handle_key = command_line_key,
};

void command_line_init(struct command_line *line, const struct screen *screen,
                       struct dashboard_message *message, const struct dashboard_session *session,
                       struct popup *popup, const struct command_runner *runner,
                       const struct command_line_status *status)
{
    *line = (struct command_line){ .pane.ops = &command_line_ops, .screen = screen,
                                   .message = message, .session = session, .popup = popup,
                                   .runner = *runner, .status = *status,
                                   .job.done = { -1, -1 } };
}
