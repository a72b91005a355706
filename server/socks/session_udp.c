/* session_udp: the UDP ASSOCIATE command (RFC 1928 sections 6 and 7) — a relay socket for the
 * client's datagrams, their destinations judged and looked up, the replies wrapped back. */
#include "session_udp.h"

#include "connection_record.h"
#include "counter.h"
#include "log.h"
#include "proxy.h"
#include "session_policy.h"
#include "socks5_udp_header.h"
#include "token_bucket.h"
#include "udp_address.h"
#include "udp_names.h"
#include "users.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* After relaying datagrams the loop polls this long before sleeping: an answer from a nearby
 * peer (or the client's next datagram) often comes back within it, and a sleeping loop pays a
 * wake-up that costs more than the window, most of all in a virtual machine. Not a busy loop:
 * a quiet association lets the loop sleep after one window. */
#define UDP_ANSWER_POLL_US 50

/* Datagrams one recvmmsg or sendmmsg moves: past 16 a batch saves no more syscalls worth its
 * memory (each slot holds the largest datagram). */
#define UDP_BATCH 16
/* Room for any UDP payload: 65,507 bytes over IPv4, 65,527 over IPv6. */
#define UDP_DATAGRAM_ROOM 65536
/* Batches read per readiness event, so one busy association cannot hold the loop. */
#define UDP_BATCHES_PER_EVENT 4
/* Each UDP socket's receive buffer (the kernel caps it at net.core.rmem_max): what a burst
 * can queue while the loop is busy. Memory is taken only by datagrams actually queued. */
#define UDP_RECEIVE_BUFFER (2 << 20)
/* Destinations whose policy verdict an association remembers (most recent ones). */
#define UDP_DESTINATIONS_REMEMBERED 8

enum udp_step {
    UDP_STEP_RELAY, /* the association is granted: datagrams flow */
};

/* One worker's scratch space for datagrams, shared by all of its associations: an idle
 * association holds no datagram buffer, and the hot path allocates nothing. */
struct udp_batch {
    struct mmsghdr received[UDP_BATCH];
    struct iovec received_iov[UDP_BATCH];
    union udp_address sources[UDP_BATCH];
    struct mmsghdr sent[UDP_BATCH];
    struct iovec sent_iov[UDP_BATCH][2];
    union udp_address destinations[UDP_BATCH];
    size_t payloads[UDP_BATCH];
    uint8_t headers[UDP_BATCH][SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH];
    struct socks5_udp_header_parser parser;
    uint8_t data[UDP_BATCH][UDP_DATAGRAM_ROOM];
};

struct udp_destination {
    union udp_address address; /* AF_UNSPEC: a free slot */
    bool allowed;
};

struct udp_association {
    struct session *session;
    /* Toward remotes: one socket per family, made with the first datagram that needs it. */
    struct event_watcher remote4;
    struct event_watcher remote6;
    union udp_address client;     /* the TCP client's address: datagrams come only from it */
    union udp_address named;      /* what the request named; AF_UNSPEC when it named none */
    uint16_t named_port;          /* network order; 0 = any port */
    union udp_address reply_to;   /* the client's last accepted source; AF_UNSPEC until then */
    struct udp_destination destinations[UDP_DESTINATIONS_REMEMBERED];
    unsigned next_destination;
    struct udp_names names;
};

/* ---- counting ---- */

static struct user_usage *udp_usage(struct session *session)
{
    return user_usage(user_from_owner(session->record->owner));
}

static void udp_count_relayed(struct session *session, bool up, uint64_t datagrams,
                              uint64_t bytes)
{
    struct proxy *proxy = session->proxy;
    struct connection_record *record = session->record;
    struct user_usage *usage = udp_usage(session);
    if (datagrams == 0)
        return;
    session->last_activity_ms = event_loop_now_ms(proxy->loop);
    if (up) {
        counter_add(&proxy->metrics.udp_datagrams_up, datagrams);
        counter_add(&proxy->metrics.udp_bytes_up, bytes);
        counter_add(&proxy->metrics.bytes_up, bytes);
        counter_add(&record->datagrams_up, datagrams);
        counter_add(&record->bytes_up, bytes);
        counter_add_shared(&usage->datagrams_up, datagrams);
        counter_add_shared(&usage->bytes_up, bytes);
    } else {
        counter_add(&proxy->metrics.udp_datagrams_down, datagrams);
        counter_add(&proxy->metrics.udp_bytes_down, bytes);
        counter_add(&proxy->metrics.bytes_down, bytes);
        counter_add(&record->datagrams_down, datagrams);
        counter_add(&record->bytes_down, bytes);
        counter_add_shared(&usage->datagrams_down, datagrams);
        counter_add_shared(&usage->bytes_down, bytes);
    }
}

/* A limited user's datagrams spend the same budget as its tunnels' bytes. A datagram cannot
 * wait the way a stream's reader does (holding it would cost memory per association, and late
 * datagrams are worth little), so one that finds the budget spent is dropped — policing, as
 * routers do — and counted. The budget may go into debt by one datagram, so that datagrams
 * larger than a burst still pass at the user's rate. Unlimited users: one load, one branch. */
static bool udp_within_budget(struct session *session, bool up, size_t bytes)
{
    struct token_bucket *bucket = user_bucket(user_from_owner(session->record->owner), up);
    if (!token_bucket_limited(bucket))
        return true;
    uint64_t now_ns = token_bucket_now_ns();
    if (token_bucket_allowance(bucket, 1, now_ns) == 0) {
        counter_add(&session->proxy->metrics.udp_dropped_limit, 1);
        return false;
    }
    token_bucket_spend(bucket, bytes, now_ns);
    return true;
}

/* ---- sockets and addresses ---- */

static int udp_socket(int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int size = UDP_RECEIVE_BUFFER;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)); /* best effort */
    return fd;
}

