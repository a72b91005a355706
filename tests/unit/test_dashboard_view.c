/* test_dashboard_view: checks the dashboard's screen text without a terminal — compact units,
 * cutting to the width (ASCII and UTF-8), header fields, user and connection rows by the column
 * tables, tree lines, cursor, scrolling, key hints, help and connection details. */
#include <check.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "command_line.h"
#include "compact_units.h"
#include "connection_tree.h"
#include "dashboard_header.h"
#include "dashboard_model.h"
#include "popup.h"
#include "screen_text.h"
#include "user_list.h"

static const struct screen_style ascii80 = { 80, false };
static const struct screen_style ascii100 = { 100, false };

/* Screen columns of a UTF-8 string (the test runs under C.UTF-8 where it can). */
static int columns_of(const char *text)
{
    wchar_t wide[SCREEN_LINE_SIZE];
    size_t count = mbstowcs(wide, text, SCREEN_LINE_SIZE);
    ck_assert_msg(count != (size_t)-1, "not valid in this locale: %s", text);
    return wcswidth(wide, count);
}

/* text is expected, padded with spaces to width columns. */
static void assert_padded(const char *text, const char *expected, size_t width)
{
    char padded[SCREEN_LINE_SIZE];
    snprintf(padded, sizeof(padded), "%-*s", (int)width, expected);
    ck_assert_str_eq(text, padded);
}

static bool has_control_bytes(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return true;
    return false;
}

/* ---- formats ---- */

START_TEST(formats_bytes)
{
    char out[16];
    compact_bytes(0, out, sizeof(out));
    ck_assert_str_eq(out, "0");
    compact_bytes(1023, out, sizeof(out));
    ck_assert_str_eq(out, "1023");
    compact_bytes(1024, out, sizeof(out));
    ck_assert_str_eq(out, "1.0K");
    compact_bytes(1536, out, sizeof(out));
    ck_assert_str_eq(out, "1.5K");
    compact_bytes(48213, out, sizeof(out));
    ck_assert_str_eq(out, "47K");
    compact_bytes(9912844, out, sizeof(out));
    ck_assert_str_eq(out, "9.5M");
    compact_bytes(73400320, out, sizeof(out));
    ck_assert_str_eq(out, "70M");
    compact_bytes(1048575, out, sizeof(out)); /* 1023.999K rounds up into the next unit */
    ck_assert_str_eq(out, "1.0M");
    compact_bytes(UINT64_MAX, out, sizeof(out));
    ck_assert_str_eq(out, "16E");
}
END_TEST

START_TEST(formats_rates_and_durations)
{
    char out[16];
    compact_rate(0.2, out, sizeof(out));
    ck_assert_str_eq(out, "0");
    compact_rate(999.4, out, sizeof(out));
    ck_assert_str_eq(out, "999");
    compact_rate(2048.0, out, sizeof(out));
    ck_assert_str_eq(out, "2.0K");
    compact_count_rate(0.0, out, sizeof(out));
    ck_assert_str_eq(out, "0");
    compact_count_rate(2.25, out, sizeof(out));
    ck_assert_str_eq(out, "2.2");
    compact_count_rate(1500.0, out, sizeof(out));
    ck_assert_str_eq(out, "1500");
    compact_duration(42, out, sizeof(out));
    ck_assert_str_eq(out, "42s");
    compact_duration(306, out, sizeof(out));
    ck_assert_str_eq(out, "5m06s");
    compact_duration(3 * 3600 + 4 * 60 + 5, out, sizeof(out));
    ck_assert_str_eq(out, "3h04m");
    compact_duration(12 * 86400 + 3 * 3600, out, sizeof(out));
    ck_assert_str_eq(out, "12d03h");
    compact_duration_ms(350, out, sizeof(out));
    ck_assert_str_eq(out, "350ms");
    compact_duration_ms(61250, out, sizeof(out));
    ck_assert_str_eq(out, "1m01s");
    compact_clock(1795598401123LL, out, sizeof(out)); /* TZ=UTC, set in main */
    ck_assert_str_eq(out, "09:20:01");
    ck_assert_str_eq(reply_short_name(0), "ok");
    ck_assert_str_eq(reply_short_name(5), "refused");
    ck_assert_str_eq(reply_short_name(200), "other");
    ck_assert_str_eq(reply_name(4), "host unreachable");
}
END_TEST

