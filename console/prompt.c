/* prompt: socks5ctl's interactive face — readline with persistent history, completion of
 * command and user names, and word of a server that went away while the prompt waited. */
#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "admin_client.h"
#include "admin_commands.h"
#include "admin_text.h"
#include "commands.h"
#include "fleet.h"

#define HISTORY_MAX 1000
#define PROMPT_SIZE 2048
#define ERROR_SIZE 512
#define SERVERS_MAX_POLLED 64 /* servers whose sessions the prompt watches while it waits */

/* Readline's callbacks take no context: the prompt's state lives here, one prompt at a time. */
static struct {
    struct console_context *context;
    char prompt[PROMPT_SIZE];
    char history_file[PATH_MAX];
    bool history_enabled;
    char *pending_line;
    bool finished;
    char **candidates;
    size_t candidate_count;
} state;

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t resized;

/* ---- History ---- */

bool prompt_history_path(const char *xdg_state_home, const char *home, char *out, size_t size)
{
    int written;
    if (xdg_state_home != NULL && xdg_state_home[0] == '/')
        written = snprintf(out, size, "%s/socks5ctl/history", xdg_state_home);
    else if (home != NULL && home[0] == '/')
        written = snprintf(out, size, "%s/.local/state/socks5ctl/history", home);
    else
        return false;
    return written > 0 && (size_t)written < size;
}

bool prompt_line_has_secret(const char *line)
{
    int argc;
    char **argv;
    char error[ERROR_SIZE];
    if (console_split_line(line, &argc, &argv, error, sizeof(error)) != CONSOLE_EXIT_OK)
        return true; /* cannot tell: keep it out */
    const struct console_command *command = argc > 0 ? console_command_find(argv[0]) : NULL;
    bool secret = false;
    for (int i = 1; command != NULL && i < argc && !secret; i++) {
        const struct admin_field *field = console_command_field(command, i);
        secret = field != NULL && field->meaning == ADMIN_MEANING_PASSWORD;
    }
    console_free_words(argc, argv);
    return secret;
}

/* mkdir -p for the directories above file, private to the user. */
static bool make_parent_directories(const char *file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", file);
    for (char *slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return false;
        *slash = '/';
    }
    return true;
}

static void history_open(void)
{
    using_history();
    stifle_history(HISTORY_MAX);
    state.history_enabled = false;
    if (!prompt_history_path(getenv("XDG_STATE_HOME"), getenv("HOME"), state.history_file,
                             sizeof(state.history_file)) ||
        !make_parent_directories(state.history_file))
        return;
    int fd = open(state.history_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    close(fd);
    read_history(state.history_file);
    state.history_enabled = true;
}

static void history_remember(const char *line)
{
    const char *start = line;
    while (*start == ' ' || *start == '\t')
        start++;
    if (*start == '\0' || prompt_line_has_secret(line))
        return;
    /* Kept without the blank a completion leaves at the end, so Up recalls the same line. */
    size_t length = strlen(start);
    while (length > 0 && (start[length - 1] == ' ' || start[length - 1] == '\t'))
        length--;
    char *kept = strndup(start, length);
    if (kept == NULL)
        return;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last == NULL || strcmp(last->line, kept) != 0) {
        add_history(kept);
        if (state.history_enabled)
            append_history(1, state.history_file);
    }
    free(kept);
}

static void history_close(void)
{
    if (state.history_enabled)
        history_truncate_file(state.history_file, HISTORY_MAX);
    clear_history();
}

/* ---- Completion ---- */

static void candidates_clear(void)
{
    for (size_t i = 0; i < state.candidate_count; i++)
        free(state.candidates[i]);
    free(state.candidates);
    state.candidates = NULL;
    state.candidate_count = 0;
}

