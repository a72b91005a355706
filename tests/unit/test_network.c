/* test_network: Check suite for server/policy/network — CIDR parsing (every accepted form, every
 * rejection with its reason, garbage byte by byte), containment, canonical IPv4-mapped forms and
 * formatting back to text. */
#include "network.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sockaddr holding the literal text (IPv4 or IPv6). */
static struct sockaddr_storage address_of(const char *text)
{
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof(storage));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
        in6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
        in4->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, text, &in4->sin_addr), 1);
    }
    return storage;
}

static bool contains(const char *network_text, const char *address_text)
{
    struct network network;
    char error[128];
    ck_assert_msg(network_parse(network_text, &network, error, sizeof(error)), "%s: %s",
                  network_text, error);
    struct sockaddr_storage storage = address_of(address_text);
    struct ip_address address;
    ck_assert(ip_address_from_sockaddr((const struct sockaddr *)&storage, &address));
    return network_contains(&network, &address);
}

static void assert_formats_as(const char *text, const char *expected)
{
    struct network network;
    char error[128], formatted[NETWORK_TEXT_MAX];
    ck_assert_msg(network_parse(text, &network, error, sizeof(error)), "%s: %s", text, error);
    network_format(&network, formatted, sizeof(formatted));
    ck_assert_str_eq(formatted, expected);
}

static void assert_rejected(const char *text, const char *reason)
{
    struct network network = {0};
    char error[128] = "";
    ck_assert_msg(!network_parse(text, &network, error, sizeof(error)), "'%s' was accepted", text);
    ck_assert_msg(strstr(error, reason) != NULL, "'%s': '%s' does not say '%s'", text, error,
                  reason);
}

START_TEST(accepted_forms)
{
    assert_formats_as("10.0.0.0/8", "10.0.0.0/8");
    assert_formats_as("192.0.2.7", "192.0.2.7/32");
    assert_formats_as("0.0.0.0/0", "0.0.0.0/0");
    assert_formats_as("192.0.2.128/25", "192.0.2.128/25");
    assert_formats_as("fe80::/10", "fe80::/10");
    assert_formats_as("::1", "::1/128");
    assert_formats_as("::/0", "::/0");
    assert_formats_as("2001:DB8::/32", "2001:db8::/32");
    assert_formats_as("10.1.2.3/32", "10.1.2.3/32");
}
END_TEST

START_TEST(mapped_networks_are_ipv4)
{
    assert_formats_as("::ffff:10.0.0.0/104", "10.0.0.0/8");
    assert_formats_as("::ffff:127.0.0.1", "127.0.0.1/32");
    assert_formats_as("::ffff:0:0/96", "0.0.0.0/0");
    /* a shorter prefix than the mapped block's stays IPv6 */
    assert_formats_as("::/95", "::/95");
    ck_assert(contains("::ffff:10.0.0.0/104", "10.9.8.7"));
    ck_assert(contains("::ffff:10.0.0.0/104", "::ffff:10.9.8.7"));
}
END_TEST

START_TEST(rejections_say_why)
{
    assert_rejected("", "expected an IPv4 or IPv6 network");
    assert_rejected("/8", "expected an IPv4 or IPv6 network");
    assert_rejected("10.0.0.0/", "prefix length");
    assert_rejected("10.0.0.0/33", "0 to 32");
    assert_rejected("::/129", "0 to 128");
    assert_rejected("10.0.0.0/8/8", "prefix length");
    assert_rejected("10.0.0.0/+8", "prefix length");
    assert_rejected("10.0.0.0/ 8", "prefix length");
    assert_rejected("10.0.0.0/0008", "prefix length");
    assert_rejected("10.0.0.1/8", "host bits");
    assert_rejected("fe80::1/10", "host bits");
    assert_rejected("10.0.0", "expected");
    assert_rejected("127.1", "expected");
    assert_rejected("0x7f.0.0.1", "expected");
    assert_rejected("2130706433", "expected");
    assert_rejected("010.0.0.0/8", "expected");
    assert_rejected("256.0.0.0/8", "expected");
    assert_rejected("localhost", "expected");
    assert_rejected(" 10.0.0.0/8", "expected");
    assert_rejected("10.0.0.0 /8", "expected");
    assert_rejected("fe80::%eth0", "expected");
    assert_rejected("1:2:3:4:5:6:7:8:9", "expected");
    assert_rejected("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/8", "expected");
}
END_TEST

