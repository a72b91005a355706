/* proxy_header: the I/O-free decoder of the PROXY protocol header (versions 1 and 2, HAProxy's
 * proxy-protocol.txt) that a load balancer sends before its client's own bytes. */
#ifndef PROXY_HEADER_H
#define PROXY_HEADER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Version 1: "PROXY TCP4|TCP6|UNKNOWN ...\r\n", the spec's 107 bytes at most. */
#define PROXY_HEADER_V1_MAX_LENGTH 107
/* Version 2: a 16-byte head, then the addresses and TLVs its length field counts. The spec
 * allows 65535 of those; this decoder takes at most this many (the addresses need 36 for
 * TCP over IPv6, 216 for a unix socket; what balancers add as TLVs is far below it). */
#define PROXY_HEADER_V2_HEAD_LENGTH 16
#define PROXY_HEADER_V2_MAX_PAYLOAD 2048

enum proxy_header_result {
    PROXY_HEADER_MORE,      /* everything given was taken; the header goes on */
    PROXY_HEADER_DONE,      /* the header ended: the bytes after it were not taken */
    PROXY_HEADER_MISSING,   /* the bytes do not start with either version's signature */
    PROXY_HEADER_MALFORMED, /* a signature, then something the spec does not allow */
};

/* What MALFORMED was about, for the log. */
enum proxy_header_error {
    PROXY_HEADER_ERROR_NONE = 0,
    PROXY_HEADER_ERROR_V1_TOO_LONG,    /* no "\r\n" within 107 bytes */
    PROXY_HEADER_ERROR_V1_SYNTAX,      /* not "TCP4|TCP6 SRC DST SPORT DPORT" nor UNKNOWN */
    PROXY_HEADER_ERROR_V2_VERSION,     /* the version nibble is not 2 */
    PROXY_HEADER_ERROR_V2_COMMAND,     /* neither LOCAL nor PROXY */
    PROXY_HEADER_ERROR_V2_FAMILY,      /* an address family/transport byte the spec does not list */
    PROXY_HEADER_ERROR_V2_TOO_SHORT,   /* the length leaves no room for the family's addresses */
    PROXY_HEADER_ERROR_V2_TOO_LONG,    /* the length is over PROXY_HEADER_V2_MAX_PAYLOAD */
};

/* Whether bytes could be the start of a header (for a source that may not send one). */
enum proxy_header_signature {
    PROXY_SIGNATURE_NONE,    /* not a header's start */
    PROXY_SIGNATURE_PARTIAL, /* all of them match the start of a signature: more decide */
    PROXY_SIGNATURE_FOUND,   /* a whole version 1 or version 2 signature */
};

union proxy_header_address {
    struct sockaddr any;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
};

struct proxy_header_parser {
    enum proxy_header_result result; /* MORE until a final answer, then that answer */
    uint8_t version; /* 0 until the first byte says which */
    size_t taken;    /* bytes of the header taken so far */
    size_t length;   /* version 2: the whole header's, once its head is in; else 0 */
    /* Version 1: the line; version 2: the head and the addresses (TLVs are skipped). */
    uint8_t bytes[PROXY_HEADER_V1_MAX_LENGTH];
    enum proxy_header_error error;
    /* Once DONE: false for a header that names no client (v1 UNKNOWN, v2 LOCAL, an
     * unspecified or unix family): the connection's own addresses stand. */
    bool has_addresses;
    union proxy_header_address source;      /* the client, as the balancer saw it */
    union proxy_header_address destination; /* where the client connected (the balancer) */
};

void proxy_header_parser_init(struct proxy_header_parser *parser);

/* Takes bytes up to the header's end and never past it (the SOCKS greeting pipelined behind it
 * stays), storing in *consumed how many. MORE takes all of length; DONE, MISSING and
 * MALFORMED are final: feeding again takes nothing and answers the same. */
enum proxy_header_result proxy_header_parser_feed(struct proxy_header_parser *parser,
                                                  const uint8_t *data, size_t length,
                                                  size_t *consumed);

/* Reads without taking: whether data starts like a header. */
enum proxy_header_signature proxy_header_signature_match(const uint8_t *data, size_t length);

/* "v1: no CRLF within 107 bytes", ...; "" for PROXY_HEADER_ERROR_NONE. */
const char *proxy_header_error_text(enum proxy_header_error error);

#endif
