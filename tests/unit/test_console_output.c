/* test_console_output: socks5ctl's printing of response bodies — the exact text of the table,
 * TSV and JSON forms of PROTOCOL.md's example bodies, human units, and terminal safety. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_text.h"
#include "connection_columns.h"
#include "output.h"
#include "user_columns.h"

/* The example bodies of PROTOCOL.md 12.5. */
static const char user_metrics_body[] = "user: alice\n"
                                        "role: admin\n"
                                        "connections_live: 2\n"
                                        "connections_total: 57\n"
                                        "bytes_up: 48213\n"
                                        "bytes_down: 9912844\n";

static const char connections_body[] =
    "total: 3\n"
    "offset: 0\n"
    "\n"
    "id\tstate\tstarted\tuser\tclient\tdestination\tdestination_address\tbytes_up\tbytes_down\t"
    "status\tduration_ms\n"
    "15\tclosed\t2026-11-25T09:19:58.500Z\tanonymous\t192.0.2.7:41000\tbad\\x1b[2Jname:80\t-\t0\t"
    "0\t4\t3\n"
    "17\tlive\t2026-11-25T09:20:01.123Z\talice\t192.0.2.7:50000\texample.org:443\t"
    "[2001:db8::10]:443\t5120\t204800\t0\t61250\n"
    "18\tlive\t2026-11-25T09:20:30.007Z\t-\t[2001:db8::7]:50022\t-\t-\t0\t0\t-\t12\n";

static const char users_body[] =
    "total: 2\n"
    "\n"
    "user\trole\tconnections_live\tconnections_total\tbytes_up\tbytes_down\n"
    "alice\tadmin\t2\t57\t48213\t9912844\n"
    "bob\tuser\t0\t3\t120\t4410\n";

static const char server_info_body[] = "server: socks5d 0.1.0\n"
                                       "uptime_seconds: 1230\n"
                                       "handshake_timeout_seconds: 10\n"
                                       "buffer_size: 16384\n"
                                       "response_body_max: 16777216\n";

/* Prints body in format and returns what was printed (caller frees). */
static char *render(enum console_format format, const char *command, const char *body,
                    size_t length)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    output_result(out, format, command, body, length);
    fclose(out);
    return text;
}

static void check_render(enum console_format format, const char *command, const char *body,
                         const char *expected)
{
    char *text = render(format, command, body, strlen(body));
    ck_assert_str_eq(text, expected);
    free(text);
}

START_TEST(record_as_table_aligns_values_and_adds_human_units)
{
    check_render(CONSOLE_FORMAT_TABLE, "user-metrics", user_metrics_body,
                 "user:              alice\n"
                 "role:              admin\n"
                 "connections_live:  2\n"
                 "connections_total: 57\n"
                 "bytes_up:          48213 (47.1 KiB)\n"
                 "bytes_down:        9912844 (9.5 MiB)\n");
    check_render(CONSOLE_FORMAT_TABLE, "server-info", server_info_body,
                 "server:                    socks5d 0.1.0\n"
                 "uptime_seconds:            1230 (20m30s)\n"
                 "handshake_timeout_seconds: 10\n"
                 "buffer_size:               16384 (16.0 KiB)\n"
                 "response_body_max:         16777216 (16.0 MiB)\n");
}
END_TEST

START_TEST(table_aligns_columns_numbers_right_text_left)
{
    check_render(
        CONSOLE_FORMAT_TABLE, "connections", connections_body,
        "total:  3\n"
        "offset: 0\n"
        "\n"
        "id  state   started                   user       client               destination        "
        "destination_address  bytes_up  bytes_down  status  duration_ms\n"
        "15  closed  2026-11-25T09:19:58.500Z  anonymous  192.0.2.7:41000      bad\\x1b[2Jname:80  "
        "-                         0 B         0 B       4         3 ms\n"
        "17  live    2026-11-25T09:20:01.123Z  alice      192.0.2.7:50000      example.org:443    "
        "[2001:db8::10]:443    5.0 KiB   200.0 KiB       0        1m01s\n"
        "18  live    2026-11-25T09:20:30.007Z  -          [2001:db8::7]:50022  -                  "
        "-                         0 B         0 B       -        12 ms\n");
    check_render(CONSOLE_FORMAT_TABLE, "users", users_body,
                 "total: 2\n"
                 "\n"
                 "user   role   connections_live  connections_total  bytes_up  bytes_down\n"
                 "alice  admin                 2                 57  47.1 KiB     9.5 MiB\n"
                 "bob    user                  0                  3     120 B     4.3 KiB\n");
}
END_TEST

