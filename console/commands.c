/* commands: the handlers behind socks5ctl's command table — words to an admin request (checked
 * before anything is sent), the call, and the result printed in the chosen format. */
#include "commands.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin_commands.h"
#include "admin_text.h"
#include "confirmations.h"
#include "fleet.h"
#include "fleet_commands.h"
#include "output.h"
#include "terminal.h"

#define ERROR_SIZE 512
#define SECRET_SIZE (ADMIN_STR8_MAX + 2)
#define SHOWN_NAME_SIZE (4 * ADMIN_STR8_MAX + 1)
#define SYNOPSIS_WORD_SIZE 64

/* ---- Errors ---- */

static void report(struct console_context *context, const char *name, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct console_context *context, const char *name, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    fprintf(context->err, "%s: ", name);
    vfprintf(context->err, format, arguments);
    fputc('\n', context->err);
    va_end(arguments);
}

/* A usage error: the problem (console_check adds the command's synopsis from its table). */
static int usage(char *error, size_t error_size, const char *problem)
{
    snprintf(error, error_size, "%s", problem);
    return CONSOLE_EXIT_USAGE;
}

int commands_call(struct console_context *context, const char *name,
                  const struct admin_request *request, struct admin_reply *reply)
{
    char error[ERROR_SIZE];
    *reply = (struct admin_reply){0};
    if (fleet_commands_active(context))
        return fleet_commands_call(context, name, request, reply);
    if (context->client == NULL) {
        report(context, name, "not connected to a server");
        return CONSOLE_EXIT_UNAVAILABLE;
    }
    /* The dashboard's pollers share the session: the call holds its lock. */
    if (context->fleet != NULL)
        fleet_lock(context->fleet, 0);
    enum admin_client_result result =
        admin_client_call(context->client, request, reply, error, sizeof(error));
    uint8_t login_status = admin_client_login_status(context->client);
    if (context->fleet != NULL)
        fleet_unlock(context->fleet, 0);
    if (result != ADMIN_CLIENT_OK) {
        report(context, name, "%s", error);
        return console_exit_for_client(result, login_status);
    }
    if (reply->status == ADMIN_STATUS_OK)
        return CONSOLE_EXIT_OK;
    /* The body is one escaped line (PROTOCOL.md 8.5): safe to show as it is, minus its LF. */
    const char *message = reply->body;
    size_t length = reply->body_length;
    /* socks5d names the command itself ("users: admin role required"): say it once. */
    size_t name_length = strlen(name);
    if (length > name_length + 2 && strncmp(message, name, name_length) == 0 &&
        message[name_length] == ':' && message[name_length + 1] == ' ') {
        message += name_length + 2;
        length -= name_length + 2;
    }
    while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == '\r'))
        length--;
    report(context, name, "%.*s (%s)", (int)length, message,
           admin_status_name(reply->status));
    int code = console_exit_for_status(reply->status);
    admin_reply_free(reply);
    return code;
}

/* ---- Words to fields ---- */

static bool parse_number(const char *word, uint64_t maximum, uint64_t *value)
{
    struct admin_span span = {word, strlen(word)};
    return admin_span_to_u64(span, value) && *value <= maximum;
}

/* The words for a u8 field's values: roles, yes/no flags, which connections. In the order a
 * usage line lists them. */
struct choice {
    enum admin_field_check check;
    const char *word;
    uint8_t value;
};

static const struct choice choices[] = {
    {ADMIN_CHECK_ROLE, ADMIN_TEXT_ROLE_ADMIN, ADMIN_ROLE_ADMIN},
    {ADMIN_CHECK_ROLE, ADMIN_TEXT_ROLE_USER, ADMIN_ROLE_USER},
    {ADMIN_CHECK_FLAG, "yes", 1},
    {ADMIN_CHECK_FLAG, "no", 0},
    {ADMIN_CHECK_WHICH, "live", ADMIN_CONNECTIONS_LIVE},
    {ADMIN_CHECK_WHICH, "recent", ADMIN_CONNECTIONS_RECENT},
    {ADMIN_CHECK_WHICH, "both", ADMIN_CONNECTIONS_BOTH},
};

#define CHOICE_COUNT (sizeof(choices) / sizeof(choices[0]))

const char *commands_choice_word(enum admin_field_check check, size_t index)
{
    for (size_t i = 0; i < CHOICE_COUNT; i++)
        if (choices[i].check == check && index-- == 0)
            return choices[i].word;
    return NULL;
}

