/* bench_udp: the UDP scenario — associations opened with UDP ASSOCIATE, each keeping one datagram
 * in flight to a UDP echo served here: datagrams/s and round trips, via the proxy and direct. */
#include "bench_udp.h"

#include "bench_context.h"
#include "bench_loop.h"
#include "bench_options.h"
#include "bench_proc.h"
#include "bench_report.h"
#include "bench_stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HANDSHAKE_TIMEOUT_S 10
/* A datagram not back by then is counted lost and the association sends the next one: UDP may
 * drop, and one loss must not stall an association for the rest of the pass. */
#define LOSS_TIMEOUT_NS 500000000ull
#define SWEEP_INTERVAL_NS 50000000ull
#define SETTLE_MS 200
#define SOCKS_UDP_HEADER_MAX 262 /* RSV RSV FRAG ATYP, a 255-byte name with its length, port */
#define DATAGRAM_MAX 65536
/* What each datagram's payload starts with: the association's index and its sequence number,
 * so that a late answer to a datagram counted lost is told apart from the awaited one. */
#define TAG_SIZE 12

static const size_t udp_payloads[] = {64, 1200}; /* a DNS-sized and a QUIC-sized datagram */
static const unsigned udp_association_levels[] = {1, 100};
/* Associations held for the memory figures: enough that the per-association cost stands out of
 * the proxy's page-granular RSS. */
#define IDLE_ASSOCIATIONS 1000

struct udp_echo {
    struct bench_watch watch; /* first: the watch pointer is the echo pointer */
    uint16_t port;
};

struct udp_pass;

struct udp_association {
    struct bench_watch watch; /* first: the watch pointer is the association pointer */
    struct udp_pass *pass;
    uint32_t index;
    int control;       /* the UDP ASSOCIATE's TCP connection; -1 direct */
    uint64_t sequence; /* of the datagram in flight */
    uint64_t sent_ns;
    bool in_flight;
};

/* One measured pass: every association through the proxy, or every one direct. */
struct udp_pass {
    const struct bench_context *context;
    const struct udp_echo *echo;
    struct udp_association *associations;
    unsigned count;
    size_t payload;
    uint8_t datagram[SOCKS_UDP_HEADER_MAX + DATAGRAM_MAX];
    size_t header_len; /* the SOCKS UDP header in front of each payload; 0 direct */
    uint64_t measure_from_ns;
    uint64_t measure_until_ns;
    struct bench_histogram *round_trips;
    uint64_t answered; /* datagrams sent in the measured window that came back */
    uint64_t lost;
    bool failed;
    char failure[200];
};

static uint8_t received[DATAGRAM_MAX];

static void udp_fail(struct udp_pass *pass, const char *why)
{
    if (pass->failed)
        return;
    pass->failed = true;
    snprintf(pass->failure, sizeof(pass->failure), "%s", why);
}

/* ---- the echo upstream ---- */

static void echo_on_event(struct bench_watch *watch, uint32_t events)
{
    (void)events;
    for (;;) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof(from);
        ssize_t got = recvfrom(watch->fd, received, sizeof(received), 0,
                               (struct sockaddr *)&from, &from_len);
        if (got < 0)
            return; /* EAGAIN: drained (edge-triggered) */
        /* A full socket buffer drops the answer: the sender counts it lost, as UDP would. */
        sendto(watch->fd, received, (size_t)got, MSG_DONTWAIT, (struct sockaddr *)&from, from_len);
    }
}

static int echo_start(struct bench_loop *loop, struct udp_echo *echo)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof(address);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &length) != 0) {
        close(fd);
        return -1;
    }
    memset(echo, 0, sizeof(*echo));
    echo->watch.fd = fd;
    echo->watch.on_event = echo_on_event;
    echo->port = ntohs(address.sin_port);
    if (loop_add(loop, &echo->watch) != 0) {
        close(fd);
        return -1;
    }
    return 0;
}

/* ---- UDP ASSOCIATE, step by step on a blocking socket (setup, not measured) ---- */

static const char *reply_meaning(uint8_t code)
{
    static const char *const meanings[] = {
        "succeeded", "general failure", "not allowed by ruleset", "network unreachable",
        "host unreachable", "connection refused", "TTL expired", "command not supported",
        "address type not supported",
    };
    return code < sizeof(meanings) / sizeof(meanings[0]) ? meanings[code] : "unknown code";
}

