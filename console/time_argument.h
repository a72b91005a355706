/* time_argument: the times socks5ctl's history options take — ISO 8601 dates and times (UTC
 * unless an offset is given) or a span ago (30s, 15m, 2h, 7d) — read without I/O. */
#ifndef TIME_ARGUMENT_H
#define TIME_ARGUMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads text into milliseconds since the Unix epoch (UTC). Accepted:
 *   2026-12-01                      midnight UTC
 *   2026-12-01T10:00  (or a space for the T), optional :SS and .fff (1 to 3 digits)
 *   ...Z, ...+02:00, ...-0530, ...+02  the time's offset from UTC (none = UTC)
 *   30s 15m 2h 7d                   that long before now_ms (digits and one unit)
 * Years 1970..9999; fields in range (the day in its month, leap years counted). False with
 * *problem, a short phrase, for anything else, text of length bytes included in full. */
bool time_argument_parse(const char *text, size_t length, int64_t now_ms, int64_t *unix_ms,
                         const char **problem);

#endif
