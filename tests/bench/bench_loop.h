/* bench_loop: the generator's one epoll loop — edge-triggered watches with a callback each,
 * work deferred to the end of a batch so callbacks may close and recycle objects, and the clock. */
#ifndef BENCH_LOOP_H
#define BENCH_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct bench_loop;

/* Embedded in every connection object. Once closed, events the kernel already queued in the
 * current batch are dropped; on_deferred (if queued) runs after the batch, where it is safe to
 * free or reuse the object. */
struct bench_watch {
    int fd;
    bool closed;
    bool deferred;
    void (*on_event)(struct bench_watch *watch, uint32_t events);
    void (*on_deferred)(struct bench_watch *watch);
    struct bench_watch *next_deferred;
};

struct bench_loop *loop_new(void);
void loop_free(struct bench_loop *loop);

/* Registers watch->fd for EPOLLIN | EPOLLOUT | EPOLLRDHUP, edge-triggered, once for its life:
 * handlers read or write until the kernel says EAGAIN (or a short read says the queue is dry). */
int loop_add(struct bench_loop *loop, struct bench_watch *watch);
/* Closes the fd and marks the watch closed; does not free anything. */
void loop_close(struct bench_watch *watch);
/* Queues watch->on_deferred for the end of the current batch (once). */
void loop_defer(struct bench_loop *loop, struct bench_watch *watch);

/* Waits at most timeout_ms, dispatches one batch, then runs deferred work.
 * Returns the number of events, or -1 if epoll_wait failed (EINTR counts as 0). */
int loop_run_once(struct bench_loop *loop, int timeout_ms);
/* Runs batches until *done is true or the monotonic clock passes deadline_ns. */
void loop_run_until(struct bench_loop *loop, const bool *done, uint64_t deadline_ns);

uint64_t bench_now_ns(void);

/* Handlers run outside an event (a kick-off, a hand-over) pass this: read until EAGAIN. */
#define LOOP_EVENTS_UNKNOWN (EPOLLIN | EPOLLOUT | EPOLLRDHUP)

/* A short recv() proves the receive queue empty, so the next arrival raises a new edge and the
 * EAGAIN-probing recv can be skipped — unless the same event already reported the peer's close:
 * a FIN queued behind the data raises no further edge and must be read now. */
static inline bool loop_short_read_is_dry(uint32_t events)
{
    return (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0;
}

#endif
