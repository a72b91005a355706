/* test_console_table: socks5ctl's one command table — every protocol command reachable, help
 * and roles taken from the protocol, line splitting, argument checks, and exit codes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_commands.h"
#include "console.h"

#define CONNECTIONS_USAGE                                                                        \
    "connections [USER] [--live|--recent|--all] [--limit N] [--offset N] [--history] "           \
    "[--destination P] [--since T] [--until T] [--status S]"

/* ---- The table ---- */

START_TEST(names_are_unique_and_found)
{
    size_t count = console_command_count();
    ck_assert_uint_gt(count, 0);
    for (size_t i = 0; i < count; i++) {
        const struct console_command *command = console_command_at(i);
        ck_assert_ptr_nonnull(command);
        ck_assert_ptr_nonnull(command->name);
        ck_assert_ptr_nonnull(command->arguments);
        ck_assert_ptr_nonnull(command->help);
        ck_assert_ptr_nonnull(command->run);
        ck_assert_ptr_eq(console_command_find(command->name), command);
        for (size_t j = i + 1; j < count; j++)
            ck_assert_str_ne(command->name, console_command_at(j)->name);
    }
    ck_assert_ptr_null(console_command_at(count));
    ck_assert_ptr_null(console_command_find("no-such-command"));
}
END_TEST

START_TEST(every_protocol_command_has_a_console_command)
{
    for (size_t i = 0; i < admin_command_count(); i++) {
        const struct admin_command_info *info = admin_command_at(i);
        size_t sending = 0;
        for (size_t c = 0; c < console_command_count(); c++) {
            const struct console_command *command = console_command_at(c);
            if (command->sends != info->code)
                continue;
            sending++;
            /* The role comes from the protocol's table. */
            ck_assert_int_eq(command->role, info->access == ADMIN_ACCESS_ADMIN
                                                ? CONSOLE_ROLE_ADMIN
                                                : CONSOLE_ROLE_ANY);
        }
        ck_assert_msg(sending > 0, "no console command sends %s", info->name);
        /* Under the protocol's name, it sends that command, with the protocol's help. */
        const struct console_command *named = console_command_find(info->name);
        if (named != NULL) {
            ck_assert_uint_eq(named->sends, info->code);
            ck_assert_str_eq(named->help, info->summary);
        }
    }
    /* set-no-auth is spelled as the original flags: allow-no-auth and require-auth. */
    ck_assert_ptr_null(console_command_find("set-no-auth"));
    ck_assert_uint_eq(console_command_find("allow-no-auth")->sends, ADMIN_CMD_SET_NO_AUTH);
    ck_assert_uint_eq(console_command_find("require-auth")->sends, ADMIN_CMD_SET_NO_AUTH);
    /* Every other protocol command keeps its name at the console. */
    for (size_t i = 0; i < admin_command_count(); i++) {
        const struct admin_command_info *info = admin_command_at(i);
        if (info->code != ADMIN_CMD_SET_NO_AUTH)
            ck_assert_msg(console_command_find(info->name) != NULL, "no console command %s",
                          info->name);
    }
}
END_TEST

START_TEST(words_stand_for_protocol_fields)
{
    const struct console_command *set_role = console_command_find("set-role");
    ck_assert_str_eq(console_command_field(set_role, 1)->name, "user");
    ck_assert_str_eq(console_command_field(set_role, 2)->name, "role");
    ck_assert_ptr_null(console_command_field(set_role, 0));
    ck_assert_ptr_null(console_command_field(set_role, 3));
    const struct console_command *add_user = console_command_find("add-user");
    ck_assert_int_eq(console_command_field(add_user, 2)->meaning, ADMIN_MEANING_PASSWORD);
    const struct console_command *connections = console_command_find("connections");
    ck_assert_str_eq(console_command_field(connections, 1)->name, "user");
    ck_assert_ptr_null(console_command_field(connections, 2)); /* options from here on */
    ck_assert_str_eq(console_command_options(connections)[0], "--live");
    ck_assert_ptr_null(console_command_options(set_role));
    ck_assert_ptr_null(console_command_field(console_command_find("whoami"), 1));
    ck_assert_ptr_null(console_command_field(console_command_find("help"), 1));
}
END_TEST

