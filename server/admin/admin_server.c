/* admin_server: the admin port — accepts admin connections and runs each as a state machine
 * (login, then any number of framed requests) over the shared protocol library. */
#include "admin_server.h"

#include "admin_commands.h"
#include "event_loop.h"
#include "listener.h"
#include "log.h"
#include "login_throttle.h"
#include "metrics.h"
#include "net.h"
#include "pam_auth.h"
#include "counter.h"
#include "proxy.h"
#include "transport.h"
#include "users.h"
#include "work_pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections still logging in may outnumber sessions a little (a few admins reconnecting),
 * but not without bound: past this many the admin listener pauses. */
#define ADMIN_CONNECTIONS_PER_SESSION 2
#define ADMIN_INPUT_SIZE 4096
#define ADMIN_DRAIN_TIMEOUT_MS 2000

enum admin_session_state {
    ADMIN_SESSION_LOGIN,         /* reading VER RSV ULEN USERNAME PLEN PASSWORD */
    ADMIN_SESSION_LOGIN_CHECK,   /* crypt(3) or PAM runs on the work pool */
    ADMIN_SESSION_LOGIN_PENALTY, /* a failed login's answer waits */
    ADMIN_SESSION_READY,         /* reading the next request */
    ADMIN_SESSION_BUSY,          /* a command finishes off the loop (password hashing) */
    ADMIN_SESSION_CLOSING,       /* writing a last answer */
    ADMIN_SESSION_DRAINING,      /* answer and FIN sent: discarding input until EOF */
    ADMIN_SESSION_CLOSED,
};

struct admin_session {
    struct admin_server *server;
    struct admin_session *previous;
    struct admin_session *next;
    enum admin_session_state state;
    struct transport *transport; /* every byte in and out goes through it */
    struct event_watcher watcher; /* on the transport's descriptor */
    struct event_timer timer; /* login deadline, idle deadline, or penalty */
    struct sockaddr_storage peer;
    char peer_text[NET_ADDRESS_TEXT_MAX];
    struct user *user; /* referenced once logged in */
    void *check; /* the auth backend's pending check */
    struct admin_pending *pending;
    struct admin_login_decoder login;
    struct admin_request_decoder request;
    uint8_t input[ADMIN_INPUT_SIZE];
    size_t input_start;
    size_t input_end;
    /* The answer being written: a response frame, or a small login reply / error frame. */
    struct admin_text output;
    uint8_t small_output[ADMIN_ERROR_FRAME_MAX];
    const uint8_t *output_data;
    size_t output_length;
    size_t output_sent;
};

struct admin_server {
    struct event_loop *loop;
    struct proxy_shared *proxy;
    struct work_pool *crypt_pool; /* the admin's own: its results come back on loop */
    struct work_pool *pam_pool;   /* PAM conversations, apart from crypt; NULL without PAM */
    struct auth_backend *auth;    /* the users table's, or PAM's (proxy->pam) */
    struct users_auth users_auth;
    struct pam_auth pam_auth;
    struct metrics metrics;       /* bumped on the admin's thread only */
    struct listener *listener;
    struct admin_server_settings settings;
    struct admin_server_hooks hooks;
    struct admin_session *sessions;
    size_t connection_count; /* every admin connection, logged in or not */
    size_t session_count;    /* logged in; atomic: other threads read it */
};

static void admin_server_count_session(struct admin_server *server, bool logged_in)
{
    size_t count = server->session_count + (logged_in ? 1 : (size_t)-1);
    __atomic_store_n(&server->session_count, count, __ATOMIC_RELAXED);
}

static void admin_session_process(struct admin_session *session);

/* ---- closing ---- */

static void admin_session_free(void *pointer)
{
    struct admin_session *session = pointer;
    admin_text_free(&session->output);
    free(session);
}

