/* bench_upstream: the destination servers the tunnels reach — echo, echo-once (echoes one
 * message, then closes), source (sends the byte count asked for, or until the client
 * half-closes) and sink (swallows a byte count, then acknowledges) — on loopback.
 *
 * They run in the generator's own epoll loop, on the generator's CPU. On this two-CPU target
 * the proxy gets one CPU to itself and everything else shares the other; a second thread on
 * that same CPU would add context switches and cross-thread wakeups without adding capacity,
 * and one loop keeps both ends of every tunnel on a single timeline. The cost: what the
 * upstream burns is CPU the clients cannot use, which the per-run CPU figures make visible.
 *
 * The upstream closes first wherever a scenario ends a tunnel (echo-once, source, sink, and
 * upstream_close_all for hold): the active closer keeps TIME_WAIT, and here that is a socket on
 * a listening port. Were clients or proxies to close first, a rate run would leave tens of
 * thousands of ephemeral ports in TIME_WAIT for a minute, and proxies that bind before
 * connecting (dante) would then fail the next run with "network unreachable". */
#include "bench_upstream.h"

#include "bench_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SCRATCH_SIZE (256 * 1024)
#define LISTEN_BACKLOG 4096
#define BIND_ATTEMPTS 20
/* When port 0 finds nothing free (ephemeral range full of TIME_WAIT from other programs),
 * listening ports are drawn from below the usual ephemeral range. */
#define FALLBACK_PORT_LOW 10000
#define FALLBACK_PORT_SPAN 22000

struct upstream_listener {
    struct bench_watch watch;
    struct bench_upstream *owner;
    enum upstream_kind kind;
};

struct upstream_conn {
    struct bench_watch watch;
    struct bench_upstream *owner;
    enum upstream_kind kind;
    struct upstream_conn *prev;
    struct upstream_conn *next;
    uint8_t header[UPSTREAM_HEADER_SIZE];
    size_t header_got;
    uint64_t remaining; /* echo-once, source: still to send; sink: still to swallow */
    size_t ack_sent;
    uint8_t *pending; /* echo bytes the kernel would not take yet */
    size_t pending_len;
    size_t pending_off;
};

struct bench_upstream {
    struct bench_loop *loop;
    struct upstream_listener listeners[UPSTREAM_KINDS][2]; /* [kind][0 = IPv4, 1 = IPv6] */
    uint16_t ports[UPSTREAM_KINDS];
    struct upstream_conn *live;
    size_t live_count;
    uint64_t accept_errors;
    size_t echo_once_size;
    uint8_t scratch[SCRATCH_SIZE]; /* echo input, sink input, source output (pattern) */
};

void upstream_header_encode(uint8_t header[UPSTREAM_HEADER_SIZE], uint64_t count)
{
    for (int i = UPSTREAM_HEADER_SIZE - 1; i >= 0; i--) {
        header[i] = (uint8_t)count;
        count >>= 8;
    }
}

uint64_t upstream_header_decode(const uint8_t header[UPSTREAM_HEADER_SIZE])
{
    uint64_t count = 0;
    for (int i = 0; i < UPSTREAM_HEADER_SIZE; i++)
        count = count << 8 | header[i];
    return count;
}

static void conn_close(struct upstream_conn *conn)
{
    if (conn->watch.closed)
        return;
    loop_close(&conn->watch);
    struct bench_upstream *owner = conn->owner;
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        owner->live = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    owner->live_count--;
    loop_defer(owner->loop, &conn->watch);
}

static void conn_free_deferred(struct bench_watch *watch)
{
    struct upstream_conn *conn = (struct upstream_conn *)watch;
    free(conn->pending);
    free(conn);
}

/* Returns false when the connection was closed. */
static bool echo_flush_pending(struct upstream_conn *conn)
{
    while (conn->pending_off < conn->pending_len) {
        ssize_t sent = send(conn->watch.fd, conn->pending + conn->pending_off,
                            conn->pending_len - conn->pending_off, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EAGAIN)
                return true;
            conn_close(conn);
            return false;
        }
        conn->pending_off += (size_t)sent;
    }
    free(conn->pending);
    conn->pending = NULL;
    conn->pending_len = conn->pending_off = 0;
    return true;
}

