/* metrics_scrape: one Prometheus scrape's figures — the same counters the admin's metrics and
 * user-metrics commands read, taken at one settled moment — written as the exposition. */
#ifndef METRICS_SCRAPE_H
#define METRICS_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>

struct admin_server;
struct prometheus_buffer;

/* On the admin's thread (users are removed only there, so their names stay valid throughout).
 * max_users: how many users get series of their own (the rest are summed as "other"). */
bool metrics_scrape_write(struct admin_server *server, size_t max_users,
                          struct prometheus_buffer *out);

#endif
