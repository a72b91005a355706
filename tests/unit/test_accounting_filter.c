/* test_accounting_filter: Check suite for server/accounting's pure parts — the history filter's
 * destination and status parsers byte by byte and with garbage, stored addresses, prefix bounds,
 * and a finished connection record copied for the store. */
#include "accounting_filter.h"
#include "accounting_store.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

static void mapped(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memcpy(out, mapped_prefix, 12);
    out[12] = a, out[13] = b, out[14] = c, out[15] = d;
}

static struct accounting_filter network(const char *pattern)
{
    struct accounting_filter filter;
    accounting_filter_init(&filter, 10);
    const char *problem = NULL;
    ck_assert_msg(accounting_filter_set_destination(&filter, pattern, &problem), "%s: %s",
                  pattern, problem);
    ck_assert_int_eq(filter.destination_match, ACCOUNTING_DESTINATION_NETWORK);
    return filter;
}

START_TEST(init_matches_everything)
{
    struct accounting_filter filter;
    memset(&filter, 0x5A, sizeof filter);
    accounting_filter_init(&filter, 77);
    ck_assert_ptr_null(filter.user);
    ck_assert_int_eq(filter.destination_match, ACCOUNTING_DESTINATION_ANY);
    ck_assert_str_eq(filter.destination_prefix, "");
    ck_assert_int_eq(filter.since_ms, 0);
    ck_assert_int_eq(filter.until_ms, 0);
    ck_assert_int_eq(filter.status, ACCOUNTING_STATUS_ANY);
    ck_assert_uint_eq(filter.before_history_id, 0);
    ck_assert_uint_eq(filter.limit, 77);
}
END_TEST

START_TEST(ipv4_networks_are_mapped_ranges)
{
    uint8_t low[16], high[16];
    struct accounting_filter filter = network("10.0.0.0/8");
    mapped(low, 10, 0, 0, 0);
    mapped(high, 10, 255, 255, 255);
    ck_assert_mem_eq(filter.network_low, low, 16);
    ck_assert_mem_eq(filter.network_high, high, 16);

    /* Host bits are dropped: the network is what the prefix length says. */
    filter = network("192.168.7.200/22");
    mapped(low, 192, 168, 4, 0);
    mapped(high, 192, 168, 7, 255);
    ck_assert_mem_eq(filter.network_low, low, 16);
    ck_assert_mem_eq(filter.network_high, high, 16);

    filter = network("1.2.3.4");
    mapped(low, 1, 2, 3, 4);
    ck_assert_mem_eq(filter.network_low, low, 16);
    ck_assert_mem_eq(filter.network_high, low, 16);
    ck_assert_str_eq(filter.destination_prefix, "");

    filter = network("0.0.0.0/0");
    mapped(low, 0, 0, 0, 0);
    mapped(high, 255, 255, 255, 255);
    ck_assert_mem_eq(filter.network_low, low, 16);
    ck_assert_mem_eq(filter.network_high, high, 16);

    /* "::ffff:a.b.c.d" is the IPv4 address; its prefix counts the whole 128 bits. */
    filter = network("::ffff:1.2.3.4");
    mapped(low, 1, 2, 3, 4);
    ck_assert_mem_eq(filter.network_low, low, 16);
    ck_assert_mem_eq(filter.network_high, low, 16);
    filter = network("::ffff:1.2.3.4/120");
    mapped(low, 1, 2, 3, 0);
    mapped(high, 1, 2, 3, 255);
    ck_assert_mem_eq(filter.network_low, low, 16);
    ck_assert_mem_eq(filter.network_high, high, 16);
}
END_TEST

START_TEST(ipv6_networks)
{
    struct accounting_filter filter = network("2001:db8::/32");
    const uint8_t low[16] = {0x20, 0x01, 0x0d, 0xb8};
    uint8_t high[16];
    memset(high, 0xFF, 16);
    memcpy(high, low, 4);
    ck_assert_mem_eq(filter.network_low, low, 16);
    ck_assert_mem_eq(filter.network_high, high, 16);

    filter = network("::1");
    const uint8_t loopback[16] = {[15] = 1};
    ck_assert_mem_eq(filter.network_low, loopback, 16);
    ck_assert_mem_eq(filter.network_high, loopback, 16);

    filter = network("::/0");
    const uint8_t zero[16] = {0};
    uint8_t ones[16];
    memset(ones, 0xFF, 16);
    ck_assert_mem_eq(filter.network_low, zero, 16);
    ck_assert_mem_eq(filter.network_high, ones, 16);

    /* A prefix length that ends inside a byte. */
    filter = network("2001:db8:ab80::/41");
    ck_assert_uint_eq(filter.network_low[5], 0x80);
    ck_assert_uint_eq(filter.network_high[5], 0xFF);
    ck_assert_uint_eq(filter.network_low[6], 0x00);
    filter = network("2001:db8:ab80::/39");
    ck_assert_uint_eq(filter.network_low[4], 0xaa);
    ck_assert_uint_eq(filter.network_high[4], 0xab);
}
END_TEST

