/* admin_handlers: what each admin command does to the running proxy — metrics, connection
 * pages, user changes persisted before they are acknowledged, settings. */
#ifndef ADMIN_HANDLERS_H
#define ADMIN_HANDLERS_H

#include <stdbool.h>

#include "admin_commands.h"
#include "admin_server.h"

/* The admin_command_handler of the running proxy (admin_server.h): runs request for the
 * session's user, whose role was already checked, through the handler its command code finds. */
bool admin_handle_request(struct admin_server *server, struct admin_session *session,
                          struct admin_request *request, struct admin_response *response,
                          struct admin_pending **pending);
void admin_pending_cancel(struct admin_pending *pending);

/* Whether socks5d has a line for command in its handler table: with a handler, or with none
 * when it declines the command on purpose ("unsupported command"). */
bool admin_handler_listed(uint8_t command);

#endif
