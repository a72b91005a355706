/* session_connect: the CONNECT command — tries the destination's addresses in order, answers
 * with the bound address, then hands the two sockets to the tunnel. */
#include "session_connect.h"

#include "connection_record.h"
#include "counter.h"
#include "latency_histogram.h"
#include "net.h"
#include "proxy.h"
#include "session_tunnel.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum connect_step {
    CONNECT_STEP_CONNECTING, /* non-blocking connect to one resolved address */
    CONNECT_STEP_TUNNEL,     /* bytes flow both ways */
};

static void connect_next(struct session *session);

static void connect_on_connected(struct session *session)
{
    struct proxy *proxy = session->proxy;
    struct sockaddr_storage local;
    socklen_t local_length = sizeof(local);
    if (getsockname(session->remote.fd, (struct sockaddr *)&local, &local_length) < 0) {
        session->setup->last_connect_error = errno;
        session_close_remote(session);
        connect_next(session);
        return;
    }
    const struct sockaddr *peer = (const struct sockaddr *)&session->setup->connected_to;
    char destination_address[NET_ADDRESS_TEXT_MAX];
    net_format_address(peer, destination_address);
    session_record_lock(session);
    memcpy(session->record->destination_address, destination_address, sizeof(destination_address));
    session_record_unlock(session);
    if (peer->sa_family == AF_INET6)
        counter_add(&proxy->metrics.ipv6_connections, 1);
    else
        counter_add(&proxy->metrics.ipv4_connections, 1);

    uint8_t reply[SOCKS5_REPLY_MAX_LENGTH];
    size_t length =
        socks5_reply_encode(reply, SOCKS5_REPLY_SUCCEEDED, (const struct sockaddr *)&local);
    if (!session_queue_reply(session, reply, length)) {
        /* No buffer for the reply: the client must not be left waiting on a tunnel it was
         * never told about. */
        counter_add(&proxy->metrics.server_errors, 1);
        session_close(session, false, true);
        return;
    }
    session_record_status(session, SOCKS5_REPLY_SUCCEEDED, true);
    uint64_t now_us = latency_clock_us();
    latency_histogram_observe(&proxy->handshake_latency, now_us - session->setup->accepted_us);
    latency_histogram_observe(&proxy->connect_latency, now_us - session->setup->requested_us);
    session_free_setup(session);
    session->command_step = CONNECT_STEP_TUNNEL;
    session_tunnel_start(session);
}

/* Tries the addresses left in order until a connect starts or succeeds. */
static void connect_next(struct session *session)
{
    struct session_setup *setup = session->setup;
    while (setup->next_address != NULL) {
        struct addrinfo *address = setup->next_address;
        setup->next_address = address->ai_next;
        int fd = socket(address->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            setup->last_connect_error = errno;
            if (errno == EMFILE || errno == ENFILE)
                break; /* no other address will fare better */
            continue;
        }
        session_attach_remote(session, fd);
        memcpy(&setup->connected_to, address->ai_addr, address->ai_addrlen);
        if (connect(fd, address->ai_addr, address->ai_addrlen) == 0) {
            connect_on_connected(session);
            return;
        }
        if (errno == EINPROGRESS) {
            event_loop_timer_start(session->proxy->loop, &session->timer,
                                   session->proxy->settings.connect_timeout_ms);
            session_update_interest(session);
            return;
        }
        setup->last_connect_error = errno;
        close(fd); /* never watched: nothing to tell the loop */
        session->remote.fd = -1;
    }
    session_refuse(session, socks5_failure_of_connect_error(setup->last_connect_error));
}

static void connect_on_connect_event(struct session *session, unsigned events)
{
    /* Writable without an error or hang-up means connected: SO_ERROR is only asked when
     * there is an error to name. */
    int error = 0;
    socklen_t length = sizeof(error);
    if ((events & EVENT_ERROR) &&
        getsockopt(session->remote.fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
        error = errno;
    if ((events & EVENT_ERROR) && error == 0)
        error = ECONNRESET; /* hung up without a pending error: the connect did not hold */
    if (error == 0) {
        connect_on_connected(session);
        return;
    }
    session->setup->last_connect_error = error;
    session_close_remote(session);
    connect_next(session);
}

static void connect_start(struct session *session)
{
    struct session_setup *setup = session->setup;
    session->command_step = CONNECT_STEP_CONNECTING;
    setup->next_address = setup->addresses;
    setup->last_connect_error = EHOSTUNREACH;
    connect_next(session);
}

static void connect_on_client(struct session *session, unsigned events)
{
    if (session->command_step == CONNECT_STEP_TUNNEL)
        session_tunnel_on_event(session, true, events);
    else
        session_on_waiting_client(session, events);
}

static void connect_on_remote(struct session *session, unsigned events)
{
    if (session->command_step == CONNECT_STEP_TUNNEL)
        session_tunnel_on_event(session, false, events);
    else
        connect_on_connect_event(session, events);
}

static void connect_on_timeout(struct session *session)
{
    if (session->command_step == CONNECT_STEP_TUNNEL) {
        session_tunnel_on_timeout(session);
        return;
    }
    /* This address did not answer in time; the next one gets its own full timeout. */
    session->setup->last_connect_error = ETIMEDOUT;
    session_close_remote(session);
    connect_next(session);
}

static void connect_interest(const struct session *session, unsigned *client_mask,
                             unsigned *remote_mask)
{
    if (session->command_step == CONNECT_STEP_TUNNEL) {
        session_tunnel_interest(session, client_mask, remote_mask);
        return;
    }
    *client_mask = session_waiting_client_mask(session);
    *remote_mask = EVENT_WRITE;
}

const struct session_command session_connect_command = {
    .start = connect_start,
    .kind = CONNECTION_KIND_CONNECT,
    .stage = {
        .on_client = connect_on_client,
        .on_remote = connect_on_remote,
        .on_timeout = connect_on_timeout,
        .interest = connect_interest,
        .release = NULL,
    },
};
