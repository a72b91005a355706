/* admin_thread: the admin port on an event loop and thread of its own ("socks5d-admin"): no
 * worker carries it, and its commands reach every worker alike, through event_loop_call. */
#ifndef ADMIN_THREAD_H
#define ADMIN_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_loop;
struct metrics;
struct proxy_shared;
struct settings_store;
struct tls_server;
struct admin_thread;

struct admin_thread_config {
    struct proxy_shared *proxy;
    struct settings_store *proxy_settings;
    int listening_fd; /* taken, also on failure */
    struct tls_server *tls; /* the sessions' TLS, taken, also on failure; NULL = plaintext */
    size_t max_sessions;
    /* Called on the admin's thread after each change to the users; false = undo it. */
    bool (*save_users)(void *context);
    /* The admin's reload command, on the admin's thread (admin_server_hooks.reload). */
    bool (*reload)(void *context, char *message, size_t message_size);
    void *context;
    const char *socks_listeners; /* both kept by reference, for server-info */
    const char *admin_listeners;
    int64_t started_ms;
    const char *accounting_db; /* kept by reference; "" or NULL when accounting is off */
    unsigned history_days;
    uint64_t history_max_rows;
    /* The Prometheus endpoint on the same loop: its listening socket (taken, also on
     * failure; -1 = none), where it is (for the log), and how many users get series. */
    int metrics_fd;
    const char *metrics_listener;
    size_t metrics_max_users;
};

/* The loop and the admin server on it, not running yet. NULL (logged) on failure. */
struct admin_thread *admin_thread_create(const struct admin_thread_config *config);
bool admin_thread_start(struct admin_thread *admin);
/* The users file is written on this loop only: whatever else rewrites the users table (a
 * reload) runs there too (event_loop_call), one change after the other. */
struct event_loop *admin_thread_loop(struct admin_thread *admin);
/* From any thread. */
size_t admin_thread_session_count(const struct admin_thread *admin);
/* The admin port's listening socket, still the admin's: what an upgrade hands over. */
int admin_thread_listening_fd(const struct admin_thread *admin);
/* The Prometheus endpoint's listening socket, -1 when there is none. */
int admin_thread_metrics_fd(const struct admin_thread *admin);
/* The admin's own counters (failed admin logins), part of the server's figures. */
const struct metrics *admin_thread_metrics(const struct admin_thread *admin);
/* Ends the loop and joins the thread; the sessions stay open until destroy. */
void admin_thread_stop(struct admin_thread *admin);
/* Closes every admin session and the port; after stop, or if it never started. */
void admin_thread_destroy(struct admin_thread *admin);

#endif
