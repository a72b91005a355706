/* admin_protocol: the admin protocol v2 framing (PROTOCOL.md 3-6, 9) — status codes, limits,
 * and I/O-free encoders and incremental decoders for the login and request/response frames. */
#include "admin_protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin_text.h"

const char *admin_status_name(uint8_t status)
{
    switch (status) {
    case ADMIN_STATUS_OK: return "ok";
    case ADMIN_STATUS_SERVER_ERROR: return "server error";
    case ADMIN_STATUS_BAD_REQUEST: return "bad request";
    case ADMIN_STATUS_UNAUTHENTICATED: return "unauthenticated";
    case ADMIN_STATUS_FORBIDDEN: return "forbidden";
    case ADMIN_STATUS_NOT_FOUND: return "not found";
    case ADMIN_STATUS_ALREADY_EXISTS: return "already exists";
    case ADMIN_STATUS_UNSUPPORTED_VERSION: return "unsupported version";
    case ADMIN_STATUS_UNSUPPORTED_COMMAND: return "unsupported command";
    case ADMIN_STATUS_CONFLICT: return "conflict";
    case ADMIN_STATUS_INVALID_CONFIG: return "invalid configuration";
    case ADMIN_STATUS_UNAVAILABLE: return "unavailable";
    case ADMIN_STATUS_MANAGED_BY_PAM: return "managed by PAM";
    default: return "unknown status";
    }
}

const char *admin_role_name(uint8_t role)
{
    switch (role) {
    case ADMIN_ROLE_USER: return "user";
    case ADMIN_ROLE_ADMIN: return "admin";
    default: return "unknown";
    }
}

const char *admin_decode_error_text(enum admin_decode_error error)
{
    switch (error) {
    case ADMIN_DECODE_ERROR_NONE: return "no error";
    case ADMIN_DECODE_ERROR_VERSION: return "unsupported protocol version";
    case ADMIN_DECODE_ERROR_RESERVED: return "reserved byte is not zero";
    case ADMIN_DECODE_ERROR_EMPTY_FIELD: return "empty user name or password";
    case ADMIN_DECODE_ERROR_NUL_BYTE: return "user name or password holds a NUL byte";
    case ADMIN_DECODE_ERROR_BODY_TOO_LARGE: return "body length over the maximum";
    case ADMIN_DECODE_ERROR_BAD_ROLE: return "unknown role";
    }
    return "unknown error";
}

enum admin_status admin_decode_error_status(enum admin_decode_error error)
{
    return error == ADMIN_DECODE_ERROR_VERSION ? ADMIN_STATUS_UNSUPPORTED_VERSION
                                               : ADMIN_STATUS_BAD_REQUEST;
}

static uint32_t read_u32(const uint8_t bytes[4])
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
           bytes[3];
}

static void write_u32(uint8_t out[4], uint32_t value)
{
    out[0] = (uint8_t)(value >> 24);
    out[1] = (uint8_t)(value >> 16);
    out[2] = (uint8_t)(value >> 8);
    out[3] = (uint8_t)value;
}

/* ---- Login request ---- */

enum login_state {
    LOGIN_VERSION,
    LOGIN_RESERVED,
    LOGIN_USERNAME_LENGTH,
    LOGIN_USERNAME,
    LOGIN_PASSWORD_LENGTH,
    LOGIN_PASSWORD,
    LOGIN_DONE,
    LOGIN_ERROR,
};

void admin_login_decoder_init(struct admin_login_decoder *decoder)
{
    memset(decoder, 0, sizeof(*decoder));
    decoder->state = LOGIN_VERSION;
}

static enum admin_decode_result login_fail(struct admin_login_decoder *decoder,
                                           enum admin_decode_error error)
{
    decoder->state = LOGIN_ERROR;
    decoder->error = error;
    return ADMIN_DECODE_ERROR;
}

/* Takes the next byte of a length-prefixed string; false on a NUL byte. */
static bool login_take_string_byte(struct admin_login_decoder *decoder, char *field,
                                   uint8_t field_length, uint8_t byte)
{
    if (byte == 0)
        return false;
    field[field_length - decoder->field_left] = (char)byte;
    decoder->field_left--;
    return true;
}

