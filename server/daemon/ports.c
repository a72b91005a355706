/* ports: the listening sockets socks5d serves on — each SOCKS address bound once per worker
 * (SO_REUSEPORT, once a plain bind has proved the address ours alone) and the admin port. */
#include "ports.h"

#include "log.h"
#include "take_over.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Every worker listens on the same address, with SO_REUSEPORT when there are several. That
 * option would also let a second socks5d (any process of the same user) share the port and
 * silently take part of the clients: a plain listen first proves the address is ours alone
 * (and picks the port when 0 was asked), then the workers' sockets take its place. */
static bool listen_socks_address(const char *text_address, uint16_t port, struct worker **workers,
                                 size_t worker_count, char *bound_text)
{
    struct sockaddr_storage address;
    socklen_t length;
    if (!net_parse_address(text_address, port, &address, &length)) {
        log_message(LOG_ERROR, "-l %s: not an IPv4 or IPv6 address", text_address);
        return false;
    }
    bool reuse_port = worker_count > 1;
    for (size_t i = reuse_port ? 0 : 1; i <= worker_count; i++) {
        int fd = net_listen((struct sockaddr *)&address, length, i > 0 && reuse_port);
        if (fd < 0) {
            log_message(LOG_ERROR, "cannot listen on %s port %u: %s", text_address, port,
                        strerror(errno));
            return false;
        }
        if (i <= 1) {
            length = sizeof(address);
            getsockname(fd, (struct sockaddr *)&address, &length);
            net_format_address((struct sockaddr *)&address, bound_text);
        }
        if (i == 0) {
            close(fd); /* the probe */
            continue;
        }
        if (!worker_listen(workers[i - 1], fd))
            return false;
    }
    return true;
}

bool ports_listen_socks(const struct server_options *options, struct worker **workers,
                        size_t worker_count, char bound_text[PORTS_SOCKS_TEXT_MAX])
{
    bound_text[0] = '\0';
    for (size_t i = 0; i < options->socks_address_count; i++) {
        char text[NET_ADDRESS_TEXT_MAX];
        if (!listen_socks_address(options->socks_addresses[i], options->socks_port, workers,
                                  worker_count, text))
            return false;
        log_message(LOG_INFO, "listening for socks5 on %s", text);
        if (i > 0)
            strcat(bound_text, " ");
        strcat(bound_text, text);
    }
    return true;
}

int ports_listen_admin(const struct server_options *options,
                       char bound_text[NET_ADDRESS_TEXT_MAX])
{
    struct sockaddr_storage address;
    socklen_t length;
    if (!net_parse_address(options->admin_address, options->admin_port, &address, &length)) {
        log_message(LOG_ERROR, "-L %s: not an IPv4 or IPv6 address", options->admin_address);
        return -1;
    }
    int fd = net_listen((struct sockaddr *)&address, length, false);
    if (fd < 0) {
        log_message(LOG_ERROR, "cannot listen for admin on %s port %u: %s", options->admin_address,
                    options->admin_port, strerror(errno));
        return -1;
    }
    length = sizeof(address);
    getsockname(fd, (struct sockaddr *)&address, &length);
    net_format_address((struct sockaddr *)&address, bound_text);
    return fd;
}

int ports_listen_metrics(const struct server_options *options,
                         char bound_text[NET_ADDRESS_TEXT_MAX])
{
    bound_text[0] = '\0';
    if (options->metrics_listen == NULL)
        return -1;
    struct sockaddr_storage address;
    socklen_t length;
    if (!net_parse_endpoint(options->metrics_listen, &address, &length)) {
        log_message(LOG_ERROR, "--metrics-listen %s: not ADDR:PORT", options->metrics_listen);
        return -1;
    }
    int fd = net_listen((struct sockaddr *)&address, length, false);
    if (fd < 0) {
        log_message(LOG_ERROR, "cannot listen for metrics on %s: %s", options->metrics_listen,
                    strerror(errno));
        return -1;
    }
    length = sizeof(address);
    getsockname(fd, (struct sockaddr *)&address, &length);
    net_format_address((struct sockaddr *)&address, bound_text);
    return fd;
}

/* ---- a take-over: the running process's sockets instead of new ones ---- */

static bool refuse(struct take_over *take, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Logged here, and told to the running process, which goes on serving. */
static bool refuse(struct take_over *take, const char *format, ...)
{
    char reason[HANDOVER_REASON_MAX + 1];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof(reason), format, arguments);
    va_end(arguments);
    log_message(LOG_ERROR, "--take-over refused: %s", reason);
    take_over_refuse(take, reason);
    return false;
}

