/* udp_address: the IPv4 or IPv6 address and port a relayed datagram comes from or goes to —
 * held by value, compared, and taken from a SOCKS5 address as one socket family. */
#ifndef UDP_ADDRESS_H
#define UDP_ADDRESS_H

#include "socks5_parser.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

union udp_address {
    struct sockaddr sa; /* AF_UNSPEC: none */
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
};

/* The length a socket call takes for it. */
socklen_t udp_address_length(const union udp_address *address);
/* An IPv4-mapped IPv6 address becomes the IPv4 address it maps, so that one host has one
 * form (what a dual-stack listener reports, what a client may write in a header). */
void udp_address_normalize(union udp_address *address);
/* Same family, address and port (an IPv6 scope is part of its address). */
bool udp_address_equal(const union udp_address *a, const union udp_address *b);
/* The IPv4 or IPv6 DST.ADDR and DST.PORT of a request or datagram header, normalized. */
void udp_address_from_request(const struct socks5_request *request, union udp_address *out);
/* The first address of a lookup's result a socket can send to (normalized); false if none. */
bool udp_address_from_sockaddr(const struct sockaddr *address, socklen_t length,
                               union udp_address *out);

#endif
