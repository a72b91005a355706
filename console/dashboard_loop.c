/* dashboard_loop: the dashboard's full-screen session — owns the terminal, the refresh timer
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
#include "popup.h"
#include "screen.h"
#include "users_pane.h"

#define BOTTOM_ROWS 2 /* message line, status line */
#define MIN_SCREEN_LINES (HEADER_LINES + 1 + BOTTOM_ROWS + 1)
#define MIN_SCREEN_COLUMNS 20
#define DETAILS_MAX 16

struct dashboard {
    struct screen screen;
    struct dashboard_model model;
    struct dashboard_message message;
    struct dashboard_session session;
    struct header_pane header;
    struct users_pane users;
    struct command_line command_line;
    struct popup popup;
    double interval;
    double next_refresh;
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

static void refresh_data(struct dashboard *dashboard)
{
    if (dashboard->session.login_refused)
        return;
    /* The loading message goes; the fetch may put what it has to say in its place. */
    if (dashboard->loading)
        message_clear(&dashboard->message);
    if (session_fetch_users(&dashboard->session, monotonic_seconds()) == CALL_LOST)
        return;
    dashboard->loading = false;
    users_pane_rebuild(&dashboard->users);
    users_pane_fetch_visible_trees(&dashboard->users);
    users_pane_rebuild(&dashboard->users);
    time_t wall = time(NULL);
    struct tm local;
    if (localtime_r(&wall, &local) != NULL)
        strftime(dashboard->updated, sizeof(dashboard->updated), "%H:%M:%S", &local);
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
    size_t count = connection_details(user, connection, lines, DETAILS_MAX);
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
        dashboard->next_refresh = 0;
        return;
    case PANE_SHOW_DETAILS:
        show_details(dashboard);
        return;
    case PANE_ASK_CLOSE:
        command_line_confirm_close(&dashboard->command_line, result.id);
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
        dashboard->next_refresh = 0;
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
    int list_rows = LINES - HEADER_LINES - BOTTOM_ROWS;
    pane_place(&dashboard->header.pane, (struct pane_area){ 0, HEADER_LINES, COLS });
    pane_place(&dashboard->users.pane,
               (struct pane_area){ HEADER_LINES, list_rows > 0 ? list_rows : 0, COLS });
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
            place_panes(dashboard);
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

static void dashboard_init(struct dashboard *dashboard, struct admin_client *client,
                           const struct command_runner *runner, double interval)
{
    *dashboard = (struct dashboard){ .interval = interval, .loading = true };
    screen_init(&dashboard->screen);
    dashboard_model_init(&dashboard->model);
    session_init(&dashboard->session, client, &dashboard->model, &dashboard->message,
                 dashboard->screen.utf8);
    header_pane_init(&dashboard->header, &dashboard->screen, &dashboard->model,
                     &dashboard->session);
    users_pane_init(&dashboard->users, &dashboard->screen, &dashboard->model,
                    &dashboard->session, &dashboard->message);
    popup_init(&dashboard->popup, &dashboard->screen);
    struct command_line_status status = { &dashboard->interval, dashboard->updated,
                                          &dashboard->users.sort, dashboard->users.filter };
    command_line_init(&dashboard->command_line, &dashboard->screen, &dashboard->message,
                      &dashboard->session, &dashboard->popup, runner, &status);
    message_set(&dashboard->message, false, "loading from %s", admin_client_address(client));
    place_panes(dashboard);
}

static void dashboard_free(struct dashboard *dashboard)
{
    popup_close(&dashboard->popup);
    users_pane_free(&dashboard->users);
    dashboard_model_free(&dashboard->model);
}

bool dashboard_loop_run(struct admin_client *client, const struct command_runner *runner,
                        double interval)
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
    dashboard_init(&dashboard, client, runner, interval);
    run_loop(&dashboard);

    endwin();
    delscreen(terminal);
    restore_signals(&saved);
    if (saved_locale != NULL)
        setlocale(LC_CTYPE, saved_locale);
    free(saved_locale);
    dashboard_free(&dashboard);
    return true;
}
