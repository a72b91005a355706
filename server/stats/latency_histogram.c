/* latency_histogram: how long a step took, counted in fixed buckets per worker (relaxed
 * counters, bumped on the owner's thread) and summed across workers when read. */
#include "latency_histogram.h"

#include "counter.h"

#include <time.h>

/* 0.5 ms to 10 s: a loopback handshake takes well under a millisecond, a connect across the
 * world a few hundred, and the default connect timeout is 10 s. */
const uint64_t latency_bucket_bounds_us[LATENCY_BUCKET_COUNT] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000,
};

uint64_t latency_clock_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

void latency_histogram_observe(struct latency_histogram *histogram, uint64_t elapsed_us)
{
    size_t index = 0;
    while (index < LATENCY_BUCKET_COUNT && elapsed_us > latency_bucket_bounds_us[index])
        index++;
    counter_add(&histogram->bucket[index], 1);
    counter_add(&histogram->sum_us, elapsed_us);
}

void latency_histogram_add_up(struct latency_histogram *total,
                              const struct latency_histogram *part)
{
    for (size_t i = 0; i <= LATENCY_BUCKET_COUNT; i++)
        total->bucket[i] += counter_read(&part->bucket[i]);
    total->sum_us += counter_read(&part->sum_us);
}

uint64_t latency_histogram_count(const struct latency_histogram *histogram)
{
    uint64_t count = 0;
    for (size_t i = 0; i <= LATENCY_BUCKET_COUNT; i++)
        count += histogram->bucket[i];
    return count;
}
