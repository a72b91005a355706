/* service_notify: socks5d's side of systemd's notify protocol — READY, RELOADING, STOPPING, a
 * STATUS line kept current, and watchdog pings sent only while every event loop runs. */
#include "service_notify.h"

#include "event_loop.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

/* The STATUS line is compared with the last one sent this often, never per connection. */
#define STATUS_PERIOD_MS 1000
/* Heartbeats each watched loop counts per ping interval: a loop late by a few beats (a long
 * batch of events, a busy machine) has still beaten by the time of the next ping. */
#define BEATS_PER_PING 4
/* How long a take-over waits for systemd to read MAINPID=. */
#define BARRIER_TIMEOUT_US 5000000

/* A watched loop's proof of life: a timer of its own that counts on its own thread. A loop
 * that hangs stops counting, and the main loop, seeing no new beat, withholds the ping. */
struct heartbeat {
    struct service_notify *notify;
    struct event_loop *loop;
    struct event_timer timer;
    char name[SERVICE_LOOP_NAME_MAX];
    uint64_t beats;              /* atomic: written by the watched loop's thread */
    uint64_t beats_seen;         /* the main thread's: read at this ping's check */
    uint64_t beats_at_last_ping; /* the main thread's */
};

struct service_notify {
    bool enabled; /* started by systemd with a notify socket */
    bool stopping;
    bool send_failure_logged;
    struct event_loop *main_loop;
    void (*read_counts)(void *context, struct service_counts *counts);
    void *context;
    struct event_timer status_timer;
    char reload_failure[160]; /* shown in STATUS until a reload works */
    char status[320];         /* the STATUS text last sent */
    uint64_t ping_ms;         /* half the watchdog interval; 0 = no watchdog */
    uint64_t beat_ms;
    struct event_timer ping_timer;
    struct heartbeat *heartbeats; /* one per watched loop */
    size_t heartbeat_count;
    size_t stalled; /* the heartbeat that held the ping back; SIZE_MAX = none */
};

static uint64_t monotonic_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

/* Said once: a socket that refuses one message refuses the next, and the log must not fill
 * with it once a second. */
static void check_sent(struct service_notify *notify, int result)
{
    if (result >= 0 || notify->send_failure_logged)
        return;
    notify->send_failure_logged = true;
    log_message(LOG_WARN, "cannot notify systemd: %s", strerror(-result));
}

static const char *plural(size_t count) { return count == 1 ? "" : "s"; }

static void format_status(struct service_notify *notify, char *out, size_t size)
{
    struct service_counts counts = { 0 };
    notify->read_counts(notify->context, &counts);
    int length = snprintf(out, size, "%s%s%s%s%zu tunnel%s, %zu user%s, %zu admin session%s",
                          notify->stopping ? "stopping; " : "",
                          notify->reload_failure[0] != '\0' ? "reload failed: " : "",
                          notify->reload_failure, notify->reload_failure[0] != '\0' ? "; " : "",
                          counts.tunnels, plural(counts.tunnels), counts.users,
                          plural(counts.users), counts.admin_sessions,
                          plural(counts.admin_sessions));
    if (length < 0)
        out[0] = '\0';
}

static void on_status_timer(struct event_loop *loop, struct event_timer *timer)
{
    struct service_notify *notify = timer->data;
    char status[sizeof(notify->status)];
    format_status(notify, status, sizeof(status));
    if (strcmp(status, notify->status) != 0) {
        memcpy(notify->status, status, sizeof(status));
        check_sent(notify, sd_notifyf(0, "STATUS=%s", notify->status));
    }
    event_loop_timer_start(loop, timer, STATUS_PERIOD_MS);
}

/* Sends state (READY=1, STOPPING=1) together with the current STATUS line. */
static void send_state(struct service_notify *notify, const char *state)
{
    format_status(notify, notify->status, sizeof(notify->status));
    check_sent(notify, sd_notifyf(0, "%s\nSTATUS=%s", state, notify->status));
}

/* ---- watchdog ---- */

static void on_heartbeat(struct event_loop *loop, struct event_timer *timer)
{
    struct heartbeat *heartbeat = timer->data;
    __atomic_add_fetch(&heartbeat->beats, 1, __ATOMIC_RELAXED);
    event_loop_timer_start(loop, timer, heartbeat->notify->beat_ms);
}

