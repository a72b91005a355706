/* server: socks5d's process — descriptor limit, signals, users from flags and environment,
 * the workers (one event loop per CPU), the admin port and systemd's notifications. */
#include "server.h"

#include "admin_handlers.h"
#include "admin_server.h"
#include "event_loop.h"
#include "log.h"
#include "login_throttle.h"
#include "net.h"
#include "options.h"
#include "proxy.h"
#include "service_notify.h"
#include "users.h"
#include "users_file.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* Password hashing threads, shared out among the workers (at least one each). */
#define CRYPT_THREADS 2
/* Descriptors kept back from the connection limit for listeners, pools, logs and admins. */
#define RESERVED_FDS 64
/* While draining on SIGTERM: how often to look whether every worker's tunnels are done. */
#define DRAIN_CHECK_MS 50
/* Beside the users file: the first admin's password when stderr is not a terminal. */
#define INITIAL_PASSWORD_FILE "initial-admin-password"

struct server {
    struct event_loop *loop; /* worker 0's, run by the main thread: also signals and admin */
    struct proxy_shared shared;
    struct worker **workers;
    size_t worker_count;
    bool listening;
    struct admin_server *admin;
    struct service_notify *notify;
    struct event_watcher signals;
    char *users_file; /* NULL = users live in memory only */
    struct event_timer grace_timer; /* SIGTERM: how long live tunnels may still finish */
    struct event_timer drain_timer; /* SIGTERM: looks for the last tunnel's end */
    uint32_t grace_ms;
    bool draining;
    char socks_listen_text[OPTIONS_MAX_LISTEN * (NET_ADDRESS_TEXT_MAX + 1)];
    char admin_listen_text[NET_ADDRESS_TEXT_MAX];
    int64_t started_ms;
};

static rlim_t raise_descriptor_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
        return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
            getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

static void server_reload_users(struct server *server);

static size_t server_live_sessions(const struct server *server)
{
    return __atomic_load_n(&server->shared.live_sessions, __ATOMIC_RELAXED);
}

static void server_stop_listening(struct server *server)
{
    if (!server->listening)
        return;
    server->listening = false;
    for (size_t i = 0; i < server->worker_count; i++)
        worker_stop_listening(server->workers[i]);
}

/* First SIGTERM/SIGINT: stop accepting and let live tunnels finish for the grace time.
 * A second one, or the grace time running out, ends the loop (the rest are closed then). */
static void server_begin_shutdown(struct server *server, int signal_number)
{
    service_notify_stopping(server->notify);
    if (server->draining || server_live_sessions(server) == 0 || server->grace_ms == 0) {
        log_message(LOG_INFO, "%s received, shutting down", strsignal(signal_number));
        event_loop_stop(server->loop);
        return;
    }
    server->draining = true;
    server_stop_listening(server);
    log_message(LOG_INFO, "%s received: not accepting; %zu tunnels may finish within %u s",
                strsignal(signal_number), server_live_sessions(server), server->grace_ms / 1000);
    event_loop_timer_start(server->loop, &server->grace_timer, server->grace_ms);
    event_loop_timer_start(server->loop, &server->drain_timer, DRAIN_CHECK_MS);
}

static void server_on_grace_over(struct event_loop *loop, struct event_timer *timer)
{
    struct server *server = timer->data;
    log_message(LOG_INFO, "grace time over: closing %zu tunnels", server_live_sessions(server));
    event_loop_stop(loop);
}

/* The tunnels end on every worker's thread: the main loop looks, rather than being told. */
static void server_on_drain_check(struct event_loop *loop, struct event_timer *timer)
{
    struct server *server = timer->data;
    if (server_live_sessions(server) > 0) {
        event_loop_timer_start(loop, timer, DRAIN_CHECK_MS);
        return;
    }
    log_message(LOG_INFO, "all tunnels finished");
    event_loop_stop(loop);
}

