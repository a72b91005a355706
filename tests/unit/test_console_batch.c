/* test_console_batch: socks5ctl's command line — login and output flags, the one-letter action
 * flags as console commands in order, usage errors, and password hygiene. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "test_argv.h"

static int parse(const char *const *words, struct batch_options *options, char *error,
                 size_t error_size, struct command_line *line)
{
    make_line(line, "socks5ctl", words);
    error[0] = '\0';
    return batch_parse(line->argc, line->argv, options, error, error_size);
}

/* The commands joined as "name arg arg; name ..." for one comparison. */
static char *commands_text(const struct batch_options *options)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    for (size_t i = 0; i < options->command_count; i++) {
        if (i > 0)
            fputs("; ", out);
        for (int j = 0; j < options->commands[i].argc; j++)
            fprintf(out, j > 0 ? " %s" : "%s", options->commands[i].argv[j]);
        ck_assert_ptr_null(options->commands[i].argv[options->commands[i].argc]);
    }
    fclose(out);
    return text;
}

static void check_commands(const char *const *words, const char *expected)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    ck_assert_msg(parse(words, &options, error, sizeof(error), &line) == CONSOLE_EXIT_OK, "%s",
                  error);
    char *text = commands_text(&options);
    ck_assert_str_eq(text, expected);
    free(text);
    batch_free(&options);
    free_line(&line);
}

