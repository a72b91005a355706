/* dashboard_poller: one thread per server of the dashboard — fetches at the refresh interval into
 * its own model under the server's fleet lock, retries a lost server with back-off, and publishes
 * snapshots the screen's thread takes; the screen's thread never waits on a server. */
#include "dashboard_poller.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin_client.h"
#include "dashboard_fetch.h"
#include "fleet.h"

#define CLOSES_MAX 16 /* closings asked before the thread took them; more wait for the next turn */

/* What the screen asked, taken by the thread in one go. */
struct poller_work {
    bool refresh;
    bool retry;
    uint64_t closes[CLOSES_MAX];
    size_t close_count;
    bool history;
    char history_user[DASHBOARD_USER_NAME_SIZE];
    size_t history_rows;
    struct poller_tree *trees; /* owned copy */
    size_t tree_count;
    size_t tree_rows;
    bool trees_known;
};

struct dashboard_poller {
    struct fleet *fleet; /* NULL: client is used alone */
    size_t index;
    struct admin_client *client;
    int notify_fd;
    bool utf8;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    /* Set once to stop; also the session's interrupt flag while the thread calls. */
    volatile sig_atomic_t stop;

    /* Under mutex: what the screen asks. */
    double interval;
    double next_due; /* monotonic seconds: the next fetch (or retry) */
    bool refresh_asked;
    bool retry_asked;
    uint64_t closes[CLOSES_MAX];
    size_t close_count;
    bool history_asked;
    char history_user[DASHBOARD_USER_NAME_SIZE];
    size_t history_rows;
    struct poller_tree *trees;
    size_t tree_count;
    size_t tree_rows;
    bool trees_known; /* the screen said which trees it wants (until then: the model's own) */
    bool up;          /* the last fetch was answered */

    /* Under mutex: the publication. */
    struct poller_snapshot published;
    bool published_model; /* published.model holds a model not taken yet */
    bool fresh;           /* published not taken yet */

    /* The thread's own. */
    struct dashboard_model model;
    struct dashboard_session session;
    struct dashboard_message message;
    uint64_t message_serial;
    struct poller_status status;
    double retry_delay;
};

/* Any call on the session holds its fleet lock: commands typed at `:` share it. */
static void lock_session(struct dashboard_poller *poller)
{
    if (poller->fleet != NULL)
        fleet_lock(poller->fleet, poller->index);
}

static void unlock_session(struct dashboard_poller *poller)
{
    if (poller->fleet != NULL)
        fleet_unlock(poller->fleet, poller->index);
}

static double monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static struct timespec timespec_at(double seconds)
{
    struct timespec at;
    at.tv_sec = (time_t)seconds;
    at.tv_nsec = (long)((seconds - (double)at.tv_sec) * 1e9);
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    return at;
}

/* ---- The thread's work (the server's fleet lock held) ---- */

static const struct poller_tree *find_tree(const struct poller_work *work, const char *name)
{
    for (size_t i = 0; i < work->tree_count; i++)
        if (strcmp(work->trees[i].name, name) == 0)
            return &work->trees[i];
    return NULL;
}

/* Expands the users whose trees the screen wants, collapses the others, fetches the visible
 * trees. Until the screen says, no tree is fetched (it says how many rows fit). */
static void fetch_trees(struct dashboard_poller *poller, const struct poller_work *work)
{
    struct dashboard_model *model = &poller->model;
    for (size_t i = 0; i < model->user_count && poller->session.connected; i++) {
        struct dashboard_user *user = &model->users[i];
        bool visible = user->expanded;
        if (work->trees_known) {
            const struct poller_tree *tree = find_tree(work, user->usage.name);
            if (tree == NULL) {
                if (user->expanded)
                    dashboard_user_clear_connections(user);
                user->expanded = false;
                continue;
            }
            user->expanded = true;
            visible = tree->visible;
        }
        if (visible && work->tree_rows > 0 &&
            session_fetch_tree(&poller->session, user, work->tree_rows) == CALL_LOST)
            return;
    }
}

static void run_requests(struct dashboard_poller *poller, const struct poller_work *work)
{
    for (size_t i = 0; i < work->close_count; i++)
        session_close_connection(&poller->session, work->closes[i]);
    if (work->history) {
        struct dashboard_user *user = dashboard_model_find(&poller->model, work->history_user);
        if (user != NULL && user->expanded)
            session_fetch_history(&poller->session, user, work->history_rows);
    }
}

