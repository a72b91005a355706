/* console: socks5ctl's one command table — name, arguments, help, role, handler — shared by
 * batch flags, the readline prompt and the dashboard's ':' command line. */
#include "console.h"

#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "admin_commands.h"
#include "admin_protocol.h"
#include "commands.h"
#include "dashboard.h"

#define ERROR_SIZE 512
#define HELP_SYNOPSIS_WIDTH 36

static int run_help(struct console_context *context, int argc, char **argv);
static int run_quit(struct console_context *context, int argc, char **argv);
static int check_help(int argc, char **argv, char *error, size_t error_size);
static int check_dashboard(int argc, char **argv, char *error, size_t error_size);

/* A command and its argument check. The check lives beside the public struct so that batch
 * mode can refuse bad words before the first command changes anything. */
struct console_entry {
    struct console_command command; /* first: a command pointer is an entry pointer */
    int (*check)(int argc, char **argv, char *error, size_t error_size);
};

/* help NULL and role ANY on a command named as in the protocol: both come from the protocol's
 * table (summary, access) on first use, so they are written once. */
static struct console_entry entries[] = {
    {{"ping", "", NULL, CONSOLE_ROLE_ANY, commands_run_protocol}, commands_check_protocol},
    {{"whoami", "", "your own user, role and usage", CONSOLE_ROLE_ANY,
      commands_run_whoami},
     commands_check_no_arguments},
    {{"server-info", "", NULL, CONSOLE_ROLE_ANY, commands_run_protocol}, commands_check_protocol},
    {{"metrics", "", NULL, CONSOLE_ROLE_ANY, commands_run_protocol}, commands_check_protocol},
    {{"user-metrics", "[USER]", NULL, CONSOLE_ROLE_ANY, commands_run_protocol},
     commands_check_protocol},
    {{"connections", "[USER] [--live|--recent|--all] [--limit N] [--offset N]", NULL,
      CONSOLE_ROLE_ANY, commands_run_connections},
     commands_check_connections},
    {{"users", "", NULL, CONSOLE_ROLE_ANY, commands_run_protocol}, commands_check_protocol},
    {{"add-user", "NAME [PASSWORD] [admin|user]", NULL, CONSOLE_ROLE_ANY, commands_run_add_user},
     commands_check_add_user},
    {{"remove-user", "NAME", NULL, CONSOLE_ROLE_ANY, commands_run_protocol},
     commands_check_protocol},
    {{"set-role", "NAME admin|user", NULL, CONSOLE_ROLE_ANY, commands_run_protocol},
     commands_check_protocol},
    {{"set-password", "[NAME] [PASSWORD]", NULL, CONSOLE_ROLE_ANY, commands_run_set_password},
     commands_check_set_password},
    {{"allow-no-auth", "", "accept SOCKS clients without authentication",
      CONSOLE_ROLE_ADMIN, commands_run_no_auth},
     commands_check_no_arguments},
    {{"require-auth", "", "make every SOCKS client authenticate", CONSOLE_ROLE_ADMIN,
      commands_run_no_auth},
     commands_check_no_arguments},
    {{"get-buffer-size", "", NULL, CONSOLE_ROLE_ANY, commands_run_protocol},
     commands_check_protocol},
    {{"set-buffer-size", "BYTES", NULL, CONSOLE_ROLE_ANY, commands_run_protocol},
     commands_check_protocol},
    {{"close-connection", "ID", NULL, CONSOLE_ROLE_ANY, commands_run_protocol},
     commands_check_protocol},
    {{"close-user-connections", "NAME", NULL, CONSOLE_ROLE_ANY, commands_run_protocol},
     commands_check_protocol},
    {{"dashboard", "[SECONDS]", "live full-screen view (q quits)", CONSOLE_ROLE_ANY,
      dashboard_run},
     check_dashboard},
    {{"help", "[COMMAND]", "list the commands, or explain one", CONSOLE_ROLE_ANY, run_help},
     check_help},
    {{"quit", "", "end the session", CONSOLE_ROLE_ANY, run_quit}, commands_check_no_arguments},
    {{"exit", "", "end the session", CONSOLE_ROLE_ANY, run_quit}, commands_check_no_arguments},
};

#define ENTRY_COUNT (sizeof(entries) / sizeof(entries[0]))

static void complete_from_protocol(void)
{
    static bool completed;
    if (completed)
        return;
    completed = true;
    for (size_t i = 0; i < ENTRY_COUNT; i++) {
        struct console_command *command = &entries[i].command;
        const struct admin_command_info *info = admin_command_find(command->name);
        if (info == NULL)
            continue;
        if (command->help == NULL)
            command->help = info->summary;
        if (info->access == ADMIN_ACCESS_ADMIN)
            command->role = CONSOLE_ROLE_ADMIN;
    }
}

size_t console_command_count(void)
{
    return ENTRY_COUNT;
}

const struct console_command *console_command_at(size_t index)
{
    complete_from_protocol();
    return index < ENTRY_COUNT ? &entries[index].command : NULL;
}

