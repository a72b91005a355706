/* dashboard: socks5ctl's live full-screen view (ncurses) of the server, its users and their
 * connections, over the console's one session; `-d` and the `dashboard` command start it. */
#include "dashboard.h"

#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "admin_client.h"
#include "admin_commands.h"
#include "console.h"
#include "dashboard_model.h"
#include "dashboard_view.h"

#define DEFAULT_INTERVAL 1.0
#define MIN_INTERVAL 0.1
#define MAX_INTERVAL 3600.0
#define INPUT_MAX 255
#define HEADER_TOP 0
#define COLUMNS_ROW VIEW_HEADER_LINES
#define LIST_TOP (VIEW_HEADER_LINES + 1)
#define BOTTOM_ROWS 2 /* message line, status line */
#define MIN_SCREEN_LINES (LIST_TOP + BOTTOM_ROWS + 1)
#define MIN_SCREEN_COLUMNS 20
/* Connections asked per expanded user at least, whatever the screen. */
#define MIN_TREE_ROWS 3

enum color_pair {
    PAIR_LABEL = 1,
    PAIR_COLUMNS,
    PAIR_LIVE,
    PAIR_FAILED,
    PAIR_ALERT,
    PAIR_HINTS,
    PAIR_POPUP,
};

enum input_mode {
    MODE_LIST,
    MODE_FILTER,
    MODE_COMMAND,
    MODE_CONFIRM_CLOSE, /* y/n for closing the selected connection */
    MODE_POPUP,
};

/* Where the cursor is, by identity, so that it stays on the same user or connection when
 * rows move between refreshes. */
struct selection {
    char user[DASHBOARD_USER_NAME_SIZE];
    bool on_connection;
    uint64_t id;
};

struct popup {
    char title[128];
    char **lines; /* printable text, tabs expanded */
    size_t count;
    size_t top;
    int left;
};

struct dashboard {
    struct console_context *context;
    struct admin_client *client;
    struct dashboard_model model;
    double interval;
    double next_refresh;

    /* Session */
    bool admin_view;       /* metrics answered: the whole server; else the user's own part */
    bool need_server_info; /* at start and after every reconnect */
    bool connected;
    bool login_refused;    /* stop retrying by ourselves: a wrong password stays wrong */
    uint8_t refused_status; /* the status of the last CALL_REFUSED */
    char session_error[256];
    char updated[16];      /* wall-clock time of the last complete refresh */

    /* List */
    enum dashboard_sort sort;
    char filter[INPUT_MAX + 1];
    size_t *order;
    size_t order_capacity;
    struct view_line *lines;
    size_t line_count;
    size_t line_capacity;
    size_t selected;
    size_t top;
    struct selection selection;

    /* Bottom and popups */
    enum input_mode mode;
    uint64_t close_id; /* MODE_CONFIRM_CLOSE: the connection to close on 'y' */
    char input[INPUT_MAX + 1];
    size_t input_length;
    char message[512];
    bool message_is_error;
    struct popup popup;

    /* Terminal */
    bool utf8;
    bool color;
    bool quit;
    bool loading; /* nothing fetched yet: the message line says so */
};

static volatile sig_atomic_t quit_signal;
static volatile sig_atomic_t resize_signal;

static void on_quit_signal(int signal_number)
{
    (void)signal_number;
    quit_signal = 1;
}

static void on_resize_signal(int signal_number)
{
    (void)signal_number;
    resize_signal = 1;
}

static double monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void set_message(struct dashboard *dashboard, bool error, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void set_message(struct dashboard *dashboard, bool error, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(dashboard->message, sizeof(dashboard->message), format, args);
    va_end(args);
    dashboard->message_is_error = error;
}

static const char *dash(const struct dashboard *dashboard)
{
    return dashboard->utf8 ? "\xE2\x80\x94" : "-";
}

/* ---- Talking to the server ---- */

enum call_result {
    CALL_OK,      /* status 0x00 */
    CALL_REFUSED, /* another status; the reply's body says why */
    CALL_LOST,    /* no answer: the session is down (it reconnects on the next call) */
};

static void strip_newline(char *text)
{
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
        text[--length] = '\0';
}

static enum call_result call(struct dashboard *dashboard, const struct admin_request *request,
                             struct admin_reply *reply)
{
    char error[256] = "";
    *reply = (struct admin_reply){ 0 };
    enum admin_client_result result =
        admin_client_call(dashboard->client, request, reply, error, sizeof(error));
    if (result != ADMIN_CLIENT_OK) {
        admin_reply_free(reply);
        strip_newline(error);
        dashboard->connected = false;
        dashboard->login_refused = result == ADMIN_CLIENT_LOGIN_REFUSED;
        snprintf(dashboard->session_error, sizeof(dashboard->session_error), "%s",
                 error[0] ? error : "the session broke");
        return CALL_LOST;
    }
    if (!dashboard->connected) {
        /* Back after a break: maybe another server process, with other counters. */
        dashboard->connected = true;
        dashboard->need_server_info = true;
        dashboard->session_error[0] = '\0';
        dashboard_model_reset_rates(&dashboard->model);
        /* The role may have changed while away; the next refresh shows the matching view. */
        dashboard->admin_view = admin_client_role(dashboard->client) == ADMIN_ROLE_ADMIN;
    }
    dashboard->refused_status = reply->status;
    return reply->status == ADMIN_STATUS_OK ? CALL_OK : CALL_REFUSED;
}

/* The one-line message of a refused reply, printable. */
static void refused_message(struct dashboard *dashboard, const char *what,
                            const struct admin_reply *reply)
{
    char text[256] = "";
    if (reply->body != NULL)
        text_fit(reply->body, (int)strcspn(reply->body, "\n"), false, dashboard->utf8, text,
                 sizeof(text));
    set_message(dashboard, true, "%s: %s", what,
                text[0] ? text : admin_status_name(reply->status));
}

static enum call_result call_plain(struct dashboard *dashboard, uint8_t command,
                                   struct admin_reply *reply)
{
    struct admin_request request;
    admin_request_init(&request, command);
    return call(dashboard, &request, reply);
}

static enum call_result call_user_metrics(struct dashboard *dashboard, const char *user,
                                          struct admin_reply *reply)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_USER_METRICS);
    admin_str8_set(&request.args.user_metrics.user, user);
    return call(dashboard, &request, reply);
}

