/* test_console_server_list: the servers socks5ctl is given — HOST[:PORT] split, and --servers
 * files read line by line: comments, blanks, errors naming FILE:LINE, every prefix, garbage. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_list.h"

#define FILE_NAME "fleet.txt"

static bool parse(const char *text, struct server_list *list, char *error, size_t size)
{
    return server_list_parse(text, strlen(text), FILE_NAME, list, error, size);
}

static bool starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

START_TEST(address_forms)
{
    static const struct {
        const char *text, *host, *port;
    } cases[] = {
        {"localhost", "localhost", ""},
        {"proxy-1.example:9090", "proxy-1.example", "9090"},
        {"10.0.0.7:1", "10.0.0.7", "1"},
        {"10.0.0.7:65535", "10.0.0.7", "65535"},
        {"[::1]:8080", "::1", "8080"},
        {"[fe80::1%eth0]", "fe80::1%eth0", ""},
        {"::1", "::1", ""},
        {"2001:db8::5", "2001:db8::5", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct server_address address;
        char error[128] = "";
        ck_assert_msg(server_address_split(cases[i].text, &address, error, sizeof(error)),
                      "%s: %s", cases[i].text, error);
        ck_assert_str_eq(address.host, cases[i].host);
        ck_assert_str_eq(address.port, cases[i].port);
    }
}
END_TEST

START_TEST(address_refused)
{
    static const struct {
        const char *text, *problem;
    } cases[] = {
        {"", "an empty server address"},
        {"host:", "the port must be 1 to 65535"},
        {"host:0", "the port must be 1 to 65535"},
        {"host:65536", "the port must be 1 to 65535"},
        {"host:123456", "the port must be 1 to 65535"},
        {"host:8o", "the port must be 1 to 65535"},
        {"host:+80", "the port must be 1 to 65535"},
        {":80", "no host before ':'"},
        {"[::1", "an IPv6 address opened with '[' is not closed"},
        {"[::1]x", "only ':PORT' may follow ']'"},
        {"[]:80", "an empty host between '[' and ']'"},
        {"a b", "a host holds a space"},
        {"a]b:80", "a host holds a control byte or a bracket"},
        {"::1]", "a host holds a control byte or a bracket"},
        {"[a[b]", "a host holds a control byte or a bracket"},
        {"a\x1b[2J", "a host holds a control byte or a bracket"},
        {"a\x7f", "a host holds a control byte or a bracket"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct server_address address;
        char error[128] = "";
        ck_assert_msg(!server_address_split(cases[i].text, &address, error, sizeof(error)),
                      "%s accepted", cases[i].text);
        ck_assert_str_eq(error, cases[i].problem);
    }
    char long_host[SERVER_HOST_MAX + 2];
    memset(long_host, 'h', sizeof(long_host) - 1);
    long_host[sizeof(long_host) - 1] = '\0';
    struct server_address address;
    char error[128];
    ck_assert(!server_address_split(long_host, &address, error, sizeof(error)));
    long_host[SERVER_HOST_MAX] = '\0';
    ck_assert(server_address_split(long_host, &address, error, sizeof(error)));
}
END_TEST

START_TEST(the_same_server_twice_is_refused)
{
    struct server_address addresses[3];
    char error[256];
    ck_assert(server_address_split("Proxy.example:9000", &addresses[0], error, sizeof(error)));
    ck_assert(server_address_split("[::1]", &addresses[1], error, sizeof(error)));
    ck_assert(server_address_split("proxy.example", &addresses[2], error, sizeof(error)));
    ck_assert(server_addresses_distinct(addresses, 3, "8080", error, sizeof(error)));
    /* With -p 9000, "proxy.example" is the first one again. */
    ck_assert(!server_addresses_distinct(addresses, 3, "9000", error, sizeof(error)));
    ck_assert_str_eq(error, "the server proxy.example:9000 is named twice");
    ck_assert(server_address_split("[::1]:8080", &addresses[2], error, sizeof(error)));
    ck_assert(!server_addresses_distinct(addresses, 3, "8080", error, sizeof(error)));
    ck_assert_str_eq(error, "the server [::1]:8080 is named twice");
}
END_TEST

