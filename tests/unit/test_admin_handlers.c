/* test_admin_handlers: socks5d's handler table against the protocol's command table — every
 * command the protocol defines has its line, and no line answers a code the protocol lacks. */
#include <check.h>
#include <stdlib.h>

#include "admin_commands.h"
#include "admin_handlers.h"
#include "admin_accounting.h"
#include "admin_server.h"
#include "connection_pages.h"
#include "users.h"

#include <stdio.h>
#include <string.h>

START_TEST(every_protocol_command_has_a_handler_line)
{
    for (size_t i = 0; i < admin_command_count(); i++) {
        const struct admin_command_info *info = admin_command_at(i);
        ck_assert_msg(admin_handler_listed(info->code),
                      "%s (0x%02x) has no line in admin_handlers.c's handler table: add its "
                      "handler, or list it without one to decline it",
                      info->name, info->code);
    }
}
END_TEST

START_TEST(every_handler_line_is_a_protocol_command)
{
    for (unsigned code = 0; code <= 0xFF; code++)
        if (admin_handler_listed((uint8_t)code))
            ck_assert_msg(admin_command_info((uint8_t)code) != NULL,
                          "the handler table lists 0x%02x, which the protocol does not define",
                          code);
}
END_TEST

START_TEST(the_connection_columns_cover_the_protocol_s)
{
    ck_assert(connection_columns_cover_protocol());
}
END_TEST

START_TEST(the_history_columns_are_the_protocol_s)
{
    ck_assert(admin_history_columns_cover_protocol());
}
END_TEST

static void response_init(struct admin_response *response)
{
    memset(response, 0, sizeof(*response));
    admin_text_init(&response->body, ADMIN_RESPONSE_HEADER_SIZE, ADMIN_RESPONSE_BODY_MAX);
}

static bool body_has(const struct admin_response *response, const char *key, const char *value)
{
    char text[128];
    const char *body = admin_text_body(&response->body);
    size_t length = admin_text_body_length(&response->body);
    return admin_record_get_text(body, length, key, text, sizeof(text)) &&
           strcmp(text, value) == 0;
}

/* With accounting off (NULL), the database's commands answer "unavailable" after the checks
 * that do not need it, and every lifetime figure is "-". */
START_TEST(accounting_off_answers)
{
    struct users *users = users_create();
    ck_assert_int_eq(users_add_hashed(users, "bob", "$6$x$y", USER_ROLE_USER), USERS_OK);
    struct admin_response response;

    struct admin_args_history history;
    memset(&history, 0, sizeof(history));
    response_init(&response);
    admin_accounting_history(NULL, &history, NULL, &response);
    ck_assert_uint_eq(response.status, ADMIN_STATUS_UNAVAILABLE);
    ck_assert_str_eq(response.message, "accounting is off");
    admin_text_free(&response.body);
    admin_str8_set(&history.status, "999");
    response_init(&response);
    admin_accounting_history(NULL, &history, "bob", &response);
    ck_assert_uint_eq(response.status, ADMIN_STATUS_BAD_REQUEST);
    admin_text_free(&response.body);

    struct admin_args_reset_usage reset;
    memset(&reset, 0, sizeof(reset));
    const char *const names[] = {"", "bob", "anonymous"};
    for (size_t i = 0; i < 3; i++) {
        admin_str8_set(&reset.user, names[i]);
        response_init(&response);
        admin_accounting_reset_usage(NULL, users, &reset, "root", &response);
        ck_assert_uint_eq(response.status, ADMIN_STATUS_UNAVAILABLE);
        admin_text_free(&response.body);
    }
    admin_str8_set(&reset.user, "nobody");
    response_init(&response);
    admin_accounting_reset_usage(NULL, users, &reset, "root", &response);
    ck_assert_uint_eq(response.status, ADMIN_STATUS_NOT_FOUND);
    admin_text_free(&response.body);

    struct user *bob = users_find(users, "bob", 3);
    response_init(&response);
    admin_accounting_put_user(&response.body, NULL, bob);
    const char *const user_keys[] = {
        ADMIN_KEY_LIFETIME_CONNECTIONS_TOTAL, ADMIN_KEY_LIFETIME_BYTES_UP,
        ADMIN_KEY_LIFETIME_BYTES_DOWN,        ADMIN_KEY_LIFETIME_DATAGRAMS_UP,
        ADMIN_KEY_LIFETIME_DATAGRAMS_DOWN,    ADMIN_KEY_LIFETIME_RULE_DENIALS,
        ADMIN_KEY_LIFETIME_LIMIT_REFUSALS,    ADMIN_KEY_LIFETIME_FAILURES,
        ADMIN_KEY_FIRST_SEEN,                 ADMIN_KEY_LAST_SEEN,
        ADMIN_KEY_USAGE_RESET,                ADMIN_KEY_USAGE_RESET_BY,
    };
    for (size_t i = 0; i < sizeof(user_keys) / sizeof(user_keys[0]); i++)
        ck_assert_msg(body_has(&response, user_keys[i], "-"), "%s is not -", user_keys[i]);
    admin_text_clear(&response.body);
    admin_accounting_user_cells(&response.body, NULL, bob);
    admin_text_end_row(&response.body);
    ck_assert_str_eq(admin_text_body(&response.body), "-\t-\t-\n");
    admin_text_clear(&response.body);

    uint64_t since_start[ADMIN_METRIC_COUNT] = {0};
    admin_accounting_put_metrics(&response.body, NULL, since_start);
    size_t lifetime_keys = 0;
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        char key[96];
        snprintf(key, sizeof(key), ADMIN_LIFETIME_PREFIX "%s", admin_metrics[i].name);
        bool counter = admin_metrics[i].kind == ADMIN_METRIC_COUNTER;
        ck_assert_int_eq(body_has(&response, key, "-"), counter);
        lifetime_keys += counter;
    }
    ck_assert_uint_gt(lifetime_keys, 0);
    ck_assert(body_has(&response, ADMIN_KEY_LIFETIME_SINCE, "-"));
    admin_text_clear(&response.body);

    struct admin_server_hooks hooks;
    memset(&hooks, 0, sizeof(hooks));
    hooks.accounting_db = "/var/lib/socks5d/accounting.db";
    hooks.history_days = 90;
    hooks.history_max_rows = 1000000;
    admin_accounting_put_info(&response.body, NULL, &hooks);
    ck_assert(body_has(&response, ADMIN_KEY_ACCOUNTING, ADMIN_TEXT_ACCOUNTING_OFF));
    ck_assert(body_has(&response, ADMIN_KEY_ACCOUNTING_DB, "-"));
    ck_assert(body_has(&response, ADMIN_KEY_ACCOUNTING_ERROR, "-"));
    ck_assert(body_has(&response, ADMIN_KEY_HISTORY_DAYS, "90"));
    ck_assert(body_has(&response, ADMIN_KEY_HISTORY_MAX_ROWS, "1000000"));
    ck_assert(body_has(&response, ADMIN_KEY_HISTORY_ROWS, "-"));
    admin_text_free(&response.body);
    users_destroy(users);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("admin_handlers");
    TCase *table = tcase_create("table");
    tcase_add_test(table, every_protocol_command_has_a_handler_line);
    tcase_add_test(table, every_handler_line_is_a_protocol_command);
    tcase_add_test(table, the_connection_columns_cover_the_protocol_s);
    tcase_add_test(table, the_history_columns_are_the_protocol_s);
    tcase_add_test(table, accounting_off_answers);
    suite_add_tcase(suite, table);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
