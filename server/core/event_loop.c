/* event_loop: a small epoll reactor with one-shot timers and calls from other threads, in the
 * spirit of redis' ae.c. It knows descriptors, interest masks, deadlines — nothing of SOCKS. */
#include "event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define EVENTS_PER_WAIT 256

struct deferred_free {
    void (*free_fn)(void *);
    void *pointer;
};

/* Where a thread waiting in event_loop_call sleeps until its call is done. A loop's thread uses
 * its loop's (so that calls made to that loop wake it too and run meanwhile); any other thread
 * one of its own on its stack, which nobody calls into. */
struct call_mailbox {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct loop_call *calls; /* queued for the loop, newest first; always NULL on a stack */
    bool owner_sleeping;     /* its thread waits on wake inside event_loop_call */
};

/* A call from another thread, on that thread's stack until done is set. */
struct loop_call {
    void (*call)(void *argument);
    void *argument;
    struct call_mailbox *reply_to; /* the caller's: done is set under its lock */
    bool done;
    struct loop_call *next;
};

struct event_loop {
    int epoll_fd;
    bool stopping;
    /* Cross-thread calls: queued under mailbox.lock, announced on the eventfd. */
    struct call_mailbox mailbox;
    bool running; /* under mailbox.lock: calls are queued for the loop's thread, not run inline */
    bool own_thread; /* started by event_loop_start_thread, to be joined */
    void (*on_thread_failure)(void *context);
    void *on_thread_failure_context;
    pthread_t thread;
    struct event_watcher wake;
    uint64_t now_ms;
    uint64_t busy_poll_ns;    /* 0 = block in epoll_wait as soon as nothing is ready */
    uint64_t spin_until_ns;   /* keep polling without sleeping until then */
    bool handled_events;      /* the last wait returned events (they are handled by now) */
    uint64_t requested_poll_ns; /* a handler's event_loop_poll_briefly, for the next wait */
    struct event_timer **heap; /* binary min-heap on deadline_ms */
    size_t heap_length;
    size_t heap_capacity;
    struct deferred_free *deferred;
    size_t deferred_length;
    size_t deferred_capacity;
};

/* The loop whose event_loop_run is on this thread's stack: a call to it runs at once, and a
 * call from it to another loop keeps running the calls made to it while it waits. */
static _Thread_local struct event_loop *current_loop;

static uint64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void mailbox_init(struct call_mailbox *mailbox)
{
    pthread_mutex_init(&mailbox->lock, NULL);
    pthread_cond_init(&mailbox->wake, NULL);
    mailbox->calls = NULL;
    mailbox->owner_sleeping = false;
}

static void mailbox_destroy(struct call_mailbox *mailbox)
{
    pthread_mutex_destroy(&mailbox->lock);
    pthread_cond_destroy(&mailbox->wake);
}

/* Queued calls run oldest first: the list is built newest first, so it is reversed. */
static struct loop_call *in_call_order(struct loop_call *newest_first)
{
    struct loop_call *ordered = NULL;
    while (newest_first != NULL) {
        struct loop_call *next = newest_first->next;
        newest_first->next = ordered;
        ordered = newest_first;
        newest_first = next;
    }
    return ordered;
}

static void run_calls(struct loop_call *calls)
{
    for (struct loop_call *call = in_call_order(calls); call != NULL;) {
        struct loop_call *next = call->next; /* the caller may return once done is set */
        struct call_mailbox *reply_to = call->reply_to;
        call->call(call->argument);
        pthread_mutex_lock(&reply_to->lock);
        call->done = true;
        pthread_cond_broadcast(&reply_to->wake);
        pthread_mutex_unlock(&reply_to->lock);
        call = next;
    }
}

static void run_queued_calls(struct event_loop *loop)
{
    pthread_mutex_lock(&loop->mailbox.lock);
    struct loop_call *calls = loop->mailbox.calls;
    loop->mailbox.calls = NULL;
    pthread_mutex_unlock(&loop->mailbox.lock);
    run_calls(calls);
}

