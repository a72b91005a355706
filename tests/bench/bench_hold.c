/* bench_hold: the capacity scenario — open N tunnels and keep them, ping every one twice,
 * report how many the proxy held, how long opening took and its resident memory per tunnel. */
#include "bench_hold.h"

#include "bench_client.h"
#include "bench_context.h"
#include "bench_loop.h"
#include "bench_options.h"
#include "bench_proc.h"
#include "bench_report.h"
#include "bench_scrape.h"
#include "bench_upstream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* Each held tunnel costs two descriptors here: the client end and the upstream's accepted end.
 * The rest covers listeners, epoll, stdio and the direct runs. */
#define SPARE_FDS 64
#define OPEN_TIMEOUT_S 60.0
#define PING_TIMEOUT_S 20.0
#define CLOSE_TIMEOUT_S 10.0
#define LOGGED_FAILURES 5
/* Time for the proxy to close 2N sockets before the next level or scenario: 0.2 s + 0.1 ms
 * per tunnel (1.1 s at 9,000). */
#define SETTLE_BASE_MS 200
#define SETTLE_PER_TEN_TUNNELS_MS 1
/* Scrapes timed in a row (the median is reported): the first warms nothing up on the server's
 * side (each scrape reads everything afresh), so all count. */
#define SCRAPES 11

struct hold_run;

struct hold_tunnel {
    struct bench_client client; /* first: the watch pointer is the client pointer */
    struct hold_run *run;
    size_t echo_got;
    bool open;
    bool pinging;
};

struct hold_run {
    const struct bench_context *context;
    /* One per user: tunnel i logs in as user i % plan_count. */
    struct client_plan **plans;
    unsigned plan_count;
    struct hold_tunnel *tunnels;
    unsigned count;
    unsigned next_to_open;
    unsigned opened;
    unsigned failed_opens;
    unsigned dropped;
    unsigned pings_pending;
    unsigned answered;
    unsigned still_open;
    bool open_done;
    bool ping_done;
    bool closing;     /* the upstream closed everything: EOF is expected now */
    bool all_closed;
    uint8_t *message;
    uint8_t *echo_buffer;
    size_t message_size;
    /* A dropped tunnel may have had a ping half-way: inexact. Failed opens never carried a
     * byte (nothing is sent before the reply), and once every echo is in, the closes at the
     * end cannot change a count either. */
    struct bench_traffic traffic;
};

static void hold_open_next(struct hold_run *run);

static void hold_check_open_done(struct hold_run *run)
{
    if (run->opened + run->failed_opens == run->count)
        run->open_done = true;
}

static void hold_ping_finished(struct hold_run *run)
{
    if (--run->pings_pending == 0)
        run->ping_done = true;
}

static void hold_tunnel_closed(struct hold_tunnel *tunnel)
{
    struct hold_run *run = tunnel->run;
    loop_close(&tunnel->client.watch);
    tunnel->open = false;
    if (--run->still_open == 0)
        run->all_closed = true;
}

/* The proxy closed or broke a tunnel it was holding. */
static void hold_drop(struct hold_tunnel *tunnel, const char *why)
{
    struct hold_run *run = tunnel->run;
    if (run->closing) {
        hold_tunnel_closed(tunnel);
        return;
    }
    run->traffic.inexact++;
    if (++run->dropped <= LOGGED_FAILURES)
        context_progress(run->context, "hold: tunnel dropped: %s", why);
    hold_tunnel_closed(tunnel);
    if (tunnel->pinging) {
        tunnel->pinging = false;
        hold_ping_finished(run);
    }
}

static void hold_read(struct hold_tunnel *tunnel, uint32_t events)
{
    struct hold_run *run = tunnel->run;
    for (;;) {
        size_t want = tunnel->pinging ? run->message_size - tunnel->echo_got : run->message_size;
        ssize_t got = recv(tunnel->client.watch.fd, run->echo_buffer, want, 0);
        if (got < 0 && errno == EAGAIN)
            return;
        if (got <= 0) {
            hold_drop(tunnel, got == 0 ? "closed by the proxy" : strerror(errno));
            return;
        }
        run->traffic.down += (uint64_t)got;
        if (!tunnel->pinging ||
            memcmp(run->echo_buffer, run->message + tunnel->echo_got, (size_t)got) != 0) {
            hold_drop(tunnel, "unexpected bytes");
            return;
        }
        tunnel->echo_got += (size_t)got;
        if (tunnel->echo_got == run->message_size) {
            tunnel->pinging = false;
            run->answered++;
            hold_ping_finished(run);
            continue; /* drain to EAGAIN: a close right behind the echo raises no new edge */
        }
        if ((size_t)got < want && loop_short_read_is_dry(events))
            return;
    }
}

