/* test_lifetime_usage: Check suite for server/accounting/lifetime_usage — samples turned into
 * lifetime figures (growth only, a new identity from zero, stale samples ignored), what a
 * reader sees between samples, failures from finished connections, resets, and changes. */
#include "lifetime_usage.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lifetime_usage *lifetime;
static const int alice_first, alice_second, bob; /* identities: only their addresses matter */

static void setup(void) { ck_assert_ptr_nonnull(lifetime = lifetime_usage_create()); }
static void teardown(void) { lifetime_usage_destroy(lifetime); }

static struct accounting_sample sample_of(uint64_t connections, uint64_t bytes_up)
{
    struct accounting_sample sample = {0};
    sample.connections_total = connections;
    sample.bytes_up = bytes_up;
    sample.bytes_down = 2 * bytes_up;
    return sample;
}

static struct accounting_usage usage_of(const char *user)
{
    struct accounting_usage usage;
    ck_assert(lifetime_usage_user(lifetime, user, NULL, NULL, &usage));
    return usage;
}

START_TEST(loaded_figures_grow_by_the_samples_growth)
{
    struct accounting_usage stored = {.connections_total = 10, .bytes_up = 1000};
    ck_assert(lifetime_usage_load_user(lifetime, "alice", &stored, NULL));
    struct accounting_sample now = sample_of(2, 50);
    ck_assert(lifetime_usage_sample_user(lifetime, "alice", &alice_first, &now, 111));
    now = sample_of(3, 80);
    ck_assert(lifetime_usage_sample_user(lifetime, "alice", &alice_first, &now, 222));
    struct accounting_usage usage = usage_of("alice");
    ck_assert_uint_eq(usage.connections_total, 13);
    ck_assert_uint_eq(usage.bytes_up, 1080);
    ck_assert_uint_eq(usage.bytes_down, 160);
    ck_assert_int_eq(usage.first_seen_ms, 111);
    ck_assert_int_eq(usage.last_seen_ms, 222);
}
END_TEST

START_TEST(a_stale_sample_is_ignored)
{
    struct accounting_sample newer = sample_of(5, 500), older = sample_of(4, 400);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &newer, 1);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &older, 2);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &newer, 3);
    struct accounting_usage usage = usage_of("alice");
    ck_assert_uint_eq(usage.connections_total, 5);
    ck_assert_uint_eq(usage.bytes_up, 500);
}
END_TEST

START_TEST(a_user_added_again_counts_from_zero)
{
    struct accounting_sample first = sample_of(5, 500), second = sample_of(1, 7);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &first, 1);
    lifetime_usage_sample_user(lifetime, "alice", &alice_second, &second, 2);
    struct accounting_usage usage = usage_of("alice");
    ck_assert_uint_eq(usage.connections_total, 6);
    ck_assert_uint_eq(usage.bytes_up, 507);
}
END_TEST

START_TEST(a_reader_sees_the_growth_since_the_last_sample)
{
    struct accounting_sample sampled = sample_of(2, 100), live = sample_of(3, 150);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &sampled, 1);
    struct accounting_usage usage;
    ck_assert(lifetime_usage_user(lifetime, "alice", &alice_first, &live, &usage));
    ck_assert_uint_eq(usage.connections_total, 3);
    ck_assert_uint_eq(usage.bytes_up, 150);
    /* Another identity's counters were never sampled: all of them are new. */
    ck_assert(lifetime_usage_user(lifetime, "alice", &alice_second, &live, &usage));
    ck_assert_uint_eq(usage.connections_total, 5);
    /* Nobody known, no counters: no figures. */
    ck_assert(!lifetime_usage_user(lifetime, "carol", NULL, NULL, &usage));
    ck_assert(lifetime_usage_user(lifetime, "carol", &bob, &live, &usage));
    ck_assert_uint_eq(usage.bytes_up, 150);
}
END_TEST

