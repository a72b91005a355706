/* server: socks5d's process from start to exit — the workers (a loop per CPU), the admin thread,
 * settings, systemd's notifications, then the main loop's signals until the process ends. */
#include "server.h"

#include "admin_thread.h"
#include "admin_tls.h"
#include "event_loop.h"
#include "handover.h"
#include "initial_users.h"
#include "log.h"
#include "login_throttle.h"
#include "pam_auth.h"
#include "options.h"
#include "address_slots.h"
#include "limits_table.h"
#include "policy.h"
#include "ports.h"
#include "process_setup.h"
#include "proxy.h"
#include "server_accounting.h"
#include "server_config.h"
#include "service_notify.h"
#include "settings_store.h"
#include "take_over.h"
#include "user_store.h"
#include "users.h"
#include "users_file.h"
#include "worker.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Password hashing threads, shared out among the workers (at least one each). */
#define CRYPT_THREADS 2
/* Descriptors kept back from the connection limit for listeners, pools, logs and admins. */
#define RESERVED_FDS 64
/* While draining on SIGTERM: how often to look whether every worker's tunnels are done. */
#define DRAIN_CHECK_MS 50

struct server {
    /* What the server started with: a reload loads argv (over the config file it names) again
     * and compares with config for the keys only a restart applies. */
    struct server_config config;
    int argc;
    char **argv;
    size_t derived_max_connections; /* what the descriptor limit allows, for -c unset */
    /* The main thread's: signals, the graceful stop and systemd's timers. It serves no client,
     * so a burst of traffic never delays a signal or the watchdog's check. */
    struct event_loop *loop;
    struct proxy_shared shared;
    struct settings_store *settings;
    struct policy *policy; /* the one the settings point to */
    struct worker **workers;
    size_t worker_count;
    bool listening;
    struct admin_thread *admin;
    struct user_store *user_store;
    struct service_notify *notify;
    struct handover *handover;      /* NULL: --upgrade-socket off */
    struct take_over *take_over;    /* while starting with --take-over */
    bool taken_over;                /* a new process serves; this one drains */
    struct event_watcher signals;
    struct event_timer grace_timer; /* SIGTERM: how long live tunnels may still finish */
    struct event_timer drain_timer; /* SIGTERM: looks for the last tunnel's end */
    uint32_t grace_ms;
    bool draining;
    char socks_listen_text[PORTS_SOCKS_TEXT_MAX];
    char admin_listen_text[NET_ADDRESS_TEXT_MAX];
    char metrics_listen_text[NET_ADDRESS_TEXT_MAX];
    int64_t started_ms;
};

static size_t server_live_sessions(const struct server *server)
{
    return __atomic_load_n(&server->shared.live_sessions, __ATOMIC_RELAXED);
}

/* ---- signals: the graceful stop and the reload ---- */

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

/* ---- the reload: config file, command line and users file, whole or not at all ---- */

static struct policy *policy_from_options(const struct server_options *options,
                                          struct policy *configured);

/* The users file again into contents; false with why. No file (-f off): nothing to read. */
static bool server_read_users(struct server *server, struct users_file_contents *contents,
                              bool *have, char *error, size_t error_size)
{
    const char *path = user_store_path(server->user_store);
    bool missing;
    *have = false;
    if (path == NULL)
        return true;
    char reason[512];
    if (!users_file_read(path, contents, &missing, reason, sizeof(reason))) {
        snprintf(error, error_size, "users file %s: %s", path, reason);
        return false;
    }
    if (missing) {
        snprintf(error, error_size, "users file %s: file is missing", path);
        return false;
    }
    *have = true;
    return true;
}

/* On the admin's thread, where every change to the users is saved: a reload never lands
 * between an admin's change and its save, nor between two admin commands. Everything is
 * loaded and checked before anything is applied; then the users, and the settings (with the
 * policy) are published to every worker in one change. */
