/* test_dashboard_model: checks the dashboard's data — rates between samples, parsing of the
 * admin bodies (PROTOCOL.md's examples), merging users across refreshes, order and filter. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "admin_commands.h"
#include "admin_text.h"
#include "connection_columns.h"
#include "dashboard_model.h"
#include "rates.h"

/* ---- rates ---- */

START_TEST(rate_needs_two_samples)
{
    struct rate rate;
    rate_reset(&rate);
    ck_assert(!rate_known(&rate));
    rate_sample(&rate, 1000, 10.0);
    ck_assert(!rate_known(&rate));
    ck_assert(rate_per_second(&rate) == 0.0);
    rate_sample(&rate, 3000, 12.0);
    ck_assert(rate_known(&rate));
    ck_assert(rate_per_second(&rate) == 1000.0);
    rate_sample(&rate, 3500, 12.5);
    ck_assert(rate_per_second(&rate) == 1000.0);
    rate_sample(&rate, 3500, 13.5);
    ck_assert(rate_per_second(&rate) == 0.0);
}
END_TEST

START_TEST(rate_ignores_time_going_nowhere)
{
    struct rate rate;
    rate_reset(&rate);
    rate_sample(&rate, 10, 5.0);
    rate_sample(&rate, 20, 6.0);
    rate_sample(&rate, 90, 6.0); /* same instant: no division by zero, sample ignored */
    ck_assert(rate_per_second(&rate) == 10.0);
    rate_sample(&rate, 90, 4.0); /* clock went back: ignored too */
    ck_assert(rate_per_second(&rate) == 10.0);
    rate_sample(&rate, 40, 7.0); /* 20 -> 40 over 1 s */
    ck_assert(rate_per_second(&rate) == 20.0);
}
END_TEST

START_TEST(rate_restarts_when_counter_shrinks)
{
    struct rate rate;
    rate_reset(&rate);
    rate_sample(&rate, 5000, 1.0);
    rate_sample(&rate, 6000, 2.0);
    rate_sample(&rate, 100, 3.0); /* a new server process */
    ck_assert(rate_known(&rate));
    ck_assert(rate_per_second(&rate) == 0.0);
    rate_sample(&rate, 400, 5.0);
    ck_assert(rate_per_second(&rate) == 150.0);
}
END_TEST

/* ---- bodies (PROTOCOL.md section 12.5) ---- */

static const char server_info_body[] =
    "server: socks5d 0.1.0\n"
    "protocol_version: 2\n"
    "started: 2026-11-25T09:00:00.000Z\n"
    "uptime_seconds: 1230\n"
    "socks_listeners: 127.0.0.1:1080 [::1]:1080\n"
    "admin_listeners: 127.0.0.1:8080\n"
    "auth_mode: password\n"
    "buffer_size: 16384\n"
    "max_connections: 10000\n"
    "handshake_timeout_seconds: 10\n"
    "connect_timeout_seconds: 10\n"
    "idle_timeout_seconds: 3600\n"
    "connection_history: 1000\n"
    "users: 2\n"
    "admin_sessions: 1\n"
    "admin_max_sessions: 64\n"
    "some_future_key: whatever\n";

static const char metrics_body[] =
    "uptime_seconds: 1230\n"
    "connections_total: 5120\n"
    "connections_current: 12\n"
    "bytes_up: 1048576\n"
    "bytes_down: 73400320\n"
    "send_errors: 3\n"
    "receive_errors: 7\n"
    "dns_errors: 2\n"
    "server_errors: 0\n"
    "unsupported_input: 4\n"
    "dns_connections: 4000\n"
    "ipv4_connections: 4900\n"
    "ipv6_connections: 200\n"
    "auth_errors: 9\n"
    "host_unreachable: 6\n"
    "connection_refused: 1\n"
    "accept_paused: 0\n";

static const char connections_body[] =
    "total: 3\n"
    "offset: 0\n"
    "\n"
    "id\tstate\tstarted\tuser\tclient\tdestination\tdestination_address\tbytes_up\tbytes_down\tstatus\tduration_ms\n"
    "15\tclosed\t2026-11-25T09:19:58.500Z\tanonymous\t192.0.2.7:41000\tbad\\x1b[2Jname:80\t-\t0\t0\t4\t3\n"
    "17\tlive\t2026-11-25T09:20:01.123Z\talice\t192.0.2.7:50000\texample.org:443\t[2001:db8::10]:443\t5120\t204800\t0\t61250\n"
    "18\tlive\t2026-11-25T09:20:30.007Z\t-\t[2001:db8::7]:50022\t-\t-\t0\t0\t-\t12\n";