static void udp_on_remote_readable(struct event_loop *loop, struct event_watcher *watcher,
                                   unsigned events);

/* The socket toward remotes of family, made on first use; -1 when none can be made. */
static int udp_remote_socket(struct udp_association *association, int family)
{
    struct event_watcher *watcher =
        family == AF_INET ? &association->remote4 : &association->remote6;
    if (watcher->fd >= 0)
        return watcher->fd;
    struct proxy *proxy = association->session->proxy;
    int fd = udp_socket(family);
    if (fd < 0) {
        counter_add(&proxy->metrics.server_errors, 1);
        return -1;
    }
    event_watcher_init(watcher, fd, udp_on_remote_readable, association);
    if (event_loop_watch(proxy->loop, watcher, EVENT_READ) < 0) {
        counter_add(&proxy->metrics.server_errors, 1);
        close(fd);
        watcher->fd = -1;
        return -1;
    }
    return fd;
}

/* Whether source is the association's client: its TCP client's address, and what the
 * request named, if it named anything. */
static bool udp_from_client(const struct udp_association *association,
                            const union udp_address *source)
{
    const union udp_address *client = &association->client;
    const union udp_address *named = &association->named;
    uint16_t port;
    if (source->sa.sa_family != client->sa.sa_family)
        return false;
    if (source->sa.sa_family == AF_INET) {
        if (source->in4.sin_addr.s_addr != client->in4.sin_addr.s_addr ||
            (named->sa.sa_family == AF_INET &&
             source->in4.sin_addr.s_addr != named->in4.sin_addr.s_addr))
            return false;
        port = source->in4.sin_port;
    } else {
        if (memcmp(&source->in6.sin6_addr, &client->in6.sin6_addr, 16) != 0 ||
            (named->sa.sa_family == AF_INET6 &&
             memcmp(&source->in6.sin6_addr, &named->in6.sin6_addr, 16) != 0))
            return false;
        port = source->in6.sin6_port;
    }
    if (named->sa.sa_family != AF_UNSPEC && named->sa.sa_family != source->sa.sa_family)
        return false;
    return association->named_port == 0 || port == association->named_port;
}

/* The policy's verdict on a literal destination, asked once per destination the association
 * remembers (the most recent ones). */
