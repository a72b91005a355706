/* test_socks5_failure: Check suite for server/socks/socks5_failure — every failure cause has
 * its REP code and its counters, counters follow the cause, and errno and decoder errors name
 * the right cause. */
#include "metrics.h"
#include "socks5_failure.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What each cause must answer and count: one row per cause, so a cause added without a
 * decision about its code and its counters fails here. */
static const struct {
    enum socks5_failure cause;
    enum socks5_reply_code reply;
    enum metric_counter counters[SOCKS5_FAILURE_MAX_COUNTERS];
} expected[] = {
    {SOCKS5_FAILURE_NONE, SOCKS5_REPLY_SUCCEEDED, {METRIC_NONE}},
    {SOCKS5_FAILURE_GENERAL, SOCKS5_REPLY_GENERAL_FAILURE, {METRIC_NONE}},
    {SOCKS5_FAILURE_LOCAL_RESOURCES, SOCKS5_REPLY_GENERAL_FAILURE, {METRIC_SERVER_ERRORS}},
    {SOCKS5_FAILURE_REFUSED, SOCKS5_REPLY_CONNECTION_REFUSED, {METRIC_CONNECTION_REFUSED}},
    {SOCKS5_FAILURE_NETWORK_UNREACHABLE, SOCKS5_REPLY_NETWORK_UNREACHABLE, {METRIC_NONE}},
    {SOCKS5_FAILURE_HOST_UNREACHABLE, SOCKS5_REPLY_HOST_UNREACHABLE, {METRIC_HOST_UNREACHABLE}},
    {SOCKS5_FAILURE_LOOKUP_FAILED, SOCKS5_REPLY_HOST_UNREACHABLE,
     {METRIC_DNS_ERRORS, METRIC_HOST_UNREACHABLE}},
    {SOCKS5_FAILURE_LOOKUP_TIMEOUT, SOCKS5_REPLY_HOST_UNREACHABLE,
     {METRIC_DNS_ERRORS, METRIC_HOST_UNREACHABLE}},
    {SOCKS5_FAILURE_CONNECT_TIMEOUT, SOCKS5_REPLY_HOST_UNREACHABLE, {METRIC_HOST_UNREACHABLE}},
    {SOCKS5_FAILURE_BIND_TIMEOUT, SOCKS5_REPLY_TTL_EXPIRED, {METRIC_NONE}},
    {SOCKS5_FAILURE_FORBIDDEN_BY_KERNEL, SOCKS5_REPLY_NOT_ALLOWED, {METRIC_NONE}},
    {SOCKS5_FAILURE_NOT_ALLOWED_BY_POLICY, SOCKS5_REPLY_NOT_ALLOWED, {METRIC_RULE_DENIALS}},
    {SOCKS5_FAILURE_OVER_USER_LIMIT, SOCKS5_REPLY_NOT_ALLOWED, {METRIC_LIMIT_REFUSALS}},
    {SOCKS5_FAILURE_OVER_ADDRESS_LIMIT, SOCKS5_REPLY_NOT_ALLOWED, {METRIC_LIMIT_REFUSALS}},
    {SOCKS5_FAILURE_COMMAND_UNSUPPORTED, SOCKS5_REPLY_COMMAND_NOT_SUPPORTED,
     {METRIC_UNSUPPORTED_INPUT}},
    {SOCKS5_FAILURE_ADDRESS_TYPE_UNSUPPORTED, SOCKS5_REPLY_ADDRESS_TYPE_NOT_SUPPORTED,
     {METRIC_UNSUPPORTED_INPUT}},
    {SOCKS5_FAILURE_MALFORMED_REQUEST, SOCKS5_REPLY_GENERAL_FAILURE, {METRIC_UNSUPPORTED_INPUT}},
};

#define EXPECTED_COUNT (sizeof(expected) / sizeof(expected[0]))

/* The counters that bumping counter changes, as one struct to compare with. */
static struct metrics counted_once(enum metric_counter counter)
{
    struct metrics metrics;
    memset(&metrics, 0, sizeof(metrics));
    metrics_count(&metrics, counter);
    return metrics;
}

