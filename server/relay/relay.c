/* relay: moving a tunnel's bytes from one socket to the other — read/write through a pooled
 * buffer for small exchanges, splice(2) through a pooled pipe once a direction streams. */
#include "relay.h"

#include "buffer_pool.h"
#include "pipe_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

void relay_direction_init(struct relay_direction *direction)
{
    *direction = (struct relay_direction){ .pipe = { -1, -1 } };
}

size_t relay_pending(const struct relay_direction *direction)
{
    return direction->end - direction->start + direction->in_pipe;
}

bool relay_acquire_buffer(struct relay_direction *direction, const struct relay_resources *resources)
{
    if (direction->data != NULL)
        return true;
    size_t size;
    direction->data = buffer_pool_get(resources->buffers, &size);
    if (direction->data == NULL)
        return false;
    direction->capacity = size;
    direction->start = direction->end = 0;
    return true;
}

void relay_release(struct relay_direction *direction, const struct relay_resources *resources)
{
    if (direction->data != NULL && direction->start == direction->end) {
        buffer_pool_put(resources->buffers, direction->data, direction->capacity);
        direction->data = NULL;
        direction->capacity = direction->start = direction->end = 0;
    }
    if (direction->pipe[0] >= 0 && direction->in_pipe == 0) {
        pipe_pool_put(resources->pipes, direction->pipe);
        direction->pipe[0] = direction->pipe[1] = -1;
    }
}

void relay_drop(struct relay_direction *direction, const struct relay_resources *resources)
{
    if (direction->pipe[0] >= 0 && direction->in_pipe > 0) {
        close(direction->pipe[0]);
        close(direction->pipe[1]);
        direction->pipe[0] = direction->pipe[1] = -1;
        direction->in_pipe = 0;
    }
    direction->start = direction->end;
    relay_release(direction, resources);
}

static bool would_block(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK;
}

static enum relay_status flush_buffer(struct relay_direction *direction, int sink)
{
    while (direction->start < direction->end) {
        ssize_t written = send(sink, direction->data + direction->start,
                               direction->end - direction->start, MSG_NOSIGNAL);
        if (written < 0) {
            if (would_block())
                return RELAY_OK;
            if (errno == EINTR)
                continue;
            return RELAY_SINK_ERROR;
        }
        direction->start += (size_t)written;
    }
    return RELAY_OK;
}

static enum relay_status flush_pipe(struct relay_direction *direction, int sink)
{
    while (direction->in_pipe > 0) {
        ssize_t moved = splice(direction->pipe[0], NULL, sink, NULL, direction->in_pipe,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (moved < 0) {
            if (would_block())
                return RELAY_OK;
            if (errno == EINTR)
                continue;
            return RELAY_SINK_ERROR;
        }
        direction->in_pipe -= (size_t)moved;
    }
    return RELAY_OK;
}

enum relay_status relay_flush(struct relay_direction *direction,
                              const struct relay_resources *resources, int sink)
{
    enum relay_status status = flush_buffer(direction, sink);
    if (status == RELAY_OK)
        status = flush_pipe(direction, sink);
    if (status != RELAY_OK) {
        relay_drop(direction, resources);
        return status;
    }
    relay_release(direction, resources);
    if (relay_pending(direction) == 0 && direction->source_eof && !direction->sink_shut) {
        if (!direction->fin_by_close)
            shutdown(sink, SHUT_WR);
        direction->sink_shut = true;
    }
    return RELAY_OK;
}

/* Splices from source into the direction's pipe. False when no pipe can be had (out of
 * descriptors): the caller copies instead, and the direction stops trying to splice. */
static bool read_into_pipe(struct relay_direction *direction,
                           const struct relay_resources *resources, int source, size_t max,
                           ssize_t *got)
{
    if (direction->pipe[0] < 0 && !pipe_pool_get(resources->pipes, direction->pipe)) {
        direction->splicing = false;
        return false;
    }
    size_t size = pipe_pool_size(resources->pipes);
    *got = splice(source, NULL, direction->pipe[1], NULL, size < max ? size : max,
                  SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (*got > 0)
        direction->in_pipe = (size_t)*got;
    return true;
}

static ssize_t read_into_buffer(struct relay_direction *direction,
                                const struct relay_resources *resources, int source, size_t max)
{
    if (!relay_acquire_buffer(direction, resources)) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t received =
        recv(source, direction->data, direction->capacity < max ? direction->capacity : max, 0);
    if (received > 0) {
        direction->start = 0;
        direction->end = (size_t)received;
        /* A read that fills the whole buffer means a stream: splicing it from now on
         * saves two copies per byte. Small request/response traffic stays on the buffer,
         * where one recv/send pair beats two splices. */
        if ((size_t)received == direction->capacity && resources->pipes != NULL)
            direction->splicing = true;
    }
    return received;
}

enum relay_status relay_read(struct relay_direction *direction,
                             const struct relay_resources *resources, int source, int sink,
                             size_t max, size_t *received)
{
    ssize_t got;
    *received = 0;
    if (!direction->splicing || !read_into_pipe(direction, resources, source, max, &got))
        got = read_into_buffer(direction, resources, source, max);
    if (got < 0) {
        if (errno == ENOMEM)
            return RELAY_NO_MEMORY;
        if (would_block() || errno == EINTR) {
            relay_release(direction, resources);
            return RELAY_OK;
        }
        relay_drop(direction, resources);
        return RELAY_SOURCE_ERROR;
    }
    if (got == 0)
        direction->source_eof = true;
    *received = (size_t)got;
    return relay_flush(direction, resources, sink);
}
