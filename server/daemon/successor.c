/* successor: the command line of the socks5d an upgrade signal (SIGUSR2) starts — this one's
 * arguments without -u/-a (their passwords are wiped from argv once read; the users are in the
 * users file) and without any --take-over of its own, with --take-over PATH first. */
#include "successor.h"

#include "options.h"

#include <stdlib.h>
#include <string.h>

static const struct option_spec *find_short(char name)
{
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        if (spec->short_name == name)
            return spec;
    }
    return NULL;
}

/* Options the successor must not be given again. */
static bool dropped(const struct option_spec *spec)
{
    return spec != NULL &&
           (spec->kind == OPTION_CREDENTIALS || strcmp(spec->name, "take-over") == 0);
}

/* The option argument starts, the one its value belongs to (NULL: none takes a value), and
 * whether that value is the next argument. In a cluster ("-nl", "-l::1") the first option
 * taking a value ends it; *flags is how many letters come before that one. */
static const struct option_spec *option_of(const char *argument, bool *value_follows,
                                           size_t *flags)
{
    *value_follows = false;
    *flags = 0;
    if (argument[1] == '-') {
        size_t length = strcspn(argument + 2, "=");
        char name[64];
        if (length >= sizeof(name))
            return NULL;
        memcpy(name, argument + 2, length);
        name[length] = '\0';
        const struct option_spec *spec = options_find(name);
        *value_follows = spec != NULL && spec->argument != NULL && argument[2 + length] == '\0';
        return spec;
    }
    for (const char *c = argument + 1; *c != '\0'; c++) {
        const struct option_spec *spec = find_short(*c);
        if (spec != NULL && spec->argument != NULL) {
            *value_follows = c[1] == '\0';
            *flags = (size_t)(c - argument) - 1;
            return spec;
        }
    }
    return NULL;
}

bool successor_command_build(struct successor_command *command, int argc, char **argv,
                             const char *upgrade_path)
{
    /* At most every argument, "--take-over", the path and the NULL. */
    command->arguments = calloc((size_t)argc + 3, sizeof(char *));
    command->made = calloc((size_t)argc + 1, sizeof(char *));
    if (command->arguments == NULL || command->made == NULL) {
        successor_command_free(command);
        return false;
    }
    size_t count = 0, made = 0;
    command->arguments[count++] = argv[0];
    /* First: after a "--" it would be no option. */
    command->arguments[count++] = "--take-over";
    command->arguments[count++] = (char *)upgrade_path;
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        if (strcmp(argument, "--") == 0) {
            while (i < argc)
                command->arguments[count++] = argv[i++];
            break;
        }
        if (argument[0] != '-' || argument[1] == '\0') {
            command->arguments[count++] = argv[i]; /* not an option: getopt judges it again */
            continue;
        }
        bool value_follows;
        size_t flags;
        const struct option_spec *spec = option_of(argument, &value_follows, &flags);
        bool skip = dropped(spec);
        if (!skip) {
            command->arguments[count++] = argv[i];
        } else if (flags > 0) {
            char *kept = strndup(argument, flags + 1); /* "-n" of "-nu" */
            if (kept == NULL) {
                successor_command_free(command);
                return false;
            }
            command->made[made++] = kept;
            command->arguments[count++] = kept;
        }
        if (value_follows && i + 1 < argc) {
            i++;
            if (!skip)
                command->arguments[count++] = argv[i];
        }
    }
    return true;
}

void successor_command_free(struct successor_command *command)
{
    for (size_t i = 0; command->made != NULL && command->made[i] != NULL; i++)
        free(command->made[i]);
    free(command->made);
    free(command->arguments);
    command->made = NULL;
    command->arguments = NULL;
}