static void candidate_add(const char *text, size_t length)
{
    char **grown = realloc(state.candidates, (state.candidate_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return;
    state.candidates = grown;
    char *copy = strndup(text, length);
    if (copy != NULL)
        state.candidates[state.candidate_count++] = copy;
}

static bool is_admin(void)
{
    struct admin_client *client = state.context->client;
    return client != NULL && admin_client_role(client) == ADMIN_ROLE_ADMIN;
}

static void add_command_names(bool only_runnable)
{
    for (size_t i = 0; i < console_command_count(); i++) {
        const struct console_command *command = console_command_at(i);
        if (!only_runnable || command->role == CONSOLE_ROLE_ANY || is_admin())
            candidate_add(command->name, strlen(command->name));
    }
}

/* User names, asked from the server (`users`); a regular user may only name themselves. */
static void add_user_names(bool with_anonymous)
{
    struct admin_client *client = state.context->client;
    if (with_anonymous && is_admin())
        candidate_add(ADMIN_ANONYMOUS_USER, strlen(ADMIN_ANONYMOUS_USER));
    if (client == NULL)
        return;
    if (!is_admin()) {
        candidate_add(admin_client_user(client), strlen(admin_client_user(client)));
        return;
    }
    struct admin_request request;
    struct admin_reply reply;
    char error[ERROR_SIZE];
    admin_request_init(&request, ADMIN_CMD_USERS);
    if (admin_client_call(client, &request, &reply, error, sizeof(error)) != ADMIN_CLIENT_OK)
        return;
    struct admin_table table;
    long column = -1;
    if (reply.status == ADMIN_STATUS_OK && admin_table_open(&table, reply.body, reply.body_length))
        column = admin_table_column(&table, ADMIN_COLUMN_USER);
    struct admin_row row;
    struct admin_span field;
    char name[ADMIN_STR8_MAX + 1];
    while (column >= 0 && admin_table_next_row(&table, &row)) {
        if (!admin_row_field(&row, (size_t)column, &field))
            continue;
        size_t length = admin_text_unescape(field, name, sizeof(name));
        if (length < sizeof(name))
            candidate_add(name, length);
    }
    admin_reply_free(&reply);
}

static void add_words(const char *const *words)
{
    for (; *words != NULL; words++)
        candidate_add(*words, strlen(*words));
}

static void add_choices(enum admin_field_check check)
{
    const char *word;
    for (size_t i = 0; (word = commands_choice_word(check, i)) != NULL; i++)
        candidate_add(word, strlen(word));
}

/* What the protocol says the field holds: user names to offer, or values to choose from. */
static void add_field_values(const struct admin_field *field)
{
    switch (field->meaning) {
    case ADMIN_MEANING_USER: add_user_names(false); return;
    case ADMIN_MEANING_USER_OR_ANONYMOUS: add_user_names(true); return;
    case ADMIN_MEANING_TEXT:
    case ADMIN_MEANING_NEW_USER:
    case ADMIN_MEANING_PASSWORD: break;
    }
    if (field->type == ADMIN_FIELD_U8)
        add_choices(field->check);
}

/* The candidates for word number index of a line that starts with command name. */
static void collect_candidates(const char *name, int index, const char *text)
{
    if (index == 0) {
        add_command_names(true);
        return;
    }
    if (strcmp(name, "help") == 0 && index == 1) {
        add_command_names(false);
        return;
    }
    const struct console_command *command = console_command_find(name);
    if (command == NULL)
        return;
    const char *const *options = console_command_options(command);
    if (options != NULL && text[0] == '-') {
        add_words(options);
        return;
    }
    const struct admin_field *field = console_command_field(command, index);
    if (field != NULL)
        add_field_values(field);
    else if (options != NULL)
        add_words(options);
}

static char *candidate_generator(const char *text, int call)
{
    static size_t index, length;
    if (call == 0) {
        index = 0;
        length = strlen(text);
    }
    while (index < state.candidate_count) {
        const char *candidate = state.candidates[index++];
        if (strncmp(candidate, text, length) == 0)
            return strdup(candidate);
    }
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    candidates_clear();
    char *before = strndup(rl_line_buffer, (size_t)start);
    int argc = 0;
    char **argv = NULL;
    char error[ERROR_SIZE];
    if (before != NULL &&
        console_split_line(before, &argc, &argv, error, sizeof(error)) == CONSOLE_EXIT_OK)
        collect_candidates(argc > 0 ? argv[0] : "", argc, text);
    console_free_words(argc, argv);
    free(before);
    return rl_completion_matches(text, candidate_generator);
}

/* ---- The servers ---- */

/* The sessions the console keeps: the fleet's, or the one client of a test's context. */
static size_t server_count(void)
{
    if (state.context->fleet != NULL)
        return fleet_count(state.context->fleet);
    return state.context->client != NULL ? 1 : 0;
}

static struct admin_client *server_client(size_t index)
{
    if (state.context->fleet != NULL)
        return fleet_client(state.context->fleet, index);
    return state.context->client;
}

/* "user@N servers" and the names of those without a session: "(down: a:1, b:2)". */
static const char *fleet_prompt_text(const char *user)
{
    size_t count = server_count(), length = 0;
    char down[PROMPT_SIZE / 4] = "";
    for (size_t i = 0; i < count; i++) {
        if (admin_client_connected(server_client(i)))
            continue;
        int written = snprintf(down + length, sizeof(down) - length, "%s%s",
                               length == 0 ? " (down: " : ", ",
                               admin_client_address(server_client(i)));
        if (written < 0 || (size_t)written >= sizeof(down) - length)
            break;
        length += (size_t)written;
    }
    if (length > 0 && length + 1 < sizeof(down))
        snprintf(down + length, sizeof(down) - length, ")");
    /* The role of a session that is open: the same user may be admin on every server. */
    bool admin = false;
    for (size_t i = 0; i < count; i++) {
        if (admin_client_connected(server_client(i))) {
            admin = admin_client_role(server_client(i)) == ADMIN_ROLE_ADMIN;
            break;
        }
    }
    snprintf(state.prompt, sizeof(state.prompt), "%s@%zu servers%s%s ", user, count, down,
             admin ? "#" : ">");
    return state.prompt;
}

/* ---- The prompt ---- */

static const char *prompt_text(void)
{
    struct admin_client *client = state.context->client;
    if (client == NULL) {
        snprintf(state.prompt, sizeof(state.prompt), "socks5ctl> ");
        return state.prompt;
    }
    char user[4 * ADMIN_STR8_MAX + 1];
    admin_text_escape(admin_client_user(client), strlen(admin_client_user(client)), user,
                      sizeof(user));
    if (server_count() > 1)
        return fleet_prompt_text(user);
    bool connected = admin_client_connected(client);
    snprintf(state.prompt, sizeof(state.prompt), "%s@%s%s%s ", user,
             admin_client_address(client), connected ? "" : " (disconnected)",
             connected && is_admin() ? "#" : ">");
    return state.prompt;
}

static void on_line(char *line)
{
    /* Out of readline until the command is done: its output, password prompts and the
     * dashboard get a normal terminal. */
    rl_callback_handler_remove();
    if (line == NULL) {
        fputc('\n', rl_outstream);
        state.finished = true;
        return;
    }
    state.pending_line = line;
}

static void install_handler(void)
{
    rl_callback_handler_install(prompt_text(), on_line);
}

/* A line printed above the one being edited, which is then drawn again (with the prompt of
 * the session's new state). */
static void announce(const char *text)
{
    int point = rl_point;
    char *typed = rl_copy_text(0, rl_end);
    rl_save_prompt();
    rl_replace_line("", 0);
    rl_redisplay(); /* the edited line is now empty: the message starts on a clean line */
    fprintf(state.context->err, "\r%s\n", text);
    fflush(state.context->err);
    rl_restore_prompt();
    rl_set_prompt(prompt_text());
    rl_replace_line(typed != NULL ? typed : "", 0);
    rl_point = point;
    rl_forced_update_display();
    free(typed);
}

static void notice_server_gone(size_t index)
{
    struct admin_client *client = server_client(index);
    if (client == NULL || admin_client_check_alive(client))
        return;
    if (server_count() == 1) {
        announce("the server closed the session; the next command logs in again");
        return;
    }
    char text[ERROR_SIZE];
    snprintf(text, sizeof(text), "%s closed the session; the next command logs in again",
             admin_client_address(client));
    announce(text);
}

static void cancel_line(void)
{
    interrupted = 0;
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_replace_line("", 0);
    fputs("^C", rl_outstream);
    rl_crlf();
    rl_on_new_line();
    rl_redisplay();
}

static void run_pending_line(void)
{
    struct console_context *context = state.context;
    char *line = state.pending_line;
    state.pending_line = NULL;
    history_remember(line);
    size_t count = server_count();
    bool *was_connected = calloc(count > 0 ? count : 1, sizeof(*was_connected));
    for (size_t i = 0; was_connected != NULL && i < count; i++)
        was_connected[i] = admin_client_check_alive(server_client(i));
    interrupted = 0;
    console_execute_line(context, line);
    free(line);
    fflush(context->out);
    for (size_t i = 0; was_connected != NULL && i < count; i++)
        if (!was_connected[i] && admin_client_connected(server_client(i)))
            fprintf(context->err, "(logged in again to %s)\n",
                    admin_client_address(server_client(i)));
    free(was_connected);
    fflush(context->err);
    if (context->quit)
        state.finished = true;
    else
        install_handler();
}

static void on_signal(int signal_number)
{
    if (signal_number == SIGINT)
        interrupted = 1;
    else
        resized = 1;
}

/* Waits for a key or for a server to close its session, whichever comes first. */
static void wait_for_input(void)
{
    struct pollfd entries[1 + SERVERS_MAX_POLLED] = {{.fd = STDIN_FILENO, .events = POLLIN}};
    size_t servers[1 + SERVERS_MAX_POLLED];
    nfds_t count = 1;
    for (size_t i = 0; i < server_count() && count < 1 + SERVERS_MAX_POLLED; i++) {
        int server = admin_client_fd(server_client(i));
        if (server < 0)
            continue;
        servers[count] = i;
        entries[count++] = (struct pollfd){.fd = server, .events = POLLIN};
    }
    if (poll(entries, count, -1) < 0) {
        if (errno != EINTR) {
            state.finished = true;
            return;
        }
        if (interrupted)
            cancel_line();
        if (resized) {
            resized = 0;
            rl_resize_terminal();
        }
        return;
    }
    for (nfds_t i = 1; i < count; i++)
        if (entries[i].revents != 0)
            notice_server_gone(servers[i]);
    if (entries[0].revents != 0)
        rl_callback_read_char();
}

int prompt_run(struct console_context *context)
{
    state.context = context;
    state.finished = false;
    rl_readline_name = "socks5ctl";
    rl_attempted_completion_function = complete;
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    if (!isatty(STDOUT_FILENO) && isatty(STDERR_FILENO))
        rl_outstream = stderr; /* the prompt stays on the terminal when output is redirected */
    history_open();

    struct sigaction handler = {.sa_handler = on_signal}, old_int, old_winch;
    sigemptyset(&handler.sa_mask);
    sigaction(SIGINT, &handler, &old_int);
    sigaction(SIGWINCH, &handler, &old_winch);
    if (context->fleet != NULL)
        fleet_set_interrupt(context->fleet, &interrupted);
    else if (context->client != NULL)
        admin_client_set_interrupt(context->client, &interrupted);

    install_handler();
    while (!state.finished) {
        wait_for_input();
        if (state.pending_line != NULL)
            run_pending_line();
    }
    rl_callback_handler_remove();

    if (context->fleet != NULL)
        fleet_set_interrupt(context->fleet, NULL);
    else if (context->client != NULL)
        admin_client_set_interrupt(context->client, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGWINCH, &old_winch, NULL);
    history_close();
    candidates_clear();
    return CONSOLE_EXIT_OK;
}
