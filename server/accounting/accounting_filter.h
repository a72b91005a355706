/* accounting_filter: what a search of the stored history asks for — user, destination prefix or
 * network, time window, status, page — and the pure parsers that fill it from an admin's text. */
#ifndef ACCOUNTING_FILTER_H
#define ACCOUNTING_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACCOUNTING_DESTINATION_MAX 262 /* a 255-byte name, ':' and a port */

enum accounting_destination_match {
    ACCOUNTING_DESTINATION_ANY,
    ACCOUNTING_DESTINATION_PREFIX,  /* destination text starts with it (names, "a.b.c.d:") */
    ACCOUNTING_DESTINATION_NETWORK, /* the connected address lies in a network (CIDR) */
};

struct accounting_filter {
    const char *user;             /* NULL = anyone; "" = never authenticated */
    enum accounting_destination_match destination_match;
    char destination_prefix[ACCOUNTING_DESTINATION_MAX + 1];
    uint8_t network_low[16];      /* IPv6 or IPv4-mapped, inclusive range */
    uint8_t network_high[16];
    int64_t since_ms;             /* started at or after; 0 = no bound */
    int64_t until_ms;             /* started before; 0 = no bound */
    int status;                   /* a reply code 0..255; ACCOUNTING_STATUS_ANY;
                                   * ACCOUNTING_STATUS_FAILED = any but 0 */
    uint64_t before_history_id;   /* only older rows than this one; 0 = from the newest */
    uint32_t limit;               /* most rows, newest first (0: none, but `more` is told) */
};

#define ACCOUNTING_STATUS_ANY (-1)
#define ACCOUNTING_STATUS_FAILED (-2)

/* A filter that matches everything, newest first, at most limit rows. */
void accounting_filter_init(struct accounting_filter *filter, uint32_t limit);
/* Sets the destination match from an admin's pattern: an address or CIDR network (IPv4 or
 * IPv6; "::ffff:a.b.c.d" is the IPv4 address; a plain address is a /32 or /128) matches the
 * connected address; anything else is a prefix of the destination as the client sent it
 * ("example.com" matches "example.com:443", byte for byte, case and '%' included); "" matches
 * any. False with *problem (the filter unchanged) for an address followed by a prefix length
 * that is not a decimal in range, or a pattern longer than ACCOUNTING_DESTINATION_MAX. Pure. */
bool accounting_filter_set_destination(struct accounting_filter *filter, const char *pattern,
                                       const char **problem);
/* Sets status from "" (any), "failed" (not 0) or a decimal 0..255 (at most three digits).
 * False with *problem (the filter unchanged) otherwise. Pure. */
bool accounting_filter_set_status(struct accounting_filter *filter, const char *text,
                                  const char **problem);

/* The connected address of a stored connection ("a.b.c.d:port" or "[v6]:port", as
 * net_format_address writes it) as 16 bytes, IPv4 mapped; false for "-" or anything else. */
bool accounting_address_bytes(const char *address_text, uint8_t bytes[16]);

/* The exclusive upper bound of the texts that start with prefix: prefix with its last byte
 * below 0xFF incremented and the 0xFF bytes after it dropped, in upper (at least
 * strlen(prefix) + 1 bytes). False when there is none (prefix empty or all 0xFF bytes): every
 * text from prefix on matches. Lets the index on destination answer a prefix match exactly,
 * where LIKE would fold case and treat '%' and '_' as wildcards. */
bool accounting_prefix_upper_bound(const char *prefix, char *upper, size_t upper_size);

#endif