static void hold_on_event(struct bench_watch *watch, uint32_t events)
{
    hold_read((struct hold_tunnel *)watch, events);
}

static void hold_on_ready(struct bench_client *client, const uint8_t *extra, size_t extra_len)
{
    struct hold_tunnel *tunnel = (struct hold_tunnel *)client;
    struct hold_run *run = tunnel->run;
    (void)extra;
    client->watch.on_event = hold_on_event;
    tunnel->open = true;
    run->opened++;
    run->still_open++;
    if (extra_len > 0)
        hold_drop(tunnel, "data arrived before any was sent");
    hold_check_open_done(run);
    hold_open_next(run);
}

static void hold_on_failure(struct bench_client *client, enum client_failure kind,
                            const char *why)
{
    (void)kind;
    struct hold_tunnel *tunnel = (struct hold_tunnel *)client;
    struct hold_run *run = tunnel->run;
    if (++run->failed_opens <= LOGGED_FAILURES)
        context_progress(run->context, "hold: open failed: %s", why);
    hold_check_open_done(run);
    hold_open_next(run);
}

static void hold_open_next(struct hold_run *run)
{
    if (run->next_to_open >= run->count)
        return;
    unsigned index = run->next_to_open++;
    struct hold_tunnel *tunnel = &run->tunnels[index];
    tunnel->run = run;
    tunnel->client.on_ready = hold_on_ready;
    tunnel->client.on_failure = hold_on_failure;
    client_open(&tunnel->client, run->context->loop, run->plans[index % run->plan_count]);
}

/* Sends one message down every open tunnel and waits for all echoes. Returns the answers. */
static unsigned hold_ping_all(struct hold_run *run, uint64_t *elapsed_ns)
{
    uint64_t started = bench_now_ns();
    run->answered = 0;
    run->pings_pending = 1; /* held until every ping is out, so no early "done" */
    run->ping_done = false;
    for (unsigned i = 0; i < run->count; i++) {
        struct hold_tunnel *tunnel = &run->tunnels[i];
        if (!tunnel->open)
            continue;
        tunnel->echo_got = 0;
        tunnel->pinging = true;
        run->pings_pending++;
        ssize_t sent =
            send(tunnel->client.watch.fd, run->message, run->message_size, MSG_NOSIGNAL);
        if (sent > 0)
            run->traffic.up += (uint64_t)sent;
        if (sent != (ssize_t)run->message_size)
            hold_drop(tunnel, sent < 0 ? strerror(errno) : "short write of a ping");
    }
    hold_ping_finished(run);
    loop_run_until(run->context->loop, &run->ping_done, context_deadline(PING_TIMEOUT_S));
    *elapsed_ns = bench_now_ns() - started;
    for (unsigned i = 0; i < run->count; i++) {
        if (run->tunnels[i].pinging)
            hold_drop(&run->tunnels[i], "no answer to a ping");
    }
    return run->answered;
}

/* The upstream closes first and the proxy passes the close on (why: bench_upstream.c); the
 * few tunnels it does not reach in time are closed from here. */
static void hold_close_all(struct hold_run *run)
{
    run->closing = true;
    run->all_closed = run->still_open == 0;
    upstream_close_all(run->context->upstream);
    loop_run_until(run->context->loop, &run->all_closed, context_deadline(CLOSE_TIMEOUT_S));
    for (unsigned i = 0; i < run->count; i++) {
        struct bench_client *client = &run->tunnels[i].client;
        if (client->watch.fd >= 0)
            loop_close(&client->watch);
    }
}