/* A u8 field's value from its word. */
static const char *parse_choice(enum admin_field_check check, const char *word, uint8_t *value)
{
    for (size_t i = 0; i < CHOICE_COUNT; i++) {
        if (choices[i].check == check && strcmp(choices[i].word, word) == 0) {
            *value = choices[i].value;
            return NULL;
        }
    }
    switch (check) {
    case ADMIN_CHECK_ROLE: return "the role must be admin or user";
    case ADMIN_CHECK_FLAG: return "say yes or no";
    case ADMIN_CHECK_WHICH: return "which must be live, recent or both";
    default: return "not a valid value";
    }
}

/* NULL when word fits field, else the problem. */
static const char *parse_field(const struct admin_field *field, const char *word,
                               struct admin_request *request)
{
    void *value = (char *)request + field->offset;
    uint64_t number;
    switch (field->type) {
    case ADMIN_FIELD_STR8:
        return admin_str8_set(value, word) ? NULL : "names and passwords are at most 255 bytes";
    case ADMIN_FIELD_U8: return parse_choice(field->check, word, value);
    case ADMIN_FIELD_U32:
        if (!parse_number(word, UINT32_MAX, &number))
            return "expected a whole number from 0 to 4294967295";
        *(uint32_t *)value = (uint32_t)number;
        return NULL;
    case ADMIN_FIELD_U64:
        if (!parse_number(word, UINT64_MAX, &number))
            return "expected a whole number";
        *(uint64_t *)value = number;
        return NULL;
    }
    return "unknown field type";
}

/* An empty str8 without a check is "yourself / everybody": its word may be left out. */
static bool field_optional(const struct admin_field *field)
{
    return field->type == ADMIN_FIELD_STR8 && field->check == ADMIN_CHECK_NONE;
}

/* "NAME", "[USER]", "admin|user": the placeholder, the name in capitals, or the choices. */
static size_t field_synopsis(const struct admin_field *field, char *out, size_t size)
{
    char word[SYNOPSIS_WORD_SIZE] = "";
    size_t length = 0;
    const char *choice;
    for (size_t i = 0; length < sizeof(word) && (choice = commands_choice_word(field->check, i));
         i++)
        length += (size_t)snprintf(word + length, sizeof(word) - length, "%s%s",
                                   i > 0 ? "|" : "", choice);
    if (length == 0 && field->placeholder != NULL)
        snprintf(word, sizeof(word), "%s", field->placeholder);
    else if (length == 0)
        for (size_t i = 0; field->name[i] != '\0' && i + 1 < sizeof(word); i++)
            word[i] = (char)toupper((unsigned char)field->name[i]);
    const char *format = field_optional(field) ? "[%s]" : "%s";
    int written = snprintf(out, size, format, word);
    return written < 0 ? 0 : (size_t)written;
}

void commands_plain_synopsis(const struct admin_command_info *info, char *out, size_t size)
{
    size_t length = 0;
    out[0] = '\0';
    for (size_t i = 0; i < info->field_count && length + 1 < size; i++) {
        if (i > 0)
            out[length++] = ' ';
        length += field_synopsis(&info->fields[i], out + length, size - length);
    }
    if (length >= size)
        out[size - 1] = '\0';
}

static int validate(const struct admin_request *request, char *error, size_t error_size)
{
    const char *problem = NULL;
    if (admin_request_validate(request, &problem) != ADMIN_STATUS_OK)
        return usage(error, error_size, problem);
    return CONSOLE_EXIT_OK;
}

/* The words of a protocol command are its fields, in the order admin_command_info gives. */
static int build_protocol_request(int argc, char **argv, struct admin_request *request,
                                  char *error, size_t error_size)
{
    const struct admin_command_info *info = admin_command_find(argv[0]);
    if (info == NULL)
        return usage(error, error_size, "not a protocol command");
    admin_request_init(request, info->code);
    size_t words = (size_t)argc - 1;
    if (words > info->field_count)
        return usage(error, error_size, "too many arguments");
    for (size_t i = 0; i < info->field_count; i++) {
        const struct admin_field *field = &info->fields[i];
        if (i >= words) {
            if (field_optional(field))
                continue;
            return usage(error, error_size, "missing argument");
        }
        const char *problem = parse_field(field, argv[1 + i], request);
        if (problem != NULL)
            return usage(error, error_size, problem);
    }
    return validate(request, error, error_size);
}

/* ---- Results ---- */

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* A name as typed, escaped like the server's values so it cannot drive the terminal. */
static const char *shown(const struct admin_str8 *name, char out[SHOWN_NAME_SIZE])
{
    admin_text_escape(name->text, name->length, out, SHOWN_NAME_SIZE);
    return out;
}

