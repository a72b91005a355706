/* compact_units: numbers in the few screen columns the dashboard gives them — bytes, rates,
 * durations, clock times — and the names of RFC 1928 reply codes. */
#include "compact_units.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

static void format_scaled(double value, char *out, size_t size)
{
    static const char units[] = "KMGTPE";
    size_t unit = 0;
    value /= 1024.0;
    while (value >= 1023.95 && unit + 1 < sizeof(units) - 1) {
        value /= 1024.0;
        unit++;
    }
    if (value < 9.95)
        snprintf(out, size, "%.1f%c", value, units[unit]);
    else
        snprintf(out, size, "%.0f%c", value, units[unit]);
}

void compact_bytes(uint64_t bytes, char *out, size_t size)
{
    if (bytes < 1024) {
        snprintf(out, size, "%" PRIu64, bytes);
        return;
    }
    format_scaled((double)bytes, out, size);
}

void compact_rate(double per_second, char *out, size_t size)
{
    if (!(per_second >= 0.5)) {
        snprintf(out, size, "0");
        return;
    }
    if (per_second < 1023.5) {
        snprintf(out, size, "%.0f", per_second);
        return;
    }
    format_scaled(per_second, out, size);
}

void compact_count_rate(double per_second, char *out, size_t size)
{
    if (!(per_second > 0.0))
        snprintf(out, size, "0");
    else if (per_second < 99.95)
        snprintf(out, size, "%.1f", per_second);
    else
        snprintf(out, size, "%.0f", per_second);
}

void compact_duration(uint64_t seconds, char *out, size_t size)
{
    if (seconds < 60)
        snprintf(out, size, "%" PRIu64 "s", seconds);
    else if (seconds < 3600)
        snprintf(out, size, "%" PRIu64 "m%02" PRIu64 "s", seconds / 60, seconds % 60);
    else if (seconds < 86400)
        snprintf(out, size, "%" PRIu64 "h%02" PRIu64 "m", seconds / 3600, seconds / 60 % 60);
    else
        snprintf(out, size, "%" PRIu64 "d%02" PRIu64 "h", seconds / 86400, seconds / 3600 % 24);
}

void compact_duration_ms(uint64_t milliseconds, char *out, size_t size)
{
    if (milliseconds < 1000)
        snprintf(out, size, "%" PRIu64 "ms", milliseconds);
    else
        compact_duration(milliseconds / 1000, out, size);
}

void compact_clock(int64_t unix_ms, char *out, size_t size)
{
    time_t seconds = (time_t)(unix_ms / 1000);
    struct tm local;
    if (localtime_r(&seconds, &local) == NULL || strftime(out, size, "%H:%M:%S", &local) == 0)
        snprintf(out, size, "-");
}

static const char *const reply_names[][2] = {
    { "ok", "succeeded" },
    { "failed", "general SOCKS server failure" },
    { "denied", "connection not allowed by ruleset" },
    { "no-net", "network unreachable" },
    { "no-host", "host unreachable" },
    { "refused", "connection refused" },
    { "ttl", "TTL expired" },
    { "no-cmd", "command not supported" },
    { "no-atyp", "address type not supported" },
};

const char *reply_short_name(uint64_t status)
{
    return status < sizeof(reply_names) / sizeof(reply_names[0]) ? reply_names[status][0] : "other";
}

const char *reply_name(uint64_t status)
{
    return status < sizeof(reply_names) / sizeof(reply_names[0]) ? reply_names[status][1]
                                                                   : "unassigned reply code";
}
