/* accounting_filter: what a search of the stored history asks for — user, destination prefix or
 * network, time window, status, page — and the pure parsers that fill it from an admin's text. */
#include "accounting_filter.h"

#include <arpa/inet.h>
#include <string.h>

void accounting_filter_init(struct accounting_filter *filter, uint32_t limit)
{
    memset(filter, 0, sizeof *filter);
    filter->destination_match = ACCOUNTING_DESTINATION_ANY;
    filter->status = ACCOUNTING_STATUS_ANY;
    filter->limit = limit;
}

/* An IPv4 or IPv6 literal as 16 bytes (IPv4 mapped); *v4 says which it was written as. */
static bool parse_address(const char *text, size_t length, uint8_t bytes[16], bool *v4)
{
    char copy[64];
    if (length == 0 || length >= sizeof copy)
        return false;
    memcpy(copy, text, length);
    copy[length] = '\0';
    struct in_addr address4;
    if (inet_pton(AF_INET, copy, &address4) == 1) {
        memset(bytes, 0, 10);
        bytes[10] = 0xFF;
        bytes[11] = 0xFF;
        memcpy(bytes + 12, &address4, 4);
        *v4 = true;
        return true;
    }
    struct in6_addr address6;
    if (inet_pton(AF_INET6, copy, &address6) == 1) {
        memcpy(bytes, &address6, 16);
        *v4 = false;
        return true;
    }
    return false;
}

/* 1 to 3 decimal digits, nothing else, at most max. */
static bool parse_small_decimal(const char *text, unsigned max, unsigned *value)
{
    size_t length = strlen(text);
    if (length == 0 || length > 3)
        return false;
    unsigned number = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        number = number * 10 + (unsigned)(text[i] - '0');
    }
    if (number > max)
        return false;
    *value = number;
    return true;
}

static void network_range(const uint8_t address[16], unsigned prefix_bits, uint8_t low[16],
                          uint8_t high[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = prefix_bits > i * 8 ? prefix_bits - i * 8 : 0;
        uint8_t mask = bits >= 8 ? 0xFF : (uint8_t)(0xFF << (8 - bits));
        low[i] = address[i] & mask;
        high[i] = (uint8_t)(address[i] | (uint8_t)~mask);
    }
}

bool accounting_filter_set_destination(struct accounting_filter *filter, const char *pattern,
                                       const char **problem)
{
    if (pattern == NULL || pattern[0] == '\0') {
        filter->destination_match = ACCOUNTING_DESTINATION_ANY;
        filter->destination_prefix[0] = '\0';
        return true;
    }
    size_t length = strlen(pattern);
    const char *slash = strchr(pattern, '/');
    size_t address_length = slash != NULL ? (size_t)(slash - pattern) : length;
    uint8_t address[16];
    bool v4 = false;
    if (parse_address(pattern, address_length, address, &v4)) {
        /* "::ffff:a.b.c.d/24" counts its bits over the whole IPv6 address, as written. */
        unsigned max = v4 ? 32 : 128;
        unsigned bits = max;
        if (slash != NULL && !parse_small_decimal(slash + 1, max, &bits)) {
            *problem = v4 ? "the prefix length of an IPv4 network is a number from 0 to 32"
                          : "the prefix length of an IPv6 network is a number from 0 to 128";
            return false;
        }
        network_range(address, v4 ? bits + 96 : bits, filter->network_low,
                      filter->network_high);
        filter->destination_match = ACCOUNTING_DESTINATION_NETWORK;
        filter->destination_prefix[0] = '\0';
        return true;
    }
    if (length > ACCOUNTING_DESTINATION_MAX) {
        *problem = "a destination is at most 262 bytes";
        return false;
    }
    memcpy(filter->destination_prefix, pattern, length + 1);
    filter->destination_match = ACCOUNTING_DESTINATION_PREFIX;
    return true;
}

bool accounting_filter_set_status(struct accounting_filter *filter, const char *text,
                                  const char **problem)
{
    unsigned code;
    if (text == NULL || text[0] == '\0')
        filter->status = ACCOUNTING_STATUS_ANY;
    else if (strcmp(text, "failed") == 0)
        filter->status = ACCOUNTING_STATUS_FAILED;
    else if (parse_small_decimal(text, 255, &code))
        filter->status = (int)code;
    else {
        *problem = "a status is \"failed\" or a reply code from 0 to 255";
        return false;
    }
    return true;
}

bool accounting_address_bytes(const char *address_text, uint8_t bytes[16])
{
    bool v4;
    const char *host = address_text;
    size_t length;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (close == NULL || close[1] != ':')
            return false;
        host++;
        length = (size_t)(close - host);
        uint8_t parsed[16];
        /* Brackets hold an IPv6 literal only ("[1.2.3.4]" is not one). */
        if (!parse_address(host, length, parsed, &v4) || v4)
            return false;
        memcpy(bytes, parsed, 16);
        return true;
    }
    const char *colon = strrchr(host, ':');
    if (colon == NULL)
        return false;
    length = (size_t)(colon - host);
    uint8_t parsed[16];
    if (!parse_address(host, length, parsed, &v4) || !v4)
        return false;
    memcpy(bytes, parsed, 16);
    return true;
}

bool accounting_prefix_upper_bound(const char *prefix, char *upper, size_t upper_size)
{
    size_t length = strlen(prefix);
    while (length > 0 && (unsigned char)prefix[length - 1] == 0xFF)
        length--;
    if (length == 0 || length >= upper_size)
        return false;
    memcpy(upper, prefix, length);
    upper[length - 1] = (char)((unsigned char)upper[length - 1] + 1);
    upper[length] = '\0';
    return true;
}