static void loop_on_wake(struct event_loop *loop, struct event_watcher *watcher, unsigned events)
{
    (void)events;
    uint64_t count;
    while (read(watcher->fd, &count, sizeof(count)) == sizeof(count))
        ;
    run_queued_calls(loop);
}

struct event_loop *event_loop_create(void)
{
    struct event_loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return NULL;
    mailbox_init(&loop->mailbox);
    loop->now_ms = monotonic_ms();
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    event_watcher_init(&loop->wake, wake_fd, loop_on_wake, NULL);
    if (loop->epoll_fd < 0 || wake_fd < 0 || event_loop_watch(loop, &loop->wake, EVENT_READ) < 0) {
        event_loop_destroy(loop);
        return NULL;
    }
    return loop;
}

/* Sleeps in mailbox until call is done. A loop's own mailbox also receives the calls made to
 * that loop: they run here meanwhile, which is what keeps two loops calling each other (or
 * any circle of them) from waiting on each other for ever. */
static void wait_until_done(struct call_mailbox *mailbox, struct loop_call *call)
{
    pthread_mutex_lock(&mailbox->lock);
    for (;;) {
        if (mailbox->calls != NULL) {
            struct loop_call *calls = mailbox->calls;
            mailbox->calls = NULL;
            pthread_mutex_unlock(&mailbox->lock);
            run_calls(calls);
            pthread_mutex_lock(&mailbox->lock);
            continue;
        }
        if (call->done)
            break;
        mailbox->owner_sleeping = true;
        pthread_cond_wait(&mailbox->wake, &mailbox->lock);
        mailbox->owner_sleeping = false;
    }
    pthread_mutex_unlock(&mailbox->lock);
}

void event_loop_call(struct event_loop *loop, void (*call)(void *argument), void *argument)
{
    struct event_loop *caller = current_loop;
    pthread_mutex_lock(&loop->mailbox.lock);
    if (!loop->running || loop == caller) {
        pthread_mutex_unlock(&loop->mailbox.lock);
        call(argument);
        return;
    }
    struct call_mailbox own;
    struct call_mailbox *reply_to = caller != NULL ? &caller->mailbox : &own;
    if (caller == NULL)
        mailbox_init(&own);
    struct loop_call queued = { call, argument, reply_to, false, loop->mailbox.calls };
    bool was_empty = loop->mailbox.calls == NULL;
    loop->mailbox.calls = &queued;
    /* The loop's thread may itself be waiting on a call of its own rather than in epoll. */
    if (loop->mailbox.owner_sleeping)
        pthread_cond_broadcast(&loop->mailbox.wake);
    pthread_mutex_unlock(&loop->mailbox.lock);
    /* One wake-up per batch: whoever takes the queue takes all of it. A batch taken by a
     * waiting thread leaves the count set, which costs one empty wake-up later, never a
     * lost one. */
    if (was_empty) {
        uint64_t one = 1;
        if (write(loop->wake.fd, &one, sizeof(one)) < 0) {
            /* Only EAGAIN is possible (the counter is full): the loop is awake already. */
        }
    }
    wait_until_done(reply_to, &queued);
    if (caller == NULL)
        mailbox_destroy(&own);
}

static void run_deferred_frees(struct event_loop *loop)
{
    /* A free function may defer more frees: index, do not cache the length. */
    for (size_t i = 0; i < loop->deferred_length; i++)
        loop->deferred[i].free_fn(loop->deferred[i].pointer);
    loop->deferred_length = 0;
}

void event_loop_destroy(struct event_loop *loop)
{
    if (loop == NULL)
        return;
    run_deferred_frees(loop);
    if (loop->wake.fd >= 0)
        close(loop->wake.fd);
    if (loop->epoll_fd >= 0)
        close(loop->epoll_fd);
    mailbox_destroy(&loop->mailbox);
    free(loop->heap);
    free(loop->deferred);
    free(loop);
}

void event_loop_stop(struct event_loop *loop) { loop->stopping = true; }
uint64_t event_loop_now_ms(const struct event_loop *loop) { return loop->now_ms; }

/* ---- fd watchers ---- */

