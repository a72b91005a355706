/* pipe_pool: kernel pipes for splice(2) relaying, lent to a tunnel direction only while bytes
 * sit in them, so thousands of idle tunnels hold no pipe descriptors. */
#include "pipe_pool.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

struct pipe_pool {
    size_t max_cached;
    size_t cached;
    size_t pipe_size;
    int (*fds)[2];
};

struct pipe_pool *pipe_pool_create(size_t max_cached, size_t pipe_size)
{
    struct pipe_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    pool->fds = calloc(max_cached ? max_cached : 1, sizeof(*pool->fds));
    if (pool->fds == NULL) {
        free(pool);
        return NULL;
    }
    pool->max_cached = max_cached;
    pool->pipe_size = pipe_size;
    return pool;
}

void pipe_pool_destroy(struct pipe_pool *pool)
{
    if (pool == NULL)
        return;
    for (size_t i = 0; i < pool->cached; i++) {
        close(pool->fds[i][0]);
        close(pool->fds[i][1]);
    }
    free(pool->fds);
    free(pool);
}

size_t pipe_pool_size(const struct pipe_pool *pool) { return pool->pipe_size; }

bool pipe_pool_get(struct pipe_pool *pool, int fds[2])
{
    if (pool->cached > 0) {
        pool->cached--;
        fds[0] = pool->fds[pool->cached][0];
        fds[1] = pool->fds[pool->cached][1];
        return true;
    }
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
        return false;
    /* A larger pipe moves more per splice; if the system refuses, the default 64 KiB works. */
    fcntl(fds[1], F_SETPIPE_SZ, (int)pool->pipe_size);
    return true;
}

void pipe_pool_put(struct pipe_pool *pool, const int fds[2])
{
    if (pool->cached == pool->max_cached) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    pool->fds[pool->cached][0] = fds[0];
    pool->fds[pool->cached][1] = fds[1];
    pool->cached++;
}
