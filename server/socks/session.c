/* session: one SOCKS5 client connection's life — live list, connection record, interest mask,
 * timer, final reply, close — and the interfaces of the stages that drive it in between. */
#include "session.h"

#include "accounting.h"
#include "address_slots.h"
#include "connection_record.h"
#include "counter.h"
#include "latency_histogram.h"
#include "log.h"
#include "net.h"
#include "proxy.h"
#include "users.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a failed client may keep sending after its final reply before we close anyway. */
#define DRAIN_TIMEOUT_MS 2000

/* ---- the record ---- */

void session_record_lock(struct session *session)
{
    pthread_mutex_lock(&session->proxy->sessions_lock);
}

void session_record_unlock(struct session *session)
{
    pthread_mutex_unlock(&session->proxy->sessions_lock);
}

void session_record_status(struct session *session, uint8_t status, bool replied)
{
    session_record_lock(session);
    session->record->status = status;
    session->record->replied = replied;
    session_record_unlock(session);
}

void session_record_destination_address(struct session *session, const struct sockaddr *address)
{
    char text[NET_ADDRESS_TEXT_MAX];
    net_format_address(address, text);
    session_record_lock(session);
    memcpy(session->record->destination_address, text, sizeof(text));
    session_record_unlock(session);
}

void session_record_user(struct session *session, struct user *user)
{
    users_connection_started(user);
    session_record_lock(session);
    session->record->owner = user_as_owner(user);
    session_record_unlock(session);
}

/* ---- closing ---- */

static void session_free(void *pointer) { free(pointer); }

static void session_release_stage(struct session *session)
{
    if (session->stage->release != NULL)
        session->stage->release(session);
}