static const char users_body[] =
    "total: 2\n"
    "\n"
    "user\trole\tconnections_live\tconnections_total\tbytes_up\tbytes_down\tmax_connections\t"
    "upload_limit\tdownload_limit\tlimit_refusals\tlifetime_connections_total\tlifetime_bytes_up\t"
    "lifetime_bytes_down\n"
    "alice\tadmin\t2\t57\t48213\t9912844\t0\t0\t0\t0\t1203\t5213884\t904331877\n"
    "bob\tuser\t0\t3\t120\t4410\t4\t1048576\t8388608\t2\t-\t-\t-\n";

START_TEST(parses_server_info)
{
    struct dashboard_server_info info;
    ck_assert(dashboard_parse_server_info(server_info_body, strlen(server_info_body), &info));
    ck_assert(info.valid);
    ck_assert_str_eq(info.server, "socks5d 0.1.0");
    ck_assert_str_eq(info.socks_listeners, "127.0.0.1:1080 [::1]:1080");
    ck_assert_str_eq(info.auth_mode, "password");
    ck_assert_uint_eq(info.buffer_size, 16384);
    ck_assert_uint_eq(info.max_connections, 10000);
    ck_assert_uint_eq(info.admin_sessions, 1);
    ck_assert_uint_eq(info.admin_max_sessions, 64);
    ck_assert(!info.accounting_failing);
    static const char failing[] = "server: socks5d 0.2.0\naccounting: failing\n"
                                  "accounting_error: disk full\\nreally\n";
    ck_assert(dashboard_parse_server_info(failing, strlen(failing), &info));
    ck_assert(info.accounting_failing);
    ck_assert_str_eq(info.accounting_error, "disk full\\nreally"); /* kept escaped */
    static const char ok[] = "server: socks5d 0.2.0\naccounting: ok\naccounting_error: -\n";
    ck_assert(dashboard_parse_server_info(ok, strlen(ok), &info));
    ck_assert(!info.accounting_failing);
    ck_assert_str_eq(info.accounting_error, "");
    ck_assert(!dashboard_parse_server_info("users: 2\n", 9, &info));
}
END_TEST

START_TEST(parses_metrics)
{
    struct dashboard_metrics metrics;
    ck_assert(dashboard_parse_metrics(metrics_body, strlen(metrics_body), &metrics));
    ck_assert_uint_eq(metrics.uptime_seconds, 1230);
    ck_assert_uint_eq(metrics.connections_total, 5120);
    ck_assert_uint_eq(metrics.connections_current, 12);
    ck_assert_uint_eq(metrics.bytes_down, 73400320);
    ck_assert_uint_eq(metrics.connection_refused, 1);
    ck_assert_uint_eq(dashboard_metrics_errors(&metrics), 3 + 7 + 2 + 0 + 4 + 9);
    /* A required counter missing is an error; unknown keys are not. */
    ck_assert(!dashboard_parse_metrics("uptime_seconds: 5\n", 18, &metrics));
}
END_TEST

START_TEST(parses_user_metrics)
{
    static const char body[] = "user: al\\tice\nrole: admin\nconnections_live: 2\n"
                               "connections_total: 57\nbytes_up: 48213\nbytes_down: 9912844\n"
                               "max_connections: 3\nupload_limit: 0\ndownload_limit: 1024\n";
    struct dashboard_usage usage;
    ck_assert(dashboard_parse_usage(body, strlen(body), &usage));
    ck_assert_str_eq(usage.name, "al\tice"); /* unescaped: it is sent back in requests */
    ck_assert_str_eq(usage.role, "admin");
    ck_assert_uint_eq(usage.connections_live, 2);
    ck_assert_uint_eq(usage.connections_total, 57);
    ck_assert_uint_eq(usage.bytes_up, 48213);
    ck_assert_uint_eq(usage.bytes_down, 9912844);
    ck_assert_uint_eq(usage.max_connections, 3);
    ck_assert_uint_eq(usage.download_limit, 1024);
    ck_assert_uint_eq(usage.limit_refusals, 0); /* absent: none */
    ck_assert(!usage.lifetime_known);
    static const char lifetime[] = "user: bob\nconnections_live: 0\nconnections_total: 1\n"
                                   "bytes_up: 2\nbytes_down: 3\nlifetime_connections_total: 40\n"
                                   "lifetime_bytes_up: 50\nlifetime_bytes_down: 60\n";
    ck_assert(dashboard_parse_usage(lifetime, strlen(lifetime), &usage));
    ck_assert(usage.lifetime_known);
    ck_assert_uint_eq(usage.lifetime_connections_total, 40);
    ck_assert_uint_eq(usage.lifetime_bytes_down, 60);
    ck_assert(!dashboard_parse_usage("user: x\n", 8, &usage));
}
END_TEST