/* Lines of the users list between the column names and the message line. */
static size_t list_height(void)
{
    return (size_t)(LINES > LIST_TOP + BOTTOM_ROWS ? LINES - LIST_TOP - BOTTOM_ROWS : 0);
}

/* Rows of the user's tree that fit the list pane (a 9,000-tunnel user is never pulled whole). */
static size_t tree_rows_wanted(void)
{
    size_t rows = list_height();
    rows = rows > 2 ? rows - 2 : 0; /* the tree's column line and its note */
    return rows < MIN_TREE_ROWS ? MIN_TREE_ROWS : rows;
}

/* The newest `limit` connections of one kind. offset_guess comes from the last total; when
 * more arrived since, asks once more for the end of the list. */
static enum call_result fetch_newest(struct dashboard *dashboard, const char *user, uint8_t which,
                                     uint64_t total_guess, size_t limit,
                                     struct dashboard_connection *rows, size_t *count,
                                     uint64_t *total)
{
    uint64_t offset = total_guess > limit ? total_guess - limit : 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct admin_request request;
        admin_request_init(&request, ADMIN_CMD_CONNECTIONS);
        admin_str8_set(&request.args.connections.user, user);
        request.args.connections.which = which;
        request.args.connections.offset = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
        request.args.connections.limit = (uint32_t)limit;
        struct admin_reply reply;
        enum call_result result = call(dashboard, &request, &reply);
        if (result != CALL_OK) {
            if (result == CALL_REFUSED)
                refused_message(dashboard, "connections", &reply);
            admin_reply_free(&reply);
            return result;
        }
        bool parsed = connections_parse(reply.body, reply.body_length, rows, limit,
                                                  count, total);
        admin_reply_free(&reply);
        if (!parsed) {
            *count = 0;
            *total = 0;
            return CALL_REFUSED;
        }
        uint64_t newest = *total > limit ? *total - limit : 0;
        if (newest == offset || (offset + *count >= *total && *count == limit))
            return CALL_OK;
        offset = newest;
    }
    return CALL_OK;
}

static enum call_result fetch_tree(struct dashboard *dashboard, struct dashboard_user *user)
{
    size_t limit = tree_rows_wanted();
    struct dashboard_connection *live = calloc(limit, sizeof(*live));
    struct dashboard_connection *recent = calloc(limit, sizeof(*recent));
    if (live == NULL || recent == NULL) {
        free(live);
        free(recent);
        return CALL_REFUSED;
    }
    /* A regular user asks for their own with an empty name (PROTOCOL.md 7.1). */
    const char *name = dashboard->admin_view ? user->usage.name : "";
    size_t live_count = 0, recent_count = 0;
    uint64_t live_total = 0, recent_total = 0;
    enum call_result result = fetch_newest(dashboard, name, ADMIN_CONNECTIONS_LIVE,
                                           user->usage.connections_live, limit, live, &live_count,
                                           &live_total);
    if (result == CALL_OK) {
        size_t room = limit > live_count ? limit - live_count : 0;
        if (room < MIN_TREE_ROWS)
            room = MIN_TREE_ROWS;
        result = fetch_newest(dashboard, name, ADMIN_CONNECTIONS_RECENT, user->recent_total, room,
                              recent, &recent_count, &recent_total);
    }
    if (result == CALL_OK)
        dashboard_user_set_connections(user, live, live_count, live_total, recent, recent_count,
                                       recent_total);
    free(live);
    free(recent);
    return result;
}

static enum call_result fetch_server_wide(struct dashboard *dashboard, double now)
{
    struct admin_reply reply;
    enum call_result result;
    if (dashboard->need_server_info) {
        result = call_plain(dashboard, ADMIN_CMD_SERVER_INFO, &reply);
        if (result == CALL_OK) {
            dashboard_parse_server_info(reply.body, reply.body_length, &dashboard->model.info);
            dashboard->need_server_info = false;
        } else if (result == CALL_REFUSED) {
            refused_message(dashboard, "server-info", &reply);
        }
        admin_reply_free(&reply);
        if (result != CALL_OK)
            return result;
    }
    result = call_plain(dashboard, ADMIN_CMD_METRICS, &reply);
    if (result == CALL_OK) {
        struct dashboard_metrics metrics;
        if (dashboard_parse_metrics(reply.body, reply.body_length, &metrics))
            dashboard_model_set_metrics(&dashboard->model, &metrics, now);
    } else if (result == CALL_REFUSED) {
        refused_message(dashboard, "metrics", &reply);
    }
    admin_reply_free(&reply);
    if (result != CALL_OK)
        return result;

    result = call_plain(dashboard, ADMIN_CMD_USERS, &reply);
    if (result != CALL_OK) {
        if (result == CALL_REFUSED)
            refused_message(dashboard, "users", &reply);
        admin_reply_free(&reply);
        return result;
    }
    dashboard_model_begin_users(&dashboard->model);
    dashboard_model_put_users_table(&dashboard->model, reply.body, reply.body_length, now);
    admin_reply_free(&reply);
    /* users leaves out the reserved anonymous user; show it once it has been used. */
    if (call_user_metrics(dashboard, ADMIN_ANONYMOUS_USER, &reply) == CALL_OK) {
        struct dashboard_usage usage;
        if (dashboard_parse_usage(reply.body, reply.body_length, &usage) &&
            (usage.connections_total > 0 || usage.connections_live > 0))
            dashboard_model_put_user(&dashboard->model, &usage, now);
    }
    admin_reply_free(&reply);
    dashboard_model_end_users(&dashboard->model);
    return dashboard->connected ? CALL_OK : CALL_LOST;
}

