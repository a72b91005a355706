/* fuzz_socks5_udp_header: libFuzzer harness for the UDP datagram header decoder and the reply
 * header's encoder — chunked feeding must agree with a whole decode and with RFC 1928 section 7. */
#include "fuzz_feed.h"
#include "socks5_udp_header.h"

#include <netinet/in.h>
#include <string.h>

/* RFC 1928 section 7 read plainly: the error msg[0..n) earns and where its header ends (or the
 * position after the byte that makes it malformed; n when it is short). */
static enum socks5_udp_header_error header_model(const uint8_t *msg, size_t n, size_t *end)
{
    *end = n;
    for (size_t i = 0; i < 2; i++) {
        if (n <= i)
            return SOCKS5_UDP_ERROR_SHORT;
        if (msg[i] != 0)
            return *end = i + 1, SOCKS5_UDP_ERROR_RESERVED;
    }
    if (n < 3)
        return SOCKS5_UDP_ERROR_SHORT;
    if (msg[2] != 0)
        return *end = 3, SOCKS5_UDP_ERROR_FRAGMENTED;
    if (n < 4)
        return SOCKS5_UDP_ERROR_SHORT;
    size_t header;
    switch (msg[3]) {
    case SOCKS5_ATYP_IPV4:
        header = 10;
        break;
    case SOCKS5_ATYP_IPV6:
        header = 22;
        break;
    case SOCKS5_ATYP_DOMAIN:
        if (n < 5)
            return SOCKS5_UDP_ERROR_SHORT;
        if (msg[4] == 0)
            return *end = 5, SOCKS5_UDP_ERROR_BAD_DOMAIN;
        if (n < 5u + msg[4])
            return SOCKS5_UDP_ERROR_SHORT;
        if (memchr(msg + 5, 0, msg[4]) != NULL)
            return *end = 5u + msg[4], SOCKS5_UDP_ERROR_BAD_DOMAIN;
        header = 7u + msg[4];
        break;
    default:
        return *end = 4, SOCKS5_UDP_ERROR_BAD_ADDRESS_TYPE;
    }
    if (n < header)
        return SOCKS5_UDP_ERROR_SHORT;
    return *end = header, SOCKS5_UDP_ERROR_NONE;
}

static void check_fields(const struct socks5_request *destination, const uint8_t *msg, size_t end)
{
    FUZZ_CHECK(destination->command == SOCKS5_CMD_UDP_ASSOCIATE);
    FUZZ_CHECK(destination->address_type == msg[3]);
    FUZZ_CHECK(destination->port == ((unsigned)msg[end - 2] << 8 | msg[end - 1]));
    switch (destination->address_type) {
    case SOCKS5_ATYP_IPV4:
        FUZZ_CHECK(memcmp(destination->ipv4, msg + 4, 4) == 0);
        break;
    case SOCKS5_ATYP_IPV6:
        FUZZ_CHECK(memcmp(destination->ipv6, msg + 4, 16) == 0);
        break;
    default:
        FUZZ_CHECK(destination->domain_length == msg[4]);
        FUZZ_CHECK(memcmp(destination->domain, msg + 5, msg[4]) == 0);
        FUZZ_CHECK(destination->domain[destination->domain_length] == '\0');
    }
}

/* An IPv4 or IPv6 destination encoded as a reply's source decodes back to itself. */
static void check_reply_round_trip(const struct socks5_request *destination)
{
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    const struct sockaddr *source;
    memset(&in4, 0, sizeof(in4));
    memset(&in6, 0, sizeof(in6));
    if (destination->address_type == SOCKS5_ATYP_IPV4) {
        in4.sin_family = AF_INET;
        memcpy(&in4.sin_addr, destination->ipv4, 4);
        in4.sin_port = htons(destination->port);
        source = (const struct sockaddr *)&in4;
    } else if (destination->address_type == SOCKS5_ATYP_IPV6) {
        in6.sin6_family = AF_INET6;
        memcpy(&in6.sin6_addr, destination->ipv6, 16);
        in6.sin6_port = htons(destination->port);
        source = (const struct sockaddr *)&in6;
    } else {
        return;
    }
    uint8_t out[SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH + 1];
    memset(out, 0xA5, sizeof(out));
    size_t written = socks5_udp_header_encode(out, source);
    FUZZ_CHECK(written == 10 || written == 22);
    FUZZ_CHECK(out[written] == 0xA5 || written == 22);
    struct socks5_udp_header_parser again;
    size_t header;
    FUZZ_CHECK(socks5_udp_header_decode(&again, out, written, &header) == SOCKS5_UDP_ERROR_NONE);
    FUZZ_CHECK(header == written && again.destination.port == destination->port);
    if (written == 22)
        FUZZ_CHECK(memcmp(again.destination.ipv6, destination->ipv6, 16) == 0);
    else if (destination->address_type == SOCKS5_ATYP_IPV4)
        FUZZ_CHECK(memcmp(again.destination.ipv4, destination->ipv4, 4) == 0);
    else /* an IPv4-mapped IPv6 address comes back as its IPv4 address */
        FUZZ_CHECK(memcmp(again.destination.ipv4, destination->ipv6 + 12, 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;

    size_t want_end;
    enum socks5_udp_header_error want = header_model(msg, n, &want_end);
    struct socks5_udp_header_parser whole;
    size_t whole_end = SIZE_MAX;
    FUZZ_CHECK(socks5_udp_header_decode(&whole, msg, n, &whole_end) == want);
    FUZZ_CHECK(whole_end == want_end);
    if (want == SOCKS5_UDP_ERROR_NONE)
        check_fields(&whole.destination, msg, whole_end);

    struct socks5_udp_header_parser pieces;
    size_t offset = 0, consumed;
    enum socks5_parse_result result = SOCKS5_PARSE_MORE;
    socks5_udp_header_parser_init(&pieces);
    while (offset < n && result == SOCKS5_PARSE_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(socks5_udp_header_parser_feed(&pieces, msg + offset, 0, &consumed) ==
                       SOCKS5_PARSE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = socks5_udp_header_parser_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != SOCKS5_PARSE_MORE || consumed == piece);
        offset += consumed;
    }
    FUZZ_CHECK(offset == want_end);
    FUZZ_CHECK(result == (want == SOCKS5_UDP_ERROR_NONE    ? SOCKS5_PARSE_DONE
                          : want == SOCKS5_UDP_ERROR_SHORT ? SOCKS5_PARSE_MORE
                                                           : SOCKS5_PARSE_ERROR));
    FUZZ_CHECK(pieces.error == (want == SOCKS5_UDP_ERROR_SHORT ? SOCKS5_UDP_ERROR_NONE : want));
    if (result == SOCKS5_PARSE_DONE) {
        check_fields(&pieces.destination, msg, offset);
        check_reply_round_trip(&pieces.destination);
    }
    if (result != SOCKS5_PARSE_MORE) {
        consumed = SIZE_MAX;
        FUZZ_CHECK(socks5_udp_header_parser_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
    }
    return 0;
}
