/* test_limits: Check suite for server/auth/user_limits (the limits' text: values, lists, byte by
 * byte and garbage) and server/policy/limits_table (scopes, errors, precedence, and pushing the
 * result into the users table). */
#include "limits_table.h"
#include "user_limits.h"
#include "users.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERROR_SIZE 160

static uint64_t value_of(enum user_limit_field field, const char *text)
{
    uint64_t value = 0;
    char error[ERROR_SIZE] = "";
    ck_assert_msg(user_limit_value_parse(field, text, strlen(text), &value, error, sizeof(error)),
                  "'%s': %s", text, error);
    return value;
}

static void value_refused(enum user_limit_field field, const char *text, const char *why)
{
    uint64_t value = 77;
    char error[ERROR_SIZE] = "";
    ck_assert_msg(!user_limit_value_parse(field, text, strlen(text), &value, error, sizeof(error)),
                  "'%s' was accepted", text);
    ck_assert_uint_eq(value, 77);
    ck_assert_msg(strstr(error, why) != NULL, "'%s': %s", text, error);
}

START_TEST(values_and_suffixes)
{
    ck_assert_uint_eq(value_of(USER_LIMIT_UPLOAD, "0"), 0);
    ck_assert_uint_eq(value_of(USER_LIMIT_UPLOAD, "8000000"), 8000000);
    ck_assert_uint_eq(value_of(USER_LIMIT_UPLOAD, "1K"), 1024);
    ck_assert_uint_eq(value_of(USER_LIMIT_DOWNLOAD, "8M"), 8u << 20);
    ck_assert_uint_eq(value_of(USER_LIMIT_DOWNLOAD, "8m"), 8u << 20);
    ck_assert_uint_eq(value_of(USER_LIMIT_DOWNLOAD, "2g"), UINT64_C(2) << 30);
    ck_assert_uint_eq(value_of(USER_LIMIT_MAX_CONNECTIONS, "4"), 4);
    ck_assert_uint_eq(value_of(USER_LIMIT_UPLOAD, "18446744073709551614"), UINT64_MAX - 1);
    ck_assert_uint_eq(value_of(USER_LIMIT_UPLOAD, "17179869183G"), UINT64_C(17179869183) << 30);
}
END_TEST

START_TEST(bad_values_say_what_was_expected)
{
    value_refused(USER_LIMIT_UPLOAD, "", "expected bytes per second");
    value_refused(USER_LIMIT_UPLOAD, "K", "expected bytes per second");
    value_refused(USER_LIMIT_UPLOAD, "-1", "expected bytes per second");
    value_refused(USER_LIMIT_UPLOAD, "1.5M", "expected bytes per second");
    value_refused(USER_LIMIT_UPLOAD, "8MB", "expected bytes per second");
    value_refused(USER_LIMIT_UPLOAD, " 8", "expected bytes per second");
    value_refused(USER_LIMIT_UPLOAD, "8T", "expected bytes per second");
    value_refused(USER_LIMIT_MAX_CONNECTIONS, "4K", "expected a count");
    value_refused(USER_LIMIT_UPLOAD, "18446744073709551615", "too large"); /* the unset mark */
    value_refused(USER_LIMIT_UPLOAD, "99999999999999999999", "too large");
    value_refused(USER_LIMIT_UPLOAD, "17179869184G", "too large");
}
END_TEST

START_TEST(every_byte_in_every_place)
{
    /* Each byte value at each place of a valid value: only digits (and a suffix at the end of
     * a rate) keep it valid, nothing crashes, and an accepted value is what the text says. */
    const char *base = "1234";
    for (size_t place = 0; place <= strlen(base); place++) {
        for (int byte = 0; byte < 256; byte++) {
            char text[8];
            memcpy(text, base, place);
            text[place] = (char)byte;
            memcpy(text + place + 1, base + place, strlen(base) - place);
            size_t length = strlen(base) + 1;
            uint64_t value = 0;
            char error[ERROR_SIZE];
            bool accepted = user_limit_value_parse(USER_LIMIT_UPLOAD, text, length, &value,
                                                   error, sizeof(error));
            bool digit = byte >= '0' && byte <= '9';
            bool suffix = place == strlen(base) && strchr("KkMmGg", byte) != NULL && byte != 0;
            ck_assert_msg(accepted == (digit || suffix), "byte %d at %zu", byte, place);
        }
    }
}
END_TEST

