/* fuzz_history_filter: libFuzzer harness for the history filter's text (accounting_filter) — a
 * destination is any, a byte-exact prefix or a true CIDR range, a status is what its digits
 * say, a refusal leaves the filter as it was with a reason, and prefix bounds bound. */
#include "accounting_filter.h"
#include "fuzz_feed.h"

#include <stdbool.h>
#include <string.h>

#define TEXT_MAX 400

/* The bits where low and high differ are a suffix: low has them 0, high 1. */
static void check_network(const struct accounting_filter *filter)
{
    bool host_part = false;
    for (unsigned bit = 0; bit < 128; bit++) {
        unsigned low = (filter->network_low[bit / 8] >> (7 - bit % 8)) & 1;
        unsigned high = (filter->network_high[bit / 8] >> (7 - bit % 8)) & 1;
        if (low != high)
            host_part = true;
        if (host_part)
            FUZZ_CHECK(low == 0 && high == 1);
    }
}

static void check_destination(const char *text)
{
    struct accounting_filter filter;
    accounting_filter_init(&filter, 10);
    filter.status = 3;
    struct accounting_filter before = filter;
    const char *problem = NULL;
    if (!accounting_filter_set_destination(&filter, text, &problem)) {
        FUZZ_CHECK(problem != NULL && problem[0] != '\0');
        FUZZ_CHECK(memcmp(&filter, &before, sizeof filter) == 0);
        FUZZ_CHECK(text[0] != '\0');
        return;
    }
    FUZZ_CHECK(filter.status == 3 && filter.limit == 10);
    switch (filter.destination_match) {
    case ACCOUNTING_DESTINATION_ANY:
        FUZZ_CHECK(text[0] == '\0');
        break;
    case ACCOUNTING_DESTINATION_PREFIX:
        FUZZ_CHECK(strcmp(filter.destination_prefix, text) == 0);
        break;
    case ACCOUNTING_DESTINATION_NETWORK: {
        FUZZ_CHECK(strchr(text, '.') != NULL || strchr(text, ':') != NULL);
        check_network(&filter);
        /* Written without ':' it is IPv4, and its range stays IPv4-mapped. */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (strchr(text, ':') == NULL) {
            FUZZ_CHECK(memcmp(filter.network_low, mapped, 12) == 0);
            FUZZ_CHECK(memcmp(filter.network_high, mapped, 12) == 0);
        }
        break;
    }
    default:
        FUZZ_CHECK(false);
    }
}

static void check_status(const char *text)
{
    struct accounting_filter filter;
    accounting_filter_init(&filter, 10);
    filter.status = 77;
    const char *problem = NULL;
    bool digits = strlen(text) >= 1 && strlen(text) <= 3 && strspn(text, "0123456789") ==
                                                                   strlen(text);
    unsigned value = 0;
    for (const char *c = text; digits && *c != '\0'; c++)
        value = value * 10 + (unsigned)(*c - '0');
    bool expected = text[0] == '\0' || strcmp(text, "failed") == 0 || (digits && value <= 255);
    bool accepted = accounting_filter_set_status(&filter, text, &problem);
    FUZZ_CHECK(accepted == expected);
    if (!accepted) {
        FUZZ_CHECK(problem != NULL && problem[0] != '\0');
        FUZZ_CHECK(filter.status == 77);
    } else if (text[0] == '\0') {
        FUZZ_CHECK(filter.status == ACCOUNTING_STATUS_ANY);
    } else if (!digits) {
        FUZZ_CHECK(filter.status == ACCOUNTING_STATUS_FAILED);
    } else {
        FUZZ_CHECK(filter.status == (int)value);
    }
}

static void check_upper_bound(const char *text)
{
    char upper[TEXT_MAX + 1];
    size_t length = strlen(text);
    if (!accounting_prefix_upper_bound(text, upper, sizeof upper)) {
        FUZZ_CHECK(strspn(text, "\xff") == length);
        return;
    }
    /* Above the prefix and anything that starts with it, and not above what is above them. */
    FUZZ_CHECK(strcmp(text, upper) < 0);
    char extended[TEXT_MAX + 3];
    memcpy(extended, text, length);
    memcpy(extended + length, "\xff\xff", 3);
    FUZZ_CHECK(strcmp(extended, upper) < 0);
    FUZZ_CHECK(strlen(upper) <= length);
    FUZZ_CHECK(strncmp(upper, text, strlen(upper) - 1) == 0);
}

/* Byte 0: bit 0 picks the destination (0) or the status (1) parser; the rest is the text, cut
 * at its first NUL. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size - 1 > TEXT_MAX)
        return 0;
    char text[TEXT_MAX + 1];
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1) {
        check_status(text);
        return 0;
    }
    check_destination(text);
    check_upper_bound(text);
    uint8_t bytes[16];
    accounting_address_bytes(text, bytes);
    return 0;
}
