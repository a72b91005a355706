/* test_socks5_udp_header: Check suite for server/socks/socks5_udp_header — the RFC 1928
 * section 7 datagram header decoded whole, byte by byte, split anywhere, every malformed class
 * and random garbage against a model; and the reply header's encoder. */
#include "socks5_udp_header.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* Feeds data in pieces of at most piece bytes (an empty feed before each): the result, the
 * bytes consumed in all, and the parser. */
static enum socks5_parse_result feed_in_pieces(struct socks5_udp_header_parser *parser,
                                               const uint8_t *data, size_t length, size_t piece,
                                               size_t *consumed_total)
{
    enum socks5_parse_result result = SOCKS5_PARSE_MORE;
    size_t offset = 0, consumed;
    socks5_udp_header_parser_init(parser);
    while (offset < length && result == SOCKS5_PARSE_MORE) {
        size_t size = length - offset < piece ? length - offset : piece;
        consumed = SIZE_MAX;
        ck_assert_int_eq(socks5_udp_header_parser_feed(parser, data + offset, 0, &consumed),
                         SOCKS5_PARSE_MORE);
        ck_assert_uint_eq(consumed, 0);
        result = socks5_udp_header_parser_feed(parser, data + offset, size, &consumed);
        ck_assert_uint_le(consumed, size);
        ck_assert(result != SOCKS5_PARSE_MORE || consumed == size);
        offset += consumed;
    }
    *consumed_total = offset;
    return result;
}

static bool same_destination(const struct socks5_request *a, const struct socks5_request *b)
{
    if (a->address_type != b->address_type || a->port != b->port || a->command != b->command)
        return false;
    switch (a->address_type) {
    case SOCKS5_ATYP_IPV4:
        return memcmp(a->ipv4, b->ipv4, 4) == 0;
    case SOCKS5_ATYP_IPV6:
        return memcmp(a->ipv6, b->ipv6, 16) == 0;
    default:
        return a->domain_length == b->domain_length &&
               memcmp(a->domain, b->domain, a->domain_length + 1u) == 0;
    }
}

/* Decodes datagram whole, then fed byte by byte, then split once at every position: all must
 * agree. Returns the whole decode's error; *parser is the whole decode's. */
static enum socks5_udp_header_error decode_every_way(struct socks5_udp_header_parser *parser,
                                                     const uint8_t *datagram, size_t length,
                                                     size_t *header_length)
{
    enum socks5_udp_header_error error =
        socks5_udp_header_decode(parser, datagram, length, header_length);
    struct socks5_udp_header_parser other;
    size_t consumed;
    enum socks5_parse_result result = feed_in_pieces(&other, datagram, length, 1, &consumed);
    ck_assert_int_eq(other.error, error == SOCKS5_UDP_ERROR_SHORT ? SOCKS5_UDP_ERROR_NONE : error);
    ck_assert_int_eq(result, error == SOCKS5_UDP_ERROR_NONE    ? SOCKS5_PARSE_DONE
                             : error == SOCKS5_UDP_ERROR_SHORT ? SOCKS5_PARSE_MORE
                                                               : SOCKS5_PARSE_ERROR);
    ck_assert_uint_eq(consumed, *header_length);
    if (error == SOCKS5_UDP_ERROR_NONE)
        ck_assert(same_destination(&other.destination, &parser->destination));
    for (size_t split = 1; split < length; split++) {
        struct socks5_udp_header_parser split_parser;
        size_t first, second = 0;
        socks5_udp_header_parser_init(&split_parser);
        result = socks5_udp_header_parser_feed(&split_parser, datagram, split, &first);
        if (result == SOCKS5_PARSE_MORE)
            result = socks5_udp_header_parser_feed(&split_parser, datagram + split, length - split,
                                                   &second);
        ck_assert_uint_eq(first + second, *header_length);
        ck_assert_int_eq(split_parser.error, other.error);
        if (error == SOCKS5_UDP_ERROR_NONE)
            ck_assert(same_destination(&split_parser.destination, &parser->destination));
    }
    return error;
}

