/* metrics_scrape: one Prometheus scrape's figures — the same counters the admin's metrics and
 * user-metrics commands read, taken at one settled moment — written as the exposition. */
#include "metrics_scrape.h"

#include "admin_server.h"
#include "admin_worker_calls.h"
#include "counter.h"
#include "prometheus_text.h"
#include "proxy.h"
#include "users.h"

#include <stdlib.h>

struct user_rows {
    struct prometheus_user *rows;
    size_t count;
    size_t capacity;
};

static void add_row(struct user_rows *list, struct user *user)
{
    if (list->count == list->capacity)
        return; /* users are added only on this thread, but a bound costs nothing */
    const struct user_usage *usage = user_usage(user);
    list->rows[list->count++] = (struct prometheus_user){
        .name = user_name(user),
        .bytes_up = counter_read(&usage->bytes_up),
        .bytes_down = counter_read(&usage->bytes_down),
        .connections_total = counter_read(&usage->connections_total),
        .connections_live = counter_read(&usage->connections_live),
    };
}

static void collect_user(struct user *user, void *context)
{
    add_row(context, user);
}

bool metrics_scrape_write(struct admin_server *server, size_t max_users,
                          struct prometheus_buffer *out)
{
    struct proxy_shared *shared = admin_server_proxy(server);
    struct metrics sum;
    admin_read_metrics(server, &sum); /* settles the workers: the users' counters too */
    struct latency_histogram handshake = { 0 }, connect = { 0 };
    for (size_t i = 0; i < shared->worker_count; i++) {
        latency_histogram_add_up(&handshake, &shared->workers[i]->handshake_latency);
        latency_histogram_add_up(&connect, &shared->workers[i]->connect_latency);
    }

    users_lock(shared->users);
    size_t capacity = users_count(shared->users) + 1; /* and the anonymous user */
    struct user_rows users = { calloc(capacity, sizeof(*users.rows)), 0, capacity };
    if (users.rows != NULL) {
        users_for_each(shared->users, collect_user, &users);
        struct user *anonymous = users_anonymous(shared->users);
        if (counter_read(&user_usage(anonymous)->connections_total) > 0)
            add_row(&users, anonymous); /* no-auth connections, when there were any */
    }
    users_unlock(shared->users);
    if (users.rows == NULL)
        return false;

    struct prometheus_snapshot snapshot = {
        .metrics = &sum,
        .users = users_count(shared->users),
        .admin_sessions = admin_server_session_count(server),
        .started_ms = admin_server_hooks(server)->started_ms,
        .handshake = &handshake,
        .connect = &connect,
        .user_rows = users.rows,
        .user_count = users.count,
        .max_users = max_users,
    };
    bool written = prometheus_text_write(&snapshot, out);
    free(users.rows);
    return written;
}