/* A fetch of everything the screen shows; the status says how it went. */
static void run_fetch(struct dashboard_poller *poller, const struct poller_work *work)
{
    double start = monotonic_seconds();
    if (session_fetch_users(&poller->session, start) != CALL_LOST)
        fetch_trees(poller, work);
    double end = monotonic_seconds();
    struct poller_status *status = &poller->status;
    struct dashboard_session *session = &poller->session;
    status->connected = session->connected;
    status->login_refused = session->login_refused;
    status->admin_view = session->admin_view;
    snprintf(status->error, sizeof(status->error), "%s", session->connected ? "" : session->error);
    status->cycle_start = start;
    status->fetch_seconds = end - start;
    double next;
    if (session->connected) {
        status->fetched = true;
        poller->retry_delay = 0;
        pthread_mutex_lock(&poller->mutex);
        next = start + poller->interval;
    } else {
        poller->retry_delay = poller->retry_delay <= 0 ? POLLER_RETRY_FIRST
                                                       : fmin(poller->retry_delay * 2, POLLER_RETRY_MAX);
        next = end + poller->retry_delay;
        pthread_mutex_lock(&poller->mutex);
    }
    status->next_retry = next;
    poller->up = session->connected;
    poller->next_due = next > end ? next : end;
    pthread_mutex_unlock(&poller->mutex);
}

static void run_work(struct dashboard_poller *poller, const struct poller_work *work, bool due)
{
    lock_session(poller);
    struct admin_client *client = poller->client;
    const volatile sig_atomic_t *lent = admin_client_interrupt(client);
    admin_client_set_interrupt(client, &poller->stop);
    if (work->retry)
        poller->session.login_refused = false;
    message_clear(&poller->message);
    run_requests(poller, work);
    if (due || work->close_count > 0)
        run_fetch(poller, work);
    admin_client_set_interrupt(client, lent);
    unlock_session(poller);
}

static void publish(struct dashboard_poller *poller)
{
    struct dashboard_model copy;
    bool copied = dashboard_model_copy(&copy, &poller->model);
    pthread_mutex_lock(&poller->mutex);
    if (copied) {
        dashboard_model_free(&poller->published.model);
        poller->published.model = copy;
        poller->published_model = true;
    }
    poller->published.status = poller->status;
    if (poller->message.text[0] != '\0') {
        poller->published.message = poller->message;
        poller->published.message_serial = ++poller->message_serial;
    }
    poller->fresh = true;
    pthread_mutex_unlock(&poller->mutex);
    char byte = 0;
    ssize_t written = write(poller->notify_fd, &byte, 1);
    (void)written; /* a full pipe already says there is news */
}

/* Takes what the screen asked (the mutex held); false when there is nothing to do yet. */
static bool take_work(struct dashboard_poller *poller, struct poller_work *work, bool *due)
{
    double now = monotonic_seconds();
    bool refused = poller->status.login_refused && !poller->retry_asked;
    *due = poller->refresh_asked || poller->retry_asked || (!refused && now >= poller->next_due);
    if (!*due && poller->close_count == 0 && !poller->history_asked)
        return false;
    free(work->trees);
    *work = (struct poller_work){ .refresh = poller->refresh_asked, .retry = poller->retry_asked,
                                  .close_count = poller->close_count,
                                  .history = poller->history_asked,
                                  .history_rows = poller->history_rows,
                                  .tree_rows = poller->tree_rows,
                                  .trees_known = poller->trees_known };
    memcpy(work->closes, poller->closes, sizeof(work->closes));
    memcpy(work->history_user, poller->history_user, sizeof(work->history_user));
    if (poller->tree_count > 0) {
        work->trees = malloc(poller->tree_count * sizeof(*work->trees));
        if (work->trees != NULL) {
            memcpy(work->trees, poller->trees, poller->tree_count * sizeof(*work->trees));
            work->tree_count = poller->tree_count;
        } else {
            work->trees_known = false; /* keep the trees as they are */
        }
    }
    poller->refresh_asked = poller->retry_asked = poller->history_asked = false;
    poller->close_count = 0;
    return true;
}

static void wait_for_work(struct dashboard_poller *poller)
{
    bool refused = poller->status.login_refused && !poller->retry_asked;
    if (refused) {
        pthread_cond_wait(&poller->wake, &poller->mutex);
        return;
    }
    struct timespec until = timespec_at(poller->next_due);
    pthread_cond_timedwait(&poller->wake, &poller->mutex, &until);
}

static void *poller_main(void *argument)
{
    struct dashboard_poller *poller = argument;
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, POLLER_WAKE_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
    lock_session(poller);
    session_init(&poller->session, poller->client, &poller->model, &poller->message,
                 poller->utf8);
    unlock_session(poller);
    struct poller_work work = { 0 };
    pthread_mutex_lock(&poller->mutex);
    while (!poller->stop) {
        bool due;
        if (!take_work(poller, &work, &due)) {
            wait_for_work(poller);
            continue;
        }
        pthread_mutex_unlock(&poller->mutex);
        run_work(poller, &work, due);
        publish(poller);
        pthread_mutex_lock(&poller->mutex);
    }
    pthread_mutex_unlock(&poller->mutex);
    free(work.trees);
    return NULL;
}

