/* upgrade_socket: the running process's side of an upgrade — a unix socket (0600) on the main
 * loop where a new socks5d started with --take-over receives every listening socket
 * (SCM_RIGHTS), and the word that it serves, on which this process stops accepting. */
#include "upgrade_socket.h"

#include "event_loop.h"
#include "handover_channel.h"
#include "log.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* From the new process's connect to its "started": it loads its users and starts its threads
 * in between. Past this the running process drops the attempt and goes on serving. */
#define TAKE_OVER_TIMEOUT_MS 60000
/* Each packet is sent blocking, bounded by this: the peer reads them as they come. */
#define SEND_TIMEOUT_S 2

enum exchange_state {
    EXCHANGE_NONE,
    EXCHANGE_HELLO,   /* connected; the hello is due */
    EXCHANGE_STARTED, /* listeners sent; "started" or "refused" is due */
};

struct upgrade_socket {
    struct upgrade_socket_config config;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct event_watcher listener;
    bool listening;
    bool passed_on; /* a take-over has the socket: its path is the new process's now */
    /* The one take-over under way: a second is refused while it is. */
    struct event_watcher peer;
    enum exchange_state state;
    pid_t peer_pid;
    struct event_timer timeout;
};

int upgrade_socket_fd(const struct upgrade_socket *upgrade) { return upgrade->listener.fd; }

void upgrade_socket_own_path(struct upgrade_socket *upgrade) { upgrade->passed_on = false; }

static void send_refusal(int fd, const char *reason)
{
    struct handover_message refused = { .type = HANDOVER_REFUSED };
    snprintf(refused.reason, sizeof(refused.reason), "%s", reason);
    handover_send(fd, &refused, NULL);
}

static void exchange_end(struct upgrade_socket *upgrade)
{
    if (upgrade->state == EXCHANGE_NONE)
        return;
    event_loop_timer_stop(upgrade->config.loop, &upgrade->timeout);
    event_loop_unwatch(upgrade->config.loop, &upgrade->peer);
    close(upgrade->peer.fd);
    upgrade->peer.fd = -1;
    upgrade->state = EXCHANGE_NONE;
}

static void exchange_fail(struct upgrade_socket *upgrade, const char *why)
{
    log_message(LOG_WARN, "take-over by pid %d failed: %s; still serving", (int)upgrade->peer_pid,
                why);
    exchange_end(upgrade);
}

/* Every listener, in batches, then "end" with their count. */
static bool send_listeners(struct upgrade_socket *upgrade)
{
    struct upgrade_offer *offers = calloc(upgrade->config.max_offers, sizeof(*offers));
    if (offers == NULL)
        return false;
    size_t count = upgrade->config.collect(upgrade->config.context, offers,
                                           upgrade->config.max_offers);
    bool sent = true;
    for (size_t first = 0; first < count && sent; first += HANDOVER_BATCH_MAX) {
        struct handover_message batch = { .type = HANDOVER_LISTENERS };
        int fds[HANDOVER_BATCH_MAX];
        for (size_t i = first; i < count && batch.listener_count < HANDOVER_BATCH_MAX; i++) {
            struct handover_listener *listener = &batch.listeners[batch.listener_count];
            listener->kind = offers[i].kind;
            struct sockaddr_storage bound;
            socklen_t length = sizeof(bound);
            char text[NET_ADDRESS_TEXT_MAX] = "?";
            if (getsockname(offers[i].fd, (struct sockaddr *)&bound, &length) == 0 &&
                bound.ss_family != AF_UNIX)
                net_format_address((struct sockaddr *)&bound, text);
            snprintf(listener->address, sizeof(listener->address), "%s",
                     offers[i].kind == HANDOVER_UPGRADE ? upgrade->path : text);
            fds[batch.listener_count++] = offers[i].fd;
        }
        sent = handover_send(upgrade->peer.fd, &batch, fds);
    }
    struct handover_message end = { .type = HANDOVER_END, .number = count,
                                    .second = (unsigned long)getpid() };
    sent = sent && handover_send(upgrade->peer.fd, &end, NULL);
    free(offers);
    return sent;
}

static void on_hello(struct upgrade_socket *upgrade, const struct handover_message *message)
{
    if (message->type != HANDOVER_HELLO || message->number != HANDOVER_VERSION) {
        send_refusal(upgrade->peer.fd, "this socks5d speaks another take-over version");
        exchange_fail(upgrade, "not a take-over this version speaks");
        return;
    }
    if (!send_listeners(upgrade)) {
        exchange_fail(upgrade, errno != 0 ? strerror(errno) : "out of memory");
        return;
    }
    upgrade->state = EXCHANGE_STARTED;
}