static bool server_reload(struct server *server, const char *trigger, char *message,
                          size_t message_size)
{
    struct server_config loaded;
    char problems[4096];
    if (server_config_load(server->argc, server->argv, false, &loaded, problems,
                           sizeof(problems)) != SERVER_CONFIG_LOADED) {
        server_config_log_refusal(trigger, problems, users_count(server->shared.users));
        server_config_first_problem(problems, message, message_size);
        return false;
    }
    struct users_file_contents contents = { NULL, 0 };
    bool have_users;
    struct policy *policy = policy_from_options(&loaded.options, loaded.policy);
    loaded.policy = NULL; /* taken, also on failure */
    bool good = policy != NULL;
    if (!good)
        snprintf(problems, sizeof(problems), "out of memory");
    good = good && server_read_users(server, &contents, &have_users, problems, sizeof(problems));
    good = good && (!have_users || users_file_apply(server->shared.users, &contents, problems,
                                                    sizeof(problems)));
    users_file_contents_free(&contents);
    if (!good) {
        server_config_log_refusal(trigger, problems, users_count(server->shared.users));
        server_config_first_problem(problems, message, message_size);
        policy_destroy(policy);
        server_config_free(&loaded);
        return false;
    }
    const struct server_options *options = &loaded.options;
    /* Every user's configured limits from the new table; the old one stays readable until it
     * is freed below, once every worker holds the new policy. */
    limits_table_install(policy->limits, server->shared.users);
    struct proxy_settings *settings = settings_store_begin_change(server->settings);
    settings->handshake_timeout_ms = options->handshake_timeout_s * 1000u;
    settings->connect_timeout_ms = options->connect_timeout_s * 1000u;
    settings->idle_timeout_ms = options->idle_timeout_s * 1000u;
    settings->buffer_size = options->buffer_size;
    settings->no_auth_allowed = options->no_auth_allowed;
    settings->max_connections =
        options->max_connections ? options->max_connections : server->derived_max_connections;
    settings->policy = policy;
    settings_store_commit_change(server->settings);
    /* Every worker holds the new policy now: nothing reads the old one any more. */
    policy_destroy(server->policy);
    server->policy = policy;
    log_set_level(options->log_level);
    server_config_restart_keys(&server->config.options, options, message, message_size);
    if (message[0] != '\0')
        log_message(LOG_WARN, "%s: changed, but kept until a restart: %s", trigger, message);
    if (user_store_path(server->user_store) != NULL)
        log_message(LOG_INFO, "%s: users file %s reloaded: %zu users", trigger,
                    user_store_path(server->user_store), users_count(server->shared.users));
    log_message(LOG_INFO, "%s: configuration %s reloaded; new connections get it", trigger,
                options->config_path != NULL ? options->config_path : "(command line only)");
    server_config_free(&loaded);
    return true;
}

static bool server_admin_reload(void *server, char *message, size_t message_size)
{
    return server_reload(server, "reload", message, message_size);
}

struct reload_call {
    struct server *server;
    bool applied;
    char message[512];
};

static void reload_call(void *argument)
{
    struct reload_call *call = argument;
    call->applied = server_reload(call->server, "SIGHUP", call->message, sizeof(call->message));
}

/* SIGHUP, on the main thread: the reload itself runs on the admin's (see server_reload). */
static void server_on_sighup(struct server *server)
{
    if (server->taken_over) {
        log_message(LOG_WARN, "SIGHUP ignored: taken over, this process only drains");
        return;
    }
    struct reload_call call = { .server = server };
    service_notify_reloading(server->notify);
    event_loop_call(admin_thread_loop(server->admin), reload_call, &call);
    service_notify_reloaded(server->notify, call.applied ? NULL : call.message);
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
            server_on_sighup(watcher->data);
        } else if (info.ssi_signo == SIGUSR2) {
            struct server *server = watcher->data;
            workers_expect_forks(server->workers, server->worker_count); /* spawning forks */
            handover_start_successor(server->handover, server->argc, server->argv);
        } else if (info.ssi_signo == SIGCHLD) {
            handover_reap(((struct server *)watcher->data)->handover);
        }
    }
}

static bool server_watch_signals(struct server *server)
{
    sigset_t mask;
    process_handled_signals(&mask);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return false;
    event_watcher_init(&server->signals, fd, server_on_signal, server);
    return event_loop_watch(server->loop, &server->signals, EVENT_READ) == 0;
}

/* ---- the admin thread and systemd ---- */

/* On the admin's thread, after each change to the users. */
static bool server_save_users(void *server)
{
    return user_store_save(((struct server *)server)->user_store);
}

