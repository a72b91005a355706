/* test_users_file: Check suite for server/auth/users_file's optional 4th field (a user's
 * run-time limits) — read, refused with the line named, applied, written and read back, and
 * a file without it still loading and written as it was. */
#include "user_limits.h"
#include "users.h"
#include "users_file.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_A "$y$j9T$hr64mJYxuQ.3w0UKhEbb6/$llU.B1UZDYMjoRV.35pJXp/JPfTjzOzLBru/rPRRBAA"
#define HASH_B "$y$j9T$2l7n8s4QadpllTnneD9PZ/$0NUuu99OQAhUj/YEBbTtgJJGAWmAf0PQWziJhgg9AB8"

static struct users_file_contents parse(const char *text)
{
    struct users_file_contents contents;
    char error[256] = "";
    ck_assert_msg(users_file_parse(text, strlen(text), &contents, error, sizeof(error)), "%s",
                  error);
    return contents;
}

static void refused(const char *text, const char *why)
{
    struct users_file_contents contents;
    char error[256] = "";
    ck_assert(!users_file_parse(text, strlen(text), &contents, error, sizeof(error)));
    ck_assert_msg(strstr(error, why) != NULL, "%s", error);
}

START_TEST(fourth_field_is_optional)
{
    struct users_file_contents contents =
        parse("root:admin:" HASH_A "\nbob:user:" HASH_B ":upload=8M,max-connections=2\n");
    ck_assert_uint_eq(contents.count, 2);
    ck_assert_str_eq(contents.entries[0].hash, HASH_A);
    ck_assert(!user_limits_any_set(&contents.entries[0].limits));
    ck_assert_str_eq(contents.entries[1].hash, HASH_B);
    ck_assert_uint_eq(contents.entries[1].limits.value[USER_LIMIT_UPLOAD], 8u << 20);
    ck_assert_uint_eq(contents.entries[1].limits.value[USER_LIMIT_MAX_CONNECTIONS], 2);
    ck_assert_uint_eq(contents.entries[1].limits.value[USER_LIMIT_DOWNLOAD], USER_LIMIT_UNSET);
    users_file_contents_free(&contents);
}
END_TEST

START_TEST(bad_limits_name_the_line)
{
    refused("root:admin:" HASH_A "\nbob:user:" HASH_B ":upload=fast\n",
            "line 2: limits: upload: expected bytes per second");
    refused("bob:user:" HASH_B ":\n", "line 1: limits: expected key=value");
    refused("bob:user:" HASH_B ":download=default\n", "line 1: limits: download: expected");
    refused("bob:user:" HASH_B ":upload=1:download=2\n", "line 1: limits: upload: expected");
    refused("bob:user::upload=1\n", "line 1: not a crypt(3) password hash");
}
END_TEST

static char *read_all(const char *path)
{
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    static char text[4096];
    size_t length = fread(text, 1, sizeof(text) - 1, file);
    text[length] = '\0';
    fclose(file);
    return text;
}

START_TEST(round_trip_through_the_table)
{
    struct users *users = users_create();
    struct users_file_contents contents =
        parse("root:admin:" HASH_A "\nbob:user:" HASH_B ":download=1K,upload=0\n");
    char error[256] = "";
    ck_assert_msg(users_file_apply(users, &contents, error, sizeof(error)), "%s", error);
    users_file_contents_free(&contents);
    struct user *bob = users_find(users, "bob", 3);
    ck_assert_uint_eq(user_effective_limits(bob).value[USER_LIMIT_DOWNLOAD], 1024);

    char path[] = "/tmp/test_users_file.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(users_file_write(path, users, error, sizeof(error)), "%s", error);
    const char *text = read_all(path);
    ck_assert_ptr_nonnull(strstr(text, "\nroot:admin:" HASH_A "\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nbob:user:" HASH_B ":upload=0,download=1024\n"));

    /* Read back into a fresh table: the same run-time limits. */
    bool missing;
    ck_assert(users_file_read(path, &contents, &missing, error, sizeof(error)));
    struct users *again = users_create();
    ck_assert(users_file_apply(again, &contents, error, sizeof(error)));
    struct user *bob_again = users_find(again, "bob", 3);
    struct user_limits before = user_runtime_limits(users, bob);
    struct user_limits after = user_runtime_limits(again, bob_again);
    ck_assert(user_limits_equal(&before, &after));

    /* A file that drops the field drops the run-time limits on reload. */
    users_file_contents_free(&contents);
    contents = parse("root:admin:" HASH_A "\nbob:user:" HASH_B "\n");
    ck_assert(users_file_apply(again, &contents, error, sizeof(error)));
    after = user_runtime_limits(again, bob_again);
    ck_assert(!user_limits_any_set(&after));
    ck_assert_uint_eq(user_effective_limits(bob_again).value[USER_LIMIT_DOWNLOAD], 0);
    users_file_contents_free(&contents);
    unlink(path);
    users_destroy(users);
    users_destroy(again);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("users_file");
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, fourth_field_is_optional);
    tcase_add_test(limits, bad_limits_name_the_line);
    tcase_add_test(limits, round_trip_through_the_table);
    suite_add_tcase(suite, limits);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
