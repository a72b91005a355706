/* main: socks5ctl's entry — reads the flags, logs in once, then runs the flags' commands, the
 * prompt, or the commands on stdin over that one session. */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_client.h"
#include "admin_protocol.h"
#include "batch.h"
#include "commands.h"
#include "console.h"
#include "fleet.h"
#include "prompt.h"
#include "terminal.h"

#define ERROR_SIZE 512
#define SECRET_SIZE (ADMIN_STR8_MAX + 2)
#define ADDRESS_TEXT_SIZE 320
#define SERVERS_FILE_MAX (1024 * 1024)

static int usage_error(const char *message)
{
    fprintf(stderr, "socks5ctl: %s\n(socks5ctl -h lists the flags and commands)\n", message);
    return CONSOLE_EXIT_USAGE;
}

/* The password: from -l USER:PASS, SOCKS5CTL_PASSWORD, or the terminal. */
static bool find_password(const struct batch_options *options, const char *user,
                          const char *address, char *out, size_t size)
{
    const char *given =
        options->password != NULL ? options->password : getenv("SOCKS5CTL_PASSWORD");
    if (given != NULL) {
        if (strlen(given) >= size)
            return false;
        strcpy(out, given);
        return true;
    }
    char prompt[ERROR_SIZE], error[ERROR_SIZE];
    snprintf(prompt, sizeof(prompt), "Password for %s@%s: ", user, address);
    if (terminal_read_secret(prompt, out, size, error, sizeof(error)))
        return true;
    fprintf(stderr, "socks5ctl: %s (the password can also come from SOCKS5CTL_PASSWORD)\n",
            error);
    return false;
}

/* A --servers file's text (at most SERVERS_FILE_MAX bytes); NULL with error set. */
static char *read_servers_file(const char *path, size_t *length, char *error, size_t error_size)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(SERVERS_FILE_MAX + 1);
    *length = text != NULL ? fread(text, 1, SERVERS_FILE_MAX + 1, file) : 0;
    bool failed = text == NULL || ferror(file);
    fclose(file);
    if (failed || *length > SERVERS_FILE_MAX) {
        snprintf(error, error_size, "%s: %s", path,
                 text == NULL ? "out of memory"
                 : failed     ? "cannot be read"
                              : "larger than 1 MiB: not a list of servers");
        free(text);
        return NULL;
    }
    return text;
}

static bool add_addresses(struct server_address **addresses, size_t *count,
                          const struct server_address *more, size_t more_count)
{
    struct server_address *grown = realloc(*addresses, (*count + more_count) * sizeof(*grown));
    if (grown == NULL)
        return false;
    memcpy(grown + *count, more, more_count * sizeof(*more));
    *addresses = grown;
    *count += more_count;
    return true;
}

/* The servers of -a, then of each --servers file (default: the client's default address),
 * each split into host and port (batch_parse checked -a). NULL with error set. */
static struct server_address *read_addresses(const struct batch_options *options, size_t *count,
                                             char *error, size_t error_size)
{
    struct server_address *addresses = NULL;
    *count = 0;
    bool read = true;
    for (size_t i = 0; read && i < options->address_count; i++) {
        struct server_address address;
        read = server_address_split(options->addresses[i], &address, error, error_size) &&
               add_addresses(&addresses, count, &address, 1);
    }
    for (size_t i = 0; read && i < options->server_file_count; i++) {
        size_t length;
        char *text = read_servers_file(options->server_files[i], &length, error, error_size);
        struct server_list list = {0};
        read = text != NULL && server_list_parse(text, length, options->server_files[i], &list,
                                                 error, error_size);
        read = read && add_addresses(&addresses, count, list.addresses, list.count);
        server_list_free(&list);
        free(text);
    }
    if (read && *count == 0)
        read = add_addresses(&addresses, count, &(struct server_address){.host = ""}, 1);
    const char *default_port = options->port != NULL ? options->port : ADMIN_CLIENT_DEFAULT_PORT;
    if (read)
        read = server_addresses_distinct(addresses, *count, default_port, error, error_size);
    if (!read) {
        free(addresses);
        return NULL;
    }
    return addresses;
}

/* The password prompt names the one server, or how many. */
static void describe_servers(const struct fleet *fleet, char *out, size_t size)
{
    if (fleet_count(fleet) == 1)
        snprintf(out, size, "%s", fleet_name(fleet, 0));
    else
        snprintf(out, size, "%s and %zu more servers", fleet_name(fleet, 0),
                 fleet_count(fleet) - 1);
}

/* Logs in to every server at once. One server: its failure ends the run, as always. Several:
 * each failure is told and the server is tried again by every command (which then fails on
 * it); only when none could be logged in to does the run end, with the highest code. */
static int log_in_everywhere(struct fleet *fleet)
{
    size_t count = fleet_count(fleet);
    struct fleet_outcome *outcomes = calloc(count, sizeof(*outcomes));
    if (outcomes == NULL) {
        fprintf(stderr, "socks5ctl: out of memory\n");
        return CONSOLE_EXIT_SERVER_ERROR;
    }
    fleet_connect_all(fleet, outcomes);
    int worst = CONSOLE_EXIT_OK;
    size_t logged_in = 0;
    for (size_t i = 0; i < count; i++) {
        if (outcomes[i].result == ADMIN_CLIENT_OK) {
            logged_in++;
            continue;
        }
        if (count == 1)
            fprintf(stderr, "socks5ctl: %s\n", outcomes[i].error);
        else
            fprintf(stderr, "socks5ctl: %s: %s\n", fleet_name(fleet, i), outcomes[i].error);
        int code = console_exit_for_client(outcomes[i].result, outcomes[i].login_status);
        worst = code > worst ? code : worst;
    }
    fleet_outcomes_free(outcomes, count);
    free(outcomes);
    return logged_in > 0 ? CONSOLE_EXIT_OK : worst;
}

