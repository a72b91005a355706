/* bench_context: what every scenario shares — the loop, the upstream, the options, the report —
 * and the small chores they all do: progress lines, CPU shares, letting closes settle. */
#ifndef BENCH_CONTEXT_H
#define BENCH_CONTEXT_H

#include "bench_proc.h"

#include <stdint.h>

struct bench_loop;
struct bench_upstream;
struct bench_options;
struct bench_report;

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
/* Adds gen_cpu and (when known) proxy_cpu rows from a stopped probe. */
void context_report_cpu(const struct bench_context *context, const struct cpu_probe *probe);
/* Seconds as nanoseconds from now. */
uint64_t context_deadline(double seconds);

#endif
