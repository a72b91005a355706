/* socks5_session: one SOCKS5 client connection as an explicit state machine — greeting,
 * RFC 1929 auth, request, resolve, connect, relay — one handler per state. */
#include "socks5_session.h"

#include "buffer_pool.h"
#include "connection_history.h"
#include "connection_record.h"
#include "counter.h"
#include "event_loop.h"
#include "log.h"
#include "login_throttle.h"
#include "net.h"
#include "proxy.h"
#include "relay.h"
#include "resolver.h"
#include "socks5_parser.h"
#include "users.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum session_state {
    SESSION_GREETING,   /* reading VER NMETHODS METHODS */
    SESSION_AUTH,       /* reading the RFC 1929 username/password */
    SESSION_AUTH_CHECK, /* crypt(3) runs on the work pool */
    SESSION_AUTH_PENALTY, /* a failed login's answer waits: repeated guessing gets slow */
    SESSION_REQUEST,    /* reading VER CMD RSV ATYP DST.ADDR DST.PORT */
    SESSION_RESOLVING,  /* getaddrinfo runs on the work pool */
    SESSION_CONNECTING, /* non-blocking connect to one resolved address */
    SESSION_RELAY,      /* bytes flow both ways */
    SESSION_CLOSING,    /* flushing a final reply */
    SESSION_DRAINING,   /* reply sent and FIN sent: reading what the client still sends */
    SESSION_CLOSED,     /* everything released; the memory goes at the end of the iteration */
};

/* Parser state lives only as long as the handshake. */
struct session_handshake {
    union {
        struct socks5_greeting_parser greeting;
        struct socks5_auth_parser auth;
        struct socks5_request_parser request;
    } parser;
    struct addrinfo *addresses;
    struct addrinfo *next_address;
    int last_connect_error;
    struct sockaddr_storage peer; /* for the login throttle */
    struct sockaddr_storage connected_to; /* the address being connected */
};

struct session {
    struct proxy *proxy;
    struct session *previous;
    struct session *next;
    enum session_state state;
    struct event_watcher client;
    struct event_watcher remote; /* fd -1 until a connect is tried */
    struct event_timer timer;    /* handshake, connect or idle deadline, by state */
    uint64_t last_activity_ms;
    struct relay_direction upstream;   /* client → remote; holds the handshake bytes too */
    struct relay_direction downstream; /* remote → client; holds the handshake replies too */
    struct session_handshake *handshake;
    struct resolver_query *query;
    struct users_check *check;
    struct connection_record *record;
    /* In a waiting state (crypt, resolver, connect) the client said something more: stop
     * reading it until the wait is over. Until then its read interest is left as it was,
     * so a wait costs no epoll_ctl at all for the usual client that waits too. */
    bool client_muted;
};

static void session_on_client_event(struct event_loop *, struct event_watcher *, unsigned);
static void session_on_remote_event(struct event_loop *, struct event_watcher *, unsigned);
static void session_on_timeout(struct event_loop *, struct event_timer *);
static void session_advance_handshake(struct session *session);
static void session_connect_next(struct session *session);

/* ---- the record: other threads (the admin) read it under the worker's sessions lock ---- */

static void session_record_lock(struct session *session)
{
    pthread_mutex_lock(&session->proxy->sessions_lock);
}

static void session_record_unlock(struct session *session)
{
    pthread_mutex_unlock(&session->proxy->sessions_lock);
}

static void session_record_status(struct session *session, uint8_t status, bool replied)
{
    session_record_lock(session);
    session->record->status = status;
    session->record->replied = replied;
    session_record_unlock(session);
}

static void session_record_user(struct session *session, struct user *user)
{
    users_connection_started(user);
    session_record_lock(session);
    session->record->owner = user_as_owner(user);
    session_record_unlock(session);
}

/* ---- closing ---- */

static void session_free(void *pointer) { free(pointer); }

static void session_cancel_pending_work(struct session *session)
{
    if (session->query != NULL) {
        resolver_cancel(session->query);
        session->query = NULL;
    }
    if (session->check != NULL) {
        users_check_cancel(session->check);
        session->check = NULL;
    }
}

static void session_free_handshake(struct session *session)
{
    struct session_handshake *handshake = session->handshake;
    if (handshake == NULL)
        return;
    if (handshake->addresses != NULL)
        freeaddrinfo(handshake->addresses);
    explicit_bzero(handshake, sizeof(*handshake)); /* it may hold a password */
    free(handshake);
    session->handshake = NULL;
}

static void session_close_socket(struct session *session, struct event_watcher *watcher,
                                 bool reset)
{
    if (watcher->fd < 0)
        return;
    if (reset)
        net_set_reset_on_close(watcher->fd);
    event_loop_close(session->proxy->loop, watcher);
}

