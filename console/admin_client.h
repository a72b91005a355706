/* admin_client: socks5ctl's one admin session — connects (over TLS when asked), logs in once,
 * sends requests one at a time over the shared protocol library, and logs in again if the
 * server went away. */
#ifndef ADMIN_CLIENT_H
#define ADMIN_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin_commands.h"

struct admin_client;

#define ADMIN_CLIENT_DEFAULT_PORT "8080" /* socks5d's admin port unless -P says otherwise */

struct admin_client_options {
    const char *host;      /* name or address literal; default "127.0.0.1" */
    const char *port;      /* default "8080" */
    const char *user;
    const char *password;  /* copied; the caller may wipe its own copy */
    int timeout_ms;        /* per connect, and per reply; default 15000 (a failed login may wait 8 s) */
    bool tls;              /* the admin protocol over TLS; the certificate must be host's */
    const char *ca_file;   /* the CAs to trust (PEM); NULL = the system's store */
};

enum admin_client_result {
    ADMIN_CLIENT_OK,              /* a reply arrived (its status may still be an error) */
    ADMIN_CLIENT_CANNOT_CONNECT,  /* no TCP connection to the server, or no TLS (refused
                                   * certificate, a plaintext port) */
    ADMIN_CLIENT_LOGIN_REFUSED,   /* login answered with a non-zero status (see reply status) */
    ADMIN_CLIENT_LOST,            /* the connection broke or timed out mid-request */
    ADMIN_CLIENT_PROTOCOL_ERROR,  /* the server sent something that is not protocol v2 */
};

/* A response: status and body (NUL-terminated, owned by the reply). */
struct admin_reply {
    uint8_t status;
    char *body;
    size_t body_length;
};

struct admin_client *admin_client_create(const struct admin_client_options *options);
void admin_client_destroy(struct admin_client *client);

/* Connects and logs in. On failure *status holds the login status (for LOGIN_REFUSED) and
 * error a one-line message. */
enum admin_client_result admin_client_connect(struct admin_client *client, uint8_t *status,
                                              char *error, size_t error_size);
bool admin_client_connected(const struct admin_client *client);
/* ADMIN_ROLE_USER or ADMIN_ROLE_ADMIN, valid once connected. */
uint8_t admin_client_role(const struct admin_client *client);
const char *admin_client_user(const struct admin_client *client);

/* Sends request and waits for its response. When the session is not connected (the server
 * restarted, or an earlier call lost it), connects and logs in first. */
enum admin_client_result admin_client_call(struct admin_client *client,
                                           const struct admin_request *request,
                                           struct admin_reply *reply, char *error,
                                           size_t error_size);
void admin_reply_free(struct admin_reply *reply);

/* ---- the session's life, for the prompt and the dashboard ---- */

/* Closes the session (if any); the next call logs in again. */
void admin_client_disconnect(struct admin_client *client);
/* The socket while connected, else -1: poll it for input to notice the server closing (then
 * ask admin_client_check_alive: over TLS, input may be a record that is not data). */
int admin_client_fd(const struct admin_client *client);
/* Whether the session is still open: when the server closed it (restart, idle timeout, the
 * user removed), disconnects and returns false. Never blocks. */
bool admin_client_check_alive(struct admin_client *client);
/* "host:port" as given in the options (IPv6 literals in brackets). */
const char *admin_client_address(const struct admin_client *client);
/* While *flag is non-zero (set by a signal handler, e.g. SIGINT), a call or login waiting on
 * the server gives up: the session is closed and the call returns ADMIN_CLIENT_LOST. */
void admin_client_set_interrupt(struct admin_client *client, const volatile sig_atomic_t *flag);
/* The flag set last (NULL: none), to put it back after lending the session. */
const volatile sig_atomic_t *admin_client_interrupt(const struct admin_client *client);
/* The status of the last login reply (ADMIN_STATUS_OK when it succeeded): tells why a call
 * that had to log in again returned ADMIN_CLIENT_LOGIN_REFUSED. */
uint8_t admin_client_login_status(const struct admin_client *client);
/* After the session's user changed their own password: later logins use the new one. */
bool admin_client_set_password(struct admin_client *client, const char *password);

#endif
