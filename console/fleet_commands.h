/* fleet_commands: a console command run on every server of the fleet at once — the calls, the
 * merged result in the chosen format, each server's failure, and the worst exit code. */
#ifndef FLEET_COMMANDS_H
#define FLEET_COMMANDS_H

#include <stdbool.h>

#include "admin_client.h"
#include "admin_commands.h"
#include "command_context.h"

/* Whether commands go to several servers (context->fleet has more than one); with one, the
 * console calls its one session as it always has. */
bool fleet_commands_active(const struct console_context *context);

/* Sends request to every server at once and merges the answers (fleet_merge) into reply's
 * body. Each server that failed is told on context->err ("NAME: SERVER: why") and raises
 * context->fleet_failure to its exit code (console_execute returns the highest). Returns OK
 * with the merged body (free it with admin_reply_free) when some server answered; else the
 * highest of the servers' exit codes, reply empty. */
int fleet_commands_call(struct console_context *context, const char *name,
                        const struct admin_request *request, struct admin_reply *reply);

/* fleet_commands_call, then prints: a change (a command answered by an empty body) in the
 * table format as one line per server, "SERVER: ok" or "SERVER: error: why"; anything else
 * as the merged body in the context's format. Returns the highest of the servers' exit codes.
 * set-password on the session's own user gives every session that changed it the new one. */
int fleet_commands_call_and_print(struct console_context *context, const char *name,
                                  const struct admin_request *request);

#endif
