/* network: IPv4 and IPv6 networks in CIDR notation — parsed (pure), tested against an address,
 * written back as text — with an IPv4-mapped IPv6 address always taken as the IPv4 it carries. */
#ifndef NETWORK_H
#define NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address in its canonical form: family AF_INET (bytes[0..3]) or AF_INET6 (all 16), never
 * an IPv4-mapped IPv6 address (::ffff:a.b.c.d becomes a.b.c.d). */
struct ip_address {
    sa_family_t family;
    uint8_t bytes[16];
};

/* A network: its address with every host bit clear, and the prefix length (up to 32 or 128). */
struct network {
    struct ip_address address;
    unsigned prefix;
};

/* "CIDR + slash + prefix" needs at most this much room as text, NUL included. */
#define NETWORK_TEXT_MAX 50

/* "10.0.0.0/8", "fe80::/10"; a bare address is a single host ("192.0.2.7" = /32, "::1" =
 * /128). Rejects anything else, a prefix out of range and host bits set below the prefix,
 * saying why in error. An IPv4-mapped network (::ffff:10.0.0.0/104) is stored as the IPv4
 * network it holds (10.0.0.0/8). */
bool network_parse(const char *text, struct network *network, char *error, size_t error_size);

/* false when address is neither AF_INET nor AF_INET6. */
bool ip_address_from_sockaddr(const struct sockaddr *address, struct ip_address *canonical);

bool network_contains(const struct network *network, const struct ip_address *address);

/* "10.0.0.0/8", "::1/128" (the prefix always written). size NETWORK_TEXT_MAX is enough. */
void network_format(const struct network *network, char *text, size_t size);

#endif
