/* socks5_parser: incremental, I/O-free decoders for what a SOCKS5 client sends (RFC 1928
 * greeting and request, RFC 1929 username/password) and encoders for the server's replies. */
#ifndef SOCKS5_PARSER_H
#define SOCKS5_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SOCKS5_VERSION 0x05
#define SOCKS5_AUTH_VERSION 0x01

/* RFC 1928 section 3: authentication methods. */
#define SOCKS5_METHOD_NO_AUTH 0x00
#define SOCKS5_METHOD_USERPASS 0x02
#define SOCKS5_METHOD_NO_ACCEPTABLE 0xFF

/* RFC 1928 section 4: commands. */
#define SOCKS5_CMD_CONNECT 0x01
#define SOCKS5_CMD_BIND 0x02
#define SOCKS5_CMD_UDP_ASSOCIATE 0x03

/* RFC 1928 section 4: address types. */
#define SOCKS5_ATYP_IPV4 0x01
#define SOCKS5_ATYP_DOMAIN 0x03
#define SOCKS5_ATYP_IPV6 0x04

/* RFC 1928 section 6: reply codes. */
enum socks5_reply_code {
    SOCKS5_REPLY_SUCCEEDED = 0x00,
    SOCKS5_REPLY_GENERAL_FAILURE = 0x01,
    SOCKS5_REPLY_NOT_ALLOWED = 0x02,
    SOCKS5_REPLY_NETWORK_UNREACHABLE = 0x03,
    SOCKS5_REPLY_HOST_UNREACHABLE = 0x04,
    SOCKS5_REPLY_CONNECTION_REFUSED = 0x05,
    SOCKS5_REPLY_TTL_EXPIRED = 0x06,
    SOCKS5_REPLY_COMMAND_NOT_SUPPORTED = 0x07,
    SOCKS5_REPLY_ADDRESS_TYPE_NOT_SUPPORTED = 0x08,
};

/* RFC 1929 section 2: any status other than 0x00 is a failure and the server closes. */
#define SOCKS5_AUTH_STATUS_SUCCESS 0x00
#define SOCKS5_AUTH_STATUS_FAILURE 0x01

enum socks5_parse_result {
    SOCKS5_PARSE_MORE,  /* every byte given was consumed; the message is not complete yet */
    SOCKS5_PARSE_DONE,  /* the message is complete; bytes after it were not consumed */
    SOCKS5_PARSE_ERROR, /* malformed; see the parser's error field */
};

enum socks5_parse_error {
    SOCKS5_ERROR_NONE = 0,
    SOCKS5_ERROR_BAD_VERSION,      /* VER is not 0x05 (or 0x01 in RFC 1929) */
    SOCKS5_ERROR_BAD_ADDRESS_TYPE, /* ATYP is none of 0x01, 0x03, 0x04 */
};

/* ---- Greeting: VER NMETHODS METHODS[NMETHODS] ---- */

struct socks5_greeting_parser {
    uint8_t state;
    uint8_t methods_left;
    bool offers_no_auth;
    bool offers_userpass;
    enum socks5_parse_error error;
};

void socks5_greeting_parser_init(struct socks5_greeting_parser *parser);
/* Consumes bytes from data up to the end of the greeting and stores in *consumed how many
 * it took. NMETHODS = 0 is a complete greeting that offers nothing. */
enum socks5_parse_result socks5_greeting_parser_feed(struct socks5_greeting_parser *parser,
                                                     const uint8_t *data, size_t length,
                                                     size_t *consumed);

/* ---- RFC 1929: VER ULEN UNAME PLEN PASSWD ---- */

struct socks5_auth_parser {
    uint8_t state;
    uint8_t field_left;
    uint8_t username_length;
    uint8_t password_length;
    char username[256]; /* NUL-terminated copy; may hold embedded NULs, use the length */
    char password[256];
    enum socks5_parse_error error;
};

void socks5_auth_parser_init(struct socks5_auth_parser *parser);
enum socks5_parse_result socks5_auth_parser_feed(struct socks5_auth_parser *parser,
                                                 const uint8_t *data, size_t length,
                                                 size_t *consumed);
/* Wipes the password from memory; call as soon as the credentials were checked. */
void socks5_auth_parser_wipe(struct socks5_auth_parser *parser);

/* ---- Request: VER CMD RSV ATYP DST.ADDR DST.PORT ---- */

struct socks5_request {
    uint8_t command;
    uint8_t address_type;
    uint8_t ipv4[4];          /* network order, when address_type is IPV4 */
    uint8_t ipv6[16];         /* network order, when address_type is IPV6 */
    uint8_t domain_length;    /* when address_type is DOMAIN; 0 is possible and invalid */
    char domain[256];         /* NUL-terminated copy of the name; may hold embedded NULs */
    uint16_t port;            /* host order */
};

struct socks5_request_parser {
    uint8_t state;
    uint8_t field_left;
    struct socks5_request request;
    enum socks5_parse_error error;
};

void socks5_request_parser_init(struct socks5_request_parser *parser);
enum socks5_parse_result socks5_request_parser_feed(struct socks5_request_parser *parser,
                                                    const uint8_t *data, size_t length,
                                                    size_t *consumed);

/* false for a domain name that is empty or holds a NUL byte (such a name is never truncated
 * and resolved as something else); true for every other complete request. */
bool socks5_request_domain_usable(const struct socks5_request *request);

/* ---- Encoders ---- */

#define SOCKS5_REPLY_MAX_LENGTH 22 /* VER REP RSV ATYP + 16-byte IPv6 + port */

/* Writes VER METHOD; returns 2. */
size_t socks5_method_reply_encode(uint8_t out[2], uint8_t method);
/* Writes VER STATUS (RFC 1929); returns 2. */
size_t socks5_auth_reply_encode(uint8_t out[2], uint8_t status);
/* Writes VER REP RSV ATYP BND.ADDR BND.PORT. bound may be NULL (0.0.0.0:0 is sent) or an
 * AF_INET / AF_INET6 address. Returns the number of bytes written (10 or 22). */
size_t socks5_reply_encode(uint8_t out[SOCKS5_REPLY_MAX_LENGTH], uint8_t reply_code,
                           const struct sockaddr *bound);

#endif
