/* fuzz_admin_request: libFuzzer harness for the admin request frame decoder and the argument
 * parser — both must agree with PROTOCOL.md 5.1 and each command's layout; requests re-encode. */
#include "fuzz_feed.h"
#include "admin_commands.h"

#include <string.h>

/* PROTOCOL.md 5.1: where VER RSV CMD BODYLEN BODY in msg[0..n) ends (0 = not yet), or the
 * position after the byte that makes it malformed. */
static size_t frame_end(const uint8_t *msg, size_t n, enum admin_decode_error *error)
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
    if (n < ADMIN_REQUEST_HEADER_SIZE)
        return 0;
    uint32_t body_length = (uint32_t)msg[3] << 24 | (uint32_t)msg[4] << 16 |
                           (uint32_t)msg[5] << 8 | msg[6];
    if (body_length > ADMIN_REQUEST_BODY_MAX) {
        *error = ADMIN_DECODE_ERROR_BODY_TOO_LARGE;
        return ADMIN_REQUEST_HEADER_SIZE;
    }
    size_t end = ADMIN_REQUEST_HEADER_SIZE + (size_t)body_length;
    return n < end ? 0 : end;
}

static void check_frame(const struct admin_request_decoder *decoder, const uint8_t *msg,
                        size_t end)
{
    FUZZ_CHECK(decoder->command == msg[2]);
    FUZZ_CHECK(decoder->body_length == end - ADMIN_REQUEST_HEADER_SIZE);
    FUZZ_CHECK(decoder->body_received == decoder->body_length);
    FUZZ_CHECK(memcmp(decoder->body, msg + ADMIN_REQUEST_HEADER_SIZE, decoder->body_length) == 0);
}

static void check_frame_against_model(enum admin_decode_result result, size_t consumed,
                                      const struct admin_request_decoder *decoder,
                                      const uint8_t *msg, size_t n)
{
    enum admin_decode_error error;
    size_t end = frame_end(msg, n, &error);
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
    check_frame(decoder, msg, end);
}

/* ---- Each command's layout, from the library's table (test_admin_protocol compares that
 * table with PROTOCOL.md 7.1), as a model of what parsing must answer ---- */

/* One letter per field: s str8, S required str8, h history status str8 ("", "failed" or a
 * decimal 0..255), i u32, l u64, and the u8s r role (0-1), f flag (0-1), w which (0-2). */
#define LAYOUT_SIZE (ADMIN_COMMAND_FIELDS_MAX + 1)

static char field_letter(const struct admin_field *field)
{
    switch (field->type) {
    case ADMIN_FIELD_STR8:
        switch (field->check) {
        case ADMIN_CHECK_NONE: return 's';
        case ADMIN_CHECK_NOT_EMPTY: return 'S';
        case ADMIN_CHECK_HISTORY_STATUS: return 'h';
        default: return '?';
        }
    case ADMIN_FIELD_U32: return 'i';
    case ADMIN_FIELD_U64: return 'l';
    case ADMIN_FIELD_U8: break;
    }
    switch (field->check) {
    case ADMIN_CHECK_ROLE: return 'r';
    case ADMIN_CHECK_FLAG: return 'f';
    case ADMIN_CHECK_WHICH: return 'w';
    default: return '?'; /* a u8 the model does not know: fails check_table_agrees */
    }
}

/* The layout of command into out; NULL for a command the table does not have. */
static const char *layout_of(uint8_t command, char out[LAYOUT_SIZE])
{
    const struct admin_command_info *info = admin_command_info(command);
    if (info == NULL)
        return NULL;
    size_t length = 0;
    for (size_t i = 0; i < info->field_count && i < ADMIN_COMMAND_FIELDS_MAX; i++)
        out[length++] = field_letter(&info->fields[i]);
    out[length] = '\0';
    return out;
}

static bool self_or_admin(uint8_t command)
{
    const struct admin_command_info *info = admin_command_info(command);
    return info != NULL && info->access == ADMIN_ACCESS_SELF_OR_ADMIN;
}

static bool anyone(uint8_t command)
{
    const struct admin_command_info *info = admin_command_info(command);
    return info != NULL && info->access == ADMIN_ACCESS_ANYONE;
}

/* PROTOCOL.md 7.1 history status: empty, "failed", or one to three digits worth at most 255. */
static bool history_status_allowed(const uint8_t *text, size_t length)
{
    if (length == 0 || (length == 6 && memcmp(text, "failed", 6) == 0))
        return true;
    if (length > 3)
        return false;
    unsigned value = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (unsigned)(text[i] - '0');
    }
    return value <= 255;
}

