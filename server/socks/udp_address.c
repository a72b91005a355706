/* udp_address: the IPv4 or IPv6 address and port a relayed datagram comes from or goes to —
 * held by value, compared, and taken from a SOCKS5 address as one socket family. */
#include "udp_address.h"

#include <string.h>

socklen_t udp_address_length(const union udp_address *address)
{
    return address->sa.sa_family == AF_INET6 ? sizeof(address->in6) : sizeof(address->in4);
}

void udp_address_normalize(union udp_address *address)
{
    if (address->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&address->in6.sin6_addr))
        return;
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = address->in6.sin6_port};
    memcpy(&in4.sin_addr, address->in6.sin6_addr.s6_addr + 12, 4);
    memset(address, 0, sizeof(*address));
    address->in4 = in4;
}

bool udp_address_equal(const union udp_address *a, const union udp_address *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return false;
    if (a->sa.sa_family == AF_INET)
        return a->in4.sin_port == b->in4.sin_port &&
               a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
    if (a->sa.sa_family == AF_INET6)
        return a->in6.sin6_port == b->in6.sin6_port &&
               a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
               memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
    return a->sa.sa_family == AF_UNSPEC;
}

void udp_address_from_request(const struct socks5_request *request, union udp_address *out)
{
    memset(out, 0, sizeof(*out));
    if (request->address_type == SOCKS5_ATYP_IPV4) {
        out->in4.sin_family = AF_INET;
        memcpy(&out->in4.sin_addr, request->ipv4, 4);
        out->in4.sin_port = htons(request->port);
        return;
    }
    out->in6.sin6_family = AF_INET6;
    memcpy(&out->in6.sin6_addr, request->ipv6, 16);
    out->in6.sin6_port = htons(request->port);
    udp_address_normalize(out);
}

bool udp_address_from_sockaddr(const struct sockaddr *address, socklen_t length,
                               union udp_address *out)
{
    memset(out, 0, sizeof(*out));
    if ((address->sa_family == AF_INET && length >= sizeof(struct sockaddr_in)) ||
        (address->sa_family == AF_INET6 && length >= sizeof(struct sockaddr_in6))) {
        memcpy(out, address,
               address->sa_family == AF_INET ? sizeof(out->in4) : sizeof(out->in6));
        udp_address_normalize(out);
        return true;
    }
    return false;
}
