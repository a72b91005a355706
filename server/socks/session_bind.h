/* session_bind: the BIND command (RFC 1928 section 6) — listens where the destination can reach
 * this server, waits for the one peer it names, answers twice, then hands over to the tunnel. */
#ifndef SESSION_BIND_H
#define SESSION_BIND_H

#include "session.h"

extern const struct session_command session_bind_command;

#endif
