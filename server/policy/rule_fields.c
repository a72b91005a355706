/* rule_fields: the values a destination rule's fields hold — port ranges, domain patterns,
 * names — each parsed from text (pure, saying why when wrong), matched, and written back. */
#include "rule_fields.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net.h"

bool port_range_parse(const char *text, struct port_range *range, char *error, size_t error_size)
{
    const char *dash = strchr(text, '-');
    size_t first_length = dash != NULL ? (size_t)(dash - text) : strlen(text);
    struct port_range parsed;
    bool valid = net_parse_port(text, first_length, &parsed.first);
    if (valid && dash != NULL)
        valid = net_parse_port(dash + 1, strlen(dash + 1), &parsed.last);
    else
        parsed.last = parsed.first;
    if (!valid) {
        snprintf(error, error_size, "expected a port (0-65535) or a range of ports (N-M)");
        return false;
    }
    if (parsed.first > parsed.last) {
        snprintf(error, error_size, "the range's first port is above its last");
        return false;
    }
    *range = parsed;
    return true;
}

static bool label_character(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

bool domain_pattern_parse(const char *text, struct domain_pattern *pattern, char *error,
                          size_t error_size)
{
    struct domain_pattern parsed = {0};
    if (strncmp(text, "*.", 2) == 0) {
        parsed.subdomains = true;
        text += 2;
    }
    size_t length = strlen(text);
    if (length > 0 && text[length - 1] == '.')
        length--;
    if (length == 0 || length > 253) {
        snprintf(error, error_size, "expected a domain (example.com) or *.suffix (*.example.com)");
        return false;
    }
    size_t label = 0;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == '.') {
            if (label == 0)
                break;
            label = 0;
        } else if (label_character(c) && label < 63) {
            label++;
        } else {
            label = 0;
            break;
        }
        parsed.suffix[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (label == 0) {
        snprintf(error, error_size,
                 "expected a domain (example.com) or *.suffix (*.example.com): labels of "
                 "letters, digits, '-' and '_', 1 to 63 characters each");
        return false;
    }
    *pattern = parsed;
    return true;
}

bool domain_pattern_matches(const struct domain_pattern *pattern, const char *domain)
{
    size_t length = strlen(domain);
    if (length > 0 && domain[length - 1] == '.')
        length--;
    size_t suffix_length = strlen(pattern->suffix);
    if (!pattern->subdomains)
        return length == suffix_length && strncasecmp(domain, pattern->suffix, length) == 0;
    if (length <= suffix_length + 1)
        return false;
    const char *tail = domain + length - suffix_length;
    return tail[-1] == '.' && strncasecmp(tail, pattern->suffix, suffix_length) == 0;
}

void domain_pattern_format(const struct domain_pattern *pattern, char *text, size_t size)
{
    snprintf(text, size, "%s%s", pattern->subdomains ? "*." : "", pattern->suffix);
}

bool rule_word_parse(const char *text, char *word, char *error, size_t error_size)
{
    size_t length = strlen(text);
    bool valid = length > 0 && length <= RULE_FIELD_TEXT_MAX;
    for (size_t i = 0; valid && i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        valid = c > ' ' && c != 0x7f && c != '=';
    }
    if (!valid) {
        snprintf(error, error_size,
                 "expected 1 to %d characters without spaces, control characters or '='",
                 RULE_FIELD_TEXT_MAX);
        return false;
    }
    memcpy(word, text, length + 1);
    return true;
}