/* A field of a parsed row read as the protocol types it. */
static uint64_t field_u64(const struct dashboard_connection *row, const char *key)
{
    const char *field = connection_field(row, key);
    uint64_t value = 0;
    ck_assert_msg(admin_span_to_u64((struct admin_span){ field, strlen(field) }, &value),
                  "%s is not a number: '%s'", key, field);
    return value;
}

static int64_t field_time(const struct dashboard_connection *row, const char *key)
{
    const char *field = connection_field(row, key);
    int64_t unix_ms = 0;
    ck_assert_msg(admin_span_to_time((struct admin_span){ field, strlen(field) }, &unix_ms),
                  "%s is not a time: '%s'", key, field);
    return unix_ms;
}

START_TEST(parses_connections)
{
    struct dashboard_connection rows[4];
    size_t count;
    uint64_t total;
    ck_assert(connections_parse(connections_body, strlen(connections_body), rows, 4, &count,
                                &total));
    ck_assert_uint_eq(total, 3);
    ck_assert_uint_eq(count, 3);
    ck_assert_uint_eq(rows[0].id, 15);
    ck_assert(!rows[0].live);
    ck_assert(rows[0].has_status);
    ck_assert_uint_eq(rows[0].status, 4);
    /* Destinations stay escaped: printing them cannot drive the terminal. */
    ck_assert_str_eq(connection_field(&rows[0], ADMIN_COLUMN_DESTINATION), "bad\\x1b[2Jname:80");
    ck_assert(rows[1].live);
    ck_assert_int_eq(field_time(&rows[1], ADMIN_COLUMN_STARTED), 1795598401123LL);
    ck_assert_str_eq(connection_field(&rows[1], ADMIN_COLUMN_CLIENT), "192.0.2.7:50000");
    ck_assert_str_eq(connection_field(&rows[1], ADMIN_COLUMN_DESTINATION_ADDRESS),
                     "[2001:db8::10]:443");
    ck_assert_uint_eq(field_u64(&rows[1], ADMIN_COLUMN_BYTES_UP), 5120);
    ck_assert_uint_eq(field_u64(&rows[1], ADMIN_COLUMN_BYTES_DOWN), 204800);
    ck_assert_uint_eq(field_u64(&rows[1], ADMIN_COLUMN_DURATION_MS), 61250);
    ck_assert(!rows[2].has_status); /* live, not answered yet */
    ck_assert_str_eq(connection_field(&rows[2], ADMIN_COLUMN_DESTINATION), "-");

    ck_assert(connections_parse(connections_body, strlen(connections_body), rows, 1, &count,
                                &total));
    ck_assert_uint_eq(count, 1);
    ck_assert(!connections_parse("total: 0\n", 9, rows, 4, &count, &total));
}
END_TEST

START_TEST(parses_columns_by_name)
{
    /* A later server may add and move columns. */
    static const char body[] = "total: 1\noffset: 0\n\n"
                               "bytes_down\tnew_column\tid\tstate\n"
                               "99\tx\t7\tlive\n";
    struct dashboard_connection row;
    size_t count;
    uint64_t total;
    ck_assert(connections_parse(body, strlen(body), &row, 1, &count, &total));
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(row.id, 7);
    ck_assert_uint_eq(field_u64(&row, ADMIN_COLUMN_BYTES_DOWN), 99);
    ck_assert(row.live);
    ck_assert_str_eq(connection_field(&row, ADMIN_COLUMN_CLIENT), "-");
    ck_assert_str_eq(connection_field(&row, NULL), "-"); /* a derived column has no field */
}
END_TEST