START_TEST(defaults)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    ck_assert_int_eq(parse(WORDS("-l", "admin"), &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    ck_assert_str_eq(options.user, "admin");
    ck_assert_ptr_null(options.password);
    ck_assert_uint_eq(options.address_count, 0);
    ck_assert_ptr_null(options.port);
    ck_assert_int_eq(options.format, CONSOLE_FORMAT_TABLE);
    ck_assert_int_eq(options.timeout_ms, 0);
    ck_assert_uint_eq(options.command_count, 0);
    ck_assert(!options.help && !options.version);
    batch_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(login_address_port_output_timeout)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    ck_assert_int_eq(parse(WORDS("-l", "root:pa:ss", "-a", "::1", "-p", "9090", "-o", "json",
                                 "-t", "3"),
                           &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    ck_assert_str_eq(options.user, "root");
    ck_assert_str_eq(options.password, "pa:ss"); /* only the first ':' splits */
    ck_assert_uint_eq(options.address_count, 1);
    ck_assert_str_eq(options.addresses[0], "::1");
    ck_assert_str_eq(options.port, "9090");
    ck_assert_int_eq(options.format, CONSOLE_FORMAT_JSON);
    ck_assert_int_eq(options.timeout_ms, 3000);
    batch_free(&options);
    free_line(&line);

    ck_assert_int_eq(parse(WORDS("--login=bob", "--address", "localhost", "--port=1",
                                 "--output", "tsv"),
                           &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    ck_assert_str_eq(options.user, "bob");
    ck_assert_uint_eq(options.address_count, 1);
    ck_assert_str_eq(options.addresses[0], "localhost");
    ck_assert_str_eq(options.port, "1");
    ck_assert_int_eq(options.format, CONSOLE_FORMAT_TSV);
    batch_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(addresses_repeat_and_are_checked)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    ck_assert_int_eq(parse(WORDS("-l", "a", "-a", "10.0.0.1:9000", "--address", "[::1]:9001",
                                 "-a", "proxy.example"),
                           &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    ck_assert_uint_eq(options.address_count, 3);
    ck_assert_str_eq(options.addresses[0], "10.0.0.1:9000");
    ck_assert_str_eq(options.addresses[1], "[::1]:9001");
    ck_assert_str_eq(options.addresses[2], "proxy.example");
    batch_free(&options);
    free_line(&line);

    ck_assert_int_eq(parse(WORDS("-l", "a", "-a", "host:70000"), &options, error, sizeof(error),
                           &line),
                     CONSOLE_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "host:70000"));
    ck_assert_ptr_nonnull(strstr(error, "65535"));
    batch_free(&options);
    free_line(&line);
    ck_assert_int_eq(parse(WORDS("-l", "a", "-a", "[::1"), &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_USAGE);
    batch_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(argv_passwords_are_wiped)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    ck_assert_int_eq(parse(WORDS("-l", "root:topsecret", "-u", "bob:hunter2"), &options, error,
                           sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    batch_wipe_argv_secrets(&options);
    ck_assert_mem_eq(line.argv[2], "root:\0\0\0\0\0\0\0\0\0", 15);
    ck_assert_mem_eq(line.argv[4], "bob:\0\0\0\0\0\0\0", 12);
    /* The copies the commands use are intact. */
    ck_assert_str_eq(options.password, "topsecret");
    ck_assert_str_eq(options.commands[0].argv[2], "hunter2");
    batch_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(action_flags_become_commands_in_order)
{
    check_commands(WORDS("-l", "a", "-u", "bob:pw", "-m", "bob", "-b", "2000", "-n", "-N", "-M",
                         "bob", "-r", "bob"),
                   "add-user bob pw user; set-role bob admin; set-buffer-size 2000; "
                   "allow-no-auth; require-auth; set-role bob user; remove-user bob");
    check_commands(WORDS("-l", "a", "-u", "carol"), "add-user carol");
    check_commands(WORDS("-l", "a", "-G"), "metrics; connections --all");
    check_commands(WORDS("-l", "a", "-s", "bob"), "user-metrics bob; connections bob --all");
    check_commands(WORDS("-l", "a", "-s", ""), "user-metrics ; connections  --all");
    check_commands(WORDS("-l", "a", "-d"), "dashboard");
    check_commands(WORDS("-l", "a", "--global", "--stats=bob", "--remove-user", "x"),
                   "metrics; connections --all; user-metrics bob; connections bob --all; "
                   "remove-user x");
}
END_TEST

START_TEST(words_after_the_flags_are_one_command)
{
    check_commands(WORDS("-l", "a", "users"), "users");
    /* Flags after the command's name belong to the command. */
    check_commands(WORDS("-l", "a", "connections", "bob", "--live", "--limit", "5"),
                   "connections bob --live --limit 5");
    check_commands(WORDS("-l", "a", "-n", "--", "set-role", "bob", "admin"),
                   "allow-no-auth; set-role bob admin");
}
END_TEST

static const struct {
    const char *const *words;
    const char *error;
} usage_errors[] = {
    {WORDS("-x"), "unknown flag -x"},
    {WORDS("--frobnicate"), "unknown flag --frobnicate"},
    {WORDS("-l"), "-l needs a value"},
    {WORDS("-p", "0"), "-p: the port must be 1 to 65535, not '0'"},
    {WORDS("-p", "http"), "-p: the port must be 1 to 65535, not 'http'"},
    {WORDS("-p", "65536"), "-p: the port must be 1 to 65535, not '65536'"},
    {WORDS("-o", "xml"), "-o: the format must be table, tsv or json"},
    {WORDS("-t", "0"), "-t: the timeout must be 1 to 3600 seconds"},
    {WORDS("-b", "big"),
     "set-buffer-size: expected a whole number from 0 to 4294967295 (usage: set-buffer-size "
     "BYTES)"},
    {WORDS("-u", ":pw"),
     "add-user: user name and password must not be empty (usage: add-user NAME [PASSWORD] "
     "[admin|user])"},
    {WORDS("-r", ""), "remove-user: user name and password must not be empty (usage: "
                      "remove-user NAME)"},
    {WORDS("frobnicate"), "frobnicate: unknown command (try help)"},
    {WORDS("users", "now"), "users: too many arguments (usage: users)"},
};

START_TEST(usage_errors_name_the_problem)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    ck_assert_int_eq(parse(usage_errors[_i].words, &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_USAGE);
    ck_assert_str_eq(error, usage_errors[_i].error);
    batch_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(a_bad_flag_anywhere_fails_before_any_command)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    /* -u is fine, -b is not: the whole line is refused, so bob is never added. */
    ck_assert_int_eq(parse(WORDS("-l", "a", "-u", "bob:pw", "-b", "lots"), &options, error,
                           sizeof(error), &line),
                     CONSOLE_EXIT_USAGE);
    batch_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(help_and_version)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    ck_assert_int_eq(parse(WORDS("-h"), &options, error, sizeof(error), &line), CONSOLE_EXIT_OK);
    ck_assert(options.help);
    batch_free(&options);
    free_line(&line);
    ck_assert_int_eq(parse(WORDS("--version"), &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    ck_assert(options.version);
    batch_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(usage_text_documents_what_the_issue_asks)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    batch_print_usage(out);
    fclose(out);
    static const char *const needles[] = {
        "visible to other", "SOCKS5CTL_PASSWORD", "-M, --make-user", "-o, --output",
        "  64  usage", "  77  login failed", "  69  unavailable", "   3  forbidden",
        "   2  refused", "   1  server error", "  set-role NAME admin|user", "XDG_STATE_HOME",
        "  dashboard [SECONDS]", "--tls", "--ca FILE",
    };
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
        ck_assert_msg(strstr(text, needles[i]) != NULL, "usage lacks '%s'", needles[i]);
    free(text);
}
END_TEST

START_TEST(tls_and_ca)
{
    struct batch_options options;
    struct command_line line;
    char error[512];
    ck_assert_int_eq(parse(WORDS("-l", "a"), &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    ck_assert(!options.tls);
    ck_assert_ptr_null(options.ca_file);
    batch_free(&options);
    free_line(&line);
    ck_assert_int_eq(parse(WORDS("--tls", "-l", "a"), &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    ck_assert(options.tls);
    ck_assert_ptr_null(options.ca_file); /* the system's store */
    batch_free(&options);
    free_line(&line);
    /* --ca alone means TLS: a CA file is of no use to a plaintext session. */
    ck_assert_int_eq(parse(WORDS("--ca", "/etc/socks5d/ca.pem", "-l", "a"), &options, error,
                           sizeof(error), &line),
                     CONSOLE_EXIT_OK);
    ck_assert(options.tls);
    ck_assert_str_eq(options.ca_file, "/etc/socks5d/ca.pem");
    batch_free(&options);
    free_line(&line);
    ck_assert_int_eq(parse(WORDS("-l", "a", "--ca"), &options, error, sizeof(error), &line),
                     CONSOLE_EXIT_USAGE);
    ck_assert_str_eq(error, "--ca needs a value");
    batch_free(&options);
    free_line(&line);
}
END_TEST

static Suite *console_batch_suite(void)
{
    Suite *suite = suite_create("console_batch");
    TCase *flags = tcase_create("flags");
    tcase_add_test(flags, defaults);
    tcase_add_test(flags, login_address_port_output_timeout);
    tcase_add_test(flags, addresses_repeat_and_are_checked);
    tcase_add_test(flags, argv_passwords_are_wiped);
    tcase_add_test(flags, action_flags_become_commands_in_order);
    tcase_add_test(flags, words_after_the_flags_are_one_command);
    tcase_add_loop_test(flags, usage_errors_name_the_problem, 0,
                        (int)(sizeof(usage_errors) / sizeof(usage_errors[0])));
    tcase_add_test(flags, a_bad_flag_anywhere_fails_before_any_command);
    tcase_add_test(flags, help_and_version);
    tcase_add_test(flags, usage_text_documents_what_the_issue_asks);
    tcase_add_test(flags, tls_and_ca);
    suite_add_tcase(suite, flags);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(console_batch_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