START_TEST(local_commands_exist)
{
    static const char *const names[] = {"help", "quit", "exit", "dashboard", "whoami"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_ptr_nonnull(console_command_find(names[i]));
    const struct console_command *dashboard = console_command_find("dashboard");
    ck_assert_str_eq(dashboard->arguments, "[SECONDS]");
    ck_assert_str_eq(dashboard->help, "live full-screen view (q quits)");
    ck_assert_int_eq(dashboard->role, CONSOLE_ROLE_ANY);
    ck_assert_int_eq(console_command_find("allow-no-auth")->role, CONSOLE_ROLE_ADMIN);
}
END_TEST

/* ---- Splitting ---- */

static void check_split(const char *line, int expected_argc, const char *const *expected)
{
    int argc = -1;
    char **argv = NULL;
    char error[256];
    ck_assert_int_eq(console_split_line(line, &argc, &argv, error, sizeof(error)),
                     CONSOLE_EXIT_OK);
    ck_assert_int_eq(argc, expected_argc);
    for (int i = 0; i < argc; i++)
        ck_assert_str_eq(argv[i], expected[i]);
    if (argc > 0)
        ck_assert_ptr_null(argv[argc]);
    console_free_words(argc, argv);
}

START_TEST(split_words_quotes_and_escapes)
{
    check_split("", 0, NULL);
    check_split("   \t \n", 0, NULL);
    check_split("# a comment", 0, NULL);
    check_split("users", 1, (const char *const[]){"users"});
    check_split("  add-user   bob  pw  ", 3, (const char *const[]){"add-user", "bob", "pw"});
    check_split("add-user \"bob smith\" 'p w'", 3,
                (const char *const[]){"add-user", "bob smith", "p w"});
    check_split("user-metrics \"\"", 2, (const char *const[]){"user-metrics", ""});
    check_split("a\\ b c\\\"d", 2, (const char *const[]){"a b", "c\"d"});
    check_split("\"a\\\"b\" 'c\\d'", 2, (const char *const[]){"a\"b", "c\\d"});
    check_split("x\"y z\"w", 1, (const char *const[]){"xy zw"});
    check_split("ping # not a comment after a word", 8,
                (const char *const[]){"ping", "#", "not", "a", "comment", "after", "a", "word"});
}
END_TEST

START_TEST(split_refuses_an_unterminated_quote)
{
    int argc = 7;
    char **argv = (char **)1;
    char error[256] = "";
    ck_assert_int_eq(console_split_line("add-user \"bob", &argc, &argv, error, sizeof(error)),
                     CONSOLE_EXIT_USAGE);
    ck_assert_str_eq(error, "unterminated quote");
    ck_assert_int_eq(argc, 0);
    ck_assert_ptr_null(argv);
}
END_TEST

/* ---- Argument checks ---- */

static int check_line(const char *line, char *error, size_t error_size)
{
    int argc;
    char **argv;
    ck_assert_int_eq(console_split_line(line, &argc, &argv, error, error_size), CONSOLE_EXIT_OK);
    int code = console_check(argc, argv, error, error_size);
    console_free_words(argc, argv);
    return code;
}

static const char *const good_lines[] = {
    "ping",
    "whoami",
    "server-info",
    "metrics",
    "user-metrics",
    "user-metrics alice",
    "user-metrics anonymous",
    "connections",
    "connections alice",
    "connections --live",
    "connections --recent --limit 10 --offset 20",
    "connections alice --all --limit=5 --offset=0",
    "connections -- --weird-name",
    "users",
    "add-user bob",
    "add-user bob secret",
    "add-user bob secret admin",
    "add-user bob \"\" admin",
    "remove-user bob",
    "set-role bob admin",
    "set-role bob user",
    "set-password",
    "set-password bob",
    "set-password bob n3w",
    "set-password \"\" n3w",
    "allow-no-auth",
    "require-auth",
    "get-buffer-size",
    "set-buffer-size 2000",
    "set-buffer-size 4294967295",
    "close-connection 42",
    "close-connection 18446744073709551615",
    "close-user-connections alice",
    "dashboard",
    "dashboard 2",
    "help",
    "help add-user",
    "quit",
    "exit",
};

START_TEST(good_arguments_pass)
{
    char error[512] = "";
    const char *line = good_lines[_i];
    ck_assert_msg(check_line(line, error, sizeof(error)) == CONSOLE_EXIT_OK, "%s: %s", line,
                  error);
}
END_TEST

static const struct {
    const char *line;
    const char *error;
} bad_lines[] = {
    {"frobnicate", "unknown command (try help)"},
    {"ping now", "too many arguments (usage: ping)"},
    {"users all", "too many arguments (usage: users)"},
    {"user-metrics a b", "too many arguments (usage: user-metrics [USER])"},
    {"remove-user", "missing argument (usage: remove-user NAME)"},
    {"remove-user \"\"", "user name and password must not be empty (usage: remove-user NAME)"},
    {"set-role bob", "missing argument (usage: set-role NAME admin|user)"},
    {"set-role bob root", "the role must be admin or user (usage: set-role NAME admin|user)"},
    {"set-buffer-size", "missing argument (usage: set-buffer-size BYTES)"},
    {"set-buffer-size 2k",
     "expected a whole number from 0 to 4294967295 (usage: set-buffer-size BYTES)"},
    {"set-buffer-size -1",
     "expected a whole number from 0 to 4294967295 (usage: set-buffer-size BYTES)"},
    {"set-buffer-size 4294967296",
     "expected a whole number from 0 to 4294967295 (usage: set-buffer-size BYTES)"},
    {"close-connection x", "expected a whole number (usage: close-connection ID)"},
    {"close-connection 18446744073709551616",
     "expected a whole number (usage: close-connection ID)"},
    {"close-user-connections", "missing argument (usage: close-user-connections NAME)"},
    {"add-user", "missing the user's name (usage: add-user NAME [PASSWORD] [admin|user])"},
    {"add-user \"\" pw",
     "user name and password must not be empty (usage: add-user NAME [PASSWORD] [admin|user])"},
    {"add-user bob pw root",
     "the role must be admin or user (usage: add-user NAME [PASSWORD] [admin|user])"},
    {"add-user bob pw user extra",
     "too many arguments (usage: add-user NAME [PASSWORD] [admin|user])"},
    {"set-password a b c", "too many arguments (usage: set-password [NAME] [PASSWORD])"},
    {"connections a b",
     "too many arguments (usage: " CONNECTIONS_USAGE ")"},
    {"connections --limit",
     "--limit needs a value (usage: " CONNECTIONS_USAGE ")"},
    {"connections --offset=x",
     "--offset takes a whole number (usage: " CONNECTIONS_USAGE ")"},
    {"connections --everything",
     "unknown option --everything (usage: " CONNECTIONS_USAGE ")"},
    {"connections --since yesterday",
     "--since expected a date as YYYY-MM-DD or a span such as 15m (usage: " CONNECTIONS_USAGE ")"},
    {"connections --status 300", "--status is failed or a reply code 0..255 (usage: "
     CONNECTIONS_USAGE ")"},
    {"connections --history --live",
     "the history holds finished connections and pages by itself: --live, --recent, --all and "
     "--offset do not apply to it (usage: " CONNECTIONS_USAGE ")"},
    {"connections --since 2026-12-02 --until 2026-12-01",
     "--until must be later than --since (usage: " CONNECTIONS_USAGE ")"},
    {"connections --destination",
     "--destination needs a value (usage: " CONNECTIONS_USAGE ")"},
    {"allow-no-auth please", "takes no arguments (usage: allow-no-auth)"},
    {"help me now", "too many arguments (usage: help [COMMAND])"},
    {"help frobnicate", "no command named frobnicate (usage: help [COMMAND])"},
    {"dashboard 1 2", "too many arguments (usage: dashboard [SECONDS])"},
    {"quit now", "takes no arguments (usage: quit)"},
};

START_TEST(bad_arguments_are_usage_errors)
{
    char error[512] = "";
    ck_assert_int_eq(check_line(bad_lines[_i].line, error, sizeof(error)), CONSOLE_EXIT_USAGE);
    ck_assert_str_eq(error, bad_lines[_i].error);
}
END_TEST

START_TEST(names_over_255_bytes_are_refused)
{
    char line[400], error[512];
    memset(line, 0, sizeof(line));
    strcpy(line, "remove-user ");
    memset(line + strlen(line), 'a', 256);
    ck_assert_int_eq(check_line(line, error, sizeof(error)), CONSOLE_EXIT_USAGE);
    ck_assert_str_eq(error, "names and passwords are at most 255 bytes (usage: remove-user NAME)");
    line[strlen(line) - 1] = '\0'; /* 255 bytes: fine */
    ck_assert_int_eq(check_line(line, error, sizeof(error)), CONSOLE_EXIT_OK);
}
END_TEST

/* ---- Running local commands (no server needed) ---- */

struct captured {
    char *out_text, *err_text;
    size_t out_size, err_size;
    struct console_context context;
};

static void capture_begin(struct captured *captured)
{
    memset(captured, 0, sizeof(*captured));
    captured->context.out = open_memstream(&captured->out_text, &captured->out_size);
    captured->context.err = open_memstream(&captured->err_text, &captured->err_size);
    captured->context.format = CONSOLE_FORMAT_TABLE;
}

static void capture_end(struct captured *captured)
{
    fclose(captured->context.out);
    fclose(captured->context.err);
}

static void capture_free(struct captured *captured)
{
    free(captured->out_text);
    free(captured->err_text);
}

START_TEST(help_lists_every_command_once)
{
    struct captured captured;
    capture_begin(&captured);
    ck_assert_int_eq(console_execute_line(&captured.context, "help"), CONSOLE_EXIT_OK);
    capture_end(&captured);
    ck_assert_str_eq(captured.err_text, "");
    for (size_t i = 0; i < console_command_count(); i++) {
        char needle[128];
        snprintf(needle, sizeof(needle), "\n  %s ", console_command_at(i)->name);
        char *text = NULL;
        ck_assert_int_ge(asprintf(&text, "\n%s", captured.out_text), 0);
        ck_assert_msg(strstr(text, needle) != NULL, "help lacks %s", needle);
        free(text);
    }
    ck_assert_ptr_nonnull(
        strstr(captured.out_text,
               "  remove-user NAME                      remove a user (admin)\n"));
    capture_free(&captured);
}
END_TEST

START_TEST(help_explains_one_command)
{
    struct captured captured;
    capture_begin(&captured);
    ck_assert_int_eq(console_execute_line(&captured.context, "help set-role"), CONSOLE_EXIT_OK);
    capture_end(&captured);
    ck_assert_str_eq(captured.out_text,
                     "usage: set-role NAME admin|user\n"
                     "promote a user to admin or demote an admin (admin only)\n"
                     "protocol command set-role (0x09); its fields:\n"
                     "  user      user name\n"
                     "  role      0 = user, 1 = admin\n");
    capture_free(&captured);
}
END_TEST

START_TEST(errors_are_one_line_naming_the_command)
{
    struct captured captured;
    capture_begin(&captured);
    ck_assert_int_eq(console_execute_line(&captured.context, "frobnicate now"),
                     CONSOLE_EXIT_USAGE);
    ck_assert_int_eq(console_execute_line(&captured.context, "set-role bob root"),
                     CONSOLE_EXIT_USAGE);
    ck_assert_int_eq(console_execute_line(&captured.context, "add-user \"bob"),
                     CONSOLE_EXIT_USAGE);
    ck_assert_int_eq(console_execute_line(&captured.context, ""), CONSOLE_EXIT_OK);
    capture_end(&captured);
    ck_assert_str_eq(captured.out_text, "");
    ck_assert_str_eq(captured.err_text,
                     "frobnicate: unknown command (try help)\n"
                     "set-role: the role must be admin or user (usage: set-role NAME admin|user)\n"
                     "unterminated quote\n");
    capture_free(&captured);
}
END_TEST

START_TEST(server_commands_without_a_session_are_unavailable)
{
    struct captured captured;
    capture_begin(&captured);
    ck_assert_int_eq(console_execute_line(&captured.context, "users"), CONSOLE_EXIT_UNAVAILABLE);
    capture_end(&captured);
    ck_assert_str_eq(captured.err_text, "users: not connected to a server\n");
    capture_free(&captured);
}
END_TEST

START_TEST(add_user_without_password_cannot_prompt_here)
{
    struct captured captured;
    capture_begin(&captured); /* may_prompt is false, as on the dashboard */
    ck_assert_int_eq(console_execute_line(&captured.context, "add-user bob"), CONSOLE_EXIT_USAGE);
    capture_end(&captured);
    ck_assert_str_eq(captured.err_text,
                     "add-user: no password given (give it after the name; it cannot be asked "
                     "here)\n");
    capture_free(&captured);
}
END_TEST

START_TEST(quit_sets_the_flag)
{
    struct captured captured;
    capture_begin(&captured);
    ck_assert(!captured.context.quit);
    ck_assert_int_eq(console_execute_line(&captured.context, "quit"), CONSOLE_EXIT_OK);
    ck_assert(captured.context.quit);
    capture_end(&captured);
    capture_free(&captured);
}
END_TEST

START_TEST(exit_codes_are_distinct_and_follow_the_status)
{
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_OK), CONSOLE_EXIT_OK);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_SERVER_ERROR), CONSOLE_EXIT_SERVER_ERROR);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_BAD_REQUEST), CONSOLE_EXIT_REFUSED);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_UNAUTHENTICATED),
                     CONSOLE_EXIT_LOGIN_FAILED);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_FORBIDDEN), CONSOLE_EXIT_FORBIDDEN);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_NOT_FOUND), CONSOLE_EXIT_REFUSED);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_ALREADY_EXISTS), CONSOLE_EXIT_REFUSED);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_UNSUPPORTED_VERSION),
                     CONSOLE_EXIT_SERVER_ERROR);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_UNSUPPORTED_COMMAND),
                     CONSOLE_EXIT_REFUSED);
    ck_assert_int_eq(console_exit_for_status(ADMIN_STATUS_CONFLICT), CONSOLE_EXIT_REFUSED);
    ck_assert_int_eq(console_exit_for_status(0x42), CONSOLE_EXIT_SERVER_ERROR);
    static const int codes[] = {CONSOLE_EXIT_OK,       CONSOLE_EXIT_SERVER_ERROR,
                                CONSOLE_EXIT_REFUSED,  CONSOLE_EXIT_FORBIDDEN,
                                CONSOLE_EXIT_USAGE,    CONSOLE_EXIT_UNAVAILABLE,
                                CONSOLE_EXIT_LOGIN_FAILED};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        for (size_t j = i + 1; j < sizeof(codes) / sizeof(codes[0]); j++)
            ck_assert_int_ne(codes[i], codes[j]);
}
END_TEST