static void admin_session_close(struct admin_session *session)
{
    struct admin_server *server = session->server;
    if (session->state == ADMIN_SESSION_CLOSED)
        return;
    bool was_logged_in = session->user != NULL;
    session->state = ADMIN_SESSION_CLOSED;
    if (session->check != NULL)
        server->auth->cancel(server->auth, session->check);
    if (session->pending != NULL)
        session->server->hooks.handler.cancel(session->pending);
    event_loop_timer_stop(server->loop, &session->timer);
    event_loop_unwatch(server->loop, &session->watcher);
    transport_close(session->transport);
    admin_login_decoder_wipe(&session->login);
    explicit_bzero(&session->request, sizeof(session->request)); /* may hold a password */
    explicit_bzero(session->input, sizeof(session->input));
    if (session->user != NULL)
        user_unref(session->user);
    session->user = NULL;

    if (session->previous != NULL)
        session->previous->next = session->next;
    else
        server->sessions = session->next;
    if (session->next != NULL)
        session->next->previous = session->previous;
    server->connection_count--;
    if (was_logged_in)
        admin_server_count_session(server, false);
    log_message(LOG_DEBUG, "admin %s: closed", session->peer_text);
    event_loop_defer_free(server->loop, admin_session_free, session);
    listener_resume(server->listener);
}

/* ---- output ---- */

/* What the session waits for; while it reads or writes, a TLS transport may add the other
 * direction (a handshake record to write before the login can be read). */
static unsigned admin_session_interest(const struct admin_session *session)
{
    unsigned interest = 0;
    if (session->output_sent < session->output_length)
        interest = EVENT_WRITE;
    else if (session->state == ADMIN_SESSION_LOGIN || session->state == ADMIN_SESSION_READY ||
             session->state == ADMIN_SESSION_DRAINING)
        interest = EVENT_READ;
    return interest != 0 ? interest | transport_waits_for(session->transport) : 0;
}

static void admin_session_update_interest(struct admin_session *session)
{
    if (session->state == ADMIN_SESSION_CLOSED)
        return;
    if (event_loop_watch(session->server->loop, &session->watcher,
                         admin_session_interest(session)) < 0)
        admin_session_close(session);
}