/* What admin_request_parse must answer for body under layout; *first_user is the first str8. */
static enum admin_status model_parse(const char *layout, const uint8_t *body, size_t length,
                                     const uint8_t **first_user, size_t *first_user_length)
{
    size_t at = 0;
    bool bad_value = false;
    *first_user = NULL;
    *first_user_length = 0;
    for (const char *field = layout; *field != '\0'; field++) {
        size_t size = 1;
        switch (*field) {
        case 's':
        case 'S':
        case 'h':
            if (at >= length || length - at - 1 < body[at])
                return ADMIN_STATUS_BAD_REQUEST;
            size = 1u + body[at];
            if (memchr(body + at + 1, 0, body[at]) != NULL || (*field == 'S' && body[at] == 0))
                bad_value = true;
            if (*field == 'h' && !history_status_allowed(body + at + 1, body[at]))
                bad_value = true;
            if (*first_user == NULL) {
                *first_user = body + at + 1;
                *first_user_length = body[at];
            }
            break;
        case 'i': size = 4; break;
        case 'l': size = 8; break;
        default:
            if (at < length)
                bad_value |= body[at] > (*field == 'w' ? 2 : 1);
        }
        if (length - at < size)
            return ADMIN_STATUS_BAD_REQUEST;
        at += size;
    }
    return at != length || bad_value ? ADMIN_STATUS_BAD_REQUEST : ADMIN_STATUS_OK;
}

/* Lookups by code and by name find the same entry, and every field is one the model knows. */
static void check_table_agrees(uint8_t command, const char *layout)
{
    const struct admin_command_info *info = admin_command_info(command);
    if (info == NULL) {
        FUZZ_CHECK(strcmp(admin_command_name(command), "unknown") == 0);
        return;
    }
    FUZZ_CHECK(info->code == command && info->field_count == strlen(layout));
    FUZZ_CHECK(info->field_count <= ADMIN_COMMAND_FIELDS_MAX);
    FUZZ_CHECK(admin_command_find(info->name) == info);
    FUZZ_CHECK(strchr(layout, '?') == NULL);
    /* A self-or-admin command names its target user in its first field. */
    FUZZ_CHECK(info->access != ADMIN_ACCESS_SELF_OR_ADMIN ||
               (layout[0] == 's' || layout[0] == 'S'));
}

static void check_permissions(const struct admin_request *request, const uint8_t *first_user,
                              size_t first_user_length)
{
    uint8_t command = request->command;
    FUZZ_CHECK(admin_request_permitted(request, ADMIN_ROLE_ADMIN, "alice"));
    if (!self_or_admin(command)) {
        FUZZ_CHECK(admin_request_permitted(request, ADMIN_ROLE_USER, "alice") == anyone(command));
        return;
    }
    char self[ADMIN_STR8_MAX + 1];
    memcpy(self, first_user, first_user_length);
    self[first_user_length] = '\0';
    bool names_alice = first_user_length == 0 ||
                       (first_user_length == 5 && memcmp(first_user, "alice", 5) == 0);
    FUZZ_CHECK(admin_request_permitted(request, ADMIN_ROLE_USER, self));
    FUZZ_CHECK(admin_request_permitted(request, ADMIN_ROLE_USER, "alice") == names_alice);
}

