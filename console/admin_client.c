/* admin_client: socks5ctl's one admin session — connects (over TLS when asked), logs in once,
 * sends requests one at a time over the shared protocol library, and logs in again if the
 * server went away. */
#include "admin_client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin_protocol.h"
#include "tls_client.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_TIMEOUT_MS 15000
#define INTERRUPT_CHECK_MS 100
#define ADDRESS_TEXT_SIZE 300
#define RECEIVE_CHUNK 65536

struct admin_client {
    char *host;
    char *port;
    char *user;
    char *password;
    char address[ADDRESS_TEXT_SIZE];
    int timeout_ms;
    int fd;
    bool tls;
    char *ca_file;                 /* NULL = the system's store */
    struct tls_client *tls_client; /* made at the first connection, kept for the next ones */
    struct tls_stream *stream;     /* over fd while connected with TLS */
    uint8_t role;
    uint8_t login_status;
    const volatile sig_atomic_t *interrupt;
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

static char *copy_or_default(const char *text, const char *fallback)
{
    return strdup(text != NULL && text[0] != '\0' ? text : fallback);
}

static void free_secret(char *secret)
{
    if (secret == NULL)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}

struct admin_client *admin_client_create(const struct admin_client_options *options)
{
    struct admin_client *client = calloc(1, sizeof(*client));
    if (client == NULL)
        return NULL;
    client->fd = -1;
    client->host = copy_or_default(options->host, DEFAULT_HOST);
    client->port = copy_or_default(options->port, ADMIN_CLIENT_DEFAULT_PORT);
    client->user = strdup(options->user != NULL ? options->user : "");
    client->password = strdup(options->password != NULL ? options->password : "");
    client->timeout_ms = options->timeout_ms > 0 ? options->timeout_ms : DEFAULT_TIMEOUT_MS;
    client->tls = options->tls;
    client->ca_file = options->ca_file != NULL ? strdup(options->ca_file) : NULL;
    if (client->host == NULL || client->port == NULL || client->user == NULL ||
        client->password == NULL || (options->ca_file != NULL && client->ca_file == NULL)) {
        admin_client_destroy(client);
        return NULL;
    }
    const char *format = strchr(client->host, ':') != NULL ? "[%s]:%s" : "%s:%s";
    snprintf(client->address, sizeof(client->address), format, client->host, client->port);
    return client;
}

void admin_client_destroy(struct admin_client *client)
{
    if (client == NULL)
        return;
    admin_client_disconnect(client);
    free(client->host);
    free(client->port);
    free(client->user);
    free(client->ca_file);
    tls_client_destroy(client->tls_client);
    free_secret(client->password);
    free(client);
}

void admin_client_disconnect(struct admin_client *client)
{
    tls_stream_destroy(client->stream);
    client->stream = NULL;
    if (client->fd >= 0)
        close(client->fd);
    client->fd = -1;
}

bool admin_client_connected(const struct admin_client *client)
{
    return client->fd >= 0;
}

int admin_client_fd(const struct admin_client *client)
{
    return client->fd;
}

uint8_t admin_client_role(const struct admin_client *client)
{
    return client->role;
}

const char *admin_client_user(const struct admin_client *client)
{
    return client->user;
}

const char *admin_client_address(const struct admin_client *client)
{
    return client->address;
}

void admin_client_set_interrupt(struct admin_client *client, const volatile sig_atomic_t *flag)
{
    client->interrupt = flag;
}

const volatile sig_atomic_t *admin_client_interrupt(const struct admin_client *client)
{
    return client->interrupt;
}

uint8_t admin_client_login_status(const struct admin_client *client)
{
    return client->login_status;
}

bool admin_client_set_password(struct admin_client *client, const char *password)
{
    char *copy = strdup(password);
    if (copy == NULL)
        return false;
    free_secret(client->password);
    client->password = copy;
    return true;
}

/* ---- Waiting with a timeout ---- */

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_INTERRUPTED, WAIT_FAILED };

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Waits until fd is ready for events, for at most the client's timeout. A signal only ends the
 * wait when the interrupt flag is set; otherwise the wait goes on for the time left. */