static void server_on_signal(struct event_loop *loop, struct event_watcher *watcher,
                             unsigned events)
{
    (void)loop;
    (void)events;
    struct signalfd_siginfo info;
    while (read(watcher->fd, &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
            server_begin_shutdown(watcher->data, (int)info.ssi_signo);
        } else if (info.ssi_signo == SIGHUP) {
            server_reload_users(watcher->data);
        }
    }
}

static void handled_signals(sigset_t *mask)
{
    sigemptyset(mask);
    sigaddset(mask, SIGTERM);
    sigaddset(mask, SIGINT);
    sigaddset(mask, SIGHUP);
}

/* Before any thread starts, so that only the main loop's signalfd ever takes these signals
 * (threads inherit the mask). */
static bool block_signals(void)
{
    sigset_t mask;
    handled_signals(&mask);
    signal(SIGPIPE, SIG_IGN);
    return pthread_sigmask(SIG_BLOCK, &mask, NULL) == 0;
}

static bool server_watch_signals(struct server *server)
{
    sigset_t mask;
    handled_signals(&mask);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return false;
    event_watcher_init(&server->signals, fd, server_on_signal, server);
    return event_loop_watch(server->loop, &server->signals, EVENT_READ) == 0;
}

/* Command-line and environment users win over the file: add, or reset password and role. */
static enum users_error put_user(struct users *users, const char *name, const char *password,
                                 enum user_role role)
{
    enum users_error error = users_add(users, name, password, role);
    if (error != USERS_ERROR_EXISTS)
        return error;
    error = users_set_password(users, name, password);
    return error != USERS_OK ? error : users_set_role(users, name, role);
}

static bool add_option_users(struct server *server, const struct server_options *options)
{
    for (size_t i = 0; i < options->user_count; i++) {
        const struct option_user *user = &options->users[i];
        enum users_error error = put_user(server->shared.users, user->name, user->password,
                                          user->admin ? USER_ROLE_ADMIN : USER_ROLE_USER);
        /* Hide the password from ps once it is hashed; argv memory is ours to overwrite. */
        explicit_bzero(user->password, strlen(user->password));
        if (error != USERS_OK) {
            log_message(LOG_ERROR, "cannot add user '%s': %s", user->name, users_error_text(error));
            return false;
        }
    }
    return true;
}

static bool add_environment_admin(struct server *server)
{
    const char *value = getenv("SOCKS5D_ADMIN");
    if (value == NULL || value[0] == '\0')
        return true;
    char *copy = strdup(value);
    char *colon = copy != NULL ? strchr(copy, ':') : NULL;
    if (colon == NULL || colon == copy || colon[1] == '\0') {
        log_message(LOG_ERROR, "SOCKS5D_ADMIN must be user:password");
        free(copy);
        return false;
    }
    *colon = '\0';
    enum users_error error = put_user(server->shared.users, copy, colon + 1, USER_ROLE_ADMIN);
    if (error != USERS_OK)
        log_message(LOG_ERROR, "SOCKS5D_ADMIN: cannot add '%s': %s", copy, users_error_text(error));
    explicit_bzero(colon + 1, strlen(colon + 1));
    free(copy);
    unsetenv("SOCKS5D_ADMIN");
    return error == USERS_OK;
}

/* path's directory joined with name ("dir/users" -> "dir/name"; "users" -> "name"). */
static void sibling_path(const char *path, const char *name, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "%.*s/%s", (int)(slash - path), path, name);
}

static bool write_all(int fd, const char *text, size_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, text, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        text += written;
        length -= (size_t)written;
    }
    return true;
}

/* The first admin's password, for whoever may read the users file's directory (private when
 * socks5d made it). A file left from an earlier first run belonged to an admin the users file
 * no longer has: it is replaced. O_EXCL and O_NOFOLLOW keep a file or link that appears in
 * between from being written through. Durable before the users file is: a crash between
 * the two leaves no admin whose password nobody knows. */
