/* test_socks5_parser: Check suite for server/socks/socks5_parser — the greeting, RFC 1929 and request
 * decoders fed whole, byte by byte, split anywhere and with random garbage, and the encoders. */
#include "session_request.h"
#include "socks5_failure.h"
#include "socks5_parser.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The REP code a complete request earns before any connection is tried, and the one a request
 * the decoder rejected earns: the request stage's checks through the failure table. */
static enum socks5_reply_code request_reply(const struct socks5_request *request)
{
    return socks5_failure_outcome(session_request_check(request)).reply;
}

static enum socks5_reply_code parse_error_reply(enum socks5_parse_error error)
{
    return socks5_failure_outcome(socks5_failure_of_parse_error(error)).reply;
}

/* ---- One generic view of the three decoders, so every feeding pattern is written once ---- */

union any_parser {
    struct socks5_greeting_parser greeting;
    struct socks5_auth_parser auth;
    struct socks5_request_parser request;
};

struct parser_kind {
    const char *name;
    void (*init)(union any_parser *parser);
    enum socks5_parse_result (*feed)(union any_parser *parser, const uint8_t *data,
                                     size_t length, size_t *consumed);
    enum socks5_parse_error (*error)(const union any_parser *parser);
    /* Fails the test unless two parsers that reached DONE decoded the same message. */
    void (*assert_same_message)(const union any_parser *a, const union any_parser *b,
                                const char *how);
};

static void greeting_init(union any_parser *parser)
{
    socks5_greeting_parser_init(&parser->greeting);
}

static enum socks5_parse_result greeting_feed(union any_parser *parser, const uint8_t *data,
                                              size_t length, size_t *consumed)
{
    return socks5_greeting_parser_feed(&parser->greeting, data, length, consumed);
}

static enum socks5_parse_error greeting_error(const union any_parser *parser)
{
    return parser->greeting.error;
}

static void greeting_assert_same(const union any_parser *a, const union any_parser *b,
                                 const char *how)
{
    ck_assert_msg(a->greeting.offers_no_auth == b->greeting.offers_no_auth &&
                      a->greeting.offers_userpass == b->greeting.offers_userpass,
                  "greeting %s: methods decoded differently from the whole feed", how);
}

static void auth_init(union any_parser *parser)
{
    socks5_auth_parser_init(&parser->auth);
}

static enum socks5_parse_result auth_feed(union any_parser *parser, const uint8_t *data,
                                          size_t length, size_t *consumed)
{
    return socks5_auth_parser_feed(&parser->auth, data, length, consumed);
}

static enum socks5_parse_error auth_error(const union any_parser *parser)
{
    return parser->auth.error;
}

static void auth_assert_same(const union any_parser *a, const union any_parser *b,
                             const char *how)
{
    const struct socks5_auth_parser *x = &a->auth, *y = &b->auth;
    /* +1: the terminating NUL is part of the contract. */
    ck_assert_msg(x->username_length == y->username_length &&
                      x->password_length == y->password_length &&
                      memcmp(x->username, y->username, x->username_length + 1u) == 0 &&
                      memcmp(x->password, y->password, x->password_length + 1u) == 0,
                  "auth %s: credentials decoded differently from the whole feed", how);
}

static void request_init(union any_parser *parser)
{
    socks5_request_parser_init(&parser->request);
}

static enum socks5_parse_result request_feed(union any_parser *parser, const uint8_t *data,
                                             size_t length, size_t *consumed)
{
    return socks5_request_parser_feed(&parser->request, data, length, consumed);
}

static enum socks5_parse_error request_error(const union any_parser *parser)
{
    return parser->request.error;
}

static bool same_address(const struct socks5_request *x, const struct socks5_request *y)
{
    switch (x->address_type) {
    case SOCKS5_ATYP_IPV4:
        return memcmp(x->ipv4, y->ipv4, 4) == 0;
    case SOCKS5_ATYP_IPV6:
        return memcmp(x->ipv6, y->ipv6, 16) == 0;
    default:
        return x->domain_length == y->domain_length &&
               memcmp(x->domain, y->domain, x->domain_length + 1u) == 0;
    }
}

static void request_assert_same(const union any_parser *a, const union any_parser *b,
                                const char *how)
{
    const struct socks5_request *x = &a->request.request, *y = &b->request.request;
    ck_assert_msg(x->command == y->command && x->address_type == y->address_type &&
                      x->port == y->port && same_address(x, y),
                  "request %s: decoded differently from the whole feed", how);
}

static const struct parser_kind greeting_kind = {"greeting", greeting_init, greeting_feed,
                                                 greeting_error, greeting_assert_same};
static const struct parser_kind auth_kind = {"auth", auth_init, auth_feed, auth_error,
                                             auth_assert_same};
static const struct parser_kind request_kind = {"request", request_init, request_feed,
                                                request_error, request_assert_same};

/* ---- Feeding patterns ---- */

/* What a parser must do with a buffer: end in result after taking exactly stop bytes
 * (for MORE, stop is SIZE_MAX: it takes everything it is given). */
struct outcome {
    enum socks5_parse_result result;
    size_t stop;
    enum socks5_parse_error error;
};

static const struct outcome OUTCOME_MORE = {SOCKS5_PARSE_MORE, SIZE_MAX, SOCKS5_ERROR_NONE};

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Inits parser and feeds buf in pieces that end at cuts[0] <= cuts[1] <= ... (the last piece
 * ends at length), asserting each call's result and exact *consumed. */
static void feed_pieces(const struct parser_kind *kind, union any_parser *parser,
                        const uint8_t *buf, size_t length, const size_t *cuts, size_t cut_count,
                        const struct outcome *expected, const char *how)
{
    size_t start = 0;
    kind->init(parser);
    for (size_t i = 0; i <= cut_count; i++) {
        size_t end = i < cut_count ? cuts[i] : length;
        size_t consumed = SIZE_MAX;
        enum socks5_parse_result result = kind->feed(parser, buf + start, end - start, &consumed);
        enum socks5_parse_result want = end >= expected->stop ? expected->result
                                                                : SOCKS5_PARSE_MORE;
        size_t want_consumed = min_size(end, expected->stop) - min_size(start, expected->stop);
        ck_assert_msg(result == want && consumed == want_consumed,
                      "%s fed %s, piece [%zu,%zu) of %zu: result %d consumed %zu, want %d and %zu",
                      kind->name, how, start, end, length, (int)result, consumed, (int)want,
                      want_consumed);
        start = end;
    }
    ck_assert_msg(kind->error(parser) == expected->error, "%s fed %s: error %d, want %d",
                  kind->name, how, (int)kind->error(parser), (int)expected->error);
}

static void assert_same_as_whole(const struct parser_kind *kind, const union any_parser *parser,
                                 const union any_parser *whole, const struct outcome *expected,
                                 const char *how)
{
    if (expected->result == SOCKS5_PARSE_DONE)
        kind->assert_same_message(parser, whole, how);
}