static void session_unlink(struct session *session)
{
    struct proxy *proxy = session->proxy;
    pthread_mutex_lock(&proxy->sessions_lock);
    if (session->previous != NULL)
        session->previous->next = session->next;
    else
        proxy->sessions = session->next;
    if (session->next != NULL)
        session->next->previous = session->previous;
    else
        proxy->sessions_tail = session->previous;
    proxy->session_count--;
    counter_subtract(&proxy->metrics.connections_current, 1);
    pthread_mutex_unlock(&proxy->sessions_lock);
    __atomic_sub_fetch(&proxy->shared->live_sessions, 1, __ATOMIC_RELAXED);
}

/* The single exit of every session. reset_client/reset_remote send RST instead of FIN. */
static void session_close(struct session *session, bool reset_client, bool reset_remote)
{
    struct proxy *proxy = session->proxy;
    if (session->state == SESSION_CLOSED)
        return;
    session->state = SESSION_CLOSED;
    session_cancel_pending_work(session);
    event_loop_timer_stop(proxy->loop, &session->timer);
    session_close_socket(session, &session->client, reset_client);
    session_close_socket(session, &session->remote, reset_remote);
    session_free_handshake(session);
    relay_drop(&session->upstream, &proxy->relay);
    relay_drop(&session->downstream, &proxy->relay);

    struct connection_record *record = session->record;
    record->ended_ms = log_realtime_ms();
    connection_record_log(record);
    /* Leaving the live list and entering the user's history is one step under the users lock,
     * which the admin also holds while it lists: a listing never shows a connection twice or
     * misses it. */
    struct user *user = record->owner != NULL ? user_from_owner(record->owner) : NULL;
    users_lock(proxy->users);
    session_unlink(session);
    if (user != NULL) {
        /* A user's own history does not reference the user back (no cycle): the session's
         * reference goes last, and may free a removed user together with its history. */
        record->owner = NULL;
        if (!users_connection_ended(proxy->users, user, record))
            connection_record_free(record);
    }
    users_unlock(proxy->users);
    if (user == NULL)
        connection_record_free(record); /* never authenticated: the access log has it */
    else
        user_unref(user);

    event_loop_defer_free(proxy->loop, session_free, session);
    if (proxy->on_session_closed != NULL)
        proxy->on_session_closed(proxy->on_session_closed_context);
}

/* ---- interest: derived from the state and the buffers, never stored separately ---- */

static void session_update_interest(struct session *session)
{
    unsigned client_mask = 0, remote_mask = 0;
    if (session->state == SESSION_CLOSED)
        return;
    switch (session->state) {
    case SESSION_GREETING:
    case SESSION_AUTH:
    case SESSION_REQUEST:
        session->client_muted = false;
        client_mask = EVENT_READ;
        break;
    case SESSION_AUTH_CHECK:
    case SESSION_AUTH_PENALTY:
    case SESSION_RESOLVING:
    case SESSION_CONNECTING:
        client_mask = session->client_muted ? 0 : EVENT_READ;
        if (session->state == SESSION_CONNECTING)
            remote_mask = EVENT_WRITE;
        break;
    case SESSION_DRAINING:
        client_mask = EVENT_READ;
        break;
    case SESSION_RELAY:
        /* Read a side only when the bytes read before have all been written on: that
         * is the back-pressure, and the buffer then always starts empty. */
        if (!session->upstream.source_eof && relay_pending(&session->upstream) == 0)
            client_mask |= EVENT_READ;
        if (!session->downstream.source_eof && relay_pending(&session->downstream) == 0)
            remote_mask |= EVENT_READ;
        if (relay_pending(&session->upstream) > 0)
            remote_mask |= EVENT_WRITE;
        break;
    default:
        break;
    }
    if (relay_pending(&session->downstream) > 0 && session->state != SESSION_AUTH_PENALTY)
        client_mask |= EVENT_WRITE;
    if (event_loop_watch(session->proxy->loop, &session->client, client_mask) < 0 ||
        (session->remote.fd >= 0 &&
         event_loop_watch(session->proxy->loop, &session->remote, remote_mask) < 0)) {
        counter_add(&session->proxy->metrics.server_errors, 1);
        session_close(session, false, false);
    }
}

/* ---- replies ---- */

/* Queues bytes for the client: handshake replies travel the downstream buffer like relayed
 * data, so one write path handles partial writes for both. */
static bool session_queue_reply(struct session *session, const uint8_t *bytes, size_t length)
{
    struct relay_direction *out = &session->downstream;
    if (!relay_acquire_buffer(out, &session->proxy->relay) || out->capacity - out->end < length)
        return false;
    memcpy(out->data + out->end, bytes, length);
    out->end += length;
    return true;
}

/* Writes what is pending toward the client now; false if the client is gone. */
static bool session_flush_to_client(struct session *session)
{
    if (relay_flush(&session->downstream, &session->proxy->relay, session->client.fd) == RELAY_OK)
        return true;
    counter_add(&session->proxy->metrics.send_errors, 1);
    return false;
}

