/* dashboard_loop: the dashboard's full-screen session — owns the terminal, the servers' pollers
 * and the signals, places the panes, draws them and hands each key to the pane in focus. */
#include "dashboard_loop.h"

#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "admin_client.h"
#include "connection_tree.h"
#include "dashboard_fetch.h"
#include "dashboard_header.h"
#include "dashboard_message.h"
#include "dashboard_model.h"
#include "dashboard_servers.h"
#include "popup.h"
#include "screen.h"
#include "users_pane.h"

#define BOTTOM_ROWS 2 /* message line, status line */
#define MIN_SCREEN_LINES (HEADER_LINES + 1 + BOTTOM_ROWS + 1)
#define MIN_SCREEN_COLUMNS 20
#define DETAILS_MAX 16
#define TREES_MAX 64   /* expanded users whose trees are kept; more are fetched no more */
#define TICK_SECONDS 1 /* the screen is drawn again at least this often (times to a retry) */

struct dashboard {
    struct screen screen;
    struct dashboard_model model;
    struct dashboard_message message;
    struct dashboard_servers servers;
    struct dashboard_session session; /* the servers' sessions as their pollers last told */
    struct header_pane header;
    struct users_pane users;
    struct command_line command_line;
    struct popup popup;
    double interval;
    double next_tick;
    int header_lines;
    char updated[16]; /* wall-clock time of the last complete refresh */
    bool loading;     /* nothing fetched yet: the message line says so */
    bool quit;
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

/* ---- Refreshing ---- */

static void place_panes(struct dashboard *dashboard);

/* Tells the pollers which trees are on screen (they ask again only when that changed). */
static void want_trees(struct dashboard *dashboard)
{
    struct poller_tree trees[TREES_MAX];
    size_t rows;
    size_t count = users_pane_wanted_trees(&dashboard->users, trees, TREES_MAX, &rows);
    dashboard_servers_want_trees(&dashboard->servers, trees, count < TREES_MAX ? count : TREES_MAX,
                                 rows);
}

/* Merges what the pollers published into the screen's model; false when nothing came. */
static bool take_snapshots(struct dashboard *dashboard)
{
    struct dashboard_message message = dashboard->message;
    if (dashboard->loading)
        message_clear(&message); /* the fetch may put what it has to say in its place */
    bool fetched;
    if (!dashboard_servers_take(&dashboard->servers, &message, &fetched))
        return false;
    dashboard->message = message;
    dashboard->loading = false;
    dashboard_servers_view(&dashboard->servers, &dashboard->session);
    dashboard_servers_merge(&dashboard->servers, &dashboard->model, monotonic_seconds());
    users_pane_rebuild(&dashboard->users);
    want_trees(dashboard);
    if (fetched) {
        time_t wall = time(NULL);
        struct tm local;
        if (localtime_r(&wall, &local) != NULL)
            strftime(dashboard->updated, sizeof(dashboard->updated), "%H:%M:%S", &local);
    }
    return true;
}

/* The header grows a line for each server down: the panes move. */
static void follow_header(struct dashboard *dashboard)
{
    dashboard->servers.header.now = monotonic_seconds();
    if (header_pane_lines(&dashboard->header) != dashboard->header_lines)
        place_panes(dashboard);
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
    dashboard_servers_set_interval(&dashboard->servers, interval);
    message_set(&dashboard->message, false, "refreshing every %gs", interval);
}

/* ---- Keys ---- */

static void show_details(struct dashboard *dashboard)
{
    const struct dashboard_user *user;
    const struct dashboard_connection *connection;
    if (!users_pane_selected_connection(&dashboard->users, &user, &connection))
        return;
    char lines[DETAILS_MAX][DETAIL_LINE_SIZE];
    size_t count = connection_details(
        user, dashboard_servers_name(&dashboard->servers, connection->server), connection, lines,
        DETAILS_MAX);
    char *text = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&text, &length);
    if (stream == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        fprintf(stream, "%s\n", lines[i]);
    fclose(stream);
    popup_open(&dashboard->popup, "connection", text, length);
    free(text);
}

/* What a pane's key asks of the rest of the dashboard. */
static void carry_out(struct dashboard *dashboard, struct pane_result result)
{
    switch (result.request) {
    case PANE_IGNORED:
    case PANE_HANDLED:
        return;
    case PANE_QUIT:
        dashboard->quit = true;
        return;
    case PANE_REFRESH_NOW:
        want_trees(dashboard);
        dashboard_servers_refresh_now(&dashboard->servers, false);
        return;
    case PANE_SHOW_DETAILS:
        show_details(dashboard);
        return;
    case PANE_ASK_CLOSE:
        command_line_confirm_close(&dashboard->command_line, result.id, result.server,
                                   dashboard_servers_name(&dashboard->servers, result.server));
        return;
    case PANE_CLOSE:
        dashboard_servers_close(&dashboard->servers, result.server, result.id);
        return;
    case PANE_ASK_HISTORY:
        dashboard_servers_history(&dashboard->servers, result.text, (size_t)result.id);
        return;
    case PANE_FILTER:
        users_pane_set_filter(&dashboard->users, result.text);
        return;
    }
}

/* Keys no pane takes: quitting, typing, help, speed, redraw. */
static void dashboard_key(struct dashboard *dashboard, int key)
{
    switch (key) {
    case 'q':
    case 'Q':
        dashboard->quit = true;
        return;
    case '/':
        command_line_start_filter(&dashboard->command_line, dashboard->users.filter);
        return;
    case ':':
        command_line_start_command(&dashboard->command_line);
        return;
    case '?':
    case KEY_F(1):
        popup_show_help(&dashboard->popup);
        return;
    case '+':
        change_interval(dashboard, true);
        return;
    case '-':
        change_interval(dashboard, false);
        return;
    case 'r':
    case 12: /* Ctrl-L */
        dashboard->session.login_refused = false;
        dashboard_servers_refresh_now(&dashboard->servers, true);
        clearok(curscr, TRUE);
        return;
    default:
        return;
    }
}

/* The popup takes keys while open, then the command line while typing or asking, then the
 * users pane; what the users pane leaves is the dashboard's. */
static void on_key(struct dashboard *dashboard, int key)
{
    if (key == KEY_RESIZE) {
        users_pane_rebuild(&dashboard->users);
        return;
    }
    if (dashboard->popup.open) {
        carry_out(dashboard, pane_handle_key(&dashboard->popup.pane, key));
        return;
    }
    if (command_line_active(&dashboard->command_line)) {
        carry_out(dashboard, pane_handle_key(&dashboard->command_line.pane, key));
        return;
    }
    message_clear(&dashboard->message); /* a message lasts until the next key */
    struct pane_result result = pane_handle_key(&dashboard->users.pane, key);
    if (result.request == PANE_IGNORED)
        dashboard_key(dashboard, key);
    else
        carry_out(dashboard, result);
}

/* ---- Screen ---- */

static void place_panes(struct dashboard *dashboard)
{
    int header = header_pane_lines(&dashboard->header);
    int list_rows = LINES - header - BOTTOM_ROWS;
    dashboard->header_lines = header;
    pane_place(&dashboard->header.pane, (struct pane_area){ 0, header, COLS });
    pane_place(&dashboard->users.pane,
               (struct pane_area){ header, list_rows > 0 ? list_rows : 0, COLS });
    pane_place(&dashboard->command_line.pane,
               (struct pane_area){ LINES - BOTTOM_ROWS, BOTTOM_ROWS, COLS });
    pane_place(&dashboard->popup.pane, (struct pane_area){ 0, LINES, COLS });
}

static void draw(struct dashboard *dashboard)
{
    erase();
    if (LINES < MIN_SCREEN_LINES || COLS < MIN_SCREEN_COLUMNS) {
        screen_put(&dashboard->screen, 0, 0, "terminal too small; q quits", COLS, false, A_BOLD);
        refresh();
        return;
    }
    dashboard->users.cursor_hidden = dashboard->command_line.mode == COMMAND_LINE_FILTER;
    pane_draw(&dashboard->header.pane);
    pane_draw(&dashboard->users.pane);
    pane_draw(&dashboard->command_line.pane);
    pane_draw(&dashboard->popup.pane);
    refresh();
}

struct saved_signals {
    struct sigaction interrupt, terminate, hangup, resize, wake;
};

/* A poller's wake-up only has to end its wait (EINTR). */
static void on_wake_signal(int signal_number)
{
    (void)signal_number;
}

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
    action.sa_handler = on_wake_signal;
    sigaction(POLLER_WAKE_SIGNAL, &action, &saved->wake);
}

