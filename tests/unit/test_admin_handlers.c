/* test_admin_handlers: socks5d's handler table against the protocol's command table — every
 * command the protocol defines has its line, and no line answers a code the protocol lacks. */
#include <check.h>
#include <stdlib.h>

#include "admin_commands.h"
#include "admin_handlers.h"

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

int main(void)
{
    Suite *suite = suite_create("admin_handlers");
    TCase *table = tcase_create("table");
    tcase_add_test(table, every_protocol_command_has_a_handler_line);
    tcase_add_test(table, every_handler_line_is_a_protocol_command);
    suite_add_tcase(suite, table);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
