/* worker: one event loop serving SOCKS5 clients on its own thread, with its own listening
 * sockets (SO_REUSEPORT: the kernel spreads new connections), pools, metrics and sessions. */
#ifndef WORKER_H
#define WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy.h"

struct settings_store;
struct worker;

struct worker_config {
    struct proxy_shared *shared;
    struct settings_store *settings; /* where the worker takes its copy from */
    unsigned index;
    unsigned resolver_threads;
    unsigned crypt_threads;
    bool splice;
    unsigned busy_poll_us; /* event_loop_set_busy_poll */
    /* Called on the worker's thread whenever one of its sessions ends. */
    void (*on_session_closed)(void *context);
    void *on_session_closed_context;
};

/* The loop, pools and proxy state; no thread yet. NULL when out of memory or threads. */
struct worker *worker_create(const struct worker_config *config);
/* Takes a listening socket (closed on failure). Before the worker starts. */
bool worker_listen(struct worker *worker, int listening_fd);
/* Its listening sockets (at most max, into fds; still the worker's): what an upgrade hands
 * over. From the main thread, while the worker's listeners stay as they are. */
size_t worker_listening_fds(const struct worker *worker, int *fds, size_t max);
struct proxy *worker_proxy(struct worker *worker);
struct event_loop *worker_loop(struct worker *worker);

/* Runs the worker's loop on a new thread ("socks5d-wN"). */
bool worker_start_thread(struct worker *worker);
/* From any thread: the worker takes the settings store's current version, for the sessions
 * it starts from then on and the relay buffers it hands out; returns once it has. */
void worker_refresh_settings(struct worker *worker);
/* From the main thread: closes the worker's listening sockets (taken out of its loop first,
 * so a socket another process shares stays whole, its queue included); its sessions go
 * on. */
void worker_stop_listening(struct worker *worker);
/* Resumes listeners paused at the connection limit (on the worker's thread). */
void worker_resume_listening(struct worker *worker);
/* Before a fork while the workers run (an upgrade's spawn): every loop has seen that closed
 * sockets must leave epoll first (event_loop_expect_forks) when this returns. */
void workers_expect_forks(struct worker **workers, size_t count);
/* From the main thread: ends the worker's loop and joins its thread. */
void worker_stop_thread(struct worker *worker);
/* After worker_stop_thread: closes the listeners and every session (their last bytes counted
 * and recorded); the worker's metrics stay readable until worker_destroy. */
void worker_close_sessions(struct worker *worker);
/* After worker_stop_thread: closes every session (if still open) and frees everything. */
void worker_destroy(struct worker *worker);

#endif
