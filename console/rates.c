/* rates: per-second rates of growing counters — the change of a counter between two samples
 * divided by the time between them, for the dashboard's connections/s, bytes/s and errors/s. */
#include "rates.h"

void rate_reset(struct rate *rate)
{
    *rate = (struct rate){ 0 };
}

void rate_sample(struct rate *rate, uint64_t value, double now)
{
    if (!rate->sampled) {
        rate->last_value = value;
        rate->last_time = now;
        rate->sampled = true;
        return;
    }
    double elapsed = now - rate->last_time;
    if (!(elapsed > 0.0))
        return;
    if (value < rate->last_value) {
        /* Counters only grow while one server runs: a smaller one means a new server. */
        rate->per_second = 0.0;
    } else {
        rate->per_second = (double)(value - rate->last_value) / elapsed;
    }
    rate->known = true;
    rate->last_value = value;
    rate->last_time = now;
}

double rate_per_second(const struct rate *rate)
{
    return rate->known ? rate->per_second : 0.0;
}

bool rate_known(const struct rate *rate)
{
    return rate->known;
}

void rate_add(struct rate *sum, const struct rate *rate)
{
    if (!rate->known)
        return;
    sum->per_second = (sum->known ? sum->per_second : 0.0) + rate->per_second;
    sum->known = true;
}
