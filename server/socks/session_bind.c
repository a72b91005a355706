/* session_bind: the BIND command (RFC 1928 section 6) — listens where the destination can reach
 * this server, waits for the one peer it names, answers twice, then hands over to the tunnel. */
#include "session_bind.h"

#include "connection_record.h"
#include "counter.h"
#include "log.h"
#include "net.h"
#include "proxy.h"
#include "session_tunnel.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Peers accepted (and refused) per readiness event, so that a flood of wrong peers cannot hold
 * the loop; the rest wait for the next event. */
#define BIND_ACCEPTS_PER_EVENT 16

enum bind_step {
    BIND_STEP_WAITING, /* the remote watcher is the listening socket */
    BIND_STEP_TUNNEL,  /* the remote watcher is the peer: bytes flow both ways */
};

static bool bind_address_is_zero(const struct sockaddr *address)
{
    static const uint8_t zero[16];
    if (address->sa_family == AF_INET)
        return ((const struct sockaddr_in *)address)->sin_addr.s_addr == 0;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)address;
    return memcmp(&in6->sin6_addr, zero, sizeof(zero)) == 0;
}

static bool bind_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* A zero DST.ADDR names no host: any peer may connect. Otherwise only a host the request named
 * (any of a name's addresses); the port is not compared, since the application server
 * connects from a port of its own choosing (FTP's active mode is the usual case). */
static bool bind_peer_expected(const struct session *session, const struct sockaddr *peer)
{
    const struct addrinfo *addresses = session->setup->addresses;
    if (addresses->ai_next == NULL && bind_address_is_zero(addresses->ai_addr))
        return true;
    for (const struct addrinfo *address = addresses; address != NULL; address = address->ai_next) {
        if (bind_same_host(address->ai_addr, peer))
            return true;
    }
    return false;
}

/* RFC 1928 gives the first reply's BND.ADDR to the client to pass on to the application
 * server, which then connects to it: so it is the local address this server would use to reach
 * that server — the route's source address, which connecting a UDP socket finds without
 * sending anything. A zero DST.ADDR names no server: the address the client's connection
 * arrived on, which the client can reach at least. */
static bool bind_local_address(struct session *session, struct sockaddr_storage *local,
                               socklen_t *length)
{
    const struct addrinfo *destination = session->setup->addresses;
    *length = sizeof(*local);
    if (bind_address_is_zero(destination->ai_addr))
        return getsockname(session->client.fd, (struct sockaddr *)local, length) == 0;
    struct sockaddr_storage route;
    memcpy(&route, destination->ai_addr, destination->ai_addrlen);
    /* Port 0 cannot be connected to; the port plays no part in the route. */
    if (route.ss_family == AF_INET && ((struct sockaddr_in *)&route)->sin_port == 0)
        ((struct sockaddr_in *)&route)->sin_port = htons(9);
    if (route.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&route)->sin6_port == 0)
        ((struct sockaddr_in6 *)&route)->sin6_port = htons(9);
    int probe = socket(route.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return false;
    bool found = connect(probe, (struct sockaddr *)&route, destination->ai_addrlen) == 0 &&
                 getsockname(probe, (struct sockaddr *)local, length) == 0;
    int error = errno;
    close(probe);
    errno = error;
    return found;
}

static void bind_start(struct session *session)
{
    struct proxy *proxy = session->proxy;
    session->command_step = BIND_STEP_WAITING;
    struct sockaddr_storage local;
    socklen_t length;
    if (!bind_local_address(session, &local, &length)) {
        session_refuse(session, socks5_failure_of_connect_error(errno));
        return;
    }
    if (local.ss_family == AF_INET)
        ((struct sockaddr_in *)&local)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&local)->sin6_port = 0;
    int listening = net_listen((struct sockaddr *)&local, length, false);
    if (listening < 0) {
        session_refuse(session, socks5_failure_of_connect_error(errno));
        return;
    }
    session_attach_remote(session, listening); /* accepted peers inherit its tuning */
    length = sizeof(local);
    if (getsockname(listening, (struct sockaddr *)&local, &length) < 0) {
        session_refuse(session, SOCKS5_FAILURE_LOCAL_RESOURCES);
        return;
    }
    uint8_t reply[SOCKS5_REPLY_MAX_LENGTH];
    size_t reply_length =
        socks5_reply_encode(reply, SOCKS5_REPLY_SUCCEEDED, (const struct sockaddr *)&local);
    if (!session_queue_reply(session, reply, reply_length)) {
        session_refuse(session, SOCKS5_FAILURE_LOCAL_RESOURCES);
        return;
    }
    if (!session_flush_to_client(session)) {
        session_close(session, false, false);
        return;
    }
    /* The peer has a --connect-timeout of its own from the first reply on: the client only
     * now learns where to send it. */
    event_loop_timer_start(proxy->loop, &session->timer, proxy->settings.connect_timeout_ms);
    session_update_interest(session);
}

/* The expected peer connected: the second reply names it, and the tunnel takes over. */
static void bind_on_peer(struct session *session, int peer_fd, const struct sockaddr *peer)
{
    struct proxy *proxy = session->proxy;
    session_close_remote(session); /* the listening socket: one peer per BIND */
    session_attach_remote(session, peer_fd);
    char peer_text[NET_ADDRESS_TEXT_MAX];
    net_format_address(peer, peer_text);
    session_record_lock(session);
    memcpy(session->record->destination_address, peer_text, sizeof(peer_text));
    session_record_unlock(session);
    if (peer->sa_family == AF_INET6)
        counter_add(&proxy->metrics.ipv6_connections, 1);
    else
        counter_add(&proxy->metrics.ipv4_connections, 1);
    uint8_t reply[SOCKS5_REPLY_MAX_LENGTH];
    size_t length = socks5_reply_encode(reply, SOCKS5_REPLY_SUCCEEDED, peer);
    if (!session_queue_reply(session, reply, length)) {
        counter_add(&proxy->metrics.server_errors, 1);
        session_close(session, false, true);
        return;
    }
    session_record_status(session, SOCKS5_REPLY_SUCCEEDED, true);
    session_free_setup(session);
    session->command_step = BIND_STEP_TUNNEL;
    session_tunnel_start(session);
}

static void bind_on_listening(struct session *session, unsigned events)
{
    (void)events; /* an error on the listening socket shows in accept4 */
    for (int accepted = 0; accepted < BIND_ACCEPTS_PER_EVENT; accepted++) {
        struct sockaddr_storage peer;
        socklen_t length = sizeof(peer);
        int fd = accept4(session->remote.fd, (struct sockaddr *)&peer, &length,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                errno == ECONNABORTED)
                return;
            session_refuse(session, socks5_failure_of_connect_error(errno));
            return;
        }
        if (bind_peer_expected(session, (struct sockaddr *)&peer)) {
            bind_on_peer(session, fd, (struct sockaddr *)&peer);
            return;
        }
        char peer_text[NET_ADDRESS_TEXT_MAX];
        net_format_address((struct sockaddr *)&peer, peer_text);
        log_message(LOG_DEBUG, "connection %llu: BIND refused peer %s, still waiting",
                    (unsigned long long)session->record->id, peer_text);
        close(fd);
    }
}