/* Every split into two pieces; every split into three for short buffers; one byte at a time. */
static void check_all_feedings(const struct parser_kind *kind, const uint8_t *buf, size_t length,
                               const struct outcome *expected, const union any_parser *whole)
{
    union any_parser parser;
    char how[64];
    size_t cuts[1024];

    ck_assert(length <= sizeof(cuts) / sizeof(cuts[0]));
    for (size_t i = 0; i + 1 < length; i++)
        cuts[i] = i + 1;
    feed_pieces(kind, &parser, buf, length, cuts, length ? length - 1 : 0, expected,
                "one byte at a time");
    assert_same_as_whole(kind, &parser, whole, expected, "one byte at a time");

    for (size_t first = 0; first <= length; first++) {
        cuts[0] = first;
        snprintf(how, sizeof(how), "split at %zu", first);
        feed_pieces(kind, &parser, buf, length, cuts, 1, expected, how);
        assert_same_as_whole(kind, &parser, whole, expected, how);
    }

    if (length > 64)
        return;
    for (size_t first = 0; first <= length; first++) {
        for (size_t second = first; second <= length; second++) {
            cuts[0] = first;
            cuts[1] = second;
            snprintf(how, sizeof(how), "split at %zu and %zu", first, second);
            feed_pieces(kind, &parser, buf, length, cuts, 2, expected, how);
            assert_same_as_whole(kind, &parser, whole, expected, how);
        }
    }
}

/* Looks like the start of the next message: a parser that reads past its own end would
 * take these bytes and be caught by the exact *consumed checks. */
static const uint8_t next_message_bytes[] = {0x05, 0x01, 0x00, 0x01, 0x7f};

/* Feeds msg followed by the next message's bytes, whole and in every pattern; leaves the
 * whole-fed parser in *out for the caller to check the decoded fields. */
static void expect_done(const struct parser_kind *kind, union any_parser *out,
                        const uint8_t *msg, size_t length)
{
    uint8_t buf[1024];
    struct outcome expected = {SOCKS5_PARSE_DONE, length, SOCKS5_ERROR_NONE};
    ck_assert(length + sizeof(next_message_bytes) <= sizeof(buf));
    memcpy(buf, msg, length);
    memcpy(buf + length, next_message_bytes, sizeof(next_message_bytes));
    length += sizeof(next_message_bytes);
    feed_pieces(kind, out, buf, length, NULL, 0, &expected, "whole");
    check_all_feedings(kind, buf, length, &expected, out);
}

/* msg is malformed at byte bad_at: the parser takes bytes up to and including it, no more. */
static void expect_error(const struct parser_kind *kind, const uint8_t *msg, size_t length,
                         size_t bad_at, enum socks5_parse_error error)
{
    union any_parser whole;
    struct outcome expected = {SOCKS5_PARSE_ERROR, bad_at + 1, error};
    ck_assert(bad_at < length);
    feed_pieces(kind, &whole, msg, length, NULL, 0, &expected, "whole");
    check_all_feedings(kind, msg, length, &expected, &whole);
}

/* msg is an incomplete message: every byte is taken and the parser wants more. */
static void expect_more(const struct parser_kind *kind, const uint8_t *msg, size_t length)
{
    union any_parser whole;
    feed_pieces(kind, &whole, msg, length, NULL, 0, &OUTCOME_MORE, "whole");
    check_all_feedings(kind, msg, length, &OUTCOME_MORE, &whole);
}

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* A message built piece by piece, for fields too long to spell out. */
struct message {
    uint8_t bytes[1024];
    size_t length;
};

static void put_byte(struct message *message, uint8_t byte)
{
    ck_assert(message->length < sizeof(message->bytes));
    message->bytes[message->length++] = byte;
}

static void put_bytes(struct message *message, const void *data, size_t length)
{
    ck_assert(message->length + length <= sizeof(message->bytes));
    memcpy(message->bytes + message->length, data, length);
    message->length += length;
}

/* ---- Greeting ---- */

START_TEST(greeting_offering_userpass)
{
    union any_parser p;
    expect_done(&greeting_kind, &p, BYTES(0x05, 0x01, 0x02));
    ck_assert(p.greeting.offers_userpass);
    ck_assert(!p.greeting.offers_no_auth);
    ck_assert_int_eq(p.greeting.error, SOCKS5_ERROR_NONE);
}
END_TEST

START_TEST(greeting_offering_no_auth)
{
    union any_parser p;
    expect_done(&greeting_kind, &p, BYTES(0x05, 0x01, 0x00));
    ck_assert(p.greeting.offers_no_auth);
    ck_assert(!p.greeting.offers_userpass);
}
END_TEST

START_TEST(greeting_offering_both)
{
    union any_parser p;
    expect_done(&greeting_kind, &p, BYTES(0x05, 0x02, 0x00, 0x02));
    ck_assert(p.greeting.offers_no_auth);
    ck_assert(p.greeting.offers_userpass);
}
END_TEST

START_TEST(greeting_offering_only_other_methods)
{
    union any_parser p;
    /* GSSAPI, IANA-assigned 0x03, private 0x80, and 0xFF which no client should offer. */
    expect_done(&greeting_kind, &p, BYTES(0x05, 0x04, 0x01, 0x03, 0x80, 0xFF));
    ck_assert(!p.greeting.offers_no_auth);
    ck_assert(!p.greeting.offers_userpass);
}
END_TEST

START_TEST(greeting_with_repeated_methods)
{
    union any_parser p;
    expect_done(&greeting_kind, &p, BYTES(0x05, 0x05, 0x02, 0x02, 0x01, 0x02, 0x02));
    ck_assert(p.greeting.offers_userpass);
    ck_assert(!p.greeting.offers_no_auth);
}
END_TEST

START_TEST(greeting_with_no_methods_is_complete)
{
    union any_parser p;
    expect_done(&greeting_kind, &p, BYTES(0x05, 0x00));
    ck_assert(!p.greeting.offers_no_auth);
    ck_assert(!p.greeting.offers_userpass);
    ck_assert_int_eq(p.greeting.error, SOCKS5_ERROR_NONE);
}
END_TEST

START_TEST(greeting_with_255_methods)
{
    struct message m = {.length = 0};
    union any_parser p;
    put_byte(&m, 0x05);
    put_byte(&m, 0xFF);
    for (unsigned method = 1; method <= 0xFF; method++) /* every method but NO_AUTH */
        put_byte(&m, (uint8_t)method);
    expect_done(&greeting_kind, &p, m.bytes, m.length);
    ck_assert_uint_eq(m.length, 257);
    ck_assert(p.greeting.offers_userpass);
    ck_assert(!p.greeting.offers_no_auth);
}
END_TEST

START_TEST(greeting_with_255_methods_last_one_no_auth)
{
    struct message m = {.length = 0};
    union any_parser p;
    put_byte(&m, 0x05);
    put_byte(&m, 0xFF);
    for (int i = 0; i < 254; i++)
        put_byte(&m, 0xFE);
    put_byte(&m, 0x00);
    expect_done(&greeting_kind, &p, m.bytes, m.length);
    ck_assert(p.greeting.offers_no_auth);
    ck_assert(!p.greeting.offers_userpass);
}
END_TEST

