/* session_handshake: a session's first stage — the proxy's pre-greeting stage if it has one,
 * the greeting and method choice, RFC 1929 checked by the auth backend — up to the request. */
#include "session_handshake.h"

#include "auth_backend.h"
#include "counter.h"
#include "login_throttle.h"
#include "pam_auth.h"
#include "proxy.h"
#include "session.h"
#include "session_request.h"
#include "users.h"
#include "users_auth.h"

#include <errno.h>
#include <sys/socket.h>

static void handshake_advance(struct session *session);

/* The worker sets up the users table and the crypt pool; unless another backend was
 * installed, logins are checked against that table (and PAM, when the server uses it) from
 * the first one on. */
static struct auth_backend *handshake_auth_backend(struct proxy *proxy)
{
    if (proxy->auth == NULL && proxy->shared->pam != NULL)
        proxy->auth = pam_auth_init(&proxy->pam_auth, proxy->shared->pam, proxy->users,
                                    proxy->crypt_pool, proxy->pam_pool, &proxy->metrics);
    if (proxy->auth == NULL)
        proxy->auth = users_auth_init(&proxy->users_auth, proxy->users, proxy->crypt_pool);
    return proxy->auth;
}

/* ---- the pre-greeting stage, the greeting ---- */

static void handshake_pre_greeting_abandoned(struct session *session, bool timed_out)
{
    const struct session_prelude *prelude = session->proxy->pre_greeting;
    if (session->state == SESSION_PRE_GREETING && prelude->abandoned != NULL)
        prelude->abandoned(session, timed_out);
}

static void handshake_begin_greeting(struct session *session)
{
    session->state = SESSION_GREETING;
    socks5_greeting_parser_init(&session->setup->parser.greeting);
}

static bool handshake_on_pre_greeting(struct session *session, enum socks5_parse_result result)
{
    if (result == SOCKS5_PARSE_ERROR) {
        session_end(session, NULL, 0);
        return false;
    }
    handshake_begin_greeting(session);
    return true;
}

static bool handshake_on_greeting(struct session *session, enum socks5_parse_result result)
{
    struct socks5_greeting_parser *parser = &session->setup->parser.greeting;
    struct proxy *proxy = session->proxy;
    if (result == SOCKS5_PARSE_ERROR) {
        /* Not SOCKS5 at all (an HTTP request, a SOCKS4 client): nothing it would understand. */
        counter_add(&proxy->metrics.unsupported_input, 1);
        session_end(session, NULL, 0);
        return false;
    }
    uint8_t reply[2];
    if (parser->offers_userpass) {
        session->state = SESSION_AUTH;
        socks5_auth_parser_init(&session->setup->parser.auth);
        session_queue_reply(session, reply,
                            socks5_method_reply_encode(reply, SOCKS5_METHOD_USERPASS));
        return true;
    }
    if (parser->offers_no_auth && proxy->settings.no_auth_allowed) {
        session_record_user(session, user_ref(users_anonymous(proxy->users)));
        session_request_begin(session);
        session_queue_reply(session, reply,
                            socks5_method_reply_encode(reply, SOCKS5_METHOD_NO_AUTH));
        return true;
    }
    counter_add(&proxy->metrics.auth_errors, 1);
    session_record_status(session, SOCKS5_REPLY_NOT_ALLOWED, false);
    session_end(session, reply, socks5_method_reply_encode(reply, SOCKS5_METHOD_NO_ACCEPTABLE));
    return false;
}

/* ---- RFC 1929 ---- */

static void handshake_on_auth_failed(struct session *session)
{
    struct proxy *proxy = session->proxy;
    uint8_t reply[2];
    size_t length = socks5_auth_reply_encode(reply, SOCKS5_AUTH_STATUS_FAILURE);
    counter_add(&proxy->metrics.auth_errors, 1);
    session_record_status(session, SOCKS5_REPLY_NOT_ALLOWED, false);
    uint32_t delay = login_throttle_failure(proxy->throttle,
                                            (struct sockaddr *)&session->setup->peer,
                                            event_loop_now_ms(proxy->loop));
    if (delay == 0 || !session_queue_reply(session, reply, length)) {
        session_end(session, reply, length);
        return;
    }
    session->state = SESSION_AUTH_PENALTY;
    event_loop_timer_start(proxy->loop, &session->timer, delay);
    session_update_interest(session);
}

