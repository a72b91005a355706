/* network: IPv4 and IPv6 networks in CIDR notation — parsed (pure), tested against an address,
 * written back as text — with an IPv4-mapped IPv6 address always taken as the IPv4 it carries. */
#include "network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static unsigned address_bits(sa_family_t family)
{
    return family == AF_INET ? 32 : 128;
}

/* ::ffff:a.b.c.d (and a network within ::ffff:0:0/96) is IPv4: a connect to it reaches the
 * IPv4 host, so every rule and default must see it as that host. */
static void canonicalise(struct ip_address *address, unsigned *prefix)
{
    if (address->family != AF_INET6 || memcmp(address->bytes, mapped_prefix, 12) != 0)
        return;
    if (prefix != NULL) {
        if (*prefix < 96)
            return;
        *prefix -= 96;
    }
    address->family = AF_INET;
    memmove(address->bytes, address->bytes + 12, 4);
    memset(address->bytes + 4, 0, 12);
}

static bool parse_prefix(const char *text, unsigned max, unsigned *prefix, char *error,
                         size_t error_size)
{
    unsigned value = 0;
    size_t digits = 0;
    for (; text[digits] != '\0'; digits++) {
        if (text[digits] < '0' || text[digits] > '9' || digits == 3) {
            snprintf(error, error_size, "the prefix length must be a number from 0 to %u", max);
            return false;
        }
        value = value * 10 + (unsigned)(text[digits] - '0');
    }
    if (digits == 0 || value > max) {
        snprintf(error, error_size, "the prefix length must be a number from 0 to %u", max);
        return false;
    }
    *prefix = value;
    return true;
}

static bool host_bits_clear(const struct ip_address *address, unsigned prefix)
{
    unsigned bytes = address_bits(address->family) / 8;
    for (unsigned bit = prefix; bit < bytes * 8; bit++) {
        if (address->bytes[bit / 8] & (0x80u >> (bit % 8)))
            return false;
    }
    return true;
}

bool network_parse(const char *text, struct network *network, char *error, size_t error_size)
{
    const char *slash = strchr(text, '/');
    size_t length = slash != NULL ? (size_t)(slash - text) : strlen(text);
    char literal[INET6_ADDRSTRLEN];
    if (length == 0 || length >= sizeof(literal)) {
        snprintf(error, error_size, "expected an IPv4 or IPv6 network (10.0.0.0/8, fe80::/10)");
        return false;
    }
    memcpy(literal, text, length);
    literal[length] = '\0';
    struct network parsed = {0};
    parsed.address.family = memchr(literal, ':', length) != NULL ? AF_INET6 : AF_INET;
    if (inet_pton(parsed.address.family, literal, parsed.address.bytes) != 1) {
        snprintf(error, error_size, "expected an IPv4 or IPv6 network (10.0.0.0/8, fe80::/10)");
        return false;
    }
    unsigned max = address_bits(parsed.address.family);
    parsed.prefix = max;
    if (slash != NULL && !parse_prefix(slash + 1, max, &parsed.prefix, error, error_size))
        return false;
    if (!host_bits_clear(&parsed.address, parsed.prefix)) {
        snprintf(error, error_size, "host bits are set below the /%u prefix", parsed.prefix);
        return false;
    }
    canonicalise(&parsed.address, &parsed.prefix);
    *network = parsed;
    return true;
}

bool ip_address_from_sockaddr(const struct sockaddr *address, struct ip_address *canonical)
{
    memset(canonical, 0, sizeof(*canonical));
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)address;
        canonical->family = AF_INET;
        memcpy(canonical->bytes, &in4->sin_addr, 4);
        return true;
    }
    if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)address;
        canonical->family = AF_INET6;
        memcpy(canonical->bytes, &in6->sin6_addr, 16);
        canonicalise(canonical, NULL);
        return true;
    }
    return false;
}

bool network_contains(const struct network *network, const struct ip_address *address)
{
    if (network->address.family != address->family)
        return false;
    unsigned whole = network->prefix / 8;
    if (memcmp(network->address.bytes, address->bytes, whole) != 0)
        return false;
    unsigned rest = network->prefix % 8;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (network->address.bytes[whole] & mask) == (address->bytes[whole] & mask);
}

void network_format(const struct network *network, char *text, size_t size)
{
    char literal[INET6_ADDRSTRLEN] = "?";
    inet_ntop(network->address.family, network->address.bytes, literal, sizeof(literal));
    snprintf(text, size, "%s/%u", literal, network->prefix);
}
