/* bench_rate: the connection-rate scenario — C clients each loop connect, handshake, CONNECT,
 * one echo, close — reporting tunnels/s and full-tunnel latency percentiles. */
#ifndef BENCH_RATE_H
#define BENCH_RATE_H

struct bench_context;

/* Returns 0, or -1 if the proxy refused or no tunnel completed (already in the report). */
int rate_run(const struct bench_context *context);

#endif
