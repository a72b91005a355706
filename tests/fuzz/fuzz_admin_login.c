/* fuzz_admin_login: libFuzzer harness for the admin login request and login reply decoders —
 * chunked feeding must agree with a whole feed, with PROTOCOL.md section 4 and with the encoders. */
#include "fuzz_feed.h"
#include "admin_protocol.h"

#include <string.h>

/* PROTOCOL.md 4.1: where VER RSV ULEN USERNAME PLEN PASSWORD in msg[0..n) ends (0 = not yet),
 * or the position after the byte that makes it malformed. */
static size_t login_end(const uint8_t *msg, size_t n, enum admin_decode_error *error)
{
    *error = ADMIN_DECODE_ERROR_NONE;
    if (n >= 1 && msg[0] != ADMIN_PROTOCOL_VERSION) {
        *error = ADMIN_DECODE_ERROR_VERSION;
        return 1;
    }
    if (n >= 2 && msg[1] != ADMIN_RESERVED) {
        *error = ADMIN_DECODE_ERROR_RESERVED;
        return 2;
    }
    size_t at = 2;
    for (int field = 0; field < 2; field++) {
        if (n <= at)
            return 0;
        size_t length = msg[at++];
        if (length == 0) {
            *error = ADMIN_DECODE_ERROR_EMPTY_FIELD;
            return at;
        }
        size_t available = n - at < length ? n - at : length;
        const uint8_t *nul = memchr(msg + at, 0, available);
        if (nul != NULL) {
            *error = ADMIN_DECODE_ERROR_NUL_BYTE;
            return (size_t)(nul - msg) + 1;
        }
        if (available < length)
            return 0;
        at += length;
    }
    return at;
}

static void check_login_fields(const struct admin_login_decoder *decoder, const uint8_t *msg,
                               size_t end)
{
    size_t ulen = msg[2], plen = msg[3 + ulen];
    FUZZ_CHECK(end == 4 + ulen + plen);
    FUZZ_CHECK(decoder->username_length == ulen && decoder->password_length == plen);
    FUZZ_CHECK(memcmp(decoder->username, msg + 3, ulen) == 0 && decoder->username[ulen] == '\0');
    FUZZ_CHECK(memcmp(decoder->password, msg + 4 + ulen, plen) == 0 &&
               decoder->password[plen] == '\0');
    FUZZ_CHECK(strlen(decoder->username) == ulen && strlen(decoder->password) == plen);
}

static void check_login_against_model(enum admin_decode_result result, size_t consumed,
                                      const struct admin_login_decoder *decoder,
                                      const uint8_t *msg, size_t n)
{
    enum admin_decode_error error;
    size_t end = login_end(msg, n, &error);
    FUZZ_CHECK(decoder->error == error);
    if (error != ADMIN_DECODE_ERROR_NONE) {
        FUZZ_CHECK(result == ADMIN_DECODE_ERROR && consumed == end);
        FUZZ_CHECK(admin_decode_error_status(error) == (error == ADMIN_DECODE_ERROR_VERSION
                                                            ? ADMIN_STATUS_UNSUPPORTED_VERSION
                                                            : ADMIN_STATUS_BAD_REQUEST));
        FUZZ_CHECK(admin_decode_error_text(error) != NULL);
        return;
    }
    if (end == 0) {
        FUZZ_CHECK(result == ADMIN_DECODE_MORE && consumed == n);
        return;
    }
    FUZZ_CHECK(result == ADMIN_DECODE_DONE && consumed == end);
    check_login_fields(decoder, msg, end);
}

/* The encoder must write back the very bytes that were decoded. */
static void check_login_round_trip(const struct admin_login_decoder *decoder, const uint8_t *msg,
                                   size_t end)
{
    uint8_t out[ADMIN_LOGIN_REQUEST_MAX + 1];
    memset(out, 0xA5, sizeof(out));
    size_t written = admin_login_request_encode(out, decoder->username, decoder->username_length,
                                                decoder->password, decoder->password_length);
    FUZZ_CHECK(written == end && memcmp(out, msg, end) == 0);
    FUZZ_CHECK(out[written] == 0xA5);
    FUZZ_CHECK(admin_login_request_encode(out, decoder->username, 0, decoder->password,
                                          decoder->password_length) == 0);
    FUZZ_CHECK(admin_login_request_encode(out, decoder->username, decoder->username_length,
                                          decoder->password, 0) == 0);
}

