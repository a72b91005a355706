/* test_token_bucket: Check suite for server/core/token_bucket — the arithmetic on a fake clock:
 * the rate over time, the burst, no fraction lost, debt, sharing between spenders, rate changes
 * that keep the bucket, and the wait until budget returns. */
#include "token_bucket.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#define MS 1000000ull
#define SECOND (1000 * MS)
#define START (5 * SECOND) /* a clock that does not start at 0 */

/* Spends everything there is, as a tunnel would: returns what it took. */
static uint64_t drain(struct token_bucket *bucket, uint64_t now)
{
    size_t allowed = token_bucket_allowance(bucket, SIZE_MAX, now);
    token_bucket_spend(bucket, allowed, now);
    return allowed;
}

START_TEST(burst_is_a_tenth_of_the_rate_with_a_floor)
{
    ck_assert_uint_eq(token_bucket_burst_for(8 * 1024 * 1024), 8 * 1024 * 1024 / 10);
    ck_assert_uint_eq(token_bucket_burst_for(1000), TOKEN_BUCKET_BURST_MIN);
    ck_assert_uint_eq(token_bucket_burst_for(0), TOKEN_BUCKET_BURST_MIN);
}
END_TEST

START_TEST(unlimited_allows_everything_and_never_waits)
{
    struct token_bucket bucket;
    token_bucket_init(&bucket, 0, START);
    ck_assert(!token_bucket_limited(&bucket));
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START), SIZE_MAX);
    token_bucket_spend(&bucket, 1u << 30, START);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, 12345, START), 12345);
    ck_assert_uint_eq(token_bucket_wait_ms(&bucket, START), 0);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(starts_full_then_gives_the_rate)
{
    const uint64_t rate = 1000000; /* 1 MB/s: burst 100000 */
    struct token_bucket bucket;
    token_bucket_init(&bucket, rate, START);
    ck_assert(token_bucket_limited(&bucket));
    ck_assert_uint_eq(token_bucket_allowance(&bucket, 10, START), 10);
    ck_assert_uint_eq(drain(&bucket, START), 100000);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START), 0);
    /* Drained every millisecond for 10 s: exactly rate × time, nothing lost to rounding. */
    uint64_t total = 0;
    for (uint64_t t = 1; t <= 10000; t++)
        total += drain(&bucket, START + t * MS);
    ck_assert_uint_eq(total, 10 * rate);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(fractions_add_up)
{
    /* 3 bytes/s read every 100 ms: 0.3 bytes each time, 3 a second all the same. */
    struct token_bucket bucket;
    token_bucket_init(&bucket, 3, START);
    drain(&bucket, START);
    uint64_t total = 0;
    for (uint64_t t = 1; t <= 100; t++)
        total += drain(&bucket, START + t * 100 * MS);
    ck_assert_uint_eq(total, 30);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(idle_time_fills_no_more_than_the_burst)
{
    struct token_bucket bucket;
    token_bucket_init(&bucket, 1000000, START);
    drain(&bucket, START);
    ck_assert_uint_eq(drain(&bucket, START + 3600 * SECOND), 100000);
    ck_assert_uint_eq(drain(&bucket, START + 3600 * SECOND + 50 * MS), 50000);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(spenders_share_one_budget_and_repay_debt)
{
    /* Two tunnels asked at once, both read all they were allowed: the second read is debt. */
    struct token_bucket bucket;
    token_bucket_init(&bucket, 1000000, START);
    size_t first = token_bucket_allowance(&bucket, SIZE_MAX, START);
    size_t second = token_bucket_allowance(&bucket, SIZE_MAX, START);
    ck_assert_uint_eq(first, 100000);
    ck_assert_uint_eq(second, 100000);
    token_bucket_spend(&bucket, first, START);
    token_bucket_spend(&bucket, second, START);
    /* 100 ms later the debt is paid but nothing is there yet. */
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 100 * MS), 0);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 101 * MS), 1000);
    /* Taken in turns, the two get the rate between them, not each. */
    uint64_t total = 0;
    for (uint64_t t = 1; t <= 1000; t++) {
        uint64_t now = START + 100 * MS + t * MS;
        total += drain(&bucket, now) + drain(&bucket, now);
    }
    ck_assert_uint_eq(total, 1000000);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(wait_is_until_a_quarter_burst)
{
    struct token_bucket bucket;
    token_bucket_init(&bucket, 1000000, START); /* burst 100000, wake at 25000 = 25 ms */
    ck_assert_uint_eq(token_bucket_wait_ms(&bucket, START), 0);
    drain(&bucket, START);
    ck_assert_uint_eq(token_bucket_wait_ms(&bucket, START), 25);
    ck_assert_uint_eq(token_bucket_wait_ms(&bucket, START + 10 * MS), 15);
    ck_assert_uint_eq(token_bucket_wait_ms(&bucket, START + 10 * MS + 1), 15); /* rounds up */
    ck_assert_uint_eq(token_bucket_wait_ms(&bucket, START + 25 * MS), 0);
    token_bucket_spend(&bucket, 125000, START + 25 * MS); /* 100000 in debt */
    ck_assert_uint_eq(token_bucket_wait_ms(&bucket, START + 25 * MS), 125);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(a_wait_is_at_least_a_millisecond)
{
    struct token_bucket bucket;
    token_bucket_init(&bucket, 1000000000, START); /* a quarter burst: 25 ms */
    drain(&bucket, START);
    ck_assert_uint_eq(token_bucket_wait_ms(&bucket, START + 24 * MS + MS / 2), 1);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(rate_changes_keep_the_bucket)
{
    struct token_bucket bucket;
    token_bucket_init(&bucket, 1000000, START);
    drain(&bucket, START);
    token_bucket_spend(&bucket, 50000, START); /* debt survives a change */
    token_bucket_set_rate(&bucket, 2000000, START);
    ck_assert(token_bucket_limited(&bucket));
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 25 * MS), 0);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 35 * MS), 20000);
    /* Lowering the rate clamps what is saved to the smaller burst. */
    token_bucket_set_rate(&bucket, 200000, START + 10 * SECOND);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 10 * SECOND),
                      token_bucket_burst_for(200000));
    /* Unlimited, then limited again: it starts full. */
    token_bucket_set_rate(&bucket, 0, START + 10 * SECOND);
    ck_assert(!token_bucket_limited(&bucket));
    token_bucket_set_rate(&bucket, 1000000, START + 11 * SECOND);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 11 * SECOND), 100000);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(a_clock_read_earlier_by_another_thread_adds_nothing)
{
    struct token_bucket bucket;
    token_bucket_init(&bucket, 1000000, START);
    drain(&bucket, START + 10 * MS);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 5 * MS), 0);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 11 * MS), 1000);
    token_bucket_destroy(&bucket);
}
END_TEST

