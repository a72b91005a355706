/* test_options: socks5d's options table — every entry takes good values and refuses bad ones
 * with a message naming it, short and long forms agree, lists accumulate, defaults hold. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "test_argv.h"

#define ERROR_SIZE 512

static bool parse(struct command_line *line, const char *const *words,
                  struct server_options *options, char *error)
{
    make_line(line, "socks5d", words);
    error[0] = '\0';
    return options_parse(line->argc, line->argv, options, error, ERROR_SIZE);
}

static const void *field_of(const struct server_options *options, const struct option_spec *spec)
{
    return (const char *)options + spec->offset;
}

static unsigned long long number_in(const struct server_options *options,
                                    const struct option_spec *spec)
{
    const void *field = field_of(options, spec);
    if (spec->size == sizeof(uint16_t)) {
        uint16_t value;
        memcpy(&value, field, sizeof(value));
        return value;
    }
    if (spec->size == sizeof(uint32_t)) {
        uint32_t value;
        memcpy(&value, field, sizeof(value));
        return value;
    }
    uint64_t value;
    memcpy(&value, field, sizeof(value));
    return value;
}

static const char *text_in(const struct server_options *options, const struct option_spec *spec)
{
    const char *text;
    memcpy(&text, field_of(options, spec), sizeof(text));
    return text;
}

static bool flag_in(const struct server_options *options, const struct option_spec *spec)
{
    bool flag;
    memcpy(&flag, field_of(options, spec), sizeof(flag));
    return flag;
}

/* What an entry holds, as text: one comparison for every kind, and readable when it fails. */
static void render(const struct server_options *options, const struct option_spec *spec,
                   char *out, size_t size)
{
    FILE *stream = fmemopen(out, size, "w");
    if (spec->append != NULL && spec->kind == OPTION_ADDRESS) {
        for (size_t i = 0; i < options->socks_address_count; i++)
            fprintf(stream, "%s;", options->socks_addresses[i]);
    } else if (spec->kind == OPTION_NETWORK) {
        for (size_t i = 0; i < options->proxy_source_count; i++)
            fprintf(stream, "%s;", options->proxy_sources[i]);
    } else if (spec->append != NULL) {
        for (size_t i = 0; i < options->user_count; i++)
            fprintf(stream, "%s:%s:%d;", options->users[i].name, options->users[i].password,
                    options->users[i].admin);
    } else if (options_kind_is_number(spec->kind)) {
        fprintf(stream, "%llu", number_in(options, spec));
    } else if (spec->kind == OPTION_ENABLE || spec->kind == OPTION_DISABLE) {
        fprintf(stream, "%d", flag_in(options, spec));
    } else if (spec->kind == OPTION_LOG_LEVEL) {
        fprintf(stream, "%d", (int)options->log_level);
    } else {
        const char *text = text_in(options, spec);
        fprintf(stream, "%s", text != NULL ? text : "(none)");
    }
    fclose(stream);
}

/* "-p", or "--workers" for a long-only option: how messages name it. */
static const char *flag_of(const struct option_spec *spec, char *out, size_t size)
{
    if (spec->short_name != 0)
        snprintf(out, size, "-%c", spec->short_name);
    else
        snprintf(out, size, "--%s", spec->name);
    return out;
}

#define MAX_SAMPLES 12

struct samples {
    char good[MAX_SAMPLES][64];
    char bad[MAX_SAMPLES][64];
    size_t good_count;
    size_t bad_count;
};

static void add_sample(char list[][64], size_t *count, const char *text)
{
    ck_assert_uint_lt(*count, MAX_SAMPLES);
    snprintf(list[(*count)++], 64, "%s", text);
}

