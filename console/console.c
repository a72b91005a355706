/* console: socks5ctl's one command table — name, arguments, help, role, handler — drawn from the
 * protocol's, shared by batch flags, the readline prompt and the dashboard's ':' line. */
#include "console.h"

#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "admin_commands.h"
#include "admin_protocol.h"
#include "commands.h"
#include "connection_query.h"
#include "dashboard.h"

#define ERROR_SIZE 512
#define HELP_SYNOPSIS_WIDTH 36

static int run_help(struct console_context *context, int argc, char **argv);
static int run_quit(struct console_context *context, int argc, char **argv);
static int check_help(int argc, char **argv, char *error, size_t error_size);
static int check_dashboard(int argc, char **argv, char *error, size_t error_size);
static int run_dashboard(struct console_context *context, int argc, char **argv);

/* A command and its argument check. The check lives beside the public struct so that batch
 * mode can refuse bad words before the first command changes anything. */
struct console_entry {
    struct console_command command; /* first: a command pointer is an entry pointer */
    int (*check)(int argc, char **argv, char *error, size_t error_size);
    size_t field_words;         /* leading words that are the protocol command's fields */
    const char *const *options; /* NULL-terminated, or NULL */
    bool replaces_plain_form;   /* the command it sends is offered only through such entries */
};

/* The console's own entries. A protocol command named nowhere here is offered in its plain
 * form, so a new protocol command needs no entry. Here: forms with words of their own (named
 * as their protocol command), shorthands that send a protocol command with set arguments, and
 * commands of the console alone (sends 0). A command that sends takes its role from the
 * protocol, and its help too when help is NULL. */
static const struct console_entry own_entries[] = {
    {{.name = "whoami", .arguments = "", .help = "your own user, role and usage",
      .run = commands_run_whoami, .sends = ADMIN_CMD_USER_METRICS},
     .check = commands_check_no_arguments},
    {{.name = "connections",
      .arguments = "[USER] [--live|--recent|--all] [--limit N] [--offset N] [--history] "
                   "[--destination P] [--since T] [--until T] [--status S]",
      .run = connection_query_run, .sends = ADMIN_CMD_CONNECTIONS},
     .check = connection_query_check, .field_words = 1, .options = connection_query_options},
    {{.name = "add-user", .arguments = "NAME [PASSWORD] [admin|user]",
      .run = commands_run_add_user, .sends = ADMIN_CMD_ADD_USER},
     .check = commands_check_add_user, .field_words = 3},
    {{.name = "set-password", .arguments = "[NAME] [PASSWORD]", .run = commands_run_set_password,
      .sends = ADMIN_CMD_SET_PASSWORD},
     .check = commands_check_set_password, .field_words = 2},
    {{.name = "set-limits",
      .arguments = "NAME [max-connections=N] [upload=RATE] [download=RATE]",
      .run = commands_run_set_limits, .sends = ADMIN_CMD_SET_LIMITS},
     .check = commands_check_set_limits, .field_words = 1},
    {{.name = "allow-no-auth", .arguments = "",
      .help = "accept SOCKS clients without authentication", .run = commands_run_no_auth,
      .sends = ADMIN_CMD_SET_NO_AUTH},
     .check = commands_check_no_arguments, .replaces_plain_form = true},
    {{.name = "require-auth", .arguments = "", .help = "make every SOCKS client authenticate",
      .run = commands_run_no_auth, .sends = ADMIN_CMD_SET_NO_AUTH},
     .check = commands_check_no_arguments, .replaces_plain_form = true},
    {{.name = "dashboard", .arguments = "[SECONDS]", .help = "live full-screen view (q quits)",
      .role = CONSOLE_ROLE_ANY, .run = run_dashboard},
     .check = check_dashboard},
    {{.name = "help", .arguments = "[COMMAND]", .help = "list the commands, or explain one",
      .role = CONSOLE_ROLE_ANY, .run = run_help},
     .check = check_help},
    {{.name = "quit", .arguments = "", .help = "end the session", .role = CONSOLE_ROLE_ANY,
      .run = run_quit},
     .check = commands_check_no_arguments},
    {{.name = "exit", .arguments = "", .help = "end the session", .role = CONSOLE_ROLE_ANY,
      .run = run_quit},
     .check = commands_check_no_arguments},
};

#define OWN_ENTRY_COUNT (sizeof(own_entries) / sizeof(own_entries[0]))
#define PROTOCOL_CODES 256
#define SYNOPSIS_SIZE 256

/* Built on first use from the protocol's table and own_entries, in help's order. */
static struct console_entry listing[PROTOCOL_CODES + OWN_ENTRY_COUNT];
static size_t listing_count;
static char plain_synopses[PROTOCOL_CODES][SYNOPSIS_SIZE];
static size_t plain_count;

static void listing_add(const struct console_entry *entry)
{
    struct console_entry *added = &listing[listing_count++];
    *added = *entry;
    const struct admin_command_info *info = admin_command_info(entry->command.sends);
    if (info == NULL)
        return;
    if (added->command.help == NULL)
        added->command.help = info->summary;
    added->command.role =
        info->access == ADMIN_ACCESS_ADMIN ? CONSOLE_ROLE_ADMIN : CONSOLE_ROLE_ANY;
}

