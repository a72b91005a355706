/* bench_bulk: the throughput scenario — S streams each download or upload B bytes, through the
 * proxy and then straight to the upstream in the same invocation, for MB/s and their ratio. */
#ifndef BENCH_BULK_H
#define BENCH_BULK_H

struct bench_context;

/* Returns 0, or -1 if a run failed (already in the report). */
int bulk_run(const struct bench_context *context);

#endif
