/* test_http_request: Check suite for server/admin/http_request — the metrics endpoint's HTTP/1.x
 * request-head decoder fed whole, byte by byte and split anywhere; each malformed class, the
 * size limit, the path match, and random garbage fed in pieces agreeing with a whole feed. */
#include "http_request.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char PROMETHEUS_GET[] =
    "GET /metrics HTTP/1.1\r\n"
    "Host: 127.0.0.1:9150\r\n"
    "User-Agent: Prometheus/2.45.3\r\n"
    "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
    "Accept-Encoding: gzip\r\n"
    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
    "\r\n";

/* Feeds length bytes in pieces of at most piece (an empty feed before each one). */
static enum http_parse_result feed_in_pieces(struct http_request_parser *parser,
                                             const void *data, size_t length, size_t piece,
                                             size_t *consumed_total)
{
    const uint8_t *bytes = data;
    enum http_parse_result result = HTTP_PARSE_MORE;
    size_t offset = 0, consumed;
    http_request_parser_init(parser);
    while (offset < length && result == HTTP_PARSE_MORE) {
        size_t size = length - offset < piece ? length - offset : piece;
        consumed = SIZE_MAX;
        ck_assert_int_eq(http_request_parser_feed(parser, bytes + offset, 0, &consumed),
                         HTTP_PARSE_MORE);
        ck_assert_uint_eq(consumed, 0);
        result = http_request_parser_feed(parser, bytes + offset, size, &consumed);
        ck_assert_uint_le(consumed, size);
        ck_assert(result != HTTP_PARSE_MORE || consumed == size);
        offset += consumed;
    }
    *consumed_total = offset;
    return result;
}

static enum http_parse_result feed_text(struct http_request_parser *parser, const char *text)
{
    size_t consumed;
    return feed_in_pieces(parser, text, strlen(text), SIZE_MAX, &consumed);
}

static void assert_error(const char *text, enum http_request_error error)
{
    struct http_request_parser parser;
    ck_assert_msg(feed_text(&parser, text) == HTTP_PARSE_ERROR, "accepted: %s", text);
    ck_assert_msg(parser.error == error, "%s: error %d, not %d", text, parser.error, error);
}

START_TEST(prometheus_request_in_any_pieces)
{
    size_t length = strlen(PROMETHEUS_GET);
    for (size_t piece = 1; piece <= length; piece++) {
        struct http_request_parser parser;
        size_t consumed;
        ck_assert_int_eq(feed_in_pieces(&parser, PROMETHEUS_GET, length, piece, &consumed),
                         HTTP_PARSE_DONE);
        ck_assert_uint_eq(consumed, length);
        ck_assert_int_eq(parser.method, HTTP_METHOD_GET);
        ck_assert_str_eq(parser.target, "/metrics");
        ck_assert_uint_eq(parser.version_minor, 1);
        ck_assert(parser.has_host);
        ck_assert(http_request_path_is(&parser, "/metrics"));
    }
}
END_TEST

START_TEST(split_at_every_byte)
{
    /* Two feeds, cut at each position: the same outcome as one. */
    size_t length = strlen(PROMETHEUS_GET);
    for (size_t cut = 0; cut <= length; cut++) {
        struct http_request_parser parser;
        http_request_parser_init(&parser);
        size_t first, second = 0;
        enum http_parse_result result =
            http_request_parser_feed(&parser, (const uint8_t *)PROMETHEUS_GET, cut, &first);
        ck_assert_int_eq(result, cut == length ? HTTP_PARSE_DONE : HTTP_PARSE_MORE);
        if (result == HTTP_PARSE_MORE)
            result = http_request_parser_feed(&parser, (const uint8_t *)PROMETHEUS_GET + cut,
                                              length - cut, &second);
        ck_assert_int_eq(result, HTTP_PARSE_DONE);
        ck_assert_uint_eq(first + second, length);
    }
}
END_TEST

START_TEST(bytes_after_the_head_are_left)
{
    char text[512];
    snprintf(text, sizeof(text), "%sGET / HTTP/1.1\r\n", PROMETHEUS_GET);
    struct http_request_parser parser;
    size_t consumed;
    ck_assert_int_eq(feed_in_pieces(&parser, text, strlen(text), 7, &consumed), HTTP_PARSE_DONE);
    ck_assert_uint_eq(consumed, strlen(PROMETHEUS_GET));
}
END_TEST

