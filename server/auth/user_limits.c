/* user_limits: a user's limits — simultaneous connections, upload and download bytes per
 * second — and their text form (users file, config, admin), parsed purely and byte by byte. */
#include "user_limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const field_names[USER_LIMIT_FIELD_COUNT] = {
    [USER_LIMIT_MAX_CONNECTIONS] = "max-connections",
    [USER_LIMIT_UPLOAD] = "upload",
    [USER_LIMIT_DOWNLOAD] = "download",
};

static bool fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *error, size_t error_size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
    return false;
}

struct user_limits user_limits_unset(void)
{
    struct user_limits limits;
    for (size_t i = 0; i < USER_LIMIT_FIELD_COUNT; i++)
        limits.value[i] = USER_LIMIT_UNSET;
    return limits;
}

struct user_limits user_limits_unlimited(void)
{
    return (struct user_limits){{0}};
}

struct user_limits user_limits_overlay(struct user_limits base, const struct user_limits *top)
{
    for (size_t i = 0; i < USER_LIMIT_FIELD_COUNT; i++)
        if (top->value[i] != USER_LIMIT_UNSET)
            base.value[i] = top->value[i];
    return base;
}

bool user_limits_any_set(const struct user_limits *limits)
{
    for (size_t i = 0; i < USER_LIMIT_FIELD_COUNT; i++)
        if (limits->value[i] != USER_LIMIT_UNSET)
            return true;
    return false;
}

bool user_limits_equal(const struct user_limits *left, const struct user_limits *right)
{
    return memcmp(left->value, right->value, sizeof(left->value)) == 0;
}

const char *user_limit_field_name(enum user_limit_field field)
{
    return field < USER_LIMIT_FIELD_COUNT ? field_names[field] : "?";
}

bool user_limit_field_find(const char *key, size_t length, enum user_limit_field *field)
{
    for (size_t i = 0; i < USER_LIMIT_FIELD_COUNT; i++) {
        if (strlen(field_names[i]) == length && memcmp(field_names[i], key, length) == 0) {
            *field = (enum user_limit_field)i;
            return true;
        }
    }
    return false;
}

static unsigned suffix_shift(char suffix)
{
    switch (suffix) {
    case 'K': case 'k': return 10;
    case 'M': case 'm': return 20;
    case 'G': case 'g': return 30;
    default: return 0;
    }
}

bool user_limit_value_parse(enum user_limit_field field, const char *text, size_t length,
                            uint64_t *value, char *error, size_t error_size)
{
    bool rate = field != USER_LIMIT_MAX_CONNECTIONS;
    const char *expected = rate ? "expected bytes per second: digits with an optional K, M or G"
                                : "expected a count of connections (digits)";
    unsigned shift = rate && length > 1 ? suffix_shift(text[length - 1]) : 0;
    size_t digits = length - (shift != 0);
    if (digits == 0)
        return fail(error, error_size, "%s: %s", field_names[field], expected);
    uint64_t number = 0;
    for (size_t i = 0; i < digits; i++) {
        if (text[i] < '0' || text[i] > '9')
            return fail(error, error_size, "%s: %s", field_names[field], expected);
        unsigned digit = (unsigned)(text[i] - '0');
        if (number > (USER_LIMIT_UNSET - 1 - digit) / 10)
            return fail(error, error_size, "%s: too large", field_names[field]);
        number = number * 10 + digit;
    }
    if (shift != 0 && number > (USER_LIMIT_UNSET - 1) >> shift)
        return fail(error, error_size, "%s: too large", field_names[field]);
    *value = number << shift;
    return true;
}

static bool parse_item(const char *item, size_t length, bool allow_unset, bool seen[],
                       struct user_limits *limits, char *error, size_t error_size)
{
    const char *equals = memchr(item, '=', length);
    if (equals == NULL)
        return fail(error, error_size, "expected key=value (max-connections, upload, download)");
    size_t key_length = (size_t)(equals - item);
    enum user_limit_field field;
    if (!user_limit_field_find(item, key_length, &field))
        return fail(error, error_size, "unknown limit '%.*s' (max-connections, upload, download)",
                    (int)(key_length > 32 ? 32 : key_length), item);
    if (seen[field])
        return fail(error, error_size, "%s is given twice", field_names[field]);
    seen[field] = true;
    const char *value = equals + 1;
    size_t value_length = length - key_length - 1;
    if (allow_unset && value_length == 7 && memcmp(value, "default", 7) == 0) {
        limits->value[field] = USER_LIMIT_UNSET;
        return true;
    }
    return user_limit_value_parse(field, value, value_length, &limits->value[field], error,
                                  error_size);
}

bool user_limits_parse(const char *text, size_t length, bool allow_unset,
                       struct user_limits *limits, char *error, size_t error_size)
{
    struct user_limits parsed = *limits;
    bool seen[USER_LIMIT_FIELD_COUNT] = {false};
    size_t start = 0;
    if (length == 0)
        return fail(error, error_size, "expected key=value (max-connections, upload, download)");
    for (size_t i = 0; i <= length; i++) {
        if (i < length && text[i] != ',' && text[i] != ' ')
            continue;
        if (i == start)
            return fail(error, error_size, "an empty item (one ',' or space between items)");
        if (!parse_item(text + start, i - start, allow_unset, seen, &parsed, error, error_size))
            return false;
        start = i + 1;
    }
    *limits = parsed;
    return true;
}

size_t user_limits_format(const struct user_limits *limits, char *out, size_t size)
{
    size_t length = 0;
    if (size > 0)
        out[0] = '\0';
    for (size_t i = 0; i < USER_LIMIT_FIELD_COUNT; i++) {
        if (limits->value[i] == USER_LIMIT_UNSET)
            continue;
        bool room = length < size;
        int written = snprintf(room ? out + length : NULL, room ? size - length : 0, "%s%s=%llu",
                               length > 0 ? "," : "", field_names[i],
                               (unsigned long long)limits->value[i]);
        length += (size_t)written;
    }
    return length;
}