static enum call_result fetch_own(struct dashboard *dashboard, double now)
{
    struct admin_reply reply;
    enum call_result result = call_user_metrics(dashboard, "", &reply);
    struct dashboard_usage usage;
    if (result == CALL_OK && dashboard_parse_usage(reply.body, reply.body_length, &usage)) {
        bool first = dashboard->model.user_count == 0;
        dashboard_model_begin_users(&dashboard->model);
        dashboard_model_put_user(&dashboard->model, &usage, now);
        dashboard_model_end_users(&dashboard->model);
        dashboard_model_set_own_totals(&dashboard->model, &usage, now);
        if (first)
            dashboard->model.users[0].expanded = true; /* the only user: show the tree at once */
    } else if (result == CALL_REFUSED) {
        refused_message(dashboard, "user-metrics", &reply);
    }
    admin_reply_free(&reply);
    return result;
}

static void rebuild(struct dashboard *dashboard);

/* Trees are fetched only for expanded users with a line on screen. */
static void fetch_visible_trees(struct dashboard *dashboard)
{
    size_t end = dashboard->top + list_height();
    if (end > dashboard->line_count)
        end = dashboard->line_count;
    size_t fetched = (size_t)-1;
    for (size_t i = dashboard->top; i < end; i++) {
        size_t user = dashboard->lines[i].user;
        if (user == fetched || !dashboard->model.users[user].expanded)
            continue;
        fetched = user; /* a user's lines are consecutive */
        if (fetch_tree(dashboard, &dashboard->model.users[user]) == CALL_LOST)
            return;
    }
}

static void refresh_data(struct dashboard *dashboard)
{
    if (dashboard->login_refused)
        return;
    if (dashboard->loading)
        dashboard->message[0] = '\0'; /* drawn again only after the fetch, with what it says */
    double now = monotonic_seconds();
    if (!admin_client_connected(dashboard->client))
        dashboard->need_server_info = true;
    enum call_result result;
    if (dashboard->admin_view) {
        result = fetch_server_wide(dashboard, now);
        if (result == CALL_REFUSED && dashboard->refused_status == ADMIN_STATUS_FORBIDDEN) {
            /* Not (or no longer) an admin: show what a user may see. */
            dashboard->admin_view = false;
            dashboard_model_free(&dashboard->model);
            dashboard_model_init(&dashboard->model);
            dashboard->message[0] = '\0';
            result = fetch_own(dashboard, now);
        }
    } else {
        result = fetch_own(dashboard, now);
    }
    if (result == CALL_LOST)
        return;
    dashboard->loading = false;
    rebuild(dashboard);
    fetch_visible_trees(dashboard);
    rebuild(dashboard);
    time_t wall = time(NULL);
    struct tm local;
    if (localtime_r(&wall, &local) != NULL)
        strftime(dashboard->updated, sizeof(dashboard->updated), "%H:%M:%S", &local);
}

/* ---- The list ---- */

static bool ensure_capacity(void **array, size_t *capacity, size_t wanted, size_t item)
{
    if (wanted <= *capacity)
        return true;
    size_t grown = *capacity ? *capacity : 64;
    while (grown < wanted)
        grown *= 2;
    void *bigger = realloc(*array, grown * item);
    if (bigger == NULL)
        return false;
    *array = bigger;
    *capacity = grown;
    return true;
}

static void remember_selection(struct dashboard *dashboard)
{
    struct selection *selection = &dashboard->selection;
    if (dashboard->line_count == 0)
        return;
    const struct view_line *line = &dashboard->lines[dashboard->selected];
    const struct dashboard_user *user = &dashboard->model.users[line->user];
    snprintf(selection->user, sizeof(selection->user), "%s", user->usage.name);
    selection->on_connection = line->kind == VIEW_LINE_CONNECTION;
    selection->id = selection->on_connection ? user->connections[line->connection].id : 0;
}

/* Orders, filters and lays out the users again, keeping the cursor on what it was on. */
static void rebuild(struct dashboard *dashboard)
{
    struct dashboard_model *model = &dashboard->model;
    if (!ensure_capacity((void **)&dashboard->order, &dashboard->order_capacity,
                         model->user_count + 1, sizeof(*dashboard->order))) {
        dashboard->line_count = 0; /* the old lines may point at users that are gone */
        return;
    }
    size_t order_count = dashboard_model_order(model, dashboard->sort, dashboard->filter,
                                               dashboard->order);
    size_t count = view_build_lines(model, dashboard->order, order_count, dashboard->lines,
                                    dashboard->line_capacity);
    if (count > dashboard->line_capacity) {
        if (!ensure_capacity((void **)&dashboard->lines, &dashboard->line_capacity, count,
                             sizeof(*dashboard->lines))) {
            count = dashboard->line_capacity;
        }
        view_build_lines(model, dashboard->order, order_count, dashboard->lines,
                         dashboard->line_capacity);
    }
    dashboard->line_count = count;
    struct selection *selection = &dashboard->selection;
    dashboard->selected = view_locate(model, dashboard->lines, count, selection->user,
                                      selection->on_connection, selection->id,
                                      dashboard->selected);
    dashboard->top = view_scroll_top(dashboard->selected, dashboard->top, list_height(), count);
    remember_selection(dashboard);
}

static void move_cursor(struct dashboard *dashboard, long delta)
{
    if (dashboard->line_count == 0)
        return;
    long target = (long)dashboard->selected + delta;
    if (target < 0)
        target = 0;
    if (target >= (long)dashboard->line_count)
        target = (long)dashboard->line_count - 1;
    dashboard->selected =
        view_next_selectable(dashboard->lines, dashboard->line_count, (size_t)target,
                             delta < 0 ? -1 : +1);
    dashboard->top = view_scroll_top(dashboard->selected, dashboard->top, list_height(),
                                     dashboard->line_count);
    remember_selection(dashboard);
}

static struct dashboard_user *selected_user(struct dashboard *dashboard)
{
    if (dashboard->line_count == 0)
        return NULL;
    return &dashboard->model.users[dashboard->lines[dashboard->selected].user];
}