static void expect_ok(struct socks5_udp_header_parser *parser, const uint8_t *datagram,
                      size_t length, size_t want_header_length)
{
    size_t header_length = SIZE_MAX;
    ck_assert_int_eq(decode_every_way(parser, datagram, length, &header_length),
                     SOCKS5_UDP_ERROR_NONE);
    ck_assert_uint_eq(header_length, want_header_length);
    ck_assert_uint_eq(parser->destination.command, SOCKS5_CMD_UDP_ASSOCIATE);
}

static void expect_error(const uint8_t *datagram, size_t length,
                         enum socks5_udp_header_error want, size_t want_consumed)
{
    struct socks5_udp_header_parser parser;
    size_t consumed = SIZE_MAX;
    ck_assert_int_eq(decode_every_way(&parser, datagram, length, &consumed), want);
    ck_assert_uint_eq(consumed, want_consumed);
}

/* ---- well-formed ---- */

START_TEST(ipv4_destination_and_payload)
{
    struct socks5_udp_header_parser p;
    expect_ok(&p, BYTES(0, 0, 0, 0x01, 192, 0, 2, 7, 0x00, 0x35, 'h', 'i'), 10);
    ck_assert_uint_eq(p.destination.address_type, SOCKS5_ATYP_IPV4);
    ck_assert_mem_eq(p.destination.ipv4, ((const uint8_t[]){192, 0, 2, 7}), 4);
    ck_assert_uint_eq(p.destination.port, 53);
}
END_TEST

START_TEST(ipv6_destination)
{
    struct socks5_udp_header_parser p;
    expect_ok(&p, BYTES(0, 0, 0, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0x10, 0x01, 0xBB, 0xAA),
              22);
    ck_assert_uint_eq(p.destination.address_type, SOCKS5_ATYP_IPV6);
    ck_assert_uint_eq(p.destination.ipv6[0], 0x20);
    ck_assert_uint_eq(p.destination.ipv6[15], 0x10);
    ck_assert_uint_eq(p.destination.port, 443);
}
END_TEST

START_TEST(domain_destination)
{
    struct socks5_udp_header_parser p;
    expect_ok(&p, BYTES(0, 0, 0, 0x03, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0x1F,
                        0x90, 'x'),
              16);
    ck_assert_uint_eq(p.destination.domain_length, 9);
    ck_assert_str_eq(p.destination.domain, "localhost");
    ck_assert_uint_eq(p.destination.port, 8080);
}
END_TEST

START_TEST(domain_of_255_bytes)
{
    uint8_t datagram[4 + 1 + 255 + 2 + 3];
    memset(datagram, 0, sizeof(datagram));
    datagram[3] = SOCKS5_ATYP_DOMAIN;
    datagram[4] = 255;
    memset(datagram + 5, 'a', 255);
    datagram[260] = 0xFF;
    datagram[261] = 0xFF;
    struct socks5_udp_header_parser p;
    expect_ok(&p, datagram, sizeof(datagram), SOCKS5_UDP_HEADER_MAX_LENGTH);
    ck_assert_uint_eq(strlen(p.destination.domain), 255);
    ck_assert_uint_eq(p.destination.port, 65535);
}
END_TEST

START_TEST(empty_payload_is_a_datagram)
{
    struct socks5_udp_header_parser p;
    expect_ok(&p, BYTES(0, 0, 0, 0x01, 127, 0, 0, 1, 0x00, 0x00), 10);
    ck_assert_uint_eq(p.destination.port, 0);
}
END_TEST

START_TEST(a_parser_is_reused_for_the_next_datagram)
{
    struct socks5_udp_header_parser p;
    expect_ok(&p, BYTES(0, 0, 0, 0x03, 3, 'a', 'b', 'c', 0x00, 0x01), 10);
    expect_ok(&p, BYTES(0, 0, 0, 0x03, 1, 'z', 0x00, 0x02), 8);
    ck_assert_str_eq(p.destination.domain, "z");
    ck_assert_uint_eq(p.destination.port, 2);
    size_t length;
    ck_assert_int_eq(socks5_udp_header_decode(&p, BYTES(0, 0, 0, 0x01, 1, 2), &length),
                     SOCKS5_UDP_ERROR_SHORT);
    expect_ok(&p, BYTES(0, 0, 0, 0x01, 10, 0, 0, 1, 0x00, 0x03), 10);
    ck_assert_uint_eq(p.destination.port, 3);
}
END_TEST