START_TEST(finished_connections_count_failures_by_reply_code)
{
    struct accounting_connection connection;
    memset(&connection, 0, sizeof connection);
    connection.authenticated = true;
    strcpy(connection.user, "bob");
    connection.started_ms = 50;
    connection.ended_ms = 70;
    connection.status = 5;
    ck_assert(lifetime_usage_add_connection(lifetime, &connection));
    ck_assert(lifetime_usage_add_connection(lifetime, &connection));
    connection.status = 0;
    connection.ended_ms = 90;
    ck_assert(lifetime_usage_add_connection(lifetime, &connection));
    connection.status = 200; /* not a reply code: ignored, never out of bounds */
    ck_assert(lifetime_usage_add_connection(lifetime, &connection));
    struct accounting_usage usage = usage_of("bob");
    ck_assert_uint_eq(usage.failures[5], 2);
    ck_assert_uint_eq(usage.failures[0], 0);
    ck_assert_int_eq(usage.first_seen_ms, 50);
    ck_assert_int_eq(usage.last_seen_ms, 90);
    /* A connection that never logged in belongs to nobody's figures. */
    connection.authenticated = false;
    connection.user[0] = 0;
    ck_assert(lifetime_usage_add_connection(lifetime, &connection));
    struct accounting_usage none;
    ck_assert(!lifetime_usage_user(lifetime, "", NULL, NULL, &none));
}
END_TEST

START_TEST(global_counters_grow_and_gauges_do_not_sum)
{
    uint64_t stored[ADMIN_METRIC_COUNT] = {0}, now[ADMIN_METRIC_COUNT] = {0}, out[ADMIN_METRIC_COUNT];
    stored[ADMIN_METRIC_INDEX_bytes_up] = 1000;
    lifetime_usage_load_global(lifetime, stored, NULL);
    now[ADMIN_METRIC_INDEX_bytes_up] = 10;
    now[ADMIN_METRIC_INDEX_connections_current] = 7;
    lifetime_usage_sample_global(lifetime, now);
    now[ADMIN_METRIC_INDEX_bytes_up] = 15;
    lifetime_usage_global(lifetime, now, out);
    ck_assert_uint_eq(out[ADMIN_METRIC_INDEX_bytes_up], 1015);
    ck_assert_uint_eq(out[ADMIN_METRIC_INDEX_connections_current], 0);
}
END_TEST

static int changed_count;

START_TEST(resets_zero_and_are_remembered)
{
    struct accounting_sample some = sample_of(4, 40);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &some, 1);
    lifetime_usage_sample_user(lifetime, "bob", &bob, &some, 1);
    struct accounting_reset reset = {.at_ms = 1234};
    strcpy(reset.by, "root");
    lifetime_usage_reset(lifetime, "alice", &reset);
    ck_assert_uint_eq(usage_of("alice").bytes_up, 0);
    ck_assert_uint_eq(usage_of("bob").bytes_up, 40);
    struct accounting_reset seen;
    lifetime_usage_last_reset(lifetime, "alice", &seen);
    ck_assert_int_eq(seen.at_ms, 1234);
    ck_assert_str_eq(seen.by, "root");
    lifetime_usage_last_reset(lifetime, "bob", &seen);
    ck_assert_int_eq(seen.at_ms, 0);
    /* Growth after the reset counts again. */
    some = sample_of(5, 45);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &some, 2);
    ck_assert_uint_eq(usage_of("alice").bytes_up, 5);

    struct accounting_reset everything = {.at_ms = 2000};
    strcpy(everything.by, "root");
    lifetime_usage_reset(lifetime, "", &everything);
    ck_assert_uint_eq(usage_of("bob").bytes_up, 0);
    lifetime_usage_last_reset(lifetime, "alice", &seen);
    ck_assert_int_eq(seen.at_ms, 2000); /* the newer of the two */

    /* The database's creation is a global reset by nobody: no user's reset. */
    struct accounting_reset created = {.at_ms = 3000};
    lifetime_usage_reset(lifetime, "", &created);
    lifetime_usage_last_reset(lifetime, "bob", &seen);
    ck_assert_int_eq(seen.at_ms, 0);
    lifetime_usage_last_reset(lifetime, "", &seen);
    ck_assert_int_eq(seen.at_ms, 3000);
}
END_TEST

static uint64_t growth_seen;
static struct accounting_usage alice_growth;
static struct lifetime_taken alice_taken;
static bool sum_growth(void *context, const char *user, const struct accounting_usage *growth,
                       struct lifetime_taken taken)
{
    (void)context;
    changed_count++;
    growth_seen += growth->bytes_up;
    if (strcmp(user, "alice") == 0) {
        alice_growth = *growth;
        alice_taken = taken;
    }
    return true;
}

