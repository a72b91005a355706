/* log: leveled diagnostics (to stderr) and access lines (to stderr, a file, or nowhere), each
 * stamped with an ISO-8601 UTC time — or, on systemd's journal, prefixed with its priority. */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Returns false when name is none of error, warn, info, debug. */
bool log_level_from_name(const char *name, enum log_level *level);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

void log_message(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* path "-" = stderr, "off" = nowhere, anything else is appended to. Returns false on error. */
bool log_open_access(const char *path);
bool log_access_enabled(void);
void log_access(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log_close_access(void);

/* Writes "2026-11-25T09:20:01.123Z" (24 characters + NUL) for a realtime in milliseconds. */
void log_format_time(char out[32], int64_t realtime_ms);
int64_t log_realtime_ms(void);

#endif
