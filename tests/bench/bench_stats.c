/* bench_stats: latency histogram with log-linear buckets (HdrHistogram-like, under 1.6% error
 * at any magnitude, fixed 18 KiB), so recording a sample costs a few instructions and no malloc. */
#include "bench_stats.h"

#include <stdlib.h>
#include <string.h>

/* Values below 2^PRECISION_BITS get a bucket each; above, each power of two is split into
 * 2^(PRECISION_BITS-1) equal buckets, which bounds the relative error to 2^-(PRECISION_BITS-1). */
#define PRECISION_BITS 7
#define LINEAR_LIMIT (1u << PRECISION_BITS)
#define HALF_LIMIT (1u << (PRECISION_BITS - 1))
/* Shifts up to 40 cover 2^47 ns (39 hours): more than any bounded run. */
#define MAX_SHIFT 40
#define BUCKETS (LINEAR_LIMIT + MAX_SHIFT * HALF_LIMIT)

struct bench_histogram {
    uint64_t count;
    uint64_t max_ns;
    double sum_ns;
    uint64_t buckets[BUCKETS];
};

struct bench_histogram *histogram_new(void)
{
    return calloc(1, sizeof(struct bench_histogram));
}

void histogram_free(struct bench_histogram *histogram)
{
    free(histogram);
}

void histogram_reset(struct bench_histogram *histogram)
{
    memset(histogram, 0, sizeof(*histogram));
}

static unsigned bucket_of(uint64_t value)
{
    if (value < LINEAR_LIMIT)
        return (unsigned)value;
    unsigned msb = 63u - (unsigned)__builtin_clzll(value);
    unsigned shift = msb - (PRECISION_BITS - 1);
    if (shift > MAX_SHIFT)
        return BUCKETS - 1;
    unsigned top = (unsigned)(value >> shift); /* in [HALF_LIMIT, LINEAR_LIMIT) */
    return LINEAR_LIMIT + (shift - 1) * HALF_LIMIT + (top - HALF_LIMIT);
}

/* Midpoint of the bucket: the estimate with the smallest worst-case error. */
static double bucket_value(unsigned bucket)
{
    if (bucket < LINEAR_LIMIT)
        return bucket;
    unsigned shift = (bucket - LINEAR_LIMIT) / HALF_LIMIT + 1;
    unsigned top = (bucket - LINEAR_LIMIT) % HALF_LIMIT + HALF_LIMIT;
    double low = (double)((uint64_t)top << shift);
    return low + (double)((uint64_t)1 << shift) / 2.0;
}

void histogram_record(struct bench_histogram *histogram, uint64_t value_ns)
{
    histogram->buckets[bucket_of(value_ns)]++;
    histogram->count++;
    histogram->sum_ns += (double)value_ns;
    if (value_ns > histogram->max_ns)
        histogram->max_ns = value_ns;
}

uint64_t histogram_count(const struct bench_histogram *histogram)
{
    return histogram->count;
}

double histogram_percentile_us(const struct bench_histogram *histogram, double percentile)
{
    if (histogram->count == 0)
        return 0.0;
    /* Nearest-rank: the smallest value with at least percentile% of samples at or below it. */
    double wanted = percentile / 100.0 * (double)histogram->count;
    uint64_t rank = (uint64_t)wanted;
    if ((double)rank < wanted || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (unsigned bucket = 0; bucket < BUCKETS; bucket++) {
        seen += histogram->buckets[bucket];
        if (seen >= rank) {
            double value = bucket_value(bucket);
            if (value > (double)histogram->max_ns)
                value = (double)histogram->max_ns;
            return value / 1000.0;
        }
    }
    return (double)histogram->max_ns / 1000.0;
}

double histogram_mean_us(const struct bench_histogram *histogram)
{
    if (histogram->count == 0)
        return 0.0;
    return histogram->sum_ns / (double)histogram->count / 1000.0;
}

double histogram_max_us(const struct bench_histogram *histogram)
{
    return (double)histogram->max_ns / 1000.0;
}