/* How long a failed client may keep sending after its final reply before we close anyway. */
#define DRAIN_TIMEOUT_MS 2000

/* In CLOSING: flushes the final reply; once it is out, sends FIN and drains, because closing
 * with unread input would send RST, and an RST can destroy the reply before the client
 * reads it (a pipelining client has sent more than we read). */
static void session_finish_reply(struct session *session)
{
    struct proxy *proxy = session->proxy;
    if (!session_flush_to_client(session)) {
        session_close(session, false, false);
        return;
    }
    if (relay_pending(&session->downstream) > 0) {
        if (!event_timer_armed(&session->timer))
            event_loop_timer_start(proxy->loop, &session->timer, proxy->settings.handshake_timeout_ms);
        session_update_interest(session);
        return;
    }
    relay_release(&session->upstream, &session->proxy->relay);
    shutdown(session->client.fd, SHUT_WR);
    session->state = SESSION_DRAINING;
    event_loop_timer_start(proxy->loop, &session->timer, DRAIN_TIMEOUT_MS);
    session_update_interest(session);
}

static void session_on_drain_readable(struct session *session)
{
    uint8_t discard[4096];
    for (int reads = 0; reads < 16; reads++) {
        ssize_t received = recv(session->client.fd, discard, sizeof(discard), 0);
        if (received > 0)
            continue;
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        break; /* EOF or error: the client is done */
    }
    session_close(session, false, false);
}

/* Sends a final reply (or none, for input that is not SOCKS5 at all), then closes. */
static void session_fail(struct session *session, const uint8_t *reply, size_t length)
{
    session_cancel_pending_work(session);
    session_close_socket(session, &session->remote, false);
    session->state = SESSION_CLOSING;
    event_loop_timer_stop(session->proxy->loop, &session->timer);
    if (reply == NULL || !session_queue_reply(session, reply, length)) {
        session_close(session, false, false);
        return;
    }
    session_finish_reply(session);
}

static void session_fail_request(struct session *session, enum socks5_reply_code code)
{
    uint8_t reply[SOCKS5_REPLY_MAX_LENGTH];
    session_record_status(session, (uint8_t)code, true);
    if (code == SOCKS5_REPLY_HOST_UNREACHABLE)
        counter_add(&session->proxy->metrics.host_unreachable, 1);
    else if (code == SOCKS5_REPLY_CONNECTION_REFUSED)
        counter_add(&session->proxy->metrics.connection_refused, 1);
    session_fail(session, reply, socks5_reply_encode(reply, (uint8_t)code, NULL));
}

/* ---- handshake: greeting ---- */

static size_t session_handshake_input(struct session *session, const uint8_t **data)
{
    *data = session->upstream.data + session->upstream.start;
    return relay_pending(&session->upstream);
}

static void session_consume_input(struct session *session, size_t consumed)
{
    session->upstream.start += consumed;
}

static bool session_on_greeting(struct session *session)
{
    struct socks5_greeting_parser *parser = &session->handshake->parser.greeting;
    const uint8_t *data;
    size_t length = session_handshake_input(session, &data), consumed;
    enum socks5_parse_result result = socks5_greeting_parser_feed(parser, data, length, &consumed);
    session_consume_input(session, consumed);
    if (result == SOCKS5_PARSE_MORE)
        return false;
    if (result == SOCKS5_PARSE_ERROR) {
        /* Not SOCKS5 at all (an HTTP request, a SOCKS4 client): nothing it would understand. */
        counter_add(&session->proxy->metrics.unsupported_input, 1);
        session_fail(session, NULL, 0);
        return false;
    }

    uint8_t reply[2];
    if (parser->offers_userpass) {
        session->state = SESSION_AUTH;
        socks5_auth_parser_init(&session->handshake->parser.auth);
        session_queue_reply(session, reply, socks5_method_reply_encode(reply, SOCKS5_METHOD_USERPASS));
        return true;
    }
    if (parser->offers_no_auth && session->proxy->settings.no_auth_allowed) {
        session_record_user(session, user_ref(users_anonymous(session->proxy->users)));
        session->state = SESSION_REQUEST;
        socks5_request_parser_init(&session->handshake->parser.request);
        session_queue_reply(session, reply, socks5_method_reply_encode(reply, SOCKS5_METHOD_NO_AUTH));
        return true;
    }
    counter_add(&session->proxy->metrics.auth_errors, 1);
    session_record_status(session, SOCKS5_REPLY_NOT_ALLOWED, false);
    session_fail(session, reply, socks5_method_reply_encode(reply, SOCKS5_METHOD_NO_ACCEPTABLE));
    return false;
}

/* ---- handshake: RFC 1929 ---- */

