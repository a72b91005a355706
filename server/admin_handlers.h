/* admin_handlers: what each admin command does to the running proxy — metrics, connection
 * pages, user changes persisted before they are acknowledged, settings. */
#ifndef ADMIN_HANDLERS_H
#define ADMIN_HANDLERS_H

#include <stdbool.h>

#include "admin_commands.h"
#include "admin_server.h"

/* Pending work (a password being hashed) that must be cancelled if the session ends. */
struct admin_pending;

/* Runs request for the session's user (permission already checked) through the handler its
 * command code finds. Returns true with *response filled, or false when the answer will come
 * through admin_session_respond (then *pending is set). */
bool admin_handle_request(struct admin_server *server, struct admin_session *session,
                          struct admin_request *request, struct admin_response *response,
                          struct admin_pending **pending);
void admin_pending_cancel(struct admin_pending *pending);

/* Whether socks5d has a line for command in its handler table: with a handler, or with none
 * when it declines the command on purpose ("unsupported command"). */
bool admin_handler_listed(uint8_t command);

/* Fills response with an error. */
void admin_response_error(struct admin_response *response, uint8_t status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
