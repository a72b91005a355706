/* test_config_file: the configuration file — every option is a key of its value's type, the
 * command line overrides the file, each kind of problem names its line, garbage never crashes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "destination_rules.h"
#include "limits_table.h"
#include "options.h"
#include "policy.h"
#include "server_config.h"
#include "test_argv.h"

#define PROBLEMS_SIZE 4096

/* libconfig 1.5's grammar frees no string token it discards on a syntax error (no bison
 * %destructor): a few bytes per refused file that has a string where it cannot be, and
 * nothing of socks5d's. LeakSanitizer reads this hook at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

/* One parse of text over fresh defaults. */
struct applied {
    struct server_options options;
    struct policy *policy;
    struct config_strings *strings;
    size_t problem_count;
    char problems[PROBLEMS_SIZE];
};

static void apply_bytes(struct applied *applied, const char *text, size_t length)
{
    options_init(&applied->options);
    applied->policy = policy_create();
    applied->strings = config_strings_create();
    ck_assert_ptr_nonnull(applied->policy);
    ck_assert_ptr_nonnull(applied->strings);
    memset(applied->problems, 0x5A, sizeof(applied->problems));
    applied->problem_count =
        config_file_apply("test.conf", text, length, &applied->options, applied->policy,
                          applied->strings, applied->problems, sizeof(applied->problems));
    options_finish(&applied->options);
    ck_assert_ptr_nonnull(memchr(applied->problems, '\0', sizeof(applied->problems)));
}

static void apply_text(struct applied *applied, const char *text)
{
    apply_bytes(applied, text, strlen(text));
}

static void release(struct applied *applied)
{
    options_free(&applied->options);
    policy_destroy(applied->policy);
    config_strings_destroy(applied->strings);
}

static void assert_good(const char *text)
{
    struct applied applied;
    apply_text(&applied, text);
    ck_assert_msg(applied.problem_count == 0, "%s\n-> %s", text, applied.problems);
    ck_assert_str_eq(applied.problems, "");
    release(&applied);
}

/* text has one problem, on line, whose message holds wanted. */
static void assert_problem(const char *text, unsigned line, const char *wanted)
{
    struct applied applied;
    apply_text(&applied, text);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "test.conf:%u: ", line);
    ck_assert_msg(applied.problem_count == 1, "%s\n-> %zu: %s", text, applied.problem_count,
                  applied.problems);
    ck_assert_msg(strncmp(applied.problems, prefix, strlen(prefix)) == 0, "%s\n-> %s (want %s)",
                  text, applied.problems, prefix);
    ck_assert_msg(strstr(applied.problems, wanted) != NULL, "%s\n-> %s (want %s)", text,
                  applied.problems, wanted);
    release(&applied);
}

/* ---- values ---- */

START_TEST(every_kind_of_value_is_applied)
{
    struct applied applied;
    apply_text(&applied, "# socks5d\n"
                         "port = 1081;\n"
                         "admin-port = 0;\n"
                         "listen = [ \"127.0.0.1\", \"::1\" ];\n"
                         "admin-listen = \"::1\";\n"
                         "no-auth = true;\n"
                         "no-splice = true;\n"
                         "handshake-timeout = 7;\n"
                         "buffer-size = 65536;\n"
                         "max-connections = 100L;\n"
                         "log-level = \"debug\";\n"
                         "users-file = \"off\";\n"
                         "tcp-congestion = \"cubic\";\n"
                         "rules = ( );\n"
                         "limits = { };\n");
    ck_assert_msg(applied.problem_count == 0, "%s", applied.problems);
    ck_assert_uint_eq(applied.options.socks_port, 1081);
    ck_assert_uint_eq(applied.options.admin_port, 0);
    ck_assert_uint_eq(applied.options.socks_address_count, 2);
    ck_assert_str_eq(applied.options.socks_addresses[0], "127.0.0.1");
    ck_assert_str_eq(applied.options.socks_addresses[1], "::1");
    ck_assert_str_eq(applied.options.admin_address, "::1");
    ck_assert(applied.options.no_auth_allowed);
    ck_assert(!applied.options.splice);
    ck_assert_uint_eq(applied.options.handshake_timeout_s, 7);
    ck_assert_uint_eq(applied.options.buffer_size, 65536);
    ck_assert_uint_eq(applied.options.max_connections, 100);
    ck_assert_int_eq(applied.options.log_level, LOG_DEBUG);
    ck_assert_str_eq(applied.options.users_file, "off");
    ck_assert_str_eq(applied.options.tcp_congestion, "cubic");
    release(&applied);
}
END_TEST