static bool control_read(int fd, uint8_t *buffer, size_t length, const char *what, char *why,
                         size_t why_size)
{
    size_t got = 0;
    while (got < length) {
        ssize_t n = recv(fd, buffer + got, length - got, 0);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            snprintf(why, why_size, "proxy closed the connection instead of answering %s", what);
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            snprintf(why, why_size, "no answer to %s within %d s", what, HANDSHAKE_TIMEOUT_S);
        else
            snprintf(why, why_size, "reading the answer to %s: %s", what, strerror(errno));
        return false;
    }
    return true;
}

static bool control_write(int fd, const uint8_t *bytes, size_t length, char *why, size_t why_size)
{
    if (send(fd, bytes, length, MSG_NOSIGNAL) == (ssize_t)length)
        return true;
    snprintf(why, why_size, "writing to the proxy: %s", strerror(errno));
    return false;
}

/* The greeting, RFC 1929 if asked for, then UDP ASSOCIATE with an all-zero address and port
 * (RFC 1928 section 7: the client does not know its address yet). On success *control is the
 * TCP connection the association lives on and *relay the address datagrams go to. */
static bool udp_associate(const struct bench_options *options, int *control,
                          struct sockaddr_storage *relay, socklen_t *relay_len, char *why,
                          size_t why_size)
{
    int fd = socket(options->proxy.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, why_size, "socket: %s", strerror(errno));
        return false;
    }
    struct timeval timeout = {.tv_sec = HANDSHAKE_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (connect(fd, (const struct sockaddr *)&options->proxy, options->proxy_len) != 0) {
        snprintf(why, why_size, "connecting to the proxy: %s", strerror(errno));
        close(fd);
        return false;
    }
    uint8_t method = options->auth ? 0x02 : 0x00;
    uint8_t answer[SOCKS_UDP_HEADER_MAX];
    if (!control_write(fd, (const uint8_t[]){0x05, 0x01, method}, 3, why, why_size) ||
        !control_read(fd, answer, 2, "the greeting", why, why_size))
        goto fail;
    if (answer[0] != 0x05 || answer[1] != method) {
        snprintf(why, why_size, "proxy refused method 0x%02x (answered %02x %02x)", method,
                 answer[0], answer[1]);
        goto fail;
    }
    if (options->auth) {
        uint8_t login[3 + 2 * BENCH_CREDENTIAL_MAX];
        size_t user_len = strlen(options->user), pass_len = strlen(options->pass);
        login[0] = 0x01;
        login[1] = (uint8_t)user_len;
        memcpy(login + 2, options->user, user_len);
        login[2 + user_len] = (uint8_t)pass_len;
        memcpy(login + 3 + user_len, options->pass, pass_len);
        if (!control_write(fd, login, 3 + user_len + pass_len, why, why_size) ||
            !control_read(fd, answer, 2, "the login", why, why_size))
            goto fail;
        if (answer[1] != 0x00) {
            snprintf(why, why_size, "proxy refused the username/password (answered %02x %02x)",
                     answer[0], answer[1]);
            goto fail;
        }
    }
    static const uint8_t request[] = {0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
    if (!control_write(fd, request, sizeof(request), why, why_size) ||
        !control_read(fd, answer, 4, "UDP ASSOCIATE", why, why_size))
        goto fail;
    if (answer[0] != 0x05 || answer[1] != 0x00) {
        snprintf(why, why_size, "proxy refused UDP ASSOCIATE: REP 0x%02x (%s)", answer[1],
                 reply_meaning(answer[1]));
        goto fail;
    }
    uint8_t atyp = answer[3];
    size_t address_len = atyp == 0x01 ? 4 : atyp == 0x04 ? 16 : 0;
    if (address_len == 0) {
        snprintf(why, why_size, "UDP ASSOCIATE reply with ATYP 0x%02x: not an IP relay", atyp);
        goto fail;
    }
    if (!control_read(fd, answer, address_len + 2, "UDP ASSOCIATE", why, why_size))
        goto fail;
    uint16_t port;
    memcpy(&port, answer + address_len, 2);
    static const uint8_t unspecified[16];
    memset(relay, 0, sizeof(*relay));
    if (memcmp(answer, unspecified, address_len) == 0) {
        /* "Any address" names no host: the relay is on the proxy's own. */
        memcpy(relay, &options->proxy, options->proxy_len);
        *relay_len = options->proxy_len;
        if (relay->ss_family == AF_INET)
            ((struct sockaddr_in *)relay)->sin_port = port;
        else
            ((struct sockaddr_in6 *)relay)->sin6_port = port;
    } else if (atyp == 0x01) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)relay;
        in4->sin_family = AF_INET;
        memcpy(&in4->sin_addr, answer, 4);
        in4->sin_port = port;
        *relay_len = sizeof(*in4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)relay;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, answer, 16);
        in6->sin6_port = port;
        *relay_len = sizeof(*in6);
    }
    *control = fd;
    return true;
