/* confirmations: the line socks5ctl prints when a command answers with an empty body — its own
 * words for the commands that have something to say, "done" for any other. */
#ifndef CONFIRMATIONS_H
#define CONFIRMATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "admin_commands.h"
#include "command_context.h"

/* One line to context->out for request, answered after milliseconds (TABLE format only). */
void confirmation_print(struct console_context *context, const struct admin_request *request,
                        double milliseconds);

/* For a command whose record says what was done (reset-usage): its line to context->out from
 * body; false, nothing printed, for any other command. */
bool confirmation_print_record(struct console_context *context,
                               const struct admin_request *request, const char *body,
                               size_t length);

#endif
