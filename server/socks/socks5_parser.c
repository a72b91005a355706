/* socks5_parser: incremental, I/O-free decoders for what a SOCKS5 client sends (RFC 1928
 * greeting and request, RFC 1929 username/password) and encoders for the server's replies. */
#include "socks5_parser.h"

#include <netinet/in.h>
#include <string.h>

/* ---- Greeting ---- */

enum greeting_state { GREETING_VERSION, GREETING_NMETHODS, GREETING_METHODS, GREETING_DONE,
                      GREETING_FAILED };

void socks5_greeting_parser_init(struct socks5_greeting_parser *parser)
{
    memset(parser, 0, sizeof(*parser));
    parser->state = GREETING_VERSION;
}

static enum socks5_parse_result greeting_result(const struct socks5_greeting_parser *parser)
{
    if (parser->state == GREETING_DONE)
        return SOCKS5_PARSE_DONE;
    if (parser->state == GREETING_FAILED)
        return SOCKS5_PARSE_ERROR;
    return SOCKS5_PARSE_MORE;
}

static void greeting_take_byte(struct socks5_greeting_parser *parser, uint8_t byte)
{
    switch (parser->state) {
    case GREETING_VERSION:
        if (byte != SOCKS5_VERSION) {
            parser->error = SOCKS5_ERROR_BAD_VERSION;
            parser->state = GREETING_FAILED;
            return;
        }
        parser->state = GREETING_NMETHODS;
        return;
    case GREETING_NMETHODS:
        parser->methods_left = byte;
        parser->state = byte == 0 ? GREETING_DONE : GREETING_METHODS;
        return;
    case GREETING_METHODS:
        if (byte == SOCKS5_METHOD_NO_AUTH)
            parser->offers_no_auth = true;
        else if (byte == SOCKS5_METHOD_USERPASS)
            parser->offers_userpass = true;
        if (--parser->methods_left == 0)
            parser->state = GREETING_DONE;
        return;
    }
}

enum socks5_parse_result socks5_greeting_parser_feed(struct socks5_greeting_parser *parser,
                                                     const uint8_t *data, size_t length,
                                                     size_t *consumed)
{
    size_t used = 0;
    while (used < length && greeting_result(parser) == SOCKS5_PARSE_MORE)
        greeting_take_byte(parser, data[used++]);
    *consumed = used;
    return greeting_result(parser);
}

/* ---- RFC 1929 ---- */

enum auth_state { AUTH_VERSION, AUTH_ULEN, AUTH_UNAME, AUTH_PLEN, AUTH_PASSWD, AUTH_DONE,
                  AUTH_FAILED };

void socks5_auth_parser_init(struct socks5_auth_parser *parser)
{
    memset(parser, 0, sizeof(*parser));
    parser->state = AUTH_VERSION;
}

void socks5_auth_parser_wipe(struct socks5_auth_parser *parser)
{
    /* explicit_bzero: a plain memset of memory about to die may be optimised away. */
    explicit_bzero(parser->password, sizeof(parser->password));
    parser->password_length = 0;
}

static enum socks5_parse_result auth_result(const struct socks5_auth_parser *parser)
{
    if (parser->state == AUTH_DONE)
        return SOCKS5_PARSE_DONE;
    if (parser->state == AUTH_FAILED)
        return SOCKS5_PARSE_ERROR;
    return SOCKS5_PARSE_MORE;
}

/* Copies as much of a length-prefixed field as data holds; returns the bytes taken. */
static size_t copy_field_bytes(char *field, uint8_t field_length, uint8_t *field_left,
                               const uint8_t *data, size_t length)
{
    size_t take = *field_left < length ? *field_left : length;
    memcpy(field + (field_length - *field_left), data, take);
    *field_left = (uint8_t)(*field_left - take);
    return take;
}

static size_t auth_take(struct socks5_auth_parser *parser, const uint8_t *data, size_t length)
{
    size_t taken;
    switch (parser->state) {
    case AUTH_VERSION:
        if (data[0] != SOCKS5_AUTH_VERSION) {
            parser->error = SOCKS5_ERROR_BAD_VERSION;
            parser->state = AUTH_FAILED;
        } else {
            parser->state = AUTH_ULEN;
        }
        return 1;
    case AUTH_ULEN:
        parser->username_length = parser->field_left = data[0];
        parser->state = data[0] == 0 ? AUTH_PLEN : AUTH_UNAME;
        return 1;
    case AUTH_UNAME:
        taken = copy_field_bytes(parser->username, parser->username_length, &parser->field_left,
                                 data, length);
        if (parser->field_left == 0)
            parser->state = AUTH_PLEN;
        return taken;
    case AUTH_PLEN:
        parser->password_length = parser->field_left = data[0];
        parser->state = data[0] == 0 ? AUTH_DONE : AUTH_PASSWD;
        return 1;
    case AUTH_PASSWD:
        taken = copy_field_bytes(parser->password, parser->password_length, &parser->field_left,
                                 data, length);
        if (parser->field_left == 0)
            parser->state = AUTH_DONE;
        return taken;
    }
    return 0;
}

enum socks5_parse_result socks5_auth_parser_feed(struct socks5_auth_parser *parser,
                                                 const uint8_t *data, size_t length,
                                                 size_t *consumed)
{
    size_t used = 0;
    while (used < length && auth_result(parser) == SOCKS5_PARSE_MORE)
        used += auth_take(parser, data + used, length - used);
    *consumed = used;
    return auth_result(parser);
}

/* ---- Request ---- */

