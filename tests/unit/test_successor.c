/* test_successor: Check suite for server/daemon/successor — the upgrade successor's command
 * line: every option form kept but -u/-a (and any --take-over), whose values go with them. */
#include "successor.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds from a space-separated command line and compares with the expected one. */
static void check_command(const char *line, const char *expected)
{
    char copy[512];
    char *argv[64];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *word = strtok(copy, " "); word != NULL; word = strtok(NULL, " "))
        argv[argc++] = word;
    argv[argc] = NULL;
    struct successor_command command;
    ck_assert(successor_command_build(&command, argc, argv, "/run/socks5d/upgrade.sock"));
    char joined[1024] = "";
    for (size_t i = 0; command.arguments[i] != NULL; i++) {
        if (i > 0)
            strcat(joined, " ");
        strcat(joined, command.arguments[i]);
    }
    ck_assert_str_eq(joined, expected);
    successor_command_free(&command);
}

START_TEST(options_kept)
{
    check_command("socks5d -l ::1 -p 1080 --workers 4 --shutdown-grace=60 -n -C /etc/s.conf",
                  "socks5d --take-over /run/socks5d/upgrade.sock -l ::1 -p 1080 --workers 4 "
                  "--shutdown-grace=60 -n -C /etc/s.conf");
    check_command("socks5d", "socks5d --take-over /run/socks5d/upgrade.sock");
}
END_TEST

START_TEST(credentials_dropped_in_every_form)
{
    check_command("socks5d -u alice -a root -p 1 --user bob --admin=x --user=y -ualice -n",
                  "socks5d --take-over /run/socks5d/upgrade.sock -p 1 -n");
    /* A cluster keeps its flags before -u. */
    check_command("socks5d -nu alice -p 2",
                  "socks5d --take-over /run/socks5d/upgrade.sock -n -p 2");
    /* A value that looks like an option is still a value. */
    check_command("socks5d -f -u -u -p", "socks5d --take-over /run/socks5d/upgrade.sock -f -u");
}
END_TEST

START_TEST(own_take_over_replaced)
{
    check_command("socks5d --take-over /old.sock -p 1 --take-over=/x",
                  "socks5d --take-over /run/socks5d/upgrade.sock -p 1");
}
END_TEST

START_TEST(unknown_and_positional_kept)
{
    check_command("socks5d --bogus -Z stray -- -u",
                  "socks5d --take-over /run/socks5d/upgrade.sock --bogus -Z stray -- -u");
}
END_TEST

static Suite *successor_suite(void)
{
    Suite *suite = suite_create("successor");
    TCase *arguments = tcase_create("arguments");
    tcase_add_test(arguments, options_kept);
    tcase_add_test(arguments, credentials_dropped_in_every_form);
    tcase_add_test(arguments, own_take_over_replaced);
    tcase_add_test(arguments, unknown_and_positional_kept);
    suite_add_tcase(suite, arguments);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(successor_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
