/* admin_worker_calls: what the admin asks of every worker in turn, on the worker's own thread —
 * close connections by id or by user, and wait until each has finished its current event. */
#include "admin_worker_calls.h"

#include "accounting.h"
#include "admin_server.h"
#include "event_loop.h"
#include "proxy.h"
#include "socks5_session.h"

/* The admin has a thread of its own; each worker is asked in turn (event_loop_call). */

struct close_request {
    uint64_t id;
    const struct user *user;
    size_t closed;
};

struct worker_call {
    struct proxy *proxy;
    struct close_request *request;
};

static void close_id_call(void *argument)
{
    struct worker_call *call = argument;
    if (session_close_by_id(call->proxy, call->request->id))
        call->request->closed++;
}

static void close_user_call(void *argument)
{
    struct worker_call *call = argument;
    call->request->closed += session_close_user(call->proxy, call->request->user);
}

static void on_every_worker(struct admin_server *server, void (*function)(void *argument),
                            struct close_request *request)
{
    struct proxy_shared *shared = admin_server_proxy(server);
    for (size_t i = 0; i < shared->worker_count; i++) {
        struct worker_call call = { shared->workers[i], request };
        event_loop_call(shared->workers[i]->loop, function, &call);
    }
}

bool admin_close_connection_everywhere(struct admin_server *server, uint64_t id)
{
    struct close_request request = { .id = id };
    on_every_worker(server, close_id_call, &request);
    return request.closed > 0;
}

size_t admin_close_user_everywhere(struct admin_server *server, const struct user *user)
{
    struct close_request request = { .user = user };
    on_every_worker(server, close_user_call, &request);
    return request.closed;
}

static void between_events(void *argument) { (void)argument; }

void admin_settle_workers(struct admin_server *server)
{
    on_every_worker(server, between_events, NULL);
}

void admin_read_metrics(struct admin_server *server, struct metrics *sum)
{
    admin_settle_workers(server);
    struct proxy_shared *shared = admin_server_proxy(server);
    *sum = (struct metrics){ 0 };
    for (size_t i = 0; i < shared->worker_count; i++)
        metrics_add_up(sum, &shared->workers[i]->metrics);
    metrics_add_up(sum, admin_server_metrics(server));
    /* The accounting's writer thread counts these, not a worker. */
    if (shared->accounting != NULL)
        sum->accounting_dropped = accounting_dropped(shared->accounting);
}
