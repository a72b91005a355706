/* tls_transport: TLS on the server side (OpenSSL, TLS 1.2 at least) — a context made from a
 * certificate chain and its key, and the transport whose reads run the handshake. */
#include "tls_transport.h"

#include "event_loop.h"
#include "log.h"
#include "net.h"
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct tls_server {
    SSL_CTX *context;
};

struct tls_transport {
    struct transport base; /* first: the ops get a struct transport */
    SSL *ssl;
    unsigned waits_for;
};

/* The reason of the newest error OpenSSL queued ("wrong version number"), or fallback. */
static const char *tls_reason(const char *fallback)
{
    unsigned long code = ERR_peek_last_error();
    const char *reason = code != 0 ? ERR_reason_error_string(code) : NULL;
    return reason != NULL ? reason : fallback;
}

static void set_error(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *error, size_t error_size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
}

/* OpenSSL's own message for a file it cannot open is "system lib": fopen says which. */
static bool readable(const char *path, const char *what, char *error, size_t error_size)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        set_error(error, error_size, "%s: cannot read the %s: %s", path, what, strerror(errno));
        return false;
    }
    fclose(file);
    return true;
}

static void warn_if_expired(SSL_CTX *context, const char *certificate_path)
{
    X509 *certificate = SSL_CTX_get0_certificate(context);
    if (certificate != NULL && X509_cmp_current_time(X509_get0_notAfter(certificate)) < 0)
        log_message(LOG_WARN, "%s: the certificate has expired: clients will refuse it",
                    certificate_path);
    else if (certificate != NULL && X509_cmp_current_time(X509_get0_notBefore(certificate)) > 0)
        log_message(LOG_WARN, "%s: the certificate is not valid yet: clients will refuse it",
                    certificate_path);
}

/* A good key that is not the certificate's: said as such, not as an unreadable key. */
static bool key_mismatch(unsigned long code)
{
    return ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH;
}

