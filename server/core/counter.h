/* counter: 64-bit usage counters bumped and read across threads with relaxed atomics, so a
 * reader never sees a torn value and the per-byte path never takes a lock. */
#ifndef COUNTER_H
#define COUNTER_H

#include <stdint.h>

/* For a counter only its owner's thread writes (a worker's metrics, one connection's bytes):
 * a plain load and store, no locked instruction. */
static inline void counter_add(uint64_t *counter, uint64_t amount)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + amount,
                     __ATOMIC_RELAXED);
}

static inline void counter_subtract(uint64_t *counter, uint64_t amount)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) - amount,
                     __ATOMIC_RELAXED);
}

/* For a counter several threads write (a user's usage, bumped by every worker it uses). */
static inline void counter_add_shared(uint64_t *counter, uint64_t amount)
{
    __atomic_fetch_add(counter, amount, __ATOMIC_RELAXED);
}

static inline void counter_subtract_shared(uint64_t *counter, uint64_t amount)
{
    __atomic_fetch_sub(counter, amount, __ATOMIC_RELAXED);
}

static inline uint64_t counter_read(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

#endif
