/* test_console_fleet_merge: several servers' answers to one command as one body — changes, records
 * with their total, tables with a server column — exact bodies, what adds up, and garbage. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_metrics.h"
#include "fleet_merge.h"

#define BODY_LIMIT (1u << 24)

static size_t merged_length; /* of the last merge's body, which garbage may fill with NULs */

/* The merged body as a string (owned by the caller); NULL when fleet_merge said no. */
static char *merge(enum admin_body_kind kind, const struct fleet_answer *answers, size_t count)
{
    struct admin_text text;
    admin_text_init(&text, 0, BODY_LIMIT);
    char *body = NULL;
    if (fleet_merge(kind, answers, count, &text)) {
        merged_length = admin_text_body_length(&text);
        body = malloc(merged_length + 1);
        ck_assert_ptr_nonnull(body);
        memcpy(body, admin_text_body(&text), merged_length + 1);
    }
    admin_text_free(&text);
    return body;
}

static struct fleet_answer ok(const char *server, const char *body)
{
    return (struct fleet_answer){.server = server, .ok = true, .body = body,
                                 .length = strlen(body)};
}

static struct fleet_answer failed(const char *server, const char *error)
{
    return (struct fleet_answer){.server = server, .error = error};
}

static bool summable(const char *name)
{
    return fleet_merge_summable(name, strlen(name));
}