START_TEST(empty_table_prints_its_header)
{
    check_render(CONSOLE_FORMAT_TABLE, "users", "total: 0\n\nuser\trole\n",
                 "total: 0\n\nuser  role\n");
    check_render(CONSOLE_FORMAT_TSV, "users", "total: 0\n\nuser\trole\n", "user\trole\n");
    check_render(CONSOLE_FORMAT_JSON, "users", "total: 0\n\nuser\trole\n",
                 "{\"command\":\"users\",\"record\":{\"total\":0},\"rows\":[]}\n");
}
END_TEST

START_TEST(tsv_is_the_table_as_sent)
{
    check_render(CONSOLE_FORMAT_TSV, "connections", connections_body,
                 strstr(connections_body, "\n\n") + 2);
    check_render(CONSOLE_FORMAT_TSV, "users", users_body, strstr(users_body, "\n\n") + 2);
}
END_TEST

START_TEST(tsv_record_is_key_value_lines)
{
    check_render(CONSOLE_FORMAT_TSV, "user-metrics", user_metrics_body,
                 "key\tvalue\n"
                 "user\talice\n"
                 "role\tadmin\n"
                 "connections_live\t2\n"
                 "connections_total\t57\n"
                 "bytes_up\t48213\n"
                 "bytes_down\t9912844\n");
    check_render(CONSOLE_FORMAT_TSV, "ping", "", "");
}
END_TEST

START_TEST(json_is_one_object_per_line_with_typed_values)
{
    check_render(CONSOLE_FORMAT_JSON, "user-metrics", user_metrics_body,
                 "{\"command\":\"user-metrics\",\"record\":{\"user\":\"alice\",\"role\":\"admin\","
                 "\"connections_live\":2,\"connections_total\":57,\"bytes_up\":48213,"
                 "\"bytes_down\":9912844}}\n");
    check_render(
        CONSOLE_FORMAT_JSON, "connections", connections_body,
        "{\"command\":\"connections\",\"record\":{\"total\":3,\"offset\":0},\"rows\":["
        "{\"id\":15,\"state\":\"closed\",\"started\":\"2026-11-25T09:19:58.500Z\","
        "\"user\":\"anonymous\",\"client\":\"192.0.2.7:41000\","
        "\"destination\":\"bad\\u001b[2Jname:80\",\"destination_address\":\"-\","
        "\"bytes_up\":0,\"bytes_down\":0,\"status\":4,\"duration_ms\":3},"
        "{\"id\":17,\"state\":\"live\",\"started\":\"2026-11-25T09:20:01.123Z\","
        "\"user\":\"alice\",\"client\":\"192.0.2.7:50000\",\"destination\":\"example.org:443\","
        "\"destination_address\":\"[2001:db8::10]:443\",\"bytes_up\":5120,"
        "\"bytes_down\":204800,\"status\":0,\"duration_ms\":61250},"
        "{\"id\":18,\"state\":\"live\",\"started\":\"2026-11-25T09:20:30.007Z\","
        "\"user\":\"-\",\"client\":\"[2001:db8::7]:50022\",\"destination\":\"-\","
        "\"destination_address\":\"-\",\"bytes_up\":0,\"bytes_down\":0,\"status\":null,"
        "\"duration_ms\":12}]}\n");
    check_render(CONSOLE_FORMAT_JSON, "ping", "", "{\"command\":\"ping\"}\n");
}
END_TEST

START_TEST(json_keeps_text_fields_strings)
{
    /* A user called "42" stays a string; a text value is unescaped, then JSON-escaped. */
    check_render(CONSOLE_FORMAT_JSON, "user-metrics",
                 "user: 42\nrole: user\nnote: a\\tb\\\\c \"q\"\n",
                 "{\"command\":\"user-metrics\",\"record\":{\"user\":\"42\",\"role\":\"user\","
                 "\"note\":\"a\\tb\\\\c \\\"q\\\"\"}}\n");
}
END_TEST

