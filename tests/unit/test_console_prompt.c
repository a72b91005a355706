/* test_console_prompt: the pure parts of socks5ctl's prompt — where the history file lives
 * (XDG state directory) and which lines stay out of it because they carry a password. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "prompt.h"

START_TEST(history_path_follows_xdg)
{
    char path[256];
    ck_assert(prompt_history_path("/x/state", "/home/u", path, sizeof(path)));
    ck_assert_str_eq(path, "/x/state/socks5ctl/history");
    ck_assert(prompt_history_path(NULL, "/home/u", path, sizeof(path)));
    ck_assert_str_eq(path, "/home/u/.local/state/socks5ctl/history");
    ck_assert(prompt_history_path("", "/home/u", path, sizeof(path)));
    ck_assert_str_eq(path, "/home/u/.local/state/socks5ctl/history");
    /* The XDG spec: a relative path is invalid and ignored. */
    ck_assert(prompt_history_path("relative/state", "/home/u", path, sizeof(path)));
    ck_assert_str_eq(path, "/home/u/.local/state/socks5ctl/history");
    ck_assert(!prompt_history_path(NULL, NULL, path, sizeof(path)));
    ck_assert(!prompt_history_path(NULL, "", path, sizeof(path)));
    ck_assert(!prompt_history_path("/a/very/long/state/directory", NULL, path, 10));
}
END_TEST

START_TEST(lines_with_passwords_stay_out_of_history)
{
    ck_assert(prompt_line_has_secret("add-user bob hunter2"));
    ck_assert(prompt_line_has_secret("add-user bob hunter2 admin"));
    ck_assert(prompt_line_has_secret("  set-password bob n3w"));
    ck_assert(prompt_line_has_secret("set-password \"\" n3w"));
    ck_assert(prompt_line_has_secret("add-user \"bob")); /* cannot tell: kept out */
    ck_assert(!prompt_line_has_secret("add-user bob"));
    ck_assert(!prompt_line_has_secret("set-password"));
    ck_assert(!prompt_line_has_secret("set-password bob"));
    ck_assert(!prompt_line_has_secret("users"));
    ck_assert(!prompt_line_has_secret("connections bob --limit 5"));
    ck_assert(!prompt_line_has_secret(""));
}
END_TEST

static Suite *console_prompt_suite(void)
{
    Suite *suite = suite_create("console_prompt");
    TCase *history = tcase_create("history");
    tcase_add_test(history, history_path_follows_xdg);
    tcase_add_test(history, lines_with_passwords_stay_out_of_history);
    suite_add_tcase(suite, history);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(console_prompt_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
