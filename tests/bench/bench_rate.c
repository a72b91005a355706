/* bench_rate: the connection-rate scenario — C clients each loop connect, handshake, CONNECT,
 * one echo, close — reporting tunnels/s and full-tunnel latency percentiles. */
#include "bench_rate.h"

#include "bench_client.h"
#include "bench_context.h"
#include "bench_loop.h"
#include "bench_options.h"
#include "bench_report.h"
#include "bench_stats.h"
#include "bench_upstream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Broken tunnels are load symptoms and are counted; only the first few are worth a line. */
#define LOGGED_ERRORS 5
#define SETTLE_MS 300

struct rate_run;

/* A tunnel ends when the upstream's close comes through after the echo: the client closes
 * second, so neither it nor the proxy is left with TIME_WAIT on an ephemeral port (see
 * bench_upstream.c), and the proxy's close propagation is part of what is timed. */
struct rate_client {
    struct bench_client client; /* first: the watch pointer is the client pointer */
    struct rate_run *run;
    size_t echo_got;
};

struct rate_run {
    const struct bench_context *context;
    struct client_plan *plan;
    uint8_t *message;
    uint8_t *echo_buffer;
    size_t message_size;
    struct rate_client *clients;
    unsigned client_count;
    struct bench_histogram *latency;
    uint64_t measure_from_ns;
    uint64_t measure_until_ns;
    uint64_t completed;
    uint64_t errors;
    struct bench_traffic traffic;
    unsigned in_flight; /* tunnels started and not yet ended */
    bool stopping;      /* no new tunnels */
    bool drained;       /* stopping, and every tunnel in flight has ended */
    bool refused;
    char refusal[200];
};

static void rate_client_start(struct rate_client *rate_client);

static void rate_restart_deferred(struct bench_watch *watch)
{
    struct rate_client *rate_client = (struct rate_client *)watch;
    if (!rate_client->run->stopping)
        rate_client_start(rate_client);
}

static void rate_tunnel_ended(struct rate_run *run)
{
    if (--run->in_flight == 0 && run->stopping)
        run->drained = true;
}

static void rate_tunnel_done(struct rate_client *rate_client)
{
    struct rate_run *run = rate_client->run;
    uint64_t now = bench_now_ns();
    /* Counted by when it ends: a slow proxy still scores what it finishes in the window. */
    if (now >= run->measure_from_ns && now <= run->measure_until_ns) {
        histogram_record(run->latency, now - rate_client->client.started_ns);
        run->completed++;
    }
    loop_close(&rate_client->client.watch);
    rate_client->client.state = CLIENT_IDLE;
    loop_defer(run->context->loop, &rate_client->client.watch);
    rate_tunnel_ended(run);
}

/* Every failure counts as inexact, even one before the reply: with a pipelined handshake the
 * proxy may have taken the payload while the client never learnt that the CONNECT succeeded. */
static void rate_tunnel_broken(struct rate_client *rate_client, const char *why)
{
    struct rate_run *run = rate_client->run;
    if (++run->errors <= LOGGED_ERRORS)
        context_progress(run->context, "rate: tunnel failed: %s", why);
    run->traffic.inexact++;
    if (!rate_client->client.watch.closed)
        loop_close(&rate_client->client.watch);
    rate_client->client.state = CLIENT_IDLE;
    loop_defer(run->context->loop, &rate_client->client.watch);
    rate_tunnel_ended(run);
}

/* Returns true when the bytes match what was sent at that offset. */
static bool rate_take_echo(struct rate_client *rate_client, const uint8_t *bytes, size_t len)
{
    struct rate_run *run = rate_client->run;
    if (rate_client->echo_got + len > run->message_size ||
        memcmp(bytes, run->message + rate_client->echo_got, len) != 0)
        return false;
    rate_client->echo_got += len;
    return true;
}

static void rate_read_echo(struct rate_client *rate_client, uint32_t events)
{
    struct rate_run *run = rate_client->run;
    int fd = rate_client->client.watch.fd;
    for (;;) {
        /* One byte more than the echo lacks, so that bytes behind it are noticed. */
        size_t want = run->message_size - rate_client->echo_got + 1;
        ssize_t got = recv(fd, run->echo_buffer, want, 0);
        if (got < 0 && errno == EAGAIN)
            return;
        if (got < 0) {
            rate_tunnel_broken(rate_client, strerror(errno));
            return;
        }
        if (got == 0) {
            if (rate_client->echo_got < run->message_size)
                rate_tunnel_broken(rate_client, "closed before the echo came back");
            else
                rate_tunnel_done(rate_client);
            return;
        }
        run->traffic.down += (uint64_t)got;
        if (!rate_take_echo(rate_client, run->echo_buffer, (size_t)got)) {
            rate_tunnel_broken(rate_client, "echo came back different or too long");
            return;
        }
        if ((size_t)got < want && loop_short_read_is_dry(events))
            return;
    }
}

