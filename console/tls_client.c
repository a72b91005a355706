/* tls_client: socks5ctl's side of the admin protocol over TLS (OpenSSL, TLS 1.2 at least) —
 * the trusted CAs, the handshake that checks the server's name, and why one was refused. */
#include "tls_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define ERROR_TEXT_SIZE 512

struct tls_client {
    SSL_CTX *context;
};

struct tls_stream {
    SSL *ssl;
    char host[256];
    short wait_events;
    char error[ERROR_TEXT_SIZE];
};

static void set_error(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *error, size_t error_size, const char *format, ...)
{
    if (error == NULL || error_size == 0)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
}

static const char *tls_reason(const char *fallback)
{
    unsigned long code = ERR_peek_last_error();
    const char *reason = code != 0 ? ERR_reason_error_string(code) : NULL;
    return reason != NULL ? reason : fallback;
}

struct tls_client *tls_client_create(const char *ca_file, char *error, size_t error_size)
{
    if (ca_file != NULL) {
        FILE *file = fopen(ca_file, "r"); /* OpenSSL would only say "system lib" */
        if (file == NULL) {
            set_error(error, error_size, "--ca %s: %s", ca_file, strerror(errno));
            return NULL;
        }
        fclose(file);
    }
    struct tls_client *client = calloc(1, sizeof(*client));
    if (client == NULL || (client->context = SSL_CTX_new(TLS_client_method())) == NULL) {
        set_error(error, error_size, "cannot set up TLS: %s", tls_reason("out of memory"));
        free(client);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(client->context, TLS1_2_VERSION);
    SSL_CTX_set_options(client->context, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(client->context,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(client->context, SSL_VERIFY_PEER, NULL);
    ERR_clear_error();
    int loaded = ca_file != NULL ? SSL_CTX_load_verify_locations(client->context, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(client->context);
    if (loaded != 1) {
        if (ca_file != NULL)
            set_error(error, error_size, "--ca %s: no PEM certificate in it: %s", ca_file,
                      tls_reason("unreadable"));
        else
            set_error(error, error_size, "cannot read the system's CA certificates: %s",
                      tls_reason("unknown error"));
        ERR_clear_error();
        tls_client_destroy(client);
        return NULL;
    }
    return client;
}

void tls_client_destroy(struct tls_client *client)
{
    if (client == NULL)
        return;
    SSL_CTX_free(client->context);
    free(client);
}

/* ---- SIGPIPE ---- */

/* OpenSSL writes with write(2), which raises SIGPIPE on a connection the server closed: the
 * signal is blocked on this thread for the call, and one it raised is taken back (what libpq
 * does), so that a lost server is an error to report, not a console killed. */
struct pipe_guard {
    sigset_t saved;
    bool was_pending;
};

static void pipe_guard_begin(struct pipe_guard *guard)
{
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    guard->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_only, &guard->saved);
}

static void pipe_guard_end(struct pipe_guard *guard)
{
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    int saved_errno = errno;
    if (!guard->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec none = {0, 0};
        sigtimedwait(&pipe_only, NULL, &none);
    }
    pthread_sigmask(SIG_SETMASK, &guard->saved, NULL);
    errno = saved_errno;
}

/* ---- the stream ---- */

struct tls_stream *tls_stream_create(struct tls_client *client, int fd, const char *host,
                                     char *error, size_t error_size)
{
    struct tls_stream *stream = calloc(1, sizeof(*stream));
    if (stream == NULL || (stream->ssl = SSL_new(client->context)) == NULL ||
        SSL_set_fd(stream->ssl, fd) != 1) {
        set_error(error, error_size, "cannot set up TLS: %s", tls_reason("out of memory"));
        ERR_clear_error();
        tls_stream_destroy(stream);
        return NULL;
    }
    snprintf(stream->host, sizeof(stream->host), "%s", host);
    /* An address literal is checked against the certificate's IP entries; a name against
     * its DNS entries, and sent as SNI. */
    unsigned char address[16];
    bool literal = inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1;
    bool named = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream->ssl), host) == 1
                         : SSL_set1_host(stream->ssl, host) == 1 &&
                               SSL_set_tlsext_host_name(stream->ssl, host) == 1;
    if (!named) {
        set_error(error, error_size, "cannot check the server's certificate against '%s': %s",
                  host, tls_reason("not a usable name"));
        ERR_clear_error();
        tls_stream_destroy(stream);
        return NULL;
    }
    SSL_set_connect_state(stream->ssl);
    return stream;
}

void tls_stream_destroy(struct tls_stream *stream)
{
    if (stream == NULL)
        return;
    if (stream->ssl != NULL && SSL_is_init_finished(stream->ssl)) {
        struct pipe_guard guard;
        pipe_guard_begin(&guard);
        SSL_shutdown(stream->ssl);
        pipe_guard_end(&guard);
    }
    ERR_clear_error();
    SSL_free(stream->ssl);
    free(stream);
}

/* Why a handshake failed: the certificate check's own words first. */
static void describe_handshake_failure(struct tls_stream *stream)
{
    long verified = SSL_get_verify_result(stream->ssl);
    unsigned long code = ERR_peek_last_error();
    if (verified != X509_V_OK) {
        const char *hint = "";
        if (verified == X509_V_ERR_HOSTNAME_MISMATCH || verified == X509_V_ERR_IP_ADDRESS_MISMATCH)
            hint = ": the certificate is not for the name given with -a";
        else if (verified == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                 verified == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                 verified == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
            hint = ": its CA is not trusted (--ca FILE names the CA to trust)";
        snprintf(stream->error, sizeof(stream->error),
                 "certificate verify failed: %s (%s)%s",
                 X509_verify_cert_error_string(verified), stream->host, hint);
    } else if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
               (ERR_GET_REASON(code) == SSL_R_WRONG_VERSION_NUMBER ||
                ERR_GET_REASON(code) == SSL_R_PACKET_LENGTH_TOO_LONG ||
                ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        /* A plaintext admin port answers a ClientHello with a short login refusal and
         * closes: a few bytes that are no TLS record, then the end of the stream. */
        snprintf(stream->error, sizeof(stream->error),
                 "TLS handshake failed: %s: the server answered without TLS (a plaintext "
                 "admin port? then leave out --tls)",
                 tls_reason("protocol error"));
    } else {
        snprintf(stream->error, sizeof(stream->error), "TLS handshake failed: %s",
                 tls_reason("the server closed the connection"));
    }
}

/* A call that returned result <= 0 (see the header). */
static int tls_outcome(struct tls_stream *stream, int result, int saved_errno)
{
    stream->wait_events = 0;
    switch (SSL_get_error(stream->ssl, result)) {
    case SSL_ERROR_WANT_READ:
        stream->wait_events = POLLIN;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        stream->wait_events = POLLOUT;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL:
        if (!SSL_is_init_finished(stream->ssl)) {
            describe_handshake_failure(stream);
            errno = saved_errno != 0 ? saved_errno : ECONNRESET;
        } else if (saved_errno == 0) {
            ERR_clear_error();
            return 0;
        } else {
            snprintf(stream->error, sizeof(stream->error), "%s", strerror(saved_errno));
            errno = saved_errno;
        }
        ERR_clear_error();
        return -1;
    default:
        if (!SSL_is_init_finished(stream->ssl))
            describe_handshake_failure(stream);
        else
            snprintf(stream->error, sizeof(stream->error), "TLS: %s",
                     tls_reason("protocol error"));
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

int tls_stream_handshake(struct tls_stream *stream)
{
    struct pipe_guard guard;
    ERR_clear_error();
    pipe_guard_begin(&guard);
    errno = 0;
    int result = SSL_do_handshake(stream->ssl);
    int saved_errno = errno;
    pipe_guard_end(&guard);
    return result == 1 ? 0 : tls_outcome(stream, result, saved_errno);
}

ssize_t tls_stream_read(struct tls_stream *stream, void *buffer, size_t size)
{
    struct pipe_guard guard;
    ERR_clear_error();
    pipe_guard_begin(&guard);
    errno = 0;
    int result = SSL_read(stream->ssl, buffer, size > INT_MAX ? INT_MAX : (int)size);
    int saved_errno = errno;
    pipe_guard_end(&guard);
    return result > 0 ? result : tls_outcome(stream, result, saved_errno);
}

ssize_t tls_stream_write(struct tls_stream *stream, const void *data, size_t length)
{
    struct pipe_guard guard;
    ERR_clear_error();
    pipe_guard_begin(&guard);
    errno = 0;
    int result = SSL_write(stream->ssl, data, length > INT_MAX ? INT_MAX : (int)length);
    int saved_errno = errno;
    pipe_guard_end(&guard);
    return result > 0 ? result : tls_outcome(stream, result, saved_errno);
}

short tls_stream_wait_events(const struct tls_stream *stream)
{
    return stream->wait_events != 0 ? stream->wait_events : POLLIN;
}

const char *tls_stream_error(const struct tls_stream *stream)
{
    return stream->error[0] != '\0' ? stream->error : "TLS failed";
}

bool tls_stream_idle_alive(struct tls_stream *stream)
{
    if (SSL_pending(stream->ssl) > 0)
        return false;
    uint8_t byte;
    struct pipe_guard guard;
    ERR_clear_error();
    pipe_guard_begin(&guard);
    int result = SSL_peek(stream->ssl, &byte, 1);
    pipe_guard_end(&guard);
    bool alive = result <= 0 && SSL_get_error(stream->ssl, result) == SSL_ERROR_WANT_READ;
    ERR_clear_error();
    return alive;
}