/* Parses the decoded frame; a request that parses must re-encode to the very frame. */
static void check_parse(const uint8_t *frame, size_t frame_length)
{
    uint8_t command = frame[2];
    const uint8_t *body = frame + ADMIN_REQUEST_HEADER_SIZE;
    size_t length = frame_length - ADMIN_REQUEST_HEADER_SIZE;
    char layout_text[LAYOUT_SIZE];
    const char *layout = layout_of(command, layout_text);
    check_table_agrees(command, layout);

    struct admin_request request;
    const char *problem = "unset";
    enum admin_status status = admin_request_parse(command, body, length, &request, &problem);
    FUZZ_CHECK(request.command == command);
    if (layout == NULL) {
        FUZZ_CHECK(status == ADMIN_STATUS_UNSUPPORTED_COMMAND && problem != NULL);
        return;
    }
    const uint8_t *first_user;
    size_t first_user_length;
    FUZZ_CHECK(status == model_parse(layout, body, length, &first_user, &first_user_length));
    if (status != ADMIN_STATUS_OK) {
        FUZZ_CHECK(status == ADMIN_STATUS_BAD_REQUEST && problem != NULL && problem[0] != '\0');
        return;
    }
    FUZZ_CHECK(problem == NULL);

    static uint8_t out[ADMIN_REQUEST_FRAME_MAX + 1];
    memset(out, 0xA5, sizeof(out));
    FUZZ_CHECK(admin_request_encode(&request, out, sizeof(out)) == frame_length);
    FUZZ_CHECK(memcmp(out, frame, frame_length) == 0 && out[frame_length] == 0xA5);
    FUZZ_CHECK(admin_request_encode(&request, out, frame_length - 1) == 0);
    FUZZ_CHECK(admin_request_validate(&request, &problem) == ADMIN_STATUS_OK && problem == NULL);
    check_permissions(&request, first_user, first_user_length);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    /* Static: each holds a 4 KiB body. Fully re-initialised below on every run. */
    static struct admin_request_decoder whole, pieces;
    size_t whole_consumed = SIZE_MAX, offset = 0, consumed;
    enum admin_decode_result result = ADMIN_DECODE_MORE;

    admin_request_decoder_init(&whole);
    enum admin_decode_result whole_result =
        admin_request_decoder_feed(&whole, msg, n, &whole_consumed);
    check_frame_against_model(whole_result, whole_consumed, &whole, msg, n);

    admin_request_decoder_init(&pieces);
    while (offset < n && result == ADMIN_DECODE_MORE) {
        size_t piece = fuzz_plan_next_piece(&plan, n - offset);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(admin_request_decoder_feed(&pieces, msg + offset, 0, &consumed) ==
                       ADMIN_DECODE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        result = admin_request_decoder_feed(&pieces, msg + offset, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(result != ADMIN_DECODE_MORE || consumed == piece);
        FUZZ_CHECK(result != ADMIN_DECODE_HEADER);
        offset += consumed;
    }
    FUZZ_CHECK(result == whole_result && offset == whole_consumed);
    FUZZ_CHECK(pieces.error == whole.error);
    if (result == ADMIN_DECODE_DONE) {
        check_frame(&pieces, msg, offset);
        check_parse(msg, offset);
    }

    /* DONE and ERROR are final: nothing more is taken and nothing changes. */
    if (result != ADMIN_DECODE_MORE) {
        uint8_t command = pieces.command;
        uint32_t body_length = pieces.body_length, body_received = pieces.body_received;
        consumed = SIZE_MAX;
        FUZZ_CHECK(admin_request_decoder_feed(&pieces, msg, n, &consumed) == result);
        FUZZ_CHECK(consumed == 0);
        FUZZ_CHECK(pieces.error == whole.error && pieces.command == command &&
                   pieces.body_length == body_length && pieces.body_received == body_received);
        if (result == ADMIN_DECODE_DONE)
            check_frame(&pieces, msg, offset);
    }

    /* The header encoder writes what the decoder reads. */
    uint8_t header[ADMIN_REQUEST_HEADER_SIZE + 1];
    header[ADMIN_REQUEST_HEADER_SIZE] = 0xA5;
    uint32_t length = n >= 4 ? (uint32_t)msg[n - 4] << 24 | (uint32_t)msg[n - 3] << 16 |
                                   (uint32_t)msg[n - 2] << 8 | msg[n - 1]
                             : 0;
    uint8_t command = n > 0 ? msg[0] : 0;
    FUZZ_CHECK(admin_request_header_encode(header, command, length) == ADMIN_REQUEST_HEADER_SIZE);
    FUZZ_CHECK(header[ADMIN_REQUEST_HEADER_SIZE] == 0xA5);
    struct admin_request_decoder *decoder = &whole;
    admin_request_decoder_init(decoder);
    consumed = SIZE_MAX;
    enum admin_decode_result header_result =
        admin_request_decoder_feed(decoder, header, ADMIN_REQUEST_HEADER_SIZE, &consumed);
    FUZZ_CHECK(consumed == ADMIN_REQUEST_HEADER_SIZE);
    if (length > ADMIN_REQUEST_BODY_MAX) {
        FUZZ_CHECK(header_result == ADMIN_DECODE_ERROR &&
                   decoder->error == ADMIN_DECODE_ERROR_BODY_TOO_LARGE);
    } else {
        FUZZ_CHECK(header_result == (length == 0 ? ADMIN_DECODE_DONE : ADMIN_DECODE_MORE));
        FUZZ_CHECK(decoder->command == command && decoder->body_length == length);
    }
    return 0;
}