START_TEST(huge_rates_do_not_overflow)
{
    struct token_bucket bucket;
    token_bucket_init(&bucket, UINT64_MAX - 1, START);
    drain(&bucket, START);
    ck_assert_uint_gt(token_bucket_allowance(&bucket, SIZE_MAX, START + 59 * SECOND), 0);
    drain(&bucket, START + 59 * SECOND);
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 59 * SECOND + 1),
                      18446744073); /* 1 ns of rate */
    token_bucket_spend(&bucket, SIZE_MAX, START + 59 * SECOND + 1); /* the debt floor holds */
    ck_assert_uint_eq(token_bucket_allowance(&bucket, SIZE_MAX, START + 59 * SECOND + 2), 0);
    token_bucket_destroy(&bucket);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("token_bucket");
    TCase *arithmetic = tcase_create("arithmetic");
    tcase_add_test(arithmetic, burst_is_a_tenth_of_the_rate_with_a_floor);
    tcase_add_test(arithmetic, unlimited_allows_everything_and_never_waits);
    tcase_add_test(arithmetic, starts_full_then_gives_the_rate);
    tcase_add_test(arithmetic, fractions_add_up);
    tcase_add_test(arithmetic, idle_time_fills_no_more_than_the_burst);
    tcase_add_test(arithmetic, spenders_share_one_budget_and_repay_debt);
    tcase_add_test(arithmetic, wait_is_until_a_quarter_burst);
    tcase_add_test(arithmetic, a_wait_is_at_least_a_millisecond);
    tcase_add_test(arithmetic, rate_changes_keep_the_bucket);
    tcase_add_test(arithmetic, a_clock_read_earlier_by_another_thread_adds_nothing);
    tcase_add_test(arithmetic, huge_rates_do_not_overflow);
    suite_add_tcase(suite, arithmetic);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
