/* metrics: a worker's usage counters, bumped on its own thread and summed across workers when
 * read (the server's figures). */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "admin_metrics.h"

/* One worker's counters, one per line of ADMIN_METRICS and in its order, bumped only on its
 * thread (counter_add) and read by any (counter_read); the server's figures are the sum over
 * workers (metrics_add_up). */
struct metrics {
#define METRICS_FIELD(name, kind, meaning) uint64_t name;
    ADMIN_METRICS(METRICS_FIELD)
#undef METRICS_FIELD
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
    METRIC_RULE_DENIALS,
    METRIC_LIMIT_REFUSALS,
};

/* Adds one to counter (nothing for METRIC_NONE); on the worker's thread, like counter_add. */
void metrics_count(struct metrics *metrics, enum metric_counter counter);

/* total += part, field by field, reading part with relaxed atomics: each figure is exact as
 * of some moment during the call (the sum is not one instant across workers). */
void metrics_add_up(struct metrics *total, const struct metrics *part);

/* The counter of admin_metrics[index] (a relaxed atomic read). */
uint64_t metrics_value(const struct metrics *metrics, size_t index);

#endif
