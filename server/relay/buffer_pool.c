/* buffer_pool: relay buffers lent to connections only while they hold bytes in flight, so an
 * idle tunnel costs no buffer memory; a few returned blocks are kept for reuse. */
#include "buffer_pool.h"

#include <stdlib.h>

struct free_block {
    struct free_block *next;
};

struct buffer_pool {
    size_t block_size;
    size_t max_cached;
    size_t cached;
    struct free_block *free_list;
};

struct buffer_pool *buffer_pool_create(size_t block_size, size_t max_cached)
{
    struct buffer_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    pool->block_size = block_size;
    pool->max_cached = max_cached;
    return pool;
}

static void drop_cached(struct buffer_pool *pool)
{
    while (pool->free_list != NULL) {
        struct free_block *block = pool->free_list;
        pool->free_list = block->next;
        free(block);
    }
    pool->cached = 0;
}

void buffer_pool_destroy(struct buffer_pool *pool)
{
    if (pool == NULL)
        return;
    drop_cached(pool);
    free(pool);
}

void buffer_pool_set_block_size(struct buffer_pool *pool, size_t block_size)
{
    if (block_size == pool->block_size)
        return;
    drop_cached(pool);
    pool->block_size = block_size;
}

size_t buffer_pool_block_size(const struct buffer_pool *pool) { return pool->block_size; }

uint8_t *buffer_pool_get(struct buffer_pool *pool, size_t *size)
{
    uint8_t *block;
    if (pool->free_list != NULL) {
        block = (uint8_t *)pool->free_list;
        pool->free_list = pool->free_list->next;
        pool->cached--;
    } else {
        block = malloc(pool->block_size);
        if (block == NULL)
            return NULL;
    }
    *size = pool->block_size;
    return block;
}

void buffer_pool_put(struct buffer_pool *pool, uint8_t *block, size_t size)
{
    if (size != pool->block_size || pool->cached >= pool->max_cached) {
        free(block);
        return;
    }
    struct free_block *free_block = (struct free_block *)block;
    free_block->next = pool->free_list;
    pool->free_list = free_block;
    pool->cached++;
}
