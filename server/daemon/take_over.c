/* take_over: the new process's side of an upgrade — receives the running socks5d's listening
 * sockets over its upgrade socket (SCM_RIGHTS), hands them out by kind and address, then
 * tells it to stop accepting, or why this process refused. */
#include "take_over.h"

#include "handover_channel.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* How long the running process may take to send its listeners, and to answer "started": it
 * does both on its main loop, which serves no client, so seconds are plenty. */
#define ANSWER_TIMEOUT_S 10

struct received_socket {
    enum handover_kind kind;
    char address[HANDOVER_ADDRESS_MAX + 1];
    int fd; /* -1 once claimed */
};

struct take_over {
    int fd;
    pid_t running_pid;
    struct received_socket *sockets;
    size_t count;
    size_t capacity;
    bool completed;
    char refusal[HANDOVER_REASON_MAX + 1];
};

pid_t take_over_running_pid(const struct take_over *take) { return take->running_pid; }

static bool take_over_connect(struct take_over *take, const char *path)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(address.sun_path)) {
        log_message(LOG_ERROR, "--take-over %s: the path is longer than a unix socket's "
                               "(%zu bytes)", path, sizeof(address.sun_path) - 1);
        return false;
    }
    memcpy(address.sun_path, path, strlen(path) + 1);
    take->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct timeval timeout = { .tv_sec = ANSWER_TIMEOUT_S };
    if (take->fd < 0 ||
        setsockopt(take->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
        setsockopt(take->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0 ||
        connect(take->fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        log_message(LOG_ERROR, "--take-over %s: cannot reach the running socks5d: %s", path,
                    strerror(errno));
        return false;
    }
    return true;
}

static bool take_over_keep(struct take_over *take, const struct handover_listener *listener,
                           int fd)
{
    if (take->count == take->capacity) {
        size_t capacity = take->capacity > 0 ? take->capacity * 2 : 16;
        struct received_socket *grown = realloc(take->sockets, capacity * sizeof(*grown));
        if (grown == NULL) {
            close(fd);
            return false;
        }
        take->sockets = grown;
        take->capacity = capacity;
    }
    struct received_socket *socket = &take->sockets[take->count++];
    socket->kind = listener->kind;
    memcpy(socket->address, listener->address, sizeof(socket->address));
    socket->fd = fd;
    return true;
}

/* Batches of listeners until "end", whose count must be what came. */
static bool take_over_read_listeners(struct take_over *take, const char *path)
{
    for (;;) {
        struct handover_message message;
        int fds[HANDOVER_BATCH_MAX];
        if (!handover_receive(take->fd, &message, fds)) {
            log_message(LOG_ERROR, "--take-over %s: %s", path,
                        errno == 0 ? "the running socks5d closed the connection"
                        : errno == EAGAIN ? "the running socks5d did not answer in time"
                                          : strerror(errno));
            return false;
        }
        if (message.type == HANDOVER_REFUSED) {
            log_message(LOG_ERROR, "--take-over %s: the running socks5d refused: %s", path,
                        message.reason);
            return false;
        }
        if (message.type == HANDOVER_END) {
            take->running_pid = (pid_t)message.second;
            if (message.number == take->count)
                return true;
            log_message(LOG_ERROR, "--take-over %s: %zu listeners came, %lu announced", path,
                        take->count, message.number);
            return false;
        }
        if (message.type != HANDOVER_LISTENERS) {
            for (size_t i = 0; i < message.listener_count; i++)
                close(fds[i]);
            log_message(LOG_ERROR, "--take-over %s: unexpected message from the running socks5d",
                        path);
            return false;
        }
        bool kept = true;
        for (size_t i = 0; i < message.listener_count; i++) {
            if (kept)
                kept = take_over_keep(take, &message.listeners[i], fds[i]);
            else
                close(fds[i]);
        }
        if (!kept) {
            log_message(LOG_ERROR, "--take-over %s: out of memory", path);
            return false;
        }
    }
}

struct take_over *take_over_receive(const char *path)
{
    struct take_over *take = calloc(1, sizeof(*take));
    if (take == NULL) {
        log_message(LOG_ERROR, "--take-over %s: out of memory", path);
        return NULL;
    }
    take->fd = -1;
    /* Refusing before "started" is all the running process needs to go on serving. */
    take->completed = false;
    struct handover_message hello = { .type = HANDOVER_HELLO, .number = HANDOVER_VERSION };
    if (!take_over_connect(take, path)) {
        take_over_destroy(take);
        return NULL;
    }
    if (!handover_send(take->fd, &hello, NULL)) {
        log_message(LOG_ERROR, "--take-over %s: cannot ask the running socks5d: %s", path,
                    strerror(errno));
        take_over_destroy(take);
        return NULL;
    }
    if (!take_over_read_listeners(take, path)) {
        take_over_destroy(take);
        return NULL;
    }
    log_message(LOG_INFO, "taking over %zu listening sockets from socks5d pid %d", take->count,
                (int)take->running_pid);
    return take;
}

/* Same family, same address, and the same port unless wanted asks for any (0). */
static bool address_matches(const struct sockaddr *wanted, const struct sockaddr_storage *bound)
{
    if (wanted->sa_family != bound->ss_family)
        return false;
    if (wanted->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)wanted;
        const struct sockaddr_in *b = (const struct sockaddr_in *)bound;
        return a->sin_addr.s_addr == b->sin_addr.s_addr &&
               (a->sin_port == 0 || a->sin_port == b->sin_port);
    }
    if (wanted->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)wanted;
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)bound;
        return memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0 &&
               (a->sin6_port == 0 || a->sin6_port == b->sin6_port);
    }
    return false;
}

