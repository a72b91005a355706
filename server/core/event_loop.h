/* event_loop: a small epoll reactor with one-shot timers and calls from other threads, in the
 * spirit of redis' ae.c. It knows descriptors, interest masks, deadlines — nothing of SOCKS. */
#ifndef EVENT_LOOP_H
#define EVENT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    EVENT_READ = 1u << 0,
    EVENT_WRITE = 1u << 1,
    EVENT_ERROR = 1u << 2, /* reported, never requested: error or hang-up on the fd */
};

struct event_loop;
struct event_watcher;
struct event_timer;

typedef void (*event_handler)(struct event_loop *loop, struct event_watcher *watcher,
                              unsigned events);
typedef void (*timer_handler)(struct event_loop *loop, struct event_timer *timer);

/* Owned by the caller (usually embedded in its connection object); the loop only points at it.
 * A watcher must stay valid until the end of the current loop iteration after it is removed,
 * because the kernel may already have queued an event for it: free with event_loop_defer_free. */
struct event_watcher {
    int fd;
    unsigned mask;
    bool registered;
    event_handler handler;
    void *data;
};

struct event_timer {
    uint64_t deadline_ms;
    size_t heap_index; /* position in the loop's heap; SIZE_MAX when not armed */
    timer_handler handler;
    void *data;
};

struct event_loop *event_loop_create(void);
void event_loop_destroy(struct event_loop *loop);

/* Runs until event_loop_stop is called. Returns 0, or -1 if epoll_wait failed for good. */
int event_loop_run(struct event_loop *loop);
/* After handling events, poll without sleeping for up to this long before blocking again
 * (0, the default, never spins): trades CPU time for latency. Before the loop runs. */
void event_loop_set_busy_poll(struct event_loop *loop, unsigned microseconds);
/* From a handler on the loop's thread: after this round of events, poll for up to this long
 * before sleeping (as busy polling does, for this round only). For traffic whose answer
 * usually comes back within that window, such as a datagram relayed to a nearby peer. */
void event_loop_poll_briefly(struct event_loop *loop, unsigned microseconds);
/* Only from the loop's own thread (or before it runs); other threads use event_loop_call. */
void event_loop_stop(struct event_loop *loop);
/* Runs the loop on a new thread; event_loop_join_thread stops it and waits for the thread.
 * on_failure (may be NULL) is called on that thread if the loop fails for good. */
bool event_loop_start_thread(struct event_loop *loop, void (*on_failure)(void *context),
                             void *context);
void event_loop_join_thread(struct event_loop *loop);

/* Runs call(argument) on the loop's thread and returns once it has run — at once, on the
 * caller's thread, when the caller is that thread or the loop is not running (not started
 * yet, or stopped: a call queued while it stops still runs on its thread first). For control
 * work across threads (an admin closing a tunnel another worker owns); any number of threads
 * may call into any number of loops at once, and each call runs exactly once.
 *
 * The rule that keeps it free of deadlock: while a loop's thread waits here, it runs the calls
 * other threads make to its own loop (nothing else: no descriptor events, no timers), so loops
 * that call each other, directly or round a circle, all go on. In exchange:
 * - a call may run while a handler of its loop waits in event_loop_call, so a handler must not
 *   expect its loop's state to be as it left it across such a wait;
 * - a caller must not hold a lock that a call on the target loop may take;
 * - a thread that runs no loop is never called into, so it simply waits;
 * - event_loop_join_thread waits for the thread without running calls: join from a thread
 *   whose loop the joined one never calls, or no longer runs (calls to it then run inline). */
void event_loop_call(struct event_loop *loop, void (*call)(void *argument), void *argument);

/* Monotonic milliseconds, cached once per iteration: cheap enough for the per-byte path. */
uint64_t event_loop_now_ms(const struct event_loop *loop);

void event_watcher_init(struct event_watcher *watcher, int fd, event_handler handler, void *data);
/* Sets the interest mask (EVENT_READ | EVENT_WRITE, or 0 for nothing now): a syscall only
 * when it changes. An fd whose mask is 0 and that reports an error is parked outside epoll
 * until a non-zero mask is set again, so a hang-up nobody can act on yet does not spin. */
int event_loop_watch(struct event_loop *loop, struct event_watcher *watcher, unsigned mask);
/* Stops watching; the fd stays open (the caller closes it). */
void event_loop_unwatch(struct event_loop *loop, struct event_watcher *watcher);
/* Stops watching and closes the fd. close() takes an fd out of every epoll set once no other
 * descriptor refers to its file, which a fork elsewhere in the process breaks (the child holds
 * copies of every socket until its exec): once event_loop_expect_forks was called, the fd
 * leaves epoll first. */
void event_loop_close(struct event_loop *loop, struct event_watcher *watcher);
/* Before the process may fork while loops run (PAM modules run helpers; an upgrade spawns the
 * successor): called before the loops start, or followed by an event_loop_call to each loop
 * before the fork, so that no loop closes a socket without seeing it. */
void event_loop_expect_forks(void);

void event_timer_init(struct event_timer *timer, timer_handler handler, void *data);
/* (Re)arms the timer to fire once, after_ms from now. */
void event_loop_timer_start(struct event_loop *loop, struct event_timer *timer, uint64_t after_ms);
void event_loop_timer_stop(struct event_loop *loop, struct event_timer *timer);
bool event_timer_armed(const struct event_timer *timer);

/* Calls free_fn(pointer) at the end of the current iteration, after every queued event of it
 * was dispatched: the safe way to free an object that embeds a watcher. */
void event_loop_defer_free(struct event_loop *loop, void (*free_fn)(void *), void *pointer);

#endif