static void restore_signals(const struct saved_signals *saved)
{
    sigaction(SIGINT, &saved->interrupt, NULL);
    sigaction(SIGTERM, &saved->terminate, NULL);
    sigaction(SIGHUP, &saved->hangup, NULL);
    sigaction(SIGWINCH, &saved->resize, NULL);
    sigaction(POLLER_WAKE_SIGNAL, &saved->wake, NULL);
}

/* Takes the terminal's new size (our SIGWINCH handler stands in for ncurses' own). */
static void follow_terminal_size(void)
{
    struct winsize size;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0)
        resizeterm(size.ws_row, size.ws_col);
}

/* Waits for a key, a poller's publication or the next tick, whichever comes first; never for
 * a server. A frame merged from new snapshots is timed from the start of their fetch. */
static void run_loop(struct dashboard *dashboard)
{
    draw(dashboard);
    while (!dashboard->quit && !quit_signal) {
        double now = monotonic_seconds();
        double wait = dashboard->next_tick - now;
        int timeout = wait <= 0 ? 0 : (int)ceil(wait * 1000.0);
        struct pollfd ready_fds[3] = {
            { .fd = STDIN_FILENO, .events = POLLIN },
            { .fd = dashboard_servers_fd(&dashboard->servers), .events = POLLIN },
            { .fd = command_line_fd(&dashboard->command_line), .events = POLLIN },
        };
        int ready = poll(ready_fds, 3, timeout);
        if (ready < 0 && errno != EINTR)
            break;
        struct pollfd *keyboard = &ready_fds[0];
        if (ready > 0 && (keyboard->revents & (POLLHUP | POLLERR | POLLNVAL)) &&
            !(keyboard->revents & POLLIN))
            break; /* the terminal went away */
        bool changed = false, merged = false;
        if (ready > 0 && (ready_fds[1].revents & POLLIN))
            merged = changed = take_snapshots(dashboard);
        if (ready > 0 && (ready_fds[2].revents & POLLIN)) {
            carry_out(dashboard, command_line_finish(&dashboard->command_line));
            changed = true;
        }
        if (resize_signal) {
            resize_signal = 0;
            follow_terminal_size();
            place_panes(dashboard);
            changed = true;
        }
        int key;
        /* After EINTR too: the signal may have been a resize. */
        while (!dashboard->quit && (key = getch()) != ERR) {
            on_key(dashboard, key);
            changed = true;
        }
        now = monotonic_seconds();
        if (now >= dashboard->next_tick) {
            dashboard->next_tick = now + TICK_SECONDS;
            changed |= dashboard->servers.count > 1;
        }
        if (changed) {
            follow_header(dashboard);
            draw(dashboard);
        }
        if (merged && dashboard->servers.newest_cycle_start > 0)
            dashboard->servers.header.frame_seconds =
                monotonic_seconds() - dashboard->servers.newest_cycle_start;
    }
}

