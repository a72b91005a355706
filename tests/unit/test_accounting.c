/* test_accounting: Check suite for server/accounting/accounting — the writer thread with a real
 * database in a temporary directory: what is queued is stored by stop, a full queue loses
 * nothing silently (stored + dropped = finished), samples become lifetime figures that a restart
 * keeps, resets, searches from another thread's handle, and figures that answer while a batch
 * waits for the database. */
#include "accounting.h"
#include "log.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char directory[] = "/tmp/test_accounting.XXXXXX";
static char path[256];

/* What the sources report: one user whose counters the test sets. */
static struct accounting_sample alice_counters;
static const int alice_identity = 0;
static uint64_t global_counters[ADMIN_METRIC_COUNT];

static void sample_users(void *context, accounting_emit emit, void *emit_context)
{
    (void)context;
    emit(emit_context, "alice", &alice_identity, &alice_counters);
}

static void sample_global(void *context, uint64_t values[ADMIN_METRIC_COUNT])
{
    (void)context;
    memcpy(values, global_counters, sizeof global_counters);
}

static const struct accounting_sources sources = {sample_users, sample_global, NULL};

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(directory));
    snprintf(path, sizeof path, "%s/accounting.db", directory);
    memset(&alice_counters, 0, sizeof alice_counters);
    memset(global_counters, 0, sizeof global_counters);
}

static void teardown(void)
{
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", directory);
    ck_assert_int_eq(system(command), 0);
    strcpy(directory, "/tmp/test_accounting.XXXXXX");
}

static struct accounting *start(unsigned queue_capacity)
{
    struct accounting_settings settings;
    accounting_settings_defaults(&settings);
    settings.path = path;
    settings.batch_interval_ms = 50;
    if (queue_capacity != 0) {
        settings.queue_capacity = queue_capacity;
        settings.batch_records = queue_capacity;
    }
    char error[ACCOUNTING_ERROR_MAX] = "";
    struct accounting *accounting = accounting_start(&settings, &sources, error);
    ck_assert_msg(accounting != NULL, "%s", error);
    return accounting;
}

static void finish_connection(struct accounting *accounting, uint64_t id, uint8_t status)
{
    struct connection_record *record = connection_record_create(id, "127.0.0.1:5000");
    ck_assert_ptr_nonnull(record);
    record->started_ms = log_realtime_ms() - 1000; /* recent: retention keeps 90 days */
    record->ended_ms = record->started_ms + 10;
    record->destination = strdup("example.com:443");
    snprintf(record->destination_address, sizeof record->destination_address,
             "192.0.2.1:443");
    record->status = status;
    record->replied = true;
    record->bytes_up = id;
    accounting_connection_finished(accounting, record);
    connection_record_free(record);
}

static bool count_row(void *context, const struct accounting_connection *connection)
{
    (void)connection;
    (*(unsigned *)context)++;
    return true;
}

static unsigned stored_rows(struct accounting *accounting)
{
    struct accounting_filter filter;
    accounting_filter_init(&filter, 10000);
    unsigned rows = 0;
    bool more;
    char error[ACCOUNTING_ERROR_MAX] = "";
    ck_assert_msg(accounting_search(accounting, &filter, count_row, &rows, &more, error), "%s",
                  error);
    return rows;
}

START_TEST(queued_connections_are_stored_by_stop)
{
    struct accounting *accounting = start(0);
    for (uint64_t id = 1; id <= 100; id++)
        finish_connection(accounting, id, id % 10 == 0 ? 5 : 0);
    accounting_stop(accounting);
    accounting = start(0);
    ck_assert_uint_eq(stored_rows(accounting), 100);
    ck_assert_uint_eq(accounting_dropped(accounting), 0);
    accounting_stop(accounting);
}
END_TEST

START_TEST(dropped_records_are_counted)
{
    struct accounting *accounting = start(8);
    for (uint64_t id = 1; id <= 3000; id++)
        finish_connection(accounting, id, 0);
    /* Whatever the writer took is stored within a few batches; the rest was counted. */
    uint64_t dropped = 0;
    unsigned stored = 0;
    for (int wait = 0; wait < 200 && stored + dropped != 3000; wait++) {
        usleep(50000);
        dropped = accounting_dropped(accounting);
        stored = stored_rows(accounting);
    }
    ck_assert_uint_eq(stored + dropped, 3000);
    ck_assert_uint_gt(dropped, 0); /* 3000 finished at once cannot fit a queue of 8 */
    accounting_stop(accounting);
    /* The drops are a lifetime figure like the workers' counters: the next run starts at 0. */
    accounting = start(8);
    ck_assert_uint_eq(accounting_dropped(accounting), 0);
    uint64_t since_start[ADMIN_METRIC_COUNT] = {0};
    uint64_t lifetime[ADMIN_METRIC_COUNT];
    ck_assert(accounting_global_lifetime(accounting, since_start, lifetime));
    ck_assert_uint_eq(lifetime[ADMIN_METRIC_INDEX_accounting_dropped], dropped);
    accounting_stop(accounting);
}
END_TEST

