/* fuzz_config_file: libFuzzer harness for the configuration file — any bytes give either a
 * result that passes the options' own checks or problems that each name the file and a line. */
#include "config_file.h"
#include "fuzz_feed.h"
#include "options.h"
#include "policy.h"

#include <stdbool.h>
#include <string.h>

/* libconfig 1.5 loses a string token on some syntax errors (config_file.c says more). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

#define NAME "fuzz.conf"

/* Each problem is its own line, "fuzz.conf:LINE: text", LINE within the input's lines. */
static void check_problems(const char *problems, size_t count, size_t input_lines)
{
    FUZZ_CHECK(count > 0);
    size_t lines = 0;
    for (const char *line = problems; *line != '\0'; lines++) {
        size_t length = strcspn(line, "\n");
        FUZZ_CHECK(strncmp(line, NAME ":", strlen(NAME ":")) == 0);
        char *end;
        unsigned long number = strtoul(line + strlen(NAME ":"), &end, 10);
        FUZZ_CHECK(number <= input_lines + 1 && end[0] == ':');
        line += length + (line[length] == '\n');
    }
    FUZZ_CHECK(lines >= 1 && lines <= count);
}

/* What the server relies on from an accepted file: values within the table's ranges. */
static void check_options(const struct server_options *options)
{
    FUZZ_CHECK(options->socks_address_count >= 1 &&
               options->socks_address_count <= OPTIONS_MAX_LISTEN);
    FUZZ_CHECK(options->buffer_size >= OPTIONS_BUFFER_MIN &&
               options->buffer_size <= OPTIONS_BUFFER_MAX);
    FUZZ_CHECK(options->workers <= OPTIONS_MAX_WORKERS);
    FUZZ_CHECK(options->busy_poll_us <= OPTIONS_BUSY_POLL_MAX_US);
    FUZZ_CHECK(options->log_level >= LOG_ERROR && options->log_level <= LOG_DEBUG);
    FUZZ_CHECK(options->user_count == 0); /* passwords never come from a file */
    FUZZ_CHECK(options->config_path == NULL && !options->check_config);
    FUZZ_CHECK(!options->show_help && !options->show_version);
}

static size_t apply(const uint8_t *data, size_t size, char *problems, size_t problems_size,
                    bool check)
{
    struct server_options options;
    options_init(&options);
    struct policy *policy = policy_create();
    struct config_strings *strings = config_strings_create();
    FUZZ_CHECK(policy != NULL && strings != NULL);
    size_t count = config_file_apply(NAME, (const char *)data, size, &options, policy, strings,
                                     problems, problems_size);
    options_finish(&options);
    if (check && count == 0)
        check_options(&options);
    options_free(&options);
    policy_destroy(policy);
    config_strings_destroy(strings);
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char problems[2048], again[2048];
    memset(problems, 0x5A, sizeof(problems));
    size_t count = apply(data, size, problems, sizeof(problems), true);
    FUZZ_CHECK(memchr(problems, '\0', sizeof(problems)) != NULL);
    size_t input_lines = 1;
    for (size_t i = 0; i < size; i++)
        input_lines += data[i] == '\n';
    if (count == 0)
        FUZZ_CHECK(problems[0] == '\0');
    else
        check_problems(problems, count, input_lines);
    /* Pure: the same bytes, the same answer. */
    FUZZ_CHECK(apply(data, size, again, sizeof(again), false) == count);
    FUZZ_CHECK(strcmp(problems, again) == 0);
    return 0;
}
