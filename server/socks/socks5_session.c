/* socks5_session: a worker's SOCKS5 sessions as the rest of the server sees them — starting
 * one, the live list the admin reads, closing one, a user's or all. */
#include "socks5_session.h"

#include "connection_record.h"
#include "proxy.h"
#include "session.h"
#include "session_handshake.h"
#include "session_udp.h"
#include "users.h"

#include <pthread.h>

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
    session_handshake_start(proxy, client_fd, peer);
}

void session_close_all(struct proxy *proxy)
{
    while (proxy->sessions != NULL)
        session_close(proxy->sessions, false, false);
    session_udp_release_worker(proxy);
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