enum admin_decode_result admin_login_decoder_feed(struct admin_login_decoder *decoder,
                                                  const uint8_t *data, size_t length,
                                                  size_t *consumed)
{
    size_t used = 0;
    enum admin_decode_result result = ADMIN_DECODE_MORE;
    if (decoder->state == LOGIN_DONE)
        result = ADMIN_DECODE_DONE;
    else if (decoder->state == LOGIN_ERROR)
        result = ADMIN_DECODE_ERROR;
    while (result == ADMIN_DECODE_MORE && used < length) {
        uint8_t byte = data[used++];
        switch (decoder->state) {
        case LOGIN_VERSION:
            if (byte != ADMIN_PROTOCOL_VERSION)
                result = login_fail(decoder, ADMIN_DECODE_ERROR_VERSION);
            else
                decoder->state = LOGIN_RESERVED;
            break;
        case LOGIN_RESERVED:
            if (byte != ADMIN_RESERVED)
                result = login_fail(decoder, ADMIN_DECODE_ERROR_RESERVED);
            else
                decoder->state = LOGIN_USERNAME_LENGTH;
            break;
        case LOGIN_USERNAME_LENGTH:
            if (byte == 0) {
                result = login_fail(decoder, ADMIN_DECODE_ERROR_EMPTY_FIELD);
                break;
            }
            decoder->username_length = decoder->field_left = byte;
            decoder->state = LOGIN_USERNAME;
            break;
        case LOGIN_USERNAME:
            if (!login_take_string_byte(decoder, decoder->username, decoder->username_length,
                                        byte))
                result = login_fail(decoder, ADMIN_DECODE_ERROR_NUL_BYTE);
            else if (decoder->field_left == 0)
                decoder->state = LOGIN_PASSWORD_LENGTH;
            break;
        case LOGIN_PASSWORD_LENGTH:
            if (byte == 0) {
                result = login_fail(decoder, ADMIN_DECODE_ERROR_EMPTY_FIELD);
                break;
            }
            decoder->password_length = decoder->field_left = byte;
            decoder->state = LOGIN_PASSWORD;
            break;
        case LOGIN_PASSWORD:
            if (!login_take_string_byte(decoder, decoder->password, decoder->password_length,
                                        byte)) {
                result = login_fail(decoder, ADMIN_DECODE_ERROR_NUL_BYTE);
            } else if (decoder->field_left == 0) {
                decoder->state = LOGIN_DONE;
                result = ADMIN_DECODE_DONE;
            }
            break;
        }
    }
    *consumed = used;
    return result;
}

void admin_login_decoder_wipe(struct admin_login_decoder *decoder)
{
    /* volatile keeps the compiler from dropping a store to memory it thinks is dead. */
    volatile char *password = decoder->password;
    for (size_t i = 0; i < sizeof(decoder->password); i++)
        password[i] = 0;
    decoder->password_length = 0;
}

size_t admin_login_request_encode(uint8_t out[ADMIN_LOGIN_REQUEST_MAX], const char *username,
                                  size_t username_length, const char *password,
                                  size_t password_length)
{
    if (username_length == 0 || username_length > ADMIN_STR8_MAX || password_length == 0 ||
        password_length > ADMIN_STR8_MAX)
        return 0;
    size_t at = 0;
    out[at++] = ADMIN_PROTOCOL_VERSION;
    out[at++] = ADMIN_RESERVED;
    out[at++] = (uint8_t)username_length;
    memcpy(out + at, username, username_length);
    at += username_length;
    out[at++] = (uint8_t)password_length;
    memcpy(out + at, password, password_length);
    return at + password_length;
}

/* ---- Login reply ---- */

void admin_login_reply_decoder_init(struct admin_login_reply_decoder *decoder)
{
    memset(decoder, 0, sizeof(*decoder));
}

enum admin_decode_result admin_login_reply_decoder_feed(struct admin_login_reply_decoder *decoder,
                                                        const uint8_t *data, size_t length,
                                                        size_t *consumed)
{
    size_t used = 0;
    if (decoder->error != ADMIN_DECODE_ERROR_NONE) {
        *consumed = 0;
        return ADMIN_DECODE_ERROR;
    }
    while (decoder->received < ADMIN_LOGIN_REPLY_SIZE && used < length) {
        uint8_t byte = data[used++];
        switch (decoder->received++) {
        case 0:
            if (byte != ADMIN_PROTOCOL_VERSION)
                decoder->error = ADMIN_DECODE_ERROR_VERSION;
            break;
        case 1:
            if (byte != ADMIN_RESERVED)
                decoder->error = ADMIN_DECODE_ERROR_RESERVED;
            break;
        case 2:
            decoder->reply.status = byte;
            break;
        default:
            if (byte != ADMIN_ROLE_USER && byte != ADMIN_ROLE_ADMIN)
                decoder->error = ADMIN_DECODE_ERROR_BAD_ROLE;
            decoder->reply.role = byte;
            break;
        }
        if (decoder->error != ADMIN_DECODE_ERROR_NONE)
            break;
    }
    *consumed = used;
    if (decoder->error != ADMIN_DECODE_ERROR_NONE)
        return ADMIN_DECODE_ERROR;
    return decoder->received == ADMIN_LOGIN_REPLY_SIZE ? ADMIN_DECODE_DONE : ADMIN_DECODE_MORE;
}