static void set_expanded(struct dashboard *dashboard, struct dashboard_user *user, bool expanded)
{
    if (user->expanded == expanded)
        return;
    user->expanded = expanded;
    if (!expanded) {
        dashboard_user_clear_connections(user);
    } else if (!dashboard->login_refused) {
        fetch_tree(dashboard, user); /* show the tree now rather than at the next refresh */
    }
    /* The cursor stays on the user. */
    dashboard->selection.on_connection = false;
    rebuild(dashboard);
}

/* ---- Popups ---- */

static void popup_close(struct dashboard *dashboard)
{
    for (size_t i = 0; i < dashboard->popup.count; i++)
        free(dashboard->popup.lines[i]);
    free(dashboard->popup.lines);
    dashboard->popup = (struct popup){ 0 };
    if (dashboard->mode == MODE_POPUP)
        dashboard->mode = MODE_LIST;
}

/* One line of command output made printable: tabs to spaces, other control bytes to '?'. */
static char *printable_line(const char *text, size_t length)
{
    size_t tabs = 0;
    for (size_t i = 0; i < length; i++)
        tabs += text[i] == '\t';
    char *line = malloc(length + tabs * 8 + 1);
    if (line == NULL)
        return NULL;
    size_t used = 0, column = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\t') {
            do {
                line[used++] = ' ';
                column++;
            } while (column % 8 != 0);
            continue;
        }
        line[used++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
        if ((c & 0xC0) != 0x80)
            column++;
    }
    line[used] = '\0';
    return line;
}

static void popup_open(struct dashboard *dashboard, const char *title, const char *text,
                       size_t length)
{
    popup_close(dashboard);
    struct popup *popup = &dashboard->popup;
    snprintf(popup->title, sizeof(popup->title), "%s", title);
    size_t capacity = 0;
    const char *end = text + length;
    while (text < end) {
        const char *newline = memchr(text, '\n', (size_t)(end - text));
        const char *stop = newline ? newline : end;
        if (!ensure_capacity((void **)&popup->lines, &capacity, popup->count + 1,
                             sizeof(*popup->lines)))
            break;
        char *line = printable_line(text, (size_t)(stop - text));
        if (line == NULL)
            break;
        popup->lines[popup->count++] = line;
        text = newline ? newline + 1 : end;
    }
    dashboard->mode = MODE_POPUP;
}

static void show_help(struct dashboard *dashboard)
{
    char text[4096] = "";
    size_t used = 0;
    for (const char *const *line = view_help_lines(); *line != NULL; line++) {
        int written = snprintf(text + used, sizeof(text) - used, "%s\n", *line);
        if (written < 0 || (size_t)written >= sizeof(text) - used)
            break;
        used += (size_t)written;
    }
    popup_open(dashboard, "help", text, used);
}

static void show_details(struct dashboard *dashboard)
{
    const struct view_line *line = &dashboard->lines[dashboard->selected];
    const struct dashboard_user *user = &dashboard->model.users[line->user];
    char lines[12][VIEW_DETAIL_SIZE];
    size_t count = view_connection_details(user, &user->connections[line->connection], lines, 12);
    char *text = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&text, &length);
    if (stream == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        fprintf(stream, "%s\n", lines[i]);
    fclose(stream);
    popup_open(dashboard, "connection", text, length);
    free(text);
}

/* ---- Commands (':') ---- */

static bool first_word_is(const char *line, const char *word)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t length = strlen(word);
    return strncmp(line, word, length) == 0 &&
           (line[length] == '\0' || line[length] == ' ' || line[length] == '\t');
}

static void run_command(struct dashboard *dashboard, const char *line)
{
    if (first_word_is(line, "quit") || first_word_is(line, "exit")) {
        dashboard->quit = true;
        return;
    }
    if (first_word_is(line, "dashboard")) {
        set_message(dashboard, false, "already in the dashboard");
        return;
    }
    char *output = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&output, &length);
    if (stream == NULL) {
        set_message(dashboard, true, "cannot run a command: out of memory");
        return;
    }
    struct console_context *context = dashboard->context;
    struct console_context saved = *context;
    context->out = stream;
    context->err = stream;
    context->may_prompt = false; /* curses owns the terminal: no password prompts */
    context->quit = false;
    int code = console_execute_line(context, line);
    bool quit = context->quit;
    context->out = saved.out;
    context->err = saved.err;
    context->may_prompt = saved.may_prompt;
    context->quit = saved.quit;
    fclose(stream);
    if (quit) {
        dashboard->quit = true;
        free(output);
        return;
    }

    while (length > 0 && output[length - 1] == '\n')
        output[--length] = '\0';
    if (length == 0) {
        set_message(dashboard, code != CONSOLE_EXIT_OK, ":%s %s %s", line, dash(dashboard),
                    code == CONSOLE_EXIT_OK ? "done" : "failed");
    } else if (memchr(output, '\n', length) == NULL && length < (size_t)COLS - 4) {
        char *printable = printable_line(output, length);
        set_message(dashboard, code != CONSOLE_EXIT_OK, "%s", printable ? printable : "");
        free(printable);
    } else {
        char title[128];
        snprintf(title, sizeof(title), ":%.100s%s", line, code == CONSOLE_EXIT_OK ? "" : " (failed)");
        popup_open(dashboard, title, output, length);
    }
    free(output);
    dashboard->next_refresh = 0; /* the command may have changed what is shown */
}

static void close_connection(struct dashboard *dashboard, uint64_t id)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_CLOSE_CONNECTION);
    request.args.close_connection.id = id;
    struct admin_reply reply;
    enum call_result result = call(dashboard, &request, &reply);
    if (result == CALL_OK) {
        set_message(dashboard, false, "connection %llu closed", (unsigned long long)id);
    } else if (result == CALL_REFUSED) {
        char what[48];
        snprintf(what, sizeof(what), "close connection %llu", (unsigned long long)id);
        refused_message(dashboard, what, &reply);
    }
    admin_reply_free(&reply);
    dashboard->next_refresh = 0;
}

