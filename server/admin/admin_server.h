/* admin_server: the admin port — accepts admin connections and runs each as a state machine
 * (login, then any number of framed requests) over the shared protocol library. */
#ifndef ADMIN_SERVER_H
#define ADMIN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "admin_commands.h"
#include "admin_protocol.h"
#include "admin_text.h"

struct event_loop;
struct metrics;
struct proxy_shared;
struct settings_store;
struct transport;
struct work_pool;
struct user;
struct admin_server;
struct admin_session;
struct admin_response;

/* Work a command left running (a password being hashed): its handler's own, and cancelled
 * through the handler if the session ends first. */
struct admin_pending;

/* Runs the commands: the admin server reads, authenticates and checks each request's role,
 * then hands it here. handle returns true with *response filled, or false when the answer
 * will come later through admin_session_respond (then *pending is set). */
struct admin_command_handler {
    bool (*handle)(struct admin_server *server, struct admin_session *session,
                   struct admin_request *request, struct admin_response *response,
                   struct admin_pending **pending);
    void (*cancel)(struct admin_pending *pending);
};

/* What the command handlers may reach besides the proxy. */
struct admin_server_hooks {
    struct admin_command_handler handler;
    /* The settings' one owner: read and changed here, published to every worker from there. */
    struct settings_store *proxy_settings;
    /* Persists the users table; false when the write failed (the change must be undone). */
    bool (*save_users)(void *context);
    /* Re-reads the configuration and users files and applies them whole: true with the keys
     * left for a restart in message ("" when none), false with why nothing changed. NULL:
     * the server cannot reload. */
    bool (*reload)(void *context, char *message, size_t message_size);
    /* The stream an accepted connection speaks over (takes fd; NULL when it cannot, fd then
     * closed), called with transport_context. NULL: plain TCP. */
    struct transport *(*open_transport)(void *transport_context, int fd);
    void *transport_context; /* the TLS server's context */
    void *context;
    const char *socks_listeners; /* "127.0.0.1:1080 [::1]:1080" */
    const char *admin_listeners;
    int64_t started_ms;
    /* server-info's accounting keys: the database path (NULL when accounting is off) and the
     * retention it was given (0 = no bound). */
    const char *accounting_db;
    unsigned history_days;
    uint64_t history_max_rows;
};

struct admin_server_settings {
    size_t max_sessions;
    uint32_t auth_timeout_ms;
    uint32_t idle_timeout_ms;
    unsigned crypt_threads; /* the admin's own password hashing, off its loop */
};

/* Serves on loop, which runs on a thread of the admin's own: the workers are reached only
 * through what proxy shares (locked tables, atomic counters) and event_loop_call. Takes
 * ownership of listening_fd. */
struct admin_server *admin_server_create(struct event_loop *loop, struct proxy_shared *proxy,
                                         int listening_fd,
                                         const struct admin_server_settings *settings,
                                         const struct admin_server_hooks *hooks);
/* Closes every admin session and the listening socket; on the loop's thread, or once the loop
 * no longer runs. */
void admin_server_destroy(struct admin_server *server);

/* The admin port's listening socket (still the server's): what an upgrade hands over. */
int admin_server_listening_fd(const struct admin_server *server);
/* Logged-in sessions; from any thread (systemd's STATUS line reads it on the main thread). */
size_t admin_server_session_count(const struct admin_server *server);
const struct admin_server_settings *admin_server_settings(const struct admin_server *server);
const struct admin_server_hooks *admin_server_hooks(const struct admin_server *server);
/* The proxy as a whole: users, login throttle, every worker. */
struct proxy_shared *admin_server_proxy(const struct admin_server *server);
/* Hashing for passwords the admin sets; its results come back on the admin's loop. */
struct work_pool *admin_server_crypt_pool(const struct admin_server *server);
/* What the admin port counted itself (failed logins), for the server's figures. */
const struct metrics *admin_server_metrics(const struct admin_server *server);
/* Ends every admin session logged in as user (it was removed). Returns how many. */
size_t admin_server_close_user(struct admin_server *server, const struct user *user,
                               const struct admin_session *except);

/* A command's answer: status OK with body, or an error status with a one-line message. */
struct admin_response {
    uint8_t status;
    char message[256];
    struct admin_text body; /* headroom for the frame header; ready to fill */
};

/* For a command that finished later (password hashing): sends response, then resumes reading.
 * The session may have closed meanwhile: handlers cancel their work when it does. */
void admin_session_respond(struct admin_session *session, struct admin_response *response);
struct user *admin_session_user(const struct admin_session *session);

/* Fills response with an error. */
void admin_response_error(struct admin_response *response, uint8_t status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