static void fuzz_login_request(struct fuzz_plan plan)
{
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    struct admin_login_decoder whole, pieces;
    size_t whole_consumed = SIZE_MAX, offset = 0, consumed;
    enum admin_decode_result result = ADMIN_DECODE_MORE;

    admin_login_decoder_init(&whole);
    enum admin_decode_result whole_result =
        admin_login_decoder_feed(&whole, msg, n, &whole_consumed);
    check_login_against_model(whole_result, whole_consumed, &whole, msg, n);

    admin_login_decoder_init(&pieces);
    while (offset < n && result == ADMIN_DECODE_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(admin_login_decoder_feed(&pieces, msg + offset, 0, &consumed) ==
                       ADMIN_DECODE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = admin_login_decoder_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != ADMIN_DECODE_MORE || consumed == piece);
        FUZZ_CHECK(result != ADMIN_DECODE_HEADER);
        offset += consumed;
    }
    FUZZ_CHECK(result == whole_result && offset == whole_consumed);
    FUZZ_CHECK(pieces.error == whole.error);
    if (result == ADMIN_DECODE_DONE) {
        check_login_fields(&pieces, msg, offset);
        check_login_round_trip(&pieces, msg, offset);
    }

    /* DONE and ERROR are final: nothing more is taken and nothing changes. */
    if (result != ADMIN_DECODE_MORE) {
        struct admin_login_decoder before;
        memcpy(&before, &pieces, sizeof(before));
        consumed = SIZE_MAX;
        FUZZ_CHECK(admin_login_decoder_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
        FUZZ_CHECK(memcmp(&before, &pieces, sizeof(pieces)) == 0);
    }

    /* Wiping clears the password whatever state the decoder is in, and keeps the name. */
    char username[sizeof(pieces.username)];
    uint8_t username_length = pieces.username_length;
    memcpy(username, pieces.username, sizeof(username));
    admin_login_decoder_wipe(&pieces);
    FUZZ_CHECK(fuzz_all_zero(pieces.password, sizeof(pieces.password)));
    FUZZ_CHECK(pieces.password_length == 0);
    FUZZ_CHECK(pieces.username_length == username_length &&
               memcmp(pieces.username, username, sizeof(username)) == 0);
    FUZZ_CHECK(pieces.error == whole.error);
}

/* PROTOCOL.md 4.2: VER RSV STATUS ROLE; where it ends in msg[0..n) (0 = not yet), or the
 * position after the byte that makes it malformed. */
static size_t reply_end(const uint8_t *msg, size_t n, enum admin_decode_error *error)
{
    *error = ADMIN_DECODE_ERROR_NONE;
    if (n >= 1 && msg[0] != ADMIN_PROTOCOL_VERSION) {
        *error = ADMIN_DECODE_ERROR_VERSION;
        return 1;
    }
    if (n >= 2 && msg[1] != ADMIN_RESERVED) {
        *error = ADMIN_DECODE_ERROR_RESERVED;
        return 2;
    }
    if (n < ADMIN_LOGIN_REPLY_SIZE)
        return 0;
    if (msg[3] != ADMIN_ROLE_USER && msg[3] != ADMIN_ROLE_ADMIN)
        *error = ADMIN_DECODE_ERROR_BAD_ROLE;
    return ADMIN_LOGIN_REPLY_SIZE;
}

static void check_reply_against_model(enum admin_decode_result result, size_t consumed,
                                      const struct admin_login_reply_decoder *decoder,
                                      const uint8_t *msg, size_t n)
{
    enum admin_decode_error error;
    size_t end = reply_end(msg, n, &error);
    FUZZ_CHECK(decoder->error == error);
    if (error != ADMIN_DECODE_ERROR_NONE) {
        FUZZ_CHECK(result == ADMIN_DECODE_ERROR && consumed == end);
        return;
    }
    if (end == 0) {
        FUZZ_CHECK(result == ADMIN_DECODE_MORE && consumed == n);
        return;
    }
    FUZZ_CHECK(result == ADMIN_DECODE_DONE && consumed == end);
    FUZZ_CHECK(decoder->reply.status == msg[2] && decoder->reply.role == msg[3]);

    uint8_t out[ADMIN_LOGIN_REPLY_SIZE + 1] = {0xA5, 0xA5, 0xA5, 0xA5, 0xA5};
    FUZZ_CHECK(admin_login_reply_encode(out, decoder->reply.status, decoder->reply.role) ==
               ADMIN_LOGIN_REPLY_SIZE);
    FUZZ_CHECK(memcmp(out, msg, ADMIN_LOGIN_REPLY_SIZE) == 0 && out[ADMIN_LOGIN_REPLY_SIZE] == 0xA5);
}

static void fuzz_login_reply(struct fuzz_plan plan)
{
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    struct admin_login_reply_decoder whole, pieces;
    size_t whole_consumed = SIZE_MAX, offset = 0, consumed;
    enum admin_decode_result result = ADMIN_DECODE_MORE;

    admin_login_reply_decoder_init(&whole);
    enum admin_decode_result whole_result =
        admin_login_reply_decoder_feed(&whole, msg, n, &whole_consumed);
    check_reply_against_model(whole_result, whole_consumed, &whole, msg, n);

    admin_login_reply_decoder_init(&pieces);
    while (offset < n && result == ADMIN_DECODE_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(admin_login_reply_decoder_feed(&pieces, msg + offset, 0, &consumed) ==
                       ADMIN_DECODE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = admin_login_reply_decoder_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != ADMIN_DECODE_MORE || consumed == piece);
        FUZZ_CHECK(result != ADMIN_DECODE_HEADER);
        offset += consumed;
    }
    FUZZ_CHECK(result == whole_result && offset == whole_consumed);
    FUZZ_CHECK(pieces.error == whole.error);
    if (result == ADMIN_DECODE_DONE)
        FUZZ_CHECK(pieces.reply.status == whole.reply.status &&
                   pieces.reply.role == whole.reply.role);

    if (result != ADMIN_DECODE_MORE) {
        struct admin_login_reply_decoder before;
        memcpy(&before, &pieces, sizeof(before));
        consumed = SIZE_MAX;
        FUZZ_CHECK(admin_login_reply_decoder_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
        FUZZ_CHECK(memcmp(&before, &pieces, sizeof(pieces)) == 0);
    }
}

/* The same input drives both decoders: a login request and, read as a reply, its answer. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    fuzz_login_request(plan);
    fuzz_login_reply(plan);
    return 0;
}