/* Values for one entry, from its kind and range: a new option of a known kind needs none. */
static void samples_for(const struct option_spec *spec, struct samples *samples)
{
    memset(samples, 0, sizeof(*samples));
    static const char *const address_good[] = { "127.0.0.2", "::1", NULL };
    static const char *const address_bad[] = { "1.2.3", "localhost", "::g", "", NULL };
    static const char *const credentials_good[] = { "alice:secret", "bob:pa:ss", NULL };
    static const char *const credentials_bad[] = { "no-colon", ":secret", "alice:", "", NULL };
    static const char *const level_good[] = { "error", "warn", "info", "debug", NULL };
    static const char *const level_bad[] = { "loud", "INFO", "", NULL };
    static const char *const congestion_good[] = { "cubic", "bbr", "my_cc-2", NULL };
    static const char *const congestion_bad[] = { "", "two words", "xxxxxxxxxxxxxxxx",
                                                  "CUBIC;rm", NULL };
    static const char *const endpoint_good[] = { "127.0.0.1:9150", "[::1]:0", "0.0.0.0:65535",
                                                 NULL };
    static const char *const endpoint_bad[] = { "127.0.0.1", "::1:9150", "[::1]", "1.2.3:80",
                                                "127.0.0.1:65536", "127.0.0.1:", ":80",
                                                "localhost:80", "127.0.0.1:+80", "", NULL };
    static const char *const text_good[] = { "/tmp/socks5d-options-test", "off", NULL };
    static const char *const network_good[] = { "10.0.0.0/8", "::1", "2001:db8::/32",
                                                 "192.0.2.7", NULL };
    static const char *const network_bad[] = { "10.0.0.1/8", "10.0.0.0/33", "localhost",
                                                "10.0.0.0/", "", NULL };
    static const char *const none[] = { NULL };
    const char *const *good = none;
    const char *const *bad = none;
    switch (spec->kind) {
    case OPTION_ADDRESS: good = address_good; bad = address_bad; break;
    case OPTION_NETWORK: good = network_good; bad = network_bad; break;
    case OPTION_CREDENTIALS: good = credentials_good; bad = credentials_bad; break;
    case OPTION_LOG_LEVEL: good = level_good; bad = level_bad; break;
    case OPTION_CONGESTION: good = congestion_good; bad = congestion_bad; break;
    case OPTION_ENDPOINT: good = endpoint_good; bad = endpoint_bad; break;
    case OPTION_TEXT: good = text_good; break;
    case OPTION_ENABLE:
    case OPTION_DISABLE: break;
    case OPTION_PORT:
    case OPTION_SECONDS:
    case OPTION_MICROSECONDS:
    case OPTION_BYTES:
    case OPTION_COUNT: {
        char text[64];
        snprintf(text, sizeof(text), "%llu", spec->min);
        add_sample(samples->good, &samples->good_count, text);
        snprintf(text, sizeof(text), "%llu", spec->max);
        add_sample(samples->good, &samples->good_count, text);
        snprintf(text, sizeof(text), "%llu", spec->min + (spec->max - spec->min) / 2);
        add_sample(samples->good, &samples->good_count, text);
        if (spec->min > 0) {
            snprintf(text, sizeof(text), "%llu", spec->min - 1);
            add_sample(samples->bad, &samples->bad_count, text);
        }
        if (spec->max < ULLONG_MAX) {
            snprintf(text, sizeof(text), "%llu", spec->max + 1);
            add_sample(samples->bad, &samples->bad_count, text);
        }
        static const char *const number_bad[] = { "", "x", "-1", " 5", "+5", "5x",
                                                  "99999999999999999999999", NULL };
        bad = number_bad;
        break;
    }
    }
    for (; *good != NULL; good++)
        add_sample(samples->good, &samples->good_count, *good);
    for (; *bad != NULL; bad++)
        add_sample(samples->bad, &samples->bad_count, *bad);
}

/* The field holds value, as each kind stores it. */
static void check_stored(const struct server_options *options, const struct option_spec *spec,
                         const char *value, const char *copy)
{
    if (spec->append != NULL && spec->kind == OPTION_ADDRESS) {
        ck_assert_uint_ge(options->socks_address_count, 1);
        ck_assert_ptr_eq(options->socks_addresses[options->socks_address_count - 1], copy);
    } else if (spec->kind == OPTION_NETWORK) {
        ck_assert_uint_ge(options->proxy_source_count, 1);
        ck_assert_ptr_eq(options->proxy_sources[options->proxy_source_count - 1], copy);
    } else if (spec->append != NULL) {
        ck_assert_uint_ge(options->user_count, 1);
        const struct option_user *user = &options->users[options->user_count - 1];
        const char *colon = strchr(value, ':');
        ck_assert_ptr_eq(user->name, copy); /* split in place, so the password can be wiped */
        ck_assert_int_eq(strlen(user->name), colon - value);
        ck_assert_str_eq(user->password, colon + 1);
        ck_assert_int_eq(user->admin, strcmp(spec->name, "admin") == 0);
    } else if (options_kind_is_number(spec->kind)) {
        ck_assert_uint_eq(number_in(options, spec), strtoull(value, NULL, 10));
    } else if (spec->kind == OPTION_LOG_LEVEL) {
        enum log_level level;
        ck_assert(log_level_from_name(value, &level));
        ck_assert_int_eq(options->log_level, level);
    } else {
        ck_assert_ptr_eq(text_in(options, spec), copy); /* kept by reference */
    }
}