void event_watcher_init(struct event_watcher *watcher, int fd, event_handler handler, void *data)
{
    watcher->fd = fd;
    watcher->mask = 0;
    watcher->registered = false;
    watcher->handler = handler;
    watcher->data = data;
}

int event_loop_watch(struct event_loop *loop, struct event_watcher *watcher, unsigned mask)
{
    if (watcher->registered ? watcher->mask == mask : mask == 0)
        return 0;
    struct epoll_event event = { .events = 0, .data.ptr = watcher };
    if (mask & EVENT_READ)
        event.events |= EPOLLIN | EPOLLRDHUP;
    if (mask & EVENT_WRITE)
        event.events |= EPOLLOUT;
    int op = watcher->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(loop->epoll_fd, op, watcher->fd, &event) < 0)
        return -1;
    watcher->registered = true;
    watcher->mask = mask;
    return 0;
}

void event_loop_unwatch(struct event_loop *loop, struct event_watcher *watcher)
{
    if (!watcher->registered)
        return;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, watcher->fd, NULL);
    watcher->registered = false;
    watcher->mask = 0;
}

/* Set (never cleared) before the process may fork while loops run. */
static bool forks_expected;

void event_loop_expect_forks(void)
{
    __atomic_store_n(&forks_expected, true, __ATOMIC_SEQ_CST);
}

void event_loop_close(struct event_loop *loop, struct event_watcher *watcher)
{
    /* close() alone unregisters only when no other descriptor shares the socket: a forked
     * child (a PAM module's helper, a successor being started) holds copies until its exec,
     * and epoll would go on reporting the socket for a watcher that is freed by then. Without
     * forks, close() is enough, and one syscall cheaper per socket. */
    if (watcher->registered && __atomic_load_n(&forks_expected, __ATOMIC_RELAXED))
        epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, watcher->fd, NULL);
    watcher->registered = false;
    watcher->mask = 0;
    close(watcher->fd);
    watcher->fd = -1;
}

/* ---- timers: a binary min-heap, each timer knowing its slot so stop is O(log n) ---- */

void event_timer_init(struct event_timer *timer, timer_handler handler, void *data)
{
    timer->deadline_ms = 0;
    timer->heap_index = SIZE_MAX;
    timer->handler = handler;
    timer->data = data;
}

bool event_timer_armed(const struct event_timer *timer) { return timer->heap_index != SIZE_MAX; }

static void heap_place(struct event_loop *loop, size_t index, struct event_timer *timer)
{
    loop->heap[index] = timer;
    timer->heap_index = index;
}

static void heap_sift_up(struct event_loop *loop, size_t index)
{
    struct event_timer *timer = loop->heap[index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (loop->heap[parent]->deadline_ms <= timer->deadline_ms)
            break;
        heap_place(loop, index, loop->heap[parent]);
        index = parent;
    }
    heap_place(loop, index, timer);
}

static void heap_sift_down(struct event_loop *loop, size_t index)
{
    struct event_timer *timer = loop->heap[index];
    for (;;) {
        size_t child = 2 * index + 1;
        if (child >= loop->heap_length)
            break;
        if (child + 1 < loop->heap_length &&
            loop->heap[child + 1]->deadline_ms < loop->heap[child]->deadline_ms)
            child++;
        if (timer->deadline_ms <= loop->heap[child]->deadline_ms)
            break;
        heap_place(loop, index, loop->heap[child]);
        index = child;
    }
    heap_place(loop, index, timer);
}

void event_loop_timer_stop(struct event_loop *loop, struct event_timer *timer)
{
    size_t index = timer->heap_index;
    if (index == SIZE_MAX)
        return;
    timer->heap_index = SIZE_MAX;
    struct event_timer *last = loop->heap[--loop->heap_length];
    if (last == timer)
        return;
    heap_place(loop, index, last);
    heap_sift_down(loop, index);
    heap_sift_up(loop, last->heap_index);
}