START_TEST(bad_prefix_lengths_are_refused)
{
    static const char *const bad[] = {
        "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/ 8", "1.2.3.4/8 ",
        "1.2.3.4/0x8", "1.2.3.4/0008", "1.2.3.4/8/8", "::/129", "::1/", "2001:db8::/1000",
        "::ffff:1.2.3.4/129", "10.0.0.0/a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct accounting_filter filter;
        accounting_filter_init(&filter, 5);
        ck_assert(accounting_filter_set_destination(&filter, "example.com", &(const char *){0}));
        struct accounting_filter before = filter;
        const char *problem = NULL;
        ck_assert_msg(!accounting_filter_set_destination(&filter, bad[i], &problem), "%s",
                      bad[i]);
        ck_assert_ptr_nonnull(problem);
        ck_assert(strstr(problem, "prefix length") != NULL);
        ck_assert_mem_eq(&filter, &before, sizeof filter);
    }
    /* Three digits with a leading zero are still a number in range. */
    network("10.0.0.0/08");
}
END_TEST

START_TEST(anything_else_is_a_prefix)
{
    static const char *const prefixes[] = {
        "example.com", "example.com:443", "1.2.3.4:443", "[::1]:80", "example.com/24",
        "1.2.3", "256.1.1.1", "1.2.3.4.5", "::1%lo", "EXAMPLE.com", "ex%", "a_b", " ",
        "fe80::1%eth0/64", "\xff\xfe",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        struct accounting_filter filter;
        accounting_filter_init(&filter, 5);
        const char *problem = NULL;
        ck_assert_msg(accounting_filter_set_destination(&filter, prefixes[i], &problem), "%s",
                      prefixes[i]);
        ck_assert_int_eq(filter.destination_match, ACCOUNTING_DESTINATION_PREFIX);
        ck_assert_str_eq(filter.destination_prefix, prefixes[i]);
    }
}
END_TEST