START_TEST(table_escapes_what_could_drive_a_terminal)
{
    /* C1 control U+009B (CSI) and a byte that is not UTF-8 are shown escaped; é stays. */
    check_render(CONSOLE_FORMAT_TABLE, "x", "name: a\xc2\x9b" "b\xff\xc3\xa9\n",
                 "name: a\\u009bb\\xffé\n");
    /* Columns count characters, not bytes: é takes one. */
    check_render(CONSOLE_FORMAT_TABLE, "x", "\nname\tn\n\xc3\xa9\t1\nab\t2\n",
                 "name  n\n"
                 "é     1\n"
                 "ab    2\n");
}
END_TEST

START_TEST(json_replaces_bytes_that_are_not_utf8)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    output_json_string(out, "a\xff\xc3\xa9\x01\x7f", 6);
    fclose(out);
    ck_assert_str_eq(text, "\"a\\ufffd\xc3\xa9\\u0001\\u007f\"");
    free(text);
}
END_TEST

START_TEST(unknown_keys_and_columns_pass_through)
{
    check_render(CONSOLE_FORMAT_TABLE, "x", "new_key: 7\n\nnew_column\tid\nabc\t1\n",
                 "new_key: 7\n\nnew_column  id\nabc          1\n");
}
END_TEST

/* Every column name of body's table is one of columns: the listing is typed by the table. */
static void check_described(const char *body, const struct table_column *columns, size_t count)
{
    struct admin_table table;
    ck_assert(admin_table_open(&table, body, strlen(body)));
    struct admin_span name;
    for (size_t i = 0; i < table.column_count; i++) {
        ck_assert(admin_table_column_name(&table, i, &name));
        ck_assert_msg(table_column_find(columns, count, name.data, name.length) != NULL,
                      "column %.*s is not in the console's table", (int)name.length, name.data);
    }
}

START_TEST(listings_are_typed_by_the_column_tables)
{
    check_described(connections_body, connection_columns, connection_column_count);
    check_described(users_body, user_columns, user_column_count);
}
END_TEST

START_TEST(human_bytes)
{
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        {0, "0 B"},
        {1023, "1023 B"},
        {1024, "1.0 KiB"},
        {1536, "1.5 KiB"},
        {1048524, "1023.9 KiB"},
        {1048575, "1.0 MiB"},
        {1073741824, "1.0 GiB"},
        {UINT64_MAX, "16.0 EiB"},
    };
    char text[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        output_format_bytes(cases[i].bytes, text, sizeof(text));
        ck_assert_str_eq(text, cases[i].text);
    }
}
END_TEST

START_TEST(human_durations)
{
    static const struct {
        uint64_t milliseconds;
        const char *text;
    } cases[] = {
        {0, "0 ms"},         {999, "999 ms"},        {1000, "1.0 s"},
        {12345, "12.3 s"},   {60000, "1m00s"},       {307000, "5m07s"},
        {3600000, "1h00m"},  {11040000, "3h04m"},    {86400000, "1d00h"},
        {183600000, "2d03h"},
    };
    char text[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        output_format_duration_ms(cases[i].milliseconds, text, sizeof(text));
        ck_assert_str_eq(text, cases[i].text);
    }
}
END_TEST

static Suite *console_output_suite(void)
{
    Suite *suite = suite_create("console_output");
    TCase *formats = tcase_create("formats");
    tcase_add_test(formats, record_as_table_aligns_values_and_adds_human_units);
    tcase_add_test(formats, table_aligns_columns_numbers_right_text_left);
    tcase_add_test(formats, empty_table_prints_its_header);
    tcase_add_test(formats, tsv_is_the_table_as_sent);
    tcase_add_test(formats, tsv_record_is_key_value_lines);
    tcase_add_test(formats, json_is_one_object_per_line_with_typed_values);
    tcase_add_test(formats, json_keeps_text_fields_strings);
    tcase_add_test(formats, table_escapes_what_could_drive_a_terminal);
    tcase_add_test(formats, json_replaces_bytes_that_are_not_utf8);
    tcase_add_test(formats, unknown_keys_and_columns_pass_through);
    tcase_add_test(formats, listings_are_typed_by_the_column_tables);
    suite_add_tcase(suite, formats);

    TCase *units = tcase_create("units");
    tcase_add_test(units, human_bytes);
    tcase_add_test(units, human_durations);
    suite_add_tcase(suite, units);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(console_output_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