/* Writes what it can; false when the peer is gone. */
static bool admin_session_flush(struct admin_session *session)
{
    while (session->output_sent < session->output_length) {
        ssize_t written = transport_write(session->transport,
                                          session->output_data + session->output_sent,
                                          session->output_length - session->output_sent);
        if (written < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        session->output_sent += (size_t)written;
    }
    return true;
}

static bool admin_session_output_done(const struct admin_session *session)
{
    return session->output_sent == session->output_length;
}

/* Sends output_data; when written, goes on reading (or closes in CLOSING). */
static void admin_session_send(struct admin_session *session)
{
    if (!admin_session_flush(session)) {
        admin_session_close(session);
        return;
    }
    if (admin_session_output_done(session) && session->state == ADMIN_SESSION_CLOSING) {
        /* Closing with unread input would send RST, which can destroy the answer before the
         * client reads it: send FIN and drain instead (PROTOCOL.md, limits). */
        transport_end_writes(session->transport);
        session->state = ADMIN_SESSION_DRAINING;
        event_loop_timer_start(session->server->loop, &session->timer, ADMIN_DRAIN_TIMEOUT_MS);
    }
    admin_session_update_interest(session);
}

static void admin_session_send_small(struct admin_session *session, size_t length)
{
    session->output_data = session->small_output;
    session->output_length = length;
    session->output_sent = 0;
    admin_session_send(session);
}

/* A malformed frame: answer with its status, then close (PROTOCOL.md). */
static void admin_session_fail(struct admin_session *session, uint8_t status, const char *message)
{
    log_message(LOG_INFO, "admin %s: %s", session->peer_text, message);
    session->state = ADMIN_SESSION_CLOSING;
    event_loop_timer_start(session->server->loop, &session->timer,
                           session->server->settings.auth_timeout_ms);
    admin_session_send_small(session,
                             admin_error_response_encode(session->small_output, status, message));
}

/* ---- login ---- */

static void admin_session_send_login_reply(struct admin_session *session, uint8_t status,
                                           uint8_t role)
{
    admin_session_send_small(session, admin_login_reply_encode(session->small_output, status, role));
}

static void admin_session_login_refused(struct admin_session *session)
{
    struct admin_server *server = session->server;
    counter_add(&server->metrics.auth_errors, 1);
    uint32_t delay = login_throttle_failure(server->proxy->throttle,
                                            (struct sockaddr *)&session->peer,
                                            event_loop_now_ms(server->loop));
    log_message(LOG_INFO, "admin %s: login failed", session->peer_text);
    session->state = ADMIN_SESSION_LOGIN_PENALTY;
    event_loop_timer_start(server->loop, &session->timer, delay);
    admin_session_update_interest(session);
}

static void admin_session_on_login_checked(void *owner, struct user *user)
{
    struct admin_session *session = owner;
    struct admin_server *server = session->server;
    session->check = NULL;
    if (user == NULL) {
        admin_session_login_refused(session);
        return;
    }
    login_throttle_success(server->proxy->throttle, (struct sockaddr *)&session->peer);
    if (server->session_count >= server->settings.max_sessions) {
        user_unref(user);
        log_message(LOG_WARN, "admin %s: refused, %zu admin sessions already", session->peer_text,
                    server->session_count);
        session->state = ADMIN_SESSION_CLOSING;
        admin_session_send_login_reply(session, ADMIN_STATUS_SERVER_ERROR, 0);
        return;
    }
    session->user = user;
    admin_server_count_session(server, true);
    session->state = ADMIN_SESSION_READY;
    admin_request_decoder_init(&session->request);
    log_message(LOG_INFO, "admin %s: logged in as %s (%s)", session->peer_text, user_name(user),
                user_role(user) == USER_ROLE_ADMIN ? "admin" : "user");
    event_loop_timer_start(server->loop, &session->timer, server->settings.idle_timeout_ms);
    admin_session_send_login_reply(session, ADMIN_STATUS_OK,
                                   user_role(user) == USER_ROLE_ADMIN ? ADMIN_ROLE_ADMIN
                                                                      : ADMIN_ROLE_USER);
    if (session->state == ADMIN_SESSION_READY && admin_session_output_done(session))
        admin_session_process(session); /* a request may already be waiting */
}

static void admin_session_on_login(struct admin_session *session)
{
    struct admin_login_decoder *login = &session->login;
    struct user *user = NULL;
    struct auth_backend *auth = session->server->auth;
    const struct auth_credentials credentials = {
        login->username, login->username_length, login->password, login->password_length,
        (const struct sockaddr *)&session->peer,
    };
    switch (auth->check(auth, &credentials, admin_session_on_login_checked, session, &user,
                        &session->check)) {
    case AUTH_CHECK_ANSWERED:
        admin_login_decoder_wipe(login);
        admin_session_on_login_checked(session, user);
        return;
    case AUTH_CHECK_PENDING:
        admin_login_decoder_wipe(login);
        session->state = ADMIN_SESSION_LOGIN_CHECK;
        admin_session_update_interest(session);
        return;
    case AUTH_CHECK_ERROR:
        admin_login_decoder_wipe(login);
        session->state = ADMIN_SESSION_CLOSING;
        admin_session_send_login_reply(session, ADMIN_STATUS_SERVER_ERROR, 0);
        return;
    }
}

/* ---- requests ---- */

void admin_session_respond(struct admin_session *session, struct admin_response *response)
{
    struct admin_server *server = session->server;
    session->pending = NULL;
    if (session->state == ADMIN_SESSION_CLOSED) {
        admin_text_free(&response->body);
        return;
    }
    admin_text_free(&session->output);
    if (response->status != ADMIN_STATUS_OK || admin_text_failed(&response->body)) {
        if (response->status == ADMIN_STATUS_OK)
            admin_response_error(response, ADMIN_STATUS_SERVER_ERROR,
                                 "response too large or out of memory");
        admin_text_free(&response->body);
        session->output_data = session->small_output;
        session->output_length = admin_error_response_encode(session->small_output,
                                                             response->status, response->message);
    } else {
        session->output = response->body; /* the session owns it until the next answer */
        uint8_t *frame = admin_text_frame(&session->output);
        admin_response_header_encode(frame, ADMIN_STATUS_OK,
                                     (uint32_t)admin_text_body_length(&session->output));
        session->output_data = frame;
        session->output_length = admin_text_frame_length(&session->output);
    }
    session->output_sent = 0;
    session->state = ADMIN_SESSION_READY;
    event_loop_timer_start(server->loop, &session->timer, server->settings.idle_timeout_ms);
    admin_session_send(session);
    if (session->state == ADMIN_SESSION_READY && admin_session_output_done(session))
        admin_session_process(session);
}

static void admin_session_on_request(struct admin_session *session)
{
    struct admin_request_decoder *decoder = &session->request;
    struct admin_request request;
    struct admin_response response = { .status = ADMIN_STATUS_OK };
    const char *problem = NULL;
    uint8_t command = decoder->command;
    uint8_t status = admin_request_parse(command, decoder->body, decoder->body_length, &request,
                                         &problem);
    explicit_bzero(decoder->body, decoder->body_length);
    admin_request_decoder_init(decoder);
    admin_text_init(&response.body, ADMIN_RESPONSE_HEADER_SIZE, ADMIN_RESPONSE_BODY_MAX);
    struct user *user = session->user;
    if (user_removed(user)) {
        admin_session_fail(session, ADMIN_STATUS_UNAUTHENTICATED, "this user was removed");
        admin_text_free(&response.body);
        return;
    }
    if (status == ADMIN_STATUS_UNSUPPORTED_COMMAND) {
        admin_response_error(&response, status, "unsupported command 0x%02x", command);
    } else if (status != ADMIN_STATUS_OK) {
        admin_response_error(&response, status, "%s: %s", admin_command_name(command),
                             problem != NULL ? problem : admin_status_name(status));
    } else if (!admin_request_permitted(&request, user_role(user) == USER_ROLE_ADMIN
                                                      ? ADMIN_ROLE_ADMIN
                                                      : ADMIN_ROLE_USER,
                                        user_name(user))) {
        admin_response_error(&response, ADMIN_STATUS_FORBIDDEN, "%s: admin role required",
                             admin_command_name(request.command));
    } else {
        session->state = ADMIN_SESSION_BUSY;
        bool ready = session->server->hooks.handler.handle(session->server, session, &request,
                                                           &response, &session->pending);
        explicit_bzero(&request, sizeof(request));
        if (!ready) {
            admin_text_free(&response.body);
            admin_session_update_interest(session);
            return;
        }
    }
    admin_session_respond(session, &response);
}

void admin_response_error(struct admin_response *response, uint8_t status, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(response->message, sizeof(response->message), format, arguments);
    va_end(arguments);
    response->status = status;
}

/* ---- input ---- */

static bool admin_session_read(struct admin_session *session);

/* Whether the transport holds bytes this state would read (the rest of a TLS record): the
 * descriptor will not become readable for them. */
static bool admin_session_has_unread(const struct admin_session *session)
{
    return (session->state == ADMIN_SESSION_LOGIN || session->state == ADMIN_SESSION_READY) &&
           admin_session_output_done(session) &&
           (session->input_end < sizeof(session->input) ||
            session->input_start == session->input_end) &&
           transport_has_buffered(session->transport);
}

/* Feeds buffered bytes to the decoder of the current state; stops at a complete message. */
static void admin_session_process(struct admin_session *session)
{
    while ((session->input_start < session->input_end || admin_session_has_unread(session)) &&
           admin_session_output_done(session)) {
        if (session->input_start == session->input_end) {
            session->input_start = session->input_end = 0;
            if (!admin_session_read(session))
                return;
            if (session->input_end == 0)
                break; /* nothing after all: wait for the descriptor */
            continue;
        }
        const uint8_t *data = session->input + session->input_start;
        size_t length = session->input_end - session->input_start, consumed = 0;
        enum admin_decode_result result;
        if (session->state == ADMIN_SESSION_LOGIN) {
            result = admin_login_decoder_feed(&session->login, data, length, &consumed);
        } else if (session->state == ADMIN_SESSION_READY) {
            result = admin_request_decoder_feed(&session->request, data, length, &consumed);
        } else {
            break;
        }
        session->input_start += consumed;
        if (result == ADMIN_DECODE_MORE)
            continue;
        if (result == ADMIN_DECODE_ERROR) {
            enum admin_decode_error error = session->state == ADMIN_SESSION_LOGIN
                                                ? session->login.error
                                                : session->request.error;
            if (session->state == ADMIN_SESSION_LOGIN) {
                session->state = ADMIN_SESSION_CLOSING;
                admin_session_send_login_reply(session, admin_decode_error_status(error), 0);
            } else {
                admin_session_fail(session, admin_decode_error_status(error),
                                   admin_decode_error_text(error));
            }
            return;
        }
        if (session->state == ADMIN_SESSION_LOGIN)
            admin_session_on_login(session);
        else
            admin_session_on_request(session);
    }
    if (session->input_start == session->input_end)
        session->input_start = session->input_end = 0;
    admin_session_update_interest(session);
}

static void admin_session_on_drain_readable(struct admin_session *session)
{
    uint8_t discard[4096];
    for (int reads = 0; reads < 16; reads++) {
        ssize_t received = transport_read(session->transport, discard, sizeof(discard));
        if (received > 0)
            continue;
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        break;
    }
    admin_session_close(session);
}

/* Reads once into input; false when the session closed (end of stream or an error). */
static bool admin_session_read(struct admin_session *session)
{
    ssize_t received = transport_read(session->transport, session->input + session->input_end,
                                      sizeof(session->input) - session->input_end);
    if (received == 0) {
        admin_session_close(session);
        return false;
    }
    if (received < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            admin_session_close(session);
            return false;
        }
        return true;
    }
    session->input_end += (size_t)received;
    return true;
}

