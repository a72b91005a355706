/* compact_units: numbers in the few screen columns the dashboard gives them — bytes, rates,
 * durations, clock times — and the names of RFC 1928 reply codes. */
#ifndef COMPACT_UNITS_H
#define COMPACT_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* 999, 1.5K, 12.3M, 123G: bytes in powers of 1024, at most 5 characters. */
void compact_bytes(uint64_t bytes, char *out, size_t size);
/* Same for a bytes/s rate (no unit suffix); "0" below 0.5. */
void compact_rate(double per_second, char *out, size_t size);
/* 0.4, 12.5, 1234: an events/s rate. */
void compact_count_rate(double per_second, char *out, size_t size);
/* 42s, 5m06s, 3h04m, 12d03h. */
void compact_duration(uint64_t seconds, char *out, size_t size);
/* 350ms below a second, then as compact_duration. */
void compact_duration_ms(uint64_t milliseconds, char *out, size_t size);
/* HH:MM:SS in local time. */
void compact_clock(int64_t unix_ms, char *out, size_t size);

/* "ok", "refused", ...: a short name for an RFC 1928 reply code, at most 7 characters. */
const char *reply_short_name(uint64_t status);
/* "succeeded", "connection refused", ...: RFC 1928's name. */
const char *reply_name(uint64_t status);

#endif
