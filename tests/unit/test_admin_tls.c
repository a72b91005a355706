/* test_admin_tls: the admin port's TLS settings — the two options go together, and which
 * admin addresses are loopback ones (no warning for plaintext there). */
#include <check.h>
#include <stdlib.h>

#include "admin_tls.h"
#include "options.h"

START_TEST(certificate_and_key_go_together)
{
    struct server_options options = {0};
    ck_assert_ptr_null(admin_tls_options_problem(&options));
    options.admin_tls_cert = "cert.pem";
    ck_assert_str_eq(admin_tls_options_problem(&options),
                     "--admin-tls-key is needed with --admin-tls-cert");
    options.admin_tls_key = "key.pem";
    ck_assert_ptr_null(admin_tls_options_problem(&options));
    options.admin_tls_cert = NULL;
    ck_assert_str_eq(admin_tls_options_problem(&options),
                     "--admin-tls-cert is needed with --admin-tls-key");
}
END_TEST

static const struct {
    const char *address;
    bool loopback;
} addresses[] = {
    {"127.0.0.1", true},
    {"127.255.255.254", true},
    {"127.1.2.3", true},
    {"::1", true},
    {"::ffff:127.0.0.1", true},
    {"0.0.0.0", false},
    {"::", false},
    {"10.0.0.1", false},
    {"128.0.0.1", false},
    {"126.255.255.255", false},
    {"::2", false},
    {"::ffff:10.0.0.1", false},
    {"fe80::1", false},
    {"192.168.1.1", false},
    /* Not addresses at all: never called loopback. */
    {"", false},
    {"localhost", false},
    {"127.0.0.1:80", false},
};

START_TEST(loopback_addresses)
{
    ck_assert_msg(admin_tls_is_loopback(addresses[_i].address) == addresses[_i].loopback, "%s",
                  addresses[_i].address);
}
END_TEST

START_TEST(no_address)
{
    ck_assert(!admin_tls_is_loopback(NULL));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("admin_tls");
    TCase *settings = tcase_create("settings");
    tcase_add_test(settings, certificate_and_key_go_together);
    tcase_add_loop_test(settings, loopback_addresses, 0,
                        (int)(sizeof(addresses) / sizeof(addresses[0])));
    tcase_add_test(settings, no_address);
    suite_add_tcase(suite, settings);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
