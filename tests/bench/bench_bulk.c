/* bench_bulk: the throughput scenario — S streams each download or upload B bytes, through the
 * proxy and straight to the upstream, in rounds of one pass each, for MB/s and their ratio.
 *
 * A stream still moving when -d runs out is cut gracefully, so that the bytes the clients count
 * stay exactly those the proxy relays: the client half-closes, the upstream (sink or source)
 * stops on that end-of-stream and closes, and the client reads what was still in flight up to
 * the end-of-stream (at most BENCH_DRAIN_S). Closing at once would leave bytes that the proxy
 * read and the client never did. */
#include "bench_bulk.h"

#include "bench_client.h"
#include "bench_context.h"
#include "bench_loop.h"
#include "bench_options.h"
#include "bench_report.h"
#include "bench_upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define IO_CHUNK (256 * 1024)
/* Opening a handful of tunnels on loopback takes milliseconds; this is only a safety net. */
#define OPEN_TIMEOUT_S 10.0
#define SETTLE_MS 300

struct bulk_pass;

struct bulk_stream {
    struct bench_client client; /* first: the watch pointer is the client pointer */
    struct bulk_pass *pass;
    uint64_t moved;      /* payload bytes received (down) or sent (up) */
    size_t header_sent;  /* of the request header */
    uint8_t ack[UPSTREAM_HEADER_SIZE];
    size_t ack_got;
    bool ready;
    bool finished;
    bool cut;     /* by -d: half-closed, reading to the end-of-stream */
    bool drained; /* cut, and the end-of-stream came */
};

/* One measured transfer: S streams, one direction, through the proxy or direct. */
struct bulk_pass {
    const struct bench_context *context;
    bool download;
    uint64_t bytes;
    struct bulk_stream *streams;
    unsigned stream_count;
    unsigned ready_count;
    unsigned finished_count;
    unsigned cut_count;
    unsigned cut_ended; /* drained or broken */
    bool all_ready;
    bool all_finished;
    bool all_drained;
    bool failed;
    struct bench_traffic traffic; /* every byte through the tunnels, header and ack included */
    char failure[200];
    uint8_t header[UPSTREAM_HEADER_SIZE];
    uint8_t *chunk; /* read target (down) and payload source (up) */
};

static void bulk_fail(struct bulk_pass *pass, struct bulk_stream *stream, const char *why)
{
    if (!pass->failed) {
        pass->failed = true;
        snprintf(pass->failure, sizeof(pass->failure), "%s", why);
    }
    if (!stream->client.watch.closed)
        loop_close(&stream->client.watch);
    /* Ends both waits: the failure is reported instead of a figure. */
    pass->all_ready = pass->all_finished = true;
}

static void bulk_stream_finished(struct bulk_stream *stream)
{
    struct bulk_pass *pass = stream->pass;
    stream->finished = true;
    loop_close(&stream->client.watch);
    if (++pass->finished_count == pass->stream_count)
        pass->all_finished = true;
}

static void bulk_download(struct bulk_stream *stream, uint32_t events)
{
    struct bulk_pass *pass = stream->pass;
    while (stream->moved < pass->bytes) {
        ssize_t got = recv(stream->client.watch.fd, pass->chunk, IO_CHUNK, 0);
        if (got < 0 && errno == EAGAIN)
            return;
        if (got <= 0) {
            bulk_fail(pass, stream, got == 0 ? "download ended early" : strerror(errno));
            return;
        }
        stream->moved += (uint64_t)got;
        pass->traffic.down += (uint64_t)got;
        if ((size_t)got < IO_CHUNK && stream->moved < pass->bytes &&
            loop_short_read_is_dry(events))
            return;
    }
    bulk_stream_finished(stream);
}

static bool bulk_upload_ack(struct bulk_stream *stream)
{
    struct bulk_pass *pass = stream->pass;
    while (stream->ack_got < sizeof(stream->ack)) {
        ssize_t got = recv(stream->client.watch.fd, stream->ack + stream->ack_got,
                           sizeof(stream->ack) - stream->ack_got, 0);
        if (got < 0 && errno == EAGAIN)
            return false;
        if (got <= 0) {
            bulk_fail(pass, stream, got == 0 ? "upload not acknowledged" : strerror(errno));
            return false;
        }
        stream->ack_got += (size_t)got;
        pass->traffic.down += (uint64_t)got;
    }
    if (upstream_header_decode(stream->ack) != pass->bytes) {
        bulk_fail(pass, stream, "upload acknowledged with a different byte count");
        return false;
    }
    return true;
}

