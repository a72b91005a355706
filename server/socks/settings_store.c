/* settings_store: the proxy settings' one owner — every change is made here, one at a time, and
 * published to whoever keeps a copy (each worker, for the sessions it starts from then on). */
#include "settings_store.h"

#include <pthread.h>
#include <stdlib.h>

struct settings_store {
    /* Two locks: a reader never waits for an edit in progress, only for the copy of one. */
    pthread_mutex_t change_lock; /* held from begin to commit */
    pthread_mutex_t current_lock;
    struct proxy_settings current;
    struct proxy_settings next; /* the edit in progress, under change_lock */
    settings_publisher publish;
    void *context;
};

struct settings_store *settings_store_create(const struct proxy_settings *initial,
                                             settings_publisher publish, void *context)
{
    struct settings_store *store = calloc(1, sizeof(*store));
    if (store == NULL)
        return NULL;
    pthread_mutex_init(&store->change_lock, NULL);
    pthread_mutex_init(&store->current_lock, NULL);
    store->current = *initial;
    store->publish = publish;
    store->context = context;
    return store;
}

void settings_store_destroy(struct settings_store *store)
{
    if (store == NULL)
        return;
    pthread_mutex_destroy(&store->change_lock);
    pthread_mutex_destroy(&store->current_lock);
    free(store);
}

void settings_store_read(struct settings_store *store, struct proxy_settings *copy)
{
    pthread_mutex_lock(&store->current_lock);
    *copy = store->current;
    pthread_mutex_unlock(&store->current_lock);
}

struct proxy_settings *settings_store_begin_change(struct settings_store *store)
{
    pthread_mutex_lock(&store->change_lock);
    settings_store_read(store, &store->next);
    return &store->next;
}

void settings_store_commit_change(struct settings_store *store)
{
    pthread_mutex_lock(&store->current_lock);
    store->current = store->next;
    pthread_mutex_unlock(&store->current_lock);
    pthread_mutex_unlock(&store->change_lock);
    /* Outside the locks: publishing waits for every worker, and a worker may read meanwhile.
     * Two changers publishing in either order both leave every copy at the later version,
     * since a copy is always taken from the current one. */
    if (store->publish != NULL)
        store->publish(store->context);
}