static bool hold_fits(const struct bench_context *context, unsigned count)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return true;
    if ((rlim_t)count * 2 + SPARE_FDS <= limit.rlim_cur)
        return true;
    char why[200];
    snprintf(why, sizeof(why),
             "%u tunnels need %u descriptors here (client + upstream ends), the limit is %lu",
             count, count * 2 + SPARE_FDS, (unsigned long)limit.rlim_cur);
    report_failure(context->report, why);
    return false;
}

static int hold_prepare(struct hold_run *run, const struct bench_context *context,
                        unsigned count)
{
    const struct bench_options *options = context->options;
    memset(run, 0, sizeof(*run));
    run->context = context;
    run->count = count;
    run->message_size = options->message_size;
    run->tunnels = calloc(count, sizeof(*run->tunnels));
    run->message = malloc(run->message_size);
    run->echo_buffer = malloc(run->message_size);
    if (run->tunnels == NULL || run->message == NULL || run->echo_buffer == NULL)
        return -1;
    for (size_t i = 0; i < run->message_size; i++)
        run->message[i] = (uint8_t)('0' + i % 10);
    for (unsigned i = 0; i < count; i++)
        run->tunnels[i].client.watch.fd = -1;
    run->plan_count = options->hold_users > 0 ? options->hold_users : 1;
    run->plans = calloc(run->plan_count, sizeof(*run->plans));
    if (run->plans == NULL)
        return -1;
    for (unsigned i = 0; i < run->plan_count; i++) {
        char user[BENCH_CREDENTIAL_MAX + 16];
        snprintf(user, sizeof(user), "%s", options->user);
        if (options->hold_users > 0)
            snprintf(user, sizeof(user), "%s%u", options->user, i);
        struct client_plan_config config = {
            .proxy = &options->proxy,
            .proxy_len = options->proxy_len,
            .target_port = upstream_port(context->upstream, UPSTREAM_ECHO),
            .user = options->auth ? user : NULL,
            .pass = options->auth ? options->pass : NULL,
            .pipelined = options->pipelined,
            .proxy_header = options->proxy_header,
        };
        run->plans[i] = client_plan_new(&config);
        if (run->plans[i] == NULL)
            return -1;
    }
    return 0;
}

static void hold_release(struct hold_run *run)
{
    for (unsigned i = 0; run->plans != NULL && i < run->plan_count; i++)
        client_plan_free(run->plans[i]);
    free(run->plans);
    free(run->tunnels);
    free(run->message);
    free(run->echo_buffer);
}

/* The proxy's memory: VmRSS as the issue asks, and Pss, which does not count a forking
 * proxy's shared pages once per process. */
struct hold_memory {
    long rss_kib;
    long pss_kib;
    long fds;
};

static struct hold_memory hold_memory_now(pid_t proxy_pid)
{
    struct hold_memory memory = {-1, -1, -1};
    if (proxy_pid > 0) {
        memory.rss_kib = proc_rss_kib(proxy_pid);
        memory.pss_kib = proc_pss_kib(proxy_pid);
        memory.fds = proc_fd_count(proxy_pid);
    }
    return memory;
}

static void hold_report_memory(struct bench_report *report, const char *what, const char *key,
                               long before, long after, unsigned held)
{
    if (before < 0 || after < 0)
        return;
    char label[64];
    char name[64];
    snprintf(label, sizeof(label), "proxy %s idle (KiB)", what);
    snprintf(name, sizeof(name), "%s_idle_kib", key);
    report_value(report, label, name, (double)before, 0);
    snprintf(label, sizeof(label), "proxy %s holding (KiB)", what);
    snprintf(name, sizeof(name), "%s_kib", key);
    report_value(report, label, name, (double)after, 0);
    if (held == 0)
        return;
    snprintf(label, sizeof(label), "proxy %s per tunnel (KiB)", what);
    snprintf(name, sizeof(name), "%s_per_tunnel_kib", key);
    report_value(report, label, name, (double)(after - before) / held, 2);
}

