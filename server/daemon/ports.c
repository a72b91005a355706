/* ports: the listening sockets socks5d serves on — each SOCKS address bound once per worker
 * (SO_REUSEPORT, once a plain bind has proved the address ours alone) and the admin port. */
#include "ports.h"

#include "log.h"
#include "worker.h"

#include <errno.h>
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