START_TEST(greeting_bad_version)
{
    expect_error(&greeting_kind, BYTES(0x04, 0x01, 0x00), 0, SOCKS5_ERROR_BAD_VERSION);
    expect_error(&greeting_kind, BYTES(0x00, 0x01, 0x02), 0, SOCKS5_ERROR_BAD_VERSION);
    expect_error(&greeting_kind, BYTES(0x01, 0x01, 0x02), 0, SOCKS5_ERROR_BAD_VERSION);
    expect_error(&greeting_kind, BYTES(0x06, 0x01, 0x02), 0, SOCKS5_ERROR_BAD_VERSION);
    expect_error(&greeting_kind, BYTES(0xFF), 0, SOCKS5_ERROR_BAD_VERSION);
    /* A SOCKS4 CONNECT and an HTTP request sent to the SOCKS port. */
    expect_error(&greeting_kind, BYTES(0x04, 0x01, 0x00, 0x50, 0x7f, 0x00, 0x00, 0x01, 0x00), 0,
                 SOCKS5_ERROR_BAD_VERSION);
    expect_error(&greeting_kind, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, 0,
                 SOCKS5_ERROR_BAD_VERSION);
}
END_TEST

START_TEST(greeting_incomplete)
{
    expect_more(&greeting_kind, BYTES(0x05));
    expect_more(&greeting_kind, BYTES(0x05, 0x01));
    expect_more(&greeting_kind, BYTES(0x05, 0x03, 0x00, 0x02));
}
END_TEST

START_TEST(greeting_empty_feed_takes_nothing)
{
    struct socks5_greeting_parser parser;
    const uint8_t byte = 0x05;
    size_t consumed = 99;
    socks5_greeting_parser_init(&parser);
    ck_assert_int_eq(socks5_greeting_parser_feed(&parser, &byte, 0, &consumed), SOCKS5_PARSE_MORE);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_int_eq(parser.error, SOCKS5_ERROR_NONE);
}
END_TEST

START_TEST(greeting_done_and_error_are_sticky)
{
    struct socks5_greeting_parser parser;
    const uint8_t good[] = {0x05, 0x01, 0x02};
    const uint8_t bad[] = {0x04, 0x01, 0x00};
    const uint8_t more[] = {0x05, 0x01, 0x00, 0x04};
    size_t consumed;

    socks5_greeting_parser_init(&parser);
    ck_assert_int_eq(socks5_greeting_parser_feed(&parser, good, 3, &consumed), SOCKS5_PARSE_DONE);
    consumed = 99;
    ck_assert_int_eq(socks5_greeting_parser_feed(&parser, more, 4, &consumed), SOCKS5_PARSE_DONE);
    ck_assert_uint_eq(consumed, 0);
    ck_assert(parser.offers_userpass);
    ck_assert(!parser.offers_no_auth); /* the extra 0x00 was not read as a method */

    socks5_greeting_parser_init(&parser);
    ck_assert_int_eq(socks5_greeting_parser_feed(&parser, bad, 3, &consumed), SOCKS5_PARSE_ERROR);
    ck_assert_uint_eq(consumed, 1);
    consumed = 99;
    ck_assert_int_eq(socks5_greeting_parser_feed(&parser, good, 3, &consumed), SOCKS5_PARSE_ERROR);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_int_eq(parser.error, SOCKS5_ERROR_BAD_VERSION);
}
END_TEST

/* ---- RFC 1929 ---- */

static void put_credentials(struct message *m, const void *user, size_t user_length,
                            const void *pass, size_t pass_length)
{
    put_byte(m, 0x01);
    put_byte(m, (uint8_t)user_length);
    put_bytes(m, user, user_length);
    put_byte(m, (uint8_t)pass_length);
    put_bytes(m, pass, pass_length);
}

START_TEST(auth_plain_credentials)
{
    union any_parser p;
    expect_done(&auth_kind, &p,
                BYTES(0x01, 0x05, 'a', 'l', 'i', 'c', 'e', 0x06, 's', 'e', 'c', 'r', 'e', 't'));
    ck_assert_uint_eq(p.auth.username_length, 5);
    ck_assert_str_eq(p.auth.username, "alice");
    ck_assert_uint_eq(p.auth.password_length, 6);
    ck_assert_str_eq(p.auth.password, "secret");
    ck_assert_int_eq(p.auth.error, SOCKS5_ERROR_NONE);
}
END_TEST

START_TEST(auth_empty_username)
{
    union any_parser p;
    /* RFC 1929 wants ULEN >= 1, but the parser has no error for it: it decodes an empty name
     * and the credential check refuses it. */
    expect_done(&auth_kind, &p, BYTES(0x01, 0x00, 0x03, 'a', 'b', 'c'));
    ck_assert_uint_eq(p.auth.username_length, 0);
    ck_assert_str_eq(p.auth.username, "");
    ck_assert_uint_eq(p.auth.password_length, 3);
    ck_assert_str_eq(p.auth.password, "abc");
}
END_TEST

START_TEST(auth_empty_password)
{
    union any_parser p;
    expect_done(&auth_kind, &p, BYTES(0x01, 0x03, 'b', 'o', 'b', 0x00));
    ck_assert_uint_eq(p.auth.username_length, 3);
    ck_assert_str_eq(p.auth.username, "bob");
    ck_assert_uint_eq(p.auth.password_length, 0);
    ck_assert_str_eq(p.auth.password, "");
}
END_TEST

START_TEST(auth_both_empty)
{
    union any_parser p;
    expect_done(&auth_kind, &p, BYTES(0x01, 0x00, 0x00));
    ck_assert_uint_eq(p.auth.username_length, 0);
    ck_assert_uint_eq(p.auth.password_length, 0);
    ck_assert_str_eq(p.auth.username, "");
    ck_assert_str_eq(p.auth.password, "");
}
END_TEST

START_TEST(auth_maximum_lengths_with_every_byte_value)
{
    uint8_t user[255], pass[255];
    struct message m = {.length = 0};
    union any_parser p;
    for (int i = 0; i < 255; i++) {
        user[i] = (uint8_t)i;        /* 0x00 .. 0xFE: starts with a NUL */
        pass[i] = (uint8_t)(255 - i); /* 0xFF .. 0x01 */
    }
    put_credentials(&m, user, 255, pass, 255);
    ck_assert_uint_eq(m.length, 513);
    expect_done(&auth_kind, &p, m.bytes, m.length);
    ck_assert_uint_eq(p.auth.username_length, 255);
    ck_assert_uint_eq(p.auth.password_length, 255);
    ck_assert_mem_eq(p.auth.username, user, 255);
    ck_assert_mem_eq(p.auth.password, pass, 255);
    ck_assert_int_eq(p.auth.username[255], '\0');
    ck_assert_int_eq(p.auth.password[255], '\0');
}
END_TEST

