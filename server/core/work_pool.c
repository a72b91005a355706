/* work_pool: a few threads that run blocking calls (getaddrinfo, crypt) off the event loop
 * and hand each result back to the loop thread through an eventfd. */
#include "work_pool.h"

#include "event_loop.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct work_queue {
    struct work_item *head;
    struct work_item *tail;
};

struct work_pool {
    struct event_loop *loop;
    struct event_watcher watcher; /* the eventfd: "some jobs are done" */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct work_queue pending;
    struct work_queue finished;
    bool stopping;
    unsigned thread_count;
    pthread_t *threads;
};

static void queue_push(struct work_queue *queue, struct work_item *item)
{
    item->next = NULL;
    if (queue->tail != NULL)
        queue->tail->next = item;
    else
        queue->head = item;
    queue->tail = item;
}

static struct work_item *queue_pop(struct work_queue *queue)
{
    struct work_item *item = queue->head;
    if (item != NULL) {
        queue->head = item->next;
        if (queue->head == NULL)
            queue->tail = NULL;
    }
    return item;
}

static void *work_pool_thread(void *argument)
{
    struct work_pool *pool = argument;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stopping && pool->pending.head == NULL)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stopping)
            break;
        struct work_item *item = queue_pop(&pool->pending);
        pthread_mutex_unlock(&pool->lock);
        item->run(item);
        pthread_mutex_lock(&pool->lock);
        bool was_empty = pool->finished.head == NULL;
        queue_push(&pool->finished, item);
        /* One wake-up per batch: the loop drains the whole finished queue each time. */
        if (was_empty) {
            uint64_t one = 1;
            ssize_t written = write(pool->watcher.fd, &one, sizeof(one));
            (void)written; /* the counter cannot overflow: it is reset on every drain */
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static void deliver_finished(struct work_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    struct work_queue finished = pool->finished;
    pool->finished = (struct work_queue){ NULL, NULL };
    pthread_mutex_unlock(&pool->lock);
    struct work_item *item;
    while ((item = queue_pop(&finished)) != NULL)
        item->done(item);
}

static void work_pool_on_eventfd(struct event_loop *loop, struct event_watcher *watcher,
                                 unsigned events)
{
    (void)loop;
    (void)events;
    struct work_pool *pool = watcher->data;
    uint64_t count;
    ssize_t got = read(watcher->fd, &count, sizeof(count));
    (void)got; /* EAGAIN just means another drain got here first */
    deliver_finished(pool);
}

struct work_pool *work_pool_create(struct event_loop *loop, unsigned threads)
{
    struct work_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    pool->loop = loop;
    pool->threads = calloc(threads, sizeof(*pool->threads));
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pool->threads == NULL || fd < 0) {
        if (fd >= 0)
            close(fd);
        free(pool->threads);
        free(pool);
        return NULL;
    }
    event_watcher_init(&pool->watcher, fd, work_pool_on_eventfd, pool);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, work_pool_thread, pool) != 0)
            break;
        pool->thread_count++;
    }
    if (pool->thread_count == 0 || event_loop_watch(loop, &pool->watcher, EVENT_READ) < 0) {
        work_pool_destroy(pool);
        return NULL;
    }
    return pool;
}

void work_pool_destroy(struct work_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->thread_count; i++)
        pthread_join(pool->threads[i], NULL);
    /* Never run: done() alone still frees them; their owners see them as cancelled. */
    struct work_item *item;
    while ((item = queue_pop(&pool->pending)) != NULL)
        queue_push(&pool->finished, item);
    deliver_finished(pool);
    event_loop_unwatch(pool->loop, &pool->watcher);
    close(pool->watcher.fd);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    free(pool->threads);
    free(pool);
}

bool work_pool_submit(struct work_pool *pool, struct work_item *item,
                      void (*run)(struct work_item *item), void (*done)(struct work_item *item))
{
    item->run = run;
    item->done = done;
    pthread_mutex_lock(&pool->lock);
    bool accepted = !pool->stopping;
    if (accepted) {
        queue_push(&pool->pending, item);
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->lock);
    return accepted;
}