static void admin_session_on_readable(struct admin_session *session)
{
    if (session->state == ADMIN_SESSION_DRAINING) {
        admin_session_on_drain_readable(session);
        return;
    }
    if (session->input_end == sizeof(session->input)) {
        /* Full of unprocessed bytes: they wait for the answer being written. */
        admin_session_update_interest(session);
        return;
    }
    if (admin_session_read(session))
        admin_session_process(session);
}

static void admin_session_on_event(struct event_loop *loop, struct event_watcher *watcher,
                                   unsigned events)
{
    (void)loop;
    struct admin_session *session = watcher->data;
    /* A TLS read or write that waited for the other direction goes on at either event. */
    if (transport_waits_for(session->transport) != 0)
        events |= EVENT_READ | EVENT_WRITE;
    if (events & (EVENT_WRITE | EVENT_ERROR)) {
        admin_session_send(session);
        if (session->state == ADMIN_SESSION_CLOSED)
            return;
        if (admin_session_output_done(session))
            admin_session_process(session);
    }
    if (session->state == ADMIN_SESSION_CLOSED)
        return;
    if ((events & (EVENT_READ | EVENT_ERROR)) && (admin_session_interest(session) & EVENT_READ))
        admin_session_on_readable(session);
}

static void admin_session_on_timeout(struct event_loop *loop, struct event_timer *timer)
{
    (void)loop;
    struct admin_session *session = timer->data;
    if (session->state == ADMIN_SESSION_LOGIN_PENALTY) {
        session->state = ADMIN_SESSION_CLOSING;
        event_loop_timer_start(session->server->loop, &session->timer,
                               session->server->settings.auth_timeout_ms);
        admin_session_send_login_reply(session, ADMIN_STATUS_UNAUTHENTICATED, 0);
        return;
    }
    if (session->state == ADMIN_SESSION_CLOSING || session->state == ADMIN_SESSION_DRAINING) {
        admin_session_close(session);
        return;
    }
    log_message(LOG_INFO, "admin %s: %s timed out", session->peer_text,
                session->user == NULL ? "login" : "idle session");
    admin_session_close(session);
}