static void bulk_upload(struct bulk_stream *stream)
{
    struct bulk_pass *pass = stream->pass;
    while (stream->moved < pass->bytes) {
        uint64_t left = pass->bytes - stream->moved;
        size_t chunk = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
        ssize_t sent = send(stream->client.watch.fd, pass->chunk, chunk, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno != EAGAIN)
                bulk_fail(pass, stream, strerror(errno));
            return;
        }
        stream->moved += (uint64_t)sent;
        pass->traffic.up += (uint64_t)sent;
    }
    if (bulk_upload_ack(stream))
        bulk_stream_finished(stream);
}

/* The header goes out when every stream is ready, so the clock starts with data moving. */
static bool bulk_send_header(struct bulk_stream *stream)
{
    struct bulk_pass *pass = stream->pass;
    while (stream->header_sent < sizeof(pass->header)) {
        ssize_t sent = send(stream->client.watch.fd, pass->header + stream->header_sent,
                            sizeof(pass->header) - stream->header_sent, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno != EAGAIN)
                bulk_fail(pass, stream, strerror(errno));
            return false;
        }
        stream->header_sent += (size_t)sent;
        pass->traffic.up += (uint64_t)sent;
    }
    return true;
}

static void bulk_drive(struct bulk_stream *stream, uint32_t events)
{
    if (stream->finished || stream->client.watch.closed || !stream->pass->all_ready)
        return;
    if (!bulk_send_header(stream))
        return;
    if (stream->pass->download)
        bulk_download(stream, events);
    else
        bulk_upload(stream);
}

static void bulk_on_event(struct bench_watch *watch, uint32_t events)
{
    bulk_drive((struct bulk_stream *)watch, events);
}

/* A cut stream reads (and counts) what is still in flight until the end-of-stream. */
static void bulk_drain(struct bulk_stream *stream, uint32_t events)
{
    struct bulk_pass *pass = stream->pass;
    ssize_t got;
    for (;;) {
        got = recv(stream->client.watch.fd, pass->chunk, IO_CHUNK, 0);
        if (got < 0 && errno == EAGAIN)
            return;
        if (got <= 0)
            break;
        pass->traffic.down += (uint64_t)got;
        if ((size_t)got < IO_CHUNK && loop_short_read_is_dry(events))
            return;
    }
    /* An error leaves the stream neither finished nor drained: its bytes count as inexact. */
    stream->drained = got == 0;
    loop_close(&stream->client.watch);
    if (++pass->cut_ended == pass->cut_count)
        pass->all_drained = true;
}

static void bulk_on_drain_event(struct bench_watch *watch, uint32_t events)
{
    bulk_drain((struct bulk_stream *)watch, events);
}