static void rate_on_echo_event(struct bench_watch *watch, uint32_t events)
{
    rate_read_echo((struct rate_client *)watch, events);
}

static void rate_on_ready(struct bench_client *client, const uint8_t *extra, size_t extra_len)
{
    struct rate_client *rate_client = (struct rate_client *)client;
    struct rate_run *run = rate_client->run;
    /* The payload is out: written behind the request (pipelined) or after the reply. */
    run->traffic.up += run->message_size;
    run->traffic.down += extra_len;
    rate_client->echo_got = 0;
    if (extra_len > 0 && !rate_take_echo(rate_client, extra, extra_len)) {
        rate_tunnel_broken(rate_client, "echo came back different");
        return;
    }
    client->watch.on_event = rate_on_echo_event;
    rate_read_echo(rate_client, LOOP_EVENTS_UNKNOWN);
}

static void rate_on_failure(struct bench_client *client, enum client_failure kind,
                            const char *why)
{
    struct rate_client *rate_client = (struct rate_client *)client;
    struct rate_run *run = rate_client->run;
    if (run->refused) {
        rate_tunnel_ended(run); /* the others' refusals say nothing new */
        return;
    }
    if (kind == CLIENT_FAILURE_REFUSED) {
        run->refused = true;
        run->stopping = true;
        snprintf(run->refusal, sizeof(run->refusal), "%s", why);
        rate_tunnel_ended(run);
        return;
    }
    rate_tunnel_broken(rate_client, why);
}

static void rate_client_start(struct rate_client *rate_client)
{
    rate_client->client.on_ready = rate_on_ready;
    rate_client->client.on_failure = rate_on_failure;
    rate_client->client.watch.on_deferred = rate_restart_deferred;
    rate_client->echo_got = 0;
    rate_client->run->in_flight++; /* before: client_open may fail at once */
    client_open(&rate_client->client, rate_client->run->context->loop, rate_client->run->plan);
}

static int rate_prepare(struct rate_run *run, const struct bench_context *context)
{
    const struct bench_options *options = context->options;
    memset(run, 0, sizeof(*run));
    run->context = context;
    run->message_size = options->message_size;
    run->client_count = options->clients;
    run->message = malloc(run->message_size);
    run->echo_buffer = malloc(run->message_size + 1);
    run->clients = calloc(run->client_count, sizeof(*run->clients));
    run->latency = histogram_new();
    if (run->message == NULL || run->echo_buffer == NULL || run->clients == NULL ||
        run->latency == NULL)
        return -1;
    for (size_t i = 0; i < run->message_size; i++)
        run->message[i] = (uint8_t)('A' + i % 26);
    struct client_plan_config config = {
        .proxy = &options->proxy,
        .proxy_len = options->proxy_len,
        .domain = options->domain ? "localhost" : NULL,
        .target_port = upstream_port(context->upstream, UPSTREAM_ECHO_ONCE),
        .user = options->auth ? options->user : NULL,
        .pass = options->auth ? options->pass : NULL,
        .pipelined = options->pipelined,
        .proxy_header = options->proxy_header,
        .early = run->message,
        .early_len = run->message_size,
    };
    run->plan = client_plan_new(&config);
    if (run->plan == NULL)
        return -1;
    for (unsigned i = 0; i < run->client_count; i++) {
        run->clients[i].run = run;
        run->clients[i].client.watch.fd = -1;
    }
    return 0;
}

static void rate_release(struct rate_run *run)
{
    client_plan_free(run->plan);
    histogram_free(run->latency);
    free(run->clients);
    free(run->echo_buffer);
    free(run->message);
}

/* Closes the tunnels still in flight after the drain (stalled: errors, inexact bytes) and
 * remembers where most of them were stuck, which is what a failure message needs. */
static uint64_t rate_close_all(struct rate_run *run, enum client_state *stuck_in,
                               uint64_t *echoed_but_open)
{
    uint64_t stalled = 0;
    uint64_t per_state[CLIENT_READY + 1] = {0};
    *echoed_but_open = 0;
    for (unsigned i = 0; i < run->client_count; i++) {
        struct bench_client *client = &run->clients[i].client;
        if (client->watch.fd < 0)
            continue;
        stalled++;
        per_state[client->state]++;
        if (client->state == CLIENT_READY && run->clients[i].echo_got == run->message_size)
            (*echoed_but_open)++;
        loop_close(&client->watch);
        client->state = CLIENT_IDLE;
    }
    run->traffic.inexact += stalled;
    if (!run->refused)
        run->errors += stalled; /* after a refusal only the refusal is reported */
    *stuck_in = CLIENT_IDLE;
    for (int state = CLIENT_IDLE; state <= CLIENT_READY; state++) {
        if (per_state[state] > per_state[*stuck_in])
            *stuck_in = (enum client_state)state;
    }
    return stalled;
}

