/* bench_main: socks5-bench's entry — options, descriptor limit and pinning, the shared loop
 * and upstream, then each chosen scenario in turn and the report as a table or key=value. */
#include "bench_bulk.h"
#include "bench_context.h"
#include "bench_history.h"
#include "bench_hold.h"
#include "bench_loop.h"
#include "bench_options.h"
#include "bench_pingpong.h"
#include "bench_proc.h"
#include "bench_rate.h"
#include "bench_report.h"
#include "bench_udp.h"
#include "bench_upstream.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define EXIT_USAGE 64

/* hold needs two descriptors per tunnel in this process: take all the kernel allows. */
static void raise_fd_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max)
        return;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

static int apply_pinning(const struct bench_options *options)
{
    if (options->cpu >= 0 && proc_pin_self(options->cpu) != 0) {
        fprintf(stderr, "socks5-bench: cannot pin to CPU %d: %s\n", options->cpu,
                strerror(errno));
        return -1;
    }
    if (options->proxy_cpu >= 0 && proc_pin_tree(options->proxy_pid, options->proxy_cpu) != 0) {
        fprintf(stderr, "socks5-bench: cannot pin process %d to CPU %d: %s\n",
                (int)options->proxy_pid, options->proxy_cpu, strerror(errno));
        return -1;
    }
    return 0;
}

static int run_scenarios(const struct bench_context *context)
{
    unsigned chosen = context->options->scenarios;
    int result = 0;
    if (chosen & SCENARIO_RATE)
        result |= rate_run(context);
    if (chosen & SCENARIO_BULK)
        result |= bulk_run(context);
    if (chosen & SCENARIO_PINGPONG)
        result |= pingpong_run(context);
    if (chosen & SCENARIO_HOLD)
        result |= hold_run(context);
    if (chosen & SCENARIO_UDP)
        result |= udp_run(context);
    if (chosen & SCENARIO_HISTORY)
        result |= history_run(context);
    return result;
}

static int write_report(const struct bench_options *options, const struct bench_report *report)
{
    if (options->kv_only)
        report_print_kv(report, stdout);
    else
        report_print_table(report, stdout);
    if (options->kv_file == NULL)
        return 0;
    FILE *file = fopen(options->kv_file, "a");
    if (file == NULL) {
        fprintf(stderr, "socks5-bench: %s: %s\n", options->kv_file, strerror(errno));
        return -1;
    }
    report_print_kv(report, file);
    return fclose(file) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct bench_options options;
    int parsed = options_parse(argc, argv, &options);
    if (parsed != 0)
        return parsed > 0 ? 0 : EXIT_USAGE;
    /* A proxy that resets a tunnel must not kill us mid-write (MSG_NOSIGNAL covers send). */
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (apply_pinning(&options) != 0)
        return 1;

    struct bench_context context = {.options = &options};
    context.loop = loop_new();
    context.report = report_new();
    if (context.loop == NULL || context.report == NULL) {
        fprintf(stderr, "socks5-bench: out of memory\n");
        report_free(context.report);
        loop_free(context.loop);
        return 1;
    }
    /* history alone talks to no proxy and needs no upstream. */
    if (options.scenarios != SCENARIO_HISTORY)
        context.upstream = upstream_start(context.loop, options.message_size);
    if (options.scenarios != SCENARIO_HISTORY && context.upstream == NULL) {
        fprintf(stderr, "socks5-bench: cannot start the upstream servers: %s\n", strerror(errno));
        report_free(context.report);
        loop_free(context.loop);
        return 1;
    }
    int result = run_scenarios(&context);
    if (write_report(&options, context.report) != 0)
        result = -1;
    if (result != 0)
        fprintf(stderr, "socks5-bench: some scenarios failed (see FAILED lines)\n");
    upstream_free(context.upstream);
    report_free(context.report);
    loop_free(context.loop);
    return result == 0 ? 0 : 1;
}
