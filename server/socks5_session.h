/* socks5_session: one SOCKS5 client connection as an explicit state machine — greeting,
 * RFC 1929 auth, request, resolve, connect, relay — one handler per state. */
#ifndef SOCKS5_SESSION_H
#define SOCKS5_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct proxy;
struct connection_record;
struct user;

/* Takes ownership of client_fd (non-blocking). On failure the fd is closed. */
void session_start(struct proxy *proxy, int client_fd, const struct sockaddr_storage *peer);
/* Closes every live session (server shutdown). */
void session_close_all(struct proxy *proxy);
bool session_proxy_has_capacity(void *proxy);

/* Visits the record of every live session, in ascending connection id order. */
void session_for_each_live(struct proxy *proxy,
                           void (*visit)(const struct connection_record *record, void *context),
                           void *context);
/* Closes the live session with this connection id; false if there is none. */
bool session_close_by_id(struct proxy *proxy, uint64_t id);
/* Closes every live session of user; returns how many. */
size_t session_close_user(struct proxy *proxy, const struct user *user);

#endif