static bool udp_destination_allowed(struct udp_association *association,
                                    const struct socks5_request *named,
                                    const union udp_address *address)
{
    for (size_t i = 0; i < UDP_DESTINATIONS_REMEMBERED; i++) {
        const struct udp_destination *known = &association->destinations[i];
        if (udp_address_equal(&known->address, address))
            return known->allowed;
    }
    struct session *session = association->session;
    union udp_address copy = *address;
    struct addrinfo entry = {
        .ai_family = copy.sa.sa_family,
        .ai_socktype = SOCK_DGRAM,
        .ai_protocol = IPPROTO_UDP,
        .ai_addrlen = udp_address_length(&copy),
        .ai_addr = &copy.sa,
    };
    bool allowed = session_destination_policy(session->proxy, session->record, named,
                                              &association->client.sa, &entry,
                                              udp_names_denial_level(&association->names)) ==
                   SOCKS5_FAILURE_NONE;
    if (!allowed) {
        counter_add(&session->proxy->metrics.rule_denials, 1);
        udp_names_count_denial(&association->names);
    }
    struct udp_destination *slot =
        &association->destinations[association->next_destination++ % UDP_DESTINATIONS_REMEMBERED];
    slot->address = *address;
    slot->allowed = allowed;
    if (allowed)
        session_record_destination_address(session, &address->sa);
    return allowed;
}

/* ---- sending ---- */

/* Sends count prepared messages on fd; returns how many went out and the payload bytes of
 * those, counting the others as dropped. A full socket buffer drops the rest of the batch, as
 * a router would. */
static unsigned udp_send_batch(struct proxy *proxy, int fd, struct mmsghdr *messages,
                               const size_t *payloads, unsigned count, uint64_t *bytes)
{
    unsigned done = 0, delivered = 0;
    *bytes = 0;
    while (done < count) {
        int sent = sendmmsg(fd, messages + done, count - done, MSG_DONTWAIT);
        if (sent > 0) {
            for (int i = 0; i < sent; i++)
                *bytes += payloads[done + (unsigned)i];
            done += (unsigned)sent;
            delivered += (unsigned)sent;
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            counter_add(&proxy->metrics.udp_dropped_send, count - done);
            break;
        }
        counter_add(&proxy->metrics.udp_dropped_send, 1); /* this one only: too large, ... */
        done++;
    }
    if (delivered > 0)
        event_loop_poll_briefly(proxy->loop, UDP_ANSWER_POLL_US);
    return delivered;
}

/* One datagram, outside a batch (one that waited for its name's lookup). */
static void udp_send_one(struct udp_association *association, const union udp_address *to,
                         const uint8_t *payload, size_t length)
{
    struct proxy *proxy = association->session->proxy;
    int fd = udp_remote_socket(association, to->sa.sa_family);
    if (fd < 0) {
        counter_add(&proxy->metrics.udp_dropped_send, 1);
        return;
    }
    if (sendto(fd, payload, length, MSG_DONTWAIT, &to->sa, udp_address_length(to)) < 0) {
        counter_add(&proxy->metrics.udp_dropped_send, 1);
        return;
    }
    udp_count_relayed(association->session, true, 1, length);
}

static void udp_on_name_answer(void *context, const union udp_address *to, const uint8_t *payload,
                               size_t length)
{
    udp_send_one(context, to, payload, length);
}

/* ---- client → remote ---- */

/* The messages queued toward one remote socket, sent when the next one goes elsewhere. */
struct udp_outgoing {
    unsigned count;
    int fd;
};

static void udp_flush_up(struct udp_association *association, struct udp_outgoing *outgoing)
{
    struct proxy *proxy = association->session->proxy;
    struct udp_batch *batch = proxy->udp_batch;
    uint64_t bytes;
    if (outgoing->count == 0)
        return;
    unsigned sent = udp_send_batch(proxy, outgoing->fd, batch->sent, batch->payloads,
                                   outgoing->count, &bytes);
    udp_count_relayed(association->session, true, sent, bytes);
    outgoing->count = 0;
}

static void udp_queue_up(struct udp_association *association, struct udp_outgoing *outgoing,
                         const union udp_address *to, uint8_t *payload, size_t length)
{
    struct proxy *proxy = association->session->proxy;
    struct udp_batch *batch = proxy->udp_batch;
    int fd = udp_remote_socket(association, to->sa.sa_family);
    if (fd < 0) {
        counter_add(&proxy->metrics.udp_dropped_send, 1);
        return;
    }
    if (outgoing->count > 0 && outgoing->fd != fd)
        udp_flush_up(association, outgoing);
    unsigned i = outgoing->count++;
    outgoing->fd = fd;
    batch->destinations[i] = *to;
    batch->sent_iov[i][0] = (struct iovec){.iov_base = payload, .iov_len = length};
    batch->payloads[i] = length;
    batch->sent[i].msg_hdr = (struct msghdr){
        .msg_name = &batch->destinations[i],
        .msg_namelen = udp_address_length(to),
        .msg_iov = batch->sent_iov[i],
        .msg_iovlen = 1,
    };
}

