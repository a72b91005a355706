/* bench_client: opens one tunnel — non-blocking connect, then the SOCKS5 greeting, RFC 1929
 * auth and CONNECT step by step or pipelined in one write (or nothing, for direct runs). */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include "bench_loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What every tunnel of one run does, with its handshake bytes built once. */
struct client_plan;

struct client_plan_config {
    const struct sockaddr_storage *proxy; /* NULL = connect straight to the target */
    socklen_t proxy_len;
    const char *domain;   /* CONNECT to this name (ATYP 3); NULL = to 127.0.0.1 (ATYP 1) */
    uint16_t target_port; /* on 127.0.0.1, or on the name */
    const char *user;     /* NULL = offer "no authentication" only */
    const char *pass;
    bool pipelined;
    /* A PROXY protocol v2 header (client 198.18.0.1) before the greeting, in its write. */
    bool proxy_header;
    /* Sent right after the CONNECT request (in the same write when pipelined). */
    const uint8_t *early;
    size_t early_len;
};

struct client_plan *client_plan_new(const struct client_plan_config *config);
void client_plan_free(struct client_plan *plan);

enum client_state {
    CLIENT_IDLE,
    CLIENT_CONNECTING,
    CLIENT_WRITING,
    CLIENT_READING_METHOD,
    CLIENT_READING_AUTH,
    CLIENT_READING_REPLY,
    CLIENT_READY, /* the tunnel belongs to the scenario now */
};

/* Refusals are the proxy saying no (connection refused, method, auth, REP code): a benchmark
 * stops on them. Anything else (reset, early close) may be load and is counted. */
enum client_failure { CLIENT_FAILURE_REFUSED, CLIENT_FAILURE_BROKEN };

/* Embed in the scenario's connection object; bench_watch comes first so one pointer serves. */
struct bench_client {
    struct bench_watch watch;
    const struct client_plan *plan;
    struct bench_loop *loop;
    enum client_state state;
    unsigned step;     /* index of the segment being written */
    size_t out_off;    /* bytes of that segment already written */
    size_t in_len;     /* bytes in in[] not yet parsed */
    uint8_t in[320];   /* room for the largest reply: 4 + 1 + 255 + 2 */
    uint64_t started_ns;
    /* Called once the target is reached, with any bytes that arrived behind the reply. The
     * callback owns the socket and must keep reading until EAGAIN (edge-triggered). */
    void (*on_ready)(struct bench_client *client, const uint8_t *extra, size_t extra_len);
    void (*on_failure)(struct bench_client *client, enum client_failure kind, const char *why);
};

/* Starts a tunnel. On a synchronous failure on_failure has already been called. */
void client_open(struct bench_client *client, struct bench_loop *loop,
                 const struct client_plan *plan);
const char *client_state_name(enum client_state state);

#endif