/* ---- malformed ---- */

START_TEST(every_prefix_is_short)
{
    const uint8_t whole[] = {0, 0, 0, 0x03, 4, 'h', 'o', 's', 't', 0x00, 0x35};
    for (size_t length = 0; length < sizeof(whole); length++)
        expect_error(whole, length, SOCKS5_UDP_ERROR_SHORT, length);
    const uint8_t whole6[22] = {0, 0, 0, 0x04};
    for (size_t length = 0; length < sizeof(whole6); length++)
        expect_error(whole6, length, SOCKS5_UDP_ERROR_SHORT, length);
}
END_TEST

START_TEST(reserved_bytes_must_be_zero)
{
    expect_error(BYTES(0x01, 0, 0, 0x01, 127, 0, 0, 1, 0, 80), SOCKS5_UDP_ERROR_RESERVED, 1);
    expect_error(BYTES(0, 0x80, 0, 0x01, 127, 0, 0, 1, 0, 80), SOCKS5_UDP_ERROR_RESERVED, 2);
    expect_error(BYTES(0xFF, 0xFF), SOCKS5_UDP_ERROR_RESERVED, 1);
}
END_TEST

START_TEST(fragments_are_refused)
{
    const uint8_t fragments[] = {0x01, 0x02, 0x7F, 0x80, 0x81, 0xFF};
    for (size_t i = 0; i < sizeof(fragments); i++)
        expect_error(BYTES(0, 0, fragments[i], 0x01, 127, 0, 0, 1, 0, 80),
                     SOCKS5_UDP_ERROR_FRAGMENTED, 3);
}
END_TEST

START_TEST(unknown_address_types_are_refused)
{
    const uint8_t types[] = {0x00, 0x02, 0x05, 0x80, 0xFF};
    for (size_t i = 0; i < sizeof(types); i++)
        expect_error(BYTES(0, 0, 0, types[i], 127, 0, 0, 1, 0, 80),
                     SOCKS5_UDP_ERROR_BAD_ADDRESS_TYPE, 4);
}
END_TEST

START_TEST(empty_domain_is_refused)
{
    expect_error(BYTES(0, 0, 0, 0x03, 0, 0x00, 0x35, 'x'), SOCKS5_UDP_ERROR_BAD_DOMAIN, 5);
}
END_TEST

START_TEST(domain_with_nul_is_refused)
{
    expect_error(BYTES(0, 0, 0, 0x03, 3, 'a', 0, 'b', 0x00, 0x35), SOCKS5_UDP_ERROR_BAD_DOMAIN, 8);
    expect_error(BYTES(0, 0, 0, 0x03, 1, 0, 0x00, 0x35), SOCKS5_UDP_ERROR_BAD_DOMAIN, 6);
}
END_TEST

START_TEST(done_and_error_are_sticky)
{
    struct socks5_udp_header_parser p;
    size_t consumed;
    const uint8_t ok[] = {0, 0, 0, 0x01, 1, 2, 3, 4, 0, 9, 'd'};
    socks5_udp_header_parser_init(&p);
    ck_assert_int_eq(socks5_udp_header_parser_feed(&p, ok, sizeof(ok), &consumed),
                     SOCKS5_PARSE_DONE);
    ck_assert_uint_eq(consumed, 10);
    ck_assert_int_eq(socks5_udp_header_parser_feed(&p, ok, sizeof(ok), &consumed),
                     SOCKS5_PARSE_DONE);
    ck_assert_uint_eq(consumed, 0);
    const uint8_t bad[] = {0, 0, 1, 0x01};
    socks5_udp_header_parser_init(&p);
    ck_assert_int_eq(socks5_udp_header_parser_feed(&p, bad, sizeof(bad), &consumed),
                     SOCKS5_PARSE_ERROR);
    ck_assert_int_eq(socks5_udp_header_parser_feed(&p, ok, sizeof(ok), &consumed),
                     SOCKS5_PARSE_ERROR);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_int_eq(p.error, SOCKS5_UDP_ERROR_FRAGMENTED);
}
END_TEST