static struct fleet *log_in(const struct batch_options *options, int *code)
{
    const char *user = options->user != NULL ? options->user : getenv("SOCKS5CTL_USER");
    if (user == NULL || user[0] == '\0') {
        *code = usage_error("no user: log in with -l USER[:PASS]");
        return NULL;
    }
    char password[SECRET_SIZE], servers[ADDRESS_TEXT_SIZE];
    struct admin_client_options client_options = {
        .port = options->port,
        .user = user,
        .timeout_ms = options->timeout_ms,
        .tls = options->tls,
        .ca_file = options->ca_file,
    };
    size_t count;
    char error[ERROR_SIZE];
    struct server_address *addresses = read_addresses(options, &count, error, sizeof(error));
    if (addresses == NULL) {
        *code = usage_error(error);
        return NULL;
    }
    /* First without password, only to name the servers in the password prompt. */
    struct fleet *fleet = fleet_create(&client_options, addresses, count);
    free(addresses);
    if (fleet == NULL) {
        fprintf(stderr, "socks5ctl: out of memory\n");
        *code = CONSOLE_EXIT_SERVER_ERROR;
        return NULL;
    }
    describe_servers(fleet, servers, sizeof(servers));
    bool have_password = find_password(options, user, servers, password, sizeof(password));
    if (have_password)
        have_password = fleet_set_password(fleet, password);
    explicit_bzero(password, sizeof(password));
    if (!have_password) {
        fleet_destroy(fleet);
        *code = CONSOLE_EXIT_USAGE;
        return NULL;
    }
    *code = log_in_everywhere(fleet);
    if (*code != CONSOLE_EXIT_OK) {
        fleet_destroy(fleet);
        return NULL;
    }
    return fleet;
}

/* Runs the commands of the flags in order; the first failure ends the run. */
static int run_commands(struct console_context *context, const struct batch_options *options)
{
    for (size_t i = 0; i < options->command_count && !context->quit; i++) {
        int code = console_execute(context, options->commands[i].argc, options->commands[i].argv);
        if (code != CONSOLE_EXIT_OK)
            return code;
    }
    return CONSOLE_EXIT_OK;
}

/* One command per line of stdin; the first failure ends the run. No command at all: your own
 * usage and connections, as the original client showed a user who gave only -l. */
static int run_stdin(struct console_context *context)
{
    char *line = NULL;
    size_t capacity = 0;
    size_t commands = 0;
    int code = CONSOLE_EXIT_OK;
    while (code == CONSOLE_EXIT_OK && !context->quit && getline(&line, &capacity, stdin) >= 0) {
        int argc;
        char **argv;
        char error[ERROR_SIZE];
        if (console_split_line(line, &argc, &argv, error, sizeof(error)) != CONSOLE_EXIT_OK) {
            fprintf(context->err, "%s\n", error);
            code = CONSOLE_EXIT_USAGE;
            break;
        }
        if (argc > 0) {
            commands++;
            code = console_execute(context, argc, argv);
        }
        console_free_words(argc, argv);
    }
    if (line != NULL)
        explicit_bzero(line, capacity);
    free(line);
    if (commands == 0 && code == CONSOLE_EXIT_OK)
        code = console_execute_own_activity(context);
    return code;
}

int main(int argc, char **argv)
{
    setlocale(LC_CTYPE, ""); /* readline: UTF-8 input; numbers stay in the C locale */
    struct batch_options options;
    char error[ERROR_SIZE];
    int code = batch_parse(argc, argv, &options, error, sizeof(error));
    batch_wipe_argv_secrets(&options);
    if (code != CONSOLE_EXIT_OK) {
        batch_free(&options);
        return usage_error(error);
    }
    if (options.help || options.version) {
        if (options.help)
            batch_print_usage(stdout);
        else
            printf("socks5ctl %s (admin protocol v%d)\n", SOCKS5CTL_VERSION,
                   ADMIN_PROTOCOL_VERSION);
        batch_free(&options);
        return CONSOLE_EXIT_OK;
    }
    struct fleet *fleet = log_in(&options, &code);
    if (fleet == NULL) {
        batch_free(&options);
        return code;
    }
    unsetenv("SOCKS5CTL_PASSWORD"); /* copied; no child of ours needs it */
    struct console_context context = {
        .client = fleet_client(fleet, 0),
        .fleet = fleet,
        .format = options.format,
        .out = stdout,
        .err = stderr,
        .may_prompt = true,
    };
    if (options.command_count > 0)
        code = run_commands(&context, &options);
    else if (isatty(STDIN_FILENO))
        code = prompt_run(&context);
    else
        code = run_stdin(&context);
    fflush(stdout);
    fleet_destroy(fleet);
    batch_free(&options);
    return code;
}
