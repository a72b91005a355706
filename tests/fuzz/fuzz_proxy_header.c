/* fuzz_proxy_header: libFuzzer harness for the PROXY protocol header decoder — chunked feeding
 * must agree with a whole feed, and a DONE must have taken exactly one header and nothing after. */
#include "fuzz_feed.h"
#include "proxy_header.h"

#include <string.h>

static const uint8_t v2_signature[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static void check_done(const struct proxy_header_parser *parser, const uint8_t *msg,
                       size_t consumed)
{
    if (msg[0] == 'P') {
        FUZZ_CHECK(consumed >= 8 && consumed <= PROXY_HEADER_V1_MAX_LENGTH);
        FUZZ_CHECK(memcmp(msg, "PROXY ", 6) == 0);
        FUZZ_CHECK(msg[consumed - 2] == '\r' && msg[consumed - 1] == '\n');
        FUZZ_CHECK(memchr(msg, '\n', consumed - 1) == NULL);
    } else {
        FUZZ_CHECK(consumed >= PROXY_HEADER_V2_HEAD_LENGTH);
        FUZZ_CHECK(memcmp(msg, v2_signature, sizeof(v2_signature)) == 0);
        FUZZ_CHECK(consumed == PROXY_HEADER_V2_HEAD_LENGTH + ((size_t)msg[14] << 8 | msg[15]));
        FUZZ_CHECK(consumed <= PROXY_HEADER_V2_HEAD_LENGTH + PROXY_HEADER_V2_MAX_PAYLOAD);
    }
    int family = parser->source.any.sa_family;
    FUZZ_CHECK(!parser->has_addresses || family == AF_INET || family == AF_INET6);
    FUZZ_CHECK(!parser->has_addresses || parser->destination.any.sa_family == family);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    struct proxy_header_parser whole, pieces;
    size_t whole_consumed = SIZE_MAX, offset = 0, consumed;
    enum proxy_header_result result = PROXY_HEADER_MORE;

    proxy_header_parser_init(&whole);
    enum proxy_header_result whole_result =
        proxy_header_parser_feed(&whole, msg, n, &whole_consumed);
    FUZZ_CHECK(whole_consumed <= n);
    FUZZ_CHECK(whole_result != PROXY_HEADER_MORE || whole_consumed == n);
    FUZZ_CHECK((whole_result == PROXY_HEADER_MALFORMED) == (whole.error != PROXY_HEADER_ERROR_NONE));
    if (whole_result == PROXY_HEADER_DONE)
        check_done(&whole, msg, whole_consumed);
    /* Not starting like a signature is MISSING, and only that. */
    enum proxy_header_signature signature = proxy_header_signature_match(msg, n);
    FUZZ_CHECK((signature == PROXY_SIGNATURE_NONE) == (whole_result == PROXY_HEADER_MISSING));

    proxy_header_parser_init(&pieces);
    while (offset < n && result == PROXY_HEADER_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(proxy_header_parser_feed(&pieces, msg + offset, 0, &consumed) ==
                       PROXY_HEADER_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = proxy_header_parser_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != PROXY_HEADER_MORE || consumed == piece);
        offset += consumed;
    }
    if (n == 0)
        result = PROXY_HEADER_MORE;
    FUZZ_CHECK(result == whole_result && offset == whole_consumed);
    FUZZ_CHECK(pieces.error == whole.error && pieces.has_addresses == whole.has_addresses);
    FUZZ_CHECK(memcmp(&pieces.source, &whole.source, sizeof(whole.source)) == 0);
    FUZZ_CHECK(memcmp(&pieces.destination, &whole.destination, sizeof(whole.destination)) == 0);

    /* A final answer is sticky: nothing more is taken. */
    if (result != PROXY_HEADER_MORE) {
        consumed = SIZE_MAX;
        FUZZ_CHECK(proxy_header_parser_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
    }
    FUZZ_CHECK(proxy_header_error_text(whole.error) != NULL);
    return 0;
}