static void handshake_on_auth_result(struct session *session, struct user *user)
{
    uint8_t reply[2];
    socks5_auth_parser_wipe(&session->setup->parser.auth);
    if (user == NULL) {
        handshake_on_auth_failed(session);
        return;
    }
    login_throttle_success(session->proxy->throttle, (struct sockaddr *)&session->setup->peer);
    session_record_user(session, user); /* the check handed us a reference */
    session_request_begin(session);
    session_queue_reply(session, reply,
                        socks5_auth_reply_encode(reply, SOCKS5_AUTH_STATUS_SUCCESS));
}

static void handshake_on_auth_checked(void *owner, struct user *user)
{
    struct session *session = owner;
    session->setup->auth_pending = NULL;
    handshake_on_auth_result(session, user);
    if (session->state == SESSION_REQUEST)
        handshake_advance(session);
}

static bool handshake_on_auth(struct session *session, enum socks5_parse_result result)
{
    struct socks5_auth_parser *parser = &session->setup->parser.auth;
    if (result == SOCKS5_PARSE_ERROR) {
        counter_add(&session->proxy->metrics.unsupported_input, 1);
        handshake_on_auth_result(session, NULL);
        return false;
    }
    const struct auth_credentials credentials = {
        parser->username, parser->username_length, parser->password, parser->password_length,
        (const struct sockaddr *)&session->setup->peer,
    };
    struct auth_backend *backend = handshake_auth_backend(session->proxy);
    struct user *user = NULL;
    switch (backend->check(backend, &credentials, handshake_on_auth_checked, session, &user,
                           &session->setup->auth_pending)) {
    case AUTH_CHECK_ANSWERED:
        handshake_on_auth_result(session, user);
        return session->state == SESSION_REQUEST;
    case AUTH_CHECK_PENDING:
        socks5_auth_parser_wipe(parser); /* the check keeps its own copy */
        session->state = SESSION_AUTH_CHECK;
        return false;
    case AUTH_CHECK_ERROR:
        counter_add(&session->proxy->metrics.server_errors, 1);
        handshake_on_auth_result(session, NULL);
        return false;
    }
    return false;
}

/* ---- reading ---- */

/* Feeds the client's unparsed bytes to the decoder of the current state and drops what it
 * took. Every decoder consumes all it is given until its message ends. */
static enum socks5_parse_result handshake_feed(struct session *session)
{
    struct relay_direction *in = &session->upstream;
    const uint8_t *data = in->data + in->start;
    size_t length = relay_pending(in), consumed = 0;
    struct session_setup *setup = session->setup;
    enum socks5_parse_result result = SOCKS5_PARSE_MORE;
    switch (session->state) {
    case SESSION_PRE_GREETING:
        result = session->proxy->pre_greeting->consume(session, data, length, &consumed);
        break;
    case SESSION_GREETING:
        result = socks5_greeting_parser_feed(&setup->parser.greeting, data, length, &consumed);
        break;
    case SESSION_AUTH:
        result = socks5_auth_parser_feed(&setup->parser.auth, data, length, &consumed);
        break;
    case SESSION_REQUEST:
        result = socks5_request_parser_feed(&setup->parser.request, data, length, &consumed);
        break;
    default:
        break;
    }
    in->start += consumed;
    return result;
}

static bool handshake_reading(const struct session *session)
{
    return session->state <= SESSION_REQUEST && session->state != SESSION_AUTH_CHECK &&
           session->state != SESSION_AUTH_PENALTY;
}

/* Parses the buffered client bytes, message after message, until a decoder needs more bytes
 * or the session waits for something else. */
