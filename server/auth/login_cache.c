/* login_cache: logins an outside directory (PAM) accepted lately, kept for a while as keyed
 * digests of name and password, so a client that reconnects skips the directory's check. */
#include "login_cache.h"

#include "siphash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define PROBE_LIMIT 8

/* The name's digest is the slot's identity: with a random key per process nobody can make
 * two names collide on purpose, and a password is never kept, only its digest. */
struct cache_slot {
    uint64_t name_digest;
    uint64_t password_digest;
    uint64_t stored_ms;
    int tag;
    bool used;
};

struct login_cache {
    pthread_mutex_t lock; /* every worker and the admin look up here */
    uint8_t name_key[16];
    uint8_t password_key[16];
    uint64_t lifetime_ms;
    size_t mask;
    struct cache_slot *slots;
};

struct login_cache *login_cache_create(size_t capacity, uint64_t lifetime_ms)
{
    size_t count = PROBE_LIMIT;
    while (count < capacity)
        count *= 2;
    struct login_cache *cache = calloc(1, sizeof(*cache));
    if (cache == NULL)
        return NULL;
    cache->slots = calloc(count, sizeof(*cache->slots));
    if (cache->slots == NULL ||
        getrandom(cache->name_key, sizeof(cache->name_key), 0) != sizeof(cache->name_key) ||
        getrandom(cache->password_key, sizeof(cache->password_key), 0) !=
            sizeof(cache->password_key)) {
        free(cache->slots);
        free(cache);
        return NULL;
    }
    pthread_mutex_init(&cache->lock, NULL);
    cache->lifetime_ms = lifetime_ms;
    cache->mask = count - 1;
    return cache;
}

void login_cache_destroy(struct login_cache *cache)
{
    if (cache == NULL)
        return;
    pthread_mutex_destroy(&cache->lock);
    explicit_bzero(cache->name_key, sizeof(cache->name_key));
    explicit_bzero(cache->password_key, sizeof(cache->password_key));
    free(cache->slots);
    free(cache);
}

/* Keyed by the name too, so that two users with one password have unrelated digests. */
static uint64_t password_digest(const struct login_cache *cache, uint64_t name_digest,
                                const char *password, size_t length)
{
    uint8_t key[16];
    memcpy(key, cache->password_key, sizeof(key));
    for (size_t i = 0; i < 8; i++)
        key[i] ^= (uint8_t)(name_digest >> (8 * i));
    uint64_t digest = siphash24(key, password, length);
    explicit_bzero(key, sizeof(key));
    return digest;
}

static bool fresh(const struct login_cache *cache, const struct cache_slot *slot, uint64_t now_ms)
{
    return slot->used && now_ms >= slot->stored_ms && now_ms - slot->stored_ms < cache->lifetime_ms;
}

/* Under the lock: name's slot, or NULL. */
static struct cache_slot *find(struct login_cache *cache, uint64_t name_digest)
{
    for (size_t i = 0; i < PROBE_LIMIT; i++) {
        struct cache_slot *slot = &cache->slots[(name_digest + i) & cache->mask];
        if (slot->used && slot->name_digest == name_digest)
            return slot;
    }
    return NULL;
}

bool login_cache_hit(struct login_cache *cache, const char *name, size_t name_length,
                     const char *password, size_t password_length, uint64_t now_ms, int *tag)
{
    if (cache->lifetime_ms == 0)
        return false;
    uint64_t name_digest = siphash24(cache->name_key, name, name_length);
    uint64_t digest = password_digest(cache, name_digest, password, password_length);
    pthread_mutex_lock(&cache->lock);
    struct cache_slot *slot = find(cache, name_digest);
    bool hit = slot != NULL && fresh(cache, slot, now_ms) && slot->password_digest == digest;
    if (hit)
        *tag = slot->tag;
    pthread_mutex_unlock(&cache->lock);
    return hit;
}

void login_cache_store(struct login_cache *cache, const char *name, size_t name_length,
                       const char *password, size_t password_length, uint64_t now_ms, int tag)
{
    if (cache->lifetime_ms == 0)
        return;
    uint64_t name_digest = siphash24(cache->name_key, name, name_length);
    uint64_t digest = password_digest(cache, name_digest, password, password_length);
    pthread_mutex_lock(&cache->lock);
    struct cache_slot *slot = find(cache, name_digest);
    /* Else a free or stale slot of the probe run, or its oldest: the table never grows. */
    for (size_t i = 0; slot == NULL && i < PROBE_LIMIT; i++) {
        struct cache_slot *candidate = &cache->slots[(name_digest + i) & cache->mask];
        if (!fresh(cache, candidate, now_ms))
            slot = candidate;
    }
    for (size_t i = 0; slot == NULL && i < PROBE_LIMIT; i++) {
        struct cache_slot *candidate = &cache->slots[(name_digest + i) & cache->mask];
        if (i == 0 || candidate->stored_ms < slot->stored_ms)
            slot = candidate;
    }
    *slot = (struct cache_slot){ name_digest, digest, now_ms, tag, true };
    pthread_mutex_unlock(&cache->lock);
}

void login_cache_forget(struct login_cache *cache, const char *name, size_t name_length)
{
    uint64_t name_digest = siphash24(cache->name_key, name, name_length);
    pthread_mutex_lock(&cache->lock);
    struct cache_slot *slot = find(cache, name_digest);
    if (slot != NULL)
        slot->used = false;
    pthread_mutex_unlock(&cache->lock);
}