static void session_on_auth_failed(struct session *session)
{
    struct proxy *proxy = session->proxy;
    uint8_t reply[2];
    size_t length = socks5_auth_reply_encode(reply, SOCKS5_AUTH_STATUS_FAILURE);
    counter_add(&proxy->metrics.auth_errors, 1);
    session_record_status(session, SOCKS5_REPLY_NOT_ALLOWED, false);
    uint32_t delay = login_throttle_failure(proxy->throttle,
                                            (struct sockaddr *)&session->handshake->peer,
                                            event_loop_now_ms(proxy->loop));
    if (delay == 0 || !session_queue_reply(session, reply, length)) {
        session_fail(session, reply, length);
        return;
    }
    session->state = SESSION_AUTH_PENALTY;
    event_loop_timer_start(proxy->loop, &session->timer, delay);
    session_update_interest(session);
}

static void session_on_auth_result(struct session *session, struct user *user)
{
    uint8_t reply[2];
    socks5_auth_parser_wipe(&session->handshake->parser.auth);
    if (user == NULL) {
        session_on_auth_failed(session);
        return;
    }
    login_throttle_success(session->proxy->throttle, (struct sockaddr *)&session->handshake->peer);
    session_record_user(session, user); /* the check handed us a reference */
    session->state = SESSION_REQUEST;
    socks5_request_parser_init(&session->handshake->parser.request);
    session_queue_reply(session, reply, socks5_auth_reply_encode(reply, SOCKS5_AUTH_STATUS_SUCCESS));
}

static void session_on_auth_checked(void *owner, struct user *user)
{
    struct session *session = owner;
    session->check = NULL;
    session_on_auth_result(session, user);
    if (session->state == SESSION_REQUEST) {
        session_advance_handshake(session);
    }
}

static bool session_on_auth(struct session *session)
{
    struct socks5_auth_parser *parser = &session->handshake->parser.auth;
    const uint8_t *data;
    size_t length = session_handshake_input(session, &data), consumed;
    enum socks5_parse_result result = socks5_auth_parser_feed(parser, data, length, &consumed);
    session_consume_input(session, consumed);
    if (result == SOCKS5_PARSE_MORE)
        return false;
    if (result == SOCKS5_PARSE_ERROR) {
        counter_add(&session->proxy->metrics.unsupported_input, 1);
        session_on_auth_result(session, NULL);
        return false;
    }
    struct user *user = NULL;
    switch (users_check_password(session->proxy->users, session->proxy->crypt_pool,
                                 parser->username, parser->username_length, parser->password,
                                 parser->password_length, session_on_auth_checked, session, &user,
                                 &session->check)) {
    case USERS_CHECK_PASSED:
        session_on_auth_result(session, user);
        return session->state == SESSION_REQUEST;
    case USERS_CHECK_PENDING:
        socks5_auth_parser_wipe(parser); /* the check keeps its own copy */
        session->state = SESSION_AUTH_CHECK;
        return false;
    case USERS_CHECK_FAILED:
        counter_add(&session->proxy->metrics.server_errors, 1);
        session_on_auth_result(session, NULL);
        return false;
    }
    return false;
}

/* ---- handshake: request ---- */

static void session_record_destination(struct session *session, const struct socks5_request *request)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *name = host;
    if (request->address_type == SOCKS5_ATYP_IPV4) {
        inet_ntop(AF_INET, request->ipv4, host, sizeof(host));
    } else if (request->address_type == SOCKS5_ATYP_IPV6) {
        host[0] = '[';
        inet_ntop(AF_INET6, request->ipv6, host + 1, sizeof(host) - 2);
        strcat(host, "]");
    } else {
        name = request->domain;
    }
    size_t size = strlen(name) + 8;
    char *destination = malloc(size);
    if (destination != NULL)
        snprintf(destination, size, "%s:%u", name, request->port);
    session_record_lock(session);
    session->record->destination = destination;
    session_record_unlock(session);
}

/* An IPv4 or IPv6 literal needs no lookup: make it a one-entry address list. */
static struct addrinfo *addresses_from_literal(const struct socks5_request *request)
{
    struct addrinfo *entry = calloc(1, sizeof(*entry) + sizeof(struct sockaddr_in6));
    if (entry == NULL)
        return NULL;
    entry->ai_socktype = SOCK_STREAM;
    entry->ai_protocol = IPPROTO_TCP;
    entry->ai_addr = (struct sockaddr *)(entry + 1);
    if (request->address_type == SOCKS5_ATYP_IPV4) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)entry->ai_addr;
        in4->sin_family = AF_INET;
        memcpy(&in4->sin_addr, request->ipv4, 4);
        in4->sin_port = htons(request->port);
        entry->ai_family = AF_INET;
        entry->ai_addrlen = sizeof(*in4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)entry->ai_addr;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, request->ipv6, 16);
        in6->sin6_port = htons(request->port);
        entry->ai_family = AF_INET6;
        entry->ai_addrlen = sizeof(*in6);
    }
    return entry;
}