START_TEST(containment)
{
    ck_assert(contains("10.0.0.0/8", "10.255.255.255"));
    ck_assert(!contains("10.0.0.0/8", "11.0.0.0"));
    ck_assert(contains("192.0.2.128/25", "192.0.2.200"));
    ck_assert(!contains("192.0.2.128/25", "192.0.2.127"));
    ck_assert(contains("0.0.0.0/0", "203.0.113.9"));
    ck_assert(!contains("0.0.0.0/0", "2001:db8::1"));
    ck_assert(contains("fe80::/10", "febf:ffff::1"));
    ck_assert(!contains("fe80::/10", "fec0::1"));
    ck_assert(contains("::1", "::1"));
    ck_assert(!contains("::1", "::2"));
    ck_assert(contains("::/0", "2001:db8::1"));
    /* a mapped address is its IPv4 address, never an IPv6 one */
    ck_assert(contains("127.0.0.0/8", "::ffff:127.0.0.1"));
    ck_assert(!contains("::/0", "::ffff:127.0.0.1"));
    ck_assert(contains("192.0.2.7", "192.0.2.7"));
    ck_assert(!contains("192.0.2.7", "192.0.2.8"));
}
END_TEST

START_TEST(other_families_are_not_addresses)
{
    struct sockaddr unix_address = {.sa_family = AF_UNIX};
    struct ip_address address;
    ck_assert(!ip_address_from_sockaddr(&unix_address, &address));
}
END_TEST

/* Every prefix of every accepted text, and each with every byte value in place of one of its
 * characters: accepted or rejected, never a crash, and an accepted one formats back to a text
 * that parses to the same network. */
START_TEST(garbage_byte_by_byte)
{
    const char *seeds[] = {"10.0.0.0/8", "fe80::/10", "::ffff:10.0.0.0/104", "192.0.2.7"};
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t length = strlen(seeds[s]);
        for (size_t at = 0; at < length; at++) {
            for (int byte = 1; byte < 256; byte++) {
                char text[64];
                memcpy(text, seeds[s], length + 1);
                text[at] = (char)byte;
                for (size_t cut = 0; cut <= length; cut += length) {
                    char piece[64];
                    snprintf(piece, sizeof(piece), "%.*s", (int)(cut == 0 ? at + 1 : length),
                             text);
                    struct network network, again;
                    char error[128] = "", formatted[NETWORK_TEXT_MAX];
                    if (!network_parse(piece, &network, error, sizeof(error))) {
                        ck_assert_msg(error[0] != '\0', "'%s' rejected without a reason", piece);
                        continue;
                    }
                    network_format(&network, formatted, sizeof(formatted));
                    ck_assert_msg(network_parse(formatted, &again, error, sizeof(error)),
                                  "'%s' formats as '%s', which does not parse", piece, formatted);
                    ck_assert_int_eq(network.address.family, again.address.family);
                    ck_assert_mem_eq(network.address.bytes, again.address.bytes, 16);
                    ck_assert_uint_eq(network.prefix, again.prefix);
                }
            }
        }
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("network");
    TCase *parsing = tcase_create("parsing");
    tcase_add_test(parsing, accepted_forms);
    tcase_add_test(parsing, mapped_networks_are_ipv4);
    tcase_add_test(parsing, rejections_say_why);
    tcase_add_test(parsing, garbage_byte_by_byte);
    suite_add_tcase(suite, parsing);
    TCase *matching = tcase_create("matching");
    tcase_add_test(matching, containment);
    tcase_add_test(matching, other_families_are_not_addresses);
    suite_add_tcase(suite, matching);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
