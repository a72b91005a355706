/* log: leveled diagnostic lines and access lines, each stamped with an ISO-8601 UTC time.
 * Diagnostics go to stderr; access lines to stderr, a file, or nowhere. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current_level = LOG_INFO;
static FILE *access_stream;
static bool access_stream_owned;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

bool log_level_from_name(const char *name, enum log_level *level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_set_level(enum log_level level) { current_level = level; }
bool log_enabled(enum log_level level) { return level <= current_level; }

int64_t log_realtime_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void log_format_time(char out[32], int64_t realtime_ms)
{
    time_t seconds = (time_t)(realtime_ms / 1000);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    size_t length = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(out + length, 32 - length, ".%03dZ", (int)(realtime_ms % 1000));
}

/* One fprintf per line so that concurrent writers never interleave inside a line. */
static void write_line(FILE *stream, const char *tag, const char *format, va_list arguments)
{
    char stamp[32];
    char text[2048];
    log_format_time(stamp, log_realtime_ms());
    vsnprintf(text, sizeof(text), format, arguments);
    fprintf(stream, "%s %s %s\n", stamp, tag, text);
}

void log_message(enum log_level level, const char *format, ...)
{
    if (!log_enabled(level))
        return;
    va_list arguments;
    va_start(arguments, format);
    write_line(stderr, level_names[level], format, arguments);
    va_end(arguments);
}

bool log_open_access(const char *path)
{
    log_close_access();
    if (strcmp(path, "off") == 0)
        return true;
    if (strcmp(path, "-") == 0) {
        access_stream = stderr;
        return true;
    }
    access_stream = fopen(path, "ae");
    if (access_stream == NULL)
        return false;
    setvbuf(access_stream, NULL, _IOLBF, 0);
    access_stream_owned = true;
    return true;
}

bool log_access_enabled(void) { return access_stream != NULL; }

void log_access(const char *format, ...)
{
    if (access_stream == NULL)
        return;
    va_list arguments;
    va_start(arguments, format);
    write_line(access_stream, "access", format, arguments);
    va_end(arguments);
}

void log_close_access(void)
{
    if (access_stream_owned)
        fclose(access_stream);
    access_stream = NULL;
    access_stream_owned = false;
}