/* Reads while the kernel has bytes and sends them straight back; what does not fit waits in
 * a private buffer and reading pauses until it drains (back-pressure, as a real server). */
static void echo_drive(struct upstream_conn *conn, uint32_t events)
{
    uint8_t *scratch = conn->owner->scratch;
    for (;;) {
        if (conn->pending != NULL && (!echo_flush_pending(conn) || conn->pending != NULL))
            return;
        ssize_t got = recv(conn->watch.fd, scratch, SCRATCH_SIZE, 0);
        if (got <= 0) {
            if (got < 0 && errno == EAGAIN)
                return;
            conn_close(conn);
            return;
        }
        ssize_t sent = send(conn->watch.fd, scratch, (size_t)got, MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN) {
            conn_close(conn);
            return;
        }
        if (sent < 0)
            sent = 0;
        if (sent < got) {
            conn->pending_len = (size_t)(got - sent);
            conn->pending = malloc(conn->pending_len);
            if (conn->pending == NULL) {
                conn_close(conn);
                return;
            }
            memcpy(conn->pending, scratch + sent, conn->pending_len);
            conn->pending_off = 0;
        }
        if ((size_t)got < SCRATCH_SIZE && loop_short_read_is_dry(events))
            return;
    }
}

/* Echoes what arrives until echo_once_size bytes went back, then closes. The message is small
 * (it fits any socket buffer), so a send that does not take it all is treated as a failure. */
static void echo_once_drive(struct upstream_conn *conn, uint32_t events)
{
    uint8_t *scratch = conn->owner->scratch;
    while (conn->remaining > 0) {
        size_t want = conn->remaining < SCRATCH_SIZE ? (size_t)conn->remaining : SCRATCH_SIZE;
        ssize_t got = recv(conn->watch.fd, scratch, want, 0);
        if (got <= 0) {
            if (got == 0 || errno != EAGAIN)
                conn_close(conn);
            return;
        }
        if (send(conn->watch.fd, scratch, (size_t)got, MSG_NOSIGNAL) != got) {
            conn_close(conn);
            return;
        }
        conn->remaining -= (uint64_t)got;
        if ((size_t)got < want && conn->remaining > 0 && loop_short_read_is_dry(events))
            return;
    }
    conn_close(conn);
}

/* Returns false when the connection was closed or has no complete header yet. */
static bool read_header(struct upstream_conn *conn)
{
    while (conn->header_got < UPSTREAM_HEADER_SIZE) {
        ssize_t got = recv(conn->watch.fd, conn->header + conn->header_got,
                           UPSTREAM_HEADER_SIZE - conn->header_got, 0);
        if (got <= 0) {
            if (got == 0 || errno != EAGAIN)
                conn_close(conn);
            return false;
        }
        conn->header_got += (size_t)got;
        if (conn->header_got == UPSTREAM_HEADER_SIZE)
            conn->remaining = upstream_header_decode(conn->header);
    }
    return true;
}

/* True when the peer has half-closed (or failed): nothing is ever sent to a source after the
 * header, so whatever else arrives is dropped. Reads only when the event says there is input. */
static bool source_peer_finished(struct upstream_conn *conn, uint32_t events)
{
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return false;
    for (;;) {
        ssize_t got = recv(conn->watch.fd, conn->owner->scratch, SCRATCH_SIZE, 0);
        if (got == 0)
            return true;
        if (got < 0)
            return errno != EAGAIN;
    }
}

/* A client that half-closes before its count is out (bulk cut by -d) stops the source: the
 * close delivers what is already queued, then the end-of-stream the client reads up to. */