static void session_start_connecting(struct session *session, struct addrinfo *addresses,
                                     bool from_literal)
{
    struct session_handshake *handshake = session->handshake;
    handshake->addresses = from_literal ? NULL : addresses;
    handshake->next_address = addresses;
    handshake->last_connect_error = EHOSTUNREACH;
    session_connect_next(session);
    if (from_literal)
        free(addresses); /* one entry, allocated in one block, tried synchronously above */
}

static void session_on_resolved(void *owner, struct addrinfo *result, int error)
{
    struct session *session = owner;
    session->query = NULL;
    if (result == NULL) {
        log_message(LOG_DEBUG, "connection %llu: lookup failed: %s",
                    (unsigned long long)session->record->id, gai_strerror(error));
        counter_add(&session->proxy->metrics.dns_errors, 1);
        session_fail_request(session, SOCKS5_REPLY_HOST_UNREACHABLE);
        return;
    }
    session_start_connecting(session, result, false);
}

static void session_on_request_complete(struct session *session)
{
    struct socks5_request *request = &session->handshake->parser.request.request;
    session_record_destination(session, request);
    enum socks5_reply_code verdict = socks5_request_check(request);
    if (verdict != SOCKS5_REPLY_SUCCEEDED) {
        counter_add(&session->proxy->metrics.unsupported_input, verdict == SOCKS5_REPLY_COMMAND_NOT_SUPPORTED);
        session_fail_request(session, verdict);
        return;
    }
    event_loop_timer_start(session->proxy->loop, &session->timer,
                           session->proxy->settings.connect_timeout_ms);
    if (request->address_type != SOCKS5_ATYP_DOMAIN) {
        struct addrinfo *address = addresses_from_literal(request);
        if (address == NULL) {
            counter_add(&session->proxy->metrics.server_errors, 1);
            session_fail_request(session, SOCKS5_REPLY_GENERAL_FAILURE);
            return;
        }
        session->state = SESSION_CONNECTING;
        session_start_connecting(session, address, true);
        return;
    }
    counter_add(&session->proxy->metrics.dns_connections, 1);
    session->state = SESSION_RESOLVING;
    session->query = resolver_lookup(session->proxy->resolver_pool, request->domain, request->port,
                                     session_on_resolved, session);
    if (session->query == NULL) {
        counter_add(&session->proxy->metrics.server_errors, 1);
        session_fail_request(session, SOCKS5_REPLY_GENERAL_FAILURE);
        return;
    }
    session_update_interest(session);
}

static bool session_on_request(struct session *session)
{
    struct socks5_request_parser *parser = &session->handshake->parser.request;
    const uint8_t *data;
    size_t length = session_handshake_input(session, &data), consumed;
    enum socks5_parse_result result = socks5_request_parser_feed(parser, data, length, &consumed);
    session_consume_input(session, consumed);
    if (result == SOCKS5_PARSE_MORE)
        return false;
    if (result == SOCKS5_PARSE_ERROR) {
        counter_add(&session->proxy->metrics.unsupported_input, 1);
        session_fail_request(session, socks5_request_error_reply(parser->error));
        return false;
    }
    session_on_request_complete(session);
    return false;
}

/* Feeds the buffered client bytes to the parser of the current state until one needs more
 * bytes or waits for something else. Each handler returns true to go on parsing. */
static void session_advance_handshake(struct session *session)
{
    bool go_on = true;
    while (go_on) {
        switch (session->state) {
        case SESSION_GREETING:
            go_on = session_on_greeting(session);
            break;
        case SESSION_AUTH:
            go_on = session_on_auth(session);
            break;
        case SESSION_REQUEST:
            go_on = session_on_request(session);
            break;
        default:
            return; /* waiting for the crypt pool, the resolver or a connect */
        }
    }
    if (session->state >= SESSION_CLOSING)
        return; /* session_fail has taken over (and may have closed the session) */
    if (!session_flush_to_client(session)) {
        session_close(session, false, false);
        return;
    }
    if (session->state <= SESSION_REQUEST && relay_pending(&session->upstream) == 0)
        relay_release(&session->upstream, &session->proxy->relay);
    session_update_interest(session);
}

static void session_on_handshake_readable(struct session *session)
{
    struct relay_direction *in = &session->upstream;
    if (!relay_acquire_buffer(in, &session->proxy->relay)) {
        counter_add(&session->proxy->metrics.server_errors, 1);
        session_close(session, false, false);
        return;
    }
    /* Every parser consumes all it is given until its message ends, and reading stops once the
     * request is complete, so unparsed bytes never pile up: there is always room here. */
    if (in->start == in->end)
        in->start = in->end = 0;
    ssize_t received = recv(session->client.fd, in->data + in->end, in->capacity - in->end, 0);
    if (received == 0) {
        session_close(session, false, false);
        return;
    }
    if (received < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            session_update_interest(session);
            return;
        }
        counter_add(&session->proxy->metrics.receive_errors, 1);
        session_close(session, true, false);
        return;
    }
    in->end += (size_t)received;
    session_advance_handshake(session);
}

/* ---- connecting ---- */