/* A listening TCP socket: what every kind but the upgrade socket is. */
static bool is_listening_stream(int fd)
{
    int type = 0, listening = 0;
    socklen_t length = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) < 0)
        return false;
    length = sizeof(listening);
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 &&
           type == SOCK_STREAM && listening;
}

size_t take_over_claim(struct take_over *take, enum handover_kind kind,
                       const struct sockaddr *address, socklen_t length, int *fds, size_t max)
{
    (void)length;
    size_t found = 0;
    for (size_t i = 0; i < take->count; i++) {
        struct received_socket *socket = &take->sockets[i];
        if (socket->kind != kind || socket->fd < 0)
            continue;
        /* What the socket is bound to, not what the message said. */
        struct sockaddr_storage bound;
        socklen_t bound_length = sizeof(bound);
        if (getsockname(socket->fd, (struct sockaddr *)&bound, &bound_length) < 0 ||
            !address_matches(address, &bound) || !is_listening_stream(socket->fd))
            continue;
        if (found < max) {
            fds[found] = socket->fd;
            socket->fd = -1;
        }
        found++;
    }
    return found;
}

int take_over_claim_path(struct take_over *take, enum handover_kind kind, const char *path)
{
    for (size_t i = 0; i < take->count; i++) {
        struct received_socket *socket = &take->sockets[i];
        struct sockaddr_un bound;
        socklen_t bound_length = sizeof(bound);
        if (socket->kind != kind || socket->fd < 0 ||
            getsockname(socket->fd, (struct sockaddr *)&bound, &bound_length) < 0 ||
            bound.sun_family != AF_UNIX ||
            bound_length <= offsetof(struct sockaddr_un, sun_path) ||
            strncmp(bound.sun_path, path, sizeof(bound.sun_path)) != 0)
            continue;
        int fd = socket->fd;
        socket->fd = -1;
        return fd;
    }
    return -1;
}

bool take_over_unclaimed(const struct take_over *take, enum handover_kind kind, char *text,
                         size_t size)
{
    for (size_t i = 0; i < take->count; i++) {
        const struct received_socket *socket = &take->sockets[i];
        if (socket->kind == kind && socket->fd >= 0) {
            snprintf(text, size, "%s %s", handover_kind_name(kind), socket->address);
            return true;
        }
    }
    return false;
}

void take_over_refuse(struct take_over *take, const char *reason)
{
    snprintf(take->refusal, sizeof(take->refusal), "%s", reason);
}

bool take_over_complete(struct take_over *take)
{
    struct handover_message started = { .type = HANDOVER_STARTED };
    struct handover_message answer = { .type = HANDOVER_REFUSED };
    int fds[HANDOVER_BATCH_MAX];
    take->completed = true;
    if (!handover_send(take->fd, &started, NULL) || !handover_receive(take->fd, &answer, fds) ||
        answer.type != HANDOVER_STOPPING) {
        for (size_t i = 0; answer.type == HANDOVER_LISTENERS && i < answer.listener_count; i++)
            close(fds[i]);
        log_message(LOG_ERROR, "the socks5d taken over (pid %d) did not confirm it stopped "
                               "accepting: both may serve until it is stopped (SIGTERM)",
                    (int)take->running_pid);
        return false;
    }
    log_message(LOG_INFO, "took over from socks5d pid %d: it accepts no more and gives its %lu "
                          "tunnels %lu s to finish", (int)take->running_pid, answer.number,
                answer.second);
    return true;
}

void take_over_destroy(struct take_over *take)
{
    if (take == NULL)
        return;
    if (take->fd >= 0 && !take->completed) {
        struct handover_message refused = { .type = HANDOVER_REFUSED };
        snprintf(refused.reason, sizeof(refused.reason), "%s",
                 take->refusal[0] != '\0' ? take->refusal
                                          : "the new socks5d did not start (see its log)");
        handover_send(take->fd, &refused, NULL);
    }
    for (size_t i = 0; i < take->count; i++) {
        if (take->sockets[i].fd >= 0)
            close(take->sockets[i].fd);
    }
    if (take->fd >= 0)
        close(take->fd);
    free(take->sockets);
    free(take);
}