/* One datagram from the client's address: its header decides where it goes, if anywhere. */
static void udp_route_up(struct udp_association *association, struct udp_outgoing *outgoing,
                         uint8_t *datagram, size_t length)
{
    struct proxy *proxy = association->session->proxy;
    struct socks5_udp_header_parser *parser = &proxy->udp_batch->parser;
    size_t header_length;
    enum socks5_udp_header_error error =
        socks5_udp_header_decode(parser, datagram, length, &header_length);
    if (error == SOCKS5_UDP_ERROR_FRAGMENTED) {
        counter_add(&proxy->metrics.udp_dropped_fragmented, 1);
        return;
    }
    if (error != SOCKS5_UDP_ERROR_NONE) {
        counter_add(&proxy->metrics.udp_dropped_malformed, 1);
        return;
    }
    const struct socks5_request *destination = &parser->destination;
    uint8_t *payload = datagram + header_length;
    size_t payload_length = length - header_length;
    union udp_address to;
    if (destination->address_type == SOCKS5_ATYP_DOMAIN) {
        if (!udp_names_route(&association->names, destination, payload, payload_length, &to))
            return; /* waits for the name's lookup, or dropped */
    } else {
        udp_address_from_request(destination, &to);
        if (!udp_destination_allowed(association, destination, &to)) {
            counter_add(&proxy->metrics.udp_dropped_policy, 1);
            return;
        }
    }
    if (!udp_within_budget(association->session, true, payload_length))
        return;
    udp_queue_up(association, outgoing, &to, payload, payload_length);
}

static void udp_prepare_receive(struct udp_batch *batch)
{
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        batch->received_iov[i] =
            (struct iovec){.iov_base = batch->data[i], .iov_len = UDP_DATAGRAM_ROOM};
        batch->received[i].msg_hdr = (struct msghdr){
            .msg_name = &batch->sources[i],
            .msg_namelen = sizeof(batch->sources[i]),
            .msg_iov = &batch->received_iov[i],
            .msg_iovlen = 1,
        };
    }
}

/* Reads a batch from fd: how many datagrams, 0 when there are none (or reading failed). */
static unsigned udp_receive_batch(struct proxy *proxy, int fd)
{
    udp_prepare_receive(proxy->udp_batch);
    int received;
    do
        received = recvmmsg(fd, proxy->udp_batch->received, UDP_BATCH, MSG_DONTWAIT, NULL);
    while (received < 0 && errno == EINTR);
    if (received < 0) {
        /* An ICMP error a send earned is reported here once; the next read goes on. */
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            counter_add(&proxy->metrics.receive_errors, 1);
        return 0;
    }
    return (unsigned)received;
}

static void udp_on_client_datagrams(struct session *session)
{
    struct proxy *proxy = session->proxy;
    struct udp_association *association = session->command_data;
    struct udp_batch *batch = proxy->udp_batch;
    for (int round = 0; round < UDP_BATCHES_PER_EVENT; round++) {
        unsigned count = udp_receive_batch(proxy, session->remote.fd);
        struct udp_outgoing outgoing = {0, -1};
        for (unsigned i = 0; i < count; i++) {
            if (!udp_from_client(association, &batch->sources[i])) {
                counter_add(&proxy->metrics.udp_dropped_foreign, 1);
                continue;
            }
            association->reply_to = batch->sources[i];
            udp_route_up(association, &outgoing, batch->data[i], batch->received[i].msg_len);
        }
        udp_flush_up(association, &outgoing);
        if (count < UDP_BATCH || session->state != SESSION_COMMAND)
            return;
    }
}

/* ---- remote → client ---- */

