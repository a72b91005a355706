/* net: the socket chores every listener and connection shares — parsing and formatting
 * addresses, non-blocking listening sockets, small socket options. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool net_parse_port(const char *text, size_t length, uint16_t *port)
{
    if (length == 0 || length > 5)
        return false;
    unsigned value = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (unsigned)(text[i] - '0');
    }
    if (value > 65535)
        return false;
    *port = (uint16_t)value;
    return true;
}

bool net_parse_address(const char *text, uint16_t port, struct sockaddr_storage *address,
                       socklen_t *length)
{
    memset(address, 0, sizeof(*address));
    struct sockaddr_in *in4 = (struct sockaddr_in *)address;
    if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        *length = sizeof(*in4);
        return true;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)address;
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *length = sizeof(*in6);
        return true;
    }
    return false;
}

bool net_parse_endpoint(const char *text, struct sockaddr_storage *address, socklen_t *length)
{
    const char *colon = strrchr(text, ':');
    uint16_t port;
    if (colon == NULL || !net_parse_port(colon + 1, strlen(colon + 1), &port))
        return false;
    const char *host = text;
    size_t host_length = (size_t)(colon - text);
    bool bracketed = host_length >= 2 && host[0] == '[' && host[host_length - 1] == ']';
    if (bracketed) {
        host++;
        host_length -= 2;
    }
    char literal[INET6_ADDRSTRLEN];
    if (host_length == 0 || host_length >= sizeof(literal))
        return false;
    memcpy(literal, host, host_length);
    literal[host_length] = '\0';
    /* An IPv6 literal needs its brackets: "::1:80" would be ambiguous. */
    if ((strchr(literal, ':') != NULL) != bracketed)
        return false;
    return net_parse_address(literal, port, address, length);
}

void net_format_address(const struct sockaddr *address, char out[NET_ADDRESS_TEXT_MAX])
{
    char host[INET6_ADDRSTRLEN];
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
        snprintf(out, NET_ADDRESS_TEXT_MAX, "%s:%u", host, ntohs(in4->sin_port));
    } else if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, NET_ADDRESS_TEXT_MAX, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, NET_ADDRESS_TEXT_MAX, "-");
    }
}

int net_listen(const struct sockaddr *address, socklen_t length, bool reuse_port)
{
    int fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (reuse_port)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
    if (address->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, address, length) < 0 || listen(fd, SOMAXCONN) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

void net_set_reset_on_close(int fd)
{
    struct linger linger = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
}

void net_tune_tcp(int fd, const char *congestion)
{
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (congestion[0] != '\0')
        setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, congestion, (socklen_t)strlen(congestion));
}

bool net_congestion_usable(const char *congestion)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && errno == EAFNOSUPPORT) /* an IPv6-only host */
        fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int status = setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, congestion,
                            (socklen_t)strlen(congestion));
    int saved = errno;
    close(fd);
    errno = saved;
    return status == 0;
}