/* While the peer is awaited the client has nothing to say: its hang-up ends the BIND at once.
 * Bytes it sends early stay in the kernel for the tunnel, and reading stops until then. */
static void bind_on_waiting_client(struct session *session, unsigned events)
{
    if (events & EVENT_READ) {
        uint8_t byte;
        ssize_t received = recv(session->client.fd, &byte, 1, MSG_PEEK);
        if (received == 0 ||
            (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            session_close(session, false, false);
            return;
        }
        if (received < 0)
            events &= ~(unsigned)EVENT_READ; /* nothing there after all: keep listening */
    }
    session_on_waiting_client(session, events);
}

static void bind_on_client(struct session *session, unsigned events)
{
    if (session->command_step == BIND_STEP_TUNNEL)
        session_tunnel_on_event(session, true, events);
    else
        bind_on_waiting_client(session, events);
}

static void bind_on_remote(struct session *session, unsigned events)
{
    if (session->command_step == BIND_STEP_TUNNEL)
        session_tunnel_on_event(session, false, events);
    else
        bind_on_listening(session, events);
}

static void bind_on_timeout(struct session *session)
{
    if (session->command_step == BIND_STEP_TUNNEL) {
        session_tunnel_on_timeout(session);
        return;
    }
    session_refuse(session, SOCKS5_FAILURE_BIND_TIMEOUT);
}

static void bind_interest(const struct session *session, unsigned *client_mask,
                          unsigned *remote_mask)
{
    if (session->command_step == BIND_STEP_TUNNEL) {
        session_tunnel_interest(session, client_mask, remote_mask);
        return;
    }
    *client_mask = session_waiting_client_mask(session);
    *remote_mask = EVENT_READ;
}

const struct session_command session_bind_command = {
    .start = bind_start,
    .kind = CONNECTION_KIND_BIND,
    .stage = {
        .on_client = bind_on_client,
        .on_remote = bind_on_remote,
        .on_timeout = bind_on_timeout,
        .interest = bind_interest,
        .release = NULL,
    },
};
