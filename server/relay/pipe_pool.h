/* pipe_pool: kernel pipes for splice(2) relaying, lent to a tunnel direction only while bytes
 * sit in them, so thousands of idle tunnels hold no pipe descriptors. */
#ifndef PIPE_POOL_H
#define PIPE_POOL_H

#include <stdbool.h>
#include <stddef.h>

struct pipe_pool;

struct pipe_pool *pipe_pool_create(size_t max_cached, size_t pipe_size);
void pipe_pool_destroy(struct pipe_pool *pool);
/* fds[0] read end, fds[1] write end, both non-blocking. False when none can be made. */
bool pipe_pool_get(struct pipe_pool *pool, int fds[2]);
/* Gives back an EMPTY pipe (a pipe with bytes in it must be closed, not returned). */
void pipe_pool_put(struct pipe_pool *pool, const int fds[2]);
size_t pipe_pool_size(const struct pipe_pool *pool);

#endif