static SSL_CTX *tls_context_create(void)
{
    SSL_CTX *context = SSL_CTX_new(TLS_server_method());
    if (context == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    /* Renegotiation would let a write wait for a read; an admin client that closes without
     * close_notify has still said all it had to say. */
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* The session writes what it can and retries the rest from a pointer that moves on. */
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    /* socks5ctl keeps no sessions between runs: tickets would be written for nothing. */
    SSL_CTX_set_num_tickets(context, 0);
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
    return context;
}

struct tls_server *tls_server_create(const char *certificate_path, const char *key_path,
                                     char *error, size_t error_size)
{
    if (!readable(certificate_path, "certificate", error, error_size) ||
        !readable(key_path, "private key", error, error_size))
        return NULL;
    struct tls_server *server = calloc(1, sizeof(*server));
    if (server == NULL || (server->context = tls_context_create()) == NULL) {
        set_error(error, error_size, "cannot set up TLS: %s", tls_reason("out of memory"));
        free(server);
        return NULL;
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(server->context, certificate_path) != 1) {
        set_error(error, error_size, "%s: not a PEM certificate chain: %s", certificate_path,
                  tls_reason("unreadable"));
    } else if (SSL_CTX_use_PrivateKey_file(server->context, key_path, SSL_FILETYPE_PEM) != 1 &&
               !key_mismatch(ERR_peek_last_error())) {
        set_error(error, error_size, "%s: not a PEM private key: %s", key_path,
                  tls_reason("unreadable"));
    } else if (SSL_CTX_check_private_key(server->context) != 1) {
        set_error(error, error_size, "%s: not the key of the certificate in %s", key_path,
                  certificate_path);
    } else {
        ERR_clear_error();
        warn_if_expired(server->context, certificate_path);
        return server;
    }
    ERR_clear_error();
    tls_server_destroy(server);
    return NULL;
}

void tls_server_destroy(struct tls_server *server)
{
    if (server == NULL)
        return;
    SSL_CTX_free(server->context);
    free(server);
}

/* ---- the transport ---- */

static void tls_log_failure(struct tls_transport *tls)
{
    struct sockaddr_storage peer;
    socklen_t length = sizeof(peer);
    char peer_text[NET_ADDRESS_TEXT_MAX] = "?";
    if (getpeername(tls->base.fd, (struct sockaddr *)&peer, &length) == 0)
        net_format_address((const struct sockaddr *)&peer, peer_text);
    log_message(LOG_INFO, "TLS with %s: %s failed: %s", peer_text,
                SSL_is_init_finished(tls->ssl) ? "a record" : "the handshake",
                tls_reason("protocol error"));
}

/* A call that returned result <= 0: 0 at the end of the stream, or -1 with errno (EAGAIN
 * while the handshake or a record is under way, with what it waits for in waits_for when
 * that is the other direction than the caller's). */
static ssize_t tls_outcome(struct tls_transport *tls, int result, bool reading)
{
    int saved_errno = errno;
    switch (SSL_get_error(tls->ssl, result)) {
    case SSL_ERROR_WANT_READ:
        tls->waits_for = reading ? 0 : EVENT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        tls->waits_for = reading ? EVENT_WRITE : 0;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (saved_errno == 0)
            return 0; /* the peer closed without close_notify */
        errno = saved_errno;
        return -1;
    default:
        tls_log_failure(tls);
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

static ssize_t tls_read(struct transport *transport, void *buffer, size_t size)
{
    struct tls_transport *tls = (struct tls_transport *)transport;
    tls->waits_for = 0;
    if (size == 0)
        return 0;
    ERR_clear_error();
    errno = 0;
    int received = SSL_read(tls->ssl, buffer, size > INT_MAX ? INT_MAX : (int)size);
    return received > 0 ? received : tls_outcome(tls, received, true);
}

static ssize_t tls_write(struct transport *transport, const void *data, size_t length)
{
    struct tls_transport *tls = (struct tls_transport *)transport;
    tls->waits_for = 0;
    if (length == 0)
        return 0;
    ERR_clear_error();
    errno = 0;
    int sent = SSL_write(tls->ssl, data, length > INT_MAX ? INT_MAX : (int)length);
    return sent > 0 ? sent : tls_outcome(tls, sent, false);
}

/* close_notify, then TCP's FIN: best effort, as a full socket buffer leaves only the FIN. */
static void tls_end_writes(struct transport *transport)
{
    struct tls_transport *tls = (struct tls_transport *)transport;
    if (SSL_is_init_finished(tls->ssl))
        SSL_shutdown(tls->ssl);
    ERR_clear_error();
    shutdown(transport->fd, SHUT_WR);
}

static void tls_close(struct transport *transport)
{
    struct tls_transport *tls = (struct tls_transport *)transport;
    SSL_free(tls->ssl);
    close(transport->fd);
    free(tls);
}

static bool tls_has_buffered(const struct transport *transport)
{
    return SSL_pending(((const struct tls_transport *)transport)->ssl) > 0;
}

static unsigned tls_waits_for(const struct transport *transport)
{
    return ((const struct tls_transport *)transport)->waits_for;
}

static const struct transport_ops tls_ops = {
    .name = "tls",
    .read = tls_read,
    .write = tls_write,
    .end_writes = tls_end_writes,
    .close = tls_close,
    .has_buffered = tls_has_buffered,
    .waits_for = tls_waits_for,
};

struct transport *tls_transport_accept(struct tls_server *server, int fd)
{
    struct tls_transport *tls = calloc(1, sizeof(*tls));
    if (tls != NULL)
        tls->ssl = SSL_new(server->context);
    if (tls == NULL || tls->ssl == NULL || SSL_set_fd(tls->ssl, fd) != 1) {
        log_message(LOG_WARN, "TLS: cannot set up a connection: %s", tls_reason("out of memory"));
        ERR_clear_error();
        if (tls != NULL)
            SSL_free(tls->ssl);
        free(tls);
        close(fd);
        return NULL;
    }
    SSL_set_accept_state(tls->ssl);
    tls->base.ops = &tls_ops;
    tls->base.fd = fd;
    return &tls->base;
}