static struct user_limits parsed(const char *text, bool allow_unset)
{
    struct user_limits limits = user_limits_unset();
    char error[ERROR_SIZE] = "";
    ck_assert_msg(user_limits_parse(text, strlen(text), allow_unset, &limits, error, sizeof(error)),
                  "'%s': %s", text, error);
    return limits;
}

static void list_refused(const char *text, bool allow_unset, const char *why)
{
    struct user_limits limits = user_limits_unset();
    limits.value[USER_LIMIT_UPLOAD] = 5;
    char error[ERROR_SIZE] = "";
    ck_assert_msg(!user_limits_parse(text, strlen(text), allow_unset, &limits, error,
                                     sizeof(error)),
                  "'%s' was accepted", text);
    ck_assert_uint_eq(limits.value[USER_LIMIT_UPLOAD], 5); /* untouched */
    ck_assert_uint_eq(limits.value[USER_LIMIT_DOWNLOAD], USER_LIMIT_UNSET);
    ck_assert_msg(strstr(error, why) != NULL, "'%s': %s", text, error);
}

START_TEST(lists)
{
    struct user_limits limits = parsed("upload=1M,download=0 max-connections=3", false);
    ck_assert_uint_eq(limits.value[USER_LIMIT_UPLOAD], 1u << 20);
    ck_assert_uint_eq(limits.value[USER_LIMIT_DOWNLOAD], 0);
    ck_assert_uint_eq(limits.value[USER_LIMIT_MAX_CONNECTIONS], 3);
    limits = parsed("download=5", false);
    ck_assert_uint_eq(limits.value[USER_LIMIT_UPLOAD], USER_LIMIT_UNSET);
    /* Fields not named stay as they were; "default" unsets one where allowed. */
    struct user_limits before = parsed("upload=7,download=9", false);
    char error[ERROR_SIZE];
    ck_assert(user_limits_parse("download=default", 16, true, &before, error, sizeof(error)));
    ck_assert_uint_eq(before.value[USER_LIMIT_UPLOAD], 7);
    ck_assert_uint_eq(before.value[USER_LIMIT_DOWNLOAD], USER_LIMIT_UNSET);
    list_refused("download=default", false, "download: expected bytes per second");
    list_refused("", true, "expected key=value");
    list_refused("upload", true, "expected key=value");
    list_refused("speed=1", true, "unknown limit 'speed'");
    list_refused("upload=1,upload=2", true, "upload is given twice");
    list_refused("upload=1,", true, "an empty item");
    list_refused(",upload=1", true, "an empty item");
    list_refused("upload=1  download=2", true, "an empty item");
    list_refused("upload=1,download=x", true, "download: expected");
    list_refused("Upload=1", true, "unknown limit");
}
END_TEST

START_TEST(format_reads_back)
{
    struct user_limits none = user_limits_unset();
    char text[USER_LIMITS_TEXT_MAX];
    ck_assert_uint_eq(user_limits_format(&none, text, sizeof(text)), 0);
    ck_assert_str_eq(text, "");
    struct user_limits all = {{UINT64_MAX - 1, UINT64_MAX - 1, UINT64_MAX - 1}};
    size_t length = user_limits_format(&all, text, sizeof(text));
    ck_assert_uint_lt(length, sizeof(text)); /* the longest text fits its buffer */
    struct user_limits read_back = parsed(text, false);
    ck_assert(user_limits_equal(&all, &read_back));
    struct user_limits some = parsed("download=8M", false);
    user_limits_format(&some, text, sizeof(text));
    ck_assert_str_eq(text, "download=8388608");
    struct user_limits again = parsed(text, false);
    ck_assert(user_limits_equal(&some, &again));
}
END_TEST