START_TEST(what_adds_up)
{
    /* Every counter and gauge of the metrics registry, and each counter's lifetime figure. */
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        char lifetime[128];
        ck_assert_msg(summable(admin_metrics[i].name), "%s", admin_metrics[i].name);
        snprintf(lifetime, sizeof(lifetime), ADMIN_LIFETIME_PREFIX "%s", admin_metrics[i].name);
        ck_assert_msg(summable(lifetime) == (admin_metrics[i].kind == ADMIN_METRIC_COUNTER),
                      "%s", lifetime);
    }
    static const char *const yes[] = {
        "connections_live", "datagrams_up", "lifetime_datagrams_down", "total", "closed",
        "history_rows", "admin_sessions", "lifetime_connections_total", "bytes_up",
    };
    static const char *const no[] = {
        "uptime_seconds", "max_connections", "upload_limit", "download_limit", "user", "role",
        "started", "id", "buffer_size", "users", "lifetime_since", "lifetime_", "", "server",
        "offset", "protocol_version", "lifetime_connections_current", "bytes_up_",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(summable(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!summable(no[i]), "%s", no[i]);
    /* By length, not up to a NUL. */
    ck_assert(fleet_merge_summable("totalx", 5));
    ck_assert(!fleet_merge_summable("total", 4));
}
END_TEST

START_TEST(changes)
{
    struct fleet_answer answers[] = {
        ok("a:1", ""),
        failed("b:2", "bob: user already exists (already exists)"),
        failed("[::1]:3", "cannot connect to [::1]:3: Connection refused"),
    };
    char *body = merge(ADMIN_BODY_EMPTY, answers, 3);
    ck_assert_str_eq(body, "\nserver\tresult\terror\n"
                           "a:1\tok\t-\n"
                           "b:2\terror\tbob: user already exists (already exists)\n"
                           "[::1]:3\terror\tcannot connect to [::1]:3: Connection refused\n");
    free(body);
    /* Every server failed: still one row each. */
    body = merge(ADMIN_BODY_EMPTY, answers + 1, 2);
    ck_assert_ptr_nonnull(body);
    free(body);
}
END_TEST

START_TEST(records_with_total)
{
    struct fleet_answer answers[] = {
        ok("a:1", "uptime_seconds: 10\nconnections_total: 5\nbytes_up: 100\nauth_mode: x\n"),
        failed("b:2", "timed out"),
        /* Keys in another order, one missing, one more, a "-" where a figure is unknown. */
        ok("c:3", "connections_total: 7\nuptime_seconds: 99\nbytes_up: -\nextra: 1\n"),
    };
    char *body = merge(ADMIN_BODY_RECORD, answers, 3);
    ck_assert_str_eq(body, "\nserver\tuptime_seconds\tconnections_total\tbytes_up\tauth_mode\textra\n"
                           "a:1\t10\t5\t100\tx\t-\n"
                           "c:3\t99\t7\t-\t-\t1\n"
                           "total\t-\t12\t100\t-\t-\n");
    free(body);
}
END_TEST

START_TEST(records_without_sums)
{
    struct fleet_answer answers[] = {
        ok("a:1", "buffer_size: 16384\n"),
        ok("b:2", "buffer_size: 8192\n"),
    };
    char *body = merge(ADMIN_BODY_RECORD, answers, 2);
    ck_assert_str_eq(body, "\nserver\tbuffer_size\na:1\t16384\nb:2\t8192\n");
    free(body);
    /* The server-info record's own `server` key keeps the columns unique. */
    struct fleet_answer info[] = {
        ok("a:1", "server: socks5d 0.1.0\nusers: 3\n"),
        ok("b:2", "server: socks5d 0.2.0\nusers: 4\n"),
    };
    body = merge(ADMIN_BODY_RECORD, info, 2);
    ck_assert_str_eq(body, "\nserver\tserver_version\tusers\n"
                           "a:1\tsocks5d 0.1.0\t3\nb:2\tsocks5d 0.2.0\t4\n");
    free(body);
}
END_TEST

START_TEST(sum_overflow_and_no_numbers)
{
    struct fleet_answer answers[] = {
        ok("a:1", "bytes_up: 18446744073709551615\nclosed: -\n"),
        ok("b:2", "bytes_up: 1\nclosed: -\n"),
    };
    char *body = merge(ADMIN_BODY_RECORD, answers, 2);
    ck_assert_str_eq(body, "\nserver\tbytes_up\tclosed\n"
                           "a:1\t18446744073709551615\t-\n"
                           "b:2\t1\t-\n"
                           "total\t-\t-\n");
    free(body);
}
END_TEST

START_TEST(tables)
{
    struct fleet_answer answers[] = {
        ok("a:1", "total: 2\nmore: no\nsafe_defaults: loopback\noffset: 0\n\n"
                  "user\trole\tbytes_up\nalice\tuser\t5\nroot\tadmin\t7\n"),
        failed("b:2", "refused"),
        /* Columns in another order, one missing, one unknown to the first. */
        ok("c:3", "total: 1\nmore: yes\nsafe_defaults: none\noffset: 0\n\n"
                  "bytes_up\tuser\tnew\n9\tbob\tz\n"),
    };
    char *body = merge(ADMIN_BODY_TABLE, answers, 3);
    ck_assert_str_eq(body, "total: 3\nmore: yes\nsafe_defaults: -\noffset: 0\n"
                           "\nserver\tuser\trole\tbytes_up\n"
                           "a:1\talice\tuser\t5\n"
                           "a:1\troot\tadmin\t7\n"
                           "c:3\tbob\t-\t9\n");
    free(body);
}
END_TEST

START_TEST(tables_without_rows_or_record)
{
    struct fleet_answer answers[] = {ok("a:1", "\nid\tuser\n"), ok("b:2", "\nid\tuser\n")};
    char *body = merge(ADMIN_BODY_TABLE, answers, 2);
    ck_assert_str_eq(body, "\nserver\tid\tuser\n");
    free(body);
}
END_TEST

START_TEST(nothing_answered)
{
    struct fleet_answer answers[] = {failed("a:1", "x"), failed("b:2", "y")};
    ck_assert_ptr_null(merge(ADMIN_BODY_RECORD, answers, 2));
    ck_assert_ptr_null(merge(ADMIN_BODY_TABLE, answers, 2));
}
END_TEST

START_TEST(server_names_escaped)
{
    struct fleet_answer answers[] = {ok("evil\t\x1b[2J:1", ""), ok("b:2", "")};
    char *body = merge(ADMIN_BODY_EMPTY, answers, 2);
    ck_assert_str_eq(body, "\nserver\tresult\terror\nevil\\t\\x1b[2J:1\tok\t-\nb:2\tok\t-\n");
    free(body);
}
END_TEST

/* Every merged body is a table whose rows have as many fields as its header. */
static void check_well_formed(const char *body)
{
    struct admin_table table;
    ck_assert_msg(admin_table_open(&table, body, merged_length), "[%s]", body);
    struct admin_row row;
    while (admin_table_next_row(&table, &row))
        ck_assert_uint_eq(admin_row_field_count(&row), table.column_count);
}

/* Each prefix of a record and of a table body, from each of two servers. */
START_TEST(every_prefix)
{
    static const char *const bodies[] = {
        "connections_total: 5\nbytes_up: 100\nuser: a\\tb\n",
        "total: 2\nmore: no\n\nuser\trole\tbytes_up\nalice\tuser\t5\nroot\tadmin\t7\n",
    };
    static const enum admin_body_kind kinds[] = {ADMIN_BODY_RECORD, ADMIN_BODY_TABLE};
    for (size_t b = 0; b < 2; b++) {
        size_t length = strlen(bodies[b]);
        for (size_t cut = 0; cut <= length; cut++) {
            char *copy = malloc(cut > 0 ? cut : 1);
            ck_assert_ptr_nonnull(copy);
            memcpy(copy, bodies[b], cut);
            struct fleet_answer answers[] = {
                {.server = "a:1", .ok = true, .body = copy, .length = cut},
                ok("b:2", bodies[b]),
            };
            char *body = merge(kinds[b], answers, 2);
            ck_assert_ptr_nonnull(body);
            check_well_formed(body);
            free(body);
            free(copy);
        }
    }
}
END_TEST

START_TEST(garbage)
{
    uint32_t seed = 1616;
    static const char alphabet[] = "ab_1: \t\n\\-0";
    for (int round = 0; round < 3000; round++) {
        char *texts[3];
        struct fleet_answer answers[3];
        for (size_t s = 0; s < 3; s++) {
            size_t length = (size_t)((round * 7 + (int)s * 13) % 120);
            texts[s] = malloc(length > 0 ? length : 1);
            ck_assert_ptr_nonnull(texts[s]);
            for (size_t i = 0; i < length; i++) {
                seed = seed * 1103515245u + 12345u;
                texts[s][i] = (seed >> 16) % 4 == 0
                                  ? (char)(seed >> 8)
                                  : alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
            }
            answers[s] = (struct fleet_answer){.server = "s:1", .ok = (round + (int)s) % 5 != 0,
                                               .body = texts[s], .length = length,
                                               .error = "e"};
        }
        enum admin_body_kind kind = (enum admin_body_kind)(round % 3);
        char *body = merge(kind, answers, 3);
        if (body != NULL)
            check_well_formed(body);
        else
            ck_assert(kind != ADMIN_BODY_EMPTY);
        free(body);
        for (size_t s = 0; s < 3; s++)
            free(texts[s]);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("console_fleet_merge");
    TCase *sums = tcase_create("sums");
    tcase_add_test(sums, what_adds_up);
    tcase_add_test(sums, sum_overflow_and_no_numbers);
    suite_add_tcase(suite, sums);
    TCase *shapes = tcase_create("shapes");
    tcase_add_test(shapes, changes);
    tcase_add_test(shapes, records_with_total);
    tcase_add_test(shapes, records_without_sums);
    tcase_add_test(shapes, tables);
    tcase_add_test(shapes, tables_without_rows_or_record);
    tcase_add_test(shapes, nothing_answered);
    tcase_add_test(shapes, server_names_escaped);
    suite_add_tcase(suite, shapes);
    TCase *input = tcase_create("input");
    tcase_add_test(input, every_prefix);
    tcase_add_test(input, garbage);
    suite_add_tcase(suite, input);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