static bool heap_reserve(struct event_loop *loop)
{
    if (loop->heap_length < loop->heap_capacity)
        return true;
    size_t capacity = loop->heap_capacity ? loop->heap_capacity * 2 : 64;
    struct event_timer **heap = realloc(loop->heap, capacity * sizeof(*heap));
    if (heap == NULL)
        return false;
    loop->heap = heap;
    loop->heap_capacity = capacity;
    return true;
}

void event_loop_timer_start(struct event_loop *loop, struct event_timer *timer, uint64_t after_ms)
{
    uint64_t deadline = loop->now_ms + after_ms;
    if (event_timer_armed(timer)) {
        uint64_t previous = timer->deadline_ms;
        timer->deadline_ms = deadline;
        if (deadline < previous)
            heap_sift_up(loop, timer->heap_index);
        else
            heap_sift_down(loop, timer->heap_index);
        return;
    }
    /* Out of memory for the heap: the timer cannot be armed. Callers use timers for
     * timeouts, so the cost is a connection that lives longer, never a crash. */
    if (!heap_reserve(loop))
        return;
    timer->deadline_ms = deadline;
    loop->heap[loop->heap_length] = timer;
    timer->heap_index = loop->heap_length++;
    heap_sift_up(loop, timer->heap_index);
}

static int next_wait_ms(const struct event_loop *loop)
{
    if (loop->heap_length == 0)
        return -1;
    uint64_t deadline = loop->heap[0]->deadline_ms;
    if (deadline <= loop->now_ms)
        return 0;
    uint64_t wait = deadline - loop->now_ms;
    return wait > 60000 ? 60000 : (int)wait;
}

static void run_due_timers(struct event_loop *loop)
{
    while (loop->heap_length > 0 && loop->heap[0]->deadline_ms <= loop->now_ms) {
        struct event_timer *timer = loop->heap[0];
        event_loop_timer_stop(loop, timer);
        timer->handler(loop, timer);
    }
}

/* ---- deferred frees ---- */

void event_loop_defer_free(struct event_loop *loop, void (*free_fn)(void *), void *pointer)
{
    if (loop->deferred_length == loop->deferred_capacity) {
        size_t capacity = loop->deferred_capacity ? loop->deferred_capacity * 2 : 64;
        struct deferred_free *grown = realloc(loop->deferred, capacity * sizeof(*grown));
        if (grown == NULL) {
            /* Freeing now risks a queued event touching freed memory; leaking one object
             * is the lesser harm and only happens when memory is already exhausted. */
            return;
        }
        loop->deferred = grown;
        loop->deferred_capacity = capacity;
    }
    loop->deferred[loop->deferred_length++] = (struct deferred_free){ free_fn, pointer };
}

/* ---- the loop ---- */

static unsigned events_from_epoll(uint32_t epoll_events)
{
    unsigned events = 0;
    if (epoll_events & (EPOLLIN | EPOLLRDHUP))
        events |= EVENT_READ;
    if (epoll_events & EPOLLOUT)
        events |= EVENT_WRITE;
    if (epoll_events & (EPOLLERR | EPOLLHUP))
        events |= EVENT_ERROR;
    return events;
}

static void loop_set_running(struct event_loop *loop)
{
    pthread_mutex_lock(&loop->mailbox.lock);
    loop->running = true;
    if (!loop->own_thread)
        loop->thread = pthread_self(); /* event_loop_start_thread has set it otherwise */
    pthread_mutex_unlock(&loop->mailbox.lock);
}

/* Calls queued while stopping still run, here: their callers are waiting. Only once none is
 * left does the loop stop counting as running, so that no call ever runs inline on its
 * caller's thread while this thread may still be running another. */
static void loop_set_stopped(struct event_loop *loop)
{
    for (;;) {
        pthread_mutex_lock(&loop->mailbox.lock);
        struct loop_call *calls = loop->mailbox.calls;
        loop->mailbox.calls = NULL;
        if (calls == NULL)
            loop->running = false;
        pthread_mutex_unlock(&loop->mailbox.lock);
        if (calls == NULL)
            return;
        run_calls(calls);
    }
}