/* ---- the table ---- */

static void set(struct limits_table *table, const char *scope, const char *key,
                const char *value)
{
    char error[ERROR_SIZE] = "";
    ck_assert_msg(limits_table_set_field(table, scope, key, value, error, sizeof(error)),
                  "%s %s=%s: %s", scope, key, value, error);
}

static void set_refused(struct limits_table *table, const char *scope, const char *key,
                        const char *value, const char *why)
{
    char error[ERROR_SIZE] = "";
    ck_assert(!limits_table_set_field(table, scope, key, value, error, sizeof(error)));
    ck_assert_msg(strstr(error, why) != NULL, "%s %s=%s: %s", scope, key, value, error);
}

START_TEST(table_refuses_bad_scopes_keys_and_values)
{
    struct limits_table *table = limits_table_create();
    set_refused(table, "everyone", "upload", "1", "unknown scope 'everyone'");
    set_refused(table, "role:guest", "upload", "1", "unknown scope");
    set_refused(table, "user:", "upload", "1", "not a valid user name");
    set_refused(table, "user:a:b", "upload", "1", "not a valid user name");
    set_refused(table, "default", "bandwidth", "1", "unknown limit 'bandwidth'");
    set_refused(table, "default", "upload", "fast", "upload: expected bytes per second");
    set_refused(table, "default", "max-connections", "default", "expected a count");
    set(table, "user:anonymous", "upload", "1K"); /* no-auth clients can be named */
    limits_table_destroy(table);
}
END_TEST

static uint64_t resolved(const struct limits_table *table, const char *name, enum user_role role,
                         const struct user_limits *runtime, enum user_limit_field field)
{
    return limits_table_resolve(table, name, role, runtime).value[field];
}

START_TEST(precedence_field_by_field)
{
    struct limits_table *table = limits_table_create();
    struct user_limits none = user_limits_unset();
    ck_assert_uint_eq(resolved(table, "bob", USER_ROLE_USER, &none, USER_LIMIT_UPLOAD), 0);
    set(table, "default", "upload", "100");
    set(table, "default", "download", "100");
    set(table, "default", "max-connections", "10");
    set(table, "role:user", "upload", "200");
    set(table, "role:admin", "download", "0");
    set(table, "user:bob", "upload", "300");
    set(table, "user:bob", "upload", "301"); /* set again: the last value counts */
    struct user_limits runtime = parsed("max-connections=2", false);
    /* bob: upload from user:bob, download from the default, connections at run time. */
    ck_assert_uint_eq(resolved(table, "bob", USER_ROLE_USER, &runtime, USER_LIMIT_UPLOAD), 301);
    ck_assert_uint_eq(resolved(table, "bob", USER_ROLE_USER, &runtime, USER_LIMIT_DOWNLOAD), 100);
    ck_assert_uint_eq(resolved(table, "bob", USER_ROLE_USER, &runtime,
                               USER_LIMIT_MAX_CONNECTIONS), 2);
    /* carol: her role's upload; an admin: the role's 0 (unlimited) wins over the default. */
    ck_assert_uint_eq(resolved(table, "carol", USER_ROLE_USER, &none, USER_LIMIT_UPLOAD), 200);
    ck_assert_uint_eq(resolved(table, "root", USER_ROLE_ADMIN, &none, USER_LIMIT_UPLOAD), 100);
    ck_assert_uint_eq(resolved(table, "root", USER_ROLE_ADMIN, &none, USER_LIMIT_DOWNLOAD), 0);
    /* Run-time 0 lifts a configured limit. */
    struct user_limits lifted = parsed("upload=0", false);
    ck_assert_uint_eq(resolved(table, "bob", USER_ROLE_USER, &lifted, USER_LIMIT_UPLOAD), 0);
    limits_table_destroy(table);
}
END_TEST

