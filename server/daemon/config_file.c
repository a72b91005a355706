/* config_file: socks5d's configuration file — a key per long option, and the rules and limits
 * sections — parsed from memory into options and a policy, every problem naming its line. */
#include "config_file.h"

/* Why libconfig rather than a grammar of our own, INI or YAML: its values are typed (a port
 * is a number, a flag is true or false, a listen list is a list), so "expected a number" is
 * the parser's word and not a guess; every setting keeps the line it came from, so the
 * semantic errors found after parsing (a bad CIDR in a rule, an unknown key) name their line
 * as the syntax errors do; it is small, has no dependencies, and has been in Debian for
 * decades (libconfig9). YAML's implicit typing ("no" is false, 010 is octal, 1:30 a number)
 * and its significant indentation are worse for a daemon's configuration, which must mean
 * one thing or be refused. */
#include <libconfig.h>

#include "destination_rules.h"
#include "limits_table.h"
#include "options.h"
#include "policy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A configuration file is a few kilobytes; this refuses a wrong path (a log, a device). */
#define CONFIG_FILE_MAX (1u << 20)
#define VALUE_TEXT_MAX 32 /* a 64-bit number in decimal */

struct config_strings {
    char **items;
    size_t count;
};

struct config_strings *config_strings_create(void)
{
    return calloc(1, sizeof(struct config_strings));
}

void config_strings_destroy(struct config_strings *strings)
{
    if (strings == NULL)
        return;
    for (size_t i = 0; i < strings->count; i++)
        free(strings->items[i]);
    free(strings->items);
    free(strings);
}

/* A copy that lives as long as strings; NULL when out of memory. */
static char *keep_string(struct config_strings *strings, const char *text)
{
    char **items = realloc(strings->items, (strings->count + 1) * sizeof(*items));
    if (items == NULL)
        return NULL;
    strings->items = items;
    char *copy = strdup(text);
    if (copy != NULL)
        items[strings->count++] = copy;
    return copy;
}

bool config_file_read(const char *path, char **text, size_t *length, char *error,
                      size_t error_size)
{
    *text = NULL;
    *length = 0;
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return false;
    }
    char *buffer = malloc(CONFIG_FILE_MAX + 1);
    size_t got = buffer != NULL ? fread(buffer, 1, CONFIG_FILE_MAX + 1, file) : 0;
    bool failed = buffer == NULL || ferror(file);
    int saved = errno;
    fclose(file);
    if (failed || got > CONFIG_FILE_MAX) {
        snprintf(error, error_size, "%s: %s", path,
                 buffer == NULL ? "out of memory"
                 : failed       ? strerror(saved)
                                : "larger than 1 MiB: not a configuration file");
        free(buffer);
        return false;
    }
    buffer[got] = '\0';
    *text = buffer;
    *length = got;
    return true;
}

/* ---- problems ---- */

struct parse {
    const char *name;
    struct server_options *options;
    struct policy *policy;
    struct config_strings *strings;
    char *problems;
    size_t problems_size;
    size_t problems_length;
    size_t problem_count;
};

static void problem(struct parse *parse, unsigned line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct parse *parse, unsigned line, const char *format, ...)
{
    parse->problem_count++;
    if (parse->problems_size == 0 || parse->problems_length + 1 >= parse->problems_size)
        return;
    char text[512];
    int prefix = snprintf(text, sizeof(text), "%s:%u: ", parse->name, line);
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text + prefix, sizeof(text) - (size_t)prefix, format, arguments);
    va_end(arguments);
    /* A value quoted in the message may hold a newline or a terminal escape: one problem stays
     * one line, in the log and in an admin's answer. */
    for (char *c = text; *c != '\0'; c++)
        if ((unsigned char)*c < ' ' || *c == 0x7f)
            *c = '?';
    int written = snprintf(parse->problems + parse->problems_length,
                           parse->problems_size - parse->problems_length, "%s%s",
                           parse->problems_length > 0 ? "\n" : "", text);
    size_t room = parse->problems_size - parse->problems_length - 1;
    parse->problems_length += (size_t)written < room ? (size_t)written : room;
}

static unsigned line_of(const config_setting_t *setting)
{
    return config_setting_source_line(setting);
}

/* ---- scalar values as the text options_set, the rules and the limits take ---- */

static bool is_integer(const config_setting_t *setting)
{
    int type = config_setting_type(setting);
    return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
}

