/* http_request: a pure, incremental decoder of an HTTP/1.x request head (request line and
 * header fields, RFC 9112) for the metrics endpoint — bounded, byte by byte, no I/O. */
#include "http_request.h"

#include <string.h>
#include <strings.h>

enum parser_state {
    STATE_LEADING,         /* empty lines before the request line (RFC 9112 2.2 allows them) */
    STATE_LEADING_LF,      /* a CR of such a line */
    STATE_METHOD,
    STATE_TARGET,
    STATE_VERSION,         /* "HTTP/d.d" */
    STATE_REQUEST_LINE_LF, /* the request line's CR */
    STATE_FIELD_START,     /* a field line, or the empty line that ends the head */
    STATE_FIELD_NAME,
    STATE_FIELD_VALUE,
    STATE_FIELD_LF,
    STATE_END_LF,          /* the empty line's CR */
    STATE_DONE,
    STATE_ERROR,
};

static const char VERSION_PREFIX[] = "HTTP/";
#define VERSION_PREFIX_LENGTH (sizeof(VERSION_PREFIX) - 1)
#define VERSION_LENGTH (VERSION_PREFIX_LENGTH + 3) /* "HTTP/" DIGIT "." DIGIT */

void http_request_parser_init(struct http_request_parser *parser)
{
    memset(parser, 0, sizeof(*parser));
    parser->state = STATE_LEADING;
}

/* RFC 9110 5.6.2: tchar. */
static bool is_token_char(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9110 5.5: field-vchar, SP and HTAB; obs-text taken as opaque. */
static bool is_field_value_char(uint8_t c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7F);
}

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static enum http_parse_result fail(struct http_request_parser *parser,
                                   enum http_request_error error)
{
    parser->state = STATE_ERROR;
    parser->error = error;
    return HTTP_PARSE_ERROR;
}

static void finish_method(struct http_request_parser *parser)
{
    parser->method_text[parser->method_length] = '\0';
    if (strcmp(parser->method_text, "GET") == 0)
        parser->method = HTTP_METHOD_GET;
    else if (strcmp(parser->method_text, "HEAD") == 0)
        parser->method = HTTP_METHOD_HEAD;
    else
        parser->method = HTTP_METHOD_OTHER; /* method names are case-sensitive (RFC 9110 9.1) */
}

static bool version_char_fits(struct http_request_parser *parser, uint8_t c)
{
    size_t at = parser->version_length;
    if (at < VERSION_PREFIX_LENGTH)
        return c == (uint8_t)VERSION_PREFIX[at];
    if (at == VERSION_PREFIX_LENGTH) {
        parser->version_major = c - '0';
        return is_digit(c);
    }
    if (at == VERSION_PREFIX_LENGTH + 1)
        return c == '.';
    if (at == VERSION_PREFIX_LENGTH + 2) {
        parser->version_minor = c - '0';
        return is_digit(c);
    }
    return false;
}

static void note_field_name_char(struct http_request_parser *parser, uint8_t c)
{
    if (parser->field_name_length < sizeof(parser->field_name) - 1)
        parser->field_name[parser->field_name_length] = (char)c;
    parser->field_name_length++;
}

static void finish_field_name(struct http_request_parser *parser)
{
    if (parser->field_name_length == 4) {
        parser->field_name[4] = '\0';
        if (strcasecmp(parser->field_name, "host") == 0)
            parser->has_host = true;
    }
}

/* The end of the request line (its CR or LF). */
static enum http_parse_result end_request_line(struct http_request_parser *parser)
{
    if (parser->version_length != VERSION_LENGTH)
        return fail(parser, HTTP_ERROR_MALFORMED);
    if (parser->version_major != 1)
        return fail(parser, HTTP_ERROR_VERSION);
    return HTTP_PARSE_MORE;
}

static enum http_parse_result end_head(struct http_request_parser *parser)
{
    if (parser->version_minor >= 1 && !parser->has_host)
        return fail(parser, HTTP_ERROR_NO_HOST);
    parser->state = STATE_DONE;
    return HTTP_PARSE_DONE;
}