static bool write_initial_password(const char *path, const char *password)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = open(path, flags, 0600);
    if (fd < 0 && errno == EEXIST && unlink(path) == 0) {
        log_message(LOG_WARN, "replacing %s, left from an earlier first run", path);
        fd = open(path, flags, 0600);
    }
    if (fd < 0)
        return false;
    bool written = write_all(fd, password, strlen(password)) && write_all(fd, "\n", 1) &&
                   fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!written) {
        unlink(path);
        errno = saved;
    }
    return written;
}

/* Logs are kept, shipped and read by many: the password goes to the log only when a person is
 * watching it being written (stderr is a terminal, as with scripts/run). Otherwise it goes to
 * a file beside the users file, and the log says where. */
static bool reveal_initial_password(const struct server *server, const char *password)
{
    if (isatty(STDERR_FILENO)) {
        log_message(LOG_WARN, "no admin configured: created user 'admin' with password '%s' "
                              "(shown once; change it with socks5ctl)", password);
        return true;
    }
    if (server->users_file == NULL) {
        /* -f off: there is no directory of ours to put a file in, and these users live only
         * as long as this process. Hiding the password would leave a server nobody can
         * administer until it restarts (with a new one), so the log is the only way out;
         * SOCKS5D_ADMIN or -a avoid it. */
        log_message(LOG_WARN, "no admin configured: created user 'admin' with password '%s' "
                              "(logged because -f off leaves no file to put it in; set "
                              "SOCKS5D_ADMIN or -a to keep it out of the log)", password);
        return true;
    }
    char path[4096];
    sibling_path(server->users_file, INITIAL_PASSWORD_FILE, path, sizeof(path));
    if (!write_initial_password(path, password)) {
        log_message(LOG_ERROR, "no admin configured, and cannot write the first admin's "
                               "password to %s: %s", path, strerror(errno));
        return false;
    }
    log_message(LOG_WARN, "no admin configured: created user 'admin'; its password is in %s "
                          "(delete the file once read; change the password with socks5ctl)",
                path);
    return true;
}

/* A usable default: with no admin configured anywhere, make one and reveal its password once. */
static bool ensure_an_admin(struct server *server)
{
    if (users_admin_count(server->shared.users) > 0)
        return true;
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    uint8_t random_bytes[20];
    char password[sizeof(random_bytes) + 1];
    if (getrandom(random_bytes, sizeof(random_bytes), 0) != sizeof(random_bytes))
        return false;
    for (size_t i = 0; i < sizeof(random_bytes); i++)
        password[i] = alphabet[random_bytes[i] % (sizeof(alphabet) - 1)];
    password[sizeof(random_bytes)] = '\0';
    enum users_error error = users_add(server->shared.users, "admin", password, USER_ROLE_ADMIN);
    if (error != USERS_OK) {
        log_message(LOG_ERROR, "cannot create the first admin: %s", users_error_text(error));
        explicit_bzero(password, sizeof(password));
        return false;
    }
    bool revealed = reveal_initial_password(server, password);
    explicit_bzero(password, sizeof(password));
    return revealed;
}

/* Binding low ports and reading the users file may need root; serving never does. */
static bool drop_privileges(const char *account)
{
    if (account == NULL)
        return true;
    struct passwd *entry = getpwnam(account);
    if (entry == NULL) {
        log_message(LOG_ERROR, "--run-as %s: no such account", account);
        return false;
    }
    if (initgroups(entry->pw_name, entry->pw_gid) < 0 || setgid(entry->pw_gid) < 0 ||
        setuid(entry->pw_uid) < 0) {
        log_message(LOG_ERROR, "--run-as %s: cannot drop privileges: %s", account, strerror(errno));
        return false;
    }
    /* Make sure the switch cannot be undone. */
    if (entry->pw_uid != 0 && setuid(0) == 0) {
        log_message(LOG_ERROR, "--run-as %s: privileges could be regained; refusing to run", account);
        return false;
    }
    log_message(LOG_INFO, "running as %s (uid %u)", account, (unsigned)entry->pw_uid);
    return true;
}

/* Tried once the process runs as what it will serve as: an unprivileged process may only
 * pick the algorithms in net.ipv4.tcp_allowed_congestion_control. */
