/* rates: per-second rates of growing counters — the change of a counter between two samples
 * divided by the time between them, for the dashboard's connections/s, bytes/s and errors/s. */
#ifndef RATES_H
#define RATES_H

#include <stdbool.h>
#include <stdint.h>

/* One counter's last sample and the rate measured between it and the one before. */
struct rate {
    uint64_t last_value;
    double last_time;  /* seconds, from any monotonic clock */
    double per_second; /* valid when known */
    bool sampled;      /* last_value/last_time hold a sample */
    bool known;        /* per_second holds a measured rate */
};

/* Forgets everything: the next sample starts over (e.g. after a reconnect). */
void rate_reset(struct rate *rate);

/* Takes a sample at now (seconds). The rate becomes (value - previous) / (now - previous
 * time). A counter that went backwards (the server restarted) starts over with rate 0; a
 * sample no later than the previous one is ignored, so the rate is never divided by 0. */
void rate_sample(struct rate *rate, uint64_t value, double now);

/* The rate, or 0 while fewer than two samples were taken. */
double rate_per_second(const struct rate *rate);
bool rate_known(const struct rate *rate);

/* Adds a rate measured apart (another server's) to sum, which starts reset: known once one
 * added is. Only its per-second figure means anything; it is not sampled further. */
void rate_add(struct rate *sum, const struct rate *rate);

#endif