/* On the heartbeat's own loop (event_loop_call): timers belong to their loop's thread. */
static void heartbeat_start(void *argument)
{
    struct heartbeat *heartbeat = argument;
    event_loop_timer_start(heartbeat->loop, &heartbeat->timer, heartbeat->notify->beat_ms);
}

static void heartbeat_stop(void *argument)
{
    struct heartbeat *heartbeat = argument;
    event_loop_timer_stop(heartbeat->loop, &heartbeat->timer);
}

/* Returns the index of a heartbeat that has not beaten since the last ping, or SIZE_MAX.
 * The main loop needs no heartbeat: this check runs on it. */
static size_t find_stalled_loop(struct service_notify *notify)
{
    for (size_t i = 0; i < notify->heartbeat_count; i++) {
        struct heartbeat *heartbeat = &notify->heartbeats[i];
        heartbeat->beats_seen = __atomic_load_n(&heartbeat->beats, __ATOMIC_RELAXED);
        if (heartbeat->beats_seen == heartbeat->beats_at_last_ping)
            return i;
    }
    return SIZE_MAX;
}

static void on_ping_timer(struct event_loop *loop, struct event_timer *timer)
{
    struct service_notify *notify = timer->data;
    event_loop_timer_start(loop, timer, notify->ping_ms);
    size_t stalled = find_stalled_loop(notify);
    if (stalled != SIZE_MAX) {
        if (notify->stalled != stalled)
            log_message(LOG_ERROR, "watchdog: %s's event loop has not run for %llu ms: "
                                   "no ping to systemd until it does",
                        notify->heartbeats[stalled].name, (unsigned long long)notify->ping_ms);
        notify->stalled = stalled;
        return;
    }
    if (notify->stalled != SIZE_MAX) {
        log_message(LOG_WARN, "watchdog: %s's event loop runs again",
                    notify->heartbeats[notify->stalled].name);
        notify->stalled = SIZE_MAX;
    }
    for (size_t i = 0; i < notify->heartbeat_count; i++)
        notify->heartbeats[i].beats_at_last_ping = notify->heartbeats[i].beats_seen;
    check_sent(notify, sd_notify(0, "WATCHDOG=1"));
}

static bool start_watchdog(struct service_notify *notify, const struct service_notify_config *config,
                           uint64_t interval_us)
{
    /* Half the interval, as sd_watchdog_enabled(3) advises: one late ping is not yet fatal. */
    notify->ping_ms = interval_us / 2000 > 0 ? interval_us / 2000 : 1;
    notify->beat_ms = notify->ping_ms / BEATS_PER_PING > 0 ? notify->ping_ms / BEATS_PER_PING : 1;
    notify->heartbeats = calloc(config->watched_count, sizeof(*notify->heartbeats));
    if (notify->heartbeats == NULL && config->watched_count > 0)
        return false;
    for (size_t i = 0; i < config->watched_count; i++) {
        struct heartbeat *heartbeat = &notify->heartbeats[notify->heartbeat_count++];
        heartbeat->notify = notify;
        heartbeat->loop = config->watched[i].loop;
        memcpy(heartbeat->name, config->watched[i].name, sizeof(heartbeat->name));
        event_timer_init(&heartbeat->timer, on_heartbeat, heartbeat);
        event_loop_call(heartbeat->loop, heartbeat_start, heartbeat);
    }
    event_loop_timer_start(notify->main_loop, &notify->ping_timer, notify->ping_ms);
    log_message(LOG_INFO, "watchdog: pinging systemd every %llu ms while all %zu event loops run",
                (unsigned long long)notify->ping_ms, config->watched_count + 1);
    return true;
}

/* WATCHDOG_PID names the process taken over: its watchdog becomes this process's along with
 * MAINPID (systemd then expects the pings from here). */
static int inherited_watchdog(pid_t taken_over_pid, uint64_t *interval_us)
{
    const char *pid = getenv("WATCHDOG_PID");
    const char *usec = getenv("WATCHDOG_USEC");
    if (pid == NULL || usec == NULL || strtoll(pid, NULL, 10) != (long long)taken_over_pid)
        return 0;
    char *end;
    unsigned long long value = strtoull(usec, &end, 10);
    if (*end != '\0' || value == 0)
        return -EINVAL;
    *interval_us = value;
    return 1;
}

