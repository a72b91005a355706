/* confirmations: the line socks5ctl prints when a command answers with an empty body — its own
 * words for the commands that have something to say, "done" for any other. */
#include "confirmations.h"

#include <inttypes.h>
#include <stdio.h>

#include "admin_client.h"
#include "admin_text.h"

#define SHOWN_NAME_SIZE (4 * ADMIN_STR8_MAX + 1)

typedef void confirmation_printer(struct console_context *context,
                                  const struct admin_request *request, double milliseconds);

/* A name as typed, escaped like the server's values so it cannot drive the terminal. */
static const char *shown(const struct admin_str8 *name, char out[SHOWN_NAME_SIZE])
{
    admin_text_escape(name->text, name->length, out, SHOWN_NAME_SIZE);
    return out;
}

static void confirm_ping(struct console_context *context, const struct admin_request *request,
                         double milliseconds)
{
    (void)request;
    fprintf(context->out, "pong from %s in %.1f ms\n", admin_client_address(context->client),
            milliseconds);
}

static void confirm_add_user(struct console_context *context, const struct admin_request *request,
                             double milliseconds)
{
    (void)milliseconds;
    char name[SHOWN_NAME_SIZE];
    fprintf(context->out, "added user %s (%s)\n", shown(&request->args.add_user.user, name),
            admin_role_name(request->args.add_user.role));
}

static void confirm_remove_user(struct console_context *context,
                                const struct admin_request *request, double milliseconds)
{
    (void)milliseconds;
    char name[SHOWN_NAME_SIZE];
    fprintf(context->out, "removed user %s\n", shown(&request->args.remove_user.user, name));
}

static void confirm_set_role(struct console_context *context, const struct admin_request *request,
                             double milliseconds)
{
    (void)milliseconds;
    char name[SHOWN_NAME_SIZE];
    fprintf(context->out, "%s is now %s\n", shown(&request->args.set_role.user, name),
            admin_role_name(request->args.set_role.role));
}

static void confirm_set_password(struct console_context *context,
                                 const struct admin_request *request, double milliseconds)
{
    (void)milliseconds;
    char name[SHOWN_NAME_SIZE];
    if (request->args.set_password.user.length == 0)
        fprintf(context->out, "changed your password\n");
    else
        fprintf(context->out, "changed the password of %s\n",
                shown(&request->args.set_password.user, name));
}

static void confirm_set_no_auth(struct console_context *context,
                                const struct admin_request *request, double milliseconds)
{
    (void)milliseconds;
    fputs(request->args.set_no_auth.allowed
              ? "SOCKS clients without authentication are now accepted (as anonymous)\n"
              : "SOCKS clients must now authenticate\n",
          context->out);
}

static void confirm_set_buffer_size(struct console_context *context,
                                    const struct admin_request *request, double milliseconds)
{
    (void)milliseconds;
    fprintf(context->out, "new connections get %" PRIu32 "-byte buffers\n",
            request->args.set_buffer_size.size);
}

static void confirm_close_connection(struct console_context *context,
                                     const struct admin_request *request, double milliseconds)
{
    (void)milliseconds;
    fprintf(context->out, "closed connection %" PRIu64 "\n", request->args.close_connection.id);
}

/* Only the commands with more to say than "done": a new command usually needs no line. */
static const struct {
    uint8_t command;
    confirmation_printer *print;
} printers[] = {
    {ADMIN_CMD_PING, confirm_ping},
    {ADMIN_CMD_ADD_USER, confirm_add_user},
    {ADMIN_CMD_REMOVE_USER, confirm_remove_user},
    {ADMIN_CMD_SET_ROLE, confirm_set_role},
    {ADMIN_CMD_SET_PASSWORD, confirm_set_password},
    {ADMIN_CMD_SET_NO_AUTH, confirm_set_no_auth},
    {ADMIN_CMD_SET_BUFFER_SIZE, confirm_set_buffer_size},
    {ADMIN_CMD_CLOSE_CONNECTION, confirm_close_connection},
};

void confirmation_print(struct console_context *context, const struct admin_request *request,
                        double milliseconds)
{
    for (size_t i = 0; i < sizeof(printers) / sizeof(printers[0]); i++) {
        if (printers[i].command == request->command) {
            printers[i].print(context, request, milliseconds);
            return;
        }
    }
    fputs("done\n", context->out);
}

bool confirmation_print_record(struct console_context *context,
                               const struct admin_request *request, const char *body,
                               size_t length)
{
    if (request->command != ADMIN_CMD_RESET_USAGE)
        return false;
    char at[ADMIN_TIME_TEXT_SIZE] = "", name[SHOWN_NAME_SIZE];
    admin_record_get_text(body, length, ADMIN_KEY_RESET_AT, at, sizeof(at));
    const struct admin_str8 *user = &request->args.reset_usage.user;
    if (user->length == 0)
        fprintf(context->out, "reset the lifetime usage of every user and the server at %s\n",
                at);
    else
        fprintf(context->out, "reset the lifetime usage of %s at %s\n", shown(user, name), at);
    return true;
}
