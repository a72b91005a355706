/* transport: a connection's byte stream behind a table of functions (read, write, end, close),
 * so that what speaks a protocol over it need not know how bytes travel: plain TCP here (TLS
 * in tls_transport). */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct transport;

/* Every function is called on the thread that owns the connection, never concurrently. TLS
 * is another table over the same descriptor, its handshake and records kept inside read and
 * write: hence the two optional functions below, which a reader waiting on the descriptor's
 * readiness must ask. */
struct transport_ops {
    const char *name; /* for logs: "tcp" */
    /* > 0: bytes read; 0: the peer ended its stream; -1: errno (EAGAIN: nothing yet). */
    ssize_t (*read)(struct transport *transport, void *buffer, size_t size);
    /* > 0: bytes taken (maybe fewer than offered); -1: errno (EAGAIN: no room yet). */
    ssize_t (*write)(struct transport *transport, const void *data, size_t length);
    /* Nothing more will be written: the peer reads to the end of the stream (TCP's FIN) and
     * may still send. */
    void (*end_writes)(struct transport *transport);
    /* Closes the descriptor and frees the transport. */
    void (*close)(struct transport *transport);
    /* Bytes already taken off the descriptor and waiting inside (the rest of a decrypted TLS
     * record): while true, read has something without the descriptor becoming readable.
     * NULL: never. */
    bool (*has_buffered)(const struct transport *transport);
    /* What the last EAGAIN waits for besides what the caller asked (a TLS handshake record to
     * write before anything can be read): EVENT_READ and/or EVENT_WRITE, 0 for nothing.
     * NULL: nothing. */
    unsigned (*waits_for)(const struct transport *transport);
};

struct transport {
    const struct transport_ops *ops;
    int fd; /* for readiness only (event_loop_watch): bytes go through ops */
};

/* A plain TCP stream over a connected, non-blocking socket. Takes fd: NULL (fd closed) when
 * out of memory. */
struct transport *transport_tcp_create(int fd);

static inline ssize_t transport_read(struct transport *transport, void *buffer, size_t size)
{
    return transport->ops->read(transport, buffer, size);
}

static inline ssize_t transport_write(struct transport *transport, const void *data,
                                      size_t length)
{
    return transport->ops->write(transport, data, length);
}

static inline void transport_end_writes(struct transport *transport)
{
    transport->ops->end_writes(transport);
}

static inline void transport_close(struct transport *transport)
{
    transport->ops->close(transport);
}

static inline bool transport_has_buffered(const struct transport *transport)
{
    return transport->ops->has_buffered != NULL && transport->ops->has_buffered(transport);
}

static inline unsigned transport_waits_for(const struct transport *transport)
{
    return transport->ops->waits_for != NULL ? transport->ops->waits_for(transport) : 0;
}

static inline const char *transport_name(const struct transport *transport)
{
    return transport->ops->name;
}

#endif
