/* upgrade_socket: the running process's side of an upgrade — a unix socket (0600) on the main
 * loop where a new socks5d started with --take-over receives every listening socket
 * (SCM_RIGHTS), and the word that it serves, on which this process stops accepting. */
#ifndef UPGRADE_SOCKET_H
#define UPGRADE_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "handover_message.h"

struct event_loop;
struct upgrade_socket;

/* A listening socket to hand over; the descriptor stays this process's. */
struct upgrade_offer {
    enum handover_kind kind;
    int fd;
};

struct upgrade_socket_config {
    struct event_loop *loop; /* the main loop: it serves no client, so a hand-over waits on none */
    const char *path;
    /* The socket a take-over passed on (bound to path already), or -1 to bind path. */
    int inherited_fd;
    /* The account the bound file is given to (--run-as: bound before privileges are dropped,
     * it must be the serving account's, whose successor connects); NULL = this process's. */
    const char *owner;
    /* Fills offers with every listening socket this process serves on (at most max); returns
     * how many. */
    size_t (*collect)(void *context, struct upgrade_offer *offers, size_t max);
    size_t max_offers;
    /* The new process (new_pid) serves on the same sockets: stop accepting on every one of
     * them. Returns the live tunnels, and their grace time in grace_s, for the answer. */
    size_t (*on_taken_over)(void *context, pid_t new_pid, unsigned *grace_s);
    void *context;
};

/* Listens (or takes inherited_fd) and serves on loop. NULL, logged, when path cannot be bound
 * (in use by a live process, too long, its directory not writable). */
struct upgrade_socket *upgrade_socket_create(const struct upgrade_socket_config *config);
/* Its listening descriptor, offered with the others: the next process serves upgrades on the
 * same path. */
int upgrade_socket_fd(const struct upgrade_socket *upgrade);
/* This process serves: an inherited socket's path is its own to remove at exit. */
void upgrade_socket_own_path(struct upgrade_socket *upgrade);
/* Closes the socket; its path is removed only if it is this process's (bound here, or
 * inherited and owned since) and no take-over has passed it on. On loop's
 * thread, or once loop no longer runs. */
void upgrade_socket_destroy(struct upgrade_socket *upgrade);

/* The default path: upgrade.sock in $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=), else
 * beside the users file; "" (none) without either. */
void upgrade_socket_default_path(const char *users_file, char *path, size_t size);

#endif