static enum socks5_reply_code reply_for_connect_error(int error)
{
    switch (error) {
    case ECONNREFUSED:
        return SOCKS5_REPLY_CONNECTION_REFUSED;
    case ENETUNREACH:
    case ENETDOWN:
        return SOCKS5_REPLY_NETWORK_UNREACHABLE;
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ETIMEDOUT:
        return SOCKS5_REPLY_HOST_UNREACHABLE;
    case EACCES:
    case EPERM:
        return SOCKS5_REPLY_NOT_ALLOWED;
    default:
        return SOCKS5_REPLY_GENERAL_FAILURE;
    }
}

static void relay_count(struct session *session, bool up, size_t bytes);

static void session_on_connected(struct session *session)
{
    struct proxy *proxy = session->proxy;
    struct sockaddr_storage local;
    socklen_t local_length = sizeof(local);
    if (getsockname(session->remote.fd, (struct sockaddr *)&local, &local_length) < 0) {
        session->handshake->last_connect_error = errno;
        session_close_socket(session, &session->remote, false);
        session_connect_next(session);
        return;
    }
    const struct sockaddr *peer = (const struct sockaddr *)&session->handshake->connected_to;
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
    session_record_status(session, SOCKS5_REPLY_SUCCEEDED, true);
    session_queue_reply(session, reply,
                        socks5_reply_encode(reply, SOCKS5_REPLY_SUCCEEDED, (struct sockaddr *)&local));
    session_free_handshake(session);
    session->state = SESSION_RELAY;
    session->last_activity_ms = event_loop_now_ms(proxy->loop);
    if (proxy->settings.idle_timeout_ms > 0)
        event_loop_timer_start(proxy->loop, &session->timer, proxy->settings.idle_timeout_ms);
    else
        event_loop_timer_stop(proxy->loop, &session->timer);
    if (!session_flush_to_client(session)) {
        session_close(session, false, true);
        return;
    }
    /* Bytes the client pipelined behind its request go out now, not after another event. */
    if (relay_pending(&session->upstream) > 0) {
        relay_count(session, true, relay_pending(&session->upstream));
        session_on_remote_event(proxy->loop, &session->remote, EVENT_WRITE);
        return;
    }
    relay_release(&session->upstream, &session->proxy->relay);
    session_update_interest(session);
}

/* Tries resolved addresses in order until a connect starts or succeeds. */
static void session_connect_next(struct session *session)
{
    struct session_handshake *handshake = session->handshake;
    while (handshake->next_address != NULL) {
        struct addrinfo *address = handshake->next_address;
        handshake->next_address = address->ai_next;
        int fd = socket(address->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            handshake->last_connect_error = errno;
            if (errno == EMFILE || errno == ENFILE)
                break; /* no other address will fare better */
            continue;
        }
        net_tune_tcp(fd, session->proxy->settings.tcp_congestion);
        event_watcher_init(&session->remote, fd, session_on_remote_event, session);
        memcpy(&handshake->connected_to, address->ai_addr, address->ai_addrlen);
        session->state = SESSION_CONNECTING;
        if (connect(fd, address->ai_addr, address->ai_addrlen) == 0) {
            session_on_connected(session);
            return;
        }
        if (errno == EINPROGRESS) {
            event_loop_timer_start(session->proxy->loop, &session->timer,
                                   session->proxy->settings.connect_timeout_ms);
            session_update_interest(session);
            return;
        }
        handshake->last_connect_error = errno;
        close(fd);
        session->remote.fd = -1;
    }
    int error = handshake->last_connect_error;
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM)
        counter_add(&session->proxy->metrics.server_errors, 1);
    session_fail_request(session, reply_for_connect_error(error));
}

static void session_on_connect_event(struct session *session, unsigned events)
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
        session_on_connected(session);
        return;
    }
    session->handshake->last_connect_error = error;
    session_close_socket(session, &session->remote, false);
    session_connect_next(session);
}

/* ---- relay ---- */

static void relay_count(struct session *session, bool up, size_t bytes)
{
    struct proxy *proxy = session->proxy;
    struct user_usage *usage = user_usage(user_from_owner(session->record->owner));
    if (up) {
        counter_add(&proxy->metrics.bytes_up, bytes);
        counter_add(&session->record->bytes_up, bytes);
        counter_add_shared(&usage->bytes_up, bytes);
    } else {
        counter_add(&proxy->metrics.bytes_down, bytes);
        counter_add(&session->record->bytes_down, bytes);
        counter_add_shared(&usage->bytes_down, bytes);
    }
}

static bool relay_finished(const struct session *session)
{
    return session->upstream.sink_shut && session->downstream.sink_shut;
}

enum tunnel_outcome { TUNNEL_GOES_ON, TUNNEL_SIDE_FAILED, TUNNEL_OTHER_FAILED, TUNNEL_NO_MEMORY };

