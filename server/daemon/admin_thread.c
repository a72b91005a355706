/* admin_thread: the admin port on an event loop and thread of its own ("socks5d-admin"): no
 * worker carries it, and its commands reach every worker alike, through event_loop_call. */
#include "admin_thread.h"

#include "admin_handlers.h"
#include "admin_server.h"
#include "event_loop.h"
#include "log.h"
#include "metrics_endpoint.h"
#include "metrics_scrape.h"
#include "tls_transport.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Checking an admin's password costs ~70 ms of one core and logins are rare: one thread, so
 * that a burst of them waits rather than taking the CPUs the workers serve on. */
#define ADMIN_CRYPT_THREADS 1
/* Prometheus scrapes one connection at a time per server; a few more allow for several
 * Prometheus replicas and a curl or two, without letting anyone hold sockets by the hundred. */
#define METRICS_MAX_CONNECTIONS 16
#define METRICS_REQUEST_TIMEOUT_MS 5000

struct admin_thread {
    struct event_loop *loop;
    struct admin_server *server;
    struct metrics_endpoint *metrics; /* NULL when --metrics-listen is not set */
    size_t metrics_max_users;
    struct tls_server *tls; /* freed after the sessions that use it */
};

static struct transport *admin_open_tls(void *tls, int fd)
{
    return tls_transport_accept(tls, fd);
}

static bool admin_render_metrics(void *context, struct prometheus_buffer *body)
{
    struct admin_thread *admin = context;
    return metrics_scrape_write(admin->server, admin->metrics_max_users, body);
}

/* Takes config->metrics_fd. */
static bool admin_start_metrics(struct admin_thread *admin,
                                const struct admin_thread_config *config)
{
    if (config->metrics_fd < 0)
        return true;
    struct metrics_endpoint_settings settings = {
        .max_connections = METRICS_MAX_CONNECTIONS,
        .request_timeout_ms = METRICS_REQUEST_TIMEOUT_MS,
    };
    admin->metrics_max_users = config->metrics_max_users;
    admin->metrics = metrics_endpoint_create(admin->loop, config->metrics_fd, &settings,
                                             admin_render_metrics, admin);
    if (admin->metrics == NULL) {
        log_message(LOG_ERROR, "cannot set up the metrics endpoint: %s", strerror(errno));
        return false;
    }
    log_message(LOG_INFO, "listening for metrics on %s", config->metrics_listener);
    return true;
}

struct admin_thread *admin_thread_create(const struct admin_thread_config *config)
{
    struct admin_thread *admin = calloc(1, sizeof(*admin));
    if (admin != NULL)
        admin->loop = event_loop_create();
    if (admin == NULL || admin->loop == NULL) {
        log_message(LOG_ERROR, "cannot set up the admin's event loop: %s", strerror(errno));
        close(config->listening_fd);
        if (config->metrics_fd >= 0)
            close(config->metrics_fd);
        tls_server_destroy(config->tls);
        free(admin);
        return NULL;
    }
    admin->tls = config->tls;
    struct admin_server_settings settings = {
        .max_sessions = config->max_sessions,
        .auth_timeout_ms = ADMIN_AUTH_TIMEOUT_SECONDS * 1000,
        .idle_timeout_ms = ADMIN_IDLE_TIMEOUT_SECONDS * 1000,
        .crypt_threads = ADMIN_CRYPT_THREADS,
    };
    struct admin_server_hooks hooks = {
        .handler = { .handle = admin_handle_request, .cancel = admin_pending_cancel },
        .proxy_settings = config->proxy_settings,
        .save_users = config->save_users,
        .reload = config->reload,
        .context = config->context,
        .socks_listeners = config->socks_listeners,
        .admin_listeners = config->admin_listeners,
        .started_ms = config->started_ms,
        .accounting_db = config->accounting_db,
        .history_days = config->history_days,
        .history_max_rows = config->history_max_rows,
        .open_transport = config->tls != NULL ? admin_open_tls : NULL,
        .transport_context = config->tls,
    };
    admin->server = admin_server_create(admin->loop, config->proxy, config->listening_fd,
                                        &settings, &hooks);
    if (admin->server == NULL) {
        log_message(LOG_ERROR, "cannot set up the admin port: %s", strerror(errno));
        if (config->metrics_fd >= 0)
            close(config->metrics_fd);
        admin_thread_destroy(admin);
        return NULL;
    }
    log_message(LOG_INFO, "listening for admin on %s", config->admin_listeners);
    if (!admin_start_metrics(admin, config)) {
        admin_thread_destroy(admin);
        return NULL;
    }
    return admin;
}

/* Left running, the admin port would hang its clients with nobody answering: the whole
 * server stops cleanly instead, as when a worker's loop fails. */
static void admin_on_loop_failure(void *context)
{
    (void)context;
    log_message(LOG_ERROR, "admin: event loop failed: %s; shutting down", strerror(errno));
    kill(getpid(), SIGTERM);
}

/* "socks5d-admin" in top -H, ps -L and /proc/PID/task/TID/comm. */
static void admin_name_thread(void *argument)
{
    (void)argument;
    pthread_setname_np(pthread_self(), "socks5d-admin");
}

bool admin_thread_start(struct admin_thread *admin)
{
    if (!event_loop_start_thread(admin->loop, admin_on_loop_failure, admin))
        return false;
    event_loop_call(admin->loop, admin_name_thread, NULL);
    return true;
}

struct event_loop *admin_thread_loop(struct admin_thread *admin) { return admin->loop; }

size_t admin_thread_session_count(const struct admin_thread *admin)
{
    return admin_server_session_count(admin->server);
}

int admin_thread_metrics_fd(const struct admin_thread *admin)
{
    return admin->metrics != NULL ? metrics_endpoint_listening_fd(admin->metrics) : -1;
}

int admin_thread_listening_fd(const struct admin_thread *admin)
{
    return admin_server_listening_fd(admin->server);
}

const struct metrics *admin_thread_metrics(const struct admin_thread *admin)
{
    return admin_server_metrics(admin->server);
}

void admin_thread_stop(struct admin_thread *admin)
{
    if (admin != NULL)
        event_loop_join_thread(admin->loop);
}

void admin_thread_destroy(struct admin_thread *admin)
{
    if (admin == NULL)
        return;
    metrics_endpoint_destroy(admin->metrics);
    admin_server_destroy(admin->server);
    tls_server_destroy(admin->tls);
    event_loop_destroy(admin->loop);
    free(admin);
}
