/* tls_client: socks5ctl's side of the admin protocol over TLS (OpenSSL, TLS 1.2 at least) —
 * the trusted CAs, the handshake that checks the server's name, and why one was refused. */
#ifndef TLS_CLIENT_H
#define TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tls_client;
struct tls_stream;

/* Trusts the CA certificates of ca_file (PEM), or the system's store when NULL. NULL with a
 * one-line message (naming the file) in error. */
struct tls_client *tls_client_create(const char *ca_file, char *error, size_t error_size);
void tls_client_destroy(struct tls_client *client);

/* A TLS stream over a connected, non-blocking socket (not taken: the caller closes it after
 * tls_stream_destroy), for a server that must prove to be host: a name (sent as SNI) or an
 * address literal. NULL when out of memory or host is unusable, with error set. */
struct tls_stream *tls_stream_create(struct tls_client *client, int fd, const char *host,
                                     char *error, size_t error_size);
/* Sends close_notify if it can at once, and frees the stream. */
void tls_stream_destroy(struct tls_stream *stream);

/* Each of these returns > 0 (bytes), 0 (handshake done; read: end of stream), or -1 with
 * errno EAGAIN (poll for tls_stream_wait_events, then call again with the same arguments) or
 * another errno, tls_stream_error then saying why ("certificate verify failed: hostname
 * mismatch"). A broken connection never raises SIGPIPE. */
int tls_stream_handshake(struct tls_stream *stream);
ssize_t tls_stream_read(struct tls_stream *stream, void *buffer, size_t size);
ssize_t tls_stream_write(struct tls_stream *stream, const void *data, size_t length);
/* POLLIN or POLLOUT: what the last EAGAIN waits for. */
short tls_stream_wait_events(const struct tls_stream *stream);
const char *tls_stream_error(const struct tls_stream *stream);
/* Without blocking: false when the server closed the stream or sent bytes nobody asked for. */
bool tls_stream_idle_alive(struct tls_stream *stream);

#endif
