/* metrics_endpoint: the Prometheus scrape port (--metrics-listen) — a minimal HTTP/1.x server
 * for GET and HEAD /metrics on the admin's event loop, one answer per connection. */
#ifndef METRICS_ENDPOINT_H
#define METRICS_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_loop;
struct prometheus_buffer;
struct metrics_endpoint;

/* Fills body with the exposition (on the endpoint's loop); false when it could not (500). */
typedef bool (*metrics_endpoint_render)(void *context, struct prometheus_buffer *body);

struct metrics_endpoint_settings {
    size_t max_connections;      /* at once; past it the listener pauses */
    uint32_t request_timeout_ms; /* for the request head, then for the answer to be taken */
};

/* Serves on loop; takes listening_fd, also on failure (NULL, errno set). */
struct metrics_endpoint *metrics_endpoint_create(struct event_loop *loop, int listening_fd,
                                                 const struct metrics_endpoint_settings *settings,
                                                 metrics_endpoint_render render, void *context);
/* Closes every connection and the listening socket; on the loop's thread, or once it no
 * longer runs. */
void metrics_endpoint_destroy(struct metrics_endpoint *endpoint);

/* The listening socket, still the endpoint's (an upgrade passes it on). */
int metrics_endpoint_listening_fd(const struct metrics_endpoint *endpoint);

#endif