/* ---- The screen's side ---- */

struct dashboard_poller *poller_start(struct fleet *fleet, size_t index,
                                      struct admin_client *client, double interval,
                                      int notify_fd, bool utf8)
{
    struct dashboard_poller *poller = calloc(1, sizeof(*poller));
    if (poller == NULL)
        return NULL;
    poller->fleet = fleet;
    poller->index = index;
    poller->client = client;
    poller->notify_fd = notify_fd;
    poller->utf8 = utf8;
    poller->interval = interval;
    dashboard_model_init(&poller->model);
    dashboard_model_init(&poller->published.model);
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&poller->wake, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&poller->mutex, NULL);
    /* Signals go to the screen's thread, whose poll() they must wake: the thread blocks them
     * all but its own wake-up. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int started = pthread_create(&poller->thread, NULL, poller_main, poller);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (started != 0) {
        pthread_cond_destroy(&poller->wake);
        pthread_mutex_destroy(&poller->mutex);
        free(poller);
        return NULL;
    }
    return poller;
}

void poller_stop(struct dashboard_poller *poller)
{
    if (poller == NULL)
        return;
    pthread_mutex_lock(&poller->mutex);
    poller->stop = 1;
    pthread_cond_signal(&poller->wake);
    pthread_mutex_unlock(&poller->mutex);
    /* A call waiting on its server sees stop once a signal ends its wait; a signal that comes
     * just before the wait begins is missed, hence again until the thread is gone. */
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_timedjoin_np(poller->thread, NULL, &until) != ETIMEDOUT)
            break;
        pthread_kill(poller->thread, POLLER_WAKE_SIGNAL);
    }
    dashboard_model_free(&poller->model);
    dashboard_model_free(&poller->published.model);
    free(poller->trees);
    pthread_cond_destroy(&poller->wake);
    pthread_mutex_destroy(&poller->mutex);
    free(poller);
}

void poller_set_interval(struct dashboard_poller *poller, double interval)
{
    pthread_mutex_lock(&poller->mutex);
    poller->interval = interval;
    if (poller->up)
        poller->next_due = monotonic_seconds() + interval;
    pthread_cond_signal(&poller->wake);
    pthread_mutex_unlock(&poller->mutex);
}

void poller_refresh_now(struct dashboard_poller *poller, bool retry)
{
    pthread_mutex_lock(&poller->mutex);
    poller->refresh_asked = true;
    poller->retry_asked |= retry;
    pthread_cond_signal(&poller->wake);
    pthread_mutex_unlock(&poller->mutex);
}

void poller_set_trees(struct dashboard_poller *poller, const struct poller_tree *trees,
                      size_t count, size_t rows)
{
    struct poller_tree *copy = NULL;
    if (count > 0) {
        copy = malloc(count * sizeof(*copy));
        if (copy == NULL)
            return; /* the trees stay as they were */
        memcpy(copy, trees, count * sizeof(*copy));
    }
    pthread_mutex_lock(&poller->mutex);
    free(poller->trees);
    poller->trees = copy;
    poller->tree_count = count;
    poller->tree_rows = rows;
    poller->trees_known = true;
    pthread_mutex_unlock(&poller->mutex);
}

void poller_ask_history(struct dashboard_poller *poller, const char *user, size_t rows)
{
    pthread_mutex_lock(&poller->mutex);
    snprintf(poller->history_user, sizeof(poller->history_user), "%s", user);
    poller->history_rows = rows;
    poller->history_asked = true;
    pthread_cond_signal(&poller->wake);
    pthread_mutex_unlock(&poller->mutex);
}

void poller_close_connection(struct dashboard_poller *poller, uint64_t id)
{
    pthread_mutex_lock(&poller->mutex);
    if (poller->close_count < CLOSES_MAX)
        poller->closes[poller->close_count++] = id;
    pthread_cond_signal(&poller->wake);
    pthread_mutex_unlock(&poller->mutex);
}

bool poller_take(struct dashboard_poller *poller, struct poller_snapshot *out)
{
    pthread_mutex_lock(&poller->mutex);
    bool fresh = poller->fresh;
    if (fresh) {
        if (poller->published_model) {
            dashboard_model_free(&out->model);
            out->model = poller->published.model;
            dashboard_model_init(&poller->published.model);
            poller->published_model = false;
        }
        out->status = poller->published.status;
        out->message = poller->published.message;
        out->message_serial = poller->published.message_serial;
        poller->fresh = false;
    }
    pthread_mutex_unlock(&poller->mutex);
    return fresh;
}
