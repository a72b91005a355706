/* log: leveled diagnostics (to stderr) and access lines (to stderr, a file, or nowhere), each
 * stamped with an ISO-8601 UTC time — or, on systemd's journal, prefixed with its priority. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;
static FILE *access_stream;
static bool access_stream_owned;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* syslog(3) priorities of the levels: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int level_priorities[] = { 3, 4, 6, 7 };
#define ACCESS_PRIORITY 6

static pthread_once_t journal_check = PTHREAD_ONCE_INIT;
static bool stderr_is_journal;

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

/* Relaxed atomics: a reload sets the level while every thread logs. */
void log_set_level(enum log_level level)
{
    __atomic_store_n(&current_level, level, __ATOMIC_RELAXED);
}
bool log_enabled(enum log_level level)
{
    return level <= __atomic_load_n(&current_level, __ATOMIC_RELAXED);
}

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

/* systemd connects stderr to the journal and says so in JOURNAL_STREAM ("<dev>:<inode>" of
 * that stream); comparing it with fd 2 tells whether stderr is still that stream or was
 * redirected since (by a wrapper script, or by the shell of someone debugging). */
static void check_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long device, inode;
    char rest;
    struct stat status;
    stderr_is_journal = stream != NULL &&
                        sscanf(stream, "%llu:%llu%c", &device, &inode, &rest) == 2 &&
                        fstat(STDERR_FILENO, &status) == 0 &&
                        (unsigned long long)status.st_dev == device &&
                        (unsigned long long)status.st_ino == inode;
}

/* One fprintf per line so that concurrent writers never interleave inside a line. The journal
 * stamps each line itself and reads its priority from a "<N>" prefix (sd-daemon(3)). */
static void write_line(FILE *stream, int priority, const char *tag, const char *format,
                       va_list arguments)
{
    char text[2048];
    vsnprintf(text, sizeof(text), format, arguments);
    pthread_once(&journal_check, check_journal);
    if (stream == stderr && stderr_is_journal) {
        fprintf(stream, "<%d>%s %s\n", priority, tag, text);
        return;
    }
    char stamp[32];
    log_format_time(stamp, log_realtime_ms());
    fprintf(stream, "%s %s %s\n", stamp, tag, text);
}

void log_message(enum log_level level, const char *format, ...)
{
    if (!log_enabled(level))
        return;
    va_list arguments;
    va_start(arguments, format);
    write_line(stderr, level_priorities[level], level_names[level], format, arguments);
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
    write_line(access_stream, ACCESS_PRIORITY, "access", format, arguments);
    va_end(arguments);
}

void log_close_access(void)
{
    if (access_stream_owned)
        fclose(access_stream);
    access_stream = NULL;
    access_stream_owned = false;
}
