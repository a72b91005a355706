/* metrics: a worker's usage counters, bumped on its own thread and summed across workers when
 * read (the server's figures). */
#include "metrics.h"

#include "counter.h"

#include <stddef.h>

/* metrics_add_up and metrics_value read the struct as an array of counters in registry order. */
_Static_assert(sizeof(struct metrics) == ADMIN_METRIC_COUNT * sizeof(uint64_t),
               "struct metrics holds one uint64_t per ADMIN_METRICS line");

void metrics_add_up(struct metrics *total, const struct metrics *part)
{
    /* The struct is nothing but uint64_t counters. */
    uint64_t *sum = (uint64_t *)total;
    const uint64_t *add = (const uint64_t *)part;
    for (size_t i = 0; i < sizeof(*total) / sizeof(uint64_t); i++)
        sum[i] += counter_read(&add[i]);
}

uint64_t metrics_value(const struct metrics *metrics, size_t index)
{
    return counter_read(&((const uint64_t *)metrics)[index]);
}

void metrics_count(struct metrics *metrics, enum metric_counter counter)
{
    switch (counter) {
    case METRIC_NONE:
        return;
    case METRIC_HOST_UNREACHABLE:
        counter_add(&metrics->host_unreachable, 1);
        return;
    case METRIC_CONNECTION_REFUSED:
        counter_add(&metrics->connection_refused, 1);
        return;
    case METRIC_DNS_ERRORS:
        counter_add(&metrics->dns_errors, 1);
        return;
    case METRIC_SERVER_ERRORS:
        counter_add(&metrics->server_errors, 1);
        return;
    case METRIC_UNSUPPORTED_INPUT:
        counter_add(&metrics->unsupported_input, 1);
        return;
    case METRIC_RULE_DENIALS:
        counter_add(&metrics->rule_denials, 1);
        return;
    case METRIC_LIMIT_REFUSALS:
        counter_add(&metrics->limit_refusals, 1);
        return;
    }
}
