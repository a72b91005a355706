/* token_bucket: a byte budget that refills at a rate, shared by every thread that spends it
 * (one user's tunnels on every worker); time is passed in, so the arithmetic is testable. */
#include "token_bucket.h"

#include <time.h>

#define NS_PER_SECOND 1000000000ull
#define NS_PER_MS 1000000ull

uint64_t token_bucket_burst_for(uint64_t rate)
{
    uint64_t burst = rate / TOKEN_BUCKET_BURST_DIVISOR;
    return burst < TOKEN_BUCKET_BURST_MIN ? TOKEN_BUCKET_BURST_MIN : burst;
}

/* Under the lock: brings tokens up to now at the current rate. Past a minute, any bucket is
 * full (the debt is bounded well below a minute of rate), which bounds the arithmetic. */
static void refill(struct token_bucket *bucket, uint64_t now_ns)
{
    if (now_ns <= bucket->last_ns)
        return; /* another thread's clock read was later than ours: nothing to add */
    uint64_t elapsed = now_ns - bucket->last_ns;
    bucket->last_ns = now_ns;
    if (bucket->rate == 0)
        return;
    __int128 room = (__int128)bucket->burst - bucket->tokens;
    unsigned __int128 earned = (unsigned __int128)bucket->rate * elapsed + bucket->remainder;
    if (elapsed >= 60 * NS_PER_SECOND || room <= 0 ||
        earned / NS_PER_SECOND >= (unsigned __int128)room) {
        bucket->tokens = (int64_t)bucket->burst;
        bucket->remainder = 0;
        return;
    }
    bucket->remainder = (uint64_t)(earned % NS_PER_SECOND);
    bucket->tokens += (int64_t)(earned / NS_PER_SECOND);
}

void token_bucket_init(struct token_bucket *bucket, uint64_t rate, uint64_t now_ns)
{
    pthread_mutex_init(&bucket->lock, NULL);
    bucket->rate = rate;
    bucket->burst = token_bucket_burst_for(rate);
    bucket->tokens = (int64_t)bucket->burst; /* a first connection starts at full speed */
    bucket->remainder = 0;
    bucket->last_ns = now_ns;
}

void token_bucket_destroy(struct token_bucket *bucket)
{
    pthread_mutex_destroy(&bucket->lock);
}

void token_bucket_set_rate(struct token_bucket *bucket, uint64_t rate, uint64_t now_ns)
{
    pthread_mutex_lock(&bucket->lock);
    refill(bucket, now_ns);
    bool was_unlimited = bucket->rate == 0;
    __atomic_store_n(&bucket->rate, rate, __ATOMIC_RELAXED);
    bucket->burst = token_bucket_burst_for(rate);
    /* Coming from unlimited, nothing was counted: the bucket starts full. */
    if (was_unlimited || bucket->tokens > (int64_t)bucket->burst)
        bucket->tokens = (int64_t)bucket->burst;
    pthread_mutex_unlock(&bucket->lock);
}

size_t token_bucket_allowance(struct token_bucket *bucket, size_t want, uint64_t now_ns)
{
    pthread_mutex_lock(&bucket->lock);
    size_t allowed = want;
    if (bucket->rate != 0) {
        refill(bucket, now_ns);
        if (bucket->tokens <= 0)
            allowed = 0;
        else if ((uint64_t)bucket->tokens < want)
            allowed = (size_t)bucket->tokens;
    }
    pthread_mutex_unlock(&bucket->lock);
    return allowed;
}

void token_bucket_spend(struct token_bucket *bucket, size_t bytes, uint64_t now_ns)
{
    pthread_mutex_lock(&bucket->lock);
    if (bucket->rate != 0) {
        refill(bucket, now_ns);
        /* Debt is bounded by what threads may read at once (their allowances); the floor only
         * keeps an absurd spend from wrapping the count. */
        __int128 debt_floor = -(__int128)bucket->burst * TOKEN_BUCKET_DEBT_BURSTS;
        __int128 tokens = (__int128)bucket->tokens - bytes;
        bucket->tokens = (int64_t)(tokens < debt_floor ? debt_floor : tokens);
    }
    pthread_mutex_unlock(&bucket->lock);
}

uint64_t token_bucket_wait_ms(struct token_bucket *bucket, uint64_t now_ns)
{
    pthread_mutex_lock(&bucket->lock);
    uint64_t wait_ms = 0;
    if (bucket->rate != 0) {
        refill(bucket, now_ns);
        int64_t wanted = (int64_t)(bucket->burst / 4);
        if (bucket->tokens < wanted) {
            /* ns until the missing tokens are earned, the remainder already counted. */
            unsigned __int128 missing = (unsigned __int128)(uint64_t)(wanted - bucket->tokens) *
                                            NS_PER_SECOND -
                                        bucket->remainder;
            uint64_t wait_ns = (uint64_t)((missing + bucket->rate - 1) / bucket->rate);
            wait_ms = (wait_ns + NS_PER_MS - 1) / NS_PER_MS;
            if (wait_ms == 0)
                wait_ms = 1;
        }
    }
    pthread_mutex_unlock(&bucket->lock);
    return wait_ms;
}

uint64_t token_bucket_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * NS_PER_SECOND + (uint64_t)now.tv_nsec;
}
