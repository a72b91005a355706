/* fuzz_time_argument: libFuzzer harness for socks5ctl's time options — any text parses the same
 * way twice, and a time it accepts is from 1970 on and no later than 9999's end. */
#include "fuzz_feed.h"
#include "time_argument.h"

#include <string.h>

#define NOW_MS INT64_C(1796000000000) /* 2026-11-29 */
#define LATEST_MS INT64_C(253402300800000) /* 10000-01-01T00:00Z, before any offset */
#define DAY_MS INT64_C(86400000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the text's end. */
    char *text = malloc(size > 0 ? size : 1);
    FUZZ_CHECK(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    int64_t first = -1, second = -1;
    const char *problem = NULL, *again = NULL;
    bool parsed = time_argument_parse(text, size, NOW_MS, &first, &problem);
    bool reparsed = time_argument_parse(text, size, NOW_MS, &second, &again);
    FUZZ_CHECK(parsed == reparsed);
    if (parsed) {
        FUZZ_CHECK(first == second);
        FUZZ_CHECK(first >= 0 && first < LATEST_MS + DAY_MS);
        FUZZ_CHECK(problem == NULL);
    } else {
        FUZZ_CHECK(problem != NULL && again == problem && strlen(problem) > 0);
    }
    free(text);
    return 0;
}