static void add_plain_form(const struct admin_command_info *info)
{
    char *synopsis = plain_synopses[plain_count++];
    commands_plain_synopsis(info, synopsis, SYNOPSIS_SIZE);
    struct console_entry plain = {{.name = info->name, .arguments = synopsis,
                                   .run = commands_run_protocol, .sends = info->code},
                                  .check = commands_check_protocol,
                                  .field_words = info->field_count};
    listing_add(&plain);
}

/* The protocol command's form: the own entry named as it, else the plain one unless
 * shorthands replace it; then those shorthands and any others that send it. */
static void add_forms_of(const struct admin_command_info *info)
{
    const struct console_entry *own_form = NULL;
    bool replaced = false;
    for (size_t i = 0; i < OWN_ENTRY_COUNT; i++) {
        const struct console_entry *entry = &own_entries[i];
        if (strcmp(entry->command.name, info->name) == 0)
            own_form = entry;
        else if (entry->command.sends == info->code && entry->replaces_plain_form)
            replaced = true;
    }
    if (own_form != NULL)
        listing_add(own_form);
    else if (!replaced)
        add_plain_form(info);
    for (size_t i = 0; i < OWN_ENTRY_COUNT; i++) {
        const struct console_entry *entry = &own_entries[i];
        if (entry->command.sends == info->code && entry != own_form)
            listing_add(entry);
    }
}

static void build_listing(void)
{
    if (listing_count > 0)
        return;
    for (size_t i = 0; i < admin_command_count(); i++)
        add_forms_of(admin_command_at(i));
    for (size_t i = 0; i < OWN_ENTRY_COUNT; i++)
        if (own_entries[i].command.sends == 0)
            listing_add(&own_entries[i]);
}

size_t console_command_count(void)
{
    build_listing();
    return listing_count;
}

const struct console_command *console_command_at(size_t index)
{
    build_listing();
    return index < listing_count ? &listing[index].command : NULL;
}

const struct console_command *console_command_find(const char *name)
{
    build_listing();
    for (size_t i = 0; i < listing_count; i++)
        if (strcmp(listing[i].command.name, name) == 0)
            return &listing[i].command;
    return NULL;
}

static const struct console_entry *entry_of(const struct console_command *command)
{
    return (const struct console_entry *)command;
}

const struct admin_field *console_command_field(const struct console_command *command, int index)
{
    const struct console_entry *entry = entry_of(command);
    const struct admin_command_info *info = admin_command_info(command->sends);
    if (info == NULL || index < 1 || (size_t)index > entry->field_words ||
        (size_t)index > info->field_count)
        return NULL;
    return &info->fields[index - 1];
}

const char *const *console_command_options(const struct console_command *command)
{
    return entry_of(command)->options;
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
    if (entry->check == NULL || entry->check(argc, argv, error, error_size) == CONSOLE_EXIT_OK)
        return CONSOLE_EXIT_OK;
    size_t length = strlen(error);
    snprintf(error + length, error_size - length, " (usage: %s%s%s)", command->name,
             command->arguments[0] != '\0' ? " " : "", command->arguments);
    return CONSOLE_EXIT_USAGE;
}

int console_execute(struct console_context *context, int argc, char **argv)
{
    if (argc < 1)
        return CONSOLE_EXIT_OK;
    char error[512];
    if (console_check(argc, argv, error, sizeof(error)) != CONSOLE_EXIT_OK) {
        fprintf(context->err, "%s: %s\n", argv[0], error);
        return CONSOLE_EXIT_USAGE;
    }
    context->fleet_failure = CONSOLE_EXIT_OK;
    int code = console_command_find(argv[0])->run(context, argc, argv);
    /* Several servers: the highest code any of them earned (--help, socks5ctl(1)). */
    return code > context->fleet_failure ? code : context->fleet_failure;
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
        snprintf(error, error_size, "too many arguments");
        return CONSOLE_EXIT_USAGE;
    }
    if (argc == 2 && console_command_find(argv[1]) == NULL) {
        snprintf(error, error_size, "no command named %s", argv[1]);
        return CONSOLE_EXIT_USAGE;
    }
    return CONSOLE_EXIT_OK;
}

static int check_dashboard(int argc, char **argv, char *error, size_t error_size)
{
    (void)argv;
    if (argc > 2) {
        snprintf(error, error_size, "too many arguments");
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
    for (size_t i = 0; i < console_command_count(); i++) {
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

/* A `:` line typed in the dashboard: a console command with its output and errors to out; curses
 * owns the terminal, so nothing may prompt there. */
static bool run_dashboard_line(void *data, const char *line, FILE *out, bool *quit)
{
    struct console_context *context = data;
    struct console_context saved = *context;
    context->out = out;
    context->err = out;
    context->may_prompt = false;
    context->quit = false;
    int code = console_execute_line(context, line);
    *quit = context->quit;
    context->out = saved.out;
    context->err = saved.err;
    context->may_prompt = saved.may_prompt;
    context->quit = saved.quit;
    return code == CONSOLE_EXIT_OK;
}

static int run_dashboard(struct console_context *context, int argc, char **argv)
{
    struct command_runner runner = { run_dashboard_line, context };
    return dashboard_run(context->fleet, context->client, &runner, context->err, argc, argv) ? CONSOLE_EXIT_OK
                                                                             : CONSOLE_EXIT_USAGE;
}