START_TEST(every_entry_accepts_good_values)
{
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        struct samples samples;
        samples_for(spec, &samples);
        if (spec->argument == NULL) {
            struct server_options options;
            char error[ERROR_SIZE];
            options_init(&options);
            ck_assert_msg(options_set(&options, spec->name, NULL, error, sizeof(error)),
                          "--%s: %s", spec->name, error);
            ck_assert_int_eq(flag_in(&options, spec), spec->kind == OPTION_ENABLE);
            continue;
        }
        ck_assert_msg(samples.good_count > 0, "--%s: no sample for its kind", spec->name);
        for (size_t i = 0; i < samples.good_count; i++) {
            struct server_options options;
            char error[ERROR_SIZE];
            char *copy = strdup(samples.good[i]);
            options_init(&options);
            ck_assert_msg(options_set(&options, spec->name, copy, error, sizeof(error)),
                          "--%s '%s': %s", spec->name, samples.good[i], error);
            check_stored(&options, spec, samples.good[i], copy);
            options_free(&options);
            free(copy);
        }
    }
}
END_TEST

START_TEST(every_entry_rejects_bad_values_naming_itself)
{
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        struct samples samples;
        samples_for(spec, &samples);
        char flag[64];
        flag_of(spec, flag, sizeof(flag));
        if (spec->argument == NULL)
            add_sample(samples.bad, &samples.bad_count, "x"); /* a flag takes no value */
        for (size_t i = 0; i < samples.bad_count; i++) {
            struct server_options options;
            char error[ERROR_SIZE] = "";
            char *copy = strdup(samples.bad[i]);
            options_init(&options);
            ck_assert_msg(!options_set(&options, spec->name, copy, error, sizeof(error)),
                          "--%s accepted '%s'", spec->name, samples.bad[i]);
            ck_assert_msg(strstr(error, flag) != NULL || strstr(error, spec->name) != NULL,
                          "--%s '%s': message '%s' does not name the option", spec->name,
                          samples.bad[i], error);
            ck_assert_msg(strchr(error, '\n') == NULL, "message '%s' is not one line", error);
            if (spec->kind == OPTION_CREDENTIALS && samples.bad[i][0] != '\0')
                ck_assert_msg(strstr(error, samples.bad[i]) == NULL,
                              "message '%s' echoes what may be a password", error);
            options_free(&options);
            free(copy);
        }
        if (spec->argument != NULL) {
            struct server_options options;
            char error[ERROR_SIZE] = "";
            options_init(&options);
            ck_assert(!options_set(&options, spec->name, NULL, error, sizeof(error)));
            ck_assert_msg(strstr(error, spec->name) != NULL, "%s", error);
        }
    }
}
END_TEST

/* The same value through "-x V", "--name V" and "--name=V" leaves the same settings. */
START_TEST(short_and_long_forms_agree)
{
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        struct samples samples;
        samples_for(spec, &samples);
        const char *value = spec->argument != NULL ? samples.good[0] : NULL;
        char short_form[8], long_form[64], long_joined[128];
        snprintf(short_form, sizeof(short_form), "-%c", spec->short_name);
        snprintf(long_form, sizeof(long_form), "--%s", spec->name);
        snprintf(long_joined, sizeof(long_joined), "--%s=%s", spec->name, value ? value : "");
        const char *forms[3][3] = { { long_form, value, NULL } };
        size_t form_count = 1;
        if (value != NULL) {
            forms[form_count][0] = long_joined;
            forms[form_count++][1] = NULL;
        }
        if (spec->short_name != 0) {
            forms[form_count][0] = short_form;
            forms[form_count++][1] = value;
        }
        struct server_options results[3];
        struct command_line lines[3];
        for (size_t i = 0; i < form_count; i++) {
            char error[ERROR_SIZE];
            ck_assert_msg(parse(&lines[i], forms[i], &results[i], error), "%s %s: %s",
                          forms[i][0], forms[i][1] ? forms[i][1] : "", error);
        }
        for (size_t i = 1; i < form_count; i++) {
            for (const struct option_spec *other = option_specs; other->name != NULL; other++) {
                char first[512], this[512];
                render(&results[0], other, first, sizeof(first));
                render(&results[i], other, this, sizeof(this));
                ck_assert_msg(strcmp(first, this) == 0, "%s vs %s: --%s is '%s' vs '%s'",
                              forms[0][0], forms[i][0], other->name, first, this);
            }
        }
        for (size_t i = 0; i < form_count; i++) {
            options_free(&results[i]);
            free_line(&lines[i]);
        }
    }
}
END_TEST

