/* session_proxy_header: the PROXY protocol as a session's pre-greeting stage — a header required
 * from --proxy-protocol-from sources and refused from others; its client becomes the session's. */
#ifndef SESSION_PROXY_HEADER_H
#define SESSION_PROXY_HEADER_H

#include "session.h"

/* Every worker's pre_greeting: whom it trusts is the policy's (a reload may change it), so it
 * is set whether or not any source is trusted. */
extern const struct session_prelude session_proxy_header_prelude;

#endif