static void *loop_thread_main(void *argument)
{
    struct event_loop *loop = argument;
    if (event_loop_run(loop) < 0 && loop->on_thread_failure != NULL)
        loop->on_thread_failure(loop->on_thread_failure_context);
    return NULL;
}

bool event_loop_start_thread(struct event_loop *loop, void (*on_failure)(void *context),
                             void *context)
{
    loop->on_thread_failure = on_failure;
    loop->on_thread_failure_context = context;
    /* Running from this moment, not from when the thread gets going: a call made before
     * then is queued for the thread instead of racing it on the caller's. */
    pthread_mutex_lock(&loop->mailbox.lock);
    bool started = pthread_create(&loop->thread, NULL, loop_thread_main, loop) == 0;
    loop->running = started;
    loop->own_thread = started;
    pthread_mutex_unlock(&loop->mailbox.lock);
    return started;
}

static void loop_stop_call(void *loop) { event_loop_stop(loop); }

void event_loop_join_thread(struct event_loop *loop)
{
    if (!loop->own_thread)
        return;
    event_loop_call(loop, loop_stop_call, loop);
    pthread_join(loop->thread, NULL);
    loop->own_thread = false;
}

void event_loop_set_busy_poll(struct event_loop *loop, unsigned microseconds)
{
    loop->busy_poll_ns = (uint64_t)microseconds * 1000u;
}

void event_loop_poll_briefly(struct event_loop *loop, unsigned microseconds)
{
    uint64_t window_ns = (uint64_t)microseconds * 1000u;
    if (window_ns > loop->requested_poll_ns)
        loop->requested_poll_ns = window_ns;
}

/* With busy polling, a loop that just handled events polls without sleeping for a while:
 * the next event of a conversation often comes within tens of microseconds, and sleeping
 * and being woken again costs about that much on its own (more in a virtual machine).
 * Spinning stops as soon as the loop has been idle for the whole window, so an idle server
 * still sleeps. */
static int wait_for_events(struct event_loop *loop, struct epoll_event *events)
{
    int timeout = next_wait_ms(loop);
    uint64_t window_ns = loop->busy_poll_ns > loop->requested_poll_ns ? loop->busy_poll_ns
                                                                      : loop->requested_poll_ns;
    loop->requested_poll_ns = 0;
    if (window_ns > 0 || loop->spin_until_ns > 0) {
        /* The window opens when the handling is done: a batch that took longer than the
         * window must not use it up. */
        uint64_t now = monotonic_ns();
        if (loop->handled_events && window_ns > 0)
            loop->spin_until_ns = now + window_ns;
        if (now < loop->spin_until_ns)
            timeout = 0;
        else
            loop->spin_until_ns = 0;
    }
    int ready = epoll_wait(loop->epoll_fd, events, EVENTS_PER_WAIT, timeout);
    loop->handled_events = ready > 0;
    return ready;
}

int event_loop_run(struct event_loop *loop)
{
    struct epoll_event events[EVENTS_PER_WAIT];
    int status = 0;
    struct event_loop *outer = current_loop;
    current_loop = loop;
    loop_set_running(loop);
    while (!loop->stopping) {
        int ready = wait_for_events(loop, events);
        if (ready < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        loop->now_ms = monotonic_ms();
        for (int i = 0; i < ready; i++) {
            struct event_watcher *watcher = events[i].data.ptr;
            /* Removed earlier in this batch (its owner may be waiting for a deferred free). */
            if (!watcher->registered)
                continue;
            unsigned happened = events_from_epoll(events[i].events);
            watcher->handler(loop, watcher, happened);
            /* Errors and hang-ups are reported whatever the mask: one on an fd whose owner
             * wants nothing from it now would spin the loop, so park it outside epoll until
             * its owner asks for events again. Parking only then keeps the usual
             * "nothing wanted for a moment" a cheap MOD instead of a DEL and an ADD. */
            if ((happened & EVENT_ERROR) && watcher->registered && watcher->mask == 0)
                event_loop_unwatch(loop, watcher);
        }
        run_due_timers(loop);
        run_deferred_frees(loop);
    }
    loop_set_stopped(loop);
    current_loop = outer;
    return status;
}
