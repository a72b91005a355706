/* fuzz_socks5_request: libFuzzer harness for the SOCKS5 request decoder, its checks and the
 * reply encoder — chunked feeding must agree with a whole feed and with RFC 1928 section 4. */
#include "fuzz_feed.h"
#include "session_request.h"
#include "socks5_failure.h"
#include "socks5_parser.h"

#include <netinet/in.h>
#include <string.h>

/* RFC 1928: where VER CMD RSV ATYP DST.ADDR DST.PORT in msg[0..n) ends (0 = not yet), or the
 * position after the byte that makes it malformed. */
static size_t request_end(const uint8_t *msg, size_t n, enum socks5_parse_error *error)
{
    *error = SOCKS5_ERROR_NONE;
    if (n == 0)
        return 0;
    if (msg[0] != SOCKS5_VERSION) {
        *error = SOCKS5_ERROR_BAD_VERSION;
        return 1;
    }
    if (n < 4)
        return 0;
    size_t end;
    switch (msg[3]) {
    case SOCKS5_ATYP_IPV4:
        end = 4 + 4 + 2;
        break;
    case SOCKS5_ATYP_IPV6:
        end = 4 + 16 + 2;
        break;
    case SOCKS5_ATYP_DOMAIN:
        if (n < 5)
            return 0;
        end = 5u + msg[4] + 2;
        break;
    default:
        *error = SOCKS5_ERROR_BAD_ADDRESS_TYPE;
        return 4;
    }
    return n < end ? 0 : end;
}

static void check_fields(const struct socks5_request *request, const uint8_t *msg, size_t end)
{
    FUZZ_CHECK(request->command == msg[1] && request->address_type == msg[3]);
    FUZZ_CHECK(request->port == ((unsigned)msg[end - 2] << 8 | msg[end - 1]));
    switch (request->address_type) {
    case SOCKS5_ATYP_IPV4:
        FUZZ_CHECK(memcmp(request->ipv4, msg + 4, 4) == 0);
        break;
    case SOCKS5_ATYP_IPV6:
        FUZZ_CHECK(memcmp(request->ipv6, msg + 4, 16) == 0);
        break;
    default:
        FUZZ_CHECK(request->domain_length == msg[4]);
        FUZZ_CHECK(memcmp(request->domain, msg + 5, msg[4]) == 0);
        FUZZ_CHECK(request->domain[request->domain_length] == '\0');
    }

    enum socks5_reply_code want = SOCKS5_REPLY_SUCCEEDED;
    if (msg[1] != SOCKS5_CMD_CONNECT && msg[1] != SOCKS5_CMD_BIND &&
        msg[1] != SOCKS5_CMD_UDP_ASSOCIATE)
        want = SOCKS5_REPLY_COMMAND_NOT_SUPPORTED;
    else if (msg[3] == SOCKS5_ATYP_DOMAIN && (msg[4] == 0 || memchr(msg + 5, 0, msg[4]) != NULL))
        want = SOCKS5_REPLY_HOST_UNREACHABLE;
    bool domain_usable = !(msg[3] == SOCKS5_ATYP_DOMAIN &&
                           (msg[4] == 0 || memchr(msg + 5, 0, msg[4]) != NULL));
    FUZZ_CHECK(socks5_request_domain_usable(request) == domain_usable);
    FUZZ_CHECK(socks5_failure_outcome(session_request_check(request)).reply == want);
}

