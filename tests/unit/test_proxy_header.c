/* test_proxy_header: Check suite for server/socks/proxy_header — PROXY protocol v1 and v2
 * headers decoded whole, byte by byte and split at every position, every malformed class,
 * the bytes behind a header left alone, and random garbage against the decoder's invariants. */
#include "proxy_header.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What follows a header in every test: a SOCKS5 greeting, which must never be taken. */
static const uint8_t greeting[] = {0x05, 0x01, 0x00};

static const uint8_t v2_signature[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Feeds data in pieces of at most piece bytes (an empty feed before each). */
static enum proxy_header_result feed_in_pieces(struct proxy_header_parser *parser,
                                               const uint8_t *data, size_t length, size_t piece,
                                               size_t *consumed_total)
{
    enum proxy_header_result result = PROXY_HEADER_MORE;
    size_t offset = 0, consumed;
    proxy_header_parser_init(parser);
    while (offset < length && result == PROXY_HEADER_MORE) {
        size_t size = length - offset < piece ? length - offset : piece;
        consumed = SIZE_MAX;
        ck_assert_int_eq(proxy_header_parser_feed(parser, data + offset, 0, &consumed),
                         PROXY_HEADER_MORE);
        ck_assert_uint_eq(consumed, 0);
        result = proxy_header_parser_feed(parser, data + offset, size, &consumed);
        ck_assert_uint_le(consumed, size);
        ck_assert(result != PROXY_HEADER_MORE || consumed == size);
        offset += consumed;
    }
    *consumed_total = offset;
    return result;
}

static bool same_parse(const struct proxy_header_parser *a, const struct proxy_header_parser *b)
{
    return a->result == b->result && a->error == b->error && a->has_addresses == b->has_addresses &&
           memcmp(&a->source, &b->source, sizeof(a->source)) == 0 &&
           memcmp(&a->destination, &b->destination, sizeof(a->destination)) == 0;
}

/* Decodes message whole, byte by byte, and split once at every position: all must agree, and
 * a final answer is sticky. Returns the whole decode's result; *parser is that decode. */
static enum proxy_header_result decode_every_way(struct proxy_header_parser *parser,
                                                 const uint8_t *message, size_t length,
                                                 size_t *consumed)
{
    enum proxy_header_result whole = feed_in_pieces(parser, message, length, SIZE_MAX, consumed);
    struct proxy_header_parser other;
    size_t other_consumed;
    ck_assert_int_eq(feed_in_pieces(&other, message, length, 1, &other_consumed), whole);
    ck_assert_uint_eq(other_consumed, *consumed);
    ck_assert(same_parse(&other, parser));
    for (size_t split = 1; split < length; split++) {
        proxy_header_parser_init(&other);
        size_t first, second = 0;
        enum proxy_header_result result =
            proxy_header_parser_feed(&other, message, split, &first);
        if (result == PROXY_HEADER_MORE)
            result = proxy_header_parser_feed(&other, message + split, length - split, &second);
        ck_assert_int_eq(result, whole);
        ck_assert_uint_eq(first + second, *consumed);
        ck_assert(same_parse(&other, parser));
    }
    if (whole != PROXY_HEADER_MORE) {
        size_t again = SIZE_MAX;
        ck_assert_int_eq(proxy_header_parser_feed(&other, message, length, &again), whole);
        ck_assert_uint_eq(again, 0);
    }
    return whole;
}

/* header + greeting: DONE having taken exactly the header. */
static void expect_done(struct proxy_header_parser *parser, const void *header, size_t length)
{
    uint8_t message[4096];
    ck_assert_uint_le(length + sizeof(greeting), sizeof(message));
    memcpy(message, header, length);
    memcpy(message + length, greeting, sizeof(greeting));
    size_t consumed;
    ck_assert_int_eq(decode_every_way(parser, message, length + sizeof(greeting), &consumed),
                     PROXY_HEADER_DONE);
    ck_assert_uint_eq(consumed, length);
    ck_assert_int_eq(parser->error, PROXY_HEADER_ERROR_NONE);
}

static void expect_malformed(const void *header, size_t length, enum proxy_header_error error)
{
    struct proxy_header_parser parser;
    size_t consumed;
    ck_assert_int_eq(decode_every_way(&parser, header, length, &consumed),
                     PROXY_HEADER_MALFORMED);
    ck_assert_int_eq(parser.error, error);
    ck_assert_uint_le(consumed, length);
    ck_assert_str_ne(proxy_header_error_text(error), "");
}

static void expect_v1_malformed(const char *line)
{
    expect_malformed(line, strlen(line), PROXY_HEADER_ERROR_V1_SYNTAX);
}

static void expect_address(const union proxy_header_address *address, const char *text,
                           unsigned port)
{
    char written[INET6_ADDRSTRLEN];
    const void *bytes = address->any.sa_family == AF_INET ? (const void *)&address->in4.sin_addr
                                                          : (const void *)&address->in6.sin6_addr;
    ck_assert_ptr_nonnull(inet_ntop(address->any.sa_family, bytes, written, sizeof(written)));
    ck_assert_str_eq(written, text);
    in_port_t network_port =
        address->any.sa_family == AF_INET ? address->in4.sin_port : address->in6.sin6_port;
    ck_assert_uint_eq(ntohs(network_port), port);
}

/* ---- version 1 ---- */

START_TEST(v1_tcp4_names_both_ends)
{
    struct proxy_header_parser parser;
    const char *header = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 1080\r\n";
    expect_done(&parser, header, strlen(header));
    ck_assert(parser.has_addresses);
    ck_assert_uint_eq(parser.source.any.sa_family, AF_INET);
    expect_address(&parser.source, "192.0.2.7", 56324);
    expect_address(&parser.destination, "198.51.100.1", 1080);
}
END_TEST

START_TEST(v1_tcp6_names_both_ends)
{
    struct proxy_header_parser parser;
    const char *header = "PROXY TCP6 2001:db8::7 ::1 0 65535\r\n";
    expect_done(&parser, header, strlen(header));
    ck_assert(parser.has_addresses);
    ck_assert_uint_eq(parser.source.any.sa_family, AF_INET6);
    expect_address(&parser.source, "2001:db8::7", 0);
    expect_address(&parser.destination, "::1", 65535);
}
END_TEST

START_TEST(v1_unknown_keeps_the_real_addresses)
{
    struct proxy_header_parser parser;
    expect_done(&parser, "PROXY UNKNOWN\r\n", 15);
    ck_assert(!parser.has_addresses);
    /* The longest header the spec allows: UNKNOWN with two full IPv6 addresses, ignored. */
    const char *longest = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    ck_assert_uint_eq(strlen(longest), PROXY_HEADER_V1_MAX_LENGTH);
    expect_done(&parser, longest, strlen(longest));
    ck_assert(!parser.has_addresses);
}
END_TEST

START_TEST(v1_longest_tcp6_header)
{
    struct proxy_header_parser parser;
    const char *header = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65534\r\n";
    expect_done(&parser, header, strlen(header));
    expect_address(&parser.source, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    expect_address(&parser.destination, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65534);
}
END_TEST

START_TEST(v1_over_107_bytes_is_refused_at_the_107th)
{
    char line[200];
    memset(line, 'A', sizeof(line));
    memcpy(line, "PROXY UNKNOWN ", 14);
    struct proxy_header_parser parser;
    size_t consumed;
    ck_assert_int_eq(decode_every_way(&parser, (const uint8_t *)line, sizeof(line), &consumed),
                     PROXY_HEADER_MALFORMED);
    ck_assert_int_eq(parser.error, PROXY_HEADER_ERROR_V1_TOO_LONG);
    ck_assert_uint_eq(consumed, PROXY_HEADER_V1_MAX_LENGTH);
    /* 106 bytes then CRLF's CR as the 107th: still no room for the LF. */
    memcpy(line + PROXY_HEADER_V1_MAX_LENGTH - 1, "\r\n", 2);
    expect_malformed(line, PROXY_HEADER_V1_MAX_LENGTH + 1, PROXY_HEADER_ERROR_V1_TOO_LONG);
}
END_TEST

START_TEST(v1_malformed_lines)
{
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 56324 1080\n");     /* no CR */
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 56324 1080\rX");    /* CR alone */
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 56324 1080 \r\n");  /* trailing */
    expect_v1_malformed("PROXY TCP4 192.0.2.7  198.51.100.1 56324 1080\r\n");  /* two spaces */
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n");        /* 3 fields */
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 1 2 3\r\n");        /* 5 fields */
    expect_v1_malformed("PROXY TCP4 2001:db8::7 198.51.100.1 56324 1080\r\n"); /* family */
    expect_v1_malformed("PROXY TCP6 192.0.2.7 ::1 56324 1080\r\n");            /* family */
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 65536 1080\r\n");   /* port */
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 123456 1080\r\n");  /* port */
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 -1 1080\r\n");      /* port */
    expect_v1_malformed("PROXY TCP4 192.0.2.7 198.51.100.1 1080 \r\n");        /* port */
    expect_v1_malformed("PROXY TCP4 192.0.2.256 198.51.100.1 1 2\r\n");        /* address */
    expect_v1_malformed("PROXY TCP4 example.com 198.51.100.1 1 2\r\n");        /* a name */
    expect_v1_malformed("PROXY tcp4 192.0.2.7 198.51.100.1 1 2\r\n");          /* case */
    expect_v1_malformed("PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n");          /* protocol */
    expect_v1_malformed("PROXY UNKNOWNX\r\n");
    expect_v1_malformed("PROXY TCP4\r\n");
    expect_v1_malformed("PROXY \r\n");
    expect_v1_malformed("PROXY \n");
    const char with_nul[] = "PROXY TCP4 192.0.2.7\0x 198.51.100.1 1 2\r\n";
    expect_malformed(with_nul, sizeof(with_nul) - 1, PROXY_HEADER_ERROR_V1_SYNTAX);
    const char with_tab[] = "PROXY TCP4 192.0.2.7\t198.51.100.1 1 2\r\n";
    expect_malformed(with_tab, sizeof(with_tab) - 1, PROXY_HEADER_ERROR_V1_SYNTAX);
}
END_TEST

START_TEST(v1_truncated_wants_more)
{
    const char *header = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 1080\r\n";
    for (size_t length = 0; length < strlen(header); length++) {
        struct proxy_header_parser parser;
        size_t consumed;
        ck_assert_int_eq(decode_every_way(&parser, (const uint8_t *)header, length, &consumed),
                         PROXY_HEADER_MORE);
        ck_assert_uint_eq(consumed, length);
    }
}
END_TEST

/* ---- not a header at all ---- */

START_TEST(other_protocols_are_missing_headers)
{
    struct proxy_header_parser parser;
    size_t consumed;
    ck_assert_int_eq(decode_every_way(&parser, greeting, sizeof(greeting), &consumed),
                     PROXY_HEADER_MISSING);
    ck_assert_uint_eq(consumed, 0);
    const char *http = "POST / HTTP/1.1\r\n";
    ck_assert_int_eq(decode_every_way(&parser, (const uint8_t *)http, strlen(http), &consumed),
                     PROXY_HEADER_MISSING);
    const char *proxz = "PROXZ TCP4 1.2.3.4 1.2.3.4 1 2\r\n";
    ck_assert_int_eq(decode_every_way(&parser, (const uint8_t *)proxz, strlen(proxz), &consumed),
                     PROXY_HEADER_MISSING);
    const uint8_t almost_v2[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
                                 0x54, 0x0B, 0x21, 0x11, 0x00, 0x0C};
    ck_assert_int_eq(decode_every_way(&parser, almost_v2, sizeof(almost_v2), &consumed),
                     PROXY_HEADER_MISSING);
    ck_assert_uint_eq(consumed, 12);
    ck_assert_int_eq(parser.error, PROXY_HEADER_ERROR_NONE);
}
END_TEST

START_TEST(signature_match_reads_without_taking)
{
    ck_assert_int_eq(proxy_header_signature_match(greeting, sizeof(greeting)),
                     PROXY_SIGNATURE_NONE);
    ck_assert_int_eq(proxy_header_signature_match((const uint8_t *)"", 0),
                     PROXY_SIGNATURE_PARTIAL);
    ck_assert_int_eq(proxy_header_signature_match((const uint8_t *)"PROX", 4),
                     PROXY_SIGNATURE_PARTIAL);
    ck_assert_int_eq(proxy_header_signature_match((const uint8_t *)"PROXY ", 6),
                     PROXY_SIGNATURE_FOUND);
    ck_assert_int_eq(proxy_header_signature_match((const uint8_t *)"PROXY TCP4", 10),
                     PROXY_SIGNATURE_FOUND);
    ck_assert_int_eq(proxy_header_signature_match((const uint8_t *)"PROXY\r", 6),
                     PROXY_SIGNATURE_NONE);
    ck_assert_int_eq(proxy_header_signature_match((const uint8_t *)"POST", 4),
                     PROXY_SIGNATURE_NONE);
    for (size_t length = 1; length < sizeof(v2_signature); length++)
        ck_assert_int_eq(proxy_header_signature_match(v2_signature, length),
                         PROXY_SIGNATURE_PARTIAL);
    ck_assert_int_eq(proxy_header_signature_match(v2_signature, sizeof(v2_signature)),
                     PROXY_SIGNATURE_FOUND);
    const uint8_t wrong[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x01};
    ck_assert_int_eq(proxy_header_signature_match(wrong, sizeof(wrong)), PROXY_SIGNATURE_NONE);
}
END_TEST

/* ---- version 2 ---- */

/* The signature, version/command, family/transport, length and payload. */
static size_t v2_header(uint8_t *out, uint8_t version_command, uint8_t family,
                        const uint8_t *payload, size_t payload_length)
{
    memcpy(out, v2_signature, sizeof(v2_signature));
    out[12] = version_command;
    out[13] = family;
    out[14] = (uint8_t)(payload_length >> 8);
    out[15] = (uint8_t)payload_length;
    if (payload_length > 0)
        memcpy(out + 16, payload, payload_length);
    return 16 + payload_length;
}

static const uint8_t tcp4_addresses[] = {192, 0, 2, 7, 198, 51, 100, 1, 0xDC, 0x04, 0x04, 0x38};

START_TEST(v2_tcp4_names_both_ends)
{
    uint8_t header[64];
    size_t length = v2_header(header, 0x21, 0x11, tcp4_addresses, sizeof(tcp4_addresses));
    struct proxy_header_parser parser;
    expect_done(&parser, header, length);
    ck_assert(parser.has_addresses);
    expect_address(&parser.source, "192.0.2.7", 56324);
    expect_address(&parser.destination, "198.51.100.1", 1080);
}
END_TEST

START_TEST(v2_tcp6_names_both_ends)
{
    uint8_t payload[36] = {0x20, 0x01, 0x0d, 0xb8};
    payload[15] = 7;
    payload[31] = 1;
    payload[32] = 0x30;
    payload[33] = 0x39; /* 12345 */
    payload[35] = 80;
    uint8_t header[64];
    size_t length = v2_header(header, 0x21, 0x21, payload, sizeof(payload));
    struct proxy_header_parser parser;
    expect_done(&parser, header, length);
    ck_assert(parser.has_addresses);
    expect_address(&parser.source, "2001:db8::7", 12345);
    expect_address(&parser.destination, "::1", 80);
}
END_TEST

START_TEST(v2_tlvs_are_skipped_and_the_greeting_stays)
{
    uint8_t payload[PROXY_HEADER_V2_MAX_PAYLOAD];
    memset(payload, 0xEE, sizeof(payload));
    memcpy(payload, tcp4_addresses, sizeof(tcp4_addresses));
    /* PP2_TYPE_AUTHORITY "socks.example", then PP2_TYPE_NOOP padding: skipped unread. */
    const uint8_t tlvs[] = {0x02, 0x00, 0x0D, 's', 'o', 'c', 'k', 's', '.',
                            'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x04, 0x00, 0x00};
    memcpy(payload + sizeof(tcp4_addresses), tlvs, sizeof(tlvs));
    uint8_t header[16 + PROXY_HEADER_V2_MAX_PAYLOAD];
    size_t length =
        v2_header(header, 0x21, 0x11, payload, sizeof(tcp4_addresses) + sizeof(tlvs));
    struct proxy_header_parser parser;
    expect_done(&parser, header, length);
    expect_address(&parser.source, "192.0.2.7", 56324);
    /* The longest payload taken. */
    length = v2_header(header, 0x21, 0x11, payload, PROXY_HEADER_V2_MAX_PAYLOAD);
    expect_done(&parser, header, length);
    expect_address(&parser.source, "192.0.2.7", 56324);
}
END_TEST

START_TEST(v2_local_and_unspecified_keep_the_real_addresses)
{
    uint8_t header[64];
    struct proxy_header_parser parser;
    /* LOCAL (a health check): its family and addresses are ignored, even unlisted ones. */
    size_t length = v2_header(header, 0x20, 0x11, tcp4_addresses, sizeof(tcp4_addresses));
    expect_done(&parser, header, length);
    ck_assert(!parser.has_addresses);
    length = v2_header(header, 0x20, 0x00, NULL, 0);
    expect_done(&parser, header, length);
    ck_assert(!parser.has_addresses);
    length = v2_header(header, 0x20, 0x77, NULL, 0);
    expect_done(&parser, header, length);
    ck_assert(!parser.has_addresses);
    /* PROXY over AF_UNSPEC, UDP, or a unix socket: no client address to take. */
    length = v2_header(header, 0x21, 0x00, NULL, 0);
    expect_done(&parser, header, length);
    ck_assert(!parser.has_addresses);
    length = v2_header(header, 0x21, 0x12, tcp4_addresses, sizeof(tcp4_addresses));
    expect_done(&parser, header, length);
    ck_assert(!parser.has_addresses);
    uint8_t unix_header[16 + 216];
    uint8_t unix_payload[216] = {'/'};
    length = v2_header(unix_header, 0x21, 0x31, unix_payload, sizeof(unix_payload));
    expect_done(&parser, unix_header, length);
    ck_assert(!parser.has_addresses);
}
END_TEST

START_TEST(v2_malformed_heads)
{
    uint8_t header[16 + PROXY_HEADER_V2_MAX_PAYLOAD + 1];
    size_t length = v2_header(header, 0x11, 0x11, tcp4_addresses, sizeof(tcp4_addresses));
    expect_malformed(header, length, PROXY_HEADER_ERROR_V2_VERSION);
    length = v2_header(header, 0x31, 0x11, tcp4_addresses, sizeof(tcp4_addresses));
    expect_malformed(header, length, PROXY_HEADER_ERROR_V2_VERSION);
    length = v2_header(header, 0x22, 0x11, tcp4_addresses, sizeof(tcp4_addresses));
    expect_malformed(header, length, PROXY_HEADER_ERROR_V2_COMMAND);
    const uint8_t unlisted[] = {0x01, 0x02, 0x10, 0x13, 0x20, 0x23, 0x30, 0x41, 0xFF};
    for (size_t i = 0; i < sizeof(unlisted); i++) {
        length = v2_header(header, 0x21, unlisted[i], tcp4_addresses, sizeof(tcp4_addresses));
        expect_malformed(header, length, PROXY_HEADER_ERROR_V2_FAMILY);
    }
    length = v2_header(header, 0x21, 0x11, tcp4_addresses, sizeof(tcp4_addresses) - 1);
    expect_malformed(header, length, PROXY_HEADER_ERROR_V2_TOO_SHORT);
    length = v2_header(header, 0x21, 0x21, tcp4_addresses, sizeof(tcp4_addresses));
    expect_malformed(header, length, PROXY_HEADER_ERROR_V2_TOO_SHORT);
    uint8_t payload[PROXY_HEADER_V2_MAX_PAYLOAD + 1] = {0};
    length = v2_header(header, 0x21, 0x11, payload, sizeof(payload));
    struct proxy_header_parser parser;
    size_t consumed;
    ck_assert_int_eq(decode_every_way(&parser, header, length, &consumed),
                     PROXY_HEADER_MALFORMED);
    ck_assert_int_eq(parser.error, PROXY_HEADER_ERROR_V2_TOO_LONG);
    ck_assert_uint_eq(consumed, 16); /* refused at the length, not after reading the rest */
}
END_TEST

START_TEST(v2_truncated_wants_more)
{
    uint8_t header[64];
    size_t length = v2_header(header, 0x21, 0x11, tcp4_addresses, sizeof(tcp4_addresses));
    for (size_t cut = 0; cut < length; cut++) {
        struct proxy_header_parser parser;
        size_t consumed;
        ck_assert_int_eq(decode_every_way(&parser, header, cut, &consumed), PROXY_HEADER_MORE);
        ck_assert_uint_eq(consumed, cut);
    }
}
END_TEST

/* ---- garbage ---- */

/* Random bytes, often behind a signature or a plausible v2 head so the decoder goes deep;
 * fed whole and in random pieces. Whatever they are: the pieces agree with the whole, a DONE
 * took exactly one header (v1: "PROXY " to the first CRLF, at most 107 bytes; v2: 16 plus
 * the length field) and nothing after it. */
START_TEST(garbage_keeps_the_invariants)
{
    srand(0x9a7e0015);
    uint8_t message[300];
    for (int round = 0; round < 5000; round++) {
        size_t length = (size_t)rand() % sizeof(message);
        for (size_t i = 0; i < length; i++)
            message[i] = (uint8_t)rand();
        int shape = rand() % 4;
        if (shape == 1 && length >= 6)
            memcpy(message, "PROXY ", 6);
        if (shape == 1 && length >= 20) {
            memcpy(message + 6, rand() % 2 ? "TCP4 1.2.3.4 5.6.7.8 " : "UNKNOWN ", 8);
            message[(size_t)rand() % length] = '\r';
            message[(size_t)rand() % length] = '\n';
        }
        if (shape >= 2 && length >= 16) {
            memcpy(message, v2_signature, sizeof(v2_signature));
            message[12] = (uint8_t)(0x20 | (rand() % 3));
            message[14] = 0;
            message[15] = (uint8_t)(rand() % 64);
        }
        struct proxy_header_parser whole, pieces;
        size_t whole_consumed, piece_consumed;
        enum proxy_header_result result =
            feed_in_pieces(&whole, message, length, SIZE_MAX, &whole_consumed);
        size_t piece = 1 + (size_t)rand() % 9;
        ck_assert_int_eq(feed_in_pieces(&pieces, message, length, piece, &piece_consumed),
                         result);
        ck_assert_uint_eq(piece_consumed, whole_consumed);
        ck_assert(same_parse(&pieces, &whole));
        if (result == PROXY_HEADER_MORE)
            ck_assert_uint_eq(whole_consumed, length);
        if (result != PROXY_HEADER_DONE)
            continue;
        if (message[0] == 'P') {
            ck_assert_uint_le(whole_consumed, PROXY_HEADER_V1_MAX_LENGTH);
            ck_assert_mem_eq(message, "PROXY ", 6);
            ck_assert_mem_eq(message + whole_consumed - 2, "\r\n", 2);
            ck_assert_ptr_eq(memchr(message, '\n', whole_consumed - 1), NULL);
        } else {
            ck_assert_mem_eq(message, v2_signature, sizeof(v2_signature));
            ck_assert_uint_eq(whole_consumed, 16u + ((size_t)message[14] << 8 | message[15]));
        }
        int family = whole.source.any.sa_family;
        ck_assert(whole.has_addresses ? family == AF_INET || family == AF_INET6 : family == 0 ||
                                                                                  message[0] == 'P');
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("proxy_header");
    TCase *v1 = tcase_create("v1");
    tcase_add_test(v1, v1_tcp4_names_both_ends);
    tcase_add_test(v1, v1_tcp6_names_both_ends);
    tcase_add_test(v1, v1_unknown_keeps_the_real_addresses);
    tcase_add_test(v1, v1_longest_tcp6_header);
    tcase_add_test(v1, v1_over_107_bytes_is_refused_at_the_107th);
    tcase_add_test(v1, v1_malformed_lines);
    tcase_add_test(v1, v1_truncated_wants_more);
    suite_add_tcase(suite, v1);
    TCase *other = tcase_create("not_a_header");
    tcase_add_test(other, other_protocols_are_missing_headers);
    tcase_add_test(other, signature_match_reads_without_taking);
    suite_add_tcase(suite, other);
    TCase *v2 = tcase_create("v2");
    tcase_add_test(v2, v2_tcp4_names_both_ends);
    tcase_add_test(v2, v2_tcp6_names_both_ends);
    tcase_add_test(v2, v2_tlvs_are_skipped_and_the_greeting_stays);
    tcase_add_test(v2, v2_local_and_unspecified_keep_the_real_addresses);
    tcase_add_test(v2, v2_malformed_heads);
    tcase_add_test(v2, v2_truncated_wants_more);
    suite_add_tcase(suite, v2);
    TCase *garbage = tcase_create("garbage");
    tcase_add_test(garbage, garbage_keeps_the_invariants);
    tcase_set_timeout(garbage, 60);
    suite_add_tcase(suite, garbage);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