static void hold_report(const struct hold_run *run, uint64_t open_ns, uint64_t ping_ns,
                        unsigned held, struct hold_memory before, struct hold_memory after)
{
    struct bench_report *report = run->context->report;
    report_value(report, "tunnels held (answered twice)", "held", held, 0);
    report_value(report, "time to open all (ms)", "open_ms", (double)open_ns / 1e6, 1);
    report_value(report, "opens/s", "opens_per_s", (double)run->opened / ((double)open_ns / 1e9),
                 0);
    report_value(report, "time to ping all (ms)", "ping_ms", (double)ping_ns / 1e6, 1);
    report_value(report, "opens failed", "failed_opens", run->failed_opens, 0);
    report_value(report, "tunnels dropped", "dropped", run->dropped, 0);
    hold_report_memory(report, "RSS", "rss", before.rss_kib, after.rss_kib, held);
    hold_report_memory(report, "PSS", "pss", before.pss_kib, after.pss_kib, held);
    if (before.fds >= 0 && after.fds >= 0 && held > 0)
        report_value(report, "proxy descriptors per tunnel", "fds_per_tunnel",
                     (double)(after.fds - before.fds) / held, 2);
}

/* With --scrape: the cost of GET /metrics now, in the current section. */
static int hold_scrape(const struct bench_context *context, const char *what, const char *prefix)
{
    const struct bench_options *options = context->options;
    if (options->scrape_len == 0)
        return 0;
    struct scrape_figures figures;
    char why[160];
    if (scrape_measure(&options->scrape, options->scrape_len, SCRAPES, &figures, why,
                       sizeof(why)) != 0) {
        report_failure(context->report, why);
        return -1;
    }
    scrape_report(context->report, what, prefix, SCRAPES, &figures);
    return 0;
}

static int hold_level(const struct bench_context *context, unsigned count,
                      struct hold_memory before)
{
    const struct bench_options *options = context->options;
    char key[64];
    char title[200];
    snprintf(key, sizeof(key), "hold.n%u", count);
    int length = snprintf(title, sizeof(title),
                          "hold: %u tunnels, %u opening at once, pinged twice %.1f s apart",
                          count, options->hold_in_flight, options->hold_time_s);
    if (options->hold_users > 0)
        snprintf(title + length, sizeof(title) - (size_t)length, ", as %u users",
                 options->hold_users);
    report_section(context->report, key, title);
    if (!hold_fits(context, count))
        return -1;
    if (hold_scrape(context, "idle", "scrape_idle") != 0)
        return -1;
    struct hold_run run;
    if (hold_prepare(&run, context, count) != 0) {
        report_failure(context->report, "out of memory");
        hold_release(&run);
        return -1;
    }
    context_progress(context, "hold: opening %u tunnels via %s", count, options->proxy_text);
    uint64_t started = bench_now_ns();
    for (unsigned i = 0; i < options->hold_in_flight && i < count; i++)
        hold_open_next(&run);
    loop_run_until(context->loop, &run.open_done, context_deadline(OPEN_TIMEOUT_S));
    uint64_t open_ns = bench_now_ns() - started;
    uint64_t ping_ns;
    uint64_t second_ping_ns;
    hold_ping_all(&run, &ping_ns);
    context_settle(context, (unsigned)(options->hold_time_s * 1000));
    unsigned held = hold_ping_all(&run, &second_ping_ns);
    struct hold_memory after = hold_memory_now(options->proxy_pid);
    context_progress(context, "hold: %u of %u held", held, count);
    hold_report(&run, open_ns, ping_ns, held, before, after);
    int scraped = hold_scrape(context, "held", "scrape");
    hold_close_all(&run);
    context_report_traffic(context, &run.traffic);
    hold_release(&run);
    context_settle(context, SETTLE_BASE_MS + count / 10 * SETTLE_PER_TEN_TUNNELS_MS);
    if (held == count && scraped == 0)
        return 0;
    if (scraped != 0)
        return -1;
    char why[120];
    snprintf(why, sizeof(why), "only %u of %u tunnels held", held, count);
    report_failure(context->report, why);
    return -1;
}

int hold_run(const struct bench_context *context)
{
    const struct bench_options *options = context->options;
    /* One baseline with the proxy idle, before the first (smallest) level: allocators keep
     * freed memory, so a baseline between levels would hide what the bigger level costs. */
    struct hold_memory before = hold_memory_now(options->proxy_pid);
    int result = 0;
    for (size_t i = 0; i < options->hold_level_count; i++)
        result |= hold_level(context, options->hold_levels[i], before);
    return result;
}