size_t admin_login_reply_encode(uint8_t out[ADMIN_LOGIN_REPLY_SIZE], uint8_t status, uint8_t role)
{
    out[0] = ADMIN_PROTOCOL_VERSION;
    out[1] = ADMIN_RESERVED;
    out[2] = status;
    out[3] = role;
    return ADMIN_LOGIN_REPLY_SIZE;
}

/* ---- Frames (request and response share their shape) ---- */

enum frame_state { FRAME_HEADER, FRAME_WANTS_BODY_BUFFER, FRAME_BODY, FRAME_DONE, FRAME_ERROR };

/* Checks VER and RSV as soon as they arrive, so garbage is refused after one byte. */
static enum admin_decode_error frame_check_header_byte(uint8_t index, uint8_t byte)
{
    if (index == 0 && byte != ADMIN_PROTOCOL_VERSION)
        return ADMIN_DECODE_ERROR_VERSION;
    if (index == 1 && byte != ADMIN_RESERVED)
        return ADMIN_DECODE_ERROR_RESERVED;
    return ADMIN_DECODE_ERROR_NONE;
}

/* Feeds header bytes; returns true once the header is complete, or on an error. */
static bool frame_take_header(uint8_t *header, uint8_t *received, uint8_t *state,
                              enum admin_decode_error *error, const uint8_t *data,
                              size_t length, size_t *used)
{
    while (*received < ADMIN_REQUEST_HEADER_SIZE && *used < length) {
        uint8_t byte = data[(*used)++];
        *error = frame_check_header_byte(*received, byte);
        if (*error != ADMIN_DECODE_ERROR_NONE) {
            *state = FRAME_ERROR;
            return true;
        }
        header[(*received)++] = byte;
    }
    return *received == ADMIN_REQUEST_HEADER_SIZE;
}

void admin_request_decoder_init(struct admin_request_decoder *decoder)
{
    decoder->state = FRAME_HEADER;
    decoder->header_received = 0;
    decoder->command = 0;
    decoder->body_length = 0;
    decoder->body_received = 0;
    decoder->error = ADMIN_DECODE_ERROR_NONE;
}

enum admin_decode_result admin_request_decoder_feed(struct admin_request_decoder *decoder,
                                                    const uint8_t *data, size_t length,
                                                    size_t *consumed)
{
    size_t used = 0;
    if (decoder->state == FRAME_HEADER &&
        frame_take_header(decoder->header, &decoder->header_received, &decoder->state,
                          &decoder->error, data, length, &used) &&
        decoder->state == FRAME_HEADER) {
        decoder->command = decoder->header[2];
        decoder->body_length = read_u32(decoder->header + 3);
        if (decoder->body_length > ADMIN_REQUEST_BODY_MAX) {
            decoder->state = FRAME_ERROR;
            decoder->error = ADMIN_DECODE_ERROR_BODY_TOO_LARGE;
        } else {
            decoder->state = FRAME_BODY;
        }
    }
    if (decoder->state == FRAME_BODY) {
        size_t take = decoder->body_length - decoder->body_received;
        if (take > length - used)
            take = length - used;
        memcpy(decoder->body + decoder->body_received, data + used, take);
        decoder->body_received += (uint32_t)take;
        used += take;
        if (decoder->body_received == decoder->body_length)
            decoder->state = FRAME_DONE;
    }
    *consumed = used;
    if (decoder->state == FRAME_DONE)
        return ADMIN_DECODE_DONE;
    return decoder->state == FRAME_ERROR ? ADMIN_DECODE_ERROR : ADMIN_DECODE_MORE;
}