START_TEST(repeatable_options_accumulate)
{
    struct server_options options;
    struct command_line line;
    char error[ERROR_SIZE];
    ck_assert_msg(parse(&line,
                        WORDS("-l", "::1", "-u", "alice:one", "--listen", "127.0.0.2", "-a",
                              "root:two", "--user=carol:th:ree", "--admin", "dave:four"),
                        &options, error),
                  "%s", error);
    ck_assert_uint_eq(options.socks_address_count, 2);
    ck_assert_str_eq(options.socks_addresses[0], "::1"); /* the default is not added */
    ck_assert_str_eq(options.socks_addresses[1], "127.0.0.2");
    static const struct {
        const char *name, *password;
        bool admin;
    } expected[] = {
        { "alice", "one", false },
        { "root", "two", true },
        { "carol", "th:ree", false },
        { "dave", "four", true },
    };
    ck_assert_uint_eq(options.user_count, sizeof(expected) / sizeof(expected[0]));
    for (size_t i = 0; i < options.user_count; i++) {
        ck_assert_str_eq(options.users[i].name, expected[i].name);
        ck_assert_str_eq(options.users[i].password, expected[i].password);
        ck_assert_int_eq(options.users[i].admin, expected[i].admin);
    }
    options_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(listen_addresses_have_a_limit)
{
    const char *words[2 * (OPTIONS_MAX_LISTEN + 1) + 1];
    char addresses[OPTIONS_MAX_LISTEN + 1][32];
    for (int i = 0; i <= OPTIONS_MAX_LISTEN; i++) {
        snprintf(addresses[i], sizeof(addresses[i]), "127.0.0.%d", i + 1);
        words[2 * i] = "-l";
        words[2 * i + 1] = addresses[i];
    }
    words[2 * (OPTIONS_MAX_LISTEN + 1)] = NULL;
    struct server_options options;
    struct command_line line;
    char error[ERROR_SIZE];
    ck_assert(!parse(&line, words, &options, error));
    ck_assert_msg(strstr(error, "-l: at most") != NULL, "%s", error);
    options_free(&options);
    free_line(&line);
}
END_TEST

/* The values README.md, the man page and --help give. */
START_TEST(defaults_are_as_documented)
{
    struct server_options options;
    struct command_line line;
    char error[ERROR_SIZE];
    ck_assert_msg(parse(&line, WORDS(NULL), &options, error), "%s", error);
    ck_assert_uint_eq(options.socks_address_count, 1);
    ck_assert_str_eq(options.socks_addresses[0], "127.0.0.1");
    ck_assert_uint_eq(options.socks_port, 1080);
    ck_assert_str_eq(options.admin_address, "127.0.0.1");
    ck_assert_uint_eq(options.admin_port, 8080);
    ck_assert_uint_eq(options.user_count, 0);
    ck_assert(!options.no_auth_allowed);
    ck_assert_ptr_null(options.users_file);
    ck_assert_uint_eq(options.handshake_timeout_s, 10);
    ck_assert_uint_eq(options.connect_timeout_s, 10);
    ck_assert_uint_eq(options.idle_timeout_s, 3600);
    ck_assert_uint_eq(options.buffer_size, 16384);
    ck_assert_uint_eq(options.max_connections, 0);
    ck_assert_uint_eq(options.workers, 0);
    ck_assert_uint_eq(options.resolver_threads, 4);
    ck_assert_uint_eq(options.history_per_user, 1000);
    ck_assert_uint_eq(options.admin_max_sessions, 64);
    ck_assert(options.splice);
    ck_assert_ptr_null(options.tcp_congestion);
    ck_assert_uint_eq(options.busy_poll_us, 0);
    ck_assert_uint_eq(options.shutdown_grace_s, 5);
    ck_assert_ptr_null(options.run_as_user);
    ck_assert_int_eq(options.log_level, LOG_INFO);
    ck_assert_str_eq(options.access_log, "-");
    ck_assert(!options.show_help && !options.show_version);
    options_free(&options);
    free_line(&line);
}
END_TEST

/* Each default obeys its own option's rules, and is what setting it explicitly gives. */
START_TEST(every_default_is_a_valid_value)
{
    struct server_options defaults;
    struct command_line line;
    char error[ERROR_SIZE];
    ck_assert_msg(parse(&line, WORDS(NULL), &defaults, error), "%s", error);
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        if (spec->default_value == NULL)
            continue;
        ck_assert_msg(spec->kind != OPTION_CREDENTIALS, "--%s: a default password", spec->name);
        struct server_options options;
        char *copy = strdup(spec->default_value);
        options_init(&options);
        ck_assert_msg(options_set(&options, spec->name, copy, error, sizeof(error)),
                      "--%s default '%s': %s", spec->name, spec->default_value, error);
        options_finish(&options);
        char set[512], by_default[512];
        render(&options, spec, set, sizeof(set));
        render(&defaults, spec, by_default, sizeof(by_default));
        ck_assert_str_eq(set, by_default);
        options_free(&options);
        free(copy);
    }
    options_free(&defaults);
    free_line(&line);
}
END_TEST

