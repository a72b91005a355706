/* test_console_history: socks5ctl's connections words that ask the accounting database's history
 * instead of the server's connections, and the history pages it gathers into one table. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "admin_commands.h"
#include "command_context.h"
#include "connection_query.h"

#define NOW_MS INT64_C(1796000000000)

static int parse_line(char *line, struct connection_query *query, char *error, size_t size)
{
    char *argv[16];
    int argc = 0;
    for (char *word = strtok(line, " "); word != NULL && argc < 16; word = strtok(NULL, " "))
        argv[argc++] = word;
    return connection_query_parse(argc, argv, NOW_MS, query, error, size);
}

START_TEST(plain_words_ask_the_server)
{
    char line[] = "connections bob --live --limit 5 --offset=2";
    struct connection_query query;
    char error[256];
    ck_assert_int_eq(parse_line(line, &query, error, sizeof(error)), CONSOLE_EXIT_OK);
    ck_assert(!query.history);
    ck_assert_uint_eq(query.request.command, ADMIN_CMD_CONNECTIONS);
    ck_assert_str_eq(query.request.args.connections.user.text, "bob");
    ck_assert_uint_eq(query.request.args.connections.which, ADMIN_CONNECTIONS_LIVE);
    ck_assert_uint_eq(query.request.args.connections.limit, 5);
    ck_assert_uint_eq(query.request.args.connections.offset, 2);
}
END_TEST

START_TEST(history_words_ask_the_database)
{
    char line[] = "connections alice --destination 10.0.0.0/8 --since 2026-12-01T10:00+01:00 "
                  "--until=2026-12-02 --status failed --limit 25000";
    struct connection_query query;
    char error[256];
    ck_assert_int_eq(parse_line(line, &query, error, sizeof(error)), CONSOLE_EXIT_OK);
    ck_assert(query.history);
    ck_assert_uint_eq(query.request.command, ADMIN_CMD_HISTORY);
    const struct admin_args_history *args = &query.request.args.history;
    ck_assert_str_eq(args->user.text, "alice");
    ck_assert_str_eq(args->destination.text, "10.0.0.0/8");
    ck_assert_str_eq(args->status.text, "failed");
    ck_assert_uint_eq(args->since, 1796115600000ull);
    ck_assert_uint_eq(args->until, 1796169600000ull);
    ck_assert_uint_eq(args->before, 0);
    ck_assert_uint_eq(query.wanted, 25000);
    ck_assert_uint_eq(args->limit, ADMIN_HISTORY_LIMIT_MAX); /* one page at most */

    char relative[] = "connections --since 2h --until=30m";
    ck_assert_int_eq(parse_line(relative, &query, error, sizeof(error)), CONSOLE_EXIT_OK);
    ck_assert_uint_eq(query.request.args.history.since, (uint64_t)(NOW_MS - 7200000));
    ck_assert_uint_eq(query.request.args.history.until, (uint64_t)(NOW_MS - 1800000));

    char only[] = "connections --history";
    ck_assert_int_eq(parse_line(only, &query, error, sizeof(error)), CONSOLE_EXIT_OK);
    ck_assert(query.history && !query.limit_given);
    ck_assert_uint_eq(query.wanted, 0);
    ck_assert_uint_eq(query.request.args.history.user.length, 0);

    static const char *const bad[] = {
        "connections --history --recent", "connections --since 5x", "connections --until",
        "connections --status 256", "connections --status=ok", "connections --history --offset 3",
        "connections --since 1h --until 2h", "connections --until 1970-01-01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char copy[128];
        strcpy(copy, bad[i]);
        error[0] = '\0';
        ck_assert_msg(parse_line(copy, &query, error, sizeof(error)) == CONSOLE_EXIT_USAGE,
                      "%s accepted", bad[i]);
        ck_assert(error[0] != '\0');
    }
}
END_TEST

static const char page_one[] = "more: yes\n\n"
                               "id\tstate\tuser\thistory_id\tended\n"
                               "9\tclosed\tbob\t120\t2026-12-01T10:00:00.000Z\n"
                               "8\tclosed\tbob\t119\t2026-12-01T09:00:00.000Z\n";
static const char page_two[] = "more: no\n\n"
                               "id\tstate\tuser\thistory_id\tended\n"
                               "3\tclosed\tbob\t7\t2026-11-30T10:00:00.000Z\n";

START_TEST(pages_gather_into_one_table)
{
    struct history_pages pages = {0};
    ck_assert(history_pages_add(&pages, page_one, strlen(page_one)));
    ck_assert(pages.more);
    ck_assert_uint_eq(pages.last_history_id, 119);
    ck_assert(history_pages_add(&pages, page_two, strlen(page_two)));
    ck_assert(!pages.more);
    ck_assert_uint_eq(pages.row_count, 3);
    ck_assert_uint_eq(pages.last_history_id, 7);
    size_t length;
    char *body = history_pages_body(&pages, &length);
    ck_assert_str_eq(body, "more: no\n\n"
                           "id\tstate\tuser\thistory_id\tended\n"
                           "9\tclosed\tbob\t120\t2026-12-01T10:00:00.000Z\n"
                           "8\tclosed\tbob\t119\t2026-12-01T09:00:00.000Z\n"
                           "3\tclosed\tbob\t7\t2026-11-30T10:00:00.000Z\n");
    ck_assert_uint_eq(length, strlen(body));
    free(body);
    history_pages_free(&pages);

    /* Not a history table: no history_id column, a bad id, no table, a bad "more". */
    static const char *const bad[] = {
        "total: 1\n\nid\tstate\n1\tclosed\n",
        "more: no\n\nid\thistory_id\n1\tseven\n",
        "more: no\n",
        "more: perhaps\n\nid\thistory_id\n1\t2\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!history_pages_add(&pages, bad[i], strlen(bad[i])), "accepted %s", bad[i]);
        history_pages_free(&pages);
    }
    /* An empty history still makes a table. */
    body = history_pages_body(&pages, &length);
    ck_assert_str_eq(body, "more: no\n\n");
    free(body);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("console_history");
    TCase *words = tcase_create("words");
    tcase_add_test(words, plain_words_ask_the_server);
    tcase_add_test(words, history_words_ask_the_database);
    tcase_add_test(words, pages_gather_into_one_table);
    suite_add_tcase(suite, words);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
