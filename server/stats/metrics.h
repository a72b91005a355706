/* metrics: a worker's usage counters, bumped on its own thread and summed across workers when
 * read (the server's figures). */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

/* One worker's counters, bumped only on its thread (counter_add) and read by any
 * (counter_read); the server's figures are the sum over workers (metrics_add_up). */
struct metrics {
    uint64_t connections_total;
    uint64_t connections_current;
    uint64_t bytes_up;   /* client → remote */
    uint64_t bytes_down; /* remote → client */
    uint64_t send_errors;
    uint64_t receive_errors;
    uint64_t dns_errors;
    uint64_t server_errors;
    uint64_t unsupported_input;
    uint64_t dns_connections; /* requests that named a domain */
    uint64_t ipv4_connections;
    uint64_t ipv6_connections;
    uint64_t auth_errors;
    uint64_t host_unreachable;
    uint64_t connection_refused;
    uint64_t accept_paused; /* times accepting paused for lack of descriptors or slots */
};

/* The counters a refused SOCKS5 request can bump, named so that socks5_failure can say which
 * one each failure cause counts as. */
enum metric_counter {
    METRIC_NONE, /* counted nowhere */
    METRIC_HOST_UNREACHABLE,
    METRIC_CONNECTION_REFUSED,
    METRIC_DNS_ERRORS,
    METRIC_SERVER_ERRORS,
    METRIC_UNSUPPORTED_INPUT,
};

/* Adds one to counter (nothing for METRIC_NONE); on the worker's thread, like counter_add. */
void metrics_count(struct metrics *metrics, enum metric_counter counter);

/* total += part, field by field, reading part with relaxed atomics: each figure is exact as
 * of some moment during the call (the sum is not one instant across workers). */
void metrics_add_up(struct metrics *total, const struct metrics *part);

#endif
