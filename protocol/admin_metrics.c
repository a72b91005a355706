/* admin_metrics: the registry of socks5d's global counters — name, kind and meaning, in the
 * order the metrics record (PROTOCOL.md 8.7) lists them — for the server, console and spec. */
#include "admin_metrics.h"

const struct admin_metric_info admin_metrics[ADMIN_METRIC_COUNT] = {
#define ADMIN_METRIC_INFO(name, kind, meaning) { #name, ADMIN_METRIC_##kind, meaning },
    ADMIN_METRICS(ADMIN_METRIC_INFO)
#undef ADMIN_METRIC_INFO
};
