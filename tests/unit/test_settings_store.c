/* test_settings_store: the proxy settings' owner under concurrent changers and readers — no
 * change lost, every copy a whole version, one publication per change, after it is readable. */
#include "settings_store.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define CHANGERS 4
#define CHANGES_EACH 2000

struct published {
    atomic_uint count;
};

static void count_publication(void *context)
{
    struct published *published = context;
    atomic_fetch_add(&published->count, 1);
}

struct race {
    struct settings_store *store;
    atomic_bool changing;
    atomic_uint torn_copies;
};

/* Each change moves two fields together: a copy that holds one without the other is torn. */
static void *changer(void *argument)
{
    struct race *race = argument;
    for (int i = 0; i < CHANGES_EACH; i++) {
        struct proxy_settings *next = settings_store_begin_change(race->store);
        next->history_per_user++;
        next->handshake_timeout_ms = (uint32_t)next->history_per_user;
        next->connect_timeout_ms = (uint32_t)next->history_per_user;
        settings_store_commit_change(race->store);
    }
    return NULL;
}

static void *reader(void *argument)
{
    struct race *race = argument;
    while (atomic_load(&race->changing)) {
        struct proxy_settings copy;
        settings_store_read(race->store, &copy);
        if (copy.handshake_timeout_ms != copy.history_per_user ||
            copy.connect_timeout_ms != copy.history_per_user)
            atomic_fetch_add(&race->torn_copies, 1);
    }
    return NULL;
}

START_TEST(concurrent_changes_are_all_kept_and_every_copy_is_whole)
{
    struct proxy_settings initial = { .buffer_size = 16384 };
    struct published published = { 0 };
    struct race race = { 0 };
    race.store = settings_store_create(&initial, count_publication, &published);
    ck_assert_ptr_nonnull(race.store);
    atomic_store(&race.changing, true);
    pthread_t changers[CHANGERS], readers[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&readers[i], NULL, reader, &race), 0);
    for (int i = 0; i < CHANGERS; i++)
        ck_assert_int_eq(pthread_create(&changers[i], NULL, changer, &race), 0);
    for (int i = 0; i < CHANGERS; i++)
        pthread_join(changers[i], NULL);
    atomic_store(&race.changing, false);
    for (int i = 0; i < 2; i++)
        pthread_join(readers[i], NULL);

    struct proxy_settings final;
    settings_store_read(race.store, &final);
    ck_assert_uint_eq(final.history_per_user, CHANGERS * CHANGES_EACH);
    ck_assert_uint_eq(final.buffer_size, 16384); /* untouched fields stay */
    ck_assert_uint_eq(atomic_load(&race.torn_copies), 0);
    ck_assert_uint_eq(atomic_load(&published.count), CHANGERS * CHANGES_EACH);
    settings_store_destroy(race.store);
}
END_TEST

struct order {
    struct settings_store *store;
    uint32_t seen_by_publisher;
};

static void note_current(void *context)
{
    struct order *order = context;
    struct proxy_settings now;
    settings_store_read(order->store, &now);
    order->seen_by_publisher = now.buffer_size;
}

START_TEST(the_publisher_runs_once_the_change_is_readable)
{
    struct proxy_settings initial = { .buffer_size = 16384, .no_auth_allowed = false };
    struct order order = { 0 };
    order.store = settings_store_create(&initial, note_current, &order);
    ck_assert_ptr_nonnull(order.store);
    order.seen_by_publisher = 0;
    settings_store_begin_change(order.store)->buffer_size = 4099;
    settings_store_commit_change(order.store);
    ck_assert_uint_eq(order.seen_by_publisher, 4099);
    struct proxy_settings now;
    settings_store_read(order.store, &now);
    ck_assert_uint_eq(now.buffer_size, 4099);
    ck_assert(!now.no_auth_allowed);
    settings_store_destroy(order.store);
}
END_TEST

static Suite *settings_store_suite(void)
{
    Suite *suite = suite_create("settings_store");
    TCase *store = tcase_create("store");
    tcase_set_timeout(store, 60);
    tcase_add_test(store, concurrent_changes_are_all_kept_and_every_copy_is_whole);
    tcase_add_test(store, the_publisher_runs_once_the_change_is_readable);
    suite_add_tcase(suite, store);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(settings_store_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