/* ---- the module ---- */

struct service_notify *service_notify_create(const struct service_notify_config *config)
{
    struct service_notify *notify = calloc(1, sizeof(*notify));
    if (notify == NULL)
        return NULL;
    notify->main_loop = config->main_loop;
    notify->read_counts = config->read_counts;
    notify->context = config->context;
    notify->stalled = SIZE_MAX;
    event_timer_init(&notify->status_timer, on_status_timer, notify);
    event_timer_init(&notify->ping_timer, on_ping_timer, notify);
    const char *notify_socket = getenv("NOTIFY_SOCKET");
    if (notify_socket == NULL || notify_socket[0] == '\0')
        return notify;
    notify->enabled = true;
    event_loop_timer_start(notify->main_loop, &notify->status_timer, STATUS_PERIOD_MS);
    uint64_t interval_us = 0;
    /* Honours WATCHDOG_PID too: a watchdog meant for another process is not ours to feed. */
    int watchdog = sd_watchdog_enabled(0, &interval_us);
    if (watchdog == 0 && config->taken_over_pid > 0)
        watchdog = inherited_watchdog(config->taken_over_pid, &interval_us);
    if (watchdog < 0)
        log_message(LOG_WARN, "systemd watchdog settings unusable (%s): no pings",
                    strerror(-watchdog));
    if (watchdog > 0 && !start_watchdog(notify, config, interval_us)) {
        service_notify_destroy(notify);
        return NULL;
    }
    return notify;
}

void service_notify_destroy(struct service_notify *notify)
{
    if (notify == NULL)
        return;
    event_loop_timer_stop(notify->main_loop, &notify->status_timer);
    event_loop_timer_stop(notify->main_loop, &notify->ping_timer);
    for (size_t i = 0; i < notify->heartbeat_count; i++)
        event_loop_call(notify->heartbeats[i].loop, heartbeat_stop, &notify->heartbeats[i]);
    free(notify->heartbeats);
    free(notify);
}

void service_notify_ready(struct service_notify *notify)
{
    if (notify->enabled)
        send_state(notify, "READY=1");
}

void service_notify_reloading(struct service_notify *notify)
{
    if (!notify->enabled)
        return;
    /* MONOTONIC_USEC lets systemd (Type=notify-reload) tell this reload from an older one. */
    check_sent(notify, sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                                  (unsigned long long)monotonic_us()));
}

void service_notify_reloaded(struct service_notify *notify, const char *failure)
{
    if (!notify->enabled)
        return;
    snprintf(notify->reload_failure, sizeof(notify->reload_failure), "%s",
             failure != NULL ? failure : "");
    /* One line: a newline would start another assignment of the notify message. */
    for (char *c = notify->reload_failure; *c != '\0'; c++) {
        if ((unsigned char)*c < ' ')
            *c = ' ';
    }
    send_state(notify, "READY=1");
}

void service_notify_main_pid(struct service_notify *notify)
{
    if (!notify->enabled)
        return;
    char state[64];
    snprintf(state, sizeof(state), "MAINPID=%d\nREADY=1", (int)getpid());
    send_state(notify, state);
    /* Until systemd has read it: the process taken over exits soon after. */
    int barrier = sd_notify_barrier(0, BARRIER_TIMEOUT_US);
    if (barrier < 0)
        log_message(LOG_WARN, "systemd did not confirm the new main process: %s",
                    strerror(-barrier));
}

void service_notify_release(struct service_notify *notify)
{
    if (!notify->enabled)
        return;
    event_loop_timer_stop(notify->main_loop, &notify->status_timer);
    event_loop_timer_stop(notify->main_loop, &notify->ping_timer);
    for (size_t i = 0; i < notify->heartbeat_count; i++)
        event_loop_call(notify->heartbeats[i].loop, heartbeat_stop, &notify->heartbeats[i]);
    /* Done with the watched loops: the caller may end some (the admin's) before destroy. */
    free(notify->heartbeats);
    notify->heartbeats = NULL;
    notify->heartbeat_count = 0;
    notify->enabled = false;
}

void service_notify_stopping(struct service_notify *notify)
{
    if (!notify->enabled || notify->stopping)
        return;
    notify->stopping = true;
    send_state(notify, "STOPPING=1");
}
