/* upstream_server: the destination the tests tunnel to — a threaded loopback TCP server that
 * echoes, or takes an exact number of pattern bytes and answers with an exact number. */
#include "upstream_server.h"

#include "test_socket.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define UPSTREAM_CONNECTIONS_MAX 256
#define ACCEPT_POLL_MS 50

struct upstream_connection {
    struct upstream_server *server;
    pthread_t thread;
    int fd;
};

struct upstream_server {
    enum upstream_mode mode;
    size_t up_bytes;
    size_t down_bytes;
    int listen_fd;
    uint16_t port;
    pthread_t acceptor;
    pthread_mutex_t lock;
    bool stopping; /* under lock */
    bool failed; /* under lock */
    size_t count; /* under lock */
    struct upstream_connection *connections[UPSTREAM_CONNECTIONS_MAX];
    struct upstream_server *next;
};

static struct upstream_server *servers;

static void upstream_fail(struct upstream_server *server)
{
    pthread_mutex_lock(&server->lock);
    server->failed = true;
    pthread_mutex_unlock(&server->lock);
}

static void serve_echo(struct upstream_connection *connection)
{
    uint8_t buffer[16384];
    for (;;) {
        ssize_t received = recv(connection->fd, buffer, sizeof(buffer), 0);
        if (received <= 0 || !test_socket_send_all(connection->fd, buffer, (size_t)received))
            return;
    }
}

static void serve_exchange(struct upstream_connection *connection)
{
    struct upstream_server *server = connection->server;
    uint8_t buffer[16384];
    size_t position = 0;
    while (position < server->up_bytes) {
        size_t want = server->up_bytes - position;
        ssize_t received =
            recv(connection->fd, buffer, want < sizeof(buffer) ? want : sizeof(buffer), 0);
        if (received <= 0 ||
            test_pattern_check(buffer, position, (size_t)received) != (size_t)received) {
            upstream_fail(server);
            return;
        }
        position += (size_t)received;
    }
    for (position = 0; position < server->down_bytes;) {
        size_t chunk = server->down_bytes - position;
        chunk = chunk < sizeof(buffer) ? chunk : sizeof(buffer);
        test_pattern_fill(buffer, position, chunk);
        if (!test_socket_send_all(connection->fd, buffer, chunk)) {
            upstream_fail(server);
            return;
        }
        position += chunk;
    }
    /* FIN, then wait for the client's: closing with unread input would send a reset. */
    shutdown(connection->fd, SHUT_WR);
    while (recv(connection->fd, buffer, sizeof(buffer), 0) > 0) {
    }
}

static void *connection_main(void *argument)
{
    struct upstream_connection *connection = argument;
    if (connection->server->mode == UPSTREAM_ECHO)
        serve_echo(connection);
    else
        serve_exchange(connection);
    shutdown(connection->fd, SHUT_RDWR);
    return NULL;
}

static void accept_one(struct upstream_server *server)
{
    int fd = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    test_socket_set_timeouts(fd, TEST_SOCKET_TIMEOUT_MS);
    struct upstream_connection *connection = calloc(1, sizeof(*connection));
    pthread_mutex_lock(&server->lock);
    if (connection == NULL || server->count == UPSTREAM_CONNECTIONS_MAX) {
        server->failed = true;
        pthread_mutex_unlock(&server->lock);
        free(connection);
        close(fd);
        return;
    }
    connection->server = server;
    connection->fd = fd;
    if (pthread_create(&connection->thread, NULL, connection_main, connection) != 0) {
        server->failed = true;
        pthread_mutex_unlock(&server->lock);
        free(connection);
        close(fd);
        return;
    }
    server->connections[server->count++] = connection;
    pthread_mutex_unlock(&server->lock);
}

static void *acceptor_main(void *argument)
{
    struct upstream_server *server = argument;
    for (;;) {
        pthread_mutex_lock(&server->lock);
        bool stopping = server->stopping;
        pthread_mutex_unlock(&server->lock);
        if (stopping)
            return NULL;
        struct pollfd poll_fd = { .fd = server->listen_fd, .events = POLLIN };
        if (poll(&poll_fd, 1, ACCEPT_POLL_MS) > 0)
            accept_one(server);
    }
}

struct upstream_server *upstream_server_start(enum upstream_mode mode, size_t up_bytes,
                                              size_t down_bytes)
{
    struct upstream_server *server = calloc(1, sizeof(*server));
    if (server == NULL)
        return NULL;
    server->mode = mode;
    server->up_bytes = up_bytes;
    server->down_bytes = down_bytes;
    pthread_mutex_init(&server->lock, NULL);
    server->listen_fd = test_socket_listen(&server->port);
    if (server->listen_fd < 0 ||
        pthread_create(&server->acceptor, NULL, acceptor_main, server) != 0) {
        if (server->listen_fd >= 0)
            close(server->listen_fd);
        pthread_mutex_destroy(&server->lock);
        free(server);
        return NULL;
    }
    server->next = servers;
    servers = server;
    return server;
}

uint16_t upstream_server_port(const struct upstream_server *server)
{
    return server->port;
}

size_t upstream_server_accepted(struct upstream_server *server)
{
    pthread_mutex_lock(&server->lock);
    size_t count = server->count;
    pthread_mutex_unlock(&server->lock);
    return count;
}

bool upstream_server_ok(struct upstream_server *server)
{
    pthread_mutex_lock(&server->lock);
    bool ok = !server->failed;
    pthread_mutex_unlock(&server->lock);
    return ok;
}

void upstream_server_stop(struct upstream_server *server)
{
    pthread_mutex_lock(&server->lock);
    server->stopping = true;
    pthread_mutex_unlock(&server->lock);
    pthread_join(server->acceptor, NULL);
    close(server->listen_fd);
    /* The acceptor is gone: the list no longer changes. */
    for (size_t i = 0; i < server->count; i++)
        shutdown(server->connections[i]->fd, SHUT_RDWR);
    for (size_t i = 0; i < server->count; i++) {
        pthread_join(server->connections[i]->thread, NULL);
        close(server->connections[i]->fd);
        free(server->connections[i]);
    }
    for (struct upstream_server **link = &servers; *link != NULL; link = &(*link)->next) {
        if (*link == server) {
            *link = server->next;
            break;
        }
    }
    pthread_mutex_destroy(&server->lock);
    free(server);
}

void upstream_server_stop_all(void)
{
    while (servers != NULL)
        upstream_server_stop(servers);
}