static void take(struct lifetime_global_growth *global)
{
    changed_count = 0;
    growth_seen = 0;
    memset(&alice_growth, 0, sizeof alice_growth);
    ck_assert(lifetime_usage_take_changes(lifetime, sum_growth, NULL, global));
}

START_TEST(growth_is_given_until_saved)
{
    struct accounting_sample some = sample_of(1, 10);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &some, 1);
    lifetime_usage_sample_user(lifetime, "bob", &bob, &some, 1);
    struct lifetime_global_growth global;
    take(&global);
    ck_assert_int_eq(changed_count, 2);
    ck_assert_uint_eq(growth_seen, 20);
    /* The batch failed (nothing saved): the same growth, plus what came since, again. */
    some = sample_of(2, 15);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &some, 2);
    take(&global);
    ck_assert_uint_eq(growth_seen, 25);
    /* Alice's 15 are saved, but 3 more came while the batch was written: those stay. */
    struct accounting_usage saved = alice_growth;
    struct lifetime_taken taken = alice_taken;
    some = sample_of(3, 18);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &some, 3);
    lifetime_usage_saved_user(lifetime, "alice", taken, &saved);
    take(&global);
    ck_assert_uint_eq(alice_growth.bytes_up, 3);
    /* Saved whole: nothing more of alice's; bob's 10 were never saved. */
    lifetime_usage_saved_user(lifetime, "alice", alice_taken, &alice_growth);
    take(&global);
    ck_assert_uint_eq(alice_growth.bytes_up, 0);
    ck_assert_int_eq(changed_count, 1);
    ck_assert_uint_eq(growth_seen, 10);
    ck_assert_uint_eq(usage_of("alice").bytes_up, 18);
}
END_TEST

START_TEST(a_reset_during_a_write_keeps_the_growth_after_it)
{
    struct accounting_sample some = sample_of(1, 100);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &some, 1);
    struct lifetime_global_growth global;
    take(&global);
    struct accounting_usage saved = alice_growth;
    struct lifetime_taken taken = alice_taken;
    /* While the batch is written: a reset, then 50 bytes more. */
    struct accounting_reset reset = {.at_ms = 5};
    strcpy(reset.by, "root");
    lifetime_usage_reset(lifetime, "alice", &reset);
    some = sample_of(1, 150);
    lifetime_usage_sample_user(lifetime, "alice", &alice_first, &some, 2);
    lifetime_usage_saved_user(lifetime, "alice", taken, &saved);
    take(&global);
    ck_assert_uint_eq(alice_growth.bytes_up, 50);
}
END_TEST

START_TEST(many_users_stay_findable_as_the_table_grows)
{
    char name[32];
    for (int index = 0; index < 5000; index++) {
        snprintf(name, sizeof name, "user%d", index);
        struct accounting_sample some = sample_of((uint64_t)index + 1, 1);
        ck_assert(lifetime_usage_sample_user(lifetime, name, &bob, &some, 1));
    }
    for (int index = 0; index < 5000; index += 499) {
        snprintf(name, sizeof name, "user%d", index);
        ck_assert_uint_eq(usage_of(name).connections_total, (uint64_t)index + 1);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("lifetime_usage");
    TCase *tcase = tcase_create("core");
    tcase_add_checked_fixture(tcase, setup, teardown);
    tcase_add_test(tcase, loaded_figures_grow_by_the_samples_growth);
    tcase_add_test(tcase, a_stale_sample_is_ignored);
    tcase_add_test(tcase, a_user_added_again_counts_from_zero);
    tcase_add_test(tcase, a_reader_sees_the_growth_since_the_last_sample);
    tcase_add_test(tcase, finished_connections_count_failures_by_reply_code);
    tcase_add_test(tcase, global_counters_grow_and_gauges_do_not_sum);
    tcase_add_test(tcase, resets_zero_and_are_remembered);
    tcase_add_test(tcase, growth_is_given_until_saved);
    tcase_add_test(tcase, a_reset_during_a_write_keeps_the_growth_after_it);
    tcase_add_test(tcase, many_users_stay_findable_as_the_table_grows);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