/* ---- garbage against a model ---- */

/* RFC 1928 section 7 read plainly: the error a datagram earns and where its header ends (or
 * the position after the byte that makes it malformed). */
static enum socks5_udp_header_error model(const uint8_t *d, size_t n, size_t *end)
{
    for (size_t i = 0; i < 2; i++) {
        if (n <= i)
            return *end = n, SOCKS5_UDP_ERROR_SHORT;
        if (d[i] != 0)
            return *end = i + 1, SOCKS5_UDP_ERROR_RESERVED;
    }
    if (n < 3)
        return *end = n, SOCKS5_UDP_ERROR_SHORT;
    if (d[2] != 0)
        return *end = 3, SOCKS5_UDP_ERROR_FRAGMENTED;
    if (n < 4)
        return *end = n, SOCKS5_UDP_ERROR_SHORT;
    size_t header;
    switch (d[3]) {
    case SOCKS5_ATYP_IPV4:
        header = 10;
        break;
    case SOCKS5_ATYP_IPV6:
        header = 22;
        break;
    case SOCKS5_ATYP_DOMAIN:
        if (n < 5)
            return *end = n, SOCKS5_UDP_ERROR_SHORT;
        if (d[4] == 0)
            return *end = 5, SOCKS5_UDP_ERROR_BAD_DOMAIN;
        if (n < 5u + d[4])
            return *end = n, SOCKS5_UDP_ERROR_SHORT;
        if (memchr(d + 5, 0, d[4]) != NULL)
            return *end = 5u + d[4], SOCKS5_UDP_ERROR_BAD_DOMAIN;
        header = 7u + d[4];
        break;
    default:
        return *end = 4, SOCKS5_UDP_ERROR_BAD_ADDRESS_TYPE;
    }
    if (n < header)
        return *end = n, SOCKS5_UDP_ERROR_SHORT;
    return *end = header, SOCKS5_UDP_ERROR_NONE;
}

START_TEST(garbage_agrees_with_the_model)
{
    srand(0x5eed0007);
    uint8_t datagram[300];
    for (int round = 0; round < 20000; round++) {
        size_t length = (size_t)rand() % sizeof(datagram);
        for (size_t i = 0; i < length; i++)
            datagram[i] = (uint8_t)rand();
        /* Mostly well-formed openings, so the model's deeper branches are reached too. */
        int shape = rand() % 4;
        if (shape > 0 && length > 4) {
            datagram[0] = datagram[1] = datagram[2] = 0;
            datagram[3] = (const uint8_t[]){0, SOCKS5_ATYP_IPV4, SOCKS5_ATYP_DOMAIN,
                                            SOCKS5_ATYP_IPV6}[shape];
            if (shape == 2 && length > 5)
                datagram[4] = (uint8_t)(rand() % (int)length);
        }
        size_t want_end, end;
        enum socks5_udp_header_error want = model(datagram, length, &want_end);
        struct socks5_udp_header_parser p;
        ck_assert_int_eq(socks5_udp_header_decode(&p, datagram, length, &end), want);
        ck_assert_uint_eq(end, want_end);
        size_t piece = 1 + (size_t)rand() % 8, consumed;
        struct socks5_udp_header_parser pieces;
        feed_in_pieces(&pieces, datagram, length, piece, &consumed);
        ck_assert_uint_eq(consumed, want_end);
        if (want == SOCKS5_UDP_ERROR_NONE) {
            ck_assert(same_destination(&pieces.destination, &p.destination));
            ck_assert_uint_eq(p.destination.port, (unsigned)datagram[end - 2] << 8 | datagram[end - 1]);
        }
    }
}
END_TEST