static Suite *console_table_suite(void)
{
    Suite *suite = suite_create("console_table");
    TCase *table = tcase_create("table");
    tcase_add_test(table, names_are_unique_and_found);
    tcase_add_test(table, every_protocol_command_has_a_console_command);
    tcase_add_test(table, words_stand_for_protocol_fields);
    tcase_add_test(table, local_commands_exist);
    suite_add_tcase(suite, table);

    TCase *split = tcase_create("split");
    tcase_add_test(split, split_words_quotes_and_escapes);
    tcase_add_test(split, split_refuses_an_unterminated_quote);
    suite_add_tcase(suite, split);

    TCase *arguments = tcase_create("arguments");
    tcase_add_loop_test(arguments, good_arguments_pass, 0,
                        (int)(sizeof(good_lines) / sizeof(good_lines[0])));
    tcase_add_loop_test(arguments, bad_arguments_are_usage_errors, 0,
                        (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
    tcase_add_test(arguments, names_over_255_bytes_are_refused);
    suite_add_tcase(suite, arguments);

    TCase *local = tcase_create("local");
    tcase_add_test(local, help_lists_every_command_once);
    tcase_add_test(local, help_explains_one_command);
    tcase_add_test(local, errors_are_one_line_naming_the_command);
    tcase_add_test(local, server_commands_without_a_session_are_unavailable);
    tcase_add_test(local, add_user_without_password_cannot_prompt_here);
    tcase_add_test(local, quit_sets_the_flag);
    tcase_add_test(local, exit_codes_are_distinct_and_follow_the_status);
    suite_add_tcase(suite, local);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(console_table_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