static bool check_tcp_congestion(const struct server_options *options)
{
    if (options->tcp_congestion == NULL)
        return true;
    if (net_congestion_usable(options->tcp_congestion)) {
        log_message(LOG_INFO, "TCP congestion control: %s", options->tcp_congestion);
        return true;
    }
    int error = errno;
    char available[256] = "";
    FILE *list = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "r");
    if (list != NULL) {
        if (fgets(available, sizeof(available), list) != NULL)
            available[strcspn(available, "\n")] = '\0';
        fclose(list);
    }
    log_message(LOG_ERROR, "--tcp-congestion %s: %s (available: %s)", options->tcp_congestion,
                error == ENOENT ? "this kernel has no such algorithm"
                : error == EPERM ? "not allowed for this process (see sysctl "
                                   "net.ipv4.tcp_allowed_congestion_control)"
                                 : strerror(error),
                available[0] != '\0' ? available : "unknown");
    return false;
}

/* ---- the users file ---- */

/* -f PATH, or -f off; by default the systemd state directory, else the XDG state directory. */
static char *choose_users_file(const char *option)
{
    if (option != NULL)
        return strcmp(option, "off") == 0 ? NULL : strdup(option);
    const char *state = getenv("STATE_DIRECTORY");
    char path[4096];
    if (state != NULL && state[0] != '\0') {
        snprintf(path, sizeof(path), "%s/users", state);
        return strdup(path);
    }
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(path, sizeof(path), "%s/socks5d", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(path, sizeof(path), "%s/.local/state/socks5d", home);
    else
        return strdup("socks5d-users");
    /* mkdir -p, private: the file holds password hashes. */
    for (char *slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0700);
        *slash = '/';
    }
    mkdir(path, 0700);
    strncat(path, "/users", sizeof(path) - strlen(path) - 1);
    return strdup(path);
}

/* Loads the file into the (empty) table; a corrupt file stops the start. */
static bool server_load_users(struct server *server, bool *missing)
{
    struct users_file_contents contents;
    char error[256];
    *missing = true;
    if (server->users_file == NULL)
        return true;
    if (!users_file_read(server->users_file, &contents, missing, error, sizeof(error)) ||
        !users_file_apply(server->shared.users, &contents, error, sizeof(error))) {
        log_message(LOG_ERROR, "users file %s: %s", server->users_file, error);
        users_file_contents_free(&contents);
        return false;
    }
    users_file_contents_free(&contents);
    if (!*missing)
        log_message(LOG_INFO, "users file %s: %zu users", server->users_file,
                    users_count(server->shared.users));
    return true;
}

bool server_save_users(struct server *server)
{
    char error[512];
    if (server->users_file == NULL)
        return true;
    if (!users_file_write(server->users_file, server->shared.users, error, sizeof(error))) {
        log_message(LOG_ERROR, "users file: %s", error);
        return false;
    }
    return true;
}

/* Returns false with the reason in error when the file is refused (the table is untouched). */
static bool server_reread_users(struct server *server, char *error, size_t error_size)
{
    struct users_file_contents contents;
    bool missing;
    if (server->users_file == NULL) {
        snprintf(error, error_size, "no users file (-f off)");
        return false;
    }
    bool applied = users_file_read(server->users_file, &contents, &missing, error, error_size);
    if (applied && missing) {
        snprintf(error, error_size, "file is missing");
        applied = false;
    }
    applied = applied && users_file_apply(server->shared.users, &contents, error, error_size);
    users_file_contents_free(&contents);
    return applied;
}

static void server_reload_users(struct server *server)
{
    char error[256];
    service_notify_reloading(server->notify);
    if (!server_reread_users(server, error, sizeof(error))) {
        if (server->users_file == NULL)
            log_message(LOG_WARN, "SIGHUP: no users file to reload");
        else
            log_message(LOG_ERROR, "SIGHUP: users file %s: %s; keeping the %zu users in memory",
                        server->users_file, error, users_count(server->shared.users));
        service_notify_reloaded(server->notify, error);
        return;
    }
    log_message(LOG_INFO, "SIGHUP: users file %s reloaded: %zu users", server->users_file,
                users_count(server->shared.users));
    service_notify_reloaded(server->notify, NULL);
}