START_TEST(methods)
{
    struct http_request_parser parser;
    ck_assert_int_eq(feed_text(&parser, "HEAD /metrics HTTP/1.0\r\n\r\n"), HTTP_PARSE_DONE);
    ck_assert_int_eq(parser.method, HTTP_METHOD_HEAD);
    ck_assert_int_eq(feed_text(&parser, "POST /metrics HTTP/1.0\r\n\r\n"), HTTP_PARSE_DONE);
    ck_assert_int_eq(parser.method, HTTP_METHOD_OTHER);
    /* Methods are case-sensitive; a long one is cut, never taken for GET. */
    ck_assert_int_eq(feed_text(&parser, "get /metrics HTTP/1.0\r\n\r\n"), HTTP_PARSE_DONE);
    ck_assert_int_eq(parser.method, HTTP_METHOD_OTHER);
    ck_assert_int_eq(feed_text(&parser, "GETGETGETGETGETGETGETGET / HTTP/1.0\r\n\r\n"),
                     HTTP_PARSE_DONE);
    ck_assert_int_eq(parser.method, HTTP_METHOD_OTHER);
}
END_TEST

START_TEST(versions_and_host)
{
    struct http_request_parser parser;
    /* HTTP/1.0 needs no Host; 1.1 must have one (RFC 9112 3.2), in any case. */
    ck_assert_int_eq(feed_text(&parser, "GET /metrics HTTP/1.0\r\n\r\n"), HTTP_PARSE_DONE);
    ck_assert_uint_eq(parser.version_minor, 0);
    ck_assert_int_eq(feed_text(&parser, "GET /metrics HTTP/1.1\r\nhOsT: x\r\n\r\n"),
                     HTTP_PARSE_DONE);
    assert_error("GET /metrics HTTP/1.1\r\n\r\n", HTTP_ERROR_NO_HOST);
    assert_error("GET /metrics HTTP/1.1\r\nHostname: x\r\n\r\n", HTTP_ERROR_NO_HOST);
    assert_error("GET /metrics HTTP/1.1\r\nHos: x\r\n\r\n", HTTP_ERROR_NO_HOST);
    /* Well formed but not 1.x: told apart, at the end of the request line. */
    assert_error("GET /metrics HTTP/2.0\r\n", HTTP_ERROR_VERSION);
    assert_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP_ERROR_VERSION);
    assert_error("GET /metrics HTTP/0.9\r\n", HTTP_ERROR_VERSION);
}
END_TEST

START_TEST(lenient_line_ends)
{
    /* Bare LF ends lines (RFC 9112 2.2), and empty lines may come before the request. */
    struct http_request_parser parser;
    ck_assert_int_eq(feed_text(&parser, "\r\n\nGET /metrics HTTP/1.1\nHost: x\n\n"),
                     HTTP_PARSE_DONE);
    ck_assert(http_request_path_is(&parser, "/metrics"));
}
END_TEST

