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

void context_report_traffic(const struct bench_context *context,
                            const struct bench_traffic *traffic)
{
    report_value(context->report, "proxied bytes up", "proxied_bytes_up", (double)traffic->up, 0);
    report_value(context->report, "proxied bytes down", "proxied_bytes_down",
                 (double)traffic->down, 0);
    report_value(context->report, "tunnels with inexact bytes", "proxied_inexact",
                 (double)traffic->inexact, 0);
}

uint64_t context_deadline(double seconds)
{
    return bench_now_ns() + (uint64_t)(seconds * 1e9);
}