/* ---- merging users across refreshes ---- */

static struct dashboard_usage usage_of(const char *name, uint64_t live, uint64_t up)
{
    struct dashboard_usage usage = { 0 };
    strcpy(usage.name, name);
    strcpy(usage.role, "user");
    usage.connections_live = live;
    usage.bytes_up = up;
    return usage;
}

/* History pages go below the tree, newest first, without the connections it shows already;
 * a refresh of the tree keeps them, a collapse forgets them. */
START_TEST(history_pages_extend_the_tree)
{
    static const char history_body[] =
        "more: yes\n"
        "\n"
        "id\tstate\tstarted\tuser\tclient\tdestination\tdestination_address\tbytes_up\t"
        "bytes_down\tstatus\tduration_ms\thistory_id\tended\n"
        "15\tclosed\t2026-11-25T09:19:58.500Z\talice\t192.0.2.7:41000\ta:80\t-\t0\t0\t4\t3\t"
        "900\t2026-11-25T09:19:58.503Z\n"
        "15\tclosed\t2026-11-20T08:00:00.000Z\talice\t192.0.2.7:40000\tb:80\t-\t1\t2\t0\t5\t"
        "880\t2026-11-20T08:00:00.005Z\n"
        "4\tclosed\t2026-11-19T08:00:00.000Z\talice\t192.0.2.7:40001\tc:80\t-\t1\t2\t0\t5\t"
        "870\t2026-11-19T08:00:00.005Z\n";
    struct dashboard_connection rows[8];
    size_t count;
    uint64_t total;
    bool more = false;
    ck_assert(connections_parse(connections_body, strlen(connections_body), rows, 8, &count,
                                &total));
    struct dashboard_user user = { 0 };
    /* live: 17 and 18; recent: 15 (started 09:19:58.500) */
    ck_assert(dashboard_user_set_connections(&user, rows + 1, 2, 2, rows, 1, 1));
    ck_assert_uint_eq(dashboard_user_tree_rows(&user), 3);

    ck_assert(!history_rows_parse(connections_body, strlen(connections_body), rows, 8, &count,
                                  &more));
    ck_assert(history_rows_parse(history_body, strlen(history_body), rows, 8, &count, &more));
    ck_assert_uint_eq(count, 3);
    ck_assert(more);
    ck_assert_str_eq(connection_field(&rows[0], ADMIN_COLUMN_ENDED), "2026-11-25T09:19:58.503Z");
    ck_assert(dashboard_user_add_history(&user, rows, count, more));
    /* The first is the recent 15 itself; the older 15 (another run of the server) is not. */
    ck_assert_uint_eq(user.history_count, 2);
    ck_assert_uint_eq(user.history_before, 870);
    ck_assert(user.history_asked && user.history_more);
    ck_assert_uint_eq(dashboard_user_tree_rows(&user), 5);
    ck_assert_str_eq(connection_field(&user.connections[3], ADMIN_COLUMN_DESTINATION), "b:80");
    ck_assert_str_eq(connection_field(&user.connections[4], ADMIN_COLUMN_DESTINATION), "c:80");

    /* The tree refreshed: still followed by the history's rows. */
    ck_assert(connections_parse(connections_body, strlen(connections_body), rows, 8, &count,
                                &total));
    ck_assert(dashboard_user_set_connections(&user, rows + 1, 2, 2, rows, 1, 1));
    ck_assert_uint_eq(dashboard_user_tree_rows(&user), 5);
    ck_assert_str_eq(connection_field(&user.connections[4], ADMIN_COLUMN_DESTINATION), "c:80");
    /* The last page: nothing older. */
    ck_assert(dashboard_user_add_history(&user, rows, 0, false));
    ck_assert(!user.history_more);
    ck_assert_uint_eq(dashboard_user_tree_rows(&user), 5);

    dashboard_user_clear_connections(&user);
    ck_assert_ptr_null(user.history);
    ck_assert_uint_eq(dashboard_user_tree_rows(&user), 0);
    ck_assert(!user.history_asked);
}
END_TEST

