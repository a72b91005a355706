/* service_notify: socks5d's side of systemd's notify protocol — READY, RELOADING, STOPPING, a
 * STATUS line kept current, and watchdog pings sent only while every event loop runs. */
#ifndef SERVICE_NOTIFY_H
#define SERVICE_NOTIFY_H

#include <stddef.h>
#include <sys/types.h>

struct event_loop;
struct service_notify;

/* What the STATUS line reports. */
struct service_counts {
    size_t tunnels;
    size_t users;
    size_t admin_sessions;
};

#define SERVICE_LOOP_NAME_MAX 32

/* A loop the watchdog vouches for, and what the log calls it ("worker 1", "admin"). */
struct service_watched_loop {
    struct event_loop *loop;
    char name[SERVICE_LOOP_NAME_MAX];
};

struct service_notify_config {
    /* Runs the status and watchdog timers; every call below is made on its thread. */
    struct event_loop *main_loop;
    /* Every other loop: the watchdog is pinged only while each of them keeps running its
     * timers (main_loop does, or there would be no ping). Copied. */
    const struct service_watched_loop *watched;
    size_t watched_count;
    /* Called on main_loop's thread, at most about once a second. */
    void (*read_counts)(void *context, struct service_counts *counts);
    void *context;
    /* The socks5d this process takes over from (--take-over), 0 for none: systemd's watchdog
     * settings name it (WATCHDOG_PID) until this process becomes the main one. */
    pid_t taken_over_pid;
};

/* Not started by systemd (NOTIFY_SOCKET unset): nothing is armed and every call below returns
 * at once. The watched loops may already run on their threads. NULL only when out of memory. */
struct service_notify *service_notify_create(const struct service_notify_config *config);
/* Before any of the loops is destroyed. */
void service_notify_destroy(struct service_notify *notify);

/* READY=1: listeners bound, users loaded, privileges dropped, workers and admin running. */
void service_notify_ready(struct service_notify *notify);
/* RELOADING=1 with the time it began, before the users file is read again. */
void service_notify_reloading(struct service_notify *notify);
/* READY=1 again. failure (NULL when the reload worked): a short reason the STATUS line shows
 * until a reload works. */
void service_notify_reloaded(struct service_notify *notify, const char *failure);
/* After a take-over: MAINPID= this process and READY=1, and waits (a few seconds at most)
 * until systemd has read them, so that the process taken over may exit without systemd
 * thinking the service ended. The unit needs NotifyAccess=all: this process is not the main
 * one until the message is read. */
void service_notify_main_pid(struct service_notify *notify);
/* Taken over: the new process speaks to systemd from now on (status, watchdog, stopping);
 * this one says nothing more, and no longer touches the watched loops (which may be ended
 * afterwards). */
void service_notify_release(struct service_notify *notify);
/* STOPPING=1, once: the graceful stop has begun. */
void service_notify_stopping(struct service_notify *notify);

#endif
