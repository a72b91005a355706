/* session_tunnel: a session's two sockets relayed both ways once its command has connected
 * them — back-pressure, byte counts, the user's bandwidth budget, the idle timeout, and a
 * reset passed on as a reset. */
#include "session_tunnel.h"

#include "connection_record.h"
#include "counter.h"
#include "log.h"
#include "proxy.h"
#include "token_bucket.h"
#include "users.h"

#include <stdint.h>

static void tunnel_count(struct session *session, bool up, size_t bytes)
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

static bool tunnel_finished(const struct session *session)
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

/* The user's budget for what is read from a side: upload from the client, download from the
 * remote. Shared with the user's other tunnels, on every worker. */
static struct token_bucket *tunnel_bucket(const struct session *session, bool from_client)
{
    return user_bucket(user_from_owner(session->record->owner), from_client);
}

static void tunnel_on_budget(struct event_loop *loop, struct event_timer *timer)
{
    (void)loop;
    struct session *session = timer->data;
    session->upload_throttled = false;
    session->download_throttled = false;
    session_update_interest(session);
}

/* No budget for a side: stop reading it (the interest drops it) until the bucket has refilled
 * enough; the other side goes on. Sooner wake-ups win when both sides wait. */
static void tunnel_throttle(struct session *session, bool from_client,
                            struct token_bucket *bucket, uint64_t now_ns)
{
    struct event_loop *loop = session->proxy->loop;
    if (from_client)
        session->upload_throttled = true;
    else
        session->download_throttled = true;
    uint64_t wait_ms = token_bucket_wait_ms(bucket, now_ns);
    if (wait_ms == 0)
        wait_ms = 1;
    uint64_t deadline = event_loop_now_ms(loop) + wait_ms;
    if (!event_timer_armed(&session->budget_timer) || session->budget_timer.deadline_ms > deadline)
        event_loop_timer_start(loop, &session->budget_timer, wait_ms);
}

/* One side of the tunnel is ready: write what waits for it, then read from it. */
static enum tunnel_outcome tunnel_relay_side(struct session *session, bool from_client,
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
    if (!(events & (EVENT_READ | EVENT_ERROR)))
        return TUNNEL_GOES_ON;
    /* A throttled side still gets its error or hang-up read (epoll reports it whatever the
     * interest): otherwise it would be reported again and again until the budget returns.
     * Only while the interest would read it: with bytes still pending from it, or after its
     * EOF, a read would overwrite what waits or take the EOF twice. */
    bool throttled = from_client ? session->upload_throttled : session->download_throttled;
    bool failing = (events & EVENT_ERROR) != 0;
    bool readable_but_throttled = throttled && failing && relay_pending(from_side) == 0 &&
                                  !from_side->source_eof;
    if (!(mask & EVENT_READ) && !readable_but_throttled)
        return TUNNEL_GOES_ON;
    size_t max = SIZE_MAX;
    struct token_bucket *bucket = tunnel_bucket(session, from_client);
    bool limited = token_bucket_limited(bucket) && !failing; /* unlimited: one load, one branch */
    uint64_t now_ns = 0;
    if (limited) {
        now_ns = token_bucket_now_ns();
        max = token_bucket_allowance(bucket, SIZE_MAX, now_ns);
        if (max == 0) {
            tunnel_throttle(session, from_client, bucket, now_ns);
            return TUNNEL_GOES_ON;
        }
    }
    size_t received;
    enum relay_status status = relay_read(from_side, &proxy->relay, side, other, max, &received);
    if (received > 0) {
        if (limited)
            token_bucket_spend(bucket, received, now_ns);
        tunnel_count(session, from_client, received);
        session->last_activity_ms = event_loop_now_ms(proxy->loop);
    }
    return tunnel_outcome_of(session, status, true);
}

void session_tunnel_on_event(struct session *session, bool from_client, unsigned events)
{
    session->upstream.fin_by_close = session->downstream.sink_shut;
    session->downstream.fin_by_close = session->upstream.sink_shut;
    enum tunnel_outcome outcome = tunnel_relay_side(session, from_client, events);
    if (outcome == TUNNEL_GOES_ON && !tunnel_finished(session)) {
        session_update_interest(session);
        return;
    }
    /* A reset (or any failure) on one side is passed on as a reset to the other. */
    bool reset_side = outcome == TUNNEL_OTHER_FAILED;
    bool reset_other = outcome == TUNNEL_SIDE_FAILED;
    session_close(session, from_client ? reset_side : reset_other,
                  from_client ? reset_other : reset_side);
}

void session_tunnel_start(struct session *session)
{
    struct proxy *proxy = session->proxy;
    session->last_activity_ms = event_loop_now_ms(proxy->loop);
    event_timer_init(&session->budget_timer, tunnel_on_budget, session);
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
        token_bucket_spend(tunnel_bucket(session, true), relay_pending(&session->upstream),
                           token_bucket_now_ns());
        tunnel_count(session, true, relay_pending(&session->upstream));
        session_tunnel_on_event(session, false, EVENT_WRITE);
        return;
    }
    relay_release(&session->upstream, &proxy->relay);
    session_update_interest(session);
}

void session_tunnel_on_timeout(struct session *session)
{
    struct proxy *proxy = session->proxy;
    uint64_t idle = event_loop_now_ms(proxy->loop) - session->last_activity_ms;
    if (idle < proxy->settings.idle_timeout_ms) {
        event_loop_timer_start(proxy->loop, &session->timer,
                               proxy->settings.idle_timeout_ms - idle);
        return;
    }
    log_message(LOG_DEBUG, "connection %llu: idle for %llu ms, closing",
                (unsigned long long)session->record->id, (unsigned long long)idle);
    session_close(session, false, false);
}

void session_tunnel_interest(const struct session *session, unsigned *client_mask,
                             unsigned *remote_mask)
{
    /* Read a side only when the bytes read before have all been written on: that is the
     * back-pressure, and the buffer then always starts empty. */
    if (!session->upstream.source_eof && relay_pending(&session->upstream) == 0 &&
        !session->upload_throttled)
        *client_mask |= EVENT_READ;
    if (!session->downstream.source_eof && relay_pending(&session->downstream) == 0 &&
        !session->download_throttled)
        *remote_mask |= EVENT_READ;
    if (relay_pending(&session->upstream) > 0)
        *remote_mask |= EVENT_WRITE;
}
