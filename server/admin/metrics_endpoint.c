/* metrics_endpoint: the Prometheus scrape port (--metrics-listen) — a minimal HTTP/1.x server
 * for GET and HEAD /metrics on the admin's event loop, one answer per connection. */
#include "metrics_endpoint.h"

#include "event_loop.h"
#include "http_request.h"
#include "listener.h"
#include "log.h"
#include "net.h"
#include "prometheus_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Why not libmicrohttpd (or any HTTP library): one GET a few times a minute needs a request
 * head decoder (http_request, pure and fuzzed) and a write loop, which the admin's event loop
 * already gives; a library would bring its own threads or loop to keep in step with this one,
 * a new dependency to ship and confine, and far more parser than this endpoint uses. Here
 * each connection costs one fixed struct plus its answer while it is written, at most
 * max_connections of them, and nothing runs on a worker's thread: a scrape reads the
 * workers' counters after an empty call to each (admin_read_metrics), as the admin's metrics
 * command does. */

/* After the answer and our FIN: how long the client's remaining input is read and thrown
 * away, so that a close with unread bytes cannot turn into a reset that eats the answer. */
#define DRAIN_TIMEOUT_MS 2000
#define READ_CHUNK 2048

enum http_connection_state {
    HTTP_CONNECTION_READING,  /* the request head */
    HTTP_CONNECTION_WRITING,  /* the answer */
    HTTP_CONNECTION_DRAINING, /* answer and FIN sent: reading until the client's EOF */
};

struct http_connection {
    struct metrics_endpoint *endpoint;
    struct http_connection *previous;
    struct http_connection *next;
    enum http_connection_state state;
    struct event_watcher watcher;
    struct event_timer timer;
    char peer_text[NET_ADDRESS_TEXT_MAX];
    struct http_request_parser request;
    uint64_t started_ms;
    int status;
    char head[256]; /* the answer's status line and fields */
    size_t head_length;
    struct prometheus_buffer body;
    size_t body_length; /* what is sent of body: nothing for HEAD */
    size_t sent;        /* of head, then body */
};

struct metrics_endpoint {
    struct event_loop *loop;
    struct listener *listener;
    struct metrics_endpoint_settings settings;
    metrics_endpoint_render render;
    void *context;
    struct http_connection *connections;
    size_t connection_count;
};

static void connection_free(void *pointer)
{
    struct http_connection *connection = pointer;
    prometheus_buffer_free(&connection->body);
    free(connection);
}