START_TEST(auth_embedded_nul_kept_with_length)
{
    union any_parser p;
    expect_done(&auth_kind, &p, BYTES(0x01, 0x03, 'a', 0x00, 'b', 0x02, 0x00, 'x'));
    ck_assert_uint_eq(p.auth.username_length, 3);
    ck_assert_mem_eq(p.auth.username, "a\0b", 4);
    ck_assert_uint_eq(p.auth.password_length, 2);
    ck_assert_mem_eq(p.auth.password, "\0x", 3);
}
END_TEST

START_TEST(auth_bad_version)
{
    /* 0x05: a client that sends its SOCKS version instead of the sub-negotiation version. */
    expect_error(&auth_kind, BYTES(0x05, 0x01, 'a', 0x01, 'b'), 0, SOCKS5_ERROR_BAD_VERSION);
    expect_error(&auth_kind, BYTES(0x00, 0x01, 'a', 0x01, 'b'), 0, SOCKS5_ERROR_BAD_VERSION);
    expect_error(&auth_kind, BYTES(0x02, 0x01, 'a', 0x01, 'b'), 0, SOCKS5_ERROR_BAD_VERSION);
    expect_error(&auth_kind, BYTES(0xFF), 0, SOCKS5_ERROR_BAD_VERSION);
}
END_TEST

START_TEST(auth_incomplete)
{
    expect_more(&auth_kind, BYTES(0x01));
    expect_more(&auth_kind, BYTES(0x01, 0x05));
    expect_more(&auth_kind, BYTES(0x01, 0x05, 'a', 'l', 'i', 'c', 'e'));
    expect_more(&auth_kind, BYTES(0x01, 0x05, 'a', 'l', 'i', 'c', 'e', 0x06, 's', 'e', 'c'));
    expect_more(&auth_kind, BYTES(0x01, 0x00));
}
END_TEST

START_TEST(auth_done_is_sticky)
{
    struct socks5_auth_parser parser;
    const uint8_t msg[] = {0x01, 0x01, 'u', 0x01, 'p', 0x01, 0x01, 'x'};
    size_t consumed;
    socks5_auth_parser_init(&parser);
    ck_assert_int_eq(socks5_auth_parser_feed(&parser, msg, sizeof(msg), &consumed),
                     SOCKS5_PARSE_DONE);
    ck_assert_uint_eq(consumed, 5);
    consumed = 99;
    ck_assert_int_eq(socks5_auth_parser_feed(&parser, msg + 5, 3, &consumed), SOCKS5_PARSE_DONE);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_str_eq(parser.username, "u");
    ck_assert_str_eq(parser.password, "p");
}
END_TEST

static bool all_zero(const void *data, size_t length)
{
    const uint8_t *bytes = data;
    for (size_t i = 0; i < length; i++)
        if (bytes[i] != 0)
            return false;
    return true;
}

START_TEST(auth_wipe_zeroes_password)
{
    struct socks5_auth_parser parser;
    uint8_t pass[255];
    struct message m = {.length = 0};
    size_t consumed;
    memset(pass, 0xA5, sizeof(pass));
    put_credentials(&m, "alice", 5, pass, sizeof(pass));

    socks5_auth_parser_init(&parser);
    ck_assert_int_eq(socks5_auth_parser_feed(&parser, m.bytes, m.length, &consumed),
                     SOCKS5_PARSE_DONE);
    ck_assert_uint_eq(parser.password_length, 255);
    ck_assert(!all_zero(parser.password, 255));
    socks5_auth_parser_wipe(&parser);
    ck_assert(all_zero(parser.password, sizeof(parser.password)));
    ck_assert_uint_eq(parser.password_length, 0);
    /* Only the password goes: the access log still needs the name. */
    ck_assert_uint_eq(parser.username_length, 5);
    ck_assert_str_eq(parser.username, "alice");
}
END_TEST

START_TEST(auth_wipe_midway_zeroes_partial_password)
{
    struct socks5_auth_parser parser;
    const uint8_t msg[] = {0x01, 0x01, 'u', 0x08, 'h', 'u', 'n', 't'};
    size_t consumed;
    socks5_auth_parser_init(&parser);
    ck_assert_int_eq(socks5_auth_parser_feed(&parser, msg, sizeof(msg), &consumed),
                     SOCKS5_PARSE_MORE);
    ck_assert_mem_eq(parser.password, "hunt", 4);
    socks5_auth_parser_wipe(&parser);
    ck_assert(all_zero(parser.password, sizeof(parser.password)));
}
END_TEST

/* ---- Request ---- */

START_TEST(request_connect_ipv4)
{
    union any_parser p;
    const uint8_t address[4] = {127, 0, 0, 1};
    expect_done(&request_kind, &p,
                BYTES(0x05, 0x01, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01, 0x1f, 0x90));
    ck_assert_uint_eq(p.request.request.command, SOCKS5_CMD_CONNECT);
    ck_assert_uint_eq(p.request.request.address_type, SOCKS5_ATYP_IPV4);
    ck_assert_mem_eq(p.request.request.ipv4, address, 4);
    ck_assert_uint_eq(p.request.request.port, 8080);
    ck_assert_int_eq(p.request.error, SOCKS5_ERROR_NONE);
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_SUCCEEDED);
}
END_TEST

START_TEST(request_connect_domain)
{
    union any_parser p;
    expect_done(&request_kind, &p,
                BYTES(0x05, 0x01, 0x00, 0x03, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',
                      0x00, 0x50));
    ck_assert_uint_eq(p.request.request.command, SOCKS5_CMD_CONNECT);
    ck_assert_uint_eq(p.request.request.address_type, SOCKS5_ATYP_DOMAIN);
    ck_assert_uint_eq(p.request.request.domain_length, 9);
    ck_assert_str_eq(p.request.request.domain, "localhost");
    ck_assert_uint_eq(p.request.request.port, 80);
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_SUCCEEDED);
}
END_TEST

START_TEST(request_connect_ipv6)
{
    union any_parser p;
    const uint8_t address[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    expect_done(&request_kind, &p,
                BYTES(0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                      0, 0, 0x01, 0x01, 0xbb));
    ck_assert_uint_eq(p.request.request.command, SOCKS5_CMD_CONNECT);
    ck_assert_uint_eq(p.request.request.address_type, SOCKS5_ATYP_IPV6);
    ck_assert_mem_eq(p.request.request.ipv6, address, 16);
    ck_assert_uint_eq(p.request.request.port, 443);
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_SUCCEEDED);
}
END_TEST

START_TEST(request_port_extremes)
{
    union any_parser p;
    expect_done(&request_kind, &p, BYTES(0x05, 0x01, 0x00, 0x01, 10, 0, 0, 1, 0x00, 0x00));
    ck_assert_uint_eq(p.request.request.port, 0);
    expect_done(&request_kind, &p, BYTES(0x05, 0x01, 0x00, 0x01, 10, 0, 0, 1, 0xFF, 0xFF));
    ck_assert_uint_eq(p.request.request.port, 65535);
    expect_done(&request_kind, &p, BYTES(0x05, 0x01, 0x00, 0x01, 10, 0, 0, 1, 0x01, 0x00));
    ck_assert_uint_eq(p.request.request.port, 256);
}
END_TEST