/* ---- Keys ---- */

static void input_reset(struct dashboard *dashboard, enum input_mode mode)
{
    dashboard->mode = mode;
    dashboard->input[0] = '\0';
    dashboard->input_length = 0;
}

static void input_backspace(struct dashboard *dashboard)
{
    /* Removes one UTF-8 character. */
    while (dashboard->input_length > 0) {
        unsigned char c = (unsigned char)dashboard->input[--dashboard->input_length];
        if ((c & 0xC0) != 0x80)
            break;
    }
    dashboard->input[dashboard->input_length] = '\0';
}

static void filter_changed(struct dashboard *dashboard)
{
    snprintf(dashboard->filter, sizeof(dashboard->filter), "%s", dashboard->input);
    rebuild(dashboard);
}

/* Keys while typing after '/' or ':'. */
static void on_input_key(struct dashboard *dashboard, int key)
{
    bool filter = dashboard->mode == MODE_FILTER;
    switch (key) {
    case 27: /* Esc */
        dashboard->mode = MODE_LIST;
        if (filter) {
            dashboard->filter[0] = '\0';
            rebuild(dashboard);
        }
        return;
    case '\n':
    case '\r':
    case KEY_ENTER:
        dashboard->mode = MODE_LIST;
        if (!filter && dashboard->input_length > 0) {
            char line[INPUT_MAX + 1];
            snprintf(line, sizeof(line), "%s", dashboard->input);
            run_command(dashboard, line);
        }
        return;
    case KEY_BACKSPACE:
    case 127:
    case 8:
        if (dashboard->input_length == 0 && !filter) {
            dashboard->mode = MODE_LIST;
            return;
        }
        input_backspace(dashboard);
        break;
    case 21: /* Ctrl-U */
        dashboard->input_length = 0;
        dashboard->input[0] = '\0';
        break;
    default:
        if (key < 0x20 || key > 0xFF || key == 0x7F || dashboard->input_length >= INPUT_MAX)
            return;
        dashboard->input[dashboard->input_length++] = (char)key;
        dashboard->input[dashboard->input_length] = '\0';
        break;
    }
    if (filter)
        filter_changed(dashboard);
}

static void on_popup_key(struct dashboard *dashboard, int key)
{
    struct popup *popup = &dashboard->popup;
    size_t page = (size_t)(LINES > 6 ? LINES - 6 : 1);
    switch (key) {
    case KEY_UP:
    case 'k':
        if (popup->top > 0)
            popup->top--;
        return;
    case KEY_DOWN:
    case 'j':
        if (popup->top + 1 < popup->count)
            popup->top++;
        return;
    case KEY_PPAGE:
        popup->top = popup->top > page ? popup->top - page : 0;
        return;
    case KEY_NPAGE:
    case ' ':
        if (popup->top + page < popup->count)
            popup->top += page;
        return;
    case KEY_LEFT:
    case 'h':
        popup->left = popup->left > 8 ? popup->left - 8 : 0;
        return;
    case KEY_RIGHT:
    case 'l':
        popup->left += 8;
        return;
    default:
        popup_close(dashboard);
        return;
    }
}

static void change_interval(struct dashboard *dashboard, bool faster)
{
    static const double steps[] = { 0.25, 0.5, 1, 2, 5, 10, 30, 60 };
    size_t count = sizeof(steps) / sizeof(steps[0]);
    double interval = dashboard->interval;
    if (faster) {
        for (size_t i = count; i-- > 0;)
            if (steps[i] < interval - 1e-9) {
                interval = steps[i];
                break;
            }
    } else {
        for (size_t i = 0; i < count; i++)
            if (steps[i] > interval + 1e-9) {
                interval = steps[i];
                break;
            }
    }
    dashboard->interval = interval;
    dashboard->next_refresh = monotonic_seconds() + interval;
    set_message(dashboard, false, "refreshing every %gs", interval);
}

static void on_enter(struct dashboard *dashboard)
{
    if (dashboard->line_count == 0)
        return;
    const struct view_line *line = &dashboard->lines[dashboard->selected];
    if (line->kind == VIEW_LINE_CONNECTION) {
        show_details(dashboard);
        return;
    }
    struct dashboard_user *user = selected_user(dashboard);
    set_expanded(dashboard, user, !user->expanded);
}

static void on_left(struct dashboard *dashboard)
{
    if (dashboard->line_count == 0)
        return;
    if (dashboard->lines[dashboard->selected].kind == VIEW_LINE_CONNECTION) {
        dashboard->selection.on_connection = false;
        rebuild(dashboard);
        return;
    }
    set_expanded(dashboard, selected_user(dashboard), false);
}

static void on_close_key(struct dashboard *dashboard)
{
    if (dashboard->line_count == 0 ||
        dashboard->lines[dashboard->selected].kind != VIEW_LINE_CONNECTION)
        return;
    const struct view_line *line = &dashboard->lines[dashboard->selected];
    const struct dashboard_connection *connection =
        &dashboard->model.users[line->user].connections[line->connection];
    if (!connection->live) {
        set_message(dashboard, false, "connection %llu is already closed",
                    (unsigned long long)connection->id);
        return;
    }
    if (!dashboard->admin_view) {
        set_message(dashboard, true, "closing connections needs the admin role");
        return;
    }
    dashboard->close_id = connection->id;
    dashboard->mode = MODE_CONFIRM_CLOSE;
}

