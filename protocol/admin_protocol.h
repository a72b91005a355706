/* admin_protocol: the admin protocol v2 framing (PROTOCOL.md 3-6, 9) — status codes, limits,
 * and I/O-free encoders and incremental decoders for the login and request/response frames. */
#ifndef ADMIN_PROTOCOL_H
#define ADMIN_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADMIN_PROTOCOL_VERSION 0x02
#define ADMIN_RESERVED 0x00

/* ---- Limits and timeouts (PROTOCOL.md sections 4 and 9) ---- */

#define ADMIN_STR8_MAX 255
#define ADMIN_LOGIN_REQUEST_MAX (3 + ADMIN_STR8_MAX + 1 + ADMIN_STR8_MAX)
#define ADMIN_LOGIN_REPLY_SIZE 4
#define ADMIN_REQUEST_HEADER_SIZE 7  /* VER RSV CMD BODYLEN(4) */
#define ADMIN_RESPONSE_HEADER_SIZE 7 /* VER RSV STATUS BODYLEN(4) */
#define ADMIN_REQUEST_BODY_MAX 4096u
#define ADMIN_REQUEST_FRAME_MAX (ADMIN_REQUEST_HEADER_SIZE + ADMIN_REQUEST_BODY_MAX)
#define ADMIN_RESPONSE_BODY_MAX (16u * 1024 * 1024)
/* An error body is one line: at most this many bytes including its final LF. */
#define ADMIN_ERROR_BODY_MAX 512u
#define ADMIN_ERROR_FRAME_MAX (ADMIN_RESPONSE_HEADER_SIZE + ADMIN_ERROR_BODY_MAX)

#define ADMIN_AUTH_TIMEOUT_SECONDS 10
#define ADMIN_IDLE_TIMEOUT_SECONDS 600
#define ADMIN_MAX_SESSIONS_DEFAULT 64
/* Failed logins from one source address: from the 4th, the failure answer waits FIRST ms,
 * doubling with each further failure up to MAX; the count is forgotten after WINDOW seconds without one. */
#define ADMIN_LOGIN_DELAY_FIRST_MS 250
#define ADMIN_LOGIN_DELAY_MAX_MS 8000
#define ADMIN_LOGIN_FAILURE_WINDOW_SECONDS 900

/* ---- Status codes (PROTOCOL.md section 6) ---- */

enum admin_status {
    ADMIN_STATUS_OK = 0x00,
    ADMIN_STATUS_SERVER_ERROR = 0x01,
    ADMIN_STATUS_BAD_REQUEST = 0x02,
    ADMIN_STATUS_UNAUTHENTICATED = 0x03,
    ADMIN_STATUS_FORBIDDEN = 0x04,
    ADMIN_STATUS_NOT_FOUND = 0x05,
    ADMIN_STATUS_ALREADY_EXISTS = 0x06,
    ADMIN_STATUS_UNSUPPORTED_VERSION = 0x07,
    ADMIN_STATUS_UNSUPPORTED_COMMAND = 0x08,
    ADMIN_STATUS_CONFLICT = 0x09,
    ADMIN_STATUS_INVALID_CONFIG = 0x0A, /* a reload refused the files; nothing changed */
    ADMIN_STATUS_UNAVAILABLE = 0x0B,    /* the accounting database is off or failing */
    ADMIN_STATUS_MANAGED_BY_PAM = 0x0C, /* the user comes from PAM: change it in the directory */
};

/* "ok", "server error", ... ; "unknown status" for a code this library does not know. */
const char *admin_status_name(uint8_t status);

enum admin_role { ADMIN_ROLE_USER = 0x00, ADMIN_ROLE_ADMIN = 0x01 };

/* "user", "admin"; "unknown" for anything else. */
const char *admin_role_name(uint8_t role);

/* ---- Decoders: common results ---- */

enum admin_decode_result {
    ADMIN_DECODE_MORE,   /* every byte given was consumed; the message is not complete yet */
    ADMIN_DECODE_HEADER, /* response decoder only: header complete, body buffer wanted */
    ADMIN_DECODE_DONE,   /* the message is complete; bytes after it were not consumed */
    ADMIN_DECODE_ERROR,  /* malformed; see the decoder's error field; nothing more is consumed */
};

enum admin_decode_error {
    ADMIN_DECODE_ERROR_NONE = 0,
    ADMIN_DECODE_ERROR_VERSION,        /* VER is not 0x02 */
    ADMIN_DECODE_ERROR_RESERVED,       /* RSV is not 0x00 */
    ADMIN_DECODE_ERROR_EMPTY_FIELD,    /* login ULEN or PLEN is 0 */
    ADMIN_DECODE_ERROR_NUL_BYTE,       /* login user name or password holds a NUL byte */
    ADMIN_DECODE_ERROR_BODY_TOO_LARGE, /* BODYLEN over the request or response maximum */
    ADMIN_DECODE_ERROR_BAD_ROLE,       /* login reply ROLE is neither 0x00 nor 0x01 */
};

/* One line naming the problem, for logs and error bodies. */
const char *admin_decode_error_text(enum admin_decode_error error);
/* The status the server answers a malformed login or request with (then it closes):
 * UNSUPPORTED_VERSION for a bad VER, BAD_REQUEST for everything else. */
enum admin_status admin_decode_error_status(enum admin_decode_error error);

