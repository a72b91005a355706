/* bench_pingpong: the latency scenario — one tunnel, one small message in flight at a time,
 * round-trip percentiles through the proxy beside the same loop run direct, in rounds. */
#include "bench_pingpong.h"

#include "bench_client.h"
#include "bench_context.h"
#include "bench_loop.h"
#include "bench_options.h"
#include "bench_report.h"
#include "bench_stats.h"
#include "bench_upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define OPEN_TIMEOUT_S 10.0
#define SETTLE_MS 200

struct pingpong {
    struct bench_client client; /* first: the watch pointer is the client pointer */
    const struct bench_context *context;
    uint8_t *message;
    uint8_t *echo;
    size_t size;
    size_t sent;
    size_t got;
    uint64_t ping_ns;
    uint64_t measure_from_ns;
    uint64_t measure_until_ns;
    struct bench_histogram *round_trips;
    struct bench_traffic traffic; /* of the current pass */
    bool done;
    bool failed;
    char failure[200];
};

static void pingpong_fail(struct pingpong *pingpong, const char *why)
{
    pingpong->failed = true;
    pingpong->done = true;
    snprintf(pingpong->failure, sizeof(pingpong->failure), "%s", why);
    if (!pingpong->client.watch.closed)
        loop_close(&pingpong->client.watch);
}

/* Returns false on failure. */
static bool pingpong_send(struct pingpong *pingpong)
{
    while (pingpong->sent < pingpong->size) {
        ssize_t sent = send(pingpong->client.watch.fd, pingpong->message + pingpong->sent,
                            pingpong->size - pingpong->sent, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EAGAIN)
                return true;
            pingpong_fail(pingpong, strerror(errno));
            return false;
        }
        pingpong->sent += (size_t)sent;
        pingpong->traffic.up += (uint64_t)sent;
    }
    return true;
}

static void pingpong_start_round(struct pingpong *pingpong)
{
    pingpong->sent = 0;
    pingpong->got = 0;
    pingpong->ping_ns = bench_now_ns();
    pingpong_send(pingpong);
}

static void pingpong_round_done(struct pingpong *pingpong)
{
    uint64_t now = bench_now_ns();
    if (memcmp(pingpong->echo, pingpong->message, pingpong->size) != 0) {
        pingpong_fail(pingpong, "echo came back different");
        return;
    }
    if (pingpong->ping_ns >= pingpong->measure_from_ns)
        histogram_record(pingpong->round_trips, now - pingpong->ping_ns);
    if (now >= pingpong->measure_until_ns) {
        pingpong->done = true;
        return;
    }
    pingpong_start_round(pingpong);
}

static void pingpong_on_event(struct bench_watch *watch, uint32_t events)
{
    struct pingpong *pingpong = (struct pingpong *)watch;
    if (pingpong->done || !pingpong_send(pingpong))
        return;
    while (!pingpong->done && pingpong->sent == pingpong->size) {
        ssize_t got = recv(watch->fd, pingpong->echo + pingpong->got,
                           pingpong->size - pingpong->got, 0);
        if (got < 0 && errno == EAGAIN)
            return;
        if (got <= 0) {
            pingpong_fail(pingpong, got == 0 ? "tunnel closed" : strerror(errno));
            return;
        }
        size_t wanted = pingpong->size - pingpong->got;
        pingpong->got += (size_t)got;
        pingpong->traffic.down += (uint64_t)got;
        if (pingpong->got < pingpong->size) {
            if ((size_t)got < wanted && loop_short_read_is_dry(events))
                return;
            continue;
        }
        /* One message in flight: nothing more can be queued until the next ping is out. */
        pingpong_round_done(pingpong);
        return;
    }
}