static bool server_start_admin(struct server *server, const struct server_options *options)
{
    int fd = server->take_over != NULL
                 ? ports_take_admin(options, server->take_over, server->admin_listen_text)
                 : ports_listen_admin(options, server->admin_listen_text);
    if (fd < 0)
        return false;
    int metrics_fd = ports_open_metrics(options, server->take_over, server->metrics_listen_text);
    struct tls_server *admin_tls = NULL;
    if ((metrics_fd < 0 && options->metrics_listen != NULL) ||
        !admin_tls_open(options, &admin_tls)) {
        close(fd);
        if (metrics_fd >= 0)
            close(metrics_fd);
        return false;
    }
    struct admin_thread_config config = {
        .proxy = &server->shared,
        .proxy_settings = server->settings,
        .listening_fd = fd,
        .tls = admin_tls,
        .max_sessions = options->admin_max_sessions,
        .save_users = server_save_users,
        .reload = server_admin_reload,
        .context = server,
        .socks_listeners = server->socks_listen_text,
        .admin_listeners = server->admin_listen_text,
        .started_ms = server->started_ms,
        .accounting_db = server_accounting_path(),
        .history_days = (unsigned)options->history_days,
        .history_max_rows = options->history_max_rows,
        .metrics_fd = metrics_fd,
        .metrics_listener = server->metrics_listen_text,
        .metrics_max_users = options->metrics_max_users,
    };
    server->admin = admin_thread_create(&config);
    server_accounting_set_admin(server->admin);
    return server->admin != NULL;
}

/* On the main loop's thread, about once a second under systemd. */
static void server_read_counts(void *context, struct service_counts *counts)
{
    struct server *server = context;
    counts->tunnels = server_live_sessions(server);
    counts->users = users_count(server->shared.users);
    counts->admin_sessions = server->admin != NULL ? admin_thread_session_count(server->admin) : 0;
}

static bool server_prepare_notify(struct server *server)
{
    size_t count = server->worker_count + 1;
    struct service_watched_loop *watched = calloc(count, sizeof(*watched));
    if (watched != NULL) {
        for (size_t i = 0; i < server->worker_count; i++) {
            watched[i].loop = worker_loop(server->workers[i]);
            snprintf(watched[i].name, sizeof(watched[i].name), "worker %zu", i);
        }
        watched[server->worker_count].loop = admin_thread_loop(server->admin);
        snprintf(watched[server->worker_count].name, sizeof(watched->name), "admin");
        struct service_notify_config config = {
            .main_loop = server->loop,
            .watched = watched,
            .watched_count = count,
            .read_counts = server_read_counts,
            .context = server,
            .taken_over_pid =
                server->take_over != NULL ? take_over_running_pid(server->take_over) : 0,
        };
        server->notify = service_notify_create(&config);
        free(watched);
    }
    if (server->notify == NULL)
        log_message(LOG_ERROR, "cannot set up systemd notifications: out of memory");
    return server->notify != NULL;
}

/* ---- the workers and their settings ---- */

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

