/* test_pam_auth: Check suite for the pure parts of users from PAM — the --auth value, the
 * success cache (hits, expiry, replacement, a full table), and PAM users in the users table
 * (made, re-roled, never written, taken over by the users file). */
#include "login_cache.h"
#include "pam_auth.h"
#include "users.h"
#include "users_file.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_A "$y$j9T$hr64mJYxuQ.3w0UKhEbb6/$llU.B1UZDYMjoRV.35pJXp/JPfTjzOzLBru/rPRRBAA"

/* ---- the --auth value ---- */

static void method_ok(const char *text, const char *service)
{
    char parsed[PAM_AUTH_SERVICE_MAX + 1];
    char error[160] = "";
    ck_assert_msg(pam_auth_parse_method(text, parsed, error, sizeof(error)), "%s: %s", text,
                  error);
    ck_assert_str_eq(parsed, service);
}

static void method_refused(const char *text, const char *why)
{
    char parsed[PAM_AUTH_SERVICE_MAX + 1];
    char error[160] = "";
    ck_assert_msg(!pam_auth_parse_method(text, parsed, error, sizeof(error)), "%s", text);
    ck_assert_msg(strstr(error, why) != NULL, "%s: %s", text, error);
}

START_TEST(methods)
{
    method_ok("file", "");
    method_ok("pam", PAM_AUTH_DEFAULT_SERVICE);
    method_ok("pam:sshd", "sshd");
    method_ok("pam:socks5d-fleet_2.conf", "socks5d-fleet_2.conf");
    method_refused("", "neither");
    method_refused("PAM", "neither");
    method_refused("files", "neither");
    method_refused("pam:", "PAM service");
    method_refused("pam:.hidden", "PAM service");
    method_refused("pam:../../etc/shadow", "PAM service");
    method_refused("pam:a/b", "PAM service");
    method_refused("pam:a b", "PAM service");
    char longest[4 + PAM_AUTH_SERVICE_MAX + 2];
    memset(longest, 'x', sizeof(longest) - 1);
    memcpy(longest, "pam:", 4);
    longest[sizeof(longest) - 2] = '\0';
    method_ok(longest, longest + 4);
    longest[sizeof(longest) - 2] = 'x';
    longest[sizeof(longest) - 1] = '\0';
    method_refused(longest, "PAM service");
}
END_TEST

/* Every byte after "pam:" alone: only the documented characters make a service. */
START_TEST(every_service_byte)
{
    for (int byte = 1; byte < 256; byte++) {
        char text[8] = "pam:a";
        text[5] = (char)byte;
        char parsed[PAM_AUTH_SERVICE_MAX + 1], error[160];
        bool expected = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                        (byte >= '0' && byte <= '9') || byte == '.' || byte == '_' || byte == '-';
        ck_assert_msg(pam_auth_parse_method(text, parsed, error, sizeof(error)) == expected,
                      "byte %d", byte);
    }
}
END_TEST

/* ---- the cache ---- */

static bool hit(struct login_cache *cache, const char *name, const char *password, uint64_t now,
                int *tag)
{
    return login_cache_hit(cache, name, strlen(name), password, strlen(password), now, tag);
}

static void store(struct login_cache *cache, const char *name, const char *password,
                  uint64_t now, int tag)
{
    login_cache_store(cache, name, strlen(name), password, strlen(password), now, tag);
}

START_TEST(cache_hits_the_same_login_until_it_expires)
{
    struct login_cache *cache = login_cache_create(16, 1000);
    ck_assert_ptr_nonnull(cache);
    int tag = -1;
    ck_assert(!hit(cache, "carol", "pass", 0, &tag));
    store(cache, "carol", "pass", 100, 1);
    ck_assert(hit(cache, "carol", "pass", 100, &tag));
    ck_assert_int_eq(tag, 1);
    ck_assert(hit(cache, "carol", "pass", 1099, &tag));
    ck_assert(!hit(cache, "carol", "pass", 1100, &tag));
    ck_assert(!hit(cache, "carol", "pass", 99, &tag)); /* a clock before the store: no hit */
    store(cache, "carol", "pass", 2000, 0);
    ck_assert(!hit(cache, "carol", "Pass", 2000, &tag));
    ck_assert(!login_cache_hit(cache, "carol", 5, "pass\0", 5, 2000, &tag));
    ck_assert(!hit(cache, "carolx", "pass", 2000, &tag));
    ck_assert(!hit(cache, "Carol", "pass", 2000, &tag));
    /* The same password of another user is another entry. */
    ck_assert(!hit(cache, "dave", "pass", 2000, &tag));
    ck_assert(login_cache_hit(cache, "carol", 5, "pass", 4, 2000, &tag));
    ck_assert_int_eq(tag, 0);
    login_cache_destroy(cache);
}
END_TEST

START_TEST(cache_keeps_one_password_per_name)
{
    struct login_cache *cache = login_cache_create(16, 1000);
    int tag;
    store(cache, "carol", "old", 0, 0);
    store(cache, "carol", "new", 10, 1);
    ck_assert(!hit(cache, "carol", "old", 10, &tag));
    ck_assert(hit(cache, "carol", "new", 10, &tag));
    login_cache_forget(cache, "carol", 5);
    ck_assert(!hit(cache, "carol", "new", 10, &tag));
    login_cache_forget(cache, "nobody", 6);
    login_cache_destroy(cache);
}
END_TEST

