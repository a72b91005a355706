/* bench_hold: the capacity scenario — open N tunnels and keep them, ping every one twice,
 * report how many the proxy held, how long opening took and its resident memory per tunnel. */
#ifndef BENCH_HOLD_H
#define BENCH_HOLD_H

struct bench_context;

/* Returns 0, or -1 if a level did not hold every tunnel (already in the report). */
int hold_run(const struct bench_context *context);

#endif
