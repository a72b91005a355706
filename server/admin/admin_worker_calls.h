/* admin_worker_calls: what the admin asks of every worker in turn, on the worker's own thread —
 * close connections by id or by user, and wait until each has finished its current event. */
#ifndef ADMIN_WORKER_CALLS_H
#define ADMIN_WORKER_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct admin_server;
struct metrics;
struct user;

/* Whether a live connection had that id (it is closed now). */
bool admin_close_connection_everywhere(struct admin_server *server, uint64_t id);
/* How many live connections of user were closed. */
size_t admin_close_user_everywhere(struct admin_server *server, const struct user *user);
/* Returns once every worker has finished the event it was handling. A worker counts the bytes
 * it relays just after the send that passes them on, so a client may already hold bytes its
 * worker has not counted yet: read after this, the counters include whatever a client saw. */
void admin_settle_workers(struct admin_server *server);
/* The server's figures, settled first: every worker's counters and the admin port's, summed
 * into *sum (zeroed first), and the accounting's. The metrics command and the Prometheus
 * scrape both read this. */
void admin_read_metrics(struct admin_server *server, struct metrics *sum);

#endif
