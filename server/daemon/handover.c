/* handover: which of the daemon's listening sockets an upgrade hands over (every worker's, the
 * admin port's, the upgrade socket's own), and the upgrade socket at its configured path. */
#include "handover.h"

#include "admin_thread.h"
#include "log.h"
#include "options.h"
#include "successor.h"
#include "take_over.h"
#include "upgrade_socket.h"
#include "worker.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Sockets a worker may hold for one -l address: several after taking over from a process
 * that had more workers. */
#define SOCKETS_PER_WORKER_MAX (OPTIONS_MAX_LISTEN * 8)

struct handover {
    struct handover_config config;
    struct upgrade_socket *upgrade;
    char path[512];
    /* The binary this process runs, named at start: a package upgrade replaces the file, and
     * the successor is the new one at the same path. */
    char binary[PATH_MAX];
    pid_t successor; /* started by SIGUSR2, not yet reaped; 0 = none */
    bool taken_over;
};

static size_t collect_listeners(void *context, struct upgrade_offer *offers, size_t max)
{
    struct handover *handover = context;
    const struct handover_config *config = &handover->config;
    size_t count = 0;
    int fds[SOCKETS_PER_WORKER_MAX];
    for (size_t i = 0; i < config->worker_count; i++) {
        size_t listening = worker_listening_fds(config->workers[i], fds, SOCKETS_PER_WORKER_MAX);
        for (size_t j = 0; j < listening && count < max; j++)
            offers[count++] = (struct upgrade_offer){ HANDOVER_SOCKS, fds[j] };
    }
    if (*config->admin != NULL && count < max)
        offers[count++] =
            (struct upgrade_offer){ HANDOVER_ADMIN, admin_thread_listening_fd(*config->admin) };
    int metrics_fd = *config->admin != NULL ? admin_thread_metrics_fd(*config->admin) : -1;
    if (metrics_fd >= 0 && count < max)
        offers[count++] = (struct upgrade_offer){ HANDOVER_METRICS, metrics_fd };
    if (count < max)
        offers[count++] =
            (struct upgrade_offer){ HANDOVER_UPGRADE, upgrade_socket_fd(handover->upgrade) };
    return count;
}

static size_t on_taken_over(void *context, pid_t new_pid, unsigned *grace_s)
{
    struct handover *handover = context;
    handover->taken_over = true;
    return handover->config.on_taken_over(handover->config.context, new_pid, grace_s);
}

bool handover_open(const struct handover_config *config, struct handover **result)
{
    *result = NULL;
    char path[512];
    bool chosen = config->upgrade_socket != NULL;
    if (chosen)
        snprintf(path, sizeof(path), "%s", config->upgrade_socket);
    else
        upgrade_socket_default_path(config->users_file, path, sizeof(path));
    if (path[0] == '\0' || strcmp(path, "off") == 0)
        return true;
    struct handover *handover = calloc(1, sizeof(*handover));
    if (handover == NULL) {
        log_message(LOG_ERROR, "upgrade socket: out of memory");
        return !chosen;
    }
    handover->config = *config;
    snprintf(handover->path, sizeof(handover->path), "%s", path);
    ssize_t length = readlink("/proc/self/exe", handover->binary, sizeof(handover->binary) - 1);
    handover->binary[length > 0 ? length : 0] = '\0';
    struct upgrade_socket_config socket_config = {
        .loop = config->loop,
        .path = path,
        /* The same path as the process taken over: the very socket it served upgrades on. */
        .inherited_fd = config->take_over != NULL
                            ? take_over_claim_path(config->take_over, HANDOVER_UPGRADE, path)
                            : -1,
        .owner = config->run_as,
        .collect = collect_listeners,
        .max_offers = config->worker_count * SOCKETS_PER_WORKER_MAX + 8,
        .on_taken_over = on_taken_over,
        .context = handover,
    };
    handover->upgrade = upgrade_socket_create(&socket_config);
    if (handover->upgrade != NULL) {
        *result = handover;
        return true;
    }
    free(handover);
    /* The default path may be another socks5d's (one beside the same users file): this one
     * then runs without; a path asked for must work. */
    if (!chosen)
        log_message(LOG_WARN, "no upgrade socket: give --upgrade-socket a path of its own");
    return !chosen;
}

void handover_destroy(struct handover *handover)
{
    if (handover == NULL)
        return;
    upgrade_socket_destroy(handover->upgrade);
    free(handover);
}

/* The successor starts with the signals' defaults and nothing blocked: this process's mask
 * (the signals its signalfd reads) is not the new one's business. */
static bool spawn_successor(struct handover *handover, char **arguments, pid_t *pid)
{
    posix_spawnattr_t attributes;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    int error = posix_spawnattr_init(&attributes);
    if (error == 0) {
        posix_spawnattr_setsigmask(&attributes, &none);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        error = posix_spawn(pid, handover->binary, NULL, &attributes, arguments, environ);
        posix_spawnattr_destroy(&attributes);
    }
    errno = error;
    return error == 0;
}

void handover_start_successor(struct handover *handover, int argc, char **argv)
{
    if (handover == NULL) {
        log_message(LOG_WARN, "SIGUSR2: no upgrade socket (--upgrade-socket off): no upgrade");
        return;
    }
    if (handover->taken_over || handover->successor != 0) {
        log_message(LOG_WARN, "SIGUSR2 ignored: %s",
                    handover->taken_over ? "taken over already, this process only drains"
                                         : "the upgrade it started is still under way");
        return;
    }
    if (handover->binary[0] == '\0') {
        log_message(LOG_ERROR, "SIGUSR2: this process's binary is unknown (/proc/self/exe)");
        return;
    }
    struct successor_command command;
    if (!successor_command_build(&command, argc, argv, handover->path)) {
        log_message(LOG_ERROR, "SIGUSR2: out of memory");
        return;
    }
    pid_t pid;
    if (spawn_successor(handover, command.arguments, &pid)) {
        handover->successor = pid;
        log_message(LOG_INFO, "SIGUSR2: started %s (pid %d) to take over", handover->binary,
                    (int)pid);
    } else {
        log_message(LOG_ERROR, "SIGUSR2: cannot start %s: %s", handover->binary,
                    strerror(errno));
    }
    successor_command_free(&command);
}

void handover_reap(struct handover *handover)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (handover == NULL || pid != handover->successor)
            continue;
        handover->successor = 0;
        if (handover->taken_over)
            continue;
        if (WIFEXITED(status))
            log_message(LOG_WARN, "the socks5d started to take over (pid %d) exited with status "
                                  "%d; still serving", (int)pid, WEXITSTATUS(status));
        else
            log_message(LOG_WARN, "the socks5d started to take over (pid %d) ended by signal "
                                  "%d; still serving", (int)pid, WTERMSIG(status));
    }
}

void handover_serving(struct handover *handover)
{
    if (handover != NULL)
        upgrade_socket_own_path(handover->upgrade);
}