/* Sends request and prints its result; the shared tail of every server command. */
static int call_and_print(struct console_context *context, const char *name,
                          const struct admin_request *request)
{
    if (fleet_commands_active(context))
        return fleet_commands_call_and_print(context, name, request);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct admin_reply reply;
    int code = commands_call(context, name, request, &reply);
    if (code != CONSOLE_EXIT_OK)
        return code;
    if (reply.body_length == 0 && context->format == CONSOLE_FORMAT_TABLE)
        confirmation_print(context, request, elapsed_ms(&start));
    else if (context->format != CONSOLE_FORMAT_TABLE ||
             !confirmation_print_record(context, request, reply.body, reply.body_length))
        output_result(context->out, context->format, name, reply.body, reply.body_length);
    fflush(context->out);
    admin_reply_free(&reply);
    return CONSOLE_EXIT_OK;
}

static int fail_usage(struct console_context *context, const char *name, const char *error)
{
    report(context, name, "%s", error);
    return CONSOLE_EXIT_USAGE;
}

/* ---- Protocol commands ---- */

int commands_check_protocol(int argc, char **argv, char *error, size_t error_size)
{
    struct admin_request request;
    return build_protocol_request(argc, argv, &request, error, error_size);
}

int commands_run_protocol(struct console_context *context, int argc, char **argv)
{
    struct admin_request request;
    char error[ERROR_SIZE];
    if (build_protocol_request(argc, argv, &request, error, sizeof(error)) != CONSOLE_EXIT_OK)
        return fail_usage(context, argv[0], error);
    return call_and_print(context, argv[0], &request);
}

int commands_check_no_arguments(int argc, char **argv, char *error, size_t error_size)
{
    (void)argv; /* a check function: the table calls every one alike */
    if (argc > 1)
        return usage(error, error_size, "takes no arguments");
    return CONSOLE_EXIT_OK;
}

/* ---- Commands that carry a password ---- */

/* Checks the request with a stand-in for a password still to be asked. */
static int validate_without_password(struct admin_request *request, struct admin_str8 *password,
                                     char *error, size_t error_size)
{
    bool missing = password->length == 0;
    if (missing)
        admin_str8_set(password, "?");
    int code = validate(request, error, error_size);
    if (missing)
        admin_str8_set(password, "");
    return code;
}

static int build_add_user(int argc, char **argv, struct admin_request *request, char *error,
                          size_t error_size)
{
    admin_request_init(request, ADMIN_CMD_ADD_USER);
    struct admin_args_add_user *args = &request->args.add_user;
    if (argc < 2)
        return usage(error, error_size, "missing the user's name");
    if (argc > 4)
        return usage(error, error_size, "too many arguments");
    if (!admin_str8_set(&args->user, argv[1]) ||
        !admin_str8_set(&args->password, argc > 2 ? argv[2] : ""))
        return usage(error, error_size, "names and passwords are at most 255 bytes");
    args->role = ADMIN_ROLE_USER;
    const char *problem = argc > 3 ? parse_choice(ADMIN_CHECK_ROLE, argv[3], &args->role) : NULL;
    if (problem != NULL)
        return usage(error, error_size, problem);
    return validate_without_password(request, &args->password, error, error_size);
}

static int build_set_password(int argc, char **argv, struct admin_request *request, char *error,
                              size_t error_size)
{
    admin_request_init(request, ADMIN_CMD_SET_PASSWORD);
    struct admin_args_set_password *args = &request->args.set_password;
    if (argc > 3)
        return usage(error, error_size, "too many arguments");
    if (!admin_str8_set(&args->user, argc > 1 ? argv[1] : "") ||
        !admin_str8_set(&args->password, argc > 2 ? argv[2] : ""))
        return usage(error, error_size, "names and passwords are at most 255 bytes");
    return validate_without_password(request, &args->password, error, error_size);
}

/* Fills a missing password from the terminal; false (reported) when it cannot. */
static bool ask_password(struct console_context *context, const char *name,
                         struct admin_str8 *password, const char *prompt)
{
    if (password->length > 0)
        return true;
    if (!context->may_prompt) {
        report(context, name,
               "no password given (give it after the name; it cannot be asked here)");
        return false;
    }
    char secret[SECRET_SIZE], error[ERROR_SIZE];
    bool read = terminal_read_new_secret(prompt, secret, sizeof(secret), error, sizeof(error));
    if (read && !admin_str8_set(password, secret)) {
        read = false;
        snprintf(error, sizeof(error), "passwords are at most 255 bytes");
    }
    explicit_bzero(secret, sizeof(secret));
    if (!read)
        report(context, name, "%s", error);
    return read;
}

int commands_check_add_user(int argc, char **argv, char *error, size_t error_size)
{
    struct admin_request request;
    int code = build_add_user(argc, argv, &request, error, error_size);
    explicit_bzero(&request, sizeof(request));
    return code;
}