static void on_list_key(struct dashboard *dashboard, int key)
{
    long page = (long)list_height() > 1 ? (long)list_height() - 1 : 1;
    dashboard->message[0] = '\0'; /* a message lasts until the next key */
    switch (key) {
    case 'q':
    case 'Q':
        dashboard->quit = true;
        return;
    case KEY_UP:
    case 'k':
        move_cursor(dashboard, -1);
        return;
    case KEY_DOWN:
    case 'j':
        move_cursor(dashboard, +1);
        return;
    case KEY_PPAGE:
        move_cursor(dashboard, -page);
        return;
    case KEY_NPAGE:
        move_cursor(dashboard, +page);
        return;
    case KEY_HOME:
    case 'g':
        move_cursor(dashboard, -(long)dashboard->line_count);
        return;
    case KEY_END:
    case 'G':
        move_cursor(dashboard, (long)dashboard->line_count);
        return;
    case '\n':
    case '\r':
    case KEY_ENTER:
    case ' ':
        on_enter(dashboard);
        return;
    case KEY_RIGHT:
    case 'l':
        if (selected_user(dashboard) != NULL)
            set_expanded(dashboard, selected_user(dashboard), true);
        return;
    case KEY_LEFT:
    case 'h':
        on_left(dashboard);
        return;
    case 's':
        dashboard->sort = (dashboard->sort + 1) % DASHBOARD_SORT_COUNT;
        rebuild(dashboard);
        set_message(dashboard, false, "sorted by %s", dashboard_sort_name(dashboard->sort));
        return;
    case '/':
        input_reset(dashboard, MODE_FILTER);
        snprintf(dashboard->input, sizeof(dashboard->input), "%s", dashboard->filter);
        dashboard->input_length = strlen(dashboard->input);
        return;
    case 27: /* Esc clears the filter */
        dashboard->filter[0] = '\0';
        dashboard->message[0] = '\0';
        rebuild(dashboard);
        return;
    case ':':
        input_reset(dashboard, MODE_COMMAND);
        return;
    case '?':
    case KEY_F(1):
        show_help(dashboard);
        return;
    case '+':
        change_interval(dashboard, true);
        return;
    case '-':
        change_interval(dashboard, false);
        return;
    case 'x':
        on_close_key(dashboard);
        return;
    case 'r':
    case 12: /* Ctrl-L */
        dashboard->login_refused = false;
        dashboard->next_refresh = 0;
        clearok(curscr, TRUE);
        return;
    default:
        return;
    }
}

static void on_key(struct dashboard *dashboard, int key)
{
    if (key == KEY_RESIZE) {
        rebuild(dashboard);
        return;
    }
    switch (dashboard->mode) {
    case MODE_LIST:
        on_list_key(dashboard, key);
        return;
    case MODE_FILTER:
    case MODE_COMMAND:
        on_input_key(dashboard, key);
        return;
    case MODE_CONFIRM_CLOSE:
        dashboard->mode = MODE_LIST;
        if (key == 'y' || key == 'Y')
            close_connection(dashboard, dashboard->close_id);
        else
            set_message(dashboard, false, "not closed");
        return;
    case MODE_POPUP:
        on_popup_key(dashboard, key);
        return;
    }
}

/* ---- Drawing ---- */

static chtype pair_attr(const struct dashboard *dashboard, enum color_pair pair, chtype fallback)
{
    return dashboard->color ? (chtype)COLOR_PAIR(pair) : fallback;
}

/* Writes text at (row, column), at most `columns` wide, never past the right edge. */
static int put_text(const struct dashboard *dashboard, int row, int column, const char *text,
                    int columns, bool pad, chtype attributes)
{
    if (column >= COLS || row >= LINES)
        return 0;
    if (columns > COLS - column)
        columns = COLS - column;
    char fitted[SCREEN_LINE_SIZE];
    int width = text_fit(text, columns, pad, dashboard->utf8, fitted, sizeof(fitted));
    attron(attributes);
    mvaddstr(row, column, fitted);
    attroff(attributes);
    return width;
}

static void draw_header(const struct dashboard *dashboard)
{
    struct view_session session = {
        .user = admin_client_user(dashboard->client),
        .admin = dashboard->admin_view,
        .endpoint = admin_client_address(dashboard->client),
        .interval = dashboard->interval,
    };
    if (session.user == NULL)
        session.user = "?";
    struct view_header_line lines[VIEW_HEADER_LINES];
    view_header(&dashboard->model, &session, lines);
    chtype label = pair_attr(dashboard, PAIR_LABEL, A_BOLD) | A_BOLD;
    for (int row = 0; row < VIEW_HEADER_LINES; row++) {
        int column = 0;
        for (size_t i = 0; i < lines[row].count && column < COLS; i++) {
            const struct view_field *field = &lines[row].fields[i];
            if (i > 0)
                column += put_text(dashboard, HEADER_TOP + row, column, "  ", COLS, false, A_NORMAL);
            column += put_text(dashboard, HEADER_TOP + row, column, field->label, COLS, false, label);
            if (field->label[0] && field->value[0])
                column += put_text(dashboard, HEADER_TOP + row, column, " ", COLS, false, A_NORMAL);
            column += put_text(dashboard, HEADER_TOP + row, column, field->value, COLS, false,
                               A_NORMAL);
        }
    }
}

static chtype line_attributes(const struct dashboard *dashboard, const struct view_line *line)
{
    const struct dashboard_user *user = &dashboard->model.users[line->user];
    switch (line->kind) {
    case VIEW_LINE_USER:
        return user->usage.connections_live > 0 ? A_BOLD : A_NORMAL;
    case VIEW_LINE_COLUMNS:
    case VIEW_LINE_NOTE:
        return A_DIM;
    case VIEW_LINE_CONNECTION: {
        const struct dashboard_connection *connection = &user->connections[line->connection];
        if (connection->live)
            return pair_attr(dashboard, PAIR_LIVE, A_BOLD);
        if (connection->has_status && connection->status != 0)
            return pair_attr(dashboard, PAIR_FAILED, A_NORMAL);
        return A_NORMAL;
    }
    }
    return A_NORMAL;
}

