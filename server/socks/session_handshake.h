/* session_handshake: a session's first stage — the proxy's pre-greeting stage if it has one,
 * the greeting and method choice, RFC 1929 checked by the auth backend — up to the request. */
#ifndef SESSION_HANDSHAKE_H
#define SESSION_HANDSHAKE_H

#include <sys/socket.h>

struct proxy;

/* Starts a session on client_fd (owned from now on) and reads what the client sent with its
 * connect. */
void session_handshake_start(struct proxy *proxy, int client_fd,
                             const struct sockaddr_storage *peer);

#endif
