/* session_connect: the CONNECT command — tries the destination's addresses in order, answers
 * with the bound address, then hands the two sockets to the tunnel. */
#ifndef SESSION_CONNECT_H
#define SESSION_CONNECT_H

#include "session.h"

extern const struct session_command session_connect_command;

#endif
