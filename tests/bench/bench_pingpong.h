/* bench_pingpong: the latency scenario — one tunnel, one small message in flight at a time,
 * round-trip percentiles through the proxy beside the same loop run direct. */
#ifndef BENCH_PINGPONG_H
#define BENCH_PINGPONG_H

struct bench_context;

/* Returns 0, or -1 if a run failed (already in the report). */
int pingpong_run(const struct bench_context *context);

#endif
