/* fuzz_console_batch: libFuzzer harness for socks5ctl's command-line parser — any argv parses
 * the same way twice, into commands that pass their own checks and parse back unchanged. */
#include "fuzz_feed.h"
#include "batch.h"

#include <string.h>

/* Input: the words of argv after "socks5ctl", each ended by a NUL byte (the last one by the
 * end of the input). No piece plan: the parser takes the whole argv at once. */
#define MAX_WORDS 64

struct fuzz_argv {
    int argc;
    char *argv[MAX_WORDS + 2];
    size_t lengths[MAX_WORDS + 2];
};

/* Each word in its own exact-size heap block, so ASan sees any read past one. */
static void argv_from_input(struct fuzz_argv *args, const uint8_t *data, size_t size)
{
    args->argc = 0;
    const char *program = "socks5ctl";
    args->lengths[0] = strlen(program);
    args->argv[args->argc++] = strdup(program);
    size_t at = 0;
    while (at < size && args->argc <= MAX_WORDS) {
        const uint8_t *nul = memchr(data + at, 0, size - at);
        size_t length = nul != NULL ? (size_t)(nul - data) - at : size - at;
        char *word = malloc(length + 1);
        FUZZ_CHECK(word != NULL);
        memcpy(word, data + at, length);
        word[length] = '\0';
        args->lengths[args->argc] = length;
        args->argv[args->argc++] = word;
        at += length + 1;
    }
    args->argv[args->argc] = NULL;
    FUZZ_CHECK(args->argv[0] != NULL);
}

static void argv_free(struct fuzz_argv *args)
{
    for (int i = 0; i < args->argc; i++)
        free(args->argv[i]);
    args->argc = 0;
}

/* Copies args, so a second parse sees the same words even where the first wiped secrets. */
static void argv_copy(struct fuzz_argv *copy, const struct fuzz_argv *args)
{
    copy->argc = args->argc;
    for (int i = 0; i < args->argc; i++) {
        copy->lengths[i] = args->lengths[i];
        copy->argv[i] = malloc(args->lengths[i] + 1);
        FUZZ_CHECK(copy->argv[i] != NULL);
        memcpy(copy->argv[i], args->argv[i], args->lengths[i] + 1);
    }
    copy->argv[copy->argc] = NULL;
}

/* Which argv word holds pointer, or -1. */
static int word_holding(const struct fuzz_argv *args, const char *pointer)
{
    for (int i = 0; i < args->argc; i++)
        if (pointer >= args->argv[i] && pointer <= args->argv[i] + args->lengths[i])
            return i;
    return -1;
}

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_same_options(const struct batch_options *a, const struct batch_options *b)
{
    FUZZ_CHECK(a->address_count == b->address_count && same_text(a->port, b->port));
    for (size_t i = 0; i < a->address_count; i++)
        FUZZ_CHECK(strcmp(a->addresses[i], b->addresses[i]) == 0);
    FUZZ_CHECK(same_text(a->user, b->user) && same_text(a->password, b->password));
    FUZZ_CHECK(a->format == b->format && a->timeout_ms == b->timeout_ms);
    FUZZ_CHECK(a->help == b->help && a->version == b->version);
    FUZZ_CHECK(a->secret_count == b->secret_count);
    FUZZ_CHECK(a->command_count == b->command_count);
    for (size_t i = 0; i < a->command_count; i++) {
        FUZZ_CHECK(a->commands[i].argc == b->commands[i].argc);
        for (int w = 0; w < a->commands[i].argc; w++)
            FUZZ_CHECK(strcmp(a->commands[i].argv[w], b->commands[i].argv[w]) == 0);
    }
}

static void check_command_shape(const struct batch_command *command)
{
    FUZZ_CHECK(command->argc >= 1 && command->argv != NULL);
    for (int w = 0; w < command->argc; w++)
        FUZZ_CHECK(command->argv[w] != NULL);
    FUZZ_CHECK(command->argv[command->argc] == NULL);
}