static void draw_list(const struct dashboard *dashboard)
{
    struct screen_style style = { COLS < SCREEN_WIDTH_MAX ? COLS : SCREEN_WIDTH_MAX, dashboard->utf8 };
    char text[SCREEN_LINE_SIZE];
    view_users_columns(&style, text, sizeof(text));
    put_text(dashboard, COLUMNS_ROW, 0, text, COLS, true,
             pair_attr(dashboard, PAIR_COLUMNS, A_REVERSE) | A_BOLD);
    size_t height = list_height();
    for (size_t i = 0; i < height && dashboard->top + i < dashboard->line_count; i++) {
        size_t index = dashboard->top + i;
        const struct view_line *line = &dashboard->lines[index];
        view_line_text(&dashboard->model, line, &style, text, sizeof(text));
        chtype attributes = line_attributes(dashboard, line);
        if (index == dashboard->selected && dashboard->mode != MODE_FILTER)
            attributes = A_REVERSE | (attributes & A_BOLD);
        put_text(dashboard, LIST_TOP + (int)i, 0, text, COLS, true, attributes);
    }
    if (dashboard->line_count == 0)
        put_text(dashboard, LIST_TOP, 2,
                 dashboard->filter[0] ? "no user matches the filter" : "no users yet", COLS, false,
                 A_DIM);
}

static void draw_message_line(const struct dashboard *dashboard)
{
    int row = LINES - 2;
    char text[SCREEN_LINE_SIZE];
    char right[64] = "";
    if (dashboard->updated[0])
        snprintf(right, sizeof(right), " every %gs  %s ", dashboard->interval, dashboard->updated);
    int right_width = (int)strlen(right);
    int room = COLS - right_width;
    if (!dashboard->connected && dashboard->session_error[0]) {
        snprintf(text, sizeof(text), "%s %s %s: %s",
                 dashboard->login_refused ? "login refused" : "disconnected", dash(dashboard),
                 dashboard->login_refused ? "press r to retry" : "retrying",
                 dashboard->session_error);
        put_text(dashboard, row, 0, text, room, true,
                 pair_attr(dashboard, PAIR_ALERT, A_REVERSE) | A_BOLD);
    } else if (dashboard->mode == MODE_CONFIRM_CLOSE) {
        snprintf(text, sizeof(text), "close connection %llu? (y/n)",
                 (unsigned long long)dashboard->close_id);
        put_text(dashboard, row, 0, text, room, true, A_BOLD);
    } else {
        put_text(dashboard, row, 0, dashboard->message, room, true,
                 dashboard->message_is_error ? pair_attr(dashboard, PAIR_FAILED, A_BOLD) | A_BOLD
                                             : A_NORMAL);
    }
    if (room > 0)
        put_text(dashboard, row, room, right, right_width, false, A_DIM);
}

static void draw_status_line(struct dashboard *dashboard)
{
    int row = LINES - 1;
    if (dashboard->mode == MODE_FILTER || dashboard->mode == MODE_COMMAND) {
        char prompt[4] = { dashboard->mode == MODE_FILTER ? '/' : ':', '\0' };
        put_text(dashboard, row, 0, "", COLS, true, A_NORMAL);
        int column = put_text(dashboard, row, 0, prompt, COLS, false, A_BOLD);
        /* Keep the end of a long input in view. */
        const char *shown = dashboard->input;
        while (strlen(shown) > 0 && (int)strlen(shown) > COLS - column - 1)
            shown++;
        column += put_text(dashboard, row, column, shown, COLS - column - 1, false, A_NORMAL);
        curs_set(1);
        move(row, column < COLS ? column : COLS - 1);
        return;
    }
    struct screen_style style = { COLS < SCREEN_WIDTH_MAX ? COLS : SCREEN_WIDTH_MAX, dashboard->utf8 };
    char text[SCREEN_LINE_SIZE];
    view_key_hints(dashboard->sort, dashboard->filter, &style, text, sizeof(text));
    put_text(dashboard, row, 0, text, COLS, true, pair_attr(dashboard, PAIR_HINTS, A_REVERSE));
    curs_set(0);
}

static void draw_popup(const struct dashboard *dashboard)
{
    const struct popup *popup = &dashboard->popup;
    int widest = (int)strlen(popup->title) + 4;
    for (size_t i = 0; i < popup->count; i++) {
        int width = (int)strlen(popup->lines[i]);
        if (width > widest)
            widest = width;
    }
    int width = widest + 4 < COLS - 2 ? widest + 4 : COLS - 2;
    int height = (int)popup->count + 2 < LINES - 2 ? (int)popup->count + 2 : LINES - 2;
    if (width < 10 || height < 3)
        return;
    int top = (LINES - height) / 2, left = (COLS - width) / 2;
    chtype attributes = pair_attr(dashboard, PAIR_POPUP, A_NORMAL);
    for (int row = 0; row < height; row++)
        put_text(dashboard, top + row, left, "", width, true, attributes);
    attron(attributes);
    mvaddch(top, left, ACS_ULCORNER);
    mvhline(top, left + 1, ACS_HLINE, width - 2);
    mvaddch(top, left + width - 1, ACS_URCORNER);
    mvvline(top + 1, left, ACS_VLINE, height - 2);
    mvvline(top + 1, left + width - 1, ACS_VLINE, height - 2);
    mvaddch(top + height - 1, left, ACS_LLCORNER);
    mvhline(top + height - 1, left + 1, ACS_HLINE, width - 2);
    mvaddch(top + height - 1, left + width - 1, ACS_LRCORNER);
    attroff(attributes);
    char title[160];
    snprintf(title, sizeof(title), " %s ", popup->title);
    put_text(dashboard, top, left + 2, title, width - 4, false, attributes | A_BOLD);
    for (int row = 0; row < height - 2 && popup->top + (size_t)row < popup->count; row++) {
        const char *line = popup->lines[popup->top + (size_t)row];
        size_t length = strlen(line);
        const char *shown = (size_t)popup->left < length ? line + popup->left : "";
        put_text(dashboard, top + 1 + row, left + 2, shown, width - 4, false, attributes);
    }
    if ((size_t)(height - 2) < popup->count) {
        char more[48];
        snprintf(more, sizeof(more), " %zu-%zu of %zu ", popup->top + 1,
                 popup->top + (size_t)(height - 2) < popup->count ? popup->top + (size_t)(height - 2)
                                                                  : popup->count,
                 popup->count);
        put_text(dashboard, top + height - 1, left + width - 2 - (int)strlen(more), more,
                 (int)strlen(more), false, attributes);
    }
}

