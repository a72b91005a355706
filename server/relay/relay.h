/* relay: moving a tunnel's bytes from one socket to the other — read/write through a pooled
 * buffer for small exchanges, splice(2) through a pooled pipe once a direction streams. */
#ifndef RELAY_H
#define RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of the relay buffer per direction, in bytes (--buffer-size, set-buffer-size). */
#define RELAY_BUFFER_SIZE_MIN 512u
#define RELAY_BUFFER_SIZE_MAX (16u * 1024 * 1024)

struct buffer_pool;
struct pipe_pool;

struct relay_resources {
    struct buffer_pool *buffers;
    struct pipe_pool *pipes; /* NULL: never splice */
};

/* Bytes flowing from one socket (the source) to the other (the sink). The buffer and the pipe
 * are borrowed only while bytes are in flight; an idle direction holds neither. */
struct relay_direction {
    uint8_t *data;
    size_t capacity;
    size_t start;    /* first buffered byte not yet written to the sink */
    size_t end;      /* one past the last buffered byte */
    int pipe[2];     /* -1 when not holding a pipe */
    size_t in_pipe;  /* bytes spliced into the pipe, not yet out of it */
    bool splicing;   /* this direction streams: move it with splice from now on */
    bool source_eof;
    bool sink_shut;  /* the sink has its FIN (or will have it from the close that follows) */
    /* The other direction has finished, so the tunnel closes as soon as this one does:
     * close() then sends the FIN and a shutdown(SHUT_WR) first would be a wasted syscall. */
    bool fin_by_close;
};

enum relay_status {
    RELAY_OK,
    RELAY_SOURCE_ERROR, /* receiving failed (reset): pass a reset on to the sink */
    RELAY_SINK_ERROR,   /* sending failed (reset, broken pipe): reset the source */
    RELAY_NO_MEMORY,
};

void relay_direction_init(struct relay_direction *direction);
size_t relay_pending(const struct relay_direction *direction);
/* Borrows a buffer if the direction has none; false when memory ran out. */
bool relay_acquire_buffer(struct relay_direction *direction, const struct relay_resources *resources);
/* Returns the buffer and the pipe to their pools if empty (closes a pipe that is not). */
void relay_release(struct relay_direction *direction, const struct relay_resources *resources);

/* Frees everything, dropping bytes still in flight (the tunnel is ending). */
void relay_drop(struct relay_direction *direction, const struct relay_resources *resources);

/* Writes what is pending to sink; once everything is out after the source's EOF, sends FIN. */
enum relay_status relay_flush(struct relay_direction *direction,
                              const struct relay_resources *resources, int sink);
/* Reads once from source, at most max bytes (SIZE_MAX: as much as the buffer or pipe takes;
 * more than 0), only when nothing is pending, and writes it on at once. *received is the
 * number of bytes taken from the source (0 at EOF or EAGAIN). */
enum relay_status relay_read(struct relay_direction *direction,
                             const struct relay_resources *resources, int source, int sink,
                             size_t max, size_t *received);

#endif