/* ---- the reply header ---- */

START_TEST(encode_ipv4_source)
{
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(5353)};
    inet_pton(AF_INET, "198.51.100.9", &in4.sin_addr);
    uint8_t out[SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH + 1];
    memset(out, 0xA5, sizeof(out));
    ck_assert_uint_eq(socks5_udp_header_encode(out, (struct sockaddr *)&in4), 10);
    ck_assert_mem_eq(out, ((const uint8_t[]){0, 0, 0, 1, 198, 51, 100, 9, 0x14, 0xE9}), 10);
    ck_assert_uint_eq(out[10], 0xA5);
}
END_TEST

START_TEST(encode_ipv6_source_round_trips)
{
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
    uint8_t out[SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH + 4] = {0};
    size_t length = socks5_udp_header_encode(out, (struct sockaddr *)&in6);
    ck_assert_uint_eq(length, 22);
    struct socks5_udp_header_parser p;
    size_t header;
    memcpy(out + length, "data", 4);
    ck_assert_int_eq(socks5_udp_header_decode(&p, out, length + 4, &header), SOCKS5_UDP_ERROR_NONE);
    ck_assert_uint_eq(header, 22);
    ck_assert_mem_eq(p.destination.ipv6, &in6.sin6_addr, 16);
    ck_assert_uint_eq(p.destination.port, 443);
}
END_TEST

START_TEST(encode_mapped_ipv4_as_ipv4)
{
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(53)};
    inet_pton(AF_INET6, "::ffff:127.0.0.2", &in6.sin6_addr);
    uint8_t out[SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH];
    ck_assert_uint_eq(socks5_udp_header_encode(out, (struct sockaddr *)&in6), 10);
    ck_assert_mem_eq(out, ((const uint8_t[]){0, 0, 0, 1, 127, 0, 0, 2, 0, 53}), 10);
}
END_TEST

START_TEST(encode_other_family_writes_nothing_usable)
{
    struct sockaddr other = {.sa_family = AF_UNIX};
    uint8_t out[SOCKS5_UDP_REPLY_HEADER_MAX_LENGTH];
    ck_assert_uint_eq(socks5_udp_header_encode(out, &other), 0);
}
END_TEST

static Suite *udp_header_suite(void)
{
    Suite *suite = suite_create("socks5_udp_header");
    TCase *decode = tcase_create("decode");
    TCase *malformed = tcase_create("malformed");
    TCase *garbage = tcase_create("garbage");
    TCase *encode = tcase_create("encode");
    tcase_add_test(decode, ipv4_destination_and_payload);
    tcase_add_test(decode, ipv6_destination);
    tcase_add_test(decode, domain_destination);
    tcase_add_test(decode, domain_of_255_bytes);
    tcase_add_test(decode, empty_payload_is_a_datagram);
    tcase_add_test(decode, a_parser_is_reused_for_the_next_datagram);
    tcase_add_test(malformed, every_prefix_is_short);
    tcase_add_test(malformed, reserved_bytes_must_be_zero);
    tcase_add_test(malformed, fragments_are_refused);
    tcase_add_test(malformed, unknown_address_types_are_refused);
    tcase_add_test(malformed, empty_domain_is_refused);
    tcase_add_test(malformed, domain_with_nul_is_refused);
    tcase_add_test(malformed, done_and_error_are_sticky);
    tcase_add_test(garbage, garbage_agrees_with_the_model);
    tcase_set_timeout(garbage, 60);
    tcase_add_test(encode, encode_ipv4_source);
    tcase_add_test(encode, encode_ipv6_source_round_trips);
    tcase_add_test(encode, encode_mapped_ipv4_as_ipv4);
    tcase_add_test(encode, encode_other_family_writes_nothing_usable);
    suite_add_tcase(suite, decode);
    suite_add_tcase(suite, malformed);
    suite_add_tcase(suite, garbage);
    suite_add_tcase(suite, encode);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(udp_header_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
