/* bench_stats: latency histogram with log-linear buckets (HdrHistogram-like, under 1.6% error
 * at any magnitude, fixed 18 KiB), so recording a sample costs a few instructions and no malloc. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>

struct bench_histogram;

struct bench_histogram *histogram_new(void);
void histogram_free(struct bench_histogram *histogram);
void histogram_reset(struct bench_histogram *histogram);

void histogram_record(struct bench_histogram *histogram, uint64_t value_ns);
uint64_t histogram_count(const struct bench_histogram *histogram);
/* percentile in 0..100; 0 when empty. Values come back in microseconds. */
double histogram_percentile_us(const struct bench_histogram *histogram, double percentile);
double histogram_mean_us(const struct bench_histogram *histogram);
double histogram_max_us(const struct bench_histogram *histogram);

#endif