START_TEST(request_other_commands_parse_and_are_refused)
{
    const uint8_t commands[] = {0x00, 0x04, 0x80, 0xFF};
    for (size_t i = 0; i < sizeof(commands); i++) {
        union any_parser p;
        expect_done(&request_kind, &p,
                    BYTES(0x05, commands[i], 0x00, 0x01, 192, 0, 2, 1, 0x00, 0x35));
        ck_assert_uint_eq(p.request.request.command, commands[i]);
        ck_assert_uint_eq(p.request.request.port, 53);
        ck_assert_int_eq(request_reply(&p.request.request),
                         SOCKS5_REPLY_COMMAND_NOT_SUPPORTED);
    }
}
END_TEST

START_TEST(request_udp_associate_with_domain)
{
    union any_parser p;
    expect_done(&request_kind, &p,
                BYTES(0x05, 0x03, 0x00, 0x03, 0x01, 'x', 0x00, 0x00));
    ck_assert_uint_eq(p.request.request.command, SOCKS5_CMD_UDP_ASSOCIATE);
    ck_assert_str_eq(p.request.request.domain, "x");
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_SUCCEEDED);
}
END_TEST

START_TEST(request_nonzero_reserved_byte_is_ignored)
{
    union any_parser p;
    /* A documented choice of the parser (RFC 1928 gives the server no rule for RSV != 0). */
    expect_done(&request_kind, &p, BYTES(0x05, 0x01, 0xFF, 0x01, 127, 0, 0, 1, 0x00, 0x16));
    ck_assert_uint_eq(p.request.request.port, 22);
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_SUCCEEDED);
}
END_TEST

START_TEST(request_empty_domain)
{
    union any_parser p;
    expect_done(&request_kind, &p, BYTES(0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50));
    ck_assert_uint_eq(p.request.request.address_type, SOCKS5_ATYP_DOMAIN);
    ck_assert_uint_eq(p.request.request.domain_length, 0);
    ck_assert_str_eq(p.request.request.domain, "");
    ck_assert_uint_eq(p.request.request.port, 80);
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_HOST_UNREACHABLE);
}
END_TEST

START_TEST(request_domain_with_nul)
{
    union any_parser p;
    /* "localhost\0.evil" must not be resolved as "localhost". */
    expect_done(&request_kind, &p,
                BYTES(0x05, 0x01, 0x00, 0x03, 0x0f, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',
                      0x00, '.', 'e', 'v', 'i', 'l', 0x00, 0x50));
    ck_assert_uint_eq(p.request.request.domain_length, 15);
    ck_assert_mem_eq(p.request.request.domain, "localhost\0.evil", 16);
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_HOST_UNREACHABLE);

    expect_done(&request_kind, &p, BYTES(0x05, 0x01, 0x00, 0x03, 0x02, 0x00, 'a', 0x00, 0x50));
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_HOST_UNREACHABLE);
    expect_done(&request_kind, &p, BYTES(0x05, 0x01, 0x00, 0x03, 0x02, 'a', 0x00, 0x00, 0x50));
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_HOST_UNREACHABLE);
    expect_done(&request_kind, &p, BYTES(0x05, 0x01, 0x00, 0x03, 0x01, 0x00, 0x00, 0x50));
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_HOST_UNREACHABLE);
}
END_TEST

START_TEST(request_domain_of_255_bytes)
{
    struct message m = {.length = 0};
    union any_parser p;
    char name[256];
    for (int i = 0; i < 255; i++)
        name[i] = (char)('a' + i % 26);
    name[255] = '\0';
    put_bytes(&m, (const uint8_t[]){0x05, 0x01, 0x00, 0x03, 0xFF}, 5);
    put_bytes(&m, name, 255);
    put_bytes(&m, (const uint8_t[]){0x12, 0x34}, 2);
    ck_assert_uint_eq(m.length, 262);
    expect_done(&request_kind, &p, m.bytes, m.length);
    ck_assert_uint_eq(p.request.request.domain_length, 255);
    ck_assert_mem_eq(p.request.request.domain, name, 256); /* including the NUL */
    ck_assert_uint_eq(p.request.request.port, 0x1234);
    ck_assert_int_eq(request_reply(&p.request.request), SOCKS5_REPLY_SUCCEEDED);
}
END_TEST

START_TEST(request_bad_version)
{
    expect_error(&request_kind, BYTES(0x04, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 80), 0,
                 SOCKS5_ERROR_BAD_VERSION);
    expect_error(&request_kind, BYTES(0x01, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 80), 0,
                 SOCKS5_ERROR_BAD_VERSION);
    expect_error(&request_kind, BYTES(0x00), 0, SOCKS5_ERROR_BAD_VERSION);
    expect_error(&request_kind, BYTES(0xFF, 0xFF), 0, SOCKS5_ERROR_BAD_VERSION);
}
END_TEST

START_TEST(request_bad_address_type)
{
    const uint8_t bad_types[] = {0x00, 0x02, 0x05, 0x06, 0x7f, 0xFF};
    for (size_t i = 0; i < sizeof(bad_types); i++)
        expect_error(&request_kind,
                     BYTES(0x05, 0x01, 0x00, bad_types[i], 127, 0, 0, 1, 0x00, 0x50), 3,
                     SOCKS5_ERROR_BAD_ADDRESS_TYPE);
    /* The address type is checked even for commands that would be refused anyway. */
    expect_error(&request_kind, BYTES(0x05, 0x02, 0x00, 0x00), 3, SOCKS5_ERROR_BAD_ADDRESS_TYPE);
}
END_TEST

START_TEST(request_incomplete)
{
    expect_more(&request_kind, BYTES(0x05));
    expect_more(&request_kind, BYTES(0x05, 0x01, 0x00));
    expect_more(&request_kind, BYTES(0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x00));
    expect_more(&request_kind, BYTES(0x05, 0x01, 0x00, 0x03));
    expect_more(&request_kind, BYTES(0x05, 0x01, 0x00, 0x03, 0x00, 0x50));
    expect_more(&request_kind, BYTES(0x05, 0x01, 0x00, 0x03, 0x03, 'a', 'b', 'c'));
    expect_more(&request_kind, BYTES(0x05, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                     0, 0, 1, 0x00));
}
END_TEST

