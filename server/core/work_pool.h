/* work_pool: a few threads that run blocking calls (getaddrinfo, crypt) off the event loop
 * and hand each result back to the loop thread through an eventfd. */
#ifndef WORK_POOL_H
#define WORK_POOL_H

#include <stdbool.h>

struct event_loop;
struct work_pool;

/* Embedded in the caller's job object. run() executes on a pool thread and must touch only
 * the job; done() executes later on the loop thread, and owns the job from then on. */
struct work_item {
    void (*run)(struct work_item *item);
    void (*done)(struct work_item *item);
    struct work_item *next;
};

struct work_pool *work_pool_create(struct event_loop *loop, unsigned threads);
/* Joins the threads; jobs not yet delivered get their done() called (so they are freed). */
void work_pool_destroy(struct work_pool *pool);
/* Queues item to run(item) on a pool thread, then done(item) on the loop thread. false when
 * the pool is stopping: item was not queued and neither will be called. */
bool work_pool_submit(struct work_pool *pool, struct work_item *item,
                      void (*run)(struct work_item *item), void (*done)(struct work_item *item));

#endif