/* A number or a string as text, in value (VALUE_TEXT_MAX) or pointing into the setting. */
static const char *scalar_text(const config_setting_t *setting, char value[VALUE_TEXT_MAX])
{
    if (is_integer(setting)) {
        snprintf(value, VALUE_TEXT_MAX, "%lld", config_setting_get_int64(setting));
        return value;
    }
    if (config_setting_type(setting) == CONFIG_TYPE_STRING)
        return config_setting_get_string(setting);
    return NULL;
}

/* ---- top-level keys: the options ---- */

/* options_set's messages start with the flag ("-p: ..."); a file's name the key instead. */
static const char *without_flag(const char *message)
{
    const char *separator = strstr(message, ": ");
    return message[0] == '-' && separator != NULL ? separator + 2 : message;
}

static void set_option(struct parse *parse, const config_setting_t *setting, const char *value)
{
    const char *name = config_setting_name(setting);
    char *kept = NULL;
    if (value != NULL && (kept = keep_string(parse->strings, value)) == NULL) {
        problem(parse, line_of(setting), "%s: out of memory", name);
        return;
    }
    char error[256];
    if (!options_set(parse->options, name, kept, error, sizeof(error)))
        problem(parse, line_of(setting), "%s: %s", name, without_flag(error));
}

static void apply_flag(struct parse *parse, const config_setting_t *setting)
{
    if (config_setting_type(setting) != CONFIG_TYPE_BOOL) {
        problem(parse, line_of(setting), "%s: expected true or false", config_setting_name(setting));
        return;
    }
    /* The file is applied over the defaults, so false is the default already. */
    if (config_setting_get_bool(setting))
        set_option(parse, setting, NULL);
}

static void apply_number(struct parse *parse, const config_setting_t *setting,
                         const struct option_spec *spec)
{
    char value[VALUE_TEXT_MAX];
    if (!is_integer(setting)) {
        problem(parse, line_of(setting), "%s: expected a number (%llu-%llu)", spec->name,
                spec->min, spec->max);
        return;
    }
    set_option(parse, setting, scalar_text(setting, value));
}

static void apply_text(struct parse *parse, const config_setting_t *setting,
                       const struct option_spec *spec)
{
    if (config_setting_type(setting) == CONFIG_TYPE_STRING) {
        set_option(parse, setting, config_setting_get_string(setting));
        return;
    }
    bool list = config_setting_is_array(setting) || config_setting_is_list(setting);
    if (spec->append == NULL || !list) {
        problem(parse, line_of(setting), "%s: expected %s", spec->name,
                spec->append != NULL ? "a string or a list of strings" : "a string");
        return;
    }
    for (int i = 0; i < config_setting_length(setting); i++) {
        const config_setting_t *element = config_setting_get_elem(setting, (unsigned)i);
        if (config_setting_type(element) != CONFIG_TYPE_STRING) {
            problem(parse, line_of(element), "%s: expected a list of strings", spec->name);
            continue;
        }
        const char *value = config_setting_get_string(element);
        char *kept = keep_string(parse->strings, value);
        char error[256];
        if (kept == NULL)
            problem(parse, line_of(element), "%s: out of memory", spec->name);
        else if (!options_set(parse->options, spec->name, kept, error, sizeof(error)))
            problem(parse, line_of(element), "%s: %s", spec->name, without_flag(error));
    }
}

/* Options of the command line alone: none of them describes the server. */
static const char *const command_line_only[] = { "help", "version", "config", "check-config" };

static void apply_option(struct parse *parse, const config_setting_t *setting)
{
    const char *name = config_setting_name(setting);
    unsigned line = line_of(setting);
    if (strcmp(name, "user") == 0 || strcmp(name, "admin") == 0) {
        problem(parse, line,
                "%s: passwords do not belong in a configuration file; add users with "
                "socks5ctl or the users file (users-file), the first admin with "
                "SOCKS5D_ADMIN=name:password in the environment", name);
        return;
    }
    for (size_t i = 0; i < sizeof(command_line_only) / sizeof(command_line_only[0]); i++)
        if (strcmp(name, command_line_only[i]) == 0) {
            problem(parse, line, "%s: an option of the command line only, not a key", name);
            return;
        }
    const struct option_spec *spec = options_find(name);
    if (spec == NULL) {
        problem(parse, line, "unknown key '%s' (the keys are the long options of socks5d -h, "
                             "and the sections rules and limits)", name);
        return;
    }
    if (spec->kind == OPTION_ENABLE || spec->kind == OPTION_DISABLE)
        apply_flag(parse, setting);
    else if (options_kind_is_number(spec->kind))
        apply_number(parse, setting, spec);
    else
        apply_text(parse, setting, spec);
}

/* ---- the rules section ---- */