static void on_started(struct upgrade_socket *upgrade, const struct handover_message *message)
{
    if (message->type == HANDOVER_REFUSED) {
        log_message(LOG_WARN, "take-over by pid %d refused by the new process: %s; still serving",
                    (int)upgrade->peer_pid, message->reason);
        exchange_end(upgrade);
        return;
    }
    if (message->type != HANDOVER_STARTED) {
        exchange_fail(upgrade, "unexpected message");
        return;
    }
    /* The new process holds the upgrade socket too: it answers the next upgrade. */
    upgrade->passed_on = true;
    if (upgrade->listening) {
        event_loop_unwatch(upgrade->config.loop, &upgrade->listener);
        upgrade->listening = false;
    }
    close(upgrade->listener.fd);
    upgrade->listener.fd = -1;
    unsigned grace_s = 0;
    size_t tunnels = upgrade->config.on_taken_over(upgrade->config.context, upgrade->peer_pid,
                                                   &grace_s);
    struct handover_message stopping = { .type = HANDOVER_STOPPING, .number = tunnels,
                                         .second = grace_s };
    handover_send(upgrade->peer.fd, &stopping, NULL);
    exchange_end(upgrade);
}

static void on_peer_readable(struct event_loop *loop, struct event_watcher *watcher,
                             unsigned events)
{
    (void)loop;
    (void)events;
    struct upgrade_socket *upgrade = watcher->data;
    struct handover_message message;
    int fds[HANDOVER_BATCH_MAX];
    if (!handover_receive(watcher->fd, &message, fds)) {
        if (errno == EAGAIN)
            return;
        exchange_fail(upgrade, errno == 0 ? "it closed the connection" : strerror(errno));
        return;
    }
    for (size_t i = 0; message.type == HANDOVER_LISTENERS && i < message.listener_count; i++)
        close(fds[i]);
    if (upgrade->state == EXCHANGE_HELLO)
        on_hello(upgrade, &message);
    else
        on_started(upgrade, &message);
}

static void on_timeout(struct event_loop *loop, struct event_timer *timer)
{
    (void)loop;
    exchange_fail(timer->data, "it did not start serving in time");
}

/* Only this account (or root) may take the sockets: the 0600 file says so already, and this
 * holds even where the directory's permissions are looser than the file's. */
static bool peer_allowed(int fd, pid_t *pid)
{
    struct ucred peer;
    socklen_t length = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0)
        return false;
    *pid = peer.pid;
    return peer.uid == geteuid() || peer.uid == 0;
}

