/* console: socks5ctl's one command table — name, arguments, help, role, handler — drawn from the
 * protocol's, shared by batch flags, the readline prompt and the dashboard's ':' line. */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "command_context.h"
#include "output.h"

struct admin_client;
struct admin_field;

enum console_role { CONSOLE_ROLE_ANY, CONSOLE_ROLE_ADMIN };

/* Every protocol command (admin_commands.h) is a console command: in its plain form (its name,
 * its fields as words in order, its summary as help, admin-only when the protocol says so),
 * or in a form of the console's own; the console adds shorthands and commands of its own. */
struct console_command {
    const char *name;      /* "users", "add-user", ... */
    const char *arguments; /* "NAME PASSWORD [admin|user]"; "" when none */
    const char *help;      /* one line */
    enum console_role role;
    /* argv[0] is the command name. Returns an enum console_exit value. */
    int (*run)(struct console_context *context, int argc, char **argv);
    uint8_t sends; /* the protocol command it sends; 0 = none (help, quit, dashboard...) */
};

/* In help's order: the protocol's commands in their table's order, each followed by the
 * console's shorthands for it, then the console's own commands. */
size_t console_command_count(void);
const struct console_command *console_command_at(size_t index);
const struct console_command *console_command_find(const char *name);

/* The protocol field that word index (1 = the first after the name) of command stands for;
 * NULL when the word is not one of the fields in order (an option, a word past them, or a
 * command that sends none). Drives completion and what the prompt keeps out of its history. */
const struct admin_field *console_command_field(const struct console_command *command,
                                                int index);
/* The "--" options command takes (NULL-terminated), or NULL when it takes none. */
const char *const *console_command_options(const struct console_command *command);

/* Splits line into words (double quotes group, backslash escapes), runs the command, prints
 * its output or a one-line error naming the problem. Empty lines return OK. */
int console_execute_line(struct console_context *context, const char *line);
int console_execute(struct console_context *context, int argc, char **argv);

/* What a login with nothing to run shows: whoami, then connections of the session's own user,
 * live and recent, both through the table, so every format prints them like those commands.
 * The first failure ends it; returns its exit code. */
int console_execute_own_activity(struct console_context *context);

/* Checks a command's name and arguments without running it (no I/O): batch mode checks every
 * command before the first one runs. Returns OK or USAGE with error set. */
int console_check(int argc, char **argv, char *error, size_t error_size);

/* The splitting of console_execute_line: words into a NULL-terminated *argv (free with
 * console_free_words). An empty or comment ('#') line gives argc 0. Returns OK, or USAGE for
 * an unterminated quote (error set). */
int console_split_line(const char *line, int *argc, char ***argv, char *error,
                       size_t error_size);
void console_free_words(int argc, char **argv);

#endif
