/* socks5_session: one SOCKS5 client connection as an explicit state machine — greeting,
 * RFC 1929 auth, request, resolve, connect, relay — one handler per state. */
#ifndef SOCKS5_SESSION_H
#define SOCKS5_SESSION_H

#include <stdbool.h>
#include <sys/socket.h>

struct proxy;

/* Takes ownership of client_fd (non-blocking). On failure the fd is closed. */
void session_start(struct proxy *proxy, int client_fd, const struct sockaddr_storage *peer);
/* Closes every live session (server shutdown). */
void session_close_all(struct proxy *proxy);
bool session_proxy_has_capacity(void *proxy);

#endif