fail:
    close(fd);
    return false;
}

/* ---- the measured exchange ---- */

static void association_send(struct udp_association *association)
{
    struct udp_pass *pass = association->pass;
    uint8_t *tag = pass->datagram + pass->header_len;
    association->sequence++;
    memcpy(tag, &association->index, 4);
    memcpy(tag + 4, &association->sequence, 8);
    association->sent_ns = bench_now_ns();
    association->in_flight = association->sent_ns < pass->measure_until_ns;
    if (!association->in_flight)
        return;
    /* EAGAIN or ENOBUFS: as good as lost; the sweep sends the next one. */
    send(association->watch.fd, pass->datagram, pass->header_len + pass->payload, MSG_DONTWAIT);
}

/* The payload of an answer through the proxy, after its SOCKS UDP header; NULL if malformed. */
static const uint8_t *answer_payload(const struct udp_pass *pass, size_t length,
                                     size_t *payload_length)
{
    if (pass->header_len == 0) {
        *payload_length = length;
        return received;
    }
    if (length < 4 || received[0] != 0 || received[1] != 0 || received[2] != 0)
        return NULL;
    size_t header = received[3] == 0x01   ? 10
                    : received[3] == 0x04 ? 22
                    : received[3] == 0x03 && length > 4 ? (size_t)7 + received[4]
                                                        : SIZE_MAX;
    if (header > length)
        return NULL;
    *payload_length = length - header;
    return received + header;
}

static void association_on_event(struct bench_watch *watch, uint32_t events)
{
    (void)events;
    struct udp_association *association = (struct udp_association *)watch;
    struct udp_pass *pass = association->pass;
    for (;;) {
        ssize_t got = recv(watch->fd, received, sizeof(received), 0);
        if (got < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                /* ECONNREFUSED: the relay port is closed, the proxy gave the association up. */
                char why[120];
                snprintf(why, sizeof(why), "receiving from the %s: %s",
                         pass->header_len > 0 ? "proxy's relay" : "echo", strerror(errno));
                udp_fail(pass, why);
            }
            return;
        }
        size_t length;
        const uint8_t *payload = answer_payload(pass, (size_t)got, &length);
        if (payload == NULL || length != pass->payload) {
            udp_fail(pass, "an answer came back malformed or of another size");
            return;
        }
        uint64_t sequence;
        memcpy(&sequence, payload + 4, 8);
        if (!association->in_flight || sequence != association->sequence)
            continue; /* the late answer to a datagram already counted lost */
        if (memcmp(payload + TAG_SIZE, pass->datagram + pass->header_len + TAG_SIZE,
                   pass->payload - TAG_SIZE) != 0) {
            udp_fail(pass, "an echo came back different");
            return;
        }
        uint64_t now = bench_now_ns();
        if (association->sent_ns >= pass->measure_from_ns) {
            histogram_record(pass->round_trips, now - association->sent_ns);
            pass->answered++;
        }
        association_send(association);
    }
}

static unsigned pass_sweep(struct udp_pass *pass, uint64_t now)
{
    unsigned in_flight = 0;
    for (unsigned i = 0; i < pass->count; i++) {
        struct udp_association *association = &pass->associations[i];
        if (association->in_flight && now - association->sent_ns > LOSS_TIMEOUT_NS) {
            if (association->sent_ns >= pass->measure_from_ns)
                pass->lost++;
            association_send(association);
        }
        in_flight += association->in_flight;
    }
    return in_flight;
}