START_TEST(installed_table_drives_the_users_limits)
{
    struct users *users = users_create();
    ck_assert_ptr_nonnull(users);
    ck_assert_int_eq(users_add_hashed(users, "bob", "$y$fake", USER_ROLE_USER), USERS_OK);
    struct user *bob = users_find(users, "bob", 3);
    ck_assert_uint_eq(user_effective_limits(bob).value[USER_LIMIT_DOWNLOAD], 0);
    ck_assert(!token_bucket_limited(user_bucket(bob, false)));

    struct limits_table *table = limits_table_create();
    set(table, "default", "download", "8M");
    set(table, "role:admin", "max-connections", "1");
    set(table, "user:anonymous", "upload", "1K");
    limits_table_install(table, users);
    ck_assert_uint_eq(user_effective_limits(bob).value[USER_LIMIT_DOWNLOAD], 8u << 20);
    ck_assert(token_bucket_limited(user_bucket(bob, false)));
    ck_assert(!token_bucket_limited(user_bucket(bob, true)));
    ck_assert_uint_eq(user_effective_limits(users_anonymous(users)).value[USER_LIMIT_UPLOAD], 1024);
    ck_assert_uint_eq(user_effective_limits(users_anonymous(users)).value[USER_LIMIT_DOWNLOAD],
                      8u << 20);

    /* Run-time limits override; a role change and a new user are resolved at once. */
    struct user_limits runtime = parsed("download=0,max-connections=2", false);
    ck_assert_int_eq(users_set_runtime_limits(users, "bob", &runtime), USERS_OK);
    ck_assert_int_eq(users_set_runtime_limits(users, "nobody", &runtime), USERS_ERROR_NOT_FOUND);
    ck_assert_uint_eq(user_effective_limits(bob).value[USER_LIMIT_DOWNLOAD], 0);
    ck_assert(!token_bucket_limited(user_bucket(bob, false)));
    ck_assert_int_eq(users_add_hashed(users, "root", "$y$fake", USER_ROLE_ADMIN), USERS_OK);
    struct user *root = users_find(users, "root", 4);
    ck_assert_uint_eq(user_effective_limits(root).value[USER_LIMIT_MAX_CONNECTIONS], 1);
    ck_assert_int_eq(users_set_role(users, "bob", USER_ROLE_ADMIN), USERS_OK);
    ck_assert_uint_eq(user_effective_limits(bob).value[USER_LIMIT_MAX_CONNECTIONS], 2);
    ck_assert_int_eq(users_set_role(users, "root", USER_ROLE_USER), USERS_OK);
    ck_assert_uint_eq(user_effective_limits(root).value[USER_LIMIT_MAX_CONNECTIONS], 0);

    /* Connection slots: at most max-connections, given back one by one. */
    ck_assert(user_take_connection_slot(bob));
    ck_assert(user_take_connection_slot(bob));
    ck_assert(!user_take_connection_slot(bob));
    user_release_connection_slot(bob);
    ck_assert(user_take_connection_slot(bob));
    user_release_connection_slot(bob);
    user_release_connection_slot(bob);

    /* A reload installs a new table before the old one goes. */
    struct limits_table *reloaded = limits_table_create();
    limits_table_install(reloaded, users);
    limits_table_destroy(table);
    ck_assert_uint_eq(user_effective_limits(root).value[USER_LIMIT_DOWNLOAD], 0);
    ck_assert_uint_eq(user_effective_limits(bob).value[USER_LIMIT_MAX_CONNECTIONS], 2);
    users_destroy(users);
    limits_table_destroy(reloaded);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("limits");
    TCase *text = tcase_create("text");
    tcase_add_test(text, values_and_suffixes);
    tcase_add_test(text, bad_values_say_what_was_expected);
    tcase_add_test(text, every_byte_in_every_place);
    tcase_add_test(text, lists);
    tcase_add_test(text, format_reads_back);
    suite_add_tcase(suite, text);
    TCase *table = tcase_create("table");
    tcase_add_test(table, table_refuses_bad_scopes_keys_and_values);
    tcase_add_test(table, precedence_field_by_field);
    tcase_add_test(table, installed_table_drives_the_users_limits);
    suite_add_tcase(suite, table);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