/* On the worker's thread: a slot freed, so its listeners may accept again. */
static void server_on_session_closed(void *context)
{
    worker_resume_listening(context);
}

/* Every worker listens on the same address, with SO_REUSEPORT when there are several. That
 * option would also let a second socks5d (any process of the same user) share the port and
 * silently take part of the clients: a plain listen first proves the address is ours alone
 * (and picks the port when 0 was asked), then the workers' sockets take its place. */
static bool server_listen_socks_address(struct server *server, const char *text_address,
                                        uint16_t port, char *bound_text)
{
    struct sockaddr_storage address;
    socklen_t length;
    if (!net_parse_address(text_address, port, &address, &length)) {
        log_message(LOG_ERROR, "-l %s: not an IPv4 or IPv6 address", text_address);
        return false;
    }
    bool reuse_port = server->worker_count > 1;
    for (size_t i = reuse_port ? 0 : 1; i <= server->worker_count; i++) {
        int fd = net_listen((struct sockaddr *)&address, length, i > 0 && reuse_port);
        if (fd < 0) {
            log_message(LOG_ERROR, "cannot listen on %s port %u: %s", text_address, port,
                        strerror(errno));
            return false;
        }
        if (i <= 1) {
            length = sizeof(address);
            getsockname(fd, (struct sockaddr *)&address, &length);
            net_format_address((struct sockaddr *)&address, bound_text);
        }
        if (i == 0) {
            close(fd); /* the probe */
            continue;
        }
        if (!worker_listen(server->workers[i - 1], fd))
            return false;
    }
    return true;
}

static bool server_listen_socks(struct server *server, const struct server_options *options)
{
    for (size_t i = 0; i < options->socks_address_count; i++) {
        char text[NET_ADDRESS_TEXT_MAX];
        if (!server_listen_socks_address(server, options->socks_addresses[i], options->socks_port,
                                         text))
            return false;
        log_message(LOG_INFO, "listening for socks5 on %s", text);
        if (i > 0)
            strcat(server->socks_listen_text, " ");
        strcat(server->socks_listen_text, text);
    }
    return true;
}

static bool server_save_users_hook(void *server) { return server_save_users(server); }

static bool server_listen_admin(struct server *server, const struct server_options *options)
{
    struct sockaddr_storage address;
    socklen_t length;
    if (!net_parse_address(options->admin_address, options->admin_port, &address, &length)) {
        log_message(LOG_ERROR, "-L %s: not an IPv4 or IPv6 address", options->admin_address);
        return false;
    }
    int fd = net_listen((struct sockaddr *)&address, length, false);
    if (fd < 0) {
        log_message(LOG_ERROR, "cannot listen for admin on %s port %u: %s", options->admin_address,
                    options->admin_port, strerror(errno));
        return false;
    }
    length = sizeof(address);
    getsockname(fd, (struct sockaddr *)&address, &length);
    net_format_address((struct sockaddr *)&address, server->admin_listen_text);
    struct admin_server_settings settings = {
        .max_sessions = options->admin_max_sessions,
        .auth_timeout_ms = ADMIN_AUTH_TIMEOUT_SECONDS * 1000,
        .idle_timeout_ms = ADMIN_IDLE_TIMEOUT_SECONDS * 1000,
    };
    struct admin_server_hooks hooks = {
        .handler = { .handle = admin_handle_request, .cancel = admin_pending_cancel },
        .save_users = server_save_users_hook,
        .context = server,
        .socks_listeners = server->socks_listen_text,
        .admin_listeners = server->admin_listen_text,
        .started_ms = server->started_ms,
    };
    server->admin = admin_server_create(server->loop, worker_proxy(server->workers[0]), fd,
                                        &settings, &hooks);
    if (server->admin == NULL)
        return false;
    log_message(LOG_INFO, "listening for admin on %s", server->admin_listen_text);
    return true;
}

