/* fuzz_http_request: libFuzzer harness for the metrics endpoint's HTTP/1.x request-head decoder
 * — chunked feeding must agree with a whole feed, stay within the head limit and the input,
 * and end a complete head exactly at its empty line. */
#include "fuzz_feed.h"
#include "http_request.h"

#include <string.h>

/* Where the first empty line ends in msg[0..n) (CRLF CRLF, or bare LF ones), 0 if none. */
static int ends_with_empty_line(const uint8_t *msg, size_t end)
{
    if (end >= 2 && msg[end - 1] == '\n' && msg[end - 2] == '\n')
        return 1;
    return end >= 3 && msg[end - 1] == '\n' && msg[end - 2] == '\r' && msg[end - 3] == '\n';
}

static size_t skip_leading_empty_lines(const uint8_t *msg, size_t n)
{
    size_t at = 0;
    while (at < n && (msg[at] == '\r' || msg[at] == '\n'))
        at++;
    return at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    struct http_request_parser whole, pieces;
    size_t whole_consumed = SIZE_MAX, offset = 0, consumed;
    enum http_parse_result result = HTTP_PARSE_MORE;

    http_request_parser_init(&whole);
    enum http_parse_result whole_result =
        http_request_parser_feed(&whole, msg, n, &whole_consumed);
    FUZZ_CHECK(whole_consumed <= n);
    FUZZ_CHECK(whole_result != HTTP_PARSE_MORE || whole_consumed == n);
    FUZZ_CHECK(whole.head_length <= HTTP_REQUEST_HEAD_MAX);
    FUZZ_CHECK(strlen(whole.target) <= HTTP_REQUEST_TARGET_MAX);
    FUZZ_CHECK((whole_result == HTTP_PARSE_ERROR) == (whole.error != HTTP_ERROR_NONE));
    if (whole.error == HTTP_ERROR_TOO_LARGE)
        FUZZ_CHECK(whole_consumed == HTTP_REQUEST_HEAD_MAX);
    if (whole_result == HTTP_PARSE_DONE) {
        FUZZ_CHECK(ends_with_empty_line(msg, whole_consumed));
        FUZZ_CHECK(whole.version_minor <= 9);
        size_t start = skip_leading_empty_lines(msg, whole_consumed);
        int is_get = whole_consumed - start >= 4 && memcmp(msg + start, "GET ", 4) == 0;
        int is_head = whole_consumed - start >= 5 && memcmp(msg + start, "HEAD ", 5) == 0;
        FUZZ_CHECK((whole.method == HTTP_METHOD_GET) == is_get);
        FUZZ_CHECK((whole.method == HTTP_METHOD_HEAD) == is_head);
        FUZZ_CHECK(whole.version_minor == 0 || whole.has_host);
        (void)http_request_path_is(&whole, "/metrics");
    }

    http_request_parser_init(&pieces);
    while (offset < n && result == HTTP_PARSE_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(http_request_parser_feed(&pieces, msg + offset, 0, &consumed) ==
                       HTTP_PARSE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = http_request_parser_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != HTTP_PARSE_MORE || consumed == piece);
        offset += consumed;
    }
    FUZZ_CHECK(result == whole_result && offset == whole_consumed);
    FUZZ_CHECK(pieces.error == whole.error);
    if (result == HTTP_PARSE_DONE) {
        FUZZ_CHECK(pieces.method == whole.method);
        FUZZ_CHECK(strcmp(pieces.target, whole.target) == 0);
        FUZZ_CHECK(pieces.target_truncated == whole.target_truncated);
    }

    /* DONE and ERROR are final. */
    if (result != HTTP_PARSE_MORE) {
        consumed = SIZE_MAX;
        FUZZ_CHECK(http_request_parser_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
    }
    return 0;
}
