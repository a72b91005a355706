/* bench_scrape: what one Prometheus scrape of socks5d costs — GET /metrics over a fresh
 * connection, timed from connect to the server's close, its answer's size. */
#include "bench_scrape.h"

#include "bench_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SCRAPE_TIMEOUT_S 10
#define MAX_SCRAPES 101

static const char REQUEST[] = "GET /metrics HTTP/1.1\r\nHost: socks5-bench\r\n"
                              "Accept: text/plain;version=0.0.4\r\n\r\n";

static double now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

/* One GET: its time and body size, or -1 with why. */
static int scrape_once(const struct sockaddr_storage *address, socklen_t address_len,
                       double *elapsed_ms, size_t *body_bytes, char *why, size_t why_size)
{
    double started = now_ms();
    int fd = socket(address->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, why_size, "socket: %s", strerror(errno));
        return -1;
    }
    struct timeval timeout = { .tv_sec = SCRAPE_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (connect(fd, (const struct sockaddr *)address, address_len) != 0 ||
        send(fd, REQUEST, sizeof(REQUEST) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(REQUEST) - 1)) {
        snprintf(why, why_size, "metrics endpoint: %s", strerror(errno));
        close(fd);
        return -1;
    }
    /* Read to the server's close (it sends Connection: close), keeping only the head. */
    char head[512];
    size_t head_length = 0, total = 0;
    char chunk[65536];
    ssize_t got;
    while ((got = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
        size_t keep = sizeof(head) - 1 - head_length;
        if (keep > (size_t)got)
            keep = (size_t)got;
        memcpy(head + head_length, chunk, keep);
        head_length += keep;
        total += (size_t)got;
    }
    int error = got < 0 ? errno : 0;
    close(fd);
    *elapsed_ms = now_ms() - started;
    head[head_length] = '\0';
    const char *body = strstr(head, "\r\n\r\n");
    if (error != 0 || strncmp(head, "HTTP/1.1 200 ", 13) != 0 || body == NULL) {
        snprintf(why, why_size, "metrics endpoint answered %.40s%s%s", head,
                 error ? ": " : "", error ? strerror(error) : "");
        return -1;
    }
    *body_bytes = total - (size_t)(body + 4 - head);
    return 0;
}

int scrape_measure(const struct sockaddr_storage *address, socklen_t address_len, unsigned count,
                   struct scrape_figures *figures, char *why, size_t why_size)
{
    double times[MAX_SCRAPES];
    if (count == 0 || count > MAX_SCRAPES)
        count = MAX_SCRAPES;
    for (unsigned i = 0; i < count; i++)
        if (scrape_once(address, address_len, &times[i], &figures->body_bytes, why, why_size) != 0)
            return -1;
    figures->median_ms = report_median(times, count);
    figures->min_ms = times[0];
    figures->max_ms = times[0];
    for (unsigned i = 1; i < count; i++) {
        if (times[i] < figures->min_ms)
            figures->min_ms = times[i];
        if (times[i] > figures->max_ms)
            figures->max_ms = times[i];
    }
    return 0;
}

void scrape_report(struct bench_report *report, const char *what, const char *prefix,
                   unsigned count, const struct scrape_figures *figures)
{
    char label[128], key[64];
    snprintf(label, sizeof(label), "scrape %s: ms, median of %u", what, count);
    snprintf(key, sizeof(key), "%s_ms", prefix);
    report_value(report, label, key, figures->median_ms, 2);
    snprintf(label, sizeof(label), "scrape %s: fastest ms", what);
    snprintf(key, sizeof(key), "%s_min_ms", prefix);
    report_value(report, label, key, figures->min_ms, 2);
    snprintf(label, sizeof(label), "scrape %s: slowest ms", what);
    snprintf(key, sizeof(key), "%s_max_ms", prefix);
    report_value(report, label, key, figures->max_ms, 2);
    snprintf(label, sizeof(label), "scrape %s: body bytes", what);
    snprintf(key, sizeof(key), "%s_bytes", prefix);
    report_value(report, label, key, (double)figures->body_bytes, 0);
}