/* The session's state is read before the pollers start using it. */
static bool dashboard_init(struct dashboard *dashboard, struct fleet *fleet,
                           struct admin_client *client, const struct command_runner *runner,
                           double interval)
{
    *dashboard = (struct dashboard){ .interval = interval, .loading = true };
    screen_init(&dashboard->screen);
    dashboard_model_init(&dashboard->model);
    session_init(&dashboard->session, client, &dashboard->model, &dashboard->message,
                 dashboard->screen.utf8);
    if (!dashboard_servers_start(&dashboard->servers, fleet, client, interval,
                                 dashboard->screen.utf8))
        return false;
    size_t count = dashboard->servers.count;
    header_pane_init(&dashboard->header, &dashboard->screen, &dashboard->model,
                     &dashboard->session, count > 1 ? &dashboard->servers.header : NULL);
    users_pane_init(&dashboard->users, &dashboard->screen, &dashboard->model,
                    &dashboard->session, &dashboard->message);
    popup_init(&dashboard->popup, &dashboard->screen);
    struct command_line_status status = { &dashboard->interval, dashboard->updated,
                                          &dashboard->users.sort, dashboard->users.filter };
    command_line_init(&dashboard->command_line, &dashboard->screen, &dashboard->message,
                      &dashboard->session, &dashboard->popup, runner, &status);
    if (count > 1)
        message_set(&dashboard->message, false, "loading from %zu servers", count);
    else
        message_set(&dashboard->message, false, "loading from %s", admin_client_address(client));
    dashboard->next_tick = monotonic_seconds() + TICK_SECONDS;
    return true;
}

static void dashboard_free(struct dashboard *dashboard)
{
    dashboard_servers_stop(&dashboard->servers);
    /* After the pollers let go of the sessions: a command waiting for one ends sooner. */
    command_line_free(&dashboard->command_line);
    popup_close(&dashboard->popup);
    users_pane_free(&dashboard->users);
    dashboard_model_free(&dashboard->model);
}

bool dashboard_loop_run(struct fleet *fleet, struct admin_client *client,
                        const struct command_runner *runner, double interval, const char **why)
{
    char *saved_locale = strdup(setlocale(LC_CTYPE, NULL) ? setlocale(LC_CTYPE, NULL) : "C");
    setlocale(LC_CTYPE, "");
    fflush(stdout);
    struct saved_signals saved;
    catch_signals(&saved);
    SCREEN *terminal = newterm(NULL, stdout, stdin);
    if (terminal == NULL) {
        restore_signals(&saved);
        if (saved_locale != NULL)
            setlocale(LC_CTYPE, saved_locale);
        free(saved_locale);
        *why = NULL;
        return false;
    }
    set_term(terminal);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);

    struct dashboard dashboard;
    bool started = dashboard_init(&dashboard, fleet, client, runner, interval);
    if (started) {
        place_panes(&dashboard);
        run_loop(&dashboard);
    }
    dashboard_servers_stop(&dashboard.servers); /* while their wake-up signal is caught */

    endwin();
    delscreen(terminal);
    restore_signals(&saved);
    if (saved_locale != NULL)
        setlocale(LC_CTYPE, saved_locale);
    free(saved_locale);
    dashboard_free(&dashboard);
    *why = started ? NULL : "cannot start a thread for each server";
    return started;
}
