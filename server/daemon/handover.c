/* handover: which of the daemon's listening sockets an upgrade hands over (every worker's, the
 * admin port's, the upgrade socket's own), and the upgrade socket at its configured path. */
#include "handover.h"

#include "admin_thread.h"
#include "log.h"
#include "options.h"
#include "take_over.h"
#include "upgrade_socket.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sockets a worker may hold for one -l address: several after taking over from a process
 * that had more workers. */
#define SOCKETS_PER_WORKER_MAX (OPTIONS_MAX_LISTEN * 8)

struct handover {
    struct handover_config config;
    struct upgrade_socket *upgrade;
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
    if (count < max)
        offers[count++] =
            (struct upgrade_offer){ HANDOVER_UPGRADE, upgrade_socket_fd(handover->upgrade) };
    return count;
}

static size_t on_taken_over(void *context, pid_t new_pid, unsigned *grace_s)
{
    struct handover *handover = context;
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
    struct upgrade_socket_config socket_config = {
        .loop = config->loop,
        .path = path,
        /* The same path as the process taken over: the very socket it served upgrades on. */
        .inherited_fd = config->take_over != NULL
                            ? take_over_claim_path(config->take_over, HANDOVER_UPGRADE, path)
                            : -1,
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
