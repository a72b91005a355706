/* worker: one event loop serving SOCKS5 clients on its own thread, with its own listening
 * sockets (SO_REUSEPORT: the kernel spreads new connections), pools, metrics and sessions. */
#include "worker.h"

#include "buffer_pool.h"
#include "event_loop.h"
#include "listener.h"
#include "log.h"
#include "options.h"
#include "pam_auth.h"
#include "pipe_pool.h"
#include "session_proxy_header.h"
#include "settings_store.h"
#include "socks5_session.h"
#include "work_pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Idle relay memory a worker keeps for reuse; the server divides these among its workers. */
#define CACHED_BUFFERS 256
#define CACHED_PIPES 64
#define MIN_CACHED 8
/* Bytes one splice may move; a bigger pipe means fewer syscalls per megabyte streamed. */
#define SPLICE_PIPE_SIZE (256 * 1024)

struct worker {
    struct proxy proxy;
    struct settings_store *settings;
    /* One per SOCKS address; a take-over may give a worker more (the running process had
     * more workers than this one). */
    struct listener **listeners;
    size_t listener_count;
    size_t listener_capacity;
};

static size_t share_of(size_t total, size_t workers)
{
    size_t share = total / (workers > 0 ? workers : 1);
    return share < MIN_CACHED ? MIN_CACHED : share;
}

struct worker *worker_create(const struct worker_config *config)
{
    struct worker *worker = calloc(1, sizeof(*worker));
    if (worker == NULL)
        return NULL;
    struct proxy *proxy = &worker->proxy;
    pthread_mutex_init(&proxy->sessions_lock, NULL);
    proxy->shared = config->shared;
    proxy->worker_index = config->index;
    proxy->users = config->shared->users;
    proxy->throttle = config->shared->throttle;
    proxy->pre_greeting = &session_proxy_header_prelude;
    worker->settings = config->settings;
    settings_store_read(config->settings, &proxy->settings);
    proxy->on_session_closed = config->on_session_closed;
    proxy->on_session_closed_context = config->on_session_closed_context;
    proxy->loop = event_loop_create();
    if (proxy->loop == NULL) {
        worker_destroy(worker);
        return NULL;
    }
    event_loop_set_busy_poll(proxy->loop, config->busy_poll_us);
    size_t workers = config->shared->worker_count;
    proxy->resolver_pool = work_pool_create(proxy->loop, config->resolver_threads);
    proxy->crypt_pool = work_pool_create(proxy->loop, config->crypt_threads);
    if (config->shared->pam != NULL)
        proxy->pam_pool = work_pool_create(proxy->loop, PAM_POOL_THREADS);
    proxy->relay.buffers =
        buffer_pool_create(proxy->settings.buffer_size, share_of(CACHED_BUFFERS, workers));
    if (config->splice)
        proxy->relay.pipes = pipe_pool_create(share_of(CACHED_PIPES, workers), SPLICE_PIPE_SIZE);
    if (proxy->resolver_pool == NULL || proxy->crypt_pool == NULL ||
        (config->shared->pam != NULL && proxy->pam_pool == NULL) || proxy->relay.buffers == NULL ||
        (config->splice && proxy->relay.pipes == NULL)) {
        worker_destroy(worker);
        return NULL;
    }
    return worker;
}

static void worker_on_accept(void *proxy, int fd, const struct sockaddr_storage *peer)
{
    session_start(proxy, fd, peer);
}

bool worker_listen(struct worker *worker, int listening_fd)
{
    struct proxy *proxy = &worker->proxy;
    struct listener *listener = NULL;
    if (worker->listener_count == worker->listener_capacity) {
        size_t capacity = worker->listener_capacity > 0 ? worker->listener_capacity * 2
                                                        : OPTIONS_MAX_LISTEN;
        struct listener **grown = realloc(worker->listeners, capacity * sizeof(*grown));
        if (grown == NULL) {
            close(listening_fd);
            return false;
        }
        worker->listeners = grown;
        worker->listener_capacity = capacity;
    }
    listener = listener_create(proxy->loop, listening_fd, worker_on_accept,
                                   session_proxy_has_capacity, proxy,
                                   &proxy->metrics.accept_paused);
    if (listener == NULL) {
        close(listening_fd);
        return false;
    }
    listener_count_paused(listener, &proxy->metrics.listeners_paused);
    worker->listeners[worker->listener_count++] = listener;
    return true;
}