START_TEST(cache_off_remembers_nothing)
{
    struct login_cache *cache = login_cache_create(16, 0);
    int tag;
    store(cache, "carol", "pass", 0, 1);
    ck_assert(!hit(cache, "carol", "pass", 0, &tag));
    login_cache_destroy(cache);
    login_cache_destroy(NULL);
}
END_TEST

/* More names than slots: the table stays bounded, the newest logins are found. */
START_TEST(cache_full_table_replaces_the_oldest)
{
    struct login_cache *cache = login_cache_create(8, 1000000);
    int tag;
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "user-%d", i);
        store(cache, name, "pass", (uint64_t)i, i);
    }
    ck_assert(hit(cache, "user-199", "pass", 200, &tag));
    ck_assert_int_eq(tag, 199);
    int found = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "user-%d", i);
        found += hit(cache, name, "pass", 200, &tag);
    }
    ck_assert_int_le(found, 8);
    ck_assert_int_ge(found, 1);
    login_cache_destroy(cache);
}
END_TEST

/* ---- PAM users in the table ---- */

START_TEST(external_users_are_made_and_re_roled)
{
    struct users *users = users_create();
    ck_assert_int_eq(users_add_hashed(users, "root", HASH_A, USER_ROLE_ADMIN), USERS_OK);
    struct user *carol = users_external_login(users, "carol", 5, USER_ROLE_USER);
    ck_assert_ptr_nonnull(carol);
    ck_assert(user_external(carol));
    ck_assert_int_eq(user_role(carol), USER_ROLE_USER);
    ck_assert_ptr_eq(users_find(users, "carol", 5), carol);
    struct user *again = users_external_login(users, "carol", 5, USER_ROLE_ADMIN);
    ck_assert_ptr_eq(again, carol); /* the same user: its counters go on */
    ck_assert_int_eq(user_role(carol), USER_ROLE_ADMIN);
    ck_assert_uint_eq(users_admin_count(users), 1); /* PAM's admins do not count */
    ck_assert_int_eq(users_set_role(users, "carol", USER_ROLE_USER), USERS_ERROR_EXTERNAL);
    ck_assert_int_eq(users_remove(users, "root"), USERS_ERROR_LAST_ADMIN);
    /* A local name is the file's: PAM never gets it. */
    ck_assert_ptr_null(users_external_login(users, "root", 4, USER_ROLE_ADMIN));
    ck_assert(!user_external(users_find(users, "root", 4)));
    ck_assert_ptr_null(users_external_login(users, "anonymous", 9, USER_ROLE_USER));
    ck_assert_ptr_null(users_external_login(users, "a:b", 3, USER_ROLE_USER));
    ck_assert_ptr_null(users_external_login(users, "", 0, USER_ROLE_USER));
    /* A PAM user has no password here. */
    ck_assert_str_eq(user_hash(carol), "");
    user_unref(again);
    user_unref(carol);
    users_destroy(users);
}
END_TEST

START_TEST(external_users_stay_out_of_the_users_file)
{
    char path[] = "/tmp/test_pam_auth-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct users *users = users_create();
    ck_assert_int_eq(users_add_hashed(users, "root", HASH_A, USER_ROLE_ADMIN), USERS_OK);
    user_unref(users_external_login(users, "carol", 5, USER_ROLE_ADMIN));
    user_unref(users_external_login(users, "dave", 4, USER_ROLE_USER));
    char error[256] = "";
    ck_assert_msg(users_file_write(path, users, error, sizeof(error)), "%s", error);
    struct users_file_contents contents;
    bool missing;
    ck_assert(users_file_read(path, &contents, &missing, error, sizeof(error)));
    ck_assert_uint_eq(contents.count, 1);
    ck_assert_str_eq(contents.entries[0].name, "root");
    /* A reload keeps the PAM users the file does not name... */
    ck_assert(users_file_apply(users, &contents, error, sizeof(error)));
    ck_assert(user_external(users_find(users, "carol", 5)));
    users_file_contents_free(&contents);
    /* ...and gives a name it lists to the file. */
    FILE *file = fopen(path, "a");
    fprintf(file, "carol:user:%s\n", HASH_A);
    fclose(file);
    ck_assert(users_file_read(path, &contents, &missing, error, sizeof(error)));
    ck_assert(users_file_apply(users, &contents, error, sizeof(error)));
    struct user *carol = users_find(users, "carol", 5);
    ck_assert(!user_external(carol));
    ck_assert_str_eq(user_hash(carol), HASH_A);
    ck_assert_uint_eq(users_count(users), 3);
    users_file_contents_free(&contents);
    users_destroy(users);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("pam_auth");
    TCase *method = tcase_create("method");
    tcase_add_test(method, methods);
    tcase_add_test(method, every_service_byte);
    suite_add_tcase(suite, method);
    TCase *cache = tcase_create("cache");
    tcase_add_test(cache, cache_hits_the_same_login_until_it_expires);
    tcase_add_test(cache, cache_keeps_one_password_per_name);
    tcase_add_test(cache, cache_off_remembers_nothing);
    tcase_add_test(cache, cache_full_table_replaces_the_oldest);
    suite_add_tcase(suite, cache);
    TCase *table = tcase_create("table");
    tcase_add_test(table, external_users_are_made_and_re_roled);
    tcase_add_test(table, external_users_stay_out_of_the_users_file);
    suite_add_tcase(suite, table);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