START_TEST(options_set_by_name)
{
    struct server_options options;
    char error[ERROR_SIZE];
    char port[] = "1081", spliced[] = "yes", level[] = "debug";
    options_init(&options);
    ck_assert(options_set(&options, "port", port, error, sizeof(error)));
    ck_assert_uint_eq(options.socks_port, 1081);
    ck_assert(options_set(&options, "log-level", level, error, sizeof(error)));
    ck_assert_int_eq(options.log_level, LOG_DEBUG);
    ck_assert(options_set(&options, "no-splice", NULL, error, sizeof(error)));
    ck_assert(!options.splice);

    ck_assert(!options_set(&options, "no-splice", spliced, error, sizeof(error)));
    ck_assert_msg(strstr(error, "--no-splice") && strstr(error, "takes no value"), "%s", error);
    ck_assert(!options_set(&options, "port", NULL, error, sizeof(error)));
    ck_assert_msg(strstr(error, "--port") && strstr(error, "needs a value"), "%s", error);
    ck_assert(!options_set(&options, "no-such-option", port, error, sizeof(error)));
    ck_assert_msg(strstr(error, "no-such-option") != NULL, "%s", error);
    ck_assert(!options_set(&options, "p", port, error, sizeof(error))); /* long names only */
    options_free(&options);
}
END_TEST

static const struct {
    const char *words[4];
    const char *mention;
} usage_errors[] = {
    { { "--no-such-flag" }, "unknown option '--no-such-flag'" },
    { { "-Z" }, "unknown option '-Z'" },
    { { "-p" }, "option '-p' needs a value" },
    { { "--port" }, "option '--port' needs a value" },
    { { "-p", "0", "extra" }, "unexpected argument 'extra'" },
    { { "--no-splice=x" }, "option '--no-splice' takes no value" },
    { { "--help=x" }, "option '--help' takes no value" },
    { { "-p", "99999" }, "-p: '99999' is not a port (0-65535)" },
    { { "--admin-port=70000" }, "-P: '70000' is not a port (0-65535)" },
    { { "-u", "no-colon" }, "-u: expected user:password" },
};

START_TEST(usage_errors_name_the_problem)
{
    struct server_options options;
    struct command_line line;
    char error[ERROR_SIZE];
    ck_assert(!parse(&line, usage_errors[_i].words, &options, error));
    ck_assert_msg(strstr(error, usage_errors[_i].mention) != NULL, "'%s' lacks '%s'", error,
                  usage_errors[_i].mention);
    options_free(&options);
    free_line(&line);
}
END_TEST