static void source_drive(struct upstream_conn *conn, uint32_t events)
{
    if (!read_header(conn))
        return;
    if (source_peer_finished(conn, events)) {
        conn_close(conn);
        return;
    }
    while (conn->remaining > 0) {
        size_t chunk = conn->remaining < SCRATCH_SIZE ? (size_t)conn->remaining : SCRATCH_SIZE;
        ssize_t sent = send(conn->watch.fd, conn->owner->scratch, chunk, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno != EAGAIN)
                conn_close(conn);
            return;
        }
        conn->remaining -= (uint64_t)sent;
    }
    /* Everything is queued; close() still delivers it and ends with FIN. */
    conn_close(conn);
}

/* Like the bulk client, the sink takes a short read as "drained" (unless the event also says
 * the peer closed) instead of paying one more recv for the EAGAIN: the generator shares its
 * CPU between client and sink, so its own waste would be charged to the proxy. */
static void sink_drive(struct upstream_conn *conn, uint32_t events)
{
    if (!read_header(conn))
        return;
    while (conn->remaining > 0) {
        size_t want = conn->remaining < SCRATCH_SIZE ? (size_t)conn->remaining : SCRATCH_SIZE;
        ssize_t got = recv(conn->watch.fd, conn->owner->scratch, want, 0);
        if (got <= 0) {
            if (got == 0 || errno != EAGAIN)
                conn_close(conn);
            return;
        }
        conn->remaining -= (uint64_t)got;
        if ((size_t)got < want && conn->remaining > 0 && loop_short_read_is_dry(events))
            return;
    }
    /* The acknowledgement proves every byte crossed the proxy, not just left the client. */
    uint8_t ack[UPSTREAM_HEADER_SIZE];
    upstream_header_encode(ack, upstream_header_decode(conn->header));
    while (conn->ack_sent < sizeof(ack)) {
        ssize_t sent =
            send(conn->watch.fd, ack + conn->ack_sent, sizeof(ack) - conn->ack_sent, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno != EAGAIN)
                conn_close(conn);
            return;
        }
        conn->ack_sent += (size_t)sent;
    }
    conn_close(conn);
}

static void conn_on_event(struct bench_watch *watch, uint32_t events)
{
    struct upstream_conn *conn = (struct upstream_conn *)watch;
    switch (conn->kind) {
    case UPSTREAM_ECHO:
        echo_drive(conn, events);
        break;
    case UPSTREAM_ECHO_ONCE:
        echo_once_drive(conn, events);
        break;
    case UPSTREAM_SOURCE:
        source_drive(conn, events);
        break;
    case UPSTREAM_SINK:
        sink_drive(conn, events);
        break;
    case UPSTREAM_KINDS:
        break;
    }
}

static void upstream_adopt(struct bench_upstream *upstream, enum upstream_kind kind, int fd)
{
    struct upstream_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        close(fd);
        upstream->accept_errors++;
        return;
    }
    conn->watch.fd = fd;
    conn->watch.on_event = conn_on_event;
    conn->watch.on_deferred = conn_free_deferred;
    conn->owner = upstream;
    conn->kind = kind;
    if (kind == UPSTREAM_ECHO_ONCE)
        conn->remaining = upstream->echo_once_size;
    if (loop_add(upstream->loop, &conn->watch) != 0) {
        close(fd);
        free(conn);
        upstream->accept_errors++;
        return;
    }
    conn->next = upstream->live;
    if (upstream->live != NULL)
        upstream->live->prev = conn;
    upstream->live = conn;
    upstream->live_count++;
}

static void listener_on_event(struct bench_watch *watch, uint32_t events)
{
    (void)events;
    struct upstream_listener *listener = (struct upstream_listener *)watch;
    for (;;) {
        /* TCP_NODELAY is inherited from the listening socket on Linux: no call per accept. */
        int fd = accept4(watch->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN)
                return;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* EMFILE and friends: count it; the queued connection waits for the next edge. */
            listener->owner->accept_errors++;
            return;
        }
        upstream_adopt(listener->owner, listener->kind, fd);
    }
}

