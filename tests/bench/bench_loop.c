/* bench_loop: the generator's one epoll loop — edge-triggered watches with a callback each,
 * work deferred to the end of a batch so callbacks may close and recycle objects, and the clock. */
#include "bench_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Big batches amortise epoll_wait when thousands of tunnels are busy at once. */
#define LOOP_BATCH 1024

struct bench_loop {
    int epoll_fd;
    struct bench_watch *deferred_head;
    struct epoll_event events[LOOP_BATCH];
};

uint64_t bench_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

struct bench_loop *loop_new(void)
{
    struct bench_loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return NULL;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_fd < 0) {
        free(loop);
        return NULL;
    }
    return loop;
}

static void loop_run_deferred(struct bench_loop *loop);

void loop_free(struct bench_loop *loop)
{
    if (loop == NULL)
        return;
    loop_run_deferred(loop); /* frees what was closed since the last batch */
    close(loop->epoll_fd);
    free(loop);
}

int loop_add(struct bench_loop *loop, struct bench_watch *watch)
{
    struct epoll_event event = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.ptr = watch,
    };
    watch->closed = false;
    return epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, watch->fd, &event);
}

void loop_close(struct bench_watch *watch)
{
    if (watch->fd >= 0)
        close(watch->fd);
    watch->fd = -1;
    watch->closed = true;
}

void loop_defer(struct bench_loop *loop, struct bench_watch *watch)
{
    if (watch->deferred)
        return;
    watch->deferred = true;
    watch->next_deferred = loop->deferred_head;
    loop->deferred_head = watch;
}

static void loop_run_deferred(struct bench_loop *loop)
{
    /* Deferred work may queue more (a recycled client failing at once): drain until empty. */
    while (loop->deferred_head != NULL) {
        struct bench_watch *watch = loop->deferred_head;
        loop->deferred_head = watch->next_deferred;
        watch->deferred = false;
        watch->next_deferred = NULL;
        if (watch->on_deferred != NULL)
            watch->on_deferred(watch);
    }
}

int loop_run_once(struct bench_loop *loop, int timeout_ms)
{
    int count = epoll_wait(loop->epoll_fd, loop->events, LOOP_BATCH, timeout_ms);
    if (count < 0) {
        if (errno != EINTR)
            return -1;
        count = 0;
    }
    for (int i = 0; i < count; i++) {
        struct bench_watch *watch = loop->events[i].data.ptr;
        if (!watch->closed)
            watch->on_event(watch, loop->events[i].events);
    }
    loop_run_deferred(loop);
    return count;
}

void loop_run_until(struct bench_loop *loop, const bool *done, uint64_t deadline_ns)
{
    while (!*done) {
        uint64_t now = bench_now_ns();
        if (now >= deadline_ns)
            return;
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        if (loop_run_once(loop, left_ms > 100 ? 100 : (int)left_ms) < 0)
            return;
    }
}
