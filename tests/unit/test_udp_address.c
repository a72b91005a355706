/* test_udp_address: Check suite for server/socks/udp_address — one form per host (IPv4-mapped
 * IPv6 becomes IPv4), equality of family, address, port and scope, and SOCKS5 addresses and
 * lookup results turned into socket addresses. */
#include "udp_address.h"

#include <check.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static union udp_address ipv6(const char *text, uint16_t port, uint32_t scope)
{
    union udp_address address;
    memset(&address, 0, sizeof(address));
    address.in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &address.in6.sin6_addr);
    address.in6.sin6_port = htons(port);
    address.in6.sin6_scope_id = scope;
    return address;
}

static union udp_address ipv4(const char *text, uint16_t port)
{
    union udp_address address;
    memset(&address, 0, sizeof(address));
    address.in4.sin_family = AF_INET;
    inet_pton(AF_INET, text, &address.in4.sin_addr);
    address.in4.sin_port = htons(port);
    return address;
}

START_TEST(mapped_ipv6_becomes_ipv4)
{
    union udp_address address = ipv6("::ffff:192.0.2.1", 53, 0);
    udp_address_normalize(&address);
    union udp_address want = ipv4("192.0.2.1", 53);
    ck_assert(udp_address_equal(&address, &want));
    ck_assert_uint_eq(udp_address_length(&address), sizeof(struct sockaddr_in));
}
END_TEST

START_TEST(other_addresses_stay_as_they_are)
{
    union udp_address address = ipv6("2001:db8::1", 443, 0), copy = address;
    udp_address_normalize(&address);
    ck_assert_mem_eq(&address, &copy, sizeof(address));
    ck_assert_uint_eq(udp_address_length(&address), sizeof(struct sockaddr_in6));
    address = ipv4("127.0.0.1", 1);
    copy = address;
    udp_address_normalize(&address);
    ck_assert_mem_eq(&address, &copy, sizeof(address));
}
END_TEST

START_TEST(equal_means_family_address_port_and_scope)
{
    union udp_address a = ipv4("127.0.0.1", 80), b = ipv4("127.0.0.1", 80);
    ck_assert(udp_address_equal(&a, &b));
    b = ipv4("127.0.0.2", 80);
    ck_assert(!udp_address_equal(&a, &b));
    b = ipv4("127.0.0.1", 81);
    ck_assert(!udp_address_equal(&a, &b));
    b = ipv6("::ffff:127.0.0.1", 80, 0);
    ck_assert(!udp_address_equal(&a, &b)); /* only after normalizing */
    a = ipv6("fe80::1", 5, 1);
    b = ipv6("fe80::1", 5, 2);
    ck_assert(!udp_address_equal(&a, &b));
    b = ipv6("fe80::1", 5, 1);
    ck_assert(udp_address_equal(&a, &b));
    union udp_address none_a, none_b;
    memset(&none_a, 0, sizeof(none_a));
    memset(&none_b, 0, sizeof(none_b));
    ck_assert(udp_address_equal(&none_a, &none_b));
    ck_assert(!udp_address_equal(&none_a, &a));
}
END_TEST

START_TEST(from_request_literals)
{
    struct socks5_request request;
    memset(&request, 0, sizeof(request));
    request.address_type = SOCKS5_ATYP_IPV4;
    memcpy(request.ipv4, (const uint8_t[]){198, 51, 100, 7}, 4);
    request.port = 5353;
    union udp_address address, want = ipv4("198.51.100.7", 5353);
    udp_address_from_request(&request, &address);
    ck_assert(udp_address_equal(&address, &want));
    request.address_type = SOCKS5_ATYP_IPV6;
    inet_pton(AF_INET6, "2001:db8::7", request.ipv6);
    want = ipv6("2001:db8::7", 5353, 0);
    udp_address_from_request(&request, &address);
    ck_assert(udp_address_equal(&address, &want));
    inet_pton(AF_INET6, "::ffff:10.1.2.3", request.ipv6);
    want = ipv4("10.1.2.3", 5353);
    udp_address_from_request(&request, &address);
    ck_assert(udp_address_equal(&address, &want));
}
END_TEST

START_TEST(from_sockaddr_takes_ip_families_only)
{
    union udp_address source = ipv6("::ffff:127.0.0.9", 7, 0), address;
    ck_assert(udp_address_from_sockaddr(&source.sa, sizeof(source.in6), &address));
    union udp_address want = ipv4("127.0.0.9", 7);
    ck_assert(udp_address_equal(&address, &want));
    ck_assert(!udp_address_from_sockaddr(&source.sa, sizeof(source.in4), &address));
    struct sockaddr other = {.sa_family = AF_UNIX};
    ck_assert(!udp_address_from_sockaddr(&other, sizeof(other), &address));
    ck_assert_uint_eq(address.sa.sa_family, AF_UNSPEC);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("udp_address");
    TCase *tcase = tcase_create("udp_address");
    tcase_add_test(tcase, mapped_ipv6_becomes_ipv4);
    tcase_add_test(tcase, other_addresses_stay_as_they_are);
    tcase_add_test(tcase, equal_means_family_address_port_and_scope);
    tcase_add_test(tcase, from_request_literals);
    tcase_add_test(tcase, from_sockaddr_takes_ip_families_only);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