START_TEST(users_keep_state_across_refreshes)
{
    struct dashboard_model model;
    dashboard_model_init(&model);
    dashboard_model_begin_users(&model);
    ck_assert(dashboard_model_put_users_table(&model, users_body, strlen(users_body), 1.0));
    dashboard_model_end_users(&model);
    ck_assert_uint_eq(model.user_count, 2);
    ck_assert_str_eq(model.users[0].usage.name, "alice");
    ck_assert_uint_eq(model.users[0].usage.bytes_down, 9912844);
    ck_assert_uint_eq(model.users[1].usage.connections_total, 3);
    ck_assert_uint_eq(model.users[1].usage.max_connections, 4);
    ck_assert_uint_eq(model.users[1].usage.upload_limit, 1048576);
    ck_assert_uint_eq(model.users[1].usage.download_limit, 8388608);
    ck_assert_uint_eq(model.users[1].usage.limit_refusals, 2);
    ck_assert_uint_eq(model.users[0].usage.max_connections, 0);
    ck_assert(model.users[0].usage.lifetime_known);
    ck_assert_uint_eq(model.users[0].usage.lifetime_connections_total, 1203);
    ck_assert_uint_eq(model.users[0].usage.lifetime_bytes_up, 5213884);
    ck_assert_uint_eq(model.users[0].usage.lifetime_bytes_down, 904331877);
    ck_assert(!model.users[1].usage.lifetime_known); /* "-": accounting has none for bob */

    struct dashboard_user *alice = dashboard_model_find(&model, "alice");
    ck_assert_ptr_nonnull(alice);
    alice->expanded = true;
    struct dashboard_connection live[2] = { { .id = 3, .live = true }, { .id = 9, .live = true } };
    struct dashboard_connection recent[1] = { { .id = 1 } };
    ck_assert(dashboard_user_set_connections(alice, live, 2, 2, recent, 1, 40));
    ck_assert_uint_eq(alice->connections[0].id, 9); /* newest live first */
    ck_assert_uint_eq(alice->connections[1].id, 3);
    ck_assert_uint_eq(alice->connections[2].id, 1);

    /* Next refresh: bob is gone, carol and anonymous came, alice moved on. */
    dashboard_model_begin_users(&model);
    struct dashboard_usage carol = usage_of("carol", 1, 10);
    struct dashboard_usage anonymous = usage_of("anonymous", 0, 0);
    struct dashboard_usage alice_now = usage_of("alice", 2, 48213 + 2000);
    ck_assert(dashboard_model_put_user(&model, &carol, 3.0));
    ck_assert(dashboard_model_put_user(&model, &anonymous, 3.0));
    ck_assert(dashboard_model_put_user(&model, &alice_now, 3.0));
    dashboard_model_end_users(&model);
    ck_assert_uint_eq(model.user_count, 3);
    ck_assert_str_eq(model.users[0].usage.name, "alice");
    ck_assert_str_eq(model.users[1].usage.name, "anonymous");
    ck_assert_str_eq(model.users[2].usage.name, "carol");
    ck_assert_ptr_null(dashboard_model_find(&model, "bob"));
    alice = dashboard_model_find(&model, "alice");
    ck_assert(alice->expanded);
    ck_assert_uint_eq(alice->live_shown + alice->recent_shown, 3);
    ck_assert_uint_eq(alice->recent_total, 40);
    ck_assert(rate_known(&alice->rate_up));
    ck_assert(rate_per_second(&alice->rate_up) == 1000.0);
    ck_assert(!rate_known(&dashboard_model_find(&model, "carol")->rate_up));

    dashboard_user_clear_connections(alice);
    ck_assert(!alice->connections_fetched);
    dashboard_model_free(&model);
}
END_TEST

START_TEST(metrics_give_header_rates)
{
    struct dashboard_model model;
    dashboard_model_init(&model);
    struct dashboard_metrics metrics = { .valid = true, .connections_total = 10, .bytes_up = 100,
                                         .bytes_down = 1000, .send_errors = 1 };
    dashboard_model_set_metrics(&model, &metrics, 1.0);
    metrics.connections_total = 14;
    metrics.bytes_up = 300;
    metrics.bytes_down = 5000;
    metrics.auth_errors = 3;
    dashboard_model_set_metrics(&model, &metrics, 3.0);
    ck_assert(model.errors_known);
    ck_assert(rate_per_second(&model.rate_connections) == 2.0);
    ck_assert(rate_per_second(&model.rate_up) == 100.0);
    ck_assert(rate_per_second(&model.rate_down) == 2000.0);
    ck_assert(rate_per_second(&model.rate_errors) == 1.5);
    dashboard_model_reset_rates(&model);
    ck_assert(!rate_known(&model.rate_up));

    struct dashboard_usage own = usage_of("bob", 1, 50);
    dashboard_model_set_own_totals(&model, &own, 4.0);
    ck_assert(!model.errors_known);
    ck_assert(!model.metrics.valid);
    dashboard_model_free(&model);
}
END_TEST