static struct proxy_settings settings_from(struct server *server,
                                          const struct server_options *options)
{
    rlim_t descriptors = process_raise_descriptor_limit();
    size_t fit = descriptors > 2 * RESERVED_FDS ? (size_t)(descriptors - RESERVED_FDS) / 2 : 16;
    server->derived_max_connections = fit;
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

/* The rules and limits the options ask for, over the config file's sections (configured:
 * taken, also on failure). */
static struct policy *policy_from_options(const struct server_options *options,
                                          struct policy *configured)
{
    struct policy *policy = configured;
    if (policy != NULL) {
        policy->allow_loopback = options->allow_loopback;
        policy->max_connections_per_address = options->max_connections_per_address;
        /* The options' checks took each one already. */
        char unused[8];
        for (size_t i = 0; i < options->proxy_source_count; i++)
            network_parse(options->proxy_sources[i], &policy->proxy_sources[i], unused,
                          sizeof(unused));
        policy->proxy_source_count = options->proxy_source_count;
    }
    return policy;
}

/* The settings store's publisher: every worker has the new version before the change is
 * acknowledged. */
static void server_publish_settings(void *context)
{
    struct server *server = context;
    for (size_t i = 0; i < server->worker_count; i++)
        worker_refresh_settings(server->workers[i]);
}

/* On the worker's thread: a slot freed, so its listeners may accept again. */
static void server_on_session_closed(void *context)
{
    worker_resume_listening(context);
}

static bool server_create_workers(struct server *server, const struct server_options *options)
{
    struct proxy_shared *shared = &server->shared;
    struct proxy_settings initial = settings_from(server, options);
    server->policy = policy_from_options(options, server->config.policy);
    server->config.policy = NULL;
    if (server->policy == NULL)
        return false;
    initial.policy = server->policy;
    server->settings = settings_store_create(&initial, server_publish_settings, server);
    shared->users = users_create();
    shared->throttle = login_throttle_create();
    shared->address_slots = address_slots_create();
    char service[PAM_AUTH_SERVICE_MAX + 1], why[160];
    pam_auth_parse_method(options->auth, service, why, sizeof(why)); /* checked by the load */
    struct pam_auth_config pam = { service, options->pam_config_dir, options->admin_group,
                                   options->pam_cache_s * 1000ull };
    shared->pam = service[0] != '\0' ? pam_realm_create(&pam) : NULL;
    size_t worker_count = choose_worker_count(options->workers);
    server->workers = calloc(worker_count, sizeof(*server->workers));
    shared->workers = calloc(worker_count, sizeof(*shared->workers));
    if (server->settings == NULL || shared->users == NULL || shared->throttle == NULL ||
        shared->address_slots == NULL || server->workers == NULL || shared->workers == NULL ||
        (service[0] != '\0' && shared->pam == NULL))
        return false;
    limits_table_install(server->policy->limits, shared->users);
    users_set_history_capacity(shared->users, options->history_per_user);
    shared->worker_count = worker_count;
    unsigned crypt_threads = CRYPT_THREADS / (unsigned)worker_count;
    for (size_t i = 0; i < worker_count; i++) {
        struct worker_config config = {
            .shared = shared,
            .settings = server->settings,
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
        server->worker_count = i + 1;
        /* The callback gets its own worker: set once the worker exists. */
        worker_proxy(server->workers[i])->on_session_closed_context = server->workers[i];
        shared->workers[i] = worker_proxy(server->workers[i]);
    }
    return true;
}

/* ---- upgrades: the listening sockets handed over to a new process, or taken from one ---- */

/* Why SCM_RIGHTS over a unix socket (as HAProxy's -x) and not systemd's descriptor store: it
 * works the same with and without systemd, and the new process gets the very sockets the
 * running one listens on, accept queues and SO_REUSEPORT group included, so no connection
 * waiting to be accepted is lost while the two change places. */
static bool server_listen_socks(struct server *server, const struct server_options *options)
{
    if (server->take_over != NULL)
        return ports_take_socks(options, server->take_over, server->workers,
                                server->worker_count, server->socks_listen_text);
    return ports_listen_socks(options, server->workers, server->worker_count,
                              server->socks_listen_text);
}

/* A new process serves on the same sockets: this one stops accepting (the sockets' queues
 * are the new one's now), ends its admin port (one process writes the users file), falls
 * silent to systemd and lets its tunnels finish within the grace time. */
static size_t server_on_taken_over(void *context, pid_t new_pid, unsigned *grace_s)
{
    struct server *server = context;
    server->taken_over = true;
    service_notify_release(server->notify); /* first: it watches the admin's loop */
    server_stop_listening(server);
    admin_thread_stop(server->admin);
    server_accounting_set_admin(NULL); /* its figures kept, for the accounting's samples */
    admin_thread_destroy(server->admin);
    server->admin = NULL;
    size_t live = server_live_sessions(server);
    *grace_s = server->grace_ms / 1000;
    log_message(LOG_INFO, "taken over by socks5d pid %d: not accepting; %zu tunnels may finish "
                          "within %u s", (int)new_pid, live, *grace_s);
    server->draining = true;
    if (live == 0 || server->grace_ms == 0) {
        event_loop_stop(server->loop);
        return live;
    }
    event_loop_timer_start(server->loop, &server->grace_timer, server->grace_ms);
    event_loop_timer_start(server->loop, &server->drain_timer, DRAIN_CHECK_MS);
    return live;
}

static bool server_open_upgrade_socket(struct server *server, const struct server_options *options)
{
    struct handover_config config = {
        .loop = server->loop,
        .upgrade_socket = options->upgrade_socket,
        .users_file = user_store_path(server->user_store),
        .take_over = server->take_over,
        .workers = server->workers,
        .worker_count = server->worker_count,
        .admin = &server->admin,
        .run_as = options->run_as_user,
        .on_taken_over = server_on_taken_over,
        .context = server,
    };
    return handover_open(&config, &server->handover);
}

/* ---- the process ---- */

static bool server_load_users(struct server *server, const struct server_options *options)
{
    bool missing;
    struct users *users = server->shared.users;
    server->user_store = user_store_create(options->users_file, users);
    if (server->user_store == NULL) {
        log_message(LOG_ERROR, "cannot choose the users file: out of memory");
        return false;
    }
    return user_store_load(server->user_store, &missing) &&
           initial_users_add_options(users, options) &&
           initial_users_add_environment_admin(users) &&
           initial_users_ensure_an_admin(users, user_store_path(server->user_store)) &&
           user_store_save(server->user_store);
}

struct server *server_create(struct server_config *config, int argc, char **argv)
{
    struct server *server = calloc(1, sizeof(*server));
    if (server == NULL) {
        server_config_free(config);
        return NULL;
    }
    server->config = *config;
    server->argc = argc;
    server->argv = argv;
    const struct server_options *options = &server->config.options;
    log_set_level(options->log_level);
    if (!log_open_access(options->access_log)) {
        log_message(LOG_ERROR, "cannot open access log %s: %s", options->access_log, strerror(errno));
        server_config_free(&server->config);
        free(server);
        return NULL;
    }
    server->signals.fd = -1;
    server->started_ms = log_realtime_ms();
    server->grace_ms = options->shutdown_grace_s * 1000u;
    event_timer_init(&server->grace_timer, server_on_grace_over, server);
    event_timer_init(&server->drain_timer, server_on_drain_check, server);
    if (!process_block_signals() || (server->loop = event_loop_create()) == NULL ||
        !server_create_workers(server, options) || !server_watch_signals(server)) {
        log_message(LOG_ERROR, "cannot set up the event loops and their threads: %s",
                    strerror(errno));
        server_destroy(server);
        return NULL;
    }
    if (options->take_over != NULL &&
        (server->take_over = take_over_receive(options->take_over)) == NULL) {
        server_destroy(server);
        return NULL;
    }
    if (!server_load_users(server, options) || !server_open_upgrade_socket(server, options) ||
        !server_listen_socks(server, options) || !server_start_admin(server, options) ||
        !process_drop_privileges(options->run_as_user) ||
        /* As the account that will write it (--run-as): SQLite makes its WAL files as it goes. */
        !server_accounting_start(options, user_store_path(server->user_store), &server->shared) ||
        !process_check_tcp_congestion(options->tcp_congestion) || !server_prepare_notify(server)) {
        server_destroy(server);
        return NULL;
    }
    server->listening = true;
    if (user_store_path(server->user_store) == NULL)
        log_message(LOG_WARN, "no users file (-f off): user changes will not survive a restart");
    struct proxy_settings settings;
    settings_store_read(server->settings, &settings);
    log_message(LOG_INFO, "socks5d ready: %zu users, auth %s, max %zu connections, %zu worker%s",
                users_count(server->shared.users),
                settings.no_auth_allowed ? "optional" : "required", settings.max_connections,
                server->worker_count, server->worker_count == 1 ? "" : "s");
    return server;
}

int server_run(struct server *server)
{
    /* Now that everything they serve (listeners, users) is in place. */
    for (size_t i = 0; i < server->worker_count; i++) {
        if (!worker_start_thread(server->workers[i])) {
            log_message(LOG_ERROR, "cannot start worker thread %zu: %s", i, strerror(errno));
            return 1;
        }
    }
    if (!admin_thread_start(server->admin)) {
        log_message(LOG_ERROR, "cannot start the admin thread: %s", strerror(errno));
        return 1;
    }
    if (server->take_over != NULL) {
        /* Serving: systemd learns the new main process before the old one may exit. */
        service_notify_main_pid(server->notify);
        take_over_complete(server->take_over);
        take_over_destroy(server->take_over);
        server->take_over = NULL;
        handover_serving(server->handover);
    } else {
        service_notify_ready(server->notify);
    }
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
    /* The admin first: its commands call into the workers, never the other way round. */
    admin_thread_stop(server->admin);
    for (size_t i = 0; i < server->worker_count; i++)
        worker_stop_thread(server->workers[i]);
    handover_destroy(server->handover);
    /* Never started serving: the running process is told, and goes on. */
    take_over_destroy(server->take_over);
    service_notify_destroy(server->notify);
    if (server->signals.fd >= 0) {
        event_loop_unwatch(server->loop, &server->signals);
        close(server->signals.fd);
    }
    server_accounting_set_admin(NULL);
    admin_thread_destroy(server->admin);
    /* Workers (and pools) go before the users table, which late crypt jobs and closing
     * sessions read; the lifetime totals are taken once their last bytes are counted. */
    for (size_t i = 0; i < server->worker_count; i++)
        worker_close_sessions(server->workers[i]);
    server_accounting_workers_gone();
    for (size_t i = 0; i < server->worker_count; i++)
        worker_destroy(server->workers[i]);
    /* Once the workers queued their last records; before the users table it samples. */
    server_accounting_stop(&server->shared);
    users_destroy(server->shared.users);
    login_throttle_destroy(server->shared.throttle);
    pam_realm_destroy(server->shared.pam);
    address_slots_destroy(server->shared.address_slots);
    settings_store_destroy(server->settings);
    policy_destroy(server->policy);
    user_store_destroy(server->user_store);
    server_config_free(&server->config);
    free(server->workers);
    free(server->shared.workers);
    event_loop_destroy(server->loop);
    log_close_access();
    free(server);
}