START_TEST(false_flags_and_a_single_listen_string)
{
    struct applied applied;
    apply_text(&applied, "no-auth = false; no-splice = false; listen = \"::1\";");
    ck_assert_msg(applied.problem_count == 0, "%s", applied.problems);
    ck_assert(!applied.options.no_auth_allowed);
    ck_assert(applied.options.splice);
    ck_assert_uint_eq(applied.options.socks_address_count, 1);
    ck_assert_str_eq(applied.options.socks_addresses[0], "::1");
    release(&applied);
}
END_TEST

START_TEST(rules_are_built_in_order_from_every_value_shape)
{
    struct applied applied;
    apply_text(&applied,
               "rules = (\n"
               "  { action = \"deny\"; to = [ \"10.0.0.0/8\", \"fd00::/8\" ]; port = 22;\n"
               "    name = \"no-ssh\"; },\n"
               "  { action = \"allow\"; user = ( \"alice\", \"bob\" ); port = \"80-443\";\n"
               "    domain = \"*.example.com\"; command = \"connect\"; }\n"
               ");\n"
               "allow-loopback = true;\n");
    ck_assert_msg(applied.problem_count == 0, "%s", applied.problems);
    ck_assert_uint_eq(rule_set_count(applied.policy->rules), 2);
    ck_assert_str_eq(rule_set_rule_name(applied.policy->rules, 0), "no-ssh");
    char text[256];
    rule_set_describe(applied.policy->rules, 0, text, sizeof(text));
    ck_assert_msg(strstr(text, "deny") != NULL && strstr(text, "10.0.0.0/8") != NULL &&
                      strstr(text, "fd00::/8") != NULL && strstr(text, "22") != NULL,
                  "%s", text);
    rule_set_describe(applied.policy->rules, 1, text, sizeof(text));
    ck_assert_msg(strstr(text, "alice") != NULL && strstr(text, "bob") != NULL &&
                      strstr(text, "80-443") != NULL,
                  "%s", text);
    ck_assert(applied.options.allow_loopback);
    release(&applied);
}
END_TEST

START_TEST(rule_problems_name_the_line_of_the_value)
{
    assert_problem("rules = (\n { action = \"deny\";\n   to = \"10.0.0.0/33\"; }\n);", 3,
                   "rule 1: to:");
    assert_problem("rules = ( { action = \"deny\"; port = 22; },\n"
                   "  { action = \"permit\"; } );", 2, "rule 2: action:");
    assert_problem("rules = ( { action = \"deny\"; },\n  { port = 22; }\n);", 2, "rule 2:");
    assert_problem("rules = ( { action = \"deny\";\n  colour = \"red\"; } );", 2,
                   "rule 1: colour:");
    assert_problem("rules = ( { action = \"deny\";\n  port = true; } );", 2,
                   "rule 1: port: expected a string or a number");
    assert_problem("rules = ( { action = \"deny\"; to = [\n \"10.0.0.0/8\",\n \"x\" ]; } );",
                   3, "rule 1: to:");
}
END_TEST

START_TEST(limits_resolve_user_then_role_then_default)
{
    struct applied applied;
    apply_text(&applied, "limits = {\n"
                         "  default = { max-connections = 64; };\n"
                         "  roles = { user = { download = \"8M\"; }; admin = { upload = 0; }; };\n"
                         "  users = ( { name = \"alice\"; max-connections = 4;\n"
                         "              upload = 1024; } );\n"
                         "};\n");
    ck_assert_msg(applied.problem_count == 0, "%s", applied.problems);
    struct user_limits unset = user_limits_unset();
    struct user_limits alice =
        limits_table_resolve(applied.policy->limits, "alice", USER_ROLE_USER, &unset);
    ck_assert_uint_eq(alice.value[USER_LIMIT_MAX_CONNECTIONS], 4);
    ck_assert_uint_eq(alice.value[USER_LIMIT_UPLOAD], 1024);
    ck_assert_uint_eq(alice.value[USER_LIMIT_DOWNLOAD], 8u << 20);
    struct user_limits root =
        limits_table_resolve(applied.policy->limits, "root", USER_ROLE_ADMIN, &unset);
    ck_assert_uint_eq(root.value[USER_LIMIT_MAX_CONNECTIONS], 64);
    ck_assert_uint_eq(root.value[USER_LIMIT_DOWNLOAD], 0);
    release(&applied);
}
END_TEST