/* One byte of the head; MORE while it goes on. */
static enum http_parse_result take(struct http_request_parser *parser, uint8_t c)
{
    switch ((enum parser_state)parser->state) {
    case STATE_LEADING:
        if (c == '\r') {
            parser->state = STATE_LEADING_LF;
            return HTTP_PARSE_MORE;
        }
        if (c == '\n')
            return HTTP_PARSE_MORE;
        parser->state = STATE_METHOD;
        return take(parser, c);
    case STATE_LEADING_LF:
        if (c != '\n')
            return fail(parser, HTTP_ERROR_MALFORMED);
        parser->state = STATE_LEADING;
        return HTTP_PARSE_MORE;
    case STATE_METHOD:
        if (c == ' ' && parser->method_length > 0) {
            finish_method(parser);
            parser->state = STATE_TARGET;
            return HTTP_PARSE_MORE;
        }
        if (!is_token_char(c))
            return fail(parser, HTTP_ERROR_MALFORMED);
        /* A longer method is kept cut: its first characters are still not GET or HEAD. */
        if (parser->method_length < HTTP_REQUEST_METHOD_MAX)
            parser->method_text[parser->method_length++] = (char)c;
        return HTTP_PARSE_MORE;
    case STATE_TARGET:
        if (c == ' ' && parser->target_length > 0) {
            parser->state = STATE_VERSION;
            return HTTP_PARSE_MORE;
        }
        if (c < 0x21 || c > 0x7E)
            return fail(parser, HTTP_ERROR_MALFORMED);
        if (parser->target_length < HTTP_REQUEST_TARGET_MAX)
            parser->target[parser->target_length] = (char)c;
        else
            parser->target_truncated = true;
        parser->target_length++;
        return HTTP_PARSE_MORE;
    case STATE_VERSION:
        if (c == '\r' || c == '\n') {
            parser->state = c == '\r' ? STATE_REQUEST_LINE_LF : STATE_FIELD_START;
            return end_request_line(parser);
        }
        if (!version_char_fits(parser, c))
            return fail(parser, HTTP_ERROR_MALFORMED);
        parser->version_length++;
        return HTTP_PARSE_MORE;
    case STATE_REQUEST_LINE_LF:
    case STATE_FIELD_LF:
        if (c != '\n')
            return fail(parser, HTTP_ERROR_MALFORMED);
        parser->state = STATE_FIELD_START;
        return HTTP_PARSE_MORE;
    case STATE_FIELD_START:
        if (c == '\r') {
            parser->state = STATE_END_LF;
            return HTTP_PARSE_MORE;
        }
        if (c == '\n')
            return end_head(parser);
        /* A line that starts with white space is obs-fold, which a server may refuse (RFC
         * 9112 5.2); so is anything that cannot start a field name. */
        if (!is_token_char(c))
            return fail(parser, HTTP_ERROR_MALFORMED);
        parser->field_name_length = 0;
        note_field_name_char(parser, c);
        parser->state = STATE_FIELD_NAME;
        return HTTP_PARSE_MORE;
    case STATE_FIELD_NAME:
        if (c == ':') {
            finish_field_name(parser);
            parser->state = STATE_FIELD_VALUE;
            return HTTP_PARSE_MORE;
        }
        /* White space before the colon included (RFC 9112 5.1: a server must refuse it). */
        if (!is_token_char(c))
            return fail(parser, HTTP_ERROR_MALFORMED);
        note_field_name_char(parser, c);
        return HTTP_PARSE_MORE;
    case STATE_FIELD_VALUE:
        if (c == '\r' || c == '\n') {
            parser->state = c == '\r' ? STATE_FIELD_LF : STATE_FIELD_START;
            return HTTP_PARSE_MORE;
        }
        if (!is_field_value_char(c))
            return fail(parser, HTTP_ERROR_MALFORMED);
        return HTTP_PARSE_MORE;
    case STATE_END_LF:
        if (c != '\n')
            return fail(parser, HTTP_ERROR_MALFORMED);
        return end_head(parser);
    case STATE_DONE:
        return HTTP_PARSE_DONE;
    case STATE_ERROR:
        return HTTP_PARSE_ERROR;
    }
    return fail(parser, HTTP_ERROR_MALFORMED);
}

enum http_parse_result http_request_parser_feed(struct http_request_parser *parser,
                                                const uint8_t *data, size_t length,
                                                size_t *consumed)
{
    *consumed = 0;
    if (parser->state == STATE_DONE)
        return HTTP_PARSE_DONE;
    if (parser->state == STATE_ERROR)
        return HTTP_PARSE_ERROR;
    for (size_t i = 0; i < length; i++) {
        if (parser->head_length == HTTP_REQUEST_HEAD_MAX) {
            *consumed = i;
            return fail(parser, HTTP_ERROR_TOO_LARGE);
        }
        parser->head_length++;
        enum http_parse_result result = take(parser, data[i]);
        if (result != HTTP_PARSE_MORE) {
            *consumed = i + 1;
            return result;
        }
    }
    *consumed = length;
    return HTTP_PARSE_MORE;
}

bool http_request_path_is(const struct http_request_parser *parser, const char *path)
{
    if (parser->target_truncated)
        return false;
    const char *start = parser->target;
    /* Absolute form (RFC 9112 3.2.2), which a server must accept: skip scheme and authority. */
    const char *scheme_end = strstr(start, "://");
    if (start[0] != '/' && scheme_end != NULL) {
        start = strchr(scheme_end + 3, '/');
        if (start == NULL)
            start = "/";
    }
    size_t length = strcspn(start, "?#");
    return length == strlen(path) && memcmp(start, path, length) == 0;
}