START_TEST(every_cause_has_a_row)
{
    ck_assert_uint_eq(EXPECTED_COUNT, SOCKS5_FAILURE_COUNT);
    for (size_t i = 0; i < EXPECTED_COUNT; i++)
        ck_assert_int_eq(expected[i].cause, (int)i);
}
END_TEST

START_TEST(every_cause_has_its_code_and_its_counters)
{
    for (size_t i = 0; i < EXPECTED_COUNT; i++) {
        struct socks5_failure_outcome outcome = socks5_failure_outcome(expected[i].cause);
        ck_assert_msg(outcome.reply == expected[i].reply, "cause %zu answers 0x%02x", i,
                      outcome.reply);
        for (size_t c = 0; c < SOCKS5_FAILURE_MAX_COUNTERS; c++)
            ck_assert_msg(outcome.counters[c] == expected[i].counters[c],
                          "cause %zu: counter %zu is %d", i, c, outcome.counters[c]);
        if (expected[i].cause != SOCKS5_FAILURE_NONE)
            ck_assert_int_ne(outcome.reply, SOCKS5_REPLY_SUCCEEDED);
    }
}
END_TEST

START_TEST(unknown_cause_is_a_general_failure)
{
    struct socks5_failure_outcome outcome = socks5_failure_outcome(SOCKS5_FAILURE_COUNT);
    ck_assert_int_eq(outcome.reply, SOCKS5_REPLY_GENERAL_FAILURE);
    ck_assert_int_eq(outcome.counters[0], METRIC_NONE);
}
END_TEST

START_TEST(each_metric_bumps_its_own_field)
{
    struct metrics none = counted_once(METRIC_NONE), zero;
    memset(&zero, 0, sizeof(zero));
    ck_assert_mem_eq(&none, &zero, sizeof(zero));
    ck_assert_uint_eq(counted_once(METRIC_HOST_UNREACHABLE).host_unreachable, 1);
    ck_assert_uint_eq(counted_once(METRIC_CONNECTION_REFUSED).connection_refused, 1);
    ck_assert_uint_eq(counted_once(METRIC_DNS_ERRORS).dns_errors, 1);
    ck_assert_uint_eq(counted_once(METRIC_SERVER_ERRORS).server_errors, 1);
    ck_assert_uint_eq(counted_once(METRIC_UNSUPPORTED_INPUT).unsupported_input, 1);
    ck_assert_uint_eq(counted_once(METRIC_RULE_DENIALS).rule_denials, 1);
    /* and nothing else: one counter in all */
    const enum metric_counter all[] = {METRIC_HOST_UNREACHABLE, METRIC_CONNECTION_REFUSED,
                                       METRIC_DNS_ERRORS, METRIC_SERVER_ERRORS,
                                       METRIC_UNSUPPORTED_INPUT, METRIC_RULE_DENIALS};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        struct metrics metrics = counted_once(all[i]);
        const uint64_t *fields = (const uint64_t *)&metrics;
        uint64_t sum = 0;
        for (size_t f = 0; f < sizeof(metrics) / sizeof(uint64_t); f++)
            sum += fields[f];
        ck_assert_uint_eq(sum, 1);
    }
}
END_TEST

START_TEST(host_unreachable_is_counted_by_cause_not_by_code)
{
    /* Every cause that counts an unreachable host says so in its counters, whatever REP code
     * it answers; and no cause counts it just for answering 0x04. */
    for (size_t i = 0; i < EXPECTED_COUNT; i++) {
        struct socks5_failure_outcome outcome = socks5_failure_outcome(expected[i].cause);
        struct metrics metrics;
        memset(&metrics, 0, sizeof(metrics));
        for (size_t c = 0; c < SOCKS5_FAILURE_MAX_COUNTERS; c++)
            metrics_count(&metrics, outcome.counters[c]);
        bool unreachable_cause = expected[i].cause == SOCKS5_FAILURE_HOST_UNREACHABLE ||
                                 expected[i].cause == SOCKS5_FAILURE_CONNECT_TIMEOUT ||
                                 expected[i].cause == SOCKS5_FAILURE_LOOKUP_FAILED ||
                                 expected[i].cause == SOCKS5_FAILURE_LOOKUP_TIMEOUT;
        ck_assert_msg(metrics.host_unreachable == (unreachable_cause ? 1u : 0u),
                      "cause %zu counts host_unreachable %llu times", i,
                      (unsigned long long)metrics.host_unreachable);
    }
}
END_TEST

