/* test_console_time: socks5ctl's time options — every accepted form against the epoch milliseconds
 * it names, each field's bounds, every prefix of valid text, and garbage. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "time_argument.h"

#define NOW_MS INT64_C(1796000000000)

static bool parse(const char *text, int64_t *value, const char **problem)
{
    return time_argument_parse(text, strlen(text), NOW_MS, value, problem);
}

START_TEST(accepted_forms)
{
    static const struct {
        const char *text;
        int64_t unix_ms;
    } cases[] = {
        {"1970-01-01", 0},
        {"1970-01-01T00:00:00.001Z", 1},
        {"2026-12-01", INT64_C(1796083200000)},
        {"2026-12-01T10:00", INT64_C(1796119200000)},
        {"2026-12-01t10:00z", INT64_C(1796119200000)},
        {"2026-12-01 10:00", INT64_C(1796119200000)},
        {"2026-12-01T10:00Z", INT64_C(1796119200000)},
        {"2026-12-01T10:00:30", INT64_C(1796119230000)},
        {"2026-12-01T10:00:30.5", INT64_C(1796119230500)},
        {"2026-12-01T10:00:30.25Z", INT64_C(1796119230250)},
        {"2026-12-01T10:00:30.125", INT64_C(1796119230125)},
        {"2026-12-01T12:00+02:00", INT64_C(1796119200000)},
        {"2026-12-01T12:00+02", INT64_C(1796119200000)},
        {"2026-12-01T12:00+0200", INT64_C(1796119200000)},
        {"2026-12-01T04:30-05:30", INT64_C(1796119200000)},
        {"2000-02-29", INT64_C(951782400000)},
        {"2024-02-29T23:59:59", INT64_C(1709251199000)},
        {"9999-12-31", INT64_C(253402214400000)},
        {"30s", NOW_MS - 30000},
        {"15m", NOW_MS - 900000},
        {"2h", NOW_MS - 7200000},
        {"7d", NOW_MS - 604800000},
        {"0s", NOW_MS},
        {"0007d", NOW_MS - 604800000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t value = -1;
        const char *problem = "unset";
        ck_assert_msg(parse(cases[i].text, &value, &problem), "%s refused: %s", cases[i].text,
                      problem);
        ck_assert_ptr_null(problem);
        ck_assert_msg(value == cases[i].unix_ms, "%s gave %lld, not %lld", cases[i].text,
                      (long long)value, (long long)cases[i].unix_ms);
    }
}
END_TEST

START_TEST(refused_forms)
{
    static const char *const cases[] = {
        "", " ", "now", "yesterday", "-1d", "+1d", "1", "15", "15x", "15 m", "15mm", "1.5h",
        "m", "d7", "1969-12-31", "1970-01-01T00:00+00:01", "2026-00-01", "2026-13-01",
        "2026-12-00", "2026-12-32", "2026-11-31", "2023-02-29", "1900-02-29", "2100-02-29",
        "26-12-01", "2026-1-01", "2026-12-1", "2026/12/01", "2026-12-01T", "2026-12-01T1",
        "2026-12-01T10", "2026-12-01T10:", "2026-12-01T10:0", "2026-12-01T24:00",
        "2026-12-01T23:60", "2026-12-01T23:59:60", "2026-12-01T10:00:", "2026-12-01T10:00:5",
        "2026-12-01T10:00:00.", "2026-12-01T10:00:00.1234", "2026-12-01T10:00+", "2026-12-01T10:00+2",
        "2026-12-01T10:00+24:00", "2026-12-01T10:00+02:60", "2026-12-01T10:00+02:", "2026-12-01T10:00+02:0",
        "2026-12-01T10:00ZZ", "2026-12-01T10:00 ", "2026-12-01Z", "2026-12-01x", " 2026-12-01",
        "10000-01-01", "99999999999999999999d", "9999999999999d", "60000000d", "1797000000000s",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t value = 12345;
        const char *problem = NULL;
        ck_assert_msg(!parse(cases[i], &value, &problem), "%s accepted as %lld", cases[i],
                      (long long)value);
        ck_assert_msg(problem != NULL && problem[0] != '\0', "%s: no problem named", cases[i]);
    }
}
END_TEST

/* The length bounds the text: a NUL or anything past it is never read as part of it, and a
 * NUL inside is garbage. */
START_TEST(length_bounds_the_text)
{
    int64_t value = 0;
    const char *problem = NULL;
    ck_assert(time_argument_parse("2026-12-01T10:00Zjunk", 17, NOW_MS, &value, &problem));
    ck_assert(value == INT64_C(1796119200000));
    ck_assert(time_argument_parse("15m0", 3, NOW_MS, &value, &problem));
    ck_assert(value == NOW_MS - 900000);
    ck_assert(!time_argument_parse("15m\0", 4, NOW_MS, &value, &problem));
    ck_assert(!time_argument_parse("2026-12-01\0", 11, NOW_MS, &value, &problem));
}
END_TEST

/* Every prefix of a full time, cut byte by byte: each either parses to what its own form
 * says or is refused with a reason, never read past its end (the copies are exact-size). */
START_TEST(every_prefix_byte_by_byte)
{
    const char *full = "2026-12-01T10:00:30.125+02:00";
    size_t length = strlen(full);
    for (size_t cut = 0; cut <= length; cut++) {
        char *copy = malloc(cut > 0 ? cut : 1);
        memcpy(copy, full, cut);
        int64_t value = -1;
        const char *problem = NULL;
        bool ok = time_argument_parse(copy, cut, NOW_MS, &value, &problem);
        /* Whole forms: the date, HH:MM, :SS, .f .. .fff, +HH, +HH:MM. */
        bool whole = cut == 10 || cut == 16 || cut == 19 || (cut >= 21 && cut <= 23) ||
                     cut == 26 || cut == length;
        ck_assert_msg(ok == whole, "prefix of %zu bytes: %s", cut, ok ? "accepted" : problem);
        ck_assert(ok ? problem == NULL : problem != NULL);
        free(copy);
    }
}
END_TEST

/* Bytes of every value, in every position of a valid time: no crash, and a refusal names why. */
START_TEST(garbage_in_every_position)
{
    const char *valid = "2026-12-01T10:00:30.5Z";
    size_t length = strlen(valid);
    char text[32];
    for (size_t at = 0; at < length; at++) {
        for (unsigned byte = 0; byte < 256; byte++) {
            memcpy(text, valid, length);
            text[at] = (char)byte;
            int64_t value = -1;
            const char *problem = NULL;
            if (time_argument_parse(text, length, NOW_MS, &value, &problem))
                ck_assert(value >= 0 && problem == NULL);
            else
                ck_assert(problem != NULL);
        }
    }
    for (unsigned seed = 1; seed < 2000; seed++) {
        size_t size = seed % 31;
        unsigned state = seed;
        for (size_t i = 0; i < size; i++) {
            state = state * 1103515245u + 12345u;
            text[i] = (char)(state >> 16);
        }
        int64_t value;
        const char *problem = NULL;
        if (!time_argument_parse(text, size, NOW_MS, &value, &problem))
            ck_assert(problem != NULL);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("console_time");
    TCase *forms = tcase_create("forms");
    tcase_add_test(forms, accepted_forms);
    tcase_add_test(forms, refused_forms);
    tcase_add_test(forms, length_bounds_the_text);
    tcase_add_test(forms, every_prefix_byte_by_byte);
    tcase_add_test(forms, garbage_in_every_position);
    suite_add_tcase(suite, forms);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
