/* socks5_udp_header: the I/O-free decoder of the header a client puts before each datagram it
 * relays (RFC 1928 section 7), and the encoder of the header the server puts before replies. */
#include "socks5_udp_header.h"

#include <netinet/in.h>
#include <string.h>

enum udp_header_state { UDP_RESERVED, UDP_FRAGMENT, UDP_ATYP, UDP_DOMAIN_LENGTH, UDP_ADDRESS,
                        UDP_PORT, UDP_DONE, UDP_FAILED };

void socks5_udp_header_parser_init(struct socks5_udp_header_parser *parser)
{
    /* Once per datagram: only what the decoder reads before writing it is cleared. */
    parser->state = UDP_RESERVED;
    parser->field_left = 2;
    parser->error = SOCKS5_UDP_ERROR_NONE;
    parser->destination.command = SOCKS5_CMD_UDP_ASSOCIATE;
    parser->destination.address_type = 0;
    parser->destination.domain_length = 0;
    parser->destination.domain[0] = '\0';
    parser->destination.port = 0;
}

static enum socks5_parse_result udp_header_result(const struct socks5_udp_header_parser *parser)
{
    if (parser->state == UDP_DONE)
        return SOCKS5_PARSE_DONE;
    if (parser->state == UDP_FAILED)
        return SOCKS5_PARSE_ERROR;
    return SOCKS5_PARSE_MORE;
}

static void udp_header_fail(struct socks5_udp_header_parser *parser,
                            enum socks5_udp_header_error error)
{
    parser->error = error;
    parser->state = UDP_FAILED;
}

static void udp_header_on_address_type(struct socks5_udp_header_parser *parser, uint8_t atyp)
{
    parser->destination.address_type = atyp;
    switch (atyp) {
    case SOCKS5_ATYP_IPV4:
        parser->field_left = 4;
        parser->state = UDP_ADDRESS;
        return;
    case SOCKS5_ATYP_IPV6:
        parser->field_left = 16;
        parser->state = UDP_ADDRESS;
        return;
    case SOCKS5_ATYP_DOMAIN:
        parser->state = UDP_DOMAIN_LENGTH;
        return;
    default:
        udp_header_fail(parser, SOCKS5_UDP_ERROR_BAD_ADDRESS_TYPE);
    }
}

static uint8_t *udp_header_address(struct socks5_udp_header_parser *parser, uint8_t *length)
{
    struct socks5_request *destination = &parser->destination;
    switch (destination->address_type) {
    case SOCKS5_ATYP_IPV4:
        *length = 4;
        return destination->ipv4;
    case SOCKS5_ATYP_IPV6:
        *length = 16;
        return destination->ipv6;
    default:
        *length = destination->domain_length;
        return (uint8_t *)destination->domain;
    }
}

/* The address's bytes, as many as there are of it in data. */
static size_t udp_header_take_address(struct socks5_udp_header_parser *parser,
                                      const uint8_t *data, size_t length)
{
    struct socks5_request *destination = &parser->destination;
    uint8_t field_length;
    uint8_t *field = udp_header_address(parser, &field_length);
    size_t taken = parser->field_left < length ? parser->field_left : length;
    memcpy(field + (field_length - parser->field_left), data, taken);
    parser->field_left = (uint8_t)(parser->field_left - taken);
    if (parser->field_left > 0)
        return taken;
    if (destination->address_type == SOCKS5_ATYP_DOMAIN) {
        destination->domain[destination->domain_length] = '\0';
        /* A name with a NUL would be looked up as its prefix: refused, never truncated. */
        if (memchr(destination->domain, '\0', destination->domain_length) != NULL) {
            udp_header_fail(parser, SOCKS5_UDP_ERROR_BAD_DOMAIN);
            return taken;
        }
    }
    parser->state = UDP_PORT;
    parser->field_left = 2;
    return taken;
}

static size_t udp_header_take(struct socks5_udp_header_parser *parser, const uint8_t *data,
                              size_t length)
{
    switch (parser->state) {
    case UDP_RESERVED:
        if (data[0] != 0x00) {
            udp_header_fail(parser, SOCKS5_UDP_ERROR_RESERVED);
            return 1;
        }
        if (--parser->field_left == 0)
            parser->state = UDP_FRAGMENT;
        return 1;
    case UDP_FRAGMENT:
        if (data[0] != 0x00)
            udp_header_fail(parser, SOCKS5_UDP_ERROR_FRAGMENTED);
        else
            parser->state = UDP_ATYP;
        return 1;
    case UDP_ATYP:
        udp_header_on_address_type(parser, data[0]);
        return 1;
    case UDP_DOMAIN_LENGTH:
        if (data[0] == 0) {
            udp_header_fail(parser, SOCKS5_UDP_ERROR_BAD_DOMAIN);
            return 1;
        }
        parser->destination.domain_length = parser->field_left = data[0];
        parser->state = UDP_ADDRESS;
        return 1;
    case UDP_ADDRESS:
        return udp_header_take_address(parser, data, length);
    case UDP_PORT:
        parser->destination.port = (uint16_t)((parser->destination.port << 8) | data[0]);
        if (--parser->field_left == 0)
            parser->state = UDP_DONE;
        return 1;
    }
    return 0;
}

enum socks5_parse_result socks5_udp_header_parser_feed(struct socks5_udp_header_parser *parser,
                                                       const uint8_t *data, size_t length,
                                                       size_t *consumed)
{
    size_t used = 0;
    while (used < length && udp_header_result(parser) == SOCKS5_PARSE_MORE)
        used += udp_header_take(parser, data + used, length - used);
    *consumed = used;
    return udp_header_result(parser);
}

enum socks5_udp_header_error socks5_udp_header_decode(struct socks5_udp_header_parser *parser,
                                                      const uint8_t *datagram, size_t length,
                                                      size_t *header_length)
{
    socks5_udp_header_parser_init(parser);
    enum socks5_parse_result result =
        socks5_udp_header_parser_feed(parser, datagram, length, header_length);
    if (result == SOCKS5_PARSE_MORE)
        parser->error = SOCKS5_UDP_ERROR_SHORT;
    return parser->error;
}

size_t socks5_udp_header_encode(uint8_t out[SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH],
                                const struct sockaddr *source)
{
    out[0] = 0x00;
    out[1] = 0x00;
    out[2] = 0x00; /* FRAG: a whole datagram */
    if (source->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)source;
        out[3] = SOCKS5_ATYP_IPV4;
        memcpy(out + 4, &in4->sin_addr, 4);
        memcpy(out + 8, &in4->sin_port, 2);
        return 10;
    }
    if (source->sa_family != AF_INET6)
        return 0;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)source;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        out[3] = SOCKS5_ATYP_IPV4;
        memcpy(out + 4, in6->sin6_addr.s6_addr + 12, 4);
        memcpy(out + 8, &in6->sin6_port, 2);
        return 10;
    }
    out[3] = SOCKS5_ATYP_IPV6;
    memcpy(out + 4, &in6->sin6_addr, 16);
    memcpy(out + 20, &in6->sin6_port, 2);
    return 22;
}
