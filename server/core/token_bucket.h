/* token_bucket: a byte budget that refills at a rate, shared by every thread that spends it
 * (one user's tunnels on every worker); time is passed in, so the arithmetic is testable. */
#ifndef TOKEN_BUCKET_H
#define TOKEN_BUCKET_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The burst (what a bucket holds when full) is a tenth of a second of rate, and at least
 * TOKEN_BUCKET_BURST_MIN: enough that a tunnel reads whole buffers (splice keeps working for a
 * limited user) and wakes about ten times a second, small enough that a tunnel idle for a
 * while cannot exceed its rate by more than 0.1 s worth. */
#define TOKEN_BUCKET_BURST_MIN (16u * 1024)
#define TOKEN_BUCKET_BURST_DIVISOR 10
/* The deepest debt, in bursts: far more than workers reading at once can run up. */
#define TOKEN_BUCKET_DEBT_BURSTS 4

struct token_bucket {
    pthread_mutex_t lock;  /* held for a few additions: never across a system call */
    uint64_t rate;         /* bytes per second; 0 = unlimited. Also read without the lock. */
    uint64_t burst;
    int64_t tokens;        /* negative: spent ahead (threads that read at once), paid back */
    uint64_t remainder;    /* of rate × elapsed ns / 1e9, so that no fraction is ever lost */
    uint64_t last_ns;      /* when tokens were last brought up to date */
};

void token_bucket_init(struct token_bucket *bucket, uint64_t rate, uint64_t now_ns);
void token_bucket_destroy(struct token_bucket *bucket);

/* The burst a rate gets. */
uint64_t token_bucket_burst_for(uint64_t rate);

/* Whether the bucket limits at all: one relaxed load, for the unlimited fast path. */
static inline bool token_bucket_limited(const struct token_bucket *bucket)
{
    return __atomic_load_n(&bucket->rate, __ATOMIC_RELAXED) != 0;
}

/* A new rate from now on: what was earned at the old rate is kept (up to the new burst), the
 * bucket and its debt are not reset. 0 makes it unlimited. */
void token_bucket_set_rate(struct token_bucket *bucket, uint64_t rate, uint64_t now_ns);

/* How many bytes may be read now, at most want: 0 when the budget is spent. Unlimited: want. */
size_t token_bucket_allowance(struct token_bucket *bucket, size_t want, uint64_t now_ns);

/* bytes were read: taken from the budget (which may go below zero, when threads read at once). */
void token_bucket_spend(struct token_bucket *bucket, size_t bytes, uint64_t now_ns);

/* Milliseconds (at least 1) until the budget is worth a wake-up again: a quarter of the burst,
 * so that a throttled tunnel reads a useful amount per wake-up instead of a few bytes a
 * millisecond. 0 when unlimited or when that much is there already. */
uint64_t token_bucket_wait_ms(struct token_bucket *bucket, uint64_t now_ns);

/* CLOCK_MONOTONIC in nanoseconds: what callers pass as now_ns. */
uint64_t token_bucket_now_ns(void);

#endif
