/* prometheus_text: the metrics endpoint's body — the Prometheus text exposition format 0.0.4
 * written from one snapshot of the server's figures, its names derived from the registry. */
#ifndef PROMETHEUS_TEXT_H
#define PROMETHEUS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "latency_histogram.h"
#include "metrics.h"

/* The label value of the users summed together past --metrics-max-users. */
#define PROMETHEUS_OTHER_USERS "other"

/* A growing text; failed stays true once memory ran out (the text is then incomplete). */
struct prometheus_buffer {
    char *data;
    size_t length;
    size_t capacity;
    bool failed;
};

void prometheus_buffer_free(struct prometheus_buffer *buffer);

struct prometheus_user {
    const char *name;
    uint64_t bytes_up;
    uint64_t bytes_down;
    uint64_t connections_total;
    uint64_t connections_live;
};

/* Everything one scrape shows, read at one moment by the caller. */
struct prometheus_snapshot {
    const struct metrics *metrics; /* summed over workers and the admin port */
    uint64_t users;                /* in the users table */
    uint64_t admin_sessions;
    int64_t started_ms;            /* wall clock */
    const struct latency_histogram *handshake;
    const struct latency_histogram *connect;
    /* Reordered in place: most bytes first. The first max_users get series of their own, the
     * rest (and a user actually named "other") are summed under user="other". */
    struct prometheus_user *user_rows;
    size_t user_count;
    size_t max_users;
};

/* Appends the exposition of snapshot to out; false when out of memory. */
bool prometheus_text_write(struct prometheus_snapshot *snapshot, struct prometheus_buffer *out);

/* The series a registry metric is shown as: its family (the sample's name), and a label that
 * sets it apart from the family's other members (label NULL when it has the family alone). */
struct prometheus_series {
    const char *family;
    const char *label;
    const char *label_value;
    const char *help; /* the family's */
};

/* family_text holds the family name when it is derived from the registry key. */
void prometheus_series_of(size_t metric_index, struct prometheus_series *series,
                          char *family_text, size_t family_size);

#define PROMETHEUS_FAMILY_MAX 96

#endif