size_t worker_listening_fds(const struct worker *worker, int *fds, size_t max)
{
    size_t count = 0;
    for (size_t i = 0; i < worker->listener_count && count < max; i++)
        fds[count++] = listener_fd(worker->listeners[i]);
    return count;
}

struct proxy *worker_proxy(struct worker *worker) { return &worker->proxy; }
struct event_loop *worker_loop(struct worker *worker) { return worker->proxy.loop; }

/* A worker whose loop died would leave its listening socket in the SO_REUSEPORT group with
 * nobody accepting: say so and shut the whole server down cleanly instead. */
static void worker_on_loop_failure(void *context)
{
    struct worker *worker = context;
    log_message(LOG_ERROR, "worker %u: event loop failed: %s; shutting down",
                worker->proxy.worker_index, strerror(errno));
    kill(getpid(), SIGTERM);
}

/* On the worker's own thread. "socks5d-wN" in top -H, ps -L and /proc/PID/task/TID/comm tells
 * a worker's loop from the pools' threads (which keep the process's name). */
static void worker_name_thread(void *argument)
{
    struct worker *worker = argument;
    char name[16]; /* the kernel's limit, NUL included */
    snprintf(name, sizeof(name), "socks5d-w%u", worker->proxy.worker_index);
    pthread_setname_np(pthread_self(), name);
}

bool worker_start_thread(struct worker *worker)
{
    if (!event_loop_start_thread(worker->proxy.loop, worker_on_loop_failure, worker))
        return false;
    event_loop_call(worker->proxy.loop, worker_name_thread, worker);
    return true;
}

/* On the worker's thread: sessions read proxy->settings there, so the copy never changes
 * under one of them in the middle of an event. */
static void worker_take_settings(void *argument)
{
    struct worker *worker = argument;
    struct proxy *proxy = &worker->proxy;
    struct proxy_settings current;
    settings_store_read(worker->settings, &current);
    if (current.buffer_size != proxy->settings.buffer_size)
        buffer_pool_set_block_size(proxy->relay.buffers, current.buffer_size);
    proxy->settings = current;
}

void worker_refresh_settings(struct worker *worker)
{
    event_loop_call(worker->proxy.loop, worker_take_settings, worker);
}

static void worker_close_listeners(void *argument)
{
    struct worker *worker = argument;
    for (size_t i = 0; i < worker->listener_count; i++)
        listener_destroy(worker->listeners[i]);
    worker->listener_count = 0;
}

void worker_stop_listening(struct worker *worker)
{
    event_loop_call(worker->proxy.loop, worker_close_listeners, worker);
}

static void loop_noted(void *argument)
{
    (void)argument; /* running on the loop is the point: it now sees the flag */
}

void workers_expect_forks(struct worker **workers, size_t count)
{
    event_loop_expect_forks();
    for (size_t i = 0; i < count; i++)
        event_loop_call(workers[i]->proxy.loop, loop_noted, NULL);
}

void worker_resume_listening(struct worker *worker)
{
    for (size_t i = 0; i < worker->listener_count; i++)
        listener_resume(worker->listeners[i]);
}

void worker_stop_thread(struct worker *worker)
{
    event_loop_join_thread(worker->proxy.loop);
}

void worker_close_sessions(struct worker *worker)
{
    if (worker == NULL)
        return;
    struct proxy *proxy = &worker->proxy;
    proxy->on_session_closed = NULL;
    if (proxy->loop != NULL) {
        worker_close_listeners(worker);
        session_close_all(proxy);
    }
}

void worker_destroy(struct worker *worker)
{
    if (worker == NULL)
        return;
    struct proxy *proxy = &worker->proxy;
    worker_close_sessions(worker);
    /* Pools go before the loop: a job finishing late is handed back through it. */
    work_pool_destroy(proxy->resolver_pool);
    work_pool_destroy(proxy->crypt_pool);
    work_pool_destroy(proxy->pam_pool);
    buffer_pool_destroy(proxy->relay.buffers);
    pipe_pool_destroy(proxy->relay.pipes);
    event_loop_destroy(proxy->loop);
    free(worker->listeners);
    pthread_mutex_destroy(&proxy->sessions_lock);
    free(worker);
}