static struct event_loop *server_worker_loop(void *context, size_t index)
{
    struct server *server = context;
    return worker_loop(server->workers[index]);
}

/* On the main loop's thread, about once a second under systemd. */
static void server_read_counts(void *context, struct service_counts *counts)
{
    struct server *server = context;
    counts->tunnels = server_live_sessions(server);
    counts->users = users_count(server->shared.users);
    counts->admin_sessions = admin_server_session_count(server->admin);
}

static bool server_prepare_notify(struct server *server)
{
    struct service_notify_config config = {
        .main_loop = server->loop,
        .worker_count = server->worker_count,
        .worker_loop = server_worker_loop,
        .read_counts = server_read_counts,
        .context = server,
    };
    server->notify = service_notify_create(&config);
    if (server->notify == NULL)
        log_message(LOG_ERROR, "cannot set up systemd notifications: out of memory");
    return server->notify != NULL;
}

/* One worker per CPU this process may run on (taskset, cgroups), unless told otherwise. */
static size_t choose_worker_count(unsigned requested)
{
    if (requested > 0)
        return requested;
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 0)
        return (size_t)CPU_COUNT(&cpus);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (size_t)online : 1;
}

static struct proxy_settings settings_from(const struct server_options *options)
{
    rlim_t descriptors = raise_descriptor_limit();
    size_t fit = descriptors > 2 * RESERVED_FDS ? (size_t)(descriptors - RESERVED_FDS) / 2 : 16;
    if (options->max_connections > fit)
        log_message(LOG_WARN, "-c %zu: the descriptor limit (%llu) allows about %zu tunnels",
                    options->max_connections, (unsigned long long)descriptors, fit);
    struct proxy_settings settings = {
        .handshake_timeout_ms = options->handshake_timeout_s * 1000u,
        .connect_timeout_ms = options->connect_timeout_s * 1000u,
        .idle_timeout_ms = options->idle_timeout_s * 1000u,
        .buffer_size = options->buffer_size,
        .no_auth_allowed = options->no_auth_allowed,
        .max_connections = options->max_connections ? options->max_connections : fit,
        .history_per_user = options->history_per_user,
    };
    _Static_assert(sizeof(settings.tcp_congestion) >= OPTIONS_CONGESTION_NAME_MAX,
                   "options_parse bounds the name's length to what the settings hold");
    if (options->tcp_congestion != NULL)
        snprintf(settings.tcp_congestion, sizeof(settings.tcp_congestion), "%s",
                 options->tcp_congestion);
    return settings;
}

static bool server_create_workers(struct server *server, const struct server_options *options)
{
    struct proxy_shared *shared = &server->shared;
    shared->users = users_create();
    shared->throttle = login_throttle_create();
    server->worker_count = choose_worker_count(options->workers);
    server->workers = calloc(server->worker_count, sizeof(*server->workers));
    shared->workers = calloc(server->worker_count, sizeof(*shared->workers));
    if (shared->users == NULL || shared->throttle == NULL || server->workers == NULL ||
        shared->workers == NULL)
        return false;
    users_set_history_capacity(shared->users, options->history_per_user);
    shared->worker_count = server->worker_count;
    struct proxy_settings settings = settings_from(options);
    unsigned crypt_threads = CRYPT_THREADS / (unsigned)server->worker_count;
    for (size_t i = 0; i < server->worker_count; i++) {
        struct worker_config config = {
            .shared = shared,
            .settings = settings,
            .index = (unsigned)i,
            .resolver_threads = options->resolver_threads,
            .crypt_threads = crypt_threads > 0 ? crypt_threads : 1,
            .splice = options->splice,
            .busy_poll_us = options->busy_poll_us,
            .on_session_closed = server_on_session_closed,
        };
        server->workers[i] = worker_create(&config);
        if (server->workers[i] == NULL)
            return false;
        /* The callback gets its own worker: set once the worker exists. */
        worker_proxy(server->workers[i])->on_session_closed_context = server->workers[i];
        shared->workers[i] = worker_proxy(server->workers[i]);
    }
    server->loop = worker_loop(server->workers[0]);
    return true;
}

