/* buffer_pool: relay buffers lent to connections only while they hold bytes in flight, so an
 * idle tunnel costs no buffer memory; a few returned blocks are kept for reuse. */
#ifndef BUFFER_POOL_H
#define BUFFER_POOL_H

#include <stddef.h>
#include <stdint.h>

struct buffer_pool;

struct buffer_pool *buffer_pool_create(size_t block_size, size_t max_cached);
void buffer_pool_destroy(struct buffer_pool *pool);
/* New blocks get this size; blocks of another size are freed when given back. */
void buffer_pool_set_block_size(struct buffer_pool *pool, size_t block_size);
size_t buffer_pool_block_size(const struct buffer_pool *pool);
/* Returns a block of *size bytes (set to the pool's current block size), or NULL. */
uint8_t *buffer_pool_get(struct buffer_pool *pool, size_t *size);
void buffer_pool_put(struct buffer_pool *pool, uint8_t *block, size_t size);

#endif
