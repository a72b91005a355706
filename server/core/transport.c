/* transport: a connection's byte stream behind a table of functions (read, write, end, close),
 * so that what speaks a protocol over it need not know how bytes travel: plain TCP here. */
#include "transport.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A signal never interrupts these for long: retried here, so callers see only EAGAIN or a
 * real error. */
static ssize_t tcp_read(struct transport *transport, void *buffer, size_t size)
{
    ssize_t received;
    do
        received = recv(transport->fd, buffer, size, 0);
    while (received < 0 && errno == EINTR);
    return received;
}

static ssize_t tcp_write(struct transport *transport, const void *data, size_t length)
{
    ssize_t sent;
    do
        sent = send(transport->fd, data, length, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent;
}

static void tcp_end_writes(struct transport *transport) { shutdown(transport->fd, SHUT_WR); }

static void tcp_close(struct transport *transport)
{
    close(transport->fd);
    free(transport);
}

static const struct transport_ops tcp_ops = {
    .name = "tcp",
    .read = tcp_read,
    .write = tcp_write,
    .end_writes = tcp_end_writes,
    .close = tcp_close,
};

struct transport *transport_tcp_create(int fd)
{
    struct transport *transport = malloc(sizeof(*transport));
    if (transport == NULL) {
        close(fd);
        return NULL;
    }
    transport->ops = &tcp_ops;
    transport->fd = fd;
    return transport;
}