static enum tunnel_outcome tunnel_outcome_of(struct session *session, enum relay_status status,
                                             bool side_is_source)
{
    switch (status) {
    case RELAY_OK:
        return TUNNEL_GOES_ON;
    case RELAY_SOURCE_ERROR:
        counter_add(&session->proxy->metrics.receive_errors, 1);
        return side_is_source ? TUNNEL_SIDE_FAILED : TUNNEL_OTHER_FAILED;
    case RELAY_SINK_ERROR:
        counter_add(&session->proxy->metrics.send_errors, 1);
        return side_is_source ? TUNNEL_OTHER_FAILED : TUNNEL_SIDE_FAILED;
    default:
        counter_add(&session->proxy->metrics.server_errors, 1);
        return TUNNEL_NO_MEMORY;
    }
}

/* One side of the tunnel is ready: write what waits for it, then read from it. */
static enum tunnel_outcome session_relay_side(struct session *session, bool from_client,
                                              unsigned events)
{
    struct proxy *proxy = session->proxy;
    int side = from_client ? session->client.fd : session->remote.fd;
    int other = from_client ? session->remote.fd : session->client.fd;
    struct relay_direction *toward_side = from_client ? &session->downstream : &session->upstream;
    struct relay_direction *from_side = from_client ? &session->upstream : &session->downstream;
    unsigned mask = from_client ? session->client.mask : session->remote.mask;

    /* An error event is answered by the same calls, which then fail and say why. */
    if (events & (EVENT_WRITE | EVENT_ERROR)) {
        enum relay_status status = relay_flush(toward_side, &proxy->relay, side);
        if (status != RELAY_OK)
            return tunnel_outcome_of(session, status, false);
    }
    if (!(events & (EVENT_READ | EVENT_ERROR)) || !(mask & EVENT_READ))
        return TUNNEL_GOES_ON;
    size_t received;
    enum relay_status status = relay_read(from_side, &proxy->relay, side, other, &received);
    if (received > 0) {
        relay_count(session, from_client, received);
        session->last_activity_ms = event_loop_now_ms(proxy->loop);
    }
    return tunnel_outcome_of(session, status, true);
}

static void session_relay_event(struct session *session, bool from_client, unsigned events)
{
    session->upstream.fin_by_close = session->downstream.sink_shut;
    session->downstream.fin_by_close = session->upstream.sink_shut;
    enum tunnel_outcome outcome = session_relay_side(session, from_client, events);
    if (outcome == TUNNEL_GOES_ON && !relay_finished(session)) {
        session_update_interest(session);
        return;
    }
    /* A reset (or any failure) on one side is passed on as a reset to the other. */
    bool reset_side = outcome == TUNNEL_OTHER_FAILED;
    bool reset_other = outcome == TUNNEL_SIDE_FAILED;
    session_close(session, from_client ? reset_side : reset_other,
                  from_client ? reset_other : reset_side);
}

/* ---- event entry points: dispatch on state ---- */

static void session_on_client_event(struct event_loop *loop, struct event_watcher *watcher,
                                    unsigned events)
{
    (void)loop;
    struct session *session = watcher->data;
    switch (session->state) {
    case SESSION_GREETING:
    case SESSION_AUTH:
    case SESSION_REQUEST:
        if ((events & EVENT_WRITE) && !session_flush_to_client(session)) {
            session_close(session, false, false);
            return;
        }
        if (events & (EVENT_READ | EVENT_ERROR))
            session_on_handshake_readable(session);
        else
            session_update_interest(session);
        return;
    case SESSION_CLOSING:
        session_finish_reply(session);
        return;
    case SESSION_DRAINING:
        session_on_drain_readable(session);
        return;
    case SESSION_RELAY:
        session_relay_event(session, true, events);
        return;
    default:
        /* Waiting on another party (crypt, resolver, connect): a client error or hang-up
         * means nobody is left to answer. Otherwise only a pending reply can move. */
        if (events & EVENT_ERROR) {
            session_close(session, false, false);
            return;
        }
        if ((events & EVENT_WRITE) && !session_flush_to_client(session)) {
            session_close(session, false, false);
            return;
        }
        if (events & EVENT_READ)
            session->client_muted = true;
        session_update_interest(session);
        return;
    }
}

static void session_on_remote_event(struct event_loop *loop, struct event_watcher *watcher,
                                    unsigned events)
{
    (void)loop;
    struct session *session = watcher->data;
    if (session->state == SESSION_CONNECTING)
        session_on_connect_event(session, events);
    else if (session->state == SESSION_RELAY)
        session_relay_event(session, false, events);
}