START_TEST(request_done_and_error_are_sticky)
{
    struct socks5_request_parser parser;
    const uint8_t msg[] = {0x05, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0x00, 0x50, 0x05, 0x01};
    const uint8_t bad_atyp[] = {0x05, 0x01, 0x00, 0x09, 0x05, 0x01, 0x00, 0x01};
    size_t consumed;

    socks5_request_parser_init(&parser);
    ck_assert_int_eq(socks5_request_parser_feed(&parser, msg, sizeof(msg), &consumed),
                     SOCKS5_PARSE_DONE);
    ck_assert_uint_eq(consumed, 10);
    consumed = 99;
    ck_assert_int_eq(socks5_request_parser_feed(&parser, msg, sizeof(msg), &consumed),
                     SOCKS5_PARSE_DONE);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_uint_eq(parser.request.port, 80);

    socks5_request_parser_init(&parser);
    ck_assert_int_eq(socks5_request_parser_feed(&parser, bad_atyp, sizeof(bad_atyp), &consumed),
                     SOCKS5_PARSE_ERROR);
    ck_assert_uint_eq(consumed, 4);
    consumed = 99;
    ck_assert_int_eq(socks5_request_parser_feed(&parser, msg, sizeof(msg), &consumed),
                     SOCKS5_PARSE_ERROR);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_int_eq(parser.error, SOCKS5_ERROR_BAD_ADDRESS_TYPE);
}
END_TEST

START_TEST(request_check_on_built_requests)
{
    struct socks5_request request;
    memset(&request, 0, sizeof(request));
    request.command = SOCKS5_CMD_CONNECT;
    request.address_type = SOCKS5_ATYP_DOMAIN;
    request.domain_length = 3;
    memcpy(request.domain, "abc", 4);
    ck_assert_int_eq(request_reply(&request), SOCKS5_REPLY_SUCCEEDED);
    ck_assert(socks5_request_domain_usable(&request));
    request.domain[2] = '\0'; /* NUL at the last position of the name */
    ck_assert(!socks5_request_domain_usable(&request));
    ck_assert_int_eq(request_reply(&request), SOCKS5_REPLY_HOST_UNREACHABLE);
    request.domain_length = 2; /* "ab" followed by its terminator: fine */
    ck_assert_int_eq(request_reply(&request), SOCKS5_REPLY_SUCCEEDED);
    request.domain_length = 0;
    ck_assert_int_eq(request_reply(&request), SOCKS5_REPLY_HOST_UNREACHABLE);

    memset(&request, 0, sizeof(request)); /* the all-zero IPv4 address is the caller's call */
    request.command = SOCKS5_CMD_CONNECT;
    request.address_type = SOCKS5_ATYP_IPV4;
    ck_assert_int_eq(request_reply(&request), SOCKS5_REPLY_SUCCEEDED);
    request.address_type = SOCKS5_ATYP_IPV6;
    ck_assert_int_eq(request_reply(&request), SOCKS5_REPLY_SUCCEEDED);
    request.command = SOCKS5_CMD_BIND;
    ck_assert_int_eq(request_reply(&request), SOCKS5_REPLY_SUCCEEDED);
    request.command = 0x04;
    ck_assert_int_eq(request_reply(&request), SOCKS5_REPLY_COMMAND_NOT_SUPPORTED);
}
END_TEST

START_TEST(request_error_reply_codes)
{
    ck_assert_int_eq(parse_error_reply(SOCKS5_ERROR_BAD_ADDRESS_TYPE),
                     SOCKS5_REPLY_ADDRESS_TYPE_NOT_SUPPORTED);
    ck_assert_int_eq(parse_error_reply(SOCKS5_ERROR_BAD_VERSION),
                     SOCKS5_REPLY_GENERAL_FAILURE);
    ck_assert_int_eq(parse_error_reply(SOCKS5_ERROR_NONE), SOCKS5_REPLY_GENERAL_FAILURE);
    ck_assert_int_eq(SOCKS5_REPLY_ADDRESS_TYPE_NOT_SUPPORTED, 0x08);
    ck_assert_int_eq(SOCKS5_REPLY_GENERAL_FAILURE, 0x01);
}
END_TEST

/* ---- Encoders ---- */

#define CANARY 0xA5

START_TEST(method_reply_bytes)
{
    uint8_t out[4];
    memset(out, CANARY, sizeof(out));
    ck_assert_uint_eq(socks5_method_reply_encode(out, SOCKS5_METHOD_USERPASS), 2);
    ck_assert_mem_eq(out, ((const uint8_t[]){0x05, 0x02, CANARY, CANARY}), 4);
    ck_assert_uint_eq(socks5_method_reply_encode(out, SOCKS5_METHOD_NO_AUTH), 2);
    ck_assert_mem_eq(out, ((const uint8_t[]){0x05, 0x00, CANARY, CANARY}), 4);
    ck_assert_uint_eq(socks5_method_reply_encode(out, SOCKS5_METHOD_NO_ACCEPTABLE), 2);
    ck_assert_mem_eq(out, ((const uint8_t[]){0x05, 0xFF, CANARY, CANARY}), 4);
}
END_TEST

START_TEST(auth_reply_bytes)
{
    uint8_t out[4];
    memset(out, CANARY, sizeof(out));
    ck_assert_uint_eq(socks5_auth_reply_encode(out, SOCKS5_AUTH_STATUS_SUCCESS), 2);
    ck_assert_mem_eq(out, ((const uint8_t[]){0x01, 0x00, CANARY, CANARY}), 4);
    ck_assert_uint_eq(socks5_auth_reply_encode(out, SOCKS5_AUTH_STATUS_FAILURE), 2);
    ck_assert_mem_eq(out, ((const uint8_t[]){0x01, 0x01, CANARY, CANARY}), 4);
}
END_TEST

START_TEST(reply_without_bound_address)
{
    uint8_t out[SOCKS5_REPLY_MAX_LENGTH + 2];
    const uint8_t want[] = {0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0, CANARY};
    memset(out, CANARY, sizeof(out));
    ck_assert_uint_eq(socks5_reply_encode(out, SOCKS5_REPLY_CONNECTION_REFUSED, NULL), 10);
    ck_assert_mem_eq(out, want, sizeof(want));
    memset(out, CANARY, sizeof(out));
    ck_assert_uint_eq(socks5_reply_encode(out, SOCKS5_REPLY_COMMAND_NOT_SUPPORTED, NULL), 10);
    ck_assert_mem_eq(out, ((const uint8_t[]){0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0, CANARY}),
                     11);
}
END_TEST