START_TEST(limit_problems_name_the_line_of_the_value)
{
    assert_problem("limits = { default = {\n max-connections = \"many\"; }; };", 2,
                   "limits: default: max-connections:");
    assert_problem("limits = { roles = { user = {\n download = \"8Q\"; }; }; };", 2,
                   "limits: roles: user: download: expected");
    assert_problem("limits = { default = {\n upload = \"99999999999G\"; }; };", 2,
                   "limits: default: upload: too large");
    assert_problem("limits = { users = ( { name = \"bob\";\n speed = 1; } ); };", 2,
                   "limits: user bob: speed:");
}
END_TEST

/* What options_set would take from the command line, as the config file's typed value. */
static void sample_value(const struct option_spec *spec, char *text, size_t size)
{
    if (spec->kind == OPTION_ENABLE || spec->kind == OPTION_DISABLE)
        snprintf(text, size, "true");
    else if (options_kind_is_number(spec->kind))
        snprintf(text, size, "%llu", spec->min);
    else if (spec->kind == OPTION_ADDRESS)
        snprintf(text, size, "\"127.0.0.1\"");
    else if (spec->kind == OPTION_NETWORK)
        snprintf(text, size, "\"10.0.0.0/8\"");
    else if (spec->kind == OPTION_ENDPOINT)
        snprintf(text, size, "\"127.0.0.1:9150\"");
    else if (spec->kind == OPTION_LOG_LEVEL)
        snprintf(text, size, "\"warn\"");
    else if (spec->kind == OPTION_CONGESTION)
        snprintf(text, size, "\"reno\"");
    else
        snprintf(text, size, "\"some-text\"");
}

