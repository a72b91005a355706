/* bench_context: what every scenario shares — the loop, the upstream, the options, the report —
 * and the chores they all do: progress lines, CPU shares, tunnel bytes, letting closes settle. */
#ifndef BENCH_CONTEXT_H
#define BENCH_CONTEXT_H

#include "bench_proc.h"

#include <stdbool.h>
#include <stdint.h>

struct bench_loop;
struct bench_upstream;
struct bench_options;
struct bench_report;

/* How long a run that ends waits for the tunnels in flight to finish by themselves; those still
 * open after it are cut, counted as errors and make the byte counts inexact. */
#define BENCH_DRAIN_S 2.0

/* Payload the clients of one proxied pass (or, summed, of several) exchanged through their
 * tunnels, to be compared with the proxy's own byte counters (scripts/soak does): up = bytes
 * written into tunnels once the CONNECT succeeded (a pipelined payload counts when the success
 * reply arrives), down = bytes read from them. A tunnel cut or broken may leave bytes that one
 * side counted and the other never saw, so those are counted in inexact; 0 means both figures
 * are exact. */
struct bench_traffic {
    uint64_t up;
    uint64_t down;
    uint64_t inexact;
};

struct bench_context {
    struct bench_loop *loop;
    struct bench_upstream *upstream;
    const struct bench_options *options;
    struct bench_report *report;
};

/* A progress line on stderr (not with --quiet). */
void context_progress(const struct bench_context *context, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs the loop for milliseconds so closes propagate through the proxy before the next run. */
void context_settle(const struct bench_context *context, unsigned milliseconds);
/* Adds gen_cpu and (when known) proxy_cpu and other_cpu rows from a stopped probe. */
void context_report_cpu(const struct bench_context *context, const struct cpu_probe *probe);
/* The same rows, each the mean over count stopped probes (the proxied passes of the rounds);
 * a share unknown in any probe is left out. */
void context_report_cpu_mean(const struct bench_context *context,
                             const struct cpu_probe *probes, unsigned count);
/* Adds the proxied_bytes_up, proxied_bytes_down and proxied_inexact rows. */
void context_report_traffic(const struct bench_context *context,
                            const struct bench_traffic *traffic);
/* Adds one pass's traffic to a sum over passes. */
void context_traffic_add(struct bench_traffic *sum, const struct bench_traffic *pass);
/* Rounds count from 0: whether this one runs its direct pass before its proxied one (round
 * 0 does, round 1 does not, ...), so that a drift of the machine favours neither side. */
bool context_round_goes_direct_first(unsigned round);
/* Seconds as nanoseconds from now. */
uint64_t context_deadline(double seconds);

#endif