void session_free_setup(struct session *session)
{
    struct session_setup *setup = session->setup;
    if (setup == NULL)
        return;
    if (setup->addresses != NULL && setup->addresses != &setup->literal)
        freeaddrinfo(setup->addresses);
    explicit_bzero(setup, sizeof(*setup)); /* it may hold a password */
    free(setup);
    session->setup = NULL;
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

void session_close_remote(struct session *session)
{
    session_close_socket(session, &session->remote, false);
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

/* Gives back the slots admission took (session_policy), on every path that ends a session. */
static void session_release_admission(struct session *session)
{
    if (session->holds_user_slot)
        user_release_connection_slot(user_from_owner(session->record->owner));
    session->holds_user_slot = false;
    if (session->address_slot != NULL)
        address_slots_release(session->proxy->shared->address_slots, session->address_slot);
    session->address_slot = NULL;
}

void session_close(struct session *session, bool reset_client, bool reset_remote)
{
    struct proxy *proxy = session->proxy;
    if (session->state == SESSION_CLOSED)
        return;
    session->state = SESSION_CLOSED;
    session_release_stage(session);
    session_release_admission(session);
    event_loop_timer_stop(proxy->loop, &session->timer);
    event_loop_timer_stop(proxy->loop, &session->budget_timer);
    session_close_socket(session, &session->client, reset_client);
    session_close_socket(session, &session->remote, reset_remote);
    session_free_setup(session);
    relay_drop(&session->upstream, &proxy->relay);
    relay_drop(&session->downstream, &proxy->relay);

    struct connection_record *record = session->record;
    record->ended_ms = log_realtime_ms();
    connection_record_log(record);
    accounting_connection_finished(proxy->shared->accounting, record);
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

unsigned session_waiting_client_mask(const struct session *session)
{
    return session->client_muted ? 0 : EVENT_READ;
}

void session_update_interest(struct session *session)
{
    unsigned client_mask = 0, remote_mask = 0;
    switch (session->state) {
    case SESSION_PRE_GREETING:
    case SESSION_GREETING:
    case SESSION_AUTH:
    case SESSION_REQUEST:
        session->client_muted = false;
        client_mask = EVENT_READ;
        break;
    case SESSION_AUTH_CHECK:
    case SESSION_AUTH_PENALTY:
    case SESSION_RESOLVING:
        client_mask = session_waiting_client_mask(session);
        break;
    case SESSION_COMMAND:
        session->stage->interest(session, &client_mask, &remote_mask);
        break;
    case SESSION_DRAINING:
        client_mask = EVENT_READ;
        break;
    case SESSION_CLOSING:
        break;
    case SESSION_CLOSED:
        return;
    }
    /* A failed login's answer waits for its penalty even when the client could take it. */
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

bool session_queue_reply(struct session *session, const uint8_t *bytes, size_t length)
{
    struct relay_direction *out = &session->downstream;
    if (!relay_acquire_buffer(out, &session->proxy->relay) || out->capacity - out->end < length)
        return false;
    memcpy(out->data + out->end, bytes, length);
    out->end += length;
    return true;
}

bool session_flush_to_client(struct session *session)
{
    if (relay_flush(&session->downstream, &session->proxy->relay, session->client.fd) == RELAY_OK)
        return true;
    counter_add(&session->proxy->metrics.send_errors, 1);
    return false;
}

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
            event_loop_timer_start(proxy->loop, &session->timer,
                                   proxy->settings.handshake_timeout_ms);
        session_update_interest(session);
        return;
    }
    relay_release(&session->upstream, &proxy->relay);
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

void session_end(struct session *session, const uint8_t *reply, size_t length)
{
    session_release_stage(session);
    session_close_remote(session);
    session->state = SESSION_CLOSING;
    event_loop_timer_stop(session->proxy->loop, &session->timer);
    if (reply != NULL && !session_queue_reply(session, reply, length)) {
        session_close(session, false, false);
        return;
    }
    if (relay_pending(&session->downstream) == 0) {
        session_close(session, false, false); /* nothing it would understand: no answer */
        return;
    }
    session_finish_reply(session);
}

void session_refuse(struct session *session, enum socks5_failure cause)
{
    struct socks5_failure_outcome outcome = socks5_failure_outcome(cause);
    for (size_t i = 0; i < SOCKS5_FAILURE_MAX_COUNTERS; i++)
        metrics_count(&session->proxy->metrics, outcome.counters[i]);
    session_record_status(session, (uint8_t)outcome.reply, true);
    uint8_t reply[SOCKS5_REPLY_MAX_LENGTH];
    session_end(session, reply, socks5_reply_encode(reply, (uint8_t)outcome.reply, NULL));
}

/* ---- events: the session's own states here, the rest to the stage that owns them ---- */

void session_on_waiting_client(struct session *session, unsigned events)
{
    /* Nobody is left to answer after an error or hang-up; otherwise only a pending reply
     * can move. */
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
}

static void session_on_client_event(struct event_loop *loop, struct event_watcher *watcher,
                                    unsigned events)
{
    (void)loop;
    struct session *session = watcher->data;
    switch (session->state) {
    case SESSION_CLOSING:
        session_finish_reply(session);
        return;
    case SESSION_DRAINING:
        session_on_drain_readable(session);
        return;
    case SESSION_AUTH_CHECK:
    case SESSION_AUTH_PENALTY:
    case SESSION_RESOLVING:
        session_on_waiting_client(session, events);
        return;
    case SESSION_CLOSED:
        return;
    default:
        session->stage->on_client(session, events);
        return;
    }
}

static void session_on_remote_event(struct event_loop *loop, struct event_watcher *watcher,
                                    unsigned events)
{
    (void)loop;
    struct session *session = watcher->data;
    if (session->state == SESSION_COMMAND && session->stage->on_remote != NULL)
        session->stage->on_remote(session, events);
}

static void session_on_timeout(struct event_loop *loop, struct event_timer *timer)
{
    (void)loop;
    struct session *session = timer->data;
    switch (session->state) {
    case SESSION_CLOSING:
    case SESSION_DRAINING:
    case SESSION_CLOSED:
        /* A final reply the client never read, or never stopped sending after. */
        session_close(session, false, false);
        return;
    default:
        session->stage->on_timeout(session);
        return;
    }
}

void session_attach_remote(struct session *session, int fd)
{
    net_tune_tcp(fd, session->proxy->settings.tcp_congestion);
    session_attach_datagram_socket(session, fd);
}

void session_attach_datagram_socket(struct session *session, int fd)
{
    event_watcher_init(&session->remote, fd, session_on_remote_event, session);
}

/* ---- start ---- */

struct session *session_create(struct proxy *proxy, int client_fd,
                               const struct sockaddr_storage *peer,
                               const struct session_stage *stage, enum session_state first_state)
{
    char client_text[NET_ADDRESS_TEXT_MAX];
    net_format_address((const struct sockaddr *)peer, client_text);
    struct session *session = calloc(1, sizeof(*session));
    struct session_setup *setup = calloc(1, sizeof(*setup));
    struct connection_record *record =
        connection_record_create(__atomic_add_fetch(&proxy->shared->next_connection_id, 1,
                                                    __ATOMIC_RELAXED),
                                 client_text);
    if (session == NULL || setup == NULL || record == NULL) {
        counter_add(&proxy->metrics.server_errors, 1);
        free(session);
        free(setup);
        connection_record_free(record);
        close(client_fd);
        return NULL;
    }
    net_tune_tcp(client_fd, proxy->settings.tcp_congestion);
    session->proxy = proxy;
    session->record = record;
    session->setup = setup;
    session->stage = stage;
    session->state = first_state;
    setup->peer = *peer;
    setup->accepted_us = latency_clock_us();
    relay_direction_init(&session->upstream);
    relay_direction_init(&session->downstream);
    event_watcher_init(&session->client, client_fd, session_on_client_event, session);
    event_watcher_init(&session->remote, -1, session_on_remote_event, session);
    event_timer_init(&session->timer, session_on_timeout, session);
    event_timer_init(&session->budget_timer, NULL, session); /* the tunnel sets its handler */

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
    return session;
}