/* ---- order and filter ---- */

START_TEST(orders_and_filters_users)
{
    struct dashboard_model model;
    dashboard_model_init(&model);
    dashboard_model_begin_users(&model);
    const char *names[] = { "dave", "Alice", "carol", "bob" };
    uint64_t live[] = { 1, 5, 5, 0 };
    uint64_t up[] = { 900, 10, 20, 5000 };
    for (size_t i = 0; i < 4; i++) {
        struct dashboard_usage usage = usage_of(names[i], live[i], up[i]);
        usage.connections_total = 10 * i;
        ck_assert(dashboard_model_put_user(&model, &usage, 1.0));
    }
    dashboard_model_end_users(&model);
    /* Sorted bytewise by name: Alice, bob, carol, dave. */
    size_t order[4];
    ck_assert_uint_eq(dashboard_model_order(&model, DASHBOARD_SORT_NAME, NULL, order), 4);
    ck_assert_str_eq(model.users[order[0]].usage.name, "Alice");
    ck_assert_str_eq(model.users[order[3]].usage.name, "dave");

    ck_assert_uint_eq(dashboard_model_order(&model, DASHBOARD_SORT_LIVE, "", order), 4);
    ck_assert_str_eq(model.users[order[0]].usage.name, "Alice"); /* 5, tie by name */
    ck_assert_str_eq(model.users[order[1]].usage.name, "carol"); /* 5 */
    ck_assert_str_eq(model.users[order[2]].usage.name, "dave");  /* 1 */
    ck_assert_str_eq(model.users[order[3]].usage.name, "bob");   /* 0 */

    ck_assert_uint_eq(dashboard_model_order(&model, DASHBOARD_SORT_BYTES, NULL, order), 4);
    ck_assert_str_eq(model.users[order[0]].usage.name, "bob");
    ck_assert_str_eq(model.users[order[1]].usage.name, "dave");

    ck_assert_uint_eq(dashboard_model_order(&model, DASHBOARD_SORT_TOTAL, NULL, order), 4);
    ck_assert_str_eq(model.users[order[0]].usage.name, "bob"); /* 30 */

    ck_assert_uint_eq(dashboard_model_order(&model, DASHBOARD_SORT_NAME, "A", order), 3);
    ck_assert_str_eq(model.users[order[0]].usage.name, "Alice");
    ck_assert_str_eq(model.users[order[1]].usage.name, "carol");
    ck_assert_str_eq(model.users[order[2]].usage.name, "dave");
    ck_assert_uint_eq(dashboard_model_order(&model, DASHBOARD_SORT_NAME, "zz", order), 0);

    ck_assert_str_eq(dashboard_sort_name(DASHBOARD_SORT_RATE), "rate");
    dashboard_model_free(&model);
}
END_TEST

static Suite *dashboard_model_suite(void)
{
    Suite *suite = suite_create("dashboard_model");
    TCase *rates = tcase_create("rates");
    tcase_add_test(rates, rate_needs_two_samples);
    tcase_add_test(rates, rate_ignores_time_going_nowhere);
    tcase_add_test(rates, rate_restarts_when_counter_shrinks);
    suite_add_tcase(suite, rates);
    TCase *parsing = tcase_create("parsing");
    tcase_add_test(parsing, parses_server_info);
    tcase_add_test(parsing, parses_metrics);
    tcase_add_test(parsing, parses_user_metrics);
    tcase_add_test(parsing, parses_connections);
    tcase_add_test(parsing, parses_columns_by_name);
    suite_add_tcase(suite, parsing);
    TCase *model = tcase_create("model");
    tcase_add_test(model, users_keep_state_across_refreshes);
    tcase_add_test(model, history_pages_extend_the_tree);
    tcase_add_test(model, metrics_give_header_rates);
    tcase_add_test(model, orders_and_filters_users);
    suite_add_tcase(suite, model);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(dashboard_model_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