START_TEST(empty_and_long_destinations)
{
    struct accounting_filter filter;
    accounting_filter_init(&filter, 5);
    const char *problem = NULL;
    ck_assert(accounting_filter_set_destination(&filter, "example.com", &problem));
    ck_assert(accounting_filter_set_destination(&filter, "", &problem));
    ck_assert_int_eq(filter.destination_match, ACCOUNTING_DESTINATION_ANY);
    ck_assert(accounting_filter_set_destination(&filter, NULL, &problem));
    ck_assert_int_eq(filter.destination_match, ACCOUNTING_DESTINATION_ANY);

    char longest[ACCOUNTING_DESTINATION_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[ACCOUNTING_DESTINATION_MAX] = '\0';
    ck_assert(accounting_filter_set_destination(&filter, longest, &problem));
    ck_assert_str_eq(filter.destination_prefix, longest);
    longest[ACCOUNTING_DESTINATION_MAX] = 'a';
    longest[ACCOUNTING_DESTINATION_MAX + 1] = '\0';
    struct accounting_filter before = filter;
    ck_assert(!accounting_filter_set_destination(&filter, longest, &problem));
    ck_assert(strstr(problem, "262") != NULL);
    ck_assert_mem_eq(&filter, &before, sizeof filter);
}
END_TEST

START_TEST(status_text)
{
    struct accounting_filter filter;
    accounting_filter_init(&filter, 5);
    const char *problem = NULL;
    ck_assert(accounting_filter_set_status(&filter, "failed", &problem));
    ck_assert_int_eq(filter.status, ACCOUNTING_STATUS_FAILED);
    ck_assert(accounting_filter_set_status(&filter, "", &problem));
    ck_assert_int_eq(filter.status, ACCOUNTING_STATUS_ANY);
    ck_assert(accounting_filter_set_status(&filter, NULL, &problem));
    ck_assert_int_eq(filter.status, ACCOUNTING_STATUS_ANY);
    static const struct {
        const char *text;
        int status;
    } good[] = {{"0", 0}, {"5", 5}, {"255", 255}, {"007", 7}, {"00", 0}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_msg(accounting_filter_set_status(&filter, good[i].text, &problem), "%s",
                      good[i].text);
        ck_assert_int_eq(filter.status, good[i].status);
    }
    static const char *const bad[] = {
        "256", "-1", "+1", " 1", "1 ", "0x1", "FAILED", "Failed", "failed ", "failedx",
        "fail", "1000", "0005", "1.0", "any", "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        accounting_filter_set_status(&filter, "4", &problem);
        problem = NULL;
        ck_assert_msg(!accounting_filter_set_status(&filter, bad[i], &problem), "%s", bad[i]);
        ck_assert_ptr_nonnull(problem);
        ck_assert_int_eq(filter.status, 4);
    }
}
END_TEST

START_TEST(stored_addresses)
{
    uint8_t bytes[16], expected[16];
    ck_assert(accounting_address_bytes("1.2.3.4:443", bytes));
    mapped(expected, 1, 2, 3, 4);
    ck_assert_mem_eq(bytes, expected, 16);
    ck_assert(accounting_address_bytes("[2001:db8::1]:80", bytes));
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    ck_assert_mem_eq(bytes, v6, 16);
    ck_assert(accounting_address_bytes("[::ffff:1.2.3.4]:80", bytes));
    ck_assert_mem_eq(bytes, expected, 16);
    static const char *const none[] = {
        "-", "", "1.2.3.4", "[::1]", "[::1]80", "::1:80", "[1.2.3.4]:80", "example.com:80",
        "1.2.3:80", "[::1:80", ":80", "[]:80",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        ck_assert_msg(!accounting_address_bytes(none[i], bytes), "%s", none[i]);
}
END_TEST

START_TEST(prefix_upper_bounds)
{
    char upper[16];
    ck_assert(accounting_prefix_upper_bound("abc", upper, sizeof upper));
    ck_assert_str_eq(upper, "abd");
    ck_assert(accounting_prefix_upper_bound("ab\xff\xff", upper, sizeof upper));
    ck_assert_str_eq(upper, "ac");
    ck_assert(accounting_prefix_upper_bound("a\x7f", upper, sizeof upper));
    ck_assert_str_eq(upper, "a\x80");
    ck_assert(!accounting_prefix_upper_bound("\xff\xff", upper, sizeof upper));
    ck_assert(!accounting_prefix_upper_bound("", upper, sizeof upper));
}
END_TEST

static void release_nothing(struct record_owner *owner) { (void)owner; }

START_TEST(connection_from_record)
{
    struct record_owner owner = {.references = 1, .name = "alice", .release = release_nothing};
    struct connection_record record;
    memset(&record, 0, sizeof record);
    record.id = 42;
    record.started_ms = 1000;
    record.ended_ms = 2500;
    record.owner = &owner;
    snprintf(record.client, sizeof record.client, "127.0.0.1:5555");
    snprintf(record.destination_address, sizeof record.destination_address, "[::1]:443");
    char destination[] = "example.com:443";
    record.destination = destination;
    record.kind = CONNECTION_KIND_UDP;
    record.bytes_up = 1;
    record.bytes_down = 2;
    record.datagrams_up = 3;
    record.datagrams_down = 4;
    record.datagram_relay = true;
    record.status = 5;
    record.replied = true;

    struct accounting_connection connection;
    memset(&connection, 0x5A, sizeof connection);
    accounting_connection_from_record(&connection, &record);
    ck_assert_uint_eq(connection.history_id, 0);
    ck_assert_uint_eq(connection.server_id, 42);
    ck_assert_int_eq(connection.started_ms, 1000);
    ck_assert_int_eq(connection.ended_ms, 2500);
    ck_assert_int_eq(connection.kind, CONNECTION_KIND_UDP);
    ck_assert_uint_eq(connection.status, 5);
    ck_assert(connection.replied);
    ck_assert(connection.authenticated);
    ck_assert_str_eq(connection.user, "alice");
    ck_assert_str_eq(connection.client, "127.0.0.1:5555");
    ck_assert_str_eq(connection.destination, "example.com:443");
    ck_assert_str_eq(connection.destination_address, "[::1]:443");
    ck_assert_uint_eq(connection.bytes_up, 1);
    ck_assert_uint_eq(connection.bytes_down, 2);
    ck_assert_uint_eq(connection.datagrams_up, 3);
    ck_assert_uint_eq(connection.datagrams_down, 4);
    ck_assert(connection.datagram_relay);

    /* Never authenticated, no request: empty user and destination. */
    record.owner = NULL;
    record.destination = NULL;
    snprintf(record.destination_address, sizeof record.destination_address, "-");
    accounting_connection_from_record(&connection, &record);
    ck_assert(!connection.authenticated);
    ck_assert_str_eq(connection.user, "");
    ck_assert_str_eq(connection.destination, "");
    ck_assert_str_eq(connection.destination_address, "-");
    ck_assert_uint_eq(owner.references, 1);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("accounting_filter");
    TCase *parsers = tcase_create("parsers");
    tcase_add_test(parsers, init_matches_everything);
    tcase_add_test(parsers, ipv4_networks_are_mapped_ranges);
    tcase_add_test(parsers, ipv6_networks);
    tcase_add_test(parsers, bad_prefix_lengths_are_refused);
    tcase_add_test(parsers, anything_else_is_a_prefix);
    tcase_add_test(parsers, empty_and_long_destinations);
    tcase_add_test(parsers, status_text);
    tcase_add_test(parsers, stored_addresses);
    tcase_add_test(parsers, prefix_upper_bounds);
    tcase_add_test(parsers, connection_from_record);
    suite_add_tcase(suite, parsers);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
