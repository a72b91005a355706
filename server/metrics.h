/* metrics: a worker's usage counters (every one the original report kept; the server's are
 * their sum) and the record of one client connection for the access log and the admin. */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "net.h"

struct user;

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

/* One client connection as the report recorded it. */
struct connection_record {
    uint64_t id;          /* stable for the life of the server */
    int64_t started_ms;   /* realtime */
    int64_t ended_ms;     /* 0 while live */
    struct user *user;    /* referenced; NULL until authenticated */
    char client[NET_ADDRESS_TEXT_MAX];
    char destination_address[NET_ADDRESS_TEXT_MAX]; /* "-" until connected */
    char *destination;    /* as the client sent it, "name:port"; NULL until the request */
    uint64_t bytes_up;    /* counter.h: read from other threads */
    uint64_t bytes_down;
    uint8_t status;       /* RFC 1928 reply code; 0 = success */
    bool replied;         /* a reply to the request was sent: status is final */
};

/* total += part, field by field, reading part with relaxed atomics: each figure is exact as
 * of some moment during the call (the sum is not one instant across workers). */
void metrics_add_up(struct metrics *total, const struct metrics *part);

struct connection_record *connection_record_create(uint64_t id, const char *client);
void connection_record_free(struct connection_record *record);
/* Writes the access-log line of a finished connection. */
void connection_record_log(const struct connection_record *record);

#endif