static void bulk_on_ready(struct bench_client *client, const uint8_t *extra, size_t extra_len)
{
    struct bulk_stream *stream = (struct bulk_stream *)client;
    struct bulk_pass *pass = stream->pass;
    (void)extra;
    if (extra_len > 0) {
        bulk_fail(pass, stream, "data arrived before any was asked for");
        return;
    }
    int one = 1;
    setsockopt(client->watch.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    client->watch.on_event = bulk_on_event;
    stream->ready = true;
    if (++pass->ready_count == pass->stream_count)
        pass->all_ready = true;
}

static void bulk_on_failure(struct bench_client *client, enum client_failure kind,
                            const char *why)
{
    (void)kind;
    struct bulk_stream *stream = (struct bulk_stream *)client;
    bulk_fail(stream->pass, stream, why);
}

static int bulk_pass_open(struct bulk_pass *pass, const struct sockaddr_storage *proxy)
{
    const struct bench_context *context = pass->context;
    const struct bench_options *options = context->options;
    enum upstream_kind kind = pass->download ? UPSTREAM_SOURCE : UPSTREAM_SINK;
    struct client_plan_config config = {
        .proxy = proxy,
        .proxy_len = options->proxy_len,
        .domain = NULL,
        .target_port = upstream_port(context->upstream, kind),
        .user = options->auth ? options->user : NULL,
        .pass = options->auth ? options->pass : NULL,
    };
    struct client_plan *plan = client_plan_new(&config);
    if (plan == NULL)
        return -1;
    for (unsigned i = 0; i < pass->stream_count; i++) {
        struct bulk_stream *stream = &pass->streams[i];
        stream->pass = pass;
        stream->client.on_ready = bulk_on_ready;
        stream->client.on_failure = bulk_on_failure;
        client_open(&stream->client, context->loop, plan);
    }
    loop_run_until(context->loop, &pass->all_ready, context_deadline(OPEN_TIMEOUT_S));
    client_plan_free(plan);
    if (!pass->all_ready && !pass->failed) {
        pass->failed = true;
        snprintf(pass->failure, sizeof(pass->failure), "streams did not open in %.0f s",
                 OPEN_TIMEOUT_S);
    }
    return pass->failed ? -1 : 0;
}

static void bulk_pass_close(struct bulk_pass *pass)
{
    for (unsigned i = 0; i < pass->stream_count; i++) {
        if (!pass->streams[i].client.watch.closed && pass->streams[i].client.watch.fd >= 0)
            loop_close(&pass->streams[i].client.watch);
    }
}

/* -d ran out with streams still moving: each half-closes and reads until the end-of-stream
 * (see the top of this file), for at most BENCH_DRAIN_S. */
static void bulk_pass_cut(struct bulk_pass *pass)
{
    for (unsigned i = 0; i < pass->stream_count; i++) {
        struct bulk_stream *stream = &pass->streams[i];
        if (stream->finished || stream->client.watch.closed)
            continue;
        stream->cut = true;
        pass->cut_count++;
    }
    if (pass->cut_count == 0)
        return;
    for (unsigned i = 0; i < pass->stream_count; i++) {
        struct bulk_stream *stream = &pass->streams[i];
        if (!stream->cut)
            continue;
        stream->client.watch.on_event = bulk_on_drain_event;
        if (shutdown(stream->client.watch.fd, SHUT_WR) == 0) {
            bulk_drain(stream, LOOP_EVENTS_UNKNOWN);
            continue;
        }
        loop_close(&stream->client.watch);
        if (++pass->cut_ended == pass->cut_count)
            pass->all_drained = true;
    }
    loop_run_until(pass->context->loop, &pass->all_drained, context_deadline(BENCH_DRAIN_S));
}

/* Streams that neither finished nor drained may have bytes that only one side counted. */
static void bulk_pass_count_inexact(struct bulk_pass *pass)
{
    for (unsigned i = 0; i < pass->stream_count; i++) {
        if (!pass->streams[i].finished && !pass->streams[i].drained)
            pass->traffic.inexact++;
    }
}

/* Returns MB/s (10^6 bytes per second), or -1 with pass->failure set. */
static double bulk_pass_measure(struct bulk_pass *pass, const struct sockaddr_storage *proxy,
                                struct cpu_probe *probe)
{
    const struct bench_options *options = pass->context->options;
    if (bulk_pass_open(pass, proxy) != 0) {
        bulk_pass_close(pass);
        bulk_pass_count_inexact(pass);
        return -1.0;
    }
    upstream_header_encode(pass->header, pass->bytes);
    cpu_probe_start(probe, proxy != NULL ? options->proxy_pid : 0);
    uint64_t started = bench_now_ns();
    /* Kick every stream: the ready edges were consumed while waiting for the others. */
    for (unsigned i = 0; i < pass->stream_count; i++)
        bulk_drive(&pass->streams[i], LOOP_EVENTS_UNKNOWN);
    loop_run_until(pass->context->loop, &pass->all_finished,
                   started + (uint64_t)(options->duration_s * 1e9));
    double seconds = (double)(bench_now_ns() - started) / 1e9;
    cpu_probe_stop(probe);
    uint64_t moved = 0;
    for (unsigned i = 0; i < pass->stream_count; i++)
        moved += pass->streams[i].moved;
    if (!pass->failed)
        bulk_pass_cut(pass);
    bulk_pass_close(pass);
    bulk_pass_count_inexact(pass);
    if (pass->failed)
        return -1.0;
    /* Cut short by -d: the rate so far is still a rate (bytes are counted as they move). */
    return (double)moved / seconds / 1e6;
}

/* What one pass tells the section. */
struct bulk_result {
    double mb_s; /* -1 on failure */
    unsigned cut;
    struct bench_traffic traffic;
};

static struct bulk_result bulk_measure(const struct bench_context *context, bool download,
                                       bool via_proxy, struct cpu_probe *probe, char *failure,
                                       size_t failure_size)
{
    const struct bench_options *options = context->options;
    struct bulk_pass pass = {
        .context = context,
        .download = download,
        .bytes = options->bulk_bytes,
        .stream_count = options->streams,
    };
    pass.streams = calloc(pass.stream_count, sizeof(*pass.streams));
    pass.chunk = malloc(IO_CHUNK);
    struct bulk_result result = {.mb_s = -1.0};
    if (pass.streams == NULL || pass.chunk == NULL) {
        snprintf(failure, failure_size, "out of memory");
    } else {
        memset(pass.chunk, 'x', IO_CHUNK);
        result.mb_s = bulk_pass_measure(&pass, via_proxy ? &options->proxy : NULL, probe);
        if (result.mb_s < 0)
            snprintf(failure, failure_size, "%s: %s", via_proxy ? "proxy" : "direct",
                     pass.failure);
        result.cut = pass.cut_count;
        result.traffic = pass.traffic;
    }
    free(pass.chunk);
    free(pass.streams);
    context_settle(context, SETTLE_MS);
    return result;
}

/* What the rounds of one direction add up to. */
struct bulk_rounds {
    unsigned done; /* rounds with both passes measured */
    double proxy_mb_s[BENCH_MAX_ROUNDS];
    double direct_mb_s[BENCH_MAX_ROUNDS];
    struct cpu_probe proxy_probes[BENCH_MAX_ROUNDS];
    unsigned proxied_passes; /* attempted, a failed one included */
    /* Summed over the proxied passes, a failed one included: scripts/soak compares the sums
     * with the proxy's byte counters, so every byte through it must be counted once. */
    unsigned proxied_cut;
    struct bench_traffic proxied_traffic;
};

/* One pass of the current round into *rounds; -1 with failure set. */
static int bulk_round_pass(const struct bench_context *context, bool download, bool via_proxy,
                           struct bulk_rounds *rounds, char *failure, size_t failure_size)
{
    unsigned round = rounds->done;
    struct cpu_probe direct_probe;
    struct cpu_probe *probe = via_proxy ? &rounds->proxy_probes[round] : &direct_probe;
    struct bulk_result result =
        bulk_measure(context, download, via_proxy, probe, failure, failure_size);
    if (via_proxy) {
        rounds->proxied_passes++;
        rounds->proxied_cut += result.cut;
        context_traffic_add(&rounds->proxied_traffic, &result.traffic);
        rounds->proxy_mb_s[round] = result.mb_s;
    } else {
        rounds->direct_mb_s[round] = result.mb_s;
    }
    return result.mb_s < 0 ? -1 : 0;
}

static int bulk_round(const struct bench_context *context, bool download,
                      struct bulk_rounds *rounds, char *failure, size_t failure_size)
{
    bool proxy_first = !context_round_goes_direct_first(rounds->done);
    context_progress(context, "bulk %s: round %u of %u, %s first", download ? "down" : "up",
                     rounds->done + 1, context->options->rounds,
                     proxy_first ? "proxy" : "direct");
    if (bulk_round_pass(context, download, proxy_first, rounds, failure, failure_size) != 0 ||
        bulk_round_pass(context, download, !proxy_first, rounds, failure, failure_size) != 0)
        return -1;
    rounds->done++;
    return 0;
}

static void bulk_report(const struct bench_context *context, const struct bulk_rounds *rounds)
{
    report_compare_rounds(context->report, "throughput (MB/s)", "mb_s", rounds->proxy_mb_s,
                          rounds->direct_mb_s, rounds->done, 1);
    context_report_cpu_mean(context, rounds->proxy_probes, rounds->done);
    report_value(context->report, "streams cut at -d (drained)", "proxied_cut",
                 rounds->proxied_cut, 0);
    context_report_traffic(context, &rounds->proxied_traffic);
}

static int bulk_direction(const struct bench_context *context, bool download)
{
    const struct bench_options *options = context->options;
    char key[64];
    char title[200];
    snprintf(key, sizeof(key), "bulk.%s.s%u", download ? "down" : "up", options->streams);
    snprintf(title, sizeof(title),
             "bulk %s: %u streams x %.1f MiB each (capped at %.1f s), %u round%s",
             download ? "download" : "upload", options->streams,
             (double)options->bulk_bytes / 1048576.0, options->duration_s, options->rounds,
             options->rounds == 1 ? "" : "s");
    report_section(context->report, key, title);
    context_progress(context, "bulk %s: %u streams, %u rounds of direct and via %s",
                     download ? "down" : "up", options->streams, options->rounds,
                     options->proxy_text);
    struct bulk_rounds rounds = {.done = 0};
    char failure[240];
    while (rounds.done < options->rounds) {
        if (bulk_round(context, download, &rounds, failure, sizeof(failure)) != 0) {
            report_failure(context->report, failure);
            if (rounds.proxied_passes > 0)
                context_report_traffic(context, &rounds.proxied_traffic);
            return -1;
        }
    }
    bulk_report(context, &rounds);
    return 0;
}

int bulk_run(const struct bench_context *context)
{
    int result = 0;
    if (context->options->directions & DIRECTION_DOWN)
        result |= bulk_direction(context, true);
    if (context->options->directions & DIRECTION_UP)
        result |= bulk_direction(context, false);
    return result;
}
