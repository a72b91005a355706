/* fuzz_user_limits: libFuzzer harness for the limits' text — a value must agree with an
 * independent reading of "digits[K|M|G]", and a list that parses formats and parses back the
 * same, while a refused one leaves the limits untouched with a message. */
#include "fuzz_feed.h"
#include "user_limits.h"

#include <stdbool.h>
#include <string.h>

/* Digits, then (rates only) one K/M/G, the result below the unset mark. */
static bool model_value(bool rate, const char *text, size_t length, uint64_t *value)
{
    unsigned shift = 0;
    if (rate && length > 1) {
        switch (text[length - 1]) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        default: break;
        }
    }
    size_t digits = length - (shift != 0);
    if (digits == 0)
        return false;
    unsigned __int128 number = 0;
    for (size_t i = 0; i < digits; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        number = number * 10 + (unsigned)(text[i] - '0');
        if (number >= USER_LIMIT_UNSET)
            return false;
    }
    number <<= shift;
    if (number >= USER_LIMIT_UNSET)
        return false;
    *value = (uint64_t)number;
    return true;
}

/* Byte 0: bit 0 allows "default", bits 1-2 pick the field for the value check; the rest is
 * the text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool allow_unset = data[0] & 1;
    enum user_limit_field field = (enum user_limit_field)((data[0] >> 1) % USER_LIMIT_FIELD_COUNT);
    const char *text = (const char *)data + 1;
    size_t length = size - 1;
    char error[160];

    uint64_t value = 0, expected = 0;
    bool accepted = user_limit_value_parse(field, text, length, &value, error, sizeof(error));
    FUZZ_CHECK(accepted == model_value(field != USER_LIMIT_MAX_CONNECTIONS, text, length,
                                       &expected));
    FUZZ_CHECK(!accepted || value == expected);
    FUZZ_CHECK(accepted || (memchr(error, '\0', sizeof(error)) != NULL && error[0] != '\0'));

    struct user_limits limits = user_limits_unset();
    limits.value[USER_LIMIT_UPLOAD] = 12345;
    struct user_limits before = limits;
    if (!user_limits_parse(text, length, allow_unset, &limits, error, sizeof(error))) {
        FUZZ_CHECK(user_limits_equal(&limits, &before));
        FUZZ_CHECK(memchr(error, '\0', sizeof(error)) != NULL && error[0] != '\0');
        return 0;
    }
    char formatted[USER_LIMITS_TEXT_MAX];
    size_t formatted_length = user_limits_format(&limits, formatted, sizeof(formatted));
    FUZZ_CHECK(formatted_length < sizeof(formatted));
    struct user_limits unset = user_limits_unset();
    if (user_limits_equal(&limits, &unset)) {
        /* "default" unset every field: nothing to write back. */
        FUZZ_CHECK(formatted_length == 0);
        return 0;
    }
    FUZZ_CHECK(formatted_length > 0);
    struct user_limits again = user_limits_unset();
    FUZZ_CHECK(user_limits_parse(formatted, formatted_length, false, &again, error, sizeof(error)));
    FUZZ_CHECK(user_limits_equal(&again, &limits));
    return 0;
}