START_TEST(connect_errors_name_their_cause)
{
    ck_assert_int_eq(socks5_failure_of_connect_error(ECONNREFUSED), SOCKS5_FAILURE_REFUSED);
    ck_assert_int_eq(socks5_failure_of_connect_error(ENETUNREACH),
                     SOCKS5_FAILURE_NETWORK_UNREACHABLE);
    ck_assert_int_eq(socks5_failure_of_connect_error(ENETDOWN),
                     SOCKS5_FAILURE_NETWORK_UNREACHABLE);
    ck_assert_int_eq(socks5_failure_of_connect_error(EHOSTUNREACH),
                     SOCKS5_FAILURE_HOST_UNREACHABLE);
    ck_assert_int_eq(socks5_failure_of_connect_error(EHOSTDOWN), SOCKS5_FAILURE_HOST_UNREACHABLE);
    ck_assert_int_eq(socks5_failure_of_connect_error(ETIMEDOUT), SOCKS5_FAILURE_CONNECT_TIMEOUT);
    ck_assert_int_eq(socks5_failure_of_connect_error(EACCES), SOCKS5_FAILURE_FORBIDDEN_BY_KERNEL);
    ck_assert_int_eq(socks5_failure_of_connect_error(EPERM), SOCKS5_FAILURE_FORBIDDEN_BY_KERNEL);
    ck_assert_int_eq(socks5_failure_of_connect_error(EMFILE), SOCKS5_FAILURE_LOCAL_RESOURCES);
    ck_assert_int_eq(socks5_failure_of_connect_error(ENFILE), SOCKS5_FAILURE_LOCAL_RESOURCES);
    ck_assert_int_eq(socks5_failure_of_connect_error(ENOBUFS), SOCKS5_FAILURE_LOCAL_RESOURCES);
    ck_assert_int_eq(socks5_failure_of_connect_error(ENOMEM), SOCKS5_FAILURE_LOCAL_RESOURCES);
    ck_assert_int_eq(socks5_failure_of_connect_error(EINVAL), SOCKS5_FAILURE_GENERAL);
    ck_assert_int_eq(socks5_failure_of_connect_error(0), SOCKS5_FAILURE_GENERAL);
}
END_TEST

START_TEST(parse_errors_name_their_cause)
{
    ck_assert_int_eq(socks5_failure_of_parse_error(SOCKS5_ERROR_BAD_ADDRESS_TYPE),
                     SOCKS5_FAILURE_ADDRESS_TYPE_UNSUPPORTED);
    ck_assert_int_eq(socks5_failure_of_parse_error(SOCKS5_ERROR_BAD_VERSION),
                     SOCKS5_FAILURE_MALFORMED_REQUEST);
    ck_assert_int_eq(socks5_failure_of_parse_error(SOCKS5_ERROR_NONE),
                     SOCKS5_FAILURE_MALFORMED_REQUEST);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("socks5_failure");
    TCase *mapping = tcase_create("mapping");
    tcase_add_test(mapping, every_cause_has_a_row);
    tcase_add_test(mapping, every_cause_has_its_code_and_its_counters);
    tcase_add_test(mapping, unknown_cause_is_a_general_failure);
    tcase_add_test(mapping, each_metric_bumps_its_own_field);
    tcase_add_test(mapping, host_unreachable_is_counted_by_cause_not_by_code);
    tcase_add_test(mapping, connect_errors_name_their_cause);
    tcase_add_test(mapping, parse_errors_name_their_cause);
    suite_add_tcase(suite, mapping);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