static enum wait_result wait_ready(struct admin_client *client, int fd, short events)
{
    int64_t deadline = monotonic_ms() + client->timeout_ms;
    for (;;) {
        if (client->interrupt != NULL && *client->interrupt)
            return WAIT_INTERRUPTED;
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            return WAIT_TIMEOUT;
        /* SIGINT interrupts only the thread it is delivered to: a session waiting on another
         * thread (a fleet's) looks at the flag at least every INTERRUPT_CHECK_MS. */
        int slice = client->interrupt != NULL && left > INTERRUPT_CHECK_MS ? INTERRUPT_CHECK_MS
                                                                           : (int)left;
        struct pollfd entry = {.fd = fd, .events = events};
        int ready = poll(&entry, 1, slice);
        if (ready > 0)
            return WAIT_READY;
        if (ready == 0)
            continue;
        if (errno != EINTR)
            return WAIT_FAILED;
    }
}

static const char *wait_problem(enum wait_result result)
{
    switch (result) {
    case WAIT_TIMEOUT: return "timed out";
    case WAIT_INTERRUPTED: return "interrupted";
    default: return strerror(errno);
    }
}

/* One send or receive on the session: through TLS when it is on. A TLS stream that must wait
 * says for what (a write may wait for a record to read, and the other way round). */
static ssize_t stream_send(struct admin_client *client, const uint8_t *data, size_t length)
{
    if (client->stream != NULL)
        return tls_stream_write(client->stream, data, length);
    return send(client->fd, data, length, MSG_NOSIGNAL);
}

static ssize_t stream_receive(struct admin_client *client, uint8_t *buffer, size_t capacity)
{
    if (client->stream != NULL)
        return tls_stream_read(client->stream, buffer, capacity);
    return recv(client->fd, buffer, capacity, 0);
}

static short stream_wait_events(const struct admin_client *client, short events)
{
    return client->stream != NULL ? tls_stream_wait_events(client->stream) : events;
}

static const char *stream_problem(const struct admin_client *client)
{
    return client->stream != NULL ? tls_stream_error(client->stream) : strerror(errno);
}

/* Sends all of data; false (errno set, or a wait problem in *why) when it cannot. */
static bool send_all(struct admin_client *client, const uint8_t *data, size_t length,
                     const char **why)
{
    while (length > 0) {
        ssize_t sent = stream_send(client, data, length);
        if (sent > 0) {
            data += sent;
            length -= (size_t)sent;
            continue;
        }
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            *why = stream_problem(client);
            return false;
        }
        enum wait_result waited =
            wait_ready(client, client->fd, stream_wait_events(client, POLLOUT));
        if (waited != WAIT_READY) {
            *why = wait_problem(waited);
            return false;
        }
    }
    return true;
}

/* Receives up to capacity bytes: > 0 bytes read, 0 at EOF, -1 on failure (*why set). */
static ssize_t receive_some(struct admin_client *client, uint8_t *buffer, size_t capacity,
                            const char **why)
{
    for (;;) {
        ssize_t got = stream_receive(client, buffer, capacity);
        if (got >= 0)
            return got;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            *why = stream_problem(client);
            return -1;
        }
        enum wait_result waited =
            wait_ready(client, client->fd, stream_wait_events(client, POLLIN));
        if (waited != WAIT_READY) {
            *why = wait_problem(waited);
            return -1;
        }
    }
}

/* ---- Connecting and logging in ---- */