static void udp_on_remote_readable(struct event_loop *loop, struct event_watcher *watcher,
                                   unsigned events)
{
    (void)loop;
    (void)events;
    struct udp_association *association = watcher->data;
    struct session *session = association->session;
    struct proxy *proxy = session->proxy;
    struct udp_batch *batch = proxy->udp_batch;
    if (session->state != SESSION_COMMAND)
        return;
    for (int round = 0; round < UDP_BATCHES_PER_EVENT; round++) {
        unsigned count = udp_receive_batch(proxy, watcher->fd);
        unsigned kept = 0; /* within the user's download budget, in the order they came */
        for (unsigned i = 0; i < count; i++) {
            if (!udp_within_budget(session, false, batch->received[i].msg_len))
                continue;
            size_t header = socks5_udp_header_encode(batch->headers[i], &batch->sources[i].sa);
            batch->sent_iov[kept][0] =
                (struct iovec){.iov_base = batch->headers[i], .iov_len = header};
            batch->sent_iov[kept][1] =
                (struct iovec){.iov_base = batch->data[i], .iov_len = batch->received[i].msg_len};
            batch->payloads[kept] = batch->received[i].msg_len;
            batch->sent[kept].msg_hdr = (struct msghdr){
                .msg_name = &association->reply_to,
                .msg_namelen = udp_address_length(&association->reply_to),
                .msg_iov = batch->sent_iov[kept],
                .msg_iovlen = 2,
            };
            kept++;
        }
        uint64_t bytes;
        unsigned sent =
            udp_send_batch(proxy, session->remote.fd, batch->sent, batch->payloads, kept, &bytes);
        udp_count_relayed(session, false, sent, bytes);
        if (count < UDP_BATCH)
            return;
    }
}

/* ---- the control connection, the idle timeout, the end ---- */

/* The TCP connection only keeps the association alive: what the client sends on it is read
 * and ignored, and its end (EOF, error) ends the association. */
static void udp_on_control(struct session *session, unsigned events)
{
    if ((events & EVENT_WRITE) && !session_flush_to_client(session)) {
        session_close(session, false, false);
        return;
    }
    if (relay_pending(&session->downstream) == 0)
        relay_release(&session->downstream, &session->proxy->relay);
    if (events & (EVENT_READ | EVENT_ERROR)) {
        uint8_t discard[512];
        for (int reads = 0; reads < 16; reads++) {
            ssize_t received = recv(session->client.fd, discard, sizeof(discard), 0);
            if (received > 0)
                continue;
            if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                break;
            session_close(session, received < 0, false);
            return;
        }
    }
    session_update_interest(session);
}

static void udp_on_client(struct session *session, unsigned events)
{
    udp_on_control(session, events);
}

static void udp_on_remote(struct session *session, unsigned events)
{
    (void)events;
    udp_on_client_datagrams(session);
}

static void udp_on_timeout(struct session *session)
{
    struct proxy *proxy = session->proxy;
    uint32_t limit = proxy->settings.idle_timeout_ms;
    if (limit == 0)
        return;
    uint64_t idle = event_loop_now_ms(proxy->loop) - session->last_activity_ms;
    if (idle < limit) {
        event_loop_timer_start(proxy->loop, &session->timer, limit - idle);
        return;
    }
    log_message(LOG_DEBUG, "connection %llu: UDP association idle for %llu ms, closing",
                (unsigned long long)session->record->id, (unsigned long long)idle);
    session_close(session, false, false);
}

static void udp_interest(const struct session *session, unsigned *client_mask,
                         unsigned *remote_mask)
{
    (void)session;
    *client_mask = EVENT_READ;
    *remote_mask = EVENT_READ;
}

static void udp_free_association(void *pointer) { free(pointer); }

/* Runs on every path out (refused at start, control connection gone, idle, server stop),
 * once or twice: it forgets the association once it freed it. */
static void udp_release(struct session *session)
{
    struct udp_association *association = session->command_data;
    if (association == NULL)
        return;
    struct proxy *proxy = session->proxy;
    if (association->remote4.fd >= 0)
        event_loop_close(proxy->loop, &association->remote4);
    if (association->remote6.fd >= 0)
        event_loop_close(proxy->loop, &association->remote6);
    udp_names_release(&association->names);
    session->command_data = NULL;
    /* A remote socket's event may already be queued in this iteration. */
    event_loop_defer_free(proxy->loop, udp_free_association, association);
}

/* ---- start ---- */

static bool udp_batch_ready(struct proxy *proxy)
{
    if (proxy->udp_batch == NULL)
        proxy->udp_batch = malloc(sizeof(*proxy->udp_batch));
    return proxy->udp_batch != NULL;
}

void session_udp_release_worker(struct proxy *proxy)
{
    free(proxy->udp_batch);
    proxy->udp_batch = NULL;
}