static void session_on_timeout(struct event_loop *loop, struct event_timer *timer)
{
    struct session *session = timer->data;
    struct proxy *proxy = session->proxy;
    switch (session->state) {
    case SESSION_RESOLVING:
        counter_add(&proxy->metrics.dns_errors, 1);
        session_fail_request(session, SOCKS5_REPLY_HOST_UNREACHABLE);
        return;
    case SESSION_CONNECTING:
        /* This address did not answer in time; the next one gets its own full timeout. */
        session->handshake->last_connect_error = ETIMEDOUT;
        session_close_socket(session, &session->remote, false);
        session_connect_next(session);
        return;
    case SESSION_AUTH_PENALTY:
        session->state = SESSION_CLOSING;
        session_finish_reply(session);
        return;
    case SESSION_RELAY: {
        uint64_t idle = event_loop_now_ms(loop) - session->last_activity_ms;
        if (idle < proxy->settings.idle_timeout_ms) {
            event_loop_timer_start(loop, timer, proxy->settings.idle_timeout_ms - idle);
            return;
        }
        log_message(LOG_DEBUG, "connection %llu: idle for %llu ms, closing",
                    (unsigned long long)session->record->id, (unsigned long long)idle);
        session_close(session, false, false);
        return;
    }
    default:
        /* Handshake too slow, or a final reply the client never read. */
        session_close(session, false, false);
        return;
    }
}

/* ---- start and shutdown ---- */

/* Checked by each worker's listener before it accepts, counted when a session starts: two
 * workers accepting at the same instant may overshoot the limit by one each, which the
 * descriptor reserve (RESERVED_FDS) absorbs. */
bool session_proxy_has_capacity(void *context)
{
    struct proxy *proxy = context;
    return __atomic_load_n(&proxy->shared->live_sessions, __ATOMIC_RELAXED) <
           proxy->settings.max_connections;
}

void session_start(struct proxy *proxy, int client_fd, const struct sockaddr_storage *peer)
{
    char client_text[NET_ADDRESS_TEXT_MAX];
    net_format_address((const struct sockaddr *)peer, client_text);
    struct session *session = calloc(1, sizeof(*session));
    struct session_handshake *handshake = calloc(1, sizeof(*handshake));
    struct connection_record *record =
        connection_record_create(__atomic_add_fetch(&proxy->shared->next_connection_id, 1,
                                                    __ATOMIC_RELAXED),
                                 client_text);
    if (session == NULL || handshake == NULL || record == NULL) {
        counter_add(&proxy->metrics.server_errors, 1);
        free(session);
        free(handshake);
        connection_record_free(record);
        close(client_fd);
        return;
    }
    net_tune_tcp(client_fd, proxy->settings.tcp_congestion);
    session->proxy = proxy;
    session->record = record;
    session->handshake = handshake;
    session->state = SESSION_GREETING;
    socks5_greeting_parser_init(&handshake->parser.greeting);
    handshake->peer = *peer;
    relay_direction_init(&session->upstream);
    relay_direction_init(&session->downstream);
    event_watcher_init(&session->client, client_fd, session_on_client_event, session);
    event_watcher_init(&session->remote, -1, session_on_remote_event, session);
    event_timer_init(&session->timer, session_on_timeout, session);

    /* Appended: the list stays in ascending connection id order, as the admin pages it. */
    __atomic_add_fetch(&proxy->shared->live_sessions, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&proxy->sessions_lock);
    session->previous = proxy->sessions_tail;
    if (proxy->sessions_tail != NULL)
        proxy->sessions_tail->next = session;
    else
        proxy->sessions = session;
    proxy->sessions_tail = session;
    proxy->session_count++;
    counter_add(&proxy->metrics.connections_total, 1);
    counter_add(&proxy->metrics.connections_current, 1);
    pthread_mutex_unlock(&proxy->sessions_lock);

    event_loop_timer_start(proxy->loop, &session->timer, proxy->settings.handshake_timeout_ms);
    /* Most clients send their greeting with the connect: try to read it right away. */
    session_on_handshake_readable(session);
}

void session_close_all(struct proxy *proxy)
{
    while (proxy->sessions != NULL)
        session_close(proxy->sessions, false, false);
}

void session_list_lock(struct proxy *proxy) { pthread_mutex_lock(&proxy->sessions_lock); }
void session_list_unlock(struct proxy *proxy) { pthread_mutex_unlock(&proxy->sessions_lock); }

void session_for_each_live(struct proxy *proxy,
                           void (*visit)(const struct connection_record *record, void *context),
                           void *context)
{
    for (struct session *session = proxy->sessions; session != NULL; session = session->next)
        visit(session->record, context);
}

bool session_close_by_id(struct proxy *proxy, uint64_t id)
{
    for (struct session *session = proxy->sessions; session != NULL; session = session->next) {
        if (session->record->id == id) {
            session_close(session, false, false);
            return true;
        }
    }
    return false;
}

size_t session_close_user(struct proxy *proxy, const struct user *user)
{
    size_t closed = 0;
    struct session *session = proxy->sessions;
    while (session != NULL) {
        struct session *next = session->next;
        if (session->record->owner == user_as_owner(user)) {
            session_close(session, false, false);
            closed++;
        }
        session = next;
    }
    return closed;
}
