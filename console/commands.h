/* commands: the handlers behind socks5ctl's command table — words to an admin request (checked
 * before anything is sent), the call, and the result printed in the chosen format. */
#ifndef COMMANDS_H
#define COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "admin_client.h"
#include "admin_commands.h"
#include "command_context.h"

/* Every handler pair: check_X(argc, argv, error, size) reads the words without I/O and
 * returns CONSOLE_EXIT_OK or CONSOLE_EXIT_USAGE (error set, without the command's name);
 * run_X(context, argc, argv) checks the same way, then calls the server and prints. */

/* A protocol command's plain form (console.h): its name (argv[0]), and its fields as words,
 * in order; an optional str8 may be left out. */
int commands_check_protocol(int argc, char **argv, char *error, size_t error_size);
int commands_run_protocol(struct console_context *context, int argc, char **argv);

/* The plain form's arguments for a usage line: "NAME admin|user", "[USER]", "BYTES". */
void commands_plain_synopsis(const struct admin_command_info *info, char *out, size_t size);

/* The words a u8 field with check takes, in order: index 0, 1, ... until NULL. */
const char *commands_choice_word(enum admin_field_check check, size_t index);

/* add-user NAME [PASSWORD] [admin|user]: the password is asked when missing or "". */
int commands_check_add_user(int argc, char **argv, char *error, size_t error_size);
int commands_run_add_user(struct console_context *context, int argc, char **argv);

/* set-password [NAME] [PASSWORD]: the password is asked when missing or "". */
int commands_check_set_password(int argc, char **argv, char *error, size_t error_size);
int commands_check_set_limits(int argc, char **argv, char *error, size_t error_size);
int commands_run_set_limits(struct console_context *context, int argc, char **argv);
int commands_run_set_password(struct console_context *context, int argc, char **argv);

/* allow-no-auth and require-auth: set-no-auth 1 and 0. */
int commands_run_no_auth(struct console_context *context, int argc, char **argv);

/* whoami: user-metrics for the session's own user. */
int commands_run_whoami(struct console_context *context, int argc, char **argv);

/* For commands without arguments. */
int commands_check_no_arguments(int argc, char **argv, char *error, size_t error_size);

/* Sends request for the command called name; on any failure prints one line to context->err
 * and returns its exit code. On CONSOLE_EXIT_OK the reply holds the body (free it). */
int commands_call(struct console_context *context, const char *name,
                  const struct admin_request *request, struct admin_reply *reply);

#endif