START_TEST(lifetime_figures_survive_a_restart)
{
    struct accounting *accounting = start(0);
    alice_counters.connections_total = 3;
    alice_counters.bytes_up = 300;
    global_counters[ADMIN_METRIC_INDEX_bytes_down] = 77;
    finish_connection(accounting, 1, 4);
    accounting_stop(accounting);

    /* A new process: its counters start from zero again. */
    memset(&alice_counters, 0, sizeof alice_counters);
    memset(global_counters, 0, sizeof global_counters);
    accounting = start(0);
    alice_counters.connections_total = 1;
    alice_counters.bytes_up = 10;
    struct accounting_usage usage;
    ck_assert(accounting_user_lifetime(accounting, "alice", &alice_identity, &alice_counters,
                                       &usage));
    ck_assert_uint_eq(usage.connections_total, 4);
    ck_assert_uint_eq(usage.bytes_up, 310);
    uint64_t lifetime[ADMIN_METRIC_COUNT];
    ck_assert(accounting_global_lifetime(accounting, global_counters, lifetime));
    ck_assert_uint_eq(lifetime[ADMIN_METRIC_INDEX_bytes_down], 77);
    struct accounting_reset created;
    accounting_last_reset(accounting, "", &created);
    ck_assert_int_gt(created.at_ms, 0); /* the database's creation */
    accounting_stop(accounting);
}
END_TEST

START_TEST(a_reset_is_kept_with_who_did_it)
{
    struct accounting *accounting = start(0);
    alice_counters.bytes_up = 500;
    ck_assert(accounting_reset_usage(accounting, "alice", "root"));
    struct accounting_usage usage;
    ck_assert(accounting_user_lifetime(accounting, "alice", &alice_identity, &alice_counters,
                                       &usage));
    ck_assert_uint_eq(usage.bytes_up, 0);
    accounting_stop(accounting);

    memset(&alice_counters, 0, sizeof alice_counters);
    accounting = start(0);
    struct accounting_reset reset;
    accounting_last_reset(accounting, "alice", &reset);
    ck_assert_int_gt(reset.at_ms, 0);
    ck_assert_str_eq(reset.by, "root");
    ck_assert(accounting_user_lifetime(accounting, "alice", NULL, NULL, &usage));
    ck_assert_uint_eq(usage.bytes_up, 0);
    accounting_stop(accounting);
}
END_TEST

/* The admin's questions do not wait for the database: a batch stuck behind another process's
 * write lock (SQLite's busy timeout, 5 s) holds no lock they need. Had it held one, the answer
 * would come only once the batch gave up, failing. */
START_TEST(the_figures_answer_while_a_batch_waits_for_the_database)
{
    struct accounting *accounting = start(0);
    sqlite3 *other = NULL;
    ck_assert_int_eq(sqlite3_open(path, &other), SQLITE_OK);
    sqlite3_busy_timeout(other, 10000);
    ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    usleep(300000); /* batches every 50 ms: the writer is waiting for the lock by now */
    alice_counters.bytes_up = 5;
    struct accounting_usage usage;
    ck_assert(accounting_user_lifetime(accounting, "alice", &alice_identity, &alice_counters,
                                       &usage));
    uint64_t lifetime[ADMIN_METRIC_COUNT];
    ck_assert(accounting_global_lifetime(accounting, global_counters, lifetime));
    struct accounting_status status;
    accounting_get_status(accounting, &status);
    ck_assert_msg(!status.failing, "the answer waited for the batch: %s", status.error);
    ck_assert_int_eq(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_close(other), SQLITE_OK);
    /* The waiting batch goes through once the lock is gone. */
    finish_connection(accounting, 1, 0);
    accounting_stop(accounting);
    accounting = start(0);
    ck_assert_uint_eq(stored_rows(accounting), 1);
    ck_assert(accounting_user_lifetime(accounting, "alice", NULL, NULL, &usage));
    ck_assert_uint_eq(usage.bytes_up, 5);
    accounting_stop(accounting);
}
END_TEST

START_TEST(a_database_that_cannot_be_opened_is_refused_with_its_path)
{
    snprintf(path, sizeof path, "%s/missing/accounting.db", directory);
    struct accounting_settings settings;
    accounting_settings_defaults(&settings);
    settings.path = path;
    char error[ACCOUNTING_ERROR_MAX] = "";
    ck_assert_ptr_null(accounting_start(&settings, &sources, error));
    ck_assert_msg(strstr(error, path) != NULL, "%s", error);
}
END_TEST

START_TEST(off_answers_without_crashing)
{
    struct accounting_usage usage;
    struct accounting_reset reset;
    struct accounting_status status;
    accounting_connection_finished(NULL, NULL);
    ck_assert(!accounting_enabled(NULL));
    ck_assert_uint_eq(accounting_dropped(NULL), 0);
    ck_assert(!accounting_user_lifetime(NULL, "alice", NULL, NULL, &usage));
    ck_assert(!accounting_reset_usage(NULL, "", "root"));
    accounting_last_reset(NULL, "", &reset);
    ck_assert_int_eq(reset.at_ms, 0);
    accounting_get_status(NULL, &status);
    ck_assert(!status.enabled);
    accounting_stop(NULL);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("accounting");
    TCase *tcase = tcase_create("writer");
    tcase_set_timeout(tcase, 60);
    tcase_add_checked_fixture(tcase, setup, teardown);
    tcase_add_test(tcase, queued_connections_are_stored_by_stop);
    tcase_add_test(tcase, dropped_records_are_counted);
    tcase_add_test(tcase, lifetime_figures_survive_a_restart);
    tcase_add_test(tcase, a_reset_is_kept_with_who_did_it);
    tcase_add_test(tcase, the_figures_answer_while_a_batch_waits_for_the_database);
    tcase_add_test(tcase, a_database_that_cannot_be_opened_is_refused_with_its_path);
    tcase_add_test(tcase, off_answers_without_crashing);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
