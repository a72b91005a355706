/* bench_context: what every scenario shares — the loop, the upstream, the options, the report —
 * and the chores they all do: progress lines, CPU shares, tunnel bytes, letting closes settle. */
#include "bench_context.h"

#include "bench_loop.h"
#include "bench_options.h"
#include "bench_report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

void context_progress(const struct bench_context *context, const char *format, ...)
{
    if (context->options->quiet)
        return;
    va_list args;
    va_start(args, format);
    fputs("socks5-bench: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

void context_settle(const struct bench_context *context, unsigned milliseconds)
{
    bool never = false;
    loop_run_until(context->loop, &never, bench_now_ns() + (uint64_t)milliseconds * 1000000u);
}

void context_report_cpu(const struct bench_context *context, const struct cpu_probe *probe)
{
    report_value(context->report, "generator CPU (cores)", "gen_cpu", probe->self_share, 2);
    if (probe->proxy_share >= 0)
        report_value(context->report, "proxy CPU (cores)", "proxy_cpu", probe->proxy_share, 2);
    if (probe->other_share >= 0)
        report_value(context->report, "other processes CPU (cores)", "other_cpu",
                     probe->other_share, 2);
}

/* Adds share / count to *mean, which stays -1 (unknown) once any share was. */
static void share_add(double *mean, double share, unsigned count)
{
    *mean = (*mean < 0 || share < 0) ? -1.0 : *mean + share / count;
}

void context_report_cpu_mean(const struct bench_context *context,
                             const struct cpu_probe *probes, unsigned count)
{
    struct cpu_probe mean = {.self_share = 0.0, .proxy_share = 0.0, .other_share = 0.0};
    for (unsigned i = 0; i < count; i++) {
        share_add(&mean.self_share, probes[i].self_share, count);
        share_add(&mean.proxy_share, probes[i].proxy_share, count);
        share_add(&mean.other_share, probes[i].other_share, count);
    }
    context_report_cpu(context, &mean);
}

void context_report_traffic(const struct bench_context *context,
                            const struct bench_traffic *traffic)
{
    report_value(context->report, "proxied bytes up", "proxied_bytes_up", (double)traffic->up, 0);
    report_value(context->report, "proxied bytes down", "proxied_bytes_down",
                 (double)traffic->down, 0);
    report_value(context->report, "tunnels with inexact bytes", "proxied_inexact",
                 (double)traffic->inexact, 0);
}

void context_traffic_add(struct bench_traffic *sum, const struct bench_traffic *pass)
{
    sum->up += pass->up;
    sum->down += pass->down;
    sum->inexact += pass->inexact;
}

/* The report summarises every round a run may have. */
_Static_assert(BENCH_MAX_ROUNDS <= REPORT_MAX_ROUNDS, "--rounds beyond what the report keeps");

bool context_round_goes_direct_first(unsigned round)
{
    return round % 2 == 0;
}

uint64_t context_deadline(double seconds)
{
    return bench_now_ns() + (uint64_t)(seconds * 1e9);
}