START_TEST(reply_with_ipv4_bound_address)
{
    uint8_t out[SOCKS5_REPLY_MAX_LENGTH + 2];
    struct sockaddr_in bound;
    const uint8_t want[] = {0x05, 0x00, 0x00, 0x01, 192, 0, 2, 10, 0x12, 0x34, CANARY};
    memset(&bound, 0, sizeof(bound));
    bound.sin_family = AF_INET;
    bound.sin_port = htons(0x1234);
    ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.10", &bound.sin_addr), 1);
    memset(out, CANARY, sizeof(out));
    ck_assert_uint_eq(socks5_reply_encode(out, SOCKS5_REPLY_SUCCEEDED,
                                          (const struct sockaddr *)&bound), 10);
    ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(reply_with_ipv6_bound_address)
{
    uint8_t out[SOCKS5_REPLY_MAX_LENGTH + 2];
    struct sockaddr_in6 bound;
    const uint8_t want[] = {0x05, 0x00, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0xfe, 0x01, 0xab, 0xcd, CANARY};
    memset(&bound, 0, sizeof(bound));
    bound.sin6_family = AF_INET6;
    bound.sin6_port = htons(0xabcd);
    bound.sin6_scope_id = 7; /* not part of the wire format */
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::fe01", &bound.sin6_addr), 1);
    memset(out, CANARY, sizeof(out));
    ck_assert_uint_eq(socks5_reply_encode(out, SOCKS5_REPLY_SUCCEEDED,
                                          (const struct sockaddr *)&bound), 22);
    ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(reply_from_sockaddr_storage)
{
    /* Callers pass what getsockname() filled in: a sockaddr_storage. */
    uint8_t out[SOCKS5_REPLY_MAX_LENGTH];
    struct sockaddr_storage storage;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
    const uint8_t want[] = {0x05, 0x04, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 1, 0x00, 0x50};
    memset(&storage, 0, sizeof(storage));
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(80);
    in6->sin6_addr = in6addr_loopback;
    ck_assert_uint_eq(socks5_reply_encode(out, SOCKS5_REPLY_HOST_UNREACHABLE,
                                          (const struct sockaddr *)&storage), 22);
    ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

/* ---- Random garbage against an independent model of each wire format ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    /* xorshift64*: deterministic across platforms, unlike rand(). */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t rng_below(size_t bound)
{
    return (size_t)(rng_next() % bound);
}

static struct outcome outcome_done(size_t stop)
{
    return (struct outcome){SOCKS5_PARSE_DONE, stop, SOCKS5_ERROR_NONE};
}

static struct outcome outcome_error(size_t stop, enum socks5_parse_error error)
{
    return (struct outcome){SOCKS5_PARSE_ERROR, stop, error};
}

/* What RFC 1928 / 1929 say a parser must make of the whole buffer b[0..n). */
static struct outcome greeting_model(const uint8_t *b, size_t n)
{
    if (n == 0)
        return OUTCOME_MORE;
    if (b[0] != 0x05)
        return outcome_error(1, SOCKS5_ERROR_BAD_VERSION);
    if (n < 2 || n < 2u + b[1])
        return OUTCOME_MORE;
    return outcome_done(2u + b[1]);
}

static struct outcome auth_model(const uint8_t *b, size_t n)
{
    if (n == 0)
        return OUTCOME_MORE;
    if (b[0] != 0x01)
        return outcome_error(1, SOCKS5_ERROR_BAD_VERSION);
    if (n < 2)
        return OUTCOME_MORE;
    size_t plen_at = 2u + b[1];
    if (n <= plen_at || n < plen_at + 1 + b[plen_at])
        return OUTCOME_MORE;
    return outcome_done(plen_at + 1 + b[plen_at]);
}

static struct outcome request_model(const uint8_t *b, size_t n)
{
    size_t need;
    if (n == 0)
        return OUTCOME_MORE;
    if (b[0] != 0x05)
        return outcome_error(1, SOCKS5_ERROR_BAD_VERSION);
    if (n < 4)
        return OUTCOME_MORE;
    switch (b[3]) {
    case 0x01:
        need = 4 + 4 + 2;
        break;
    case 0x04:
        need = 4 + 16 + 2;
        break;
    case 0x03:
        if (n < 5)
            return OUTCOME_MORE;
        need = 5u + b[4] + 2;
        break;
    default:
        return outcome_error(4, SOCKS5_ERROR_BAD_ADDRESS_TYPE);
    }
    return n < need ? OUTCOME_MORE : outcome_done(need);
}

/* The decoded fields of a parser that reached DONE on the message b[0..stop). */
static void greeting_model_fields(const union any_parser *p, const uint8_t *b, size_t stop)
{
    bool no_auth = memchr(b + 2, 0x00, stop - 2) != NULL;
    bool userpass = memchr(b + 2, 0x02, stop - 2) != NULL;
    ck_assert(p->greeting.offers_no_auth == no_auth);
    ck_assert(p->greeting.offers_userpass == userpass);
}

static void auth_model_fields(const union any_parser *p, const uint8_t *b, size_t stop)
{
    const struct socks5_auth_parser *a = &p->auth;
    ck_assert_uint_eq(a->username_length, b[1]);
    ck_assert_uint_eq(a->password_length, b[2 + b[1]]);
    ck_assert_uint_eq(stop, 3u + a->username_length + a->password_length);
    ck_assert(memcmp(a->username, b + 2, a->username_length) == 0);
    ck_assert(memcmp(a->password, b + 3 + a->username_length, a->password_length) == 0);
    ck_assert_int_eq(a->username[a->username_length], '\0');
    ck_assert_int_eq(a->password[a->password_length], '\0');
}

static void request_model_fields(const union any_parser *p, const uint8_t *b, size_t stop)
{
    const struct socks5_request *r = &p->request.request;
    ck_assert_uint_eq(r->command, b[1]);
    ck_assert_uint_eq(r->address_type, b[3]);
    ck_assert_uint_eq(r->port, (unsigned)b[stop - 2] << 8 | b[stop - 1]);
    if (r->address_type == SOCKS5_ATYP_IPV4)
        ck_assert(memcmp(r->ipv4, b + 4, 4) == 0);
    else if (r->address_type == SOCKS5_ATYP_IPV6)
        ck_assert(memcmp(r->ipv6, b + 4, 16) == 0);
    else {
        ck_assert_uint_eq(r->domain_length, b[4]);
        ck_assert(memcmp(r->domain, b + 5, r->domain_length) == 0);
        ck_assert_int_eq(r->domain[r->domain_length], '\0');
    }
}

struct garbage_target {
    const struct parser_kind *kind;
    uint8_t version;
    struct outcome (*model)(const uint8_t *b, size_t n);
    void (*model_fields)(const union any_parser *p, const uint8_t *b, size_t stop);
    /* Makes random bytes look like a message often enough to reach the deep states. */
    void (*shape)(uint8_t *b);
};

static void greeting_shape(uint8_t *b)
{
    if (rng_below(2))
        b[1] = (uint8_t)rng_below(8);
    for (size_t i = 2; i < 10; i++)
        if (rng_below(4) == 0)
            b[i] = (uint8_t)rng_below(3);
}

static void auth_shape(uint8_t *b)
{
    if (rng_below(2))
        b[1] = (uint8_t)rng_below(8);
    if (rng_below(2))
        b[2 + b[1]] = (uint8_t)rng_below(8);
}

static void request_shape(uint8_t *b)
{
    static const uint8_t types[] = {0x01, 0x03, 0x04};
    if (rng_below(8))
        b[3] = types[rng_below(3)];
    if (rng_below(2))
        b[4] = (uint8_t)rng_below(8);
}

#define GARBAGE_CAPACITY 600 /* longer than any message: 2 + 255 + 1 + 255 + 1 */
#define GARBAGE_ROUNDS 4000

/* A random cut list over n bytes: empty pieces, single bytes, short and long pieces. */
static size_t random_cuts(size_t n, size_t *cuts, size_t capacity)
{
    size_t count = 0, at = 0;
    while (count < capacity) {
        size_t piece;
        switch (rng_below(4)) {
        case 0:
            piece = rng_below(2); /* an empty feed, or one byte */
            break;
        case 1:
            piece = 1 + rng_below(4);
            break;
        case 2:
            piece = 1 + rng_below(32);
            break;
        default:
            piece = 1 + rng_below(n + 1);
        }
        at = min_size(at + piece, n);
        cuts[count++] = at;
        if (at == n)
            break;
    }
    return count;
}

static void run_garbage(const struct garbage_target *target, uint64_t seed)
{
    unsigned seen[3] = {0, 0, 0};
    uint8_t buf[GARBAGE_CAPACITY];
    size_t cuts[GARBAGE_CAPACITY + 1];
    union any_parser parser;
    rng_state = seed;

    for (int round = 0; round < GARBAGE_ROUNDS; round++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)rng_next();
        if (rng_below(8))
            buf[0] = target->version;
        target->shape(buf);

        /* Cut the buffer just short of, at, or past the end of its message, or anywhere. */
        struct outcome full = target->model(buf, sizeof(buf));
        size_t length = rng_below(sizeof(buf) + 1);
        if (full.result != SOCKS5_PARSE_MORE && rng_below(3)) {
            size_t around = full.stop + rng_below(8);
            length = around > 4 ? around - 4 : around;
        }
        length = min_size(length, sizeof(buf));

        struct outcome expected = target->model(buf, length);
        size_t cut_count = random_cuts(length, cuts, sizeof(cuts) / sizeof(cuts[0]));
        char how[48];
        snprintf(how, sizeof(how), "in random pieces (round %d)", round);
        feed_pieces(target->kind, &parser, buf, length, cuts, cut_count, &expected, how);
        seen[expected.result]++;

        if (expected.result == SOCKS5_PARSE_DONE)
            target->model_fields(&parser, buf, expected.stop);
        if (expected.result != SOCKS5_PARSE_MORE) {
            size_t consumed = 99;
            ck_assert_int_eq(target->kind->feed(&parser, buf, sizeof(buf), &consumed),
                             expected.result);
            ck_assert_uint_eq(consumed, 0);
            ck_assert_int_eq(target->kind->error(&parser), expected.error);
        }
    }
    /* Guard against the generator drifting into only one kind of input. */
    ck_assert_uint_ge(seen[SOCKS5_PARSE_DONE], GARBAGE_ROUNDS / 10);
    ck_assert_uint_ge(seen[SOCKS5_PARSE_ERROR], GARBAGE_ROUNDS / 20);
    ck_assert_uint_ge(seen[SOCKS5_PARSE_MORE], GARBAGE_ROUNDS / 10);
}

START_TEST(garbage_greeting)
{
    const struct garbage_target target = {&greeting_kind, 0x05, greeting_model,
                                          greeting_model_fields, greeting_shape};
    run_garbage(&target, 0x5eed0001);
}
END_TEST

START_TEST(garbage_auth)
{
    const struct garbage_target target = {&auth_kind, 0x01, auth_model, auth_model_fields,
                                          auth_shape};
    run_garbage(&target, 0x5eed0002);
}
END_TEST

START_TEST(garbage_request)
{
    const struct garbage_target target = {&request_kind, 0x05, request_model,
                                          request_model_fields, request_shape};
    run_garbage(&target, 0x5eed0003);
}
END_TEST

/* ---- Suite ---- */

static Suite *socks5_parser_suite(void)
{
    Suite *suite = suite_create("socks5_parser");
    TCase *greeting = tcase_create("greeting");
    TCase *auth = tcase_create("auth");
    TCase *request = tcase_create("request");
    TCase *encoders = tcase_create("encoders");
    TCase *garbage = tcase_create("garbage");

    tcase_add_test(greeting, greeting_offering_userpass);
    tcase_add_test(greeting, greeting_offering_no_auth);
    tcase_add_test(greeting, greeting_offering_both);
    tcase_add_test(greeting, greeting_offering_only_other_methods);
    tcase_add_test(greeting, greeting_with_repeated_methods);
    tcase_add_test(greeting, greeting_with_no_methods_is_complete);
    tcase_add_test(greeting, greeting_with_255_methods);
    tcase_add_test(greeting, greeting_with_255_methods_last_one_no_auth);
    tcase_add_test(greeting, greeting_bad_version);
    tcase_add_test(greeting, greeting_incomplete);
    tcase_add_test(greeting, greeting_empty_feed_takes_nothing);
    tcase_add_test(greeting, greeting_done_and_error_are_sticky);

    tcase_add_test(auth, auth_plain_credentials);
    tcase_add_test(auth, auth_empty_username);
    tcase_add_test(auth, auth_empty_password);
    tcase_add_test(auth, auth_both_empty);
    tcase_add_test(auth, auth_maximum_lengths_with_every_byte_value);
    tcase_add_test(auth, auth_embedded_nul_kept_with_length);
    tcase_add_test(auth, auth_bad_version);
    tcase_add_test(auth, auth_incomplete);
    tcase_add_test(auth, auth_done_is_sticky);
    tcase_add_test(auth, auth_wipe_zeroes_password);
    tcase_add_test(auth, auth_wipe_midway_zeroes_partial_password);

    tcase_add_test(request, request_connect_ipv4);
    tcase_add_test(request, request_connect_domain);
    tcase_add_test(request, request_connect_ipv6);
    tcase_add_test(request, request_port_extremes);
    tcase_add_test(request, request_other_commands_parse_and_are_refused);
    tcase_add_test(request, request_udp_associate_with_domain);
    tcase_add_test(request, request_nonzero_reserved_byte_is_ignored);
    tcase_add_test(request, request_empty_domain);
    tcase_add_test(request, request_domain_with_nul);
    tcase_add_test(request, request_domain_of_255_bytes);
    tcase_add_test(request, request_bad_version);
    tcase_add_test(request, request_bad_address_type);
    tcase_add_test(request, request_incomplete);
    tcase_add_test(request, request_done_and_error_are_sticky);
    tcase_add_test(request, request_check_on_built_requests);
    tcase_add_test(request, request_error_reply_codes);

    tcase_add_test(encoders, method_reply_bytes);
    tcase_add_test(encoders, auth_reply_bytes);
    tcase_add_test(encoders, reply_without_bound_address);
    tcase_add_test(encoders, reply_with_ipv4_bound_address);
    tcase_add_test(encoders, reply_with_ipv6_bound_address);
    tcase_add_test(encoders, reply_from_sockaddr_storage);

    tcase_add_test(garbage, garbage_greeting);
    tcase_add_test(garbage, garbage_auth);
    tcase_add_test(garbage, garbage_request);
    tcase_set_timeout(garbage, 60);

    suite_add_tcase(suite, greeting);
    suite_add_tcase(suite, auth);
    suite_add_tcase(suite, request);
    suite_add_tcase(suite, encoders);
    suite_add_tcase(suite, garbage);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(socks5_parser_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