static bool command_line_only(const char *name)
{
    static const char *const names[] = { "help", "version", "config", "check-config", "user",
                                         "admin" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* The options table is the keys' table: a new option is a key with no second list. */
START_TEST(every_option_is_a_key_and_the_others_are_refused)
{
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        char value[64], text[256];
        sample_value(spec, value, sizeof(value));
        snprintf(text, sizeof(text), "\n%s = %s;\n", spec->name, value);
        if (!command_line_only(spec->name)) {
            assert_good(text);
            continue;
        }
        assert_problem(text, 2, spec->name);
    }
}
END_TEST

START_TEST(passwords_are_refused_with_where_they_belong)
{
    assert_problem("user = \"alice:secret\";", 1, "users file");
    assert_problem("port = 1;\nadmin = \"root:secret\";", 2, "SOCKS5D_ADMIN");
    /* The refusal never echoes the value. */
    struct applied applied;
    apply_text(&applied, "admin = \"root:hunter2\";");
    ck_assert_ptr_null(strstr(applied.problems, "hunter2"));
    release(&applied);
}
END_TEST

/* ---- problems, each naming its line ---- */

START_TEST(each_kind_of_problem_names_its_line)
{
    assert_problem("port = 1;\nport = 2;\n", 2, "duplicate");      /* libconfig: syntax */
    assert_problem("port = 1;\n\nworkers = ;\n", 3, "syntax error");
    assert_problem("\n\nbogus-key = 1;\n", 3, "unknown key 'bogus-key'");
    assert_problem("port = \"1080\";", 1, "port: expected a number (0-65535)");
    assert_problem("port = 1.5;", 1, "expected a number");
    assert_problem("port = 65536;", 1, "port: '65536' is not a port (0-65535)");
    assert_problem("port = -1;", 1, "is not a port");
    assert_problem("workers = 99999999999;", 1, "is not a number");
    assert_problem("no-auth = 1;", 1, "no-auth: expected true or false");
    assert_problem("log-level = 3;", 1, "log-level: expected a string");
    assert_problem("log-level = \"loud\";", 1, "is not a log level");
    assert_problem("admin-listen = [\"::1\"];", 1, "admin-listen: expected a string");
    assert_problem("listen = { a = 1; };", 1, "a string or a list of strings");
    assert_problem("listen = (\"::1\",\n 5);", 2, "listen: expected a list of strings");
    assert_problem("listen = [\"::1\",\n\"nowhere\"];", 2, "'nowhere' is not an IPv4 or IPv6");
    assert_problem("\n@include \"/etc/passwd\"\n", 2, "@include");
    assert_problem("port = 1; # ok\n  @include \"x\"\n", 2, "@include");
    assert_problem("rules = 5;", 1, "rules: expected a list");
    assert_problem("rules = (\n 5\n);", 2, "rule 1: expected a group");
    assert_problem("limits = ( );", 1, "limits: expected a group");
    assert_problem("limits = {\n cap = 1;\n};", 2, "limits: unknown key 'cap'");
    assert_problem("limits = { roles = {\n guest = { }; }; };", 2, "unknown role 'guest'");
    assert_problem("limits = { users = (\n { max-connections = 1; } ); };", 2,
                   "expected a group with name");
    assert_problem("limits = { default = 5; };", 1, "limits: default: expected a group");
    assert_problem("limits = { default = {\n download = true; }; };", 2,
                   "download: expected a number or a string");
}
END_TEST

START_TEST(a_nul_byte_is_refused_on_its_line)
{
    static const char text[] = "port = 1;\nworkers = 2;\0\n";
    struct applied applied;
    apply_bytes(&applied, text, sizeof(text) - 1);
    ck_assert_uint_eq(applied.problem_count, 1);
    ck_assert_msg(strncmp(applied.problems, "test.conf:2: ", 13) == 0, "%s", applied.problems);
    release(&applied);
}
END_TEST

START_TEST(every_problem_is_listed_one_a_line)
{
    struct applied applied;
    apply_text(&applied, "port = \"x\";\nbogus = 1;\nworkers = 100000;\n");
    ck_assert_uint_eq(applied.problem_count, 3);
    ck_assert_msg(strstr(applied.problems, "test.conf:1: ") == applied.problems, "%s",
                  applied.problems);
    ck_assert_ptr_nonnull(strstr(applied.problems, "\ntest.conf:2: "));
    ck_assert_ptr_nonnull(strstr(applied.problems, "\ntest.conf:3: "));
    release(&applied);
}
END_TEST

START_TEST(a_quoted_value_cannot_break_the_line)
{
    struct applied applied;
    apply_text(&applied, "listen = \"a\nb\x1b[2J\";");
    ck_assert_uint_eq(applied.problem_count, 1);
    ck_assert_msg(strchr(applied.problems, '\n') == NULL, "%s", applied.problems);
    ck_assert_msg(strchr(applied.problems, '\x1b') == NULL, "%s", applied.problems);
    ck_assert_ptr_nonnull(strstr(applied.problems, "'a?b?[2J'"));
    release(&applied);
}
END_TEST

START_TEST(problems_are_cut_to_the_buffer)
{
    struct server_options options;
    options_init(&options);
    struct policy *policy = policy_create();
    struct config_strings *strings = config_strings_create();
    char problems[16];
    memset(problems, 0x5A, sizeof(problems));
    size_t count = config_file_apply("a-rather-long-name.conf", "bogus = 1;\nport = \"x\";", 22,
                                     &options, policy, strings, problems, sizeof(problems));
    ck_assert_uint_eq(count, 2);
    ck_assert_ptr_nonnull(memchr(problems, '\0', sizeof(problems)));
    ck_assert_uint_eq(strlen(problems), sizeof(problems) - 1);
    count = config_file_apply("x.conf", "bogus = 1;", 10, &options, policy, strings, NULL, 0);
    ck_assert_uint_eq(count, 1);
    options_free(&options);
    policy_destroy(policy);
    config_strings_destroy(strings);
}
END_TEST

/* ---- garbage ---- */

static const char full_file[] =
    "# every shape the parser walks\n"
    "listen = [ \"127.0.0.1\", \"::1\" ];\n"
    "port = 1080; admin-port = 8080;\n"
    "no-auth = true;\n"
    "log-level = \"info\";\n"
    "rules = ( { action = \"deny\"; to = [ \"10.0.0.0/8\" ]; port = 22; name = \"no-ssh\"; } );\n"
    "limits = { default = { max-connections = 4; };\n"
    "  roles = { user = { download = \"8M\"; }; };\n"
    "  users = ( { name = \"alice\"; upload = 1024; } ); };\n";

static void check_one(const char *text, size_t length)
{
    struct applied applied;
    apply_bytes(&applied, text, length);
    if (applied.problem_count > 0)
        ck_assert_msg(strncmp(applied.problems, "test.conf:", 10) == 0, "%s", applied.problems);
    else
        ck_assert_str_eq(applied.problems, "");
    release(&applied);
}

/* Every prefix (a file cut anywhere), and every byte replaced by each of the bytes that
 * matter to the grammar (and a few that do not belong in text at all). */
START_TEST(garbage_byte_by_byte_gives_a_result_or_an_error)
{
    static const char replacements[] = { '\0', '"', ';', '=', '{', '}', '(', ')', '[', ']',
                                         '@', '\n', '\\', '/', '*', '#', ',', '-', 'L',
                                         '\x7f', '\xff', 'x', '9', ' ' };
    size_t length = sizeof(full_file) - 1;
    char *copy = malloc(length);
    for (size_t cut = 0; cut <= length; cut++) {
        memcpy(copy, full_file, cut);
        check_one(copy, cut);
    }
    for (size_t at = 0; at < length; at++) {
        for (size_t r = 0; r < sizeof(replacements); r++) {
            memcpy(copy, full_file, length);
            copy[at] = replacements[r];
            check_one(copy, length);
        }
    }
    free(copy);
}
END_TEST

/* ---- the command line over the file ---- */

static char config_path[64];

static void write_config(const char *text)
{
    snprintf(config_path, sizeof(config_path), "/tmp/socks5d-test-XXXXXX");
    int fd = mkstemp(config_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

START_TEST(the_command_line_overrides_the_file)
{
    write_config("port = 1000;\nlisten = [ \"::1\", \"127.0.0.2\" ];\nidle-timeout = 60;\n"
                 "admin-listen = \"::1\";\n");
    struct command_line line;
    make_line(&line, "socks5d", WORDS("-C", config_path, "-p", "2000", "-l", "127.0.0.3"));
    struct server_config config;
    char problems[PROBLEMS_SIZE];
    ck_assert_int_eq(server_config_load(line.argc, line.argv, true, &config, problems,
                                        sizeof(problems)),
                     SERVER_CONFIG_LOADED);
    ck_assert_uint_eq(config.options.socks_port, 2000);     /* argv's */
    ck_assert_uint_eq(config.options.idle_timeout_s, 60);   /* the file's */
    ck_assert_str_eq(config.options.admin_address, "::1");
    ck_assert_str_eq(config.options.config_path, config_path);
    /* argv's list replaces the file's rather than adding to it */
    ck_assert_uint_eq(config.options.socks_address_count, 1);
    ck_assert_str_eq(config.options.socks_addresses[0], "127.0.0.3");
    server_config_free(&config);
    free_line(&line);

    /* Parsed again (a reload), argv gives the same result. */
    make_line(&line, "socks5d", WORDS("--port=2001", "--config", config_path));
    ck_assert_int_eq(server_config_load(line.argc, line.argv, false, &config, problems,
                                        sizeof(problems)),
                     SERVER_CONFIG_LOADED);
    ck_assert_uint_eq(config.options.socks_port, 2001);
    ck_assert_uint_eq(config.options.socks_address_count, 2);
    server_config_free(&config);
    free_line(&line);
    unlink(config_path);
}
END_TEST

START_TEST(load_tells_a_bad_file_from_a_bad_command_line)
{
    write_config("port = 1;\nworkers = \"many\";\n");
    struct command_line line;
    struct server_config config;
    char problems[PROBLEMS_SIZE];
    make_line(&line, "socks5d", WORDS("-C", config_path));
    ck_assert_int_eq(server_config_load(line.argc, line.argv, true, &config, problems,
                                        sizeof(problems)),
                     SERVER_CONFIG_FILE_ERROR);
    char wanted[128];
    snprintf(wanted, sizeof(wanted), "%s:2: workers: expected a number", config_path);
    ck_assert_msg(strstr(problems, wanted) == problems, "%s", problems);
    free_line(&line);

    make_line(&line, "socks5d", WORDS("-C", config_path, "--bogus"));
    ck_assert_int_eq(server_config_load(line.argc, line.argv, true, &config, problems,
                                        sizeof(problems)),
                     SERVER_CONFIG_USAGE_ERROR);
    free_line(&line);
    unlink(config_path);

    make_line(&line, "socks5d", WORDS("-C", "/nonexistent/socks5d.conf"));
    ck_assert_int_eq(server_config_load(line.argc, line.argv, true, &config, problems,
                                        sizeof(problems)),
                     SERVER_CONFIG_FILE_ERROR);
    ck_assert_ptr_nonnull(strstr(problems, "/nonexistent/socks5d.conf: No such file"));
    free_line(&line);
}
END_TEST

START_TEST(restart_keys_name_what_a_reload_cannot_apply)
{
    struct server_options running, loaded;
    char keys[256];
    options_init(&running);
    options_finish(&running);
    options_init(&loaded);
    options_finish(&loaded);
    server_config_restart_keys(&running, &loaded, keys, sizeof(keys));
    ck_assert_str_eq(keys, "");

    char port[] = "1", workers[] = "3", timeout[] = "99", level[] = "debug", address[] = "::1";
    char error[256];
    ck_assert(options_set(&loaded, "port", port, error, sizeof(error)));
    ck_assert(options_set(&loaded, "workers", workers, error, sizeof(error)));
    ck_assert(options_set(&loaded, "idle-timeout", timeout, error, sizeof(error)));
    ck_assert(options_set(&loaded, "log-level", level, error, sizeof(error)));
    server_config_restart_keys(&running, &loaded, keys, sizeof(keys));
    ck_assert_str_eq(keys, "port, workers");

    options_init(&loaded);
    ck_assert(options_set(&loaded, "listen", address, error, sizeof(error)));
    options_finish(&loaded);
    server_config_restart_keys(&running, &loaded, keys, sizeof(keys));
    ck_assert_str_eq(keys, "listen");
    server_config_restart_keys(&running, &loaded, keys, 4); /* too small: cut, terminated */
    ck_assert_uint_lt(strlen(keys), 4);
}
END_TEST

static Suite *config_file_suite(void)
{
    Suite *suite = suite_create("config_file");
    TCase *values = tcase_create("values");
    tcase_add_test(values, every_kind_of_value_is_applied);
    tcase_add_test(values, false_flags_and_a_single_listen_string);
    tcase_add_test(values, every_option_is_a_key_and_the_others_are_refused);
    tcase_add_test(values, passwords_are_refused_with_where_they_belong);
    tcase_add_test(values, rules_are_built_in_order_from_every_value_shape);
    tcase_add_test(values, rule_problems_name_the_line_of_the_value);
    tcase_add_test(values, limits_resolve_user_then_role_then_default);
    tcase_add_test(values, limit_problems_name_the_line_of_the_value);
    suite_add_tcase(suite, values);
    TCase *problems = tcase_create("problems");
    tcase_add_test(problems, each_kind_of_problem_names_its_line);
    tcase_add_test(problems, a_nul_byte_is_refused_on_its_line);
    tcase_add_test(problems, every_problem_is_listed_one_a_line);
    tcase_add_test(problems, a_quoted_value_cannot_break_the_line);
    tcase_add_test(problems, problems_are_cut_to_the_buffer);
    suite_add_tcase(suite, problems);
    TCase *garbage = tcase_create("garbage");
    tcase_set_timeout(garbage, 120);
    tcase_add_test(garbage, garbage_byte_by_byte_gives_a_result_or_an_error);
    suite_add_tcase(suite, garbage);
    TCase *load = tcase_create("load");
    tcase_add_test(load, the_command_line_overrides_the_file);
    tcase_add_test(load, load_tells_a_bad_file_from_a_bad_command_line);
    tcase_add_test(load, restart_keys_name_what_a_reload_cannot_apply);
    suite_add_tcase(suite, load);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(config_file_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