START_TEST(table_entries_are_well_formed)
{
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        size_t key_length = strspn(spec->name, "abcdefghijklmnopqrstuvwxyz0123456789-");
        ck_assert_msg(key_length > 0 && spec->name[key_length] == '\0',
                      "'%s' is not usable as a config key", spec->name);
        ck_assert_ptr_eq(options_find(spec->name), spec); /* names are unique */
        for (const struct option_spec *other = option_specs; other < spec; other++)
            ck_assert_msg(spec->short_name == 0 || other->short_name != spec->short_name,
                          "-%c is used twice", spec->short_name);
        bool flag = spec->kind == OPTION_ENABLE || spec->kind == OPTION_DISABLE;
        ck_assert_msg(flag == (spec->argument == NULL), "--%s: a value iff not a flag",
                      spec->name);
        ck_assert_msg(spec->help != NULL && spec->help[0] != '\0' &&
                          spec->help[strlen(spec->help) - 1] != '\n',
                      "--%s: help", spec->name);
        size_t expected_size = 0;
        if (spec->append != NULL)
            expected_size = sizeof(size_t); /* the list's count */
        else if (flag)
            expected_size = sizeof(bool);
        else if (spec->kind == OPTION_LOG_LEVEL)
            expected_size = sizeof(enum log_level);
        else if (!options_kind_is_number(spec->kind))
            expected_size = sizeof(const char *);
        if (expected_size != 0) {
            ck_assert_msg(spec->size == expected_size, "--%s: field of %zu bytes", spec->name,
                          spec->size);
        } else {
            ck_assert_msg(spec->min <= spec->max, "--%s: range", spec->name);
            ck_assert_msg(spec->size == 2 || spec->size == 4 || spec->size == 8,
                          "--%s: field of %zu bytes", spec->name, spec->size);
            ck_assert_msg(spec->size == 8 || spec->max < 1ull << (8 * spec->size),
                          "--%s: max %llu does not fit its field", spec->name, spec->max);
        }
    }
}
END_TEST

static char *help_text(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    options_write_help(out, "socks5d");
    fclose(out);
    return text;
}

/* Help is derived from the table; its prose must still agree with the entry's numbers. */
START_TEST(help_lists_every_entry_with_its_default_and_range)
{
    char *help = help_text();
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        char usage[128];
        if (spec->short_name != 0)
            snprintf(usage, sizeof(usage), "\n  -%c, --%s%s%s", spec->short_name, spec->name,
                     spec->argument ? " " : "", spec->argument ? spec->argument : "");
        else
            snprintf(usage, sizeof(usage), "\n      --%s%s%s", spec->name,
                     spec->argument ? " " : "", spec->argument ? spec->argument : "");
        ck_assert_msg(strstr(help, usage) != NULL, "help lacks '%s'", usage + 1);
        ck_assert_msg(spec->default_value == NULL || strstr(spec->help, spec->default_value),
                      "--%s: help does not mention its default '%s'", spec->name,
                      spec->default_value);
        /* A range written in the help ("512-16777216") is the entry's own. */
        const char *digits = strpbrk(spec->help, "0123456789");
        unsigned long long low, high;
        int consumed = 0;
        while (digits != NULL) {
            if (sscanf(digits, "%llu-%llu%n", &low, &high, &consumed) == 2 && consumed > 0) {
                ck_assert_msg(low == spec->min && high == spec->max,
                              "--%s: help says %llu-%llu, the table %llu-%llu", spec->name, low,
                              high, spec->min, spec->max);
                digits += consumed;
            } else {
                digits += strspn(digits, "0123456789");
            }
            digits = strpbrk(digits, "0123456789");
        }
    }
    free(help);
}
END_TEST

static Suite *options_suite(void)
{
    Suite *suite = suite_create("options");
    TCase *table = tcase_create("table");
    tcase_add_test(table, table_entries_are_well_formed);
    tcase_add_test(table, every_entry_accepts_good_values);
    tcase_add_test(table, every_entry_rejects_bad_values_naming_itself);
    tcase_add_test(table, short_and_long_forms_agree);
    tcase_add_test(table, every_default_is_a_valid_value);
    tcase_add_test(table, help_lists_every_entry_with_its_default_and_range);
    suite_add_tcase(suite, table);
    TCase *command_line = tcase_create("command_line");
    tcase_add_test(command_line, repeatable_options_accumulate);
    tcase_add_test(command_line, listen_addresses_have_a_limit);
    tcase_add_test(command_line, defaults_are_as_documented);
    tcase_add_test(command_line, options_set_by_name);
    tcase_add_loop_test(command_line, usage_errors_name_the_problem, 0,
                        (int)(sizeof(usage_errors) / sizeof(usage_errors[0])));
    suite_add_tcase(suite, command_line);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(options_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