static struct udp_association *udp_association_create(struct session *session)
{
    struct udp_association *association = calloc(1, sizeof(*association));
    if (association == NULL)
        return NULL;
    association->session = session;
    event_watcher_init(&association->remote4, -1, udp_on_remote_readable, association);
    event_watcher_init(&association->remote6, -1, udp_on_remote_readable, association);
    udp_names_init(&association->names, session, &association->client, udp_on_name_answer,
                   association);
    return association;
}

/* Where the client said its datagrams will come from: an address or port of zero says
 * nothing; a name is not looked up (only its port is held to). */
static void udp_note_named_source(struct udp_association *association,
                                  const struct socks5_request *request)
{
    static const uint8_t zero[16];
    association->named.sa.sa_family = AF_UNSPEC;
    association->named_port = htons(request->port);
    if ((request->address_type == SOCKS5_ATYP_IPV4 && memcmp(request->ipv4, zero, 4) != 0) ||
        (request->address_type == SOCKS5_ATYP_IPV6 && memcmp(request->ipv6, zero, 16) != 0))
        udp_address_from_request(request, &association->named);
}

/* The relay socket: UDP on the address the client's TCP connection arrived on, any port. */
static int udp_open_relay(struct session *session, union udp_address *bound)
{
    socklen_t length = sizeof(*bound);
    if (getsockname(session->client.fd, &bound->sa, &length) < 0)
        return -1;
    udp_address_normalize(bound);
    if (bound->sa.sa_family == AF_INET)
        bound->in4.sin_port = 0;
    else
        bound->in6.sin6_port = 0;
    int fd = udp_socket(bound->sa.sa_family);
    if (fd < 0)
        return -1;
    length = sizeof(*bound);
    if (bind(fd, &bound->sa, udp_address_length(bound)) < 0 ||
        getsockname(fd, &bound->sa, &length) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void udp_start(struct session *session)
{
    struct proxy *proxy = session->proxy;
    session->command_step = UDP_STEP_RELAY;
    struct udp_association *association = NULL;
    if (udp_batch_ready(proxy))
        association = session->command_data = udp_association_create(session);
    if (association == NULL) {
        session_refuse(session, SOCKS5_FAILURE_LOCAL_RESOURCES);
        return;
    }
    union udp_address bound;
    int fd = udp_open_relay(session, &bound);
    if (fd < 0) {
        session_refuse(session, SOCKS5_FAILURE_LOCAL_RESOURCES);
        return;
    }
    session_attach_datagram_socket(session, fd);
    memcpy(&association->client, &session->setup->peer, sizeof(association->client));
    udp_address_normalize(&association->client);
    udp_note_named_source(association, &session->setup->parser.request.request);

    uint8_t reply[SOCKS5_REPLY_MAX_LENGTH];
    size_t length = socks5_reply_encode(reply, SOCKS5_REPLY_SUCCEEDED, &bound.sa);
    if (!session_queue_reply(session, reply, length)) {
        counter_add(&proxy->metrics.server_errors, 1);
        session_close(session, false, false);
        return;
    }
    session_record_lock(session);
    session->record->datagram_relay = true;
    session_record_unlock(session);
    session_record_status(session, SOCKS5_REPLY_SUCCEEDED, true);
    counter_add(&proxy->metrics.udp_associations, 1);
    session_free_setup(session);
    relay_drop(&session->upstream, &proxy->relay); /* what followed the request means nothing */

    session->last_activity_ms = event_loop_now_ms(proxy->loop);
    if (proxy->settings.idle_timeout_ms > 0)
        event_loop_timer_start(proxy->loop, &session->timer, proxy->settings.idle_timeout_ms);
    else
        event_loop_timer_stop(proxy->loop, &session->timer);
    if (!session_flush_to_client(session)) {
        session_close(session, false, false);
        return;
    }
    if (relay_pending(&session->downstream) == 0)
        relay_release(&session->downstream, &proxy->relay);
    session_update_interest(session);
}

const struct session_command session_udp_command = {
    .start = udp_start,
    .kind = CONNECTION_KIND_UDP,
    .stage = {
        .on_client = udp_on_client,
        .on_remote = udp_on_remote,
        .on_timeout = udp_on_timeout,
        .interest = udp_interest,
        .release = udp_release,
    },
    .names_client_side = true,
};