static void draw(struct dashboard *dashboard)
{
    erase();
    if (LINES < MIN_SCREEN_LINES || COLS < MIN_SCREEN_COLUMNS) {
        put_text(dashboard, 0, 0, "terminal too small; q quits", COLS, false, A_BOLD);
        refresh();
        return;
    }
    draw_header(dashboard);
    draw_list(dashboard);
    draw_message_line(dashboard);
    if (dashboard->mode == MODE_POPUP)
        draw_popup(dashboard);
    draw_status_line(dashboard);
    refresh();
}

/* ---- Terminal setup ---- */

static void init_colors(struct dashboard *dashboard)
{
    const char *no_color = getenv("NO_COLOR");
    dashboard->color = has_colors() && (no_color == NULL || no_color[0] == '\0');
    if (!dashboard->color)
        return;
    start_color();
    use_default_colors();
    init_pair(PAIR_LABEL, COLOR_CYAN, -1);
    init_pair(PAIR_COLUMNS, COLOR_BLACK, COLOR_GREEN);
    init_pair(PAIR_LIVE, COLOR_GREEN, -1);
    init_pair(PAIR_FAILED, COLOR_RED, -1);
    init_pair(PAIR_ALERT, COLOR_WHITE, COLOR_RED);
    init_pair(PAIR_HINTS, COLOR_BLACK, COLOR_CYAN);
    init_pair(PAIR_POPUP, COLOR_WHITE, COLOR_BLUE);
}

struct saved_signals {
    struct sigaction interrupt, terminate, hangup, resize;
};

/* Installed before ncurses starts, so that it keeps its own handlers out: its SIGINT one would
 * exit the program, and it installs its SIGWINCH one once per process only, and only over the
 * default (the prompt that may have started us has its own). */
static void catch_signals(struct saved_signals *saved)
{
    struct sigaction action = { 0 };
    sigemptyset(&action.sa_mask);
    /* No SA_RESTART: poll() must wake up. */
    quit_signal = 0;
    resize_signal = 0;
    action.sa_handler = on_quit_signal;
    sigaction(SIGINT, &action, &saved->interrupt);
    sigaction(SIGTERM, &action, &saved->terminate);
    sigaction(SIGHUP, &action, &saved->hangup);
    action.sa_handler = on_resize_signal;
    sigaction(SIGWINCH, &action, &saved->resize);
}

static void restore_signals(const struct saved_signals *saved)
{
    sigaction(SIGINT, &saved->interrupt, NULL);
    sigaction(SIGTERM, &saved->terminate, NULL);
    sigaction(SIGHUP, &saved->hangup, NULL);
    sigaction(SIGWINCH, &saved->resize, NULL);
}


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

/* Takes the terminal's new size (our SIGWINCH handler stands in for ncurses' own). */
static void follow_terminal_size(void)
{
    struct winsize size;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0)
        resizeterm(size.ws_row, size.ws_col);
}

/* Waits for a key or the next refresh, whichever comes first; keys are read as they come. */
static void run_loop(struct dashboard *dashboard)
{
    draw(dashboard);
    while (!dashboard->quit && !quit_signal) {
        double now = monotonic_seconds();
        if (now >= dashboard->next_refresh) {
            refresh_data(dashboard);
            now = monotonic_seconds();
            dashboard->next_refresh = now + dashboard->interval;
            draw(dashboard);
        }
        double wait = dashboard->next_refresh - now;
        int timeout = wait <= 0 ? 0 : (int)ceil(wait * 1000.0);
        struct pollfd keyboard = { .fd = STDIN_FILENO, .events = POLLIN };
        int ready = poll(&keyboard, 1, timeout);
        if (ready < 0 && errno != EINTR)
            break;
        if (ready > 0 && (keyboard.revents & (POLLHUP | POLLERR | POLLNVAL)) &&
            !(keyboard.revents & POLLIN))
            break; /* the terminal went away */
        bool changed = false;
        if (resize_signal) {
            resize_signal = 0;
            follow_terminal_size();
            rebuild(dashboard);
            changed = true;
        }
        int key;
        /* After EINTR too: the signal may have been a resize. */
        while (!dashboard->quit && (key = getch()) != ERR) {
            on_key(dashboard, key);
            changed = true;
        }
        if (changed)
            draw(dashboard);
    }
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
    char *saved_locale = strdup(setlocale(LC_CTYPE, NULL) ? setlocale(LC_CTYPE, NULL) : "C");
    setlocale(LC_CTYPE, "");
    fflush(stdout);
    struct saved_signals saved;
    catch_signals(&saved);
    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (screen == NULL) {
        restore_signals(&saved);
        const char *term = getenv("TERM");
        fprintf(context->err, "dashboard: cannot drive terminal type '%s'\n", term ? term : "");
        if (saved_locale != NULL)
            setlocale(LC_CTYPE, saved_locale);
        free(saved_locale);
        return CONSOLE_EXIT_USAGE;
    }
    set_term(screen);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);

    struct dashboard dashboard = { 0 };
    dashboard.context = context;
    dashboard.client = context->client;
    dashboard.interval = interval;
    dashboard.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    dashboard.connected = admin_client_connected(context->client);
    dashboard.admin_view = !dashboard.connected ||
                           admin_client_role(context->client) == ADMIN_ROLE_ADMIN;
    dashboard.need_server_info = true;
    dashboard_model_init(&dashboard.model);
    dashboard.loading = true;
    set_message(&dashboard, false, "loading from %s", admin_client_address(context->client));
    init_colors(&dashboard);

    run_loop(&dashboard);

    endwin();
    delscreen(screen);
    restore_signals(&saved);
    if (saved_locale != NULL)
        setlocale(LC_CTYPE, saved_locale);
    free(saved_locale);
    popup_close(&dashboard);
    dashboard_model_free(&dashboard.model);
    free(dashboard.order);
    free(dashboard.lines);
    return CONSOLE_EXIT_OK;
}