size_t admin_request_header_encode(uint8_t out[ADMIN_REQUEST_HEADER_SIZE], uint8_t command,
                                   uint32_t body_length)
{
    out[0] = ADMIN_PROTOCOL_VERSION;
    out[1] = ADMIN_RESERVED;
    out[2] = command;
    write_u32(out + 3, body_length);
    return ADMIN_REQUEST_HEADER_SIZE;
}

void admin_response_decoder_init(struct admin_response_decoder *decoder)
{
    memset(decoder, 0, sizeof(*decoder));
    decoder->state = FRAME_HEADER;
}

enum admin_decode_result admin_response_decoder_feed(struct admin_response_decoder *decoder,
                                                     const uint8_t *data, size_t length,
                                                     size_t *consumed)
{
    size_t used = 0;
    *consumed = 0;
    if (decoder->state == FRAME_HEADER) {
        if (!frame_take_header(decoder->header, &decoder->header_received, &decoder->state,
                               &decoder->error, data, length, &used)) {
            *consumed = used;
            return ADMIN_DECODE_MORE;
        }
        if (decoder->state == FRAME_ERROR) {
            *consumed = used;
            return ADMIN_DECODE_ERROR;
        }
        decoder->status = decoder->header[2];
        decoder->body_length = read_u32(decoder->header + 3);
        *consumed = used;
        if (decoder->body_length > ADMIN_RESPONSE_BODY_MAX) {
            decoder->state = FRAME_ERROR;
            decoder->error = ADMIN_DECODE_ERROR_BODY_TOO_LARGE;
            return ADMIN_DECODE_ERROR;
        }
        if (decoder->body_length == 0) {
            decoder->state = FRAME_DONE;
            return ADMIN_DECODE_DONE;
        }
        /* Stop here: the caller sizes the body buffer before any body byte is taken. */
        decoder->state = FRAME_WANTS_BODY_BUFFER;
        return ADMIN_DECODE_HEADER;
    }
    if (decoder->state == FRAME_WANTS_BODY_BUFFER)
        decoder->state = FRAME_BODY; /* fed without set_body: the body is discarded */
    if (decoder->state == FRAME_BODY) {
        size_t take = decoder->body_length - decoder->body_received;
        if (take > length)
            take = length;
        if (decoder->body != NULL)
            memcpy(decoder->body + decoder->body_received, data, take);
        decoder->body_received += (uint32_t)take;
        *consumed = take;
        if (decoder->body_received == decoder->body_length)
            decoder->state = FRAME_DONE;
    }
    if (decoder->state == FRAME_DONE)
        return ADMIN_DECODE_DONE;
    return decoder->state == FRAME_ERROR ? ADMIN_DECODE_ERROR : ADMIN_DECODE_MORE;
}

void admin_response_decoder_set_body(struct admin_response_decoder *decoder, uint8_t *body)
{
    /* Only right after HEADER: a buffer given earlier could not have been sized. */
    if (decoder->state != FRAME_WANTS_BODY_BUFFER)
        return;
    decoder->body = body;
    decoder->state = FRAME_BODY;
}

size_t admin_response_header_encode(uint8_t out[ADMIN_RESPONSE_HEADER_SIZE], uint8_t status,
                                    uint32_t body_length)
{
    out[0] = ADMIN_PROTOCOL_VERSION;
    out[1] = ADMIN_RESERVED;
    out[2] = status;
    write_u32(out + 3, body_length);
    return ADMIN_RESPONSE_HEADER_SIZE;
}

size_t admin_error_response_encode(uint8_t out[ADMIN_ERROR_FRAME_MAX], uint8_t status,
                                   const char *message)
{
    char *line = (char *)out + ADMIN_RESPONSE_HEADER_SIZE;
    /* The escaped text is cut at a whole escape and NUL-terminated; the LF takes the NUL's
     * place. Escaped text never holds a NUL, so strlen finds the cut. */
    admin_text_escape(message, strlen(message), line, ADMIN_ERROR_BODY_MAX);
    size_t text_length = strlen(line);
    line[text_length] = '\n';
    admin_response_header_encode(out, status, (uint32_t)(text_length + 1));
    return ADMIN_RESPONSE_HEADER_SIZE + text_length + 1;
}

size_t admin_error_response_format(uint8_t out[ADMIN_ERROR_FRAME_MAX], uint8_t status,
                                   const char *format, ...)
{
    char message[ADMIN_ERROR_BODY_MAX];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof(message), format, arguments);
    va_end(arguments);
    return admin_error_response_encode(out, status, message);
}
