/* socks5_udp_header: the I/O-free decoder of the header a client puts before each datagram it
 * relays (RFC 1928 section 7), and the encoder of the header the server puts before replies. */
#ifndef SOCKS5_UDP_HEADER_H
#define SOCKS5_UDP_HEADER_H

#include "socks5_parser.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Why a datagram's header is refused; the server drops such a datagram without an answer
 * (nothing in section 7 lets it say why) and counts the cause. */
enum socks5_udp_header_error {
    SOCKS5_UDP_ERROR_NONE = 0,
    SOCKS5_UDP_ERROR_SHORT,             /* the datagram ends inside the header */
    SOCKS5_UDP_ERROR_RESERVED,          /* RSV is not 0x0000 */
    SOCKS5_UDP_ERROR_FRAGMENTED,        /* FRAG is not 0: this server does not reassemble */
    SOCKS5_UDP_ERROR_BAD_ADDRESS_TYPE,  /* ATYP is none of 0x01, 0x03, 0x04 */
    SOCKS5_UDP_ERROR_BAD_DOMAIN,        /* a domain that is empty or holds a NUL byte */
};

/* RSV RSV FRAG ATYP DST.ADDR DST.PORT, then DATA. */
struct socks5_udp_header_parser {
    uint8_t state;
    uint8_t field_left;
    /* Where the datagram goes, as a request for it would name it (command UDP ASSOCIATE):
     * what the destination policy judges. */
    struct socks5_request destination;
    enum socks5_udp_header_error error;
};

void socks5_udp_header_parser_init(struct socks5_udp_header_parser *parser);
/* Consumes bytes up to the end of the header (DONE: what follows is DATA, not consumed) and
 * stores in *consumed how many it took. ERROR names its cause in parser->error. */
enum socks5_parse_result socks5_udp_header_parser_feed(struct socks5_udp_header_parser *parser,
                                                       const uint8_t *data, size_t length,
                                                       size_t *consumed);

/* One whole datagram: SOCKS5_UDP_ERROR_NONE with the header's length in *header_length (DATA
 * starts there and may be empty), or why it is refused (SHORT if it ends inside the header). */
enum socks5_udp_header_error socks5_udp_header_decode(struct socks5_udp_header_parser *parser,
                                                      const uint8_t *datagram, size_t length,
                                                      size_t *header_length);

#define SOCKS5_UDP_HEADER_MAX_LENGTH (4 + 1 + 255 + 2) /* a 255-byte domain */
#define SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH 22          /* an IPv6 source */

/* Writes the header naming source (AF_INET, AF_INET6; an IPv4-mapped IPv6 address is written
 * as IPv4) with FRAG 0. Returns its length (10 or 22), 0 for any other family. */
size_t socks5_udp_header_encode(uint8_t out[SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH],
                                const struct sockaddr *source);

#endif
