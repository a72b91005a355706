/* fuzz_socks5_greeting: libFuzzer harness for the SOCKS5 greeting decoder — chunked feeding
 * must agree with a whole feed and with an independent reading of RFC 1928 section 3. */
#include "fuzz_feed.h"
#include "socks5_parser.h"

#include <string.h>

/* RFC 1928: where the greeting in msg[0..n) ends (0 = not yet), or 1 if VER is wrong. */
static size_t greeting_end(const uint8_t *msg, size_t n, int *bad_version)
{
    *bad_version = n > 0 && msg[0] != SOCKS5_VERSION;
    if (*bad_version)
        return 1;
    if (n < 2 || n < 2u + msg[1])
        return 0;
    return 2u + msg[1];
}

static void check_against_model(enum socks5_parse_result result, size_t consumed,
                                const struct socks5_greeting_parser *parser, const uint8_t *msg,
                                size_t n)
{
    int bad_version;
    size_t end = greeting_end(msg, n, &bad_version);
    if (bad_version) {
        FUZZ_CHECK(result == SOCKS5_PARSE_ERROR && consumed == 1);
        FUZZ_CHECK(parser->error == SOCKS5_ERROR_BAD_VERSION);
        return;
    }
    FUZZ_CHECK(parser->error == SOCKS5_ERROR_NONE);
    if (end == 0) {
        FUZZ_CHECK(result == SOCKS5_PARSE_MORE && consumed == n);
        return;
    }
    FUZZ_CHECK(result == SOCKS5_PARSE_DONE && consumed == end);
    FUZZ_CHECK(parser->offers_no_auth == (memchr(msg + 2, 0x00, end - 2) != NULL));
    FUZZ_CHECK(parser->offers_userpass == (memchr(msg + 2, 0x02, end - 2) != NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    struct socks5_greeting_parser whole, pieces;
    size_t whole_consumed = SIZE_MAX, offset = 0, consumed;
    enum socks5_parse_result result = SOCKS5_PARSE_MORE;

    socks5_greeting_parser_init(&whole);
    enum socks5_parse_result whole_result =
        socks5_greeting_parser_feed(&whole, msg, n, &whole_consumed);
    check_against_model(whole_result, whole_consumed, &whole, msg, n);

    socks5_greeting_parser_init(&pieces);
    while (offset < n && result == SOCKS5_PARSE_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(socks5_greeting_parser_feed(&pieces, msg + offset, 0, &consumed) ==
                       SOCKS5_PARSE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = socks5_greeting_parser_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != SOCKS5_PARSE_MORE || consumed == piece);
        offset += consumed;
    }
    FUZZ_CHECK(result == whole_result && offset == whole_consumed);
    FUZZ_CHECK(pieces.error == whole.error);
    FUZZ_CHECK(pieces.offers_no_auth == whole.offers_no_auth || result != SOCKS5_PARSE_DONE);
    FUZZ_CHECK(pieces.offers_userpass == whole.offers_userpass || result != SOCKS5_PARSE_DONE);

    /* DONE and ERROR are final: nothing more is taken and nothing changes. */
    if (result != SOCKS5_PARSE_MORE) {
        struct socks5_greeting_parser before = pieces;
        consumed = SIZE_MAX;
        FUZZ_CHECK(socks5_greeting_parser_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
        FUZZ_CHECK(pieces.error == before.error && pieces.offers_no_auth == before.offers_no_auth &&
                   pieces.offers_userpass == before.offers_userpass);
    }

    uint8_t reply[3] = {0xA5, 0xA5, 0xA5};
    uint8_t method = n > 0 ? msg[n - 1] : 0;
    FUZZ_CHECK(socks5_method_reply_encode(reply, method) == 2);
    FUZZ_CHECK(reply[0] == SOCKS5_VERSION && reply[1] == method && reply[2] == 0xA5);
    return 0;
}
