/* handover: which of the daemon's listening sockets an upgrade hands over (every worker's, the
 * admin port's, the upgrade socket's own), and the upgrade socket at its configured path. */
#ifndef HANDOVER_H
#define HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct admin_thread;
struct event_loop;
struct handover;
struct take_over;
struct worker;

struct handover_config {
    struct event_loop *loop;    /* the main loop */
    const char *upgrade_socket; /* --upgrade-socket: NULL = the default path, "off" */
    const char *users_file;     /* NULL = none; the default path is beside it */
    struct take_over *take_over; /* this process's, when it starts by taking over: the upgrade
                                  * socket is the one it passed on, at the same path */
    struct worker **workers;
    size_t worker_count;
    struct admin_thread **admin; /* the server's: NULL once ended */
    const char *run_as;          /* --run-as: the socket is that account's; NULL = ours */
    /* See upgrade_socket_config.on_taken_over. */
    size_t (*on_taken_over)(void *context, pid_t new_pid, unsigned *grace_s);
    void *context;
};

/* Serves the upgrade socket on config->loop: *handover is NULL when it is off, or when the
 * default path cannot be used (logged: that socks5d runs without). False, logged, when a path
 * given with --upgrade-socket cannot be: the server must not start. */
bool handover_open(const struct handover_config *config, struct handover **handover);
void handover_destroy(struct handover *handover);
/* After a take-over: this process serves, and removes the upgrade socket's path at exit (a
 * take-over that fails leaves it to the running process). */
void handover_serving(struct handover *handover);

/* SIGUSR2: starts the binary this process was started from (the file now at that path: a
 * package upgrade's new one) with the same arguments and --take-over this upgrade socket, as
 * a child, so that under systemd it runs in the service's control group and may become its
 * main process. Logged; nothing when handover is NULL, an upgrade is under way, or this
 * process is taken over already. */
void handover_start_successor(struct handover *handover, int argc, char **argv);
/* SIGCHLD: reaps children; logs a successor that ended without taking over. */
void handover_reap(struct handover *handover);

#endif
