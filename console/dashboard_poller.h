/* dashboard_poller: one thread per server of the dashboard — fetches at the refresh interval into
 * its own model under the server's fleet lock, retries a lost server with back-off, and publishes
 * snapshots the screen's thread takes; the screen's thread never waits on a server. */
#ifndef DASHBOARD_POLLER_H
#define DASHBOARD_POLLER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dashboard_message.h"
#include "dashboard_model.h"

struct admin_client;
struct fleet;

/* Sent to a poller's thread to cut short a call waiting on its server when the dashboard
 * stops: the dashboard catches it (with a handler that does nothing) while pollers run. */
#define POLLER_WAKE_SIGNAL SIGUSR2

#define POLLER_RETRY_FIRST 1.0 /* seconds before the first retry of a lost server */
#define POLLER_RETRY_MAX 30.0  /* the back-off doubles up to this */

/* How one server's session stands, as of its last publication. */
struct poller_status {
    bool fetched;       /* a complete fetch happened since the dashboard started */
    bool connected;     /* the last call was answered */
    bool login_refused; /* not retried until asked (r): a wrong password stays wrong */
    bool admin_view;    /* metrics answered: the whole server; else the user's own part */
    char error[256];    /* why the server is down */
    double next_retry;  /* monotonic seconds: when a down server is tried again */
    double cycle_start; /* monotonic seconds: when the published fetch began */
    double fetch_seconds; /* how long that fetch took (all its calls) */
};

/* What the screen's thread takes: the server's model (owned by the taker) and status, and the
 * newest message its calls had to tell (message_serial changes with each). */
struct poller_snapshot {
    struct dashboard_model model;
    struct poller_status status;
    struct dashboard_message message;
    uint64_t message_serial;
};

/* An expanded user's tree the screen shows; visible: it has a line on screen (fetched). */
struct poller_tree {
    char name[DASHBOARD_USER_NAME_SIZE];
    bool visible;
};

struct dashboard_poller;

/* Starts fetching server index of fleet (NULL: through client alone, locking nothing) every
 * interval seconds, the first time at once. After each publication it writes a byte to
 * notify_fd (non-blocking; a full pipe is fine). NULL when the thread cannot start. */
struct dashboard_poller *poller_start(struct fleet *fleet, size_t index,
                                      struct admin_client *client, double interval,
                                      int notify_fd, bool utf8);
/* Interrupts a call in progress (POLLER_WAKE_SIGNAL must be caught), joins the thread and
 * frees everything. */
void poller_stop(struct dashboard_poller *poller);

void poller_set_interval(struct dashboard_poller *poller, double interval);
/* Fetches now; retry also tries again a server whose login was refused. */
void poller_refresh_now(struct dashboard_poller *poller, bool retry);
/* The trees the screen wants: users not listed lose theirs; visible ones are fetched each time,
 * at most rows connections of each kind. */
void poller_set_trees(struct dashboard_poller *poller, const struct poller_tree *trees,
                      size_t count, size_t rows);
/* One more page of a user's older connections (the user's tree must be wanted). */
void poller_ask_history(struct dashboard_poller *poller, const char *user, size_t rows);
/* Closes connection id on this server, then fetches again. */
void poller_close_connection(struct dashboard_poller *poller, uint64_t id);

/* Moves the newest publication into out (out's old model is freed) when there is one not
 * taken yet; false otherwise. */
bool poller_take(struct dashboard_poller *poller, struct poller_snapshot *out);

#endif