static void handshake_advance(struct session *session)
{
    bool go_on = true;
    while (go_on && handshake_reading(session)) {
        enum socks5_parse_result result = handshake_feed(session);
        if (result == SOCKS5_PARSE_MORE)
            break;
        switch (session->state) {
        case SESSION_PRE_GREETING:
            go_on = handshake_on_pre_greeting(session, result);
            break;
        case SESSION_GREETING:
            go_on = handshake_on_greeting(session, result);
            break;
        case SESSION_AUTH:
            go_on = handshake_on_auth(session, result);
            break;
        default:
            session_request_on_parsed(session, result);
            go_on = false;
            break;
        }
    }
    if (session->state >= SESSION_CLOSING)
        return; /* the final reply has taken over (and may have closed the session) */
    /* Replies queued on the way (a pipelining client's method and auth replies) go out now,
     * whichever stage runs next. */
    if (!session_flush_to_client(session)) {
        session_close(session, false, false);
        return;
    }
    if (session->state <= SESSION_REQUEST && relay_pending(&session->upstream) == 0)
        relay_release(&session->upstream, &session->proxy->relay);
    session_update_interest(session);
}

static void handshake_on_readable(struct session *session)
{
    struct relay_direction *in = &session->upstream;
    if (!relay_acquire_buffer(in, &session->proxy->relay)) {
        counter_add(&session->proxy->metrics.server_errors, 1);
        session_close(session, false, false);
        return;
    }
    /* Every decoder consumes all it is given until its message ends, and reading stops once
     * the request is complete, so unparsed bytes never pile up: there is always room here. */
    if (in->start == in->end)
        in->start = in->end = 0;
    ssize_t received = recv(session->client.fd, in->data + in->end, in->capacity - in->end, 0);
    if (received == 0) {
        handshake_pre_greeting_abandoned(session, false);
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
    handshake_advance(session);
}

/* ---- the stage ---- */

static void handshake_on_client(struct session *session, unsigned events)
{
    if ((events & EVENT_WRITE) && !session_flush_to_client(session)) {
        session_close(session, false, false);
        return;
    }
    if (events & (EVENT_READ | EVENT_ERROR))
        handshake_on_readable(session);
    else
        session_update_interest(session);
}

static void handshake_on_timeout(struct session *session)
{
    switch (session->state) {
    case SESSION_RESOLVING:
        session_request_on_lookup_timeout(session);
        return;
    case SESSION_AUTH_PENALTY:
        session_end(session, NULL, 0); /* the failure status is queued already */
        return;
    default:
        handshake_pre_greeting_abandoned(session, true);
        session_close(session, false, false); /* handshake too slow */
        return;
    }
}

static void handshake_release(struct session *session)
{
    struct session_setup *setup = session->setup;
    if (setup == NULL)
        return;
    if (setup->auth_pending != NULL) {
        struct auth_backend *backend = handshake_auth_backend(session->proxy);
        backend->cancel(backend, setup->auth_pending);
        setup->auth_pending = NULL;
    }
    session_request_release(session);
}

static const struct session_stage handshake_stage = {
    .on_client = handshake_on_client,
    .on_remote = NULL,
    .on_timeout = handshake_on_timeout,
    .interest = NULL,
    .release = handshake_release,
};

void session_handshake_start(struct proxy *proxy, int client_fd,
                             const struct sockaddr_storage *peer)
{
    const struct session_prelude *prelude = proxy->pre_greeting;
    struct session *session =
        session_create(proxy, client_fd, peer, &handshake_stage,
                       prelude != NULL ? SESSION_PRE_GREETING : SESSION_GREETING);
    if (session == NULL)
        return;
    if (prelude == NULL)
        socks5_greeting_parser_init(&session->setup->parser.greeting);
    else if (prelude->begin != NULL)
        prelude->begin(session);
    /* Most clients send their greeting with the connect: try to read it right away. */
    handshake_on_readable(session);
}