/* "socks5ctl -- WORDS..." must give back exactly the command made of WORDS. */
static void check_command_parses_back(const struct batch_command *command)
{
    struct fuzz_argv args;
    args.argc = 0;
    args.argv[args.argc] = strdup("socks5ctl");
    args.lengths[args.argc++] = strlen("socks5ctl");
    args.argv[args.argc] = strdup("--");
    args.lengths[args.argc++] = 2;
    for (int w = 0; w < command->argc && args.argc <= MAX_WORDS; w++) {
        args.argv[args.argc] = strdup(command->argv[w]);
        args.lengths[args.argc++] = strlen(command->argv[w]);
    }
    args.argv[args.argc] = NULL;
    for (int i = 0; i < args.argc; i++)
        FUZZ_CHECK(args.argv[i] != NULL);
    if (command->argc + 2 > args.argc) { /* more words than fit: skip */
        argv_free(&args);
        return;
    }

    struct batch_options options;
    char error[512];
    int code = batch_parse(args.argc, args.argv, &options, error, sizeof(error));
    FUZZ_CHECK(code == CONSOLE_EXIT_OK);
    FUZZ_CHECK(options.command_count == 1 && options.commands[0].argc == command->argc);
    for (int w = 0; w < command->argc; w++)
        FUZZ_CHECK(strcmp(options.commands[0].argv[w], command->argv[w]) == 0);
    FUZZ_CHECK(options.user == NULL && options.password == NULL && options.secret_count == 0);
    batch_free(&options);
    argv_free(&args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_argv args, again_args;
    argv_from_input(&args, data, size);
    argv_copy(&again_args, &args);

    struct batch_options options, again;
    char error[512], again_error[512];
    memset(error, 0x5A, sizeof(error));
    int code = batch_parse(args.argc, args.argv, &options, error, sizeof(error));
    FUZZ_CHECK(code == CONSOLE_EXIT_OK || code == CONSOLE_EXIT_USAGE);
    if (code == CONSOLE_EXIT_USAGE)
        FUZZ_CHECK(memchr(error, '\0', sizeof(error)) != NULL && error[0] != '\0');

    /* Parsing is repeatable: getopt's global state is reset on every call. */
    int again_code = batch_parse(again_args.argc, again_args.argv, &again, again_error,
                                 sizeof(again_error));
    FUZZ_CHECK(again_code == code);
    if (code == CONSOLE_EXIT_USAGE)
        FUZZ_CHECK(strcmp(error, again_error) == 0);
    else
        check_same_options(&options, &again);

    /* Owned strings are not argv's; what lives in argv are only the secrets to wipe. */
    FUZZ_CHECK(options.user == NULL || word_holding(&args, options.user) < 0);
    FUZZ_CHECK(options.password == NULL || word_holding(&args, options.password) < 0);
    FUZZ_CHECK(options.user == NULL || strchr(options.user, ':') == NULL);
    FUZZ_CHECK(options.secret_count <= sizeof(options.secrets) / sizeof(options.secrets[0]));
    size_t secret_lengths[sizeof(options.secrets) / sizeof(options.secrets[0])];
    for (size_t i = 0; i < options.secret_count; i++) {
        FUZZ_CHECK(word_holding(&args, options.secrets[i]) > 0);
        secret_lengths[i] = strlen(options.secrets[i]);
        FUZZ_CHECK(secret_lengths[i] > 0);
    }
    char *password = options.password != NULL ? strdup(options.password) : NULL;
    char *secrets[sizeof(options.secrets) / sizeof(options.secrets[0])];
    size_t secret_count = options.secret_count;
    memcpy(secrets, options.secrets, sizeof(secrets));
    batch_wipe_argv_secrets(&options);
    FUZZ_CHECK(options.secret_count == 0);
    for (size_t i = 0; i < secret_count; i++)
        FUZZ_CHECK(fuzz_all_zero(secrets[i], secret_lengths[i]));
    FUZZ_CHECK(same_text(password, options.password));
    free(password);

    if (code == CONSOLE_EXIT_OK) {
        char problem[512];
        for (size_t i = 0; i < options.command_count; i++) {
            const struct batch_command *command = &options.commands[i];
            check_command_shape(command);
            if (options.help || options.version)
                continue; /* then commands are not checked: nothing will run */
            FUZZ_CHECK(console_check(command->argc, command->argv, problem, sizeof(problem)) ==
                       CONSOLE_EXIT_OK);
            check_command_parses_back(command);
        }
    }

    batch_free(&options);
    FUZZ_CHECK(options.commands == NULL && options.command_count == 0 && options.user == NULL &&
               options.password == NULL);
    batch_free(&again);
    argv_free(&args);
    argv_free(&again_args);
    return 0;
}