/* ---- accepting ---- */

static bool admin_server_has_capacity(void *context)
{
    struct admin_server *server = context;
    return server->connection_count < server->settings.max_sessions * ADMIN_CONNECTIONS_PER_SESSION;
}

static void admin_server_on_accept(void *context, int fd, const struct sockaddr_storage *peer)
{
    struct admin_server *server = context;
    struct admin_session *session = calloc(1, sizeof(*session));
    if (session == NULL) {
        close(fd);
        return;
    }
    session->transport = server->hooks.open_transport != NULL
                             ? server->hooks.open_transport(server->hooks.transport_context, fd)
                             : transport_tcp_create(fd);
    if (session->transport == NULL) {
        free(session);
        return;
    }
    session->server = server;
    session->peer = *peer;
    net_format_address((const struct sockaddr *)peer, session->peer_text);
    session->state = ADMIN_SESSION_LOGIN;
    admin_login_decoder_init(&session->login);
    admin_text_init(&session->output, ADMIN_RESPONSE_HEADER_SIZE, ADMIN_RESPONSE_BODY_MAX);
    event_watcher_init(&session->watcher, session->transport->fd, admin_session_on_event, session);
    event_timer_init(&session->timer, admin_session_on_timeout, session);
    session->next = server->sessions;
    if (server->sessions != NULL)
        server->sessions->previous = session;
    server->sessions = session;
    server->connection_count++;
    log_message(LOG_DEBUG, "admin %s: connected over %s", session->peer_text,
                transport_name(session->transport));
    event_loop_timer_start(server->loop, &session->timer, server->settings.auth_timeout_ms);
    admin_session_update_interest(session);
}