static void connection_close(struct http_connection *connection)
{
    struct metrics_endpoint *endpoint = connection->endpoint;
    event_loop_timer_stop(endpoint->loop, &connection->timer);
    event_loop_close(endpoint->loop, &connection->watcher);
    if (connection->previous != NULL)
        connection->previous->next = connection->next;
    else
        endpoint->connections = connection->next;
    if (connection->next != NULL)
        connection->next->previous = connection->previous;
    endpoint->connection_count--;
    event_loop_defer_free(endpoint->loop, connection_free, connection);
    listener_resume(endpoint->listener);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

static void connection_write(struct http_connection *connection);

/* Queues the answer: status, and body (the exposition for 200, a line of text otherwise). */
static void connection_respond(struct http_connection *connection, int status, bool send_body)
{
    struct metrics_endpoint *endpoint = connection->endpoint;
    connection->status = status;
    const char *type = "text/plain; charset=utf-8";
    if (status == 200) {
        type = "text/plain; version=0.0.4; charset=utf-8";
    } else {
        prometheus_buffer_free(&connection->body);
        char line[64];
        int length = snprintf(line, sizeof(line), "%d %s\n", status, reason_of(status));
        struct prometheus_buffer *body = &connection->body;
        body->data = strdup(line);
        body->length = body->data != NULL ? (size_t)length : 0;
    }
    connection->body_length = send_body ? connection->body.length : 0;
    int length = snprintf(connection->head, sizeof(connection->head),
                          "HTTP/1.1 %d %s\r\n"
                          "Content-Type: %s\r\n"
                          "Content-Length: %zu\r\n"
                          "%s"
                          "Connection: close\r\n\r\n",
                          status, reason_of(status), type, connection->body.length,
                          status == 405 ? "Allow: GET, HEAD\r\n" : "");
    connection->head_length = (size_t)length;
    connection->state = HTTP_CONNECTION_WRITING;
    event_loop_timer_start(endpoint->loop, &connection->timer,
                           endpoint->settings.request_timeout_ms);
    event_loop_watch(endpoint->loop, &connection->watcher, EVENT_WRITE);
    connection_write(connection);
}

static int status_of_error(enum http_request_error error)
{
    switch (error) {
    case HTTP_ERROR_TOO_LARGE:
        return 431;
    case HTTP_ERROR_VERSION:
        return 505;
    default:
        return 400;
    }
}

static void connection_answer(struct http_connection *connection)
{
    struct metrics_endpoint *endpoint = connection->endpoint;
    const struct http_request_parser *request = &connection->request;
    if (!http_request_path_is(request, "/metrics")) {
        connection_respond(connection, 404, request->method != HTTP_METHOD_HEAD);
        return;
    }
    if (request->method == HTTP_METHOD_OTHER) {
        connection_respond(connection, 405, true);
        return;
    }
    bool rendered = endpoint->render(endpoint->context, &connection->body);
    connection_respond(connection, rendered ? 200 : 500, request->method == HTTP_METHOD_GET);
}

static void connection_read(struct http_connection *connection)
{
    uint8_t chunk[READ_CHUNK];
    for (;;) {
        ssize_t received = recv(connection->watcher.fd, chunk, sizeof(chunk), 0);
        if (received < 0 && errno == EINTR)
            continue;
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (received <= 0) {
            /* Gone before asking anything complete: nobody to answer. */
            connection_close(connection);
            return;
        }
        if (connection->state == HTTP_CONNECTION_DRAINING)
            continue;
        size_t consumed;
        enum http_parse_result result = http_request_parser_feed(
            &connection->request, chunk, (size_t)received, &consumed);
        if (result == HTTP_PARSE_ERROR) {
            connection_respond(connection, status_of_error(connection->request.error), true);
            return;
        }
        if (result == HTTP_PARSE_DONE) {
            /* Whatever follows the head (a body, a pipelined request) is left unread: one
             * answer per connection, then the drain. */
            connection_answer(connection);
            return;
        }
    }
}

static void connection_finish(struct http_connection *connection)
{
    struct metrics_endpoint *endpoint = connection->endpoint;
    log_message(LOG_DEBUG, "metrics %s: %d, %zu bytes in %llu ms", connection->peer_text,
                connection->status, connection->body_length,
                (unsigned long long)(event_loop_now_ms(endpoint->loop) - connection->started_ms));
    shutdown(connection->watcher.fd, SHUT_WR);
    prometheus_buffer_free(&connection->body);
    connection->state = HTTP_CONNECTION_DRAINING;
    event_loop_timer_start(endpoint->loop, &connection->timer, DRAIN_TIMEOUT_MS);
    event_loop_watch(endpoint->loop, &connection->watcher, EVENT_READ);
}

static void connection_write(struct http_connection *connection)
{
    size_t total = connection->head_length + connection->body_length;
    while (connection->sent < total) {
        struct iovec parts[2];
        int count = 0;
        if (connection->sent < connection->head_length)
            parts[count++] = (struct iovec){ connection->head + connection->sent,
                                             connection->head_length - connection->sent };
        size_t body_sent = connection->sent > connection->head_length
                               ? connection->sent - connection->head_length
                               : 0;
        if (body_sent < connection->body_length)
            parts[count++] = (struct iovec){ connection->body.data + body_sent,
                                             connection->body_length - body_sent };
        struct msghdr message = { .msg_iov = parts, .msg_iovlen = (size_t)count };
        ssize_t written = sendmsg(connection->watcher.fd, &message, MSG_NOSIGNAL);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (written < 0) {
            connection_close(connection);
            return;
        }
        connection->sent += (size_t)written;
    }
    connection_finish(connection);
}

static void connection_on_event(struct event_loop *loop, struct event_watcher *watcher,
                                unsigned events)
{
    (void)loop;
    struct http_connection *connection = watcher->data;
    if (connection->state == HTTP_CONNECTION_WRITING) {
        if (events & EVENT_ERROR)
            connection_close(connection);
        else
            connection_write(connection);
        return;
    }
    connection_read(connection);
}

static void connection_on_timeout(struct event_loop *loop, struct event_timer *timer)
{
    (void)loop;
    struct http_connection *connection = timer->data;
    /* A head begun but not finished in time is told so; silence, a slow reader or a drain
     * that does not end is simply closed. */
    if (connection->state == HTTP_CONNECTION_READING && connection->request.head_length > 0) {
        connection_respond(connection, 408, true);
        return;
    }
    connection_close(connection);
}

static void endpoint_on_accept(void *context, int fd, const struct sockaddr_storage *peer)
{
    struct metrics_endpoint *endpoint = context;
    struct http_connection *connection = calloc(1, sizeof(*connection));
    if (connection == NULL) {
        close(fd);
        return;
    }
    connection->endpoint = endpoint;
    connection->started_ms = event_loop_now_ms(endpoint->loop);
    net_format_address((const struct sockaddr *)peer, connection->peer_text);
    http_request_parser_init(&connection->request);
    event_watcher_init(&connection->watcher, fd, connection_on_event, connection);
    event_timer_init(&connection->timer, connection_on_timeout, connection);
    if (event_loop_watch(endpoint->loop, &connection->watcher, EVENT_READ) < 0) {
        close(fd);
        free(connection);
        return;
    }
    connection->next = endpoint->connections;
    if (endpoint->connections != NULL)
        endpoint->connections->previous = connection;
    endpoint->connections = connection;
    endpoint->connection_count++;
    event_loop_timer_start(endpoint->loop, &connection->timer,
                           endpoint->settings.request_timeout_ms);
}

static bool endpoint_has_capacity(void *context)
{
    struct metrics_endpoint *endpoint = context;
    return endpoint->connection_count < endpoint->settings.max_connections;
}

struct metrics_endpoint *metrics_endpoint_create(struct event_loop *loop, int listening_fd,
                                                 const struct metrics_endpoint_settings *settings,
                                                 metrics_endpoint_render render, void *context)
{
    struct metrics_endpoint *endpoint = calloc(1, sizeof(*endpoint));
    if (endpoint == NULL) {
        close(listening_fd);
        return NULL;
    }
    endpoint->loop = loop;
    endpoint->settings = *settings;
    endpoint->render = render;
    endpoint->context = context;
    endpoint->listener = listener_create(loop, listening_fd, endpoint_on_accept,
                                         endpoint_has_capacity, endpoint, NULL);
    if (endpoint->listener == NULL) {
        close(listening_fd);
        free(endpoint);
        return NULL;
    }
    return endpoint;
}

void metrics_endpoint_destroy(struct metrics_endpoint *endpoint)
{
    if (endpoint == NULL)
        return;
    while (endpoint->connections != NULL) {
        struct http_connection *connection = endpoint->connections;
        connection_close(connection);
    }
    listener_destroy(endpoint->listener);
    free(endpoint);
}

int metrics_endpoint_listening_fd(const struct metrics_endpoint *endpoint)
{
    return listener_fd(endpoint->listener);
}