const struct console_command *console_command_find(const char *name)
{
    complete_from_protocol();
    for (size_t i = 0; i < ENTRY_COUNT; i++)
        if (strcmp(entries[i].command.name, name) == 0)
            return &entries[i].command;
    return NULL;
}

int console_exit_for_status(unsigned status)
{
    switch (status) {
    case ADMIN_STATUS_OK: return CONSOLE_EXIT_OK;
    case ADMIN_STATUS_BAD_REQUEST:
    case ADMIN_STATUS_NOT_FOUND:
    case ADMIN_STATUS_ALREADY_EXISTS:
    case ADMIN_STATUS_CONFLICT:
    case ADMIN_STATUS_UNSUPPORTED_COMMAND: return CONSOLE_EXIT_REFUSED;
    case ADMIN_STATUS_FORBIDDEN: return CONSOLE_EXIT_FORBIDDEN;
    case ADMIN_STATUS_UNAUTHENTICATED: return CONSOLE_EXIT_LOGIN_FAILED; /* user removed */
    default: return CONSOLE_EXIT_SERVER_ERROR; /* 0x01, 0x07, and codes we do not know */
    }
}

/* ---- Words ---- */

struct words {
    char **items;
    int count;
    int capacity;
};

static bool words_add(struct words *words, char *word)
{
    if (words->count + 2 > words->capacity) {
        int capacity = words->capacity == 0 ? 8 : words->capacity * 2;
        char **grown = realloc(words->items, (size_t)capacity * sizeof(*grown));
        if (grown == NULL)
            return false;
        words->items = grown;
        words->capacity = capacity;
    }
    words->items[words->count++] = word;
    words->items[words->count] = NULL;
    return true;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copies the word at *cursor into out (which has room for the rest of the line), undoing
 * quotes and backslashes; advances *cursor. Returns the problem or NULL. */
static const char *take_word(const char **cursor, char *out)
{
    const char *at = *cursor;
    size_t length = 0;
    char quote = '\0';
    for (; *at != '\0'; at++) {
        if (quote == '\0' && is_blank(*at))
            break;
        if (quote == '\0' && (*at == '"' || *at == '\'')) {
            quote = *at;
            continue;
        }
        if (*at == quote) {
            quote = '\0';
            continue;
        }
        /* A backslash escapes the next character, except inside single quotes (as in sh). */
        if (*at == '\\' && quote != '\'' && at[1] != '\0')
            at++;
        out[length++] = *at;
    }
    out[length] = '\0';
    *cursor = at;
    return quote != '\0' ? "unterminated quote" : NULL;
}

void console_free_words(int argc, char **argv)
{
    if (argv == NULL)
        return;
    for (int i = 0; i < argc; i++) {
        explicit_bzero(argv[i], strlen(argv[i])); /* a word may be a password */
        free(argv[i]);
    }
    free(argv);
}

int console_split_line(const char *line, int *argc, char ***argv, char *error,
                       size_t error_size)
{
    struct words words = {0};
    const char *cursor = line;
    const char *problem = NULL;
    *argc = 0;
    *argv = NULL;
    for (;;) {
        while (is_blank(*cursor))
            cursor++;
        if (*cursor == '\0' || (*cursor == '#' && words.count == 0))
            break;
        char *word = malloc(strlen(cursor) + 1);
        if (word == NULL) {
            problem = "out of memory";
            break;
        }
        problem = take_word(&cursor, word);
        if (problem != NULL || !words_add(&words, word)) {
            problem = problem != NULL ? problem : "out of memory";
            free(word);
            break;
        }
    }
    if (problem != NULL) {
        console_free_words(words.count, words.items);
        snprintf(error, error_size, "%s", problem);
        return CONSOLE_EXIT_USAGE;
    }
    *argc = words.count;
    *argv = words.items;
    return CONSOLE_EXIT_OK;
}

/* ---- Dispatch ---- */

static const struct console_entry *entry_of(const struct console_command *command)
{
    return (const struct console_entry *)command;
}

int console_check(int argc, char **argv, char *error, size_t error_size)
{
    if (argc < 1) {
        snprintf(error, error_size, "no command");
        return CONSOLE_EXIT_USAGE;
    }
    const struct console_command *command = console_command_find(argv[0]);
    if (command == NULL) {
        snprintf(error, error_size, "unknown command (try help)");
        return CONSOLE_EXIT_USAGE;
    }
    const struct console_entry *entry = entry_of(command);
    return entry->check != NULL ? entry->check(argc, argv, error, error_size) : CONSOLE_EXIT_OK;
}

int console_execute(struct console_context *context, int argc, char **argv)
{
    if (argc < 1)
        return CONSOLE_EXIT_OK;
    const struct console_command *command = console_command_find(argv[0]);
    if (command == NULL) {
        fprintf(context->err, "%s: unknown command (try help)\n", argv[0]);
        return CONSOLE_EXIT_USAGE;
    }
    return command->run(context, argc, argv);
}

int console_execute_line(struct console_context *context, const char *line)
{
    int argc;
    char **argv;
    char error[ERROR_SIZE];
    if (console_split_line(line, &argc, &argv, error, sizeof(error)) != CONSOLE_EXIT_OK) {
        fprintf(context->err, "%s\n", error);
        return CONSOLE_EXIT_USAGE;
    }
    int code = console_execute(context, argc, argv);
    console_free_words(argc, argv);
    return code;
}

int console_execute_own_activity(struct console_context *context)
{
    char whoami[] = "whoami";
    char *usage_words[] = {whoami, NULL};
    int code = console_execute(context, 1, usage_words);
    if (code != CONSOLE_EXIT_OK || context->client == NULL)
        return code;
    /* The name, not an empty user: for an admin an empty user means everybody's connections.
     * "--" keeps a name that starts with "--" from being read as an option. */
    char connections[] = "connections", all[] = "--all", end_of_options[] = "--";
    char own_name[ADMIN_STR8_MAX + 1];
    snprintf(own_name, sizeof(own_name), "%s", admin_client_user(context->client));
    char *connections_words[] = {connections, all, end_of_options, own_name, NULL};
    /* A blank line in TABLE format, or the page's total and offset lines would read as more
     * lines of the usage record; TSV and JSON start each output on a line of its own kind. */
    if (context->format == CONSOLE_FORMAT_TABLE)
        fputc('\n', context->out);
    return console_execute(context, 4, connections_words);
}

/* ---- Local commands ---- */

static int check_help(int argc, char **argv, char *error, size_t error_size)
{
    if (argc > 2) {
        snprintf(error, error_size, "too many arguments (usage: help [COMMAND])");
        return CONSOLE_EXIT_USAGE;
    }
    if (argc == 2 && console_command_find(argv[1]) == NULL) {
        snprintf(error, error_size, "no command %s (try help)", argv[1]);
        return CONSOLE_EXIT_USAGE;
    }
    return CONSOLE_EXIT_OK;
}

static int check_dashboard(int argc, char **argv, char *error, size_t error_size)
{
    (void)argv;
    if (argc > 2) {
        snprintf(error, error_size, "too many arguments (usage: dashboard [SECONDS])");
        return CONSOLE_EXIT_USAGE;
    }
    return CONSOLE_EXIT_OK;
}

static void print_synopsis(FILE *out, const struct console_command *command)
{
    fprintf(out, "%s%s%s", command->name, command->arguments[0] != '\0' ? " " : "",
            command->arguments);
}

static void print_command_help(FILE *out, const struct console_command *command)
{
    fputs("usage: ", out);
    print_synopsis(out, command);
    fprintf(out, "\n%s%s\n", command->help,
            command->role == CONSOLE_ROLE_ADMIN ? " (admin only)" : "");
    const struct admin_command_info *info = admin_command_find(command->name);
    if (info == NULL || info->field_count == 0)
        return;
    fprintf(out, "protocol command %s (0x%02x); its fields:\n", info->name, info->code);
    for (size_t i = 0; i < info->field_count; i++)
        fprintf(out, "  %-9s %s\n", info->fields[i].name, info->fields[i].help);
}

static int run_help(struct console_context *context, int argc, char **argv)
{
    char error[ERROR_SIZE];
    if (check_help(argc, argv, error, sizeof(error)) != CONSOLE_EXIT_OK) {
        fprintf(context->err, "help: %s\n", error);
        return CONSOLE_EXIT_USAGE;
    }
    if (argc == 2) {
        print_command_help(context->out, console_command_find(argv[1]));
        return CONSOLE_EXIT_OK;
    }
    for (size_t i = 0; i < ENTRY_COUNT; i++) {
        const struct console_command *command = console_command_at(i);
        char synopsis[256];
        snprintf(synopsis, sizeof(synopsis), "%s%s%s", command->name,
                 command->arguments[0] != '\0' ? " " : "", command->arguments);
        /* A long synopsis gets a line of its own, so the help texts stay in one column. */
        if (strlen(synopsis) > HELP_SYNOPSIS_WIDTH)
            fprintf(context->out, "  %s\n  %-*s", synopsis, HELP_SYNOPSIS_WIDTH, "");
        else
            fprintf(context->out, "  %-*s", HELP_SYNOPSIS_WIDTH, synopsis);
        fprintf(context->out, "  %s%s\n", command->help,
                command->role == CONSOLE_ROLE_ADMIN ? " (admin)" : "");
    }
    return CONSOLE_EXIT_OK;
}

static int run_quit(struct console_context *context, int argc, char **argv)
{
    char error[ERROR_SIZE];
    if (commands_check_no_arguments(argc, argv, error, sizeof(error)) != CONSOLE_EXIT_OK) {
        fprintf(context->err, "%s: %s\n", argv[0], error);
        return CONSOLE_EXIT_USAGE;
    }
    context->quit = true;
    return CONSOLE_EXIT_OK;
}