static bool is_sequence(const config_setting_t *setting)
{
    return config_setting_is_list(setting) || config_setting_is_array(setting);
}

static void apply_rule_value(struct parse *parse, struct destination_rule *rule, size_t number,
                             const config_setting_t *field, const config_setting_t *value)
{
    const char *key = config_setting_name(field);
    char text[VALUE_TEXT_MAX];
    const char *value_text = scalar_text(value, text);
    if (value_text == NULL) {
        problem(parse, line_of(value), "rule %zu: %s: expected a string or a number%s", number,
                key, value == field ? ", or a list of them" : "");
        return;
    }
    char error[256];
    if (!destination_rule_set_field(rule, key, value_text, error, sizeof(error)))
        problem(parse, line_of(value), "rule %zu: %s: %s", number, key, error);
}

static void apply_rule(struct parse *parse, const config_setting_t *group, size_t number)
{
    if (!config_setting_is_group(group)) {
        problem(parse, line_of(group), "rule %zu: expected a group { action = ...; ... }",
                number);
        return;
    }
    struct destination_rule *rule = rule_set_add(parse->policy->rules, line_of(group));
    if (rule == NULL) {
        problem(parse, line_of(group), "rule %zu: cannot add it (out of memory)", number);
        return;
    }
    size_t problems_before = parse->problem_count;
    for (int i = 0; i < config_setting_length(group); i++) {
        const config_setting_t *field = config_setting_get_elem(group, (unsigned)i);
        if (!is_sequence(field)) {
            apply_rule_value(parse, rule, number, field, field);
            continue;
        }
        for (int j = 0; j < config_setting_length(field); j++)
            apply_rule_value(parse, rule, number, field,
                             config_setting_get_elem(field, (unsigned)j));
    }
    /* A field refused already says what is wrong with the rule (a bad action is no action). */
    char error[256];
    if (parse->problem_count == problems_before &&
        !destination_rule_finish(rule, error, sizeof(error)))
        problem(parse, line_of(group), "rule %zu: %s", number, error);
}

static void apply_rules(struct parse *parse, const config_setting_t *rules)
{
    if (!is_sequence(rules)) {
        problem(parse, line_of(rules), "rules: expected a list: ( { action = \"deny\"; ... }, "
                                       "... )");
        return;
    }
    for (int i = 0; i < config_setting_length(rules); i++)
        apply_rule(parse, config_setting_get_elem(rules, (unsigned)i), (size_t)i + 1);
}

/* ---- the limits section ---- */

/* Whether a value's error starts with its key already ("upload: too large"). */
static bool names_field(const char *error, const char *key)
{
    size_t length = strlen(key);
    return strncmp(error, key, length) == 0 && error[length] == ':';
}

/* Each key of a scope's group: max-connections, upload, download. */
static void apply_limit_group(struct parse *parse, const config_setting_t *group,
                              const char *scope, const char *where, bool skip_name)
{
    if (!config_setting_is_group(group)) {
        problem(parse, line_of(group), "%s: expected a group { max-connections = N; ... }",
                where);
        return;
    }
    for (int i = 0; i < config_setting_length(group); i++) {
        const config_setting_t *field = config_setting_get_elem(group, (unsigned)i);
        const char *key = config_setting_name(field);
        if (skip_name && strcmp(key, "name") == 0)
            continue;
        char text[VALUE_TEXT_MAX], error[256];
        const char *value = scalar_text(field, text);
        if (value == NULL)
            problem(parse, line_of(field), "%s: %s: expected a number or a string such as "
                                           "\"8M\"", where, key);
        else if (!limits_table_set_field(parse->policy->limits, scope, key, value, error,
                                         sizeof(error)))
            problem(parse, line_of(field), "%s: %s%s%s", where,
                    names_field(error, key) ? "" : key, names_field(error, key) ? "" : ": ",
                    error);
    }
}

static void apply_role_limits(struct parse *parse, const config_setting_t *roles)
{
    if (!config_setting_is_group(roles)) {
        problem(parse, line_of(roles), "limits: roles: expected a group { user = {...}; "
                                       "admin = {...}; }");
        return;
    }
    for (int i = 0; i < config_setting_length(roles); i++) {
        const config_setting_t *role = config_setting_get_elem(roles, (unsigned)i);
        const char *name = config_setting_name(role);
        char scope[64], where[80];
        if (strcmp(name, "user") != 0 && strcmp(name, "admin") != 0) {
            problem(parse, line_of(role), "limits: roles: unknown role '%s' (user or admin)",
                    name);
            continue;
        }
        snprintf(scope, sizeof(scope), "role:%s", name);
        snprintf(where, sizeof(where), "limits: roles: %s", name);
        apply_limit_group(parse, role, scope, where, false);
    }
}