static void pingpong_on_ready(struct bench_client *client, const uint8_t *extra,
                              size_t extra_len)
{
    struct pingpong *pingpong = (struct pingpong *)client;
    (void)extra;
    if (extra_len > 0) {
        pingpong_fail(pingpong, "data arrived before any was sent");
        return;
    }
    int one = 1;
    setsockopt(client->watch.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    client->watch.on_event = pingpong_on_event;
    const struct bench_options *options = pingpong->context->options;
    pingpong->measure_from_ns = context_deadline(options->warmup_s);
    pingpong->measure_until_ns =
        pingpong->measure_from_ns + (uint64_t)(options->duration_s * 1e9);
    pingpong_start_round(pingpong);
}

static void pingpong_on_failure(struct bench_client *client, enum client_failure kind,
                                const char *why)
{
    (void)kind;
    pingpong_fail((struct pingpong *)client, why);
}

/* One measured run into pingpong->round_trips; false with pingpong->failure set. */
static bool pingpong_measure(struct pingpong *pingpong, bool via_proxy, struct cpu_probe *probe)
{
    const struct bench_context *context = pingpong->context;
    const struct bench_options *options = context->options;
    struct client_plan_config config = {
        .proxy = via_proxy ? &options->proxy : NULL,
        .proxy_len = options->proxy_len,
        .target_port = upstream_port(context->upstream, UPSTREAM_ECHO),
        .user = options->auth ? options->user : NULL,
        .pass = options->auth ? options->pass : NULL,
    };
    struct client_plan *plan = client_plan_new(&config);
    if (plan == NULL) {
        pingpong_fail(pingpong, "out of memory");
        return false;
    }
    pingpong->client.on_ready = pingpong_on_ready;
    pingpong->client.on_failure = pingpong_on_failure;
    client_open(&pingpong->client, context->loop, plan);
    uint64_t limit = context_deadline(OPEN_TIMEOUT_S + options->warmup_s + options->duration_s);
    cpu_probe_start(probe, via_proxy ? options->proxy_pid : 0);
    loop_run_until(context->loop, &pingpong->done, limit);
    cpu_probe_stop(probe);
    client_plan_free(plan);
    if (!pingpong->client.watch.closed)
        loop_close(&pingpong->client.watch);
    if (!pingpong->done && pingpong->client.state != CLIENT_READY) {
        char why[120];
        snprintf(why, sizeof(why), "the tunnel did not open (stuck in %s)",
                 client_state_name(pingpong->client.state));
        pingpong_fail(pingpong, why);
    } else if (!pingpong->done) {
        pingpong_fail(pingpong, "a round trip never came back");
    }
    /* A clean end closes with no message in flight; any failure may leave one half-way. */
    if (pingpong->failed)
        pingpong->traffic.inexact++;
    context_settle(context, SETTLE_MS);
    return !pingpong->failed;
}

static int pingpong_prepare(struct pingpong *pingpong, const struct bench_context *context)
{
    memset(pingpong, 0, sizeof(*pingpong));
    pingpong->context = context;
    pingpong->size = context->options->message_size;
    pingpong->message = malloc(pingpong->size);
    pingpong->echo = malloc(pingpong->size);
    if (pingpong->message == NULL || pingpong->echo == NULL)
        return -1;
    for (size_t i = 0; i < pingpong->size; i++)
        pingpong->message[i] = (uint8_t)('a' + i % 26);
    pingpong->client.watch.fd = -1;
    return 0;
}

static void pingpong_reset(struct pingpong *pingpong, struct bench_histogram *round_trips)
{
    pingpong->round_trips = round_trips;
    pingpong->done = pingpong->failed = false;
    pingpong->sent = pingpong->got = 0;
    memset(&pingpong->traffic, 0, sizeof(pingpong->traffic));
}

/* What one pass reports: a row each, beside the same figure of the direct pass. */
static const struct pingpong_row {
    const char *label;
    const char *key;
    double percentile; /* 0: the number of round trips instead */
    int decimals;
    bool per_round; /* lines per round too (the count only mirrors the mean round trip) */
} pingpong_rows[] = {
    {"round trip p50 (us)", "p50_us", 50.0, 1, true},
    {"round trip p99 (us)", "p99_us", 99.0, 1, true},
    {"round trip p99.9 (us)", "p999_us", 99.9, 1, true},
    {"round trips", "round_trips", 0.0, 0, false},
};
#define PINGPONG_ROWS (sizeof(pingpong_rows) / sizeof(pingpong_rows[0]))

/* What the rounds add up to. */
struct pingpong_rounds {
    unsigned done; /* rounds with both passes measured */
    double proxy[PINGPONG_ROWS][BENCH_MAX_ROUNDS];
    double direct[PINGPONG_ROWS][BENCH_MAX_ROUNDS];
    struct cpu_probe proxy_probes[BENCH_MAX_ROUNDS];
    unsigned proxied_passes; /* attempted, a failed one included */
    /* Summed over the proxied passes, a failed one included: scripts/soak compares the sums
     * with the proxy's byte counters, so every byte through it must be counted once. */
    struct bench_traffic proxied_traffic;
};

static void pingpong_record(const struct bench_histogram *round_trips,
                            double figures[PINGPONG_ROWS][BENCH_MAX_ROUNDS], unsigned round)
{
    for (size_t i = 0; i < PINGPONG_ROWS; i++) {
        double percentile = pingpong_rows[i].percentile;
        figures[i][round] = percentile > 0 ? histogram_percentile_us(round_trips, percentile)
                                           : (double)histogram_count(round_trips);
    }
}

/* One pass of the current round into *rounds; false with pingpong->failure set. Every pass
 * opens its own tunnel and warms it up for --warmup before measuring: the same for both
 * sides, whichever goes first. */
static bool pingpong_round_pass(struct pingpong *pingpong, struct bench_histogram *round_trips,
                                bool via_proxy, struct pingpong_rounds *rounds)
{
    unsigned round = rounds->done;
    struct cpu_probe direct_probe;
    histogram_reset(round_trips);
    pingpong_reset(pingpong, round_trips);
    bool measured = pingpong_measure(pingpong, via_proxy,
                                     via_proxy ? &rounds->proxy_probes[round] : &direct_probe);
    if (via_proxy) {
        rounds->proxied_passes++;
        context_traffic_add(&rounds->proxied_traffic, &pingpong->traffic);
    }
    if (measured)
        pingpong_record(round_trips, via_proxy ? rounds->proxy : rounds->direct, round);
    return measured;
}

static bool pingpong_round(struct pingpong *pingpong, struct bench_histogram *round_trips,
                           struct pingpong_rounds *rounds)
{
    const struct bench_context *context = pingpong->context;
    bool proxy_first = !context_round_goes_direct_first(rounds->done);
    context_progress(context, "pingpong: round %u of %u, %s first", rounds->done + 1,
                     context->options->rounds, proxy_first ? "proxy" : "direct");
    if (!pingpong_round_pass(pingpong, round_trips, proxy_first, rounds) ||
        !pingpong_round_pass(pingpong, round_trips, !proxy_first, rounds))
        return false;
    rounds->done++;
    return true;
}

static void pingpong_report(const struct bench_context *context,
                            const struct pingpong_rounds *rounds)
{
    struct bench_report *report = context->report;
    unsigned done = rounds->done;
    for (size_t i = 0; i < PINGPONG_ROWS; i++) {
        const struct pingpong_row *row = &pingpong_rows[i];
        const double *proxy = rounds->proxy[i];
        const double *direct = rounds->direct[i];
        if (row->per_round)
            report_compare_rounds(report, row->label, row->key, proxy, direct, done,
                                  row->decimals);
        else
            report_compare_ratio(report, row->label, row->key, report_median(proxy, done),
                                 report_median(direct, done),
                                 report_median_ratio(proxy, direct, done), row->decimals);
    }
    context_report_cpu_mean(context, rounds->proxy_probes, rounds->done);
    context_report_traffic(context, &rounds->proxied_traffic);
}

int pingpong_run(const struct bench_context *context)
{
    const struct bench_options *options = context->options;
    char title[200];
    snprintf(title, sizeof(title), "pingpong: one tunnel, %zu-byte messages, %.1f s, %u round%s",
             options->message_size, options->duration_s, options->rounds,
             options->rounds == 1 ? "" : "s");
    report_section(context->report, "pingpong", title);
    context_progress(context, "pingpong: %u rounds of direct and via %s, %.1f s each",
                     options->rounds, options->proxy_text, options->duration_s);
    struct pingpong pingpong;
    struct bench_histogram *round_trips = histogram_new();
    struct pingpong_rounds rounds = {.done = 0};
    int result = -1;
    if (pingpong_prepare(&pingpong, context) != 0 || round_trips == NULL) {
        report_failure(context->report, "out of memory");
        goto out;
    }
    while (rounds.done < options->rounds) {
        if (!pingpong_round(&pingpong, round_trips, &rounds)) {
            report_failure(context->report, pingpong.failure);
            if (rounds.proxied_passes > 0)
                context_report_traffic(context, &rounds.proxied_traffic);
            goto out;
        }
    }
    pingpong_report(context, &rounds);
    result = 0;
out:
    histogram_free(round_trips);
    free(pingpong.message);
    free(pingpong.echo);
    return result;
}
