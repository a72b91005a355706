/* listener: accepts on one listening socket until EAGAIN and hands each new connection over;
 * pauses (no busy loop, established connections untouched) when out of descriptors or slots. */
#include "listener.h"

#include "counter.h"
#include "event_loop.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long to stop accepting after EMFILE/ENFILE: long enough not to spin, short enough
 * that a queued client barely notices once descriptors free up. */
#define FD_EXHAUSTED_RETRY_MS 100
/* At the connection limit a slot usually frees on this listener's own loop, which resumes it
 * at once; but the limit is shared by every worker, so a slot freed on another is noticed by
 * looking again after this long. */
#define CAPACITY_RECHECK_MS 50

struct listener {
    struct event_loop *loop;
    struct event_watcher watcher;
    struct event_timer retry_timer;
    listener_accept_handler on_accept;
    listener_capacity_handler has_capacity;
    void *context;
    bool paused;
    bool out_of_descriptors; /* paused with the retry timer as a back-off, not a recheck */
    uint64_t *pause_counter;
    uint64_t *paused_gauge;
};

static void listener_set_paused(struct listener *listener, bool paused)
{
    if (listener->paused == paused)
        return;
    listener->paused = paused;
    if (listener->paused_gauge == NULL)
        return;
    if (paused)
        counter_add(listener->paused_gauge, 1);
    else
        counter_subtract(listener->paused_gauge, 1);
}

static void listener_pause(struct listener *listener)
{
    if (!listener->paused && listener->pause_counter != NULL)
        counter_add(listener->pause_counter, 1);
    listener_set_paused(listener, true);
    event_loop_watch(listener->loop, &listener->watcher, 0);
}

static void listener_on_readable(struct event_loop *loop, struct event_watcher *watcher,
                                 unsigned events)
{
    (void)loop;
    (void)events;
    struct listener *listener = watcher->data;
    for (;;) {
        if (!listener->has_capacity(listener->context)) {
            listener_pause(listener);
            event_loop_timer_start(listener->loop, &listener->retry_timer, CAPACITY_RECHECK_MS);
            return;
        }
        struct sockaddr_storage peer;
        socklen_t peer_length = sizeof(peer);
        int fd = accept4(watcher->fd, (struct sockaddr *)&peer, &peer_length,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            listener->on_accept(listener->context, fd, &peer);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            log_message(LOG_WARN, "accept paused for %d ms: %s", FD_EXHAUSTED_RETRY_MS,
                        strerror(errno));
            listener_pause(listener);
            listener->out_of_descriptors = true;
            event_loop_timer_start(listener->loop, &listener->retry_timer, FD_EXHAUSTED_RETRY_MS);
            return;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            log_message(LOG_WARN, "accept: %s", strerror(errno));
        return;
    }
}

static void listener_on_retry(struct event_loop *loop, struct event_timer *timer)
{
    struct listener *listener = timer->data;
    if (!listener->out_of_descriptors && !listener->has_capacity(listener->context)) {
        /* Still full: stay paused (one pause, counted once) and look again later. */
        event_loop_timer_start(loop, timer, CAPACITY_RECHECK_MS);
        return;
    }
    listener->out_of_descriptors = false;
    listener_resume(listener);
}

struct listener *listener_create(struct event_loop *loop, int listening_fd,
                                 listener_accept_handler on_accept,
                                 listener_capacity_handler has_capacity, void *context,
                                 uint64_t *pause_counter)
{
    struct listener *listener = calloc(1, sizeof(*listener));
    if (listener == NULL)
        return NULL;
    listener->loop = loop;
    listener->on_accept = on_accept;
    listener->has_capacity = has_capacity;
    listener->context = context;
    listener->pause_counter = pause_counter;
    event_watcher_init(&listener->watcher, listening_fd, listener_on_readable, listener);
    event_timer_init(&listener->retry_timer, listener_on_retry, listener);
    if (event_loop_watch(loop, &listener->watcher, EVENT_READ) < 0) {
        free(listener);
        return NULL;
    }
    return listener;
}

void listener_count_paused(struct listener *listener, uint64_t *paused_gauge)
{
    if (listener->paused && paused_gauge != NULL)
        counter_add(paused_gauge, 1);
    listener->paused_gauge = paused_gauge;
}

void listener_destroy(struct listener *listener)
{
    if (listener == NULL)
        return;
    listener_set_paused(listener, false); /* the gauge drops what it counted */
    event_loop_timer_stop(listener->loop, &listener->retry_timer);
    event_loop_unwatch(listener->loop, &listener->watcher);
    close(listener->watcher.fd);
    free(listener);
}

int listener_fd(const struct listener *listener) { return listener->watcher.fd; }

void listener_resume(struct listener *listener)
{
    if (!listener->paused || listener->out_of_descriptors)
        return;
    event_loop_timer_stop(listener->loop, &listener->retry_timer);
    listener_set_paused(listener, false);
    event_loop_watch(listener->loop, &listener->watcher, EVENT_READ);
}