struct server *server_create(const struct server_options *options)
{
    log_set_level(options->log_level);
    if (!log_open_access(options->access_log)) {
        log_message(LOG_ERROR, "cannot open access log %s: %s", options->access_log, strerror(errno));
        return NULL;
    }
    struct server *server = calloc(1, sizeof(*server));
    if (server == NULL)
        return NULL;
    server->signals.fd = -1;
    server->started_ms = log_realtime_ms();
    server->grace_ms = options->shutdown_grace_s * 1000u;
    event_timer_init(&server->grace_timer, server_on_grace_over, server);
    event_timer_init(&server->drain_timer, server_on_drain_check, server);
    if (!block_signals() || !server_create_workers(server, options) ||
        !server_watch_signals(server)) {
        log_message(LOG_ERROR, "cannot set up the event loops and their threads: %s",
                    strerror(errno));
        server_destroy(server);
        return NULL;
    }
    bool missing;
    server->users_file = choose_users_file(options->users_file);
    if (!server_load_users(server, &missing) || !add_option_users(server, options) ||
        !add_environment_admin(server) || !ensure_an_admin(server) || !server_save_users(server) ||
        !server_listen_socks(server, options) || !server_listen_admin(server, options) ||
        !drop_privileges(options->run_as_user) || !check_tcp_congestion(options) ||
        !server_prepare_notify(server)) {
        server_destroy(server);
        return NULL;
    }
    server->listening = true;
    if (server->users_file == NULL)
        log_message(LOG_WARN, "no users file (-f off): user changes will not survive a restart");
    log_message(LOG_INFO, "socks5d ready: %zu users, auth %s, max %zu connections, %zu worker%s",
                users_count(server->shared.users),
                options->no_auth_allowed ? "optional" : "required",
                worker_proxy(server->workers[0])->settings.max_connections, server->worker_count,
                server->worker_count == 1 ? "" : "s");
    return server;
}

int server_run(struct server *server)
{
    /* Worker 0 is the main thread's loop; the others get their threads now that everything
     * they serve (listeners, users) is in place. */
    for (size_t i = 1; i < server->worker_count; i++) {
        if (!worker_start_thread(server->workers[i])) {
            log_message(LOG_ERROR, "cannot start worker thread %zu: %s", i, strerror(errno));
            return 1;
        }
    }
    service_notify_ready(server->notify);
    if (event_loop_run(server->loop) < 0) {
        log_message(LOG_ERROR, "event loop failed: %s", strerror(errno));
        return 1;
    }
    return 0;
}

void server_destroy(struct server *server)
{
    if (server == NULL)
        return;
    if (server->loop != NULL) {
        event_loop_timer_stop(server->loop, &server->grace_timer);
        event_loop_timer_stop(server->loop, &server->drain_timer);
    }
    /* Admin sessions first: their pending hashing jobs run on worker 0's crypt pool. */
    admin_server_destroy(server->admin);
    for (size_t i = 1; server->workers != NULL && i < server->worker_count; i++) {
        if (server->workers[i] != NULL)
            worker_stop_thread(server->workers[i]);
    }
    service_notify_destroy(server->notify);
    if (server->signals.fd >= 0) {
        event_loop_unwatch(server->loop, &server->signals);
        close(server->signals.fd);
    }
    /* Workers (and their pools) go before the users table: a crypt job finishing late
     * still reads it, and closing sessions records them in users' histories. */
    for (size_t i = 0; server->workers != NULL && i < server->worker_count; i++)
        worker_destroy(server->workers[i]);
    users_destroy(server->shared.users);
    login_throttle_destroy(server->shared.throttle);
    free(server->workers);
    free(server->shared.workers);
    log_close_access();
    free(server->users_file);
    free(server);
}
