/* tls_transport: TLS on the server side (OpenSSL, TLS 1.2 at least) — a context made from a
 * certificate chain and its key, and the transport whose reads run the handshake. */
#ifndef TLS_TRANSPORT_H
#define TLS_TRANSPORT_H

#include <stddef.h>

struct transport;
struct tls_server;

/* Reads the PEM certificate chain (the server's certificate first) and its private key.
 * NULL with a one-line message naming the file at fault in error. An expired certificate is
 * accepted with a warning logged: clients will refuse it, and saying so at start helps. */
struct tls_server *tls_server_create(const char *certificate_path, const char *key_path,
                                     char *error, size_t error_size);
void tls_server_destroy(struct tls_server *server);

/* A TLS transport over an accepted, non-blocking socket (taken: closed on failure, NULL when
 * out of memory). The handshake runs inside its first reads; a peer that does not speak TLS
 * makes a read fail with EPROTO (the reason logged) at its first bytes, and a clean TLS
 * close reads as the end of the stream. Used from one thread at a time. */
struct transport *tls_transport_accept(struct tls_server *server, int fd);

#endif