START_TEST(file_with_comments)
{
    const char *text = "# the fleet\n"
                       "\n"
                       "proxy-a.example:9090\n"
                       "   10.0.0.2   # the second, with the default port\n"
                       "\t[::1]:7000\r\n"
                       "#10.0.0.9:1 left out\n"
                       "10.0.0.3:8081"; /* no LF at the end */
    struct server_list list;
    char error[256] = "";
    ck_assert_msg(parse(text, &list, error, sizeof(error)), "%s", error);
    ck_assert_uint_eq(list.count, 4);
    ck_assert_str_eq(list.addresses[0].host, "proxy-a.example");
    ck_assert_str_eq(list.addresses[0].port, "9090");
    ck_assert_str_eq(list.addresses[1].host, "10.0.0.2");
    ck_assert_str_eq(list.addresses[1].port, "");
    ck_assert_str_eq(list.addresses[2].host, "::1");
    ck_assert_str_eq(list.addresses[2].port, "7000");
    ck_assert_str_eq(list.addresses[3].host, "10.0.0.3");
    ck_assert_str_eq(list.addresses[3].port, "8081");
    server_list_free(&list);
    ck_assert_ptr_null(list.addresses);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
    static const struct {
        const char *text, *error;
    } cases[] = {
        {"a:1\nb:2\nc:0\n", FILE_NAME ":3: the port must be 1 to 65535"},
        {"# x\n[::1\n", FILE_NAME ":2: an IPv6 address opened with '[' is not closed"},
        {"a:1 b:2\n", FILE_NAME ":1: one server per line (HOST[:PORT])"},
        {"a:1\n\n  a:1  \n", FILE_NAME ":3: the server of line 1 again"},
        {"a\na:1\n", NULL}, /* the default port is not port 1: two servers */
        {"", FILE_NAME ": names no server (one HOST[:PORT] per line)"},
        {"# only\n\n   \n", FILE_NAME ": names no server (one HOST[:PORT] per line)"},
        {":80\n", FILE_NAME ":1: no host before ':'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct server_list list;
        char error[256] = "";
        bool parsed = parse(cases[i].text, &list, error, sizeof(error));
        if (cases[i].error == NULL) {
            ck_assert_msg(parsed, "%s", error);
            server_list_free(&list);
            continue;
        }
        ck_assert_msg(!parsed, "case %zu accepted", i);
        ck_assert_str_eq(error, cases[i].error);
        ck_assert_uint_eq(list.count, 0);
        ck_assert_ptr_null(list.addresses);
    }
}
END_TEST

START_TEST(nul_byte_and_long_line)
{
    struct server_list list;
    char error[256] = "";
    const char with_nul[] = "a:1\nb\0c:2\n";
    ck_assert(!server_list_parse(with_nul, sizeof(with_nul) - 1, FILE_NAME, &list, error,
                                 sizeof(error)));
    ck_assert_str_eq(error, FILE_NAME ":2: a NUL byte");
    char long_line[2000];
    memset(long_line, 'x', sizeof(long_line));
    ck_assert(!server_list_parse(long_line, sizeof(long_line), FILE_NAME, &list, error,
                                 sizeof(error)));
    ck_assert_msg(starts_with(error, FILE_NAME ":1: a line of more than"), "%s", error);
}
END_TEST

/* Every prefix of a file parses (or fails with FILE: first) without reading past its end:
 * the prefix is copied to a buffer of its exact size. A prefix that ends at a line's end
 * names exactly the servers of the lines before. */
START_TEST(every_prefix)
{
    const char *text = "# fleet\nproxy-a:9090\n[2001:db8::1]:7000\n  10.1.2.3 # c\n::1\n";
    size_t length = strlen(text);
    size_t servers_before = 0;
    for (size_t cut = 0; cut <= length; cut++) {
        char *copy = malloc(cut > 0 ? cut : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, text, cut);
        struct server_list list;
        char error[256] = "";
        bool parsed = server_list_parse(copy, cut, FILE_NAME, &list, error, sizeof(error));
        if (!parsed)
            ck_assert_msg(starts_with(error, FILE_NAME ":"), "%zu: %s", cut, error);
        if (cut > 0 && text[cut - 1] == '\n') {
            servers_before = parsed ? list.count : 0;
            size_t expected = 0;
            for (size_t i = 0; i < cut; i++)
                expected += text[i] == '\n';
            expected = expected > 0 ? expected - 1 : 0; /* the comment line names none */
            ck_assert_uint_eq(servers_before, expected);
        }
        server_list_free(&list);
        free(copy);
    }
    ck_assert_uint_eq(servers_before, 4);
}
END_TEST

/* Each byte of a valid file replaced by every value: never a crash, and an error always names
 * the file. */
START_TEST(every_byte_replaced)
{
    const char *text = "a.example:81\n[::1]:82 # x\n";
    size_t length = strlen(text);
    for (size_t at = 0; at < length; at++) {
        for (unsigned value = 0; value < 256; value++) {
            char *copy = malloc(length);
            ck_assert_ptr_nonnull(copy);
            memcpy(copy, text, length);
            copy[at] = (char)value;
            struct server_list list;
            char error[256] = "";
            if (server_list_parse(copy, length, FILE_NAME, &list, error, sizeof(error)))
                ck_assert_uint_ge(list.count, 1);
            else
                ck_assert_msg(starts_with(error, FILE_NAME ":"), "%s", error);
            server_list_free(&list);
            free(copy);
        }
    }
}
END_TEST

START_TEST(garbage)
{
    uint32_t seed = 16;
    for (int round = 0; round < 5000; round++) {
        size_t length = (size_t)(round % 300);
        char *text = malloc(length > 0 ? length : 1);
        ck_assert_ptr_nonnull(text);
        for (size_t i = 0; i < length; i++) {
            seed = seed * 1103515245u + 12345u;
            /* Mostly the bytes a server list is made of, so lines get far. */
            static const char alphabet[] = "ab1:[]# \t\r\n.9\0\xff";
            text[i] = (seed >> 16) % 3 == 0 ? (char)(seed >> 8)
                                            : alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        struct server_list list;
        char error[256] = "";
        bool parsed = server_list_parse(text, length, FILE_NAME, &list, error, sizeof(error));
        if (parsed) {
            ck_assert_uint_ge(list.count, 1);
            for (size_t i = 0; i < list.count; i++)
                ck_assert_uint_gt(strlen(list.addresses[i].host), 0);
        } else {
            ck_assert_msg(starts_with(error, FILE_NAME), "%s", error);
        }
        server_list_free(&list);
        free(text);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("console_server_list");
    TCase *addresses = tcase_create("addresses");
    tcase_add_test(addresses, address_forms);
    tcase_add_test(addresses, address_refused);
    tcase_add_test(addresses, the_same_server_twice_is_refused);
    suite_add_tcase(suite, addresses);
    TCase *files = tcase_create("files");
    tcase_add_test(files, file_with_comments);
    tcase_add_test(files, errors_name_file_and_line);
    tcase_add_test(files, nul_byte_and_long_line);
    tcase_add_test(files, every_prefix);
    tcase_add_test(files, every_byte_replaced);
    tcase_add_test(files, garbage);
    suite_add_tcase(suite, files);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