static void rate_report_nothing_done(const struct rate_run *run, uint64_t stalled,
                                     enum client_state stuck_in, uint64_t echoed_but_open)
{
    char why[200];
    const char *detail = "";
    if (stuck_in == CLIENT_READY)
        detail = echoed_but_open * 2 > stalled
                     ? " (echo back, but the upstream's close never came through)"
                     : " (the echo never came back)";
    if (stalled == 0)
        snprintf(why, sizeof(why), "no tunnel completed in the measured time (%llu failed)",
                 (unsigned long long)run->errors);
    else
        snprintf(why, sizeof(why),
                 "no tunnel completed in the measured time: %llu stuck, most waiting in %s%s",
                 (unsigned long long)stalled, client_state_name(stuck_in), detail);
    report_failure(run->context->report, why);
}

static void rate_section(const struct bench_context *context)
{
    const struct bench_options *options = context->options;
    char key[96];
    char title[200];
    snprintf(key, sizeof(key), "rate.%s.%s.%s%s", options->domain ? "domain" : "ipv4",
             options->auth ? "auth" : "noauth", options->pipelined ? "pipelined" : "step",
             options->proxy_header ? ".proxy_header" : "");
    snprintf(title, sizeof(title),
             "rate: CONNECT %s, %s, %s handshake%s, %u clients, %zu-byte echo, close, %.1f s",
             options->domain ? "localhost (domain)" : "127.0.0.1 (IPv4)",
             options->auth ? "username/password" : "no auth",
             options->pipelined ? "pipelined" : "step-by-step",
             options->proxy_header ? " behind a PROXY v2 header" : "", options->clients,
             options->message_size, options->duration_s);
    report_section(context->report, key, title);
}

static void rate_report(const struct rate_run *run, const struct cpu_probe *probe,
                        uint64_t stalled)
{
    const struct bench_context *context = run->context;
    struct bench_report *report = context->report;
    double seconds = (double)(run->measure_until_ns - run->measure_from_ns) / 1e9;
    report_value(report, "tunnels/s", "tunnels_per_s", (double)run->completed / seconds, 0);
    report_value(report, "latency p50 (us)", "p50_us",
                 histogram_percentile_us(run->latency, 50.0), 1);
    report_value(report, "latency p99 (us)", "p99_us",
                 histogram_percentile_us(run->latency, 99.0), 1);
    report_value(report, "latency p99.9 (us)", "p999_us",
                 histogram_percentile_us(run->latency, 99.9), 1);
    report_value(report, "latency max (us)", "max_us", histogram_max_us(run->latency), 1);
    report_value(report, "tunnels completed", "tunnels", (double)run->completed, 0);
    report_value(report, "tunnels failed or cut", "errors", (double)run->errors, 0);
    report_value(report, "tunnels cut after the drain", "stalled", (double)stalled, 0);
    context_report_cpu(context, probe);
}

/* No new tunnels; those in flight get BENCH_DRAIN_S to end by themselves, so that what the
 * clients counted is what the proxy relayed. After a refusal there is nothing to wait for. */
static void rate_drain(struct rate_run *run)
{
    run->stopping = true;
    run->drained = run->in_flight == 0;
    if (!run->refused)
        loop_run_until(run->context->loop, &run->drained, context_deadline(BENCH_DRAIN_S));
}

int rate_run(const struct bench_context *context)
{
    const struct bench_options *options = context->options;
    rate_section(context);
    struct rate_run run;
    if (rate_prepare(&run, context) != 0) {
        report_failure(context->report, "out of memory");
        rate_release(&run);
        return -1;
    }
    context_progress(context, "rate: %u clients via %s for %.1f s (+%.1f s warm-up)",
                     run.client_count, options->proxy_text, options->duration_s,
                     options->warmup_s);
    run.measure_from_ns = context_deadline(options->warmup_s);
    run.measure_until_ns = run.measure_from_ns + (uint64_t)(options->duration_s * 1e9);
    for (unsigned i = 0; i < run.client_count && !run.stopping; i++)
        rate_client_start(&run.clients[i]);
    loop_run_until(context->loop, &run.stopping, run.measure_from_ns);
    struct cpu_probe probe;
    cpu_probe_start(&probe, options->proxy_pid);
    loop_run_until(context->loop, &run.stopping, run.measure_until_ns);
    cpu_probe_stop(&probe);
    rate_drain(&run);
    enum client_state stuck_in;
    uint64_t echoed_but_open;
    uint64_t stalled = rate_close_all(&run, &stuck_in, &echoed_but_open);
    int result = 0;
    if (run.refused) {
        report_failure(context->report, run.refusal);
        result = -1;
    } else if (run.completed == 0) {
        rate_report_nothing_done(&run, stalled, stuck_in, echoed_but_open);
        result = -1;
    } else {
        rate_report(&run, &probe, stalled);
    }
    context_report_traffic(context, &run.traffic);
    context_settle(context, SETTLE_MS);
    rate_release(&run);
    return result;
}