int commands_run_add_user(struct console_context *context, int argc, char **argv)
{
    struct admin_request request;
    char error[ERROR_SIZE], prompt[SHOWN_NAME_SIZE + 64], name[SHOWN_NAME_SIZE];
    int code = build_add_user(argc, argv, &request, error, sizeof(error));
    if (code != CONSOLE_EXIT_OK)
        return fail_usage(context, argv[0], error);
    snprintf(prompt, sizeof(prompt), "Password for the new user %s: ",
             shown(&request.args.add_user.user, name));
    code = ask_password(context, argv[0], &request.args.add_user.password, prompt)
               ? call_and_print(context, argv[0], &request)
               : CONSOLE_EXIT_USAGE;
    explicit_bzero(&request, sizeof(request));
    return code;
}

int commands_check_set_password(int argc, char **argv, char *error, size_t error_size)
{
    struct admin_request request;
    int code = build_set_password(argc, argv, &request, error, error_size);
    explicit_bzero(&request, sizeof(request));
    return code;
}

int commands_run_set_password(struct console_context *context, int argc, char **argv)
{
    struct admin_request request;
    char error[ERROR_SIZE], prompt[SHOWN_NAME_SIZE + 64], name[SHOWN_NAME_SIZE];
    int code = build_set_password(argc, argv, &request, error, sizeof(error));
    if (code != CONSOLE_EXIT_OK)
        return fail_usage(context, argv[0], error);
    struct admin_args_set_password *args = &request.args.set_password;
    if (args->user.length == 0)
        snprintf(prompt, sizeof(prompt), "Your new password: ");
    else
        snprintf(prompt, sizeof(prompt), "New password for %s: ", shown(&args->user, name));
    code = ask_password(context, argv[0], &args->password, prompt)
               ? call_and_print(context, argv[0], &request)
               : CONSOLE_EXIT_USAGE;
    /* Our own password changed: a later reconnect must log in with the new one (under the
     * session's lock: the dashboard's poller may be logging in). */
    if (code == CONSOLE_EXIT_OK && context->client != NULL &&
        !fleet_commands_active(context) && /* the fleet's round did it, server by server */
        (args->user.length == 0 ||
         strcmp(args->user.text, admin_client_user(context->client)) == 0)) {
        if (context->fleet != NULL)
            fleet_lock(context->fleet, 0);
        admin_client_set_password(context->client, args->password.text);
        if (context->fleet != NULL)
            fleet_unlock(context->fleet, 0);
    }
    explicit_bzero(&request, sizeof(request));
    return code;
}

/* ---- Shorthands ---- */

/* ---- set-limits: its KEY=VALUE words are the one limits argument ---- */

static int build_set_limits(int argc, char **argv, struct admin_request *request, char *error,
                            size_t error_size)
{
    if (argc < 3)
        return usage(error, error_size, "expected a user name and at least one KEY=VALUE");
    admin_request_init(request, ADMIN_CMD_SET_LIMITS);
    if (!admin_str8_set(&request->args.set_limits.user, argv[1]))
        return usage(error, error_size, "names are at most 255 bytes");
    char joined[ADMIN_STR8_MAX + 1];
    size_t length = 0;
    for (int i = 2; i < argc; i++) {
        int written = snprintf(joined + length, sizeof(joined) - length, "%s%s", i > 2 ? " " : "",
                               argv[i]);
        if (written < 0 || (size_t)written >= sizeof(joined) - length)
            return usage(error, error_size, "the limits are at most 255 bytes");
        length += (size_t)written;
    }
    admin_str8_set(&request->args.set_limits.limits, joined);
    return validate(request, error, error_size);
}

int commands_check_set_limits(int argc, char **argv, char *error, size_t error_size)
{
    struct admin_request request;
    return build_set_limits(argc, argv, &request, error, error_size);
}

int commands_run_set_limits(struct console_context *context, int argc, char **argv)
{
    struct admin_request request;
    char error[ERROR_SIZE];
    if (build_set_limits(argc, argv, &request, error, sizeof(error)) != CONSOLE_EXIT_OK)
        return fail_usage(context, argv[0], error);
    return call_and_print(context, argv[0], &request);
}

int commands_run_no_auth(struct console_context *context, int argc, char **argv)
{
    char error[ERROR_SIZE];
    if (commands_check_no_arguments(argc, argv, error, sizeof(error)) != CONSOLE_EXIT_OK)
        return fail_usage(context, argv[0], error);
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_SET_NO_AUTH);
    request.args.set_no_auth.allowed = strcmp(argv[0], "allow-no-auth") == 0;
    return call_and_print(context, argv[0], &request);
}

int commands_run_whoami(struct console_context *context, int argc, char **argv)
{
    char error[ERROR_SIZE];
    if (commands_check_no_arguments(argc, argv, error, sizeof(error)) != CONSOLE_EXIT_OK)
        return fail_usage(context, argv[0], error);
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_USER_METRICS); /* empty user: the session's own */
    return call_and_print(context, argv[0], &request);
}
