/* login_cache: logins an outside directory (PAM) accepted lately, kept for a while as keyed
 * digests of name and password, so a client that reconnects skips the directory's check. */
#ifndef LOGIN_CACHE_H
#define LOGIN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct login_cache;

/* Remembers at most capacity logins (rounded up to a power of two), each for lifetime_ms;
 * lifetime_ms 0 remembers nothing. NULL when out of memory or random bytes. */
struct login_cache *login_cache_create(size_t capacity, uint64_t lifetime_ms);
void login_cache_destroy(struct login_cache *cache);

/* Any thread. now_ms is a monotonic clock. A hit is the same name and password stored less
 * than the lifetime ago; *tag is then what was stored with it. */
bool login_cache_hit(struct login_cache *cache, const char *name, size_t name_length,
                     const char *password, size_t password_length, uint64_t now_ms, int *tag);
void login_cache_store(struct login_cache *cache, const char *name, size_t name_length,
                       const char *password, size_t password_length, uint64_t now_ms, int tag);
/* Drops name's login (its password changed, or it failed against the directory). */
void login_cache_forget(struct login_cache *cache, const char *name, size_t name_length);

#endif
