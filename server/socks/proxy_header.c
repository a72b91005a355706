/* proxy_header: the I/O-free decoder of the PROXY protocol header (versions 1 and 2, HAProxy's
 * proxy-protocol.txt) that a load balancer sends before its client's own bytes. */
#include "proxy_header.h"

#include <arpa/inet.h>
#include <string.h>

#include "net.h"

static const uint8_t v1_signature[] = {'P', 'R', 'O', 'X', 'Y', ' '};
static const uint8_t v2_signature[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

#define TEXT_OF(number) #number
#define DECIMAL(number) TEXT_OF(number)

enum {
    V2_COMMAND_LOCAL = 0x0,
    V2_COMMAND_PROXY = 0x1,
    V2_TCP4 = 0x11,
    V2_TCP6 = 0x21,
    V2_TCP4_ADDRESSES = 12, /* source, destination, source port, destination port */
    V2_TCP6_ADDRESSES = 36,
    V2_UNIX_ADDRESSES = 216,
};

void proxy_header_parser_init(struct proxy_header_parser *parser)
{
    memset(parser, 0, sizeof(*parser));
    parser->result = PROXY_HEADER_MORE;
}

static bool starts_like(const uint8_t *data, size_t length, const uint8_t *signature,
                        size_t signature_length)
{
    return memcmp(data, signature, length < signature_length ? length : signature_length) == 0;
}

enum proxy_header_signature proxy_header_signature_match(const uint8_t *data, size_t length)
{
    if (starts_like(data, length, v1_signature, sizeof(v1_signature)))
        return length >= sizeof(v1_signature) ? PROXY_SIGNATURE_FOUND : PROXY_SIGNATURE_PARTIAL;
    if (starts_like(data, length, v2_signature, sizeof(v2_signature)))
        return length >= sizeof(v2_signature) ? PROXY_SIGNATURE_FOUND : PROXY_SIGNATURE_PARTIAL;
    return PROXY_SIGNATURE_NONE;
}

static enum proxy_header_result finish(struct proxy_header_parser *parser,
                                       enum proxy_header_result result,
                                       enum proxy_header_error error)
{
    parser->result = result;
    parser->error = error;
    return result;
}

/* ---- version 1: one text line ---- */

/* 1 to 5 decimal digits, at most 65535, into network order. */
static bool v1_port(const char *text, size_t length, in_port_t *port)
{
    uint16_t value;
    if (!net_parse_port(text, length, &value))
        return false;
    *port = htons(value);
    return true;
}

static bool v1_address(int family, const char *text, size_t length,
                       union proxy_header_address *address)
{
    char copy[INET6_ADDRSTRLEN];
    if (length == 0 || length >= sizeof(copy))
        return false;
    memcpy(copy, text, length);
    copy[length] = '\0';
    memset(address, 0, sizeof(*address));
    address->any.sa_family = (sa_family_t)family;
    void *bytes = family == AF_INET ? (void *)&address->in4.sin_addr
                                    : (void *)&address->in6.sin6_addr;
    return inet_pton(family, copy, bytes) == 1;
}

/* "TCP4 SRC DST SPORT DPORT" or "TCP6 ...", single spaces, printable bytes only; or
 * "UNKNOWN" and anything up to the line's end, which the spec says to ignore. */
static bool v1_parse_line(struct proxy_header_parser *parser, const char *line, size_t length)
{
    if (length >= 7 && memcmp(line, "UNKNOWN", 7) == 0 && (length == 7 || line[7] == ' ')) {
        parser->has_addresses = false;
        return true;
    }
    int family;
    if (length > 5 && memcmp(line, "TCP4 ", 5) == 0)
        family = AF_INET;
    else if (length > 5 && memcmp(line, "TCP6 ", 5) == 0)
        family = AF_INET6;
    else
        return false;
    const char *fields[4];
    size_t field_lengths[4];
    size_t count = 0;
    const char *field = line + 5;
    for (const char *c = field;; c++) {
        bool end = c == line + length;
        if (!end && *c != ' ') {
            if (*c < 0x21 || *c > 0x7e)
                return false;
            continue;
        }
        if (count == 4 || c == field)
            return false; /* a fifth field, or an empty one (two spaces, a trailing space) */
        fields[count] = field;
        field_lengths[count++] = (size_t)(c - field);
        if (end)
            break;
        field = c + 1;
    }
    in_port_t source_port, destination_port;
    if (count != 4 || !v1_address(family, fields[0], field_lengths[0], &parser->source) ||
        !v1_address(family, fields[1], field_lengths[1], &parser->destination) ||
        !v1_port(fields[2], field_lengths[2], &source_port) ||
        !v1_port(fields[3], field_lengths[3], &destination_port))
        return false;
    if (family == AF_INET) {
        parser->source.in4.sin_port = source_port;
        parser->destination.in4.sin_port = destination_port;
    } else {
        parser->source.in6.sin6_port = source_port;
        parser->destination.in6.sin6_port = destination_port;
    }
    parser->has_addresses = true;
    return true;
}

static enum proxy_header_result v1_take(struct proxy_header_parser *parser, uint8_t byte)
{
    size_t at = parser->taken;
    if (at < sizeof(v1_signature) && byte != v1_signature[at])
        return finish(parser, PROXY_HEADER_MISSING, PROXY_HEADER_ERROR_NONE);
    parser->bytes[at] = byte;
    parser->taken++;
    bool after_cr = at > 0 && parser->bytes[at - 1] == '\r';
    if (byte == '\n') {
        const char *line = (const char *)parser->bytes + sizeof(v1_signature);
        if (!after_cr || !v1_parse_line(parser, line, at - 1 - sizeof(v1_signature)))
            return finish(parser, PROXY_HEADER_MALFORMED, PROXY_HEADER_ERROR_V1_SYNTAX);
        return finish(parser, PROXY_HEADER_DONE, PROXY_HEADER_ERROR_NONE);
    }
    if (after_cr)
        return finish(parser, PROXY_HEADER_MALFORMED, PROXY_HEADER_ERROR_V1_SYNTAX);
    if (parser->taken == PROXY_HEADER_V1_MAX_LENGTH)
        return finish(parser, PROXY_HEADER_MALFORMED, PROXY_HEADER_ERROR_V1_TOO_LONG);
    return PROXY_HEADER_MORE;
}

/* ---- version 2: a binary head, addresses, TLVs ---- */

static uint8_t v2_command(const struct proxy_header_parser *parser)
{
    return parser->bytes[12] & 0x0F;
}

static uint8_t v2_family(const struct proxy_header_parser *parser)
{
    return parser->bytes[13];
}

/* How many address bytes the head says follow (the length must leave room for them), and how
 * many of those are kept: TCP's, which name the client. */
static size_t v2_address_length(uint8_t family)
{
    switch (family >> 4) {
    case 0x1:
        return V2_TCP4_ADDRESSES;
    case 0x2:
        return V2_TCP6_ADDRESSES;
    case 0x3:
        return V2_UNIX_ADDRESSES;
    default:
        return 0;
    }
}

static size_t v2_kept_length(const struct proxy_header_parser *parser)
{
    if (v2_command(parser) != V2_COMMAND_PROXY)
        return 0;
    uint8_t family = v2_family(parser);
    return family == V2_TCP4 || family == V2_TCP6 ? v2_address_length(family) : 0;
}

static bool v2_family_listed(uint8_t family)
{
    /* UNSPEC, and STREAM or DGRAM over INET, INET6, UNIX: "other values ... must be rejected
     * as invalid by receivers". */
    return family == 0x00 || ((family >> 4) >= 1 && (family >> 4) <= 3 &&
                              ((family & 0x0F) == 1 || (family & 0x0F) == 2));
}

static enum proxy_header_result v2_check_head(struct proxy_header_parser *parser)
{
    size_t payload = (size_t)parser->bytes[14] << 8 | parser->bytes[15];
    if (parser->bytes[12] >> 4 != 2)
        return finish(parser, PROXY_HEADER_MALFORMED, PROXY_HEADER_ERROR_V2_VERSION);
    uint8_t command = v2_command(parser);
    if (command != V2_COMMAND_LOCAL && command != V2_COMMAND_PROXY)
        return finish(parser, PROXY_HEADER_MALFORMED, PROXY_HEADER_ERROR_V2_COMMAND);
    /* LOCAL: "the receiver must ... discard the protocol block including the family". */
    if (command == V2_COMMAND_PROXY && !v2_family_listed(v2_family(parser)))
        return finish(parser, PROXY_HEADER_MALFORMED, PROXY_HEADER_ERROR_V2_FAMILY);
    if (payload > PROXY_HEADER_V2_MAX_PAYLOAD)
        return finish(parser, PROXY_HEADER_MALFORMED, PROXY_HEADER_ERROR_V2_TOO_LONG);
    if (command == V2_COMMAND_PROXY && payload < v2_address_length(v2_family(parser)))
        return finish(parser, PROXY_HEADER_MALFORMED, PROXY_HEADER_ERROR_V2_TOO_SHORT);
    parser->length = PROXY_HEADER_V2_HEAD_LENGTH + payload;
    return PROXY_HEADER_MORE;
}

static enum proxy_header_result v2_finish(struct proxy_header_parser *parser)
{
    const uint8_t *addresses = parser->bytes + PROXY_HEADER_V2_HEAD_LENGTH;
    union proxy_header_address *source = &parser->source, *destination = &parser->destination;
    memset(source, 0, sizeof(*source));
    memset(destination, 0, sizeof(*destination));
    parser->has_addresses = v2_kept_length(parser) > 0;
    if (parser->has_addresses && v2_family(parser) == V2_TCP4) {
        source->in4.sin_family = destination->in4.sin_family = AF_INET;
        memcpy(&source->in4.sin_addr, addresses, 4);
        memcpy(&destination->in4.sin_addr, addresses + 4, 4);
        memcpy(&source->in4.sin_port, addresses + 8, 2);
        memcpy(&destination->in4.sin_port, addresses + 10, 2);
    } else if (parser->has_addresses) {
        source->in6.sin6_family = destination->in6.sin6_family = AF_INET6;
        memcpy(&source->in6.sin6_addr, addresses, 16);
        memcpy(&destination->in6.sin6_addr, addresses + 16, 16);
        memcpy(&source->in6.sin6_port, addresses + 32, 2);
        memcpy(&destination->in6.sin6_port, addresses + 34, 2);
    }
    return finish(parser, PROXY_HEADER_DONE, PROXY_HEADER_ERROR_NONE);
}

/* Takes what it may of data[0..length): the head byte by byte, then the rest in one step
 * (addresses kept, TLVs skipped). Sets *taken. */
static enum proxy_header_result v2_take(struct proxy_header_parser *parser, const uint8_t *data,
                                        size_t length, size_t *taken)
{
    size_t at = parser->taken;
    *taken = 1;
    if (at < PROXY_HEADER_V2_HEAD_LENGTH) {
        if (at < sizeof(v2_signature) && data[0] != v2_signature[at])
            return finish(parser, PROXY_HEADER_MISSING, PROXY_HEADER_ERROR_NONE);
        parser->bytes[parser->taken++] = data[0];
        if (parser->taken < PROXY_HEADER_V2_HEAD_LENGTH)
            return PROXY_HEADER_MORE;
        if (v2_check_head(parser) != PROXY_HEADER_MORE)
            return parser->result;
    } else {
        size_t step = parser->length - at < length ? parser->length - at : length;
        size_t kept_end = PROXY_HEADER_V2_HEAD_LENGTH + v2_kept_length(parser);
        if (at < kept_end) {
            size_t kept = kept_end - at < step ? kept_end - at : step;
            memcpy(parser->bytes + at, data, kept);
        }
        parser->taken += step;
        *taken = step;
    }
    return parser->taken == parser->length ? v2_finish(parser) : PROXY_HEADER_MORE;
}

/* ---- feeding ---- */

enum proxy_header_result proxy_header_parser_feed(struct proxy_header_parser *parser,
                                                  const uint8_t *data, size_t length,
                                                  size_t *consumed)
{
    *consumed = 0;
    if (parser->result != PROXY_HEADER_MORE)
        return parser->result;
    size_t offset = 0;
    enum proxy_header_result result = PROXY_HEADER_MORE;
    while (offset < length && result == PROXY_HEADER_MORE) {
        if (parser->version == 0) {
            if (data[offset] == v1_signature[0])
                parser->version = 1;
            else if (data[offset] == v2_signature[0])
                parser->version = 2;
            else
                return finish(parser, PROXY_HEADER_MISSING, PROXY_HEADER_ERROR_NONE);
        }
        size_t taken = 1;
        if (parser->version == 1)
            result = v1_take(parser, data[offset]);
        else
            result = v2_take(parser, data + offset, length - offset, &taken);
        offset += taken;
    }
    *consumed = offset;
    return result;
}

const char *proxy_header_error_text(enum proxy_header_error error)
{
    switch (error) {
    case PROXY_HEADER_ERROR_NONE:
        return "";
    case PROXY_HEADER_ERROR_V1_TOO_LONG:
        return "v1: no CRLF within 107 bytes";
    case PROXY_HEADER_ERROR_V1_SYNTAX:
        return "v1: not 'TCP4|TCP6 SRC DST SPORT DPORT' nor 'UNKNOWN'";
    case PROXY_HEADER_ERROR_V2_VERSION:
        return "v2: version is not 2";
    case PROXY_HEADER_ERROR_V2_COMMAND:
        return "v2: command is neither LOCAL nor PROXY";
    case PROXY_HEADER_ERROR_V2_FAMILY:
        return "v2: unknown address family or transport";
    case PROXY_HEADER_ERROR_V2_TOO_SHORT:
        return "v2: length too short for the addresses";
    case PROXY_HEADER_ERROR_V2_TOO_LONG:
        return "v2: length over " DECIMAL(PROXY_HEADER_V2_MAX_PAYLOAD);
    }
    return "?";
}