struct admin_server *admin_server_create(struct event_loop *loop, struct proxy_shared *proxy,
                                         int listening_fd,
                                         const struct admin_server_settings *settings,
                                         const struct admin_server_hooks *hooks)
{
    struct admin_server *server = calloc(1, sizeof(*server));
    if (server == NULL) {
        close(listening_fd);
        return NULL;
    }
    server->loop = loop;
    server->proxy = proxy;
    server->settings = *settings;
    server->hooks = *hooks;
    server->crypt_pool = work_pool_create(loop, settings->crypt_threads);
    if (proxy->pam != NULL) {
        server->pam_pool = work_pool_create(loop, PAM_POOL_THREADS);
        server->auth = pam_auth_init(&server->pam_auth, proxy->pam, proxy->users,
                                     server->crypt_pool, server->pam_pool, &server->metrics);
    } else {
        server->auth = users_auth_init(&server->users_auth, proxy->users, server->crypt_pool);
    }
    if (server->crypt_pool != NULL && (proxy->pam == NULL || server->pam_pool != NULL))
        server->listener = listener_create(loop, listening_fd, admin_server_on_accept,
                                           admin_server_has_capacity, server, NULL);
    if (server->listener == NULL) {
        close(listening_fd);
        work_pool_destroy(server->crypt_pool);
        work_pool_destroy(server->pam_pool);
        free(server);
        return NULL;
    }
    return server;
}

void admin_server_destroy(struct admin_server *server)
{
    if (server == NULL)
        return;
    while (server->sessions != NULL)
        admin_session_close(server->sessions);
    listener_destroy(server->listener);
    /* After the sessions: the jobs they leave are cancelled, and their ends come back here. */
    work_pool_destroy(server->crypt_pool);
    work_pool_destroy(server->pam_pool);
    free(server);
}

int admin_server_listening_fd(const struct admin_server *server)
{
    return listener_fd(server->listener);
}

size_t admin_server_session_count(const struct admin_server *server)
{
    return __atomic_load_n(&server->session_count, __ATOMIC_RELAXED);
}

const struct admin_server_settings *admin_server_settings(const struct admin_server *server)
{
    return &server->settings;
}

const struct admin_server_hooks *admin_server_hooks(const struct admin_server *server)
{
    return &server->hooks;
}

struct proxy_shared *admin_server_proxy(const struct admin_server *server)
{
    return server->proxy;
}

struct work_pool *admin_server_crypt_pool(const struct admin_server *server)
{
    return server->crypt_pool;
}

const struct metrics *admin_server_metrics(const struct admin_server *server)
{
    return &server->metrics;
}

struct user *admin_session_user(const struct admin_session *session) { return session->user; }

size_t admin_server_close_user(struct admin_server *server, const struct user *user,
                               const struct admin_session *except)
{
    size_t closed = 0;
    struct admin_session *session = server->sessions;
    while (session != NULL) {
        struct admin_session *next = session->next;
        if (session->user == user && session != except) {
            admin_session_close(session);
            closed++;
        }
        session = next;
    }
    return closed;
}
