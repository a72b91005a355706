/* http_request: a pure, incremental decoder of an HTTP/1.x request head (request line and
 * header fields, RFC 9112) for the metrics endpoint — bounded, byte by byte, no I/O. */
#ifndef HTTP_REQUEST_H
#define HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The whole head, request line and fields: past this the request is refused (431). */
#define HTTP_REQUEST_HEAD_MAX 8192
/* Longer targets are noted as truncated: no path this server serves is that long. */
#define HTTP_REQUEST_TARGET_MAX 255
#define HTTP_REQUEST_METHOD_MAX 16

enum http_parse_result {
    HTTP_PARSE_MORE,  /* every byte given was consumed; the head is not complete yet */
    HTTP_PARSE_DONE,  /* the head ended with its empty line; bytes after it were not consumed */
    HTTP_PARSE_ERROR, /* see the parser's error; final */
};

enum http_request_error {
    HTTP_ERROR_NONE,
    HTTP_ERROR_MALFORMED,   /* not RFC 9112's syntax: 400 */
    HTTP_ERROR_NO_HOST,     /* HTTP/1.1 without a Host field (RFC 9112 3.2): 400 */
    HTTP_ERROR_TOO_LARGE,   /* the head passed HTTP_REQUEST_HEAD_MAX: 431 */
    HTTP_ERROR_VERSION,     /* well formed, but not HTTP/1.x: 505 */
};

enum http_method { HTTP_METHOD_OTHER, HTTP_METHOD_GET, HTTP_METHOD_HEAD };

struct http_request_parser {
    /* What the head said, complete once DONE. */
    enum http_method method;
    char target[HTTP_REQUEST_TARGET_MAX + 1]; /* NUL-terminated */
    bool target_truncated;
    unsigned version_minor; /* HTTP/1.<minor> */
    bool has_host;
    enum http_request_error error;
    /* Decoding state. */
    uint8_t state;
    size_t head_length;
    char method_text[HTTP_REQUEST_METHOD_MAX + 1];
    size_t method_length;
    size_t target_length;
    size_t version_length; /* characters of "HTTP/d.d" seen */
    unsigned version_major;
    char field_name[8]; /* enough to recognize "host" */
    size_t field_name_length;
};

void http_request_parser_init(struct http_request_parser *parser);
/* Consumes bytes of the head up to its end; *consumed says how many. MORE consumed them all. */
enum http_parse_result http_request_parser_feed(struct http_request_parser *parser,
                                                const uint8_t *data, size_t length,
                                                size_t *consumed);
/* Whether the target's path (origin form "/p?q", or absolute form "http://host/p?q") is path
 * exactly; false for a truncated target. */
bool http_request_path_is(const struct http_request_parser *parser, const char *path);

#endif