/* One TCP connection attempt; returns the socket or -1 with *why set. */
static int connect_one(struct admin_client *client, const struct addrinfo *address,
                       const char **why)
{
    int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    address->ai_protocol);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (connect(fd, address->ai_addr, address->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    enum wait_result waited = wait_ready(client, fd, POLLOUT);
    int problem = 0;
    socklen_t size = sizeof(problem);
    if (waited == WAIT_READY && getsockopt(fd, SOL_SOCKET, SO_ERROR, &problem, &size) == 0 &&
        problem == 0)
        return fd;
    *why = waited == WAIT_READY ? strerror(problem != 0 ? problem : errno) : wait_problem(waited);
    close(fd);
    return -1;
}

/* The handshake over the connected socket, the server's certificate checked for host. */
static enum admin_client_result start_tls(struct admin_client *client, char *error,
                                          size_t error_size)
{
    char problem[ADDRESS_TEXT_SIZE];
    if (client->tls_client == NULL &&
        (client->tls_client = tls_client_create(client->ca_file, problem, sizeof(problem))) ==
            NULL) {
        set_error(error, error_size, "cannot connect to %s over TLS: %s", client->address,
                  problem);
        return ADMIN_CLIENT_CANNOT_CONNECT;
    }
    client->stream = tls_stream_create(client->tls_client, client->fd, client->host, problem,
                                       sizeof(problem));
    if (client->stream == NULL) {
        set_error(error, error_size, "cannot connect to %s over TLS: %s", client->address,
                  problem);
        return ADMIN_CLIENT_CANNOT_CONNECT;
    }
    while (tls_stream_handshake(client->stream) < 0) {
        if (errno != EAGAIN) {
            set_error(error, error_size, "cannot connect to %s over TLS: %s", client->address,
                      tls_stream_error(client->stream));
            return ADMIN_CLIENT_CANNOT_CONNECT;
        }
        enum wait_result waited =
            wait_ready(client, client->fd, tls_stream_wait_events(client->stream));
        if (waited != WAIT_READY) {
            set_error(error, error_size, "cannot connect to %s over TLS: handshake %s",
                      client->address, wait_problem(waited));
            return ADMIN_CLIENT_CANNOT_CONNECT;
        }
    }
    return ADMIN_CLIENT_OK;
}

static enum admin_client_result open_connection(struct admin_client *client, char *error,
                                                size_t error_size)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *addresses = NULL;
    int failed = getaddrinfo(client->host, client->port, &hints, &addresses);
    if (failed != 0) {
        set_error(error, error_size, "cannot resolve %s: %s", client->address,
                  gai_strerror(failed));
        return ADMIN_CLIENT_CANNOT_CONNECT;
    }
    const char *why = "no address";
    for (const struct addrinfo *address = addresses; address != NULL; address = address->ai_next) {
        client->fd = connect_one(client, address, &why);
        if (client->fd >= 0)
            break;
    }
    freeaddrinfo(addresses);
    if (client->fd < 0) {
        set_error(error, error_size, "cannot connect to %s: %s", client->address, why);
        return ADMIN_CLIENT_CANNOT_CONNECT;
    }
    int on = 1; /* requests are small and answered at once: no Nagle delay */
    setsockopt(client->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    return client->tls ? start_tls(client, error, error_size) : ADMIN_CLIENT_OK;
}

static const char *login_refusal_text(uint8_t status)
{
    switch (status) {
    case ADMIN_STATUS_UNAUTHENTICATED: return "wrong user name or password";
    case ADMIN_STATUS_SERVER_ERROR:
        return "the server cannot take a session now (busy or failing); try again later";
    case ADMIN_STATUS_UNSUPPORTED_VERSION: return "the server does not speak admin protocol v2";
    case ADMIN_STATUS_BAD_REQUEST: return "the server found the login malformed";
    default: return admin_status_name(status);
    }
}

static enum admin_client_result send_login(struct admin_client *client, char *error,
                                           size_t error_size)
{
    uint8_t login[ADMIN_LOGIN_REQUEST_MAX];
    size_t length = admin_login_request_encode(login, client->user, strlen(client->user),
                                               client->password, strlen(client->password));
    const char *why = NULL;
    bool sent = send_all(client, login, length, &why);
    explicit_bzero(login, sizeof(login));
    if (sent)
        return ADMIN_CLIENT_OK;
    set_error(error, error_size, "login to %s failed: %s", client->address, why);
    return ADMIN_CLIENT_LOST;
}

static enum admin_client_result receive_login_reply(struct admin_client *client, uint8_t *status,
                                                    char *error, size_t error_size)
{
    struct admin_login_reply_decoder decoder;
    admin_login_reply_decoder_init(&decoder);
    for (;;) {
        uint8_t buffer[ADMIN_LOGIN_REPLY_SIZE];
        const char *why = "the server closed the connection";
        ssize_t got = receive_some(client, buffer, ADMIN_LOGIN_REPLY_SIZE - decoder.received, &why);
        if (got <= 0) {
            /* A TLS admin port drops a plaintext login at its first bytes. */
            set_error(error, error_size, "no login reply from %s: %s%s", client->address, why,
                      client->tls ? "" : " (if its admin port speaks TLS: add --tls)");
            return ADMIN_CLIENT_LOST;
        }
        size_t consumed = 0;
        enum admin_decode_result result =
            admin_login_reply_decoder_feed(&decoder, buffer, (size_t)got, &consumed);
        if (result == ADMIN_DECODE_ERROR) {
            set_error(error, error_size, "bad login reply from %s: %s", client->address,
                      admin_decode_error_text(decoder.error));
            return ADMIN_CLIENT_PROTOCOL_ERROR;
        }
        if (result != ADMIN_DECODE_DONE)
            continue;
        *status = decoder.reply.status;
        if (decoder.reply.status != ADMIN_STATUS_OK) {
            set_error(error, error_size, "login as %s refused: %s", client->user,
                      login_refusal_text(decoder.reply.status));
            return ADMIN_CLIENT_LOGIN_REFUSED;
        }
        client->role = decoder.reply.role;
        return ADMIN_CLIENT_OK;
    }
}

enum admin_client_result admin_client_connect(struct admin_client *client, uint8_t *status,
                                              char *error, size_t error_size)
{
    uint8_t ignored;
    if (status == NULL)
        status = &ignored;
    *status = ADMIN_STATUS_OK;
    admin_client_disconnect(client);
    size_t user_length = strlen(client->user), password_length = strlen(client->password);
    if (user_length == 0 || user_length > ADMIN_STR8_MAX || password_length == 0 ||
        password_length > ADMIN_STR8_MAX) {
        *status = client->login_status = ADMIN_STATUS_BAD_REQUEST;
        set_error(error, error_size, "user name and password must be 1 to %d bytes",
                  ADMIN_STR8_MAX);
        return ADMIN_CLIENT_LOGIN_REFUSED;
    }
    enum admin_client_result result = open_connection(client, error, error_size);
    if (result == ADMIN_CLIENT_OK)
        result = send_login(client, error, error_size);
    if (result == ADMIN_CLIENT_OK)
        result = receive_login_reply(client, status, error, error_size);
    if (result != ADMIN_CLIENT_OK)
        admin_client_disconnect(client);
    client->login_status = *status;
    return result;
}

bool admin_client_check_alive(struct admin_client *client)
{
    if (client->fd < 0)
        return false;
    if (client->stream != NULL) {
        if (tls_stream_idle_alive(client->stream))
            return true;
        admin_client_disconnect(client);
        return false;
    }
    struct pollfd entry = {.fd = client->fd, .events = POLLIN};
    if (poll(&entry, 1, 0) <= 0)
        return true;
    uint8_t byte;
    ssize_t got = recv(client->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return true;
    /* EOF, an error, or bytes nobody asked for: this session is over either way. */
    admin_client_disconnect(client);
    return false;
}

/* ---- Requests ---- */

/* How many bytes the decoder still needs, so a read never takes bytes past the response. */
static size_t response_bytes_wanted(const struct admin_response_decoder *decoder,
                                    bool header_done)
{
    if (!header_done)
        return ADMIN_RESPONSE_HEADER_SIZE - decoder->header_received;
    size_t left = decoder->body_length - decoder->body_received;
    return left < RECEIVE_CHUNK ? left : RECEIVE_CHUNK;
}

static enum admin_client_result lose_session(struct admin_client *client,
                                             enum admin_client_result result, char *error,
                                             size_t error_size, const char *why)
{
    if (result == ADMIN_CLIENT_PROTOCOL_ERROR)
        set_error(error, error_size, "%s answered something that is not admin protocol v2: %s",
                  client->address, why);
    else
        set_error(error, error_size, "session with %s lost: %s", client->address, why);
    admin_client_disconnect(client);
    return result;
}

static enum admin_client_result receive_response(struct admin_client *client,
                                                 struct admin_reply *reply, char *error,
                                                 size_t error_size)
{
    struct admin_response_decoder decoder;
    admin_response_decoder_init(&decoder);
    uint8_t *chunk = malloc(RECEIVE_CHUNK);
    char *body = NULL;
    bool header_done = false;
    enum admin_client_result result = ADMIN_CLIENT_OK;
    const char *why = NULL;
    for (bool done = chunk == NULL; !done;) {
        why = "the server closed the session";
        ssize_t got = receive_some(client, chunk, response_bytes_wanted(&decoder, header_done),
                                   &why);
        if (got <= 0) {
            result = ADMIN_CLIENT_LOST;
            break;
        }
        size_t at = 0;
        while (at < (size_t)got && !done) {
            size_t consumed = 0;
            enum admin_decode_result decoded = admin_response_decoder_feed(
                &decoder, chunk + at, (size_t)got - at, &consumed);
            at += consumed;
            if (decoded == ADMIN_DECODE_ERROR) {
                why = admin_decode_error_text(decoder.error);
                result = ADMIN_CLIENT_PROTOCOL_ERROR;
                done = true;
            } else if (decoded == ADMIN_DECODE_HEADER) {
                header_done = true;
                body = malloc((size_t)decoder.body_length + 1);
                if (body == NULL) {
                    why = "out of memory for the response";
                    result = ADMIN_CLIENT_LOST;
                    done = true;
                }
                admin_response_decoder_set_body(&decoder, (uint8_t *)body);
            } else if (decoded == ADMIN_DECODE_DONE) {
                done = true;
            }
        }
    }
    free(chunk);
    if (chunk == NULL) {
        why = "out of memory";
        result = ADMIN_CLIENT_LOST;
    }
    if (result != ADMIN_CLIENT_OK) {
        free(body);
        return lose_session(client, result, error, error_size, why);
    }
    if (body == NULL)
        body = malloc(1);
    if (body == NULL)
        return lose_session(client, ADMIN_CLIENT_LOST, error, error_size, "out of memory");
    body[decoder.body_length] = '\0';
    reply->status = decoder.status;
    reply->body = body;
    reply->body_length = decoder.body_length;
    return ADMIN_CLIENT_OK;
}

enum admin_client_result admin_client_call(struct admin_client *client,
                                           const struct admin_request *request,
                                           struct admin_reply *reply, char *error,
                                           size_t error_size)
{
    *reply = (struct admin_reply){0};
    if (!admin_client_check_alive(client)) {
        enum admin_client_result connected = admin_client_connect(client, NULL, error, error_size);
        if (connected != ADMIN_CLIENT_OK)
            return connected;
    }
    uint8_t frame[ADMIN_REQUEST_FRAME_MAX];
    size_t length = admin_request_encode(request, frame, sizeof(frame));
    if (length == 0) {
        set_error(error, error_size, "cannot encode a request for command 0x%02x",
                  request->command);
        return ADMIN_CLIENT_PROTOCOL_ERROR;
    }
    const char *why = NULL;
    bool sent = send_all(client, frame, length, &why);
    explicit_bzero(frame, length); /* add-user and set-password carry a password */
    if (!sent)
        return lose_session(client, ADMIN_CLIENT_LOST, error, error_size, why);
    return receive_response(client, reply, error, error_size);
}

void admin_reply_free(struct admin_reply *reply)
{
    free(reply->body);
    *reply = (struct admin_reply){0};
}