/* ---- fitting ---- */

START_TEST(fits_ascii)
{
    char out[64];
    ck_assert_int_eq(text_fit("alice", 8, true, false, out, sizeof(out)), 8);
    ck_assert_str_eq(out, "alice   ");
    ck_assert_int_eq(text_fit("alice", 8, false, false, out, sizeof(out)), 5);
    ck_assert_str_eq(out, "alice");
    ck_assert_int_eq(text_fit("example.org:443", 8, true, false, out, sizeof(out)), 8);
    ck_assert_str_eq(out, "example~");
    ck_assert_int_eq(text_fit("abc", 0, true, false, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
    /* What the terminal must not receive becomes '?'. */
    text_fit("a\x1b[2J\tb\xc3\xa9", 20, false, false, out, sizeof(out));
    ck_assert_str_eq(out, "a?[2J?b??");
    /* A small output buffer cuts, still NUL-terminated. */
    char small[4];
    text_fit("abcdef", 10, true, false, small, sizeof(small));
    ck_assert_str_eq(small, "abc");
}
END_TEST

START_TEST(fits_utf8)
{
    char out[64];
    ck_assert_int_eq(text_fit("jos\xc3\xa9", 6, true, true, out, sizeof(out)), 6);
    ck_assert_str_eq(out, "jos\xc3\xa9  ");
    /* Wide characters take two columns and are never split. */
    ck_assert_int_eq(text_fit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, false, true, out,
                              sizeof(out)), 3);
    ck_assert_str_eq(out, "\xe6\x97\xa5\xe2\x80\xa6");
    ck_assert_int_eq(columns_of(out), 3);
    /* Broken sequences and C1 controls are replaced. */
    text_fit("a\xc3(b\xc2\x9b", 10, false, true, out, sizeof(out));
    ck_assert_str_eq(out, "a?(b?");
}
END_TEST

/* ---- a model to draw ---- */

#define CONNECTION_COLUMNS                                                                     \
    "id\tstate\tstarted\tuser\tclient\tdestination\tdestination_address\tbytes_up\t"          \
    "bytes_down\tstatus\tduration_ms\tkind\tdatagrams_up\tdatagrams_down\n"

static struct dashboard_model model;

static void model_setup(void)
{
    dashboard_model_init(&model);
    dashboard_model_begin_users(&model);
    struct dashboard_usage alice = { .name = "alice", .role = "admin", .connections_live = 2,
                                     .connections_total = 57, .bytes_up = 48213,
                                     .bytes_down = 9912844, .max_connections = 2 };
    struct dashboard_usage bob = { .name = "bob\x1b[2J", .role = "user", .connections_total = 3,
                                   .download_limit = 1 << 20 };
    struct dashboard_usage carol = { .name = "carol", .role = "user" };
    ck_assert(dashboard_model_put_user(&model, &alice, 1.0));
    ck_assert(dashboard_model_put_user(&model, &bob, 1.0));
    ck_assert(dashboard_model_put_user(&model, &carol, 1.0));
    dashboard_model_end_users(&model);
    alice.bytes_up += 2048;
    dashboard_model_begin_users(&model);
    ck_assert(dashboard_model_put_user(&model, &alice, 2.0));
    ck_assert(dashboard_model_put_user(&model, &bob, 2.0));
    ck_assert(dashboard_model_put_user(&model, &carol, 2.0));
    dashboard_model_end_users(&model);

    struct dashboard_user *user = dashboard_model_find(&model, "alice");
    user->expanded = true;
    /* Connections come as the server lists them (fields it leaves out as "-"). */
    static const char live_body[] =
        "total: 2\noffset: 0\n\n" CONNECTION_COLUMNS
        "17\tlive\t2026-11-25T09:20:01.123Z\talice\t192.0.2.7:50000\texample.org:443\t"
        "[2001:db8::10]:443\t5120\t204800\t0\t61250\tbind\t-\t-\n"
        "18\tlive\t-\talice\t[2001:db8::7]:50022\t-\t-\t0\t0\t-\t0\tudp\t7\t9\n";
    static const char recent_body[] =
        "total: 30\noffset: 29\n\n" CONNECTION_COLUMNS
        "15\tclosed\t2026-11-25T09:19:58.500Z\talice\t192.0.2.7:41000\t"
        "a-very-long-destination-name.example.org:8080\t-\t0\t0\t5\t0\tconnect\t-\t-\n";
    struct dashboard_connection live[2], recent[1];
    size_t count;
    uint64_t total;
    ck_assert(connections_parse(live_body, strlen(live_body), live, 2, &count, &total));
    ck_assert_uint_eq(count, 2);
    ck_assert(connections_parse(recent_body, strlen(recent_body), recent, 1, &count, &total));
    ck_assert_uint_eq(count, 1);
    ck_assert(dashboard_user_set_connections(user, live, 2, 2, recent, 1, 30));
    dashboard_model_find(&model, "carol")->expanded = true; /* not fetched yet */
}

static void model_teardown(void)
{
    dashboard_model_free(&model);
}

static size_t build(struct list_line *lines, size_t capacity)
{
    size_t order[8];
    size_t count = dashboard_model_order(&model, DASHBOARD_SORT_NAME, NULL, order);
    return user_list_build(&model, order, count, lines, capacity);
}

START_TEST(builds_tree_lines)
{
    struct list_line lines[16];
    size_t count = build(lines, 16);
    /* alice, columns, 18, 17, 15, note (28 more recent), bob, carol, note (loading). */
    ck_assert_uint_eq(count, 9);
    ck_assert_int_eq(lines[0].kind, LIST_LINE_USER);
    ck_assert_int_eq(lines[1].kind, LIST_LINE_TREE_TITLES);
    ck_assert_int_eq(lines[2].kind, LIST_LINE_CONNECTION);
    ck_assert_uint_eq(model.users[lines[2].user].connections[lines[2].connection].id, 18);
    ck_assert_uint_eq(model.users[lines[3].user].connections[lines[3].connection].id, 17);
    ck_assert_uint_eq(model.users[lines[4].user].connections[lines[4].connection].id, 15);
    ck_assert(!lines[4].last);
    ck_assert_int_eq(lines[5].kind, LIST_LINE_NOTE);
    ck_assert(lines[5].last);
    ck_assert_int_eq(lines[6].kind, LIST_LINE_USER);
    ck_assert_int_eq(lines[8].kind, LIST_LINE_NOTE);
    /* A short array is filled as far as it goes; the count is still the whole. */
    ck_assert_uint_eq(build(lines, 3), 9);
}
END_TEST

START_TEST(lines_fit_80_columns)
{
    struct list_line lines[16];
    size_t count = build(lines, 16);
    char text[SCREEN_LINE_SIZE];
    user_list_titles(COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_uint_eq(strlen(text), 80);
    ck_assert_str_eq(text, "   USER               ROLE    LIVE   TOTAL      UP    DOWN    UP/s  DOWN/s LIMIT");
    for (size_t i = 0; i < count; i++) {
        user_list_line_text(&model, &lines[i], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
        ck_assert_msg(strlen(text) == 80, "line %zu is %zu wide: '%s'", i, strlen(text), text);
        ck_assert(!has_control_bytes(text));
    }
    user_list_line_text(&model, &lines[0], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, " - alice              admin      2      57     49K    9.5M    2.0K       0 FULL ");
    user_list_line_text(&model, &lines[1], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, "     TIME     ORIGIN                DESTINATION            STATUS      UP   DOWN");
    user_list_line_text(&model, &lines[3], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, "  |- 09:20:01 192.0.2.7:50000       example.org:443        live      5.0K   200K");
    user_list_line_text(&model, &lines[2], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, "  |- -        [2001:db8::7]:50022   -                      opening      0      0");
    user_list_line_text(&model, &lines[4], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, "  |- 09:19:58 192.0.2.7:41000       a-very-long-destinati~ refused      0      0");
    user_list_line_text(&model, &lines[5], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    assert_padded(text, "  `- 29 more recent not shown (o: the history)", 80);
    /* The name holding ESC [2J is shown escaped. */
    user_list_line_text(&model, &lines[6], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, " + bob\\x1b[2J         user       0       3       0       0       0       0 set  ");
    user_list_line_text(&model, &lines[7], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text + 75, "-    "); /* carol has no limits */
    user_list_line_text(&model, &lines[8], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    assert_padded(text, "  `- loading...", 80);

    /* The lifetime view: the same width, the database's figures in the place of the totals,
     * "-" for a user the server has none for. */
    user_list_titles(COLUMN_VIEW_LIFETIME, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, "   USER               ROLE    LIVE   LIFE# LIFE UP LIFE DN    UP/s  DOWN/s LIMIT");
    struct dashboard_user *alice = dashboard_model_find(&model, "alice");
    alice->usage.lifetime_known = true;
    alice->usage.lifetime_connections_total = 1203;
    alice->usage.lifetime_bytes_up = 5213884;
    alice->usage.lifetime_bytes_down = 904331877;
    user_list_line_text(&model, &lines[0], COLUMN_VIEW_LIFETIME, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, " - alice              admin      2    1203    5.0M    862M    2.0K       0 FULL ");
    user_list_line_text(&model, &lines[6], COLUMN_VIEW_LIFETIME, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text, " + bob\\x1b[2J         user       0       -       -       -       0       0 set  ");
    alice->usage.lifetime_known = false;
    ck_assert_str_eq(user_list_view_name(COLUMN_VIEW_LIFETIME), "lifetime");
    ck_assert_str_eq(user_list_view_name(COLUMN_VIEW_SINCE_START), "since start");
}
END_TEST

/* LIMIT says FULL for a user whose measured rate has reached its limit (alice sends 2.0K/s). */
START_TEST(a_user_at_its_rate_is_marked)
{
    struct list_line lines[16];
    build(lines, 16);
    struct dashboard_user *alice = dashboard_model_find(&model, "alice");
    char text[SCREEN_LINE_SIZE];
    alice->usage.max_connections = 0;
    alice->usage.upload_limit = 2048;
    user_list_line_text(&model, &lines[0], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text + 75, "FULL ");
    alice->usage.upload_limit = 4096;
    user_list_line_text(&model, &lines[0], COLUMN_VIEW_SINCE_START, &ascii80, text, sizeof(text));
    ck_assert_str_eq(text + 75, "set  ");
}
END_TEST

START_TEST(lines_fit_other_widths)
{
    struct list_line lines[16];
    size_t count = build(lines, 16);
    char text[SCREEN_LINE_SIZE];
    static const int widths[] = { 20, 60, 100, 131, 200, SCREEN_WIDTH_MAX };
    for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
        struct screen_style ascii = { widths[w], false }, utf8 = { widths[w], true };
        for (size_t i = 0; i < count; i++) {
            user_list_line_text(&model, &lines[i], COLUMN_VIEW_SINCE_START, &ascii, text, sizeof(text));
            ck_assert_msg((int)strlen(text) == widths[w], "width %d line %zu: '%s'", widths[w], i,
                          text);
            user_list_line_text(&model, &lines[i], COLUMN_VIEW_SINCE_START, &utf8, text, sizeof(text));
            ck_assert_int_eq(columns_of(text), widths[w]);
        }
        user_list_titles(COLUMN_VIEW_SINCE_START, &utf8, text, sizeof(text));
        ck_assert_int_eq(columns_of(text), widths[w]);
    }
    /* 100 columns add the kind (from 88) and the duration; 130 the connected address. */
    user_list_line_text(&model, &lines[3], COLUMN_VIEW_SINCE_START, &ascii100, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(text, " 09:20:01 bind    192.0.2.7:50000 "));
    ck_assert_ptr_nonnull(strstr(text, "1m01s"));
    ck_assert_ptr_null(strstr(text, "2001:db8::10"));
    struct screen_style wide = { 140, false };
    user_list_line_text(&model, &lines[3], COLUMN_VIEW_SINCE_START, &wide, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(text, "[2001:db8::10]:443"));
    /* Tree lines in UTF-8. */
    struct screen_style utf8 = { 80, true };
    user_list_line_text(&model, &lines[3], COLUMN_VIEW_SINCE_START, &utf8, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(text, "\xe2\x94\x9c\xe2\x94\x80 09:20:01"));
    user_list_line_text(&model, &lines[0], COLUMN_VIEW_SINCE_START, &utf8, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(text, "\xe2\x96\xbe alice"));
}
END_TEST

START_TEST(header_admin_and_user)
{
    struct dashboard_metrics metrics = { .valid = true, .uptime_seconds = 3725,
                                         .connections_total = 5120, .connections_current = 12,
                                         .bytes_up = 1048576, .bytes_down = 73400320,
                                         .send_errors = 3, .auth_errors = 9,
                                         .connection_refused = 1 };
    dashboard_model_set_metrics(&model, &metrics, 1.0);
    metrics.connections_total += 8;
    metrics.bytes_down += 4096;
    dashboard_model_set_metrics(&model, &metrics, 3.0);
    model.info = (struct dashboard_server_info){ .valid = true, .server = "socks5d 0.1.0",
                                                 .socks_listeners = "127.0.0.1:1080",
                                                 .auth_mode = "password", .buffer_size = 16384,
                                                 .admin_sessions = 1, .admin_max_sessions = 64 };
    struct header_viewer viewer = { "root", true, "127.0.0.1:8080" };
    struct header_line lines[HEADER_LINES];
    header_fields(&model, &viewer, lines);
    char text[SCREEN_LINE_SIZE];
    const char *expected[HEADER_LINES] = {
        "socks5d 0.1.0  up 1h02m  auth password  admin root@127.0.0.1:8080  socks 127.0.0.1:1080",
        "Conns 12 live  5128 total  4.0/s  IPv4 0  IPv6 0  DNS 0",
        "Up 1.0M  0/s  Down 70M  2.0K/s  Users 3  buffer 16K  sessions 1/64",
        "Errors 12  0/s  send 3 recv 0 dns 0 auth 9 input 0 server 0  Refused 1  Unreachable 0",
    };
    struct screen_style wide = { 120, false };
    for (size_t i = 0; i < HEADER_LINES; i++) {
        header_line_text(&lines[i], &wide, text, sizeof(text));
        ck_assert_int_eq(strncmp(text, expected[i], strlen(expected[i])), 0);
        header_line_text(&lines[i], &ascii80, text, sizeof(text));
        ck_assert_uint_eq(strlen(text), 80);
    }

    /* A failing accounting database is said second on the first line, so it stays in view. */
    model.info.accounting_failing = true;
    snprintf(model.info.accounting_error, sizeof(model.info.accounting_error), "%s",
             "/var/lib/socks5d/accounting.db: disk I/O error");
    header_fields(&model, &viewer, lines);
    header_line_text(&lines[0], &ascii80, text, sizeof(text));
    ck_assert_int_eq(strncmp(text, "socks5d 0.1.0  accounting failing: /var/lib/socks5d/"
                                   "accounting.db: disk I/O error", 74), 0);
    model.info.accounting_failing = false;

    viewer.admin = false;
    viewer.user = "alice";
    header_fields(&model, &viewer, lines);
    header_line_text(&lines[0], &ascii80, text, sizeof(text));
    ck_assert_int_eq(strncmp(text, "socks5ctl  user alice@127.0.0.1:8080 ", 37), 0);
    header_line_text(&lines[3], &ascii80, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(text, "admin role"));
}
END_TEST

START_TEST(cursor_and_scrolling)
{
    struct list_line lines[16];
    size_t count = build(lines, 16);
    /* Column and note lines are skipped. */
    ck_assert_uint_eq(user_list_next_selectable(lines, count, 1, +1), 2);
    ck_assert_uint_eq(user_list_next_selectable(lines, count, 1, -1), 0);
    ck_assert_uint_eq(user_list_next_selectable(lines, count, 5, +1), 6);
    ck_assert_uint_eq(user_list_next_selectable(lines, count, 8, +1), 7); /* none below: go up */
    ck_assert_uint_eq(user_list_next_selectable(lines, count, 100, +1), 7);
    ck_assert_uint_eq(user_list_next_selectable(lines, 0, 0, +1), 0);

    ck_assert_uint_eq(user_list_locate(&model, lines, count, "alice", false, 0, 0, 0), 0);
    ck_assert_uint_eq(user_list_locate(&model, lines, count, "alice", true, 15, 0, 0), 4);
    ck_assert_uint_eq(user_list_locate(&model, lines, count, "alice", true, 99, 0, 0), 0);
    ck_assert_uint_eq(user_list_locate(&model, lines, count, "carol", false, 0, 0, 0), 7);
    ck_assert_uint_eq(user_list_locate(&model, lines, count, "zed", false, 0, 0, 5), 4);

    ck_assert_uint_eq(user_list_scroll_top(0, 0, 10, 5), 0);
    ck_assert_uint_eq(user_list_scroll_top(12, 0, 10, 30), 3);
    ck_assert_uint_eq(user_list_scroll_top(4, 8, 10, 30), 4);
    ck_assert_uint_eq(user_list_scroll_top(29, 25, 10, 30), 20);
    ck_assert_uint_eq(user_list_scroll_top(5, 25, 10, 12), 2); /* the list shrank under the window */
    ck_assert_uint_eq(user_list_scroll_top(3, 0, 0, 12), 0);
}
END_TEST

START_TEST(hints_help_details)
{
    char text[SCREEN_LINE_SIZE];
    command_line_hints(DASHBOARD_SORT_LIVE, "ali", &ascii80, text, sizeof(text));
    ck_assert_uint_eq(strlen(text), 80);
    ck_assert_int_eq(strncmp(text, "filter \"ali\"  q quit  ? help", 28), 0);
    ck_assert_ptr_nonnull(strstr(text, "sort:live"));
    const char *const *help = popup_help_lines();
    size_t count = 0;
    for (; help[count] != NULL; count++)
        ck_assert_uint_le(strlen(help[count]), 76); /* fits a popup in 80 columns */
    ck_assert_uint_le(count, 20);                    /* and in 24 lines */

    struct dashboard_user *alice = dashboard_model_find(&model, "alice");
    char details[16][DETAIL_LINE_SIZE];
    size_t lines = connection_details(alice, NULL, &alice->connections[2], details, 16);
    ck_assert_uint_eq(lines, 13);
    ck_assert_str_eq(details[0], "connection   15 (closed)");
    ck_assert_str_eq(details[2], "started      2026-11-25T09:19:58.500Z  09:19:58");
    ck_assert_str_eq(details[3], "kind         connect");
    ck_assert_str_eq(details[7], "status       5 (connection refused)");
    ck_assert_str_eq(details[11], "dgrams up    -");
    ck_assert_uint_eq(connection_details(alice, NULL, &alice->connections[0], details, 3), 3);
    struct dashboard_user *bob = dashboard_model_find(&model, "bob\x1b[2J");
    connection_details(bob, NULL, &alice->connections[0], details, 16);
    ck_assert_str_eq(details[1], "user         bob\\x1b[2J");
    ck_assert_str_eq(details[7], "status       - (not answered yet)");
    ck_assert_str_eq(details[3], "kind         udp");
    ck_assert_str_eq(details[11], "dgrams up    7");
    ck_assert_str_eq(details[12], "dgrams down  9");
}
END_TEST

static Suite *dashboard_view_suite(void)
{
    Suite *suite = suite_create("dashboard_view");
    TCase *formats = tcase_create("formats");
    tcase_add_test(formats, formats_bytes);
    tcase_add_test(formats, formats_rates_and_durations);
    tcase_add_test(formats, fits_ascii);
    tcase_add_test(formats, fits_utf8);
    suite_add_tcase(suite, formats);
    TCase *screen = tcase_create("screen");
    tcase_add_checked_fixture(screen, model_setup, model_teardown);
    tcase_add_test(screen, builds_tree_lines);
    tcase_add_test(screen, lines_fit_80_columns);
    tcase_add_test(screen, a_user_at_its_rate_is_marked);
    tcase_add_test(screen, lines_fit_other_widths);
    tcase_add_test(screen, header_admin_and_user);
    tcase_add_test(screen, cursor_and_scrolling);
    tcase_add_test(screen, hints_help_details);
    suite_add_tcase(suite, screen);
    return suite;
}

int main(void)
{
    /* Fixed clock zone and a UTF-8 character type, whatever the caller's environment. */
    setenv("TZ", "UTC", 1);
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        setlocale(LC_CTYPE, "C.utf8");
    SRunner *runner = srunner_create(dashboard_view_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
