/* session_tunnel: a session's two sockets relayed both ways once its command has connected
 * them — back-pressure, byte counts, the idle timeout, and a reset passed on as a reset. */
#ifndef SESSION_TUNNEL_H
#define SESSION_TUNNEL_H

#include "session.h"

#include <stdbool.h>

/* The success reply is queued: sends it, and whatever the client pipelined behind its request
 * goes to the remote at once. */
void session_tunnel_start(struct session *session);
void session_tunnel_on_event(struct session *session, bool from_client, unsigned events);
void session_tunnel_on_timeout(struct session *session);
void session_tunnel_interest(const struct session *session, unsigned *client_mask,
                             unsigned *remote_mask);

#endif