/* The running process's K sockets for one address among this one's W workers: each socket
 * keeps its own accept queue (SO_REUSEPORT spreads connections over them), so every one must
 * be served — with K > W some workers take several; with K < W the extra workers share one
 * (a duplicate descriptor of the same socket). */
static bool take_socks_address(const char *text_address, uint16_t port, struct take_over *take,
                               struct worker **workers, size_t worker_count, char *bound_text)
{
    struct sockaddr_storage address;
    socklen_t length;
    if (!net_parse_address(text_address, port, &address, &length))
        return refuse(take, "-l %s: not an IPv4 or IPv6 address", text_address);
    int fds[OPTIONS_MAX_WORKERS];
    size_t found = take_over_claim(take, HANDOVER_SOCKS, (struct sockaddr *)&address, length,
                                   fds, OPTIONS_MAX_WORKERS);
    size_t taken = found < OPTIONS_MAX_WORKERS ? found : OPTIONS_MAX_WORKERS;
    if (found == 0) {
        net_format_address((struct sockaddr *)&address, bound_text);
        return refuse(take, "the running socks5d does not listen for socks5 on %s%s",
                      bound_text, port == 0 ? " (any port)" : "");
    }
    length = sizeof(address);
    getsockname(fds[0], (struct sockaddr *)&address, &length);
    net_format_address((struct sockaddr *)&address, bound_text);
    size_t rounds = taken > worker_count ? taken : worker_count;
    bool good = true;
    for (size_t i = 0; i < rounds; i++) {
        if (!good) {
            if (i < taken)
                close(fds[i]);
            continue;
        }
        int fd = i < taken ? fds[i] : fcntl(fds[i % taken], F_DUPFD_CLOEXEC, 0);
        good = fd >= 0 && worker_listen(workers[i % worker_count], fd);
    }
    return good || refuse(take, "cannot take the sockets of %s: %s", bound_text,
                          strerror(errno));
}

bool ports_take_socks(const struct server_options *options, struct take_over *take,
                      struct worker **workers, size_t worker_count,
                      char bound_text[PORTS_SOCKS_TEXT_MAX])
{
    bound_text[0] = '\0';
    for (size_t i = 0; i < options->socks_address_count; i++) {
        char text[NET_ADDRESS_TEXT_MAX];
        if (!take_socks_address(options->socks_addresses[i], options->socks_port, take, workers,
                                worker_count, text))
            return false;
        log_message(LOG_INFO, "listening for socks5 on %s", text);
        if (i > 0)
            strcat(bound_text, " ");
        strcat(bound_text, text);
    }
    char unclaimed[HANDOVER_ADDRESS_MAX + 16];
    if (take_over_unclaimed(take, HANDOVER_SOCKS, unclaimed, sizeof(unclaimed)))
        return refuse(take, "the running socks5d also listens on %s, which this configuration "
                            "does not", unclaimed);
    return true;
}

int ports_take_admin(const struct server_options *options, struct take_over *take,
                     char bound_text[NET_ADDRESS_TEXT_MAX])
{
    struct sockaddr_storage address;
    socklen_t length;
    if (!net_parse_address(options->admin_address, options->admin_port, &address, &length))
        return refuse(take, "-L %s: not an IPv4 or IPv6 address", options->admin_address), -1;
    int fd;
    if (take_over_claim(take, HANDOVER_ADMIN, (struct sockaddr *)&address, length, &fd, 1) == 0) {
        net_format_address((struct sockaddr *)&address, bound_text);
        return refuse(take, "the running socks5d does not listen for admin on %s%s", bound_text,
                      options->admin_port == 0 ? " (any port)" : ""), -1;
    }
    length = sizeof(address);
    getsockname(fd, (struct sockaddr *)&address, &length);
    net_format_address((struct sockaddr *)&address, bound_text);
    return fd;
}

int ports_open_metrics(const struct server_options *options, struct take_over *take,
                       char bound_text[NET_ADDRESS_TEXT_MAX])
{
    struct sockaddr_storage address;
    socklen_t length;
    int fd;
    if (take != NULL && options->metrics_listen != NULL &&
        net_parse_endpoint(options->metrics_listen, &address, &length) &&
        take_over_claim(take, HANDOVER_METRICS, (struct sockaddr *)&address, length, &fd, 1) > 0) {
        length = sizeof(address);
        getsockname(fd, (struct sockaddr *)&address, &length);
        net_format_address((struct sockaddr *)&address, bound_text);
        return fd;
    }
    /* Not the running process's endpoint (it had none there): a port of this one's own. */
    return ports_listen_metrics(options, bound_text);
}
