/* bench_scrape: what one Prometheus scrape of socks5d costs — GET /metrics over a fresh
 * connection, timed from connect to the server's close, its answer's size. */
#ifndef BENCH_SCRAPE_H
#define BENCH_SCRAPE_H

#include <stddef.h>
#include <sys/socket.h>

struct bench_report;

struct scrape_figures {
    double median_ms;
    double min_ms;
    double max_ms;
    size_t body_bytes; /* of the last scrape */
};

/* count scrapes one after the other (blocking, 10 s each at most). 0, or -1 with why. */
int scrape_measure(const struct sockaddr_storage *address, socklen_t address_len, unsigned count,
                   struct scrape_figures *figures, char *why, size_t why_size);
/* Adds the rows <prefix>_ms (median), <prefix>_min_ms, <prefix>_max_ms and <prefix>_bytes. */
void scrape_report(struct bench_report *report, const char *what, const char *prefix,
                   unsigned count, const struct scrape_figures *figures);

#endif