/* ---- Login request: VER RSV ULEN USERNAME PLEN PASSWORD ---- */

struct admin_login_decoder {
    uint8_t state;
    uint8_t field_left;
    uint8_t username_length;
    uint8_t password_length;
    char username[ADMIN_STR8_MAX + 1]; /* NUL-terminated; never holds an inner NUL */
    char password[ADMIN_STR8_MAX + 1];
    enum admin_decode_error error;
};

void admin_login_decoder_init(struct admin_login_decoder *decoder);
/* Consumes bytes up to the end of the login request; *consumed says how many it took. */
enum admin_decode_result admin_login_decoder_feed(struct admin_login_decoder *decoder,
                                                  const uint8_t *data, size_t length,
                                                  size_t *consumed);
/* Wipes the password; call as soon as the credentials were checked. */
void admin_login_decoder_wipe(struct admin_login_decoder *decoder);

/* Returns the bytes written, or 0 when a length is 0 or over 255. */
size_t admin_login_request_encode(uint8_t out[ADMIN_LOGIN_REQUEST_MAX], const char *username,
                                  size_t username_length, const char *password,
                                  size_t password_length);

/* ---- Login reply: VER RSV STATUS ROLE ---- */

struct admin_login_reply {
    uint8_t status;
    uint8_t role;
};

struct admin_login_reply_decoder {
    uint8_t received;
    struct admin_login_reply reply; /* valid after DONE */
    enum admin_decode_error error;
};

void admin_login_reply_decoder_init(struct admin_login_reply_decoder *decoder);
enum admin_decode_result admin_login_reply_decoder_feed(struct admin_login_reply_decoder *decoder,
                                                        const uint8_t *data, size_t length,
                                                        size_t *consumed);
/* Always writes 4 bytes; role should be 0x00 whenever status is not OK. */
size_t admin_login_reply_encode(uint8_t out[ADMIN_LOGIN_REPLY_SIZE], uint8_t status, uint8_t role);

/* ---- Request frame: VER RSV CMD BODYLEN BODY ---- */

/* Decodes the frame only; admin_request_parse (admin_commands.h) reads the arguments.
 * The body is kept inside the decoder, so a session needs no other buffer. */
struct admin_request_decoder {
    uint8_t state;
    uint8_t header_received;
    uint8_t header[ADMIN_REQUEST_HEADER_SIZE];
    uint8_t command;        /* valid from the end of the header */
    uint32_t body_length;   /* valid from the end of the header */
    uint32_t body_received;
    uint8_t body[ADMIN_REQUEST_BODY_MAX];
    enum admin_decode_error error;
};

void admin_request_decoder_init(struct admin_request_decoder *decoder);
/* Errors: VERSION, RESERVED, BODY_TOO_LARGE (BODYLEN > 4096, reported before the body). */
enum admin_decode_result admin_request_decoder_feed(struct admin_request_decoder *decoder,
                                                    const uint8_t *data, size_t length,
                                                    size_t *consumed);

/* Writes VER RSV CMD BODYLEN; returns 7. */
size_t admin_request_header_encode(uint8_t out[ADMIN_REQUEST_HEADER_SIZE], uint8_t command,
                                   uint32_t body_length);

/* ---- Response frame: VER RSV STATUS BODYLEN BODY ---- */

/* Hands the body to a buffer the caller sizes once the length is known, so a 5 MiB
 * connection table costs one exact allocation and one copy:
 *   ADMIN_DECODE_HEADER: status and body_length are set (body_length > 0); call
 *   admin_response_decoder_set_body with room for body_length bytes (or NULL to skip the
 *   body), then keep feeding; feeding on without set_body skips the body as well.
 *   A response without a body goes straight to DONE. No allocation, no I/O. */
struct admin_response_decoder {
    uint8_t state;
    uint8_t header_received;
    uint8_t header[ADMIN_RESPONSE_HEADER_SIZE];
    uint8_t status;       /* valid from HEADER (or DONE) */
    uint32_t body_length; /* valid from HEADER (or DONE) */
    uint32_t body_received;
    uint8_t *body;        /* the caller's; NULL discards */
    enum admin_decode_error error;
};

void admin_response_decoder_init(struct admin_response_decoder *decoder);
/* Errors: VERSION, RESERVED, BODY_TOO_LARGE (BODYLEN > 16 MiB). */
enum admin_decode_result admin_response_decoder_feed(struct admin_response_decoder *decoder,
                                                     const uint8_t *data, size_t length,
                                                     size_t *consumed);
/* Only right after ADMIN_DECODE_HEADER; ignored at any other time. */
void admin_response_decoder_set_body(struct admin_response_decoder *decoder, uint8_t *body);

/* Writes VER RSV STATUS BODYLEN; returns 7. */
size_t admin_response_header_encode(uint8_t out[ADMIN_RESPONSE_HEADER_SIZE], uint8_t status,
                                    uint32_t body_length);
/* Writes a whole error response: header + the message as one escaped line ending in LF,
 * cut to fit ADMIN_ERROR_BODY_MAX. Returns the frame length. */
size_t admin_error_response_encode(uint8_t out[ADMIN_ERROR_FRAME_MAX], uint8_t status,
                                   const char *message);
/* Same, with a printf-style message. */
size_t admin_error_response_format(uint8_t out[ADMIN_ERROR_FRAME_MAX], uint8_t status,
                                   const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