enum request_state { REQUEST_VERSION, REQUEST_COMMAND, REQUEST_RESERVED, REQUEST_ATYP,
                     REQUEST_ADDRESS, REQUEST_DOMAIN_LENGTH, REQUEST_PORT, REQUEST_DONE,
                     REQUEST_FAILED };

void socks5_request_parser_init(struct socks5_request_parser *parser)
{
    memset(parser, 0, sizeof(*parser));
    parser->state = REQUEST_VERSION;
}

static enum socks5_parse_result request_result(const struct socks5_request_parser *parser)
{
    if (parser->state == REQUEST_DONE)
        return SOCKS5_PARSE_DONE;
    if (parser->state == REQUEST_FAILED)
        return SOCKS5_PARSE_ERROR;
    return SOCKS5_PARSE_MORE;
}

static void request_fail(struct socks5_request_parser *parser, enum socks5_parse_error error)
{
    parser->error = error;
    parser->state = REQUEST_FAILED;
}

static void request_on_address_type(struct socks5_request_parser *parser, uint8_t atyp)
{
    parser->request.address_type = atyp;
    switch (atyp) {
    case SOCKS5_ATYP_IPV4:
        parser->field_left = 4;
        parser->state = REQUEST_ADDRESS;
        return;
    case SOCKS5_ATYP_IPV6:
        parser->field_left = 16;
        parser->state = REQUEST_ADDRESS;
        return;
    case SOCKS5_ATYP_DOMAIN:
        parser->state = REQUEST_DOMAIN_LENGTH;
        return;
    default:
        request_fail(parser, SOCKS5_ERROR_BAD_ADDRESS_TYPE);
    }
}

static char *request_address_field(struct socks5_request_parser *parser, uint8_t *field_length)
{
    struct socks5_request *request = &parser->request;
    switch (request->address_type) {
    case SOCKS5_ATYP_IPV4:
        *field_length = 4;
        return (char *)request->ipv4;
    case SOCKS5_ATYP_IPV6:
        *field_length = 16;
        return (char *)request->ipv6;
    default:
        *field_length = request->domain_length;
        return request->domain;
    }
}

static size_t request_take(struct socks5_request_parser *parser, const uint8_t *data,
                           size_t length)
{
    struct socks5_request *request = &parser->request;
    uint8_t field_length;
    char *field;
    size_t taken;

    switch (parser->state) {
    case REQUEST_VERSION:
        if (data[0] != SOCKS5_VERSION)
            request_fail(parser, SOCKS5_ERROR_BAD_VERSION);
        else
            parser->state = REQUEST_COMMAND;
        return 1;
    case REQUEST_COMMAND:
        request->command = data[0];
        parser->state = REQUEST_RESERVED;
        return 1;
    case REQUEST_RESERVED:
        /* RFC 1928 obliges the client to send 0x00 here but gives the server no rule for
         * other values; like most servers we ignore the byte rather than fail a request. */
        parser->state = REQUEST_ATYP;
        return 1;
    case REQUEST_ATYP:
        request_on_address_type(parser, data[0]);
        return 1;
    case REQUEST_DOMAIN_LENGTH:
        request->domain_length = parser->field_left = data[0];
        parser->state = data[0] == 0 ? REQUEST_PORT : REQUEST_ADDRESS;
        if (data[0] == 0)
            parser->field_left = 2;
        return 1;
    case REQUEST_ADDRESS:
        field = request_address_field(parser, &field_length);
        taken = copy_field_bytes(field, field_length, &parser->field_left, data, length);
        if (parser->field_left == 0) {
            parser->state = REQUEST_PORT;
            parser->field_left = 2;
        }
        return taken;
    case REQUEST_PORT:
        request->port = (uint16_t)((request->port << 8) | data[0]);
        if (--parser->field_left == 0)
            parser->state = REQUEST_DONE;
        return 1;
    }
    return 0;
}

enum socks5_parse_result socks5_request_parser_feed(struct socks5_request_parser *parser,
                                                    const uint8_t *data, size_t length,
                                                    size_t *consumed)
{
    size_t used = 0;
    while (used < length && request_result(parser) == SOCKS5_PARSE_MORE)
        used += request_take(parser, data + used, length - used);
    *consumed = used;
    return request_result(parser);
}

bool socks5_request_domain_usable(const struct socks5_request *request)
{
    return request->address_type != SOCKS5_ATYP_DOMAIN ||
           (request->domain_length > 0 &&
            memchr(request->domain, '\0', request->domain_length) == NULL);
}

/* ---- Encoders ---- */

size_t socks5_method_reply_encode(uint8_t out[2], uint8_t method)
{
    out[0] = SOCKS5_VERSION;
    out[1] = method;
    return 2;
}

size_t socks5_auth_reply_encode(uint8_t out[2], uint8_t status)
{
    out[0] = SOCKS5_AUTH_VERSION;
    out[1] = status;
    return 2;
}

size_t socks5_reply_encode(uint8_t out[SOCKS5_REPLY_MAX_LENGTH], uint8_t reply_code,
                           const struct sockaddr *bound)
{
    out[0] = SOCKS5_VERSION;
    out[1] = reply_code;
    out[2] = 0x00;
    if (bound != NULL && bound->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)bound;
        out[3] = SOCKS5_ATYP_IPV6;
        memcpy(out + 4, &in6->sin6_addr, 16);
        memcpy(out + 20, &in6->sin6_port, 2);
        return 22;
    }
    out[3] = SOCKS5_ATYP_IPV4;
    if (bound != NULL && bound->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)bound;
        memcpy(out + 4, &in4->sin_addr, 4);
        memcpy(out + 8, &in4->sin_port, 2);
    } else {
        memset(out + 4, 0, 6);
    }
    return 10;
}