static void apply_user_limits(struct parse *parse, const config_setting_t *users)
{
    if (!is_sequence(users)) {
        problem(parse, line_of(users), "limits: users: expected a list: ( { name = \"alice\"; "
                                       "... }, ... )");
        return;
    }
    for (int i = 0; i < config_setting_length(users); i++) {
        const config_setting_t *user = config_setting_get_elem(users, (unsigned)i);
        const config_setting_t *name =
            config_setting_is_group(user) ? config_setting_get_member(user, "name") : NULL;
        if (name == NULL || config_setting_type(name) != CONFIG_TYPE_STRING) {
            problem(parse, line_of(name != NULL ? name : user),
                    "limits: users: expected a group with name = \"USER\"");
            continue;
        }
        char scope[300], where[300];
        snprintf(scope, sizeof(scope), "user:%s", config_setting_get_string(name));
        snprintf(where, sizeof(where), "limits: user %s", config_setting_get_string(name));
        apply_limit_group(parse, user, scope, where, true);
    }
}

static void apply_limits(struct parse *parse, const config_setting_t *limits)
{
    if (!config_setting_is_group(limits)) {
        problem(parse, line_of(limits), "limits: expected a group { default = {...}; roles = "
                                        "{...}; users = (...); }");
        return;
    }
    for (int i = 0; i < config_setting_length(limits); i++) {
        const config_setting_t *part = config_setting_get_elem(limits, (unsigned)i);
        const char *name = config_setting_name(part);
        if (strcmp(name, "default") == 0)
            apply_limit_group(parse, part, "default", "limits: default", false);
        else if (strcmp(name, "roles") == 0)
            apply_role_limits(parse, part);
        else if (strcmp(name, "users") == 0)
            apply_user_limits(parse, part);
        else
            problem(parse, line_of(part), "limits: unknown key '%s' (default, roles or users)",
                    name);
    }
}

/* ---- the file ---- */

/* libconfig would open the file an @include line names (relative to the include directory):
 * I/O in the middle of a parse, and a second file that --check-config and a reload would have
 * to follow. socks5d's configuration is one file, so any line starting with @include is
 * refused before libconfig sees it (even one inside a comment: the rule stays simple). */
static bool refuse_includes_and_nul(struct parse *parse, const char *text, size_t length)
{
    unsigned line = 1;
    bool at_line_start = true, clean = true;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == '\0') {
            problem(parse, line, "a NUL byte: a configuration file is text");
            return false;
        }
        if (at_line_start && c != ' ' && c != '\t') {
            at_line_start = false;
            if (c == '@' && length - i >= 8 && memcmp(text + i, "@include", 8) == 0) {
                problem(parse, line, "@include: the configuration is one file");
                clean = false;
            }
        }
        if (c == '\n') {
            line++;
            at_line_start = true;
        }
    }
    return clean;
}

size_t config_file_apply(const char *name, const char *text, size_t length,
                         struct server_options *options, struct policy *policy,
                         struct config_strings *strings, char *problems, size_t problems_size)
{
    struct parse parse = { .name = name, .options = options, .policy = policy,
                           .strings = strings, .problems = problems,
                           .problems_size = problems_size };
    if (problems_size > 0)
        problems[0] = '\0';
    if (!refuse_includes_and_nul(&parse, text, length))
        return parse.problem_count;
    char *copy = malloc(length + 1); /* libconfig reads a C string */
    if (copy == NULL) {
        problem(&parse, 0, "out of memory");
        return parse.problem_count;
    }
    memcpy(copy, text, length);
    copy[length] = '\0';
    config_t config;
    config_init(&config);
    /* On a syntax error whose token is a string, libconfig 1.5 loses that string (its grammar
     * has no %destructor): a few bytes per such refused file, which the sanitizer suites
     * suppress by the library's name. */
    if (!config_read_string(&config, copy)) {
        problem(&parse, (unsigned)config_error_line(&config), "%s", config_error_text(&config));
    } else {
        const config_setting_t *root = config_root_setting(&config);
        for (int i = 0; i < config_setting_length(root); i++) {
            const config_setting_t *setting = config_setting_get_elem(root, (unsigned)i);
            const char *key = config_setting_name(setting);
            if (strcmp(key, "rules") == 0)
                apply_rules(&parse, setting);
            else if (strcmp(key, "limits") == 0)
                apply_limits(&parse, setting);
            else
                apply_option(&parse, setting);
        }
    }
    config_destroy(&config);
    free(copy);
    return parse.problem_count;
}
