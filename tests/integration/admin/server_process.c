/* server_process: one socks5d under test (-p 0 -P 0 -f <directory>/users --allow-loopback), its
 * ports read from its log, stopped with SIGTERM (checked clean) or killed with SIGKILL. */
#include "server_process.h"

#include "child_process.h"
#include "test_socket.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define START_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 20000 /* ASan's leak check at exit is slow on a busy machine */
#define ARGS_MAX 64

struct server_process {
    pid_t pid;
    char log_path[4096];
    uint16_t socks_port;
    uint16_t admin_port;
    struct server_process *next;
};

static struct server_process *servers;
static unsigned started_count;
static char error_text[8192];

static void set_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error_text, sizeof(error_text), format, arguments);
    va_end(arguments);
}

const char *server_process_error(void)
{
    return error_text;
}

static void servers_forget(struct server_process *server)
{
    for (struct server_process **link = &servers; *link != NULL; link = &(*link)->next) {
        if (*link == server) {
            *link = server->next;
            return;
        }
    }
}

/* The port of "... listening for KIND on 127.0.0.1:PORT"; 0 while the line is not there. */
static uint16_t find_listening_port(const char *log, const char *kind)
{
    char marker[64];
    snprintf(marker, sizeof(marker), "listening for %s on ", kind);
    const char *line = strstr(log, marker);
    if (line == NULL)
        return 0;
    const char *end = strchr(line, '\n');
    if (end == NULL)
        return 0;
    const char *colon = end;
    while (colon > line && *colon != ':')
        colon--;
    return (uint16_t)strtoul(colon + 1, NULL, 10);
}

static const char *tail(const char *text)
{
    size_t length = strlen(text);
    return length > 3000 ? text + length - 3000 : text;
}

static bool wait_listening(struct server_process *server)
{
    int64_t deadline = test_now_ms() + START_TIMEOUT_MS;
    for (;;) {
        char *log = child_read_file(server->log_path);
        if (log != NULL) {
            server->socks_port = find_listening_port(log, "socks5");
            server->admin_port = find_listening_port(log, "admin");
            if (server->socks_port != 0 && server->admin_port != 0) {
                free(log);
                return true;
            }
        }
        bool running = child_running(server->pid);
        if (!running || test_now_ms() >= deadline) {
            set_error("socks5d %s; log:\n%s",
                      running ? "did not listen in time" : "exited at start",
                      log != NULL ? tail(log) : "(none)");
            free(log);
            return false;
        }
        free(log);
        test_sleep_ms(10);
    }
}

struct server_process *server_process_start(const char *directory, const char *const args[])
{
    const char *binary = getenv("SOCKS5D");
    if (binary == NULL || binary[0] == '\0') {
        set_error("SOCKS5D (the path of socks5d) is not set");
        return NULL;
    }
    struct server_process *server = calloc(1, sizeof(*server));
    if (server == NULL) {
        set_error("out of memory");
        return NULL;
    }
    char users_path[4096];
    snprintf(users_path, sizeof(users_path), "%s/users", directory);
    snprintf(server->log_path, sizeof(server->log_path), "%s/socks5d-%u.log", directory,
             ++started_count);
    /* The upstream servers the tests tunnel to listen on loopback, denied by default. */
    const char *argv[ARGS_MAX] = { binary, "-p", "0", "-P", "0", "-f", users_path,
                                   "--allow-loopback" };
    size_t count = 8;
    for (size_t i = 0; args != NULL && args[i] != NULL && count < ARGS_MAX - 1; i++)
        argv[count++] = args[i];
    argv[count] = NULL;
    /* State and home inside the test's directory: nothing may touch the real ones. */
    char state[4200], xdg[4200], home[4200];
    snprintf(state, sizeof(state), "STATE_DIRECTORY=%s", directory);
    snprintf(xdg, sizeof(xdg), "XDG_STATE_HOME=%s", directory);
    snprintf(home, sizeof(home), "HOME=%s", directory);
    const char *env[] = { state,
                          xdg,
                          home,
                          "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0",
                          "UBSAN_OPTIONS=print_stacktrace=1",
                          NULL };
    server->pid = child_spawn(argv, env, NULL, server->log_path);
    if (server->pid < 0) {
        set_error("cannot start %s", binary);
        free(server);
        return NULL;
    }
    server->next = servers;
    servers = server;
    if (!wait_listening(server)) {
        server_process_kill(server);
        return NULL;
    }
    return server;
}

uint16_t server_process_socks_port(const struct server_process *server)
{
    return server->socks_port;
}
uint16_t server_process_admin_port(const struct server_process *server)
{
    return server->admin_port;
}

char *server_process_log(const struct server_process *server)
{
    return child_read_file(server->log_path);
}

bool server_process_running(const struct server_process *server)
{
    return child_running(server->pid);
}

static bool log_is_clean(const char *log, const char *const secrets[])
{
    static const char *const markers[] = { "ERROR: AddressSanitizer",
                                           "runtime error:", "LeakSanitizer", "ThreadSanitizer" };
    for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
        if (strstr(log, markers[i]) != NULL) {
            set_error("sanitizer report in the socks5d log:\n%s", tail(strstr(log, markers[i])));
            return false;
        }
    }
    for (size_t i = 0; secrets != NULL && secrets[i] != NULL; i++) {
        if (strstr(log, secrets[i]) != NULL) {
            set_error("the socks5d log holds the password '%s'", secrets[i]);
            return false;
        }
    }
    return true;
}

bool server_process_stop(struct server_process *server, const char *const secrets[])
{
    int status = 0;
    kill(server->pid, SIGTERM);
    bool ended = child_wait(server->pid, STOP_TIMEOUT_MS, &status);
    if (!ended)
        child_kill(server->pid);
    char *log = server_process_log(server);
    bool clean = false;
    if (!ended)
        set_error("socks5d did not exit within 20 s of SIGTERM; log:\n%s", log ? tail(log) : "");
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        set_error("socks5d ended with %s %d after SIGTERM; log:\n%s",
                  WIFEXITED(status) ? "exit code" : "signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log ? tail(log) : "");
    else
        clean = log != NULL && log_is_clean(log, secrets);
    free(log);
    servers_forget(server);
    free(server);
    return clean;
}

void server_process_kill(struct server_process *server)
{
    child_kill(server->pid);
    servers_forget(server);
    free(server);
}

const char *server_process_crash_report(void)
{
    static char report[4096];
    report[0] = '\0';
    for (struct server_process *server = servers; server != NULL; server = server->next) {
        if (child_running(server->pid))
            continue;
        char *log = server_process_log(server);
        snprintf(report, sizeof(report), "\nsocks5d (pid %d) has ended; its log ends with:\n%s",
                 (int)server->pid, log != NULL ? tail(log) : "(no log)");
        free(log);
        break;
    }
    return report;
}

void server_process_kill_all(void)
{
    while (servers != NULL)
        server_process_kill(servers);
}