static int listen_on(const struct sockaddr *address, socklen_t length)
{
    int fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (address->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, address, length) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int listener_arm(struct bench_upstream *upstream, enum upstream_kind kind, int family,
                        int fd)
{
    struct upstream_listener *listener = &upstream->listeners[kind][family == AF_INET6];
    listener->watch.fd = fd;
    listener->watch.on_event = listener_on_event;
    listener->owner = upstream;
    listener->kind = kind;
    return loop_add(upstream->loop, &listener->watch);
}

/* Port 0 first; then ports from below the ephemeral range. */
static uint16_t candidate_port(int attempt)
{
    if (attempt == 0)
        return 0;
    return (uint16_t)(FALLBACK_PORT_LOW + (unsigned)rand() % FALLBACK_PORT_SPAN);
}

/* Binds 127.0.0.1 on a free port, then tries ::1 on the same port; retries with another port
 * if ::1 has that one taken. */
static int upstream_bind_kind(struct bench_upstream *upstream, enum upstream_kind kind)
{
    for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
        struct sockaddr_in v4 = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                 .sin_port = htons(candidate_port(attempt))};
        int fd4 = listen_on((struct sockaddr *)&v4, sizeof(v4));
        if (fd4 < 0 && errno == EADDRINUSE)
            continue;
        if (fd4 < 0)
            return -1;
        socklen_t length = sizeof(v4);
        getsockname(fd4, (struct sockaddr *)&v4, &length);
        struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
                                  .sin6_port = v4.sin_port};
        int fd6 = listen_on((struct sockaddr *)&v6, sizeof(v6));
        if (fd6 < 0 && errno == EADDRINUSE) {
            close(fd4);
            continue;
        }
        upstream->ports[kind] = ntohs(v4.sin_port);
        if (listener_arm(upstream, kind, AF_INET, fd4) != 0)
            return -1;
        if (fd6 >= 0 && listener_arm(upstream, kind, AF_INET6, fd6) != 0)
            return -1;
        return 0;
    }
    errno = EADDRINUSE;
    return -1;
}

struct bench_upstream *upstream_start(struct bench_loop *loop, size_t echo_once_size)
{
    struct bench_upstream *upstream = calloc(1, sizeof(*upstream));
    if (upstream == NULL)
        return NULL;
    upstream->loop = loop;
    upstream->echo_once_size = echo_once_size;
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    for (size_t i = 0; i < SCRATCH_SIZE; i++)
        upstream->scratch[i] = (uint8_t)('a' + i % 26);
    for (int kind = 0; kind < UPSTREAM_KINDS; kind++) {
        for (int family = 0; family < 2; family++)
            upstream->listeners[kind][family].watch.fd = -1;
    }
    for (int kind = 0; kind < UPSTREAM_KINDS; kind++) {
        if (upstream_bind_kind(upstream, (enum upstream_kind)kind) != 0) {
            int saved = errno;
            upstream_free(upstream);
            errno = saved;
            return NULL;
        }
    }
    return upstream;
}

void upstream_free(struct bench_upstream *upstream)
{
    if (upstream == NULL)
        return;
    for (int kind = 0; kind < UPSTREAM_KINDS; kind++) {
        for (int family = 0; family < 2; family++) {
            if (upstream->listeners[kind][family].watch.fd >= 0)
                close(upstream->listeners[kind][family].watch.fd);
        }
    }
    /* Outside any batch: connections can go at once. */
    while (upstream->live != NULL) {
        struct upstream_conn *conn = upstream->live;
        upstream->live = conn->next;
        loop_close(&conn->watch);
        conn_free_deferred(&conn->watch);
    }
    free(upstream);
}

void upstream_close_all(struct bench_upstream *upstream)
{
    while (upstream->live != NULL)
        conn_close(upstream->live);
}

uint16_t upstream_port(const struct bench_upstream *upstream, enum upstream_kind kind)
{
    return upstream->ports[kind];
}

size_t upstream_live(const struct bench_upstream *upstream)
{
    return upstream->live_count;
}

uint64_t upstream_accept_errors(const struct bench_upstream *upstream)
{
    return upstream->accept_errors;
}