static void on_connection(struct event_loop *loop, struct event_watcher *watcher, unsigned events)
{
    (void)events;
    struct upgrade_socket *upgrade = watcher->data;
    int fd = accept4(watcher->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct timeval timeout = { .tv_sec = SEND_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    pid_t pid = 0;
    if (!peer_allowed(fd, &pid)) {
        log_message(LOG_WARN, "upgrade socket: pid %d runs as another user; refused", (int)pid);
        send_refusal(fd, "not the account this socks5d runs as");
        close(fd);
        return;
    }
    if (upgrade->state != EXCHANGE_NONE) {
        log_message(LOG_WARN, "upgrade socket: pid %d refused: pid %d is taking over already",
                    (int)pid, (int)upgrade->peer_pid);
        send_refusal(fd, "another take-over is under way");
        close(fd);
        return;
    }
    log_message(LOG_INFO, "upgrade socket: pid %d is taking over", (int)pid);
    upgrade->peer_pid = pid;
    upgrade->state = EXCHANGE_HELLO;
    /* Readiness first: recvmsg on this blocking socket then never waits. */
    event_watcher_init(&upgrade->peer, fd, on_peer_readable, upgrade);
    if (event_loop_watch(loop, &upgrade->peer, EVENT_READ) < 0) {
        exchange_fail(upgrade, strerror(errno));
        return;
    }
    event_loop_timer_start(loop, &upgrade->timeout, TAKE_OVER_TIMEOUT_MS);
}

/* Whether a process answers on the path (a crash leaves the file behind, answered by none). */
static bool path_alive(const struct sockaddr_un *address)
{
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    bool alive = probe >= 0 && connect(probe, (const struct sockaddr *)address,
                                       sizeof(*address)) == 0;
    if (probe >= 0)
        close(probe);
    return alive;
}

/* A path left by a process that is gone is reused; one a live process answers on is not taken
 * from it (EADDRINUSE). The file is owner's (an account's name; NULL = this process's). */
static int bind_path(const char *path, const char *owner)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    memcpy(address.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* The mode the file is created with (Linux takes it from the socket's inode): no moment
     * when another account could connect. */
    fchmod(fd, S_IRUSR | S_IWUSR);
    int bound = bind(fd, (struct sockaddr *)&address, sizeof(address));
    if (bound < 0 && errno == EADDRINUSE) {
        if (path_alive(&address)) {
            close(fd);
            errno = EADDRINUSE;
            return -1;
        }
        unlink(path);
        bound = bind(fd, (struct sockaddr *)&address, sizeof(address));
    }
    struct passwd *account = owner != NULL && bound == 0 ? getpwnam(owner) : NULL;
    if (owner != NULL && bound == 0 && account == NULL) {
        bound = -1;
        errno = ENOENT;
    }
    if (bound < 0 || chmod(path, S_IRUSR | S_IWUSR) < 0 ||
        (account != NULL && chown(path, account->pw_uid, account->pw_gid) < 0) ||
        listen(fd, 4) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

struct upgrade_socket *upgrade_socket_create(const struct upgrade_socket_config *config)
{
    struct upgrade_socket *upgrade = calloc(1, sizeof(*upgrade));
    if (upgrade == NULL) {
        log_message(LOG_ERROR, "upgrade socket: out of memory");
        if (config->inherited_fd >= 0)
            close(config->inherited_fd);
        return NULL;
    }
    upgrade->config = *config;
    upgrade->peer.fd = -1;
    upgrade->listener.fd = -1;
    upgrade->passed_on = true; /* nothing to remove until the path is bound */
    if (strlen(config->path) >= sizeof(upgrade->path)) {
        log_message(LOG_ERROR, "--upgrade-socket %s: longer than a unix socket's path (%zu "
                               "bytes)", config->path, sizeof(upgrade->path) - 1);
        upgrade_socket_destroy(upgrade);
        return NULL;
    }
    snprintf(upgrade->path, sizeof(upgrade->path), "%s", config->path);
    upgrade->config.path = upgrade->path;
    int fd = config->inherited_fd >= 0 ? config->inherited_fd
                                       : bind_path(upgrade->path, config->owner);
    if (fd < 0) {
        log_message(LOG_ERROR, "--upgrade-socket %s: %s", upgrade->path,
                    errno == EADDRINUSE ? "another process serves upgrades there"
                                        : strerror(errno));
        upgrade_socket_destroy(upgrade);
        return NULL;
    }
    /* An inherited path stays the running process's until this one serves. */
    upgrade->passed_on = config->inherited_fd >= 0;
    event_watcher_init(&upgrade->listener, fd, on_connection, upgrade);
    event_timer_init(&upgrade->timeout, on_timeout, upgrade);
    if (event_loop_watch(config->loop, &upgrade->listener, EVENT_READ) < 0) {
        log_message(LOG_ERROR, "upgrade socket: %s", strerror(errno));
        upgrade_socket_destroy(upgrade);
        return NULL;
    }
    upgrade->listening = true;
    log_message(LOG_INFO, "upgrade socket %s: a socks5d started with --take-over %s takes over "
                          "without dropping a connection", upgrade->path, upgrade->path);
    return upgrade;
}

void upgrade_socket_destroy(struct upgrade_socket *upgrade)
{
    if (upgrade == NULL)
        return;
    exchange_end(upgrade);
    if (upgrade->listening)
        event_loop_unwatch(upgrade->config.loop, &upgrade->listener);
    if (upgrade->listener.fd >= 0)
        close(upgrade->listener.fd);
    if (!upgrade->passed_on)
        unlink(upgrade->path);
    free(upgrade);
}

void upgrade_socket_default_path(const char *users_file, char *path, size_t size)
{
    const char *runtime = getenv("RUNTIME_DIRECTORY");
    path[0] = '\0';
    if (runtime != NULL && runtime[0] != '\0') {
        /* Several directories are separated by ':'; the first is the service's own. */
        int length = (int)strcspn(runtime, ":");
        snprintf(path, size, "%.*s/upgrade.sock", length, runtime);
        return;
    }
    if (users_file == NULL)
        return;
    const char *slash = strrchr(users_file, '/');
    if (slash == NULL)
        snprintf(path, size, "upgrade.sock");
    else
        snprintf(path, size, "%.*s/upgrade.sock", (int)(slash - users_file), users_file);
}
