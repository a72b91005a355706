/* rule_fields: the values a destination rule's fields hold — port ranges, domain patterns,
 * names — each parsed from text (pure, saying why when wrong), matched, and written back. */
#ifndef RULE_FIELDS_H
#define RULE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest name a rule, a user or a domain may have (RFC 1035: 253 characters). */
#define RULE_FIELD_TEXT_MAX 255

/* "N" or "N-M", 0 to 65535, N <= M. */
struct port_range {
    uint16_t first;
    uint16_t last;
};
bool port_range_parse(const char *text, struct port_range *range, char *error, size_t error_size);

/* "example.com" (that name only) or "*.example.com" (its sub-domains at any depth, not the bare
 * example.com: give both to cover both). Case-insensitive; a trailing dot is ignored in the
 * pattern and in the name asked for. Labels of letters, digits, '-' and '_', 1 to 63 each. */
struct domain_pattern {
    bool subdomains;                    /* the "*." form */
    char suffix[RULE_FIELD_TEXT_MAX + 1]; /* lower case, no trailing dot */
};
bool domain_pattern_parse(const char *text, struct domain_pattern *pattern, char *error,
                          size_t error_size);
bool domain_pattern_matches(const struct domain_pattern *pattern, const char *domain);
void domain_pattern_format(const struct domain_pattern *pattern, char *text, size_t size);

/* A rule's name or a user name as a rule gives it: 1 to RULE_FIELD_TEXT_MAX printable
 * characters, none of them a space or '=' (so that a described rule reads back the same). */
bool rule_word_parse(const char *text, char *word, char *error, size_t error_size);

#endif
