/* latency_histogram: how long a step took, counted in fixed buckets per worker (relaxed
 * counters, bumped on the owner's thread) and summed across workers when read. */
#ifndef LATENCY_HISTOGRAM_H
#define LATENCY_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

/* Upper bounds in microseconds, ascending; one more bucket (+Inf) follows the last. Fixed,
 * so that every worker's counts add up and a scrape needs no allocation. */
#define LATENCY_BUCKET_COUNT 14
extern const uint64_t latency_bucket_bounds_us[LATENCY_BUCKET_COUNT];

struct latency_histogram {
    /* Not cumulative: bucket[i] counts the observations in (bound[i-1], bound[i]]; the last
     * one those above every bound. Their total is the count: nothing else to keep in step. */
    uint64_t bucket[LATENCY_BUCKET_COUNT + 1];
    uint64_t sum_us;
};

/* Now, in microseconds of the monotonic clock. */
uint64_t latency_clock_us(void);
/* Counts one step of elapsed_us; only on the histogram's owner thread (counter_add). */
void latency_histogram_observe(struct latency_histogram *histogram, uint64_t elapsed_us);
/* total += part, each field a relaxed atomic read of part. */
void latency_histogram_add_up(struct latency_histogram *total,
                              const struct latency_histogram *part);
/* Observations in total (the buckets' sum). */
uint64_t latency_histogram_count(const struct latency_histogram *histogram);

#endif