static void check_against_model(enum socks5_parse_result result, size_t consumed,
                                const struct socks5_request_parser *parser, const uint8_t *msg,
                                size_t n)
{
    enum socks5_parse_error error;
    size_t end = request_end(msg, n, &error);
    FUZZ_CHECK(parser->error == error);
    if (error != SOCKS5_ERROR_NONE) {
        FUZZ_CHECK(result == SOCKS5_PARSE_ERROR && consumed == end);
        FUZZ_CHECK(socks5_failure_outcome(socks5_failure_of_parse_error(error)).reply ==
                   (error == SOCKS5_ERROR_BAD_ADDRESS_TYPE ? SOCKS5_REPLY_ADDRESS_TYPE_NOT_SUPPORTED
                                                           : SOCKS5_REPLY_GENERAL_FAILURE));
        return;
    }
    if (end == 0) {
        FUZZ_CHECK(result == SOCKS5_PARSE_MORE && consumed == n);
        return;
    }
    FUZZ_CHECK(result == SOCKS5_PARSE_DONE && consumed == end);
    check_fields(&parser->request, msg, end);
}

/* Encodes the decoded destination as a bound address: the reply must carry the very bytes the
 * request did (a domain, having no sockaddr, is sent as 0.0.0.0:0). */
static void check_reply_round_trip(const struct socks5_request *request, const uint8_t *msg,
                                   size_t end, uint8_t reply_code)
{
    uint8_t out[SOCKS5_REPLY_MAX_LENGTH + 1];
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    const struct sockaddr *bound = NULL;
    size_t address_length = 4;
    memset(out, 0xA5, sizeof(out));
    memset(&in4, 0, sizeof(in4));
    memset(&in6, 0, sizeof(in6));
    if (request->address_type == SOCKS5_ATYP_IPV4) {
        in4.sin_family = AF_INET;
        memcpy(&in4.sin_addr, request->ipv4, 4);
        in4.sin_port = htons(request->port);
        bound = (const struct sockaddr *)&in4;
    } else if (request->address_type == SOCKS5_ATYP_IPV6) {
        in6.sin6_family = AF_INET6;
        memcpy(&in6.sin6_addr, request->ipv6, 16);
        in6.sin6_port = htons(request->port);
        bound = (const struct sockaddr *)&in6;
        address_length = 16;
    }
    size_t written = socks5_reply_encode(out, reply_code, bound);
    FUZZ_CHECK(written == 6 + address_length);
    FUZZ_CHECK(out[0] == SOCKS5_VERSION && out[1] == reply_code && out[2] == 0x00);
    FUZZ_CHECK(out[written] == 0xA5);
    if (bound == NULL) {
        FUZZ_CHECK(out[3] == SOCKS5_ATYP_IPV4 && fuzz_all_zero(out + 4, 6));
        return;
    }
    FUZZ_CHECK(out[3] == request->address_type);
    FUZZ_CHECK(memcmp(out + 4, msg + 4, address_length + 2) == 0 && end == written);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    struct socks5_request_parser whole, pieces;
    size_t whole_consumed = SIZE_MAX, offset = 0, consumed;
    enum socks5_parse_result result = SOCKS5_PARSE_MORE;

    socks5_request_parser_init(&whole);
    enum socks5_parse_result whole_result =
        socks5_request_parser_feed(&whole, msg, n, &whole_consumed);
    check_against_model(whole_result, whole_consumed, &whole, msg, n);

    socks5_request_parser_init(&pieces);
    while (offset < n && result == SOCKS5_PARSE_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(socks5_request_parser_feed(&pieces, msg + offset, 0, &consumed) ==
                       SOCKS5_PARSE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = socks5_request_parser_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != SOCKS5_PARSE_MORE || consumed == piece);
        offset += consumed;
    }
    FUZZ_CHECK(result == whole_result && offset == whole_consumed);
    FUZZ_CHECK(pieces.error == whole.error);
    if (result == SOCKS5_PARSE_DONE) {
        check_fields(&pieces.request, msg, offset);
        check_reply_round_trip(&pieces.request, msg, offset, msg[1]);
    }

    if (result != SOCKS5_PARSE_MORE) {
        consumed = SIZE_MAX;
        FUZZ_CHECK(socks5_request_parser_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
        FUZZ_CHECK(pieces.error == whole.error);
        if (result == SOCKS5_PARSE_DONE)
            check_fields(&pieces.request, msg, offset);
    }
    return 0;
}