static void pass_close(struct udp_pass *pass)
{
    for (unsigned i = 0; i < pass->count; i++) {
        struct udp_association *association = &pass->associations[i];
        if (association->watch.fd >= 0 && !association->watch.closed)
            loop_close(&association->watch);
        if (association->control >= 0)
            close(association->control);
    }
    free(pass->associations);
    pass->associations = NULL;
}

/* Opens the pass's associations: UDP ASSOCIATE each through the proxy, or a plain socket each
 * connected to the echo. */
static bool pass_open(struct udp_pass *pass, bool via_proxy)
{
    const struct bench_options *options = pass->context->options;
    pass->associations = calloc(pass->count, sizeof(*pass->associations));
    if (pass->associations == NULL) {
        udp_fail(pass, "out of memory");
        return false;
    }
    for (unsigned i = 0; i < pass->count; i++) {
        pass->associations[i].watch.fd = -1;
        pass->associations[i].control = -1;
    }
    struct sockaddr_in echo = {.sin_family = AF_INET, .sin_port = htons(pass->echo->port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (unsigned i = 0; i < pass->count; i++) {
        struct udp_association *association = &pass->associations[i];
        association->pass = pass;
        association->index = i;
        struct sockaddr_storage target;
        socklen_t target_len = sizeof(echo);
        memcpy(&target, &echo, sizeof(echo));
        char why[200];
        if (via_proxy &&
            !udp_associate(options, &association->control, &target, &target_len, why,
                           sizeof(why))) {
            udp_fail(pass, why);
            return false;
        }
        int fd = socket(target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&target, target_len) != 0) {
            snprintf(why, sizeof(why), "UDP socket to the %s: %s",
                     via_proxy ? "proxy's relay" : "echo", strerror(errno));
            if (fd >= 0)
                close(fd);
            udp_fail(pass, why);
            return false;
        }
        association->watch.fd = fd;
        association->watch.on_event = association_on_event;
        if (loop_add(pass->context->loop, &association->watch) != 0) {
            udp_fail(pass, "epoll_ctl failed");
            return false;
        }
    }
    return true;
}

/* One pass: every association keeps one datagram in flight for --warmup, then for -d while
 * measured, then the answers still due get one loss timeout to come back. */
static bool pass_run(struct udp_pass *pass, bool via_proxy, struct cpu_probe *probe)
{
    const struct bench_options *options = pass->context->options;
    pass->failed = false;
    pass->answered = pass->lost = 0;
    histogram_reset(pass->round_trips);
    pass->header_len = 0;
    if (via_proxy) {
        /* RSV RSV FRAG ATYP(IPv4) 127.0.0.1 port: the echo, named in every datagram. */
        uint8_t *header = pass->datagram;
        memcpy(header, (const uint8_t[]){0, 0, 0, 0x01, 127, 0, 0, 1}, 8);
        header[8] = (uint8_t)(pass->echo->port >> 8);
        header[9] = (uint8_t)pass->echo->port;
        pass->header_len = 10;
    }
    for (size_t i = TAG_SIZE; i < pass->payload; i++)
        pass->datagram[pass->header_len + i] = (uint8_t)('a' + i % 26);
    if (pass_open(pass, via_proxy)) {
        pass->measure_from_ns = context_deadline(options->warmup_s);
        pass->measure_until_ns = pass->measure_from_ns + (uint64_t)(options->duration_s * 1e9);
        cpu_probe_start(probe, via_proxy ? options->proxy_pid : 0);
        for (unsigned i = 0; i < pass->count; i++)
            association_send(&pass->associations[i]);
        uint64_t next_sweep = bench_now_ns() + SWEEP_INTERVAL_NS;
        uint64_t give_up = pass->measure_until_ns + LOSS_TIMEOUT_NS + SWEEP_INTERVAL_NS;
        for (;;) {
            loop_run_once(pass->context->loop, 5);
            uint64_t now = bench_now_ns();
            if (pass->failed || now >= give_up)
                break;
            if (now >= next_sweep || now >= pass->measure_until_ns) {
                next_sweep = now + SWEEP_INTERVAL_NS;
                if (pass_sweep(pass, now) == 0 && now >= pass->measure_until_ns)
                    break;
            }
        }
        cpu_probe_stop(probe);
    }
    pass_close(pass);
    context_settle(pass->context, SETTLE_MS);
    if (!pass->failed && pass->answered == 0)
        udp_fail(pass, "no datagram came back");
    return !pass->failed;
}

/* ---- rounds and the report ---- */

static const struct udp_row {
    const char *label;
    const char *key;
    double percentile; /* 0: datagrams per second instead */
    int decimals;
} udp_rows[] = {
    {"datagrams/s (round trips)", "datagrams_per_s", 0.0, 0},
    {"round trip p50 (us)", "p50_us", 50.0, 1},
    {"round trip p99 (us)", "p99_us", 99.0, 1},
};
#define UDP_ROWS (sizeof(udp_rows) / sizeof(udp_rows[0]))

struct udp_rounds {
    unsigned done;
    double proxy[UDP_ROWS][BENCH_MAX_ROUNDS];
    double direct[UDP_ROWS][BENCH_MAX_ROUNDS];
    struct cpu_probe proxy_probes[BENCH_MAX_ROUNDS];
    uint64_t proxied_lost;
};

static void udp_record(const struct udp_pass *pass, double duration_s,
                       double figures[UDP_ROWS][BENCH_MAX_ROUNDS], unsigned round)
{
    for (size_t i = 0; i < UDP_ROWS; i++) {
        double percentile = udp_rows[i].percentile;
        figures[i][round] = percentile > 0
                                ? histogram_percentile_us(pass->round_trips, percentile)
                                : (double)pass->answered / duration_s;
    }
}

static bool udp_round_pass(struct udp_pass *pass, bool via_proxy, struct udp_rounds *rounds)
{
    struct cpu_probe direct_probe;
    unsigned round = rounds->done;
    if (!pass_run(pass, via_proxy, via_proxy ? &rounds->proxy_probes[round] : &direct_probe))
        return false;
    if (via_proxy)
        rounds->proxied_lost += pass->lost;
    udp_record(pass, pass->context->options->duration_s,
               via_proxy ? rounds->proxy : rounds->direct, round);
    return true;
}

/* One payload size and association count: its rounds, then its section of the report. */
static int udp_section(struct udp_pass *pass, size_t payload, unsigned count)
{
    const struct bench_context *context = pass->context;
    const struct bench_options *options = context->options;
    char key[64], title[200];
    snprintf(key, sizeof(key), "udp.p%zu.a%u", payload, count);
    snprintf(title, sizeof(title),
             "udp: %u association%s, %zu-byte datagrams, one in flight each, %.1f s, %u round%s",
             count, count == 1 ? "" : "s", payload, options->duration_s, options->rounds,
             options->rounds == 1 ? "" : "s");
    report_section(context->report, key, title);
    pass->payload = payload;
    pass->count = count;
    struct udp_rounds rounds = {.done = 0};
    while (rounds.done < options->rounds) {
        bool proxy_first = !context_round_goes_direct_first(rounds.done);
        context_progress(context, "udp %zu bytes x %u: round %u of %u, %s first", payload, count,
                         rounds.done + 1, options->rounds, proxy_first ? "proxy" : "direct");
        if (!udp_round_pass(pass, proxy_first, &rounds) ||
            !udp_round_pass(pass, !proxy_first, &rounds)) {
            report_failure(context->report, pass->failure);
            return -1;
        }
        rounds.done++;
    }
    for (size_t i = 0; i < UDP_ROWS; i++)
        report_compare_rounds(context->report, udp_rows[i].label, udp_rows[i].key,
                              rounds.proxy[i], rounds.direct[i], rounds.done,
                              udp_rows[i].decimals);
    report_value(context->report, "datagrams lost (proxied passes)", "proxied_lost",
                 (double)rounds.proxied_lost, 0);
    context_report_cpu_mean(context, rounds.proxy_probes, rounds.done);
    return 0;
}

/* ---- memory per idle association ---- */

/* Opens IDLE_ASSOCIATIONS associations, each sending one datagram to the echo (so that the
 * proxy has made its outbound socket and looked at a destination) and then going quiet, and
 * reports how much the proxy's RSS, PSS and descriptors grew per association. */
static int udp_idle_section(const struct bench_context *context, const struct udp_echo *echo)
{
    const struct bench_options *options = context->options;
    char title[120];
    snprintf(title, sizeof(title), "udp: %u idle associations (one datagram each, then quiet)",
             IDLE_ASSOCIATIONS);
    report_section(context->report, "udp.idle", title);
    if (options->proxy_pid <= 0) {
        report_failure(context->report, "no --proxy-pid: the proxy's memory cannot be read");
        return -1;
    }
    int *controls = malloc(IDLE_ASSOCIATIONS * sizeof(*controls));
    int *sockets = malloc(IDLE_ASSOCIATIONS * sizeof(*sockets));
    if (controls == NULL || sockets == NULL) {
        free(controls);
        free(sockets);
        report_failure(context->report, "out of memory");
        return -1;
    }
    long rss_before = proc_rss_kib(options->proxy_pid);
    long pss_before = proc_pss_kib(options->proxy_pid);
    long fds_before = proc_fd_count(options->proxy_pid);
    uint8_t datagram[10 + 8] = {0, 0, 0, 0x01, 127, 0, 0, 1};
    datagram[8] = (uint8_t)(echo->port >> 8);
    datagram[9] = (uint8_t)echo->port;
    unsigned opened = 0;
    char why[200] = "";
    int result = 0;
    context_progress(context, "udp: opening %u idle associations", IDLE_ASSOCIATIONS);
    while (opened < IDLE_ASSOCIATIONS) {
        struct sockaddr_storage relay;
        socklen_t relay_len = 0;
        if (!udp_associate(options, &controls[opened], &relay, &relay_len, why, sizeof(why)))
            break;
        sockets[opened] = socket(relay.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sockets[opened] < 0 ||
            connect(sockets[opened], (struct sockaddr *)&relay, relay_len) != 0 ||
            send(sockets[opened], datagram, sizeof(datagram), 0) < 0) {
            snprintf(why, sizeof(why), "the association's socket: %s", strerror(errno));
            if (sockets[opened] >= 0)
                close(sockets[opened]);
            close(controls[opened]);
            break;
        }
        opened++;
    }
    if (opened < IDLE_ASSOCIATIONS) {
        report_failure(context->report, why);
        result = -1;
    } else {
        /* Let the proxy relay the datagrams (the echo, on this thread, does not answer now). */
        nanosleep(&(struct timespec){.tv_nsec = 500000000}, NULL);
        long rss_after = proc_rss_kib(options->proxy_pid);
        long pss_after = proc_pss_kib(options->proxy_pid);
        long fds_after = proc_fd_count(options->proxy_pid);
        report_value(context->report, "associations held", "held", opened, 0);
        report_value(context->report, "proxy RSS per association (KiB)", "rss_per_association_kib",
                     (double)(rss_after - rss_before) / opened, 2);
        report_value(context->report, "proxy PSS per association (KiB)", "pss_per_association_kib",
                     (double)(pss_after - pss_before) / opened, 2);
        report_value(context->report, "proxy descriptors per association",
                     "fds_per_association", (double)(fds_after - fds_before) / opened, 2);
    }
    for (unsigned i = 0; i < opened; i++) {
        close(sockets[i]);
        close(controls[i]);
    }
    free(controls);
    free(sockets);
    return result;
}

int udp_run(const struct bench_context *context)
{
    struct udp_echo echo;
    struct udp_pass *pass = calloc(1, sizeof(*pass));
    struct bench_histogram *round_trips = histogram_new();
    if (pass == NULL || round_trips == NULL || echo_start(context->loop, &echo) != 0) {
        report_section(context->report, "udp", "udp");
        report_failure(context->report, "cannot start the UDP echo");
        free(pass);
        histogram_free(round_trips);
        return -1;
    }
    pass->context = context;
    pass->echo = &echo;
    pass->round_trips = round_trips;
    int result = 0;
    for (size_t p = 0; p < sizeof(udp_payloads) / sizeof(udp_payloads[0]); p++) {
        for (size_t a = 0; a < sizeof(udp_association_levels) / sizeof(udp_association_levels[0]);
             a++) {
            if (udp_section(pass, udp_payloads[p], udp_association_levels[a]) != 0) {
                result = -1;
                /* A proxy that refuses UDP ASSOCIATE refuses every section alike. */
                if (strstr(pass->failure, "refused") != NULL)
                    goto out;
            }
        }
    }
    if (result == 0 && udp_idle_section(context, &echo) != 0)
        result = -1;
out:
    loop_close(&echo.watch);
    histogram_free(round_trips);
    free(pass);
    return result;
}
