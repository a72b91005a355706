/* fuzz_socks5_auth: libFuzzer harness for the RFC 1929 username/password decoder — chunked
 * feeding must agree with a whole feed and with the RFC, and wiping must clear the password. */
#include "fuzz_feed.h"
#include "socks5_parser.h"

#include <string.h>

/* RFC 1929: where VER ULEN UNAME PLEN PASSWD in msg[0..n) ends (0 = not yet), or 1 if VER
 * is wrong. */
static size_t auth_end(const uint8_t *msg, size_t n, int *bad_version)
{
    *bad_version = n > 0 && msg[0] != SOCKS5_AUTH_VERSION;
    if (*bad_version)
        return 1;
    if (n < 2)
        return 0;
    size_t plen_at = 2u + msg[1];
    if (n <= plen_at || n < plen_at + 1 + msg[plen_at])
        return 0;
    return plen_at + 1 + msg[plen_at];
}

static void check_fields(const struct socks5_auth_parser *parser, const uint8_t *msg, size_t end)
{
    size_t ulen = msg[1], plen = msg[2 + ulen];
    FUZZ_CHECK(parser->username_length == ulen && parser->password_length == plen);
    FUZZ_CHECK(end == 3 + ulen + plen);
    FUZZ_CHECK(memcmp(parser->username, msg + 2, ulen) == 0 && parser->username[ulen] == '\0');
    FUZZ_CHECK(memcmp(parser->password, msg + 3 + ulen, plen) == 0 &&
               parser->password[plen] == '\0');
}

static void check_against_model(enum socks5_parse_result result, size_t consumed,
                                const struct socks5_auth_parser *parser, const uint8_t *msg,
                                size_t n)
{
    int bad_version;
    size_t end = auth_end(msg, n, &bad_version);
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
    check_fields(parser, msg, end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    struct socks5_auth_parser whole, pieces;
    size_t whole_consumed = SIZE_MAX, offset = 0, consumed;
    enum socks5_parse_result result = SOCKS5_PARSE_MORE;

    socks5_auth_parser_init(&whole);
    enum socks5_parse_result whole_result =
        socks5_auth_parser_feed(&whole, msg, n, &whole_consumed);
    check_against_model(whole_result, whole_consumed, &whole, msg, n);

    socks5_auth_parser_init(&pieces);
    while (offset < n && result == SOCKS5_PARSE_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(socks5_auth_parser_feed(&pieces, msg + offset, 0, &consumed) ==
                       SOCKS5_PARSE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = socks5_auth_parser_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != SOCKS5_PARSE_MORE || consumed == piece);
        offset += consumed;
    }
    FUZZ_CHECK(result == whole_result && offset == whole_consumed);
    FUZZ_CHECK(pieces.error == whole.error);
    if (result == SOCKS5_PARSE_DONE)
        check_fields(&pieces, msg, offset);

    if (result != SOCKS5_PARSE_MORE) {
        consumed = SIZE_MAX;
        FUZZ_CHECK(socks5_auth_parser_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
        FUZZ_CHECK(pieces.error == whole.error);
        if (result == SOCKS5_PARSE_DONE)
            check_fields(&pieces, msg, offset);
    }

    /* Wiping clears the password whatever state the parser is in, and keeps the name. */
    uint8_t username_length = pieces.username_length;
    char username[256];
    memcpy(username, pieces.username, sizeof(username));
    socks5_auth_parser_wipe(&pieces);
    FUZZ_CHECK(fuzz_all_zero(pieces.password, sizeof(pieces.password)));
    FUZZ_CHECK(pieces.password_length == 0);
    FUZZ_CHECK(pieces.username_length == username_length &&
               memcmp(pieces.username, username, sizeof(username)) == 0);

    uint8_t reply[3] = {0xA5, 0xA5, 0xA5};
    uint8_t status = n > 0 ? msg[n - 1] : 0;
    FUZZ_CHECK(socks5_auth_reply_encode(reply, status) == 2);
    FUZZ_CHECK(reply[0] == SOCKS5_AUTH_VERSION && reply[1] == status && reply[2] == 0xA5);
    return 0;
}