START_TEST(malformed_heads)
{
    static const char *const heads[] = {
        " GET /metrics HTTP/1.0\r\n\r\n",      /* no method */
        "GET  /metrics HTTP/1.0\r\n\r\n",      /* two spaces */
        "GET /metrics  HTTP/1.0\r\n\r\n",
        "GET /metrics\r\n\r\n",                /* HTTP/0.9 style: no version */
        "GET\r\n\r\n",
        "GE(T /metrics HTTP/1.0\r\n\r\n",      /* not a token */
        "GET /met\x01rics HTTP/1.0\r\n\r\n",   /* control in the target */
        "GET /met\x80rics HTTP/1.0\r\n\r\n",
        "GET /metrics http/1.0\r\n\r\n",
        "GET /metrics HTTP/1.\r\n\r\n",
        "GET /metrics HTTP/1.10\r\n\r\n",
        "GET /metrics HTTP/11.1\r\n\r\n",
        "GET /metrics HTTP/1x1\r\n\r\n",
        "GET /metrics HTTP/1.0 \r\n\r\n",
        "GET /metrics HTTP/1.0\rX\n\r\n",      /* CR without LF */
        "GET /metrics HTTP/1.0\r\n\rX",
        "\rGET /metrics HTTP/1.0\r\n\r\n",
        "GET /metrics HTTP/1.0\r\nHost : x\r\n\r\n",   /* space before the colon */
        "GET /metrics HTTP/1.0\r\n: x\r\n\r\n",        /* no field name */
        "GET /metrics HTTP/1.0\r\nHost\r\n\r\n",       /* no colon */
        "GET /metrics HTTP/1.0\r\nA: b\r\n c\r\n\r\n", /* obs-fold */
        "GET /metrics HTTP/1.0\r\nA: b\x7f\r\n\r\n",   /* DEL in a value */
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        assert_error(heads[i], HTTP_ERROR_MALFORMED);
    /* A NUL inside a value, fed by length. */
    static const char with_nul[] = "GET / HTTP/1.0\r\nA: b\0c\r\n\r\n";
    struct http_request_parser parser;
    size_t consumed;
    ck_assert_int_eq(feed_in_pieces(&parser, with_nul, sizeof(with_nul) - 1, 3, &consumed),
                     HTTP_PARSE_ERROR);
    ck_assert_int_eq(parser.error, HTTP_ERROR_MALFORMED);
    ck_assert_uint_eq(consumed, strlen("GET / HTTP/1.0\r\nA: b") + 1);
}
END_TEST

/* A head of exactly length bytes: the request line, then one field padded to fit. */
static char *head_of_length(size_t length)
{
    static const char start[] = "GET /metrics HTTP/1.0\r\nX-Pad: ";
    char *text = malloc(length + 1);
    ck_assert_ptr_nonnull(text);
    size_t prefix = strlen(start);
    memcpy(text, start, prefix);
    memset(text + prefix, 'p', length - prefix - 4);
    memcpy(text + length - 4, "\r\n\r\n", 5);
    return text;
}

START_TEST(size_limit)
{
    struct http_request_parser parser;
    size_t consumed;
    char *fits = head_of_length(HTTP_REQUEST_HEAD_MAX);
    ck_assert_int_eq(feed_in_pieces(&parser, fits, HTTP_REQUEST_HEAD_MAX, 1000, &consumed),
                     HTTP_PARSE_DONE);
    ck_assert_uint_eq(consumed, HTTP_REQUEST_HEAD_MAX);
    free(fits);
    char *over = head_of_length(HTTP_REQUEST_HEAD_MAX + 1);
    for (size_t piece = 1; piece <= 4096; piece *= 8) {
        ck_assert_int_eq(feed_in_pieces(&parser, over, HTTP_REQUEST_HEAD_MAX + 1, piece,
                                        &consumed),
                         HTTP_PARSE_ERROR);
        ck_assert_int_eq(parser.error, HTTP_ERROR_TOO_LARGE);
        ck_assert_uint_eq(consumed, HTTP_REQUEST_HEAD_MAX);
    }
    free(over);
    /* Endless empty lines count too. */
    char blanks[HTTP_REQUEST_HEAD_MAX + 2];
    memset(blanks, '\n', sizeof(blanks) - 1);
    blanks[sizeof(blanks) - 1] = '\0';
    assert_error(blanks, HTTP_ERROR_TOO_LARGE);
}
END_TEST

START_TEST(path_match)
{
    static const struct {
        const char *target;
        bool is_metrics;
    } cases[] = {
        { "/metrics", true },
        { "/metrics?name[]=x", true },
        { "/metrics#top", true },
        { "http://127.0.0.1:9150/metrics", true },
        { "http://[::1]:9150/metrics?x", true },
        { "/metrics/", false },
        { "/metricsx", false },
        { "/Metrics", false },
        { "/", false },
        { "*", false },
        { "http://host", false },
        { "//metrics", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "GET %s HTTP/1.0\r\n\r\n", cases[i].target);
        struct http_request_parser parser;
        ck_assert_int_eq(feed_text(&parser, text), HTTP_PARSE_DONE);
        ck_assert_msg(http_request_path_is(&parser, "/metrics") == cases[i].is_metrics, "%s",
                      cases[i].target);
    }
    /* A target longer than kept never matches, whatever it starts with. */
    char text[HTTP_REQUEST_TARGET_MAX + 64];
    int length = snprintf(text, sizeof(text), "GET /metrics?");
    memset(text + length, 'q', HTTP_REQUEST_TARGET_MAX);
    snprintf(text + length + HTTP_REQUEST_TARGET_MAX, 32, " HTTP/1.0\r\n\r\n");
    struct http_request_parser parser;
    ck_assert_int_eq(feed_text(&parser, text), HTTP_PARSE_DONE);
    ck_assert(parser.target_truncated);
    ck_assert(!http_request_path_is(&parser, "/metrics"));
}
END_TEST

START_TEST(done_and_error_are_final)
{
    struct http_request_parser parser;
    size_t consumed = SIZE_MAX;
    ck_assert_int_eq(feed_text(&parser, PROMETHEUS_GET), HTTP_PARSE_DONE);
    ck_assert_int_eq(http_request_parser_feed(&parser, (const uint8_t *)"GET", 3, &consumed),
                     HTTP_PARSE_DONE);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_int_eq(feed_text(&parser, "BAD\r\n"), HTTP_PARSE_ERROR);
    ck_assert_int_eq(http_request_parser_feed(&parser, (const uint8_t *)"\r\n", 2, &consumed),
                     HTTP_PARSE_ERROR);
    ck_assert_uint_eq(consumed, 0);
    ck_assert_int_eq(parser.error, HTTP_ERROR_MALFORMED);
}
END_TEST

/* Random heads, mostly made of the characters that matter, fed whole and in random pieces:
 * the same outcome, the same bytes taken, and nothing read past what was given (ASan). */
START_TEST(garbage_in_pieces_agrees_with_whole)
{
    static const char alphabet[] = "GET /metrics HTTP/1.1\r\n:Host\t\x01\x7f\x80 ";
    srand(15);
    for (int round = 0; round < 20000; round++) {
        size_t length = (size_t)(rand() % 300);
        uint8_t *data = malloc(length + 1);
        ck_assert_ptr_nonnull(data);
        /* Half the rounds start from a good request line, so the fields get fuzzed too. */
        size_t start = 0;
        if (round % 2 == 0 && length > 26) {
            memcpy(data, "GET /metrics HTTP/1.0\r\n", 23);
            start = 23;
        }
        for (size_t i = start; i < length; i++)
            data[i] = rand() % 4 == 0 ? (uint8_t)rand()
                                      : (uint8_t)alphabet[rand() % (sizeof(alphabet) - 1)];
        struct http_request_parser whole, pieces;
        size_t whole_consumed, pieces_consumed;
        enum http_parse_result expected =
            feed_in_pieces(&whole, data, length, SIZE_MAX, &whole_consumed);
        enum http_parse_result result =
            feed_in_pieces(&pieces, data, length, 1 + (size_t)(rand() % 16), &pieces_consumed);
        ck_assert_int_eq(result, expected);
        ck_assert_uint_eq(pieces_consumed, whole_consumed);
        ck_assert_int_eq(pieces.error, whole.error);
        if (result == HTTP_PARSE_DONE) {
            ck_assert_str_eq(pieces.target, whole.target);
            ck_assert_int_eq(pieces.method, whole.method);
        }
        free(data);
    }
}
END_TEST

static Suite *http_request_suite(void)
{
    Suite *suite = suite_create("http_request");
    TCase *decode = tcase_create("decode");
    TCase *refuse = tcase_create("refuse");
    TCase *garbage = tcase_create("garbage");
    tcase_add_test(decode, prometheus_request_in_any_pieces);
    tcase_add_test(decode, split_at_every_byte);
    tcase_add_test(decode, bytes_after_the_head_are_left);
    tcase_add_test(decode, methods);
    tcase_add_test(decode, versions_and_host);
    tcase_add_test(decode, lenient_line_ends);
    tcase_add_test(decode, path_match);
    tcase_add_test(refuse, malformed_heads);
    tcase_add_test(refuse, size_limit);
    tcase_add_test(refuse, done_and_error_are_final);
    tcase_add_test(garbage, garbage_in_pieces_agrees_with_whole);
    tcase_set_timeout(garbage, 60);
    suite_add_tcase(suite, decode);
    suite_add_tcase(suite, refuse);
    suite_add_tcase(suite, garbage);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(http_request_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
